//! The EventFrame: column types, values, nulls and `_rest`, on real records.

use crate::common;

use common::*;
use polars::prelude::*;
use trailaudit::events::{self, schema};

#[test]
fn columns_have_the_documented_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir.path().join("a.json"),
        &envelope(&[record(
            "2024-07-31T13:10:00Z",
            "111122223333",
            "us-east-1",
            "A",
        )]),
    );
    let frame = events::load(&[path]);
    let df = &frame.df;
    assert_eq!(df.height(), 1);
    for f in schema::FIELDS {
        let dtype = df.column(f.name).unwrap().dtype().clone();
        let expected = match f.kind {
            schema::Kind::Str => DataType::String,
            schema::Kind::Bool => DataType::Boolean,
            schema::Kind::Time => DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)),
        };
        assert_eq!(dtype, expected, "{}", f.name);
    }
    for (name, dtype) in [
        (schema::FILE_ID, DataType::UInt32),
        (schema::RECORD_INDEX, DataType::UInt32),
        (schema::RECORD_OFFSET, DataType::UInt64),
        (schema::RECORD_LENGTH, DataType::UInt32),
        (schema::RECORD_LINE, DataType::UInt32),
        (schema::REST, DataType::String),
        (schema::RAW_FIELDS, DataType::UInt32),
    ] {
        assert_eq!(df.column(name).unwrap().dtype(), &dtype, "{name}");
    }
    assert_eq!(df.width(), schema::FIELDS.len() + 7);
}

#[test]
fn real_variants_load_with_nulls_not_defaults() {
    let corpora = fixtures();
    let otel = corpora
        .join("opentelemetry-collector-contrib/identity-center-consolelogin-boolean-mfaused.json");
    let nulls = corpora.join("aws-cloudtrail-processing-library/SerializerAllFieldsNull.json");
    let frame = events::load(&[otel, nulls]);
    let df = frame
        .df
        .sort(["eventTime"], SortMultipleOptions::default())
        .unwrap();
    assert_eq!(df.height(), 2);

    // CPL record 2 (2013): all the usual fields, userIdentity without invokedBy.
    let mfa = df
        .column("additionalEventData.MFAUsed")
        .unwrap()
        .str()
        .unwrap();
    let raw = df.column(schema::RAW_FIELDS).unwrap().u32().unwrap();
    let invoked = df.column("userIdentity.invokedBy").unwrap().str().unwrap();
    assert_eq!(invoked.get(0), None, "missing is null");
    assert_eq!(mfa.get(0), None);

    // OTel record: MFAUsed is a JSON boolean, so the string column is null, the field is
    // flagged, and the value is in _rest.
    let bit = schema::field("additionalEventData.MFAUsed").unwrap().bit;
    assert_eq!(mfa.get(1), None);
    assert_ne!(raw.get(1).unwrap() & (1 << bit), 0);
    let rest: serde_json::Value = serde_json::from_str(
        df.column(schema::REST)
            .unwrap()
            .str()
            .unwrap()
            .get(1)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rest["additionalEventData"]["MFAUsed"], true);
    assert_eq!(
        df.column("userIdentity.type")
            .unwrap()
            .str()
            .unwrap()
            .get(1),
        Some("IdentityCenterUser")
    );
    assert_eq!(
        df.column("responseElements.ConsoleLogin")
            .unwrap()
            .str()
            .unwrap()
            .get(1),
        Some("Success")
    );
}

#[test]
fn provenance_points_back_to_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let recs: Vec<_> = (0..3)
        .map(|i| {
            record(
                &format!("2024-07-31T13:1{i}:00Z"),
                "111122223333",
                "us-east-1",
                &format!("N{i}"),
            )
        })
        .collect();
    write(&dir.path().join("x.json"), &envelope(&recs));
    write(&dir.path().join("y.json"), &envelope(&recs[..1]));
    let frame = events::load(&[dir.path().to_path_buf()]);
    let df = &frame.df;
    let names = df.column("eventName").unwrap().str().unwrap();
    let files = df.column(schema::FILE_ID).unwrap().u32().unwrap();
    let index = df.column(schema::RECORD_INDEX).unwrap().u32().unwrap();
    for i in 0..df.height() {
        let path = &frame.accounting.files[files.get(i).unwrap() as usize].path;
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let original = &doc["Records"][index.get(i).unwrap() as usize];
        assert_eq!(original["eventName"].as_str(), names.get(i));
    }
}

/// A file of more records than one builder chunk: the frame holds every record once, in order,
/// across the chunk boundary, with its own `_rest` and provenance.
#[test]
fn a_frame_spans_several_chunks_in_order() {
    let n = trailaudit::events::frame::CHUNK_ROWS + 1_000;
    let records: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut r = record("2024-07-31T13:10:00Z", "111122223333", "us-east-1", "E");
            r["eventName"] = serde_json::Value::String(format!("E{i}"));
            // Distinct events: the same id, account and time twice is one event (tests/it/dedup.rs).
            r["eventID"] = serde_json::Value::String(format!("e{i}"));
            r["requestParameters"] = serde_json::json!({ "i": i });
            r
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir.path().join("big.json"), &envelope(&records));
    let frame = events::load(&[path]);
    let df = &frame.df;
    assert_eq!(df.height(), n);
    let names = df.column("eventName").unwrap().str().unwrap();
    let index = df.column(schema::RECORD_INDEX).unwrap().u32().unwrap();
    let rest = df.column(schema::REST).unwrap().str().unwrap();
    for row in [0, 65_535, 65_536, 65_537, n - 1] {
        assert_eq!(names.get(row), Some(format!("E{row}").as_str()));
        assert_eq!(index.get(row), Some(row as u32));
        let rest: serde_json::Value = serde_json::from_str(rest.get(row).unwrap()).unwrap();
        assert_eq!(rest["requestParameters"]["i"], row);
    }
}
