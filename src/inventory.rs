//! What a body of evidence covers: files, records, accounts, regions, days, and day gaps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{Days, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use crate::events::record::format_event_time;
use crate::events::{schema, EventFrame, Format, InputFile, Outcome, RejectedRecord, Source};

/// Account or region of a record that neither the record nor its S3 key names.
pub const UNKNOWN: &str = "unknown";

/// The fields an inventory counts by.
pub const COUNTED: [&str; 4] = [
    "recipientAccountId",
    "userIdentity.accountId",
    "awsRegion",
    "eventTime",
];

/// The stable JSON of `trailaudit inventory --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// Every file examined: loaded + skipped + failed.
    pub files: u64,
    pub loaded_files: u64,
    /// Loaded files by shape.
    pub formats: BTreeMap<Format, u64>,
    pub events: u64,
    pub rejected_records: u64,
    /// Records not counted because the same event (`eventID` and account) was loaded already.
    pub duplicate_records: u64,
    pub failed_files: Vec<FailedFile>,
    pub skipped_files: Vec<SkippedFile>,
    /// Files with rejected records: the exact count and the first few with their reasons.
    pub rejections: Vec<FileRejections>,
    /// Files with duplicate records, and how many each.
    pub duplicates: Vec<FileDuplicates>,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub events_by_account_region_day: Vec<DayCount>,
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    pub path: PathBuf,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedFile {
    pub path: PathBuf,
    pub reason: String,
}

/// `, N duplicates counted once` after a count of events, when there are any: most histories
/// have none, and their summary line stays as it was.
pub fn duplicates_note(duplicates: u64) -> String {
    if duplicates == 0 {
        String::new()
    } else {
        format!(", {duplicates} duplicate(s) counted once")
    }
}

/// The duplicate records of one file ([`crate::events::InputFile::duplicates`]).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FileDuplicates {
    pub path: PathBuf,
    pub records: u64,
}

impl FileDuplicates {
    /// The files of `files` with duplicate records.
    pub fn of(files: &[InputFile]) -> Vec<FileDuplicates> {
        files
            .iter()
            .filter(|f| f.duplicates > 0)
            .map(|f| FileDuplicates {
                path: f.path.clone(),
                records: f.duplicates,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileRejections {
    pub path: PathBuf,
    pub total: u64,
    pub first: Vec<RejectedRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DayCount {
    pub account: String,
    pub region: String,
    /// UTC day, `YYYY-MM-DD`.
    pub date: String,
    pub events: u64,
}

/// A run of UTC days with no record for an account and region that has records on the days
/// before and after: one entry per run, so its size follows the records, not the span of their
/// dates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Gap {
    pub account: String,
    pub region: String,
    /// First and last day without records, `YYYY-MM-DD`.
    pub first: String,
    pub last: String,
    pub days: u64,
}

/// The inventory of the event history under `paths`, read as a stream of chunks of
/// `chunk_rows` rows (and `keys_in_memory`: [`crate::events::LoadOptions::keys_in_memory`]), and
/// whether the evidence is partial.
pub fn of_paths(
    paths: &[PathBuf],
    chunk_rows: usize,
    keys_in_memory: usize,
    progress: Option<&dyn crate::events::Progress>,
) -> PolarsResult<(Inventory, bool)> {
    let mut tally = Tally::default();
    // An inventory shows no record text and no fingerprints: only the columns it counts by.
    let options = crate::events::LoadOptions {
        progress,
        keys_in_memory,
        ..crate::events::LoadOptions::keeping(crate::events::Keep::fields(&COUNTED))
    };
    let accounting = crate::events::stream(paths, options, chunk_rows, |sources, chunk| {
        tally.add(&chunk, sources)
    })?;
    Ok((tally.finish(&accounting.files), accounting.is_partial()))
}

impl Inventory {
    /// The inventory of a whole frame.
    pub fn of(frame: &EventFrame) -> PolarsResult<Inventory> {
        let mut tally = Tally::default();
        tally.add(&frame.df, &frame.accounting.sources())?;
        Ok(tally.finish(&frame.accounting.files))
    }
}

/// Counts per account, region and UTC day, and the first and last event, accumulated over
/// chunks of event history: what an inventory, the report's scope and its activity charts
/// need. Its size follows the distinct (account, region, day) triples, not the records.
#[derive(Debug, Default)]
pub struct Tally {
    counts: std::collections::HashMap<(String, String, i32), u64>,
    events: u64,
    first: Option<i64>,
    last: Option<i64>,
}

impl Tally {
    pub fn add(&mut self, df: &DataFrame, sources: &[Source]) -> PolarsResult<()> {
        // One pass over four columns; the keys have few distinct values, so this needs next to
        // no memory (a polars group_by on the string keys doubled the peak).
        let accounts = df.column("recipientAccountId")?.str()?;
        let callers = df.column("userIdentity.accountId")?.str()?;
        let regions = df.column("awsRegion")?.str()?;
        let file_ids = df.column(schema::FILE_ID)?.u32()?;
        let times = df.column("eventTime")?.datetime()?.physical();
        let mut counts: std::collections::HashMap<(&str, &str, i32), u64> =
            std::collections::HashMap::new();
        self.events += df.height() as u64;
        for ((((account, caller), region), file), time) in accounts
            .iter()
            .zip(callers.iter())
            .zip(regions.iter())
            .zip(file_ids.iter())
            .zip(times.iter())
        {
            let Some(ms) = time else { continue };
            let key = file.and_then(|id| sources.get(id as usize)).map(|f| &f.key);
            let account = crate::events::record_account(account, key, caller).unwrap_or(UNKNOWN);
            let region = region
                .or_else(|| key.and_then(|k| k.region.as_deref()))
                .unwrap_or(UNKNOWN);
            let day = ms.div_euclid(86_400_000) as i32;
            *counts.entry((account, region, day)).or_default() += 1;
            self.first = Some(self.first.map_or(ms, |f| f.min(ms)));
            self.last = Some(self.last.map_or(ms, |l| l.max(ms)));
        }
        for ((account, region, day), n) in counts {
            *self
                .counts
                .entry((account.to_string(), region.to_string(), day))
                .or_default() += n;
        }
        Ok(())
    }

    /// `events` records of `account` and `region` on `day` (days since the epoch), the
    /// earliest and latest at `first` and `last` (ms): an aggregate counted elsewhere (Athena's
    /// `GROUP BY`).
    pub fn add_counted(
        &mut self,
        account: &str,
        region: &str,
        day: i32,
        events: u64,
        first: i64,
        last: i64,
    ) {
        self.events += events;
        *self
            .counts
            .entry((account.to_string(), region.to_string(), day))
            .or_default() += events;
        self.first = Some(self.first.map_or(first, |f| f.min(first)));
        self.last = Some(self.last.map_or(last, |l| l.max(last)));
    }

    /// `events` records counted elsewhere that have no readable time: on no day.
    pub fn add_uncounted(&mut self, events: u64) {
        self.events += events;
    }

    /// The inventory, with the accounting of every input file.
    pub fn finish(self, files: &[InputFile]) -> Inventory {
        let mut inv = Inventory {
            files: files.len() as u64,
            loaded_files: 0,
            formats: BTreeMap::new(),
            events: self.events,
            rejected_records: files.iter().map(|f| f.rejections.total).sum(),
            duplicate_records: files.iter().map(|f| f.duplicates).sum(),
            failed_files: Vec::new(),
            skipped_files: Vec::new(),
            rejections: Vec::new(),
            duplicates: FileDuplicates::of(files),
            first_event: None,
            last_event: None,
            accounts: Vec::new(),
            regions: Vec::new(),
            events_by_account_region_day: Vec::new(),
            gaps: Vec::new(),
        };
        for f in files {
            match &f.outcome {
                Outcome::Loaded { format, .. } => {
                    inv.loaded_files += 1;
                    *inv.formats.entry(*format).or_default() += 1;
                }
                Outcome::Skipped { reason } => inv.skipped_files.push(SkippedFile {
                    path: f.path.clone(),
                    reason: reason.clone(),
                }),
                Outcome::Failed { error } => inv.failed_files.push(FailedFile {
                    path: f.path.clone(),
                    error: error.to_string(),
                }),
            }
            if f.rejections.total > 0 {
                inv.rejections.push(FileRejections {
                    path: f.path.clone(),
                    total: f.rejections.total,
                    first: f.rejections.first.clone(),
                });
            }
        }
        if let (Some(first), Some(last)) = (self.first, self.last) {
            inv.first_event = Some(format_event_time(first));
            inv.last_event = Some(format_event_time(last));
        }
        let by_day: BTreeMap<(String, String, i32), u64> = self.counts.into_iter().collect();
        let mut accounts = BTreeSet::new();
        let mut regions = BTreeSet::new();
        let mut days_of: BTreeMap<(String, String), Vec<i32>> = BTreeMap::new();
        for ((account, region, day), n) in by_day {
            accounts.insert(account.clone());
            regions.insert(region.clone());
            inv.events_by_account_region_day.push(DayCount {
                account: account.clone(),
                region: region.clone(),
                date: day_string(day),
                events: n,
            });
            days_of.entry((account, region)).or_default().push(day);
        }
        for ((account, region), days) in days_of {
            // `days` is sorted: it comes from a BTreeMap keyed by (account, region, day).
            for pair in days.windows(2).filter(|p| p[1] - p[0] > 1) {
                inv.gaps.push(Gap {
                    account: account.clone(),
                    region: region.clone(),
                    first: day_string(pair[0] + 1),
                    last: day_string(pair[1] - 1),
                    days: (pair[1] - pair[0] - 1) as u64,
                });
            }
        }
        inv.accounts = accounts.into_iter().collect();
        inv.regions = regions.into_iter().collect();
        inv
    }
}

/// How far event evidence covers a requested window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// Why the evidence does not cover the request (none: it does). Each makes the evidence
    /// partial: no record in the window, or the window reaching past the evidence's first or
    /// last day.
    pub shortfalls: Vec<String>,
    /// With a window: per account and region, the runs of the window's days without records
    /// (before its first day with records, after its last, and gaps between).
    pub uncovered: Vec<Gap>,
}

/// What `scoped` (the inventory of the records in `window`) covers of `window`. Days are UTC;
/// an open end of the window is the evidence's own first or last day.
pub fn coverage(scoped: &Inventory, window: crate::events::Window) -> Coverage {
    let mut c = Coverage::default();
    let day_of = |ms: i64| ms.div_euclid(86_400_000) as i32;
    let parse_day = |t: &Option<String>| {
        t.as_deref()
            .and_then(crate::events::record::parse_event_time)
            .map(|(ms, _)| day_of(ms))
    };
    let (Some(first), Some(last)) = (
        parse_day(&scoped.first_event),
        parse_day(&scoped.last_event),
    ) else {
        c.shortfalls.push(if window.is_open() {
            "the event history holds no record".into()
        } else {
            "no record of the event history falls in the requested window".into()
        });
        return c;
    };
    if window.is_open() {
        return c;
    }
    // The window's first and last day; `until` is exclusive.
    let from = window.from.map_or(first, day_of);
    let to = window.until.map_or(last, |u| day_of(u - 1));
    if from < first {
        c.shortfalls.push(format!(
            "the window starts {} but the first record in it is of {}",
            day_string(from),
            day_string(first)
        ));
    }
    if to > last {
        c.shortfalls.push(format!(
            "the window ends {} but the last record in it is of {}",
            day_string(to),
            day_string(last)
        ));
    }
    let mut span: BTreeMap<(&str, &str), (i32, i32)> = BTreeMap::new();
    for d in &scoped.events_by_account_region_day {
        let Some(day) = d.date.parse::<NaiveDate>().ok().map(day_number) else {
            continue;
        };
        let e = span.entry((&d.account, &d.region)).or_insert((day, day));
        e.0 = e.0.min(day);
        e.1 = e.1.max(day);
    }
    let run = |account: &str, region: &str, a: i32, b: i32| Gap {
        account: account.to_string(),
        region: region.to_string(),
        first: day_string(a),
        last: day_string(b),
        days: (b - a + 1) as u64,
    };
    for ((account, region), (a, b)) in span {
        if from < a {
            c.uncovered.push(run(account, region, from, a - 1));
        }
        c.uncovered.extend(
            scoped
                .gaps
                .iter()
                .filter(|g| g.account == account && g.region == region)
                .cloned(),
        );
        if b < to {
            c.uncovered.push(run(account, region, b + 1, to));
        }
    }
    c
}

/// Days from 1970-01-01 to `d`.
fn day_number(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() as i32
}

/// `YYYY-MM-DD` of a day number counted from 1970-01-01.
pub fn day_string(day: i32) -> String {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let date = if day >= 0 {
        epoch.checked_add_days(Days::new(day as u64))
    } else {
        epoch.checked_sub_days(Days::new(day.unsigned_abs() as u64))
    };
    date.map(|d| d.to_string())
        .unwrap_or_else(|| day.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(days: &[(&str, &str, &str)]) -> Inventory {
        let mut inv = Tally::default().finish(&[]);
        for (account, region, date) in days {
            inv.events_by_account_region_day.push(DayCount {
                account: account.to_string(),
                region: region.to_string(),
                date: date.to_string(),
                events: 1,
            });
        }
        inv.first_event = days.iter().map(|d| format!("{}T00:00:00Z", d.2)).min();
        inv.last_event = days.iter().map(|d| format!("{}T12:00:00Z", d.2)).max();
        inv
    }

    fn ms(day: &str) -> i64 {
        crate::events::record::parse_event_time(&format!("{day}T00:00:00Z"))
            .unwrap()
            .0
    }

    #[test]
    fn coverage_of_a_window() {
        let inv = inventory(&[
            ("1", "us-east-1", "2026-07-02"),
            ("1", "us-east-1", "2026-07-09"),
            ("2", "eu-west-1", "2026-07-05"),
        ]);
        assert!(coverage(&inv, crate::events::Window::default())
            .shortfalls
            .is_empty());
        // 2026-07-01 .. 2026-07-10: a day before the first record, one after the last.
        let window = crate::events::Window {
            from: Some(ms("2026-07-01")),
            until: Some(ms("2026-07-11")),
        };
        let c = coverage(&inv, window);
        assert_eq!(c.shortfalls.len(), 2, "{c:?}");
        let runs: Vec<(&str, &str, &str, u64)> = c
            .uncovered
            .iter()
            .map(|g| {
                (
                    g.account.as_str(),
                    g.first.as_str(),
                    g.last.as_str(),
                    g.days,
                )
            })
            .collect();
        assert_eq!(
            runs,
            [
                ("1", "2026-07-01", "2026-07-01", 1),
                ("1", "2026-07-10", "2026-07-10", 1),
                ("2", "2026-07-01", "2026-07-04", 4),
                ("2", "2026-07-06", "2026-07-10", 5),
            ]
        );
        let empty = coverage(&inventory(&[]), window);
        assert_eq!(
            empty.shortfalls,
            ["no record of the event history falls in the requested window"]
        );
    }

    #[test]
    fn day_strings() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(19_935), "2024-07-31");
        assert_eq!(day_string(-1), "1969-12-31");
    }
}
