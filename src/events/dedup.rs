//! Each event once: a record whose `eventID` (with its `recipientAccountId`) was already loaded
//! is a copy of the same event (the same log file synced from two buckets, LookupEvents output
//! beside the trail's files, overlapping exports) and is counted as a duplicate, not loaded.
//! The `eventTime` is part of the key too: every copy of an event has its time, and test data
//! and hand-made records that reuse a placeholder id at other times stay distinct events.
//!
//! Keys are 64-bit hashes, never the ids themselves. Two different events whose keys collide
//! would be taken for one: with a 64-bit hash the chance among n events of one account, region
//! and day is about n^2 / 2^65 (3e-6 for 10 million), accepted rather than paying for the ids.
//!
//! Memory does not grow with the history: see [`Seen`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};

use super::record::{Row, Value};
use super::schema;

/// The fields a record is recognised by: they are read whatever the load keeps.
pub const FIELDS: [&str; 4] = ["eventID", "recipientAccountId", "eventTime", "awsRegion"];

/// A record's key: the hash of its `eventID`, `recipientAccountId` and `eventTime`, and the
/// part of the history it belongs to, every copy of an event alike: its account, region and
/// day (UTC), hashed. A trail's files are laid out by account, region and day, so a history
/// read in order visits each part once, in a run of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub part: u64,
    pub hash: u64,
}

/// A record's [`Key`]. `None` for a record without an `eventID` (a string, not empty): such
/// records are never taken for copies of each other.
pub fn key(row: &Row) -> Option<Key> {
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
    let region = text(FIELDS[3]).unwrap_or("");
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    h.update(id.as_bytes());
    // Not UTF-8: no id and account can run into each other.
    h.update(&[0xff]);
    h.update(account.as_bytes());
    h.update(&time.to_le_bytes());
    let hash = h.digest();
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    h.update(account.as_bytes());
    h.update(&[0xff]);
    h.update(region.as_bytes());
    h.update(&time.div_euclid(86_400_000).to_le_bytes());
    Some(Key {
        part: h.digest(),
        hash,
    })
}

/// Bytes of keys [`Seen`] holds in memory before it writes the least recently used parts to a
/// temporary file: about a million events' keys.
pub const BUDGET: usize = 8 << 20;

/// Keys a part gathers unsorted before they are merged into its sorted run (at least).
const MERGE_MIN: usize = 1024;

/// The keys of the events loaded so far: an exact set, in memory bounded by [`BUDGET`] (plus
/// the part in use), whatever the length of the history.
///
/// Keys are grouped by part ([`Key::part`]: account, region and day). A part in memory is a
/// sorted run of keys (8 bytes each) and a small hash set of the keys since its last merge.
/// When the parts in memory hold more than the budget, the least recently used are written to
/// an unnamed temporary file (in the system's temporary directory, `TMPDIR`; removed by the
/// system when the program ends, however it ends) and read back only when a record of theirs
/// comes again: in a trail's layout, never, unless a second copy of the files follows. What
/// stays in memory of a written part is where it is in the file (about 40 bytes a part), which
/// is what the inventory keeps anyway (a count per account, region and day).
///
/// Should the history's order make parts come and go so often that reading and writing them
/// costs more than [`THRASH`] times their keys, the budget doubles: time stays linear, memory
/// grows instead. Should the temporary file not be writable, keys stay in memory.
pub struct Seen {
    resident: HashMap<u64, Part>,
    /// Parts written out: where their keys are in the file (offset, count).
    written: HashMap<u64, (u64, usize)>,
    /// Resident parts by last use.
    lru: BTreeSet<(u64, u64)>,
    tick: u64,
    /// The part of the last key looked up (the newest in `lru`).
    current: Option<u64>,
    /// Bytes of keys held in memory.
    held: usize,
    budget: usize,
    spill: Spill,
    /// Distinct keys.
    keys: u64,
    /// Bytes written to and read from the spill file.
    io: u64,
    /// The spill file could not be read back: copies in the parts lost may have loaded twice.
    lost: Option<String>,
}

/// Reading and writing parts may cost this many times the bytes of all keys before the budget
/// doubles.
pub const THRASH: u64 = 8;

enum Spill {
    /// Not needed yet.
    None,
    File {
        file: std::fs::File,
        end: u64,
    },
    /// Could not be created or written: keys stay in memory.
    Off,
}

#[derive(Default)]
struct Part {
    sorted: Vec<u64>,
    recent: HashSet<u64, foldhash::fast::RandomState>,
    used: u64,
    /// Where `sorted` is in the spill file, when it was written and has not changed since.
    disk: Option<(u64, usize)>,
}

impl Part {
    fn bytes(&self) -> usize {
        self.sorted.capacity() * 8 + self.recent.capacity() * 9
    }

    fn contains(&self, hash: u64) -> bool {
        self.recent.contains(&hash) || search(&self.sorted, hash).is_ok()
    }

    /// Merges the recent keys into the sorted run.
    fn merge(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        let mut recent: Vec<u64> = self.recent.drain().collect();
        recent.sort_unstable();
        let mut merged = Vec::with_capacity(self.sorted.len() + recent.len());
        let (mut a, mut b) = (self.sorted.iter().peekable(), recent.iter().peekable());
        while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
            if x < y {
                merged.push(x);
                a.next();
            } else {
                merged.push(y);
                b.next();
            }
        }
        merged.extend(a);
        merged.extend(b);
        self.sorted = merged;
        self.recent = HashSet::default();
    }
}

impl Default for Seen {
    fn default() -> Self {
        Seen::with_budget(BUDGET)
    }
}

/// Where `v` is in the sorted `run` (`Ok`), or where it would go (`Err`). Keys are hashes, so
/// the search starts where `v`'s value puts it and gallops from there: a cache line or two in
/// the usual case, a binary search's steps at worst.
fn search(run: &[u64], v: u64) -> Result<usize, usize> {
    let n = run.len();
    if n == 0 {
        return Err(0);
    }
    // Below n.
    let guess = ((u128::from(v) * n as u128) >> 64) as usize;
    // Every key before `lo` is below v, and every key from `hi` on is at least v.
    let (mut lo, mut hi) = (0, n);
    let mut step = 1;
    if run[guess] < v {
        lo = guess + 1;
        while let Some(j) = guess.checked_add(step).filter(|&j| j < n) {
            if run[j] >= v {
                hi = j + 1;
                break;
            }
            lo = j + 1;
            step *= 2;
        }
    } else {
        hi = guess + 1;
        while let Some(j) = guess.checked_sub(step) {
            if run[j] < v {
                lo = j + 1;
                break;
            }
            hi = j + 1;
            step *= 2;
        }
    }
    run[lo..hi]
        .binary_search(&v)
        .map(|i| i + lo)
        .map_err(|i| i + lo)
}

impl Seen {
    /// A set that holds about `budget` bytes of keys in memory.
    pub fn with_budget(budget: usize) -> Seen {
        Seen {
            resident: HashMap::new(),
            written: HashMap::new(),
            lru: BTreeSet::new(),
            tick: 0,
            current: None,
            held: 0,
            budget,
            spill: Spill::None,
            keys: 0,
            io: 0,
            lost: None,
        }
    }

    /// Whether the event of `key` is seen here for the first time (and from now on, seen).
    pub fn first(&mut self, key: Key) -> bool {
        if self.current != Some(key.part) {
            self.enter(key.part);
        }
        let part = self.resident.get_mut(&key.part).expect("entered");
        if part.contains(key.hash) {
            return false;
        }
        let before = part.bytes();
        part.recent.insert(key.hash);
        part.disk = None;
        if part.recent.len() > MERGE_MIN.max(part.sorted.len() / 4) {
            part.merge();
        }
        self.held = self.held - before + part.bytes();
        self.keys += 1;
        if self.held > self.budget {
            self.evict();
        }
        true
    }

    /// Why copies may have loaded twice: the keys written out could not be read back.
    pub fn lost(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    /// Bytes of keys in memory.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Makes `part` the current part, in memory.
    fn enter(&mut self, part: u64) {
        self.tick += 1;
        let tick = self.tick;
        self.current = Some(part);
        if let Some(p) = self.resident.get_mut(&part) {
            self.lru.remove(&(p.used, part));
            p.used = tick;
            self.lru.insert((tick, part));
            return;
        }
        let mut p = Part {
            used: tick,
            ..Part::default()
        };
        if let Some((offset, count)) = self.written.remove(&part) {
            match self.read(offset, count) {
                Ok(sorted) => {
                    p.sorted = sorted;
                    p.disk = Some((offset, count));
                }
                Err(e) => {
                    self.lost.get_or_insert_with(|| {
                        format!("the keys of events already loaded could not be read back from their temporary file: {e}")
                    });
                }
            }
        }
        self.held += p.bytes();
        self.resident.insert(part, p);
        self.lru.insert((tick, part));
        if self.held > self.budget {
            self.evict();
        }
    }

    /// Writes out the least recently used parts (never the current one) until the rest fit the
    /// budget.
    fn evict(&mut self) {
        if self.io > THRASH * 8 * self.keys + (self.budget as u64) {
            self.budget = self.budget.saturating_mul(2);
        }
        while self.held > self.budget {
            let Some(&(used, part)) = self.lru.first() else {
                return;
            };
            if Some(part) == self.current {
                return;
            }
            let mut p = self.resident.remove(&part).expect("resident");
            self.held -= p.bytes();
            p.merge();
            let at = match p.disk {
                Some(at) => Ok(at),
                None => self.write(&p.sorted),
            };
            match at {
                Ok(at) => {
                    self.lru.remove(&(used, part));
                    self.written.insert(part, at);
                }
                Err(()) => {
                    // Not writable: keys stay in memory from now on.
                    self.budget = usize::MAX;
                    self.held += p.bytes();
                    self.resident.insert(part, p);
                    return;
                }
            }
        }
    }

    fn write(&mut self, sorted: &[u64]) -> Result<(u64, usize), ()> {
        if matches!(self.spill, Spill::None) {
            self.spill = match tempfile::tempfile() {
                Ok(file) => Spill::File { file, end: 0 },
                Err(_) => Spill::Off,
            };
        }
        let Spill::File { file, end } = &mut self.spill else {
            return Err(());
        };
        let bytes: Vec<u8> = sorted.iter().flat_map(|k| k.to_le_bytes()).collect();
        let written = file
            .seek(SeekFrom::Start(*end))
            .and_then(|_| file.write_all(&bytes));
        if written.is_err() {
            self.spill = Spill::Off;
            return Err(());
        }
        let at = (*end, sorted.len());
        *end += bytes.len() as u64;
        self.io += bytes.len() as u64;
        Ok(at)
    }

    fn read(&mut self, offset: u64, count: usize) -> std::io::Result<Vec<u64>> {
        let Spill::File { file, .. } = &mut self.spill else {
            return Err(std::io::Error::other("no spill file"));
        };
        let mut bytes = vec![0u8; count * 8];
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut bytes)?;
        self.io += bytes.len() as u64;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::record::{parse_record, Keep};

    fn key_of(json: &str) -> Option<Key> {
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

    fn k(part: u64, hash: u64) -> Key {
        Key { part, hash }
    }

    #[test]
    fn seen_once() {
        let mut seen = Seen::default();
        assert!(seen.first(k(1, 42)));
        assert!(!seen.first(k(1, 42)));
        assert!(seen.first(k(2, 42)), "another part");
        assert!(seen.first(k(1, u64::MAX)));
        assert!(!seen.first(k(1, u64::MAX)));
    }

    /// Keys spread like hashes, keys crowded at the low end of the range (far from where
    /// their values would put them), and repeats of both.
    fn keys(n: u64) -> Vec<u64> {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match i % 8 {
                    0 => x & 0xffff,
                    4 => u64::MAX - (x & 0xffff),
                    _ => x,
                }
            })
            .collect()
    }

    /// The same answers as a hash set, with parts written out and read back: parts in runs (a
    /// trail's layout), then the same keys again (a second copy of the files), then parts
    /// changing at every key (the order that makes parts come and go most), under a budget a
    /// few parts fill. Memory stays near the budget while the order allows it.
    #[test]
    fn the_same_answers_as_a_hash_set() {
        let budget = 64 << 10;
        let mut seen = Seen::with_budget(budget);
        let mut set = std::collections::HashSet::new();
        let keys = keys(200_000);
        let mut check = |seen: &mut Seen, part: u64, key: u64| {
            assert_eq!(
                seen.first(k(part, key)),
                set.insert((part, key)),
                "part {part}, key {key:#x}"
            );
        };
        for round in 0..2 {
            for (i, &key) in keys.iter().enumerate() {
                let key = if round == 1 && i % 3 == 0 { !key } else { key };
                check(&mut seen, i as u64 / 2000, key);
                assert!(seen.held() < 2 * budget, "{} bytes held", seen.held());
            }
        }
        assert!(!seen.written.is_empty(), "parts were written out");
        for (i, &key) in keys.iter().enumerate().step_by(7) {
            check(&mut seen, i as u64 % 97, key);
        }
        assert!(seen.lost().is_none());
    }

    /// Without a writable temporary file, keys stay in memory and the answers stay exact.
    #[test]
    fn keys_stay_in_memory_when_they_cannot_be_written() {
        let mut seen = Seen::with_budget(1024);
        seen.spill = Spill::Off;
        let keys = keys(20_000);
        let mut set = std::collections::HashSet::new();
        for round in 0..2 {
            for (i, &key) in keys.iter().enumerate() {
                let part = i as u64 / 500;
                assert_eq!(seen.first(k(part, key)), set.insert((part, key)), "{round}");
            }
        }
        assert!(seen.written.is_empty());
        assert!(seen.held() > 20_000 * 8);
        assert!(seen.lost().is_none());
    }

    /// Keys written out that do not read back are reported, never silently forgotten.
    #[test]
    fn keys_that_do_not_read_back_are_reported() {
        let mut seen = Seen::with_budget(1024);
        let keys = keys(4_000);
        for (i, &key) in keys.iter().enumerate() {
            seen.first(k(i as u64 / 500, key));
        }
        assert!(!seen.written.is_empty());
        // The file now reads nothing back.
        seen.spill = Spill::File {
            file: tempfile::tempfile().unwrap(),
            end: 0,
        };
        seen.first(k(0, keys[0]));
        let lost = seen.lost().expect("reported");
        assert!(lost.contains("could not be read back"), "{lost}");
    }
}
