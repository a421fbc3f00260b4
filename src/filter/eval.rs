//! Evaluation of one record. Two walkers share one rule book ([`test_node`]): a reference walker
//! over `serde_json::Value` and a fast one over raw JSON text (what the EventFrame keeps in
//! `_rest`), which never builds a `Value`.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::ast::*;
use crate::events::json::{CowStr, Entries};

/// A selected JSON node, as a filter sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    Object,
    Array,
}

impl<'a> Node<'a> {
    pub fn of_value(v: &'a serde_json::Value) -> Node<'a> {
        use serde_json::Value as V;
        match v {
            V::Null => Node::Null,
            V::Bool(b) => Node::Bool(*b),
            V::Number(n) => Node::Num(n.as_f64().unwrap_or(f64::NAN)),
            V::String(s) => Node::Str(Cow::Borrowed(s)),
            V::Object(_) => Node::Object,
            V::Array(_) => Node::Array,
        }
    }

    pub fn of_raw(raw: &'a RawValue) -> Node<'a> {
        let text = raw.get().trim_start();
        match text.as_bytes().first() {
            Some(b'"') => match serde_json::from_str::<CowStr>(text) {
                Ok(CowStr(s)) => Node::Str(s),
                Err(_) => Node::Null,
            },
            Some(b't') => Node::Bool(true),
            Some(b'f') => Node::Bool(false),
            Some(b'n') => Node::Null,
            Some(b'{') => Node::Object,
            Some(b'[') => Node::Array,
            // Parsed exactly as serde_json parses numbers into a Value, so both walkers agree.
            _ => Node::Num(serde_json::from_str::<f64>(text).unwrap_or(f64::NAN)),
        }
    }
}

/// The rule book (filter-patterns spec, sections 7 and 9). `None` is an absent key.
pub fn test_node(test: &Test, node: Option<&Node>) -> bool {
    match (test, node) {
        (Test::NotExists, node) => node.is_none(),
        (Test::IsNull, node) => matches!(node, Some(Node::Null)),
        (Test::IsTrue, node) => matches!(node, Some(Node::Bool(true))),
        (Test::IsFalse, node) => matches!(node, Some(Node::Bool(false))),
        (Test::Cmp(..), None) => false,
        (Test::Cmp(op, value), Some(node)) => compare(*op, value, node),
    }
}

fn compare(op: Op, value: &Value, node: &Node) -> bool {
    // Missing, null, objects and arrays fail every comparison, `!=` included.
    if matches!(node, Node::Null | Node::Object | Node::Array) {
        return false;
    }
    match (value, node) {
        (Value::Any, _) => op == Op::Eq,
        (Value::Glob(g), Node::Str(s)) => match op {
            Op::Eq => g.matches(s),
            Op::Ne => !g.matches(s),
            _ => false,
        },
        (Value::Regex(r), Node::Str(s)) => match op {
            Op::Eq => r.compiled.is_match(s),
            Op::Ne => !r.compiled.is_match(s),
            _ => false,
        },
        (Value::Num(x), Node::Num(y)) => match op {
            Op::Eq => y == x,
            Op::Ne => y != x && !y.is_nan(),
            Op::Lt => y < x,
            Op::Gt => y > x,
            Op::Le => y <= x,
            Op::Ge => y >= x,
        },
        // Type mismatch: strings vs numbers, anything vs booleans.
        _ => false,
    }
}

/// Reference evaluation of a whole pattern against one record.
pub fn matches_value(pattern: &Pattern, record: &serde_json::Value) -> bool {
    match pattern {
        Pattern::All => true,
        Pattern::Json(e) => expr_value(e, record),
        Pattern::Terms(t) => terms_match(t, &record.to_string()),
    }
}

/// [`matches_value`] over a record's JSON text, walking only the selected paths: a record
/// nested deeper than a JSON value can be built (serde_json stops at 128 levels) is still
/// judged on the fields a condition selects.
pub fn matches_raw(pattern: &Pattern, record: &str) -> bool {
    match pattern {
        Pattern::All => true,
        Pattern::Json(e) => expr_raw(e, record),
        Pattern::Terms(t) => terms_match(t, record),
    }
}

fn expr_raw(e: &Expr, record: &str) -> bool {
    match e {
        Expr::And(items) => items.iter().all(|i| expr_raw(i, record)),
        Expr::Or(items) => items.iter().any(|i| expr_raw(i, record)),
        Expr::Cond(c) => cond_raw(c, record),
    }
}

/// Why a record does not match: the fewest conditions that would have to hold for it to
/// (every failing condition of an `&&`, the nearest alternative of an `||`). Empty when it
/// matches, or for term patterns, which have no conditions.
pub fn failing_conditions<'p>(
    pattern: &'p Pattern,
    record: &serde_json::Value,
) -> Vec<&'p Condition> {
    fn walk<'p>(e: &'p Expr, record: &serde_json::Value) -> Vec<&'p Condition> {
        match e {
            Expr::And(items) => items.iter().flat_map(|i| walk(i, record)).collect(),
            Expr::Or(items) => items
                .iter()
                .map(|i| walk(i, record))
                .min_by_key(Vec::len)
                .unwrap_or_default(),
            Expr::Cond(c) if cond_value(c, record) => Vec::new(),
            Expr::Cond(c) => vec![c],
        }
    }
    match pattern {
        Pattern::Json(e) => walk(e, record),
        Pattern::All | Pattern::Terms(_) => Vec::new(),
    }
}

/// How many of the pattern's positive conditions (`=`, `IS TRUE`, ...: not `!=` or `NOT
/// EXISTS`, which most records satisfy) hold on a record: between filters that fail as many
/// conditions on it, the one with more holding is nearer (`eventSource` mistyped, `eventName`
/// right).
pub fn holding_conditions(pattern: &Pattern, record: &serde_json::Value) -> usize {
    fn walk(e: &Expr, record: &serde_json::Value) -> usize {
        match e {
            Expr::And(items) | Expr::Or(items) => items.iter().map(|i| walk(i, record)).sum(),
            Expr::Cond(c) => {
                let positive = !matches!(
                    c.test,
                    crate::filter::ast::Test::Cmp(crate::filter::ast::Op::Ne, _)
                        | crate::filter::ast::Test::NotExists
                );
                usize::from(positive && cond_value(c, record))
            }
        }
    }
    match pattern {
        Pattern::Json(e) => walk(e, record),
        Pattern::All | Pattern::Terms(_) => 0,
    }
}

fn expr_value(e: &Expr, record: &serde_json::Value) -> bool {
    match e {
        Expr::And(items) => items.iter().all(|i| expr_value(i, record)),
        Expr::Or(items) => items.iter().any(|i| expr_value(i, record)),
        Expr::Cond(c) => cond_value(c, record),
    }
}

pub fn cond_value(c: &Condition, record: &serde_json::Value) -> bool {
    let mut hit = false;
    select_value(record, &c.selector.steps, &mut |node| {
        hit = test_node(&c.test, node.map(Node::of_value).as_ref());
        hit
    });
    hit
}

/// Calls `f` for each selected node (`None`: absent) until it returns true.
fn select_value<'v>(
    v: &'v serde_json::Value,
    steps: &[Step],
    f: &mut dyn FnMut(Option<&'v serde_json::Value>) -> bool,
) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return f(Some(v));
    };
    match step {
        Step::Key(k) => match v.as_object().and_then(|o| o.get(k)) {
            Some(child) => select_value(child, rest, f),
            None => f(None),
        },
        Step::Index(i) => match v.as_array().and_then(|a| a.get(*i)) {
            Some(child) => select_value(child, rest, f),
            None => f(None),
        },
        Step::AnyKey => match v.as_object() {
            Some(o) if !o.is_empty() => o.values().any(|child| select_value(child, rest, f)),
            _ => f(None),
        },
        Step::AnyIndex => match v.as_array() {
            Some(a) if !a.is_empty() => a.iter().any(|child| select_value(child, rest, f)),
            _ => f(None),
        },
    }
}

/// Evaluates one condition against raw JSON text, walking only the selected path.
pub fn cond_raw(c: &Condition, text: &str) -> bool {
    let Ok(root) = serde_json::from_str::<&RawValue>(text) else {
        return false;
    };
    let mut hit = false;
    select_raw(root, &c.selector.steps, &mut |node| {
        hit = test_node(&c.test, node.as_ref());
        hit
    });
    hit
}

fn select_raw<'a>(
    raw: &'a RawValue,
    steps: &[Step],
    f: &mut dyn FnMut(Option<Node<'a>>) -> bool,
) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return f(Some(Node::of_raw(raw)));
    };
    match step {
        Step::Key(k) => match Entries::parse(raw.get()).and_then(|e| e.get(k)) {
            Some(child) => select_raw(child, rest, f),
            None => f(None),
        },
        Step::Index(i) => match array(raw).and_then(|a| a.get(*i).copied()) {
            Some(child) => select_raw(child, rest, f),
            None => f(None),
        },
        Step::AnyKey => match Entries::parse(raw.get()) {
            Some(e) if !e.0.is_empty() => {
                // Duplicate keys: only the last occurrence counts, as for a parsed Value (found
                // from the end with a set: a hostile object's many keys cost one lookup each).
                let mut seen = std::collections::HashSet::new();
                let mut last: Vec<&RawValue> =
                    e.0.iter()
                        .rev()
                        .filter(|(k, _)| seen.insert(k.as_ref()))
                        .map(|(_, v)| *v)
                        .collect();
                last.reverse();
                last.into_iter().any(|child| select_raw(child, rest, f))
            }
            _ => f(None),
        },
        Step::AnyIndex => match array(raw) {
            Some(a) if !a.is_empty() => a.into_iter().any(|child| select_raw(child, rest, f)),
            _ => f(None),
        },
    }
}

fn array(raw: &RawValue) -> Option<Vec<&RawValue>> {
    if !raw.get().trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// Terms and phrases over a record's text.
pub fn terms_match(t: &Terms, text: &str) -> bool {
    if t.excluded.iter().any(|x| x.occurs_in(text)) {
        return false;
    }
    if !t.required.is_empty() {
        return t.required.iter().all(|x| x.occurs_in(text));
    }
    t.optional.is_empty() || t.optional.iter().any(|x| x.occurs_in(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse::parse;

    fn both(pattern: &str, record: &str) -> bool {
        let p = parse(pattern).unwrap();
        let v: serde_json::Value = serde_json::from_str(record).unwrap();
        let reference = matches_value(&p, &v);
        if let Pattern::Json(Expr::Cond(c)) = &p {
            assert_eq!(
                cond_raw(c, record),
                reference,
                "raw walker disagrees on {pattern} over {record}"
            );
        }
        reference
    }

    #[test]
    fn missing_null_and_containers_fail_every_comparison() {
        for op in ["=", "!="] {
            assert!(
                !both(&format!("{{ $.x {op} \"a\" }}"), "{}"),
                "missing, {op}"
            );
            assert!(
                !both(&format!("{{ $.x {op} \"a\" }}"), r#"{"x":null}"#),
                "null, {op}"
            );
            assert!(
                !both(&format!("{{ $.x {op} 1 }}"), r#"{"x":[1]}"#),
                "array, {op}"
            );
            assert!(
                !both(&format!("{{ $.x {op} \"a\" }}"), r#"{"x":{"a":1}}"#),
                "object, {op}"
            );
            assert!(
                !both(&format!("{{ $.x.y {op} \"a\" }}"), r#"{"x":null}"#),
                "through null, {op}"
            );
        }
        assert!(both("{ $.x != \"a\" }", r#"{"x":"b"}"#));
    }

    #[test]
    fn exists_null_and_booleans() {
        assert!(both("{ $.x NOT EXISTS }", "{}"));
        assert!(!both("{ $.x NOT EXISTS }", r#"{"x":null}"#));
        assert!(both("{ $.x.y NOT EXISTS }", r#"{"x":null}"#));
        assert!(both("{ $.x IS NULL }", r#"{"x":null}"#));
        assert!(!both("{ $.x IS NULL }", "{}"));
        assert!(both("{ $.x IS TRUE }", r#"{"x":true}"#));
        assert!(!both("{ $.x IS TRUE }", r#"{"x":"true"}"#));
        assert!(both("{ $.x IS FALSE }", r#"{"x":false}"#));
        assert!(
            !both("{ $.x = true }", r#"{"x":true}"#),
            "booleans only through IS TRUE"
        );
        assert!(!both("{ $.x != true }", r#"{"x":true}"#));
        assert!(both("{ $.x = * }", r#"{"x":true}"#));
        assert!(!both("{ $.x = * }", r#"{"x":null}"#));
        assert!(!both("{ $.x != * }", r#"{"x":"a"}"#));
    }

    #[test]
    fn numbers_and_strings_do_not_mix() {
        assert!(both("{ $.x = 400 }", r#"{"x":400}"#));
        assert!(both("{ $.x = 400 }", r#"{"x":4e2}"#));
        assert!(!both("{ $.x = 400 }", r#"{"x":"400"}"#));
        assert!(!both("{ $.x = \"400\" }", r#"{"x":400}"#));
        assert!(!both("{ $.x != 400 }", r#"{"x":"500"}"#));
        assert!(both("{ $.x < 10e3 }", r#"{"x":9999}"#));
        assert!(both("{ $.x >= -1.5 }", r#"{"x":-1.5}"#));
    }

    #[test]
    fn wildcards_are_existential() {
        let rec = r#"{"a":[{"id":1},{"id":2}],"b":{"p":"x","q":"y"}}"#;
        assert!(both("{ $.a[*].id = 2 }", rec));
        assert!(!both("{ $.a[*].id = 3 }", rec));
        assert!(both("{ $.a[*].id != 1 }", rec), "some element differs");
        assert!(both("{ $.b.* = y }", rec));
        assert!(both("{ $.* = y }", r#"{"k":"y"}"#));
        assert!(!both("{ $.* = y }", "{}"));
    }

    #[test]
    fn duplicate_keys_last_wins() {
        assert!(both("{ $.x = \"b\" }", r#"{"x":"a","x":"b"}"#));
        assert!(!both("{ $.x = \"a\" }", r#"{"x":"a","x":"b"}"#));
        assert!(!both("{ $.* = \"a\" }", r#"{"x":"a","x":"b"}"#));
    }

    #[test]
    fn terms() {
        let rec = r#"{"errorMessage":"Failed authentication","eventName":"ConsoleLogin"}"#;
        assert!(both("\"Failed authentication\"", rec));
        assert!(both("ConsoleLogin Failed", rec));
        assert!(!both("ConsoleLogin -Failed", rec));
        assert!(both("?Nope ?ConsoleLogin", rec));
        assert!(!both("?Nope ?Never", rec));
        assert!(!both("consolelogin ?x", rec), "case-sensitive");
        assert!(both("%Console[A-Z]ogin%", rec));
    }
}
