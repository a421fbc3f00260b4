//! The built-in policy set: it loads, and every policy's examples behave as declared, each
//! policy as its own named test.

use trailaudit::policy::{self, Kind, PolicySet};

fn set() -> PolicySet {
    PolicySet::load(&[], false).unwrap_or_else(|e| panic!("{e}"))
}

fn examples(id: &str) {
    let set = set();
    let p = set
        .get(id)
        .unwrap_or_else(|| panic!("{id} in the built-in set"));
    let failures = policy::test_examples(p);
    assert!(failures.is_empty(), "{id}:\n{}", failures.join("\n"));
    match p.kind {
        Kind::Monitoring => {
            let control = set.control_events(p).expect("control events");
            assert!(
                control.examples.iter().any(|e| e.matches),
                "{id}: its control has required events"
            );
        }
        // Checked on signed digest chains and event histories in tests/it/verify.rs.
        Kind::Integrity => {}
        _ => assert!(p.examples.iter().any(|e| e.matches) && p.examples.iter().any(|e| !e.matches)),
    }
}

macro_rules! policies {
    ($($name:ident => $id:expr,)*) => {
        $(#[test] fn $name() { examples($id) })*

        #[test]
        fn every_policy_has_a_test() {
            let ids: Vec<String> = set().policies.iter().map(|p| p.id.clone()).collect();
            let mut listed: Vec<&str> = vec![$($id),*];
            listed.sort();
            assert_eq!(ids, listed);
        }
    };
}

policies! {
    ta_cfg_001_multi_region_trail_logging_all_management_events => "TA-CFG-001",
    ta_cfg_002_log_file_validation => "TA-CFG-002",
    ta_cfg_003_kms_encryption => "TA-CFG-003",
    ta_cfg_004_global_service_events => "TA-CFG-004",
    ta_cfg_005_cloudwatch_logs_integration => "TA-CFG-005",
    ta_cfg_006_sns_notification => "TA-CFG-006",
    ta_cfg_007_trail_logging => "TA-CFG-007",
    ta_cfg_008_trail_delivery_errors => "TA-CFG-008",
    ta_cfg_009_trail_bucket_not_public => "TA-CFG-009",
    ta_cfg_010_trail_bucket_access_logging => "TA-CFG-010",
    ta_cfg_011_s3_object_level_write_events => "TA-CFG-011",
    ta_cfg_012_s3_object_level_read_events => "TA-CFG-012",
    ta_cfg_013_trail_kms_key_rotation => "TA-CFG-013",
    ta_cfg_014_config_recorder_all_regions => "TA-CFG-014",
    ta_cfg_015_vpc_flow_logs => "TA-CFG-015",
    ta_cfg_016_security_hub_enabled => "TA-CFG-016",
    ta_cfg_017_cloudfront_access_logging => "TA-CFG-017",
    ta_cfg_018_load_balancer_access_logging => "TA-CFG-018",
    ta_cfg_019_api_gateway_stage_access_logging => "TA-CFG-019",
    ta_evt_401_unauthorized_api_calls => "TA-EVT-401",
    ta_int_001_log_file_integrity => "TA-INT-001",
    ta_int_002_delivery_gaps => "TA-INT-002",
    ta_evt_402_console_sign_in_without_mfa => "TA-EVT-402",
    ta_evt_403_root_account_usage => "TA-EVT-403",
    ta_evt_404_iam_policy_changes => "TA-EVT-404",
    ta_evt_405_cloudtrail_configuration_changes => "TA-EVT-405",
    ta_evt_406_console_authentication_failures => "TA-EVT-406",
    ta_evt_407_cmk_disabled_or_scheduled_for_deletion => "TA-EVT-407",
    ta_evt_408_s3_bucket_policy_changes => "TA-EVT-408",
    ta_evt_409_aws_config_changes => "TA-EVT-409",
    ta_evt_410_security_group_changes => "TA-EVT-410",
    ta_evt_411_network_acl_changes => "TA-EVT-411",
    ta_evt_412_network_gateway_changes => "TA-EVT-412",
    ta_evt_413_route_table_changes => "TA-EVT-413",
    ta_evt_414_vpc_changes => "TA-EVT-414",
    ta_evt_415_organizations_changes => "TA-EVT-415",
    ta_evt_501_root_user_any_activity => "TA-EVT-501",
    ta_evt_502_root_access_key_created => "TA-EVT-502",
    ta_evt_503_cloudtrail_tampering => "TA-EVT-503",
    ta_evt_504_trail_bucket_or_digest_deletion => "TA-EVT-504",
    ta_evt_505_security_services_disabled => "TA-EVT-505",
    ta_evt_506_mfa_device_deactivated => "TA-EVT-506",
    ta_evt_507_iam_user_or_access_key_created => "TA-EVT-507",
    ta_evt_508_console_login_failure_burst => "TA-EVT-508",
    ta_evt_509_unauthorized_calls_by_principal => "TA-EVT-509",
    ta_mon_401_unauthorized_api_calls_alarm => "TA-MON-401",
    ta_mon_402_console_sign_in_without_mfa_alarm => "TA-MON-402",
    ta_mon_403_root_account_usage_alarm => "TA-MON-403",
    ta_mon_404_iam_policy_changes_alarm => "TA-MON-404",
    ta_mon_405_cloudtrail_configuration_changes_alarm => "TA-MON-405",
    ta_mon_406_console_authentication_failures_alarm => "TA-MON-406",
    ta_mon_407_cmk_disabled_or_scheduled_for_deletion_alarm => "TA-MON-407",
    ta_mon_408_s3_bucket_policy_changes_alarm => "TA-MON-408",
    ta_mon_409_aws_config_changes_alarm => "TA-MON-409",
    ta_mon_410_security_group_changes_alarm => "TA-MON-410",
    ta_mon_411_network_acl_changes_alarm => "TA-MON-411",
    ta_mon_412_network_gateway_changes_alarm => "TA-MON-412",
    ta_mon_413_route_table_changes_alarm => "TA-MON-413",
    ta_mon_414_vpc_changes_alarm => "TA-MON-414",
    ta_mon_415_organizations_changes_alarm => "TA-MON-415",
}
