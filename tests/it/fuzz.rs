//! Bounded fuzzing, run in CI: the digest parser and signature check over mutated and arbitrary
//! bytes, and the whole pipeline from a record of arbitrary text to every report format. The
//! loader and the filter parser have theirs (tests/it/robustness.rs, tests/it/filter_fuzz.rs).

use crate::common;

use common::*;
use proptest::prelude::*;
use trailaudit::integrity::digest::{verify_signature, Digest};
use trailaudit::report::escape::is_hostile;
use trailaudit::report::render::{self, Format};

/// A real (test-vector) digest body, uncompressed.
fn digest_body() -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/digest-test-vectors/s3/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/31");
    let path = dir.join(
        "111122223333_CloudTrail-Digest_us-east-1_example-trail_us-east-1_20240731T130000Z.json.gz",
    );
    let gz = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_digest_parser_never_panics_on_mutated_digests(
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
    ) {
        let mut body = digest_body();
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        body.truncate(cut.index(body.len() + 1));
        match Digest::parse(&body) {
            Ok(d) => prop_assert_eq!(d.sha256.len(), 64),
            Err(message) => prop_assert!(!message.is_empty()),
        }
    }

    #[test]
    fn the_digest_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Digest::parse(&bytes);
    }

    #[test]
    fn a_signature_check_never_panics(
        key in prop::collection::vec(any::<u8>(), 0..300),
        message in prop::collection::vec(any::<u8>(), 0..64),
        signature in "[0-9a-fA-Fg ]{0,600}",
    ) {
        prop_assert!(verify_signature(&key, &message, &signature).is_err());
    }
}

/// Text a record field may hold: mostly the characters that break outputs.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "\u{1b}[2K",
        "\r",
        "\n",
        "\u{7}",
        "\u{0}",
        "\u{202e}",
        "\u{2066}",
        "\u{fffe}",
        "\u{ffff}",
        "\u{85}",
        "<script>",
        "]]>",
        "&amp;",
        "\"",
        "'",
        "`",
        "|",
        "*",
        "_",
        "[x](http://e)",
        "https://evil.example/a",
        "www.evil.example",
        "a@evil.example",
        "{{x}}",
        "=cmd",
        "%0A",
        "é",
        "𝕏",
        "\\",
        "/",
        "..",
        " ",
    ]);
    prop::collection::vec(pieces, 1..6).prop_map(|p| p.concat())
}

fn audit(dir: &std::path::Path) -> trailaudit::report::Report {
    let set = trailaudit::policy::PolicySet::load(&[], false).unwrap();
    let req = trailaudit::audit::Request {
        allow_partial: true,
        evidence_per_finding: 10,
        chunk_rows: 1000,
        ..trailaudit::audit::Request::new(&set, vec![dir.to_path_buf()], Vec::new())
    };
    trailaudit::audit::run(req).unwrap().report
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever a record's fields hold, every format renders, the structured ones parse, and
    /// none carries a control or bidirectional character raw.
    #[test]
    fn every_format_renders_any_record_text_safely(
        account in hostile_text(),
        region in hostile_text(),
        principal in hostile_text(),
        agent in hostile_text(),
        bucket in hostile_text(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let record = serde_json::json!({
            "eventVersion": "1.08",
            "eventTime": "2026-07-01T00:00:00Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "recipientAccountId": account,
            "awsRegion": region,
            "userAgent": agent,
            "userIdentity": {"type": "Root", "arn": principal, "accountId": account},
            "requestParameters": {"name": bucket},
        });
        write(&dir.path().join("r.json"), &envelope(&[record]));
        let report = audit(dir.path());
        for format in [Format::Text, Format::Json, Format::Md, Format::Sarif, Format::Junit, Format::Html, Format::Ocsf, Format::Asff] {
            let out = render::render(format, &report, None).unwrap();
            let raw: Vec<char> = out
                .chars()
                .filter(|c| is_hostile(*c) && *c != '\n')
                .collect();
            prop_assert!(raw.is_empty(), "{:?} writes {:?} raw", format, raw);
            match format {
                Format::Json | Format::Sarif | Format::Ocsf | Format::Asff => {
                    prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
                }
                Format::Junit => {
                    prop_assert!(roxmltree::Document::parse(&out).is_ok(), "{}", out);
                }
                _ => {}
            }
        }
        let json: serde_json::Value =
            serde_json::from_str(&render::render(Format::Json, &report, None).unwrap()).unwrap();
        prop_assert!(json["scope"]["accounts"].as_array().unwrap().iter().any(|a| a == &serde_json::json!(account)));
    }
}
