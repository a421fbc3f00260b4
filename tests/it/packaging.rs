//! The crate as published and the image built from it: `cargo package` ships everything the
//! binary embeds (the policies build.rs reads, the templates `include_str!` reads) and none of the
//! tests' data, within crates.io's size limit; the Docker build context is that same file set,
//! and the Dockerfile is built with the crate's rust-version and passes hadolint.
//!
//! `cargo package` runs `--offline` (it needs only the registry cache that building the tests
//! filled) and `--no-verify` (verifying would build the whole dependency tree again), into a
//! temporary target directory, so it neither needs the network nor touches the build's.

use crate::common::pytools;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};

/// crates.io's limit on a `.crate` file (compressed).
const CRATES_IO_LIMIT: u64 = 10 * 1024 * 1024;

/// Trees that are the tests', the benchmarks' or the generator's, never the program's.
const NOT_SHIPPED: &[&str] = &[
    "tests/",
    "samples/",
    "bench/",
    "examples/",
    "scripts/",
    "proptest-regressions/",
    "action/",
    ".ci/",
    "target/",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cargo(args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(root())
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `cargo package --list`: the files the package holds, relative to the crate root.
fn package_list(target: &Path) -> BTreeSet<String> {
    let target = target.to_str().expect("UTF-8 temp path");
    let out = cargo(&[
        "package",
        "--list",
        "--offline",
        "--allow-dirty",
        "--target-dir",
        target,
    ]);
    String::from_utf8(out.stdout)
        .expect("UTF-8 list")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `a/b/../c` -> `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn rs_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rs_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// Every file the program embeds, relative to the crate root: the string-literal arguments of
/// `include_str!` and `include_bytes!` in src/ (resolved against the file that names them), and
/// the policies build.rs embeds (every `policies/*.toml`).
fn embedded_files() -> BTreeSet<String> {
    let mut sources = Vec::new();
    rs_files(&root().join("src"), &mut sources);
    let mut embedded = BTreeSet::new();
    for file in &sources {
        let text = std::fs::read_to_string(file).expect("read source");
        for mac in ["include_str!(", "include_bytes!("] {
            for (at, _) in text.match_indices(mac) {
                let rest = text[at + mac.len()..].trim_start();
                // include!(concat!(env!("OUT_DIR"), ...)) and the like are generated, not shipped.
                let Some(lit) = rest.strip_prefix('"') else {
                    continue;
                };
                let lit = &lit[..lit.find('"').expect("closing quote")];
                let path = normalize(&file.parent().expect("parent").join(lit));
                let rel = path.strip_prefix(root()).expect("embed inside the crate");
                embedded.insert(rel.to_str().expect("UTF-8").to_owned());
            }
        }
    }
    for entry in std::fs::read_dir(root().join("policies")).expect("read policies") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let rel = path.strip_prefix(root()).expect("in the crate");
            embedded.insert(rel.to_str().expect("UTF-8").to_owned());
        }
    }
    embedded
}

#[test]
fn package_ships_every_embedded_file_and_no_test_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let list = package_list(tmp.path());

    let embedded = embedded_files();
    // The scan itself works: the templates and the policies are there to find.
    assert!(
        embedded.contains("report-templates/report.html.hbs")
            && embedded.contains("report-templates/partials/md/summary.hbs")
            && embedded
                .iter()
                .filter(|f| f.starts_with("policies/"))
                .count()
                >= 50,
        "the embed scan found too little: {embedded:?}"
    );
    let missing: Vec<_> = embedded.difference(&list).collect();
    assert!(
        missing.is_empty(),
        "embedded but not in the package (Cargo.toml's include): {missing:?}"
    );

    // Every source file and what builds, documents and licenses the program.
    let mut sources = Vec::new();
    rs_files(&root().join("src"), &mut sources);
    for file in &sources {
        let rel = file.strip_prefix(root()).expect("in the crate");
        assert!(
            list.contains(rel.to_str().expect("UTF-8")),
            "{} is not in the package",
            rel.display()
        );
    }
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "README.md",
        "LICENSE",
        "policies/README.md",
    ] {
        assert!(
            list.contains(file),
            "{file} is not in the package: {list:?}"
        );
    }

    let test_data: Vec<_> = list
        .iter()
        .filter(|f| NOT_SHIPPED.iter().any(|p| f.starts_with(p)))
        .collect();
    assert!(
        test_data.is_empty(),
        "the package holds test, sample or tool files: {test_data:?}"
    );
    // Nothing else slipped in: the package is the program, its manifest and its documents.
    let stray: Vec<_> = list
        .iter()
        .filter(|f| {
            !(f.starts_with("src/")
                || f.starts_with("policies/")
                || f.starts_with("report-templates/")
                || [
                    "Cargo.toml",
                    "Cargo.toml.orig",
                    "Cargo.lock",
                    "build.rs",
                    "README.md",
                    "LICENSE",
                    ".cargo_vcs_info.json",
                ]
                .contains(&f.as_str()))
        })
        .collect();
    assert!(
        stray.is_empty(),
        "unexpected files in the package: {stray:?}"
    );
}

#[test]
fn package_is_within_the_crates_io_size_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().to_str().expect("UTF-8 temp path");
    cargo(&[
        "package",
        "--no-verify",
        "--offline",
        "--allow-dirty",
        "--target-dir",
        target,
    ]);
    let name = format!(
        "{}-{}.crate",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    );
    let krate = tmp.path().join("package").join(name);
    let size = std::fs::metadata(&krate)
        .unwrap_or_else(|e| panic!("{}: {e}", krate.display()))
        .len();
    eprintln!("{}: {size} bytes", krate.display());
    assert!(
        size < CRATES_IO_LIMIT,
        "the package is {size} bytes, over crates.io's {CRATES_IO_LIMIT}"
    );
    // The package holds what --list says: the sample evidence alone would be 11 MB.
    assert!(
        size > 100_000,
        "{size} bytes is too small to hold the sources"
    );
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn dockerfile_builds_the_package_with_the_crates_rust_version() {
    let manifest = read("Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("rust-version in Cargo.toml");
    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile.contains(&format!("ARG RUST_VERSION={rust_version}\n")),
        "the Dockerfile's RUST_VERSION is not Cargo.toml's rust-version {rust_version}"
    );
    assert!(dockerfile.contains("FROM rust:${RUST_VERSION}-"));
    assert!(dockerfile.contains("cargo build --profile dist --locked"));
    assert!(manifest.contains("[profile.dist]\n"));
    assert!(dockerfile.contains("ENTRYPOINT [\"trailaudit\"]"));
    // Not root at run time.
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );

    // The build context: everything excluded, then exactly the package's files let through.
    let ignore = read(".dockerignore");
    let rules: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules.first(), Some(&"*"), "the context is an allow-list");
    let allowed: BTreeSet<&str> = rules[1..]
        .iter()
        .map(|r| {
            r.strip_prefix('!')
                .unwrap_or_else(|| panic!("{r}: not an exception"))
                .trim_end_matches('/')
        })
        .collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let packaged: BTreeSet<String> = package_list(tmp.path())
        .into_iter()
        .filter(|f| f != "Cargo.toml.orig" && f != ".cargo_vcs_info.json")
        .map(|f| f.split('/').next().expect("a component").to_owned())
        .collect();
    let packaged: BTreeSet<&str> = packaged.iter().map(String::as_str).collect();
    assert_eq!(
        allowed, packaged,
        ".dockerignore lets through other files than the package holds"
    );
}

#[test]
fn dockerfile_passes_hadolint() {
    let Some(venv) = pytools::require("hadolint (Dockerfile lint)") else {
        return;
    };
    let hadolint = venv.join("bin/hadolint");
    let run = |path: &Path| {
        Command::new(&hadolint)
            .arg("--no-color")
            .arg(path)
            .output()
            .expect("run hadolint")
    };
    let out = run(&root().join("Dockerfile"));
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The lint can fail: an unpinned base image and a root user are findings.
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("Dockerfile");
    std::fs::write(
        &bad,
        read("Dockerfile").replace("FROM debian:${DEBIAN_RELEASE}-slim", "FROM debian:latest"),
    )
    .expect("write");
    let out = run(&bad);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && text.contains("DL3007"),
        "hadolint accepted an image at :latest: {text}"
    );
}
