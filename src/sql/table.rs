//! The columns and types of AWS's Athena table for CloudTrail logs (the partition-projection
//! DDL of the Athena user guide; summarised in the project's athena-cloudtrail-table reference).
//!
//! Each field is keyed by the record's own JSON key, case and all: a filter pattern's keys are
//! case-sensitive, the table's names are the lower-cased ones.

/// What a column or struct field holds.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A JSON string (SQL NULL: the key is absent or null).
    Str,
    /// A JSON boolean, kept by the SerDe as the text `'true'` / `'false'` (`readonly`).
    BoolText,
    /// A JSON value kept as its JSON text (`requestparameters`, ...).
    Json,
    Struct(&'static [Field]),
    /// `array<struct<...>>`.
    ArrayOf(&'static [Field]),
    /// `map<string,string>`.
    Map,
}

#[derive(Debug)]
pub struct Field {
    /// The key in a CloudTrail record.
    pub key: &'static str,
    /// The column or struct field name in the table.
    pub name: &'static str,
    pub ty: Ty,
}

const fn f(key: &'static str, name: &'static str, ty: Ty) -> Field {
    Field { key, name, ty }
}

const ON_BEHALF_OF: &[Field] = &[
    f("userId", "userid", Ty::Str),
    f("identityStoreArn", "identitystorearn", Ty::Str),
];

const ATTRIBUTES: &[Field] = &[
    f("mfaAuthenticated", "mfaauthenticated", Ty::Str),
    f("creationDate", "creationdate", Ty::Str),
];

const SESSION_ISSUER: &[Field] = &[
    f("type", "type", Ty::Str),
    f("principalId", "principalid", Ty::Str),
    f("arn", "arn", Ty::Str),
    f("accountId", "accountid", Ty::Str),
    f("userName", "username", Ty::Str),
];

const WEB_ID_FEDERATION_DATA: &[Field] = &[
    f("federatedProvider", "federatedprovider", Ty::Str),
    f("attributes", "attributes", Ty::Map),
];

const SESSION_CONTEXT: &[Field] = &[
    f("attributes", "attributes", Ty::Struct(ATTRIBUTES)),
    f("sessionIssuer", "sessionissuer", Ty::Struct(SESSION_ISSUER)),
    f("ec2RoleDelivery", "ec2roledelivery", Ty::Str),
    f(
        "webIdFederationData",
        "webidfederationdata",
        Ty::Struct(WEB_ID_FEDERATION_DATA),
    ),
];

const USER_IDENTITY: &[Field] = &[
    f("type", "type", Ty::Str),
    f("principalId", "principalid", Ty::Str),
    f("arn", "arn", Ty::Str),
    f("accountId", "accountid", Ty::Str),
    f("invokedBy", "invokedby", Ty::Str),
    f("accessKeyId", "accesskeyid", Ty::Str),
    f("userName", "username", Ty::Str),
    f("onBehalfOf", "onbehalfof", Ty::Struct(ON_BEHALF_OF)),
    f(
        "sessionContext",
        "sessioncontext",
        Ty::Struct(SESSION_CONTEXT),
    ),
];

const RESOURCE: &[Field] = &[
    f("ARN", "arn", Ty::Str),
    f("accountId", "accountid", Ty::Str),
    f("type", "type", Ty::Str),
];

const TLS_DETAILS: &[Field] = &[
    f("tlsVersion", "tlsversion", Ty::Str),
    f("cipherSuite", "ciphersuite", Ty::Str),
    f(
        "clientProvidedHostHeader",
        "clientprovidedhostheader",
        Ty::Str,
    ),
];

/// The table's columns, in the DDL's order (the `timestamp` partition is not a record field).
pub const COLUMNS: &[Field] = &[
    f("eventVersion", "eventversion", Ty::Str),
    f("userIdentity", "useridentity", Ty::Struct(USER_IDENTITY)),
    f("eventTime", "eventtime", Ty::Str),
    f("eventSource", "eventsource", Ty::Str),
    f("eventName", "eventname", Ty::Str),
    f("awsRegion", "awsregion", Ty::Str),
    f("sourceIPAddress", "sourceipaddress", Ty::Str),
    f("userAgent", "useragent", Ty::Str),
    f("errorCode", "errorcode", Ty::Str),
    f("errorMessage", "errormessage", Ty::Str),
    f("requestParameters", "requestparameters", Ty::Json),
    f("responseElements", "responseelements", Ty::Json),
    f("additionalEventData", "additionaleventdata", Ty::Json),
    f("requestID", "requestid", Ty::Str),
    f("eventID", "eventid", Ty::Str),
    f("readOnly", "readonly", Ty::BoolText),
    f("resources", "resources", Ty::ArrayOf(RESOURCE)),
    f("eventType", "eventtype", Ty::Str),
    f("apiVersion", "apiversion", Ty::Str),
    f("recipientAccountId", "recipientaccountid", Ty::Str),
    f("serviceEventDetails", "serviceeventdetails", Ty::Json),
    f("sharedEventID", "sharedeventid", Ty::Str),
    f("vpcEndpointId", "vpcendpointid", Ty::Str),
    f("eventCategory", "eventcategory", Ty::Str),
    f("tlsDetails", "tlsdetails", Ty::Struct(TLS_DETAILS)),
];

/// The partition column every table of `athena ddl` has (the log file's day, `yyyy/MM/dd`).
pub const TIMESTAMP_PARTITION: &str = "timestamp";

/// The column whose name is `name` (the table's lower-case name).
pub fn column(name: &str) -> Option<&'static Field> {
    COLUMNS.iter().find(|c| c.name == name)
}

/// The Hive/Athena type of a field, for the DDL.
pub fn hive_type(ty: Ty) -> String {
    fn fields(fs: &[Field]) -> String {
        fs.iter()
            .map(|f| format!("{}: {}", f.name, hive_type(f.ty)))
            .collect::<Vec<_>>()
            .join(", ")
    }
    match ty {
        Ty::Str | Ty::BoolText | Ty::Json => "STRING".into(),
        Ty::Struct(fs) => format!("STRUCT<{}>", fields(fs)),
        Ty::ArrayOf(fs) => format!("ARRAY<STRUCT<{}>>", fields(fs)),
        Ty::Map => "MAP<STRING, STRING>".into(),
    }
}
