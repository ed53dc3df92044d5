//! LVM2's file locks (`lib/locking/file_locking.c`) and hint invalidation
//! (`lib/label/hints.c`). Touches the filesystem only: lock files under
//! global/locking_dir and `/run/lvm/newhints`.
//!
//! What makes rlvm and LVM2 exclude each other is using the very same
//! files with the very same `flock(2)` semantics:
//!
//! * `V_<vg>` for a VG, `P_global` for the global (VG namespace / PV list)
//!   lock, `P_orphans` for orphan PVs, all in `global/locking_dir`.
//! * Shared flock to read, exclusive to write; blocking unless
//!   `global/wait_for_locks = 0`.
//! * Files are opened `O_CREAT|O_APPEND|O_RDWR` with mode 0777 (before
//!   umask); after flock succeeds the path is re-stat'ed and the lock
//!   retried if the file was unlinked and recreated meanwhile.
//! * With `global/prioritise_write_locks = 1` (the default) every lock is
//!   taken under an exclusive lock on `<file>:aux`, so writers queue ahead
//!   of new readers.
//! * On release the file is unlinked if an exclusive non-blocking flock
//!   still succeeds and the path still names the same inode.
//!
//! The devices-file lock (`device_id.c`, `lock_devices_file`) is
//! `D_<devicesfile>` in the same directory, mode 0600, never unlinked.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::lvmconf::LvmConf;

/// LVM2's compiled-in run directory (DEFAULT_RUN_DIR on Debian and Fedora).
pub const DEFAULT_RUN_DIR: &str = "/run/lvm";

#[derive(Debug, Error)]
pub enum LockError {
    /// LVM2's own wording (`log_sys_error("flock", file)` with EWOULDBLOCK).
    #[error("{path}: flock failed: Resource temporarily unavailable (can't get lock for {name})")]
    WouldBlock { name: String, path: PathBuf },
    #[error("Can't get lock for {name}: {path}: {source}")]
    Io {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// LVM2's `log_sys_error("open", file)`: e.g. a user who may not
    /// write the lock directory ("Permission denied").
    #[error("{}: open failed: {}", .path.display(), strerror(.source))]
    Open {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: flock failed: {}", .path.display(), strerror(.source))]
    Flock {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Invalid lock name \"{0}\"")]
    BadName(String),
    #[error("Failed to invalidate hints {path}: {source}")]
    Hints {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A held flock. Dropping it unlocks (and, like LVM2, removes the lock
/// file when no one else holds it).
#[derive(Debug)]
pub struct LockGuard {
    file: Option<File>,
    path: PathBuf,
    unlink_on_release: bool,
}

impl LockGuard {
    /// A lock not taken, as LVM2 goes on with locking disabled
    /// (`locking_type = 0`) or after a failure it was told to ignore
    /// (`--sysinit`, `--ignorelockingfailure`): releasing it does nothing.
    pub fn not_held(path: PathBuf) -> LockGuard {
        LockGuard {
            file: None,
            path,
            unlink_on_release: false,
        }
    }

    /// The lock file held.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let _ = flock(&file, libc::LOCK_UN | libc::LOCK_NB);
            if self.unlink_on_release {
                undo_flock(&self.path, file);
            }
        }
    }
}

/// Options of one lock request, from lvm.conf.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    pub exclusive: bool,
    pub wait: bool,
    pub prioritise_writes: bool,
}

impl LockOptions {
    fn from_conf(conf: &LvmConf, exclusive: bool) -> LockOptions {
        LockOptions {
            exclusive,
            wait: conf.wait_for_locks(),
            prioritise_writes: conf.prioritise_write_locks(),
        }
    }
}

/// The global lock `P_global`: exclusive for changes to the set of VG names
/// or PVs (pvcreate, vgcreate, vgrename...), shared for listing.
pub fn lock_global(conf: &LvmConf, exclusive: bool) -> Result<LockGuard, LockError> {
    lock_in_dir(
        &conf.locking_dir(),
        "P_global",
        "global",
        LockOptions::from_conf(conf, exclusive),
    )
}

/// The orphan-PV lock `P_orphans`.
pub fn lock_orphans(conf: &LvmConf, exclusive: bool) -> Result<LockGuard, LockError> {
    lock_in_dir(
        &conf.locking_dir(),
        "P_orphans",
        "orphans",
        LockOptions::from_conf(conf, exclusive),
    )
}

/// The VG lock `V_<vg_name>`: shared to read the VG, exclusive to write it.
pub fn lock_vg(conf: &LvmConf, vg_name: &str, exclusive: bool) -> Result<LockGuard, LockError> {
    // LVM2 builds the file name from the VG name unchecked; names with '/'
    // or a leading '#' are not VG names and must not escape the directory.
    if vg_name.is_empty() || vg_name.contains('/') || vg_name.starts_with('#') {
        return Err(LockError::BadName(vg_name.to_string()));
    }
    lock_in_dir(
        &conf.locking_dir(),
        &format!("V_{vg_name}"),
        vg_name,
        LockOptions::from_conf(conf, exclusive),
    )
}

/// The devices-file lock `D_<devicesfile>` (exclusive while editing it).
pub fn lock_devices_file(conf: &LvmConf, exclusive: bool) -> Result<LockGuard, LockError> {
    let dir = conf.locking_dir();
    let name = conf.devicesfile();
    if name.contains('/') {
        return Err(LockError::BadName(name));
    }
    create_dir(&dir).map_err(|source| LockError::Io {
        name: name.clone(),
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(format!("D_{name}"));
    let io = |source| LockError::Io {
        name: name.clone(),
        path: path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    flock_retry(&file, op).map_err(io)?;
    Ok(LockGuard {
        file: Some(file),
        path,
        unlink_on_release: false,
    })
}

/// Take `dir/file_name` as LVM2's `_lock_file` would; `name` is only for
/// messages. Creates `dir` (and missing parents) mode 0700, as LVM2 does.
pub fn lock_in_dir(
    dir: &Path,
    file_name: &str,
    name: &str,
    opts: LockOptions,
) -> Result<LockGuard, LockError> {
    create_dir(dir).map_err(|source| LockError::Io {
        name: name.to_string(),
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(file_name);
    let file = if opts.prioritise_writes {
        let mut aux = path.clone().into_os_string();
        aux.push(":aux");
        let aux = PathBuf::from(aux);
        let aux_file = do_flock(&aux, libc::LOCK_EX, true, name)?;
        if opts.exclusive {
            let r = do_flock(&path, libc::LOCK_EX, opts.wait, name);
            undo_flock(&aux, aux_file);
            r?
        } else {
            undo_flock(&aux, aux_file);
            do_flock(&path, libc::LOCK_SH, opts.wait, name)?
        }
    } else {
        let op = if opts.exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        do_flock(&path, op, opts.wait, name)?
    };
    Ok(LockGuard {
        file: Some(file),
        path,
        unlink_on_release: true,
    })
}

/// Tell LVM2 that its device hints are stale, after creating or removing
/// a PV: LVM2 rebuilds `/run/lvm/hints` when `/run/lvm/newhints` exists
/// (`hints.c`, `_touch_newhints`). Nothing to do if the run dir does not
/// exist (then LVM2 has no hints either).
pub fn invalidate_hints() -> Result<(), LockError> {
    invalidate_hints_in(Path::new(DEFAULT_RUN_DIR))
}

/// [`invalidate_hints`] for another run directory (tests).
pub fn invalidate_hints_in(run_dir: &Path) -> Result<(), LockError> {
    if !run_dir.is_dir() {
        return Ok(());
    }
    let path = run_dir.join("newhints");
    // fopen(path, "w"): create or truncate, mode 0666 before umask.
    File::create(&path)
        .map(drop)
        .map_err(|source| LockError::Hints { path, source })
}

/// The lock directory and its missing parents are made 0700 whatever the
/// umask (LVM2 makes them so): other users must not be able to plant or
/// remove lock files.
fn create_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// One `_do_flock`: open/create, flock, and retry while the path was
/// replaced under us (another command's release unlinked it).
fn do_flock(path: &Path, op: libc::c_int, wait: bool, name: &str) -> Result<File, LockError> {
    let io = |source| LockError::Flock {
        name: name.to_string(),
        path: path.to_path_buf(),
        source,
    };
    loop {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o777)
            .open(path)
            .map_err(|source| LockError::Open {
                name: name.to_string(),
                path: path.to_path_buf(),
                source,
            })?;
        if wait {
            flock_retry(&file, op).map_err(io)?;
        } else if let Err(e) = flock(&file, op | libc::LOCK_NB) {
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(LockError::WouldBlock {
                    name: name.to_string(),
                    path: path.to_path_buf(),
                });
            }
            return Err(io(e));
        }
        if same_inode(path, &file) {
            return Ok(file);
        }
        if !wait {
            return Err(LockError::WouldBlock {
                name: name.to_string(),
                path: path.to_path_buf(),
            });
        }
    }
}

/// The C library's words for an I/O error, without Rust's "(os error N)".
fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

impl LockError {
    /// Whether the lock could not be taken at all (as opposed to being
    /// held by someone else): LVM2 then adds "Can't get lock for X.".
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            LockError::Open { .. } | LockError::Flock { .. } | LockError::Io { .. }
        )
    }
}

/// `_undo_flock`: remove the file if nobody else holds it, then close.
fn undo_flock(path: &Path, file: File) {
    if flock(&file, libc::LOCK_EX | libc::LOCK_NB).is_ok() && same_inode(path, &file) {
        if let Err(e) = std::fs::remove_file(path) {
            log::debug!("unlink {}: {e}", path.display());
        }
    }
}

fn same_inode(path: &Path, file: &File) -> bool {
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn flock(file: &File, op: libc::c_int) -> std::io::Result<()> {
    // SAFETY: the descriptor belongs to `file`, which outlives the call;
    // flock does not touch memory.
    let r = unsafe { libc::flock(file.as_raw_fd(), op) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn flock_retry(file: &File, op: libc::c_int) -> std::io::Result<()> {
    loop {
        match flock(file, op) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn conf(dir: &Path, extra: &[&str]) -> LvmConf {
        let mut ov = vec![format!("global/locking_dir=\"{}\"", dir.display())];
        ov.extend(extra.iter().map(|s| s.to_string()));
        LvmConf::load_from(&dir.join("etc"), Path::new("/dev"), &ov).unwrap()
    }

    #[test]
    fn file_names_match_lvm2() {
        let d = tempfile::tempdir().unwrap();
        let lockdir = d.path().join("lock/lvm");
        let c = conf(&lockdir, &[]);
        let g = lock_global(&c, false).unwrap();
        let o = lock_orphans(&c, true).unwrap();
        let v = lock_vg(&c, "vg0", true).unwrap();
        let df = lock_devices_file(&c, true).unwrap();
        assert_eq!(g.path(), lockdir.join("P_global"));
        assert_eq!(o.path(), lockdir.join("P_orphans"));
        assert_eq!(v.path(), lockdir.join("V_vg0"));
        assert_eq!(df.path(), lockdir.join("D_system.devices"));
        // The aux file is gone once the lock is taken.
        assert!(!lockdir.join("V_vg0:aux").exists());
        drop((g, o, v));
        // Released and unheld: unlinked like LVM2 does.
        assert!(!lockdir.join("V_vg0").exists());
        assert!(!lockdir.join("P_global").exists());
        // The devices-file lock file stays.
        drop(df);
        assert!(lockdir.join("D_system.devices").exists());
    }

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &["global/wait_for_locks=0"]);
        let a = lock_vg(&c, "vg", false).unwrap();
        let b = lock_vg(&c, "vg", false).unwrap();
        let e = lock_vg(&c, "vg", true).unwrap_err();
        assert!(matches!(e, LockError::WouldBlock { .. }), "{e}");
        assert!(e
            .to_string()
            .contains("V_vg: flock failed: Resource temporarily unavailable"));
        drop((a, b));
        let x = lock_vg(&c, "vg", true).unwrap();
        assert!(matches!(
            lock_vg(&c, "vg", false),
            Err(LockError::WouldBlock { .. })
        ));
        drop(x);
    }

    #[test]
    fn blocking_lock_waits_for_release() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &[]);
        let held = lock_vg(&c, "vg", true).unwrap();
        let (tx, rx) = mpsc::channel();
        let c2 = c.clone();
        let t = std::thread::spawn(move || {
            let g = lock_vg(&c2, "vg", true).unwrap();
            tx.send(()).unwrap();
            drop(g);
        });
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        drop(held);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn other_process_is_excluded() {
        // flock is per open file description, so a forked child is a
        // different holder just like another lvm process.
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &["global/wait_for_locks=0"]);
        let held = lock_global(&c, true).unwrap();
        let status = std::process::Command::new("flock")
            .args(["-n", "-s"])
            .arg(held.path())
            .arg("true")
            .status();
        if let Ok(status) = status {
            assert!(!status.success(), "flock(1) got a lock we hold");
        }
        drop(held);
    }

    #[test]
    fn bad_vg_names_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &[]);
        assert!(matches!(
            lock_vg(&c, "../x", true),
            Err(LockError::BadName(_))
        ));
        assert!(matches!(lock_vg(&c, "", true), Err(LockError::BadName(_))));
    }

    #[test]
    fn newhints_created_only_when_run_dir_exists() {
        let d = tempfile::tempdir().unwrap();
        invalidate_hints_in(&d.path().join("missing")).unwrap();
        assert!(!d.path().join("missing").exists());
        invalidate_hints_in(d.path()).unwrap();
        assert!(d.path().join("newhints").exists());
    }
}
