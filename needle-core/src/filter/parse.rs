//! JSON → [`Filter`]: every structural and type error is reported here, so evaluation never fails.

use serde_json::{Map, Value};

use super::{Bound, CmpOp, FieldCond, FieldPath, Filter, Op};
use crate::{Error, Result};

const FIELD_OPS: &str = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $not";
const TOP_OPS: &str = "$and, $or, $not";

fn err(at: &str, msg: impl std::fmt::Display) -> Error {
    if at.is_empty() {
        Error::InvalidFilter(msg.to_string())
    } else {
        Error::InvalidFilter(format!("at '{at}': {msg}"))
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Filter {
    /// Parses a filter document (see the [module documentation](super) for the language).
    /// Errors are [`Error::InvalidFilter`] naming the offending path or operator.
    pub fn parse(v: &Value) -> Result<Filter> {
        parse_doc(v, "")
    }
}

fn all_of(mut clauses: Vec<Filter>) -> Filter {
    match clauses.len() {
        0 => Filter::All,
        1 => clauses.pop().expect("one"),
        _ => Filter::And(clauses),
    }
}

fn parse_doc(v: &Value, at: &str) -> Result<Filter> {
    let Value::Object(map) = v else {
        return Err(err(at, format!("a filter must be a JSON object, got {}", type_name(v))));
    };
    let mut clauses = Vec::with_capacity(map.len());
    for (key, val) in map {
        let here = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
        match key.as_str() {
            "$and" | "$or" => {
                let Value::Array(items) = val else {
                    return Err(err(&here, format!("{key} needs an array of filters, got {}", type_name(val))));
                };
                if items.is_empty() {
                    return Err(err(&here, format!("{key} needs at least one filter")));
                }
                let subs = items
                    .iter()
                    .enumerate()
                    .map(|(i, f)| parse_doc(f, &format!("{here}[{i}]")))
                    .collect::<Result<Vec<_>>>()?;
                clauses.push(if key == "$and" { Filter::And(subs) } else { Filter::Or(subs) });
            }
            "$not" => clauses.push(Filter::Not(Box::new(parse_doc(val, &here)?))),
            k if k.starts_with('$') => {
                return Err(err(
                    &here,
                    format!(
                        "unknown operator '{k}' here (filters combine with {TOP_OPS}; field operators are {FIELD_OPS})"
                    ),
                ));
            }
            _ => {
                let path =
                    FieldPath::new(key).map_err(|_| err(&here, "field path is empty or has an empty segment"))?;
                clauses.push(parse_field(&path, val, &here)?);
            }
        }
    }
    Ok(all_of(clauses))
}

fn is_operator_object(v: &Value) -> Option<&Map<String, Value>> {
    match v {
        Value::Object(m) if m.keys().any(|k| k.starts_with('$')) => Some(m),
        _ => None,
    }
}

fn field(path: &FieldPath, op: Op) -> Filter {
    Filter::Field(FieldCond { path: path.clone(), op })
}

/// `at` is where the clause is, for messages (the path, prefixed by enclosing `$and`/`$or`).
fn parse_field(path: &FieldPath, v: &Value, at: &str) -> Result<Filter> {
    let Some(ops) = is_operator_object(v) else {
        return Ok(field(path, Op::Eq(v.clone())));
    };
    if let Some(k) = ops.keys().find(|k| !k.starts_with('$')) {
        return Err(err(at, format!("an object mixes operators with the field name '{k}'")));
    }
    let mut clauses = Vec::with_capacity(ops.len());
    for (op, arg) in ops {
        let f = match op.as_str() {
            "$eq" => field(path, Op::Eq(arg.clone())),
            "$ne" => Filter::Not(Box::new(field(path, Op::Eq(arg.clone())))),
            "$gt" | "$gte" | "$lt" | "$lte" => {
                let cmp = match op.as_str() {
                    "$gt" => CmpOp::Gt,
                    "$gte" => CmpOp::Gte,
                    "$lt" => CmpOp::Lt,
                    _ => CmpOp::Lte,
                };
                let bound = match arg {
                    Value::Number(n) => Bound::Number(n.as_f64().unwrap_or(f64::NAN)),
                    Value::String(s) => Bound::Str(s.clone()),
                    other => {
                        return Err(err(at, format!("{op} needs a number or a string, got {}", type_name(other))))
                    }
                };
                field(path, Op::Cmp(cmp, bound))
            }
            "$in" | "$nin" => {
                let Value::Array(items) = arg else {
                    return Err(err(at, format!("{op} needs an array of values, got {}", type_name(arg))));
                };
                let f = field(path, Op::In(items.clone()));
                if op == "$in" {
                    f
                } else {
                    Filter::Not(Box::new(f))
                }
            }
            "$exists" => match arg {
                Value::Bool(true) => field(path, Op::Exists),
                Value::Bool(false) => Filter::Not(Box::new(field(path, Op::Exists))),
                other => return Err(err(at, format!("$exists needs true or false, got {}", type_name(other)))),
            },
            "$not" => {
                if is_operator_object(arg).is_none() {
                    return Err(err(at, format!("$not on a field needs an object of operators (e.g. {{\"$gt\": 5}}), got {}", type_name(arg))));
                }
                Filter::Not(Box::new(parse_field(path, arg, at)?))
            }
            "$and" | "$or" => {
                return Err(err(at, format!("{op} combines whole filters and cannot be used on a field; write {{\"{op}\": [{{\"{}\": ..}}, ..]}}", path.as_str())))
            }
            other => return Err(err(at, format!("unknown operator '{other}' (supported: {FIELD_OPS})"))),
        };
        clauses.push(f);
    }
    Ok(all_of(clauses))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bad(v: Value) -> String {
        match Filter::parse(&v) {
            Err(Error::InvalidFilter(m)) => m,
            other => panic!("{v} parsed: {other:?}"),
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(Filter::parse(&json!({})).unwrap(), Filter::All);
        let f = Filter::parse(&json!({"a": 1})).unwrap();
        assert!(matches!(f, Filter::Field(FieldCond { op: Op::Eq(_), .. })));
        let f = Filter::parse(&json!({"a": {"$gte": 1, "$lt": 3}, "b.c": {"$ne": "x"}})).unwrap();
        let Filter::And(parts) = f else { panic!() };
        assert_eq!(parts.len(), 2);
        assert!(matches!(&parts[1], Filter::Not(_)));
        // A plain object is a literal for equality.
        let f = Filter::parse(&json!({"a": {"x": 1}})).unwrap();
        assert!(matches!(f, Filter::Field(FieldCond { op: Op::Eq(Value::Object(_)), .. })));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(bad(json!({"a": {"$foo": 1}})).contains("unknown operator '$foo'"));
        assert!(bad(json!({"$foo": []})).contains("unknown operator '$foo'"));
        assert!(bad(json!({"a": {"$gt": true}})).contains("$gt needs a number or a string"));
        assert!(bad(json!({"a": {"$lte": [1]}})).contains("got an array"));
        assert!(bad(json!({"a": {"$in": 3}})).contains("$in needs an array"));
        assert!(bad(json!({"a": {"$exists": "yes"}})).contains("$exists needs true or false"));
        assert!(bad(json!({"$and": []})).contains("at least one"));
        assert!(bad(json!({"$or": {"a": 1}})).contains("needs an array"));
        assert!(bad(json!({"a": {"$gt": 1, "b": 2}})).contains("mixes operators"));
        assert!(bad(json!({"a..b": 1})).contains("empty segment"));
        assert!(bad(json!({"a": {"$not": 3}})).contains("$not on a field"));
        assert!(bad(json!([1])).contains("must be a JSON object"));
        assert!(bad(json!({"$or": [{"a": {"$bad": 1}}]})).contains("$or[0]"));
        assert!("{not json".parse::<Filter>().is_err());
    }
}
