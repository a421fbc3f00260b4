//! The polars backend and the reference evaluator agree on every record, for random patterns
//! over random CloudTrail-like records (including fields of unexpected JSON types).

use crate::common;

use common::write;
use polars::prelude::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use trailaudit::events::{self, schema};
use trailaudit::filter::{to_polars, Pattern};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "Root", "",
            "x*y", "Yes", "No", "true", "config.amazonaws.com", "stratus-role", "Success", "123.123.1.1", "ConsoleLogin", "Ev*ent", "400",
        ]).prop_map(|s| json!(s)),
        1 => prop::sample::select(vec![json!(0), json!(400), json!(-1.5), json!(1e3), json!(true), json!(false), json!(null)]),
        1 => Just(json!({"k": "v"})),
        1 => Just(json!(["Root", 400])),
    ]
}

fn maybe(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.7, v)
}

fn record() -> impl Strategy<Value = Value> {
    (
        (
            maybe(scalar()),
            maybe(scalar()),
            maybe(scalar()),
            maybe(scalar()),
        ),
        (maybe(scalar()), maybe(scalar()), maybe(scalar())),
        (
            maybe(scalar()),
            maybe(prop::collection::vec(scalar(), 0..3).prop_map(Value::Array)),
            maybe(scalar()),
        ),
        prop::sample::select(vec![
            "2024-07-31T13:10:00Z",
            "2024-07-31T13:10:00.5Z",
            "2024-07-31 13:10:00",
        ]),
        any::<bool>(),
        (
            maybe(scalar()),
            maybe(scalar()),
            maybe(scalar()),
            maybe(scalar()),
        ),
    )
        .prop_map(
            |(
                (name, code, ip, ro),
                (ty, invoked, mfa),
                (bucket, items, extra),
                time,
                nest_null,
                (arn, issuer_arn, mfa_auth, console),
            )| {
                let mut r = serde_json::Map::new();
                r.insert("eventTime".into(), json!(time));
                let put = |m: &mut serde_json::Map<String, Value>, k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                };
                put(&mut r, "eventName", name);
                put(&mut r, "errorCode", code);
                put(&mut r, "sourceIPAddress", ip);
                put(&mut r, "readOnly", ro);
                let mut ui = serde_json::Map::new();
                put(&mut ui, "type", ty);
                put(&mut ui, "invokedBy", invoked);
                put(&mut ui, "arn", arn);
                let mut issuer = serde_json::Map::new();
                put(&mut issuer, "arn", issuer_arn);
                issuer.insert("userName".into(), json!("stratus-role"));
                let mut attributes = serde_json::Map::new();
                put(&mut attributes, "mfaAuthenticated", mfa_auth);
                ui.insert(
                    "sessionContext".into(),
                    json!({"sessionIssuer": issuer, "attributes": attributes}),
                );
                r.insert("userIdentity".into(), Value::Object(ui));
                if let Some(console) = console {
                    r.insert("responseElements".into(), json!({"ConsoleLogin": console}));
                }
                if nest_null {
                    r.insert("additionalEventData".into(), Value::Null);
                } else {
                    let mut aed = serde_json::Map::new();
                    put(&mut aed, "MFAUsed", mfa);
                    r.insert("additionalEventData".into(), Value::Object(aed));
                }
                let mut rp = serde_json::Map::new();
                put(&mut rp, "bucketName", bucket);
                put(&mut rp, "items", items);
                r.insert("requestParameters".into(), Value::Object(rp));
                put(&mut r, "@extra", extra);
                Value::Object(r)
            },
        )
}

fn selector() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "$.eventName",
        "$.errorCode",
        "$.sourceIPAddress",
        "$.readOnly",
        "$.eventTime",
        "$.userIdentity.type",
        "$.userIdentity.invokedBy",
        "$.additionalEventData.MFAUsed",
        "$.requestParameters.bucketName",
        "$.requestParameters.items[0]",
        "$.requestParameters.items[*]",
        "$.userIdentity.*",
        "$.userIdentity.arn",
        "$.userIdentity.sessionContext.*",
        "$.userIdentity.sessionContext.sessionIssuer.*",
        "$.userIdentity.sessionContext.sessionIssuer.arn",
        "$.userIdentity.sessionContext.sessionIssuer.userName",
        "$.userIdentity.sessionContext.attributes.mfaAuthenticated",
        "$.userIdentity.sessionContext.attributes.*",
        "$.userIdentity.type.*",
        "$.responseElements.*",
        "$.responseElements.ConsoleLogin",
        "$.*",
        "$.eventName.sub",
        "$.['@extra']",
        "$.errorCode[0]",
    ])
}

fn condition() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec![
        "AccessDenied",
        "AccessDenied*",
        "*UnauthorizedOperation",
        "*Denied*",
        "Ev*ent",
        "*",
        "\"*\"",
        "\"\"",
        "Root",
        "\"x*y\"",
        "400",
        "-1.5",
        "1e3",
        "0",
        "%Denied%",
        "%^Acc.{3}s%",
        "\"400\"",
        "true",
        "Yes",
        "2024-07-31T13:10:00Z",
        "2024-07-31*",
        "123.123.*",
        "config.amazonaws.com",
        "stratus-*",
        "Success",
    ]);
    let numeric = prop::sample::select(vec!["0", "400", "-1.5", "1e3", "10e-3"]);
    prop_oneof![
        4 => (selector(), prop::sample::select(vec!["=", "!="]), value)
            .prop_map(|(s, op, v)| format!("{s} {op} {v}")),
        1 => (selector(), prop::sample::select(vec!["<", ">", "<=", ">="]), numeric)
            .prop_map(|(s, op, v)| format!("{s} {op} {v}")),
        2 => (selector(), prop::sample::select(vec!["IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"]))
            .prop_map(|(s, t)| format!("{s} {t}")),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    let leaf = condition().prop_map(|c| format!("({c})"));
    let expr = leaf.prop_recursive(2, 6, 3, |inner| {
        (
            prop::collection::vec(inner, 2..4),
            prop::sample::select(vec![" && ", " || "]),
        )
            .prop_map(|(items, op)| format!("({})", items.join(op)))
    });
    expr.prop_map(|e| format!("{{ {e} }}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn polars_backend_agrees_with_the_reference(
        records in prop::collection::vec(record(), 1..40),
        patterns in prop::collection::vec(pattern(), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let ndjson: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        let path = write(&dir.path().join("r.ndjson"), ndjson.join("\n").as_bytes());
        let frame = events::load(&[path]);
        prop_assert_eq!(frame.events(), records.len());
        let log = write(&dir.path().join("r.json"), json!({ "Records": records }).to_string().as_bytes());
        let index = frame.df.column(schema::RECORD_INDEX).unwrap().u32().unwrap().clone();
        let info = to_polars::FrameInfo::of(&frame.df).unwrap();
        for text in &patterns {
            let Ok(p) = Pattern::parse(text) else {
                // Over AWS's limits (regexes, wildcard selectors): nothing to compare.
                continue;
            };
            let out = frame.df.clone().lazy()
                .select([to_polars::to_expr(&p, info).alias("m")])
                .collect().unwrap();
            let got = out.column("m").unwrap().bool().unwrap();
            prop_assert_eq!(got.null_count(), 0, "{}", text);
            for row in 0..frame.events() {
                let record = &records[index.get(row).unwrap() as usize];
                prop_assert_eq!(got.get(row), Some(p.matches(record)), "pattern {}\nrecord {}", text, record);
            }

            // What `query --count` does: load only the columns the pattern reads (from
            // CloudTrail's own file shape, the loader's fast path), then evaluate.
            let Some(fields) = to_polars::columns_needed(&p) else { continue };
            let options = events::LoadOptions::keeping(events::Keep::Columns(fields));
            let projected = events::load_with(std::slice::from_ref(&log), options);
            prop_assert_eq!(projected.events(), records.len());
            let index = projected.df.column(schema::RECORD_INDEX).unwrap().u32().unwrap().clone();
            let info = to_polars::FrameInfo::of(&projected.df).unwrap();
            let out = projected.df.clone().lazy()
                .select([to_polars::to_expr(&p, info).alias("m")])
                .collect().unwrap();
            let got = out.column("m").unwrap().bool().unwrap();
            for row in 0..projected.events() {
                let record = &records[index.get(row).unwrap() as usize];
                prop_assert_eq!(got.get(row), Some(p.matches(record)), "projected, pattern {}\nrecord {}", text, record);
            }
        }
    }
}

#[test]
fn count_and_filter_agree_on_samples_slice() {
    let corpora = common::fixtures().join("stratus-red-team-detonation-logs");
    let frame = events::load(std::slice::from_ref(&corpora));
    let mut records = Vec::new();
    for entry in std::fs::read_dir(&corpora).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            let v: Vec<Value> = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            records.extend(v);
        }
    }
    for text in [
        "{ ($.errorCode = \"*UnauthorizedOperation\") || ($.errorCode = \"AccessDenied*\") }",
        "{ $.eventName = StopLogging || $.eventName = DeleteTrail || $.eventName = UpdateTrail || $.eventName = PutEventSelectors }",
        "{ $.userIdentity.sessionContext.sessionIssuer.userName = \"stratus-*\" }",
        "{ $.requestParameters.bucketName = * }",
        "{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != \"Yes\") }",
        "ConsoleLogin",
        "{ $.* = %stratus% }",
    ] {
        let p = Pattern::parse(text).unwrap();
        let expected = records.iter().filter(|r| p.matches(r)).count();
        assert_eq!(to_polars::count(&frame.df, &p).unwrap(), expected, "{text}");
        assert_eq!(to_polars::filter(&frame.df, &p).unwrap().height(), expected, "{text}");
    }
}
