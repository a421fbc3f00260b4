//! OCSF findings (`--format ocsf`), as Prowler writes them and Amazon Security Lake reads them:
//! a JSON array of OCSF [`VERSION`] events.
//!
//! - Every finding of a configuration, monitoring or integrity policy is a Compliance Finding
//!   (class 2003) whose `compliance.status_id` is Fail; every finding of an event policy is a
//!   Detection Finding (class 2004): activity an assessor reviews, not a control's verdict.
//! - A configuration, monitoring or integrity policy without findings is one Compliance Finding
//!   for the whole run (no account of its own: the verdict rests on all the evidence): Pass only
//!   when the policy passed; no evidence and incomplete are Warning ("no result due to missing
//!   information"), an error or a policy that does not apply is Other, with why.
//! - An event policy without findings has no object: a Detection Finding is a detection.
//! - A waived finding keeps its Fail and is Suppressed (`status_id` 3), naming the waiver.

use serde_json::{json, Map, Value};

use super::asff::{resource_type, standard_types};
use super::{PolicyResult, Report};
use crate::finding::{EvidenceEvent, Finding, Status};
use crate::policy::{Kind, Severity};

/// The OCSF schema version written (`metadata.version`): the one Prowler's OCSF models target.
pub const VERSION: &str = "1.5.0";

const CATEGORY_FINDINGS: u64 = 2;
const COMPLIANCE_FINDING: u64 = 2003;
const DETECTION_FINDING: u64 = 2004;
/// `activity_id` Create: each run states its findings anew.
const ACTIVITY_CREATE: u64 = 1;

/// The OCSF objects of `report`, in the report's order (policies, then their findings).
pub fn findings(report: &Report) -> Vec<Value> {
    let time =
        epoch_ms(&report.generated_at).unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let mut out = Vec::new();
    for p in &report.policies {
        if p.findings.is_empty() {
            if p.kind.decides() {
                out.push(policy_verdict(report, p, time));
            }
            continue;
        }
        for f in &p.findings {
            out.push(finding(report, p, f, time));
        }
    }
    out
}

fn severity(s: Severity) -> (u64, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// RFC 3339 as OCSF's `timestamp_t`: milliseconds since the epoch.
fn epoch_ms(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// What every object of a class has: class, activity, time, severity, metadata.
fn skeleton(report: &Report, p: &PolicyResult, class_uid: u64, time: i64) -> Map<String, Value> {
    let (class_name, type_name) = if class_uid == COMPLIANCE_FINDING {
        ("Compliance Finding", "Compliance Finding: Create")
    } else {
        ("Detection Finding", "Detection Finding: Create")
    };
    let (severity_id, severity) = severity(p.severity);
    let object = json!({
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "class_uid": class_uid,
        "class_name": class_name,
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": class_uid * 100 + ACTIVITY_CREATE,
        "type_name": type_name,
        "time": time,
        "severity_id": severity_id,
        "severity": severity,
        "metadata": {
            "version": VERSION,
            "product": {
                "name": report.tool.name,
                "vendor_name": report.tool.name,
                "version": report.tool.version,
            },
            "event_code": p.id,
            "profiles": ["cloud"],
        },
        "remediation": {"desc": p.remediation.trim_end()},
    });
    match object {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn standards(p: &PolicyResult) -> Vec<String> {
    p.frameworks.keys().cloned().collect()
}

fn requirements(p: &PolicyResult) -> Vec<String> {
    p.frameworks
        .iter()
        .flat_map(|(k, ids)| ids.iter().map(move |id| format!("{k} {id}")))
        .collect()
}

/// The framework mappings and what the verdict rests on, which OCSF has no attribute for.
fn unmapped(p: &PolicyResult) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("policy".into(), json!(p.id));
    m.insert("kind".into(), json!(p.kind.to_string()));
    m.insert("policy_status".into(), json!(p.status.as_str()));
    m.insert("violation".into(), json!(p.violation));
    m.insert("frameworks".into(), json!(p.frameworks));
    m
}

/// A deciding policy without findings: its verdict over the whole run.
fn policy_verdict(report: &Report, p: &PolicyResult, time: i64) -> Value {
    let mut o = skeleton(report, p, COMPLIANCE_FINDING, time);
    // Never a pass that the policy did not earn: missing evidence is a Warning.
    let (status_id, status) = match p.status {
        Status::Pass => (1, "Pass"),
        Status::NoEvidence | Status::Incomplete => (2, "Warning"),
        Status::Fail | Status::Waived => (3, "Fail"),
        Status::Error => (99, "Error"),
        Status::NotApplicable => (99, "Not applicable"),
    };
    let mut compliance = json!({
        "standards": standards(p),
        "requirements": requirements(p),
        "control": p.title,
        "desc": p.description.trim_end(),
        "status_id": status_id,
        "status": status,
        "status_code": p.status.as_str(),
    });
    if let Some(reason) = &p.reason {
        compliance["status_details"] = json!([reason]);
    }
    o.insert("compliance".into(), compliance);
    o.insert("cloud".into(), json!({"provider": "AWS"}));
    o.insert(
        "finding_info".into(),
        json!({
            "uid": format!("trailaudit-{}", p.id),
            "title": p.title,
            "desc": p.description.trim_end(),
            "types": standard_types(p),
            "created_time": time,
        }),
    );
    o.insert(
        "message".into(),
        json!(match &p.reason {
            Some(reason) => format!("{}: {} ({reason})", p.title, p.status.as_str()),
            None => format!("{}: {}", p.title, p.status.as_str()),
        }),
    );
    let mut unmapped = unmapped(p);
    unmapped.insert("judged_on".into(), json!(p.judged_on));
    o.insert("unmapped".into(), Value::Object(unmapped));
    Value::Object(o)
}

fn finding(report: &Report, p: &PolicyResult, f: &Finding, time: i64) -> Value {
    let class_uid = if p.kind == Kind::Event {
        DETECTION_FINDING
    } else {
        COMPLIANCE_FINDING
    };
    let mut o = skeleton(report, p, class_uid, time);
    let mut info = json!({
        "uid": super::finding_uid(&p.id, f),
        "title": p.title,
        "desc": f.message,
        "types": standard_types(p),
        "created_time": time,
    });
    let (first, last) = (
        f.first_seen.as_deref().and_then(epoch_ms),
        f.last_seen.as_deref().and_then(epoch_ms),
    );
    if let Some(t) = first {
        info["first_seen_time"] = json!(t);
    }
    if let Some(t) = last {
        info["last_seen_time"] = json!(t);
    }
    o.insert("finding_info".into(), info);
    o.insert("message".into(), json!(f.message));
    let mut cloud = json!({"provider": "AWS", "region": f.region});
    if !f.account.is_empty() && f.account != crate::inventory::UNKNOWN {
        cloud["account"] =
            json!({"uid": f.account, "name": f.account, "type_id": 10, "type": "AWS Account"});
    }
    o.insert("cloud".into(), cloud);
    let mut resource = json!({
        "uid": f.resource,
        "name": super::short_name(&f.resource),
        "type": resource_type(&f.resource),
        "region": f.region,
    });
    if let Some(file) = &f.file {
        resource["data"] = json!({"evidence_file": file});
    }
    o.insert("resources".into(), json!([resource]));
    // A waived finding still fails; it is suppressed by the waiver in force.
    let (status_id, status) = if f.waived_by.is_some() {
        (3, "Suppressed")
    } else {
        (1, "New")
    };
    o.insert("status_id".into(), json!(status_id));
    o.insert("status".into(), json!(status));
    if let Some(w) = &f.waived_by {
        o.insert("status_detail".into(), json!(format!("waived by {w}")));
    }
    if class_uid == COMPLIANCE_FINDING {
        o.insert(
            "compliance".into(),
            json!({
                "standards": standards(p),
                "requirements": requirements(p),
                "control": p.title,
                "desc": p.description.trim_end(),
                "status_id": 3,
                "status": "Fail",
                "status_code": p.status.as_str(),
            }),
        );
    } else {
        o.insert("count".into(), json!(f.event_total));
        if let Some(t) = first {
            o.insert("start_time".into(), json!(t));
        }
        if let Some(t) = last {
            o.insert("end_time".into(), json!(t));
        }
        let evidences: Vec<Value> = f.evidence.iter().map(evidence).collect();
        if !evidences.is_empty() {
            o.insert("evidences".into(), json!(evidences));
        }
        o.insert("observables".into(), json!(observables(f)));
    }
    let mut unmapped = unmapped(p);
    unmapped.insert("event_total".into(), json!(f.event_total));
    if !f.event_ids.is_empty() {
        unmapped.insert("event_ids".into(), json!(f.event_ids));
    }
    if f.attempt {
        unmapped.insert("attempt".into(), json!(true));
    }
    if let Some(b) = &f.baseline {
        unmapped.insert("baseline".into(), json!(b));
    }
    if let Some(b) = &f.breakdown {
        unmapped.insert("breakdown".into(), json!(b));
    }
    o.insert("unmapped".into(), Value::Object(unmapped));
    Value::Object(o)
}

/// One evidence event: who called which API from where.
fn evidence(e: &EvidenceEvent) -> Value {
    let mut api = json!({
        "operation": e.event_name.as_deref().unwrap_or_default(),
    });
    if let Some(id) = &e.event_id {
        api["request"] = json!({"uid": id});
    }
    if let Some(code) = &e.error_code {
        api["response"] = json!({"error": code});
    }
    let mut out = json!({"api": api});
    if let Some(principal) = &e.principal {
        out["actor"] = json!({"user": {"uid": principal}});
    }
    if let Some(ip) = &e.source_ip {
        // A service calling on a principal's behalf shows its name, not an address.
        out["src_endpoint"] = if ip.parse::<std::net::IpAddr>().is_ok() {
            json!({"ip": ip})
        } else {
            json!({"name": ip})
        };
    }
    let mut data = Map::new();
    // Prowler's models want a service's uid and version, which a record does not give: the
    // event source is kept with the rest.
    for (key, value) in [
        ("event_source", &e.event_source),
        ("time", &e.time),
        ("account", &e.account),
        ("region", &e.region),
        ("user_agent", &e.user_agent),
        ("request_parameters", &e.request_parameters),
        ("file", &e.file),
    ] {
        if let Some(v) = value {
            data.insert(key.into(), json!(v));
        }
    }
    if let Some(r) = e.record {
        data.insert("record".into(), json!(r));
    }
    if !data.is_empty() {
        out["data"] = Value::Object(data);
    }
    out
}

/// The finding's resource (the principal) and the addresses its events came from.
fn observables(f: &Finding) -> Vec<Value> {
    let mut out = vec![json!({
        "name": "resources[0].uid",
        "type_id": 10,
        "type": "Resource UID",
        "value": f.resource,
    })];
    let mut ips: Vec<&str> = f
        .evidence
        .iter()
        .filter_map(|e| e.source_ip.as_deref())
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .collect();
    ips.sort_unstable();
    ips.dedup();
    for ip in ips {
        out.push(json!({
            "name": "evidences.src_endpoint.ip",
            "type_id": 2,
            "type": "IP Address",
            "value": ip,
        }));
    }
    out
}
