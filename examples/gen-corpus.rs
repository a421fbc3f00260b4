//! Generates synthetic CloudTrail in the S3 key layout.
//!
//!   cargo run --release --example gen-corpus -- samples samples/logs
//!   cargo run --release --example gen-corpus -- bench OUT_DIR [RECORDS]
//!
//! Deterministic: the same command writes the same bytes. Prints a JSON summary (files, records,
//! bytes, planted incident records) on stdout. OUT_DIR is emptied first.

use std::path::PathBuf;
use std::process::ExitCode;

use trailaudit::synth::{generate, Spec};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (spec, out) = match args.as_slice() {
        [kind, out] if kind == "samples" => (Spec::samples(), out),
        [kind, out] if kind == "bench" => (Spec::bench(1_000_000), out),
        [kind, out, n] if kind == "bench" => match n.replace('_', "").parse() {
            Ok(n) => (Spec::bench(n), out),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let out = PathBuf::from(out);
    if out.exists() {
        if let Err(e) = std::fs::remove_dir_all(&out) {
            eprintln!("cannot empty {}: {e}", out.display());
            return ExitCode::from(2);
        }
    }
    match generate(&spec, &out) {
        Ok(summary) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", out.display());
            ExitCode::from(2)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: gen-corpus samples OUT_DIR | gen-corpus bench OUT_DIR [RECORDS]");
    ExitCode::from(2)
}
