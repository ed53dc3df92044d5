//! Which block devices rlvm may look at for PVs, decided as LVM2 decides
//! (`lib/device/dev-cache.c`, `lib/filters/*.c`, `device_id.c`). Reads
//! sysfs, /proc/partitions and the /dev tree; writes nothing.
//!
//! * Devices come from `<sysfs>/block` (disks and their partitions), or
//!   `/proc/partitions` when sysfs has no block directory.
//! * Paths are `<DM_DEV_DIR>/<kernel name>`, and `<DM_DEV_DIR>/mapper/<dm
//!   name>` for device-mapper devices.
//! * Each device's names, for the filters, are that path, its kernel-name
//!   path, then every entry found under devices/scan (default /dev) that
//!   resolves to the same device: symlinks such as /dev/disk/by-id/* and
//!   /dev/<vg>/<lv>, and other nodes with the same major:minor (LVM2's
//!   dev-cache aliases). A name the user typed is added too.
//! * Skipped, with LVM2's wording for `resolve_device`: devices smaller
//!   than devices/pv_min_size (zero-size ones and unbound loop devices
//!   included), LVM LVs (dm UUID "LVM-...") unless devices/scan_lvs=1 and
//!   always LVM-private layers ("LVM-...-cow", "-real", ...), whole disks
//!   that have partitions, devices rejected by filter/global_filter, and,
//!   with use_devicesfile=1 and an existing devices file, devices not
//!   listed in it.
//! * Not done (LVM2 does them by reading the devices): md, multipath and
//!   firmware-RAID component detection, signature checks.

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::devicesfile::{DevIds, DevicesFile, DevicesFileError};
use super::filter::{DeviceFilter, FilterError};
use super::lvmconf::LvmConf;

/// A usable block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanDev {
    pub path: PathBuf,
    pub major: u32,
    pub minor: u32,
    pub size_bytes: u64,
}

#[derive(Debug, Error)]
pub enum ScanError {
    #[error("No device found for {0}.")]
    NotFound(String),
    #[error("Cannot use {path}: {reason}")]
    Excluded { path: String, reason: Exclusion },
    #[error("Cannot read block devices from {path}: {source}")]
    Sysfs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    DevicesFile(#[from] DevicesFileError),
}

/// Why a device is not used, in LVM2's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Exclusion {
    #[error("device is too small (pv_min_size)")]
    TooSmall,
    #[error("device is an LV")]
    Lv,
    #[error("device is partitioned")]
    Partitioned,
    #[error("device is rejected by filter config")]
    Filtered,
    #[error("device is not in devices file")]
    NotInDevicesFile,
    #[error("device is not in devices list")]
    NotInDevicesList,
}

/// Where to read the kernel's view from; tests point these at a temp tree.
#[derive(Debug, Clone)]
pub struct Roots {
    pub sysfs: PathBuf,
    pub proc_dir: PathBuf,
}

impl Default for Roots {
    fn default() -> Roots {
        Roots {
            sysfs: PathBuf::from("/sys"),
            proc_dir: PathBuf::from("/proc"),
        }
    }
}

/// One kernel block device before any decision.
#[derive(Debug, Clone)]
struct RawDev {
    kname: String,
    major: u32,
    minor: u32,
    size_sectors: u64,
    sys_dir: PathBuf,
    parent_dir: Option<PathBuf>,
    partitioned: bool,
    /// A device-mapper device's `dm/uuid` as enumeration read it (`None`:
    /// not read yet, or not a dm device): the judge does not read it twice.
    dm_uuid: Option<String>,
}

/// Which devices a command may use (LVM2's `setup_devices`, dev-cache.c).
enum Select {
    /// No devices file: devices/filter and devices/global_filter.
    Filters(DeviceFilter),
    /// A devices file: only devices it lists; the regex filters are then
    /// ignored, as in LVM2.
    File(DevicesFile),
    /// `--devices`: only the named devices (by device number).
    List(Vec<(u32, u32)>),
}

/// Everything needed to judge devices, built once per scan.
struct Judge<'a> {
    conf: LvmConf,
    select: Select,
    /// The LV devices enumeration left out: the /dev entries naming them
    /// need not be looked at by the alias walk ([`left_out_entries`]).
    left_out: &'a [LeftOut],
    /// Every device's aliases, from a walk of devices/scan made the first
    /// time a device's names decide something its two paths do not
    /// ([`Judge::judge`]): with filters that accept every candidate by its
    /// path (or no filters), no walk at all.
    aliases: std::cell::OnceCell<HashMap<AliasKey, Vec<String>>>,
    min_bytes: u64,
}

/// Commands that create PVs from devices the devices file does not list
/// yet (LVM2's `pvcreate_each_device`, which sets filter_deviceid_skip):
/// their device arguments need not be listed.
fn adds_devices(conf: &LvmConf) -> bool {
    matches!(conf.command(), "pvcreate" | "vgcreate" | "vgextend")
}

pub use super::devicesfile::creates_devices_file;

/// Device numbers of the `--devices` names that exist.
fn list_devnos(names: &[String]) -> Vec<(u32, u32)> {
    names
        .iter()
        .filter_map(|n| std::fs::metadata(n).ok())
        .filter(|m| m.file_type().is_block_device())
        .map(|m| (libc::major(m.rdev()), libc::minor(m.rdev())))
        .collect()
}

fn select(conf: &LvmConf) -> Result<Select, ScanError> {
    if let Some(list) = conf.devices_list() {
        return Ok(Select::List(list_devnos(list)));
    }
    if conf.use_devicesfile() {
        match DevicesFile::load(&conf.devicesfile_path())? {
            Some(df) => return Ok(Select::File(df)),
            // A devices file that does not exist yet is empty for the
            // commands that create it, and not used by the others.
            None if creates_devices_file(conf) => return Ok(Select::File(DevicesFile::default())),
            None => {}
        }
    }
    Ok(Select::Filters(DeviceFilter::from_conf(conf)?))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AliasKey {
    Rdev(u32, u32),
    Path(PathBuf),
}

/// Block devices LVM2 would scan for PVs, in kernel order.
pub fn candidate_devices(conf: &LvmConf) -> Result<Vec<ScanDev>, ScanError> {
    candidate_devices_in(conf, &Roots::default())
}

/// [`candidate_devices`] against other sysfs/proc roots.
pub fn candidate_devices_in(conf: &LvmConf, roots: &Roots) -> Result<Vec<ScanDev>, ScanError> {
    let (raw, left_out) = enumerate_leaving_out(roots, Some(conf.scan_lvs()))?;
    crate::metadata::phase::mark("scan-sys-block");
    let judge = Judge::new(conf, &left_out)?;
    crate::metadata::phase::mark("scan-dev-aliases");
    Ok(raw
        .iter()
        .filter_map(|r| judge.judge(r, None, false).ok())
        .collect())
}

/// Every block device the no-data filters accept, whatever the devices
/// file and the regex filters say (lvmdevices looking for a PVID).
pub fn all_devices(conf: &LvmConf) -> Result<Vec<ScanDev>, ScanError> {
    let (raw, left_out) = enumerate_leaving_out(&Roots::default(), Some(conf.scan_lvs()))?;
    let mut judge = Judge::new(conf, &left_out)?;
    judge.select = Select::File(DevicesFile::default());
    Ok(raw
        .iter()
        .filter_map(|r| judge.judge(r, None, true).ok())
        .collect())
}

/// A device named on the command line, whatever the devices file and
/// filters say (lvmdevices --adddev): `None` if there is no such
/// device, or it has no size (an unbound loop device).
pub fn any_device(arg: &str) -> Option<ScanDev> {
    let md = std::fs::metadata(arg).ok()?;
    if !md.file_type().is_block_device() {
        return None;
    }
    let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
    let raw = enumerate(&Roots::default(), None).ok()?;
    let r = raw.iter().find(|r| r.major == major && r.minor == minor)?;
    (r.size_sectors > 0).then(|| ScanDev {
        path: PathBuf::from(arg),
        major,
        minor,
        size_bytes: r.size_sectors * 512,
    })
}

/// A device named on the command line: must be a block device that passes
/// the same checks as in [`candidate_devices`]. The returned path is `arg`.
pub fn resolve_device(arg: &str, conf: &LvmConf) -> Result<ScanDev, ScanError> {
    resolve_device_in(arg, conf, &Roots::default())
}

/// [`resolve_device`] against other sysfs/proc roots.
pub fn resolve_device_in(arg: &str, conf: &LvmConf, roots: &Roots) -> Result<ScanDev, ScanError> {
    let not_found = || ScanError::NotFound(arg.to_string());
    let md = std::fs::metadata(arg).map_err(|_| not_found())?;
    if !md.file_type().is_block_device() {
        return Err(not_found());
    }
    let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
    // The one device, not every device's sysfs entries (pvcreate on one of
    // 200 devices read them all twice: here and for the scan).
    let raw = match raw_by_devno(roots, major, minor) {
        Some(r) => vec![r],
        None => enumerate(roots, None)?,
    };
    let r = raw
        .iter()
        .find(|r| r.major == major && r.minor == minor)
        .ok_or_else(not_found)?;
    let judge = Judge::new(conf, &[])?;
    let mut dev = judge
        .judge(r, Some(arg), adds_devices(conf))
        .map_err(|reason| ScanError::Excluded {
            path: arg.to_string(),
            reason,
        })?;
    dev.path = PathBuf::from(arg);
    Ok(dev)
}

impl<'a> Judge<'a> {
    /// `left_out`: the LV devices enumeration left out, whose /dev entries
    /// need not be looked at for aliases.
    fn new(conf: &LvmConf, left_out: &'a [LeftOut]) -> Result<Judge<'a>, ScanError> {
        // devices/pv_min_size is in KiB (default 2048, never below 512).
        let (min_kib, _) = super::blocksize::pv_min_size_kib(conf);
        Ok(Judge {
            conf: conf.clone(),
            select: select(conf)?,
            left_out,
            aliases: std::cell::OnceCell::new(),
            min_bytes: min_kib * 1024,
        })
    }

    fn aliases(&self) -> &HashMap<AliasKey, Vec<String>> {
        self.aliases.get_or_init(|| {
            let skip = left_out_entries(self.conf.dev_dir(), self.left_out);
            collect_aliases(&self.conf.scan_dirs(), &skip)
        })
    }

    /// The device, or the reason (LVM2's words) it is not usable.
    /// `unlisted_ok`: a device the devices file does not list is usable
    /// (a new PV's device).
    fn judge(
        &self,
        r: &RawDev,
        typed: Option<&str>,
        unlisted_ok: bool,
    ) -> Result<ScanDev, Exclusion> {
        let dev_dir = self.conf.dev_dir();
        let kpath = dev_dir.join(&r.kname);
        let dm_uuid = r
            .dm_uuid
            .clone()
            .or_else(|| read_dm(&r.kname, &r.sys_dir, "uuid"));
        if dm_uuid
            .as_deref()
            .is_some_and(|u| lv_excluded(u, self.conf.scan_lvs()))
        {
            return Err(Exclusion::Lv);
        }
        let dm_name = read_dm(&r.kname, &r.sys_dir, "name");
        let path = match &dm_name {
            Some(n) => dev_dir.join("mapper").join(n),
            None => kpath.clone(),
        };

        let size_bytes = r.size_sectors * 512;
        let is_loop = r.kname.starts_with("loop");
        if size_bytes == 0
            || size_bytes < self.min_bytes
            || (is_loop
                && r.sys_dir.join("loop").exists()
                && read_sys(&r.sys_dir, "loop/backing_file").is_none())
        {
            return Err(Exclusion::TooSmall);
        }
        if r.partitioned || (partitionable(r) && has_partition_table(&path)) {
            return Err(Exclusion::Partitioned);
        }

        let mut names: Vec<String> = vec![path.display().to_string()];
        if kpath != path {
            names.push(kpath.display().to_string());
        }
        // The kernel name is the path of every device but a dm one: one stat.
        let path_md = std::fs::metadata(&path);
        // Whether `path` names something (a stat that succeeds does).
        let path_found = path_md.is_ok();
        let lost = dm_name.is_none() && !path_found && path.symlink_metadata().is_err();
        // The aliases matter only where the two paths (and the typed name)
        // leave the verdict open: a name accepted by both filters accepts
        // the device whatever its other names say (LVM2's `_accept_p`).
        let settled = match &self.select {
            Select::Filters(f) => {
                let known: Vec<&str> = names.iter().map(String::as_str).chain(typed).collect();
                f.accepts_whatever_other_names(&known)
            }
            Select::File(_) => false,
            Select::List(_) => true,
        };
        if lost || !settled {
            let mut keys = vec![AliasKey::Rdev(r.major, r.minor)];
            // A block node's aliases are all under its device number
            // (`collect_aliases` follows links to it); only the plain files
            // of fake trees need the resolved path, which costs a readlink
            // per path component.
            let mut key_of = |p: &Path, md: &std::io::Result<std::fs::Metadata>| {
                if md.as_ref().is_ok_and(|m| m.file_type().is_block_device()) {
                    return;
                }
                if let Ok(c) = std::fs::canonicalize(p) {
                    keys.push(AliasKey::Path(c));
                }
            };
            key_of(&path, &path_md);
            if kpath != path {
                key_of(&kpath, &std::fs::metadata(&kpath));
            }
            let aliases = self.aliases();
            for k in keys {
                for n in aliases.get(&k).into_iter().flatten() {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
        }
        // A device with no node under devices/dir (a loop device set up
        // after the test's dev dir was made, with devices/scan = "/dev")
        // is named by a node the scan found, as LVM2's device cache names
        // it by its aliases.
        let path = if lost {
            names
                .iter()
                .find(|n| Path::new(n).symlink_metadata().is_ok())
                .map_or(path, PathBuf::from)
        } else {
            path
        };
        if let Some(t) = typed {
            if !names.iter().any(|n| n == t) {
                names.push(t.to_string());
            }
        }

        match &self.select {
            Select::Filters(f) if !f.accepts(&names) => return Err(Exclusion::Filtered),
            Select::Filters(_) => {}
            Select::File(df) => {
                let ids = DevIds::read(&r.sys_dir, r.parent_dir.as_deref(), names);
                if !unlisted_ok && !df.lists(&ids) {
                    return Err(Exclusion::NotInDevicesFile);
                }
            }
            Select::List(devnos) => {
                if !devnos.contains(&(r.major, r.minor)) {
                    return Err(Exclusion::NotInDevicesList);
                }
            }
        }
        Ok(ScanDev {
            path,
            major: r.major,
            minor: r.minor,
            size_bytes,
        })
    }
}

/// A device the kernel device of an active LV sits on, as sysfs says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedDev {
    /// The LV's ID (raw, 32 characters).
    pub lvid: String,
    pub major: u32,
    pub minor: u32,
    /// `<dev_dir>/mapper/<name>` for a dm device, else `<dev_dir>/<kname>`.
    pub name: String,
}

/// The devices VG `vgid`'s active LVs use in the kernel, other than its
/// PVs (`pvs`, device numbers) and its own layers, with every device such
/// an LV uses (PVs too): what LVM2's "Device mismatch" warning names
/// (`_index_dev_by_vgid_and_lvid` in dev-cache.c indexes the same
/// relation from the holders' side). Empty when every active LV of the VG
/// sits on the VG's PVs.
pub fn devices_used_by_vg(conf: &LvmConf, vgid: &str, pvs: &[(u32, u32)]) -> Vec<UsedDev> {
    used_by_vg_in(conf, Path::new("/sys"), vgid, pvs)
}

// Every dm device's UUID as the last enumeration (on this thread) read
// it, until `forget_dm_uuids`: the mismatch check right after a scan
// reads no UUID twice (1000 active LVs: 3000 system calls).
/// (sysfs root, every dm device's (kname, UUID)).
type DmUuids = Option<(PathBuf, Vec<(String, String)>)>;

thread_local! {
    static DM_UUIDS: std::cell::RefCell<DmUuids> =
        const { std::cell::RefCell::new(None) };
}

/// (sysfs root, kernel name → (device number, size in sectors)) of every
/// device the last enumeration (on this thread) read, until
/// `forget_dm_uuids`: the mismatch check reads no `dev` again and skips
/// the holders of a device of no size (an unbound loop device: nothing
/// can use it).
type DevSizes = Option<(PathBuf, HashMap<String, ((u32, u32), u64)>)>;

thread_local! {
    static DEV_SIZES: std::cell::RefCell<DevSizes> =
        const { std::cell::RefCell::new(None) };
}

/// `no_size`: the devices enumeration passed over for having no size (their
/// device numbers unread): known to be of size 0.
fn remember_dev_sizes(sysfs: &Path, devs: &[RawDev], no_size: &[String]) {
    let map = devs
        .iter()
        .map(|d| (d.kname.clone(), ((d.major, d.minor), d.size_sectors)))
        .chain(no_size.iter().map(|k| (k.clone(), ((0, 0), 0))))
        .collect();
    DEV_SIZES.with(|m| *m.borrow_mut() = Some((sysfs.to_path_buf(), map)));
}

/// What the last enumeration read of the devices under `sysfs`.
fn dev_sizes(sysfs: &Path) -> HashMap<String, ((u32, u32), u64)> {
    DEV_SIZES.with(|m| {
        m.borrow()
            .as_ref()
            .filter(|(root, _)| root == sysfs)
            .map(|(_, map)| map.clone())
            .unwrap_or_default()
    })
}

/// A dm device as the caller listed it from the kernel.
#[derive(Clone, Debug)]
pub struct SeededDm {
    /// Its dm name (`vg-lv`).
    pub name: String,
    /// Its device number's major (device-mapper's, the same for all).
    pub major: u32,
    /// Its dm UUID, `None` if it has none.
    pub uuid: Option<String>,
}

/// (sysfs root, dm kernel name → what the kernel said) handed to the next
/// enumeration.
type Seeded = Option<(PathBuf, HashMap<String, SeededDm>)>;

thread_local! {
    static SEEDED: std::cell::RefCell<Seeded> = const { std::cell::RefCell::new(None) };
}

/// Every dm device by kernel name (`dm-<minor>`), as the caller just
/// listed them (one DM_LIST_DEVICES): the next enumeration of /sys on this
/// thread takes their UUIDs instead of reading each device's `dm/uuid`
/// (1000 active LVs: 3000 system calls), and the /dev walk for aliases
/// skips the entries that name LVs the scan leaves out (their dm names).
/// A device it does not hold (created since) is read from sysfs.
pub fn seed_dm(devices: HashMap<String, SeededDm>) {
    seed_dm_for(Path::new("/sys"), devices);
}

fn seed_dm_for(sysfs: &Path, devices: HashMap<String, SeededDm>) {
    SEEDED.with(|m| *m.borrow_mut() = Some((sysfs.to_path_buf(), devices)));
}

fn remember_dm_uuids(sysfs: &Path, uuids: Vec<(String, String)>) {
    DM_UUIDS.with(|m| *m.borrow_mut() = Some((sysfs.to_path_buf(), uuids)));
}

/// Every dm device's (kernel name, UUID) from a listing of the kernel's
/// devices, for the checks after a read of devices that were not
/// enumerated again (`Ctx::rescan`): one ioctl instead of a sysfs read
/// per dm device. Kept until `forget_dm_uuids`, as an enumeration's.
pub fn remember_listed_dm_uuids(uuids: Vec<(String, String)>) {
    remember_dm_uuids(Path::new("/sys"), uuids);
}

/// Drops what the last enumeration remembered: the kernel may change
/// after it (the caller's scan and its checks are over).
pub fn forget_dm_uuids() {
    DM_UUIDS.with(|m| *m.borrow_mut() = None);
    DEV_SIZES.with(|m| *m.borrow_mut() = None);
}

/// (kname, UUID) of every dm device: remembered, or read from sysfs.
fn dm_uuids(sysfs: &Path) -> Vec<(String, String)> {
    let remembered = DM_UUIDS.with(|m| {
        m.borrow()
            .as_ref()
            .filter(|(root, _)| root == sysfs)
            .map(|(_, list)| list.clone())
    });
    if let Some(list) = remembered {
        return list;
    }
    let Ok(rd) = std::fs::read_dir(sysfs.join("block")) else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter_map(|e| {
            let kname = e.file_name().into_string().ok()?;
            let uuid = read_dm(&kname, &e.path(), "uuid")?;
            Some((kname, uuid))
        })
        .collect()
}

fn used_by_vg_in(conf: &LvmConf, sysfs: &Path, vgid: &str, pvs: &[(u32, u32)]) -> Vec<UsedDev> {
    let prefix = format!("LVM-{vgid}");
    let block = sysfs.join("class/block");
    let uuids = dm_uuids(sysfs);
    let own: HashMap<&str, &str> = uuids
        .iter()
        .filter(|(_, u)| u.starts_with(&prefix))
        .map(|(k, u)| (k.as_str(), u.as_str()))
        .collect();
    if own.is_empty() {
        return Vec::new();
    }
    // The VG's devices that use something else than a PV or each other:
    // found from the other side, the holders of every other device (a
    // handful: disks, partitions, loops, foreign dm devices), not the
    // slaves of each of a thousand LV devices. Other VGs' LVs are looked
    // at only with devices/scan_lvs (else none can be a PV here).
    let other_lv =
        |k: &str| !conf.scan_lvs() && uuids.iter().any(|(n, u)| n == k && u.starts_with("LVM-"));
    let known = dev_sizes(sysfs);
    let suspects: Vec<&str> = match std::fs::read_dir(&block) {
        Ok(rd) => {
            let mut found = std::collections::BTreeSet::new();
            for e in rd.filter_map(Result::ok) {
                let Ok(kname) = e.file_name().into_string() else {
                    continue;
                };
                if own.contains_key(kname.as_str()) || other_lv(&kname) {
                    continue;
                }
                let dir = block.join(&kname);
                let devt = match known.get(&kname) {
                    Some((_, 0)) => continue,
                    Some((devt, _)) => Some(*devt),
                    None => read_sys(&dir, "dev").and_then(|d| parse_devt(&d)),
                };
                if devt.is_some_and(|d| pvs.contains(&d)) {
                    continue;
                }
                let Ok(holders) = std::fs::read_dir(dir.join("holders")) else {
                    continue;
                };
                for h in holders.filter_map(Result::ok) {
                    if let Some((k, _)) =
                        own.get_key_value(h.file_name().to_string_lossy().as_ref())
                    {
                        found.insert(*k);
                    }
                }
            }
            found.into_iter().collect()
        }
        // No class/block: every device of the VG is looked at.
        Err(_) => own.keys().copied().collect(),
    };
    let mut out = Vec::new();
    // What a slave is, read once per slave: the LVs of a VG mostly sit
    // on the same few PVs (100 LVs on one disk: 3 sysfs reads, not 300).
    let mut slaves_seen: HashMap<String, Option<(u32, u32, String)>> = HashMap::new();
    for kname in suspects {
        let uuid = own[kname];
        let Some(lvid) = uuid.strip_prefix(&prefix).and_then(|rest| rest.get(..32)) else {
            continue;
        };
        let Ok(slaves) = std::fs::read_dir(sysfs.join("block").join(kname).join("slaves")) else {
            continue;
        };
        for s in slaves.filter_map(Result::ok) {
            let skname = s.file_name().to_string_lossy().into_owned();
            let slave = slaves_seen.entry(skname.clone()).or_insert_with(|| {
                // A layer of the same VG is not a device the VG uses.
                if own.contains_key(skname.as_str()) {
                    return None;
                }
                let sdir = block.join(&skname);
                let (major, minor) = read_sys(&sdir, "dev").and_then(|d| parse_devt(&d))?;
                let name = match read_dm(&skname, &sdir, "name") {
                    Some(n) => conf.dev_dir().join("mapper").join(n),
                    None => conf.dev_dir().join(&skname),
                };
                Some((major, minor, name.display().to_string()))
            });
            if let Some((major, minor, name)) = slave {
                out.push(UsedDev {
                    lvid: lvid.to_string(),
                    major: *major,
                    minor: *minor,
                    name: name.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The read-ahead the kernel uses for block device `major:minor`, in
/// sectors (what `lvs -o lv_kernel_read_ahead` and lvdisplay's
/// "currently set to" show), from sysfs.
pub fn kernel_read_ahead(major: u32, minor: u32) -> Option<u64> {
    let dir = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let kb: u64 = read_sys(&dir, "queue/read_ahead_kb")?.parse().ok()?;
    Some(kb * 2)
}

/// A sysfs attribute, trimmed; `None` if absent or empty. One open and
/// one read: an attribute is shown whole by the first read (at most a
/// page), so neither a stat to size a buffer nor a read of the end is
/// needed (thousands of these per command on a host with many devices).
fn read_sys(dir: &Path, suffix: &str) -> Option<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(dir.join(suffix)).ok()?;
    // Attributes are short (a number, a name, a UUID): a small buffer,
    // zeroed cheaply, holds them; a longer one is read on to its end.
    let mut head = [0u8; 256];
    let n = f.read(&mut head).ok()?;
    let text = if n < head.len() {
        std::str::from_utf8(&head[..n]).ok()?.trim().to_owned()
    } else {
        let mut bytes = head.to_vec();
        f.read_to_end(&mut bytes).ok()?;
        String::from_utf8(bytes).ok()?.trim().to_owned()
    };
    (!text.is_empty()).then_some(text)
}

/// The kernel names every device-mapper device `dm-<minor>`.
fn is_dm_name(kname: &str) -> bool {
    kname
        .strip_prefix("dm-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A device-mapper attribute (`dm/name`, `dm/uuid`) of the kernel device
/// `kname`: only dm devices (`dm-N`) have them, so no other is asked.
fn read_dm(kname: &str, dir: &Path, attr: &str) -> Option<String> {
    if !is_dm_name(kname) {
        return None;
    }
    read_sys(dir, &format!("dm/{attr}"))
}

/// Whether a dm UUID names a device the scan never looks at: an LVM LV
/// ("LVM-" + 64 ID characters) unless devices/scan_lvs = 1, and always an
/// LVM-private layer ("LVM-...-cow", "-real", "-pool"...).
fn lv_excluded(uuid: &str, scan_lvs: bool) -> bool {
    uuid.strip_prefix("LVM-")
        .is_some_and(|rest| !scan_lvs || rest.len() > 64)
}

/// Whether LVM2 looks for a partition table on this device
/// (`_is_partitionable`, lib/device/dev-type.c): dm and md devices, loop
/// devices with partscan, whole nvme disks, and whole disks of a driver
/// that gives a disk more than one minor (sysfs `range`, LVM2's table of
/// partition counts per major).
fn partitionable(r: &RawDev) -> bool {
    if r.sys_dir.join("dm").is_dir() || r.sys_dir.join("md").is_dir() {
        return true;
    }
    if r.kname.starts_with("loop") {
        return read_sys(&r.sys_dir, "loop/partscan").as_deref() == Some("1");
    }
    if r.parent_dir.is_some() {
        return false;
    }
    r.kname.starts_with("nvme")
        || read_sys(&r.sys_dir, "range")
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|n| n > 1)
}

/// An msdos partition table in the device's first sector (LVM2's
/// `_has_partition_table`); a device that cannot be read has none.
fn has_partition_table(path: &Path) -> bool {
    use std::io::Read;
    let mut sector = [0u8; 512];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut sector))
        .is_ok()
        && mbr_has_partitions(&sector)
}

/// The 0x55AA signature, every boot indicator 0 or 0x80, and at least one
/// partition with sectors.
fn mbr_has_partitions(sector: &[u8; 512]) -> bool {
    if sector[510..512] != [0x55, 0xAA] {
        return false;
    }
    let entries: Vec<&[u8]> = sector[446..510].chunks(16).collect();
    if entries.iter().any(|e| e[0] & 0x7f != 0) {
        return false;
    }
    entries
        .iter()
        .any(|e| u32::from_le_bytes([e[12], e[13], e[14], e[15]]) != 0)
}

fn parse_devt(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn raw_from_sys(kname: &str, dir: &Path, parent: Option<&Path>) -> Option<RawDev> {
    raw_from_sys_sized(kname, dir, parent, None)
}

/// A device's size in sectors from sysfs; 0 if it cannot be read.
fn sys_size(dir: &Path) -> u64 {
    read_sys(dir, "size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// [`raw_from_sys`] with the size already read (`Some`).
fn raw_from_sys_sized(
    kname: &str,
    dir: &Path,
    parent: Option<&Path>,
    size: Option<u64>,
) -> Option<RawDev> {
    let (major, minor) = parse_devt(&read_sys(dir, "dev")?)?;
    let size_sectors = size.unwrap_or_else(|| sys_size(dir));
    Some(RawDev {
        kname: kname.to_string(),
        major,
        minor,
        size_sectors,
        sys_dir: dir.to_path_buf(),
        parent_dir: parent.map(Path::to_path_buf),
        partitioned: false,
        dm_uuid: None,
    })
}

/// The kernel block device `major:minor` as [`enumerate`] lists it, read
/// through `<sysfs>/dev/block/M:m` alone: a partition with its disk, a
/// disk with whether it has partitions. `None` without that entry (a
/// sysfs without the `dev` tree): the caller enumerates.
fn raw_by_devno(roots: &Roots, major: u32, minor: u32) -> Option<RawDev> {
    let link = roots.sysfs.join(format!("dev/block/{major}:{minor}"));
    let dir = std::fs::canonicalize(link).ok()?;
    let kname = dir.file_name()?.to_str()?.to_string();
    if dir.join("partition").exists() {
        let parent = dir.parent()?.to_path_buf();
        return raw_from_sys(&kname, &dir, Some(&parent));
    }
    let mut disk = raw_from_sys(&kname, &dir, None)?;
    disk.partitioned = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .any(|e| {
            let n = e.file_name();
            let n = n.as_encoded_bytes();
            n.len() > kname.len()
                && n.starts_with(kname.as_bytes())
                && e.path().join("partition").exists()
        });
    Some(disk)
}

/// LVM2's device cache keeps devices in a tree keyed by the 32-bit
/// `dev_t` (glibc's `makedev` truncated), and its scan walks that tree:
/// the order of its scan warnings and of the first device seen of a
/// duplicate. rlvm scans in the same order.
fn devt_key(d: &RawDev) -> u32 {
    ((d.major & 0xfff) << 8) | (d.minor & 0xff) | ((d.minor & 0xfff00) << 12)
}

/// All kernel block devices, in LVM2's scan order ([`devt_key`]).
/// `skip_lvs: Some(scan_lvs)` leaves out the dm devices the judge would
/// exclude as LVs ([`lv_excluded`]) without reading more of them than
/// their UUID: with 1000 active LVs, most of a command's system calls.
fn enumerate(roots: &Roots, skip_lvs: Option<bool>) -> Result<Vec<RawDev>, ScanError> {
    Ok(enumerate_leaving_out(roots, skip_lvs)?.0)
}

/// A dm device enumeration left out as an LV (`devices/scan_lvs`), with
/// what the kernel listing said about it, if it was seeded.
struct LeftOut {
    kname: String,
    known: Option<SeededDm>,
}

/// [`enumerate`], and the LV devices it left out.
fn enumerate_leaving_out(
    roots: &Roots,
    skip_lvs: Option<bool>,
) -> Result<(Vec<RawDev>, Vec<LeftOut>), ScanError> {
    let (mut out, left_out) = enumerate_unsorted(roots, skip_lvs)?;
    out.sort_by_key(devt_key);
    Ok((out, left_out))
}

/// All kernel block devices: each disk, in directory order, followed by
/// its partitions ([`enumerate_leaving_out`] sorts them by number).
fn enumerate_unsorted(
    roots: &Roots,
    skip_lvs: Option<bool>,
) -> Result<(Vec<RawDev>, Vec<LeftOut>), ScanError> {
    let block = roots.sysfs.join("block");
    let rd = match std::fs::read_dir(&block) {
        Ok(rd) => rd,
        Err(_) => return Ok((enumerate_proc(roots)?, Vec::new())),
    };
    // In directory order: the caller sorts the devices by number.
    let names: Vec<String> = rd
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    let mut uuids = Vec::new();
    let mut no_size = Vec::new();
    // Seeded UUIDs are used once, for the root they were listed for.
    let mut seeded = SEEDED
        .with(|m| m.borrow_mut().take())
        .filter(|(root, _)| *root == roots.sysfs)
        .map(|(_, devices)| devices);
    for name in names {
        // A seeded device is taken out of the map (each name comes once):
        // an LV left out keeps it without a copy.
        let known = seeded.as_mut().and_then(|s| s.remove(&name));
        let dm_uuid = match &known {
            Some(k) => k.uuid.clone(),
            None => read_dm(&name, &block.join(&name), "uuid"),
        };
        if let Some(u) = &dm_uuid {
            uuids.push((name.clone(), u.clone()));
        }
        if let (Some(u), Some(scan_lvs)) = (&dm_uuid, skip_lvs) {
            if lv_excluded(u, scan_lvs) {
                left_out.push(LeftOut { kname: name, known });
                continue;
            }
        }
        let dir = block.join(&name);
        // A disk of no size (an unbound loop device: most hosts have eight)
        // is never a candidate: when candidates are enumerated its size is
        // read first and nothing more (its `dev` neither).
        let size = match skip_lvs {
            Some(_) if !is_dm_name(&name) => {
                let size = sys_size(&dir);
                if size == 0 {
                    no_size.push(name);
                    continue;
                }
                Some(size)
            }
            _ => None,
        };
        let Some(mut disk) = raw_from_sys_sized(&name, &dir, None, size) else {
            continue;
        };
        disk.dm_uuid = dm_uuid;
        if is_dm_name(&name) {
            // The kernel never partitions a dm device (kpartx maps
            // partitions as dm devices of their own): no directory walk.
            out.push(disk);
            continue;
        }
        // A disk of no size (an unbound loop device) has no partitions:
        // its directory is not listed.
        let listing = (disk.size_sectors > 0).then(|| std::fs::read_dir(&dir));
        let mut parts: Vec<RawDev> = listing
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(Result::ok)
            // A disk's partitions are named after it (sda1, nvme0n1p1,
            // loop0p1); only those entries can hold a `partition` file, so
            // the dozen attribute entries of every disk cost no stat.
            .filter(|e| {
                e.file_name().as_encoded_bytes().len() > name.len()
                    && e.file_name()
                        .as_encoded_bytes()
                        .starts_with(name.as_bytes())
                    && e.path().join("partition").exists()
            })
            .filter_map(|e| {
                let pname = e.file_name().into_string().ok()?;
                raw_from_sys(&pname, &e.path(), Some(&dir))
            })
            .collect();
        parts.sort_by_key(|p| p.minor);
        disk.partitioned = !parts.is_empty();
        out.push(disk);
        out.extend(parts);
    }
    remember_dm_uuids(&roots.sysfs, uuids);
    remember_dev_sizes(&roots.sysfs, &out, &no_size);
    Ok((out, left_out))
}

/// `/proc/partitions`: "major minor #blocks(1KiB) name".
fn enumerate_proc(roots: &Roots) -> Result<Vec<RawDev>, ScanError> {
    let path = roots.proc_dir.join("partitions");
    let text =
        std::fs::read_to_string(&path).map_err(|source| ScanError::Sysfs { path, source })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [maj, min, blocks, name] = f.as_slice() else {
                return None;
            };
            Some(RawDev {
                kname: name.to_string(),
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                size_sectors: blocks.parse::<u64>().ok()? * 2,
                sys_dir: roots.sysfs.join("class/block").join(name),
                parent_dir: None,
                partitioned: false,
                dm_uuid: None,
            })
        })
        .collect())
}

/// The /dev entries that name LV devices the scan left out, by the names
/// device-mapper, udev and LVM give them: `dm-<minor>`, `mapper/<dm name>`,
/// `<vg>/<lv>`, `block/<major>:<minor>`, `disk/by-id/dm-name-<dm name>`
/// and `disk/by-id/dm-uuid-<uuid>`. Such an entry can only be an alias of
/// a device the scan does not use: the alias walk need not stat it (with
/// 1000 active LVs, 3000 of the walk's system calls). An entry of another
/// name (a file system's by-uuid link) is still looked at.
fn left_out_entries<'a>(dev_dir: &Path, left_out: &'a [LeftOut]) -> Skip<'a> {
    let mut skip = Skip {
        dev_dir: dev_dir.to_path_buf(),
        ..Skip::default()
    };
    for l in left_out {
        skip.knames.insert(&l.kname);
        let Some(k) = &l.known else {
            continue;
        };
        if let Some(minor) = l.kname.strip_prefix("dm-").and_then(|m| m.parse().ok()) {
            skip.devnos.insert((k.major, minor));
        }
        skip.names.insert(&k.name);
        if let Some(u) = &k.uuid {
            skip.uuids.insert(u);
        }
        if let Some((vg, lv, layer)) = crate::metadata::names::split_dm_name(&k.name) {
            if layer.is_empty() {
                skip.lvs.entry(vg).or_default().insert(lv);
            }
        }
    }
    skip
}

/// The entries [`left_out_entries`] found, by directory and name (no path
/// made per LV; a directory is placed once, its entries looked up by name
/// alone). `Skip::default()` skips nothing.
#[derive(Default)]
struct Skip<'a> {
    dev_dir: PathBuf,
    /// `<dev>/<kernel name>`
    knames: FxHashSet<&'a str>,
    /// `<dev>/block/<major>:<minor>`
    devnos: FxHashSet<(u32, u32)>,
    /// `<dev>/mapper/<dm name>`, `<dev>/disk/by-id/dm-name-<dm name>`
    names: FxHashSet<&'a str>,
    /// `<dev>/disk/by-id/dm-uuid-<uuid>`
    uuids: FxHashSet<&'a str>,
    /// `<dev>/<vg>/<lv>`, by VG
    lvs: rustc_hash::FxHashMap<String, FxHashSet<String>>,
}

/// Where a directory of the walk is, for [`Skip::skips`].
enum SkipDir<'s> {
    Dev,
    Block,
    Mapper,
    ById,
    Vg(&'s FxHashSet<String>),
    Other,
}

type FxHashSet<T> = rustc_hash::FxHashSet<T>;

impl Skip<'_> {
    fn dir(&self, dir: &Path) -> SkipDir<'_> {
        let Ok(rel) = dir.strip_prefix(&self.dev_dir) else {
            return SkipDir::Other;
        };
        if self.dev_dir.as_os_str().is_empty() {
            return SkipDir::Other;
        }
        let mut parts = rel.iter();
        match (
            parts.next().and_then(|p| p.to_str()),
            parts.next(),
            parts.next(),
        ) {
            (None, ..) => SkipDir::Dev,
            (Some("block"), None, _) => SkipDir::Block,
            (Some("mapper"), None, _) => SkipDir::Mapper,
            (Some("disk"), Some(b), None) if b == "by-id" => SkipDir::ById,
            (Some(vg), None, _) => self.lvs.get(vg).map_or(SkipDir::Other, SkipDir::Vg),
            _ => SkipDir::Other,
        }
    }

    /// Whether entry `name` of a directory placed by [`Skip::dir`] names
    /// a left-out LV.
    fn skips(&self, dir: &SkipDir, name: &std::ffi::OsStr) -> bool {
        let Some(name) = name.to_str() else {
            return false;
        };
        match dir {
            SkipDir::Dev => self.knames.contains(name),
            SkipDir::Block => name
                .split_once(':')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                .is_some_and(|d| self.devnos.contains(&d)),
            SkipDir::Mapper => self.names.contains(name),
            SkipDir::ById => {
                name.strip_prefix("dm-name-")
                    .is_some_and(|n| self.names.contains(n))
                    || name
                        .strip_prefix("dm-uuid-")
                        .is_some_and(|u| self.uuids.contains(u))
            }
            SkipDir::Vg(lvs) => lvs.contains(name),
            SkipDir::Other => false,
        }
    }
}

/// Walk the scan directories (not following directory symlinks) and map
/// every entry to the device it names; entries in `skip` are not looked at.
fn collect_aliases(dirs: &[PathBuf], skip: &Skip) -> HashMap<AliasKey, Vec<String>> {
    let mut map: HashMap<AliasKey, Vec<String>> = HashMap::new();
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    let mut seen_dirs = 0usize;
    while let Some(dir) = stack.pop() {
        seen_dirs += 1;
        if seen_dirs > 10_000 {
            break;
        }
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let placed = skip.dir(&dir);
        for e in rd.filter_map(Result::ok) {
            // The directory entry's type costs no syscall (DirEntry stats
            // only where the file system gives no type): directories are
            // walked, block nodes need one lstat for their number, links
            // one stat of what they name; everything else (character
            // devices, sockets, plain files) names no block device.
            let Ok(t) = e.file_type() else {
                continue;
            };
            if t.is_dir() {
                stack.push(e.path());
                continue;
            }
            if skip.skips(&placed, &e.file_name()) {
                continue;
            }
            let p = e.path();
            let md = if t.is_block_device() {
                std::fs::symlink_metadata(&p)
            } else if t.is_symlink() {
                std::fs::metadata(&p)
            } else {
                continue;
            };
            let Ok(md) = md else {
                continue;
            };
            let name = p.display().to_string();
            if md.file_type().is_block_device() {
                let (ma, mi) = (libc::major(md.rdev()), libc::minor(md.rdev()));
                map.entry(AliasKey::Rdev(ma, mi)).or_default().push(name);
            } else if t.is_symlink() && !md.is_dir() {
                // Fake trees in tests have plain files for nodes; real
                // symlinks to block nodes are caught by rdev above.
                if let Ok(c) = std::fs::canonicalize(&p) {
                    map.entry(AliasKey::Path(c)).or_default().push(name);
                }
            }
        }
    }
    for v in map.values_mut() {
        v.sort();
        v.dedup();
    }
    map
}

#[cfg(test)]
mod tests {
    #[test]
    fn msdos_table_is_found_as_lvm2_finds_it() {
        use super::mbr_has_partitions;
        let mut s = [0u8; 512];
        assert!(!mbr_has_partitions(&s), "no signature");
        s[510] = 0x55;
        s[511] = 0xAA;
        assert!(!mbr_has_partitions(&s), "no partition with sectors");
        // Partition 2: 2 sectors (sfdisk's "1 2").
        s[446 + 16 + 12] = 2;
        assert!(mbr_has_partitions(&s));
        s[446] = 0x80;
        assert!(mbr_has_partitions(&s), "bootable entry is valid");
        s[446] = 0x01;
        assert!(!mbr_has_partitions(&s), "bad boot indicator: no table");
    }

    use super::*;
    use std::fs;

    struct Fake {
        _d: tempfile::TempDir,
        root: PathBuf,
    }

    impl Fake {
        fn new() -> Fake {
            let d = tempfile::tempdir().unwrap();
            let root = d.path().to_path_buf();
            fs::create_dir_all(root.join("sys/block")).unwrap();
            fs::create_dir_all(root.join("dev/mapper")).unwrap();
            fs::create_dir_all(root.join("dev/disk/by-id")).unwrap();
            fs::create_dir_all(root.join("etc/devices")).unwrap();
            Fake { _d: d, root }
        }
        fn disk(&self, name: &str, devt: &str, sectors: u64) -> PathBuf {
            let dir = self.root.join("sys/block").join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("dev"), format!("{devt}\n")).unwrap();
            fs::write(dir.join("size"), format!("{sectors}\n")).unwrap();
            fs::write(self.root.join("dev").join(name), "").unwrap();
            dir
        }
        fn part(&self, disk: &str, name: &str, devt: &str, sectors: u64) {
            let dir = self.root.join("sys/block").join(disk).join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("dev"), devt).unwrap();
            fs::write(dir.join("size"), sectors.to_string()).unwrap();
            fs::write(dir.join("partition"), "1").unwrap();
            fs::write(self.root.join("dev").join(name), "").unwrap();
        }
        fn conf(&self, ov: &[&str]) -> LvmConf {
            let ov: Vec<String> = ov.iter().map(|s| s.to_string()).collect();
            LvmConf::load_from(&self.root.join("etc"), &self.root.join("dev"), &ov).unwrap()
        }
        fn roots(&self) -> Roots {
            Roots {
                sysfs: self.root.join("sys"),
                proc_dir: self.root.join("proc"),
            }
        }
        fn scan(&self, ov: &[&str]) -> Vec<String> {
            candidate_devices_in(&self.conf(ov), &self.roots())
                .unwrap()
                .iter()
                .map(|d| {
                    d.path
                        .strip_prefix(&self.root)
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect()
        }
    }

    fn standard() -> Fake {
        let f = Fake::new();
        f.disk("sda", "8:0", 2_000_000);
        f.part("sda", "sda1", "8:1", 1_000_000);
        f.disk("sdb", "8:16", 2_000_000);
        f.disk("sdc", "8:32", 0);
        let l0 = f.disk("loop0", "7:0", 65536);
        fs::create_dir_all(l0.join("loop")).unwrap();
        fs::write(l0.join("loop/backing_file"), "/var/tmp/a b.img\n").unwrap();
        let l1 = f.disk("loop1", "7:1", 65536);
        fs::create_dir_all(l1.join("loop")).unwrap();
        let dm0 = f.disk("dm-0", "253:0", 65536);
        fs::create_dir_all(dm0.join("dm")).unwrap();
        fs::write(dm0.join("dm/name"), "vg-lv\n").unwrap();
        fs::write(dm0.join("dm/uuid"), format!("LVM-{}\n", "a".repeat(64))).unwrap();
        let dm1 = f.disk("dm-1", "253:1", 65536);
        fs::create_dir_all(dm1.join("dm")).unwrap();
        fs::write(dm1.join("dm/name"), "luks\n").unwrap();
        fs::write(dm1.join("dm/uuid"), "CRYPT-LUKS2-abc-luks\n").unwrap();
        let dm2 = f.disk("dm-2", "253:2", 65536);
        fs::create_dir_all(dm2.join("dm")).unwrap();
        fs::write(dm2.join("dm/name"), "vg-lv-real\n").unwrap();
        fs::write(
            dm2.join("dm/uuid"),
            format!("LVM-{}-real\n", "a".repeat(64)),
        )
        .unwrap();
        std::os::unix::fs::symlink("../../sdb", f.root.join("dev/disk/by-id/wwn-0x5000")).unwrap();
        f
    }

    /// UUIDs the caller listed (one ioctl) replace the sysfs reads of the
    /// next enumeration, once; a device they lack is read from sysfs.
    #[test]
    fn seeded_dm_uuids_are_used_once() {
        let f = standard();
        let seed = |uuids: &[(&str, Option<&str>)]| {
            seed_dm_for(
                &f.roots().sysfs,
                uuids
                    .iter()
                    .map(|(k, u)| {
                        let known = SeededDm {
                            name: format!("name-of-{k}"),
                            major: 253,
                            uuid: u.map(str::to_string),
                        };
                        (k.to_string(), known)
                    })
                    .collect(),
            )
        };
        // dm-1 (luks) said to be an LV: left out; dm-0 not in the seed:
        // read, an LV, left out as before.
        seed(&[
            ("dm-1", Some(&format!("LVM-{}", "b".repeat(64)))),
            ("dm-2", None),
        ]);
        assert_eq!(f.scan(&[]), vec!["dev/loop0", "dev/sda1", "dev/sdb"]);
        // Used once: the next scan reads sysfs again.
        assert_eq!(
            f.scan(&[]),
            vec!["dev/loop0", "dev/sda1", "dev/sdb", "dev/mapper/luks"]
        );
    }

    /// The alias walk does not look at the /dev entries that name LVs the
    /// scan left out (by dm name, LV path, kernel name, by-id links), and
    /// still finds every other alias, a file system's by-uuid link to such
    /// an LV included.
    #[test]
    fn alias_walk_skips_entries_of_left_out_lvs() {
        let d = tempfile::tempdir().unwrap();
        let dev = d.path().join("dev");
        for sub in ["mapper", "vg", "disk/by-id", "disk/by-uuid", "block"] {
            fs::create_dir_all(dev.join(sub)).unwrap();
        }
        fs::write(dev.join("mapper/vg-lv"), "").unwrap();
        fs::write(dev.join("dm-3"), "").unwrap();
        fs::write(dev.join("sdb"), "").unwrap();
        let link = |to: &str, at: &str| std::os::unix::fs::symlink(to, dev.join(at)).unwrap();
        link("../mapper/vg-lv", "vg/lv");
        link("../../mapper/vg-lv", "disk/by-id/dm-name-vg-lv");
        link("../../mapper/vg-lv", "disk/by-id/dm-uuid-LVM-abc");
        link("../../mapper/vg-lv", "disk/by-uuid/f00d");
        link("../dm-3", "block/253:3");
        link("../../sdb", "disk/by-id/wwn-0x1");
        let left_out = [LeftOut {
            kname: "dm-3".into(),
            known: Some(SeededDm {
                name: "vg-lv".into(),
                major: 253,
                uuid: Some("LVM-abc".into()),
            }),
        }];
        let skip = left_out_entries(&dev, &left_out);
        let names = |skip: &Skip, of: &str| {
            let aliases = collect_aliases(std::slice::from_ref(&dev), skip);
            let key = AliasKey::Path(fs::canonicalize(dev.join(of)).unwrap());
            let mut got: Vec<String> = aliases
                .get(&key)
                .into_iter()
                .flatten()
                .map(|n| n.strip_prefix(dev.to_str().unwrap()).unwrap().to_string())
                .collect();
            got.sort();
            got
        };
        assert_eq!(
            names(&Skip::default(), "mapper/vg-lv"),
            [
                "/disk/by-id/dm-name-vg-lv",
                "/disk/by-id/dm-uuid-LVM-abc",
                "/disk/by-uuid/f00d",
                "/vg/lv"
            ]
        );
        assert_eq!(names(&skip, "mapper/vg-lv"), ["/disk/by-uuid/f00d"]);
        assert_eq!(names(&Skip::default(), "dm-3"), ["/block/253:3"]);
        assert!(names(&skip, "dm-3").is_empty());
        assert_eq!(names(&skip, "sdb"), ["/disk/by-id/wwn-0x1"]);
        // Without the kernel's word on it (not seeded), only the kernel
        // name is known: the rest is walked.
        let unseeded = [LeftOut {
            kname: "dm-3".into(),
            known: None,
        }];
        let skip = left_out_entries(&dev, &unseeded);
        assert!(skip.skips(&skip.dir(&dev), "dm-3".as_ref()));
        assert!(!skip.skips(&skip.dir(&dev), "dm-4".as_ref()));
        assert!(!skip.skips(&skip.dir(&dev.join("mapper")), "vg-lv".as_ref()));
        assert_eq!(names(&skip, "mapper/vg-lv").len(), 4);
    }

    #[test]
    fn default_scan_skips_like_lvm() {
        let f = standard();
        assert_eq!(
            f.scan(&[]),
            // LVM2's order: by dev_t (7:0, 8:1, 8:16, 253:1), not by name.
            vec!["dev/loop0", "dev/sda1", "dev/sdb", "dev/mapper/luks"]
        );
    }

    #[test]
    fn scan_lvs_shows_lvs_but_never_private_layers() {
        let f = standard();
        let got = f.scan(&["devices/scan_lvs=1"]);
        assert!(got.contains(&"dev/mapper/vg-lv".to_string()));
        assert!(!got.iter().any(|p| p.contains("real")));
    }

    #[test]
    fn filters_see_symlink_aliases() {
        let f = standard();
        assert_eq!(
            f.scan(&["devices/filter=[\"a|/dev/disk/by-id/wwn-|\", \"r|.*|\"]"]),
            vec!["dev/sdb"]
        );
        assert_eq!(
            f.scan(&["devices/global_filter=[\"r|loop|\", \"r|mapper|\"]"]),
            vec!["dev/sda1", "dev/sdb"]
        );
    }

    /// The /dev walk for aliases is made only when a device's paths leave
    /// the filters' verdict open, and every verdict is the one the walk
    /// gives.
    #[test]
    fn alias_walk_only_where_paths_leave_the_verdict_open() {
        let f = standard();
        let judged = |ov: &[&str]| -> (Vec<String>, bool) {
            let conf = f.conf(ov);
            let (raw, left_out) = enumerate_leaving_out(&f.roots(), Some(conf.scan_lvs())).unwrap();
            let judge = Judge::new(&conf, &left_out).unwrap();
            let used = raw
                .iter()
                .filter_map(|r| judge.judge(r, None, false).ok())
                .map(|d| d.path.strip_prefix(&f.root).unwrap().display().to_string())
                .collect();
            (used, judge.aliases.get().is_some())
        };
        let v = |l: &[&str]| -> Vec<String> { l.iter().map(|s| s.to_string()).collect() };
        let all = v(&["dev/loop0", "dev/sda1", "dev/sdb", "dev/mapper/luks"]);
        // No patterns, or patterns accepting every path: no walk.
        assert_eq!(judged(&[]), (all.clone(), false));
        assert_eq!(
            judged(&[
                "devices/global_filter=[\"a|.*|\"]",
                "devices/filter=[\"a|/dev/|\"]"
            ]),
            (all.clone(), false)
        );
        // A rejected path: an alias could still accept it (walk).
        assert_eq!(
            judged(&["devices/filter=[\"a|/dev/sd|\", \"r|.*|\"]"]),
            (v(&["dev/sda1", "dev/sdb"]), true)
        );
        // A path no pattern matches: an alias could still reject it (walk).
        assert_eq!(
            judged(&["devices/filter=[\"r|wwn|\"]"]),
            (v(&["dev/loop0", "dev/sda1", "dev/mapper/luks"]), true)
        );
        // Accepted only by an alias: found by the walk.
        assert_eq!(
            judged(&["devices/filter=[\"a|by-id/wwn-|\", \"r|.*|\"]"]),
            (v(&["dev/sdb"]), true)
        );
        // A devices file names devices by their aliases: walk.
        fs::write(f.root.join("etc/devices/system.devices"), "VERSION=1.1.1\n").unwrap();
        let conf = f.conf(&["devices/use_devicesfile=1"]);
        let judge = Judge::new(&conf, &[]).unwrap();
        assert!(matches!(judge.select, Select::File(_)));
        let raw = enumerate(&f.roots(), Some(false)).unwrap();
        assert!(raw.iter().all(|r| judge.judge(r, None, false).is_err()));
        assert!(judge.aliases.get().is_some());
    }

    #[test]
    fn devices_file_limits_scan() {
        let f = standard();
        fs::write(
            f.root.join("etc/devices/system.devices"),
            "VERSION=1.1.1\nIDTYPE=loop_file IDNAME=/var/tmp/a_b.img DEVNAME=/dev/loop0 PVID=.\n",
        )
        .unwrap();
        assert_eq!(f.scan(&["devices/use_devicesfile=1"]), vec!["dev/loop0"]);
        // Not in use: everything as before.
        assert_eq!(f.scan(&[]).len(), 4);
    }

    #[test]
    fn devices_used_by_active_lvs_skip_own_layers() {
        let f = standard();
        let vgid = "v".repeat(32);
        let lvid = "l".repeat(32);
        let sys = f.root.join("sys");
        fs::create_dir_all(sys.join("class")).unwrap();
        std::os::unix::fs::symlink(sys.join("block"), sys.join("class/block")).unwrap();
        let dm = |name: &str, devt: &str, dmname: &str, uuid: &str, slaves: &[&str]| {
            let d = f.disk(name, devt, 65536);
            fs::create_dir_all(d.join("dm")).unwrap();
            fs::write(d.join("dm/name"), format!("{dmname}\n")).unwrap();
            fs::write(d.join("dm/uuid"), format!("{uuid}\n")).unwrap();
            fs::create_dir_all(d.join("slaves")).unwrap();
            for s in slaves {
                fs::create_dir_all(d.join("slaves").join(s)).unwrap();
            }
        };
        // An origin: top device over its -real layer over a PV (sdb).
        dm(
            "dm-5",
            "253:5",
            "vg-lv-real",
            &format!("LVM-{vgid}{lvid}-real"),
            &["sdb"],
        );
        dm(
            "dm-6",
            "253:6",
            "vg-lv",
            &format!("LVM-{vgid}{lvid}"),
            &["dm-5"],
        );
        // A second LV on the same PV: listed too, with the same device.
        let lvid2 = "m".repeat(32);
        dm(
            "dm-7",
            "253:7",
            "vg-lv2",
            &format!("LVM-{vgid}{lvid2}"),
            &["sdb"],
        );
        // The kernel links each slave's holders back.
        for h in ["dm-5", "dm-7"] {
            fs::create_dir_all(sys.join("block/sdb/holders").join(h)).unwrap();
        }
        fs::create_dir_all(sys.join("block/dm-5/holders/dm-6")).unwrap();
        // sdb is not a PV of the VG: both LVs use a device that is not.
        let used = used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]);
        assert_eq!(used.len(), 2, "{used:?}");
        let mut lvids: Vec<&str> = used.iter().map(|u| u.lvid.as_str()).collect();
        lvids.sort();
        assert_eq!(lvids, [lvid.as_str(), lvid2.as_str()]);
        for u in &used {
            assert_eq!((u.major, u.minor), (8, 16));
            assert!(u.name.ends_with("/dev/sdb"), "{}", u.name);
        }
        assert!(used_by_vg_in(&f.conf(&[]), &sys, &"w".repeat(32), &[]).is_empty());
        // sdb is the VG's PV: nothing to report, and no slave is read.
        assert!(used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 16)]).is_empty());
        // What an enumeration remembered is what the check uses (a
        // device it did not see is not looked at), until forgotten.
        remember_dm_uuids(&sys, vec![("dm-7".into(), format!("LVM-{vgid}{lvid2}"))]);
        let used = used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]);
        assert_eq!(used.len(), 1, "{used:?}");
        assert_eq!(used[0].lvid, lvid2);
        forget_dm_uuids();
        assert_eq!(used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]).len(), 2);
        // A device the enumeration read as the VG's PV (its number from
        // then, not from sysfs) or as of no size has no holders looked at.
        let sdb = |devt: (u32, u32), size: u64| RawDev {
            kname: "sdb".into(),
            major: devt.0,
            minor: devt.1,
            size_sectors: size,
            sys_dir: sys.join("block/sdb"),
            parent_dir: None,
            partitioned: false,
            dm_uuid: None,
        };
        remember_dev_sizes(&sys, &[sdb((8, 0), 65536)], &[]);
        assert!(used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]).is_empty());
        remember_dev_sizes(&sys, &[sdb((8, 16), 0)], &[]);
        assert!(used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]).is_empty());
        // Passed over by enumeration for having no size (its number unread).
        remember_dev_sizes(&sys, &[], &["sdb".to_string()]);
        assert!(used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]).is_empty());
        remember_dev_sizes(&sys, &[sdb((8, 16), 65536)], &[]);
        assert_eq!(used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]).len(), 2);
        forget_dm_uuids();
        assert_eq!(used_by_vg_in(&f.conf(&[]), &sys, &vgid, &[(8, 0)]).len(), 2);
    }

    #[test]
    fn proc_partitions_fallback() {
        let f = Fake::new();
        fs::remove_dir_all(f.root.join("sys/block")).unwrap();
        fs::create_dir_all(f.root.join("proc")).unwrap();
        fs::write(
            f.root.join("proc/partitions"),
            "major minor  #blocks  name\n\n   7        0      65536 loop0\n 254        0  268435456 vda\n",
        )
        .unwrap();
        let devs = candidate_devices_in(&f.conf(&[]), &f.roots()).unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[1].size_bytes, 268435456 * 1024);
        assert_eq!((devs[1].major, devs[1].minor), (254, 0));
    }

    #[test]
    fn resolve_errors_in_lvm_words() {
        let f = standard();
        let c = f.conf(&[]);
        let e = resolve_device_in("/nonexistent/dev", &c, &f.roots()).unwrap_err();
        assert_eq!(e.to_string(), "No device found for /nonexistent/dev.");
        let e = resolve_device_in("/etc/passwd", &c, &f.roots()).unwrap_err();
        assert_eq!(e.to_string(), "No device found for /etc/passwd.");
    }

    #[test]
    fn resolve_real_loop_node() {
        // A real node against the real sysfs; unbound loop devices are
        // "too small", bound ones pass or hit the filter.
        let node = "/dev/loop7";
        if !fs::metadata(node)
            .map(|m| m.file_type().is_block_device())
            .unwrap_or(false)
        {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let c = LvmConf::load_from(
            d.path(),
            Path::new("/dev"),
            &["devices/filter=\"r|loop7|\"".to_string()],
        )
        .unwrap();
        let e = resolve_device(node, &c).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg == "Cannot use /dev/loop7: device is too small (pv_min_size)"
                || msg == "Cannot use /dev/loop7: device is rejected by filter config",
            "{msg}"
        );
    }
}
