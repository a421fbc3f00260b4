//! `trailaudit query` against independent counts: each CIS v3.0 section 4 pattern, written out
//! by hand as a predicate over the raw JSON, and the known traps.

use crate::common;

use std::io::Read;
use std::path::Path;

use common::*;
use serde_json::Value;

fn records_of(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        out.extend(doc["Records"].as_array().unwrap().iter().cloned());
    }
    out
}

fn get<'a>(r: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(r, |v, k| v.get(k))
}

fn str_at<'a>(r: &'a Value, path: &str) -> Option<&'a str> {
    get(r, path).and_then(Value::as_str)
}

fn name_in(r: &Value, names: &[&str]) -> bool {
    str_at(r, "eventName").is_some_and(|n| names.contains(&n))
}

fn source_is(r: &Value, source: &str) -> bool {
    str_at(r, "eventSource") == Some(source)
}

/// `field != value` as AWS evaluates it: false when the field is absent or not a string.
fn ne(r: &Value, path: &str, value: &str) -> bool {
    str_at(r, path).is_some_and(|v| v != value)
}

type Predicate = fn(&Value) -> bool;

fn cis_v3() -> Vec<(&'static str, &'static str, Predicate)> {
    vec![
        ("4.1", "{ ($.errorCode = *UnauthorizedOperation) || ($.errorCode = AccessDenied*) || ($.sourceIPAddress!=delivery.logs.amazonaws.com) || ($.eventName!=HeadBucket) }",
         |r| str_at(r, "errorCode").is_some_and(|c| c.ends_with("UnauthorizedOperation") || c.starts_with("AccessDenied"))
             || ne(r, "sourceIPAddress", "delivery.logs.amazonaws.com") || ne(r, "eventName", "HeadBucket")),
        ("4.2", r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#,
         |r| name_in(r, &["ConsoleLogin"]) && ne(r, "additionalEventData.MFAUsed", "Yes")),
        ("4.3", r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
         |r| str_at(r, "userIdentity.type") == Some("Root") && get(r, "userIdentity.invokedBy").is_none() && ne(r, "eventType", "AwsServiceEvent")),
        ("4.4", "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}",
         |r| name_in(r, &["DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy"])),
        ("4.5", "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }",
         |r| name_in(r, &["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"])),
        ("4.6", r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#,
         |r| name_in(r, &["ConsoleLogin"]) && str_at(r, "errorMessage") == Some("Failed authentication")),
        ("4.7", "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }",
         |r| source_is(r, "kms.amazonaws.com") && name_in(r, &["DisableKey", "ScheduleKeyDeletion"])),
        ("4.8", "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
         |r| source_is(r, "s3.amazonaws.com") && name_in(r, &["PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication"])),
        ("4.9", "{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }",
         |r| source_is(r, "config.amazonaws.com") && name_in(r, &["StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder"])),
        ("4.10", "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
         |r| name_in(r, &["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup"])),
        ("4.11", "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }",
         |r| name_in(r, &["CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"])),
        ("4.12", "{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }",
         |r| name_in(r, &["CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"])),
        // As printed in the v3.0 audit procedure: `&&` binds tighter than `||`.
        ("4.13", "{($.eventSource = ec2.amazonaws.com) && ($.eventName =CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName =ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName= DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName =DisassociateRouteTable) }",
         |r| (source_is(r, "ec2.amazonaws.com") && name_in(r, &["CreateRoute"]))
             || name_in(r, &["CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable"])),
        ("4.14", "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }",
         |r| name_in(r, &["CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink"])),
        ("4.15", r#"{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#,
         |r| source_is(r, "organizations.amazonaws.com") && name_in(r, &["AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit"])),
    ]
}

fn count(pattern: &str, dir: &Path) -> usize {
    let run = trailaudit([
        "query".as_ref(),
        pattern.as_ref(),
        dir.as_os_str(),
        "--count".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{pattern}: {}", run.stderr);
    run.stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{pattern}: {}", run.stdout))
}

#[test]
fn cis_v3_section_4_counts_match_independent_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = trailaudit::synth::Spec::samples();
    spec.records = 8_000;
    trailaudit::synth::generate(&spec, dir.path()).unwrap();
    let records = records_of(dir.path());
    for (control, pattern, predicate) in cis_v3() {
        let expected = records.iter().filter(|r| predicate(r)).count();
        assert!(
            expected > 0,
            "CIS {control}: the corpus must hold events for it"
        );
        assert_eq!(count(pattern, dir.path()), expected, "CIS {control}");
    }

    // The v3.0 4.1 trap: its `!=` clauses, joined by `||`, match nearly every record.
    let trap = count(cis_v3()[0].1, dir.path());
    assert!(
        trap as f64 > 0.99 * records.len() as f64,
        "{trap} of {}",
        records.len()
    );
    // The intended 4.1 matches only the denials.
    let intended = count(
        r#"{ ($.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*") && $.eventName != "HeadBucket" && $.sourceIPAddress != "delivery.logs.amazonaws.com" }"#,
        dir.path(),
    );
    assert!(
        intended >= 120 && intended < records.len() / 10,
        "{intended}"
    );

    // `!=` on a missing key does not match.
    let invoked = count(r#"{ $.userIdentity.invokedBy != "x" }"#, dir.path());
    let with_invoked = records
        .iter()
        .filter(|r| str_at(r, "userIdentity.invokedBy").is_some())
        .count();
    assert_eq!(invoked, with_invoked);
    assert!(invoked < records.len());
}

#[test]
fn formats_fields_limit_and_window() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/logs");
    let p = "{ $.eventName = StopLogging || $.eventName = StartLogging }";
    let table = trailaudit(["query", p, samples.to_str().unwrap()]);
    assert_eq!(table.code, 0);
    assert!(
        table.stdout.contains("StopLogging") && table.stdout.contains("(2 records)"),
        "{}",
        table.stdout
    );

    let ndjson = trailaudit([
        "query",
        p,
        samples.to_str().unwrap(),
        "--format",
        "ndjson",
        "--limit",
        "1",
    ]);
    let lines: Vec<Value> = ndjson
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["eventName"], "StopLogging",
        "earliest first, whole record"
    );
    assert_eq!(
        lines[0]["requestParameters"]["name"],
        "arn:aws:cloudtrail:us-east-1:345678901234:trail/org-trail"
    );

    let json = trailaudit([
        "query",
        p,
        samples.to_str().unwrap(),
        "--format",
        "json",
        "--fields",
        "eventName,requestParameters.name,_record_index",
    ]);
    let rows: Vec<Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows[1]["eventName"], "StartLogging");
    assert!(rows[1]["requestParameters.name"]
        .as_str()
        .unwrap()
        .ends_with("trail/org-trail"));
    assert!(rows[1]["_record_index"].is_u64());

    let csv = trailaudit([
        "query",
        p,
        samples.to_str().unwrap(),
        "--format",
        "csv",
        "--fields",
        "eventTime,eventName",
    ]);
    assert_eq!(csv.stdout, "eventTime,eventName\n2026-09-03T02:11:40Z,StopLogging\n2026-09-03T02:58:13Z,StartLogging\n");

    let window = |from: &str, to: &str| {
        trailaudit([
            "query",
            p,
            samples.to_str().unwrap(),
            "--count",
            "--from",
            from,
            "--to",
            to,
        ])
        .stdout
    };
    assert_eq!(window("2026-09-03", "2026-09-03"), "2\n");
    assert_eq!(window("2026-09-03T02:30:00Z", "2026-09-30"), "1\n");
    assert_eq!(window("2026-09-04", "2026-09-30"), "0\n");
}

#[test]
fn bad_patterns_exit_2_with_a_caret() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/logs");
    for (pattern, message) in [
        (
            "{ $.eventName = }",
            "expected a value after '=' at column 17",
        ),
        ("{ ($.a = 1 }", "unclosed '('"),
        ("{ $.a = %(x)% }", "parentheses"),
    ] {
        let run = trailaudit(["query", pattern, samples.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{pattern}");
        assert!(run.stderr.contains(message), "{pattern}: {}", run.stderr);
        assert!(
            run.stderr.contains('^'),
            "caret under the problem: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"));
    }
}

#[test]
fn attacker_controlled_text_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = record("2024-01-01T00:00:00Z", "111122223333", "us-east-1", "X");
    r["userAgent"] = Value::String("evil\u{1b}]0;pwned\u{7}\u{1b}[2J".into());
    write(&dir.path().join("a.json"), &envelope(&[r]));
    let run = trailaudit([
        "query".as_ref(),
        "{ $.eventName = X }".as_ref(),
        dir.path().as_os_str(),
        "--fields".as_ref(),
        "userAgent".as_ref(),
    ]);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    assert!(run.stdout.contains("evil\\u{1b}]0;pwned"));
}

/// ndjson writes each matching record whole: the fields held by columns (top-level and nested,
/// such as `userIdentity.arn`) are put back, and nothing else changes.
#[test]
fn ndjson_gives_back_every_record_as_it_was() {
    let dir = common::fixtures().join("stratus-red-team-detonation-logs");
    let mut originals = std::collections::HashMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            let records: Vec<Value> = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            for r in records {
                originals.insert(r["eventID"].as_str().unwrap().to_string(), r);
            }
        }
    }
    let out = trailaudit([
        "query",
        "",
        dir.to_str().unwrap(),
        "--format",
        "ndjson",
        // The licence files beside the records are not event history.
        "--allow-partial",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), originals.len());
    let with_issuer = lines
        .iter()
        .filter(|r| r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"].is_string())
        .count();
    assert!(with_issuer > 50, "the corpus exercises nested columns");
    for line in &lines {
        let id = line["eventID"].as_str().unwrap();
        assert_eq!(line, &originals[id], "record {id}");
    }
}

/// `--count` loads only the columns a column-only pattern reads: its counts, accounting and exit
/// codes are those of a full load, including rows that hold a column's field in `_rest` (a
/// number in `eventName`) and inputs that fail or are rejected.
#[test]
fn count_of_a_projected_load_is_the_count_of_a_full_load() {
    let dir = tempfile::tempdir().unwrap();
    let record = |time: &str, name: Value, extra: Value| {
        let mut r = serde_json::json!({
            "eventTime": time, "eventName": name, "eventSource": "iam.amazonaws.com",
            "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
            "requestParameters": {"bucketName": "b"},
        });
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    let records = serde_json::json!({"Records": [
        record("2026-01-01T00:00:00Z", "PutUserPolicy".into(), serde_json::json!({})),
        record("2026-01-02T00:00:00Z", 5.into(), serde_json::json!({})),
        record("2026-01-02T00:00:00.000Z", "StopLogging".into(), serde_json::json!({"errorCode": null})),
        record("2026-01-03T00:00:00Z", Value::Null, serde_json::json!({"errorCode": "AccessDenied"})),
        serde_json::json!({"eventName": "NoTime"}),
    ]});
    write(
        &dir.path().join("a.json.gz"),
        &gzip(records.to_string().as_bytes()),
    );
    write(&dir.path().join("b.json.gz"), b"not gzip");
    let dir_arg = dir.path().to_str().unwrap();
    for pattern in [
        r#"{ $.eventName = 5 }"#,
        r#"{ $.eventName = * }"#,
        r#"{ $.eventName IS NULL }"#,
        r#"{ $.eventName NOT EXISTS || $.errorCode IS NULL }"#,
        r#"{ $.errorCode = "AccessDenied*" && $.userIdentity.type = Root }"#,
        r#"{ $.eventName.x NOT EXISTS && $.eventTime = "2026-01-02*" }"#,
        r#"{ $.userIdentity.arn = "*:root" }"#,
        r#"{ $.requestParameters.bucketName = b }"#,
        r#"{ $.userIdentity.* = Root }"#,
        "",
    ] {
        for window in [&[][..], &["--from", "2026-01-02"][..]] {
            let mut count = vec!["query", pattern, dir_arg, "--count"];
            count.extend(window);
            let mut json = vec!["query", pattern, dir_arg, "--format", "json"];
            json.extend(window);
            let (count, json) = (trailaudit(&count), trailaudit(&json));
            let rows: Vec<Value> = serde_json::from_str(&json.stdout).unwrap();
            assert_eq!(
                count.stdout,
                format!("{}\n", rows.len()),
                "{pattern} {window:?}"
            );
            assert_eq!(count.code, 2, "{pattern}: partial evidence");
            assert_eq!(count.code, json.code);
            assert_eq!(count.stderr, json.stderr, "{pattern}");
            assert!(
                count
                    .stderr
                    .contains("1 file(s) failed, 1 record(s) rejected"),
                "{}",
                count.stderr
            );
        }
    }
    let count = |p: &str| trailaudit(["query", p, dir_arg, "--count"]).stdout;
    assert_eq!(count(r#"{ $.eventName = 5 }"#), "1\n");
    assert_eq!(count(r#"{ $.eventName IS NULL }"#), "1\n");
    assert_eq!(count(r#"{ $.errorCode IS NULL }"#), "1\n");
}
