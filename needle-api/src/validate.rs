//! Input checks shared by every write and search: bad input gets a typed error before it can
//! touch any state.

use needle_core::{Error, Result};

/// Longest accepted vector id, in bytes.
pub const MAX_ID_BYTES: usize = 1024;
/// Largest accepted `k`.
pub const MAX_K: usize = 100_000;

/// Largest accepted Euclidean norm of a vector (inserted or queried).
///
/// Finite components are not enough: `[3e38, 3e38]` has a squared norm of `inf` in `f32`, so its
/// cosine is `inf / inf` = NaN, which sorts before every number. Below this limit no built-in
/// distance between two accepted vectors can overflow: a squared Euclidean distance is at most
/// `(2 × 1e18)² = 4e36`, a dot product or product of norms at most `1e36`, a Manhattan distance
/// at most `2e18 × √dim` — all far below `f32::MAX ≈ 3.4e38`, with room for rounding.
pub const MAX_VECTOR_NORM: f64 = 1e18;

/// Checks length, finiteness, the norm limit ([`MAX_VECTOR_NORM`]) and (for cosine) a non-zero
/// norm.
pub(crate) fn vector(v: &[f32], dim: usize, rejects_zero: bool, metric: &str) -> Result<()> {
    stored_vector(v, dim, rejects_zero, metric)?;
    // In f64: the squares of f32 values cannot overflow there.
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm > MAX_VECTOR_NORM {
        return Err(Error::VectorTooLarge { norm, limit: MAX_VECTOR_NORM });
    }
    Ok(())
}

/// [`vector`] without the norm limit: for WAL records written before the limit existed, which
/// were acknowledged and must still replay (the search path ranks a NaN distance last and never
/// returns it).
pub(crate) fn stored_vector(v: &[f32], dim: usize, rejects_zero: bool, metric: &str) -> Result<()> {
    if v.len() != dim {
        return Err(Error::DimensionMismatch { expected: dim, got: v.len() });
    }
    if let Some((index, &value)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(Error::NonFiniteVector { index, value });
    }
    if rejects_zero && v.iter().all(|&x| x == 0.0) {
        return Err(Error::ZeroVector { metric: metric.to_string() });
    }
    Ok(())
}

/// An id that occurs twice among `items` (the smallest such), found by sorting positions: a
/// batch of a million ids costs 4 bytes each here, where a hash set of them would cost 16–32.
pub(crate) fn repeated_id<T>(items: &[T], id: impl Fn(&T) -> &str) -> Option<&str> {
    let mut order: Vec<u32> = (0..items.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| id(&items[a as usize]).cmp(id(&items[b as usize])));
    order
        .windows(2)
        .map(|w| (id(&items[w[0] as usize]), id(&items[w[1] as usize])))
        .find(|(a, b)| a == b)
        .map(|(a, _)| a)
}

/// Checks a vector id: non-empty, at most [`MAX_ID_BYTES`], no control characters.
pub(crate) fn id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::InvalidId("id must not be empty".into()));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(Error::InvalidId(format!("id is {} bytes; the limit is {MAX_ID_BYTES}", id.len())));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::InvalidId("id must not contain control characters".into()));
    }
    Ok(())
}

/// Checks metadata: absent or a JSON object. Filters, the hybrid text field and every face
/// address metadata by field name, so a bare `42`, string, array or `null` could never be matched;
/// it is refused at the write instead of being stored unreachable. (Old files and WAL records
/// holding such values still load: only new writes are checked.)
pub(crate) fn metadata(m: Option<&serde_json::Value>) -> Result<()> {
    use serde_json::Value;
    let got = match m {
        None | Some(Value::Object(_)) => return Ok(()),
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "an array",
    };
    Err(Error::InvalidArgument(format!("metadata must be a JSON object (e.g. {{\"title\": \"x\"}}), got {got}")))
}

/// Checks `k`.
pub(crate) fn k(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::InvalidArgument("k must be at least 1".into()));
    }
    if k > MAX_K {
        return Err(Error::InvalidArgument(format!("k = {k} exceeds the limit of {MAX_K}")));
    }
    Ok(())
}

/// Checks a collection name: 1–128 characters of `[A-Za-z0-9_.-]`, not starting with `.`, so it
/// is safe in file names and URLs.
pub fn collection_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid collection name {name:?}: use 1-128 characters of A-Z a-z 0-9 _ - . not starting with '.'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use needle_core::ErrorCode;

    #[test]
    fn rejects_bad_vectors() {
        assert_eq!(vector(&[1.0], 2, false, "l2").unwrap_err().code(), ErrorCode::DimensionMismatch);
        assert_eq!(vector(&[1.0, f32::NAN], 2, false, "l2").unwrap_err().code(), ErrorCode::NonFiniteVector);
        assert_eq!(vector(&[f32::INFINITY, 0.0], 2, false, "l2").unwrap_err().code(), ErrorCode::NonFiniteVector);
        assert_eq!(vector(&[0.0, 0.0], 2, true, "cosine").unwrap_err().code(), ErrorCode::ZeroVector);
        assert!(vector(&[0.0, 0.0], 2, false, "euclidean").is_ok());
    }

    #[test]
    fn rejects_vectors_whose_distances_would_overflow() {
        // Every component finite, yet the f32 squared norm is inf.
        let e = vector(&[3e38, 3e38], 2, true, "cosine").unwrap_err();
        assert_eq!(e.code(), ErrorCode::VectorTooLarge);
        assert!(e.to_string().contains("exceeds the limit"), "{e}");
        assert_eq!(vector(&[2e18, 0.0], 2, false, "euclidean").unwrap_err().code(), ErrorCode::VectorTooLarge);
        assert!(vector(&[1e18, 0.0], 2, false, "euclidean").is_ok());
        assert!(vector(&[7e17, 7e17], 2, false, "euclidean").is_ok());
        // Old WAL records still replay.
        assert!(stored_vector(&[3e38, 3e38], 2, true, "cosine").is_ok());
    }

    #[test]
    fn rejects_bad_ids_names_and_k() {
        assert!(id("").is_err());
        assert!(id(&"x".repeat(2000)).is_err());
        assert!(id("a\nb").is_err());
        assert!(id("doc-1 é").is_ok());
        assert!(k(0).is_err());
        assert!(k(1_000_000_000).is_err());
        assert!(collection_name("../../etc/passwd").is_err());
        assert!(collection_name("a/b").is_err());
        assert!(collection_name(".hidden").is_err());
        assert!(collection_name("docs_v2.1-x").is_ok());
    }

    #[test]
    fn metadata_is_an_object_or_absent() {
        use serde_json::json;
        assert!(metadata(None).is_ok());
        assert!(metadata(Some(&json!({"a": [1, 2]}))).is_ok());
        for bad in [json!(42), json!("x"), json!([1]), json!(null), json!(true)] {
            let e = metadata(Some(&bad)).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
            assert!(e.to_string().contains("metadata must be a JSON object"), "{e}");
        }
    }

    #[test]
    fn repeated_id_finds_a_repeat_anywhere() {
        let ids = ["b", "a", "c", "a"];
        assert_eq!(repeated_id(&ids, |s| s), Some("a"));
        assert_eq!(repeated_id(&["x", "y", "z"], |s| s), None);
        assert_eq!(repeated_id::<&str>(&[], |s| s), None);
        let many: Vec<String> = (0..1000).map(|i| i.to_string()).chain(["999".to_string()]).collect();
        assert_eq!(repeated_id(&many, |s| s.as_str()), Some("999"));
    }
}
