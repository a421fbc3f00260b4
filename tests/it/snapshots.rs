//! Snapshot tests (insta) of the JSON report and the Markdown: a change to the report model or
//! the templates shows up as a reviewable diff. Volatile values (temporary paths, the command
//! line, the tool version) are redacted.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test -- snapshots::`, then review
//! the `.snap` files' diff before committing.

use crate::common;

use common::*;
use serde_json::Value;

/// Two denied calls by two principals, one with markup in its text, and a waiver for one.
fn small_evidence(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut a = record(
        "2024-07-31T13:10:00Z",
        "111122223333",
        "us-east-1",
        "GetObject",
    );
    a["eventSource"] = Value::String("s3.amazonaws.com".into());
    a["errorCode"] = Value::String("AccessDenied".into());
    a["userAgent"] = Value::String("<script>alert(1)</script>".into());
    a["userIdentity"]["arn"] = Value::String("arn:aws:iam::111122223333:user/mallory".into());
    a["requestParameters"] = serde_json::json!({"bucketName": "{{x}}", "key": "a|b"});
    let mut b = record(
        "2024-07-31T14:00:00Z",
        "111122223333",
        "eu-west-1",
        "RunInstances",
    );
    b["errorCode"] = Value::String("Client.UnauthorizedOperation".into());
    b["userIdentity"]["arn"] = Value::String("arn:aws:iam::111122223333:user/ci-probe".into());
    let logs = write(&dir.join("logs/small.json"), &envelope(&[a, b]));
    let waivers = write(
        &dir.join("waivers.toml"),
        br#"
[[waiver]]
id = "W-1"
policy = "TA-EVT-401"
principal = "arn:aws:iam::*:user/ci-*"
reason = "The CI role probes its permissions by design"
owner = "platform@example.com"
ticket = "PLAT-7"
expires = 2999-12-31
"#,
    );
    (logs, waivers)
}

fn audit(dir: &std::path::Path, format: &str) -> String {
    let (logs, waivers) = small_evidence(dir);
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--config".as_ref(),
        "samples/config".as_ref(),
        "--waivers".as_ref(),
        waivers.as_os_str(),
        "--fail-on".as_ref(),
        "critical".as_ref(),
        "--format".as_ref(),
        format.as_ref(),
    ]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    run.stdout
}

#[test]
fn json_report() {
    let dir = tempfile::tempdir().unwrap();
    let report: Value = serde_json::from_str(&audit(dir.path(), "json")).unwrap();
    insta::assert_json_snapshot!("json_report", report, {
        ".tool.version" => "[version]",
        ".tool.commit" => "[commit]",
        ".generated_at" => "[generated_at]",
        ".manifest.file.sha256" => "[depends on the paths]",
        ".manifest.tool_version" => "[version]",
        ".manifest.command_line" => "[command line]",
        ".manifest.inputs[].path" => "[path]",
        ".inputs.logs.paths" => "[paths]",
        ".policies[].findings[].evidence[].file" => "[path]",
    });
}

/// A report with its time of generation and the build's version and commit redacted.
fn stamped(text: &str) -> String {
    let report_line = regex::Regex::new(
        r"Generated \S+ by trailaudit \S+( \(commit `(?:[0-9a-f]{40}|unknown)`\))?",
    )
    .unwrap();
    report_line
        .replace_all(text, "Generated [time] by trailaudit [version] [commit]")
        .into_owned()
}

#[test]
fn markdown_report() {
    let dir = tempfile::tempdir().unwrap();
    let md = audit(dir.path(), "md");
    insta::assert_snapshot!("markdown_report", stamped(&md));
}

#[test]
fn markdown_report_of_the_samples() {
    let run = trailaudit([
        "audit",
        "--logs",
        SAMPLE_LOGS,
        "--config",
        SAMPLE_CONFIG,
        "--quiet",
        "--format",
        "md",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!("markdown_samples", stamped(&run.stdout));
}
