//! `trailaudit policy list | explain ID | test [DIR]`

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::bail;

use super::{emit, Status};
use crate::policy::{self, Check, PolicySet};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the policy set.
    List {
        /// Add the policies in DIR to the built-in set; one with a built-in policy's id replaces
        /// it.
        #[arg(long, value_name = "DIR")]
        policies: Vec<PathBuf>,
        /// List only the policies mapped to this framework key, with its control ids
        /// (`trailaudit frameworks` lists the keys).
        #[arg(long, value_name = "KEY")]
        framework: Option<String>,
        /// text: one line per policy; json: an array of policies with their framework mappings.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print one policy's documentation.
    Explain {
        /// The policy's id, in any case (`TA-EVT-403`, `ta-evt-403`); `policy list` shows them.
        id: String,
        /// Add the policies in DIR to the built-in set; one with a built-in policy's id replaces
        /// it.
        #[arg(long, value_name = "DIR")]
        policies: Vec<PathBuf>,
    },
    /// Run the examples of the policies in DIR (default: the built-in set).
    Test {
        /// A directory of policy files: only its policies are tested (the built-in set stays
        /// loaded for the controls its monitoring policies name). Default: the built-in set.
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    match &args.command {
        Command::List {
            policies,
            framework,
            format,
        } => {
            let framework = match framework {
                Some(f) => Some(policy::parse_framework(f).map_err(anyhow::Error::msg)?),
                None => None,
            };
            let set = PolicySet::load(policies, false)?;
            let listed: Vec<&policy::Policy> = set
                .policies
                .iter()
                .filter(|p| framework.is_none_or(|f| p.frameworks.contains_key(f)))
                .collect();
            let text = match format {
                ListFormat::Json => {
                    let rows: Vec<serde_json::Value> = listed
                        .iter()
                        .map(|p| {
                            serde_json::json!({"id": p.id, "title": p.title, "severity": p.severity, "kind": p.kind,
                                               "frameworks": p.frameworks, "source": p.source})
                        })
                        .collect();
                    serde_json::to_string_pretty(&rows)? + "\n"
                }
                ListFormat::Text => {
                    let mut s = String::new();
                    // The controls of the framework asked for, else CIS v3.0's.
                    let (key, label) = match framework {
                        Some(f) => (f, f),
                        None => ("cis-aws-v3.0", "CIS"),
                    };
                    for p in &listed {
                        let cis = p
                            .frameworks
                            .get(key)
                            .map(|c| format!("{label} {}", c.join(",")))
                            .unwrap_or_default();
                        let _ = writeln!(
                            s,
                            "{:<11} {:<10} {:<8} {:<72} {cis}",
                            p.id,
                            p.kind.to_string(),
                            p.severity.to_string(),
                            p.title
                        );
                    }
                    let _ = writeln!(s, "{} policies", listed.len());
                    s
                }
            };
            emit(None, &text)?;
            Ok(Status::Clean)
        }
        Command::Explain { id, policies } => {
            let set = PolicySet::load(policies, false)?;
            let Some(p) = set.get(id) else {
                bail!("no policy {id:?}; `trailaudit policy list` shows the set");
            };
            emit(None, &explain(&set, p))?;
            Ok(Status::Clean)
        }
        Command::Test { dir } => {
            let set = match dir {
                // The built-in set stays loaded so that monitoring policies find their controls.
                Some(d) => PolicySet::load(std::slice::from_ref(d), false)?,
                None => PolicySet::load(&[], false)?,
            };
            let mut out = String::new();
            let mut failed = 0;
            let mut tested = 0;
            let dir_prefix = dir.as_ref().map(|d| d.display().to_string());
            for p in &set.policies {
                if dir_prefix
                    .as_ref()
                    .is_some_and(|d| !p.source.starts_with(d.as_str()))
                {
                    continue;
                }
                tested += 1;
                let failures = policy::test_examples(p);
                if failures.is_empty() {
                    let _ = writeln!(out, "ok    {} ({} examples)", p.id, p.examples.len());
                } else {
                    failed += 1;
                    let _ = writeln!(out, "FAIL  {}", p.id);
                    for f in failures {
                        let _ = writeln!(out, "      {f}");
                    }
                }
            }
            let _ = writeln!(out, "{} passed, {} failed", tested - failed, failed);
            emit(None, &out)?;
            Ok(if failed > 0 {
                Status::Violations
            } else {
                Status::Clean
            })
        }
    }
}

fn explain(set: &PolicySet, p: &policy::Policy) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}\n", p.id, p.title);
    let _ = writeln!(
        s,
        "Severity: {}    Kind: {}    Source: {}\n",
        p.severity, p.kind, p.source
    );
    let _ = writeln!(s, "What it checks\n  {}\n", p.description.trim());
    let _ = writeln!(s, "Why it matters\n  {}\n", p.rationale.trim());
    let _ = writeln!(s, "How to fix it\n  {}\n", p.remediation.trim());
    let _ = writeln!(s, "Check");
    match &p.check {
        Check::Event {
            text,
            group_by,
            threshold,
            window_ms,
            claims_change,
            ..
        } => {
            let _ = writeln!(s, "  pattern:  {text}");
            let _ = writeln!(s, "  group by: {}", group_by.join(", "));
            if *claims_change {
                let _ = writeln!(
                    s,
                    "  a change: each finding tells the changes AWS carried out from the attempts it refused (errorCode); refused attempts alone are no violation"
                );
            }
            if let Some(t) = threshold {
                let window = window_ms
                    .map(|w| format!(" within {} minutes", w / 60_000))
                    .unwrap_or_default();
                let _ = writeln!(s, "  finding:  at least {t} matching events{window}");
            }
        }
        Check::Config {
            text,
            scope,
            requires,
            applies_to,
            ..
        } => {
            let (over, what) = match scope {
                policy::ConfigScope::EachResource => ("each resource", "resources"),
                _ => ("each trail's Posture", "trails"),
            };
            let _ = writeln!(s, "  pattern:  {text}  (over {over})");
            let _ = writeln!(
                s,
                "  scope:    {}",
                match scope {
                    policy::ConfigScope::AnyTrail => "each account needs one matching trail",
                    policy::ConfigScope::EachTrail => "every trail must match",
                    policy::ConfigScope::EachResource =>
                        "every resource it applies to, in every region in scope, must match",
                }
            );
            if let Some((_, t)) = applies_to {
                let _ = writeln!(s, "  applies to {what} matching: {t}");
            }
            if !requires.is_empty() {
                let _ = writeln!(s, "  needs evidence of: {}", requires.join(", "));
            }
        }
        Check::Monitoring { control_events } => {
            let _ = writeln!(s, "  a metric filter must catch the `match` examples of {control_events} it is asked to, and no everyday (`routine`) example,");
            let _ = writeln!(s, "  with an alarm on its metric notifying an SNS topic that has a confirmed subscription");
            if let Some(c) = set.control_events(p) {
                let notes = |it: &mut dyn Iterator<Item = &policy::Example>| {
                    it.map(|e| e.note.clone()).collect::<Vec<_>>().join("; ")
                };
                let _ = writeln!(s, "  required events: {}", notes(&mut c.filter_required()));
                let exempt = notes(
                    &mut c
                        .examples
                        .iter()
                        .filter(|e| e.matches && !e.filter_must_match),
                );
                if !exempt.is_empty() {
                    let _ = writeln!(
                        s,
                        "  not required of the filter (`filter_must_match = false`): {exempt}"
                    );
                }
            }
        }
        Check::Integrity(policy::IntegrityCheck::DigestChain) => {
            let _ = writeln!(s, "  the digest files under --logs (`trailaudit verify`): every listed log file unmodified and present,");
            let _ = writeln!(s, "  the chain of each trail and region unbroken, signatures valid where public keys are in --config");
        }
        Check::Integrity(policy::IntegrityCheck::DeliveryGaps) => {
            let _ = writeln!(s, "  the event history: no StopLogging without a StartLogging soon after, and no run of silent hours");
            let _ = writeln!(s, "  in an account and region that otherwise logs (the shorter, the busier the region)");
        }
    }
    let _ = writeln!(
        s,
        "\nFrameworks ({})",
        if p.kind.decides() {
            "decides these controls"
        } else {
            "activity under these controls: its findings are listed for review, they never make a control fail"
        }
    );
    for (k, ids) in &p.frameworks {
        let _ = writeln!(s, "  {k:<19} {}", ids.join(", "));
    }
    if !p.references.is_empty() {
        let _ = writeln!(s, "\nReferences");
        for r in &p.references {
            let _ = writeln!(s, "  {r}");
        }
    }
    let (m, n) = (
        p.examples.iter().filter(|e| e.matches).count(),
        p.examples.iter().filter(|e| !e.matches).count(),
    );
    if m + n > 0 {
        let _ = writeln!(
            s,
            "\nExamples: {m} that must match, {n} that must not (`trailaudit policy test`)"
        );
    }
    s
}
