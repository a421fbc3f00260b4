//! A plan's queries through the Athena API: started in the plan's order, polled with backoff,
//! their results paged. Throttling (`TooManyRequestsException`, `ThrottlingException`) is
//! retried with backoff by the SDK's retry configuration (`collect::Sdk`); a query that fails,
//! is cancelled or outlasts the timeout is a gap, recorded in its [`QueryRun`], never an abort.

use std::time::{Duration, Instant};

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use aws_sdk_athena::Client;

use super::{Fetched, Plan, QueryRun};

/// Where queries run and how long to wait for them.
#[derive(Debug, Clone)]
pub struct Options {
    pub workgroup: Option<String>,
    /// `s3://...` for the results (else the workgroup's).
    pub output: Option<String>,
    /// The database unqualified table names are in.
    pub database: Option<String>,
    /// First wait between polls; each wait is 1.5 times the last, up to `poll_max`.
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// A query still running after this is stopped (StopQueryExecution) and is a gap.
    pub timeout: Duration,
    /// Rows per GetQueryResults call (Athena's maximum is 1000).
    pub page_size: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workgroup: None,
            output: None,
            database: None,
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(5),
            timeout: Duration::from_secs(30 * 60),
            page_size: 1000,
        }
    }
}

/// Runs every query of `plan`: all are started first, in the plan's order (Athena runs them
/// side by side), then each is waited for and its rows read.
pub async fn fetch(client: &Client, plan: &Plan, opts: &Options) -> Fetched {
    let mut started = Vec::new();
    for (kind, sql) in &plan.queries {
        started.push((*kind, start(client, sql, opts).await));
    }
    let mut fetched = Fetched::default();
    for (kind, id) in started {
        let mut run = QueryRun {
            query: kind.as_str().into(),
            ..QueryRun::default()
        };
        match id {
            Err(e) => {
                run.state = "NOT_STARTED".into();
                run.error = Some(format!("StartQueryExecution: {e}"));
            }
            Ok(id) => {
                run.query_execution_id = Some(id.clone());
                match wait(client, &id, opts, &mut run).await {
                    Ok(()) => match results(client, &id, opts).await {
                        Ok(rows) => {
                            run.rows = rows.len() as u64;
                            fetched.rows.insert(kind, rows);
                        }
                        Err(e) => run.error = Some(format!("GetQueryResults: {e}")),
                    },
                    Err(e) => run.error = Some(e),
                }
            }
        }
        fetched.runs.push(run);
    }
    fetched
}

/// The error's code and message (the SDK's Display says only "service error").
fn describe<E, R>(e: &aws_sdk_athena::error::SdkError<E, R>) -> String
where
    E: aws_sdk_athena::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_athena::error::ProvideErrorMetadata;
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
    }
}

async fn start(client: &Client, sql: &str, opts: &Options) -> Result<String, String> {
    let mut req = client.start_query_execution().query_string(sql);
    if let Some(wg) = &opts.workgroup {
        req = req.work_group(wg);
    }
    if let Some(out) = &opts.output {
        req = req.result_configuration(ResultConfiguration::builder().output_location(out).build());
    }
    if let Some(db) = &opts.database {
        req = req.query_execution_context(QueryExecutionContext::builder().database(db).build());
    }
    let out = req.send().await.map_err(|e| describe(&e))?;
    out.query_execution_id()
        .map(str::to_string)
        .ok_or_else(|| "no QueryExecutionId in the answer".into())
}

/// Polls until the query ends; its final state and statistics go into `run`.
async fn wait(client: &Client, id: &str, opts: &Options, run: &mut QueryRun) -> Result<(), String> {
    let deadline = Instant::now() + opts.timeout;
    let mut pause = opts.poll_initial;
    loop {
        let out = client
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| format!("GetQueryExecution: {}", describe(&e)))?;
        let exec = out.query_execution();
        let status = exec.and_then(|e| e.status());
        let state = status.and_then(|s| s.state()).cloned();
        run.data_scanned_bytes = exec
            .and_then(|e| e.statistics())
            .and_then(|s| s.data_scanned_in_bytes());
        run.state = state
            .as_ref()
            .map_or("UNKNOWN".into(), |s| s.as_str().to_string());
        match state {
            Some(QueryExecutionState::Succeeded) => return Ok(()),
            Some(QueryExecutionState::Failed) | Some(QueryExecutionState::Cancelled) => {
                let reason = status
                    .and_then(|s| {
                        s.athena_error()
                            .and_then(|e| e.error_message())
                            .or(s.state_change_reason())
                    })
                    .unwrap_or("no reason given");
                return Err(format!("query {}: {reason}", run.state));
            }
            _ => {}
        }
        if Instant::now() + pause > deadline {
            // Not left running (and billed) behind us.
            let stopped = client
                .stop_query_execution()
                .query_execution_id(id)
                .send()
                .await;
            run.state = "TIMED_OUT".into();
            return Err(format!(
                "still {} after {} s; {}",
                state.as_ref().map_or("UNKNOWN", |s| s.as_str()),
                opts.timeout.as_secs(),
                match stopped {
                    Ok(_) => "stopped".to_string(),
                    Err(e) => format!("StopQueryExecution: {}", describe(&e)),
                }
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause.mul_f64(1.5)).min(opts.poll_max);
    }
}

/// Every page of the results. Athena's first row of a SELECT's first page is the header (the
/// column names), which is dropped.
async fn results(
    client: &Client,
    id: &str,
    opts: &Options,
) -> Result<Vec<Vec<Option<String>>>, String> {
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    let mut first_page = true;
    loop {
        let out = client
            .get_query_results()
            .query_execution_id(id)
            .max_results(opts.page_size)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        if let Some(set) = out.result_set() {
            let names: Vec<&str> = set
                .result_set_metadata()
                .map(|m| m.column_info().iter().map(|c| c.name()).collect())
                .unwrap_or_default();
            for (i, row) in set.rows().iter().enumerate() {
                let cells: Vec<Option<String>> = row
                    .data()
                    .iter()
                    .map(|d| d.var_char_value().map(str::to_string))
                    .collect();
                let header = first_page
                    && i == 0
                    && !names.is_empty()
                    && cells.len() == names.len()
                    && cells
                        .iter()
                        .zip(&names)
                        .all(|(c, n)| c.as_deref() == Some(*n));
                if !header {
                    rows.push(cells);
                }
            }
        }
        first_page = false;
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(rows),
        }
    }
}
