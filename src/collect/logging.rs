//! The logging evidence beyond CloudTrail, as `scripts/collect-config.sh` writes it: per region
//! AWS Config's recorders and their status, VPCs and their flow logs, Security Hub's hub, load
//! balancers and their attributes, REST APIs (API Gateway v1) and HTTP and WebSocket APIs (v2)
//! and their stages; CloudFront's distributions once per account, under `global`, with the
//! CloudWatch Logs deliveries of its standard logging v2. Each file is the JSON the aws CLI
//! prints for the call.

use std::future::Future;

use aws_sdk_sts::error::SdkError;
use aws_smithy_async::future::pagination_stream::{fn_stream::FnStream, PaginationStream};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::out::component;
use super::shape::Obj;
use super::{CollectError, Failure, Out, Sdk};
use serde_json::{json, Value};

/// One region's files.
pub async fn region(sdk: &Sdk, out: &Out, region: &str) -> Result<(), CollectError> {
    let rg = format!("--region {region}");

    let cfg = sdk.config(region);
    let file = format!("{region}/config/describe-configuration-recorders.json");
    match cfg.describe_configuration_recorders().send().await {
        Ok(o) => out.save(&file, &shapes::recorders(o.configuration_recorders()))?,
        Err(e) => out.fail(
            &file,
            format!("aws configservice describe-configuration-recorders {rg}"),
            Failure::of("DescribeConfigurationRecorders", &e),
        )?,
    }
    let file = format!("{region}/config/describe-configuration-recorder-status.json");
    match cfg.describe_configuration_recorder_status().send().await {
        Ok(o) => out.save(
            &file,
            &shapes::recorder_status(o.configuration_recorders_status()),
        )?,
        Err(e) => out.fail(
            &file,
            format!("aws configservice describe-configuration-recorder-status {rg}"),
            Failure::of("DescribeConfigurationRecorderStatus", &e),
        )?,
    }

    let ec2 = sdk.ec2(region);
    let pages = ec2.describe_vpcs().into_paginator().send();
    let (vpcs, failed) = all_pages(pages, "DescribeVpcs", |p| p.vpcs(), shapes::vpc).await;
    let file = format!("{region}/ec2/describe-vpcs.json");
    let op = format!("aws ec2 describe-vpcs {rg}");
    save_or_fail(out, &file, op, failed, json!({ "Vpcs": vpcs }))?;
    let pages = ec2.describe_flow_logs().into_paginator().send();
    let (logs, failed) = all_pages(
        pages,
        "DescribeFlowLogs",
        |p| p.flow_logs(),
        shapes::flow_log,
    )
    .await;
    let file = format!("{region}/ec2/describe-flow-logs.json");
    let op = format!("aws ec2 describe-flow-logs {rg}");
    save_or_fail(out, &file, op, failed, json!({ "FlowLogs": logs }))?;

    // `InvalidAccessException` (not subscribed) is an answer: Security Hub is off here.
    let file = format!("{region}/securityhub/describe-hub.json");
    match sdk.securityhub(region).describe_hub().send().await {
        Ok(o) => out.save(
            &file,
            &Obj::new()
                .s("HubArn", o.hub_arn())
                .s("SubscribedAt", o.subscribed_at())
                .b("AutoEnableControls", o.auto_enable_controls())
                .build(),
        )?,
        Err(e) => out.fail(
            &file,
            format!("aws securityhub describe-hub {rg}"),
            Failure::of("DescribeHub", &e),
        )?,
    }

    let elb = sdk.elbv2(region);
    let pages = elb.describe_load_balancers().into_paginator().send();
    let (lbs, failed) = all_pages(
        pages,
        "DescribeLoadBalancers",
        |p| p.load_balancers(),
        Clone::clone,
    )
    .await;
    let shaped: Vec<Value> = lbs.iter().map(shapes::load_balancer).collect();
    let file = format!("{region}/elbv2/describe-load-balancers.json");
    let op = format!("aws elbv2 describe-load-balancers {rg}");
    save_or_fail(out, &file, op, failed, json!({ "LoadBalancers": shaped }))?;
    // The load balancers read before a failed page still have their attributes read.
    for lb in &lbs {
        let (Some(arn), Some(name)) = (lb.load_balancer_arn(), lb.load_balancer_name()) else {
            continue;
        };
        let file = format!(
            "{region}/elbv2/load-balancer-attributes/{}.json",
            component(name)
        );
        let op =
            format!("aws elbv2 describe-load-balancer-attributes --load-balancer-arn {arn} {rg}");
        match elb
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
        {
            Ok(o) => {
                let attrs: Vec<Value> = o
                    .attributes()
                    .iter()
                    .map(|a| Obj::new().s("Key", a.key()).s("Value", a.value()).build())
                    .collect();
                out.save(&file, &json!({ "Attributes": attrs }))?
            }
            Err(e) => out.fail(&file, op, Failure::of("DescribeLoadBalancerAttributes", &e))?,
        }
    }

    let api = sdk.apigateway(region);
    let pages = api.get_rest_apis().into_paginator().send();
    let (apis, failed) = all_pages(pages, "GetRestApis", |p| p.items(), Clone::clone).await;
    let items: Vec<Value> = apis
        .iter()
        .map(|a| Obj::new().s("id", a.id()).s("name", a.name()).build())
        .collect();
    let file = format!("{region}/apigateway/get-rest-apis.json");
    let op = format!("aws apigateway get-rest-apis {rg}");
    save_or_fail(out, &file, op, failed, json!({ "items": items }))?;
    for a in &apis {
        let Some(id) = a.id() else { continue };
        let file = format!("{region}/apigateway/stages/{}.json", component(id));
        let op = format!("aws apigateway get-stages --rest-api-id {id} {rg}");
        match api.get_stages().rest_api_id(id).send().await {
            Ok(o) => out.save(&file, &shapes::stages(o.item()))?,
            Err(e) => out.fail(&file, op, Failure::of("GetStages", &e))?,
        }
    }

    // HTTP and WebSocket APIs: API Gateway v2, laid out as v1 is.
    let v2 = sdk.apigatewayv2(region);
    let client = v2.clone();
    let pages = token_pages(
        move |t| client.get_apis().set_next_token(t).send(),
        |p| p.next_token(),
    );
    let (apis, failed) = all_pages(pages, "GetApis", |p| p.items(), Clone::clone).await;
    // Unlike v1's, a failed listing reads the stages of none of the APIs.
    let apis = if failed.is_some() { Vec::new() } else { apis };
    let items: Vec<Value> = apis
        .iter()
        .map(|a| {
            Obj::new()
                .s("ApiId", a.api_id())
                .s("Name", a.name())
                .s("ProtocolType", a.protocol_type().map(|p| p.as_str()))
                .build()
        })
        .collect();
    let file = format!("{region}/apigatewayv2/get-apis.json");
    let op = format!("aws apigatewayv2 get-apis {rg}");
    save_or_fail(out, &file, op, failed, json!({ "Items": items }))?;
    for a in &apis {
        let Some(id) = a.api_id() else { continue };
        let (client, api_id) = (v2.clone(), id.to_string());
        let pages = token_pages(
            move |t| client.get_stages().api_id(&api_id).set_next_token(t).send(),
            |p| p.next_token(),
        );
        let (stages, failed) = all_pages(pages, "GetStages", |p| p.items(), shapes::stage_v2).await;
        let file = format!("{region}/apigatewayv2/stages/{}.json", component(id));
        let op = format!("aws apigatewayv2 get-stages --api-id {id} {rg}");
        save_or_fail(out, &file, op, failed, json!({ "Items": stages }))?;
    }
    Ok(())
}

/// Every page's items (`items` picks them out of a page, `shape` maps each), up to the first
/// page that fails: the items read before it, and why it failed.
async fn all_pages<P, E, X, T, I, S>(
    mut pages: PaginationStream<Result<P, SdkError<E, HttpResponse>>>,
    api: &str,
    mut items: I,
    mut shape: S,
) -> (Vec<T>, Option<Failure>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    I: FnMut(&P) -> &[X],
    S: FnMut(&X) -> T,
{
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => all.extend(items(&p).iter().map(&mut shape)),
            Err(e) => return (all, Some(Failure::of(api, &e))),
        }
    }
    (all, None)
}

/// The pages of a call the SDK gives no paginator for (API Gateway v2's), as a paginator gives
/// them: `send` takes the previous page's `NextToken`; the last page has none (or an empty one).
fn token_pages<P, E, F, Fut>(
    mut send: F,
    next_token: fn(&P) -> Option<&str>,
) -> PaginationStream<Result<P, E>>
where
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<P, E>> + Send,
    P: Send + 'static,
    E: Send + 'static,
{
    PaginationStream::new(FnStream::new(move |tx| {
        Box::pin(async move {
            let mut token = None;
            loop {
                let page = send(token.take()).await;
                token = (page.as_ref().ok())
                    .and_then(next_token)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if tx.send(page).await.is_err() || token.is_none() {
                    return;
                }
            }
        })
    }))
}

/// A listing's file: the JSON of its items, or the failure that cut it short.
fn save_or_fail(
    out: &Out,
    file: &str,
    operation: String,
    failed: Option<Failure>,
    listing: Value,
) -> Result<(), CollectError> {
    match failed {
        None => out.save(file, &listing),
        Some(f) => out.fail(file, operation, f),
    }
}

/// CloudFront, once per account (a global service, called in us-east-1).
pub async fn global(sdk: &Sdk, out: &Out) -> Result<(), CollectError> {
    deliveries(sdk, out).await?;
    distributions(sdk, out).await
}

/// CloudFront's standard logging v2: CloudWatch Logs delivery sources, deliveries and delivery
/// destinations. CloudFront's delivery sources can only be made in us-east-1, so that is the one
/// region read; the files go under `global` beside the distributions, so that collecting them
/// does not bring us-east-1 into scope when it was not asked for.
async fn deliveries(sdk: &Sdk, out: &Out) -> Result<(), CollectError> {
    const RG: &str = "--region us-east-1";
    let logs = sdk.logs("us-east-1");

    let pages = logs.describe_delivery_sources().into_paginator().send();
    let (items, failed) = all_pages(
        pages,
        "DescribeDeliverySources",
        |p| p.delivery_sources(),
        shapes::delivery_source,
    )
    .await;
    let file = "global/logs/describe-delivery-sources.json";
    let op = format!("aws logs describe-delivery-sources {RG}");
    save_or_fail(out, file, op, failed, json!({ "deliverySources": items }))?;

    let pages = logs.describe_deliveries().into_paginator().send();
    let (items, failed) = all_pages(
        pages,
        "DescribeDeliveries",
        |p| p.deliveries(),
        shapes::delivery,
    )
    .await;
    let file = "global/logs/describe-deliveries.json";
    let op = format!("aws logs describe-deliveries {RG}");
    save_or_fail(out, file, op, failed, json!({ "deliveries": items }))?;

    let pages = logs
        .describe_delivery_destinations()
        .into_paginator()
        .send();
    let (items, failed) = all_pages(
        pages,
        "DescribeDeliveryDestinations",
        |p| p.delivery_destinations(),
        shapes::delivery_destination,
    )
    .await;
    let file = "global/logs/describe-delivery-destinations.json";
    let op = format!("aws logs describe-delivery-destinations {RG}");
    save_or_fail(
        out,
        file,
        op,
        failed,
        json!({ "deliveryDestinations": items }),
    )
}

async fn distributions(sdk: &Sdk, out: &Out) -> Result<(), CollectError> {
    let cf = sdk.cloudfront();
    let file = "global/cloudfront/list-distributions.json";
    let pages = cf.list_distributions().into_paginator().send();
    let (items, failed) = all_pages(
        pages,
        "ListDistributions",
        |p| p.distribution_list().map_or(&[][..], |l| l.items()),
        Clone::clone,
    )
    .await;
    if let Some(f) = failed {
        return out.fail(file, "aws cloudfront list-distributions".into(), f);
    }
    let shaped: Vec<Value> = items
        .iter()
        .map(|d| json!({"Id": d.id(), "ARN": d.arn(), "DomainName": d.domain_name(), "Status": d.status(), "Enabled": d.enabled()}))
        .collect();
    out.save(
        file,
        &json!({"DistributionList": {"Quantity": shaped.len(), "Items": shaped}}),
    )?;
    for d in &items {
        let id = d.id();
        let file = format!("global/cloudfront/distributions/{}.json", component(id));
        let op = format!("aws cloudfront get-distribution --id {id}");
        match cf.get_distribution().id(id).send().await {
            Ok(o) => {
                let dist = o.distribution().map(shapes::distribution);
                out.save(
                    &file,
                    &Obj::new()
                        .s("ETag", o.e_tag())
                        .opt("Distribution", dist)
                        .build(),
                )?
            }
            Err(e) => out.fail(&file, op, Failure::of("GetDistribution", &e))?,
        }
    }
    Ok(())
}

mod shapes {
    //! SDK outputs -> the aws CLI's JSON for these calls (AWS Config and API Gateway v1 in
    //! camelCase, the others PascalCase), the fields `config::resources` reads and a few that
    //! name the resource for a reader.

    use super::Obj;
    use serde_json::{json, Value};

    pub fn recorders(rs: &[aws_sdk_config::types::ConfigurationRecorder]) -> Value {
        let rs: Vec<Value> = rs
            .iter()
            .map(|r| {
                Obj::new()
                    .s("name", r.name())
                    .s("roleARN", r.role_arn())
                    .opt(
                        "recordingGroup",
                        r.recording_group().map(|g| {
                            json!({
                                "allSupported": g.all_supported(),
                                "includeGlobalResourceTypes": g.include_global_resource_types(),
                                "resourceTypes": g.resource_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                            })
                        }),
                    )
                    .build()
            })
            .collect();
        json!({ "ConfigurationRecorders": rs })
    }

    pub fn recorder_status(st: &[aws_sdk_config::types::ConfigurationRecorderStatus]) -> Value {
        let st: Vec<Value> = st
            .iter()
            .map(|s| {
                Obj::new()
                    .s("name", s.name())
                    .b("recording", Some(s.recording()))
                    .s("lastStatus", s.last_status().map(|l| l.as_str()))
                    .t("lastStartTime", s.last_start_time())
                    .t("lastStopTime", s.last_stop_time())
                    .s("lastErrorCode", s.last_error_code())
                    .build()
            })
            .collect();
        json!({ "ConfigurationRecordersStatus": st })
    }

    pub fn vpc(v: &aws_sdk_ec2::types::Vpc) -> Value {
        Obj::new()
            .s("VpcId", v.vpc_id())
            .s("OwnerId", v.owner_id())
            .s("CidrBlock", v.cidr_block())
            .s("State", v.state().map(|s| s.as_str()))
            .b("IsDefault", v.is_default())
            .build()
    }

    pub fn flow_log(f: &aws_sdk_ec2::types::FlowLog) -> Value {
        Obj::new()
            .s("FlowLogId", f.flow_log_id())
            .s("ResourceId", f.resource_id())
            .s("TrafficType", f.traffic_type().map(|t| t.as_str()))
            .s("FlowLogStatus", f.flow_log_status())
            .s(
                "LogDestinationType",
                f.log_destination_type().map(|t| t.as_str()),
            )
            .s("LogDestination", f.log_destination())
            .s("LogGroupName", f.log_group_name())
            .build()
    }

    pub fn load_balancer(lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer) -> Value {
        Obj::new()
            .s("LoadBalancerArn", lb.load_balancer_arn())
            .s("LoadBalancerName", lb.load_balancer_name())
            .s("DNSName", lb.dns_name())
            .s("Scheme", lb.scheme().map(|s| s.as_str()))
            .s("VpcId", lb.vpc_id())
            .s("Type", lb.r#type().map(|t| t.as_str()))
            .build()
    }

    pub fn stages(st: &[aws_sdk_apigateway::types::Stage]) -> Value {
        let st: Vec<Value> = st
            .iter()
            .map(|s| {
                Obj::new()
                    .s("stageName", s.stage_name())
                    .s("deploymentId", s.deployment_id())
                    .opt(
                        "accessLogSettings",
                        s.access_log_settings().map(|a| {
                            Obj::new()
                                .s("format", a.format())
                                .s("destinationArn", a.destination_arn())
                                .build()
                        }),
                    )
                    .build()
            })
            .collect();
        json!({ "item": st })
    }

    /// `aws apigatewayv2 get-stages` prints PascalCase, unlike v1.
    pub fn stage_v2(s: &aws_sdk_apigatewayv2::types::Stage) -> Value {
        Obj::new()
            .s("StageName", s.stage_name())
            .s("DeploymentId", s.deployment_id())
            .opt(
                "AccessLogSettings",
                s.access_log_settings().map(|a| {
                    Obj::new()
                        .s("Format", a.format())
                        .s("DestinationArn", a.destination_arn())
                        .build()
                }),
            )
            .build()
    }

    /// `aws logs describe-delivery-sources` and the two below print camelCase.
    pub fn delivery_source(s: &aws_sdk_cloudwatchlogs::types::DeliverySource) -> Value {
        Obj::new()
            .s("name", s.name())
            .s("arn", s.arn())
            .strs("resourceArns", s.resource_arns())
            .s("service", s.service())
            .s("logType", s.log_type())
            .build()
    }

    pub fn delivery(d: &aws_sdk_cloudwatchlogs::types::Delivery) -> Value {
        Obj::new()
            .s("id", d.id())
            .s("arn", d.arn())
            .s("deliverySourceName", d.delivery_source_name())
            .s("deliveryDestinationArn", d.delivery_destination_arn())
            .s(
                "deliveryDestinationType",
                d.delivery_destination_type().map(|t| t.as_str()),
            )
            .build()
    }

    pub fn delivery_destination(d: &aws_sdk_cloudwatchlogs::types::DeliveryDestination) -> Value {
        Obj::new()
            .s("name", d.name())
            .s("arn", d.arn())
            .s(
                "deliveryDestinationType",
                d.delivery_destination_type().map(|t| t.as_str()),
            )
            .s("outputFormat", d.output_format().map(|f| f.as_str()))
            .opt(
                "deliveryDestinationConfiguration",
                d.delivery_destination_configuration()
                    .map(|c| json!({ "destinationResourceArn": c.destination_resource_arn() })),
            )
            .build()
    }

    pub fn distribution(d: &aws_sdk_cloudfront::types::Distribution) -> Value {
        let logging = d.distribution_config().and_then(|c| c.logging()).map(|l| {
            json!({"Enabled": l.enabled(), "IncludeCookies": l.include_cookies(),
                       "Bucket": l.bucket(), "Prefix": l.prefix()})
        });
        json!({
            "Id": d.id(), "ARN": d.arn(), "Status": d.status(), "DomainName": d.domain_name(),
            "DistributionConfig": Obj::new().opt("Logging", logging).build(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::*;
    use aws_sdk_apigatewayv2::operation::get_apis::{GetApisError, GetApisOutput};
    use aws_sdk_apigatewayv2::types::Api;
    use aws_smithy_types::error::ErrorMetadata;

    type Answer = Result<GetApisOutput, SdkError<GetApisError, HttpResponse>>;

    // The SDK's own result type, as the client gives it.
    #[allow(clippy::result_large_err)]
    fn page(ids: &[&str], next: Option<&str>) -> Answer {
        let items = ids.iter().map(|id| Api::builder().api_id(*id).build());
        Ok(GetApisOutput::builder()
            .set_items(Some(items.collect()))
            .set_next_token(next.map(str::to_string))
            .build())
    }

    /// GetApis answered with `answers` in turn: the API ids read, the failure, and the
    /// `NextToken` of each request.
    fn list(answers: Vec<Answer>) -> (Vec<String>, Option<Failure>, Vec<Option<String>>) {
        let mut answers = VecDeque::from(answers);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        let pages = token_pages(
            move |token| {
                log.lock().unwrap().push(token);
                let answer = answers.pop_front().expect("no request after the last page");
                async move { answer }
            },
            |p| p.next_token(),
        );
        let id = |a: &Api| a.api_id().unwrap_or_default().to_string();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (ids, failed) = rt.block_on(all_pages(pages, "GetApis", |p| p.items(), id));
        let asked = asked.lock().unwrap().clone();
        (ids, failed, asked)
    }

    #[test]
    fn token_pages_reads_every_page_until_the_next_token_is_missing_or_empty() {
        let (ids, failed, asked) =
            list(vec![page(&["a", "b"], Some("t1")), page(&["c"], Some(""))]);
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(failed, None);
        assert_eq!(asked, [None, Some("t1".to_string())]);

        let (ids, _, asked) = list(vec![page(&["a"], Some("t1")), page(&[], None)]);
        assert_eq!((ids.len(), asked.len()), (1, 2));
    }

    #[test]
    fn a_failed_page_ends_the_listing_with_the_items_before_it_and_the_failure() {
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("not allowed")
            .build();
        let status = aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap();
        let raw = HttpResponse::new(status, aws_smithy_types::body::SdkBody::empty());
        let denied = Err(SdkError::service_error(GetApisError::generic(meta), raw));
        let (ids, failed, asked) = list(vec![page(&["a"], Some("t1")), denied]);
        assert_eq!(ids, ["a"]);
        assert_eq!(asked.len(), 2);
        let failed = failed.expect("the second page failed");
        assert_eq!(failed.code, "AccessDeniedException");
        assert_eq!(
            failed.message,
            "An error occurred (AccessDeniedException) when calling the GetApis operation: not allowed"
        );
    }
}
