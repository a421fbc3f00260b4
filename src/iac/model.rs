//! What a Terraform root module or a CloudFormation template declares of the CIS monitoring
//! chain, with where each value is written. A value the templates leave to apply time is an
//! [`Unresolved`] at the place it is written, never a guess.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where something is written: file, 1-based line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A message about the source at a place: a value that cannot be resolved before apply, or a
/// filter pattern AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Diagnostic {
    #[serde(flatten)]
    pub at: Location,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// A value as resolved from the source, or why it cannot be.
pub type Resolved<T> = Result<T, Diagnostic>;

/// One unit of deployment: a Terraform root module (with its local modules) or one
/// CloudFormation template. It stands for the account the chain is judged in.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    /// The directory or template, as named on the command line.
    pub label: String,
    pub trails: Vec<Trail>,
    pub filters: Vec<MetricFilter>,
    pub alarms: Vec<Alarm>,
    pub topics: Vec<Topic>,
    pub subscriptions: Vec<Subscription>,
    /// Values elsewhere in the templates that could not be resolved (a resource's count, a
    /// module's source), reported whatever the chain needs.
    pub unresolved: Vec<Diagnostic>,
}

#[derive(Debug, Clone)]
pub struct Trail {
    pub name: String,
    pub at: Location,
    pub multi_region: Resolved<bool>,
    pub logging: Resolved<bool>,
    /// The CloudWatch Logs group's name, when the trail delivers to one.
    pub log_group: Option<Resolved<String>>,
}

#[derive(Debug, Clone)]
pub struct MetricFilter {
    pub name: String,
    /// The resource.
    pub at: Location,
    pub pattern: Resolved<String>,
    /// The `pattern` attribute / `FilterPattern` property.
    pub pattern_at: Location,
    pub log_group: Resolved<String>,
    pub metric: Resolved<String>,
    pub namespace: Resolved<String>,
}

#[derive(Debug, Clone)]
pub struct Alarm {
    pub name: String,
    pub at: Location,
    pub metric: Resolved<String>,
    pub namespace: Resolved<String>,
    pub actions_enabled: Resolved<bool>,
    /// ARNs, as the alarm names them.
    pub actions: Vec<Resolved<String>>,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub at: Location,
    /// Subscriptions declared inside the topic (CloudFormation's `Subscription`).
    pub inline_subscriptions: usize,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    /// The topic's ARN.
    pub topic: Resolved<String>,
    pub at: Location,
}

/// The region and account of every ARN the templates make: known only at apply time, and the
/// same for every resource of one stack.
pub const REGION: &str = "apply-time";

/// The ARN of a log group or topic of `stack` (its account is the stack's label).
pub fn log_group_arn(account: &str, name: &str) -> String {
    format!("arn:aws:logs:{REGION}:{account}:log-group:{name}")
}

pub fn topic_arn(account: &str, name: &str) -> String {
    format!("arn:aws:sns:{REGION}:{account}:{name}")
}

pub fn trail_arn(account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{REGION}:{account}:trail/{name}")
}

/// The ARN placeholders account: the stack label with the characters an ARN splits on replaced.
pub fn account_of(label: &str) -> String {
    label.replace(':', "_")
}

/// The name in a log group ARN (`arn:aws:logs:r:a:log-group:NAME[:*]`), else the text itself.
pub fn log_group_name(text: &str) -> String {
    match text.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "logs", _, _, "log-group", name, ..] => name.to_string(),
        _ => text.to_string(),
    }
}

/// The topic name in an SNS ARN; `None` for anything else (an Auto Scaling or SSM action).
pub fn topic_name(arn: &str) -> Option<String> {
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sns", _, _, name] => Some(name.to_string()),
        _ => None,
    }
}

impl Location {
    pub fn new(file: &std::path::Path, line: u32, column: u32) -> Location {
        Location {
            file: file.display().to_string(),
            line,
            column,
        }
    }

    pub fn diag(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            at: self.clone(),
            message: message.into(),
        }
    }
}

/// A template file that was read, or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateFile {
    pub path: PathBuf,
    /// `terraform` or `cloudformation`.
    pub kind: String,
    /// Why it could not be read, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
