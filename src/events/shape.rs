//! File content -> the records in it. The shape is detected from the content, never the name.

use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

use super::json::{offset_of, scalar, type_name, Entries, Scalar};
use super::record::Reject;
use super::source::FileError;

/// The shape of a file of event history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `{"Records": [...]}`, as CloudTrail writes to S3.
    CloudtrailLog,
    /// `{"Events": [{"CloudTrailEvent": "<record as a JSON string>"}]}`, aws CLI lookup-events.
    LookupEvents,
    /// `[record, ...]`.
    JsonArray,
    /// One record per line.
    Ndjson,
    /// One record object.
    SingleRecord,
    /// A CloudWatch Logs subscription payload: `{"logEvents": [{"message": "<record>"}]}`.
    CloudwatchLogs,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Format::CloudtrailLog => "CloudTrail log file",
            Format::LookupEvents => "LookupEvents output",
            Format::JsonArray => "JSON array of records",
            Format::Ndjson => "NDJSON",
            Format::SingleRecord => "single record",
            Format::CloudwatchLogs => "CloudWatch Logs subscription data",
        })
    }
}

/// What a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Events(Format),
    /// Recognised, and not event history.
    Skip(String),
}

/// Where a record sits in its file: its index from 0 in file order, and its line for NDJSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub index: u64,
    pub line: Option<u64>,
}

/// Receives every record of a file, or the reason a record slot could not be read.
pub type Sink<'s> = dyn FnMut(Position, Result<&str, Reject>) + 's;

/// Feeds every record in `text` to `sink`, and says what the file was.
///
/// The whole file is validated before the first record reaches `sink`, except in NDJSON, where
/// a bad line is one rejected record and the other lines still load. So a file either fails with
/// nothing loaded, or every record slot in it reaches `sink` exactly once.
pub fn read_records(text: &str, sink: &mut Sink) -> Result<Content, FileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let first = match stream.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(invalid_json(text, 0, &e)),
        None => return Err(FileError::Empty),
    };
    let format = match classify(first)? {
        Class::Skip(reason) => return Ok(Content::Skip(reason)),
        Class::Events(f) => f,
    };
    let after_first = stream.byte_offset();
    let more = !text[after_first..].trim().is_empty();

    let mut next = 0u64;
    if format == Format::SingleRecord && more && !first.get().contains('\n') {
        read_ndjson(text, &mut next, sink);
        return Ok(Content::Events(Format::Ndjson));
    }

    let mut values = vec![first];
    for v in stream {
        match v {
            Ok(v) => values.push(v),
            Err(e) => return Err(invalid_json(text, 0, &e)),
        }
    }
    // Check the structure of every value before emitting anything.
    let mut batches = Vec::with_capacity(values.len());
    for v in &values {
        batches.push(expand(v, 0).map_err(FileError::NotCloudTrail)?);
    }
    for batch in batches {
        emit(batch, &mut next, None, sink);
    }
    Ok(Content::Events(format))
}

enum Class {
    Events(Format),
    Skip(String),
}

fn classify(first: &RawValue) -> Result<Class, FileError> {
    let text = first.get();
    if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text).unwrap_or_default();
        return match items.first() {
            None => Ok(Class::Events(Format::JsonArray)),
            Some(item) if item.get().starts_with('{') => Ok(Class::Events(Format::JsonArray)),
            Some(item) => Err(FileError::NotCloudTrail(format!(
                "a JSON array of {}",
                plural(type_name(item))
            ))),
        };
    }
    let Some(entries) = Entries::parse(text) else {
        return Err(FileError::NotCloudTrail(format!(
            "a JSON {} at top level",
            bare(type_name(first))
        )));
    };
    if entries.has("Records") {
        return Ok(Class::Events(Format::CloudtrailLog));
    }
    if entries.has("Events") {
        return Ok(Class::Events(Format::LookupEvents));
    }
    if entries.has("logEvents") && entries.has("messageType") {
        return Ok(Class::Events(Format::CloudwatchLogs));
    }
    if entries.has("digestStartTime") || (entries.has("logFiles") && entries.has("digestEndTime")) {
        return Ok(Class::Skip(
            "CloudTrail digest file (checked by `trailaudit verify`)".into(),
        ));
    }
    if entries.has("signature") && entries.has("signature-algorithm") {
        return Ok(Class::Skip(
            "digest signature metadata (used by `trailaudit verify`)".into(),
        ));
    }
    const MARKERS: [&str; 5] = [
        "eventTime",
        "eventName",
        "eventVersion",
        "eventSource",
        "eventID",
    ];
    let wrapped = ["detail", "record", "event"].iter().any(|k| {
        entries
            .get(k)
            .and_then(|v| Entries::parse(v.get()))
            .is_some_and(|inner| MARKERS.iter().any(|m| inner.has(m)))
    });
    if MARKERS.iter().any(|m| entries.has(m)) || wrapped {
        return Ok(Class::Events(Format::SingleRecord));
    }
    let keys: Vec<&str> = entries.keys().take(6).collect();
    Err(FileError::NotCloudTrail(format!(
        "a JSON object with keys {}{}",
        keys.join(", "),
        if entries.0.len() > keys.len() {
            ", ..."
        } else {
            ""
        }
    )))
}

fn bare(article_type: &'static str) -> &'static str {
    article_type
        .trim_start_matches("an ")
        .trim_start_matches("a ")
}

fn plural(article_type: &'static str) -> String {
    match bare(article_type) {
        "null" => "nulls".into(),
        other => format!("{other}s"),
    }
}

/// One value's record slots: raw records, or embedded records as strings to parse.
enum Slot<'a> {
    Raw(&'a RawValue),
    Embedded(Result<String, Reject>),
}

/// The record slots of one top-level value (or NDJSON line). `Err` when a container's
/// structure is wrong (e.g. `"Records"` is not an array).
fn expand(v: &RawValue, depth: u8) -> Result<Vec<Slot<'_>>, String> {
    let text = v.get();
    if text.starts_with('[') && depth == 0 {
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| format!("unreadable array: {e}"))?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.extend(expand(item, depth + 1)?);
        }
        return Ok(out);
    }
    let Some(entries) = Entries::parse(text) else {
        return Ok(vec![Slot::Raw(v)]);
    };
    let array = |key: &str| -> Result<Vec<&RawValue>, String> {
        let raw = entries.get(key).ok_or_else(|| format!("no {key:?}"))?;
        serde_json::from_str(raw.get())
            .map_err(|_| format!("{key:?} is {}, not an array", type_name(raw)))
    };
    if entries.has("Records") {
        return Ok(array("Records")?.into_iter().map(Slot::Raw).collect());
    }
    if entries.has("Events") {
        return Ok(array("Events")?
            .into_iter()
            .map(|e| Slot::Embedded(embedded(e, "CloudTrailEvent", Reject::NoCloudTrailEvent)))
            .collect());
    }
    if entries.has("logEvents") && entries.has("messageType") {
        return Ok(array("logEvents")?
            .into_iter()
            .map(|e| Slot::Embedded(embedded(e, "message", Reject::NoCloudTrailEvent)))
            .collect());
    }
    Ok(vec![Slot::Raw(v)])
}

fn embedded(entry: &RawValue, key: &str, missing: Reject) -> Result<String, Reject> {
    let entries = Entries::parse(entry.get()).ok_or(Reject::NotAnObject(type_name(entry)))?;
    match entries.get(key).map(scalar) {
        Some(Scalar::Str(s)) => {
            let s = s.into_owned();
            serde_json::from_str::<&RawValue>(&s)
                .map_err(|e| Reject::BadEmbeddedJson(e.to_string()))?;
            Ok(s)
        }
        _ => Err(missing),
    }
}

fn emit(slots: Vec<Slot>, next: &mut u64, line: Option<u64>, sink: &mut Sink) {
    for slot in slots {
        let pos = Position { index: *next, line };
        *next += 1;
        match slot {
            Slot::Raw(raw) => sink(pos, Ok(raw.get())),
            Slot::Embedded(Ok(s)) => sink(pos, Ok(&s)),
            Slot::Embedded(Err(r)) => sink(pos, Err(r)),
        }
    }
}

fn read_ndjson(text: &str, next: &mut u64, sink: &mut Sink) {
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i as u64 + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        match serde_json::from_str::<&RawValue>(trimmed) {
            Ok(v) => match expand(v, 0) {
                Ok(slots) => emit(slots, next, Some(line_no), sink),
                Err(message) => {
                    let pos = Position {
                        index: *next,
                        line: Some(line_no),
                    };
                    *next += 1;
                    sink(pos, Err(Reject::BadContainer(message)));
                }
            },
            Err(e) => {
                let pos = Position {
                    index: *next,
                    line: Some(line_no),
                };
                *next += 1;
                sink(
                    pos,
                    Err(Reject::InvalidJsonLine {
                        column: e.column(),
                        message: strip_position(&e),
                    }),
                );
            }
        }
    }
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn invalid_json(text: &str, base: usize, e: &serde_json::Error) -> FileError {
    FileError::InvalidJson {
        offset: base + offset_of(text, e.line(), e.column()),
        line: e.line(),
        column: e.column(),
        message: strip_position(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Collected = (
        Result<Content, FileError>,
        Vec<(Position, Result<String, Reject>)>,
    );

    fn collect(text: &str) -> Collected {
        let mut out = Vec::new();
        let r = read_records(text, &mut |p, item| out.push((p, item.map(str::to_string))));
        (r, out)
    }

    const REC: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"A"}"#;

    #[test]
    fn cloudtrail_envelope() {
        let (r, recs) = collect(&format!(r#"{{"Records":[{REC},{REC}]}}"#));
        assert_eq!(r, Ok(Content::Events(Format::CloudtrailLog)));
        assert_eq!(recs.len(), 2);
        assert_eq!(
            recs[1].0,
            Position {
                index: 1,
                line: None
            }
        );
    }

    #[test]
    fn lookup_events_pages() {
        let ev = serde_json::to_string(REC).unwrap();
        let page = format!(
            r#"{{"Events":[{{"EventId":"1","CloudTrailEvent":{ev}}},{{"EventId":"2"}}],"NextToken":"t"}}"#
        );
        let (r, recs) = collect(&format!("{page}\n{page}"));
        assert_eq!(r, Ok(Content::Events(Format::LookupEvents)));
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0].1.as_deref(), Ok(REC));
        assert_eq!(recs[1].1, Err(Reject::NoCloudTrailEvent));
        assert_eq!(recs[3].0.index, 3);
    }

    #[test]
    fn ndjson_bad_line_is_one_rejection() {
        let (r, recs) = collect(&format!("{REC}\n{{oops\n\n{REC}\n"));
        assert_eq!(r, Ok(Content::Events(Format::Ndjson)));
        assert_eq!(recs.len(), 3);
        assert!(matches!(recs[1].1, Err(Reject::InvalidJsonLine { .. })));
        assert_eq!(
            recs[2].0,
            Position {
                index: 2,
                line: Some(4)
            }
        );
    }

    #[test]
    fn arrays_single_records_and_skips() {
        assert_eq!(
            collect(&format!("[{REC}]")).0,
            Ok(Content::Events(Format::JsonArray))
        );
        assert_eq!(collect("[]").0, Ok(Content::Events(Format::JsonArray)));
        let pretty = "{\n  \"eventTime\": \"2024-01-01T00:00:00Z\"\n}\n";
        assert_eq!(collect(pretty).0, Ok(Content::Events(Format::SingleRecord)));
        assert!(matches!(
            collect(r#"{"digestStartTime":"x","logFiles":[]}"#).0,
            Ok(Content::Skip(_))
        ));
    }

    #[test]
    fn file_failures() {
        assert_eq!(collect("  \n").0, Err(FileError::Empty));
        assert!(matches!(
            collect(r#"{"a":1}"#).0,
            Err(FileError::NotCloudTrail(_))
        ));
        assert!(matches!(
            collect("[1,2]").0,
            Err(FileError::NotCloudTrail(_))
        ));
        assert!(matches!(
            collect(r#"{"Records":{}}"#).0,
            Err(FileError::NotCloudTrail(_))
        ));
        match collect(&format!(r#"{{"Records":[{REC},"#)) {
            (Err(FileError::InvalidJson { offset, .. }), recs) => {
                assert!(recs.is_empty(), "nothing loads from a failed file");
                assert!(offset > 10);
            }
            other => panic!("{other:?}"),
        }
    }
}
