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
    /// Management events recorded: `All` (read and write, no source left out), `ReadOnly`,
    /// `WriteOnly`, `Partial` (some left out or filtered) or `None`.
    pub management: String,
    pub excluded_management_event_sources: Vec<String>,
    pub s3_data_events: S3DataEvents,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DataEvents {
    /// `AllBuckets`, `SomeBuckets` (whole buckets), `Partial` (some objects only) or `None`.
    pub read: String,
    pub write: String,
    /// The buckets recorded whole, for `SomeBuckets`.
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
    /// The log group's account and region have metric-filter evidence
    /// (`describe-metric-filters` was read there): without it, no filter is not "no filter".
    pub evidence: bool,
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

/// The parts of a trail's Posture that calls other than describe-trails show (status,
/// selectors, bucket, key rotation, log group): for a trail that another account owns (an
/// organization trail seen from a member) only that account may be able to show them.
pub const OWNER_PARTS: [&str; 6] = [
    "Status",
    "Selectors",
    "InsightTypes",
    "Bucket",
    "KmsKeyRotationEnabled",
    "Monitoring",
];

impl TrailPosture {
    /// The trail's JSON, for config policies' filter patterns.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The account that owns the trail, from its ARN (the listing account when it has none).
    pub fn owner(&self) -> &str {
        arn_part(&self.trail_arn, 4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(&self.account)
    }

    /// The account whose evidence must show the Posture path `path` that this account's does
    /// not: the owner of a trail seen from another account, for the parts only calls on the
    /// trail answer ([`OWNER_PARTS`]); `None` for the trail's own account and describe-trails'
    /// fields, which every account that lists the trail sees.
    pub fn evidence_needed_from(&self, path: &str) -> Option<&str> {
        let owner = self.owner();
        let part = path.split('.').next().unwrap_or_default();
        (owner != self.account && OWNER_PARTS.contains(&part)).then_some(owner)
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

/// What one direction (read or write) of management events is recorded as, over all selectors.
#[derive(Default)]
struct Direction {
    /// Some selector records every management event of this direction.
    full: bool,
    /// Per selector that records all but some sources: the sources it leaves out. A source is
    /// missed only when every such selector leaves it out (selectors are OR'ed).
    excluding: Vec<BTreeSet<String>>,
    /// Some selector records only part of them in another way (`eventName`, `eventSource`
    /// Equals, ...).
    part: bool,
}

impl Direction {
    fn excluded(&self) -> BTreeSet<String> {
        if self.full {
            return BTreeSet::new();
        }
        let mut sets = self.excluding.iter();
        let first = sets.next().cloned().unwrap_or_default();
        sets.fold(first, |acc, s| acc.intersection(s).cloned().collect())
    }

    /// `full`, `part` (recorded with a gap) or `none`.
    fn level(&self) -> u8 {
        if self.full || (!self.excluding.is_empty() && self.excluded().is_empty()) {
            2
        } else if self.part || !self.excluding.is_empty() {
            1
        } else {
            0
        }
    }
}

/// Management events recorded: `All` (read and write, with no source left out), `ReadOnly` or
/// `WriteOnly` (one direction in full, none of the other), `Partial` (anything less that
/// records some), `None`.
fn management_name(read: &Direction, write: &Direction) -> &'static str {
    match (read.level(), write.level()) {
        (2, 2) => "All",
        (2, 0) => "ReadOnly",
        (0, 2) => "WriteOnly",
        (0, 0) => "None",
        _ => "Partial",
    }
}

/// How much of S3's object events one direction records, over all selectors.
#[derive(Default)]
struct S3Direction {
    all: bool,
    /// Buckets recorded whole.
    buckets: BTreeSet<String>,
    /// Some objects recorded in a way that is neither all buckets nor whole buckets.
    part: bool,
}

impl S3Direction {
    /// `AllBuckets`, `SomeBuckets` (whole buckets), `Partial` (some objects) or `None`.
    fn name(&self) -> &'static str {
        if self.all {
            "AllBuckets"
        } else if !self.buckets.is_empty() {
            "SomeBuckets"
        } else if self.part {
            "Partial"
        } else {
            "None"
        }
    }
}

/// Which S3 objects a selector's ARN values cover.
enum S3Scope {
    All,
    /// Whole buckets.
    Buckets(Vec<String>),
    /// Some objects only (a prefix inside a bucket, one object, a suffix, an exclusion).
    Part,
}

/// `arn:aws:s3` and `arn:aws:s3:::` (as a prefix) cover every bucket; `arn:aws:s3:::b/` the
/// bucket `b`; anything longer part of a bucket.
fn s3_scope(values: &[String], prefix: bool) -> S3Scope {
    let mut buckets = Vec::new();
    let mut part = false;
    for v in values {
        let partition_free = v
            .strip_prefix("arn:aws:s3")
            .or_else(|| v.strip_prefix("arn:aws-us-gov:s3"))
            .or_else(|| v.strip_prefix("arn:aws-cn:s3"));
        let Some(rest) = partition_free else {
            // Not an S3 ARN: it names no S3 object (or, as a prefix of one, e.g. `arn:`, all).
            if prefix && "arn:aws:s3:::".starts_with(v.as_str()) {
                return S3Scope::All;
            }
            continue;
        };
        let rest = rest.trim_start_matches(':');
        if rest.is_empty() {
            if prefix {
                return S3Scope::All;
            }
            part = true;
            continue;
        }
        match rest.split_once('/') {
            Some((b, "")) if prefix && !b.is_empty() => buckets.push(b.to_string()),
            _ => part = true,
        }
    }
    // Whole buckets (and perhaps parts of others) are what the policies can name; values that
    // name no object leave nothing.
    if !buckets.is_empty() {
        S3Scope::Buckets(buckets)
    } else if part {
        S3Scope::Part
    } else {
        S3Scope::Buckets(Vec::new())
    }
}

/// An advanced selector's condition on one field: every operator given holds (values within
/// an operator are OR'ed for Equals, StartsWith and EndsWith; the negative ones must all hold).
fn field_holds(f: &aws::FieldSelector, value: &str) -> bool {
    let any = |o: &Option<Vec<String>>, t: &dyn Fn(&str) -> bool| {
        o.as_ref().is_none_or(|vs| vs.iter().any(|v| t(v)))
    };
    let none = |o: &Option<Vec<String>>, t: &dyn Fn(&str) -> bool| {
        o.as_ref().is_none_or(|vs| !vs.iter().any(|v| t(v)))
    };
    any(&f.equals, &|v| v == value)
        && none(&f.not_equals, &|v| v == value)
        && any(&f.starts_with, &|v| value.starts_with(v))
        && none(&f.not_starts_with, &|v| value.starts_with(v))
        && any(&f.ends_with, &|v| value.ends_with(v))
        && none(&f.not_ends_with, &|v| value.ends_with(v))
}

/// The directions (read, write) a selector's `readOnly` field lets through.
fn directions(field: Option<&aws::FieldSelector>) -> (bool, bool) {
    match field {
        None => (true, true),
        Some(f) => (field_holds(f, "true"), field_holds(f, "false")),
    }
}

fn read_write(read_write_type: Option<&str>) -> (bool, bool) {
    match read_write_type {
        Some("ReadOnly") => (true, false),
        Some("WriteOnly") => (false, true),
        _ => (true, true),
    }
}

/// The selectors of `get-event-selectors`, resolved to what they record: management events
/// (CIS 3.1 wants read and write with no source left out) and S3 object events (CIS 3.8, 3.9).
/// A trail has basic or advanced selectors, never both in force: AWS replaces one with the
/// other, so when an output carries both, the advanced ones (which AWS reports for a trail that
/// uses them) decide.
pub fn resolve_selectors(s: &aws::EventSelectors) -> Selectors {
    let (mut read, mut write) = (Direction::default(), Direction::default());
    let (mut s3_read, mut s3_write) = (S3Direction::default(), S3Direction::default());
    let source;
    let mut add_s3 = |(r, w): (bool, bool), scope: &S3Scope| {
        for (on, d) in [(r, &mut s3_read), (w, &mut s3_write)] {
            if !on {
                continue;
            }
            match scope {
                S3Scope::All => d.all = true,
                S3Scope::Buckets(b) => d.buckets.extend(b.iter().cloned()),
                S3Scope::Part => d.part = true,
            }
        }
    };
    if let Some(advanced) = s
        .advanced_event_selectors
        .as_ref()
        .filter(|a| !a.is_empty())
    {
        source = "advanced";
        for sel in advanced {
            let field = |name: &str| sel.field_selectors.iter().find(|f| f.field == name);
            let holds = |name: &str, value: &str| field(name).is_none_or(|f| field_holds(f, value));
            let (r, w) = directions(field("readOnly"));
            // Fields other than these restrict what the selector records.
            let restricted = |known: &[&str]| {
                sel.field_selectors
                    .iter()
                    .any(|f| !known.contains(&f.field.as_str()))
            };
            let Some(category) = field("eventCategory") else {
                continue;
            };
            if field_holds(category, "Management") {
                // eventSource: NotEquals alone leaves those sources out; any other operator
                // keeps only some sources.
                let (excluding, part_source) = match field("eventSource") {
                    None => (None, false),
                    Some(f)
                        if f.equals.is_none()
                            && f.starts_with.is_none()
                            && f.ends_with.is_none()
                            && f.not_starts_with.is_none()
                            && f.not_ends_with.is_none() =>
                    {
                        (
                            Some(
                                f.not_equals
                                    .iter()
                                    .flatten()
                                    .cloned()
                                    .collect::<BTreeSet<_>>(),
                            ),
                            false,
                        )
                    }
                    Some(_) => (None, true),
                };
                let part = part_source || restricted(&["eventCategory", "readOnly", "eventSource"]);
                for (on, d) in [(r, &mut read), (w, &mut write)] {
                    if !on {
                        continue;
                    }
                    match (&excluding, part) {
                        (_, true) => d.part = true,
                        (Some(ex), false) if !ex.is_empty() => d.excluding.push(ex.clone()),
                        _ => d.full = true,
                    }
                }
            }
            if field_holds(category, "Data")
                && field("resources.type").is_some()
                && holds("resources.type", "AWS::S3::Object")
                && holds("eventSource", "s3.amazonaws.com")
            {
                let scope = match field("resources.ARN") {
                    None => S3Scope::All,
                    Some(f) => {
                        let positive_only = f.not_equals.is_none()
                            && f.not_starts_with.is_none()
                            && f.ends_with.is_none()
                            && f.not_ends_with.is_none();
                        match (positive_only, &f.starts_with, &f.equals) {
                            (true, Some(p), None) => s3_scope(p, true),
                            (true, None, Some(e)) => s3_scope(e, false),
                            _ => S3Scope::Part,
                        }
                    }
                };
                let other = restricted(&[
                    "eventCategory",
                    "readOnly",
                    "resources.type",
                    "resources.ARN",
                    "eventSource",
                ]);
                add_s3((r, w), if other { &S3Scope::Part } else { &scope });
            }
        }
    } else {
        source = "basic";
        for sel in s.event_selectors.iter().flatten() {
            let (r, w) = read_write(sel.read_write_type.as_deref());
            if sel.include_management_events != Some(false) {
                let ex: BTreeSet<String> = sel
                    .exclude_management_event_sources
                    .iter()
                    .cloned()
                    .collect();
                for (on, d) in [(r, &mut read), (w, &mut write)] {
                    if on && ex.is_empty() {
                        d.full = true;
                    } else if on {
                        d.excluding.push(ex.clone());
                    }
                }
            }
            for d in &sel.data_resources {
                if d.kind.as_deref() == Some("AWS::S3::Object") {
                    add_s3((r, w), &s3_scope(&d.values, true));
                }
            }
        }
    }
    let excluded: BTreeSet<String> = read.excluded().union(&write.excluded()).cloned().collect();
    Selectors {
        source: source.into(),
        management: management_name(&read, &write).into(),
        excluded_management_event_sources: excluded.into_iter().collect(),
        s3_data_events: S3DataEvents {
            read: s3_read.name().into(),
            write: s3_write.name().into(),
            buckets: s3_read.buckets.union(&s3_write.buckets).cloned().collect(),
        },
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
    let evidence = raw.metric_filter_scopes.contains(&scope)
        || raw.metric_filters.iter().any(|(s, _)| *s == scope);
    Some(Monitoring {
        account,
        region,
        log_group: name,
        metric_filters,
        evidence,
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

    /// (case, get-event-selectors output, management, sources left out, S3 read, S3 write,
    /// buckets recorded whole). The advanced cases follow the selector examples of
    /// CloudTrail's user guide (logging data events, filtering management events).
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static str,
        &'static str,
        &'static [&'static str],
    );

    const SELECTOR_CASES: &[Case] = &[
        (
            "basic: all management events and all S3 objects (arn:aws:s3)",
            r#"{"TrailARN":"t","EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}],"ExcludeManagementEventSources":[]}]}"#,
            "All",
            &[],
            "AllBuckets",
            "AllBuckets",
            &[],
        ),
        (
            "basic: write-only, one bucket",
            r#"{"EventSelectors":[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::logs-bucket/"]}]}]}"#,
            "WriteOnly",
            &[],
            "None",
            "SomeBuckets",
            &["logs-bucket"],
        ),
        (
            "basic: a read-only and a write-only selector are OR'ed",
            r#"{"EventSelectors":[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true},{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true}]}"#,
            "All",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "basic: management events not included",
            r#"{"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":false}]}"#,
            "None",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "basic: KMS events excluded is not all management events",
            r#"{"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true,"ExcludeManagementEventSources":["kms.amazonaws.com"]}]}"#,
            "Partial",
            &["kms.amazonaws.com"],
            "None",
            "None",
            &[],
        ),
        (
            "basic: a prefix inside a bucket is part of it",
            r#"{"EventSelectors":[{"ReadWriteType":"All","DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::cardholder-data/2026/"]}]}]}"#,
            "All",
            &[],
            "Partial",
            "Partial",
            &[],
        ),
        (
            "advanced: all management events",
            r#"{"AdvancedEventSelectors":[{"Name":"Log all management events","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}]}"#,
            "All",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: readOnly true only",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["true"]}]}]}"#,
            "ReadOnly",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: readOnly NotEquals true is write only",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","NotEquals":["true"]}]}]}"#,
            "WriteOnly",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: eventSource NotEquals kms.amazonaws.com leaves KMS out",
            r#"{"AdvancedEventSelectors":[{"Name":"Management events but KMS","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]}]}"#,
            "Partial",
            &["kms.amazonaws.com"],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: KMS and RDS Data API left out, write only",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]},{"Field":"eventSource","NotEquals":["kms.amazonaws.com","rdsdata.amazonaws.com"]}]}]}"#,
            "Partial",
            &["kms.amazonaws.com", "rdsdata.amazonaws.com"],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: an exclusion in one selector is covered by another selector",
            r#"{"AdvancedEventSelectors":[
                {"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]},
                {"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventSource","NotEquals":["rdsdata.amazonaws.com"]}]}]}"#,
            "All",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: exclusion on reads only",
            r#"{"AdvancedEventSelectors":[
                {"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]},
                {"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["true"]},{"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]}]}"#,
            "Partial",
            &["kms.amazonaws.com"],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: management events of chosen event names only",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventName","Equals":["ConsoleLogin"]}]}]}"#,
            "Partial",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "advanced: write management events and S3 objects in all buckets",
            r#"{"AdvancedEventSelectors":[
                {"Name":"mgmt","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]},
                {"Name":"s3","FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]}]}]}"#,
            "WriteOnly",
            &[],
            "AllBuckets",
            "AllBuckets",
            &[],
        ),
        (
            "advanced: resources.ARN StartsWith one bucket, read only",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"readOnly","Equals":["true"]},{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::cardholder-data/"]}]}]}"#,
            "None",
            &[],
            "SomeBuckets",
            "None",
            &["cardholder-data"],
        ),
        (
            "advanced: resources.ARN StartsWith arn:aws:s3::: is every bucket",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::"]}]}]}"#,
            "None",
            &[],
            "AllBuckets",
            "AllBuckets",
            &[],
        ),
        (
            "advanced: resources.ARN NotStartsWith one bucket is not every bucket",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","NotStartsWith":["arn:aws:s3:::noisy-bucket/"]}]}]}"#,
            "None",
            &[],
            "Partial",
            "Partial",
            &[],
        ),
        (
            "advanced: resources.ARN Equals one object",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","Equals":["arn:aws:s3:::cardholder-data/keys.json"]}]}]}"#,
            "None",
            &[],
            "Partial",
            "Partial",
            &[],
        ),
        (
            "advanced: resources.ARN EndsWith a suffix",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","EndsWith":[".pdf"]}]}]}"#,
            "None",
            &[],
            "Partial",
            "Partial",
            &[],
        ),
        (
            "advanced: S3 PutObject and DeleteObject only",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"eventName","Equals":["PutObject","DeleteObject"]}]}]}"#,
            "None",
            &[],
            "Partial",
            "Partial",
            &[],
        ),
        (
            "advanced: data events of another resource type are not S3 objects",
            r#"{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::DynamoDB::Table"]}]}]}"#,
            "None",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "both keys: the advanced selectors decide",
            r#"{"EventSelectors":[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true}],"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}]}"#,
            "All",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "both keys, advanced empty: the basic selectors decide",
            r#"{"EventSelectors":[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true}],"AdvancedEventSelectors":[]}"#,
            "ReadOnly",
            &[],
            "None",
            "None",
            &[],
        ),
        (
            "no selector at all records nothing",
            r#"{"TrailARN":"t","AdvancedEventSelectors":[]}"#,
            "None",
            &[],
            "None",
            "None",
            &[],
        ),
    ];

    #[test]
    fn selectors_decide_coverage_exactly() {
        let mut wrong = Vec::new();
        for (case, json, management, excluded, read, write, buckets) in SELECTOR_CASES {
            let s = selectors(json);
            let got = (
                s.management.as_str(),
                s.excluded_management_event_sources.clone(),
                s.s3_data_events.read.as_str(),
                s.s3_data_events.write.as_str(),
                s.s3_data_events.buckets.clone(),
            );
            let want = (
                *management,
                excluded.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                *read,
                *write,
                buckets.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
            );
            if got != want {
                wrong.push(format!("{case}: got {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
