//! Each event once: a record whose `eventID` (with its `recipientAccountId`) was already loaded
//! is a copy of the same event (the same log file synced from two buckets, LookupEvents output
//! beside the trail's files, overlapping exports) and is counted as a duplicate, not loaded.
//! The `eventTime` is part of the key too: every copy of an event has its time, and test data
//! and hand-made records that reuse a placeholder id at other times stay distinct events.
//!
//! Memory: one 64-bit key per distinct event (about 6.4 bytes each in the set, 64 MB for 10
//! million events), never the ids themselves. Two different events whose keys collide
//! would be taken for one: with a 64-bit hash the chance among n events is about n^2 / 2^65
//! (3e-6 for 10 million, 3e-4 for 100 million), accepted rather than paying for the ids.

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

/// Bits of a key that pick its bucket; the other 48 are stored.
const BUCKET_BITS: u32 = 16;

/// The keys of the events loaded so far: an exact set of 64-bit keys in about 6.4 bytes a key
/// (a hash set of `u64` takes 10 to 21 bytes a key, and twice its table while it grows).
///
/// The keys are hashes, so their top 16 bits spread them evenly over 65,536 buckets, and a
/// bucket keeps the other 48 bits of each of its keys, sorted, in 6 bytes. Being uniform, a
/// key's place in its bucket is close to where its value puts it: the search starts there and
/// gallops, so a lookup touches a cache line or two, as in a hash table. A bucket grows by an
/// eighth at a time rather than doubling; an insert moves the keys after it (about 450 bytes
/// at 10 million keys, 4.5 KB at 100 million).
pub struct Seen {
    buckets: Vec<Vec<[u8; 6]>>,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            buckets: (0..1usize << BUCKET_BITS).map(|_| Vec::new()).collect(),
        }
    }
}

/// The 48 stored bits as a number; big-endian, so the bytes sort as the numbers do.
fn value(stored: &[u8; 6]) -> u64 {
    let [a, b, c, d, e, f] = *stored;
    u64::from_be_bytes([0, 0, a, b, c, d, e, f])
}

/// Where `v` is in the sorted `run` (`Ok`), or where it would go (`Err`).
fn search(run: &[[u8; 6]], v: u64) -> Result<usize, usize> {
    let n = run.len();
    if n == 0 {
        return Err(0);
    }
    // Below n, as v < 2^48.
    let guess = ((u128::from(v) * n as u128) >> 48) as usize;
    // Every key before `lo` is below v, and every key from `hi` on is at least v.
    let (mut lo, mut hi) = (0, n);
    let mut step = 1;
    if value(&run[guess]) < v {
        lo = guess + 1;
        while let Some(j) = guess.checked_add(step).filter(|&j| j < n) {
            if value(&run[j]) >= v {
                hi = j + 1;
                break;
            }
            lo = j + 1;
            step *= 2;
        }
    } else {
        hi = guess + 1;
        while let Some(j) = guess.checked_sub(step) {
            if value(&run[j]) < v {
                lo = j + 1;
                break;
            }
            hi = j + 1;
            step *= 2;
        }
    }
    run[lo..hi]
        .binary_search_by_key(&v, value)
        .map(|i| i + lo)
        .map_err(|i| i + lo)
}

impl Seen {
    /// Whether the event of `key` is seen here for the first time (and from now on, seen).
    pub fn first(&mut self, key: u64) -> bool {
        let bucket = &mut self.buckets[(key >> (64 - BUCKET_BITS)) as usize];
        let v = key & ((1 << (64 - BUCKET_BITS)) - 1);
        let Err(at) = search(bucket, v) else {
            return false;
        };
        if bucket.len() == bucket.capacity() {
            bucket.reserve_exact((bucket.len() / 8).max(4));
        }
        let stored: [u8; 6] = v.to_be_bytes()[2..].try_into().expect("6 bytes");
        bucket.insert(at, stored);
        true
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
        let mut seen = Seen::default();
        assert!(seen.first(42));
        assert!(!seen.first(42));
        assert!(seen.first(u64::MAX));
        assert!(!seen.first(u64::MAX));
    }

    /// The same answers as a hash set, over keys spread like hashes, keys crowded at the low
    /// end of one bucket (far from where their values would put them), and repeats of both.
    #[test]
    fn the_same_answers_as_a_hash_set() {
        let mut seen = Seen::default();
        let mut set = std::collections::HashSet::new();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut keys = Vec::new();
        for i in 0..200_000u64 {
            let k = next();
            // Every fourth key in bucket 7, with only its low bits varying; every eighth at
            // its top.
            let k = match i % 8 {
                0 => (7 << 48) | (k & 0xffff),
                4 => (8 << 48) - 1 - (k & 0xffff),
                _ => k,
            };
            keys.push(k);
        }
        for round in 0..2 {
            for (i, &k) in keys.iter().enumerate() {
                let k = if round == 1 && i % 3 == 0 { !k } else { k };
                assert_eq!(seen.first(k), set.insert(k), "key {k:#x}");
            }
        }
        assert_eq!(seen.first(0), set.insert(0));
        assert!(!seen.first(0));
    }
}
