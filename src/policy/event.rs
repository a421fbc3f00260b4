//! Event policies over a stream of chunks of event history. Each chunk is evaluated once for
//! every policy (one Boolean column per policy); only what the findings need survives it: per
//! finding the exact count, the first and last events in full, and, for policies with a time
//! window, the time of every matching event. Results do not depend on how the history was cut
//! into chunks, nor on the order chunks arrive in: events are ordered by (time, file, record).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;

use super::{Check, Policy};
use crate::events::record::format_event_time;
use crate::events::{schema, LoadOptions, Source};
use crate::filter::to_polars;
use crate::finding::{Breakdown, EvidenceEvent, Finding, Outcome, MAX_EVENT_IDS, MAX_PARAMETERS};

/// Columns every evidence event reads.
const EVIDENCE_COLUMNS: [&str; 14] = [
    "readOnly",
    "userIdentity.invokedBy",
    "eventTime",
    "eventID",
    "recipientAccountId",
    "userIdentity.accountId",
    "awsRegion",
    "userIdentity.arn",
    "sourceIPAddress",
    "eventSource",
    "eventName",
    "errorCode",
    "userAgent",
    "userIdentity.type",
];

/// Where an event stands in the history: time (events without one first), then file and record.
type Key = (i64, u32, u32);

/// The event policies of an audit, accumulating their findings over chunks.
pub struct EventPolicies<'p> {
    policies: Vec<&'p Policy>,
    /// Evidence events kept at each end of a finding.
    evidence: usize,
    columns: Vec<String>,
    state: Vec<Matches>,
}

/// One policy's matches so far.
#[derive(Default)]
struct Matches {
    total: u64,
    groups: HashMap<Vec<String>, Group>,
}

/// One group's matches (a finding, if it passes the threshold).
#[derive(Default)]
struct Group {
    count: u64,
    /// The group's earliest event: where the finding's account, region and resource come from.
    head: Option<(Key, Head)>,
    /// The group's latest event.
    latest: Option<Key>,
    /// The earliest events (up to N) and the latest (up to N), in full.
    first: BTreeMap<Key, EvidenceEvent>,
    last: BTreeMap<Key, EvidenceEvent>,
    /// The earliest event ids.
    ids: BTreeMap<Key, String>,
    /// Policies with a time window: every matching event, to find the densest window.
    times: Vec<Key>,
    /// What the events were: changes or refused attempts, read-only, made by a service.
    breakdown: Breakdown,
}

#[derive(Clone)]
struct Head {
    account: String,
    region: String,
    principal: Option<String>,
}

impl Head {
    /// For a finding none of whose events could be read.
    fn unknown() -> Head {
        Head {
            account: crate::inventory::UNKNOWN.into(),
            region: crate::inventory::UNKNOWN.into(),
            principal: None,
        }
    }

    /// The finding's resource: the principal, else the most specific group key value.
    fn resource(&self, group_key: &[String]) -> String {
        self.principal
            .clone()
            .or_else(|| group_key.iter().rev().find(|v| !v.is_empty()).cloned())
            .unwrap_or_else(|| "(unknown principal)".into())
    }
}

/// Keeps the `cap` smallest (or largest) keys of a map.
fn keep<V>(map: &mut BTreeMap<Key, V>, cap: usize, largest: bool) {
    while map.len() > cap {
        if largest {
            map.pop_first();
        } else {
            map.pop_last();
        }
    }
}

/// Whether `key` would be kept among the `cap` smallest (or largest) of `map`.
fn enters<V>(map: &BTreeMap<Key, V>, key: &Key, cap: usize, largest: bool) -> bool {
    if cap == 0 {
        return false;
    }
    if map.len() < cap {
        return true;
    }
    if largest {
        map.first_key_value().is_some_and(|(k, _)| key > k)
    } else {
        map.last_key_value().is_some_and(|(k, _)| key < k)
    }
}

impl<'p> EventPolicies<'p> {
    /// `policies` are event policies (others are judged not applicable); `evidence` is N, the
    /// events kept in full at each end of a finding.
    pub fn new(policies: Vec<&'p Policy>, evidence: usize) -> Self {
        let mut columns: Vec<String> = EVIDENCE_COLUMNS.iter().map(|c| c.to_string()).collect();
        columns.extend([
            schema::FILE_ID.to_string(),
            schema::RECORD_INDEX.to_string(),
            schema::RECORD_OFFSET.to_string(),
            schema::RECORD_LENGTH.to_string(),
            schema::RECORD_LINE.to_string(),
            schema::REST.to_string(),
        ]);
        for p in &policies {
            if let Check::Event { group_by, .. } = &p.check {
                for g in group_by {
                    if !columns.contains(g) {
                        columns.push(g.clone());
                    }
                }
            }
        }
        let state = policies.iter().map(|_| Matches::default()).collect();
        EventPolicies {
            policies,
            evidence,
            columns,
            state,
        }
    }

    /// What these policies read of each record: the columns (by name) and the patterns, for a
    /// load that keeps only that ([`crate::filter::prefilter`]).
    pub fn reads(&self) -> (Vec<&str>, Vec<crate::filter::Pattern>) {
        let patterns = self
            .policies
            .iter()
            .filter_map(|p| match &p.check {
                Check::Event { pattern, .. } => Some(pattern.clone()),
                _ => None,
            })
            .collect();
        (self.columns.iter().map(String::as_str).collect(), patterns)
    }

    /// Evaluates every policy on one chunk of the history in scope.
    pub fn add(&mut self, chunk: &DataFrame, sources: &[Source]) -> PolarsResult<()> {
        let info = to_polars::FrameInfo::of(chunk)?;
        let mut select: Vec<Expr> = self.columns.iter().map(|c| col(c.as_str())).collect();
        for (i, p) in self.policies.iter().enumerate() {
            if let Check::Event { pattern, .. } = &p.check {
                select.push(to_polars::to_expr(pattern, info).alias(format!("__policy{i}")));
            }
        }
        let evaluated = chunk.clone().lazy().select(select).collect()?;
        for (i, p) in self.policies.iter().enumerate() {
            let Check::Event {
                group_by,
                window_ms,
                ..
            } = &p.check
            else {
                continue;
            };
            let mask = evaluated.column(&format!("__policy{i}"))?.bool()?;
            if mask.sum().unwrap_or(0) == 0 {
                continue;
            }
            let matched = evaluated.filter(mask)?;
            let rows = Rows::of(&matched, sources, None)?;
            let keys: Vec<Column> = group_by
                .iter()
                .map(|g| matched.column(g).cloned())
                .collect::<PolarsResult<_>>()?;
            let state = &mut self.state[i];
            state.total += matched.height() as u64;
            for row in 0..matched.height() {
                let group_key: Vec<String> = group_by
                    .iter()
                    .zip(&keys)
                    .map(|(g, c)| match c.get(row) {
                        // One principal's records of every version make one group.
                        _ if g == "recipientAccountId" => {
                            rows.account(row).unwrap_or_default().to_string()
                        }
                        Ok(AnyValue::Null) | Err(_) => String::new(),
                        Ok(v) => v.str_value().to_string(),
                    })
                    .collect();
                let group = state.groups.entry(group_key).or_default();
                let key = rows.key(row);
                group.count += 1;
                if window_ms.is_some() {
                    // Which events a window finding shows is known only at the end.
                    group.times.push(key);
                    continue;
                }
                group.breakdown.add(
                    rows.errors.get(row),
                    rows.read_only.get(row) == Some(true),
                    rows.invoked_by.get(row),
                );
                if group.head.as_ref().is_none_or(|(k, _)| key < *k) {
                    group.head = Some((key, rows.head(row)));
                }
                if group.latest.is_none_or(|k| key > k) {
                    group.latest = Some(key);
                }
                if enters(&group.ids, &key, MAX_EVENT_IDS, false) {
                    if let Some(id) = rows.ids.get(row) {
                        group.ids.insert(key, id.to_string());
                        keep(&mut group.ids, MAX_EVENT_IDS, false);
                    }
                }
                let n = self.evidence;
                if enters(&group.first, &key, n, false) {
                    group.first.insert(key, rows.evidence(row));
                    keep(&mut group.first, n, false);
                }
                if enters(&group.last, &key, n, true) {
                    group.last.insert(key, rows.evidence(row));
                    keep(&mut group.last, n, true);
                }
            }
        }
        Ok(())
    }

    /// Every policy's outcome, in the order given. Window findings show the events of their
    /// densest window, read again from their files (only those events).
    pub fn finish(self, sources: &[Source]) -> PolarsResult<Vec<Outcome>> {
        let reread = |file: u32| -> PolarsResult<DataFrame> {
            let Some(source) = sources.get(file as usize) else {
                return Ok(DataFrame::empty());
            };
            let options = LoadOptions::keeping(crate::events::Keep::Whole);
            Ok(crate::events::load_with(std::slice::from_ref(&source.path), options).df)
        };
        self.finish_with(sources, &reread)
    }

    /// [`finish`](Self::finish), reading a window finding's events again through `reread`:
    /// the whole records of one `_file_id` (for evidence that is not in local files).
    pub fn finish_with(
        self,
        sources: &[Source],
        reread: &dyn Fn(u32) -> PolarsResult<DataFrame>,
    ) -> PolarsResult<Vec<Outcome>> {
        let evidence = self.evidence;
        let mut out = Vec::with_capacity(self.policies.len());
        for (p, state) in self.policies.iter().zip(self.state) {
            let Check::Event {
                group_by,
                threshold,
                window_ms,
                claims_change,
                ..
            } = &p.check
            else {
                out.push(Outcome::not_applicable("not an event policy"));
                continue;
            };
            let groups: BTreeMap<Vec<String>, Group> = state.groups.into_iter().collect();
            let mut findings = Vec::new();
            for (key, mut group) in groups {
                let named = named_keys(group_by, &key);
                match (threshold, window_ms) {
                    (Some(t), Some(w)) => {
                        group.times.sort_unstable();
                        let hits = densest(&group.times, *w);
                        if (hits.len() as u64) < *t {
                            continue;
                        }
                        let message = format!(
                            "{} matching events within {} (threshold {t})",
                            hits.len(),
                            human_ms(*w)
                        );
                        findings.push(window_finding(hits, &key, message, named, evidence));
                    }
                    (t, _) => {
                        if t.is_some_and(|t| group.count < t) {
                            continue;
                        }
                        let mut message = match t {
                            Some(t) => format!("{} matching events (threshold {t})", group.count),
                            None => format!(
                                "{} matching event{}",
                                group.count,
                                if group.count == 1 { "" } else { "s" }
                            ),
                        };
                        let what = group.breakdown.describe(*claims_change);
                        if !what.is_empty() {
                            message = format!("{message} ({what})");
                        }
                        let attempt = *claims_change && group.breakdown.changes == 0;
                        let mut pending = group_finding(group, &key, message, named);
                        pending.finding.attempt = attempt;
                        findings.push(pending);
                    }
                }
            }
            read_window_evidence(&mut findings, sources, reread)?;
            let mut outcome =
                Outcome::from_findings(findings.into_iter().map(|f| f.finding).collect::<Vec<_>>());
            outcome.matched_events = Some(state.total);
            out.push(outcome);
        }
        Ok(out)
    }
}

/// Group keys other than account, region and principal (which have their own fields), for the
/// message.
fn named_keys(group_by: &[String], key: &[String]) -> Vec<String> {
    group_by
        .iter()
        .zip(key)
        .filter(|(g, v)| {
            !v.is_empty()
                && !["recipientAccountId", "awsRegion", "userIdentity.arn"].contains(&g.as_str())
        })
        .map(|(g, v)| format!("{g}={v}"))
        .collect()
}

fn with_named(message: String, named: &[String]) -> String {
    if named.is_empty() {
        message
    } else {
        format!("{message}: {}", named.join(", "))
    }
}

/// A finding on its way out: window findings still need their events read.
struct Pending {
    finding: Finding,
    /// Window findings: the group key, and the window's events to show (ids and evidence).
    window: Option<(Vec<String>, Vec<Key>, usize)>,
}

fn time_of(k: &Key) -> Option<String> {
    (k.0 != i64::MIN).then(|| format_event_time(k.0))
}

fn group_finding(
    group: Group,
    group_key: &[String],
    message: String,
    named: Vec<String>,
) -> Pending {
    let (first, head) = group
        .head
        .unwrap_or_else(|| ((i64::MIN, u32::MAX, u32::MAX), Head::unknown()));
    let mut events = group.first;
    events.extend(group.last);
    Pending {
        finding: Finding {
            breakdown: Some(group.breakdown),
            resource: head.resource(group_key),
            account: head.account,
            region: head.region,
            message: with_named(message, &named),
            event_ids: group.ids.into_values().collect(),
            event_total: group.count,
            evidence: events.into_values().collect(),
            first_seen: time_of(&first),
            last_seen: group.latest.as_ref().and_then(time_of),
            ..Finding::default()
        },
        window: None,
    }
}

fn window_finding(
    hits: &[Key],
    key: &[String],
    message: String,
    named: Vec<String>,
    evidence: usize,
) -> Pending {
    Pending {
        finding: Finding {
            message: with_named(message, &named),
            event_total: hits.len() as u64,
            first_seen: hits.first().and_then(time_of),
            last_seen: hits.last().and_then(time_of),
            ..Finding::default()
        },
        window: Some((key.to_vec(), hits.to_vec(), evidence)),
    }
}

/// The densest run of `times` (sorted) within `w` milliseconds: the earliest of the longest.
fn densest(times: &[Key], w: i64) -> &[Key] {
    let (mut best, mut start, mut best_start) = (0usize, 0usize, 0usize);
    for end in 0..times.len() {
        let t_end = times[end].0;
        while times[start].0 < t_end.saturating_sub(w - 1) {
            start += 1;
        }
        if end + 1 - start > best {
            best = end + 1 - start;
            best_start = start;
        }
    }
    &times[best_start..best_start + best]
}

/// Fills in window findings from their events, read again from the files that hold them: a
/// window is known only once every chunk is in, and only its events are needed.
fn read_window_evidence(
    findings: &mut [Pending],
    sources: &[Source],
    reread: &dyn Fn(u32) -> PolarsResult<DataFrame>,
) -> PolarsResult<()> {
    let mut wanted: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for f in findings.iter() {
        if let Some((_, hits, n)) = &f.window {
            for k in shown(hits, *n) {
                wanted.entry(k.1).or_default().insert(k.2);
            }
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    /// An event read again: its time (to check it is the same), head, evidence and id.
    struct Reread {
        time: i64,
        head: Head,
        evidence: EvidenceEvent,
        id: Option<String>,
    }
    let mut read: HashMap<(u32, u32), Reread> = HashMap::new();
    for (file, records) in wanted {
        let df = reread(file)?;
        if df.height() == 0 {
            continue;
        }
        let mask: BooleanChunked = df
            .column(schema::RECORD_INDEX)?
            .u32()?
            .iter()
            .map(|r| Some(r.is_some_and(|r| records.contains(&r))))
            .collect();
        let rows = df.filter(&mask)?;
        let view = Rows::of(&rows, sources, Some(file))?;
        for row in 0..rows.height() {
            let key = view.key(row);
            read.insert(
                (key.1, key.2),
                Reread {
                    time: key.0,
                    head: view.head(row),
                    evidence: view.evidence(row),
                    id: view.ids.get(row).map(str::to_string),
                },
            );
        }
    }
    for f in findings.iter_mut() {
        let Some((group_key, hits, n)) = f.window.take() else {
            continue;
        };
        // A file that changed since it was read first cannot vouch for the window.
        let got: Vec<_> = shown(&hits, n)
            .filter_map(|k| read.get(&(k.1, k.2)).filter(|r| r.time == k.0))
            .collect();
        let unknown = Head::unknown();
        let head = got.first().map_or(&unknown, |r| &r.head);
        f.finding.account = head.account.clone();
        f.finding.region = head.region.clone();
        f.finding.resource = head.resource(&group_key);
        let ids: Vec<String> = hits
            .iter()
            .take(MAX_EVENT_IDS)
            .filter_map(|k| read.get(&(k.1, k.2)).and_then(|r| r.id.clone()))
            .collect();
        f.finding.event_ids = ids;
        let mut evidence: Vec<EvidenceEvent> = Vec::new();
        let mut seen = BTreeSet::new();
        for k in hits
            .iter()
            .take(n)
            .chain(hits.iter().skip(hits.len().saturating_sub(n)))
        {
            if seen.insert(*k) {
                if let Some(r) = read.get(&(k.1, k.2)).filter(|r| r.time == k.0) {
                    evidence.push(r.evidence.clone());
                }
            }
        }
        f.finding.evidence = evidence;
    }
    Ok(())
}

/// The events of a window a finding shows: the first ids, and N at each end.
fn shown(hits: &[Key], n: usize) -> impl Iterator<Item = &Key> {
    let tail = hits.len().saturating_sub(n);
    hits.iter()
        .enumerate()
        .filter(move |(i, _)| *i < MAX_EVENT_IDS.max(n) || *i >= tail)
        .map(|(_, k)| k)
}

/// The evidence columns of a frame of matched rows.
struct Rows<'a> {
    times: Vec<Option<i64>>,
    ids: &'a StringChunked,
    accounts: &'a StringChunked,
    callers: &'a StringChunked,
    regions: &'a StringChunked,
    principals: &'a StringChunked,
    ips: &'a StringChunked,
    event_sources: &'a StringChunked,
    names: &'a StringChunked,
    errors: &'a StringChunked,
    read_only: &'a BooleanChunked,
    invoked_by: &'a StringChunked,
    agents: &'a StringChunked,
    types: &'a StringChunked,
    files: &'a UInt32Chunked,
    records: &'a UInt32Chunked,
    offsets: &'a UInt64Chunked,
    lengths: &'a UInt32Chunked,
    lines: &'a UInt32Chunked,
    rests: &'a StringChunked,
    sources: &'a [Source],
    /// The file id these rows stand for, when they were read again on their own.
    file: Option<u32>,
}

impl<'a> Rows<'a> {
    fn of(df: &'a DataFrame, sources: &'a [Source], file: Option<u32>) -> PolarsResult<Self> {
        let s = |name: &str| df.column(name).and_then(|c| c.str());
        Ok(Rows {
            times: df
                .column("eventTime")?
                .cast(&DataType::Int64)?
                .i64()?
                .iter()
                .collect(),
            ids: s("eventID")?,
            accounts: s("recipientAccountId")?,
            callers: s("userIdentity.accountId")?,
            regions: s("awsRegion")?,
            principals: s("userIdentity.arn")?,
            ips: s("sourceIPAddress")?,
            event_sources: s("eventSource")?,
            names: s("eventName")?,
            errors: s("errorCode")?,
            read_only: df.column("readOnly")?.bool()?,
            invoked_by: s("userIdentity.invokedBy")?,
            agents: s("userAgent")?,
            types: s("userIdentity.type")?,
            files: df.column(schema::FILE_ID)?.u32()?,
            records: df.column(schema::RECORD_INDEX)?.u32()?,
            offsets: df.column(schema::RECORD_OFFSET)?.u64()?,
            lengths: df.column(schema::RECORD_LENGTH)?.u32()?,
            lines: df.column(schema::RECORD_LINE)?.u32()?,
            rests: s(schema::REST)?,
            sources,
            file,
        })
    }

    fn file_id(&self, row: usize) -> Option<u32> {
        self.file.or_else(|| self.files.get(row))
    }

    fn key(&self, row: usize) -> Key {
        (
            self.times[row].unwrap_or(i64::MIN),
            self.file_id(row).unwrap_or(u32::MAX),
            self.records.get(row).unwrap_or(u32::MAX),
        )
    }

    fn source(&self, row: usize) -> Option<&Source> {
        self.file_id(row).and_then(|f| self.sources.get(f as usize))
    }

    /// The record's account, by the one rule of [`crate::events::record_account`].
    fn account(&self, row: usize) -> Option<&str> {
        crate::events::record_account(
            self.accounts.get(row),
            self.source(row).map(|s| &s.key),
            self.callers.get(row),
        )
    }

    fn head(&self, row: usize) -> Head {
        Head {
            account: self
                .account(row)
                .unwrap_or(crate::inventory::UNKNOWN)
                .to_string(),
            region: self
                .regions
                .get(row)
                .unwrap_or(crate::inventory::UNKNOWN)
                .to_string(),
            principal: self.principals.get(row).map(str::to_string),
        }
    }

    fn evidence(&self, row: usize) -> EvidenceEvent {
        let text = |c: &StringChunked| c.get(row).map(str::to_string);
        EvidenceEvent {
            time: self.times[row].map(format_event_time),
            account: self.account(row).map(str::to_string),
            region: text(self.regions),
            principal: text(self.principals)
                .or_else(|| self.types.get(row).map(|t| format!("({t})"))),
            source_ip: text(self.ips),
            event_source: text(self.event_sources),
            event_name: text(self.names),
            error_code: text(self.errors),
            user_agent: text(self.agents),
            event_id: text(self.ids),
            request_parameters: request_parameters(self.rests.get(row)),
            file: self.source(row).map(|s| s.path.display().to_string()),
            record: self.records.get(row),
            offset: self.offsets.get(row),
            length: self.lengths.get(row),
            line: self.lines.get(row),
        }
    }
}

/// A record's `requestParameters` from its `_rest` JSON, compact and cut to size.
fn request_parameters(rest: Option<&str>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Rest<'a> {
        #[serde(borrow, rename = "requestParameters")]
        request_parameters: Option<&'a serde_json::value::RawValue>,
    }
    let rest: Rest = serde_json::from_str(rest?).ok()?;
    let raw = rest.request_parameters?.get();
    if raw == "null" {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let mut text = value.to_string();
    if text.len() > MAX_PARAMETERS {
        let mut cut = MAX_PARAMETERS;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    Some(text)
}

fn human_ms(ms: i64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{}s", ms / 1000)
}
