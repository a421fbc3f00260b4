//! Parser for filter patterns: JSON patterns, terms and phrases, with AWS's limits.

use std::fmt;

use super::ast::*;

/// AWS's limits on a filter pattern.
pub const MAX_LEN: usize = 1024;
pub const MAX_REGEXES: usize = 2;
pub const MAX_WILDCARD_SELECTORS: usize = 3;

/// A pattern that does not parse: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    pub message: String,
    pub pattern: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(f, "{} at column {}", self.message, self.column)?;
        // Keep the caret under the right character: show the pattern on one line.
        let shown: String = self
            .pattern
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        writeln!(f, "  {shown}")?;
        write!(f, "  {}^", " ".repeat(self.column.saturating_sub(1)))
    }
}

struct Parser<'p> {
    chars: Vec<char>,
    pos: usize,
    pattern: &'p str,
    regexes: usize,
    wildcard_selectors: usize,
}

type Result<T> = std::result::Result<T, ParseError>;

pub fn parse(pattern: &str) -> Result<Pattern> {
    let mut p = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        pattern,
        regexes: 0,
        wildcard_selectors: 0,
    };
    if p.chars.len() > MAX_LEN {
        return Err(p.error_at(MAX_LEN, format!("pattern longer than {MAX_LEN} characters")));
    }
    p.skip_ws();
    match p.peek() {
        None => Ok(Pattern::All),
        Some('{') => p.json(),
        Some('[') => Err(p.error(
            "space-delimited patterns ([...]) are not supported; use a JSON pattern { ... }",
        )),
        Some(_) => p.terms(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn looking_at(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    fn looking_at_word(&self, word: &str) -> bool {
        let n = word.chars().count();
        word.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i).is_some_and(|p| p.eq_ignore_ascii_case(&c)))
            && self.peek_at(n).is_none_or(|c| !is_word_char(c))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            column: pos + 1,
            message: message.into(),
            pattern: self.pattern.to_string(),
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the pattern".into(),
            Some(c) => format!("'{c}'"),
        }
    }

    fn json(&mut self) -> Result<Pattern> {
        self.pos += 1; // '{'
        self.skip_ws();
        if self.peek() == Some('}') {
            return Err(self.error("expected a condition such as $.eventName = \"X\" inside { }"));
        }
        let expr = self.or()?;
        self.skip_ws();
        if self.peek() != Some('}') {
            let what = if self.peek() == Some(')') {
                "unbalanced ')'".to_string()
            } else {
                format!("expected '&&', '||' or '}}', found {}", self.found())
            };
            return Err(self.error(what));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek().is_some() {
            return Err(self.error(format!(
                "unexpected {} after the closing '}}'",
                self.found()
            )));
        }
        Ok(Pattern::Json(expr))
    }

    fn or(&mut self) -> Result<Expr> {
        let mut items = vec![self.and()?];
        loop {
            self.skip_ws();
            if !self.looking_at("||") {
                break;
            }
            self.pos += 2;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr> {
        let mut items = vec![self.primary()?];
        loop {
            self.skip_ws();
            if !self.looking_at("&&") {
                break;
            }
            self.pos += 2;
            items.push(self.primary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::And(items)
        })
    }

    fn primary(&mut self) -> Result<Expr> {
        self.skip_ws();
        match self.peek() {
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                let e = self.or()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(match self.peek() {
                        None | Some('}') => self.error_at(open, "unclosed '('"),
                        _ => self.error(format!(
                            "expected '&&', '||' or ')', found {}",
                            self.found()
                        )),
                    });
                }
                self.pos += 1;
                Ok(e)
            }
            Some('$') => self.condition().map(Expr::Cond),
            _ => Err(self.error(format!(
                "expected a selector such as $.eventName or '(', found {}",
                self.found()
            ))),
        }
    }

    fn condition(&mut self) -> Result<Condition> {
        let start = self.pos;
        let selector = self.selector()?;
        let wildcards = selector
            .steps
            .iter()
            .filter(|s| matches!(s, Step::AnyKey | Step::AnyIndex))
            .count();
        if wildcards > 1 {
            return Err(self.error_at(start, "a selector may hold at most one wildcard (* or [*])"));
        }
        if wildcards == 1 {
            self.wildcard_selectors += 1;
            if self.wildcard_selectors > MAX_WILDCARD_SELECTORS {
                return Err(self.error_at(
                    start,
                    format!(
                        "at most {MAX_WILDCARD_SELECTORS} selectors with wildcards per pattern"
                    ),
                ));
            }
        }
        self.skip_ws();
        let test = if self.looking_at_word("IS") {
            self.pos += 2;
            self.skip_ws();
            if self.looking_at_word("NULL") {
                self.pos += 4;
                Test::IsNull
            } else if self.looking_at_word("TRUE") {
                self.pos += 4;
                Test::IsTrue
            } else if self.looking_at_word("FALSE") {
                self.pos += 5;
                Test::IsFalse
            } else if self.looking_at_word("NOT") {
                return Err(
                    self.error("IS NOT is not supported by CloudWatch Logs; use NOT EXISTS or !=")
                );
            } else {
                return Err(self.error(format!(
                    "expected NULL, TRUE or FALSE after IS, found {}",
                    self.found()
                )));
            }
        } else if self.looking_at_word("NOT") {
            self.pos += 3;
            self.skip_ws();
            if !self.looking_at_word("EXISTS") {
                return Err(
                    self.error(format!("expected EXISTS after NOT, found {}", self.found()))
                );
            }
            self.pos += 6;
            Test::NotExists
        } else if self.looking_at_word("EXISTS") {
            return Err(self.error(
                "EXISTS is not supported by CloudWatch Logs; use = \"*\" for 'has a value'",
            ));
        } else {
            let (op, text) = if self.looking_at("==") {
                return Err(self.error("use '=' (not '==')"));
            } else if self.looking_at("!=") {
                (Op::Ne, "!=")
            } else if self.looking_at("<=") {
                (Op::Le, "<=")
            } else if self.looking_at(">=") {
                (Op::Ge, ">=")
            } else if self.looking_at("=") {
                (Op::Eq, "=")
            } else if self.looking_at("<") {
                (Op::Lt, "<")
            } else if self.looking_at(">") {
                (Op::Gt, ">")
            } else {
                return Err(self.error(format!(
                    "expected an operator (=, !=, <, >, <=, >=), IS NULL, IS TRUE, IS FALSE or NOT EXISTS after {selector}, found {}",
                    self.found()
                )));
            };
            self.pos += text.len();
            self.skip_ws();
            let at = self.pos;
            let value = self.value(text)?;
            if matches!(op, Op::Lt | Op::Gt | Op::Le | Op::Ge) && !matches!(value, Value::Num(_)) {
                return Err(self.error_at(at, format!("expected a number after '{text}'")));
            }
            Test::Cmp(op, value)
        };
        Ok(Condition {
            selector,
            test,
            column: start + 1,
        })
    }

    fn selector(&mut self) -> Result<Selector> {
        self.pos += 1; // '$'
        let mut steps = Vec::new();
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some('.'), Some('*')) => {
                    self.pos += 2;
                    steps.push(Step::AnyKey);
                }
                (Some('.'), Some('[')) => {
                    self.pos += 1;
                    steps.push(self.bracket()?);
                }
                (Some('['), _) => steps.push(self.bracket()?),
                (Some('.'), Some(c)) if is_name_char(c) => {
                    self.pos += 1;
                    let start = self.pos;
                    while self.peek().is_some_and(is_name_char) {
                        self.pos += 1;
                    }
                    steps.push(Step::Key(self.chars[start..self.pos].iter().collect()));
                }
                (Some('.'), _) => {
                    return Err(self.error_at(self.pos + 1, "expected a field name after '.'"));
                }
                _ => break,
            }
        }
        if steps.is_empty() {
            return Err(self.error("expected '.' and a field name after '$'"));
        }
        Ok(Selector { steps })
    }

    fn bracket(&mut self) -> Result<Step> {
        let open = self.pos;
        self.pos += 1; // '['
        let step = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Step::AnyIndex
            }
            Some('\'') => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '\'') {
                    self.pos += 1;
                }
                if self.peek().is_none() {
                    return Err(self.error_at(open, "unterminated ['...'] key"));
                }
                let key: String = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                Step::Key(key)
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits: String = self.chars[start..self.pos].iter().collect();
                let index = digits
                    .parse()
                    .map_err(|_| self.error_at(start, "array index too large"))?;
                Step::Index(index)
            }
            _ => return Err(self.error("expected an index, * or 'key' after '['")),
        };
        if self.peek() != Some(']') {
            return Err(self.error(format!("expected ']', found {}", self.found())));
        }
        self.pos += 1;
        Ok(step)
    }

    fn at_value_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if c.is_whitespace() || c == ')' || c == '}' => true,
            _ => self.looking_at("&&") || self.looking_at("||"),
        }
    }

    fn value(&mut self, after: &str) -> Result<Value> {
        if self.at_value_end() {
            return Err(self.error(format!("expected a value after '{after}'")));
        }
        match self.peek() {
            Some('"') => {
                let s = self.quoted()?;
                Ok(if s == "*" {
                    Value::Any
                } else {
                    Value::Glob(Glob::new(&s))
                })
            }
            Some('%') => Ok(Value::Regex(self.regex()?)),
            _ => {
                // An unquoted value runs to ')', '}', '&&', '||' or the end, inner blanks
                // included: CIS v4.0 prints `$.errorMessage = Failed authentication` unquoted.
                let start = self.pos;
                while !(self.peek().is_none()
                    || matches!(self.peek(), Some(')' | '}'))
                    || self.looking_at("&&")
                    || self.looking_at("||"))
                {
                    if self.peek() == Some('"') {
                        return Err(self.error("unexpected '\"' inside an unquoted value"));
                    }
                    self.pos += 1;
                }
                let token: String = self.chars[start..self.pos]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_string();
                Ok(if token == "*" {
                    Value::Any
                } else if let Some(n) = parse_number(&token) {
                    Value::Num(n)
                } else {
                    Value::Glob(Glob::new(&token))
                })
            }
        }
    }

    /// A double-quoted string with backslash escapes.
    fn quoted(&mut self) -> Result<String> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at(open, "unterminated string")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    let esc = self.peek_at(1);
                    self.pos += 2;
                    match esc {
                        Some('"') => out.push('"'),
                        Some('\\') => out.push('\\'),
                        Some('/') => out.push('/'),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some('u') => {
                            let hex: String = (0..4).filter_map(|i| self.peek_at(i)).collect();
                            let c = u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == 4)
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error_at(self.pos - 2, "invalid \\u escape"))?;
                            self.pos += 4;
                            out.push(c);
                        }
                        Some(c) => {
                            out.push('\\');
                            out.push(c);
                        }
                        None => return Err(self.error_at(open, "unterminated string")),
                    }
                }
                Some(c) => {
                    self.pos += 1;
                    out.push(c);
                }
            }
        }
    }

    fn regex(&mut self) -> Result<Regex> {
        let open = self.pos;
        self.pos += 1; // '%'
        let start = self.pos;
        while self.peek().is_some_and(|c| c != '%') {
            self.pos += 1;
        }
        if self.peek().is_none() {
            return Err(self.error_at(open, "unterminated %regex%"));
        }
        let source: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        self.regexes += 1;
        if self.regexes > MAX_REGEXES {
            return Err(self.error_at(
                open,
                format!("at most {MAX_REGEXES} regular expressions per pattern"),
            ));
        }
        compile_regex(&source).map_err(|(offset, message)| self.error_at(start + offset, message))
    }

    fn terms(&mut self) -> Result<Pattern> {
        let mut terms = Terms::default();
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            let kind = match c {
                '-' => Some(false),
                '?' => Some(true),
                _ => None,
            };
            if kind.is_some() {
                self.pos += 1;
            }
            let term = match self.peek() {
                Some('"') => {
                    let s = self.quoted()?;
                    if s.trim().is_empty() {
                        continue;
                    }
                    Term::Text(s)
                }
                Some('%') => Term::Regex(self.regex()?),
                Some(c) if !c.is_whitespace() => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| !c.is_whitespace()) {
                        self.pos += 1;
                    }
                    Term::Text(self.chars[start..self.pos].iter().collect())
                }
                _ => return Err(self.error("expected a term after '-' or '?'")),
            };
            match kind {
                None => terms.required.push(term),
                Some(false) => terms.excluded.push(term),
                Some(true) => terms.optional.push(term),
            }
        }
        if terms.required.is_empty() && terms.excluded.is_empty() && terms.optional.is_empty() {
            return Ok(Pattern::All);
        }
        Ok(Pattern::Terms(terms))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_name_char(c: char) -> bool {
    !c.is_whitespace() && !".[]()=!<>&|{}\"'%*".contains(c)
}

/// A number as AWS writes them: sign, decimals, exponent.
fn parse_number(token: &str) -> Option<f64> {
    let b = token.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    token.trim_start_matches('+').parse().ok()
}

/// Checks AWS's regex character set and translates to the `regex` crate's syntax.
/// On error: the character offset in `source` and what is wrong.
pub fn compile_regex(source: &str) -> std::result::Result<Regex, (usize, String)> {
    const SYMBOLS: &str = ":_#=@/;,-";
    const OPERATORS: &str = "^$?[]{}|\\*+.";
    let chars: Vec<char> = source.chars().collect();
    if chars.is_empty() {
        return Err((0, "empty regular expression".into()));
    }
    let mut out = String::with_capacity(source.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                return Err((i, "'\\' at the end of the regular expression".into()));
            };
            match e {
                'd' => out.push_str("[0-9]"),
                'D' => out.push_str("[^0-9]"),
                'w' => out.push_str("[A-Za-z0-9_]"),
                'W' => out.push_str("[^A-Za-z0-9_]"),
                's' => out.push_str("[\\t\\n\\x0B\\f\\r ]"),
                'S' => out.push_str("[^\\t\\n\\x0B\\f\\r ]"),
                'x' => {
                    let hex: String = chars.iter().skip(i + 2).take(2).collect();
                    if hex.len() != 2 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                        return Err((i, "expected two hex digits after \\x".into()));
                    }
                    out.push_str("\\x");
                    out.push_str(&hex);
                    i += 2;
                }
                e if OPERATORS.contains(e) || SYMBOLS.contains(e) => {
                    out.push_str(&regex::escape(&e.to_string()));
                }
                e => {
                    return Err((
                        i + 1,
                        format!("unsupported escape '\\{e}' in regular expression"),
                    ))
                }
            }
            i += 2;
            continue;
        }
        if c == '(' || c == ')' {
            return Err((
                i,
                "parentheses (groups) are not supported in CloudWatch Logs regular expressions"
                    .into(),
            ));
        }
        if !(c.is_ascii_alphanumeric() || SYMBOLS.contains(c) || OPERATORS.contains(c)) {
            return Err((
                i,
                format!("character '{c}' is not allowed in CloudWatch Logs regular expressions"),
            ));
        }
        match c {
            // Literal in AWS's set, special (or reserved) in the regex crate.
            '#' | '-' if !inside_class(&chars, i) => out.push_str(&regex::escape(&c.to_string())),
            _ => out.push(c),
        }
        i += 1;
    }
    let compiled = regex::Regex::new(&out).map_err(|e| {
        (
            0,
            format!("invalid regular expression: {}", first_line(&e.to_string())),
        )
    })?;
    Ok(Regex {
        source: source.to_string(),
        compiled,
    })
}

fn inside_class(chars: &[char], at: usize) -> bool {
    let mut depth = 0i32;
    let mut i = 0;
    while i < at {
        match chars[i] {
            '\\' => i += 1,
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    depth > 0
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(p: &str) -> ParseError {
        parse(p).expect_err(p)
    }

    #[test]
    fn precedence_and_shapes() {
        let Pattern::Json(Expr::Or(items)) = parse("{ $.a = 1 || $.b = 2 && $.c = 3 }").unwrap()
        else {
            panic!("or at the top")
        };
        assert!(matches!(items[1], Expr::And(_)));
        assert!(matches!(parse("").unwrap(), Pattern::All));
        assert!(matches!(parse("  ").unwrap(), Pattern::All));
        assert!(matches!(parse("\" \"").unwrap(), Pattern::All));
        assert!(matches!(
            parse("ERROR -DEBUG ?x").unwrap(),
            Pattern::Terms(_)
        ));
    }

    #[test]
    fn selectors() {
        let sel = |p: &str| match parse(p).unwrap() {
            Pattern::Json(Expr::Cond(c)) => c.selector.steps,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            sel("{$.a.b = 1}"),
            vec![Step::Key("a".into()), Step::Key("b".into())]
        );
        assert_eq!(
            sel("{$.a[0][12] = 1}"),
            vec![Step::Key("a".into()), Step::Index(0), Step::Index(12)]
        );
        assert_eq!(
            sel("{$.a[*] = 1}"),
            vec![Step::Key("a".into()), Step::AnyIndex]
        );
        assert_eq!(sel("{$.* = 1}"), vec![Step::AnyKey]);
        assert_eq!(
            sel("{$.['cluster.name'] = c}"),
            vec![Step::Key("cluster.name".into())]
        );
        assert_eq!(
            sel("{$.x-amz-id-2 = c}"),
            vec![Step::Key("x-amz-id-2".into())]
        );
        assert_eq!(
            sel("{$.@timestamp = c}"),
            vec![Step::Key("@timestamp".into())]
        );
    }

    #[test]
    fn values() {
        let val = |p: &str| match parse(p).unwrap() {
            Pattern::Json(Expr::Cond(Condition {
                test: Test::Cmp(_, v),
                ..
            })) => v,
            other => panic!("{other:?}"),
        };
        assert!(matches!(val("{$.a = *}"), Value::Any));
        assert!(matches!(val("{$.a = \"*\"}"), Value::Any));
        assert!(matches!(val("{$.a = 10e-3}"), Value::Num(n) if (n - 0.01).abs() < 1e-12));
        assert!(matches!(val("{$.a > +1000}"), Value::Num(n) if n == 1000.0));
        assert!(matches!(val("{$.a = \"400\"}"), Value::Glob(_)));
        assert!(
            matches!(val("{$.a = s3.amazonaws.com}"), Value::Glob(g) if g.parts == ["s3.amazonaws.com"])
        );
        assert!(matches!(val("{$.a = 123.123.*}"), Value::Glob(g) if g.parts == ["123.123.", ""]));
        assert!(matches!(val(r#"{$.a = "q\"uote"}"#), Value::Glob(g) if g.parts == ["q\"uote"]));
        assert!(matches!(val("{$.a = %Trail%}"), Value::Regex(_)));
        assert!(
            matches!(val("{($.a = Failed authentication )}"), Value::Glob(g) if g.parts == ["Failed authentication"])
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = err("{ $.eventName = }");
        assert_eq!(
            (e.column, e.message.as_str()),
            (17, "expected a value after '='")
        );
        assert_eq!(
            e.to_string(),
            "expected a value after '=' at column 17\n  { $.eventName = }\n                  ^"
        );
        assert_eq!(
            err("{ $.a = 1 ").message,
            "expected '&&', '||' or '}', found the end of the pattern"
        );
        assert_eq!(err("{ ($.a = 1 }").message, "unclosed '('");
        assert_eq!(err("{ $.a = 1 ) }").message, "unbalanced ')'");
        assert_eq!(err("{ $.a < abc }").message, "expected a number after '<'");
        assert_eq!(
            err("{ $ = 1 }").message,
            "expected '.' and a field name after '$'"
        );
        assert!(err("{ $.a IS NOT NULL }")
            .message
            .contains("IS NOT is not supported"));
        assert!(err("{ $.a EXISTS }")
            .message
            .contains("EXISTS is not supported"));
        assert_eq!(err("{ $.a = \"x }").message, "unterminated string");
        assert_eq!(
            err("{ $.a = 1 } x").message,
            "unexpected 'x' after the closing '}'"
        );
        assert_eq!(err("{ eventName = 1 }").column, 3);
        assert!(err("[a, b]").message.contains("space-delimited"));
        assert_eq!(err("{}").column, 2);
    }

    #[test]
    fn limits() {
        assert!(err(&format!("{{ $.a = \"{}\" }}", "x".repeat(1100)))
            .message
            .contains("1024"));
        assert!(err("{ $.a = %a% || $.b = %b% || $.c = %c% }")
            .message
            .contains("at most 2 regular"));
        assert!(err("{ $.a[*].b[*] = 1 }")
            .message
            .contains("at most one wildcard"));
        assert!(
            err("{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }")
                .message
                .contains("at most 3")
        );
        assert!(parse("{ $.a[*] = 1 || $.b[*] = 1 || $.c.* = 1 }").is_ok());
    }

    #[test]
    fn regex_character_set() {
        assert!(compile_regex(r"111\.111\.111\.1[0-9]{1,2}").is_ok());
        assert!(compile_regex(r"val.{2}").is_ok());
        assert!(compile_regex(r"^\d+\s\w#-$").is_ok());
        assert!(compile_regex("a(b)").unwrap_err().1.contains("parentheses"));
        assert!(compile_regex("a b").unwrap_err().1.contains("not allowed"));
        assert!(compile_regex("é").is_err());
        assert!(compile_regex(r"\q").is_err());
        let r = compile_regex(r"^a#b-c[a-z]$").unwrap();
        assert!(r.compiled.is_match("a#b-cq"));
        let r = compile_regex(r"\x41\d").unwrap();
        assert!(
            r.compiled.is_match("A1") && !r.compiled.is_match("A٣"),
            "\\d is ASCII digits only"
        );
    }
}
