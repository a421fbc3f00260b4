//! `trailaudit query PATTERN PATH...`: hunt over event history with a filter pattern.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context};
use polars::prelude::*;
use serde_json::Value;

use super::progress::Bar;
use super::{check_paths_exist, emit, InputArgs, Status, TimeWindow};
use crate::events::{self, schema};
use crate::filter::{to_polars, Pattern};
use crate::query::Query;
use crate::report::escape::{csv_cell, json_string, json_text, terminal_escape};

/// Rows rendered at a time for a record-a-line output.
const SLICE_ROWS: usize = 4096;

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
    /// table: one line per record; json: an array of records; ndjson: one record per line;
    /// csv: one row per record, the --fields as columns.
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
    /// Write matches as they are read, in input order (files in path order, records in file
    /// order) instead of earliest first: memory stays constant whatever the number of matches.
    /// ndjson and csv only.
    #[arg(long)]
    input_order: bool,
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
    if args.input_order && !matches!(args.format, Format::Ndjson | Format::Csv) {
        bail!("--input-order writes ndjson or csv (give --format ndjson or --format csv)");
    }
    if args.input_order && args.limit.is_some() {
        bail!("--input-order writes every match; --limit picks the earliest: give one of them");
    }
    check_paths_exist(&args.paths)?;
    super::check_writable(args.output.as_deref())?;
    let window = args.window.bounds()?;
    let bar = Bar::for_terminal(quiet, "reading");
    let query = Query {
        pattern: &pattern,
        window,
        paths: &args.paths,
        options: events::LoadOptions {
            progress: Bar::progress(&bar),
            keys_in_memory: args.input.keys_in_memory,
            ..load_options(args, &pattern, &window)
        },
        chunk_rows: args.input.chunk_rows,
    };
    let accounting = if args.count {
        let (n, accounting) = anyhow::Context::context(query.count(), "evaluating the pattern")?;
        emit(args.output.as_deref(), &format!("{n}\n"))?;
        accounting
    } else if args.input_order {
        let mut out = Output::open(args.output.as_deref())?;
        let mut first = true;
        let accounting = query.in_input_order(|sources, rows| -> anyhow::Result<()> {
            let text = render(args, sources, &rows, first)?;
            first = false;
            out.write(&text)
        })?;
        if first && args.format == Format::Csv {
            // No match: the header alone.
            out.write(&csv_header(&fields(args)?))?;
        }
        out.finish()?;
        accounting
    } else {
        let (rows, accounting) =
            anyhow::Context::context(query.earliest(args.limit), "evaluating the pattern")?;
        drop(bar);
        let sources = accounting.sources();
        match args.format {
            // A record a line: written a slice of rows at a time, never held whole as text.
            Format::Ndjson | Format::Csv => {
                let mut out = Output::open(args.output.as_deref())?;
                let mut offset = 0;
                loop {
                    let part = rows.slice(offset as i64, SLICE_ROWS);
                    out.write(&render(args, &sources, &part, offset == 0)?)?;
                    offset += SLICE_ROWS;
                    if offset >= rows.height() {
                        break;
                    }
                }
                out.finish()?;
            }
            Format::Table | Format::Json => emit(
                args.output.as_deref(),
                &render(args, &sources, &rows, true)?,
            )?,
        }
        accounting
    };

    let partial = accounting.is_partial();
    if accounting.duplicate_records() > 0 && !quiet {
        eprintln!(
            "trailaudit: {} duplicate record(s) (copies of events loaded already) not matched \
             twice; `trailaudit inventory` lists them",
            accounting.duplicate_records()
        );
    }
    if partial && !quiet {
        eprintln!(
            "{}; `trailaudit inventory` lists them",
            crate::exit::partial_note(
                accounting.failed().count(),
                accounting.rejected_records(),
                args.input.allow_partial
            )
        );
    }
    Ok(Status::decide(partial, args.input.allow_partial, 0, 0))
}

/// Where a record-a-line output is written, a piece at a time. A closed pipe (`| head`) ends the output
/// quietly; the input is still read to the end, so its accounting is complete.
struct Output {
    writer: Box<dyn std::io::Write>,
    closed: bool,
}

impl Output {
    fn open(path: Option<&std::path::Path>) -> anyhow::Result<Output> {
        let writer: Box<dyn std::io::Write> = match path {
            Some(p) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(p)
                    .with_context(|| format!("cannot write {}", p.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        Ok(Output {
            writer,
            closed: false,
        })
    }

    fn write(&mut self, text: &str) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.writer.write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r.context("cannot write the output"),
        }
    }

    fn finish(mut self) -> anyhow::Result<()> {
        match self.writer.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.context("cannot write the output"),
        }
    }
}

/// A count needs only the columns the pattern and the window read (when the pattern can be
/// evaluated on columns); records to show need everything. No command output shows input
/// fingerprints, so none are computed.
fn load_options(
    args: &Args,
    pattern: &Pattern,
    window: &events::Window,
) -> events::LoadOptions<'static> {
    let time = schema::field("eventTime").map_or(0, |f| 1u32 << f.bit);
    let keep = match to_polars::columns_needed(pattern) {
        Some(fields) if args.count => {
            let windowed = window.from.is_some() || window.until.is_some();
            events::Keep::Columns(fields | if windowed { time } else { 0 })
        }
        _ => events::Keep::Whole,
    };
    events::LoadOptions::keeping(keep)
}

/// The records of `rows` in the output format; `header` for the first piece of a CSV.
fn render(
    args: &Args,
    sources: &[events::Source],
    rows: &DataFrame,
    header: bool,
) -> anyhow::Result<String> {
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
                .and_then(|id| sources.get(id as usize))
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

    let fields = fields(args)?;
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
                out.push_str(&json_text(t));
                out.push('\n');
            }
        }
        Format::Json if whole_records => {
            let raw: Vec<&serde_json::value::RawValue> = texts
                .iter()
                .map(|t| serde_json::from_str(t))
                .collect::<Result<_, _>>()?;
            out = json_string(&raw, true)? + "\n";
        }
        Format::Ndjson => {
            for i in 0..records.len() {
                out.push_str(&json_string(&selected(i), false)?);
                out.push('\n');
            }
        }
        Format::Json => {
            let all: Vec<Value> = (0..records.len()).map(selected).collect();
            out = json_string(&all, true)? + "\n";
        }
        Format::Csv => {
            if header {
                out.push_str(&csv_header(&fields));
            }
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

/// The record paths to show.
fn fields(args: &Args) -> anyhow::Result<Vec<String>> {
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
    Ok(fields)
}

fn csv_header(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_cell(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// A JSON value as display text: strings bare, null empty, anything else as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Record fields are attacker-controlled: no hostile character (terminal escape sequences,
/// bidirectional overrides) reaches the terminal, and long values are cut.
fn terminal_safe(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => terminal_escape(&s[..end]) + "…",
        None => terminal_escape(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_safe() {
        assert_eq!(terminal_safe("a\x1b[31mb", 60), "a\\u{1b}[31mb");
        assert_eq!(terminal_safe("a\u{202e}b", 60), "a\\u{202e}b");
        assert_eq!(terminal_safe("abcdef", 3), "abc…");
    }
}
