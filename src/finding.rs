//! Findings: what policies and integrity checks produce and the report shows. Findings are
//! data, never errors.

use serde::Serialize;

/// Event ids listed per finding (the earliest); the total is always exact.
pub const MAX_EVENT_IDS: usize = 20;
/// Evidence events kept in full per finding by default: the first N and the last N
/// (`audit --evidence-per-finding N`); every event is still counted.
pub const DEFAULT_EVIDENCE: usize = 10;

/// Bytes of `requestParameters` kept per evidence event.
pub const MAX_PARAMETERS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Error,
    NotApplicable,
    /// Failed, but every finding is covered by a waiver in force (set by the judging step).
    Waived,
    /// Nothing to judge: no record in scope, or no resource whose evidence is there. Never a
    /// pass: absence of evidence is not evidence of compliance.
    NoEvidence,
    /// Passed on the resources it could judge, but some could not be judged (evidence
    /// missing): not a clean pass.
    Incomplete,
}

impl Status {
    /// Every status, in the order reports list them.
    pub const ALL: [Status; 7] = [
        Status::Pass,
        Status::Fail,
        Status::Waived,
        Status::Error,
        Status::NotApplicable,
        Status::NoEvidence,
        Status::Incomplete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::NotApplicable => "not_applicable",
            Status::Waived => "waived",
            Status::NoEvidence => "no_evidence",
            Status::Incomplete => "incomplete",
        }
    }
}

/// What a policy was judged on, so a verdict can be weighed: a pass over no records is no pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Basis {
    /// Event policies: the records in scope, how many accounts and regions they come from, and
    /// their period (first and last event in scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Configuration and monitoring policies: the resources judged (trails, or the trails'
    /// monitoring chains), and those that could not be, each with why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_judged: Vec<String>,
    /// Of those, the ones only another account's evidence can decide (an organization trail's
    /// owner, a log group's account): the accounts to collect from and add to the audit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence_needed_from: Vec<String>,
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
    /// Where the record is in the file's content (decompressed, when the file is gzip): the
    /// byte offset and length of its JSON text (the record object, or the JSON string a file
    /// embeds it in), and the line it starts on (from 1). Absent when not known exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
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
    /// The first N and the last N of the finding's events, in time order (N is
    /// [`DEFAULT_EVIDENCE`] unless set); all of them when there are at most 2N.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// The waiver in force that covers this finding (set by the judging step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<String>,
    /// With `--baseline`: `new`, or `unchanged` when the baseline report has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Event findings: what the events were (changes and refused attempts, read-only calls,
    /// calls a service made on the principal's behalf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
    /// The evidence file the finding rests on, as read: a configuration finding's (the file
    /// of the value it fails on), an integrity finding's digest or log file. An event
    /// finding's files are its evidence events'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line of `file` that shows the value (1-based), where the file's text says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The column of `line` (1-based, in characters), where known (`iac`: the metric filter's
    /// pattern attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// A finding of a policy that claims a change, all of whose events AWS refused: an attempt,
    /// not a change, and never a violation of that policy (TA-EVT-401 judges refused calls).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attempt: bool,
}

/// Distinct error codes kept per finding; the others are counted as `other`.
pub const MAX_ERROR_CODES: usize = 8;

/// What a finding's events were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Breakdown {
    /// Events AWS carried out (no `errorCode`).
    pub changes: u64,
    /// Events AWS refused (with an `errorCode`), and how many of each code.
    pub refused: u64,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub refused_by_code: std::collections::BTreeMap<String, u64>,
    /// Read-only calls (`readOnly: true`).
    pub read_only: u64,
    /// Calls a service made on the principal's behalf (`userIdentity.invokedBy`).
    pub by_service: u64,
}

impl Breakdown {
    /// Counts one event.
    pub fn add(&mut self, error_code: Option<&str>, read_only: bool, invoked_by: Option<&str>) {
        match error_code {
            Some(code) => {
                self.refused += 1;
                let key = if self.refused_by_code.contains_key(code)
                    || self.refused_by_code.len() < MAX_ERROR_CODES
                {
                    code
                } else {
                    "other"
                };
                *self.refused_by_code.entry(key.to_string()).or_default() += 1;
            }
            None => self.changes += 1,
        }
        self.read_only += u64::from(read_only);
        self.by_service += u64::from(invoked_by.is_some());
    }

    /// `2 changes, 1 attempt refused (AccessDenied)`, for a policy that claims a change and
    /// has a refused event; the read-only calls and the calls by a service, for any.
    pub fn describe(&self, claims_change: bool) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        // Without a refused event every event is a change: the count says it.
        if claims_change && self.refused > 0 {
            parts.push(plural(self.changes, "change", "changes"));
            {
                let codes: Vec<String> = self
                    .refused_by_code
                    .iter()
                    .map(|(c, n)| {
                        if *n == self.refused {
                            c.clone()
                        } else {
                            format!("{c} {n}")
                        }
                    })
                    .collect();
                parts.push(format!(
                    "{} refused ({})",
                    plural(self.refused, "attempt", "attempts"),
                    codes.join(", ")
                ));
            }
        }
        if self.read_only > 0 {
            parts.push(format!("{} read-only", self.read_only));
        }
        if self.by_service > 0 {
            parts.push(format!(
                "{} made by a service on the principal's behalf",
                self.by_service
            ));
        }
        parts.join(", ")
    }
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
    /// Where the filter's pattern is written, when the evidence is source (`iac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceAt>,
}

/// A place in a source file: file, 1-based line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceAt {
    pub file: String,
    pub line: u32,
    pub column: u32,
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
    /// What the verdict rests on.
    pub judged_on: Basis,
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
            judged_on: Basis::default(),
        }
    }

    /// `no_evidence`, with why.
    pub fn no_evidence(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::NoEvidence,
            ..Outcome::not_applicable(reason)
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
            judged_on: Basis::default(),
        }
    }

    /// Judged on `resources`, with those that could not be: a pass with some not judged is
    /// `incomplete`, and none judged at all is `no_evidence`.
    pub fn judged_resources(mut self, resources: u64, not_judged: Vec<String>) -> Outcome {
        if resources == 0 && !not_judged.is_empty() && self.findings.is_empty() {
            self.status = Status::NoEvidence;
            self.reason = Some(format!(
                "evidence missing for every resource: {}",
                not_judged.join("; ")
            ));
        } else if self.status == Status::Pass && !not_judged.is_empty() {
            self.status = Status::Incomplete;
            self.reason = Some(format!(
                "{resources} judged, {} not judged: {}",
                not_judged.len(),
                not_judged.join("; ")
            ));
        }
        self.judged_on.resources = Some(resources);
        self.judged_on.not_judged = not_judged;
        self
    }
}
