//! The controls of each framework that the report's control matrix lists, whether or not a
//! policy covers them: a control no policy maps to is shown as `manual` (an auditor checks it
//! by other means), so the matrix never suggests more coverage than the tool has.
//!
//! Ids and short titles follow `shared/reference/frameworks.md` (paraphrases; the standards'
//! own texts are the authority).

/// `(framework key, control id, short title)`.
pub type Control = (&'static str, &'static str, &'static str);

#[rustfmt::skip]
pub const CONTROLS: &[Control] = &[
    // CIS AWS Foundations v3.0.0, section 3 (logging) and 4 (monitoring).
    ("cis-aws-v3.0", "3.1", "CloudTrail is enabled in all regions (multi-region trail, logging, read and write management events)"),
    ("cis-aws-v3.0", "3.2", "CloudTrail log file validation is enabled"),
    ("cis-aws-v3.0", "3.3", "AWS Config is enabled in all regions"),
    ("cis-aws-v3.0", "3.4", "S3 bucket access logging is enabled on the CloudTrail S3 bucket"),
    ("cis-aws-v3.0", "3.5", "CloudTrail logs are encrypted at rest using KMS CMKs"),
    ("cis-aws-v3.0", "3.6", "Rotation for customer-created symmetric CMKs is enabled"),
    ("cis-aws-v3.0", "3.7", "VPC flow logging is enabled in all VPCs"),
    ("cis-aws-v3.0", "3.8", "Object-level logging for write events is enabled for S3 buckets"),
    ("cis-aws-v3.0", "3.9", "Object-level logging for read events is enabled for S3 buckets"),
    ("cis-aws-v3.0", "4.1", "Metric filter and alarm: unauthorized API calls"),
    ("cis-aws-v3.0", "4.2", "Metric filter and alarm: Management Console sign-in without MFA"),
    ("cis-aws-v3.0", "4.3", "Metric filter and alarm: usage of the root account"),
    ("cis-aws-v3.0", "4.4", "Metric filter and alarm: IAM policy changes"),
    ("cis-aws-v3.0", "4.5", "Metric filter and alarm: CloudTrail configuration changes"),
    ("cis-aws-v3.0", "4.6", "Metric filter and alarm: Management Console authentication failures"),
    ("cis-aws-v3.0", "4.7", "Metric filter and alarm: disabling or scheduled deletion of customer-created CMKs"),
    ("cis-aws-v3.0", "4.8", "Metric filter and alarm: S3 bucket policy changes"),
    ("cis-aws-v3.0", "4.9", "Metric filter and alarm: AWS Config configuration changes"),
    ("cis-aws-v3.0", "4.10", "Metric filter and alarm: security group changes"),
    ("cis-aws-v3.0", "4.11", "Metric filter and alarm: changes to network ACLs"),
    ("cis-aws-v3.0", "4.12", "Metric filter and alarm: changes to network gateways"),
    ("cis-aws-v3.0", "4.13", "Metric filter and alarm: route table changes"),
    ("cis-aws-v3.0", "4.14", "Metric filter and alarm: VPC changes"),
    ("cis-aws-v3.0", "4.15", "Metric filter and alarm: AWS Organizations changes"),
    ("cis-aws-v3.0", "4.16", "AWS Security Hub is enabled"),
    // PCI DSS v4.0, requirement 10.
    ("pci-dss-v4.0", "10.1.1", "Logging and monitoring policies are documented, in use and known"),
    ("pci-dss-v4.0", "10.1.2", "Roles and responsibilities for logging and monitoring are documented and understood"),
    ("pci-dss-v4.0", "10.2.1", "Audit logs are enabled and active for all system components"),
    ("pci-dss-v4.0", "10.2.1.1", "Logs capture all individual user access to cardholder data"),
    ("pci-dss-v4.0", "10.2.1.2", "Logs capture all actions by anyone with administrative access"),
    ("pci-dss-v4.0", "10.2.1.3", "Logs capture all access to audit logs"),
    ("pci-dss-v4.0", "10.2.1.4", "Logs capture all invalid logical access attempts"),
    ("pci-dss-v4.0", "10.2.1.5", "Logs capture all changes to identification and authentication credentials"),
    ("pci-dss-v4.0", "10.2.1.6", "Logs capture initialization, starting, stopping and pausing of audit logs"),
    ("pci-dss-v4.0", "10.2.1.7", "Logs capture creation and deletion of system-level objects"),
    ("pci-dss-v4.0", "10.2.2", "Each log record has identity, event type, time, outcome, origin and affected resource"),
    ("pci-dss-v4.0", "10.3.1", "Read access to audit logs is limited to a job-related need"),
    ("pci-dss-v4.0", "10.3.2", "Audit log files are protected from modification by individuals"),
    ("pci-dss-v4.0", "10.3.3", "Audit logs are promptly backed up to a central store that is hard to alter"),
    ("pci-dss-v4.0", "10.3.4", "File integrity monitoring or change detection is used on audit logs"),
    ("pci-dss-v4.0", "10.4.1", "Security events and critical logs are reviewed at least daily"),
    ("pci-dss-v4.0", "10.4.1.1", "Automated mechanisms are used for the daily log reviews"),
    ("pci-dss-v4.0", "10.4.2", "Other logs are reviewed periodically"),
    ("pci-dss-v4.0", "10.4.2.1", "The frequency of periodic reviews is set by targeted risk analysis"),
    ("pci-dss-v4.0", "10.4.3", "Exceptions and anomalies found in review are addressed"),
    ("pci-dss-v4.0", "10.5.1", "Audit log history is kept at least 12 months, the latest 3 months immediately available"),
    ("pci-dss-v4.0", "10.6.1", "System clocks are synchronised using time-synchronisation technology"),
    ("pci-dss-v4.0", "10.6.2", "Systems are configured to the correct and consistent time"),
    ("pci-dss-v4.0", "10.6.3", "Time synchronisation settings and data are protected"),
    ("pci-dss-v4.0", "10.7.1", "Failures of critical security control systems are detected, alerted and addressed (service providers)"),
    ("pci-dss-v4.0", "10.7.2", "Failures of critical security control systems, audit logging included, are detected, alerted and addressed"),
    ("pci-dss-v4.0", "10.7.3", "Failures of critical security control systems are responded to promptly"),
    // NIST SP 800-53 Rev. 5 (titles are NIST's own) and the FedRAMP Moderate selection of them.
    ("nist-800-53-r5", "AC-2(4)", "Account Management: Automated Audit Actions"),
    ("nist-800-53-r5", "AC-6(9)", "Least Privilege: Log Use of Privileged Functions"),
    ("nist-800-53-r5", "AC-7", "Unsuccessful Logon Attempts"),
    ("nist-800-53-r5", "AU-2", "Event Logging"),
    ("nist-800-53-r5", "AU-3", "Content of Audit Records"),
    ("nist-800-53-r5", "AU-3(1)", "Content of Audit Records: Additional Audit Information"),
    ("nist-800-53-r5", "AU-4", "Audit Log Storage Capacity"),
    ("nist-800-53-r5", "AU-5", "Response to Audit Logging Process Failures"),
    ("nist-800-53-r5", "AU-6", "Audit Record Review, Analysis, and Reporting"),
    ("nist-800-53-r5", "AU-6(1)", "Audit Record Review: Automated Process Integration"),
    ("nist-800-53-r5", "AU-6(3)", "Audit Record Review: Correlate Audit Record Repositories"),
    ("nist-800-53-r5", "AU-7", "Audit Record Reduction and Report Generation"),
    ("nist-800-53-r5", "AU-8", "Time Stamps"),
    ("nist-800-53-r5", "AU-9", "Protection of Audit Information"),
    ("nist-800-53-r5", "AU-9(4)", "Protection of Audit Information: Access by Subset of Privileged Users"),
    ("nist-800-53-r5", "AU-10", "Non-repudiation"),
    ("nist-800-53-r5", "AU-11", "Audit Record Retention"),
    ("nist-800-53-r5", "AU-12", "Audit Record Generation"),
    ("nist-800-53-r5", "IA-2(1)", "Identification and Authentication: Multi-factor Authentication to Privileged Accounts"),
    ("nist-800-53-r5", "SC-28", "Protection of Information at Rest"),
    ("nist-800-53-r5", "SI-4", "System Monitoring"),
    ("nist-800-53-r5", "SI-7", "Software, Firmware, and Information Integrity"),
    ("fedramp-moderate-r5", "AC-2(4)", "Account Management: Automated Audit Actions"),
    ("fedramp-moderate-r5", "AC-6(9)", "Least Privilege: Log Use of Privileged Functions"),
    ("fedramp-moderate-r5", "AC-7", "Unsuccessful Logon Attempts"),
    ("fedramp-moderate-r5", "AU-2", "Event Logging"),
    ("fedramp-moderate-r5", "AU-3", "Content of Audit Records"),
    ("fedramp-moderate-r5", "AU-3(1)", "Content of Audit Records: Additional Audit Information"),
    ("fedramp-moderate-r5", "AU-4", "Audit Log Storage Capacity"),
    ("fedramp-moderate-r5", "AU-5", "Response to Audit Logging Process Failures"),
    ("fedramp-moderate-r5", "AU-6", "Audit Record Review, Analysis, and Reporting"),
    ("fedramp-moderate-r5", "AU-6(1)", "Audit Record Review: Automated Process Integration"),
    ("fedramp-moderate-r5", "AU-6(3)", "Audit Record Review: Correlate Audit Record Repositories"),
    ("fedramp-moderate-r5", "AU-7", "Audit Record Reduction and Report Generation"),
    ("fedramp-moderate-r5", "AU-8", "Time Stamps"),
    ("fedramp-moderate-r5", "AU-9", "Protection of Audit Information"),
    ("fedramp-moderate-r5", "AU-9(4)", "Protection of Audit Information: Access by Subset of Privileged Users"),
    ("fedramp-moderate-r5", "AU-11", "Audit Record Retention"),
    ("fedramp-moderate-r5", "AU-12", "Audit Record Generation"),
    ("fedramp-moderate-r5", "IA-2(1)", "Identification and Authentication: Multi-factor Authentication to Privileged Accounts"),
    ("fedramp-moderate-r5", "SC-28", "Protection of Information at Rest"),
    ("fedramp-moderate-r5", "SI-4", "System Monitoring"),
    ("fedramp-moderate-r5", "SI-7", "Software, Firmware, and Information Integrity"),
    // AWS Security Hub controls.
    ("aws-fsbp", "CloudTrail.1", "At least one multi-Region trail recording read and write management events"),
    ("aws-fsbp", "CloudTrail.2", "Trail encryption at rest with SSE-KMS"),
    ("aws-fsbp", "CloudTrail.3", "At least one trail enabled"),
    ("aws-fsbp", "CloudTrail.4", "Log file validation enabled"),
    ("aws-fsbp", "CloudTrail.5", "Trail integrated with CloudWatch Logs"),
    ("aws-fsbp", "CloudTrail.6", "Trail bucket not publicly accessible"),
    ("aws-fsbp", "CloudTrail.7", "S3 access logging on the trail bucket"),
    ("aws-fsbp", "CloudWatch.1", "Metric filter and alarm: root usage"),
    ("aws-fsbp", "CloudWatch.2", "Metric filter and alarm: unauthorized API calls"),
    ("aws-fsbp", "CloudWatch.3", "Metric filter and alarm: console sign-in without MFA"),
    ("aws-fsbp", "CloudWatch.4", "Metric filter and alarm: IAM policy changes"),
    ("aws-fsbp", "CloudWatch.5", "Metric filter and alarm: CloudTrail configuration changes"),
    ("aws-fsbp", "CloudWatch.6", "Metric filter and alarm: console authentication failures"),
    ("aws-fsbp", "CloudWatch.7", "Metric filter and alarm: CMK disable or scheduled deletion"),
    ("aws-fsbp", "CloudWatch.8", "Metric filter and alarm: S3 bucket policy changes"),
    ("aws-fsbp", "CloudWatch.9", "Metric filter and alarm: AWS Config changes"),
    ("aws-fsbp", "CloudWatch.10", "Metric filter and alarm: security group changes"),
    ("aws-fsbp", "CloudWatch.11", "Metric filter and alarm: NACL changes"),
    ("aws-fsbp", "CloudWatch.12", "Metric filter and alarm: network gateway changes"),
    ("aws-fsbp", "CloudWatch.13", "Metric filter and alarm: route table changes"),
    ("aws-fsbp", "CloudWatch.14", "Metric filter and alarm: VPC changes"),
];

/// The catalogued controls of `framework`, in the standard's order.
pub fn controls(framework: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    CONTROLS
        .iter()
        .filter(move |(f, _, _)| *f == framework)
        .map(|(_, id, title)| (*id, *title))
}

/// The short title of a catalogued control.
pub fn title(framework: &str, id: &str) -> Option<&'static str> {
    controls(framework).find(|(c, _)| *c == id).map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::FRAMEWORKS;

    #[test]
    fn every_entry_names_a_known_framework_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (f, id, title) in CONTROLS {
            assert!(FRAMEWORKS.contains(f), "{f}");
            assert!(!title.is_empty());
            assert!(seen.insert((f, id)), "{f} {id} twice");
        }
    }

    #[test]
    fn covers_cis_sections_3_and_4_and_pci_requirement_10() {
        assert_eq!(controls("cis-aws-v3.0").count(), 9 + 16);
        assert!(controls("pci-dss-v4.0").all(|(id, _)| id.starts_with("10.")));
        assert_eq!(
            title("pci-dss-v4.0", "10.3.2").map(|t| t.contains("modification")),
            Some(true)
        );
    }
}
