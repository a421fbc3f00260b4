//! Configuration evidence: errors that are facts, errors that are gaps, unrecognised files.

use crate::common;

use common::*;
use trailaudit::synth::config::{self, ConfigSpec};

#[test]
fn collection_errors_are_facts_or_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ConfigSpec::compliant("111122223333");
    config::write(&spec, dir.path()).unwrap();
    let bucket = dir
        .path()
        .join("111122223333/global/s3")
        .join(&spec.buckets[0].name);
    // No bucket policy is an answer, not a gap.
    std::fs::remove_file(bucket.join("bucket-policy.json")).unwrap();
    write(
        &bucket.join("bucket-policy.error.json"),
        br#"{"trailauditCollectionError":{"operation":"aws s3api get-bucket-policy","code":"NoSuchBucketPolicy","message":"An error occurred (NoSuchBucketPolicy)"}}"#,
    );
    let run = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["posture"][0]["Bucket"]["PublicPolicy"], false);
    assert_eq!(report["inputs"]["partial"], false);

    // AccessDenied on describe-alarms is a gap: the evidence is partial.
    let alarms = dir
        .path()
        .join("111122223333/us-east-1/cloudwatch/describe-alarms.json");
    std::fs::remove_file(&alarms).unwrap();
    write(
        &alarms.with_file_name("describe-alarms.error.json"),
        br#"{"trailauditCollectionError":{"operation":"aws cloudwatch describe-alarms","code":"AccessDenied","message":"User is not authorized"}}"#,
    );
    let run = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 2, "partial evidence");
    let report = run.json();
    assert_eq!(
        report["inputs"]["config"]["collection_gaps"][0]["code"],
        "AccessDenied"
    );
    assert_eq!(report["inputs"]["partial"], true);
    let allowed = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.path().as_os_str(),
        "--allow-partial".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(allowed.code, 1, "monitoring now fails: no alarms were seen");
}

#[test]
fn unrecognised_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    config::write(&ConfigSpec::compliant("111122223333"), dir.path()).unwrap();
    write(
        &dir.path().join("111122223333/us-east-1/notes.json"),
        br#"{"hello":"world"}"#,
    );
    write(&dir.path().join("111122223333/us-east-1/broken.json"), b"{");
    let run = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 2);
    let failed = run.json()["inputs"]["config"]["failed_files"].clone();
    let text = failed.to_string();
    assert!(
        text.contains("notes.json")
            && text.contains("not a recognised aws CLI output (keys: hello)"),
        "{text}"
    );
    assert!(
        text.contains("broken.json") && text.contains("invalid JSON"),
        "{text}"
    );
}

#[test]
fn cli_v1_epoch_times_are_normalised() {
    let dir = tempfile::tempdir().unwrap();
    config::write(&ConfigSpec::compliant("111122223333"), dir.path()).unwrap();
    let status = dir
        .path()
        .join("111122223333/us-east-1/cloudtrail/trail-status/main.json");
    write(&status, br#"{"IsLogging": true, "LatestDeliveryTime": 1727740691.412, "StartLoggingTime": 1704445964.1}"#);
    let report = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .json();
    assert_eq!(
        report["posture"][0]["Status"]["LatestDeliveryTime"],
        "2024-09-30T23:58:11Z"
    );
}
