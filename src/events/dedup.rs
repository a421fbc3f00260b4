//! Each event once: a record whose `eventID` (with its `recipientAccountId`) was already loaded
//! is a copy of the same event (the same log file synced from two buckets, LookupEvents output
//! beside the trail's files, overlapping exports) and is counted as a duplicate, not loaded.
//! The `eventTime` is part of the key too: every copy of an event has its time, and test data
//! and hand-made records that reuse a placeholder id at other times stay distinct events.
//!
//! Memory: one 64-bit key per distinct event (about 9 to 18 bytes each in the set, 90 to 180 MB
//! for 10 million events), never the ids themselves. Two different events whose keys collide
//! would be taken for one: with a 64-bit hash the chance among n events is about n^2 / 2^65
//! (3e-6 for 10 million, 3e-4 for 100 million), accepted rather than paying for the ids.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use super::record::{Row, Value};
use super::schema;

/// The fields a record is recognised by: they are read whatever the load keeps.
pub const FIELDS: [&str; 3] = ["eventID", "recipientAccountId", "eventTime"];

/// A record's key: its `eventID`, `recipientAccountId` and `eventTime`, hashed. `None` for a record without an
/// `eventID` (a string, not empty): such records are never taken for copies of each other.
pub fn key(row: &Row) -> Option<u64> {
    let text = |name: &str| {
        let f = schema::field(name).expect("dedup fields are columns");
        match &row.values[f.bit as usize] {
            Value::Str(s) => Some(s.as_ref()),
            _ => None,
        }
    };
    let id = text(FIELDS[0]).filter(|s| !s.is_empty())?;
    let account = text(FIELDS[1]).unwrap_or("");
    let time = match &row.values[schema::field(FIELDS[2]).expect("a column").bit as usize] {
        Value::Time(ms) => *ms,
        _ => i64::MIN,
    };
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    h.update(id.as_bytes());
    // Not UTF-8: no id and account can run into each other.
    h.update(&[0xff]);
    h.update(account.as_bytes());
    h.update(&time.to_le_bytes());
    Some(h.digest())
}

/// The keys are already hashes: the set's hasher only moves the bits that pick a shard out of
/// the way of those that pick a bucket.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, k: u64) {
        self.0 = k.rotate_left(32);
    }
}

const SHARDS: usize = 64;

/// The keys of the events loaded so far, shared by the loading threads. Sharded so that threads
/// seldom wait for each other, and so that a set grows (and briefly holds its old table) one
/// shard at a time.
pub struct Seen {
    shards: Vec<Mutex<HashSet<u64, BuildHasherDefault<KeyHasher>>>>,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Seen {
    /// Whether the event of `key` is seen here for the first time (and from now on, seen).
    pub fn first(&self, key: u64) -> bool {
        let shard = &self.shards[(key >> 58) as usize % SHARDS];
        // A holder that panicked left a valid set: the lock only serialises.
        shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::record::{parse_record, Keep};

    fn key_of(json: &str) -> Option<u64> {
        key(&parse_record(json, Keep::Whole).unwrap())
    }

    #[test]
    fn keyed_by_event_id_and_account() {
        let t = r#""eventTime":"2024-01-01T00:00:00Z""#;
        let a = key_of(&format!(
            r#"{{{t},"eventID":"e1","recipientAccountId":"111122223333"}}"#
        ));
        let b = key_of(&format!(
            r#"{{{t},"eventID":"e1","recipientAccountId":"111122223333","x":1}}"#
        ));
        let c = key_of(&format!(
            r#"{{{t},"eventID":"e1","recipientAccountId":"444455556666"}}"#
        ));
        let d = key_of(&format!(r#"{{{t},"eventID":"e1"}}"#));
        assert!(a.is_some());
        let later = r#""eventTime":"2024-01-01T00:00:01Z","eventID":"e1""#;
        let later = key_of(&format!(
            r#"{{{later},"recipientAccountId":"111122223333"}}"#
        ));
        assert_ne!(a, later, "a placeholder id reused at another time");
        assert_eq!(a, b, "the same event, whatever else the copy holds");
        assert_ne!(a, c, "another account's event");
        assert_ne!(a, d);
        assert_eq!(key_of(&format!(r#"{{{t}}}"#)), None);
        assert_eq!(key_of(&format!(r#"{{{t},"eventID":""}}"#)), None);
        assert_eq!(key_of(&format!(r#"{{{t},"eventID":7}}"#)), None);
    }

    #[test]
    fn seen_once() {
        let seen = Seen::default();
        assert!(seen.first(42));
        assert!(!seen.first(42));
        assert!(seen.first(u64::MAX));
        assert!(!seen.first(u64::MAX));
    }
}
