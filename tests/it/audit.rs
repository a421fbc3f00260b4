//! `trailaudit audit` and `trailaudit policy`: the acceptance of the policy set.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::Value;
use trailaudit::synth::config::{self, ConfigSpec, SelectorSpec};

/// The bundled samples, named: `audit` audits nothing by default.
const SAMPLES: [&str; 5] = [
    "audit",
    "--logs",
    concat!(env!("CARGO_MANIFEST_DIR"), "/samples/logs"),
    "--config",
    concat!(env!("CARGO_MANIFEST_DIR"), "/samples/config"),
];

fn audit(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["audit", "--format", "json"];
    all.extend_from_slice(args);
    let run = trailaudit(all);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    (run.code, run.json())
}

fn config_audit(spec: &ConfigSpec) -> Value {
    let dir = tempfile::tempdir().unwrap();
    config::write(spec, dir.path()).unwrap();
    audit(&["--config", dir.path().to_str().unwrap()]).1
}

fn all_monitoring() -> BTreeSet<String> {
    (1..=15).map(|n| format!("TA-MON-4{n:02}")).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn one_misconfiguration_at_a_time_fails_exactly_its_policies() {
    let base = ConfigSpec::compliant("111122223333");
    let report = config_audit(&base);
    assert_eq!(
        failing(&report),
        BTreeSet::new(),
        "the compliant baseline passes"
    );
    for id in [
        "TA-CFG-001",
        "TA-CFG-002",
        "TA-CFG-009",
        "TA-MON-403",
        "TA-MON-404",
    ] {
        assert_eq!(policy(&report, id)["status"], "pass", "{id}");
    }
    assert_eq!(policy(&report, "TA-EVT-403")["status"], "not_applicable");

    type Mutation = (&'static str, fn(&mut config::TrailSpec), BTreeSet<String>);
    let with_mon =
        |ids: &[&str]| -> BTreeSet<String> { set(ids).union(&all_monitoring()).cloned().collect() };
    let cases: Vec<Mutation> = vec![
        (
            "not multi-region",
            |t| t.multi_region = false,
            with_mon(&["TA-CFG-001"]),
        ),
        (
            "validation off",
            |t| t.validation = false,
            set(&["TA-CFG-002"]),
        ),
        ("no KMS", |t| t.kms = false, set(&["TA-CFG-003"])),
        (
            "no CloudWatch Logs",
            |t| t.cloudwatch = false,
            with_mon(&["TA-CFG-005"]),
        ),
        (
            "not logging",
            |t| t.logging = false,
            with_mon(&["TA-CFG-001", "TA-CFG-007"]),
        ),
        (
            "WriteOnly management events",
            |t| {
                t.selectors = SelectorSpec::Advanced {
                    management: "WriteOnly",
                    s3_write: true,
                    s3_read: true,
                }
            },
            set(&["TA-CFG-001"]),
        ),
        (
            "delivery error",
            |t| t.delivery_error = Some("AccessDenied".into()),
            set(&["TA-CFG-008"]),
        ),
        ("no SNS", |t| t.sns = false, set(&["TA-CFG-006"])),
    ];
    for (what, mutate, expected) in cases {
        let mut spec = base.clone();
        mutate(&mut spec.trails[0]);
        assert_eq!(failing(&config_audit(&spec)), expected, "{what}");
    }
    let mut public = base.clone();
    public.buckets[0].public_policy = true;
    public.buckets[0].block_public_access = false;
    assert_eq!(
        failing(&config_audit(&public)),
        set(&["TA-CFG-009"]),
        "public bucket"
    );
    let mut unlogged = base.clone();
    unlogged.buckets[0].access_logging = false;
    assert_eq!(
        failing(&config_audit(&unlogged)),
        set(&["TA-CFG-010"]),
        "bucket access logging off"
    );
}

#[test]
fn monitoring_judges_filters_by_what_they_match() {
    let mut spec = ConfigSpec::compliant("111122223333");
    let filters = &mut spec.monitoring[0].filters;
    // Reworded but equivalent: clauses reordered, quotes and parentheses added or dropped.
    filters[2].pattern = "{ ($.eventType != AwsServiceEvent) && (($.userIdentity.invokedBy NOT EXISTS) && $.userIdentity.type = \"Root\") }".into();
    filters[4].pattern = "{($.eventName=StopLogging)||($.eventName=\"StartLogging\")||$.eventName=DeleteTrail||($.eventName=UpdateTrail)||($.eventName=CreateTrail)}".into();
    filters[9].pattern = "{ $.eventName = DeleteSecurityGroup || $.eventName = CreateSecurityGroup || $.eventName = RevokeSecurityGroupEgress || $.eventName = RevokeSecurityGroupIngress || $.eventName = AuthorizeSecurityGroupEgress || $.eventName = AuthorizeSecurityGroupIngress }".into();
    // Missing one required event name.
    filters[3].pattern = filters[3].pattern.replace(
        "($.eventName = DetachGroupPolicy)",
        "($.eventName = TagPolicy)",
    );
    let report = config_audit(&spec);
    assert_eq!(failing(&report), set(&["TA-MON-404"]));
    for id in ["TA-MON-403", "TA-MON-405", "TA-MON-410"] {
        assert_eq!(
            policy(&report, id)["status"],
            "pass",
            "{id} reworded passes"
        );
    }
    let finding = &policy(&report, "TA-MON-404")["findings"][0];
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("misses DetachGroupPolicy"),
        "{finding}"
    );
    assert!(!finding["message"]
        .as_str()
        .unwrap()
        .contains("DeleteGroupPolicy"));

    // A CIS v3.0 4.1 filter as printed (`||`) catches everyday traffic: it cannot be the alarm.
    let mut spec = ConfigSpec::compliant("111122223333");
    spec.monitoring[0].filters[0].pattern = "{ ($.errorCode = *UnauthorizedOperation) || ($.errorCode = AccessDenied*) || ($.sourceIPAddress!=delivery.logs.amazonaws.com) || ($.eventName!=HeadBucket) }".into();
    let report = config_audit(&spec);
    assert_eq!(failing(&report), set(&["TA-MON-401"]));
    assert!(policy(&report, "TA-MON-401")["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("everyday"));

    // The chain: no SNS action, then an unconfirmed subscription.
    let mut spec = ConfigSpec::compliant("111122223333");
    spec.monitoring[0].filters[2].alarm.as_mut().unwrap().topic = None;
    spec.monitoring[0].filters[5].alarm.as_mut().unwrap().topic = Some("unconfirmed".into());
    spec.monitoring[0].topics.push(config::TopicSpec {
        name: "unconfirmed".into(),
        confirmed: 0,
        pending: 1,
    });
    let report = config_audit(&spec);
    assert_eq!(failing(&report), set(&["TA-MON-403", "TA-MON-406"]));
    assert!(policy(&report, "TA-MON-403")["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no SNS action"));
    assert!(policy(&report, "TA-MON-406")["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no confirmed subscription"));
}

#[test]
fn monitoring_asks_each_control_for_its_own_events() {
    // CIS v3.0 4.2's form restricted to IAM users, which Security Hub CloudWatch.3 requires:
    // root sign-ins without MFA are 4.3's to alarm on, not 4.2's.
    let mut spec = ConfigSpec::compliant("111122223333");
    spec.monitoring[0].filters[1].pattern = r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#.into();
    let report = config_audit(&spec);
    assert_eq!(
        policy(&report, "TA-MON-402")["status"],
        "pass",
        "{}",
        policy(&report, "TA-MON-402")
    );
    assert_eq!(failing(&report), set(&[]));
    // The root sign-in is still required of 4.3's filter.
    assert!(policy(&report, "TA-MON-403")["filters"][0]["misses"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_group_whose_filters_catch_none_of_a_control_names_each_and_its_nearest_miss() {
    let mut spec = ConfigSpec::compliant("111122223333");
    // Only the 4.2 and 4.3 filters: neither catches an AWS Config change (4.9).
    spec.monitoring[0].filters = spec.monitoring[0].filters[1..3].to_vec();
    let names: Vec<String> = spec.monitoring[0]
        .filters
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let report = config_audit(&spec);
    let p = policy(&report, "TA-MON-409");
    assert_eq!(p["status"], "fail", "{p}");
    let message = p["findings"][0]["message"].as_str().unwrap();
    for name in &names {
        assert!(
            message.contains(name.as_str()),
            "{name} not named: {message}"
        );
    }
    assert!(message.contains("nearest miss"), "{message}");
    assert!(message.contains("config.amazonaws.com"), "{message}");
    // Every filter on the group is listed with its own nearest miss.
    let filters = p["filters"].as_array().unwrap();
    assert_eq!(filters.len(), names.len(), "{p}");
    for f in filters {
        let problem = f["problem"].as_str().unwrap();
        assert!(problem.starts_with("catches none of the"), "{problem}");
        assert!(
            problem.contains("nearest miss") && problem.contains("fails `$."),
            "{problem}"
        );
    }
}

/// CloudTrail User Guide records (tests/fixtures/corpora/awsdocs-cloudtrail-user-guide), by
/// line: real shapes of old CloudTrail versions.
fn user_guide_records(lines: &[usize]) -> Vec<Value> {
    let text = std::fs::read_to_string(
        fixtures().join("awsdocs-cloudtrail-user-guide/cloudtrail-doc-examples.ndjson"),
    )
    .unwrap();
    let all: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["record"].clone())
        .collect();
    lines.iter().map(|&i| all[i].clone()).collect()
}

#[test]
fn records_of_every_cloudtrail_version_are_judged_alike() {
    // Line 38: StartLogging at eventVersion 1.01 (no eventType, no recipientAccountId); lines 0
    // and 24: anaya's console sign-ins without MFA, eventVersion 1.05 without recipientAccountId.
    let mut records = user_guide_records(&[38, 0, 24]);
    assert!(records
        .iter()
        .all(|r| r.get("recipientAccountId").is_none()));
    assert!(records[0].get("eventType").is_none());
    // The same principal's sign-in as a current record carries recipientAccountId.
    let mut current = records[1].clone();
    current["eventVersion"] = "1.09".into();
    current["eventTime"] = "2023-01-05T09:00:00Z".into();
    current["eventID"] = "current-record".into();
    current["recipientAccountId"] = "111122223333".into();
    records.push(current);
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("old.json"), &envelope(&records));
    let (_, report) = audit(&["--logs", dir.path().to_str().unwrap()]);

    // One finding for anaya, in her account, whichever version wrote the record.
    let f = &policy(&report, "TA-EVT-402")["findings"];
    assert_eq!(f.as_array().unwrap().len(), 1, "{f}");
    assert_eq!(f[0]["account"], "111122223333");
    assert_eq!(f[0]["event_total"], 3);
    for e in f[0]["evidence"].as_array().unwrap() {
        assert_eq!(e["account"], "111122223333", "{e}");
    }
    // The 1.01 StartLogging is a CloudTrail change in its caller's account.
    let f = &policy(&report, "TA-EVT-405")["findings"];
    assert_eq!(f[0]["account"], "123456789012", "{f}");
    assert_eq!(
        report["scope"]["accounts"],
        serde_json::json!(["111122223333", "123456789012"])
    );
}

#[test]
fn root_use_is_caught_in_records_without_event_type() {
    // The User Guide's root console sign-in (line 5) as CloudTrail wrote records before
    // eventVersion 1.02: no eventType, no recipientAccountId.
    let mut old = user_guide_records(&[5]).remove(0);
    assert_eq!(old["userIdentity"]["type"], "Root");
    old.as_object_mut().unwrap().remove("eventType");
    old.as_object_mut().unwrap().remove("recipientAccountId");
    old["eventVersion"] = "1.01".into();
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("old.json"), &envelope(&[old]));
    let (_, report) = audit(&["--logs", dir.path().to_str().unwrap()]);
    for id in ["TA-EVT-402", "TA-EVT-403", "TA-EVT-501"] {
        let f = &policy(&report, id)["findings"];
        assert_eq!(f.as_array().unwrap().len(), 1, "{id}: {f}");
        assert_eq!(f[0]["account"], "111122223333", "{id}: {f}");
    }
}

fn get<'a>(r: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(r, |v, k| v.get(k))
}
fn s<'a>(r: &'a Value, path: &str) -> Option<&'a str> {
    get(r, path).and_then(Value::as_str)
}
fn named(r: &Value, source: &str, names: &[&str]) -> bool {
    s(r, "eventSource") == Some(source) && s(r, "eventName").is_some_and(|n| names.contains(&n))
}

#[test]
fn cis_event_policies_match_independent_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = trailaudit::synth::Spec::samples();
    spec.records = 8_000;
    trailaudit::synth::generate(&spec, dir.path()).unwrap();
    let mut records = Vec::new();
    for entry in walk(dir.path()) {
        let text = gunzip(&std::fs::read(&entry).unwrap());
        let doc: Value = serde_json::from_str(&text).unwrap();
        records.extend(doc["Records"].as_array().unwrap().iter().cloned());
    }
    let denied = |r: &Value| {
        s(r, "errorCode")
            .is_some_and(|c| c.ends_with("UnauthorizedOperation") || c.starts_with("AccessDenied"))
    };
    type Predicate = Box<dyn Fn(&Value) -> bool>;
    let predicates: Vec<(&str, Predicate)> = vec![
        (
            "TA-EVT-401",
            Box::new(move |r| {
                denied(r)
                    && s(r, "eventName") != Some("HeadBucket")
                    && s(r, "sourceIPAddress") != Some("delivery.logs.amazonaws.com")
            }),
        ),
        (
            "TA-EVT-402",
            Box::new(|r| {
                s(r, "eventName") == Some("ConsoleLogin")
                    && s(r, "responseElements.ConsoleLogin") == Some("Success")
                    && s(r, "additionalEventData.MFAUsed").is_some_and(|m| m != "Yes")
                    && matches!(s(r, "userIdentity.type"), Some("IAMUser" | "Root"))
            }),
        ),
        (
            "TA-EVT-403",
            Box::new(|r| {
                s(r, "userIdentity.type") == Some("Root")
                    && get(r, "userIdentity.invokedBy").is_none()
                    && s(r, "eventType").is_some_and(|t| t != "AwsServiceEvent")
            }),
        ),
        (
            "TA-EVT-404",
            Box::new(|r| {
                named(
                    r,
                    "iam.amazonaws.com",
                    &[
                        "DeleteGroupPolicy",
                        "DeleteRolePolicy",
                        "DeleteUserPolicy",
                        "PutGroupPolicy",
                        "PutRolePolicy",
                        "PutUserPolicy",
                        "CreatePolicy",
                        "DeletePolicy",
                        "CreatePolicyVersion",
                        "DeletePolicyVersion",
                        "AttachRolePolicy",
                        "DetachRolePolicy",
                        "AttachUserPolicy",
                        "DetachUserPolicy",
                        "AttachGroupPolicy",
                        "DetachGroupPolicy",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-405",
            Box::new(|r| {
                named(
                    r,
                    "cloudtrail.amazonaws.com",
                    &[
                        "CreateTrail",
                        "UpdateTrail",
                        "DeleteTrail",
                        "StartLogging",
                        "StopLogging",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-406",
            Box::new(|r| {
                s(r, "eventName") == Some("ConsoleLogin")
                    && s(r, "errorMessage") == Some("Failed authentication")
            }),
        ),
        (
            "TA-EVT-407",
            Box::new(|r| {
                named(
                    r,
                    "kms.amazonaws.com",
                    &["DisableKey", "ScheduleKeyDeletion"],
                )
            }),
        ),
        (
            "TA-EVT-408",
            Box::new(|r| {
                named(
                    r,
                    "s3.amazonaws.com",
                    &[
                        "PutBucketAcl",
                        "PutBucketPolicy",
                        "PutBucketCors",
                        "PutBucketLifecycle",
                        "PutBucketReplication",
                        "DeleteBucketPolicy",
                        "DeleteBucketCors",
                        "DeleteBucketLifecycle",
                        "DeleteBucketReplication",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-409",
            Box::new(|r| {
                named(
                    r,
                    "config.amazonaws.com",
                    &[
                        "StopConfigurationRecorder",
                        "DeleteDeliveryChannel",
                        "PutDeliveryChannel",
                        "PutConfigurationRecorder",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-410",
            Box::new(|r| {
                named(
                    r,
                    "ec2.amazonaws.com",
                    &[
                        "AuthorizeSecurityGroupIngress",
                        "AuthorizeSecurityGroupEgress",
                        "RevokeSecurityGroupIngress",
                        "RevokeSecurityGroupEgress",
                        "CreateSecurityGroup",
                        "DeleteSecurityGroup",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-411",
            Box::new(|r| {
                named(
                    r,
                    "ec2.amazonaws.com",
                    &[
                        "CreateNetworkAcl",
                        "CreateNetworkAclEntry",
                        "DeleteNetworkAcl",
                        "DeleteNetworkAclEntry",
                        "ReplaceNetworkAclEntry",
                        "ReplaceNetworkAclAssociation",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-412",
            Box::new(|r| {
                named(
                    r,
                    "ec2.amazonaws.com",
                    &[
                        "CreateCustomerGateway",
                        "DeleteCustomerGateway",
                        "AttachInternetGateway",
                        "CreateInternetGateway",
                        "DeleteInternetGateway",
                        "DetachInternetGateway",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-413",
            Box::new(|r| {
                named(
                    r,
                    "ec2.amazonaws.com",
                    &[
                        "CreateRoute",
                        "CreateRouteTable",
                        "ReplaceRoute",
                        "ReplaceRouteTableAssociation",
                        "DeleteRouteTable",
                        "DeleteRoute",
                        "DisassociateRouteTable",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-414",
            Box::new(|r| {
                named(
                    r,
                    "ec2.amazonaws.com",
                    &[
                        "CreateVpc",
                        "DeleteVpc",
                        "ModifyVpcAttribute",
                        "AcceptVpcPeeringConnection",
                        "CreateVpcPeeringConnection",
                        "DeleteVpcPeeringConnection",
                        "RejectVpcPeeringConnection",
                        "AttachClassicLinkVpc",
                        "DetachClassicLinkVpc",
                        "DisableVpcClassicLink",
                        "EnableVpcClassicLink",
                    ],
                )
            }),
        ),
        (
            "TA-EVT-415",
            Box::new(|r| {
                named(
                    r,
                    "organizations.amazonaws.com",
                    &[
                        "AcceptHandshake",
                        "AttachPolicy",
                        "CreateAccount",
                        "CreateOrganizationalUnit",
                        "CreatePolicy",
                        "DeclineHandshake",
                        "DeleteOrganization",
                        "DeleteOrganizationalUnit",
                        "DeletePolicy",
                        "DetachPolicy",
                        "DisablePolicyType",
                        "EnablePolicyType",
                        "InviteAccountToOrganization",
                        "LeaveOrganization",
                        "MoveAccount",
                        "RemoveAccountFromOrganization",
                        "UpdatePolicy",
                        "UpdateOrganizationalUnit",
                    ],
                )
            }),
        ),
    ];
    let (_, report) = audit(&[
        "--logs",
        dir.path().to_str().unwrap(),
        "--framework",
        "cis-aws-v3.0",
    ]);
    for (id, predicate) in predicates {
        let expected = records.iter().filter(|r| predicate(r)).count() as u64;
        let p = policy(&report, id);
        assert_eq!(p["matched_events"].as_u64(), Some(expected), "{id}");
        assert!(expected > 0, "{id}: the corpus must exercise it");
        let listed: u64 = p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["event_total"].as_u64().unwrap())
            .sum();
        assert_eq!(
            listed, expected,
            "{id}: every matching event is in a finding"
        );
    }
    // Planted: root 4 events, StopLogging + StartLogging 2, a console login without MFA each.
    assert_eq!(policy(&report, "TA-EVT-403")["matched_events"], 4);
    assert_eq!(policy(&report, "TA-EVT-402")["matched_events"], 2);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            out.push(p);
        }
    }
    out
}

fn gunzip(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn samples_audit_tells_the_story_and_exits_1() {
    let run = trailaudit([&SAMPLES[..], &["--format", "json"][..]].concat());
    assert_eq!(run.code, 1, "violations at or above high: {}", run.stderr);
    let report = run.json();
    let fails = failing(&report);
    for id in [
        "TA-EVT-403",
        "TA-EVT-503",
        "TA-EVT-402",
        "TA-EVT-509",
        "TA-EVT-404",
        "TA-CFG-002",
        "TA-CFG-007",
        "TA-CFG-009",
        "TA-MON-404",
        "TA-MON-401",
    ] {
        assert!(fails.contains(id), "{id} fails on the samples");
    }
    for id in ["TA-CFG-001", "TA-MON-403", "TA-EVT-502"] {
        assert_eq!(policy(&report, id)["status"], "pass", "{id}");
    }
    let burst = &policy(&report, "TA-EVT-509")["findings"][0];
    assert_eq!(
        burst["resource"],
        "arn:aws:iam::210987654321:user/ci-deployer"
    );
    assert_eq!(burst["event_total"], 120);
    assert_eq!(
        burst["event_ids"].as_array().unwrap().len(),
        20,
        "ids are capped"
    );
    assert_eq!(report["inputs"]["logs"]["events"], 36153);
    // CIS 4.3 is decided by its monitoring chain, which is in place; the root activity is
    // listed under it for review.
    let cis43 = report["summary"]["frameworks"]["cis-aws-v3.0"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["control"] == "4.3")
        .unwrap()
        .clone();
    assert_eq!(cis43["status"], "pass");
    assert_eq!(cis43["activity"][0]["policy"], "TA-EVT-403");
    assert!(cis43["activity"][0]["findings"].as_u64().unwrap() > 0);
    findings_explain_themselves(&report);

    // Only critical: the CloudTrail tampering and the public legacy bucket still fail the run.
    let critical = trailaudit(
        [
            &SAMPLES[..],
            &["--fail-on", "critical", "--format", "json"][..],
        ]
        .concat(),
    );
    assert_eq!(critical.code, 1);
    assert_eq!(critical.json()["summary"]["violations"], 2);
    // A framework filter runs only that framework's policies.
    let pci = trailaudit(
        [
            &SAMPLES[..],
            &["--framework", "pci-dss-v4.0", "--format", "json"][..],
        ]
        .concat(),
    )
    .json();
    assert!(pci["policies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["frameworks"].get("pci-dss-v4.0").is_some()));
}

/// Config findings state the observed value and the file that shows it; no finding quotes an
/// example's note (notes are for policy authors); messages stay short.
fn findings_explain_themselves(report: &Value) {
    let set = trailaudit::policy::PolicySet::load(&[], false).unwrap();
    // (A note that reads like the event's own name, `DeleteGroupPolicy (iam.amazonaws.com)`, is
    // not a quote.)
    let notes: Vec<&str> = set
        .policies
        .iter()
        .flat_map(|p| p.examples.iter().map(move |e| (p, e)))
        .filter(|(p, e)| e.note.len() > 12 && e.note != e.describe(p.pattern()))
        .map(|(_, e)| e.note.as_str())
        .collect();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/config");
    let logging = &policy(report, "TA-CFG-007")["findings"][0]["message"];
    assert_eq!(
        logging,
        "Status.IsLogging: false in 210987654321/us-east-1/cloudtrail/trail-status/prod-legacy.json"
    );
    for p in report["policies"].as_array().unwrap() {
        let texts = p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["message"])
            .chain(
                p["filters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| &v["problem"]),
            )
            .filter_map(Value::as_str);
        for text in texts {
            assert!(
                text.chars().count() < 300,
                "{}: {} chars: {text}",
                p["id"],
                text.len()
            );
            for note in &notes {
                assert!(
                    !text.contains(note),
                    "{} quotes an example note: {text}",
                    p["id"]
                );
            }
        }
        if p["kind"] == "config" {
            for f in p["findings"].as_array().unwrap() {
                let message = f["message"].as_str().unwrap();
                let file = message
                    .split(" in ")
                    .nth(1)
                    .and_then(|rest| rest.split([';', ' ']).next())
                    .unwrap_or_else(|| panic!("{}: no file in {message}", p["id"]));
                assert!(
                    samples.join(file).is_file(),
                    "{}: {file} is not evidence: {message}",
                    p["id"]
                );
                assert!(
                    message.contains(": "),
                    "{}: no observed value: {message}",
                    p["id"]
                );
            }
        }
    }
}

#[test]
fn invalid_policy_files_are_all_reported_then_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("X-1-bad.toml"),
        b"id = \"X-1\"\ntitle = \"t\"\nseverity = \"severe\"\n",
    );
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/TA-EVT-403-root-account-usage.toml"),
    )
    .unwrap();
    let broken_pattern = good
        .replace("id = \"TA-EVT-403\"", "id = \"X-2\"")
        .replace("$.eventType != \"AwsServiceEvent\"", "$.eventType != ");
    write(
        &dir.path().join("X-2-pattern.toml"),
        broken_pattern.as_bytes(),
    );
    let bad_framework = good
        .replace("id = \"TA-EVT-403\"", "id = \"X-3\"")
        .replace("\"cis-aws-v3.0\"", "\"cis-v9\"");
    write(
        &dir.path().join("X-3-framework.toml"),
        bad_framework.as_bytes(),
    );
    // A check key another kind uses: an event policy has no trail scope.
    let foreign_key = good
        .replace("id = \"TA-EVT-403\"", "id = \"X-4\"")
        .replace("[check]\n", "[check]\nscope = \"any-trail\"\n");
    assert_ne!(
        foreign_key,
        good.replace("id = \"TA-EVT-403\"", "id = \"X-4\"")
    );
    write(&dir.path().join("X-4-key.toml"), foreign_key.as_bytes());
    // An unknown severity or kind is one problem among the file's others, all reported.
    let severity = good
        .replace("id = \"TA-EVT-403\"", "id = \"X-5\"")
        .replace("severity = \"high\"", "severity = \"hgh\"")
        .replace("\"cis-aws-v3.0\"", "\"cis-v9\"");
    assert!(severity.contains("\"hgh\""));
    write(&dir.path().join("X-5-severity.toml"), severity.as_bytes());
    let kind = good
        .replace("id = \"TA-EVT-403\"", "id = \"X-6\"")
        .replace("kind = \"event\"", "kind = \"evnt\"")
        .replace("severity = \"high\"", "severity = \"never\"");
    assert!(kind.contains("\"evnt\""));
    write(&dir.path().join("X-6-kind.toml"), kind.as_bytes());
    let run = trailaudit([
        "audit".as_ref(),
        "--policies".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("X-1-bad.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("X-2-pattern.toml: `check.pattern`: invalid filter pattern: expected a value after '!='"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("X-3-framework.toml: `frameworks.cis-v9`: unknown framework"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("X-4-key.toml: `check.scope`: not used by event policies"),
        "{}",
        run.stderr
    );
    for problem in [
        "X-5-severity.toml: `severity`: \"hgh\": use one of info, low, medium, high, critical",
        "X-5-severity.toml: `frameworks.cis-v9`: unknown framework",
        // `never` is a --fail-on value, not a severity a policy can have.
        "X-6-kind.toml: `severity`: \"never\": use one of",
        "X-6-kind.toml: `kind`: \"evnt\": use one of event, config, monitoring, integrity",
    ] {
        assert!(run.stderr.contains(problem), "{problem}\n{}", run.stderr);
    }
}

/// `--fail-on never`: a report-only run exits 0 with the same findings; only the verdicts of
/// violation change.
#[test]
fn fail_on_never_reports_the_same_findings_and_exits_0() {
    let (code, judged) = audit(&SAMPLES[1..]);
    assert_eq!(code, 1, "the samples have violations at high");
    let (code, never) = audit(&[&SAMPLES[1..], &["--fail-on", "never"]].concat());
    assert_eq!(code, 0);
    assert_eq!(never["summary"]["fail_on"], "never");
    assert_eq!(never["summary"]["violations"], 0);
    assert_eq!(judged["summary"]["fail_on"], "high");
    assert_ne!(judged["summary"]["violations"], 0);
    let policies = |r: &Value| -> Vec<Value> {
        let mut ps = r["policies"].as_array().unwrap().clone();
        for p in &mut ps {
            assert!(p["violation"].is_boolean());
            p["violation"] = Value::Null;
        }
        ps
    };
    assert!(never["policies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["violation"] == false));
    assert_eq!(policies(&never), policies(&judged));
    assert_eq!(
        never["summary"]["by_status"],
        judged["summary"]["by_status"]
    );
    // The saved report reads back, and says the run was report-only.
    let dir = tempfile::tempdir().unwrap();
    let saved = write(&dir.path().join("never.json"), never.to_string().as_bytes());
    let md = trailaudit([
        "report".as_ref(),
        saved.as_os_str(),
        "--format".as_ref(),
        "md".as_ref(),
    ]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout
            .contains("Report only (`--fail-on never`): no failing policy fails the run."),
        "{}",
        md.stdout
    );
    // Still 2 on a usage error; `never` is no severity a policy file can have (tested above).
    let bad = trailaudit([&SAMPLES[..], &["--fail-on", "never", "--from", "yesterday"]].concat());
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn policy_commands() {
    let explain = trailaudit(["policy", "explain", "TA-EVT-403"]);
    assert_eq!(explain.code, 0);
    assert!(
        explain.stdout.contains("Root user activity")
            && explain
                .stdout
                .contains("$.userIdentity.invokedBy NOT EXISTS")
    );
    assert_eq!(trailaudit(["policy", "explain", "NOPE"]).code, 2);
    // Ids are typed by people: any case finds the policy.
    let lower = trailaudit(["policy", "explain", "ta-evt-403"]);
    assert_eq!(lower.code, 0, "{}", lower.stderr);
    assert_eq!(lower.stdout, explain.stdout);
    let list = trailaudit(["policy", "list", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&list.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        60
    );
    // --framework lists only the policies mapped to it, every one of them.
    let policies = |args: &[&str]| -> Vec<Value> {
        let run = trailaudit([&["policy", "list", "--format", "json"], args].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str::<Value>(&run.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let all = policies(&[]);
    let cis = policies(&["--framework", "cis-aws-v3.0"]);
    let mapped = |p: &Value| p["frameworks"].get("cis-aws-v3.0").is_some();
    assert!(!cis.is_empty() && cis.len() < all.len());
    assert!(cis.iter().all(mapped));
    assert_eq!(cis.len(), all.iter().filter(|p| mapped(p)).count());
    let text = trailaudit(["policy", "list", "--framework", "cis-aws-v3.0"]);
    assert!(
        text.stdout
            .ends_with(&format!("\n{} policies\n", cis.len())),
        "{}",
        text.stdout
    );
    assert_eq!(
        trailaudit(["policy", "list", "--framework", "cis-v9"]).code,
        2
    );

    // A user's policy whose example is wrong: `policy test` says which and exits 1.
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies/TA-EVT-502-root-access-key-created.toml"),
    )
    .unwrap();
    let mine = good
        .replace("id = \"TA-EVT-502\"", "id = \"ACME-1\"")
        .replacen("expect = \"no-match\"", "expect = \"match\"", 1);
    write(&dir.path().join("ACME-1-root-keys.toml"), mine.as_bytes());
    let test = trailaudit(["policy".as_ref(), "test".as_ref(), dir.path().as_os_str()]);
    assert_eq!(test.code, 1, "{}", test.stdout);
    assert!(
        test.stdout.contains("FAIL  ACME-1") && test.stdout.contains("0 passed, 1 failed"),
        "{}",
        test.stdout
    );
}

#[test]
fn audit_without_evidence_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailaudit"))
        .args(["-q", "audit"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no evidence given"), "{stderr}");
    assert!(out.stdout.is_empty(), "no report of nothing");
}
