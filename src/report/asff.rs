//! AWS Security Finding Format (`--format asff`): the findings as Security Hub's
//! `BatchImportFindings` takes them, a JSON array, which is what
//! `aws securityhub batch-import-findings --findings file://report.asff.json` reads (the API
//! takes at most 100 findings a call: split larger files).
//!
//! One ASFF finding per finding of the report. A policy's verdict without findings (pass, no
//! evidence) is over the whole run's evidence, not over one account or resource, and ASFF
//! requires both: it is not written (the OCSF and JSON reports have it). So `Compliance.Status`
//! is FAILED for every finding of a configuration, monitoring or integrity policy, and a
//! waived finding is FAILED with its workflow SUPPRESSED and a note naming the waiver. An event
//! policy's finding is activity under its controls, not their verdict: no `Compliance`.
//!
//! Ids are stable across runs (the policy, account, region and resource), so importing a later
//! run's file updates the findings instead of adding copies.

use serde_json::{json, Value};

use super::{PolicyResult, Report};
use crate::finding::Finding;
use crate::policy::{Kind, Severity};

pub const SCHEMA_VERSION: &str = "2018-10-08";

/// Documented limits of the ASFF fields written.
pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_RECOMMENDATION: usize = 512;
pub const MAX_TYPES: usize = 50;
pub const MAX_RELATED_REQUIREMENTS: usize = 32;
pub const MAX_NOTE: usize = 512;
/// Most values in `ProductFields`, and the longest value.
pub const MAX_PRODUCT_FIELDS: usize = 50;
pub const MAX_PRODUCT_FIELD: usize = 2048;

/// Where a finding whose region is not one (an account-wide finding, `all`) is imported: the
/// region where CloudTrail delivers global service events.
pub const GLOBAL_REGION: &str = "us-east-1";

/// The ASFF findings of `report`, in the report's order.
pub fn findings(report: &Report) -> Vec<Value> {
    let now = if report.generated_at.is_empty() {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    } else {
        report.generated_at.clone()
    };
    report
        .policies
        .iter()
        .flat_map(|p| p.findings.iter().map(move |f| (p, f)))
        .map(|(p, f)| finding(report, p, f, &now))
        .collect()
}

/// `s` cut to at most `max` characters, ending with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn label(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// `us-east-1`, `eu-west-1`, `us-gov-west-1`, `cn-north-1`: a region name, not `all` or text.
fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// The partition of a region.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The ASFF resource type of a finding's resource (also OCSF's `resources[].type`).
pub fn resource_type(resource: &str) -> &'static str {
    let service = resource.split(':').nth(2).unwrap_or_default();
    let kind = resource
        .splitn(6, ':')
        .nth(5)
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    match (resource.starts_with("arn:"), service, kind) {
        (true, "cloudtrail", "trail") => "AwsCloudTrailTrail",
        (true, "iam", "user") => "AwsIamUser",
        (true, "iam", "role") => "AwsIamRole",
        (true, "s3", _) => "AwsS3Bucket",
        (true, "kms", "key") => "AwsKmsKey",
        (true, "sns", _) => "AwsSnsTopic",
        _ if account_of(resource).is_some() => "AwsAccount",
        _ => "Other",
    }
}

/// `account 123456789012` (an account-wide finding): the account.
fn account_of(resource: &str) -> Option<&str> {
    resource
        .strip_prefix("account ")
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// The ASFF types of a policy, from the standards it maps to (also OCSF's
/// `finding_info.types`, as Prowler writes them).
pub fn standard_types(p: &PolicyResult) -> Vec<String> {
    const PREFIX: &str = "Software and Configuration Checks/Industry and Regulatory Standards";
    let mut types: Vec<String> = p
        .frameworks
        .keys()
        .filter_map(|k| {
            let classifier = if k.starts_with("cis-aws") {
                "CIS AWS Foundations Benchmark"
            } else if k.starts_with("pci-dss") {
                "PCI-DSS"
            } else if k.starts_with("nist-800-53") || k.starts_with("fedramp") {
                "NIST 800-53 Controls (USA)"
            } else if k.starts_with("iso-27001") {
                "ISO 27001 Controls"
            } else if k == "soc2" {
                "SOC 2"
            } else if k == "aws-fsbp" {
                "AWS-Foundational-Security-Best-Practices"
            } else {
                return None;
            };
            Some(format!("{PREFIX}/{classifier}"))
        })
        .collect();
    types.dedup();
    if types.is_empty() {
        types.push(PREFIX.to_string());
    }
    types.truncate(MAX_TYPES);
    types
}

fn finding(report: &Report, p: &PolicyResult, f: &Finding, now: &str) -> Value {
    let region = if is_region(&f.region) {
        f.region.as_str()
    } else {
        GLOBAL_REGION
    };
    let account = f.account.as_str();
    let resource = match account_of(&f.resource) {
        Some(a) => format!("AWS::::Account:{a}"),
        None => f.resource.clone(),
    };
    let mut fields = serde_json::Map::new();
    let mut field = |k: &str, v: String| {
        if fields.len() < MAX_PRODUCT_FIELDS {
            fields.insert(
                format!("trailaudit/{k}"),
                json!(truncate(&v, MAX_PRODUCT_FIELD)),
            );
        }
    };
    field("PolicyId", p.id.clone());
    field("PolicyKind", p.kind.to_string());
    field("PolicyStatus", p.status.as_str().to_string());
    field("Violation", p.violation.to_string());
    field("Region", f.region.clone());
    field("EventTotal", f.event_total.to_string());
    if !f.event_ids.is_empty() {
        field("EventIds", f.event_ids.join(" "));
    }
    if f.attempt {
        field("Attempt", "true".into());
    }
    if let Some(b) = &f.baseline {
        field("Baseline", b.clone());
    }
    if let Some(file) = &f.file {
        field("EvidenceFile", file.clone());
    }
    let mut out = json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": super::finding_uid(&p.id, f),
        "ProductArn": format!("arn:aws:securityhub:{region}:{account}:product/{account}/default"),
        "ProductName": "trailaudit",
        "CompanyName": "trailaudit",
        "GeneratorId": format!("trailaudit/{}", p.id),
        "AwsAccountId": account,
        "Types": standard_types(p),
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": label(p.severity), "Original": p.severity.to_string()},
        "Title": truncate(&p.title, MAX_TITLE),
        "Description": truncate(&format!("{}. {}", f.message, p.description.trim()), MAX_DESCRIPTION),
        "Remediation": {"Recommendation": {"Text": truncate(p.remediation.trim_end(), MAX_RECOMMENDATION)}},
        "ProductFields": fields,
        "Resources": [{
            "Type": resource_type(&f.resource),
            "Id": resource,
            "Partition": partition(region),
            "Region": region,
        }],
        "RecordState": "ACTIVE",
        "Workflow": {"Status": if f.waived_by.is_some() { "SUPPRESSED" } else { "NEW" }},
    });
    if let Some(t) = &f.first_seen {
        out["FirstObservedAt"] = json!(t);
    }
    if let Some(t) = &f.last_seen {
        out["LastObservedAt"] = json!(t);
    }
    if p.kind != Kind::Event {
        let related: Vec<String> = p
            .frameworks
            .iter()
            .flat_map(|(k, ids)| ids.iter().map(move |id| format!("{k} {id}")))
            .take(MAX_RELATED_REQUIREMENTS)
            .collect();
        out["Compliance"] = json!({"Status": "FAILED", "RelatedRequirements": related});
    }
    if let Some(w) = &f.waived_by {
        let why = report
            .waivers
            .iter()
            .find(|x| &x.id == w)
            .map_or_else(String::new, |x| {
                format!(
                    ": {} (owner {}, ticket {}, expires {})",
                    x.reason, x.owner, x.ticket, x.expires
                )
            });
        out["Note"] = json!({
            "Text": truncate(&format!("waived by {w}{why}"), MAX_NOTE),
            "UpdatedBy": "trailaudit",
            "UpdatedAt": now,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_with_an_ellipsis_within_the_limit() {
        assert_eq!(truncate("abc", 3), "abc");
        let cut = truncate(&"é".repeat(300), MAX_TITLE);
        assert_eq!(cut.chars().count(), MAX_TITLE);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn regions_and_resource_types() {
        assert!(
            is_region("us-east-1") && is_region("us-gov-west-1") && is_region("ap-southeast-4")
        );
        assert!(!is_region("all") && !is_region("unknown") && !is_region("us-east-x"));
        assert_eq!(
            resource_type("arn:aws:cloudtrail:us-east-1:111122223333:trail/t"),
            "AwsCloudTrailTrail"
        );
        assert_eq!(
            resource_type("arn:aws:iam::111122223333:user/a"),
            "AwsIamUser"
        );
        assert_eq!(resource_type("account 111122223333"), "AwsAccount");
        assert_eq!(resource_type("log group g"), "Other");
        assert_eq!(partition("cn-north-1"), "aws-cn");
    }
}
