//! `trailaudit inventory` on real and generated evidence, run as the real binary.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".json")
                || n.ends_with(".json.gz")
                || n.ends_with(".ndjson")
                || n.ends_with(".jsonl")
        })
        .collect();
    out.sort();
    out
}

fn file_entry<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(name))
}

#[test]
fn bad_files_are_listed_and_every_good_record_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good: Vec<Value> = (0..5)
        .map(|i| {
            record(
                &format!("2024-07-31T13:1{i}:00Z"),
                "111122223333",
                "us-east-1",
                "DescribeInstances",
            )
        })
        .collect();
    write(&d.join("good.json.gz"), &gzip(&envelope(&good[..3])));
    write(&d.join("plain.json"), &envelope(&good[3..]));
    let full = gzip(&envelope(&good));
    write(&d.join("truncated.json.gz"), &full[..full.len() / 2]);
    write(&d.join("not-gzip.json.gz"), &envelope(&good));
    write(
        &d.join("invalid.json"),
        br#"{"Records":[{"eventTime":"2024-07-31T13:10:00Z",}]}"#,
    );
    write(&d.join("empty.json"), b"");

    let run = trailaudit([
        "inventory".as_ref(),
        d.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 2, "partial evidence exits 2\n{}", run.stderr);
    let inv = run.json();
    assert_eq!(inv["files"], 6);
    assert_eq!(inv["loaded_files"], 2);
    assert_eq!(inv["events"], 5);
    assert_eq!(inv["failed_files"].as_array().unwrap().len(), 4);
    let reason = |name: &str| {
        file_entry(&inv["failed_files"], name).unwrap_or_else(|| panic!("{name} listed as failed"))
            ["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason("truncated.json.gz").contains("truncated gzip"),
        "{}",
        reason("truncated.json.gz")
    );
    assert!(reason("not-gzip.json.gz").contains("not gzip"));
    assert!(
        reason("invalid.json").contains("invalid JSON at byte 48 (line 1, column 49)"),
        "{}",
        reason("invalid.json")
    );
    assert_eq!(reason("empty.json"), "empty file");
    assert!(run.stderr.contains("partial evidence"));

    let allowed = trailaudit([
        "inventory".as_ref(),
        d.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--allow-partial".as_ref(),
    ]);
    assert_eq!(allowed.code, 0);
    assert_eq!(allowed.json()["failed_files"], inv["failed_files"]);
    assert_eq!(allowed.json()["events"], 5);

    let text = trailaudit(["inventory".as_ref(), d.as_os_str()]);
    assert_eq!(text.code, 2);
    assert!(text.stdout.contains("Failed files (4):"), "{}", text.stdout);
    assert!(text
        .stdout
        .contains("truncated.json.gz: truncated gzip stream"));
}

#[test]
fn rejected_records_are_partial_evidence_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let ok = record("2024-01-01T00:00:00Z", "111122223333", "us-east-1", "A");
    let lines = [
        serde_json::to_string(&ok).unwrap(),
        r#"{"eventName":"NoTime"}"#.to_string(),
        r#"{"eventTime":"not a time","eventName":"X"}"#.to_string(),
        r#""a string""#.to_string(),
        "{broken".to_string(),
        // Another event: the same one twice would be a duplicate (tests/it/dedup.rs).
        serde_json::to_string(&record(
            "2024-01-01T00:00:00Z",
            "111122223333",
            "us-east-1",
            "B",
        ))
        .unwrap(),
    ];
    let path = write(
        &dir.path().join("events.ndjson"),
        lines.join("\n").as_bytes(),
    );
    let run = trailaudit([
        "inventory".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 2);
    let inv = run.json();
    assert_eq!(inv["events"], 2);
    assert_eq!(inv["rejected_records"], 4);
    let first = inv["rejections"][0]["first"].as_array().unwrap();
    let reasons: Vec<(u64, &str)> = first
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons[0], (2, "no eventTime"));
    assert_eq!(reasons[1], (3, "unparseable eventTime \"not a time\""));
    assert_eq!(reasons[2], (4, "not a JSON object (found a string)"));
    assert!(
        reasons[3].1.starts_with("invalid JSON at column 2"),
        "{:?}",
        reasons[3]
    );
}

#[test]
fn every_valid_corpus_record_loads() {
    let corpora = fixtures();
    let mut inputs = Vec::new();
    for sub in [
        "stratus-red-team-detonation-logs",
        "otrf-security-datasets",
        "awsdocs-cloudtrail-user-guide",
        "opentelemetry-collector-contrib",
        "aws-cloudtrail-processing-library",
    ] {
        inputs.extend(data_files(&corpora.join(sub)));
    }
    inputs.push(corpora.join("panther-cloudtrail-tests.jsonl"));
    let mut args = vec!["inventory".into(), "--format".into(), "json".into()];
    args.extend(inputs.iter().map(|p| p.clone().into_os_string()));
    let run = trailaudit(args);
    let inv = run.json();

    // Independent counts, straight from the JSON.
    let stratus: usize = data_files(&corpora.join("stratus-red-team-detonation-logs"))
        .iter()
        .map(|p| {
            serde_json::from_slice::<Vec<Value>>(&std::fs::read(p).unwrap())
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(stratus, 310);
    let lines = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    };
    let otrf = lines(
        &corpora.join("otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json"),
    );
    let docs = lines(&corpora.join("awsdocs-cloudtrail-user-guide/cloudtrail-doc-examples.ndjson"));
    let panther_file = corpora.join("panther-cloudtrail-tests.jsonl");
    let panther: Vec<Value> = std::fs::read_to_string(&panther_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].clone())
        .collect();
    // Panther tests include normalised events with lower-cased keys (`eventtime`) and one
    // `"eventTime": "redacted"`: not CloudTrail records, so they are rejected.
    let panther_valid = panther
        .iter()
        .filter(|e| e["eventTime"].as_str().is_some_and(|t| t.starts_with("20")))
        .count();
    // CPL fixtures: 41 records, of which 4 are deliberately broken (null, misnamed or
    // unparseable eventTime), plus one malformed file.
    let cpl_valid = 37;
    let expected = stratus + otrf + docs + 1 + cpl_valid + panther_valid;
    // The Panther tests and the documentation's examples reuse placeholder eventIDs at the same
    // time: each such repeat is loaded once and counted as a duplicate.
    assert_eq!(
        (inv["events"].as_u64().unwrap() + inv["duplicate_records"].as_u64().unwrap()) as usize,
        expected,
        "{}",
        run.stdout
    );
    assert_eq!(
        inv["rejected_records"].as_u64().unwrap() as usize,
        4 + (panther.len() - panther_valid)
    );

    let failed = inv["failed_files"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("SerializerTestFileBadJsonFormat.json"));
    assert!(failed[0]["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid JSON at byte 1293 (line 37, column 9)"));
    assert_eq!(run.code, 2);
}

#[test]
fn lookup_events_output_loads_each_embedded_record() {
    let dir = tempfile::tempdir().unwrap();
    let stratus = fixtures()
        .join("stratus-red-team-detonation-logs/aws.defense-evasion.cloudtrail-stop.json");
    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(stratus).unwrap()).unwrap();
    let events: Vec<Value> = records
        .iter()
        .map(|r| {
            serde_json::json!({
                "EventId": r["eventID"], "EventName": r["eventName"], "ReadOnly": "false",
                "EventTime": 1722370000, "EventSource": r["eventSource"],
                "Resources": [], "CloudTrailEvent": serde_json::to_string(r).unwrap()
            })
        })
        .collect();
    let (a, b) = events.split_at(events.len() / 2);
    let page = |e: &[Value]| {
        serde_json::to_string_pretty(&serde_json::json!({"Events": e, "NextToken": "abc"})).unwrap()
    };
    write(&dir.path().join("page1.json"), page(a).as_bytes());
    // Several pages in one file, as a loop over `aws cloudtrail lookup-events` appends them.
    write(
        &dir.path().join("pages.json"),
        format!("{}\n{}", page(a), page(b)).as_bytes(),
    );
    let run = trailaudit([
        "inventory".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let inv = run.json();
    assert_eq!(
        inv["events"].as_u64().unwrap() as usize,
        a.len() * 2 + b.len()
    );
    assert_eq!(inv["formats"]["lookup_events"], 2);
}

#[test]
fn digests_and_hidden_files_are_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let digest = br#"{"awsAccountId":"111122223333","digestStartTime":"2024-07-31T12:10:00Z","digestEndTime":"2024-07-31T13:10:00Z","logFiles":[]}"#;
    write(
        &d.join("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/31/d.json.gz"),
        &gzip(digest),
    );
    write(&d.join(".DS_Store"), b"\0\0junk");
    write(
        &d.join("AWSLogs/o-abc1234567/111122223333/CloudTrail/us-east-1/2024/07/31/f.json.gz"),
        &gzip(&envelope(&[record(
            "2024-07-31T13:10:00Z",
            "111122223333",
            "us-east-1",
            "A",
        )])),
    );
    let run = trailaudit([
        "inventory".as_ref(),
        d.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let inv = run.json();
    assert_eq!(inv["files"], 3);
    assert_eq!(inv["events"], 1);
    assert!(
        file_entry(&inv["skipped_files"], "d.json.gz").unwrap()["reason"]
            .as_str()
            .unwrap()
            .contains("digest")
    );
    assert_eq!(
        file_entry(&inv["skipped_files"], ".DS_Store").unwrap()["reason"],
        "hidden file"
    );
}

#[test]
fn missing_account_and_region_come_from_the_s3_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = record("2014-03-18T10:00:00Z", "111122223333", "us-west-2", "A");
    r.as_object_mut().unwrap().remove("recipientAccountId");
    r.as_object_mut().unwrap().remove("awsRegion");
    write(
        &dir.path()
            .join("AWSLogs/123456789012/CloudTrail/eu-central-1/2014/03/18/x.json.gz"),
        &gzip(&envelope(&[r])),
    );
    let inv = trailaudit([
        "inventory".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .json();
    assert_eq!(inv["accounts"], serde_json::json!(["123456789012"]));
    assert_eq!(inv["regions"], serde_json::json!(["eu-central-1"]));
}

#[test]
fn nonexistent_path_is_a_usage_error() {
    let run = trailaudit([
        "inventory",
        "/nonexistent/trailaudit/input",
        "--allow-partial",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no such file or directory"),
        "{}",
        run.stderr
    );
}

/// Counts per account, region and day, and gaps, straight from the files with serde_json.
fn independent_count(dir: &Path) -> (u64, u64, BTreeMap<(String, String, String), u64>) {
    let mut files = 0;
    let mut events = 0;
    let mut per_day = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        files += 1;
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        for r in doc["Records"].as_array().unwrap() {
            events += 1;
            let key = (
                r["recipientAccountId"].as_str().unwrap().to_string(),
                r["awsRegion"].as_str().unwrap().to_string(),
                r["eventTime"].as_str().unwrap()[..10].to_string(),
            );
            *per_day.entry(key).or_insert(0) += 1;
        }
    }
    (files, events, per_day)
}

#[test]
fn generated_corpus_counts_match_an_independent_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = trailaudit::synth::Spec::bench(6_000);
    spec.days = 30;
    spec.missing = vec![
        (0, "eu-west-1".into(), 10),
        (2, "us-west-2".into(), 11),
        (2, "us-west-2".into(), 12),
    ];
    let summary = trailaudit::synth::generate(&spec, dir.path()).unwrap();

    let run = trailaudit([
        "inventory".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inv = run.json();
    let (files, events, per_day) = independent_count(dir.path());
    assert_eq!(files, summary.files);
    assert_eq!(inv["files"].as_u64(), Some(files));
    assert_eq!(inv["events"].as_u64(), Some(events));

    let got: BTreeMap<(String, String, String), u64> = inv["events_by_account_region_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap().to_string();
            (
                (s("account"), s("region"), s("date")),
                d["events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, per_day);

    let mut expected_gaps = BTreeSet::new();
    let mut days: BTreeMap<(String, String), Vec<chrono::NaiveDate>> = BTreeMap::new();
    for (a, r, d) in per_day.keys() {
        days.entry((a.clone(), r.clone()))
            .or_default()
            .push(d.parse().unwrap());
    }
    for ((a, r), ds) in &days {
        let mut day = ds[0];
        while day < *ds.last().unwrap() {
            if !ds.contains(&day) {
                expected_gaps.insert((a.clone(), r.clone(), day.to_string()));
            }
            day = day.succ_opt().unwrap();
        }
    }
    // Each gap is a run of days: expand it to compare day by day.
    let mut gaps: BTreeSet<(String, String, String)> = BTreeSet::new();
    for g in inv["gaps"].as_array().unwrap() {
        let s = |k: &str| g[k].as_str().unwrap().to_string();
        let (first, last): (chrono::NaiveDate, chrono::NaiveDate) =
            (s("first").parse().unwrap(), s("last").parse().unwrap());
        assert_eq!(g["days"].as_i64().unwrap(), (last - first).num_days() + 1);
        let mut day = first;
        while day <= last {
            gaps.insert((s("account"), s("region"), day.to_string()));
            day = day.succ_opt().unwrap();
        }
    }
    assert_eq!(gaps, expected_gaps);
    for planted in [
        ("210987654321", "eu-west-1", "2026-07-11"),
        ("456789012345", "us-west-2", "2026-07-12"),
    ] {
        let g = (
            planted.0.to_string(),
            planted.1.to_string(),
            planted.2.to_string(),
        );
        assert!(gaps.contains(&g), "planted gap {g:?} found");
    }
}
