//! `trailaudit iac`: the CIS monitoring chain that Terraform and CloudFormation templates
//! declare, judged by the monitoring policies as `audit --config` judges a deployed account.

use std::path::PathBuf;

use anyhow::bail;

use super::{check_paths_exist, Status};
use crate::exit::Exit;
use crate::judge;
use crate::policy::{Kind, PolicySet, FRAMEWORKS};
use crate::report::render::{Format, Templates};
use crate::report::{self, Evidence, IacInputs, Scope};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Terraform root modules (directories of .tf / .tf.json files; local modules they call are
    /// read through them), CloudFormation or SAM templates (YAML or JSON), or directories
    /// holding any of them (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format: text, json (the report model), sarif (results at the line and column of
    /// each filter's pattern, for code scanning) or md.
    #[arg(long, value_enum, default_value_t = IacFormat::Text)]
    format: IacFormat,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Judge only the monitoring policies mapped to this framework (cis-aws-v3.0,
    /// pci-dss-v4.0, nist-800-53-r5, fedramp-moderate-r5, aws-fsbp).
    #[arg(long)]
    framework: Option<String>,
    /// Exit 1 when a policy of this severity or higher fails; `never` for a report-only run.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = judge::FailOn::High)]
    fail_on: judge::FailOn,
    /// Add the policies in DIR; one with a built-in policy's id replaces it.
    #[arg(long)]
    policies: Vec<PathBuf>,
    /// Use only the policies from --policies, not the built-in set.
    #[arg(long, requires = "policies")]
    only_policies: bool,
    /// Treat templates that cannot be read or parsed as usable: exit 0 or 1 instead of 2. Each
    /// is still listed.
    #[arg(long)]
    allow_partial: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum IacFormat {
    Text,
    Json,
    Sarif,
    Md,
}

impl IacFormat {
    fn format(self) -> Format {
        match self {
            IacFormat::Text => Format::Text,
            IacFormat::Json => Format::Json,
            IacFormat::Sarif => Format::Sarif,
            IacFormat::Md => Format::Md,
        }
    }
}

pub fn run(args: &Args, quiet: bool) -> anyhow::Result<Status> {
    if let Some(f) = &args.framework {
        if !FRAMEWORKS.contains(&f.as_str()) {
            bail!("unknown framework {f:?}: one of {}", FRAMEWORKS.join(", "));
        }
    }
    super::check_writable(args.output.as_deref())?;
    check_paths_exist(&args.paths)?;
    let set = PolicySet::load(&args.policies, args.only_policies)?;
    let selected: Vec<_> = crate::audit::selected(&set, args.framework.as_deref())
        .into_iter()
        .filter(|p| p.kind == Kind::Monitoring)
        .collect();
    let templates = crate::iac::load(&args.paths);
    let results = crate::iac::evaluate(&set, &selected, &templates);
    let judgement = judge::judge(
        results,
        judge::Options {
            fail_on: args.fail_on,
            ..judge::Options::default()
        },
    );
    let (errors, violations) = (judgement.errors(), judgement.violations());
    let known = crate::config::posture::assemble(&crate::iac::raw(&templates.stacks, None));
    let evidence = Evidence {
        logs: None,
        config: None,
        posture: known.trails.clone(),
        first_event: None,
        last_event: None,
        accounts: known.accounts.clone(),
        regions: Vec::new(),
        activity: Vec::new(),
        command_line: std::env::args().collect(),
        partial_allowed: args.allow_partial,
        ignored: Vec::new(),
        generated_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let scope = Scope {
        framework: args.framework.clone(),
        ..Scope::default()
    };
    let mut report = report::build(&set, judgement, evidence, scope);
    let failed = templates.failed().count();
    report.inputs.partial = failed > 0;
    report.inputs.iac = Some(IacInputs {
        paths: args.paths.clone(),
        files: templates.files.clone(),
        stacks: templates.stacks.iter().map(|s| s.label.clone()).collect(),
        unresolved: templates.unresolved(),
        invalid: templates.invalid.clone(),
    });
    report.manifest.inputs = templates
        .files
        .iter()
        .map(|f| {
            let fp = std::fs::read(&f.path)
                .ok()
                .map(|b| crate::events::Fingerprint::of(&b));
            report::ManifestInput {
                kind: "template".into(),
                path: f.path.clone(),
                bytes: fp.as_ref().map(|x| x.bytes),
                sha256: fp.map(|x| x.sha256.to_string()),
                compression: None,
            }
        })
        .collect();
    report.manifest = std::mem::take(&mut report.manifest).sealed();
    let format = args.format.format();
    super::audit::write_formats(
        &report,
        &[format],
        args.output.as_deref(),
        &Templates::for_formats(&[format], None)?,
    )?;
    if !quiet {
        for f in templates.failed() {
            eprintln!(
                "trailaudit: cannot read {}: {}",
                f.path.display(),
                f.error.as_deref().unwrap_or_default()
            );
        }
        for d in &templates.invalid {
            eprintln!("error: {d}");
        }
        if templates.stacks.is_empty() {
            eprintln!(
                "trailaudit: no Terraform module or CloudFormation template under the paths given"
            );
        }
    }
    // A pattern AWS would refuse cannot be deployed: an error, as an invalid input is.
    let errors = errors + templates.invalid.len();
    Ok(Exit::decide(
        report.inputs.partial,
        args.allow_partial,
        errors,
        violations,
    ))
}
