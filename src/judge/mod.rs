//! Judging what the policies found: waivers in force waive findings, a baseline marks the
//! findings it already had, and `--fail-on` decides which failing policies are violations. The
//! report shows the result; it changes nothing.

pub mod waiver;

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::finding::{Outcome, Status};
use crate::policy::{Policy, Severity};
use waiver::{finding_key, Baseline, Waiver, WaiverStatus};

/// `--fail-on`: the lowest severity whose failing policies fail the run, or `never` for a
/// report-only run. Not a severity: no policy can be `never`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Info,
    Low,
    Medium,
    #[default]
    High,
    Critical,
    // Report only: no failing policy is a violation.
    Never,
}

impl FailOn {
    /// The lowest severity that fails the run; `None` for `never`.
    pub fn severity(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }

    /// Whether a failing policy of this severity fails the run.
    pub fn catches(self, severity: Severity) -> bool {
        self.severity().is_some_and(|s| severity >= s)
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.severity() {
            Some(s) => s.fmt(f),
            None => f.write_str("never"),
        }
    }
}

/// How findings are judged.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub fail_on: FailOn,
    pub waivers: Vec<Waiver>,
    pub baseline: Option<Baseline>,
}

/// One policy's outcome, judged.
#[derive(Debug, Clone)]
pub struct Judged<'p> {
    pub policy: &'p Policy,
    /// With waived findings marked (`waived` when every finding is) and, with a baseline, each
    /// finding marked `new` or `unchanged`.
    pub outcome: Outcome,
    /// Fails the run: `fail`, at or above `--fail-on`, with a finding neither waived, nor (with
    /// a baseline) in the baseline, nor an attempt AWS refused.
    pub violation: bool,
}

/// With `--baseline`: how this run's findings compare with the baseline report's.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct BaselineSummary {
    pub path: String,
    /// Findings not in the baseline: only these fail the run.
    pub new: u64,
    /// Findings the baseline has too.
    pub unchanged: u64,
    /// Baseline findings this run no longer has.
    pub absent: u64,
}

/// Every outcome judged, with the waivers and the baseline as they apply.
#[derive(Debug, Clone)]
pub struct Judgement<'p> {
    pub policies: Vec<Judged<'p>>,
    pub fail_on: FailOn,
    /// Each waiver given, with whether it applied and to how many findings.
    pub waivers: Vec<Waiver>,
    /// Findings covered by a waiver in force.
    pub waived_findings: u64,
    pub baseline: Option<BaselineSummary>,
}

impl Judgement<'_> {
    pub fn violations(&self) -> u64 {
        self.policies.iter().filter(|j| j.violation).count() as u64
    }

    /// Policies that could not be evaluated.
    pub fn errors(&self) -> usize {
        self.policies
            .iter()
            .filter(|j| j.outcome.status == Status::Error)
            .count()
    }
}

pub fn judge<'p>(results: Vec<(&'p Policy, Outcome)>, options: Options) -> Judgement<'p> {
    let Options {
        fail_on,
        mut waivers,
        baseline,
    } = options;
    let mut waived_findings = 0;
    let mut summary = baseline.as_ref().map(|b| BaselineSummary {
        path: b.path.clone(),
        ..BaselineSummary::default()
    });
    let mut seen_keys = BTreeSet::new();
    let mut waived_keys = BTreeSet::new();
    let mut policies = Vec::with_capacity(results.len());
    for (p, mut o) in results {
        let mut counts_against = o.status == Status::Fail && o.findings.is_empty();
        for f in &mut o.findings {
            if o.status != Status::Fail {
                continue;
            }
            for w in waivers.iter_mut() {
                if !w.covers(&p.id, f) {
                    continue;
                }
                w.findings += 1;
                if w.in_force() && f.waived_by.is_none() {
                    w.status = WaiverStatus::Active;
                    f.waived_by = Some(w.id.clone());
                }
            }
            let key = finding_key(&p.id, f);
            if f.waived_by.is_some() {
                waived_findings += 1;
                waived_keys.insert(key);
                continue;
            }
            // An attempt AWS refused is not the change the policy is about: it is reported,
            // and judged by TA-EVT-401, but never a violation here.
            if f.attempt {
                seen_keys.insert(key);
                continue;
            }
            match (&baseline, &mut summary) {
                (Some(b), Some(bs)) => {
                    let known = b.knows(&p.id, f);
                    f.baseline = Some(if known { "unchanged" } else { "new" }.into());
                    if known {
                        bs.unchanged += 1;
                    } else {
                        bs.new += 1;
                        counts_against = true;
                    }
                }
                _ => counts_against = true,
            }
            seen_keys.insert(key);
        }
        // A policy all of whose findings are waived is `waived`, not `fail`.
        if o.status == Status::Fail
            && !o.findings.is_empty()
            && o.findings.iter().all(|f| f.waived_by.is_some())
        {
            o.status = Status::Waived;
        }
        let violation = o.status == Status::Fail && fail_on.catches(p.severity) && counts_against;
        policies.push(Judged {
            policy: p,
            outcome: o,
            violation,
        });
    }
    if let (Some(b), Some(bs)) = (&baseline, &mut summary) {
        // Findings of the baseline this run no longer has (waived ones are still present).
        let present: BTreeSet<String> = seen_keys.union(&waived_keys).cloned().collect();
        bs.absent = b.absent(&present);
    }
    Judgement {
        policies,
        fail_on,
        waivers,
        waived_findings,
        baseline: summary,
    }
}
