//! Policies applied to evidence. Findings are data, never errors.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::{Check, ConfigScope, Policy, PolicySet};
use crate::config::Posture;
use crate::events::{record::format_event_time, schema, EventFrame};
use crate::filter::{to_polars, Pattern};

/// Event ids listed per finding; the total is always exact.
pub const MAX_EVENT_IDS: usize = 20;
/// Evidence events shown per finding.
pub const MAX_EVIDENCE: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Error,
    NotApplicable,
    /// Failed, but every finding is covered by a waiver in force (set by the report stage).
    Waived,
}

/// One event behind a finding, with what an auditor needs to see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct EvidenceEvent {
    pub time: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub principal: Option<String>,
    pub source_ip: Option<String>,
    pub event_source: Option<String>,
    pub event_name: Option<String>,
    pub error_code: Option<String>,
    pub user_agent: Option<String>,
    pub event_id: Option<String>,
    /// `requestParameters` as compact JSON, cut at [`MAX_PARAMETERS`] bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<String>,
    /// Provenance: the file and the record's index in it.
    pub file: Option<String>,
    pub record: Option<u32>,
}

/// Bytes of `requestParameters` kept per evidence event.
pub const MAX_PARAMETERS: usize = 1024;

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

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Finding {
    pub account: String,
    pub region: String,
    pub resource: String,
    pub message: String,
    /// Up to [`MAX_EVENT_IDS`] ids, earliest first.
    pub event_ids: Vec<String>,
    /// All matching events of the finding.
    pub event_total: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// The waiver in force that covers this finding (set by the report stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<String>,
    /// With `--baseline`: `new`, or `unchanged` when the baseline report has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

/// How one configured metric filter fares against a monitoring control.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct FilterVerdict {
    pub account: String,
    pub trail: String,
    pub log_group: String,
    pub filter_name: String,
    pub filter_pattern: String,
    /// The control's required events the filter does not match (notes).
    pub misses: Vec<String>,
    /// Benign events the filter matches anyway (notes).
    pub also_matches: Vec<String>,
    /// Of those, everyday traffic: the filter's alarm would fire all the time.
    pub matches_everyday: Vec<String>,
    pub alarms: Vec<String>,
    pub topics: Vec<String>,
    pub confirmed_subscriptions: usize,
    /// Filter matches every required event, and its alarm reaches a confirmed subscriber.
    pub passes: bool,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: Status,
    /// Why a policy is `not_applicable` or `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Event policies: matching records in scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_events: Option<u64>,
    pub findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Monitoring policies: every filter considered and how it fared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterVerdict>,
}

impl Outcome {
    pub fn not_applicable(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::NotApplicable,
            reason: Some(reason.into()),
            matched_events: None,
            findings: Vec::new(),
            warnings: Vec::new(),
            filters: Vec::new(),
        }
    }

    /// `fail` with findings, else `pass`.
    pub fn from_findings(findings: Vec<Finding>) -> Outcome {
        Outcome {
            status: if findings.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            },
            reason: None,
            matched_events: None,
            findings,
            warnings: Vec::new(),
            filters: Vec::new(),
        }
    }
}

const EVIDENCE_COLUMNS: [&str; 11] = [
    "eventTime",
    "eventID",
    "recipientAccountId",
    "awsRegion",
    "userIdentity.arn",
    "sourceIPAddress",
    "eventSource",
    "eventName",
    "errorCode",
    "userAgent",
    "userIdentity.type",
];

/// Evaluates event policies over the frame in one pass: one boolean column per policy.
/// `window` restricts the records in scope.
pub fn evaluate_events(
    policies: &[&Policy],
    frame: &EventFrame,
    window: Option<Expr>,
) -> PolarsResult<Vec<Outcome>> {
    let info = to_polars::FrameInfo::of(&frame.df)?;
    let mut columns: Vec<String> = EVIDENCE_COLUMNS.iter().map(|c| c.to_string()).collect();
    columns.extend([
        schema::FILE_ID.to_string(),
        schema::RECORD_INDEX.to_string(),
        schema::REST.to_string(),
    ]);
    for p in policies {
        if let Check::Event { group_by, .. } = &p.check {
            for g in group_by {
                if !columns.contains(g) {
                    columns.push(g.clone());
                }
            }
        }
    }
    let mut select: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
    for (i, p) in policies.iter().enumerate() {
        if let Check::Event { pattern, .. } = &p.check {
            select.push(to_polars::to_expr(pattern, info).alias(format!("__policy{i}")));
        }
    }
    let mut lf = frame.df.clone().lazy();
    if let Some(w) = window {
        lf = lf.filter(w);
    }
    let evaluated = lf.select(select).collect()?;

    let mut out = Vec::with_capacity(policies.len());
    for (i, p) in policies.iter().enumerate() {
        let Check::Event {
            group_by,
            threshold,
            window_ms,
            ..
        } = &p.check
        else {
            out.push(Outcome::not_applicable("not an event policy"));
            continue;
        };
        let mask = evaluated.column(&format!("__policy{i}"))?.bool()?.clone();
        let matched = evaluated.filter(&mask)?;
        let matched = matched.sort(["eventTime"], SortMultipleOptions::default())?;
        let mut outcome = Outcome::from_findings(findings_for(
            &matched, frame, group_by, *threshold, *window_ms,
        )?);
        outcome.matched_events = Some(matched.height() as u64);
        out.push(outcome);
    }
    Ok(out)
}

fn str_col<'a>(df: &'a DataFrame, name: &str) -> PolarsResult<&'a StringChunked> {
    df.column(name)?.str()
}

fn findings_for(
    m: &DataFrame,
    frame: &EventFrame,
    group_by: &[String],
    threshold: Option<u64>,
    window_ms: Option<i64>,
) -> PolarsResult<Vec<Finding>> {
    let times: Vec<Option<i64>> = m
        .column("eventTime")?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect();
    let ids = str_col(m, "eventID")?;
    let accounts = str_col(m, "recipientAccountId")?;
    let regions = str_col(m, "awsRegion")?;
    let principals = str_col(m, "userIdentity.arn")?;
    let ips = str_col(m, "sourceIPAddress")?;
    let sources = str_col(m, "eventSource")?;
    let names = str_col(m, "eventName")?;
    let errors = str_col(m, "errorCode")?;
    let agents = str_col(m, "userAgent")?;
    let types = str_col(m, "userIdentity.type")?;
    let files = m.column(schema::FILE_ID)?.u32()?;
    let records = m.column(schema::RECORD_INDEX)?.u32()?;
    let rests = str_col(m, schema::REST)?;
    let keys: Vec<Column> = group_by
        .iter()
        .map(|g| m.column(g).cloned())
        .collect::<PolarsResult<_>>()?;

    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for row in 0..m.height() {
        let key = keys
            .iter()
            .map(|c| {
                c.get(row)
                    .map(|v| v.str_value().to_string())
                    .unwrap_or_default()
            })
            .map(|v| if v == "null" { String::new() } else { v })
            .collect();
        groups.entry(key).or_default().push(row);
    }
    let evidence = |row: usize| EvidenceEvent {
        time: times[row].map(format_event_time),
        account: accounts.get(row).map(str::to_string),
        region: regions.get(row).map(str::to_string),
        principal: principals
            .get(row)
            .map(str::to_string)
            .or_else(|| types.get(row).map(|t| format!("({t})"))),
        source_ip: ips.get(row).map(str::to_string),
        event_source: sources.get(row).map(str::to_string),
        event_name: names.get(row).map(str::to_string),
        error_code: errors.get(row).map(str::to_string),
        user_agent: agents.get(row).map(str::to_string),
        event_id: ids.get(row).map(str::to_string),
        request_parameters: request_parameters(rests.get(row)),
        file: files
            .get(row)
            .and_then(|f| frame.files.get(f as usize))
            .map(|f| f.path.display().to_string()),
        record: records.get(row),
    };

    let mut findings = Vec::new();
    for (key, rows) in groups {
        // Rows are sorted by time: the densest window is found with two pointers.
        let (hit_rows, message) = match (threshold, window_ms) {
            (Some(t), Some(w)) => {
                let (mut best, mut start, mut best_start) = (0usize, 0usize, 0usize);
                for end in 0..rows.len() {
                    let t_end = times[rows[end]].unwrap_or(i64::MIN);
                    while times[rows[start]].unwrap_or(i64::MIN) < t_end.saturating_sub(w - 1) {
                        start += 1;
                    }
                    if end + 1 - start > best {
                        best = end + 1 - start;
                        best_start = start;
                    }
                }
                if (best as u64) < t {
                    continue;
                }
                let window = &rows[best_start..best_start + best];
                (
                    window.to_vec(),
                    format!(
                        "{best} matching events within {} (threshold {t})",
                        human_ms(w)
                    ),
                )
            }
            (Some(t), None) => {
                if (rows.len() as u64) < t {
                    continue;
                }
                (
                    rows.clone(),
                    format!("{} matching events (threshold {t})", rows.len()),
                )
            }
            _ => (
                rows.clone(),
                format!(
                    "{} matching event{}",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                ),
            ),
        };
        let first = hit_rows[0];
        let last = hit_rows[hit_rows.len() - 1];
        // Account, region and principal have their own fields; other keys go in the message.
        let named: Vec<String> = group_by
            .iter()
            .zip(&key)
            .filter(|(g, v)| {
                !v.is_empty()
                    && !["recipientAccountId", "awsRegion", "userIdentity.arn"]
                        .contains(&g.as_str())
            })
            .map(|(g, v)| format!("{g}={v}"))
            .collect();
        findings.push(Finding {
            account: accounts
                .get(first)
                .unwrap_or_else(|| frame_account(frame, files.get(first)))
                .to_string(),
            region: regions.get(first).unwrap_or("unknown").to_string(),
            resource: principals
                .get(first)
                .map(str::to_string)
                .or_else(|| key.iter().rev().find(|v| !v.is_empty()).cloned())
                .unwrap_or_else(|| "(unknown principal)".into()),
            message: if named.is_empty() {
                message
            } else {
                format!("{message}: {}", named.join(", "))
            },
            event_ids: hit_rows
                .iter()
                .filter_map(|&r| ids.get(r).map(str::to_string))
                .take(MAX_EVENT_IDS)
                .collect(),
            event_total: hit_rows.len() as u64,
            evidence: hit_rows
                .iter()
                .take(MAX_EVIDENCE)
                .map(|&r| evidence(r))
                .collect(),
            first_seen: times[first].map(format_event_time),
            last_seen: times[last].map(format_event_time),
            ..Finding::default()
        });
    }
    Ok(findings)
}

fn frame_account(frame: &EventFrame, file: Option<u32>) -> &str {
    file.and_then(|f| frame.files.get(f as usize))
        .and_then(|f| f.key.account.as_deref())
        .unwrap_or("unknown")
}

fn human_ms(ms: i64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{}s", ms / 1000)
}

/// Whether `value` has a non-null value at the dotted `path`.
fn known(value: &Value, path: &str) -> bool {
    path.split('.')
        .try_fold(value, |v, k| v.get(k))
        .is_some_and(|v| !v.is_null())
}

pub fn evaluate_config(p: &Policy, posture: &Posture) -> Outcome {
    let Check::Config {
        pattern,
        scope,
        requires,
        applies_to,
        ..
    } = &p.check
    else {
        return Outcome::not_applicable("not a config policy");
    };
    if posture.trails.is_empty() {
        let mut o = Outcome::from_findings(Vec::new());
        if *scope == ConfigScope::AnyTrail && !posture.accounts.is_empty() {
            o = Outcome::from_findings(
                posture
                    .accounts
                    .iter()
                    .map(|a| Finding {
                        account: a.clone(),
                        region: "all".into(),
                        resource: format!("account {a}"),
                        message: "no CloudTrail trail in the account".into(),
                        ..Finding::default()
                    })
                    .collect(),
            );
            return o;
        }
        o.status = Status::NotApplicable;
        o.reason = Some("no trail in the configuration evidence".into());
        return o;
    }
    let mut judged = 0;
    let mut skipped = Vec::new();
    let mut findings = Vec::new();
    let mut satisfied: BTreeMap<&str, bool> = posture
        .accounts
        .iter()
        .map(|a| (a.as_str(), false))
        .collect();
    // An organization trail is listed by every member account; each-trail policies judge it once,
    // as its owner sees it.
    let mut seen = std::collections::BTreeSet::new();
    let owner_first = {
        let mut v: Vec<&crate::config::TrailPosture> = posture.trails.iter().collect();
        v.sort_by_key(|t| t.trail_arn.split(':').nth(4) != Some(t.account.as_str()));
        v
    };
    for t in owner_first {
        if *scope == ConfigScope::EachTrail && !seen.insert(t.trail_arn.clone()) {
            continue;
        }
        let json = t.to_json();
        if let Some((applies, _)) = applies_to {
            if !applies.matches(&json) {
                continue;
            }
        }
        let missing: Vec<&str> = requires
            .iter()
            .filter(|r| !known(&json, r))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            skipped.push(format!(
                "{} ({}: no {} evidence)",
                t.name,
                t.account,
                missing.join(", ")
            ));
            continue;
        }
        judged += 1;
        let ok = pattern.matches(&json);
        match scope {
            ConfigScope::EachTrail if !ok => findings.push(Finding {
                account: t.account.clone(),
                region: t.home_region.clone().unwrap_or_else(|| "unknown".into()),
                resource: t.trail_arn.clone(),
                message: format!("trail {} does not satisfy: {}", t.name, p.title),
                ..Finding::default()
            }),
            ConfigScope::AnyTrail if ok => {
                satisfied.insert(t.account.as_str(), true);
            }
            _ => {}
        }
    }
    if *scope == ConfigScope::AnyTrail {
        for (account, ok) in &satisfied {
            if !ok {
                findings.push(Finding {
                    account: account.to_string(),
                    region: "all".into(),
                    resource: format!("account {account}"),
                    message: format!("no trail in the account satisfies: {}", p.title),
                    ..Finding::default()
                });
            }
        }
    }
    if judged == 0 && findings.is_empty() {
        let mut o = Outcome::not_applicable(if skipped.is_empty() {
            "no trail this policy applies to".to_string()
        } else {
            format!("evidence missing for every trail: {}", skipped.join("; "))
        });
        o.warnings = skipped;
        return o;
    }
    let mut o = Outcome::from_findings(findings);
    o.warnings = skipped
        .into_iter()
        .map(|s| format!("not judged: {s}"))
        .collect();
    o
}

fn example_label(ex: &super::Example) -> String {
    if !ex.note.is_empty() {
        return ex.note.clone();
    }
    let get = |k: &str| ex.value.get(k).and_then(Value::as_str).unwrap_or("?");
    format!("{} {}", get("eventSource"), get("eventName"))
}

/// A monitoring control: some multi-region, logging trail's log group has a metric filter that
/// matches every required event, an alarm on its metric with an SNS action, and a confirmed
/// subscriber on that topic.
pub fn evaluate_monitoring(p: &Policy, set: &PolicySet, posture: &Posture) -> Outcome {
    let Some(control) = set.control_events(p) else {
        return Outcome {
            status: Status::Error,
            reason: Some("control events policy missing".into()),
            ..Outcome::not_applicable("")
        };
    };
    if posture.accounts.is_empty() {
        return Outcome::not_applicable("no configuration evidence");
    }
    let required: Vec<&super::Example> = control.examples.iter().filter(|e| e.matches).collect();
    let benign: Vec<&super::Example> = control.examples.iter().filter(|e| !e.matches).collect();
    let mut findings = Vec::new();
    let mut verdicts = Vec::new();
    let mut warnings = Vec::new();
    for account in &posture.accounts {
        let trails: Vec<_> = posture
            .trails
            .iter()
            .filter(|t| &t.account == account && t.is_multi_region_trail == Some(true))
            .filter(|t| t.status.as_ref().and_then(|s| s.is_logging) == Some(true))
            .collect();
        let with_logs: Vec<_> = trails.iter().filter(|t| t.monitoring.is_some()).collect();
        let mut account_verdicts = Vec::new();
        for t in &with_logs {
            let m = t.monitoring.as_ref().expect("filtered");
            for f in &m.metric_filters {
                let mut v = FilterVerdict {
                    account: account.clone(),
                    trail: t.name.clone(),
                    log_group: m.log_group.clone(),
                    filter_name: f.filter_name.clone(),
                    filter_pattern: f.filter_pattern.clone(),
                    ..FilterVerdict::default()
                };
                let pattern = match Pattern::parse(&f.filter_pattern) {
                    Ok(pt) => pt,
                    Err(e) => {
                        warnings.push(format!(
                            "{account}: metric filter {} does not parse: {}",
                            f.filter_name, e.message
                        ));
                        continue;
                    }
                };
                v.misses = required
                    .iter()
                    .filter(|e| !pattern.matches(&e.value))
                    .map(|e| example_label(e))
                    .collect();
                let over: Vec<&&super::Example> = benign
                    .iter()
                    .filter(|e| pattern.matches(&e.value))
                    .collect();
                v.also_matches = over.iter().map(|e| example_label(e)).collect();
                v.matches_everyday = over
                    .iter()
                    .filter(|e| e.routine)
                    .map(|e| example_label(e))
                    .collect();
                v.alarms = f.alarms.iter().map(|a| a.alarm_name.clone()).collect();
                let live: Vec<_> = f
                    .alarms
                    .iter()
                    .filter(|a| a.actions_enabled)
                    .flat_map(|a| &a.topics)
                    .collect();
                v.topics = live.iter().map(|t| t.topic_arn.clone()).collect();
                v.confirmed_subscriptions = live.iter().map(|t| t.confirmed_subscriptions).sum();
                v.problem = if !v.misses.is_empty() {
                    Some(format!("misses {}", v.misses.join("; ")))
                } else if !v.matches_everyday.is_empty() {
                    Some(format!(
                        "also matches everyday events ({}), so its alarm would stay in ALARM and cannot signal these events",
                        v.matches_everyday.join("; ")
                    ))
                } else if f.alarms.is_empty() {
                    Some(format!(
                        "no alarm on its metric {}/{}",
                        f.metric_namespace.as_deref().unwrap_or("?"),
                        f.metric_name.as_deref().unwrap_or("?")
                    ))
                } else if f.alarms.iter().all(|a| !a.actions_enabled) {
                    Some("its alarm's actions are disabled".into())
                } else if live.is_empty() {
                    Some("its alarm has no SNS action".into())
                } else if v.confirmed_subscriptions == 0 {
                    let unknown = live.iter().any(|t| !t.subscriptions_known);
                    Some(if unknown {
                        "no confirmed subscription to its SNS topic (subscriptions not collected)"
                            .into()
                    } else {
                        "no confirmed subscription to its SNS topic".into()
                    })
                } else {
                    None
                };
                v.passes = v.problem.is_none();
                account_verdicts.push(v);
            }
        }
        // The most precise passing filter speaks for the account.
        let best_pass = account_verdicts
            .iter()
            .filter(|v| v.passes)
            .min_by_key(|v| v.also_matches.len());
        if let Some(v) = best_pass {
            if !v.also_matches.is_empty() {
                warnings.push(format!(
                    "{account}: metric filter {} also matches events the control should not count: {}",
                    v.filter_name,
                    v.also_matches.join("; ")
                ));
            }
        } else {
            let message = if trails.is_empty() {
                "no multi-region trail that is logging".to_string()
            } else if with_logs.is_empty() {
                "no multi-region, logging trail delivers to CloudWatch Logs".to_string()
            } else {
                // The filter closest to the control explains the failure best.
                let catching: Vec<&FilterVerdict> = account_verdicts
                    .iter()
                    .filter(|v| v.misses.len() < required.len())
                    .collect();
                match catching.iter().min_by_key(|v| (!v.matches_everyday.is_empty(), v.misses.len(), v.also_matches.len())) {
                    Some(best) if !best.matches_everyday.is_empty() => format!(
                        "no metric filter catches these events without also counting everyday traffic: {} also matches {}",
                        best.filter_name,
                        best.matches_everyday.join("; ")
                    ),
                    Some(best) => format!(
                        "metric filter {}: {}",
                        best.filter_name,
                        best.problem.as_deref().unwrap_or("fails")
                    ),
                    None => format!(
                        "no metric filter on log group {} catches these events",
                        with_logs[0]
                            .monitoring
                            .as_ref()
                            .map(|m| m.log_group.as_str())
                            .unwrap_or("?")
                    ),
                }
            };
            findings.push(Finding {
                account: account.clone(),
                region: with_logs
                    .first()
                    .and_then(|t| t.monitoring.as_ref().map(|m| m.region.clone()))
                    .unwrap_or_else(|| "all".into()),
                resource: with_logs
                    .first()
                    .and_then(|t| {
                        t.monitoring
                            .as_ref()
                            .map(|m| format!("log group {}", m.log_group))
                    })
                    .unwrap_or_else(|| format!("account {account}")),
                message,
                ..Finding::default()
            });
        }
        verdicts.extend(
            account_verdicts
                .into_iter()
                .filter(|v| v.misses.len() < required.len()),
        );
    }
    let mut o = Outcome::from_findings(findings);
    o.warnings = warnings;
    o.filters = verdicts;
    o
}
