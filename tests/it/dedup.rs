//! Each event once: a log file reachable twice, or its records re-packed into another file,
//! counts every event once (issue 16, point 4).

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The samples' log files, copied into `dir/logs`.
fn copy_logs(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(samples().join("logs")).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(samples()).unwrap();
            files.push(write(&dir.join(rel), &std::fs::read(entry.path()).unwrap()));
        }
    }
    files
}

fn records_of(gz: &Path) -> Vec<Value> {
    let text = gunzip(&std::fs::read(gz).unwrap());
    let v: Value = serde_json::from_str(&text).unwrap();
    v["Records"].as_array().unwrap().clone()
}

fn gunzip(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn inventory(paths: &[&Path], extra: &[&str]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec!["inventory".into()];
    args.extend(paths.iter().map(|p| p.as_os_str().to_owned()));
    args.extend(["--format", "json"].map(Into::into));
    args.extend(extra.iter().map(Into::into));
    trailaudit(args)
}

fn audit(logs: &Path) -> Value {
    let config = samples().join("config");
    let run = trailaudit([
        "audit".as_ref(),
        "--logs".as_ref(),
        logs.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.json()
}

/// Every count of an inventory, less its accounting of files.
fn counts(inv: &Value) -> Value {
    serde_json::json!({
        "events": inv["events"],
        "rejected": inv["rejected_records"],
        "days": inv["events_by_account_region_day"],
        "gaps": inv["gaps"],
        "first": inv["first_event"],
        "last": inv["last_event"],
    })
}

#[test]
fn a_copy_of_a_log_file_is_skipped_as_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let files = copy_logs(dir.path());
    let alone = inventory(&[&dir.path().join("logs")], &[]);
    assert_eq!(alone.code, 0, "{}", alone.stderr);
    // A backup copy under another name, after the original in input order.
    let original = &files[3];
    let copy = write(
        &dir.path().join("logs/zz-backup/copy.json.gz"),
        &std::fs::read(original).unwrap(),
    );
    let twice = inventory(&[&dir.path().join("logs")], &[]);
    assert_eq!(twice.code, 0, "duplicates are not partial evidence");
    let (a, b) = (alone.json(), twice.json());
    assert_eq!(counts(&a), counts(&b));
    assert_eq!(b["files"], a["files"].as_u64().unwrap() + 1);
    assert_eq!(b["loaded_files"], a["loaded_files"]);
    assert_eq!(b["duplicate_records"], 0);
    let skipped = b["skipped_files"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["path"], copy.display().to_string());
    assert_eq!(
        skipped[0]["reason"],
        format!("duplicate of {}", original.display())
    );
}

#[test]
fn repacked_records_are_counted_once_and_verdicts_do_not_change() {
    let dir = tempfile::tempdir().unwrap();
    let files = copy_logs(dir.path());
    let logs = dir.path().join("logs");
    let alone = audit(&logs);
    // The same records in another shape (NDJSON, different bytes): an export beside the trail's
    // files.
    let mut ndjson = String::new();
    let mut repacked = 0;
    for f in files.iter().step_by(3) {
        for r in records_of(f) {
            ndjson += &serde_json::to_string(&r).unwrap();
            ndjson.push('\n');
            repacked += 1;
        }
    }
    let export = write(&logs.join("export/events.ndjson"), ndjson.as_bytes());
    let both = audit(&logs);
    let (a, b) = (&alone["inputs"]["logs"], &both["inputs"]["logs"]);
    assert_eq!(a["events"], b["events"]);
    assert_eq!(a["events_in_scope"], b["events_in_scope"]);
    assert_eq!(b["duplicate_records"], repacked);
    assert_eq!(b["duplicates"][0]["path"], export.display().to_string());
    assert_eq!(b["duplicates"][0]["records"], repacked);
    assert_eq!(both["activity"], alone["activity"]);
    let verdicts = |r: &Value| -> Vec<(Value, Value, usize)> {
        r["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let n = p["findings"].as_array().map_or(0, Vec::len);
                (p["id"].clone(), p["status"].clone(), n)
            })
            .collect()
    };
    assert_eq!(verdicts(&alone), verdicts(&both));
    let evt509 = |r: &Value| policy(r, "TA-EVT-509")["status"].clone();
    assert_eq!(evt509(&alone), evt509(&both));
}

#[test]
fn records_without_event_id_are_never_merged() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = record("2024-01-01T00:00:00Z", "111122223333", "us-east-1", "A");
    r.as_object_mut().unwrap().remove("eventID");
    let line = serde_json::to_string(&r).unwrap();
    let with_id = record("2024-01-01T00:00:00Z", "111122223333", "us-east-1", "B");
    let with_id = serde_json::to_string(&with_id).unwrap();
    let text = [line.as_str(), &line, &with_id, &with_id].join("\n");
    let path = write(&dir.path().join("events.ndjson"), text.as_bytes());
    let run = inventory(&[&path], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inv = run.json();
    assert_eq!(
        inv["events"], 3,
        "both records without an id, one of the two with"
    );
    assert_eq!(inv["duplicate_records"], 1);
}

/// Runs the binary with `threads` loading threads.
fn with_threads(threads: &str, args: &[&std::ffi::OsStr]) -> Run {
    trailaudit_with(args, &[("RAYON_NUM_THREADS", threads)])
}

/// An export of the first 40 log files' records, first in input order, so that the loading
/// threads read it while they read the log files holding the same events; and a copy of a log
/// file (skipped whole).
fn overlapping_inputs(dir: &Path) -> (PathBuf, PathBuf, Vec<PathBuf>) {
    let files = copy_logs(dir);
    let logs = dir.join("logs");
    let mut ndjson = String::new();
    for f in files.iter().take(40) {
        for r in records_of(f) {
            ndjson += &serde_json::to_string(&r).unwrap();
            ndjson.push('\n');
        }
    }
    let export = write(&logs.join("0-export/events.ndjson"), ndjson.as_bytes());
    write(
        &logs.join("zz/copy.json.gz"),
        &std::fs::read(&files[0]).unwrap(),
    );
    (logs, export, files)
}

/// Also whatever memory the event keys may take: with a budget of a few keys, the parts of the
/// history the export holds are written out and read back when the log files come to them.
#[test]
fn the_copy_that_loads_is_the_first_in_input_order_whatever_the_chunks_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, export, files) = overlapping_inputs(dir.path());
    let mut runs = Vec::new();
    let all = usize::MAX.to_string();
    for (rows, threads, keys) in [
        ("3", "2", "64"),
        ("7", "4", all.as_str()),
        ("4096", "2", "1024"),
        ("1000000", "1", "0"),
        ("65536", "3", all.as_str()),
        ("5", "8", "200"),
    ] {
        let args: Vec<&std::ffi::OsStr> = vec![
            "inventory".as_ref(),
            logs.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
            "--chunk-rows".as_ref(),
            rows.as_ref(),
            "--keys-in-memory".as_ref(),
            keys.as_ref(),
        ];
        let run = with_threads(threads, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        runs.push(run.json());
    }
    // Every copy is the log files': the export, first in input order, loads whole.
    let duplicates = runs[0]["duplicates"].as_array().unwrap();
    let mut expected: Vec<(String, u64)> = files
        .iter()
        .take(40)
        .map(|f| (f.display().to_string(), records_of(f).len() as u64))
        .filter(|(_, n)| *n > 0)
        .collect();
    expected.sort();
    let mut got: Vec<(String, u64)> = duplicates
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_owned(),
                d["records"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected);
    assert!(!got.iter().any(|(p, _)| *p == export.display().to_string()));
    for r in &runs[1..] {
        assert_eq!(r, &runs[0], "the same inventory, per-file split included");
    }
}

#[test]
fn the_evidence_names_the_same_copy_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, export, _) = overlapping_inputs(dir.path());
    let config = samples().join("config");
    let reports: Vec<Value> = [("50", "2"), ("333", "4"), ("1000000", "1")]
        .iter()
        .map(|(rows, threads)| {
            let args: Vec<&std::ffi::OsStr> = vec![
                "audit".as_ref(),
                "--logs".as_ref(),
                logs.as_os_str(),
                "--config".as_ref(),
                config.as_os_str(),
                "--format".as_ref(),
                "json".as_ref(),
                "--chunk-rows".as_ref(),
                rows.as_ref(),
            ];
            let run = with_threads(threads, &args);
            assert_eq!(run.code, 1, "{}", run.stderr);
            let mut v = run.json();
            // What differs by design: when, and the options given.
            v.as_object_mut().unwrap().remove("generated_at");
            v["manifest"]
                .as_object_mut()
                .unwrap()
                .remove("command_line");
            v
        })
        .collect();
    let text = reports[0].to_string();
    assert!(
        text.contains(&serde_json::to_string(&export.display().to_string()).unwrap()),
        "some evidence comes from the export"
    );
    for r in &reports[1..] {
        if let Some(at) = first_difference(r, &reports[0], String::new()) {
            panic!("the reports differ at {at}");
        }
    }
}

/// The path of the first value where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (u, v) = (x.get(k), y.get(k));
                match (u, v) {
                    (Some(u), Some(v)) => first_difference(u, v, format!("{at}.{k}")),
                    _ => Some(format!("{at}.{k} (only on one side)")),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} vs {b}")),
    }
}

/// Some of the samples' log files, as archive members (name from `AWSLogs/` on, bytes).
fn sample_members(n: usize) -> Vec<(String, Vec<u8>)> {
    let logs = samples().join("logs");
    walkdir::WalkDir::new(&logs)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .take(n)
        .map(|e| {
            let name = e.path().strip_prefix(&logs).unwrap().to_str().unwrap();
            (name.to_string(), std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// (path, reason) of every skipped file, members named `ARCHIVE!name` whether tar wrote the name
/// under `./` or not.
fn skipped(inv: &Value) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = inv["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().replace("!./", "!");
            (s("path"), s("reason"))
        })
        .collect();
    s.sort();
    s
}

#[test]
fn a_member_twice_in_an_archive_is_skipped_as_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let members = sample_members(12);
    let tree = dir.path().join("tree");
    for (name, bytes) in &members {
        write(&tree.join(name), bytes);
    }
    let alone = inventory(&[&tree], &[]);
    assert_eq!(alone.code, 0, "{}", alone.stderr);
    let alone = alone.json();
    // The fifth log file again under another name, after the others.
    let mut twice = members.clone();
    twice.push(("backup/copy.json.gz".into(), members[4].1.clone()));
    for (sub, bytes) in [("zip", zip_of(&twice, &[])), ("tgz", gzip(&tar_of(&twice)))] {
        let archive = write(&dir.path().join(sub).join("e.bin"), &bytes);
        let run = inventory(&[&archive], &[]);
        assert_eq!(
            run.code, 0,
            "duplicates are not partial evidence: {}",
            run.stderr
        );
        let inv = run.json();
        assert_eq!(counts(&inv), counts(&alone), "{sub}");
        assert_eq!(inv["duplicate_records"], 0, "{sub}: the copy is not read");
        assert_eq!(inv["loaded_files"], alone["loaded_files"], "{sub}");
        let member = |name: &str| format!("{}!{name}", archive.display());
        // tar writes some names under `./` (the long ones) and some not.
        let copies: Vec<(String, String)> = skipped(&inv)
            .into_iter()
            .filter(|(_, r)| r.starts_with("duplicate of"))
            .map(|(p, r)| (p.replace("!./", "!"), r.replace("!./", "!")))
            .collect();
        assert_eq!(
            copies,
            [(
                member("backup/copy.json.gz"),
                format!("duplicate of {}", member(&members[4].0))
            )],
            "{sub}"
        );
    }
}

#[test]
fn an_archive_beside_its_unpacked_tree_loads_once_the_first_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let members = sample_members(12);
    let tree = dir.path().join("tree");
    for (name, bytes) in &members {
        write(&tree.join(name), bytes);
    }
    let alone = inventory(&[&tree], &[]).json();
    let archive = write(&dir.path().join("evidence.tar"), &tar_of(&members));
    let in_archive = |name: &str| format!("{}!{name}", archive.display());
    let in_tree = |name: &str| tree.join(name).display().to_string();
    // The tree first, then the archive; then the other way round.
    for (inputs, copy, original) in [
        (
            [tree.as_path(), archive.as_path()],
            &in_archive as &dyn Fn(&str) -> String,
            &in_tree as &dyn Fn(&str) -> String,
        ),
        ([archive.as_path(), tree.as_path()], &in_tree, &in_archive),
    ] {
        let mut runs = Vec::new();
        // Whatever the thread timing: the same files loaded and skipped, run after run.
        for _ in 0..3 {
            let run = inventory(&inputs, &[]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            runs.push(run.json());
        }
        let inv = &runs[0];
        assert_eq!(counts(inv), counts(&alone));
        assert_eq!(inv["duplicate_records"], 0);
        assert_eq!(inv["loaded_files"], alone["loaded_files"]);
        let mut want: Vec<(String, String)> = members
            .iter()
            .map(|(n, _)| (copy(n), format!("duplicate of {}", original(n))))
            .collect();
        want.push((
            archive.display().to_string(),
            "tar archive of 12 members, each listed as ARCHIVE!member".into(),
        ));
        want.sort();
        assert_eq!(skipped(inv), want);
        for other in &runs[1..] {
            assert_eq!(skipped(other), skipped(inv));
        }
    }
}

#[test]
fn a_copy_of_a_file_that_is_a_copy_of_a_member_names_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let members = sample_members(3);
    let archive = write(&dir.path().join("a/evidence.zip"), &zip_of(&members, &[]));
    // After the archive in input order: its first log file, and a backup copy of that file.
    let file = write(&dir.path().join("b/log.json.gz"), &members[0].1);
    let backup = write(&dir.path().join("b/zz/backup.json.gz"), &members[0].1);
    let run = inventory(&[dir.path()], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inv = run.json();
    let original = format!("duplicate of {}!{}", archive.display(), members[0].0);
    let copies: Vec<(String, String)> = skipped(&inv)
        .into_iter()
        .filter(|(_, r)| r.starts_with("duplicate of"))
        .collect();
    assert_eq!(
        copies,
        [
            (file.display().to_string(), original.clone()),
            (backup.display().to_string(), original),
        ]
    );
    assert_eq!(inv["duplicate_records"], 0);
    // The archive itself and the two copies.
    let files = inv["skipped_files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{inv:#}");
}
