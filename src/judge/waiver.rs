//! Waivers (accepted exceptions) and baselines (findings already known).
//!
//! A waiver file is TOML:
//!
//! ```toml
//! [[waiver]]
//! id = "W-2026-014"                         # optional; default W1, W2, ... in file order
//! policy = "TA-EVT-401"                      # required: the policy it excepts
//! account = "111122223333"                   # scope, all optional, `*` wildcards allowed
//! region = "us-east-1"
//! principal = "arn:aws:iam::111122223333:user/break-glass"
//! resource = "arn:aws:cloudtrail:*:111122223333:trail/legacy-*"
//! reason = "Break-glass drill, approved by the CISO"
//! owner = "secops@example.com"
//! ticket = "SEC-1234"
//! expires = 2026-12-31                       # last day it applies (UTC); a TOML date or a string
//! ```
//!
//! A finding is waived when a waiver for its policy is in force and every scope key given
//! matches: `account` and `region` the finding's; `resource` the finding's resource;
//! `principal` the finding's resource (event findings name their principal there) or the
//! principal of every evidence event shown. An expired waiver stops applying and is reported.
//! Every problem in the file is reported together, with the waiver's index and key.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::filter::ast::Glob;
use crate::finding::Finding;
use crate::policy::PolicySet;

/// A waiver as the report shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Waiver {
    pub id: String,
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub reason: String,
    pub owner: String,
    pub ticket: String,
    /// Last day the waiver applies, `YYYY-MM-DD` (UTC).
    pub expires: String,
    /// `active` (in force and waived at least one finding), `unused` (in force, matched
    /// nothing) or `expired` (past its date: it waived nothing).
    pub status: WaiverStatus,
    /// Findings it waived (for an expired waiver: findings it would have waived).
    pub findings: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    Active,
    Unused,
    Expired,
}

/// One problem in a waiver file.
#[derive(Debug, Clone, PartialEq)]
pub struct WaiverError {
    pub file: String,
    pub key: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct WaiverErrors(pub Vec<WaiverError>);

impl fmt::Display for WaiverErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(f, "{} problem(s) in waiver files:", self.0.len())?;
        for e in &self.0 {
            if e.key.is_empty() {
                writeln!(f, "  {}: {}", e.file, e.message)?;
            } else {
                writeln!(f, "  {}: `{}`: {}", e.file, e.key, e.message)?;
            }
        }
        Ok(())
    }
}

const KEYS: [&str; 11] = [
    "id",
    "policy",
    "account",
    "region",
    "principal",
    "resource",
    "reason",
    "owner",
    "ticket",
    "expires",
    "note",
];

/// Reads waiver files, checking every entry against the policy set. `today` decides expiry.
pub fn load(
    paths: &[impl AsRef<Path>],
    set: &PolicySet,
    today: NaiveDate,
) -> Result<Vec<Waiver>, WaiverErrors> {
    let mut errors = Vec::new();
    let mut waivers = Vec::new();
    // Where each waiver id was first defined, so a repeat names both files.
    let mut first_file: std::collections::BTreeMap<String, String> = Default::default();
    for path in paths {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(WaiverError {
                    file,
                    key: String::new(),
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        let before = waivers.len();
        parse(&text, &file, set, today, &mut waivers, &mut errors);
        for w in &waivers[before..] {
            match first_file.get(&w.id) {
                Some(first) => errors.push(WaiverError {
                    file: file.clone(),
                    key: "id".into(),
                    message: if *first == file {
                        format!("waiver id {:?} is used twice in this file", w.id)
                    } else {
                        format!("waiver id {:?} is already used in {first}", w.id)
                    },
                }),
                None => {
                    first_file.insert(w.id.clone(), file.clone());
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(waivers)
    } else {
        Err(WaiverErrors(errors))
    }
}

fn parse(
    text: &str,
    file: &str,
    set: &PolicySet,
    today: NaiveDate,
    waivers: &mut Vec<Waiver>,
    errors: &mut Vec<WaiverError>,
) {
    let mut err = |key: String, message: String| {
        errors.push(WaiverError {
            file: file.to_string(),
            key,
            message,
        })
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            err(String::new(), format!("not valid TOML: {}", e.message()));
            return;
        }
    };
    for key in table.keys() {
        if key != "waiver" {
            err(
                key.clone(),
                "unknown key; waivers are `[[waiver]]` tables".into(),
            );
        }
    }
    let Some(list) = table.get("waiver") else {
        return;
    };
    let Some(list) = list.as_array() else {
        err(
            "waiver".into(),
            "must be an array of tables: `[[waiver]]`".into(),
        );
        return;
    };
    for (i, entry) in list.iter().enumerate() {
        let at = |k: &str| format!("waiver[{i}].{k}");
        let Some(t) = entry.as_table() else {
            err(format!("waiver[{i}]"), "must be a table".into());
            continue;
        };
        for k in t.keys() {
            if !KEYS.contains(&k.as_str()) {
                err(at(k), format!("unknown key; use {}", KEYS.join(", ")));
            }
        }
        let mut text_of = |k: &str, required: bool| -> Option<String> {
            match t.get(k) {
                None if required => {
                    err(at(k), "required".into());
                    None
                }
                None => None,
                Some(toml::Value::String(s)) if s.trim().is_empty() => {
                    err(at(k), "must not be empty".into());
                    None
                }
                Some(toml::Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    err(at(k), "must be a string".into());
                    None
                }
            }
        };
        let id = text_of("id", false);
        let policy = text_of("policy", true);
        let account = text_of("account", false);
        let region = text_of("region", false);
        let principal = text_of("principal", false);
        let resource = text_of("resource", false);
        let reason = text_of("reason", true);
        let owner = text_of("owner", true);
        let ticket = text_of("ticket", true);
        let expires = match t.get("expires") {
            None => {
                err(
                    at("expires"),
                    "required: the last day the waiver applies".into(),
                );
                None
            }
            Some(toml::Value::Datetime(d)) => match (d.date, d.time) {
                (Some(date), None) => NaiveDate::from_ymd_opt(
                    i32::from(date.year),
                    u32::from(date.month),
                    u32::from(date.day),
                ),
                _ => {
                    err(at("expires"), "must be a date, such as 2026-12-31".into());
                    None
                }
            },
            Some(toml::Value::String(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    err(
                        at("expires"),
                        format!("{s:?} is not a date such as 2026-12-31"),
                    );
                    None
                }
            },
            Some(_) => {
                err(at("expires"), "must be a date, such as 2026-12-31".into());
                None
            }
        };
        // Ids are typed by people, in any case; the waiver keeps the set's spelling.
        let policy = policy.and_then(|p| match set.get(&p) {
            Some(x) => Some(x.id.clone()),
            None => {
                err(at("policy"), format!("no policy {p:?} in the policy set"));
                None
            }
        });
        if let (Some(policy), Some(reason), Some(owner), Some(ticket), Some(expires)) =
            (policy, reason, owner, ticket, expires)
        {
            waivers.push(Waiver {
                id: id.unwrap_or_else(|| format!("W{}", waivers.len() + 1)),
                policy,
                account,
                region,
                principal,
                resource,
                reason,
                owner,
                ticket,
                expires: expires.to_string(),
                status: if expires < today {
                    WaiverStatus::Expired
                } else {
                    WaiverStatus::Unused
                },
                findings: 0,
            });
        }
    }
}

impl Waiver {
    /// Whether this waiver's policy and scope cover `finding` of `policy` (expiry aside).
    pub fn covers(&self, policy: &str, finding: &Finding) -> bool {
        let glob = |pattern: &Option<String>, value: &str| {
            pattern.as_ref().is_none_or(|p| Glob::new(p).matches(value))
        };
        self.policy == policy
            && glob(&self.account, &finding.account)
            && glob(&self.region, &finding.region)
            && glob(&self.resource, &finding.resource)
            && self.principal.as_ref().is_none_or(|p| {
                let g = Glob::new(p);
                g.matches(&finding.resource)
                    || (!finding.evidence.is_empty()
                        && finding
                            .evidence
                            .iter()
                            .all(|e| e.principal.as_deref().is_some_and(|x| g.matches(x))))
            })
    }

    pub fn in_force(&self) -> bool {
        self.status != WaiverStatus::Expired
    }
}

/// The identity of a finding across runs: policy, account, region and resource (what SARIF's
/// `partialFingerprints` carries). Counts and times in the message may change; these do not.
pub fn finding_key(policy: &str, f: &Finding) -> String {
    format!("{policy}|{}|{}|{}", f.account, f.region, f.resource)
}

/// The findings of a previous JSON report, by [`finding_key`].
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub path: String,
    pub findings: std::collections::BTreeMap<String, Known>,
}

/// What a baseline knew of a finding's events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    pub last_seen: Option<String>,
    pub event_total: u64,
    pub event_ids: BTreeSet<String>,
    /// `event_ids` lists every event of the finding (it was not cut at the first 20).
    pub all_ids: bool,
}

impl Baseline {
    /// Whether the baseline already had `f` (of `policy`), events and all. A finding it did
    /// not have is new; so is one holding events it did not: a later last event, more events,
    /// or (when the baseline listed all of its ids) an event id it did not list. So a
    /// baseline hides what was known, never what happened since.
    pub fn knows(&self, policy: &str, f: &Finding) -> bool {
        let Some(k) = self.findings.get(&finding_key(policy, f)) else {
            return false;
        };
        if f.event_total == 0 {
            return true;
        }
        let later = match (&f.last_seen, &k.last_seen) {
            (Some(now), Some(then)) => now > then,
            (Some(_), None) => true,
            _ => false,
        };
        let unlisted = k.all_ids && f.event_ids.iter().any(|id| !k.event_ids.contains(id));
        !(later || f.event_total > k.event_total || unlisted)
    }

    /// Baseline findings (by key) that this run's `seen` keys no longer have.
    pub fn absent(&self, seen: &BTreeSet<String>) -> u64 {
        self.findings.keys().filter(|k| !seen.contains(*k)).count() as u64
    }
}

#[derive(Debug, thiserror::Error)]
#[error("baseline {path}: {message}")]
pub struct BaselineError {
    pub path: String,
    pub message: String,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let fail = |message: String| BaselineError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            fail(format!(
                "not JSON ({e}); give a report from `audit --format json`"
            ))
        })?;
        if v.get("schema_version").is_none() || !v["policies"].is_array() {
            return Err(fail(
                "not a trailaudit JSON report (no schema_version or policies)".into(),
            ));
        }
        let mut findings: std::collections::BTreeMap<String, Known> = Default::default();
        for p in v["policies"].as_array().into_iter().flatten() {
            let (Some(id), Some(status)) = (p["id"].as_str(), p["status"].as_str()) else {
                continue;
            };
            if status != "fail" && status != "waived" {
                continue;
            }
            for f in p["findings"].as_array().into_iter().flatten() {
                match serde_json::from_value::<Finding>(f.clone()) {
                    Ok(f) => {
                        let k = findings.entry(finding_key(id, &f)).or_default();
                        k.all_ids = f.event_ids.len() as u64 >= f.event_total;
                        k.event_total += f.event_total;
                        k.last_seen = k.last_seen.clone().max(f.last_seen.clone());
                        k.event_ids.extend(f.event_ids);
                    }
                    Err(e) => {
                        return Err(fail(format!("policy {id}: a finding is malformed: {e}")))
                    }
                }
            }
        }
        Ok(Baseline {
            path: path.display().to_string(),
            findings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> PolicySet {
        PolicySet::load(&[], false).expect("built-in set")
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    fn parse_str(text: &str) -> (Vec<Waiver>, Vec<WaiverError>) {
        let (mut w, mut e) = (Vec::new(), Vec::new());
        parse(text, "w.toml", &set(), today(), &mut w, &mut e);
        (w, e)
    }

    const GOOD: &str = r#"
[[waiver]]
policy = "TA-EVT-401"
account = "1111*"
reason = "drill"
owner = "secops"
ticket = "SEC-1"
expires = 2026-06-01
"#;

    #[test]
    fn a_repeated_waiver_id_names_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let with_id = GOOD.replace("[[waiver]]", "[[waiver]]\nid = \"W-7\"");
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, format!("{with_id}{with_id}")).unwrap();
        std::fs::write(&b, &with_id).unwrap();
        let errors = load(&[&a, &b], &set(), today()).unwrap_err().0;
        let (a, b) = (a.display().to_string(), b.display().to_string());
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].file, a);
        assert_eq!(
            errors[0].message,
            "waiver id \"W-7\" is used twice in this file"
        );
        assert_eq!(errors[1].file, b);
        assert_eq!(
            errors[1].message,
            format!("waiver id \"W-7\" is already used in {a}")
        );
    }

    #[test]
    fn a_waiver_applies_through_its_last_day() {
        let (w, e) = parse_str(GOOD);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(w[0].id, "W1");
        assert_eq!(w[0].status, WaiverStatus::Unused);
        let (w, _) = parse_str(&GOOD.replace("2026-06-01", "\"2026-05-31\""));
        assert_eq!(w[0].status, WaiverStatus::Expired);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let (w, e) = parse_str(
            r#"
[[waiver]]
policy = "TA-NOPE"
reason = ""
owner = "x"
expires = "soon"
colour = "red"
"#,
        );
        assert!(w.is_empty());
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        for k in [
            "waiver[0].colour",
            "waiver[0].reason",
            "waiver[0].ticket",
            "waiver[0].expires",
            "waiver[0].policy",
        ] {
            assert!(keys.contains(&k), "{k} not in {keys:?}");
        }
    }

    #[test]
    fn scope_matches_with_wildcards_and_principal_through_evidence() {
        let (w, _) = parse_str(&GOOD.replace(
            "account = \"1111*\"",
            "account = \"1111*\"\nprincipal = \"arn:aws:iam::*:user/drill\"",
        ));
        let mut f = Finding {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            resource: "arn:aws:iam::111122223333:user/drill".into(),
            ..Finding::default()
        };
        assert!(w[0].covers("TA-EVT-401", &f));
        assert!(!w[0].covers("TA-EVT-402", &f));
        f.resource = "someone else".into();
        assert!(!w[0].covers("TA-EVT-401", &f));
        f.account = "999999999999".into();
        f.resource = "arn:aws:iam::111122223333:user/drill".into();
        assert!(!w[0].covers("TA-EVT-401", &f));
    }
}
