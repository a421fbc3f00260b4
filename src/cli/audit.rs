//! `trailaudit audit`: the policy set over trail configuration and event history.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::{check_paths_exist, emit, safe, InputArgs, Status, TimeWindow};
use crate::config;
use crate::events;
use crate::inventory::Inventory;
use crate::policy::check::{self, Outcome, Status as PolicyStatus};
use crate::policy::{Kind, Policy, PolicySet, Severity, FRAMEWORKS};
use crate::report::render::Format;
use crate::report::{self, Evidence, Report, Scope};

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
    let set = PolicySet::load(&args.policies, args.only_policies)?;
    let waivers = report::waiver::load(&args.waivers, &set, chrono::Utc::now().date_naive())?;
    let baseline = args
        .baseline
        .as_deref()
        .map(report::waiver::Baseline::load)
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
    let bounds = args.window.bounds()?;

    let frame = (!logs.is_empty()).then(|| events::load(&logs));
    let cfg = (!configs.is_empty()).then(|| config::load(&configs));
    let posture = cfg.as_ref().map(|c| c.posture());

    let selected: Vec<&Policy> = set
        .policies
        .iter()
        .filter(|p| {
            args.framework
                .as_ref()
                .is_none_or(|f| p.frameworks.contains_key(f))
        })
        .collect();

    let mut results: Vec<(&Policy, Outcome)> = Vec::with_capacity(selected.len());
    let event_policies: Vec<&Policy> = selected
        .iter()
        .copied()
        .filter(|p| p.kind == Kind::Event)
        .collect();
    let mut event_outcomes = match &frame {
        Some(frame) => check::evaluate_events(&event_policies, frame, bounds.to_expr())
            .context("evaluating event policies")?
            .into_iter(),
        None => Vec::new().into_iter(),
    };
    let integrity = selected.iter().any(|p| p.kind == Kind::Integrity).then(|| {
        let window = crate::integrity::Window {
            from: bounds.from,
            until: bounds.until,
        };
        crate::integrity::findings::Evidence::gather(
            &logs,
            &configs,
            frame.as_ref(),
            window,
            bounds.to_expr(),
        )
    });
    for p in &selected {
        let outcome = match (p.kind, &frame, &posture) {
            (Kind::Integrity, _, _) => crate::integrity::findings::evaluate(p, integrity.as_ref()),
            (Kind::Event, Some(_), _) => event_outcomes
                .next()
                .unwrap_or_else(|| Outcome::not_applicable("not evaluated")),
            (Kind::Event, None, _) => Outcome::not_applicable("no event history given (--logs)"),
            (Kind::Config, _, Some(posture)) => check::evaluate_config(p, posture),
            (Kind::Monitoring, _, Some(posture)) => check::evaluate_monitoring(p, &set, posture),
            (_, _, None) => Outcome::not_applicable("no configuration evidence given (--config)"),
        };
        results.push((p, outcome));
    }

    let mut evidence = Evidence {
        logs: None,
        config: None,
        posture: posture
            .as_ref()
            .map(|p| p.trails.clone())
            .unwrap_or_default(),
        first_event: None,
        last_event: None,
        accounts: posture
            .as_ref()
            .map(|p| p.accounts.clone())
            .unwrap_or_default(),
        regions: Vec::new(),
        activity: Vec::new(),
        command_line: std::env::args().collect(),
    };
    if let Some(frame) = &frame {
        let inv = Inventory::of(frame).context("summarising the event history")?;
        let in_scope = match bounds.to_expr() {
            Some(w) => {
                use polars::prelude::IntoLazy;
                frame.df.clone().lazy().filter(w).collect()?.height() as u64
            }
            None => frame.events() as u64,
        };
        evidence.first_event = inv.first_event.clone();
        evidence.last_event = inv.last_event.clone();
        evidence.accounts.extend(inv.accounts.iter().cloned());
        evidence.regions = inv.regions.clone();
        evidence.activity = report::activity(&inv);
        evidence.logs = Some((frame, logs.clone(), in_scope));
    }
    if let Some(Some(Ok(gaps))) = integrity.as_ref().map(|i| i.gaps.as_ref()) {
        report::add_delivery_gaps(&mut evidence.activity, gaps);
    }
    if let Some(c) = &cfg {
        evidence.config = Some((c, configs.clone()));
    }
    let scope = Scope {
        from: bounds.from.map(crate::events::record::format_event_time),
        to: bounds
            .until
            .map(|u| crate::events::record::format_event_time(u - 1)),
        framework: args.framework.clone(),
        ..Scope::default()
    };
    let report = report::build(
        &set,
        results,
        evidence,
        scope,
        report::Options {
            fail_on: args.fail_on,
            partial_allowed: args.input.allow_partial,
            waivers,
            baseline,
        },
    );

    args.out.write(&report)?;

    let errors = report
        .policies
        .iter()
        .filter(|p| p.status == PolicyStatus::Error)
        .count();
    if report.inputs.partial && !quiet {
        eprintln!(
            "trailaudit: partial evidence{}: see inputs in the report",
            if args.input.allow_partial {
                " (allowed by --allow-partial)"
            } else {
                "; exit 2 (use --allow-partial to accept it)"
            }
        );
    }
    Ok(
        if (report.inputs.partial && !args.input.allow_partial) || errors > 0 {
            Status::Error
        } else if report.summary.violations > 0 {
            Status::Violations
        } else {
            Status::Clean
        },
    )
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
