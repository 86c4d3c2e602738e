//! Reading a WAL back one record at a time, in bounded memory.
//!
//! Recovery must not need memory proportional to the log: a server that never checkpointed could
//! hold gigabytes in it. [`WalReader`] reads the backend through one window of [`READ_WINDOW`]
//! bytes (larger only while a single record is larger) and hands out one record at a time, so
//! replay holds at most the window, one record and whatever the caller keeps.

use super::{chain_crc, WalHeader, MAX_RECORD_LEN, RECORD_HEADER_LEN, WAL_HEADER_LEN};
use crate::{Result, StorageBackend};

/// Bytes read from the backend at a time while replaying.
pub const READ_WINDOW: usize = 1 << 20;

/// Where a finished replay stopped: what [`super::WalWriter::resume`] needs to append after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalEnd {
    /// The header.
    pub header: WalHeader,
    /// Bytes of the file that are valid (header + records); anything after is a torn tail.
    pub valid_len: u64,
    /// Whether bytes after the last valid record were ignored.
    pub torn_tail: bool,
    /// Valid records read.
    pub records: u64,
    pub(super) last_crc: u32,
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    /// Its sequence number.
    pub seq: u64,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Streams the records of a WAL. Only a bad header or an I/O error is an error; the first record
/// that does not check out (short, bad crc, broken chain, out of sequence) ends the stream.
#[derive(Debug)]
pub struct WalReader<'a> {
    backend: &'a dyn StorageBackend,
    len: u64,
    header: WalHeader,
    /// File offset of the next record.
    pos: u64,
    prev_crc: u32,
    records: u64,
    ended: bool,
    /// Bytes of the file from offset `window_at`.
    window: Vec<u8>,
    window_at: u64,
}

impl<'a> WalReader<'a> {
    /// Reads and checks the header.
    pub fn open(backend: &'a dyn StorageBackend) -> Result<WalReader<'a>> {
        let len = backend.len()?;
        let head = backend.read_vec(0, (len.min(WAL_HEADER_LEN as u64)) as usize)?;
        let header = WalHeader::decode(&head)?;
        Ok(WalReader {
            backend,
            len,
            header,
            pos: WAL_HEADER_LEN as u64,
            prev_crc: header.crc(),
            records: 0,
            ended: false,
            window: Vec::new(),
            window_at: 0,
        })
    }

    /// The header.
    pub fn header(&self) -> WalHeader {
        self.header
    }

    /// `n` bytes at file offset `at`, or None when the file ends first.
    fn bytes(&mut self, at: u64, n: usize) -> Result<Option<&[u8]>> {
        let end = at + n as u64;
        if end > self.len {
            return Ok(None);
        }
        let inside = at >= self.window_at && end <= self.window_at + self.window.len() as u64;
        if !inside {
            let want = (n.max(READ_WINDOW) as u64).min(self.len - at) as usize;
            self.window.clear();
            self.window.resize(want, 0);
            self.backend.read_at(at, &mut self.window)?;
            self.window_at = at;
            if want > READ_WINDOW {
                // A huge record: keep the window only as long as it is needed.
                self.window.shrink_to(want);
            }
        }
        let from = (at - self.window_at) as usize;
        Ok(Some(&self.window[from..from + n]))
    }

    /// The next valid record, or None at the end of the log (or at a torn tail).
    pub fn next_record(&mut self) -> Result<Option<WalRecord>> {
        if self.ended {
            return Ok(None);
        }
        let pos = self.pos;
        let Some(h) = self.bytes(pos, RECORD_HEADER_LEN)? else { return self.end() };
        let n = u32::from_le_bytes(h[0..4].try_into().expect("4 bytes")) as usize;
        let seq = u64::from_le_bytes(h[4..12].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes"));
        if n > MAX_RECORD_LEN || seq != self.records + 1 {
            return self.end();
        }
        let prev = self.prev_crc;
        let Some(payload) = self.bytes(pos + RECORD_HEADER_LEN as u64, n)? else { return self.end() };
        if chain_crc(prev, seq, payload) != crc {
            return self.end();
        }
        let payload = payload.to_vec();
        if self.window.len() > READ_WINDOW {
            self.window = Vec::new();
        }
        self.prev_crc = crc;
        self.records += 1;
        self.pos = pos + (RECORD_HEADER_LEN + n) as u64;
        Ok(Some(WalRecord { seq, payload }))
    }

    fn end(&mut self) -> Result<Option<WalRecord>> {
        self.ended = true;
        self.window = Vec::new();
        Ok(None)
    }

    /// Reads to the end (discarding records not yet read) and says where the log stops.
    pub fn finish(mut self) -> Result<WalEnd> {
        while self.next_record()?.is_some() {}
        Ok(WalEnd {
            header: self.header,
            valid_len: self.pos,
            torn_tail: self.pos < self.len,
            records: self.records,
            last_crc: self.prev_crc,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::super::{WalHeader, WalWriter};
    use super::*;
    use crate::storage::MemoryStorage;

    /// A backend that remembers the largest single read and the bytes read in all.
    #[derive(Debug, Default)]
    struct Counting {
        inner: MemoryStorage,
        largest_read: AtomicU64,
        bytes_read: AtomicU64,
    }

    impl StorageBackend for Counting {
        fn id(&self) -> &str {
            "counting"
        }
        fn len(&self) -> Result<u64> {
            self.inner.len()
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            self.largest_read.fetch_max(buf.len() as u64, Ordering::Relaxed);
            self.bytes_read.fetch_add(buf.len() as u64, Ordering::Relaxed);
            self.inner.read_at(offset, buf)
        }
        fn write_at(&self, offset: u64, data: &[u8]) -> Result<()> {
            self.inner.write_at(offset, data)
        }
        fn set_len(&self, len: u64) -> Result<()> {
            self.inner.set_len(len)
        }
        fn sync(&self) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_large_log_is_read_through_a_bounded_window() {
        let mut w =
            WalWriter::create(Box::new(MemoryStorage::new()), WalHeader { file_id: [1; 16], base_generation: 1 })
                .unwrap();
        let record = |i: u32| -> Vec<u8> { (0..1000u32).map(|j| (i.wrapping_mul(31) ^ j) as u8).collect() };
        let big = vec![0xabu8; READ_WINDOW * 5 / 2];
        for i in 0..6000u32 {
            w.append(&record(i)).unwrap();
            if i == 3000 {
                w.append(&big).unwrap();
            }
        }
        let total = w.len();
        assert!(total > 8 * READ_WINDOW as u64, "the log must be several windows long");
        let counting = Counting::default();
        counting.inner.write_at(0, &w.backend.read_vec(0, total as usize).unwrap()).unwrap();

        let mut reader = WalReader::open(&counting).unwrap();
        let mut n = 0u32;
        while let Some(r) = reader.next_record().unwrap() {
            if n == 3001 {
                assert_eq!(r.payload, big);
            } else {
                let i = if n > 3001 { n - 1 } else { n };
                assert_eq!(r.payload, record(i), "record {n}");
            }
            n += 1;
        }
        assert_eq!(n, 6001);
        let end = reader.finish().unwrap();
        assert_eq!((end.valid_len, end.torn_tail, end.records), (total, false, 6001));
        // One read never exceeds the window, or the one record larger than it (plus its header).
        let largest = counting.largest_read.load(Ordering::Relaxed);
        assert!(largest <= (big.len() + RECORD_HEADER_LEN) as u64, "largest read {largest}");
        // Each byte is read about once: the log is never read whole into memory, nor re-read.
        let read = counting.bytes_read.load(Ordering::Relaxed);
        assert!(read < total + 3 * READ_WINDOW as u64, "read {read} of {total} bytes");
    }
}
