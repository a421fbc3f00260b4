//! Event history read where it already lives: the event policies run in Amazon Athena over
//! AWS's CloudTrail table, and what comes back feeds the same pipeline as local files.
//!
//! ```text
//! event policies --Plan--> 1. events:    SELECT every record column WHERE window AND (p1 OR p2 ...)
//!                          2. inventory: SELECT account, region, day, count, first, last GROUP BY
//! Athena (client.rs) --rows--> records (JSON, as the table keeps them) --> EventFrame chunks
//!                                                                           --> the same policy evaluation
//! ```
//!
//! One query selects the records that any event policy matches, so Athena reads the window
//! once whatever the number of policies (it bills by bytes scanned); each policy's pattern is
//! then evaluated again on those rows by the local evaluator, which keeps thresholds, windows,
//! `group_by` and evidence exactly as in a local audit. The queries run in this order, always
//! (tests seed an emulator's results in it): [`QueryKind::Events`], then
//! [`QueryKind::Inventory`].

pub mod client;

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::events::frame::FrameBuilder;
use crate::events::{dedup, record, Keep, KeyInfo, Source, Window};
use crate::filter::ast::{Expr, Pattern};
use crate::inventory::{Inventory, Tally, UNKNOWN};
use crate::policy::{Check, Policy};
use crate::sql::table::{Field, Ty, COLUMNS};
use crate::sql::{self, Dialect, SelectSpec, SqlError};

/// Athena's pseudo-column naming the S3 object a row was read from.
pub const PATH_COLUMN: &str = "$path";

/// Which query of a [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// The records any event policy matches.
    Events,
    /// Counts per account, region and day over the window.
    Inventory,
}

impl QueryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Events => "events",
            QueryKind::Inventory => "inventory",
        }
    }
}

/// Where and over what the queries run.
#[derive(Debug, Clone)]
pub struct Target {
    /// `NAME` or `DATABASE.NAME`.
    pub table: String,
    pub window: Window,
    /// Only these accounts and regions (partitions and columns).
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Bound the table's `timestamp` (and `account`, `region`) partition columns too.
    pub partition: bool,
}

/// The queries of an audit, in the order they run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub queries: Vec<(QueryKind, String)>,
    /// Event policies SQL cannot express, with why: judged on no rows, so never a pass.
    pub refused: Vec<(String, String)>,
    /// What the table cannot tell apart (absent vs null), from the patterns.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--athena-table {0:?}: expected NAME or DATABASE.NAME of letters, digits and '_'")]
    TableName(String),
    #[error(transparent)]
    Sql(#[from] SqlError),
}

fn spec(target: &Target, dialect: Dialect) -> SelectSpec {
    SelectSpec {
        dialect,
        table: target.table.clone(),
        columns: vec!["eventid".into()],
        paths: Vec::new(),
        from_ms: target.window.from,
        until_ms: target.window.until,
        accounts: target.accounts.clone(),
        regions: target.regions.clone(),
        partition: target.partition,
    }
}

/// A column of the record as the events query selects it: text the decoder turns back into the
/// record's value ([`record_of`]).
fn record_column(f: &Field, dialect: Dialect) -> String {
    match (f.ty, dialect) {
        (Ty::Struct(_) | Ty::ArrayOf(_) | Ty::Map, Dialect::Athena) => {
            format!("json_format(CAST({0} AS JSON)) AS {0}", f.name)
        }
        (Ty::Struct(_) | Ty::ArrayOf(_) | Ty::Map, Dialect::Duckdb) => {
            format!("CAST(to_json({0}) AS VARCHAR) AS {0}", f.name)
        }
        _ => f.name.to_string(),
    }
}

impl Plan {
    /// The queries for `policies` (event policies; others are ignored) over `target`.
    pub fn new(policies: &[&Policy], target: &Target, dialect: Dialect) -> Result<Plan, PlanError> {
        if !sql::is_table_name(&target.table) {
            return Err(PlanError::TableName(target.table.clone()));
        }
        let mut alternatives = Vec::new();
        let mut refused = Vec::new();
        let mut notes = std::collections::BTreeSet::new();
        let mut all = false;
        for p in policies {
            let Check::Event { pattern, .. } = &p.check else {
                continue;
            };
            match sql::compile(pattern, dialect) {
                Ok(c) => {
                    notes.extend(c.notes);
                    match pattern {
                        Pattern::Json(e) => alternatives.push(e.clone()),
                        _ => all = true,
                    }
                }
                Err(e) => refused.push((p.id.clone(), e.to_string())),
            }
        }
        let mut queries = Vec::new();
        let spec = spec(target, dialect);
        if all || !alternatives.is_empty() {
            let pattern = if all {
                Pattern::All
            } else if alternatives.len() == 1 {
                Pattern::Json(alternatives.remove(0))
            } else {
                Pattern::Json(Expr::Or(alternatives))
            };
            let (conditions, _) = sql::conditions(&pattern, &spec)?;
            let mut columns: Vec<String> =
                COLUMNS.iter().map(|f| record_column(f, dialect)).collect();
            columns.push(sql::quote_ident(PATH_COLUMN));
            queries.push((
                QueryKind::Events,
                format!(
                    "SELECT {}\nFROM {}\nWHERE {}\nORDER BY eventtime, {}, eventid",
                    columns.join(", "),
                    target.table,
                    conditions.join("\n  AND "),
                    sql::quote_ident(PATH_COLUMN),
                ),
            ));
        }
        let (conditions, _) = sql::conditions(&Pattern::All, &spec)?;
        let conditions: Vec<String> = conditions.into_iter().filter(|c| c != "TRUE").collect();
        let path = sql::quote_ident(PATH_COLUMN);
        // The S3 key's account and region only count where the record lacks its own
        // (`record_account`'s rule); elsewhere NULL, so they do not split the groups.
        let key = format!(
            "CASE WHEN recipientaccountid IS NULL OR recipientaccountid = '' OR awsregion IS NULL \
             THEN regexp_extract({path}, '/AWSLogs/(o-[a-z0-9]+/)?[0-9]{{12}}/CloudTrail[^/]*/[^/]+/') END"
        );
        let unique = "count(DISTINCT CASE WHEN eventid <> '' THEN eventid || '|' || COALESCE(eventtime, '') END) \
             + count_if(eventid IS NULL OR eventid = '')";
        queries.push((
            QueryKind::Inventory,
            format!(
                "SELECT recipientaccountid, useridentity.accountid AS calleraccountid, awsregion, \
                 {key} AS s3key, substr(eventtime, 1, 10) AS day, {unique} AS events, \
                 min(eventtime) AS first, max(eventtime) AS last\nFROM {}{}\n\
                 GROUP BY 1, 2, 3, 4, 5\nORDER BY 1, 2, 3, 4, 5",
                target.table,
                if conditions.is_empty() {
                    String::new()
                } else {
                    format!("\nWHERE {}", conditions.join("\n  AND "))
                },
            ),
        ));
        Ok(Plan {
            queries,
            refused,
            notes: notes.into_iter().collect(),
        })
    }

    pub fn query(&self, kind: QueryKind) -> Option<&str> {
        self.queries
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, q)| q.as_str())
    }
}

/// One query as it ran: for the report's scope.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct QueryRun {
    /// `events` or `inventory`.
    pub query: String,
    pub query_execution_id: Option<String>,
    /// Athena's final state (SUCCEEDED, FAILED, CANCELLED), or TIMED_OUT / NOT_STARTED.
    pub state: String,
    /// Athena's statistics: the bytes the query read (what it is billed on).
    pub data_scanned_bytes: Option<i64>,
    /// Rows returned (the header row not counted).
    pub rows: u64,
    /// Why the query gave no result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What Athena returned for a plan.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub runs: Vec<QueryRun>,
    /// Each query's rows (cells in select order; `None` is SQL NULL), for those that succeeded.
    pub rows: BTreeMap<QueryKind, Vec<Vec<Option<String>>>>,
}

impl Fetched {
    pub fn failed(&self) -> impl Iterator<Item = &QueryRun> {
        self.runs.iter().filter(|r| r.error.is_some())
    }
}

/// The report's account of the Athena run (`scope.athena`).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct AthenaScope {
    pub table: String,
    pub workgroup: Option<String>,
    pub queries: Vec<QueryRun>,
    /// Event policies SQL cannot express (judged on no rows), with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

/// A row of the events query as the CloudTrail record the table keeps: NULL cells absent,
/// JSON-text columns parsed, structs back under the record's own keys.
pub fn record_of(cells: &[Option<String>]) -> Value {
    fn back(v: Value, ty: Ty) -> Option<Value> {
        match (v, ty) {
            (Value::Null, _) => None,
            (Value::Object(o), Ty::Struct(fs)) => {
                let mut m = Map::new();
                let mut o = o;
                for f in fs {
                    if let Some(v) = o.remove(f.name).and_then(|v| back(v, f.ty)) {
                        m.insert(f.key.into(), v);
                    }
                }
                Some(Value::Object(m))
            }
            // A ROW cast to JSON without field names (older engines): by position.
            (Value::Array(items), Ty::Struct(fs)) => {
                let mut m = Map::new();
                for (f, v) in fs.iter().zip(items) {
                    if let Some(v) = back(v, f.ty) {
                        m.insert(f.key.into(), v);
                    }
                }
                Some(Value::Object(m))
            }
            (Value::Array(items), Ty::ArrayOf(fs)) => Some(Value::Array(
                items
                    .into_iter()
                    .map(|i| back(i, Ty::Struct(fs)).unwrap_or(Value::Null))
                    .collect(),
            )),
            (v, _) => Some(v),
        }
    }
    let mut m = Map::new();
    for (c, cell) in COLUMNS.iter().zip(cells) {
        let Some(text) = cell else { continue };
        let value = match c.ty {
            Ty::Str => Some(Value::String(text.clone())),
            Ty::BoolText => Some(match text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(text.clone()),
            }),
            // Text that is not JSON stays the text it is.
            Ty::Json => {
                Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())))
            }
            ty => serde_json::from_str(text).ok().and_then(|v| back(v, ty)),
        };
        if let Some(v) = value {
            m.insert(c.key.into(), v);
        }
    }
    Value::Object(m)
}

/// The events query's rows as EventFrame rows: sources are the S3 objects (`$path`), each
/// row's record index its position among its object's rows in the result (Athena does not say
/// where in the object a record is). Copies of an event (same `eventID`, account and time)
/// count once, as in a local load. Rows that are no record are counted with why.
pub struct History {
    pub sources: Vec<Source>,
    pub frame: DataFrame,
    pub rejected: Vec<String>,
    pub duplicates: u64,
}

pub fn history(rows: &[Vec<Option<String>>]) -> History {
    let mut paths: BTreeMap<String, u32> = BTreeMap::new();
    for r in rows {
        let p = r.get(COLUMNS.len()).cloned().flatten().unwrap_or_default();
        paths.entry(p).or_default();
    }
    for (i, id) in paths.values_mut().enumerate() {
        *id = i as u32;
    }
    let sources: Vec<Source> = paths
        .keys()
        .map(|p| Source {
            path: p.into(),
            key: KeyInfo::from_path(std::path::Path::new(p)),
        })
        .collect();
    let mut next = vec![0u64; sources.len()];
    let mut builder = FrameBuilder::new(Keep::Whole);
    let mut seen = dedup::Seen::default();
    let mut rejected = Vec::new();
    let mut duplicates = 0;
    for (n, r) in rows.iter().enumerate() {
        let path = r.get(COLUMNS.len()).cloned().flatten().unwrap_or_default();
        let file = paths[&path];
        let text = record_of(r).to_string();
        match record::parse_record(&text, Keep::Whole) {
            Ok(row) => {
                if dedup::key(&row).is_some_and(|k| !seen.first(k)) {
                    duplicates += 1;
                    continue;
                }
                let index = next[file as usize];
                next[file as usize] += 1;
                // Rows Athena returns are not where the file has them: no span.
                builder.push(&row, file, index, None);
            }
            Err(e) => rejected.push(format!("row {n} ({path}): {e}")),
        }
    }
    History {
        sources,
        frame: builder.finish(),
        rejected,
        duplicates,
    }
}

/// The inventory query's rows as the inventory of the window (files: none).
pub fn inventory(rows: &[Vec<Option<String>>]) -> Inventory {
    let mut tally = Tally::default();
    for r in rows {
        let cell = |i: usize| r.get(i).and_then(|c| c.as_deref());
        let key = cell(3).map(|k| KeyInfo::from_path(std::path::Path::new(k)));
        let account =
            crate::events::record_account(cell(0), key.as_ref(), cell(1)).unwrap_or(UNKNOWN);
        let region = cell(2)
            .or_else(|| key.as_ref().and_then(|k| k.region.as_deref()))
            .unwrap_or(UNKNOWN);
        let events: u64 = cell(5).and_then(|n| n.parse().ok()).unwrap_or(0);
        let time = |i| cell(i).and_then(record::parse_event_time).map(|(ms, _)| ms);
        match (time(6), time(7)) {
            (Some(first), Some(last)) => {
                let day = first.div_euclid(86_400_000) as i32;
                tally.add_counted(account, region, day, events, first, last);
            }
            // Records without a readable time are counted, on no day.
            _ => tally.add_uncounted(events),
        }
    }
    tally.finish(&[])
}
