//! One file at a time: digest bodies, signature metadata, public-key lists, the streamed
//! SHA-256 of a log file's uncompressed content, and RSA-SHA256 signature checks.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;
use serde::Deserialize;
use sha2::Digest as _;

use crate::events::record::parse_event_time;

/// Largest digest body accepted once decompressed: digests list a few thousand files at most.
pub const MAX_DIGEST_BYTES: u64 = 256 << 20;

/// What went wrong reading one file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("not a valid gzip stream (after {decompressed} decompressed bytes): {message}")]
    Gzip { decompressed: u64, message: String },
    #[error("larger than {limit} bytes once decompressed")]
    TooLarge { limit: u64 },
    #[error("invalid digest file: {0}")]
    Digest(String),
    #[error("invalid signature metadata: {0}")]
    Metadata(String),
    #[error("invalid public key list: {0}")]
    PublicKeys(String),
}

/// A file that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct ReadError {
    pub path: PathBuf,
    pub kind: ReadErrorKind,
}

fn err(path: &Path, kind: ReadErrorKind) -> ReadError {
    ReadError {
        path: path.to_path_buf(),
        kind,
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower- or upper-case hex, even length; `None` otherwise.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// Opens `path` and returns a reader of its content, gunzipped when it starts with the gzip
/// magic bytes (whatever its name says), so both stored and already-decompressed copies work.
fn open_content(path: &Path) -> Result<Box<dyn Read>, ReadError> {
    let file = File::open(path).map_err(|e| err(path, ReadErrorKind::Io(e.to_string())))?;
    content_of(path, file)
}

/// [`open_content`] of bytes as stored read from `stored` (an archive member), `path` naming
/// them in errors.
fn content_of<'r, R: Read + 'r>(path: &Path, stored: R) -> Result<Box<dyn Read + 'r>, ReadError> {
    let mut reader = BufReader::with_capacity(256 << 10, stored);
    let head = reader
        .fill_buf()
        .map_err(|e| err(path, ReadErrorKind::Io(e.to_string())))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        // bufread: inflate straight from our buffer, no second copy.
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

fn read_error(path: &Path, e: std::io::Error, decompressed: u64) -> ReadError {
    let kind = match e.kind() {
        std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::UnexpectedEof => ReadErrorKind::Gzip {
            decompressed,
            message: e.to_string(),
        },
        _ => ReadErrorKind::Io(e.to_string()),
    };
    err(path, kind)
}

/// SHA-256 (lower-case hex) of the uncompressed content and its length, streamed: the file is
/// never held in memory.
pub fn sha256_content(path: &Path) -> Result<(String, u64), ReadError> {
    sha256_reader(path, open_content(path)?, u64::MAX)
}

/// [`sha256_content`] of bytes as stored read from `stored` (an archive member, streamed as it
/// unpacks), `path` naming them in errors: content past `limit` bytes is an error.
pub fn sha256_content_of(
    path: &Path,
    stored: &mut dyn Read,
    limit: u64,
) -> Result<(String, u64), ReadError> {
    sha256_reader(path, content_of(path, stored)?, limit)
}

fn sha256_reader(
    path: &Path,
    mut reader: Box<dyn Read + '_>,
    limit: u64,
) -> Result<(String, u64), ReadError> {
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
                if total > limit {
                    return Err(err(path, ReadErrorKind::TooLarge { limit }));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(path, e, total)),
        }
    }
    Ok((hex(&hasher.finalize()), total))
}

/// The uncompressed content of a small file (a digest), bounded by `limit`.
fn read_content(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    bounded_content(path, open_content(path)?, limit)
}

fn bounded_content(
    path: &Path,
    reader: Box<dyn Read + '_>,
    limit: u64,
) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    match reader.take(limit + 1).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > limit => Err(err(path, ReadErrorKind::TooLarge { limit })),
        Ok(_) => Ok(out),
        Err(e) => Err(read_error(path, e, out.len() as u64)),
    }
}

/// A log file as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub bucket: String,
    pub object: String,
    /// Lower-case hex SHA-256 of the uncompressed log file.
    pub hash: String,
}

/// A digest file's body, with the SHA-256 of its uncompressed bytes as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub account: String,
    pub start: i64,
    pub end: i64,
    /// `digestEndTime` exactly as written: it is part of the signed string.
    pub end_text: String,
    pub bucket: String,
    pub object: String,
    pub fingerprint: String,
    pub previous_bucket: Option<String>,
    pub previous_object: Option<String>,
    pub previous_hash: Option<String>,
    pub previous_signature: Option<String>,
    pub log_files: Vec<LogEntry>,
    pub sha256: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDigest {
    aws_account_id: Option<String>,
    digest_start_time: Option<String>,
    digest_end_time: Option<String>,
    digest_s3_bucket: Option<String>,
    digest_s3_object: Option<String>,
    digest_public_key_fingerprint: Option<String>,
    previous_digest_s3_bucket: Option<String>,
    previous_digest_s3_object: Option<String>,
    previous_digest_hash_value: Option<String>,
    previous_digest_signature: Option<String>,
    log_files: Option<Vec<RawLogEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogEntry {
    s3_bucket: Option<String>,
    s3_object: Option<String>,
    hash_value: Option<String>,
}

impl Digest {
    pub fn read(path: &Path) -> Result<Digest, ReadError> {
        let bytes = read_content(path, MAX_DIGEST_BYTES)?;
        Digest::parse(&bytes).map_err(|m| err(path, ReadErrorKind::Digest(m)))
    }

    /// [`Digest::read`] of bytes as stored read from `stored` (an archive member), `path`
    /// naming them in errors.
    pub fn read_from(path: &Path, stored: &mut dyn Read) -> Result<Digest, ReadError> {
        let bytes = bounded_content(path, content_of(path, stored)?, MAX_DIGEST_BYTES)?;
        Digest::parse(&bytes).map_err(|m| err(path, ReadErrorKind::Digest(m)))
    }

    /// Parses an uncompressed digest body; the message says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Digest, String> {
        let raw: RawDigest =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
        let need = |v: Option<String>, key: &str| v.ok_or_else(|| format!("no `{key}`"));
        let time = |v: &str, key: &str| {
            parse_event_time(v)
                .map(|(ms, _)| ms)
                .ok_or_else(|| format!("`{key}` {v:?} is not a UTC time"))
        };
        let start_text = need(raw.digest_start_time, "digestStartTime")?;
        let end_text = need(raw.digest_end_time, "digestEndTime")?;
        let mut log_files = Vec::new();
        for (i, e) in need_list(raw.log_files)?.into_iter().enumerate() {
            let field = |v: Option<String>, key: &str| {
                v.ok_or_else(|| format!("logFiles[{i}] has no `{key}`"))
            };
            log_files.push(LogEntry {
                bucket: field(e.s3_bucket, "s3Bucket")?,
                object: field(e.s3_object, "s3Object")?,
                hash: field(e.hash_value, "hashValue")?.to_ascii_lowercase(),
            });
        }
        Ok(Digest {
            account: need(raw.aws_account_id, "awsAccountId")?,
            start: time(&start_text, "digestStartTime")?,
            end: time(&end_text, "digestEndTime")?,
            end_text,
            bucket: need(raw.digest_s3_bucket, "digestS3Bucket")?,
            object: need(raw.digest_s3_object, "digestS3Object")?,
            fingerprint: need(
                raw.digest_public_key_fingerprint,
                "digestPublicKeyFingerprint",
            )?,
            previous_bucket: raw.previous_digest_s3_bucket,
            previous_object: raw.previous_digest_s3_object,
            previous_hash: raw
                .previous_digest_hash_value
                .map(|h| h.to_ascii_lowercase()),
            previous_signature: raw.previous_digest_signature,
            log_files,
            sha256: hex(&sha2::Sha256::digest(bytes)),
        })
    }

    /// What CloudTrail signed (aws-cli `_create_string_to_sign`): a null previous signature is
    /// the literal `null`.
    pub fn string_to_sign(&self) -> String {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.end_text,
            self.bucket,
            self.object,
            self.sha256,
            self.previous_signature.as_deref().unwrap_or("null")
        )
    }

    /// A starting digest: its chain begins here.
    pub fn starts_chain(&self) -> bool {
        self.previous_object.is_none()
    }
}

fn need_list(v: Option<Vec<RawLogEntry>>) -> Result<Vec<RawLogEntry>, String> {
    v.ok_or_else(|| "no `logFiles`".to_string())
}

/// The S3 object metadata saved next to a digest (`<digest>.metadata.json`): either
/// `{"signature": hex, "signature-algorithm": ...}` or `aws s3api head-object` output, which
/// nests the same keys under `Metadata`.
pub fn read_signature(path: &Path) -> Result<String, ReadError> {
    parse_signature(path, &read_content(path, MAX_METADATA_BYTES)?)
}

/// [`read_signature`] of bytes as stored read from `stored` (an archive member), `path` naming
/// them in errors.
pub fn read_signature_from(path: &Path, stored: &mut dyn Read) -> Result<String, ReadError> {
    let bytes = bounded_content(path, content_of(path, stored)?, MAX_METADATA_BYTES)?;
    parse_signature(path, &bytes)
}

/// Largest signature metadata file accepted: it holds one signature.
const MAX_METADATA_BYTES: u64 = 1 << 20;

fn parse_signature(path: &Path, bytes: &[u8]) -> Result<String, ReadError> {
    let bad = |m: String| err(path, ReadErrorKind::Metadata(m));
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let meta = v.get("Metadata").unwrap_or(&v);
    let sig = meta
        .get("signature")
        .and_then(|s| s.as_str())
        .ok_or_else(|| bad("no `signature` string".into()))?;
    match meta.get("signature-algorithm").and_then(|s| s.as_str()) {
        Some(a) if !a.eq_ignore_ascii_case("SHA256withRSA") => {
            Err(bad(format!("unsupported signature-algorithm {a:?}")))
        }
        _ => Ok(sig.to_string()),
    }
}

/// A public key from `aws cloudtrail list-public-keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub fingerprint: String,
    /// DER PKCS#1 RSAPublicKey.
    pub der: Vec<u8>,
    pub source: PathBuf,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawKeyList {
    public_key_list: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawKey {
    value: String,
    fingerprint: String,
}

/// Reads a `list-public-keys` JSON export.
pub fn read_public_keys(path: &Path) -> Result<Vec<PublicKey>, ReadError> {
    use base64::Engine as _;
    let bytes = read_content(path, 64 << 20)?;
    let bad = |m: String| err(path, ReadErrorKind::PublicKeys(m));
    let raw: RawKeyList = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    raw.public_key_list
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let der = base64::engine::general_purpose::STANDARD
                .decode(k.value.trim())
                .map_err(|e| bad(format!("PublicKeyList[{i}].Value is not base64: {e}")))?;
            Ok(PublicKey {
                fingerprint: k.fingerprint.trim().to_ascii_lowercase(),
                der,
                source: path.to_path_buf(),
            })
        })
        .collect()
}

/// Checks an RSASSA-PKCS1-v1_5 SHA-256 signature (hex) of `message` with a PKCS#1 DER key.
pub fn verify_signature(key_der: &[u8], message: &[u8], signature_hex: &str) -> Result<(), String> {
    let sig = unhex(signature_hex).ok_or("the signature is not hex")?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key_der)
        .verify(message, &sig)
        .map_err(|_| "signature verification failed".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_matches_aws_cli_vector() {
        // aws-cli tests/unit/customizations/cloudtrail/test_validation.py
        let d = Digest {
            account: String::new(),
            start: 0,
            end: 0,
            end_text: "a".into(),
            bucket: "b".into(),
            object: "c".into(),
            fingerprint: String::new(),
            previous_bucket: None,
            previous_object: None,
            previous_hash: None,
            previous_signature: None,
            log_files: Vec::new(),
            sha256: hex(&sha2::Sha256::digest(b"abc")),
        };
        assert_eq!(
            d.string_to_sign(),
            "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
        );
    }

    #[test]
    fn hex_round_trip_and_bad_hex() {
        assert_eq!(unhex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(hex(&[1, 171]), "01ab");
    }

    #[test]
    fn digest_parse_errors_say_what() {
        assert!(Digest::parse(b"{").unwrap_err().contains("invalid JSON"));
        assert!(Digest::parse(b"[]").unwrap_err().contains("invalid JSON"));
        let e = Digest::parse(br#"{"digestStartTime":"2024-01-01T00:00:00Z"}"#).unwrap_err();
        assert!(e.contains("digestEndTime"), "{e}");
        let e = Digest::parse(
            br#"{"awsAccountId":"1","digestStartTime":"x","digestEndTime":"2024-01-01T00:00:00Z","digestS3Bucket":"b","digestS3Object":"o","digestPublicKeyFingerprint":"f","logFiles":[]}"#,
        )
        .unwrap_err();
        assert!(e.contains("not a UTC time"), "{e}");
    }

    #[test]
    fn every_truncation_and_byte_flip_of_a_digest_is_an_error_or_a_digest() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/fixtures/digest-test-vectors/s3/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/31/111122223333_CloudTrail-Digest_us-east-1_example-trail_us-east-1_20240731T140000Z.json.gz",
        );
        let body = read_content(&path, MAX_DIGEST_BYTES).unwrap();
        let whole = Digest::parse(&body).unwrap();
        assert_eq!(whole.log_files.len(), 1);
        for i in 0..body.len() {
            let _ = Digest::parse(&body[..i]);
            let mut flipped = body.clone();
            flipped[i] ^= 0x55;
            let _ = Digest::parse(&flipped);
        }
        let stored = std::fs::read(&path).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.json.gz");
        for i in 0..stored.len() {
            std::fs::write(&cut, &stored[..i]).unwrap();
            let _ = Digest::read(&cut);
            let _ = sha256_content(&cut);
        }
    }

    #[test]
    fn bad_keys_and_signatures_are_errors_not_panics() {
        assert!(verify_signature(b"not a key", b"m", "00").is_err());
        assert!(verify_signature(&[0x30, 0x03, 0x02, 0x01, 0x01], b"m", "zz").is_err());
        assert!(verify_signature(&[], b"", "").is_err());
    }

    #[test]
    fn streamed_hash_of_gzip_and_plain_content_agree() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let data = b"{\"Records\":[]}".repeat(50_000);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&data).unwrap();
        let gz = e.finish().unwrap();
        std::fs::write(dir.path().join("a.json.gz"), &gz).unwrap();
        std::fs::write(dir.path().join("a.json"), &data).unwrap();
        let want = hex(&sha2::Sha256::digest(&data));
        let (h, n) = sha256_content(&dir.path().join("a.json.gz")).unwrap();
        assert_eq!((h.as_str(), n), (want.as_str(), data.len() as u64));
        assert_eq!(sha256_content(&dir.path().join("a.json")).unwrap().0, want);
        std::fs::write(dir.path().join("t.json.gz"), &gz[..gz.len() / 2]).unwrap();
        let e = sha256_content(&dir.path().join("t.json.gz")).unwrap_err();
        assert!(matches!(e.kind, ReadErrorKind::Gzip { .. }), "{e}");
    }
}
