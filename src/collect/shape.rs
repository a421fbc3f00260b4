//! SDK outputs -> the JSON the aws CLI v2 prints for the same call: AWS's own field names
//! (PascalCase, or camelCase for CloudWatch Logs), absent fields left out, timestamps as the
//! CLI prints them. `config::load` reads these files exactly as it reads the CLI's.

use aws_smithy_types::DateTime;
use serde_json::{json, Map, Value};

/// A JSON object that only takes the fields that are present.
#[derive(Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Obj {
        Obj::default()
    }
    pub fn s(mut self, key: &str, v: Option<&str>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }
    pub fn b(mut self, key: &str, v: Option<bool>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }
    pub fn n(mut self, key: &str, v: Option<impl Into<serde_json::Number>>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::Number(v.into()));
        }
        self
    }
    pub fn f(mut self, key: &str, v: Option<f64>) -> Obj {
        if let Some(n) = v.and_then(serde_json::Number::from_f64) {
            self.0.insert(key.into(), Value::Number(n));
        }
        self
    }
    pub fn t(mut self, key: &str, v: Option<&DateTime>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::from(cli_time(v)));
        }
        self
    }
    pub fn strs(mut self, key: &str, v: &[String]) -> Obj {
        self.0.insert(key.into(), json!(v));
        self
    }
    pub fn v(mut self, key: &str, v: Value) -> Obj {
        self.0.insert(key.into(), v);
        self
    }
    pub fn opt(self, key: &str, v: Option<Value>) -> Obj {
        match v {
            Some(v) => self.v(key, v),
            None => self,
        }
    }
    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// As the aws CLI v2 prints a timestamp: ISO 8601 with `+00:00`, microseconds only when there
/// are any (Python's `isoformat`).
pub fn cli_time(t: &DateTime) -> String {
    let Some(utc) = chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()) else {
        return t.secs().to_string();
    };
    if t.subsec_nanos() / 1000 == 0 {
        utc.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        utc.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

pub mod cloudtrail {
    use super::*;
    use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
    use aws_sdk_cloudtrail::operation::get_insight_selectors::GetInsightSelectorsOutput;
    use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
    use aws_sdk_cloudtrail::types::{Event, PublicKey, Trail};

    // `SnsTopicName` is deprecated in the API, and still printed by the aws CLI.
    #[allow(deprecated)]
    pub fn trail(t: &Trail) -> Value {
        Obj::new()
            .s("Name", t.name())
            .s("S3BucketName", t.s3_bucket_name())
            .s("S3KeyPrefix", t.s3_key_prefix())
            .s("SnsTopicName", t.sns_topic_name())
            .s("SnsTopicARN", t.sns_topic_arn())
            .b(
                "IncludeGlobalServiceEvents",
                t.include_global_service_events(),
            )
            .b("IsMultiRegionTrail", t.is_multi_region_trail())
            .s("HomeRegion", t.home_region())
            .s("TrailARN", t.trail_arn())
            .b("LogFileValidationEnabled", t.log_file_validation_enabled())
            .s(
                "CloudWatchLogsLogGroupArn",
                t.cloud_watch_logs_log_group_arn(),
            )
            .s("CloudWatchLogsRoleArn", t.cloud_watch_logs_role_arn())
            .s("KmsKeyId", t.kms_key_id())
            .b("HasCustomEventSelectors", t.has_custom_event_selectors())
            .b("HasInsightSelectors", t.has_insight_selectors())
            .b("IsOrganizationTrail", t.is_organization_trail())
            .build()
    }

    pub fn describe_trails(trails: &[Trail]) -> Value {
        json!({ "trailList": trails.iter().map(trail).collect::<Vec<_>>() })
    }

    pub fn trail_status(s: &GetTrailStatusOutput) -> Value {
        Obj::new()
            .b("IsLogging", s.is_logging())
            .s("LatestDeliveryError", s.latest_delivery_error())
            .s("LatestNotificationError", s.latest_notification_error())
            .t("LatestDeliveryTime", s.latest_delivery_time())
            .t("LatestNotificationTime", s.latest_notification_time())
            .t("StartLoggingTime", s.start_logging_time())
            .t("StopLoggingTime", s.stop_logging_time())
            .s(
                "LatestCloudWatchLogsDeliveryError",
                s.latest_cloud_watch_logs_delivery_error(),
            )
            .t(
                "LatestCloudWatchLogsDeliveryTime",
                s.latest_cloud_watch_logs_delivery_time(),
            )
            .t("LatestDigestDeliveryTime", s.latest_digest_delivery_time())
            .s(
                "LatestDigestDeliveryError",
                s.latest_digest_delivery_error(),
            )
            .s(
                "LatestDeliveryAttemptTime",
                s.latest_delivery_attempt_time(),
            )
            .s(
                "LatestNotificationAttemptTime",
                s.latest_notification_attempt_time(),
            )
            .s(
                "LatestNotificationAttemptSucceeded",
                s.latest_notification_attempt_succeeded(),
            )
            .s(
                "LatestDeliveryAttemptSucceeded",
                s.latest_delivery_attempt_succeeded(),
            )
            .s("TimeLoggingStarted", s.time_logging_started())
            .s("TimeLoggingStopped", s.time_logging_stopped())
            .build()
    }

    pub fn event_selectors(o: &GetEventSelectorsOutput) -> Value {
        let basic = o.event_selectors.as_ref().map(|list| {
            Value::Array(
                list.iter()
                    .map(|e| {
                        Obj::new()
                            .s("ReadWriteType", e.read_write_type().map(|r| r.as_str()))
                            .b("IncludeManagementEvents", e.include_management_events())
                            .v(
                                "DataResources",
                                Value::Array(
                                    e.data_resources()
                                        .iter()
                                        .map(|d| {
                                            Obj::new()
                                                .s("Type", d.r#type())
                                                .strs("Values", d.values())
                                                .build()
                                        })
                                        .collect(),
                                ),
                            )
                            .strs(
                                "ExcludeManagementEventSources",
                                e.exclude_management_event_sources(),
                            )
                            .build()
                    })
                    .collect(),
            )
        });
        let advanced = o.advanced_event_selectors.as_ref().map(|list| {
            Value::Array(
                list.iter()
                    .map(|a| {
                        Obj::new()
                            .s("Name", a.name())
                            .v(
                                "FieldSelectors",
                                Value::Array(
                                    a.field_selectors()
                                        .iter()
                                        .map(|f| {
                                            let mut o = Obj::new().s("Field", Some(f.field()));
                                            for (k, v) in [
                                                ("Equals", f.equals()),
                                                ("StartsWith", f.starts_with()),
                                                ("EndsWith", f.ends_with()),
                                                ("NotEquals", f.not_equals()),
                                                ("NotStartsWith", f.not_starts_with()),
                                                ("NotEndsWith", f.not_ends_with()),
                                            ] {
                                                if !v.is_empty() {
                                                    o = o.strs(k, v);
                                                }
                                            }
                                            o.build()
                                        })
                                        .collect(),
                                ),
                            )
                            .build()
                    })
                    .collect(),
            )
        });
        // A trail always has one or the other; an empty answer is no selector at all.
        let basic = match (&basic, &advanced) {
            (None, None) => Some(Value::Array(vec![])),
            _ => basic,
        };
        Obj::new()
            .s("TrailARN", o.trail_arn())
            .opt("EventSelectors", basic)
            .opt("AdvancedEventSelectors", advanced)
            .build()
    }

    pub fn insight_selectors(o: &GetInsightSelectorsOutput) -> Value {
        Obj::new()
            .s("TrailARN", o.trail_arn())
            .v(
                "InsightSelectors",
                Value::Array(
                    o.insight_selectors()
                        .iter()
                        .map(|i| {
                            Obj::new()
                                .s("InsightType", i.insight_type().map(|t| t.as_str()))
                                .build()
                        })
                        .collect(),
                ),
            )
            .s("InsightsDestination", o.insights_destination())
            .build()
    }

    pub fn public_keys(keys: &[PublicKey]) -> Value {
        let list: Vec<Value> = keys
            .iter()
            .map(|k| {
                Obj::new()
                    .opt(
                        "Value",
                        k.value()
                            .map(|b| Value::from(aws_smithy_types::base64::encode(b.as_ref()))),
                    )
                    .t("ValidityStartTime", k.validity_start_time())
                    .t("ValidityEndTime", k.validity_end_time())
                    .s("Fingerprint", k.fingerprint())
                    .build()
            })
            .collect();
        json!({ "PublicKeyList": list })
    }

    /// One LookupEvents entry, as `aws cloudtrail lookup-events` prints it.
    pub fn event(e: &Event) -> Value {
        Obj::new()
            .s("EventId", e.event_id())
            .s("EventName", e.event_name())
            .s("ReadOnly", e.read_only())
            .s("AccessKeyId", e.access_key_id())
            .t("EventTime", e.event_time())
            .s("EventSource", e.event_source())
            .s("Username", e.username())
            .v(
                "Resources",
                Value::Array(
                    e.resources()
                        .iter()
                        .map(|r| {
                            Obj::new()
                                .s("ResourceType", r.resource_type())
                                .s("ResourceName", r.resource_name())
                                .build()
                        })
                        .collect(),
                ),
            )
            .s("CloudTrailEvent", e.cloud_trail_event())
            .build()
    }
}

pub mod logs {
    use super::*;
    use aws_sdk_cloudwatchlogs::types::MetricFilter;

    pub fn metric_filters(filters: &[MetricFilter]) -> Value {
        let list: Vec<Value> = filters
            .iter()
            .map(|f| {
                Obj::new()
                    .s("filterName", f.filter_name())
                    .s("filterPattern", f.filter_pattern())
                    .v(
                        "metricTransformations",
                        Value::Array(
                            f.metric_transformations()
                                .iter()
                                .map(|m| {
                                    Obj::new()
                                        .s("metricName", Some(m.metric_name()))
                                        .s("metricNamespace", Some(m.metric_namespace()))
                                        .s("metricValue", Some(m.metric_value()))
                                        .f("defaultValue", m.default_value())
                                        .opt("dimensions", m.dimensions().map(|d| json!(d)))
                                        .s("unit", m.unit().map(|u| u.as_str()))
                                        .build()
                                })
                                .collect(),
                        ),
                    )
                    .n("creationTime", f.creation_time())
                    .s("logGroupName", f.log_group_name())
                    .build()
            })
            .collect();
        json!({ "metricFilters": list })
    }
}

pub mod cloudwatch {
    use super::*;
    use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm};

    pub fn describe_alarms(metric: &[MetricAlarm], composite: &[CompositeAlarm]) -> Value {
        let metric: Vec<Value> = metric
            .iter()
            .map(|a| {
                Obj::new()
                    .s("AlarmName", a.alarm_name())
                    .s("AlarmArn", a.alarm_arn())
                    .s("AlarmDescription", a.alarm_description())
                    .t(
                        "AlarmConfigurationUpdatedTimestamp",
                        a.alarm_configuration_updated_timestamp(),
                    )
                    .b("ActionsEnabled", a.actions_enabled())
                    .strs("OKActions", a.ok_actions())
                    .strs("AlarmActions", a.alarm_actions())
                    .strs("InsufficientDataActions", a.insufficient_data_actions())
                    .s("StateValue", a.state_value().map(|s| s.as_str()))
                    .s("StateReason", a.state_reason())
                    .t("StateUpdatedTimestamp", a.state_updated_timestamp())
                    .s("MetricName", a.metric_name())
                    .s("Namespace", a.namespace())
                    .s("Statistic", a.statistic().map(|s| s.as_str()))
                    .s("ExtendedStatistic", a.extended_statistic())
                    .v(
                        "Dimensions",
                        Value::Array(
                            a.dimensions()
                                .iter()
                                .map(|d| {
                                    Obj::new().s("Name", d.name()).s("Value", d.value()).build()
                                })
                                .collect(),
                        ),
                    )
                    .n("Period", a.period())
                    .s("Unit", a.unit().map(|u| u.as_str()))
                    .n("EvaluationPeriods", a.evaluation_periods())
                    .n("DatapointsToAlarm", a.datapoints_to_alarm())
                    .f("Threshold", a.threshold())
                    .s(
                        "ComparisonOperator",
                        a.comparison_operator().map(|c| c.as_str()),
                    )
                    .s("TreatMissingData", a.treat_missing_data())
                    .t(
                        "StateTransitionedTimestamp",
                        a.state_transitioned_timestamp(),
                    )
                    .build()
            })
            .collect();
        let composite: Vec<Value> = composite
            .iter()
            .map(|a| {
                Obj::new()
                    .s("AlarmName", a.alarm_name())
                    .s("AlarmArn", a.alarm_arn())
                    .b("ActionsEnabled", a.actions_enabled())
                    .strs("AlarmActions", a.alarm_actions())
                    .s("AlarmRule", a.alarm_rule())
                    .s("StateValue", a.state_value().map(|s| s.as_str()))
                    .build()
            })
            .collect();
        json!({ "CompositeAlarms": composite, "MetricAlarms": metric })
    }
}

pub mod sns {
    use super::*;
    use aws_sdk_sns::types::Subscription;

    pub fn subscriptions(subs: &[Subscription]) -> Value {
        let list: Vec<Value> = subs
            .iter()
            .map(|s| {
                Obj::new()
                    .s("SubscriptionArn", s.subscription_arn())
                    .s("Owner", s.owner())
                    .s("Protocol", s.protocol())
                    .s("Endpoint", s.endpoint())
                    .s("TopicArn", s.topic_arn())
                    .build()
            })
            .collect();
        json!({ "Subscriptions": list })
    }
}

pub mod s3 {
    use super::*;
    use aws_sdk_s3::types::{
        Grant, Grantee, LoggingEnabled, Owner, PublicAccessBlockConfiguration,
    };

    pub fn policy(p: Option<&str>) -> Value {
        json!({ "Policy": p.unwrap_or_default() })
    }

    pub fn public_access_block(c: Option<&PublicAccessBlockConfiguration>) -> Value {
        let c = c.map(|c| {
            Obj::new()
                .b("BlockPublicAcls", c.block_public_acls())
                .b("IgnorePublicAcls", c.ignore_public_acls())
                .b("BlockPublicPolicy", c.block_public_policy())
                .b("RestrictPublicBuckets", c.restrict_public_buckets())
                .build()
        });
        json!({ "PublicAccessBlockConfiguration": c.unwrap_or_else(|| json!({})) })
    }

    fn grantee(g: &Grantee) -> Value {
        Obj::new()
            .s("DisplayName", g.display_name())
            .s("EmailAddress", g.email_address())
            .s("ID", g.id())
            .s("Type", Some(g.r#type().as_str()))
            .s("URI", g.uri())
            .build()
    }

    pub fn acl(owner: Option<&Owner>, grants: &[Grant]) -> Value {
        let owner = owner.map(|o| {
            Obj::new()
                .s("DisplayName", o.display_name())
                .s("ID", o.id())
                .build()
        });
        let grants: Vec<Value> = grants
            .iter()
            .map(|g| {
                Obj::new()
                    .opt("Grantee", g.grantee().map(grantee))
                    .s("Permission", g.permission().map(|p| p.as_str()))
                    .build()
            })
            .collect();
        json!({ "Owner": owner.unwrap_or_else(|| json!({})), "Grants": grants })
    }

    /// `{}` when logging is off, as the script writes for the CLI's empty output.
    pub fn logging(l: Option<&LoggingEnabled>) -> Value {
        match l {
            None => json!({}),
            Some(l) => json!({ "LoggingEnabled": Obj::new()
                .s("TargetBucket", Some(l.target_bucket()))
                .s("TargetPrefix", Some(l.target_prefix()))
                .v("TargetGrants", Value::Array(l.target_grants().iter().map(|g| Obj::new()
                    .opt("Grantee", g.grantee().map(grantee))
                    .s("Permission", g.permission().map(|p| p.as_str()))
                    .build()).collect()))
                .build() }),
        }
    }
}

pub mod kms {
    use super::*;
    use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;

    pub fn key_rotation(o: &GetKeyRotationStatusOutput) -> Value {
        Obj::new()
            .b("KeyRotationEnabled", Some(o.key_rotation_enabled()))
            .s("KeyId", o.key_id())
            .n("RotationPeriodInDays", o.rotation_period_in_days())
            .t("NextRotationDate", o.next_rotation_date())
            .t(
                "OnDemandRotationStartDate",
                o.on_demand_rotation_start_date(),
            )
            .build()
    }
}

pub mod sts {
    use super::*;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;

    pub fn caller_identity(o: &GetCallerIdentityOutput) -> Value {
        Obj::new()
            .s("UserId", o.user_id())
            .s("Account", o.account())
            .s("Arn", o.arn())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_the_cli_prints_them() {
        assert_eq!(
            cli_time(&DateTime::from_secs(1_727_740_691)),
            "2024-09-30T23:58:11+00:00"
        );
        assert_eq!(
            cli_time(&DateTime::from_millis(1_727_740_691_412)),
            "2024-09-30T23:58:11.412000+00:00"
        );
    }
}
