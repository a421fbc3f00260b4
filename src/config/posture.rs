//! The Posture: each trail's configuration, resolved into the facts policies check. Field names
//! follow AWS's (`IsMultiRegionTrail`), so config policies read as filter patterns over a
//! trail's JSON (`{ $.IsMultiRegionTrail IS TRUE && $.Status.IsLogging IS TRUE }`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::aws;
use super::{time_string, RawConfig, Scope};

/// What is known about one S3 bucket.
#[derive(Debug, Clone, Default)]
pub struct BucketEvidence {
    pub policy: Option<String>,
    pub public_access_block: Option<aws::PublicAccessBlockConfiguration>,
    pub logging: Option<bool>,
    pub acl: Option<Vec<aws::Grant>>,
    /// The file behind each `Bucket` field (`Public`: the policy, else the ACL or public access
    /// block; `AccessLogging`).
    pub files: BTreeMap<&'static str, PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Posture {
    /// Accounts the configuration evidence covers.
    pub accounts: Vec<String>,
    pub trails: Vec<TrailPosture>,
    /// Config recorders, VPCs, Security Hub, front ends: what resource policies judge.
    #[serde(skip)]
    pub resources: Vec<super::resources::Resource>,
    /// Each evidence file's keys with their lines: where a finding's value is shown.
    #[serde(skip)]
    pub key_lines: BTreeMap<PathBuf, Vec<super::lines::KeyAt>>,
}

/// One trail as seen from one account (an organization trail appears in every member account).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailPosture {
    /// The account whose evidence lists the trail.
    pub account: String,
    pub name: String,
    #[serde(rename = "TrailARN")]
    pub trail_arn: String,
    pub home_region: Option<String>,
    pub is_multi_region_trail: Option<bool>,
    pub include_global_service_events: Option<bool>,
    pub log_file_validation_enabled: Option<bool>,
    pub kms_key_id: Option<String>,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    #[serde(rename = "SnsTopicARN")]
    pub sns_topic_arn: Option<String>,
    pub is_organization_trail: Option<bool>,
    pub s3_bucket_name: Option<String>,
    /// `get-trail-status`, when collected.
    pub status: Option<Status>,
    /// Event selectors resolved; from `get-event-selectors`, or AWS's default when the trail
    /// has no custom selectors.
    pub selectors: Option<Selectors>,
    pub insight_types: Option<Vec<String>>,
    /// The trail's bucket, when its configuration was collected.
    pub bucket: Option<Bucket>,
    /// Rotation of the trail's KMS key, when collected.
    pub kms_key_rotation_enabled: Option<bool>,
    /// The CloudWatch Logs group's metric filters, their alarms, topics and subscriptions.
    pub monitoring: Option<Monitoring>,
    /// The file behind each part of the Posture, by its path (`Status`, `Bucket.Public`; ``
    /// for describe-trails' own fields): what a finding cites as evidence.
    #[serde(skip)]
    pub files: BTreeMap<String, PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Status {
    pub is_logging: Option<bool>,
    pub latest_delivery_time: Option<String>,
    pub latest_delivery_error: Option<String>,
    pub latest_digest_delivery_time: Option<String>,
    pub latest_digest_delivery_error: Option<String>,
    pub latest_cloud_watch_logs_delivery_time: Option<String>,
    pub latest_cloud_watch_logs_delivery_error: Option<String>,
    pub latest_notification_error: Option<String>,
    pub start_logging_time: Option<String>,
    pub stop_logging_time: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Selectors {
    /// `basic`, `advanced` or `default`.
    pub source: String,
    /// Management events recorded: `All`, `ReadOnly`, `WriteOnly` or `None`.
    pub management: String,
    pub excluded_management_event_sources: Vec<String>,
    pub s3_data_events: S3DataEvents,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DataEvents {
    /// `AllBuckets`, `SomeBuckets` or `None`.
    pub read: String,
    pub write: String,
    /// The buckets, for `SomeBuckets`.
    pub buckets: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub name: String,
    /// The bucket policy allows anyone (`Principal: "*"`) without a condition.
    pub public_policy: Option<bool>,
    /// The ACL grants to AllUsers or AuthenticatedUsers.
    pub public_acl: Option<bool>,
    /// All four public access block settings are on.
    pub public_access_blocked: Option<bool>,
    /// Public through its policy or ACL, and not blocked.
    pub public: Option<bool>,
    pub access_logging: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Monitoring {
    pub account: String,
    pub region: String,
    pub log_group: String,
    pub metric_filters: Vec<FilterChain>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterChain {
    pub filter_name: String,
    pub filter_pattern: String,
    pub metric_name: Option<String>,
    pub metric_namespace: Option<String>,
    pub alarms: Vec<AlarmChain>,
    /// Where the pattern is written, when the evidence is source (`iac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::finding::SourceAt>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmChain {
    pub alarm_name: String,
    pub actions_enabled: bool,
    pub topics: Vec<TopicChain>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicChain {
    pub topic_arn: String,
    /// `list-subscriptions-by-topic` was collected for the topic.
    pub subscriptions_known: bool,
    pub confirmed_subscriptions: usize,
    pub pending_subscriptions: usize,
}

impl TrailPosture {
    /// The trail's JSON, for config policies' filter patterns.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn arn_part(arn: &str, index: usize) -> Option<&str> {
    arn.split(':').nth(index).filter(|s| !s.is_empty())
}

pub fn assemble(raw: &RawConfig) -> Posture {
    let mut trails: BTreeMap<(String, String), TrailPosture> = BTreeMap::new();
    let mut accounts = BTreeSet::new();
    for (scope, t, file) in &raw.trails {
        let name = t.name.clone().unwrap_or_default();
        let arn = t.trail_arn.clone().unwrap_or_else(|| name.clone());
        let account = if scope.account.is_empty() {
            arn_part(&arn, 4).unwrap_or("unknown").to_string()
        } else {
            scope.account.clone()
        };
        accounts.insert(account.clone());
        trails
            .entry((account.clone(), arn.clone()))
            .or_insert_with(|| TrailPosture {
                account,
                name,
                trail_arn: arn,
                home_region: t.home_region.clone(),
                is_multi_region_trail: t.is_multi_region_trail,
                include_global_service_events: t.include_global_service_events,
                log_file_validation_enabled: t.log_file_validation_enabled,
                kms_key_id: t.kms_key_id.clone(),
                cloud_watch_logs_log_group_arn: t.cloud_watch_logs_log_group_arn.clone(),
                cloud_watch_logs_role_arn: t.cloud_watch_logs_role_arn.clone(),
                sns_topic_arn: t.sns_topic_arn.clone(),
                is_organization_trail: t.is_organization_trail,
                s3_bucket_name: t.s3_bucket_name.clone(),
                selectors: (t.has_custom_event_selectors == Some(false)).then(default_selectors),
                files: BTreeMap::from([(String::new(), file.clone())]),
                ..TrailPosture::default()
            });
    }
    for c in &raw.caller {
        accounts.insert(c.1.account.clone());
    }
    for trail in trails.values_mut() {
        // By ARN, or by name in the account that lists the trail or owns it (an organization
        // trail's status is collected in its owner's account).
        let owner = arn_part(&trail.trail_arn, 4)
            .unwrap_or_default()
            .to_string();
        let matches = |scope: &Scope, key: &str| {
            key == trail.trail_arn
                || (key == trail.name
                    && (scope.account.is_empty()
                        || scope.account == trail.account
                        || scope.account == owner))
        };
        let mut files = Vec::new();
        if let Some((_, _, s, f)) = raw.statuses.iter().rev().find(|(sc, k, ..)| matches(sc, k)) {
            trail.status = Some(status(s));
            files.push(("Status", f));
        }
        if let Some((_, _, s, f)) = raw
            .selectors
            .iter()
            .rev()
            .find(|(sc, k, ..)| matches(sc, k))
        {
            trail.selectors = Some(resolve_selectors(s));
            files.push(("Selectors", f));
        }
        if let Some((_, _, s, f)) = raw.insights.iter().rev().find(|(sc, k, ..)| matches(sc, k)) {
            files.push(("InsightTypes", f));
            trail.insight_types = Some(
                s.insight_selectors
                    .iter()
                    .filter_map(|i| i.insight_type.clone())
                    .collect(),
            );
        }
        if let Some(b) = trail
            .s3_bucket_name
            .as_ref()
            .and_then(|n| raw.buckets.get(n).map(|e| (n, e)))
        {
            trail.bucket = Some(bucket(b.0, b.1));
            for (field, f) in &b.1.files {
                trail
                    .files
                    .insert(format!("Bucket.{field}"), f.to_path_buf());
            }
        }
        if let Some(key) = &trail.kms_key_id {
            let short = key.rsplit('/').next().unwrap_or(key);
            let rotation = raw
                .key_rotation
                .iter()
                .find(|(k, _)| *k == key || k.rsplit('/').next() == Some(short));
            trail.kms_key_rotation_enabled = rotation.map(|(_, (v, _))| *v);
            if let Some((_, (_, f))) = rotation {
                files.push(("KmsKeyRotationEnabled", f));
            }
        }
        if let Some(group_arn) = &trail.cloud_watch_logs_log_group_arn {
            trail.monitoring = monitoring(raw, group_arn);
        }
        for (section, f) in files {
            trail.files.insert(section.to_string(), f.to_path_buf());
        }
    }
    Posture {
        accounts: accounts.into_iter().collect(),
        trails: trails.into_values().collect(),
        key_lines: raw.key_lines.clone(),
        resources: Vec::new(),
    }
}

fn status(s: &aws::TrailStatus) -> Status {
    let t = |v: &Option<Value>| v.as_ref().and_then(time_string);
    Status {
        is_logging: s.is_logging,
        latest_delivery_time: t(&s.latest_delivery_time),
        latest_delivery_error: s.latest_delivery_error.clone().filter(|e| !e.is_empty()),
        latest_digest_delivery_time: t(&s.latest_digest_delivery_time),
        latest_digest_delivery_error: s
            .latest_digest_delivery_error
            .clone()
            .filter(|e| !e.is_empty()),
        latest_cloud_watch_logs_delivery_time: t(&s.latest_cloud_watch_logs_delivery_time),
        latest_cloud_watch_logs_delivery_error: s
            .latest_cloud_watch_logs_delivery_error
            .clone()
            .filter(|e| !e.is_empty()),
        latest_notification_error: s
            .latest_notification_error
            .clone()
            .filter(|e| !e.is_empty()),
        start_logging_time: t(&s.start_logging_time),
        stop_logging_time: t(&s.stop_logging_time),
    }
}

/// A trail without custom selectors records all management events and no data events.
fn default_selectors() -> Selectors {
    Selectors {
        source: "default".into(),
        management: "All".into(),
        excluded_management_event_sources: Vec::new(),
        s3_data_events: S3DataEvents {
            read: "None".into(),
            write: "None".into(),
            buckets: Vec::new(),
        },
    }
}

#[derive(Default)]
struct Coverage {
    read: bool,
    write: bool,
}

impl Coverage {
    fn add(&mut self, read_only: Option<bool>) {
        match read_only {
            Some(true) => self.read = true,
            Some(false) => self.write = true,
            None => {
                self.read = true;
                self.write = true;
            }
        }
    }

    fn name(&self) -> &'static str {
        match (self.read, self.write) {
            (true, true) => "All",
            (true, false) => "ReadOnly",
            (false, true) => "WriteOnly",
            (false, false) => "None",
        }
    }
}

#[derive(Default)]
struct S3Coverage {
    read_all: bool,
    write_all: bool,
    read_some: BTreeSet<String>,
    write_some: BTreeSet<String>,
}

impl S3Coverage {
    fn add(&mut self, read_only: Option<bool>, buckets: Option<Vec<String>>) {
        let (read, write) = match read_only {
            Some(true) => (true, false),
            Some(false) => (false, true),
            None => (true, true),
        };
        match buckets {
            None => {
                self.read_all |= read;
                self.write_all |= write;
            }
            Some(list) => {
                if read {
                    self.read_some.extend(list.iter().cloned());
                }
                if write {
                    self.write_some.extend(list);
                }
            }
        }
    }

    fn finish(self) -> S3DataEvents {
        let level = |all: bool, some: &BTreeSet<String>| {
            if all {
                "AllBuckets"
            } else if !some.is_empty() {
                "SomeBuckets"
            } else {
                "None"
            }
        };
        S3DataEvents {
            read: level(self.read_all, &self.read_some).into(),
            write: level(self.write_all, &self.write_some).into(),
            buckets: self.read_some.union(&self.write_some).cloned().collect(),
        }
    }
}

/// `arn:aws:s3:::bucket/prefix` -> `bucket`; `arn:aws:s3` or `arn:aws:s3:::` -> all buckets.
fn s3_buckets(values: &[String]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for v in values {
        let rest = v
            .strip_prefix("arn:aws:s3:::")
            .or_else(|| v.strip_prefix("arn:aws-us-gov:s3:::"));
        match rest.map(|r| r.split('/').next().unwrap_or("")) {
            None | Some("") => return None,
            Some(b) => out.push(b.to_string()),
        }
    }
    Some(out)
}

pub fn resolve_selectors(s: &aws::EventSelectors) -> Selectors {
    let mut mgmt = Coverage::default();
    let mut excluded = BTreeSet::new();
    let mut s3 = S3Coverage::default();
    let source;
    if let Some(advanced) = s
        .advanced_event_selectors
        .as_ref()
        .filter(|a| !a.is_empty())
    {
        source = "advanced";
        for sel in advanced {
            let field = |name: &str| sel.field_selectors.iter().find(|f| f.field == name);
            let equals = |name: &str| {
                field(name)
                    .and_then(|f| f.equals.clone())
                    .unwrap_or_default()
            };
            let read_only = match equals("readOnly").as_slice() {
                [v] if v == "true" => Some(true),
                [v] if v == "false" => Some(false),
                _ => None,
            };
            let category = equals("eventCategory");
            if category.iter().any(|c| c == "Management") {
                mgmt.add(read_only);
                if let Some(ne) = field("eventSource").and_then(|f| f.not_equals.clone()) {
                    excluded.extend(ne);
                }
            }
            let s3_objects = equals("resources.type")
                .iter()
                .any(|t| t == "AWS::S3::Object");
            if category.iter().any(|c| c == "Data") && s3_objects {
                let arn = field("resources.ARN");
                let limited: Option<Vec<String>> = arn
                    .and_then(|f| f.starts_with.clone().or_else(|| f.equals.clone()))
                    .and_then(|values| s3_buckets(&values));
                s3.add(read_only, limited);
            }
        }
    } else {
        source = "basic";
        for sel in s.event_selectors.iter().flatten() {
            let read_only = match sel.read_write_type.as_deref() {
                Some("ReadOnly") => Some(true),
                Some("WriteOnly") => Some(false),
                _ => None,
            };
            if sel.include_management_events != Some(false) {
                mgmt.add(read_only);
                excluded.extend(sel.exclude_management_event_sources.iter().cloned());
            }
            for d in &sel.data_resources {
                if d.kind.as_deref() == Some("AWS::S3::Object") {
                    s3.add(read_only, s3_buckets(&d.values));
                }
            }
        }
    }
    Selectors {
        source: source.into(),
        management: mgmt.name().into(),
        excluded_management_event_sources: excluded.into_iter().collect(),
        s3_data_events: s3.finish(),
    }
}

fn bucket(name: &str, e: &BucketEvidence) -> Bucket {
    let public_policy = e.policy.as_deref().map(policy_is_public);
    let public_acl = e.acl.as_ref().map(|grants| {
        grants.iter().any(|g| {
            g.grantee
                .as_ref()
                .and_then(|gr| gr.uri.as_deref())
                .is_some_and(|u| {
                    u.ends_with("/global/AllUsers") || u.ends_with("/global/AuthenticatedUsers")
                })
        })
    });
    let blocked = e.public_access_block.as_ref().map(|b| {
        [
            b.block_public_acls,
            b.ignore_public_acls,
            b.block_public_policy,
            b.restrict_public_buckets,
        ]
        .iter()
        .all(|v| *v == Some(true))
    });
    let public = if blocked == Some(true) {
        Some(false)
    } else {
        match (public_policy, public_acl) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        }
    };
    Bucket {
        name: name.to_string(),
        public_policy,
        public_acl,
        public_access_blocked: blocked,
        public,
        access_logging: e.logging,
    }
}

/// An `Allow` statement for anyone (`"*"` or `{"AWS": "*"}`) with no condition.
pub fn policy_is_public(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return false,
    };
    statements.iter().any(|s| {
        let allow = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let anyone = match s.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(Value::Object(o)) => o.get("AWS").is_some_and(|a| match a {
                Value::String(p) => p == "*",
                Value::Array(ps) => ps.iter().any(|p| p.as_str() == Some("*")),
                _ => false,
            }),
            _ => false,
        };
        allow && anyone && s.get("Condition").is_none()
    })
}

fn monitoring(raw: &RawConfig, group_arn: &str) -> Option<Monitoring> {
    // arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
    let parts: Vec<&str> = group_arn.split(':').collect();
    let (region, account) = (parts.get(3)?.to_string(), parts.get(4)?.to_string());
    let name = parts.get(6)?.to_string();
    let scope = Scope {
        account: account.clone(),
        region: region.clone(),
    };
    let metric_filters = raw
        .metric_filters
        .iter()
        .filter(|(s, f)| *s == scope && f.log_group_name.as_deref() == Some(name.as_str()))
        .map(|(_, f)| {
            let t = f.metric_transformations.first();
            let metric_name = t.and_then(|t| t.metric_name.clone());
            let metric_namespace = t.and_then(|t| t.metric_namespace.clone());
            let alarms = raw
                .alarms
                .iter()
                .filter(|(s, a)| {
                    *s == scope && a.metric_name == metric_name && a.namespace == metric_namespace
                })
                .map(|(_, a)| AlarmChain {
                    alarm_name: a.alarm_name.clone().unwrap_or_default(),
                    actions_enabled: a.actions_enabled.unwrap_or(true),
                    topics: a
                        .alarm_actions
                        .iter()
                        .filter(|arn| {
                            arn.starts_with("arn:aws:sns:")
                                || arn.starts_with("arn:aws-us-gov:sns:")
                        })
                        .map(|arn| topic(raw, arn))
                        .collect(),
                })
                .collect();
            FilterChain {
                filter_name: f.filter_name.clone().unwrap_or_default(),
                filter_pattern: f.filter_pattern.clone().unwrap_or_default(),
                metric_name,
                metric_namespace,
                alarms,
                source: f.source.clone(),
            }
        })
        .collect();
    Some(Monitoring {
        account,
        region,
        log_group: name,
        metric_filters,
    })
}

fn topic(raw: &RawConfig, arn: &str) -> TopicChain {
    let short = arn.rsplit(':').next().unwrap_or(arn);
    let subs = raw
        .subscriptions
        .get(arn)
        .or_else(|| raw.subscriptions.get(short));
    TopicChain {
        topic_arn: arn.to_string(),
        subscriptions_known: subs.is_some(),
        confirmed_subscriptions: subs
            .map(|s| s.iter().filter(|s| s.confirmed()).count())
            .unwrap_or(0),
        pending_subscriptions: subs
            .map(|s| s.iter().filter(|s| !s.confirmed()).count())
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selectors(json: &str) -> Selectors {
        resolve_selectors(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn basic_selectors() {
        let s = selectors(
            r#"{"TrailARN":"t","EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}],"ExcludeManagementEventSources":[]}]}"#,
        );
        assert_eq!(
            (
                s.management.as_str(),
                s.s3_data_events.read.as_str(),
                s.s3_data_events.write.as_str()
            ),
            ("All", "AllBuckets", "AllBuckets")
        );
        let s = selectors(
            r#"{"EventSelectors":[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::logs-bucket/"]}]}]}"#,
        );
        assert_eq!(s.management, "WriteOnly");
        assert_eq!(
            (
                s.s3_data_events.read.as_str(),
                s.s3_data_events.write.as_str()
            ),
            ("None", "SomeBuckets")
        );
        assert_eq!(s.s3_data_events.buckets, ["logs-bucket"]);
        let s = selectors(
            r#"{"EventSelectors":[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true},{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true}]}"#,
        );
        assert_eq!(s.management, "All");
        let s = selectors(
            r#"{"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":false}]}"#,
        );
        assert_eq!(s.management, "None");
    }

    #[test]
    fn advanced_selectors() {
        let s = selectors(
            r#"{"AdvancedEventSelectors":[
            {"Name":"mgmt","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]},
            {"Name":"s3","FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]}]}]}"#,
        );
        assert_eq!(s.source, "advanced");
        assert_eq!(s.management, "WriteOnly");
        assert_eq!(s.s3_data_events.read, "AllBuckets");
        let s = selectors(
            r#"{"AdvancedEventSelectors":[
            {"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]},
            {"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"readOnly","Equals":["true"]},{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::cardholder-data/"]}]}]}"#,
        );
        assert_eq!(s.management, "All");
        assert_eq!(s.excluded_management_event_sources, ["kms.amazonaws.com"]);
        assert_eq!(
            (
                s.s3_data_events.read.as_str(),
                s.s3_data_events.write.as_str()
            ),
            ("SomeBuckets", "None")
        );
    }

    #[test]
    fn public_policies() {
        assert!(policy_is_public(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#
        ));
        assert!(policy_is_public(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:*"}}"#
        ));
        assert!(!policy_is_public(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject"}]}"#
        ));
        assert!(!policy_is_public(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#
        ));
        assert!(!policy_is_public(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*"}]}"#
        ));
    }
}
