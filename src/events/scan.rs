//! A validating JSON scanner over bytes, for the loader's fast path.
//!
//! It checks JSON syntax exactly as `serde_json` does when it skips a value (strings: escapes
//! and control characters; numbers: the JSON grammar; literals; nesting), but never builds
//! anything: callers ask for spans of the input. It is stricter than `serde_json` in one way
//! only (nesting is limited to [`MAX_DEPTH`], below serde_json's 128), and it does not describe
//! errors: on any error the caller falls back to the `serde_json` path, which accepts or rejects
//! the input itself and says why. So the fast path can only ever agree with the slow one, and
//! the tests check that it does.
//!
//! Strings are scanned 16 bytes at a time with SSE2 on x86-64 (part of the x86-64 baseline, so
//! no runtime detection is needed), a byte at a time elsewhere.

/// Deepest nesting the scanner follows; deeper input goes to the `serde_json` path.
pub const MAX_DEPTH: usize = 100;

/// The fast path does not take this input: it is not valid JSON here, is nested deeper than
/// [`MAX_DEPTH`], or is a case the caller leaves to `serde_json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

pub type Result<T> = std::result::Result<T, Fallback>;

/// A cursor over JSON text.
pub struct Scanner<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
    /// Deepest nesting followed; [`MAX_DEPTH`] unless the text is known to be valid JSON.
    pub max_depth: usize,
    /// Set when whitespace between tokens was skipped (callers reset it).
    pub spaced: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str, pos: usize) -> Self {
        Scanner {
            bytes: text.as_bytes(),
            pos,
            max_depth: MAX_DEPTH,
            spaced: false,
        }
    }

    /// The byte at the cursor, if any.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    pub fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
            self.spaced = true;
        }
    }

    /// Skips whitespace, then consumes `byte`.
    #[inline]
    pub fn expect(&mut self, byte: u8) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    #[inline]
    pub fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes a string whose opening quote is at the cursor. Returns the span of its content
    /// (between the quotes) and whether it holds an escape sequence.
    #[inline]
    pub fn string(&mut self) -> Result<(usize, usize, bool)> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = find_special(self.bytes, i);
            match self.bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok((start, i, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    i = self.escape(i + 1)?;
                }
                // A control character, or the end of the input.
                _ => return Err(Fallback),
            }
        }
    }

    /// Checks the escape whose letter is at `i`; returns the index after it. A `\u` escape needs
    /// four hex digits; whether they form a valid code point is not checked, as serde_json does
    /// not check it when skipping a string.
    fn escape(&self, i: usize) -> Result<usize> {
        match self.bytes.get(i) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 1),
            Some(b'u') => {
                let hex = self.bytes.get(i + 1..i + 5).ok_or(Fallback)?;
                if hex.iter().all(u8::is_ascii_hexdigit) {
                    Ok(i + 5)
                } else {
                    Err(Fallback)
                }
            }
            _ => Err(Fallback),
        }
    }

    /// Consumes a number starting at the cursor (JSON's grammar, as serde_json checks it).
    fn number(&mut self) -> Result<()> {
        let b = self.bytes;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => return Err(Fallback),
        }
        if b.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return Err(Fallback);
            }
            i = end;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return Err(Fallback);
            }
            i = end;
        }
        self.pos = i;
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    /// Skips whitespace and one JSON value of any kind, checking its syntax; returns the start
    /// of the value. `depth` is the nesting the value sits in (0 at the top level).
    pub fn value(&mut self, depth: usize) -> Result<usize> {
        self.skip_ws();
        let start = self.pos;
        // Open containers, innermost last: true for an object.
        let mut open: Vec<bool> = Vec::new();
        loop {
            // A value starts at the cursor (after whitespace).
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'{') => {
                    if depth + open.len() >= self.max_depth {
                        return Err(Fallback);
                    }
                    self.pos += 1;
                    if !self.eat(b'}') {
                        open.push(true);
                        self.key_colon()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    if depth + open.len() >= self.max_depth {
                        return Err(Fallback);
                    }
                    self.pos += 1;
                    if !self.eat(b']') {
                        open.push(false);
                        continue;
                    }
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(Fallback),
            }
            // After a value: close containers until one continues with a comma.
            loop {
                let Some(&is_object) = open.last() else {
                    return Ok(start);
                };
                self.skip_ws();
                match (self.peek(), is_object) {
                    (Some(b','), true) => {
                        self.pos += 1;
                        self.key_colon()?;
                        break;
                    }
                    (Some(b','), false) => {
                        self.pos += 1;
                        break;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.pos += 1;
                        open.pop();
                    }
                    _ => return Err(Fallback),
                }
            }
        }
    }

    /// An object key and its colon.
    fn key_colon(&mut self) -> Result<()> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(Fallback);
        }
        self.string()?;
        self.expect(b':')
    }
}

/// Index of the first byte at or after `i` that ends a plain run of string content (`"`, `\`
/// or a control character), or `bytes.len()`.
#[inline]
fn find_special(bytes: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline, and every load reads 16 bytes that lie
        // within `bytes` (`i + 16 <= bytes.len()`).
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let control_max = _mm_set1_epi8(0x1f);
            while i + 16 <= bytes.len() {
                let v = _mm_loadu_si128(bytes.as_ptr().add(i).cast::<__m128i>());
                // v <= 0x1f (unsigned) exactly when max(v, 0x1f) == 0x1f.
                let control = _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max);
                let hits = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                    control,
                );
                let mask = _mm_movemask_epi8(hits);
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while let Some(&c) = bytes.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skips(text: &str) -> bool {
        let mut s = Scanner::new(text, 0);
        s.value(0).is_ok() && {
            s.skip_ws();
            s.pos == text.len()
        }
    }

    fn serde_skips(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn agrees_with_serde_json_on_examples() {
        let cases = [
            r#"{"a":[1,-2.5e+3,0,true,false,null,"x\"y\u00e9\n"],"b":{}}"#,
            "[]",
            "[ ]",
            " { } ",
            "\"\"",
            "-0",
            "0.0e0",
            "1E-7",
            "01",
            "1.",
            ".5",
            "+1",
            "-",
            "1e",
            "1e+",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"\\ud800\"",
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "\"unterminated",
            "\"long string with an escape past sixteen bytes \\\" and a quote\"",
            "\"0123456789abcdef0123456789abcdef\"",
            "{\"a\":[{\"b\":[[]]}]}",
            "[",
            "{",
            "}",
            "",
        ];
        for case in cases {
            assert_eq!(skips(case), serde_skips(case), "{case:?}");
        }
    }

    #[test]
    fn spans_of_strings() {
        let text = r#""plain" "esc\"aped""#;
        let mut s = Scanner::new(text, 0);
        assert_eq!(s.string(), Ok((1, 6, false)));
        s.skip_ws();
        let (a, b, esc) = s.string().unwrap();
        assert_eq!(&text[a..b], r#"esc\"aped"#);
        assert!(esc);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        assert!(!skips(&deep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(skips(&ok));
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(
            !skips(&too_deep),
            "deeper than MAX_DEPTH goes to serde_json"
        );
    }
}
