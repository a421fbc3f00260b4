//! The loader's fast path (`scan`, `record::scan_record`) against the `serde_json` path: for
//! random CloudTrail-like files, and for the same files corrupted, both must give the same
//! outcome and the same rows, record for record.

use proptest::prelude::*;

use super::record::{Keep, Reject, Row, Value};
use super::schema::FIELDS;
use super::shape::{read_records, read_records_serde, Content, Item, Position};
use super::source::FileError;

/// A file's outcome, each record slot's row (as its `Debug` text, which does not tell borrowed
/// from owned strings) or rejection, and how many rows came from the fast path.
type Read = (
    Result<Content, FileError>,
    Vec<(Position, Result<String, Reject>)>,
    usize,
);

fn row_text(row: Row) -> String {
    format!("{row:?}")
}

/// The position as the load keeps it: a rejected record's span is never used, and the serde
/// path cannot find the span of an object without keys.
fn kept<T, E>(mut pos: Position, row: &Result<T, E>) -> Position {
    if row.is_err() {
        pos.span = None;
    }
    pos
}

/// Every record slot of `text` through the public entry point (fast path first), and how many
/// came from the fast path as rows.
fn fast(text: &str, keep: Keep) -> Read {
    let mut rows = Vec::new();
    let mut from_fast = 0;
    let content = read_records(text, keep, &mut |pos, item| {
        if matches!(item, Ok(Item::Row(..))) {
            from_fast += 1;
        }
        let row = item.and_then(|i| i.parse(keep)).map(row_text);
        if let (Ok(_), Some(span)) = (&row, pos.span) {
            // A record's span is one JSON value of the text: the record, or a string holding it.
            let bytes = &text[span.offset as usize..][..span.length as usize];
            assert!(
                serde_json::from_str::<&serde_json::value::RawValue>(bytes).is_ok(),
                "span {span:?} of {text}"
            );
            let line = 1 + text[..span.offset as usize].matches('\n').count() as u64;
            assert_eq!(span.line, line, "line of {span:?} in {text}");
        }
        rows.push((kept(pos, &row), row));
    });
    (content, rows, from_fast)
}

fn slow(text: &str, keep: Keep) -> Read {
    let mut rows = Vec::new();
    let content = read_records_serde(text, &mut |pos, item| {
        let row = item.and_then(|i| i.parse(keep)).map(row_text);
        rows.push((kept(pos, &row), row));
    });
    (content, rows, 0)
}

/// Column sets a projected load may keep: none, `eventName` alone, a nested field with
/// `eventTime`, every field.
fn projections() -> [u32; 4] {
    let bit = |name: &str| 1u32 << super::schema::field(name).expect("a column").bit;
    [
        0,
        bit("eventName"),
        bit("userIdentity.arn") | bit("eventTime"),
        u32::MAX,
    ]
}

/// What a load with `Keep::Columns(kept)` should give for a row read whole: the other columns
/// absent, and `_rest` only when a kept field is held there.
fn projected(mut row: Row, kept: u32) -> Row {
    for (f, v) in FIELDS.iter().zip(row.values.iter_mut()) {
        if kept & (1 << f.bit) == 0 {
            *v = Value::Absent;
        }
    }
    if row.raw_fields & kept == 0 {
        row.rest = None;
    }
    row
}

/// The fast path and the serde path agree on `text`, whole and under every projection; a
/// projected load gives the rows of the whole load, projected. Returns how many records the
/// fast path read as rows.
fn assert_same(text: &str) -> usize {
    let (fc, frows, from_fast) = fast(text, Keep::Whole);
    let (sc, srows, _) = slow(text, Keep::Whole);
    assert_eq!(fc, sc, "outcome of {text}");
    assert_eq!(frows.len(), srows.len(), "record count of {text}");
    for (f, s) in frows.iter().zip(&srows) {
        assert_eq!(f, s, "record of {text}");
    }
    for kept in projections() {
        let keep = Keep::Columns(kept);
        let (pc, prows, _) = fast(text, keep);
        assert_eq!(pc, fc, "outcome of {text} keeping {kept:#x}");
        let mut whole = Vec::new();
        let _ = read_records_serde(text, &mut |pos, item| {
            let row = item.and_then(|i| i.parse(Keep::Whole));
            let row = row.map(|r| row_text(projected(r, kept)));
            whole.push((self::kept(pos, &row), row));
        });
        assert_eq!(prows, whole, "rows of {text} keeping {kept:#x}");
        assert_eq!(
            slow(text, keep).1,
            whole,
            "serde rows of {text} keeping {kept:#x}"
        );
    }
    from_fast
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", " ", "\n  ", "\t", "\r\n"])
}

fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "Root", "IAMUser", "AssumedRole", "true", "false", "Yes", "No", "Success",
            "Failure", "AccessDenied", "arn:aws:iam::111122223333:user/alice",
            "2024-07-31T13:10:00Z", "2024-07-31T13:10:00.5+02:00", "2025-01-21 17:49:47.000",
            "yesterday", "", "iam.amazonaws.com", "us-east-1",
            "a string that is longer than sixteen bytes, to cross a SIMD block",
        ]).prop_map(|s| format!("\"{s}\"")),
        1 => prop::sample::select(vec![
            r#""q\"uote""#, r#""back\\slash""#, r#""\u00e9t\u00E9""#, r#""\ud83d\ude00""#,
            r#""lone \ud800 surrogate""#, r#""tab\tnew\nline""#, r#""\/slash""#,
            r#""Roo\u0074""#, "\"caf\u{e9} \u{1F600}\"",
            r#""an escape \" past the first sixteen bytes of the string""#,
        ]).prop_map(String::from),
    ]
}

fn scalar_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => string_literal(),
        1 => prop::sample::select(vec![
            "true", "false", "null", "0", "-0", "12", "-3.5", "1e10", "2.5E-3", "1e400",
        ]).prop_map(String::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => prop::sample::select(vec![
            "eventTime", "eventVersion", "eventName", "eventSource", "awsRegion", "errorCode",
            "readOnly", "managementEvent", "userAgent", "userIdentity", "type", "arn",
            "principalId", "sessionContext", "attributes", "mfaAuthenticated", "sessionIssuer",
            "additionalEventData", "MFAUsed", "responseElements", "ConsoleLogin",
            "requestParameters", "bucketName", "@timestamp", "detail", "detail-type", "record",
            "event", "x", "a.b", "\u{e9}t\u{e9}",
        ]).prop_map(|k| format!("\"{k}\"")),
        1 => prop::sample::select(vec![r#""\u0074ype""#, r#""e\"q""#, r#""\ud800""#])
            .prop_map(String::from),
    ]
}

fn value() -> impl Strategy<Value = String> {
    scalar_literal().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            (
                prop::collection::vec((key(), ws(), ws(), inner.clone()), 0..6),
                ws()
            )
                .prop_map(|(entries, w)| {
                    let body: Vec<String> = entries
                        .into_iter()
                        .map(|(k, w1, w2, v)| format!("{w1}{k}{w2}:{w1}{v}{w2}"))
                        .collect();
                    format!("{{{}{w}}}", body.join(","))
                }),
            (prop::collection::vec((ws(), inner), 0..4)).prop_map(|items| {
                let body: Vec<String> = items.into_iter().map(|(w, v)| format!("{w}{v}")).collect();
                format!("[{}]", body.join(","))
            }),
        ]
    })
}

/// A record: mostly CloudTrail's own keys, sometimes repeated, missing or of the wrong type.
fn record() -> impl Strategy<Value = String> {
    let time = prop_oneof![
        6 => Just(r#""eventTime":"2024-07-31T13:10:00Z""#.to_string()),
        1 => scalar_literal().prop_map(|v| format!(r#""eventTime":{v}"#)),
        1 => Just(String::new()),
    ];
    let identity = prop::collection::vec((key(), value()), 0..5).prop_map(|entries| {
        let body: Vec<String> = entries
            .into_iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        format!(
            r#""userIdentity":{{"type":"IAMUser",{}"arn":"a"}}"#,
            body.iter().map(|e| format!("{e},")).collect::<String>()
        )
    });
    (
        time,
        prop::collection::vec((key(), ws(), value()), 0..7),
        prop::option::of(identity),
    )
        .prop_map(|(time, entries, identity)| {
            let mut parts: Vec<String> = entries
                .into_iter()
                .map(|(k, w, v)| format!("{k}:{w}{v}"))
                .collect();
            if let Some(id) = identity {
                parts.insert(parts.len() / 2, id);
            }
            if !time.is_empty() {
                parts.insert(parts.len().min(1), time);
            }
            format!("{{{}}}", parts.join(","))
        })
}

fn file() -> impl Strategy<Value = String> {
    (prop::collection::vec((ws(), record()), 0..6), ws(), 0u8..10).prop_map(
        |(records, w, variant)| {
            let body: Vec<String> = records
                .into_iter()
                .map(|(w, r)| format!("{w}{r}"))
                .collect();
            let body = body.join(",");
            match variant {
                0 => format!(r#"{{"Records":[{body}],"x":1}}"#),
                1 => format!(r#"{{"Records":[{body}]}}{w}{{"Records":[]}}"#),
                2 => format!(r#"{{"Records":[{body},1]}}"#),
                _ => format!(r#"{w}{{{w}"Records"{w}:{w}[{body}{w}]{w}}}{w}"#),
            }
        },
    )
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(prop::sample::Index),
    Insert(prop::sample::Index, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let chars = prop::sample::select(vec![
        '"', '\\', '{', '}', '[', ']', ',', ':', '0', 'e', 'u', '\u{1}', ' ',
    ]);
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        (any::<prop::sample::Index>(), chars).prop_map(|(i, c)| Edit::Insert(i, c)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        match e {
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i.index(chars.len()));
            }
            Edit::Delete(_) => {}
            Edit::Insert(i, c) => chars.insert(i.index(chars.len() + 1), *c),
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_reads_files_as_serde_json_does(text in file()) {
        if !text.trim().is_empty() {
            assert_same(&text);
        }
    }

    #[test]
    fn fast_path_agrees_on_corrupted_files(text in file(), edits in prop::collection::vec(edit(), 1..4)) {
        let text = apply(&text, &edits);
        if !text.trim().is_empty() {
            assert_same(&text);
        }
    }
}

#[test]
fn plain_cloudtrail_files_take_the_fast_path() {
    let rec = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2024-07-31T13:10:00Z","eventName":"ConsoleLogin","readOnly":false,"requestParameters":{"bucketName":"b"},"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}}"#;
    let text = format!(r#"{{"Records":[{rec},{rec}]}}"#);
    assert_eq!(assert_same(&text), 2);
    // A repeated column key goes to serde_json for that record only, which rejects it.
    let repeated = r#"{"eventTime":"2024-07-31T13:10:00Z","eventName":"A","eventName":"B"}"#;
    let text = format!(r#"{{"Records":[{rec},{repeated}]}}"#);
    assert_eq!(assert_same(&text), 1);
    // An escaped key the columns could read sends the whole file to serde_json.
    let escaped = r#"{"eventTime":"2024-07-31T13:10:00Z","userIdentity":{"\u0074ype":"Root"}}"#;
    let text = format!(r#"{{"Records":[{rec},{escaped}]}}"#);
    assert_eq!(assert_same(&text), 0);
}

#[test]
fn every_fixture_reads_the_same_both_ways() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["tests/fixtures/corpora", "samples"] {
        for entry in walkdir::WalkDir::new(root.join(dir)) {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let (_, content) = super::source::read_input(entry.path());
            let Ok(bytes) = content else { continue };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            if text.trim().is_empty() {
                continue;
            }
            assert_same(text);
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} files checked");
}
