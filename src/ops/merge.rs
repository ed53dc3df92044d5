//! Snapshot merge: start (now, deferred, or at the next activation),
//! check (one look at the kernel, for the poller), finish (one commit).
//!
//! Start (LVM2's `_lvconvert_merge_old_snapshot`): mark the merge in
//! metadata (`metadata::snapshot::start_merge`); if the origin is active
//! and neither it nor the snapshot is open, hand the COW over in the
//! transaction order: preload `snapshot-merge` on the origin and `error`
//! on the snapshot, suspend, commit, resume (`-real`, `-cow` and other
//! snapshots first, then the origin, then the snapshot: the kernel's
//! handover needs its source suspended when the merge target resumes).
//! Otherwise only the metadata changes, and the next activation or
//! refresh with nothing open starts the merge (`dm::tree::merge_may_run`).
//!
//! Finish: when the kernel reports no exceptions left, the snapshot's link
//! and COW LV leave the metadata in ONE commit, made between the preload
//! and suspend of the origin's new table (plain, or `snapshot-origin` when
//! other snapshots remain) and its resume; then the `-cow`, `-real` and
//! snapshot devices go. Crash at any instant: before the commit, metadata
//! still says merging and the next activation reloads `snapshot-merge`,
//! which finds no exception left, so the next poll finishes at once; after
//! it, metadata has a plain origin whose blocks already hold every merged
//! chunk (the kernel flushes the origin before it commits a merged chunk
//! to the COW: dm-snap-persistent.c `persistent_commit_merge` writes with
//! REQ_PREFLUSH | REQ_FUA), and the next activation builds a linear origin.

use crate::dm::plan;
use crate::dm::query::lv_state_in;
use crate::dm::state::{KernelDevice, SnapshotStatus};
use crate::dm::target::Target;
use crate::metadata::model::Vg;
use crate::metadata::snapshot;
use crate::metadata::store::VgHandle;

use super::{update, Dm, OpsError, Storage};

/// Refusals and poll outcomes of a merge, in LVM2's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("Unable to merge invalidated snapshot LV {vg}/{lv}.")]
    Invalidated { vg: String, lv: String },
    #[error("Operation not permitted on hidden LV {vg}/{lv}.")]
    HiddenLv { vg: String, lv: String },
    #[error("Can't remove merging snapshot logical volume {vg}/{lv}.")]
    RemoveMerging { vg: String, lv: String },
    /// polldaemon.c: the LV went away while polling.
    #[error("Can't find LV in {vg} for {lv}.")]
    LvGone { vg: String, lv: String },
    #[error("{vg}/{lv}: Interrupted: No longer active.")]
    NotActive { vg: String, lv: String },
    /// lvconvert_poll.c `poll_merge_progress`.
    #[error("{vg}/{lv}: Failed query for merging percentage. Aborting merge.")]
    QueryFailed { vg: String, lv: String },
    #[error("{vg}/{lv}: Merging snapshot invalidated. Aborting merge.")]
    Invalid { vg: String, lv: String },
    #[error("{vg}/{lv}: Merge failed. Retry merge or inspect manually.")]
    Failed { vg: String, lv: String },
    #[error("Merge of snapshot into logical volume {vg}/{lv} has not finished.")]
    NotFinished { vg: String, lv: String },
}

/// Why a merge did not start in the kernel now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deferral {
    /// `--onactivate`: scheduled for the next activation.
    OnActivate,
    /// "Delaying merge since origin is open."
    OriginOpen,
    /// "Delaying merge since snapshot is open."
    SnapshotOpen,
    /// The origin is not active: "Conversion starts after activation."
    NotActive,
    /// The tables were reloaded but the origin does not carry
    /// `snapshot-merge` (something opened it meanwhile).
    Race,
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeStart {
    /// The kernel merges now; poll `origin`.
    Started { origin: String },
    /// Marked in metadata; the merge starts on the origin's next
    /// activation or refresh with nothing open.
    Deferred { origin: String, why: Deferral },
}

/// Where a merge stands, from one look at metadata and the kernel.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeState {
    /// The origin has no merging snapshot (any more): nothing to do.
    NotMerging,
    /// The kernel is merging; `merged` counts up to 100.
    Merging { merged: f64 },
    /// No exception left: ready for `finish`.
    Done,
}

fn device_by_uuid<'a>(vg: &Vg, lv: &str, devs: &'a [KernelDevice]) -> Option<&'a KernelDevice> {
    let l = vg.lv(lv)?;
    let u = crate::dm::names::dm_uuid(&vg.id, &l.id, None);
    devs.iter().find(|d| d.uuid.as_deref() == Some(u.as_str()))
}

fn carries_merge(d: &KernelDevice) -> bool {
    matches!(
        d.table.first().map(|t| &t.target),
        Some(Target::SnapshotMerge(_))
    )
}

/// Starts merging snapshot `cow` into its origin (or schedules it: module
/// doc). `on_activate` only schedules, whatever is open. `dm` is `None`
/// when the kernel has no device-mapper (then only metadata changes).
pub fn start(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    cow: &str,
    on_activate: bool,
) -> Result<MergeStart, OpsError> {
    let before = h.vg.clone();
    let mut after = h.vg.clone();
    let origin = snapshot::start_merge(&mut after, cow)?;
    let devs = match &dm {
        Some(dm) => dm.list_for(&[&before, &after], &[cow])?,
        None => vec![],
    };
    // An active snapshot that the kernel has invalidated cannot merge.
    if let Some(dm) = &dm {
        let st = lv_state_in(dm.kernel(), &devs, &before, cow);
        if matches!(
            st.snapshot,
            Some(SnapshotStatus::Invalid | SnapshotStatus::Overflow)
        ) {
            return Err(MergeError::Invalidated {
                vg: before.name.clone(),
                lv: cow.to_string(),
            }
            .into());
        }
    }
    let origin_dev = device_by_uuid(&before, &origin, &devs).filter(|d| !d.table.is_empty());
    let snap_open = device_by_uuid(&before, cow, &devs).is_some_and(|d| d.open_count > 0);
    let why = match (&dm, origin_dev) {
        _ if on_activate => Some(Deferral::OnActivate),
        (None, _) | (_, None) => Some(Deferral::NotActive),
        (Some(_), Some(o)) if o.open_count > 0 => Some(Deferral::OriginOpen),
        _ if snap_open => Some(Deferral::SnapshotOpen),
        _ => None,
    };
    h.vg = after;
    let (Some(dm), None) = (dm, why) else {
        store.commit(h)?;
        return Ok(MergeStart::Deferred {
            origin,
            why: why.unwrap_or(Deferral::NotActive),
        });
    };
    let ops = plan::plan_update(&before, &h.vg, &origin, &store.pv_devices(h), &devs)?;
    update(dm, store, h, &before, &ops, &devs, "merge-start")?;
    if dm.test_mode() {
        return Ok(MergeStart::Started { origin });
    }
    // LVM2 checks the same: a reload that raced with an open of the origin
    // leaves `snapshot-origin`, and the merge waits for the next activation.
    let now = dm.list_for(&[&h.vg], &[&origin])?;
    let merging = device_by_uuid(&h.vg, &origin, &now).is_some_and(carries_merge);
    Ok(if merging {
        MergeStart::Started { origin }
    } else {
        MergeStart::Deferred {
            origin,
            why: Deferral::Race,
        }
    })
}

/// One look at the merge into `origin` (LVM2's `poll_merge_progress`).
pub fn check(dm: &Dm, vg: &Vg, origin: &str) -> Result<MergeState, MergeError> {
    let gone = || MergeError::LvGone {
        vg: vg.name.clone(),
        lv: origin.to_string(),
    };
    if vg.lv(origin).is_none() {
        return Err(gone());
    }
    if vg.merging_snapshot_of(origin).is_none() {
        return Ok(MergeState::NotMerging);
    }
    let ids = |e: fn(String, String) -> MergeError| e(vg.name.clone(), origin.to_string());
    let devs = dm
        .list_for(&[vg], &[origin])
        .map_err(|_| ids(|vg, lv| MergeError::QueryFailed { vg, lv }))?;
    let Some(dev) = device_by_uuid(vg, origin, &devs).filter(|d| !d.table.is_empty()) else {
        return Err(ids(|vg, lv| MergeError::NotActive { vg, lv }));
    };
    if !carries_merge(dev) {
        return Err(ids(|vg, lv| MergeError::QueryFailed { vg, lv }));
    }
    let st = lv_state_in(dm.kernel(), &devs, vg, origin);
    match st.snapshot {
        Some(SnapshotStatus::Invalid | SnapshotStatus::Overflow) => {
            Err(ids(|vg, lv| MergeError::Invalid { vg, lv }))
        }
        Some(SnapshotStatus::MergeFailed) => Err(ids(|vg, lv| MergeError::Failed { vg, lv })),
        s => s
            .as_ref()
            .and_then(progress)
            .ok_or_else(|| ids(|vg, lv| MergeError::QueryFailed { vg, lv })),
    }
}

/// Where a `snapshot-merge` target's status says the merge stands: done
/// when no exception is left, else merging with the merged percentage as
/// LVM2 computes it; `None` for any other status (invalid, failed, no
/// usable figures). One reading for `check` and `glance`.
fn progress(s: &SnapshotStatus) -> Option<MergeState> {
    match *s {
        s if s.merge_finished() => Some(MergeState::Done),
        SnapshotStatus::Usage {
            allocated, total, ..
        } if total > 0 => Some(MergeState::Merging {
            merged: 100.0 - 100.0 * allocated as f64 / total as f64,
        }),
        _ => None,
    }
}

/// The origin device of a merge a full look (`check`) found running, for
/// the poller's glances between full looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeDevice {
    name: String,
    uuid: String,
}

impl MergeDevice {
    /// `origin`'s top device in `vg` (its dm name and UUID).
    pub fn of(vg: &Vg, origin: &str) -> Option<MergeDevice> {
        let l = vg.lv(origin)?;
        Some(MergeDevice {
            name: crate::dm::names::dm_name(&vg.name, origin, None),
            uuid: crate::dm::names::dm_uuid(&vg.id, &l.id, None),
        })
    }
}

/// A glance at the kernel only (one status ioctl, no lock, no metadata):
/// the merged percentage, as `check` computes it, while `dev` still
/// carries one `snapshot-merge` target that reports exceptions left.
/// Anything else (device gone or renamed, another table, invalid, merge
/// failed, finished, a failed query) is `None`, and the caller takes a
/// full look, which decides: a glance never finishes, fails or ends a
/// poll, it only reports progress.
pub fn glance(dm: &Dm, dev: &MergeDevice) -> Option<f64> {
    let st = dm.kernel().status_if(&dev.name, &dev.uuid).ok()??;
    let [(_, _, ty, line)] = st.as_slice() else {
        return None;
    };
    if ty != "snapshot-merge" {
        return None;
    }
    match progress(&line.parse().ok()?)? {
        MergeState::Merging { merged } => Some(merged),
        _ => None,
    }
}

/// What `finish` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The snapshot `cow` is gone; the origin is plain (or keeps its
    /// other snapshots).
    Merged { cow: String },
    /// Nothing merged into the origin any more (another poller finished).
    NotMerging,
}

/// Ends a merge that the kernel has completed (module doc): one commit.
/// Refuses while exceptions remain.
pub fn finish(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &mut VgHandle,
    origin: &str,
) -> Result<Finished, OpsError> {
    match check(dm, &h.vg, origin)? {
        MergeState::NotMerging => return Ok(Finished::NotMerging),
        MergeState::Merging { .. } => {
            return Err(MergeError::NotFinished {
                vg: h.vg.name.clone(),
                lv: origin.to_string(),
            }
            .into())
        }
        MergeState::Done => {}
    }
    finish_merged(Some(dm), store, h, origin)
}

/// The end of every merge, online or offline (`ops::offline`), once the
/// origin holds every merged chunk durably: the snapshot leaves the
/// metadata in one commit, through the transaction order when the kernel
/// has the origin's stack (`dm` is `None` without device-mapper).
pub fn finish_merged(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    origin: &str,
) -> Result<Finished, OpsError> {
    let Some(cow) = h.vg.merging_snapshot_of(origin).map(|s| s.cow.name.clone()) else {
        return Ok(Finished::NotMerging);
    };
    let before = h.vg.clone();
    snapshot::remove_snapshot(&mut h.vg, &cow)?;
    match dm {
        Some(dm) => {
            let kernel = dm.list_for(&[&before, &h.vg], &[origin])?;
            let ops = plan::plan_update(&before, &h.vg, origin, &store.pv_devices(h), &kernel)?;
            update(dm, store, h, &before, &ops, &kernel, "merge-finish")?;
        }
        None => store.commit(h)?,
    }
    Ok(Finished::Merged { cow })
}

/// lvremove of a merging snapshot: refused unless the kernel has
/// invalidated it (LVM2 2.02.89 lets an invalid one go).
pub fn check_removable(dm: Option<&Dm>, vg: &Vg, cow: &str) -> Result<(), MergeError> {
    if !snapshot::is_merging_cow(vg, cow) {
        return Ok(());
    }
    if let Some(dm) = dm {
        if let Ok(devs) = dm.list_for(&[vg], &[cow]) {
            let st = lv_state_in(dm.kernel(), &devs, vg, cow);
            if matches!(
                st.snapshot,
                Some(SnapshotStatus::Invalid | SnapshotStatus::Overflow)
            ) {
                return Ok(());
            }
        }
    }
    Err(MergeError::RemoveMerging {
        vg: vg.name.clone(),
        lv: cow.to_string(),
    })
}
