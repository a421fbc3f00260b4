//! Embeds the built-in policy set (`policies/*.toml`) in the binary, and records the commit the
//! source was built from (`TRAILAUDIT_COMMIT`), which every report states.

use std::fmt::Write;
use std::path::Path;

fn main() {
    commit();
    // Read at run time: a build script compiled once may be run for a copy of the package
    // elsewhere (same target directory), and must read that copy's policies.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR set by cargo");
    let dir = Path::new(&manifest).join("policies");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    let mut out = String::from("pub const BUILTIN: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR set by cargo"))
        .join("builtin_policies.rs");
    std::fs::write(dest, out).expect("write builtin_policies.rs");
}

/// `TRAILAUDIT_COMMIT` for the build: the variable itself when set (a build from a source
/// archive, such as a container build without `.git`), else git's `HEAD`, else "unknown".
fn commit() {
    println!("cargo:rerun-if-env-changed=TRAILAUDIT_COMMIT");
    let commit = std::env::var("TRAILAUDIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=TRAILAUDIT_COMMIT={}", commit.trim());
}

fn git(args: &[&str]) -> Option<String> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(&manifest)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `HEAD`'s commit, re-read when `HEAD` or the branch it names moves (a worktree's `HEAD` is in
/// its own git directory, branches in the common one).
fn git_head() -> Option<String> {
    let commit = git(&["rev-parse", "--verify", "HEAD"])?;
    let dir = git(&["rev-parse", "--absolute-git-dir"])?;
    let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .unwrap_or_else(|| dir.clone());
    let mut watch = vec![
        Path::new(&dir).join("HEAD"),
        Path::new(&common).join("packed-refs"),
    ];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(Path::new(&common).join(branch));
    }
    // A path that does not exist would re-run the script on every build.
    for path in watch.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    Some(commit)
}
