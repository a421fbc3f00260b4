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
