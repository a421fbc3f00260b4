//! Reports for people and CI: Markdown, SARIF, JUnit; escaping of attacker-controlled text;
//! rendering a saved JSON report.

mod common;

use common::*;
use serde_json::Value;

fn evil_evidence(dir: &std::path::Path) {
    let mut r = record(
        "2024-07-31T13:10:00Z",
        "111122223333",
        "us-east-1",
        "GetObject",
    );
    r["errorCode"] = Value::String("AccessDenied".into());
    r["userAgent"] = Value::String("<script>alert(1)</script>".into());
    r["userIdentity"]["arn"] =
        Value::String("arn:aws:iam::111122223333:user/<script>alert(1)</script>{{x}}|\"q\"".into());
    r["requestParameters"] = serde_json::json!({"bucketName": "{{x}}"});
    write(&dir.join("logs/evil.json"), &envelope(&[r]));
}

#[test]
fn every_format_is_written_and_escapes_record_text() {
    let dir = tempfile::tempdir().unwrap();
    evil_evidence(dir.path());
    let out = dir.path().join("out");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        dir.path().join("logs").as_os_str(),
        "--format".as_ref(),
        "json,md,sarif,junit,text".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "--fail-on".as_ref(),
        "critical".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();

    let md = read("report.md");
    assert!(md.contains("TA-EVT-401"), "{md}");
    assert!(
        !md.contains("<script>") && md.contains("&lt;script&gt;"),
        "{md}"
    );
    assert!(
        !md.contains("{{x}}") && md.contains("\\{\\{x\\}\\}"),
        "{md}"
    );

    let sarif: Value = serde_json::from_str(&read("report.sarif")).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let report: Value = serde_json::from_str(&read("report.json")).unwrap();
    let policies = report["policies"].as_array().unwrap();
    let run0 = &sarif["runs"][0];
    assert_eq!(
        run0["tool"]["driver"]["rules"].as_array().unwrap().len(),
        policies.len()
    );
    let findings: usize = policies
        .iter()
        .filter(|p| p["status"] == "fail")
        .map(|p| p["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(run0["results"].as_array().unwrap().len(), findings);
    for result in run0["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run0["tool"]["driver"]["rules"][index]["id"],
            result["ruleId"]
        );
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
    }

    let xml = read("report.junit.xml");
    let doc = roxmltree::Document::parse(&xml)
        .unwrap_or_else(|e| panic!("JUnit is not well-formed XML: {e}\n{xml}"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), policies.len());
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(
        failures,
        policies.iter().filter(|p| p["status"] == "fail").count()
    );
    let failure_text: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        failure_text.contains("<script>alert(1)</script>{{x}}"),
        "the XML carries the text, escaped: {failure_text}"
    );
    assert!(!xml.contains("<script>"));

    let text = read("report.txt");
    assert!(text.contains("TA-EVT-401"));
}

#[test]
fn a_saved_report_renders_like_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fresh");
    let run = trailaudit([
        "audit".as_ref(),
        "--format".as_ref(),
        "json,md,sarif,junit".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let again = dir.path().join("again");
    let rendered = trailaudit([
        "report".as_ref(),
        out.join("report.json").as_os_str(),
        "--format".as_ref(),
        "json,md,sarif,junit".as_ref(),
        "-o".as_ref(),
        again.as_os_str(),
    ]);
    assert_eq!(rendered.code, 0, "{}", rendered.stderr);
    for name in [
        "report.json",
        "report.md",
        "report.sarif",
        "report.junit.xml",
    ] {
        assert_eq!(
            std::fs::read_to_string(out.join(name)).unwrap(),
            std::fs::read_to_string(again.join(name)).unwrap(),
            "{name}"
        );
    }
    let bad = trailaudit([
        "report".as_ref(),
        dir.path().join("missing.json").as_os_str(),
    ]);
    assert_eq!(bad.code, 2);
}

#[test]
fn several_formats_need_a_directory_and_templates_can_be_replaced() {
    let run = trailaudit(["audit", "--format", "md,json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("several formats need -o DIR"),
        "{}",
        run.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("report.md.hbs"),
        b"ACME audit: {{summary.by_status.fail}} failing\n",
    );
    let md = trailaudit([
        "audit".as_ref(),
        "--format".as_ref(),
        "md".as_ref(),
        "--templates".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(md.stdout.starts_with("ACME audit: "), "{}", md.stdout);
}

#[test]
fn the_manifest_fingerprints_every_input() {
    let run = trailaudit(["audit", "--format", "json"]);
    let report = run.json();
    let manifest = &report["manifest"];
    let inputs = manifest["inputs"].as_array().unwrap();
    let logs = report["inputs"]["logs"]["files"].as_u64().unwrap();
    let config = report["inputs"]["config"]["files"].as_u64().unwrap();
    assert_eq!(inputs.len() as u64, logs + config);
    for entry in inputs.iter().step_by(97) {
        let path = entry["path"].as_str().unwrap();
        let out = std::process::Command::new("sha256sum")
            .arg(path)
            .output()
            .expect("sha256sum");
        let expected = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        assert_eq!(entry["sha256"].as_str(), Some(expected.as_str()), "{path}");
        assert_eq!(
            entry["bytes"].as_u64(),
            Some(std::fs::metadata(path).unwrap().len())
        );
    }
    assert_eq!(manifest["policies"].as_array().unwrap().len(), 54);
    let digest = manifest["policy_set_sha256"].as_str().unwrap();
    assert!(digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(manifest["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "audit"));
    // The same inputs and policies give the same fingerprints.
    let again = trailaudit(["audit", "--format", "json"]).json();
    assert_eq!(
        again["manifest"]["policy_set_sha256"],
        manifest["policy_set_sha256"]
    );
    assert_eq!(again["manifest"]["inputs"], manifest["inputs"]);
}
