//! Which VGs a VG command's arguments name (LVM2's `process_each_vg` in
//! tools/toollib.c): VG names and `@tag`s, each VG once, in name order.
//! Reads the scan only; VGs by key (name and UUID) for VGs that share a
//! name.

use crate::metadata::id::Id;
use crate::metadata::store::{Access, FileOpener, Scan, StoreError, VgHandle};
use crate::report::{ReportType, Selection};
use crate::system::lock::LockGuard;

use crate::cmd::common::{failed, vg_name_arg, vg_read_failed, CmdError, Ctx};

/// The VGs to work on, and the names that matched no VG (each already
/// reported, LVM2's two lines: the command then fails, after doing the
/// rest). A tag that no VG carries is no error. With no argument at all,
/// every VG the command may use (exported and foreign ones skipped as
/// `Ctx::unnamed_vgs` does).
pub fn select_vgs(
    ctx: &Ctx,
    scan: &Scan,
    args: &[String],
    access: Access,
) -> Result<(Vec<String>, bool), CmdError> {
    if args.is_empty() {
        return Ok((ctx.unnamed_vgs(scan, access), false));
    }
    let mut names = Vec::new();
    let mut tags = Vec::new();
    for a in args {
        match a.strip_prefix('@') {
            Some(t) => tags.push(t.to_string()),
            None => {
                let n = vg_name_arg(a)?;
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    let all = scan.vg_names();
    let mut missing = false;
    for n in &names {
        if !all.contains(n) {
            ctx.error(format!(
                "Volume group \"{n}\" not found\n  Cannot process volume group {n}"
            ));
            missing = true;
        }
    }
    let mut out = Vec::new();
    for vg in all {
        let chosen = names.contains(&vg)
            || (!tags.is_empty()
                && match scan.vg_with(&vg, access) {
                    Ok(h) => h.vg.tags.iter().any(|t| tags.contains(t)),
                    // A tag selects only VGs the command may use.
                    Err(StoreError::VgForeign { .. }) | Err(StoreError::VgExported(_)) => false,
                    Err(_) => false,
                });
        if chosen && !out.contains(&vg) {
            out.push(vg);
        }
    }
    Ok((out, missing))
}

/// One VG, by name and UUID: several VGs may carry one name (made while
/// each other's PVs were absent, or foreign ones), and LVM2 walks VGs by
/// UUID (`process_each_vg` with its `vgnameids`).
pub type VgKey = (String, Id);

/// Every VG a command that names none may use, by key: each of several
/// VGs with one name is there. Exported VGs are skipped silently, foreign
/// ones as `Ctx::foreign_skipped` says, unless `access` allows them.
pub fn unnamed_vg_keys(ctx: &Ctx, scan: &Scan, access: Access) -> Vec<VgKey> {
    usable_vg_keys(ctx, scan, access, false)
}

/// [`unnamed_vg_keys`] for reports: a foreign VG with LVs active here is
/// listed too (see [`active_foreign`]).
pub fn reported_vg_keys(ctx: &Ctx, scan: &Scan, access: Access) -> Vec<VgKey> {
    usable_vg_keys(ctx, scan, access, true)
}

/// The foreign VGs with LVs active here, for a deactivation that names
/// no VG (`vgchange -an`).
pub fn active_foreign_keys(ctx: &Ctx, scan: &Scan) -> Vec<VgKey> {
    scan.vg_ids()
        .into_iter()
        .filter(|(name, id)| {
            matches!(
                scan.vg_by_key(name, id, Access::default()),
                Err(StoreError::VgForeign { .. })
            ) && active_foreign(ctx, scan, &(name.clone(), *id), Access::default()).is_some()
        })
        .collect()
}

/// A foreign VG that has LVs active on this host: LVM2 still shows it in
/// reports and lets its LVs be deactivated, nothing else
/// (`_access_vg_systemid`, `include_active_foreign_vgs`).
pub fn active_foreign(ctx: &Ctx, scan: &Scan, key: &VgKey, access: Access) -> Option<VgHandle> {
    let h = scan
        .vg_by_key(
            &key.0,
            &key.1,
            Access {
                foreign: true,
                ..access
            },
        )
        .ok()?;
    let dm = ctx.dm()?;
    crate::ops::activate::any_lv_active(&dm, &h.vg).then_some(h)
}

/// VG `name` for an activation change: a deactivation (`on` false) may
/// read a foreign VG whose LVs are active here, with LVM2's warning.
/// Anything written is read again by the write (which refuses it).
pub fn vg_to_activate(
    ctx: &Ctx,
    scan: &Scan,
    name: &str,
    on: bool,
) -> Result<VgHandle, StoreError> {
    let (h, foreign) = read_to_activate(ctx, scan, name, None, on)?;
    if foreign {
        warn_active_foreign(ctx, &h);
    }
    Ok(h)
}

/// [`vg_to_activate`] by name, or by key when `id` is given (several VGs
/// may share a name), without the warning: `true` with a foreign VG read
/// for its active LVs, which the caller warns of once it keeps the read.
pub fn read_to_activate(
    ctx: &Ctx,
    scan: &Scan,
    name: &str,
    id: Option<&Id>,
    on: bool,
) -> Result<(VgHandle, bool), StoreError> {
    let read = match id {
        Some(id) => scan.vg_by_key(name, id, Access::default()),
        None => scan.vg(name),
    };
    if let (Err(StoreError::VgForeign { .. }), false) = (&read, on) {
        let id = match id {
            Some(id) => Some(*id),
            None => scan.resolve_vg_name(name).ok(),
        };
        let key = id.map(|id| (name.to_string(), id));
        if let Some(h) = key.and_then(|k| active_foreign(ctx, scan, &k, Access::default())) {
            return Ok((h, true));
        }
    }
    read.map(|h| (h, false))
}

/// LVM2's warning when it uses a foreign VG for its active LVs.
pub fn warn_active_foreign(ctx: &Ctx, h: &VgHandle) {
    ctx.warn(format!(
        "Found LVs active in VG {} with foreign system ID {}.  Possible data corruption.",
        h.vg.name,
        h.vg.system_id.as_deref().unwrap_or("")
    ));
}

fn usable_vg_keys(ctx: &Ctx, scan: &Scan, access: Access, active: bool) -> Vec<VgKey> {
    let mut out = Vec::new();
    for (name, id) in scan.vg_ids() {
        match scan.vg_by_key(&name, &id, access) {
            Err(StoreError::VgForeign { .. })
                if active && active_foreign(ctx, scan, &(name.clone(), id), access).is_some() =>
            {
                out.push((name, id))
            }
            Err(e @ StoreError::VgForeign { .. }) => ctx.foreign_skipped(e),
            Err(StoreError::VgExported(_)) => {}
            _ => out.push((name, id)),
        }
    }
    out
}

/// [`select_vgs`] by key, with `-S|--select` (LVM2's `process_each_vg`):
/// a named VG is the one its name means (`Scan::resolve_vg_name`: a name
/// several VGs carry fails with LVM2's "Multiple VGs found" unless only
/// one of them is this host's); with a selection, the VGs named (all of
/// them when none is) that it selects. Whether a VG may be used is left
/// to the command's read of it.
pub fn select_vg_keys(
    ctx: &Ctx,
    scan: &Scan,
    args: &[String],
    access: Access,
    selection: Option<&str>,
) -> Result<(Vec<VgKey>, bool), CmdError> {
    let (mut keys, mut failed_any) = if args.is_empty() {
        (unnamed_vg_keys(ctx, scan, access), false)
    } else {
        let (names, mut missing) = select_vgs(ctx, scan, args, access)?;
        let mut keys = Vec::new();
        for n in names {
            match scan.resolve_vg_name(&n) {
                Ok(id) => keys.push((n, id)),
                Err(e) => {
                    ctx.error(read_error(e));
                    missing = true;
                }
            }
        }
        (keys, missing)
    };
    if let Some(text) = selection {
        let sel = Selection::parse(text, ReportType::Vgs).map_err(failed)?;
        let mut kept = Vec::new();
        for (name, id) in keys {
            match scan.vg_by_key(&name, &id, access) {
                Ok(h) => {
                    if crate::cmd::selecting::vg_selected(ctx, scan, &h, &sel) {
                        kept.push((name, id));
                    }
                }
                Err(e @ StoreError::VgForeign { .. }) => ctx.foreign_skipped(e),
                Err(StoreError::VgExported(_)) => {}
                Err(e) => {
                    ctx.error(read_error(e));
                    failed_any = true;
                }
            }
        }
        keys = kept;
    }
    Ok((keys, failed_any))
}

/// `Ctx::read_vg_locked` for one VG of several with a name; a foreign VG
/// with LVs active here is read (LVM2 reports it, with a warning).
pub fn read_vg_key_locked(
    ctx: &Ctx,
    scan: &mut Scan,
    key: &VgKey,
    access: Access,
) -> Result<Result<VgHandle, StoreError>, CmdError> {
    let _guard = ctx.lock_vg(&key.0, false)?;
    scan.rescan_vg(&FileOpener, &key.0);
    let read = scan.vg_by_key(&key.0, &key.1, access);
    if let Err(StoreError::VgForeign { .. }) = &read {
        if let Some(h) = active_foreign(ctx, scan, key, access) {
            warn_active_foreign(ctx, &h);
            return Ok(Ok(h));
        }
    }
    Ok(read)
}

/// `Ctx::load_vg_handling_missing` for one VG of several with a name
/// (`vgremove -S vg_uuid=..`): the same checks before any change.
pub fn load_vg_key_handling_missing(
    ctx: &Ctx,
    key: &VgKey,
) -> Result<(VgHandle, LockGuard), CmdError> {
    let guard = ctx.lock_vg(&key.0, true)?;
    let scan = ctx.scan()?;
    let handle = scan
        .vg_by_key(&key.0, &key.1, Access::default())
        .map_err(vg_read_failed)?;
    for w in &handle.warnings {
        ctx.warn(w);
    }
    handle.vg.check_writable().map_err(failed)?;
    handle.check_no_duplicates().map_err(failed)?;
    handle.check_consistent().map_err(failed)?;
    Ok((handle, guard))
}

/// The words of a failed read, as `vg_read_failed` has them.
fn read_error(e: StoreError) -> String {
    match vg_read_failed(e) {
        CmdError::Failed(m)
        | CmdError::Usage(m)
        | CmdError::BadArg(m)
        | CmdError::InitFailed(m) => m,
        CmdError::Clap(c) => c.to_string(),
    }
}
