//! The LVM2 devices file (`<system_dir>/devices/system.devices`, used when
//! devices/use_devicesfile=1, the RHEL 9 / Fedora default): parse it, say
//! whether a device is listed, and add a PV to it the way
//! `lvmdevices --adddev` does (`lib/device/device_id.c`). Reads sysfs for
//! device IDs; writes only the devices file, atomically, under LVM2's
//! `D_<devicesfile>` lock.
//!
//! File format (one entry per line, fields `KEY=value` split on spaces):
//!
//! ```text
//! # LVM uses devices listed in this file.
//! # HASH=2887152826
//! VERSION=1.1.3
//! IDTYPE=sys_wwid IDNAME=naa.5000c500a1b2c3d4 DEVNAME=/dev/sda2 PVID=... PART=2
//! IDTYPE=loop_file IDNAME=/var/tmp/pv.img DEVNAME=/dev/loop0 PVID=...
//! ```
//!
//! When rewriting we keep every other line (comments, SYSTEMID, HOSTNAME,
//! PRODUCT_UUID, entries) in place, bump the VERSION counter as LVM2 does
//! (`VERSION=1.1.<n+1>`), and refresh the `# HASH=` comment that newer LVM2
//! versions compare against: LVM's CRC (seed 0xf597a6cf) of every line that
//! is not a comment or a SYSTEMID line, newlines included.
//!
//! For reports: [`listed_id`] gives the IDTYPE and IDNAME the devices file
//! in use records for a device (`pvs -o deviceidtype,deviceid`), and
//! [`load_in_use`] the whole file; both are public for `src/report`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::lock::{lock_devices_file, LockError};
use super::lvmconf::LvmConf;

/// The format version this code writes (DEVICES_FILE_MAJOR/MINOR).
const FILE_MAJOR: u32 = 1;
const FILE_MINOR: u32 = 1;
/// LVM2's CRC seed (`lib/misc/crc.h`, INITIAL_CRC).
pub(crate) const INITIAL_CRC: u32 = 0xf597_a6cf;

#[derive(Debug, Error)]
pub enum DevicesFileError {
    #[error("Cannot read devices file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: super::files::ReadError,
    },
    #[error("Failed to write devices file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not updating devices file {0} with unparsed or larger major version")]
    Version(PathBuf),
    /// `render_next` on a file whose VERSION it cannot bump (no path known
    /// there; `save` reports `Version`).
    #[error("unparsed or larger major version {0}")]
    UnknownVersion(String),
    #[error("Cannot use {0}: device not found")]
    NoDevice(String),
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// One `IDTYPE=... IDNAME=...` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub idtype: String,
    pub idname: String,
    pub devname: Option<String>,
    pub pvid: Option<String>,
    pub part: Option<u32>,
}

impl Entry {
    fn to_line(&self) -> String {
        let mut s = format!(
            "IDTYPE={} IDNAME={} DEVNAME={} PVID={}",
            self.idtype,
            self.idname,
            self.devname.as_deref().unwrap_or("."),
            self.pvid.as_deref().unwrap_or(".")
        );
        if let Some(p) = self.part {
            s.push_str(&format!(" PART={p}"));
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// Comments, SYSTEMID/HOSTNAME/PRODUCT_UUID and anything unknown.
    Other(String),
    Hash,
    Version(String),
    Entry(Entry),
}

/// A parsed devices file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicesFile {
    lines: Vec<Line>,
}

/// The IDs a device can be listed under (`device_id_system_read`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevIds {
    /// Every name of the device, primary first.
    pub names: Vec<String>,
    pub sys_wwid: Option<String>,
    pub sys_serial: Option<String>,
    pub loop_file: Option<String>,
    /// dm UUID (mpath-..., CRYPT-..., LVM-...).
    pub dm_uuid: Option<String>,
    pub md_uuid: Option<String>,
    /// Partition number when wwid/serial came from the parent disk.
    pub part: Option<u32>,
}

impl DevIds {
    /// Read IDs from a device's sysfs directory (`/sys/block/sda/sda2` or
    /// `/sys/dev/block/M:m`); `parent` is the whole disk's directory for a
    /// partition (LVM2 retries wwid/serial on the primary device).
    pub fn read(sys_dir: &Path, parent: Option<&Path>, names: Vec<String>) -> DevIds {
        let mut ids = DevIds {
            names,
            ..DevIds::default()
        };
        let mut from_parent = false;
        let mut read_disk = |suffix: &str| -> Option<String> {
            if let Some(v) = read_sys(sys_dir, suffix) {
                return Some(v);
            }
            let v = read_sys(parent?, suffix)?;
            from_parent = true;
            Some(v)
        };
        ids.sys_wwid = read_disk("device/wwid")
            .or_else(|| read_disk("wwid"))
            .map(|w| format_wwid(&w))
            .filter(|w| !w.is_empty());
        ids.sys_serial = read_disk("device/serial")
            .or_else(|| read_disk("serial"))
            .map(|s| format_general(&s))
            .filter(|s| !s.is_empty());
        if from_parent {
            ids.part = read_sys(sys_dir, "partition").and_then(|p| p.parse().ok());
        }
        ids.loop_file = read_sys(sys_dir, "loop/backing_file")
            .filter(|f| !f.contains("(deleted)"))
            .map(|f| replace_unsafe(&f));
        ids.dm_uuid = read_sys(sys_dir, "dm/uuid").map(|u| replace_unsafe(&u));
        ids.md_uuid = read_sys(sys_dir, "md/uuid").map(|u| replace_unsafe(&u));
        ids
    }

    /// The ID LVM2 would record for a new entry
    /// (`device_id_system_read_preferred`): dm UUID for mpath/crypt/LV,
    /// backing file for loop, md UUID, then sys_wwid, sys_serial, devname.
    pub fn preferred(&self) -> (String, String, Option<u32>) {
        if let Some(u) = &self.dm_uuid {
            let t = if dm_uuid_has_prefix(u, "mpath-") {
                Some("mpath_uuid")
            } else if dm_uuid_has_prefix(u, "CRYPT-") {
                Some("crypt_uuid")
            } else if dm_uuid_has_prefix(u, "LVM-") {
                Some("lvmlv_uuid")
            } else {
                None
            };
            if let Some(t) = t {
                return (t.into(), u.clone(), None);
            }
        }
        let devname = || {
            (
                "devname".to_string(),
                self.names.first().cloned().unwrap_or_default(),
                None,
            )
        };
        if self.names.first().is_some_and(|n| is_loop_name(n)) {
            return match &self.loop_file {
                Some(f) => ("loop_file".into(), f.clone(), None),
                None => devname(),
            };
        }
        if let Some(u) = &self.md_uuid {
            return ("md_uuid".into(), u.clone(), None);
        }
        if let Some(w) = &self.sys_wwid {
            return ("sys_wwid".into(), w.clone(), self.part);
        }
        if let Some(s) = &self.sys_serial {
            return ("sys_serial".into(), s.clone(), self.part);
        }
        devname()
    }

    /// The device's ID of type `idtype`, if it has one.
    pub fn id_of_type(&self, idtype: &str) -> Option<(String, String, Option<u32>)> {
        let v = match idtype {
            "devname" => self.names.first().cloned(),
            "sys_wwid" => self.sys_wwid.clone(),
            "sys_serial" => self.sys_serial.clone(),
            "loop_file" => self.loop_file.clone(),
            "md_uuid" => self.md_uuid.clone(),
            "mpath_uuid" | "crypt_uuid" | "lvmlv_uuid" => self.dm_uuid.clone(),
            _ => None,
        }?;
        let part = matches!(idtype, "sys_wwid" | "sys_serial")
            .then_some(self.part)
            .flatten();
        Some((idtype.to_string(), v, part))
    }

    /// Whether a devices-file entry names this device.
    pub fn matches(&self, e: &Entry) -> bool {
        let eq = |v: &Option<String>| v.as_deref() == Some(e.idname.as_str());
        let part_ok = e.part == self.part;
        match e.idtype.as_str() {
            "devname" => self.names.contains(&e.idname),
            "sys_wwid" | "wwid_naa" | "wwid_eui" | "wwid_t10" => eq(&self.sys_wwid) && part_ok,
            "sys_serial" => eq(&self.sys_serial) && part_ok,
            "loop_file" => eq(&self.loop_file),
            "mpath_uuid" | "crypt_uuid" | "lvmlv_uuid" => eq(&self.dm_uuid),
            "md_uuid" => eq(&self.md_uuid),
            _ => false,
        }
    }
}

fn is_loop_name(n: &str) -> bool {
    Path::new(n)
        .file_name()
        .and_then(|f| f.to_str())
        .is_some_and(|f| f.starts_with("loop") && f[4..].chars().all(|c| c.is_ascii_digit()))
}

fn dm_uuid_has_prefix(uuid: &str, prefix: &str) -> bool {
    // kpartx partitions: "part1-mpath-..."
    uuid.starts_with(prefix)
        || (uuid.starts_with("part")
            && uuid
                .split_once('-')
                .is_some_and(|(_, rest)| rest.starts_with(prefix)))
}

fn read_sys(dir: &Path, suffix: &str) -> Option<String> {
    let s = std::fs::read_to_string(dir.join(suffix)).ok()?;
    let s = s.trim_end_matches(['\n', '\0']).to_string();
    (!s.is_empty()).then_some(s)
}

/// Leading/trailing blanks dropped, inner blanks and quotes become `_`.
fn format_general(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '"' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// t10 wwids have runs of spaces collapsed to one `_`.
fn format_wwid(s: &str) -> String {
    let t = s.trim();
    if t.starts_with("t10") {
        let mut out = String::new();
        for word in t
            .split(|c: char| c.is_whitespace())
            .filter(|w| !w.is_empty())
        {
            if !out.is_empty() {
                out.push('_');
            }
            out.push_str(word);
        }
        out.replace('"', "_")
    } else {
        format_general(t)
    }
}

fn replace_unsafe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_whitespace() || c == '"' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `_copy_idline_str`: the value after `KEY=` up to the next space.
fn field(line: &str, key: &str) -> Option<String> {
    let at = line.find(key)?;
    let rest = &line[at + key.len()..];
    let rest = rest.strip_prefix('=')?.trim_start_matches(' ');
    let v: String = rest
        .chars()
        .take_while(|c| *c != ' ' && *c != '\n')
        .collect();
    (!v.is_empty() && v != ".").then_some(v)
}

impl DevicesFile {
    pub fn parse(text: &str) -> DevicesFile {
        let lines = text
            .lines()
            .map(|l| {
                if l.starts_with("# HASH") {
                    Line::Hash
                } else if l.starts_with('#') || l.starts_with("SYSTEMID") {
                    Line::Other(l.to_string())
                } else if l.starts_with("VERSION") {
                    Line::Version(field(l, "VERSION").unwrap_or_default())
                } else if let (Some(idtype), Some(idname)) =
                    (field(l, "IDTYPE"), field(l, "IDNAME"))
                {
                    Line::Entry(Entry {
                        idtype,
                        idname,
                        devname: field(l, "DEVNAME"),
                        pvid: field(l, "PVID"),
                        part: field(l, "PART").and_then(|p| p.parse().ok()),
                    })
                } else {
                    Line::Other(l.to_string())
                }
            })
            .collect();
        DevicesFile { lines }
    }

    /// Read `path`; a missing file is `Ok(None)`.
    pub fn load(path: &Path) -> Result<Option<DevicesFile>, DevicesFileError> {
        match super::files::read_text(path, super::files::MAX_CONFIG_FILE) {
            Ok(t) => Ok(Some(DevicesFile::parse(&t))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(source) => Err(DevicesFileError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| match l {
            Line::Entry(e) => Some(e),
            _ => None,
        })
    }

    /// The VERSION value, e.g. "1.1.7".
    pub fn version(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| match l {
            Line::Version(v) => Some(v.as_str()),
            _ => None,
        })
    }

    /// Listed by device path (DEVNAME, or IDNAME of a devname entry) or by
    /// PVID.
    pub fn contains(&self, path: &str, pvid: Option<&str>) -> bool {
        self.entries().any(|e| {
            e.devname.as_deref() == Some(path)
                || (e.idtype == "devname" && e.idname == path)
                || (pvid.is_some() && e.pvid.as_deref() == pvid)
        })
    }

    /// Whether any entry matches a device's IDs (what a scan uses).
    pub fn lists(&self, ids: &DevIds) -> bool {
        self.entries().any(|e| ids.matches(e))
    }

    /// Add (or refresh the DEVNAME/PVID of) the entry for this device.
    pub fn add(&mut self, ids: &DevIds, pvid: &str) {
        self.add_as(ids, Some(pvid), None)
    }

    /// [`DevicesFile::add`] with an optional PVID (`.` for a device that
    /// is no PV) and an ID type asked for (`--deviceidtype`; LVM2 falls
    /// back to its own choice when the device has no such ID).
    pub fn add_as(&mut self, ids: &DevIds, pvid: Option<&str>, idtype: Option<&str>) {
        let devname = ids.names.first().cloned();
        let (idtype, idname, part) = idtype
            .and_then(|t| ids.id_of_type(t))
            .unwrap_or_else(|| ids.preferred());
        for l in &mut self.lines {
            if let Line::Entry(e) = l {
                if ids.matches(e) {
                    if e.idtype != idtype {
                        *e = Entry {
                            idtype,
                            idname,
                            devname,
                            pvid: pvid.map(str::to_string),
                            part,
                        };
                        return;
                    }
                    e.devname = devname;
                    e.pvid = pvid.map(str::to_string);
                    return;
                }
            }
        }
        self.lines.push(Line::Entry(Entry {
            idtype,
            idname,
            devname,
            pvid: pvid.map(str::to_string),
            part,
        }));
    }

    /// Removes the entries `pred` picks; returns how many.
    pub fn remove_where(&mut self, pred: impl Fn(&Entry) -> bool) -> usize {
        let before = self.lines.len();
        self.lines
            .retain(|l| !matches!(l, Line::Entry(e) if pred(e)));
        before - self.lines.len()
    }

    /// Every entry, mutable (PVID or IDNAME updates).
    pub fn entries_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.lines.iter_mut().filter_map(|l| match l {
            Line::Entry(e) => Some(e),
            _ => None,
        })
    }

    /// Text for the next version of the file: VERSION counter bumped,
    /// `# HASH=` refreshed, everything else kept.
    pub fn render_next(&self) -> Result<String, DevicesFileError> {
        let counter = match self.version() {
            None => 0,
            Some(v) => {
                let p: Vec<u32> = v
                    .split('.')
                    .map(|x| x.parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| DevicesFileError::UnknownVersion(v.to_string()))?;
                match p.as_slice() {
                    [major, _, c] if *major <= FILE_MAJOR => *c,
                    _ => return Err(DevicesFileError::UnknownVersion(v.to_string())),
                }
            }
        };
        let version = format!("VERSION={FILE_MAJOR}.{FILE_MINOR}.{}", counter + 1);
        let mut body: Vec<String> = Vec::new();
        let mut saw_version = false;
        for l in &self.lines {
            match l {
                Line::Hash => {}
                Line::Other(s) => body.push(s.clone()),
                Line::Version(_) if saw_version => {}
                Line::Version(_) => {
                    saw_version = true;
                    body.push(version.clone());
                }
                Line::Entry(e) => {
                    if !saw_version {
                        saw_version = true;
                        body.push(version.clone());
                    }
                    body.push(e.to_line());
                }
            }
        }
        if !saw_version {
            body.push(version);
        }
        let mut hash = INITIAL_CRC;
        for l in &body {
            if !l.starts_with('#') && !l.starts_with("SYSTEMID") {
                hash = lvm_crc(hash, l.as_bytes());
                hash = lvm_crc(hash, b"\n");
            }
        }
        // The HASH comment goes after the leading comment block.
        let at = body
            .iter()
            .position(|l| !l.starts_with('#'))
            .unwrap_or(body.len());
        body.insert(at, format!("# HASH={hash}"));
        let mut out = body.join("\n");
        out.push('\n');
        Ok(out)
    }

    /// Write to `path` atomically (`<path>_new`, fsync, rename, dir fsync),
    /// as `device_ids_write` does.
    pub fn save(&self, path: &Path) -> Result<(), DevicesFileError> {
        let text = self
            .render_next()
            .map_err(|_| DevicesFileError::Version(path.to_path_buf()))?;
        let werr = |source| DevicesFileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push("_new");
        let tmp = PathBuf::from(tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(werr)?;
        f.write_all(text.as_bytes()).map_err(werr)?;
        f.sync_all().map_err(werr)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(werr)?;
        if let Some(dir) = path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(werr)?;
        }
        Ok(())
    }
}

/// LVM2's `calc_crc`: CRC-32 (reflected 0xEDB88320) without final xor.
pub(crate) fn lvm_crc(seed: u32, data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(!seed);
    h.update(data);
    !h.finalize()
}

/// What [`add_device`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// No devices file is in use (or none may be created): nothing done.
    NotInUse,
    /// The file already listed the device as it is.
    Unchanged,
    /// The entry was added or refreshed.
    Written,
    /// The file did not exist and was created with this entry.
    Created,
    /// pvcreate/vgcreate without `--devicesfile` saw VGs: LVM2 does not
    /// create a system devices file that would hide them.
    NotCreated,
}

/// Records the device at `path` with `pvid` in the devices file, as
/// pvcreate, vgcreate and vgextend do (`device_id_add`), if a devices file
/// is in use. A missing file is created by the commands that may create
/// it (`creates_devices_file`), and by pvcreate/vgcreate without
/// `--devicesfile` when their scan saw no VG (LVM2's
/// `pending_devices_file` in `device_ids_write`).
pub fn add_device(conf: &LvmConf, path: &Path, pvid: &str) -> Result<bool, DevicesFileError> {
    Ok(matches!(
        record_device(conf, path, Some(pvid), None)?,
        Added::Written | Added::Created
    ))
}

/// [`add_device`] with the outcome, an optional PVID (a device that is
/// no PV) and an optional ID type (`--deviceidtype`).
pub fn record_device(
    conf: &LvmConf,
    path: &Path,
    pvid: Option<&str>,
    idtype: Option<&str>,
) -> Result<Added, DevicesFileError> {
    record_device_in(conf, Path::new("/sys"), path, pvid, idtype)
}

/// [`record_device`] with another sysfs root (tests).
pub fn record_device_in(
    conf: &LvmConf,
    sysfs: &Path,
    path: &Path,
    pvid: Option<&str>,
    idtype: Option<&str>,
) -> Result<Added, DevicesFileError> {
    if !conf.use_devicesfile() {
        return Ok(Added::NotInUse);
    }
    let df_path = conf.devicesfile_path();
    let exists = df_path.exists();
    if !exists {
        let pending = matches!(conf.command(), "pvcreate" | "vgcreate");
        if !creates_devices_file(conf) && !pending {
            return Ok(Added::NotInUse);
        }
        if pending && !conf.devicesfile_explicit() && conf.vgs_seen() {
            return Ok(Added::NotCreated);
        }
    }
    let ids = dev_ids_for_path(sysfs, path)?;
    let _lock = lock_devices_file(conf, true)?;
    let mut df = DevicesFile::load(&df_path)?.unwrap_or_default();
    let before = df.clone();
    df.add_as(&ids, pvid, idtype);
    if exists && df == before {
        return Ok(Added::Unchanged);
    }
    if let Some(dir) = df_path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| DevicesFileError::Write {
            path: df_path.clone(),
            source,
        })?;
    }
    df.save(&df_path)?;
    Ok(if exists {
        Added::Written
    } else {
        Added::Created
    })
}

/// The devices file in use and its path, read under its lock; `None` when
/// no devices file is in use or it does not exist.
pub fn load_in_use(conf: &LvmConf) -> Result<Option<(PathBuf, DevicesFile)>, DevicesFileError> {
    if !conf.use_devicesfile() {
        return Ok(None);
    }
    let path = conf.devicesfile_path();
    let _lock = lock_devices_file(conf, false)?;
    Ok(DevicesFile::load(&path)?.map(|df| (path, df)))
}

/// The device ID the devices file in use records for the device at
/// `path` (its IDTYPE and IDNAME), as LVM2 reports it (`pvs -o
/// deviceidtype,deviceid`); `None` when no devices file is in use or it
/// does not list the device.
pub fn listed_id(conf: &LvmConf, path: &Path) -> Option<(String, String)> {
    let (_, df) = load_in_use(conf).ok()??;
    let ids = dev_ids_for_path(Path::new("/sys"), path).ok()?;
    let found = df
        .entries()
        .find(|e| ids.matches(e))
        .map(|e| (e.idtype.clone(), e.idname.clone()));
    found
}

/// A VG's UUID changed (vgchange --uuid): entries of PVs stacked on its
/// LVs (`lvmlv_uuid`, IDNAME `LVM-<vg uuid><lv uuid>`) follow. Nothing
/// happens when no devices file is in use or none names such a PV.
pub fn update_vg_uuid(conf: &LvmConf, old: &str, new: &str) -> Result<bool, DevicesFileError> {
    if !conf.use_devicesfile() || !conf.devicesfile_path().exists() {
        return Ok(false);
    }
    let old_prefix = format!("LVM-{old}");
    edit(conf, |df| {
        let mut changed = false;
        for e in df.entries_mut() {
            if e.idtype == "lvmlv_uuid" {
                if let Some(rest) = e.idname.strip_prefix(&old_prefix) {
                    e.idname = format!("LVM-{new}{rest}");
                    changed = true;
                }
            }
        }
        changed
    })
}

/// Rewrites the devices file with `edit` applied, under its lock; the
/// file is created if missing. Returns whether `edit` changed anything
/// (then the file was written).
pub fn edit(
    conf: &LvmConf,
    edit: impl FnOnce(&mut DevicesFile) -> bool,
) -> Result<bool, DevicesFileError> {
    let path = conf.devicesfile_path();
    let _lock = lock_devices_file(conf, true)?;
    let mut df = DevicesFile::load(&path)?.unwrap_or_default();
    if !edit(&mut df) {
        return Ok(false);
    }
    df.save(&path)?;
    Ok(true)
}

/// IDs of the block device at `path`, via `<sysfs>/dev/block/M:m`.
pub fn dev_ids_for_path(sysfs: &Path, path: &Path) -> Result<DevIds, DevicesFileError> {
    let nodev = || DevicesFileError::NoDevice(path.display().to_string());
    let md = std::fs::metadata(path).map_err(|_| nodev())?;
    if !md.file_type().is_block_device() {
        return Err(nodev());
    }
    let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
    let link = sysfs.join(format!("dev/block/{major}:{minor}"));
    let dir = std::fs::canonicalize(&link).unwrap_or(link);
    let parent = dir
        .join("partition")
        .exists()
        .then(|| dir.parent().map(Path::to_path_buf))
        .flatten();
    Ok(DevIds::read(
        &dir,
        parent.as_deref(),
        vec![path.display().to_string()],
    ))
}

/// Whether this command creates a devices file that does not exist:
/// lvmdevices and vgimportdevices do, and pvcreate/vgcreate with
/// `--devicesfile` (without it they may create the system devices file
/// when they write, if no VG was seen: `devicesfile::add_device`).
pub fn creates_devices_file(conf: &LvmConf) -> bool {
    match conf.command() {
        "lvmdevices" | "vgimportdevices" => true,
        "pvcreate" | "vgcreate" => conf.devicesfile_explicit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RHEL: &str = "# LVM uses devices listed in this file.\n\
# Created by LVM command vgimportdevices pid 1234 at Mon Jan  1 00:00:00 2024\n\
# HASH=12345\n\
PRODUCT_UUID=abcd-ef\n\
VERSION=1.1.6\n\
IDTYPE=sys_wwid IDNAME=naa.5000c500a1b2c3d4 DEVNAME=/dev/sda2 PVID=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA PART=2\n\
IDTYPE=devname IDNAME=/dev/vdb DEVNAME=/dev/vdb PVID=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n";

    fn crc_bitwise(mut crc: u32, data: &[u8]) -> u32 {
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn crc_is_lvms() {
        let d = b"VERSION=1.1.1\nIDTYPE=devname IDNAME=/dev/sda\n";
        assert_eq!(lvm_crc(INITIAL_CRC, d), crc_bitwise(INITIAL_CRC, d));
    }

    #[test]
    fn parses_entries_and_version() {
        let df = DevicesFile::parse(RHEL);
        assert_eq!(df.version(), Some("1.1.6"));
        let e: Vec<&Entry> = df.entries().collect();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].idtype, "sys_wwid");
        assert_eq!(e[0].part, Some(2));
        assert_eq!(
            e[1].pvid.as_deref(),
            Some("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
        );
        assert!(df.contains("/dev/sda2", None));
        assert!(df.contains("/dev/vdb", None));
        assert!(df.contains("/dev/zzz", Some("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")));
        assert!(!df.contains("/dev/sdc", Some("CCCC")));
    }

    #[test]
    fn add_keeps_lines_bumps_version_and_hash() {
        let mut df = DevicesFile::parse(RHEL);
        let ids = DevIds {
            names: vec!["/dev/loop0".into()],
            loop_file: Some("/var/tmp/pv.img".into()),
            ..DevIds::default()
        };
        df.add(&ids, "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC");
        let text = df.render_next().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# LVM uses devices listed in this file.");
        assert!(lines[2].starts_with("# HASH="));
        assert_eq!(lines[3], "PRODUCT_UUID=abcd-ef");
        assert_eq!(lines[4], "VERSION=1.1.7");
        assert_eq!(
            lines[5],
            "IDTYPE=sys_wwid IDNAME=naa.5000c500a1b2c3d4 DEVNAME=/dev/sda2 PVID=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA PART=2"
        );
        assert_eq!(
            lines[7],
            "IDTYPE=loop_file IDNAME=/var/tmp/pv.img DEVNAME=/dev/loop0 PVID=CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
        );
        // The hash covers the non-comment lines.
        let hashed: String = lines
            .iter()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let want = crc_bitwise(INITIAL_CRC, hashed.as_bytes());
        assert_eq!(lines[2], format!("# HASH={want}"));
        // Re-reading gives the same entries plus one.
        let again = DevicesFile::parse(&text);
        assert_eq!(again.entries().count(), 3);
        assert!(again.lists(&ids));
    }

    #[test]
    fn refuses_newer_major() {
        let df = DevicesFile::parse("VERSION=2.0.1\n");
        assert!(df.render_next().is_err());
    }

    #[test]
    fn ids_from_fake_sysfs() {
        let d = tempfile::tempdir().unwrap();
        let disk = d.path().join("block/sda");
        let part = disk.join("sda2");
        std::fs::create_dir_all(disk.join("device")).unwrap();
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(disk.join("device/wwid"), "naa.5000c500a1b2c3d4\n").unwrap();
        std::fs::write(part.join("partition"), "2\n").unwrap();
        let ids = DevIds::read(&part, Some(&disk), vec!["/dev/sda2".into()]);
        assert_eq!(
            ids.preferred(),
            ("sys_wwid".into(), "naa.5000c500a1b2c3d4".into(), Some(2))
        );
        let df = DevicesFile::parse(RHEL);
        assert!(df.lists(&ids));

        let t10 = DevIds {
            sys_wwid: Some(format_wwid("t10.ATA     QEMU HARDDISK   QM00001   ")),
            ..DevIds::default()
        };
        assert_eq!(
            t10.sys_wwid.as_deref(),
            Some("t10.ATA_QEMU_HARDDISK_QM00001")
        );

        let lv = DevIds {
            names: vec!["/dev/mapper/vg-lv".into()],
            dm_uuid: Some("LVM-abc".into()),
            ..DevIds::default()
        };
        assert_eq!(lv.preferred().0, "lvmlv_uuid");
        let plain = DevIds {
            names: vec!["/dev/vdb".into()],
            ..DevIds::default()
        };
        assert_eq!(
            plain.preferred(),
            ("devname".into(), "/dev/vdb".into(), None)
        );
        assert!(df.lists(&plain));
    }

    #[test]
    fn vg_uuid_change_follows_into_stacked_pv_entries() {
        let d = tempfile::tempdir().unwrap();
        let sys = d.path().join("etc");
        std::fs::create_dir_all(sys.join("devices")).unwrap();
        let ov = vec![
            "devices/use_devicesfile=1".to_string(),
            format!("global/locking_dir=\"{}\"", d.path().join("lock").display()),
        ];
        let conf = LvmConf::load_from(&sys, Path::new("/dev"), &ov).unwrap();
        let (old, new, lv) = ("o".repeat(32), "n".repeat(32), "l".repeat(32));
        std::fs::write(
            conf.devicesfile_path(),
            format!("VERSION=1.1.4\nIDTYPE=lvmlv_uuid IDNAME=LVM-{old}{lv} DEVNAME=/dev/vg/lv PVID=.\nIDTYPE=devname IDNAME=/dev/sdb DEVNAME=/dev/sdb PVID=.\n"),
        )
        .unwrap();
        assert!(update_vg_uuid(&conf, &old, &new).unwrap());
        let df = DevicesFile::load(&conf.devicesfile_path())
            .unwrap()
            .unwrap();
        let names: Vec<&str> = df.entries().map(|e| e.idname.as_str()).collect();
        assert_eq!(names, [format!("LVM-{new}{lv}").as_str(), "/dev/sdb"]);
        assert_eq!(df.version(), Some("1.1.5"));
        // Another VG's change touches nothing.
        assert!(!update_vg_uuid(&conf, &"x".repeat(32), &new).unwrap());
    }

    #[test]
    fn add_device_end_to_end_on_a_loop_node() {
        // Needs a real block device node for stat(); /dev/loop0 exists on
        // most Linux hosts even unbound.
        let node = Path::new("/dev/loop0");
        if std::fs::metadata(node)
            .map(|m| !m.file_type().is_block_device())
            .unwrap_or(true)
        {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let sys = d.path().join("etc");
        std::fs::create_dir_all(sys.join("devices")).unwrap();
        let ov = vec![
            "devices/use_devicesfile=1".to_string(),
            format!("global/locking_dir=\"{}\"", d.path().join("lock").display()),
        ];
        let conf = LvmConf::load_from(&sys, Path::new("/dev"), &ov).unwrap();
        // No file: not in use, nothing written.
        assert!(!add_device(&conf, node, "P".repeat(32).as_str()).unwrap());
        std::fs::write(conf.devicesfile_path(), "VERSION=1.1.1\n").unwrap();
        assert!(add_device(&conf, node, "P".repeat(32).as_str()).unwrap());
        let df = DevicesFile::load(&conf.devicesfile_path())
            .unwrap()
            .unwrap();
        assert_eq!(df.version(), Some("1.1.2"));
        assert!(df.contains("/dev/loop0", None));
        // Same again: unchanged.
        assert!(!add_device(&conf, node, "P".repeat(32).as_str()).unwrap());
    }
}
