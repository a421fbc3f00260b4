//! Event history streams through `audit` and `inventory` in chunks: the results must not depend
//! on how it was cut. Each run with tiny chunks (a few rows, a few hundred) and a few event keys
//! in memory is compared with one run where the whole history is one chunk and every key stays
//! in memory.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const WHOLE: &str = "100000000";

/// The bytes of event keys held in memory at a chunk size: a few keys with tiny chunks (parts of
/// the history are written out and read back), all of them with one chunk.
fn keys_in_memory(chunk_rows: &str) -> &'static str {
    if chunk_rows == WHOLE {
        "18446744073709551615"
    } else {
        "256"
    }
}

/// `audit --format json` of `args`, with the chunk size and without what names the command line.
fn audit(args: &[&str], chunk_rows: &str) -> Value {
    let mut all = vec![
        "audit",
        "--format",
        "json",
        "--chunk-rows",
        chunk_rows,
        "--keys-in-memory",
        keys_in_memory(chunk_rows),
    ];
    all.extend_from_slice(args);
    let run = trailaudit(&all);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let mut report = run.json();
    report["manifest"]
        .as_object_mut()
        .unwrap()
        .remove("command_line");
    // When it ran is the one thing two runs may not share.
    report.as_object_mut().unwrap().remove("generated_at");
    report
}

fn inventory(path: &Path, chunk_rows: &str) -> Value {
    let run = trailaudit([
        "inventory".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--allow-partial".as_ref(),
        "--chunk-rows".as_ref(),
        chunk_rows.as_ref(),
        "--keys-in-memory".as_ref(),
        keys_in_memory(chunk_rows).as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

/// Reports are equal; on a difference, the first path where they differ is named.
fn assert_same(a: &Value, b: &Value, what: &str) {
    fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x.keys().chain(y.keys()) {
                    let (u, v) = (
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    );
                    if let Some(d) = first_difference(u, v, format!("{path}.{k}")) {
                        return Some(d);
                    }
                }
                None
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (u, v))| first_difference(u, v, format!("{path}[{i}]"))),
            _ if a == b => None,
            _ => Some(format!("{path}: {a} vs {b}")),
        }
    }
    if let Some(d) = first_difference(a, b, String::new()) {
        panic!("{what}: the results differ at {d}");
    }
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

#[test]
fn the_sample_audit_is_the_same_in_chunks_of_any_size() {
    let logs = samples().join("logs");
    let config = samples().join("config");
    let args = [
        "--logs",
        logs.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let whole = audit(&args, WHOLE);
    // The samples have window findings (TA-EVT-509), StopLogging/StartLogging pairs and
    // findings with more events than are kept: all of them cross chunks here.
    let kinds: Vec<&str> = whole["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "fail")
        .filter_map(|p| p["id"].as_str())
        .collect();
    for id in ["TA-EVT-509", "TA-INT-002", "TA-EVT-401"] {
        assert!(
            kinds.contains(&id),
            "{id} should fail on the samples: {kinds:?}"
        );
    }
    for rows in ["257", "4096"] {
        assert_same(
            &whole,
            &audit(&args, rows),
            &format!("samples, {rows} rows"),
        );
    }
    assert_same(
        &inventory(&logs, WHOLE),
        &inventory(&logs, "257"),
        "samples inventory",
    );
}

#[test]
fn real_corpora_audit_the_same_in_chunks_of_seven_rows() {
    let corpora = fixtures();
    let args = ["--logs", corpora.to_str().unwrap(), "--allow-partial"];
    assert_same(
        &copy_choice_left_out(audit(&args, WHOLE)),
        &copy_choice_left_out(audit(&args, "7")),
        "corpora",
    );
    assert_same(
        &copy_choice_left_out(inventory(&corpora, WHOLE)),
        &copy_choice_left_out(inventory(&corpora, "1")),
        "corpora inventory",
    );
}

/// The corpora hold copies of one event in two files (panther's tests and a Stratus
/// detonation): which copy is kept follows which file a loading thread reads first (README,
/// "Each event once"), so the per-file split of duplicates and the file and record an
/// evidence event names may be either copy's. Everything else must not change.
fn copy_choice_left_out(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.remove("duplicates");
                if o.contains_key("event_id") && o.contains_key("file") {
                    o.remove("file");
                    o.remove("record");
                }
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

#[test]
fn a_generated_corpus_audits_the_same_in_small_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let summary =
        trailaudit::synth::generate(&trailaudit::synth::Spec::bench(20_000), dir.path()).unwrap();
    let logs = dir.path().to_str().unwrap();
    let whole = audit(&["--logs", logs], WHOLE);
    assert_eq!(
        whole["inputs"]["logs"]["events"].as_u64(),
        Some(summary.records)
    );
    assert_same(&whole, &audit(&["--logs", logs], "300"), "generated corpus");
    // The window applies per chunk: the same in-scope events either way.
    let window = ["--logs", logs, "--from", "2026-07-02", "--to", "2026-07-03"];
    let windowed = audit(&window, WHOLE);
    assert!(
        windowed["inputs"]["logs"]["events_in_scope"].as_u64()
            < whole["inputs"]["logs"]["events_in_scope"].as_u64()
    );
    assert_same(
        &windowed,
        &audit(&window, "300"),
        "generated corpus, window",
    );

    // Outputs of a record a line are written a few thousand rows at a time.
    let all = r#"{ $.eventName = * }"#;
    let count: usize = query(&[all, logs, "--count"], WHOLE)
        .trim()
        .parse()
        .unwrap();
    assert!(count > 10_000, "{count}");
    let ndjson = query(&[all, logs, "--format", "ndjson"], WHOLE);
    assert_eq!(ndjson.lines().count(), count);
    let times: Vec<String> = ndjson
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["eventTime"].to_string())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "earliest first");
    let csv = query(&[all, logs, "--format", "csv"], WHOLE);
    assert_eq!(csv.lines().count(), count + 1);
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("eventTime,")).count(),
        1
    );
}

fn query(args: &[&str], chunk_rows: &str) -> String {
    let mut all = vec![
        "query",
        "--chunk-rows",
        chunk_rows,
        "--keys-in-memory",
        keys_in_memory(chunk_rows),
        "--allow-partial",
    ];
    all.extend_from_slice(args);
    let run = trailaudit(&all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

#[test]
fn query_keeps_only_matches_and_gives_the_same_in_any_chunking() {
    let corpora = fixtures();
    let path = corpora.to_str().unwrap();
    let pattern = r#"{ $.eventSource = "ec2.amazonaws.com" || $.errorCode = "*" }"#;
    for format in ["table", "json", "ndjson", "csv"] {
        let whole = query(&[pattern, path, "--format", format], WHOLE);
        assert_eq!(
            whole,
            query(&[pattern, path, "--format", format], "7"),
            "{format}"
        );
    }
    let limited = query(&[pattern, path, "--format", "ndjson", "--limit", "5"], "3");
    let all = query(&[pattern, path, "--format", "ndjson"], WHOLE);
    let first: Vec<&str> = all.lines().take(5).collect();
    assert_eq!(limited.lines().collect::<Vec<_>>(), first);
    assert_eq!(
        query(&[pattern, path, "--count"], "5").trim(),
        all.lines().count().to_string()
    );
}

#[test]
fn input_order_streams_every_match_in_file_then_record_order() {
    let corpora = fixtures();
    let path = corpora.to_str().unwrap();
    let pattern = r#"{ $.eventName = * }"#;
    let fields = ["--fields", "_file,_record_index,eventID"];
    let sorted = query(
        &[pattern, path, "--format", "ndjson", fields[0], fields[1]],
        WHOLE,
    );
    let streamed = query(
        &[
            pattern,
            path,
            "--format",
            "ndjson",
            "--input-order",
            fields[0],
            fields[1],
        ],
        "3",
    );
    let rows = |text: &str| -> Vec<(String, u64, Value)> {
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["_file"].as_str().unwrap().to_string(),
                    v["_record_index"].as_u64().unwrap(),
                    v["eventID"].clone(),
                )
            })
            .collect()
    };
    let (mut by_time, by_input) = (rows(&sorted), rows(&streamed));
    assert!(by_input.len() > 300, "{}", by_input.len());
    // Input order: files as listed (sorted paths), records in file order.
    let mut expected = by_input.clone();
    expected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(by_input, expected, "not in input order");
    // The same events; which copy of a repeated event (the fixtures repeat some across files)
    // is shown follows read order, so the events are compared, not their files.
    let events = |rows: &[(String, u64, Value)]| {
        let mut ids: Vec<String> = rows.iter().map(|r| r.2.to_string()).collect();
        ids.sort();
        ids
    };
    by_time.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(events(&by_time), events(&by_input), "not the same matches");

    let csv = query(&[pattern, path, "--format", "csv", "--input-order"], "3");
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("eventTime,")).count(),
        1
    );
    assert_eq!(csv.lines().count(), by_input.len() + 1);
    let none = query(
        &[
            r#"{ $.eventName = "NoSuchCall" }"#,
            path,
            "--format",
            "csv",
            "--input-order",
        ],
        "3",
    );
    assert_eq!(none.lines().count(), 1, "the header alone: {none}");
    let usage = trailaudit(["query", pattern, path, "--input-order"]);
    assert_eq!(
        usage.code, 2,
        "table output cannot stream: {}",
        usage.stderr
    );
}

/// Inside `audit`, the log files digests list are hashed by the loader as it reads them, not
/// read and decompressed a second time: the hashes must be the ones `verify` computes itself.
/// A byte-identical copy of a listed file is not loaded (its events are its original's), and
/// gets its original's hash.
#[test]
fn the_loader_hashes_log_files_as_verify_does() {
    use std::collections::{HashMap, HashSet};
    use trailaudit::events::{self, LoadOptions, Outcome};
    use trailaudit::integrity::{self, KeyRing};

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy_tree(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/digest-test-vectors");
    let keys = KeyRing::load(std::slice::from_ref(&vectors));
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    copy_tree(&vectors.join("s3"), &copy);
    for inputs in [vec![vectors.join("s3")], vec![vectors.join("s3"), copy]] {
        let plan = integrity::Plan::new(&inputs, &keys, Default::default());
        let wanted: HashSet<&Path> = plan.wanted().collect();
        assert!(!wanted.is_empty());
        let options = LoadOptions {
            content_hashes: Some(&wanted),
            ..LoadOptions::WHOLE
        };
        let frame = events::load_with(&inputs, options);
        let mut known = HashMap::new();
        let mut copies_hashed = 0;
        for f in &frame.accounting.files {
            match &f.content {
                Some(c) => {
                    assert!(
                        wanted.contains(f.path.as_path()),
                        "{} was not asked for",
                        f.path.display()
                    );
                    let (sha, bytes) = integrity::digest::sha256_content(&f.path).unwrap();
                    assert_eq!((c.sha256.to_string(), c.bytes), (sha.clone(), bytes));
                    known.insert(f.path.as_path(), (sha, bytes));
                    if matches!(&f.outcome, Outcome::Skipped { reason } if reason.starts_with("duplicate of"))
                    {
                        copies_hashed += 1;
                    }
                }
                None => assert!(
                    !wanted.contains(f.path.as_path()),
                    "{} not hashed",
                    f.path.display()
                ),
            }
        }
        assert_eq!(known.len(), wanted.len());
        assert_eq!(
            copies_hashed > 0,
            inputs.len() > 1,
            "{:#?}",
            frame.accounting.files
        );
        let with_loader = plan.finish(&known, None);
        let alone = integrity::verify(&inputs, &keys, Default::default());
        assert_eq!(with_loader, alone);
        assert!(
            alone.trails.iter().any(|t| t.log_files.valid > 0),
            "{alone:#?}"
        );
    }
}

/// Usage errors are reported before any input is read, and no progress bar is drawn on a
/// stderr that is not a terminal.
#[test]
fn usage_errors_come_first_and_progress_stays_off_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let logs = samples().join("logs");
    let logs = logs.to_str().unwrap();
    let unwritable = dir.path().join("no/such/dir/report.json");
    let unwritable = unwritable.to_str().unwrap();
    for (args, says) in [
        (
            vec!["audit", "--logs", logs, "--format", "json,html"],
            "several formats need -o DIR",
        ),
        (
            vec![
                "audit", "--logs", logs, "--format", "json", "-o", unwritable,
            ],
            "cannot write",
        ),
        (
            vec!["audit", "--logs", logs, "--from", "yesterday"],
            "--from",
        ),
        (vec!["inventory", logs, "-o", unwritable], "cannot write"),
        (
            vec!["query", "{ $.eventName = X }", logs, "-o", unwritable],
            "cannot write",
        ),
        (
            vec!["query", "{ $.eventName = X }", logs, "--to", "soon"],
            "--to",
        ),
    ] {
        let run = trailaudit(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: nothing was run");
    }
    let run = trailaudit(["inventory", logs]);
    assert_eq!(run.code, 0);
    assert!(
        !run.stderr.contains("records") && !run.stderr.contains('\u{1b}'),
        "no progress bar on a pipe: {:?}",
        run.stderr
    );
}

/// A consumer that works in parallel on rayon's global pool must not wait for loading threads
/// that wait for it (they have a pool of their own).
#[test]
fn a_parallel_consumer_does_not_deadlock_the_loader() {
    use rayon::prelude::*;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut rows = 0usize;
        let accounting = trailaudit::events::stream(
            &[fixtures()],
            trailaudit::events::LoadOptions::WHOLE,
            1,
            |_, chunk| {
                rows += (0..chunk.height() * 64)
                    .into_par_iter()
                    .filter(|i| i % 64 == 0)
                    .count();
                Ok::<(), trailaudit::events::KeysLost>(())
            },
        );
        let _ = done_tx.send((
            rows,
            accounting.map(|a| a.events).map_err(|e| e.to_string()),
        ));
    });
    // Generous: the stream takes well under a second; only a deadlock gets near this.
    let (rows, events) = done_rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the stream deadlocked");
    assert_eq!(Ok(rows as u64), events);
}

/// `audit` loads only what its policies read (whole records only where a policy may match):
/// its report is the one a load of whole records gives.
#[test]
fn the_audit_of_a_projected_load_is_the_audit_of_whole_records() {
    let dir = tempfile::tempdir().unwrap();
    trailaudit::synth::generate(&trailaudit::synth::Spec::bench(20_000), dir.path()).unwrap();
    let samples_logs = samples().join("logs");
    let config = samples().join("config");
    let corpora = fixtures();
    for args in [
        vec![
            "--logs",
            samples_logs.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        vec!["--logs", corpora.to_str().unwrap(), "--allow-partial"],
        vec!["--logs", dir.path().to_str().unwrap()],
    ] {
        // The corpora hold one event in two files: which copy is kept is the loading
        // threads' race (see copy_choice_left_out).
        let settle = |v: Value| {
            if args.contains(&corpora.to_str().unwrap()) {
                copy_choice_left_out(v)
            } else {
                v
            }
        };
        let projected = audit(&args, WHOLE);
        let mut whole_args = args.clone();
        whole_args.push("--whole-records");
        let whole = audit(&whole_args, WHOLE);
        assert_same(
            &settle(whole),
            &settle(projected.clone()),
            &format!("{args:?}"),
        );
        assert!(projected["policies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["status"] == "fail" && p["kind"] == "event"));
    }
}
