//! A YAML or JSON document as a tree whose every node and mapping key keeps its line and column,
//! and whose nodes keep their YAML tag (CloudFormation's short forms, `!Ref Name`). JSON is
//! read by the same parser: YAML 1.2 is a superset of it.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

/// 1-based line and column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub at: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Null,
    Bool(bool),
    /// As written (`300`, `1.5`).
    Num(String),
    Str(String),
    Seq(Vec<Node>),
    /// In document order, each key with where it is.
    Map(Vec<(String, Pos, Node)>),
    /// A local tag (`!Ref`) without its `!`, and the node it tags.
    Tagged(String, Box<Node>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, n)| n)
    }

    /// The value under `key` and where the key is.
    pub fn entry(&self, key: &str) -> Option<(Pos, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, p, n)| (*p, n)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) | Kind::Num(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Pos, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }
}

fn pos(m: &saphyr::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        column: m.col() as u32 + 1,
    }
}

/// Parses the first document of `text`; an error names its line and column.
pub fn parse(text: &str) -> Result<Node, String> {
    let docs = MarkedYamlOwned::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!("line {}, column {}: {}", m.line(), m.col() + 1, e.info())
    })?;
    let doc = docs.into_iter().next().ok_or("empty document")?;
    convert(doc, 0)
}

/// Deeper than any template: a hostile file cannot exhaust the stack.
const MAX_DEPTH: usize = 200;

fn convert(n: MarkedYamlOwned, depth: usize) -> Result<Node, String> {
    let at = pos(&n.span.start);
    if depth > MAX_DEPTH {
        return Err(format!("line {}: nested deeper than {MAX_DEPTH}", at.line));
    }
    let kind = match n.data {
        YamlDataOwned::Value(s) => match s {
            ScalarOwned::Null => Kind::Null,
            ScalarOwned::Boolean(b) => Kind::Bool(b),
            ScalarOwned::Integer(i) => Kind::Num(i.to_string()),
            ScalarOwned::FloatingPoint(f) => Kind::Num(f.to_string()),
            ScalarOwned::String(s) => Kind::Str(s),
        },
        YamlDataOwned::Representation(s, _, _) => Kind::Str(s),
        YamlDataOwned::Sequence(items) => Kind::Seq(
            items
                .into_iter()
                .map(|i| convert(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlDataOwned::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map {
                let key_at = pos(&k.span.start);
                let key = match convert(k, depth + 1)?.kind {
                    Kind::Str(s) | Kind::Num(s) => s,
                    Kind::Bool(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "line {}, column {}: a mapping key that is not a scalar",
                            key_at.line, key_at.column
                        ))
                    }
                };
                entries.push((key, key_at, convert(v, depth + 1)?));
            }
            Kind::Map(entries)
        }
        YamlDataOwned::Tagged(tag, inner) => {
            let inner = convert(*inner, depth + 1)?;
            if tag.handle == "!" {
                Kind::Tagged(tag.suffix.clone(), Box::new(inner))
            } else {
                // `!!str` and other core-schema tags: the value as it is.
                inner.kind
            }
        }
        YamlDataOwned::Alias(_) => {
            return Err(format!("line {}: YAML aliases are not supported", at.line))
        }
        YamlDataOwned::BadValue => Kind::Null,
    };
    Ok(Node { at, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keys_and_positions() {
        let n = parse("A:\n  Ref: x\nB: !Sub '${X}-y'\nC: [1, true]\n").unwrap();
        let (p, b) = n.entry("B").unwrap();
        assert_eq!((p.line, p.column), (3, 1));
        match &b.kind {
            Kind::Tagged(t, inner) => {
                assert_eq!(t, "Sub");
                assert_eq!(inner.as_str(), Some("${X}-y"));
            }
            k => panic!("{k:?}"),
        }
        let (p, _) = n.get("A").unwrap().entry("Ref").unwrap();
        assert_eq!((p.line, p.column), (2, 3));
        let json = parse("{\n  \"a\": {\"b\": \"c\"}\n}").unwrap();
        let (p, _) = json.get("a").unwrap().entry("b").unwrap();
        assert_eq!((p.line, p.column), (2, 9));
    }
}
