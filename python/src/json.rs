//! Metadata and filters: Python values ⇄ JSON values.
//!
//! Metadata is a JSON object, so the Python side is a `dict` with `str` keys whose values are
//! `None`, `bool`, `int`, `float`, `str`, lists/tuples and dicts of those. Anything else (bytes,
//! sets, NaN, integers beyond 64 bits) is a `TypeError`/`ValueError` naming the path to it, never
//! a silent conversion. Filters use the same conversion, then the engine's `Filter::parse`: the
//! dict is the Mongo-style filter document the Rust API and the HTTP server take.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting converted (the engine's JSON parser refuses deeper documents too).
const MAX_DEPTH: usize = 128;

/// A Python value as JSON; `path` names where it sits, for error messages.
pub fn to_json(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!("{path}: nested more than {MAX_DEPTH} levels deep")));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: True is an int in Python.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyValueError::new_err(format!("{path}: integer {obj} does not fit in 64 bits")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{path}: {v} is not a JSON number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!("{path}: keys must be str, got {}", type_name(&k))));
            };
            let key = key.to_cow()?;
            let value = to_json(&v, &format!("{path}.{key}"), depth + 1)?;
            map.insert(key.into_owned(), value);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            out.push(to_json(&item?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    // numpy scalars (np.float32, np.int64, np.bool_): 0-d, with a dtype; `.item()` is the Python value.
    if obj.hasattr("dtype")? && obj.getattr("ndim").and_then(|n| n.extract::<usize>()).is_ok_and(|n| n == 0) {
        let item = obj.call_method0("item")?;
        if !item.hasattr("dtype")? {
            return to_json(&item, path, depth + 1);
        }
    }
    Err(PyTypeError::new_err(format!(
        "{path}: {} is not JSON (use None, bool, int, float, str, list or dict)",
        type_name(obj)
    )))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// A JSON value as a Python object.
pub fn from_json<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(from_json(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, item) in map {
                d.set_item(k, from_json(py, item)?)?;
            }
            d.into_any()
        }
    })
}

/// Optional metadata: `None` stays `None`; anything else must be a dict (the engine refuses other
/// JSON values with `invalid_argument`, which it reports itself).
pub fn metadata(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Value>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => to_json(o, "metadata", 0).map(Some),
    }
}

/// A filter dict as an engine [`needle::Filter`].
pub fn filter(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<needle::Filter>> {
    use crate::errors::MapPy;
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if !o.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!("filter must be a dict, got {}", type_name(o))));
    }
    let v = to_json(o, "filter", 0)?;
    needle::Filter::parse(&v).map(Some).map_py(py)
}
