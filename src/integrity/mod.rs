//! Log integrity, offline: CloudTrail digest-chain validation (what `aws cloudtrail
//! validate-logs` checks online) and delivery-gap detection.
//!
//! Every input file is accounted for: checked (valid or invalid, with the reason), unreadable
//! (with the reason), or skipped (with the reason). Problems are data, never `Err`.

pub mod chain;
pub mod digest;
pub mod gaps;
pub mod names;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::events::archive::{self, At};
use crate::events::record::format_event_time;
use crate::events::source::{discover, FileError, Found, MAX_DECOMPRESSED};
pub use crate::events::{Progress, Window};
use digest::{Digest, PublicKey, ReadError};
use names::{file_name, DigestName, LogName};

/// How bad a problem is. `failure` fails the check (exit 1), `unreadable` makes the evidence
/// incomplete (exit 2), a `note` is information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Failure,
    Unreadable,
    Note,
}

/// What a problem is, as a stable code; `Problem::reason` says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A log file's SHA-256 is not the one its digest lists.
    Modified,
    /// A log file listed in a digest is not among the inputs.
    Missing,
    /// A log file that no digest lists, delivered while digests were being written.
    NotInAnyDigest,
    ChainBroken,
    SignatureInvalid,
    DigestMissing,
    /// A digest's digestS3Object is not where the file is.
    Moved,
    Unreadable,
    /// A new chain starts (previousDigest* null) after an earlier one.
    ChainRestarted,
    SignatureNotChecked,
    /// A log file outside the period the digests cover (before the first, after the last).
    NotCovered,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub level: Level,
    pub code: Code,
    /// `modified`, `missing`, `not in any digest`, `chain broken after X`, `signature invalid`,
    /// `digest missing for hour H`, ...
    pub reason: String,
    /// The file's path, or the S3 key a digest names when the file is absent.
    pub file: String,
    pub detail: String,
    pub account: String,
    pub region: String,
    /// Empty for a log file that no digest lists.
    pub trail: String,
    /// `digest_missing`: the log files delivered in its hour, which nothing can verify now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified_log_files: Vec<String>,
}

/// Digests, or the log files digests list: each listed file once, whatever the number of its
/// copies among the inputs. A listed log file is invalid when a copy differs from its hash,
/// else valid when a copy matches, else unreadable (each such copy is also a [`Problem`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub valid: u64,
    pub invalid: u64,
    pub missing: u64,
    pub unreadable: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SignatureCounts {
    pub verified: u64,
    pub invalid: u64,
    pub not_checked: u64,
}

/// One trail in one region: its digests and the log files they list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrailSummary {
    pub account: String,
    pub region: String,
    /// Empty for log files of an account and region that no digest lists.
    pub trail: String,
    pub home_region: String,
    pub organization: Option<String>,
    /// From the earliest digestStartTime to the latest digestEndTime in scope.
    pub first: Option<String>,
    pub last: Option<String>,
    pub digests: Counts,
    pub log_files: Counts,
    pub log_files_not_in_any_digest: u64,
    /// Log files nothing can verify: their digest is missing, or they fall outside the
    /// period the digests cover.
    pub log_files_unverified: u64,
    pub signatures: SignatureCounts,
    pub chain_restarts: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    /// Every file found, an archive's members as files and the archive itself not: the sum of
    /// the others.
    pub examined: u64,
    /// Archives (`.zip`, `.tar`, `.tar.gz`) whose members are read as the files they hold.
    pub archives: u64,
    pub digest_files: u64,
    pub signature_files: u64,
    pub log_files: u64,
    /// Not a CloudTrail log, digest or signature file, hidden, or a second copy.
    pub skipped: u64,
    /// Digests and log files outside `--from` / `--to` (listed in `skipped` too).
    pub out_of_window: u64,
    pub unreadable: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// The result of `verify`: the JSON output is this, serialised.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verification {
    pub paths: Vec<PathBuf>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Whether digest signatures were checked (public keys were given).
    pub signatures_checked: bool,
    pub public_keys: u64,
    pub files: FileCounts,
    pub trails: Vec<TrailSummary>,
    /// Failures, unreadable files and notes, in that order.
    pub problems: Vec<Problem>,
    pub skipped: Vec<Skipped>,
    pub failures: u64,
    pub unreadable: u64,
}

impl Verification {
    pub fn has_digests(&self) -> bool {
        self.files.digest_files > 0
    }
}

/// Public keys from `aws cloudtrail list-public-keys` exports: files, or directories searched
/// for `public-keys.json` (where a collector saves them).
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    pub keys: Vec<PublicKey>,
    pub errors: Vec<ReadError>,
    pub files: u64,
}

impl KeyRing {
    pub fn load(paths: &[PathBuf]) -> KeyRing {
        let mut ring = KeyRing::default();
        for found in discover(paths) {
            match found {
                Found::File(p) => {
                    let named = p.file_name().and_then(|n| n.to_str()) == Some("public-keys.json");
                    let given = paths.iter().any(|g| g == &p);
                    if !(named || given) {
                        continue;
                    }
                    ring.files += 1;
                    match digest::read_public_keys(&p) {
                        Ok(keys) => ring.keys.extend(keys),
                        Err(e) => ring.errors.push(e),
                    }
                }
                Found::Failed(p, e) => ring.errors.push(ReadError {
                    path: p,
                    kind: digest::ReadErrorKind::Io(e.to_string()),
                }),
                Found::Skipped(..) => {}
            }
        }
        ring
    }
}

/// A digest file among the inputs.
#[derive(Debug)]
pub struct DigestFile {
    /// As the accounting names it: `ARCHIVE!member` for an archive's member.
    pub path: PathBuf,
    /// Where the S3 layout is read from: the path, or for an archive's member the path it
    /// would unpack to (the archive's path as its directory).
    pub layout: PathBuf,
    pub file_name: String,
    pub name: DigestName,
    pub body: Result<Digest, ReadError>,
    /// From `<digest>.metadata.json`, when it is among the inputs.
    pub signature: Option<Result<String, ReadError>>,
}

/// One entry per log file among the inputs, held while the history streams: its path once, and
/// the path its S3 layout is read from only when that is another (an archive's member).
struct LogFile {
    path: PathBuf,
    name: LogName,
    /// What an archive's member has besides: boxed, for archives are few.
    member: Option<Box<Member>>,
}

struct Member {
    /// The path it would unpack to ([`Input::layout`]).
    layout: PathBuf,
    /// Where its bytes are.
    at: Option<At>,
}

impl LogFile {
    fn new(input: Input, name: LogName) -> LogFile {
        let member = (input.layout != input.path || input.at.is_some()).then(|| {
            Box::new(Member {
                layout: input.layout,
                at: input.at,
            })
        });
        LogFile {
            path: input.path,
            name,
            member,
        }
    }

    /// Where the S3 layout is read from ([`Input::layout`]).
    fn layout(&self) -> &Path {
        self.member.as_ref().map_or(&self.path, |m| &m.layout)
    }

    /// Where its bytes are when it is an archive's member ([`Input::at`]).
    fn at(&self) -> Option<&At> {
        self.member.as_ref().and_then(|m| m.at.as_ref())
    }

    /// The last part of [`LogFile::layout`] ([`Input::name`]).
    fn file_name(&self) -> &str {
        self.layout()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }
}

/// A digest, signature or log file to read, found among the inputs or inside an archive.
struct Input {
    path: PathBuf,
    layout: PathBuf,
    /// Its file name (the last part of `layout`).
    name: String,
    at: Option<At>,
}

impl Input {
    fn file(path: PathBuf) -> Input {
        let name = file_name_of(&path);
        Input {
            layout: path.clone(),
            path,
            name,
            at: None,
        }
    }
}

fn file_name_of(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// Reads each input with `loose` when it is a file, and streams each archive's members to
/// `member` (one pass per archive), in parallel; the results in the order of `inputs`.
fn read_inputs<T: Send>(
    inputs: &[&Input],
    loose: impl Fn(&Path) -> T + Sync,
    member: impl Fn(&Path, Result<&mut dyn std::io::Read, FileError>) -> T + Sync,
) -> Vec<T> {
    let mut out: Vec<Option<T>> = inputs
        .par_iter()
        .map(|i| i.at.is_none().then(|| loose(&i.path)))
        .collect();
    let members: Vec<(At, usize)> = inputs
        .iter()
        .enumerate()
        .filter_map(|(n, i)| Some((i.at.clone()?, n)))
        .collect();
    for (n, t) in archive::stream(members, |&n, r| member(&inputs[n].path, r)) {
        out[n] = Some(t);
    }
    out.into_iter()
        .map(|t| t.expect("every input is read"))
        .collect()
}

/// A member's bytes that could not be read, as the integrity check says it.
fn member_error(path: &Path, e: FileError) -> ReadError {
    ReadError {
        path: path.to_path_buf(),
        kind: digest::ReadErrorKind::Io(e.to_string()),
    }
}

type GroupKey = (String, String, String, String, Option<String>);

/// Checks every digest and log file under `inputs`.
pub fn verify(inputs: &[PathBuf], keys: &KeyRing, window: Window) -> Verification {
    verify_with(inputs, keys, window, None)
}

/// [`verify`], telling `progress` of each log file hashed.
pub fn verify_with(
    inputs: &[PathBuf],
    keys: &KeyRing,
    window: Window,
    progress: Option<&dyn Progress>,
) -> Verification {
    Plan::new(inputs, keys, window).finish(&HashMap::new(), progress)
}

/// The log files by file name, and the file names the digests list.
type Index<'a> = (HashMap<&'a str, Vec<usize>>, HashSet<&'a str>);

fn index<'a>(logs: &'a [LogFile], files: &'a [DigestFile]) -> Index<'a> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, l) in logs.iter().enumerate() {
        by_name.entry(l.file_name()).or_default().push(i);
    }
    let mut listed: HashSet<&str> = HashSet::new();
    for f in files {
        if let Ok(d) = &f.body {
            listed.extend(d.log_files.iter().map(|e| file_name(&e.object)));
        }
    }
    (by_name, listed)
}

/// SHA-256 and size of a log file's uncompressed content, or why it could not be read.
pub type ContentHash = Result<(String, u64), ReadError>;

/// A verification with the digests read and their chains walked, waiting for the hashes of the
/// log files they list: a caller that reads those files anyway (the audit's loader) hashes their
/// content then, instead of reading and decompressing them a second time.
pub struct Plan {
    window: Window,
    v: Verification,
    problems: Vec<Problem>,
    files: Vec<DigestFile>,
    logs: Vec<LogFile>,
    trails: Vec<TrailSummary>,
    spans: Vec<(usize, chain::MissingSpan)>,
    group_of_digest: HashMap<usize, usize>,
    /// Indexes in `logs` of the log files the digests in scope list.
    wanted: Vec<usize>,
}

impl Plan {
    /// Reads the digests under `inputs` and walks their chains.
    pub fn new(inputs: &[PathBuf], keys: &KeyRing, window: Window) -> Plan {
        let mut v = Verification {
            paths: inputs.to_vec(),
            from: window.from.map(format_event_time),
            to: window.until.map(|u| format_event_time(u - 1)),
            signatures_checked: !keys.keys.is_empty(),
            public_keys: keys.keys.len() as u64,
            ..Verification::default()
        };
        let mut problems: Vec<Problem> = Vec::new();
        let unreadable = |path: &Path, detail: String| Problem {
            level: Level::Unreadable,
            code: Code::Unreadable,
            reason: "unreadable".into(),
            file: path.display().to_string(),
            detail,
            account: String::new(),
            region: String::new(),
            trail: String::new(),
            unverified_log_files: Vec::new(),
        };
        for e in &keys.errors {
            problems.push(unreadable(&e.path, e.kind.to_string()));
        }

        // Sort the inputs by role; an archive's members are sorted as the files they would
        // unpack to.
        let mut digest_inputs: Vec<(Input, DigestName)> = Vec::new();
        let mut metadata: HashMap<PathBuf, Input> = HashMap::new();
        let mut logs: Vec<LogFile> = Vec::new();
        let mut seen_digests: HashMap<String, PathBuf> = HashMap::new();
        let mut sort = |v: &mut Verification, input: Input| {
            if let Some(digest) = input.name.strip_suffix(".metadata.json") {
                v.files.signature_files += 1;
                metadata.insert(input.layout.with_file_name(digest), input);
            } else if let Some(d) = DigestName::parse(&input.name) {
                if let Some(first) = seen_digests.get(&input.name) {
                    v.skipped.push(Skipped {
                        reason: format!(
                            "a second copy of {}: only the first is checked",
                            first.display()
                        ),
                        path: input.path,
                    });
                    return;
                }
                v.files.digest_files += 1;
                seen_digests.insert(input.name.clone(), input.path.clone());
                digest_inputs.push((input, d));
            } else if let Some(l) = LogName::parse(&input.name) {
                v.files.log_files += 1;
                logs.push(LogFile::new(input, l));
            } else {
                v.skipped.push(Skipped {
                    path: input.path,
                    reason: "not a CloudTrail log, digest or signature file (by its name)".into(),
                });
            }
        };
        for found in discover(inputs) {
            v.files.examined += 1;
            let path = match found {
                Found::File(p) => p,
                Found::Skipped(path, reason) => {
                    v.skipped.push(Skipped { path, reason });
                    continue;
                }
                Found::Failed(p, e) => {
                    v.files.unreadable += 1;
                    problems.push(unreadable(&p, e.to_string()));
                    continue;
                }
            };
            let input = Input::file(path);
            let by_name = input.name.ends_with(".metadata.json")
                || DigestName::parse(&input.name).is_some()
                || LogName::parse(&input.name).is_some();
            // Only a file that is no CloudTrail file by its name is looked into.
            let kind = if by_name {
                None
            } else {
                archive::sniff(&input.path)
            };
            let Some(kind) = kind else {
                sort(&mut v, input);
                continue;
            };
            // The archive itself is counted apart; its members are counted as files.
            v.files.examined -= 1;
            v.files.archives += 1;
            let listing = archive::list(&input.path, kind);
            if let Some(e) = listing.error {
                problems.push(unreadable(&input.path, e.to_string()));
            }
            for m in listing.members {
                v.files.examined += 1;
                let path = archive::member_path(&input.path, &m.name);
                match m.state {
                    archive::State::Read => {
                        let layout = input.path.join(m.name.trim_start_matches('/'));
                        sort(
                            &mut v,
                            Input {
                                name: file_name_of(&layout),
                                path,
                                layout,
                                at: Some(At {
                                    archive: input.path.clone(),
                                    kind,
                                    index: m.index,
                                }),
                            },
                        );
                    }
                    archive::State::Skipped(reason) => v.skipped.push(Skipped { path, reason }),
                    archive::State::Failed(e) => {
                        v.files.unreadable += 1;
                        problems.push(unreadable(&path, e.to_string()));
                    }
                }
            }
        }

        v.files.skipped = v.skipped.len() as u64;

        // Held while the history streams: no spare capacity.
        logs.shrink_to_fit();

        // Digests: read in parallel, with their saved signatures.
        let (digest_inputs, names): (Vec<Input>, Vec<DigestName>) =
            digest_inputs.into_iter().unzip();
        let bodies = read_inputs(
            &digest_inputs.iter().collect::<Vec<_>>(),
            Digest::read,
            |path, r| {
                r.map_err(|e| member_error(path, e))
                    .and_then(|r| Digest::read_from(path, r))
            },
        );
        let mut files: Vec<DigestFile> = digest_inputs
            .into_iter()
            .zip(names)
            .zip(bodies)
            .map(|((input, name), body)| DigestFile {
                body,
                path: input.path,
                layout: input.layout,
                file_name: input.name,
                name,
                signature: None,
            })
            .collect();
        let signed: Vec<(usize, Input)> = files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((i, metadata.remove(&f.layout)?)))
            .collect();
        let signatures = read_inputs(
            &signed.iter().map(|(_, m)| m).collect::<Vec<_>>(),
            digest::read_signature,
            |path, r| {
                r.map_err(|e| member_error(path, e))
                    .and_then(|r| digest::read_signature_from(path, r))
            },
        );
        for ((i, _), signature) in signed.into_iter().zip(signatures) {
            files[i].signature = Some(signature);
        }
        let mut orphans: Vec<PathBuf> = metadata.into_values().map(|m| m.path).collect();
        orphans.sort();
        for m in orphans {
            v.skipped.push(Skipped {
                path: m,
                reason: "signature metadata of a digest file that is not among the inputs".into(),
            });
        }
        let all_digests: HashSet<String> = files.iter().map(|f| f.file_name.clone()).collect();
        // The CLI also takes the hour after --to: its digest lists files delivered up to --to.
        let digest_window = Window {
            from: window.from,
            until: window.until.map(|u| u + 3_600_000),
        };
        let mut groups: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
        for (i, f) in files.iter().enumerate() {
            if !digest_window.contains(f.name.end) {
                v.files.out_of_window += 1;
                v.skipped.push(Skipped {
                    path: f.path.clone(),
                    reason: "digest outside --from/--to".into(),
                });
                continue;
            }
            let org = names::path_suffix(&f.layout).and_then(|s| names::organization(&s));
            let n = &f.name;
            groups
                .entry((
                    n.account.clone(),
                    n.region.clone(),
                    n.trail.clone(),
                    n.home_region.clone(),
                    org,
                ))
                .or_default()
                .push(i);
        }

        // Chains, one per trail and region.
        let cx = chain::Context {
            all_digests: &all_digests,
            keys: &keys.keys,
        };
        let mut trails: Vec<TrailSummary> = Vec::new();
        let mut spans: Vec<(usize, chain::MissingSpan)> = Vec::new();
        let mut group_of_digest: HashMap<usize, usize> = HashMap::new();
        for ((account, region, trail, home_region, organization), members) in &groups {
            let walk = chain::walk(&files, members, &cx);
            let t = trails.len();
            for &m in members {
                group_of_digest.insert(m, t);
            }
            let offset = problems.len();
            spans.extend(walk.missing.into_iter().map(|mut s| {
                s.problem += offset;
                (t, s)
            }));
            problems.extend(walk.problems);
            let bodies = members.iter().filter_map(|&m| files[m].body.as_ref().ok());
            let (first, last) = bodies.fold((None::<i64>, None::<i64>), |(a, b), d| {
                (
                    Some(a.map_or(d.start, |a| a.min(d.start))),
                    Some(b.map_or(d.end, |b| b.max(d.end))),
                )
            });
            trails.push(TrailSummary {
                account: account.clone(),
                region: region.clone(),
                trail: trail.clone(),
                home_region: home_region.clone(),
                organization: organization.clone(),
                first: first.map(format_event_time),
                last: last.map(format_event_time),
                digests: walk.digests,
                signatures: walk.signatures,
                chain_restarts: walk.chain_restarts,
                ..TrailSummary::default()
            });
        }

        // Log files listed in digests in scope: hash each once, in parallel, streaming.
        let (by_name, _) = index(&logs, &files);
        let mut wanted: Vec<usize> = Vec::new();
        for (i, f) in files.iter().enumerate() {
            if let (Ok(d), true) = (&f.body, group_of_digest.contains_key(&i)) {
                for e in &d.log_files {
                    wanted.extend(by_name.get(file_name(&e.object)).into_iter().flatten());
                }
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        Plan {
            window,
            v,
            problems,
            files,
            logs,
            trails,
            spans,
            group_of_digest,
            wanted,
        }
    }

    /// Whether any digest file is among the inputs: without one, nothing can be verified.
    pub fn has_digests(&self) -> bool {
        self.v.has_digests()
    }

    /// The log files whose content hashes [`Plan::finish`] needs.
    pub fn wanted(&self) -> impl Iterator<Item = &Path> {
        self.wanted.iter().map(|&i| self.logs[i].path.as_path())
    }

    /// The verification, with the content hashes in `known` (by path) and those it lacks
    /// computed here.
    pub fn finish(
        self,
        known: &HashMap<&Path, (String, u64)>,
        progress: Option<&dyn Progress>,
    ) -> Verification {
        let Plan {
            window,
            mut v,
            mut problems,
            files,
            logs,
            mut trails,
            spans,
            group_of_digest,
            wanted,
        } = self;
        let size = |i: &usize| std::fs::metadata(&logs[*i].path).map_or(0, |m| m.len());
        let to_hash: Vec<usize> = wanted
            .iter()
            .copied()
            .filter(|&i| !known.contains_key(logs[i].path.as_path()))
            .collect();
        if let Some(p) = progress {
            p.start(to_hash.len() as u64, to_hash.iter().map(size).sum());
        }
        let mut hashes: HashMap<usize, ContentHash> = wanted
            .iter()
            .filter_map(|&i| Some((i, Ok(known.get(logs[i].path.as_path())?.clone()))))
            .collect();
        let inputs: Vec<Input> = to_hash
            .iter()
            .map(|&i| Input {
                path: logs[i].path.clone(),
                layout: logs[i].layout().to_path_buf(),
                name: logs[i].file_name().to_string(),
                at: logs[i].at().cloned(),
            })
            .collect();
        let hashed = read_inputs(
            &inputs.iter().collect::<Vec<_>>(),
            |path| {
                let hash = digest::sha256_content(path);
                if let Some(p) = progress {
                    p.file_done(std::fs::metadata(path).map_or(0, |m| m.len()), 0);
                }
                hash
            },
            |path, r| {
                // A member is bounded as the loader bounds it: its content at the per-file limit.
                let hash = r
                    .map_err(|e| member_error(path, e))
                    .and_then(|r| digest::sha256_content_of(path, r, MAX_DECOMPRESSED));
                if let Some(p) = progress {
                    p.file_done(0, 0);
                }
                hash
            },
        );
        hashes.extend(to_hash.into_iter().zip(hashed));
        let (by_name, listed) = index(&logs, &files);

        let mut order: Vec<usize> = group_of_digest.keys().copied().collect();
        order.sort_unstable();
        for i in order {
            let (f, t) = (&files[i], group_of_digest[&i]);
            let Ok(d) = &f.body else { continue };
            let counts = &mut trails[t].log_files;
            for e in &d.log_files {
                let problem = |level, code, reason: &str, file: String, detail: String| Problem {
                    level,
                    code,
                    reason: reason.into(),
                    file,
                    detail,
                    account: f.name.account.clone(),
                    region: f.name.region.clone(),
                    trail: f.name.trail.clone(),
                    unverified_log_files: Vec::new(),
                };
                let copies = by_name.get(file_name(&e.object));
                let Some(copies) = copies else {
                    counts.missing += 1;
                    problems.push(problem(
                        Level::Failure,
                        Code::Missing,
                        "missing",
                        format!("s3://{}/{}", e.bucket, e.object),
                        format!("listed in {} but not among the inputs", f.file_name),
                    ));
                    continue;
                };
                // The listed file counts once, whatever the number of its copies among the
                // inputs (a loose file and an archive's member, two downloads of the bucket);
                // each copy is checked, and each copy that differs or cannot be read is named.
                let (mut matched, mut differs) = (false, false);
                for &c in copies {
                    let path = logs[c].path.display().to_string();
                    match &hashes[&c] {
                        Ok((h, _)) if *h == e.hash => matched = true,
                        Ok((h, _)) => {
                            differs = true;
                            problems.push(problem(
                                Level::Failure,
                                Code::Modified,
                                "modified",
                                path,
                                format!(
                                    "SHA-256 of the uncompressed content is {h}; {} lists {}",
                                    f.file_name, e.hash
                                ),
                            ));
                        }
                        Err(err) => {
                            problems.push(problem(
                                Level::Unreadable,
                                Code::Unreadable,
                                "unreadable",
                                path,
                                err.kind.to_string(),
                            ));
                        }
                    }
                }
                if differs {
                    counts.invalid += 1;
                } else if matched {
                    counts.valid += 1;
                } else {
                    counts.unreadable += 1;
                }
            }
        }

        // Log files no digest lists.
        // Per bucket copy (the directory above AWSLogs/), account and region: another trail's
        // bucket given alongside, without validation, is not judged by this trail's digests.
        let mut coverage: HashMap<(PathBuf, &str, &str), (i64, i64)> = HashMap::new();
        for &i in group_of_digest.keys() {
            if let Ok(d) = &files[i].body {
                let c = coverage
                    .entry((
                        names::bucket_root(&files[i].layout),
                        &files[i].name.account,
                        &files[i].name.region,
                    ))
                    .or_insert((d.start, d.end));
                c.0 = c.0.min(d.start);
                c.1 = c.1.max(d.end);
            }
        }
        for l in &logs {
            if listed.contains(l.file_name()) {
                continue;
            }
            if !window.contains(l.name.time) {
                v.files.out_of_window += 1;
                v.skipped.push(Skipped {
                    path: l.path.clone(),
                    reason: "log file outside --from/--to (by the time in its name)".into(),
                });
                continue;
            }
            let (account, region) = (l.name.account.as_str(), l.name.region.as_str());
            let same_place = |t: &TrailSummary| t.account == account && t.region == region;
            let span = spans.iter().find(|(t, s)| {
                same_place(&trails[*t]) && l.name.time >= s.from - 300_000 && l.name.time <= s.to
            });
            if let Some((t, s)) = span {
                trails[*t].log_files_unverified += 1;
                problems[s.problem]
                    .unverified_log_files
                    .push(l.path.display().to_string());
                continue;
            }
            let t = match trails
                .iter()
                .position(|t| same_place(t) && !t.trail.is_empty())
                .or_else(|| trails.iter().position(same_place))
            {
                Some(t) => t,
                None => {
                    trails.push(TrailSummary {
                        account: account.into(),
                        region: region.into(),
                        ..TrailSummary::default()
                    });
                    trails.len() - 1
                }
            };
            let place = (names::bucket_root(l.layout()), account, region);
            let covered = coverage
                .get(&place)
                .is_some_and(|&(a, b)| l.name.time >= a && l.name.time < b);
            let mut p = Problem {
            level: Level::Failure,
            code: Code::NotInAnyDigest,
            reason: "not in any digest".into(),
            file: l.path.display().to_string(),
            detail:
                "delivered while digests were written for its account and region, but none lists it"
                    .into(),
            account: account.into(),
            region: region.into(),
            trail: String::new(),
            unverified_log_files: Vec::new(),
        };
            if covered {
                trails[t].log_files_not_in_any_digest += 1;
            } else {
                trails[t].log_files_unverified += 1;
                p.level = Level::Note;
                p.code = Code::NotCovered;
                p.reason = "not covered by any digest".into();
                p.detail = match coverage.get(&place) {
                Some(&(a, b)) => format!(
                    "delivered outside the period the digests cover ({} .. {}); nothing can verify it",
                    format_event_time(a),
                    format_event_time(b)
                ),
                None => "no digest for its account and region among the inputs; nothing can verify it".into(),
            };
            }
            problems.push(p);
        }

        problems.sort_by(|a, b| (a.level, &a.file).cmp(&(b.level, &b.file)));
        v.failures = problems
            .iter()
            .filter(|p| p.level == Level::Failure)
            .count() as u64;
        v.unreadable = problems
            .iter()
            .filter(|p| p.level == Level::Unreadable)
            .count() as u64;
        v.problems = problems;
        v.trails = trails;
        v
    }
}
