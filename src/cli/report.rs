//! `trailaudit report REPORT.json`: render a saved JSON report without re-running the audit.

use std::path::PathBuf;

use anyhow::Context;

use super::audit::write_formats;
use super::Status;
use crate::report::render::Format;
use crate::report::Report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A report written by `trailaudit audit --format json`.
    report: PathBuf,
    /// One or more of text, json, md, sarif, junit (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "text")]
    format: Vec<Format>,
    /// Write to this file (one format) or directory (several) instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Use report.md.hbs from this directory instead of the built-in template.
    #[arg(long)]
    templates: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("cannot read {}", args.report.display()))?;
    let report: Report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a trailaudit JSON report", args.report.display()))?;
    write_formats(
        &report,
        &args.format,
        args.output.as_deref(),
        args.templates.as_deref(),
    )?;
    Ok(Status::Clean)
}
