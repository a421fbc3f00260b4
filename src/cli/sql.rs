//! `trailaudit sql PATTERN | --policy ID`: a filter pattern as SQL over the Athena CloudTrail
//! table.

use std::path::PathBuf;

use anyhow::bail;

use super::{emit, Status, TimeWindow};
use crate::filter::Pattern;
use crate::policy::{Check, PolicySet};
use crate::sql::{self, Dialect, SelectSpec};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A CloudWatch Logs filter pattern, e.g. '{ $.eventName = "StopLogging" }'. Give this or
    /// --policy.
    pattern: Option<String>,
    /// Compile this event policy's pattern instead (its id, in any case); its group_by fields
    /// are added to the selected columns.
    #[arg(long, value_name = "ID", conflicts_with = "pattern")]
    policy: Option<String>,
    /// Add the policies in DIR to the built-in set, for --policy.
    #[arg(long, value_name = "DIR")]
    policies: Vec<PathBuf>,
    /// athena: Trino SQL for Amazon Athena; duckdb: the same query with DuckDB's functions.
    #[arg(long, value_enum, default_value_t = DialectArg::Athena)]
    dialect: DialectArg,
    /// The table to select from: NAME or DATABASE.NAME.
    #[arg(long, value_name = "NAME", default_value = "cloudtrail_logs")]
    table: String,
    /// Comma-separated table columns to select (lower-case names; `*` for all). Default:
    /// eventid, eventtime, recipientaccountid, awsregion, eventsource, eventname.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Only these comma-separated account ids (the `account` partition of `athena ddl`'s
    /// table, and `recipientaccountid`).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    accounts: Vec<String>,
    /// Only these comma-separated regions (the `region` partition of `athena ddl`'s table, and
    /// `awsregion`).
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    regions: Vec<String>,
    /// Do not use the `timestamp`, `account` and `region` partition columns (for a table
    /// without them): --from/--to bound only eventtime, --accounts/--regions only their columns.
    #[arg(long)]
    no_partition: bool,
    #[command(flatten)]
    window: TimeWindow,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DialectArg {
    Athena,
    Duckdb,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    super::check_writable(args.output.as_deref())?;
    let mut header = Vec::new();
    let mut columns: Vec<String> = args.columns.iter().map(|c| c.trim().to_string()).collect();
    if columns.is_empty() {
        columns = sql::DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect();
    }
    let mut paths = Vec::new();
    let (pattern, text) = match (&args.pattern, &args.policy) {
        (Some(text), None) => (
            Pattern::parse(text).map_err(|e| anyhow::anyhow!("invalid filter pattern: {e}"))?,
            text.clone(),
        ),
        (None, Some(id)) => {
            let set = PolicySet::load(&args.policies, false)?;
            let Some(p) = set.get(id) else {
                bail!("no policy {id:?}; `trailaudit policy list` shows the set");
            };
            let Check::Event {
                pattern,
                text,
                group_by,
                threshold,
                window_ms,
                ..
            } = &p.check
            else {
                bail!(
                    "{} is a {} policy: only event policies select events",
                    p.id,
                    p.kind
                );
            };
            header.push(format!("{}: {}", p.id, p.title));
            paths.extend(group_by.iter().cloned());
            if let Some(t) = threshold {
                header.push(format!(
                    "a finding is {t} or more of these rows per {}{}",
                    group_by.join(", "),
                    window_ms
                        .map(|w| format!(" within {} s", w / 1000))
                        .unwrap_or_default()
                ));
            }
            (pattern.clone(), text.clone())
        }
        (None, None) => bail!("give a filter pattern or --policy ID"),
        (Some(_), Some(_)) => unreachable!("clap refuses both"),
    };
    header.insert(0, format!("pattern: {text}"));
    let window = args.window.bounds()?;
    let spec = SelectSpec {
        dialect: match args.dialect {
            DialectArg::Athena => Dialect::Athena,
            DialectArg::Duckdb => Dialect::Duckdb,
        },
        table: args.table.clone(),
        columns,
        paths,
        from_ms: window.from,
        until_ms: window.until,
        accounts: args.accounts.iter().map(|a| a.trim().to_string()).collect(),
        regions: args.regions.iter().map(|r| r.trim().to_string()).collect(),
        partition: !args.no_partition,
    };
    let query = sql::select(&pattern, &spec)?;
    emit(args.output.as_deref(), &query.to_text(&header))?;
    Ok(Status::Clean)
}
