//! The controls of each framework that the report's control matrix lists, whether or not a
//! policy covers them: a control no policy maps to is shown as `manual` (an auditor checks it
//! by other means), so the matrix never suggests more coverage than the tool has.
//!
//! Ids and short titles follow `shared/reference/frameworks.md` and, for CIS v5.0 to v7.0,
//! ISO/IEC 27001:2022 and SOC 2, prowler-cloud/prowler's compliance files (facts only: ids,
//! sections, Automated/Manual). Titles are paraphrases; the standards' own texts are the
//! authority.

/// How a framework says a control is assessed (CIS marks each recommendation Automated or
/// Manual); frameworks that do not say have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Assessment {
    Automated,
    Manual,
}

const A: Option<Assessment> = Some(Assessment::Automated);
const M: Option<Assessment> = Some(Assessment::Manual);
const N: Option<Assessment> = None;

/// `(framework key, control id, short title, assessment as the framework states it)`.
pub type Control = (&'static str, &'static str, &'static str, Option<Assessment>);

#[rustfmt::skip]
pub const CONTROLS: &[Control] = &[
    // CIS AWS Foundations v3.0.0, section 3 (logging) and 4 (monitoring). Assessment status not
    // recorded: Prowler's cis_3.0_aws.json marks every one Automated, while transcriptions of the
    // v3.0.0 document mark the monitoring recommendations Manual.
    ("cis-aws-v3.0", "3.1", "CloudTrail is enabled in all regions (multi-region trail, logging, read and write management events)", N),
    ("cis-aws-v3.0", "3.2", "CloudTrail log file validation is enabled", N),
    ("cis-aws-v3.0", "3.3", "AWS Config is enabled in all regions", N),
    ("cis-aws-v3.0", "3.4", "S3 bucket access logging is enabled on the CloudTrail S3 bucket", N),
    ("cis-aws-v3.0", "3.5", "CloudTrail logs are encrypted at rest using KMS CMKs", N),
    ("cis-aws-v3.0", "3.6", "Rotation for customer-created symmetric CMKs is enabled", N),
    ("cis-aws-v3.0", "3.7", "VPC flow logging is enabled in all VPCs", N),
    ("cis-aws-v3.0", "3.8", "Object-level logging for write events is enabled for S3 buckets", N),
    ("cis-aws-v3.0", "3.9", "Object-level logging for read events is enabled for S3 buckets", N),
    ("cis-aws-v3.0", "4.1", "Metric filter and alarm: unauthorized API calls", N),
    ("cis-aws-v3.0", "4.2", "Metric filter and alarm: Management Console sign-in without MFA", N),
    ("cis-aws-v3.0", "4.3", "Metric filter and alarm: usage of the root account", N),
    ("cis-aws-v3.0", "4.4", "Metric filter and alarm: IAM policy changes", N),
    ("cis-aws-v3.0", "4.5", "Metric filter and alarm: CloudTrail configuration changes", N),
    ("cis-aws-v3.0", "4.6", "Metric filter and alarm: Management Console authentication failures", N),
    ("cis-aws-v3.0", "4.7", "Metric filter and alarm: disabling or scheduled deletion of customer-created CMKs", N),
    ("cis-aws-v3.0", "4.8", "Metric filter and alarm: S3 bucket policy changes", N),
    ("cis-aws-v3.0", "4.9", "Metric filter and alarm: AWS Config configuration changes", N),
    ("cis-aws-v3.0", "4.10", "Metric filter and alarm: security group changes", N),
    ("cis-aws-v3.0", "4.11", "Metric filter and alarm: changes to network ACLs", N),
    ("cis-aws-v3.0", "4.12", "Metric filter and alarm: changes to network gateways", N),
    ("cis-aws-v3.0", "4.13", "Metric filter and alarm: route table changes", N),
    ("cis-aws-v3.0", "4.14", "Metric filter and alarm: VPC changes", N),
    ("cis-aws-v3.0", "4.15", "Metric filter and alarm: AWS Organizations changes", N),
    ("cis-aws-v3.0", "4.16", "AWS Security Hub is enabled", N),
    // CIS AWS Foundations v5.0.0: v3.0's numbering (3 logging, 4 monitoring), the monitoring
    // recommendations reworded "... are monitored". Automated/Manual as the benchmark marks them
    // (transcribed in prowler-cloud/prowler cis_5.0_aws.json, Apache-2.0).
    ("cis-aws-v5.0", "3.1", "CloudTrail is enabled in all regions (multi-region trail, logging, read and write management events)", M),
    ("cis-aws-v5.0", "3.2", "CloudTrail log file validation is enabled", A),
    ("cis-aws-v5.0", "3.3", "AWS Config is enabled in all regions", A),
    ("cis-aws-v5.0", "3.4", "Server access logging is enabled on the CloudTrail S3 bucket", M),
    ("cis-aws-v5.0", "3.5", "CloudTrail logs are encrypted at rest using KMS CMKs", A),
    ("cis-aws-v5.0", "3.6", "Rotation for customer-created symmetric CMKs is enabled", A),
    ("cis-aws-v5.0", "3.7", "VPC flow logging is enabled in all VPCs", A),
    ("cis-aws-v5.0", "3.8", "Object-level logging for write events is enabled for S3 buckets", A),
    ("cis-aws-v5.0", "3.9", "Object-level logging for read events is enabled for S3 buckets", A),
    ("cis-aws-v5.0", "4.1", "Unauthorized API calls are monitored", M),
    ("cis-aws-v5.0", "4.2", "Management Console sign-in without MFA is monitored", M),
    ("cis-aws-v5.0", "4.3", "Usage of the root account is monitored", M),
    ("cis-aws-v5.0", "4.4", "IAM policy changes are monitored", M),
    ("cis-aws-v5.0", "4.5", "CloudTrail configuration changes are monitored", M),
    ("cis-aws-v5.0", "4.6", "Management Console authentication failures are monitored", M),
    ("cis-aws-v5.0", "4.7", "Disabling or scheduled deletion of customer-created CMKs is monitored", M),
    ("cis-aws-v5.0", "4.8", "S3 bucket policy changes are monitored", M),
    ("cis-aws-v5.0", "4.9", "AWS Config configuration changes are monitored", M),
    ("cis-aws-v5.0", "4.10", "Security group changes are monitored", M),
    ("cis-aws-v5.0", "4.11", "Network ACL changes are monitored", M),
    ("cis-aws-v5.0", "4.12", "Changes to network gateways are monitored", M),
    ("cis-aws-v5.0", "4.13", "Route table changes are monitored", M),
    ("cis-aws-v5.0", "4.14", "VPC changes are monitored", M),
    ("cis-aws-v5.0", "4.15", "AWS Organizations changes are monitored", M),
    ("cis-aws-v5.0", "4.16", "AWS Security Hub is enabled", A),
    // CIS AWS Foundations v6.0.0: renumbered, logging is section 4 and monitoring section 5
    // (cis_6.0_aws.json).
    ("cis-aws-v6.0", "4.1", "CloudTrail is enabled in all regions (multi-region trail, logging, read and write management events)", M),
    ("cis-aws-v6.0", "4.2", "CloudTrail log file validation is enabled", A),
    ("cis-aws-v6.0", "4.3", "AWS Config is enabled in all regions", A),
    ("cis-aws-v6.0", "4.4", "Server access logging is enabled on the CloudTrail S3 bucket", M),
    ("cis-aws-v6.0", "4.5", "CloudTrail logs are encrypted at rest using KMS CMKs", A),
    ("cis-aws-v6.0", "4.6", "Rotation for customer-created symmetric CMKs is enabled", A),
    ("cis-aws-v6.0", "4.7", "VPC flow logging is enabled in all VPCs", A),
    ("cis-aws-v6.0", "4.8", "Object-level logging for write events is enabled for S3 buckets", A),
    ("cis-aws-v6.0", "4.9", "Object-level logging for read events is enabled for S3 buckets", A),
    ("cis-aws-v6.0", "5.1", "Unauthorized API calls are monitored", M),
    ("cis-aws-v6.0", "5.2", "Management Console sign-in without MFA is monitored", M),
    ("cis-aws-v6.0", "5.3", "Usage of the root account is monitored", M),
    ("cis-aws-v6.0", "5.4", "IAM policy changes are monitored", M),
    ("cis-aws-v6.0", "5.5", "CloudTrail configuration changes are monitored", M),
    ("cis-aws-v6.0", "5.6", "Management Console authentication failures are monitored", M),
    ("cis-aws-v6.0", "5.7", "Disabling or scheduled deletion of customer-created CMKs is monitored", M),
    ("cis-aws-v6.0", "5.8", "S3 bucket policy changes are monitored", M),
    ("cis-aws-v6.0", "5.9", "AWS Config configuration changes are monitored", M),
    ("cis-aws-v6.0", "5.10", "Security group changes are monitored", M),
    ("cis-aws-v6.0", "5.11", "Network ACL changes are monitored", M),
    ("cis-aws-v6.0", "5.12", "Changes to network gateways are monitored", M),
    ("cis-aws-v6.0", "5.13", "Route table changes are monitored", M),
    ("cis-aws-v6.0", "5.14", "VPC changes are monitored", M),
    ("cis-aws-v6.0", "5.15", "AWS Organizations changes are monitored", M),
    ("cis-aws-v6.0", "5.16", "AWS Security Hub is enabled", A),
    // CIS AWS Foundations v7.0.0: v6.0's numbering plus 4.10 (cis_7.0_aws.json).
    ("cis-aws-v7.0", "4.1", "CloudTrail is enabled in all regions (multi-region trail, logging, read and write management events)", M),
    ("cis-aws-v7.0", "4.2", "CloudTrail log file validation is enabled", A),
    ("cis-aws-v7.0", "4.3", "AWS Config is enabled in all regions", A),
    ("cis-aws-v7.0", "4.4", "Server access logging is enabled on the CloudTrail S3 bucket", M),
    ("cis-aws-v7.0", "4.5", "CloudTrail logs are encrypted at rest using KMS CMKs", A),
    ("cis-aws-v7.0", "4.6", "Rotation for customer-created symmetric CMKs is enabled", A),
    ("cis-aws-v7.0", "4.7", "VPC flow logging is enabled in all VPCs", A),
    ("cis-aws-v7.0", "4.8", "Object-level logging for write events is enabled for S3 buckets", A),
    ("cis-aws-v7.0", "4.9", "Object-level logging for read events is enabled for S3 buckets", A),
    ("cis-aws-v7.0", "4.10", "Access logging is enabled for AWS-managed web front ends (CloudFront, ALB/NLB, API Gateway)", M),
    ("cis-aws-v7.0", "5.1", "Unauthorized API calls are monitored", M),
    ("cis-aws-v7.0", "5.2", "Management Console sign-in without MFA is monitored", M),
    ("cis-aws-v7.0", "5.3", "Usage of the root account is monitored", M),
    ("cis-aws-v7.0", "5.4", "IAM policy changes are monitored", M),
    ("cis-aws-v7.0", "5.5", "CloudTrail configuration changes are monitored", M),
    ("cis-aws-v7.0", "5.6", "Management Console authentication failures are monitored", M),
    ("cis-aws-v7.0", "5.7", "Disabling or scheduled deletion of customer-created CMKs is monitored", M),
    ("cis-aws-v7.0", "5.8", "S3 bucket policy changes are monitored", M),
    ("cis-aws-v7.0", "5.9", "AWS Config configuration changes are monitored", M),
    ("cis-aws-v7.0", "5.10", "Security group changes are monitored", M),
    ("cis-aws-v7.0", "5.11", "Network ACL changes are monitored", M),
    ("cis-aws-v7.0", "5.12", "Changes to network gateways are monitored", M),
    ("cis-aws-v7.0", "5.13", "Route table changes are monitored", M),
    ("cis-aws-v7.0", "5.14", "VPC changes are monitored", M),
    ("cis-aws-v7.0", "5.15", "AWS Organizations changes are monitored", M),
    ("cis-aws-v7.0", "5.16", "AWS Security Hub is enabled", A),
    // PCI DSS v4.0.1 (key `pci-dss-v4.0`), requirement 10: unchanged from v4.0.
    ("pci-dss-v4.0", "10.1.1", "Logging and monitoring policies are documented, in use and known", N),
    ("pci-dss-v4.0", "10.1.2", "Roles and responsibilities for logging and monitoring are documented and understood", N),
    ("pci-dss-v4.0", "10.2.1", "Audit logs are enabled and active for all system components", N),
    ("pci-dss-v4.0", "10.2.1.1", "Logs capture all individual user access to cardholder data", N),
    ("pci-dss-v4.0", "10.2.1.2", "Logs capture all actions by anyone with administrative access", N),
    ("pci-dss-v4.0", "10.2.1.3", "Logs capture all access to audit logs", N),
    ("pci-dss-v4.0", "10.2.1.4", "Logs capture all invalid logical access attempts", N),
    ("pci-dss-v4.0", "10.2.1.5", "Logs capture all changes to identification and authentication credentials", N),
    ("pci-dss-v4.0", "10.2.1.6", "Logs capture initialization, starting, stopping and pausing of audit logs", N),
    ("pci-dss-v4.0", "10.2.1.7", "Logs capture creation and deletion of system-level objects", N),
    ("pci-dss-v4.0", "10.2.2", "Each log record has identity, event type, time, outcome, origin and affected resource", N),
    ("pci-dss-v4.0", "10.3.1", "Read access to audit logs is limited to a job-related need", N),
    ("pci-dss-v4.0", "10.3.2", "Audit log files are protected from modification by individuals", N),
    ("pci-dss-v4.0", "10.3.3", "Audit logs are promptly backed up to a central store that is hard to alter", N),
    ("pci-dss-v4.0", "10.3.4", "File integrity monitoring or change detection is used on audit logs", N),
    ("pci-dss-v4.0", "10.4.1", "Security events and critical logs are reviewed at least daily", N),
    ("pci-dss-v4.0", "10.4.1.1", "Automated mechanisms are used for the daily log reviews", N),
    ("pci-dss-v4.0", "10.4.2", "Other logs are reviewed periodically", N),
    ("pci-dss-v4.0", "10.4.2.1", "The frequency of periodic reviews is set by targeted risk analysis", N),
    ("pci-dss-v4.0", "10.4.3", "Exceptions and anomalies found in review are addressed", N),
    ("pci-dss-v4.0", "10.5.1", "Audit log history is kept at least 12 months, the latest 3 months immediately available", N),
    ("pci-dss-v4.0", "10.6.1", "System clocks are synchronised using time-synchronisation technology", N),
    ("pci-dss-v4.0", "10.6.2", "Systems are configured to the correct and consistent time", N),
    ("pci-dss-v4.0", "10.6.3", "Time synchronisation settings and data are protected", N),
    ("pci-dss-v4.0", "10.7.1", "Failures of critical security control systems are detected, alerted and addressed (service providers)", N),
    ("pci-dss-v4.0", "10.7.2", "Failures of critical security control systems, audit logging included, are detected, alerted and addressed", N),
    ("pci-dss-v4.0", "10.7.3", "Failures of critical security control systems are responded to promptly", N),
    // NIST SP 800-53 Rev. 5 (titles are NIST's own) and the FedRAMP Moderate selection of them.
    ("nist-800-53-r5", "AC-2(4)", "Account Management: Automated Audit Actions", N),
    ("nist-800-53-r5", "AC-6(9)", "Least Privilege: Log Use of Privileged Functions", N),
    ("nist-800-53-r5", "AC-7", "Unsuccessful Logon Attempts", N),
    ("nist-800-53-r5", "AU-2", "Event Logging", N),
    ("nist-800-53-r5", "AU-3", "Content of Audit Records", N),
    ("nist-800-53-r5", "AU-3(1)", "Content of Audit Records: Additional Audit Information", N),
    ("nist-800-53-r5", "AU-4", "Audit Log Storage Capacity", N),
    ("nist-800-53-r5", "AU-5", "Response to Audit Logging Process Failures", N),
    ("nist-800-53-r5", "AU-6", "Audit Record Review, Analysis, and Reporting", N),
    ("nist-800-53-r5", "AU-6(1)", "Audit Record Review: Automated Process Integration", N),
    ("nist-800-53-r5", "AU-6(3)", "Audit Record Review: Correlate Audit Record Repositories", N),
    ("nist-800-53-r5", "AU-7", "Audit Record Reduction and Report Generation", N),
    ("nist-800-53-r5", "AU-8", "Time Stamps", N),
    ("nist-800-53-r5", "AU-9", "Protection of Audit Information", N),
    ("nist-800-53-r5", "AU-9(4)", "Protection of Audit Information: Access by Subset of Privileged Users", N),
    ("nist-800-53-r5", "AU-10", "Non-repudiation", N),
    ("nist-800-53-r5", "AU-11", "Audit Record Retention", N),
    ("nist-800-53-r5", "AU-12", "Audit Record Generation", N),
    ("nist-800-53-r5", "CM-8", "System Component Inventory", N),
    ("nist-800-53-r5", "IA-2(1)", "Identification and Authentication: Multi-factor Authentication to Privileged Accounts", N),
    ("nist-800-53-r5", "SC-28", "Protection of Information at Rest", N),
    ("nist-800-53-r5", "SI-4", "System Monitoring", N),
    ("nist-800-53-r5", "SI-7", "Software, Firmware, and Information Integrity", N),
    ("fedramp-moderate-r5", "AC-2(4)", "Account Management: Automated Audit Actions", N),
    ("fedramp-moderate-r5", "AC-6(9)", "Least Privilege: Log Use of Privileged Functions", N),
    ("fedramp-moderate-r5", "AC-7", "Unsuccessful Logon Attempts", N),
    ("fedramp-moderate-r5", "AU-2", "Event Logging", N),
    ("fedramp-moderate-r5", "AU-3", "Content of Audit Records", N),
    ("fedramp-moderate-r5", "AU-3(1)", "Content of Audit Records: Additional Audit Information", N),
    ("fedramp-moderate-r5", "AU-4", "Audit Log Storage Capacity", N),
    ("fedramp-moderate-r5", "AU-5", "Response to Audit Logging Process Failures", N),
    ("fedramp-moderate-r5", "AU-6", "Audit Record Review, Analysis, and Reporting", N),
    ("fedramp-moderate-r5", "AU-6(1)", "Audit Record Review: Automated Process Integration", N),
    ("fedramp-moderate-r5", "AU-6(3)", "Audit Record Review: Correlate Audit Record Repositories", N),
    ("fedramp-moderate-r5", "AU-7", "Audit Record Reduction and Report Generation", N),
    ("fedramp-moderate-r5", "AU-8", "Time Stamps", N),
    ("fedramp-moderate-r5", "AU-9", "Protection of Audit Information", N),
    ("fedramp-moderate-r5", "AU-9(4)", "Protection of Audit Information: Access by Subset of Privileged Users", N),
    ("fedramp-moderate-r5", "AU-11", "Audit Record Retention", N),
    ("fedramp-moderate-r5", "AU-12", "Audit Record Generation", N),
    ("fedramp-moderate-r5", "CM-8", "System Component Inventory", N),
    ("fedramp-moderate-r5", "IA-2(1)", "Identification and Authentication: Multi-factor Authentication to Privileged Accounts", N),
    ("fedramp-moderate-r5", "SC-28", "Protection of Information at Rest", N),
    ("fedramp-moderate-r5", "SI-4", "System Monitoring", N),
    ("fedramp-moderate-r5", "SI-7", "Software, Firmware, and Information Integrity", N),
    // ISO/IEC 27001:2022 Annex A: the controls CloudTrail evidence speaks to, and those Prowler's
    // iso27001_2022_aws.json maps the logging section's checks to (TA-CFG-014..019) where the
    // control's subject is what the evidence shows (titles as in the standard; ids and titles as
    // transcribed in prowler-cloud/prowler).
    ("iso-27001-2022", "A.5.22", "Monitoring, review and change management of supplier services", N),
    ("iso-27001-2022", "A.5.28", "Collection of evidence", N),
    ("iso-27001-2022", "A.8.15", "Logging", N),
    ("iso-27001-2022", "A.8.16", "Monitoring activities", N),
    ("iso-27001-2022", "A.8.17", "Clock synchronization", N),
    ("iso-27001-2022", "A.8.20", "Networks security", N),
    ("iso-27001-2022", "A.8.21", "Security of network services", N),
    ("iso-27001-2022", "A.8.22", "Segregation of networks", N),
    // SOC 2 Trust Services Criteria: common criteria CC7 (system operations), and those Prowler's
    // soc2_aws.json maps the logging section's checks to (TA-CFG-014..019); short paraphrases of
    // the AICPA criteria (as transcribed in prowler-cloud/prowler soc2_aws.json).
    ("soc2", "CC2.1", "Relevant, quality information is obtained or generated and used to support internal control", N),
    ("soc2", "CC3.1", "Objectives are specified clearly enough for risks to them to be identified and assessed", N),
    ("soc2", "CC3.4", "Changes that could significantly impact internal control are identified and assessed", N),
    ("soc2", "CC6.8", "Unauthorized or malicious software is prevented or detected and acted on", N),
    ("soc2", "CC7.1", "Detection and monitoring procedures identify configuration changes that introduce vulnerabilities", N),
    ("soc2", "CC7.2", "System components are monitored for anomalies, which are analysed to identify security events", N),
    ("soc2", "CC7.3", "Security events are evaluated to determine whether they are incidents, and acted on", N),
    ("soc2", "CC7.4", "Identified security incidents are responded to through a defined incident response program", N),
    ("soc2", "CC8.1", "Changes to infrastructure, data, software and procedures are authorized, tested, approved and implemented", N),
    ("soc2", "PI1.2", "System inputs are measured and recorded completely, accurately and timely", N),
    ("soc2", "PI1.3", "Data is processed completely, accurately and timely as authorized", N),
    // AWS Security Hub controls.
    ("aws-fsbp", "CloudTrail.1", "At least one multi-Region trail recording read and write management events", N),
    ("aws-fsbp", "CloudTrail.2", "Trail encryption at rest with SSE-KMS", N),
    ("aws-fsbp", "CloudTrail.3", "At least one trail enabled", N),
    ("aws-fsbp", "CloudTrail.4", "Log file validation enabled", N),
    ("aws-fsbp", "CloudTrail.5", "Trail integrated with CloudWatch Logs", N),
    ("aws-fsbp", "CloudTrail.6", "Trail bucket not publicly accessible", N),
    ("aws-fsbp", "CloudTrail.7", "S3 access logging on the trail bucket", N),
    ("aws-fsbp", "CloudWatch.1", "Metric filter and alarm: root usage", N),
    ("aws-fsbp", "CloudWatch.2", "Metric filter and alarm: unauthorized API calls", N),
    ("aws-fsbp", "CloudWatch.3", "Metric filter and alarm: console sign-in without MFA", N),
    ("aws-fsbp", "CloudWatch.4", "Metric filter and alarm: IAM policy changes", N),
    ("aws-fsbp", "CloudWatch.5", "Metric filter and alarm: CloudTrail configuration changes", N),
    ("aws-fsbp", "CloudWatch.6", "Metric filter and alarm: console authentication failures", N),
    ("aws-fsbp", "CloudWatch.7", "Metric filter and alarm: CMK disable or scheduled deletion", N),
    ("aws-fsbp", "CloudWatch.8", "Metric filter and alarm: S3 bucket policy changes", N),
    ("aws-fsbp", "CloudWatch.9", "Metric filter and alarm: AWS Config changes", N),
    ("aws-fsbp", "CloudWatch.10", "Metric filter and alarm: security group changes", N),
    ("aws-fsbp", "CloudWatch.11", "Metric filter and alarm: NACL changes", N),
    ("aws-fsbp", "CloudWatch.12", "Metric filter and alarm: network gateway changes", N),
    ("aws-fsbp", "CloudWatch.13", "Metric filter and alarm: route table changes", N),
    ("aws-fsbp", "CloudWatch.14", "Metric filter and alarm: VPC changes", N),
    ("aws-fsbp", "Config.1", "AWS Config enabled, recording with the service-linked role", N),
    ("aws-fsbp", "EC2.6", "VPC flow logging enabled in all VPCs", N),
    ("aws-fsbp", "CloudFront.5", "CloudFront distributions have logging enabled", N),
    ("aws-fsbp", "ELB.5", "Application and Classic Load Balancers logging enabled", N),
];

/// The catalogued controls of `framework`, in the standard's order.
pub fn controls(framework: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    CONTROLS
        .iter()
        .filter(move |(f, ..)| *f == framework)
        .map(|(_, id, title, _)| (*id, *title))
}

/// How the framework says a catalogued control is assessed, where it says.
pub fn assessment(framework: &str, id: &str) -> Option<Assessment> {
    CONTROLS
        .iter()
        .find(|(f, c, ..)| *f == framework && *c == id)
        .and_then(|(.., a)| *a)
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
        for (f, id, title, _) in CONTROLS {
            assert!(FRAMEWORKS.contains(f), "{f}");
            assert!(!title.is_empty());
            assert!(seen.insert((f, id)), "{f} {id} twice");
        }
    }

    #[test]
    fn every_framework_key_has_a_catalogue_and_a_name() {
        for key in FRAMEWORKS {
            assert!(controls(key).count() > 0, "{key} has no catalogue");
            assert!(
                crate::policy::framework_name(key).is_some(),
                "{key} has no name"
            );
        }
    }

    #[test]
    fn cis_versions_number_logging_and_monitoring_their_own_way() {
        // v5.0 keeps v3.0's sections 3 and 4; v6.0 and v7.0 moved them to 4 and 5, and v7.0
        // added 4.10 (web front-end access logging).
        assert_eq!(controls("cis-aws-v5.0").count(), 9 + 16);
        assert_eq!(controls("cis-aws-v6.0").count(), 9 + 16);
        assert_eq!(controls("cis-aws-v7.0").count(), 10 + 16);
        assert!(
            controls("cis-aws-v6.0").all(|(id, _)| id.starts_with("4.") || id.starts_with("5."))
        );
        assert_eq!(assessment("cis-aws-v6.0", "4.1"), Some(Assessment::Manual));
        assert_eq!(
            assessment("cis-aws-v6.0", "4.2"),
            Some(Assessment::Automated)
        );
        assert_eq!(
            assessment("cis-aws-v7.0", "5.16"),
            Some(Assessment::Automated)
        );
        assert_eq!(assessment("cis-aws-v5.0", "4.3"), Some(Assessment::Manual));
        assert!(title("cis-aws-v7.0", "4.10").is_some_and(|t| t.contains("CloudFront")));
        assert_eq!(assessment("cis-aws-v3.0", "3.1"), None);
        assert_eq!(assessment("pci-dss-v4.0", "10.2.1"), None);
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
