//! The command line: parse arguments, run one subcommand, map its outcome to an exit code.

mod athena;
mod audit;
mod collect;
mod frameworks;
mod iac;
mod inventory;
mod policy;
mod progress;
mod query;
mod report;
mod sql;
mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::events::Window;

pub use crate::exit::Exit as Status;

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s as u8)
    }
}

/// The README's "Exit codes", shown under `--help` (top level and `audit`).
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success: no failing policy at or above --fail-on (default high; never: whatever fails)
  1  at least one violation at or above --fail-on; for verify, any integrity failure
  2  usage error, a path that does not exist, an invalid policy file, a policy that could not
     be evaluated, an input verify could not read, or partial evidence (a failed file, a
     rejected record, an unrecognised configuration file, a failed collection call, or for
     audit an empty history or one that does not cover --from/--to) without --allow-partial";

#[derive(Debug, Parser)]
#[command(
    name = "trailaudit",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("TRAILAUDIT_COMMIT"), ")"),
    about = "Offline AWS CloudTrail compliance auditor",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print no messages on stderr, only the requested output.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What the event history covers: files, records, accounts, regions, days and gaps.
    Inventory(inventory::Args),
    /// Hunt over event history with a CloudWatch Logs filter pattern.
    Query(query::Args),
    /// Run the policy set over trail configuration and event history.
    #[command(after_help = EXIT_CODES)]
    Audit(Box<audit::Args>),
    /// List, explain and test policies.
    Policy(policy::Args),
    /// List the framework keys (for `--framework` and policy files) with their full names.
    Frameworks(frameworks::Args),
    /// Render a saved JSON report (from `audit --format json`) in other formats.
    Report(report::Args),
    /// Collect the configuration evidence (and optionally the event history) live through the
    /// AWS SDK, in the layout `audit --config` reads.
    Collect(collect::Args),
    /// Check CloudTrail digest files offline: log file hashes, the digest chain, signatures.
    Verify(verify::Args),
    /// Print a filter pattern (or an event policy) as SQL over the Athena CloudTrail table.
    Sql(sql::Args),
    /// Amazon Athena helpers: `athena ddl` prints the CloudTrail table for a trail's bucket.
    Athena(athena::Args),
    /// Judge the CIS monitoring chain (trail, log group, metric filters, alarms, SNS topics)
    /// that Terraform or CloudFormation templates declare, before it is deployed: the same
    /// policies and verdicts as `audit --config`.
    #[command(after_help = EXIT_CODES)]
    Iac(iac::Args),
}

/// Shared by every subcommand that reads event history.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Treat partial evidence (a failed file, a rejected record) as usable: exit 0 or 1 instead
    /// of 2. Every failure is still listed.
    #[arg(long)]
    pub allow_partial: bool,
    /// Records per chunk of event history: memory holds a few chunks at a time, whatever the
    /// size of the history.
    #[arg(long, value_name = "ROWS", default_value_t = crate::events::DEFAULT_CHUNK_ROWS, hide = true)]
    pub chunk_rows: usize,
    /// Bytes of event keys (to recognise copies of an event) held in memory before the least
    /// recently used are written to a temporary file.
    #[arg(long, value_name = "BYTES", default_value_t = crate::events::dedup::BUDGET, hide = true)]
    pub keys_in_memory: usize,
}

/// `--from` / `--to`, shared by every subcommand that reads event history.
#[derive(Debug, clap::Args)]
pub struct TimeWindow {
    /// Only events at or after this time: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
    #[arg(long)]
    pub from: Option<String>,
    /// Only events up to this time: `YYYY-MM-DD` (through the end of that UTC day) or an
    /// RFC 3339 time (inclusive).
    #[arg(long)]
    pub to: Option<String>,
}

impl TimeWindow {
    pub fn bounds(&self) -> anyhow::Result<Window> {
        let parse = |flag: &str, text: &str, end: bool| -> anyhow::Result<i64> {
            if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                let day = if end {
                    day.succ_opt().unwrap_or(day)
                } else {
                    day
                };
                let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
                return Ok(midnight.and_utc().timestamp_millis());
            }
            let t = chrono::DateTime::parse_from_rfc3339(text).with_context(|| {
                format!("{flag} {text:?}: expected YYYY-MM-DD or an RFC 3339 time")
            })?;
            Ok(t.timestamp_millis() + i64::from(end))
        };
        let b = Window {
            from: self
                .from
                .as_deref()
                .map(|t| parse("--from", t, false))
                .transpose()?,
            until: self
                .to
                .as_deref()
                .map(|t| parse("--to", t, true))
                .transpose()?,
        };
        if let (Some(f), Some(u)) = (b.from, b.until) {
            if f >= u {
                anyhow::bail!("--from is not before --to");
            }
        }
        Ok(b)
    }
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Status::Error
            } else {
                Status::Clean
            }
            .into();
        }
    };
    let result = match &cli.command {
        Command::Inventory(args) => inventory::run(args, cli.quiet),
        Command::Query(args) => query::run(args, cli.quiet),
        Command::Audit(args) => audit::run(args, cli.quiet),
        Command::Policy(args) => policy::run(args),
        Command::Frameworks(args) => frameworks::run(args),
        Command::Report(args) => report::run(args),
        Command::Collect(args) => collect::run(args, cli.quiet),
        Command::Verify(args) => verify::run(args, cli.quiet),
        Command::Sql(args) => sql::run(args),
        Command::Athena(args) => athena::run(args),
        Command::Iac(args) => iac::run(args, cli.quiet),
    };
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            Status::Error.into()
        }
    }
}

/// Writes `text` to `output`, or to stdout when there is none.
pub(crate) fn emit(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                // A closed pipe (`| head`) is not an error of ours.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to stdout"),
            }
        }
    }
}

/// An output file that cannot be written is a usage error, found before any input is read (the
/// file is created empty if it did not exist; nothing in it is overwritten yet).
pub(crate) fn check_writable(output: Option<&Path>) -> anyhow::Result<()> {
    let Some(file) = output else { return Ok(()) };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map(drop)
        .with_context(|| format!("cannot write {}", file.display()))
}

/// Paths named on the command line that do not exist are a usage error, reported together.
pub(crate) fn check_paths_exist(paths: &[PathBuf]) -> anyhow::Result<()> {
    let missing: Vec<String> = paths
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("no such file or directory: {}", missing.join(", "))
    }
}

pub(crate) use crate::report::render::terminal_escape as safe;
