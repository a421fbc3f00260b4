#!/usr/bin/env bash
# Collects CloudTrail configuration evidence with the aws CLI, in the layout `trailaudit audit
# --config DIR` reads: DIR/<account>/<region>/<service>/<file>.json (S3 and CloudFront under
# region `global`).
#
#   scripts/collect-config.sh DIR [REGION...]      (default: every enabled region)
#
# Needs the aws CLI v2 and jq, and read-only permissions (the README lists them). Run it once per
# account (with that account's credentials). A call that fails is recorded next to where its output
# would be, as <file>.error.json, so `audit` reports the gap instead of missing it.
set -euo pipefail
out=${1:?usage: collect-config.sh DIR [REGION...]}
shift
if [ $# -gt 0 ]; then regions=("$@"); else
  read -r -a regions <<< "$(aws ec2 describe-regions --query 'Regions[].RegionName' --output text)"
fi
account=$(aws sts get-caller-identity --query Account --output text)

# save FILE COMMAND...: the command's JSON output, or a collection-error record.
save() {
  local file=$1; shift
  mkdir -p "$(dirname "$file")"
  if "$@" --output json > "$file.tmp" 2> "$file.err"; then
    # Some commands print nothing for "not configured" (get-bucket-logging): that is `{}`.
    [ -s "$file.tmp" ] || echo '{}' > "$file.tmp"
    mv "$file.tmp" "$file"
  else
    local code
    code=$(grep -o '(\w*)' "$file.err" | head -n 1 | tr -d '()')
    jq -n --arg op "$*" --arg code "${code:-Error}" --rawfile msg "$file.err" \
      '{trailauditCollectionError: {operation: $op, code: $code, message: $msg}}' > "${file%.json}.error.json"
    rm -f "$file.tmp"
  fi
  rm -f "$file.err"
}

save "$out/$account/global/sts/caller-identity.json" aws sts get-caller-identity
for region in "${regions[@]}"; do
  d="$out/$account/$region"
  save "$d/cloudtrail/describe-trails.json" aws cloudtrail describe-trails --include-shadow-trails --region "$region"
  trails=$(jq -r --arg r "$region" '.trailList[]? | select(.HomeRegion == $r) | .TrailARN' "$d/cloudtrail/describe-trails.json" 2>/dev/null || true)
  for arn in $trails; do
    name=${arn##*/}
    save "$d/cloudtrail/trail-status/$name.json" aws cloudtrail get-trail-status --name "$arn" --region "$region"
    save "$d/cloudtrail/event-selectors/$name.json" aws cloudtrail get-event-selectors --trail-name "$arn" --region "$region"
    save "$d/cloudtrail/insight-selectors/$name.json" aws cloudtrail get-insight-selectors --trail-name "$arn" --region "$region"
  done
  for key in $(jq -r --arg r "$region" '.trailList[]? | select(.HomeRegion == $r) | .KmsKeyId // empty' "$d/cloudtrail/describe-trails.json" 2>/dev/null || true); do
    save "$d/kms/key-rotation/${key##*/}.json" aws kms get-key-rotation-status --key-id "$key" --region "$region"
  done
  save "$d/logs/describe-metric-filters.json" aws logs describe-metric-filters --region "$region"
  save "$d/cloudwatch/describe-alarms.json" aws cloudwatch describe-alarms --region "$region"
  topics=$(jq -r '.MetricAlarms[]?.AlarmActions[]? | select(startswith("arn:aws:sns:"))' "$d/cloudwatch/describe-alarms.json" 2>/dev/null | sort -u || true)
  for topic in $topics; do
    topic_region=$(cut -d: -f4 <<< "$topic")
    save "$d/sns/subscriptions/${topic##*:}.json" aws sns list-subscriptions-by-topic --topic-arn "$topic" --region "$topic_region"
  done
  # The rest of the logging section: AWS Config, VPC flow logs, Security Hub (InvalidAccessException
  # means "not enabled"), and the access logging of load balancers and API Gateway stages (REST
  # APIs, then HTTP and WebSocket APIs).
  save "$d/config/describe-configuration-recorders.json" aws configservice describe-configuration-recorders --region "$region"
  save "$d/config/describe-configuration-recorder-status.json" aws configservice describe-configuration-recorder-status --region "$region"
  save "$d/ec2/describe-vpcs.json" aws ec2 describe-vpcs --region "$region"
  save "$d/ec2/describe-flow-logs.json" aws ec2 describe-flow-logs --region "$region"
  save "$d/securityhub/describe-hub.json" aws securityhub describe-hub --region "$region"
  save "$d/elbv2/describe-load-balancers.json" aws elbv2 describe-load-balancers --region "$region"
  for lb in $(jq -r '.LoadBalancers[]?.LoadBalancerArn' "$d/elbv2/describe-load-balancers.json" 2>/dev/null || true); do
    save "$d/elbv2/load-balancer-attributes/$(cut -d/ -f3 <<< "$lb").json" aws elbv2 describe-load-balancer-attributes --load-balancer-arn "$lb" --region "$region"
  done
  save "$d/apigateway/get-rest-apis.json" aws apigateway get-rest-apis --region "$region"
  for api in $(jq -r '.items[]?.id' "$d/apigateway/get-rest-apis.json" 2>/dev/null || true); do
    save "$d/apigateway/stages/$api.json" aws apigateway get-stages --rest-api-id "$api" --region "$region"
  done
  save "$d/apigatewayv2/get-apis.json" aws apigatewayv2 get-apis --region "$region"
  for api in $(jq -r '.Items[]?.ApiId' "$d/apigatewayv2/get-apis.json" 2>/dev/null || true); do
    save "$d/apigatewayv2/stages/$api.json" aws apigatewayv2 get-stages --api-id "$api" --region "$region"
  done
done
# CloudFront is global: once per account.
g="$out/$account/global/cloudfront"
save "$g/list-distributions.json" aws cloudfront list-distributions
for id in $(jq -r '.DistributionList.Items[]?.Id' "$g/list-distributions.json" 2>/dev/null || true); do
  save "$g/distributions/$id.json" aws cloudfront get-distribution --id "$id"
done
# Its standard logging v2: CloudWatch Logs deliveries, made in us-east-1, kept beside it.
l="$out/$account/global/logs"
save "$l/describe-delivery-sources.json" aws logs describe-delivery-sources --region us-east-1
save "$l/describe-deliveries.json" aws logs describe-deliveries --region us-east-1
save "$l/describe-delivery-destinations.json" aws logs describe-delivery-destinations --region us-east-1
buckets=$(cat "$out/$account"/*/cloudtrail/describe-trails.json 2>/dev/null | jq -r '.trailList[]?.S3BucketName // empty' | sort -u)
for bucket in $buckets; do
  b="$out/$account/global/s3/$bucket"
  save "$b/bucket-policy.json" aws s3api get-bucket-policy --bucket "$bucket"
  save "$b/public-access-block.json" aws s3api get-public-access-block --bucket "$bucket"
  save "$b/bucket-acl.json" aws s3api get-bucket-acl --bucket "$bucket"
  save "$b/bucket-logging.json" aws s3api get-bucket-logging --bucket "$bucket"
done
echo "wrote $(find "$out/$account" -type f | wc -l) files under $out/$account" >&2
