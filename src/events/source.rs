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
    #[error("larger than {limit} bytes once decompressed")]
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

/// SHA-256 of a file as it is on disk, for the evidence manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    pub bytes: u64,
    pub sha256: String,
}

impl Fingerprint {
    pub fn of(bytes: &[u8]) -> Fingerprint {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes);
        Fingerprint {
            bytes: bytes.len() as u64,
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// Reads a file whole, fingerprints it as stored, and decompresses gzip (detected by magic
/// bytes, whatever the name says). The fingerprint exists whenever the file could be read.
pub fn read_input(path: &Path) -> (Option<Fingerprint>, Result<Vec<u8>, FileError>) {
    let mut scratch = Vec::new();
    let (fingerprint, content) = read_input_with(path, &mut scratch, true);
    (fingerprint, content.map(Cow::into_owned))
}

/// [`read_input`], decompressing into `scratch` when the file is gzip: a caller reading many
/// files reuses one buffer instead of a fresh allocation (and fresh pages) per file. Without
/// `fingerprint`, no fingerprint is computed.
pub fn read_input_with<'s>(
    path: &Path,
    scratch: &'s mut Vec<u8>,
    fingerprint: bool,
) -> (Option<Fingerprint>, Result<Cow<'s, [u8]>, FileError>) {
    match read_bounded(path) {
        Ok(bytes) => (
            fingerprint.then(|| Fingerprint::of(&bytes)),
            decode(path, bytes, scratch),
        ),
        Err(e) => (None, Err(FileError::Io(e.to_string()))),
    }
}

/// The file's bytes, at most [`MAX_DECOMPRESSED`] of them: a larger file is an error, read no
/// further. Only regular files are read.
fn read_bounded(path: &Path) -> Result<Vec<u8>, FileError> {
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

fn decode<'s>(
    path: &Path,
    bytes: Vec<u8>,
    scratch: &'s mut Vec<u8>,
) -> Result<Cow<'s, [u8]>, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    let named_gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        if gunzip_fast(&bytes, scratch) {
            return Ok(Cow::Borrowed(scratch.as_slice()));
        }
        gunzip_stream(&bytes).map(Cow::Owned)
    } else if named_gz {
        Err(FileError::NotGzip)
    } else {
        Ok(Cow::Owned(bytes))
    }
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
fn gunzip_fast(bytes: &[u8], out: &mut Vec<u8>) -> bool {
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
    if gunzip_fast(bytes, &mut out) {
        return Ok(out);
    }
    gunzip_stream(bytes)
}

/// flate2's streaming inflate: any number of members, and a precise error for a damaged file.
fn gunzip_stream(bytes: &[u8]) -> Result<Vec<u8>, FileError> {
    // ISIZE (the last four bytes) is the uncompressed size mod 2^32: a good first capacity.
    let hint = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .and_then(|t| t.try_into().ok())
        .map(|t: [u8; 4]| u32::from_le_bytes(t) as usize)
        .unwrap_or(0)
        .min(bytes.len().saturating_mul(16))
        .min(64 << 20);
    let mut out = Vec::with_capacity(hint);
    let mut decoder = MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED + 1);
    match decoder.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > MAX_DECOMPRESSED => Err(FileError::TooLarge {
            limit: MAX_DECOMPRESSED,
        }),
        Ok(_) if out.is_empty() => Err(FileError::Empty),
        Ok(_) => Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(FileError::TruncatedGzip {
            decompressed: out.len() as u64,
        }),
        Err(e) => Err(FileError::CorruptGzip {
            decompressed: out.len() as u64,
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
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
}
