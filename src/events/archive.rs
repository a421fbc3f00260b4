//! Archives of event history (`.zip`, `.tar`, `.tar.gz`), detected by their content and read
//! member by member, streamed from the archive without unpacking anything to disk. Each member
//! is accounted for as `ARCHIVE!member`, with the per-file limits applied to it and a limit on
//! what the whole archive may unpack to.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::source::{large_file_turn, FileError, LargeFileTurn, LARGE_FILE, MAX_DECOMPRESSED};

/// Most bytes the members of one archive may unpack to, all together (before a gzipped
/// member's own decompression, which the per-file limit bounds): memory holds one member at a
/// time whatever this is; it bounds the time a zip bomb of many members can take.
pub const ARCHIVE_MAX: u64 = 16 * MAX_DECOMPRESSED;

/// How deflate can expand at most: an archive whose members claim more than this many times
/// its size (plus a little for stored members) overlaps its members' data (a zip bomb).
const DEFLATE_MAX_RATIO: u64 = 1032;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    TarGz,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Tar => "tar",
            Kind::TarGz => "tar.gz",
        }
    }
}

/// The archive `head` (a file's first bytes, at least 512 of them when it has that many) begins,
/// if any: by the zip and ustar magic bytes, and for gzip by the magic of what it inflates to.
pub fn sniff_bytes(head: &[u8]) -> Option<Kind> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Kind::Zip);
    }
    if is_tar_header(head) {
        return Some(Kind::Tar);
    }
    let mut inner = [0u8; 512];
    match gzip_head(head, &mut inner) {
        Some(n) if is_tar_header(&inner[..n]) => Some(Kind::TarGz),
        _ => None,
    }
}

/// Inflates the start of the gzip stream `head` (a prefix of it is enough) into `out`; how many
/// bytes came out, `None` when `head` is not gzip. Every file is looked at this way before the
/// load, so it is kept to a raw inflate into a buffer on the stack.
fn gzip_head(head: &[u8], out: &mut [u8]) -> Option<usize> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if head.len() < 10 || head[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = head[3];
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = u16::from_le_bytes([*head.get(at)?, *head.get(at + 1)?]) as usize;
        at += 2 + len;
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            at += head.get(at..)?.iter().position(|b| *b == 0)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    // The first 512 bytes out reach back 512 bytes at most: the smallest window does.
    let mut inflate = flate2::Decompress::new_with_window_bits(false, 9);
    // A prefix of the stream inflates as far as it goes: an error at its end is expected.
    let _ = inflate.decompress(head.get(at..)?, out, flate2::FlushDecompress::None);
    Some(inflate.total_out() as usize)
}

fn is_tar_header(block: &[u8]) -> bool {
    block.get(257..262) == Some(b"ustar")
}

/// Bytes of a file read to tell whether it is an archive: enough gzip to inflate a tar header
/// (whose 512 bytes are mostly zeros, and compress to far less).
const SNIFF_BYTES: usize = 1024;

/// The archive kind of the file at `path`, from its first bytes; `None` for any other file and
/// for a file that cannot be read (its reading then says why).
pub fn sniff(path: &Path) -> Option<Kind> {
    let file = File::open(path).ok()?;
    let mut head = [0u8; SNIFF_BYTES];
    let mut n = 0;
    let mut file = file.take(SNIFF_BYTES as u64);
    while n < SNIFF_BYTES {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    sniff_bytes(&head[..n])
}

/// A member as the archive's listing gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its position among the archive's entries (directories included), from 0.
    pub index: usize,
    /// Its name in the archive, as `unzip -l` / `tar tf` show it.
    pub name: String,
    /// Its size unpacked, as the archive declares it.
    pub size: u64,
    pub state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// To read.
    Read,
    Skipped(String),
    Failed(FileError),
}

/// An archive's members, and the error that ended the listing early, if one did (members
/// listed before it are still read).
#[derive(Debug, Default)]
pub struct Listing {
    pub members: Vec<Member>,
    pub error: Option<FileError>,
}

/// `ARCHIVE!member`: how a member is named in the accounting.
pub fn member_path(archive: &Path, name: &str) -> PathBuf {
    PathBuf::from(format!("{}!{name}", archive.display()))
}

/// Why a member named `name` is not read, by its name alone; `None` to read it.
fn skip_by_name(name: &str) -> Option<String> {
    let parts = || name.split('/').filter(|p| !p.is_empty() && *p != ".");
    if parts().any(|p| p == "__MACOSX") {
        return Some("macOS metadata (__MACOSX)".into());
    }
    if parts().any(|p| p.starts_with('.') && p != "..") {
        return Some("hidden file".into());
    }
    None
}

/// Lists the members of the archive at `path`. Directories are left out; links and devices are
/// skipped; a member larger than the per-file limit, or beyond what the whole archive may
/// unpack to, fails with its reason.
pub fn list(path: &Path, kind: Kind) -> Listing {
    let mut listing = match kind {
        Kind::Zip => list_zip(path),
        Kind::Tar | Kind::TarGz => {
            let mut listing = Listing::default();
            let walked = walk_tar(path, kind, &mut |index, name, t, size, _| {
                if !t.is_dir() {
                    listing.members.push(Member {
                        index,
                        name: name.to_string(),
                        size,
                        state: tar_state(name, t, size),
                    });
                }
                Ok(true)
            });
            if let Err(e) = walked {
                listing.error = Some(e);
            }
            listing
        }
    };
    limit_total(&mut listing);
    listing
}

fn tar_state(name: &str, t: tar::EntryType, size: u64) -> State {
    if let Some(reason) = skip_by_name(name) {
        return State::Skipped(reason);
    }
    if t.is_symlink() || t.is_hard_link() {
        return State::Skipped("not a regular file: a link".into());
    }
    if t.is_character_special() || t.is_block_special() {
        return State::Skipped("not a regular file: a device".into());
    }
    if t.is_fifo() {
        return State::Skipped("not a regular file: a FIFO".into());
    }
    if !(t.is_file() || t.is_contiguous()) {
        return State::Skipped("not a regular file".into());
    }
    sized(size)
}

fn sized(size: u64) -> State {
    if size > MAX_DECOMPRESSED {
        State::Failed(FileError::TooLarge {
            limit: MAX_DECOMPRESSED,
        })
    } else {
        State::Read
    }
}

/// Fails the members to read past what the archive may unpack to, by their declared sizes
/// (the reading checks what they really unpack to).
fn limit_total(listing: &mut Listing) {
    let mut total = 0u64;
    for m in &mut listing.members {
        if m.state == State::Read {
            total = total.saturating_add(m.size);
            if total > ARCHIVE_MAX {
                m.state = State::Failed(FileError::ArchiveTooLarge { limit: ARCHIVE_MAX });
            }
        }
    }
}

fn list_zip(path: &Path) -> Listing {
    let mut listing = Listing::default();
    let mut zip = match open_zip(path) {
        Ok(z) => z,
        Err(e) => {
            listing.error = Some(e);
            return listing;
        }
    };
    let stored = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut claimed = 0u64;
    for index in 0..zip.len() {
        let member = match zip.by_index_raw(index) {
            Ok(m) => m,
            Err(e) => {
                listing.error = Some(zip_error(e));
                return listing;
            }
        };
        // Windows PowerShell 5's Compress-Archive writes `\` between a name's parts.
        let name = match member.name() {
            Ok(n) => n.replace('\\', "/"),
            Err(e) => {
                listing.error = Some(zip_error(e));
                return listing;
            }
        };
        if member.is_dir() {
            continue;
        }
        let size = member.size();
        let state = if let Some(reason) = skip_by_name(&name) {
            State::Skipped(reason)
        } else if member.is_symlink() {
            State::Skipped("not a regular file: a link".into())
        } else if member.encrypted() {
            State::Failed(FileError::Archive(
                "encrypted member: decrypt the archive first".into(),
            ))
        } else if !matches!(
            member.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            State::Failed(FileError::Archive(format!(
                "compression method {:?} not supported (stored and deflate are): recompress \
                 the archive with deflate, or unpack it",
                member.compression()
            )))
        } else {
            sized(size)
        };
        if state == State::Read {
            claimed = claimed.saturating_add(size);
        }
        listing.members.push(Member {
            index,
            name,
            size,
            state,
        });
    }
    // Members whose data overlap inflate to far more than the archive could hold.
    if claimed
        > stored
            .saturating_mul(DEFLATE_MAX_RATIO)
            .saturating_add(1 << 20)
    {
        listing.error = Some(FileError::Archive(format!(
            "a zip bomb: its members claim {claimed} bytes unpacked from {stored} bytes, more \
             than deflate can expand to"
        )));
        listing.members.clear();
    }
    listing
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<BufReader<File>>, FileError> {
    let file = File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    zip::ZipArchive::new(BufReader::new(file)).map_err(zip_error)
}

fn zip_error(e: zip::result::ZipError) -> FileError {
    match e {
        zip::result::ZipError::Io(io) => archive_error(Kind::Zip, io),
        other => FileError::Archive(format!("unreadable zip: {other}")),
    }
}

fn archive_error(kind: Kind, e: std::io::Error) -> FileError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        FileError::Archive(format!("truncated {}: {e}", kind.name()))
    } else {
        FileError::Archive(format!("unreadable {}: {e}", kind.name()))
    }
}

/// A tar entry's index, name, type and size, and its content.
type TarVisit<'a> =
    dyn FnMut(usize, &str, tar::EntryType, u64, &mut dyn Read) -> Result<bool, FileError> + 'a;

/// Walks the entries of a tar (plain or gzipped), handing each to `each`, which says whether to
/// go on. An error of the archive itself ends the walk.
fn walk_tar(path: &Path, kind: Kind, each: &mut TarVisit) -> Result<(), FileError> {
    let file = File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    match kind {
        Kind::TarGz => {
            let mut archive = tar::Archive::new(MultiGzDecoder::new(BufReader::new(file)));
            let entries = archive.entries().map_err(|e| archive_error(kind, e))?;
            walk_entries(entries, kind, each)
        }
        _ => {
            let mut archive = tar::Archive::new(BufReader::new(file));
            let entries = archive
                .entries_with_seek()
                .map_err(|e| archive_error(kind, e))?;
            walk_entries(entries, kind, each)
        }
    }
}

fn walk_entries<R: Read>(
    entries: tar::Entries<R>,
    kind: Kind,
    each: &mut TarVisit,
) -> Result<(), FileError> {
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| archive_error(kind, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let t = entry.header().entry_type();
        let size = entry.size();
        if !each(index, &name, t, size, &mut entry)? {
            break;
        }
    }
    Ok(())
}

/// Receives a member's index in the archive, its bytes or why they could not be read, and the
/// large-file turn to hold while it uses them.
pub type MemberSink<'a> =
    dyn FnMut(usize, Result<Vec<u8>, FileError>, &mut Option<LargeFileTurn>) + 'a;

/// Receives a member's index in the archive, its size as the archive declares it, and a reader
/// of its bytes as stored (or why it could not be opened).
type MemberVisit<'a> = dyn FnMut(usize, u64, Result<&mut dyn Read, FileError>) + 'a;

/// Hands `each` the members at `wanted` (indexes from [`list`], ascending) in one pass over the
/// archive, unread. `Err` when the archive itself failed before every wanted member was handed
/// over (those not handed over are not).
fn visit(
    path: &Path,
    kind: Kind,
    wanted: &[usize],
    each: &mut MemberVisit,
) -> Result<(), FileError> {
    match kind {
        Kind::Zip => {
            let mut zip = open_zip(path)?;
            for &index in wanted {
                match zip.by_index(index) {
                    Ok(mut m) => {
                        let size = m.size();
                        each(index, size, Ok(&mut m));
                    }
                    Err(e) => each(index, 0, Err(zip_error(e))),
                }
            }
            Ok(())
        }
        Kind::Tar | Kind::TarGz => {
            let mut next = 0;
            walk_tar(path, kind, &mut |index, _, _, size, r| {
                if wanted.get(next) == Some(&index) {
                    next += 1;
                    each(index, size, Ok(r));
                }
                Ok(next < wanted.len())
            })
        }
    }
}

/// Reads the members at `wanted` (indexes from [`list`], ascending) in one pass over the
/// archive, handing each member's bytes (or why they could not be read) to `each` with the
/// large-file turn, which `each` holds while it uses them. A member that unpacks past the
/// per-file limit, or past what the archive may unpack to, fails. `Err` when the archive
/// itself failed before every wanted member was handed over (those not handed over are not).
pub fn read(
    path: &Path,
    kind: Kind,
    wanted: &[usize],
    each: &mut MemberSink,
) -> Result<(), FileError> {
    let mut total = 0u64;
    visit(path, kind, wanted, &mut |index, declared, r| {
        let mut turn = None;
        let bytes = r.and_then(|r| {
            if total > ARCHIVE_MAX {
                Err(FileError::ArchiveTooLarge { limit: ARCHIVE_MAX })
            } else {
                read_member(r, declared, ARCHIVE_MAX - total, &mut turn)
            }
        });
        if let Ok(b) = &bytes {
            total += b.len() as u64;
        }
        each(index, bytes, &mut turn);
    })
}

/// A member to stream: the archive it is in, and its index there (from [`list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub archive: PathBuf,
    pub kind: Kind,
    pub index: usize,
}

/// Streams the `wanted` members (each with a key of the caller's) to `each`, one pass over each
/// archive, archives in parallel, and keeps what `each` returns with the key. `each` gets a
/// reader of the member's bytes as stored, bounded as [`read`] bounds them (an error past the
/// per-file limit or what the archive may unpack to), or why it could not be read: nothing is
/// held but what `each` keeps, whatever the size of the members. Every key comes back once.
pub fn stream<K, T, F>(wanted: Vec<(At, K)>, each: F) -> Vec<(K, T)>
where
    K: Send,
    T: Send,
    F: Fn(&K, Result<&mut dyn Read, FileError>) -> T + Sync,
{
    use rayon::prelude::*;
    use std::collections::BTreeMap;
    let mut by_archive: BTreeMap<PathBuf, (Kind, Vec<(usize, K)>)> = BTreeMap::new();
    for (at, key) in wanted {
        by_archive
            .entry(at.archive)
            .or_insert_with(|| (at.kind, Vec::new()))
            .1
            .push((at.index, key));
    }
    by_archive
        .into_par_iter()
        .flat_map_iter(|(path, (kind, mut members))| {
            members.sort_by_key(|(index, _)| *index);
            let indexes: Vec<usize> = members.iter().map(|(i, _)| *i).collect();
            let mut done: Vec<Option<T>> = Vec::with_capacity(members.len());
            done.resize_with(members.len(), || None);
            let mut total = 0u64;
            // Members come in ascending index order, as `indexes` are.
            let mut next = 0;
            let result = visit(&path, kind, &indexes, &mut |index, declared, r| {
                while indexes.get(next).is_some_and(|&i| i < index) {
                    next += 1;
                }
                if indexes.get(next) != Some(&index) {
                    return;
                }
                let at = next;
                next += 1;
                let left = MAX_DECOMPRESSED.min(ARCHIVE_MAX.saturating_sub(total));
                let out = match r {
                    Err(e) => each(&members[at].1, Err(e)),
                    Ok(_) if declared > left => each(&members[at].1, Err(too_large(left))),
                    Ok(r) => {
                        let mut bounded = Bounded {
                            inner: r,
                            left: left + 1,
                            read: 0,
                        };
                        let out = each(&members[at].1, Ok(&mut bounded));
                        total += bounded.read;
                        out
                    }
                };
                done[at] = Some(out);
            });
            let error = result.err().unwrap_or_else(|| {
                FileError::Archive("member not found on reading (the archive changed?)".into())
            });
            members
                .into_iter()
                .zip(done)
                .map(|((_, key), out)| {
                    let out = out.unwrap_or_else(|| each(&key, Err(error.clone())));
                    (key, out)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Why a member is not read past `left` bytes: the per-file limit, or what the archive may
/// unpack to.
fn too_large(left: u64) -> FileError {
    if left < MAX_DECOMPRESSED {
        FileError::ArchiveTooLarge { limit: ARCHIVE_MAX }
    } else {
        FileError::TooLarge {
            limit: MAX_DECOMPRESSED,
        }
    }
}

/// A member's reader that fails once more than `left - 1` bytes came out (a member whose
/// header understates it).
struct Bounded<'r> {
    inner: &'r mut dyn Read,
    left: u64,
    read: u64,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min(self.left.saturating_sub(self.read) as usize);
        if want == 0 && !buf.is_empty() {
            return Err(std::io::Error::other(too_large(self.left - 1).to_string()));
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// A member's bytes, at most the per-file limit and `left` of them; past [`LARGE_FILE`] only
/// with the large-file turn.
fn read_member(
    r: &mut dyn Read,
    declared: u64,
    left: u64,
    turn: &mut Option<LargeFileTurn>,
) -> Result<Vec<u8>, FileError> {
    let limit = MAX_DECOMPRESSED.min(left);
    let too_large = || too_large(limit);
    if declared > limit {
        return Err(too_large());
    }
    if declared >= LARGE_FILE as u64 {
        large_file_turn(turn);
    }
    let mut out = Vec::with_capacity(declared.min(LARGE_FILE as u64) as usize);
    let io = |e: std::io::Error| FileError::Archive(format!("unreadable member: {e}"));
    let first = (LARGE_FILE as u64).min(limit + 1);
    r.take(first).read_to_end(&mut out).map_err(io)?;
    if out.len() as u64 == first && first <= limit {
        // Past LARGE_FILE: a large member, whatever its header said.
        large_file_turn(turn);
        r.take(limit + 1 - first)
            .read_to_end(&mut out)
            .map_err(io)?;
    }
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// Where the stored bytes of a file to compare are.
pub enum Stored {
    /// On disk.
    File(PathBuf),
    /// An archive's member, of the size its archive declares.
    Member(At, u64),
}

/// [`super::source::skip_copies`] for archives' members: of `files` (indexes, in input order, and where their
/// bytes are), each whose stored bytes are those of an earlier one, as the pairs (copy,
/// original). Only sizes that a member shares with another file are compared (files on disk
/// among themselves are [`super::source::skip_copies`]'s), by SHA-256 streamed from the archives, one pass per
/// archive, nothing held.
pub fn member_copies(files: Vec<(usize, Stored)>) -> Vec<(usize, usize)> {
    use rayon::prelude::*;
    use std::collections::HashMap;
    let sized: Vec<(usize, u64, Stored)> = files
        .into_par_iter()
        .filter_map(|(i, stored)| {
            let size = match &stored {
                Stored::File(p) => std::fs::metadata(p).ok()?.len(),
                Stored::Member(_, size) => *size,
            };
            (size > 0 && size <= MAX_DECOMPRESSED).then_some((i, size, stored))
        })
        .collect();
    // Per size: how many files, and whether a member is among them.
    let mut sizes: HashMap<u64, (usize, bool)> = HashMap::new();
    for (_, size, stored) in &sized {
        let e = sizes.entry(*size).or_default();
        e.0 += 1;
        e.1 |= matches!(stored, Stored::Member(..));
    }
    let mut loose = Vec::new();
    let mut members = Vec::new();
    for (i, size, stored) in sized {
        if sizes[&size].0 > 1 && sizes[&size].1 {
            match stored {
                Stored::File(p) => loose.push((i, p)),
                Stored::Member(at, _) => members.push((at, i)),
            }
        }
    }
    let mut hashed: Vec<(usize, Option<super::source::Digest>)> = loose
        .par_iter()
        .map(|(i, p)| (*i, super::source::sha256_of_file(p)))
        .collect();
    hashed.extend(
        stream(members, |&i, r| {
            (i, r.ok().and_then(super::source::sha256_of))
        })
        .into_iter()
        .map(|(_, hashed)| hashed),
    );
    // Whatever order they were hashed in.
    hashed.sort_unstable_by_key(|(i, _)| *i);
    super::source::pair_copies(hashed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_told_by_their_first_bytes() {
        let mut tar = vec![0u8; 1024];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff_bytes(&tar), Some(Kind::Tar));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(sniff_bytes(&gz), Some(Kind::TarGz));
        // Only a prefix of the gzip stream, as sniff reads it.
        assert_eq!(sniff_bytes(&gz[..gz.len() - 8]), Some(Kind::TarGz));
        assert_eq!(sniff_bytes(b"PK\x03\x04rest"), Some(Kind::Zip));
        assert_eq!(sniff_bytes(b"PK\x05\x06"), Some(Kind::Zip));
        assert_eq!(sniff_bytes(br#"{"Records":[]}"#), None);
        assert_eq!(sniff_bytes(&[0x1f, 0x8b]), None);
        assert_eq!(sniff_bytes(b""), None);
    }

    #[test]
    fn members_skipped_by_name() {
        assert_eq!(skip_by_name("./AWSLogs/1/CloudTrail/x.json.gz"), None);
        assert_eq!(skip_by_name("../x.json"), None);
        assert!(skip_by_name("__MACOSX/AWSLogs/._x.json").is_some());
        assert_eq!(
            skip_by_name("a/.hidden.json").as_deref(),
            Some("hidden file")
        );
    }

    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut t = tar::Builder::new(Vec::new());
        for (name, bytes) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            t.append_data(&mut h, name, *bytes).unwrap();
        }
        t.into_inner().unwrap()
    }

    #[test]
    fn stream_hands_over_each_wanted_member_and_says_why_one_was_not() {
        let dir = tempfile::tempdir().unwrap();
        let members: [(&str, &[u8]); 3] = [("a", b"first"), ("b", b"second"), ("c", b"third")];
        let tar = tar_of(&members);
        let whole = dir.path().join("whole.tar");
        std::fs::write(&whole, &tar).unwrap();
        // Cut inside the third member's header: the first two are whole.
        let cut = dir.path().join("cut.tar");
        std::fs::write(&cut, &tar[..1024 + 512 + 512 + 2]).unwrap();
        let at = |archive: &Path, index| At {
            archive: archive.to_path_buf(),
            kind: Kind::Tar,
            index,
        };
        let read_all = |_: &&str, r: Result<&mut dyn Read, FileError>| {
            let mut out = Vec::new();
            r.map_err(|e| e.to_string())?
                .read_to_end(&mut out)
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(out)
        };
        let got = stream(
            vec![
                (at(&whole, 2), "c"),
                (at(&whole, 0), "a"),
                (at(&cut, 2), "cut c"),
            ],
            read_all,
        );
        let mut got: Vec<(&str, Result<Vec<u8>, String>)> = got;
        got.sort_by_key(|(k, _)| *k);
        assert_eq!(got[0], ("a", Ok(b"first".to_vec())));
        assert_eq!(got[1], ("c", Ok(b"third".to_vec())));
        assert_eq!(got[2].0, "cut c");
        assert!(got[2].1.is_err(), "{:?}", got[2]);
        // A member that is not there at all is not silently dropped.
        let missing = stream(vec![(at(&whole, 7), "x")], read_all);
        assert_eq!(
            missing,
            [(
                "x",
                Err("archive: member not found on reading (the archive changed?)".into())
            )]
        );
    }

    #[test]
    fn a_streamed_member_is_cut_off_past_its_limit() {
        let data = vec![b'x'; 100];
        let mut inner: &[u8] = &data;
        let mut bounded = Bounded {
            inner: &mut inner,
            left: 51,
            read: 0,
        };
        let mut out = Vec::new();
        let e = bounded.read_to_end(&mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            FileError::ArchiveTooLarge { limit: ARCHIVE_MAX }.to_string()
        );
        assert_eq!(out.len(), 51);
        let mut inner: &[u8] = &data;
        let mut exact = Bounded {
            inner: &mut inner,
            left: 101,
            read: 0,
        };
        assert_eq!(exact.read_to_end(&mut Vec::new()).unwrap(), 100);
    }

    #[test]
    fn a_member_is_bounded_by_what_it_claims_and_by_what_it_unpacks_to() {
        let mut turn = None;
        let data = vec![b'x'; 100];
        assert_eq!(
            read_member(&mut &data[..], 100, 100, &mut turn).unwrap(),
            data
        );
        // The archive has 50 bytes left: a member that claims or unpacks to more fails.
        for declared in [100, 10] {
            assert_eq!(
                read_member(&mut &data[..], declared, 50, &mut turn),
                Err(FileError::ArchiveTooLarge { limit: ARCHIVE_MAX })
            );
        }
        assert_eq!(
            read_member(&mut &data[..], MAX_DECOMPRESSED + 1, u64::MAX, &mut turn),
            Err(FileError::TooLarge {
                limit: MAX_DECOMPRESSED
            })
        );
        assert!(turn.is_none(), "nothing large was held");
    }
}
