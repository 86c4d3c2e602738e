//! Vectors in: a float32, C-contiguous numpy array is read in place (no copy, and the GIL is
//! released while the engine reads it); anything else array-like (lists, float64, int arrays,
//! strided or Fortran-ordered views, big-endian data) is converted once by numpy to that form.
//! Things that are not numbers (strings, objects, complex) are a `TypeError` naming the dtype.
//!
//! While a call reads an array with the GIL released, other Python threads must not write to it
//! (numpy's own rule for code that releases the GIL, as in hnswlib or faiss).

use numpy::{Ix1, Ix2, PyArray, PyArrayMethods, PyReadonlyArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

use crate::errors::invalid;

static ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static CONTIGUOUS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// One vector: borrowed from a numpy array, or converted from a list.
pub enum Vector<'py> {
    /// A float32 C-contiguous array, read in place.
    Array(PyReadonlyArray<'py, f32, Ix1>),
    /// Converted from a Python list of numbers.
    Owned(Vec<f32>),
}

impl Vector<'_> {
    /// The components.
    pub fn as_slice(&self) -> &[f32] {
        match self {
            // Checked C-contiguous when built; an empty slice would only fail validation.
            Vector::Array(a) => a.as_slice().unwrap_or(&[]),
            Vector::Owned(v) => v,
        }
    }
}

/// A 2-D batch of vectors (`n × dims`), always a float32 C-contiguous array.
pub struct Rows<'py> {
    array: PyReadonlyArray<'py, f32, Ix2>,
}

impl Rows<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.array.shape()[0]
    }

    /// The rows as slices of the one buffer.
    pub fn rows(&self) -> Vec<&[f32]> {
        let dims = self.array.shape()[1];
        let data = self.array.as_slice().unwrap_or(&[]);
        if dims == 0 {
            return vec![&[][..]; self.len()];
        }
        data.chunks_exact(dims).collect()
    }
}

fn readonly<'py, D: numpy::ndarray::Dimension>(
    a: &Bound<'py, PyArray<f32, D>>,
) -> PyResult<Option<PyReadonlyArray<'py, f32, D>>> {
    if !a.is_c_contiguous() && a.len() > 0 {
        return Ok(None);
    }
    let ro = a.try_readonly().map_err(|e| PyTypeError::new_err(e.to_string()))?;
    Ok(ro.as_slice().is_ok().then_some(ro))
}

/// `numpy.ascontiguousarray(obj, dtype=float32)` after checking it holds numbers of `ndim` axes.
fn convert<'py>(obj: &Bound<'py, PyAny>, ndim: usize, what: &str) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let asarray = ASARRAY.import(py, "numpy", "asarray")?;
    let arr = asarray.call1((obj,)).map_err(|e| {
        PyTypeError::new_err(format!("{what} must be an array-like of numbers (float32); {}", e.value(py)))
    })?;
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let size: usize = arr.getattr("size")?.extract()?;
    if !matches!(kind.as_str(), "f" | "i" | "u") && size > 0 {
        return Err(PyTypeError::new_err(format!("{what} must hold real numbers (float32), not dtype {dtype}")));
    }
    let got: usize = arr.getattr("ndim")?.extract()?;
    let arr = if got == ndim {
        arr
    } else if ndim == 2 && size == 0 {
        arr.call_method1("reshape", ((0, 0),))?
    } else {
        let shape = arr.getattr("shape")?;
        return Err(invalid(py, format!("{what} must be {ndim}-D, got shape {shape}")));
    };
    let contiguous = CONTIGUOUS.import(py, "numpy", "ascontiguousarray")?;
    let kw = pyo3::types::PyDict::new(py);
    kw.set_item("dtype", "float32")?;
    contiguous.call((arr,), Some(&kw))
}

/// One vector from a numpy array, a list, or any array-like.
pub fn vector<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Vector<'py>> {
    if let Ok(a) = obj.cast::<PyArray<f32, Ix1>>() {
        if let Some(ro) = readonly(a)? {
            return Ok(Vector::Array(ro));
        }
    } else if obj.is_instance_of::<PyList>() {
        if let Ok(v) = obj.extract::<Vec<f32>>() {
            return Ok(Vector::Owned(v));
        }
    }
    let arr = convert(obj, 1, what)?;
    let a = arr.cast::<PyArray<f32, Ix1>>()?;
    readonly(a)?.map(Vector::Array).ok_or_else(|| PyTypeError::new_err(format!("{what}: numpy gave no float32 array")))
}

/// A batch of vectors (`n × dims`) from a 2-D numpy array, a list of lists, or any array-like.
pub fn rows<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Rows<'py>> {
    if let Ok(a) = obj.cast::<PyArray<f32, Ix2>>() {
        if let Some(array) = readonly(a)? {
            return Ok(Rows { array });
        }
    }
    let arr = convert(obj, 2, what)?;
    let a = arr.cast::<PyArray<f32, Ix2>>()?;
    readonly(a)?
        .map(|array| Rows { array })
        .ok_or_else(|| PyTypeError::new_err(format!("{what}: numpy gave no float32 array")))
}
