//! trailaudit: an offline AWS CloudTrail compliance auditor.
//!
//! The pipeline flows one way: inputs -> evidence ([`events::EventFrame`]) -> policies ->
//! findings -> report model -> renderers. Each stage is one module.

pub mod cli;
pub mod collect;
pub mod config;
pub mod events;
pub mod filter;
pub mod integrity;
pub mod inventory;
pub mod policy;
pub mod report;
pub mod synth;
