//! CloudFormation and SAM templates (YAML with the short-form tags, or JSON) -> the monitoring
//! chain they declare. Intrinsic functions are resolved within the template: `Ref` (parameters
//! with a `Default`, pseudo parameters, resources), `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
//! `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::If` with the template's conditions. What
//! only the deployment knows (a parameter without a default, `Fn::ImportValue`) is unresolved.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::model::{self, Diagnostic, Location, Resolved, Stack};
use super::node::{Kind, Node, Pos};

/// Whether a parsed document is a CloudFormation template.
pub fn is_template(doc: &Node) -> bool {
    doc.get("AWSTemplateFormatVersion").is_some()
        || doc.get("Resources").is_some_and(|r| {
            r.entries().iter().any(|(_, _, res)| {
                res.get("Type")
                    .and_then(Node::as_str)
                    .is_some_and(|t| t.starts_with("AWS::") || t.starts_with("Custom::"))
            })
        })
}

struct Template<'a> {
    file: &'a Path,
    doc: &'a Node,
    account: String,
    label: String,
}

/// Reads the chain out of one template; the stack is labelled with the file's path.
pub fn read(file: &Path, doc: &Node, label: &str) -> Stack {
    let t = Template {
        file,
        doc,
        account: model::account_of(label),
        label: label.to_string(),
    };
    let mut stack = Stack {
        label: label.to_string(),
        ..Stack::default()
    };
    let resources = doc.get("Resources").map(Node::entries).unwrap_or_default();
    for (id, id_at, res) in resources {
        let at = t.loc(*id_at);
        let ty = res.get("Type").and_then(Node::as_str).unwrap_or_default();
        if let Some((cond, cond_at)) = res
            .entry("Condition")
            .and_then(|(p, c)| Some((c.as_str()?, p)))
        {
            match t.condition(cond, 0) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(d) => stack.unresolved.push(t.loc(cond_at).diag(format!(
                    "whether {id} is created (Condition {cond}): {}",
                    d.message
                ))),
            }
        }
        let empty = Node {
            at: res.at,
            kind: Kind::Map(Vec::new()),
        };
        let props = res.get("Properties").unwrap_or(&empty);
        let prop = |name: &str| -> Option<(Location, Resolved<Value>)> {
            let (p, n) = props.entry(name)?;
            Some((t.loc(p), t.eval(n, 0)))
        };
        let string = |name: &str| -> Option<Resolved<String>> {
            prop(name).map(|(at, v)| v.and_then(|v| as_string(&v, &at, name)))
        };
        let boolean = |name: &str, default: bool| -> Resolved<bool> {
            match prop(name) {
                None => Ok(default),
                Some((at, v)) => v.and_then(|v| as_bool(&v, &at, name)),
            }
        };
        let named = |prop: &str| -> String {
            match string(prop) {
                Some(Ok(n)) => n,
                _ => id.clone(),
            }
        };
        match ty {
            "AWS::CloudTrail::Trail" => stack.trails.push(model::Trail {
                name: named("TrailName"),
                multi_region: boolean("IsMultiRegionTrail", false),
                logging: boolean("IsLogging", false),
                log_group: string("CloudWatchLogsLogGroupArn")
                    .map(|g| g.map(|arn| model::log_group_name(&arn))),
                at,
            }),
            "AWS::Logs::MetricFilter" => {
                let (pattern_at, pattern) = match prop("FilterPattern") {
                    Some((at, v)) => (
                        at.clone(),
                        v.and_then(|v| as_string(&v, &at, "FilterPattern")),
                    ),
                    None => (at.clone(), Ok(String::new())),
                };
                let transformation = props
                    .entry("MetricTransformations")
                    .map(|(p, n)| (t.loc(p), t.eval(n, 0)));
                let field = |key: &str| -> Resolved<String> {
                    let (tat, v) = transformation
                        .clone()
                        .ok_or_else(|| at.diag("no MetricTransformations"))?;
                    let v = v?;
                    let first = match &v {
                        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
                        other => other.clone(),
                    };
                    as_string(
                        first.get(key).unwrap_or(&Value::Null),
                        &tat,
                        &format!("MetricTransformations {key}"),
                    )
                };
                stack.filters.push(model::MetricFilter {
                    name: named("FilterName"),
                    pattern,
                    pattern_at,
                    log_group: string("LogGroupName")
                        .unwrap_or_else(|| Err(at.diag("no LogGroupName"))),
                    metric: field("MetricName"),
                    namespace: field("MetricNamespace"),
                    at,
                });
            }
            "AWS::CloudWatch::Alarm" => {
                let (mut metric, mut namespace) = (string("MetricName"), string("Namespace"));
                // A metric math alarm: the first metric it reads.
                if metric.is_none() {
                    if let Some((mat, Ok(Value::Array(metrics)))) = prop("Metrics") {
                        let m = metrics
                            .iter()
                            .find_map(|m| m.pointer("/MetricStat/Metric").cloned());
                        let f = |k: &str| {
                            m.as_ref()
                                .and_then(|m| m.get(k))
                                .map(|v| as_string(v, &mat, k))
                        };
                        metric = f("MetricName");
                        namespace = f("Namespace");
                    }
                }
                let actions = match prop("AlarmActions") {
                    None => Vec::new(),
                    Some((aat, Ok(Value::Array(items)))) => items
                        .iter()
                        .map(|v| as_string(v, &aat, "AlarmActions"))
                        .collect(),
                    Some((aat, Ok(v))) => vec![as_string(&v, &aat, "AlarmActions")],
                    Some((_, Err(d))) => vec![Err(d)],
                };
                stack.alarms.push(model::Alarm {
                    name: named("AlarmName"),
                    metric: metric.unwrap_or_else(|| Err(at.diag("no MetricName"))),
                    namespace: namespace.unwrap_or_else(|| Err(at.diag("no Namespace"))),
                    actions_enabled: boolean("ActionsEnabled", true),
                    actions,
                    at,
                });
            }
            "AWS::SNS::Topic" => stack.topics.push(model::Topic {
                name: named("TopicName"),
                // Declared subscribers count, whatever their endpoints resolve to.
                inline_subscriptions: match props.get("Subscription").map(|n| &n.kind) {
                    Some(Kind::Seq(subs)) => subs.len(),
                    _ => 0,
                },
                at,
            }),
            "AWS::SNS::Subscription" => stack.subscriptions.push(model::Subscription {
                topic: string("TopicArn").unwrap_or_else(|| Err(at.diag("no TopicArn"))),
                at,
            }),
            _ => {}
        }
    }
    stack
}

fn as_string(v: &Value, at: &Location, what: &str) -> Resolved<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(at.diag(format!("{what} is not a string"))),
    }
}

fn as_bool(v: &Value, at: &Location, what: &str) -> Resolved<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(at.diag(format!("{what} is not a boolean"))),
    }
}

const MAX_DEPTH: usize = 64;

impl Template<'_> {
    fn loc(&self, p: Pos) -> Location {
        Location::new(self.file, p.line, p.column)
    }

    fn resource(&self, id: &str) -> Option<&Node> {
        self.doc.get("Resources")?.get(id)
    }

    /// The name a resource's `Ref` or `Fn::GetAtt` stands for: its name property, else (a name
    /// CloudFormation generates at deploy time) its logical id, which is as good for linking
    /// within the template.
    fn resource_name(&self, id: &str, res: &Node, depth: usize) -> Resolved<String> {
        let ty = res.get("Type").and_then(Node::as_str).unwrap_or_default();
        let prop = match ty {
            "AWS::Logs::LogGroup" => "LogGroupName",
            "AWS::SNS::Topic" => "TopicName",
            "AWS::CloudTrail::Trail" => "TrailName",
            "AWS::Logs::MetricFilter" => "FilterName",
            "AWS::CloudWatch::Alarm" => "AlarmName",
            _ => return Ok(id.to_string()),
        };
        match res.get("Properties").and_then(|p| p.entry(prop)) {
            Some((p, n)) => {
                let v = self.eval(n, depth + 1)?;
                as_string(&v, &self.loc(p), prop)
            }
            None => Ok(id.to_string()),
        }
    }

    fn reference(&self, name: &str, at: Pos, depth: usize) -> Resolved<Value> {
        let here = self.loc(at);
        match name {
            "AWS::AccountId" => return Ok(Value::String(self.account.clone())),
            "AWS::Region" => return Ok(Value::String(model::REGION.into())),
            "AWS::Partition" => return Ok(Value::String("aws".into())),
            "AWS::URLSuffix" => return Ok(Value::String("amazonaws.com".into())),
            "AWS::StackName" => return Ok(Value::String(self.label.clone())),
            "AWS::NoValue" => return Ok(Value::Null),
            _ if name.starts_with("AWS::") => {
                return Err(here.diag(format!("`Ref {name}` is known only at deploy time")))
            }
            _ => {}
        }
        if let Some(param) = self.doc.get("Parameters").and_then(|p| p.get(name)) {
            return match param.get("Default") {
                Some(d) => {
                    let v = self.eval(d, depth + 1)?;
                    let list = param
                        .get("Type")
                        .and_then(Node::as_str)
                        .is_some_and(|t| t.contains("List"));
                    Ok(match v {
                        Value::String(s) if list => Value::Array(
                            s.split(',')
                                .map(|p| Value::String(p.trim().into()))
                                .collect(),
                        ),
                        v => v,
                    })
                }
                None => Err(here.diag(format!(
                    "parameter {name} has no Default: its value is given at deploy time"
                ))),
            };
        }
        let Some(res) = self.resource(name) else {
            return Err(here.diag(format!("`Ref {name}`: no such parameter or resource")));
        };
        let ty = res.get("Type").and_then(Node::as_str).unwrap_or_default();
        let n = self.resource_name(name, res, depth)?;
        Ok(Value::String(match ty {
            "AWS::SNS::Topic" => model::topic_arn(&self.account, &n),
            _ => n,
        }))
    }

    fn get_att(&self, id: &str, attr: &str, at: Pos, depth: usize) -> Resolved<Value> {
        let here = self.loc(at);
        let res = self
            .resource(id)
            .ok_or_else(|| here.diag(format!("`Fn::GetAtt {id}.{attr}`: no such resource")))?;
        let ty = res.get("Type").and_then(Node::as_str).unwrap_or_default();
        let n = self.resource_name(id, res, depth)?;
        let a = &self.account;
        let r = model::REGION;
        Ok(Value::String(match (ty, attr) {
            ("AWS::Logs::LogGroup", "Arn") => format!("{}:*", model::log_group_arn(a, &n)),
            ("AWS::SNS::Topic", "TopicArn") => model::topic_arn(a, &n),
            ("AWS::SNS::Topic", "TopicName") => n,
            ("AWS::CloudTrail::Trail", "Arn") => model::trail_arn(a, &n),
            ("AWS::CloudWatch::Alarm", "Arn") => format!("arn:aws:cloudwatch:{r}:{a}:alarm:{n}"),
            _ => {
                return Err(here.diag(format!(
                    "`Fn::GetAtt {id}.{attr}` is known only at deploy time"
                )))
            }
        }))
    }

    fn condition(&self, name: &str, depth: usize) -> Resolved<bool> {
        let node = self
            .doc
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| self.loc(self.doc.at).diag(format!("no condition {name}")))?;
        self.truth(node, depth + 1)
    }

    fn truth(&self, node: &Node, depth: usize) -> Resolved<bool> {
        let here = self.loc(node.at);
        if depth > MAX_DEPTH {
            return Err(here.diag("conditions nested too deep"));
        }
        let (f, arg) = function(node).ok_or_else(|| here.diag("not a condition function"))?;
        let items = |arg: &Node| match &arg.kind {
            Kind::Seq(items) => items.clone(),
            _ => vec![arg.clone()],
        };
        match f {
            "Fn::Equals" => {
                let items = items(arg);
                let [a, b] = items.as_slice() else {
                    return Err(here.diag("Fn::Equals takes two values"));
                };
                Ok(self.eval(a, depth + 1)? == self.eval(b, depth + 1)?)
            }
            "Fn::Not" => Ok(!self.truth(&items(arg)[0], depth + 1)?),
            "Fn::And" => items(arg)
                .iter()
                .try_fold(true, |acc, c| Ok(acc && self.truth(c, depth + 1)?)),
            "Fn::Or" => items(arg)
                .iter()
                .try_fold(false, |acc, c| Ok(acc || self.truth(c, depth + 1)?)),
            "Condition" => self.condition(arg.as_str().unwrap_or_default(), depth + 1),
            _ => Err(here.diag(format!("{f} is not a condition function"))),
        }
    }

    /// The value of `node` with every intrinsic function resolved.
    fn eval(&self, node: &Node, depth: usize) -> Resolved<Value> {
        let here = self.loc(node.at);
        if depth > MAX_DEPTH {
            return Err(here.diag("references nested too deep (a cycle?)"));
        }
        if let Some((f, arg)) = function(node) {
            return self.call(f, arg, node.at, depth + 1);
        }
        Ok(match &node.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Num(s) | Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.eval(i, depth + 1))
                    // `AWS::NoValue` in a list removes the element.
                    .filter(|v| !matches!(v, Ok(Value::Null)))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, _, v)| Ok((k.clone(), self.eval(v, depth + 1)?)))
                    .collect::<Result<_, Diagnostic>>()?,
            ),
            Kind::Tagged(t, _) => return Err(here.diag(format!("unknown tag !{t}"))),
        })
    }

    fn call(&self, f: &str, arg: &Node, at: Pos, depth: usize) -> Resolved<Value> {
        let here = self.loc(at);
        let list = |n: &Node| -> Resolved<Vec<Value>> {
            match self.eval(n, depth)? {
                Value::Array(a) => Ok(a),
                _ => Err(here.diag(format!("{f} takes a list"))),
            }
        };
        let string = |v: &Value| as_string(v, &here, f);
        match f {
            "Ref" => self.reference(arg.as_str().unwrap_or_default(), at, depth),
            "Fn::GetAtt" => {
                let (id, attr) = match &arg.kind {
                    Kind::Str(s) => s.split_once('.').map(|(a, b)| (a.into(), b.into())),
                    Kind::Seq(items) => match items.as_slice() {
                        [a, b] => Some((
                            a.as_str().unwrap_or_default().to_string(),
                            string(&self.eval(b, depth)?)?,
                        )),
                        _ => None,
                    },
                    _ => None,
                }
                .ok_or_else(|| here.diag("Fn::GetAtt takes RESOURCE.ATTRIBUTE"))?;
                self.get_att(&id, &attr, at, depth)
            }
            "Fn::Sub" => {
                let (text, vars): (String, BTreeMap<String, Value>) = match &arg.kind {
                    Kind::Seq(items) if items.len() == 2 => {
                        let vars = match self.eval(&items[1], depth)? {
                            Value::Object(o) => o.into_iter().collect(),
                            _ => BTreeMap::new(),
                        };
                        (string(&self.eval(&items[0], depth)?)?, vars)
                    }
                    _ => (string(&self.eval(arg, depth)?)?, BTreeMap::new()),
                };
                self.sub(&text, &vars, at, depth).map(Value::String)
            }
            "Fn::Join" => {
                let Kind::Seq(items) = &arg.kind else {
                    return Err(here.diag("Fn::Join takes [DELIMITER, LIST]"));
                };
                let [delim, parts] = items.as_slice() else {
                    return Err(here.diag("Fn::Join takes [DELIMITER, LIST]"));
                };
                let delim = string(&self.eval(delim, depth)?)?;
                let parts: Vec<String> =
                    list(parts)?.iter().map(string).collect::<Result<_, _>>()?;
                Ok(Value::String(parts.join(&delim)))
            }
            "Fn::Select" => {
                let Kind::Seq(items) = &arg.kind else {
                    return Err(here.diag("Fn::Select takes [INDEX, LIST]"));
                };
                let [index, from] = items.as_slice() else {
                    return Err(here.diag("Fn::Select takes [INDEX, LIST]"));
                };
                let i: usize = string(&self.eval(index, depth)?)?
                    .parse()
                    .map_err(|_| here.diag("Fn::Select: the index is not a number"))?;
                list(from)?
                    .get(i)
                    .cloned()
                    .ok_or_else(|| here.diag("Fn::Select: index out of range"))
            }
            "Fn::Split" => {
                let Kind::Seq(items) = &arg.kind else {
                    return Err(here.diag("Fn::Split takes [DELIMITER, STRING]"));
                };
                let [delim, text] = items.as_slice() else {
                    return Err(here.diag("Fn::Split takes [DELIMITER, STRING]"));
                };
                let delim = string(&self.eval(delim, depth)?)?;
                let text = string(&self.eval(text, depth)?)?;
                Ok(Value::Array(
                    text.split(delim.as_str())
                        .map(|s| Value::String(s.into()))
                        .collect(),
                ))
            }
            "Fn::FindInMap" => {
                let keys: Vec<String> = list(arg)?.iter().map(string).collect::<Result<_, _>>()?;
                let [map, k1, k2] = keys.as_slice() else {
                    return Err(here.diag("Fn::FindInMap takes [MAP, KEY, KEY]"));
                };
                let v = self
                    .doc
                    .get("Mappings")
                    .and_then(|m| m.get(map))
                    .and_then(|m| m.get(k1))
                    .and_then(|m| m.get(k2))
                    .ok_or_else(|| {
                        here.diag(format!("Fn::FindInMap: no {map}/{k1}/{k2} in Mappings"))
                    })?;
                self.eval(v, depth)
            }
            "Fn::If" => {
                let Kind::Seq(items) = &arg.kind else {
                    return Err(here.diag("Fn::If takes [CONDITION, THEN, ELSE]"));
                };
                let [cond, then, other] = items.as_slice() else {
                    return Err(here.diag("Fn::If takes [CONDITION, THEN, ELSE]"));
                };
                let name = cond.as_str().unwrap_or_default();
                if self.condition(name, depth)? {
                    self.eval(then, depth)
                } else {
                    self.eval(other, depth)
                }
            }
            "Fn::ImportValue" => {
                Err(here
                    .diag("Fn::ImportValue: exported by another stack, known only at deploy time"))
            }
            other => Err(here.diag(format!("{other} is not resolved before deploy"))),
        }
    }

    /// `Fn::Sub`'s `${Name}`, `${Resource.Attribute}` and `${!Literal}`.
    fn sub(
        &self,
        text: &str,
        vars: &BTreeMap<String, Value>,
        at: Pos,
        depth: usize,
    ) -> Resolved<String> {
        let here = self.loc(at);
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| here.diag("Fn::Sub: an unclosed ${"))?;
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&as_string(v, &here, name)?);
            } else if let Some((id, attr)) = name.split_once('.') {
                out.push_str(&as_string(
                    &self.get_att(id, attr, at, depth)?,
                    &here,
                    name,
                )?);
            } else {
                out.push_str(&as_string(&self.reference(name, at, depth)?, &here, name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// An intrinsic function call: the short form (`!Sub x`) or the long (`{"Fn::Sub": x}`), as
/// the long form's name and the argument.
fn function(node: &Node) -> Option<(&str, &Node)> {
    match &node.kind {
        Kind::Tagged(tag, arg) => Some((
            match tag.as_str() {
                "Ref" => "Ref",
                "Condition" => "Condition",
                "GetAtt" => "Fn::GetAtt",
                "Sub" => "Fn::Sub",
                "Join" => "Fn::Join",
                "Select" => "Fn::Select",
                "Split" => "Fn::Split",
                "FindInMap" => "Fn::FindInMap",
                "If" => "Fn::If",
                "Equals" => "Fn::Equals",
                "Not" => "Fn::Not",
                "And" => "Fn::And",
                "Or" => "Fn::Or",
                "ImportValue" => "Fn::ImportValue",
                "GetAZs" => "Fn::GetAZs",
                "Base64" => "Fn::Base64",
                "Cidr" => "Fn::Cidr",
                _ => return None,
            },
            arg,
        )),
        Kind::Map(entries) if entries.len() == 1 => {
            let (k, _, v) = &entries[0];
            (k == "Ref" || k == "Condition" || k.starts_with("Fn::")).then_some((k.as_str(), v))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(text: &str) -> Stack {
        let doc = super::super::node::parse(text).unwrap();
        assert!(is_template(&doc));
        read(Path::new("t.yaml"), &doc, "t.yaml")
    }

    #[test]
    fn short_and_long_forms_resolve() {
        let s = stack(
            r#"
Parameters:
  Prefix: {Type: String, Default: cis}
  Email: {Type: String}
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Sub '${Prefix}-trail'}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      IsLogging: true
      IsMultiRegionTrail: 'true'
      CloudWatchLogsLogGroupArn: !GetAtt Group.Arn
  Filter:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: !Ref Group
      FilterPattern: !Join ['', ['{ $.eventName = ', '"StopLogging" }']]
      MetricTransformations:
        - {MetricName: !Sub '${Prefix}Changes', MetricNamespace: CIS, MetricValue: '1'}
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: cisChanges
      Namespace: CIS
      AlarmActions: [{"Ref": "Topic"}]
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      Subscription: [{Protocol: email, Endpoint: !Ref Email}]
"#,
        );
        assert_eq!(s.trails[0].log_group, Some(Ok("cis-trail".into())));
        assert_eq!(s.trails[0].multi_region, Ok(true));
        let f = &s.filters[0];
        assert_eq!(f.log_group, Ok("cis-trail".into()));
        assert_eq!(f.pattern, Ok(r#"{ $.eventName = "StopLogging" }"#.into()));
        assert_eq!((f.pattern_at.line, f.pattern_at.column), (19, 7));
        assert_eq!(f.metric, Ok("cisChanges".into()));
        assert_eq!(
            s.alarms[0].actions,
            [Ok(model::topic_arn("t.yaml", "Topic"))]
        );
        assert_eq!(s.topics[0].inline_subscriptions, 1);
    }

    #[test]
    fn a_parameter_without_default_is_unresolved_where_it_is_used() {
        let s = stack(
            "Parameters:\n  P: {Type: String}\nResources:\n  F:\n    Type: AWS::Logs::MetricFilter\n    Properties:\n      LogGroupName: g\n      FilterPattern: !Ref P\n",
        );
        let d = s.filters[0].pattern.clone().unwrap_err();
        assert_eq!((d.at.line, d.at.column), (8, 22));
        assert!(d.message.contains("parameter P has no Default"), "{d}");
    }
}
