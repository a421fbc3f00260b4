//! Synthetic configuration evidence: aws CLI JSON outputs in the evidence layout
//! (`<account>/<region>/<service>/<file>.json`), for `samples/config` and for tests.

use std::fs;
use std::io;
use std::path::Path;

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorSpec {
    /// No custom selectors: AWS's default (all management events).
    Default,
    /// Basic selectors: management events of this ReadWriteType.
    Basic(&'static str),
    /// Advanced selectors: management events (`All`, `ReadOnly` or `WriteOnly`), S3 object
    /// writes and/or reads on all buckets.
    Advanced {
        management: &'static str,
        s3_write: bool,
        s3_read: bool,
    },
}

#[derive(Debug, Clone)]
pub struct TrailSpec {
    /// Owning account.
    pub account: String,
    pub name: String,
    pub home_region: String,
    pub multi_region: bool,
    pub global_events: bool,
    pub validation: bool,
    pub kms: bool,
    pub cloudwatch: bool,
    pub sns: bool,
    pub organization: bool,
    pub logging: bool,
    pub delivery_error: Option<String>,
    pub selectors: SelectorSpec,
    pub bucket: String,
}

impl TrailSpec {
    /// A trail that satisfies every config policy.
    pub fn compliant(account: &str, name: &str) -> TrailSpec {
        TrailSpec {
            account: account.into(),
            name: name.into(),
            home_region: "us-east-1".into(),
            multi_region: true,
            global_events: true,
            validation: true,
            kms: true,
            cloudwatch: true,
            sns: true,
            organization: false,
            logging: true,
            delivery_error: None,
            selectors: SelectorSpec::Advanced {
                management: "All",
                s3_write: true,
                s3_read: true,
            },
            bucket: format!("{name}-logs-{account}"),
        }
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:trail/{}",
            self.home_region, self.account, self.name
        )
    }

    fn kms_key(&self) -> String {
        format!(
            "arn:aws:kms:{}:{}:key/6f0c1e2a-4b3d-4c5e-8f9a-{}",
            self.home_region,
            self.account,
            &self.account[..12]
        )
    }

    fn log_group(&self) -> String {
        format!("aws-cloudtrail-logs-{}", self.name)
    }
}

#[derive(Debug, Clone)]
pub struct BucketSpec {
    pub account: String,
    pub name: String,
    pub public_policy: bool,
    pub block_public_access: bool,
    pub access_logging: bool,
}

#[derive(Debug, Clone)]
pub struct AlarmSpec {
    pub actions_enabled: bool,
    /// SNS topic name for the alarm action; `None`: an alarm without SNS action.
    pub topic: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FilterSpec {
    pub name: String,
    pub pattern: String,
    pub alarm: Option<AlarmSpec>,
}

#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub confirmed: usize,
    pub pending: usize,
}

/// The monitoring chain on one trail's log group.
#[derive(Debug, Clone)]
pub struct MonitoringSpec {
    /// The trail whose log group holds the filters.
    pub trail: String,
    pub filters: Vec<FilterSpec>,
    pub topics: Vec<TopicSpec>,
}

#[derive(Debug, Clone)]
pub struct ConfigSpec {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub trails: Vec<TrailSpec>,
    pub buckets: Vec<BucketSpec>,
    pub monitoring: Vec<MonitoringSpec>,
    pub kms_rotation: bool,
    /// AWS Config, flow logs, Security Hub and front ends' access logging.
    pub services: ServicesSpec,
}

/// The logging evidence beyond the trails, in every account and region of the spec: a Config
/// recorder of all resource types (global ones in the first region), a default VPC with an
/// `ALL` flow log, Security Hub on; less the exceptions listed, plus the front ends listed.
#[derive(Debug, Clone, Default)]
pub struct ServicesSpec {
    /// `(account, region)` where the recorder is stopped.
    pub recorder_stopped: Vec<(String, String)>,
    /// `(account, region)` where Security Hub is not enabled.
    pub hub_off: Vec<(String, String)>,
    /// `(account, region, vpc id)`: VPCs beside the default one, without a flow log.
    pub unlogged_vpcs: Vec<(String, String, String)>,
    /// `(account, id, logging)`: legacy logging.
    pub distributions: Vec<(String, String, bool)>,
    /// `(account, distribution id, delivered)`: an `ACCESS_LOGS` delivery source (standard
    /// logging v2) naming the distribution, with a delivery to a CloudWatch Logs destination
    /// when `delivered`.
    pub delivery_sources: Vec<(String, String, bool)>,
    /// `(account, region, name, type, access logging)`.
    pub load_balancers: Vec<(String, String, String, String, bool)>,
    /// `(account, region, REST API id, API name, stage, access logging)`.
    pub stages: Vec<ApiStageSpec>,
    /// The same for HTTP APIs (API Gateway v2).
    pub http_stages: Vec<ApiStageSpec>,
}

/// `(account, region, API id, API name, stage, access logging)`.
pub type ApiStageSpec = (String, String, String, String, String, bool);

impl ServicesSpec {
    /// One front end of each kind, each logging.
    pub fn compliant(account: &str) -> ServicesSpec {
        let a = account.to_string();
        ServicesSpec {
            distributions: vec![(a.clone(), "E1EXAMPLEWEB".into(), true)],
            load_balancers: vec![(
                a.clone(),
                "us-east-1".into(),
                "web".into(),
                "application".into(),
                true,
            )],
            stages: vec![(
                a.clone(),
                "us-east-1".into(),
                "a1b2c3d4e5".into(),
                "orders".into(),
                "prod".into(),
                true,
            )],
            http_stages: vec![(
                a,
                "us-east-1".into(),
                "h7k2m9p4q1".into(),
                "checkout".into(),
                "$default".into(),
                true,
            )],
            ..ServicesSpec::default()
        }
    }
}

/// CIS v3.0's metric filter patterns for 4.1 to 4.15, as its remediation prints them, except
/// 4.1, whose `||` defect is replaced by the intended `&&`.
pub fn cis_v3_filters() -> Vec<(&'static str, String)> {
    let or = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("($.eventName = {n})"))
            .collect::<Vec<_>>()
            .join(" || ")
    };
    vec![
        ("4.1", r#"{ ($.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*") && ($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }"#.to_string()),
        ("4.2", r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#.to_string()),
        ("4.3", r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#.to_string()),
        ("4.4", format!("{{ {} }}", or(&["DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy"]))),
        ("4.5", format!("{{ {} }}", or(&["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"]))),
        ("4.6", r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#.to_string()),
        ("4.7", "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }".to_string()),
        ("4.8", format!("{{ ($.eventSource = s3.amazonaws.com) && ({}) }}", or(&["PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication"]))),
        ("4.9", "{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }".to_string()),
        ("4.10", format!("{{ {} }}", or(&["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup"]))),
        ("4.11", format!("{{ {} }}", or(&["CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"]))),
        ("4.12", format!("{{ {} }}", or(&["CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"]))),
        ("4.13", "{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }".to_string()),
        ("4.14", format!("{{ {} }}", or(&["CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink"]))),
        ("4.15", r#"{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#.to_string()),
    ]
}

impl ConfigSpec {
    /// One account, one trail, every config and monitoring policy satisfied.
    pub fn compliant(account: &str) -> ConfigSpec {
        let trail = TrailSpec::compliant(account, "main");
        ConfigSpec {
            accounts: vec![account.into()],
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            buckets: vec![BucketSpec {
                account: account.into(),
                name: trail.bucket.clone(),
                public_policy: false,
                block_public_access: true,
                access_logging: true,
            }],
            monitoring: vec![MonitoringSpec {
                trail: trail.name.clone(),
                filters: cis_v3_filters()
                    .into_iter()
                    .map(|(control, pattern)| FilterSpec {
                        name: format!("cis-{}", control.replace('.', "-")),
                        pattern,
                        alarm: Some(AlarmSpec {
                            actions_enabled: true,
                            topic: Some("security-alerts".into()),
                        }),
                    })
                    .collect(),
                topics: vec![TopicSpec {
                    name: "security-alerts".into(),
                    confirmed: 1,
                    pending: 0,
                }],
            }],
            trails: vec![trail],
            kms_rotation: true,
            services: ServicesSpec::compliant(account),
        }
    }

    /// Northwind Analytics' configuration: the story in `samples/README.md`.
    pub fn samples() -> ConfigSpec {
        let (prod, dev, security) = ("210987654321", "345678901234", "456789012345");
        let mut org = TrailSpec::compliant(security, "org-trail");
        org.organization = true;
        org.bucket = "northwind-org-cloudtrail".into();
        org.selectors = SelectorSpec::Advanced {
            management: "All",
            s3_write: true,
            s3_read: false,
        };
        let mut legacy = TrailSpec::compliant(prod, "prod-legacy");
        legacy.multi_region = false;
        legacy.global_events = false;
        legacy.validation = false;
        legacy.kms = false;
        legacy.cloudwatch = false;
        legacy.sns = false;
        legacy.logging = false;
        legacy.delivery_error = Some("AccessDenied".into());
        legacy.selectors = SelectorSpec::Basic("WriteOnly");
        legacy.bucket = "northwind-prod-legacy-trail".into();
        let mut devtrail = TrailSpec::compliant(dev, "dev-trail");
        devtrail.home_region = "us-west-2".into();
        devtrail.multi_region = false;
        devtrail.validation = false;
        devtrail.kms = false;
        devtrail.cloudwatch = false;
        devtrail.sns = false;
        devtrail.selectors = SelectorSpec::Default;
        devtrail.bucket = "northwind-dev-trail".into();

        let cis = cis_v3_filters();
        let pattern = |c: &str| {
            cis.iter()
                .find(|(k, _)| *k == c)
                .map(|(_, p)| p.clone())
                .unwrap_or_default()
        };
        let alarm = |topic: &str| {
            Some(AlarmSpec {
                actions_enabled: true,
                topic: Some(topic.into()),
            })
        };
        let filter = |name: &str, pattern: String, alarm: Option<AlarmSpec>| FilterSpec {
            name: name.into(),
            pattern,
            alarm,
        };
        let filters = vec![
            // As CIS v3.0 prints it: the `||` defect makes it count nearly every event.
            filter("UnauthorizedAPICalls", "{ ($.errorCode = *UnauthorizedOperation) || ($.errorCode = AccessDenied*) || ($.sourceIPAddress!=delivery.logs.amazonaws.com) || ($.eventName!=HeadBucket) }".into(), alarm("security-alerts")),
            // Its alarm notifies nobody.
            filter("ConsoleSigninWithoutMFA", pattern("4.2"), Some(AlarmSpec { actions_enabled: true, topic: None })),
            // Reworded, clauses reordered, quotes dropped: equivalent, so it passes.
            filter("RootAccountUsage", "{ ($.eventType != AwsServiceEvent) && ($.userIdentity.invokedBy NOT EXISTS) && ($.userIdentity.type = Root) }".into(), alarm("security-alerts")),
            // DeleteGroupPolicy was left out.
            filter("IAMPolicyChanges", "{($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}".into(), alarm("security-alerts")),
            // The topic's only subscription was never confirmed.
            filter("CloudTrailChanges", pattern("4.5"), alarm("security-alerts-oncall")),
            filter("ConsoleSigninFailures", pattern("4.6"), alarm("security-alerts")),
            filter("DisableOrDeleteCMK", pattern("4.7"), alarm("security-alerts")),
            filter("S3BucketPolicyChanges", pattern("4.8"), alarm("security-alerts")),
        ];
        ConfigSpec {
            accounts: vec![prod.into(), dev.into(), security.into()],
            regions: vec!["us-east-1".into(), "us-west-2".into(), "eu-west-1".into()],
            buckets: vec![
                BucketSpec {
                    account: security.into(),
                    name: org.bucket.clone(),
                    public_policy: false,
                    block_public_access: true,
                    access_logging: false,
                },
                BucketSpec {
                    account: prod.into(),
                    name: legacy.bucket.clone(),
                    public_policy: true,
                    block_public_access: false,
                    access_logging: false,
                },
            ],
            monitoring: vec![MonitoringSpec {
                trail: org.name.clone(),
                filters,
                topics: vec![
                    TopicSpec {
                        name: "security-alerts".into(),
                        confirmed: 2,
                        pending: 0,
                    },
                    TopicSpec {
                        name: "security-alerts-oncall".into(),
                        confirmed: 0,
                        pending: 1,
                    },
                ],
            }],
            trails: vec![org, legacy, devtrail],
            kms_rotation: true,
            services: ServicesSpec {
                // Stopped in eu-west-1 by whoever stopped it; Security Hub never enabled in dev's
                // eu-west-1.
                recorder_stopped: vec![(prod.into(), "eu-west-1".into())],
                hub_off: vec![(dev.into(), "eu-west-1".into())],
                unlogged_vpcs: vec![(
                    prod.into(),
                    "us-east-1".into(),
                    "vpc-0b7e2c41d9a3f5e08".into(),
                )],
                // The media CDN logs through standard logging v2 only; the assets CDN's v2 setup
                // was begun (a delivery source) and never finished (no delivery).
                distributions: vec![
                    (prod.into(), "E1NWSTOREFRONT1".into(), true),
                    (prod.into(), "E2NWASSETSCDN2".into(), false),
                    (prod.into(), "E3NWMEDIACDN3".into(), false),
                ],
                delivery_sources: vec![
                    (prod.into(), "E2NWASSETSCDN2".into(), false),
                    (prod.into(), "E3NWMEDIACDN3".into(), true),
                ],
                load_balancers: vec![
                    (
                        prod.into(),
                        "us-east-1".into(),
                        "storefront-alb".into(),
                        "application".into(),
                        true,
                    ),
                    (
                        prod.into(),
                        "us-east-1".into(),
                        "ingest-nlb".into(),
                        "network".into(),
                        false,
                    ),
                ],
                stages: vec![
                    (
                        prod.into(),
                        "us-east-1".into(),
                        "k3x9q2w7ab".into(),
                        "orders-api".into(),
                        "prod".into(),
                        true,
                    ),
                    (
                        prod.into(),
                        "us-east-1".into(),
                        "k3x9q2w7ab".into(),
                        "orders-api".into(),
                        "staging".into(),
                        false,
                    ),
                ],
                // The checkout's HTTP API logs its one stage.
                http_stages: vec![(
                    prod.into(),
                    "us-east-1".into(),
                    "p4q8r2t6v1".into(),
                    "checkout-http".into(),
                    "$default".into(),
                    true,
                )],
            },
        }
    }
}

fn put(out: &Path, account: &str, region: &str, rel: &str, v: &Value) -> io::Result<u64> {
    let path = out.join(account).join(region).join(rel);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(
        path,
        serde_json::to_string_pretty(v).map_err(io::Error::other)? + "\n",
    )?;
    Ok(1)
}

fn trail_json(t: &TrailSpec) -> Value {
    let mut v = json!({
        "Name": t.name,
        "S3BucketName": t.bucket,
        "IncludeGlobalServiceEvents": t.global_events,
        "IsMultiRegionTrail": t.multi_region,
        "HomeRegion": t.home_region,
        "TrailARN": t.arn(),
        "LogFileValidationEnabled": t.validation,
        "HasCustomEventSelectors": t.selectors != SelectorSpec::Default,
        "HasInsightSelectors": false,
        "IsOrganizationTrail": t.organization,
    });
    let o = v.as_object_mut().expect("object");
    if t.kms {
        o.insert("KmsKeyId".into(), json!(t.kms_key()));
    }
    if t.cloudwatch {
        o.insert(
            "CloudWatchLogsLogGroupArn".into(),
            json!(format!(
                "arn:aws:logs:{}:{}:log-group:{}:*",
                t.home_region,
                t.account,
                t.log_group()
            )),
        );
        o.insert(
            "CloudWatchLogsRoleArn".into(),
            json!(format!(
                "arn:aws:iam::{}:role/CloudTrailRoleForCloudWatchLogs_{}",
                t.account, t.name
            )),
        );
    }
    if t.sns {
        o.insert("SnsTopicName".into(), json!("cloudtrail-delivery"));
        o.insert(
            "SnsTopicARN".into(),
            json!(format!(
                "arn:aws:sns:{}:{}:cloudtrail-delivery",
                t.home_region, t.account
            )),
        );
    }
    v
}

/// Writes the configuration evidence; returns the number of files.
pub fn write(spec: &ConfigSpec, out: &Path) -> io::Result<u64> {
    let mut n = 0;
    for account in &spec.accounts {
        n += put(
            out,
            account,
            "global",
            "sts/caller-identity.json",
            &json!({
            "UserId": "AROAEXAMPLEAUDITOR:auditor", "Account": account,
            "Arn": format!("arn:aws:sts::{account}:assumed-role/SecurityAudit/auditor")}),
        )?;
        for region in &spec.regions {
            // --include-shadow-trails: own trails and organization trails, multi-region ones in
            // every region.
            let visible: Vec<Value> = spec
                .trails
                .iter()
                .filter(|t| {
                    (&t.account == account || t.organization)
                        && (t.multi_region || &t.home_region == region)
                })
                .map(trail_json)
                .collect();
            n += put(
                out,
                account,
                region,
                "cloudtrail/describe-trails.json",
                &json!({ "trailList": visible }),
            )?;
        }
    }
    for t in &spec.trails {
        let r = &t.home_region;
        let status = if t.logging {
            json!({"IsLogging": true, "LatestDeliveryTime": "2026-09-30T23:58:11.412000+00:00", "StartLoggingTime": "2026-01-05T09:12:44.100000+00:00",
                   "LatestDigestDeliveryTime": "2026-09-30T23:40:02.001000+00:00", "LatestDeliveryAttemptTime": "2026-09-30T23:58:11Z",
                   "LatestDeliveryAttemptSucceeded": "2026-09-30T23:58:11Z", "TimeLoggingStarted": "2026-01-05T09:12:44Z"})
        } else {
            json!({"IsLogging": false, "LatestDeliveryTime": "2026-06-11T08:00:03.000000+00:00", "StopLoggingTime": "2026-06-12T14:22:09.000000+00:00",
                   "TimeLoggingStopped": "2026-06-12T14:22:09Z"})
        };
        let mut status = status;
        if let (Some(err), Some(o)) = (&t.delivery_error, status.as_object_mut()) {
            o.insert("LatestDeliveryError".into(), json!(err));
        }
        n += put(
            out,
            &t.account,
            r,
            &format!("cloudtrail/trail-status/{}.json", t.name),
            &status,
        )?;
        let selectors = match &t.selectors {
            SelectorSpec::Default => {
                json!({"TrailARN": t.arn(), "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [], "ExcludeManagementEventSources": []}]})
            }
            SelectorSpec::Basic(rw) => {
                json!({"TrailARN": t.arn(), "EventSelectors": [{"ReadWriteType": rw, "IncludeManagementEvents": true, "DataResources": [], "ExcludeManagementEventSources": []}]})
            }
            SelectorSpec::Advanced {
                management,
                s3_write,
                s3_read,
            } => {
                let mut mgmt = vec![json!({"Field": "eventCategory", "Equals": ["Management"]})];
                match *management {
                    "ReadOnly" => mgmt.push(json!({"Field": "readOnly", "Equals": ["true"]})),
                    "WriteOnly" => mgmt.push(json!({"Field": "readOnly", "Equals": ["false"]})),
                    _ => {}
                }
                let mut sels = vec![json!({"Name": "Management events", "FieldSelectors": mgmt})];
                let s3 = |ro: Option<&str>| {
                    let mut f = vec![
                        json!({"Field": "eventCategory", "Equals": ["Data"]}),
                        json!({"Field": "resources.type", "Equals": ["AWS::S3::Object"]}),
                    ];
                    if let Some(ro) = ro {
                        f.push(json!({"Field": "readOnly", "Equals": [ro]}));
                    }
                    json!({"Name": "S3 objects", "FieldSelectors": f})
                };
                match (s3_write, s3_read) {
                    (true, true) => sels.push(s3(None)),
                    (true, false) => sels.push(s3(Some("false"))),
                    (false, true) => sels.push(s3(Some("true"))),
                    (false, false) => {}
                }
                json!({"TrailARN": t.arn(), "AdvancedEventSelectors": sels})
            }
        };
        n += put(
            out,
            &t.account,
            r,
            &format!("cloudtrail/event-selectors/{}.json", t.name),
            &selectors,
        )?;
        if t.kms {
            let key = t.kms_key();
            let id = key.rsplit('/').next().unwrap_or_default().to_string();
            n += put(
                out,
                &t.account,
                r,
                &format!("kms/key-rotation/{id}.json"),
                &json!({"KeyRotationEnabled": spec.kms_rotation, "KeyId": key}),
            )?;
        }
    }
    for b in &spec.buckets {
        let dir = format!("s3/{}", b.name);
        let mut statements = vec![
            json!({"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl", "Resource": format!("arn:aws:s3:::{}", b.name)}),
            json!({"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{}/AWSLogs/*", b.name), "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}),
        ];
        if b.public_policy {
            statements.push(json!({"Sid": "LegacyDashboardRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{}/*", b.name)}));
        }
        let policy = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        n += put(
            out,
            &b.account,
            "global",
            &format!("{dir}/bucket-policy.json"),
            &json!({ "Policy": policy }),
        )?;
        if b.block_public_access {
            n += put(
                out,
                &b.account,
                "global",
                &format!("{dir}/public-access-block.json"),
                &json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}),
            )?;
        }
        n += put(
            out,
            &b.account,
            "global",
            &format!("{dir}/bucket-acl.json"),
            &json!({"Owner": {"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, "Grants": [{"Grantee": {"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}]}),
        )?;
        let logging = if b.access_logging {
            json!({"LoggingEnabled": {"TargetBucket": format!("{}-access-logs", b.name), "TargetPrefix": format!("{}/", b.name)}})
        } else {
            json!({})
        };
        n += put(
            out,
            &b.account,
            "global",
            &format!("{dir}/bucket-logging.json"),
            &logging,
        )?;
    }
    n += write_services(spec, out)?;
    for m in &spec.monitoring {
        let Some(t) = spec.trails.iter().find(|t| t.name == m.trail) else {
            continue;
        };
        let (acct, region) = (&t.account, &t.home_region);
        let filters: Vec<Value> = m
            .filters
            .iter()
            .map(|f| json!({"filterName": f.name, "filterPattern": f.pattern, "logGroupName": t.log_group(), "creationTime": 1_767_225_600_000u64,
                            "metricTransformations": [{"metricName": f.name, "metricNamespace": "CISBenchmark", "metricValue": "1"}]}))
            .collect();
        n += put(
            out,
            acct,
            region,
            "logs/describe-metric-filters.json",
            &json!({ "metricFilters": filters }),
        )?;
        let alarms: Vec<Value> = m
            .filters
            .iter()
            .filter_map(|f| f.alarm.as_ref().map(|a| (f, a)))
            .map(|(f, a)| {
                let actions: Vec<String> = a.topic.iter().map(|t| format!("arn:aws:sns:{region}:{acct}:{t}")).collect();
                json!({"AlarmName": format!("{}-alarm", f.name), "AlarmArn": format!("arn:aws:cloudwatch:{region}:{acct}:alarm:{}-alarm", f.name),
                       "ActionsEnabled": a.actions_enabled, "AlarmActions": actions, "OKActions": [], "InsufficientDataActions": [],
                       "MetricName": f.name, "Namespace": "CISBenchmark", "Statistic": "Sum", "Dimensions": [], "Period": 300,
                       "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "StateValue": "OK"})
            })
            .collect();
        n += put(
            out,
            acct,
            region,
            "cloudwatch/describe-alarms.json",
            &json!({"MetricAlarms": alarms, "CompositeAlarms": []}),
        )?;
        for topic in &m.topics {
            let arn = format!("arn:aws:sns:{region}:{acct}:{}", topic.name);
            let mut subs = Vec::new();
            for i in 0..topic.confirmed {
                subs.push(json!({"SubscriptionArn": format!("{arn}:0c6e3f2a-1b2c-4d5e-8f90-a1b2c3d4e5f{i}"), "Owner": acct, "Protocol": "email", "Endpoint": format!("secops{i}@northwind.example"), "TopicArn": arn}));
            }
            for i in 0..topic.pending {
                subs.push(json!({"SubscriptionArn": "PendingConfirmation", "Owner": acct, "Protocol": "email", "Endpoint": format!("oncall{i}@northwind.example"), "TopicArn": arn}));
            }
            n += put(
                out,
                acct,
                region,
                &format!("sns/subscriptions/{}.json", topic.name),
                &json!({ "Subscriptions": subs }),
            )?;
        }
    }
    Ok(n)
}

/// A deterministic resource id from its account and region: `vpc-` and 17 hex digits.
fn hex_id(prefix: &str, account: &str, region: &str) -> String {
    let h = crate::events::Fingerprint::of(format!("{account}/{region}").as_bytes())
        .sha256
        .to_string();
    format!("{prefix}-{}", &h[..17])
}

/// The files `collect` writes for AWS Config, VPCs, Security Hub and the front ends.
fn write_services(spec: &ConfigSpec, out: &Path) -> io::Result<u64> {
    let sv = &spec.services;
    let mut n = 0;
    let at =
        |list: &[(String, String)], a: &str, r: &str| list.iter().any(|(x, y)| x == a && y == r);
    for account in &spec.accounts {
        for (i, region) in spec.regions.iter().enumerate() {
            let role = format!("arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig");
            n += put(
                out,
                account,
                region,
                "config/describe-configuration-recorders.json",
                &json!({
                "ConfigurationRecorders": [{"name": "default", "roleARN": role,
                    "recordingGroup": {"allSupported": true, "includeGlobalResourceTypes": i == 0, "resourceTypes": []}}]}),
            )?;
            let recording = !at(&sv.recorder_stopped, account, region);
            let mut status = json!({"name": "default", "recording": recording, "lastStatus": "SUCCESS",
                "lastStartTime": "2026-01-05T09:30:00+00:00", "lastStatusChangeTime": "2026-09-30T23:00:00+00:00"});
            if !recording {
                status["lastStopTime"] = json!("2026-08-19T11:04:51+00:00");
            }
            n += put(
                out,
                account,
                region,
                "config/describe-configuration-recorder-status.json",
                &json!({"ConfigurationRecordersStatus": [status]}),
            )?;

            let default_vpc = hex_id("vpc", account, region);
            let mut vpcs = vec![
                json!({"VpcId": default_vpc, "OwnerId": account, "CidrBlock": "172.31.0.0/16", "State": "available", "IsDefault": true}),
            ];
            for (a, r, id) in &sv.unlogged_vpcs {
                if a == account && r == region {
                    vpcs.push(json!({"VpcId": id, "OwnerId": account, "CidrBlock": "10.20.0.0/16", "State": "available", "IsDefault": false}));
                }
            }
            n += put(
                out,
                account,
                region,
                "ec2/describe-vpcs.json",
                &json!({ "Vpcs": vpcs }),
            )?;
            n += put(
                out,
                account,
                region,
                "ec2/describe-flow-logs.json",
                &json!({"FlowLogs": [{
                "FlowLogId": hex_id("fl", account, region), "ResourceId": default_vpc, "TrafficType": "ALL",
                "FlowLogStatus": "ACTIVE", "DeliverLogsStatus": "SUCCESS", "LogDestinationType": "s3",
                "LogDestination": format!("arn:aws:s3:::northwind-flow-logs-{account}")}]}),
            )?;

            if at(&sv.hub_off, account, region) {
                n += put(
                    out,
                    account,
                    region,
                    "securityhub/describe-hub.error.json",
                    &json!({"trailauditCollectionError": {
                    "operation": format!("aws securityhub describe-hub --region {region}"), "code": "InvalidAccessException",
                    "message": "An error occurred (InvalidAccessException) when calling the DescribeHub operation: Account is not subscribed to AWS Security Hub"}}),
                )?;
            } else {
                n += put(
                    out,
                    account,
                    region,
                    "securityhub/describe-hub.json",
                    &json!({
                    "HubArn": format!("arn:aws:securityhub:{region}:{account}:hub/default"),
                    "SubscribedAt": "2026-01-05T09:40:00.000Z", "AutoEnableControls": true}),
                )?;
            }

            let lbs: Vec<_> = sv
                .load_balancers
                .iter()
                .filter(|l| &l.0 == account && &l.1 == region)
                .collect();
            let arn = |name: &str, kind: &str| {
                let short = if kind == "network" { "net" } else { "app" };
                format!("arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{short}/{name}/{}", &hex_id("", account, name)[1..17])
            };
            let listed: Vec<Value> = lbs.iter().map(|(_, _, name, kind, _)| json!({
                "LoadBalancerArn": arn(name, kind), "LoadBalancerName": name, "Scheme": "internet-facing",
                "VpcId": default_vpc, "Type": kind})).collect();
            n += put(
                out,
                account,
                region,
                "elbv2/describe-load-balancers.json",
                &json!({ "LoadBalancers": listed }),
            )?;
            for (_, _, name, _, logging) in &lbs {
                n += put(
                    out,
                    account,
                    region,
                    &format!("elbv2/load-balancer-attributes/{name}.json"),
                    &json!({"Attributes": [
                    {"Key": "access_logs.s3.enabled", "Value": logging.to_string()},
                    {"Key": "access_logs.s3.bucket", "Value": if *logging { format!("northwind-elb-logs-{account}") } else { String::new() }},
                    {"Key": "access_logs.s3.prefix", "Value": ""},
                    {"Key": "deletion_protection.enabled", "Value": "true"}]}),
                )?;
            }

            n += api_files(out, account, region, &sv.stages, false)?;
            n += api_files(out, account, region, &sv.http_stages, true)?;
        }
        let dists: Vec<_> = sv
            .distributions
            .iter()
            .filter(|d| &d.0 == account)
            .collect();
        let domain = |id: &str| format!("d{}.cloudfront.net", &hex_id("", account, id)[1..14]);
        let items: Vec<Value> = dists.iter().map(|(_, id, _)| json!({"Id": id,
            "ARN": format!("arn:aws:cloudfront::{account}:distribution/{id}"), "DomainName": domain(id),
            "Status": "Deployed", "Enabled": true})).collect();
        n += put(
            out,
            account,
            "global",
            "cloudfront/list-distributions.json",
            &json!({"DistributionList": {"Quantity": items.len(), "Items": items}}),
        )?;
        for (_, id, logging) in &dists {
            let log = if *logging {
                json!({"Enabled": true, "IncludeCookies": false, "Bucket": format!("northwind-cdn-logs-{account}.s3.amazonaws.com"), "Prefix": format!("{id}/")})
            } else {
                json!({"Enabled": false, "IncludeCookies": false, "Bucket": "", "Prefix": ""})
            };
            n += put(
                out,
                account,
                "global",
                &format!("cloudfront/distributions/{id}.json"),
                &json!({"ETag": "E2QWRUHEXAMPLE",
                "Distribution": {"Id": id, "ARN": format!("arn:aws:cloudfront::{account}:distribution/{id}"),
                    "Status": "Deployed", "DomainName": domain(id), "DistributionConfig": {"Logging": log}}}),
            )?;
        }
        n += delivery_files(out, account, &sv.delivery_sources)?;
    }
    Ok(n)
}

/// CloudFront's standard logging v2, as `collect` keeps it under `global/logs/`: the account's
/// delivery sources, their deliveries, and one CloudWatch Logs delivery destination.
fn delivery_files(out: &Path, account: &str, all: &[(String, String, bool)]) -> io::Result<u64> {
    let mine: Vec<_> = all.iter().filter(|d| d.0 == account).collect();
    let dest = format!("arn:aws:logs:us-east-1:{account}:delivery-destination:cloudfront-access");
    let sources: Vec<Value> = mine
        .iter()
        .map(|(_, id, _)| {
            json!({"name": format!("cf-{id}"),
            "arn": format!("arn:aws:logs:us-east-1:{account}:delivery-source:cf-{id}"),
            "resourceArns": [format!("arn:aws:cloudfront::{account}:distribution/{id}")],
            "service": "cloudfront", "logType": "ACCESS_LOGS"})
        })
        .collect();
    let deliveries: Vec<Value> = mine
        .iter()
        .filter(|d| d.2)
        .map(|(_, id, _)| {
            let h = &hex_id("", account, id)[1..17];
            json!({"id": h, "arn": format!("arn:aws:logs:us-east-1:{account}:delivery:{h}"),
            "deliverySourceName": format!("cf-{id}"), "deliveryDestinationArn": dest,
            "deliveryDestinationType": "CWL"})
        })
        .collect();
    let destinations: Vec<Value> = match deliveries.is_empty() {
        true => Vec::new(),
        false => vec![json!({"name": "cloudfront-access", "arn": dest,
            "deliveryDestinationType": "CWL", "outputFormat": "json",
            "deliveryDestinationConfiguration": {"destinationResourceArn":
                format!("arn:aws:logs:us-east-1:{account}:log-group:/aws/cloudfront/access:*")}})],
    };
    let mut n = put(
        out,
        account,
        "global",
        "logs/describe-delivery-sources.json",
        &json!({ "deliverySources": sources }),
    )?;
    n += put(
        out,
        account,
        "global",
        "logs/describe-deliveries.json",
        &json!({ "deliveries": deliveries }),
    )?;
    n += put(
        out,
        account,
        "global",
        "logs/describe-delivery-destinations.json",
        &json!({ "deliveryDestinations": destinations }),
    )?;
    Ok(n)
}

/// One region's API Gateway files: REST APIs (`v2` false) or HTTP APIs, and their stages, each
/// in the aws CLI's shape for its service (v1 camelCase, v2 PascalCase).
fn api_files(
    out: &Path,
    account: &str,
    region: &str,
    all: &[ApiStageSpec],
    v2: bool,
) -> io::Result<u64> {
    let stages: Vec<&ApiStageSpec> = all
        .iter()
        .filter(|s| s.0 == account && s.1 == region)
        .collect();
    let mut apis: Vec<(&String, &String)> = stages.iter().map(|s| (&s.2, &s.3)).collect();
    apis.dedup();
    let (dir, listing, list_key, stages_key) = match v2 {
        false => ("apigateway", "get-rest-apis.json", "items", "item"),
        true => ("apigatewayv2", "get-apis.json", "Items", "Items"),
    };
    let items: Vec<Value> = apis
        .iter()
        .map(|(id, name)| match v2 {
            false => json!({"id": id, "name": name}),
            true => json!({"ApiId": id, "Name": name, "ProtocolType": "HTTP",
                "ApiEndpoint": format!("https://{id}.execute-api.{region}.amazonaws.com")}),
        })
        .collect();
    let mut n = put(
        out,
        account,
        region,
        &format!("{dir}/{listing}"),
        &json!({ list_key: items }),
    )?;
    let format = "$context.requestId $context.identity.sourceIp $context.httpMethod $context.resourcePath $context.status";
    for (id, _) in &apis {
        let item: Vec<Value> = stages
            .iter()
            .filter(|s| &s.2 == *id)
            .map(|s| {
                let dest = format!("arn:aws:logs:{region}:{account}:log-group:api-gateway-access-{}", s.3);
                match v2 {
                    false => {
                        let mut st = json!({"stageName": s.4, "deploymentId": "d7f3k2", "methodSettings": {}});
                        if s.5 {
                            st["accessLogSettings"] = json!({"format": format, "destinationArn": dest});
                        }
                        st
                    }
                    true => {
                        let mut st = json!({"StageName": s.4, "DeploymentId": "h2v9c1", "AutoDeploy": true});
                        if s.5 {
                            // HTTP APIs have routes, not resource paths.
                            let format = format.replace("resourcePath", "routeKey");
                            st["AccessLogSettings"] = json!({"Format": format, "DestinationArn": dest});
                        }
                        st
                    }
                }
            })
            .collect();
        n += put(
            out,
            account,
            region,
            &format!("{dir}/stages/{id}.json"),
            &json!({ stages_key: item }),
        )?;
    }
    Ok(n)
}
