//! Event findings say whether the change happened: a call AWS refused (it has an
//! `errorCode`) is an attempt, counted as the CIS metric filter counts it but never reported,
//! nor judged, as the change. Labelled events from panther-analysis (Apache-2.0; provenance
//! and licence in tests/fixtures/README.md).

use crate::common;

use common::*;
use serde_json::Value;

/// The event of panther's test case `name`.
fn panther(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("panther-cloudtrail-tests.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|c| c["test_name"] == name)
        .unwrap_or_else(|| panic!("no panther case {name:?}"))["event"]
        .clone()
}

fn audit_of(events: &[Value]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("events.json"), &envelope(events));
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--fail-on".as_ref(),
        "info".as_ref(),
    ]);
    assert!(matches!(run.code, 0 | 1), "{}", run.stderr);
    run.json()
}

#[test]
fn refused_calls_are_attempts_not_changes() {
    for (case, policy_id, code) in [
        (
            "Error Creating CloudTrail",
            "TA-EVT-405",
            "CloudTrailInvalidClientTokenIdException",
        ),
        ("IAM Policy Change Error", "TA-EVT-404", "NoSuchEntity"),
        ("KMS Disable Key Error", "TA-EVT-407", "NotFoundException"),
        (
            "Error Deleting Config Recorder",
            "TA-EVT-409",
            "NoSuchDeliveryChannelException",
        ),
        (
            "AWS Console - Ingress SG Authorization Error",
            "TA-EVT-410",
            "UnauthorizedOperation",
        ),
    ] {
        let report = audit_of(&[panther(case)]);
        let p = policy(&report, policy_id);
        // Counted as the metric filter counts it...
        assert_eq!(p["matched_events"], 1, "{case}: {p:#}");
        let f = &p["findings"][0];
        // ...but an attempt, said so, and no violation even at --fail-on info.
        assert_eq!(f["attempt"], true, "{case}: {f:#}");
        assert_eq!(f["breakdown"]["changes"], 0, "{case}");
        assert_eq!(f["breakdown"]["refused"], 1, "{case}");
        assert_eq!(f["breakdown"]["refused_by_code"][code], 1, "{case}: {f:#}");
        let message = f["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("0 changes, 1 attempt refused ({code})")),
            "{case}: {message}"
        );
        assert_eq!(p["violation"], false, "{case}");
    }
}

#[test]
fn changes_and_attempts_are_told_apart_in_one_finding() {
    let refused = panther("AWS Console - Ingress SG Authorization Error");
    let mut carried_out = refused.clone();
    let obj = carried_out.as_object_mut().unwrap();
    obj.remove("errorCode");
    obj.remove("errorMessage");
    obj.insert("eventID".into(), "changed-1".into());
    let mut second = carried_out.clone();
    second["eventID"] = "changed-2".into();
    let report = audit_of(&[refused, carried_out, second]);
    let p = policy(&report, "TA-EVT-410");
    assert_eq!(p["matched_events"], 3);
    let f = &p["findings"][0];
    assert_eq!(f["attempt"], Value::Null, "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("2 changes, 1 attempt refused (UnauthorizedOperation)"),
        "{f:#}"
    );
    assert_eq!(
        p["violation"], true,
        "a change is a violation at --fail-on info"
    );
    // The evidence shows which event was refused.
    let codes: Vec<&Value> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["error_code"])
        .collect();
    assert_eq!(codes.iter().filter(|c| c.is_string()).count(), 1);
}

#[test]
fn root_findings_say_which_calls_were_read_only_or_made_by_a_service() {
    let root = |id: &str, read_only: bool, invoked_by: Option<&str>| {
        let mut r = record(
            "2026-07-01T10:00:00Z",
            "111122223333",
            "us-east-1",
            "ListBuckets",
        );
        r["eventID"] = id.into();
        r["readOnly"] = read_only.into();
        r["userIdentity"] = serde_json::json!({
            "type": "Root", "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333", "principalId": "111122223333"
        });
        if let Some(service) = invoked_by {
            r["userIdentity"]["invokedBy"] = service.into();
        }
        r
    };
    let report = audit_of(&[
        root("r-1", true, None),
        root("r-2", true, Some("cloudformation.amazonaws.com")),
        root("r-3", false, None),
    ]);
    // CIS 4.3 counts the root user's own calls, read-only ones included...
    let f = &policy(&report, "TA-EVT-403")["findings"][0];
    assert_eq!(f["event_total"], 2, "{f:#}");
    assert_eq!(f["breakdown"]["read_only"], 1, "{f:#}");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("2 matching events (1 read-only)"));
    // ...and every root call, those a service made on its behalf too, is TA-EVT-501's.
    let f = &policy(&report, "TA-EVT-501")["findings"][0];
    assert_eq!(f["event_total"], 3, "{f:#}");
    assert_eq!(f["breakdown"]["by_service"], 1);
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(
            "3 matching events (2 read-only, 1 made by a service on the principal's behalf)"
        ),
        "{message}"
    );
}
