//! Policies: one TOML file each, carrying its documentation, framework mappings, check and
//! examples. Loading collects every problem of every file (with file and key) before failing
//! once, as cargo-deny does.

pub mod check;
pub mod event;
pub mod integrity;
pub mod message;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filter::Pattern;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_policies.rs"));
}

/// Framework keys accepted in `[frameworks]` (see DESIGN.md).
pub const FRAMEWORKS: [&str; 10] = [
    "cis-aws-v3.0",
    "cis-aws-v5.0",
    "cis-aws-v6.0",
    "cis-aws-v7.0",
    "pci-dss-v4.0",
    "nist-800-53-r5",
    "fedramp-moderate-r5",
    "iso-27001-2022",
    "soc2",
    "aws-fsbp",
];

/// The full name of each framework key, as `trailaudit frameworks` and the report show it.
pub const FRAMEWORK_NAMES: [(&str, &str); 10] = [
    (
        "cis-aws-v3.0",
        "CIS Amazon Web Services Foundations Benchmark v3.0.0",
    ),
    (
        "cis-aws-v5.0",
        "CIS Amazon Web Services Foundations Benchmark v5.0.0",
    ),
    (
        "cis-aws-v6.0",
        "CIS Amazon Web Services Foundations Benchmark v6.0.0",
    ),
    (
        "cis-aws-v7.0",
        "CIS Amazon Web Services Foundations Benchmark v7.0.0",
    ),
    // The key predates v4.0.1; kept so that policy files, waivers and JSON consumers keep
    // working (requirement 10 did not change between v4.0 and v4.0.1).
    ("pci-dss-v4.0", "PCI DSS v4.0.1, requirement 10"),
    ("nist-800-53-r5", "NIST SP 800-53 Rev. 5"),
    ("fedramp-moderate-r5", "FedRAMP Moderate baseline (Rev. 5)"),
    ("iso-27001-2022", "ISO/IEC 27001:2022, Annex A"),
    (
        "soc2",
        "SOC 2: AICPA Trust Services Criteria (2017, revised points of focus 2022)",
    ),
    (
        "aws-fsbp",
        "AWS Security Hub controls (Foundational Security Best Practices)",
    ),
];

/// Other spellings accepted wherever a framework key is read (`--framework`, policy files),
/// each with the key it stands for.
pub const FRAMEWORK_ALIASES: [(&str, &str); 1] = [("pci-dss-v4.0.1", "pci-dss-v4.0")];

/// The framework key `key` names, itself or through an alias.
pub fn framework_key(key: &str) -> Option<&'static str> {
    FRAMEWORKS.iter().copied().find(|k| *k == key).or_else(|| {
        FRAMEWORK_ALIASES
            .iter()
            .find(|(alias, _)| *alias == key)
            .map(|(_, k)| *k)
    })
}

/// The full name of a framework key.
pub fn framework_name(key: &str) -> Option<&'static str> {
    FRAMEWORK_NAMES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, n)| *n)
}

/// `--framework KEY` checked and turned into the key it stands for.
pub fn parse_framework(key: &str) -> Result<&'static str, String> {
    framework_key(key).ok_or_else(|| {
        format!(
            "unknown framework {key:?}; use one of {} (`trailaudit frameworks` lists them)",
            FRAMEWORKS.join(", ")
        )
    })
}

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    #[default]
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A filter pattern over event history.
    Event,
    /// A filter pattern over each trail's Posture.
    Config,
    /// The CIS metric filter -> alarm -> SNS chain, judged by what the filter matches.
    Monitoring,
    /// Log integrity: the digest chain of the log files, and delivery gaps in the events.
    Integrity,
}

impl Kind {
    /// Whether a policy of this kind decides the controls it maps to. Configuration, the
    /// monitoring chain and integrity say whether a control is in place; an event policy's
    /// findings are activity an assessor reviews under the control (captured failed logins do
    /// not make "logs capture failed logins" fail). Event findings still fail the run.
    pub fn decides(self) -> bool {
        self != Kind::Event
    }
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Event, Kind::Config, Kind::Monitoring, Kind::Integrity];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Kind::Event => "event",
            Kind::Config => "config",
            Kind::Monitoring => "monitoring",
            Kind::Integrity => "integrity",
        })
    }
}

/// A policy file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    id: String,
    title: String,
    // Strings, checked after parsing: an unknown value is one problem among the file's others,
    // not the end of reading it.
    severity: String,
    kind: String,
    description: String,
    rationale: String,
    remediation: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    frameworks: BTreeMap<String, Vec<String>>,
    check: CheckFile,
    #[serde(default, rename = "example")]
    examples: Vec<ExampleFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    /// Event and config policies: the filter pattern.
    pattern: Option<String>,
    /// Event policies: fields whose values make one finding (default: account, region,
    /// principal).
    group_by: Option<Vec<String>>,
    /// Event policies: a finding needs at least this many matching events in a group...
    threshold: Option<u64>,
    /// ...within this long (`10m`, `1h`, `1d`).
    window: Option<String>,
    /// Event policies: the policy claims that something changed, so each finding tells the
    /// changes AWS carried out from the attempts it refused (`errorCode`).
    change: Option<bool>,
    /// Config policies: `each-trail` (every trail must match), `any-trail` (each account
    /// needs one trail that matches) or `each-resource` (every resource `applies_to` selects
    /// must match).
    scope: Option<String>,
    /// Config policies: Posture paths that must be known for a trail to be judged.
    requires: Option<Vec<String>>,
    /// Config policies: only trails matching this pattern are judged.
    applies_to: Option<String>,
    /// Monitoring policies: the event policy whose examples say what the filter must catch
    /// (its `match` examples) and should not catch (its `no-match` examples).
    control_events: Option<String>,
    /// Integrity policies: `digest-chain` or `delivery-gaps`.
    integrity: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    /// `match` or `no-match`.
    expect: String,
    /// A CloudTrail record (event policies) or a trail's Posture (config), as JSON.
    json: String,
    /// What it is and where it comes from.
    #[serde(default)]
    note: String,
    /// A `no-match` example of everyday traffic: a monitoring filter that matches it would fire
    /// all the time, so it cannot serve as this control's alarm.
    #[serde(default)]
    routine: bool,
    /// A `match` example that the event policy must catch in the history, but that a monitoring
    /// control's metric filter need not catch: another control covers it (root sign-ins are
    /// CIS 4.3's, not 4.2's), or CloudTrail no longer writes records of its shape to CloudWatch
    /// Logs (records before eventVersion 1.02 have no `eventType`).
    #[serde(default = "yes")]
    filter_must_match: bool,
}

fn yes() -> bool {
    true
}

/// An example input and whether the policy must match it.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub matches: bool,
    pub note: String,
    /// Everyday traffic (only for `no-match` examples).
    pub routine: bool,
    /// Whether a monitoring control's metric filter must catch it (only `match` examples can
    /// be exempt).
    pub filter_must_match: bool,
    pub value: Value,
}

impl Example {
    /// The event as a finding names it: name, source and the values of the fields the control's
    /// pattern tests (never the note, which is for policy authors):
    /// `ConsoleLogin (signin.amazonaws.com, userIdentity.type=Root, eventType absent)`.
    pub fn describe(&self, pattern: Option<&Pattern>) -> String {
        let get = |k: &str| self.value.get(k).and_then(Value::as_str).unwrap_or("?");
        let mut parts = vec![get("eventSource").to_string()];
        for keys in pattern
            .map(Pattern::selectors)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|sel| sel.keys())
            .filter(|keys| !matches!(keys.as_slice(), ["eventSource"] | ["eventName"]))
        {
            let shown = match keys.iter().try_fold(&self.value, |v, k| v.get(k)) {
                Some(Value::String(s)) => format!("={s}"),
                Some(v) => format!("={v}"),
                None => " absent".into(),
            };
            let part = format!("{}{shown}", keys.join("."));
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        format!("{} ({})", get("eventName"), parts.join(", "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigScope {
    EachTrail,
    AnyTrail,
    /// Every resource its `applies_to` selects (VPCs, regions' Config recorders, ...).
    EachResource,
}

#[derive(Debug, Clone)]
pub enum Check {
    Event {
        pattern: Pattern,
        text: String,
        group_by: Vec<String>,
        threshold: Option<u64>,
        window_ms: Option<i64>,
        /// Findings tell changes from refused attempts (`change = true`).
        claims_change: bool,
    },
    Config {
        pattern: Pattern,
        text: String,
        scope: ConfigScope,
        requires: Vec<String>,
        applies_to: Option<(Pattern, String)>,
    },
    Monitoring {
        control_events: String,
    },
    Integrity(IntegrityCheck),
}

/// What an integrity policy checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntegrityCheck {
    /// Digest files: log file hashes, chain links, signatures (`trailaudit verify`).
    DigestChain,
    /// StopLogging periods and silent hours in the event history.
    DeliveryGaps,
}

/// A policy, compiled once at load.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub kind: Kind,
    pub description: String,
    pub rationale: String,
    pub remediation: String,
    pub references: Vec<String>,
    pub frameworks: BTreeMap<String, Vec<String>>,
    pub check: Check,
    pub examples: Vec<Example>,
    /// File it came from (`builtin:NAME` for the built-in set).
    pub source: String,
    /// SHA-256 of the policy file's text.
    pub sha256: String,
}

/// One problem in one policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub key: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.file, self.key, self.message)
        }
    }
}

/// All problems found, reported together.
#[derive(Debug, Clone, thiserror::Error)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(f, "{} problem(s) in policy files:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// The policy set in force.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    pub policies: Vec<Policy>,
}

impl PolicySet {
    /// The built-in set, then each `--policies` directory: a policy with an id already in the
    /// set replaces it; with `replace`, the directories' policies are the whole set.
    pub fn load(dirs: &[PathBuf], replace: bool) -> Result<PolicySet, PolicyErrors> {
        let mut sources: Vec<(String, String)> = Vec::new();
        let mut errors = Vec::new();
        if !replace {
            sources.extend(
                builtin::BUILTIN
                    .iter()
                    .map(|(name, text)| (format!("builtin:{name}"), text.to_string())),
            );
        }
        for dir in dirs {
            match read_dir_sorted(dir) {
                Ok(files) => {
                    for path in files {
                        match std::fs::read_to_string(&path) {
                            Ok(text) => sources.push((path.display().to_string(), text)),
                            Err(e) => errors.push(PolicyError {
                                file: path.display().to_string(),
                                key: String::new(),
                                message: format!("cannot read: {e}"),
                            }),
                        }
                    }
                }
                Err(e) => errors.push(PolicyError {
                    file: dir.display().to_string(),
                    key: String::new(),
                    message: e,
                }),
            }
        }
        let mut by_id: BTreeMap<String, Policy> = BTreeMap::new();
        for (source, text) in &sources {
            match parse_policy(source, text) {
                Ok(p) => {
                    by_id.insert(p.id.clone(), p);
                }
                Err(mut es) => errors.append(&mut es),
            }
        }
        // Monitoring policies borrow an event policy's examples.
        for p in by_id.values() {
            if let Check::Monitoring { control_events } = &p.check {
                match by_id.get(control_events) {
                    Some(e) if e.kind == Kind::Event => {}
                    Some(_) => errors.push(PolicyError {
                        file: p.source.clone(),
                        key: "check.control_events".into(),
                        message: format!("{control_events} is not an event policy"),
                    }),
                    None => errors.push(PolicyError {
                        file: p.source.clone(),
                        key: "check.control_events".into(),
                        message: format!("no policy {control_events} in the set"),
                    }),
                }
            }
        }
        if errors.is_empty() {
            Ok(PolicySet {
                policies: by_id.into_values().collect(),
            })
        } else {
            Err(PolicyErrors(errors))
        }
    }

    /// The policy with this id, in any case: users type ids (`policy explain ta-evt-403`).
    pub fn get(&self, id: &str) -> Option<&Policy> {
        self.policies
            .iter()
            .find(|p| p.id == id)
            .or_else(|| self.policies.iter().find(|p| p.id.eq_ignore_ascii_case(id)))
    }

    /// The event policy whose examples a monitoring policy judges filters with.
    pub fn control_events(&self, p: &Policy) -> Option<&Policy> {
        match &p.check {
            Check::Monitoring { control_events } => self.get(control_events),
            _ => None,
        }
    }

    /// SHA-256 over every policy's id and text digest, in id order: which rules an audit
    /// applied.
    pub fn digest(&self) -> String {
        let mut listing = String::new();
        for p in &self.policies {
            listing.push_str(&format!("{} {}\n", p.id, p.sha256));
        }
        crate::events::Fingerprint::of(listing.as_bytes())
            .sha256
            .to_string()
    }
}

impl Policy {
    /// The events a metric filter standing for this (event) policy must catch: its `match`
    /// examples, less those exempt from filters.
    pub fn filter_required(&self) -> impl Iterator<Item = &Example> {
        self.examples
            .iter()
            .filter(|e| e.matches && e.filter_must_match)
    }

    /// The events such a filter should not count: its `no-match` examples.
    pub fn filter_benign(&self) -> impl Iterator<Item = &Example> {
        self.examples.iter().filter(|e| !e.matches)
    }

    /// The filter pattern of an event or config policy.
    pub fn pattern(&self) -> Option<&Pattern> {
        match &self.check {
            Check::Event { pattern, .. } | Check::Config { pattern, .. } => Some(pattern),
            Check::Monitoring { .. } | Check::Integrity(_) => None,
        }
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot read policy directory: {e}"))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn parse_duration_ms(s: &str) -> Option<i64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    (n > 0).then_some(n * ms)
}

/// Parses and checks one policy file; every problem is returned.
pub fn parse_policy(source: &str, text: &str) -> Result<Policy, Vec<PolicyError>> {
    let err = |key: &str, message: String| PolicyError {
        file: source.to_string(),
        key: key.to_string(),
        message,
    };
    let file: PolicyFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let key = e
                .message()
                .split('`')
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            return Err(vec![err(&key, format!("{}{at}", e.message().trim()))]);
        }
    };
    let mut errors = Vec::new();
    let severity = Severity::ALL
        .into_iter()
        .find(|s| s.to_string() == file.severity);
    if severity.is_none() {
        errors.push(err(
            "severity",
            format!(
                "{:?}: use one of {}",
                file.severity,
                Severity::ALL.map(|s| s.to_string()).join(", ")
            ),
        ));
    }
    let kind = Kind::ALL.into_iter().find(|k| k.to_string() == file.kind);
    if kind.is_none() {
        errors.push(err(
            "kind",
            format!(
                "{:?}: use one of {}",
                file.kind,
                Kind::ALL.map(|k| k.to_string()).join(", ")
            ),
        ));
    }
    let valid_id = !file.id.is_empty()
        && file
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid_id {
        errors.push(err("id", "use letters, digits, '-' and '.' only".into()));
    }
    let name = source.rsplit(['/', ':']).next().unwrap_or(source);
    if !name.starts_with(&format!("{}-", file.id)) || !name.ends_with(".toml") {
        errors.push(err(
            "id",
            format!("file name must be `{}-<kebab-name>.toml`", file.id),
        ));
    }
    for (key, ids) in &file.frameworks {
        if framework_key(key).is_none() {
            errors.push(err(
                &format!("frameworks.{key}"),
                format!("unknown framework; use one of {}", FRAMEWORKS.join(", ")),
            ));
        }
        if ids.is_empty() {
            errors.push(err(
                &format!("frameworks.{key}"),
                "list at least one control id".into(),
            ));
        }
    }
    for (key, value) in [
        ("title", &file.title),
        ("description", &file.description),
        ("rationale", &file.rationale),
        ("remediation", &file.remediation),
    ] {
        if value.trim().is_empty() {
            errors.push(err(key, "must not be empty".into()));
        }
    }
    let pattern = |key: &str,
                   text: &Option<String>,
                   errors: &mut Vec<PolicyError>|
     -> Option<(Pattern, String)> {
        let Some(t) = text else {
            errors.push(err(key, "missing".into()));
            return None;
        };
        match Pattern::parse(t) {
            Ok(p) => Some((p, t.clone())),
            Err(e) => {
                errors.push(err(key, format!("invalid filter pattern: {e}")));
                None
            }
        }
    };
    let c = &file.check;
    // Each kind uses some of the check keys; any other given is an error. Without a known kind
    // the check cannot be judged: the unknown kind is the problem reported.
    let used: &[&str] = match kind {
        Some(Kind::Event) => &["pattern", "group_by", "threshold", "window", "change"],
        Some(Kind::Config) => &["pattern", "scope", "requires", "applies_to"],
        Some(Kind::Monitoring) => &["control_events"],
        Some(Kind::Integrity) => &["integrity"],
        None => &[],
    };
    for (k, present) in [
        ("pattern", c.pattern.is_some()),
        ("group_by", c.group_by.is_some()),
        ("threshold", c.threshold.is_some()),
        ("window", c.window.is_some()),
        ("change", c.change.is_some()),
        ("scope", c.scope.is_some()),
        ("requires", c.requires.is_some()),
        ("applies_to", c.applies_to.is_some()),
        ("control_events", c.control_events.is_some()),
        ("integrity", c.integrity.is_some()),
    ] {
        if let (true, false, Some(kind)) = (present, used.contains(&k), kind) {
            errors.push(err(
                &format!("check.{k}"),
                format!("not used by {kind} policies"),
            ));
        }
    }
    let check = match kind {
        None => None,
        Some(Kind::Event) => {
            let window_ms = match &c.window {
                Some(w) => match parse_duration_ms(w) {
                    Some(ms) => Some(ms),
                    None => {
                        errors.push(err(
                            "check.window",
                            format!("{w:?}: use a number and s, m, h or d (`10m`)"),
                        ));
                        None
                    }
                },
                None => None,
            };
            if window_ms.is_some() && c.threshold.is_none() {
                errors.push(err("check.window", "needs check.threshold".into()));
            }
            for g in c.group_by.iter().flatten() {
                if crate::events::schema::field(g).is_none() {
                    errors.push(err(
                        "check.group_by",
                        format!("{g:?} is not an EventFrame column (see the README's schema)"),
                    ));
                }
            }
            if c.threshold == Some(0) {
                errors.push(err("check.threshold", "must be at least 1".into()));
            }
            pattern("check.pattern", &c.pattern, &mut errors).map(|(pattern, text)| Check::Event {
                pattern,
                text,
                group_by: c.group_by.clone().unwrap_or_else(|| {
                    vec![
                        "recipientAccountId".into(),
                        "awsRegion".into(),
                        "userIdentity.arn".into(),
                    ]
                }),
                threshold: c.threshold,
                window_ms,
                claims_change: c.change.unwrap_or(false),
            })
        }
        Some(Kind::Config) => {
            let scope = match c.scope.as_deref() {
                Some("each-trail") | None => Some(ConfigScope::EachTrail),
                Some("any-trail") => Some(ConfigScope::AnyTrail),
                Some("each-resource") => Some(ConfigScope::EachResource),
                Some(other) => {
                    errors.push(err(
                        "check.scope",
                        format!("{other:?}: use `each-trail`, `any-trail` or `each-resource`"),
                    ));
                    None
                }
            };
            let applies_to = c
                .applies_to
                .as_ref()
                .and_then(|_| pattern("check.applies_to", &c.applies_to, &mut errors));
            match (pattern("check.pattern", &c.pattern, &mut errors), scope) {
                (Some((pattern, text)), Some(scope)) => Some(Check::Config {
                    pattern,
                    text,
                    scope,
                    requires: c.requires.clone().unwrap_or_default(),
                    applies_to,
                }),
                _ => None,
            }
        }
        Some(Kind::Monitoring) => match &c.control_events {
            Some(id) => Some(Check::Monitoring {
                control_events: id.clone(),
            }),
            None => {
                errors.push(err(
                    "check.control_events",
                    "missing: name the event policy whose examples define the control".into(),
                ));
                None
            }
        },
        Some(Kind::Integrity) => match c.integrity.as_deref() {
            Some("digest-chain") => Some(Check::Integrity(IntegrityCheck::DigestChain)),
            Some("delivery-gaps") => Some(Check::Integrity(IntegrityCheck::DeliveryGaps)),
            other => {
                errors.push(err(
                    "check.integrity",
                    format!("{other:?}: use `digest-chain` or `delivery-gaps`"),
                ));
                None
            }
        },
    };
    let mut examples = Vec::new();
    for (i, ex) in file.examples.iter().enumerate() {
        let key = format!("example[{i}]");
        let matches = match ex.expect.as_str() {
            "match" => true,
            "no-match" => false,
            other => {
                errors.push(err(
                    &format!("{key}.expect"),
                    format!("{other:?}: use `match` or `no-match`"),
                ));
                continue;
            }
        };
        match serde_json::from_str::<Value>(&ex.json) {
            Ok(value @ Value::Object(_)) => {
                if matches && ex.routine {
                    errors.push(err(
                        &format!("{key}.routine"),
                        "only `no-match` examples can be routine".into(),
                    ));
                }
                if !matches && !ex.filter_must_match {
                    errors.push(err(
                        &format!("{key}.filter_must_match"),
                        "only `match` examples can be exempt from a metric filter".into(),
                    ));
                }
                examples.push(Example {
                    matches,
                    note: ex.note.clone(),
                    routine: ex.routine,
                    filter_must_match: ex.filter_must_match,
                    value,
                })
            }
            Ok(_) => errors.push(err(&format!("{key}.json"), "must be a JSON object".into())),
            Err(e) => errors.push(err(&format!("{key}.json"), format!("invalid JSON: {e}"))),
        }
    }
    // Monitoring policies borrow their control's examples; integrity checks are tested on
    // signed digest chains (tests/it/verify.rs), not on single records.
    if matches!(kind, Some(Kind::Event | Kind::Config)) {
        for (want, word) in [(true, "match"), (false, "no-match")] {
            if !examples.iter().any(|e| e.matches == want) {
                errors.push(err("example", format!("add at least one `{word}` example")));
            }
        }
    }
    match (check, severity, kind) {
        (Some(check), Some(severity), Some(kind)) if errors.is_empty() => Ok(Policy {
            id: file.id,
            title: file.title,
            severity,
            kind,
            description: file.description,
            rationale: file.rationale,
            remediation: file.remediation,
            references: file.references,
            frameworks: canonical_frameworks(file.frameworks),
            check,
            examples,
            source: source.to_string(),
            sha256: crate::events::Fingerprint::of(text.as_bytes())
                .sha256
                .to_string(),
        }),
        _ => Err(errors),
    }
}

/// Runs a policy's examples: the failures, each with its note.
pub fn test_examples(p: &Policy) -> Vec<String> {
    let mut failures = Vec::new();
    let Some(pattern) = p.pattern() else {
        return failures;
    };
    for (i, ex) in p.examples.iter().enumerate() {
        let got = pattern.matches(&ex.value);
        if got != ex.matches {
            failures.push(format!(
                "example[{i}] should {}match but {}: {}",
                if ex.matches { "" } else { "not " },
                if got { "matches" } else { "does not" },
                if ex.note.is_empty() {
                    "(no note)"
                } else {
                    &ex.note
                }
            ));
        }
    }
    failures
}

/// Mappings keyed by framework key, an alias's ids merged into its key's.
fn canonical_frameworks(mappings: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, ids) in mappings {
        let key = framework_key(&key).map_or(key, str::to_string);
        let merged = out.entry(key).or_default();
        for id in ids {
            if !merged.contains(&id) {
                merged.push(id);
            }
        }
    }
    out
}

/// Control ids of a framework across the set, sorted naturally (4.2 before 4.10).
pub fn controls(set: &PolicySet, framework: &str) -> Vec<String> {
    let ids: BTreeSet<String> = set
        .policies
        .iter()
        .flat_map(|p| p.frameworks.get(framework).into_iter().flatten().cloned())
        .collect();
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort_by_key(|a| natural_key(a));
    ids
}

/// `10.2.1.4` -> [(10,""), (2,""), (1,""), (4,"")] so numbers sort as numbers.
pub fn natural_key(s: &str) -> Vec<(u64, String)> {
    s.split(['.', '-', '(', ')'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            (
                digits.parse().unwrap_or(u64::MAX),
                p.trim_start_matches(|c: char| c.is_ascii_digit())
                    .to_string(),
            )
        })
        .collect()
}
