//! Small zero-copy helpers over `serde_json`: objects as ordered `(key, raw value)` entries, and
//! strings borrowed from the input whenever they contain no escape.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON string, borrowed from the input when it holds no escape sequence.
pub struct CowStr<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object's entries in input order, values left unparsed.
pub struct Entries<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                collect_entries(map)
            }
        }
        d.deserialize_map(V)
    }
}

/// Collects a JSON object's entries from a serde map, values left unparsed.
pub fn collect_entries<'de, A: MapAccess<'de>>(mut map: A) -> Result<Entries<'de>, A::Error> {
    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(24));
    while let Some(CowStr(k)) = map.next_key::<CowStr<'de>>()? {
        let v: &'de RawValue = map.next_value()?;
        out.push((k, v));
    }
    Ok(Entries(out))
}

impl<'a> Entries<'a> {
    /// Parses `raw` as an object; `None` when it is any other JSON value.
    pub fn parse(raw: &'a str) -> Option<Self> {
        if !raw.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(raw).ok()
    }

    /// The value of `key`; the last one wins when a key repeats, as in most JSON readers.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

/// A raw JSON value, classified by what a typed column can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Str(Cow<'a, str>),
    Bool(bool),
    Null,
    /// A number, object or array.
    Other,
}

pub fn scalar(raw: &RawValue) -> Scalar<'_> {
    scalar_text(raw.get())
}

/// [`scalar`] over a value's raw text, which must be one valid JSON value.
pub fn scalar_text(raw: &str) -> Scalar<'_> {
    let text = raw.trim_start();
    match text.as_bytes().first() {
        // A valid string literal without a backslash is its own content between the quotes.
        Some(b'"') if memchr::memchr(b'\\', text.as_bytes()).is_none() => {
            match text
                .trim_end()
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
            {
                Some(inner) => Scalar::Str(Cow::Borrowed(inner)),
                None => Scalar::Other,
            }
        }
        Some(b'"') => match serde_json::from_str::<CowStr>(text) {
            Ok(CowStr(s)) => Scalar::Str(s),
            Err(_) => Scalar::Other,
        },
        Some(b't') => Scalar::Bool(true),
        Some(b'f') => Scalar::Bool(false),
        Some(b'n') => Scalar::Null,
        _ => Scalar::Other,
    }
}

/// A word for the JSON type of `raw`, for messages.
pub fn type_name(raw: &RawValue) -> &'static str {
    type_name_text(raw.get())
}

/// [`type_name`] over a value's raw text.
pub fn type_name_text(raw: &str) -> &'static str {
    match raw.trim_start().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        _ => "a number",
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json_string(out: &mut String, s: &str) {
    let plain = s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // Serialising a &str cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

/// Appends the JSON text `raw` without the whitespace between its tokens (whitespace inside
/// strings is content and stays), so a record's text is always on one line.
pub fn push_compact(out: &mut String, raw: &str) {
    let is_ws = |b: u8| matches!(b, b' ' | b'\n' | b'\t' | b'\r');
    if !raw.bytes().any(is_ws) {
        out.push_str(raw);
        return;
    }
    let bytes = raw.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if is_ws(b) {
            // Whitespace is ASCII, so both ends of the run are character boundaries.
            out.push_str(&raw[run..i]);
            run = i + 1;
        }
    }
    out.push_str(&raw[run..]);
}

/// Byte offset of serde_json's 1-based (line, column) position within `text`.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map(|(i, _)| i + 1)
            .unwrap_or(text.len())
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_order_and_borrow() {
        let text = r#"{"b": 1, "a": {"x": [1,2]}, "b": "two", "c": "e\"s"}"#;
        let e = Entries::parse(text).unwrap();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["b", "a", "b", "c"]);
        assert_eq!(e.get("a").unwrap().get(), r#"{"x": [1,2]}"#);
        assert_eq!(scalar(e.get("b").unwrap()), Scalar::Str("two".into()));
        match scalar(e.get("c").unwrap()) {
            Scalar::Str(Cow::Owned(s)) => assert_eq!(s, "e\"s"),
            other => panic!("{other:?}"),
        }
        match scalar(e.get("b").unwrap()) {
            Scalar::Str(Cow::Borrowed(_)) => {}
            other => panic!("expected a borrowed string, got {other:?}"),
        }
    }

    #[test]
    fn non_objects_are_not_entries() {
        assert!(Entries::parse("[1]").is_none());
        assert!(Entries::parse("\"x\"").is_none());
        assert!(Entries::parse("{").is_none());
    }

    #[test]
    fn string_escaping() {
        let mut s = String::new();
        push_json_string(&mut s, "plain");
        push_json_string(&mut s, "q\"uo\nte");
        assert_eq!(s, r#""plain""q\"uo\nte""#);
    }

    #[test]
    fn compacting_keeps_strings() {
        let mut s = String::new();
        push_compact(&mut s, "{ \"a b\" : [ 1 ,\n\t\"x \\\" y\" ] }");
        assert_eq!(s, r#"{"a b":[1,"x \" y"]}"#);
        let mut s = String::new();
        push_compact(&mut s, r#"{"plain":"no spaces"}"#);
        assert_eq!(s, r#"{"plain":"no spaces"}"#);
    }

    #[test]
    fn offsets() {
        let t = "ab\ncd\nef";
        assert_eq!(offset_of(t, 1, 1), 0);
        assert_eq!(offset_of(t, 2, 2), 4);
        assert_eq!(offset_of(t, 3, 1), 6);
        assert_eq!(offset_of(t, 9, 9), t.len());
    }
}

/// The top-level keys CloudTrail writes in a record (and the wrappers' few): each has a bit, so
/// checking a record's keys for a repeat costs one lookup per key instead of a comparison with
/// every other key.
const KNOWN_KEYS: [&str; 40] = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
    "insightDetails",
    "annotation",
    "@timestamp",
    "Records",
    "Events",
    "logEvents",
    "messageType",
    "CloudTrailEvent",
    "EventId",
    "detail",
];

/// Keys beyond which the unknown ones are checked with a hash set instead of pairwise: an
/// object with a million keys costs a million lookups, not a trillion comparisons.
const PAIRWISE: usize = 16;

/// The first key that appears twice among `keys`, if any. An object with a repeated key is
/// ambiguous (JSON readers disagree on which value counts), and in evidence it is forged: AWS
/// never writes one.
pub fn repeated_key<'k>(keys: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let mut known = 0u64;
    let mut others: Vec<&'k str> = Vec::new();
    let mut set: Option<std::collections::HashSet<&'k str>> = None;
    for key in keys {
        if let Some(bit) = known_bit(key) {
            if known & bit != 0 {
                return Some(key);
            }
            known |= bit;
        } else if let Some(set) = set.as_mut() {
            if !set.insert(key) {
                return Some(key);
            }
        } else if others.contains(&key) {
            return Some(key);
        } else if others.len() < PAIRWISE {
            others.push(key);
        } else {
            let mut s: std::collections::HashSet<&'k str> = others.drain(..).collect();
            s.insert(key);
            set = Some(s);
        }
    }
    None
}

fn known_bit(key: &str) -> Option<u64> {
    static BY_LEN: std::sync::OnceLock<Vec<Vec<(&'static str, u64)>>> = std::sync::OnceLock::new();
    let buckets = BY_LEN.get_or_init(|| {
        let mut b: Vec<Vec<(&'static str, u64)>> = Vec::new();
        for (i, k) in KNOWN_KEYS.iter().enumerate() {
            if b.len() <= k.len() {
                b.resize(k.len() + 1, Vec::new());
            }
            b[k.len()].push((k, 1 << i));
        }
        b
    });
    buckets
        .get(key.len())?
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, bit)| *bit)
}

#[cfg(test)]
mod repeated_tests {
    use super::repeated_key;

    #[test]
    fn repeats_are_found_among_known_and_other_keys() {
        assert_eq!(repeated_key(["eventName", "eventTime"]), None);
        assert_eq!(
            repeated_key(["eventName", "eventTime", "eventName"]),
            Some("eventName")
        );
        assert_eq!(repeated_key(["x", "y", "x"]), Some("x"));
        let many: Vec<String> = (0..1000).map(|i| format!("k{i}")).collect();
        assert_eq!(repeated_key(many.iter().map(String::as_str)), None);
        let mut again: Vec<&str> = many.iter().map(String::as_str).collect();
        again.push("k3");
        assert_eq!(repeated_key(again), Some("k3"));
    }
}
