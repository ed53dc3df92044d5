//! Reading the text files a command is given or configured with (lvm.conf,
//! the devices file, metadata backups, `vgcfgrestore -f FILE`): only
//! regular files, and never more than a bound, so `-f /dev/zero`, a FIFO
//! or a huge file fails at once instead of filling memory or hanging.
//! LVM2 refuses the same way ("FILE is not a regular file",
//! `config_file_read` in lib/config/config.c). Touches the filesystem only.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The largest metadata text file read (a backup or archive): far above
/// what LVM2 writes for thousands of LVs.
pub const MAX_METADATA_FILE: u64 = 128 << 20;
/// The largest configuration file read (lvm.conf, the devices file).
pub const MAX_CONFIG_FILE: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: stat failed: {}", .path.display(), strerror(.source))]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a regular file", .0.display())]
    NotRegular(PathBuf),
    #[error("{} is too large: more than {max} bytes", .path.display())]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{}: read failed: {}", .path.display(), strerror(.source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a text file (invalid UTF-8)", .0.display())]
    NotText(PathBuf),
}

impl ReadError {
    /// The file does not exist (callers that treat that as "no file").
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Stat { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The C library's words for an I/O error, without Rust's "(os error N)".
fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

/// Reads the regular file `path` as text, refusing anything else and any
/// file of more than `max` bytes. The file is opened without blocking (a
/// FIFO does not wait for a writer) and checked through the open handle,
/// so what is read is what was checked.
pub fn read_text(path: &Path, max: u64) -> Result<String, ReadError> {
    let stat_err = |source| ReadError::Stat {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(stat_err)?;
    let md = file.metadata().map_err(stat_err)?;
    if !md.is_file() {
        return Err(ReadError::NotRegular(path.to_path_buf()));
    }
    if md.len() > max {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            max,
        });
    }
    read_bounded(file, path, max, md.len())
}

/// Reads at most `max` bytes (the file may grow after the check), into a
/// buffer of the size the file had (`len`): one read for the whole file,
/// not reads from 32 bytes up, each doubling (a stock lvm.conf is 100 KiB).
fn read_bounded(file: File, path: &Path, max: u64, len: u64) -> Result<String, ReadError> {
    let mut bytes = Vec::with_capacity(len.min(max) as usize + 1);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            max,
        });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText(path.to_path_buf()))
}

/// Raises the soft limit on open files to the hard limit, as LVM2 does
/// before it scans: a scan keeps a batch of devices open at once, and a
/// caller's low soft limit (`prlimit --nofile=100:`, LVM2's
/// open-file-limit test) must not make PVs silently missing. A limit that
/// cannot be raised stays as it is (the scan's batches follow it).
pub fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// One malloc arena for every thread: glibc gives each new thread that
/// allocates an arena of its own (a 64 MiB reservation mapped, trimmed
/// and faulted in page by page), which costs more than the work a
/// command's short-lived threads do (a flush, a few device queries, a
/// family's activation). The threads wait in the kernel, not on the
/// arena's lock.
pub fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of glibc's allocator, under the
    // allocator's own lock; no memory is touched.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_bound() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(read_text(&f, 3).unwrap(), "abc");
        assert!(matches!(read_text(&f, 2), Err(ReadError::TooLarge { .. })));
        let e = read_text(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(e.to_string(), "/dev/zero is not a regular file");
        assert!(matches!(
            read_text(d.path(), 10),
            Err(ReadError::NotRegular(_))
        ));
        let missing = read_text(&d.path().join("nope"), 10).unwrap_err();
        assert!(missing.is_not_found());
        assert!(missing
            .to_string()
            .ends_with("nope: stat failed: No such file or directory"));
        // A FIFO is refused at once, not read (nor waited on).
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(matches!(
            read_text(&fifo, 10),
            Err(ReadError::NotRegular(_))
        ));
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&f, 10), Err(ReadError::NotText(_))));
    }
}
