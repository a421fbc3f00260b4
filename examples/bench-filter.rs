//! Times filter evaluation over an already-loaded EventFrame (loading excluded).
//!
//!   cargo run --release --example bench-filter -- CORPUS_DIR [RUNS]
//!
//! Prints, per pattern: matching rows, and the median, min and max wall time of compiling and
//! evaluating the pattern over the whole frame, in milliseconds.

use std::path::PathBuf;
use std::time::Instant;

use trailaudit::events;
use trailaudit::filter::{to_polars, Pattern};

const PATTERNS: &[(&str, &str)] = &[
    (
        "CIS 4.4 IAM policy changes (16 clauses, columns)",
        "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}",
    ),
    (
        "CIS 4.3 root usage (columns, NOT EXISTS)",
        "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != \"AwsServiceEvent\" }",
    ),
    (
        "CIS 4.1 v3.0 as printed (wildcards, != on columns)",
        "{ ($.errorCode = *UnauthorizedOperation) || ($.errorCode = AccessDenied*) || ($.sourceIPAddress!=delivery.logs.amazonaws.com) || ($.eventName!=HeadBucket) }",
    ),
    (
        "non-column path $.requestParameters.bucketName",
        "{ $.requestParameters.bucketName = \"northwind-prod-*\" }",
    ),
    (
        "non-column path, rare key $.requestParameters.policyDocument",
        "{ $.requestParameters.policyDocument = * }",
    ),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: bench-filter CORPUS_DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(7);
    let t = Instant::now();
    let frame = events::load(&[dir]);
    eprintln!(
        "loaded {} records in {:.2} s",
        frame.events(),
        t.elapsed().as_secs_f64()
    );
    println!("| pattern | rows | median ms | min ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, text) in PATTERNS {
        let pattern = Pattern::parse(text).expect("valid pattern");
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..runs {
            let t = Instant::now();
            rows = to_polars::count(&frame.df, &pattern).expect("evaluates");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {name} | {rows} | {:.1} | {:.1} | {:.1} |",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
}
