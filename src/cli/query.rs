//! `trailaudit query PATTERN PATH...`: hunt over event history with a filter pattern.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context};
use polars::prelude::*;
use serde_json::Value;

use super::{check_paths_exist, emit, InputArgs, Status, TimeWindow};
use crate::events::{self, schema};
use crate::filter::{to_polars, Pattern};

const DEFAULT_FIELDS: &str =
    "eventTime,recipientAccountId,awsRegion,eventSource,eventName,userIdentity.arn,sourceIPAddress,errorCode";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A CloudWatch Logs filter pattern, e.g. '{ $.eventName = "StopLogging" }'.
    pattern: String,
    /// Files and directories of event history (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print only the number of matching records.
    #[arg(long)]
    count: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Comma-separated record paths to show (`eventName`, `requestParameters.bucketName`, ...;
    /// `_file` and `_record_index` give provenance). Default for table and csv: a summary set;
    /// for json and ndjson: the whole record.
    #[arg(long, value_delimiter = ',')]
    fields: Vec<String>,
    /// Show at most N records (earliest first).
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    window: TimeWindow,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
}

pub fn run(args: &Args, quiet: bool) -> anyhow::Result<Status> {
    let pattern = Pattern::parse(&args.pattern)
        .map_err(|e| anyhow::anyhow!("invalid filter pattern: {e}"))?;
    check_paths_exist(&args.paths)?;
    let window = args.window.bounds()?;
    let frame = events::load_with(&args.paths, load_options(args, &pattern, &window));

    let info = to_polars::FrameInfo::of(&frame.df)?;
    let mut selection = to_polars::to_expr(&pattern, info);
    if let Some(w) = window.to_expr() {
        selection = w.and(selection);
    }
    let matched = frame.df.clone().lazy().filter(selection).collect();
    let matched = anyhow::Context::context(matched, "evaluating the pattern")?;

    let text = if args.count {
        format!("{}\n", matched.height())
    } else {
        let mut rows = matched.sort(
            ["eventTime", schema::FILE_ID, schema::RECORD_INDEX],
            SortMultipleOptions::default(),
        )?;
        if let Some(n) = args.limit {
            rows = rows.head(Some(n));
        }
        render(args, &frame, &rows)?
    };
    emit(args.output.as_deref(), &text)?;

    let partial = frame.is_partial();
    if partial && !quiet {
        let failed = frame.failed().count();
        eprintln!(
            "trailaudit: partial evidence: {failed} file(s) failed, {} record(s) rejected; `trailaudit inventory` lists them{}",
            frame.rejected_records(),
            if args.input.allow_partial { " (allowed by --allow-partial)" } else { "" }
        );
    }
    Ok(if partial && !args.input.allow_partial {
        Status::Error
    } else {
        Status::Clean
    })
}

/// A count needs only the columns the pattern and the window read (when the pattern can be
/// evaluated on columns); records to show need everything. No command output shows input
/// fingerprints, so none are computed.
fn load_options(args: &Args, pattern: &Pattern, window: &events::Window) -> events::LoadOptions {
    let time = schema::field("eventTime").map_or(0, |f| 1u32 << f.bit);
    let keep = match to_polars::columns_needed(pattern) {
        Some(fields) if args.count => {
            let windowed = window.from.is_some() || window.until.is_some();
            events::Keep::Columns(fields | if windowed { time } else { 0 })
        }
        _ => events::Keep::Whole,
    };
    events::LoadOptions {
        keep,
        fingerprints: false,
    }
}

fn render(args: &Args, frame: &events::EventFrame, rows: &DataFrame) -> anyhow::Result<String> {
    let texts = to_polars::records_json(rows)?;
    let whole_records =
        args.fields.is_empty() && matches!(args.format, Format::Json | Format::Ndjson);
    // Whole records are written as rebuilt; only picking fields needs them parsed.
    let records: Vec<Value> = if whole_records {
        Vec::new()
    } else {
        texts
            .iter()
            .map(|r| serde_json::from_str(r))
            .collect::<Result<_, _>>()
            .context("rebuilding records")?
    };
    let files = rows.column(schema::FILE_ID)?.u32()?;
    let indexes = rows.column(schema::RECORD_INDEX)?.u32()?;
    let provenance = |i: usize, name: &str| -> Value {
        match name {
            "_file" => files
                .get(i)
                .and_then(|id| frame.files.get(id as usize))
                .map(|f| Value::String(f.path.display().to_string()))
                .unwrap_or(Value::Null),
            _ => indexes.get(i).map(Value::from).unwrap_or(Value::Null),
        }
    };
    let field_value = |i: usize, name: &str| -> Value {
        if name == "_file" || name == "_record_index" {
            return provenance(i, name);
        }
        let mut v = &records[i];
        for key in name.split('.') {
            v = match v.get(key) {
                Some(child) => child,
                None => return Value::Null,
            };
        }
        v.clone()
    };

    let fields: Vec<String> = if args.fields.is_empty() {
        DEFAULT_FIELDS.split(',').map(str::to_string).collect()
    } else {
        args.fields
            .iter()
            .map(|f| f.trim().trim_start_matches("$.").to_string())
            .collect()
    };
    if fields.iter().any(String::is_empty) {
        bail!("--fields has an empty name");
    }
    let selected = |i: usize| -> Value {
        Value::Object(
            fields
                .iter()
                .map(|f| (f.clone(), field_value(i, f)))
                .collect(),
        )
    };

    let mut out = String::new();
    match args.format {
        // Whole records as rebuilt, in their own key order.
        Format::Ndjson if whole_records => {
            for t in &texts {
                out.push_str(t);
                out.push('\n');
            }
        }
        Format::Json if whole_records => {
            let raw: Vec<&serde_json::value::RawValue> = texts
                .iter()
                .map(|t| serde_json::from_str(t))
                .collect::<Result<_, _>>()?;
            out = serde_json::to_string_pretty(&raw)? + "\n";
        }
        Format::Ndjson => {
            for i in 0..records.len() {
                out.push_str(&selected(i).to_string());
                out.push('\n');
            }
        }
        Format::Json => {
            let all: Vec<Value> = (0..records.len()).map(selected).collect();
            out = serde_json::to_string_pretty(&all)? + "\n";
        }
        Format::Csv => {
            out.push_str(
                &fields
                    .iter()
                    .map(|f| csv_cell(f))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
            for i in 0..records.len() {
                let cells: Vec<String> = fields
                    .iter()
                    .map(|f| csv_cell(&plain(&field_value(i, f))))
                    .collect();
                out.push_str(&cells.join(","));
                out.push('\n');
            }
        }
        Format::Table => {
            const MAX_CELL: usize = 60;
            let cells: Vec<Vec<String>> = (0..records.len())
                .map(|i| {
                    fields
                        .iter()
                        .map(|f| terminal_safe(&plain(&field_value(i, f)), MAX_CELL))
                        .collect()
                })
                .collect();
            let widths: Vec<usize> = fields
                .iter()
                .enumerate()
                .map(|(c, f)| {
                    cells
                        .iter()
                        .map(|r| r[c].chars().count())
                        .chain([f.chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |row: &[String]| -> String {
                row.iter()
                    .zip(&widths)
                    .map(|(cell, w)| format!("{cell:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            let _ = writeln!(out, "{}", line(&fields));
            for row in &cells {
                let _ = writeln!(out, "{}", line(row));
            }
            let _ = writeln!(
                out,
                "({} record{})",
                cells.len(),
                if cells.len() == 1 { "" } else { "s" }
            );
        }
    }
    Ok(out)
}

/// A JSON value as display text: strings bare, null empty, anything else as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Record fields are attacker-controlled: no control character (terminal escape sequences)
/// reaches the terminal, and long values are cut.
fn terminal_safe(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn csv_cell(s: &str) -> String {
    // Cells starting with these are formulas to spreadsheet programs.
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_safe() {
        assert_eq!(terminal_safe("a\x1b[31mb", 60), "a\\u{1b}[31mb");
        assert_eq!(terminal_safe("abcdef", 3), "abc…");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd()"), "'=cmd()");
    }
}
