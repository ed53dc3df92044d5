//! Offline snapshot merge (`lvconvert --merge --offline`): rlvm copies the
//! snapshot's exceptions back into the origin itself, with the origin and
//! snapshot inactive, instead of loading `snapshot-merge` and waiting for
//! the kernel. Touches the kernel (to deactivate and reactivate the
//! origin's stack) and the PVs (reads the COW, writes the origin).
//!
//! Order: checks (the online merge's refusals, plus: no other snapshot of
//! the origin, whose COW the kernel would have to fill first; nothing open)
//! → deactivate the origin's stack if it is active → read the COW's
//! exception store (`dm::cow`; an invalid snapshot is refused here too) →
//! commit the merge flag, exactly as `lvconvert --merge` on an inactive
//! origin does → copy (`ops::copy`, whose top comment is the crash-safety
//! argument) and flush → remove the snapshot in the online merge's one
//! commit (`merge::finish_merged`) → reactivate the origin if it was
//! active. A failure before the flag's commit restores the activation and
//! changes nothing; after it, the merge is pending in the metadata and the
//! next activation completes it with the kernel's merge.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;

use crate::dm::cow::{self, CowError};
use crate::dm::names::dm_uuid;
use crate::dm::query::lv_state_in;
use crate::dm::state::SnapshotStatus;
use crate::metadata::snapshot;
use crate::metadata::store::VgHandle;

use super::activate::{self, Filter};
use super::copy::{copy_exceptions, CopyStats, EngineOptions, LvIo, LvMap, MapError};
use super::merge::{self, MergeError};
use super::{Dm, OpsError, Storage};

/// What happens, as it happens (the command draws progress from it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OfflineEvent {
    /// The merge flag is committed; the copy starts.
    Started,
    /// `done` of `total` bytes copied.
    Copied { done: u64, total: u64 },
}

/// What an offline merge did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineDone {
    pub origin: String,
    pub cow: String,
    pub stats: CopyStats,
    /// The origin was active before and is again.
    pub reactivated: bool,
    /// `-t`: checked only, nothing changed.
    pub test: bool,
}

/// Why an offline merge is refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("Unable to merge snapshot {vg}/{snap} offline: origin {vg}/{origin} has other snapshots ({others}). Merge without --offline.")]
    OtherSnapshots {
        vg: String,
        snap: String,
        origin: String,
        others: String,
    },
    #[error("Unable to merge snapshot {vg}/{snap} offline: logical volume {vg}/{lv} is open.")]
    Open {
        vg: String,
        snap: String,
        lv: String,
    },
    #[error("Unable to merge snapshot {vg}/{snap} offline: {source}")]
    Cow {
        vg: String,
        snap: String,
        source: CowError,
    },
    #[error("Unable to merge snapshot {vg}/{snap} offline: {source}")]
    Map {
        vg: String,
        snap: String,
        source: MapError,
    },
    #[error("Unable to merge snapshot {vg}/{snap} offline: cannot open {path}: {source}")]
    Device {
        vg: String,
        snap: String,
        path: String,
        source: std::io::Error,
    },
    /// After the flag's commit: the merge stays pending.
    #[error("Offline merge of {vg}/{snap} failed: {source}\n  Merging of snapshot {vg}/{snap} will occur on next activation of {vg}/{origin}.")]
    Copy {
        vg: String,
        snap: String,
        origin: String,
        source: std::io::Error,
    },
}

/// Opens a PV for direct I/O (buffered where the file system has no
/// O_DIRECT, e.g. files on tmpfs in tests).
fn open_pv(path: &str, write: bool) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(write);
    match o.clone().custom_flags(libc::O_DIRECT).open(path) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => o.open(path),
        r => r,
    }
}

/// The COW and origin of `cow` on their PVs.
fn open_lvs(h: &VgHandle, cow: &str, origin: &str) -> Result<LvIo, OfflineError> {
    let (vg, snap) = (h.vg.name.clone(), cow.to_string());
    let (Some(c), Some(o)) = (h.vg.lv(cow), h.vg.lv(origin)) else {
        return Err(OfflineError::Map {
            vg,
            snap,
            source: MapError::Unsupported {
                lv: cow.to_string(),
                what: "missing".into(),
            },
        });
    };
    let keys: std::cell::RefCell<Vec<String>> = Default::default();
    let mut index = |k: &str| {
        h.pv_paths.get(k)?;
        let mut keys = keys.borrow_mut();
        Some(keys.iter().position(|x| x == k).unwrap_or_else(|| {
            keys.push(k.to_string());
            keys.len() - 1
        }))
    };
    let map_err = |source| OfflineError::Map {
        vg: vg.clone(),
        snap: snap.clone(),
        source,
    };
    let origin_map = LvMap::new(&h.vg, o, &mut index).map_err(map_err)?;
    let origin_devs = keys.borrow().len();
    let cow_map = LvMap::new(&h.vg, c, &mut index).map_err(map_err)?;
    let keys = keys.into_inner();
    let mut files = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let path = &h.pv_paths[k];
        files.push(
            open_pv(path, i < origin_devs).map_err(|source| OfflineError::Device {
                vg: vg.clone(),
                snap: snap.clone(),
                path: path.clone(),
                source,
            })?,
        );
    }
    Ok(LvIo {
        written: (0..files.len()).map(|i| i < origin_devs).collect(),
        files,
        cow: cow_map,
        origin: origin_map,
    })
}

/// Merges snapshot `cow` into its origin offline (module doc). `dm` is
/// `None` when the kernel has no device-mapper (nothing can be active).
pub fn merge_offline(
    mut dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    cow: &str,
    opts: EngineOptions,
    test: bool,
    event: &mut dyn FnMut(OfflineEvent),
) -> Result<OfflineDone, OpsError> {
    let vg = h.vg.name.clone();
    let mut after = h.vg.clone();
    let origin = snapshot::start_merge(&mut after, cow)?;
    let others: Vec<String> =
        h.vg.snapshots_of(&origin)
            .iter()
            .filter(|s| s.cow.name != cow)
            .map(|s| s.cow.name.clone())
            .collect();
    if !others.is_empty() {
        return Err(OfflineError::OtherSnapshots {
            vg,
            snap: cow.to_string(),
            origin,
            others: others.join(", "),
        }
        .into());
    }
    let mut was_active = false;
    if let Some(dm) = dm.as_deref_mut() {
        let devs = dm.list_for(&[&h.vg], &[cow])?;
        if matches!(
            lv_state_in(dm.kernel(), &devs, &h.vg, cow).snapshot,
            Some(SnapshotStatus::Invalid | SnapshotStatus::Overflow)
        ) {
            return Err(MergeError::Invalidated {
                vg,
                lv: cow.to_string(),
            }
            .into());
        }
        for lv in [&origin, &cow.to_string()] {
            let Some(l) = h.vg.lv(lv) else { continue };
            let uuid = dm_uuid(&h.vg.id, &l.id, None);
            if let Some(d) = devs.iter().find(|d| d.uuid.as_deref() == Some(&uuid)) {
                was_active = true;
                if d.open_count > 0 {
                    return Err(OfflineError::Open {
                        vg,
                        snap: cow.to_string(),
                        lv: lv.clone(),
                    }
                    .into());
                }
            }
        }
    }
    if test {
        return Ok(OfflineDone {
            origin,
            cow: cow.to_string(),
            stats: CopyStats::default(),
            reactivated: false,
            test: true,
        });
    }
    if was_active {
        if let Some(dm) = dm.as_deref_mut() {
            activate::deactivate_lv(dm, &h.vg, &origin)?;
        }
    }
    // Until the flag's commit, a failure puts the activation back.
    let prepared = read_store(h, cow, &origin).and_then(|(io, st)| {
        let before = h.vg.clone();
        h.vg = after;
        match store.commit(h) {
            Ok(()) => Ok((io, st)),
            Err(e) => {
                h.vg = before;
                Err(e)
            }
        }
    });
    let (io, st) = match prepared {
        Ok(p) => p,
        Err(e) => {
            if was_active {
                if let Some(dm) = dm.as_deref_mut() {
                    if let Err(e2) =
                        activate::activate_lv(dm, store, h, &origin, &Filter::default(), false)
                    {
                        log::warn!("reactivating {vg}/{origin}: {e2}");
                    }
                }
            }
            return Err(e);
        }
    };
    event(OfflineEvent::Started);
    let origin_bytes = io.origin.size;
    let stats = copy_exceptions(
        &io,
        &st.exceptions,
        st.chunk_bytes().max(512),
        origin_bytes,
        opts,
        &mut |done, total| event(OfflineEvent::Copied { done, total }),
    )
    .map_err(|source| OfflineError::Copy {
        vg: vg.clone(),
        snap: cow.to_string(),
        origin: origin.clone(),
        source,
    })?;
    drop(io);
    super::failpoint::hit("offline-merge:copied")?;
    merge::finish_merged(dm.as_deref_mut(), store, h, &origin)?;
    let mut reactivated = false;
    if was_active {
        if let Some(dm) = dm {
            activate::activate_lv(dm, store, h, &origin, &Filter::default(), false)?;
            reactivated = true;
        }
    }
    Ok(OfflineDone {
        origin,
        cow: cow.to_string(),
        stats,
        reactivated,
        test: false,
    })
}

/// Opens the LVs and reads the COW's exceptions (refusing an invalid one).
fn read_store(
    h: &VgHandle,
    cow: &str,
    origin: &str,
) -> Result<(LvIo, cow::ExceptionStore), OpsError> {
    let io = open_lvs(h, cow, origin)?;
    let cow_bytes = io.cow.size;
    let st = cow::read_store(
        &mut |off, buf| io.read_cow_at(off, buf),
        cow_bytes,
        io.origin.size,
    )
    .map_err(|source| -> OpsError {
        match source {
            CowError::Invalid => MergeError::Invalidated {
                vg: h.vg.name.clone(),
                lv: cow.to_string(),
            }
            .into(),
            source => OfflineError::Cow {
                vg: h.vg.name.clone(),
                snap: cow.to_string(),
                source,
            }
            .into(),
        }
    })?;
    Ok((io, st))
}
