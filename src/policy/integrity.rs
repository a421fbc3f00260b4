//! Integrity policies: digest-chain problems and delivery gaps (found by [`crate::integrity`])
//! become findings.

use super::{Check, IntegrityCheck, Policy};
use crate::finding::{Finding, Outcome, Status};
use crate::integrity::gaps::Gaps;
use crate::integrity::{Code, Level, Verification};

/// What the integrity policies judge, gathered once per audit.
#[derive(Debug, Default)]
pub struct Evidence {
    /// The digest check over the event-history paths; `None` without event history.
    pub verification: Option<Verification>,
    /// Delivery gaps in the event history; `None` without event history.
    pub gaps: Option<Result<Gaps, String>>,
    /// Records in scope the gaps were looked for in.
    pub records: u64,
}

fn outcome(findings: Vec<Finding>, warnings: Vec<String>) -> Outcome {
    Outcome {
        warnings,
        ..Outcome::from_findings(findings)
    }
}

/// The outcome of an integrity policy.
pub fn evaluate(p: &Policy, ev: Option<&Evidence>) -> Outcome {
    let Check::Integrity(check) = p.check else {
        return Outcome::not_applicable("not an integrity policy");
    };
    let ev = ev.unwrap_or(&Evidence {
        verification: None,
        gaps: None,
        records: 0,
    });
    match check {
        IntegrityCheck::DigestChain => digest_chain(ev.verification.as_ref()),
        IntegrityCheck::DeliveryGaps => match &ev.gaps {
            None => Outcome::not_applicable("no event history given (--logs)"),
            Some(Err(e)) => Outcome {
                status: Status::Error,
                reason: Some(format!("finding delivery gaps: {e}")),
                ..Outcome::not_applicable("")
            },
            Some(Ok(_)) if ev.records == 0 => {
                Outcome::no_evidence("no record in scope to look for gaps in")
            }
            Some(Ok(g)) => delivery(g),
        },
    }
}

fn digest_chain(v: Option<&Verification>) -> Outcome {
    let Some(v) = v.filter(|v| v.has_digests()) else {
        // Nothing proves the log files unmodified: no evidence, not a pass.
        return Outcome::no_evidence(
            "no digest files under --logs (CloudTrail writes them under CloudTrail-Digest/ when log file validation is on)",
        );
    };
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut not_covered = 0u64;
    for p in &v.problems {
        match p.level {
            Level::Failure | Level::Unreadable => {
                let extra = if p.unverified_log_files.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} log file(s) of that hour cannot be verified)",
                        p.unverified_log_files.len()
                    )
                };
                findings.push(Finding {
                    account: p.account.clone(),
                    region: p.region.clone(),
                    resource: p.file.clone(),
                    file: Some(p.file.clone()),
                    message: format!("{}: {}{extra}", p.reason, p.detail),
                    ..Finding::default()
                });
            }
            Level::Note if p.code == Code::NotCovered => not_covered += 1,
            Level::Note if p.code == Code::SignatureNotChecked && !v.signatures_checked => {}
            Level::Note => warnings.push(format!("{}: {}: {}", p.reason, p.file, p.detail)),
        }
    }
    if !v.signatures_checked {
        warnings.push(
            "signatures not checked: no public-keys.json (aws cloudtrail list-public-keys) under --config".into(),
        );
    }
    if not_covered > 0 {
        warnings.push(format!(
            "{not_covered} log file(s) outside the period the digests cover: nothing can verify them"
        ));
    }
    outcome(findings, warnings)
}

fn delivery(g: &Gaps) -> Outcome {
    let mut findings = Vec::new();
    for s in &g.logging_stopped {
        let until = match &s.started {
            Some(t) => format!("until StartLogging at {t} ({} minutes)", s.minutes),
            None => "and not started again in the evidence".into(),
        };
        findings.push(Finding {
            account: s.account.clone(),
            region: s.region.clone(),
            resource: s.trail.clone(),
            message: format!(
                "logging stopped at {}{} {until}",
                s.stopped,
                s.stopped_by
                    .as_deref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default()
            ),
            event_ids: s.event_id.iter().cloned().collect(),
            event_total: 1,
            first_seen: Some(s.stopped.clone()),
            last_seen: s.started.clone(),
            ..Finding::default()
        });
    }
    for s in &g.silent_hours {
        findings.push(Finding {
            account: s.account.clone(),
            region: s.region.clone(),
            resource: format!("{} {}", s.account, s.region),
            message: format!(
                "no events for {} hour(s), {} .. {}; this account and region has events in {:.0}% of its hours, so silences of {} hour(s) or more are reported",
                s.hours,
                s.from,
                s.to,
                s.active_share * 100.0,
                s.threshold_hours
            ),
            first_seen: Some(s.from.clone()),
            last_seen: Some(s.to.clone()),
            ..Finding::default()
        });
    }
    outcome(findings, Vec::new())
}
