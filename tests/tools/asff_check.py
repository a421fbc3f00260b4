"""Checks a file of ASFF findings as Security Hub's BatchImportFindings would take them.

Usage: asff_check.py FILE [--import]

FILE must hold a JSON array of findings (what `aws securityhub batch-import-findings --findings
file://FILE` reads). Each batch of at most 100 findings (the API's limit a call) is validated by
botocore's own parameter validator against the `securityhub` service model's BatchImportFindings
input (required members, types, patterns, list sizes); then the documented ASFF rules the model
does not carry are checked (schema version, product ARN, types taxonomy, field length limits,
enumerations, timestamps, unique ids). With --import, the findings are also sent twice to moto's
Security Hub (in process, no network): every call must succeed and the second import must update
the first, not add copies. Prints one line per problem and exits 1 if there is any.
"""

import json
import re
import sys
from datetime import datetime
from pathlib import Path

import botocore.session
from botocore.validate import ParamValidator

NAMESPACES = {
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
}
LABELS = {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
COMPLIANCE = {"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"}
WORKFLOW = {"NEW", "NOTIFIED", "SUPPRESSED", "RESOLVED"}
RECORD_STATE = {"ACTIVE", "ARCHIVED"}
REQUIRED = [
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
]
# Documented maximum lengths, in characters.
LIMITS = {
    "Id": 512,
    "GeneratorId": 512,
    "Title": 256,
    "Description": 1024,
}
PRODUCT_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:securityhub:([a-z0-9-]+):(\d{12}):product/(\d{12})/default$")
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d+$")


def timestamp(v):
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except (AttributeError, ValueError):
        return False


def check(findings):
    errors = []
    if not isinstance(findings, list):
        return ["not a JSON array of findings (what --findings file:// takes)"]
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    for start in range(0, len(findings), 100):
        report = ParamValidator().validate({"Findings": findings[start : start + 100]}, shape)
        if report.has_errors():
            errors.append(f"batch from [{start}]: botocore: {report.generate_report()}")
    ids = set()
    for i, f in enumerate(findings):
        at = f"[{i}]"
        if not isinstance(f, dict):
            errors.append(f"{at}: not an object")
            continue
        for k in REQUIRED:
            if f.get(k) in (None, "", [], {}):
                errors.append(f"{at}: required {k} is missing or empty")
        if f.get("SchemaVersion") != "2018-10-08":
            errors.append(f"{at}: SchemaVersion is not 2018-10-08")
        for k, n in LIMITS.items():
            if isinstance(f.get(k), str) and len(f[k]) > n:
                errors.append(f"{at}: {k} is longer than {n} characters")
        if f.get("Id") in ids:
            errors.append(f"{at}: Id {f.get('Id')!r} is not unique")
        ids.add(f.get("Id"))
        m = PRODUCT_ARN.match(str(f.get("ProductArn")))
        if not m:
            errors.append(f"{at}: ProductArn {f.get('ProductArn')!r} is not arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default")
        elif not (m.group(3) == m.group(4) == f.get("AwsAccountId")) or not REGION.match(m.group(2)):
            errors.append(f"{at}: ProductArn's region or account does not match")
        types = f.get("Types") or []
        if len(types) > 50:
            errors.append(f"{at}: more than 50 Types")
        for t in types:
            parts = str(t).split("/")
            if not 1 <= len(parts) <= 3 or parts[0] not in NAMESPACES or not all(parts):
                errors.append(f"{at}: type {t!r} is not namespace/category/classifier")
        for k in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
            if k in f and not timestamp(f[k]):
                errors.append(f"{at}: {k} {f[k]!r} is not an RFC 3339 timestamp")
        if (f.get("Severity") or {}).get("Label") not in LABELS:
            errors.append(f"{at}: Severity.Label is not one of {sorted(LABELS)}")
        if "Compliance" in f and f["Compliance"].get("Status") not in COMPLIANCE:
            errors.append(f"{at}: Compliance.Status is not one of {sorted(COMPLIANCE)}")
        if len((f.get("Compliance") or {}).get("RelatedRequirements", [])) > 32:
            errors.append(f"{at}: more than 32 Compliance.RelatedRequirements")
        if "Workflow" in f and f["Workflow"].get("Status") not in WORKFLOW:
            errors.append(f"{at}: Workflow.Status is not one of {sorted(WORKFLOW)}")
        if f.get("RecordState", "ACTIVE") not in RECORD_STATE:
            errors.append(f"{at}: RecordState is not one of {sorted(RECORD_STATE)}")
        text = (((f.get("Remediation") or {}).get("Recommendation")) or {}).get("Text", "")
        if len(text) > 512:
            errors.append(f"{at}: Remediation.Recommendation.Text is longer than 512 characters")
        if len((f.get("Note") or {}).get("Text", "")) > 512:
            errors.append(f"{at}: Note.Text is longer than 512 characters")
        fields = f.get("ProductFields") or {}
        if len(fields) > 50 or any(len(k) > 128 or len(str(v)) > 2048 for k, v in fields.items()):
            errors.append(f"{at}: ProductFields over 50 entries, 128-character keys or 2048-character values")
        resources = f.get("Resources") or []
        if not 1 <= len(resources) <= 32:
            errors.append(f"{at}: Resources must hold 1 to 32 resources")
        for j, r in enumerate(resources):
            if not r.get("Type") or not r.get("Id"):
                errors.append(f"{at}.Resources[{j}]: Type and Id are required")
            if "Region" in r and not REGION.match(r["Region"]):
                errors.append(f"{at}.Resources[{j}]: Region {r['Region']!r} is not a region")
    return errors


def import_twice(findings):
    import boto3
    from moto import mock_aws

    errors = []
    with mock_aws():
        hub = boto3.client("securityhub", region_name="us-east-1")
        for round in (1, 2):
            for start in range(0, len(findings), 100):
                out = hub.batch_import_findings(Findings=findings[start : start + 100])
                if out["FailedCount"]:
                    errors.append(f"import {round}: {out['FailedFindings']}")
        held = []
        for page in hub.get_paginator("get_findings").paginate():
            held.extend(page["Findings"])
        if len(held) != len(findings):
            errors.append(f"Security Hub holds {len(held)} findings after importing {len(findings)} twice")
    return errors


def main():
    findings = json.loads(Path(sys.argv[1]).read_text())
    errors = check(findings)
    if not errors and "--import" in sys.argv[2:]:
        errors = import_twice(findings)
    for e in errors:
        print(e)
    if errors:
        return 1
    print(f"{len(findings)} ASFF findings valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
