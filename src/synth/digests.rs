//! A signed CloudTrail digest chain with its log files, in the S3 layout, following the
//! aws-cli validation algorithm: for tests (longer chains than the shared vectors) and the
//! `verify` benchmark. Signed with a test key; never with anything real.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::{write::GzEncoder, Compression};
use serde_json::json;
use sha2::Digest as _;

use crate::events::record::format_event_time;
use crate::integrity::digest::hex;

/// Signs with an RSA private key (PKCS#8 PEM), naming it by a given fingerprint.
pub struct Signer {
    key: ring::signature::RsaKeyPair,
    pub fingerprint: String,
}

impl Signer {
    pub fn from_pem(pem: &str, fingerprint: &str) -> Result<Signer, String> {
        use base64::Engine as _;
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|e| format!("not PEM: {e}"))?;
        let key = ring::signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))?;
        Ok(Signer {
            key,
            fingerprint: fingerprint.to_string(),
        })
    }

    /// RSASSA-PKCS1-v1_5 SHA-256, hex.
    pub fn sign(&self, message: &[u8]) -> String {
        let rng = ring::rand::SystemRandom::new();
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&ring::signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .expect("PKCS#1 v1.5 signing with a valid key does not fail");
        hex(&sig)
    }

    /// `aws cloudtrail list-public-keys` output for this key.
    pub fn public_keys_json(&self) -> String {
        use base64::Engine as _;
        use ring::signature::KeyPair as _;
        let value =
            base64::engine::general_purpose::STANDARD.encode(self.key.public_key().as_ref());
        serde_json::to_string_pretty(&json!({"PublicKeyList": [{
            "Value": value,
            "ValidityStartTime": "2020-01-01T00:00:00Z",
            "ValidityEndTime": "2030-01-01T00:00:00Z",
            "Fingerprint": self.fingerprint,
        }]}))
        .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// Directory the bucket's keys are written under (`<root>/AWSLogs/...`).
    pub bucket: String,
    pub account: String,
    /// An organization trail's `o-...` id, which its keys carry before the account.
    pub organization: Option<String>,
    pub region: String,
    pub trail: String,
    /// Start of the first digest's hour, UTC milliseconds (a whole hour).
    pub start: i64,
    pub hours: usize,
    pub logs_per_hour: usize,
    pub records_per_log: usize,
}

impl ChainSpec {
    pub fn small(hours: usize) -> ChainSpec {
        ChainSpec {
            bucket: "example-trail-bucket".into(),
            account: "111122223333".into(),
            organization: None,
            region: "us-east-1".into(),
            trail: "example-trail".into(),
            start: 1_722_470_400_000, // 2024-08-01T00:00:00Z
            hours,
            logs_per_hour: 2,
            records_per_log: 3,
        }
    }
}

/// What was written: per hour, its digest and the log files it lists.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub digests: Vec<PathBuf>,
    pub logs: Vec<Vec<PathBuf>>,
    /// Uncompressed bytes of all log files.
    pub log_bytes: u64,
}

fn stamp(ms: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data)?;
    e.finish()
}

fn put(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d)?;
    }
    fs::write(path, bytes)
}

/// Writes `spec`'s chain under `root`: log files, digests and `<digest>.metadata.json`.
pub fn write_chain(root: &Path, spec: &ChainSpec, signer: &Signer) -> io::Result<Chain> {
    const HOUR: i64 = 3_600_000;
    let (a, r) = (&spec.account, &spec.region);
    let base = match &spec.organization {
        Some(o) => format!("AWSLogs/{o}/{a}"),
        None => format!("AWSLogs/{a}"),
    };
    let mut chain = Chain::default();
    let mut previous: Option<(String, String, String)> = None; // object, sha256, signature
    for h in 0..spec.hours {
        let start = spec.start + h as i64 * HOUR;
        let end = start + HOUR;
        let day = stamp(start, "%Y/%m/%d");
        let mut entries = Vec::new();
        let mut logs = Vec::new();
        for l in 0..spec.logs_per_hour {
            let delivered = start + (l as i64 + 1) * HOUR / (spec.logs_per_hour as i64 + 1);
            // Random ids and addresses, as in real logs, so the files compress about as much as
            // CloudTrail's (about 10:1), not 40:1.
            let mut rng = super::Rng::new((h as u64) << 20 | l as u64);
            let mut id = |n: usize| -> String {
                (0..n)
                    .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
                    .collect()
            };
            let records: Vec<serde_json::Value> = (0..spec.records_per_log)
                .map(|i| {
                    let (rid, eid, key, ip) = (id(32), id(32), id(16), id(4));
                    let t = format_event_time(delivered - 60_000 + i as i64 * 7);
                    json!({
                        "eventVersion": "1.10",
                        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{a}:user/ci"), "accountId": a, "userName": "ci", "accessKeyId": format!("AKIA{}", key.to_uppercase())},
                        "eventTime": t,
                        "eventSource": "ec2.amazonaws.com",
                        "eventName": "DescribeInstances",
                        "awsRegion": r,
                        "sourceIPAddress": format!("198.51.{}.{}", u8::from_str_radix(&ip[..2], 16).unwrap_or(0), u8::from_str_radix(&ip[2..], 16).unwrap_or(0)),
                        "userAgent": "aws-cli/2.17.0",
                        "requestParameters": {"maxResults": 100},
                        "responseElements": null,
                        "requestID": rid,
                        "eventID": format!("{}-{}-4{}-8{}-{}", &eid[..8], &eid[8..12], &eid[13..16], &eid[17..20], &eid[20..]),
                        "readOnly": true,
                        "eventType": "AwsApiCall",
                        "managementEvent": true,
                        "recipientAccountId": a,
                        "eventCategory": "Management"
                    })
                })
                .collect();
            let body = serde_json::to_vec(&json!({ "Records": records }))?;
            let name = format!(
                "{a}_CloudTrail_{r}_{}_{:016X}.json.gz",
                stamp(delivered, "%Y%m%dT%H%MZ"),
                (h as u64) << 16 | l as u64
            );
            let object = format!("{base}/CloudTrail/{r}/{day}/{name}");
            let path = root.join(&object);
            put(&path, &gzip(&body)?)?;
            chain.log_bytes += body.len() as u64;
            entries.push(json!({
                "s3Bucket": spec.bucket,
                "s3Object": object,
                "hashValue": hex(&sha2::Sha256::digest(&body)),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": format_event_time(delivered - 60_000),
                "oldestEventTime": format_event_time(delivered - 60_000),
            }));
            logs.push(path);
        }
        let end_text = format_event_time(end);
        let object = format!(
            "{base}/CloudTrail-Digest/{r}/{day}/{a}_CloudTrail-Digest_{r}_{}_{r}_{}.json.gz",
            spec.trail,
            stamp(end, "%Y%m%dT%H%M%SZ")
        );
        let (p_obj, p_hash, p_sig) = match &previous {
            Some((o, h, s)) => (json!(o), json!(h), json!(s)),
            None => (json!(null), json!(null), json!(null)),
        };
        let digest = json!({
            "awsAccountId": a,
            "digestStartTime": format_event_time(start),
            "digestEndTime": end_text,
            "digestS3Bucket": spec.bucket,
            "digestS3Object": object,
            "digestPublicKeyFingerprint": signer.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": null,
            "oldestEventTime": null,
            "previousDigestS3Bucket": if previous.is_some() { json!(spec.bucket) } else { json!(null) },
            "previousDigestS3Object": p_obj,
            "previousDigestHashValue": p_hash,
            "previousDigestHashAlgorithm": if previous.is_some() { json!("SHA-256") } else { json!(null) },
            "previousDigestSignature": p_sig,
            "logFiles": entries,
        });
        let body = serde_json::to_vec(&digest)?;
        let sha = hex(&sha2::Sha256::digest(&body));
        let prev_sig = previous
            .as_ref()
            .map(|p| p.2.clone())
            .unwrap_or_else(|| "null".into());
        let to_sign = format!("{end_text}\n{}/{object}\n{sha}\n{prev_sig}", spec.bucket);
        let signature = signer.sign(to_sign.as_bytes());
        let path = root.join(&object);
        put(&path, &gzip(&body)?)?;
        let meta = json!({"signature": signature, "signature-algorithm": "SHA256withRSA"});
        put(
            &PathBuf::from(format!("{}.metadata.json", path.display())),
            serde_json::to_string_pretty(&meta)?.as_bytes(),
        )?;
        chain.digests.push(path);
        chain.logs.push(logs);
        previous = Some((object, sha, signature));
    }
    Ok(chain)
}
