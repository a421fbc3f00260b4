//! Renderers of the report model. Each takes the model as JSON (what `--format json` writes),
//! so a saved report renders exactly like a fresh one, and no renderer sees more than the JSON
//! tells.

use std::path::Path;

use handlebars::Handlebars;
use serde_json::{json, Value};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Md,
    Sarif,
    Junit,
}

impl Format {
    /// File name in an output directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Text => "report.txt",
            Format::Json => "report.json",
            Format::Md => "report.md",
            Format::Sarif => "report.sarif",
            Format::Junit => "report.junit.xml",
        }
    }
}

const MD_TEMPLATE: &str = include_str!("../../report-templates/report.md.hbs");

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("cannot read templates in {path}: {message}")]
    Templates { path: String, message: String },
}

/// Markdown-safe text: HTML is escaped (GitHub renders tags) and Markdown's own punctuation is
/// backslash-escaped, so record fields can neither inject markup nor break a table.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Markdown from `report.md.hbs`, the built-in one or `templates/report.md.hbs`.
pub fn markdown(report: &Value, templates: Option<&Path>) -> Result<String, RenderError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(false);
    hb.register_escape_fn(markdown_escape);
    let source = match templates {
        Some(dir) => std::fs::read_to_string(dir.join("report.md.hbs")).map_err(|e| {
            RenderError::Templates {
                path: dir.display().to_string(),
                message: e.to_string(),
            }
        })?,
        None => MD_TEMPLATE.to_string(),
    };
    hb.register_template_string("report.md", source)
        .map_err(|e| RenderError::Template {
            name: "report.md.hbs".into(),
            message: e.to_string(),
        })?;
    hb.render("report.md", report)
        .map_err(|e| RenderError::Template {
            name: "report.md.hbs".into(),
            message: e.to_string(),
        })
}

fn level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

/// GitHub code scanning's 0-10 scale.
fn security_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "9.5",
        "high" => "8.0",
        "medium" => "5.5",
        "low" => "3.0",
        _ => "1.0",
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// SARIF 2.1.0: one rule per policy (with its help), one result per finding of a failing policy.
pub fn sarif(report: &Value) -> Value {
    let policies = report["policies"].as_array().cloned().unwrap_or_default();
    let rules: Vec<Value> = policies
        .iter()
        .map(|p| {
            let tags: Vec<String> = p["frameworks"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .flat_map(|(k, ids)| {
                            ids.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(move |id| format!("{k}:{id}"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "id": s(p, "id"),
                "name": s(p, "title"),
                "shortDescription": {"text": s(p, "title")},
                "fullDescription": {"text": s(p, "description")},
                "help": {"text": s(p, "remediation")},
                "defaultConfiguration": {"level": level(s(p, "severity"))},
                "properties": {"tags": tags, "security-severity": security_severity(s(p, "severity")), "kind": s(p, "kind")}
            })
        })
        .collect();
    let mut results = Vec::new();
    for (index, p) in policies.iter().enumerate() {
        if s(p, "status") != "fail" {
            continue;
        }
        for f in p["findings"].as_array().into_iter().flatten() {
            let resource = s(f, "resource");
            let mut location = json!({
                "logicalLocations": [{"name": resource, "kind": "resource",
                    "fullyQualifiedName": format!("{}/{}/{}", s(f, "account"), s(f, "region"), resource)}]
            });
            if let Some(file) = f["evidence"].get(0).and_then(|e| e["file"].as_str()) {
                location["physicalLocation"] = json!({"artifactLocation": {"uri": file}});
            }
            results.push(json!({
                "ruleId": s(p, "id"),
                "ruleIndex": index,
                "level": level(s(p, "severity")),
                "message": {"text": format!("{} ({} {}): {}", s(p, "title"), s(f, "account"), s(f, "region"), s(f, "message"))},
                "locations": [location],
                "partialFingerprints": {"trailaudit/v1": format!("{}|{}|{}|{}", s(p, "id"), s(f, "account"), s(f, "region"), resource)},
                "properties": {"account": s(f, "account"), "region": s(f, "region"), "eventTotal": f["event_total"], "eventIds": f["event_ids"]}
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "trailaudit",
                "version": report["tool"]["version"],
                "informationUri": "https://github.com/trailaudit/trailaudit",
                "rules": rules
            }},
            "results": results
        }]
    })
}

/// XML text or attribute value.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            // Other control characters are not allowed in XML 1.0 at all.
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test case per policy; failing policies fail, not-applicable ones are skipped.
pub fn junit(report: &Value) -> String {
    let policies = report["policies"].as_array().cloned().unwrap_or_default();
    let count = |status: &str| policies.iter().filter(|p| s(p, "status") == status).count();
    let (fail, error, skipped) = (count("fail"), count("error"), count("not_applicable"));
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"trailaudit\" tests=\"{}\" failures=\"{fail}\" errors=\"{error}\" skipped=\"{skipped}\">\n",
        policies.len()
    ));
    x.push_str(&format!(
        "  <testsuite name=\"trailaudit\" tests=\"{}\" failures=\"{fail}\" errors=\"{error}\" skipped=\"{skipped}\">\n",
        policies.len()
    ));
    for p in &policies {
        x.push_str(&format!(
            "    <testcase classname=\"trailaudit.{}\" name=\"{} {}\">",
            xml_escape(s(p, "kind")),
            xml_escape(s(p, "id")),
            xml_escape(s(p, "title"))
        ));
        match s(p, "status") {
            "fail" => {
                let findings = p["findings"].as_array().cloned().unwrap_or_default();
                let lines: Vec<String> = findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {} {}: {}",
                            s(f, "account"),
                            s(f, "region"),
                            s(f, "resource"),
                            s(f, "message")
                        )
                    })
                    .collect();
                x.push_str(&format!(
                    "\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    ",
                    xml_escape(s(p, "severity")),
                    xml_escape(&format!("{} finding(s)", findings.len())),
                    xml_escape(&lines.join("\n"))
                ));
            }
            "error" => x.push_str(&format!(
                "\n      <error message=\"{}\"/>\n    ",
                xml_escape(s(p, "reason"))
            )),
            "not_applicable" => x.push_str(&format!(
                "\n      <skipped message=\"{}\"/>\n    ",
                xml_escape(s(p, "reason"))
            )),
            _ => {}
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            markdown_escape("<script>alert(1)</script> | {{x}}"),
            "&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\| \\{\\{x\\}\\}"
        );
        assert_eq!(
            xml_escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\\u{1}"
        );
    }
}
