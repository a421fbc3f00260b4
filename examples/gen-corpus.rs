//! Generates synthetic CloudTrail in the S3 key layout.
//!
//!   cargo run --release --example gen-corpus -- samples samples
//!   cargo run --release --example gen-corpus -- bench OUT_DIR [RECORDS]
//!
//! Deterministic: the same command writes the same bytes. Prints a JSON summary (files, records,
//! bytes, planted incident records) on stdout. `samples DIR` rewrites DIR/logs (event history)
//! and DIR/config (configuration evidence); `bench OUT_DIR` empties OUT_DIR first.

use std::path::PathBuf;
use std::process::ExitCode;

use trailaudit::synth::{config::ConfigSpec, generate, Spec};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (spec, out, with_config) = match args.as_slice() {
        [kind, dir] if kind == "samples" => (Spec::samples(), PathBuf::from(dir), true),
        [kind, out] if kind == "bench" => (Spec::bench(1_000_000), PathBuf::from(out), false),
        [kind, out, n] if kind == "bench" => match n.replace('_', "").parse() {
            Ok(n) => (Spec::bench(n), PathBuf::from(out), false),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let (logs, config) = if with_config {
        (out.join("logs"), Some(out.join("config")))
    } else {
        (out.clone(), None)
    };
    for dir in [Some(&logs), config.as_ref()].into_iter().flatten() {
        if dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                eprintln!("cannot empty {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        }
    }
    let summary = match generate(&spec, &logs) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot write {}: {e}", logs.display());
            return ExitCode::from(2);
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    if let Some(config) = config {
        match trailaudit::synth::config::write(&ConfigSpec::samples(), &config) {
            Ok(n) => eprintln!("wrote {n} configuration files to {}", config.display()),
            Err(e) => {
                eprintln!("cannot write {}: {e}", config.display());
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: gen-corpus samples DIR | gen-corpus bench OUT_DIR [RECORDS]");
    ExitCode::from(2)
}
