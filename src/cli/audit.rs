//! `trailaudit audit`: the policy set over trail configuration and event history.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::progress::Bar;
use super::{check_paths_exist, emit, safe, InputArgs, Status, TimeWindow};
use crate::audit;
use crate::finding::Status as PolicyStatus;
use crate::judge;
use crate::policy::{PolicySet, Severity, FRAMEWORKS};
use crate::report::render::Format;
use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Event history: files and directories of CloudTrail log files, LookupEvents output,
    /// JSON or NDJSON records (searched recursively). Without --logs and --config, the bundled
    /// samples/ are audited.
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
    /// Run only the policies mapped to this framework (cis-aws-v3.0, pci-dss-v4.0,
    /// nist-800-53-r5, fedramp-moderate-r5, aws-fsbp).
    #[arg(long)]
    framework: Option<String>,
    #[command(flatten)]
    window: TimeWindow,
    /// Exit 1 when a policy of this severity or higher fails.
    #[arg(long, value_enum, default_value_t = Severity::High)]
    fail_on: Severity,
    /// Waiver files (TOML, see the README): waived findings do not fail the run and are
    /// listed in their own section; an expired waiver stops applying and is reported.
    #[arg(long, num_args = 1..)]
    waivers: Vec<PathBuf>,
    /// A previous JSON report: only findings not in it fail the run.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Evidence events kept in full per finding: the first N and the last N (every event is
    /// still counted).
    #[arg(long, value_name = "N", default_value_t = crate::finding::DEFAULT_EVIDENCE)]
    evidence_per_finding: usize,

    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    input: InputArgs,
}

/// Report formats and where they go, shared by `audit` and `report`.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// One or more of text, json, md, html, sarif, junit (comma-separated). Several formats
    /// need `-o DIR`, which receives report.txt, report.json, report.md, report.html,
    /// report.sarif and report.junit.xml.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "text")]
    pub format: Vec<Format>,
    /// Write to this file (one format) or directory (several) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Templates that replace the built-in ones: report.html.hbs, report.md.hbs and
    /// partials/{html,md}/NAME.hbs; files not there are the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
}

impl OutputArgs {
    /// Usage errors in the output arguments, found before any input is read: several formats
    /// without `-o DIR`, an output that cannot be written.
    pub fn check(&self) -> anyhow::Result<()> {
        match (self.format.as_slice(), &self.output) {
            ([_, _, ..], None) => bail!("several formats need -o DIR"),
            ([_, _, ..], Some(dir)) => std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display())),
            (_, Some(file)) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .map(drop)
                .with_context(|| format!("cannot write {}", file.display())),
            _ => Ok(()),
        }
    }

    pub fn write(&self, report: &Report) -> anyhow::Result<()> {
        write_formats(
            report,
            &self.format,
            self.output.as_deref(),
            self.templates.as_deref(),
        )
    }
}

/// `samples/` next to the working directory, else in the source tree this binary was built from.
fn samples_dir() -> Option<PathBuf> {
    [
        PathBuf::from("samples"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"),
    ]
    .into_iter()
    .find(|p| p.join("logs").is_dir())
}

pub fn run(args: &Args, quiet: bool) -> anyhow::Result<Status> {
    if let Some(f) = &args.framework {
        if !FRAMEWORKS.contains(&f.as_str()) {
            bail!(
                "unknown framework {f:?}; use one of {}",
                FRAMEWORKS.join(", ")
            );
        }
    }
    args.out.check()?;
    let window = args.window.bounds()?;
    let set = PolicySet::load(&args.policies, args.only_policies)?;
    let waivers = judge::waiver::load(&args.waivers, &set, chrono::Utc::now().date_naive())?;
    let baseline = args
        .baseline
        .as_deref()
        .map(judge::waiver::Baseline::load)
        .transpose()?;
    let (mut logs, mut configs) = (args.logs.clone(), args.config.clone());
    if logs.is_empty() && configs.is_empty() {
        let samples = samples_dir()
            .context("no --logs or --config given, and no samples/ directory to audit")?;
        if !quiet {
            eprintln!(
                "trailaudit: no --logs or --config given: auditing the bundled {}",
                samples.display()
            );
        }
        logs.push(samples.join("logs"));
        if samples.join("config").is_dir() {
            configs.push(samples.join("config"));
        }
    }
    check_paths_exist(&logs)?;
    check_paths_exist(&configs)?;

    let bar = Bar::for_terminal(quiet, "auditing");
    let audit = audit::run(audit::Request {
        set: &set,
        logs,
        config: configs,
        framework: args.framework.clone(),
        window,
        judge: judge::Options {
            fail_on: args.fail_on,
            waivers,
            baseline,
        },
        allow_partial: args.input.allow_partial,
        evidence_per_finding: args.evidence_per_finding,
        chunk_rows: args.input.chunk_rows,
        command_line: std::env::args().collect(),
        progress: Bar::progress(&bar),
    })?;
    drop(bar);
    let report = &audit.report;
    args.out.write(report)?;
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
            crate::exit::partial_note(failed, rejected, args.input.allow_partial)
        );
    }
    Ok(audit.exit)
}

/// Renders `report` in each format: to stdout, to `output` as a file (one format), or into
/// `output` as a directory (several).
pub(crate) fn write_formats(
    report: &Report,
    formats: &[Format],
    output: Option<&Path>,
    templates: Option<&Path>,
) -> anyhow::Result<()> {
    let model = serde_json::to_value(report)?;
    let render = |f: Format| -> anyhow::Result<String> {
        Ok(match f {
            Format::Json => serde_json::to_string_pretty(&model)? + "\n",
            Format::Text => render_text(report),
            Format::Md => report::render::markdown(&model, templates)?,
            Format::Sarif => serde_json::to_string_pretty(&report::render::sarif(&model))? + "\n",
            Format::Junit => report::render::junit(&model),
            Format::Html => report::render::html(&model, templates)?,
        })
    };
    match (formats, output) {
        ([one], out) => emit(out, &render(*one)?),
        (many, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for f in many {
                emit(Some(&dir.join(f.file_name())), &render(*f)?)?;
            }
            Ok(())
        }
        (_, None) => bail!("several formats need -o DIR"),
    }
}

pub(crate) fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let c = &r.summary.by_status;
    let _ = writeln!(
        s,
        "{} policies: {} fail, {} pass, {} not applicable{}  (violations at or above {}: {})",
        r.policies.len(),
        c.fail,
        c.pass,
        c.not_applicable,
        if c.error > 0 {
            format!(", {} error", c.error)
        } else {
            String::new()
        },
        r.summary.fail_on,
        r.summary.violations
    );
    if let Some(l) = &r.inputs.logs {
        let _ = writeln!(
            s,
            "Events:  {} in scope of {} loaded from {} files ({} failed, {} records rejected); {} .. {}",
            l.events_in_scope,
            l.events,
            l.files,
            l.failed_files.len(),
            l.rejected_records,
            r.scope.first_event.as_deref().unwrap_or("-"),
            r.scope.last_event.as_deref().unwrap_or("-")
        );
    }
    if let Some(cfg) = &r.inputs.config {
        let _ = writeln!(
            s,
            "Config:  {} files ({} failed, {} collection gaps), {} trails",
            cfg.files,
            cfg.failed_files.len(),
            cfg.collection_gaps.len(),
            r.posture.len()
        );
    }
    let _ = writeln!(
        s,
        "Accounts: {}",
        if r.scope.accounts.is_empty() {
            "none".into()
        } else {
            r.scope.accounts.join(", ")
        }
    );
    let mut rows: Vec<&report::PolicyResult> = r.policies.iter().collect();
    rows.sort_by_key(|p| (p.status, std::cmp::Reverse(p.severity), p.id.clone()));
    let _ = writeln!(s);
    for p in rows {
        let status = match p.status {
            PolicyStatus::Pass => "pass",
            PolicyStatus::Fail => "FAIL",
            PolicyStatus::Error => "ERROR",
            PolicyStatus::NotApplicable => "n/a",
            PolicyStatus::Waived => "waivd",
        };
        let detail = match p.status {
            PolicyStatus::Fail | PolicyStatus::Waived => {
                let waived = p.findings.iter().filter(|f| f.waived_by.is_some()).count();
                if waived > 0 {
                    format!("{} finding(s), {waived} waived", p.findings.len())
                } else {
                    format!("{} finding(s)", p.findings.len())
                }
            }
            PolicyStatus::NotApplicable | PolicyStatus::Error => {
                p.reason.clone().unwrap_or_default()
            }
            PolicyStatus::Pass => p.matched_events.map(|_| String::new()).unwrap_or_default(),
        };
        let _ = writeln!(
            s,
            "{status:<5} {:<8} {:<10} {}  {detail}",
            p.severity.to_string(),
            p.id,
            p.title
        );
        if p.status == PolicyStatus::Fail {
            for f in p.findings.iter().take(3) {
                let _ = writeln!(
                    s,
                    "        - {} {} {}: {}",
                    f.account,
                    f.region,
                    safe(&f.resource),
                    safe(&f.message)
                );
            }
            if p.findings.len() > 3 {
                let _ = writeln!(s, "        - ... {} more", p.findings.len() - 3);
            }
        }
        for w in &p.warnings {
            let _ = writeln!(s, "        ! {}", safe(w));
        }
    }
    s
}
