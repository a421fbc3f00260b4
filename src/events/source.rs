//! Input files: discovery over files and directories, reading with gzip detected by its magic
//! bytes, and what the S3 key layout says about a file.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::Serialize;

/// Why a file could not be read as event history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("empty file")]
    Empty,
    #[error("named .gz but not gzip (no gzip magic bytes)")]
    NotGzip,
    #[error("truncated gzip stream: ended after {decompressed} decompressed bytes")]
    TruncatedGzip { decompressed: u64 },
    #[error("corrupt gzip stream after {decompressed} decompressed bytes: {message}")]
    CorruptGzip { decompressed: u64, message: String },
    #[error("larger than the per-file limit of {limit} bytes (as stored or decompressed)")]
    TooLarge { limit: u64 },
    #[error("not UTF-8 text: invalid byte at offset {offset}")]
    NotUtf8 { offset: usize },
    #[error("invalid JSON at byte {offset} (line {line}, column {column}): {message}")]
    InvalidJson {
        offset: usize,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not a CloudTrail shape: {0}")]
    NotCloudTrail(String),
    #[error("not UTF-16 text: unpaired surrogate at byte {offset}")]
    NotUtf16 { offset: usize },
    #[error("archive: {0}")]
    Archive(String),
    #[error("an archive inside an archive: unpack the outer archive and give its directory")]
    NestedArchive,
    #[error("past the {limit} bytes that one archive's members may unpack to: unpack the archive and give its directory")]
    ArchiveTooLarge { limit: u64 },
}

/// What the S3 key layout (`AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/...`, or the
/// file name `<account>_CloudTrail_<region>_<stamp>_<id>.json.gz`) says about a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub organization: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The key sits under `CloudTrail-Digest/`.
    pub digest: bool,
}

/// The columns [`record_account`] reads.
pub const ACCOUNT_COLUMNS: [&str; 2] = ["recipientAccountId", "userIdentity.accountId"];

/// The account a record belongs to, whatever its CloudTrail version: `recipientAccountId`, else
/// the account whose trail delivered it (its S3 key), else the caller's account
/// (`userIdentity.accountId`). Records before eventVersion 1.02 have no `recipientAccountId`;
/// without this one rule a principal's old and new records would count as two accounts.
pub fn record_account<'a>(
    recipient: Option<&'a str>,
    key: Option<&'a KeyInfo>,
    caller: Option<&'a str>,
) -> Option<&'a str> {
    let known = |a: &&str| !a.is_empty();
    recipient
        .filter(known)
        .or_else(|| key.and_then(|k| k.account.as_deref()).filter(known))
        .or_else(|| caller.filter(known))
}

impl KeyInfo {
    pub fn from_path(path: &Path) -> KeyInfo {
        let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
        let mut info = KeyInfo::default();
        if let Some(i) = parts.iter().rposition(|p| *p == "AWSLogs") {
            let mut rest = &parts[i + 1..];
            if let Some(org) = rest.first().filter(|p| p.starts_with("o-")) {
                info.organization = Some(org.to_string());
                rest = &rest[1..];
            }
            if let [account, kind, region, ..] = rest {
                if is_account(account) && (*kind == "CloudTrail" || *kind == "CloudTrail-Digest") {
                    info.account = Some(account.to_string());
                    info.region = Some(region.to_string());
                    info.digest = *kind == "CloudTrail-Digest";
                }
            }
        }
        if info.account.is_none() {
            let name = parts.last().copied().unwrap_or_default();
            let mut it = name.split('_');
            if let (Some(account), Some(kind), Some(region)) = (it.next(), it.next(), it.next()) {
                if is_account(account) && (kind == "CloudTrail" || kind == "CloudTrail-Digest") {
                    info.account = Some(account.to_string());
                    info.region = Some(region.to_string());
                    info.digest = kind == "CloudTrail-Digest";
                }
            }
        }
        info
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A file found under the inputs, or an input that could not be walked.
#[derive(Debug)]
pub enum Found {
    File(PathBuf),
    /// Recognised and deliberately not read, with the reason.
    Skipped(PathBuf, String),
    Failed(PathBuf, FileError),
}

/// Every regular file under `inputs` (recursively), in a stable order: inputs in the order given,
/// files sorted by path within each. Hidden entries (`.name`) inside directories are listed as
/// skipped; a file reached twice (by any path or link) is read once and listed as skipped the
/// second time.
pub fn discover(inputs: &[PathBuf]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for input in inputs {
        let walker = walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name();
        let mut it = walker.into_iter();
        while let Some(entry) = it.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(input).to_path_buf();
                    let msg = e
                        .io_error()
                        .map(|io| io.to_string())
                        .unwrap_or_else(|| e.to_string());
                    out.push(Found::Failed(path, FileError::Io(msg)));
                    continue;
                }
            };
            let hidden = entry.depth() > 0
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with('.'));
            if entry.file_type().is_dir() {
                if hidden {
                    out.push(Found::Skipped(entry.into_path(), "hidden directory".into()));
                    it.skip_current_dir();
                }
                continue;
            }
            let kind = entry.file_type();
            // The same file reached twice (a second path, a symlink, a hard link) is the same
            // device and inode.
            let identity = entry.metadata().ok().map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            });
            let path = entry.into_path();
            if hidden {
                out.push(Found::Skipped(path, "hidden file".into()));
                continue;
            }
            // A FIFO would block the run and a device (a link to /dev/zero) never end.
            if !kind.is_file() {
                out.push(Found::Skipped(path, special_file(kind).into()));
                continue;
            }
            if identity.is_some_and(|id| !seen.insert(id)) {
                out.push(Found::Skipped(path, "same file as an earlier input".into()));
                continue;
            }
            out.push(Found::File(path));
        }
    }
    out
}

/// Marks each file whose stored bytes are those of an earlier file (in input order) as skipped,
/// `duplicate of PATH`, so that a log file reachable twice (a backup copy, the organization
/// trail's bucket and the account trail's bucket both synced) loads once. Returns the pairs
/// (copy, original) of indexes into `found`.
///
/// Cheapest sound test, in three steps, each only over the files the step before could not tell
/// apart: sizes (a directory's metadata); then the first and last 4 KiB of the files
/// of a size another file also has (a gzip file ends in its content's CRC-32 and length, so two
/// log files of one size almost never share both ends); then SHA-256 of the whole file
/// (streamed, nothing held), in parallel. So a history of distinct files, where many share a
/// size, is not read twice. Empty files and files beyond the per-file limit are left to fail
/// with their own reason.
pub fn skip_copies(found: &mut [Found]) -> Vec<(usize, usize)> {
    use rayon::prelude::*;
    let path = |i: usize| match &found[i] {
        Found::File(p) => p.clone(),
        _ => unreachable!("candidates are files"),
    };
    let sized: Vec<(usize, u64)> = found
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Found::File(p) => match fs::metadata(p) {
                Ok(m) if m.len() > 0 && m.len() <= MAX_DECOMPRESSED => Some((i, m.len())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let sampled: Vec<(usize, (u64, Option<u64>))> = shared(sized)
        .into_par_iter()
        .map(|(i, size)| (i, (size, sample_of_file(&path(i), size))))
        .collect();
    // A file whose ends could not be read (alone of its size in that) is left to fail when it
    // is loaded, with the reason.
    let mut candidates: Vec<usize> = shared(sampled).into_iter().map(|(i, _)| i).collect();
    candidates.sort_unstable();
    let hashed: Vec<(usize, Option<Digest>)> = candidates
        .par_iter()
        .map(|&i| (i, sha256_of_file(&path(i))))
        .collect();
    // Ascending indexes already.
    let copies = pair_copies(hashed);
    let skipped: Vec<(usize, Found)> = copies
        .iter()
        .map(|&(copy, original)| {
            let reason = duplicate_of(&path(original));
            (copy, Found::Skipped(path(copy), reason))
        })
        .collect();
    for (copy, skip) in skipped {
        found[copy] = skip;
    }
    copies
}

/// Of files hashed (indexes ascending, in input order; `None` when unreadable), each whose
/// hash an earlier one has, as the pairs (copy, original): the first of equal files in input
/// order is the one loaded.
pub(super) fn pair_copies(hashed: Vec<(usize, Option<Digest>)>) -> Vec<(usize, usize)> {
    let mut first: std::collections::HashMap<Digest, usize> = std::collections::HashMap::new();
    let mut copies = Vec::new();
    for (i, digest) in hashed {
        let Some(digest) = digest else { continue };
        match first.get(&digest) {
            Some(&original) => copies.push((i, original)),
            None => {
                first.insert(digest, i);
            }
        }
    }
    copies
}

/// Of `items`, those whose value another item also has.
fn shared<V: Eq + std::hash::Hash>(items: Vec<(usize, V)>) -> Vec<(usize, V)> {
    let mut count: std::collections::HashMap<&V, usize> = std::collections::HashMap::new();
    for (_, v) in &items {
        *count.entry(v).or_default() += 1;
    }
    let keep: Vec<bool> = items.iter().map(|(_, v)| count[v] > 1).collect();
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(item, keep)| keep.then_some(item))
        .collect()
}

/// Bytes read at each end of a file by [`skip_copies`]' middle step.
const SAMPLE: u64 = 4096;

/// A hash of the first and last [`SAMPLE`] bytes of a file of `size` bytes (the whole file when
/// it is smaller than both); `None` when they cannot be read.
fn sample_of_file(path: &Path, size: u64) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut file = fs::File::open(path).ok()?;
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    let mut buf = vec![0u8; SAMPLE.min(size) as usize];
    file.read_exact(&mut buf).ok()?;
    h.update(&buf);
    if size > SAMPLE {
        let tail = (size - SAMPLE).max(SAMPLE);
        buf.resize((size - tail) as usize, 0);
        file.seek(SeekFrom::Start(tail)).ok()?;
        file.read_exact(&mut buf).ok()?;
        h.update(&buf);
    }
    Some(h.digest())
}

/// Why a copy is skipped.
pub fn duplicate_of(original: &Path) -> String {
    format!("duplicate of {}", original.display())
}

/// A file's size and SHA-256.
pub(super) type Digest = (u64, [u8; 32]);

/// The fingerprint of a file of any size (an archive), read in blocks; `None` when it cannot
/// be read.
pub fn fingerprint_file(path: &Path) -> Option<Fingerprint> {
    use sha2::Digest;
    let mut file = fs::File::open(path).ok()?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut bytes = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                bytes += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(Fingerprint {
        bytes,
        sha256: Sha256(hasher.finalize().into()),
    })
}

/// Size and SHA-256 of a file's bytes, read in blocks; `None` when it cannot be read (the load
/// then says why).
pub(super) fn sha256_of_file(path: &Path) -> Option<Digest> {
    sha256_of(&mut fs::File::open(path).ok()?)
}

/// Size and SHA-256 of what `r` gives, read in blocks; `None` when it cannot be read or gives
/// more than the per-file limit.
pub(super) fn sha256_of(r: &mut dyn Read) -> Option<Digest> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
        if total > MAX_DECOMPRESSED {
            return None;
        }
    }
    Some((total, hasher.finalize().into()))
}

/// Why a file that is not a regular file is not read.
fn special_file(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "not a regular file: a FIFO"
    } else if kind.is_socket() {
        "not a regular file: a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "not a regular file: a device"
    } else {
        "not a regular file"
    }
}

/// Largest decompressed size accepted for one file (1 GiB): far above any CloudTrail delivery
/// (a log file is at most tens of MB), low enough that a gzip bomb is an error with its reason
/// instead of an out-of-memory kill, with two files loading at a time.
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Largest size the fast inflate allocates up front from what the gzip trailer claims; a
/// larger file is inflated by flate2, whose buffer grows with what the data really holds.
const FAST_INFLATE_MAX: usize = 256 << 20;

/// Content size (decompressed) from which a file is large: far above a CloudTrail delivery,
/// reached by record bombs and exports. One large file is held at a time, whatever the number
/// of loading threads, so memory stays bounded by one file at the per-file limit plus what the
/// other threads hold below this size.
pub const LARGE_FILE: usize = 64 << 20;

/// The turn to hold a large file, kept until its records are read.
pub type LargeFileTurn = std::sync::MutexGuard<'static, ()>;

pub(crate) fn large_file_turn(turn: &mut Option<LargeFileTurn>) {
    static LARGE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if turn.is_none() {
        // A holder that panicked left nothing to protect: the lock only serialises.
        *turn = Some(
            LARGE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }
}

/// SHA-256 of a file as it is on disk, for the evidence manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    pub bytes: u64,
    pub sha256: Sha256,
}

impl Fingerprint {
    pub fn of(bytes: &[u8]) -> Fingerprint {
        use sha2::Digest;
        Fingerprint {
            bytes: bytes.len() as u64,
            sha256: Sha256(sha2::Sha256::digest(bytes).into()),
        }
    }
}

/// A SHA-256 digest, written (and serialised) as 64 lowercase hex digits. Held as its 32 bytes:
/// a history of many files keeps one per file while it streams.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256(pub [u8; 32]);

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads a file whole, fingerprints it as stored, and decompresses gzip (detected by magic
/// bytes, whatever the name says). The fingerprint exists whenever the file could be read.
pub fn read_input(path: &Path) -> (Option<Fingerprint>, Result<Vec<u8>, FileError>) {
    let mut scratch = Vec::new();
    let mut turn = None;
    let (fingerprint, content, _) = read_input_with(path, &mut scratch, true, &mut turn);
    (fingerprint, content.map(Cow::into_owned))
}

/// [`read_input`], decompressing into `scratch` when the file is gzip: a caller reading many
/// files reuses one buffer instead of a fresh allocation (and fresh pages) per file. Without
/// `fingerprint`, no fingerprint is computed. A file of [`LARGE_FILE`] or more is read only
/// once `turn` holds the large-file turn, which the caller keeps until it let the content go.
/// The last value says whether the file is stored gzip-compressed ([`is_gzip`]).
pub fn read_input_with<'s>(
    path: &Path,
    scratch: &'s mut Vec<u8>,
    fingerprint: bool,
    turn: &mut Option<LargeFileTurn>,
) -> (Option<Fingerprint>, Result<Cow<'s, [u8]>, FileError>, bool) {
    match read_bounded(path, turn) {
        Ok(bytes) => {
            let gzip = is_gzip(&bytes);
            (
                fingerprint.then(|| Fingerprint::of(&bytes)),
                decode(path, bytes, scratch, turn),
                gzip,
            )
        }
        Err(e) => (None, Err(e), false),
    }
}

/// Whether stored bytes are gzip, as [`decode`] tells it: by the magic bytes.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The file's bytes, at most [`MAX_DECOMPRESSED`] of them: a larger file is an error, read no
/// further. Only regular files are read.
fn read_bounded(path: &Path, turn: &mut Option<LargeFileTurn>) -> Result<Vec<u8>, FileError> {
    let file = fs::File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    let meta = file.metadata().map_err(|e| FileError::Io(e.to_string()))?;
    if !meta.is_file() {
        return Err(FileError::Io(special_file(meta.file_type()).into()));
    }
    if meta.len() > MAX_DECOMPRESSED {
        return Err(FileError::TooLarge {
            limit: MAX_DECOMPRESSED,
        });
    }
    if meta.len() >= LARGE_FILE as u64 {
        large_file_turn(turn);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::Io(e.to_string()))?;
    if bytes.len() as u64 > MAX_DECOMPRESSED {
        return Err(FileError::TooLarge {
            limit: MAX_DECOMPRESSED,
        });
    }
    Ok(bytes)
}

/// A file's bytes as stored -> its content: gzip (by its magic bytes) is decompressed; a file
/// named `.gz` that is not gzip is an error.
pub(crate) fn decode<'s>(
    path: &Path,
    bytes: Vec<u8>,
    scratch: &'s mut Vec<u8>,
    turn: &mut Option<LargeFileTurn>,
) -> Result<Cow<'s, [u8]>, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    let named_gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    if is_gzip(&bytes) {
        if gunzip_fast(&bytes, scratch, turn) {
            return Ok(Cow::Borrowed(scratch.as_slice()));
        }
        gunzip_stream(&bytes, turn).map(Cow::Owned)
    } else if named_gz {
        Err(FileError::NotGzip)
    } else {
        Ok(Cow::Owned(bytes))
    }
}

/// UTF-16 text with a byte-order mark (Windows PowerShell 5's `Out-File` and `>`) as UTF-8;
/// `None` for any other content. Bounded like any content: UTF-8 of more than the per-file
/// limit is an error.
pub fn utf16_to_utf8(bytes: &[u8]) -> Option<Result<Vec<u8>, FileError>> {
    let little = match bytes.get(..2)? {
        [0xff, 0xfe] => true,
        [0xfe, 0xff] => false,
        _ => return None,
    };
    let body = &bytes[2..];
    let units = body.chunks(2).map(|c| match (c, little) {
        ([a, b], true) => u16::from_le_bytes([*a, *b]),
        ([a, b], false) => u16::from_be_bytes([*a, *b]),
        // An odd byte at the end: not a code unit, refused below as an unpaired surrogate.
        _ => 0xd800,
    });
    // Each code unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4).
    let mut out = Vec::with_capacity((body.len() / 2 * 3).min(MAX_DECOMPRESSED as usize));
    let mut buf = [0u8; 4];
    let mut at = 2;
    for c in char::decode_utf16(units) {
        let Ok(c) = c else {
            return Some(Err(FileError::NotUtf16 { offset: at }));
        };
        at += 2 * c.len_utf16();
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Some(Err(FileError::TooLarge {
                limit: MAX_DECOMPRESSED,
            }));
        }
    }
    Some(Ok(out))
}

/// A libdeflate decompressor, one per thread.
struct Libdeflate(*mut libdeflate_sys::libdeflate_decompressor);

impl Drop for Libdeflate {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by libdeflate_alloc_decompressor, freed once.
            unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0) }
        }
    }
}

/// libdeflate, for the common case of a file that is exactly one gzip member whose trailer
/// gives its size: much faster than a streaming inflate. `None` sends the file to flate2, which
/// handles multi-member files and says precisely what is wrong with a damaged one.
/// Decompresses into `out` (its old content is overwritten), and says whether it could.
fn gunzip_fast(bytes: &[u8], out: &mut Vec<u8>, turn: &mut Option<LargeFileTurn>) -> bool {
    thread_local! {
        // SAFETY: libdeflate_alloc_decompressor has no preconditions; null is checked below.
        static DECOMPRESSOR: Libdeflate = Libdeflate(unsafe { libdeflate_sys::libdeflate_alloc_decompressor() });
    }
    let Some(trailer) = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
    else {
        return false;
    };
    let size = u32::from_le_bytes(trailer) as usize;
    // ISIZE is the size mod 2^32; deflate cannot compress beyond 1032:1. The trailer is the
    // file's claim, not a fact: beyond FAST_INFLATE_MAX it is not taken on trust.
    if size == 0 || size > bytes.len().saturating_mul(1032) || size > FAST_INFLATE_MAX {
        return false;
    }
    if size >= LARGE_FILE {
        large_file_turn(turn);
    }
    // Only the growth is zeroed: libdeflate overwrites all `size` bytes when it succeeds.
    out.resize(size, 0);
    let (mut used_in, mut used_out) = (0usize, 0usize);
    let ok = DECOMPRESSOR.with(|d| {
        if d.0.is_null() {
            return false;
        }
        // SAFETY: the decompressor is this thread's own; the pointers and lengths describe
        // `bytes` and `out`, which outlive the call; the out-parameters are valid usizes.
        let r = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                d.0,
                bytes.as_ptr().cast(),
                bytes.len(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut used_in,
                &mut used_out,
            )
        };
        r == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS
    });
    // The whole input must be this one member: a second member goes to flate2.
    ok && used_in == bytes.len() && used_out == size
}

#[cfg(test)]
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, FileError> {
    let mut out = Vec::new();
    let mut turn = None;
    if gunzip_fast(bytes, &mut out, &mut turn) {
        return Ok(out);
    }
    gunzip_stream(bytes, &mut turn)
}

/// flate2's streaming inflate: any number of members, and a precise error for a damaged file.
///
/// Content of up to [`LARGE_FILE`] is inflated into a buffer of that size at most. Larger
/// content takes the large-file turn and is inflated twice: once to count (and check) it,
/// keeping nothing, then into a buffer of its exact size. A large file costs its content and
/// no more, where a growing buffer peaks at three times its last growth, and a file beyond
/// [`MAX_DECOMPRESSED`] or damaged is an error before anything is allocated for it.
fn gunzip_stream(bytes: &[u8], turn: &mut Option<LargeFileTurn>) -> Result<Vec<u8>, FileError> {
    // ISIZE (the last four bytes) is the uncompressed size mod 2^32: a good first capacity.
    let hint = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .and_then(|t| t.try_into().ok())
        .map(|t: [u8; 4]| u32::from_le_bytes(t) as usize)
        .unwrap_or(0)
        .min(bytes.len().saturating_mul(16))
        .min(LARGE_FILE);
    let mut out = Vec::with_capacity(hint);
    let read = MultiGzDecoder::new(bytes)
        .take(LARGE_FILE as u64 + 1)
        .read_to_end(&mut out);
    if read.is_ok() && out.len() > LARGE_FILE {
        drop(out);
        large_file_turn(turn);
        let mut counted = Counted(0);
        std::io::copy(
            &mut MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED + 1),
            &mut counted,
        )
        .map_err(|e| inflate_error(e, counted.0))?;
        let total = counted.0;
        if total > MAX_DECOMPRESSED {
            return Err(FileError::TooLarge {
                limit: MAX_DECOMPRESSED,
            });
        }
        out = Vec::with_capacity(total as usize);
        // The same bytes inflated a moment ago: an error now is the machine's, not the file's.
        MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| inflate_error(e, out.len() as u64))?;
        return Ok(out);
    }
    match read {
        Ok(_) if out.is_empty() => Err(FileError::Empty),
        Ok(_) => Ok(out),
        Err(e) => Err(inflate_error(e, out.len() as u64)),
    }
}

/// A writer that keeps nothing but the count of bytes written to it.
struct Counted(u64);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A failed inflate, after `decompressed` bytes came out.
fn inflate_error(e: std::io::Error, decompressed: u64) -> FileError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        FileError::TruncatedGzip { decompressed }
    } else {
        FileError::CorruptGzip {
            decompressed,
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_record_account_falls_back_to_the_key_then_the_caller() {
        let key = KeyInfo::from_path(Path::new(
            "AWSLogs/111122223333/CloudTrail/us-east-1/2014/07/16/f.json.gz",
        ));
        assert_eq!(
            record_account(Some("444455556666"), Some(&key), Some("777788889999")),
            Some("444455556666")
        );
        assert_eq!(
            record_account(None, Some(&key), Some("777788889999")),
            Some("111122223333")
        );
        assert_eq!(
            record_account(Some(""), None, Some("777788889999")),
            Some("777788889999")
        );
        assert_eq!(record_account(None, Some(&KeyInfo::default()), None), None);
    }

    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn key_layouts() {
        let p = Path::new("x/AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/02/f.json.gz");
        let k = KeyInfo::from_path(p);
        assert_eq!(k.account.as_deref(), Some("123456789012"));
        assert_eq!(k.region.as_deref(), Some("eu-west-1"));
        assert!(!k.digest);
        let p =
            Path::new("AWSLogs/o-abc123/210987654321/CloudTrail-Digest/us-east-1/2024/x.json.gz");
        let k = KeyInfo::from_path(p);
        assert_eq!(k.organization.as_deref(), Some("o-abc123"));
        assert_eq!(k.account.as_deref(), Some("210987654321"));
        assert!(k.digest);
        let p = Path::new("flat/111122223333_CloudTrail_us-east-2_20240731T1310Z_AbCd.json.gz");
        assert_eq!(KeyInfo::from_path(p).region.as_deref(), Some("us-east-2"));
        assert_eq!(
            KeyInfo::from_path(Path::new("a/b.json")),
            KeyInfo::default()
        );
    }

    #[test]
    fn gzip_errors() {
        let data = br#"{"Records":[]}"#.repeat(1000);
        let full = gz(&data);
        assert_eq!(gunzip(&full).unwrap(), data);
        match gunzip(&full[..full.len() / 2]) {
            Err(FileError::TruncatedGzip { .. }) => {}
            other => panic!("{other:?}"),
        }
        let mut bad = full.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff; // CRC
        assert!(matches!(gunzip(&bad), Err(FileError::CorruptGzip { .. })));
        assert!(gunzip(&[0x1f, 0x8b]).is_err());
        // Two members: all of it, not the first member alone.
        let mut two = gz(b"first member ");
        two.extend(gz(b"second member"));
        assert_eq!(gunzip(&two).unwrap(), b"first member second member");
        let same = [gz(b"abc"), gz(b"abc")].concat();
        assert_eq!(
            gunzip(&same).unwrap(),
            b"abcabc",
            "same size and CRC per member"
        );
    }

    #[test]
    fn large_content_is_inflated_into_a_buffer_of_its_exact_size() {
        // Two members (so not the fast path) whose content passes LARGE_FILE.
        let half = vec![b'x'; LARGE_FILE / 2 + 7];
        let two = [gz(&half), gz(&half)].concat();
        let mut turn = None;
        let out = gunzip_stream(&two, &mut turn).unwrap();
        assert_eq!(out.len(), 2 * half.len());
        assert_eq!(out.capacity(), out.len());
        assert!(turn.is_some(), "a large file takes the turn");
        // Damage in the second half is found by the counting pass, with how far it got.
        let mut bad = two.clone();
        let n = bad.len();
        bad.truncate(n - 9);
        match gunzip_stream(&bad, &mut None) {
            Err(FileError::TruncatedGzip { decompressed }) => {
                assert!(decompressed > LARGE_FILE as u64 / 2, "{decompressed}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// Only whole-file equality makes a copy: files of one size that share both ends but not
    /// their middle, or their middle but not an end, are not copies, at sizes below one sample,
    /// between one and two, and above.
    #[test]
    fn copies_are_whole_files_whatever_their_ends() {
        let dir = tempfile::tempdir().unwrap();
        let mut found = Vec::new();
        let mut file = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            found.push(Found::File(p));
        };
        for (n, size) in [100usize, 5000, 20_000].into_iter().enumerate() {
            let base: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut middle = base.clone();
            middle[size / 2] ^= 1;
            let mut end = base.clone();
            end[size - 1] ^= 1;
            file(&format!("{n}-a"), &base);
            file(&format!("{n}-middle"), &middle);
            file(&format!("{n}-end"), &end);
            file(&format!("{n}-copy"), &base);
        }
        let copies = skip_copies(&mut found);
        assert_eq!(copies, [(3, 0), (7, 4), (11, 8)]);
        for (i, f) in found.iter().enumerate() {
            assert_eq!(matches!(f, Found::Skipped(..)), i % 4 == 3, "{i}");
        }
    }

    #[test]
    fn a_fingerprint_is_written_as_sha256sum_writes_it() {
        let empty = Fingerprint::of(b"");
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(empty.sha256.to_string(), hex);
        assert_eq!(format!("{:?}", empty.sha256), hex);
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            serde_json::json!({"bytes": 0, "sha256": hex})
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(fingerprint_file(&path), Some(Fingerprint::of(b"abc")));
        assert_eq!(
            Fingerprint::of(b"abc").sha256.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
