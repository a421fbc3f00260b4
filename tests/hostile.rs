//! Hostile evidence: files that lie about their size, hold millions of tiny records, or are no
//! regular files at all. Each is accounted for with its reason and the other files load.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

const RECORD: &str = r#"{"eventTime":"2026-07-01T00:00:00Z","eventName":"GetObject"}"#;

fn records(n: usize) -> String {
    let mut s = String::with_capacity(n * (RECORD.len() + 1) + 16);
    s.push_str(r#"{"Records":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(RECORD);
    }
    s.push_str("]}");
    s
}

fn inventory(path: &Path) -> (i32, serde_json::Value) {
    let run = trailaudit([
        "inventory".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--allow-partial".as_ref(),
    ]);
    (run.code, run.json())
}

#[test]
fn special_files_are_skipped_with_their_reason_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("good.json"), records(3).as_bytes());
    // A socket and a link to an endless device: reading either would block or never end.
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).unwrap();
    let (code, inv) = inventory(dir.path());
    assert_eq!(code, 0, "{inv:#}");
    assert_eq!(inv["events"], 3);
    let skipped = inv["skipped_files"].as_array().unwrap();
    let reason = |name: &str| {
        skipped
            .iter()
            .find(|s| s["path"].as_str().unwrap().ends_with(name))
            .map(|s| s["reason"].as_str().unwrap().to_string())
    };
    assert_eq!(
        reason("socket.json").as_deref(),
        Some("not a regular file: a socket")
    );
    assert_eq!(
        reason("zero.json").as_deref(),
        Some("not a regular file: a device")
    );
}

#[test]
fn a_gzip_trailer_that_lies_about_the_size_is_not_believed() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = gzip(records(1000).as_bytes());
    // ISIZE, the last four bytes: claim 4 GiB - 1 instead of the real size.
    let n = gz.len();
    gz[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    write(&dir.path().join("liar.json.gz"), &gz);
    write(
        &dir.path().join("honest.json.gz"),
        &gzip(records(10).as_bytes()),
    );
    let (code, inv) = inventory(dir.path());
    // flate2 checks the trailer it was handed: the file is corrupt, with its reason, and the
    // honest one loads.
    assert_eq!(code, 0, "{inv:#}");
    assert_eq!(inv["events"], 10);
    let failed = inv["failed_files"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{inv:#}");
    assert!(failed[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("liar.json.gz"));
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("corrupt gzip"),
        "{inv:#}"
    );
}

#[test]
fn a_record_bomb_loads_every_record_in_chunks() {
    // More records in one small gzip file than CloudTrail ever writes to a file.
    let dir = tempfile::tempdir().unwrap();
    let n = 200_000;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(records(n).as_bytes()).unwrap();
    write(&dir.path().join("bomb.json.gz"), &e.finish().unwrap());
    let (code, inv) = inventory(dir.path());
    assert_eq!(code, 0, "{inv:#}");
    assert_eq!(inv["events"], n);
    assert_eq!(inv["formats"]["cloudtrail_log"], 1, "{inv:#}");
    let run = trailaudit([
        "query".as_ref(),
        r#"{ $.eventName = "GetObject" }"#.as_ref(),
        dir.path().as_os_str(),
        "--count".as_ref(),
        "--chunk-rows".as_ref(),
        "1000".as_ref(),
    ]);
    assert_eq!(run.stdout.trim(), n.to_string(), "{}", run.stderr);
}

#[test]
fn terminal_escapes_and_bidi_overrides_never_reach_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    // An account id that would rewrite the line, and a region that reverses what follows it.
    let record = r#"{"eventTime":"2026-07-01T00:00:00Z","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com","recipientAccountId":"111122223333\u001b[2K\rpass","awsRegion":"us-east-1\u202egol","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root\u0007"}}"#;
    write(&dir.path().join("evil.json"), record.as_bytes());
    let inventory = trailaudit(["inventory".as_ref(), dir.path().as_os_str()]);
    let audit = trailaudit(["audit".as_ref(), "--logs".as_ref(), dir.path().as_os_str()]);
    for (what, run) in [("inventory", &inventory), ("audit", &audit)] {
        let out = &run.stdout;
        assert!(out.contains("111122223333"), "{what}: {out}");
        for raw in ['\u{1b}', '\r', '\u{7}', '\u{202e}'] {
            assert!(!out.contains(raw), "{what} prints {raw:?} raw:\n{out}");
        }
        assert!(
            out.contains("\\u{1b}") && out.contains("\\u{202e}"),
            "{what}:\n{out}"
        );
    }
}
