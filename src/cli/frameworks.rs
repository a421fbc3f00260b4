//! `trailaudit frameworks`: the framework keys with their full names.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::{emit, Status};
use crate::policy::{self, PolicySet};
use crate::report::catalog;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Count the policies in DIR too (added to the built-in set, as `audit --policies` does).
    #[arg(long, value_name = "DIR")]
    policies: Vec<PathBuf>,
    /// text: one line per key; json: an array of keys with name, aliases and counts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    let set = PolicySet::load(&args.policies, false)?;
    let rows: Vec<serde_json::Value> = policy::FRAMEWORKS
        .iter()
        .map(|key| {
            let aliases: Vec<&str> = policy::FRAMEWORK_ALIASES
                .iter()
                .filter(|(_, k)| k == key)
                .map(|(a, _)| *a)
                .collect();
            serde_json::json!({
                "key": key,
                "name": policy::framework_name(key).unwrap_or_default(),
                "aliases": aliases,
                "controls": catalog::controls(key).count(),
                "policies": set.policies.iter().filter(|p| p.frameworks.contains_key(*key)).count(),
            })
        })
        .collect();
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&rows)? + "\n",
        Format::Text => {
            let mut s = String::new();
            let _ = writeln!(s, "{:<20} {:>8} {:>8}  name", "key", "controls", "policies");
            for r in &rows {
                let _ = writeln!(
                    s,
                    "{:<20} {:>8} {:>8}  {}",
                    r["key"].as_str().unwrap_or_default(),
                    r["controls"].as_u64().unwrap_or_default(),
                    r["policies"].as_u64().unwrap_or_default(),
                    r["name"].as_str().unwrap_or_default()
                );
            }
            for (alias, key) in policy::FRAMEWORK_ALIASES {
                let _ = writeln!(s, "{alias} is accepted for {key}");
            }
            s
        }
    };
    emit(None, &text)?;
    Ok(Status::Clean)
}
