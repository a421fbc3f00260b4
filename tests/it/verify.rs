//! `trailaudit verify`: the shared signed vectors, and longer chains signed here with the test
//! key, run through the real binary.

use crate::common;

use std::path::{Path, PathBuf};

use common::{policy, trailaudit, write, Run};
use serde_json::Value;
use trailaudit::synth::digests::{write_chain, Chain, ChainSpec, Signer};

const FINGERPRINT: &str = "8b264e70e4c626bd73fd3d816a1cb3df";
const LOG: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/07/31/111122223333_CloudTrail_us-east-1_20240731T1310Z_AbCdEfGhIjKlMnOp.json.gz";
const DIGEST2: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/31/111122223333_CloudTrail-Digest_us-east-1_example-trail_us-east-1_20240731T140000Z.json.gz";

fn a<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/digest-test-vectors")
}

fn keys() -> PathBuf {
    vectors().join("public-keys.json")
}

/// A writable copy of the vectors' S3 tree.
fn copy_s3(dir: &Path) -> PathBuf {
    let dst = dir.join("bucket");
    for entry in walkdir::WalkDir::new(vectors().join("s3")) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(vectors().join("s3")).unwrap();
        if entry.file_type().is_file() {
            write(&dst.join(rel), &std::fs::read(entry.path()).unwrap());
        }
    }
    dst
}

fn verify(args: &[&std::ffi::OsStr]) -> Run {
    let mut all: Vec<&std::ffi::OsStr> = vec![a("verify")];
    all.extend_from_slice(args);
    trailaudit(all)
}

fn verify_json(paths: &[&Path], with_keys: bool) -> (Run, Value) {
    let mut args: Vec<&std::ffi::OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
    let k = keys();
    if with_keys {
        args.extend([a("--public-keys"), k.as_os_str()]);
    }
    args.extend([a("--format"), a("json")]);
    let run = verify(&args);
    let json = run.json();
    (run, json)
}

/// (code, reason, file name) of every problem.
fn problems(v: &Value) -> Vec<(String, String, String)> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_string(),
                p["reason"].as_str().unwrap().to_string(),
                p["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

fn signer() -> Signer {
    let pem = std::fs::read_to_string(vectors().join("test_private_key.pem")).unwrap();
    Signer::from_pem(&pem, FINGERPRINT).unwrap()
}

fn chain(root: &Path, spec: &ChainSpec) -> Chain {
    write_chain(root, spec, &signer()).unwrap()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_string()
}

#[test]
fn intact_vectors_verify_with_signatures() {
    let (run, v) = verify_json(&[&vectors().join("s3")], true);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(v["signatures_checked"], true);
    let t = &v["trails"][0];
    assert_eq!(t["trail"], "example-trail");
    assert_eq!(t["digests"]["valid"], 2);
    assert_eq!(t["signatures"]["verified"], 2);
    assert_eq!(t["log_files"]["valid"], 1);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["files"]["examined"], 5);

    let text = verify(&[vectors().join("s3").as_os_str()]);
    assert_eq!(text.code, 0);
    assert!(
        text.stdout
            .contains("Signatures: NOT CHECKED (no --public-keys given)"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("Result: VALID"), "{}", text.stdout);
}

#[test]
fn tampered_log_file_is_modified() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = copy_s3(dir.path());
    let tampered = std::fs::read(vectors().join("tampered/log-file-modified.json.gz")).unwrap();
    write(&s3.join(LOG), &tampered);
    let (run, v) = verify_json(&[&s3], true);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        problems(&v),
        [(
            "modified".into(),
            "modified".into(),
            LOG.rsplit('/').next().unwrap().into()
        )]
    );
    assert_eq!(v["trails"][0]["log_files"]["invalid"], 1);
}

#[test]
fn bad_signature_is_reported_on_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = copy_s3(dir.path());
    let bad =
        std::fs::read(vectors().join("tampered/digest2-bad-signature.metadata.json")).unwrap();
    write(&s3.join(format!("{DIGEST2}.metadata.json")), &bad);
    let (run, v) = verify_json(&[&s3], true);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        problems(&v),
        [(
            "signature_invalid".into(),
            "signature invalid".into(),
            DIGEST2.rsplit('/').next().unwrap().into()
        )]
    );
    // Without keys, the same tree passes the hash and chain checks, and says so.
    let (run, v) = verify_json(&[&s3], false);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(v["signatures_checked"], false);
    assert_eq!(v["trails"][0]["signatures"]["not_checked"], 2);
}

#[test]
fn deleted_digest_and_deleted_log_file_are_exactly_two_problems() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), &ChainSpec::small(8));
    let (run, v) = verify_json(&[dir.path()], true);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(v["trails"][0]["digests"]["valid"], 8);
    assert_eq!(v["trails"][0]["signatures"]["verified"], 8);
    assert_eq!(v["trails"][0]["log_files"]["valid"], 16);

    std::fs::remove_file(&c.digests[4]).unwrap();
    std::fs::remove_file(format!("{}.metadata.json", c.digests[4].display())).unwrap();
    std::fs::remove_file(&c.logs[1][0]).unwrap();
    let (run, v) = verify_json(&[dir.path()], true);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let mut got = problems(&v);
    got.sort();
    assert_eq!(
        got,
        [
            (
                "digest_missing".to_string(),
                "digest missing for hour 2024-08-01T04:00Z".to_string(),
                name(&c.digests[4])
            ),
            ("missing".into(), "missing".into(), name(&c.logs[1][0])),
        ]
    );
    // The missing digest's log files cannot be verified: said under its problem, not as more
    // problems.
    let missing = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "digest_missing")
        .unwrap();
    assert_eq!(missing["unverified_log_files"].as_array().unwrap().len(), 2);
    let t = &v["trails"][0];
    assert_eq!(t["digests"]["valid"], 7);
    assert_eq!(t["digests"]["missing"], 1);
    assert_eq!(t["log_files"]["missing"], 1);
    assert_eq!(t["log_files"]["valid"], 13);
    assert_eq!(t["log_files_unverified"], 2);

    let text = verify(&[dir.path().as_os_str()]);
    assert_eq!(text.code, 1);
    assert!(text
        .stdout
        .contains("FAIL  digest missing for hour 2024-08-01T04:00Z"));
    assert!(text
        .stdout
        .contains("FAIL  missing: s3://example-trail-bucket/AWSLogs/"));
}

#[test]
fn modified_digest_breaks_the_chain_and_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), &ChainSpec::small(4));
    // Same content, different gzip bytes would still verify; change the content.
    let mut body = String::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(std::fs::File::open(&c.digests[1]).unwrap())
        .read_to_string(&mut body)
        .unwrap();
    let forged = body.replace("\"logFiles\":[", "\"logFiles\":[ ");
    write(&c.digests[1], &common::gzip(forged.as_bytes()));
    let (run, v) = verify_json(&[dir.path()], true);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let got = problems(&v);
    assert!(got.contains(&(
        "signature_invalid".into(),
        "signature invalid".into(),
        name(&c.digests[1])
    )));
    assert!(got.contains(&(
        "chain_broken".into(),
        format!("chain broken after {}", name(&c.digests[1])),
        name(&c.digests[2])
    )));
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn unlisted_log_file_moved_digest_and_restarted_chain() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), &ChainSpec::small(3));
    // A log file delivered in the chain's period that no digest lists.
    let extra = c.logs[1][0].with_file_name(
        "111122223333_CloudTrail_us-east-1_20240801T0140Z_EXTRAEXTRAEXTRA1.json.gz",
    );
    std::fs::copy(&c.logs[1][0], &extra).unwrap();
    // A second chain after a pause (StopLogging, then StartLogging): a restart, not a failure.
    let mut later = ChainSpec::small(2);
    later.start += 6 * 3_600_000;
    chain(dir.path(), &later);
    let (run, v) = verify_json(&[dir.path()], true);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let mut got = problems(&v);
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "chain_restarted");
    assert_eq!(
        got[1],
        (
            "not_in_any_digest".into(),
            "not in any digest".into(),
            name(&extra)
        )
    );

    // A digest moved to another key.
    std::fs::remove_file(&extra).unwrap();
    let moved = c.digests[0]
        .parent()
        .unwrap()
        .with_file_name("02")
        .join(name(&c.digests[0]));
    write(&moved, &std::fs::read(&c.digests[0]).unwrap());
    std::fs::remove_file(&c.digests[0]).unwrap();
    let (run, v) = verify_json(&[dir.path()], false);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(problems(&v).contains(&(
        "moved".into(),
        "moved from its original location".into(),
        name(&c.digests[0])
    )));
}

#[test]
fn organization_trail_with_a_prefix_and_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ChainSpec::small(6);
    spec.organization = Some("o-abc123def4".into());
    chain(&dir.path().join("bucket/some/prefix"), &spec);
    let (run, v) = verify_json(&[dir.path()], true);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(v["trails"][0]["organization"], "o-abc123def4");
    assert_eq!(v["trails"][0]["digests"]["valid"], 6);

    let run = verify(&[
        dir.path().as_os_str(),
        a("--from"),
        a("2024-08-01T02:00:00Z"),
        a("--to"),
        a("2024-08-01T02:59:59Z"),
        a("--format"),
        a("json"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let v = run.json();
    // The hour itself and the one after (whose digest lists files delivered up to --to).
    assert_eq!(v["trails"][0]["digests"]["valid"], 2);
    assert_eq!(v["files"]["out_of_window"], 4);
}

#[test]
fn damaged_inputs_are_unreadable_with_a_reason_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path(), &ChainSpec::small(4));
    let d = &c.digests;
    let bytes = std::fs::read(&d[1]).unwrap();
    write(&d[1], &bytes[..bytes.len() / 2]); // truncated gzip
    write(&d[2], &common::gzip(b"{\"awsAccountId\": 1")); // bad JSON
    write(
        &PathBuf::from(format!("{}.metadata.json", d[3].display())),
        b"{\"signature\": \"zz\"}",
    );
    let log = &c.logs[0][0];
    write(log, b"\x1f\x8b\x08\x00garbage");
    let bad_keys = dir.path().join("keys.json");
    write(
        &bad_keys,
        br#"{"PublicKeyList":[{"Value":"AAAA","Fingerprint":"8b264e70e4c626bd73fd3d816a1cb3df"}]}"#,
    );
    let run = verify(&[
        dir.path().join("AWSLogs").as_os_str(),
        a("--public-keys"),
        bad_keys.as_os_str(),
        a("--format"),
        a("json"),
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let v = run.json();
    let got = problems(&v);
    for f in [name(&d[1]), name(&d[2]), name(log)] {
        assert!(
            got.contains(&("unreadable".into(), "unreadable".into(), f.clone())),
            "{f}: {got:?}"
        );
    }
    // Bad hex and an unusable key are signature failures of the digests they concern.
    assert!(got
        .iter()
        .any(|p| p.0 == "signature_invalid" && p.2 == name(&d[3])));
    assert!(run.stderr.is_empty() || !run.stderr.contains("panicked"));

    // Nothing to verify, a missing path, and a bad key file are errors (exit 2).
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(verify(&[empty.path().as_os_str()]).code, 2);
    assert_eq!(verify(&[a("no/such/dir")]).code, 2);
    let junk = dir.path().join("junk.json");
    write(&junk, b"[1,2");
    let run = verify(&[
        vectors().join("s3").as_os_str(),
        a("--public-keys"),
        junk.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("invalid public key list"),
        "{}",
        run.stdout
    );
}

#[test]
fn audit_reports_digest_problems_as_findings() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let c = chain(&logs, &ChainSpec::small(4));
    // Public keys where a collector saves them.
    let config = dir.path().join("config");
    write(
        &config.join("111122223333/us-east-1/cloudtrail/public-keys.json"),
        signer().public_keys_json().as_bytes(),
    );
    let audit = |logs: &Path| {
        let run = trailaudit([
            a("audit"),
            a("--logs"),
            logs.as_os_str(),
            a("--config"),
            config.as_os_str(),
            a("--format"),
            a("json"),
        ]);
        let v = run.json();
        (run, v)
    };
    // Keys synced next to the logs are not event history, and not a failed input either.
    write(
        &logs.join("public-keys.json"),
        signer().public_keys_json().as_bytes(),
    );
    let (run, v) = audit(&logs);
    assert_eq!(v["inputs"]["partial"], false, "{}", run.stderr);
    let p = policy(&v, "TA-INT-001");
    assert_eq!(p["status"], "pass", "{p:#}");
    assert!(
        p.get("warnings").is_none(),
        "signatures were checked: {p:#}"
    );
    assert_eq!(p["kind"], "integrity");
    assert!(p["frameworks"]["pci-dss-v4.0"]
        .as_array()
        .unwrap()
        .contains(&"10.3.2".into()));

    // One log file rewritten with other content.
    let records = r#"{"Records":[]}"#;
    write(&c.logs[2][1], &common::gzip(records.as_bytes()));
    let (_, v) = audit(&logs);
    let p = policy(&v, "TA-INT-001");
    assert_eq!(p["status"], "fail");
    let findings = p["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{p:#}");
    assert!(findings[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("modified: "));
    assert!(findings[0]["resource"]
        .as_str()
        .unwrap()
        .ends_with(&name(&c.logs[2][1])));

    // Without digests, no evidence (not a pass), with the reason.
    let plain = dir.path().join("plain");
    write(&plain.join("f.json"), records.as_bytes());
    let (_, v) = audit(&plain);
    let p = policy(&v, "TA-INT-001");
    assert_eq!(p["status"], "no_evidence");
    assert!(p["reason"].as_str().unwrap().contains("no digest files"));
}

#[test]
fn audit_reports_delivery_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_722_470_400_000i64; // 2024-08-01T00:00:00Z
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut records = Vec::new();
    for h in 0..48 {
        if (20..26).contains(&h) {
            continue; // six silent hours
        }
        let r = common::record(
            &at(t0 + h * 3_600_000 + 600_000),
            "111122223333",
            "eu-west-1",
            "DescribeInstances",
        );
        records.push(r);
    }
    // Stopped by name, started by ARN: the same trail.
    for (minute, name, trail) in [
        (30 * 60 + 10, "StopLogging", "main-trail"),
        (
            31 * 60 + 5,
            "StartLogging",
            "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main-trail",
        ),
    ] {
        let mut r = common::record(&at(t0 + minute * 60_000), "111122223333", "eu-west-1", name);
        r["eventSource"] = "cloudtrail.amazonaws.com".into();
        r["requestParameters"] = serde_json::json!({ "name": trail });
        records.push(r);
    }
    let logs = dir.path().join("events.json");
    write(
        &logs,
        serde_json::json!({"Records": records})
            .to_string()
            .as_bytes(),
    );
    let run = trailaudit([
        a("audit"),
        a("--logs"),
        logs.as_os_str(),
        a("--format"),
        a("json"),
    ]);
    let v = run.json();
    let p = policy(&v, "TA-INT-002");
    assert_eq!(p["status"], "fail", "{p:#}");
    let messages: Vec<&str> = p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with(
        "logging stopped at 2024-08-02T06:10:00Z by arn:aws:iam::111122223333:user/u until StartLogging at 2024-08-02T07:05:00Z (55 minutes)"
    )), "{messages:?}");
    assert!(
        messages.iter().any(|m| m
            .starts_with("no events for 6 hour(s), 2024-08-01T20:00:00Z .. 2024-08-02T02:00:00Z")),
        "{messages:?}"
    );
    assert_eq!(policy(&v, "TA-INT-001")["status"], "no_evidence");
}

#[test]
fn another_bucket_without_digests_is_not_judged_by_this_ones() {
    let dir = tempfile::tempdir().unwrap();
    chain(&dir.path().join("validated"), &ChainSpec::small(3));
    // A second trail's bucket, validation off: same account and region, no digests.
    let other = dir
        .path()
        .join("legacy/AWSLogs/111122223333/CloudTrail/us-east-1/2024/08/01");
    write(
        &other.join("111122223333_CloudTrail_us-east-1_20240801T0130Z_LEGACYLEGACY0001.json.gz"),
        &common::gzip(br#"{"Records":[]}"#),
    );
    let (run, v) = verify_json(&[dir.path()], true);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(problems(&v)[0].0, "not_covered");
}

/// Keys given but none usable is an error, not "signatures not checked" and a pass.
#[test]
fn public_keys_without_a_usable_key_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(
        &dir.path().join("public-keys.json"),
        br#"{"PublicKeyList":[]}"#,
    );
    let s3 = vectors().join("s3");
    let run = verify(&[s3.as_os_str(), a("--public-keys"), empty.as_os_str()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("no usable public key"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

/// The vectors' S3 tree as archive members (name from `AWSLogs/` on, bytes), `LOG` replaced by
/// the tampered copy when asked.
fn s3_members(tampered: bool) -> Vec<(String, Vec<u8>)> {
    let root = vectors().join("s3");
    let mut members: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(&root)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let name = e.path().strip_prefix(&root).unwrap().to_str().unwrap();
            (name.to_string(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    if tampered {
        let bad = std::fs::read(vectors().join("tampered/log-file-modified.json.gz")).unwrap();
        members.iter_mut().find(|(n, _)| n == LOG).unwrap().1 = bad;
    }
    members
}

/// A report with the paths of the inputs under `root` (a directory, or `ARCHIVE!`) cut to
/// their `AWSLogs/` keys, so that an archive's report compares with its unpacked tree's.
fn keyed(v: &Value, root: &str) -> Value {
    serde_json::from_str(&v.to_string().replace(root, "")).unwrap()
}

#[test]
fn archives_verify_and_audit_as_their_unpacked_tree() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write(
        &config.join("public-keys.json"),
        &std::fs::read(keys()).unwrap(),
    );
    let audit_int = |logs: &Path| {
        let run = trailaudit([
            a("audit"),
            a("--logs"),
            logs.as_os_str(),
            a("--config"),
            config.as_os_str(),
            a("--format"),
            a("json"),
        ]);
        let v = run.json();
        (run.code, policy(&v, "TA-INT-001").clone())
    };
    for tampered in [false, true] {
        let members = s3_members(tampered);
        let case = dir
            .path()
            .join(if tampered { "tampered" } else { "intact" });
        let tree = case.join("tree");
        for (name, bytes) in &members {
            write(&tree.join(name), bytes);
        }
        let (run, want) = verify_json(&[&tree], true);
        assert_eq!(run.code, if tampered { 1 } else { 0 }, "{}", run.stdout);
        let tree_root = format!("{}/", tree.display());
        let mut want_keyed = keyed(&want, &tree_root);
        want_keyed["paths"] = Value::Null;
        let (want_code, want_int) = audit_int(&tree);
        let want_int = keyed(&want_int, &tree_root);
        assert_eq!(
            want_int["status"],
            if tampered { "fail" } else { "pass" },
            "{want_int:#}"
        );
        // zip -r, tar cf (names under ./), tar czf; the file names say nothing.
        for (sub, bytes, prefix) in [
            ("zip", common::zip_of(&members, &["AWSLogs/"]), ""),
            ("tar", common::tar_of(&members), "./"),
            ("tgz", common::gzip(&common::tar_of(&members)), "./"),
        ] {
            let archive = write(&case.join(sub).join("evidence.bin"), &bytes);
            let root = format!("{}!{prefix}", archive.display());
            let (run, got) = verify_json(&[&archive], true);
            assert_eq!(
                run.code,
                if tampered { 1 } else { 0 },
                "{sub}: {}",
                run.stdout
            );
            assert_eq!(got["files"]["archives"], 1, "{sub}: {got:#}");
            assert_eq!(want["files"]["archives"], 0);
            let mut got_keyed = keyed(&got, &root);
            got_keyed["paths"] = Value::Null;
            got_keyed["files"]["archives"] = 0.into();
            assert_eq!(
                got_keyed, want_keyed,
                "{sub}: the same verification as unpacked"
            );
            assert_eq!(
                got["trails"][0]["log_files"]["valid"],
                if tampered { 0 } else { 1 }
            );
            if tampered {
                // The tampered member is named as ARCHIVE!member.
                let p = &got["problems"][0];
                assert_eq!(p["code"], "modified", "{sub}: {got:#}");
                assert_eq!(p["file"], format!("{root}{LOG}"), "{sub}");
            }
            let (code, int) = audit_int(archive.parent().unwrap());
            assert_eq!(code, want_code, "{sub}");
            assert_eq!(keyed(&int, &root), want_int, "{sub}: TA-INT-001");
            if tampered {
                assert_eq!(
                    int["findings"][0]["resource"],
                    format!("{root}{LOG}"),
                    "{sub}: {int:#}"
                );
            }
        }
    }
}

/// The same trail given twice (the unpacked tree and its archive): every copy is checked, and
/// the log file the digests list counts once. A tampered copy beside an intact one makes the
/// listed file invalid and is named.
#[test]
fn a_log_file_given_twice_counts_once_and_each_copy_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    for (name, bytes) in s3_members(false) {
        write(&tree.join(name), &bytes);
    }
    let (run, alone) = verify_json(&[&tree], true);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(alone["trails"][0]["log_files"]["valid"], 1, "{alone:#}");
    for tampered in [false, true] {
        let archive = write(
            &dir.path()
                .join(if tampered { "tampered" } else { "intact" })
                .join("copy.tar"),
            &common::tar_of(&s3_members(tampered)),
        );
        let (run, both) = verify_json(&[&tree, &archive], true);
        let counts = &both["trails"][0]["log_files"];
        assert_eq!(
            both["files"]["log_files"], 2,
            "both copies examined: {both:#}"
        );
        if tampered {
            assert_eq!(run.code, 1, "{}", run.stdout);
            assert_eq!(counts["valid"], 0, "{both:#}");
            assert_eq!(counts["invalid"], 1, "{both:#}");
            let named: Vec<&str> = both["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["file"].as_str().unwrap())
                .collect();
            assert_eq!(
                named,
                [format!("{}!./{LOG}", archive.display())],
                "only the tampered copy is named"
            );
        } else {
            assert_eq!(run.code, 0, "{}", run.stdout);
            assert_eq!(counts, &alone["trails"][0]["log_files"], "{both:#}");
        }
    }
}

#[test]
fn a_damaged_archive_or_member_is_unreadable_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    // A log member whose gzip is garbage: unreadable, named ARCHIVE!member.
    let mut members = s3_members(false);
    members.iter_mut().find(|(n, _)| n == LOG).unwrap().1 = b"\x1f\x8b\x08\x00garbage".to_vec();
    let archive = write(
        &dir.path().join("bad-member/e.zip"),
        &common::zip_of(&members, &[]),
    );
    let (run, v) = verify_json(&[&archive], true);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let p = &v["problems"][0];
    assert_eq!(p["code"], "unreadable", "{v:#}");
    assert_eq!(p["file"], format!("{}!{LOG}", archive.display()));
    assert_eq!(v["trails"][0]["digests"]["valid"], 2, "{v:#}");

    // A tar.gz cut short: what was listed before the damage is checked, the archive is
    // unreadable with the reason, and nothing panics.
    let tgz = common::gzip(&common::tar_of(&s3_members(false)));
    let cut = write(&dir.path().join("cut/e.tgz"), &tgz[..tgz.len() * 2 / 3]);
    let run = verify(&[cut.as_os_str(), a("--format"), a("json")]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let v = run.json();
    let unreadable: Vec<(&str, &str)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["code"] == "unreadable")
        .map(|p| (p["file"].as_str().unwrap(), p["detail"].as_str().unwrap()))
        .collect();
    assert!(
        unreadable.contains(&(
            cut.to_str().unwrap(),
            "archive: truncated tar.gz: incomplete deflate stream"
        )),
        "{v:#}"
    );
    assert_eq!(v["files"]["archives"], 1);
}
