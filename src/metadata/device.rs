//! The block-device trait that all on-disk format code goes through, with a
//! file/block-device implementation (touches disk) and an in-memory one with
//! fault injection for crash-safety tests; and LVM2's check that each
//! PV's device still holds the size its VG records.
//!
//! Semantics shared by both implementations: reads and writes are exact
//! length or an error, and nothing may be read or written past the end of
//! the device. Offsets are bytes; there is no alignment requirement.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// A device addressed in bytes. Methods take `&self` so one device can be
/// shared by the label and every mda reader without juggling borrows.
pub trait BlockDev: Send + Sync {
    /// Size in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Fills all of `buf` from `offset`; short reads are errors.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `buf` at `offset`; writes past the end are errors.
    fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()>;
    /// Makes every completed write durable (fdatasync).
    fn sync(&self) -> io::Result<()>;
    /// A hint that `[offset, offset+len)` is about to be read: the read
    /// may start now, in the background, so that the waits of several
    /// devices overlap (LVM2's label scan submits its reads with AIO for
    /// the same reason). Never fails; does nothing by default.
    fn prefetch(&self, _offset: u64, _len: u64) {}
}

/// Checks that `[offset, offset+len)` lies inside a device of `size` bytes.
fn check_range(offset: u64, len: usize, size: u64, what: &str) -> io::Result<()> {
    let end = u64::try_from(len).ok().and_then(|l| offset.checked_add(l));
    match end {
        Some(end) if end <= size => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{what} of {len} bytes at offset {offset} is past the end of the device ({size} bytes)"),
        )),
    }
}

/// A regular file or block device.
#[derive(Debug)]
pub struct FileDev {
    file: File,
}

impl FileDev {
    /// Opens `path` read-only, or read-write when `writable`.
    pub fn open(path: impl AsRef<Path>, writable: bool) -> io::Result<FileDev> {
        let file = OpenOptions::new().read(true).write(writable).open(path)?;
        Ok(FileDev { file })
    }

    /// Wraps an already open file.
    pub fn from_file(file: File) -> FileDev {
        FileDev { file }
    }
}

impl BlockDev for FileDev {
    /// Seeks to the end: `metadata().len()` is 0 for block devices.
    fn size(&self) -> io::Result<u64> {
        (&self.file).seek(SeekFrom::End(0))
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        // read_exact_at already fails with UnexpectedEof on a short read.
        self.file.read_exact_at(buf, offset)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        // A regular file would silently grow; keep the block-device rule.
        check_range(offset, buf.len(), self.size()?, "write")?;
        self.file.write_all_at(buf, offset)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// `posix_fadvise(WILLNEED)`, which queues the read and returns. The
    /// kernel starts at most its readahead window per call, so a long
    /// range is asked for in pieces of that size.
    fn prefetch(&self, offset: u64, len: u64) {
        use std::os::fd::AsRawFd;
        const PIECE: u64 = 128 << 10;
        let end = offset.saturating_add(len);
        let mut at = offset;
        while at < end {
            let n = PIECE.min(end - at);
            let (Ok(o), Ok(l)) = (libc::off_t::try_from(at), libc::off_t::try_from(n)) else {
                return;
            };
            // SAFETY: posix_fadvise only reads its integer arguments; the
            // descriptor is owned by `self.file` and open for this call.
            let rc = unsafe {
                libc::posix_fadvise(self.file.as_raw_fd(), o, l, libc::POSIX_FADV_WILLNEED)
            };
            if rc != 0 {
                return;
            }
            at += n;
        }
    }
}

/// What an armed [`MemDev`] fault does. Once a fault fires the device
/// behaves like a crashed or vanished disk: every later write and sync
/// fails too, while reads keep working so a test can inspect what survived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The next `n` write calls succeed; the one after fails without
    /// writing anything.
    FailWriteAfterCalls(u64),
    /// The next `n` bytes are written; the write that crosses the budget is
    /// torn and fails. Disks write a 512-byte sector atomically, so a torn
    /// write keeps only the whole sectors that fit in what is left of the
    /// budget (a write that is not sector-aligned keeps less).
    FailWriteAfterBytes(u64),
    /// The next `sync` fails (writes stay in place).
    FailSync,
    /// The next `n` syncs fail (writes stay in place).
    FailSyncs(u32),
}

/// The unit a torn [`MemDev`] write keeps or loses as a whole.
const TORN_SECTOR: u64 = 512;

#[derive(Debug, Default)]
struct MemState {
    data: Vec<u8>,
    fault: Option<Fault>,
    crashed: bool,
    write_calls: u64,
    syncs: u64,
}

/// An in-memory device for tests. Thread-safe through a mutex.
#[derive(Debug, Default)]
pub struct MemDev {
    state: Mutex<MemState>,
}

fn injected() -> io::Error {
    io::Error::other("injected device fault")
}

impl MemDev {
    /// A zero-filled device of `size` bytes.
    pub fn new(size: usize) -> MemDev {
        MemDev::from_vec(vec![0; size])
    }

    pub fn from_vec(data: Vec<u8>) -> MemDev {
        MemDev {
            state: Mutex::new(MemState {
                data,
                ..MemState::default()
            }),
        }
    }

    /// A copy of the current contents.
    pub fn to_vec(&self) -> Vec<u8> {
        self.lock().data.clone()
    }

    /// Arms a fault, replacing any armed one and clearing a crash.
    pub fn set_fault(&self, fault: Option<Fault>) {
        let mut s = self.lock();
        s.fault = fault;
        s.crashed = false;
    }

    /// True once an injected fault has fired.
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Number of successful write calls so far.
    pub fn write_calls(&self) -> u64 {
        self.lock().write_calls
    }

    /// Number of successful syncs so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    fn lock(&self) -> MutexGuard<'_, MemState> {
        // A panic while holding the lock cannot corrupt a Vec<u8>; go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl BlockDev for MemDev {
    fn size(&self) -> io::Result<u64> {
        Ok(self.lock().data.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let s = self.lock();
        check_range(offset, buf.len(), s.data.len() as u64, "read")?;
        let start = offset as usize;
        buf.copy_from_slice(&s.data[start..start + buf.len()]);
        Ok(())
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let mut s = self.lock();
        if s.crashed {
            return Err(injected());
        }
        check_range(offset, buf.len(), s.data.len() as u64, "write")?;
        let start = offset as usize;
        let mut len = buf.len();
        match s.fault {
            Some(Fault::FailWriteAfterCalls(0)) => {
                s.crashed = true;
                return Err(injected());
            }
            Some(Fault::FailWriteAfterCalls(n)) => {
                s.fault = Some(Fault::FailWriteAfterCalls(n - 1))
            }
            Some(Fault::FailWriteAfterBytes(n)) if (n as u128) < len as u128 => {
                // Round the end of what lands down to a sector boundary.
                let end = (offset + n) / TORN_SECTOR * TORN_SECTOR;
                len = end.saturating_sub(offset) as usize;
                s.crashed = true;
            }
            Some(Fault::FailWriteAfterBytes(n)) => {
                s.fault = Some(Fault::FailWriteAfterBytes(n - len as u64))
            }
            Some(Fault::FailSync) | Some(Fault::FailSyncs(_)) | None => {}
        }
        s.data[start..start + len].copy_from_slice(&buf[..len]);
        if s.crashed {
            return Err(injected());
        }
        s.write_calls += 1;
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut s = self.lock();
        if s.crashed {
            return Err(injected());
        }
        match s.fault {
            Some(Fault::FailSync) => {
                s.fault = None;
                return Err(injected());
            }
            Some(Fault::FailSyncs(n)) => {
                s.fault = (n > 1).then(|| Fault::FailSyncs(n - 1));
                return Err(injected());
            }
            _ => {}
        }
        s.syncs += 1;
        Ok(())
    }
}

/// A shared device is a device: lets several openers hand out the same
/// in-memory disk (tests, benches, `store::MemOpener`).
impl<T: BlockDev + ?Sized> BlockDev for std::sync::Arc<T> {
    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        (**self).write_at(offset, buf)
    }
    fn sync(&self) -> io::Result<()> {
        (**self).sync()
    }
    fn prefetch(&self, offset: u64, len: u64) {
        (**self).prefetch(offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memdev_exact_reads_and_bounds() {
        let d = MemDev::new(1024);
        d.write_at(1000, &[7; 24]).unwrap();
        let mut b = [0u8; 24];
        d.read_at(1000, &mut b).unwrap();
        assert_eq!(b, [7; 24]);
        assert!(d.read_at(1001, &mut b).is_err());
        assert!(d.write_at(1001, &b).is_err());
        assert!(d.read_at(u64::MAX, &mut b).is_err());
        assert_eq!(d.size().unwrap(), 1024);
    }

    #[test]
    fn memdev_fails_after_calls() {
        let d = MemDev::new(64);
        d.set_fault(Some(Fault::FailWriteAfterCalls(1)));
        d.write_at(0, &[1; 8]).unwrap();
        assert!(d.write_at(8, &[2; 8]).is_err());
        assert!(d.crashed());
        assert!(d.write_at(16, &[3; 8]).is_err());
        assert!(d.sync().is_err());
        assert_eq!(&d.to_vec()[..24], &[[1u8; 8], [0; 8], [0; 8]].concat()[..]);
    }

    #[test]
    fn memdev_tears_writes_after_bytes() {
        let d = MemDev::new(4096);
        d.set_fault(Some(Fault::FailWriteAfterBytes(1100)));
        d.write_at(0, &[1; 8]).unwrap();
        // 1092 bytes of budget left: sectors 0 and 1 land, sector 2 not.
        assert!(d.write_at(8, &[2; 2000]).is_err());
        let v = d.to_vec();
        assert_eq!(&v[..10], &[1, 1, 1, 1, 1, 1, 1, 1, 2, 2]);
        assert_eq!((v[1023], v[1024]), (2, 0));
        d.set_fault(None);
        d.write_at(10, &[3; 2]).unwrap();
    }

    #[test]
    fn memdev_fail_sync_once() {
        let d = MemDev::new(8);
        d.set_fault(Some(Fault::FailSync));
        assert!(d.sync().is_err());
        d.sync().unwrap();
        assert_eq!(d.syncs(), 1);
    }

    #[test]
    fn filedev_round_trip_and_no_growth() {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(4096).unwrap();
        let d = FileDev::open(f.path(), true).unwrap();
        assert_eq!(d.size().unwrap(), 4096);
        d.write_at(4000, &[9; 96]).unwrap();
        d.sync().unwrap();
        let mut b = [0u8; 96];
        d.read_at(4000, &mut b).unwrap();
        assert_eq!(b, [9; 96]);
        assert!(d.write_at(4001, &b).is_err());
        assert!(d.read_at(4001, &mut b).is_err());
        assert_eq!(d.size().unwrap(), 4096);
        let ro = FileDev::open(f.path(), false).unwrap();
        assert!(ro.write_at(0, &[1]).is_err());
    }
}
