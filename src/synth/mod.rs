//! Deterministic synthetic CloudTrail: the `samples/` bundle and the benchmark corpus.
//!
//! Same spec, same bytes: every account-region-day draws from its own seeded generator, so the
//! output does not depend on thread scheduling. The generator is our own SplitMix64 rather than
//! a crate so that the byte stream can never change under a dependency upgrade.

pub mod config;
pub mod digests;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use flate2::{write::GzEncoder, Compression};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 >= 1.0 - p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn token(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len).map(|_| *self.pick(alphabet) as char).collect()
    }

    fn uuid(&mut self) -> String {
        let h = self.token(32, b"0123456789abcdef");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

fn mix(parts: &[u64]) -> u64 {
    let mut r = Rng::new(0x7261_696c_6175_6469);
    for p in parts {
        r.0 ^= p.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        r.next_u64();
    }
    r.next_u64()
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// An AWS account of the fictional company.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub alias: String,
}

/// Where files go under the output directory.
#[derive(Debug, Clone)]
pub enum Layout {
    /// `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`
    Account,
    /// `AWSLogs/<o-id>/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>` (organization trail)
    Organization(String),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub start: NaiveDate,
    pub days: u32,
    pub accounts: Vec<Account>,
    pub regions: Vec<String>,
    /// Background records in the whole corpus (planted incidents come on top).
    pub records: u64,
    pub max_records_per_file: usize,
    pub layout: Layout,
    /// Plant the incident story (see `samples/README.md`).
    pub incidents: bool,
    /// Account-region-days with no file at all: (account index, region, day offset).
    pub missing: Vec<(usize, String, u32)>,
}

impl Spec {
    /// The `samples/` bundle: Northwind Analytics, 2026 Q3.
    pub fn samples() -> Spec {
        Spec {
            seed: 20_260_701,
            start: NaiveDate::from_ymd_opt(2026, 7, 1).expect("valid date"),
            days: 92,
            accounts: company_accounts(),
            regions: vec!["us-east-1".into(), "us-west-2".into(), "eu-west-1".into()],
            records: 36_000,
            max_records_per_file: 400,
            layout: Layout::Organization("o-n0rthw1nd7".into()),
            incidents: true,
            // prod, eu-west-1, 2026-08-05
            missing: vec![(0, "eu-west-1".into(), 35)],
        }
    }

    /// The benchmark corpus: `records` records in files of at most 200.
    pub fn bench(records: u64) -> Spec {
        Spec {
            seed: 42,
            start: NaiveDate::from_ymd_opt(2026, 7, 1).expect("valid date"),
            days: 92,
            accounts: company_accounts(),
            regions: vec![
                "us-east-1".into(),
                "us-west-2".into(),
                "eu-west-1".into(),
                "ap-southeast-2".into(),
            ],
            records,
            max_records_per_file: 200,
            layout: Layout::Account,
            incidents: true,
            missing: vec![(0, "eu-west-1".into(), 35)],
        }
    }
}

fn company_accounts() -> Vec<Account> {
    [
        ("210987654321", "northwind-prod"),
        ("345678901234", "northwind-dev"),
        ("456789012345", "northwind-security"),
    ]
    .iter()
    .map(|(id, alias)| Account {
        id: id.to_string(),
        alias: alias.to_string(),
    })
    .collect()
}

/// What was written.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub files: u64,
    pub records: u64,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    /// Planted incident records by label.
    pub planted: BTreeMap<String, u64>,
}

/// One record, with the fields in CloudTrail's order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_version: &'static str,
    user_identity: Value,
    event_time: String,
    event_source: String,
    event_name: String,
    aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: String,
    user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    request_parameters: Value,
    response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<Value>,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(rename = "eventID")]
    event_id: String,
    read_only: bool,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: String,
    event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_credential_from_console: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Admin,
    Dev,
    CiKey,
    Joe,
    DeployRole,
    LambdaRole,
    InstanceRole,
    ConfigService,
    Root,
}

struct Ctx<'a> {
    account: &'a Account,
    region: &'a str,
    rng: Rng,
}

impl Ctx<'_> {
    fn identity(&mut self, who: Who) -> (Value, String, String) {
        let acct = &self.account.id;
        let key = |r: &mut Rng, prefix: &str| {
            format!(
                "{prefix}{}",
                r.token(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
            )
        };
        let user = |name: &str, pid: &str, r: &mut Rng| {
            json!({"type": "IAMUser", "principalId": pid, "arn": format!("arn:aws:iam::{acct}:user/{name}"),
                   "accountId": acct, "accessKeyId": key(r, "AKIA"), "userName": name})
        };
        let role = |role: &str, session: &str, pid: &str, mfa: bool, r: &mut Rng| {
            json!({"type": "AssumedRole", "principalId": format!("{pid}:{session}"),
                   "arn": format!("arn:aws:sts::{acct}:assumed-role/{role}/{session}"),
                   "accountId": acct, "accessKeyId": key(r, "ASIA"),
                   "sessionContext": {
                       "sessionIssuer": {"type": "Role", "principalId": pid,
                           "arn": format!("arn:aws:iam::{acct}:role/{role}"), "accountId": acct, "userName": role},
                       "webIdFederationData": {},
                       "attributes": {"creationDate": "2026-07-01T00:00:00Z", "mfaAuthenticated": if mfa {"true"} else {"false"}}}})
        };
        let ua_cli = "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe";
        let ua_console = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
        let ua_sdk = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0";
        let office = format!("203.0.113.{}", 10 + self.rng.below(20));
        match who {
            Who::Admin => (user("alice.admin", "AIDA4NWADMINALICE0001", &mut self.rng), office, ua_console.into()),
            Who::Dev => (user("bob.dev", "AIDA4NWDEVELOPERBOB02", &mut self.rng), office, ua_cli.into()),
            Who::CiKey => (user("ci-deployer", "AIDA4NWCIDEPLOYER0003", &mut self.rng), "198.51.100.20".into(), ua_sdk.into()),
            Who::Joe => (user("j.doe", "AIDA4NWJDOEUSER00004", &mut self.rng), office, ua_console.into()),
            Who::DeployRole => (role("deploy-role", "gha-run", "AROA4NWDEPLOYROLE0005", false, &mut self.rng), "192.0.2.44".into(), ua_cli.into()),
            Who::LambdaRole => (role("etl-lambda-role", "etl-nightly", "AROA4NWLAMBDAROLE0006", false, &mut self.rng), "lambda.amazonaws.com".into(), "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.4 exec-env/AWS_Lambda_python3.12".into()),
            Who::InstanceRole => {
                let sid = format!("i-0{}", self.rng.token(16, b"0123456789abcdef"));
                (role("app-instance-role", &sid, "AROA4NWINSTANCE00007", false, &mut self.rng), format!("10.20.{}.{}", self.rng.below(8), 10 + self.rng.below(200)), ua_sdk.into())
            }
            Who::ConfigService => (
                role("AWSServiceRoleForConfig", "AWSConfig-Describe", "AROA4NWCONFIGSVC0008", false, &mut self.rng),
                "config.amazonaws.com".into(),
                "config.amazonaws.com".into(),
            ),
            Who::Root => (
                json!({"type": "Root", "principalId": acct, "arn": format!("arn:aws:iam::{acct}:root"), "accountId": acct}),
                "185.220.101.47".into(),
                ua_console.into(),
            ),
        }
    }

    // One argument per record field a caller chooses; a builder would only add noise here.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        t: i64,
        who: Who,
        source: &str,
        name: &str,
        read_only: bool,
        req: Value,
        resp: Value,
    ) -> Record {
        let (mut user_identity, ip, ua) = self.identity(who);
        let global = matches!(source, "iam.amazonaws.com" | "signin.amazonaws.com");
        let region = if global {
            "us-east-1".to_string()
        } else {
            self.region.to_string()
        };
        if matches!(who, Who::LambdaRole | Who::ConfigService) {
            if let Some(obj) = user_identity.as_object_mut() {
                obj.insert("invokedBy".into(), json!(ip));
            }
        }
        let tls = (!ip.ends_with(".amazonaws.com")).then(|| {
            json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                   "clientProvidedHostHeader": format!("{}.{}.amazonaws.com", source.trim_end_matches(".amazonaws.com"), region)})
        });
        Record {
            event_version: "1.10",
            user_identity,
            event_time: crate::events::record::format_event_time(t * 1000),
            event_source: source.into(),
            event_name: name.into(),
            aws_region: region,
            source_ip_address: ip,
            user_agent: ua,
            error_code: None,
            error_message: None,
            request_parameters: req,
            response_elements: resp,
            additional_event_data: None,
            request_id: self.rng.uuid(),
            event_id: self.rng.uuid(),
            read_only,
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: self.account.id.clone(),
            event_category: "Management",
            tls_details: tls,
            session_credential_from_console: None,
        }
    }

    /// One everyday API call.
    fn background(&mut self, t: i64) -> Record {
        let acct = self.account.id.clone();
        let region = self.region.to_string();
        let roll = self.rng.below(100);
        let variant = self.rng.below(4) as usize;
        let session_n = self.rng.below(10_000);
        let stream_n = self.rng.below(1_000_000);
        let temp_key = self.rng.token(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        let session_token = self.rng.token(
            64,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        );
        let bucket = format!(
            "northwind-{}-{}",
            self.account.alias.trim_start_matches("northwind-"),
            self.rng.pick(&["data", "artifacts", "reports", "backups"])
        );
        let instance = format!("i-0{}", self.rng.token(16, b"0123456789abcdef"));
        let who = *self.rng.pick(&[
            Who::Dev,
            Who::DeployRole,
            Who::InstanceRole,
            Who::LambdaRole,
            Who::CiKey,
            Who::Admin,
        ]);
        let mut r = match roll {
            0..=17 => self.record(t, Who::ConfigService, "ec2.amazonaws.com", ["DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeSubnets"][variant], true,
                json!({"maxResults": 1000, "filterSet": {}, "instancesSet": {}}), Value::Null),
            18..=30 => self.record(t, who, "sts.amazonaws.com", "AssumeRole", true,
                json!({"roleArn": format!("arn:aws:iam::{acct}:role/deploy-role"), "roleSessionName": format!("session-{session_n}"), "durationSeconds": 3600}),
                json!({"credentials": {"accessKeyId": format!("ASIA{temp_key}"), "sessionToken": session_token, "expiration": "Jul 1, 2026, 1:00:00 PM"},
                       "assumedRoleUser": {"assumedRoleId": "AROA4NWDEPLOYROLE0005:session", "arn": format!("arn:aws:sts::{acct}:assumed-role/deploy-role/session")}})),
            31..=40 => self.record(t, Who::LambdaRole, "kms.amazonaws.com", "Decrypt", true,
                json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{acct}:function:etl-nightly")}}), Value::Null),
            41..=52 => self.record(t, who, "s3.amazonaws.com", ["GetBucketLocation", "ListBuckets", "GetBucketPolicy", "GetBucketAcl"][variant], true,
                json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com")}), Value::Null),
            53..=62 => self.record(t, Who::InstanceRole, "logs.amazonaws.com", "CreateLogStream", false,
                json!({"logGroupName": "/northwind/app", "logStreamName": format!("{instance}/{stream_n}")}), Value::Null),
            63..=70 => self.record(t, who, "lambda.amazonaws.com", "GetFunction20150331v2", true,
                json!({"functionName": format!("arn:aws:lambda:{region}:{acct}:function:etl-nightly")}), Value::Null),
            71..=77 => self.record(t, who, "ssm.amazonaws.com", "GetParameter", true,
                json!({"name": format!("/northwind/{}/db-host", self.account.alias), "withDecryption": false}), Value::Null),
            78..=83 => self.record(t, Who::DeployRole, "ec2.amazonaws.com", "RunInstances", false,
                json!({"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]}, "instanceType": "t3.medium", "subnetId": "subnet-0a1b2c3d"}),
                json!({"instancesSet": {"items": [{"instanceId": instance, "instanceState": {"code": 0, "name": "pending"}}]}})),
            84..=88 => self.record(t, who, "cloudtrail.amazonaws.com", "LookupEvents", true, json!({"maxResults": 50}), Value::Null),
            89..=93 => self.record(t, Who::Dev, "iam.amazonaws.com", ["GetRole", "ListRoles", "GetUser", "ListAttachedRolePolicies"][variant], true,
                json!({"roleName": "deploy-role"}), Value::Null),
            94..=95 => self.record(t, Who::DeployRole, "dynamodb.amazonaws.com", "UpdateTable", false,
                json!({"tableName": "orders", "billingMode": "PAY_PER_REQUEST"}), Value::Null),
            96 => {
                // Benign denials: a developer probing, or HeadBucket (excluded by CIS 4.1).
                let mut r = self.record(t, Who::Dev, "s3.amazonaws.com", ["HeadBucket", "GetBucketPolicy"][variant % 2], true,
                    json!({"bucketName": bucket}), Value::Null);
                r.error_code = Some("AccessDenied".into());
                r.error_message = Some("Access Denied".into());
                r
            }
            97 => {
                // Routine changes an operations team makes, each watched by a CIS 4.x control.
                let changes: [(&str, &str, Value); 16] = [
                    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", json!({"groupId": "sg-0a1b2c3d4e5f60718", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}})),
                    ("ec2.amazonaws.com", "RevokeSecurityGroupEgress", json!({"groupId": "sg-0a1b2c3d4e5f60718"})),
                    ("ec2.amazonaws.com", "CreateSecurityGroup", json!({"groupName": "app-tier", "vpcId": "vpc-0123456789abcdef0"})),
                    ("ec2.amazonaws.com", "CreateRoute", json!({"routeTableId": "rtb-0a1b2c3d", "destinationCidrBlock": "10.50.0.0/16"})),
                    ("ec2.amazonaws.com", "ReplaceRouteTableAssociation", json!({"associationId": "rtbassoc-0a1b2c3d"})),
                    ("ec2.amazonaws.com", "CreateNetworkAclEntry", json!({"networkAclId": "acl-0a1b2c3d", "ruleNumber": 110})),
                    ("ec2.amazonaws.com", "CreateInternetGateway", json!({})),
                    ("ec2.amazonaws.com", "CreateVpc", json!({"cidrBlock": "10.60.0.0/16"})),
                    ("ec2.amazonaws.com", "ModifyVpcAttribute", json!({"vpcId": "vpc-0123456789abcdef0", "enableDnsHostnames": {"value": true}})),
                    ("s3.amazonaws.com", "PutBucketPolicy", json!({"bucketName": bucket, "bucketPolicy": {"Version": "2012-10-17"}})),
                    ("s3.amazonaws.com", "PutBucketLifecycle", json!({"bucketName": bucket})),
                    ("config.amazonaws.com", "PutConfigurationRecorder", json!({"configurationRecorder": {"name": "default"}})),
                    ("kms.amazonaws.com", "ScheduleKeyDeletion", json!({"keyId": format!("arn:aws:kms:{region}:{acct}:key/0a1b2c3d"), "pendingWindowInDays": 30})),
                    ("kms.amazonaws.com", "DisableKey", json!({"keyId": format!("arn:aws:kms:{region}:{acct}:key/0a1b2c3d")})),
                    ("organizations.amazonaws.com", "CreateOrganizationalUnit", json!({"parentId": "r-n0rt", "name": "sandbox"})),
                    ("iam.amazonaws.com", "CreatePolicyVersion", json!({"policyArn": format!("arn:aws:iam::{acct}:policy/deploy"), "setAsDefault": true})),
                ];
                let (source, name, req) = changes[self.rng.below(changes.len() as u64) as usize].clone();
                self.record(t, Who::DeployRole, source, name, false, req, Value::Null)
            }
            _ => {
                let who = *self.rng.pick(&[Who::Admin, Who::Dev, Who::Joe]);
                let failed = self.rng.chance(0.05);
                let result = if failed { "Failure" } else { "Success" };
                let mut r = self.record(t, who, "signin.amazonaws.com", "ConsoleLogin", false, Value::Null, json!({"ConsoleLogin": result}));
                r.event_type = "AwsConsoleSignIn";
                r.additional_event_data = Some(json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"}));
                if failed {
                    r.error_message = Some("Failed authentication".into());
                }
                r
            }
        };
        if r.event_source == "signin.amazonaws.com" {
            r.event_type = "AwsConsoleSignIn";
        }
        r
    }
}

/// A record that belongs to a (account, region, day) slot.
struct Planted {
    account: usize,
    region: String,
    day: u32,
    label: &'static str,
    record: Record,
}

fn at(day: u32, h: i64, m: i64, s: i64, start: NaiveDate) -> i64 {
    let d = start
        .checked_add_days(Days::new(u64::from(day)))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
        .unwrap_or(0);
    d + h * 3600 + m * 60 + s
}

/// The incident story told in `samples/README.md`.
fn incidents(spec: &Spec) -> Vec<Planted> {
    let mut out = Vec::new();
    let (prod, dev) = (0usize, 1usize.min(spec.accounts.len() - 1));
    let mut push = |account: usize, region: &str, day: u32, label: &'static str, record: Record| {
        out.push(Planted {
            account,
            region: region.to_string(),
            day,
            label,
            record,
        });
    };
    let ctx = |account: usize, region: &'static str, salt: u64| Ctx {
        account: &spec.accounts[account],
        region,
        rng: Rng::new(mix(&[spec.seed, 0xdead, salt])),
    };

    // 1. 2026-08-14 03:12 UTC: root signs in to prod without MFA, then looks around.
    let day = 44;
    let mut c = ctx(prod, "us-east-1", 1);
    let mut r = c.record(
        at(day, 3, 12, 9, spec.start),
        Who::Root,
        "signin.amazonaws.com",
        "ConsoleLogin",
        false,
        Value::Null,
        json!({"ConsoleLogin": "Success"}),
    );
    r.event_type = "AwsConsoleSignIn";
    r.additional_event_data = Some(
        json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"}),
    );
    push(prod, "us-east-1", day, "root_console_login", r);
    for (i, name) in ["GetAccountSummary", "ListUsers", "ListAccessKeys"]
        .iter()
        .enumerate()
    {
        let r = c.record(
            at(day, 3, 14 + i as i64, 30, spec.start),
            Who::Root,
            "iam.amazonaws.com",
            name,
            true,
            json!({}),
            Value::Null,
        );
        push(prod, "us-east-1", day, "root_activity", r);
    }

    // 2. 2026-09-03: CloudTrail logging stopped in dev for 47 minutes.
    let day = 64;
    let mut c = ctx(dev, "us-east-1", 2);
    let trail = format!(
        "arn:aws:cloudtrail:us-east-1:{}:trail/org-trail",
        spec.accounts[dev].id
    );
    let r = c.record(
        at(day, 2, 11, 40, spec.start),
        Who::DeployRole,
        "cloudtrail.amazonaws.com",
        "StopLogging",
        false,
        json!({"name": trail}),
        Value::Null,
    );
    push(dev, "us-east-1", day, "stop_logging", r);
    let r = c.record(
        at(day, 2, 58, 13, spec.start),
        Who::DeployRole,
        "cloudtrail.amazonaws.com",
        "StartLogging",
        false,
        json!({"name": trail}),
        Value::Null,
    );
    push(dev, "us-east-1", day, "start_logging", r);

    // 3. 2026-08-22 14:05-14:15: the CI key, used from an unknown address, is denied 120 times.
    let day = 52;
    let mut c = ctx(prod, "us-east-1", 3);
    let calls = [
        ("s3.amazonaws.com", "ListBuckets", "AccessDenied", "Access Denied"),
        ("secretsmanager.amazonaws.com", "GetSecretValue", "AccessDenied", "User: arn:aws:iam::210987654321:user/ci-deployer is not authorized to perform: secretsmanager:GetSecretValue"),
        ("ec2.amazonaws.com", "DescribeInstances", "Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
        ("iam.amazonaws.com", "ListUsers", "AccessDenied", "User: arn:aws:iam::210987654321:user/ci-deployer is not authorized to perform: iam:ListUsers"),
    ];
    for i in 0..120i64 {
        let (source, name, code, message) = calls[(i % 4) as usize];
        let mut r = c.record(
            at(day, 14, 5, 0, spec.start) + i * 5,
            Who::CiKey,
            source,
            name,
            true,
            json!({"maxResults": 100}),
            Value::Null,
        );
        r.source_ip_address = "198.51.100.77".into();
        r.error_code = Some(code.into());
        r.error_message = Some(message.into());
        push(prod, "us-east-1", day, "access_denied_burst", r);
    }

    // 4. 2026-07-19: an inline policy and AdministratorAccess attached to j.doe.
    let day = 18;
    let mut c = ctx(prod, "us-east-1", 4);
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let r = c.record(
        at(day, 16, 2, 51, spec.start),
        Who::Admin,
        "iam.amazonaws.com",
        "PutUserPolicy",
        false,
        json!({"userName": "j.doe", "policyName": "temp-full-access", "policyDocument": policy}),
        Value::Null,
    );
    push(prod, "us-east-1", day, "iam_policy_change", r);
    let r = c.record(
        at(day, 16, 4, 12, spec.start),
        Who::Admin,
        "iam.amazonaws.com",
        "AttachUserPolicy",
        false,
        json!({"userName": "j.doe", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        Value::Null,
    );
    push(prod, "us-east-1", day, "iam_policy_change", r);

    // 5. 2026-09-10 17:42: j.doe signs in to dev without MFA.
    let day = 71;
    let mut c = ctx(dev, "us-east-1", 5);
    let mut r = c.record(
        at(day, 17, 42, 5, spec.start),
        Who::Joe,
        "signin.amazonaws.com",
        "ConsoleLogin",
        false,
        Value::Null,
        json!({"ConsoleLogin": "Success"}),
    );
    r.event_type = "AwsConsoleSignIn";
    r.additional_event_data = Some(
        json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"}),
    );
    push(dev, "us-east-1", day, "console_login_without_mfa", r);

    out
}

/// Writes the corpus under `out` and says what it wrote.
pub fn generate(spec: &Spec, out: &Path) -> io::Result<Summary> {
    let planted = if spec.incidents {
        incidents(spec)
    } else {
        Vec::new()
    };
    let slots: Vec<(usize, &str, u32)> = (0..spec.accounts.len())
        .flat_map(|a| spec.regions.iter().map(move |r| (a, r.as_str())))
        .flat_map(|(a, r)| (0..spec.days).map(move |d| (a, r, d)))
        .filter(|(a, r, d)| {
            !spec
                .missing
                .iter()
                .any(|(ma, mr, md)| ma == a && mr == r && md == d)
        })
        .collect();
    // Busier primary region and weekdays; weights sum to roughly one per slot.
    let weight = |region: &str, day: u32| -> f64 {
        let region_w = if region == "us-east-1" {
            1.8
        } else if region == "us-west-2" {
            1.0
        } else {
            0.6
        };
        let weekday = (spec
            .start
            .checked_add_days(Days::new(u64::from(day)))
            .map(|d| chrono::Datelike::weekday(&d).num_days_from_monday())
            .unwrap_or(0))
            < 5;
        region_w * if weekday { 1.15 } else { 0.6 }
    };
    let total_w: f64 = slots.iter().map(|(_, r, d)| weight(r, *d)).sum();

    let results: Vec<io::Result<Summary>> = slots
        .par_iter()
        .map(|&(a, region, day)| {
            let account = &spec.accounts[a];
            let mut ctx = Ctx {
                account,
                region,
                rng: Rng::new(mix(&[
                    spec.seed,
                    a as u64,
                    hash_str(region),
                    u64::from(day),
                ])),
            };
            let share = spec.records as f64 * weight(region, day) / total_w;
            // Stochastic rounding keeps the expected total exact.
            let n = share.floor() as u64 + u64::from(ctx.rng.chance(share.fract()));
            let day_start = at(day, 0, 0, 0, spec.start);
            let mut records: Vec<(i64, Record)> = (0..n)
                .map(|_| {
                    let t = day_start + ctx.rng.below(86_400) as i64;
                    (t, ctx.background(t))
                })
                .collect();
            let mut summary = Summary::default();
            for p in planted
                .iter()
                .filter(|p| p.account == a && p.region == region && p.day == day)
            {
                let t = chrono::DateTime::parse_from_rfc3339(&p.record.event_time)
                    .map(|t| t.timestamp())
                    .unwrap_or(day_start);
                records.push((t, p.record.clone()));
                *summary.planted.entry(p.label.to_string()).or_default() += 1;
            }
            records.sort_by_key(|(t, _)| *t);
            for chunk in records.chunks(spec.max_records_per_file.max(1)) {
                write_file(
                    spec,
                    out,
                    account,
                    region,
                    chunk,
                    &mut ctx.rng,
                    &mut summary,
                )?;
            }
            Ok(summary)
        })
        .collect();
    let mut total = Summary::default();
    for r in results {
        let s = r?;
        total.files += s.files;
        total.records += s.records;
        total.uncompressed_bytes += s.uncompressed_bytes;
        total.compressed_bytes += s.compressed_bytes;
        for (k, v) in s.planted {
            *total.planted.entry(k).or_default() += v;
        }
    }
    Ok(total)
}

fn write_file(
    spec: &Spec,
    out: &Path,
    account: &Account,
    region: &str,
    chunk: &[(i64, Record)],
    rng: &mut Rng,
    summary: &mut Summary,
) -> io::Result<()> {
    let Some((last, _)) = chunk.last() else {
        return Ok(());
    };
    let (first, _) = &chunk[0];
    let delivered = chrono::DateTime::from_timestamp(last + 300, 0).unwrap_or_default();
    let folder = chrono::DateTime::from_timestamp(*first, 0).unwrap_or_default();
    let name = format!(
        "{}_CloudTrail_{}_{}_{}.json.gz",
        account.id,
        region,
        delivered.format("%Y%m%dT%H%MZ"),
        rng.token(
            16,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        )
    );
    let mut dir: PathBuf = out.join("AWSLogs");
    if let Layout::Organization(org) = &spec.layout {
        dir.push(org);
    }
    dir.push(&account.id);
    dir.push("CloudTrail");
    dir.push(region);
    dir.push(folder.format("%Y/%m/%d").to_string());
    fs::create_dir_all(&dir)?;

    let mut json = String::with_capacity(chunk.len() * 1200);
    json.push_str("{\"Records\":[");
    for (i, (_, r)) in chunk.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&serde_json::to_string(r).map_err(io::Error::other)?);
    }
    json.push_str("]}");
    // A zero mtime and no file name in the header keep the gzip bytes reproducible.
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::new(6));
    gz.write_all(json.as_bytes())?;
    let bytes = gz.finish()?;
    fs::write(dir.join(name), &bytes)?;
    summary.files += 1;
    summary.records += chunk.len() as u64;
    summary.uncompressed_bytes += json.len() as u64;
    summary.compressed_bytes += bytes.len() as u64;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_stable() {
        let mut r = Rng::new(1);
        // Pinned: changing the generator changes every sample file.
        assert_eq!(r.next_u64(), 0x910a_2dec_8902_5cc1);
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
