//! Hostile evidence: files that lie about their size, hold millions of tiny records, forge
//! their dates, or are no regular files at all. Each is accounted for with its reason and the
//! other files load. Every run here is made under a 4 GiB address-space cap and must exit 0,
//! 1 or 2 with a peak RSS under 1 GiB.

use crate::common;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const ADDRESS_SPACE: u64 = 4 << 30;
const PEAK_RSS: u64 = 1 << 30;

/// Runs trailaudit under the address-space cap and checks how it ended: an exit status of 0, 1
/// or 2 (no signal, no abort) and a peak RSS under 1 GiB.
// The child is reaped by wait4, which Child::wait cannot replace: it also gives the peak RSS.
#[allow(clippy::zombie_processes)]
fn capped<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use std::os::unix::process::CommandExt;
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailaudit"));
    command
        .args(&args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("run trailaudit");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    // wait4, not Child::wait: it also returns the child's resource usage.
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: pid is our child, not yet waited for; status and usage are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let run = Run {
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -libc::WTERMSIG(status)
        },
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    // ru_maxrss is in KiB on Linux.
    let peak = usage.ru_maxrss as u64 * 1024;
    assert!(
        matches!(run.code, 0..=2),
        "{args:?} ended with {} under a {} GiB cap:\n{}",
        run.code,
        ADDRESS_SPACE >> 30,
        run.stderr
    );
    assert!(peak < PEAK_RSS, "{args:?} peaked at {} MiB", peak >> 20);
    run
}

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
    let run = capped([
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
    // A FIFO, a socket and a link to an endless device: reading them would block or never end.
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket.json")).unwrap();
    let fifo = std::ffi::CString::new(
        dir.path()
            .join("fifo.json")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
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
        reason("fifo.json").as_deref(),
        Some("not a regular file: a FIFO")
    );
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
    let run = capped([
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
    let inventory = capped(["inventory".as_ref(), dir.path().as_os_str()]);
    let audit = capped(["audit".as_ref(), "--logs".as_ref(), dir.path().as_os_str()]);
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

/// Inputs that forge their dates: a record from year 1 and one from year 9999 beside the
/// samples. Each is rejected with its reason, and a genuine but sparse history (2013 and
/// 2026) costs one gap entry, not one per day.
fn forged_dates(dir: &Path) -> std::path::PathBuf {
    let record = |time: &str| {
        format!(
            r#"{{"eventTime":"{time}","eventName":"GetObject","recipientAccountId":"999988887777","awsRegion":"us-east-1"}}"#
        )
    };
    let records = [
        record("0001-01-01T00:00:00Z"),
        record("9999-12-31T23:59:59Z"),
        record("2013-01-01T00:00:00Z"),
        record("2026-09-30T00:00:00Z"),
    ];
    write(
        &dir.join("forged.json"),
        format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes(),
    )
}

#[test]
fn forged_dates_are_rejected_and_cost_follows_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let forged = forged_dates(dir.path());
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/logs");
    let run = capped([
        "inventory".as_ref(),
        samples.as_os_str(),
        forged.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    // Rejected records make the evidence partial.
    assert_eq!(run.code, 2, "{}", run.stderr);
    let inv = run.json();
    assert_eq!(inv["events"], 36153 + 2);
    assert_eq!(inv["rejected_records"], 2);
    let reasons: Vec<&str> = inv["rejections"][0]["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{inv:#}");
    for (reason, year) in reasons.iter().zip(["0001", "9999"]) {
        assert!(
            reason.contains(year)
                && reason.contains("outside the time CloudTrail can have recorded"),
            "{reason}"
        );
    }
    assert_eq!(inv["first_event"], "2013-01-01T00:00:00Z");
    let gaps: Vec<&serde_json::Value> = inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["account"] == "999988887777")
        .collect();
    assert_eq!(gaps.len(), 1, "{inv:#}");
    assert_eq!(gaps[0]["first"], "2013-01-02");
    assert_eq!(gaps[0]["last"], "2026-09-29");
    assert_eq!(gaps[0]["days"], 5019);
    assert!(run.stdout.len() < 200_000, "{} bytes", run.stdout.len());

    // The audit's reports stay the size of the records too, in every format.
    let out = dir.path().join("out");
    let run = capped([
        "audit".as_ref(),
        "--logs".as_ref(),
        samples.as_os_str(),
        "--logs".as_ref(),
        forged.as_os_str(),
        "--config".as_ref(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/config")
            .as_os_str(),
        "--allow-partial".as_ref(),
        "--format".as_ref(),
        "html,md,json,sarif,junit".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let activity = report["activity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == "999988887777")
        .unwrap();
    assert_eq!(activity["span_days"], 5021);
    assert_eq!(activity["gap_days"], 5019);
    assert_eq!(activity["days"].as_array().unwrap().len(), 2);
    for entry in std::fs::read_dir(&out).unwrap() {
        let entry = entry.unwrap();
        let size = entry.metadata().unwrap().len();
        assert!(size < 8 << 20, "{}: {size} bytes", entry.path().display());
    }
}

#[test]
fn records_hidden_by_shape_fail_or_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |name: &str| {
        format!(
            r#"{{"eventTime":"2026-07-01T00:00:00Z","eventName":"{name}","eventSource":"cloudtrail.amazonaws.com"}}"#
        )
    };
    let stop = rec("StopLogging");
    // The second "Records" would hide the first.
    write(
        &dir.path().join("twice.json"),
        format!(r#"{{"Records":[{stop}],"Records":[]}}"#).as_bytes(),
    );
    // Two record arrays: reading one would drop the other.
    write(
        &dir.path().join("both.json"),
        format!(r#"{{"Records":[{stop}],"Events":[]}}"#).as_bytes(),
    );
    // A record whose repeated eventName would show StopLogging to one reader and not another.
    write(
        &dir.path().join("ambiguous.json"),
        br#"{"Records":[{"eventTime":"2026-07-01T00:00:00Z","eventName":"StopLogging","eventName":"ListTrails"},{"eventTime":"2026-07-01T00:00:00Z","eventName":"A","userIdentity":{"type":"Root","type":"IAMUser"}}]}"#,
    );
    // Digest signature metadata on the first line of an NDJSON file of records.
    write(
        &dir.path().join("disguised.ndjson"),
        format!(
            "{{\"signature\":\"ab\",\"signature-algorithm\":\"SHA256withRSA\"}}\n{stop}\n{stop}\n"
        )
        .as_bytes(),
    );
    // A pretty-printed digest followed by records.
    write(
        &dir.path().join("digest-then-records.json"),
        format!("{{\n\"digestStartTime\": \"2026-07-01T00:00:00Z\"\n}}\n{{\"Records\":[{stop}]}}")
            .as_bytes(),
    );
    let (code, inv) = inventory(dir.path());
    assert_eq!(code, 0, "--allow-partial: {inv:#}");
    let failed = |name: &str| {
        inv["failed_files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(name))
            .map(|f| f["error"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name} did not fail: {inv:#}"))
    };
    assert!(failed("twice.json").contains(r#"repeated key "Records""#));
    assert!(failed("both.json").contains(r#"holds both "Records" and "Events""#));
    assert!(failed("digest-then-records.json").contains("followed by more JSON values"));
    let rejected = |name: &str| -> Vec<String> {
        inv["rejections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(name))
            .map(|f| {
                f["first"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["reason"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let ambiguous = rejected("ambiguous.json");
    assert_eq!(ambiguous.len(), 2, "{inv:#}");
    assert!(ambiguous[0].contains(r#"repeated key "eventName""#));
    assert!(ambiguous[1].contains(r#"repeated key "userIdentity.type""#));
    assert_eq!(rejected("disguised.ndjson"), ["no eventTime"]);
    assert!(
        inv["skipped_files"].as_array().unwrap().is_empty(),
        "{inv:#}"
    );
    // The disguised file's two records load; nothing else does.
    assert_eq!(inv["events"], 2);

    // Without --allow-partial, such evidence is never a clean run.
    let run = capped(["audit".as_ref(), "--logs".as_ref(), dir.path().as_os_str()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_hard_link_is_the_same_file_and_loads_once() {
    let dir = tempfile::tempdir().unwrap();
    let original = write(&dir.path().join("a.json"), records(3).as_bytes());
    std::fs::hard_link(&original, dir.path().join("b.json")).unwrap();
    let (code, inv) = inventory(dir.path());
    assert_eq!(code, 0, "{inv:#}");
    assert_eq!(inv["events"], 3);
    let skipped = inv["skipped_files"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{inv:#}");
    assert!(skipped[0]["path"].as_str().unwrap().ends_with("b.json"));
    assert_eq!(skipped[0]["reason"], "same file as an earlier input");
}

#[test]
fn wildcard_selectors_see_fields_beside_deeply_nested_values() {
    // 130 levels of nesting in one field: deeper than serde_json builds a value.
    let mut deep = "1".to_string();
    for _ in 0..130 {
        deep = format!(r#"{{"a":{deep}}}"#);
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("deep.json"),
        format!(r#"{{"Records":[{{"eventTime":"2026-07-01T00:00:00Z","eventName":"X","k":"needle","requestParameters":{deep}}}]}}"#)
            .as_bytes(),
    );
    for pattern in [r#"{ $.* = "needle" }"#, r#"{ $.k = "needle" }"#, "needle"] {
        let run = capped([
            "query".as_ref(),
            pattern.as_ref(),
            dir.path().as_os_str(),
            "--count".as_ref(),
        ]);
        assert_eq!(run.stdout.trim(), "1", "{pattern}: {}", run.stderr);
    }
}

#[test]
fn a_report_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir.path().join("report.json"),
        br#"{"schema_version": 999, "policies": []}"#,
    );
    let run = capped(["report".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("report schema_version 999 is not the one this trailaudit reads"),
        "{}",
        run.stderr
    );
}

#[test]
fn files_beyond_the_per_file_limit_fail_with_their_reason_and_the_others_load() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("good.json"), records(3).as_bytes());
    // 1,100 gzip members of 1 MiB of spaces each: 1.1 GiB once decompressed, 1 MB stored.
    let member = gzip(&vec![b' '; 1 << 20]);
    write(&dir.path().join("inflates.json.gz"), &member.repeat(1100));
    // A sparse file just over 1 GiB as stored: refused before it is read.
    let big = std::fs::File::create(dir.path().join("stored.json")).unwrap();
    big.set_len((1 << 30) + 1).unwrap();
    let (code, inv) = inventory(dir.path());
    assert_eq!(code, 0, "--allow-partial: {inv:#}");
    assert_eq!(inv["events"], 3);
    let failed = inv["failed_files"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{inv:#}");
    for f in failed {
        assert_eq!(
            f["error"],
            "larger than the per-file limit of 1073741824 bytes (as stored or decompressed)",
            "{inv:#}"
        );
    }
}

#[test]
fn a_digest_listed_member_that_inflates_past_the_limit_is_unreadable_and_memory_stays_bounded() {
    // The signed vectors in a zip, the log file a digest lists replaced by 1,100 gzip members of
    // 1 MiB of spaces each: 1.1 GiB once decompressed, 1 MB stored.
    const LOG: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/07/31/111122223333_CloudTrail_us-east-1_20240731T1310Z_AbCdEfGhIjKlMnOp.json.gz";
    let s3 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/digest-test-vectors/s3");
    let bomb = gzip(&vec![b' '; 1 << 20]).repeat(1100);
    let members: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(&s3)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let name = e.path().strip_prefix(&s3).unwrap().to_str().unwrap();
            let bytes = if name == LOG {
                bomb.clone()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (name.to_string(), bytes)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let archive = write(&dir.path().join("e.zip"), &zip_of(&members, &[]));
    let run = capped([
        "verify".as_ref(),
        archive.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let v = run.json();
    let p = &v["problems"][0];
    assert_eq!(p["code"], "unreadable", "{v:#}");
    assert_eq!(p["file"], format!("{}!{LOG}", archive.display()));
    assert_eq!(
        p["detail"], "larger than 1073741824 bytes once decompressed",
        "{v:#}"
    );
    assert_eq!(v["trails"][0]["digests"]["valid"], 2, "{v:#}");
}
