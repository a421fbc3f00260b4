//! Escaping of attacker-controlled text (every record field, file name and path) for each
//! output format. One predicate, [`is_hostile`], says which characters must never reach an
//! output raw; each format shows them its own way, built on that predicate.

use std::borrow::Cow;
use std::io;

/// A character that could rewrite or reorder what a reader sees, or that a format cannot carry:
/// C0 and C1 controls and DEL (terminal escape sequences; XML 1.0 forbids most of C0), the
/// bidirectional formatting characters (U+202E can make `exe.txt` read `txt.exe`) and the
/// noncharacters U+FFFE and U+FFFF (not XML 1.0 characters).
pub fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{fffe}'
                | '\u{ffff}'
        )
}

/// `s` with every hostile character but those in `keep` shown as `\u{1b}`, `\u{202e}`: visible,
/// never dropped, so a reader sees that the text held one.
pub fn visible<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    let shown = |c: char| is_hostile(c) && !keep.contains(&c);
    if !s.chars().any(shown) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if shown(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One field of evidence for a terminal: every hostile character, line breaks included, shown.
pub fn terminal_escape(s: &str) -> String {
    visible(s, &[]).into_owned()
}

/// Text for a terminal: every hostile character but the line feed shown escaped.
pub fn terminal_text(s: &str) -> String {
    visible(s, &['\n']).into_owned()
}

/// Markdown-safe text (GitHub-flavoured). HTML is escaped (GitHub renders tags), Markdown's own
/// punctuation is backslash-escaped and line breaks become spaces, so record fields can neither
/// inject markup nor break a table; and no field becomes a link through GFM's autolink
/// extension: its URL (`http://`, `https://`, `ftp://`) and `www.` autolinks are recognised on
/// the raw text, so escaping the `:` of `://` and the `.` of `www.` stops them; e-mail autolinks
/// (also `mailto:` and `xmpp:`) are found on the text once parsed, where an escape has already
/// gone, so an empty `<wbr>` element (no visible change, allowed by GitHub's sanitiser) splits
/// the text before each `@`.
pub fn markdown_escape(s: &str) -> String {
    let s = visible(s, &['\n', '\r', '\t']);
    let mut out = String::with_capacity(s.len() + 8);
    for (i, c) in s.char_indices() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' | '\t' => out.push(' '),
            '@' => out.push_str("<wbr>@"),
            ':' if s[i + 1..].starts_with('/') => out.push_str("\\:"),
            '.' if i >= 3 && s.as_bytes()[i - 3..i].eq_ignore_ascii_case(b"www") => {
                out.push_str("\\.")
            }
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// HTML text or attribute value. Beyond the five markup characters, `` ` `` and `=` (attribute
/// contexts) and `{` `}` (so no client-side template engine that might one day process the page
/// can see `{{`) are escaped. Hostile characters are shown as `\u{..}` rather than isolated
/// (`<bdi>`): isolation keeps an override from reordering the page around it but still lets it
/// reorder the field itself, which is the spoof (a file name that reads backwards).
pub fn html_escape(s: &str) -> String {
    escape_markup(s, true)
}

/// XML 1.0 text or attribute value: every character in it is one XML 1.0 allows.
pub fn xml_escape(s: &str) -> String {
    escape_markup(s, false)
}

/// `&`, `<`, `>`, `"`, `'` and CR as character references, LF and tab kept, other hostile
/// characters shown as `\u{..}`; with `html`, also `` ` ``, `=`, `{` and `}`.
fn escape_markup(s: &str, html: bool) -> String {
    let s = visible(s, &['\n', '\t', '\r']);
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' if html => out.push_str("&#96;"),
            '=' if html => out.push_str("&#61;"),
            '{' if html => out.push_str("&#123;"),
            '}' if html => out.push_str("&#125;"),
            // The value kept exactly, but never a raw carriage return that rewrites the line
            // of a terminal showing the file.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// One CSV cell (RFC 4180): hostile characters shown as `\u{..}` (line breaks are kept, quoted);
/// a cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, CR first) is
/// prefixed with `'`, as OWASP recommends.
pub fn csv_cell(s: &str) -> String {
    let s = visible(s, &['\n', '\r', '\t']);
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let s = if formula {
        format!("'{s}")
    } else {
        s.into_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Valid JSON text with every hostile character written as a `\uXXXX` escape: the parsed value
/// is unchanged and the file is safe to view. Only string contents change: in valid JSON, the
/// only characters outside strings are ASCII punctuation, digits, letters of `true`, `false`,
/// `null` and the whitespace tab, LF, CR and space (kept); every other hostile character of a
/// valid JSON text is therefore inside a string.
pub fn json_text(text: &str) -> Cow<'_, str> {
    let escaped = |c: char| is_hostile(c) && !matches!(c, '\t' | '\n' | '\r');
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escaped(c) {
            // Every hostile character is in the Basic Multilingual Plane: one `\uXXXX`.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// serde_json's formatter `F` (pretty or compact) writing hostile characters of strings as
/// `\uXXXX` ([`json_text`]). serde_json hands the formatter string contents only through
/// `write_string_fragment` (and embedded raw JSON through `write_raw_fragment`), so nothing
/// else is touched.
pub struct SafeFormatter<F>(pub F);

macro_rules! delegate {
    ($($name:ident $(($arg:ident: $ty:ty))?),* $(,)?) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)?) -> io::Result<()> {
            self.0.$name(w $(, $arg)?)
        }
    )*};
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        w.write_all(json_text(fragment).as_bytes())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        w.write_all(json_text(fragment).as_bytes())
    }

    delegate!(
        begin_array,
        end_array,
        begin_array_value(first: bool),
        end_array_value,
        begin_object,
        end_object,
        begin_object_key(first: bool),
        end_object_key,
        begin_object_value,
        end_object_value,
    );
}

/// `value` as pretty-printed JSON into `w`, hostile characters escaped ([`SafeFormatter`]).
pub fn write_json<W: io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    value: &T,
) -> serde_json::Result<()> {
    let formatter = SafeFormatter(serde_json::ser::PrettyFormatter::new());
    value.serialize(&mut serde_json::Serializer::with_formatter(w, formatter))
}

/// `value` as JSON text, pretty or on one line, hostile characters escaped.
pub fn json_string<T: serde::Serialize + ?Sized>(
    value: &T,
    pretty: bool,
) -> serde_json::Result<String> {
    let mut out = Vec::new();
    if pretty {
        write_json(&mut out, value)?;
    } else {
        let formatter = SafeFormatter(serde_json::ser::CompactFormatter);
        value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out, formatter,
        ))?;
    }
    // serde_json writes UTF-8.
    Ok(String::from_utf8(out).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}[31mb\u{7}\u{0}\u{202e}c\u{ffff}\u{fffe}\u{85}\n";

    #[test]
    fn every_format_shows_hostile_characters() {
        assert_eq!(
            terminal_escape(HOSTILE),
            "a\\u{1b}[31mb\\u{7}\\u{0}\\u{202e}c\\u{ffff}\\u{fffe}\\u{85}\\u{a}"
        );
        assert!(terminal_text(HOSTILE).ends_with("\\u{85}\n"));
        for escaped in [
            html_escape(HOSTILE),
            xml_escape(HOSTILE),
            markdown_escape(HOSTILE),
            csv_cell(HOSTILE),
        ] {
            assert!(
                !escaped
                    .chars()
                    .any(|c| is_hostile(c) && !"\n\r\t".contains(c)),
                "{escaped:?}"
            );
            assert!(escaped.contains("202e"), "{escaped:?}");
        }
    }

    #[test]
    fn markup_escapes() {
        assert_eq!(
            markdown_escape("<script>alert(1)</script> | {{x}}"),
            "&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\| \\{\\{x\\}\\}"
        );
        assert_eq!(
            markdown_escape("see https://e.x, www.e.x, WWW.e.x, a@e.x, arn:aws:s3"),
            "see https\\://e.x, www\\.e.x, WWW\\.e.x, a<wbr>@e.x, arn:aws:s3"
        );
        assert_eq!(
            xml_escape("a<b & \"c\"\u{1}'"),
            "a&lt;b &amp; &quot;c&quot;\\u{1}&#39;"
        );
        assert_eq!(html_escape("\u{202e}{"), "\\u&#123;202e&#125;&#123;");
    }

    #[test]
    fn csv_cells() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd()"), "'=cmd()");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("a\u{1b}\nb"), "\"a\\u{1b}\nb\"");
    }

    #[test]
    fn json_keeps_the_value() {
        let value = serde_json::json!({ HOSTILE: [HOSTILE, 1.5, null] });
        for pretty in [true, false] {
            let text = json_string(&value, pretty).unwrap();
            assert!(!text.chars().any(|c| is_hostile(c) && c != '\n'), "{text}");
            assert!(
                text.contains("\\u202e") && text.contains("\\uffff"),
                "{text}"
            );
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&text).unwrap(),
                value
            );
        }
        let raw = serde_json::to_string(&value).unwrap();
        let safe = json_text(&raw);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
        let text = json_string(
            &serde_json::value::RawValue::from_string(raw).unwrap(),
            true,
        );
        assert!(text.unwrap().contains("\\u202e"));
    }
}
