//! The EventFrame schema: one row per CloudTrail record.
//!
//! Typed columns are named after the record path they hold (`userIdentity.type`), so a filter
//! pattern selector `$.userIdentity.type` names its column directly. Everything a column does not
//! hold stays reachable through [`REST`], the record's compact JSON minus the fields moved into
//! columns (a nested field leaves its object, which stays, so the record can be rebuilt: see
//! `record::insert_nested`). A column cell is null when the field is absent *or* holds a value the column's type
//! cannot represent; in the second case the field's bit is set in [`RAW_FIELDS`] and the original
//! value is kept in [`REST`], so no value is ever lost or defaulted.

/// How a field's JSON value maps into its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON string.
    Str,
    /// A JSON boolean.
    Bool,
    /// A JSON string holding an RFC 3339 time; stored as a UTC `Datetime[ms]`.
    Time,
}

/// One typed column of the EventFrame.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Column name: the record path joined with dots.
    pub name: &'static str,
    /// Path of keys from the record's root.
    pub path: &'static [&'static str],
    pub kind: Kind,
    /// Bit in [`RAW_FIELDS`]; also the field's position in [`FIELDS`].
    pub bit: u32,
    pub doc: &'static str,
}

impl Field {
    /// Top-level fields are removed from [`REST`] when the column holds them exactly.
    pub fn is_top_level(&self) -> bool {
        self.path.len() == 1
    }
}

const fn f(
    bit: u32,
    name: &'static str,
    path: &'static [&'static str],
    kind: Kind,
    doc: &'static str,
) -> Field {
    Field {
        name,
        path,
        kind,
        bit,
        doc,
    }
}

/// Every typed column, in frame order. A field's position is its bit in [`RAW_FIELDS`]; its
/// column name is its path joined with dots.
pub const FIELDS: &[Field] = &[
    f(
        0,
        "eventTime",
        &["eventTime"],
        Kind::Time,
        "When the request was made, UTC.",
    ),
    f(
        1,
        "eventVersion",
        &["eventVersion"],
        Kind::Str,
        "Log record format version (1.0x to 1.1x).",
    ),
    f(
        2,
        "eventSource",
        &["eventSource"],
        Kind::Str,
        "Service the request was made to, e.g. `iam.amazonaws.com`.",
    ),
    f(
        3,
        "eventName",
        &["eventName"],
        Kind::Str,
        "The API action, e.g. `StopLogging`.",
    ),
    f(
        4,
        "awsRegion",
        &["awsRegion"],
        Kind::Str,
        "Region the request was made to.",
    ),
    f(
        5,
        "sourceIPAddress",
        &["sourceIPAddress"],
        Kind::Str,
        "Caller IP address, or the calling service's name.",
    ),
    f(
        6,
        "userAgent",
        &["userAgent"],
        Kind::Str,
        "Caller's user agent (attacker-controlled text).",
    ),
    f(
        7,
        "eventType",
        &["eventType"],
        Kind::Str,
        "`AwsApiCall`, `AwsServiceEvent`, `AwsConsoleSignIn`, ...",
    ),
    f(
        8,
        "eventCategory",
        &["eventCategory"],
        Kind::Str,
        "`Management`, `Data`, `Insight`, `NetworkActivity`.",
    ),
    f(
        9,
        "errorCode",
        &["errorCode"],
        Kind::Str,
        "Error code when the request failed, e.g. `AccessDenied`.",
    ),
    f(
        10,
        "errorMessage",
        &["errorMessage"],
        Kind::Str,
        "Error message when the request failed.",
    ),
    f(
        11,
        "recipientAccountId",
        &["recipientAccountId"],
        Kind::Str,
        "Account that received the event.",
    ),
    f(
        12,
        "eventID",
        &["eventID"],
        Kind::Str,
        "CloudTrail's unique id of the event.",
    ),
    f(
        13,
        "requestID",
        &["requestID"],
        Kind::Str,
        "The service's request id.",
    ),
    f(
        14,
        "readOnly",
        &["readOnly"],
        Kind::Bool,
        "Whether the operation only reads.",
    ),
    f(
        15,
        "managementEvent",
        &["managementEvent"],
        Kind::Bool,
        "Whether it is a management event.",
    ),
    f(
        16,
        "userIdentity.type",
        &["userIdentity", "type"],
        Kind::Str,
        "`Root`, `IAMUser`, `AssumedRole`, `FederatedUser`, `AWSService`, ...",
    ),
    f(
        17,
        "userIdentity.principalId",
        &["userIdentity", "principalId"],
        Kind::Str,
        "Principal id of the caller.",
    ),
    f(
        18,
        "userIdentity.arn",
        &["userIdentity", "arn"],
        Kind::Str,
        "ARN of the caller.",
    ),
    f(
        19,
        "userIdentity.accountId",
        &["userIdentity", "accountId"],
        Kind::Str,
        "Account that owns the caller's identity.",
    ),
    f(
        20,
        "userIdentity.userName",
        &["userIdentity", "userName"],
        Kind::Str,
        "User name of the caller, where one exists.",
    ),
    f(
        21,
        "userIdentity.invokedBy",
        &["userIdentity", "invokedBy"],
        Kind::Str,
        "AWS service that made the request on the caller's behalf.",
    ),
    f(
        22,
        "userIdentity.accessKeyId",
        &["userIdentity", "accessKeyId"],
        Kind::Str,
        "Access key used to sign the request.",
    ),
    f(
        23,
        "userIdentity.sessionContext.sessionIssuer.arn",
        &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
        Kind::Str,
        "Role or user that issued the temporary credentials.",
    ),
    f(
        24,
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        &[
            "userIdentity",
            "sessionContext",
            "attributes",
            "mfaAuthenticated",
        ],
        Kind::Str,
        "`true` / `false` as a string, as CloudTrail writes it.",
    ),
    f(
        25,
        "additionalEventData.MFAUsed",
        &["additionalEventData", "MFAUsed"],
        Kind::Str,
        "Console sign-in: `Yes` / `No` (a JSON boolean lands in `_rest`).",
    ),
    f(
        26,
        "responseElements.ConsoleLogin",
        &["responseElements", "ConsoleLogin"],
        Kind::Str,
        "Console sign-in result: `Success` / `Failure`.",
    ),
];

/// Index of the source file in [`crate::events::EventFrame::files`] (UInt32).
pub const FILE_ID: &str = "_file_id";
/// Index of the record in its source file, from 0, in file order (UInt32).
pub const RECORD_INDEX: &str = "_record_index";
/// Where the record's text is in its file's content (decompressed, when the file is gzip): the
/// byte offset (UInt64), length in bytes (UInt32) and line from 1 (UInt32) of the span
/// [`crate::events::shape::Span`] describes; null when not known exactly.
pub const RECORD_OFFSET: &str = "_record_offset";
pub const RECORD_LENGTH: &str = "_record_length";
pub const RECORD_LINE: &str = "_record_line";
/// The record's JSON on one line, without the fields that columns hold exactly (String).
pub const REST: &str = "_rest";
/// Bit `i` set: the column of `FIELDS[i]` does not hold the record's own JSON value exactly: the
/// field has another JSON type (its value is then in `_rest`), or `eventTime` is not in
/// CloudTrail's canonical `YYYY-MM-DDTHH:MM:SSZ` form (kept in `_rest`) or was absent and taken
/// from `@timestamp`. Exact evaluation of such a field reads `_rest` (UInt32).
pub const RAW_FIELDS: &str = "_raw_fields";

/// The field named `name`, if it has a column.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// Column for a record path, if one holds it.
pub fn field_for_path(path: &[&str]) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.path == path)
}

/// Markdown table of the schema, for `--help` style documentation and the README.
pub fn markdown_table() -> String {
    let mut out = String::from("| column | type | meaning |\n| --- | --- | --- |\n");
    for f in FIELDS {
        let ty = match f.kind {
            Kind::Str => "String",
            Kind::Bool => "Boolean",
            Kind::Time => "Datetime[ms, UTC]",
        };
        out.push_str(&format!("| `{}` | {} | {} |\n", f.name, ty, f.doc));
    }
    for (name, ty, doc) in [
        (FILE_ID, "UInt32", "Source file: index into the frame's file table."),
        (RECORD_INDEX, "UInt32", "Record's index in its source file, from 0."),
        (RECORD_OFFSET, "UInt64", "Byte offset of the record's text in its file's (decompressed) content; null when not known."),
        (RECORD_LENGTH, "UInt32", "Length in bytes of the record's text there."),
        (RECORD_LINE, "UInt32", "Line (from 1) the record's text starts on there."),
        (REST, "String", "The record as compact JSON, less the fields held exactly by columns."),
        (RAW_FIELDS, "UInt32", "Bit i set: column i's field is present with another JSON type; its value is in `_rest`."),
    ] {
        out.push_str(&format!("| `{name}` | {ty} | {doc} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_fit_and_match_positions() {
        assert!(FIELDS.len() <= 32);
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(f.bit as usize, i);
            assert_eq!(f.name, f.path.join("."));
        }
    }

    #[test]
    fn lookup_by_path() {
        let f = field_for_path(&["userIdentity", "type"]).unwrap();
        assert_eq!(f.name, "userIdentity.type");
        assert!(field_for_path(&["userIdentity"]).is_none());
    }
}
