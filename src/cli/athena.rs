//! `trailaudit athena ddl`: the Athena table for a trail's bucket.

use std::path::PathBuf;

use super::{emit, Status};
use crate::sql::ddl::{self, DdlSpec};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the CREATE EXTERNAL TABLE (partition projection by account, region and day) for
    /// a trail's S3 bucket.
    Ddl {
        /// The trail's S3 bucket.
        #[arg(long)]
        bucket: String,
        /// The trail's S3 key prefix, if it has one (the part before AWSLogs/).
        #[arg(long)]
        prefix: Option<String>,
        /// The organization id of an organization trail (o-...): its keys are
        /// AWSLogs/o-.../ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/.
        #[arg(long, value_name = "ID")]
        organization: Option<String>,
        /// Comma-separated 12-digit account ids whose logs the table reads (partition
        /// projection enumerates them).
        #[arg(long, value_delimiter = ',', required = true)]
        accounts: Vec<String>,
        /// Comma-separated regions to read. Default: every commercial region.
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// First day of logs to project, YYYY-MM-DD.
        #[arg(long, value_name = "DATE", default_value = "2020-01-01")]
        start: String,
        /// The table to create: NAME or DATABASE.NAME.
        #[arg(long, value_name = "NAME", default_value = "cloudtrail_logs")]
        table: String,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    match &args.command {
        Command::Ddl {
            bucket,
            prefix,
            organization,
            accounts,
            regions,
            start,
            table,
            output,
        } => {
            super::check_writable(output.as_deref())?;
            let spec = DdlSpec {
                table: table.clone(),
                bucket: bucket.clone(),
                prefix: prefix.clone(),
                organization: organization.clone(),
                accounts: accounts.iter().map(|a| a.trim().to_string()).collect(),
                regions: regions.iter().map(|r| r.trim().to_string()).collect(),
                start: start.clone(),
            };
            emit(output.as_deref(), &ddl::create_table(&spec)?)?;
            Ok(Status::Clean)
        }
    }
}
