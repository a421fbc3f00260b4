//! Organisation realities, on hand-made evidence in the aws CLI's shapes: an organisation trail
//! seen from a member account, and a trail's CloudWatch Logs group in another account. Where
//! the audited evidence cannot show what only another account can, the policy is not judged
//! and the report names that account; it never fails or passes on it.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

const OWNER: &str = "999988887777";
const MEMBER: &str = "111122223333";
const LOG_ARCHIVE: &str = "444455556666";

fn put(root: &Path, rel: &str, v: Value) {
    write(
        &root.join(rel),
        serde_json::to_string_pretty(&v).unwrap().as_bytes(),
    );
}

fn org_trail() -> Value {
    json!({
        "Name": "org-trail",
        "S3BucketName": "acme-org-cloudtrail",
        "IncludeGlobalServiceEvents": true,
        "IsMultiRegionTrail": true,
        "HomeRegion": "us-east-1",
        "TrailARN": format!("arn:aws:cloudtrail:us-east-1:{OWNER}:trail/org-trail"),
        "LogFileValidationEnabled": true,
        "HasCustomEventSelectors": true,
        "HasInsightSelectors": false,
        "IsOrganizationTrail": true,
        "KmsKeyId": format!("arn:aws:kms:us-east-1:{OWNER}:key/6f0c1e2a-4b3d-4c5e-8f9a-000000000001"),
        "CloudWatchLogsLogGroupArn": format!("arn:aws:logs:us-east-1:{OWNER}:log-group:org-trail-logs:*"),
        "CloudWatchLogsRoleArn": format!("arn:aws:iam::{OWNER}:role/CloudTrailToCloudWatch"),
        "SnsTopicName": "cloudtrail-delivery",
        "SnsTopicARN": format!("arn:aws:sns:us-east-1:{OWNER}:cloudtrail-delivery")
    })
}

fn caller(root: &Path, account: &str) {
    put(
        root,
        &format!("{account}/global/sts/caller-identity.json"),
        json!({"UserId": "AROAEXAMPLE:auditor", "Account": account,
               "Arn": format!("arn:aws:sts::{account}:assumed-role/SecurityAudit/auditor")}),
    );
}

/// A member account as `collect-config.sh` leaves it: describe-trails lists the organisation
/// trail in every region (a shadow trail outside its home region), and the calls on the trail
/// in its home region are refused, as another account's trail may be.
fn member(root: &Path) {
    caller(root, MEMBER);
    for region in ["us-east-1", "eu-west-1"] {
        put(
            root,
            &format!("{MEMBER}/{region}/cloudtrail/describe-trails.json"),
            json!({"trailList": [org_trail()]}),
        );
    }
    let arn = format!("arn:aws:cloudtrail:us-east-1:{OWNER}:trail/org-trail");
    for (dir, op, api) in [
        ("trail-status", "get-trail-status --name", "GetTrailStatus"),
        (
            "event-selectors",
            "get-event-selectors --trail-name",
            "GetEventSelectors",
        ),
    ] {
        put(
            root,
            &format!("{MEMBER}/us-east-1/cloudtrail/{dir}/org-trail.error.json"),
            json!({"trailauditCollectionError": {
                "operation": format!("aws cloudtrail {op} {arn} --region us-east-1"),
                "code": "AccessDeniedException",
                "message": format!("An error occurred (AccessDeniedException) when calling the {api} operation: not authorized")
            }}),
        );
    }
}

/// What the collection script asks of the organisation trail's bucket in a member account: the
/// bucket is the owner's, so every call is refused.
fn member_bucket_refused(root: &Path) {
    for (file, cmd) in [
        ("bucket-policy", "get-bucket-policy"),
        ("public-access-block", "get-public-access-block"),
        ("bucket-acl", "get-bucket-acl"),
        ("bucket-logging", "get-bucket-logging"),
    ] {
        put(
            root,
            &format!("{MEMBER}/global/s3/acme-org-cloudtrail/{file}.error.json"),
            json!({"trailauditCollectionError": {
                "operation": format!("aws s3api {cmd} --bucket acme-org-cloudtrail"),
                "code": "AccessDenied",
                "message": "An error occurred (AccessDenied): Access Denied"
            }}),
        );
    }
}

fn root_filter(log_group: &str) -> Value {
    json!({"metricFilters": [{
        "filterName": "RootAccountUsage",
        "filterPattern": "{ ($.eventType != AwsServiceEvent) && ($.userIdentity.invokedBy NOT EXISTS) && ($.userIdentity.type = Root) }",
        "logGroupName": log_group,
        "metricTransformations": [{"metricName": "RootAccountUsage", "metricNamespace": "CISBenchmark", "metricValue": "1"}]
    }]})
}

/// The monitoring chain for root account usage only (CIS 4.3): filter, alarm, topic, a
/// confirmed subscriber; in `account`'s evidence.
fn chain(root: &Path, account: &str, log_group: &str) {
    let d = format!("{account}/us-east-1");
    put(
        root,
        &format!("{d}/logs/describe-metric-filters.json"),
        root_filter(log_group),
    );
    let topic = format!("arn:aws:sns:us-east-1:{account}:security-alerts");
    put(
        root,
        &format!("{d}/cloudwatch/describe-alarms.json"),
        json!({"MetricAlarms": [{
            "AlarmName": "RootAccountUsage-alarm", "ActionsEnabled": true,
            "AlarmActions": [topic], "MetricName": "RootAccountUsage", "Namespace": "CISBenchmark",
            "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "StateValue": "OK"
        }], "CompositeAlarms": []}),
    );
    put(
        root,
        &format!("{d}/sns/subscriptions/security-alerts.json"),
        json!({"Subscriptions": [{
            "SubscriptionArn": format!("{topic}:0c6e3f2a-1b2c-4d5e-8f90-a1b2c3d4e5f0"),
            "Owner": account, "Protocol": "email", "Endpoint": "secops@example.com", "TopicArn": topic
        }]}),
    );
}

/// The management account: the organisation trail with its status, selectors and log group's
/// chain.
fn owner(root: &Path) {
    caller(root, OWNER);
    put(
        root,
        &format!("{OWNER}/us-east-1/cloudtrail/describe-trails.json"),
        json!({"trailList": [org_trail()]}),
    );
    put(
        root,
        &format!("{OWNER}/us-east-1/cloudtrail/trail-status/org-trail.json"),
        json!({"IsLogging": true, "LatestDeliveryTime": "2026-09-30T23:58:11.412000+00:00",
               "StartLoggingTime": "2026-01-05T09:12:44.100000+00:00"}),
    );
    put(
        root,
        &format!("{OWNER}/us-east-1/cloudtrail/event-selectors/org-trail.json"),
        json!({
            "TrailARN": format!("arn:aws:cloudtrail:us-east-1:{OWNER}:trail/org-trail"),
            "AdvancedEventSelectors": [
                {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
                {"Name": "S3 objects", "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}
            ]
        }),
    );
    chain(root, OWNER, "org-trail-logs");
}

fn audit(configs: &[&Path], format: &str) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec!["audit".into(), "--config".into()];
    args.extend(configs.iter().map(|c| c.as_os_str().to_owned()));
    args.extend(["--format".into(), format.into()]);
    trailaudit(args)
}

fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    policy(report, id)["status"].as_str().unwrap()
}

fn needed(report: &Value, id: &str) -> Vec<String> {
    policy(report, id)["judged_on"]["evidence_needed_from"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn organisation_trail_from_a_member_alone() {
    let dir = tempfile::tempdir().unwrap();
    member(dir.path());
    member_bucket_refused(dir.path());
    let run = audit(&[dir.path()], "json");
    // The refused calls on the owner's trail and bucket are no gap in the member's evidence.
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["inputs"]["partial"], false);
    // describe-trails shows the trail's own settings to every member: judged on them.
    for id in [
        "TA-CFG-002",
        "TA-CFG-003",
        "TA-CFG-004",
        "TA-CFG-005",
        "TA-CFG-006",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", policy(&r, id));
    }
    // What only the owner shows: not judged, and the owner named; never a failure.
    for id in [
        "TA-CFG-001",
        "TA-CFG-007",
        "TA-CFG-008",
        "TA-CFG-009",
        "TA-CFG-010",
        "TA-CFG-011",
        "TA-CFG-012",
        "TA-MON-403",
        "TA-MON-401",
    ] {
        let p = policy(&r, id);
        assert_eq!(p["status"], "no_evidence", "{id}: {p}");
        assert!(p["findings"].as_array().unwrap().is_empty(), "{id}: {p}");
        assert_eq!(needed(&r, id), [OWNER], "{id}: {p}");
        assert!(
            p["reason"]
                .as_str()
                .unwrap()
                .contains(&format!("evidence needed from account {OWNER}")),
            "{id}: {p}"
        );
    }
    assert!(r["summary"]["evidence_needed_from"][OWNER]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "TA-MON-403"));
}

#[test]
fn organisation_trail_from_a_member_with_the_owners_evidence() {
    let (member_dir, owner_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    member(member_dir.path());
    owner(owner_dir.path());
    let run = audit(&[member_dir.path(), owner_dir.path()], "json");
    let r = run.json();
    // The member is covered by the organisation trail, with the trail's own settings.
    for id in [
        "TA-CFG-001",
        "TA-CFG-007",
        "TA-CFG-011",
        "TA-CFG-012",
        "TA-MON-403",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", policy(&r, id));
        assert!(needed(&r, id).is_empty(), "{id}");
    }
    // The chain is followed in the owner's evidence for both accounts: a missing filter fails
    // each account.
    let p = policy(&r, "TA-MON-401");
    assert_eq!(p["status"], "fail", "{p}");
    let accounts: std::collections::BTreeSet<&str> = p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, [MEMBER, OWNER].into_iter().collect());
    assert!(r["summary"]["evidence_needed_from"].is_null());
}

/// A member's own trail that delivers to a central log group in the log-archive account.
fn member_with_central_log_group(root: &Path) {
    caller(root, MEMBER);
    let arn = format!("arn:aws:cloudtrail:us-east-1:{MEMBER}:trail/main");
    put(
        root,
        &format!("{MEMBER}/us-east-1/cloudtrail/describe-trails.json"),
        json!({"trailList": [{
            "Name": "main", "S3BucketName": "acme-member-trail", "IncludeGlobalServiceEvents": true,
            "IsMultiRegionTrail": true, "HomeRegion": "us-east-1", "TrailARN": arn,
            "LogFileValidationEnabled": true, "HasCustomEventSelectors": false,
            "HasInsightSelectors": false, "IsOrganizationTrail": false,
            "CloudWatchLogsLogGroupArn": format!("arn:aws:logs:us-east-1:{LOG_ARCHIVE}:log-group:central-trail-logs:*"),
            "CloudWatchLogsRoleArn": format!("arn:aws:iam::{MEMBER}:role/CloudTrailToCloudWatch")
        }]}),
    );
    put(
        root,
        &format!("{MEMBER}/us-east-1/cloudtrail/trail-status/main.json"),
        json!({"IsLogging": true, "LatestDeliveryTime": "2026-09-30T23:58:11Z"}),
    );
    // The member's own region has filters, none on the central group.
    put(
        root,
        &format!("{MEMBER}/us-east-1/logs/describe-metric-filters.json"),
        json!({"metricFilters": []}),
    );
}

#[test]
fn log_group_in_another_account_without_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    member_with_central_log_group(dir.path());
    let run = audit(&[dir.path()], "json");
    assert_eq!(run.code, 0, "no evidence is no violation: {}", run.stderr);
    let r = run.json();
    for id in ["TA-MON-401", "TA-MON-403", "TA-MON-415"] {
        let p = policy(&r, id);
        assert_eq!(p["status"], "no_evidence", "{id}: {p}");
        assert!(p["findings"].as_array().unwrap().is_empty(), "{id}: {p}");
        assert_eq!(needed(&r, id), [LOG_ARCHIVE], "{id}");
        let reason = p["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("evidence needed from account {LOG_ARCHIVE}"))
                && reason.contains("central-trail-logs")
                && !reason.contains("no metric filter"),
            "{id}: {reason}"
        );
    }
    // The trail's own policies are judged from the member's evidence.
    assert_eq!(status(&r, "TA-CFG-001"), "pass");
    assert_eq!(status(&r, "TA-CFG-005"), "pass");
}

#[test]
fn log_group_in_another_account_followed_in_its_evidence() {
    let (member_dir, archive_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    member_with_central_log_group(member_dir.path());
    chain(archive_dir.path(), LOG_ARCHIVE, "central-trail-logs");
    let run = audit(&[member_dir.path(), archive_dir.path()], "json");
    let r = run.json();
    assert_eq!(
        status(&r, "TA-MON-403"),
        "pass",
        "{}",
        policy(&r, "TA-MON-403")
    );
    let p = policy(&r, "TA-MON-401");
    assert_eq!(p["status"], "fail", "{p}");
    let f = &p["findings"][0];
    assert_eq!(f["account"], MEMBER);
    assert_eq!(f["resource"], "log group central-trail-logs");
    assert!(needed(&r, "TA-MON-401").is_empty());
    // The log-archive account lists no trail and no caller identity: it is evidence, not audited.
    assert_eq!(r["posture"].as_array().unwrap().len(), 1);
}

/// Each format states it as it states `no_evidence`: the formats that carry a policy's reason
/// (text, Markdown, HTML, JSON, SARIF, JUnit, OCSF) say from whom; those that list findings only
/// (CSV, ASFF) have none for it, so nothing there claims a missing filter.
#[test]
fn evidence_needed_is_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    member_with_central_log_group(dir.path());
    let out = tempfile::tempdir().unwrap();
    let run = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "text,md,html,json,sarif,junit,csv,ocsf,asff".as_ref(),
        "-o".as_ref(),
        out.path().as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let needle = format!("evidence needed from account {LOG_ARCHIVE}");
    let mut files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with("manifest.sha256"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 9, "{files:?}");
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        if name.contains("csv") || name.contains("asff") {
            assert!(!text.contains("TA-MON-403"), "{name}: {text}");
            assert!(!text.contains("central-trail-logs"), "{name}: {text}");
        } else {
            assert!(
                text.to_lowercase().contains(&needle),
                "{name} does not say {needle}"
            );
        }
    }
}
