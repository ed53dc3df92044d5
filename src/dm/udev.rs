//! udev cookies: how rlvm waits until udev has processed the uevents of
//! the device-mapper changes it made (nodes and links exist, or are gone).
//!
//! The protocol is device-mapper's (libdm-common.c, the `devicemapper`
//! crate's `dm_udev_sync.rs`): a cookie is a SysV semaphore whose key is
//! `DM_COOKIE_MAGIC << 16 | base` (base random, non-zero, 16 bits). It is
//! created with the value 1. Every ioctl that carries the cookie (resume,
//! remove, rename) first increments it and passes `base` in the low 16
//! bits of `event_nr` (the udev flags in the high 16); the kernel hands
//! that on as `DM_COOKIE` in the uevent, and udev's 95-dm-notify rule runs
//! `dmsetup udevcomplete $DM_COOKIE`, which decrements the semaphore found
//! by the same key. An ioctl that made no uevent (no
//! `DM_UEVENT_GENERATED_FLAG` in the answer) or failed is decremented by
//! us at once. Waiting = taking back the initial 1, then blocking until
//! the value is 0 (every uevent processed), then removing the semaphore.
//!
//! Why one cookie per transaction, waited once at its end: udev completes
//! a cookie by running a program (`dmsetup`), and udev's workers need the
//! root filesystem for that. When the root is on an origin LV, taking a
//! snapshot or starting/finishing a merge suspends the root; a wait for
//! the cookie of a lower device (`-real`, `-cow`) while the root is still
//! suspended never ends. LVM2 avoids it the same way (one cookie for the
//! whole device-tree operation, `dm_udev_wait` after everything is
//! resumed). So `DmKernel` keeps one cookie across all resume, remove and
//! rename ioctls until `Kernel::udev_wait`, and `exec::Transaction` calls
//! that only once nothing it suspended is still suspended. The crate
//! makes and waits a cookie inside each ioctl, which cannot be deferred:
//! these three ioctls therefore bypass it (`ioctl.rs`).
//!
//! Why our own SysV calls rather than another design: the cookie is what
//! udev's rules, `dmsetup udevcomplete` and `dmsetup udevcookies` know;
//! any other way of learning that udev is done (`udevadm settle`, watching
//! the udev queue) waits for unrelated events too and cannot tell ours
//! apart. The unsafe surface is four libc calls (semget, semop, and
//! semctl with GETVAL and IPC_RMID, none of which takes the variadic
//! `union semun`: the initial value is set with a semop on a fresh
//! semaphore, which Linux creates at 0).

use std::io;

use nix::libc;

/// libdm's `DM_COOKIE_MAGIC`: the high half of every cookie's key.
pub const DM_COOKIE_MAGIC: u32 = 0x0D4D;
const DM_UDEV_FLAGS_SHIFT: u32 = 16;
/// `DM_UDEV_PRIMARY_SOURCE_FLAG`: the uevent comes from a dm ioctl.
pub const DM_UDEV_PRIMARY_SOURCE_FLAG: u32 = 0x0040;
const COOKIE_MODE: libc::c_int = 0o600;

/// `event_nr` of a cookie-carrying ioctl: udev flags (with the primary
/// source flag) high, the cookie's base (0: nobody waits) low.
pub fn event_nr(udev_flags: u32, base: u16) -> u32 {
    (((udev_flags | DM_UDEV_PRIMARY_SOURCE_FLAG) & 0xffff) << DM_UDEV_FLAGS_SHIFT) | base as u32
}

/// The semaphore key `dmsetup udevcomplete` derives from a uevent's
/// `DM_COOKIE` (the flags replaced by the magic).
pub fn key_of(event_nr: u32) -> u32 {
    (DM_COOKIE_MAGIC << DM_UDEV_FLAGS_SHIFT) | (event_nr & 0xffff)
}

/// One cookie (a SysV semaphore). Dropping it removes the semaphore
/// without waiting.
#[derive(Debug)]
pub struct Cookie {
    key: u32,
    semid: libc::c_int,
}

fn last() -> io::Error {
    io::Error::last_os_error()
}

/// One `semop` on the cookie's only semaphore.
fn semop(semid: libc::c_int, op: libc::c_short, flags: libc::c_short) -> io::Result<()> {
    let mut sb = libc::sembuf {
        sem_num: 0,
        sem_op: op,
        sem_flg: flags,
    };
    // SAFETY: `sb` is one valid sembuf and we pass nsops = 1.
    let r = unsafe { libc::semop(semid, &mut sb, 1) };
    if r < 0 {
        return Err(last());
    }
    Ok(())
}

impl Cookie {
    /// A new cookie with the value 1. Fails if SysV semaphores are not
    /// available (then nothing can wait for udev).
    pub fn create() -> io::Result<Cookie> {
        for _ in 0..16 {
            let base: u16 = rand::random();
            if base == 0 {
                continue;
            }
            let key = (DM_COOKIE_MAGIC << DM_UDEV_FLAGS_SHIFT) | base as u32;
            // SAFETY: semget takes plain integers.
            let semid = unsafe {
                libc::semget(
                    key as libc::key_t,
                    1,
                    COOKIE_MODE | libc::IPC_CREAT | libc::IPC_EXCL,
                )
            };
            if semid < 0 {
                let e = last();
                if e.raw_os_error() == Some(libc::EEXIST) {
                    continue;
                }
                return Err(e);
            }
            let c = Cookie { key, semid };
            // Linux creates semaphores at 0; the cookie starts at 1.
            if c.value()? != 0 {
                return Err(io::Error::other(format!(
                    "new udev cookie semaphore {semid} is not 0"
                )));
            }
            c.inc()?;
            log::debug!("udev cookie {:#x} (semid {semid}) created", key);
            return Ok(c);
        }
        Err(io::Error::other("no free udev cookie"))
    }

    /// The cookie's base: what goes into `event_nr`.
    pub fn base(&self) -> u16 {
        (self.key & 0xffff) as u16
    }

    pub fn key(&self) -> u32 {
        self.key
    }

    /// One more uevent to wait for (before the ioctl that makes it).
    pub fn inc(&self) -> io::Result<()> {
        semop(self.semid, 1, 0)
    }

    /// One uevent fewer (the ioctl made none, or failed).
    pub fn dec(&self) -> io::Result<()> {
        semop(self.semid, -1, libc::IPC_NOWAIT as libc::c_short)
    }

    /// The semaphore's value: 1 + uevents not yet completed by udev.
    pub fn value(&self) -> io::Result<i32> {
        // SAFETY: GETVAL takes no fourth argument.
        let r = unsafe { libc::semctl(self.semid, 0, libc::GETVAL) };
        if r < 0 {
            return Err(last());
        }
        Ok(r)
    }

    /// Waits until udev has completed every uevent of the cookie, then
    /// removes it. The semaphore is removed even if waiting fails.
    pub fn wait(self) -> io::Result<()> {
        self.dec()?;
        log::debug!("udev cookie {:#x}: waiting for udev", self.key);
        loop {
            match semop(self.semid, 0, 0) {
                Ok(()) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                // Removed by someone else (`dmsetup udevcomplete_all`).
                Err(e) if e.raw_os_error() == Some(libc::EIDRM) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Like `wait`, giving up after `limit`.
    #[cfg(test)]
    pub fn wait_for(self, limit: std::time::Duration) -> io::Result<bool> {
        self.dec()?;
        let deadline = std::time::Instant::now() + limit;
        loop {
            if self.value()? == 0 {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

impl Drop for Cookie {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID takes no fourth argument.
        let r = unsafe { libc::semctl(self.semid, 0, libc::IPC_RMID) };
        if r < 0 {
            let e = last();
            // Already gone (EINVAL/EIDRM: `dmsetup udevcomplete_all`).
            if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::EIDRM)) {
                log::warn!(
                    "Could not remove udev cookie {:#x} (semid {}): {e}",
                    self.key,
                    self.semid
                );
            }
        }
    }
}

/// What `dmsetup udevcomplete DM_COOKIE` does for a uevent (tests; udev
/// runs the real one).
pub fn complete(event_nr: u32) -> io::Result<()> {
    if event_nr & 0xffff == 0 {
        return Ok(());
    }
    // SAFETY: semget takes plain integers.
    let semid = unsafe { libc::semget(key_of(event_nr) as libc::key_t, 1, 0) };
    if semid < 0 {
        return Err(last());
    }
    semop(semid, -1, libc::IPC_NOWAIT as libc::c_short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sysv() -> Option<Cookie> {
        match Cookie::create() {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("no SysV semaphores here ({e}): skipped");
                None
            }
        }
    }

    #[test]
    fn event_nr_carries_flags_and_base() {
        assert_eq!(event_nr(0x03, 0), 0x0043 << 16);
        assert_eq!(event_nr(0x03, 0x1234), (0x0043 << 16) | 0x1234);
        assert_eq!(key_of(event_nr(0x20, 0xbeef)), 0x0d4d_beef);
    }

    #[test]
    fn one_cookie_for_many_uevents_waits_for_all_of_them() {
        let Some(c) = sysv() else { return };
        assert_eq!(c.value().unwrap(), 1);
        // Three ioctls with uevents, one without.
        for _ in 0..4 {
            c.inc().unwrap();
        }
        c.dec().unwrap();
        assert_eq!(c.value().unwrap(), 4);
        let ev = event_nr(0x10, c.base());
        complete(ev).unwrap();
        complete(ev).unwrap();
        // One uevent still pending: the wait does not end.
        let key = c.key();
        let waiter = std::thread::spawn(move || c.wait_for(Duration::from_millis(200)));
        assert!(!waiter.join().unwrap().unwrap(), "wait ended too early");
        // The semaphore is gone with the cookie.
        // SAFETY: plain integers.
        let gone = unsafe { libc::semget(key as libc::key_t, 1, 0) };
        assert!(gone < 0);
    }

    #[test]
    fn wait_returns_once_udev_completed_everything() {
        let Some(c) = sysv() else { return };
        c.inc().unwrap();
        c.inc().unwrap();
        let ev = event_nr(0, c.base());
        let udev = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            complete(ev).unwrap();
            complete(ev).unwrap();
        });
        c.wait().unwrap();
        udev.join().unwrap();
        // Completing a removed cookie fails (as dmsetup's does), harmlessly.
        assert!(complete(ev).is_err());
        // A cookie without a base is nobody's.
        complete(event_nr(0, 0)).unwrap();
    }
}
