//! Framework keys: `trailaudit frameworks`, `--framework KEY` on `policy list` and `audit`, and
//! the mappings the acceptance asks for, read from the policy set the binary loads.

use crate::common;

use common::trailaudit;
use serde_json::Value;

const KEYS: [&str; 10] = [
    "cis-aws-v3.0",
    "cis-aws-v5.0",
    "cis-aws-v6.0",
    "cis-aws-v7.0",
    "pci-dss-v4.0",
    "nist-800-53-r5",
    "fedramp-moderate-r5",
    "iso-27001-2022",
    "soc2",
    "aws-fsbp",
];

fn policies() -> Vec<Value> {
    let run = trailaudit(["policy", "list", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json().as_array().cloned().expect("an array")
}

fn ids(p: &Value, key: &str) -> Vec<String> {
    p["frameworks"][key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn frameworks_lists_every_key_with_its_full_name() {
    let run = trailaudit(["frameworks"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for key in KEYS {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("{key} not listed:\n{}", run.stdout));
        assert!(line.len() > key.len() + 20, "{key} has no name: {line}");
    }
    assert!(run.stdout.contains("PCI DSS v4.0.1"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("pci-dss-v4.0.1 is accepted for pci-dss-v4.0"));

    let json = trailaudit(["frameworks", "--format", "json"]).json();
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), KEYS.len());
    for row in rows {
        assert!(row["controls"].as_u64().unwrap_or(0) > 0, "{row}");
        assert!(row["policies"].as_u64().unwrap_or(0) > 0, "{row}");
    }
}

#[test]
fn policy_list_filters_by_each_key_and_shows_its_controls() {
    let all = policies();
    for key in KEYS {
        let run = trailaudit(["policy", "list", "--framework", key, "--format", "json"]);
        assert_eq!(run.code, 0, "{key}: {}", run.stderr);
        let listed = run.json();
        let listed = listed.as_array().expect("an array");
        let expected = all.iter().filter(|p| !ids(p, key).is_empty()).count();
        assert!(!listed.is_empty(), "{key} lists nothing");
        assert_eq!(listed.len(), expected, "{key}");
        assert!(listed.iter().all(|p| !ids(p, key).is_empty()), "{key}");
    }
    // The text listing names the asked framework's controls, not CIS v3.0's.
    let text = trailaudit(["policy", "list", "--framework", "cis-aws-v6.0"]);
    let line = text
        .stdout
        .lines()
        .find(|l| l.starts_with("TA-MON-403"))
        .expect("TA-MON-403 listed");
    assert!(line.ends_with("cis-aws-v6.0 5.3"), "{line}");
}

#[test]
fn the_pci_alias_and_unknown_keys() {
    let alias = trailaudit([
        "policy",
        "list",
        "--framework",
        "pci-dss-v4.0.1",
        "--format",
        "json",
    ]);
    let key = trailaudit([
        "policy",
        "list",
        "--framework",
        "pci-dss-v4.0",
        "--format",
        "json",
    ]);
    assert_eq!(alias.code, 0, "{}", alias.stderr);
    assert_eq!(alias.stdout, key.stdout);
    let bad = trailaudit(["policy", "list", "--framework", "cis-aws-v4.0"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("unknown framework"), "{}", bad.stderr);
    let bad = trailaudit(["audit", "--framework", "iso27001", "--config", "."]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("trailaudit frameworks"),
        "{}",
        bad.stderr
    );
}

/// v3.0 `3.N` is v5.0 `3.N` and v6.0/v7.0 `4.N`; v3.0 `4.N` is v5.0 `4.N` and v6.0/v7.0 `5.N`
/// (CIS renumbered logging to section 4 and monitoring to section 5 in v6.0).
#[test]
fn every_cis_v3_mapping_carries_over_in_each_versions_numbering() {
    let mut monitoring = 0;
    for p in policies() {
        let id = p["id"].as_str().unwrap_or_default().to_string();
        for v3 in ids(&p, "cis-aws-v3.0") {
            let (section, n) = v3.split_once('.').expect("N.N");
            let later = format!("{}.{n}", section.parse::<u32>().expect("a number") + 1);
            assert!(ids(&p, "cis-aws-v5.0").contains(&v3), "{id}: v5.0 {v3}");
            assert!(
                ids(&p, "cis-aws-v6.0").contains(&later),
                "{id}: v6.0 {later}"
            );
            assert!(
                ids(&p, "cis-aws-v7.0").contains(&later),
                "{id}: v7.0 {later}"
            );
            if p["kind"] == "monitoring" && section == "4" {
                monitoring += 1;
            }
        }
    }
    assert_eq!(
        monitoring, 15,
        "every v3.0 4.1-4.15 monitoring policy checked"
    );
}

#[test]
fn the_acceptance_mappings_hold() {
    let all = policies();
    let by_id = |id: &str| {
        all.iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))
            .clone()
    };
    // Multi-region (and global service events), validation and KMS: v6.0/v7.0 4.1, 4.2, 4.5.
    for (id, control) in [
        ("TA-CFG-001", "4.1"),
        ("TA-CFG-002", "4.2"),
        ("TA-CFG-003", "4.5"),
    ] {
        let p = by_id(id);
        for key in ["cis-aws-v6.0", "cis-aws-v7.0"] {
            assert_eq!(ids(&p, key), vec![control.to_string()], "{id} {key}");
        }
    }
    for n in 1..=15 {
        let p = by_id(&format!("TA-MON-4{n:02}"));
        assert_eq!(ids(&p, "cis-aws-v5.0"), vec![format!("4.{n}")]);
        assert_eq!(ids(&p, "cis-aws-v6.0"), vec![format!("5.{n}")]);
        assert_eq!(ids(&p, "cis-aws-v7.0"), vec![format!("5.{n}")]);
        assert!(ids(&p, "iso-27001-2022").contains(&"A.8.16".to_string()));
        assert!(ids(&p, "soc2").contains(&"CC7.2".to_string()));
    }
    assert!(ids(&by_id("TA-CFG-001"), "iso-27001-2022").contains(&"A.8.15".to_string()));
}

#[test]
fn explain_shows_every_mapping() {
    let run = trailaudit(["policy", "explain", "TA-MON-401"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for key in [
        "cis-aws-v3.0",
        "cis-aws-v5.0",
        "cis-aws-v6.0",
        "cis-aws-v7.0",
        "iso-27001-2022",
        "soc2",
        "aws-fsbp",
    ] {
        assert!(
            run.stdout.lines().any(|l| l.trim_start().starts_with(key)),
            "{key} missing:\n{}",
            run.stdout
        );
    }
}

#[test]
fn a_policy_file_may_use_the_pci_alias() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/TA-CFG-006-sns-notification.toml"
    ))
    .expect("read a built-in policy")
    .replace("id = \"TA-CFG-006\"", "id = \"X-1\"")
    .replace("\"pci-dss-v4.0\" =", "\"pci-dss-v4.0.1\" =");
    std::fs::write(dir.path().join("X-1-alias.toml"), text).expect("write");
    let run = trailaudit([
        "policy",
        "list",
        "--policies",
        dir.path().to_str().expect("utf-8"),
        "--framework",
        "pci-dss-v4.0",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed = run.json();
    let x = listed
        .as_array()
        .expect("an array")
        .iter()
        .find(|p| p["id"] == "X-1")
        .cloned()
        .expect("X-1 listed under pci-dss-v4.0");
    assert_eq!(ids(&x, "pci-dss-v4.0"), vec!["10.7.2".to_string()]);
    assert!(x["frameworks"].get("pci-dss-v4.0.1").is_none());
}
