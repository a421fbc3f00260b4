//! `CREATE EXTERNAL TABLE` for a trail's bucket, with partition projection (account, region
//! and day), in the single-account and the organization-trail key layouts.

use super::table::{hive_type, COLUMNS};

/// What the table reads.
#[derive(Debug, Clone)]
pub struct DdlSpec {
    /// `NAME` or `DATABASE.NAME`.
    pub table: String,
    pub bucket: String,
    /// The trail's S3 key prefix (without `AWSLogs/`), if it has one.
    pub prefix: Option<String>,
    /// An organization trail's organization id (`o-...`): keys are
    /// `AWSLogs/o-.../ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`.
    pub organization: Option<String>,
    /// The accounts to project (at least one).
    pub accounts: Vec<String>,
    /// The regions to project.
    pub regions: Vec<String>,
    /// First day to project, `YYYY-MM-DD`.
    pub start: String,
}

/// The commercial regions CloudTrail delivers from, projected when `--regions` is not given.
pub const DEFAULT_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {value:?}: {expected}")]
pub struct DdlError {
    pub flag: &'static str,
    pub value: String,
    pub expected: &'static str,
}

fn check(
    ok: bool,
    flag: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<(), DdlError> {
    if ok {
        Ok(())
    } else {
        Err(DdlError {
            flag,
            value: value.to_string(),
            expected,
        })
    }
}

/// The statement, or what is wrong with the spec. Every value is checked against its AWS
/// form, so nothing a user gives can end a quoted string in the DDL.
pub fn create_table(spec: &DdlSpec) -> Result<String, DdlError> {
    check(
        super::valid_table_name(&spec.table),
        "--table",
        &spec.table,
        "NAME or DATABASE.NAME of letters, digits and '_'",
    )?;
    let b = &spec.bucket;
    check(
        (3..=63).contains(&b.len())
            && b.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && b.starts_with(|c: char| c.is_ascii_alphanumeric())
            && b.ends_with(|c: char| c.is_ascii_alphanumeric()),
        "--bucket",
        b,
        "an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')",
    )?;
    let prefix = spec
        .prefix
        .as_deref()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty());
    if let Some(p) = prefix {
        check(
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!-_.*()/".contains(c))
                && !p.contains("//"),
            "--prefix",
            p,
            "an S3 key prefix of letters, digits and !-_.*()/",
        )?;
    }
    if let Some(o) = &spec.organization {
        check(
            o.len() >= 12
                && o.len() <= 34
                && o.starts_with("o-")
                && o[2..]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "--organization",
            o,
            "an organization id: o- and 10-32 lower-case letters or digits",
        )?;
    }
    check(
        !spec.accounts.is_empty(),
        "--accounts",
        "",
        "at least one 12-digit account id (partition projection lists them)",
    )?;
    for a in &spec.accounts {
        check(
            a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()),
            "--accounts",
            a,
            "12-digit account ids",
        )?;
    }
    for r in &spec.regions {
        let parts: Vec<&str> = r.split('-').collect();
        check(
            parts.len() >= 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
                && r.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "--regions",
            r,
            "region names such as us-east-1",
        )?;
    }
    let start =
        chrono::NaiveDate::parse_from_str(&spec.start, "%Y-%m-%d").map_err(|_| DdlError {
            flag: "--start",
            value: spec.start.clone(),
            expected: "a date, YYYY-MM-DD",
        })?;

    let mut base = format!("s3://{b}/");
    if let Some(p) = prefix {
        base.push_str(p);
        base.push('/');
    }
    base.push_str("AWSLogs/");
    if let Some(o) = &spec.organization {
        base.push_str(o);
        base.push('/');
    }
    let regions: Vec<&str> = if spec.regions.is_empty() {
        DEFAULT_REGIONS.to_vec()
    } else {
        spec.regions.iter().map(String::as_str).collect()
    };

    let columns: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("    {} {}", c.name, hive_type(c.ty)))
        .collect();
    let properties = [
        ("projection.enabled", "true".to_string()),
        ("projection.account.type", "enum".into()),
        ("projection.account.values", spec.accounts.join(",")),
        ("projection.region.type", "enum".into()),
        ("projection.region.values", regions.join(",")),
        ("projection.timestamp.type", "date".into()),
        ("projection.timestamp.format", "yyyy/MM/dd".into()),
        (
            "projection.timestamp.range",
            format!("{},NOW", start.format("%Y/%m/%d")),
        ),
        ("projection.timestamp.interval", "1".into()),
        ("projection.timestamp.interval.unit", "DAYS".into()),
        (
            "storage.location.template",
            format!("{base}${{account}}/CloudTrail/${{region}}/${{timestamp}}"),
        ),
    ];
    let properties: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("    '{k}' = '{v}'"))
        .collect();
    Ok(format!(
        "CREATE EXTERNAL TABLE {table} (\n{columns}\n)\n\
         COMMENT 'CloudTrail logs of {location}, made by trailaudit athena ddl'\n\
         PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)\n\
         ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n\
         STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n\
         OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n\
         LOCATION '{location}'\n\
         TBLPROPERTIES (\n{properties}\n);\n",
        table = spec.table,
        columns = columns.join(",\n"),
        location = base,
        properties = properties.join(",\n"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DdlSpec {
        DdlSpec {
            table: "cloudtrail_logs".into(),
            bucket: "trail-bucket".into(),
            prefix: Some("org/".into()),
            organization: Some("o-a1b2c3d4e5".into()),
            accounts: vec!["111122223333".into()],
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            start: "2025-01-01".into(),
        }
    }

    #[test]
    fn organization_layout() {
        let ddl = create_table(&spec()).unwrap();
        assert!(ddl.contains(
            "'storage.location.template' = 's3://trail-bucket/org/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail/${region}/${timestamp}'"
        ), "{ddl}");
        assert!(ddl.contains("'projection.timestamp.range' = '2025/01/01,NOW'"));
        assert!(ddl.contains("LOCATION 's3://trail-bucket/org/AWSLogs/o-a1b2c3d4e5/'"));
    }

    #[test]
    fn bad_values_are_refused() {
        for (f, bad) in [
            ("bucket", "Bad'Bucket"),
            ("organization", "o-x'"),
            ("account", "1234"),
            ("region", "us east"),
            ("start", "2025/01/01"),
            ("prefix", "a'b"),
        ] {
            let mut s = spec();
            match f {
                "bucket" => s.bucket = bad.into(),
                "organization" => s.organization = Some(bad.into()),
                "account" => s.accounts = vec![bad.into()],
                "region" => s.regions = vec![bad.into()],
                "start" => s.start = bad.into(),
                _ => s.prefix = Some(bad.into()),
            }
            assert!(create_table(&s).is_err(), "{f} {bad}");
        }
    }
}
