//! The GitHub Action (`action.yml`, `action/*.sh`) and the README's example workflow.
//!
//! - actionlint on the README's workflow, as written and with its `uses:` pointed at a copy of
//!   the action (`uses: ./`), so that actionlint checks the inputs it passes against action.yml;
//! - actionlint on the action's own steps, turned into a reusable workflow with the same inputs
//!   (actionlint checks workflows, not action metadata): expressions, contexts, the inputs of the
//!   actions it uses, and, through shellcheck, its `run:` scripts;
//! - shellcheck on the action's scripts;
//! - the audit script run for real on the sample configuration: reports, job summary, outputs.
//!
//! Each lint is shown to fail on a broken copy. The tools come from the tests' venv
//! (tests/requirements.txt).

use crate::common::pytools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The comment that precedes the example workflow's ```yaml block in the README.
const MARKER: &str = "<!-- example-workflow:";
/// How the README names the action (this repository at a ref).
const README_USES: &str = "uses: OWNER/trailaudit@REF";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn readme_workflow() -> String {
    let readme = read("README.md");
    let at = readme
        .find(MARKER)
        .expect("the example-workflow marker in README.md");
    let rest = &readme[at..];
    let start = rest
        .find("```yaml\n")
        .expect("a ```yaml block after the marker")
        + 8;
    let len = rest[start..].find("\n```").expect("the block's end") + 1;
    rest[start..start + len].to_owned()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// actionlint (shellcheck on its PATH) on `files`, in `dir`.
fn actionlint(venv: &Path, dir: &Path, files: &[&str]) -> Output {
    let bin = venv.join("bin");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    Command::new(bin.join("actionlint"))
        .args(["-no-color", "-shellcheck", "shellcheck"])
        .args(files)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("run actionlint")
}

/// A repository with the action at its root (action.yml and its scripts) and `workflow` as
/// `.github/workflows/audit.yml`.
fn repo_with(action: &str, workflow: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    // actionlint finds `uses: ./` relative to the repository root, which `.git` marks; without
    // it the local action is silently not checked.
    std::fs::create_dir(tmp.path().join(".git")).expect("mkdir .git");
    let wf = tmp.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).expect("mkdir");
    std::fs::write(wf.join("audit.yml"), workflow).expect("write workflow");
    std::fs::write(tmp.path().join("action.yml"), action).expect("write action");
    let scripts = tmp.path().join("action");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    for entry in std::fs::read_dir(root().join("action")).expect("read action/") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, scripts.join(path.file_name().expect("name"))).expect("copy");
    }
    tmp
}

#[test]
fn readme_workflow_passes_actionlint_against_the_action() {
    let Some(venv) = pytools::require("actionlint (GitHub workflow lint)") else {
        return;
    };
    let workflow = readme_workflow();
    // What the example is for: the action's SARIF to code scanning, with the permission.
    for needed in [
        README_USES,
        "github/codeql-action/upload-sarif@",
        "sarif_file: ${{ steps.audit.outputs.sarif }}",
        "security-events: write",
        "fail-on:",
    ] {
        assert!(
            workflow.contains(needed),
            "the README's workflow lacks {needed:?}"
        );
    }
    let action = read("action.yml");

    // As written (the action is remote: actionlint checks the workflow itself) ...
    let repo = repo_with(&action, &workflow);
    let out = actionlint(venv, repo.path(), &[".github/workflows/audit.yml"]);
    assert!(
        out.status.success(),
        "actionlint, README workflow:\n{}",
        text(&out)
    );

    // ... and against this action: every input it passes must be one action.yml declares.
    let local = workflow.replace(README_USES, "uses: ./");
    let repo = repo_with(&action, &local);
    let out = actionlint(venv, repo.path(), &[".github/workflows/audit.yml"]);
    assert!(
        out.status.success(),
        "actionlint, README workflow with uses: ./:\n{}",
        text(&out)
    );

    // The check can fail: an input the action does not declare.
    let broken = local.replace("fail-on: high", "fail-on: high\n          failon: critical");
    assert_ne!(broken, local);
    let repo = repo_with(&action, &broken);
    let out = actionlint(venv, repo.path(), &[".github/workflows/audit.yml"]);
    assert!(
        !out.status.success() && text(&out).contains("input \"failon\" is not defined"),
        "actionlint accepted an undeclared input:\n{}",
        text(&out)
    );
}

/// action.yml as a reusable workflow: its inputs as `workflow_call` inputs, its outputs as the
/// job's, its steps as the job's steps (made by the venv's Python, with PyYAML).
fn action_as_workflow(venv: &Path, action: &Path, workflow: &Path) {
    const SCRIPT: &str = r#"
import sys, yaml
action = yaml.safe_load(open(sys.argv[1]))
assert action["runs"]["using"] == "composite", action["runs"]
inputs = {
    name: {"description": spec["description"], "type": "string", "required": False,
           "default": spec.get("default", "")}
    for name, spec in action["inputs"].items()
}
workflow = {
    "name": action["name"],
    "on": {"workflow_call": {"inputs": inputs}},
    "permissions": {"contents": "read"},
    "jobs": {"action": {
        "runs-on": "ubuntu-latest",
        "outputs": {name: spec["value"] for name, spec in action["outputs"].items()},
        "steps": action["runs"]["steps"],
    }},
}
yaml.safe_dump(workflow, open(sys.argv[2], "w"), sort_keys=False, width=1000)
"#;
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", SCRIPT])
        .arg(action)
        .arg(workflow)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "action.yml as a workflow:\n{}",
        text(&out)
    );
}

#[test]
fn action_steps_pass_actionlint_and_shellcheck() {
    let Some(venv) = pytools::require("actionlint (GitHub workflow lint)") else {
        return;
    };
    let action = read("action.yml");
    let check = |action: &str| {
        let repo = repo_with(action, "");
        let wf = repo.path().join(".github/workflows/audit.yml");
        action_as_workflow(venv, &repo.path().join("action.yml"), &wf);
        actionlint(venv, repo.path(), &[".github/workflows/audit.yml"])
    };
    let out = check(&action);
    assert!(
        out.status.success(),
        "actionlint, action.yml's steps:\n{}",
        text(&out)
    );

    // The check can fail: an input that does not exist, and a script shellcheck rejects.
    let broken = action.replace("${{ inputs.fail-on }}", "${{ inputs.failon }}");
    assert_ne!(broken, action);
    let out = check(&broken);
    assert!(
        !out.status.success() && text(&out).contains("failon"),
        "actionlint accepted an undefined input:\n{}",
        text(&out)
    );
    let broken = action.replace("exit \"$CODE\"", "exit $CODE");
    assert_ne!(broken, action);
    let out = check(&broken);
    assert!(
        !out.status.success() && text(&out).contains("SC2086"),
        "shellcheck (through actionlint) accepted an unquoted expansion:\n{}",
        text(&out)
    );

    // The scripts the steps run.
    let scripts: Vec<PathBuf> = std::fs::read_dir(root().join("action"))
        .expect("read action/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    assert!(scripts.len() >= 3, "{scripts:?}");
    let shellcheck = |paths: &[PathBuf]| {
        Command::new(venv.join("bin/shellcheck"))
            .arg("--color=never")
            .args(paths)
            .output()
            .expect("run shellcheck")
    };
    let out = shellcheck(&scripts);
    assert!(
        out.status.success(),
        "shellcheck action/*.sh:\n{}",
        text(&out)
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("audit.sh");
    std::fs::write(
        &bad,
        read("action/audit.sh").replace("\"$bin\" \"${args[@]}\"", "$bin ${args[@]}"),
    )
    .expect("write");
    let out = shellcheck(&[bad]);
    assert!(
        !out.status.success(),
        "shellcheck accepted unquoted arguments:\n{}",
        text(&out)
    );
}

/// action/audit.sh as the action runs it: INPUT_* from the inputs, the step's files.
fn run_audit_script(tmp: &Path, inputs: &[(&str, &str)]) -> (Output, String, String, PathBuf) {
    let summary = tmp.join("summary.md");
    let outputs = tmp.join("outputs");
    std::fs::write(&summary, "").expect("write");
    std::fs::write(&outputs, "").expect("write");
    let out_dir = tmp.join("report");
    let out = Command::new("bash")
        .arg(root().join("action/audit.sh"))
        .current_dir(root())
        .env("TRAILAUDIT_BIN", env!("CARGO_BIN_EXE_trailaudit"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("INPUT_OUTPUT_DIR", &out_dir)
        .env("INPUT_JOB_SUMMARY", "true")
        .env("NO_COLOR", "1")
        .envs(inputs.iter().copied())
        .output()
        .expect("run action/audit.sh");
    let summary = std::fs::read_to_string(&summary).expect("read summary");
    let outputs = std::fs::read_to_string(&outputs).expect("read outputs");
    (out, summary, outputs, out_dir)
}

#[test]
fn action_audit_script_writes_reports_summary_and_outputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (out, summary, outputs, dir) = run_audit_script(
        tmp.path(),
        &[
            ("INPUT_CONFIG", "samples/config"),
            ("INPUT_FAIL_ON", "high"),
            ("INPUT_FORMATS", "json, junit"),
        ],
    );
    // The step succeeds once its outputs are written; the action's last step fails the job.
    assert!(out.status.success(), "audit.sh:\n{}", text(&out));
    let line = |key: &str| {
        outputs
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
    };
    // The sample configuration has high-severity failures (a trail that is not logging).
    assert_eq!(line("exit-code").as_deref(), Some("1"), "{outputs}");
    assert_eq!(line("report-dir"), Some(dir.display().to_string()));
    for (key, file) in [
        ("sarif", "report.sarif"),
        ("markdown", "report.md"),
        ("json", "report.json"),
    ] {
        assert_eq!(
            line(key),
            Some(dir.join(file).display().to_string()),
            "{key}"
        );
        assert!(dir.join(file).is_file(), "{file} not written");
    }
    assert!(dir.join("report.junit.xml").is_file());
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.sarif")).expect("read"))
            .expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    // The job summary is the Markdown report.
    let md = std::fs::read_to_string(dir.join("report.md")).expect("read");
    assert!(summary.starts_with("## trailaudit"), "{summary}");
    assert_eq!(summary, md);

    // Report-only: the same reports, exit code 0.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (out, _, outputs, _) = run_audit_script(
        tmp.path(),
        &[
            ("INPUT_CONFIG", "samples/config"),
            ("INPUT_FAIL_ON", "never"),
        ],
    );
    assert!(out.status.success(), "audit.sh:\n{}", text(&out));
    assert!(outputs.contains("exit-code=0\n"), "{outputs}");

    // A usage error: exit code 2, no report, and the summary says so.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (out, summary, outputs, _) =
        run_audit_script(tmp.path(), &[("INPUT_PATHS", "does-not-exist/")]);
    assert!(out.status.success(), "audit.sh:\n{}", text(&out));
    assert!(outputs.contains("exit-code=2\n"), "{outputs}");
    assert!(!outputs.contains("sarif="), "{outputs}");
    assert!(summary.contains("exited 2 without a report"), "{summary}");
}
