//! The audit pipeline: evidence in, a judged report out.
//!
//! ```text
//! config files --------------------------------> Posture --> config, monitoring policies --.
//! event history --stream of chunks--+--> event policies (matches, bounded evidence) -------+--> judge --> report
//!                                   +--> inventory tally (counts per account/region/day)    |
//!                                   '--> delivery-gap tally (active hours, StopLogging) ---'
//! ```
//!
//! Event history is never held whole: each chunk is evaluated by every event policy and
//! summarised, then dropped, so memory follows what the report keeps, not the records.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::athena::{self, QueryKind};
use crate::config;
use crate::events::{self, LoadOptions, Window};
use crate::exit::Exit;
use crate::filter::prefilter::{self, RowTest};
use crate::finding::{Basis, Outcome, Status};
use crate::integrity::{self, gaps::GapTally, KeyRing};
use crate::inventory::{self, Inventory, Tally};
use crate::judge::{self, Judgement};
use crate::policy::event::EventPolicies;
use crate::policy::{self, check, Kind, Policy, PolicySet};
use crate::report::{self, Evidence, LogEvidence, Report, Scope};

/// What to audit, and how.
pub struct Request<'a> {
    pub set: &'a PolicySet,
    /// Event history: files and directories.
    pub logs: Vec<PathBuf>,
    /// Configuration evidence: files and directories.
    pub config: Vec<PathBuf>,
    /// Only the policies mapped to this framework.
    pub framework: Option<String>,
    /// Only the events in this window.
    pub window: Window,
    pub judge: judge::Options,
    /// Partial evidence (a failed file, a rejected record) does not make the run an error.
    pub allow_partial: bool,
    /// Evidence events kept in full at each end of a finding.
    pub evidence_per_finding: usize,
    /// Rows per chunk of event history.
    pub chunk_rows: usize,
    /// [`LoadOptions::keys_in_memory`].
    pub keys_in_memory: usize,
    /// As given, for the manifest.
    pub command_line: Vec<String>,
    /// Told of each file of event history read.
    pub progress: Option<&'a dyn events::Progress>,
    /// Load whole records, not only what the policies read (for comparison: the report is
    /// the same).
    pub whole_records: bool,
    /// Files under the evidence paths that are neither event history nor configuration
    /// evidence, with why (see [`crate::inputs`]).
    pub ignored: Vec<(PathBuf, String)>,
    /// Event history from Athena instead of `logs` (which should then be empty): what its
    /// queries returned ([`crate::athena`]).
    pub athena: Option<AthenaEvidence>,
}

impl<'a> Request<'a> {
    /// An audit of `logs` and `config` with every default of the command line: all policies,
    /// no window, partial evidence an error, [`crate::finding::DEFAULT_EVIDENCE`] events per
    /// finding, chunks of [`events::DEFAULT_CHUNK_ROWS`], [`events::dedup::BUDGET`] of keys.
    pub fn new(set: &'a PolicySet, logs: Vec<PathBuf>, config: Vec<PathBuf>) -> Request<'a> {
        Request {
            set,
            logs,
            config,
            framework: None,
            window: Window::default(),
            judge: judge::Options::default(),
            allow_partial: false,
            evidence_per_finding: crate::finding::DEFAULT_EVIDENCE,
            chunk_rows: events::DEFAULT_CHUNK_ROWS,
            keys_in_memory: events::dedup::BUDGET,
            command_line: Vec::new(),
            progress: None,
            whole_records: false,
            ignored: Vec::new(),
            athena: None,
        }
    }
}

/// What an audit's Athena queries returned, and where they ran.
pub struct AthenaEvidence {
    pub table: String,
    pub workgroup: Option<String>,
    pub fetched: athena::Fetched,
    /// Event policies SQL cannot express, with why ([`athena::Plan::refused`]).
    pub refused: Vec<(String, String)>,
}

/// The policies an audit runs: the set, or those mapped to `framework`.
pub fn selected<'a>(set: &'a PolicySet, framework: Option<&str>) -> Vec<&'a Policy> {
    set.policies
        .iter()
        .filter(|p| framework.is_none_or(|f| p.frameworks.contains_key(f)))
        .collect()
}

/// A finished audit: the report and the exit status it calls for.
pub struct Audit {
    pub report: Report,
    pub exit: Exit,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("evaluating the event history: {0}")]
    Events(#[from] PolarsError),
    #[error("reading the event history: {0}")]
    Keys(#[from] events::KeysLost),
}

/// What the event history gave, summarised while it streamed.
struct History {
    accounting: events::Accounting,
    inventory: Inventory,
    /// The inventory of the records in the window (the whole one without a window).
    scoped: Option<Inventory>,
    in_scope: u64,
    outcomes: Vec<Outcome>,
    gaps: Option<integrity::gaps::Gaps>,
    /// Why the history is short of what was asked (Athena: a query that gave no result).
    shortfalls: Vec<String>,
}

/// What the audit needs of each record: the columns that the policies, the evidence, the
/// inventory and the delivery gaps read, and the whole record only where a policy may match
/// (its evidence shows the request parameters) or a StopLogging / StartLogging call names its
/// trail. `None`: whole records everywhere (a policy over no column at all).
fn projection(policies: &EventPolicies, want_gaps: bool) -> Option<(u32, RowTest)> {
    let (columns, mut patterns) = policies.reads();
    let mut names: Vec<&str> = columns;
    names.extend(crate::inventory::COUNTED);
    if want_gaps {
        names.extend(GapTally::COLUMNS);
        patterns.push(crate::filter::Pattern::parse(GapTally::CALLS).ok()?);
    }
    let events::Keep::Columns(mut kept) = events::Keep::fields(&names) else {
        return None;
    };
    for p in &patterns {
        kept |= prefilter::columns_read(p);
    }
    let test = RowTest::new(patterns, kept);
    (!test.always()).then_some((kept, test))
}

/// Streams the event history once through every consumer.
fn read_history(
    req: &Request,
    prepared: events::Prepared,
    event_policies: Vec<&Policy>,
    want_gaps: bool,
    content_hashes: &HashSet<&Path>,
) -> Result<History, AuditError> {
    let mut policies = EventPolicies::new(event_policies, req.evidence_per_finding);
    let mut tally = Tally::default();
    let mut scoped_tally = (!req.window.is_open()).then(Tally::default);
    let mut gaps = want_gaps.then(GapTally::default);
    let mut in_scope = 0u64;
    let window = req.window.to_expr();
    let projection = (!req.whole_records)
        .then(|| projection(&policies, want_gaps))
        .flatten();
    let rest_if =
        |row: &events::record::Row| projection.as_ref().is_some_and(|(_, t)| t.passes(row));
    let options = LoadOptions {
        keep: projection
            .as_ref()
            .map_or(events::Keep::Whole, |(kept, _)| {
                events::Keep::Columns(*kept)
            }),
        content_hashes: Some(content_hashes),
        progress: req.progress,
        rest_if: Some(&rest_if),
        keys_in_memory: req.keys_in_memory,
        ..LoadOptions::WHOLE
    };
    let accounting = prepared.stream_in(
        events::Order::Any,
        options,
        req.chunk_rows,
        |sources, chunk| -> Result<(), AuditError> {
            tally.add(&chunk, sources)?;
            let scoped = match &window {
                Some(w) => chunk.lazy().filter(w.clone()).collect()?,
                None => chunk,
            };
            in_scope += scoped.height() as u64;
            if let Some(t) = scoped_tally.as_mut() {
                t.add(&scoped, sources)?;
            }
            if projection.is_some() {
                // Rows read without their whole record failed the row test of every policy's
                // pattern, so no policy can match them: the policies see only the others.
                let whole = scoped.column(events::schema::REST)?.is_not_null();
                policies.add(&scoped.filter(&whole)?, sources)?;
            } else {
                policies.add(&scoped, sources)?;
            }
            if let Some(g) = gaps.as_mut() {
                g.add(&scoped, sources)?;
            }
            Ok(())
        },
    )?;
    let sources = accounting.sources();
    Ok(History {
        outcomes: policies.finish(&sources)?,
        scoped: scoped_tally.map(|t| t.finish(&accounting.files)),
        inventory: tally.finish(&accounting.files),
        gaps: gaps.map(GapTally::finish),
        accounting,
        in_scope,
        shortfalls: Vec::new(),
    })
}

/// The history Athena returned, through the same policy evaluation as local files: the rows
/// the events query matched become EventFrame chunks, the inventory query's aggregates the
/// inventory. A query without result leaves its part a gap: event policies without matched
/// rows are `no_evidence`, passes without an inventory `incomplete`.
fn athena_history(
    req: &Request,
    ev: &AthenaEvidence,
    event_policies: Vec<&Policy>,
) -> Result<History, AuditError> {
    let mut shortfalls: Vec<String> = ev
        .fetched
        .failed()
        .map(|r| {
            format!(
                "the Athena {} query gave no result: {}",
                r.query,
                r.error.as_deref().unwrap_or_default()
            )
        })
        .collect();
    for (id, why) in &ev.refused {
        shortfalls.push(format!("{id} cannot run in Athena: {why}"));
    }
    let refused: HashSet<&str> = ev.refused.iter().map(|(id, _)| id.as_str()).collect();
    let runnable: Vec<&Policy> = event_policies
        .iter()
        .copied()
        .filter(|p| !refused.contains(p.id.as_str()))
        .collect();
    let events = ev.fetched.rows.get(&QueryKind::Events);
    let h = athena::history(events.map_or(&[][..], Vec::as_slice));
    if !h.rejected.is_empty() {
        shortfalls.push(format!(
            "{} row(s) of the Athena events query are no CloudTrail record (first: {})",
            h.rejected.len(),
            h.rejected[0]
        ));
    }
    let mut policies = EventPolicies::new(runnable.clone(), req.evidence_per_finding);
    let frame = match req.window.to_expr() {
        Some(w) => h.frame.lazy().filter(w).collect()?,
        None => h.frame,
    };
    let step = req.chunk_rows.max(1);
    let mut offset = 0;
    while offset < frame.height() {
        policies.add(&frame.slice(offset as i64, step), &h.sources)?;
        offset += step;
    }
    let reread = |file: u32| -> PolarsResult<DataFrame> {
        let ids = frame.column(crate::events::schema::FILE_ID)?.u32()?;
        let mask: BooleanChunked = ids.iter().map(|f| Some(f == Some(file))).collect();
        frame.filter(&mask)
    };
    let mut found = policies.finish_with(&h.sources, &reread)?.into_iter();
    let inventory_rows = ev.fetched.rows.get(&QueryKind::Inventory);
    let inventory = athena::inventory(inventory_rows.map_or(&[][..], Vec::as_slice));
    let outcomes = event_policies
        .iter()
        .map(|p| {
            if refused.contains(p.id.as_str()) {
                return Outcome::no_evidence(
                    "its filter pattern cannot run in Athena (see inputs)",
                );
            }
            let mut o = found
                .next()
                .unwrap_or_else(|| Outcome::not_applicable("not evaluated"));
            if events.is_none() {
                return Outcome::no_evidence("the Athena events query gave no result (see inputs)");
            }
            // Athena does not say where in its S3 object a record is.
            for f in &mut o.findings {
                for e in &mut f.evidence {
                    e.record = None;
                }
            }
            if inventory_rows.is_none() && o.status == Status::Pass {
                o.status = Status::Incomplete;
                o.reason = Some(
                    "the Athena inventory query gave no result: the records judged are unknown"
                        .into(),
                );
            }
            o
        })
        .collect();
    Ok(History {
        accounting: events::Accounting {
            files: Vec::new(),
            events: inventory.events,
        },
        in_scope: if inventory_rows.is_some() {
            inventory.events
        } else {
            frame.height() as u64
        },
        inventory,
        scoped: None,
        outcomes,
        gaps: None,
        shortfalls,
    })
}

/// The event outcomes with what they were judged on: the records in scope, their accounts,
/// regions and period. With no record in scope, no event policy passes: each is `no_evidence`.
fn judged_on_history(outcomes: Vec<Outcome>, h: &History) -> Vec<Outcome> {
    let scoped = h.scoped.as_ref().unwrap_or(&h.inventory);
    let basis = Basis {
        records: Some(h.in_scope),
        accounts: Some(scoped.accounts.len() as u64),
        regions: Some(scoped.regions.len() as u64),
        from: scoped.first_event.clone(),
        to: scoped.last_event.clone(),
        ..Basis::default()
    };
    outcomes
        .into_iter()
        .map(|o| {
            let mut o = if h.in_scope == 0 && o.status == Status::Pass {
                Outcome::no_evidence(if h.inventory.events == 0 {
                    "the event history holds no record"
                } else {
                    "no record of the event history falls in the requested window"
                })
            } else {
                o
            };
            o.judged_on = basis.clone();
            o
        })
        .collect()
}

pub fn run(req: Request) -> Result<Audit, AuditError> {
    let set = req.set;
    let selected = selected(set, req.framework.as_deref());
    let of_kind = |k: Kind| selected.iter().copied().filter(move |p| p.kind == k);

    let cfg = (!req.config.is_empty()).then(|| config::load(&req.config));
    let posture = cfg.as_ref().map(|c| c.posture());
    let integrity_selected = of_kind(Kind::Integrity).next().is_some();
    // The digests are read first, so the loader hashes the log files they list as it reads them.
    // Without a digest the verification can only say so (TA-INT-001 has no evidence either
    // way): its list of every log file is not kept while the history streams.
    // Both walk the tree and look into files, mostly on one thread each: side by side.
    let (plan, prepared) = rayon::join(
        || {
            (integrity_selected && !req.logs.is_empty())
                .then(|| integrity::Plan::new(&req.logs, &KeyRing::load(&req.config), req.window))
                .filter(integrity::Plan::has_digests)
        },
        || (req.athena.is_none() && !req.logs.is_empty()).then(|| events::prepare(&req.logs)),
    );
    let wanted: HashSet<&Path> = plan.iter().flat_map(|p| p.wanted()).collect();
    let history = if let Some(ev) = &req.athena {
        Some(athena_history(&req, ev, of_kind(Kind::Event).collect())?)
    } else if let Some(prepared) = prepared {
        Some(read_history(
            &req,
            prepared,
            of_kind(Kind::Event).collect(),
            integrity_selected,
            &wanted,
        )?)
    } else {
        None
    };
    let integrity = integrity_selected.then(|| {
        let hashed: HashMap<&Path, (String, u64)> = history
            .iter()
            .flat_map(|h| &h.accounting.files)
            .filter_map(|f| {
                let c = f.content.as_ref()?;
                Some((f.path.as_path(), (c.sha256.to_string(), c.bytes)))
            })
            .collect();
        policy::integrity::Evidence {
            verification: plan.map(|p| p.finish(&hashed, None)),
            gaps: history.as_ref().and_then(|h| h.gaps.clone()).map(Ok),
            records: history.as_ref().map_or(0, |h| h.in_scope),
        }
    });

    let coverage = history.as_ref().map(|h| {
        let mut c = inventory::coverage(h.scoped.as_ref().unwrap_or(&h.inventory), req.window);
        c.shortfalls.extend(h.shortfalls.iter().cloned());
        c
    });
    let mut event_outcomes = history
        .as_ref()
        .map(|h| judged_on_history(h.outcomes.clone(), h))
        .unwrap_or_default()
        .into_iter();
    let mut results: Vec<(&Policy, Outcome)> = Vec::with_capacity(selected.len());
    for p in &selected {
        let outcome = match (p.kind, &history, &posture) {
            (Kind::Integrity, _, _) if req.athena.is_some() => Outcome::not_applicable(
                "log integrity needs the log and digest files themselves (--logs): the Athena \
                 table holds neither digests nor delivery times",
            ),
            (Kind::Integrity, _, _) => policy::integrity::evaluate(p, integrity.as_ref()),
            (Kind::Event, Some(_), _) => event_outcomes
                .next()
                .unwrap_or_else(|| Outcome::not_applicable("not evaluated")),
            (Kind::Event, None, _) => Outcome::not_applicable("no event history given (--logs)"),
            (Kind::Config, _, Some(posture)) => check::evaluate_config(p, posture),
            (Kind::Monitoring, _, Some(posture)) => check::evaluate_monitoring(p, set, posture),
            (_, _, None) => Outcome::not_applicable("no configuration evidence given (--config)"),
        };
        results.push((p, outcome));
    }
    let judgement: Judgement = judge::judge(results, req.judge);
    let (errors, violations) = (judgement.errors(), judgement.violations());

    let mut evidence = Evidence {
        logs: None,
        config: cfg.as_ref().map(|c| (c, req.config.clone())),
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
        command_line: req.command_line.clone(),
        partial_allowed: req.allow_partial,
        ignored: req.ignored.clone(),
        generated_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    if let Some(h) = &history {
        let inv = &h.inventory;
        evidence.first_event = inv.first_event.clone();
        evidence.last_event = inv.last_event.clone();
        evidence.accounts.extend(inv.accounts.iter().cloned());
        evidence.regions = inv.regions.clone();
        evidence.activity = report::activity(inv);
        if let Some(gaps) = &h.gaps {
            report::add_delivery_gaps(&mut evidence.activity, gaps);
        }
        evidence.logs = Some(LogEvidence {
            accounting: &h.accounting,
            paths: req.logs.clone(),
            in_scope: h.in_scope,
            coverage: coverage.clone().unwrap_or_default(),
        });
    }
    let scope = Scope {
        from: req.window.from.map(events::record::format_event_time),
        to: req
            .window
            .until
            .map(|u| events::record::format_event_time(u - 1)),
        framework: req.framework.clone(),
        athena: req.athena.as_ref().map(|a| athena::AthenaScope {
            table: a.table.clone(),
            workgroup: a.workgroup.clone(),
            queries: a.fetched.runs.clone(),
            refused: a
                .refused
                .iter()
                .map(|(id, why)| format!("{id}: {why}"))
                .collect(),
        }),
        ..Scope::default()
    };
    let report = report::build(set, judgement, evidence, scope);
    let exit = Exit::decide(report.inputs.partial, req.allow_partial, errors, violations);
    Ok(Audit { report, exit })
}
