//! Readers and writers for the TEXMEX vector formats (`.fvecs`, `.ivecs`), used by the CLI's
//! `import`, the tests and the bench-harness.
//!
//! Each record is a little-endian `i32` count `d` followed by `d` values (`f32` or `i32`).

use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// Vectors read from a file: `n` rows of `dim` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix<T> {
    /// Values per row.
    pub dim: usize,
    /// Row-major values.
    pub data: Vec<T>,
}

impl<T> Matrix<T> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

fn read_records<T>(path: &Path, limit: Option<usize>, conv: fn([u8; 4]) -> T) -> Result<Matrix<T>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(|e| Error::Io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))))?
        .read_to_end(&mut bytes)?;
    let name = path.display().to_string();
    let mut data = Vec::new();
    let mut dim = 0usize;
    let mut off = 0usize;
    let mut rows = 0usize;
    while off < bytes.len() && limit.is_none_or(|l| rows < l) {
        if off + 4 > bytes.len() {
            return Err(Error::corrupted(&name, off as u64, "truncated record header"));
        }
        let d = i32::from_le_bytes(bytes[off..off + 4].try_into().expect("4 bytes"));
        if d <= 0 || d > 1 << 20 {
            return Err(Error::corrupted(&name, off as u64, format!("bad dimension {d}")));
        }
        let d = d as usize;
        if rows == 0 {
            dim = d;
        } else if d != dim {
            return Err(Error::corrupted(&name, off as u64, format!("row {rows} has {d} values, expected {dim}")));
        }
        off += 4;
        if off + 4 * d > bytes.len() {
            return Err(Error::corrupted(&name, off as u64, "truncated record"));
        }
        data.extend(bytes[off..off + 4 * d].chunks_exact(4).map(|c| conv(c.try_into().expect("4 bytes"))));
        off += 4 * d;
        rows += 1;
    }
    Ok(Matrix { dim, data })
}

/// Reads up to `limit` rows (all when `None`) of an `.fvecs` file.
pub fn read_fvecs(path: impl AsRef<Path>, limit: Option<usize>) -> Result<Matrix<f32>> {
    read_records(path.as_ref(), limit, f32::from_le_bytes)
}

/// Reads up to `limit` rows of an `.ivecs` file.
pub fn read_ivecs(path: impl AsRef<Path>, limit: Option<usize>) -> Result<Matrix<i32>> {
    read_records(path.as_ref(), limit, i32::from_le_bytes)
}

/// Writes rows as `.fvecs`.
pub fn write_fvecs(path: impl AsRef<Path>, dim: usize, data: &[f32]) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for row in data.chunks_exact(dim) {
        w.write_all(&(dim as i32).to_le_bytes())?;
        for v in row {
            w.write_all(&v.to_le_bytes())?;
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.fvecs");
        write_fvecs(&p, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let m = read_fvecs(&p, None).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(read_fvecs(&p, Some(1)).unwrap().len(), 1);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 2]).unwrap();
        assert!(matches!(read_fvecs(&p, None), Err(Error::Corrupted { .. })));
    }
}
