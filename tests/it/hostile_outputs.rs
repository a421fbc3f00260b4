//! Outputs that hostile record text cannot break: every record field is attacker-controlled and
//! reaches every output format (HTML, Markdown, JSON, SARIF, JUnit, text, CSV, OCSF, ASFF,
//! NDJSON).

use crate::common;
use crate::common::pytools;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Terminal escapes, a bell, NUL, a right-to-left override, a noncharacter and a line break.
const HOSTILE: &str = "x\u{1b}[31m\u{7}\u{0}\u{202e}\u{ffff}\nline2";
/// A spreadsheet formula (OWASP's CSV injection example).
const FORMULA: &str = "=cmd|' /C calc'!A0";

/// Characters no output may carry raw: C0 and C1 controls but the line feed, bidirectional
/// formatting characters, U+FFFE and U+FFFF.
fn raw_hostile(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}')
        })
        .collect()
}

/// A failed GetObject (an unauthorized call: TA-EVT-401 fails on it) whose principal, user
/// agent and request parameters are `evil`.
fn evil_record(evil: &str) -> Value {
    let mut r = record(
        "2024-07-31T13:10:00Z",
        "111122223333",
        "us-east-1",
        "GetObject",
    );
    r["errorCode"] = "AccessDenied".into();
    r["userIdentity"]["arn"] = format!("arn:aws:iam::111122223333:user/{evil}").into();
    r["userAgent"] = format!("{FORMULA}{evil}").into();
    r["requestParameters"] = serde_json::json!({ "bucketName": evil });
    r
}

fn audit(logs: &Path, formats: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--format".as_ref(),
        formats.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let run = trailaudit(args);
    assert!(run.code < 2, "{}", run.stderr);
    run
}

fn query(logs: &Path, format: &str, fields: Option<&str>) -> String {
    let mut args = vec![
        "query".to_string(),
        "{ $.eventName = GetObject }".into(),
        logs.display().to_string(),
        "--format".into(),
        format.into(),
    ];
    if let Some(f) = fields {
        args.extend(["--fields".into(), f.into()]);
    }
    let run = trailaudit(args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

/// RFC 4180 rows and cells, quoted line breaks kept.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

fn evil_logs(dir: &Path, evil: &str) -> PathBuf {
    let logs = dir.join("logs");
    write(&logs.join("evil.json"), &envelope(&[evil_record(evil)]));
    logs
}

#[test]
fn junit_is_well_formed_xml_whatever_the_record_holds() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "a\u{ffff}b\u{fffe}c\u{0}d\u{1b}e\u{202e}f";
    let logs = evil_logs(dir.path(), evil);
    // --fail-on low: the finding is a <failure>; --fail-on critical: it is in <system-out>.
    for fail_on in ["low", "critical"] {
        let out = dir.path().join(format!("junit-{fail_on}.xml"));
        audit(&logs, "junit", &out, &["--fail-on", fail_on]);
        let xml = std::fs::read_to_string(&out).unwrap();
        let doc = roxmltree::Document::parse(&xml)
            .unwrap_or_else(|e| panic!("JUnit is not well-formed XML: {e}\n{xml}"));
        let text: String = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure") || n.has_tag_name("system-out"))
            .filter_map(|n| n.text())
            .collect();
        assert!(
            text.contains("a\\u{ffff}b\\u{fffe}c\\u{0}d\\u{1b}e\\u{202e}f"),
            "every forbidden character is shown, none dropped: {text}"
        );
        assert_eq!(raw_hostile(&xml), Vec::<char>::new());
    }
}

#[test]
fn no_output_carries_a_control_or_bidi_character_raw() {
    let dir = tempfile::tempdir().unwrap();
    let logs = evil_logs(dir.path(), HOSTILE);
    let out = dir.path().join("out");
    audit(
        &logs,
        "json,md,sarif,junit,text,html,csv,ocsf,asff",
        &out,
        &[],
    );
    let mut outputs: Vec<(String, String)> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            (path.display().to_string(), text)
        })
        .collect();
    // Nine formats and the evidence's checksum file.
    assert_eq!(outputs.len(), 10);
    let fields = "eventName,userAgent,userIdentity.arn,requestParameters.bucketName";
    for (format, fields) in [
        ("csv", Some(fields)),
        ("table", Some(fields)),
        ("json", Some(fields)),
        ("ndjson", Some(fields)),
        ("json", None),
        ("ndjson", None),
    ] {
        outputs.push((
            format!("query --format {format} --fields {fields:?}"),
            query(&logs, format, fields),
        ));
    }
    for (name, text) in &outputs {
        assert_eq!(raw_hostile(text), Vec::<char>::new(), "{name}:\n{text}");
    }

    // JSON keeps the exact value: the characters are written as \u escapes.
    let principal = format!("arn:aws:iam::111122223333:user/{HOSTILE}");
    let agent = format!("{FORMULA}{HOSTILE}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let evidence = &policy(&report, "TA-EVT-401")["findings"][0]["evidence"][0];
    assert_eq!(evidence["principal"], principal.as_str());
    assert_eq!(evidence["user_agent"], agent.as_str());
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.sarif")).unwrap()).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["name"],
        principal.as_str()
    );
    // OCSF and ASFF keep the exact value too: the principal is the finding's resource, the
    // request parameters and user agent are in the OCSF evidence.
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
    };
    let ocsf = read("report.ocsf.json");
    let detection = ocsf
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["metadata"]["event_code"] == "TA-EVT-401")
        .unwrap();
    assert_eq!(detection["resources"][0]["uid"], principal.as_str());
    assert_eq!(
        detection["evidences"][0]["actor"]["user"]["uid"],
        principal.as_str()
    );
    assert_eq!(
        detection["evidences"][0]["data"]["user_agent"],
        agent.as_str()
    );
    let asff = read("report.asff.json");
    let finding = asff
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["GeneratorId"] == "trailaudit/TA-EVT-401")
        .unwrap();
    assert_eq!(finding["Resources"][0]["Id"], principal.as_str());
    for (format, fields) in [("ndjson", None), ("ndjson", Some(fields))] {
        let line: Value = serde_json::from_str(query(&logs, format, fields).trim()).unwrap();
        let bucket = line
            .pointer("/requestParameters/bucketName")
            .or_else(|| line.get("requestParameters.bucketName"));
        assert_eq!(bucket.unwrap(), HOSTILE, "{line}");
        assert_eq!(line["userAgent"], agent.as_str());
    }

    // CSV: a header and one row of four cells; the formula is defused, the rest shown.
    let rows = csv_rows(&query(&logs, "csv", Some(fields)));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.len() == 4), "{rows:?}");
    let shown = "x\\u{1b}[31m\\u{7}\\u{0}\\u{202e}\\u{ffff}\nline2";
    assert_eq!(rows[1][1], format!("'{FORMULA}{shown}"));
    assert_eq!(rows[1][3], shown);
}

/// Text that GitHub's Markdown would turn into links (GFM autolinks), an image, HTML or a
/// broken table.
const MARKDOWN: &str = "https://evil.example/x www.evil.example attacker@evil.example <script> [x](http://e) ![i](http://e) | a\nb";

/// Markdown as GitHub renders it: GFM with autolinks and tables; raw HTML is passed (GitHub
/// sanitises it afterwards). comrak removed GFM's tag filter in 0.56 ("not fit for any
/// purpose"); without it the check is stricter: a `<script>` the report let through raw would
/// reach the HTML as is instead of being defused by the filter.
fn gfm_html(md: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.autolink = true;
    options.extension.table = true;
    options.render.r#unsafe = true;
    comrak::markdown_to_html(md, &options)
}

/// The text of each cell of each body row of the HTML tables, tags removed, references decoded.
fn table_rows(html: &str) -> Vec<Vec<String>> {
    let text = |cell: &str| -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in cell.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    };
    html.split("<tbody>")
        .skip(1)
        .flat_map(|body| body.split("</tbody>").next().unwrap().split("<tr>").skip(1))
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| text(&format!("<td{}", cell.split("</td>").next().unwrap())))
                .collect()
        })
        .collect()
}

#[test]
fn record_text_in_markdown_never_becomes_a_link_markup_or_a_table_break() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = evil_record(MARKDOWN);
    r["eventName"] = MARKDOWN.into();
    r["sourceIPAddress"] = MARKDOWN.into();
    r["recipientAccountId"] = "attacker@evil.example".into();
    let logs = dir.path().join("logs");
    write(&logs.join("evil.json"), &envelope(&[r]));
    let out = dir.path().join("report.md");
    audit(&logs, "md", &out, &[]);
    let md = std::fs::read_to_string(&out).unwrap();
    let html = gfm_html(&md);
    for markup in ["<a ", "<a>", "<img", "<script", "href"] {
        assert!(!html.contains(markup), "{markup} in\n{html}\nfrom\n{md}");
    }
    // The record text is shown whole, in its own cell: one line, every character there.
    let shown = format!(
        "{}b",
        MARKDOWN.strip_suffix('b').unwrap().replace('\n', " ")
    );
    let rows = table_rows(&html);
    let finding = rows
        .iter()
        .find(|r| r[0] == "attacker@evil.example")
        .unwrap();
    assert_eq!(
        finding[2..],
        [
            format!("arn:aws:iam::111122223333:user/{shown}"),
            "1 matching event (1 read-only)".into(),
            "open".into()
        ],
        "{html}"
    );
    let evidence = rows
        .iter()
        .find(|r| r[0] == "2024-07-31T13:10:00Z")
        .unwrap();
    assert_eq!(evidence.len(), 5, "{evidence:?}");
    assert_eq!(evidence[2..], [shown.clone(), shown, "AccessDenied".into()]);
    assert!(
        html.contains("<strong>Scope:</strong> attacker<wbr>@evil.example ·"),
        "{html}"
    );
}

/// RFC 3986: a URI reference holds only unreserved characters, delimiters and `%XX`.
fn is_uri_reference(uri: &str) -> bool {
    let bytes = uri.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b.is_ascii_alphanumeric()
            || b"-._~:/?#[]@!$&'()*+,;=".contains(&b)
            || (b == b'%'
                && bytes
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)))
    })
}

#[test]
fn sarif_artifact_uris_are_uri_references_relative_to_the_evidence_directory() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let name = "a b%41#c?d\ne\u{1b}f.json";
    let file = write(
        &logs.join("2024 q3").join(name),
        &envelope(&[evil_record("u")]),
    );
    let out = dir.path().join("report.sarif");
    audit(&logs, "sarif", &out, &[]);
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let run = &sarif["runs"][0];
    let artifact = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uriBaseId"], "LOGS", "{artifact}");
    let uri = artifact["uri"].as_str().unwrap();
    assert_eq!(uri, "2024%20q3/a%20b%2541%23c%3Fd%0Ae%1Bf.json");
    let base = run["originalUriBaseIds"]["LOGS"]["uri"].as_str().unwrap();
    assert!(
        is_uri_reference(uri) && is_uri_reference(base),
        "{base} {uri}"
    );
    let base = url::Url::parse(base).unwrap();
    assert!(base.as_str().ends_with("/logs/"), "{base}");
    let resolved = base.join(uri).unwrap();
    // Nothing for the URL parser to fix: the reference was already valid.
    assert_eq!(resolved.as_str(), format!("{base}{uri}"));
    assert_eq!(resolved.to_file_path().unwrap(), file);
}

#[test]
fn partials_that_include_each_other_are_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let logs = evil_logs(dir.path(), "u");
    let templates = dir.path().join("templates");
    write(
        &templates.join("partials/md/summary.hbs"),
        b"summary {{#if summary}}{{> md/failing}}{{/if}}",
    );
    write(
        &templates.join("partials/md/failing.hbs"),
        b"{{#each policies}}{{> md/summary}}{{/each}}",
    );
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--format".as_ref(),
        "md".as_ref(),
        "--templates".as_ref(),
        templates.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "partials include each other without end: md/summary -> md/failing -> md/summary"
        ),
        "{}",
        run.stderr
    );
    // The HTML templates do not include them: that format still renders.
    let html = dir.path().join("report.html");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "--templates".as_ref(),
        templates.as_os_str(),
        "-o".as_ref(),
        html.as_os_str(),
    ]);
    assert!(run.code < 2, "{}", run.stderr);
}

#[test]
fn includes_in_a_cycle_or_by_a_computed_name_are_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let logs = evil_logs(dir.path(), "u");
    let md_with = |summary: &str, failing: &str| {
        let templates = tempfile::tempdir_in(dir.path()).unwrap();
        write(
            &templates.path().join("partials/md/summary.hbs"),
            summary.as_bytes(),
        );
        write(
            &templates.path().join("partials/md/failing.hbs"),
            failing.as_bytes(),
        );
        trailaudit([
            "audit".as_ref(),
            "--logs".as_ref(),
            logs.as_os_str(),
            "--format".as_ref(),
            "md".as_ref(),
            "--templates".as_ref(),
            templates.path().as_os_str(),
        ])
    };

    // `include` recursing through another partial, and mixed with `{{> }}`.
    for (summary, failing) in [
        (
            r#"summary {{#if summary}}{{include "md/failing"}}{{/if}}"#,
            r#"{{#each policies}}{{include "md/summary"}}{{/each}}"#,
        ),
        (
            r#"summary {{include "md/failing"}}"#,
            "{{#each policies}}{{> md/summary}}{{/each}}",
        ),
    ] {
        let run = md_with(summary, failing);
        assert_eq!(run.code, 2, "{summary} / {failing}: {}", run.stderr);
        assert!(
            run.stderr.contains(
                "partials include each other without end: md/summary -> md/failing -> md/summary"
            ),
            "{}",
            run.stderr
        );
    }

    // A name computed at render time could recurse unseen: refused before anything renders.
    let run = md_with("{{include scope.framework}}", "failing");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "template partials/md/summary.hbs: {{include}} takes a partial's name in quotes"
        ),
        "{}",
        run.stderr
    );

    // And a quoted one renders the partial where it stands.
    let run = md_with(r#"summary [{{include "md/failing"}}]"#, "failing");
    assert!(run.code < 2, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("summary [failing]"),
        "{}",
        run.stdout
    );
}

#[test]
fn markdown_stays_under_the_job_summary_limit_whatever_the_records_hold() {
    let dir = tempfile::tempdir().unwrap();
    // Twelve principals refused a call, each with a 150 KB ARN: ten findings shown in full
    // would be 1.5 MB of Markdown.
    let long = "x".repeat(150_000);
    let records: Vec<Value> = (0..12)
        .map(|i| {
            let mut r = evil_record(&format!("{i}-{long}"));
            r["eventID"] = format!("e-{i}").into();
            r
        })
        .collect();
    let logs = dir.path().join("logs");
    write(&logs.join("big.json"), &envelope(&records));
    let out = dir.path().join("report.md");
    audit(&logs, "md", &out, &[]);
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.len() <= 1_000_000, "{} bytes", md.len());
    assert!(
        md.contains("> **Truncated:** this Markdown stops after"),
        "{}",
        &md[md.len() - 400..]
    );
}

#[test]
fn markdown_renders_commands_as_code_and_severities_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.md");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let run = trailaudit([
        "audit".as_ref(),
        root.as_os_str(),
        "--format".as_ref(),
        "md".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let md = std::fs::read_to_string(&out).unwrap();
    let html = gfm_html(&md);
    // A remediation's command is code, not literal backticks.
    assert!(
        html.contains(
            "<code>aws cloudtrail update-trail --name T --enable-log-file-validation</code>"
        ),
        "{html}"
    );
    assert!(!md.contains("\\`"));
    // Severity rows from the most severe down.
    let order: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("| ").and_then(|l| l.split(" |").next()))
        .filter(|s| ["critical", "high", "medium", "low", "info"].contains(s))
        .collect();
    assert_eq!(order, ["critical", "high", "medium", "low"]);
    // The scope lines are paragraphs of their own.
    assert!(
        html.contains("<p><strong>Event history:</strong>"),
        "{html}"
    );
    assert!(
        html.contains("<p><strong>Configuration:</strong>"),
        "{html}"
    );
}

#[test]
fn the_csv_report_has_a_row_per_finding_and_no_formula() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(
        &logs.join("evil.json"),
        &envelope(&[evil_record("=HYPERLINK(\"http://e\")")]),
    );
    let out = dir.path().join("out");
    audit(&logs, "json,csv", &out, &[]);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let findings: usize = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["findings"].as_array().unwrap().len())
        .sum();
    assert!(findings > 0);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("policy,title,severity,status,violation,account"));
    assert_eq!(lines.count(), findings, "{csv}");
    // No cell starts a formula, quoted or not.
    for cell in csv.split([',', '\n']) {
        let cell = cell.trim_start_matches('"');
        assert!(!cell.starts_with(['=', '+', '@']), "{cell}");
    }
}

#[test]
fn ocsf_and_asff_of_hostile_records_still_validate() {
    let Some(venv) = pytools::require("the OCSF schema and botocore's Security Hub model") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let long = "L".repeat(5000);
    let logs = dir.path().join("logs");
    write(
        &logs.join("evil.json"),
        &envelope(&[
            evil_record(HOSTILE),
            evil_record(MARKDOWN),
            evil_record(&format!("{long}\u{202e}")),
        ]),
    );
    let out = dir.path().join("out");
    audit(&logs, "ocsf,asff", &out, &[]);
    for (script, file) in [
        ("ocsf_check.py", "report.ocsf.json"),
        ("asff_check.py", "report.asff.json"),
    ] {
        let run = std::process::Command::new(venv.join("bin/python"))
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/tools")
                    .join(script),
            )
            .arg(out.join(file))
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&run.stdout)
        );
    }
}
