//! Delivery gaps, from the events themselves: periods between a StopLogging and the next
//! StartLogging of a trail, and silent stretches of hours for an account and region that
//! otherwise logs.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::Serialize;

use crate::events::record::format_event_time;
use crate::events::{schema, EventFrame, Source};

const HOUR: i64 = 3_600_000;

/// A trail stopped by StopLogging, until the next StartLogging (or the end of the evidence).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggingStopped {
    pub account: String,
    pub region: String,
    /// `requestParameters.name` of the calls: a trail name or ARN.
    pub trail: String,
    pub stopped: String,
    /// Null when no StartLogging follows in the evidence.
    pub started: Option<String>,
    pub minutes: i64,
    pub stopped_by: Option<String>,
    pub event_id: Option<String>,
}

/// Consecutive hours with no event for an account and region that has events in most hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilentHours {
    pub account: String,
    pub region: String,
    /// First silent hour's start and last silent hour's end.
    pub from: String,
    pub to: String,
    pub hours: i64,
    /// Share of hours with events over the account and region's span, 0..1.
    pub active_share: f64,
    /// The shortest silence reported for this account and region (see [`threshold`]).
    pub threshold_hours: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Gaps {
    pub logging_stopped: Vec<LoggingStopped>,
    pub silent_hours: Vec<SilentHours>,
}

/// The shortest run of silent hours worth reporting for an account and region with events in
/// `active` of `span` hours: a run that long would happen by chance less than once in a hundred
/// spans if hours were independent (`span * (1 - p)^L < 0.01`). Busy regions (every hour
/// active) report any silent hour; quiet ones only long silences. `None`: too little evidence.
pub fn threshold(active: i64, span: i64) -> Option<i64> {
    if active < 6 || span < 6 {
        return None;
    }
    let p = active as f64 / span as f64;
    if p >= 1.0 {
        return Some(1);
    }
    let l = (0.01 / span as f64).ln() / (1.0 - p).ln();
    Some((l.ceil() as i64).max(1))
}

/// Delivery gaps over the rows of `frame` in `window`.
pub fn delivery_gaps(frame: &EventFrame, window: Option<Expr>) -> PolarsResult<Gaps> {
    let mut lf = frame.df.clone().lazy();
    if let Some(w) = window {
        lf = lf.filter(w);
    }
    let mut tally = GapTally::default();
    tally.add(&lf.collect()?, &frame.accounting.sources())?;
    Ok(tally.finish())
}

/// A StopLogging or StartLogging call: time, stop?, region, caller, event id, trail as named.
type Call = (i64, bool, String, Option<String>, Option<String>, String);

/// What delivery gaps are found from, accumulated over chunks of event history: the hours with
/// events per account and region, and the StopLogging and StartLogging calls. Its size follows
/// the distinct hours and those calls, not the records.
#[derive(Debug, Default)]
pub struct GapTally {
    hours: BTreeMap<(String, String), BTreeSet<i64>>,
    /// (account, trail name) -> calls.
    calls: BTreeMap<(String, String), Vec<Call>>,
    last_event: Option<i64>,
}

impl GapTally {
    /// The columns [`GapTally::add`] reads.
    pub const COLUMNS: [&'static str; 9] = [
        "eventTime",
        "recipientAccountId",
        "userIdentity.accountId",
        "awsRegion",
        "eventSource",
        "eventName",
        "errorCode",
        "userIdentity.arn",
        "eventID",
    ];

    /// The records whose whole text [`GapTally::add`] reads (the trail a call names).
    pub const CALLS: &'static str = r#"{ $.eventSource = "cloudtrail.amazonaws.com" && ($.eventName = "StopLogging" || $.eventName = "StartLogging") }"#;

    pub fn add(&mut self, df: &DataFrame, sources: &[Source]) -> PolarsResult<()> {
        let str_col = |name: &str| df.column(name).and_then(|c| c.str());
        let times = df.column("eventTime")?.datetime()?.physical().clone();
        let accounts = str_col("recipientAccountId")?;
        let callers = str_col("userIdentity.accountId")?;
        let regions = str_col("awsRegion")?;
        let sources_col = str_col("eventSource")?;
        let names = str_col("eventName")?;
        let errors = str_col("errorCode")?;
        let arns = str_col("userIdentity.arn")?;
        let ids = str_col("eventID")?;
        let files = df.column(schema::FILE_ID)?.u32()?;
        let rest = str_col(schema::REST)?;
        if let Some(max) = times.max() {
            self.last_event = Some(self.last_event.map_or(max, |l| l.max(max)));
        }
        let mut chunk_hours: std::collections::HashSet<(&str, &str, i64)> =
            std::collections::HashSet::new();
        let mut last = None;
        for row in 0..df.height() {
            let Some(t) = times.get(row) else { continue };
            let key = files
                .get(row)
                .and_then(|id| sources.get(id as usize))
                .map(|f| &f.key);
            let account = crate::events::record_account(accounts.get(row), key, callers.get(row))
                .unwrap_or("unknown");
            let region = regions
                .get(row)
                .or_else(|| key.and_then(|k| k.region.as_deref()))
                .unwrap_or("unknown");
            let hour = t.div_euclid(HOUR);
            // Consecutive rows are mostly of one file: one account, region and hour.
            if last != Some((account, region, hour)) {
                chunk_hours.insert((account, region, hour));
                last = Some((account, region, hour));
            }
            let name = names.get(row);
            let is_call = sources_col.get(row) == Some("cloudtrail.amazonaws.com")
                && matches!(name, Some("StopLogging" | "StartLogging"))
                && errors.get(row).is_none();
            if is_call {
                let trail = rest
                    .get(row)
                    .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
                    .and_then(|v| {
                        v.pointer("/requestParameters/name")
                            .and_then(|n| n.as_str())
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| "(unnamed trail)".into());
                // A call may name the trail or give its ARN: pair them by name.
                let short = trail.rsplit(":trail/").next().unwrap_or(&trail).to_string();
                self.calls
                    .entry((account.to_string(), short))
                    .or_default()
                    .push((
                        t,
                        name == Some("StopLogging"),
                        region.to_string(),
                        arns.get(row).map(str::to_string),
                        ids.get(row).map(str::to_string),
                        trail,
                    ));
            }
        }
        for (account, region, hour) in chunk_hours {
            let key = (account.to_string(), region.to_string());
            self.hours.entry(key).or_default().insert(hour);
        }
        Ok(())
    }

    pub fn finish(self) -> Gaps {
        let mut gaps = Gaps::default();
        let last_event = self.last_event;
        for ((account, _), mut list) in self.calls {
            // Chunks come in any order: calls are ordered by time, then by event id.
            list.sort_by(|a, b| (a.0, &a.4).cmp(&(b.0, &b.4)));
            let mut stopped: Option<Call> = None;
            for c in list {
                match (c.1, &stopped) {
                    (true, None) => stopped = Some(c),
                    (false, Some(s)) => {
                        gaps.logging_stopped.push(LoggingStopped {
                            account: account.clone(),
                            region: s.2.clone(),
                            trail: s.5.clone(),
                            stopped: format_event_time(s.0),
                            started: Some(format_event_time(c.0)),
                            minutes: (c.0 - s.0) / 60_000,
                            stopped_by: s.3.clone(),
                            event_id: s.4.clone(),
                        });
                        stopped = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = stopped {
                gaps.logging_stopped.push(LoggingStopped {
                    account: account.clone(),
                    region: s.2.clone(),
                    trail: s.5.clone(),
                    stopped: format_event_time(s.0),
                    started: None,
                    minutes: (last_event.unwrap_or(s.0) - s.0) / 60_000,
                    stopped_by: s.3,
                    event_id: s.4,
                });
            }
        }

        for ((account, region), set) in self.hours {
            let (Some(&first), Some(&last)) = (set.first(), set.last()) else {
                continue;
            };
            let span = last - first + 1;
            let Some(min) = threshold(set.len() as i64, span) else {
                continue;
            };
            let stops: Vec<(i64, i64)> = gaps
                .logging_stopped
                .iter()
                .filter(|s| s.account == account)
                .filter_map(|s| {
                    let from = crate::events::record::parse_event_time(&s.stopped)?.0;
                    let to = s
                        .started
                        .as_deref()
                        .and_then(crate::events::record::parse_event_time)
                        .map_or(i64::MAX, |t| t.0);
                    Some((from.div_euclid(HOUR), to.div_euclid(HOUR)))
                })
                .collect();
            let v: Vec<i64> = set.into_iter().collect();
            for pair in v.windows(2) {
                let (a, b) = (pair[0] + 1, pair[1] - 1);
                let n = b - a + 1;
                // Silence that a StopLogging explains is reported as that, once.
                let explained = stops.iter().any(|&(s, e)| s <= a && b <= e);
                if n >= min && !explained {
                    gaps.silent_hours.push(SilentHours {
                        account: account.clone(),
                        region: region.clone(),
                        from: format_event_time(a * HOUR),
                        to: format_event_time((b + 1) * HOUR),
                        hours: n,
                        active_share: (v.len() as f64 / span as f64 * 1000.0).round() / 1000.0,
                        threshold_hours: min,
                    });
                }
            }
        }
        gaps
    }
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn thresholds() {
        assert_eq!(threshold(100, 100), Some(1));
        assert_eq!(threshold(3, 100), None);
        // Busy: a few hours; quiet: most of a day.
        let busy = threshold(95, 100).unwrap();
        let quiet = threshold(1200, 2184).unwrap();
        assert!((2..=4).contains(&busy), "{busy}");
        assert!((10..=24).contains(&quiet), "{quiet}");
    }
}
