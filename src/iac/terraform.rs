//! Terraform (`.tf` in HCL, `.tf.json`) -> the blocks of each module directory, with where
//! every attribute is written. [`super::resolve`] evaluates them.

use std::path::{Path, PathBuf};

use hcl::edit::structure::{Body, Structure};
use hcl::edit::Span as _;

use super::model::Location;
use super::node::{self, Kind, Node};

/// A block (`resource "aws_sns_topic" "alerts" { ... }`), from HCL or from JSON.
#[derive(Debug, Clone)]
pub struct Block {
    pub ty: String,
    pub labels: Vec<String>,
    pub attrs: Vec<Attr>,
    pub blocks: Vec<Block>,
    /// The block's first line.
    pub at: Location,
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    pub expr: hcl::Expression,
    /// The attribute's name.
    pub at: Location,
    /// Its expression as written, for messages.
    pub text: String,
}

impl Block {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// The `.tf` and `.tf.json` files of one directory: one module.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub blocks: Vec<Block>,
    /// Files that could not be read or parsed, with why.
    pub errors: Vec<(PathBuf, String)>,
}

pub fn is_terraform(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tf") || n.ends_with(".tf.json"))
}

/// Reads the module in `dir` (its Terraform files, not its subdirectories).
pub fn load_module(dir: &Path) -> Module {
    let mut module = Module {
        dir: dir.to_path_buf(),
        ..Module::default()
    };
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_terraform(p))
            .collect(),
        Err(e) => {
            module
                .errors
                .push((dir.to_path_buf(), format!("cannot read: {e}")));
            return module;
        }
    };
    files.sort();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let parsed = if file.to_string_lossy().ends_with(".json") {
                    json_blocks(&file, &text)
                } else {
                    hcl_blocks(&file, &text)
                };
                match parsed {
                    Ok(blocks) => module.blocks.extend(blocks),
                    Err(e) => module.errors.push((file.clone(), e)),
                }
            }
            Err(e) => module
                .errors
                .push((file.clone(), format!("cannot read: {e}"))),
        }
        module.files.push(file);
    }
    module
}

/// Byte offsets -> 1-based line and column (in characters).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn at(&self, file: &Path, offset: usize) -> Location {
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Location::new(file, line as u32, column as u32)
    }
}

fn hcl_blocks(file: &Path, text: &str) -> Result<Vec<Block>, String> {
    let body: Body = hcl::edit::parser::parse_body(text).map_err(|e| {
        let l = e.location();
        format!("line {}, column {}: {}", l.line(), l.column(), e.message())
    })?;
    let lines = Lines::new(text);
    let top = convert_body(file, &lines, &body, 0);
    Ok(top.blocks)
}

const MAX_DEPTH: usize = 64;

fn convert_body(file: &Path, lines: &Lines, body: &Body, depth: usize) -> Block {
    let mut out = Block {
        ty: String::new(),
        labels: Vec::new(),
        attrs: Vec::new(),
        blocks: Vec::new(),
        at: Location::new(file, 1, 1),
    };
    if depth > MAX_DEPTH {
        return out;
    }
    for s in body.iter() {
        match s {
            Structure::Attribute(a) => {
                let at = lines.at(file, a.key.span().map_or(0, |r| r.start));
                let text = a
                    .value
                    .span()
                    .and_then(|r| lines.text.get(r))
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                out.attrs.push(Attr {
                    name: a.key.as_str().to_string(),
                    expr: hcl::Expression::from(a.value.clone()),
                    at,
                    text,
                });
            }
            Structure::Block(b) => {
                let mut block = convert_body(file, lines, &b.body, depth + 1);
                block.ty = b.ident.as_str().to_string();
                block.labels = b.labels.iter().map(|l| l.as_str().to_string()).collect();
                block.at = lines.at(file, b.ident.span().map_or(0, |r| r.start));
                out.blocks.push(block);
            }
        }
    }
    out
}

/// Terraform's JSON syntax: `{"resource": {"TYPE": {"NAME": {...}}}}`, `{"variable": {"NAME":
/// {...}}}`, `{"locals": {...}}`, `{"module": {"NAME": {...}}}`, `{"output": ...}`, `{"data":
/// ...}`. Strings are templates (`"${var.x}"`); objects are attributes (a nested block reads
/// the same as an object).
fn json_blocks(file: &Path, text: &str) -> Result<Vec<Block>, String> {
    let doc = node::parse(text)?;
    let loc = |p: node::Pos| Location::new(file, p.line, p.column);
    let mut blocks = Vec::new();
    // Each kind's value may be an object or a list of objects.
    let each = |n: &Node| -> Vec<Node> {
        match &n.kind {
            Kind::Seq(items) => items.clone(),
            _ => vec![n.clone()],
        }
    };
    for (kind, kat, v) in doc.entries() {
        let labels_depth = match kind.as_str() {
            "resource" | "data" => 2,
            "variable" | "module" | "output" | "provider" => 1,
            "locals" | "terraform" => 0,
            _ => continue,
        };
        for v in each(v) {
            walk_labels(
                kind,
                &v,
                labels_depth,
                Vec::new(),
                loc(*kat),
                &mut |b| blocks.push(b),
                &loc,
            );
        }
    }
    Ok(blocks)
}

fn walk_labels(
    ty: &str,
    n: &Node,
    depth: usize,
    labels: Vec<String>,
    at: Location,
    out: &mut dyn FnMut(Block),
    loc: &dyn Fn(node::Pos) -> Location,
) {
    if depth == 0 {
        let mut block = Block {
            ty: ty.to_string(),
            labels,
            attrs: Vec::new(),
            blocks: Vec::new(),
            at,
        };
        for (k, kat, v) in n.entries() {
            block.attrs.push(Attr {
                name: k.clone(),
                expr: json_expr(v, 0),
                at: loc(*kat),
                text: String::new(),
            });
        }
        out(block);
        return;
    }
    for (k, kat, v) in n.entries() {
        let mut l = labels.clone();
        l.push(k.clone());
        walk_labels(ty, v, depth - 1, l, loc(*kat), out, loc);
    }
}

fn json_expr(n: &Node, depth: usize) -> hcl::Expression {
    use hcl::Expression as E;
    if depth > MAX_DEPTH {
        return E::Null;
    }
    match &n.kind {
        Kind::Null => E::Null,
        Kind::Bool(b) => E::Bool(*b),
        Kind::Num(s) => s
            .parse::<i64>()
            .map(|i| E::Number(i.into()))
            .or_else(|_| {
                s.parse::<f64>()
                    .ok()
                    .and_then(hcl::Number::from_f64)
                    .map(E::Number)
                    .ok_or(())
            })
            .unwrap_or_else(|_| E::String(s.clone())),
        Kind::Str(s) => {
            // A JSON string is a template (`${...}` interpolations), taken as it is.
            E::TemplateExpr(Box::new(hcl::TemplateExpr::QuotedString(s.clone())))
        }
        Kind::Seq(items) => E::Array(items.iter().map(|i| json_expr(i, depth + 1)).collect()),
        Kind::Map(entries) => E::Object(
            entries
                .iter()
                .map(|(k, _, v)| {
                    (
                        hcl::ObjectKey::from(hcl::Identifier::sanitized(k)),
                        json_expr(v, depth + 1),
                    )
                })
                .collect(),
        ),
        Kind::Tagged(_, inner) => json_expr(inner, depth + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_positions_in_hcl() {
        let text = "resource \"aws_cloudwatch_log_metric_filter\" \"f\" {\n  name    = \"x\"\n  pattern = \"{ $.eventName = \\\"StopLogging\\\" }\"\n  metric_transformation {\n    name = \"m\"\n  }\n}\n";
        let blocks = hcl_blocks(Path::new("main.tf"), text).unwrap();
        let b = &blocks[0];
        assert_eq!(b.labels, ["aws_cloudwatch_log_metric_filter", "f"]);
        let p = b.attr("pattern").unwrap();
        assert_eq!((p.at.line, p.at.column), (3, 3));
        assert_eq!(b.blocks[0].ty, "metric_transformation");
        assert_eq!(b.blocks[0].attr("name").unwrap().at.line, 5);
    }

    #[test]
    fn json_syntax_is_read_as_blocks() {
        let text = "{\"resource\": {\"aws_sns_topic\": {\"t\": {\"name\": \"${var.n}\"}}},\n \"variable\": {\"n\": {\"default\": \"alerts\"}}}";
        let blocks = json_blocks(Path::new("main.tf.json"), text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].labels, ["aws_sns_topic", "t"]);
        assert_eq!(blocks[1].ty, "variable");
        assert_eq!(blocks[1].labels, ["n"]);
    }
}
