//! Filter patterns compiled to SQL over AWS's Athena table for CloudTrail logs: the `athena`
//! dialect (Trino, what Athena engine v3 runs) and `duckdb` (the same query with DuckDB's
//! function names, which the tests run against a DuckDB table of the same schema).
//!
//! One `visit_*` per AST node, as `to_polars` does; semantics are the reference evaluator's
//! (`filter::eval`). What the table's types cannot say is stated, never guessed:
//! - a top-level key the table has no column for, a struct field it does not keep, wildcard
//!   selectors and term patterns are errors naming the selector;
//! - columns and struct fields keep an absent key and a JSON null alike as SQL NULL, so
//!   `NOT EXISTS` and `IS NULL` there both select NULL, with a note in the output. Inside the
//!   JSON-text columns (`requestparameters`, ...) the two are told apart.
//!
//! The compiled condition may be SQL NULL where the pattern is false: use it in a `WHERE`
//! (or wrap it in `COALESCE(..., FALSE)`).

pub mod ddl;
pub mod table;

use std::collections::BTreeSet;

use crate::filter::ast::{Condition, Expr, Glob, Op, Pattern, Selector, Step, Test, Value};
use crate::filter::eval::test_node;
use table::{Field, Ty, COLUMNS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Amazon Athena (engine v3, Trino).
    Athena,
    /// DuckDB, for tests.
    Duckdb,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    #[error("{selector}: the Athena CloudTrail table has no column for {key:?}{hint}")]
    NoColumn {
        selector: String,
        key: String,
        hint: String,
    },
    #[error("{selector}: wildcard selectors ({step}) are not compiled to SQL")]
    Wildcard {
        selector: String,
        step: &'static str,
    },
    #[error(
        "term patterns match a record's whole JSON text, which the Athena table does not keep; \
         write a JSON pattern ({{ $.key = value }})"
    )]
    Terms,
    #[error("{selector}: {reason}")]
    Unsupported { selector: String, reason: String },
    #[error("--columns: the Athena CloudTrail table has no column {0:?} (columns: {1})")]
    UnknownColumn(String, String),
    #[error("table name {0:?}: expected NAME or DATABASE.NAME of letters, digits and '_'")]
    TableName(String),
}

/// A pattern compiled to a SQL condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// A boolean SQL expression over the table's columns.
    pub sql: String,
    /// What the table cannot express exactly (absent vs null), one line each.
    pub notes: Vec<String>,
}

/// Compiles `pattern` to a condition over the Athena CloudTrail table.
pub fn compile(pattern: &Pattern, dialect: Dialect) -> Result<Compiled, SqlError> {
    let mut c = Compiler {
        dialect,
        notes: BTreeSet::new(),
    };
    let sql = match pattern {
        Pattern::All => "TRUE".to_string(),
        Pattern::Terms(_) => return Err(SqlError::Terms),
        Pattern::Json(e) => c.visit_expr(e, true)?,
    };
    Ok(Compiled {
        sql,
        notes: c.notes.into_iter().collect(),
    })
}

/// What to select, from where, over which window.
#[derive(Debug, Clone)]
pub struct SelectSpec {
    pub dialect: Dialect,
    /// `NAME` or `DATABASE.NAME`.
    pub table: String,
    /// Table columns (lower-case names), in order.
    pub columns: Vec<String>,
    /// Record paths (`userIdentity.arn`, `requestParameters.bucketName`) to select too, each
    /// as a column named by the path (a policy's `group_by`).
    pub paths: Vec<String>,
    /// Events at or after this time (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Events before this time (ms since the epoch, exclusive).
    pub until_ms: Option<i64>,
    /// Only these accounts and regions: the `account` and `region` partitions of tables made
    /// by `athena ddl` (with `partition`) and the `recipientaccountid` / `awsregion` columns.
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Also bound the `timestamp` partition column (tables of `athena ddl`, and AWS's
    /// partition-projection table), so Athena reads only the window's days.
    pub partition: bool,
}

/// The columns `sql` selects by default: enough to identify and place each event.
pub const DEFAULT_COLUMNS: &[&str] = &[
    "eventid",
    "eventtime",
    "recipientaccountid",
    "awsregion",
    "eventsource",
    "eventname",
];

/// A whole query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The statement, without comments (what an API call submits).
    pub sql: String,
    /// Caveats, for comments above the statement.
    pub notes: Vec<String>,
}

impl Query {
    /// The statement with its caveats as `--` comments above it, ending in `;` and a newline.
    pub fn to_text(&self, header: &[String]) -> String {
        let mut out = String::new();
        for line in header.iter().chain(&self.notes) {
            out.push_str("-- ");
            out.push_str(&line.replace(['\n', '\r'], " "));
            out.push('\n');
        }
        out.push_str(&self.sql);
        out.push_str(";\n");
        out
    }
}

/// `SELECT columns FROM table WHERE window AND pattern`.
pub fn select(pattern: &Pattern, spec: &SelectSpec) -> Result<Query, SqlError> {
    if !valid_table_name(&spec.table) {
        return Err(SqlError::TableName(spec.table.clone()));
    }
    let mut columns = Vec::new();
    for c in &spec.columns {
        if c == "*" || c == table::TIMESTAMP_PARTITION || table::column(c).is_some() {
            columns.push(if c == table::TIMESTAMP_PARTITION {
                quote_ident(c)
            } else {
                c.clone()
            });
        } else {
            let names: Vec<&str> = COLUMNS.iter().map(|f| f.name).collect();
            return Err(SqlError::UnknownColumn(c.clone(), names.join(", ")));
        }
    }
    if columns.is_empty() {
        columns = DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect();
    }
    for path in &spec.paths {
        let expr = path_expr(path, spec.dialect)?;
        let plain = table::column(&expr).is_some();
        if !plain {
            columns.push(format!("{expr} AS {}", quote_ident(path)));
        } else if !columns.iter().any(|c| *c == expr || c == "*") {
            columns.push(expr);
        }
    }
    let (conditions, notes) = conditions(pattern, spec)?;
    let sql = format!(
        "SELECT {}\nFROM {}\nWHERE {}",
        columns.join(", "),
        spec.table,
        conditions.join("\n  AND ")
    );
    Ok(Query { sql, notes })
}

/// The `WHERE` conditions of [`select`] (to be ANDed): the window, accounts and regions, then
/// the pattern; and the pattern's caveats.
pub fn conditions(
    pattern: &Pattern,
    spec: &SelectSpec,
) -> Result<(Vec<String>, Vec<String>), SqlError> {
    let compiled = compile(pattern, spec.dialect)?;
    let mut conditions = window_conditions(spec);
    if compiled.sql != "TRUE" || conditions.is_empty() {
        conditions.push(compiled.sql);
    }
    Ok((conditions, compiled.notes))
}

/// Whether `name` is `NAME` or `DATABASE.NAME` of letters, digits and `_`.
pub fn is_table_name(name: &str) -> bool {
    valid_table_name(name)
}

fn valid_table_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// The window as string comparisons on `eventtime` (CloudTrail writes it as
/// `YYYY-MM-DDTHH:MM:SSZ`, which sorts as text) and, for pruning, on the `timestamp` partition:
/// a log file's day is its delivery's, so a day either side is kept.
fn window_conditions(spec: &SelectSpec) -> Vec<String> {
    let mut out = Vec::new();
    let list = |values: &[String]| values.iter().map(|v| lit(v)).collect::<Vec<_>>().join(", ");
    for (values, partition, column) in [
        (&spec.accounts, "account", "recipientaccountid"),
        (&spec.regions, "region", "awsregion"),
    ] {
        if values.is_empty() {
            continue;
        }
        if spec.partition {
            out.push(format!("{partition} IN ({})", list(values)));
        }
        out.push(format!("{column} IN ({})", list(values)));
    }
    let fmt = |ms: i64, pattern: &str| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format(pattern).to_string())
            .unwrap_or_default()
    };
    const DAY_MS: i64 = 86_400_000;
    if spec.partition {
        if let Some(from) = spec.from_ms {
            out.push(format!(
                "\"timestamp\" >= '{}'",
                fmt(from - DAY_MS, "%Y/%m/%d")
            ));
        }
        if let Some(until) = spec.until_ms {
            out.push(format!(
                "\"timestamp\" <= '{}'",
                fmt(until + DAY_MS, "%Y/%m/%d")
            ));
        }
    }
    if let Some(from) = spec.from_ms {
        // Whole seconds: a bound inside a second takes that whole second.
        let secs = from.div_euclid(1000) * 1000;
        out.push(format!(
            "eventtime >= '{}'",
            fmt(secs, "%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    if let Some(until) = spec.until_ms {
        let secs = (until + 999).div_euclid(1000) * 1000;
        out.push(format!("eventtime < '{}'", fmt(secs, "%Y-%m-%dT%H:%M:%SZ")));
    }
    out
}

/// The SQL expression for a record path written as dotted keys (`recipientAccountId`,
/// `userIdentity.arn`, `requestParameters.bucketName`): a column, a struct field, or a JSON
/// value as text.
pub fn path_expr(path: &str, dialect: Dialect) -> Result<String, SqlError> {
    let selector = Selector {
        steps: path.split('.').map(|k| Step::Key(k.to_string())).collect(),
    };
    let c = Compiler {
        dialect,
        notes: BTreeSet::new(),
    };
    match c.resolve(&selector)? {
        Access::Scalar(expr, _) | Access::Container(expr) => Ok(expr),
        Access::Json(column, steps) => {
            let p = lit(&c.json_path(&steps));
            Ok(match dialect {
                Dialect::Athena if steps.is_empty() => column.to_string(),
                Dialect::Athena => format!("json_extract_scalar({column}, {p})"),
                Dialect::Duckdb if steps.is_empty() => column.to_string(),
                Dialect::Duckdb => format!("json_extract_string({column}, {p})"),
            })
        }
        Access::Absent => Err(SqlError::Unsupported {
            selector: selector.to_string(),
            reason: "the table holds no value there".into(),
        }),
    }
}

struct Compiler {
    dialect: Dialect,
    notes: BTreeSet<String>,
}

/// What a selector reaches in the table.
enum Access {
    /// A string (or `readonly`'s boolean text); NULL is absent or null.
    Scalar(String, Ty),
    /// A struct, array or map; NULL is absent or null.
    Container(String),
    /// A path inside a JSON-text column (empty: the column's own value).
    Json(&'static str, Vec<JsonStep>),
    /// Below a string or boolean, or an index into an object: never present.
    Absent,
}

#[derive(Debug, Clone)]
enum JsonStep {
    Key(String),
    Index(usize),
}

fn bool_lit(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.to_string()
}

/// A SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A glob's parts as a LIKE pattern with `\` as the escape character.
fn like_pattern(g: &Glob) -> String {
    g.parts
        .iter()
        .map(|p| {
            let mut s = String::with_capacity(p.len());
            for c in p.chars() {
                if matches!(c, '\\' | '%' | '_') {
                    s.push('\\');
                }
                s.push(c);
            }
            s
        })
        .collect::<Vec<_>>()
        .join("%")
}

/// The parser's translated regular expression (Rust `regex` syntax) for the SQL engines:
/// Trino's default engine (Joni, Ruby syntax) makes `^` and `$` line anchors and neither
/// Joni, Java nor RE2 agrees with Rust on `.` for every line terminator, so `^`, `$` and `.`
/// outside a class become `\A`, `\z` and `[^\n]`, which mean the same in all of them.
pub fn portable_regex(rust: &str) -> String {
    let mut out = String::with_capacity(rust.len() + 8);
    let mut chars = rust.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` first in a class (after an optional `^`) is literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '.' if !in_class => out.push_str("[^\\n]"),
            '^' if !in_class => out.push_str("\\A"),
            '$' if !in_class => out.push_str("\\z"),
            c => out.push(c),
        }
    }
    out
}

fn simple_key(k: &str) -> bool {
    k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Compiler {
    fn visit_expr(&mut self, e: &Expr, top: bool) -> Result<String, SqlError> {
        match e {
            Expr::And(items) => {
                let parts = items
                    .iter()
                    .map(|i| self.visit_expr(i, false))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if top {
                    parts.join("\n  AND ")
                } else {
                    format!("({})", parts.join(" AND "))
                })
            }
            // Always in parentheses: the window's conditions are ANDed to the pattern's.
            Expr::Or(items) => Ok(format!("({})", self.visit_or(items)?)),
            Expr::Cond(c) => self.visit_cond(c),
        }
    }

    /// `||` of literal equalities on one string column or field becomes one `IN`.
    fn visit_or(&mut self, items: &[Expr]) -> Result<String, SqlError> {
        let mut literal: Vec<(String, Vec<String>)> = Vec::new();
        let mut others = Vec::new();
        for item in items {
            if let Expr::Cond(c) = item {
                if let Test::Cmp(Op::Eq, Value::Glob(g)) = &c.test {
                    if g.is_literal() {
                        if let Access::Scalar(expr, Ty::Str) = self.resolve(&c.selector)? {
                            match literal.iter_mut().find(|(e, _)| *e == expr) {
                                Some((_, values)) => values.push(g.parts[0].clone()),
                                None => literal.push((expr, vec![g.parts[0].clone()])),
                            }
                            continue;
                        }
                    }
                }
            }
            others.push(self.visit_expr(item, false)?);
        }
        let mut parts: Vec<String> = literal
            .into_iter()
            .map(|(expr, values)| {
                if values.len() == 1 {
                    format!("{expr} = {}", lit(&values[0]))
                } else {
                    let list: Vec<String> = values.iter().map(|v| lit(v)).collect();
                    format!("{expr} IN ({})", list.join(", "))
                }
            })
            .collect();
        parts.extend(others);
        Ok(parts.join(" OR "))
    }

    fn visit_cond(&mut self, c: &Condition) -> Result<String, SqlError> {
        Ok(match self.resolve(&c.selector)? {
            Access::Absent => bool_lit(test_node(&c.test, None)),
            Access::Scalar(expr, ty) => self.visit_scalar(&expr, ty, c),
            Access::Container(expr) => match c.test {
                Test::NotExists | Test::IsNull => self.null_column(&expr, c),
                // An object or array fails every comparison and IS TRUE/FALSE.
                _ => bool_lit(false),
            },
            Access::Json(column, path) if path.is_empty() => match c.test {
                Test::NotExists | Test::IsNull => self.null_column(column, c),
                _ => self.visit_json(column, &path, &c.test),
            },
            Access::Json(column, path) => self.visit_json(column, &path, &c.test),
        })
    }

    fn null_column(&mut self, expr: &str, c: &Condition) -> String {
        self.notes.insert(format!(
            "{}: the table keeps an absent key and a JSON null alike as SQL NULL, so NOT EXISTS \
             and IS NULL both select NULL here",
            c.selector
        ));
        format!("{expr} IS NULL")
    }

    /// Where the selector leads in the table.
    fn resolve(&self, selector: &Selector) -> Result<Access, SqlError> {
        let shown = || selector.to_string();
        for step in &selector.steps {
            let step = match step {
                Step::AnyKey => ".*",
                Step::AnyIndex => "[*]",
                _ => continue,
            };
            return Err(SqlError::Wildcard {
                selector: shown(),
                step,
            });
        }
        let Some((first, rest)) = selector.steps.split_first() else {
            return Err(SqlError::Unsupported {
                selector: shown(),
                reason: "the whole record is not a value SQL can compare".into(),
            });
        };
        let Step::Key(key) = first else {
            // An index into the record (an object).
            return Ok(Access::Absent);
        };
        let column = find(COLUMNS, key).ok_or_else(|| SqlError::NoColumn {
            selector: shown(),
            key: key.clone(),
            hint: hint(COLUMNS, key, "its columns"),
        })?;
        let mut expr = column.name.to_string();
        let mut ty = column.ty;
        for (i, step) in rest.iter().enumerate() {
            match (ty, step) {
                (Ty::Json, _) => {
                    let path = rest[i..]
                        .iter()
                        .map(|s| match s {
                            Step::Key(k) => Ok(JsonStep::Key(k.clone())),
                            Step::Index(n) => Ok(JsonStep::Index(*n)),
                            _ => unreachable!("wildcards are refused above"),
                        })
                        .collect::<Result<Vec<_>, SqlError>>()?;
                    for s in &path {
                        if let JsonStep::Key(k) = s {
                            if k.contains(['"', '\\']) || k.chars().any(char::is_control) {
                                return Err(SqlError::Unsupported {
                                    selector: shown(),
                                    reason: format!(
                                        "the key {k:?} has a quote, backslash or control \
                                         character, which JSON paths in SQL do not escape alike"
                                    ),
                                });
                            }
                        }
                    }
                    return Ok(Access::Json(column.name, path));
                }
                (Ty::Struct(fields), Step::Key(k)) => {
                    let field = find(fields, k).ok_or_else(|| SqlError::NoColumn {
                        selector: shown(),
                        key: k.clone(),
                        hint: hint(fields, k, &format!("{expr} keeps")),
                    })?;
                    expr = format!("{expr}.{}", field.name);
                    ty = field.ty;
                }
                (Ty::ArrayOf(fields), Step::Index(n)) => {
                    expr = match self.dialect {
                        Dialect::Athena => format!("element_at({expr}, {})", n + 1),
                        Dialect::Duckdb => format!("{expr}[{}]", n + 1),
                    };
                    ty = Ty::Struct(fields);
                }
                (Ty::Map, Step::Key(k)) => {
                    expr = match self.dialect {
                        Dialect::Athena => format!("element_at({expr}, {})", lit(k)),
                        Dialect::Duckdb => format!("{expr}[{}]", lit(k)),
                    };
                    ty = Ty::Str;
                }
                // Below a string or boolean, an index into an object or a key of an array.
                _ => return Ok(Access::Absent),
            }
        }
        Ok(match ty {
            Ty::Str | Ty::BoolText => Access::Scalar(expr, ty),
            Ty::Json => Access::Json(column.name, Vec::new()),
            Ty::Struct(_) | Ty::ArrayOf(_) | Ty::Map => Access::Container(expr),
        })
    }

    /// A test on a string column or field (or `readonly`'s boolean text).
    fn visit_scalar(&mut self, expr: &str, ty: Ty, c: &Condition) -> String {
        let is_bool = matches!(ty, Ty::BoolText);
        match &c.test {
            Test::NotExists | Test::IsNull => self.null_column(expr, c),
            Test::IsTrue if is_bool => format!("{expr} = 'true'"),
            Test::IsFalse if is_bool => format!("{expr} = 'false'"),
            Test::IsTrue | Test::IsFalse => bool_lit(false),
            Test::Cmp(Op::Eq, Value::Any) => format!("{expr} IS NOT NULL"),
            Test::Cmp(_, Value::Any) => bool_lit(false),
            // Booleans only through IS TRUE / IS FALSE; strings never equal numbers.
            Test::Cmp(_, _) if is_bool => bool_lit(false),
            Test::Cmp(_, Value::Num(_)) => bool_lit(false),
            Test::Cmp(op @ (Op::Eq | Op::Ne), v) => self.string_match(expr, *op, v),
            Test::Cmp(_, _) => bool_lit(false),
        }
    }

    /// `=` / `!=` of a glob or regex against a string expression that is not NULL.
    fn string_match(&self, expr: &str, op: Op, v: &Value) -> String {
        let ne = op == Op::Ne;
        match v {
            Value::Glob(g) if g.is_literal() => {
                format!(
                    "{expr} {} {}",
                    if ne { "<>" } else { "=" },
                    lit(&g.parts[0])
                )
            }
            Value::Glob(g) => format!(
                "{expr} {}LIKE {} ESCAPE '\\'",
                if ne { "NOT " } else { "" },
                lit(&like_pattern(g))
            ),
            Value::Regex(r) => {
                let f = match self.dialect {
                    Dialect::Athena => "regexp_like",
                    Dialect::Duckdb => "regexp_matches",
                };
                format!(
                    "{}{f}({expr}, {})",
                    if ne { "NOT " } else { "" },
                    lit(&portable_regex(r.compiled.as_str()))
                )
            }
            Value::Any | Value::Num(_) => bool_lit(false),
        }
    }

    fn json_path(&self, path: &[JsonStep]) -> String {
        let mut p = String::from("$");
        for s in path {
            match s {
                JsonStep::Index(n) => p.push_str(&format!("[{n}]")),
                JsonStep::Key(k) if simple_key(k) => {
                    p.push('.');
                    p.push_str(k);
                }
                JsonStep::Key(k) => match self.dialect {
                    Dialect::Athena => p.push_str(&format!("[\"{k}\"]")),
                    Dialect::Duckdb => p.push_str(&format!(".\"{k}\"")),
                },
            }
        }
        p
    }

    /// A test on a path inside a JSON-text column, by the JSON type found there.
    fn visit_json(&self, column: &str, path: &[JsonStep], test: &Test) -> String {
        let p = lit(&self.json_path(path));
        let (exists, kind_in, value) = match self.dialect {
            Dialect::Athena => (
                format!("json_extract({column}, {p}) IS NOT NULL"),
                format!("json_format(json_extract({column}, {p}))"),
                format!("json_extract_scalar({column}, {p})"),
            ),
            Dialect::Duckdb => (
                format!("json_type({column}, {p}) IS NOT NULL"),
                format!("json_type({column}, {p})"),
                format!("json_extract_string({column}, {p})"),
            ),
        };
        // Predicates on the JSON type found at the path (none when absent).
        let is = |kind: Kind| -> String {
            match (self.dialect, kind) {
                (Dialect::Athena, Kind::Null) => format!("{kind_in} = 'null'"),
                (Dialect::Athena, Kind::True) => format!("{kind_in} = 'true'"),
                (Dialect::Athena, Kind::False) => format!("{kind_in} = 'false'"),
                (Dialect::Athena, Kind::Str) => format!("substr({kind_in}, 1, 1) = '\"'"),
                (Dialect::Athena, Kind::Num) => format!("regexp_like({kind_in}, '^-?[0-9]')"),
                (Dialect::Athena, Kind::Scalar) => {
                    format!("substr({kind_in}, 1, 1) NOT IN ('n', '{{', '[')")
                }
                (Dialect::Duckdb, Kind::Null) => format!("{kind_in} = 'NULL'"),
                (Dialect::Duckdb, Kind::True) => {
                    format!("({kind_in} = 'BOOLEAN' AND {value} = 'true')")
                }
                (Dialect::Duckdb, Kind::False) => {
                    format!("({kind_in} = 'BOOLEAN' AND {value} = 'false')")
                }
                (Dialect::Duckdb, Kind::Str) => format!("{kind_in} = 'VARCHAR'"),
                (Dialect::Duckdb, Kind::Num) => {
                    format!("{kind_in} IN ('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')")
                }
                (Dialect::Duckdb, Kind::Scalar) => {
                    format!("{kind_in} NOT IN ('NULL', 'OBJECT', 'ARRAY')")
                }
            }
        };
        let body = match test {
            Test::NotExists => format!("NOT ({exists})"),
            Test::IsNull => is(Kind::Null),
            Test::IsTrue => is(Kind::True),
            Test::IsFalse => is(Kind::False),
            Test::Cmp(Op::Eq, Value::Any) => is(Kind::Scalar),
            Test::Cmp(_, Value::Any) => return bool_lit(false),
            Test::Cmp(op @ (Op::Eq | Op::Ne), v @ (Value::Glob(_) | Value::Regex(_))) => {
                format!(
                    "({} AND {})",
                    is(Kind::Str),
                    self.string_match(&value, *op, v)
                )
            }
            Test::Cmp(_, Value::Glob(_) | Value::Regex(_)) => return bool_lit(false),
            Test::Cmp(op, Value::Num(x)) => format!(
                "({} AND TRY_CAST({value} AS DOUBLE) {} {x:e})",
                is(Kind::Num),
                match op {
                    Op::Eq => "=",
                    Op::Ne => "<>",
                    Op::Lt => "<",
                    Op::Gt => ">",
                    Op::Le => "<=",
                    Op::Ge => ">=",
                }
            ),
        };
        // Trino's JSON paths read `[0]` as the key "0" of an object and a numeric key as an
        // index into an array; CloudWatch Logs does neither, so such steps check the parent.
        let guards: Vec<String> = match self.dialect {
            Dialect::Duckdb => Vec::new(),
            Dialect::Athena => path
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let parent = lit(&self.json_path(&path[..i]));
                    let first =
                        format!("substr(json_format(json_extract({column}, {parent})), 1, 1)");
                    match s {
                        JsonStep::Index(_) => Some(format!("{first} = '['")),
                        JsonStep::Key(k) if k.parse::<u64>().is_ok() => {
                            Some(format!("{first} <> '['"))
                        }
                        JsonStep::Key(_) => None,
                    }
                })
                .collect(),
        };
        if guards.is_empty() {
            body
        } else if matches!(test, Test::NotExists) {
            // Absent also when a guard fails (the step finds nothing).
            format!("(NOT ({}) OR {body})", guards.join(" AND "))
        } else {
            format!("({} AND {body})", guards.join(" AND "))
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Null,
    True,
    False,
    Str,
    Num,
    /// A string, number or boolean.
    Scalar,
}

fn find<'a>(fields: &'a [Field], key: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.key == key)
}

/// "did you mean" for a key that differs only in case, else the keys that exist.
fn hint(fields: &[Field], key: &str, what: &str) -> String {
    if let Some(f) = fields.iter().find(|f| f.key.eq_ignore_ascii_case(key)) {
        return format!(" (keys are case-sensitive: did you mean {:?}?)", f.key);
    }
    let keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
    format!(" ({what}: {})", keys.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(p: &str, d: Dialect) -> Result<String, SqlError> {
        compile(&Pattern::parse(p).unwrap(), d).map(|c| c.sql)
    }

    #[test]
    fn errors_name_the_selector() {
        let e = sql("{ $.managementEvent IS TRUE }", Dialect::Athena).unwrap_err();
        assert!(e.to_string().contains("$.managementEvent"), "{e}");
        let e = sql("{ $.eventname = x }", Dialect::Athena).unwrap_err();
        assert!(e.to_string().contains("did you mean \"eventName\""), "{e}");
        let e = sql("{ $.userIdentity.identityProvider = x }", Dialect::Athena).unwrap_err();
        assert!(e.to_string().contains("identityProvider"), "{e}");
        let e = sql("{ $.* = x }", Dialect::Athena).unwrap_err();
        assert!(matches!(e, SqlError::Wildcard { .. }), "{e}");
        assert_eq!(sql("ERROR", Dialect::Athena).unwrap_err(), SqlError::Terms);
    }

    #[test]
    fn strings_globs_and_lists() {
        let s = sql(
            "{ $.eventName = a || $.eventName = b || $.errorCode = \"50%_off*\\\\\" }",
            Dialect::Athena,
        )
        .unwrap();
        assert_eq!(
            s,
            "(eventname IN ('a', 'b') OR errorcode LIKE '50\\%\\_off%\\\\' ESCAPE '\\')"
        );
        assert_eq!(
            sql("{ $.userIdentity.type != \"O'Brien\" }", Dialect::Athena).unwrap(),
            "useridentity.type <> 'O''Brien'"
        );
        assert_eq!(
            sql("{ $.eventName = 5 }", Dialect::Athena).unwrap(),
            "FALSE"
        );
        assert_eq!(
            sql("{ $.eventName.x NOT EXISTS }", Dialect::Athena).unwrap(),
            "TRUE"
        );
    }

    #[test]
    fn a_top_level_or_stays_inside_the_window() {
        let spec = SelectSpec {
            dialect: Dialect::Athena,
            table: "t".into(),
            columns: vec![],
            paths: vec![],
            from_ms: Some(0),
            until_ms: None,
            accounts: vec![],
            regions: vec![],
            partition: false,
        };
        let q = select(
            &Pattern::parse("{ $.eventName = a || $.errorCode = b }").unwrap(),
            &spec,
        );
        assert!(q.unwrap().sql.ends_with(
            "WHERE eventtime >= '1970-01-01T00:00:00Z'\n  AND (eventname = 'a' OR errorcode = 'b')"
        ));
    }

    #[test]
    fn accounts_and_regions_use_the_partitions() {
        let spec = SelectSpec {
            dialect: Dialect::Athena,
            table: "db.t".into(),
            columns: vec![],
            paths: vec![],
            from_ms: None,
            until_ms: None,
            accounts: vec!["111122223333".into(), "x'y".into()],
            regions: vec!["us-east-1".into()],
            partition: true,
        };
        let q = select(&Pattern::All, &spec).unwrap().sql;
        assert!(q.contains("account IN ('111122223333', 'x''y')"), "{q}");
        assert!(
            q.contains("recipientaccountid IN ('111122223333', 'x''y')"),
            "{q}"
        );
        assert!(
            q.contains("region IN ('us-east-1')\n  AND awsregion IN ('us-east-1')"),
            "{q}"
        );
        assert!(!q.contains("TRUE"), "{q}");
    }

    #[test]
    fn regexes_are_portable() {
        assert_eq!(portable_regex("^a.b$"), "\\Aa[^\\n]b\\z");
        assert_eq!(portable_regex("[.^$]\\.x"), "[.^$]\\.x");
        assert_eq!(portable_regex("[^]a]."), "[^\\]a][^\\n]");
    }
}
