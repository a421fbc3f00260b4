//! Every documented case of the filter-pattern reference (`tests/fixtures/reference/
//! filter-pattern-cases.jsonl`, copied from the shared reference) as its own named test, and
//! every CIS / Security Hub monitoring pattern parses.

use trailaudit::filter::Pattern;

fn case(line: usize) {
    let text = include_str!("../fixtures/reference/filter-pattern-cases.jsonl");
    let case: serde_json::Value =
        serde_json::from_str(text.lines().nth(line).expect("case line")).unwrap();
    let pattern = case["pattern"].as_str().unwrap();
    let parsed = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    assert_eq!(
        parsed.matches(&case["event"]),
        case["match"].as_bool().unwrap(),
        "{pattern}\nevent: {}\nnote: {}",
        case["event"],
        case["note"]
    );
}

macro_rules! cases {
    ($($name:ident => $line:expr,)*) => {
        $(#[test] fn $name() { case($line) })*

        #[test]
        fn every_case_has_a_test() {
            let n = include_str!("../fixtures/reference/filter-pattern-cases.jsonl").lines().filter(|l| !l.trim().is_empty()).count();
            assert_eq!(n, [$($line),*].len());
        }
    };
}

cases! {
    case_01_match_eventtype_updatetrail => 0,
    case_02_match_sourceipaddress_123_123 => 1,
    case_03_match_arraykey_0_value => 2,
    case_04_match_objectlist_1_id_2 => 3,
    case_05_match_eventtype_trail => 4,
    case_06_match_arraykey_val_2 => 5,
    case_07_match_111_111_111_1_0_9_1_2 => 6,
    case_08_match_cluster_name_c => 7,
    case_09_match_someobject_is_null => 8,
    case_10_match_someotherobject_not_exists => 9,
    case_11_match_eventtype_sourceipaddress_123_123 => 10,
    case_12_match_thisflag_is_true => 11,
    case_13_match_user_id_1_users_0_email_john_doe_example_com => 12,
    case_14_match_user_email_john_stiles_example_com_coordinates_0 => 13,
    case_15_no_match_user_email_john_stiles_example_com_coordinates_0 => 14,
    case_16_no_match_user_id_2_users_0_email_nonmatch_actions_2_get => 15,
    case_17_match_user_email_john_stiles_example_com_coordinates_0 => 16,
    case_18_no_match_user_email_john_stiles_example_com_coordinates_0 => 17,
    case_19_no_match_users_1 => 18,
    case_20_no_match_users_1 => 19,
    case_21_match_foo_bar => 20,
    case_22_no_match_foo_bar => 21,
    case_23_match_foo_baz => 22,
    case_24_match_foo_bar_foo_baz => 23,
    case_25_match_foo_bar_foo_baz => 24,
    case_26_match_latency => 25,
    case_27_match_eventname_event => 26,
    case_28_match_eventname_event => 27,
    case_29_match_eventname_event => 28,
    case_30_match_eventname_event => 29,
    case_31_match_eventname_ev_ent => 30,
}

fn patterns(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if s.trim_start().starts_with('{') => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| patterns(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| patterns(x, out)),
        _ => {}
    }
}

#[test]
fn every_cis_and_security_hub_pattern_parses() {
    let doc: serde_json::Value = serde_json::from_str(include_str!(
        "../fixtures/reference/cis-monitoring-patterns.json"
    ))
    .unwrap();
    let mut all = Vec::new();
    patterns(&doc, &mut all);
    assert!(all.len() > 100, "found {} patterns", all.len());
    let failures: Vec<String> = all
        .iter()
        .filter_map(|p| Pattern::parse(p).err().map(|e| format!("{p}\n{e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
