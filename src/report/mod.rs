//! The report model. The JSON report is this model serialised; the HTML and Markdown
//! templates receive the same model, so people and machines read the same facts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{posture::TrailPosture, CollectionGap, ConfigEvidence};
use crate::events::{Accounting, Outcome as FileOutcome};
use crate::finding::{FilterVerdict, Finding, Status};
use crate::judge::waiver::Waiver;
use crate::judge::{BaselineSummary, Judgement};
use crate::policy::{self, Kind, PolicySet, Severity};

pub mod asff;
pub mod catalog;
pub mod escape;
pub mod ocsf;
pub mod render;

/// Version of the report's JSON schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// A finding's identity across runs, for formats whose consumers update a finding they know
/// (Security Hub's `Id`, OCSF's `finding_info.uid`): `trailaudit-` and 32 hex digits of the
/// SHA-256 of its policy, account, region and resource (waivers and baselines key on the same).
pub fn finding_uid(policy: &str, f: &Finding) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(crate::judge::waiver::finding_key(policy, f).as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("trailaudit-{hex}")
}

/// Reads a report written by `audit --format json`: only one of this schema version, since a
/// report of another version would be rendered wrongly, not refused.
pub fn read(text: &str) -> Result<Report, String> {
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: Option<u64>,
    }
    let v: Version =
        serde_json::from_str(text).map_err(|e| format!("not a trailaudit JSON report: {e}"))?;
    match v.schema_version {
        None => Err("not a trailaudit JSON report: no schema_version".into()),
        Some(n) if n != u64::from(SCHEMA_VERSION) => Err(format!(
            "report schema_version {n} is not the one this trailaudit reads ({SCHEMA_VERSION}); \
             write the report again with this version's `audit --format json`"
        )),
        Some(_) => {
            serde_json::from_str(text).map_err(|e| format!("not a trailaudit JSON report: {e}"))
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    /// When the audit ran, RFC 3339 UTC (kept when `trailaudit report` renders it again).
    #[serde(default)]
    pub generated_at: String,
    pub scope: Scope,
    pub inputs: Inputs,
    /// Each trail's resolved configuration (empty without configuration evidence).
    pub posture: Vec<TrailPosture>,
    pub policies: Vec<PolicyResult>,
    pub summary: Summary,
    /// Waivers given with `--waivers`: in force or expired, and what each waived.
    #[serde(default)]
    pub waivers: Vec<Waiver>,
    /// Events per account, region and day over the evidence, with days without any event.
    #[serde(default)]
    pub activity: Vec<Activity>,
    /// What an auditor needs to reproduce the run and check that the inputs were the same.
    #[serde(default)]
    pub manifest: Manifest,
}

/// One account and region's events per day, from its first to its last day with events.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Activity {
    pub account: String,
    pub region: String,
    pub events: u64,
    /// The days with events, in order.
    pub days: Vec<DayActivity>,
    /// Days from the first day with events to the last, both counted.
    #[serde(default)]
    pub span_days: u64,
    /// Days without any event between the first and the last.
    pub gap_days: u64,
    /// The runs of days without any event between the first and the last: one entry per run,
    /// so a forged date far from the others costs one entry, not one per day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<DayGap>,
    /// Delivery gaps found in the events (periods between StopLogging and StartLogging, runs of
    /// silent hours), when the integrity policies ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivery_gaps: Vec<DeliveryGap>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct DeliveryGap {
    /// `logging_stopped` or `silent_hours`.
    pub kind: String,
    pub from: String,
    /// Null when logging was stopped and not started again in the evidence.
    pub to: Option<String>,
    pub detail: String,
}

/// Adds the delivery gaps to the activity series of their account and region.
pub fn add_delivery_gaps(activity: &mut [Activity], gaps: &crate::integrity::gaps::Gaps) {
    let mut put = |account: &str, region: &str, gap: DeliveryGap| {
        if let Some(a) = activity
            .iter_mut()
            .find(|a| a.account == account && a.region == region)
        {
            a.delivery_gaps.push(gap);
        }
    };
    for g in &gaps.logging_stopped {
        put(
            &g.account,
            &g.region,
            DeliveryGap {
                kind: "logging_stopped".into(),
                from: g.stopped.clone(),
                to: g.started.clone(),
                detail: format!(
                    "logging stopped on {} for {} min{}",
                    g.trail,
                    g.minutes,
                    g.stopped_by
                        .as_deref()
                        .map(|b| format!(" by {b}"))
                        .unwrap_or_default()
                ),
            },
        );
    }
    for g in &gaps.silent_hours {
        put(
            &g.account,
            &g.region,
            DeliveryGap {
                kind: "silent_hours".into(),
                from: g.from.clone(),
                to: Some(g.to.clone()),
                detail: format!("{} hour(s) without any event", g.hours),
            },
        );
    }
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct DayActivity {
    pub date: String,
    pub events: u64,
}

/// A run of days without events, `YYYY-MM-DD` both ends included.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct DayGap {
    pub first: String,
    pub last: String,
    pub days: u64,
}

/// Per account and region, the days with events and the runs of days without.
pub fn activity(inv: &crate::inventory::Inventory) -> Vec<Activity> {
    let mut out: Vec<Activity> = Vec::new();
    let mut gaps: BTreeMap<(&str, &str), Vec<&crate::inventory::Gap>> = BTreeMap::new();
    for g in &inv.gaps {
        gaps.entry((&g.account, &g.region)).or_default().push(g);
    }
    for d in &inv.events_by_account_region_day {
        if out
            .last()
            .is_none_or(|a| a.account != d.account || a.region != d.region)
        {
            out.push(Activity {
                account: d.account.clone(),
                region: d.region.clone(),
                ..Activity::default()
            });
        }
        let Some(a) = out.last_mut() else { continue };
        a.events += d.events;
        a.days.push(DayActivity {
            date: d.date.clone(),
            events: d.events,
        });
    }
    for a in &mut out {
        for g in gaps
            .get(&(a.account.as_str(), a.region.as_str()))
            .into_iter()
            .flatten()
        {
            a.gap_days += g.days;
            a.gaps.push(DayGap {
                first: g.first.clone(),
                last: g.last.clone(),
                days: g.days,
            });
        }
        a.span_days = a.days.len() as u64 + a.gap_days;
    }
    out
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
    /// The checksum file written beside a report on disk ([`Manifest::checksums`]).
    #[serde(default)]
    pub file: ManifestFile,
}

/// The checksum file: its name and its own SHA-256, which the report states so the file cannot
/// be swapped unnoticed.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub sha256: String,
    /// Files it lists.
    pub entries: u64,
}

/// Name of the checksum file written beside a report.
pub const MANIFEST_FILE: &str = "manifest.sha256";

impl Manifest {
    /// With [`Manifest::file`] stating the checksum file of its inputs as they are now.
    pub fn sealed(self) -> Manifest {
        use sha2::Digest as _;
        // Line by line: the file lists every input, 11 MB for ten million records.
        let mut hasher = sha2::Sha256::new();
        let mut entries = 0;
        for line in self.checksum_lines() {
            hasher.update(line.as_bytes());
            entries += 1;
        }
        Manifest {
            file: ManifestFile {
                name: MANIFEST_FILE.into(),
                sha256: crate::integrity::digest::hex(&hasher.finalize()),
                entries,
            },
            ..self
        }
    }

    /// The lines of [`MANIFEST_FILE`]: every input file that could be read, and every policy
    /// read from a file, as `sha256sum` writes them (`HASH  PATH`, paths as the run named
    /// them), so `sha256sum -c` run where the audit ran checks that the evidence is unchanged.
    /// A path holding a backslash or a line break is written the way GNU coreutils does: the
    /// line starts with `\` and those characters are escaped.
    pub fn checksum_lines(&self) -> impl Iterator<Item = String> + '_ {
        let files = self
            .inputs
            .iter()
            .filter_map(|i| Some((i.sha256.as_deref()?, i.path.to_string_lossy())))
            .chain(
                self.policies
                    .iter()
                    .filter(|p| !p.source.starts_with("builtin:"))
                    .map(|p| (p.sha256.as_str(), p.source.as_str().into())),
            );
        files.map(|(hash, path)| {
            if path.contains(['\\', '\n', '\r']) {
                let escaped = path
                    .replace('\\', "\\\\")
                    .replace('\n', "\\n")
                    .replace('\r', "\\r");
                format!("\\{hash}  {escaped}\n")
            } else {
                format!("{hash}  {path}\n")
            }
        })
    }
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
    /// `gzip` for an event-history file stored gzip-compressed: its evidence events' `offset`,
    /// `length` and `line` are in the decompressed content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    /// The commit the binary was built from ("unknown" for a build outside a git checkout
    /// without `TRAILAUDIT_COMMIT`).
    #[serde(default)]
    pub commit: String,
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
    /// With `--from`/`--to`: per account and region, the runs of the window's days without
    /// records (before the first, after the last, and gaps between).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncovered: Vec<crate::inventory::Gap>,
    /// `audit --athena-table`: the table, the workgroup, and each query with its state and the
    /// bytes Athena scanned for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub athena: Option<crate::athena::AthenaScope>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Inputs {
    pub logs: Option<LogInputs>,
    pub config: Option<ConfigInputs>,
    /// Some input could not be fully read, or the event history does not cover the request.
    pub partial: bool,
    /// Why the event history does not cover the request: no record at all, none in the
    /// window, or a window reaching past the evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shortfalls: Vec<String>,
    /// Files under the paths given to `audit PATH...` that are neither event history nor
    /// configuration evidence: not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<PathError>,
    /// `--allow-partial` was given.
    pub partial_allowed: bool,
    /// `iac`: the templates read, and what they leave to apply time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iac: Option<IacInputs>,
}

/// The infrastructure-as-code evidence of an `iac` run.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct IacInputs {
    pub paths: Vec<PathBuf>,
    /// Every template file read (or not, with why).
    pub files: Vec<crate::iac::TemplateFile>,
    /// The Terraform root modules and CloudFormation templates judged, each standing for the
    /// account it deploys to (the findings' `account`).
    pub stacks: Vec<String>,
    /// Values the chain needs that only the deployment knows, and links the templates do not
    /// declare, each at its place.
    pub unresolved: Vec<crate::iac::Diagnostic>,
    /// Metric filter patterns AWS would refuse, at their place.
    pub invalid: Vec<crate::iac::Diagnostic>,
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
    /// Records not counted because the same event (`eventID` and account) was loaded already,
    /// and the files they were in: not partial evidence.
    #[serde(default)]
    pub duplicate_records: u64,
    #[serde(default)]
    pub duplicates: Vec<crate::inventory::FileDuplicates>,
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
    /// Fails the run: `fail`, at or above `--fail-on`, with a finding neither waived nor (with
    /// `--baseline`) in the baseline.
    #[serde(default)]
    pub violation: bool,
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
    /// What the verdict rests on.
    #[serde(default)]
    pub judged_on: crate::finding::Basis,
    pub description: String,
    pub remediation: String,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct StatusCounts {
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub not_applicable: u64,
    #[serde(default)]
    pub waived: u64,
    #[serde(default)]
    pub no_evidence: u64,
    #[serde(default)]
    pub incomplete: u64,
}

impl StatusCounts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::NotApplicable => self.not_applicable += 1,
            Status::Waived => self.waived += 1,
            Status::NoEvidence => self.no_evidence += 1,
            Status::Incomplete => self.incomplete += 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ControlResult {
    pub control: String,
    /// The control's short title, for catalogued controls.
    #[serde(default)]
    pub title: String,
    /// How the framework itself says the control is assessed (`automated` or `manual`, as CIS
    /// marks its recommendations), where it says; independent of `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<catalog::Assessment>,
    /// Decided by the policies in `decided_by` alone (see [`control_status`]); `manual` when
    /// none decides the control: it needs evidence from elsewhere, and the activity listed
    /// under it is for the assessor's review.
    pub status: ControlStatus,
    /// Every policy mapped to the control, deciding or supplying activity.
    pub policies: Vec<String>,
    /// The policies that decide the control: configuration, monitoring chain and integrity.
    #[serde(default)]
    pub decided_by: Vec<String>,
    /// Event policies whose findings are activity an assessor reviews under the control; they
    /// never make it fail (they still fail the run as violations).
    #[serde(default)]
    pub activity: Vec<ControlActivity>,
}

/// An event policy's findings under a control.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ControlActivity {
    pub policy: String,
    pub findings: u64,
    pub events: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    Pass,
    Fail,
    Error,
    Waived,
    NotApplicable,
    Manual,
    NoEvidence,
    Incomplete,
}

/// A control's status from the statuses of the policies that decide it: `fail` if one fails,
/// `error` if one errs, `not_applicable` if all are; of the others, `no_evidence` if none had
/// evidence, `incomplete` if some lacked it or judged only part, `waived` if one is waived,
/// else `pass`. No deciding policy: `manual`.
pub fn control_status(deciding: &[Status]) -> ControlStatus {
    let any = |s: Status| deciding.contains(&s);
    let judged: Vec<Status> = deciding
        .iter()
        .copied()
        .filter(|s| *s != Status::NotApplicable)
        .collect();
    if deciding.is_empty() {
        ControlStatus::Manual
    } else if any(Status::Fail) {
        ControlStatus::Fail
    } else if any(Status::Error) {
        ControlStatus::Error
    } else if judged.is_empty() {
        ControlStatus::NotApplicable
    } else if judged.iter().all(|s| *s == Status::NoEvidence) {
        ControlStatus::NoEvidence
    } else if any(Status::NoEvidence) || any(Status::Incomplete) {
        ControlStatus::Incomplete
    } else if any(Status::Waived) {
        ControlStatus::Waived
    } else {
        ControlStatus::Pass
    }
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Summary {
    pub by_status: StatusCounts,
    pub by_severity: BTreeMap<String, StatusCounts>,
    /// Per framework key, every control the policy set maps, with its status.
    pub frameworks: BTreeMap<String, Vec<ControlResult>>,
    /// The full name of each framework key in `frameworks` (`pci-dss-v4.0`: PCI DSS v4.0.1).
    #[serde(default)]
    pub framework_names: BTreeMap<String, String>,
    /// Failing policies at or above `--fail-on` (with `--baseline`: those with a new finding).
    pub violations: u64,
    pub fail_on: crate::judge::FailOn,
    /// Findings covered by a waiver in force.
    #[serde(default)]
    pub waived_findings: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSummary>,
    /// Accounts whose evidence the audit lacks (an organization trail's owner, a log group's
    /// account), each with the policies that could not be judged without it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence_needed_from: BTreeMap<String, Vec<String>>,
}

/// Event history as the report states it.
pub struct LogEvidence<'a> {
    pub accounting: &'a Accounting,
    /// The paths given.
    pub paths: Vec<PathBuf>,
    /// Records in the requested window.
    pub in_scope: u64,
    /// What the records cover of the requested window.
    pub coverage: crate::inventory::Coverage,
}

/// Everything the report is built from besides the judged outcomes.
pub struct Evidence<'a> {
    pub logs: Option<LogEvidence<'a>>,
    pub config: Option<(&'a ConfigEvidence, Vec<PathBuf>)>,
    pub posture: Vec<TrailPosture>,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub activity: Vec<Activity>,
    pub command_line: Vec<String>,
    /// `--allow-partial` was given.
    pub partial_allowed: bool,
    /// Files under the evidence paths that are neither kind of evidence, with why.
    pub ignored: Vec<(PathBuf, String)>,
    /// When the audit ran, RFC 3339 UTC.
    pub generated_at: String,
}

pub fn build(
    set: &PolicySet,
    judgement: Judgement,
    evidence: Evidence,
    mut scope: Scope,
) -> Report {
    let mut inputs = Inputs {
        partial_allowed: evidence.partial_allowed,
        ignored: evidence
            .ignored
            .iter()
            .map(|(path, why)| PathError {
                path: path.clone(),
                error: why.clone(),
            })
            .collect(),
        ..Inputs::default()
    };
    let mut accounts: Vec<String> = Vec::new();
    if let Some(logs) = &evidence.logs {
        let acc = logs.accounting;
        let mut li = LogInputs {
            paths: logs.paths.clone(),
            files: acc.files.len() as u64,
            events: acc.events,
            events_in_scope: logs.in_scope,
            rejected_records: acc.rejected_records(),
            duplicate_records: acc.duplicate_records(),
            duplicates: crate::inventory::FileDuplicates::of(&acc.files),
            ..LogInputs::default()
        };
        for f in &acc.files {
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
        inputs.partial |= acc.is_partial() || !logs.coverage.shortfalls.is_empty();
        inputs.shortfalls = logs.coverage.shortfalls.clone();
        scope.uncovered = logs.coverage.uncovered.clone();
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
    let mut summary = Summary {
        fail_on: judgement.fail_on,
        waived_findings: judgement.waived_findings,
        baseline: judgement.baseline,
        ..Summary::default()
    };
    let mut policies = Vec::with_capacity(judgement.policies.len());
    for j in judgement.policies {
        let (p, o) = (j.policy, j.outcome);
        for f in &o.findings {
            if !f.account.is_empty() && f.account != crate::inventory::UNKNOWN {
                accounts.push(f.account.clone());
            }
        }
        summary.by_status.add(o.status);
        summary
            .by_severity
            .entry(p.severity.to_string())
            .or_default()
            .add(o.status);
        summary.violations += u64::from(j.violation);
        for account in &o.judged_on.evidence_needed_from {
            summary
                .evidence_needed_from
                .entry(account.clone())
                .or_default()
                .push(p.id.clone());
        }
        policies.push(PolicyResult {
            id: p.id.clone(),
            title: p.title.clone(),
            severity: p.severity,
            kind: p.kind,
            status: o.status,
            violation: j.violation,
            reason: o.reason,
            frameworks: p.frameworks.clone(),
            matched_events: o.matched_events,
            findings: o.findings,
            warnings: o.warnings,
            filters: o.filters,
            judged_on: o.judged_on,
            description: p.description.clone(),
            remediation: p.remediation.clone(),
        });
    }
    // Every table reads from the most severe down, then by id.
    policies.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    // `--framework KEY` narrows the whole report, the control matrix included.
    let keys = policy::FRAMEWORKS
        .iter()
        .copied()
        .filter(|k| scope.framework.as_deref().is_none_or(|f| f == *k));
    for key in keys {
        let mapped_ids = policy::controls(set, key);
        // Catalogued controls in the standard's order, then any other the policies map.
        let mut ids: Vec<(String, String)> = catalog::controls(key)
            .map(|(id, title)| (id.to_string(), title.to_string()))
            .collect();
        for id in mapped_ids {
            if !ids.iter().any(|(c, _)| *c == id) {
                ids.push((id, String::new()));
            }
        }
        let rows = ids
            .into_iter()
            .map(|(control, title)| {
                let mapped: Vec<&PolicyResult> = policies
                    .iter()
                    .filter(|r| {
                        r.frameworks
                            .get(key)
                            .is_some_and(|ids| ids.contains(&control))
                    })
                    .collect();
                let (deciding, activity): (Vec<&PolicyResult>, Vec<&PolicyResult>) =
                    mapped.iter().partition(|r| r.kind.decides());
                let statuses: Vec<Status> = deciding.iter().map(|r| r.status).collect();
                ControlResult {
                    assessment: catalog::assessment(key, &control),
                    control,
                    title,
                    status: control_status(&statuses),
                    policies: mapped.iter().map(|r| r.id.clone()).collect(),
                    decided_by: deciding.iter().map(|r| r.id.clone()).collect(),
                    activity: activity
                        .iter()
                        .map(|r| ControlActivity {
                            policy: r.id.clone(),
                            findings: r.findings.len() as u64,
                            events: r.findings.iter().map(|f| f.event_total).sum(),
                        })
                        .collect(),
                }
            })
            .collect::<Vec<_>>();
        // A framework none of the run's policies maps (e.g. filtered out by --framework)
        // is left out rather than shown as all-manual.
        if rows.iter().any(|r| !r.policies.is_empty()) {
            summary.frameworks.insert(key.to_string(), rows);
            if let Some(name) = policy::framework_name(key) {
                summary
                    .framework_names
                    .insert(key.to_string(), name.to_string());
            }
        }
    }
    accounts.sort();
    accounts.dedup();
    scope.accounts = accounts;
    scope.regions = evidence.regions;
    scope.first_event = evidence.first_event;
    scope.last_event = evidence.last_event;
    let mut inputs_manifest = Vec::new();
    if let Some(logs) = &evidence.logs {
        for f in &logs.accounting.files {
            inputs_manifest.push(ManifestInput {
                kind: "event-history".into(),
                path: f.path.clone(),
                bytes: f.fingerprint.as_ref().map(|x| x.bytes),
                sha256: f.fingerprint.as_ref().map(|x| x.sha256.to_string()),
                compression: f.gzip.then(|| "gzip".into()),
            });
        }
    }
    if let Some((cfg, _)) = &evidence.config {
        for f in &cfg.files {
            inputs_manifest.push(ManifestInput {
                kind: "configuration".into(),
                path: f.path.clone(),
                bytes: f.fingerprint.as_ref().map(|x| x.bytes),
                sha256: f.fingerprint.as_ref().map(|x| x.sha256.to_string()),
                compression: None,
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
        file: ManifestFile::default(),
    };
    let manifest = manifest.sealed();
    Report {
        manifest,
        generated_at: evidence.generated_at.clone(),
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "trailaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            commit: env!("TRAILAUDIT_COMMIT").into(),
        },
        scope,
        inputs,
        posture: evidence.posture,
        policies,
        summary,
        waivers: judgement.waivers,
        activity: evidence.activity,
    }
}

/// The resource part of an ARN, without a log group's `log-group:` prefix and `:*` suffix:
/// what a reader recognises in a narrow table cell (the full ARN goes in a title attribute).
pub fn short_name(arn: &str) -> String {
    let resource = if arn.starts_with("arn:") {
        arn.splitn(6, ':').nth(5).unwrap_or(arn)
    } else {
        arn
    };
    let resource = resource.strip_prefix("log-group:").unwrap_or(resource);
    resource.strip_suffix(":*").unwrap_or(resource).to_string()
}
