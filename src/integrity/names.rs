//! What CloudTrail's S3 object names say: which trail and region a digest belongs to, when a
//! log file was delivered, and the key suffix from `AWSLogs/` used to match listed objects
//! with files on disk whatever prefix or local directory they sit under.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

/// `<account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>.json.gz`
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DigestName {
    pub account: String,
    pub region: String,
    pub trail: String,
    pub home_region: String,
    /// The end time in the name, UTC milliseconds.
    pub end: i64,
}

/// `<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<unique>.json.gz`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogName {
    pub account: String,
    pub region: String,
    /// Delivery time in the name, UTC milliseconds.
    pub time: i64,
}

fn stamp(s: &str, format: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(s, format)
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl DigestName {
    pub fn parse(name: &str) -> Option<DigestName> {
        let rest = name.strip_suffix(".json.gz")?;
        let (account, rest) = rest.split_once('_')?;
        let rest = rest.strip_prefix("CloudTrail-Digest_")?;
        let (region, rest) = rest.split_once('_')?;
        let (rest, end) = rest.rsplit_once('_')?;
        // Trail names may contain `_`; region names never do.
        let (trail, home_region) = rest.rsplit_once('_')?;
        if !is_account(account) || trail.is_empty() || region.is_empty() {
            return None;
        }
        Some(DigestName {
            account: account.into(),
            region: region.into(),
            trail: trail.into(),
            home_region: home_region.into(),
            end: stamp(end, "%Y%m%dT%H%M%SZ")?,
        })
    }
}

impl LogName {
    pub fn parse(name: &str) -> Option<LogName> {
        let rest = name
            .strip_suffix(".json.gz")
            .or_else(|| name.strip_suffix(".json"))?;
        let mut it = rest.splitn(5, '_');
        let (account, kind, region, time, unique) =
            (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
        if !is_account(account) || kind != "CloudTrail" || unique.is_empty() {
            return None;
        }
        Some(LogName {
            account: account.into(),
            region: region.into(),
            time: stamp(time, "%Y%m%dT%H%MZ")?,
        })
    }
}

/// The key from the last `AWSLogs/` on, or `None` when the key has no `AWSLogs` part.
pub fn key_suffix(key: &str) -> Option<&str> {
    let mut at = None;
    for (i, _) in key.match_indices("AWSLogs/") {
        if i == 0 || key.as_bytes()[i - 1] == b'/' {
            at = Some(i);
        }
    }
    at.map(|i| &key[i..])
}

/// A local path's key from its last `AWSLogs` directory on, `/`-separated.
pub fn path_suffix(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    let i = parts.iter().rposition(|p| *p == "AWSLogs")?;
    Some(parts[i..].join("/"))
}

/// The directory a file's `AWSLogs/` tree sits in (a bucket's local copy), else its own
/// directory.
pub fn bucket_root(path: &Path) -> PathBuf {
    let parts: Vec<&std::ffi::OsStr> = path.iter().collect();
    match parts.iter().rposition(|p| *p == "AWSLogs") {
        Some(i) => parts[..i].iter().collect(),
        None => path.parent().map(Path::to_path_buf).unwrap_or_default(),
    }
}

/// The organization id in `AWSLogs/<o-id>/<account>/...`, if any.
pub fn organization(suffix: &str) -> Option<String> {
    suffix
        .split('/')
        .nth(1)
        .filter(|p| p.starts_with("o-"))
        .map(str::to_string)
}

/// The last component of an S3 key.
pub fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names() {
        let d = DigestName::parse(
            "111122223333_CloudTrail-Digest_eu-west-1_my_trail_us-east-1_20240731T130000Z.json.gz",
        )
        .unwrap();
        assert_eq!(
            (
                d.account.as_str(),
                d.region.as_str(),
                d.trail.as_str(),
                d.home_region.as_str()
            ),
            ("111122223333", "eu-west-1", "my_trail", "us-east-1")
        );
        assert_eq!(d.end, 1_722_430_800_000);
        assert!(
            DigestName::parse("111122223333_CloudTrail-Digest_x_20240731T130000Z.json.gz")
                .is_none()
        );
        assert!(DigestName::parse("111122223333_CloudTrail-Digest_r_t_h_2024.json.gz").is_none());
        assert!(DigestName::parse("").is_none());
    }

    #[test]
    fn log_names() {
        let l = LogName::parse(
            "111122223333_CloudTrail_us-east-1_20240731T1310Z_AbCdEfGhIjKlMnOp.json.gz",
        )
        .unwrap();
        assert_eq!(l.region, "us-east-1");
        assert_eq!(l.time, 1_722_431_400_000);
        assert!(LogName::parse(
            "111122223333_CloudTrail-Insight_us-east-1_20240731T1310Z_x.json.gz"
        )
        .is_none());
        assert!(LogName::parse("x.json.gz").is_none());
    }

    #[test]
    fn suffixes() {
        assert_eq!(
            key_suffix("prefix/AWSLogs/o-1/123/CloudTrail/x"),
            Some("AWSLogs/o-1/123/CloudTrail/x")
        );
        assert_eq!(key_suffix("AWSLogs/1/x"), Some("AWSLogs/1/x"));
        assert_eq!(key_suffix("notAWSLogs/1/x"), None);
        assert_eq!(
            path_suffix(Path::new("/tmp/b/AWSLogs/1/CloudTrail/f.json.gz")).as_deref(),
            Some("AWSLogs/1/CloudTrail/f.json.gz")
        );
        assert_eq!(organization("AWSLogs/o-abc/1/x").as_deref(), Some("o-abc"));
        assert_eq!(organization("AWSLogs/123/x"), None);
    }
}
