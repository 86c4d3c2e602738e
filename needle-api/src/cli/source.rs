//! Where `import` reads records from: `.fvecs` (streamed, ids are row numbers) and JSON lines
//! (`{"id": ..., "vector": [...], "metadata": {...}}` per line).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;
use serde_json::Value;

use super::error::{invalid, io_at, CliResult, Context};
use crate::Error;

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// TEXMEX .fvecs: per record an i32 dimension then that many f32, little-endian.
    Fvecs,
    /// One JSON object per line: {"id": "...", "vector": [...], "metadata": {...}}.
    Jsonl,
}

impl Format {
    /// The format a file name implies.
    pub fn from_path(path: &Path) -> CliResult<Format> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("fvecs") => Ok(Format::Fvecs),
            Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
            _ => Err(invalid(format!("cannot tell the format of {}: pass --format fvecs|jsonl", path.display()))),
        }
    }
}

/// An `.fvecs` file read one record at a time.
#[derive(Debug)]
pub struct FvecsFile {
    r: BufReader<File>,
    name: String,
    /// Values per record.
    pub dim: usize,
    /// Number of records.
    pub rows: usize,
    next: usize,
}

impl FvecsFile {
    /// Opens `path` and checks that its size is a whole number of records.
    pub fn open(path: &Path) -> CliResult<FvecsFile> {
        let f = File::open(path).map_err(|e| io_at(path, e))?;
        let len = f.metadata().map_err(|e| io_at(path, e))?.len();
        let name = path.display().to_string();
        let mut r = BufReader::with_capacity(1 << 20, f);
        let mut h = [0u8; 4];
        if len < 4 {
            return Err(Error::corrupted(&name, 0, "not an .fvecs file: shorter than one record header").into());
        }
        r.read_exact(&mut h).map_err(|e| io_at(path, e))?;
        let d = i32::from_le_bytes(h);
        if d <= 0 || d > 1 << 20 {
            return Err(Error::corrupted(&name, 0, format!("not an .fvecs file: bad dimension {d}")).into());
        }
        let rec = 4 + 4 * d as u64;
        if len % rec != 0 {
            let detail = format!("file size {len} is not a whole number of {rec}-byte records (dimension {d})");
            return Err(Error::corrupted(&name, len - len % rec, detail).into());
        }
        r.seek(SeekFrom::Start(0)).map_err(|e| io_at(path, e))?;
        Ok(FvecsFile { r, name, dim: d as usize, rows: (len / rec) as usize, next: 0 })
    }

    fn record_bytes(&self) -> u64 {
        4 + 4 * self.dim as u64
    }

    /// The next record, or `None` at the end.
    pub fn next_row(&mut self) -> Option<CliResult<Vec<f32>>> {
        if self.next >= self.rows {
            return None;
        }
        let row = self.next;
        self.next += 1;
        Some(self.read_current(row))
    }

    fn read_current(&mut self, row: usize) -> CliResult<Vec<f32>> {
        let offset = row as u64 * self.record_bytes();
        let mut h = [0u8; 4];
        self.r.read_exact(&mut h)?;
        let d = i32::from_le_bytes(h);
        if d as i64 != self.dim as i64 {
            let detail = format!("record {row} has dimension {d}, the file starts with {}", self.dim);
            return Err(Error::corrupted(&self.name, offset, detail).into());
        }
        let mut bytes = vec![0u8; 4 * self.dim];
        self.r.read_exact(&mut bytes)?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Record `row` (0-based), by seeking.
    pub fn read_row(&mut self, row: usize) -> CliResult<Vec<f32>> {
        if row >= self.rows {
            return Err(invalid(format!("row {row} is past the end of {} ({} rows)", self.name, self.rows)));
        }
        self.r.seek(SeekFrom::Start(row as u64 * self.record_bytes()))?;
        self.next = row + 1;
        self.read_current(row)
    }

    /// Back to the first record.
    pub fn rewind(&mut self) -> CliResult<()> {
        self.r.seek(SeekFrom::Start(0))?;
        self.next = 0;
        Ok(())
    }
}

/// One line of a JSON-lines file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    id: Value,
    vector: Vec<f32>,
    #[serde(default)]
    metadata: Option<Value>,
}

/// A parsed JSON line: id (numbers become strings), vector, metadata.
type Parsed = (String, Vec<f32>, Option<Value>);

/// A JSON-lines file read one line at a time; blank lines are skipped.
#[derive(Debug)]
struct JsonlFile {
    r: BufReader<File>,
    path: PathBuf,
    line: usize,
    bytes: u64,
    buf: String,
}

impl JsonlFile {
    fn open(path: &Path) -> CliResult<JsonlFile> {
        let f = File::open(path).map_err(|e| io_at(path, e))?;
        Ok(JsonlFile {
            r: BufReader::with_capacity(1 << 20, f),
            path: path.into(),
            line: 0,
            bytes: 0,
            buf: String::new(),
        })
    }

    /// The next non-blank line (its number is `self.line`).
    fn next_line(&mut self) -> Option<CliResult<Parsed>> {
        loop {
            self.buf.clear();
            self.line += 1;
            let n = match self.r.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => return Some(Err(io_at(&self.path, e)).context(|| self.at(self.line))),
            };
            self.bytes += n as u64;
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            return Some(parse_line(text).context(|| self.at(self.line)));
        }
    }

    fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.path.display())
    }
}

fn parse_line(text: &str) -> CliResult<Parsed> {
    let rec: JsonLine = serde_json::from_str(text).map_err(|e| {
        // serde_json appends "at line 1 column N"; within one line only the column matters.
        let msg = e.to_string();
        let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m);
        Error::InvalidJson(format!("{msg} (column {})", e.column()))
    })?;
    let id = match rec.id {
        Value::String(s) => s,
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        other => return Err(Error::InvalidId(format!("id must be a string or an integer, not {other}")).into()),
    };
    Ok((id, rec.vector, rec.metadata))
}

enum Inner {
    Fvecs(FvecsFile),
    Jsonl(JsonlFile),
}

/// One record to import, with where it came from.
#[derive(Debug)]
pub struct Item {
    /// Vector id (with the prefix applied).
    pub id: String,
    /// The vector.
    pub vector: Vec<f32>,
    /// Its metadata.
    pub metadata: Option<Value>,
    /// `file.jsonl:17` or `file.fvecs: record 16`.
    pub at: String,
}

/// Records from an input file, optionally with a texts file, an id prefix and a row limit.
pub struct Source {
    inner: Inner,
    path: PathBuf,
    texts: Option<Vec<String>>,
    id_prefix: String,
    limit: Option<usize>,
    taken: usize,
}

impl Source {
    /// Opens `path` as `format` (guessed from the extension when `None`).
    pub fn open(
        path: &Path,
        format: Option<Format>,
        texts: Option<&Path>,
        id_prefix: &str,
        limit: Option<usize>,
    ) -> CliResult<Source> {
        let format = match format {
            Some(f) => f,
            None => Format::from_path(path)?,
        };
        let inner = match format {
            Format::Fvecs => Inner::Fvecs(FvecsFile::open(path)?),
            Format::Jsonl => Inner::Jsonl(JsonlFile::open(path)?),
        };
        let texts = match (texts, &inner) {
            (None, _) => None,
            (Some(_), Inner::Jsonl(_)) => {
                return Err(invalid("--texts applies to .fvecs input; put JSON-lines text in each line's metadata"))
            }
            (Some(t), Inner::Fvecs(f)) => {
                let lines = read_lines(t)?;
                let rows = limit.map_or(f.rows, |l| l.min(f.rows));
                let enough = if limit.is_some() { lines.len() >= rows } else { lines.len() == rows };
                if !enough {
                    return Err(invalid(format!(
                        "{} has {} lines but {} has {} vectors{}",
                        t.display(),
                        lines.len(),
                        path.display(),
                        f.rows,
                        limit.map_or(String::new(), |l| format!(" (importing {})", l.min(f.rows)))
                    )));
                }
                Some(lines)
            }
        };
        Ok(Source { inner, path: path.into(), texts, id_prefix: id_prefix.into(), limit, taken: 0 })
    }

    /// The vectors' dimension: the `.fvecs` header, or the first JSON line's vector length.
    pub fn dimension(&self) -> CliResult<usize> {
        match &self.inner {
            Inner::Fvecs(f) => Ok(f.dim),
            Inner::Jsonl(_) => match JsonlFile::open(&self.path)?.next_line() {
                Some(r) => Ok(r?.1.len()),
                None => Err(invalid(format!("{} holds no records", self.path.display()))),
            },
        }
    }

    /// Progress length and whether it counts bytes (JSON lines) or records (fvecs).
    pub fn progress_len(&self) -> (u64, bool) {
        match &self.inner {
            Inner::Fvecs(f) => (self.limit.map_or(f.rows, |l| l.min(f.rows)) as u64, false),
            Inner::Jsonl(_) => (std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0), true),
        }
    }

    /// Progress so far, in the unit of [`Source::progress_len`].
    pub fn progress_pos(&self) -> u64 {
        match &self.inner {
            Inner::Fvecs(_) => self.taken as u64,
            Inner::Jsonl(j) => j.bytes,
        }
    }

    /// Starts again from the first record.
    pub fn rewind(&mut self) -> CliResult<()> {
        match &mut self.inner {
            Inner::Fvecs(f) => f.rewind()?,
            Inner::Jsonl(j) => *j = JsonlFile::open(&self.path)?,
        }
        self.taken = 0;
        Ok(())
    }

    /// The next record.
    pub fn next_item(&mut self) -> Option<CliResult<Item>> {
        if self.limit.is_some_and(|l| self.taken >= l) {
            return None;
        }
        let row = self.taken;
        let item = match &mut self.inner {
            Inner::Fvecs(f) => f.next_row().map(|r| {
                let at = format!("{}: record {row}", self.path.display());
                let vector = r.context(|| at.clone())?;
                let metadata = self.texts.as_ref().map(|t| serde_json::json!({ "text": t[row] }));
                Ok(Item { id: format!("{}{row}", self.id_prefix), vector, metadata, at })
            }),
            Inner::Jsonl(j) => j.next_line().map(|r| {
                let (id, vector, metadata) = r?;
                Ok(Item { id: format!("{}{id}", self.id_prefix), vector, metadata, at: j.at(j.line) })
            }),
        };
        if item.is_some() {
            self.taken += 1;
        }
        item
    }
}

/// Lines of a text file, without line endings.
pub fn read_lines(path: &Path) -> CliResult<Vec<String>> {
    let f = File::open(path).map_err(|e| io_at(path, e))?;
    BufReader::new(f)
        .lines()
        .map(|l| l.map(|s| s.strip_suffix('\r').map(str::to_string).unwrap_or(s)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| io_at(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_parse_with_positions() {
        let (id, v, m) = parse_line(r#"{"id": 7, "vector": [1, 2.5], "metadata": {"a": 1}}"#).unwrap();
        assert_eq!((id.as_str(), v, m), ("7", vec![1.0, 2.5], Some(serde_json::json!({"a": 1}))));
        let e = parse_line(r#"{"id": "x", "vector": [1, "NaN"]}"#).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidJson);
        assert!(e.to_string().contains("column"), "{e}");
        assert!(!e.to_string().contains("line 1"), "{e}");
        let e = parse_line(r#"{"id": "x", "vectors": [1]}"#).unwrap_err();
        assert!(e.to_string().contains("vectors"), "{e}");
        assert_eq!(parse_line(r#"{"id": [1], "vector": [1]}"#).unwrap_err().code(), crate::ErrorCode::InvalidId);
    }

    #[test]
    fn fvecs_streams_and_rejects_ragged_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.fvecs");
        crate::core::fvecs::write_fvecs(&p, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let mut f = FvecsFile::open(&p).unwrap();
        assert_eq!((f.dim, f.rows), (2, 3));
        assert_eq!(f.next_row().unwrap().unwrap(), [1.0, 2.0]);
        assert_eq!(f.read_row(2).unwrap(), [5.0, 6.0]);
        assert!(f.next_row().is_none());
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(FvecsFile::open(&p).unwrap_err().code(), crate::ErrorCode::Corrupted);
    }
}
