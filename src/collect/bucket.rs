//! The trail buckets: their policy, public access block, ACL and access logging (as the
//! script collects them), and with `--logs-from-bucket` the trails' log files and digest files
//! for the window, under `<account>/logs/<bucket>/<original key>`, each digest with its
//! signature metadata beside it (`<key>.metadata.json`, for `verify`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use aws_smithy_types::DateTime;
use serde_json::json;

use super::{out::component, shape, CollectError, Failure, Out, Sdk, TrailRef};

/// A bucket's region (GetBucketLocation), so that its calls go to the right endpoint.
async fn region_of(s3: &aws_sdk_s3::Client, bucket: &str) -> Option<String> {
    let o = s3.get_bucket_location().bucket(bucket).send().await.ok()?;
    Some(match o.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    })
}

/// `global/s3/<bucket>/{bucket-policy,public-access-block,bucket-acl,bucket-logging}.json`;
/// `elsewhere`: only another account's trails name the bucket, so a refused call is no gap.
pub async fn config(
    s3: &aws_sdk_s3::Client,
    sdk: &Sdk,
    out: &Out,
    bucket: &str,
    elsewhere: bool,
) -> Result<(), CollectError> {
    let fail = |file: &str, op: String, f: Failure| {
        if elsewhere {
            out.fail_elsewhere(file, op, f)
        } else {
            out.fail(file, op, f)
        }
    };
    let regional;
    let s3 = match region_of(s3, bucket).await {
        Some(r) => {
            regional = sdk.s3(&r);
            &regional
        }
        None => s3,
    };
    let d = format!("global/s3/{}", component(bucket));
    let op = |cmd: &str| format!("aws s3api {cmd} --bucket {bucket}");

    let file = format!("{d}/bucket-policy.json");
    match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(o) => out.save(&file, &shape::s3::policy(o.policy()))?,
        Err(e) => fail(
            &file,
            op("get-bucket-policy"),
            Failure::of("GetBucketPolicy", &e),
        )?,
    }
    let file = format!("{d}/public-access-block.json");
    match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(o) => out.save(
            &file,
            &shape::s3::public_access_block(o.public_access_block_configuration()),
        )?,
        Err(e) => fail(
            &file,
            op("get-public-access-block"),
            Failure::of("GetPublicAccessBlock", &e),
        )?,
    }
    let file = format!("{d}/bucket-acl.json");
    match s3.get_bucket_acl().bucket(bucket).send().await {
        Ok(o) => out.save(&file, &shape::s3::acl(o.owner(), o.grants()))?,
        Err(e) => fail(&file, op("get-bucket-acl"), Failure::of("GetBucketAcl", &e))?,
    }
    let file = format!("{d}/bucket-logging.json");
    match s3.get_bucket_logging().bucket(bucket).send().await {
        Ok(o) => out.save(&file, &shape::s3::logging(o.logging_enabled()))?,
        Err(e) => fail(
            &file,
            op("get-bucket-logging"),
            Failure::of("GetBucketLogging", &e),
        )?,
    }
    Ok(())
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Logs {
    pub log_files: usize,
    pub digest_files: usize,
}

/// Downloads at the same time.
const DOWNLOADS: usize = 8;

/// The trails' log and digest files for the window, and CloudTrail's public keys for it (what
/// `verify` checks digest signatures with), per region.
pub async fn logs(
    sdk: &Sdk,
    s3: &aws_sdk_s3::Client,
    out: &Arc<Out>,
    trails: &BTreeSet<TrailRef>,
    regions: &[String],
    start: DateTime,
    end: DateTime,
) -> Result<Logs, CollectError> {
    for region in regions {
        public_keys(&sdk.cloudtrail(region), out, region, start, end).await?;
    }

    // One listing per (bucket, prefix), however many trails share it.
    let mut places: BTreeMap<(String, String), ()> = BTreeMap::new();
    for t in trails {
        if let Some(b) = &t.bucket {
            let prefix = t
                .prefix
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(|p| format!("{}/", p.trim_end_matches('/')))
                .unwrap_or_default();
            places.insert((b.clone(), prefix), ());
        }
    }
    let days = days(start, end);
    let mut total = Logs::default();
    for (bucket, prefix) in places.keys() {
        let client = match region_of(s3, bucket).await {
            Some(r) => sdk.s3(&r),
            None => s3.clone(),
        };
        let mut failures: Vec<Failure> = Vec::new();
        let mut keys = Vec::new();
        match list_keys(&client, bucket, prefix, &days).await {
            Ok(k) => keys = k,
            Err(f) => failures.push(f),
        }
        let limit = Arc::new(tokio::sync::Semaphore::new(DOWNLOADS));
        let mut tasks = tokio::task::JoinSet::new();
        for key in keys {
            let (client, out, bucket, limit) =
                (client.clone(), out.clone(), bucket.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                download(&client, &out, &bucket, &key).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(true)) => total.digest_files += 1,
                Ok(Ok(false)) => total.log_files += 1,
                Ok(Err(Fetch::Failed(f))) => failures.push(f),
                Ok(Err(Fetch::Write(e))) => return Err(e),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        let file = format!("global/s3/{}/log-files.json", component(bucket));
        if let Some(first) = failures.first() {
            let f = Failure::other(
                &first.code,
                format!(
                    "{} listing or download(s) failed under s3://{bucket}/{prefix}AWSLogs/; the first: {}",
                    failures.len(),
                    first.message
                ),
            );
            out.fail(
                &file,
                format!("aws s3 cp s3://{bucket}/{prefix}AWSLogs/ --recursive"),
                f,
            )?;
        } else {
            let _ = std::fs::remove_file(out.root().join(super::out::error_path(&file)));
        }
    }
    Ok(total)
}

/// CloudTrail's public keys valid in the window: `<region>/cloudtrail/public-keys.json`, as
/// `aws cloudtrail list-public-keys` prints them.
pub async fn public_keys(
    client: &aws_sdk_cloudtrail::Client,
    out: &Out,
    region: &str,
    start: DateTime,
    end: DateTime,
) -> Result<(), CollectError> {
    let file = format!("{region}/cloudtrail/public-keys.json");
    let op = format!(
        "aws cloudtrail list-public-keys --start-time {} --end-time {} --region {region}",
        shape::cli_time(&start),
        shape::cli_time(&end)
    );
    let mut keys = Vec::new();
    let mut pages = client
        .list_public_keys()
        .start_time(start)
        .end_time(end)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => keys.extend(p.public_key_list().iter().cloned()),
            Err(e) => return out.fail(&file, op, Failure::of("ListPublicKeys", &e)),
        }
    }
    out.save(&file, &shape::cloudtrail::public_keys(&keys))
}

/// UTC days from `start` to `end`, as `YYYY/MM/DD`.
fn days(start: DateTime, end: DateTime) -> Vec<String> {
    let day = |t: DateTime| {
        chrono::DateTime::from_timestamp(t.secs(), 0)
            .unwrap_or_default()
            .date_naive()
    };
    let (mut d, last) = (day(start), day(end));
    let mut all = Vec::new();
    while d <= last {
        all.push(d.format("%Y/%m/%d").to_string());
        d = d.succ_opt().unwrap_or(last.succ_opt().unwrap_or(last));
        if all.len() > 3660 {
            break;
        }
    }
    all
}

async fn prefixes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, Failure> {
    let mut found = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Failure::of("ListObjectsV2", &e))?;
        found.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
    }
    Ok(found)
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Keys of log and digest files for `days`: `<prefix>AWSLogs/[<o-id>/]<account>/{CloudTrail,
/// CloudTrail-Digest}/<region>/YYYY/MM/DD/`, every account and region the bucket holds.
async fn list_keys(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    days: &[String],
) -> Result<Vec<String>, Failure> {
    let base = format!("{prefix}AWSLogs/");
    let mut accounts = Vec::new();
    for p in prefixes(s3, bucket, &base).await? {
        let name = p[base.len()..].trim_end_matches('/');
        if is_account(name) {
            accounts.push(p);
        } else if name.starts_with("o-") {
            for q in prefixes(s3, bucket, &p).await? {
                if is_account(q[p.len()..].trim_end_matches('/')) {
                    accounts.push(q);
                }
            }
        }
    }
    let mut keys = Vec::new();
    for account in accounts {
        for kind in ["CloudTrail/", "CloudTrail-Digest/"] {
            for region in prefixes(s3, bucket, &format!("{account}{kind}")).await? {
                for day in days {
                    let mut pages = s3
                        .list_objects_v2()
                        .bucket(bucket)
                        .prefix(format!("{region}{day}/"))
                        .into_paginator()
                        .send();
                    while let Some(page) = pages.next().await {
                        let page = page.map_err(|e| Failure::of("ListObjectsV2", &e))?;
                        keys.extend(
                            page.contents()
                                .iter()
                                .filter_map(|o| o.key().map(str::to_string)),
                        );
                    }
                }
            }
        }
    }
    Ok(keys)
}

enum Fetch {
    Failed(Failure),
    Write(CollectError),
}

/// A key as a relative path, or `None` when it would leave its directory.
fn key_path(key: &str) -> Option<PathBuf> {
    let p = Path::new(key);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| p.to_path_buf())
}

/// One object; `true` for a digest file.
async fn download(
    s3: &aws_sdk_s3::Client,
    out: &Out,
    bucket: &str,
    key: &str,
) -> Result<bool, Fetch> {
    let Some(rel) = key_path(key) else {
        return Err(Fetch::Failed(Failure::other(
            "UnsafeKey",
            format!("s3://{bucket}/{key}: the key is not a plain relative path; not written"),
        )));
    };
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| Fetch::Failed(Failure::of("GetObject", &e)))?;
    let digest = key.contains("/CloudTrail-Digest/");
    let metadata = o.metadata().cloned().unwrap_or_default();
    let bytes = o
        .body
        .collect()
        .await
        .map_err(|e| {
            Fetch::Failed(Failure::other(
                "ResponseError",
                format!("s3://{bucket}/{key}: {e}"),
            ))
        })?
        .into_bytes();
    let rel = Path::new("logs").join(component(bucket)).join(rel);
    out.bytes(&rel, &bytes).map_err(Fetch::Write)?;
    if digest {
        // The signature CloudTrail put in the object's user metadata (x-amz-meta-signature).
        if let Some(sig) = metadata.get("signature") {
            let meta = json!({
                "signature": sig,
                "signature-algorithm": metadata
                    .get("signature-algorithm")
                    .map(String::as_str)
                    .unwrap_or("SHA256withRSA"),
            });
            let mut name = rel.clone().into_os_string();
            name.push(".metadata.json");
            let mut text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
            text.push(b'\n');
            out.bytes(Path::new(&name), &text).map_err(Fetch::Write)?;
        }
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_leave_their_directory_are_refused() {
        assert!(key_path("AWSLogs/1/CloudTrail/x.json.gz").is_some());
        assert!(key_path("../x").is_none());
        assert!(key_path("/etc/passwd").is_none());
        assert!(
            key_path("a/./b").is_some_and(|p| p == Path::new("a/b")) || key_path("a/./b").is_none()
        );
    }

    #[test]
    fn days_cover_the_window() {
        let d = days(
            DateTime::from_secs(1_722_383_999),
            DateTime::from_secs(1_722_470_400),
        );
        assert_eq!(d, ["2024/07/30", "2024/07/31", "2024/08/01"]);
    }
}
