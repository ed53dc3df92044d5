//! `RecordingKernel`: an in-memory device-mapper for tests. It records
//! every state-changing call, simulates the rules of the real kernel that
//! plans depend on, and fails on demand at call N. No I/O.
//!
//! Simulated rules: names and UUIDs are unique (a rename to a taken name
//! fails, a renamed device keeps its number, UUID and tables); a new device has no table
//! and counts as suspended; a table may only use devices that exist and
//! are large enough (a dm device's size is its live table's); resume
//! swaps in the inactive table; a device that is open or used by another
//! table cannot be removed; a `snapshot-merge` that takes over from an
//! active snapshot needs that snapshot suspended (dm-snap.c
//! `snapshot_preresume`: "Unable to perform snapshot handover until
//! source is suspended").
//!
//! udev: `udev_wait` is recorded in `udev_waits` (not in `calls`, whose
//! numbering failure injection uses) with what was suspended at that
//! moment and how many cookie-carrying calls (resume, remove, rename) it
//! covers, so tests can check that no wait happens while a device is
//! suspended (with the root on that device, it would never end).

use std::collections::{BTreeMap, HashSet};

use super::exec::{Kernel, KernelError};
use super::state::KernelDevice;
use super::target::{DevNum, DevRef, Target, TargetLine};

#[derive(Clone, Debug)]
struct SimDev {
    uuid: String,
    dev: DevNum,
    live: Vec<TargetLine>,
    inactive: Option<(Vec<TargetLine>, bool)>,
    suspended: bool,
    read_only: bool,
    open_count: i32,
}

/// One `udev_wait` as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdevWait {
    /// `calls.len()` at the wait: it came after `calls[..at]`.
    pub at: usize,
    /// Devices suspended at that moment (no table yet counts).
    pub suspended: Vec<String>,
    /// Resume, remove and rename calls since the previous wait.
    pub covers: usize,
}

#[derive(Clone, Debug, Default)]
pub struct RecordingKernel {
    devs: BTreeMap<String, SimDev>,
    /// Plain disks (PVs): number → size in sectors.
    disks: BTreeMap<DevNum, u64>,
    next_minor: u32,
    /// Every state-changing call, printed (`create vg-lv`, ...).
    pub calls: Vec<String>,
    /// Calls (0-based, over state-changing calls) that fail.
    pub fail_at: HashSet<usize>,
    /// Every call from this one on fails.
    pub fail_from: Option<usize>,
    /// `list`/`info` fail as if there were no device-mapper.
    pub unavailable: bool,
    /// INFO status the fake reports for `snapshot`/`snapshot-merge`.
    pub snapshot_status: String,
    /// Every `udev_wait`.
    pub udev_waits: Vec<UdevWait>,
    /// How many times every device was listed (`list`).
    pub listings: std::cell::Cell<usize>,
    /// Resume, remove and rename calls since the last `udev_wait`.
    uncovered: usize,
}

impl RecordingKernel {
    pub fn new() -> RecordingKernel {
        RecordingKernel {
            snapshot_status: "16/2097152 16".into(),
            ..Default::default()
        }
    }
    /// Register a disk (a PV's device) of `sectors` size.
    pub fn add_disk(&mut self, dev: DevNum, sectors: u64) {
        self.disks.insert(dev, sectors);
    }
    pub fn set_open(&mut self, name: &str, count: i32) {
        if let Some(d) = self.devs.get_mut(name) {
            d.open_count = count;
        }
    }
    pub fn names(&self) -> Vec<String> {
        self.devs.keys().cloned().collect()
    }
    pub fn suspended(&self) -> Vec<String> {
        self.devs
            .iter()
            .filter(|(_, d)| d.suspended)
            .map(|(n, _)| n.clone())
            .collect()
    }
    /// Devices with a table waiting in the inactive slot.
    pub fn pending(&self) -> Vec<String> {
        self.devs
            .iter()
            .filter(|(_, d)| d.inactive.is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }
    /// `dmsetup table`-like dump: `name: line, line` per device.
    pub fn dump(&self) -> String {
        self.devs
            .iter()
            .map(|(n, d)| {
                let t: Vec<String> = d.live.iter().map(|l| l.to_string()).collect();
                format!("{n}: {}\n", t.join(", "))
            })
            .collect()
    }

    fn call(&mut self, what: String, op: &'static str, name: &str) -> Result<(), KernelError> {
        let n = self.calls.len();
        if matches!(op, "resume" | "remove" | "rename") {
            self.uncovered += 1;
        }
        self.calls.push(what);
        if self.fail_at.contains(&n) || self.fail_from.is_some_and(|f| n >= f) {
            return Err(fail(op, name, "injected failure"));
        }
        Ok(())
    }

    fn size_of(&self, dev: DevNum) -> Option<u64> {
        if let Some(s) = self.disks.get(&dev) {
            return Some(*s);
        }
        self.devs
            .values()
            .find(|d| d.dev == dev)
            .map(|d| d.live.iter().map(|l| l.start + l.length).max().unwrap_or(0))
    }

    fn check_table(&self, name: &str, table: &[TargetLine]) -> Result<(), KernelError> {
        for l in table {
            let need = match &l.target {
                Target::Linear { offset, .. } => offset + l.length,
                Target::Striped { stripes, .. } => {
                    stripes.iter().map(|s| s.offset).max().unwrap_or(0)
                        + l.length / stripes.len().max(1) as u64
                }
                _ => 1,
            };
            for d in l.target.devices() {
                let DevRef::Num(n) = d else {
                    return Err(fail("load", name, &format!("unresolved device {d}")));
                };
                match self.size_of(*n) {
                    None => return Err(fail("load", name, &format!("device {n} lookup failed"))),
                    Some(s) if s < need => {
                        return Err(fail("load", name, &format!("{n} too small for target")))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Result<&SimDev, KernelError> {
        self.devs
            .get(name)
            .ok_or_else(|| KernelError::NotFound(name.to_string()))
    }

    fn view(name: &str, d: &SimDev) -> KernelDevice {
        KernelDevice {
            name: name.to_string(),
            uuid: Some(d.uuid.clone()),
            dev: d.dev,
            table: d.live.clone(),
            open_count: d.open_count,
            suspended: d.suspended,
            read_only: d.read_only,
            inactive_table: d.inactive.is_some(),
        }
    }
}

fn fail(op: &'static str, name: &str, msg: &str) -> KernelError {
    KernelError::Failed {
        op,
        name: name.to_string(),
        msg: msg.to_string(),
    }
}

impl Kernel for RecordingKernel {
    fn list(&self) -> Result<Vec<KernelDevice>, KernelError> {
        if self.unavailable {
            return Err(KernelError::Unavailable("no device-mapper (fake)".into()));
        }
        self.listings.set(self.listings.get() + 1);
        Ok(self.devs.iter().map(|(n, d)| Self::view(n, d)).collect())
    }
    /// The devices `listed` names (as they are now), without a listing.
    fn list_wanted_in(
        &self,
        listed: Vec<super::ioctl::Listed>,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        if self.unavailable {
            return Err(KernelError::Unavailable("no device-mapper (fake)".into()));
        }
        let all = self
            .devs
            .iter()
            .filter(|(n, _)| listed.iter().any(|(l, _, _)| l == *n))
            .map(|(n, d)| Self::view(n, d))
            .collect();
        Ok(super::exec::wanted_with_holders(all, want))
    }
    fn info(&self, name: &str) -> Result<Option<KernelDevice>, KernelError> {
        if self.unavailable {
            return Err(KernelError::Unavailable("no device-mapper (fake)".into()));
        }
        Ok(self.devs.get(name).map(|d| Self::view(name, d)))
    }
    fn status(&self, name: &str) -> Result<Vec<(u64, u64, String, String)>, KernelError> {
        let d = self.get(name)?;
        Ok(d.live
            .iter()
            .map(|l| {
                let s = match &l.target {
                    Target::Snapshot(_) | Target::SnapshotMerge(_) => self.snapshot_status.clone(),
                    _ => String::new(),
                };
                (l.start, l.length, l.target.target_type().to_string(), s)
            })
            .collect())
    }
    fn create(
        &mut self,
        name: &str,
        uuid: &str,
        read_only: bool,
        minor: Option<u32>,
    ) -> Result<DevNum, KernelError> {
        self.call(format!("create {name}"), "create", name)?;
        if self.devs.contains_key(name) || self.devs.values().any(|d| d.uuid == uuid) {
            return Err(fail("create", name, "Device or resource busy"));
        }
        let taken =
            |devs: &BTreeMap<String, SimDev>, m: u32| devs.values().any(|d| d.dev.minor == m);
        let dev = match minor {
            // dm-ioctl.c: a persistent minor that is taken is EBUSY.
            Some(m) if taken(&self.devs, m) => {
                return Err(fail("create", name, "Device or resource busy"))
            }
            Some(m) => DevNum::new(253, m),
            None => {
                while taken(&self.devs, self.next_minor) {
                    self.next_minor += 1;
                }
                let d = DevNum::new(253, self.next_minor);
                self.next_minor += 1;
                d
            }
        };
        self.devs.insert(
            name.to_string(),
            SimDev {
                uuid: uuid.to_string(),
                dev,
                live: vec![],
                inactive: None,
                suspended: true,
                read_only,
                open_count: 0,
            },
        );
        Ok(dev)
    }
    fn load(&mut self, name: &str, table: &[TargetLine], ro: bool) -> Result<(), KernelError> {
        let t: Vec<String> = table.iter().map(|l| l.to_string()).collect();
        self.call(format!("load {name}: {}", t.join(", ")), "load", name)?;
        self.get(name)?;
        self.check_table(name, table)?;
        if let Some(d) = self.devs.get_mut(name) {
            d.inactive = Some((table.to_vec(), ro));
        }
        Ok(())
    }
    fn clear(&mut self, name: &str) -> Result<(), KernelError> {
        self.call(format!("clear {name}"), "clear", name)?;
        let d = self
            .devs
            .get_mut(name)
            .ok_or_else(|| KernelError::NotFound(name.to_string()))?;
        d.inactive = None;
        Ok(())
    }
    fn suspend(&mut self, name: &str) -> Result<(), KernelError> {
        self.call(format!("suspend {name}"), "suspend", name)?;
        let d = self
            .devs
            .get_mut(name)
            .ok_or_else(|| KernelError::NotFound(name.to_string()))?;
        d.suspended = true;
        Ok(())
    }
    fn resume(&mut self, name: &str) -> Result<(), KernelError> {
        self.call(format!("resume {name}"), "resume", name)?;
        let others_active_snap =
            |devs: &BTreeMap<String, SimDev>, a: &super::target::SnapshotArgs| {
                devs.iter().any(|(n, d)| {
                    n != name
                        && !d.suspended
                        && matches!(d.live.first().map(|l| &l.target),
                        Some(Target::Snapshot(s)) if s.origin == a.origin && s.cow == a.cow)
                })
            };
        let devs_snapshot = self.devs.clone();
        let d = self
            .devs
            .get_mut(name)
            .ok_or_else(|| KernelError::NotFound(name.to_string()))?;
        d.suspended = true;
        if let Some((t, ro)) = d.inactive.take() {
            d.live = t;
            d.read_only = ro;
        }
        if d.live.is_empty() {
            return Err(fail("resume", name, "no table"));
        }
        if let Some(Target::SnapshotMerge(a)) = d.live.first().map(|l| &l.target) {
            if others_active_snap(&devs_snapshot, a) {
                return Err(fail(
                    "resume",
                    name,
                    "Unable to perform snapshot handover until source is suspended.",
                ));
            }
        }
        d.suspended = false;
        Ok(())
    }
    fn remove(&mut self, name: &str) -> Result<(), KernelError> {
        self.call(format!("remove {name}"), "remove", name)?;
        let d = self.get(name)?;
        let dev = d.dev;
        if d.open_count > 0 {
            return Err(fail("remove", name, "Device or resource busy (open)"));
        }
        let used = self.devs.iter().any(|(n, o)| {
            n != name
                && o.live
                    .iter()
                    .chain(o.inactive.iter().flat_map(|(t, _)| t))
                    .flat_map(|l| l.target.devices())
                    .any(|r| *r == DevRef::Num(dev))
        });
        if used {
            return Err(fail("remove", name, "Device or resource busy (in use)"));
        }
        self.devs.remove(name);
        Ok(())
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), KernelError> {
        self.call(format!("rename {from} {to}"), "rename", from)?;
        self.get(from)?;
        if self.devs.contains_key(to) {
            return Err(fail("rename", from, "Device or resource busy"));
        }
        if let Some(d) = self.devs.remove(from) {
            self.devs.insert(to.to_string(), d);
        }
        Ok(())
    }
    fn udev_wait(&mut self) -> Result<(), KernelError> {
        let w = UdevWait {
            at: self.calls.len(),
            suspended: self.suspended(),
            covers: std::mem::take(&mut self.uncovered),
        };
        self.udev_waits.push(w);
        Ok(())
    }
}
