//! The persistent snapshot exception store ("COW") as the kernel writes it
//! (drivers/md/dm-snap-persistent.c): header, metadata areas, exception
//! entries. Pure parsing over a read callback; touches no device itself.
//!
//! Layout, in chunks of `chunk_size` sectors: chunk 0 is the header
//! (le32 magic `SnAp`, valid, version 1, chunk size in sectors); metadata
//! area `a` is chunk `1 + a * (epa + 1)`, followed by the `epa` data chunks
//! it indexes (`epa` = chunk bytes / 16). An area holds 16-byte entries
//! (le64 origin chunk, le64 COW chunk) in commit order; the first entry
//! whose COW chunk is 0 ends the list, and a full area means the list goes
//! on in the next one (the kernel zeroes the next area before it writes a
//! full one, so a terminator always exists: `persistent_commit_exception`).
//!
//! The device is never trusted: every entry is checked against the COW and
//! origin sizes and the layout (no data chunk on a metadata chunk, no
//! origin chunk twice), reading stops at the end of the device, and each
//! defect is a typed error, never a panic.

use std::collections::HashSet;

/// `SNAP_MAGIC`: "SnAp" little-endian.
pub const SNAP_MAGIC: u32 = 0x7041_6e53;
/// `SNAPSHOT_DISK_VERSION`.
pub const DISK_VERSION: u32 = 1;
/// Size of one exception entry on disk (`struct disk_exception`).
pub const ENTRY_BYTES: u64 = 16;
/// The kernel's largest chunk: `INT_MAX >> 9` rounded down to a power of two.
pub const MAX_CHUNK_SECTORS: u64 = 1 << 21;

/// Why a COW cannot be read (or merged).
#[derive(Debug, thiserror::Error)]
pub enum CowError {
    #[error("I/O error reading the snapshot's exception store at byte {offset}: {source}")]
    Io { offset: u64, source: std::io::Error },
    /// The kernel's "Invalid or corrupt snapshot".
    #[error("Invalid or corrupt snapshot: bad magic {0:#010x} in the exception store header.")]
    BadMagic(u32),
    #[error("Unable to handle snapshot disk version {0}.")]
    Version(u32),
    /// The kernel has marked the snapshot invalid (it overflowed or hit an
    /// I/O error): its exceptions are not to be used.
    #[error("The snapshot is marked invalid in its exception store.")]
    Invalid,
    #[error("Invalid chunk size {0} sectors in the exception store header.")]
    ChunkSize(u64),
    #[error("Exception store is smaller ({cow_bytes} bytes) than its header and first area.")]
    TooSmall { cow_bytes: u64 },
    #[error("Exception store is truncated: metadata area {area} lies beyond its end.")]
    Truncated { area: u64 },
    #[error("Corrupt exception store: area {area} entry {index}: {what}.")]
    BadEntry { area: u64, index: u64, what: String },
}

/// The header's fields (chunk 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub valid: bool,
    pub version: u32,
    pub chunk_sectors: u64,
}

/// One exception: origin chunk `old` is saved at COW chunk `new`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exception {
    pub old: u64,
    pub new: u64,
}

/// What a COW holds, as the kernel's `read_exceptions` would find it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionStore {
    /// Chunk size from the header (it wins over the table's: dm-snap.c).
    pub chunk_sectors: u64,
    /// Every exception, sorted by origin chunk.
    pub exceptions: Vec<Exception>,
    /// The area the kernel would append to, and its entry count.
    pub current_area: u64,
    pub current_committed: u64,
    /// The header's magic was 0: a snapshot the kernel never set up, with
    /// no exception (the kernel would initialise it as new).
    pub fresh: bool,
}

impl ExceptionStore {
    pub fn chunk_bytes(&self) -> u64 {
        self.chunk_sectors * 512
    }
}

/// Exceptions per metadata area for a chunk of `chunk_bytes`.
pub fn exceptions_per_area(chunk_bytes: u64) -> u64 {
    chunk_bytes / ENTRY_BYTES
}

/// Chunk index of metadata area `area` (`area_location`).
pub fn area_location(area: u64, epa: u64) -> u64 {
    1 + area * (epa + 1)
}

/// Whether COW chunk `chunk` is a metadata area's.
pub fn is_metadata_chunk(chunk: u64, epa: u64) -> bool {
    chunk >= 1 && (chunk - 1).is_multiple_of(epa + 1)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Parses the first 16 bytes of a COW. `Ok(None)`: magic 0, a store the
/// kernel has not initialised yet.
pub fn parse_header(b: &[u8; 16]) -> Result<Option<Header>, CowError> {
    let magic = le32(b, 0);
    if magic == 0 {
        return Ok(None);
    }
    if magic != SNAP_MAGIC {
        return Err(CowError::BadMagic(magic));
    }
    let version = le32(b, 8);
    if version != DISK_VERSION {
        return Err(CowError::Version(version));
    }
    let chunk_sectors = le32(b, 12) as u64;
    if chunk_sectors == 0 || !chunk_sectors.is_power_of_two() || chunk_sectors > MAX_CHUNK_SECTORS {
        return Err(CowError::ChunkSize(chunk_sectors));
    }
    Ok(Some(Header {
        valid: le32(b, 4) != 0,
        version,
        chunk_sectors,
    }))
}

/// Reads a COW of `cow_bytes` for an origin of `origin_bytes` through
/// `read(offset, buf)` (fills `buf` from byte `offset` or fails). Refuses
/// an invalid snapshot (`CowError::Invalid`), as a merge must.
pub fn read_store(
    read: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    cow_bytes: u64,
    origin_bytes: u64,
) -> Result<ExceptionStore, CowError> {
    let mut hb = [0u8; 16];
    if cow_bytes < 16 {
        return Err(CowError::TooSmall { cow_bytes });
    }
    read(0, &mut hb).map_err(|source| CowError::Io { offset: 0, source })?;
    let Some(header) = parse_header(&hb)? else {
        return Ok(ExceptionStore {
            chunk_sectors: 0,
            exceptions: Vec::new(),
            current_area: 0,
            current_committed: 0,
            fresh: true,
        });
    };
    if !header.valid {
        return Err(CowError::Invalid);
    }
    let cb = header.chunk_sectors * 512;
    if cow_bytes < 2 * cb {
        return Err(CowError::TooSmall { cow_bytes });
    }
    let epa = exceptions_per_area(cb);
    let cow_chunks = cow_bytes / cb;
    let origin_chunks = origin_bytes.div_ceil(cb);
    let mut seen: HashSet<u64> = HashSet::new();
    let mut exceptions = Vec::new();
    let mut buf = vec![0u8; cb as usize];
    let mut area = 0u64;
    loop {
        let loc = area_location(area, epa);
        if loc >= cow_chunks {
            return Err(CowError::Truncated { area });
        }
        let offset = loc * cb;
        read(offset, &mut buf).map_err(|source| CowError::Io { offset, source })?;
        let mut committed = epa;
        for i in 0..epa {
            let at = (i * ENTRY_BYTES) as usize;
            let (old, new) = (le64(&buf, at), le64(&buf, at + 8));
            if new == 0 {
                committed = i;
                break;
            }
            let bad = |what: String| CowError::BadEntry {
                area,
                index: i,
                what,
            };
            if new < 2 || is_metadata_chunk(new, epa) {
                return Err(bad(format!("COW chunk {new} is not a data chunk")));
            }
            if new.saturating_add(1) > cow_chunks {
                return Err(bad(format!(
                    "COW chunk {new} is beyond the store's {cow_chunks} chunks"
                )));
            }
            if old >= origin_chunks {
                return Err(bad(format!(
                    "origin chunk {old} is beyond the origin's {origin_chunks} chunks"
                )));
            }
            if !seen.insert(old) {
                return Err(bad(format!("origin chunk {old} appears twice")));
            }
            exceptions.push(Exception { old, new });
        }
        if committed < epa {
            exceptions.sort_unstable();
            return Ok(ExceptionStore {
                chunk_sectors: header.chunk_sectors,
                exceptions,
                current_area: area,
                current_committed: committed,
                fresh: false,
            });
        }
        area += 1;
    }
}

/// Builds a COW image the way the kernel fills one: `olds` get exceptions
/// in that (commit) order, COW chunks allocated upward skipping metadata
/// chunks, the area after the last one zeroed. For tests.
#[cfg(test)]
pub fn build_store(chunk_sectors: u64, olds: &[u64], cow_bytes: u64) -> (Vec<u8>, Vec<Exception>) {
    let cb = chunk_sectors * 512;
    let epa = exceptions_per_area(cb);
    let mut img = vec![0u8; cow_bytes as usize];
    img[0..4].copy_from_slice(&SNAP_MAGIC.to_le_bytes());
    img[4..8].copy_from_slice(&1u32.to_le_bytes());
    img[8..12].copy_from_slice(&DISK_VERSION.to_le_bytes());
    img[12..16].copy_from_slice(&(chunk_sectors as u32).to_le_bytes());
    let mut next_free = 2u64;
    let mut out = Vec::new();
    for (n, &old) in olds.iter().enumerate() {
        let new = next_free;
        next_free += 1;
        if is_metadata_chunk(next_free, epa) {
            next_free += 1;
        }
        let (area, i) = (n as u64 / epa, n as u64 % epa);
        let at = (area_location(area, epa) * cb + i * ENTRY_BYTES) as usize;
        img[at..at + 8].copy_from_slice(&old.to_le_bytes());
        img[at + 8..at + 16].copy_from_slice(&new.to_le_bytes());
        out.push(Exception { old, new });
    }
    (img, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reader(img: &[u8]) -> impl FnMut(u64, &mut [u8]) -> std::io::Result<()> + '_ {
        move |off, buf| {
            let s = off as usize;
            match img.get(s..s + buf.len()) {
                Some(src) => {
                    buf.copy_from_slice(src);
                    Ok(())
                }
                None => Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            }
        }
    }

    fn read(img: &[u8], origin_bytes: u64) -> Result<ExceptionStore, CowError> {
        read_store(&mut reader(img), img.len() as u64, origin_bytes)
    }

    #[test]
    fn empty_and_fresh_stores() {
        let (img, _) = build_store(8, &[], 64 * 1024);
        let s = read(&img, 1 << 20).unwrap();
        assert!(s.exceptions.is_empty() && !s.fresh);
        assert_eq!((s.current_area, s.current_committed), (0, 0));
        let zero = vec![0u8; 64 * 1024];
        assert!(read(&zero, 1 << 20).unwrap().fresh);
    }

    #[test]
    fn entries_sorted_by_origin_chunk_across_areas() {
        // 4 KiB chunks: 256 entries per area; 600 entries fill two areas.
        let olds: Vec<u64> = (0..600).rev().map(|i| i * 3).collect();
        let (img, mut want) = build_store(8, &olds, 700 * 4096);
        let s = read(&img, 2000 * 4096).unwrap();
        want.sort();
        assert_eq!(s.exceptions, want);
        assert_eq!((s.current_area, s.current_committed), (2, 600 - 512));
        // No data chunk sits on a metadata chunk (area 1 is chunk 258).
        assert!(s.exceptions.iter().all(|e| e.new != 258));
    }

    #[test]
    fn header_defects_are_typed() {
        let (mut img, _) = build_store(8, &[1], 64 * 1024);
        img[4] = 0;
        assert!(matches!(read(&img, 1 << 20), Err(CowError::Invalid)));
        img[4] = 1;
        img[8] = 2;
        assert!(matches!(read(&img, 1 << 20), Err(CowError::Version(2))));
        img[8] = 1;
        img[12] = 7;
        assert!(matches!(read(&img, 1 << 20), Err(CowError::ChunkSize(7))));
        img[12] = 8;
        img[0] = b'X';
        assert!(matches!(read(&img, 1 << 20), Err(CowError::BadMagic(_))));
        assert!(matches!(
            read(&img[..10], 1),
            Err(CowError::TooSmall { .. })
        ));
    }

    #[test]
    fn untrusted_entries_are_refused() {
        let put = |img: &mut Vec<u8>, i: usize, old: u64, new: u64| {
            let at = 4096 + i * 16;
            img[at..at + 8].copy_from_slice(&old.to_le_bytes());
            img[at + 8..at + 16].copy_from_slice(&new.to_le_bytes());
        };
        let base = build_store(8, &[0, 1], 64 * 4096).0;
        let cases: [(u64, u64, &str); 5] = [
            (5, 1, "not a data chunk"),
            (5, 258, "not a data chunk"),
            (5, 64, "beyond the store"),
            (300, 9, "beyond the origin"),
            (0, 9, "appears twice"),
        ];
        for (old, new, what) in cases {
            let mut img = base.clone();
            put(&mut img, 2, old, new);
            match read(&img, 256 * 4096) {
                Err(CowError::BadEntry { what: w, .. }) => assert!(w.contains(what), "{w}"),
                other => panic!("({old},{new}): {other:?}"),
            }
        }
        // A full area with no room for the next one: truncated, not a panic.
        let olds: Vec<u64> = (0..256).collect();
        let (img, _) = build_store(8, &olds, 258 * 4096);
        assert!(matches!(
            read(&img, 1024 * 4096),
            Err(CowError::Truncated { area: 1 })
        ));
        // A read error is reported with its offset.
        let (hdr, _) = build_store(8, &[], 4096 * 4);
        let mut failing = |off: u64, buf: &mut [u8]| -> std::io::Result<()> {
            if off == 0 {
                buf.copy_from_slice(&hdr[..buf.len()]);
                return Ok(());
            }
            Err(std::io::Error::other("boom"))
        };
        assert!(matches!(
            read_store(&mut failing, 1 << 20, 1 << 20),
            Err(CowError::Io { offset: 4096, .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Whatever the kernel could have written reads back as the same
        /// exceptions, sorted; any byte flipped in the metadata gives a
        /// store or a typed error, never a panic.
        #[test]
        fn round_trip_and_no_panic(
            shift in 0u32..4,
            olds in proptest::collection::hash_set(0u64..5000, 0..700),
            flip in any::<(usize, u8)>(),
        ) {
            let cs = 8u64 << shift;
            let cb = cs * 512;
            let olds: Vec<u64> = olds.into_iter().collect();
            let epa = cb / 16;
            let chunks = 2 + olds.len() as u64 + olds.len() as u64 / epa + 2;
            let (img, mut want) = build_store(cs, &olds, chunks * cb);
            let s = read(&img, 5000 * cb).unwrap();
            want.sort();
            prop_assert_eq!(&s.exceptions, &want);
            prop_assert_eq!(s.chunk_sectors, cs);
            let mut bad = img.clone();
            let at = flip.0 % (bad.len().min(3 * cb as usize));
            bad[at] ^= flip.1 | 1;
            let _ = read(&bad, 5000 * cb);
        }
    }
}
