//! Every verdict rests on evidence an assessor would accept: no pass over no records, controls
//! decided by what decides them, baselines that see new events.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn samples(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(sub)
}

fn audit(args: &[&std::ffi::OsStr]) -> Run {
    let mut all: Vec<&std::ffi::OsStr> = vec!["audit".as_ref()];
    all.extend_from_slice(args);
    all.extend([
        std::ffi::OsStr::new("--format"),
        std::ffi::OsStr::new("json"),
    ]);
    trailaudit(all)
}

fn statuses_of_kind<'a>(report: &'a Value, kind: &str) -> Vec<&'a str> {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == kind)
        .map(|p| p["status"].as_str().unwrap())
        .collect()
}

#[test]
fn no_event_evidence_is_no_pass_and_exits_2() {
    let empty = tempfile::tempdir().unwrap();
    let config = samples("config");
    let run = audit(&[
        "--logs".as_ref(),
        empty.path().as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("the event history holds no record"),
        "{}",
        run.stderr
    );
    let report = run.json();
    let events = statuses_of_kind(&report, "event");
    assert!(!events.is_empty());
    assert!(events.iter().all(|s| *s == "no_evidence"), "{events:?}");
    assert_eq!(
        report["summary"]["by_status"]["no_evidence"]
            .as_u64()
            .unwrap() as usize,
        events.len() + 2,
        "the event policies and both integrity policies"
    );
    assert_eq!(
        report["inputs"]["shortfalls"][0],
        "the event history holds no record"
    );

    // SARIF says it too, as the run's notifications (a consumer of results alone would see
    // no finding and think all is well).
    let sarif = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        empty.path().as_os_str(),
        "--format".as_ref(),
        "sarif".as_ref(),
    ])
    .json();
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notes.iter().any(|n| n["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("partial evidence: the event history holds no record")));
    assert!(notes
        .iter()
        .any(|n| n["associatedRule"]["id"] == "TA-EVT-401"
            && n["message"]["text"]
                .as_str()
                .unwrap()
                .contains("no evidence")));

    // Accepted as partial, the configuration verdicts decide the exit.
    let run = audit(&[
        "--logs".as_ref(),
        empty.path().as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--allow-partial".as_ref(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn a_window_outside_the_evidence_is_no_pass() {
    let logs = samples("logs");
    // The samples end on 2026-09-30.
    let run = audit(&[
        "--logs".as_ref(),
        logs.as_os_str(),
        "--from".as_ref(),
        "2026-10-01".as_ref(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert!(statuses_of_kind(&report, "event")
        .iter()
        .all(|s| *s == "no_evidence"));
    assert_eq!(
        report["inputs"]["shortfalls"][0],
        "no record of the event history falls in the requested window"
    );
    let p = policy(&report, "TA-EVT-401");
    assert_eq!(p["judged_on"]["records"], 0);
    assert_eq!(
        p["reason"],
        "no record of the event history falls in the requested window"
    );
}

#[test]
fn a_window_partly_covered_names_its_uncovered_days() {
    let logs = samples("logs");
    let run = audit(&[
        "--logs".as_ref(),
        logs.as_os_str(),
        "--from".as_ref(),
        "2026-06-25".as_ref(),
        "--to".as_ref(),
        "2026-07-05".as_ref(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        report["inputs"]["shortfalls"][0],
        "the window starts 2026-06-25 but the first record in it is of 2026-07-01"
    );
    let uncovered = report["scope"]["uncovered"].as_array().unwrap();
    // Every account and region of the samples starts on 2026-07-01.
    assert_eq!(uncovered.len(), 9, "{uncovered:#?}");
    for u in uncovered {
        assert_eq!(u["first"], "2026-06-25");
        assert_eq!(u["last"], "2026-06-30");
        assert_eq!(u["days"], 6);
    }
    // Event policies say what they were judged on.
    let basis = &policy(&report, "TA-EVT-401")["judged_on"];
    assert_eq!(
        basis["records"],
        report["inputs"]["logs"]["events_in_scope"]
    );
    assert_eq!(basis["accounts"], 3);
    assert_eq!(basis["regions"], 3);
    assert!(basis["from"].as_str().unwrap().starts_with("2026-07-01"));
    assert!(basis["to"].as_str().unwrap().starts_with("2026-07-05"));

    // The whole evidence period is covered: no shortfall.
    let run = audit(&[
        "--logs".as_ref(),
        logs.as_os_str(),
        "--from".as_ref(),
        "2026-07-01".as_ref(),
        "--to".as_ref(),
        "2026-09-30".as_ref(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.json()["inputs"].get("shortfalls").is_none());
}

/// Copies `from` (recursively) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_policy_that_judged_only_some_trails_is_incomplete() {
    // The samples without the evidence of prod-legacy's bucket: of the three trails, only the
    // organization trail's bucket can be judged (dev-trail's evidence is missing already).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    copy_dir(&samples("config"), &config);
    std::fs::remove_dir_all(config.join("210987654321/global/s3")).unwrap();
    let run = audit(&[
        "--logs".as_ref(),
        samples("logs").as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let report = run.json();
    let p = policy(&report, "TA-CFG-009");
    assert_eq!(p["status"], "incomplete", "{p:#}");
    assert_eq!(p["judged_on"]["resources"], 1);
    assert_eq!(p["judged_on"]["not_judged"].as_array().unwrap().len(), 2);
    assert!(p["reason"]
        .as_str()
        .unwrap()
        .starts_with("1 judged, 2 not judged"));
    // CIS has no control for it; Security Hub CloudTrail.6 is decided by TA-CFG-009 alone.
    let hub = report["summary"]["frameworks"]["aws-fsbp"]
        .as_array()
        .unwrap();
    let row = hub.iter().find(|r| r["control"] == "CloudTrail.6").unwrap();
    assert_eq!(row["status"], "incomplete");
    // Without digests, nothing proves the log files unmodified.
    assert_eq!(policy(&report, "TA-INT-001")["status"], "no_evidence");
    // A trail without a KMS key has no key to rotate: not a trail TA-CFG-013 could not judge.
    let rotation = policy(&report, "TA-CFG-013");
    assert_eq!(rotation["status"], "pass", "{rotation:#}");
    assert!(rotation.get("warnings").is_none(), "{rotation:#}");
}

#[test]
fn controls_are_decided_by_configuration_not_by_captured_activity() {
    let run = audit(&[
        "--logs".as_ref(),
        samples("logs").as_os_str(),
        "--config".as_ref(),
        samples("config").as_os_str(),
    ]);
    let report = run.json();
    let frameworks = &report["summary"]["frameworks"];
    let row = |key: &str, control: &str| -> Value {
        frameworks[key]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["control"] == control)
            .unwrap_or_else(|| panic!("{key} {control}"))
            .clone()
    };
    // CIS 4.6/4.7/4.8 and Security Hub CloudWatch.6/.7/.8 rest on the same filters.
    for (cis, hub) in [
        ("4.6", "CloudWatch.6"),
        ("4.7", "CloudWatch.7"),
        ("4.8", "CloudWatch.8"),
    ] {
        assert_eq!(
            row("cis-aws-v3.0", cis)["status"],
            row("aws-fsbp", hub)["status"],
            "{cis} vs {hub}"
        );
    }
    // The console authentication failures the samples hold are activity under 4.6, listed and
    // counted; the control passes on its monitoring chain.
    let r46 = row("cis-aws-v3.0", "4.6");
    assert_eq!(r46["status"], "pass");
    assert_eq!(r46["decided_by"], serde_json::json!(["TA-MON-406"]));
    let activity = r46["activity"].as_array().unwrap();
    assert_eq!(activity[0]["policy"], "TA-EVT-406");
    assert!(activity[0]["findings"].as_u64().unwrap() > 0, "{r46:#}");
    assert_eq!(policy(&report, "TA-EVT-406")["status"], "fail");
    // Every row: decided by non-event policies only, activity by event policies only, and the
    // status follows the deciding policies alone.
    let kind = |id: &Value| -> String {
        policy(&report, id.as_str().unwrap())["kind"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (_, rows) in frameworks.as_object().unwrap() {
        for r in rows.as_array().unwrap() {
            for d in r["decided_by"].as_array().unwrap() {
                assert_ne!(kind(d), "event", "{r:#}");
            }
            for a in r["activity"].as_array().unwrap() {
                assert_eq!(kind(&a["policy"]), "event", "{r:#}");
            }
            let deciding: Vec<&str> = r["decided_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    policy(&report, d.as_str().unwrap())["status"]
                        .as_str()
                        .unwrap()
                })
                .collect();
            if deciding.is_empty() {
                assert_eq!(r["status"], "manual", "{r:#}");
            } else if r["status"] == "fail" {
                assert!(deciding.contains(&"fail"), "{r:#}");
            }
        }
    }
    // PCI 10.2.1.4 ("logs capture invalid access attempts") is decided by the logging
    // configuration; the captured attempts are activity under it.
    let r = row("pci-dss-v4.0", "10.2.1.4");
    assert!(r["decided_by"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("TA-CFG-001")));
}

/// A root console sign-in without MFA at `time`, as one log file under `dir`.
fn root_sign_in(dir: &Path, time: &str, event_id: &str) -> PathBuf {
    let mut r = record(time, "210987654321", "us-east-1", "ConsoleLogin");
    r["eventSource"] = "signin.amazonaws.com".into();
    r["eventType"] = "AwsConsoleSignIn".into();
    r["eventID"] = event_id.into();
    r["userIdentity"] = serde_json::json!({
        "type": "Root", "arn": "arn:aws:iam::210987654321:root", "accountId": "210987654321",
        "principalId": "210987654321"
    });
    r["additionalEventData"] = serde_json::json!({"MFAUsed": "No"});
    r["responseElements"] = serde_json::json!({"ConsoleLogin": "Success"});
    let path = dir.join(format!("{event_id}.json"));
    write(&path, &envelope(&[r]));
    path
}

#[test]
fn a_baseline_sees_new_events_of_a_known_finding() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    root_sign_in(&logs, "2026-07-01T10:00:00Z", "e-1");
    let baseline = dir.path().join("baseline.json");
    let run = |baseline_arg: Option<&Path>| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--logs".as_ref(),
            logs.as_os_str(),
            "--fail-on".as_ref(),
            "medium".as_ref(),
            "--allow-partial".as_ref(),
        ];
        if let Some(b) = baseline_arg {
            args.extend([std::ffi::OsStr::new("--baseline"), b.as_os_str()]);
        }
        audit(&args)
    };
    let first = run(None);
    assert_eq!(first.code, 1, "{}", first.stderr);
    std::fs::write(&baseline, &first.stdout).unwrap();
    let again = run(Some(&baseline));
    assert_eq!(again.code, 0, "the same evidence: {}", again.stderr);

    // Weeks later the same root user signs in without MFA again: the finding has the same
    // policy, account, region and resource, but an event the baseline did not have.
    root_sign_in(&logs, "2026-08-20T09:00:00Z", "e-2");
    let later = run(Some(&baseline));
    assert_eq!(
        later.code, 1,
        "a new incident must fail the run: {}",
        later.stdout
    );
    let report = later.json();
    let finding = &policy(&report, "TA-EVT-402")["findings"][0];
    assert_eq!(finding["baseline"], "new", "{finding:#}");
    assert_eq!(finding["event_total"], 2);
}

#[test]
fn evidence_paths_are_classified_by_content() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let positional = audit(&[root.as_os_str()]);
    let explicit = audit(&[
        "--logs".as_ref(),
        samples("logs").as_os_str(),
        "--config".as_ref(),
        samples("config").as_os_str(),
    ]);
    assert_eq!(positional.code, 1, "{}", positional.stderr);
    assert_eq!(explicit.code, 1);
    let settle = |run: &Run| {
        let mut v = run.json();
        v["manifest"]["command_line"] = Value::Null;
        v["generated_at"] = Value::Null;
        v["inputs"].as_object_mut().unwrap().remove("ignored");
        v
    };
    assert_eq!(settle(&positional), settle(&explicit));
    let report = positional.json();
    assert_eq!(
        report["inputs"]["logs"]["paths"][0],
        samples("logs").to_str().unwrap()
    );
    assert_eq!(
        report["inputs"]["config"]["paths"][0],
        samples("config").to_str().unwrap()
    );
    let ignored = report["inputs"]["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 1);
    assert!(ignored[0]["path"].as_str().unwrap().ends_with("README.md"));

    // Positional paths and the flags together: each path read once, as what it is.
    let mixed = audit(&[
        samples("logs").as_os_str(),
        "--config".as_ref(),
        samples("config").as_os_str(),
    ]);
    assert_eq!(settle(&mixed), settle(&explicit));
}

#[test]
fn every_run_prints_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    // Reports written to a directory: the verdict goes to stdout.
    let run = trailaudit([
        "audit".as_ref(),
        root.as_os_str(),
        "--format".as_ref(),
        "json,html".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("60 policies: 45 fail, 14 pass, 0 not applicable, 1 no evidence"),
        "{}",
        run.stdout
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("cis-aws-v3.0: 25 controls: ")));
    // Failures first, most severe first; passes only counted.
    let statuses: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("FAIL ") || l.starts_with("NO-EV") || l.starts_with("pass "))
        .map(|l| &l[..5])
        .collect();
    assert_eq!(statuses.first(), Some(&"FAIL "));
    assert!(!statuses.contains(&"pass "));
    let first = lines.iter().find(|l| l.starts_with("FAIL ")).unwrap();
    assert!(first.contains("critical"), "{first}");
    assert!(run
        .stdout
        .contains("... and 14 policies that pass or do not apply"));
    assert!(!run.stdout.contains('\u{1b}'), "no colour when piped");
    // JSON on stdout: the verdict goes to stderr, the JSON stays parseable.
    let run = trailaudit([
        "audit".as_ref(),
        root.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(
        run.stderr.contains("60 policies: 45 fail"),
        "{}",
        run.stderr
    );
    let _ = run.json();
}

#[test]
fn every_sarif_result_points_at_a_file_under_the_evidence() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let run = trailaudit([
        "audit".as_ref(),
        root.as_os_str(),
        "--format".as_ref(),
        "sarif".as_ref(),
    ]);
    let sarif = run.json();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 100);
    let bases = sarif["runs"][0]["originalUriBaseIds"].as_object().unwrap();
    for r in results {
        // GitHub takes at most 1,000 locations a result: each has its one.
        assert_eq!(r["locations"].as_array().unwrap().len(), 1, "{r:#}");
        let artifact = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        let base = artifact["uriBaseId"]
            .as_str()
            .unwrap_or_else(|| panic!("{r:#}"));
        assert!(bases.contains_key(base), "{base}");
        let uri = artifact["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/') && !uri.contains("://"), "{uri}");
    }
    // A configuration finding points at the file that shows its value.
    let cfg = results
        .iter()
        .find(|r| r["ruleId"] == "TA-CFG-007")
        .unwrap();
    assert_eq!(
        cfg["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "210987654321/us-east-1/cloudtrail/trail-status/prod-legacy.json"
    );
    // A region, where there is one, is the line that shows the value (or names the trail
    // whose value is not set), in that trail's own object of a file that holds several.
    // The file an artifact location names: its URI against its base's.
    let file_of = |artifact: &Value| -> std::path::PathBuf {
        let base = bases[artifact["uriBaseId"].as_str().unwrap()]["uri"]
            .as_str()
            .unwrap();
        url::Url::parse(base)
            .unwrap()
            .join(artifact["uri"].as_str().unwrap())
            .unwrap()
            .to_file_path()
            .unwrap()
    };
    let line_of = |r: &Value| -> Option<String> {
        let location = &r["locations"][0]["physicalLocation"];
        // Event findings' regions are checked below, in their files' content.
        if location["region"]["byteOffset"].is_u64() {
            return None;
        }
        let line = location["region"]["startLine"].as_u64()? as usize;
        let text = std::fs::read_to_string(file_of(&location["artifactLocation"])).unwrap();
        Some(text.lines().nth(line - 1).unwrap().trim().to_string())
    };
    let with_region: Vec<&Value> = results.iter().filter(|r| line_of(r).is_some()).collect();
    assert!(with_region.len() >= 10, "{}", with_region.len());
    let line = |rule: &str, account: &str| {
        let r = with_region
            .iter()
            .find(|r| r["ruleId"] == rule && r["properties"]["account"] == account)
            .unwrap_or_else(|| panic!("{rule} {account} has a region"));
        line_of(r).unwrap()
    };
    assert_eq!(line("TA-CFG-007", "210987654321"), "\"IsLogging\": false,");
    assert_eq!(
        line("TA-CFG-008", "210987654321"),
        "\"LatestDeliveryError\": \"AccessDenied\""
    );
    // prod-legacy is the second trail of its file; the first validates its logs.
    assert_eq!(
        line("TA-CFG-002", "210987654321"),
        "\"LogFileValidationEnabled\": false,"
    );
    // KmsKeyId is not set: the line that names the trail.
    assert_eq!(
        line("TA-CFG-003", "210987654321"),
        "\"Name\": \"prod-legacy\","
    );
    for r in with_region {
        assert!(line_of(r).unwrap().starts_with('"'), "{r:#}");
    }
    // An event finding's region is its first evidence event's record, in the content of its
    // log file (gunzipped: a nested artifact of the file).
    let report = audit(&[root.as_os_str()]).json();
    let mut checked = 0;
    for r in results {
        let location = &r["locations"][0]["physicalLocation"];
        let Some(offset) = location["region"]["byteOffset"].as_u64() else {
            continue;
        };
        let length = location["region"]["byteLength"].as_u64().unwrap() as usize;
        let artifact = &location["artifactLocation"];
        let stored = std::fs::read(file_of(artifact)).unwrap();
        let content = match artifact["index"].as_u64() {
            None => stored,
            Some(i) => {
                let nested = &sarif["runs"][0]["artifacts"][i as usize];
                assert_eq!(
                    nested["description"]["text"], "the gzip-decompressed content of its parent",
                    "{nested:#}"
                );
                let mut out = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::MultiGzDecoder::new(&stored[..]),
                    &mut out,
                )
                .unwrap();
                out
            }
        };
        let bytes = &content[offset as usize..][..length];
        let record: Value = serde_json::from_slice(bytes).unwrap();
        let line = 1 + content[..offset as usize]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        assert_eq!(location["region"]["startLine"], line, "{r:#}");
        // The result's evidence event in the JSON report is that record.
        let finding = report["policies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["id"] == r["ruleId"])
            .flat_map(|p| p["findings"].as_array().unwrap())
            .find(|f| {
                f["account"] == r["properties"]["account"]
                    && f["evidence"][0]["offset"] == offset
                    && f["event_ids"] == r["properties"]["eventIds"]
            })
            .unwrap_or_else(|| panic!("no finding for {r:#}"));
        assert_eq!(
            record["eventID"], finding["evidence"][0]["event_id"],
            "{r:#}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "{checked} event results with a region");
}

#[test]
fn sarif_keeps_within_github_limits() {
    // The samples' report with one policy's finding repeated past GitHub's 25,000 results.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut report = audit(&[root.as_os_str()]).json();
    let policies = report["policies"].as_array_mut().unwrap();
    let p = policies
        .iter_mut()
        .find(|p| p["id"] == "TA-EVT-401")
        .unwrap();
    let one = p["findings"][0].clone();
    p["findings"] = Value::Array(vec![one; 26_000]);
    let report: trailaudit::report::Report = trailaudit::report::read(&report.to_string()).unwrap();
    let sarif = trailaudit::report::render::sarif(&report);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), trailaudit::report::render::SARIF_MAX_RESULTS);
    // The most severe are kept.
    assert!(results.iter().any(|r| r["ruleId"] == "TA-EVT-503"));
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notes.iter().any(|n| n["message"]["text"]
        .as_str()
        .unwrap()
        .contains("results left out: GitHub code scanning accepts at most 25000")));
    for r in results {
        assert!(r["locations"].as_array().unwrap().len() <= 1000);
    }
}

#[test]
fn a_framework_narrows_the_whole_report_and_tables_read_by_severity() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let report = audit(&[
        root.as_os_str(),
        "--framework".as_ref(),
        "cis-aws-v3.0".as_ref(),
    ])
    .json();
    let keys: Vec<&String> = report["summary"]["frameworks"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["cis-aws-v3.0"]);
    let rank = |s: &str| {
        ["critical", "high", "medium", "low", "info"]
            .iter()
            .position(|x| *x == s)
    };
    let order: Vec<(usize, String)> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                rank(p["severity"].as_str().unwrap()).unwrap(),
                p["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}
