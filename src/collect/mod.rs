//! Live collection through the AWS SDK: the same evidence as `scripts/collect-config.sh`, file
//! for file, in the layout `config::load` reads (`DIR/<account>/<region>/<service>/<file>.json`,
//! S3 under `global`), each file the JSON the aws CLI prints for that call. Optionally the event
//! history too: LookupEvents pages and the trail bucket's log and digest files. Beside the
//! trails, the rest of the logging evidence ([`logging`]): AWS Config, VPC flow logs, Security
//! Hub, and the access logging of CloudFront, load balancers and API Gateway stages.
//!
//! A call that fails is written as `<file>.error.json` and collection goes on; the caller gets
//! the list of gaps. Credentials are only ever handed to the SDK: nothing here formats them.

pub mod bucket;
pub mod logging;
pub mod lookup;
pub mod out;
pub mod shape;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::DateTime;

pub use out::{Failure, Gap, Out};

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot tell which account the credentials belong to (sts:GetCallerIdentity): {0}")]
    Identity(String),
    #[error("no region: give --region or --all-regions, or configure one (AWS_REGION, the profile's region)")]
    NoRegion,
    #[error("cannot list the account's regions (account:ListRegions): {0}; give --region instead")]
    Regions(String),
}

/// What to collect and where.
#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Option<String>,
    pub regions: Vec<String>,
    pub all_regions: bool,
    pub endpoint_url: Option<String>,
    /// The window of `--lookup-events` and `--logs-from-bucket`: from `now - since` to now.
    pub since: Duration,
    pub lookup_events: bool,
    pub logs_from_bucket: bool,
    pub out: PathBuf,
    /// Regions collected at the same time.
    pub concurrency: usize,
}

/// What was collected.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub account: String,
    /// `DIR/<account>`.
    pub root: PathBuf,
    pub regions: Vec<String>,
    pub trails: usize,
    pub buckets: Vec<String>,
    pub files: usize,
    /// Failed calls that are answers (`NoSuchBucketPolicy`, ...), not gaps.
    pub answers: usize,
    pub gaps: Vec<Gap>,
    /// Directories of LookupEvents pages, one per region, when collected.
    pub lookup_dirs: Vec<PathBuf>,
    pub lookup_events: usize,
    /// `DIR/<account>/logs`, when log files were collected.
    pub logs_dir: Option<PathBuf>,
    pub log_files: usize,
    pub digest_files: usize,
}

/// Progress reporting; the CLI draws it, tests ignore it.
pub trait Progress: Send + Sync {
    fn start(&self, _steps: u64) {}
    fn step(&self, _what: &str) {}
}

impl Progress for () {}

/// Attempts per call, throttling included: `AWS_MAX_ATTEMPTS` (as for the aws CLI), else 6.
fn max_attempts() -> u32 {
    std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=20).contains(n))
        .unwrap_or(6)
}

/// HTTPS (and plain HTTP, for an emulator on loopback) through rustls with ring.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK configuration every client is made from.
#[derive(Clone)]
pub struct Sdk {
    base: SdkConfig,
    path_style: bool,
}

impl Sdk {
    /// aws-config's default chain (environment, profile, SSO cache, container and instance
    /// credentials); TLS through rustls.
    pub async fn load(profile: Option<&str>, endpoint_url: Option<&str>) -> Sdk {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            // Throttling is retried with exponential backoff; what does not clear is a gap.
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(max_attempts())
                    .with_initial_backoff(Duration::from_millis(500))
                    .with_max_backoff(Duration::from_secs(20)),
            );
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = endpoint_url {
            loader = loader.endpoint_url(e);
        }
        Sdk {
            base: loader.load().await,
            path_style: endpoint_url.is_some(),
        }
    }

    /// From a ready configuration (tests).
    pub fn from_config(base: SdkConfig, path_style: bool) -> Sdk {
        Sdk { base, path_style }
    }

    pub fn default_region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    fn conf(&self, region: &str) -> SdkConfig {
        self.base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    pub fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.conf(region))
    }
    pub fn logs(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.conf(region))
    }
    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.conf(region))
    }
    pub fn sns(&self, region: &str) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.conf(region))
    }
    pub fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.conf(region))
    }
    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.conf(region))
    }
    pub fn account(&self, region: &str) -> aws_sdk_account::Client {
        aws_sdk_account::Client::new(&self.conf(region))
    }
    pub fn athena(&self, region: &str) -> aws_sdk_athena::Client {
        aws_sdk_athena::Client::new(&self.conf(region))
    }
    pub fn config(&self, region: &str) -> aws_sdk_config::Client {
        aws_sdk_config::Client::new(&self.conf(region))
    }
    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.conf(region))
    }
    pub fn securityhub(&self, region: &str) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.conf(region))
    }
    pub fn elbv2(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.conf(region))
    }
    pub fn apigateway(&self, region: &str) -> aws_sdk_apigateway::Client {
        aws_sdk_apigateway::Client::new(&self.conf(region))
    }
    pub fn apigatewayv2(&self, region: &str) -> aws_sdk_apigatewayv2::Client {
        aws_sdk_apigatewayv2::Client::new(&self.conf(region))
    }
    /// CloudFront is global; its API is in us-east-1.
    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::new(&self.conf("us-east-1"))
    }
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.conf(region))
            .force_path_style(self.path_style)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

/// A trail as found in its home region: what the bucket steps need.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TrailRef {
    pub arn: String,
    pub home_region: String,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
}

/// Runs the whole collection. Errors are only what makes the directory impossible to write
/// (no account, no region, a failed write); a failed call is a gap in the [`Summary`].
pub async fn run(opts: &Options, progress: Arc<dyn Progress>) -> Result<Summary, CollectError> {
    let sdk = Sdk::load(opts.profile.as_deref(), opts.endpoint_url.as_deref()).await;
    run_with(&sdk, opts, progress).await
}

pub async fn run_with(
    sdk: &Sdk,
    opts: &Options,
    progress: Arc<dyn Progress>,
) -> Result<Summary, CollectError> {
    let home = sdk.default_region();
    let sts_region = home
        .clone()
        .or_else(|| opts.regions.first().cloned())
        .unwrap_or_else(|| "us-east-1".into());
    let identity = sdk
        .sts(&sts_region)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CollectError::Identity(Failure::of("GetCallerIdentity", &e).message))?;
    let account = identity
        .account()
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| CollectError::Identity("no 12-digit account id in the answer".into()))?
        .to_string();
    let out = Arc::new(Out::new(opts.out.join(&account)));
    out.save(
        "global/sts/caller-identity.json",
        &shape::sts::caller_identity(&identity),
    )?;

    let regions = regions(sdk, opts, home.as_deref()).await?;
    let now = DateTime::from(std::time::SystemTime::now());
    let start = DateTime::from_secs(now.secs() - opts.since.as_secs() as i64);
    progress.start(regions.len() as u64 + 1);

    // Regions at the same time, at most `concurrency` of them.
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for region in regions.clone() {
        let (sdk, out, limit, progress) =
            (sdk.clone(), out.clone(), limit.clone(), progress.clone());
        let lookup = opts.lookup_events;
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let r = region::collect(&sdk, &out, &region, lookup.then_some((start, now))).await;
            let r = match r {
                Ok(found) => logging::region(&sdk, &out, &region).await.map(|()| found),
                Err(e) => Err(e),
            };
            progress.step(&region);
            r.map(|r| (region, r))
        });
    }
    let mut found = region::Found::default();
    let mut lookup_dirs = Vec::new();
    let mut lookup_events = 0;
    while let Some(joined) = tasks.join_next().await {
        let (region, r) = match joined {
            Ok(r) => r?,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        if let Some(n) = r.lookup_events {
            lookup_events += n;
            let dir = out.root().join(lookup::dir(&region));
            if dir.is_dir() {
                lookup_dirs.push(dir);
            }
        }
        found.trails.extend(r.trails);
        found.seen.extend(r.seen);
        found.buckets.extend(r.buckets);
    }
    lookup_dirs.sort();

    logging::global(sdk, &out).await?;

    // The trail buckets, as the script does: every bucket any describe-trails output names.
    let s3 = sdk.s3(home.as_deref().unwrap_or("us-east-1"));
    for b in &found.buckets {
        let listed = found
            .seen
            .iter()
            .map(|t| (t.arn.as_str(), t.bucket.as_deref()));
        let elsewhere = crate::config::foreign_bucket(b, &account, listed);
        bucket::config(&s3, sdk, &out, b, elsewhere).await?;
    }
    let mut summary = Summary {
        account: account.clone(),
        root: out.root().to_path_buf(),
        regions,
        trails: found.trails.len(),
        buckets: found.buckets.iter().cloned().collect(),
        lookup_dirs,
        lookup_events,
        ..Summary::default()
    };
    if opts.logs_from_bucket {
        let logs = bucket::logs(sdk, &s3, &out, &found.seen, &summary.regions, start, now).await?;
        summary.log_files = logs.log_files;
        summary.digest_files = logs.digest_files;
        summary.logs_dir = Some(out.root().join("logs"));
    }
    progress.step("buckets");
    let (files, answers, gaps) = out.finish();
    summary.files = files;
    summary.answers = answers;
    summary.gaps = gaps;
    Ok(summary)
}

/// The regions to collect: as given, every enabled one, or the configured one.
pub async fn regions(
    sdk: &Sdk,
    opts: &Options,
    home: Option<&str>,
) -> Result<Vec<String>, CollectError> {
    let mut set: BTreeSet<String> = opts.regions.iter().cloned().collect();
    if opts.all_regions {
        let client = sdk.account(home.unwrap_or("us-east-1"));
        let mut pages = client
            .list_regions()
            .region_opt_status_contains(aws_sdk_account::types::RegionOptStatus::Enabled)
            .region_opt_status_contains(aws_sdk_account::types::RegionOptStatus::EnabledByDefault)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| CollectError::Regions(Failure::of("ListRegions", &e).message))?;
            set.extend(
                page.regions()
                    .iter()
                    .filter_map(|r| r.region_name().map(str::to_string)),
            );
        }
    }
    if set.is_empty() {
        set.insert(home.ok_or(CollectError::NoRegion)?.to_string());
    }
    Ok(set.into_iter().collect())
}

mod region {
    //! One region: trails, their status and selectors, KMS rotation, metric filters, alarms,
    //! the alarms' topics' subscriptions; LookupEvents when asked.

    use std::collections::BTreeSet;

    use aws_smithy_types::DateTime;

    use super::{lookup, out::component, shape, CollectError, Failure, Out, Sdk, TrailRef};

    #[derive(Debug, Default)]
    pub struct Found {
        /// Trails whose home region this is.
        pub trails: BTreeSet<TrailRef>,
        /// Every trail listed here, shadow trails of other regions' trails included.
        pub seen: BTreeSet<TrailRef>,
        /// Every bucket a describe-trails output names (shadow trails included).
        pub buckets: BTreeSet<String>,
        /// Events looked up, when asked.
        pub lookup_events: Option<usize>,
    }

    pub async fn collect(
        sdk: &Sdk,
        out: &Out,
        region: &str,
        lookup: Option<(DateTime, DateTime)>,
    ) -> Result<Found, CollectError> {
        let mut found = Found::default();
        let ct = sdk.cloudtrail(region);
        let d = format!("{region}/cloudtrail");
        let rg = format!("--region {region}");
        let trails = match ct
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
        {
            Ok(o) => {
                out.save(
                    &format!("{d}/describe-trails.json"),
                    &shape::cloudtrail::describe_trails(o.trail_list()),
                )?;
                o.trail_list().to_vec()
            }
            Err(e) => {
                out.fail(
                    &format!("{d}/describe-trails.json"),
                    format!("aws cloudtrail describe-trails --include-shadow-trails {rg}"),
                    Failure::of("DescribeTrails", &e),
                )?;
                Vec::new()
            }
        };
        found.buckets.extend(
            trails
                .iter()
                .filter_map(|t| t.s3_bucket_name().map(str::to_string)),
        );
        found.seen.extend(trails.iter().filter_map(|t| {
            Some(TrailRef {
                arn: t.trail_arn()?.to_string(),
                home_region: t.home_region().unwrap_or(region).to_string(),
                bucket: t.s3_bucket_name().map(str::to_string),
                prefix: t.s3_key_prefix().map(str::to_string),
            })
        }));
        let mine: Vec<_> = trails
            .iter()
            .filter(|t| t.home_region() == Some(region))
            .filter_map(|t| Some((t.trail_arn()?.to_string(), t)))
            .collect();
        for (arn, t) in &mine {
            found.trails.insert(TrailRef {
                arn: arn.clone(),
                home_region: region.to_string(),
                bucket: t.s3_bucket_name().map(str::to_string),
                prefix: t.s3_key_prefix().map(str::to_string),
            });
            let name = component(arn.rsplit('/').next().unwrap_or(arn));
            let file = format!("{d}/trail-status/{name}.json");
            let op = format!("aws cloudtrail get-trail-status --name {arn} {rg}");
            match ct.get_trail_status().name(arn).send().await {
                Ok(o) => out.save(&file, &shape::cloudtrail::trail_status(&o))?,
                Err(e) => out.fail(&file, op, Failure::of("GetTrailStatus", &e))?,
            }
            let file = format!("{d}/event-selectors/{name}.json");
            let op = format!("aws cloudtrail get-event-selectors --trail-name {arn} {rg}");
            match ct.get_event_selectors().trail_name(arn).send().await {
                Ok(o) => out.save(&file, &shape::cloudtrail::event_selectors(&o))?,
                Err(e) => out.fail(&file, op, Failure::of("GetEventSelectors", &e))?,
            }
            let file = format!("{d}/insight-selectors/{name}.json");
            let op = format!("aws cloudtrail get-insight-selectors --trail-name {arn} {rg}");
            match ct.get_insight_selectors().trail_name(arn).send().await {
                Ok(o) => out.save(&file, &shape::cloudtrail::insight_selectors(&o))?,
                Err(e) => out.fail(&file, op, Failure::of("GetInsightSelectors", &e))?,
            }
        }
        // KMS keys of this region's trails; a key ARN names its own region.
        let keys: BTreeSet<&str> = mine.iter().filter_map(|(_, t)| t.kms_key_id()).collect();
        for key in keys {
            let key_region = key
                .strip_prefix("arn:")
                .and_then(|_| key.split(':').nth(3))
                .filter(|r| !r.is_empty())
                .unwrap_or(region);
            let file = format!(
                "{region}/kms/key-rotation/{}.json",
                component(key.rsplit('/').next().unwrap_or(key))
            );
            let op =
                format!("aws kms get-key-rotation-status --key-id {key} --region {key_region}");
            match sdk
                .kms(key_region)
                .get_key_rotation_status()
                .key_id(key)
                .send()
                .await
            {
                Ok(o) => out.save(&file, &shape::kms::key_rotation(&o))?,
                Err(e) => out.fail(&file, op, Failure::of("GetKeyRotationStatus", &e))?,
            }
        }

        let file = format!("{region}/logs/describe-metric-filters.json");
        let mut filters = Vec::new();
        let mut pages = sdk
            .logs(region)
            .describe_metric_filters()
            .into_paginator()
            .send();
        let mut failed = None;
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => filters.extend(p.metric_filters().iter().cloned()),
                Err(e) => {
                    failed = Some(Failure::of("DescribeMetricFilters", &e));
                    break;
                }
            }
        }
        match failed {
            None => out.save(&file, &shape::logs::metric_filters(&filters))?,
            Some(f) => out.fail(&file, format!("aws logs describe-metric-filters {rg}"), f)?,
        }

        let file = format!("{region}/cloudwatch/describe-alarms.json");
        let (mut metric, mut composite, mut failed) = (Vec::new(), Vec::new(), None);
        let mut pages = sdk
            .cloudwatch(region)
            .describe_alarms()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => {
                    metric.extend(p.metric_alarms().iter().cloned());
                    composite.extend(p.composite_alarms().iter().cloned());
                }
                Err(e) => {
                    failed = Some(Failure::of("DescribeAlarms", &e));
                    break;
                }
            }
        }
        match failed {
            None => out.save(
                &file,
                &shape::cloudwatch::describe_alarms(&metric, &composite),
            )?,
            Some(f) => out.fail(&file, format!("aws cloudwatch describe-alarms {rg}"), f)?,
        }

        // The alarms' SNS topics, each in its own region.
        let topics: BTreeSet<&str> = metric
            .iter()
            .flat_map(|a| a.alarm_actions())
            .map(String::as_str)
            .filter(|a| a.starts_with("arn:") && a.split(':').nth(2) == Some("sns"))
            .collect();
        for topic in topics {
            let topic_region = topic.split(':').nth(3).unwrap_or(region);
            let name = component(topic.rsplit(':').next().unwrap_or(topic));
            let file = format!("{region}/sns/subscriptions/{name}.json");
            let op = format!(
                "aws sns list-subscriptions-by-topic --topic-arn {topic} --region {topic_region}"
            );
            let mut subs = Vec::new();
            let mut failed = None;
            let mut pages = sdk
                .sns(topic_region)
                .list_subscriptions_by_topic()
                .topic_arn(topic)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                match page {
                    Ok(p) => subs.extend(p.subscriptions().iter().cloned()),
                    Err(e) => {
                        failed = Some(Failure::of("ListSubscriptionsByTopic", &e));
                        break;
                    }
                }
            }
            match failed {
                None => out.save(&file, &shape::sns::subscriptions(&subs))?,
                Some(f) => out.fail(&file, op, f)?,
            }
        }

        if let Some((start, end)) = lookup {
            let r = lookup::collect(&ct, out, region, start, end, lookup::INTERVAL).await?;
            found.lookup_events = Some(r.events);
        }
        Ok(found)
    }
}
