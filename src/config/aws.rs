//! The aws CLI's JSON outputs that make up the configuration evidence, as serde types.
//! Field names are AWS's own; unknown fields are ignored (AWS adds fields over time).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `aws cloudtrail describe-trails --include-shadow-trails`
#[derive(Debug, Clone, Deserialize)]
pub struct DescribeTrails {
    #[serde(rename = "trailList")]
    pub trail_list: Vec<Trail>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Trail {
    pub name: Option<String>,
    #[serde(rename = "TrailARN")]
    pub trail_arn: Option<String>,
    pub home_region: Option<String>,
    pub s3_bucket_name: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub sns_topic_name: Option<String>,
    #[serde(rename = "SnsTopicARN")]
    pub sns_topic_arn: Option<String>,
    pub include_global_service_events: Option<bool>,
    pub is_multi_region_trail: Option<bool>,
    pub log_file_validation_enabled: Option<bool>,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    pub kms_key_id: Option<String>,
    pub has_custom_event_selectors: Option<bool>,
    pub has_insight_selectors: Option<bool>,
    pub is_organization_trail: Option<bool>,
}

/// `aws cloudtrail get-trail-status --name T`. Times are ISO 8601 strings (aws CLI v2) or epoch
/// seconds (v1); both are kept as given and normalised by [`super::time_string`].
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct TrailStatus {
    pub is_logging: Option<bool>,
    pub latest_delivery_error: Option<String>,
    pub latest_notification_error: Option<String>,
    pub latest_delivery_time: Option<Value>,
    pub latest_notification_time: Option<Value>,
    pub start_logging_time: Option<Value>,
    pub stop_logging_time: Option<Value>,
    pub latest_cloud_watch_logs_delivery_error: Option<String>,
    pub latest_cloud_watch_logs_delivery_time: Option<Value>,
    pub latest_digest_delivery_time: Option<Value>,
    pub latest_digest_delivery_error: Option<String>,
}

/// `aws cloudtrail get-event-selectors --trail-name T`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EventSelectors {
    #[serde(rename = "TrailARN")]
    pub trail_arn: Option<String>,
    pub event_selectors: Option<Vec<EventSelector>>,
    pub advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EventSelector {
    pub read_write_type: Option<String>,
    pub include_management_events: Option<bool>,
    pub data_resources: Vec<DataResource>,
    pub exclude_management_event_sources: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DataResource {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AdvancedEventSelector {
    pub name: Option<String>,
    pub field_selectors: Vec<FieldSelector>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldSelector {
    pub field: String,
    pub equals: Option<Vec<String>>,
    pub not_equals: Option<Vec<String>>,
    pub starts_with: Option<Vec<String>>,
    pub not_starts_with: Option<Vec<String>>,
    pub ends_with: Option<Vec<String>>,
    pub not_ends_with: Option<Vec<String>>,
}

/// `aws cloudtrail get-insight-selectors --trail-name T`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InsightSelectors {
    #[serde(rename = "TrailARN")]
    pub trail_arn: Option<String>,
    pub insight_selectors: Vec<InsightSelector>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InsightSelector {
    pub insight_type: Option<String>,
}

/// `aws logs describe-metric-filters`
#[derive(Debug, Clone, Deserialize)]
pub struct MetricFilters {
    #[serde(rename = "metricFilters")]
    pub metric_filters: Vec<MetricFilter>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricFilter {
    pub filter_name: Option<String>,
    pub filter_pattern: Option<String>,
    pub log_group_name: Option<String>,
    pub metric_transformations: Vec<MetricTransformation>,
    /// Where the filter's pattern is written, when it was read from source (`iac`), not from AWS.
    #[serde(skip)]
    pub source: Option<crate::finding::SourceAt>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricTransformation {
    pub metric_name: Option<String>,
    pub metric_namespace: Option<String>,
    pub metric_value: Option<String>,
}

/// `aws cloudwatch describe-alarms`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeAlarms {
    pub metric_alarms: Vec<MetricAlarm>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct MetricAlarm {
    pub alarm_name: Option<String>,
    pub alarm_arn: Option<String>,
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
    pub actions_enabled: Option<bool>,
    pub alarm_actions: Vec<String>,
    pub statistic: Option<String>,
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub evaluation_periods: Option<u64>,
    pub period: Option<u64>,
    pub state_value: Option<String>,
}

/// `aws sns list-subscriptions-by-topic --topic-arn A`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Subscriptions {
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Subscription {
    pub subscription_arn: Option<String>,
    pub protocol: Option<String>,
    pub endpoint: Option<String>,
    pub topic_arn: Option<String>,
}

impl Subscription {
    /// Confirmed: the ARN is a real subscription ARN, not `PendingConfirmation` or `Deleted`.
    pub fn confirmed(&self) -> bool {
        self.subscription_arn
            .as_deref()
            .is_some_and(|a| a.starts_with("arn:"))
    }
}

/// `aws s3api get-bucket-policy --bucket B`: the policy document as a JSON string.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub policy: String,
}

/// `aws s3api get-public-access-block --bucket B`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlock {
    pub public_access_block_configuration: PublicAccessBlockConfiguration,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PublicAccessBlockConfiguration {
    pub block_public_acls: Option<bool>,
    pub ignore_public_acls: Option<bool>,
    pub block_public_policy: Option<bool>,
    pub restrict_public_buckets: Option<bool>,
}

/// `aws s3api get-bucket-logging --bucket B` (`{}` when logging is off).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BucketLogging {
    pub logging_enabled: Option<Value>,
}

/// `aws s3api get-bucket-acl --bucket B`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BucketAcl {
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Grant {
    pub grantee: Option<Grantee>,
    pub permission: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Grantee {
    #[serde(rename = "URI")]
    pub uri: Option<String>,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
}

/// `aws kms get-key-rotation-status --key-id K`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyRotation {
    pub key_rotation_enabled: bool,
    #[serde(default)]
    pub key_id: Option<String>,
}

/// `aws sts get-caller-identity`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}
