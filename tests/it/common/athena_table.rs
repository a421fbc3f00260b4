//! AWS's Athena CloudTrail table rebuilt for DuckDB: its column types, a record as the row the
//! CloudTrail SerDe would read, and that row back as the record the table keeps.

#![allow(dead_code)]

use serde_json::{json, Map, Value};
use trailaudit::sql::table::{Field, Ty, COLUMNS};

pub fn duckdb_type(ty: Ty) -> String {
    let fields = |fs: &[Field]| {
        fs.iter()
            .map(|f| format!("\"{}\" {}", f.name, duckdb_type(f.ty)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match ty {
        Ty::Str | Ty::BoolText | Ty::Json => "VARCHAR".into(),
        Ty::Struct(fs) => format!("STRUCT({})", fields(fs)),
        Ty::ArrayOf(fs) => format!("STRUCT({})[]", fields(fs)),
        Ty::Map => "MAP(VARCHAR, VARCHAR)".into(),
    }
}

/// A record as a row of the table (what the CloudTrail SerDe would read), or why the table's
/// types cannot hold it.
pub fn to_row(record: &Value) -> Result<Map<String, Value>, String> {
    fn cell(v: Option<&Value>, ty: Ty, at: &str) -> Result<Value, String> {
        let v = match v {
            None | Some(Value::Null) => return Ok(Value::Null),
            Some(v) => v,
        };
        let misfit = || Err(format!("{at}: {v} in a {ty:?} column"));
        match ty {
            Ty::Str => match v {
                Value::String(_) => Ok(v.clone()),
                _ => misfit(),
            },
            Ty::BoolText => match v {
                Value::Bool(b) => Ok(json!(b.to_string())),
                _ => misfit(),
            },
            Ty::Json => Ok(json!(v.to_string())),
            Ty::Struct(fs) => match v {
                Value::Object(o) => {
                    let mut m = Map::new();
                    for f in fs {
                        m.insert(
                            f.name.into(),
                            cell(o.get(f.key), f.ty, &format!("{at}.{}", f.key))?,
                        );
                    }
                    Ok(Value::Object(m))
                }
                _ => misfit(),
            },
            Ty::ArrayOf(fs) => match v {
                Value::Array(items) => items
                    .iter()
                    .map(|i| cell(Some(i), Ty::Struct(fs), &format!("{at}[]")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                _ => misfit(),
            },
            Ty::Map => match v {
                Value::Object(o) if o.values().all(Value::is_string) => Ok(v.clone()),
                _ => misfit(),
            },
        }
    }
    let Value::Object(_) = record else {
        return Err("not an object".into());
    };
    let mut row = Map::new();
    for c in COLUMNS {
        row.insert(c.name.into(), cell(record.get(c.key), c.ty, c.key)?);
    }
    let day = record["eventTime"]
        .as_str()
        .and_then(|t| t.get(..10))
        .map(|d| d.replace('-', "/"));
    row.insert("timestamp".into(), json!(day));
    Ok(row)
}

/// The record the table keeps, back as JSON: NULL cells absent, JSON text parsed.
pub fn from_row(row: &Map<String, Value>) -> Value {
    fn back(v: &Value, ty: Ty) -> Option<Value> {
        match (v, ty) {
            (Value::Null, _) => None,
            (Value::String(s), Ty::BoolText) => Some(json!(s == "true")),
            (Value::String(s), Ty::Json) => serde_json::from_str(s).ok(),
            (Value::Object(o), Ty::Struct(fs)) => {
                let mut m = Map::new();
                for f in fs {
                    if let Some(v) = o.get(f.name).and_then(|v| back(v, f.ty)) {
                        m.insert(f.key.into(), v);
                    }
                }
                Some(Value::Object(m))
            }
            (Value::Array(items), Ty::ArrayOf(fs)) => Some(Value::Array(
                items
                    .iter()
                    .map(|i| back(i, Ty::Struct(fs)).unwrap_or(Value::Null))
                    .collect(),
            )),
            (v, _) => Some(v.clone()),
        }
    }
    let mut m = Map::new();
    for c in COLUMNS {
        if let Some(v) = row.get(c.name).and_then(|v| back(v, c.ty)) {
            m.insert(c.key.into(), v);
        }
    }
    Value::Object(m)
}

/// The start of every DuckDB script of the tests: the table of `spec.json` (`table`, `columns`)
/// made and filled from `rows.ndjson`, both in the directory given as the script's argument.
const BUILD_TABLE: &str = r#"import json, sys, duckdb
d = sys.argv[1]
spec = json.load(open(d + "/spec.json"))
con = duckdb.connect()
cols = ", ".join('"%s" %s' % (n, t) for n, t in spec["columns"].items())
con.execute("CREATE TABLE %s (%s)" % (spec["table"], cols))
con.execute("INSERT INTO %s SELECT * FROM read_json(?, columns=?, format='newline_delimited')" % spec["table"],
            [d + "/rows.ndjson", spec["columns"]])
"#;

/// `rest` run on the table [`BUILD_TABLE`] builds (`con`, `spec` and `d` in scope).
pub fn script(rest: &str) -> String {
    format!("{BUILD_TABLE}{rest}")
}
