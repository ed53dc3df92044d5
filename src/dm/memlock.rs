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
//! The set is process-wide: the parallel activation's handles (one per
//! thread) suspend and resume under the same lock.

use std::collections::BTreeSet;
use std::sync::Mutex;

use nix::sys::mman::{mlock, mlockall, munlockall, MlockAllFlags};

static SUSPENDED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

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
    // What the process has in memory stays there (no swap-out to a swap LV
    // that may be the suspended one), and so does what it touches later;
    // nothing is read in or allocated for this (MCL_ONFAULT: the thread
    // stacks glibc caches and the malloc arenas would be tens of MiB to
    // fill, ~90 ms of a 1000-LV `lvcreate -s` in the test VM).
    if let Err(e) = mlockall(
        MlockAllFlags::MCL_CURRENT
            | MlockAllFlags::MCL_FUTURE
            // nix does not name it (Linux 4.4).
            | MlockAllFlags::from_bits_retain(libc::MCL_ONFAULT),
    ) {
        log::debug!("mlockall(MCL_ONFAULT): {e}");
    }
    // What a page fault would read from a disk: the file mappings (the
    // binary's and the libraries' code, constants and data), read in and
    // locked now.
    let maps = match std::fs::read_to_string("/proc/self/maps") {
        Ok(m) => m,
        Err(e) => {
            log::warn!("WARNING: Failed to read /proc/self/maps to lock memory: {e}.");
            return;
        }
    };
    let mut failed = None;
    for (start, len) in maps.lines().filter_map(file_mapping) {
        let Some(addr) = std::ptr::NonNull::new(start as *mut std::ffi::c_void) else {
            continue;
        };
        // SAFETY: mlock only changes whether the pages of a mapping of this
        // process stay in memory; it reads them in through the kernel and
        // touches no Rust object (a range no longer mapped fails with
        // ENOMEM, which is only reported).
        if let Err(e) = unsafe { mlock(addr, len) } {
            failed.get_or_insert(e);
        }
    }
    if let Some(e) = failed {
        log::warn!("WARNING: Failed to lock memory while a device is suspended: {e}.");
    }
}

/// A readable mapping of a file in a `/proc/self/maps` line
/// (`start-end perms offset dev inode path`): its start and length.
fn file_mapping(line: &str) -> Option<(usize, usize)> {
    let mut f = line.split_ascii_whitespace();
    let (range, perms) = (f.next()?, f.next()?);
    let (_offset, _dev, inode) = (f.next()?, f.next()?, f.next()?);
    let path = f.next()?;
    if !perms.starts_with('r') || inode == "0" || !path.starts_with('/') {
        return None;
    }
    let (a, b) = range.split_once('-')?;
    let start = usize::from_str_radix(a, 16).ok()?;
    let end = usize::from_str_radix(b, 16).ok()?;
    Some((start, end.checked_sub(start).filter(|&n| n > 0)?))
}

fn unlock_all() {
    if let Err(e) = munlockall() {
        log::debug!("munlockall: {e}");
    }
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
        // As root (CAP_IPC_LOCK), the binary's pages are locked in memory.
        if nix::unistd::Uid::effective().is_root() {
            assert!(locked_kib() > 0, "nothing locked while suspended");
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

    /// VmLck of this process, KiB.
    fn locked_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn file_mappings_are_the_readable_ones_with_a_path() {
        let m = |l| file_mapping(l);
        assert_eq!(
            m("55d0c0a00000-55d0c0b23000 r-xp 00010000 fe:01 1311 /usr/sbin/rlvm"),
            Some((0x55d0c0a00000, 0x123000))
        );
        assert_eq!(
            m("7f00aa000000-7f00aa001000 rw-p 00002000 fe:01 77 /usr/lib/libc.so.6 (deleted)"),
            Some((0x7f00aa000000, 0x1000))
        );
        // Gaps, anonymous memory, the heap, the stack, vdso.
        assert_eq!(
            m("7f00aa001000-7f00aa002000 ---p 00003000 fe:01 77 /usr/lib/libc.so.6"),
            None
        );
        assert_eq!(m("7f00ab000000-7f00ab100000 rw-p 00000000 00:00 0"), None);
        assert_eq!(
            m("55d0c1000000-55d0c1200000 rw-p 00000000 00:00 0 [heap]"),
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
    }
}
