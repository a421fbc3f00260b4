//! `trailaudit inventory PATH...`

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::progress::Bar;
use super::{check_paths_exist, emit, InputArgs, Status};
use crate::inventory::Inventory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files and directories of event history (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// text: a summary to read; json: the same inventory, machine-readable.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: &Args, quiet: bool) -> anyhow::Result<Status> {
    check_paths_exist(&args.paths)?;
    super::check_writable(args.output.as_deref())?;
    let bar = Bar::for_terminal(quiet, "reading");
    let (inv, partial) = crate::inventory::of_paths(
        &args.paths,
        args.input.chunk_rows,
        args.input.keys_in_memory,
        Bar::progress(&bar),
    )
    .context("summarising the event history")?;
    drop(bar);
    let text = match args.format {
        Format::Json => crate::report::escape::json_string(&inv, true)? + "\n",
        Format::Text => crate::report::render::terminal_text(&render_text(&inv)),
    };
    emit(args.output.as_deref(), &text)?;
    if partial && !quiet {
        eprintln!(
            "{}",
            crate::exit::partial_note(
                inv.failed_files.len(),
                inv.rejected_records,
                args.input.allow_partial
            )
        );
    }
    Ok(Status::decide(partial, args.input.allow_partial, 0, 0))
}

fn render_text(inv: &Inventory) -> String {
    let mut s = String::new();
    let formats: Vec<String> = inv
        .formats
        .iter()
        .map(|(f, n)| format!("{n} {f}"))
        .collect();
    let _ = writeln!(
        s,
        "Files:    {} examined: {} loaded{}, {} skipped, {} failed",
        inv.files,
        inv.loaded_files,
        if formats.is_empty() {
            String::new()
        } else {
            format!(" ({})", formats.join(", "))
        },
        inv.skipped_files.len(),
        inv.failed_files.len()
    );
    let _ = writeln!(
        s,
        "Events:   {} loaded, {} rejected{}",
        inv.events,
        inv.rejected_records,
        crate::inventory::duplicates_note(inv.duplicate_records)
    );
    if let (Some(first), Some(last)) = (&inv.first_event, &inv.last_event) {
        let _ = writeln!(s, "Period:   {first} .. {last}");
    }
    let _ = writeln!(s, "Accounts: {}", list_or_none(&inv.accounts));
    let _ = writeln!(s, "Regions:  {}", list_or_none(&inv.regions));

    let mut per_pair: BTreeMap<(&str, &str), (u64, u64, &str, &str)> = BTreeMap::new();
    for d in &inv.events_by_account_region_day {
        let e = per_pair
            .entry((&d.account, &d.region))
            .or_insert((0, 0, &d.date, &d.date));
        e.0 += d.events;
        e.1 += 1;
        e.3 = &d.date;
    }
    if !per_pair.is_empty() {
        let mut gaps: BTreeMap<(&str, &str), Vec<&crate::inventory::Gap>> = BTreeMap::new();
        for g in &inv.gaps {
            gaps.entry((&g.account, &g.region)).or_default().push(g);
        }
        let _ = writeln!(
            s,
            "\n{:<14} {:<16} {:>10} {:>6}  {:<23}  gaps",
            "account", "region", "events", "days", "first day .. last day"
        );
        for ((account, region), (events, days, first, last)) in &per_pair {
            let g = gaps
                .get(&(*account, *region))
                .map(|v| ranges(v))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{account:<14} {region:<16} {events:>10} {days:>6}  {first} .. {last}  {g}"
            );
        }
    }
    if !inv.gaps.is_empty() {
        let _ = writeln!(
            s,
            "\n{} day(s) in {} gap(s): UTC days with no record between days with records.",
            inv.gaps.iter().map(|g| g.days).sum::<u64>(),
            inv.gaps.len()
        );
    }
    if !inv.failed_files.is_empty() {
        let _ = writeln!(s, "\nFailed files ({}):", inv.failed_files.len());
        for f in &inv.failed_files {
            let _ = writeln!(s, "  {}: {}", f.path.display(), f.error);
        }
    }
    if !inv.rejections.is_empty() {
        let _ = writeln!(s, "\nRejected records ({}):", inv.rejected_records);
        for f in &inv.rejections {
            for r in &f.first {
                let line = r.line.map(|l| format!(" (line {l})")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {} record {}{line}: {}",
                    f.path.display(),
                    r.record,
                    r.reason
                );
            }
            if f.total > f.first.len() as u64 {
                let _ = writeln!(
                    s,
                    "  {}: {} more",
                    f.path.display(),
                    f.total - f.first.len() as u64
                );
            }
        }
    }
    if !inv.duplicates.is_empty() {
        let _ = writeln!(
            s,
            "\nDuplicate records ({}), copies of events loaded already:",
            inv.duplicate_records
        );
        for f in &inv.duplicates {
            let _ = writeln!(s, "  {}: {}", f.path.display(), f.records);
        }
    }
    if !inv.skipped_files.is_empty() {
        let _ = writeln!(s, "\nSkipped files ({}):", inv.skipped_files.len());
        for f in &inv.skipped_files {
            let _ = writeln!(s, "  {}: {}", f.path.display(), f.reason);
        }
    }
    s
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// `2024-01-02, 2024-01-05..2024-01-07 (3 days)` from the gaps of one account and region, in
/// order; long lists are cut.
fn ranges(gaps: &[&crate::inventory::Gap]) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = gaps
        .iter()
        .take(SHOWN)
        .map(|g| {
            if g.days == 1 {
                g.first.clone()
            } else {
                format!("{}..{} ({} days)", g.first, g.last, g.days)
            }
        })
        .collect();
    if gaps.len() > SHOWN {
        parts.push(format!("and {} more", gaps.len() - SHOWN));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn gap_ranges() {
        let gap = |first: &str, last: &str, days| crate::inventory::Gap {
            account: "1".into(),
            region: "r".into(),
            first: first.into(),
            last: last.into(),
            days,
        };
        let gaps = [
            gap("2024-01-02", "2024-01-02", 1),
            gap("2024-01-05", "2024-01-07", 3),
        ];
        let refs: Vec<_> = gaps.iter().collect();
        assert_eq!(
            super::ranges(&refs),
            "2024-01-02, 2024-01-05..2024-01-07 (3 days)"
        );
    }
}
