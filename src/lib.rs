//! trailaudit: an offline AWS CloudTrail compliance auditor.
//!
//! The pipeline flows one way: inputs -> evidence ([`events::EventFrame`]) -> policies ->
//! findings -> report model -> renderers. Each stage is one module.

pub mod athena;
pub mod audit;
pub mod cli;
pub mod collect;
pub mod config;
pub mod events;
pub mod exit;
pub mod filter;
pub mod finding;
pub mod iac;
pub mod inputs;
pub mod integrity;
pub mod inventory;
pub mod judge;
pub mod policy;
pub mod query;
pub mod report;
pub mod sql;
pub mod synth;
