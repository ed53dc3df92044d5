//! This process's memory, held in RAM while it has a device suspended
//! (LVM2's "critical section").
//!
//! A page of rlvm's own code or data that is not in memory when it is first
//! needed is read from disk. When that disk is the device rlvm has just
//! suspended (rlvm installed on the root LV whose merge the boot's poller
//! finishes, `lvcreate -s` or `lvconvert --merge` of the mounted root) the
//! read waits for a resume that only this process can issue: the machine's
//! root stays frozen for good (seen in the boot test: the poller's finish
//! path was first run inside the suspend window). So before the first
//! suspend every file mapping (the binary's and the libraries' code,
//! constants and data) is read in and locked (`mlock` of each, from
//! /proc/self/maps), and the rest of the memory is locked as it is and as
//! it grows (`mlockall` with MCL_ONFAULT: nothing swapped out to a swap LV
//! that may be the suspended one, and no cost for memory never touched);
//! the lock is let go when the last device this process suspended is
//! resumed, removed or undone.
//!
//! Only what a fault could read from a device is locked. Anonymous memory
//! can be paged out only to swap: with no swap in use (/proc/swaps lists
//! none) no `mlockall` is needed. A file on ramfs, or on tmpfs while no
//! swap is in use, has its pages in memory only (rlvm in an initramfs, as
//! in the boot's rollback and the test VM): it is not locked either. A swap
//! turned on during the window is a device that is not suspended (a swapon
//! of one stacked on a suspended device waits for the resume before any
//! swap exists). Every other file (on a disk, an LV, NFS, overlayfs...), or
//! one whose place cannot be checked, is locked as before; when nothing
//! needed a lock, nothing is unlocked. Locking costs per page present or
//! read in, and unlocking per page and mapping: the static binary's ~8 MiB
//! took ~7 ms to lock and ~4 to unlock in the test VM.
//!
//! The set is process-wide: the parallel activation's handles (one per
//! thread) suspend and resume under the same lock.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use nix::sys::mman::{mlock, mlockall, munlockall, MlockAllFlags};
use nix::sys::statfs::{FsType, TMPFS_MAGIC};

static SUSPENDED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
/// Whether the last `lock_all` locked anything (then `unlock_all` unlocks).
static HELD: AtomicBool = AtomicBool::new(false);

fn with_set<T>(f: impl FnOnce(&mut BTreeSet<String>) -> T) -> T {
    // A panic elsewhere while the lock was held leaves a usable set.
    f(&mut SUSPENDED.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Lock the memory (module doc) before `name` is suspended: the first
/// suspended device locks; the others only join the set.
pub fn suspending(name: &str) {
    with_set(|set| {
        if set.is_empty() {
            lock_all();
        }
        set.insert(name.to_string());
    })
}

/// `name` runs again (resumed or removed), or its suspend failed: the lock
/// goes with the last suspended device.
pub fn running(name: &str) {
    with_set(|set| {
        if set.remove(name) && set.is_empty() {
            unlock_all();
        }
    })
}

/// `from` is now called `to` (a rename while suspended).
pub fn renamed(from: &str, to: &str) {
    with_set(|set| {
        if set.remove(from) {
            set.insert(to.to_string());
        }
    })
}

fn lock_all() {
    let swap = swap_in_use();
    let mut held = false;
    if swap {
        // What the process has in memory stays there (no swap-out to a
        // swap LV that may be the suspended one), and so does what it
        // touches later; nothing is read in or allocated for this
        // (MCL_ONFAULT: the thread stacks glibc caches and the malloc
        // arenas would be tens of MiB to fill, ~90 ms of a 1000-LV
        // `lvcreate -s` in the test VM).
        match mlockall(
            MlockAllFlags::MCL_CURRENT
                | MlockAllFlags::MCL_FUTURE
                // nix does not name it (Linux 4.4).
                | MlockAllFlags::from_bits_retain(libc::MCL_ONFAULT),
        ) {
            Ok(()) => held = true,
            Err(e) => log::debug!("mlockall(MCL_ONFAULT): {e}"),
        }
    }
    // What a page fault would read from a disk: the file mappings (the
    // binary's and the libraries' code, constants and data), read in and
    // locked now, but for files whose pages live in memory only (module
    // doc).
    let maps = match std::fs::read_to_string("/proc/self/maps") {
        Ok(m) => m,
        Err(e) => {
            log::warn!("WARNING: Failed to read /proc/self/maps to lock memory: {e}.");
            HELD.store(held, Ordering::Relaxed);
            return;
        }
    };
    let mut failed = None;
    // A file's mappings come one after the other: it is looked at once.
    let mut last: Option<((u64, u64), u64, bool)> = None;
    for m in maps.lines().filter_map(file_mapping) {
        let lock = match last {
            Some((dev, inode, lock)) if dev == m.dev && inode == m.inode => lock,
            _ => needs_lock(&m, swap),
        };
        last = Some((m.dev, m.inode, lock));
        if !lock {
            continue;
        }
        let Some(addr) = std::ptr::NonNull::new(m.start as *mut std::ffi::c_void) else {
            continue;
        };
        held = true;
        // SAFETY: mlock only changes whether the pages of a mapping of this
        // process stay in memory; it reads them in through the kernel and
        // touches no Rust object (a range no longer mapped fails with
        // ENOMEM, which is only reported).
        if let Err(e) = unsafe { mlock(addr, m.len) } {
            failed.get_or_insert(e);
        }
    }
    HELD.store(held, Ordering::Relaxed);
    if let Some(e) = failed {
        log::warn!("WARNING: Failed to lock memory while a device is suspended: {e}.");
    }
}

/// A readable mapping of a file, from a `/proc/self/maps` line
/// (`start-end perms offset dev inode path`).
#[derive(Debug, PartialEq)]
struct FileMapping<'a> {
    start: usize,
    len: usize,
    /// The file's filesystem (st_dev) and inode, as the kernel mapped it.
    dev: (u64, u64),
    inode: u64,
    /// As maps shows it: may end in " (deleted)" or hold escapes.
    path: &'a str,
}

fn file_mapping(line: &str) -> Option<FileMapping<'_>> {
    let mut f = line.splitn(6, ' ');
    let (range, perms) = (f.next()?, f.next()?);
    let (_offset, dev, inode) = (f.next()?, f.next()?, f.next()?);
    let path = f.next()?.trim_start();
    if !perms.starts_with('r') || inode == "0" || !path.starts_with('/') {
        return None;
    }
    let (a, b) = range.split_once('-')?;
    let start = usize::from_str_radix(a, 16).ok()?;
    let end = usize::from_str_radix(b, 16).ok()?;
    let (major, minor) = dev.split_once(':')?;
    Some(FileMapping {
        start,
        len: end.checked_sub(start).filter(|&n| n > 0)?,
        dev: (
            u64::from_str_radix(major, 16).ok()?,
            u64::from_str_radix(minor, 16).ok()?,
        ),
        inode: inode.parse().ok()?,
        path,
    })
}

/// ramfs's statfs f_type (linux/magic.h; nix does not name it).
const RAMFS_MAGIC: FsType = FsType(0x8584_58f6_u32 as _);

/// Whether a fault on `m` could read from a device (module doc): false
/// only when the file open at its path is the one mapped (same filesystem
/// and inode) and lives on ramfs, or on tmpfs while no swap is in use
/// (`swap`).
fn needs_lock(m: &FileMapping, swap: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(file) = std::fs::File::open(m.path) else {
        return true;
    };
    let (Ok(meta), Ok(fs)) = (file.metadata(), nix::sys::statfs::fstatfs(&file)) else {
        return true;
    };
    let dev = (
        nix::sys::stat::major(meta.dev()),
        nix::sys::stat::minor(meta.dev()),
    );
    if dev != m.dev || meta.ino() != m.inode {
        return true;
    }
    fs_needs_lock(fs.filesystem_type(), swap)
}

/// Whether pages of a file on a filesystem of type `ty` can be read from a
/// device by a fault, `swap` telling whether any swap is in use.
fn fs_needs_lock(ty: FsType, swap: bool) -> bool {
    if ty == RAMFS_MAGIC {
        false
    } else if ty == TMPFS_MAGIC {
        swap
    } else {
        true
    }
}

/// Whether any swap area is in use (/proc/swaps lists one under its
/// heading); an unreadable list counts as in use.
fn swap_in_use() -> bool {
    match std::fs::read_to_string("/proc/swaps") {
        Ok(text) => text.lines().skip(1).any(|l| !l.trim().is_empty()),
        Err(_) => true,
    }
}

fn unlock_all() {
    if !HELD.swap(false, Ordering::Relaxed) {
        return;
    }
    if let Err(e) = munlockall() {
        log::debug!("munlockall: {e}");
    }
}

/// How much of this process's memory is locked (VmLck of
/// /proc/self/status), KiB; `None` when it cannot be read.
pub fn locked_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmLck:"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether this process holds memory locked for a suspended device.
    fn locked() -> bool {
        with_set(|set| !set.is_empty())
    }

    /// The lock follows the set: held from the first suspend until the
    /// last device runs again, whatever the order and renames.
    #[test]
    fn lock_held_until_the_last_suspended_device_runs() {
        assert!(!locked());
        suspending("vg-root");
        suspending("vg-root-real");
        assert!(locked());
        // As root (CAP_IPC_LOCK), the test binary's pages are locked in
        // memory unless none could be read from a device.
        if nix::unistd::Uid::effective().is_root() {
            let swap = swap_in_use();
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            let mut files = maps.lines().filter_map(file_mapping);
            let needed = swap || files.any(|m| needs_lock(&m, swap));
            assert_eq!(locked_kib() > 0, needed, "locked while suspended");
        }
        renamed("vg-root-real", "vg-root-real2");
        running("vg-root-real");
        assert!(locked(), "a name no longer in the set changes nothing");
        running("vg-root");
        assert!(locked());
        running("vg-root-real2");
        assert!(!locked());
        assert_eq!(locked_kib(), 0, "memory still locked after the last resume");
        running("vg-never-suspended");
        assert!(!locked());
    }

    fn locked_kib() -> u64 {
        super::locked_kib().expect("VmLck in /proc/self/status")
    }

    #[test]
    fn file_mappings_are_the_readable_ones_with_a_path() {
        let m = |l| file_mapping(l).map(|m| (m.start, m.len, m.dev, m.inode, m.path));
        assert_eq!(
            m("55d0c0a00000-55d0c0b23000 r-xp 00010000 fe:01 1311                       /usr/sbin/rlvm"),
            Some((0x55d0c0a00000, 0x123000, (0xfe, 1), 1311, "/usr/sbin/rlvm"))
        );
        assert_eq!(
            m("7f00aa000000-7f00aa001000 rw-p 00002000 00:1a 77 /usr/lib/my lib.so (deleted)"),
            Some((
                0x7f00aa000000,
                0x1000,
                (0, 0x1a),
                77,
                "/usr/lib/my lib.so (deleted)"
            ))
        );
        // Gaps, anonymous memory, the heap, the stack, vdso.
        assert_eq!(
            m("7f00aa001000-7f00aa002000 ---p 00003000 fe:01 77 /usr/lib/libc.so.6"),
            None
        );
        assert_eq!(m("7f00ab000000-7f00ab100000 rw-p 00000000 00:00 0"), None);
        assert_eq!(
            m("55d0c1000000-55d0c1200000 rw-p 00000000 00:00 0                          [heap]"),
            None
        );
        assert_eq!(
            m("7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]"),
            None
        );
        assert_eq!(
            m("7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0 [vdso]"),
            None
        );
        assert_eq!(m("garbage"), None);
        assert_eq!(m("2000-1000 r--p 0 fe:01 5 /x"), None);
        assert_eq!(m("1000-2000 r--p 0 fe01 5 /x"), None);
    }

    /// Only ramfs, and tmpfs without swap, hold a file's pages where no
    /// fault reads a device.
    #[test]
    fn files_in_memory_only_need_no_lock() {
        assert!(!fs_needs_lock(RAMFS_MAGIC, true));
        assert!(!fs_needs_lock(RAMFS_MAGIC, false));
        assert!(!fs_needs_lock(TMPFS_MAGIC, false));
        assert!(fs_needs_lock(TMPFS_MAGIC, true));
        use nix::sys::statfs::{BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, NFS_SUPER_MAGIC};
        use nix::sys::statfs::{OVERLAYFS_SUPER_MAGIC, XFS_SUPER_MAGIC};
        for ty in [
            EXT4_SUPER_MAGIC,
            XFS_SUPER_MAGIC,
            BTRFS_SUPER_MAGIC,
            NFS_SUPER_MAGIC,
            OVERLAYFS_SUPER_MAGIC,
        ] {
            assert!(fs_needs_lock(ty, false), "{ty:?}");
        }
    }

    /// A mapping is judged by the file open at its path only when that is
    /// the file mapped; anything unclear is locked.
    #[test]
    fn a_mapping_that_cannot_be_checked_is_locked() {
        // On tmpfs (/dev/shm) when there is one, so that the file itself
        // needs no lock without swap and every mismatch below must be seen.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let path = dir.path().join("lib.so");
        std::fs::write(&path, b"x").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        use std::os::unix::fs::MetadataExt;
        let dev = (
            nix::sys::stat::major(meta.dev()),
            nix::sys::stat::minor(meta.dev()),
        );
        let p = path.to_str().unwrap();
        let mapping = |dev, inode, path| FileMapping {
            start: 0x1000,
            len: 0x1000,
            dev,
            inode,
            path,
        };
        let ty = nix::sys::statfs::statfs(&path).unwrap().filesystem_type();
        // The file itself: as its filesystem says (tmpfs with swap: locked).
        let expected = fs_needs_lock(ty, true);
        assert_eq!(needs_lock(&mapping(dev, meta.ino(), p), true), expected);
        if ty == TMPFS_MAGIC {
            assert!(!needs_lock(&mapping(dev, meta.ino(), p), false));
        }
        // Another inode or filesystem at that path, a deleted file, no file.
        assert!(needs_lock(&mapping(dev, meta.ino() + 1, p), false));
        assert!(needs_lock(
            &mapping((dev.0, dev.1 + 1), meta.ino(), p),
            false
        ));
        let deleted = format!("{p} (deleted)");
        assert!(needs_lock(&mapping(dev, meta.ino(), &deleted), false));
        assert!(needs_lock(
            &mapping(dev, meta.ino(), "/nonexistent/x"),
            false
        ));
    }
}
