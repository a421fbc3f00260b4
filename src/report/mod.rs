//! The report model. The JSON report is this model serialised; the HTML and Markdown
//! templates receive the same model, so people and machines read the same facts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{posture::TrailPosture, CollectionGap, ConfigEvidence};
use crate::events::{EventFrame, Outcome as FileOutcome};
use crate::policy::check::{FilterVerdict, Finding, Outcome, Status};
use crate::policy::{self, Kind, Policy, PolicySet, Severity};

pub mod render;

/// Version of the report's JSON schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub scope: Scope,
    pub inputs: Inputs,
    /// Each trail's resolved configuration (empty without configuration evidence).
    pub posture: Vec<TrailPosture>,
    pub policies: Vec<PolicyResult>,
    pub summary: Summary,
    /// What an auditor needs to reproduce the run and check that the inputs were the same.
    #[serde(default)]
    pub manifest: Manifest,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Manifest {
    pub tool_version: String,
    /// The command line, as given.
    pub command_line: Vec<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// SHA-256 over the policies' ids and digests (`trailaudit policy list` shows the set).
    pub policy_set_sha256: String,
    pub policies: Vec<ManifestPolicy>,
    /// Every input file: event history and configuration.
    pub inputs: Vec<ManifestInput>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ManifestPolicy {
    pub id: String,
    pub source: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ManifestInput {
    /// `event-history` or `configuration`.
    pub kind: String,
    pub path: PathBuf,
    /// Size and SHA-256 as stored; null when the file could not be read.
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Scope {
    /// The requested window (`--from` / `--to`), RFC 3339, or null when open.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `--framework`, when the run was limited to one.
    pub framework: Option<String>,
    /// Accounts and regions seen in the evidence.
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// First and last event in scope.
    pub first_event: Option<String>,
    pub last_event: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Inputs {
    pub logs: Option<LogInputs>,
    pub config: Option<ConfigInputs>,
    /// Some input could not be fully read.
    pub partial: bool,
    /// `--allow-partial` was given.
    pub partial_allowed: bool,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct LogInputs {
    pub paths: Vec<PathBuf>,
    pub files: u64,
    pub loaded_files: u64,
    pub events: u64,
    pub events_in_scope: u64,
    pub rejected_records: u64,
    pub failed_files: Vec<PathError>,
    pub skipped_files: Vec<PathError>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ConfigInputs {
    pub paths: Vec<PathBuf>,
    pub files: u64,
    pub recognised_files: u64,
    pub failed_files: Vec<PathError>,
    /// API calls the collector could not make: gaps in the evidence.
    pub collection_gaps: Vec<CollectionGap>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PathError {
    pub path: PathBuf,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PolicyResult {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub kind: Kind,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub frameworks: BTreeMap<String, Vec<String>>,
    /// Event policies: matching records in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_events: Option<u64>,
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Monitoring policies: each relevant metric filter and how it fared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterVerdict>,
    pub description: String,
    pub remediation: String,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct StatusCounts {
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub not_applicable: u64,
}

impl StatusCounts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::NotApplicable => self.not_applicable += 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ControlResult {
    pub control: String,
    /// `fail` if any mapped policy fails, `error` if one errs, `pass` if at least one passes
    /// and none fails, else `not_applicable`.
    pub status: Status,
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Summary {
    pub by_status: StatusCounts,
    pub by_severity: BTreeMap<String, StatusCounts>,
    /// Per framework key, every control the policy set maps, with its status.
    pub frameworks: BTreeMap<String, Vec<ControlResult>>,
    /// Failing policies at or above `--fail-on`.
    pub violations: u64,
    pub fail_on: Severity,
}

/// Everything the report is built from.
pub struct Evidence<'a> {
    pub logs: Option<(&'a EventFrame, Vec<PathBuf>, u64)>,
    pub config: Option<(&'a ConfigEvidence, Vec<PathBuf>)>,
    pub posture: Vec<TrailPosture>,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub command_line: Vec<String>,
}

pub fn build(
    set: &PolicySet,
    results: Vec<(&Policy, Outcome)>,
    evidence: Evidence,
    mut scope: Scope,
    fail_on: Severity,
    partial_allowed: bool,
) -> Report {
    let mut inputs = Inputs {
        partial_allowed,
        ..Inputs::default()
    };
    let mut accounts: Vec<String> = Vec::new();
    if let Some((frame, paths, in_scope)) = &evidence.logs {
        let mut li = LogInputs {
            paths: paths.clone(),
            files: frame.files.len() as u64,
            events: frame.events() as u64,
            events_in_scope: *in_scope,
            rejected_records: frame.rejected_records(),
            ..LogInputs::default()
        };
        for f in &frame.files {
            match &f.outcome {
                FileOutcome::Loaded { .. } => li.loaded_files += 1,
                FileOutcome::Skipped { reason } => li.skipped_files.push(PathError {
                    path: f.path.clone(),
                    error: reason.clone(),
                }),
                FileOutcome::Failed { error } => li.failed_files.push(PathError {
                    path: f.path.clone(),
                    error: error.to_string(),
                }),
            }
        }
        inputs.partial |= frame.is_partial();
        inputs.logs = Some(li);
    }
    if let Some((cfg, paths)) = &evidence.config {
        let failed: Vec<PathError> = cfg
            .failed()
            .map(|(f, e)| PathError {
                path: f.path.clone(),
                error: e.to_string(),
            })
            .collect();
        inputs.partial |= cfg.is_partial();
        inputs.config = Some(ConfigInputs {
            paths: paths.clone(),
            files: cfg.files.len() as u64,
            recognised_files: cfg.files.len() as u64 - failed.len() as u64,
            failed_files: failed,
            collection_gaps: cfg.gaps.clone(),
        });
    }
    accounts.extend(evidence.accounts.iter().cloned());
    for t in &evidence.posture {
        accounts.push(t.account.clone());
    }
    let mut policies = Vec::with_capacity(results.len());
    let mut summary = Summary {
        fail_on,
        ..Summary::default()
    };
    for (p, o) in results {
        for f in &o.findings {
            if !f.account.is_empty() && f.account != "unknown" {
                accounts.push(f.account.clone());
            }
        }
        summary.by_status.add(o.status);
        summary
            .by_severity
            .entry(p.severity.to_string())
            .or_default()
            .add(o.status);
        if o.status == Status::Fail && p.severity >= fail_on {
            summary.violations += 1;
        }
        policies.push(PolicyResult {
            id: p.id.clone(),
            title: p.title.clone(),
            severity: p.severity,
            kind: p.kind,
            status: o.status,
            reason: o.reason,
            frameworks: p.frameworks.clone(),
            matched_events: o.matched_events,
            findings: o.findings,
            warnings: o.warnings,
            filters: o.filters,
            description: p.description.clone(),
            remediation: p.remediation.clone(),
        });
    }
    for key in policy::FRAMEWORKS {
        let controls = policy::controls(set, key);
        if controls.is_empty() {
            continue;
        }
        let rows = controls
            .into_iter()
            .map(|control| {
                let mapped: Vec<&PolicyResult> = policies
                    .iter()
                    .filter(|r| {
                        r.frameworks
                            .get(key)
                            .is_some_and(|ids| ids.contains(&control))
                    })
                    .collect();
                let status = if mapped.iter().any(|r| r.status == Status::Fail) {
                    Status::Fail
                } else if mapped.iter().any(|r| r.status == Status::Error) {
                    Status::Error
                } else if mapped.iter().any(|r| r.status == Status::Pass) {
                    Status::Pass
                } else {
                    Status::NotApplicable
                };
                ControlResult {
                    control,
                    status,
                    policies: mapped.iter().map(|r| r.id.clone()).collect(),
                }
            })
            .collect::<Vec<_>>();
        if rows.iter().any(|r| !r.policies.is_empty()) {
            summary.frameworks.insert(key.to_string(), rows);
        }
    }
    accounts.sort();
    accounts.dedup();
    scope.accounts = accounts;
    scope.regions = evidence.regions;
    scope.first_event = evidence.first_event;
    scope.last_event = evidence.last_event;
    let mut inputs_manifest = Vec::new();
    if let Some((frame, _, _)) = &evidence.logs {
        for f in &frame.files {
            inputs_manifest.push(ManifestInput {
                kind: "event-history".into(),
                path: f.path.clone(),
                bytes: f.fingerprint.as_ref().map(|x| x.bytes),
                sha256: f.fingerprint.as_ref().map(|x| x.sha256.clone()),
            });
        }
    }
    if let Some((cfg, _)) = &evidence.config {
        for f in &cfg.files {
            inputs_manifest.push(ManifestInput {
                kind: "configuration".into(),
                path: f.path.clone(),
                bytes: f.fingerprint.as_ref().map(|x| x.bytes),
                sha256: f.fingerprint.as_ref().map(|x| x.sha256.clone()),
            });
        }
    }
    let manifest = Manifest {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        command_line: evidence.command_line.clone(),
        from: scope.from.clone(),
        to: scope.to.clone(),
        policy_set_sha256: set.digest(),
        policies: set
            .policies
            .iter()
            .map(|p| ManifestPolicy {
                id: p.id.clone(),
                source: p.source.clone(),
                sha256: p.sha256.clone(),
            })
            .collect(),
        inputs: inputs_manifest,
    };
    Report {
        manifest,
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "trailaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        scope,
        inputs,
        posture: evidence.posture,
        policies,
        summary,
    }
}
