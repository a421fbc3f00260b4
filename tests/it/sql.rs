//! `trailaudit sql` means what the pattern means: its `duckdb` SQL, run against a DuckDB table
//! with the Athena CloudTrail table's schema (structs, an array of structs, JSON-text columns)
//! built from real and generated records, selects exactly the records the reference evaluator
//! matches; its `athena` SQL parses as Trino (sqlglot). Also `athena ddl`.
//!
//! The table cannot keep everything a record can hold, so the comparison is on the record as
//! the table keeps it ([`as_table_keeps`]): nulls at column or struct-field level read as
//! absent, and a pattern's `IS NULL` on such a path as `NOT EXISTS` (the documented caveat).
//! Records a column's type cannot hold at all (a number where the table has a string) are
//! left out and counted.

use crate::common;
use crate::common::athena_table;
use crate::common::pytools;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use athena_table::{duckdb_type, from_row, to_row};
use common::trailaudit;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use trailaudit::filter::ast::{Expr, Test};
use trailaudit::filter::Pattern;
use trailaudit::sql::table::COLUMNS;
use trailaudit::sql::{self, Dialect};

/// Builds the table from `rows.ndjson`, runs each query of `queries.json` and parses each
/// statement of `athena.json` as Trino; prints the eventids each query selects.
const RUNNER: &str = r#"
import sqlglot
out = {"results": {}, "errors": {}, "parse_errors": {}, "rows": con.execute("SELECT count(*) FROM %s" % spec["table"]).fetchone()[0]}
for qid, q in spec["queries"].items():
    try:
        out["results"][qid] = sorted(r[0] for r in con.execute(q).fetchall())
    except Exception as e:
        out["errors"][qid] = "%s\n%s" % (e, q)
for qid, q in spec["athena"].items():
    try:
        sqlglot.parse_one(q, read=spec.get("read", "trino"))
    except Exception as e:
        out["parse_errors"][qid] = "%s\n%s" % (e, q)
print(json.dumps(out))
"#;

const TABLE: &str = "cloudtrail_logs";

/// The pattern as the table can answer it: `IS NULL` on a path the table keeps as a column or
/// struct field (where SQL NULL is absent or null) reads as `NOT EXISTS`.
fn as_table_keeps(p: &Pattern) -> Pattern {
    fn walk(e: &Expr) -> Expr {
        match e {
            Expr::And(i) => Expr::And(i.iter().map(walk).collect()),
            Expr::Or(i) => Expr::Or(i.iter().map(walk).collect()),
            Expr::Cond(c) => {
                let mut c = c.clone();
                if matches!(c.test, Test::IsNull) {
                    let one = Pattern::Json(Expr::Cond(c.clone()));
                    if sql::compile(&one, Dialect::Duckdb).is_ok_and(|s| !s.notes.is_empty()) {
                        c.test = Test::NotExists;
                    }
                }
                Expr::Cond(c)
            }
        }
    }
    match p {
        Pattern::Json(e) => Pattern::Json(walk(e)),
        p => p.clone(),
    }
}

struct Table {
    rows: Vec<Map<String, Value>>,
    /// What the table keeps of each row's record.
    kept: Vec<Value>,
    /// The records as written, for the rows.
    original: Vec<Value>,
    misfits: Vec<String>,
}

/// The table of `records`, each given a unique eventID when it has none (or a repeated one).
fn table(records: &[Value]) -> Table {
    let mut t = Table {
        rows: Vec::new(),
        kept: Vec::new(),
        original: Vec::new(),
        misfits: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for (i, r) in records.iter().enumerate() {
        let mut r = r.clone();
        let id = r["eventID"].as_str().map(str::to_string);
        if id.as_ref().is_none_or(|id| !seen.insert(id.clone())) {
            if let Value::Object(o) = &mut r {
                o.insert("eventID".into(), json!(format!("generated-{i}")));
            }
        }
        match to_row(&r) {
            Ok(row) => {
                t.kept.push(from_row(&row));
                t.rows.push(row);
                t.original.push(r);
            }
            Err(e) => t.misfits.push(e),
        }
    }
    t
}

struct Outcome {
    results: BTreeMap<String, BTreeSet<String>>,
}

/// Runs `queries` (duckdb dialect) on the table and parses `athena` statements as `read`.
fn run(
    venv: &Path,
    rows: &[Map<String, Value>],
    queries: &BTreeMap<String, String>,
    athena: &BTreeMap<String, String>,
    read: &str,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let ndjson: Vec<String> = rows
        .iter()
        .map(|r| Value::Object(r.clone()).to_string())
        .collect();
    common::write(
        &dir.path().join("rows.ndjson"),
        (ndjson.join("\n") + "\n").as_bytes(),
    );
    let mut columns = serde_json::Map::new();
    for c in COLUMNS {
        columns.insert(c.name.into(), json!(duckdb_type(c.ty)));
    }
    columns.insert("timestamp".into(), json!("VARCHAR"));
    let spec = json!({"table": TABLE, "columns": columns, "queries": queries, "athena": athena, "read": read});
    common::write(&dir.path().join("spec.json"), spec.to_string().as_bytes());
    let script = common::write(
        &dir.path().join("run.py"),
        athena_table::script(RUNNER).as_bytes(),
    );
    let out = Command::new(venv.join("bin/python"))
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "duckdb runner failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], json!(rows.len()), "rows loaded");
    let errors = v["errors"].as_object().unwrap();
    assert!(errors.is_empty(), "DuckDB refused queries: {errors:#?}");
    let parse = v["parse_errors"].as_object().unwrap();
    assert!(parse.is_empty(), "not valid {read} SQL: {parse:#?}");
    let results = v["results"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, ids)| {
            let ids = ids
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap_or_default().to_string())
                .collect();
            (k.clone(), ids)
        })
        .collect();
    Outcome { results }
}

fn query_for(p: &Pattern, dialect: Dialect) -> Result<String, sql::SqlError> {
    let spec = sql::SelectSpec {
        dialect,
        table: TABLE.into(),
        columns: vec!["eventid".into()],
        paths: Vec::new(),
        from_ms: None,
        until_ms: None,
        accounts: Vec::new(),
        regions: Vec::new(),
        partition: true,
    };
    sql::select(p, &spec).map(|q| q.sql)
}

/// Every pattern in the CIS reference (current, per-version, Security Hub) and every built-in
/// event policy's, named.
fn monitoring_and_policy_patterns() -> Vec<(String, String)> {
    let cis: Value = serde_json::from_str(include_str!(
        "../fixtures/reference/cis-monitoring-patterns.json"
    ))
    .unwrap();
    let mut out = BTreeMap::new();
    for (i, c) in cis.as_array().unwrap().iter().enumerate() {
        let control = c["cis_v3_0"].as_str().unwrap_or("?").to_string();
        let mut texts = vec![c["pattern"].clone(), c["security_hub_pattern"].clone()];
        if let Some(by) = c["patterns_by_cis_version"].as_object() {
            for v in by.values() {
                for k in ["audit_procedure_patterns", "remediation_patterns"] {
                    texts.extend(v[k].as_array().cloned().unwrap_or_default());
                }
            }
        }
        for t in texts.iter().filter_map(Value::as_str) {
            out.entry(t.to_string())
                .or_insert_with(|| format!("cis-{control}-{i}"));
        }
    }
    let set = trailaudit::policy::PolicySet::load(&[], false).unwrap();
    for p in &set.policies {
        if let trailaudit::policy::Check::Event { text, .. } = &p.check {
            out.insert(text.clone(), p.id.clone());
        }
    }
    let mut v: Vec<(String, String)> = out.into_iter().map(|(t, n)| (n, t)).collect();
    v.sort();
    // Names are unique: a control's variants carry their own index.
    let mut seen = BTreeMap::new();
    for (n, _) in &mut v {
        let k = seen.entry(n.clone()).or_insert(0);
        *k += 1;
        if *k > 1 {
            n.push_str(&format!("-{k}"));
        }
    }
    v
}

/// Compares SQL with the reference for `patterns` over `t`; returns how many records matched.
fn check(venv: &Path, t: &Table, patterns: &[(String, String)], strict: bool) -> usize {
    let mut queries = BTreeMap::new();
    let mut athena = BTreeMap::new();
    let mut parsed = Vec::new();
    for (name, text) in patterns {
        let p = Pattern::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        queries.insert(name.clone(), query_for(&p, Dialect::Duckdb).unwrap());
        athena.insert(name.clone(), query_for(&p, Dialect::Athena).unwrap());
        parsed.push((name, text, p));
    }
    let out = run(venv, &t.rows, &queries, &athena, "trino");
    let mut matched = 0;
    for (name, text, p) in parsed {
        let view = as_table_keeps(&p);
        let want: BTreeSet<String> = t
            .kept
            .iter()
            .filter(|r| view.matches(r))
            .map(|r| r["eventID"].as_str().unwrap().to_string())
            .collect();
        let got = &out.results[name];
        assert_eq!(got, &want, "{name}: {text}\n{}", queries[name]);
        if strict {
            // The records as written, without the table's view: the same for these patterns.
            let orig: BTreeSet<String> = t
                .original
                .iter()
                .filter(|r| p.matches(r))
                .map(|r| r["eventID"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, &orig, "{name} on the records as written: {text}");
        }
        matched += got.len();
    }
    matched
}

fn corpora_records() -> Vec<Value> {
    let frame = trailaudit::events::load(&[common::fixtures()]);
    let texts = trailaudit::filter::to_polars::records_json(&frame.df).unwrap();
    let mut records: Vec<Value> = texts
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    // The policies' own example events: each event policy's must-match and must-not-match.
    let set = trailaudit::policy::PolicySet::load(&[], false).unwrap();
    for p in &set.policies {
        for e in &p.examples {
            records.push(e.value.clone());
        }
    }
    records
}

#[test]
fn cis_and_policy_patterns_select_what_the_reference_matches_on_real_records() {
    let Some(venv) = pytools::require("duckdb and sqlglot") else {
        return;
    };
    let t = table(&corpora_records());
    assert!(t.rows.len() > 500, "{} rows", t.rows.len());
    assert!(
        t.misfits.len() * 50 < t.rows.len(),
        "too many records the table cannot hold: {:?}",
        t.misfits
    );
    let patterns = monitoring_and_policy_patterns();
    assert!(patterns.len() >= 15 + 20, "{} patterns", patterns.len());
    let matched = check(venv, &t, &patterns, true);
    assert!(
        matched > 100,
        "only {matched} matches: the test would prove little"
    );
}

#[test]
fn documented_cases_over_the_tables_fields() {
    let Some(venv) = pytools::require("duckdb and sqlglot") else {
        return;
    };
    let text = include_str!("../fixtures/reference/filter-pattern-cases.jsonl");
    let mut records = Vec::new();
    let mut queries = BTreeMap::new();
    let mut athena = BTreeMap::new();
    let mut expected = BTreeMap::new();
    let mut refused = 0;
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let case: Value = serde_json::from_str(line).unwrap();
        let p = Pattern::parse(case["pattern"].as_str().unwrap()).unwrap();
        let Ok(q) = query_for(&p, Dialect::Duckdb) else {
            // Keys the table has no column for, `$.*`: the error is the answer (tested below).
            refused += 1;
            continue;
        };
        let id = format!("case-{i}");
        let mut event = case["event"].clone();
        event["eventID"] = json!(id);
        // Only the table's own columns reach it; the case's other keys are not selected.
        let Ok(row) = to_row(&event) else {
            panic!("case {i}: the table cannot hold {event}")
        };
        let _ = row;
        records.push(event);
        queries.insert(
            id.clone(),
            q.replace("WHERE ", &format!("WHERE eventid = '{id}' AND ")),
        );
        athena.insert(id.clone(), query_for(&p, Dialect::Athena).unwrap());
        expected.insert(id, case["match"].as_bool().unwrap());
    }
    assert!(
        expected.len() >= 9,
        "{} cases over the table's fields",
        expected.len()
    );
    assert!(refused > 0);
    let t = table(&records);
    let out = run(venv, &t.rows, &queries, &athena, "trino");
    for (id, want) in &expected {
        assert_eq!(out.results[id].contains(id), *want, "{id}: {}", queries[id]);
    }
}

// Random patterns over random records that the table can hold, from the property generator of
// `filter_differential.rs` restricted to the schema: strings where the table has strings,
// anything inside the JSON-text columns, no wildcard selectors.

fn string() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "AccessDenied",
        "AccessDeniedException",
        "Client.UnauthorizedOperation",
        "Root",
        "",
        "x*y",
        "Yes",
        "No",
        "true",
        "config.amazonaws.com",
        "stratus-role",
        "Success",
        "123.123.1.1",
        "ConsoleLogin",
        "Ev*ent",
        "400",
        "50%_off\\",
        "50%Xoff",
        "500_off",
        "a\nb",
    ])
    .prop_map(|s| json!(s))
}

fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => string(),
        1 => prop::sample::select(vec![json!(0), json!(400), json!(-1.5), json!(1e3), json!(true), json!(false), json!(null)]),
        1 => Just(json!({"k": "v", "0": 1})),
        1 => Just(json!(["Root", 400])),
    ]
}

fn maybe(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.7, v)
}

fn record() -> impl Strategy<Value = Value> {
    (
        (
            maybe(string()),
            maybe(string()),
            maybe(string()),
            maybe(prop::bool::ANY.prop_map(Value::Bool)),
        ),
        (maybe(string()), maybe(string()), maybe(any_json())),
        (
            maybe(any_json()),
            maybe(prop::collection::vec(any_json(), 0..3).prop_map(Value::Array)),
            maybe(string()),
        ),
        prop::sample::select(vec!["2024-07-31T13:10:00Z", "2024-07-31T13:10:00.5Z"]),
        any::<bool>(),
        (
            maybe(string()),
            maybe(string()),
            maybe(string()),
            maybe(any_json()),
        ),
        prop::option::weighted(0.7, prop::collection::vec(maybe(string()), 0..3)),
    )
        .prop_map(
            |(
                (name, code, ip, ro),
                (ty, invoked, mfa),
                (bucket, items, arn0),
                time,
                nest_null,
                (arn, issuer_arn, mfa_auth, console),
                resources,
            )| {
                let mut r = Map::new();
                r.insert("eventTime".into(), json!(time));
                let put = |m: &mut Map<String, Value>, k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                };
                put(&mut r, "eventName", name);
                put(&mut r, "errorCode", code);
                put(&mut r, "sourceIPAddress", ip);
                put(&mut r, "readOnly", ro);
                let mut ui = Map::new();
                put(&mut ui, "type", ty);
                put(&mut ui, "invokedBy", invoked);
                put(&mut ui, "arn", arn);
                let mut issuer = Map::new();
                put(&mut issuer, "arn", issuer_arn);
                issuer.insert("userName".into(), json!("stratus-role"));
                let mut attributes = Map::new();
                put(&mut attributes, "mfaAuthenticated", mfa_auth);
                ui.insert(
                    "sessionContext".into(),
                    json!({"sessionIssuer": issuer, "attributes": attributes}),
                );
                r.insert("userIdentity".into(), Value::Object(ui));
                if let Some(console) = console {
                    r.insert("responseElements".into(), json!({"ConsoleLogin": console}));
                }
                if nest_null {
                    r.insert("additionalEventData".into(), Value::Null);
                } else {
                    let mut aed = Map::new();
                    put(&mut aed, "MFAUsed", mfa);
                    r.insert("additionalEventData".into(), Value::Object(aed));
                }
                let mut rp = Map::new();
                put(&mut rp, "bucketName", bucket);
                put(&mut rp, "items", items);
                r.insert("requestParameters".into(), Value::Object(rp));
                if let Some(res) = resources {
                    let list: Vec<Value> = res
                        .into_iter()
                        .enumerate()
                        .map(|(i, a)| {
                            let mut m = Map::new();
                            put(&mut m, "ARN", if i == 0 { arn0.clone().or(a) } else { a });
                            m.insert("type".into(), json!("AWS::S3::Bucket"));
                            Value::Object(m)
                        })
                        .collect();
                    r.insert("resources".into(), Value::Array(list));
                }
                Value::Object(r)
            },
        )
}

fn selector() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "$.eventName",
        "$.errorCode",
        "$.sourceIPAddress",
        "$.readOnly",
        "$.eventTime",
        "$.userIdentity",
        "$.userIdentity.type",
        "$.userIdentity.invokedBy",
        "$.additionalEventData",
        "$.additionalEventData.MFAUsed",
        "$.requestParameters.bucketName",
        "$.requestParameters.bucketName.k",
        "$.requestParameters.bucketName[0]",
        "$.requestParameters.bucketName.0",
        "$.requestParameters.items",
        "$.requestParameters.items[0]",
        "$.requestParameters.items[1]",
        "$.requestParameters.items.0",
        "$.requestParameters.items[0].k",
        "$.requestParameters.items[0].0",
        "$.requestParameters.items[0][0]",
        "$.userIdentity.arn",
        "$.userIdentity.sessionContext.sessionIssuer.arn",
        "$.userIdentity.sessionContext.sessionIssuer.userName",
        "$.userIdentity.sessionContext.attributes.mfaAuthenticated",
        "$.userIdentity[0]",
        "$.userIdentity.type.sub",
        "$.responseElements",
        "$.responseElements.ConsoleLogin",
        "$.resources",
        "$.resources[0]",
        "$.resources[0].ARN",
        "$.resources[1].ARN",
        "$.resources.ARN",
        "$.eventName.sub",
        "$.errorCode[0]",
    ])
}

fn condition() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec![
        "AccessDenied",
        "AccessDenied*",
        "*UnauthorizedOperation",
        "*Denied*",
        "Ev*ent",
        "*",
        "\"*\"",
        "\"\"",
        "Root",
        "\"x*y\"",
        "400",
        "-1.5",
        "1e3",
        "0",
        "%Denied%",
        "%^Acc.{3}s%",
        "%^a.b$%",
        "%[^a]%",
        "\"400\"",
        "true",
        "Yes",
        "2024-07-31T13:10:00Z",
        "2024-07-31*",
        "123.123.*",
        "\"50%_off\\\\\"",
        "\"50%*\"",
        "\"50%_*\"",
        "\"*0_off*\"",
        "config.amazonaws.com",
        "stratus-*",
        "Success",
    ]);
    let numeric = prop::sample::select(vec!["0", "400", "-1.5", "1e3", "10e-3"]);
    prop_oneof![
        4 => (selector(), prop::sample::select(vec!["=", "!="]), value)
            .prop_map(|(s, op, v)| format!("{s} {op} {v}")),
        1 => (selector(), prop::sample::select(vec!["<", ">", "<=", ">="]), numeric)
            .prop_map(|(s, op, v)| format!("{s} {op} {v}")),
        2 => (selector(), prop::sample::select(vec!["IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"]))
            .prop_map(|(s, t)| format!("{s} {t}")),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    let leaf = condition().prop_map(|c| format!("({c})"));
    let expr = leaf.prop_recursive(2, 6, 3, |inner| {
        (
            prop::collection::vec(inner, 2..4),
            prop::sample::select(vec![" && ", " || "]),
        )
            .prop_map(|(items, op)| format!("({})", items.join(op)))
    });
    expr.prop_map(|e| format!("{{ {e} }}"))
}

proptest! {
    // Each case runs DuckDB once, over all its patterns.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_patterns_select_what_the_reference_matches(
        records in prop::collection::vec(record(), 1..40),
        patterns in prop::collection::vec(pattern(), 1..12),
    ) {
        let Some(venv) = pytools::require("duckdb and sqlglot") else {
            return Ok(());
        };
        let t = table(&records);
        prop_assert!(t.misfits.is_empty(), "{:?}", t.misfits);
        let named: Vec<(String, String)> = patterns
            .iter()
            .filter(|p| Pattern::parse(p).is_ok())
            .enumerate()
            .map(|(i, p)| (format!("p{i}"), p.clone()))
            .collect();
        check(venv, &t, &named, false);
    }
}

/// The issue's acceptance: for the CIS v3.0 section 4 patterns and the built-in event
/// policies, `sql --dialect duckdb` over the table built from a generated corpus returns
/// exactly the records `query` finds in the same files.
const WINDOW: [&str; 4] = ["--from", "2026-07-08", "--to", "2026-09-22"];

#[test]
fn sql_over_a_generated_corpus_returns_what_query_finds() {
    let Some(venv) = pytools::require("duckdb and sqlglot") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut spec = trailaudit::synth::Spec::samples();
    spec.records = 1_500;
    trailaudit::synth::generate(&spec, &logs).unwrap();
    let frame = trailaudit::events::load(std::slice::from_ref(&logs));
    let records: Vec<Value> = trailaudit::filter::to_polars::records_json(&frame.df)
        .unwrap()
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    let t = table(&records);
    assert!(t.misfits.is_empty(), "{:?}", t.misfits);

    let cis: Value = serde_json::from_str(include_str!(
        "../fixtures/reference/cis-monitoring-patterns.json"
    ))
    .unwrap();
    let mut patterns: Vec<(String, Vec<String>)> = cis
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let text = c["patterns_by_cis_version"]["cis_v3.0"]["audit_procedure_patterns"][0]
                .as_str()
                .or(c["pattern"].as_str())
                .unwrap()
                .to_string();
            (
                format!("cis-{}", c["cis_v3_0"].as_str().unwrap()),
                vec![text],
            )
        })
        .collect();
    assert_eq!(patterns.len(), 15);
    let set = trailaudit::policy::PolicySet::load(&[], false).unwrap();
    for p in &set.policies {
        if p.kind == trailaudit::policy::Kind::Event {
            patterns.push((p.id.clone(), vec!["--policy".into(), p.id.clone()]));
        }
    }
    let mut queries = BTreeMap::new();
    let mut found = BTreeMap::new();
    for (name, args) in &patterns {
        let mut sql_args = vec!["sql".to_string()];
        sql_args.extend(args.iter().cloned());
        sql_args.extend(["--dialect", "duckdb", "--columns", "eventid"].map(String::from));
        // A window that leaves out the corpus's first and last weeks: both sides apply it.
        sql_args.extend(WINDOW.map(String::from));
        let out = trailaudit(&sql_args);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        queries.insert(name.clone(), out.stdout);

        let text = match args.as_slice() {
            [_, id] => match &set.get(id).unwrap().check {
                trailaudit::policy::Check::Event { text, .. } => text.clone(),
                _ => unreachable!("event policies only"),
            },
            [text] => text.clone(),
            _ => unreachable!(),
        };
        let q = trailaudit([
            "query",
            &text,
            logs.to_str().unwrap(),
            "--format",
            "csv",
            "--fields",
            "eventID",
            WINDOW[0],
            WINDOW[1],
            WINDOW[2],
            WINDOW[3],
        ]);
        assert_eq!(q.code, 0, "{name}: {}", q.stderr);
        let ids: BTreeSet<String> = q.stdout.lines().skip(1).map(str::to_string).collect();
        found.insert(name.clone(), ids);
    }
    let out = run(venv, &t.rows, &queries, &BTreeMap::new(), "trino");
    let mut nonempty = 0;
    for (name, _) in &patterns {
        assert_eq!(out.results[name], found[name], "{name}\n{}", queries[name]);
        nonempty += usize::from(!found[name].is_empty());
    }
    assert!(nonempty >= 10, "only {nonempty} patterns found anything");
}

#[test]
fn what_sql_cannot_express_is_an_error_naming_it() {
    for (pattern, says) in [
        ("{ $.managementEvent IS TRUE }", "$.managementEvent"),
        ("{ $.eventname = x }", "did you mean \"eventName\""),
        ("{ $.* = x }", "wildcard"),
        ("{ $.requestParameters.items[*] = x }", "wildcard"),
        ("ERROR", "term patterns"),
    ] {
        let out = trailaudit(["sql", pattern]);
        assert_eq!(out.code, 2, "{pattern}");
        assert!(out.stderr.contains(says), "{pattern}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let out = trailaudit(["sql"]);
    assert_eq!(out.code, 2);
    let out = trailaudit(["sql", "--policy", "TA-CFG-001"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("only event policies"), "{}", out.stderr);
    let out = trailaudit(["sql", "{ $.eventName = x }", "--table", "t; DROP"]);
    assert_eq!(out.code, 2);
    let out = trailaudit(["sql", "{ $.eventName = x }", "--columns", "eventName"]);
    assert_eq!(out.code, 2);
}

#[test]
fn struct_null_caveat_is_in_the_output() {
    let out = trailaudit([
        "sql",
        "{ $.errorCode NOT EXISTS && $.requestParameters.x IS NULL }",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("-- $.errorCode: the table keeps an absent key and a JSON null alike"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("-- $.requestParameters.x"),
        "{}",
        out.stdout
    );
}

#[test]
fn window_bounds_the_partition_and_eventtime() {
    let out = trailaudit([
        "sql",
        "{ $.eventName = StopLogging }",
        "--from",
        "2026-07-01",
        "--to",
        "2026-09-30",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for part in [
        "\"timestamp\" >= '2026/06/30'",
        "\"timestamp\" <= '2026/10/02'",
        "eventtime >= '2026-07-01T00:00:00Z'",
        "eventtime < '2026-10-01T00:00:00Z'",
    ] {
        assert!(out.stdout.contains(part), "{part}: {}", out.stdout);
    }
}

#[test]
fn athena_ddl_parses_and_projects_the_organization_layout() {
    let out = trailaudit([
        "athena",
        "ddl",
        "--bucket",
        "org-trail-logs",
        "--prefix",
        "central",
        "--organization",
        "o-n0rthw1nd7",
        "--accounts",
        "111122223333,444455556666",
        "--regions",
        "us-east-1,eu-west-1",
        "--start",
        "2026-01-01",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ddl = &out.stdout;
    for part in [
        "CREATE EXTERNAL TABLE cloudtrail_logs (",
        "useridentity STRUCT<type: STRING,",
        "resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>",
        "PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)",
        "LOCATION 's3://org-trail-logs/central/AWSLogs/o-n0rthw1nd7/'",
        "'projection.enabled' = 'true'",
        "'projection.account.type' = 'enum'",
        "'projection.account.values' = '111122223333,444455556666'",
        "'projection.region.values' = 'us-east-1,eu-west-1'",
        "'projection.timestamp.type' = 'date'",
        "'projection.timestamp.format' = 'yyyy/MM/dd'",
        "'projection.timestamp.range' = '2026/01/01,NOW'",
        "'storage.location.template' = 's3://org-trail-logs/central/AWSLogs/o-n0rthw1nd7/${account}/CloudTrail/${region}/${timestamp}'",
    ] {
        assert!(ddl.contains(part), "{part}\n{ddl}");
    }
    let bad = trailaudit([
        "athena",
        "ddl",
        "--bucket",
        "b'x",
        "--accounts",
        "111122223333",
    ]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--bucket"), "{}", bad.stderr);

    let Some(venv) = pytools::require("sqlglot") else {
        return;
    };
    for read in ["athena", "hive"] {
        let out = run(
            venv,
            &[],
            &BTreeMap::new(),
            &BTreeMap::from([("ddl".to_string(), ddl.clone())]),
            read,
        );
        assert!(out.results.is_empty());
    }
}

/// The README's `sql` examples are what the program prints.
#[test]
fn readme_sql_examples_are_current() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for (line, args) in [
        (
            "$ trailaudit sql --policy TA-EVT-403 --from 2026-07-01 --to 2026-09-30\n",
            vec![
                "sql",
                "--policy",
                "TA-EVT-403",
                "--from",
                "2026-07-01",
                "--to",
                "2026-09-30",
            ],
        ),
        (
            "$ trailaudit sql '{ $.eventName = \"ConsoleLogin\" && $.additionalEventData.MFAUsed != \"Yes\" }' --dialect duckdb\n",
            vec![
                "sql",
                "{ $.eventName = \"ConsoleLogin\" && $.additionalEventData.MFAUsed != \"Yes\" }",
                "--dialect",
                "duckdb",
            ],
        ),
    ] {
        let at = readme.find(line).unwrap_or_else(|| panic!("README lacks {line}")) + line.len();
        let out = trailaudit(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            readme[at..].starts_with(&out.stdout),
            "README's output of {line} is not the program's:\n{}",
            out.stdout
        );
    }
}
