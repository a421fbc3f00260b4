//! The command line: parse arguments, run one subcommand, map its outcome to an exit code.

mod inventory;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Exit codes. Stable: see the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No violation at or above `--fail-on`.
    Clean = 0,
    /// At least one violation at or above `--fail-on`.
    Violations = 1,
    /// Usage error, unreadable input, invalid policy, or partial evidence not allowed.
    Error = 2,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s as u8)
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "trailaudit",
    version,
    about = "Offline AWS CloudTrail compliance auditor"
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
}

/// Shared by every subcommand that reads event history.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Treat partial evidence (a failed file, a rejected record) as usable: exit 0 or 1 instead
    /// of 2. Every failure is still listed.
    #[arg(long)]
    pub allow_partial: bool,
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
