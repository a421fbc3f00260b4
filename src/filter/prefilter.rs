//! Which rows of a projected load need their whole record: a test over a record's column values
//! that every record matching one of a set of patterns passes. A condition the columns cannot
//! decide (a path that is not a column, a column the load does not keep, a value of another JSON
//! type held in `_rest`, a time compared as text) counts as passed. Patterns are `&&` and `||`
//! of conditions, so a record that fails this test fails the pattern whatever those conditions
//! say: the rows it lets go need nothing but their columns.

use std::borrow::Cow;
use std::collections::HashMap;

use super::ast::{Expr, Op, Pattern, Test, Value as AstValue};
use super::eval::{test_node, Node};
use crate::events::record::{Row, Value};
use crate::events::schema;

/// The union of some patterns, reduced to what the kept columns decide, compiled once: fields
/// resolved, and `||` of literal equalities on one field made a set.
///
/// Most patterns name the calls they are about (`$.eventName = X || ...`): the tests are
/// indexed by the values of the column that most of them require, so a row is checked against
/// the few tests its value may pass, not against every pattern of the policy set.
pub struct RowTest {
    tests: Vec<Compiled>,
    /// The column the index is on.
    bit: Option<u32>,
    /// For each value of that column, the tests that require it.
    by_value: HashMap<String, Vec<usize>, foldhash::fast::RandomState>,
    /// Tests that require no value of it.
    unindexed: Vec<usize>,
    /// Tests that require some value of it.
    indexed: Vec<usize>,
}

enum Compiled {
    /// Passed, whatever the columns say.
    Pass,
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
    /// A condition on a kept column.
    Test(u32, Test),
    /// `||` of `= "literal"` on one kept column: the literals, sorted (a handful: a binary
    /// search beats hashing).
    OneOf(u32, Vec<String>),
}

impl RowTest {
    /// `kept`: the bit set of the columns the load keeps.
    pub fn new(patterns: Vec<Pattern>, kept: u32) -> RowTest {
        let tests: Vec<Compiled> = patterns
            .into_iter()
            .map(|p| match p {
                Pattern::All | Pattern::Terms(_) => Compiled::Pass,
                Pattern::Json(e) => compile(e, kept),
            })
            .collect();
        let bit = (0..32u32).max_by_key(|&b| {
            let n = tests.iter().filter(|t| required(t, b).is_some()).count();
            // The lowest bit among equals, so the choice does not depend on iteration order.
            (n, std::cmp::Reverse(b))
        });
        let mut by_value: HashMap<String, Vec<usize>, foldhash::fast::RandomState> =
            HashMap::default();
        let (mut unindexed, mut indexed) = (Vec::new(), Vec::new());
        for (i, t) in tests.iter().enumerate() {
            match bit.and_then(|b| required(t, b)) {
                Some(values) => {
                    indexed.push(i);
                    for v in values {
                        let at = by_value.entry(v.clone()).or_default();
                        if at.last() != Some(&i) {
                            at.push(i);
                        }
                    }
                }
                None => unindexed.push(i),
            }
        }
        RowTest {
            tests,
            bit: bit.filter(|_| !indexed.is_empty()),
            by_value,
            unindexed,
            indexed,
        }
    }

    /// Whether every row passes whatever its columns say (a pattern over no column at all).
    pub fn always(&self) -> bool {
        self.tests.iter().any(|t| matches!(t, Compiled::Pass))
    }

    /// Whether a record with these column values may match one of the patterns.
    pub fn passes(&self, row: &Row) -> bool {
        let any = |ids: &[usize]| ids.iter().any(|&i| eval(&self.tests[i], row));
        if any(&self.unindexed) {
            return true;
        }
        let Some(bit) = self.bit else {
            return false;
        };
        match node(row, bit) {
            Ok(Some(Node::Str(s))) => self.by_value.get(s.as_ref()).is_some_and(|ids| any(ids)),
            // Absent, or a boolean: no test that requires a string value passes.
            Ok(_) => false,
            Err(()) => any(&self.indexed),
        }
    }
}

/// The values of column `bit` a record must have to pass `c` (a necessary condition), when `c`
/// requires one.
fn required(c: &Compiled, bit: u32) -> Option<Vec<&String>> {
    match c {
        Compiled::OneOf(b, values) if *b == bit => Some(values.iter().collect()),
        Compiled::And(items) => items.iter().find_map(|i| required(i, bit)),
        Compiled::Or(items) => {
            let mut all = Vec::new();
            for i in items {
                all.extend(required(i, bit)?);
            }
            Some(all)
        }
        _ => None,
    }
}

fn compile(e: Expr, kept: u32) -> Compiled {
    match e {
        Expr::And(items) => {
            let items: Vec<Compiled> = items
                .into_iter()
                .map(|i| compile(i, kept))
                .filter(|c| !matches!(c, Compiled::Pass))
                .collect();
            if items.is_empty() {
                Compiled::Pass
            } else {
                Compiled::And(items)
            }
        }
        Expr::Or(items) => {
            let items: Vec<Compiled> = items.into_iter().map(|i| compile(i, kept)).collect();
            if items.iter().any(|c| matches!(c, Compiled::Pass)) {
                return Compiled::Pass;
            }
            one_of(&items).unwrap_or(Compiled::Or(items))
        }
        Expr::Cond(c) => match decided(&c, kept) {
            Some(f) => match &c.test {
                Test::Cmp(Op::Eq, AstValue::Glob(g)) if g.is_literal() => {
                    Compiled::OneOf(f.bit, vec![g.parts[0].clone()])
                }
                _ => Compiled::Test(f.bit, c.test),
            },
            None => Compiled::Pass,
        },
    }
}

/// `||` of literal sets on one field: one set.
fn one_of(items: &[Compiled]) -> Option<Compiled> {
    let mut bit = None;
    let mut all = Vec::new();
    for i in items {
        let Compiled::OneOf(b, values) = i else {
            return None;
        };
        if bit.is_some_and(|x| x != *b) {
            return None;
        }
        bit = Some(*b);
        all.extend(values.iter().cloned());
    }
    all.sort_unstable();
    all.dedup();
    Some(Compiled::OneOf(bit?, all))
}

/// A kept column's value as a filter sees it; `Err` when the columns cannot decide (a value of
/// another JSON type, in `_rest`; a time, compared as text).
fn node<'r>(row: &'r Row, bit: u32) -> Result<Option<Node<'r>>, ()> {
    if row.raw_fields & (1 << bit) != 0 {
        return Err(());
    }
    match &row.values[bit as usize] {
        Value::Absent => Ok(None),
        Value::Str(s) => Ok(Some(Node::Str(Cow::Borrowed(s.as_ref())))),
        Value::Bool(b) => Ok(Some(Node::Bool(*b))),
        Value::Time(_) => Err(()),
    }
}

fn eval(c: &Compiled, row: &Row) -> bool {
    match c {
        Compiled::Pass => true,
        Compiled::And(items) => items.iter().all(|i| eval(i, row)),
        Compiled::Or(items) => items.iter().any(|i| eval(i, row)),
        Compiled::Test(bit, test) => match node(row, *bit) {
            Ok(n) => test_node(test, n.as_ref()),
            Err(()) => true,
        },
        Compiled::OneOf(bit, values) => match node(row, *bit) {
            Ok(Some(Node::Str(s))) => values
                .binary_search_by(|v| v.as_str().cmp(s.as_ref()))
                .is_ok(),
            // Absent, or a boolean: no string equality holds.
            Ok(_) => false,
            Err(()) => true,
        },
    }
}

/// The bit set of the column fields `pattern`'s conditions read (paths that are not columns
/// aside).
pub fn columns_read(pattern: &Pattern) -> u32 {
    fn walk(e: &Expr) -> u32 {
        match e {
            Expr::And(items) | Expr::Or(items) => items.iter().map(walk).fold(0, |a, b| a | b),
            Expr::Cond(c) => column(&c.selector).map_or(0, |f| 1 << f.bit),
        }
    }
    match pattern {
        Pattern::Json(e) => walk(e),
        Pattern::All | Pattern::Terms(_) => 0,
    }
}

fn column(selector: &super::ast::Selector) -> Option<&'static schema::Field> {
    schema::field_for_path(&selector.keys()?)
}

/// A condition the kept columns decide: its column field.
fn decided(c: &super::ast::Condition, kept: u32) -> Option<&'static schema::Field> {
    column(&c.selector).filter(|f| kept & (1 << f.bit) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::record::{parse_record, Keep};

    fn test(patterns: &[&str], kept: &[&str]) -> RowTest {
        let Keep::Columns(bits) = Keep::fields(kept) else {
            unreachable!()
        };
        RowTest::new(
            patterns
                .iter()
                .map(|p| Pattern::parse(p).unwrap())
                .collect(),
            bits,
        )
    }

    #[test]
    fn passes_every_record_a_pattern_may_match() {
        let t = test(
            &[r#"{ $.eventName = ConsoleLogin && $.additionalEventData.MFAUsed != "Yes" }"#],
            &["eventName"],
        );
        assert!(!t.always());
        let row = |r: &'static str| parse_record(r, Keep::fields(&["eventName"])).unwrap();
        let login = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"}}"#;
        assert!(
            t.passes(&row(login)),
            "the non-column condition is not decided"
        );
        let other = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"GetObject"}"#;
        assert!(!t.passes(&row(other)));
        let absent = r#"{"eventTime":"2024-01-01T00:00:00Z"}"#;
        assert!(!t.passes(&row(absent)));
        let raw = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":5}"#;
        assert!(
            t.passes(&row(raw)),
            "another JSON type is decided from _rest"
        );
        // A column the load does not keep decides nothing.
        let unkept = test(&[r#"{ $.errorCode = "AccessDenied" }"#], &["eventName"]);
        assert!(unkept.always());
        assert!(test(&[r#"{ $.requestParameters.x = 1 }"#], &["eventName"]).always());
        assert!(test(&[""], &["eventName"]).always());
        let not_exists = test(&[r#"{ $.eventName NOT EXISTS }"#], &["eventName"]);
        assert!(not_exists.passes(&row(absent)) && !not_exists.passes(&row(other)));
        assert_eq!(
            columns_read(&Pattern::parse(r#"{ $.eventName = A || $.x.y = 1 }"#).unwrap()),
            1 << schema::field("eventName").unwrap().bit
        );
    }

    /// The index changes no answer: over patterns of every shape (sets on the indexed column,
    /// conjunctions and disjunctions mixing it with others, conditions on other columns only,
    /// and one that is always passed when added), each row passes as it would checked against
    /// every test.
    #[test]
    fn the_index_gives_the_answers_of_every_test() {
        let patterns = [
            r#"{ $.eventName = ConsoleLogin && $.additionalEventData.MFAUsed != "Yes" }"#,
            r#"{ ($.eventName = DeleteTrail) || ($.eventName = StopLogging) || ($.eventName = UpdateTrail) }"#,
            r#"{ $.errorCode = "AccessDenied" || $.errorCode = "*UnauthorizedOperation" }"#,
            r#"{ $.userIdentity.type = "Root" && $.eventType != "AwsServiceEvent" }"#,
            r#"{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"#,
            r#"{ $.eventName = PutBucketPolicy || $.eventSource = "s3.amazonaws.com" && $.eventName = "Put*" }"#,
            r#"{ $.eventName NOT EXISTS }"#,
        ];
        let kept = [
            "eventName",
            "errorCode",
            "eventSource",
            "userIdentity.type",
            "eventType",
        ];
        let rows = [
            r#"{"eventName":"ConsoleLogin"}"#,
            r#"{"eventName":"StopLogging","errorCode":"AccessDenied"}"#,
            r#"{"eventName":"GetObject"}"#,
            r#"{"eventName":"GetObject","errorCode":"Client.UnauthorizedOperation"}"#,
            r#"{"eventName":"GetObject","userIdentity":{"type":"Root"}}"#,
            r#"{"eventName":"DisableKey","eventSource":"kms.amazonaws.com"}"#,
            r#"{"eventName":"DisableKey","eventSource":"ec2.amazonaws.com"}"#,
            r#"{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com"}"#,
            r#"{"eventName":"PutBucketPolicy"}"#,
            r#"{"eventName":5}"#,
            r#"{"eventName":true}"#,
            r#"{"errorCode":"AccessDenied"}"#,
            r#"{}"#,
        ];
        for n in 1..=patterns.len() {
            for skip in 0..n {
                let chosen: Vec<&str> = patterns[..n]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip || n == 1)
                    .map(|(_, p)| *p)
                    .collect();
                let t = test(&chosen, &kept);
                for r in rows {
                    let r = format!(r#"{{"eventTime":"2024-01-01T00:00:00Z",{}"#, &r[1..]);
                    let r = r.replace(",}", "}");
                    let row = parse_record(&r, Keep::fields(&kept)).unwrap();
                    let every = t.tests.iter().any(|c| eval(c, &row));
                    assert_eq!(t.passes(&row), every, "{chosen:?} on {r}");
                }
            }
        }
        let t = test(&patterns, &kept);
        assert_eq!(t.bit, schema::field("eventName").map(|f| f.bit));
    }
}
