//! The CloudWatch Logs filter pattern language, evaluated exactly as AWS does (see the
//! filter-patterns reference): parsing with AWS's limits and caret errors, a reference evaluator
//! over one JSON record, and a compiler to a polars expression over the whole EventFrame.

pub mod ast;
pub mod eval;
pub mod parse;
pub mod prefilter;
pub mod to_polars;

pub use ast::Pattern;
pub use parse::ParseError;

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, ParseError> {
        parse::parse(text)
    }

    /// Reference evaluation against one CloudTrail record.
    pub fn matches(&self, record: &serde_json::Value) -> bool {
        eval::matches_value(self, record)
    }
}
