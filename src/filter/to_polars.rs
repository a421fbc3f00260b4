//! A filter pattern compiled to one polars expression over the EventFrame.
//!
//! Paths that are columns compare the column, vectorised. Other paths walk `_rest` (the record's
//! JSON less its columns) with the raw-text walker, in parallel, skipping rows whose text cannot
//! contain the selected key. A column whose field is held in `_rest` for some rows (another JSON
//! type; see [`schema::RAW_FIELDS`]) reads `_rest` for exactly those rows. Semantics are those of
//! the reference evaluator; a differential test holds the two together.

use std::sync::Arc;

use memchr::memmem::Finder;
use polars::prelude::{Expr as PExpr, *};
use rayon::prelude::*;

use super::ast::{self, Condition, Glob, Op, Pattern, Selector, Step, Test, Value};
use super::eval::{cond_raw, test_node};
use crate::events::record::format_event_time;
use crate::events::schema::{self, Field as SchemaField, Kind, FIELDS};

/// What the compiler needs to know about the frame it will run on.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameInfo {
    /// Union of `_raw_fields` over all rows.
    pub raw_fields: u32,
}

impl FrameInfo {
    pub fn of(df: &DataFrame) -> PolarsResult<FrameInfo> {
        let raw = df.column(schema::RAW_FIELDS)?.u32()?;
        let raw_fields = raw.iter().fold(0, |acc, v| acc | v.unwrap_or(0));
        Ok(FrameInfo { raw_fields })
    }
}

/// Compiles `pattern` for a frame described by `info`. The expression is a Boolean column,
/// never null.
pub fn to_expr(pattern: &Pattern, info: FrameInfo) -> PExpr {
    let expr = match pattern {
        Pattern::All => lit(true),
        Pattern::Json(e) => visit_expr(e, info),
        Pattern::Terms(_) => full_record_udf(Arc::new(pattern.clone())),
    };
    // A pattern can fold to a constant (a number against a string column); anchoring it to a
    // column that is never null keeps one value per row.
    col(schema::RAW_FIELDS).is_not_null().and(expr)
}

/// The rows of `df` that match `pattern`.
pub fn filter(df: &DataFrame, pattern: &Pattern) -> PolarsResult<DataFrame> {
    let expr = to_expr(pattern, FrameInfo::of(df)?);
    df.clone().lazy().filter(expr).collect()
}

/// How many rows of `df` match `pattern`.
pub fn count(df: &DataFrame, pattern: &Pattern) -> PolarsResult<usize> {
    let expr = to_expr(pattern, FrameInfo::of(df)?);
    let out = df.clone().lazy().select([expr.alias("m")]).collect()?;
    Ok(out.column("m")?.bool()?.sum().unwrap_or(0) as usize)
}

fn visit_expr(e: &ast::Expr, info: FrameInfo) -> PExpr {
    match e {
        ast::Expr::And(items) => items
            .iter()
            .map(|i| visit_expr(i, info))
            .reduce(|a, b| a.and(b))
            .unwrap_or_else(|| lit(true)),
        ast::Expr::Or(items) => visit_or(items, info),
        ast::Expr::Cond(c) => visit_cond(c, info),
    }
}

/// `||` of literal equalities on one string column becomes a single `is_in`.
fn visit_or(items: &[ast::Expr], info: FrameInfo) -> PExpr {
    let mut literal: Vec<(&'static SchemaField, Vec<String>)> = Vec::new();
    let mut others = Vec::new();
    for item in items {
        if let ast::Expr::Cond(c) = item {
            if let (Some(f), Test::Cmp(Op::Eq, Value::Glob(g))) =
                (column_field(&c.selector), &c.test)
            {
                if f.kind == Kind::Str && g.is_literal() && info.raw_fields & (1 << f.bit) == 0 {
                    match literal.iter_mut().find(|(lf, _)| lf.bit == f.bit) {
                        Some((_, values)) => values.push(g.parts[0].clone()),
                        None => literal.push((f, vec![g.parts[0].clone()])),
                    }
                    continue;
                }
            }
        }
        others.push(visit_expr(item, info));
    }
    let mut exprs: Vec<PExpr> = literal
        .into_iter()
        .map(|(f, values)| {
            if values.len() == 1 {
                col(f.name).eq(lit(values[0].clone())).fill_null(lit(false))
            } else {
                let set = Series::new("set".into(), values);
                col(f.name)
                    .is_in(lit(set).implode(false), false)
                    .fill_null(lit(false))
            }
        })
        .collect();
    exprs.extend(others);
    exprs
        .into_iter()
        .reduce(|a, b| a.or(b))
        .unwrap_or_else(|| lit(false))
}

fn column_field(selector: &Selector) -> Option<&'static SchemaField> {
    schema::field_for_path(&selector.keys()?)
}

/// What a condition's selector reads in the frame.
enum Reads {
    /// A field a column holds.
    Column(&'static SchemaField),
    /// A path below a top-level field a column holds.
    BelowColumn(&'static SchemaField),
    /// Whole records: a `*` over an object that holds column fields.
    Records,
    /// `_rest`, for every row.
    Rest,
}

fn reads(selector: &Selector) -> Reads {
    if let Some(f) = column_field(selector) {
        return Reads::Column(f);
    }
    // `$.*` ranges over the top-level fields, `$.userIdentity.*` over userIdentity's: some of
    // them live in columns, so whole records are rebuilt.
    if wildcard_over_columns(selector) {
        return Reads::Records;
    }
    match selector.steps.first() {
        Some(Step::Key(k)) => top_level_field(k).map_or(Reads::Rest, Reads::BelowColumn),
        _ => Reads::Rest,
    }
}

/// The fields whose columns are enough to evaluate `pattern`, given `_rest` for the rows that
/// hold one of them there (what [`crate::events::Keep::Columns`] loads); `None` when the pattern
/// needs every row's `_rest` (paths that are not columns, `$.*`, terms).
pub fn columns_needed(pattern: &Pattern) -> Option<u32> {
    fn visit(e: &ast::Expr) -> Option<u32> {
        match e {
            ast::Expr::And(items) | ast::Expr::Or(items) => {
                items.iter().try_fold(0, |acc, i| Some(acc | visit(i)?))
            }
            ast::Expr::Cond(c) => match reads(&c.selector) {
                Reads::Column(f) | Reads::BelowColumn(f) => Some(1 << f.bit),
                Reads::Records | Reads::Rest => None,
            },
        }
    }
    match pattern {
        Pattern::All => Some(0),
        Pattern::Json(e) => visit(e),
        Pattern::Terms(_) => None,
    }
}

fn visit_cond(c: &Condition, info: FrameInfo) -> PExpr {
    match reads(&c.selector) {
        Reads::Column(f) => {
            let by_column = visit_column(f, &c.test);
            let bit = 1u32 << f.bit;
            if info.raw_fields & bit != 0 {
                when(raw_bit(bit))
                    .then(rest_udf(Arc::new(c.clone()), Some(bit)))
                    .otherwise(by_column)
            } else {
                by_column
            }
        }
        // A string or boolean has no children, unless the row keeps the field in `_rest`.
        Reads::BelowColumn(f) => {
            let bit = 1u32 << f.bit;
            let absent = lit(test_node(&c.test, None));
            if info.raw_fields & bit != 0 {
                when(raw_bit(bit))
                    .then(rest_udf(Arc::new(c.clone()), Some(bit)))
                    .otherwise(absent)
            } else {
                absent
            }
        }
        Reads::Records => full_record_udf(Arc::new(Pattern::Json(ast::Expr::Cond(c.clone())))),
        Reads::Rest => rest_udf(Arc::new(c.clone()), None),
    }
}

/// Whether the selector has a `*` key step over an object that can hold fields kept in columns
/// (and left out of `_rest`): the keys before the `*` lead to such a field's parent or above.
fn wildcard_over_columns(selector: &Selector) -> bool {
    let mut prefix: Vec<&str> = Vec::new();
    for step in &selector.steps {
        match step {
            Step::Key(k) => prefix.push(k),
            Step::AnyKey => {
                return FIELDS
                    .iter()
                    .any(|f| f.path.len() > prefix.len() && f.path.starts_with(&prefix));
            }
            Step::Index(_) | Step::AnyIndex => return false,
        }
    }
    false
}

fn top_level_field(key: &str) -> Option<&'static SchemaField> {
    FIELDS.iter().find(|f| f.is_top_level() && f.name == key)
}

fn raw_bit(bit: u32) -> PExpr {
    col(schema::RAW_FIELDS)
        .and(lit(bit))
        .neq(lit(0u32))
        .fill_null(lit(false))
}

/// A condition over a column, for rows where the column holds the field's JSON value exactly
/// (null: the field is absent).
fn visit_column(f: &SchemaField, test: &Test) -> PExpr {
    let c = col(f.name);
    let text = match f.kind {
        Kind::Str => c.clone(),
        Kind::Time => c.clone().dt().to_string("%Y-%m-%dT%H:%M:%SZ"),
        Kind::Bool => c.clone(),
    };
    let is_bool = f.kind == Kind::Bool;
    let no = || lit(false);
    match test {
        Test::NotExists => c.is_null(),
        Test::IsNull => no(),
        Test::IsTrue if is_bool => c.eq(lit(true)).fill_null(lit(false)),
        Test::IsFalse if is_bool => c.eq(lit(false)).fill_null(lit(false)),
        Test::IsTrue | Test::IsFalse => no(),
        Test::Cmp(Op::Eq, Value::Any) => c.is_not_null(),
        Test::Cmp(_, Value::Any) => no(),
        Test::Cmp(_, _) if is_bool => no(),
        Test::Cmp(_, Value::Num(_)) => no(),
        Test::Cmp(op, Value::Glob(g)) => negate_if(*op, glob(text, g)),
        Test::Cmp(op, Value::Regex(r)) => negate_if(
            *op,
            text.str()
                .contains(lit(r.compiled.as_str().to_string()), true),
        ),
    }
}

fn negate_if(op: Op, matched: PExpr) -> PExpr {
    match op {
        Op::Eq => matched.fill_null(lit(false)),
        Op::Ne => matched.not().fill_null(lit(false)),
        _ => lit(false),
    }
}

fn glob(text: PExpr, g: &Glob) -> PExpr {
    let p = &g.parts;
    match p.len() {
        1 => text.eq(lit(p[0].clone())),
        2 if p[1].is_empty() => text.str().starts_with(lit(p[0].clone())),
        2 if p[0].is_empty() => text.str().ends_with(lit(p[1].clone())),
        3 if p[0].is_empty() && p[2].is_empty() => text.str().contains_literal(lit(p[1].clone())),
        _ => text.str().contains(lit(g.to_regex()), true),
    }
}

/// Keys a row's text must contain for the selector to find anything.
struct Prefilter {
    keys: Vec<Finder<'static>>,
    /// Found in a text whose keys might be escaped (so the prefilter cannot decide).
    escape: Finder<'static>,
}

impl Prefilter {
    fn new(selector: &Selector) -> Prefilter {
        let mut plain = true;
        let keys = selector
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Key(k) => {
                    plain &= k
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-@.:".contains(c));
                    let mut quoted = String::with_capacity(k.len() + 2);
                    crate::events::json::push_json_string(&mut quoted, k);
                    Some(Finder::new(quoted.as_bytes()).into_owned())
                }
                _ => None,
            })
            .collect();
        // Plain keys can only be spelled another way with a \u escape.
        let escape = Finder::new(if plain { &b"\\u"[..] } else { &b"\\"[..] }).into_owned();
        Prefilter { keys, escape }
    }

    fn certainly_absent(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        self.keys.iter().any(|k| k.find(bytes).is_none()) && self.escape.find(bytes).is_none()
    }
}

fn bool_field(_: &Schema, _: &[Field]) -> PolarsResult<Field> {
    Ok(Field::new("matches".into(), DataType::Boolean))
}

/// Evaluates a condition on `_rest`, for every row or only rows with `only_bit` set.
fn rest_udf(cond: Arc<Condition>, only_bit: Option<u32>) -> PExpr {
    let prefilter = Prefilter::new(&cond.selector);
    let absent = test_node(&cond.test, None);
    col(schema::REST).map_many(
        move |cols: &mut [Column]| {
            let rest = cols[0].str()?;
            let raw = cols[1].u32()?;
            let texts: Vec<Option<&str>> = rest.iter().collect();
            let bits: Vec<u32> = raw.iter().map(|b| b.unwrap_or(0)).collect();
            let out: Vec<bool> = texts
                .par_iter()
                .zip(bits.par_iter())
                .with_min_len(4096)
                .map(|(text, bits)| {
                    if only_bit.is_some_and(|b| bits & b == 0) {
                        return false;
                    }
                    match text {
                        None => absent,
                        Some(t) if prefilter.certainly_absent(t) => absent,
                        Some(t) => cond_raw(&cond, t),
                    }
                })
                .collect();
            Ok(BooleanChunked::from_slice("matches".into(), &out).into_column())
        },
        &[col(schema::RAW_FIELDS)],
        bool_field,
    )
}

/// Evaluates a pattern on whole records rebuilt from `_rest` and the columns (term patterns,
/// and `$.*` selectors).
fn full_record_udf(pattern: Arc<Pattern>) -> PExpr {
    let mut args: Vec<PExpr> = vec![col(schema::RAW_FIELDS)];
    args.extend(FIELDS.iter().map(|f| col(f.name)));
    col(schema::REST).map_many(
        move |cols: &mut [Column]| {
            let height = cols[0].len();
            let df = DataFrame::new(height, cols.to_vec())?;
            let records = records_json(&df)?;
            let out: Vec<bool> = records
                .par_iter()
                .map(|r| match &*pattern {
                    Pattern::Terms(t) => super::eval::terms_match(t, r),
                    p => super::eval::matches_raw(p, r),
                })
                .collect();
            Ok(BooleanChunked::from_slice("matches".into(), &out).into_column())
        },
        &args,
        bool_field,
    )
}

/// Each row's whole record as JSON: `_rest` plus the fields held by columns (top-level ones
/// appended to the record, nested ones put back into their objects).
/// Needs `_rest`, `_raw_fields` and the field columns.
pub fn records_json(df: &DataFrame) -> PolarsResult<Vec<String>> {
    let rest = df.column(schema::REST)?.str()?;
    let raw = df.column(schema::RAW_FIELDS)?.u32()?;
    enum Col<'a> {
        Str(&'a StringChunked),
        Bool(&'a BooleanChunked),
        Time(Vec<Option<i64>>),
    }
    let mut cols = Vec::new();
    for f in FIELDS {
        let c = df.column(f.name)?;
        let col = match f.kind {
            Kind::Str => Col::Str(c.str()?),
            Kind::Bool => Col::Bool(c.bool()?),
            Kind::Time => Col::Time(c.cast(&DataType::Int64)?.i64()?.iter().collect()),
        };
        cols.push((f, col));
    }
    let mut out = Vec::with_capacity(df.height());
    let mut nested: Vec<(&'static SchemaField, String)> = Vec::new();
    for i in 0..df.height() {
        let text = rest.get(i).unwrap_or("{}");
        let bits = raw.get(i).unwrap_or(0);
        let mut s = String::with_capacity(text.len() + 512);
        s.push_str(text.trim_end().strip_suffix('}').unwrap_or("{"));
        let mut empty = s.trim_end() == "{";
        nested.clear();
        for (f, c) in &cols {
            if bits & (1 << f.bit) != 0 {
                continue;
            }
            let value = match c {
                Col::Str(c) => c.get(i).map(|v| {
                    let mut q = String::new();
                    crate::events::json::push_json_string(&mut q, v);
                    q
                }),
                Col::Bool(c) => c.get(i).map(|b| b.to_string()),
                Col::Time(c) => c[i].map(|ms| format!("\"{}\"", format_event_time(ms))),
            };
            let Some(v) = value else { continue };
            if !f.is_top_level() {
                nested.push((f, v));
                continue;
            }
            if !empty {
                s.push(',');
            }
            empty = false;
            s.push('"');
            s.push_str(f.name);
            s.push_str("\":");
            s.push_str(&v);
        }
        s.push('}');
        if !nested.is_empty() {
            s = crate::events::record::insert_nested(&s, &nested);
        }
        out.push(s);
    }
    Ok(out)
}
