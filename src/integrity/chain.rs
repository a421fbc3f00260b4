//! The digests of one trail and region, walked in time order: where each one says it was
//! written, the link to the one before (hash and signature), and its own signature.

use std::collections::HashSet;

use super::digest::{verify_signature, Digest, PublicKey};
use super::names::{file_name, key_suffix, path_suffix, DigestName};
use super::{Code, Counts, DigestFile, Level, Problem, SignatureCounts};
use crate::events::record::format_event_time;

const HOUR: i64 = 3_600_000;
/// Digests arrive about hourly; a little slack before calling a gap more than one hour.
const SLACK: i64 = 10 * 60_000;

/// A stretch of time with no digest because its digest is missing: the log files delivered in
/// it cannot be verified, and are attributed to the missing digest's problem.
#[derive(Debug, Clone)]
pub struct MissingSpan {
    pub from: i64,
    pub to: i64,
    /// Index of the `digest missing` problem in the walk's problems.
    pub problem: usize,
}

#[derive(Debug, Default)]
pub struct Walk {
    pub problems: Vec<Problem>,
    pub digests: Counts,
    pub signatures: SignatureCounts,
    pub missing: Vec<MissingSpan>,
    pub chain_restarts: u64,
}

pub struct Context<'a> {
    /// Names of every digest file among the inputs, in the window or not.
    pub all_digests: &'a HashSet<String>,
    pub keys: &'a [PublicKey],
}

fn hour(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:00Z").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// Walks `group` (indices into `files`, one trail and region), sorted here by end time.
pub fn walk(files: &[DigestFile], group: &[usize], cx: &Context) -> Walk {
    let mut order: Vec<usize> = group.to_vec();
    order.sort_by_key(|&i| {
        let end = files[i].body.as_ref().map_or(files[i].name.end, |d| d.end);
        (end, files[i].file_name.clone())
    });
    let mut w = Walk::default();
    let mut prev: Option<(&DigestFile, &Digest)> = None;
    for (pos, &i) in order.iter().enumerate() {
        let f = &files[i];
        let problem = |level, code, reason: String, detail: String| Problem {
            level,
            code,
            reason,
            file: f.path.display().to_string(),
            detail,
            account: f.name.account.clone(),
            region: f.name.region.clone(),
            trail: f.name.trail.clone(),
            unverified_log_files: Vec::new(),
        };
        let d = match &f.body {
            Ok(d) => d,
            Err(e) => {
                w.digests.unreadable += 1;
                w.problems.push(problem(
                    Level::Unreadable,
                    Code::Unreadable,
                    "unreadable".into(),
                    e.kind.to_string(),
                ));
                prev = None;
                continue;
            }
        };
        let before = w.problems.len();

        // Where the digest says it was written must be where it is (aws-cli's "moved" check),
        // compared from `AWSLogs/` on, so a local prefix or bucket copy does not matter.
        let here = path_suffix(&f.layout);
        let moved = match (&here, key_suffix(&d.object)) {
            (Some(here), Some(said)) => here != said,
            _ => file_name(&d.object) != f.file_name,
        };
        if moved {
            w.problems.push(problem(
                Level::Failure,
                Code::Moved,
                "moved from its original location".into(),
                format!(
                    "digestS3Object is s3://{}/{}, but the file is {}",
                    d.bucket,
                    d.object,
                    here.as_deref().unwrap_or(&f.file_name)
                ),
            ));
        }

        // The link to the digest before.
        if d.starts_chain() {
            if let Some((pf, pd)) = prev {
                w.chain_restarts += 1;
                w.problems.push(problem(
                    Level::Note,
                    Code::ChainRestarted,
                    format!("chain restarted after {}", pf.file_name),
                    format!(
                        "a new chain starts here (previousDigest* are null): no digest covers {} .. {}; \
                         CloudTrail does this after StopLogging or when log file validation is turned off and on",
                        format_event_time(pd.end),
                        format_event_time(d.start)
                    ),
                ));
            }
        } else if let Some(prev_object) = &d.previous_object {
            let named = file_name(prev_object);
            match prev {
                Some((pf, pd)) if named == pf.file_name => {
                    if d.previous_hash.as_deref() != Some(pd.sha256.as_str()) {
                        w.problems.push(problem(
                            Level::Failure,
                            Code::ChainBroken,
                            format!("chain broken after {}", pf.file_name),
                            format!(
                                "previousDigestHashValue {} is not the SHA-256 of {} ({}): one of the two was modified",
                                d.previous_hash.as_deref().unwrap_or("null"),
                                pf.file_name,
                                pd.sha256
                            ),
                        ));
                    }
                    if let (Some(Ok(sig)), Some(link)) = (&pf.signature, &d.previous_signature) {
                        if !sig.eq_ignore_ascii_case(link) {
                            w.problems.push(problem(
                                Level::Failure,
                                Code::ChainBroken,
                                format!("chain broken after {}", pf.file_name),
                                format!(
                                    "previousDigestSignature differs from the signature in {}'s metadata",
                                    pf.file_name
                                ),
                            ));
                        }
                    }
                }
                _ if !cx.all_digests.contains(named) => {
                    // The digest this one names is not among the inputs. Before the first
                    // digest in scope that only means the inputs start here.
                    if let Some((pf, pd)) = prev {
                        let missing_end = DigestName::parse(named).map_or(d.start, |n| n.end);
                        let hours = ((d.start - pd.end + SLACK) / HOUR).max(1);
                        let detail = if hours > 1 {
                            format!(
                                "{prev_object} is not among the inputs; no digest covers {} .. {} ({hours} hours) after {}",
                                format_event_time(pd.end),
                                format_event_time(d.start),
                                pf.file_name
                            )
                        } else {
                            format!(
                                "{} names it as its previous digest, but it is not among the inputs",
                                f.file_name
                            )
                        };
                        w.digests.missing += hours as u64;
                        w.missing.push(MissingSpan {
                            from: pd.end,
                            to: d.start,
                            problem: w.problems.len(),
                        });
                        let mut p = problem(
                            Level::Failure,
                            Code::DigestMissing,
                            format!("digest missing for hour {}", hour(missing_end - HOUR)),
                            detail,
                        );
                        p.file = format!(
                            "s3://{}/{prev_object}",
                            d.previous_bucket.as_deref().unwrap_or(&d.bucket)
                        );
                        w.problems.push(p);
                    }
                }
                Some((pf, _)) => {
                    w.problems.push(problem(
                        Level::Failure,
                        Code::ChainBroken,
                        format!("chain broken after {}", pf.file_name),
                        format!(
                            "previousDigestS3Object names {named}, not {}, the digest before it",
                            pf.file_name
                        ),
                    ));
                }
                None => {}
            }
        }

        // The signature: from the saved S3 metadata, else from the next digest's link.
        let mut signature = match &f.signature {
            Some(Ok(s)) => Some((s.clone(), "its S3 metadata")),
            Some(Err(e)) => {
                let mut p = problem(
                    Level::Unreadable,
                    Code::Unreadable,
                    "unreadable".into(),
                    e.kind.to_string(),
                );
                p.file = e.path.display().to_string();
                w.problems.push(p);
                None
            }
            None => None,
        };
        if signature.is_none() {
            if let Some(next) = order.get(pos + 1).map(|&n| &files[n]) {
                if let Ok(nd) = &next.body {
                    let links_here = nd
                        .previous_object
                        .as_deref()
                        .is_some_and(|o| file_name(o) == f.file_name);
                    if let (true, Some(s)) = (links_here, &nd.previous_signature) {
                        signature = Some((s.clone(), "the next digest's previousDigestSignature"));
                    }
                }
            }
        }
        if cx.keys.is_empty() {
            w.signatures.not_checked += 1;
        } else if let Some((sig, from)) = signature {
            let fp = d.fingerprint.to_ascii_lowercase();
            let keys: Vec<&PublicKey> = cx.keys.iter().filter(|k| k.fingerprint == fp).collect();
            let message = d.string_to_sign();
            if keys.is_empty() {
                w.signatures.invalid += 1;
                w.problems.push(problem(
                    Level::Failure,
                    Code::SignatureInvalid,
                    "signature invalid".into(),
                    format!(
                        "no public key with fingerprint {fp} among the {} given",
                        cx.keys.len()
                    ),
                ));
            } else if keys
                .iter()
                .any(|k| verify_signature(&k.der, message.as_bytes(), &sig).is_ok())
            {
                w.signatures.verified += 1;
            } else {
                w.signatures.invalid += 1;
                w.problems.push(problem(
                    Level::Failure,
                    Code::SignatureInvalid,
                    "signature invalid".into(),
                    format!(
                        "the RSA-SHA256 signature from {from} does not verify with the public key {fp}"
                    ),
                ));
            }
        } else {
            w.signatures.not_checked += 1;
            w.problems.push(problem(
                Level::Note,
                Code::SignatureNotChecked,
                "signature not checked".into(),
                format!(
                    "no signature: save the digest's S3 metadata as {}.metadata.json (no later digest names it)",
                    f.file_name
                ),
            ));
        }

        if w.problems[before..]
            .iter()
            .any(|p| p.level == Level::Failure && p.code != Code::DigestMissing)
        {
            w.digests.invalid += 1;
        } else {
            w.digests.valid += 1;
        }
        prev = Some((f, d));
    }
    w
}
