//! The Python tools the tests run (moto, and whatever `tests/requirements.txt` pins), from one
//! venv, `<target>/test-venv`, made by `scripts/test-venv` (which `.ci/run` calls before the
//! tests) and reused across runs.
//!
//! A test that needs a tool asks [`require`]: without the venv it says loudly that it did not
//! run and returns `None`, or fails when `TRAILAUDIT_REQUIRE_TOOLS=1` (CI), so a missing tool is
//! never a silent pass there.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `<target>/test-venv`: next to the binary under test, so a custom CARGO_TARGET_DIR is honoured.
pub fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TRAILAUDIT_TEST_VENV") {
        return PathBuf::from(dir);
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_trailaudit"));
    exe.ancestors()
        .nth(2)
        .map(|target| target.join("test-venv"))
        .unwrap_or_else(|| PathBuf::from("target/test-venv"))
}

/// The venv, made or brought up to date if needed; the reason when it cannot be.
pub fn venv() -> Result<&'static Path, &'static str> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = venv_dir();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-venv");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&venv)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if out.status.success() {
            Ok(venv)
        } else {
            Err(format!(
                "{} {} failed ({}): {}",
                script.display(),
                venv.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ))
        }
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(String::as_str)
}

/// The venv for a test that needs `what` (named in the message), or `None` after saying loudly
/// that the test did not run; with `TRAILAUDIT_REQUIRE_TOOLS=1` a missing venv fails instead.
pub fn require(what: &str) -> Option<&'static Path> {
    match venv() {
        Ok(v) => Some(v),
        Err(reason) => {
            if std::env::var_os("TRAILAUDIT_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
                panic!("{what} is required (TRAILAUDIT_REQUIRE_TOOLS=1) but: {reason}");
            }
            // Straight to stderr: libtest captures eprintln! of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "\n{}\nSKIPPED: {what} could not be installed, so this test did NOT run.\n\
                 Reason: {reason}\n{}",
                "!".repeat(78),
                "!".repeat(78)
            );
            None
        }
    }
}
