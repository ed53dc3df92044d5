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
//! suspend every page mapped is read in and locked (`mlockall`), and the
//! lock is let go when the last device this process suspended is resumed,
//! removed or undone. Anonymous memory made inside the window is locked too
//! (MCL_FUTURE) where allowed, so nothing is swapped out to a swap LV that
//! may be the one suspended.
//!
//! The set is process-wide: the parallel activation's handles (one per
//! thread) suspend and resume under the same lock.

use std::collections::HashSet;
use std::sync::Mutex;

use nix::sys::mman::{mlockall, munlockall, MlockAllFlags};

static SUSPENDED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn with_set<T>(f: impl FnOnce(&mut HashSet<String>) -> T) -> T {
    // A panic elsewhere while the lock was held leaves a usable set.
    let mut guard = SUSPENDED.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashSet::new))
}

/// Lock every page before `name` is suspended (the first suspended device
/// locks; the others only join the set).
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

/// Whether this process holds memory locked for a suspended device.
pub fn locked() -> bool {
    with_set(|set| !set.is_empty())
}

fn lock_all() {
    // MCL_FUTURE makes later mappings fail once RLIMIT_MEMLOCK is reached
    // for a process without CAP_IPC_LOCK: then the current pages only
    // (what the reads into a suspended device come from: the binary, the
    // libraries, the heap so far).
    let r = mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
        .or_else(|_| mlockall(MlockAllFlags::MCL_CURRENT));
    if let Err(e) = r {
        log::warn!("WARNING: Failed to lock memory while a device is suspended: {e}.");
    }
}

fn unlock_all() {
    if let Err(e) = munlockall() {
        log::debug!("munlockall: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lock follows the set: held from the first suspend until the
    /// last device runs again, whatever the order and renames.
    #[test]
    fn lock_held_until_the_last_suspended_device_runs() {
        assert!(!locked());
        suspending("vg-root");
        suspending("vg-root-real");
        assert!(locked());
        renamed("vg-root-real", "vg-root-real2");
        running("vg-root-real");
        assert!(locked(), "a name no longer in the set changes nothing");
        running("vg-root");
        assert!(locked());
        running("vg-root-real2");
        assert!(!locked());
        running("vg-never-suspended");
        assert!(!locked());
    }
}
