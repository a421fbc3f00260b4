//! No input panics the loader, and every file and record stays accounted for, however it is
//! truncated or corrupted.

use crate::common;

use common::*;
use proptest::prelude::*;
use trailaudit::events::{self, Keep, Outcome};

fn bases() -> Vec<(&'static str, Vec<u8>)> {
    let recs: Vec<serde_json::Value> = (0..4)
        .map(|i| {
            record(
                &format!("2024-07-31T13:1{i}:00Z"),
                "111122223333",
                "us-east-1",
                "X",
            )
        })
        .collect();
    let env = envelope(&recs);
    let ndjson = recs
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let lookup = serde_json::json!({"Events": recs.iter().map(|r| serde_json::json!({"EventId": "e", "CloudTrailEvent": r.to_string()})).collect::<Vec<_>>()});
    let members = vec![
        ("AWSLogs/a.json.gz".to_string(), gzip(&env)),
        ("AWSLogs/c.ndjson".to_string(), ndjson.clone().into_bytes()),
    ];
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(ndjson.encode_utf16().flat_map(u16::to_le_bytes));
    let concatenated: String = recs.iter().map(|r| r.to_string()).collect();
    vec![
        ("a.json.gz", gzip(&env)),
        ("b.json", env),
        ("c.ndjson", ndjson.into_bytes()),
        ("d.json", lookup.to_string().into_bytes()),
        ("e.json", serde_json::to_vec(&recs).unwrap()),
        // Archives: their members are accounted for one by one.
        ("f.zip", zip_of(&members, &[])),
        ("g.tar", tar_of(&members)),
        ("h.tar.gz", gzip(&tar_of(&members))),
        ("i.json", utf16),
        ("j", concatenated.into_bytes()),
    ]
}

/// Bases that are archives: one input is several accounted files.
const ARCHIVES: [usize; 3] = [5, 6, 7];

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(prop::sample::Index),
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..8)
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match m {
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
            Mutation::Flip(i, x) => {
                let at = i.index(bytes.len());
                bytes[at] ^= x;
            }
            Mutation::Insert(i, b) => {
                let at = i.index(bytes.len());
                bytes.splice(at..at, b.iter().copied());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_files_are_accounted_for(base in 0usize..10, mutations in prop::collection::vec(mutation(), 1..4)) {
        let (name, bytes) = bases().swap_remove(base);
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir.path().join(name), &apply(bytes, &mutations));
        let frame = events::load(std::slice::from_ref(&path));
        if !ARCHIVES.contains(&base) {
            prop_assert_eq!(frame.accounting.files.len(), 1);
        }
        let mut loaded = 0;
        for f in &frame.accounting.files {
            match &f.outcome {
                Outcome::Loaded { records, .. } => loaded += *records as usize,
                Outcome::Failed { .. } | Outcome::Skipped { .. } => {
                    prop_assert_eq!(f.rejections.total, 0);
                }
            }
        }
        prop_assert_eq!(loaded, frame.events());
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in "\\PC{0,200}") {
        for keep in [Keep::Whole, Keep::Columns(1)] {
            let _ = events::shape::read_records(&text, keep, &mut |_, item| {
                if let Ok(raw) = item {
                    let _ = raw.parse(keep);
                }
            });
        }
    }

    #[test]
    fn json_like_text_never_panics_the_parser(text in r#"[\[\]{}",:0-9a-zA-Z@ \n\\-]{0,120}"#) {
        let wrapped = [text.clone(), format!("{{\"Records\":[{text}]}}"), format!("{{\"eventTime\":{text}}}")];
        for t in wrapped {
            for keep in [Keep::Whole, Keep::Columns(1)] {
                let _ = events::shape::read_records(&t, keep, &mut |_, item| {
                    if let Ok(raw) = item {
                        let _ = raw.parse(keep);
                    }
                });
            }
        }
    }
}
