//! `trailaudit audit`: the policy set over trail configuration and event history.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::progress::Bar;
use std::io::Write as _;

use super::{check_paths_exist, InputArgs, Status, TimeWindow};
use crate::audit;
use crate::judge;
use crate::policy::{self, PolicySet};
use crate::report::render::{Format, RenderError, Templates};
use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Evidence: files and directories (searched recursively), each file classified by its
    /// content as event history or configuration evidence (e.g. `audit samples/`). Files that
    /// are neither are listed in the report and not read.
    paths: Vec<PathBuf>,
    /// Event history: files and directories of CloudTrail log files, LookupEvents output,
    /// JSON or NDJSON records (searched recursively). Evidence must be given, here, with
    /// --config or as PATHs.
    #[arg(long, num_args = 1..)]
    logs: Vec<PathBuf>,
    /// Configuration evidence: the directory the README's aws CLI script or `trailaudit
    /// collect` writes.
    #[arg(long, num_args = 1..)]
    config: Vec<PathBuf>,
    /// Add the policies in DIR; one with a built-in policy's id replaces it.
    #[arg(long)]
    policies: Vec<PathBuf>,
    /// Use only the policies from --policies, not the built-in set.
    #[arg(long, requires = "policies")]
    only_policies: bool,
    /// Run only the policies mapped to this framework key; the control matrix shows only it
    /// (`trailaudit frameworks` lists the keys).
    #[arg(long)]
    framework: Option<String>,
    #[command(flatten)]
    window: TimeWindow,
    /// Exit 1 when a policy of this severity or higher fails; `never` for a report-only run
    /// (exit 0 whatever fails; still 2 on errors and on partial evidence without
    /// --allow-partial).
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = judge::FailOn::High)]
    fail_on: judge::FailOn,
    /// Waiver files (TOML, see the README): waived findings do not fail the run and are
    /// listed in their own section; an expired waiver stops applying and is reported.
    #[arg(long, num_args = 1..)]
    waivers: Vec<PathBuf>,
    /// A previous JSON report: only findings not in it fail the run.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Load whole records instead of only what the policies read (the report is the same; for
    /// comparison).
    #[arg(long, hide = true)]
    whole_records: bool,
    /// Evidence events kept in full per finding: the first N and the last N (every event is
    /// still counted).
    #[arg(long, value_name = "N", default_value_t = crate::finding::DEFAULT_EVIDENCE)]
    evidence_per_finding: usize,

    #[command(flatten)]
    athena: AthenaArgs,

    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    input: InputArgs,
}

/// `audit --athena-table`: the event history read in Amazon Athena instead of local files.
#[derive(Debug, clap::Args)]
pub struct AthenaArgs {
    /// Run the event policies in Amazon Athena over this CloudTrail table (NAME or
    /// DATABASE.NAME, the columns of AWS's CloudTrail table; `trailaudit athena ddl` makes one)
    /// instead of reading log files: one query for the records any event policy matches, one
    /// for the counts per account, region and day; the report is the same as a local audit's.
    #[arg(long, value_name = "DB.TABLE", conflicts_with_all = ["logs", "paths"])]
    athena_table: Option<String>,
    /// The Athena workgroup the queries run in (else the account's default, `primary`).
    #[arg(long, value_name = "WG", requires = "athena_table")]
    athena_workgroup: Option<String>,
    /// Where Athena writes the query results (`s3://bucket/prefix/`), unless the workgroup
    /// sets it.
    #[arg(long, value_name = "S3_URI", requires = "athena_table")]
    athena_output: Option<String>,
    /// The database of an unqualified --athena-table.
    #[arg(long, value_name = "DB", requires = "athena_table")]
    athena_database: Option<String>,
    /// The region Athena runs in (else the configured one: AWS_REGION, the profile's region).
    #[arg(long, value_name = "REGION", requires = "athena_table")]
    athena_region: Option<String>,
    /// Only these comma-separated account ids: bounds the table's `account` partition (and
    /// `recipientaccountid`), so Athena reads only their objects.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ID",
        requires = "athena_table"
    )]
    athena_accounts: Vec<String>,
    /// Only these comma-separated regions: bounds the table's `region` partition (and
    /// `awsregion`).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "REGION",
        requires = "athena_table"
    )]
    athena_regions: Vec<String>,
    /// The table has no `timestamp`, `account` and `region` partition columns: --from/--to
    /// and the accounts and regions bound only eventtime, recipientaccountid and awsregion
    /// (Athena then reads the whole table).
    #[arg(long, requires = "athena_table")]
    athena_no_partition: bool,
    /// A query still running after this many seconds is stopped and is a gap (exit 2 unless
    /// --allow-partial).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 1800,
        requires = "athena_table"
    )]
    athena_timeout: u64,
    /// Print the Athena queries the audit would run, in the order it runs them, and exit
    /// (e.g. to see in the Athena console what they would scan).
    #[arg(long, requires = "athena_table")]
    athena_dry_run: bool,
    /// Named profile of the AWS config and credentials files (else the default chain:
    /// environment, default profile, SSO, container or instance credentials).
    #[arg(long, requires = "athena_table")]
    profile: Option<String>,
    /// Send every Athena request to this endpoint (an emulator, a VPC endpoint).
    #[arg(long, value_name = "URL", requires = "athena_table")]
    endpoint_url: Option<String>,
}

impl AthenaArgs {
    fn target(&self, table: &str, window: crate::events::Window) -> crate::athena::Target {
        crate::athena::Target {
            table: table.to_string(),
            window,
            accounts: trimmed(&self.athena_accounts),
            regions: trimmed(&self.athena_regions),
            partition: !self.athena_no_partition,
        }
    }
}

fn trimmed(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Runs the plan's queries in Athena, through the SDK configured as `collect` configures it.
fn fetch_from_athena(
    args: &AthenaArgs,
    plan: &crate::athena::Plan,
) -> anyhow::Result<crate::athena::Fetched> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let opts = crate::athena::client::Options {
        workgroup: args.athena_workgroup.clone(),
        output: args.athena_output.clone(),
        database: args.athena_database.clone(),
        timeout: std::time::Duration::from_secs(args.athena_timeout),
        ..Default::default()
    };
    runtime.block_on(async {
        let sdk =
            crate::collect::Sdk::load(args.profile.as_deref(), args.endpoint_url.as_deref()).await;
        let Some(region) = args.athena_region.clone().or_else(|| sdk.default_region()) else {
            bail!("no region for Athena: give --athena-region, or configure one (AWS_REGION, the profile's region)");
        };
        let client = sdk.athena(&region);
        Ok(crate::athena::client::fetch(&client, plan, &opts).await)
    })
}

/// Report formats and where they go, shared by `audit` and `report`.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// One or more of text, json, md, html, sarif, junit, csv, ocsf (OCSF 1.5.0 findings for
    /// Security Lake), asff (Security Hub findings) (comma-separated). Several formats need
    /// `-o DIR`, which receives report.txt, report.json, report.md, report.html, report.sarif,
    /// report.junit.xml, report.csv, report.ocsf.json and report.asff.json.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "text")]
    pub format: Vec<Format>,
    /// Write to this file (one format) or directory (several) instead of stdout; the evidence's
    /// checksums (`sha256sum -c` format) go beside it in manifest.sha256.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Templates that replace the built-in ones: report.html.hbs, report.md.hbs and
    /// partials/{html,md}/NAME.hbs; files not there are the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
}

impl OutputArgs {
    /// Usage errors in the output arguments, found before any input is read: several formats
    /// without `-o DIR`, an output that cannot be written, templates that do not compile; and
    /// the compiled templates the reports render with.
    pub fn check(&self) -> anyhow::Result<Templates> {
        match (self.format.as_slice(), &self.output) {
            ([_, _, ..], None) => bail!("several formats need -o DIR"),
            ([_, _, ..], Some(dir)) => std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?,
            (_, file) => super::check_writable(file.as_deref())?,
        }
        Ok(Templates::for_formats(
            &self.format,
            self.templates.as_deref(),
        )?)
    }

    /// A verdict on every run: unless the text report went to stdout, its summary (the counts,
    /// the frameworks, what failed) goes to stdout when nothing else does (`-o`), else to
    /// stderr; coloured on a terminal unless `NO_COLOR` is set.
    pub fn print_verdict(&self, report: &Report) {
        use std::io::IsTerminal;
        let text_on_stdout = self.output.is_none() && self.format == [Format::Text];
        if text_on_stdout {
            return;
        }
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if self.output.is_some() {
            let colour = !no_colour && std::io::stdout().is_terminal();
            print!("{}", report::render::summary(report, colour));
        } else {
            let colour = !no_colour && std::io::stderr().is_terminal();
            eprint!("{}", report::render::summary(report, colour));
        }
    }

    /// Writes `report` in every format asked, with the templates [`OutputArgs::check`] gave.
    pub fn write(&self, report: &Report, templates: &Templates) -> anyhow::Result<()> {
        write_formats(report, &self.format, self.output.as_deref(), templates)
    }
}

pub fn run(args: &Args, quiet: bool) -> anyhow::Result<Status> {
    let framework = match &args.framework {
        Some(f) => Some(
            policy::parse_framework(f)
                .map_err(anyhow::Error::msg)?
                .to_string(),
        ),
        None => None,
    };
    let templates = args.out.check()?;
    let window = args.window.bounds()?;
    let set = PolicySet::load(&args.policies, args.only_policies)?;
    let waivers = judge::waiver::load(&args.waivers, &set, chrono::Utc::now().date_naive())?;
    let baseline = args
        .baseline
        .as_deref()
        .map(judge::waiver::Baseline::load)
        .transpose()?;
    let (mut logs, mut configs) = (args.logs.clone(), args.config.clone());
    // An audit of nothing, or of evidence nobody named, would be a report about the wrong
    // thing: say what is missing instead.
    if logs.is_empty()
        && configs.is_empty()
        && args.paths.is_empty()
        && args.athena.athena_table.is_none()
    {
        bail!(
            "no evidence given: name it as PATH... (classified by content: e.g. `audit \
             samples/`), or the event history with --logs PATH and the configuration with \
             --config PATH"
        );
    }
    check_paths_exist(&args.paths)?;
    check_paths_exist(&logs)?;
    check_paths_exist(&configs)?;
    let classified = crate::inputs::classify(&args.paths);
    logs.extend(classified.logs);
    configs.extend(classified.config);

    let athena = match &args.athena.athena_table {
        None => None,
        Some(table) => {
            let target = args.athena.target(table, window);
            let selected = audit::selected(&set, framework.as_deref());
            let plan = crate::athena::Plan::new(&selected, &target, crate::sql::Dialect::Athena)?;
            if args.athena.athena_dry_run {
                let mut text = String::new();
                for (kind, sql) in &plan.queries {
                    text.push_str(&format!("-- {} query\n{sql};\n\n", kind.as_str()));
                }
                for (id, why) in &plan.refused {
                    text.push_str(&format!("-- {id} cannot run in Athena: {why}\n"));
                }
                for note in &plan.notes {
                    text.push_str(&format!("-- {note}\n"));
                }
                print!("{text}");
                return Ok(Status::Clean);
            }
            if !quiet {
                eprintln!(
                    "running {} Athena queries over {table}...",
                    plan.queries.len()
                );
            }
            let fetched = fetch_from_athena(&args.athena, &plan)?;
            Some(audit::AthenaEvidence {
                table: table.clone(),
                workgroup: args.athena.athena_workgroup.clone(),
                fetched,
                refused: plan.refused.clone(),
            })
        }
    };

    let bar = Bar::for_terminal(quiet, "auditing");
    let audit = audit::run(audit::Request {
        set: &set,
        logs,
        config: configs,
        framework: framework.clone(),
        window,
        judge: judge::Options {
            fail_on: args.fail_on,
            waivers,
            baseline,
        },
        allow_partial: args.input.allow_partial,
        evidence_per_finding: args.evidence_per_finding,
        chunk_rows: args.input.chunk_rows,
        keys_in_memory: args.input.keys_in_memory,
        command_line: std::env::args().collect(),
        progress: Bar::progress(&bar),
        whole_records: args.whole_records,
        ignored: classified.ignored,
        athena,
    })?;
    drop(bar);
    let report = &audit.report;
    args.out.write(report, &templates)?;
    if !quiet {
        args.out.print_verdict(report);
    }
    if report.inputs.partial && !quiet {
        let (failed, rejected) = report
            .inputs
            .logs
            .as_ref()
            .map_or((0, 0), |l| (l.failed_files.len(), l.rejected_records));
        let failed = failed
            + report
                .inputs
                .config
                .as_ref()
                .map_or(0, |c| c.failed_files.len());
        eprintln!(
            "{}: see inputs in the report",
            crate::exit::partial_note_with(
                failed,
                rejected,
                &report.inputs.shortfalls,
                args.input.allow_partial
            )
        );
    }
    Ok(audit.exit)
}

/// Renders `report` in each format: to stdout, to `output` as a file (one format), or into
/// `output` as a directory (several). Each is written as it is rendered. A report written to
/// disk gets the evidence manifest's checksum file ([`report::MANIFEST_FILE`]) beside it.
pub(crate) fn write_formats(
    report: &Report,
    formats: &[Format],
    output: Option<&Path>,
    templates: &Templates,
) -> anyhow::Result<()> {
    let write_to = |format: Format, path: Option<&Path>| -> anyhow::Result<()> {
        let render = |out: &mut dyn std::io::Write| -> Result<(), RenderError> {
            let mut out = std::io::BufWriter::new(out);
            report::render::write(format, report, templates, &mut out)?;
            Ok(out.flush()?)
        };
        match path {
            Some(p) => {
                let mut file = std::fs::File::create(p)
                    .with_context(|| format!("cannot write {}", p.display()))?;
                render(&mut file).with_context(|| format!("cannot write {}", p.display()))
            }
            None => match render(&mut std::io::stdout().lock()) {
                // A closed pipe (`| head`) is not an error of ours.
                Err(RenderError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => Ok(r?),
            },
        }
    };
    let dir = match (formats, output) {
        ([one], None) => return write_to(*one, None),
        ([one], Some(file)) => {
            write_to(*one, Some(file))?;
            // A report sent to a device or a pipe (`-o /dev/stdout`) has no directory beside it.
            if !std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
                return Ok(());
            }
            file.parent().unwrap_or(Path::new(""))
        }
        (many, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            // The reports are rendered side by side (each reads the report, none writes it);
            // the first failure in the order asked is the one told. A format asked twice is
            // written once: two writers of one file would race.
            use rayon::prelude::*;
            Format::distinct(many)
                .par_iter()
                .map(|f| write_to(*f, Some(&dir.join(f.file_name()))))
                .collect::<Vec<_>>()
                .into_iter()
                .collect::<anyhow::Result<()>>()?;
            dir
        }
        (_, None) => bail!("several formats need -o DIR"),
    };
    // A report on disk gets its evidence's checksums beside it, as the report names them.
    let path = dir.join(report::MANIFEST_FILE);
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for line in report.manifest.checksum_lines() {
            out.write_all(line.as_bytes())?;
        }
        out.flush()
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}
