//! Metadata backups and archives in LVM2's layout
//! (`lib/format_text/archiver.c`, `archive.c`): `<backup_dir>/<vg>` holds
//! the latest metadata, `<archive_dir>/<vg>_<NNNNN>-<random>.vg` the history.
//! Writes only files in those two directories; the text itself comes from
//! the metadata layer's `export_file`.
//!
//! Rules kept from LVM2:
//! * directories are created 0700 if missing;
//! * the archive index is one more than the highest `<vg>_<index>` found
//!   (`_split_vg`: the name up to the last '_' must equal the VG name, the
//!   rest parse as a number, the file end in ".vg"); the name is
//!   `"%s_%05u-%d.vg"` with a non-negative random int, and on a clash the
//!   index is bumped (up to 10 tries);
//! * pruning walks archives oldest first and deletes those older than
//!   retain_days, stopping at the first recent one and never going below
//!   retain_min files (`_remove_expired`).
//!
//! A file is written under a temporary name (`.lvm_rlvm_<host>_<pid>_<n>`)
//! and then renamed or linked into place. A command killed in between
//! leaves that file behind: every later write into the directory removes
//! the temporary files of processes of this host that no longer run.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand::Rng;
use thiserror::Error;

use super::lvmconf::LvmConf;

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("Backup of volume group {vg} metadata failed: {path}: {source}")]
    Backup {
        vg: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Cannot archive volume group metadata for {vg}: {path}: {source}")]
    Archive {
        vg: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// LVM2's words for an archive directory on a read-only file system
    /// (`_archive` in archiver.c): the change is then refused.
    #[error("Cannot archive volume group metadata for {0} to read-only filesystem.")]
    ReadOnly(String),
    #[error("Couldn't scan the archive directory ({path}): {source}")]
    Scan {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Invalid volume group name \"{0}\" for a backup file")]
    BadName(String),
}

/// One archive file of a VG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    pub path: PathBuf,
    pub index: u32,
}

/// Store `file_text` as `<backup_dir>/<vg_name>` when backup/backup=1.
/// Returns the path written, or `None` when backups are disabled.
pub fn write_backup(
    conf: &LvmConf,
    vg_name: &str,
    file_text: &str,
) -> Result<Option<PathBuf>, BackupError> {
    check_name(vg_name)?;
    if !conf.backup_enabled() {
        log::warn!("WARNING: This metadata update is NOT backed up.");
        return Ok(None);
    }
    write_backup_always(conf, vg_name, file_text).map(Some)
}

/// `write_backup` whatever backup/backup says: vgcfgbackup's explicit
/// request (LVM2's `backup_force`). Returns the path written.
pub fn write_backup_always(
    conf: &LvmConf,
    vg_name: &str,
    file_text: &str,
) -> Result<PathBuf, BackupError> {
    check_name(vg_name)?;
    let dir = conf.backup_dir();
    let path = dir.join(vg_name);
    let err = |source| BackupError::Backup {
        vg: vg_name.to_string(),
        path: path.clone(),
        source,
    };
    create_dir(&dir).map_err(err)?;
    remove_stale_temps(&dir);
    let tmp = write_temp(&dir, file_text).map_err(err)?;
    std::fs::rename(&tmp, &path)
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .map_err(err)?;
    sync_dir(&dir).map_err(err)?;
    Ok(path)
}

/// `<backup_dir>/<vg_name>`: where vgcfgbackup writes and vgcfgrestore
/// reads by default.
pub fn backup_path(conf: &LvmConf, vg_name: &str) -> PathBuf {
    conf.backup_dir().join(vg_name)
}

/// Removes the backup file of a removed VG (LVM2's `remove_backup`); a
/// missing file is not an error.
pub fn remove_backup(conf: &LvmConf, vg_name: &str) -> Result<(), BackupError> {
    check_name(vg_name)?;
    let path = backup_path(conf, vg_name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackupError::Backup {
            vg: vg_name.to_string(),
            path,
            source,
        }),
    }
}

/// Store `file_text` (metadata as it was *before* a change, seqno `seqno`)
/// as the next archive of `vg_name` when backup/archive=1, then prune.
/// Returns the archive path, or `None` when archiving is disabled.
pub fn write_archive(
    conf: &LvmConf,
    vg_name: &str,
    seqno: u32,
    file_text: &str,
) -> Result<Option<PathBuf>, BackupError> {
    check_name(vg_name)?;
    if !conf.archive_enabled() {
        return Ok(None);
    }
    log::info!("Archiving volume group \"{vg_name}\" metadata (seqno {seqno}).");
    let dir = conf.archive_dir();
    let err = |path: &Path, source| BackupError::Archive {
        vg: vg_name.to_string(),
        path: path.to_path_buf(),
        source,
    };
    create_dir(&dir).map_err(|e| match e.raw_os_error() {
        Some(libc::EROFS) => BackupError::ReadOnly(vg_name.to_string()),
        _ => err(&dir, e),
    })?;
    // Trap a read-only file system before anything is tried.
    let rwx = nix::unistd::AccessFlags::R_OK
        | nix::unistd::AccessFlags::W_OK
        | nix::unistd::AccessFlags::X_OK;
    if nix::unistd::access(&dir, rwx) == Err(nix::errno::Errno::EROFS) {
        return Err(BackupError::ReadOnly(vg_name.to_string()));
    }
    remove_stale_temps(&dir);
    let tmp = write_temp(&dir, file_text).map_err(|e| err(&dir, e))?;
    let archives = list_archives_in(&dir, vg_name)?;
    let mut index = archives.last().map_or(0, |a| a.index.wrapping_add(1));
    let rnum: i32 = rand::rng().random_range(0..=i32::MAX);
    let mut done = None;
    for _ in 0..10 {
        let path = dir.join(archive_name(vg_name, index, rnum));
        // lvm_rename refuses to replace an existing file (link + unlink).
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&tmp);
                done = Some(path);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => index += 1,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(err(&path, e));
            }
        }
    }
    let Some(path) = done else {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(
            &dir,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "Archive rename failed"),
        ));
    };
    sync_dir(&dir).map_err(|e| err(&dir, e))?;
    let mut all = archives;
    all.push(ArchiveFile {
        path: path.clone(),
        index,
    });
    remove_expired(&all, conf.retain_days(), conf.retain_min());
    Ok(Some(path))
}

/// The archive file name LVM2 uses: `<vg>_<index, 5 digits>-<rnum>.vg`.
pub fn archive_name(vg_name: &str, index: u32, rnum: i32) -> String {
    format!("{vg_name}_{index:05}-{rnum}.vg")
}

/// Archives of `vg` in archive_dir, oldest (lowest index) first.
pub fn list_archives(conf: &LvmConf, vg: &str) -> Result<Vec<ArchiveFile>, BackupError> {
    list_archives_in(&conf.archive_dir(), vg)
}

fn list_archives_in(dir: &Path, vg: &str) -> Result<Vec<ArchiveFile>, BackupError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(BackupError::Scan {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out: Vec<ArchiveFile> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (found, index) = split_vg(&name)?;
            (found == vg).then(|| ArchiveFile {
                path: dir.join(&name),
                index,
            })
        })
        .collect();
    out.sort_by(|a, b| a.index.cmp(&b.index).then(a.path.cmp(&b.path)));
    Ok(out)
}

/// `_split_vg`: "<vg>_<number>...<.vg>" → (vg, number).
fn split_vg(name: &str) -> Option<(&str, u32)> {
    if name.len() < 7 || !name.ends_with(".vg") {
        return None;
    }
    let us = name.rfind('_')?;
    let digits: &str = &name[us + 1..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let index = digits[..end].parse().ok()?;
    Some((&name[..us], index))
}

fn remove_expired(archives: &[ArchiveFile], retain_days: u32, retain_min: u32) {
    let mut count = archives.len();
    if count <= retain_min as usize {
        return;
    }
    let cutoff = SystemTime::now()
        .checked_sub(Duration::from_secs(u64::from(retain_days) * 86400))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    for a in archives {
        let Ok(mtime) = std::fs::metadata(&a.path).and_then(|m| m.modified()) else {
            continue;
        };
        if mtime > cutoff {
            return;
        }
        log::debug!("Expiring archive {}", a.path.display());
        if let Err(e) = std::fs::remove_file(&a.path) {
            log::warn!("unlink {}: {e}", a.path.display());
        }
        count -= 1;
        if count <= retain_min as usize {
            return;
        }
    }
}

fn check_name(vg: &str) -> Result<(), BackupError> {
    if vg.is_empty() || vg.contains('/') || vg.starts_with('.') || vg.starts_with('#') {
        return Err(BackupError::BadName(vg.to_string()));
    }
    Ok(())
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The start of every temporary file name rlvm writes in these directories.
const TEMP_PREFIX: &str = ".lvm_rlvm_";

fn this_host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

/// The process that wrote temporary file `name`, if the file is rlvm's
/// and was written on this host: `.lvm_rlvm_<host>_<pid>_<n>`, or
/// `.lvm_rlvm_<pid>_<n>` as older versions wrote it (no host).
fn temp_owner(name: &str, host: &str) -> Option<i32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let mut parts = rest.rsplitn(3, '_');
    let _n: u32 = parts.next()?.parse().ok()?;
    let pid: i32 = parts.next()?.parse().ok()?;
    match parts.next() {
        None => Some(pid),
        Some(h) if h == host => Some(pid),
        Some(_) => None,
    }
}

fn process_is_gone(pid: i32) -> bool {
    pid > 0
        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            == Err(nix::errno::Errno::ESRCH)
}

/// Removes the temporary files that commands killed mid-write (kill -9, a
/// power cut) left in `dir`: those of this host whose process is gone.
/// Best effort: a failure here never fails the command.
fn remove_stale_temps(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let host = this_host();
    for e in rd.filter_map(Result::ok) {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if temp_owner(&name, &host).is_some_and(process_is_gone) {
            log::debug!("Removing stale temporary file {}", e.path().display());
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Write a new uniquely named temp file in `dir`, fsync'ed, mode 0600.
fn write_temp(dir: &Path, text: &str) -> std::io::Result<PathBuf> {
    let mut rng = rand::rng();
    let host = this_host();
    loop {
        let path = dir.join(format!(
            "{TEMP_PREFIX}{host}_{}_{}",
            std::process::id(),
            rng.random::<u32>()
        ));
        let mut f = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let r = f.write_all(text.as_bytes()).and_then(|_| f.sync_all());
        if let Err(e) = r {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        return Ok(path);
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn conf(dir: &Path, extra: &[&str]) -> LvmConf {
        let ov: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        LvmConf::load_from(dir, Path::new("/dev"), &ov).unwrap()
    }

    #[test]
    fn backup_written_atomically_with_0700_dir() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &[]);
        let p = write_backup(&c, "vg0", "vg0 {\n}\n").unwrap().unwrap();
        assert_eq!(p, d.path().join("backup/vg0"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "vg0 {\n}\n");
        let mode = std::fs::metadata(d.path().join("backup"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        write_backup(&c, "vg0", "v2").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "v2");
        // No temp files left behind.
        assert_eq!(
            std::fs::read_dir(d.path().join("backup")).unwrap().count(),
            1
        );
    }

    /// What a command killed between writing its temporary file and
    /// renaming it leaves behind is removed by the next write; live
    /// processes' and other hosts' files are left alone.
    #[test]
    fn stale_temporary_files_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &[]);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let host = this_host();
        let me = std::process::id();
        for dir in ["backup", "archive"] {
            let dir = d.path().join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            for name in [
                format!(".lvm_rlvm_{host}_{dead}_1"),
                format!(".lvm_rlvm_{dead}_2"),
                format!(".lvm_rlvm_{host}_{me}_3"),
                format!(".lvm_rlvm_otherhost_{dead}_4"),
                format!(".lvm_{host}_{dead}_5"),
            ] {
                std::fs::write(dir.join(name), "x").unwrap();
            }
        }
        write_backup(&c, "vg0", "v").unwrap();
        write_archive(&c, "vg0", 1, "v").unwrap();
        for dir in ["backup", "archive"] {
            let mut left: Vec<String> = std::fs::read_dir(d.path().join(dir))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with('.'))
                .collect();
            left.sort();
            let mut kept = vec![
                format!(".lvm_{host}_{dead}_5"),
                format!(".lvm_rlvm_otherhost_{dead}_4"),
                format!(".lvm_rlvm_{host}_{me}_3"),
            ];
            kept.sort();
            assert_eq!(left, kept, "{dir}");
        }
        assert_eq!(temp_owner("my_host_x", "h"), None);
        assert_eq!(temp_owner(".lvm_rlvm_my_host_12_34", "my_host"), Some(12));
    }

    #[test]
    fn disabled_backup_and_archive_write_nothing() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &["backup/backup=0", "backup/archive=0"]);
        assert_eq!(write_backup(&c, "vg", "x").unwrap(), None);
        assert_eq!(write_archive(&c, "vg", 1, "x").unwrap(), None);
        assert!(!d.path().join("backup").exists());
        // vgcfgbackup's explicit request writes all the same.
        let p = write_backup_always(&c, "vg", "x").unwrap();
        assert_eq!(std::fs::read_to_string(p).unwrap(), "x");
    }

    #[test]
    fn archive_names_and_index() {
        assert_eq!(archive_name("vg0", 7, 1234), "vg0_00007-1234.vg");
        assert_eq!(split_vg("vg0_00007-1234.vg"), Some(("vg0", 7)));
        assert_eq!(split_vg("my_vg_00012-99.vg"), Some(("my_vg", 12)));
        assert_eq!(split_vg("vg0"), None);
        assert_eq!(split_vg("vg0_x.vg"), None);

        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &[]);
        let re = regex::Regex::new(r"^vg_0_0000([0-2])-\d+\.vg$").unwrap();
        for want in 0..3u32 {
            let p = write_archive(&c, "vg_0", want + 5, "text")
                .unwrap()
                .unwrap();
            let name = p.file_name().unwrap().to_str().unwrap();
            let caps = re.captures(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(caps[1].parse::<u32>().unwrap(), want);
        }
        // Another VG whose name shares a prefix is not mixed in.
        write_archive(&c, "vg", 1, "other").unwrap();
        let l = list_archives(&c, "vg_0").unwrap();
        assert_eq!(l.iter().map(|a| a.index).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(list_archives(&c, "vg").unwrap().len(), 1);
        let mode = std::fs::metadata(d.path().join("archive"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn pruning_keeps_retain_min_and_recent() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &["backup/retain_min=3", "backup/retain_days=1"]);
        let old = SystemTime::now() - Duration::from_secs(10 * 86400);
        for i in 0..6 {
            let p = write_archive(&c, "vg", i, "t").unwrap().unwrap();
            if i < 5 {
                File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(old)
                    .unwrap();
            }
        }
        // Pruning ran after the 6th: 6 files, 5 old; delete oldest until 3.
        let l = list_archives(&c, "vg").unwrap();
        assert_eq!(l.iter().map(|a| a.index).collect::<Vec<_>>(), vec![3, 4, 5]);

        // Recent files stop pruning even above retain_min.
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &["backup/retain_min=1", "backup/retain_days=30"]);
        for i in 0..4 {
            write_archive(&c, "vg", i, "t").unwrap();
        }
        assert_eq!(list_archives(&c, "vg").unwrap().len(), 4);
    }

    #[test]
    fn bad_names_refused() {
        let d = tempfile::tempdir().unwrap();
        let c = conf(d.path(), &[]);
        assert!(matches!(
            write_backup(&c, "../x", "t"),
            Err(BackupError::BadName(_))
        ));
    }
}
