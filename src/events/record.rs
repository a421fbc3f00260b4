//! One CloudTrail record (raw JSON) -> one row of typed values, or a rejection with its reason.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::value::RawValue;

use super::json::{
    push_compact, push_json_string, scalar_text, type_name, type_name_text, Entries, Scalar,
};
use super::scan::{self, Scanner};
use super::schema::{Kind, FIELDS};

/// Number of typed columns.
pub const N_FIELDS: usize = FIELDS.len();
/// Position of `eventTime` in [`FIELDS`].
const TIME: usize = 0;

/// A typed cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Absent,
    Str(Cow<'a, str>),
    Bool(bool),
    /// Milliseconds since the Unix epoch, UTC.
    Time(i64),
}

/// One record's typed values, its bit set of fields held only in `rest`, and `rest` itself.
#[derive(Debug, PartialEq)]
pub struct Row<'a> {
    /// Boxed: a row is handed from the record's pass through the file's checks to the frame by
    /// value, and its 28 values inline made each of those moves a copy of 700 bytes (7% of a
    /// load's CPU in `memcpy`); one small allocation per record costs less.
    pub values: Box<[Value<'a>; N_FIELDS]>,
    pub raw_fields: u32,
    /// The record less the fields its columns hold, as compact JSON; `None` when the load's
    /// [`Keep`] leaves it out.
    pub rest: Option<String>,
}

/// What a load keeps of each record. Every record is read and checked in full either way, so
/// which records load, which are rejected and why does not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every column, and `_rest` for every row: whole records can be rebuilt.
    Whole,
    /// Only the columns of the fields in the bit set (the others are null), and `_rest` only for
    /// rows where one of those fields is held there ([`super::schema::RAW_FIELDS`]): enough to
    /// evaluate a pattern over those fields, at a fraction of the time and memory.
    Columns(u32),
}

impl Keep {
    /// Only the columns of these fields (names of [`super::schema::FIELDS`]; others are
    /// ignored).
    pub fn fields(names: &[&str]) -> Keep {
        Keep::Columns(
            names
                .iter()
                .filter_map(|n| super::schema::field(n))
                .fold(0, |bits, f| bits | 1 << f.bit),
        )
    }

    /// The bit set of the fields whose columns are filled.
    pub fn columns(self) -> u32 {
        match self {
            Keep::Whole => u32::MAX,
            Keep::Columns(fields) => fields,
        }
    }
}

/// Why a record was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("not a JSON object (found {0})")]
    NotAnObject(&'static str),
    #[error("no eventTime")]
    NoEventTime,
    #[error("eventTime is {0}, not a string")]
    EventTimeNotString(&'static str),
    #[error("unparseable eventTime {0:?}")]
    BadEventTime(String),
    #[error("eventTime {0:?} is outside the time CloudTrail can have recorded (2013-01-01 to a day from now)")]
    ImplausibleEventTime(String),
    #[error("repeated key {0:?}: which value counts is ambiguous, and AWS never writes one")]
    RepeatedKey(String),
    #[error("LookupEvents entry without a CloudTrailEvent string")]
    NoCloudTrailEvent,
    #[error("CloudTrailEvent is not valid JSON: {0}")]
    BadEmbeddedJson(String),
    #[error("not a CloudTrail shape: {0}")]
    BadContainer(String),
    #[error("invalid JSON at column {column}: {message}")]
    InvalidJsonLine { column: usize, message: String },
    #[error("{0} holds no record (not a JSON string or object)")]
    NoEmbeddedRecord(&'static str),
    #[error("{field} is not valid JSON: {message}")]
    BadEmbedded {
        field: &'static str,
        message: String,
    },
    #[error("not a `<timestamp> <record>` line of a CloudWatch Logs export")]
    NotAnExportLine,
}

/// Keys of the fields a column holds, as a tree, so each nested object is parsed once.
struct Node {
    key: &'static str,
    field: Option<usize>,
    children: Vec<Node>,
    /// Finds `"child"` for each child key: an object without any of them is not parsed.
    probes: Vec<memchr::memmem::Finder<'static>>,
    /// Bits of the fields at or below this node.
    subtree: u32,
}

fn field_tree() -> &'static [Node] {
    static TREE: OnceLock<Vec<Node>> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut roots: Vec<Node> = Vec::new();
        for (i, f) in FIELDS.iter().enumerate() {
            let mut level = &mut roots;
            for (depth, seg) in f.path.iter().enumerate() {
                let pos = match level.iter().position(|n| n.key == *seg) {
                    Some(p) => p,
                    None => {
                        level.push(Node {
                            key: seg,
                            field: None,
                            children: Vec::new(),
                            probes: Vec::new(),
                            subtree: 0,
                        });
                        level.len() - 1
                    }
                };
                level[pos].subtree |= 1 << i;
                if depth + 1 == f.path.len() {
                    level[pos].field = Some(i);
                }
                level = &mut level[pos].children;
            }
        }
        fn add_probes(nodes: &mut [Node]) {
            for n in nodes {
                n.probes = n
                    .children
                    .iter()
                    .map(|c| {
                        memchr::memmem::Finder::new(format!("\"{}\"", c.key).as_bytes())
                            .into_owned()
                    })
                    .collect();
                add_probes(&mut n.children);
            }
        }
        add_probes(&mut roots);
        roots
    })
}

fn fill<'a>(
    entries: &Entries<'a>,
    nodes: &[Node],
    found: &mut [Option<&'a RawValue>; N_FIELDS],
) -> Result<(), Reject> {
    for node in nodes {
        let Some(raw) = entries.get(node.key) else {
            continue;
        };
        if let Some(i) = node.field {
            found[i] = Some(raw);
        }
        fill_children(node, raw, found)?;
    }
    Ok(())
}

/// The fields under `node`, from its value `raw`; an object there that repeats a key the
/// columns read is rejected, since which value counts would be ambiguous (the fast path sends
/// exactly those records here).
fn fill_children<'a>(
    node: &Node,
    raw: &'a RawValue,
    found: &mut [Option<&'a RawValue>; N_FIELDS],
) -> Result<(), Reject> {
    if node.children.is_empty() || !may_hold_any(raw.get(), node) {
        return Ok(());
    }
    let Some(sub) = Entries::parse(raw.get()) else {
        return Ok(());
    };
    for child in &node.children {
        if sub.keys().filter(|k| *k == child.key).nth(1).is_some() {
            return Err(Reject::RepeatedKey(format!("{}.{}", node.key, child.key)));
        }
    }
    fill(&sub, &node.children, found)
}

/// The top-level node for `key`: candidates are bucketed by key length, so a record's ~25 keys
/// cost about one comparison each instead of a search of every field.
fn top_node(key: &str) -> Option<usize> {
    static BY_LEN: OnceLock<Vec<Vec<(&'static str, usize)>>> = OnceLock::new();
    let buckets = BY_LEN.get_or_init(|| {
        let mut b: Vec<Vec<(&'static str, usize)>> = Vec::new();
        for (i, n) in field_tree().iter().enumerate() {
            if b.len() <= n.key.len() {
                b.resize(n.key.len() + 1, Vec::new());
            }
            b[n.key.len()].push((n.key, i));
        }
        b
    });
    buckets
        .get(key.len())?
        .iter()
        .find(|(k, _)| same_key(k, key))
        .map(|(_, i)| *i)
}

/// The top level of [`fill`]: one pass over the record's entries (the last of a repeated key
/// wins, as in other JSON readers).
fn fill_top<'a>(
    entries: &Entries<'a>,
    found: &mut [Option<&'a RawValue>; N_FIELDS],
) -> Result<(), Reject> {
    let roots = field_tree();
    let mut seen: [Option<&'a RawValue>; 32] = [None; 32];
    for (k, v) in &entries.0 {
        if let Some(i) = top_node(k) {
            seen[i] = Some(*v);
        }
    }
    for (i, node) in roots.iter().enumerate() {
        let Some(raw) = seen.get(i).copied().flatten() else {
            continue;
        };
        if let Some(f) = node.field {
            found[f] = Some(raw);
        }
        fill_children(node, raw, found)?;
    }
    Ok(())
}

/// Whether `text` can hold one of the nodes' keys: it contains one quoted, or an escape that
/// could spell one. Saves parsing large objects (`responseElements`) for a key they lack.
fn may_hold_any(text: &str, node: &Node) -> bool {
    static ESCAPE: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    let b = text.as_bytes();
    node.probes.iter().any(|p| p.find(b).is_some())
        || ESCAPE
            .get_or_init(|| memchr::memmem::Finder::new(b"\\u"))
            .find(b)
            .is_some()
}

/// Parses one record. `raw` must be valid JSON (the caller has parsed it once already).
///
/// A record is an object with an `eventTime` (or, from Logstash-style exports, `@timestamp`).
/// Common wrappers are unwrapped: EventBridge's `{"detail-type": ..., "detail": {record}}`,
/// Splunk HEC's `{"event": {record}}` and exports' `{"record": {record}}`.
pub fn parse_record(raw: &str, keep: Keep) -> Result<Row<'_>, Reject> {
    match Entries::parse(raw) {
        Some(entries) => parse_entries(entries, keep),
        None => {
            let raw_value: Option<&RawValue> = serde_json::from_str(raw).ok();
            Err(Reject::NotAnObject(
                raw_value.map(type_name).unwrap_or("invalid JSON"),
            ))
        }
    }
}

/// Decides, from a projected row's column values, whether the load keeps its `_rest` too.
pub type RestIf<'a> = &'a (dyn Fn(&Row) -> bool + Sync);

/// [`parse_record`] for a record whose top level is already split into entries.
pub fn parse_entries(entries: Entries<'_>, keep: Keep) -> Result<Row<'_>, Reject> {
    // Logstash-style exports move eventTime into `@timestamp`; the column takes it from there
    // and flags eventTime as raw, so filters still see that the record has no eventTime key.
    if let Some(k) = super::json::repeated_key(entries.keys()) {
        return Err(Reject::RepeatedKey(k.to_string()));
    }
    let mut time_from_timestamp = false;
    if !entries.has("eventTime") {
        if let Some(inner) = wrapped_record(&entries) {
            return parse_record(inner.get(), keep);
        }
        let cloudtrail_like = entries.has("eventName") || entries.has("eventSource");
        if !(cloudtrail_like && entries.has("@timestamp")) {
            return Err(Reject::NoEventTime);
        }
        time_from_timestamp = true;
    }

    let mut raw: [Option<&RawValue>; N_FIELDS] = [None; N_FIELDS];
    fill_top(&entries, &mut raw)?;
    if time_from_timestamp {
        raw[TIME] = entries.get("@timestamp");
    }
    let found = Found {
        values: raw.map(|r| r.map(RawValue::get)),
        ..Found::default()
    };
    let pairs: Vec<TopEntry> = entries
        .0
        .iter()
        .map(|(k, v)| (k.as_ref(), v.get(), top_node(k)))
        .collect();
    build_row(&found, &pairs, time_from_timestamp, keep)
}

/// A record's top-level entry: decoded key, raw value text, and the key's node in the field
/// tree, if columns read anything under it.
pub(crate) type TopEntry<'a> = (&'a str, &'a str, Option<usize>);

/// What a pass over one record found for [`build_row`].
pub(crate) struct Found<'a> {
    /// Each field's raw value text, by position in [`FIELDS`].
    values: [Option<&'a str>; N_FIELDS],
    /// Fields whose text is a string literal without escapes, whose content needs no decoding.
    plain: u32,
    /// The record's text has no whitespace between tokens (`_rest` never has).
    compact: bool,
    /// In a compact record, each nested field's whole entry (`"key":value`), to cut out of its
    /// object without reading the object again.
    entries: [Option<&'a str>; N_FIELDS],
    /// A key the columns read appeared twice in one object.
    repeated: bool,
}

impl Default for Found<'_> {
    fn default() -> Self {
        Found {
            values: [None; N_FIELDS],
            plain: 0,
            compact: false,
            entries: [None; N_FIELDS],
            repeated: false,
        }
    }
}

/// A record's row from what a pass over it found and its top-level entries in order.
pub(crate) fn build_row<'a>(
    found: &Found<'a>,
    entries: &[TopEntry],
    time_from_timestamp: bool,
    keep: Keep,
) -> Result<Row<'a>, Reject> {
    let (plain, compact) = (found.plain, found.compact);
    let mut values: Box<[Value; N_FIELDS]> = Box::new(std::array::from_fn(|_| Value::Absent));
    let mut raw_fields = 0u32;
    // Fields whose value a column holds exactly, and so are left out of `rest`.
    let mut moved = 0u32;
    for (i, f) in FIELDS.iter().enumerate() {
        let Some(raw) = found.values[i] else {
            continue;
        };
        let bit = 1u32 << f.bit;
        let scalar = match raw.get(1..raw.len().saturating_sub(1)) {
            Some(content) if plain & bit != 0 => Scalar::Str(Cow::Borrowed(content)),
            _ => scalar_text(raw),
        };
        let value = match (f.kind, scalar) {
            (Kind::Time, Scalar::Str(s)) => match parse_event_time(&s) {
                Some((ms, _)) if !plausible_time(ms) => {
                    return Err(Reject::ImplausibleEventTime(s.into_owned()))
                }
                Some((ms, canonical)) => {
                    if !canonical {
                        raw_fields |= bit;
                    }
                    Value::Time(ms)
                }
                None => return Err(Reject::BadEventTime(s.into_owned())),
            },
            (Kind::Time, _) => return Err(Reject::EventTimeNotString(type_name_text(raw))),
            (Kind::Str, Scalar::Str(s)) => Value::Str(s),
            (Kind::Bool, Scalar::Bool(b)) => Value::Bool(b),
            _ => {
                raw_fields |= bit;
                continue;
            }
        };
        if time_from_timestamp && i == TIME {
            raw_fields |= bit;
        }
        if raw_fields & bit == 0 {
            moved |= bit;
        }
        values[i] = value;
    }
    if let Keep::Columns(kept) = keep {
        for (i, v) in values.iter_mut().enumerate() {
            if kept & (1 << FIELDS[i].bit) == 0 {
                *v = Value::Absent;
            }
        }
        if raw_fields & kept == 0 {
            return Ok(Row {
                values,
                raw_fields,
                rest: None,
            });
        }
    }

    let mut rest = String::with_capacity(
        entries
            .iter()
            .map(|(k, v, _)| k.len() + v.len() + 4)
            .sum::<usize>()
            + 2,
    );
    rest.push('{');
    for &(key, value, node) in entries {
        let node = node.map(|i| &field_tree()[i]);
        if node
            .and_then(|n| n.field)
            .is_some_and(|f| moved & (1 << f) != 0)
        {
            continue;
        }
        if rest.len() > 1 {
            rest.push(',');
        }
        push_json_string(&mut rest, key);
        rest.push(':');
        match node {
            // An object holding fields that columns hold: written without them.
            Some(n) if n.subtree & moved != 0 && compact && value.starts_with('{') => {
                cut_entries(&mut rest, value, &found.entries, n.subtree & moved);
            }
            Some(n) if n.subtree & moved != 0 && value.starts_with('{') => {
                let mark = rest.len();
                if pruned_object(&mut rest, value, n, moved, compact).is_err() {
                    // Cannot happen for valid JSON; if it did, the object stays whole and its
                    // fields are read from `_rest`, as for a field of another type.
                    rest.truncate(mark);
                    push_compact(&mut rest, value);
                    let kept = n.subtree & moved;
                    raw_fields |= kept;
                    moved &= !kept;
                    for (i, v) in values.iter_mut().enumerate() {
                        if kept & (1 << i) != 0 {
                            *v = Value::Absent;
                        }
                    }
                }
            }
            _ if compact => rest.push_str(value),
            _ => push_compact(&mut rest, value),
        }
    }
    rest.push('}');

    Ok(Row {
        values,
        raw_fields,
        rest: Some(rest),
    })
}

/// Writes the compact JSON object `text` to `out` without the entries of the fields in `cut`
/// (`entries` holds each one's `"key":value`, a slice of `text`), and the comma that went with
/// each. Objects on the way stay, as with [`pruned_object`].
fn cut_entries(out: &mut String, text: &str, entries: &[Option<&str>; N_FIELDS], cut: u32) {
    let base = text.as_ptr() as usize;
    let mut holes = [(0usize, 0usize); N_FIELDS];
    let mut n = 0;
    for (i, entry) in entries.iter().enumerate() {
        let Some(e) = entry.filter(|_| cut & (1 << i) != 0) else {
            continue;
        };
        let Some(start) = (e.as_ptr() as usize).checked_sub(base) else {
            continue;
        };
        let end = start.saturating_add(e.len());
        if text.is_char_boundary(start) && text.is_char_boundary(end) {
            holes[n] = (start, end);
            n += 1;
        }
    }
    let holes = &mut holes[..n];
    holes.sort_unstable();
    let mut pos = 0;
    for &mut (start, end) in holes {
        if start < pos {
            continue;
        }
        out.push_str(&text[pos..start]);
        pos = end;
        if text.as_bytes().get(pos) == Some(&b',') {
            // `"cut":v,"next"`: the comma after goes.
            pos += 1;
        } else if out.ends_with(',') {
            // `"prev":v,"cut":v}`: the comma before goes.
            out.pop();
        }
    }
    out.push_str(&text[pos..]);
}

/// Writes the JSON object `text` (valid JSON) to `out` without the fields of `node`'s subtree
/// that are in `moved`. Objects on the way stay, even when nothing is left in them, so
/// [`insert_nested`] finds where each field goes back. `compact`: as for [`build_row`].
fn pruned_object(
    out: &mut String,
    text: &str,
    node: &Node,
    moved: u32,
    compact: bool,
) -> scan::Result<()> {
    let mut s = Scanner::new(text, 0);
    s.max_depth = usize::MAX;
    prune(out, &mut s, text, node, moved, compact)?;
    s.skip_ws();
    if s.pos == text.len() {
        Ok(())
    } else {
        Err(scan::Fallback)
    }
}

fn prune(
    out: &mut String,
    s: &mut Scanner,
    text: &str,
    node: &Node,
    moved: u32,
    compact: bool,
) -> scan::Result<()> {
    s.expect(b'{')?;
    out.push('{');
    let mut first = true;
    if !s.eat(b'}') {
        loop {
            let (key_raw, key) = any_key(s, text)?;
            s.skip_ws();
            let value_start = s.pos;
            let child = node.children.iter().find(|c| c.key == key);
            let drop = child
                .and_then(|c| c.field)
                .is_some_and(|f| moved & (1 << f) != 0);
            if drop {
                s.value(0)?;
            } else {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(key_raw);
                out.push(':');
                match child {
                    Some(c) if c.subtree & moved != 0 && s.peek() == Some(b'{') => {
                        prune(out, s, text, c, moved, compact)?;
                    }
                    _ => {
                        s.value(0)?;
                        let value = &text[value_start..s.pos];
                        if compact {
                            out.push_str(value);
                        } else {
                            push_compact(out, value);
                        }
                    }
                }
            }
            if s.eat(b',') {
                continue;
            }
            s.expect(b'}')?;
            break;
        }
    }
    out.push('}');
    Ok(())
}

/// The object key at the cursor (after whitespace) and the colon after it: its text as written
/// (quotes included) and its decoded value. A key serde_json cannot decode matches no field, as
/// when parsing entries.
fn any_key<'t>(s: &mut Scanner, text: &'t str) -> scan::Result<(&'t str, Cow<'t, str>)> {
    s.skip_ws();
    let key_start = s.pos;
    if s.peek() != Some(b'"') {
        return Err(scan::Fallback);
    }
    let (start, end, escaped) = s.string()?;
    let raw = text.get(key_start..s.pos).ok_or(scan::Fallback)?;
    let key = if escaped {
        serde_json::from_str::<String>(raw)
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(""))
    } else {
        Cow::Borrowed(text.get(start..end).ok_or(scan::Fallback)?)
    };
    s.expect(b':')?;
    Ok((raw, key))
}

/// Puts fields that columns hold back into a record's `_rest` text (a JSON object): each
/// `(field, JSON value)` goes at the end of the object at the field's parent path (the last
/// one, when a key repeats), creating objects that are missing. Top-level fields are appended
/// to the record itself.
pub fn insert_nested(rest: &str, fields: &[(&'static super::schema::Field, String)]) -> String {
    let mut text = rest.to_string();
    let mut i = 0;
    while i < fields.len() {
        let parent = &fields[i].0.path[..fields[i].0.path.len() - 1];
        let mut j = i;
        let mut entries = String::new();
        while j < fields.len() && &fields[j].0.path[..fields[j].0.path.len() - 1] == parent {
            let (f, value) = &fields[j];
            if !entries.is_empty() {
                entries.push(',');
            }
            push_json_string(&mut entries, f.path[f.path.len() - 1]);
            entries.push(':');
            entries.push_str(value);
            j += 1;
        }
        text = insert_at(&text, parent, &entries);
        i = j;
    }
    text
}

/// `text` with `entries` (`"k":v,...`) added to the object at `path`, or to its deepest
/// existing ancestor wrapped in the missing objects. `text` is returned unchanged if it is not
/// an object.
fn insert_at(text: &str, path: &[&str], entries: &str) -> String {
    let mut s = Scanner::new(text, 0);
    s.max_depth = usize::MAX;
    let Ok((close, empty, found)) = locate(&mut s, text, path) else {
        return text.to_string();
    };
    let mut add = String::with_capacity(entries.len() + 32);
    if !empty {
        add.push(',');
    }
    for key in &path[found..] {
        push_json_string(&mut add, key);
        add.push_str(":{");
    }
    add.push_str(entries);
    for _ in found..path.len() {
        add.push('}');
    }
    let mut out = String::with_capacity(text.len() + add.len());
    out.push_str(&text[..close]);
    out.push_str(&add);
    out.push_str(&text[close..]);
    out
}

/// In the object at the cursor: the index of the closing brace of the object at `path` (or of
/// its deepest existing ancestor), whether that object is empty, and how many keys of `path`
/// were found. The last occurrence of a repeated key counts, as in JSON readers.
fn locate(s: &mut Scanner, text: &str, path: &[&str]) -> scan::Result<(usize, bool, usize)> {
    s.expect(b'{')?;
    let mut empty = true;
    let mut inner: Option<(usize, bool, usize)> = None;
    if !s.eat(b'}') {
        empty = false;
        loop {
            let (_, key) = any_key(s, text)?;
            s.skip_ws();
            match path.first() {
                Some(first) if key == *first && s.peek() == Some(b'{') => {
                    let (close, e, n) = locate(s, text, &path[1..])?;
                    inner = Some((close, e, n + 1));
                }
                Some(first) if key == *first => {
                    // The key holds something else: the new object cannot go inside it.
                    s.value(0)?;
                    inner = None;
                }
                _ => {
                    s.value(0)?;
                }
            }
            if s.eat(b',') {
                continue;
            }
            s.expect(b'}')?;
            break;
        }
    }
    let close = s.pos - 1;
    Ok(inner.unwrap_or((close, empty, 0)))
}

/// The fast path's reading of one record object, whose `{` is at the scanner's cursor: the
/// object is checked and consumed in one pass, and its row built from spans of the input.
///
/// `Ok(None)` leaves the record to [`parse_record`] over its text (a repeated key the columns
/// read, no `eventTime`, or a record [`build_row`] rejects), which then decides exactly as the
/// `serde_json` path does. `Err` sends the whole file to the `serde_json` path: invalid JSON, or
/// an escape in a key the columns could read (serde_json decodes those keys and may reject them).
pub(crate) fn scan_record<'a>(
    s: &mut Scanner<'a>,
    text: &'a str,
    depth: usize,
    entries: &mut Vec<TopEntry<'a>>,
    keep: Keep,
) -> scan::Result<Option<Row<'a>>> {
    entries.clear();
    s.spaced = false;
    let mut found = Found::default();
    let mut seen = 0u32;
    s.expect(b'{')?;
    if !s.eat(b'}') {
        loop {
            let key = plain_key(s, text)?;
            s.skip_ws();
            let start = s.pos;
            let node = top_node(key);
            match node {
                Some(i) => {
                    found.repeated |= seen & (1 << i) != 0;
                    seen |= 1 << i;
                    found.node(s, text, &field_tree()[i], depth + 1)?;
                }
                None => {
                    s.value(depth + 1)?;
                }
            }
            entries.push((key, &text[start..s.pos], node));
            if s.eat(b',') {
                continue;
            }
            s.expect(b'}')?;
            break;
        }
    }
    // A repeated key anywhere at the top, or among the fields the columns read, leaves the
    // record to parse_record, which rejects it with its reason.
    if found.repeated
        || found.values[TIME].is_none()
        // Keys with a node were told apart by `seen` already.
        || super::json::repeated_key(entries.iter().filter(|e| e.2.is_none()).map(|e| e.0))
            .is_some()
    {
        return Ok(None);
    }
    found.compact = !s.spaced;
    Ok(build_row(&found, entries, false, keep).ok())
}

/// An object key without escapes, and the colon after it.
fn plain_key<'a>(s: &mut Scanner<'a>, text: &'a str) -> scan::Result<&'a str> {
    s.skip_ws();
    if s.peek() != Some(b'"') {
        return Err(scan::Fallback);
    }
    let (start, end, escaped) = s.string()?;
    if escaped {
        return Err(scan::Fallback);
    }
    s.expect(b':')?;
    Ok(&text[start..end])
}

/// Whether two short keys are equal; keys are compared on every entry of every record, and
/// most differ in length or first byte.
#[inline]
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

impl<'a> Found<'a> {
    /// Consumes the value of `node`'s key: its column's raw text, or its children's fields.
    fn node(
        &mut self,
        s: &mut Scanner<'a>,
        text: &'a str,
        node: &Node,
        depth: usize,
    ) -> scan::Result<()> {
        s.skip_ws();
        let start = s.pos;
        if let Some(f) = node.field {
            if s.peek() == Some(b'"') {
                let (_, _, escaped) = s.string()?;
                if !escaped {
                    self.plain |= 1 << f;
                }
            } else {
                s.value(depth)?;
            }
            self.values[f] = Some(&text[start..s.pos]);
            return Ok(());
        }
        if node.children.is_empty() || s.peek() != Some(b'{') {
            s.value(depth)?;
            return Ok(());
        }
        s.pos += 1;
        if s.eat(b'}') {
            return Ok(());
        }
        let mut seen = 0u32;
        loop {
            s.skip_ws();
            let entry_start = s.pos;
            let key = plain_key(s, text)?;
            match node.children.iter().position(|c| same_key(c.key, key)) {
                Some(i) => {
                    let child = &node.children[i];
                    self.repeated |= seen & (1 << i) != 0;
                    seen |= 1 << i;
                    self.node(s, text, child, depth + 1)?;
                    if let Some(f) = child.field {
                        self.entries[f] = Some(&text[entry_start..s.pos]);
                    }
                }
                None => {
                    s.value(depth + 1)?;
                }
            }
            if s.eat(b',') {
                continue;
            }
            return s.expect(b'}');
        }
    }
}

pub(crate) fn wrapped_record<'a>(entries: &Entries<'a>) -> Option<&'a RawValue> {
    let inner = if entries.has("detail-type") {
        entries.get("detail")
    } else {
        entries.get("record").or_else(|| entries.get("event"))
    }?;
    let sub = Entries::parse(inner.get())?;
    sub.has("eventTime").then_some(inner)
}

/// 2013-01-01T00:00:00Z: no CloudTrail record is older (the service started in November 2013).
pub const EARLIEST_PLAUSIBLE_MS: i64 = 1_356_998_400_000;

/// Whether `ms` is a time CloudTrail can have recorded: from 2013 to a day after now (clock
/// skew). A record outside is forged or corrupt, and is rejected with that reason rather than
/// stretching every per-day view of the evidence over centuries.
pub fn plausible_time(ms: i64) -> bool {
    static LATEST: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let latest = *LATEST.get_or_init(|| chrono::Utc::now().timestamp_millis() + 86_400_000);
    (EARLIEST_PLAUSIBLE_MS..=latest).contains(&ms)
}

/// Parses an RFC 3339 time (or a zone-less `YYYY-MM-DD HH:MM:SS[.f]`, taken as UTC) into UTC
/// milliseconds, and whether it is in CloudTrail's canonical form `YYYY-MM-DDTHH:MM:SSZ` (so it
/// can be written back exactly from the column).
pub fn parse_event_time(s: &str) -> Option<(i64, bool)> {
    let b = s.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?);
        if let Some(t) = date.and_then(|d| d.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?))
        {
            return Some((t.and_utc().timestamp_millis(), true));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.timestamp_millis(), false));
    }
    // Data-lake exports (Athena, Panther) write `2025-01-21 17:49:47.000000000`: UTC, no zone.
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
        .map(|t| (t.and_utc().timestamp_millis(), false))
}

/// Formats UTC milliseconds in CloudTrail's canonical form.
pub fn format_event_time(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) if ms % 1000 == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::schema::field;

    fn parse_record(raw: &str) -> Result<Row<'_>, Reject> {
        super::parse_record(raw, Keep::Whole)
    }

    fn value<'r>(row: &'r Row, name: &str) -> &'r Value<'r> {
        &row.values[field(name).unwrap().bit as usize]
    }

    #[test]
    fn typed_columns_and_rest() {
        let raw = r#"{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2024-07-31T13:10:00Z","eventName":"ConsoleLogin","readOnly":false,"requestParameters":{"bucketName":"b"},"additionalEventData":{"MFAUsed":"No"},"@timestamp":"x"}"#;
        let row = parse_record(raw).unwrap();
        assert_eq!(value(&row, "eventTime"), &Value::Time(1_722_431_400_000));
        assert_eq!(value(&row, "userIdentity.type"), &Value::Str("Root".into()));
        assert_eq!(
            value(
                &row,
                "userIdentity.sessionContext.attributes.mfaAuthenticated"
            ),
            &Value::Str("false".into())
        );
        assert_eq!(value(&row, "readOnly"), &Value::Bool(false));
        assert_eq!(
            value(&row, "additionalEventData.MFAUsed"),
            &Value::Str("No".into())
        );
        assert_eq!(value(&row, "errorCode"), &Value::Absent);
        assert_eq!(row.raw_fields, 0);
        let rest: serde_json::Value = serde_json::from_str(row.rest.as_deref().unwrap()).unwrap();
        assert!(rest.get("eventName").is_none(), "moved to a column");
        assert!(rest.get("eventTime").is_none());
        assert_eq!(rest["requestParameters"]["bucketName"], "b");
        assert_eq!(
            rest["userIdentity"],
            serde_json::json!({"sessionContext": {"attributes": {}}}),
            "nested fields held by columns are left out, their objects stay"
        );
        assert_eq!(rest["additionalEventData"], serde_json::json!({}));
        assert_eq!(rest["@timestamp"], "x");
    }

    #[test]
    fn nested_fields_go_back_where_they_were() {
        use crate::events::schema::field;
        let rest = r#"{"userIdentity":{"sessionContext":{"attributes":{}},"x":1},"a":[]}"#;
        let put = |names: &[(&str, &str)]| {
            let fields: Vec<_> = names
                .iter()
                .map(|(n, v)| (field(n).unwrap(), v.to_string()))
                .collect();
            let text = insert_nested(rest, &fields);
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        };
        let v = put(&[
            ("userIdentity.type", r#""Root""#),
            ("userIdentity.arn", r#""a:b""#),
            (
                "userIdentity.sessionContext.attributes.mfaAuthenticated",
                r#""true""#,
            ),
            ("userIdentity.sessionContext.sessionIssuer.arn", r#""r""#),
            ("responseElements.ConsoleLogin", r#""Success""#),
        ]);
        assert_eq!(
            v,
            serde_json::json!({
                "userIdentity": {
                    "sessionContext": {"attributes": {"mfaAuthenticated": "true"}, "sessionIssuer": {"arn": "r"}},
                    "x": 1, "type": "Root", "arn": "a:b"
                },
                "a": [],
                "responseElements": {"ConsoleLogin": "Success"}
            })
        );
    }

    #[test]
    fn pruning_and_reinsertion_round_trip() {
        let raw = r#"{"eventTime":"2024-01-01T00:00:00Z","userIdentity":{"type":"AssumedRole","principalId":"P:s","arn":"arn:x","accountId":"1","accessKeyId":"ASIA","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:r","userName":"r"},"attributes":{"creationDate":"2024","mfaAuthenticated":"false"}},"x":{"type":"kept"}},"additionalEventData":{"MFAUsed":"No","other":1},"responseElements":{"ConsoleLogin":"Success"}}"#;
        let row = parse_record(raw).unwrap();
        let rest: serde_json::Value = serde_json::from_str(row.rest.as_deref().unwrap()).unwrap();
        assert_eq!(
            rest["userIdentity"],
            serde_json::json!({"sessionContext": {"sessionIssuer": {"type": "Role", "userName": "r"}, "attributes": {"creationDate": "2024"}}, "x": {"type": "kept"}})
        );
        let fields: Vec<_> = FIELDS
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.is_top_level())
            .filter_map(|(i, f)| match &row.values[i] {
                Value::Str(s) => Some((f, serde_json::to_string(s.as_ref()).unwrap())),
                _ => None,
            })
            .collect();
        let back: serde_json::Value =
            serde_json::from_str(&insert_nested(row.rest.as_deref().unwrap(), &fields)).unwrap();
        let mut original: serde_json::Value = serde_json::from_str(raw).unwrap();
        original.as_object_mut().unwrap().remove("eventTime");
        assert_eq!(back, original);
    }

    #[test]
    fn other_types_stay_in_rest_and_are_flagged() {
        let raw = r#"{"eventTime":"2024-07-31T13:10:00.5+02:00","errorCode":null,"readOnly":"true","additionalEventData":{"MFAUsed":true},"eventName":5}"#;
        let row = parse_record(raw).unwrap();
        for name in [
            "eventTime",
            "errorCode",
            "readOnly",
            "additionalEventData.MFAUsed",
            "eventName",
        ] {
            let f = field(name).unwrap();
            assert!(row.raw_fields & (1 << f.bit) != 0, "{name} flagged");
        }
        assert_eq!(value(&row, "errorCode"), &Value::Absent);
        assert_eq!(value(&row, "eventTime"), &Value::Time(1_722_424_200_500));
        let rest: serde_json::Value = serde_json::from_str(row.rest.as_deref().unwrap()).unwrap();
        assert_eq!(rest["errorCode"], serde_json::Value::Null);
        assert_eq!(rest["readOnly"], "true");
        assert_eq!(rest["eventName"], 5);
        assert_eq!(rest["eventTime"], "2024-07-31T13:10:00.5+02:00");
    }

    #[test]
    fn rejections() {
        assert_eq!(
            parse_record("[1]").unwrap_err(),
            Reject::NotAnObject("an array")
        );
        assert_eq!(
            parse_record(r#"{"eventName":"x"}"#).unwrap_err(),
            Reject::NoEventTime
        );
        assert_eq!(
            parse_record(r#"{"eventTime":null}"#).unwrap_err(),
            Reject::EventTimeNotString("null")
        );
        assert_eq!(
            parse_record(r#"{"eventTime":"yesterday"}"#).unwrap_err(),
            Reject::BadEventTime("yesterday".into())
        );
        assert_eq!(
            parse_record(r#"{"eventTime":"2024-02-30T00:00:00Z"}"#).unwrap_err(),
            Reject::BadEventTime("2024-02-30T00:00:00Z".into())
        );
        for forged in [
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "2012-12-31T23:59:59Z",
        ] {
            assert_eq!(
                parse_record(&format!(r#"{{"eventTime":"{forged}"}}"#)).unwrap_err(),
                Reject::ImplausibleEventTime(forged.into())
            );
        }
        assert!(parse_record(r#"{"eventTime":"2013-01-01T00:00:00Z"}"#).is_ok());
    }

    #[test]
    fn wrappers_unwrap() {
        let eb = r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventTime":"2024-01-01T00:00:00Z","eventName":"X"}}"#;
        assert_eq!(
            value(&parse_record(eb).unwrap(), "eventName"),
            &Value::Str("X".into())
        );
        let rec = r#"{"source":"s","record":{"eventTime":"2024-01-01T00:00:00Z","eventName":"Y"}}"#;
        assert_eq!(
            value(&parse_record(rec).unwrap(), "eventName"),
            &Value::Str("Y".into())
        );
    }

    #[test]
    fn escaped_keys_are_still_found() {
        let raw = r#"{"eventTime":"2024-01-01T00:00:00Z","userIdentity":{"\u0074ype":"Root"},"responseElements":{"x":1}}"#;
        let row = parse_record(raw).unwrap();
        assert_eq!(value(&row, "userIdentity.type"), &Value::Str("Root".into()));
        assert_eq!(value(&row, "responseElements.ConsoleLogin"), &Value::Absent);
    }

    #[test]
    fn logstash_timestamp_stands_in_for_event_time() {
        let row =
            parse_record(r#"{"@timestamp":"2020-09-14T00:44:23.000Z","eventName":"X"}"#).unwrap();
        assert_eq!(value(&row, "eventTime"), &Value::Time(1_600_044_263_000));
        assert!(
            row.raw_fields & 1 != 0,
            "eventTime is not in the record itself"
        );
        let rest: serde_json::Value = serde_json::from_str(row.rest.as_deref().unwrap()).unwrap();
        assert!(rest.get("eventTime").is_none());
        assert_eq!(rest["@timestamp"], "2020-09-14T00:44:23.000Z");
    }

    #[test]
    fn time_round_trip() {
        let (ms, canonical) = parse_event_time("2024-07-31T13:10:00Z").unwrap();
        assert!(canonical);
        assert_eq!(format_event_time(ms), "2024-07-31T13:10:00Z");
        assert!(parse_event_time("2024-13-01T00:00:00Z").is_none());
        assert!(parse_event_time("").is_none());
        assert!(parse_event_time("2024-07-31T13:1a:00Z").is_none());
        assert_eq!(
            parse_event_time("2025-01-21 17:49:47.000000000"),
            Some((1_737_481_787_000, false))
        );
        assert_eq!(
            parse_event_time("2024-07-31T13:10:00+01:00"),
            Some((1_722_427_800_000, false))
        );
    }
}
