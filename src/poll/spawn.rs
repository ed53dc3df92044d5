//! Starting a detached poller, and keeping pollers to one per origin.
//!
//! LVM2 forks (or asks lvmpolld); rlvm starts itself again as
//! `rlvm lvpoll --polloperation merge -i N VG/LV` in a new session with
//! its standard streams on /dev/null (a fresh process: no state inherited
//! from the command, nothing to go wrong after `fork` in a process that
//! holds locks). The poller logs to syslog (the journal, where one runs).
//!
//! One poller per origin: whoever polls holds an exclusive `flock` on
//! `<locking dir>/rlvm_poll_<LV uuid>` while it may finish the merge;
//! others that find it taken only watch (foreground) or exit (background).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{Flock, FlockArg};

/// The claim file for polling the LV with UUID `lv_uuid`.
pub fn claim_path(locking_dir: &Path, lv_uuid: &str) -> PathBuf {
    locking_dir.join(format!("rlvm_poll_{lv_uuid}"))
}

/// Takes the poll claim without waiting; `None` when another poller holds
/// it. The claim lasts as long as the returned lock.
pub fn try_claim(path: &Path) -> io::Result<Option<Flock<File>>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(Some(l)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(io::Error::from(e)),
    }
}

/// Starts `rlvm lvpoll --polloperation merge` for `vg/lv` in the
/// background, detached from the caller's session and terminal.
/// `config` are the caller's `--config` strings, passed on.
pub fn spawn_merge_poller(
    vg: &str,
    lv: &str,
    interval: super::progress::Interval,
    config: &[String],
) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.arg0("rlvm")
        .args(["lvpoll", "--detached", "--polloperation", "merge", "-i"])
        .arg(format!(
            "{}{}",
            if interval.wait_first { "+" } else { "" },
            interval.every.as_secs()
        ));
    for c in config {
        cmd.arg("--config").arg(c);
    }
    cmd.arg(format!("{vg}/{lv}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: `setsid` is async-signal-safe and touches no memory of the
    // parent; it runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(io::Error::from)?;
            Ok(())
        });
    }
    cmd.spawn().map(|_| ())
}

/// Writes one line to syslog as `rlvm-poll` (where the detached poller's
/// messages go).
pub fn syslog(err: bool, msg: &str) {
    use std::ffi::CString;
    static IDENT: &[u8] = b"rlvm-poll\0";
    let Ok(text) = CString::new(msg.replace('\0', " ")) else {
        return;
    };
    let prio = if err { libc::LOG_ERR } else { libc::LOG_INFO };
    // SAFETY: IDENT is a static NUL-terminated string that outlives every
    // syslog call; the format is a constant "%s" with one C string argument.
    unsafe {
        libc::openlog(IDENT.as_ptr().cast(), libc::LOG_PID, libc::LOG_DAEMON);
        libc::syslog(prio, c"%s".as_ptr(), text.as_ptr());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_origin() {
        let dir = tempfile::tempdir().unwrap();
        let p = claim_path(dir.path(), "LVM-abc");
        let first = try_claim(&p).unwrap();
        assert!(first.is_some());
        assert!(try_claim(&p).unwrap().is_none(), "second claim refused");
        drop(first);
        assert!(try_claim(&p).unwrap().is_some(), "free again after release");
    }
}
