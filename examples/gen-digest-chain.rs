//! Generates a signed CloudTrail digest chain with its log files, in the S3 layout, for the
//! `verify` benchmark (`bench/verify.sh`).
//!
//!   cargo run --release --example gen-digest-chain -- OUT_DIR HOURS LOGS_PER_HOUR RECORDS_PER_LOG
//!
//! Signed with the test key in tests/fixtures/digest-test-vectors (never a real one); writes
//! OUT_DIR/public-keys.json for `verify --public-keys`. Prints a JSON summary on stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use trailaudit::synth::digests::{write_chain, ChainSpec, Signer};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, hours, logs, records] = args.as_slice() else {
        eprintln!("usage: gen-digest-chain OUT_DIR HOURS LOGS_PER_HOUR RECORDS_PER_LOG");
        return ExitCode::from(2);
    };
    let n = |s: &str| s.replace('_', "").parse::<usize>().ok();
    let (Some(hours), Some(logs), Some(records)) = (n(hours), n(logs), n(records)) else {
        eprintln!("HOURS, LOGS_PER_HOUR and RECORDS_PER_LOG are numbers");
        return ExitCode::from(2);
    };
    let vectors =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/digest-test-vectors");
    let pem = match std::fs::read_to_string(vectors.join("test_private_key.pem")) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot read the test key: {e}");
            return ExitCode::from(2);
        }
    };
    let signer = match Signer::from_pem(&pem, "8b264e70e4c626bd73fd3d816a1cb3df") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let out = PathBuf::from(out);
    let mut spec = ChainSpec::small(hours);
    spec.logs_per_hour = logs;
    spec.records_per_log = records;
    let result = write_chain(&out, &spec, &signer).and_then(|chain| {
        std::fs::write(out.join("public-keys.json"), signer.public_keys_json())?;
        Ok(chain)
    });
    match result {
        Ok(chain) => {
            println!(
                "{}",
                serde_json::json!({
                    "digests": chain.digests.len(),
                    "log_files": chain.logs.iter().map(Vec::len).sum::<usize>(),
                    "records": hours * logs * records,
                    "log_bytes_uncompressed": chain.log_bytes,
                })
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write the chain: {e}");
            ExitCode::from(2)
        }
    }
}
