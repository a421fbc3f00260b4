//! The integration tests: every file beside this one is a module of one test binary, so the
//! crate and its dependencies (polars, the AWS SDK) are linked once rather than once per file,
//! which keeps a clean test build's time and disk use down. Run one file's tests with a filter:
//! `cargo test -- streaming::`. The helpers they share are in `common/`.

mod common;

mod action;
mod athena;
mod attempts;
mod audit;
mod cli_help;
mod collect;
mod config;
mod dedup;
mod filter_cases;
mod filter_differential;
mod filter_fuzz;
mod frame;
mod frameworks;
mod fuzz;
mod hostile;
mod hostile_outputs;
mod iac;
mod input_shapes;
mod inventory;
mod logging_evidence;
mod org_realities;
mod packaging;
mod policy_examples;
mod query;
mod reports;
mod robustness;
mod samples;
mod snapshots;
mod sql;
mod streaming;
mod verdicts;
mod verify;
