//! Renderers of the typed report model. The JSON report is that model serialised and a saved
//! one reads back into it, so a saved report renders exactly like a fresh one, and no renderer
//! sees more than the JSON tells.

use std::fmt::Write as _;
use std::path::Path;

use handlebars::Handlebars;
use serde_json::{json, Value};

pub use super::escape::{html_escape, markdown_escape, terminal_escape, terminal_text, xml_escape};
use super::{short_name, Report};
use crate::finding::Status;
use crate::policy::Severity;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Md,
    Sarif,
    Junit,
    Html,
    /// One row per finding, for spreadsheets and ticket imports.
    Csv,
    /// OCSF 1.5.0 findings (Compliance and Detection Finding), for Amazon Security Lake and
    /// other OCSF consumers.
    Ocsf,
    /// AWS Security Finding Format, for Security Hub's BatchImportFindings.
    Asff,
}

impl Format {
    /// `formats` without repeats, in the order first asked.
    pub fn distinct(formats: &[Format]) -> Vec<Format> {
        let mut out: Vec<Format> = Vec::with_capacity(formats.len());
        for f in formats {
            if !out.contains(f) {
                out.push(*f);
            }
        }
        out
    }

    /// File name in an output directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Text => "report.txt",
            Format::Json => "report.json",
            Format::Md => "report.md",
            Format::Sarif => "report.sarif",
            Format::Junit => "report.junit.xml",
            Format::Html => "report.html",
            Format::Csv => "report.csv",
            Format::Ocsf => "report.ocsf.json",
            Format::Asff => "report.asff.json",
        }
    }
}

/// The built-in templates: `(name, source)`. A name `x/y` is the partial `{{> x/y}}`, read from
/// `partials/x/y.hbs` (built in, or under `--templates DIR`).
const HTML_TEMPLATE: &str = include_str!("../../report-templates/report.html.hbs");
const MD_TEMPLATE: &str = include_str!("../../report-templates/report.md.hbs");
const PARTIALS: &[(&str, &str)] = &[
    (
        "html/style",
        include_str!("../../report-templates/partials/html/style.hbs"),
    ),
    (
        "html/summary",
        include_str!("../../report-templates/partials/html/summary.hbs"),
    ),
    (
        "html/scope",
        include_str!("../../report-templates/partials/html/scope.hbs"),
    ),
    (
        "html/posture",
        include_str!("../../report-templates/partials/html/posture.hbs"),
    ),
    (
        "html/monitoring",
        include_str!("../../report-templates/partials/html/monitoring.hbs"),
    ),
    (
        "html/findings",
        include_str!("../../report-templates/partials/html/findings.hbs"),
    ),
    (
        "html/controls",
        include_str!("../../report-templates/partials/html/controls.hbs"),
    ),
    (
        "html/activity",
        include_str!("../../report-templates/partials/html/activity.hbs"),
    ),
    (
        "html/waivers",
        include_str!("../../report-templates/partials/html/waivers.hbs"),
    ),
    (
        "html/manifest",
        include_str!("../../report-templates/partials/html/manifest.hbs"),
    ),
    (
        "md/summary",
        include_str!("../../report-templates/partials/md/summary.hbs"),
    ),
    (
        "md/failing",
        include_str!("../../report-templates/partials/md/failing.hbs"),
    ),
    (
        "md/iac",
        include_str!("../../report-templates/partials/md/iac.hbs"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("cannot read templates in {path}: {message}")]
    Templates { path: String, message: String },
    #[error("templates: partials include each other without end: {cycle}")]
    PartialCycle { cycle: String },
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
}

/// The handlebars templates of the HTML and Markdown reports, compiled once for a run: the
/// built-in partials, each replaced by `DIR/partials/<name>.hbs` when that file exists, and
/// each main template (`report.html`, `report.md`) from `DIR/<name>.hbs` or the built-in one.
/// Made before any input is read ([`Templates::for_formats`]), so a template that does not
/// compile, or partials that include each other, are a usage error, not the end of an audit.
#[derive(Default)]
pub struct Templates {
    html: Option<Compiled>,
    md: Option<Compiled>,
}

/// One main template's registry, with its escaping, and whether a template it has names
/// `manifest.inputs` ([`template_context`]).
struct Compiled {
    hb: Handlebars<'static>,
    names_inputs: bool,
}

/// The report formats rendered by a handlebars template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Templated {
    Html,
    Md,
}

impl Templated {
    fn of(format: Format) -> Option<Templated> {
        match format {
            Format::Html => Some(Templated::Html),
            Format::Md => Some(Templated::Md),
            _ => None,
        }
    }

    /// The main template's name, its built-in source and its escaping.
    fn main(self) -> (&'static str, &'static str, fn(&str) -> String) {
        match self {
            Templated::Html => ("report.html", HTML_TEMPLATE, html_escape),
            Templated::Md => ("report.md", MD_TEMPLATE, markdown_escape),
        }
    }
}

impl Templates {
    /// The templates that `formats` render with (none for formats without one), from `dir`
    /// where it has them. The partials and main templates are compiled once, whichever
    /// formats share them.
    pub fn for_formats(formats: &[Format], dir: Option<&Path>) -> Result<Templates, RenderError> {
        let kinds: Vec<Templated> = Format::distinct(formats)
            .into_iter()
            .filter_map(Templated::of)
            .collect();
        let mut templates = Templates::default();
        for (kind, compiled) in compile(&kinds, dir)? {
            match kind {
                Templated::Html => templates.html = Some(compiled),
                Templated::Md => templates.md = Some(compiled),
            }
        }
        Ok(templates)
    }

    /// The registry of `kind`, compiled by [`Templates::for_formats`] for the run's formats.
    fn get(&self, kind: Templated) -> Result<&Compiled, RenderError> {
        let made = match kind {
            Templated::Html => &self.html,
            Templated::Md => &self.md,
        };
        made.as_ref().ok_or_else(|| RenderError::Template {
            name: format!("{}.hbs", kind.main().0),
            message: "not compiled for this run's formats".into(),
        })
    }
}

/// Compiles the partials once and each of `kinds`' main template, and checks each main
/// template's partials for cycles; a registry per kind, each with its escaping.
fn compile(
    kinds: &[Templated],
    dir: Option<&Path>,
) -> Result<Vec<(Templated, Compiled)>, RenderError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(RenderError::Templates {
                path: dir.display().to_string(),
                message: "not a directory".into(),
            });
        }
    }
    let read = |rel: &str| -> Result<Option<String>, RenderError> {
        let Some(dir) = dir else {
            return Ok(None);
        };
        let path = dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RenderError::Templates {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    };
    let template_error = |file: String, e: handlebars::TemplateError| RenderError::Template {
        name: file,
        message: e.to_string(),
    };
    let mut hb = Handlebars::new();
    hb.set_strict_mode(false);
    register_helpers(&mut hb);
    let mut partials_name_inputs = false;
    for (partial, source) in PARTIALS {
        let file = format!("partials/{partial}.hbs");
        let source = read(&file)?.unwrap_or_else(|| source.to_string());
        partials_name_inputs |= source.contains(MANIFEST_INPUTS);
        hb.register_partial(partial, source)
            .map_err(|e| template_error(file, e))?;
    }
    let mut names_inputs = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let (name, builtin, _) = kind.main();
        let file = format!("{name}.hbs");
        let source = read(&file)?.unwrap_or_else(|| builtin.to_string());
        names_inputs.push(partials_name_inputs || source.contains(MANIFEST_INPUTS));
        hb.register_template_string(name, source)
            .map_err(|e| template_error(file, e))?;
        check_partial_cycles(&hb, name)?;
    }
    // Each kind gets the compiled templates with its own escaping: the last one takes the
    // registry itself, the others a copy of it (no template is parsed twice).
    let mut out = Vec::with_capacity(kinds.len());
    for (i, (kind, names_inputs)) in kinds.iter().zip(names_inputs).enumerate() {
        let mut hb = if i + 1 == kinds.len() {
            std::mem::take(&mut hb)
        } else {
            hb.clone()
        };
        hb.register_escape_fn(kind.main().2);
        out.push((*kind, Compiled { hb, names_inputs }));
    }
    Ok(out)
}

/// The one list of the report model that grows with the history: an entry per input file.
const MANIFEST_INPUTS: &str = "manifest.inputs";

/// The report model as the templates see it: the JSON report, with `manifest.input_count` (the
/// input files) and `manifest.unreadable_inputs` (those that could not be read) added, and
/// `manifest.inputs` (an entry per input file: 50,000 for ten million records) only when a
/// template names it. Handlebars copies the context of every partial it includes, so that list
/// would be copied many times over for templates that only count it; it is not even made into
/// a value unless a template names it.
fn template_context(
    report: &Report,
    names_inputs: bool,
) -> Result<handlebars::Context, RenderError> {
    fn to_value<T: serde::Serialize + ?Sized>(v: &T) -> Result<Value, RenderError> {
        serde_json::to_value(v).map_err(|e| RenderError::Write(e.into()))
    }
    let mut context = to_value(&ReportView::of(report))?;
    let inputs = &report.manifest.inputs;
    if let Some(Value::Object(manifest)) = context.get_mut("manifest") {
        manifest.insert("input_count".into(), json!(inputs.len()));
        let unreadable: Vec<&super::ManifestInput> =
            inputs.iter().filter(|i| i.sha256.is_none()).collect();
        manifest.insert("unreadable_inputs".into(), to_value(&unreadable)?);
        if names_inputs {
            manifest.insert("inputs".into(), to_value(inputs)?);
        }
    }
    Ok(handlebars::Context::from(context))
}

/// [`Report`] as it serialises, every field borrowed, but the manifest without its inputs
/// ([`template_context`]). `the_template_view_is_the_report_but_the_inputs` holds the two to
/// the same fields.
#[derive(serde::Serialize)]
struct ReportView<'a> {
    schema_version: &'a u32,
    tool: &'a super::Tool,
    generated_at: &'a String,
    scope: &'a super::Scope,
    inputs: &'a super::Inputs,
    posture: &'a Vec<super::TrailPosture>,
    policies: &'a Vec<super::PolicyResult>,
    summary: &'a super::Summary,
    waivers: &'a Vec<super::Waiver>,
    activity: &'a Vec<super::Activity>,
    manifest: ManifestView<'a>,
}

#[derive(serde::Serialize)]
struct ManifestView<'a> {
    tool_version: &'a String,
    command_line: &'a Vec<String>,
    from: &'a Option<String>,
    to: &'a Option<String>,
    policy_set_sha256: &'a String,
    policies: &'a Vec<super::ManifestPolicy>,
    file: &'a super::ManifestFile,
}

impl<'a> ReportView<'a> {
    fn of(r: &'a Report) -> Self {
        let m = &r.manifest;
        ReportView {
            schema_version: &r.schema_version,
            tool: &r.tool,
            generated_at: &r.generated_at,
            scope: &r.scope,
            inputs: &r.inputs,
            posture: &r.posture,
            policies: &r.policies,
            summary: &r.summary,
            waivers: &r.waivers,
            activity: &r.activity,
            manifest: ManifestView {
                tool_version: &m.tool_version,
                command_line: &m.command_line,
                from: &m.from,
                to: &m.to,
                policy_set_sha256: &m.policy_set_sha256,
                policies: &m.policies,
                file: &m.file,
            },
        }
    }
}

/// Partials that include each other, directly or through others, recurse without end: the
/// renderer would overflow the stack and abort. Such a cycle among the templates reachable from
/// `root` is refused before rendering, naming the partials (handlebars refuses only a partial
/// that includes itself). The report model has no recursive structure a template would need
/// recursion for, so any cycle is refused, even one behind a condition. Partials named at
/// render time (`{{> (lookup ...)}}`) cannot be followed.
fn check_partial_cycles(hb: &Handlebars, root: &str) -> Result<(), RenderError> {
    fn visit(hb: &Handlebars, name: &str, path: &mut Vec<String>) -> Result<(), RenderError> {
        if let Some(start) = path.iter().position(|p| p == name) {
            let mut cycle = path[start..].to_vec();
            cycle.push(name.to_string());
            return Err(RenderError::PartialCycle {
                cycle: cycle.join(" -> "),
            });
        }
        let Some(template) = hb.get_template(name) else {
            return Ok(());
        };
        let mut included = Vec::new();
        partials_of(template, &mut included).map_err(|message| {
            let partial = PARTIALS.iter().any(|(p, _)| *p == name);
            RenderError::Template {
                name: format!("{}{name}.hbs", if partial { "partials/" } else { "" }),
                message,
            }
        })?;
        path.push(name.to_string());
        for partial in included {
            visit(hb, &partial, path)?;
        }
        path.pop();
        Ok(())
    }
    visit(hb, root, &mut Vec::new())
}

/// The partials `template` includes by name (`{{> NAME}}` and `{{include "NAME"}}`), in blocks
/// and partial blocks too; an error for an `include` of anything but a quoted name.
fn partials_of(
    template: &handlebars::template::Template,
    out: &mut Vec<String>,
) -> Result<(), String> {
    use handlebars::template::{Parameter, TemplateElement as E};
    for element in &template.elements {
        let nested = match element {
            E::Expression(h) | E::HtmlExpression(h) | E::HelperBlock(h) if matches!(&h.name, Parameter::Name(n) if n == INCLUDE) =>
            {
                match h.params.first() {
                    Some(Parameter::Literal(Value::String(n))) => out.push(n.clone()),
                    _ => {
                        return Err(format!(
                            "{{{{{INCLUDE}}}}} takes a partial's name in quotes"
                        ))
                    }
                }
                vec![&h.template, &h.inverse]
            }
            E::PartialExpression(d) | E::PartialBlock(d) => {
                if let Parameter::Name(n) = &d.name {
                    out.push(n.trim_matches(['[', ']', '\'']).to_string());
                }
                vec![&d.template]
            }
            E::DecoratorExpression(d) | E::DecoratorBlock(d) => vec![&d.template],
            E::HelperBlock(h) => vec![&h.template, &h.inverse],
            _ => Vec::new(),
        };
        for t in nested.into_iter().flatten() {
            partials_of(t, out)?;
        }
    }
    Ok(())
}

handlebars::handlebars_helper!(count_helper: |list: Value, key: str, value: str| {
    list.as_array().map_or(0, |a| a.iter().filter(|x| x.get(key).and_then(Value::as_str) == Some(value)).count())
});

handlebars::handlebars_helper!(short_helper: |arn: str| short_name(arn));
// `{{count_missing LIST KEY}}`: the members of LIST whose KEY is null or absent.
handlebars::handlebars_helper!(count_missing_helper: |list: Value, key: str| {
    list.as_array().map_or(0, |a| a.iter().filter(|x| x.get(key).is_none_or(Value::is_null)).count())
});
// `{{count_zero LIST KEY}}`: the members of LIST whose KEY is the number 0.
handlebars::handlebars_helper!(count_zero_helper: |list: Value, key: str| {
    list.as_array().map_or(0, |a| a.iter().filter(|x| x.get(key).and_then(Value::as_u64) == Some(0)).count())
});
// `{{count_files POLICIES}}`: manifest policies read from a file, not built in.
handlebars::handlebars_helper!(count_files_helper: |list: Value| {
    list.as_array().map_or(0, |a| a.iter().filter(|p| !s(p, "source").starts_with("builtin:")).count())
});
// `{{builtin SOURCE}}`: a policy source that is the built-in set.
handlebars::handlebars_helper!(builtin_helper: |source: str| source.starts_with("builtin:"));
// `{{{prose TEXT}}}`: policy text (remediation) as its author wrote it, Markdown and all (a
// command in backticks stays code); only the characters no output may carry raw are shown as
// escapes. Record text never goes through it.
handlebars::handlebars_helper!(prose_helper: |text: str| super::escape::visible(text, &['\n', '\t']).into_owned());

/// `{{yn flag}}`: yes / no / unknown (null), coloured; `{{yn flag true}}` when yes is the bad
/// answer. Writes fixed markup only.
fn yn_helper(
    h: &handlebars::Helper,
    _: &Handlebars,
    _: &handlebars::Context,
    _: &mut handlebars::RenderContext,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    let value = h.param(0).map(|p| p.value().clone()).unwrap_or(Value::Null);
    let inverted = h
        .param(1)
        .and_then(|p| p.value().as_bool())
        .unwrap_or(false);
    let markup = match value.as_bool() {
        Some(b) => {
            let good = b != inverted;
            format!(
                "<span class=\"{}\">{}</span>",
                if good { "yes" } else { "no" },
                if b { "yes" } else { "no" }
            )
        }
        None => "<span class=\"unknown\">unknown</span>".to_string(),
    };
    out.write(&markup)?;
    Ok(())
}

/// `{{activity_chart series}}`: an inline SVG bar chart of one [`super::Activity`]: a bar per
/// day, days without events marked. Every text it writes is escaped here.
fn activity_chart_helper(
    h: &handlebars::Helper,
    _: &Handlebars,
    _: &handlebars::Context,
    _: &mut handlebars::RenderContext,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    let series = h.param(0).map(|p| p.value().clone()).unwrap_or(Value::Null);
    out.write(&activity_svg(&series))?;
    Ok(())
}

pub fn activity_svg(series: &Value) -> String {
    use std::fmt::Write as _;
    let days = series["days"].as_array().cloned().unwrap_or_default();
    let (width, height, top, bottom) = (900.0f64, 100.0f64, 16.0f64, 16.0f64);
    let plot = height - top - bottom;
    let max = days
        .iter()
        .filter_map(|d| d["events"].as_u64())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    // Bars and gaps are placed by their date from the first day, so the chart has one element
    // per day with events and one per run of days without: its size follows the records, not
    // the span of their dates.
    let date = |v: &Value, key: &str| chrono::NaiveDate::parse_from_str(s(v, key), "%Y-%m-%d").ok();
    let day0 = days.first().and_then(|d| date(d, "date"));
    let offset =
        |d: Option<chrono::NaiveDate>| -> Option<f64> { Some((d? - day0?).num_days() as f64) };
    let n = days
        .last()
        .and_then(|d| offset(date(d, "date")))
        .map_or(1.0, |last| last + 1.0);
    let step = width / n;
    let bar = (step * 0.8).max(0.5);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        html_escape(&format!(
            "events per day, {} {}",
            s(series, "account"),
            s(series, "region")
        ))
    );
    for g in series["gaps"].as_array().into_iter().flatten() {
        let Some(x) = offset(date(g, "first")) else {
            continue;
        };
        let runs = g["days"].as_u64().unwrap_or(1) as f64;
        let _ = write!(
            svg,
            "<rect x=\"{:.2}\" y=\"{top}\" width=\"{:.2}\" height=\"{plot}\" fill=\"#e8a29c\"><title>{}</title></rect>",
            x * step,
            (runs * step).max(0.5),
            html_escape(&if runs > 1.0 {
                format!("{} to {} ({runs} days): no events", s(g, "first"), s(g, "last"))
            } else {
                format!("{}: no events", s(g, "first"))
            })
        );
    }
    for d in &days {
        let Some(i) = offset(date(d, "date")) else {
            continue;
        };
        let x = i * step;
        let events = d["events"].as_u64().unwrap_or(0);
        let label = html_escape(&format!("{}: {events} events", s(d, "date")));
        let h = (events as f64 / max * plot).max(if events > 0 { 1.0 } else { 0.0 });
        let _ = write!(
            svg,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{bar:.2}\" height=\"{h:.2}\" fill=\"#4a6fa5\"><title>{label}</title></rect>",
            x + (step - bar) / 2.0,
            top + plot - h
        );
    }
    // Delivery gaps, placed by the hour over the day bars.
    let hours_from_start = |t: &str| -> Option<f64> {
        let t = chrono::DateTime::parse_from_rfc3339(t).ok()?.naive_utc();
        let start = day0?.and_hms_opt(0, 0, 0)?;
        Some((t - start).num_minutes() as f64 / 60.0)
    };
    let last_hour = n * 24.0;
    for g in series["delivery_gaps"].as_array().into_iter().flatten() {
        let Some(from) = hours_from_start(s(g, "from")) else {
            continue;
        };
        let to = g["to"]
            .as_str()
            .and_then(hours_from_start)
            .unwrap_or(last_hour);
        let (from, to) = (from.clamp(0.0, last_hour), to.clamp(0.0, last_hour));
        let x = from / 24.0 * step;
        let w = ((to - from) / 24.0 * step).max(2.0);
        let _ = write!(
            svg,
            "<rect x=\"{x:.2}\" y=\"{top}\" width=\"{w:.2}\" height=\"{plot}\" fill=\"#e07b00\" fill-opacity=\"0.85\"><title>{}</title></rect>",
            html_escape(&format!(
                "{} to {}: {}",
                s(g, "from"),
                g["to"].as_str().unwrap_or("end of evidence"),
                s(g, "detail")
            ))
        );
    }
    let baseline = top + plot;
    let _ = write!(
        svg,
        "<line x1=\"0\" y1=\"{baseline}\" x2=\"{width}\" y2=\"{baseline}\" stroke=\"#8a929c\" stroke-width=\"1\"/>"
    );
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            svg,
            "<text x=\"2\" y=\"{}\" font-size=\"11\" fill=\"#5b6470\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#5b6470\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#5b6470\" text-anchor=\"end\">max {} / day</text>",
            height - 3.0,
            html_escape(s(first, "date")),
            width - 2.0,
            height - 3.0,
            html_escape(s(last, "date")),
            width - 2.0,
            11.0,
            max as u64
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A string member of a template value (helpers receive the model as JSON).
fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn register_helpers(hb: &mut Handlebars) {
    hb.register_helper("count", Box::new(count_helper));
    hb.register_helper("yn", Box::new(yn_helper));
    hb.register_helper("short", Box::new(short_helper));
    hb.register_helper("count_missing", Box::new(count_missing_helper));
    hb.register_helper("count_files", Box::new(count_files_helper));
    hb.register_helper("count_zero", Box::new(count_zero_helper));
    hb.register_helper("builtin", Box::new(builtin_helper));
    hb.register_helper("prose", Box::new(prose_helper));
    hb.register_helper("activity_chart", Box::new(activity_chart_helper));
    hb.register_helper(INCLUDE, Box::new(IncludeHelper));
}

/// The helper that includes a partial without copying the context: `{{include "NAME"}}`.
const INCLUDE: &str = "include";

/// `{{include "NAME"}}`: the partial NAME rendered here, in the current context, as `{{> NAME}}`
/// renders it, but without the copy of the context that handlebars makes for every `{{> }}`:
/// at the top of a report that copy is the whole report model, every evidence event of every
/// finding, once per section (measured: most of the HTML and Markdown rendering time of a
/// large audit). NAME must be a quoted name, so that [`check_partial_cycles`] sees every
/// inclusion before anything renders.
struct IncludeHelper;

impl handlebars::HelperDef for IncludeHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &handlebars::Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc handlebars::Context,
        rc: &mut handlebars::RenderContext<'reg, 'rc>,
        out: &mut dyn handlebars::Output,
    ) -> handlebars::HelperResult {
        use handlebars::{RenderErrorReason, Renderable};
        let name = h
            .param(0)
            .and_then(|p| p.value().as_str())
            .ok_or(RenderErrorReason::ParamNotFoundForIndex(INCLUDE, 0))?;
        let template = r
            .get_template(name)
            .ok_or_else(|| RenderErrorReason::PartialNotFound(name.to_owned()))?;
        let including = rc.get_current_template_name();
        let rendered = template.render(r, ctx, rc, out);
        rc.set_current_template_name(including);
        rendered
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's 0-10 scale.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// SARIF 2.1.0: one rule per policy (with its help), one result per finding of a failing policy.
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = report
        .policies
        .iter()
        .map(|p| {
            let tags: Vec<String> = p
                .frameworks
                .iter()
                .flat_map(|(k, ids)| ids.iter().map(move |id| format!("{k}:{id}")))
                .collect();
            json!({
                "id": p.id,
                "name": p.title,
                "shortDescription": {"text": p.title},
                "fullDescription": {"text": p.description},
                "help": {"text": p.remediation},
                "defaultConfiguration": {"level": level(p.severity)},
                "properties": {"tags": tags, "security-severity": security_severity(p.severity), "kind": p.kind.to_string()}
            })
        })
        .collect();
    let bases = uri_bases(report);
    let mut used_bases = std::collections::BTreeSet::new();
    let mut results = Vec::new();
    for (index, p) in report.policies.iter().enumerate() {
        if !matches!(p.status, Status::Fail | Status::Waived) {
            continue;
        }
        for f in &p.findings {
            let mut location = json!({
                "logicalLocations": [{"name": f.resource, "kind": "resource",
                    "fullyQualifiedName": format!("{}/{}/{}", f.account, f.region, f.resource)}]
            });
            // Every result points at a file, as code scanning wants: the finding's own evidence
            // file, else its first evidence event's, else the evidence directory it was read from.
            let first = f.evidence.first().filter(|_| f.file.is_none());
            let file = f
                .file
                .as_deref()
                .or_else(|| first.and_then(|e| e.file.as_deref()));
            // A file inside an archive is pointed at by the archive, the file that exists.
            let stored = file.map(|file| stored_in(file, &report.manifest.inputs));
            let artifact = match &stored {
                Some(stored) => Some(artifact_location(&stored.file, &bases)),
                None => evidence_root(p.kind, &bases),
            };
            if let Some((artifact, base)) = artifact {
                used_bases.extend(base);
                location["physicalLocation"] = json!({ "artifactLocation": artifact });
                // The line that shows a configuration finding's value.
                if let (Some(line), Some(_)) = (f.line, &f.file) {
                    location["physicalLocation"]["region"] = json!({ "startLine": line });
                    if let Some(column) = f.column {
                        location["physicalLocation"]["region"]["startColumn"] = json!(column);
                    }
                }
                // The first evidence event's record, in its file's content.
                if let (Some(e), Some(stored)) = (first, &stored) {
                    if let (Some(offset), Some(length), Some(line)) = (e.offset, e.length, e.line) {
                        location["physicalLocation"]["region"] = json!({
                            "startLine": line, "byteOffset": offset, "byteLength": length
                        });
                        if stored.member.is_some() || stored.gzip {
                            // Placed in `run.artifacts` once the results kept are known.
                            location["physicalLocation"][NESTED] =
                                json!([stored.member.as_deref().map(uri_path), stored.gzip]);
                        }
                    }
                }
            }
            let mut result = json!({
                "ruleId": p.id,
                "ruleIndex": index,
                "level": level(p.severity),
                "message": {"text": format!("{} ({} {}): {}", p.title, f.account, f.region, f.message)},
                "locations": [location],
                "partialFingerprints": {"trailaudit/v1": format!("{}|{}|{}|{}", p.id, f.account, f.region, f.resource)},
                "properties": {"account": f.account, "region": f.region, "eventTotal": f.event_total, "eventIds": f.event_ids}
            });
            if let Some(id) = &f.waived_by {
                let why =
                    report
                        .waivers
                        .iter()
                        .find(|w| &w.id == id)
                        .map_or_else(String::new, |w| {
                            format!(
                                "waiver {id}: {} (owner {}, ticket {}, expires {})",
                                w.reason, w.owner, w.ticket, w.expires
                            )
                        });
                result["suppressions"] =
                    json!([{"kind": "external", "status": "accepted", "justification": why}]);
            }
            if let Some(state) = &f.baseline {
                result["baselineState"] = json!(state);
            }
            results.push(result);
        }
    }
    // GitHub code scanning takes at most 25,000 results a run: the most severe are kept, and the
    // run says how many were left out (the JSON report has them all).
    // The same for its size: an upload over 10 MB gzip-compressed is refused whole, so results
    // past that (record text has no bound) are left out the same way.
    let mut notes = sarif_invocation(report);
    let rank = |r: &Value| match r["level"].as_str() {
        Some("error") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    results.sort_by_key(rank);
    let mut left_out = |results: &mut Vec<Value>, keep: usize, why: &str| {
        if results.len() > keep {
            let n = results.len() - keep;
            results.truncate(keep);
            if let Some(list) = notes["toolExecutionNotifications"].as_array_mut() {
                list.push(json!({"level": "warning", "message": {"text": format!(
                    "{n} results left out: {why}; the JSON report has every finding"
                )}}));
            }
        }
    };
    left_out(
        &mut results,
        SARIF_MAX_RESULTS,
        &format!("GitHub code scanning accepts at most {SARIF_MAX_RESULTS} a run"),
    );
    let fit = results_within(&results, SARIF_RESULTS_GZIP_BUDGET);
    left_out(
        &mut results,
        fit,
        "GitHub code scanning accepts a SARIF file of at most 10 MB gzip-compressed",
    );
    let artifacts = nest_artifacts(&mut results);
    let mut run = json!({
        "tool": {"driver": {
            "name": "trailaudit",
            "version": report.tool.version,
            "informationUri": "https://github.com/trailaudit/trailaudit",
            "rules": rules
        }},
        "invocations": [notes],
        "results": results
    });
    if !artifacts.is_empty() {
        run["artifacts"] = Value::Array(artifacts);
    }
    if !used_bases.is_empty() {
        run["originalUriBaseIds"] = bases
            .iter()
            .filter(|b| used_bases.contains(&b.id))
            .map(|b| (b.id.clone(), b.declaration()))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run]
    })
}

/// A result's physical location's temporary member: what its region is nested in (the member
/// of an archive, gzip), until [`nest_artifacts`] makes it `run.artifacts`.
const NESTED: &str = "trailaudit-nested";

/// An evidence file as stored: the file itself, or the archive it is a member of (`ARCHIVE!member`
/// as the loader names it), and whether its content is gzip-decompressed before it is read.
struct Stored {
    file: String,
    member: Option<String>,
    gzip: bool,
}

/// How `file` is stored, as the manifest says: an archive member's archive is the longest
/// input path `P` such that `file` is `P!member`.
fn stored_in(file: &str, inputs: &[super::ManifestInput]) -> Stored {
    let gzip = inputs
        .iter()
        .any(|i| i.path.as_os_str() == file && i.compression.as_deref() == Some("gzip"));
    let archive = inputs
        .iter()
        .filter_map(|i| {
            let p = i.path.to_str()?;
            let member = file.strip_prefix(p)?.strip_prefix('!')?;
            (!member.is_empty()).then_some((p, member))
        })
        .max_by_key(|(p, _)| p.len());
    match archive {
        Some((archive, member)) => Stored {
            file: archive.to_string(),
            member: Some(member.to_string()),
            gzip,
        },
        None => Stored {
            file: file.to_string(),
            member: None,
            gzip,
        },
    }
}

/// SARIF 2.1.0 nested artifacts (§3.24.3 `parentIndex`) for the regions that are not in the
/// bytes of the file a result names: the member of an archive (its location relative to the
/// archive), and the gzip-decompressed content of a file or member. A result's
/// `artifactLocation` keeps the stored file's URI (what GitHub code scanning shows) and gets
/// `index` (§3.4.6), the artifact its region is in (§3.30: byteOffset/byteLength and lines of
/// that content). One artifact per distinct stored file, member and content.
fn nest_artifacts(results: &mut [Value]) -> Vec<Value> {
    let mut artifacts: Vec<Value> = Vec::new();
    let mut known: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut intern = |key: String, artifact: Value, artifacts: &mut Vec<Value>| -> usize {
        *known.entry(key).or_insert_with(|| {
            artifacts.push(artifact);
            artifacts.len() - 1
        })
    };
    for r in results.iter_mut() {
        let Some(physical) = r["locations"][0]["physicalLocation"].as_object_mut() else {
            continue;
        };
        let Some(nested) = physical.remove(NESTED) else {
            continue;
        };
        let Some(location) = physical.get("artifactLocation").cloned() else {
            continue;
        };
        let member = nested[0].as_str();
        let gzip = nested[1].as_bool().unwrap_or(false);
        let mut key = location.to_string();
        let mut index = intern(
            key.clone(),
            json!({ "location": location, "roles": ["analysisTarget"] }),
            &mut artifacts,
        );
        if let Some(member) = member {
            key.push('!');
            key.push_str(member);
            index = intern(
                key.clone(),
                json!({ "location": {"uri": member}, "parentIndex": index }),
                &mut artifacts,
            );
        }
        if gzip {
            key.push_str("!gunzip");
            index = intern(
                key,
                json!({
                    "parentIndex": index,
                    "description": {"text": "the gzip-decompressed content of its parent"},
                    "mimeType": "application/json"
                }),
                &mut artifacts,
            );
        }
        if let Some(a) = physical.get_mut("artifactLocation") {
            a["index"] = json!(index);
        }
    }
    artifacts
}

/// Most results in one SARIF run: GitHub code scanning's documented upload limit.
pub const SARIF_MAX_RESULTS: usize = 25_000;

/// Largest SARIF upload GitHub code scanning accepts, gzip-compressed.
pub const SARIF_MAX_GZIP_BYTES: u64 = 10_000_000;

/// What the results may take of that, compressed: the rest of the file (rules with their help
/// text, notifications) and the compressor's last unflushed block fit in the difference.
const SARIF_RESULTS_GZIP_BUDGET: u64 = SARIF_MAX_GZIP_BYTES - 1_000_000;

/// How many of `results`, from the first, fit in `budget` bytes once compressed as an upload is.
/// Text that fits uncompressed fits compressed, so most runs never compress.
fn results_within(results: &[Value], budget: u64) -> usize {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut raw = Count(0);
    for r in results {
        // Writing to a counter cannot fail.
        let _ = super::escape::write_json(&mut raw, r);
    }
    if raw.0 <= budget {
        return results.len();
    }
    let mut z = flate2::write::DeflateEncoder::new(std::io::sink(), flate2::Compression::default());
    for (i, r) in results.iter().enumerate() {
        let _ = super::escape::write_json(&mut z, r);
        if z.total_out() > budget {
            return i;
        }
    }
    results.len()
}

/// The run as SARIF states it: what kept verdicts from resting on evidence (a shortfall of
/// the event history, a policy without evidence or judged in part) as warnings, a policy that
/// could not be evaluated as an error, which also makes the execution unsuccessful.
fn sarif_invocation(report: &Report) -> Value {
    let note = |level: &str, text: String, rule: Option<&str>| {
        let mut n = json!({"level": level, "message": {"text": text}});
        if let Some(id) = rule {
            n["associatedRule"] = json!({"id": id});
        }
        n
    };
    let mut notes: Vec<Value> = report
        .inputs
        .shortfalls
        .iter()
        .map(|s| note("warning", format!("partial evidence: {s}"), None))
        .collect();
    for p in &report.policies {
        let reason = p.reason.clone().unwrap_or_default();
        match p.status {
            Status::NoEvidence => notes.push(note(
                "warning",
                format!("{}: no evidence: {reason}", p.id),
                Some(&p.id),
            )),
            Status::Incomplete => notes.push(note(
                "warning",
                format!("{}: incomplete: {reason}", p.id),
                Some(&p.id),
            )),
            Status::Error => notes.push(note("error", format!("{}: {reason}", p.id), Some(&p.id))),
            _ => {}
        }
    }
    // `iac`: what the templates leave to apply time, and patterns AWS would refuse, at their
    // place in the source.
    if let Some(iac) = &report.inputs.iac {
        let placed = |level: &str, d: &crate::iac::Diagnostic| {
            json!({"level": level, "message": {"text": d.message}, "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": uri_path(&d.at.file)},
                    "region": {"startLine": d.at.line.max(1), "startColumn": d.at.column.max(1)}
                }
            }]})
        };
        notes.extend(iac.invalid.iter().map(|d| placed("error", d)));
        notes.extend(iac.unresolved.iter().map(|d| placed("note", d)));
    }
    let invalid = report
        .inputs
        .iac
        .as_ref()
        .is_some_and(|i| !i.invalid.is_empty());
    json!({
        "executionSuccessful": !invalid && report.policies.iter().all(|p| p.status != Status::Error),
        "toolExecutionNotifications": notes
    })
}

/// An evidence path given on the command line (`--logs DIR`, `--config DIR`): a SARIF
/// `uriBaseId`, so that a result's file is a URI relative to it, as GitHub code scanning wants.
struct UriBase<'a> {
    id: String,
    option: &'static str,
    path: &'a Path,
}

impl UriBase<'_> {
    /// Its `originalUriBaseIds` entry: a `file:` URI ending with `/` for an absolute path;
    /// SARIF wants an absolute URI or none, so a relative path is only described.
    fn declaration(&self) -> Value {
        let description = json!({"text": format!("{} {}", self.option, self.path.display())});
        if self.path.is_absolute() {
            let dir = uri_path(&self.path.to_string_lossy());
            let slash = if dir.ends_with('/') { "" } else { "/" };
            json!({"uri": format!("file://{dir}{slash}"), "description": description})
        } else {
            json!({ "description": description })
        }
    }
}

/// The base ids: `LOGS`, `LOGS2`, ... and `CONFIG`, `CONFIG2`, ..., in command-line order.
fn uri_bases(report: &Report) -> Vec<UriBase<'_>> {
    let logs = report.inputs.logs.as_ref().map(|l| l.paths.as_slice());
    let config = report.inputs.config.as_ref().map(|c| c.paths.as_slice());
    let mut bases = Vec::new();
    for (id, option, paths) in [("LOGS", "--logs", logs), ("CONFIG", "--config", config)] {
        for (n, path) in paths.unwrap_or_default().iter().enumerate() {
            bases.push(UriBase {
                id: if n == 0 {
                    id.to_string()
                } else {
                    format!("{id}{}", n + 1)
                },
                option,
                path,
            });
        }
    }
    bases
}

/// The evidence directory a policy of `kind` read (the first `--logs` path for event and
/// integrity policies, the first `--config` path for the others), as a SARIF location: for a
/// finding with no file of its own (a run of silent hours).
fn evidence_root(kind: crate::policy::Kind, bases: &[UriBase]) -> Option<(Value, Option<String>)> {
    let option = if kind.decides() && kind != crate::policy::Kind::Integrity {
        "--config"
    } else {
        "--logs"
    };
    let base = bases.iter().find(|b| b.option == option)?;
    Some((
        json!({"uri": "", "uriBaseId": base.id}),
        Some(base.id.clone()),
    ))
}

/// A SARIF `artifactLocation` of `file`, and the base id it uses: relative to the first
/// evidence path it is under, else the path itself (a `file:` URI when absolute).
fn artifact_location(file: &str, bases: &[UriBase]) -> (Value, Option<String>) {
    let under = bases.iter().find_map(|b| {
        let rest = Path::new(file).strip_prefix(b.path).ok()?;
        (!rest.as_os_str().is_empty()).then_some((b, rest))
    });
    match under {
        Some((base, rest)) => (
            json!({"uri": uri_path(&rest.to_string_lossy()), "uriBaseId": base.id}),
            Some(base.id.clone()),
        ),
        None if Path::new(file).is_absolute() => {
            (json!({ "uri": format!("file://{}", uri_path(file)) }), None)
        }
        None => (json!({ "uri": uri_path(file) }), None),
    }
}

/// A path as the path of a URI reference (RFC 3986): every byte but the unreserved characters
/// and the `/` separators percent-encoded, so a file name's spaces, `%`, `#`, `?`, `:`, line
/// breaks and controls cannot end or change the URI.
fn uri_path(path: &str) -> String {
    const KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(path, KEPT).to_string()
}

/// JUnit XML: one test case per policy. A violation (what makes `audit` exit 1) is a failure;
/// a failing policy that is not one (below `--fail-on`, waived, or known to the baseline) passes
/// with its findings in `system-out`; policies not applicable or without evidence are skipped.
pub fn junit(report: &Report) -> String {
    let policies = &report.policies;
    let count = |status: Status| policies.iter().filter(|p| p.status == status).count();
    let fail = policies.iter().filter(|p| p.violation).count();
    let (error, skipped) = (
        count(Status::Error),
        count(Status::NotApplicable) + count(Status::NoEvidence),
    );
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"trailaudit\" tests=\"{}\" failures=\"{fail}\" errors=\"{error}\" skipped=\"{skipped}\">\n",
        policies.len()
    ));
    x.push_str(&format!(
        "  <testsuite name=\"trailaudit\" tests=\"{}\" failures=\"{fail}\" errors=\"{error}\" skipped=\"{skipped}\">\n",
        policies.len()
    ));
    for p in policies {
        x.push_str(&format!(
            "    <testcase classname=\"trailaudit.{}\" name=\"{} {}\">",
            xml_escape(&p.kind.to_string()),
            xml_escape(&p.id),
            xml_escape(&p.title)
        ));
        let lines: Vec<String> = p
            .findings
            .iter()
            .map(|f| {
                let mut line = format!("{} {} {}: {}", f.account, f.region, f.resource, f.message);
                if let Some(w) = &f.waived_by {
                    line.push_str(&format!(" [waived by {w}]"));
                }
                if let Some(b) = &f.baseline {
                    line.push_str(&format!(" [{b}]"));
                }
                line
            })
            .collect();
        let reason = p.reason.as_deref().unwrap_or_default();
        match p.status {
            Status::Fail | Status::Waived if p.violation => {
                x.push_str(&format!(
                    "\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    ",
                    xml_escape(&p.severity.to_string()),
                    xml_escape(&format!("{} finding(s)", p.findings.len())),
                    xml_escape(&lines.join("\n"))
                ));
            }
            Status::Fail | Status::Waived => {
                let waived = p.status == Status::Waived;
                x.push_str(&format!(
                    "\n      <system-out>{}</system-out>\n    ",
                    xml_escape(&format!(
                        "{} (not a violation: {})\n{}",
                        if waived { "waived" } else { "fail" },
                        if waived {
                            "every finding is waived"
                        } else {
                            "below --fail-on, waived, in the baseline or attempts AWS refused"
                        },
                        lines.join("\n")
                    ))
                ));
            }
            Status::Error => x.push_str(&format!(
                "\n      <error message=\"{}\"/>\n    ",
                xml_escape(reason)
            )),
            Status::NotApplicable => x.push_str(&format!(
                "\n      <skipped message=\"{}\"/>\n    ",
                xml_escape(reason)
            )),
            Status::NoEvidence => x.push_str(&format!(
                "\n      <skipped message=\"{}\"/>\n    ",
                xml_escape(&format!("no evidence: {reason}"))
            )),
            Status::Incomplete => x.push_str(&format!(
                "\n      <system-out>{}</system-out>\n    ",
                xml_escape(&format!("incomplete: {reason}"))
            )),
            Status::Pass => {}
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// The columns of the CSV report.
pub const CSV_COLUMNS: [&str; 16] = [
    "policy",
    "title",
    "severity",
    "status",
    "violation",
    "account",
    "region",
    "resource",
    "message",
    "first_seen",
    "last_seen",
    "event_total",
    "state",
    "attempt",
    "frameworks",
    "event_ids",
];

/// One row per finding (policies in the report's order, findings in theirs), every cell
/// escaped by [`super::escape::csv_cell`]: text from records never becomes a formula or breaks a
/// row. `state` is `open`, `waived by ID`, or the baseline's verdict.
fn csv(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use super::escape::csv_cell;
    writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    for p in &report.policies {
        let frameworks: Vec<String> = p
            .frameworks
            .iter()
            .map(|(k, ids)| format!("{k}:{}", ids.join(" ")))
            .collect();
        for f in &p.findings {
            let state = match (&f.waived_by, &f.baseline) {
                (Some(w), _) => format!("waived by {w}"),
                (None, Some(b)) => format!("open, {b}"),
                (None, None) => "open".into(),
            };
            let cells = [
                p.id.clone(),
                p.title.clone(),
                p.severity.to_string(),
                p.status.as_str().to_string(),
                p.violation.to_string(),
                f.account.clone(),
                f.region.clone(),
                f.resource.clone(),
                f.message.clone(),
                f.first_seen.clone().unwrap_or_default(),
                f.last_seen.clone().unwrap_or_default(),
                f.event_total.to_string(),
                state,
                f.attempt.to_string(),
                frameworks.join("; "),
                f.event_ids.join(" "),
            ];
            let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            writeln!(out, "{}", row.join(","))?;
        }
    }
    Ok(())
}

/// The text report: counts, inputs, frameworks, then every policy, failures first.
pub fn text(r: &Report) -> String {
    match &r.inputs.iac {
        Some(iac) => iac_text(r, iac),
        None => text_with(r, true, false),
    }
}

/// The text of an `iac` report: each monitoring policy with the controls it stands for, its
/// verdict (pass, FAIL, UNRESOLVED) and the place in the source each finding is about.
fn iac_text(r: &Report, iac: &super::IacInputs) -> String {
    let mut s = String::new();
    let c = &r.summary.by_status;
    let failed = iac.files.iter().filter(|f| f.error.is_some()).count();
    let _ = writeln!(
        s,
        "{} stack(s) from {} template file(s){}; {} monitoring policies: {} fail, {} pass, {} unresolved{}  ({})",
        iac.stacks.len(),
        iac.files.len(),
        if failed > 0 {
            format!(" ({failed} could not be read)")
        } else {
            String::new()
        },
        r.policies.len(),
        c.fail,
        c.pass,
        c.no_evidence,
        if c.not_applicable + c.error > 0 {
            format!(", {} other", c.not_applicable + c.error)
        } else {
            String::new()
        },
        match r.summary.fail_on {
            crate::judge::FailOn::Never => "report only: --fail-on never".to_string(),
            at => format!("violations at or above {at}: {}", r.summary.violations),
        }
    );
    for f in iac.files.iter().filter(|f| f.error.is_some()) {
        let _ = writeln!(
            s,
            "not read: {}: {}",
            f.path.display(),
            f.error.as_deref().unwrap_or_default()
        );
    }
    for d in &iac.invalid {
        let _ = writeln!(s, "error: {d}");
    }
    let key = r.scope.framework.as_deref().unwrap_or("cis-aws-v3.0");
    let mut rows: Vec<&super::PolicyResult> = r.policies.iter().collect();
    rows.sort_by_key(|p| (attention(p.status), p.id.clone()));
    let _ = writeln!(s);
    for p in rows {
        let status = match p.status {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::NoEvidence => "UNRESOLVED",
            Status::Error => "ERROR",
            Status::NotApplicable => "n/a",
            Status::Waived => "waived",
            Status::Incomplete => "PART",
        };
        let controls = p
            .frameworks
            .get(key)
            .map(|ids| format!("{key} {}", ids.join(", ")))
            .unwrap_or_default();
        let _ = writeln!(s, "{status:<10} {:<10} {controls:<18} {}", p.id, p.title);
        for f in &p.findings {
            let place = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(
                    "{file}:{line}{}",
                    f.column.map(|c| format!(":{c}")).unwrap_or_default()
                ),
                (Some(file), None) => file.clone(),
                _ => f.account.clone(),
            };
            let _ = writeln!(
                s,
                "           {}: {}",
                terminal_escape(&place),
                terminal_escape(&f.message)
            );
        }
        if p.status == Status::NoEvidence {
            if let Some(reason) = &p.reason {
                let _ = writeln!(s, "           {}", terminal_escape(reason));
            }
        }
        for w in &p.warnings {
            let _ = writeln!(s, "           ! {}", terminal_escape(w));
        }
    }
    if !iac.unresolved.is_empty() {
        let _ = writeln!(s, "\nLeft to apply time (not judged, never guessed):");
        for d in &iac.unresolved {
            let _ = writeln!(s, "  {}", terminal_escape(&d.to_string()));
        }
    }
    terminal_text(&s)
}

/// The verdict printed beside the other formats (`audit -o DIR`): the text report without the
/// policies that passed or do not apply (counted on a last line); coloured for a terminal.
pub fn summary(r: &Report, colour: bool) -> String {
    text_with(r, false, colour)
}

/// Where a status stands in the text: what needs attention first.
fn attention(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::NoEvidence => 2,
        Status::Incomplete => 3,
        Status::Waived => 4,
        Status::Pass => 5,
        Status::NotApplicable => 6,
    }
}

/// The text's status words, coloured for a terminal (after escaping, so no field can add or
/// remove a colour).
fn colour_line(line: &str) -> String {
    const CODES: [(&str, &str); 6] = [
        ("FAIL ", "31;1"),
        ("ERROR", "35;1"),
        ("NO-EV", "33"),
        ("PART ", "33"),
        ("waivd", "36"),
        ("pass ", "32"),
    ];
    for (word, code) in CODES {
        if let Some(rest) = line.strip_prefix(word) {
            return format!(
                "\x1b[{code}m{}\x1b[0m{}{rest}",
                word.trim_end(),
                &word[word.trim_end().len()..]
            );
        }
    }
    line.to_string()
}

fn text_with(r: &Report, all: bool, colour: bool) -> String {
    let mut s = String::new();
    let c = &r.summary.by_status;
    let _ = writeln!(
        s,
        "{} policies: {} fail, {} pass, {} not applicable{}  ({})",
        r.policies.len(),
        c.fail,
        c.pass,
        c.not_applicable,
        [
            (c.no_evidence, "no evidence"),
            (c.incomplete, "incomplete"),
            (c.waived, "waived"),
            (c.error, "error"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!(", {n} {what}"))
        .collect::<String>(),
        match r.summary.fail_on {
            crate::judge::FailOn::Never => "report only: --fail-on never".to_string(),
            at => format!("violations at or above {at}: {}", r.summary.violations),
        }
    );
    for shortfall in &r.inputs.shortfalls {
        let _ = writeln!(s, "No evidence: {shortfall}");
    }
    for (account, ids) in &r.summary.evidence_needed_from {
        let _ = writeln!(
            s,
            "Evidence needed from account {}: {}",
            terminal_escape(account),
            ids.join(", ")
        );
    }
    for i in &r.inputs.ignored {
        let _ = writeln!(s, "Not read: {}: {}", i.path.display(), i.error);
    }
    if r.scope.from.is_some() || r.scope.to.is_some() {
        let _ = writeln!(
            s,
            "Period:  {} .. {} (requested)",
            r.scope.from.as_deref().unwrap_or("the first event"),
            r.scope.to.as_deref().unwrap_or("the last event")
        );
    }
    if let Some(a) = &r.scope.athena {
        for q in &a.queries {
            let _ = writeln!(
                s,
                "Athena:  {} query on {}: {}, {} bytes scanned, {} rows{}",
                q.query,
                a.table,
                q.state,
                q.data_scanned_bytes
                    .map_or_else(|| "?".to_string(), |b| b.to_string()),
                q.rows,
                q.error
                    .as_deref()
                    .map_or_else(String::new, |e| format!(" ({e})"))
            );
        }
    }
    if let Some(l) = &r.inputs.logs {
        let _ = writeln!(
            s,
            "Events:  {} in scope of {} loaded from {} files ({} failed, {} records rejected{}); {} .. {}",
            l.events_in_scope,
            l.events,
            l.files,
            l.failed_files.len(),
            l.rejected_records,
            crate::inventory::duplicates_note(l.duplicate_records),
            r.scope.first_event.as_deref().unwrap_or("-"),
            r.scope.last_event.as_deref().unwrap_or("-")
        );
    }
    if let Some(cfg) = &r.inputs.config {
        let _ = writeln!(
            s,
            "Config:  {} files ({} failed, {} collection gaps), {} trails",
            cfg.files,
            cfg.failed_files.len(),
            cfg.collection_gaps.len(),
            r.posture.len()
        );
    }
    let _ = writeln!(
        s,
        "Accounts: {}",
        if r.scope.accounts.is_empty() {
            "none".into()
        } else {
            r.scope.accounts.join(", ")
        }
    );
    for (key, rows) in &r.summary.frameworks {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for row in rows {
            let status = serde_json::to_value(row.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *counts.entry(status).or_default() += 1;
        }
        let order = [
            "fail",
            "error",
            "no_evidence",
            "incomplete",
            "waived",
            "pass",
            "not_applicable",
            "manual",
        ];
        let parts: Vec<String> = order
            .iter()
            .filter_map(|k| {
                counts
                    .get(*k)
                    .map(|n| format!("{n} {}", k.replace('_', " ")))
            })
            .collect();
        let _ = writeln!(s, "{key}: {} controls: {}", rows.len(), parts.join(", "));
    }
    let mut rows: Vec<&super::PolicyResult> = r.policies.iter().collect();
    rows.sort_by_key(|p| {
        (
            attention(p.status),
            std::cmp::Reverse(p.severity),
            p.id.clone(),
        )
    });
    let _ = writeln!(s);
    let hidden = rows
        .iter()
        .filter(|p| matches!(p.status, Status::Pass | Status::NotApplicable))
        .count();
    for p in rows {
        if !all && matches!(p.status, Status::Pass | Status::NotApplicable) {
            continue;
        }
        let status = match p.status {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::NotApplicable => "n/a",
            Status::Waived => "waivd",
            Status::NoEvidence => "NO-EV",
            Status::Incomplete => "PART",
        };
        let detail = match p.status {
            Status::Fail | Status::Waived => {
                let waived = p.findings.iter().filter(|f| f.waived_by.is_some()).count();
                if waived > 0 {
                    format!("{} finding(s), {waived} waived", p.findings.len())
                } else {
                    format!("{} finding(s)", p.findings.len())
                }
            }
            Status::NotApplicable | Status::Error | Status::NoEvidence | Status::Incomplete => {
                p.reason.clone().unwrap_or_default()
            }
            Status::Pass => p.matched_events.map(|_| String::new()).unwrap_or_default(),
        };
        let _ = writeln!(
            s,
            "{status:<5} {:<8} {:<10} {}  {detail}",
            p.severity.to_string(),
            p.id,
            p.title
        );
        if p.status == Status::Fail {
            for f in p.findings.iter().take(3) {
                let _ = writeln!(
                    s,
                    "        - {} {} {}: {}",
                    f.account,
                    f.region,
                    terminal_escape(&f.resource),
                    terminal_escape(&f.message)
                );
            }
            if p.findings.len() > 3 {
                let _ = writeln!(s, "        - ... {} more", p.findings.len() - 3);
            }
        }
        for w in &p.warnings {
            let _ = writeln!(s, "        ! {}", terminal_escape(w));
        }
    }
    if !all && hidden > 0 {
        let _ = writeln!(
            s,
            "... and {hidden} policies that pass or do not apply (the report lists them)"
        );
    }
    let s = terminal_text(&s);
    if colour {
        s.lines().map(|l| colour_line(l) + "\n").collect()
    } else {
        s
    }
}

/// `report` in `format`.
pub fn render(
    format: Format,
    report: &Report,
    templates: Option<&Path>,
) -> Result<String, RenderError> {
    let mut out = Vec::new();
    let templates = Templates::for_formats(&[format], templates)?;
    write(format, report, &templates, &mut out)?;
    // Every renderer writes UTF-8.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `report` in `format`, written to `out` as it is rendered (a large report is never held
/// whole as text), HTML and Markdown with `templates`.
pub fn write(
    format: Format,
    report: &Report,
    templates: &Templates,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    let io = RenderError::Write;
    match format {
        Format::Json => {
            super::escape::write_json(&mut *out, report).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)
        }
        Format::Sarif => {
            super::escape::write_json(&mut *out, &sarif(report)).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)
        }
        Format::Text => out.write_all(text(report).as_bytes()).map_err(io),
        Format::Junit => out.write_all(junit(report).as_bytes()).map_err(io),
        Format::Csv => csv(report, out).map_err(io),
        Format::Ocsf => {
            super::escape::write_json(&mut *out, &super::ocsf::findings(report))
                .map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)
        }
        Format::Asff => {
            super::escape::write_json(&mut *out, &super::asff::findings(report))
                .map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)
        }
        Format::Md => {
            let mut md = Vec::new();
            write_with(templates.get(Templated::Md)?, "report.md", report, &mut md)?;
            out.write_all(&within_job_summary(md)).map_err(io)
        }
        Format::Html => write_with(templates.get(Templated::Html)?, "report.html", report, out),
    }
}

/// Most bytes of Markdown written: GitHub refuses a job summary over 1 MiB, and a pull-request
/// comment has a smaller limit still; record text (a long ARN, a long message) has no bound.
pub const MARKDOWN_LIMIT: usize = 1_000_000;

/// `md`, cut (after a whole policy where it can) to [`MARKDOWN_LIMIT`] with a note saying so.
fn within_job_summary(mut md: Vec<u8>) -> Vec<u8> {
    if md.len() <= MARKDOWN_LIMIT {
        return md;
    }
    let total = md.len();
    let room = MARKDOWN_LIMIT - 400;
    let head = &md[..room];
    let cut = memchr::memmem::rfind(head, b"\n</details>\n")
        .map(|i| i + "\n</details>\n".len())
        .or_else(|| memchr::memrchr(b'\n', head).map(|i| i + 1))
        .unwrap_or(0);
    md.truncate(cut);
    md.extend_from_slice(
        format!(
            "\n> **Truncated:** this Markdown stops after {} of its {} KB, to stay under GitHub's \
             1 MiB job-summary limit. The JSON and HTML reports hold every finding.\n",
            cut / 1000,
            total / 1000
        )
        .as_bytes(),
    );
    md
}

fn write_with(
    compiled: &Compiled,
    name: &str,
    report: &Report,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    let context = template_context(report, compiled.names_inputs)?;
    compiled
        .hb
        .render_with_context_to_write(name, &context, out)
        .map_err(|e| RenderError::Template {
            name: format!("{name}.hbs"),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_words_are_coloured_and_nothing_else() {
        assert_eq!(
            super::colour_line("FAIL  high     X-1 t"),
            "\x1b[31;1mFAIL\x1b[0m  high     X-1 t"
        );
        assert_eq!(
            super::colour_line("pass  low  X-2"),
            "\x1b[32mpass\x1b[0m  low  X-2"
        );
        assert_eq!(super::colour_line("        - FAIL x"), "        - FAIL x");
    }

    use super::*;

    #[test]
    fn artifact_uris_are_uri_references() {
        assert_eq!(
            uri_path("a b/%#?\n\u{1b}:é.json"),
            "a%20b/%25%23%3F%0A%1B%3A%C3%A9.json"
        );
        let base = |path: &'static str| UriBase {
            id: "LOGS".into(),
            option: "--logs",
            path: Path::new(path),
        };
        let bases = [base("logs/")];
        let (location, id) = artifact_location("logs/x y.json", &bases);
        assert_eq!(location, json!({"uri": "x%20y.json", "uriBaseId": "LOGS"}));
        assert_eq!(id.as_deref(), Some("LOGS"));
        assert_eq!(
            bases[0].declaration(),
            json!({"description": {"text": "--logs logs/"}})
        );
        assert_eq!(base("/e v").declaration()["uri"], json!("file:///e%20v/"));
        assert_eq!(
            artifact_location("/abs/a#b", &bases).0,
            json!({"uri": "file:///abs/a%23b"})
        );
        // A file given itself is no base.
        assert_eq!(
            artifact_location("one.json", &[base("one.json")]).0,
            json!({"uri": "one.json"})
        );
    }

    /// The templates' view of a report is the report, field for field, but the manifest's
    /// inputs: a field added to the report and not to the view fails here.
    #[test]
    fn the_template_view_is_the_report_but_the_inputs() {
        let set = crate::policy::PolicySet::load(&[], false).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let logs = vec![root.join("logs")];
        let report = crate::audit::run(crate::audit::Request {
            allow_partial: true,
            chunk_rows: 1000,
            ..crate::audit::Request::new(&set, logs, vec![root.join("config")])
        })
        .unwrap()
        .report;
        assert!(!report.manifest.inputs.is_empty());
        let mut whole = serde_json::to_value(&report).unwrap();
        let inputs = whole["manifest"]
            .as_object_mut()
            .unwrap()
            .shift_remove("inputs")
            .unwrap();
        assert_eq!(
            serde_json::to_value(super::ReportView::of(&report)).unwrap(),
            whole
        );
        for names_inputs in [false, true] {
            let context = super::template_context(&report, names_inputs).unwrap();
            let manifest = &context.data()["manifest"];
            assert_eq!(manifest["input_count"], inputs.as_array().unwrap().len());
            assert_eq!(manifest.get("inputs"), names_inputs.then_some(&inputs));
        }
    }
}
