//! Helpers shared by the integration tests: run the real binary, write inputs.

#![allow(dead_code)]

pub mod athena_table;
pub mod cbor_proxy;
pub mod moto;
pub mod pytools;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn trailaudit<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    trailaudit_with(args, &[])
}

/// [`trailaudit`], with these environment variables set.
pub fn trailaudit_with<I, S>(args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_trailaudit"))
        .args(args)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run trailaudit");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// The bundled samples: `audit` audits only the evidence it is given.
pub const SAMPLE_LOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/logs");
pub const SAMPLE_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/config");

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpora")
}

/// A CloudTrail record with the given time, account, region and name.
pub fn record(time: &str, account: &str, region: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{account}:user/u"), "accountId": account, "userName": "u"},
        "eventTime": time,
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "test",
        "requestParameters": {"bucketName": "b"},
        "responseElements": null,
        "requestID": "r",
        "eventID": format!("{time}-{name}"),
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management"
    })
}

pub fn envelope(records: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap()
}

/// The ids of the failing policies of a JSON report.
pub fn failing(report: &serde_json::Value) -> std::collections::BTreeSet<String> {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "fail")
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// One policy's result in a JSON report.
pub fn policy<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} in the report"))
}

/// A zip (deflate) of `members` (name, bytes), after the `directories`.
pub fn zip_of(members: &[(String, Vec<u8>)], directories: &[&str]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for d in directories {
        z.add_directory(*d, options).unwrap();
    }
    for (name, bytes) in members {
        z.start_file(name.as_str(), options).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// A tar (`tar cf` of `.`: names under `./`, a directory entry first) of `members`.
pub fn tar_of(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_size(0);
    dir.set_mode(0o755);
    dir.set_cksum();
    t.append_data(&mut dir, "./AWSLogs/", std::io::empty())
        .unwrap();
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, format!("./{name}"), bytes.as_slice())
            .unwrap();
    }
    t.into_inner().unwrap()
}
