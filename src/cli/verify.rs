//! `trailaudit verify PATH...`: CloudTrail digest-chain validation, offline.

use std::fmt::Write;
use std::path::PathBuf;

use super::progress::Bar;
use super::{check_paths_exist, emit, safe, Status, TimeWindow};
use crate::integrity::{self, KeyRing, Level, Verification, Window};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The trail's S3 objects as downloaded: log files, digest files (`CloudTrail-Digest/`) and
    /// their saved metadata (`<digest>.metadata.json`), searched recursively.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// `aws cloudtrail list-public-keys` output (files, or directories searched for
    /// public-keys.json). Without it, signatures are not checked.
    #[arg(long, num_args = 1..)]
    public_keys: Vec<PathBuf>,
    /// Only digests whose period ends at or after this time, with the log files they list (a log
    /// file no digest lists: by the time in its name): `YYYY-MM-DD` (midnight UTC) or an
    /// RFC 3339 time.
    #[arg(long)]
    from: Option<String>,
    /// Only digests whose period ends before this time or in the hour after it (that hour's
    /// digest lists the files delivered up to it), with the log files they list (a log file no
    /// digest lists: by the time in its name): `YYYY-MM-DD` (through the end of that UTC day)
    /// or an RFC 3339 time (inclusive).
    #[arg(long)]
    to: Option<String>,
    /// text: the verification to read; json: the same, machine-readable.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: &Args, quiet: bool) -> anyhow::Result<Status> {
    check_paths_exist(&args.paths)?;
    super::check_writable(args.output.as_deref())?;
    check_paths_exist(&args.public_keys)?;
    let bounds = TimeWindow {
        from: args.from.clone(),
        to: args.to.clone(),
    }
    .bounds()?;
    let keys = KeyRing::load(&args.public_keys);
    if !args.public_keys.is_empty() && keys.files == 0 {
        anyhow::bail!("no public-keys.json under --public-keys");
    }
    // Keys asked for but none there must not read as "signatures not checked" and pass (a
    // key file that cannot be read is reported as unreadable, exit 2, in the report itself).
    if !args.public_keys.is_empty() && keys.keys.is_empty() && keys.errors.is_empty() {
        anyhow::bail!(
            "--public-keys gave no usable public key ({} public-keys.json file(s), every key \
             list empty): signatures cannot be checked",
            keys.files
        );
    }
    let window = Window {
        from: bounds.from,
        until: bounds.until,
    };
    let bar = Bar::for_terminal(quiet, "hashing log files");
    let v = integrity::verify_with(&args.paths, &keys, window, Bar::progress(&bar));
    drop(bar);
    if !v.has_digests() {
        anyhow::bail!(
            "no CloudTrail digest files under {}: nothing to verify (digests are written under \
             AWSLogs/<account>/CloudTrail-Digest/ when log file validation is on)",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let text = match args.format {
        Format::Json => crate::report::escape::json_string(&v, true)? + "\n",
        Format::Text => crate::report::render::terminal_text(&render_text(&v)),
    };
    emit(args.output.as_deref(), &text)?;
    if !quiet && !v.signatures_checked {
        eprintln!("trailaudit: signatures not checked: give --public-keys to check them");
    }
    Ok(status(&v))
}

/// 2 when some input could not be read (verify has no --allow-partial), else 1 on any
/// integrity failure.
pub fn status(v: &Verification) -> Status {
    Status::decide(v.unreadable > 0, false, 0, v.failures)
}

pub fn render_text(v: &Verification) -> String {
    let mut s = String::new();
    let f = &v.files;
    let archives = match f.archives {
        0 => String::new(),
        1 => " (members of 1 archive among them)".into(),
        n => format!(" (members of {n} archives among them)"),
    };
    let _ = writeln!(
        s,
        "Files:      {} examined{archives}: {} digest, {} signature metadata, {} log; {} skipped, {} outside the window, {} unreadable",
        f.examined, f.digest_files, f.signature_files, f.log_files, f.skipped, f.out_of_window, f.unreadable
    );
    if v.signatures_checked {
        let _ = writeln!(
            s,
            "Signatures: checked against {} public key(s)",
            v.public_keys
        );
    } else {
        let _ = writeln!(
            s,
            "Signatures: NOT CHECKED (no --public-keys given): hashes and chain links only"
        );
    }
    if v.from.is_some() || v.to.is_some() {
        let _ = writeln!(
            s,
            "Window:     {} .. {}",
            v.from.as_deref().unwrap_or("-"),
            v.to.as_deref().unwrap_or("-")
        );
    }
    for t in &v.trails {
        let _ = writeln!(s);
        let org = t
            .organization
            .as_deref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default();
        if t.trail.is_empty() {
            let _ = writeln!(
                s,
                "{}{org} {}: log files of no trail with digests",
                t.account,
                safe(&t.region)
            );
        } else {
            let _ = writeln!(
                s,
                "{}{org} {}  trail {} (home {})  {} .. {}",
                t.account,
                safe(&t.region),
                safe(&t.trail),
                safe(&t.home_region),
                t.first.as_deref().unwrap_or("-"),
                t.last.as_deref().unwrap_or("-")
            );
            let d = &t.digests;
            let _ = writeln!(
                s,
                "  digests:    {} valid, {} invalid, {} missing, {} unreadable{}",
                d.valid,
                d.invalid,
                d.missing,
                d.unreadable,
                if t.chain_restarts > 0 {
                    format!("; chain restarted {} time(s)", t.chain_restarts)
                } else {
                    String::new()
                }
            );
            let g = &t.signatures;
            let _ = writeln!(
                s,
                "  signatures: {} verified, {} invalid, {} not checked",
                g.verified, g.invalid, g.not_checked
            );
        }
        let l = &t.log_files;
        let _ = writeln!(
            s,
            "  log files:  {} valid, {} invalid, {} missing, {} unreadable, {} not in any digest, {} unverified",
            l.valid, l.invalid, l.missing, l.unreadable, t.log_files_not_in_any_digest, t.log_files_unverified
        );
    }
    if !v.problems.is_empty() {
        let _ = writeln!(s, "\nProblems ({}):", v.problems.len());
        for p in &v.problems {
            let level = match p.level {
                Level::Failure => "FAIL",
                Level::Unreadable => "ERROR",
                Level::Note => "note",
            };
            let _ = writeln!(
                s,
                "  {level:<5} {}: {}\n        {}",
                p.reason,
                safe(&p.file),
                safe(&p.detail)
            );
            const SHOWN: usize = 5;
            for u in p.unverified_log_files.iter().take(SHOWN) {
                let _ = writeln!(s, "        unverifiable log file: {}", safe(u));
            }
            if p.unverified_log_files.len() > SHOWN {
                let _ = writeln!(
                    s,
                    "        ... and {} more unverifiable log files",
                    p.unverified_log_files.len() - SHOWN
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n{}",
        match status(v) {
            Status::Clean =>
                "Result: VALID: every digest and listed log file checked verifies".to_string(),
            Status::Violations => format!("Result: INVALID: {} integrity failure(s)", v.failures),
            Status::Error => format!(
                "Result: INCOMPLETE: {} unreadable input(s), {} integrity failure(s)",
                v.unreadable, v.failures
            ),
        }
    );
    s
}
