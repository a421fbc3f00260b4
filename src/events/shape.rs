//! File content -> the records in it. The shape is detected from the content, never the name.

use std::fmt;

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;

use super::json::{collect_entries, offset_of, scalar, CowStr, Entries, Scalar};
use super::record::{self, Keep, Reject, Row};
use super::scan::Scanner;
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
    /// LookupEvents `Event` objects outside a page: `[{"CloudTrailEvent": "<record>"}]`, or one
    /// per line (`aws cloudtrail lookup-events --query Events`, boto3 dumps, forensic tools).
    LookupEventsEvents,
    /// Records back to back on a line, `{..}{..}` or `{..} {..}` (Amazon Data Firehose).
    Concatenated,
    /// `aws logs filter-log-events` / `get-log-events` output: `{"events": [{"message": "<record>"}]}`,
    /// or its `events` array alone.
    CloudwatchLogsEvents,
    /// A CloudWatch Logs export task's file: lines `<timestamp> <record>`.
    CloudwatchLogsExport,
    /// A SIEM or pipeline export holding each record as text in `_raw` (Splunk's
    /// `{"result": {"_raw": "<record>"}}`, Cribl), one per line or in an array.
    SiemExport,
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
            Format::LookupEventsEvents => "LookupEvents Event objects",
            Format::Concatenated => "concatenated records",
            Format::CloudwatchLogsEvents => "CloudWatch Logs events",
            Format::CloudwatchLogsExport => "CloudWatch Logs export task file",
            Format::SiemExport => "SIEM export (_raw)",
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

/// Where a record sits in its file: its index from 0 in file order, its line for NDJSON, and
/// the span of its text in the file's content when that is known exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub index: u64,
    pub line: Option<u64>,
    pub span: Option<Span>,
}

/// The bytes of the file's content a record was read from: the record's JSON object, or, for a
/// record the file embeds as text (LookupEvents' `CloudTrailEvent`, a CloudWatch Logs
/// `message`, a SIEM `_raw`), the JSON string that holds it. `line` (from 1) is the line the
/// span starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub length: u64,
    pub line: u64,
}

/// Finds the spans of slices of one file's text: by where a slice lies in that text, so only
/// text borrowed from the file itself gets a span (a record parsed from a copy gets none).
/// Lines are counted once, front to back, as records come in file order.
struct Spans<'a> {
    text: &'a str,
    counted: usize,
    line: u64,
}

impl<'a> Spans<'a> {
    fn new(text: &'a str) -> Self {
        Spans {
            text,
            counted: 0,
            line: 1,
        }
    }

    /// The offset of `part` in the text, when it is a slice of it.
    fn offset(&self, part: &str) -> Option<usize> {
        let start = (part.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        (start + part.len() <= self.text.len()).then_some(start)
    }

    fn at(&mut self, offset: usize, length: usize) -> Span {
        if offset < self.counted {
            self.counted = 0;
            self.line = 1;
        }
        let between = &self.text.as_bytes()[self.counted..offset];
        self.line += memchr::memchr_iter(b'\n', between).count() as u64;
        self.counted = offset;
        Span {
            offset: offset as u64,
            length: length as u64,
            line: self.line,
        }
    }

    /// The span of `part`, a slice of the text.
    fn of(&mut self, part: &str) -> Option<Span> {
        let offset = self.offset(part)?;
        Some(self.at(offset, part.len()))
    }

    /// The span of the object `e` was split from: from its `{` to its `}`, found from its first
    /// key and its last value (only whitespace lies between them and the braces). None when
    /// the first key was unescaped into a copy, or the entries are not from the text.
    fn object(&mut self, e: &Entries) -> Option<Span> {
        let (Cow::Borrowed(key), _) = e.0.first()? else {
            return None;
        };
        let (_, last) = e.0.last()?;
        let b = self.text.as_bytes();
        let mut start = self.offset(key)?.checked_sub(1)?;
        if b[start] != b'"' {
            return None;
        }
        while start > 0 && b[start - 1].is_ascii_whitespace() {
            start -= 1;
        }
        start = start.checked_sub(1)?;
        let mut end = self.offset(last.get())? + last.get().len();
        while b.get(end).is_some_and(u8::is_ascii_whitespace) {
            end += 1;
        }
        (b[start] == b'{' && b.get(end) == Some(&b'}')).then(|| self.at(start, end + 1 - start))
    }

    /// The span of a record slot's entries: the record object, or, for a record a wrapper
    /// object holds (`detail`, `record`, `event`), that inner object, as
    /// [`record::parse_entries`] reads it.
    fn entries(&mut self, e: &Entries) -> Option<Span> {
        if !e.has("eventTime") {
            if let Some(inner) = record::wrapped_record(e) {
                return self.of(inner.get());
            }
        }
        self.object(e)
    }
}

/// The visitor methods for JSON scalars, each producing `$make("a <type>")`.
macro_rules! visit_scalars {
    ($make:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($make("a boolean"))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($make("a number"))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($make("a number"))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($make("a number"))
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($make("a string"))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($make("null"))
        }
    };
}

/// One record slot, parsed as far as the file's single pass got it.
pub enum Item<'a> {
    /// A record's text, to be parsed.
    Text(&'a str),
    /// A record object already split into entries.
    Entries(Entries<'a>),
    /// A record the fast path has already read into its row, and the record's text.
    Row(Row<'a>, &'a str),
}

impl<'a> Item<'a> {
    /// Parses the record slot as [`read_records`] hands it over. A [`Item::Row`] was read by
    /// the fast path with the load's own [`Keep`].
    pub fn parse(self, keep: Keep) -> Result<Row<'a>, Reject> {
        match self {
            Item::Text(t) => record::parse_record(t, keep),
            Item::Entries(e) => record::parse_entries(e, keep),
            Item::Row(row, _) => Ok(row),
        }
    }

    /// [`Item::parse`]; with a projected `keep`, the rows `rest_if` selects are read whole
    /// instead (every column and `_rest`), so what the rest of the record says is there for
    /// them.
    pub fn parse_with(
        self,
        keep: Keep,
        rest_if: Option<record::RestIf>,
    ) -> Result<Row<'a>, Reject> {
        let (Keep::Columns(_), Some(rest_if)) = (keep, rest_if) else {
            return self.parse(keep);
        };
        let text = match &self {
            Item::Text(t) | Item::Row(_, t) => *t,
            // Rare shapes, already split: read whole at once.
            Item::Entries(_) => return self.parse(Keep::Whole),
        };
        let row = self.parse(keep)?;
        if row.rest.is_none() && rest_if(&row) {
            record::parse_record(text, Keep::Whole)
        } else {
            Ok(row)
        }
    }
}

/// Receives every record of a file, or the reason a record slot could not be read.
pub type Sink<'s> = dyn FnMut(Position, Result<Item, Reject>) + 's;

/// Keys whose arrays carry records: CloudTrail files, LookupEvents pages, CloudWatch Logs
/// subscription data and `filter-log-events` / `get-log-events` output.
const RECORD_ARRAYS: [&str; 4] = ["Records", "Events", "logEvents", "events"];

/// Top-level keys of which a CloudTrail record has at least one.
const MARKERS: [&str; 5] = [
    "eventTime",
    "eventName",
    "eventVersion",
    "eventSource",
    "eventID",
];

/// An array element: an object split into entries, or the JSON type of anything else.
enum Element<'a> {
    Object(Entries<'a>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                collect_entries(map).map(Element::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Other("an array"))
            }
            visit_scalars!(Element::Other);
        }
        d.deserialize_any(V)
    }
}

/// The value of a record-bearing key: its elements, or the JSON type it has instead.
enum MaybeArray<'a> {
    Elements(Vec<Element<'a>>),
    Not(&'static str),
}

impl<'de> Deserialize<'de> for MaybeArray<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeArray<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(256));
                while let Some(v) = seq.next_element::<Element<'de>>()? {
                    out.push(v);
                }
                Ok(MaybeArray::Elements(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeArray::Not("an object"))
            }
            visit_scalars!(MaybeArray::Not);
        }
        d.deserialize_any(V)
    }
}

/// A top-level JSON value, parsed in one pass: an object's plain entries and its
/// record-bearing arrays already split into elements, or an array's elements.
enum Top<'a> {
    Object {
        entries: Entries<'a>,
        arrays: Vec<(Cow<'a, str>, MaybeArray<'a>)>,
    },
    Array(Vec<Element<'a>>),
    Scalar(&'static str),
}

impl<'a> Top<'a> {
    fn array(&self, key: &str) -> Option<&MaybeArray<'a>> {
        match self {
            Top::Object { arrays, .. } => {
                arrays.iter().rev().find(|(k, _)| k == key).map(|(_, a)| a)
            }
            _ => None,
        }
    }

    fn has(&self, key: &str) -> bool {
        match self {
            Top::Object { entries, .. } => entries.has(key) || self.array(key).is_some(),
            _ => false,
        }
    }

    fn raw(&self, key: &str) -> Option<&'a RawValue> {
        match self {
            Top::Object { entries, .. } => entries.get(key),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(24));
                let mut arrays = Vec::new();
                while let Some(CowStr(k)) = map.next_key::<CowStr<'de>>()? {
                    if RECORD_ARRAYS.contains(&k.as_ref()) {
                        arrays.push((k, map.next_value::<MaybeArray<'de>>()?));
                    } else {
                        entries.push((k, map.next_value::<&'de RawValue>()?));
                    }
                }
                // `{"Records":[...],"Records":[]}` would hide the first array's records.
                let keys = (arrays.iter().map(|(k, _)| k.as_ref()))
                    .chain(entries.iter().map(|(k, _)| k.as_ref()));
                if let Some(k) = super::json::repeated_key(keys) {
                    return Err(serde::de::Error::custom(format!(
                        "repeated key {k:?} at the top level"
                    )));
                }
                Ok(Top::Object {
                    entries: Entries(entries),
                    arrays,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(64));
                while let Some(v) = seq.next_element::<Element<'de>>()? {
                    out.push(v);
                }
                Ok(Top::Array(out))
            }
            visit_scalars!(Top::Scalar);
        }
        d.deserialize_any(V)
    }
}

/// Feeds every record in `text` to `sink`, and says what the file was.
///
/// The whole file is validated before the first record reaches `sink`, except in NDJSON, where
/// a bad line is one rejected record and the other lines still load. So a file either fails with
/// nothing loaded, or every record slot in it reaches `sink` exactly once.
///
/// `keep` is for records the fast path reads straight into rows ([`Item::Row`]); records handed
/// over as text or entries are parsed by the caller ([`Item::parse`]) with the same.
pub fn read_records(text: &str, keep: Keep, sink: &mut Sink) -> Result<Content, FileError> {
    // Spans count from the start of the content as given, byte-order mark included.
    let mut spans = Spans::new(text);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    if let Some(content) = read_cloudtrail_log_fast(text, keep, &mut spans, sink) {
        return Ok(content);
    }
    // Shapes that are not JSON, told by their first line.
    if let Some(reason) = csv_export(text) {
        return Err(FileError::NotCloudTrail(reason));
    }
    if first_line_is_export(text) {
        let mut next = 0;
        read_lines(text, &mut next, true, &mut spans, sink);
        return Ok(Content::Events(Format::CloudwatchLogsExport));
    }
    read_records_in(text, &mut spans, sink)
}

/// Whether `bytes` (a file's content) is event history that is not JSON text: UTF-16 with its
/// byte-order mark, a CloudWatch Logs export task's file, or a CSV export of CloudTrail (which
/// fails with what to export instead).
pub fn is_history_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return true;
    }
    let head = &bytes[..bytes.len().min(64 << 10)];
    let head = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    let head = head.strip_prefix('\u{feff}').unwrap_or(head).trim_start();
    first_line_is_export(head) || csv_export(head).is_some()
}

/// Whether the first line of `text` is a CloudWatch Logs export's: only text that starts with a
/// digit is looked at further.
fn first_line_is_export(text: &str) -> bool {
    let text = text.trim_start();
    text.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && text
            .split('\n')
            .next()
            .is_some_and(|l| export_line(l).is_some())
}

/// The record of a CloudWatch Logs export task's line, `<timestamp> <record>`
/// (`2024-05-01T12:00:00.000Z {...}`): the text from the record on.
fn export_line(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let (stamp, rest) = line.split_once(' ')?;
    let b = stamp.as_bytes();
    let date = b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b'T'
        && b.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b':' | b'.' | b'T' | b'Z' | b'+'));
    let rest = rest.trim_start();
    (date && rest.starts_with('{')).then_some(rest)
}

/// The reason a CSV export of CloudTrail (Athena's query results, or a data lake's) cannot be
/// read, when the first line is a header naming CloudTrail's columns.
fn csv_export(text: &str) -> Option<String> {
    let first = text.trim_start();
    if first.starts_with(['{', '[']) {
        return None;
    }
    let header = first.split('\n').next()?;
    if header.len() > 64 << 10 {
        return None;
    }
    let header = header.to_ascii_lowercase();
    let named = |c: &str| header.split(',').any(|h| h.trim().trim_matches('"') == c);
    (header.contains(',') && named("eventtime") && (named("eventname") || named("eventsource"))).then(|| {
        "a CSV export of CloudTrail (such as Athena's query results): CSV flattens each record's \
         nested fields into text, so the records cannot be read back exactly; read the trail's \
         S3 log files the table is over, or run the policies in Athena with `trailaudit sql`"
            .to_string()
    })
}

/// [`read_records`] through `serde_json` alone, without the fast path; `text` is not empty.
#[cfg(test)]
pub(crate) fn read_records_serde(text: &str, sink: &mut Sink) -> Result<Content, FileError> {
    read_records_in(text, &mut Spans::new(text), sink)
}

fn read_records_in(text: &str, spans: &mut Spans, sink: &mut Sink) -> Result<Content, FileError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Top>();
    let first = match stream.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(invalid_json(text, 0, &e)),
        None => return Err(FileError::Empty),
    };
    let first_end = stream.byte_offset();
    let first_raw = text[..first_end].trim();
    let more = !text[first_end..].trim().is_empty();
    let format = match classify(&first)? {
        // A file is skipped by its shape only when it is wholly that shape: a digest-like
        // first line must not hide the records below it.
        Class::Skip(reason) if !more => return Ok(Content::Skip(reason)),
        Class::Skip(_) if !first_raw.contains('\n') => Format::SingleRecord,
        Class::Skip(reason) => {
            return Err(FileError::NotCloudTrail(format!(
                "{reason}, followed by more JSON values"
            )))
        }
        Class::Events(f) => f,
    };

    let mut next = 0u64;
    // Records one per line (or several back to back on a line): a bad line is one rejection.
    let per_record = matches!(
        format,
        Format::SingleRecord | Format::LookupEventsEvents | Format::SiemExport
    );
    if per_record && more && !first_raw.contains('\n') {
        let concatenated = read_lines(text, &mut next, false, spans, sink);
        return Ok(Content::Events(match format {
            Format::SingleRecord if concatenated => Format::Concatenated,
            Format::SingleRecord => Format::Ndjson,
            other => other,
        }));
    }
    // Pretty-printed records one after another.
    let format = match format {
        Format::SingleRecord if more => Format::Concatenated,
        other => other,
    };

    let mut values = vec![(first, first_raw)];
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(v)) => values.push((v, text[start..stream.byte_offset()].trim())),
            Some(Err(e)) => return Err(invalid_json(text, 0, &e)),
        }
    }
    // Check the structure of every value before emitting anything.
    let mut batches = Vec::with_capacity(values.len());
    for (v, raw) in values {
        batches.push(expand(v, raw).map_err(FileError::NotCloudTrail)?);
    }
    for batch in batches {
        emit(batch, &mut next, None, spans, sink);
    }
    Ok(Content::Events(format))
}

/// Records of one file the fast path holds as rows at most (about 1 KB each) while it checks
/// the file. A larger file (more records than CloudTrail writes to one file: a record bomb) is
/// checked in a first pass that keeps nothing, then read again, each row handed over as it is
/// built.
const FAST_PATH_RECORDS: usize = 1 << 16;

/// A record as the fast path found it: read into its row (with its text), or left as text for
/// the caller to parse.
enum FastSlot<'a> {
    Row(Row<'a>, &'a str),
    Text(&'a str),
}

/// The fast path for the shape CloudTrail itself writes, `{"Records":[{record},...]}` with no
/// other top-level key: one pass over the file checks it and reads every record into its row
/// (see [`super::scan`]). `None`, before anything reached `sink`, for any other shape and for
/// anything the pass leaves to `serde_json` (invalid JSON included), which then reads the file
/// as if the fast path did not exist.
fn read_cloudtrail_log_fast(
    text: &str,
    keep: Keep,
    spans: &mut Spans,
    sink: &mut Sink,
) -> Option<Content> {
    let hand_over = |index: usize, slot: FastSlot, spans: &mut Spans, sink: &mut Sink| {
        let (item, record) = match slot {
            FastSlot::Row(row, text) => (Item::Row(row, text), text),
            FastSlot::Text(t) => (Item::Text(t), t),
        };
        let pos = Position {
            index: index as u64,
            line: None,
            span: spans.of(record),
        };
        sink(pos, Ok(item));
    };
    // Records are rarely under 512 bytes: the rows are rarely moved to grow the buffer.
    let mut slots = Vec::with_capacity((text.len() / 512 + 1).min(FAST_PATH_RECORDS));
    let mut bomb = false;
    walk_cloudtrail_log(text, keep, &mut |slot| {
        if slots.len() < FAST_PATH_RECORDS {
            slots.push(slot);
        } else {
            bomb = true;
        }
    })?;
    if !bomb {
        for (index, slot) in slots.into_iter().enumerate() {
            hand_over(index, slot, spans, sink);
        }
    } else {
        // The whole file checked out: read it again, handing each row over at once.
        drop(slots);
        let mut index = 0;
        walk_cloudtrail_log(text, keep, &mut |slot| {
            hand_over(index, slot, spans, sink);
            index += 1;
        })?;
    }
    Some(Content::Events(Format::CloudtrailLog))
}

/// Walks a `{"Records":[...]}` file, handing each record to `each` in order; `None` when the
/// file is not exactly that shape or the pass leaves it to `serde_json` (then some records may
/// have been handed over already: a caller that cannot take that back checks first).
fn walk_cloudtrail_log<'a>(
    text: &'a str,
    keep: Keep,
    each: &mut dyn FnMut(FastSlot<'a>),
) -> Option<()> {
    let mut s = Scanner::new(text, 0);
    s.expect(b'{').ok()?;
    s.skip_ws();
    if s.peek() != Some(b'"') {
        return None;
    }
    let (start, end, escaped) = s.string().ok()?;
    if escaped || &text[start..end] != "Records" {
        return None;
    }
    s.expect(b':').ok()?;
    s.expect(b'[').ok()?;
    let mut entries = Vec::with_capacity(32);
    if !s.eat(b']') {
        loop {
            s.skip_ws();
            if s.peek() != Some(b'{') {
                return None;
            }
            let start = s.pos;
            each(
                match record::scan_record(&mut s, text, 2, &mut entries, keep).ok()? {
                    Some(row) => FastSlot::Row(row, &text[start..s.pos]),
                    None => FastSlot::Text(&text[start..s.pos]),
                },
            );
            if s.eat(b',') {
                continue;
            }
            s.expect(b']').ok()?;
            break;
        }
    }
    s.expect(b'}').ok()?;
    s.skip_ws();
    (s.pos == text.len()).then_some(())
}

enum Class {
    Events(Format),
    Skip(String),
}

fn classify(first: &Top) -> Result<Class, FileError> {
    let entries = match first {
        Top::Array(items) => {
            return match items.first() {
                Some(Element::Object(e)) => {
                    if let Some(f) = wrapper(e) {
                        return Ok(Class::Events(f));
                    }
                    match foreign(e) {
                        Some(reason) if !MARKERS.iter().any(|m| e.has(m)) => {
                            Err(FileError::NotCloudTrail(format!("an array of {reason}")))
                        }
                        _ => Ok(Class::Events(Format::JsonArray)),
                    }
                }
                None => Ok(Class::Events(Format::JsonArray)),
                Some(Element::Other(t)) => Err(FileError::NotCloudTrail(format!(
                    "a JSON array of {}",
                    plural(t)
                ))),
            };
        }
        Top::Scalar(t) => {
            return Err(FileError::NotCloudTrail(format!(
                "a JSON {} at top level",
                bare(t)
            )));
        }
        Top::Object { entries, .. } => entries,
    };
    if first.has("Records") {
        return Ok(Class::Events(Format::CloudtrailLog));
    }
    if first.has("Events") {
        return Ok(Class::Events(Format::LookupEvents));
    }
    if first.has("logEvents") && first.has("messageType") {
        return Ok(Class::Events(Format::CloudwatchLogs));
    }
    if let Some(f) = wrapper(entries) {
        return Ok(Class::Events(f));
    }
    if first.array("events").is_some() && !MARKERS.iter().any(|m| entries.has(m)) {
        return Ok(Class::Events(Format::CloudwatchLogsEvents));
    }
    if first.has("digestStartTime") || (first.has("logFiles") && first.has("digestEndTime")) {
        return Ok(Class::Skip(
            "CloudTrail digest file (checked by `trailaudit verify`)".into(),
        ));
    }
    if first.has("signature") && first.has("signature-algorithm") {
        return Ok(Class::Skip(
            "digest signature metadata (used by `trailaudit verify`)".into(),
        ));
    }
    if first.has("PublicKeyList") {
        return Ok(Class::Skip(
            "CloudTrail public keys (used by `trailaudit verify --public-keys`)".into(),
        ));
    }
    let wrapped = ["detail", "record", "event"].iter().any(|k| {
        first
            .raw(k)
            .and_then(|v| Entries::parse(v.get()))
            .is_some_and(|inner| MARKERS.iter().any(|m| inner.has(m)))
    });
    if MARKERS.iter().any(|m| first.has(m)) || wrapped {
        return Ok(Class::Events(Format::SingleRecord));
    }
    if let Some(reason) = foreign(entries) {
        return Err(FileError::NotCloudTrail(reason));
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

/// The shape of a wrapper that holds one record as text, by its keys: a LookupEvents `Event`,
/// a SIEM `_raw` (Splunk's export puts it in `result`), a CloudWatch Logs event.
fn wrapper(e: &Entries) -> Option<Format> {
    if e.has("CloudTrailEvent") {
        return Some(Format::LookupEventsEvents);
    }
    if e.has("_raw")
        || e.get("result")
            .and_then(|r| Entries::parse(r.get()))
            .is_some_and(|r| r.has("_raw"))
    {
        return Some(Format::SiemExport);
    }
    let log_event = e.has("message")
        && (e.has("timestamp") || e.has("ingestionTime") || e.has("logStreamName"));
    (log_event && !MARKERS.iter().any(|m| e.has(m))).then_some(Format::CloudwatchLogsEvents)
}

/// The record a wrapper ([`wrapper`]) holds, or why it holds none; `None` when `e` is no
/// wrapper.
/// With the record, the JSON value in the file that holds it.
fn unwrap<'a>(e: &Entries<'a>) -> Option<(Result<String, Reject>, Option<&'a str>)> {
    let (value, field) = match wrapper(e)? {
        Format::LookupEventsEvents => (e.get("CloudTrailEvent"), "CloudTrailEvent"),
        Format::SiemExport => match e.get("_raw") {
            Some(raw) => (Some(raw), "_raw"),
            None => (
                e.get("result")
                    .and_then(|r| Entries::parse(r.get()))
                    .and_then(|r| r.get("_raw")),
                "result._raw",
            ),
        },
        _ => (e.get("message"), "message"),
    };
    let record = match (field, value.map(scalar)) {
        (_, Some(Scalar::Str(s))) => {
            let s = s.into_owned();
            match serde_json::from_str::<&RawValue>(&s) {
                Ok(_) => Ok(s),
                Err(err) if field == "CloudTrailEvent" => {
                    Err(Reject::BadEmbeddedJson(err.to_string()))
                }
                Err(err) => Err(Reject::BadEmbedded {
                    field,
                    message: err.to_string(),
                }),
            }
        }
        ("CloudTrailEvent", _) => Err(Reject::NoCloudTrailEvent),
        // A pipeline that kept the record as an object.
        (_, Some(Scalar::Other)) if value.is_some_and(|v| v.get().starts_with('{')) => {
            Ok(value.map(|v| v.get().to_string()).unwrap_or_default())
        }
        (_, _) => Err(Reject::NoEmbeddedRecord(field)),
    };
    Some((record, value.map(RawValue::get)))
}

/// What a first object is when it is a shape that holds no CloudTrail record as written:
/// the reason names the shape and what to export instead.
fn foreign(e: &Entries) -> Option<String> {
    let has = |k: &str| e.has(k);
    let original =
        "read the trail's S3 log files, or `aws cloudtrail lookup-events` output, instead";
    if has("QueryResultRows") || (has("QueryStatus") && has("QueryStatistics")) {
        return Some(format!(
            "a CloudTrail Lake query result set (get-query-results): its rows hold the columns a \
             query selected, not the records; {original}"
        ));
    }
    if has("class_uid") && (has("metadata") || has("category_uid")) {
        return Some(format!(
            "OCSF-normalised events (as Amazon Security Lake stores CloudTrail): OCSF renames and \
             reshapes CloudTrail's fields; {original}"
        ));
    }
    if has("hits")
        && e.get("hits")
            .and_then(|h| Entries::parse(h.get()))
            .is_some_and(|h| h.has("hits"))
    {
        return Some(format!(
            "an OpenSearch/Elasticsearch search response: its documents are the index's copy, \
             normalised by the ingest pipeline; {original} (or the documents' original record \
             text, one per line)"
        ));
    }
    if has("_source") && has("_index") {
        return Some(format!(
            "OpenSearch/Elasticsearch documents (`_index`, `_source`): {original} (or the \
             documents' original record text, one per line)"
        ));
    }
    if has("@timestamp") && (has("ecs") || has("event") || has("cloud")) {
        return Some(format!(
            "ECS-normalised documents (Elastic Common Schema, as Filebeat/Elastic Agent and \
             OpenSearch pipelines write CloudTrail): ECS renames and reshapes CloudTrail's fields; \
             {original} (or `event.original`, where the pipeline kept it, one per line)"
        ));
    }
    None
}

fn bare(article_type: &str) -> &str {
    article_type
        .trim_start_matches("an ")
        .trim_start_matches("a ")
}

fn plural(article_type: &str) -> String {
    match bare(article_type) {
        "null" => "nulls".into(),
        other => format!("{other}s"),
    }
}

/// One value's record slots.
enum Slot<'a> {
    Entries(Entries<'a>),
    /// A record's own text.
    Text(&'a str),
    NotObject(&'static str),
    /// A record embedded as a JSON string (LookupEvents, CloudWatch Logs), to parse, and the
    /// JSON value in the file that held it, when it is text of the file.
    Embedded(Result<String, Reject>, Option<&'a str>),
}

/// The record slots of one top-level value (or NDJSON line). `Err` when a container's
/// structure is wrong (e.g. `"Records"` is not an array).
fn expand<'a>(top: Top<'a>, raw: &'a str) -> Result<Vec<Slot<'a>>, String> {
    match top {
        Top::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    // Pages or log files inside an array.
                    Element::Object(e) if RECORD_ARRAYS.iter().any(|k| e.has(k)) => {
                        let page = entries_text(&e);
                        let parsed: Top = serde_json::from_str(&page)
                            .map_err(|e| format!("unreadable nested page: {e}"))?;
                        for slot in expand(parsed, &page)? {
                            // The nested page was parsed from a temporary copy: keep its records
                            // as owned text.
                            out.push(match slot {
                                Slot::Entries(e) => Slot::Embedded(Ok(entries_text(&e)), None),
                                Slot::Text(t) => Slot::Embedded(Ok(t.to_string()), None),
                                Slot::NotObject(t) => Slot::NotObject(t),
                                Slot::Embedded(r, _) => Slot::Embedded(r, None),
                            });
                        }
                    }
                    Element::Object(e) => out.push(match unwrap(&e) {
                        Some((r, raw)) => Slot::Embedded(r, raw),
                        None => Slot::Entries(e),
                    }),
                    Element::Other(t) => out.push(Slot::NotObject(t)),
                }
            }
            Ok(out)
        }
        Top::Scalar(t) => Ok(vec![Slot::NotObject(t)]),
        Top::Object {
            entries,
            mut arrays,
        } => {
            let containers: Vec<&str> = arrays
                .iter()
                .map(|(k, _)| k.as_ref())
                .filter(|k| *k != "logEvents" || entries.has("messageType"))
                .filter(|k| *k != "events" || !MARKERS.iter().any(|m| entries.has(m)))
                .collect();
            if containers.len() > 1 {
                // Reading one array would silently drop the other's records.
                return Err(format!(
                    "holds both {:?} and {:?}: one file is one shape",
                    containers[0], containers[1]
                ));
            }
            if arrays.iter().any(|(k, _)| k == "Records") {
                let records = elements(take(&mut arrays, "Records"), "Records")?;
                return Ok(records
                    .into_iter()
                    .map(|r| match r {
                        Element::Object(e) => Slot::Entries(e),
                        Element::Other(t) => Slot::NotObject(t),
                    })
                    .collect());
            }
            if arrays.iter().any(|(k, _)| k == "Events") {
                return embedded_in(take(&mut arrays, "Events"), "Events", "CloudTrailEvent");
            }
            if arrays.iter().any(|(k, _)| k == "logEvents") && entries.has("messageType") {
                return embedded_in(take(&mut arrays, "logEvents"), "logEvents", "message");
            }
            if arrays.iter().any(|(k, _)| k == "events") && !MARKERS.iter().any(|m| entries.has(m))
            {
                return Ok(elements(take(&mut arrays, "events"), "events")?
                    .into_iter()
                    .map(|e| match e {
                        Element::Object(e) => match unwrap(&e) {
                            Some((r, raw)) => Slot::Embedded(r, raw),
                            None => Slot::Embedded(Err(Reject::NoEmbeddedRecord("message")), None),
                        },
                        Element::Other(t) => Slot::NotObject(t),
                    })
                    .collect());
            }
            if arrays.is_empty() {
                return Ok(vec![match unwrap(&entries) {
                    Some((r, raw)) => Slot::Embedded(r, raw),
                    None => Slot::Entries(entries),
                }]);
            }
            // A record that merely has a `logEvents` key: its own text, every field kept.
            Ok(vec![Slot::Text(raw)])
        }
    }
}

fn take<'a>(arrays: &mut Vec<(Cow<'a, str>, MaybeArray<'a>)>, key: &str) -> Option<MaybeArray<'a>> {
    let i = arrays.iter().rposition(|(k, _)| k == key)?;
    Some(arrays.swap_remove(i).1)
}

fn elements<'a>(a: Option<MaybeArray<'a>>, key: &str) -> Result<Vec<Element<'a>>, String> {
    match a {
        Some(MaybeArray::Elements(e)) => Ok(e),
        Some(MaybeArray::Not(t)) => Err(format!("{key:?} is {t}, not an array")),
        None => Err(format!("no {key:?}")),
    }
}

fn embedded_in<'a>(
    a: Option<MaybeArray<'a>>,
    key: &str,
    field: &str,
) -> Result<Vec<Slot<'a>>, String> {
    Ok(elements(a, key)?
        .into_iter()
        .map(|e| {
            let raw = match &e {
                Element::Object(entries) => entries.get(field).map(RawValue::get),
                Element::Other(_) => None,
            };
            Slot::Embedded(embedded(&e, field, Reject::NoCloudTrailEvent), raw)
        })
        .collect())
}

/// An object's text rebuilt from its entries.
fn entries_text(e: &Entries) -> String {
    let parts: Vec<String> =
        e.0.iter()
            .map(|(k, v)| {
                format!(
                    "{}:{}",
                    serde_json::to_string(k).unwrap_or_default(),
                    v.get()
                )
            })
            .collect();
    format!("{{{}}}", parts.join(","))
}

fn embedded(entry: &Element, key: &str, missing: Reject) -> Result<String, Reject> {
    let entries = match entry {
        Element::Object(e) => e,
        Element::Other(t) => return Err(Reject::NotAnObject(t)),
    };
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

fn emit(slots: Vec<Slot>, next: &mut u64, line: Option<u64>, spans: &mut Spans, sink: &mut Sink) {
    for slot in slots {
        let mut pos = Position {
            index: *next,
            line,
            span: None,
        };
        *next += 1;
        match slot {
            Slot::Entries(e) => {
                pos.span = spans.entries(&e);
                sink(pos, Ok(Item::Entries(e)))
            }
            Slot::Text(t) => {
                pos.span = spans.of(t);
                sink(pos, Ok(Item::Text(t)))
            }
            Slot::NotObject(t) => sink(pos, Err(Reject::NotAnObject(t))),
            Slot::Embedded(Ok(s), raw) => {
                pos.span = raw.and_then(|r| spans.of(r));
                sink(pos, Ok(Item::Text(&s)))
            }
            Slot::Embedded(Err(r), _) => sink(pos, Err(r)),
        }
    }
}

/// Reads `text` line by line, each line's values (records back to back, `{..}{..}`, are
/// several) one after another; with `export`, each line is `<timestamp> <record>` (a CloudWatch
/// Logs export task's file). A bad line, or the rest of a line from a bad value on, is one
/// rejected record. Says whether a line held more than one value.
fn read_lines(
    text: &str,
    next: &mut u64,
    export: bool,
    spans: &mut Spans,
    sink: &mut Sink,
) -> bool {
    let mut concatenated = false;
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i as u64 + 1;
        let pos = |next: &mut u64| {
            let p = Position {
                index: *next,
                line: Some(line_no),
                span: None,
            };
            *next += 1;
            p
        };
        let mut trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if export {
            match export_line(trimmed) {
                Some(record) => trimmed = record,
                None => {
                    sink(pos(next), Err(Reject::NotAnExportLine));
                    continue;
                }
            }
        }
        let mut values = serde_json::Deserializer::from_str(trimmed).into_iter::<Top>();
        let mut count = 0;
        loop {
            let start = values.byte_offset();
            match values.next() {
                None => break,
                Some(Ok(top)) => {
                    count += 1;
                    let raw = trimmed[start..values.byte_offset()].trim();
                    match expand(top, raw) {
                        Ok(slots) => emit(slots, next, Some(line_no), spans, sink),
                        Err(message) => sink(pos(next), Err(Reject::BadContainer(message))),
                    }
                }
                Some(Err(e)) => {
                    sink(
                        pos(next),
                        Err(Reject::InvalidJsonLine {
                            column: e.column(),
                            message: strip_position(&e),
                        }),
                    );
                    break;
                }
            }
        }
        concatenated |= count > 1;
    }
    concatenated
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn invalid_json(text: &str, base: usize, e: &serde_json::Error) -> FileError {
    if e.is_data() {
        // Valid JSON that no reading can trust (a repeated top-level key).
        return FileError::NotCloudTrail(format!(
            "{} (line {}, column {})",
            strip_position(e),
            e.line(),
            e.column()
        ));
    }
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
        let r = read_records(text, Keep::Whole, &mut |p, item| {
            let text = item.map(|i| match i {
                Item::Text(t) => t.to_string(),
                Item::Entries(e) => entries_text(&e),
                Item::Row(r, _) => r.rest.unwrap_or_default(),
            });
            out.push((p, text))
        });
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
                line: None,
                span: Some(Span {
                    offset: 12 + REC.len() as u64 + 1,
                    length: REC.len() as u64,
                    line: 1
                })
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
    fn arrays_of_pages_and_envelopes() {
        let ev = serde_json::to_string(REC).unwrap();
        let page = format!(r#"{{"Events":[{{"CloudTrailEvent":{ev}}}]}}"#);
        let (r, recs) = collect(&format!(
            r#"[{page},{page},{{"Records":[{REC},{REC}]}},{REC}]"#
        ));
        assert_eq!(r, Ok(Content::Events(Format::JsonArray)));
        assert_eq!(recs.len(), 5);
        assert!(recs.iter().all(|(_, item)| item.is_ok()));
        let (r, _) = collect(r#"[{"Records":"x"}]"#);
        assert!(matches!(r, Err(FileError::NotCloudTrail(m)) if m.contains("not an array")));
    }

    #[test]
    fn a_record_with_a_log_events_key_keeps_it() {
        let rec = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"X","logEvents":[1,2]}"#;
        let (r, recs) = collect(&format!("{rec}\n{rec}"));
        assert_eq!(r, Ok(Content::Events(Format::Ndjson)));
        assert_eq!(recs.len(), 2);
        assert_eq!(
            recs[0].1.as_deref(),
            Ok(rec),
            "the whole record, logEvents included"
        );
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
                line: Some(4),
                span: Some(Span {
                    offset: (REC.len() + "\n{oops\n\n".len()) as u64,
                    length: REC.len() as u64,
                    line: 4
                })
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
