//! The rest of the logging section judged from evidence (issue 21, point 2): AWS Config
//! recorders, VPC flow logs, Security Hub, and the access logging of CloudFront, load
//! balancers and API Gateway stages. `collect` against moto on 127.0.0.1 writes the evidence,
//! `audit --config` judges a compliant and a non-compliant resource of each; missing evidence is
//! "no evidence", a malformed file is named.

use crate::common;
use crate::common::cbor_proxy;
use crate::common::moto;
use crate::common::pytools;

use std::collections::BTreeSet;
use std::path::Path;

use cbor_proxy::CborProxy;
use common::*;
use moto::Moto;
use serde_json::Value;
use trailaudit::synth::config::{self, ConfigSpec};

/// moto's account.
const ACCOUNT: &str = "123456789012";
const KEY: &str = "AKIATRAILAUDITTEST02";
const SECRET: &str = "trailaudit/Test+Secret/LoggingEvidence01";

/// Seeds moto through boto3 (from the tests' venv): in us-east-1 one compliant and one
/// non-compliant resource of each kind; us-west-2 has neither a Config recorder nor Security
/// Hub. Prints the ids the test asserts on, as JSON.
const SEED: &str = r#"
import json, sys, boto3
ep = sys.argv[1]
def c(svc, region="us-east-1"):
    return boto3.client(svc, region_name=region, endpoint_url=ep,
                        aws_access_key_id="AKIASEED", aws_secret_access_key="seed")
r = "us-east-1"
cfg = c("config")
cfg.put_configuration_recorder(ConfigurationRecorder={"name": "default",
    "roleARN": "arn:aws:iam::123456789012:role/config",
    "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"})
cfg.start_configuration_recorder(ConfigurationRecorderName="default")
c("securityhub").enable_security_hub()
ec2 = c("ec2")
c("s3").create_bucket(Bucket="flow-logs")
logged = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
unlogged = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
ec2.create_flow_logs(ResourceIds=[logged], ResourceType="VPC", TrafficType="REJECT",
                     LogDestinationType="s3", LogDestination="arn:aws:s3:::flow-logs")
# moto's own default VPCs have no flow log either.
defaults = {reg: [v["VpcId"] for v in c("ec2", reg).describe_vpcs()["Vpcs"] if v.get("IsDefault")]
            for reg in ["us-east-1", "us-west-2"]}
subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] in defaults[r]][:2]
elb = c("elbv2")
web = elb.create_load_balancer(Name="web", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
elb.modify_load_balancer_attributes(LoadBalancerArn=web, Attributes=[
    {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": "elb-logs"}])
ingest = elb.create_load_balancer(Name="ingest", Subnets=subnets, Type="network")["LoadBalancers"][0]["LoadBalancerArn"]
api = c("apigateway")
a = api.create_rest_api(name="orders")["id"]
root = api.get_resources(restApiId=a)["items"][0]["id"]
api.put_method(restApiId=a, resourceId=root, httpMethod="GET", authorizationType="NONE")
api.put_integration(restApiId=a, resourceId=root, httpMethod="GET", type="MOCK")
d = api.create_deployment(restApiId=a)["id"]
api.create_stage(restApiId=a, stageName="prod", deploymentId=d)
api.create_stage(restApiId=a, stageName="test", deploymentId=d)
api.update_stage(restApiId=a, stageName="prod", patchOperations=[
    {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": "arn:aws:logs:us-east-1:123456789012:log-group:api"},
    {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"}])
v2 = c("apigatewayv2")
h = v2.create_api(Name="checkout", ProtocolType="HTTP")["ApiId"]
v2.create_stage(ApiId=h, StageName="live", AccessLogSettings={
    "DestinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:http-api", "Format": "$context.requestId"})
v2.create_stage(ApiId=h, StageName="dev")
cf = c("cloudfront")
def dist(ref, logging):
    conf = {"CallerReference": ref, "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com",
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}}}
    if logging:
        conf["Logging"] = {"Enabled": True, "IncludeCookies": False, "Bucket": "cdn-logs.s3.amazonaws.com", "Prefix": "cf/"}
    return cf.create_distribution(DistributionConfig=conf)["Distribution"]["ARN"]
# Standard logging v2 (CloudWatch Logs deliveries, made in us-east-1): one distribution logs only
# that way, to S3; another has a delivery source but no delivery.
cf_v2, cf_source_only = dist("c", False), dist("d", False)
logs = c("logs")
logs.put_delivery_source(name="cf-v2", resourceArn=cf_v2, logType="ACCESS_LOGS")
logs.put_delivery_source(name="cf-source-only", resourceArn=cf_source_only, logType="ACCESS_LOGS")
dest = logs.put_delivery_destination(name="cf-s3", deliveryDestinationConfiguration={
    "destinationResourceArn": "arn:aws:s3:::cdn-v2-logs"})["deliveryDestination"]["arn"]
logs.create_delivery(deliverySourceName="cf-v2", deliveryDestinationArn=dest)
print(json.dumps({"logged": logged, "unlogged": unlogged, "defaults": defaults, "ingest": ingest, "web": web,
                  "api": a, "http_api": h, "cf_logged": dist("a", True), "cf_unlogged": dist("b", False),
                  "cf_v2": cf_v2, "cf_source_only": cf_source_only}))
"#;

fn seed(endpoint: &str) -> Option<Value> {
    let venv = pytools::require("moto (the AWS API emulator)")?;
    let out = std::process::Command::new(venv.join("bin/python"))
        .args(["-c", SEED, endpoint])
        .output()
        .expect("run the seeding script");
    assert!(
        out.status.success(),
        "seed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("the seed's ids"))
}

fn collect(endpoint: &str, out: &Path) -> Run {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_trailaudit"))
        .args(["collect", "--endpoint-url", endpoint])
        .args(["--region", "us-east-1", "us-west-2", "-o"])
        .arg(out)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("run trailaudit collect");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn audit(dir: &Path) -> Run {
    trailaudit([
        "audit".as_ref(),
        "--config".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
}

/// The resources a policy's findings name, each with its region.
fn flagged(report: &Value, id: &str) -> BTreeSet<(String, String)> {
    policy(report, id)["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{id}: {:#}", policy(report, id)))
        .iter()
        .map(|f| {
            assert_eq!(f["account"], ACCOUNT, "{f}");
            (
                f["resource"].as_str().unwrap().to_string(),
                f["region"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(resource: &str, region: &str) -> (String, String) {
    (resource.to_string(), region.to_string())
}

#[test]
fn collect_writes_the_logging_evidence_and_audit_judges_each_control_both_ways() {
    let Some(moto) = Moto::start() else { return };
    let proxy = CborProxy::start(&moto.endpoint);
    proxy.allow(KEY, SECRET);
    let Some(ids) = seed(&moto.endpoint) else {
        return;
    };
    let s = |k: &str| ids[k].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let run = collect(&proxy.endpoint, dir.path());
    assert_eq!(run.code, 0, "collect: {}", run.stderr);

    let root = dir.path().join(ACCOUNT);
    for rel in [
        "us-east-1/config/describe-configuration-recorders.json",
        "us-east-1/config/describe-configuration-recorder-status.json",
        "us-west-2/config/describe-configuration-recorders.json",
        "us-east-1/ec2/describe-vpcs.json",
        "us-east-1/ec2/describe-flow-logs.json",
        "us-east-1/securityhub/describe-hub.json",
        // Not subscribed: an answer, recorded as the error it is.
        "us-west-2/securityhub/describe-hub.error.json",
        "us-east-1/elbv2/describe-load-balancers.json",
        "us-east-1/elbv2/load-balancer-attributes/web.json",
        "us-east-1/elbv2/load-balancer-attributes/ingest.json",
        "us-east-1/apigateway/get-rest-apis.json",
        "us-east-1/apigatewayv2/get-apis.json",
        "us-west-2/apigatewayv2/get-apis.json",
        "global/cloudfront/list-distributions.json",
        "global/logs/describe-delivery-sources.json",
        "global/logs/describe-deliveries.json",
        "global/logs/describe-delivery-destinations.json",
    ] {
        assert!(root.join(rel).is_file(), "{rel} not written");
    }
    assert!(root
        .join(format!("us-east-1/apigateway/stages/{}.json", s("api")))
        .is_file());
    let v2_stages = format!("us-east-1/apigatewayv2/stages/{}.json", s("http_api"));
    assert!(root.join(&v2_stages).is_file(), "{v2_stages} not written");
    // The aws CLI's shapes.
    let recorders: Value = serde_json::from_slice(
        &std::fs::read(root.join("us-east-1/config/describe-configuration-recorders.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        recorders["ConfigurationRecorders"][0]["recordingGroup"]["allSupported"],
        true
    );

    let run = audit(dir.path());
    assert_eq!(run.code, 1, "violations: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["inputs"]["partial"], false, "{}", run.stderr);

    // AWS Config: recording everything in us-east-1, no recorder in us-west-2.
    assert_eq!(
        flagged(&report, "TA-CFG-014"),
        [pair("AWS Config in us-west-2", "us-west-2")].into()
    );
    // Security Hub: on in us-east-1, not subscribed in us-west-2.
    assert_eq!(
        flagged(&report, "TA-CFG-016"),
        [pair(
            &format!("arn:aws:securityhub:us-west-2:{ACCOUNT}:hub/default"),
            "us-west-2"
        )]
        .into()
    );
    // Flow logs: every VPC but the logged one (moto's default VPCs have none).
    let vpc = |r: &str, id: &str| pair(&format!("arn:aws:ec2:{r}:{ACCOUNT}:vpc/{id}"), r);
    let mut vpcs: BTreeSet<_> = [vpc("us-east-1", &s("unlogged"))].into();
    for r in ["us-east-1", "us-west-2"] {
        for id in ids["defaults"][r].as_array().unwrap() {
            vpcs.insert(vpc(r, id.as_str().unwrap()));
        }
    }
    let got = flagged(&report, "TA-CFG-015");
    assert_eq!(got, vpcs);
    assert!(!got.contains(&vpc("us-east-1", &s("logged"))));
    // Access logging: the load balancer, stage and distribution without it.
    assert_eq!(
        flagged(&report, "TA-CFG-018"),
        [pair(&s("ingest"), "us-east-1")].into()
    );
    // REST API and HTTP API stages alike: `prod` and `live` log, `test` and `dev` do not.
    let stage = |kind: &str, api: &str, name: &str| {
        pair(
            &format!(
                "arn:aws:apigateway:us-east-1::/{kind}/{}/stages/{name}",
                s(api)
            ),
            "us-east-1",
        )
    };
    assert_eq!(
        flagged(&report, "TA-CFG-019"),
        [
            stage("restapis", "api", "test"),
            stage("apis", "http_api", "dev")
        ]
        .into()
    );
    let finding = policy(&report, "TA-CFG-019")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resource"].as_str().unwrap().contains("/apis/"))
        .unwrap()
        .clone();
    assert!(
        finding["file"].as_str().unwrap().ends_with(&v2_stages),
        "{finding}"
    );
    // CloudFront: legacy logging and standard logging v2 both count; neither, or a delivery
    // source without a delivery, fails, and the finding says which is missing.
    assert_eq!(
        flagged(&report, "TA-CFG-017"),
        [
            pair(&s("cf_unlogged"), "global"),
            pair(&s("cf_source_only"), "global")
        ]
        .into()
    );
    let cf = policy(&report, "TA-CFG-017");
    assert_eq!(cf["judged_on"]["resources"], 4, "{cf:#}");
    let message = |arn: &str| {
        cf["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["resource"] == arn)
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let m = message(&s("cf_source_only"));
    assert!(
        m.contains("legacy logging disabled; standard logging v2: delivery source cf-source-only has no delivery"),
        "{m}"
    );
    let m = message(&s("cf_unlogged"));
    assert!(
        m.contains(
            "legacy logging disabled; standard logging v2: no ACCESS_LOGS delivery source names it"
        ),
        "{m}"
    );
    // The deliveries in the aws CLI's shape, the v2 one to its S3 destination.
    let deliveries: Value = serde_json::from_slice(
        &std::fs::read(root.join("global/logs/describe-deliveries.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(deliveries["deliveries"][0]["deliverySourceName"], "cf-v2");
    assert_eq!(deliveries["deliveries"][0]["deliveryDestinationType"], "S3");
    // A finding points at the file and line that show the resource.
    let finding = &policy(&report, "TA-CFG-018")["findings"][0];
    assert!(
        finding["file"]
            .as_str()
            .unwrap()
            .ends_with("elbv2/load-balancer-attributes/ingest.json"),
        "{finding}"
    );
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("AccessLogging: false"),
        "{finding}"
    );
    let finding = &policy(&report, "TA-CFG-015")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resource"].as_str().unwrap().ends_with(&s("unlogged")))
        .unwrap()
        .clone();
    // The flow-log list says so (it lists no flow log of that VPC, so no line in it).
    assert!(
        finding["file"]
            .as_str()
            .unwrap()
            .ends_with("us-east-1/ec2/describe-flow-logs.json"),
        "{finding}"
    );
}

/// The compliant spec's evidence, written to a temp dir.
fn compliant() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    config::write(&ConfigSpec::compliant("111122223333"), dir.path()).unwrap();
    dir
}

#[test]
fn every_new_control_passes_on_compliant_evidence() {
    let dir = compliant();
    let run = audit(dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    for id in [
        "TA-CFG-014",
        "TA-CFG-015",
        "TA-CFG-016",
        "TA-CFG-017",
        "TA-CFG-018",
        "TA-CFG-019",
    ] {
        assert_eq!(
            policy(&report, id)["status"],
            "pass",
            "{id}: {:#}",
            policy(&report, id)
        );
    }
}

#[test]
fn missing_evidence_is_no_evidence_never_a_pass() {
    let dir = compliant();
    let acct = dir.path().join("111122223333");
    // One region's recorder status missing: that region is not judged, so not a clean pass.
    std::fs::remove_file(acct.join("us-east-1/config/describe-configuration-recorder-status.json"))
        .unwrap();
    // Flow logs missing in one region: its VPCs are not judged.
    std::fs::remove_file(acct.join("eu-west-1/ec2/describe-flow-logs.json")).unwrap();
    // No Security Hub evidence anywhere, no CloudFront listing, no load balancer attributes.
    for r in ["us-east-1", "eu-west-1"] {
        std::fs::remove_dir_all(acct.join(r).join("securityhub")).unwrap();
    }
    std::fs::remove_dir_all(acct.join("global/cloudfront")).unwrap();
    std::fs::remove_dir_all(acct.join("us-east-1/elbv2/load-balancer-attributes")).unwrap();
    let run = audit(dir.path());
    let report = run.json();
    let status = |id: &str| policy(&report, id)["status"].as_str().unwrap().to_string();
    assert_eq!(status("TA-CFG-014"), "incomplete");
    assert_eq!(status("TA-CFG-015"), "incomplete");
    for id in ["TA-CFG-016", "TA-CFG-017", "TA-CFG-018"] {
        assert_eq!(status(id), "no_evidence", "{id}: {:#}", policy(&report, id));
    }
    assert!(policy(&report, "TA-CFG-014")["reason"]
        .as_str()
        .unwrap()
        .contains("us-east-1"));
    // The stages were all there.
    assert_eq!(status("TA-CFG-019"), "pass");
}

#[test]
fn a_distribution_without_legacy_logging_needs_the_deliveries_evidence() {
    let mut spec = ConfigSpec::compliant("111122223333");
    spec.services
        .distributions
        .push(("111122223333".into(), "E2NOLEGACY".into(), false));
    let dir = tempfile::tempdir().unwrap();
    config::write(&spec, dir.path()).unwrap();
    // With the deliveries listed (none names it): a fail.
    let report = audit(dir.path()).json();
    let p = policy(&report, "TA-CFG-017");
    assert_eq!(p["status"], "fail", "{p:#}");
    // Evidence from before the deliveries were collected: not judged, never failed.
    std::fs::remove_dir_all(dir.path().join("111122223333/global/logs")).unwrap();
    let report = audit(dir.path()).json();
    let p = policy(&report, "TA-CFG-017");
    assert_eq!(p["status"], "incomplete", "{p:#}");
    assert!(p["findings"].as_array().unwrap().is_empty(), "{p:#}");
    assert!(p.to_string().contains("E2NOLEGACY"), "{p:#}");
    // Given in us-east-1, where CloudFront's delivery sources are made, they count the same.
    spec.services
        .delivery_sources
        .push(("111122223333".into(), "E2NOLEGACY".into(), true));
    let dir = tempfile::tempdir().unwrap();
    config::write(&spec, dir.path()).unwrap();
    let acct = dir.path().join("111122223333");
    for f in std::fs::read_dir(acct.join("global/logs")).unwrap() {
        let f = f.unwrap().path();
        std::fs::rename(&f, acct.join("us-east-1/logs").join(f.file_name().unwrap())).unwrap();
    }
    std::fs::remove_dir(acct.join("global/logs")).unwrap();
    let report = audit(dir.path()).json();
    let p = policy(&report, "TA-CFG-017");
    assert_eq!(p["status"], "pass", "{p:#}");
}

#[test]
fn a_region_without_http_api_evidence_is_not_judged_for_those_stages() {
    let dir = compliant();
    let acct = dir.path().join("111122223333");
    // REST API evidence everywhere, HTTP and WebSocket API listing missing in eu-west-1 (the
    // layout before API Gateway v2 was collected): its v2 stages are unknown, never a pass.
    std::fs::remove_dir_all(acct.join("eu-west-1/apigatewayv2")).unwrap();
    let report = audit(dir.path()).json();
    let p = policy(&report, "TA-CFG-019");
    assert_eq!(p["status"], "incomplete", "{p:#}");
    assert!(p.to_string().contains("eu-west-1"), "{p:#}");
}

#[test]
fn a_malformed_logging_file_is_reported_by_name() {
    let dir = compliant();
    let acct = dir.path().join("111122223333");
    write(
        &acct.join("us-east-1/config/describe-configuration-recorders.json"),
        br#"{"ConfigurationRecorders": "all of them"}"#,
    );
    write(
        &acct.join("eu-west-1/ec2/describe-vpcs.json"),
        b"{\"Vpcs\": [",
    );
    write(
        &acct.join("us-east-1/elbv2/load-balancer-attributes/web.json"),
        br#"{"Attributes": [{"Key": 7}]}"#,
    );
    let run = audit(dir.path());
    assert_eq!(run.code, 2, "unreadable input: {}", run.stderr);
    let report = run.json();
    let failed = report["inputs"]["config"]["failed_files"].to_string();
    for (file, why) in [
        ("describe-configuration-recorders.json", "unexpected shape"),
        ("describe-vpcs.json", "invalid JSON"),
        ("web.json", "unexpected shape"),
    ] {
        assert!(
            failed.contains(file) && failed.contains(why),
            "{file}: {failed}"
        );
    }
    // What the broken files would have said is unknown: never a pass.
    let status = |id: &str| policy(&report, id)["status"].as_str().unwrap().to_string();
    assert_ne!(status("TA-CFG-014"), "pass");
    assert_ne!(status("TA-CFG-015"), "pass");
    assert_ne!(status("TA-CFG-018"), "pass");
}
