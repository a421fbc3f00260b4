//! Config and monitoring policies applied to the trails' Posture (event policies are in
//! [`super::event`]). Findings are data, never errors.

use std::collections::BTreeMap;

use serde_json::Value;

use super::message;
use super::{Check, ConfigScope, Policy, PolicySet};
use crate::config::Posture;
use crate::filter::Pattern;
use crate::finding::{FilterVerdict, Finding, Outcome, Status};

/// Whether `value` has a non-null value at the dotted `path`.
fn known(value: &Value, path: &str) -> bool {
    path.split('.')
        .try_fold(value, |v, k| v.get(k))
        .is_some_and(|v| !v.is_null())
}

/// What a trail's evidence says where the policy's pattern fails on it, and which file says
/// it: `Status.IsLogging: false in 210987654321/us-east-1/cloudtrail/trail-status/prod-legacy.json`.
fn observed(pattern: &Pattern, trail: &crate::config::TrailPosture, json: &Value) -> String {
    observed_in(pattern, &trail.files, json)
}

/// [`observed`] for anything whose facts come from `files` (a trail's, a resource's).
fn observed_in(
    pattern: &Pattern,
    files: &BTreeMap<String, std::path::PathBuf>,
    json: &Value,
) -> String {
    // Facts from one file are named together, then the file.
    let mut by_file: Vec<(String, Vec<String>)> = Vec::new();
    for c in crate::filter::eval::failing_conditions(pattern, json) {
        let path = c.selector.to_string();
        let path = path.trim_start_matches("$.").to_string();
        let value = match c.selector.keys() {
            Some(keys) => match keys.iter().try_fold(json, |v, k| v.get(k)) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => "not set".into(),
                Some(v) => v.to_string(),
            },
            None => format!("does not satisfy `{c}`"),
        };
        let file = evidence_file(files, &path);
        let fact = format!("{path}: {value}");
        match by_file.iter_mut().find(|(f, _)| *f == file) {
            Some((_, facts)) => facts.push(fact),
            None => by_file.push((file, vec![fact])),
        }
    }
    let facts: Vec<String> = by_file
        .into_iter()
        .map(|(file, facts)| format!("{} in {file}", facts.join(", ")))
        .collect();
    message::list(&facts, 220)
}

/// The file behind a Posture path: that of its most specific part with a file of its own
/// (`Bucket.Public`, `Status`), else describe-trails'.
fn evidence_path<'t>(
    files: &'t BTreeMap<String, std::path::PathBuf>,
    path: &str,
) -> Option<&'t std::path::PathBuf> {
    files
        .iter()
        .filter(|(part, _)| {
            !part.is_empty() && (path == part.as_str() || path.starts_with(&format!("{part}.")))
        })
        .max_by_key(|(part, _)| part.len())
        .or_else(|| files.get_key_value(""))
        .map(|(_, f)| f)
}

/// [`evidence_path`] as a finding names it.
fn evidence_file(files: &BTreeMap<String, std::path::PathBuf>, path: &str) -> String {
    evidence_path(files, path)
        .map(|f| crate::config::evidence_name(f))
        .unwrap_or_else(|| "the configuration evidence".into())
}

/// The path (`Status.IsLogging`) of the first condition of `pattern` that fails on `json`.
fn first_failing(pattern: &Pattern, json: &Value) -> String {
    crate::filter::eval::failing_conditions(pattern, json)
        .into_iter()
        .next()
        .map(|c| c.selector.to_string().trim_start_matches("$.").to_string())
        .unwrap_or_default()
}

/// The file a configuration finding on `trail` rests on: that of the first condition the
/// pattern fails on, else the trail's describe-trails output; and the line there that shows
/// the value (or names the trail, when the value is not set).
fn finding_place(
    pattern: &Pattern,
    trail: &crate::config::TrailPosture,
    json: &Value,
    posture: &Posture,
) -> (Option<String>, Option<u32>) {
    let first = first_failing(pattern, json);
    let Some(file) = evidence_path(&trail.files, &first) else {
        return (None, None);
    };
    let field = first.rsplit('.').next().unwrap_or_default();
    let line = posture
        .key_lines
        .get(file)
        .and_then(|keys| crate::config::lines::line_of(keys, &trail.trail_arn, &trail.name, field));
    (Some(file.display().to_string()), line)
}

/// The describe-trails output that lists `trail`: where an account's or a log group's finding
/// points.
fn trail_file(trail: &crate::config::TrailPosture) -> Option<String> {
    trail.files.get("").map(|f| f.display().to_string())
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
    if *scope == ConfigScope::EachResource {
        return evaluate_resources(p, posture);
    }
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
    // Any-trail policies: what each judged trail of an account shows instead.
    let mut seen_instead: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // An organization trail is listed by every member account; each-trail policies judge it once,
    // as its owner sees it.
    let mut seen = std::collections::BTreeSet::new();
    let owner_first = {
        let mut v: Vec<&crate::config::TrailPosture> = posture.trails.iter().collect();
        v.sort_by_key(|t| t.trail_arn.split(':').nth(4) != Some(t.account.as_str()));
        v
    };
    // Any-trail policies: per account, the trails only another account's evidence can judge.
    let mut pending: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut needed = std::collections::BTreeSet::new();
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
        // What this account's evidence cannot show of another account's trail is that
        // account's to show: the trail is not judged, and the report says from whom.
        let owner_needed = |paths: &[String]| -> Option<String> {
            let accounts: std::collections::BTreeSet<&str> = paths
                .iter()
                .map(|p| t.evidence_needed_from(p))
                .collect::<Option<_>>()?;
            (accounts.len() == 1)
                .then(|| accounts.into_iter().next().unwrap_or_default().to_string())
        };
        if !missing.is_empty() {
            let paths: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
            match owner_needed(&paths) {
                Some(owner) => {
                    let text = format!(
                        "{} ({}: evidence needed from account {owner}: its {})",
                        t.name,
                        t.account,
                        missing.join(", ")
                    );
                    needed.insert(owner.clone());
                    if *scope == ConfigScope::AnyTrail {
                        pending.entry(t.account.as_str()).or_default().push(owner);
                        seen_instead
                            .entry(t.account.as_str())
                            .or_default()
                            .push(text);
                    } else {
                        skipped.push(text);
                    }
                }
                None => skipped.push(format!(
                    "{} ({}: no {} evidence)",
                    t.name,
                    t.account,
                    missing.join(", ")
                )),
            }
            continue;
        }
        let ok = pattern.matches(&json);
        if !ok {
            // Failing only on parts this account's evidence does not hold, of a trail another
            // account owns: not judged here.
            let unknown: Vec<String> = crate::filter::eval::failing_conditions(pattern, &json)
                .iter()
                .map(|c| c.selector.to_string().trim_start_matches("$.").to_string())
                .collect();
            let all_unknown = unknown.iter().all(|p| !known(&json, p));
            if let Some(owner) =
                owner_needed(&unknown).filter(|_| all_unknown && !unknown.is_empty())
            {
                let text = format!(
                    "{} ({}: evidence needed from account {owner}: its {})",
                    t.name,
                    t.account,
                    unknown.join(", ")
                );
                match scope {
                    ConfigScope::AnyTrail => {
                        pending
                            .entry(t.account.as_str())
                            .or_default()
                            .push(owner.clone());
                        seen_instead
                            .entry(t.account.as_str())
                            .or_default()
                            .push(text);
                    }
                    _ => skipped.push(text),
                }
                needed.insert(owner);
                continue;
            }
        }
        judged += 1;
        match scope {
            ConfigScope::EachTrail if !ok => findings.push({
                let place = finding_place(pattern, t, &json, posture);
                Finding {
                    account: t.account.clone(),
                    region: t.home_region.clone().unwrap_or_else(|| "unknown".into()),
                    resource: t.trail_arn.clone(),
                    message: message::bounded(observed(pattern, t, &json)),
                    file: place.0,
                    line: place.1,
                    ..Finding::default()
                }
            }),
            ConfigScope::AnyTrail if ok => {
                satisfied.insert(t.account.as_str(), true);
            }
            ConfigScope::AnyTrail => seen_instead
                .entry(t.account.as_str())
                .or_default()
                .push(format!("{}: {}", t.name, observed(pattern, t, &json))),
            _ => {}
        }
    }
    if *scope == ConfigScope::AnyTrail {
        for (account, ok) in &satisfied {
            if *ok {
                continue;
            }
            // An account no trail satisfies, one of whose trails only its owner's evidence
            // can judge, may be covered by it (an organization trail): not judged, never failed.
            if pending.contains_key(account) {
                let why: Vec<String> = seen_instead.get(account).cloned().unwrap_or_default();
                let why: Vec<&String> = why
                    .iter()
                    .filter(|w| w.contains("evidence needed"))
                    .collect();
                skipped.extend(why.into_iter().cloned());
                continue;
            }
            {
                findings.push(Finding {
                    account: account.to_string(),
                    region: "all".into(),
                    resource: format!("account {account}"),
                    message: message::bounded(match seen_instead.get(account) {
                        Some(seen) => {
                            format!("no trail satisfies it: {}", message::list(seen, 240))
                        }
                        None => "no trail in the account could be judged".into(),
                    }),
                    file: posture
                        .trails
                        .iter()
                        .find(|t| t.account == *account)
                        .and_then(trail_file),
                    ..Finding::default()
                });
            }
        }
    }
    if judged == 0 && findings.is_empty() && skipped.is_empty() {
        return Outcome::not_applicable("no trail this policy applies to");
    }
    // Trails whose evidence is missing are not judged: with none judged the policy has no
    // evidence, with some it is incomplete, never a clean pass.
    let warnings = skipped.iter().map(|s| format!("not judged: {s}")).collect();
    let mut o = Outcome {
        warnings,
        ..Outcome::from_findings(findings).judged_resources(judged, skipped)
    };
    o.judged_on.evidence_needed_from = needed.into_iter().collect();
    o
}

/// A resource policy: every resource its `applies_to` selects must match its pattern; one
/// finding per resource that does not, and a resource whose `requires` facts were not
/// collected is not judged (so a region without the evidence is never a pass).
fn evaluate_resources(p: &Policy, posture: &Posture) -> Outcome {
    let Check::Config {
        pattern,
        requires,
        applies_to,
        ..
    } = &p.check
    else {
        return Outcome::not_applicable("not a config policy");
    };
    let (mut judged, mut skipped, mut findings) = (0, Vec::new(), Vec::new());
    for r in &posture.resources {
        let json = r.to_json();
        if applies_to.as_ref().is_some_and(|(a, _)| !a.matches(&json)) {
            continue;
        }
        let missing: Vec<&str> = requires
            .iter()
            .filter(|k| !known(&json, k))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            skipped.push(format!(
                "{} ({}, {}: no {} evidence)",
                r.id,
                r.account,
                r.region,
                missing.join(", ")
            ));
            continue;
        }
        judged += 1;
        if pattern.matches(&json) {
            continue;
        }
        let first = first_failing(pattern, &json);
        let file = evidence_path(&r.files, &first);
        let field = first.rsplit('.').next().unwrap_or_default();
        let line = file.and_then(|f| {
            let keys = posture.key_lines.get(f)?;
            let anchors: Vec<(&str, &str)> =
                r.anchors.iter().map(|(k, v)| (*k, v.as_str())).collect();
            crate::config::lines::line_within(keys, &anchors, field)
        });
        findings.push(Finding {
            account: r.account.clone(),
            region: r.region.clone(),
            resource: r.id.clone(),
            message: message::bounded(observed_in(pattern, &r.files, &json)),
            file: file.map(|f| f.display().to_string()),
            line,
            ..Finding::default()
        });
    }
    if judged == 0 && findings.is_empty() && skipped.is_empty() {
        // The listings were collected and name none: nothing to judge.
        return Outcome::not_applicable("no resource this policy applies to");
    }
    let warnings = skipped.iter().map(|s| format!("not judged: {s}")).collect();
    Outcome {
        warnings,
        ..Outcome::from_findings(findings).judged_resources(judged, skipped)
    }
}

/// How a filter misses the control's events that it catches none of: the event it comes
/// nearest to (fewest failing conditions) and the conditions that fail on it.
fn nearest_miss(
    pattern: &Pattern,
    required: &[&super::Example],
    control: &Policy,
) -> (Distance, String) {
    let nearest = required
        .iter()
        .map(|e| {
            (
                e,
                crate::filter::eval::failing_conditions(pattern, &e.value),
                crate::filter::eval::holding_conditions(pattern, &e.value),
            )
        })
        .min_by_key(|(_, failing, holding)| (failing.len(), std::cmp::Reverse(*holding)));
    match nearest {
        Some((e, failing, holding)) if !failing.is_empty() => {
            let conds: Vec<String> = failing.iter().map(|c| format!("`{c}`")).collect();
            let text = format!(
                "nearest miss {}: fails {}",
                e.describe(control.pattern()),
                message::list(&conds, 100)
            );
            ((failing.len(), std::cmp::Reverse(holding)), text)
        }
        Some((e, _, holding)) => (
            (0, std::cmp::Reverse(holding)),
            format!("nearest miss {}", e.describe(control.pattern())),
        ),
        None => (
            (usize::MAX, std::cmp::Reverse(0)),
            "no required event".into(),
        ),
    }
}

/// How far a filter is from catching an event: the conditions that fail on it, then (fewer
/// is nearer) the opposite of those that hold.
type Distance = (usize, std::cmp::Reverse<usize>);

/// The finding when no filter on the trails' log groups catches any of the control's events:
/// each filter by name, and the nearest miss of the filter nearest to the control (every
/// filter's own is in the report's filter list).
fn none_catches(
    with_logs: &[&&crate::config::TrailPosture],
    verdicts: &[FilterVerdict],
    distances: &[Distance],
) -> String {
    let monitoring = with_logs[0].monitoring.as_ref();
    let group = monitoring.map(|m| m.log_group.as_str()).unwrap_or("?");
    if verdicts.is_empty() {
        return if monitoring.is_some_and(|m| !m.metric_filters.is_empty()) {
            format!("no metric filter on log group {group} parses (see the warnings)")
        } else {
            format!("no metric filter on log group {group}")
        };
    }
    let names: Vec<String> = verdicts.iter().map(|v| v.filter_name.clone()).collect();
    let nearest = verdicts
        .iter()
        .zip(distances)
        .min_by_key(|(_, d)| **d)
        .and_then(|(v, _)| Some((v, v.problem.as_deref()?.split_once("; ")?.1)));
    let mut text = format!(
        "none of the {} metric filters on log group {group} catches these events ({})",
        names.len(),
        message::list(&names, 120)
    );
    if let Some((v, miss)) = nearest {
        text.push_str(&format!("; {}: {miss}", v.filter_name));
    }
    text
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
    let required: Vec<&super::Example> = control.filter_required().collect();
    let benign: Vec<&super::Example> = control.filter_benign().collect();
    let label = |e: &&super::Example| e.describe(control.pattern());
    let mut findings = Vec::new();
    let mut verdicts = Vec::new();
    let mut warnings = Vec::new();
    let mut not_judged = Vec::new();
    let mut needed = std::collections::BTreeSet::new();
    for account in &posture.accounts {
        let multi_region = posture
            .trails
            .iter()
            .filter(|t| &t.account == account && t.is_multi_region_trail == Some(true));
        // What only another account's evidence shows: whether its trail (an organization
        // trail seen from a member) is logging, and the filters of a log group it holds.
        let mut elsewhere: Vec<(String, String)> = Vec::new();
        for t in multi_region.clone() {
            if t.status.is_none() {
                if let Some(owner) = t.evidence_needed_from("Status") {
                    elsewhere.push((owner.to_string(), format!("trail {}'s status", t.name)));
                }
            }
        }
        let trails: Vec<_> = multi_region
            .filter(|t| t.status.as_ref().and_then(|s| s.is_logging) == Some(true))
            .collect();
        let mut with_logs = Vec::new();
        for t in &trails {
            match &t.monitoring {
                Some(m) if !m.evidence && m.account != *account => elsewhere.push((
                    m.account.clone(),
                    format!(
                        "the metric filters, alarms and topics of log group {} ({})",
                        m.log_group, m.region
                    ),
                )),
                Some(_) => with_logs.push(t),
                None => {}
            }
        }
        let mut account_verdicts = Vec::new();
        // Per verdict: how many conditions its filter fails on the nearest required event.
        let mut distances = Vec::new();
        for t in &with_logs {
            let m = t.monitoring.as_ref().expect("filtered");
            for f in &m.metric_filters {
                let mut v = FilterVerdict {
                    account: account.clone(),
                    trail: t.name.clone(),
                    log_group: m.log_group.clone(),
                    filter_name: f.filter_name.clone(),
                    filter_pattern: f.filter_pattern.clone(),
                    source: f.source.clone(),
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
                    .map(label)
                    .collect();
                let over: Vec<&&super::Example> = benign
                    .iter()
                    .filter(|e| pattern.matches(&e.value))
                    .collect();
                v.also_matches = over.iter().map(|e| label(e)).collect();
                v.matches_everyday = over
                    .iter()
                    .filter(|e| e.routine)
                    .map(|e| label(e))
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
                let (distance, nearest) = nearest_miss(&pattern, &required, control);
                v.problem = if v.misses.len() == required.len() && !required.is_empty() {
                    Some(format!(
                        "catches none of the {} events; {nearest}",
                        required.len()
                    ))
                } else if !v.misses.is_empty() {
                    Some(format!("misses {}", message::list(&v.misses, 200)))
                } else if !v.matches_everyday.is_empty() {
                    Some(format!(
                        "also matches everyday events ({}), so its alarm would stay in ALARM and cannot signal these events",
                        message::list(&v.matches_everyday, 120)
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
                distances.push(distance);
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
        } else if !elsewhere.is_empty() {
            // The chain may be complete where this account's evidence cannot see: not judged,
            // never a missing filter.
            let from: std::collections::BTreeSet<&str> =
                elsewhere.iter().map(|(a, _)| a.as_str()).collect();
            let what: Vec<String> = elsewhere.iter().map(|(_, w)| w.clone()).collect();
            not_judged.push(format!(
                "{account}: evidence needed from account {}: {}",
                from.iter().copied().collect::<Vec<_>>().join(", account "),
                message::list(&what, 200)
            ));
            needed.extend(from.into_iter().map(str::to_string));
        } else {
            // The filter the finding speaks of, where its source is known (`iac`).
            let mut spoken_of = None;
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
                let best = catching.iter().min_by_key(|v| {
                    (
                        !v.matches_everyday.is_empty(),
                        v.misses.len(),
                        v.also_matches.len(),
                    )
                });
                spoken_of = match best {
                    Some(b) => b.source.clone(),
                    // None catches any: the nearest miss is named.
                    None => account_verdicts
                        .iter()
                        .zip(&distances)
                        .min_by_key(|(_, d)| **d)
                        .and_then(|(v, _)| v.source.clone()),
                };
                match best {
                    Some(best) if !best.matches_everyday.is_empty() => format!(
                        "no metric filter catches these events without also counting everyday traffic: {} also matches {}",
                        best.filter_name,
                        message::list(&best.matches_everyday, 120)
                    ),
                    Some(best) => format!(
                        "metric filter {}: {}",
                        best.filter_name,
                        best.problem.as_deref().unwrap_or("fails")
                    ),
                    None => none_catches(&with_logs, &account_verdicts, &distances),
                }
            };
            let trail_path = with_logs.first().and_then(|t| trail_file(t)).or_else(|| {
                let t = posture.trails.iter().find(|t| &t.account == account)?;
                trail_file(t)
            });
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
                message: message::bounded(message),
                line: spoken_of.as_ref().map(|s| s.line),
                column: spoken_of.as_ref().map(|s| s.column),
                file: spoken_of.map(|s| s.file).or(trail_path),
                ..Finding::default()
            });
        }
        // The filters that catch some of the control's events explain its verdict; when none
        // does, every filter on the group is listed with its nearest miss.
        let any_catches = account_verdicts
            .iter()
            .any(|v| v.misses.len() < required.len());
        verdicts.extend(
            account_verdicts
                .into_iter()
                .filter(|v| !any_catches || v.misses.len() < required.len()),
        );
    }
    // The monitoring chain is judged per account with configuration evidence.
    let judged = posture.accounts.len() - not_judged.len();
    warnings.extend(not_judged.iter().map(|n| format!("not judged: {n}")));
    let mut o = Outcome::from_findings(findings).judged_resources(judged as u64, not_judged);
    o.judged_on.evidence_needed_from = needed.into_iter().collect();
    o.warnings = warnings;
    o.filters = verdicts;
    o
}
