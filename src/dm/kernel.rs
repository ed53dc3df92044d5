//! `DmKernel`: the real device-mapper, through the `devicemapper` crate's
//! ioctls on /dev/mapper/control. The only file that talks to the kernel.
//!
//! udev: layer devices (`-real`, `-cow`) are resumed with
//! `DmOptions::private()`'s udev flags so udev hides them, as LVM2 does;
//! visible LVs with the default flags. With lvm.conf `udev_rules = 0` we
//! also set `DM_UDEV_DISABLE_DM_RULES_FLAG` and `nodes.rs` makes the nodes
//! (dm's 95-dm-notify rule still completes the cookie).
//!
//! udev_sync: resume, remove and rename go through `ioctl.rs`, never the
//! crate (which would make and wait a cookie inside each of them). With
//! lvm.conf `activation/udev_sync = 1` (the default) and udevd running
//! (/run/udev/control), they all carry ONE cookie (`udev.rs`), made at the
//! first of them and waited for only by `Kernel::udev_wait`, which
//! `exec::Transaction` calls once nothing it suspended is still suspended.
//! With `udev_sync = 0` or `--noudevsync` no cookie is made and nothing
//! waits. A cookie never waited for (a transaction that could not resume
//! everything) is removed when the `DmKernel` is dropped.
//!
//! Errors: a rejected ioctl is reported as libdm reports it, with the
//! kernel's reason from /dev/kmsg after it (`KernelError::Ioctl`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use devicemapper::{DevId, DmError, DmFlags, DmName, DmOptions, DmUdevFlags, DmUuid, DM};
use nix::errno::Errno;

use super::exec::{IoctlFailure, Kernel, KernelError};
use super::ioctl::{DmIoctl, DM_UEVENT_GENERATED_FLAG};
use super::memlock;
use super::names::is_layer_name;
use super::state::KernelDevice;
use super::target::{DevNum, TargetLine};
use super::udev::{self, Cookie};

pub struct DmKernel {
    dm: DM,
    /// lvm.conf `activation/udev_rules`.
    udev_rules: bool,
    /// lvm.conf `activation/udev_sync` and not `--noudevsync`.
    udev_sync: bool,
    /// Devices given a `snapshot` table in this run: like their `-cow`
    /// layers they carry DM_UDEV_LOW_PRIORITY_FLAG, so udev's by-uuid and
    /// by-label links keep pointing at the origin (as with LVM2).
    low_priority: std::collections::HashSet<String>,
    /// The cookie of the resume/remove/rename ioctls since the last
    /// `udev_wait` (udev sync only).
    cookie: Option<Cookie>,
    /// A cookie could not be made: warned once, then no sync.
    cookie_failed: bool,
    /// /dev/kmsg, kept open between loads and resumes (`kmsg_mark`): one
    /// seek per ioctl instead of an open, a seek and a close.
    kmsg: Option<Kmsg>,
}

fn failed(op: &'static str, name: &str, e: impl std::fmt::Display) -> KernelError {
    KernelError::Failed {
        op,
        name: name.to_string(),
        msg: e.to_string(),
    }
}

fn dm_name(name: &str) -> Result<&DmName, KernelError> {
    DmName::new(name).map_err(|e| failed("name", name, e))
}

/// A device number as the ioctl interface encodes it (`dev_t`).
fn devnum(dev: u64) -> DevNum {
    DevNum::new(
        nix::sys::stat::major(dev) as u32,
        nix::sys::stat::minor(dev) as u32,
    )
}

/// Every dm device (name, number, UUID), in
/// one DM_LIST_DEVICES on a control fd of its own: what the device scan
/// needs to know which devices are LVs and which /dev entries name them
/// (`system::scan::seed_dm`). `None` when device-mapper cannot be asked or
/// the kernel returns no UUIDs.
pub fn list_dm_devices() -> Option<Vec<super::ioctl::Listed>> {
    let control = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_CLOEXEC)
        .open("/dev/mapper/control")
        .ok()?;
    super::ioctl::list_devices(control.as_raw_fd()).ok()?
}

/// The kernel name (`dm-<minor>`) and major of a listed device number:
/// what the device scan knows a dm device by.
pub fn kernel_name(dev: u64) -> (String, u32) {
    let d = devnum(dev);
    (format!("dm-{}", d.minor), d.major)
}

impl DmKernel {
    /// One DM_LIST_DEVICES with UUIDs, the devices `want` picks and, with
    /// `holders`, those using them (from sysfs `/sys/dev/block/M:m/holders`,
    /// where the kernel links every device a table uses), then a table
    /// query for each kept device only. Without UUIDs in the listing
    /// (kernel < 5.13) or without sysfs, from the full listing.
    fn list_listed(
        &self,
        want: &dyn Fn(&str, Option<&str>) -> bool,
        holders: bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        self.list_listed_from(None, want, holders)
    }

    /// [`DmKernel::list_listed`] from `listed` when given (a listing this
    /// process just made, [`list_dm_devices`]) instead of a new one.
    fn list_listed_from(
        &self,
        listed: Option<Vec<super::ioctl::Listed>>,
        want: &dyn Fn(&str, Option<&str>) -> bool,
        holders: bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        let full = || {
            let mut all = self.list()?;
            if holders {
                return Ok(super::exec::wanted_with_holders(all, want));
            }
            all.retain(|d| want(&d.name, d.uuid.as_deref()));
            Ok(all)
        };
        let listed = match listed {
            Some(l) => l,
            None => match super::ioctl::list_devices(self.dm.file().as_raw_fd()) {
                Ok(Some(l)) => l,
                Ok(None) | Err(_) => return full(),
            },
        };
        let by_num: std::collections::HashMap<DevNum, usize> = listed
            .iter()
            .enumerate()
            .map(|(i, (_, dev, _))| (devnum(*dev), i))
            .collect();
        let mut keep: Vec<bool> = listed
            .iter()
            .map(|(name, _, uuid)| want(name, uuid.as_deref()))
            .collect();
        // Without `holders` nothing is followed.
        let mut todo: Vec<usize> = (0..listed.len()).filter(|&i| holders && keep[i]).collect();
        while let Some(i) = todo.pop() {
            let d = devnum(listed[i].1);
            let dir = format!("/sys/dev/block/{}:{}/holders", d.major, d.minor);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return full();
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(minor) = name
                    .to_str()
                    .and_then(|n| n.strip_prefix("dm-"))
                    .and_then(|m| m.parse::<u32>().ok())
                else {
                    continue;
                };
                if let Some(&j) = by_num.get(&DevNum::new(d.major, minor)) {
                    if !keep[j] {
                        keep[j] = true;
                        todo.push(j);
                    }
                }
            }
        }
        let names: Vec<&str> = listed
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|((name, _, _), _)| name.as_str())
            .collect();
        devices_of(&self.dm, &names)
    }

    /// Open /dev/mapper/control. `Unavailable` when the kernel has no
    /// device-mapper (or we may not use it).
    pub fn open(udev_rules: bool) -> Result<DmKernel, KernelError> {
        let dm = DM::new().map_err(|e| KernelError::Unavailable(e.to_string()))?;
        Ok(DmKernel {
            dm,
            udev_rules,
            udev_sync: true,
            low_priority: Default::default(),
            cookie: None,
            cookie_failed: false,
            kmsg: None,
        })
    }

    /// Whether resume, remove and rename wait for udev (lvm.conf
    /// `activation/udev_sync`; `false` for `--noudevsync`).
    pub fn with_udev_sync(mut self, udev_sync: bool) -> DmKernel {
        self.udev_sync = udev_sync;
        self
    }

    pub fn udev_sync(&self) -> bool {
        self.udev_sync
    }

    /// The kernel log from "now" on, for the reason of a failure of the
    /// ioctl about to run: the handle's /dev/kmsg (opened on first use)
    /// moved to the end. Put back into `self.kmsg` when the ioctl succeeds.
    fn kmsg_mark(&mut self) -> Option<Kmsg> {
        match self.kmsg.take() {
            Some(mut k) => k.0.seek(SeekFrom::End(0)).ok().map(|_| k),
            None => Kmsg::open(),
        }
    }

    /// The error for a failed ioctl on `name`: libdm's wording, by device
    /// number for the tasks LVM2's deptree runs by number.
    fn ioctl_error(
        &self,
        ioctl: &'static str,
        name: &str,
        by_number: bool,
        errno: Option<Errno>,
        other: Option<String>,
        kmsg: Option<Kmsg>,
    ) -> KernelError {
        let dev = if by_number {
            self.dm
                .device_info(&DevId::Name(match DmName::new(name) {
                    Ok(n) => n,
                    Err(_) => return failed(ioctl, name, other.unwrap_or_default()),
                }))
                .ok()
                .map(|i| DevNum::new(i.device().major, i.device().minor))
        } else {
            None
        };
        let kernel = kmsg
            .and_then(|mut k| k.device_mapper_lines())
            .unwrap_or_default();
        // Lines about this device (the table's reason names its number),
        // plus dm-ioctl's own; everything if none names it.
        let kernel = match dev {
            Some(d) => {
                let tag = format!("{d}:");
                let mine: Vec<String> = kernel
                    .iter()
                    .filter(|l| l.contains(&tag) || l.starts_with("device-mapper: ioctl:"))
                    .cloned()
                    .collect();
                if mine.is_empty() {
                    kernel
                } else {
                    mine
                }
            }
            None => kernel,
        };
        let (name, uuid) = if dev.is_some() {
            (String::new(), String::new())
        } else {
            (name.to_string(), String::new())
        };
        KernelError::Ioctl(Box::new(IoctlFailure {
            ioctl,
            name,
            uuid,
            dev,
            reason: match errno {
                Some(e) => e.desc().to_string(),
                None => other.unwrap_or_default(),
            },
            kernel,
        }))
    }

    fn crate_error(
        &self,
        ioctl: &'static str,
        name: &str,
        by_number: bool,
        e: DmError,
        kmsg: Option<Kmsg>,
    ) -> KernelError {
        match errno_of(&e) {
            Some(errno) => self.ioctl_error(ioctl, name, by_number, Some(errno), None, kmsg),
            None => failed(ioctl, name, e),
        }
    }

    fn udev_bits(&self, name: &str) -> u32 {
        self.options(name).udev_flags().bits()
    }

    fn options(&self, name: &str) -> DmOptions {
        let mut o = if is_layer_name(name) {
            DmOptions::private()
        } else {
            DmOptions::default()
        };
        if self.low_priority.contains(name) || super::names::split_dm_name(name).layer == "cow" {
            o = o.set_udev_flags(o.udev_flags() | DmUdevFlags::DM_UDEV_LOW_PRIORITY_FLAG);
        }
        if !self.udev_rules {
            o = o.set_udev_flags(
                o.udev_flags()
                    | DmUdevFlags::DM_UDEV_DISABLE_DM_RULES_FLAG
                    | DmUdevFlags::DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG,
            );
        }
        o
    }

    /// Counts one more uevent on the transaction's cookie (made now if
    /// there is none) and returns its base; `None` when nothing is to wait
    /// for udev (no sync, no udevd, no semaphores).
    fn cookie_for_task(&mut self) -> Option<u16> {
        if !self.udev_sync || self.cookie_failed {
            return None;
        }
        if self.cookie.is_none() {
            if !super::nodes::udev_running() {
                return None;
            }
            match Cookie::create() {
                Ok(c) => self.cookie = Some(c),
                Err(e) => {
                    log::warn!("Failed to create udev cookie ({e}): not waiting for udev.");
                    self.cookie_failed = true;
                    return None;
                }
            }
        }
        let c = self.cookie.as_ref()?;
        match c.inc() {
            Ok(()) => Some(c.base()),
            Err(e) => {
                log::warn!("Failed to count on udev cookie {:#x}: {e}", c.key());
                None
            }
        }
    }

    /// Runs one cookie-carrying ioctl for device `name` with the right
    /// `event_nr`; takes back the count if it made no uevent.
    fn with_cookie(
        &mut self,
        name: &str,
        f: impl FnOnce(RawFd, u32) -> Result<DmIoctl, Errno>,
    ) -> Result<DmIoctl, Errno> {
        let flags = self.udev_bits(name);
        let base = self.cookie_for_task();
        let r = f(
            self.dm.file().as_raw_fd(),
            udev::event_nr(flags, base.unwrap_or(0)),
        );
        if base.is_some() {
            let generated = matches!(&r, Ok(h) if h.flags & DM_UEVENT_GENERATED_FLAG != 0);
            if !generated {
                if let Some(c) = &self.cookie {
                    if let Err(e) = c.dec() {
                        log::warn!("Failed to take back udev cookie {:#x}: {e}", c.key());
                    }
                }
            }
        }
        r
    }

    fn device(&self, name: &str) -> Result<Option<KernelDevice>, KernelError> {
        device_in(&self.dm, name)
    }
}

/// Devices asked about one by one on one thread before [`devices_of`]
/// shares them out: making a thread costs about as much as a few ioctls.
const DEVICES_PER_THREAD: usize = 16;

/// At most this many query threads: the queries use CPU, not wait (unlike
/// removals, `ops::dm::PARALLEL_THREADS`), so more threads than CPUs gain
/// nothing; the number of CPUs decides below this.
const MAX_QUERY_THREADS: usize = 8;

/// The devices `names` (in that order; a device gone since it was listed
/// is left out), one table query each. Many (`lvs` of a VG of 1000 active
/// LVs) are queried from a few threads at once over the same control
/// file: the kernel answers table queries under a shared lock, and on a
/// machine with more than one CPU the ioctls and the parsing of their
/// tables then overlap. The first error, in `names`' order, is returned.
fn devices_of(dm: &DM, names: &[&str]) -> Result<Vec<KernelDevice>, KernelError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(names.len() / DEVICES_PER_THREAD)
        .min(MAX_QUERY_THREADS);
    let query = |names: &[&str]| -> Result<Vec<KernelDevice>, KernelError> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(d) = device_in(dm, name)? {
                out.push(d);
            }
        }
        Ok(out)
    };
    if threads <= 1 {
        return query(names);
    }
    let per = names.len().div_ceil(threads);
    std::thread::scope(|s| {
        // The first share is this thread's; a thread that cannot be made
        // leaves its share to this one too.
        let mut chunks = names.chunks(per);
        let first = chunks.next().unwrap_or_default();
        let handles: Vec<_> = chunks
            .map(|chunk| {
                let h = std::thread::Builder::new().spawn_scoped(s, move || query(chunk));
                (chunk, h.ok())
            })
            .collect();
        let first = query(first);
        // Every thread is joined before any answer is used.
        let parts: Vec<_> = std::iter::once(first)
            .chain(handles.into_iter().map(|(chunk, h)| match h {
                Some(h) => h.join().unwrap_or_else(|_| {
                    Err(KernelError::Unavailable(
                        "a device-mapper query thread failed".to_string(),
                    ))
                }),
                None => query(chunk),
            }))
            .collect();
        let mut out = Vec::with_capacity(names.len());
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    })
}

/// One device's info and live table (`None`: no such device).
fn device_in(dm: &DM, name: &str) -> Result<Option<KernelDevice>, KernelError> {
    use super::ioctl;
    dm_name(name)?;
    // One ioctl: the table query carries the device's info too (the
    // kernel fills name, uuid, flags, open count and dev in every
    // reply), so listing N devices costs N ioctls, not 2N; asked with a
    // buffer the size of the answer (`ioctl::table_status`).
    let fd = dm.file().as_raw_fd();
    let (h, raw) = match ioctl::table_status(fd, name, ioctl::DM_STATUS_TABLE_FLAG) {
        Ok(r) => r,
        Err(Errno::ENXIO) => return Ok(None),
        Err(e) => return Err(failed("table", name, e)),
    };
    let table = raw
        .iter()
        .map(TargetLine::from_raw)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| KernelError::BadTable {
            name: name.to_string(),
            msg: e.to_string(),
        })?;
    Ok(Some(KernelDevice {
        name: name.to_string(),
        uuid: ioctl::c_field(&h.uuid).map(str::to_string),
        dev: devnum(h.dev),
        table,
        open_count: h.open_count,
        suspended: h.flags & ioctl::DM_SUSPEND_FLAG != 0,
        read_only: h.flags & ioctl::DM_READONLY_FLAG != 0,
        inactive_table: h.flags & ioctl::DM_INACTIVE_PRESENT_FLAG != 0,
    }))
}

/// device-mapper's block major from /proc/devices (what LVM2 stores as
/// `major` and puts in the create request; the kernel only uses the
/// minor of it). 253 if it cannot be read.
pub fn dm_major() -> u32 {
    std::fs::read_to_string("/proc/devices")
        .ok()
        .and_then(|t| {
            t.lines()
                .skip_while(|l| !l.starts_with("Block devices:"))
                .find_map(|l| {
                    let (n, name) = l.trim().split_once(' ')?;
                    (name.trim() == "device-mapper").then(|| n.parse().ok())?
                })
        })
        .unwrap_or(253)
}

/// The errno of a failed ioctl, if that is what failed.
fn errno_of(e: &DmError) -> Option<Errno> {
    match e {
        DmError::Core(devicemapper::errors::Error::Ioctl(_, _, _, errno)) => Some(**errno),
        _ => None,
    }
}

impl Kernel for DmKernel {
    fn list(&self) -> Result<Vec<KernelDevice>, KernelError> {
        let names = self
            .dm
            .list_devices()
            .map_err(|e| KernelError::Unavailable(e.to_string()))?;
        let names: Vec<String> = names.iter().map(|(name, _, _)| name.to_string()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        devices_of(&self.dm, &names)
    }

    /// One DM_LIST_DEVICES with UUIDs, the picked devices and those
    /// using them, then a table query for each (`list_listed`).
    fn list_wanted(
        &self,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        self.list_listed(want, true)
    }

    /// `list_wanted` from a listing this process just made.
    fn list_wanted_in(
        &self,
        listed: Vec<super::ioctl::Listed>,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        self.list_listed_from(Some(listed), want, true)
    }

    /// One DM_LIST_DEVICES with UUIDs, then a table query for each picked
    /// device only (`list_listed`).
    fn list_picked(
        &self,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        self.list_listed(want, false)
    }

    fn list_devnums(&self) -> Result<Vec<(String, DevNum)>, KernelError> {
        // rlvm's own listing first: its buffer starts at the size the last
        // answer needed (the crate's starts at 16 KiB and doubles: three
        // ioctls for a thousand devices).
        if let Ok(Some(listed)) = super::ioctl::list_devices(self.dm.file().as_raw_fd()) {
            return Ok(listed
                .into_iter()
                .map(|(name, dev, _)| (name, devnum(dev)))
                .collect());
        }
        let names = self
            .dm
            .list_devices()
            .map_err(|e| KernelError::Unavailable(e.to_string()))?;
        Ok(names
            .into_iter()
            .map(|(name, dev, _)| (name.to_string(), DevNum::new(dev.major, dev.minor)))
            .collect())
    }

    fn list_ids(&self) -> Result<Vec<(String, DevNum, Option<String>)>, KernelError> {
        match super::ioctl::list_devices(self.dm.file().as_raw_fd()) {
            Ok(Some(listed)) => Ok(listed
                .into_iter()
                .map(|(name, dev, uuid)| (name, devnum(dev), uuid))
                .collect()),
            // No UUIDs from this kernel (< 5.13): a table query each.
            Ok(None) => Ok(self
                .list()?
                .into_iter()
                .map(|d| (d.name, d.dev, d.uuid))
                .collect()),
            Err(e) => Err(KernelError::Unavailable(e.to_string())),
        }
    }

    fn info(&self, name: &str) -> Result<Option<KernelDevice>, KernelError> {
        self.device(name)
    }

    fn status(&self, name: &str) -> Result<Vec<(u64, u64, String, String)>, KernelError> {
        let id = DevId::Name(dm_name(name)?);
        self.dm
            .table_status(&id, DmOptions::default().set_flags(DmFlags::DM_NOFLUSH))
            .map(|(_, s)| s)
            .map_err(|e| failed("status", name, e))
    }

    fn status_if(
        &self,
        name: &str,
        uuid: &str,
    ) -> Result<Option<Vec<super::ioctl::TargetSpec>>, KernelError> {
        use super::ioctl;
        dm_name(name)?;
        let fd = self.dm.file().as_raw_fd();
        match ioctl::table_status(fd, name, ioctl::DM_NOFLUSH_FLAG) {
            Ok((h, st)) if ioctl::c_field(&h.uuid) == Some(uuid) => Ok(Some(st)),
            Ok(_) | Err(Errno::ENXIO) => Ok(None),
            Err(e) => Err(failed("status", name, e)),
        }
    }

    fn create(
        &mut self,
        name: &str,
        uuid: &str,
        read_only: bool,
        minor: Option<u32>,
    ) -> Result<DevNum, KernelError> {
        DmUuid::new(uuid).map_err(|e| failed("create", name, e))?;
        // libdm's create task carries the name and the UUID.
        let ioctl_failure = |errno: Errno| {
            KernelError::Ioctl(Box::new(IoctlFailure {
                ioctl: "create",
                name: name.to_string(),
                uuid: uuid.to_string(),
                dev: None,
                reason: errno.desc().to_string(),
                kernel: vec![],
            }))
        };
        dm_name(name)?;
        // Our own DM_DEV_CREATE: the crate cannot set the number, and its
        // request is a 16 KiB buffer (zeroed here for every LV of
        // `vgchange -ay`).
        let h = super::ioctl::create(
            self.dm.file().as_raw_fd(),
            name,
            uuid,
            read_only,
            minor.map(|m| (dm_major(), m)),
        )
        .map_err(ioctl_failure)?;
        Ok(devnum(h.dev))
    }

    fn load(&mut self, name: &str, table: &[TargetLine], ro: bool) -> Result<(), KernelError> {
        dm_name(name)?;
        let raw: Vec<_> = table.iter().map(TargetLine::to_raw).collect();
        if matches!(
            table.first().map(|l| &l.target),
            Some(super::target::Target::Snapshot(_))
        ) {
            self.low_priority.insert(name.to_string());
        }
        let kmsg = self.kmsg_mark();
        // Our own DM_TABLE_LOAD: a buffer the size of the table (the
        // crate's is 16 KiB, which the kernel copies in per LV).
        let fd = self.dm.file().as_raw_fd();
        match super::ioctl::table_load(fd, name, ro, &raw) {
            Ok(_) => {
                self.kmsg = kmsg;
                Ok(())
            }
            Err(e) => Err(self.ioctl_error("reload", name, true, Some(e), None, kmsg)),
        }
    }

    fn clear(&mut self, name: &str) -> Result<(), KernelError> {
        let id = DevId::Name(dm_name(name)?);
        self.dm
            .table_clear(&id)
            .map(|_| ())
            .map_err(|e| self.crate_error("clear", name, true, e, None))
    }

    fn suspend(&mut self, name: &str) -> Result<(), KernelError> {
        let id = DevId::Name(dm_name(name)?);
        let o = self.options(name).set_flags(DmFlags::DM_SUSPEND);
        // Nothing of this process may need a read from `name` until its
        // resume (`memlock`).
        memlock::suspending(name);
        self.dm.device_suspend(&id, o).map(|_| ()).map_err(|e| {
            memlock::running(name);
            self.crate_error("suspend", name, true, e, None)
        })
    }

    fn resume(&mut self, name: &str) -> Result<(), KernelError> {
        dm_name(name)?;
        let kmsg = self.kmsg_mark();
        match self.with_cookie(name, |fd, ev| super::ioctl::resume(fd, name, ev)) {
            Ok(_) => {
                memlock::running(name);
                self.kmsg = kmsg;
                Ok(())
            }
            Err(e) => Err(self.ioctl_error("resume", name, true, Some(e), None, kmsg)),
        }
    }

    fn remove(&mut self, name: &str) -> Result<(), KernelError> {
        dm_name(name)?;
        self.with_cookie(name, |fd, ev| super::ioctl::remove(fd, name, ev))
            .map(|_| memlock::running(name))
            .map_err(|e| self.ioctl_error("remove", name, true, Some(e), None, None))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), KernelError> {
        dm_name(from)?;
        dm_name(to)?;
        // The layer's udev flags go with it, as libdm's rename task
        // carries the node's flags.
        self.with_cookie(to, |fd, ev| super::ioctl::rename(fd, from, to, ev))
            .map(|_| memlock::renamed(from, to))
            .map_err(|e| self.ioctl_error("rename", from, false, Some(e), None, None))
    }

    /// A second /dev/mapper/control with the same udev settings; its
    /// cookie is its own (made at its first resume, remove or rename).
    fn open_another(&self) -> Option<Box<dyn Kernel + Send>> {
        match DmKernel::open(self.udev_rules) {
            Ok(k) => Some(Box::new(k.with_udev_sync(self.udev_sync))),
            Err(e) => {
                log::debug!("dm: no second control handle: {e}");
                None
            }
        }
    }

    fn udev_wait(&mut self) -> Result<(), KernelError> {
        let Some(c) = self.cookie.take() else {
            return Ok(());
        };
        let key = c.key();
        c.wait().map_err(|e| KernelError::Failed {
            op: "udev wait",
            name: format!("cookie {key:#x}"),
            msg: e.to_string(),
        })
    }
}

/// Best-effort reader of the kernel log from "now": a rejected table's
/// reason (`ti->error`) only goes there, never through the ioctl.
struct Kmsg(File);

impl Kmsg {
    fn open() -> Option<Kmsg> {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()?;
        f.seek(SeekFrom::End(0)).ok()?;
        Some(Kmsg(f))
    }

    /// `device-mapper:` messages logged since `open`.
    fn device_mapper_lines(&mut self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        // Each read returns one record; EAGAIN ends the log.
        for _ in 0..64 {
            match self.0.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let text = rec.split_once(';').map_or(&*rec, |(_, t)| t);
                    let line = text.lines().next().unwrap_or("").trim();
                    if line.starts_with("device-mapper:") {
                        out.push(line.to_string());
                    }
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }
}
