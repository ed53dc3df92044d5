//! The one executor of plans, and the `Kernel` trait it drives: the only
//! code path that changes device-mapper state. `DmKernel` (kernel.rs) is
//! the real kernel, `RecordingKernel` (fake.rs) a simulation for tests.
//!
//! When a step fails, everything done so far is undone in reverse:
//! devices it created are removed, tables it loaded are cleared or the
//! previous live table restored, devices it removed are re-created, and
//! everything it suspended is resumed, so nothing is left suspended or
//! half-built. A failed undo reports both errors.
//!
//! udev: a transaction waits for udev (`Kernel::udev_wait`, the one cookie
//! of all its resume, remove and rename ioctls, see `udev.rs`) once, when
//! it ends (`Transaction::finish`, or when it is dropped), and only if
//! nothing it suspended is still suspended: udev may need a suspended
//! device (the root filesystem on an origin) to complete the cookie, so a
//! wait in between could never end. After a failed undo that left a
//! device suspended it does not wait at all (the cookie is dropped with
//! the kernel handle).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeSet;

use super::nodes::Nodes;
use super::plan::Op;
use super::state::KernelDevice;
use super::target::{DevNum, DevRef, TargetLine};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error("device-mapper is not available: {0}")]
    Unavailable(String),
    #[error("device {0} not found")]
    NotFound(String),
    #[error("{op} {name} failed: {msg}")]
    Failed {
        op: &'static str,
        name: String,
        msg: String,
    },
    #[error("kernel table of {name} not understood: {msg}")]
    BadTable { name: String, msg: String },
    /// A rejected ioctl, printed as libdm prints it.
    #[error("{0}")]
    Ioctl(Box<IoctlFailure>),
}

/// A rejected ioctl, printed as libdm prints it (libdm-iface.c
/// `_dm_task_run`: "device-mapper: reload ioctl on  (253:3) failed:
/// Invalid argument"), then the kernel's own reason from its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoctlFailure {
    /// libdm's name for the task: create, reload, resume, ...
    pub ioctl: &'static str,
    /// Name and UUID as the task carried them ("" when it went by
    /// device number).
    pub name: String,
    pub uuid: String,
    pub dev: Option<DevNum>,
    /// strerror of the errno.
    pub reason: String,
    /// `device-mapper:` lines the kernel logged meanwhile.
    pub kernel: Vec<String>,
}

impl std::fmt::Display for IoctlFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_ioctl_error(
            self.ioctl,
            &self.name,
            &self.uuid,
            self.dev.as_ref(),
            &self.reason,
            &self.kernel,
        ))
    }
}

/// libdm's one-liner for a failed ioctl, and the kernel's lines after it
/// (each on its own line, indented like every message of a command).
pub fn format_ioctl_error(
    ioctl: &str,
    name: &str,
    uuid: &str,
    dev: Option<&DevNum>,
    reason: &str,
    kernel: &[String],
) -> String {
    let dev = dev.map(|d| format!("({d})")).unwrap_or_default();
    let mut out = format!("device-mapper: {ioctl} ioctl on {name} {uuid}{dev} failed: {reason}");
    for k in kernel {
        out.push_str("\n  ");
        out.push_str(k);
    }
    out
}

/// The devices of `all` that `want` picks, and those whose tables use
/// them, transitively, in `all`'s order: `Kernel::list_wanted` from a full
/// listing.
pub fn wanted_with_holders(
    all: Vec<KernelDevice>,
    want: &dyn Fn(&str, Option<&str>) -> bool,
) -> Vec<KernelDevice> {
    let mut keep: Vec<bool> = all
        .iter()
        .map(|d| want(&d.name, d.uuid.as_deref()))
        .collect();
    let mut nums: HashSet<DevNum> = all
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(d, _)| d.dev)
        .collect();
    loop {
        let mut grew = false;
        for (d, k) in all.iter().zip(keep.iter_mut()) {
            let uses = || {
                d.table
                    .iter()
                    .flat_map(|l| l.target.devices())
                    .any(|r| matches!(r, DevRef::Num(n) if nums.contains(n)))
            };
            if !*k && uses() {
                *k = true;
                nums.insert(d.dev);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    all.into_iter()
        .zip(keep)
        .filter_map(|(d, k)| k.then_some(d))
        .collect()
}

/// Device-mapper as the executor and queries see it. Tables passed to
/// `load` reference devices by number only.
pub trait Kernel {
    fn list(&self) -> Result<Vec<KernelDevice>, KernelError>;
    /// Every device's name and number, without its table: what a
    /// transaction needs to start (one DM_LIST_DEVICES on the real kernel,
    /// where `list` adds a table query per device).
    fn list_devnums(&self) -> Result<Vec<(String, DevNum)>, KernelError> {
        Ok(self.list()?.into_iter().map(|d| (d.name, d.dev)).collect())
    }
    /// Every device's name, number and UUID, without its table (one
    /// DM_LIST_DEVICES on the real kernel).
    fn list_ids(&self) -> Result<Vec<(String, DevNum, Option<String>)>, KernelError> {
        Ok(self
            .list()?
            .into_iter()
            .map(|d| (d.name, d.dev, d.uuid))
            .collect())
    }
    /// `list`, but only the devices `want` picks by name and UUID, and
    /// the devices using them (whose tables reference one of them,
    /// transitively): what a plan for a few LVs looks at, without a table
    /// query for each of a thousand unrelated devices (`plan::Interest`).
    fn list_wanted(
        &self,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        Ok(wanted_with_holders(self.list()?, want))
    }
    /// `list_wanted` from `listed`, the devices (name, number, UUID) as
    /// this process listed them a moment ago and has changed none of
    /// since; the real kernel then makes no listing of its own (one
    /// DM_LIST_DEVICES of a thousand devices: ~10 ms in the test VM).
    /// Others list afresh.
    fn list_wanted_in(
        &self,
        listed: Vec<super::ioctl::Listed>,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        let _ = listed;
        self.list_wanted(want)
    }
    /// `list`, but only the devices `want` picks, without the devices
    /// using them: what a report of one VG's LVs asks about.
    fn list_picked(
        &self,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<KernelDevice>, KernelError> {
        let mut all = self.list()?;
        all.retain(|d| want(&d.name, d.uuid.as_deref()));
        Ok(all)
    }
    /// One device, or `None` if it does not exist.
    fn info(&self, name: &str) -> Result<Option<KernelDevice>, KernelError>;
    /// INFO status of the live table: `(start, length, type, status)`.
    fn status(&self, name: &str) -> Result<Vec<(u64, u64, String, String)>, KernelError>;
    /// `status` of the device `name` only if it carries `uuid`; `None`
    /// when there is no such device or another device has that name (one
    /// ioctl on the real kernel: the status reply carries the UUID).
    fn status_if(
        &self,
        name: &str,
        uuid: &str,
    ) -> Result<Option<Vec<super::ioctl::TargetSpec>>, KernelError> {
        match self.info(name)? {
            Some(d) if d.uuid.as_deref() == Some(uuid) => self.status(name).map(Some),
            _ => Ok(None),
        }
    }
    /// Create a device without a table; with `minor`, on that fixed
    /// minor (DM_PERSISTENT_DEV), failing if it is taken.
    fn create(
        &mut self,
        name: &str,
        uuid: &str,
        read_only: bool,
        minor: Option<u32>,
    ) -> Result<DevNum, KernelError>;
    fn load(
        &mut self,
        name: &str,
        table: &[TargetLine],
        read_only: bool,
    ) -> Result<(), KernelError>;
    /// Drop the inactive table.
    fn clear(&mut self, name: &str) -> Result<(), KernelError>;
    fn suspend(&mut self, name: &str) -> Result<(), KernelError>;
    /// Resume, swapping in the inactive table if there is one.
    fn resume(&mut self, name: &str) -> Result<(), KernelError>;
    fn remove(&mut self, name: &str) -> Result<(), KernelError>;
    /// DM_DEV_RENAME: same device (number, UUID, tables), new name.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), KernelError>;

    /// Waits until udev has processed the uevents of every resume, remove
    /// and rename since the last wait (nodes and links made or removed).
    /// Blocks: call only when nothing is suspended (module doc). Without
    /// udev sync it returns at once.
    fn udev_wait(&mut self) -> Result<(), KernelError> {
        Ok(())
    }

    /// Another connection to the same device-mapper, with the same
    /// settings and its own udev cookie, for a thread of its own
    /// (`parallel.rs`). `None` (the default): this kernel cannot be shared
    /// out, and plans run on it alone, one step after the other.
    fn open_another(&self) -> Option<Box<dyn Kernel + Send>> {
        None
    }

    /// Live table of a device (empty if it has none).
    fn table(&self, name: &str) -> Result<Vec<TargetLine>, KernelError> {
        self.info(name)?
            .map(|d| d.table)
            .ok_or_else(|| KernelError::NotFound(name.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A step failed; everything done before it was undone. Prints the
    /// kernel's error only, as LVM2 does; `op` is for logs and tests.
    #[error("{cause}")]
    Step { op: String, cause: KernelError },
    /// A step failed and the undo failed too.
    #[error("{cause}\n  Failed to undo {op}: undo failed too: {}", undo.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    UndoFailed {
        op: String,
        cause: KernelError,
        undo: Vec<KernelError>,
    },
}

/// What a completed step changed, for the undo.
#[derive(Debug)]
enum Done {
    Created(String),
    Loaded {
        name: String,
        prev: Vec<TargetLine>,
        prev_ro: bool,
    },
    Suspended(String),
    Resumed,
    Removed(KernelDevice),
    Renamed {
        from: String,
        to: String,
    },
}

/// Execute `ops`, leaving node creation to udev.
pub fn execute(kernel: &mut dyn Kernel, ops: &[Op]) -> Result<(), ExecError> {
    execute_with(kernel, ops, &Nodes::disabled())
}

/// Execute `ops`; `nodes` maintains /dev/mapper and /dev/<vg> entries
/// when udev does not. Waits for udev once, at the end.
pub fn execute_with(kernel: &mut dyn Kernel, ops: &[Op], nodes: &Nodes) -> Result<(), ExecError> {
    let mut tx = Transaction::new(kernel, nodes)?;
    let r = tx.run(ops);
    tx.finish();
    r
}

/// Where a plan is cut around the metadata commit (LVM2's order: preload
/// and suspend with the new metadata precommitted, commit, then resume and
/// remove): after the last suspend; in a plan that suspends nothing, after
/// its last create or load (new devices exist, nothing is live yet).
pub fn commit_point(ops: &[Op]) -> usize {
    let last = |f: &dyn Fn(&Op) -> bool| ops.iter().rposition(f).map(|i| i + 1);
    last(&|o| matches!(o, Op::Suspend { .. }))
        .or_else(|| last(&|o| matches!(o, Op::Create { .. } | Op::Load { .. })))
        .unwrap_or(0)
}

/// A plan run in parts with one undo journal: `run` may be called several
/// times (before and after a metadata commit); when any part fails, or
/// when `rollback` is called, everything every part did is undone. udev
/// is waited for once, at `finish` or drop (module doc).
pub struct Transaction<'k> {
    kernel: &'k mut dyn Kernel,
    nodes: &'k Nodes,
    devs: HashMap<String, DevNum>,
    journal: Vec<Done>,
    /// Devices this transaction created (in `journal`): loading a table
    /// into one needs no record of its previous (empty) table, as its
    /// undo removes it.
    created: HashSet<String>,
    /// Devices this transaction suspended and has not resumed or removed.
    held: BTreeSet<String>,
    /// A resume, remove or rename ran since the last udev wait.
    unsynced: bool,
}

impl<'k> Transaction<'k> {
    pub fn new(kernel: &'k mut dyn Kernel, nodes: &'k Nodes) -> Result<Self, ExecError> {
        let devs = kernel
            .list_devnums()
            .map_err(|cause| ExecError::Step {
                op: "list devices".into(),
                cause,
            })?
            .into_iter()
            .collect();
        Ok(Self::with_devices(kernel, nodes, devs))
    }

    /// A transaction that starts from `devs` (name and number of every
    /// existing device its plan names) instead of listing the kernel.
    pub fn with_devices(
        kernel: &'k mut dyn Kernel,
        nodes: &'k Nodes,
        devs: HashMap<String, DevNum>,
    ) -> Self {
        Transaction {
            kernel,
            nodes,
            devs,
            journal: Vec::new(),
            created: HashSet::default(),
            held: BTreeSet::new(),
            unsynced: false,
        }
    }

    /// Runs `ops`; on failure undoes this part and every earlier one.
    pub fn run(&mut self, ops: &[Op]) -> Result<(), ExecError> {
        for op in ops {
            log::debug!("dm: {op}");
            self.track(op);
            if let Err(cause) = step(
                self.kernel,
                op,
                &mut self.devs,
                &mut self.journal,
                &mut self.created,
                self.nodes,
            ) {
                log::debug!("dm: {op} failed: {cause}; undoing");
                let undo = self.rollback();
                let op = op.to_string();
                return Err(if undo.is_empty() {
                    ExecError::Step { op, cause }
                } else {
                    ExecError::UndoFailed { op, cause, undo }
                });
            }
        }
        Ok(())
    }

    /// Undoes everything done so far; returns the undo's own errors.
    pub fn rollback(&mut self) -> Vec<KernelError> {
        let journal = std::mem::take(&mut self.journal);
        self.created.clear();
        // What the undo renames back: held devices may get their old names.
        let mut candidates: BTreeSet<String> = std::mem::take(&mut self.held);
        for d in &journal {
            match d {
                Done::Renamed { from, .. } => {
                    candidates.insert(from.clone());
                }
                Done::Suspended(n) => {
                    candidates.insert(n.clone());
                }
                _ => {}
            }
        }
        if !journal.is_empty() {
            // The undo resumes, removes and renames (the call may fail
            // half-way: count it as issued).
            self.unsynced = true;
        }
        let errors = undo(self.kernel, journal, &mut self.devs, self.nodes);
        // Still suspended after the undo (a resume that failed): no wait.
        self.held = candidates
            .into_iter()
            .filter(|n| matches!(self.kernel.info(n), Ok(Some(d)) if d.suspended))
            .collect();
        errors
    }

    /// Ends the transaction: waits for udev once, if anything is to wait
    /// for and nothing this transaction suspended is still suspended. A
    /// failed wait is a warning (the kernel's work is done).
    pub fn finish(mut self) {
        self.sync_udev();
    }

    /// Ends the transaction without waiting for udev, for a caller that
    /// runs several transactions on one kernel handle and waits once after
    /// all of them (`Kernel::udev_wait`). Returns whether a device this
    /// transaction suspended is still suspended (a failed undo): then
    /// nobody may wait.
    pub fn finish_unsynced(mut self) -> bool {
        self.unsynced = false;
        !self.held.is_empty()
    }

    fn sync_udev(&mut self) {
        if !self.unsynced {
            return;
        }
        if !self.held.is_empty() {
            log::debug!(
                "dm: not waiting for udev: {} still suspended",
                self.held.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            return;
        }
        self.unsynced = false;
        log::debug!("dm: waiting for udev");
        if let Err(e) = self.kernel.udev_wait() {
            log::warn!("{e}");
        }
    }

    /// Keeps `held` and `unsynced` up to date for `op` (before it runs: a
    /// failed resume or remove still counts as issued, a failed suspend
    /// as held, so that no wait can start while it might be suspended).
    fn track(&mut self, op: &Op) {
        match op {
            Op::Suspend { name } => {
                self.held.insert(name.clone());
            }
            Op::Resume { name } | Op::Remove { name } => {
                self.unsynced = true;
                self.held.remove(name);
            }
            Op::Rename { from, to } => {
                self.unsynced = true;
                if self.held.remove(from) {
                    self.held.insert(to.clone());
                }
            }
            Op::Create { .. } | Op::Load { .. } | Op::Clear { .. } => {}
        }
    }
}

impl Drop for Transaction<'_> {
    /// A transaction not `finish`ed (an early return) still waits for
    /// udev, under the same rule.
    fn drop(&mut self) {
        self.sync_udev();
    }
}

/// Replace `DevRef::Name` with the device's number.
pub fn resolve_table(
    table: &[TargetLine],
    devs: &HashMap<String, DevNum>,
) -> Result<Vec<TargetLine>, KernelError> {
    table
        .iter()
        .map(|l| {
            let target = l.target.map_devices(|d| match d {
                DevRef::Name(n) => devs
                    .get(n)
                    .map(|x| DevRef::Num(*x))
                    .ok_or_else(|| KernelError::NotFound(n.clone())),
                n => Ok(n.clone()),
            })?;
            Ok(TargetLine {
                target,
                ..l.clone()
            })
        })
        .collect()
}

fn step(
    k: &mut dyn Kernel,
    op: &Op,
    devs: &mut HashMap<String, DevNum>,
    journal: &mut Vec<Done>,
    created: &mut HashSet<String>,
    nodes: &Nodes,
) -> Result<(), KernelError> {
    match op {
        Op::Create {
            name,
            uuid,
            read_only,
            minor,
        } => {
            let dev = k.create(name, uuid, *read_only, *minor)?;
            devs.insert(name.clone(), dev);
            journal.push(Done::Created(name.clone()));
            created.insert(name.clone());
        }
        Op::Load {
            name,
            table,
            read_only,
        } => {
            let resolved = resolve_table(table, devs)?;
            // A device made by this transaction has no table to restore
            // (its undo removes it): no query for it (vgchange -ay of 1000
            // LVs: 1000 status and table ioctls).
            let (prev, prev_ro) = if created.contains(name) {
                (Vec::new(), *read_only)
            } else {
                let before = k
                    .info(name)?
                    .ok_or_else(|| KernelError::NotFound(name.clone()))?;
                (before.table, before.read_only)
            };
            k.load(name, &resolved, *read_only)?;
            journal.push(Done::Loaded {
                name: name.clone(),
                prev,
                prev_ro,
            });
        }
        Op::Suspend { name } => {
            k.suspend(name)?;
            journal.push(Done::Suspended(name.clone()));
        }
        Op::Resume { name } => {
            k.resume(name)?;
            journal.push(Done::Resumed);
            if let Some(dev) = devs.get(name) {
                nodes.add(name, *dev);
            }
        }
        Op::Remove { name } => {
            let before = k
                .info(name)?
                .ok_or_else(|| KernelError::NotFound(name.clone()))?;
            k.remove(name)?;
            devs.remove(name);
            nodes.remove(name);
            journal.push(Done::Removed(before));
        }
        Op::Clear { name } => {
            // What was cleared is a leftover nobody wants back: no undo.
            if k.info(name)?.is_some_and(|d| d.inactive_table) {
                k.clear(name)?;
            }
        }
        Op::Rename { from, to } => {
            k.rename(from, to)?;
            let dev = devs.remove(from);
            if let Some(dev) = dev {
                devs.insert(to.clone(), dev);
            }
            nodes.rename(from, to, dev);
            journal.push(Done::Renamed {
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
    Ok(())
}

/// Undo `journal` in reverse. Returns the undo's own errors.
fn undo(
    k: &mut dyn Kernel,
    journal: Vec<Done>,
    devs: &mut HashMap<String, DevNum>,
    nodes: &Nodes,
) -> Vec<KernelError> {
    let mut errors = Vec::new();
    let created: HashSet<String> = journal
        .iter()
        .filter_map(|d| match d {
            Done::Created(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    // Old device numbers of re-created devices, for restored tables.
    let mut renumber: HashMap<DevNum, DevNum> = HashMap::default();
    let mut suspended: Vec<String> = Vec::new();
    let remap = |t: &[TargetLine], renumber: &HashMap<DevNum, DevNum>| -> Vec<TargetLine> {
        t.iter()
            .map(|l| TargetLine {
                target: l
                    .target
                    .map_devices::<()>(|d| {
                        Ok(match d {
                            DevRef::Num(n) => DevRef::Num(*renumber.get(n).unwrap_or(n)),
                            other => other.clone(),
                        })
                    })
                    .unwrap_or_else(|_| l.target.clone()),
                ..l.clone()
            })
            .collect()
    };
    for done in journal.into_iter().rev() {
        let r: Result<(), KernelError> = (|| match done {
            Done::Created(name) => {
                if k.info(&name)?.is_some() {
                    k.remove(&name)?;
                }
                devs.remove(&name);
                nodes.remove(&name);
                Ok(())
            }
            Done::Loaded { name, .. } if created.contains(&name) => Ok(()),
            Done::Loaded {
                name,
                prev,
                prev_ro,
            } => {
                let Some(now) = k.info(&name)? else {
                    return Ok(());
                };
                if now.inactive_table {
                    k.clear(&name)?;
                }
                let prev = remap(&prev, &renumber);
                if now.table != prev || now.read_only != prev_ro {
                    // The new table went live: put the old one back now,
                    // before the devices it used are removed below.
                    k.load(&name, &prev, prev_ro)?;
                    k.resume(&name)?;
                }
                Ok(())
            }
            Done::Suspended(name) => {
                if !created.contains(&name) {
                    suspended.push(name);
                }
                Ok(())
            }
            Done::Resumed => Ok(()),
            Done::Renamed { from, to } => {
                // Rename back; a device renamed after being suspended is
                // resumed below under its old name.
                k.rename(&to, &from)?;
                let dev = devs.remove(&to);
                if let Some(dev) = dev {
                    devs.insert(from.clone(), dev);
                }
                nodes.rename(&to, &from, dev);
                for s in suspended.iter_mut() {
                    if *s == to {
                        *s = from.clone();
                    }
                }
                Ok(())
            }
            Done::Removed(saved) => {
                let uuid = saved.uuid.clone().unwrap_or_default();
                // Back on its old number, so that a fixed minor stays.
                let dev = k.create(&saved.name, &uuid, saved.read_only, Some(saved.dev.minor))?;
                renumber.insert(saved.dev, dev);
                devs.insert(saved.name.clone(), dev);
                if !saved.table.is_empty() {
                    k.load(
                        &saved.name,
                        &remap(&saved.table, &renumber),
                        saved.read_only,
                    )?;
                    if saved.suspended {
                        return Ok(());
                    }
                    k.resume(&saved.name)?;
                    nodes.add(&saved.name, dev);
                }
                Ok(())
            }
        })();
        if let Err(e) = r {
            errors.push(e);
        }
    }
    // Suspends happened top-down; resume bottom-up.
    for name in suspended {
        let r = match k.info(&name) {
            Ok(Some(d)) if d.suspended => k.resume(&name),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            errors.push(e);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_errors_read_like_libdm() {
        let e = KernelError::Ioctl(Box::new(IoctlFailure {
            ioctl: "reload",
            name: String::new(),
            uuid: String::new(),
            dev: Some(DevNum::new(253, 3)),
            reason: "Invalid argument".into(),
            kernel: vec!["device-mapper: table: 253:3: linear: Device lookup failed".into()],
        }));
        assert_eq!(
            e.to_string(),
            "device-mapper: reload ioctl on  (253:3) failed: Invalid argument\n  \
             device-mapper: table: 253:3: linear: Device lookup failed"
        );
        let e = KernelError::Ioctl(Box::new(IoctlFailure {
            ioctl: "rename",
            name: "vg-a".into(),
            uuid: String::new(),
            dev: None,
            reason: "Device or resource busy".into(),
            kernel: vec![],
        }));
        assert_eq!(
            e.to_string(),
            "device-mapper: rename ioctl on vg-a  failed: Device or resource busy"
        );
        // The executor prints the kernel's error alone.
        let s = ExecError::Step {
            op: "load x".into(),
            cause: e,
        };
        assert!(s.to_string().starts_with("device-mapper: rename ioctl"));
    }
}
