//! `trailaudit report REPORT.json`: render a saved JSON report without re-running the audit.

use std::path::PathBuf;

use anyhow::Context;

use super::audit::OutputArgs;
use super::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A report written by `trailaudit audit --format json`.
    report: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    let templates = args.out.check()?;
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("cannot read {}", args.report.display()))?;
    let report = crate::report::read(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.report.display()))?;
    args.out.write(&report, &templates)?;
    Ok(Status::Clean)
}
