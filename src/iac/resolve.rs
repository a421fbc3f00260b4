//! Static evaluation of a Terraform root module and its local modules: variables' defaults (or
//! the module call's inputs), `locals`, references between resources, `${...}` templates and a
//! set of pure functions (`format`, `jsonencode`, `join`, ...), `count` and `for_each` over
//! what resolves. Evaluation runs in rounds until nothing more resolves, so declaration order
//! does not matter. Attributes known only after apply (an ARN of a resource the templates do
//! not name, a variable without default) stay unresolved, with where they are written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::Value;

use super::model::{self, Diagnostic, Location, Resolved, Stack};
use super::terraform::{self, Attr, Block, Module};

/// An evaluated block instance: each attribute's value (or why not) with its place, and its
/// nested blocks.
#[derive(Debug, Clone, Default)]
struct Evaluated {
    attrs: BTreeMap<String, (Location, Resolved<Value>)>,
    blocks: BTreeMap<String, Vec<Evaluated>>,
}

impl Evaluated {
    /// The object a reference sees: resolved attributes only; nested blocks as lists.
    fn value(&self) -> Value {
        let mut map = hcl::Map::new();
        for (k, (_, v)) in &self.attrs {
            if let Ok(v) = v {
                map.insert(k.clone(), v.clone());
            }
        }
        for (k, bs) in &self.blocks {
            map.insert(
                k.clone(),
                Value::Array(bs.iter().map(|b| b.value()).collect()),
            );
        }
        Value::Object(map)
    }

    fn resolved(&self) -> usize {
        self.attrs.values().filter(|(_, v)| v.is_ok()).count()
            + self
                .blocks
                .values()
                .flatten()
                .map(|b| b.resolved())
                .sum::<usize>()
    }
}

/// The key of one instance: none, `count.index` or `each.key`.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    None,
    Index(usize),
    Each(String, Value),
}

/// A resource or data block and its instances (or why they are unknown).
#[derive(Debug, Clone)]
struct Resource {
    block: usize,
    data: bool,
    instances: Resolved<Vec<(Key, Evaluated)>>,
}

/// A module instance: the root, or a call of a local module.
struct Instance {
    /// `module.a.module.b[...]` address prefix, empty for the root.
    address: String,
    module: std::rc::Rc<Module>,
    /// Inputs given by the calling block (attribute name -> value).
    inputs: BTreeMap<String, (Location, Resolved<Value>)>,
    locals: BTreeMap<String, (Location, Resolved<Value>)>,
    resources: Vec<Resource>,
    outputs: BTreeMap<String, Resolved<Value>>,
    /// Module calls: block index -> its instances (key, instance index), once known.
    calls: BTreeMap<usize, Resolved<Vec<(Key, usize)>>>,
}

pub struct Root {
    pub dir: PathBuf,
    pub label: String,
    instances: Vec<Instance>,
    /// Module directories read, by path.
    modules: BTreeMap<PathBuf, std::rc::Rc<Module>>,
    pub unresolved: Vec<Diagnostic>,
    pub file_errors: Vec<(PathBuf, String)>,
}

const MAX_ROUNDS: usize = 16;
const MAX_INSTANCES: usize = 10_000;
const MAX_MODULE_DEPTH: usize = 16;

/// Local module sources of `module`: the directories its `module` blocks name.
pub fn local_sources(module: &Module) -> Vec<PathBuf> {
    module
        .blocks
        .iter()
        .filter(|b| b.ty == "module")
        .filter_map(|b| local_source(&module.dir, b))
        .collect()
}

fn local_source(dir: &Path, block: &Block) -> Option<PathBuf> {
    let attr = block.attr("source")?;
    let source = literal_string(&attr.expr)?;
    (source.starts_with("./") || source.starts_with("../")).then(|| dir.join(source))
}

fn literal_string(e: &hcl::Expression) -> Option<String> {
    match e {
        hcl::Expression::String(s) => Some(s.clone()),
        hcl::Expression::TemplateExpr(t) => match t.as_ref() {
            hcl::TemplateExpr::QuotedString(s) if !s.contains("${") => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

impl Root {
    pub fn new(module: Module, label: &str) -> Root {
        let dir = module.dir.clone();
        let mut root = Root {
            dir: dir.clone(),
            label: label.to_string(),
            instances: Vec::new(),
            modules: BTreeMap::new(),
            unresolved: Vec::new(),
            file_errors: module.errors.clone(),
        };
        let module = std::rc::Rc::new(module);
        root.modules.insert(dir, module.clone());
        root.instances.push(Instance::new(String::new(), module));
        root
    }

    /// Every file read, the root's and its modules'.
    pub fn files(&self) -> Vec<PathBuf> {
        self.modules
            .values()
            .flat_map(|m| m.files.clone())
            .collect()
    }

    pub fn evaluate(&mut self) {
        let mut last = usize::MAX;
        for _ in 0..MAX_ROUNDS {
            for i in 0..self.instances.len() {
                self.round(i);
            }
            let now: usize =
                self.instances.iter().map(Instance::resolved).sum::<usize>() + self.instances.len();
            if now == last {
                break;
            }
            last = now;
        }
    }

    fn module(&mut self, dir: &Path) -> std::rc::Rc<Module> {
        let key = dir.to_path_buf();
        if let Some(m) = self.modules.get(&key) {
            return m.clone();
        }
        let m = terraform::load_module(dir);
        self.file_errors.extend(m.errors.iter().cloned());
        let m = std::rc::Rc::new(m);
        self.modules.insert(key, m.clone());
        m
    }

    /// The context an instance's expressions are evaluated in.
    fn context(&self, i: usize) -> Context<'static> {
        let inst = &self.instances[i];
        let mut ctx = functions();
        let mut vars = hcl::Map::new();
        for b in inst.module.blocks.iter().filter(|b| b.ty == "variable") {
            let Some(name) = b.labels.first() else {
                continue;
            };
            let value = match inst.inputs.get(name) {
                Some((_, Ok(v))) => Some(v.clone()),
                Some((_, Err(_))) => None,
                None => b.attr("default").and_then(|d| d.expr.evaluate(&ctx).ok()),
            };
            if let Some(v) = value {
                vars.insert(name.clone(), v);
            }
        }
        ctx.declare_var("var", Value::Object(vars));
        let locals: hcl::Map<String, Value> = inst
            .locals
            .iter()
            .filter_map(|(k, (_, v))| Some((k.clone(), v.clone().ok()?)))
            .collect();
        ctx.declare_var("local", Value::Object(locals));
        let mut types: BTreeMap<String, hcl::Map<String, Value>> = BTreeMap::new();
        let mut data: BTreeMap<String, hcl::Map<String, Value>> = BTreeMap::new();
        for r in &inst.resources {
            let block = &inst.module.blocks[r.block];
            let (Some(ty), Some(name)) = (block.labels.first(), block.labels.get(1)) else {
                continue;
            };
            let Ok(instances) = &r.instances else {
                continue;
            };
            let value = collection(instances.iter().map(|(k, e)| (k, e.value())));
            let target = if r.data { &mut data } else { &mut types };
            target
                .entry(ty.clone())
                .or_default()
                .insert(name.clone(), value);
        }
        for (ty, names) in types {
            ctx.declare_var(ty.as_str(), Value::Object(names));
        }
        ctx.declare_var(
            "data",
            Value::Object(
                data.into_iter()
                    .map(|(k, v)| (k, Value::Object(v)))
                    .collect(),
            ),
        );
        let mut modules = hcl::Map::new();
        for (block, calls) in &inst.calls {
            let Ok(calls) = calls else { continue };
            let Some(name) = inst.module.blocks[*block].labels.first() else {
                continue;
            };
            let value = collection(calls.iter().map(|(k, child)| {
                let outputs: hcl::Map<String, Value> = self.instances[*child]
                    .outputs
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.clone().ok()?)))
                    .collect();
                (k, Value::Object(outputs))
            }));
            modules.insert(name.clone(), value);
        }
        ctx.declare_var("module", Value::Object(modules));
        let dir = inst.module.dir.display().to_string();
        ctx.declare_var(
            "path",
            Value::Object(
                [
                    ("module".to_string(), Value::String(dir.clone())),
                    (
                        "root".to_string(),
                        Value::String(self.dir.display().to_string()),
                    ),
                    (
                        "cwd".to_string(),
                        Value::String(self.dir.display().to_string()),
                    ),
                ]
                .into_iter()
                .collect(),
            ),
        );
        ctx.declare_var(
            "terraform",
            Value::Object(
                [("workspace".to_string(), Value::String("default".into()))]
                    .into_iter()
                    .collect(),
            ),
        );
        ctx
    }

    fn round(&mut self, i: usize) {
        let module = self.instances[i].module.clone();
        let account = model::account_of(&self.label);
        // Locals.
        let ctx = self.context(i);
        for b in module.blocks.iter().filter(|b| b.ty == "locals") {
            for a in &b.attrs {
                let v = self.eval(i, a, &ctx);
                self.instances[i]
                    .locals
                    .insert(a.name.clone(), (a.at.clone(), v));
            }
        }
        // Resources and data sources.
        let ctx = self.context(i);
        let mut resources = Vec::new();
        for (bi, b) in module.blocks.iter().enumerate() {
            let data = b.ty == "data";
            if b.ty != "resource" && !data {
                continue;
            }
            let instances = self.keys(i, b, &ctx).map(|keys| {
                keys.into_iter()
                    .map(|key| {
                        let mut c = ctx.clone();
                        bind(&mut c, &key);
                        let mut e = self.eval_block(i, b, &c, 0);
                        computed(b, &mut e, &account, &self.instances[i].address, &key);
                        (key, e)
                    })
                    .collect()
            });
            resources.push(Resource {
                block: bi,
                data,
                instances,
            });
        }
        self.instances[i].resources = resources;
        // Outputs.
        let ctx = self.context(i);
        for b in module.blocks.iter().filter(|b| b.ty == "output") {
            let (Some(name), Some(value)) = (b.labels.first(), b.attr("value")) else {
                continue;
            };
            let v = self.eval(i, value, &ctx);
            self.instances[i].outputs.insert(name.clone(), v);
        }
        // Module calls: their instances and inputs.
        for (bi, b) in module.blocks.iter().enumerate() {
            if b.ty != "module" {
                continue;
            }
            let name = b.labels.first().cloned().unwrap_or_default();
            let Some(dir) = local_source(&module.dir, b) else {
                let at = b.attr("source").map_or(b.at.clone(), |a| a.at.clone());
                let d = at.diag(format!(
                    "module {name}: its source is not a local path, so its resources are not read"
                ));
                if !self.unresolved.contains(&d) {
                    self.unresolved.push(d);
                }
                continue;
            };
            let depth = self.instances[i].address.matches("module.").count();
            if depth >= MAX_MODULE_DEPTH || !dir.is_dir() {
                let d = b.at.diag(format!(
                    "module {name}: {} is not a directory that can be read",
                    dir.display()
                ));
                if !self.unresolved.contains(&d) {
                    self.unresolved.push(d);
                }
                continue;
            }
            if !matches!(self.instances[i].calls.get(&bi), Some(Ok(_))) {
                let keys = self.keys(i, b, &ctx);
                let calls = keys.map(|keys| {
                    keys.into_iter()
                        .map(|key| {
                            let child = self.module(&dir);
                            let address = format!(
                                "{}module.{name}{}.",
                                self.instances[i].address,
                                key_suffix(&key)
                            );
                            self.instances.push(Instance::new(address, child));
                            (key, self.instances.len() - 1)
                        })
                        .collect()
                });
                self.instances[i].calls.insert(bi, calls);
            }
            let Some(Ok(calls)) = self.instances[i].calls.get(&bi).cloned() else {
                continue;
            };
            for (key, child) in calls {
                let mut c = ctx.clone();
                bind(&mut c, &key);
                let skip = [
                    "source",
                    "version",
                    "count",
                    "for_each",
                    "providers",
                    "depends_on",
                ];
                let inputs = b
                    .attrs
                    .iter()
                    .filter(|a| !skip.contains(&a.name.as_str()))
                    .map(|a| (a.name.clone(), (a.at.clone(), self.eval(i, a, &c))))
                    .collect();
                self.instances[child].inputs = inputs;
            }
        }
    }

    /// The instance keys of a resource or module block: one without `count`/`for_each`.
    fn keys(&self, i: usize, b: &Block, ctx: &Context) -> Resolved<Vec<Key>> {
        if let Some(a) = b.attr("count") {
            let v = self.eval(i, a, ctx)?;
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| a.at.diag(format!("count `{}` is not a number", a.text)))?;
            return Ok((0..(n as usize).min(MAX_INSTANCES))
                .map(Key::Index)
                .collect());
        }
        if let Some(a) = b.attr("for_each") {
            let v = self.eval(i, a, ctx)?;
            return match v {
                Value::Object(map) => Ok(map
                    .into_iter()
                    .take(MAX_INSTANCES)
                    .map(|(k, v)| Key::Each(k, v))
                    .collect()),
                Value::Array(items) => items
                    .into_iter()
                    .take(MAX_INSTANCES)
                    .map(|v| match &v {
                        Value::String(s) => Ok(Key::Each(s.clone(), v.clone())),
                        _ => Err(a
                            .at
                            .diag("for_each over a set of values that are not strings")),
                    })
                    .collect(),
                _ => Err(a.at.diag("for_each is not a map or a set")),
            };
        }
        Ok(vec![Key::None])
    }

    fn eval_block(&self, i: usize, b: &Block, ctx: &Context, depth: usize) -> Evaluated {
        let mut e = Evaluated::default();
        for a in &b.attrs {
            if matches!(
                a.name.as_str(),
                "count" | "for_each" | "depends_on" | "provider"
            ) {
                continue;
            }
            e.attrs
                .insert(a.name.clone(), (a.at.clone(), self.eval(i, a, ctx)));
        }
        if depth < 8 {
            for nb in &b.blocks {
                if nb.ty == "dynamic" || nb.ty == "lifecycle" {
                    continue;
                }
                let inner = self.eval_block(i, nb, ctx, depth + 1);
                e.blocks.entry(nb.ty.clone()).or_default().push(inner);
            }
        }
        e
    }

    fn eval(&self, i: usize, a: &Attr, ctx: &Context) -> Resolved<Value> {
        a.expr.evaluate(ctx).map_err(|error| {
            let inst = &self.instances[i];
            // The variable without a value says more than the evaluator's error.
            let missing = inst
                .module
                .blocks
                .iter()
                .filter(|b| b.ty == "variable")
                .filter_map(|b| b.labels.first().map(|n| (n, b)))
                .find(|(n, b)| {
                    mentions(&a.expr, &format!("var.{n}"))
                        && b.attr("default").is_none()
                        && !matches!(inst.inputs.get(*n), Some((_, Ok(_))))
                });
            let text = if a.text.is_empty() {
                String::new()
            } else {
                format!("`{}`: ", cut(&a.text, 80))
            };
            let why = match missing {
                Some((n, b)) => match inst.inputs.get(n) {
                    Some((at, Err(d))) => format!(
                        "variable {n} is given at {at} a value that is not resolved ({})",
                        d.message
                    ),
                    _ => format!(
                        "variable {n} ({}) has no default: its value is given at apply time",
                        b.at
                    ),
                },
                None => {
                    let m = error.kind().to_string();
                    if m.starts_with("no such key") || m.starts_with("undefined") {
                        format!("refers to a value not known before apply ({m})")
                    } else {
                        m
                    }
                }
            };
            a.at.diag(format!("{}{text}{why}", inst.address))
        })
    }

    /// The chain the root module and its modules declare.
    pub fn stack(&self) -> Stack {
        let mut stack = Stack {
            label: self.label.clone(),
            unresolved: self.unresolved.clone(),
            ..Stack::default()
        };
        for inst in &self.instances {
            for r in inst.resources.iter().filter(|r| !r.data) {
                let block = &inst.module.blocks[r.block];
                let (Some(ty), Some(name)) = (block.labels.first(), block.labels.get(1)) else {
                    continue;
                };
                let address = format!("{}{ty}.{name}", inst.address);
                let instances = match &r.instances {
                    Ok(list) => list.clone(),
                    Err(d) => {
                        // Its instances are unknown: one that is unresolved throughout stands for
                        // them, so a verdict that depends on them is not given.
                        let mut e = Evaluated::default();
                        for attr in &block.attrs {
                            e.attrs
                                .insert(attr.name.clone(), (attr.at.clone(), Err(d.clone())));
                        }
                        vec![(Key::None, e)]
                    }
                };
                for (key, e) in instances {
                    let label = format!("{address}{}", key_suffix(&key));
                    chain(&mut stack, ty, &label, &block.at, &e);
                }
            }
        }
        self.place_patterns(&mut stack);
        stack
    }

    /// A pattern that comes from elsewhere (`pattern = each.value` over a map of patterns) is
    /// pointed at where its text is written, when that is one place in the module's files.
    fn place_patterns(&self, stack: &mut Stack) {
        let texts: Vec<(PathBuf, String)> = self
            .files()
            .into_iter()
            .filter_map(|f| Some((f.clone(), std::fs::read_to_string(&f).ok()?)))
            .collect();
        for f in &mut stack.filters {
            let Ok(p) = &f.pattern else { continue };
            let hcl_quoted = format!(
                "\"{}\"",
                p.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace("${", "$${")
                    .replace('\n', "\\n")
            );
            let json_quoted = serde_json::to_string(p).unwrap_or_default();
            let mut found = Vec::new();
            for (file, text) in &texts {
                let quoted = if file.to_string_lossy().ends_with(".json") {
                    &json_quoted
                } else {
                    &hcl_quoted
                };
                for (offset, _) in text.match_indices(quoted.as_str()) {
                    let line = text[..offset].matches('\n').count() + 1;
                    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
                    let column = text[start..offset].chars().count() + 1;
                    found.push(Location::new(file, line as u32, column as u32));
                }
            }
            if let [at] = found.as_slice() {
                if at.file != f.pattern_at.file || at.line != f.pattern_at.line {
                    f.pattern_at = at.clone();
                }
            }
        }
    }
}

impl Instance {
    fn new(address: String, module: std::rc::Rc<Module>) -> Instance {
        Instance {
            address,
            module,
            inputs: BTreeMap::new(),
            locals: BTreeMap::new(),
            resources: Vec::new(),
            outputs: BTreeMap::new(),
            calls: BTreeMap::new(),
        }
    }

    fn resolved(&self) -> usize {
        let ok = |m: &BTreeMap<String, (Location, Resolved<Value>)>| {
            m.values().filter(|(_, v)| v.is_ok()).count()
        };
        ok(&self.inputs)
            + ok(&self.locals)
            + self.outputs.values().filter(|v| v.is_ok()).count()
            + self
                .resources
                .iter()
                .map(|r| match &r.instances {
                    Ok(list) => 1 + list.iter().map(|(_, e)| e.resolved()).sum::<usize>(),
                    Err(_) => 0,
                })
                .sum::<usize>()
            + self.calls.values().filter(|c| c.is_ok()).count()
    }
}

fn mentions(e: &hcl::Expression, what: &str) -> bool {
    // The expression printed back as HCL names its references as written.
    hcl::format::to_string(e).is_ok_and(|s| {
        s.match_indices(what).any(|(i, _)| {
            !s[i + what.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
    })
}

fn cut(s: &str, n: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None => one_line,
    }
}

fn key_suffix(key: &Key) -> String {
    match key {
        Key::None => String::new(),
        Key::Index(n) => format!("[{n}]"),
        Key::Each(k, _) => format!("[{k:?}]"),
    }
}

fn bind(ctx: &mut Context, key: &Key) {
    match key {
        Key::None => {}
        Key::Index(n) => ctx.declare_var(
            "count",
            Value::Object(
                [("index".to_string(), Value::from(*n as u64))]
                    .into_iter()
                    .collect(),
            ),
        ),
        Key::Each(k, v) => ctx.declare_var(
            "each",
            Value::Object(
                [
                    ("key".to_string(), Value::String(k.clone())),
                    ("value".to_string(), v.clone()),
                ]
                .into_iter()
                .collect(),
            ),
        ),
    }
}

/// A resource's instances as a reference sees them: the object itself, a list (`count`) or an
/// object by key (`for_each`).
fn collection<'k>(items: impl Iterator<Item = (&'k Key, Value)>) -> Value {
    let items: Vec<(&Key, Value)> = items.collect();
    match items.first().map(|(k, _)| *k) {
        Some(Key::None) => items.into_iter().next().map(|(_, v)| v).unwrap_or_default(),
        Some(Key::Index(_)) => Value::Array(items.into_iter().map(|(_, v)| v).collect()),
        Some(Key::Each(..)) => Value::Object(
            items
                .into_iter()
                .map(|(k, v)| match k {
                    Key::Each(k, _) => (k.clone(), v),
                    _ => (String::new(), v),
                })
                .collect(),
        ),
        None => Value::Array(Vec::new()),
    }
}

/// Attributes AWS computes that the chain links by: ARNs and ids, from the names the templates
/// give (or, for a resource without one, its address: as good for linking within the stack).
fn computed(b: &Block, e: &mut Evaluated, account: &str, address: &str, key: &Key) {
    let (Some(ty), Some(name)) = (b.labels.first(), b.labels.get(1)) else {
        return;
    };
    let data = b.ty == "data";
    let get = |e: &Evaluated, k: &str| match e.attrs.get(k) {
        Some((_, Ok(Value::String(s)))) => Some(Ok(s.clone())),
        Some((_, Err(d))) => Some(Err(d.clone())),
        _ => None,
    };
    let fallback = format!("{address}{ty}.{name}{}", key_suffix(key));
    let set = |e: &mut Evaluated, k: &str, v: Resolved<String>| {
        e.attrs
            .entry(k.to_string())
            .or_insert_with(|| (b.at.clone(), v.map(Value::String)));
    };
    match (data, ty.as_str()) {
        (false, "aws_cloudwatch_log_group") | (true, "aws_cloudwatch_log_group") => {
            let n = get(e, "name").unwrap_or(Ok(fallback));
            set(e, "id", n.clone());
            set(e, "arn", n.map(|n| model::log_group_arn(account, &n)));
        }
        (_, "aws_sns_topic") => {
            let n = get(e, "name").unwrap_or(Ok(fallback));
            let arn = n.map(|n| model::topic_arn(account, &n));
            set(e, "arn", arn.clone());
            if !data {
                set(e, "id", arn);
            }
        }
        (false, "aws_cloudtrail") => {
            let n = get(e, "name").unwrap_or(Ok(fallback));
            set(e, "id", n.clone());
            set(e, "arn", n.map(|n| model::trail_arn(account, &n)));
        }
        (false, "aws_cloudwatch_log_metric_filter") => {
            let n = get(e, "name").unwrap_or(Ok(fallback));
            set(e, "id", n);
        }
        (false, "aws_cloudwatch_metric_alarm") => {
            let n = get(e, "alarm_name").unwrap_or(Ok(fallback));
            set(e, "id", n);
        }
        (true, "aws_caller_identity") => set(e, "account_id", Ok(account.to_string())),
        (true, "aws_region") => {
            set(e, "name", Ok(model::REGION.into()));
            set(e, "id", Ok(model::REGION.into()));
        }
        (true, "aws_partition") => {
            set(e, "partition", Ok("aws".into()));
            set(e, "dns_suffix", Ok("amazonaws.com".into()));
        }
        _ => {}
    }
}

fn string(e: &Evaluated, key: &str, at: &Location) -> Resolved<String> {
    match e.attrs.get(key) {
        Some((_, Ok(Value::String(s)))) => Ok(s.clone()),
        Some((_, Ok(Value::Number(n)))) => Ok(n.to_string()),
        Some((kat, Ok(_))) => Err(kat.diag(format!("{key} is not a string"))),
        Some((_, Err(d))) => Err(d.clone()),
        None => Err(at.diag(format!("no {key}"))),
    }
}

fn boolean(e: &Evaluated, key: &str, default: bool) -> Resolved<bool> {
    match e.attrs.get(key) {
        None | Some((_, Ok(Value::Null))) => Ok(default),
        Some((_, Ok(Value::Bool(b)))) => Ok(*b),
        Some((_, Ok(Value::String(s)))) if s == "true" || s == "false" => Ok(s == "true"),
        Some((kat, Ok(_))) => Err(kat.diag(format!("{key} is not a boolean"))),
        Some((_, Err(d))) => Err(d.clone()),
    }
}

/// A nested block's first instance, or an attribute holding an object or a list of objects
/// (`.tf.json`), as an evaluated block.
fn nested(e: &Evaluated, key: &str) -> Option<Evaluated> {
    if let Some(b) = e.blocks.get(key).and_then(|b| b.first()) {
        return Some(b.clone());
    }
    let (at, v) = e.attrs.get(key)?;
    let obj = match v {
        Ok(Value::Array(a)) => a.first().cloned()?,
        Ok(o @ Value::Object(_)) => o.clone(),
        Ok(_) => return None,
        Err(d) => {
            let mut out = Evaluated::default();
            for k in ["name", "namespace", "metric_name", "metric"] {
                out.attrs.insert(k.into(), (at.clone(), Err(d.clone())));
            }
            return Some(out);
        }
    };
    let mut out = Evaluated::default();
    if let Value::Object(map) = obj {
        for (k, v) in map {
            out.attrs.insert(k, (at.clone(), Ok(v)));
        }
    }
    Some(out)
}

fn chain(stack: &mut Stack, ty: &str, label: &str, at: &Location, e: &Evaluated) {
    let name = |key: &str| string(e, key, at).unwrap_or_else(|_| label.to_string());
    match ty {
        "aws_cloudtrail" => stack.trails.push(model::Trail {
            name: name("name"),
            at: at.clone(),
            multi_region: boolean(e, "is_multi_region_trail", false),
            logging: boolean(e, "enable_logging", true),
            log_group: e.attrs.contains_key("cloud_watch_logs_group_arn").then(|| {
                string(e, "cloud_watch_logs_group_arn", at).map(|a| model::log_group_name(&a))
            }),
        }),
        "aws_cloudwatch_log_metric_filter" => {
            let t = nested(e, "metric_transformation").unwrap_or_default();
            let pattern_at = e
                .attrs
                .get("pattern")
                .map_or(at.clone(), |(kat, _)| kat.clone());
            stack.filters.push(model::MetricFilter {
                name: name("name"),
                at: at.clone(),
                pattern: string(e, "pattern", at),
                pattern_at,
                log_group: string(e, "log_group_name", at),
                metric: string(&t, "name", at),
                namespace: string(&t, "namespace", at),
            });
        }
        "aws_cloudwatch_metric_alarm" => {
            let (mut metric, mut namespace) =
                (string(e, "metric_name", at), string(e, "namespace", at));
            // A metric math alarm: the first metric it reads.
            if !e.attrs.contains_key("metric_name") {
                if let Some(m) = e
                    .blocks
                    .get("metric_query")
                    .into_iter()
                    .flatten()
                    .find_map(|q| nested(q, "metric"))
                {
                    metric = string(&m, "metric_name", at);
                    namespace = string(&m, "namespace", at);
                }
            }
            let actions = match e.attrs.get("alarm_actions") {
                None => Vec::new(),
                Some((aat, Ok(Value::Array(items)))) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        _ => Err(aat.diag("an alarm action that is not a string")),
                    })
                    .collect(),
                Some((aat, Ok(_))) => vec![Err(aat.diag("alarm_actions is not a list"))],
                Some((_, Err(d))) => vec![Err(d.clone())],
            };
            stack.alarms.push(model::Alarm {
                name: name("alarm_name"),
                at: at.clone(),
                metric,
                namespace,
                actions_enabled: boolean(e, "actions_enabled", true),
                actions,
            });
        }
        "aws_sns_topic" => stack.topics.push(model::Topic {
            name: name("name"),
            at: at.clone(),
            inline_subscriptions: 0,
        }),
        "aws_sns_topic_subscription" => stack.subscriptions.push(model::Subscription {
            topic: string(e, "topic_arn", at),
            at: at.clone(),
        }),
        _ => {}
    }
}

/// The pure functions of Terraform's language that templates use to build names and patterns.
fn functions() -> Context<'static> {
    let mut ctx = Context::new();
    let any = || FuncDef::builder().variadic_param(ParamType::Any);
    ctx.declare_func("format", any().build(format));
    ctx.declare_func("jsonencode", any().build(jsonencode));
    ctx.declare_func("join", any().build(join));
    ctx.declare_func("concat", any().build(concat));
    ctx.declare_func("lower", any().build(|a| str1(a, |s| s.to_lowercase())));
    ctx.declare_func("upper", any().build(|a| str1(a, |s| s.to_uppercase())));
    ctx.declare_func(
        "trimspace",
        any().build(|a| str1(a, |s| s.trim().to_string())),
    );
    ctx.declare_func("tostring", any().build(|a| str1(a, |s| s.to_string())));
    ctx.declare_func("replace", any().build(replace));
    ctx.declare_func("toset", any().build(identity));
    ctx.declare_func("tolist", any().build(identity));
    ctx.declare_func("tomap", any().build(identity));
    ctx.declare_func("merge", any().build(merge));
    ctx.declare_func("lookup", any().build(lookup));
    ctx.declare_func("length", any().build(length));
    ctx.declare_func("element", any().build(element));
    ctx.declare_func("keys", any().build(keys));
    ctx.declare_func("values", any().build(values));
    ctx.declare_func("coalesce", any().build(coalesce));
    ctx.declare_func("split", any().build(split));
    ctx
}

fn args(a: FuncArgs) -> Vec<Value> {
    a.into_values()
}

fn text_of(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err("expected a string".into()),
    }
}

fn str1(a: FuncArgs, f: fn(&str) -> String) -> Result<Value, String> {
    let a = args(a);
    let s = text_of(a.first().ok_or("expects a string")?)?;
    Ok(Value::String(f(&s)))
}

fn identity(a: FuncArgs) -> Result<Value, String> {
    args(a)
        .into_iter()
        .next()
        .ok_or_else(|| "expects a value".into())
}

/// `format` with Terraform's verbs `%s`, `%d`, `%q`, `%v` and `%%`.
fn format(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let spec = text_of(a.first().ok_or("format expects a format string")?)?;
    let mut rest = a[1..].iter();
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('s' | 'd' | 'v' | 'q')) => {
                let v = rest.next().ok_or("format: too few arguments")?;
                let s = match v {
                    Value::Object(_) | Value::Array(_) => {
                        serde_json::to_string(v).map_err(|e| e.to_string())?
                    }
                    v => text_of(v)?,
                };
                if verb == 'q' {
                    out.push_str(&serde_json::to_string(&s).map_err(|e| e.to_string())?);
                } else {
                    out.push_str(&s);
                }
            }
            other => {
                return Err(format!(
                    "format: unsupported verb %{}",
                    other.unwrap_or(' ')
                ))
            }
        }
    }
    Ok(Value::String(out))
}

fn jsonencode(a: FuncArgs) -> Result<Value, String> {
    let v = args(a)
        .into_iter()
        .next()
        .ok_or("jsonencode expects a value")?;
    serde_json::to_string(&v)
        .map(Value::String)
        .map_err(|e| e.to_string())
}

fn join(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let sep = text_of(a.first().ok_or("join expects a separator")?)?;
    let mut parts = Vec::new();
    for list in &a[1..] {
        for v in list.as_array().ok_or("join expects lists")? {
            parts.push(text_of(v)?);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

fn concat(a: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for list in args(a) {
        out.extend(
            list.as_array()
                .ok_or("concat expects lists")?
                .iter()
                .cloned(),
        );
    }
    Ok(Value::Array(out))
}

fn replace(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let [s, from, to] = a.as_slice() else {
        return Err("replace expects 3 arguments".into());
    };
    let from = text_of(from)?;
    if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
        return Err("replace with a regular expression is not evaluated".into());
    }
    Ok(Value::String(text_of(s)?.replace(&from, &text_of(to)?)))
}

fn merge(a: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for m in args(a) {
        match m {
            Value::Object(o) => out.extend(o),
            Value::Null => {}
            _ => return Err("merge expects objects".into()),
        }
    }
    Ok(Value::Object(out))
}

fn lookup(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let map = a
        .first()
        .and_then(Value::as_object)
        .ok_or("lookup expects a map")?;
    let key = text_of(a.get(1).ok_or("lookup expects a key")?)?;
    map.get(&key)
        .cloned()
        .or_else(|| a.get(2).cloned())
        .ok_or_else(|| format!("lookup: no key {key}"))
}

fn length(a: FuncArgs) -> Result<Value, String> {
    let v = args(a).into_iter().next().ok_or("length expects a value")?;
    let n = match &v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        _ => return Err("length expects a collection".into()),
    };
    Ok(Value::from(n as u64))
}

fn element(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let list = a
        .first()
        .and_then(Value::as_array)
        .ok_or("element expects a list")?;
    let i = a
        .get(1)
        .and_then(Value::as_u64)
        .ok_or("element expects an index")? as usize;
    if list.is_empty() {
        return Err("element of an empty list".into());
    }
    Ok(list[i % list.len()].clone())
}

fn keys(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let map = a
        .first()
        .and_then(Value::as_object)
        .ok_or("keys expects a map")?;
    Ok(Value::Array(
        map.keys().map(|k| Value::String(k.clone())).collect(),
    ))
}

fn values(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let map = a
        .first()
        .and_then(Value::as_object)
        .ok_or("values expects a map")?;
    Ok(Value::Array(map.values().cloned().collect()))
}

fn coalesce(a: FuncArgs) -> Result<Value, String> {
    args(a)
        .into_iter()
        .find(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
        .ok_or_else(|| "coalesce: no non-empty argument".into())
}

fn split(a: FuncArgs) -> Result<Value, String> {
    let a = args(a);
    let sep = text_of(a.first().ok_or("split expects a separator")?)?;
    let s = text_of(a.get(1).ok_or("split expects a string")?)?;
    Ok(Value::Array(
        s.split(sep.as_str())
            .map(|p| Value::String(p.into()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let m = terraform::load_module(dir.path());
        let mut r = Root::new(m, "root");
        r.evaluate();
        (dir, r)
    }

    #[test]
    fn references_locals_for_each_and_modules_resolve() {
        let (_d, r) = root(&[
            (
                "main.tf",
                r#"
locals {
  filters = {
    stop = "{ $.eventName = \"StopLogging\" }"
  }
}
variable "prefix" { default = "cis" }
resource "aws_cloudwatch_log_group" "trail" { name = "${var.prefix}-trail" }
resource "aws_cloudtrail" "t" {
  name                       = format("%s-%s", var.prefix, "trail")
  is_multi_region_trail      = true
  cloud_watch_logs_group_arn = "${aws_cloudwatch_log_group.trail.arn}:*"
}
module "alarms" {
  source  = "./alarms"
  group   = aws_cloudwatch_log_group.trail.name
  filters = local.filters
}
"#,
            ),
            (
                "alarms/main.tf",
                r#"
variable "group" {}
variable "filters" {}
resource "aws_cloudwatch_log_metric_filter" "f" {
  for_each       = var.filters
  name           = each.key
  log_group_name = var.group
  pattern        = each.value
  metric_transformation {
    name      = each.key
    namespace = "CIS"
    value     = "1"
  }
}
"#,
            ),
        ]);
        let s = r.stack();
        assert_eq!(s.trails[0].name, "cis-trail");
        assert_eq!(s.trails[0].log_group, Some(Ok("cis-trail".into())));
        let f = &s.filters[0];
        assert_eq!(f.log_group, Ok("cis-trail".into()));
        assert_eq!(f.pattern, Ok(r#"{ $.eventName = "StopLogging" }"#.into()));
        assert_eq!(f.metric, Ok("stop".into()));
        // Pointed at where the pattern's text is written: the map entry in the root module.
        assert!(
            f.pattern_at.file.ends_with("/main.tf"),
            "{:?}",
            f.pattern_at
        );
        assert_eq!((f.pattern_at.line, f.pattern_at.column), (4, 12));
    }

    #[test]
    fn a_variable_without_default_is_named() {
        let (_d, r) = root(&[(
            "main.tf",
            "variable \"p\" {}\nresource \"aws_cloudwatch_log_metric_filter\" \"f\" {\n  name = \"f\"\n  pattern = var.p\n  log_group_name = \"g\"\n}\n",
        )]);
        let s = r.stack();
        let d = s.filters[0].pattern.clone().unwrap_err();
        assert_eq!((d.at.line, d.at.column), (4, 3));
        assert!(d.message.contains("variable p"), "{d}");
    }
}
