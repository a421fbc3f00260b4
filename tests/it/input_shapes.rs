//! Every shape of CloudTrail history users hold (issue 20), run through the real binary: each
//! loads with exact counts and no failed file, and `query --format ndjson` gives back every
//! record, equal as parsed JSON to the original. The records are real (the Stratus Red Team
//! detonation logs in `tests/fixtures/corpora`), wrapped into each shape here.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

/// Real records, each once (by eventID).
fn corpus(n: usize) -> Vec<Value> {
    let dir = fixtures().join("stratus-red-team-detonation-logs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in files {
        let records: Vec<Value> = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        for r in records {
            if seen.insert(r["eventID"].as_str().unwrap().to_string()) {
                out.push(r);
            }
        }
    }
    assert!(out.len() >= n, "the corpus has {} records", out.len());
    out.truncate(n);
    out
}

fn inventory(path: &Path) -> (i32, Value) {
    let run = trailaudit([
        "inventory".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    (run.code, run.json())
}

/// Every record in `path`, as `query --format ndjson` gives them back.
fn query_all(path: &Path) -> Vec<Value> {
    let run = trailaudit([
        "query".as_ref(),
        "".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "ndjson".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `path` loads `records` exactly, as `format`, with nothing failed or rejected, and query gives
/// each back as it was.
fn loads_exactly(path: &Path, records: &[Value], format: &str) -> Value {
    let (code, inv) = inventory(path);
    assert_eq!(code, 0, "{inv:#}");
    assert_eq!(inv["events"], records.len(), "{inv:#}");
    assert_eq!(inv["failed_files"], json!([]), "{inv:#}");
    assert_eq!(inv["rejected_records"], 0, "{inv:#}");
    assert_eq!(inv["duplicate_records"], 0, "{inv:#}");
    assert!(
        inv["formats"][format].as_u64() >= Some(1),
        "{format}: {inv:#}"
    );
    same_records(query_all(path), records);
    inv
}

/// The same records, in any order, equal as parsed JSON.
fn same_records(mut got: Vec<Value>, want: &[Value]) {
    assert_eq!(got.len(), want.len());
    for w in want {
        let i = got
            .iter()
            .position(|g| g == w)
            .unwrap_or_else(|| panic!("not given back as it was: {w:#}"));
        got.swap_remove(i);
    }
}

fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// A LookupEvents `Event` as the aws CLI and boto3 give it.
fn event(r: &Value) -> Value {
    json!({
        "EventId": r["eventID"],
        "EventName": r["eventName"],
        "ReadOnly": "true",
        "EventTime": 1_722_430_000.0,
        "EventSource": r["eventSource"],
        "Username": "stratus",
        "Resources": [],
        "CloudTrailEvent": text(r),
    })
}

fn lines(values: impl IntoIterator<Item = Value>) -> Vec<u8> {
    values
        .into_iter()
        .map(|v| text(&v) + "\n")
        .collect::<String>()
        .into_bytes()
}

#[test]
fn lookup_events_event_objects_in_an_array_and_one_per_line() {
    let records = corpus(25);
    let dir = tempfile::tempdir().unwrap();
    // aws cloudtrail lookup-events --query Events
    let array = write(
        &dir.path().join("array/events.json"),
        &serde_json::to_vec_pretty(&records.iter().map(event).collect::<Vec<_>>()).unwrap(),
    );
    loads_exactly(array.parent().unwrap(), &records, "lookup_events_events");
    let per_line = write(
        &dir.path().join("lines/events.jsonl"),
        &lines(records.iter().map(event)),
    );
    loads_exactly(per_line.parent().unwrap(), &records, "lookup_events_events");
}

#[test]
fn concatenated_records_as_firehose_writes_them() {
    let records = corpus(30);
    let dir = tempfile::tempdir().unwrap();
    let back_to_back: String = records.iter().map(text).collect();
    write(
        &dir.path()
            .join("firehose/2024/07/31/12/stream-1-2024-07-31-12-00-00-abc.gz"),
        &gzip(back_to_back.as_bytes()),
    );
    loads_exactly(&dir.path().join("firehose"), &records, "concatenated");
    let spaced: Vec<String> = records.iter().map(text).collect();
    write(&dir.path().join("spaced/x"), spaced.join(" ").as_bytes());
    loads_exactly(&dir.path().join("spaced"), &records, "concatenated");
    // Pretty-printed records one after another.
    let pretty: String = records
        .iter()
        .map(|r| serde_json::to_string_pretty(r).unwrap())
        .collect();
    write(&dir.path().join("pretty/x.json"), pretty.as_bytes());
    loads_exactly(&dir.path().join("pretty"), &records, "concatenated");
}

fn log_event(i: usize, r: &Value) -> Value {
    json!({
        "logStreamName": "111122223333_CloudTrail_us-east-1",
        "timestamp": 1_722_430_000_000u64 + i as u64,
        "message": text(r),
        "ingestionTime": 1_722_430_001_000u64 + i as u64,
        "eventId": format!("3796{i:0>52}"),
    })
}

#[test]
fn cloudwatch_logs_filter_and_get_log_events_output() {
    let records = corpus(20);
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| log_event(i, r))
        .collect();
    // aws logs filter-log-events --log-group-name G > x.json
    write(
        &dir.path().join("filter/x.json"),
        &serde_json::to_vec_pretty(&json!({
            "events": events,
            "searchedLogStreams": [{"logStreamName": "111122223333_CloudTrail_us-east-1", "searchedCompletely": true}],
        }))
        .unwrap(),
    );
    loads_exactly(
        &dir.path().join("filter"),
        &records,
        "cloudwatch_logs_events",
    );
    // aws logs get-log-events --log-group-name G --log-stream-name S > x.json
    let get: Vec<Value> = events
        .iter()
        .map(|e| json!({"timestamp": e["timestamp"], "message": e["message"], "ingestionTime": e["ingestionTime"]}))
        .collect();
    write(
        &dir.path().join("get/x.json"),
        &serde_json::to_vec(
            &json!({"events": get, "nextForwardToken": "f/1", "nextBackwardToken": "b/1"}),
        )
        .unwrap(),
    );
    loads_exactly(&dir.path().join("get"), &records, "cloudwatch_logs_events");
    // aws logs filter-log-events ... --query events
    write(
        &dir.path().join("query/x.json"),
        &serde_json::to_vec(&events).unwrap(),
    );
    loads_exactly(
        &dir.path().join("query"),
        &records,
        "cloudwatch_logs_events",
    );
}

#[test]
fn cloudwatch_logs_export_task_files() {
    let records = corpus(40);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exportedlogs");
    for (s, chunk) in records.chunks(15).enumerate() {
        let body: String = chunk
            .iter()
            .map(|r| {
                format!(
                    "{} {}\n",
                    r["eventTime"].as_str().unwrap().replace('Z', ".000Z"),
                    text(r)
                )
            })
            .collect();
        write(
            &root.join(format!(
                "0e5c7e1f-task/111122223333_CloudTrail_us-east-{s}/000000.gz"
            )),
            &gzip(body.as_bytes()),
        );
    }
    let inv = loads_exactly(&root, &records, "cloudwatch_logs_export");
    assert_eq!(inv["formats"]["cloudwatch_logs_export"], 3);
}

fn splunk(r: &Value) -> Value {
    json!({"preview": false, "offset": 0, "result": {
        "_raw": text(r), "_time": r["eventTime"], "host": "s3", "source": "s3://bucket/key",
        "sourcetype": "aws:cloudtrail", "_serial": "0"
    }})
}

#[test]
fn siem_wrappers_per_line_and_in_an_array() {
    let records = corpus(20);
    let dir = tempfile::tempdir().unwrap();
    // Splunk export (search/jobs/export, output_mode=json): one result per line.
    write(
        &dir.path().join("splunk/export.json"),
        &lines(records.iter().map(splunk)),
    );
    loads_exactly(&dir.path().join("splunk"), &records, "siem_export");
    // Cribl and the like: `_raw` with the pipeline's own fields, per line and in an array.
    let cribl: Vec<Value> = records
        .iter()
        .map(|r| json!({"_raw": text(r), "_time": 1_722_430_000, "cribl_pipe": "main", "source": "s3"}))
        .collect();
    write(&dir.path().join("cribl/out.ndjson"), &lines(cribl.clone()));
    loads_exactly(&dir.path().join("cribl"), &records, "siem_export");
    write(
        &dir.path().join("array/out.json"),
        &serde_json::to_vec(&cribl).unwrap(),
    );
    loads_exactly(&dir.path().join("array"), &records, "siem_export");
}

fn utf16(text: &str, little: bool) -> Vec<u8> {
    let mut out = if little {
        vec![0xff, 0xfe]
    } else {
        vec![0xfe, 0xff]
    };
    for u in text.encode_utf16() {
        out.extend(if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

#[test]
fn utf16_and_utf8_with_a_byte_order_mark() {
    let mut records = corpus(12);
    // Text beyond the Basic Multilingual Plane: a surrogate pair in UTF-16.
    records[0]["userAgent"] = json!("agent \u{1F600} é");
    let dir = tempfile::tempdir().unwrap();
    // Windows PowerShell 5: `aws cloudtrail lookup-events | Out-File x.json`, CRLF lines.
    let page = serde_json::to_string_pretty(
        &json!({"Events": records.iter().map(event).collect::<Vec<_>>()}),
    )
    .unwrap()
    .replace('\n', "\r\n");
    write(&dir.path().join("le/x.json"), &utf16(&page, true));
    loads_exactly(&dir.path().join("le"), &records, "lookup_events");
    let ndjson = String::from_utf8(lines(records.iter().cloned())).unwrap();
    write(&dir.path().join("be/x.json"), &utf16(&ndjson, false));
    loads_exactly(&dir.path().join("be"), &records, "ndjson");
    // UTF-8 with a BOM, a CloudTrail log file (the fast path's shape).
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(envelope(&records));
    write(&dir.path().join("bom/x.json"), &bom);
    loads_exactly(&dir.path().join("bom"), &records, "cloudtrail_log");
    // An unpaired surrogate fails the file with its offset.
    let mut bad = utf16("[{\"a\":1}]", true);
    bad.extend([0x00, 0xd8]);
    write(&dir.path().join("bad/x.json"), &bad);
    let (code, inv) = inventory(&dir.path().join("bad"));
    assert_eq!(code, 2);
    let error = inv["failed_files"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("not UTF-16") && error.contains("byte 20"),
        "{error}"
    );
}

const ACCOUNT: &str = "111122223333";

/// An `AWSLogs/` tree of CloudTrail log files (gzip) and a digest file, as (name, bytes).
fn awslogs_tree(records: &[Value]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, chunk) in records.chunks(10).enumerate() {
        out.push((
            format!(
                "AWSLogs/{ACCOUNT}/CloudTrail/eu-west-{i}/2024/07/31/{ACCOUNT}_CloudTrail_eu-west-{i}_20240731T1255Z_f{i}.json.gz"
            ),
            gzip(&envelope(chunk)),
        ));
    }
    out.push((
        format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/eu-west-0/2024/07/31/{ACCOUNT}_CloudTrail-Digest_eu-west-0_t_us-east-1_20240731T1300Z.json.gz"),
        gzip(br#"{"awsAccountId":"111122223333","digestStartTime":"2024-07-31T12:00:00Z","digestEndTime":"2024-07-31T13:00:00Z","logFiles":[]}"#),
    ));
    out
}

/// The files of an inventory whose path ends with `suffix`.
fn listed<'a>(inv: &'a Value, key: &str, suffix: &str) -> Vec<&'a Value> {
    inv[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .collect()
}

#[test]
fn archives_zip_tar_and_tar_gz_stream_their_members() {
    // Without recipientAccountId, a record's account comes from its file's S3 key.
    let mut records = corpus(30);
    for r in &mut records {
        r.as_object_mut().unwrap().remove("recipientAccountId");
        r["userIdentity"]
            .as_object_mut()
            .unwrap()
            .remove("accountId");
    }
    let tree = awslogs_tree(&records);
    let dir = tempfile::tempdir().unwrap();
    // Compress-Archive / zip -r, tar cf, tar czf of an AWSLogs tree; the names say nothing.
    write(
        &dir.path().join("zip/evidence.bin"),
        &zip_of(&tree, &["AWSLogs/", "__MACOSX/"]),
    );
    write(&dir.path().join("tar/evidence"), &tar_of(&tree));
    // Compress-Archive in Windows PowerShell 5: `\` between the parts of a member's name.
    let windows: Vec<(String, Vec<u8>)> = tree
        .iter()
        .map(|(n, b)| (n.replace('/', "\\"), b.clone()))
        .collect();
    write(&dir.path().join("ps5/evidence.bin"), &zip_of(&windows, &[]));
    write(&dir.path().join("tgz/evidence.dat"), &gzip(&tar_of(&tree)));
    for (sub, archive) in [
        ("zip", "evidence.bin"),
        ("ps5", "evidence.bin"),
        ("tar", "evidence"),
        ("tgz", "evidence.dat"),
    ] {
        let inv = loads_exactly(&dir.path().join(sub), &records, "cloudtrail_log");
        assert_eq!(inv["formats"]["cloudtrail_log"], 3, "{inv:#}");
        // The archive itself, and its digest member, are skipped with their reasons.
        let skipped = listed(&inv, "skipped_files", archive);
        assert_eq!(skipped.len(), 1, "{inv:#}");
        assert!(
            skipped[0]["reason"]
                .as_str()
                .unwrap()
                .contains("archive of 4 members"),
            "{inv:#}"
        );
        let digest = listed(&inv, "skipped_files", "20240731T1300Z.json.gz");
        assert_eq!(digest.len(), 1, "{inv:#}");
        let path = digest[0]["path"].as_str().unwrap();
        assert!(
            path.contains(&format!("{archive}!")) && path.contains("AWSLogs/"),
            "ARCHIVE!member: {path}"
        );
        assert!(
            digest[0]["reason"].as_str().unwrap().contains("digest"),
            "{inv:#}"
        );
        // The member's S3 layout gives the account and regions, as outside an archive.
        assert_eq!(inv["accounts"], json!([ACCOUNT]), "{inv:#}");
        let provenance = trailaudit([
            "query".as_ref(),
            "".as_ref(),
            dir.path().join(sub).as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
            "--fields".as_ref(),
            "_file".as_ref(),
        ]);
        let rows: Vec<Value> = serde_json::from_str(&provenance.stdout).unwrap();
        assert!(
            rows.iter().all(|r| r["_file"]
                .as_str()
                .unwrap()
                .contains(&format!("{archive}!"))),
            "{}",
            provenance.stdout
        );
    }
}

#[test]
fn a_bad_member_or_line_does_not_stop_the_others() {
    let records = corpus(30);
    let dir = tempfile::tempdir().unwrap();
    let mut tree = awslogs_tree(&records);
    let full = gzip(&envelope(&records[..3]));
    tree.insert(
        1,
        (
            "AWSLogs/truncated.json.gz".into(),
            full[..full.len() / 2].to_vec(),
        ),
    );
    tree.insert(
        2,
        ("AWSLogs/broken.json".into(), b"{\"Records\":[{".to_vec()),
    );
    tree.push(("inner/nested.tar.gz".into(), gzip(&tar_of(&tree[..1]))));
    write(&dir.path().join("zip/e.zip"), &zip_of(&tree, &[]));
    write(&dir.path().join("tgz/e.tgz"), &gzip(&tar_of(&tree)));
    for (sub, archive) in [("zip", "e.zip"), ("tgz", "e.tgz")] {
        let (code, inv) = inventory(&dir.path().join(sub));
        assert_eq!(code, 2, "{inv:#}");
        assert_eq!(inv["events"], records.len(), "{inv:#}");
        let failed = inv["failed_files"].as_array().unwrap();
        let reason = |name: &str| {
            let f = failed
                .iter()
                .find(|f| f["path"].as_str().unwrap().ends_with(name))
                .unwrap_or_else(|| panic!("{name} failed: {inv:#}"));
            assert!(f["path"].as_str().unwrap().contains(&format!("{archive}!")));
            f["error"].as_str().unwrap().to_string()
        };
        assert!(reason("truncated.json.gz").contains("truncated gzip"));
        assert!(reason("broken.json").contains("invalid JSON"));
        assert!(reason("nested.tar.gz").contains("archive inside an archive"));
        assert_eq!(failed.len(), 3, "{inv:#}");
    }
    // A bad line among Event objects, concatenated records, export lines and Splunk results.
    let mut event_lines = lines(records.iter().map(event));
    event_lines.extend(b"{\"EventId\": \"x\", \"CloudTrailEvent\": \"{oops\"}\n{oops\n");
    event_lines.extend(lines([event(&records[0])]));
    write(&dir.path().join("lines/e.jsonl"), &event_lines);
    let (code, inv) = inventory(&dir.path().join("lines"));
    assert_eq!(code, 2);
    assert_eq!(inv["events"], records.len());
    assert_eq!(inv["rejected_records"], 2, "{inv:#}");
    assert_eq!(inv["duplicate_records"], 1, "{inv:#}");
    let mut concatenated: String = records.iter().map(text).collect();
    concatenated.push_str("{\"eventTime\": oops");
    write(&dir.path().join("cat/x"), concatenated.as_bytes());
    let (_, inv) = inventory(&dir.path().join("cat"));
    assert_eq!(
        (inv["events"].as_u64(), inv["rejected_records"].as_u64()),
        (Some(records.len() as u64), Some(1)),
        "{inv:#}"
    );
    let export = format!(
        "2024-07-31T12:00:00.000Z {}\nnot an export line\n2024-07-31T12:00:01.000Z {}\n",
        text(&records[0]),
        text(&records[1])
    );
    write(&dir.path().join("export/000000"), export.as_bytes());
    let (_, inv) = inventory(&dir.path().join("export"));
    assert_eq!(inv["events"], 2, "{inv:#}");
    assert_eq!(inv["rejected_records"], 1, "{inv:#}");
    let rejection = inv["rejections"].to_string();
    assert!(rejection.contains("<timestamp> <record>"), "{rejection}");
    let mut splunk_lines = lines(records.iter().map(splunk));
    splunk_lines.extend(b"{\"result\": {\"_raw\": 42}}\n");
    write(&dir.path().join("splunk/x.json"), &splunk_lines);
    let (_, inv) = inventory(&dir.path().join("splunk"));
    assert_eq!(inv["events"], records.len(), "{inv:#}");
    assert_eq!(inv["rejected_records"], 1, "{inv:#}");
}

#[test]
fn a_member_over_the_limit_fails_alone_and_a_zip_bomb_fails_the_archive() {
    let records = corpus(20);
    let dir = tempfile::tempdir().unwrap();
    let tree = awslogs_tree(&records);
    // A zip whose first member claims 4 GiB unpacked (past the per-file limit of 1 GiB).
    let mut z = zip_of(&tree, &[]);
    let cd = find(&z, b"PK\x01\x02").unwrap();
    z[cd + 24..cd + 28].copy_from_slice(&0xF000_0000u32.to_le_bytes());
    write(&dir.path().join("member/e.zip"), &z);
    let (code, inv) = inventory(&dir.path().join("member"));
    assert_eq!(code, 2, "{inv:#}");
    assert_eq!(inv["events"], 10, "the other member loads: {inv:#}");
    let failed = inv["failed_files"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{inv:#}");
    assert!(failed[0]["path"]
        .as_str()
        .unwrap()
        .contains("e.zip!AWSLogs/"));
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("per-file limit"),
        "{inv:#}"
    );
    // Members that together claim more than deflate can expand from the archive's size: the
    // overlapping-member zip bomb.
    let mut z = zip_of(&tree, &[]);
    let mut at = 0;
    while let Some(cd) = find(&z[at..], b"PK\x01\x02") {
        let cd = at + cd;
        z[cd + 24..cd + 28].copy_from_slice(&(900u32 << 20).to_le_bytes());
        at = cd + 4;
    }
    write(&dir.path().join("bomb/e.zip"), &z);
    let (code, inv) = inventory(&dir.path().join("bomb"));
    assert_eq!(code, 2);
    assert_eq!(inv["events"], 0);
    let error = inv["failed_files"][0]["error"].as_str().unwrap();
    assert!(error.contains("zip bomb"), "{inv:#}");

    // A tar member past the limit (a sparse file: its gigabyte takes no disk), between two
    // that load.
    let path = dir.path().join("tar/e.tar");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(&path).unwrap();
    let good = tar_of(&tree[..1]);
    f.write_all(&good[..good.len() - 1024]).unwrap(); // without its end-of-archive blocks
    let big = (1u64 << 30) + 1;
    let mut h = tar::Header::new_gnu();
    h.set_path("AWSLogs/big.json").unwrap();
    h.set_size(big);
    h.set_mode(0o644);
    h.set_cksum();
    f.write_all(h.as_bytes()).unwrap();
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Current(big.div_ceil(512) as i64 * 512))
        .unwrap();
    f.write_all(&tar_of(&tree[1..2])[512..]).unwrap(); // its members, not the directory
    drop(f);
    let (code, inv) = inventory(&dir.path().join("tar"));
    assert_eq!(code, 2, "{inv:#}");
    assert_eq!(inv["events"], 20, "{inv:#}");
    let failed = inv["failed_files"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{inv:#}");
    assert!(failed[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("e.tar!AWSLogs/big.json"));
    assert!(failed[0]["error"]
        .as_str()
        .unwrap()
        .contains("per-file limit"));
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn shapes_it_cannot_read_fail_naming_the_shape_and_what_to_export() {
    let records = corpus(3);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("athena.csv"),
        b"\"eventversion\",\"useridentity\",\"eventtime\",\"eventsource\",\"eventname\"\n\"1.08\",\"{type=IAMUser}\",\"2024-07-31T12:00:00Z\",\"s3.amazonaws.com\",\"GetObject\"\n",
    );
    write(
        &d.join("lake.json"),
        &serde_json::to_vec(
            &json!({"QueryStatus": "FINISHED", "QueryStatistics": {"ResultsCount": 1},
            "QueryResultRows": [[{"eventID": "x"}, {"eventName": "GetObject"}]]}),
        )
        .unwrap(),
    );
    write(
        &d.join("ocsf.json"),
        &lines([
            json!({"class_uid": 6003, "category_uid": 6, "activity_id": 1, "time": 1722430000000u64,
            "metadata": {"product": {"name": "CloudTrail"}, "version": "1.1.0"}, "api": {"operation": "GetObject"}}),
        ]),
    );
    write(
        &d.join("ecs.ndjson"),
        &lines([
            json!({"@timestamp": "2024-07-31T12:00:00Z", "event": {"action": "GetObject", "provider": "s3.amazonaws.com"},
            "cloud": {"provider": "aws"}, "ecs": {"version": "8.11.0"}}),
        ]),
    );
    write(
        &d.join("opensearch.json"),
        &serde_json::to_vec(&json!({"took": 3, "hits": {"total": {"value": 1}, "hits": [
            {"_index": "cwl-2024.07.31", "_id": "1", "_source": records[0]}]}}))
        .unwrap(),
    );
    let (code, inv) = inventory(d);
    assert_eq!(code, 2);
    assert_eq!(inv["events"], 0);
    let failed = inv["failed_files"].as_array().unwrap();
    assert_eq!(failed.len(), 5, "{inv:#}");
    for (file, words) in [
        ("athena.csv", ["CSV export", "S3 log files"]),
        (
            "lake.json",
            ["CloudTrail Lake query result set", "lookup-events"],
        ),
        ("ocsf.json", ["OCSF-normalised", "S3 log files"]),
        ("ecs.ndjson", ["ECS-normalised", "event.original"]),
        (
            "opensearch.json",
            ["OpenSearch/Elasticsearch search response", "S3 log files"],
        ),
    ] {
        let f = failed
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(file))
            .unwrap();
        let error = f["error"].as_str().unwrap();
        for w in words {
            assert!(error.contains(w), "{file}: {error}");
        }
    }
    // `audit PATH` takes the CSV for event history, so that its reason is told.
    let run = trailaudit([
        "audit".as_ref(),
        d.join("athena.csv").as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(
        run.stdout.contains("CSV export") || run.stderr.contains("CSV export"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// The record a span of `content` holds: the record object, or the JSON string a file embeds
/// it in.
fn spanned(content: &[u8], offset: u64, length: u32) -> Value {
    let bytes = &content[offset as usize..][..length as usize];
    match serde_json::from_slice(bytes).unwrap() {
        Value::String(s) => serde_json::from_str(&s).unwrap(),
        v => v,
    }
}

#[test]
fn every_shape_gives_each_record_the_span_of_its_text() {
    use trailaudit::events::{load, schema};
    let dir = tempfile::tempdir().unwrap();
    // Each file its own records: copies of one event load once.
    let all = corpus(18);
    let group = |i: usize| &all[i * 3..i * 3 + 3];
    let envelope_of =
        |records: &[Value]| serde_json::to_vec(&json!({ "Records": records })).unwrap();
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let envelope = envelope_of(group(0));
    let gz = gzip(&envelope);
    let plain = envelope_of(group(1));
    let pretty = serde_json::to_vec_pretty(&json!({ "Records": group(2) })).unwrap();
    let lookup = serde_json::to_vec(&json!({
        "Events": group(3).iter().map(|r| json!({"EventId": r["eventID"], "CloudTrailEvent": text(r)})).collect::<Vec<_>>()
    }))
    .unwrap();
    let ndjson = lines(group(4).iter().cloned());
    let member = envelope_of(group(5));
    let member_gz = gzip(&member);
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(member_gz.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "AWSLogs/member.json.gz", &member_gz[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();
    // Each file with its content as the spans count it.
    let files: Vec<(&str, &[u8], &[u8])> = vec![
        ("s3.json.gz", &gz, &envelope),
        ("plain.json", &plain, &plain),
        ("pretty.json", &pretty, &pretty),
        ("lookup.json", &lookup, &lookup),
        ("records.ndjson", &ndjson, &ndjson),
        ("archive.tar", &tar, &member),
    ];
    for (name, stored, _) in &files {
        std::fs::write(dir.path().join(name), stored).unwrap();
    }
    let frame = load(&[dir.path().to_path_buf()]);
    let df = &frame.df;
    let ids = df.column("eventID").unwrap().str().unwrap();
    let file_ids = df.column(schema::FILE_ID).unwrap().u32().unwrap();
    let offsets = df.column(schema::RECORD_OFFSET).unwrap().u64().unwrap();
    let lengths = df.column(schema::RECORD_LENGTH).unwrap().u32().unwrap();
    let line_nos = df.column(schema::RECORD_LINE).unwrap().u32().unwrap();
    let mut per_file = std::collections::BTreeMap::new();
    for row in 0..df.height() {
        let path = &frame.accounting.files[file_ids.get(row).unwrap() as usize].path;
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let (_, _, content) = files
            .iter()
            .find(|(n, _, _)| {
                name == *n || (*n == "archive.tar" && name.ends_with("member.json.gz"))
            })
            .unwrap();
        let (offset, length, line) = (
            offsets
                .get(row)
                .unwrap_or_else(|| panic!("{name}: no span")),
            lengths.get(row).unwrap(),
            line_nos.get(row).unwrap(),
        );
        let record = spanned(content, offset, length);
        assert_eq!(record["eventID"].as_str(), ids.get(row), "{name}");
        let newlines = content[..offset as usize]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        assert_eq!(line as usize, newlines + 1, "{name}");
        *per_file.entry(name).or_insert(0) += 1;
    }
    assert_eq!(per_file.len(), files.len(), "{per_file:?}");
    assert!(per_file.values().all(|n| *n == 3), "{per_file:?}");
}
