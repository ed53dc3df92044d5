//! The LVM operations, one function each (activate, deactivate, refresh,
//! create, remove, rename, change permission, merge start / check /
//! finish), below the commands and above the kernel and metadata layers.
//! No clap types and no printing here: each operation returns what
//! happened (which origins now merge, why a merge was deferred...) and the
//! command decides what to print and whether to poll. Touches the kernel
//! only through `dm::exec::Kernel` (in `Dm`) and disks only through
//! `MetadataStore`, so every operation runs against the recording kernel
//! and in-memory devices in tests.
//!
//! Every operation that changes both metadata and the kernel uses one
//! transaction order, LVM2's (`lv_update_and_reload`, `_lv_suspend`,
//! `vg_commit`, `resume_lv`), in `update`:
//!
//! 1. write the new metadata to the precommit slot;
//! 2. preload the new tables and suspend what changes;
//! 3. commit (switch the committed slot);
//! 4. resume, remove what left the stack.
//!
//! A failure in 2 undoes the kernel steps and commits nothing; a failure in
//! 4 undoes the kernel steps and commits the old metadata again. A crash
//! before 3 leaves the old metadata (the kernel's state does not survive a
//! reboot); a crash after 3 leaves the new metadata, which the next
//! activation builds from.

pub mod activate;
pub mod copy;
pub mod dm;
pub mod failpoint;
pub mod lv;
pub mod merge;
pub mod offline;
pub mod resize;
pub mod vgrename;

use crate::dm::error::PlanError;
use crate::dm::exec::{commit_point, ExecError, KernelError, Transaction};
use crate::dm::plan::Op;
use crate::dm::state::KernelDevice;
use crate::dm::target::DevNum;
use crate::dm::tree::PvDevices;
use crate::metadata::device::{BlockDev, FileDev};
use crate::metadata::model::Vg;
use crate::metadata::snapshot::SnapshotError;
use crate::metadata::store::{StoreError, VgHandle};

pub use dm::Dm;

/// Why an operation failed. Messages are LVM2's where it has them.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    #[error(transparent)]
    Offline(#[from] offline::OfflineError),
    /// The kernel part failed after the new metadata was committed; the
    /// kernel was undone and the old metadata committed again.
    #[error("{cause}\n  {what}")]
    Reverted { cause: Box<OpsError>, what: String },
    /// The archive of the metadata before a change (backup/archive = 1)
    /// could not be written: LVM2 then refuses the change, nothing done.
    #[error(transparent)]
    Archive(#[from] crate::system::backup::BackupError),
    /// A test failpoint fired (`failpoints` feature only).
    #[error("failpoint {0}")]
    Failpoint(String),
    /// LVM2's words for a failed zeroing or wiping (`_lv_wipe`), the
    /// system's reason after them.
    #[error("Failed to initialize logical volume {vg}/{lv} at position 0: {source}")]
    Wipe {
        vg: String,
        lv: String,
        source: std::io::Error,
    },
    #[error("Failed to repair device nodes of volume group {vg}: {source}")]
    Nodes { vg: String, source: std::io::Error },
    #[error("PV {pv} of {lv} is missing.")]
    MissingPv { pv: String, lv: String },
}

/// The disks as operations see them: how metadata is committed (the
/// command's store: archives, backups and test mode as lvm.conf and the
/// command line say), which device number each PV has, and how an LV's
/// blocks are opened for zeroing. In-memory in tests.
pub trait Storage {
    /// Commits `h.vg` around `between` (see `VgHandle::commit_around`):
    /// `between` runs after the precommit and before the commit; if it
    /// fails nothing is committed and its error is returned.
    fn commit_around(
        &self,
        h: &mut VgHandle,
        between: &mut dyn FnMut() -> Result<(), OpsError>,
    ) -> Result<(), OpsError>;

    /// A plain commit.
    fn commit(&self, h: &mut VgHandle) -> Result<(), OpsError> {
        self.commit_around(h, &mut || Ok(()))?;
        self.finished(h);
        Ok(())
    }

    /// Called once the kernel side of a commit is over and nothing is
    /// suspended any more: the time for writes to other filesystems (the
    /// metadata backup), which could hang on a suspended root.
    fn finished(&self, _h: &VgHandle) {}

    /// Device numbers of the VG's PVs.
    fn pv_devices(&self, h: &VgHandle) -> PvDevices {
        pv_devices(h)
    }

    /// Opens a PV's device to write an LV's first blocks.
    fn open(&self, path: &str) -> std::io::Result<Box<dyn BlockDev>> {
        Ok(Box::new(FileDev::open(path, true)?))
    }
}

/// Device numbers of the VG's PVs, from the paths the scan found.
pub fn pv_devices(h: &VgHandle) -> PvDevices {
    let mut out = PvDevices::default();
    for (key, path) in &h.pv_paths {
        if let Ok(st) = nix::sys::stat::stat(path.as_str()) {
            let rdev = st.st_rdev;
            out.insert(
                key.clone(),
                DevNum {
                    major: nix::sys::stat::major(rdev) as u32,
                    minor: nix::sys::stat::minor(rdev) as u32,
                },
            );
        }
    }
    out
}

/// Commits `h.vg`, in which `lv` changed, and reloads `lv`'s family when it
/// is active, in the one transaction order; without device-mapper
/// (activation off) only the metadata is committed. `name` as in `update`.
pub fn reload_lv(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
    lv: &str,
    name: &str,
) -> Result<(), OpsError> {
    let Some(dm) = dm else {
        return store.commit(h);
    };
    let kernel = dm.list_for(&[before, &h.vg], &[lv])?;
    let ops = crate::dm::plan::plan_update(before, &h.vg, lv, &store.pv_devices(h), &kernel)?;
    update(dm, store, h, before, &ops, &kernel, name)
}

/// The one transaction order (module doc): `h.vg` is the new metadata,
/// `before` the committed one, `ops` the plan from `before`'s kernel state
/// to `h.vg`'s, made from `listed` (the devices the plan looked at, listed
/// under the VG's lock by this command, which changed nothing since): the
/// transaction starts from their names and numbers instead of listing
/// every device again (three DM_LIST_DEVICES of a thousand devices). A
/// device the plan names is one it found there or one it creates. `name`
/// says which operation runs, for failpoints.
pub fn update(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
    ops: &[Op],
    listed: &[KernelDevice],
    name: &str,
) -> Result<(), OpsError> {
    if dm.test_mode() {
        return Ok(());
    }
    let cut = commit_point(ops);
    crate::metadata::phase::mark("plan");
    let (head, tail) = ops.split_at(cut);
    dm.with_signals_held(|kernel, nodes| {
        let devs = listed.iter().map(|d| (d.name.clone(), d.dev)).collect();
        let mut tx = Transaction::with_devices(kernel, nodes, devs);
        let committed = store.commit_around(h, &mut || {
            failpoint::hit(&format!("{name}:precommitted"))?;
            tx.run(head)?;
            failpoint::hit(&format!("{name}:suspended"))?;
            Ok(())
        });
        if let Err(e) = committed {
            // The kernel part failed (and undid itself), or the commit did:
            // undo what ran, so nothing stays suspended.
            for u in tx.rollback() {
                log::warn!("undo after failed commit: {u}");
            }
            return Err(e);
        }
        failpoint::hit(&format!("{name}:committed"))?;
        if let Err(e) = tx.run(tail) {
            let mut revert = before.clone();
            revert.seqno = h.vg.seqno;
            h.vg = revert.into();
            let what = match store.commit(h) {
                Ok(()) => "Metadata reverted.".to_string(),
                Err(e2) => format!("Failed to revert metadata: {e2}"),
            };
            return Err(OpsError::Reverted {
                cause: Box::new(e.into()),
                what,
            });
        }
        failpoint::hit(&format!("{name}:resumed"))?;
        crate::metadata::phase::mark("commit-synced-tail-ops");
        Ok(())
    })?;
    store.finished(h);
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod offline_tests;
