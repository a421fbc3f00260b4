//! Event history: CloudTrail records from files of every shape a user has, into one polars
//! DataFrame (the [`EventFrame`]), with every input file and record accounted for.

pub mod archive;
mod commit;
pub mod dedup;
pub mod json;
pub mod record;
pub mod scan;
pub mod schema;
pub mod shape;
pub mod source;

pub mod frame;

#[cfg(test)]
mod fast_path_tests;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

pub use record::{Keep, Reject};
pub use shape::{Content, Format, Position};
pub use source::{record_account, FileError, Fingerprint, KeyInfo, Sha256};

use archive::Stored;
use frame::FrameBuilder;
use source::Found;

/// How many rejected records are kept per file with their position and reason; the count
/// beyond that is still exact.
pub const REJECTION_SAMPLES: usize = 20;

/// What became of one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Read as event history: `records` loaded (rejected records are counted apart).
    Loaded { format: Format, records: u64 },
    /// Recognised and deliberately not loaded.
    Skipped { reason: String },
    /// Could not be read; nothing from it is loaded.
    Failed {
        #[serde(serialize_with = "display")]
        error: FileError,
    },
}

fn display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A record slot that did not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRecord {
    /// Index of the record in its file, from 0.
    pub record: u64,
    /// Line, for NDJSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(serialize_with = "display")]
    pub reason: Reject,
}

/// The rejected records of one file: the exact count and the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rejections {
    pub total: u64,
    pub first: Vec<RejectedRecord>,
}

impl Rejections {
    fn add(&mut self, pos: Position, reason: Reject) {
        self.total += 1;
        if self.first.len() < REJECTION_SAMPLES {
            self.first.push(RejectedRecord {
                record: pos.index,
                line: pos.line,
                reason,
            });
        }
    }
}

/// One input file and its accounting.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub path: PathBuf,
    /// What the S3 key layout says about the file.
    pub key: KeyInfo,
    pub outcome: Outcome,
    pub rejections: Rejections,
    /// Records not loaded because the same event (`eventID` and account) was loaded already,
    /// from this file or another ([`dedup`]). Not partial evidence: the event is there.
    pub duplicates: u64,
    /// Size and SHA-256 as stored, when the file could be read (and the load asked for it).
    pub fingerprint: Option<source::Fingerprint>,
    /// Size and SHA-256 of the uncompressed content, when the load asked for it
    /// ([`LoadOptions::content_hashes`]) and the file could be decompressed.
    #[serde(skip)]
    pub content: Option<source::Fingerprint>,
    /// Stored gzip-compressed: a record's span ([`shape::Span`]) is in the decompressed content.
    #[serde(skip)]
    pub gzip: bool,
}

/// A load that could not tell copies of events apart: the keys of the events already loaded,
/// written to a temporary file to bound memory ([`dedup::Seen`]), could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("{0}; copies of an event may have been counted twice")]
pub struct KeysLost(pub String);

impl From<KeysLost> for PolarsError {
    fn from(e: KeysLost) -> Self {
        PolarsError::IO {
            error: std::sync::Arc::new(std::io::Error::other(e.to_string())),
            msg: None,
        }
    }
}

/// What became of every input file of a load, and how many records loaded: the accounting that
/// every output repeats. A row's `_file_id` indexes [`Accounting::files`].
#[derive(Debug, Clone, Default)]
pub struct Accounting {
    pub files: Vec<InputFile>,
    pub events: u64,
}

impl Accounting {
    pub fn failed(&self) -> impl Iterator<Item = (&InputFile, &FileError)> {
        self.files.iter().filter_map(|f| match &f.outcome {
            Outcome::Failed { error } => Some((f, error)),
            _ => None,
        })
    }

    pub fn rejected_records(&self) -> u64 {
        self.files.iter().map(|f| f.rejections.total).sum()
    }

    /// Records that were copies of an event already loaded ([`InputFile::duplicates`]).
    pub fn duplicate_records(&self) -> u64 {
        self.files.iter().map(|f| f.duplicates).sum()
    }

    /// Some input could not be fully read: a file failed or a record was rejected.
    pub fn is_partial(&self) -> bool {
        self.failed().next().is_some() || self.rejected_records() > 0
    }

    /// The files, as a stream's consumer saw them.
    pub fn sources(&self) -> Vec<Source> {
        self.files
            .iter()
            .map(|f| Source {
                path: f.path.clone(),
                key: f.key.clone(),
            })
            .collect()
    }
}

/// Every loaded record as a row of [`EventFrame::df`] (schema in [`schema`]), and every input
/// file with what became of it. A row's `_file_id` indexes the accounting's files.
pub struct EventFrame {
    pub df: DataFrame,
    pub accounting: Accounting,
}

impl EventFrame {
    pub fn events(&self) -> usize {
        self.df.height()
    }
}

/// A time window (`--from` / `--to`) in UTC milliseconds: `from` inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    pub fn contains(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.until.is_none_or(|u| t < u)
    }

    /// Whether the window restricts anything.
    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// The window as a filter on `eventTime`, if it restricts anything.
    pub fn to_expr(&self) -> Option<Expr> {
        let t = || col("eventTime").cast(DataType::Int64);
        let from = self.from.map(|f| t().gt_eq(lit(f)));
        let until = self.until.map(|u| t().lt(lit(u)));
        match (from, until) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Told how reading goes, from the loading threads: for a progress bar.
pub trait Progress: Sync {
    /// Before reading: how many files there are to read and their size as stored.
    fn start(&self, _files: u64, _bytes: u64) {}
    /// One file read: its size as stored and the records loaded from it.
    fn file_done(&self, _bytes: u64, _records: u64) {}
}

/// What a load keeps.
#[derive(Clone, Copy)]
pub struct LoadOptions<'a> {
    /// Of each record.
    pub keep: Keep,
    /// Each input file's size and SHA-256 as stored ([`InputFile::fingerprint`]), for the
    /// evidence manifest.
    pub fingerprints: bool,
    /// Files whose uncompressed content is hashed too ([`InputFile::content`]): the log files
    /// that digests list, checked without reading them a second time.
    pub content_hashes: Option<&'a std::collections::HashSet<&'a Path>>,
    /// Told of each file read.
    pub progress: Option<&'a dyn Progress>,
    /// With a projected [`Keep`]: the rows to read whole all the same (every column and
    /// `_rest`).
    pub rest_if: Option<record::RestIf<'a>>,
    /// Bytes of event keys held in memory to recognise copies, beyond which the least recently
    /// used are written to a temporary file ([`dedup::Seen`]).
    pub keys_in_memory: usize,
}

impl LoadOptions<'static> {
    /// Everything: whole records and fingerprints.
    pub const WHOLE: LoadOptions<'static> = LoadOptions {
        keep: Keep::Whole,
        fingerprints: true,
        content_hashes: None,
        progress: None,
        rest_if: None,
        keys_in_memory: dedup::BUDGET,
    };

    /// `keep` of each record, and nothing else.
    pub fn keeping(keep: Keep) -> LoadOptions<'static> {
        LoadOptions {
            keep,
            fingerprints: false,
            content_hashes: None,
            progress: None,
            rest_if: None,
            keys_in_memory: dedup::BUDGET,
        }
    }
}

/// Rows per chunk a stream hands its consumer by default. Measured in BENCHMARKS.md: larger
/// chunks are not faster, and each chunk in flight holds about 1.2 KB per row (whole records);
/// since the copies are decided in input order a chunk or two more wait for the files before
/// theirs, so 32,768 rows (the audit of 10M records peaks at 484 MiB, against 561 MiB with
/// 65,536).
pub const DEFAULT_CHUNK_ROWS: usize = 1 << 15;

/// An input file as a stream's consumer knows it before it is read: `_file_id` indexes these.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// What the S3 key layout says about the file.
    pub key: KeyInfo,
}

/// Reads every file under `inputs` (files and directories, recursively) in parallel, keeping
/// everything ([`LoadOptions::WHOLE`]), into one frame.
///
/// Never fails as a whole: each file's problem is recorded in its [`InputFile`] and the others
/// still load.
pub fn load(inputs: &[PathBuf]) -> EventFrame {
    load_with(inputs, LoadOptions::WHOLE)
}

/// [`load`], keeping what `options` say. Which files and records load, and the reasons for the
/// others, are the same whatever the options.
pub fn load_with(inputs: &[PathBuf], options: LoadOptions) -> EventFrame {
    let mut df: Option<DataFrame> = None;
    // The frame holds every record anyway: the keys stay in memory too, and cannot be lost.
    let options = LoadOptions {
        keys_in_memory: usize::MAX,
        ..options
    };
    let accounting = stream(inputs, options, usize::MAX, |_, part| {
        match df.as_mut() {
            None => df = Some(part),
            Some(acc) => {
                acc.vstack_mut_owned(part)
                    .expect("same schema by construction");
            }
        }
        Ok::<(), KeysLost>(())
    });
    let accounting = accounting.expect("keys held in memory are never lost");
    EventFrame {
        df: df.unwrap_or_else(|| FrameBuilder::new(options.keep).finish()),
        accounting,
    }
}

/// In which order a stream hands its chunks over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// As they are built: fastest. A consumer must not depend on the order.
    Any,
    /// Input order: files in the order [`load`] lists them, records in file order. A few files
    /// are read in parallel at a time, so memory holds those files' rows at most.
    Input,
}

/// Reads every file under `inputs` in parallel and hands the loaded rows to `consume` in frames
/// of at most `chunk_rows` rows (with the [`Source`] of each `_file_id`), on the calling thread,
/// while the next ones load: memory holds a few chunks, whatever the size of the history.
///
/// When `consume` fails, no further file is read and its first error is returned; otherwise
/// every file's accounting, as [`load`] gives it.
pub fn stream<E: From<KeysLost>>(
    inputs: &[PathBuf],
    options: LoadOptions,
    chunk_rows: usize,
    consume: impl FnMut(&[Source], DataFrame) -> Result<(), E>,
) -> Result<Accounting, E> {
    stream_in(Order::Any, inputs, options, chunk_rows, consume)
}

/// [`stream`], with the chunks in the given order.
pub fn stream_in<E: From<KeysLost>>(
    order: Order,
    inputs: &[PathBuf],
    options: LoadOptions,
    chunk_rows: usize,
    consume: impl FnMut(&[Source], DataFrame) -> Result<(), E>,
) -> Result<Accounting, E> {
    prepare(inputs).stream_in(order, options, chunk_rows, consume)
}

/// The files under some inputs, found and sorted out, nothing read yet: the first step of
/// [`stream`], apart so that a caller can do other work beside it ([`prepare`]).
pub struct Prepared {
    /// What became of each file; the paths are in `sources`.
    found: Vec<Found>,
    sources: Vec<Source>,
    units: Vec<Unit>,
    /// (copy, original): files whose bytes are an earlier file's.
    copies: Vec<(usize, usize)>,
}

/// Finds every file under `inputs` (in a stable order), tells copies of another file, and
/// lists the members of archives: everything [`stream`] does before it reads a record.
pub fn prepare(inputs: &[PathBuf]) -> Prepared {
    let mut found = source::discover(inputs);
    let copies = source::skip_copies(&mut found);
    let Expanded {
        mut found,
        keys,
        mut units,
        mut copies,
    } = expand_archives(found, copies);
    skip_member_copies(&mut found, &mut units, &mut copies);
    // The paths move to the sources: `found` keeps only what became of each file, so that a
    // history of many files holds each path once while it streams.
    let sources: Vec<Source> = found
        .iter_mut()
        .zip(keys)
        .map(|(f, key)| {
            let path = match f {
                Found::File(p) | Found::Skipped(p, _) | Found::Failed(p, _) => std::mem::take(p),
            };
            Source {
                key: key.unwrap_or_else(|| KeyInfo::from_path(&path)),
                path,
            }
        })
        .collect();
    Prepared {
        found,
        sources,
        units,
        copies,
    }
}

impl Prepared {
    /// [`stream_in`] of the prepared files.
    pub fn stream_in<E: From<KeysLost>>(
        self,
        order: Order,
        options: LoadOptions,
        chunk_rows: usize,
        mut consume: impl FnMut(&[Source], DataFrame) -> Result<(), E>,
    ) -> Result<Accounting, E> {
        let Prepared {
            found,
            sources,
            units,
            copies,
        } = self;
        // A copy wanted by a digest is checked through its original's content: the original is
        // hashed as it loads, and the copy gets its hash at the end.
        let mut wanted: Option<std::collections::HashSet<&Path>> = options.content_hashes.cloned();
        let copies: Vec<(usize, usize, bool)> = copies
            .into_iter()
            .map(|(copy, original)| {
                let hashed = wanted.as_mut().is_some_and(|set| {
                    let asked = set.contains(sources[copy].path.as_path());
                    if asked && matches!(found[original], Found::File(_)) {
                        set.insert(&sources[original].path);
                    }
                    asked
                });
                (copy, original, hashed)
            })
            .collect();
        let options = LoadOptions {
            content_hashes: wanted.as_ref(),
            ..options
        };
        let to_read = &units;
        if let Some(p) = options.progress {
            let bytes = to_read
                .iter()
                .filter_map(|u| std::fs::metadata(u.path(&sources)).ok())
                .map(|m| m.len())
                .sum();
            p.start(to_read.len() as u64, bytes);
        }

        let chunk_rows = chunk_rows.max(1);
        let stop = std::sync::atomic::AtomicBool::new(false);
        // Each loading thread may have this many pieces waiting for the files before them.
        let threads = rayon::current_num_threads().max(1);
        let pressure = commit::Backpressure::new(threads, 1);
        let in_order: Vec<u32> = to_read.iter().flat_map(Unit::file_ids).collect();
        let mut committer = commit::Committer::new(
            in_order,
            found.len(),
            Some(&pressure),
            options.keys_in_memory,
        );
        // A piece waits while the consumer works on another: loading runs ahead of it.
        let (tx, rx) = std::sync::mpsc::sync_channel::<commit::Piece>(1);
        let (reads, error) = std::thread::scope(|scope| {
            // Loading threads block while the consumer is busy: they get a pool of their own, so a
            // consumer that works in parallel itself (rayon's global pool, polars' pool) never
            // waits for a thread that waits for it.
            let producer = scope.spawn(|| {
                let read = || match order {
                    Order::Any => {
                        read_any_order(to_read, &sources, options, chunk_rows, &stop, &pressure, tx)
                    }
                    Order::Input => {
                        read_in_order(to_read, &sources, options, chunk_rows, &stop, tx)
                    }
                };
                match rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("trailaudit-load-{i}"))
                    .build()
                {
                    Ok(pool) => pool.install(read),
                    // No thread could be started: read on this one.
                    Err(_) => read(),
                }
            });
            let mut error = None;
            let mut hand_over = |frame: DataFrame| {
                if error.is_some() {
                    return;
                }
                if let Err(e) = consume(&sources, frame) {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    error = Some(e);
                }
            };
            for piece in rx {
                committer.receive(piece, &mut hand_over);
            }
            let reads = match producer.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let (duplicates, lost) = committer.finish(&mut hand_over);
            (
                reads
                    .into_iter()
                    .map(|(id, read)| (id, read.less(duplicates[id as usize])))
                    .collect::<Vec<_>>(),
                error.or(lost.map(|l| KeysLost(l).into())),
            )
        });
        if let Some(e) = error {
            return Err(e);
        }

        let mut read: Vec<Option<Read>> = vec![None; found.len()];
        let mut events = 0;
        for (id, result) in reads {
            if let Outcome::Loaded { records, .. } = &result.outcome {
                events += records;
            }
            read[id as usize] = Some(result);
        }
        let mut files: Vec<InputFile> = found
            .into_iter()
            .zip(read)
            .zip(sources)
            .map(|((found, read), source)| {
                let read = match (found, read) {
                    // An archive, listed as skipped, is read for its fingerprint and its failure.
                    (_, Some(r)) => r,
                    (Found::File(_), None) => {
                        Read::failed(FileError::Io("not read (internal error)".into()))
                    }
                    (Found::Skipped(_, reason), _) => Read::new(Outcome::Skipped { reason }),
                    (Found::Failed(_, error), _) => Read::failed(error),
                };
                InputFile {
                    key: source.key,
                    path: source.path,
                    outcome: read.outcome,
                    rejections: read.rejections,
                    duplicates: read.duplicates,
                    fingerprint: read.fingerprint,
                    content: read.content,
                    gzip: read.gzip,
                }
            })
            .collect();
        // A copy's bytes are its original's: the manifest and the digest check see them too.
        for (copy, original, hashed) in copies {
            files[copy].fingerprint = files[original].fingerprint.clone();
            if hashed {
                files[copy].content = files[original].content.clone();
            }
        }
        Ok(Accounting { files, events })
    }
}

/// What reading one file gave.
#[derive(Debug, Clone)]
struct Read {
    outcome: Outcome,
    rejections: Rejections,
    duplicates: u64,
    fingerprint: Option<Fingerprint>,
    content: Option<Fingerprint>,
    gzip: bool,
}

impl Read {
    fn new(outcome: Outcome) -> Read {
        Read {
            outcome,
            rejections: Rejections::default(),
            duplicates: 0,
            fingerprint: None,
            content: None,
            gzip: false,
        }
    }

    fn failed(error: FileError) -> Read {
        Read::new(Outcome::Failed { error })
    }

    /// The read, with `duplicates` of the records it parsed found to be copies of events
    /// loaded before them.
    fn less(mut self, duplicates: u64) -> Read {
        if let Outcome::Loaded { records, .. } = &mut self.outcome {
            *records -= duplicates.min(*records);
        }
        self.duplicates = duplicates;
        self
    }

    fn report(&self, progress: Option<&dyn Progress>, path: &Path) {
        let Some(p) = progress else { return };
        let bytes = match &self.fingerprint {
            Some(f) => f.bytes,
            None => std::fs::metadata(path).map_or(0, |m| m.len()),
        };
        let records = match &self.outcome {
            Outcome::Loaded { records, .. } => *records,
            _ => 0,
        };
        p.file_done(bytes, records);
    }
}

/// What [`stream_in`] reads: the inputs with each archive's members after it.
struct Expanded {
    found: Vec<Found>,
    /// A member's key layout, from its name in the archive.
    keys: Vec<Option<KeyInfo>>,
    units: Vec<Unit>,
    /// (copy, original) indexes into `found`.
    copies: Vec<(usize, usize)>,
}

/// Something read by one loading thread at a time: a file, or an archive whose members are
/// read in one pass over it.
enum Unit {
    /// A file: its path is its [`Source`]'s.
    File { id: u32 },
    /// Boxed: a history of many files holds a unit for each while it streams, and archives are
    /// few.
    Archive(Box<ArchiveUnit>),
}

struct ArchiveUnit {
    id: u32,
    path: PathBuf,
    kind: archive::Kind,
    /// The archive's own outcome: skipped (its members are what loads), or failed when its
    /// listing ended early.
    outcome: Outcome,
    members: Vec<UnitMember>,
}

#[derive(Clone)]
struct UnitMember {
    id: u32,
    /// Its index in the archive.
    index: usize,
    path: PathBuf,
    /// As the archive declares it.
    size: u64,
}

impl Unit {
    fn path<'a>(&'a self, sources: &'a [Source]) -> &'a Path {
        match self {
            Unit::File { id } => &sources[*id as usize].path,
            Unit::Archive(a) => &a.path,
        }
    }
}

/// Finds the archives among the files (by their content), lists their members after each, as
/// `ARCHIVE!member`, and makes the units to read.
fn expand_archives(found: Vec<Found>, copies: Vec<(usize, usize)>) -> Expanded {
    let listings: Vec<Option<(archive::Kind, archive::Listing)>> = found
        .par_iter()
        .map(|f| match f {
            Found::File(p) => archive::sniff(p).map(|k| (k, archive::list(p, k))),
            _ => None,
        })
        .collect();
    let mut out = Expanded {
        found: Vec::with_capacity(found.len()),
        keys: Vec::with_capacity(found.len()),
        units: Vec::new(),
        copies: Vec::new(),
    };
    let mut remap = Vec::with_capacity(found.len());
    for (f, listing) in found.into_iter().zip(listings) {
        remap.push(out.found.len());
        let id = out.found.len() as u32;
        match (f, listing) {
            (Found::File(path), Some((kind, listing))) => {
                let outer = KeyInfo::from_path(&path);
                let n = listing.members.len();
                let outcome = match listing.error {
                    Some(error) => Outcome::Failed { error },
                    None => Outcome::Skipped {
                        reason: format!(
                            "{} archive of {n} member{}, each listed as ARCHIVE!member",
                            kind.name(),
                            if n == 1 { "" } else { "s" }
                        ),
                    },
                };
                out.found.push(match &outcome {
                    Outcome::Failed { error } => Found::Failed(path.clone(), error.clone()),
                    Outcome::Skipped { reason } => Found::Skipped(path.clone(), reason.clone()),
                    Outcome::Loaded { .. } => unreachable!("an archive is never loaded itself"),
                });
                out.keys.push(None);
                let mut members = Vec::new();
                for m in listing.members {
                    let member = archive::member_path(&path, &m.name);
                    let key = KeyInfo::from_path(Path::new(&m.name));
                    out.keys.push(Some(if key.account.is_some() {
                        key
                    } else {
                        outer.clone()
                    }));
                    let member_id = out.found.len() as u32;
                    out.found.push(match m.state {
                        archive::State::Read => {
                            members.push(UnitMember {
                                id: member_id,
                                index: m.index,
                                path: member.clone(),
                                size: m.size,
                            });
                            Found::File(member)
                        }
                        archive::State::Skipped(reason) => Found::Skipped(member, reason),
                        archive::State::Failed(error) => Found::Failed(member, error),
                    });
                }
                out.units.push(Unit::Archive(Box::new(ArchiveUnit {
                    id,
                    path,
                    kind,
                    outcome,
                    members,
                })));
            }
            (Found::File(path), None) => {
                out.units.push(Unit::File { id });
                out.found.push(Found::File(path));
                out.keys.push(None);
            }
            (f, _) => {
                out.found.push(f);
                out.keys.push(None);
            }
        }
    }
    out.copies = copies
        .into_iter()
        .map(|(copy, original)| (remap[copy], remap[original]))
        .collect();
    out
}

/// Skips each archive member, or file beside an archive, whose stored bytes are those of an
/// earlier one in input order, as [`source::skip_copies`] skips copies among files: the first
/// loads, whatever the thread timing. Adds the (copy, original) indexes into `found` to
/// `copies`, where a file found a copy of another before now names the original that loads.
/// Without an archive among the inputs, nothing is done (files are `skip_copies`'s alone).
fn skip_member_copies(
    found: &mut [Found],
    units: &mut Vec<Unit>,
    copies: &mut Vec<(usize, usize)>,
) {
    if !units.iter().any(|u| matches!(u, Unit::Archive(_))) {
        return;
    }
    let mut files = Vec::new();
    for u in units.iter() {
        match u {
            Unit::File { id } => {
                let Found::File(path) = &found[*id as usize] else {
                    continue;
                };
                files.push((*id as usize, Stored::File(path.clone())));
            }
            Unit::Archive(a) => files.extend(a.members.iter().map(|m| {
                let at = archive::At {
                    archive: a.path.clone(),
                    kind: a.kind,
                    index: m.index,
                };
                (m.id as usize, Stored::Member(at, m.size))
            })),
        }
    }
    let found_now = archive::member_copies(files);
    let original_of: std::collections::HashMap<usize, usize> = found_now.iter().copied().collect();
    // A file that an earlier copy named may be a copy itself now (of a member before it).
    for (_, original) in copies.iter_mut() {
        if let Some(&o) = original_of.get(original) {
            *original = o;
        }
    }
    copies.extend(found_now);
    let path = |f: &Found| match f {
        Found::File(p) | Found::Skipped(p, _) | Found::Failed(p, _) => p.clone(),
    };
    for &(copy, original) in copies.iter() {
        let reason = source::duplicate_of(&path(&found[original]));
        found[copy] = Found::Skipped(path(&found[copy]), reason);
    }
    units.retain_mut(|u| match u {
        Unit::File { id, .. } => !original_of.contains_key(&(*id as usize)),
        Unit::Archive(a) => {
            a.members
                .retain(|m| !original_of.contains_key(&(m.id as usize)));
            true
        }
    });
}

/// A file's content as stored (its fingerprint, when asked for) and decompressed, handed to
/// [`read_unit`]'s reader.
type Bytes<'c> = Result<&'c [u8], FileError>;

/// Reads one file's content, given its id, path and fingerprint, and says what became of it.
type FileReader<'a> = dyn FnMut(u32, &Path, Option<Fingerprint>, Bytes) -> Read + 'a;

/// Reads each file of `unit`: its content goes to `each` (with its id, path and fingerprint),
/// which reads it and says what became of it; `between` is called after each file, with
/// whether the large-file turn is still held. Tells the progress, and lets an unusually large
/// decompression buffer go rather than pin it for the rest of the load.
fn read_unit(
    unit: &Unit,
    sources: &[Source],
    options: LoadOptions,
    scratch: &mut Vec<u8>,
    each: &mut FileReader,
    between: &mut dyn FnMut(bool),
) -> Vec<(u32, Read)> {
    let mut reads = Vec::new();
    match unit {
        Unit::File { id } => {
            let path = &sources[*id as usize].path;
            // A large file's turn is held until its buffer is let go.
            let mut turn = None;
            let (fingerprint, content, gzip) =
                source::read_input_with(path, scratch, options.fingerprints, &mut turn);
            let mut read = each(
                *id,
                path,
                fingerprint,
                content.as_deref().map_err(Clone::clone),
            );
            read.gzip = gzip;
            read.report(options.progress, path);
            reads.push((*id, read));
            drop(content);
            drop(turn);
            between(false);
        }
        Unit::Archive(a) => {
            let ArchiveUnit {
                id,
                path,
                kind,
                outcome,
                members,
            } = &**a;
            let mut archive_read = Read::new(outcome.clone());
            if options.fingerprints {
                archive_read.fingerprint = source::fingerprint_file(path);
            }
            let wanted: Vec<usize> = members.iter().map(|m| m.index).collect();
            let mut next = 0;
            let mut records = 0;
            let result = archive::read(path, *kind, &wanted, &mut |index, bytes, turn| {
                let Some(m) = members.get(next).filter(|m| m.index == index) else {
                    return;
                };
                next += 1;
                let fingerprint = match (&bytes, options.fingerprints) {
                    (Ok(b), true) => Some(Fingerprint::of(b)),
                    _ => None,
                };
                let gzip = bytes.as_deref().is_ok_and(source::is_gzip);
                let content = bytes.and_then(|b| source::decode(&m.path, b, scratch, turn));
                let content = match content {
                    // Nested archives are refused: one level of members is what the
                    // accounting names.
                    Ok(c) if archive::sniff_bytes(&c[..c.len().min(4096)]).is_some() => {
                        Err(FileError::NestedArchive)
                    }
                    other => other,
                };
                let mut read = each(
                    m.id,
                    &m.path,
                    fingerprint,
                    content.as_deref().map_err(Clone::clone),
                );
                read.gzip = gzip;
                if let Outcome::Loaded { records: r, .. } = &read.outcome {
                    records += r;
                }
                reads.push((m.id, read));
                between(turn.is_some());
            });
            // The members the archive's failure kept from being read.
            let error = result.err().unwrap_or_else(|| {
                FileError::Archive("member not found on reading (the archive changed?)".into())
            });
            for m in &members[next..] {
                reads.push((m.id, Read::failed(error.clone())));
            }
            if let (Some(p), Some(f)) = (options.progress, std::fs::metadata(path).ok()) {
                p.file_done(f.len(), records);
            }
            if !matches!(archive_read.outcome, Outcome::Failed { .. }) && next < members.len() {
                archive_read.outcome = Outcome::Failed { error };
            }
            reads.push((*id, archive_read));
        }
    }
    if scratch.capacity() > SCRATCH_KEEP {
        *scratch = Vec::new();
    }
    reads
}

/// Every file in parallel, each loading thread sending its rows as they fill a chunk. The
/// files are handed out in input order, so that the committer never waits long for the files
/// before a piece's.
fn read_any_order(
    units: &[Unit],
    sources: &[Source],
    options: LoadOptions,
    chunk_rows: usize,
    stop: &std::sync::atomic::AtomicBool,
    pressure: &commit::Backpressure,
    tx: std::sync::mpsc::SyncSender<commit::Piece>,
) -> Vec<(u32, Read)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = rayon::current_num_threads().max(1);
    let all = std::sync::Mutex::new(Vec::new());
    rayon::scope(|scope| {
        for thread in 0..threads {
            let (tx, next, all) = (tx.clone(), &next, &all);
            scope.spawn(move |_| {
                let mut sink = Sink::new(options.keep, chunk_rows, Some((tx, thread, pressure)));
                let mut reads = Vec::new();
                let mut scratch = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let sink = std::cell::RefCell::new(&mut sink);
                    let mut ended = Vec::new();
                    reads.extend(read_unit(
                        unit,
                        sources,
                        options,
                        &mut scratch,
                        &mut |id, path, fingerprint, content| {
                            let mut sink = sink.borrow_mut();
                            let read =
                                read_content(id, path, options, &mut sink, fingerprint, content);
                            sink.end(id);
                            ended.push(id);
                            read
                        },
                        // A thread holding the large-file turn does not wait: the file it
                        // waits for may want the turn. What it holds is bounded by one large
                        // file.
                        &mut |large| {
                            if !large {
                                sink.borrow_mut().pause(stop);
                            }
                        },
                    ));
                    // Files the unit could not read to the end have no rows after these.
                    let sink = sink.into_inner();
                    for id in unit.file_ids() {
                        if !ended.contains(&id) {
                            sink.end(id);
                        }
                    }
                }
                sink.flush();
                all.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .append(&mut reads);
            });
        }
    });
    drop(tx);
    all.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A file read, and its pieces: `None` when it had more rows than are held while waiting.
type ReadPieces = (u32, Read, Option<Vec<commit::Piece>>);

/// A few units at a time in parallel, their pieces sent in input order.
fn read_in_order(
    units: &[Unit],
    sources: &[Source],
    options: LoadOptions,
    chunk_rows: usize,
    stop: &std::sync::atomic::AtomicBool,
    tx: std::sync::mpsc::SyncSender<commit::Piece>,
) -> Vec<(u32, Read)> {
    let mut reads = Vec::with_capacity(units.len());
    for batch in units.chunks(rayon::current_num_threads().max(1)) {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let done: Vec<Vec<ReadPieces>> = batch
            .par_iter()
            .map_init(Vec::new, |scratch, unit| {
                let mut pieces = Vec::new();
                let reads = read_unit(
                    unit,
                    sources,
                    options,
                    scratch,
                    &mut |id, path, fingerprint, content| {
                        let mut sink = Sink::new(options.keep, chunk_rows, None);
                        sink.hold_at_most(KEPT_CHUNKS * chunk_rows);
                        let read = read_content(id, path, options, &mut sink, fingerprint, content);
                        pieces.push((id, sink.into_pieces(id)));
                        read
                    },
                    &mut |_| {},
                );
                // A file without content (the archive's own entry, a file that failed before
                // its content) has no pieces: only its end.
                let mut pieces = pieces.into_iter().peekable();
                reads
                    .into_iter()
                    .map(|(id, read)| {
                        let p = match pieces.peek() {
                            Some((pid, _)) if *pid == id => pieces.next().and_then(|(_, p)| p),
                            _ => Sink::new(options.keep, chunk_rows, None).into_pieces(id),
                        };
                        (id, read, p)
                    })
                    .collect()
            })
            .collect();
        for (unit, done) in batch.iter().zip(done) {
            for (id, read, pieces) in done {
                match pieces {
                    Some(pieces) => {
                        for piece in pieces {
                            // The consumer stopped (it failed): nothing more is wanted.
                            let _ = tx.send(piece);
                        }
                    }
                    None => {
                        // More rows than are held while waiting for the files before it (a
                        // record bomb): its turn has come, so it is read again, each chunk sent
                        // as it fills. Its progress was told by the first reading.
                        let again = LoadOptions {
                            progress: None,
                            ..options
                        };
                        let mut sink = Sink::new(options.keep, chunk_rows, None);
                        sink.send_to(tx.clone());
                        let one = unit.only(id);
                        drop(read_unit(
                            &one,
                            sources,
                            again,
                            &mut Vec::new(),
                            &mut |id, path, fp, content| {
                                read_content(id, path, again, &mut sink, fp, content)
                            },
                            &mut |_| {},
                        ));
                        sink.end(id);
                        sink.flush();
                    }
                }
                reads.push((id, read));
            }
        }
    }
    reads
}

impl Unit {
    /// The unit that reads file `id` of this one alone.
    fn only(&self, id: u32) -> Unit {
        match self {
            Unit::File { id } => Unit::File { id: *id },
            Unit::Archive(a) => Unit::Archive(Box::new(ArchiveUnit {
                id: a.id,
                path: a.path.clone(),
                kind: a.kind,
                outcome: a.outcome.clone(),
                members: a.members.iter().filter(|m| m.id == id).cloned().collect(),
            })),
        }
    }

    /// The files it reads that can have rows, in input order: the file, or the archive's
    /// members to read.
    fn file_ids(&self) -> Vec<u32> {
        match self {
            Unit::File { id, .. } => vec![*id],
            Unit::Archive(a) => a.members.iter().map(|m| m.id).collect(),
        }
    }
}

/// Where a [`Sink`] sends its pieces: the channel, the loading thread's number, and what it
/// waits on.
type Sending<'p> = (
    std::sync::mpsc::SyncSender<commit::Piece>,
    usize,
    &'p commit::Backpressure,
);

/// A loading thread's rows, cut into pieces of `chunk_rows`: each sent to the committer when
/// full, or kept to be sent in order.
struct Sink<'p> {
    builder: FrameBuilder,
    keys: Vec<Option<dedup::Key>>,
    segments: Vec<commit::Segment>,
    keep: Keep,
    chunk_rows: usize,
    tx: Option<std::sync::mpsc::SyncSender<commit::Piece>>,
    /// The loading thread's number and the backpressure it waits on.
    waits: Option<(usize, &'p commit::Backpressure)>,
    kept: Vec<commit::Piece>,
    /// Most rows kept (without `tx`); beyond, the rows are let go and the file read again.
    limit: usize,
    kept_rows: usize,
    overflowed: bool,
}

/// Chunks a loading thread holds for a file that waits for the files before it (input
/// order); a file with more rows is read again when its turn comes.
const KEPT_CHUNKS: usize = 4;

impl<'p> Sink<'p> {
    fn new(keep: Keep, chunk_rows: usize, sending: Option<Sending<'p>>) -> Sink<'p> {
        let (tx, waits) = match sending {
            Some((tx, thread, pressure)) => (Some(tx), Some((thread, pressure))),
            None => (None, None),
        };
        Sink {
            builder: FrameBuilder::new(keep),
            keys: Vec::new(),
            segments: Vec::new(),
            keep,
            chunk_rows,
            tx,
            waits,
            kept: Vec::new(),
            limit: usize::MAX,
            kept_rows: 0,
            overflowed: false,
        }
    }

    /// Sends each piece as it fills, without waiting.
    fn send_to(&mut self, tx: std::sync::mpsc::SyncSender<commit::Piece>) {
        self.tx = Some(tx);
    }

    /// Keeps at most `rows` rows; past them, [`Sink::into_pieces`] says `None`.
    fn hold_at_most(&mut self, rows: usize) {
        self.limit = rows;
    }

    fn push(
        &mut self,
        row: &record::Row,
        key: Option<dedup::Key>,
        file_id: u32,
        record_index: u64,
        span: Option<shape::Span>,
    ) {
        if self.overflowed {
            return;
        }
        if self.tx.is_none() {
            self.kept_rows += 1;
            if self.kept_rows > self.limit {
                self.overflowed = true;
                self.kept = Vec::new();
                self.builder = FrameBuilder::new(self.keep);
                self.keys = Vec::new();
                self.segments = Vec::new();
                return;
            }
        }
        commit::Piece::open(&mut self.segments, file_id, self.builder.len());
        self.builder.push(row, file_id, record_index, span);
        self.keys.push(key);
        if self.builder.len() >= self.chunk_rows {
            self.cut();
        }
    }

    /// File `file_id` has no more rows.
    fn end(&mut self, file_id: u32) {
        if !self.overflowed {
            commit::Piece::end(&mut self.segments, file_id, self.builder.len());
        }
    }

    fn cut(&mut self) {
        let frame = std::mem::replace(&mut self.builder, FrameBuilder::new(self.keep)).finish();
        let piece = commit::Piece {
            frame,
            keys: std::mem::take(&mut self.keys),
            segments: std::mem::take(&mut self.segments),
            sender: self.waits.map(|(thread, _)| thread),
        };
        match &self.tx {
            Some(tx) => {
                if let Some((thread, pressure)) = self.waits {
                    pressure.sent(thread);
                }
                // The consumer stopped (it failed): nothing more is wanted.
                drop(tx.send(piece));
            }
            None => self.kept.push(piece),
        }
    }

    /// Between files: with more pieces waiting than allowed, waits for them to be handed over;
    /// meanwhile sends the rows it holds once the committer waits for them.
    fn pause(&mut self, stop: &std::sync::atomic::AtomicBool) {
        let Some((thread, pressure)) = self.waits else {
            return;
        };
        while pressure.over(thread) && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            // Its files ascend: the first is the earliest it holds.
            if self
                .segments
                .first()
                .is_some_and(|s| s.file <= pressure.frontier())
            {
                self.cut();
            }
            pressure.wait(thread, stop);
        }
    }

    fn flush(mut self) {
        if !self.segments.is_empty() {
            self.cut();
        }
    }

    /// The kept pieces, the last one ending file `file_id`; `None` when there were more rows
    /// than the sink may hold.
    fn into_pieces(mut self, file_id: u32) -> Option<Vec<commit::Piece>> {
        if self.overflowed {
            return None;
        }
        self.end(file_id);
        self.cut();
        Some(self.kept)
    }
}

/// Largest decompression buffer a loading thread keeps between files.
const SCRATCH_KEEP: usize = source::LARGE_FILE;

/// Reads one file's content (`Err` when it could not be read) into `sink`.
fn read_content(
    id: u32,
    path: &Path,
    options: LoadOptions,
    sink: &mut Sink,
    fingerprint: Option<Fingerprint>,
    content: Bytes,
) -> Read {
    let mut read = Read {
        fingerprint,
        ..Read::failed(FileError::Empty)
    };
    let bytes = match content {
        Ok(b) => b,
        Err(error) => {
            read.outcome = Outcome::Failed { error };
            return read;
        }
    };
    if options.content_hashes.is_some_and(|set| set.contains(path)) {
        read.content = Some(Fingerprint::of(bytes));
    }
    // UTF-16 (with its byte-order mark) is read as the same text in UTF-8: offsets in that text
    // are not the file's, so its records have no span.
    let transcoded;
    let mut spans = true;
    let bytes = match source::utf16_to_utf8(bytes) {
        None => bytes,
        Some(Ok(utf8)) => {
            transcoded = utf8;
            spans = false;
            transcoded.as_slice()
        }
        Some(Err(error)) => {
            read.outcome = Outcome::Failed { error };
            return read;
        }
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let error = FileError::NotUtf8 {
                offset: e.valid_up_to(),
            };
            read.outcome = Outcome::Failed { error };
            return read;
        }
    };
    let rejections = &mut read.rejections;
    let mut loaded = 0u64;
    let keep = options.keep;
    // The fields a copy is recognised by are read whatever the frame keeps.
    let parse_keep = match keep {
        Keep::Whole => Keep::Whole,
        Keep::Columns(bits) => Keep::Columns(bits | Keep::fields(&dedup::FIELDS).columns()),
    };
    let content = shape::read_records(text, parse_keep, &mut |pos, item| match item
        .and_then(|i| i.parse_with(parse_keep, options.rest_if))
    {
        Ok(row) => {
            let span = pos.span.filter(|_| spans);
            sink.push(&row, dedup::key(&row), id, pos.index, span);
            loaded += 1;
        }
        Err(reason) => rejections.add(pos, reason),
    });
    read.outcome = match content {
        Ok(Content::Events(format)) => Outcome::Loaded {
            format,
            records: loaded,
        },
        Ok(Content::Skip(reason)) => Outcome::Skipped { reason },
        Err(error) => Outcome::Failed { error },
    };
    read
}
