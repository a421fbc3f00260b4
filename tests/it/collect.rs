//! `trailaudit collect` against moto's server mode (a real AWS API emulator on loopback),
//! then `audit` on what it wrote; LookupEvents, which moto does not implement, against the
//! SDK's mock client.

use crate::common;
use crate::common::cbor_proxy;
use crate::common::moto;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use cbor_proxy::CborProxy;
use common::*;
use moto::Moto;
use serde_json::Value;

/// moto's account.
const ACCOUNT: &str = "123456789012";
/// Fake credentials for the run without IAM enforcement; the tests grep the evidence for them.
const KEY: &str = "AKIATRAILAUDITTEST01";
const SECRET: &str = "trailaudit/Test+Secret/DoNotWriteMe0123456789";

/// moto, behind the proxy that speaks CloudWatch's CBOR protocol for it; `endpoint` is the
/// proxy's.
struct Emulator {
    moto: Moto,
    proxy: CborProxy,
    endpoint: String,
}

fn emulator() -> Option<Emulator> {
    let moto = Moto::start()?;
    let proxy = CborProxy::start(&moto.endpoint);
    proxy.allow(KEY, SECRET);
    let endpoint = proxy.endpoint.clone();
    Some(Emulator {
        moto,
        proxy,
        endpoint,
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sdk(endpoint: &str, key: &str, secret: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key, secret, None, None, "test",
        )))
        .http_client(trailaudit::collect::http_client())
        .build()
}

/// `trailaudit collect` with credentials in the environment only.
fn collect(endpoint: &str, key: &str, secret: &str, out: &Path, extra: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_trailaudit"));
    cmd.args([
        "collect",
        "--endpoint-url",
        endpoint,
        "--region",
        "us-east-1",
        "-o",
    ])
    .arg(out)
    .args(extra)
    .env("AWS_ACCESS_KEY_ID", key)
    .env("AWS_SECRET_ACCESS_KEY", secret)
    .env("AWS_REGION", "us-east-1")
    .env("AWS_CONFIG_FILE", "/nonexistent")
    .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    // moto answers what it does not implement with a 500, which would be retried.
    .env("AWS_MAX_ATTEMPTS", "1")
    .env_remove("AWS_PROFILE")
    .env_remove("AWS_SESSION_TOKEN");
    let out = cmd.output().expect("run trailaudit collect");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn audit_config(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "audit".to_string(),
        "--config".into(),
        dir.display().to_string(),
    ];
    args.extend(["--format".into(), "json".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    trailaudit(args)
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// No file under `dir` contains any of `secrets`.
fn assert_no_secret(dir: &Path, secrets: &[&str], also: &[&str]) {
    for f in files(dir) {
        let bytes = std::fs::read(dir.join(&f)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in secrets {
            assert!(!text.contains(s), "{f} contains the credential {s:?}");
        }
    }
    for (i, text) in also.iter().enumerate() {
        for s in secrets {
            assert!(
                !text.contains(s),
                "output {i} contains the credential {s:?}"
            );
        }
    }
}

const ROOT_FILTER: &str = r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#;

struct Seeded {
    buckets: Vec<String>,
}

/// Three trails (compliant, no log file validation, no KMS) sharing one log group, KMS key,
/// topic and a locked-down bucket with access logging; the CIS 4.3 metric filter with its
/// alarm on the topic, which has a subscription.
async fn seed(conf: &SdkConfig) -> Seeded {
    let region = "us-east-1";
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    );
    let (logs_bucket, access_logs) = ("trail-logs-123456789012", "access-logs-123456789012");
    for b in [logs_bucket, access_logs] {
        s3.create_bucket().bucket(b).send().await.unwrap();
        s3.put_public_access_block()
            .bucket(b)
            .public_access_block_configuration(
                aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    s3.put_bucket_acl()
        .bucket(access_logs)
        .acl(aws_sdk_s3::types::BucketCannedAcl::from(
            "log-delivery-write",
        ))
        .send()
        .await
        .unwrap();
    s3.put_bucket_logging()
        .bucket(logs_bucket)
        .bucket_logging_status(
            aws_sdk_s3::types::BucketLoggingStatus::builder()
                .logging_enabled(
                    aws_sdk_s3::types::LoggingEnabled::builder()
                        .target_bucket(access_logs)
                        .target_prefix("trail-logs/")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": format!("arn:aws:s3:::{logs_bucket}")},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{logs_bucket}/AWSLogs/{ACCOUNT}/*"),
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]});
    s3.put_bucket_policy()
        .bucket(logs_bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();

    let kms = aws_sdk_kms::Client::new(conf);
    let key = kms.create_key().send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    kms.enable_key_rotation()
        .key_id(&key_arn)
        .send()
        .await
        .unwrap();

    let group = "aws-cloudtrail-logs-org";
    let logs = aws_sdk_cloudwatchlogs::Client::new(conf);
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    logs.put_metric_filter()
        .log_group_name(group)
        .filter_name("cis-4-3-root-usage")
        .filter_pattern(ROOT_FILTER)
        .metric_transformations(
            aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
                .metric_name("RootAccountUsage")
                .metric_namespace("CISBenchmark")
                .metric_value("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let sns = aws_sdk_sns::Client::new(conf);
    let topic = sns
        .create_topic()
        .name("security-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("email")
        .endpoint("secops@example.com")
        .send()
        .await
        .unwrap();

    aws_sdk_cloudwatch::Client::new(conf)
        .put_metric_alarm()
        .alarm_name("cis-4-3-root-usage")
        .metric_name("RootAccountUsage")
        .namespace("CISBenchmark")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
        )
        .actions_enabled(true)
        .alarm_actions(&topic)
        .send()
        .await
        .unwrap();

    let ct = aws_sdk_cloudtrail::Client::new(conf);
    let group_arn = format!("arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}:*");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs");
    for (name, validation, kms) in [
        ("org-main", true, true),
        ("no-validation", false, true),
        ("no-kms", true, false),
    ] {
        let mut create = ct
            .create_trail()
            .name(name)
            .s3_bucket_name(logs_bucket)
            .is_multi_region_trail(true)
            .include_global_service_events(true)
            .enable_log_file_validation(validation)
            .cloud_watch_logs_log_group_arn(&group_arn)
            .cloud_watch_logs_role_arn(&role)
            .sns_topic_name("security-alerts");
        if kms {
            create = create.kms_key_id(&key_arn);
        }
        create.send().await.unwrap();
        ct.start_logging().name(name).send().await.unwrap();
        use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector};
        let field = |f: &str, v: &str| {
            AdvancedFieldSelector::builder()
                .field(f)
                .equals(v)
                .build()
                .unwrap()
        };
        ct.put_event_selectors()
            .trail_name(name)
            .advanced_event_selectors(
                AdvancedEventSelector::builder()
                    .name("management")
                    .field_selectors(field("eventCategory", "Management"))
                    .build()
                    .unwrap(),
            )
            .advanced_event_selectors(
                AdvancedEventSelector::builder()
                    .name("s3-objects")
                    .field_selectors(field("eventCategory", "Data"))
                    .field_selectors(field("resources.type", "AWS::S3::Object"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    Seeded {
        buckets: vec![logs_bucket.to_string()],
    }
}

/// The files the collection script writes for this account, and so must `collect`.
fn expected_files(seeded: &Seeded) -> BTreeSet<String> {
    let a = ACCOUNT;
    let mut f: BTreeSet<String> = [
        format!("{a}/global/sts/caller-identity.json"),
        format!("{a}/us-east-1/cloudtrail/describe-trails.json"),
        format!("{a}/us-east-1/logs/describe-metric-filters.json"),
        format!("{a}/us-east-1/cloudwatch/describe-alarms.json"),
        format!("{a}/us-east-1/sns/subscriptions/security-alerts.json"),
        // The rest of the logging section: no recorder, no load balancer, API, distribution or
        // delivery is seeded, and Security Hub is not enabled (an answer, recorded as its error).
        format!("{a}/us-east-1/config/describe-configuration-recorders.json"),
        format!("{a}/us-east-1/config/describe-configuration-recorder-status.json"),
        format!("{a}/us-east-1/ec2/describe-vpcs.json"),
        format!("{a}/us-east-1/ec2/describe-flow-logs.json"),
        format!("{a}/us-east-1/securityhub/describe-hub.error.json"),
        format!("{a}/us-east-1/elbv2/describe-load-balancers.json"),
        format!("{a}/us-east-1/apigateway/get-rest-apis.json"),
        format!("{a}/us-east-1/apigatewayv2/get-apis.json"),
        format!("{a}/global/cloudfront/list-distributions.json"),
        format!("{a}/global/logs/describe-delivery-sources.json"),
        format!("{a}/global/logs/describe-deliveries.json"),
        format!("{a}/global/logs/describe-delivery-destinations.json"),
    ]
    .into();
    for t in ["org-main", "no-validation", "no-kms"] {
        for kind in ["trail-status", "event-selectors", "insight-selectors"] {
            f.insert(format!("{a}/us-east-1/cloudtrail/{kind}/{t}.json"));
        }
    }
    for b in &seeded.buckets {
        for kind in [
            "bucket-policy",
            "public-access-block",
            "bucket-acl",
            "bucket-logging",
        ] {
            f.insert(format!("{a}/global/s3/{b}/{kind}.json"));
        }
    }
    f
}

#[test]
fn collected_evidence_audits_to_exactly_the_seeded_misconfigurations() {
    let Some(emu) = emulator() else { return };
    let seeded = rt().block_on(seed(&sdk(&emu.endpoint, KEY, SECRET)));
    let dir = tempfile::tempdir().unwrap();
    let run = collect(&emu.endpoint, KEY, SECRET, dir.path(), &[]);
    eprintln!("{}", run.stderr);
    assert_eq!(run.code, 0, "collect: {}", run.stderr);
    assert!(
        run.stderr.contains("Every call succeeded"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "trailaudit audit --config {}",
            dir.path().display()
        )),
        "{}",
        run.stderr
    );

    // File for file what the script writes, plus the KMS key's rotation, whose file name is
    // the key id.
    let mut got = files(dir.path());
    let key_files: Vec<String> = got
        .iter()
        .filter(|f| f.starts_with(&format!("{ACCOUNT}/us-east-1/kms/key-rotation/")))
        .cloned()
        .collect();
    assert_eq!(key_files.len(), 1, "{got:?}");
    got.remove(&key_files[0]);
    assert_eq!(got, expected_files(&seeded));

    // The CLI's shapes: trails by their PascalCase names, times as the CLI prints them.
    let trails: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!(
            "{ACCOUNT}/us-east-1/cloudtrail/describe-trails.json"
        )))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(trails["trailList"].as_array().unwrap().len(), 3);
    assert!(trails["trailList"][0]["TrailARN"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:cloudtrail:us-east-1:123456789012:trail/"));

    let text = trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.path().as_os_str(),
    ]);
    eprintln!(
        "{}",
        text.stdout.lines().take(4).collect::<Vec<_>>().join("\n")
    );
    let audit = audit_config(dir.path(), &[]);
    assert_eq!(
        audit.code, 1,
        "violations, complete evidence: {}",
        audit.stderr
    );
    let report = audit.json();
    assert_eq!(report["inputs"]["partial"], false);
    assert_eq!(
        report["inputs"]["config"]["failed_files"],
        serde_json::json!([])
    );
    let other_monitoring: BTreeSet<String> = (1..=15)
        .filter(|n| *n != 3)
        .map(|n| format!("TA-MON-4{n:02}"))
        .collect();
    // No Config recorder, moto's default VPC without a flow log, Security Hub off.
    let mut expected: BTreeSet<String> = [
        "TA-CFG-002",
        "TA-CFG-003",
        "TA-CFG-014",
        "TA-CFG-015",
        "TA-CFG-016",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    expected.extend(other_monitoring);
    assert_eq!(failing(&report), expected);
    let resources = |id: &str| -> Vec<String> {
        policy(&report, id)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["resource"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        resources("TA-CFG-002"),
        [format!(
            "arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/no-validation"
        )]
    );
    assert_eq!(
        resources("TA-CFG-003"),
        [format!(
            "arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/no-kms"
        )]
    );
    // CIS 4.3: filter, alarm, topic, confirmed subscription.
    assert_eq!(policy(&report, "TA-MON-403")["status"], "pass");
    for id in ["TA-CFG-001", "TA-CFG-009", "TA-CFG-010", "TA-CFG-013"] {
        assert_eq!(
            policy(&report, id)["status"],
            "pass",
            "{id}: {:#}",
            policy(&report, id)
        );
    }

    assert_no_secret(
        dir.path(),
        &[KEY, SECRET],
        &[&run.stdout, &run.stderr, &audit.stdout],
    );
}

/// A form-encoded IAM Query API call to moto (before IAM is enforced, moto reads the service
/// from the credential scope and does not check the signature).
fn iam(endpoint: &str, params: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let mut body = String::from("Version=2010-05-08");
    for (k, v) in params {
        body.push_str(&format!("&{k}={}", enc(v)));
    }
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIASEED/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200"),
        "{out}"
    );
    out
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap() + open.len();
    let end = start + text[start..].find(close).unwrap();
    &text[start..end]
}

/// The README's least-privilege policy, with the actions in `deny` left out.
fn readme_policy(without: &[&str]) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let json = between(&readme, "<!-- collect-iam-policy -->\n```json\n", "```");
    let mut policy: Value = serde_json::from_str(json).expect("the README's IAM policy is JSON");
    for st in policy["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = st["Action"].as_array_mut() {
            actions.retain(|a| !without.contains(&a.as_str().unwrap()));
        }
    }
    policy.to_string()
}

#[test]
fn access_denied_is_a_recorded_gap_and_everything_else_is_written() {
    let Some(emu) = emulator() else { return };
    let seeded = rt().block_on(seed(&sdk(&emu.endpoint, KEY, SECRET)));
    // A user with the README's policy, less cloudwatch:DescribeAlarms; then moto enforces IAM.
    iam(
        &emu.moto.endpoint,
        &[("Action", "CreateUser"), ("UserName", "auditor")],
    );
    iam(
        &emu.moto.endpoint,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "auditor"),
            ("PolicyName", "trailaudit-collect"),
            (
                "PolicyDocument",
                &readme_policy(&["cloudwatch:DescribeAlarms"]),
            ),
        ],
    );
    let created = iam(
        &emu.moto.endpoint,
        &[("Action", "CreateAccessKey"), ("UserName", "auditor")],
    );
    let key = between(&created, "<AccessKeyId>", "</AccessKeyId>").to_string();
    let secret = between(&created, "<SecretAccessKey>", "</SecretAccessKey>").to_string();
    emu.proxy.allow(&key, &secret);
    emu.moto.enforce_iam();

    let dir = tempfile::tempdir().unwrap();
    let run = collect(&emu.endpoint, &key, &secret, dir.path(), &[]);
    assert_eq!(run.code, 2, "partial evidence: {}", run.stderr);
    // The policy's one hole, and four calls moto itself refuses once it enforces IAM: it fails
    // the signature check of Security Hub's and API Gateway's (v1 and v2) REST calls
    // (SignatureDoesNotMatch, boto3's signatures too) and answers CloudFront's with an empty
    // 403, whatever the policy says. AWS names these actions securityhub:DescribeHub,
    // apigateway:GET (both API Gateway APIs) and cloudfront:ListDistributions, as the README's
    // policy does.
    assert!(run.stderr.contains("5 call(s) failed"), "{}", run.stderr);
    let emulator_refused = [
        "us-east-1/securityhub/describe-hub",
        "us-east-1/apigateway/get-rest-apis",
        "us-east-1/apigatewayv2/get-apis",
        "global/cloudfront/list-distributions",
    ];
    let alarms = format!("{ACCOUNT}/us-east-1/cloudwatch/describe-alarms.json");
    let mut expected = expected_files(&seeded);
    expected.remove(&alarms);
    expected.insert(format!(
        "{ACCOUNT}/us-east-1/cloudwatch/describe-alarms.error.json"
    ));
    for f in emulator_refused {
        expected.remove(&format!("{ACCOUNT}/{f}.json"));
        expected.insert(format!("{ACCOUNT}/{f}.error.json"));
    }
    // Without alarms, no topic is known: the script would not list subscriptions either.
    expected.remove(&format!(
        "{ACCOUNT}/us-east-1/sns/subscriptions/security-alerts.json"
    ));
    let mut got = files(dir.path());
    got.retain(|f| !f.contains("/kms/key-rotation/"));
    assert_eq!(got, expected);
    let err: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!(
            "{ACCOUNT}/us-east-1/cloudwatch/describe-alarms.error.json"
        )))
        .unwrap(),
    )
    .unwrap();
    let code = err["trailauditCollectionError"]["code"].as_str().unwrap();
    assert!(code.starts_with("AccessDenied"), "{err}");

    let audit = audit_config(dir.path(), &[]);
    assert_eq!(audit.code, 2, "partial evidence: {}", audit.stderr);
    let report = audit.json();
    assert_eq!(report["inputs"]["partial"], true);
    let gaps: Vec<&Value> = report["inputs"]["config"]["collection_gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            let path = g["path"].as_str().unwrap();
            let refused = emulator_refused.iter().any(|f| path.contains(f));
            if refused {
                assert_eq!(g["code"], "HttpStatus403", "{g}");
            }
            !refused
        })
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["code"], code);
    assert_eq!(
        gaps[0]["operation"],
        "aws cloudwatch describe-alarms --region us-east-1"
    );
    assert_no_secret(dir.path(), &[&key, &secret], &[&run.stdout, &run.stderr]);
}

/// moto keeps `IsOrganizationTrail` and a log group ARN of another account as given, but it has
/// no organisation behind them: a member account's describe-trails does not list the trail
/// (moto lists an account's own trails only). So `collect` runs as the owner, and the member's
/// view is the owner's describe-trails output, which is what AWS shows a member.
#[test]
fn organisation_trail_collected_and_judged_from_a_member() {
    let Some(emu) = emulator() else { return };
    const MEMBER: &str = "111122223333";
    const LOG_ARCHIVE: &str = "444455556666";
    rt().block_on(async {
        let conf = sdk(&emu.endpoint, KEY, SECRET);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket("org-trail-logs")
            .send()
            .await
            .unwrap();
        let ct = aws_sdk_cloudtrail::Client::new(&conf);
        ct.create_trail()
            .name("org-trail")
            .s3_bucket_name("org-trail-logs")
            .is_multi_region_trail(true)
            .include_global_service_events(true)
            .enable_log_file_validation(true)
            .is_organization_trail(true)
            .cloud_watch_logs_log_group_arn(format!(
                "arn:aws:logs:us-east-1:{LOG_ARCHIVE}:log-group:org-trail-logs:*"
            ))
            .cloud_watch_logs_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/ct-to-cwl"))
            .send()
            .await
            .unwrap();
        ct.start_logging().name("org-trail").send().await.unwrap();
        // moto answers get-event-selectors with no selector for a trail that has none of its
        // own, where AWS answers its default (all management events): put that default.
        ct.put_event_selectors()
            .trail_name("org-trail")
            .event_selectors(
                aws_sdk_cloudtrail::types::EventSelector::builder()
                    .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::All)
                    .include_management_events(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let run = collect(&emu.endpoint, KEY, SECRET, dir.path(), &[]);
    assert_eq!(run.code, 0, "collect: {}", run.stderr);
    let listed = dir.path().join(format!(
        "{ACCOUNT}/us-east-1/cloudtrail/describe-trails.json"
    ));
    let trails: Value = serde_json::from_slice(&std::fs::read(&listed).unwrap()).unwrap();
    let trail = &trails["trailList"][0];
    assert_eq!(trail["IsOrganizationTrail"], true, "{trails:#}");
    assert_eq!(trail["HomeRegion"], "us-east-1");

    // The owner alone: its trail is judged; the chain is in the log-archive account, whose
    // evidence is not there.
    let r = audit_config(dir.path(), &[]).json();
    assert_eq!(
        policy(&r, "TA-CFG-001")["status"],
        "pass",
        "{:#}",
        policy(&r, "TA-CFG-001")
    );
    let mon = policy(&r, "TA-MON-403");
    assert_eq!(mon["status"], "no_evidence", "{mon:#}");
    assert_eq!(
        mon["judged_on"]["evidence_needed_from"],
        serde_json::json!([LOG_ARCHIVE])
    );

    // A member lists the same trail: covered by it, judged with the owner's status.
    let member = dir.path().join(format!(
        "{MEMBER}/us-east-1/cloudtrail/describe-trails.json"
    ));
    std::fs::create_dir_all(member.parent().unwrap()).unwrap();
    std::fs::copy(&listed, &member).unwrap();
    let r = audit_config(dir.path(), &[]).json();
    assert_eq!(
        r["posture"].as_array().unwrap().len(),
        2,
        "the trail seen from each account"
    );
    let p = policy(&r, "TA-CFG-001");
    assert_eq!(p["status"], "pass", "{p:#}");
    let mon = policy(&r, "TA-MON-403");
    assert_eq!(mon["status"], "no_evidence", "{mon:#}");
    assert!(mon["reason"].as_str().unwrap().contains(&format!(
        "{MEMBER}: evidence needed from account {LOG_ARCHIVE}"
    )));
}

#[test]
fn logs_from_bucket_keeps_keys_and_digest_signatures_for_the_window() {
    let Some(emu) = emulator() else { return };
    let conf = sdk(&emu.endpoint, KEY, SECRET);
    let seeded = rt().block_on(seed(&conf));
    let bucket = seeded.buckets[0].clone();
    let now = chrono::Utc::now();
    let old = now - chrono::Duration::days(200);
    let key = |t: chrono::DateTime<chrono::Utc>, kind: &str, name: &str| {
        format!(
            "AWSLogs/{ACCOUNT}/{kind}/us-east-1/{}/{name}",
            t.format("%Y/%m/%d")
        )
    };
    let log_name = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{ACCOUNT}_CloudTrail_us-east-1_{}_AbCd.json.gz",
            t.format("%Y%m%dT%H%MZ")
        )
    };
    let recent = key(now, "CloudTrail", &log_name(now));
    let stale = key(old, "CloudTrail", &log_name(old));
    let digest = key(
        now,
        "CloudTrail-Digest",
        &format!(
            "{ACCOUNT}_CloudTrail-Digest_us-east-1_org-main_us-east-1_{}.json.gz",
            now.format("%Y%m%dT%H%M%SZ")
        ),
    );
    let t = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let log_bytes = gzip(&envelope(&[
        record(&t, ACCOUNT, "us-east-1", "DescribeInstances"),
        record(&t, ACCOUNT, "us-east-1", "ListBuckets"),
    ]));
    let digest_bytes = gzip(
        serde_json::json!({"awsAccountId": ACCOUNT, "digestStartTime": t, "digestEndTime": t,
            "digestS3Bucket": bucket, "digestS3Object": digest, "newestEventTime": t, "oldestEventTime": t,
            "previousDigestS3Bucket": null, "previousDigestS3Object": null, "previousDigestHashValue": null,
            "previousDigestHashAlgorithm": null, "previousDigestSignature": null,
            "digestPublicKeyFingerprint": "8b264e70e4c626bd73fd3d816a1cb3df", "digestSignatureAlgorithm": "SHA256withRSA",
            "logFiles": []})
        .to_string()
        .as_bytes(),
    );
    let signature = "2558217764f237f5827ec68728190f1556f30988538cb69302a8b5b638d8fb15";
    rt().block_on(async {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        for (k, body) in [(&recent, &log_bytes), (&stale, &log_bytes)] {
            s3.put_object()
                .bucket(&bucket)
                .key(k)
                .body(body.clone().into())
                .send()
                .await
                .unwrap();
        }
        s3.put_object()
            .bucket(&bucket)
            .key(&digest)
            .body(digest_bytes.clone().into())
            .metadata("signature", signature)
            .metadata("signature-algorithm", "SHA256withRSA")
            .send()
            .await
            .unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let run = collect(
        &emu.endpoint,
        KEY,
        SECRET,
        dir.path(),
        &["--logs-from-bucket", "--since", "30d"],
    );
    // The README's example output comes from here (`cargo test -- --nocapture`).
    eprintln!("{}", run.stderr);
    // moto has no ListPublicKeys: that one call is a gap, and only that one.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("1 call(s) failed"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("us-east-1/cloudtrail/public-keys.error.json"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 log files, 1 digest files"),
        "{}",
        run.stderr
    );

    let logs = dir.path().join(ACCOUNT).join("logs");
    let got = files(&logs.join(&bucket));
    let digest_meta = format!("{digest}.metadata.json");
    assert_eq!(
        got,
        [recent.clone(), digest.clone(), digest_meta.clone()]
            .into_iter()
            .collect(),
        "the window's objects under their own keys"
    );
    assert_eq!(
        std::fs::read(logs.join(&bucket).join(&recent)).unwrap(),
        log_bytes
    );
    assert_eq!(
        std::fs::read(logs.join(&bucket).join(&digest)).unwrap(),
        digest_bytes
    );
    let meta: Value =
        serde_json::from_slice(&std::fs::read(logs.join(&bucket).join(&digest_meta)).unwrap())
            .unwrap();
    assert_eq!(
        meta,
        serde_json::json!({"signature": signature, "signature-algorithm": "SHA256withRSA"})
    );
    let printed = format!("--logs {}", logs.display());
    assert!(run.stderr.contains(&printed), "{}", run.stderr);

    // Both audit inputs read the same directory: the config walk skips logs/.
    let audit = audit_config(
        dir.path(),
        &["--logs", logs.to_str().unwrap(), "--allow-partial"],
    );
    assert_eq!(audit.code, 1, "{}", audit.stderr);
    let report = audit.json();
    assert_eq!(report["inputs"]["logs"]["events"], 2);
    assert_eq!(
        report["inputs"]["logs"]["failed_files"],
        serde_json::json!([])
    );
    assert_eq!(
        report["inputs"]["config"]["failed_files"],
        serde_json::json!([])
    );
    let gaps = report["inputs"]["config"]["collection_gaps"]
        .as_array()
        .unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0]["operation"]
        .as_str()
        .unwrap()
        .starts_with("aws cloudtrail list-public-keys"));
    assert_no_secret(dir.path(), &[KEY, SECRET], &[&run.stdout, &run.stderr]);
}

#[test]
fn an_unreachable_region_is_a_gap_and_the_others_are_complete() {
    let Some(emu) = emulator() else { return };
    let seeded = rt().block_on(seed(&sdk(&emu.endpoint, KEY, SECRET)));
    emu.proxy
        .unreachable
        .lock()
        .unwrap()
        .push("eu-west-1".into());
    let dir = tempfile::tempdir().unwrap();
    let run = collect(
        &emu.endpoint,
        KEY,
        SECRET,
        dir.path(),
        &["--region", "eu-west-1", "--concurrency", "2"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("2 region(s) (eu-west-1, us-east-1)"),
        "{}",
        run.stderr
    );
    // us-east-1 complete; in eu-west-1 every call failed and is recorded where its file would be.
    let mut expected = expected_files(&seeded);
    let failed = [
        "cloudtrail/describe-trails",
        "logs/describe-metric-filters",
        "cloudwatch/describe-alarms",
        "config/describe-configuration-recorders",
        "config/describe-configuration-recorder-status",
        "ec2/describe-vpcs",
        "ec2/describe-flow-logs",
        "securityhub/describe-hub",
        "elbv2/describe-load-balancers",
        "apigateway/get-rest-apis",
        "apigatewayv2/get-apis",
    ];
    for f in failed {
        expected.insert(format!("{ACCOUNT}/eu-west-1/{f}.error.json"));
    }
    let mut got = files(dir.path());
    got.retain(|f| !f.contains("/kms/key-rotation/"));
    assert_eq!(got, expected);
    let err: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!(
            "{ACCOUNT}/eu-west-1/cloudtrail/describe-trails.error.json"
        )))
        .unwrap(),
    )
    .unwrap();
    let code = err["trailauditCollectionError"]["code"].as_str().unwrap();
    assert!(
        ["ConnectionError", "DispatchFailure", "ResponseError"].contains(&code),
        "{err}"
    );
    let report = audit_config(dir.path(), &[]).json();
    let gaps = report["inputs"]["config"]["collection_gaps"]
        .as_array()
        .unwrap();
    assert_eq!(gaps.len(), failed.len(), "{gaps:?}");
    assert!(gaps.iter().all(|g| g["region"] == "eu-west-1"));
    assert_no_secret(dir.path(), &[KEY, SECRET], &[&run.stdout, &run.stderr]);
}

// LookupEvents and ListPublicKeys: moto implements neither, so these run against the SDK's
// mock client (aws-smithy-mocks), which answers inside the SDK's own request pipeline (retries
// and error parsing included).

mod mocked {
    use super::*;
    use aws_sdk_cloudtrail::operation::list_public_keys::ListPublicKeysOutput;
    use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
    use aws_sdk_cloudtrail::types::{Event, PublicKey};
    use aws_sdk_cloudtrail::Client;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
    use aws_smithy_types::retry::RetryConfig;
    use aws_smithy_types::DateTime;
    use trailaudit::collect::{bucket, lookup, Out};

    fn client(rules: &[&Rule]) -> Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for r in rules {
            interceptor = interceptor.with_rule(r);
        }
        let conf = aws_sdk_cloudtrail::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(KEY, SECRET, None, None, "test"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .build();
        Client::from_conf(conf)
    }

    fn event(n: u32) -> Event {
        let time = format!("2026-07-01T00:00:0{n}Z");
        let rec = record(&time, ACCOUNT, "us-east-1", "DescribeInstances");
        Event::builder()
            .event_id(format!("id-{n}"))
            .event_name("DescribeInstances")
            .event_time(DateTime::from_secs(1_782_864_000 + i64::from(n)))
            .cloud_trail_event(rec.to_string())
            .build()
    }

    fn page(events: Vec<Event>, next: Option<&str>) -> LookupEventsOutput {
        LookupEventsOutput::builder()
            .set_events(Some(events))
            .set_next_token(next.map(str::to_string))
            .build()
    }

    const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

    fn window() -> (DateTime, DateTime) {
        (
            DateTime::from_secs(1_782_000_000),
            DateTime::from_secs(1_782_900_000),
        )
    }

    #[test]
    fn lookup_events_pages_through_at_two_requests_a_second_retrying_throttling() {
        let first = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| page(vec![event(1), event(2)], Some("t1")));
        // Throttled once: the SDK backs off and asks again.
        let second = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token() == Some("t1"))
            .sequence()
            .http_status(400, Some(THROTTLED.into()))
            .output(|| page(vec![event(3)], Some("t2")))
            .build();
        let last = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token() == Some("t2") && r.start_time().is_some())
            .then_output(|| page(vec![], None));
        let client = client(&[&first, &second, &last]);
        let dir = tempfile::tempdir().unwrap();
        let out = Out::new(dir.path().join(ACCOUNT));
        let (start, end) = window();
        let began = std::time::Instant::now();
        let got = rt()
            .block_on(lookup::collect(
                &client,
                &out,
                "us-east-1",
                start,
                end,
                lookup::INTERVAL,
            ))
            .unwrap();
        let took = began.elapsed();
        assert_eq!((got.pages, got.events, got.failure), (3, 3, None));
        assert_eq!(
            (first.num_calls(), second.num_calls(), last.num_calls()),
            (1, 2, 1)
        );
        assert!(
            took >= Duration::from_millis(1000),
            "3 requests at most 2 a second take at least 1 s, took {took:?}"
        );

        let pages = dir.path().join(ACCOUNT).join(lookup::dir("us-east-1"));
        assert_eq!(
            files(&pages),
            ["page-0001.json", "page-0002.json", "page-0003.json"]
                .into_iter()
                .map(String::from)
                .collect()
        );
        let p1: Value =
            serde_json::from_slice(&std::fs::read(pages.join("page-0001.json")).unwrap()).unwrap();
        assert_eq!(p1["NextToken"], "t1");
        assert_eq!(p1["Events"][0]["EventId"], "id-1");
        assert_eq!(p1["Events"][0]["EventTime"], "2026-07-01T00:00:01+00:00");
        assert!(p1["Events"][0]["CloudTrailEvent"].is_string());

        // The event loader reads the pages as the aws CLI's LookupEvents output.
        let inv = trailaudit([
            "inventory".as_ref(),
            pages.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        assert_eq!(inv.code, 0, "{}", inv.stderr);
        let inv = inv.json();
        assert_eq!(inv["events"], 3);
        assert_eq!(inv["formats"]["lookup_events"], 3, "{inv}");
        assert_no_secret(dir.path(), &[KEY, SECRET], &[]);
    }

    #[test]
    fn throttling_that_does_not_clear_keeps_the_pages_and_records_the_gap() {
        let first = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| page(vec![event(1)], Some("t1")));
        let throttled = mock!(Client::lookup_events)
            .match_requests(|r| r.next_token() == Some("t1"))
            .sequence()
            .http_status(400, Some(THROTTLED.into()))
            .repeatedly()
            .build();
        let client = client(&[&first, &throttled]);
        let dir = tempfile::tempdir().unwrap();
        let out = Out::new(dir.path().join(ACCOUNT));
        let (start, end) = window();
        let got = rt()
            .block_on(lookup::collect(
                &client,
                &out,
                "eu-west-1",
                start,
                end,
                Duration::from_millis(1),
            ))
            .unwrap();
        assert_eq!((got.pages, got.events), (1, 1));
        assert_eq!(got.failure.unwrap().code, "ThrottlingException");
        assert_eq!(throttled.num_calls(), 3, "retried up to the attempt limit");
        let (_, _, gaps) = out.finish();
        assert_eq!(gaps.len(), 1);
        let account = dir.path().join(ACCOUNT);
        assert!(account
            .join("eu-west-1/cloudtrail/lookup-events/page-0001.json")
            .is_file());
        assert!(account
            .join("eu-west-1/cloudtrail/lookup-events.error.json")
            .is_file());

        // `audit --config` sees the gap, and does not take the pages for configuration.
        let audit = audit_config(dir.path(), &[]);
        assert_eq!(audit.code, 2, "{}", audit.stderr);
        let report = audit.json();
        assert_eq!(
            report["inputs"]["config"]["failed_files"],
            serde_json::json!([])
        );
        let gaps = &report["inputs"]["config"]["collection_gaps"];
        assert_eq!(gaps[0]["code"], "ThrottlingException", "{gaps}");
        assert_eq!(gaps[0]["region"], "eu-west-1");
    }

    #[test]
    fn all_regions_are_the_enabled_ones() {
        use aws_smithy_types::body::SdkBody;
        let http = aws_smithy_http_client::test_util::infallible_client_fn(|req| {
            assert!(req.uri().path().ends_with("/listRegions"), "{}", req.uri());
            let body: Value = serde_json::from_slice(req.body().bytes().unwrap()).unwrap();
            assert_eq!(
                body["RegionOptStatusContains"],
                serde_json::json!(["ENABLED", "ENABLED_BY_DEFAULT"])
            );
            http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(SdkBody::from(
                    r#"{"Regions":[{"RegionName":"us-east-1","RegionOptStatus":"ENABLED_BY_DEFAULT"},{"RegionName":"ap-east-1","RegionOptStatus":"ENABLED"}]}"#,
                ))
                .unwrap()
        });
        let conf = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                KEY, SECRET, None, None, "test",
            )))
            .http_client(http)
            .build();
        let sdk = trailaudit::collect::Sdk::from_config(conf, false);
        let opts = trailaudit::collect::Options {
            profile: None,
            regions: vec![],
            all_regions: true,
            endpoint_url: None,
            since: Duration::from_secs(86400),
            lookup_events: false,
            logs_from_bucket: false,
            out: "unused".into(),
            concurrency: 4,
        };
        let regions = rt()
            .block_on(trailaudit::collect::regions(&sdk, &opts, Some("us-east-1")))
            .unwrap();
        assert_eq!(regions, ["ap-east-1", "us-east-1"]);
    }

    #[test]
    fn public_keys_are_written_as_the_cli_prints_them() {
        let keys = mock!(Client::list_public_keys).then_output(|| {
            ListPublicKeysOutput::builder()
                .public_key_list(
                    PublicKey::builder()
                        .value(aws_smithy_types::Blob::new(vec![0x30, 0x82, 0x01, 0x0a]))
                        .validity_start_time(DateTime::from_secs(1_722_384_000))
                        .validity_end_time(DateTime::from_secs(1_725_062_400))
                        .fingerprint("8b264e70e4c626bd73fd3d816a1cb3df")
                        .build(),
                )
                .build()
        });
        let client = client(&[&keys]);
        let dir = tempfile::tempdir().unwrap();
        let out = Out::new(dir.path().join(ACCOUNT));
        let (start, end) = window();
        rt().block_on(bucket::public_keys(&client, &out, "us-east-1", start, end))
            .unwrap();
        let file = dir
            .path()
            .join(ACCOUNT)
            .join("us-east-1/cloudtrail/public-keys.json");
        let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"PublicKeyList": [{
                "Value": "MIIBCg==",
                "ValidityStartTime": "2024-07-31T00:00:00+00:00",
                "ValidityEndTime": "2024-08-31T00:00:00+00:00",
                "Fingerprint": "8b264e70e4c626bd73fd3d816a1cb3df",
            }]})
        );
        // `config::load` recognises it: not a failed file.
        let audit = audit_config(dir.path(), &[]);
        let report = audit.json();
        assert_eq!(
            report["inputs"]["config"]["failed_files"],
            serde_json::json!([])
        );
    }
}
