//! Trail configuration evidence: the aws CLI's JSON exports (or `trailaudit collect`'s, which
//! are the same files) -> one [`Posture`] per trail, with its monitoring chain.
//!
//! Layout: `<root>/<account>/<region>/<service>/<file>.json` (S3 buckets under region
//! `global`), exactly as the README's collection script writes it. A file's kind is recognised
//! from its content; the account and region come from its path, and the subject (trail, topic,
//! bucket, key) from its content where AWS puts it there, else from the file name. Every file
//! is accounted for: recognised, or reported with the reason.

pub mod aws;
pub mod lines;
pub mod posture;
pub mod resources;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

pub use posture::{Posture, TrailPosture};

/// What a configuration file was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    DescribeTrails,
    TrailStatus,
    EventSelectors,
    InsightSelectors,
    MetricFilters,
    Alarms,
    Subscriptions,
    BucketPolicy,
    PublicAccessBlock,
    BucketLogging,
    BucketAcl,
    KeyRotation,
    CallerIdentity,
    PublicKeys,
    ConfigRecorders,
    ConfigRecorderStatus,
    Vpcs,
    FlowLogs,
    SecurityHub,
    Distributions,
    Distribution,
    LoadBalancers,
    LoadBalancerAttributes,
    RestApis,
    Stages,
    /// `aws apigatewayv2 get-apis`: HTTP and WebSocket APIs.
    ApisV2,
    StagesV2,
    /// `aws logs describe-delivery-sources`, `describe-deliveries` and
    /// `describe-delivery-destinations`: CloudFront's standard logging v2.
    DeliverySources,
    Deliveries,
    DeliveryDestinations,
    /// An API call that failed during collection, recorded as a gap in the evidence.
    CollectionError,
}

/// What became of one configuration file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConfigOutcome {
    Recognised { kind: Kind },
    Failed { error: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub account: Option<String>,
    pub region: Option<String>,
    pub outcome: ConfigOutcome,
    /// Size and SHA-256 as stored, when the file could be read.
    pub fingerprint: Option<crate::events::Fingerprint>,
}

/// A call that could not be collected (AccessDenied, throttling, ...), from the collector's
/// `*.error.json` files: the evidence has a gap there.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CollectionGap {
    pub path: PathBuf,
    pub account: Option<String>,
    pub region: Option<String>,
    pub operation: String,
    pub code: String,
    pub message: String,
}

/// Everything read from the configuration evidence.
#[derive(Debug, Clone, Default)]
pub struct ConfigEvidence {
    pub files: Vec<ConfigFile>,
    pub raw: RawConfig,
    pub gaps: Vec<CollectionGap>,
}

impl ConfigEvidence {
    pub fn failed(&self) -> impl Iterator<Item = (&ConfigFile, &str)> {
        self.files.iter().filter_map(|f| match &f.outcome {
            ConfigOutcome::Failed { error } => Some((f, error.as_str())),
            _ => None,
        })
    }

    pub fn is_partial(&self) -> bool {
        self.failed().next().is_some() || !self.gaps.is_empty()
    }

    pub fn posture(&self) -> Posture {
        let mut p = posture::assemble(&self.raw);
        p.resources = resources::assemble(&self.raw.resources, &self.scopes());
        p
    }

    /// Each account and region with a recognised file: the regions in scope.
    fn scopes(&self) -> std::collections::BTreeSet<Scope> {
        self.files
            .iter()
            .filter(|f| matches!(f.outcome, ConfigOutcome::Recognised { .. }))
            .filter_map(|f| {
                Some(Scope {
                    account: f.account.clone()?,
                    region: f.region.clone()?,
                })
            })
            .collect()
    }
}

/// Scope of a file: the account and region its path names.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

/// The recognised contents, by kind and scope, before assembly.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    /// With the file each came from (as do statuses, selectors and insights), so a finding can
    /// name it.
    pub trails: Vec<(Scope, aws::Trail, PathBuf)>,
    /// Keyed by trail ARN when the file says, else by trail name.
    pub statuses: Vec<(Scope, String, aws::TrailStatus, PathBuf)>,
    pub selectors: Vec<(Scope, String, aws::EventSelectors, PathBuf)>,
    pub insights: Vec<(Scope, String, aws::InsightSelectors, PathBuf)>,
    pub metric_filters: Vec<(Scope, aws::MetricFilter)>,
    /// Where `describe-metric-filters` was read, filters or none: a log group elsewhere has no
    /// evidence of its filters.
    pub metric_filter_scopes: std::collections::BTreeSet<Scope>,
    pub alarms: Vec<(Scope, aws::MetricAlarm)>,
    /// Topic ARN (or name) -> its subscriptions.
    pub subscriptions: BTreeMap<String, Vec<aws::Subscription>>,
    pub buckets: BTreeMap<String, posture::BucketEvidence>,
    /// Key id or ARN -> rotation enabled, and the file that says so.
    pub key_rotation: BTreeMap<String, (bool, PathBuf)>,
    pub caller: Vec<(Scope, aws::CallerIdentity)>,
    /// Config recorders, flow logs, Security Hub, front ends' access logs.
    pub resources: resources::RawResources,
    /// Every recognised file's keys with their lines, for findings to point at.
    pub key_lines: BTreeMap<PathBuf, Vec<lines::KeyAt>>,
}

/// Reads every file under `inputs`.
pub fn load(inputs: &[PathBuf]) -> ConfigEvidence {
    let mut ev = ConfigEvidence::default();
    for input in inputs {
        let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !is_event_history(e.path()))
            .filter_map(|e| match e {
                Ok(e) if e.file_type().is_file() => Some(e.into_path()),
                Ok(_) => None,
                Err(e) => {
                    let path = e.path().unwrap_or(input).to_path_buf();
                    ev.files.push(ConfigFile {
                        path,
                        account: None,
                        region: None,
                        outcome: ConfigOutcome::Failed {
                            error: format!("cannot read: {e}"),
                        },
                        fingerprint: None,
                    });
                    None
                }
            })
            .collect();
        paths.retain(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        });
        for path in paths {
            let scope = scope_of(&path);
            let (fingerprint, outcome) = match std::fs::read(&path) {
                Ok(bytes) => {
                    let outcome = match read(&path, &bytes, &scope, &mut ev.raw, &mut ev.gaps) {
                        Ok(kind) => {
                            ev.raw.key_lines.insert(path.clone(), lines::index(&bytes));
                            ConfigOutcome::Recognised { kind }
                        }
                        Err(error) => ConfigOutcome::Failed { error },
                    };
                    (Some(crate::events::Fingerprint::of(&bytes)), outcome)
                }
                Err(e) => (
                    None,
                    ConfigOutcome::Failed {
                        error: format!("cannot read: {e}"),
                    },
                ),
            };
            ev.files.push(ConfigFile {
                account: scope.as_ref().map(|s| s.account.clone()),
                region: scope.as_ref().map(|s| s.region.clone()),
                path,
                outcome,
                fingerprint,
            });
        }
    }
    // A trail bucket that only another account's trails name (an organization trail's, seen
    // from a member) is that account's to show: a refused call on it is no gap here.
    let raw = &ev.raw;
    ev.gaps.retain(|g| {
        let (Some(account), Some(bucket)) = (&g.account, parent_name(&g.path)) else {
            return true;
        };
        let listed = raw
            .trails
            .iter()
            .filter(|(s, ..)| s.account == *account)
            .map(|(_, t, _)| {
                (
                    t.trail_arn.as_deref().unwrap_or_default(),
                    t.s3_bucket_name.as_deref(),
                )
            });
        !(g.operation.starts_with("aws s3api ") && foreign_bucket(&bucket, account, listed))
    });
    ev
}

/// Whether `bucket` is named only by trails (ARN, bucket) that an account other than `account`
/// owns: an organization trail's bucket seen from a member, whose configuration is the owner's
/// evidence (`collect` and `audit` agree on this).
pub fn foreign_bucket<'a>(
    bucket: &str,
    account: &str,
    trails: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> bool {
    let mut named = false;
    for (arn, b) in trails {
        if b != Some(bucket) {
            continue;
        }
        named = true;
        if arn.split(':').nth(4).is_none_or(|a| a == account) {
            return false;
        }
    }
    named
}

/// Errors that are answers, not gaps: the bucket has no policy or no public access block, the
/// trail has no insight selectors, the trail is gone (or is another account's, seen as a shadow).
pub fn is_answer(code: &str) -> bool {
    matches!(
        code,
        "NoSuchBucketPolicy"
            | "NoSuchPublicAccessBlockConfiguration"
            | "InsightNotEnabledException"
            | "TrailNotFoundException"
    )
}

/// Event history that `trailaudit collect` keeps beside the configuration: the trail bucket's
/// log files (`<account>/logs/`) and LookupEvents pages (`cloudtrail/lookup-events/`). They
/// are `audit --logs` input, so the configuration walk does not enter them.
/// Whether `bytes`, read from `path`, is configuration evidence this module recognises (what
/// `audit PATH...` uses to tell configuration from event history).
pub fn recognises(path: &Path, bytes: &[u8]) -> bool {
    let (mut raw, mut gaps) = (RawConfig::default(), Vec::new());
    read(path, bytes, &scope_of(path), &mut raw, &mut gaps).is_ok()
}

pub fn is_event_history(dir: &Path) -> bool {
    let mut parts = dir.iter().rev().filter_map(|p| p.to_str());
    match (parts.next(), parts.next()) {
        (Some("logs"), Some(account)) => is_account(account),
        (Some("lookup-events"), Some("cloudtrail")) => true,
        _ => false,
    }
}

/// A configuration file as a finding names it: from its account directory on
/// (`210987654321/us-east-1/cloudtrail/trail-status/prod-legacy.json`), the layout
/// `collect-config.sh` writes, whatever directory was given; the whole path otherwise.
pub fn evidence_name(path: &Path) -> String {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    match parts.iter().rposition(|p| is_account(p)) {
        Some(i) => parts[i..].join("/"),
        None => path.display().to_string(),
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `.../<account>/<region>/<service>/...`: the last 12-digit component and the one after it.
fn scope_of(path: &Path) -> Option<Scope> {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    let i = parts.iter().rposition(|p| is_account(p))?;
    let region = parts.get(i + 1).filter(|_| i + 2 < parts.len())?;
    Some(Scope {
        account: parts[i].to_string(),
        region: region.to_string(),
    })
}

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.strip_suffix(".json").unwrap_or(name).to_string()
}

/// The directory just above the file (a bucket's name, in `global/s3/<bucket>/...`).
fn parent_name(path: &Path) -> Option<String> {
    path.parent()?.file_name()?.to_str().map(str::to_string)
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("unexpected shape: {e}"))
}

fn read(
    path: &Path,
    bytes: &[u8],
    scope: &Option<Scope>,
    raw: &mut RawConfig,
    gaps: &mut Vec<CollectionGap>,
) -> Result<Kind, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty file".into());
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(o) = &v else {
        return Err("not an aws CLI output (not a JSON object)".into());
    };
    let has = |k: &str| o.contains_key(k);
    let scope_or = |what: &str| -> Result<Scope, String> {
        scope.clone().ok_or_else(|| {
            format!("{what} needs its account and region from the path: <account>/<region>/<service>/<file>.json")
        })
    };
    // Trail status, selectors and insights name their trail by ARN when AWS says it, else by
    // the file name.
    let trail_key = |v: &Value| -> String {
        v.get("TrailARN")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| stem(path))
    };
    let kind = if has("trailList") {
        let d: aws::DescribeTrails = from(v)?;
        let scope = scope.clone().unwrap_or_default();
        raw.trails.extend(
            d.trail_list
                .into_iter()
                .map(|t| (scope.clone(), t, path.to_path_buf())),
        );
        Kind::DescribeTrails
    } else if has("IsLogging") {
        let key = trail_key(&v);
        raw.statuses.push((
            scope.clone().unwrap_or_default(),
            key,
            from(v)?,
            path.to_path_buf(),
        ));
        Kind::TrailStatus
    } else if has("EventSelectors") || has("AdvancedEventSelectors") {
        let key = trail_key(&v);
        raw.selectors.push((
            scope.clone().unwrap_or_default(),
            key,
            from(v)?,
            path.to_path_buf(),
        ));
        Kind::EventSelectors
    } else if has("InsightSelectors") {
        let key = trail_key(&v);
        raw.insights.push((
            scope.clone().unwrap_or_default(),
            key,
            from(v)?,
            path.to_path_buf(),
        ));
        Kind::InsightSelectors
    } else if has("metricFilters") {
        let scope = scope_or("describe-metric-filters output")?;
        let d: aws::MetricFilters = from(v)?;
        raw.metric_filter_scopes.insert(scope.clone());
        raw.metric_filters
            .extend(d.metric_filters.into_iter().map(|f| (scope.clone(), f)));
        Kind::MetricFilters
    } else if has("MetricAlarms") || has("CompositeAlarms") {
        let scope = scope_or("describe-alarms output")?;
        let d: aws::DescribeAlarms = from(v)?;
        raw.alarms
            .extend(d.metric_alarms.into_iter().map(|a| (scope.clone(), a)));
        Kind::Alarms
    } else if has("Subscriptions") {
        let d: aws::Subscriptions = from(v)?;
        // An empty list names no topic: the file name does.
        let topic = d
            .subscriptions
            .iter()
            .find_map(|s| s.topic_arn.clone())
            .unwrap_or_else(|| stem(path));
        raw.subscriptions
            .entry(topic)
            .or_default()
            .extend(d.subscriptions);
        Kind::Subscriptions
    } else if has("Policy") && o.get("Policy").is_some_and(Value::is_string) {
        let d: aws::BucketPolicy = from(v)?;
        let bucket = parent_name(path).ok_or("bucket policy outside a <bucket>/ folder")?;
        let e = raw.buckets.entry(bucket).or_default();
        e.policy = Some(d.policy);
        e.files.insert("Public", path.to_path_buf());
        Kind::BucketPolicy
    } else if has("PublicAccessBlockConfiguration") {
        let d: aws::PublicAccessBlock = from(v)?;
        let bucket = parent_name(path).ok_or("public access block outside a <bucket>/ folder")?;
        let e = raw.buckets.entry(bucket).or_default();
        e.public_access_block = Some(d.public_access_block_configuration);
        e.files
            .entry("Public")
            .or_insert_with(|| path.to_path_buf());
        Kind::PublicAccessBlock
    } else if has("LoggingEnabled") || (o.is_empty() && stem(path).ends_with("bucket-logging")) {
        let d: aws::BucketLogging = from(v)?;
        let bucket = parent_name(path).ok_or("bucket logging outside a <bucket>/ folder")?;
        let e = raw.buckets.entry(bucket).or_default();
        e.logging = Some(d.logging_enabled.is_some());
        e.files.insert("AccessLogging", path.to_path_buf());
        Kind::BucketLogging
    } else if has("Grants") && has("Owner") {
        let d: aws::BucketAcl = from(v)?;
        let bucket = parent_name(path).ok_or("bucket ACL outside a <bucket>/ folder")?;
        let e = raw.buckets.entry(bucket).or_default();
        e.acl = Some(d.grants);
        e.files
            .entry("Public")
            .or_insert_with(|| path.to_path_buf());
        Kind::BucketAcl
    } else if has("KeyRotationEnabled") {
        let d: aws::KeyRotation = from(v)?;
        let key = d.key_id.clone().unwrap_or_else(|| stem(path));
        raw.key_rotation
            .insert(key, (d.key_rotation_enabled, path.to_path_buf()));
        Kind::KeyRotation
    } else if has("Account") && has("Arn") && has("UserId") {
        raw.caller
            .push((scope.clone().unwrap_or_default(), from(v)?));
        Kind::CallerIdentity
    } else if has("PublicKeyList") {
        Kind::PublicKeys
    } else if let Some(kind) = resources::read(path, o, scope, &mut raw.resources) {
        kind?
    } else if let Some(err) = o.get("trailauditCollectionError") {
        let s = |k: &str| {
            err.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        // Some errors are answers: the bucket has no policy, no public access block; the trail
        // has no insight selectors.
        let bucket = || parent_name(path).unwrap_or_default();
        // A call on another account's trail (an organization trail seen from a member) that
        // this account may not make is no gap in this account's evidence: what it would show
        // is the owner's to give, and the policies say so ("evidence needed from account N").
        if let Some(scope) = scope {
            if foreign_trail_call(&s("operation"), &scope.account) {
                return Ok(Kind::CollectionError);
            }
        }
        match s("code").as_str() {
            "TrailNotFoundException" => return Ok(Kind::CollectionError),
            "NoSuchBucketPolicy" => {
                let e = raw.buckets.entry(bucket()).or_default();
                e.policy = Some(String::new());
                e.files.insert("Public", path.to_path_buf());
                return Ok(Kind::BucketPolicy);
            }
            "NoSuchPublicAccessBlockConfiguration" => {
                raw.buckets.entry(bucket()).or_default().public_access_block =
                    Some(aws::PublicAccessBlockConfiguration::default());
                return Ok(Kind::PublicAccessBlock);
            }
            "InsightNotEnabledException" => return Ok(Kind::InsightSelectors),
            code if resources::read_answer(path, code, scope, &mut raw.resources) => {
                return Ok(Kind::SecurityHub)
            }
            _ => {}
        }
        gaps.push(CollectionGap {
            path: path.to_path_buf(),
            account: scope.as_ref().map(|s| s.account.clone()),
            region: scope.as_ref().map(|s| s.region.clone()),
            operation: s("operation"),
            code: s("code"),
            message: s("message"),
        });
        Kind::CollectionError
    } else {
        let keys: Vec<&str> = o.keys().take(5).map(String::as_str).collect();
        return Err(format!(
            "not a recognised aws CLI output (keys: {})",
            keys.join(", ")
        ));
    };
    Ok(kind)
}

/// Whether `operation` (the command a collection error records) is a CloudTrail call on a
/// trail ARN of an account other than `account`: refused or not, what it would show is the
/// trail owner's evidence, not a gap in `account`'s (`collect` and `audit` agree on this).
pub fn foreign_trail_call(operation: &str, account: &str) -> bool {
    let mut words = operation.split_whitespace();
    let cloudtrail = words.nth(1) == Some("cloudtrail");
    cloudtrail
        && operation
            .split_whitespace()
            .filter(|w| w.starts_with("arn:") && w.contains(":cloudtrail:"))
            .any(|arn| {
                arn.split(':')
                    .nth(4)
                    .is_some_and(|a| !a.is_empty() && a != account)
            })
}

/// An ISO 8601 string (aws CLI v2) or epoch seconds (v1) as RFC 3339 UTC.
pub fn time_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                })
                .unwrap_or_else(|_| s.clone()),
        ),
        Value::Number(n) => n
            .as_f64()
            .and_then(|secs| chrono::DateTime::from_timestamp(secs as i64, 0))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_on_another_accounts_trail_are_not_gaps() {
        let op = "aws cloudtrail get-trail-status --name arn:aws:cloudtrail:us-east-1:999988887777:trail/org-trail --region us-east-1";
        assert!(foreign_trail_call(op, "111122223333"));
        assert!(!foreign_trail_call(op, "999988887777"));
        // Not a CloudTrail call, or no trail ARN: decided as before.
        assert!(!foreign_trail_call(
            "aws cloudwatch describe-alarms --region us-east-1",
            "111122223333"
        ));
        assert!(!foreign_trail_call(
            "aws cloudtrail get-trail-status --name org-trail --region us-east-1",
            "111122223333"
        ));
    }

    #[test]
    fn a_bucket_only_other_accounts_trails_name_is_theirs() {
        let org = "arn:aws:cloudtrail:us-east-1:999988887777:trail/org-trail";
        let own = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
        let member = "111122223333";
        assert!(foreign_bucket(
            "org-logs",
            member,
            [(org, Some("org-logs"))]
        ));
        // Also named by the member's own trail: the member's to show.
        assert!(!foreign_bucket(
            "org-logs",
            member,
            [(org, Some("org-logs")), (own, Some("org-logs"))]
        ));
        // Named by no trail: decided as before.
        assert!(!foreign_bucket("other", member, [(org, Some("org-logs"))]));
    }

    #[test]
    fn event_history_beside_the_configuration_is_not_walked() {
        assert!(is_event_history(Path::new("out/123456789012/logs")));
        assert!(is_event_history(Path::new(
            "out/123456789012/us-east-1/cloudtrail/lookup-events"
        )));
        // CloudWatch Logs' own directory holds configuration.
        assert!(!is_event_history(Path::new(
            "out/123456789012/us-east-1/logs"
        )));
        assert!(!is_event_history(Path::new(
            "out/123456789012/us-east-1/cloudtrail"
        )));
    }
}
