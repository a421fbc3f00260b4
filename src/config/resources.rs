//! Logging evidence beyond the trails: AWS Config recorders, VPC flow logs, Security Hub, and
//! the access logs of CloudFront distributions, load balancers and API Gateway stages (REST
//! APIs, and HTTP and WebSocket APIs). Read from the aws CLI's outputs (`collect` writes the
//! same), assembled into one [`Resource`] per thing a policy judges, whose JSON config policies
//! of scope `each-resource` match.
//!
//! What was not collected stays unknown (`null`), so a policy that needs it reports "no
//! evidence", never a pass: a region in scope without a recorder file, a VPC without a
//! flow-log listing, a load balancer without its attributes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{Kind, Scope};

/// `aws configservice describe-configuration-recorders`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationRecorders {
    pub configuration_recorders: Vec<ConfigurationRecorder>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConfigurationRecorder {
    pub name: Option<String>,
    pub recording_group: Option<RecordingGroup>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecordingGroup {
    pub all_supported: Option<bool>,
    pub include_global_resource_types: Option<bool>,
}

/// `aws configservice describe-configuration-recorder-status`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationRecordersStatus {
    pub configuration_recorders_status: Vec<RecorderStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecorderStatus {
    pub name: Option<String>,
    pub recording: Option<bool>,
    pub last_status: Option<String>,
}

/// `aws ec2 describe-vpcs`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vpcs {
    pub vpcs: Vec<Vpc>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Vpc {
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub is_default: Option<bool>,
}

/// `aws ec2 describe-flow-logs`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlowLogs {
    pub flow_logs: Vec<FlowLog>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FlowLog {
    pub flow_log_id: Option<String>,
    pub resource_id: Option<String>,
    pub traffic_type: Option<String>,
    pub flow_log_status: Option<String>,
}

/// `aws securityhub describe-hub`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Hub {
    pub hub_arn: String,
}

/// `aws cloudfront list-distributions` (no `Items` when there is none).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDistributions {
    pub distribution_list: DistributionList,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DistributionList {
    pub items: Vec<DistributionSummary>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DistributionSummary {
    pub id: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    pub domain_name: Option<String>,
}

/// `aws cloudfront get-distribution --id D`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDistribution {
    pub distribution: Distribution,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Distribution {
    pub id: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    pub distribution_config: DistributionConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DistributionConfig {
    pub logging: Option<DistributionLogging>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DistributionLogging {
    pub enabled: Option<bool>,
    pub bucket: Option<String>,
}

/// `aws logs describe-delivery-sources --region us-east-1`: CloudFront's standard logging v2
/// starts at a delivery source naming the distribution.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySources {
    pub delivery_sources: Vec<DeliverySource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeliverySource {
    pub name: Option<String>,
    pub resource_arns: Vec<String>,
    pub log_type: Option<String>,
}

/// `aws logs describe-deliveries --region us-east-1`: a delivery joins a source to a destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deliveries {
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Delivery {
    pub id: Option<String>,
    pub delivery_source_name: Option<String>,
    pub delivery_destination_arn: Option<String>,
    /// `S3`, `CWL` or `FH`.
    pub delivery_destination_type: Option<String>,
}

/// `aws logs describe-delivery-destinations --region us-east-1`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDestinations {
    pub delivery_destinations: Vec<DeliveryDestination>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeliveryDestination {
    pub arn: Option<String>,
    pub delivery_destination_type: Option<String>,
    pub delivery_destination_configuration: Option<DeliveryDestinationConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeliveryDestinationConfiguration {
    pub destination_resource_arn: Option<String>,
}

/// `aws elbv2 describe-load-balancers`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancers {
    pub load_balancers: Vec<LoadBalancer>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LoadBalancer {
    pub load_balancer_arn: Option<String>,
    pub load_balancer_name: Option<String>,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
}

/// `aws elbv2 describe-load-balancer-attributes --load-balancer-arn A`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancerAttributes {
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Attribute {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// `aws apigateway get-rest-apis`
#[derive(Debug, Clone, Deserialize)]
pub struct RestApis {
    pub items: Vec<RestApi>,
}

/// A REST API, or (aliases: `aws apigatewayv2` prints PascalCase) an HTTP or WebSocket API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RestApi {
    #[serde(alias = "ApiId")]
    pub id: Option<String>,
    #[serde(alias = "Name")]
    pub name: Option<String>,
    /// v2 only: `HTTP` or `WEBSOCKET`.
    #[serde(rename = "ProtocolType")]
    pub protocol_type: Option<String>,
}

/// `aws apigatewayv2 get-apis`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Apis {
    pub items: Vec<RestApi>,
}

/// `aws apigatewayv2 get-stages --api-id A`
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StagesV2 {
    pub items: Vec<Stage>,
}

/// `aws apigateway get-stages --rest-api-id A`
#[derive(Debug, Clone, Deserialize)]
pub struct Stages {
    pub item: Vec<Stage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stage {
    #[serde(alias = "StageName")]
    pub stage_name: Option<String>,
    #[serde(alias = "AccessLogSettings")]
    pub access_log_settings: Option<AccessLogSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessLogSettings {
    #[serde(alias = "DestinationArn")]
    pub destination_arn: Option<String>,
}

/// What was read, by the account and region of each file (the subject of a per-resource file,
/// a load balancer or a REST API, from its file name).
#[derive(Debug, Clone, Default)]
pub struct RawResources {
    pub recorders: BTreeMap<Scope, (Vec<ConfigurationRecorder>, PathBuf)>,
    pub recorder_status: BTreeMap<Scope, (Vec<RecorderStatus>, PathBuf)>,
    pub vpcs: BTreeMap<Scope, (Vec<Vpc>, PathBuf)>,
    pub flow_logs: BTreeMap<Scope, (Vec<FlowLog>, PathBuf)>,
    /// The hub's ARN, `None` when the account is not subscribed (an answer, not a gap).
    pub hubs: BTreeMap<Scope, (Option<String>, PathBuf)>,
    /// By account: CloudFront is global.
    pub distribution_lists: BTreeMap<String, (Vec<DistributionSummary>, PathBuf)>,
    /// By account and distribution id.
    pub distributions: BTreeMap<(String, String), (Distribution, PathBuf)>,
    /// CloudWatch Logs vended-log deliveries (CloudFront's standard logging v2), by the scope of
    /// the file: `global` as `collect` writes them, or `us-east-1` where they were made.
    pub delivery_sources: BTreeMap<Scope, (Vec<DeliverySource>, PathBuf)>,
    pub deliveries: BTreeMap<Scope, (Vec<Delivery>, PathBuf)>,
    pub delivery_destinations: BTreeMap<Scope, (Vec<DeliveryDestination>, PathBuf)>,
    pub load_balancers: BTreeMap<Scope, (Vec<LoadBalancer>, PathBuf)>,
    /// By scope and load balancer name.
    pub lb_attributes: BTreeMap<(Scope, String), (Vec<Attribute>, PathBuf)>,
    pub rest_apis: BTreeMap<Scope, (Vec<RestApi>, PathBuf)>,
    /// By scope and REST API id.
    pub stages: BTreeMap<(Scope, String), (Vec<Stage>, PathBuf)>,
    /// HTTP and WebSocket APIs (API Gateway v2).
    pub apis_v2: BTreeMap<Scope, (Vec<RestApi>, PathBuf)>,
    /// By scope and v2 API id.
    pub stages_v2: BTreeMap<(Scope, String), (Vec<Stage>, PathBuf)>,
}

fn from<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    T::deserialize(v).map_err(|e| format!("unexpected shape: {e}"))
}

/// The service folder a file is in (`ec2` in `<account>/<region>/ec2/describe-vpcs.json`),
/// and the folder above it (for per-resource files: `elbv2/load-balancer-attributes/x.json`).
fn folders(path: &Path) -> (Option<&str>, Option<&str>) {
    let mut up = path.iter().rev().skip(1).filter_map(|p| p.to_str());
    (up.next(), up.next())
}

/// Recognises one of this module's outputs; `None` when `o` is none of them.
pub fn read(
    path: &Path,
    o: &Map<String, Value>,
    scope: &Option<Scope>,
    raw: &mut RawResources,
) -> Option<Result<Kind, String>> {
    let has = |k: &str| o.contains_key(k);
    let v = Value::Object(o.clone());
    let scope_or = |what: &str| -> Result<Scope, String> {
        scope.clone().ok_or_else(|| {
            format!("{what} needs its account and region from the path: <account>/<region>/<service>/<file>.json")
        })
    };
    let stem = super::stem(path);
    let (dir, above) = folders(path);
    let r = (|| -> Result<Kind, String> {
        if has("ConfigurationRecorders") {
            let d: ConfigurationRecorders = from(&v)?;
            raw.recorders.insert(
                scope_or("describe-configuration-recorders output")?,
                (d.configuration_recorders, path.to_path_buf()),
            );
            Ok(Kind::ConfigRecorders)
        } else if has("ConfigurationRecordersStatus") {
            let d: ConfigurationRecordersStatus = from(&v)?;
            raw.recorder_status.insert(
                scope_or("describe-configuration-recorder-status output")?,
                (d.configuration_recorders_status, path.to_path_buf()),
            );
            Ok(Kind::ConfigRecorderStatus)
        } else if has("Vpcs") {
            let d: Vpcs = from(&v)?;
            raw.vpcs.insert(
                scope_or("describe-vpcs output")?,
                (d.vpcs, path.to_path_buf()),
            );
            Ok(Kind::Vpcs)
        } else if has("FlowLogs") {
            let d: FlowLogs = from(&v)?;
            raw.flow_logs.insert(
                scope_or("describe-flow-logs output")?,
                (d.flow_logs, path.to_path_buf()),
            );
            Ok(Kind::FlowLogs)
        } else if has("HubArn") {
            let d: Hub = from(&v)?;
            raw.hubs.insert(
                scope_or("describe-hub output")?,
                (Some(d.hub_arn), path.to_path_buf()),
            );
            Ok(Kind::SecurityHub)
        } else if has("DistributionList") {
            let d: ListDistributions = from(&v)?;
            raw.distribution_lists.insert(
                scope_or("list-distributions output")?.account,
                (d.distribution_list.items, path.to_path_buf()),
            );
            Ok(Kind::Distributions)
        } else if has("Distribution") {
            let d: GetDistribution = from(&v)?;
            let id = d.distribution.id.clone().unwrap_or(stem);
            raw.distributions.insert(
                (scope_or("get-distribution output")?.account, id),
                (d.distribution, path.to_path_buf()),
            );
            Ok(Kind::Distribution)
        } else if has("deliverySources") {
            let d: DeliverySources = from(&v)?;
            raw.delivery_sources.insert(
                scope_or("describe-delivery-sources output")?,
                (d.delivery_sources, path.to_path_buf()),
            );
            Ok(Kind::DeliverySources)
        } else if has("deliveries") {
            let d: Deliveries = from(&v)?;
            raw.deliveries.insert(
                scope_or("describe-deliveries output")?,
                (d.deliveries, path.to_path_buf()),
            );
            Ok(Kind::Deliveries)
        } else if has("deliveryDestinations") {
            let d: DeliveryDestinations = from(&v)?;
            raw.delivery_destinations.insert(
                scope_or("describe-delivery-destinations output")?,
                (d.delivery_destinations, path.to_path_buf()),
            );
            Ok(Kind::DeliveryDestinations)
        } else if has("LoadBalancers") {
            let d: LoadBalancers = from(&v)?;
            raw.load_balancers.insert(
                scope_or("describe-load-balancers output")?,
                (d.load_balancers, path.to_path_buf()),
            );
            Ok(Kind::LoadBalancers)
        } else if has("Attributes") && dir == Some("load-balancer-attributes") {
            let d: LoadBalancerAttributes = from(&v)?;
            raw.lb_attributes.insert(
                (scope_or("describe-load-balancer-attributes output")?, stem),
                (d.attributes, path.to_path_buf()),
            );
            Ok(Kind::LoadBalancerAttributes)
        } else if has("items") && dir == Some("apigateway") {
            let d: RestApis = from(&v)?;
            raw.rest_apis.insert(
                scope_or("get-rest-apis output")?,
                (d.items, path.to_path_buf()),
            );
            Ok(Kind::RestApis)
        } else if (has("item") || o.is_empty())
            && dir == Some("stages")
            && above == Some("apigateway")
        {
            // An API without stages prints `{"item": []}`; an older CLI, `{}`.
            let item = match o.get("item") {
                Some(_) => from::<Stages>(&v)?.item,
                None => Vec::new(),
            };
            raw.stages.insert(
                (scope_or("get-stages output")?, stem),
                (item, path.to_path_buf()),
            );
            Ok(Kind::Stages)
        } else if has("Items") && dir == Some("apigatewayv2") {
            let d: Apis = from(&v)?;
            raw.apis_v2
                .insert(scope_or("get-apis output")?, (d.items, path.to_path_buf()));
            Ok(Kind::ApisV2)
        } else if (has("Items") || o.is_empty())
            && dir == Some("stages")
            && above == Some("apigatewayv2")
        {
            let items = match o.get("Items") {
                Some(_) => from::<StagesV2>(&v)?.items,
                None => Vec::new(),
            };
            raw.stages_v2.insert(
                (scope_or("get-stages output")?, stem),
                (items, path.to_path_buf()),
            );
            Ok(Kind::StagesV2)
        } else {
            Err(String::new())
        }
    })();
    match r {
        Err(e) if e.is_empty() => None,
        r => Some(r),
    }
}

/// Whether a failed call, whose output would have been at `path`, is an answer: Security Hub's
/// `InvalidAccessException` on `describe-hub` says the account is not subscribed, i.e. Security
/// Hub is off in the region (the same code from another call is a gap).
pub fn is_answer_at(path: &Path, code: &str) -> bool {
    let stem = super::stem(path);
    matches!(stem.as_str(), "describe-hub" | "describe-hub.error")
        && folders(path).0 == Some("securityhub")
        && code == "InvalidAccessException"
}

/// A collection error that is an answer here (see [`is_answer_at`]), recorded as the fact.
pub fn read_answer(path: &Path, code: &str, scope: &Option<Scope>, raw: &mut RawResources) -> bool {
    match (is_answer_at(path, code), scope) {
        (true, Some(scope)) => {
            raw.hubs.insert(scope.clone(), (None, path.to_path_buf()));
            true
        }
        _ => false,
    }
}

/// One thing a resource policy judges. Its JSON is `Type`, `Account`, `Region`, `Id` and its
/// facts, in AWS's own words where AWS has one (`FlowLogs`, `AccessLogging`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Resource {
    /// `ConfigRecorder` and `SecurityHub` (one per region in scope), `Vpc`, `Distribution`,
    /// `LoadBalancer`, `ApiStage`.
    pub kind: &'static str,
    pub account: String,
    pub region: String,
    /// What a finding names: the resource's ARN where AWS gives one, else its id.
    pub id: String,
    pub facts: Map<String, Value>,
    /// The file behind each fact (`""`: the file that lists the resource).
    pub files: BTreeMap<String, PathBuf>,
    /// Keys and values that name the resource in its files (the first found in a file counts),
    /// for the line of a finding.
    pub anchors: Vec<(&'static str, String)>,
}

impl Resource {
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("Type".into(), json!(self.kind));
        o.insert("Account".into(), json!(self.account));
        o.insert("Region".into(), json!(self.region));
        o.insert("Id".into(), json!(self.id));
        o.extend(self.facts.clone());
        Value::Object(o)
    }
}

fn resource(kind: &'static str, scope: &Scope, id: String, facts: Value) -> Resource {
    Resource {
        kind,
        account: scope.account.clone(),
        region: scope.region.clone(),
        id,
        facts: match facts {
            Value::Object(o) => o,
            _ => Map::new(),
        },
        ..Resource::default()
    }
}

fn is_region(region: &str) -> bool {
    region != "global" && region.contains('-')
}

/// Every resource, for the regions in scope (`regions`: each account and region the evidence
/// has a recognised file for).
pub fn assemble(raw: &RawResources, regions: &BTreeSet<Scope>) -> Vec<Resource> {
    let mut out = Vec::new();
    let regions: Vec<&Scope> = regions.iter().filter(|s| is_region(&s.region)).collect();
    // CIS: global resource types recorded in at least one region of the account.
    let global_recorded: BTreeSet<&str> = raw
        .recorders
        .iter()
        .filter(|(_, (rs, _))| {
            rs.iter().any(|r| {
                r.recording_group.as_ref().is_some_and(|g| {
                    g.all_supported == Some(true) && g.include_global_resource_types == Some(true)
                })
            })
        })
        .map(|(s, _)| s.account.as_str())
        .collect();
    // Not recorded anywhere known, but unknown in a region whose recorders were not read.
    let global_unknown: BTreeSet<&str> = regions
        .iter()
        .filter(|s| !raw.recorders.contains_key(*s))
        .map(|s| s.account.as_str())
        .collect();
    let global = |account: &str| -> Value {
        if global_recorded.contains(account) {
            json!(true)
        } else if global_unknown.contains(account) {
            Value::Null
        } else {
            json!(false)
        }
    };
    for scope in &regions {
        out.push(config_recorder(raw, scope, global(&scope.account)));
        out.push(security_hub(raw, scope));
        out.extend(vpcs(raw, scope));
        out.extend(load_balancers(raw, scope));
        out.extend(api_stages(
            &REST,
            scope,
            raw.rest_apis.get(scope),
            &raw.stages,
        ));
        out.extend(api_stages(
            &HTTP_WS,
            scope,
            raw.apis_v2.get(scope),
            &raw.stages_v2,
        ));
    }
    let accounts: BTreeSet<&str> = regions.iter().map(|s| s.account.as_str()).collect();
    for account in accounts {
        out.extend(distributions(raw, account));
    }
    out
}

fn config_recorder(raw: &RawResources, scope: &Scope, global: Value) -> Resource {
    let recorders = raw.recorders.get(scope);
    let status = raw.recorder_status.get(scope);
    // One recorder per region is all AWS Config allows (service-linked ones aside): the first
    // customer recorder speaks for the region.
    let rec = recorders.and_then(|(rs, _)| rs.first());
    let name = rec.and_then(|r| r.name.clone());
    let id = match &name {
        Some(n) => format!("configuration recorder {n}"),
        None => format!("AWS Config in {}", scope.region),
    };
    let mut r = resource(
        "ConfigRecorder",
        scope,
        id,
        json!({ "ConfigRecorder": null }),
    );
    if let Some((rs, file)) = recorders {
        let group = rec
            .and_then(|r| r.recording_group.clone())
            .unwrap_or_default();
        let recording = match (rec, status) {
            (None, _) => Some(false),
            (Some(_), Some((st, _))) => Some(
                st.iter()
                    .find(|s| s.name == name || rs.len() == 1)
                    .and_then(|s| s.recording)
                    .unwrap_or(false),
            ),
            (Some(_), None) => None,
        };
        let last = status.and_then(|(st, _)| {
            st.iter()
                .find(|s| s.name == name)
                .and_then(|s| s.last_status.clone())
        });
        r.facts.insert(
            "ConfigRecorder".into(),
            json!({
                "Name": name,
                "Recording": recording,
                "LastStatus": last,
                "AllSupported": group.all_supported.unwrap_or(false),
                "IncludeGlobalResourceTypes": group.include_global_resource_types.unwrap_or(false),
                "GlobalResourceTypesRecordedInAccount": global,
            }),
        );
        r.files.insert(String::new(), file.clone());
        r.files.insert("ConfigRecorder".into(), file.clone());
        if let Some(n) = &name {
            r.anchors.push(("name", n.clone()));
        }
    }
    if let Some((_, file)) = status {
        r.files
            .insert("ConfigRecorder.Recording".into(), file.clone());
        r.files
            .insert("ConfigRecorder.LastStatus".into(), file.clone());
    }
    r
}

fn security_hub(raw: &RawResources, scope: &Scope) -> Resource {
    let default = format!(
        "arn:aws:securityhub:{}:{}:hub/default",
        scope.region, scope.account
    );
    match raw.hubs.get(scope) {
        Some((arn, file)) => {
            let mut r = resource(
                "SecurityHub",
                scope,
                arn.clone().unwrap_or(default),
                json!({"SecurityHub": {"Enabled": arn.is_some(), "HubArn": arn}}),
            );
            r.files.insert(String::new(), file.clone());
            // In the error file, the line of its code.
            r.anchors.push(("code", "InvalidAccessException".into()));
            r
        }
        None => resource(
            "SecurityHub",
            scope,
            default,
            json!({ "SecurityHub": null }),
        ),
    }
}

/// A listing that was not collected: one placeholder that no policy can judge, so the
/// region reads "no evidence" instead of "nothing to check".
fn not_collected(kind: &'static str, scope: &Scope, what: &str, fact: &str) -> Resource {
    let mut facts = Map::new();
    facts.insert(fact.into(), Value::Null);
    Resource {
        kind,
        account: scope.account.clone(),
        region: scope.region.clone(),
        id: format!("{what} in {}", scope.region),
        facts,
        ..Resource::default()
    }
}

fn vpcs(raw: &RawResources, scope: &Scope) -> Vec<Resource> {
    let Some((vpcs, file)) = raw.vpcs.get(scope) else {
        return vec![not_collected(
            "Vpc",
            scope,
            "VPCs",
            "FlowLogCapturesRejected",
        )];
    };
    let flows = raw.flow_logs.get(scope);
    vpcs.iter()
        // A VPC shared into the account is its owner's to log.
        .filter(|v| v.owner_id.as_deref().is_none_or(|o| o == scope.account))
        .filter_map(|v| {
            let id = v.vpc_id.clone()?;
            let logs: Option<Vec<&FlowLog>> = flows.map(|(fl, _)| {
                fl.iter()
                    .filter(|f| f.resource_id.as_deref() == Some(id.as_str()))
                    .filter(|f| f.flow_log_status.as_deref().is_none_or(|s| s == "ACTIVE"))
                    .collect()
            });
            // CIS: at least one flow log capturing rejected traffic (REJECT or ALL).
            let rejected = logs.as_ref().map(|ls| {
                ls.iter()
                    .any(|f| matches!(f.traffic_type.as_deref(), Some("REJECT" | "ALL")))
            });
            let ids: Option<Vec<&str>> = logs
                .as_ref()
                .map(|ls| ls.iter().filter_map(|f| f.flow_log_id.as_deref()).collect());
            let mut r = resource(
                "Vpc",
                scope,
                format!("arn:aws:ec2:{}:{}:vpc/{id}", scope.region, scope.account),
                json!({
                    "VpcId": id, "IsDefault": v.is_default,
                    "FlowLogs": ids, "FlowLogCapturesRejected": rejected,
                }),
            );
            r.files.insert(String::new(), file.clone());
            if let Some((_, f)) = flows {
                r.files.insert("FlowLogs".into(), f.clone());
                r.files.insert("FlowLogCapturesRejected".into(), f.clone());
            }
            // The VPC in the VPC list; in the flow-log list, its flow log, if it has one.
            r.anchors.push(("VpcId", id.clone()));
            r.anchors.push(("ResourceId", id));
            Some(r)
        })
        .collect()
}

fn load_balancers(raw: &RawResources, scope: &Scope) -> Vec<Resource> {
    let Some((lbs, file)) = raw.load_balancers.get(scope) else {
        return vec![not_collected(
            "LoadBalancer",
            scope,
            "load balancers",
            "AccessLogging",
        )];
    };
    lbs.iter()
        // Gateway Load Balancers have no access logs.
        .filter(|lb| lb.kind.as_deref() != Some("gateway"))
        .filter_map(|lb| {
            let name = lb.load_balancer_name.clone()?;
            let attrs = raw.lb_attributes.get(&((*scope).clone(), name.clone()));
            let enabled = attrs.map(|(a, _)| {
                a.iter().any(|a| {
                    a.key.as_deref() == Some("access_logs.s3.enabled")
                        && a.value.as_deref() == Some("true")
                })
            });
            let mut r = resource(
                "LoadBalancer",
                scope,
                lb.load_balancer_arn.clone().unwrap_or_else(|| name.clone()),
                json!({"LoadBalancerName": name, "LoadBalancerType": lb.kind, "AccessLogging": enabled}),
            );
            r.files.insert(String::new(), file.clone());
            if let Some((_, f)) = attrs {
                r.files.insert("AccessLogging".into(), f.clone());
            }
            r.anchors.push(("LoadBalancerName", name));
            r.anchors.push(("Key", "access_logs.s3.enabled".into()));
            Some(r)
        })
        .collect()
}

/// What sets REST APIs (v1) and HTTP and WebSocket APIs (v2) apart in their files and in
/// their findings; the judging is the same.
struct ApiFlavour {
    /// What the placeholder of a listing not collected names.
    listing: &'static str,
    /// The ARN's path segment: `/restapis/ID`, `/apis/ID`.
    segment: &'static str,
    id_key: &'static str,
    name_key: &'static str,
    /// The keys naming an API in its listing and a stage in its stages file.
    id_anchor: &'static str,
    stage_anchor: &'static str,
}

const REST: ApiFlavour = ApiFlavour {
    listing: "REST API stages",
    segment: "restapis",
    id_key: "RestApiId",
    name_key: "RestApiName",
    id_anchor: "id",
    stage_anchor: "stageName",
};

const HTTP_WS: ApiFlavour = ApiFlavour {
    listing: "HTTP and WebSocket API stages",
    segment: "apis",
    id_key: "ApiId",
    name_key: "ApiName",
    id_anchor: "ApiId",
    stage_anchor: "StageName",
};

fn api_stages(
    f: &ApiFlavour,
    scope: &Scope,
    listing: Option<&(Vec<RestApi>, PathBuf)>,
    stages: &BTreeMap<(Scope, String), (Vec<Stage>, PathBuf)>,
) -> Vec<Resource> {
    let Some((apis, file)) = listing else {
        return vec![not_collected("ApiStage", scope, f.listing, "AccessLogging")];
    };
    let mut out = Vec::new();
    for api in apis {
        let Some(id) = api.id.clone() else { continue };
        let arn = format!("arn:aws:apigateway:{}::/{}/{id}", scope.region, f.segment);
        let mut facts = Map::new();
        facts.insert(f.id_key.into(), json!(id));
        facts.insert(f.name_key.into(), json!(api.name));
        if let Some(p) = &api.protocol_type {
            facts.insert("ProtocolType".into(), json!(p));
        }
        let Some((stages, sfile)) = stages.get(&((*scope).clone(), id.clone())) else {
            facts.insert("AccessLogging".into(), Value::Null);
            let mut r = resource(
                "ApiStage",
                scope,
                format!("{arn}/stages"),
                Value::Object(facts),
            );
            r.files.insert(String::new(), file.clone());
            r.anchors.push((f.id_anchor, id));
            out.push(r);
            continue;
        };
        for s in stages {
            let Some(stage) = s.stage_name.clone() else {
                continue;
            };
            let dest = s
                .access_log_settings
                .as_ref()
                .and_then(|a| a.destination_arn.clone())
                .filter(|d| !d.is_empty());
            let mut facts = facts.clone();
            facts.insert("StageName".into(), json!(stage));
            facts.insert("AccessLogDestination".into(), json!(dest));
            facts.insert("AccessLogging".into(), json!(dest.is_some()));
            let mut r = resource(
                "ApiStage",
                scope,
                format!("{arn}/stages/{stage}"),
                Value::Object(facts),
            );
            r.files.insert(String::new(), sfile.clone());
            r.anchors.push((f.stage_anchor, stage));
            out.push(r);
        }
    }
    out
}

/// A CloudWatch Logs listing of `account` for CloudFront: the one kept under `global`, else the
/// one read in us-east-1 (where CloudFront's delivery sources are made).
fn us_east_1<'a, T>(
    map: &'a BTreeMap<Scope, (Vec<T>, PathBuf)>,
    account: &str,
) -> Option<&'a (Vec<T>, PathBuf)> {
    ["global", "us-east-1"].iter().find_map(|region| {
        map.get(&Scope {
            account: account.to_string(),
            region: region.to_string(),
        })
    })
}

/// How a distribution's access logs leave it through standard logging v2: `Some` list of
/// deliveries (destination type and ARN) from an `ACCESS_LOGS` delivery source naming `arn`,
/// empty when there is none, with why; `None` when the sources or deliveries were not read.
fn v2_deliveries(
    raw: &RawResources,
    account: &str,
    arn: &str,
) -> Option<(Vec<(String, String)>, String)> {
    let (sources, _) = us_east_1(&raw.delivery_sources, account)?;
    let (deliveries, _) = us_east_1(&raw.deliveries, account)?;
    let destinations = us_east_1(&raw.delivery_destinations, account).map(|(d, _)| d);
    let names: BTreeSet<&str> = sources
        .iter()
        .filter(|s| s.log_type.as_deref() == Some("ACCESS_LOGS"))
        .filter(|s| s.resource_arns.iter().any(|r| r == arn))
        .filter_map(|s| s.name.as_deref())
        .collect();
    if names.is_empty() {
        return Some((Vec::new(), "no ACCESS_LOGS delivery source names it".into()));
    }
    let out: Vec<(String, String)> = deliveries
        .iter()
        .filter(|d| {
            d.delivery_source_name
                .as_deref()
                .is_some_and(|n| names.contains(n))
        })
        .filter_map(|d| {
            let dest_arn = d.delivery_destination_arn.as_deref()?;
            // The destination's own resource (bucket, log group, stream) where it was listed;
            // else the delivery destination (one in another account is not listed here).
            let dest =
                destinations.and_then(|ds| ds.iter().find(|x| x.arn.as_deref() == Some(dest_arn)));
            let kind = d
                .delivery_destination_type
                .as_deref()
                .or_else(|| dest.and_then(|x| x.delivery_destination_type.as_deref()))
                .unwrap_or("unknown");
            let target = dest
                .and_then(|x| x.delivery_destination_configuration.as_ref())
                .and_then(|c| c.destination_resource_arn.as_deref())
                .filter(|a| !a.is_empty())
                .unwrap_or(dest_arn);
            let kind = match kind {
                "CWL" => "CloudWatch Logs",
                "FH" => "Firehose",
                k => k,
            };
            Some((kind.to_string(), target.to_string()))
        })
        .collect();
    let names: Vec<&str> = names.into_iter().collect();
    let why = match names.as_slice() {
        [one] => format!("delivery source {one} has no delivery"),
        many => format!("delivery sources {} have no delivery", many.join(", ")),
    };
    Some((out, why))
}

/// A distribution logs through its legacy `Logging` (to an S3 bucket) or through standard
/// logging v2 (a delivery from an `ACCESS_LOGS` delivery source naming it). `Logging` says
/// which, or why neither; it and `AccessLogging` stay unknown while the way not seen could
/// still be the one it logs by.
fn distributions(raw: &RawResources, account: &str) -> Vec<Resource> {
    let global = Scope {
        account: account.to_string(),
        region: "global".into(),
    };
    let Some((items, file)) = raw.distribution_lists.get(account) else {
        return vec![not_collected(
            "Distribution",
            &global,
            "CloudFront distributions",
            "AccessLogging",
        )];
    };
    items
        .iter()
        .filter_map(|d| {
            let id = d.id.clone()?;
            let full = raw.distributions.get(&(account.to_string(), id.clone()));
            let arn = d
                .arn
                .clone()
                .unwrap_or_else(|| format!("arn:aws:cloudfront::{account}:distribution/{id}"));
            let legacy: Option<Option<String>> = full.map(|(d, _)| {
                d.distribution_config
                    .logging
                    .as_ref()
                    .filter(|l| l.enabled == Some(true))
                    .map(|l| l.bucket.clone().unwrap_or_default())
            });
            let v2 = v2_deliveries(raw, account, &arn);
            let mut ways = Vec::new();
            if let Some(Some(bucket)) = &legacy {
                ways.push(format!("legacy logging to {bucket}"));
            }
            if let Some((ds, _)) = &v2 {
                ways.extend(
                    ds.iter()
                        .map(|(kind, target)| format!("v2 delivery to {kind} {target}")),
                );
            }
            let logging = if !ways.is_empty() {
                Some(ways.join("; "))
            } else if let (Some(None), Some((_, why))) = (&legacy, &v2) {
                Some(format!(
                    "none: legacy logging disabled; standard logging v2: {why}"
                ))
            } else {
                None
            };
            let enabled = logging.as_ref().map(|_| !ways.is_empty());
            let mut r = resource(
                "Distribution",
                &global,
                arn,
                json!({"DistributionId": id, "DomainName": d.domain_name,
                    "AccessLogging": enabled, "Logging": logging}),
            );
            r.files
                .insert(String::new(), full.map_or(file, |(_, f)| f).clone());
            // The file that shows how it logs: the distribution's, unless only deliveries do.
            let by_v2 = !matches!(legacy, Some(Some(_)))
                && v2.as_ref().is_some_and(|(ds, _)| !ds.is_empty());
            let via = match full {
                Some((_, f)) if !by_v2 => Some(f),
                _ => us_east_1(&raw.deliveries, account).map(|(_, f)| f),
            };
            if let Some(f) = via {
                r.files.insert("Logging".into(), f.clone());
                r.files.insert("AccessLogging".into(), f.clone());
            }
            r.anchors.push(("Id", id));
            Some(r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(region: &str) -> Scope {
        Scope {
            account: "111122223333".into(),
            region: region.into(),
        }
    }

    #[test]
    fn what_was_not_collected_stays_unknown() {
        let raw = RawResources::default();
        let regions: BTreeSet<Scope> = [scope("us-east-1"), scope("global")].into();
        let rs = assemble(&raw, &regions);
        // One of each per region in scope, CloudFront once per account; every fact unknown.
        let kinds: Vec<&str> = rs.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                "ConfigRecorder",
                "SecurityHub",
                "Vpc",
                "LoadBalancer",
                "ApiStage",
                "ApiStage",
                "Distribution"
            ]
        );
        for r in &rs {
            assert!(r.facts.values().all(Value::is_null), "{r:?}");
        }
    }

    #[test]
    fn not_subscribed_is_an_answer_only_from_describe_hub() {
        let hub = Path::new("o/111122223333/us-east-1/securityhub/describe-hub.json");
        assert!(is_answer_at(hub, "InvalidAccessException"));
        assert!(is_answer_at(
            &hub.with_file_name("describe-hub.error.json"),
            "InvalidAccessException"
        ));
        assert!(!is_answer_at(hub, "AccessDeniedException"));
        let other = Path::new("o/111122223333/us-east-1/config/describe-hub.json");
        assert!(!is_answer_at(other, "InvalidAccessException"));
    }

    #[test]
    fn a_vpc_is_judged_on_its_own_active_flow_logs() {
        let mut raw = RawResources::default();
        let s = scope("eu-west-1");
        raw.vpcs.insert(
            s.clone(),
            (
                vec![
                    Vpc {
                        vpc_id: Some("vpc-a".into()),
                        ..Vpc::default()
                    },
                    Vpc {
                        vpc_id: Some("vpc-b".into()),
                        ..Vpc::default()
                    },
                    Vpc {
                        vpc_id: Some("vpc-shared".into()),
                        owner_id: Some("999999999999".into()),
                        ..Vpc::default()
                    },
                ],
                PathBuf::from("v.json"),
            ),
        );
        let flow = |vpc: &str, traffic: &str| FlowLog {
            flow_log_id: Some(format!("fl-{vpc}")),
            resource_id: Some(vpc.into()),
            traffic_type: Some(traffic.into()),
            flow_log_status: Some("ACTIVE".into()),
        };
        raw.flow_logs.insert(
            s.clone(),
            (
                vec![flow("vpc-a", "REJECT"), flow("vpc-b", "ACCEPT")],
                PathBuf::from("f.json"),
            ),
        );
        let rs = vpcs(&raw, &s);
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].facts["FlowLogCapturesRejected"], json!(true));
        // An ACCEPT-only flow log does not capture rejected traffic.
        assert_eq!(rs[1].facts["FlowLogCapturesRejected"], json!(false));
        assert_eq!(rs[1].id, "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-b");
    }

    /// One distribution `E1` of account 111122223333, its legacy logging as given, and (when
    /// `v2` is given) the deliveries listings under `global`: sources and deliveries.
    fn cloudfront(
        legacy: Option<bool>,
        v2: Option<(Vec<DeliverySource>, Vec<Delivery>)>,
    ) -> Resource {
        let account = "111122223333";
        let arn = format!("arn:aws:cloudfront::{account}:distribution/E1");
        let mut raw = RawResources::default();
        raw.distribution_lists.insert(
            account.into(),
            (
                vec![DistributionSummary {
                    id: Some("E1".into()),
                    arn: Some(arn),
                    domain_name: None,
                }],
                PathBuf::from("list.json"),
            ),
        );
        if let Some(enabled) = legacy {
            let d = Distribution {
                id: Some("E1".into()),
                distribution_config: DistributionConfig {
                    logging: Some(DistributionLogging {
                        enabled: Some(enabled),
                        bucket: Some("logs.s3.amazonaws.com".into()),
                    }),
                },
                ..Distribution::default()
            };
            raw.distributions.insert(
                (account.into(), "E1".into()),
                (d, PathBuf::from("dist.json")),
            );
        }
        if let Some((sources, deliveries)) = v2 {
            let g = scope("global");
            raw.delivery_sources
                .insert(g.clone(), (sources, PathBuf::from("sources.json")));
            raw.deliveries
                .insert(g.clone(), (deliveries, PathBuf::from("deliveries.json")));
            raw.delivery_destinations.insert(
                g,
                (
                    vec![DeliveryDestination {
                        arn: Some(DEST.into()),
                        delivery_destination_type: Some("S3".into()),
                        delivery_destination_configuration: Some(
                            DeliveryDestinationConfiguration {
                                destination_resource_arn: Some("arn:aws:s3:::cf-logs".into()),
                            },
                        ),
                    }],
                    PathBuf::from("destinations.json"),
                ),
            );
        }
        let mut rs = distributions(&raw, account);
        assert_eq!(rs.len(), 1);
        rs.remove(0)
    }

    const DEST: &str = "arn:aws:logs:us-east-1:111122223333:delivery-destination:cf-s3";

    fn source(arn: &str, log_type: &str) -> DeliverySource {
        DeliverySource {
            name: Some("cf-E1".into()),
            resource_arns: vec![arn.into()],
            log_type: Some(log_type.into()),
        }
    }

    fn delivery(source: &str) -> Delivery {
        Delivery {
            id: Some("d1".into()),
            delivery_source_name: Some(source.into()),
            delivery_destination_arn: Some(DEST.into()),
            delivery_destination_type: Some("S3".into()),
        }
    }

    const E1: &str = "arn:aws:cloudfront::111122223333:distribution/E1";

    #[test]
    fn a_distribution_logs_through_legacy_logging_or_a_v2_delivery() {
        // Legacy logging alone decides, deliveries collected or not.
        let r = cloudfront(Some(true), None);
        assert_eq!(r.facts["AccessLogging"], json!(true));
        assert_eq!(
            r.facts["Logging"],
            json!("legacy logging to logs.s3.amazonaws.com")
        );
        assert_eq!(r.files["Logging"], PathBuf::from("dist.json"));
        // v2 only: named by an ACCESS_LOGS source with a delivery; the destination's bucket.
        let r = cloudfront(
            Some(false),
            Some((vec![source(E1, "ACCESS_LOGS")], vec![delivery("cf-E1")])),
        );
        assert_eq!(r.facts["AccessLogging"], json!(true));
        assert_eq!(
            r.facts["Logging"],
            json!("v2 delivery to S3 arn:aws:s3:::cf-logs")
        );
        assert_eq!(r.files["Logging"], PathBuf::from("deliveries.json"));
        // v2 decides even where the distribution's own file was not read.
        let r = cloudfront(
            None,
            Some((vec![source(E1, "ACCESS_LOGS")], vec![delivery("cf-E1")])),
        );
        assert_eq!(r.facts["AccessLogging"], json!(true));
    }

    #[test]
    fn a_delivery_source_without_a_delivery_or_of_another_kind_logs_nothing() {
        let r = cloudfront(Some(false), Some((vec![source(E1, "ACCESS_LOGS")], vec![])));
        assert_eq!(r.facts["AccessLogging"], json!(false));
        assert_eq!(
            r.facts["Logging"],
            json!(
                "none: legacy logging disabled; standard logging v2: delivery source cf-E1 has no delivery"
            )
        );
        // Neither way.
        let r = cloudfront(Some(false), Some((vec![], vec![])));
        assert_eq!(r.facts["AccessLogging"], json!(false));
        assert_eq!(
            r.facts["Logging"],
            json!("none: legacy logging disabled; standard logging v2: no ACCESS_LOGS delivery source names it")
        );
        // Another distribution's source, and another log type, do not count.
        let other = "arn:aws:cloudfront::111122223333:distribution/E2";
        for s in [source(other, "ACCESS_LOGS"), source(E1, "CONNECTION_LOGS")] {
            let r = cloudfront(Some(false), Some((vec![s], vec![delivery("cf-E1")])));
            assert_eq!(r.facts["AccessLogging"], json!(false), "{r:?}");
        }
        // A delivery from another source does not either.
        let r = cloudfront(
            Some(false),
            Some((vec![source(E1, "ACCESS_LOGS")], vec![delivery("cf-other")])),
        );
        assert_eq!(r.facts["AccessLogging"], json!(false));
    }

    #[test]
    fn legacy_logging_off_without_the_deliveries_is_not_judged() {
        // Evidence collected before the deliveries were: unknown, never false.
        let r = cloudfront(Some(false), None);
        assert_eq!(r.facts["AccessLogging"], Value::Null);
        assert_eq!(r.facts["Logging"], Value::Null);
        // Nor without the distribution's own file and no delivery.
        let r = cloudfront(None, Some((vec![], vec![])));
        assert_eq!(r.facts["Logging"], Value::Null);
    }

    #[test]
    fn deliveries_read_in_us_east_1_count_as_those_under_global() {
        let mut raw = RawResources::default();
        let east = scope("us-east-1");
        raw.delivery_sources.insert(
            east.clone(),
            (vec![source(E1, "ACCESS_LOGS")], PathBuf::from("s.json")),
        );
        raw.deliveries
            .insert(east, (vec![delivery("cf-E1")], PathBuf::from("d.json")));
        let (ds, _) = v2_deliveries(&raw, "111122223333", E1).unwrap();
        // Without the destinations listing, the delivery destination names where it goes.
        assert_eq!(ds, [("S3".to_string(), DEST.to_string())]);
        // Another region's listing says nothing of CloudFront.
        let mut raw = RawResources::default();
        raw.delivery_sources.insert(
            scope("eu-west-1"),
            (vec![source(E1, "ACCESS_LOGS")], PathBuf::from("s.json")),
        );
        raw.deliveries.insert(
            scope("eu-west-1"),
            (vec![delivery("cf-E1")], PathBuf::from("d.json")),
        );
        assert!(v2_deliveries(&raw, "111122223333", E1).is_none());
    }
}
