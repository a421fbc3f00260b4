//! Reports for people and CI: Markdown, SARIF, JUnit; escaping of attacker-controlled text;
//! rendering a saved JSON report.

use crate::common;
use crate::common::pytools;

use common::*;
use serde_json::Value;
use sha2::Digest as _;

/// The HTML report is polyglot markup: it parses as XML, so a test can check it is well formed.
fn parse_html(html: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(html, options)
        .unwrap_or_else(|e| panic!("the HTML report is not well formed: {e}"))
}

/// Validates against the OASIS SARIF 2.1.0 JSON schema, kept in `tests/fixtures/sarif/` (its
/// README says where it comes from).
fn assert_valid_sarif(sarif: &Value) {
    let schema_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    // The published schema's pattern for `language` (on run and toolComponent) is not a valid
    // ECMA 262 regex (`...-[a-zA-Z]{2}]?$`), so a validator that checks the schema first refuses
    // it. We never write `language`; those two patterns are dropped, nothing else is touched.
    let mut schema = schema;
    for def in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][def]["properties"]["language"];
        assert!(
            language["pattern"].is_string(),
            "the schema changed: {language}"
        );
        language.as_object_mut().unwrap().remove("pattern");
    }
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF is not valid: {errors:#?}");
}

fn evil_evidence(dir: &std::path::Path) {
    let mut r = record(
        "2024-07-31T13:10:00Z",
        "111122223333",
        "us-east-1",
        "GetObject",
    );
    r["errorCode"] = Value::String("AccessDenied".into());
    r["userAgent"] = Value::String("<script>alert(1)</script>".into());
    r["userIdentity"]["arn"] =
        Value::String("arn:aws:iam::111122223333:user/<script>alert(1)</script>{{x}}|\"q\"".into());
    r["requestParameters"] = serde_json::json!({"bucketName": "{{x}}"});
    write(&dir.join("logs/evil.json"), &envelope(&[r]));
}

#[test]
fn every_format_is_written_and_escapes_record_text() {
    let dir = tempfile::tempdir().unwrap();
    evil_evidence(dir.path());
    let out = dir.path().join("out");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        dir.path().join("logs").as_os_str(),
        "--format".as_ref(),
        "json,md,sarif,junit,text,html".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "--fail-on".as_ref(),
        "critical".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();

    let md = read("report.md");
    assert!(md.contains("TA-EVT-401"), "{md}");
    assert!(
        !md.contains("<script>") && md.contains("&lt;script&gt;"),
        "{md}"
    );
    assert!(
        !md.contains("{{x}}") && md.contains("\\{\\{x\\}\\}"),
        "{md}"
    );

    let html = read("report.html");
    assert!(html.contains("TA-EVT-401"));
    assert!(!html.contains("<script>"), "markup from the evidence");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !html.contains("{{x}}") && !html.contains("{{"),
        "template text from the evidence"
    );
    assert!(
        html.contains("&#123;&#123;x&#125;&#125;"),
        "requestParameters and ARNs appear, escaped"
    );
    assert!(html.contains("&quot;q&quot;"));
    let doc = parse_html(&html);
    let agent = doc
        .descendants()
        .filter_map(|n| n.text())
        .any(|t| t.contains("<script>alert(1)</script>"));
    assert!(agent, "the userAgent is shown as text");
    assert!(
        !doc.descendants().any(|n| n.has_tag_name("script")),
        "no script element"
    );

    let sarif: Value = serde_json::from_str(&read("report.sarif")).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_valid_sarif(&sarif);
    let report: Value = serde_json::from_str(&read("report.json")).unwrap();
    let policies = report["policies"].as_array().unwrap();
    let run0 = &sarif["runs"][0];
    assert_eq!(
        run0["tool"]["driver"]["rules"].as_array().unwrap().len(),
        policies.len()
    );
    let findings: usize = policies
        .iter()
        .filter(|p| p["status"] == "fail")
        .map(|p| p["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(run0["results"].as_array().unwrap().len(), findings);
    for result in run0["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run0["tool"]["driver"]["rules"][index]["id"],
            result["ruleId"]
        );
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
    }

    let xml = read("report.junit.xml");
    let doc = roxmltree::Document::parse(&xml)
        .unwrap_or_else(|e| panic!("JUnit is not well-formed XML: {e}\n{xml}"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), policies.len());
    // --fail-on critical: the failing high policies are no violations, so no JUnit failure;
    // their findings are in system-out.
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 0);
    let out_text: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("system-out"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        out_text.contains("<script>alert(1)</script>{{x}}"),
        "the XML carries the text, escaped: {out_text}"
    );
    assert!(!xml.contains("<script>"));

    let text = read("report.txt");
    assert!(text.contains("TA-EVT-401"));
}

#[test]
fn a_saved_report_renders_like_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fresh");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        SAMPLE_LOGS.as_ref(),
        "--config".as_ref(),
        SAMPLE_CONFIG.as_ref(),
        "--format".as_ref(),
        "json,md,sarif,junit".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let again = dir.path().join("again");
    let rendered = trailaudit([
        "report".as_ref(),
        out.join("report.json").as_os_str(),
        "--format".as_ref(),
        "json,md,sarif,junit".as_ref(),
        "-o".as_ref(),
        again.as_os_str(),
    ]);
    assert_eq!(rendered.code, 0, "{}", rendered.stderr);
    for name in [
        "report.json",
        "report.md",
        "report.sarif",
        "report.junit.xml",
    ] {
        assert_eq!(
            std::fs::read_to_string(out.join(name)).unwrap(),
            std::fs::read_to_string(again.join(name)).unwrap(),
            "{name}"
        );
    }
    let bad = trailaudit([
        "report".as_ref(),
        dir.path().join("missing.json").as_os_str(),
    ]);
    assert_eq!(bad.code, 2);
}

/// Templates see the manifest's count of input files and its unreadable ones; the list of every
/// input file only when a template names `manifest.inputs` (README, `--templates`).
#[test]
fn templates_get_the_list_of_every_input_only_when_they_name_it() {
    let dir = tempfile::tempdir().unwrap();
    // A file that cannot be read: a link to nothing, in a directory given.
    let broken = dir.path().join("more");
    std::fs::create_dir(&broken).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), broken.join("gone.json.gz")).unwrap();
    // `audit` of the samples and the broken file, in `format`, with these extra arguments.
    let audit = |format: &str, extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "audit".as_ref(),
            "--logs".as_ref(),
            SAMPLE_LOGS.as_ref(),
            "--logs".as_ref(),
            broken.as_os_str(),
            "--allow-partial".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
        ];
        args.extend_from_slice(extra);
        let run = trailaudit(args);
        assert_eq!(run.code, 1, "{}", run.stderr);
        run
    };
    let json = audit("json", &[]).json();
    let inputs = json["manifest"]["inputs"].as_array().unwrap();
    let unreadable = inputs.iter().filter(|i| i["sha256"].is_null()).count();
    let md = |template: &str| {
        let templates = dir.path().join(format!("t{}", template.len()));
        write(&templates.join("report.md.hbs"), template.as_bytes());
        audit("md", &["--templates".as_ref(), templates.as_os_str()]).stdout
    };
    let counts = "{{manifest.input_count}} {{len manifest.unreadable_inputs}}";
    assert_eq!(
        md(&format!("{counts} {{{{len manifest.inputs}}}}")),
        format!("{} {unreadable} {}", inputs.len(), inputs.len())
    );
    assert_eq!(
        md(&format!(
            "{counts} {{{{#with manifest}}}}{{{{len inputs}}}}{{{{/with}}}}"
        )),
        format!("{} {unreadable} 0", inputs.len())
    );
    assert!(unreadable > 0 && inputs.len() > unreadable);
}

#[test]
fn several_formats_need_a_directory_and_templates_can_be_replaced() {
    let run = trailaudit([
        "audit",
        "--logs",
        SAMPLE_LOGS,
        "--config",
        SAMPLE_CONFIG,
        "--format",
        "md,json",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("several formats need -o DIR"),
        "{}",
        run.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("report.md.hbs"),
        b"ACME audit: {{summary.by_status.fail}} failing\n",
    );
    let md = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        SAMPLE_LOGS.as_ref(),
        "--config".as_ref(),
        SAMPLE_CONFIG.as_ref(),
        "--format".as_ref(),
        "md".as_ref(),
        "--templates".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(md.stdout.starts_with("ACME audit: "), "{}", md.stdout);

    // One HTML partial replaced; the rest of the page is the built-in one.
    write(
        &dir.path().join("partials/html/summary.hbs"),
        b"<section id=\"summary\"><h2>ACME summary: {{summary.violations}} violations</h2></section>",
    );
    let html = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        SAMPLE_LOGS.as_ref(),
        "--config".as_ref(),
        SAMPLE_CONFIG.as_ref(),
        "--format".as_ref(),
        "html".as_ref(),
        "--templates".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(html.stdout.contains("<h2>ACME summary: 11 violations</h2>"));
    assert!(html.stdout.contains("<section id=\"controls\">"));
    let doc = parse_html(&html.stdout);
    assert!(doc
        .descendants()
        .any(|n| n.attribute("id") == Some("manifest")));

    let missing = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        SAMPLE_LOGS.as_ref(),
        "--config".as_ref(),
        SAMPLE_CONFIG.as_ref(),
        "--format".as_ref(),
        "html".as_ref(),
        "--templates".as_ref(),
        dir.path().join("nope").as_os_str(),
    ]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope"), "{}", missing.stderr);
}

/// Several formats are rendered side by side: one that fails does not keep the others from
/// being written, and the failure told is the first in the order the formats were asked.
#[test]
fn a_failing_format_leaves_the_others_written_and_the_first_failure_is_told() {
    // Templates that compile and fail as they render: a helper without its arguments.
    let templates = tempfile::tempdir().unwrap();
    write(&templates.path().join("report.md.hbs"), b"{{count}}");
    write(
        &templates.path().join("report.html.hbs"),
        b"<p>{{count}}</p>",
    );
    let out = tempfile::tempdir().unwrap();
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        SAMPLE_LOGS.as_ref(),
        "--format".as_ref(),
        "json,md,sarif,html".as_ref(),
        "--templates".as_ref(),
        templates.path().as_os_str(),
        "-o".as_ref(),
        out.path().as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("report.md.hbs"), "{}", run.stderr);
    assert!(!run.stderr.contains("report.html.hbs"), "{}", run.stderr);
    for written in ["report.json", "report.sarif"] {
        let text = std::fs::read_to_string(out.path().join(written)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v.is_object(), "{written}");
    }
}

#[test]
fn a_template_that_does_not_compile_is_told_before_any_input_is_read() {
    let templates = tempfile::tempdir().unwrap();
    write(
        &templates.path().join("partials/html/findings.hbs"),
        b"{{#each policies}}",
    );
    let out = tempfile::tempdir().unwrap();
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        SAMPLE_LOGS.as_ref(),
        "--format".as_ref(),
        "json,html".as_ref(),
        "--templates".as_ref(),
        templates.path().as_os_str(),
        "-o".as_ref(),
        out.path().as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("template partials/html/findings.hbs"),
        "{}",
        run.stderr
    );
    // Nothing was audited: not even the JSON report, which needs no template, is written.
    let written: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn the_manifest_fingerprints_every_input() {
    let run = trailaudit([
        "audit",
        "--logs",
        SAMPLE_LOGS,
        "--config",
        SAMPLE_CONFIG,
        "--format",
        "json",
    ]);
    let report = run.json();
    let manifest = &report["manifest"];
    let inputs = manifest["inputs"].as_array().unwrap();
    let logs = report["inputs"]["logs"]["files"].as_u64().unwrap();
    let config = report["inputs"]["config"]["files"].as_u64().unwrap();
    assert_eq!(inputs.len() as u64, logs + config);
    for entry in inputs.iter().step_by(97) {
        let path = entry["path"].as_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        let expected: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entry["sha256"].as_str(), Some(expected.as_str()), "{path}");
        assert_eq!(
            entry["bytes"].as_u64(),
            Some(std::fs::metadata(path).unwrap().len())
        );
    }
    assert_eq!(manifest["policies"].as_array().unwrap().len(), 60);
    let digest = manifest["policy_set_sha256"].as_str().unwrap();
    assert!(digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(manifest["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "audit"));
    // The same inputs and policies give the same fingerprints.
    let again = trailaudit([
        "audit",
        "--logs",
        SAMPLE_LOGS,
        "--config",
        SAMPLE_CONFIG,
        "--format",
        "json",
    ])
    .json();
    assert_eq!(
        again["manifest"]["policy_set_sha256"],
        manifest["policy_set_sha256"]
    );
    assert_eq!(again["manifest"]["inputs"], manifest["inputs"]);
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `sha256sum` line read back as GNU coreutils does: `\\` starts a line whose name has
/// `\\`, `\n` or `\r` escaped.
fn checksum_line(line: &str) -> (String, String) {
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hash, name) = line.split_once("  ").expect("HASH  NAME");
    let name = if escaped {
        let mut out = String::new();
        let mut chars = name.chars();
        while let Some(c) = chars.next() {
            out.push(match (c, c == '\\') {
                (_, true) => match chars.next() {
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('\\') => '\\',
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                (c, false) => c,
            });
        }
        out
    } else {
        name.to_string()
    };
    (hash.to_string(), name)
}

#[test]
fn the_checksum_file_beside_the_report_checks_every_input_and_the_report_names_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    // Evidence whose file names need GNU's escapes, beside ordinary files.
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let sample = walkdir::WalkDir::new(SAMPLE_LOGS)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .find(|p| p.extension().is_some_and(|e| e == "gz"))
        .unwrap();
    for name in [
        "plain.json.gz",
        "back\\slash.json.gz",
        "line\nbreak.json.gz",
    ] {
        std::fs::copy(&sample, logs.join(name)).unwrap();
    }
    let out = dir.path().join("out");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--config".as_ref(),
        SAMPLE_CONFIG.as_ref(),
        "--format".as_ref(),
        "json,html,md".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert!(run.code == 1, "{}", run.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let checksums = std::fs::read(out.join("manifest.sha256")).unwrap();
    let file = &report["manifest"]["file"];
    assert_eq!(file["name"], "manifest.sha256");
    assert_eq!(file["sha256"].as_str().unwrap(), sha256_hex(&checksums));
    let text = String::from_utf8(checksums).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(file["entries"].as_u64().unwrap(), lines.len() as u64);
    // One line per input file read, each the hash of the file as stored now.
    let inputs = report["manifest"]["inputs"].as_array().unwrap();
    assert_eq!(lines.len(), inputs.len());
    let mut names = Vec::new();
    for line in &lines {
        let (hash, name) = checksum_line(line);
        assert_eq!(hash, sha256_hex(&std::fs::read(&name).unwrap()), "{name}");
        names.push(name);
    }
    for name in ["back\\slash.json.gz", "line\nbreak.json.gz"] {
        let path = logs.join(name).display().to_string();
        assert!(names.contains(&path), "{path} in {names:?}");
    }
    assert!(
        lines.iter().filter(|l| l.starts_with('\\')).count() == 2,
        "{text}"
    );
    // The HTML and Markdown say where the checksums are, with the file's hash, and who wrote
    // the report: version, commit and time.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(file["sha256"].as_str().unwrap()));
    let commit = report["tool"]["commit"].as_str().unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    let generated = report["generated_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(generated).is_ok(),
        "{generated}"
    );
    for text in [
        &html,
        &std::fs::read_to_string(out.join("report.md")).unwrap(),
    ] {
        assert!(text.contains(commit) && text.contains(generated));
    }
    // A report written to one file gets the checksums beside it too.
    let single = dir.path().join("single");
    std::fs::create_dir(&single).unwrap();
    let run = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        SAMPLE_CONFIG.as_ref(),
        "--format".as_ref(),
        "html".as_ref(),
        "-o".as_ref(),
        single.join("audit.html").as_os_str(),
    ]);
    assert!(run.code == 1, "{}", run.stderr);
    assert!(single.join("manifest.sha256").is_file());
    // A report sent to a device is written there, and nothing is written beside it.
    let run = trailaudit([
        "audit",
        "--config",
        SAMPLE_CONFIG,
        "--format",
        "json",
        "-o",
        "/dev/null",
    ]);
    assert!(run.code == 1, "{}", run.stderr);
    assert!(!std::path::Path::new("/dev/manifest.sha256").exists());
}

#[test]
fn the_html_report_of_the_samples_has_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        SAMPLE_LOGS.as_ref(),
        "--config".as_ref(),
        SAMPLE_CONFIG.as_ref(),
        "--format".as_ref(),
        "html,json,md,sarif,junit".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let doc = parse_html(&html);
    let ids: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("id"))
        .collect();
    for section in [
        "summary",
        "scope",
        "posture",
        "monitoring",
        "findings",
        "controls",
        "activity",
        "waivers",
        "manifest",
    ] {
        assert!(ids.contains(&section), "no section {section}");
    }
    // Self-contained: no external fetches of any kind, no scripts.
    for tag in ["script", "link", "img", "iframe", "object"] {
        assert!(!doc.descendants().any(|n| n.has_tag_name(tag)), "<{tag}>");
    }
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(!html.contains("https://"));
    assert!(!html.contains("url("));

    // Control matrix: every CIS v3.0 section 3 and 4 control and every PCI requirement 10
    // control is listed, with "manual" where no policy covers it.
    let controls = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("controls"))
        .unwrap();
    let rows: Vec<Vec<String>> = controls
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .map(|tr| {
            tr.children()
                .filter(|c| c.has_tag_name("td"))
                .map(|td| {
                    td.descendants()
                        .filter(|t| t.is_text())
                        .filter_map(|t| t.text())
                        .collect::<String>()
                })
                .collect()
        })
        .filter(|r: &Vec<String>| !r.is_empty())
        .collect();
    assert!(rows.len() > 50, "{rows:?}");
    let status_of = |id: &str, title_has: &str| -> String {
        rows.iter()
            .find(|r| r[0] == id && r[1].contains(title_has))
            .unwrap_or_else(|| panic!("control {id} ({title_has}) missing from {:?}", &rows[..3]))
            [2]
        .clone()
    };
    for id in [
        "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9",
    ] {
        status_of(id, "");
    }
    for n in 1..=16 {
        status_of(&format!("4.{n}"), "");
    }
    // Judged from the evidence: prod's recorder stopped in eu-west-1, its batch VPC unlogged.
    assert_eq!(status_of("3.3", "AWS Config"), "fail");
    assert_eq!(status_of("3.7", "VPC flow"), "fail");
    assert_eq!(status_of("4.16", "Security Hub"), "fail");
    assert_eq!(status_of("3.2", "validation"), "fail");
    assert_eq!(status_of("10.1.1", "policies"), "manual");
    assert_eq!(status_of("10.6.1", "clocks"), "manual");
    let pci = report["summary"]["frameworks"]["pci-dss-v4.0"]
        .as_array()
        .unwrap();
    assert_eq!(pci.len(), 27);

    // Findings carry their evidence events; the posture table has a row per trail.
    let findings = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("findings"))
        .unwrap();
    let failing = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "fail")
        .count();
    assert_eq!(
        findings
            .children()
            .filter(|n| n.attribute("class") == Some("policy"))
            .count(),
        failing
    );
    let text: String = findings
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains("arn:aws:iam::210987654321:user/bob.dev"));
    assert!(text.contains("203.0.113.18"));
    let posture_rows = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("posture"))
        .unwrap()
        .descendants()
        .filter(|n| n.has_tag_name("tbody"))
        .flat_map(|b| b.children().filter(|c| c.has_tag_name("tr")))
        .count();
    assert_eq!(posture_rows, report["posture"].as_array().unwrap().len());

    // Activity: a chart per account and region, with the days without events marked.
    let charts = doc.descendants().filter(|n| n.has_tag_name("svg")).count();
    assert_eq!(charts, report["activity"].as_array().unwrap().len());
    let gap_days: u64 = report["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["gap_days"].as_u64().unwrap())
        .sum();
    assert!(gap_days > 0, "the samples have a delivery gap");
    // One mark per run of days without events, however long the run.
    let gap_runs = report["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["gaps"].as_array().map_or(0, Vec::len))
        .sum::<usize>();
    assert!(gap_runs > 0 && gap_runs as u64 <= gap_days);
    assert_eq!(html.matches(": no events</title>").count(), gap_runs);
    // The delivery gaps found in the events (the planted StopLogging and the silent day) are
    // drawn on their account and region's chart and listed under it.
    let activity = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("activity"))
        .unwrap();
    let activity_text: String = activity
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(
        activity_text.contains("logging stopped on"),
        "{activity_text}"
    );
    assert!(activity_text.contains("hour(s) without any event"));
    let gaps: usize = report["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["delivery_gaps"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(gaps, 2);

    // The manifest appendix summarises: the policy set's hash, and the checksum file beside the
    // report (every input's SHA-256) with its own hash.
    let manifest = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("manifest"))
        .unwrap();
    let manifest_text: String = manifest
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(manifest_text.contains(report["manifest"]["policy_set_sha256"].as_str().unwrap()));
    assert!(manifest_text.contains(report["manifest"]["file"]["sha256"].as_str().unwrap()));
    let checksums = std::fs::read_to_string(out.join("manifest.sha256")).unwrap();
    for input in report["manifest"]["inputs"].as_array().unwrap() {
        assert!(checksums.contains(input["sha256"].as_str().unwrap()));
    }

    // The sample run's SARIF is valid too, and every format is there.
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.sarif")).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    roxmltree::Document::parse(&std::fs::read_to_string(out.join("report.junit.xml")).unwrap())
        .expect("JUnit parses");
}

/// Text that compresses badly: a SARIF file of it is as large gzip-compressed as not.
fn incompressible(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=";
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 64) as usize] as char
        })
        .collect()
}

#[test]
fn sarif_stays_within_githubs_upload_size_whatever_the_records_hold() {
    // 12,000 principals with 1,000-character names, each refused once: 12,000 findings whose
    // SARIF results would be about 40 MB of incompressible text.
    let dir = tempfile::tempdir().unwrap();
    let findings = 12_000;
    let mut ndjson = String::new();
    for i in 0..findings {
        let mut r = record(
            "2024-07-31T13:10:00Z",
            "111122223333",
            "us-east-1",
            "DescribeInstances",
        );
        r["errorCode"] = Value::String("Client.UnauthorizedOperation".into());
        r["eventID"] = Value::String(format!("e-{i}"));
        r["userIdentity"]["arn"] = Value::String(format!(
            "arn:aws:iam::111122223333:user/{}",
            incompressible(i as u64, 1_000)
        ));
        ndjson.push_str(&r.to_string());
        ndjson.push('\n');
    }
    write(&dir.path().join("logs/denied.ndjson"), ndjson.as_bytes());
    let sarif_path = dir.path().join("report.sarif");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        dir.path().join("logs").as_os_str(),
        "--format".as_ref(),
        "sarif".as_ref(),
        "-o".as_ref(),
        sarif_path.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_eq!(
        run.code, 0,
        "medium findings, failing at high: {}",
        run.stderr
    );
    let bytes = std::fs::read(&sarif_path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &bytes).unwrap();
    let compressed = gz.finish().unwrap().len();
    assert!(
        bytes.len() > 10_000_000 && compressed <= 10_000_000,
        "{} bytes, {compressed} compressed",
        bytes.len()
    );
    let sarif: Value = serde_json::from_slice(&bytes).unwrap();
    let run0 = &sarif["runs"][0];
    let kept = run0["results"].as_array().unwrap().len();
    assert!(kept > 1_000 && kept < findings, "{kept}");
    let notes = run0["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let said = format!("{} results left out: GitHub code scanning accepts a SARIF file of at most 10 MB gzip-compressed", findings - kept);
    assert!(
        notes
            .iter()
            .any(|n| n["message"]["text"].as_str().unwrap().starts_with(&said)),
        "{notes:?}"
    );
    assert_valid_sarif(&sarif);
}

/// A failure of TA-EVT-401 (unauthorized API calls, medium) per principal: one denied call each.
fn one_violation(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let mut r = record(
                &format!("2024-07-31T13:1{i}:00Z"),
                "111122223333",
                "us-east-1",
                "DescribeInstances",
            );
            r["errorCode"] = Value::String("Client.UnauthorizedOperation".into());
            r["userIdentity"]["arn"] =
                Value::String(format!("arn:aws:iam::111122223333:user/intern{i}"));
            r
        })
        .collect();
    write(&dir.join("logs/denied.json"), &envelope(&records));
    dir.join("logs")
}

fn waiver(expires: &str) -> String {
    format!(
        r#"
[[waiver]]
id = "W-7"
policy = "TA-EVT-401"
account = "111122223333"
principal = "arn:aws:iam::111122223333:user/intern*"
reason = "Interns' read-only role is being fixed"
owner = "secops@example.com"
ticket = "SEC-1234"
expires = {expires}
"#
    )
}

#[test]
fn an_unexpired_waiver_passes_the_run_and_an_expired_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let logs = one_violation(dir.path(), 1);
    let audit = |extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "audit".as_ref(),
            "--logs".as_ref(),
            logs.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
            "--fail-on".as_ref(),
            "medium".as_ref(),
        ];
        args.extend_from_slice(extra);
        trailaudit(args)
    };
    let plain = audit(&[]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);

    let active = write(
        &dir.path().join("active.toml"),
        waiver("2999-12-31").as_bytes(),
    );
    let run = audit(&["--waivers".as_ref(), active.as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let p = policy(&report, "TA-EVT-401");
    assert_eq!(p["status"], "waived");
    assert_eq!(p["findings"][0]["waived_by"], "W-7");
    assert_eq!(report["waivers"][0]["status"], "active");
    assert_eq!(report["waivers"][0]["owner"], "secops@example.com");
    assert_eq!(report["summary"]["waived_findings"], 1);
    assert_eq!(report["summary"]["violations"], 0);

    // A policy id in any case names the policy; the report keeps the set's spelling.
    let lower = write(
        &dir.path().join("lower.toml"),
        waiver("2999-12-31")
            .replace("\"TA-EVT-401\"", "\"ta-evt-401\"")
            .as_bytes(),
    );
    let run = audit(&["--waivers".as_ref(), lower.as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["waivers"][0]["policy"], "TA-EVT-401");

    let html_dir = dir.path().join("html");
    let html_run = audit(&[
        "--waivers".as_ref(),
        active.as_os_str(),
        "--format".as_ref(),
        "html,sarif".as_ref(),
        "-o".as_ref(),
        html_dir.as_os_str(),
    ]);
    assert_eq!(html_run.code, 0, "{}", html_run.stderr);
    let html = std::fs::read_to_string(html_dir.join("report.html")).unwrap();
    let doc = parse_html(&html);
    let waivers: String = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("waivers"))
        .unwrap()
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    for text in [
        "W-7",
        "SEC-1234",
        "secops@example.com",
        "2999-12-31",
        "intern0",
    ] {
        assert!(waivers.contains(text), "{text} not in the waivers section");
    }
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(html_dir.join("report.sarif")).unwrap())
            .unwrap();
    assert_valid_sarif(&sarif);
    let suppressed = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "TA-EVT-401")
        .unwrap();
    assert_eq!(suppressed["suppressions"][0]["kind"], "external");

    let expired = write(
        &dir.path().join("expired.toml"),
        waiver("2020-01-31").as_bytes(),
    );
    let run = audit(&["--waivers".as_ref(), expired.as_os_str()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["waivers"][0]["status"], "expired");
    assert_eq!(
        report["waivers"][0]["findings"], 1,
        "what it would have waived"
    );
    assert_eq!(report["summary"]["waived_findings"], 0);

    // A waiver for someone else does not apply.
    let other = write(
        &dir.path().join("other.toml"),
        waiver("2999-12-31")
            .replace("user/intern*", "user/admin")
            .as_bytes(),
    );
    let run = audit(&["--waivers".as_ref(), other.as_os_str()]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["waivers"][0]["status"], "unused");

    // A bad waiver file is an error that names the file and the key.
    let bad = write(
        &dir.path().join("bad.toml"),
        b"[[waiver]]\npolicy = \"TA-NOPE\"\nreason = \"x\"\nowner = \"y\"\nexpires = 2030-01-01\n",
    );
    let run = audit(&["--waivers".as_ref(), bad.as_os_str()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("waiver[0].ticket"), "{}", run.stderr);
    assert!(run.stderr.contains("TA-NOPE"), "{}", run.stderr);
}

#[test]
fn a_baseline_fails_the_run_only_on_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let logs = one_violation(dir.path(), 1);
    let baseline = dir.path().join("baseline.json");
    let first = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--fail-on".as_ref(),
        "medium".as_ref(),
        "-o".as_ref(),
        baseline.as_os_str(),
    ]);
    assert_eq!(first.code, 1);
    let again = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--fail-on".as_ref(),
        "medium".as_ref(),
        "--baseline".as_ref(),
        baseline.as_os_str(),
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let report = again.json();
    assert_eq!(report["summary"]["baseline"]["unchanged"], 1);
    assert_eq!(report["summary"]["baseline"]["new"], 0);

    // A second principal is a new finding: the run fails again, and says which.
    let logs = one_violation(dir.path(), 2);
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--fail-on".as_ref(),
        "medium".as_ref(),
        "--baseline".as_ref(),
        baseline.as_os_str(),
    ]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["summary"]["baseline"]["new"], 1);
    let states: Vec<&str> = policy(&report, "TA-EVT-401")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["baseline"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["unchanged", "new"]);

    let not_a_report = write(&dir.path().join("x.json"), b"{\"a\": 1}");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--baseline".as_ref(),
        not_a_report.as_os_str(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a trailaudit JSON report"),
        "{}",
        run.stderr
    );
}

/// Runs `tests/tools/SCRIPT` of the test venv on `file`: its exit status and output.
fn py_check(
    venv: &std::path::Path,
    script: &str,
    file: &std::path::Path,
    extra: &[&str],
) -> (bool, String) {
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/tools")
                .join(script),
        )
        .arg(file)
        .args(extra)
        .output()
        .expect("run the checker");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The samples (the README's first command) audited in `formats`, written to `out`.
fn audit_samples(out: &std::path::Path, formats: &str) -> Value {
    let run = trailaudit([
        "audit".as_ref(),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .as_os_str(),
        "--format".as_ref(),
        format!("json,{formats}").as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
    ]);
    assert!(run.code < 2, "{}", run.stderr);
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A way to break an object: what it is, the change, the words the checker must answer with.
type Break<'a> = (&'a str, &'a dyn Fn(&mut Value), &'a str);

/// Each broken copy of `objects` (a description, the change) is rejected by the checker with a
/// message holding the expected words.
fn rejects_each(
    venv: &std::path::Path,
    script: &str,
    dir: &std::path::Path,
    objects: &[Value],
    breaks: &[Break],
) {
    for (i, (what, change, expected)) in breaks.iter().enumerate() {
        let mut broken = objects.to_vec();
        change(&mut broken[0]);
        let file = dir.join(format!("broken-{i}.json"));
        std::fs::write(&file, serde_json::to_vec(&broken).unwrap()).unwrap();
        let (ok, out) = py_check(venv, script, &file, &[]);
        assert!(!ok, "{script} accepted {what}:\n{out}");
        assert!(
            out.contains(expected),
            "{what}: expected {expected:?} in\n{out}"
        );
    }
}

#[test]
fn the_samples_as_ocsf_validate_against_the_ocsf_schema() {
    let Some(venv) =
        pytools::require("the OCSF schema (pydantic-ocsf) and models (py-ocsf-models)")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let report = audit_samples(&out, "ocsf");
    let file = out.join("report.ocsf.json");
    let (ok, text) = py_check(venv, "ocsf_check.py", &file, &[]);
    assert!(ok, "{text}");
    assert!(text.contains("OCSF 1.5.0 objects valid"), "{text}");

    // One object per finding, in the class of its policy's kind, and one verdict per deciding
    // policy without findings; event policies without findings have none.
    let objects = read_json(&file);
    let objects = objects.as_array().unwrap();
    let policies = report["policies"].as_array().unwrap();
    let mut expected = Vec::new();
    for p in policies {
        let findings = p["findings"].as_array().unwrap();
        let class = if p["kind"] == "event" { 2004 } else { 2003 };
        if findings.is_empty() && p["kind"] != "event" {
            expected.push((p["id"].as_str().unwrap().to_string(), 2003));
        }
        for _ in findings {
            expected.push((p["id"].as_str().unwrap().to_string(), class));
        }
    }
    let got: Vec<(String, i64)> = objects
        .iter()
        .map(|o| {
            (
                o["metadata"]["event_code"].as_str().unwrap().to_string(),
                o["class_uid"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    let findings: usize = policies
        .iter()
        .map(|p| p["findings"].as_array().unwrap().len())
        .sum();
    // Every object has its own uid.
    let uids: std::collections::BTreeSet<&str> = objects
        .iter()
        .map(|o| o["finding_info"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids.len(), objects.len());
    assert!(objects.len() > findings);

    // A verdict is Pass only for a policy that passed: no evidence is a Warning.
    for o in objects
        .iter()
        .filter(|o| o["unmapped"].get("judged_on").is_some())
    {
        let status = o["unmapped"]["policy_status"].as_str().unwrap();
        let want = match status {
            "pass" => 1,
            "no_evidence" | "incomplete" => 2,
            "fail" | "waived" => 3,
            _ => 99,
        };
        assert_eq!(o["compliance"]["status_id"], want, "{o}");
    }
    let no_evidence = objects
        .iter()
        .find(|o| o["metadata"]["event_code"] == "TA-INT-001")
        .expect("TA-INT-001's verdict");
    assert_eq!(policy(&report, "TA-INT-001")["status"], "no_evidence");
    assert_eq!(no_evidence["compliance"]["status"], "Warning");

    let remove = |path: &'static [&'static str]| {
        move |o: &mut Value| {
            let (last, parents) = path.split_last().unwrap();
            let mut v = o;
            for p in parents {
                v = &mut v[*p];
            }
            v.as_object_mut().unwrap().remove(*last);
        }
    };
    let detection = objects
        .iter()
        .find(|o| o["class_uid"] == 2004)
        .unwrap()
        .clone();
    let mut first_detection = vec![detection];
    first_detection.extend(objects.iter().cloned());
    rejects_each(
        venv,
        "ocsf_check.py",
        dir.path(),
        objects,
        &[
            (
                "no finding_info",
                &remove(&["finding_info"]),
                "required attribute 'finding_info' is missing",
            ),
            (
                "no finding uid",
                &remove(&["finding_info", "uid"]),
                "required attribute 'uid' is missing",
            ),
            (
                "no metadata.version",
                &remove(&["metadata", "version"]),
                "required attribute 'version' is missing",
            ),
            (
                "no compliance",
                &remove(&["compliance"]),
                "required attribute 'compliance' is missing",
            ),
            (
                "no cloud provider",
                &remove(&["cloud", "provider"]),
                "required attribute 'provider' is missing",
            ),
            (
                "severity 7",
                &|o: &mut Value| o["severity_id"] = 7.into(),
                "7 is not one of",
            ),
            (
                "compliance status 4",
                &|o: &mut Value| o["compliance"]["status_id"] = 4.into(),
                "4 is not one of",
            ),
            (
                "severity caption",
                &|o: &mut Value| o["severity"] = "Low".into(),
                "is not the caption",
            ),
            (
                "class 2099",
                &|o: &mut Value| o["class_uid"] = 2099.into(),
                "is not an OCSF 1.5.0 class",
            ),
            (
                "type_uid",
                &|o: &mut Value| o["type_uid"] = 200302.into(),
                "type_uid",
            ),
            (
                "time as text",
                &|o: &mut Value| o["time"] = "2024-01-01".into(),
                "is not a timestamp_t",
            ),
            (
                "unknown attribute",
                &|o: &mut Value| o["verdict"] = "x".into(),
                "'verdict' is not defined",
            ),
        ],
    );
    rejects_each(
        venv,
        "ocsf_check.py",
        dir.path(),
        &first_detection,
        &[
            (
                "compliance on a detection",
                &|o: &mut Value| o["compliance"] = serde_json::json!({"status_id": 3}),
                "'compliance' is not defined",
            ),
            (
                "evidence without api operation",
                &|o: &mut Value| {
                    o["evidences"][0]["api"]
                        .as_object_mut()
                        .unwrap()
                        .remove("operation");
                },
                "required attribute 'operation' is missing",
            ),
            (
                "observable type 77",
                &|o: &mut Value| o["observables"][0]["type_id"] = 77.into(),
                "77 is not one of",
            ),
        ],
    );
}

#[test]
fn the_samples_as_asff_pass_security_hubs_import_validation() {
    let Some(venv) = pytools::require("botocore's Security Hub model and moto") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let report = audit_samples(&out, "asff");
    let file = out.join("report.asff.json");
    let (ok, text) = py_check(venv, "asff_check.py", &file, &["--import"]);
    assert!(ok, "{text}");
    let findings = read_json(&file);
    let findings = findings.as_array().unwrap();
    let total: usize = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(findings.len(), total);
    // Event findings are activity under their controls: no compliance verdict.
    for f in findings {
        let kind = f["ProductFields"]["trailaudit/PolicyKind"]
            .as_str()
            .unwrap();
        assert_eq!(f.get("Compliance").is_some(), kind != "event", "{f}");
    }
    // Another run gives the same ids: a second import updates, not duplicates.
    let again = dir.path().join("again");
    audit_samples(&again, "asff");
    let ids = |v: &Value| -> std::collections::BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["Id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&read_json(&again.join("report.asff.json"))),
        ids(&read_json(&file))
    );
    assert_eq!(ids(&read_json(&file)).len(), findings.len());

    rejects_each(
        venv,
        "asff_check.py",
        dir.path(),
        findings,
        &[
            (
                "no Resources",
                &|f: &mut Value| {
                    f.as_object_mut().unwrap().remove("Resources");
                },
                "Missing required parameter",
            ),
            (
                "no Title",
                &|f: &mut Value| {
                    f.as_object_mut().unwrap().remove("Title");
                },
                "\"Title\"",
            ),
            (
                "a long Title",
                &|f: &mut Value| f["Title"] = "t".repeat(257).into(),
                "Title is longer than 256",
            ),
            (
                "a long Description",
                &|f: &mut Value| f["Description"] = "d".repeat(1025).into(),
                "Description is longer than 1024",
            ),
            (
                "33 resources",
                &|f: &mut Value| f["Resources"] = Value::Array(vec![f["Resources"][0].clone(); 33]),
                "1 to 32",
            ),
            (
                "a wrong ProductArn",
                &|f: &mut Value| {
                    f["ProductArn"] = "arn:aws:securityhub:us-east-1::product/x/default".into()
                },
                "ProductArn",
            ),
            (
                "an unknown severity",
                &|f: &mut Value| f["Severity"]["Label"] = "SEVERE".into(),
                "Severity.Label",
            ),
            (
                "an unknown compliance status",
                &|f: &mut Value| f["Compliance"]["Status"] = "OK".into(),
                "Compliance.Status",
            ),
            (
                "a type outside the taxonomy",
                &|f: &mut Value| f["Types"] = serde_json::json!(["Compliance/CIS"]),
                "namespace/category/classifier",
            ),
            (
                "a date that is not RFC 3339",
                &|f: &mut Value| f["UpdatedAt"] = "yesterday".into(),
                "UpdatedAt",
            ),
            (
                "a number for a string",
                &|f: &mut Value| f["AwsAccountId"] = 12.into(),
                "Invalid type",
            ),
        ],
    );
    let mut doubled = findings.to_vec();
    doubled.push(findings[0].clone());
    let file = dir.path().join("doubled.json");
    std::fs::write(&file, serde_json::to_vec(&doubled).unwrap()).unwrap();
    let (ok, text) = py_check(venv, "asff_check.py", &file, &[]);
    assert!(!ok && text.contains("is not unique"), "{text}");
}

#[test]
fn a_waived_finding_is_suppressed_in_ocsf_and_asff() {
    let dir = tempfile::tempdir().unwrap();
    let logs = one_violation(dir.path(), 2);
    let waivers = write(&dir.path().join("w.toml"), waiver("2999-12-31").as_bytes());
    let out = dir.path().join("out");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--waivers".as_ref(),
        waivers.as_os_str(),
        "--format".as_ref(),
        "ocsf,asff".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ocsf = read_json(&out.join("report.ocsf.json"));
    let waived: Vec<&Value> = ocsf
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["metadata"]["event_code"] == "TA-EVT-401")
        .collect();
    assert_eq!(waived.len(), 2);
    for o in waived {
        assert_eq!(o["class_uid"], 2004);
        assert_eq!(
            (o["status_id"].as_i64(), o["status"].as_str()),
            (Some(3), Some("Suppressed"))
        );
        assert_eq!(o["status_detail"], "waived by W-7");
    }
    let asff = read_json(&out.join("report.asff.json"));
    let f = asff
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["GeneratorId"] == "trailaudit/TA-EVT-401")
        .unwrap();
    assert_eq!(f["Workflow"]["Status"], "SUPPRESSED");
    assert!(
        f["Note"]["Text"]
            .as_str()
            .unwrap()
            .starts_with("waived by W-7: Interns'"),
        "{f}"
    );
    assert_eq!(f["AwsAccountId"], "111122223333");
    assert_eq!(
        f["ProductArn"],
        "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default"
    );
}
