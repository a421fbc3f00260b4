//! `trailaudit iac`: the CIS monitoring chain declared in Terraform and CloudFormation, judged
//! by the real binary, and the same verdicts as `audit --config` on that chain collected from
//! an account.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/iac")
        .join(rel)
}

/// The fixtures copied into a temp dir, for variants made by editing one file.
fn copy_fixtures() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(""), dir.path());
    dir
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// 1-based line of the first line of `file` holding `needle`.
fn line_of(file: &Path, needle: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display())) as u64
        + 1
}

fn iac_json(paths: &[&Path]) -> (Value, Run) {
    let mut args = vec!["iac".to_string(), "--format".into(), "json".into()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let run = trailaudit(&args);
    (run.json(), run)
}

/// Monitoring policy id -> status.
fn statuses(report: &Value) -> BTreeMap<String, String> {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "monitoring")
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn policy<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn a_terraform_module_declaring_the_whole_chain_passes_every_control() {
    let (report, run) = iac_json(&[&fixture("terraform/account")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = statuses(&report);
    assert_eq!(s.len(), 15, "{s:?}");
    assert!(s.values().all(|v| v == "pass"), "{s:?}");
    // The local module was read through its caller, not judged as a stack of its own.
    assert_eq!(
        report["inputs"]["iac"]["stacks"].as_array().unwrap().len(),
        1
    );
    let files = report["inputs"]["iac"]["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["path"]
        .as_str()
        .unwrap()
        .ends_with("modules/cis-alarms/main.tf")));
    // Every CIS 4.x control the policies map is decided pass.
    let cis = report["summary"]["frameworks"]["cis-aws-v3.0"]
        .as_array()
        .unwrap();
    let decided: Vec<&Value> = cis
        .iter()
        .filter(|c| {
            c["decided_by"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.as_str().unwrap().starts_with("TA-MON-"))
        })
        .collect();
    assert_eq!(decided.len(), 15);
    assert!(decided.iter().all(|c| c["status"] == "pass"), "{decided:?}");
}

#[test]
fn a_cloudformation_template_declaring_the_whole_chain_passes_every_control() {
    let (report, run) = iac_json(&[&fixture("cloudformation/cis-monitoring.yaml")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = statuses(&report);
    assert_eq!(s.len(), 15);
    assert!(s.values().all(|v| v == "pass"), "{s:?}");
}

#[test]
fn long_form_json_templates_and_terraform_json_resolve() {
    // Terraform JSON: `${...}` templates, a reference into a nested block, `count`.
    let (report, _) = iac_json(&[&fixture("terraform-json")]);
    assert_eq!(policy(&report, "TA-MON-405")["status"], "pass");
    assert_eq!(policy(&report, "TA-MON-401")["status"], "fail");
    // CloudFormation JSON: Ref, Fn::GetAtt, Fn::Join, Fn::FindInMap, Fn::Sub, AWS::SNS::Subscription.
    let (report, _) = iac_json(&[&fixture("cloudformation-json/root-usage.json")]);
    assert_eq!(policy(&report, "TA-MON-403")["status"], "pass");
    let f = &policy(&report, "TA-MON-401")["findings"][0];
    let file = fixture("cloudformation-json/root-usage.json");
    assert_eq!(f["line"], line_of(&file, "\"FilterPattern\""));
}

#[test]
fn terraform_filter_missing_stop_logging_fails_4_5_at_its_line() {
    let dir = copy_fixtures();
    let main = dir.path().join("terraform/account/main.tf");
    edit(&main, " || ($.eventName = StopLogging)", "");
    let (report, run) = iac_json(&[&dir.path().join("terraform/account")]);
    assert_eq!(run.code, 1, "a high-severity control fails: {}", run.stderr);
    let p = policy(&report, "TA-MON-405");
    assert_eq!(p["status"], "fail");
    assert_eq!(p["frameworks"]["cis-aws-v3.0"], json!(["4.5"]));
    let f = &p["findings"][0];
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("misses StopLogging"),
        "{f}"
    );
    assert!(f["file"]
        .as_str()
        .unwrap()
        .ends_with("terraform/account/main.tf"));
    assert_eq!(
        f["line"],
        line_of(&main, "  pattern        = \"{ ($.eventName = CreateTrail)")
    );
    assert_eq!(f["column"], 3, "the `pattern` attribute");
    // Every other control still passes.
    let s = statuses(&report);
    assert_eq!(s.values().filter(|v| *v == "pass").count(), 14, "{s:?}");

    // Markdown: the place, for a pull request comment.
    let run = trailaudit([
        "iac",
        "--format",
        "md",
        dir.path().join("terraform/account").to_str().unwrap(),
    ]);
    assert!(
        run.stdout.contains(&format!("main.tf:{}:3`", f["line"])),
        "{}",
        run.stdout
    );

    // SARIF: the result sits at that line and column, relative to where it was run.
    let run = trailaudit([
        "iac",
        "--format",
        "sarif",
        dir.path().join("terraform/account").to_str().unwrap(),
    ]);
    let sarif = run.json();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "TA-MON-405")
        .unwrap();
    let region = &r["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], f["line"]);
    assert_eq!(region["startColumn"], 3);
    assert!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("terraform/account/main.tf")
    );
}

#[test]
fn cloudformation_filter_missing_stop_logging_fails_at_its_filter_pattern() {
    let dir = copy_fixtures();
    let t = dir.path().join("cloudformation/cis-monitoring.yaml");
    edit(&t, " || ($.eventName = StopLogging)", "");
    let (report, run) = iac_json(&[&t]);
    assert_eq!(run.code, 1);
    let f = &policy(&report, "TA-MON-405")["findings"][0];
    assert!(
        f["message"].as_str().unwrap().contains("StopLogging"),
        "{f}"
    );
    let text = std::fs::read_to_string(&t).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("FilterPattern: '{ ($.eventName = CreateTrail)"))
        .unwrap() as u64
        + 1;
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(line), Some(7))
    );
}

#[test]
fn broken_filters_fail_naming_what_they_miss_or_the_everyday_traffic_they_catch() {
    let dir = copy_fixtures();
    let filters = dir.path().join("terraform/account/filters.tf");
    // A typo that can never match a sign-in.
    edit(
        &filters,
        r#"($.eventName = \"ConsoleLogin\") && ($.additionalEventData"#,
        r#"($.eventName = \"ConsoleLogin1\") && ($.additionalEventData"#,
    );
    // An exact error code where AWS writes `Client.UnauthorizedOperation`.
    edit(
        &filters,
        r#"\"*UnauthorizedOperation\""#,
        r#"\"UnauthorizedOperation\""#,
    );
    // An eventSource that no KMS call has.
    edit(
        &filters,
        "eventSource = kms.amazonaws.com",
        "eventSource = kms.test.amazonaws.com",
    );
    // `||` where `&&` was meant: every IAM read counts.
    edit(
        &filters,
        "($.eventSource = iam.amazonaws.com) && (",
        "($.eventSource = iam.amazonaws.com) || (",
    );
    let (report, run) = iac_json(&[&dir.path().join("terraform/account")]);
    // These controls are medium: below the default --fail-on high, as for audit.
    assert_eq!(run.code, 0);
    let message = |id: &str| {
        let p = policy(&report, id);
        assert_eq!(p["status"], "fail", "{id}: {p}");
        p["findings"][0]["message"].as_str().unwrap().to_string()
    };
    let m = message("TA-MON-402");
    assert!(m.contains("ConsoleLogin"), "{m}");
    let m = message("TA-MON-401");
    assert!(
        m.contains("misses GetPasswordData") && m.contains("Client.UnauthorizedOperation"),
        "{m}"
    );
    let m = message("TA-MON-407");
    assert!(m.contains("DisableKey (kms.amazonaws.com)"), "{m}");
    let m = message("TA-MON-404");
    assert!(
        m.contains("everyday traffic") && m.contains("also matches"),
        "{m}"
    );
    let run = trailaudit([
        "iac",
        "--fail-on",
        "medium",
        dir.path().join("terraform/account").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    // Each finding points at the line where its pattern is written (the map entry).
    let f = &policy(&report, "TA-MON-402")["findings"][0];
    assert_eq!(f["line"], line_of(&filters, "ConsoleLogin1"));
    let f = &policy(&report, "TA-MON-407")["findings"][0];
    assert_eq!(f["line"], line_of(&filters, "DisableOrDeleteCMK"));
    let f = &policy(&report, "TA-MON-404")["findings"][0];
    assert_eq!(f["line"], line_of(&filters, "IAMPolicyChanges"));
    // The rest is unaffected.
    assert_eq!(policy(&report, "TA-MON-405")["status"], "pass");
}

#[test]
fn a_filter_on_a_variable_without_default_is_unresolved_with_its_file_and_line() {
    let dir = copy_fixtures();
    let main = dir.path().join("terraform/account/main.tf");
    let pattern_line = line_of(&main, "  pattern        = \"{ ($.eventName = CreateTrail)");
    let text = std::fs::read_to_string(&main).unwrap();
    let line = text
        .lines()
        .nth(pattern_line as usize - 1)
        .unwrap()
        .to_string();
    std::fs::write(
        &main,
        text.replace(&line, "  pattern        = var.trail_changes_pattern")
            + "\nvariable \"trail_changes_pattern\" {\n  type = string\n}\n",
    )
    .unwrap();
    let (report, run) = iac_json(&[&dir.path().join("terraform/account")]);
    // Not judged, not a violation, never guessed.
    assert_eq!(run.code, 0, "{}", run.stderr);
    let p = policy(&report, "TA-MON-405");
    assert_eq!(p["status"], "no_evidence", "{p}");
    let reason = p["reason"].as_str().unwrap();
    assert!(reason.starts_with("unresolved"), "{reason}");
    assert!(
        reason.contains(&format!("main.tf:{pattern_line}:3"))
            && reason.contains("trail_changes_pattern"),
        "{reason}"
    );
    let unresolved = report["inputs"]["iac"]["unresolved"].as_array().unwrap();
    assert!(
        unresolved.iter().any(|d| d["line"] == pattern_line
            && d["file"].as_str().unwrap().ends_with("main.tf")
            && d["message"].as_str().unwrap().contains("has no default")),
        "{unresolved:?}"
    );
    // The other controls do not depend on it.
    assert_eq!(
        statuses(&report).values().filter(|s| *s == "pass").count(),
        14
    );
    // The text says so too.
    let run = trailaudit([
        "iac",
        dir.path().join("terraform/account").to_str().unwrap(),
    ]);
    assert!(
        run.stdout.contains("UNRESOLVED TA-MON-405"),
        "{}",
        run.stdout
    );

    // A pattern left to apply time could be any filter, the KMS one included: a control that
    // another filter fails is then unresolved too, with what the templates say so far.
    let filters = dir.path().join("terraform/account/filters.tf");
    edit(
        &filters,
        "eventSource = kms.amazonaws.com",
        "eventSource = kms.test.amazonaws.com",
    );
    let (report, _) = iac_json(&[&dir.path().join("terraform/account")]);
    let p = policy(&report, "TA-MON-407");
    assert_eq!(p["status"], "no_evidence");
    assert!(
        p["warnings"][0].as_str().unwrap().contains("DisableKey"),
        "{p}"
    );
}

#[test]
fn a_broken_filter_fails_whatever_an_unrelated_unresolved_value_turns_out_to_be() {
    let dir = copy_fixtures();
    let main = dir.path().join("terraform/account/main.tf");
    // Whether the 4.5 alarm notifies is left to apply time...
    edit(
        &main,
        "  alarm_name          = \"cloudtrail-configuration-changes\"\n",
        "  alarm_name          = \"cloudtrail-configuration-changes\"\n  actions_enabled     = var.alarm_actions_enabled\n",
    );
    std::fs::write(
        &main,
        std::fs::read_to_string(&main).unwrap() + "\nvariable \"alarm_actions_enabled\" {}\n",
    )
    .unwrap();
    // ...and the KMS filter cannot match: no value of it makes 4.7 pass.
    edit(
        &dir.path().join("terraform/account/filters.tf"),
        "eventSource = kms.amazonaws.com",
        "eventSource = kms.test.amazonaws.com",
    );
    let (report, _) = iac_json(&[&dir.path().join("terraform/account")]);
    assert_eq!(policy(&report, "TA-MON-405")["status"], "no_evidence");
    let p = policy(&report, "TA-MON-407");
    assert_eq!(p["status"], "fail", "{p}");
    let f = &p["findings"][0];
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("cis-disableordeletecmk"),
        "{f}"
    );
}

#[test]
fn a_cloudformation_parameter_without_default_is_unresolved() {
    let dir = copy_fixtures();
    let t = dir.path().join("cloudformation/cis-monitoring.yaml");
    edit(
        &t,
        "  MetricNamespace:\n    Type: String\n    Default: CISBenchmark\n",
        "  MetricNamespace:\n    Type: String\n",
    );
    let (report, run) = iac_json(&[&t]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = statuses(&report);
    assert!(s.values().all(|v| v == "no_evidence"), "{s:?}");
    let reason = policy(&report, "TA-MON-401")["reason"].as_str().unwrap();
    assert!(
        reason.contains("parameter MetricNamespace has no Default"),
        "{reason}"
    );
}

#[test]
fn a_pattern_aws_would_refuse_is_an_error_at_its_line() {
    let dir = copy_fixtures();
    let main = dir.path().join("terraform/account/main.tf");
    edit(
        &main,
        "{ ($.eventName = CreateTrail)",
        "{ ($.eventName = CreateTrail",
    );
    let run = trailaudit([
        "iac",
        dir.path().join("terraform/account").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let line = line_of(&main, "  pattern        = \"{ ($.eventName = CreateTrail");
    assert!(
        run.stderr.contains(&format!("main.tf:{line}:3: metric filter cloudtrail-configuration-changes: AWS would refuse its pattern")),
        "{}",
        run.stderr
    );
}

/// The chain of an iac report's posture, written as the aws CLI (`scripts/collect-config.sh`)
/// writes an account's configuration: describe-trails, trail status, describe-metric-filters,
/// describe-alarms and the topics' subscriptions.
fn collected_account(report: &Value, root: &Path) {
    let account = "111122223333";
    let region = "us-east-1";
    let d = root.join(account).join(region);
    let mut trails = Vec::new();
    let mut filters = Vec::new();
    let mut alarms = Vec::new();
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for t in report["posture"].as_array().unwrap() {
        let name = t["Name"].as_str().unwrap();
        let m = &t["Monitoring"];
        let group = m["LogGroup"].as_str().unwrap();
        trails.push(json!({
            "Name": name,
            "TrailARN": format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}"),
            "HomeRegion": region,
            "IsMultiRegionTrail": t["IsMultiRegionTrail"],
            "CloudWatchLogsLogGroupArn": format!("arn:aws:logs:{region}:{account}:log-group:{group}:*"),
            "HasCustomEventSelectors": false
        }));
        write(
            &d.join(format!("cloudtrail/trail-status/{name}.json")),
            json!({"IsLogging": t["Status"]["IsLogging"]})
                .to_string()
                .as_bytes(),
        );
        for f in m["MetricFilters"].as_array().unwrap() {
            filters.push(json!({
                "filterName": f["FilterName"],
                "filterPattern": f["FilterPattern"],
                "logGroupName": group,
                "metricTransformations": [{"metricName": f["MetricName"], "metricNamespace": f["MetricNamespace"], "metricValue": "1"}]
            }));
            for a in f["Alarms"].as_array().unwrap() {
                let actions: Vec<String> = a["Topics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| {
                        let topic = t["TopicArn"]
                            .as_str()
                            .unwrap()
                            .rsplit(':')
                            .next()
                            .unwrap()
                            .to_string();
                        topics.insert(topic.clone(), t["ConfirmedSubscriptions"].as_u64().unwrap());
                        format!("arn:aws:sns:{region}:{account}:{topic}")
                    })
                    .collect();
                alarms.push(json!({
                    "AlarmName": a["AlarmName"],
                    "MetricName": f["MetricName"],
                    "Namespace": f["MetricNamespace"],
                    "ActionsEnabled": a["ActionsEnabled"],
                    "AlarmActions": actions,
                    "Statistic": "Sum", "Threshold": 1.0, "Period": 300, "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold"
                }));
            }
        }
    }
    write(
        &d.join("cloudtrail/describe-trails.json"),
        json!({ "trailList": trails }).to_string().as_bytes(),
    );
    write(
        &d.join("logs/describe-metric-filters.json"),
        json!({ "metricFilters": filters }).to_string().as_bytes(),
    );
    write(
        &d.join("cloudwatch/describe-alarms.json"),
        json!({"MetricAlarms": alarms, "CompositeAlarms": []})
            .to_string()
            .as_bytes(),
    );
    for (topic, confirmed) in topics {
        let arn = format!("arn:aws:sns:{region}:{account}:{topic}");
        let subs: Vec<Value> = (0..confirmed)
            .map(|i| json!({"SubscriptionArn": format!("{arn}:0000000{i}-aaaa"), "Protocol": "email", "Endpoint": "security@example.com", "TopicArn": arn}))
            .collect();
        write(
            &d.join(format!("sns/subscriptions/{topic}.json")),
            json!({ "Subscriptions": subs }).to_string().as_bytes(),
        );
    }
}

#[test]
fn verdicts_equal_audit_config_on_the_same_chain_collected_from_an_account() {
    let dir = copy_fixtures();
    let filters = dir.path().join("terraform/account/filters.tf");
    edit(
        &filters,
        r#"\"*UnauthorizedOperation\""#,
        r#"\"UnauthorizedOperation\""#,
    );
    edit(
        &filters,
        "eventSource = kms.amazonaws.com",
        "eventSource = kms.test.amazonaws.com",
    );
    edit(
        &filters,
        "($.eventSource = iam.amazonaws.com) && (",
        "($.eventSource = iam.amazonaws.com) || (",
    );
    edit(
        &dir.path().join("terraform/account/main.tf"),
        " || ($.eventName = StopLogging)",
        "",
    );
    let cases = [
        fixture("terraform/account"),
        fixture("cloudformation/cis-monitoring.yaml"),
        fixture("cloudformation-json/root-usage.json"),
        dir.path().join("terraform/account"),
    ];
    for case in cases {
        let (report, _) = iac_json(&[&case]);
        let from_templates = statuses(&report);
        // The posture holds the templates' own filters, as written.
        let posture_filters: usize = report["posture"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["Monitoring"]["MetricFilters"].as_array().unwrap().len())
            .sum();
        assert!(posture_filters >= 1, "{case:?}");
        let evidence = tempfile::tempdir().unwrap();
        collected_account(&report, evidence.path());
        let run = trailaudit([
            "audit",
            "--config",
            evidence.path().to_str().unwrap(),
            "--format",
            "json",
            "--allow-partial",
        ]);
        let audited = statuses(&run.json());
        assert_eq!(from_templates, audited, "{case:?}: {}", run.stderr);
        // The failures say the same thing.
        let audit_report = run.json();
        for (id, status) in &from_templates {
            if status == "fail" {
                let a = policy(&report, id)["findings"][0]["message"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let b = policy(&audit_report, id)["findings"][0]["message"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert_eq!(a, b, "{case:?} {id}");
            }
        }
    }
}

#[test]
fn framework_and_fail_on_behave_as_audits() {
    let dir = copy_fixtures();
    edit(
        &dir.path().join("terraform/account/main.tf"),
        " || ($.eventName = StopLogging)",
        "",
    );
    let path = dir.path().join("terraform/account");
    let run = trailaudit(["iac", "--fail-on", "never", path.to_str().unwrap()]);
    assert_eq!(run.code, 0);
    let run = trailaudit(["iac", "--fail-on", "critical", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "TA-MON-405 is high");
    let run = trailaudit([
        "iac",
        "--format",
        "json",
        "--framework",
        "pci-dss-v4.0",
        path.to_str().unwrap(),
    ]);
    let report = run.json();
    assert_eq!(report["scope"]["framework"], "pci-dss-v4.0");
    assert!(report["summary"]["frameworks"]
        .get("cis-aws-v3.0")
        .is_none());
    let run = trailaudit(["iac", "--framework", "nope", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    let run = trailaudit(["iac", "/no/such/dir"]);
    assert_eq!(run.code, 2);
}
