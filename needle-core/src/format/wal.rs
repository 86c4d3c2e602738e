//! The write-ahead log: a `-wal` file beside the database that every write reaches before it is
//! acknowledged, and that `save()` folds into the main file.
//!
//! ```text
//! header (48 bytes)
//!   0   8 magic "NEEDLWAL"
//!   8   4 version (u32 LE, 1)
//!  12   4 reserved
//!  16  16 file_id of the database this log belongs to
//!  32   8 base_generation: the database generation the records apply on top of
//!  40   4 reserved
//!  44   4 crc32 of bytes 0..44
//! records, back to back
//!   0   4 payload length n (u32 LE)
//!   4   8 sequence number (u64 LE; 1, 2, 3, … after each reset)
//!  12   4 chained crc32 of (previous record's crc ‖ seq ‖ n ‖ payload); the first record chains
//!         from the header's crc
//!  16   n payload (opaque here; sealed by the database's cipher)
//! ```
//! Replay reads records up to the first one that does not check out — short, bad crc, broken
//! chain or out-of-order sequence — and treats everything from there as a torn tail: a crash
//! while appending loses at most the record being written, never one acknowledged before it.

mod reader;

pub use reader::{WalEnd, WalReader, WalRecord, READ_WINDOW};

use super::super::{Error, Result, StorageBackend};

/// First bytes of a WAL file.
pub const WAL_MAGIC: &[u8; 8] = b"NEEDLWAL";
/// The WAL format version written and read.
pub const WAL_VERSION: u32 = 1;
/// Header length.
pub const WAL_HEADER_LEN: usize = 48;
/// Bytes before each record's payload.
pub const RECORD_HEADER_LEN: usize = 16;
/// Largest payload accepted (a larger length field is corruption, not an allocation request).
pub const MAX_RECORD_LEN: usize = 1 << 30;

/// The decoded WAL header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalHeader {
    /// The owning database's file id.
    pub file_id: [u8; 16],
    /// Generation of the database file the records apply to.
    pub base_generation: u64,
}

impl WalHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; WAL_HEADER_LEN] {
        let mut b = [0u8; WAL_HEADER_LEN];
        b[0..8].copy_from_slice(WAL_MAGIC);
        b[8..12].copy_from_slice(&WAL_VERSION.to_le_bytes());
        b[16..32].copy_from_slice(&self.file_id);
        b[32..40].copy_from_slice(&self.base_generation.to_le_bytes());
        let crc = crc32fast::hash(&b[0..44]);
        b[44..48].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks the header.
    pub fn decode(b: &[u8]) -> Result<WalHeader> {
        if b.len() < WAL_HEADER_LEN || &b[0..8] != WAL_MAGIC {
            return Err(Error::corrupted("wal header", 0, "missing NEEDLWAL magic"));
        }
        if crc32fast::hash(&b[0..44]) != u32::from_le_bytes(b[44..48].try_into().expect("4 bytes")) {
            return Err(Error::corrupted("wal header", 0, "checksum mismatch"));
        }
        let version = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        if version != WAL_VERSION {
            return Err(Error::UnsupportedVersion { found: version, supported: WAL_VERSION });
        }
        let mut file_id = [0u8; 16];
        file_id.copy_from_slice(&b[16..32]);
        Ok(WalHeader { file_id, base_generation: u64::from_le_bytes(b[32..40].try_into().expect("8 bytes")) })
    }

    fn crc(&self) -> u32 {
        u32::from_le_bytes(self.encode()[44..48].try_into().expect("4 bytes"))
    }
}

/// A whole log read into memory by [`replay`] (tests and tools; recovery streams with
/// [`WalReader`] instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Valid records, in order.
    pub records: Vec<WalRecord>,
    /// Where the valid log ends.
    pub end: WalEnd,
}

fn chain_crc(prev: u32, seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&prev.to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.update(&(payload.len() as u32).to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Decodes a whole WAL file's bytes. Only a bad header is an error; bad records end the replay.
pub fn replay(bytes: &[u8]) -> Result<Replay> {
    let storage = crate::storage::MemoryStorage::read_only(bytes.to_vec());
    let mut reader = WalReader::open(&storage)?;
    let mut records = Vec::new();
    while let Some(r) = reader.next_record()? {
        records.push(r);
    }
    Ok(Replay { records, end: reader.finish()? })
}

/// Appends records to a WAL through a [`StorageBackend`].
#[derive(Debug)]
pub struct WalWriter {
    backend: Box<dyn StorageBackend>,
    header: WalHeader,
    end: u64,
    last_crc: u32,
    next_seq: u64,
    max_record: usize,
}

impl WalWriter {
    /// Starts an empty log (truncating whatever the backend held) and syncs it.
    pub fn create(backend: Box<dyn StorageBackend>, header: WalHeader) -> Result<WalWriter> {
        let mut w = WalWriter { backend, header, end: 0, last_crc: 0, next_seq: 1, max_record: MAX_RECORD_LEN };
        w.reset(header.base_generation)?;
        Ok(w)
    }

    /// Continues a log read to its `end` by a [`WalReader`]: cuts the torn tail (if any) and
    /// appends after the last valid record.
    pub fn resume(backend: Box<dyn StorageBackend>, end: &WalEnd) -> Result<WalWriter> {
        if end.torn_tail {
            backend.set_len(end.valid_len)?;
            backend.sync()?;
        }
        Ok(WalWriter {
            backend,
            header: end.header,
            end: end.valid_len,
            last_crc: end.last_crc,
            next_seq: end.records + 1,
            max_record: MAX_RECORD_LEN,
        })
    }

    /// Lowers the largest payload [`append`](Self::append) accepts (never above
    /// [`MAX_RECORD_LEN`], which replay enforces).
    pub fn with_max_record(mut self, bytes: usize) -> WalWriter {
        self.max_record = bytes.min(MAX_RECORD_LEN);
        self
    }

    /// The largest payload [`append`](Self::append) accepts.
    pub fn max_record(&self) -> usize {
        self.max_record
    }

    /// The header in force.
    pub fn header(&self) -> WalHeader {
        self.header
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Bytes in the log.
    pub fn len(&self) -> u64 {
        self.end
    }

    /// True when the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.end <= WAL_HEADER_LEN as u64
    }

    /// Appends one record (written, not synced) and returns its sequence number. On error the
    /// log's logical end does not move, so a partial write is a torn tail for replay. A payload
    /// over [`max_record`](Self::max_record) is refused before any byte is written.
    pub fn append(&mut self, payload: &[u8]) -> Result<u64> {
        self.check_size(payload.len())?;
        let seq = self.next_seq;
        let crc = chain_crc(self.last_crc, seq, payload);
        let mut head = [0u8; RECORD_HEADER_LEN];
        head[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        head[4..12].copy_from_slice(&seq.to_le_bytes());
        head[12..].copy_from_slice(&crc.to_le_bytes());
        // Two writes rather than one copy of a payload that can be hundreds of MiB; a crash
        // between them leaves a header without its payload, a torn tail like any partial write.
        self.backend.write_at(self.end, &head)?;
        self.backend.write_at(self.end + RECORD_HEADER_LEN as u64, payload)?;
        self.end += (RECORD_HEADER_LEN + payload.len()) as u64;
        self.last_crc = crc;
        self.next_seq += 1;
        Ok(seq)
    }

    /// `Err(InvalidArgument)` when a payload of `len` bytes is over the record limit.
    pub fn check_size(&self, len: usize) -> Result<()> {
        if len > self.max_record {
            return Err(Error::InvalidArgument(format!(
                "a write of {len} bytes exceeds the write-ahead log's record limit of {} bytes; split it into smaller batches",
                self.max_record
            )));
        }
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&self) -> Result<()> {
        self.backend.sync()
    }

    /// Empties the log for a new base generation (after a checkpoint) and syncs.
    pub fn reset(&mut self, base_generation: u64) -> Result<()> {
        self.header.base_generation = base_generation;
        let h = self.header.encode();
        self.backend.set_len(0)?;
        self.backend.write_at(0, &h)?;
        self.backend.sync()?;
        self.end = WAL_HEADER_LEN as u64;
        self.last_crc = self.header.crc();
        self.next_seq = 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;
    use crate::StorageBackend;

    fn writer() -> WalWriter {
        WalWriter::create(Box::new(MemoryStorage::new()), WalHeader { file_id: [7; 16], base_generation: 3 }).unwrap()
    }

    fn bytes(w: &WalWriter) -> Vec<u8> {
        w.backend.read_vec(0, w.backend.len().unwrap() as usize).unwrap()
    }

    #[test]
    fn append_and_replay() {
        let mut w = writer();
        for i in 0..20u8 {
            assert_eq!(w.append(&vec![i; i as usize * 3]).unwrap(), i as u64 + 1);
        }
        let r = replay(&bytes(&w)).unwrap();
        assert_eq!(r.records.len(), 20);
        assert_eq!(r.records[5].payload, vec![5u8; 15]);
        assert!(!r.end.torn_tail);
        assert_eq!(r.end.header.base_generation, 3);
        // Resuming continues the chain.
        let copy = MemoryStorage::new();
        copy.write_at(0, &bytes(&w)).unwrap();
        let mut w2 = WalWriter::resume(Box::new(copy), &r.end).unwrap();
        w2.append(b"more").unwrap();
        let r2 = replay(&bytes(&w2)).unwrap();
        assert_eq!(r2.records.len(), 21);
        assert_eq!(r2.records[20].payload, b"more");
    }

    #[test]
    fn torn_tails_and_flips_lose_only_the_tail() {
        let mut w = writer();
        let mut ends = vec![];
        for i in 0..10u8 {
            w.append(&[i; 10]).unwrap();
            ends.push(w.len() as usize);
        }
        let full = bytes(&w);
        for cut in WAL_HEADER_LEN..full.len() {
            let r = replay(&full[..cut]).unwrap();
            let complete = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(r.records.len(), complete, "cut at {cut}");
        }
        for i in WAL_HEADER_LEN..full.len() {
            let mut b = full.clone();
            b[i] ^= 1;
            let r = replay(&b).unwrap();
            let first_bad = ends.iter().position(|&e| e > i).unwrap();
            assert_eq!(r.records.len(), first_bad, "flip at {i}");
            assert!(r.end.torn_tail);
        }
        for i in 0..WAL_HEADER_LEN {
            let mut b = full.clone();
            b[i] ^= 1;
            assert!(replay(&b).is_err(), "header flip at {i}");
        }
    }

    #[test]
    fn reset_starts_a_new_epoch() {
        let mut w = writer();
        w.append(b"x").unwrap();
        w.reset(4).unwrap();
        assert!(w.is_empty());
        let r = replay(&bytes(&w)).unwrap();
        assert_eq!(r.records.len(), 0);
        assert_eq!(r.end.header.base_generation, 4);
        // A record from the old epoch appended after a reset header does not chain.
        let mut stale = bytes(&w);
        stale.extend_from_slice(&bytes(&writer())[WAL_HEADER_LEN..]);
        assert_eq!(replay(&stale).unwrap().records.len(), 0);
    }
}
