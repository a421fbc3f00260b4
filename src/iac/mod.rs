//! Infrastructure as code -> the same evidence model as `audit --config`: the CIS monitoring
//! chain that Terraform and CloudFormation templates declare (trail -> log group -> metric
//! filter -> alarm -> SNS topic -> subscriptions) becomes a [`RawConfig`], and the monitoring
//! policies judge its [`Posture`] with the one evaluator `audit` uses.
//!
//! A value the templates leave to apply time is never guessed. The chain is judged twice: with
//! every unresolved value missing, and with every one at its most favourable (a filter pattern
//! that is the control's own, a topic with a subscriber). A control that fails the first way
//! and passes the second is unresolved, with the places that decide it; one that fails both
//! ways fails whatever the apply-time values are.

pub mod cloudformation;
pub mod model;
pub mod node;
pub mod resolve;
pub mod terraform;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{aws, posture, RawConfig, Scope};
use crate::finding::{Outcome, SourceAt, Status};
use crate::policy::{self, Check, Kind, Policy, PolicySet};
pub use model::{Diagnostic, Location, Stack, TemplateFile};

/// What the templates under the given paths declare.
#[derive(Debug, Default)]
pub struct Templates {
    pub paths: Vec<PathBuf>,
    pub files: Vec<TemplateFile>,
    pub stacks: Vec<Stack>,
    /// Filter patterns AWS would refuse, at their place.
    pub invalid: Vec<Diagnostic>,
}

impl Templates {
    /// A template that could not be read or parsed.
    pub fn failed(&self) -> impl Iterator<Item = &TemplateFile> {
        self.files.iter().filter(|f| f.error.is_some())
    }

    /// Every value the chain needs that the templates leave to apply time, and what the
    /// templates do not declare (a trail, a topic's subscriptions), per stack.
    pub fn unresolved(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self.stacks.iter().flat_map(notes).collect();
        out.sort();
        out.dedup();
        out
    }
}

fn skipped_dir(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || n == "node_modules" || n == "target")
}

fn is_template_candidate(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    !terraform::is_terraform(path)
        && [".yaml", ".yml", ".json", ".template"]
            .iter()
            .any(|e| name.ends_with(e))
}

/// Reads every Terraform root module and CloudFormation template under `paths`. A directory of
/// Terraform files that another one calls as a local module is read as that module, not as a
/// root of its own.
pub fn load(paths: &[PathBuf]) -> Templates {
    let mut t = Templates {
        paths: paths.to_vec(),
        ..Templates::default()
    };
    let mut tf_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut cfn: Vec<PathBuf> = Vec::new();
    for path in paths {
        if path.is_file() {
            if terraform::is_terraform(path) {
                tf_dirs.insert(path.parent().unwrap_or(Path::new(".")).to_path_buf());
            } else {
                cfn.push(path.clone());
            }
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !skipped_dir(e.path()));
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    t.files.push(TemplateFile {
                        path: e.path().unwrap_or(path).to_path_buf(),
                        kind: "unknown".into(),
                        error: Some(format!("cannot read: {e}")),
                    });
                    continue;
                }
            };
            let p = entry.path();
            if !entry.file_type().is_file() {
                continue;
            }
            if terraform::is_terraform(p) {
                tf_dirs.insert(p.parent().unwrap_or(Path::new(".")).to_path_buf());
            } else if is_template_candidate(p) {
                cfn.push(p.to_path_buf());
            }
        }
    }
    // Directories called as local modules are read through their callers.
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let modules: Vec<terraform::Module> =
        tf_dirs.iter().map(|d| terraform::load_module(d)).collect();
    let called: BTreeSet<PathBuf> = modules
        .iter()
        .flat_map(resolve::local_sources)
        .map(|d| canonical(&d))
        .collect();
    for module in modules {
        if called.contains(&canonical(&module.dir)) {
            continue;
        }
        let label = module.dir.display().to_string();
        let mut root = resolve::Root::new(module, &label);
        root.evaluate();
        for f in root.files() {
            let error = root
                .file_errors
                .iter()
                .find(|(p, _)| *p == f)
                .map(|(_, e)| e.clone());
            t.files.push(TemplateFile {
                path: f,
                kind: "terraform".into(),
                error,
            });
        }
        t.stacks.push(root.stack());
    }
    for path in cfn {
        let text = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => continue,
            },
            Err(e) => {
                t.files.push(TemplateFile {
                    path,
                    kind: "cloudformation".into(),
                    error: Some(format!("cannot read: {e}")),
                });
                continue;
            }
        };
        let looks_like = text.contains("AWSTemplateFormatVersion") || text.contains("AWS::");
        match node::parse(&text) {
            Ok(doc) if cloudformation::is_template(&doc) => {
                let label = path.display().to_string();
                t.stacks.push(cloudformation::read(&path, &doc, &label));
                t.files.push(TemplateFile {
                    path,
                    kind: "cloudformation".into(),
                    error: None,
                });
            }
            // Other YAML and JSON (a workflow, a package manifest) is not ours to read.
            Ok(_) => {}
            Err(e) if looks_like => t.files.push(TemplateFile {
                path,
                kind: "cloudformation".into(),
                error: Some(e),
            }),
            Err(_) => {}
        }
    }
    // A pattern AWS would refuse is an error at its place.
    for s in &t.stacks {
        for f in &s.filters {
            if let Ok(p) = &f.pattern {
                if let Err(e) = crate::filter::Pattern::parse(p) {
                    t.invalid.push(f.pattern_at.diag(format!(
                        "metric filter {}: AWS would refuse its pattern: {} (column {} of the pattern)",
                        f.name, e.message, e.column
                    )));
                }
            }
        }
    }
    t
}

/// Unresolved values and undeclared links of one stack's chain.
fn notes(s: &Stack) -> Vec<Diagnostic> {
    let mut out = s.unresolved.clone();
    let mut err = |r: Result<(), &Diagnostic>| {
        if let Err(d) = r {
            out.push(d.clone());
        }
    };
    for t in &s.trails {
        err(t.multi_region.as_ref().map(drop));
        err(t.logging.as_ref().map(drop));
        if let Some(g) = &t.log_group {
            err(g.as_ref().map(drop));
        }
    }
    for f in &s.filters {
        err(f.pattern.as_ref().map(drop));
        err(f.log_group.as_ref().map(drop));
        err(f.metric.as_ref().map(drop));
        err(f.namespace.as_ref().map(drop));
    }
    for a in &s.alarms {
        err(a.metric.as_ref().map(drop));
        err(a.namespace.as_ref().map(drop));
        err(a.actions_enabled.as_ref().map(drop));
        for act in &a.actions {
            err(act.as_ref().map(drop));
        }
    }
    for sub in &s.subscriptions {
        err(sub.topic.as_ref().map(drop));
    }
    let declared: BTreeSet<&str> = s.topics.iter().map(|t| t.name.as_str()).collect();
    for a in &s.alarms {
        for arn in a.actions.iter().flatten() {
            if let Some(name) = model::topic_name(arn) {
                if !declared.contains(name.as_str()) {
                    out.push(a.at.diag(format!(
                        "alarm {}: SNS topic {name} is not declared in the templates, so its subscriptions are not known",
                        a.name
                    )));
                }
            }
        }
    }
    if s.trails.is_empty() {
        if let Some(f) = s.filters.first() {
            out.push(f.at.diag(format!(
                "no CloudTrail trail is declared with these metric filters (log group {}): the trail that delivers to it, if any, is declared elsewhere",
                f.log_group.as_deref().unwrap_or("?")
            )));
        }
    }
    out
}

/// The chain of `stacks` as configuration evidence. `fill`: `None` leaves every unresolved
/// value out (the chain as far as it is known); `Some(pattern)` gives each its most favourable
/// value, an unresolved filter pattern being `pattern` (the control's own).
pub fn raw(stacks: &[Stack], fill: Option<&str>) -> RawConfig {
    let mut raw = RawConfig::default();
    let optimistic = fill.is_some();
    for s in stacks {
        let account = model::account_of(&s.label);
        let scope = Scope {
            account: account.clone(),
            region: model::REGION.into(),
        };
        let file_of = |at: &Location| PathBuf::from(&at.file);
        // Log groups the filters are on, for a trail (or filter) whose group is unresolved.
        let groups: BTreeSet<String> = s
            .filters
            .iter()
            .filter_map(|f| f.log_group.clone().ok())
            .chain(
                s.trails
                    .iter()
                    .filter_map(|t| t.log_group.clone().and_then(Result::ok)),
            )
            .collect();
        // Topics: declared ones with their subscriptions; one with an unresolved subscription
        // counts it only when optimistic.
        let mut subs: BTreeMap<String, usize> = s
            .topics
            .iter()
            .map(|t| (model::topic_arn(&account, &t.name), t.inline_subscriptions))
            .collect();
        let unresolved_subs = s.subscriptions.iter().any(|x| x.topic.is_err());
        for sub in &s.subscriptions {
            if let Some(name) = sub.topic.as_ref().ok().and_then(|a| model::topic_name(a)) {
                *subs.entry(model::topic_arn(&account, &name)).or_default() += 1;
            }
        }
        let mut undeclared_topics: BTreeSet<String> = BTreeSet::new();
        // Metric filters.
        let mut metrics: Vec<(String, String)> = Vec::new();
        for (i, f) in s.filters.iter().enumerate() {
            let pattern = match (&f.pattern, fill) {
                (Ok(p), _) => p.clone(),
                (Err(_), Some(p)) => p.to_string(),
                (Err(_), None) => continue,
            };
            let on: Vec<String> = match &f.log_group {
                Ok(g) => vec![g.clone()],
                Err(_) if optimistic => groups.iter().cloned().collect(),
                Err(_) => continue,
            };
            let unresolved_metric = f.metric.is_err() || f.namespace.is_err();
            let metric = f
                .metric
                .clone()
                .unwrap_or_else(|_| format!("(unresolved metric of {})", f.name));
            let namespace = f
                .namespace
                .clone()
                .unwrap_or_else(|_| format!("(unresolved namespace of {})", f.name));
            metrics.push((metric.clone(), namespace.clone()));
            if unresolved_metric && optimistic {
                // Whatever the metric turns out to be, an alarm on it may exist.
                let topic = format!("arn:aws:sns:{}:{account}:unresolved-{i}", model::REGION);
                subs.insert(topic.clone(), 1);
                raw.alarms.push((
                    scope.clone(),
                    aws::MetricAlarm {
                        alarm_name: Some(format!("(alarm on the unresolved metric of {})", f.name)),
                        metric_name: Some(metric.clone()),
                        namespace: Some(namespace.clone()),
                        actions_enabled: Some(true),
                        alarm_actions: vec![topic],
                        ..aws::MetricAlarm::default()
                    },
                ));
            }
            for g in on {
                raw.metric_filters.push((
                    scope.clone(),
                    aws::MetricFilter {
                        filter_name: Some(f.name.clone()),
                        filter_pattern: Some(pattern.clone()),
                        log_group_name: Some(g),
                        metric_transformations: vec![aws::MetricTransformation {
                            metric_name: Some(metric.clone()),
                            metric_namespace: Some(namespace.clone()),
                            metric_value: Some("1".into()),
                        }],
                        source: Some(SourceAt {
                            file: f.pattern_at.file.clone(),
                            line: f.pattern_at.line,
                            column: f.pattern_at.column,
                        }),
                    },
                ));
            }
        }
        // Alarms.
        for (i, a) in s.alarms.iter().enumerate() {
            let mut actions = Vec::new();
            for (j, act) in a.actions.iter().enumerate() {
                match act {
                    Ok(arn) => match model::topic_name(arn) {
                        Some(name) => {
                            let arn = model::topic_arn(&account, &name);
                            if !subs.contains_key(&arn) {
                                undeclared_topics.insert(arn.clone());
                            }
                            actions.push(arn);
                        }
                        None => actions.push(arn.clone()),
                    },
                    Err(_) if optimistic => {
                        let arn = format!(
                            "arn:aws:sns:{}:{account}:unresolved-action-{i}-{j}",
                            model::REGION
                        );
                        subs.insert(arn.clone(), 1);
                        actions.push(arn);
                    }
                    Err(_) => {}
                }
            }
            let enabled = a.actions_enabled.clone().unwrap_or(optimistic);
            let targets: Vec<(String, String)> = match (&a.metric, &a.namespace) {
                (Ok(m), Ok(n)) => vec![(m.clone(), n.clone())],
                _ if optimistic => metrics.clone(),
                _ => Vec::new(),
            };
            for (metric, namespace) in targets {
                raw.alarms.push((
                    scope.clone(),
                    aws::MetricAlarm {
                        alarm_name: Some(a.name.clone()),
                        metric_name: Some(metric),
                        namespace: Some(namespace),
                        actions_enabled: Some(enabled),
                        alarm_actions: actions.clone(),
                        ..aws::MetricAlarm::default()
                    },
                ));
            }
        }
        // Subscriptions: declared topics are known (a declared subscription is taken as the
        // subscriber it declares); topics declared elsewhere are not, unless optimistic.
        for (arn, n) in &subs {
            let n = if optimistic && unresolved_subs {
                (*n).max(1)
            } else {
                *n
            };
            raw.subscriptions.insert(
                arn.clone(),
                (0..n)
                    .map(|k| aws::Subscription {
                        subscription_arn: Some(format!("{arn}:declared-{k}")),
                        topic_arn: Some(arn.clone()),
                        ..aws::Subscription::default()
                    })
                    .collect(),
            );
        }
        if optimistic {
            for arn in undeclared_topics {
                raw.subscriptions.insert(
                    arn.clone(),
                    vec![aws::Subscription {
                        subscription_arn: Some(format!("{arn}:elsewhere")),
                        topic_arn: Some(arn.clone()),
                        ..aws::Subscription::default()
                    }],
                );
            }
        }
        // Trails.
        let mut trail =
            |name: &str, at: &Location, multi: bool, logging: bool, group: Option<&str>| {
                let arn = model::trail_arn(&account, name);
                raw.trails.push((
                    scope.clone(),
                    aws::Trail {
                        name: Some(name.to_string()),
                        trail_arn: Some(arn.clone()),
                        home_region: Some(model::REGION.into()),
                        is_multi_region_trail: Some(multi),
                        cloud_watch_logs_log_group_arn: group
                            .map(|g| format!("{}:*", model::log_group_arn(&account, g))),
                        ..aws::Trail::default()
                    },
                    file_of(at),
                ));
                raw.statuses.push((
                    scope.clone(),
                    arn,
                    aws::TrailStatus {
                        is_logging: Some(logging),
                        ..aws::TrailStatus::default()
                    },
                    file_of(at),
                ));
            };
        if s.trails.is_empty() && optimistic {
            for g in &groups {
                let at = s.filters.first().map(|f| f.at.clone()).unwrap_or_default();
                trail(
                    &format!("(trail delivering to {g})"),
                    &at,
                    true,
                    true,
                    Some(g),
                );
            }
        }
        for t in &s.trails {
            let multi = t.multi_region.clone().unwrap_or(optimistic);
            let logging = t.logging.clone().unwrap_or(optimistic);
            match &t.log_group {
                None => trail(&t.name, &t.at, multi, logging, None),
                Some(Ok(g)) => trail(&t.name, &t.at, multi, logging, Some(g)),
                Some(Err(_)) if optimistic && !groups.is_empty() => {
                    for g in &groups {
                        trail(&t.name, &t.at, multi, logging, Some(g));
                    }
                }
                Some(Err(_)) => trail(&t.name, &t.at, multi, logging, None),
            }
        }
    }
    raw
}

/// The monitoring policies among `selected`, judged on the templates: pass, fail (fails
/// whatever the unresolved values are), or unresolved (`no_evidence`, with the places).
pub fn evaluate<'p>(
    set: &'p PolicySet,
    selected: &[&'p Policy],
    templates: &Templates,
) -> Vec<(&'p Policy, Outcome)> {
    let known = posture::assemble(&raw(&templates.stacks, None));
    let notes: BTreeMap<String, Vec<Diagnostic>> = templates
        .stacks
        .iter()
        .map(|s| (model::account_of(&s.label), notes(s)))
        .collect();
    let mut out = Vec::new();
    for p in selected
        .iter()
        .copied()
        .filter(|p| p.kind == Kind::Monitoring)
    {
        let mut o = if templates.stacks.is_empty() {
            Outcome::no_evidence(
                "no Terraform module or CloudFormation template in the paths given",
            )
        } else {
            policy::check::evaluate_monitoring(p, set, &known)
        };
        let undecided: Vec<&str> = o
            .findings
            .iter()
            .filter(|f| notes.get(&f.account).is_some_and(|n| !n.is_empty()))
            .map(|f| f.account.as_str())
            .collect();
        if o.status == Status::Fail && !undecided.is_empty() {
            let control_text = set.control_events(p).and_then(|c| match &c.check {
                Check::Event { text, .. } => Some(text.clone()),
                _ => None,
            });
            let best = posture::assemble(&raw(&templates.stacks, control_text.as_deref()));
            let favourable = policy::check::evaluate_monitoring(p, set, &best);
            let still: BTreeSet<String> = favourable
                .findings
                .iter()
                .map(|f| f.account.clone())
                .collect();
            let (fail, open): (Vec<_>, Vec<_>) = o
                .findings
                .into_iter()
                .partition(|f| still.contains(&f.account) || !notes.contains_key(&f.account));
            let mut reasons = Vec::new();
            for f in &open {
                let places: Vec<String> = notes[&f.account].iter().map(|d| d.to_string()).collect();
                reasons.push(format!(
                    "unresolved in {}: {}",
                    f.account,
                    policy::message::list(&places, 600)
                ));
                o.warnings.push(format!(
                    "{}: as far as the templates say: {}",
                    f.account, f.message
                ));
            }
            o.findings = fail;
            if o.findings.is_empty() {
                o.status = Status::NoEvidence;
                o.reason = Some(reasons.join("; "));
            } else {
                o.warnings.extend(reasons);
            }
        }
        // A finding on a stack points at its source: the filter it names, else the trail.
        for f in &mut o.findings {
            if f.line.is_some() {
                continue;
            }
            let stack = templates
                .stacks
                .iter()
                .find(|s| model::account_of(&s.label) == f.account);
            let at = stack.and_then(|s| {
                s.trails
                    .iter()
                    .find(|t| Some(t.at.file.as_str()) == f.file.as_deref())
                    .map(|t| t.at.clone())
                    .or_else(|| s.trails.first().map(|t| t.at.clone()))
                    .or_else(|| s.filters.first().map(|x| x.at.clone()))
            });
            if let Some(at) = at {
                f.file = Some(at.file);
                f.line = Some(at.line);
                f.column = Some(at.column);
            }
        }
        out.push((p, o));
    }
    out
}
