//! `audit --athena-table`: the event policies run in Athena give the report a local audit of
//! the same records gives.
//!
//! Against moto's Athena on 127.0.0.1, whose query results a test seeds (in the order queries
//! start). The seeded rows are what the audit's own queries return: the plan's `duckdb`
//! dialect run by DuckDB over the Athena CloudTrail table rebuilt from the records
//! (`common/athena_table.rs`), with Athena's header row first. What moto cannot do (a FAILED
//! query, several pages, throttling) runs against the SDK's mock client.

use crate::common;
use crate::common::athena_table;
use crate::common::moto;
use crate::common::pytools;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Map, Value};
use trailaudit::athena::{Plan, QueryKind, Target};
use trailaudit::sql::table::COLUMNS;
use trailaudit::sql::Dialect;

const TABLE: &str = "cloudtrail_logs";
const REGION: &str = "us-east-1";
const S3_PATH: &str =
    "s3://org-trail/AWSLogs/123456789012/CloudTrail/us-east-1/2026/07/01/123456789012_CloudTrail_us-east-1_20260701T0000Z_abc.json.gz";

/// Builds the table from `rows.ndjson`, runs each query, seeds moto's Athena with the results
/// (a header row first, as Athena answers a SELECT) and writes them to `results.json`.
const SEEDER: &str = r#"
import urllib.request
results = []
for q in spec["queries"]:
    cur = con.execute(q)
    names = [c[0] for c in cur.description]
    rows = [{"Data": [{"VarCharValue": n} for n in names]}]
    for r in cur.fetchall():
        rows.append({"Data": [{} if v is None else {"VarCharValue": v if isinstance(v, str) else str(v)} for v in r]})
    results.append({"rows": rows, "column_info": [{"Name": n, "Label": n, "Type": "varchar"} for n in names]})
if spec.get("endpoint"):
    body = json.dumps({"region": spec["region"], "results": results}).encode()
    req = urllib.request.Request(spec["endpoint"] + "/moto-api/static/athena/query-results", data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    assert urllib.request.urlopen(req).status in (200, 201)
json.dump(results, open(d + "/results.json", "w"))
"#;

/// The sample bundle's records as the table keeps them, each with a unique eventID, in the
/// order the events query returns them (eventtime, then eventid: one S3 object).
fn records() -> Vec<Value> {
    let frame = trailaudit::events::load(&[common::SAMPLE_LOGS.into()]);
    let texts = trailaudit::filter::to_polars::records_json(&frame.df).unwrap();
    let mut seen = BTreeSet::new();
    let mut out: Vec<Value> = texts
        .iter()
        .map(|t| serde_json::from_str::<Value>(t).unwrap())
        .filter_map(|r| athena_table::to_row(&r).ok())
        .map(|row| athena_table::from_row(&row))
        .filter(|r| {
            r["eventID"]
                .as_str()
                .is_some_and(|id| seen.insert(id.to_string()))
        })
        .collect();
    out.sort_by(|a, b| {
        let k = |r: &Value| {
            (
                r["eventTime"].as_str().unwrap_or("").to_string(),
                r["eventID"].as_str().unwrap_or("").to_string(),
            )
        };
        k(a).cmp(&k(b))
    });
    assert!(out.len() > 1000, "the samples give {} records", out.len());
    out
}

fn plan() -> Plan {
    let set = trailaudit::policy::PolicySet::load(&[], false).unwrap();
    let selected = trailaudit::audit::selected(&set, None);
    let target = Target {
        table: TABLE.into(),
        window: Default::default(),
        accounts: Vec::new(),
        regions: Vec::new(),
        partition: true,
    };
    let plan = Plan::new(&selected, &target, Dialect::Duckdb).unwrap();
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    assert_eq!(
        plan.queries.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [QueryKind::Events, QueryKind::Inventory]
    );
    plan
}

/// Runs the plan's queries over the table of `records` in DuckDB and, with an endpoint, seeds
/// moto with their results; returns the results as seeded.
fn seed(venv: &Path, dir: &Path, records: &[Value], endpoint: Option<&str>) -> Value {
    let rows: Vec<String> = records
        .iter()
        .map(|r| {
            let mut row: Map<String, Value> = athena_table::to_row(r).unwrap();
            row.insert("$path".into(), json!(S3_PATH));
            Value::Object(row).to_string()
        })
        .collect();
    common::write(
        &dir.join("rows.ndjson"),
        (rows.join("\n") + "\n").as_bytes(),
    );
    let mut columns = Map::new();
    for c in COLUMNS {
        columns.insert(c.name.into(), json!(athena_table::duckdb_type(c.ty)));
    }
    columns.insert("timestamp".into(), json!("VARCHAR"));
    columns.insert("$path".into(), json!("VARCHAR"));
    let queries: Vec<String> = plan().queries.into_iter().map(|(_, q)| q).collect();
    let spec = json!({"table": TABLE, "columns": columns, "queries": queries, "endpoint": endpoint, "region": REGION});
    common::write(&dir.join("spec.json"), spec.to_string().as_bytes());
    let script = common::write(
        &dir.join("seed.py"),
        athena_table::script(SEEDER).as_bytes(),
    );
    let out = Command::new(venv.join("bin/python"))
        .arg(&script)
        .arg(dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

/// `trailaudit ARGS` against `endpoint` with test credentials and nothing from the machine's
/// AWS configuration.
fn athena_audit(endpoint: &str, args: &[&str]) -> common::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_trailaudit"))
        .args(["audit", "--athena-table", TABLE, "--endpoint-url", endpoint])
        .args(["--athena-region", REGION])
        .args(args)
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTESTTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run trailaudit");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What both reports must agree on: every policy but the integrity ones (they need the log and
/// digest files), findings with their evidence (less its provenance: a local file, record
/// index and span against an S3 object), the scope (less `athena`), the activity and the records counted.
fn comparable(report: &Value) -> Value {
    let mut policies: Vec<Value> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] != "integrity")
        .cloned()
        .collect();
    for p in &mut policies {
        for f in p["findings"].as_array_mut().into_iter().flatten() {
            for e in f["evidence"].as_array_mut().into_iter().flatten() {
                let e = e.as_object_mut().unwrap();
                for provenance in ["file", "record", "offset", "length", "line"] {
                    e.remove(provenance);
                }
            }
            f.as_object_mut().unwrap().remove("file");
        }
    }
    let mut scope = report["scope"].clone();
    scope.as_object_mut().unwrap().remove("athena");
    let mut activity = report["activity"].clone();
    for a in activity.as_array_mut().into_iter().flatten() {
        a.as_object_mut().unwrap().remove("delivery_gaps");
    }
    json!({
        "policies": policies,
        "scope": scope,
        "activity": activity,
        "events": report["inputs"]["logs"]["events"],
        "events_in_scope": report["inputs"]["logs"]["events_in_scope"],
        "partial": report["inputs"]["partial"],
    })
}

#[test]
fn athena_audit_writes_the_report_a_local_audit_of_the_same_records_writes() {
    let Some(venv) = pytools::require("moto and duckdb") else {
        return;
    };
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let ndjson: Vec<String> = records.iter().map(Value::to_string).collect();
    let logs = common::write(
        &dir.path().join("records.ndjson"),
        (ndjson.join("\n") + "\n").as_bytes(),
    );
    let local = common::trailaudit([
        "audit",
        "--logs",
        logs.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(local.code, 0, "{}", local.stderr);
    let seeded = seed(venv, dir.path(), &records, Some(&moto.endpoint));
    let matched = seeded[0]["rows"].as_array().unwrap().len() - 1;
    assert!(matched > 10, "the events query matched {matched} rows");

    let athena = athena_audit(&moto.endpoint, &["--format", "json", "--fail-on", "never"]);
    assert_eq!(athena.code, 0, "{}", athena.stderr);
    let (local, athena) = (local.json(), athena.json());

    // The report is about something: findings of several policies, with evidence.
    let failing: Vec<&str> = local["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "fail" && p["kind"] == "event")
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(failing.len() >= 3, "failing event policies: {failing:?}");
    assert_eq!(comparable(&athena), comparable(&local));

    // Each query in the scope, in the order they ran, with Athena's statistics.
    let queries = athena["scope"]["athena"]["queries"].as_array().unwrap();
    let kinds: Vec<&str> = queries
        .iter()
        .map(|q| q["query"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["events", "inventory"]);
    for q in queries {
        assert_eq!(q["state"], "SUCCEEDED", "{q}");
        assert!(q["query_execution_id"].is_string(), "{q}");
        assert_eq!(q["data_scanned_bytes"], 0, "moto scans nothing: {q}");
    }
    assert_eq!(queries[0]["rows"], json!(matched));
    assert_eq!(athena["scope"]["athena"]["table"], TABLE);
    // Evidence names the S3 object; Athena does not say where in it a record is.
    let evidence = athena["policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap())
        .flat_map(|f| f["evidence"].as_array().into_iter().flatten())
        .next()
        .expect("some evidence");
    assert_eq!(evidence["file"], S3_PATH);
    assert_eq!(evidence["record"], Value::Null);

    // The reports for people say it too: the table, each query's state and bytes scanned.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("report.json");
    std::fs::write(&saved, athena.to_string()).unwrap();
    for (format, said) in [
        ("html", "bytes scanned"),
        ("md", "bytes scanned"),
        ("text", "bytes scanned"),
    ] {
        let run = common::trailaudit([
            "report".as_ref(),
            saved.as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
        ]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        // Markdown escapes the table name's underscore (outside code, where it renders).
        let table = TABLE.replace('_', if format == "md" { "\\_" } else { "_" });
        assert!(
            run.stdout.contains(&table)
                && run.stdout.contains(said)
                && run.stdout.contains("SUCCEEDED"),
            "{format}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn a_query_that_does_not_finish_is_stopped_and_is_a_gap() {
    let Some(_venv) = pytools::require("moto") else {
        return;
    };
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    // Queries stay QUEUED (moto advances them only on request).
    let body = json!({"model_name": "athena::execution", "transition": {"progression": "manual", "times": 1_000_000}});
    let status = post(
        &moto.endpoint,
        "/moto-api/state-manager/set-transition",
        &body.to_string(),
    );
    assert!(status.starts_with("HTTP/1.1 20"), "{status}");
    let run = athena_audit(
        &moto.endpoint,
        &[
            "--format",
            "json",
            "--athena-timeout",
            "1",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(run.code, 2, "a gap is partial evidence: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["inputs"]["partial"], true);
    let queries = report["scope"]["athena"]["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 2);
    for q in queries {
        assert_eq!(q["state"], "TIMED_OUT", "{q}");
        assert!(q["error"].as_str().unwrap().contains("stopped"), "{q}");
    }
    let shortfalls = report["inputs"]["shortfalls"].to_string();
    assert!(
        shortfalls.contains("Athena events query gave no result"),
        "{shortfalls}"
    );
    for p in report["policies"].as_array().unwrap() {
        if p["kind"] == "event" {
            assert_eq!(p["status"], "no_evidence", "{}", p["id"]);
        }
    }
    // With --allow-partial the gap is still reported, and the run is judged on what it has.
    let run = athena_audit(
        &moto.endpoint,
        &[
            "--format",
            "json",
            "--athena-timeout",
            "1",
            "--allow-partial",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn dry_run_prints_the_queries_in_the_order_they_run() {
    let run = common::trailaudit([
        "audit",
        "--athena-table",
        "db.cloudtrail_logs",
        "--athena-dry-run",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-31",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run.stdout.find("-- events query").expect("events query");
    let inventory = run
        .stdout
        .find("-- inventory query")
        .expect("inventory query");
    assert!(events < inventory);
    // Partition predicates: Athena reads only the window's days (a day either side).
    assert_eq!(
        run.stdout.matches("\"timestamp\" >= '2025/12/31'").count(),
        2
    );
    assert_eq!(
        run.stdout.matches("\"timestamp\" <= '2026/04/02'").count(),
        2
    );
    assert!(run
        .stdout
        .contains("json_format(CAST(useridentity AS JSON))"));
}

#[test]
fn athena_table_excludes_local_logs_and_bad_names() {
    let run = common::trailaudit([
        "audit",
        "--athena-table",
        "t",
        "--logs",
        common::SAMPLE_LOGS,
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    let run = common::trailaudit(["audit", "--athena-table", "db.t; DROP", "--athena-dry-run"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("expected NAME or DATABASE.NAME"),
        "{}",
        run.stderr
    );
}

fn post(endpoint: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect to moto");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

mod mocked {
    use std::time::Duration;

    use aws_sdk_athena::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
    use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
    use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
    use aws_sdk_athena::types::{
        AthenaError, ColumnInfo, Datum, QueryExecution, QueryExecutionState,
        QueryExecutionStatistics, QueryExecutionStatus, ResultSet, ResultSetMetadata, Row,
    };
    use aws_sdk_athena::Client;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
    use aws_smithy_types::retry::RetryConfig;
    use trailaudit::athena::client::{fetch, Options};
    use trailaudit::athena::{Plan, QueryKind};

    fn client(rules: &[&Rule]) -> Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        for r in rules {
            interceptor = interceptor.with_rule(r);
        }
        let conf = aws_sdk_athena::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .build();
        Client::from_conf(conf)
    }

    fn one_query() -> Plan {
        Plan {
            queries: vec![(QueryKind::Events, "SELECT 1".into())],
            refused: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn opts() -> Options {
        Options {
            poll_initial: Duration::from_millis(1),
            poll_max: Duration::from_millis(2),
            ..Options::default()
        }
    }

    fn execution(state: QueryExecutionState, scanned: i64) -> GetQueryExecutionOutput {
        GetQueryExecutionOutput::builder()
            .query_execution(
                QueryExecution::builder()
                    .query_execution_id("q-1")
                    .status(QueryExecutionStatus::builder().state(state).build())
                    .statistics(
                        QueryExecutionStatistics::builder()
                            .data_scanned_in_bytes(scanned)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn row(cells: &[&str]) -> Row {
        let mut r = Row::builder();
        for c in cells {
            r = r.data(Datum::builder().var_char_value(*c).build());
        }
        r.build()
    }

    fn page(rows: Vec<Row>, next: Option<&str>) -> GetQueryResultsOutput {
        let meta = ResultSetMetadata::builder()
            .column_info(
                ColumnInfo::builder()
                    .name("a")
                    .r#type("varchar")
                    .build()
                    .unwrap(),
            )
            .column_info(
                ColumnInfo::builder()
                    .name("b")
                    .r#type("varchar")
                    .build()
                    .unwrap(),
            )
            .build();
        GetQueryResultsOutput::builder()
            .result_set(
                ResultSet::builder()
                    .set_rows(Some(rows))
                    .result_set_metadata(meta)
                    .build(),
            )
            .set_next_token(next.map(str::to_string))
            .build()
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn throttled_start_is_retried_polls_until_done_and_pages_through_the_results() {
        let throttled = mock!(Client::start_query_execution)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"TooManyRequestsException","Message":"Rate exceeded"}"#.into()),
            )
            .output(|| {
                StartQueryExecutionOutput::builder()
                    .query_execution_id("q-1")
                    .build()
            })
            .build();
        let states = mock!(Client::get_query_execution)
            .sequence()
            .output(|| execution(QueryExecutionState::Queued, 0))
            .output(|| execution(QueryExecutionState::Running, 0))
            .output(|| execution(QueryExecutionState::Succeeded, 4096))
            .build();
        let pages = mock!(Client::get_query_results)
            .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(1000))
            .then_output(|| {
                page(
                    vec![row(&["a", "b"]), row(&["1", "x"]), row(&["2", "y"])],
                    Some("t1"),
                )
            });
        // A second page's first row is data, even when it reads like the header.
        let second = mock!(Client::get_query_results)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(|| page(vec![row(&["a", "b"])], None));
        let c = client(&[&throttled, &states, &pages, &second]);
        let fetched = block(fetch(&c, &one_query(), &opts()));
        let run = &fetched.runs[0];
        assert_eq!(run.error, None);
        assert_eq!(run.state, "SUCCEEDED");
        assert_eq!(run.data_scanned_bytes, Some(4096));
        assert_eq!(run.rows, 3);
        let rows = &fetched.rows[&QueryKind::Events];
        let cells: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.as_deref().unwrap()).collect())
            .collect();
        assert_eq!(cells, [["1", "x"], ["2", "y"], ["a", "b"]]);
        assert_eq!(throttled.num_calls(), 2, "the throttled start was retried");
        assert_eq!(states.num_calls(), 3, "polled until SUCCEEDED");
    }

    #[test]
    fn a_failed_query_is_a_gap_with_athenas_reason() {
        let start = mock!(Client::start_query_execution).then_output(|| {
            StartQueryExecutionOutput::builder()
                .query_execution_id("q-1")
                .build()
        });
        let failed = mock!(Client::get_query_execution).then_output(|| {
            GetQueryExecutionOutput::builder()
                .query_execution(
                    QueryExecution::builder()
                        .query_execution_id("q-1")
                        .status(
                            QueryExecutionStatus::builder()
                                .state(QueryExecutionState::Failed)
                                .athena_error(
                                    AthenaError::builder()
                                        .error_message("COLUMN_NOT_FOUND: line 3:7: Column 'timestamp' cannot be resolved")
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let c = client(&[&start, &failed]);
        let fetched = block(fetch(&c, &one_query(), &opts()));
        let run = &fetched.runs[0];
        assert_eq!(run.state, "FAILED");
        assert!(
            run.error.as_deref().unwrap().contains("COLUMN_NOT_FOUND"),
            "{run:?}"
        );
        assert!(!fetched.rows.contains_key(&QueryKind::Events));
        assert_eq!(fetched.failed().count(), 1);
    }

    #[test]
    fn a_start_refused_for_good_is_a_gap_not_an_abort() {
        let refused = mock!(Client::start_query_execution).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    r#"{"__type":"InvalidRequestException","Message":"WorkGroup is disabled"}"#,
                ),
            )
        });
        let c = client(&[&refused]);
        let fetched = block(fetch(&c, &one_query(), &opts()));
        let run = &fetched.runs[0];
        assert_eq!(run.state, "NOT_STARTED");
        assert!(
            run.error
                .as_deref()
                .unwrap()
                .contains("WorkGroup is disabled"),
            "{run:?}"
        );
        assert_eq!(refused.num_calls(), 1, "not retried");
    }
}
