//! The committed `samples/` bundle is exactly what the generator writes, and the README's
//! documentation of the EventFrame schema matches the code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            out.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            );
        }
    }
    out
}

#[test]
fn samples_are_reproducible_from_the_generator() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/logs");
    let dir = tempfile::tempdir().unwrap();
    let summary =
        trailaudit::synth::generate(&trailaudit::synth::Spec::samples(), dir.path()).unwrap();
    let fresh = tree(dir.path());
    let ours = tree(&committed);
    assert_eq!(fresh.len() as u64, summary.files);
    assert_eq!(
        fresh.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "samples/logs differs from the generator: run `cargo run --release --example gen-corpus -- samples samples`"
    );
    for (path, bytes) in &fresh {
        assert!(
            ours[path] == *bytes,
            "{} differs from the generator",
            path.display()
        );
    }
    // The story told in samples/README.md.
    assert_eq!(summary.planted["root_console_login"], 1);
    assert_eq!(summary.planted["stop_logging"], 1);
    assert_eq!(summary.planted["start_logging"], 1);
    assert_eq!(summary.planted["access_denied_burst"], 120);
    assert_eq!(summary.planted["iam_policy_change"], 2);
    assert_eq!(summary.planted["console_login_without_mfa"], 1);
}

#[test]
fn sample_config_is_reproducible_from_the_generator() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/config");
    let dir = tempfile::tempdir().unwrap();
    let n = trailaudit::synth::config::write(
        &trailaudit::synth::config::ConfigSpec::samples(),
        dir.path(),
    )
    .unwrap();
    let fresh = tree(dir.path());
    assert_eq!(fresh.len() as u64, n);
    assert!(fresh == tree(&committed), "samples/config differs from the generator: run `cargo run --release --example gen-corpus -- samples samples`");
}

#[test]
fn readme_documents_the_eventframe_schema() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = trailaudit::events::schema::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's EventFrame table is out of date; it must contain:\n{table}"
    );
}

#[test]
fn readme_ships_the_exact_collection_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let script = std::fs::read_to_string(root.join("scripts/collect-config.sh")).unwrap();
    assert!(
        readme.contains(&script),
        "README.md must contain scripts/collect-config.sh verbatim"
    );
}
