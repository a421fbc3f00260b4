//! The parsed form of a CloudWatch Logs filter pattern.

use std::fmt;

/// A whole pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// The empty pattern (or `" "`): matches every record.
    All,
    /// `{ ... }`: a JSON pattern over the record's fields.
    Json(Expr),
    /// Terms and phrases over the record's text.
    Terms(Terms),
}

#[derive(Debug, Clone)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cond(Condition),
}

impl Pattern {
    /// Every condition's selector, in pattern order (none for term patterns): the fields the
    /// pattern looks at, so a message can show a record's values there.
    pub fn selectors(&self) -> Vec<&Selector> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Selector>) {
            match e {
                Expr::And(items) | Expr::Or(items) => items.iter().for_each(|i| walk(i, out)),
                Expr::Cond(c) => out.push(&c.selector),
            }
        }
        let mut out = Vec::new();
        if let Pattern::Json(e) = self {
            walk(e, &mut out);
        }
        out
    }
}

impl fmt::Display for Condition {
    /// As a filter pattern writes it, for messages (`$.Status.IsLogging IS TRUE`).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} ", self.selector)?;
        match &self.test {
            Test::Cmp(op, v) => write!(f, "{op} {v}"),
            Test::IsNull => f.write_str("IS NULL"),
            Test::IsTrue => f.write_str("IS TRUE"),
            Test::IsFalse => f.write_str("IS FALSE"),
            Test::NotExists => f.write_str("NOT EXISTS"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Value::Any => f.write_str("*"),
            Value::Glob(g) => write!(f, "{:?}", g.parts.join("*")),
            Value::Num(n) => write!(f, "{n}"),
            Value::Regex(r) => write!(f, "%{}%", r.source),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Condition {
    pub selector: Selector,
    pub test: Test,
    /// Column of the selector in the pattern (for messages).
    pub column: usize,
}

#[derive(Debug, Clone)]
pub enum Test {
    Cmp(Op, Value),
    IsNull,
    IsTrue,
    IsFalse,
    NotExists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        })
    }
}

#[derive(Debug, Clone)]
pub enum Value {
    /// `*` or `"*"`: any string, number or boolean.
    Any,
    /// A string, with `*` as a wildcard anywhere (any run of characters, possibly empty).
    Glob(Glob),
    Num(f64),
    Regex(Regex),
}

/// A string value split on its `*` wildcards: `parts.len() - 1` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pub parts: Vec<String>,
}

impl Glob {
    pub fn new(s: &str) -> Glob {
        Glob {
            parts: s.split('*').map(str::to_string).collect(),
        }
    }

    pub fn is_literal(&self) -> bool {
        self.parts.len() == 1
    }

    /// Anchored, case-sensitive glob match.
    pub fn matches(&self, s: &str) -> bool {
        let parts = &self.parts;
        if parts.len() == 1 {
            return s == parts[0];
        }
        let (first, last) = (&parts[0], &parts[parts.len() - 1]);
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for mid in &parts[1..parts.len() - 1] {
            match rest.find(mid.as_str()) {
                Some(i) => rest = &rest[i + mid.len()..],
                None => return false,
            }
        }
        true
    }

    /// The equivalent anchored regular expression.
    pub fn to_regex(&self) -> String {
        let escaped: Vec<String> = self.parts.iter().map(|p| regex::escape(p)).collect();
        format!("^{}$", escaped.join(".*"))
    }
}

/// A `%regex%` value: AWS's restricted syntax, translated and compiled once.
#[derive(Debug, Clone)]
pub struct Regex {
    /// As written between the `%` signs.
    pub source: String,
    pub compiled: regex::Regex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// `.*`
    AnyKey,
    /// `[*]`
    AnyIndex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub steps: Vec<Step>,
}

impl Selector {
    /// The path as plain keys, when the selector has only keys.
    pub fn keys(&self) -> Option<Vec<&str>> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Key(k) => Some(k.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn has_wildcard(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::AnyKey | Step::AnyIndex))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("$")?;
        for s in &self.steps {
            match s {
                Step::Key(k)
                    if k.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '@') =>
                {
                    write!(f, ".{k}")?
                }
                Step::Key(k) => write!(f, ".['{k}']")?,
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::AnyKey => f.write_str(".*")?,
                Step::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

/// Term and phrase patterns: `ERROR`, `"Failed authentication"`, `?a ?b`, `-term`.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    /// All must occur.
    pub required: Vec<Term>,
    /// None may occur.
    pub excluded: Vec<Term>,
    /// At least one must occur; ignored when there are required terms (as AWS does).
    pub optional: Vec<Term>,
}

#[derive(Debug, Clone)]
pub enum Term {
    /// A case-sensitive substring.
    Text(String),
    Regex(Regex),
}

impl Term {
    pub fn occurs_in(&self, text: &str) -> bool {
        match self {
            Term::Text(t) => text.contains(t.as_str()),
            Term::Regex(r) => r.compiled.is_match(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, s: &str| Glob::new(p).matches(s);
        assert!(g("abc", "abc"));
        assert!(!g("abc", "abcd"));
        assert!(g("*Event", "PutEvent"));
        assert!(g("Event*", "EventName"));
        assert!(g("Ev*ent", "Ev*ent"));
        assert!(g("Ev*ent", "EvXent"));
        assert!(g("Ev*ent", "Event"));
        assert!(!g("a*a", "a"), "parts may not overlap");
        assert!(g("*", ""));
        assert!(g("*a*b*", "xxaxxbxx"));
        assert!(!g("*a*b*", "xxbxxaxx"));
        assert!(g("123.123.*", "123.123.1.1"));
        assert!(!g("123.123.*", "111.111.111.111"));
    }
}
