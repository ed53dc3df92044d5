//! pvchange: a PV's allocatability (-x), tags and metadata areas in use
//! or ignored (--metadataignore), for named PVs or all (-a), one commit
//! per PV, in LVM2's words and counts. A new UUID (-u) for a PV in no VG
//! is one label write (one sector: a crash leaves the old label or the
//! new). For a PV in a VG it is refused (exit 5), nothing written: its
//! label and the VG metadata naming it would be two writes, and a crash
//! between them would leave the VG with a missing PV and the device with
//! a PV no VG lists (LVM2 writes the label, then the VG).

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::pvedit;
use crate::metadata::store::{self, DevOpener, FileOpener, PvInfo};
use crate::system::scan;

use super::common::{apply_tags, failed, parse, tag_args, usage, CmdError, CommonArgs, Ctx};
use super::confirm;

#[derive(Parser, Debug)]
#[command(about = "Change attributes of physical volume(s)")]
pub(crate) struct PvchangeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Change every PV the scan finds.
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Allow (y) or forbid (n) allocation from the PV.
    #[arg(short = 'x', long = "allocatable", value_name = "y|n")]
    allocatable: Option<String>,
    /// Add a tag (a leading @ is accepted).
    #[arg(long = "addtag", value_name = "Tag")]
    addtag: Vec<String>,
    /// Remove a tag.
    #[arg(long = "deltag", value_name = "Tag")]
    deltag: Vec<String>,
    /// Give the PV a new random UUID (a PV in no VG only).
    #[arg(short = 'u', long = "uuid")]
    uuid: bool,
    /// Ignore the PV's metadata areas (y): its VG's metadata is no longer
    /// written there; or use them again (n).
    #[arg(long = "metadataignore", value_name = "y|n")]
    metadataignore: Option<String>,
    /// Accepted for compatibility.
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Accepted for compatibility (backups follow lvm.conf).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Change the PVs the selection selects (of those named, or all).
    #[arg(short = 'S', long = "select", value_name = "String")]
    select: Option<String>,
    /// PVs by device, or `@tag` for the PVs with that tag.
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

/// One PV to change: the name to print and its VG (None: an orphan).
struct Target {
    name: String,
    vg: Option<String>,
    id: crate::metadata::id::Id,
    /// An orphan whose label says "used" (PV_EXT_USED): its VG's metadata
    /// is missing (LVM2's `is_used_pv`).
    used: bool,
}

/// Whether a PV no VG claims is still marked used by one.
fn marked_used(p: &PvInfo) -> bool {
    p.label.header.ext_flags & crate::metadata::label::PV_EXT_USED != 0
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn pvchange(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvchangeArgs = parse("pvchange", args)?;
    let alloc = match a.allocatable.as_deref() {
        None => None,
        Some("y") | Some("yes") => Some(true),
        Some("n") | Some("no") => Some(false),
        Some(v) => {
            return Err(CmdError::BadArg(format!(
                "Invalid argument for --allocatable: {v}"
            )))
        }
    };
    let ignore = match a.metadataignore.as_deref() {
        None => None,
        Some("y") | Some("yes") => Some(true),
        Some("n") | Some("no") => Some(false),
        Some(v) => {
            return Err(CmdError::BadArg(format!(
                "Invalid argument for --metadataignore: {v}"
            )))
        }
    };
    let addtag = tag_args("--addtag", &a.addtag)?;
    let deltag = tag_args("--deltag", &a.deltag)?;
    if alloc.is_none()
        && addtag.is_empty()
        && deltag.is_empty()
        && !a.uuid
        && a.metadataignore.is_none()
    {
        return Err(usage(
            "No command with matching syntax recognised.  Run 'pvchange --help' for more information.",
        ));
    }
    if a.all && !a.pvs.is_empty() {
        return Err(usage(format!(
            "Command does not accept argument: {}.",
            a.pvs[0]
        )));
    }
    if !a.all && a.pvs.is_empty() && a.select.is_none() {
        return Err(usage(
            "No command with matching syntax recognised.  Run 'pvchange --help' for more information.",
        ));
    }
    let ctx = Ctx::new(&a.common)?;
    let change = Change {
        uuid: a.uuid,
        alloc,
        addtag,
        deltag,
        ignore,
        force: a.force,
    };
    let _g = ctx.lock_global(true)?;
    let found = ctx.scan()?;
    let mut targets: Vec<Target> = Vec::new();
    let mut failed_any = false;
    let selection = match &a.select {
        Some(t) => Some(super::selecting::parse(t, crate::report::ReportType::Pvs)?),
        None => None,
    };
    if a.all || a.pvs.is_empty() {
        for vg in found.vg_names() {
            if let Ok(h) = found.vg(&vg) {
                for p in &h.vg.pvs {
                    if let Some(path) = h.pv_path(&p.key) {
                        targets.push(Target {
                            name: path.to_string(),
                            vg: Some(vg.clone()),
                            id: p.id,
                            used: false,
                        });
                    }
                }
            }
        }
        for o in found.orphans() {
            targets.push(Target {
                name: o.path.clone(),
                vg: None,
                id: o.id(),
                used: marked_used(o),
            });
        }
    } else {
        for arg in &a.pvs {
            if let Some(tag) = arg.strip_prefix('@') {
                // The PVs carrying the tag, in any VG.
                for vg in found.vg_names() {
                    if let Ok(h) = found.vg(&vg) {
                        for p in h.vg.pvs.iter().filter(|p| p.tags.iter().any(|t| t == tag)) {
                            if let Some(path) = h.pv_path(&p.key) {
                                if !targets.iter().any(|t| t.id == p.id) {
                                    targets.push(Target {
                                        name: path.to_string(),
                                        vg: Some(vg.clone()),
                                        id: p.id,
                                        used: false,
                                    });
                                }
                            }
                        }
                    }
                }
                continue;
            }
            let dev = match scan::resolve_device(arg, &ctx.conf) {
                Ok(d) => d,
                Err(_) => {
                    ctx.error(format!("Cannot use {arg}: device not found"));
                    failed_any = true;
                    continue;
                }
            };
            let path = super::common::scan_name(&dev, &found);
            let Some(p) = found.pv_by_path(&path) else {
                ctx.error(format!("Failed to find physical volume \"{arg}\"."));
                failed_any = true;
                continue;
            };
            let vg = p
                .vg()
                .map(|v| v.name.clone())
                .or_else(|| found.vg_of_pv(&p.id()).map(|h| h.vg.name.clone()));
            let used = vg.is_none() && marked_used(p);
            targets.push(Target {
                name: arg.clone(),
                vg,
                id: p.id(),
                used,
            });
        }
    }
    if let Some(sel) = &selection {
        let hs: Vec<_> = found
            .vg_names()
            .iter()
            .filter_map(|n| found.vg(n).ok())
            .collect();
        let ids = super::selecting::pvs_selected(&ctx, &found, &hs, sel);
        targets.retain(|t| ids.contains(&t.id));
    }
    // LVM2 goes VG by VG (by name), orphans last, whatever the argument order.
    targets.sort_by_key(|t| (t.vg.is_none(), t.vg.clone()));
    let (mut changed, mut unchanged) = (0usize, 0usize);
    for t in targets {
        match change_one(&ctx, &t, &change) {
            Ok(true) => {
                ctx.print(format!("Physical volume \"{}\" changed", t.name));
                changed += 1;
            }
            Ok(false) => {
                ctx.print(format!("Physical volume {} not changed", t.name));
                unchanged += 1;
            }
            Err(e) => {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                ctx.error(format!("Physical volume {} not changed", t.name));
                unchanged += 1;
                failed_any = true;
            }
        }
    }
    ctx.print(format!(
        "{changed} physical volume{} changed / {unchanged} physical volume{} not changed",
        plural(changed),
        plural(unchanged)
    ));
    if failed_any {
        return Err(CmdError::Failed(String::new()));
    }
    Ok(())
}

/// What to change on each PV.
struct Change {
    alloc: Option<bool>,
    addtag: Vec<String>,
    deltag: Vec<String>,
    /// --metadataignore y (true) or n.
    ignore: Option<bool>,
    /// -f: no question about the VG's preferred number of copies; -ff:
    /// an orphan marked used may be changed.
    force: u8,
    /// -u: a new UUID.
    uuid: bool,
}

/// Changes one PV; `Ok(false)` when it already was as asked.
fn change_one(ctx: &Ctx, t: &Target, c: &Change) -> Result<bool, CmdError> {
    let (alloc, addtag, deltag) = (c.alloc, &c.addtag, &c.deltag);
    let Some(vg_name) = &t.vg else {
        if addtag.is_empty() && deltag.is_empty() {
            refuse_used_orphan(t, c.force)?;
        }
        if alloc.is_none() && addtag.is_empty() && deltag.is_empty() {
            if let Some(y) = c.ignore {
                ignore_orphan(ctx, t, y)?;
            }
            if c.uuid {
                new_uuid_orphan(ctx, t)?;
            }
            return Ok(c.ignore.is_some() || c.uuid);
        }
        return Err(CmdError::Failed(if alloc.is_some() {
            format!(
                "Allocatability not supported by orphan lvm2 format PV {}",
                t.name
            )
        } else {
            format!(
                "Can't change tag on Physical Volume {} not in volume group",
                t.name
            )
        }));
    };
    if c.uuid {
        return Err(CmdError::Failed(format!(
            "Physical volume {} is in volume group {vg_name}: rlvm does not change the UUID of a PV in a VG (its label and the VG metadata cannot change in one crash-safe write).",
            t.name
        )));
    }
    let (mut h, _v) = ctx.load_vg_for_update(vg_name)?;
    let Some(pv) = h.vg.pvs.iter_mut().find(|p| p.id == t.id) else {
        return Err(CmdError::Failed(format!(
            "Unable to find \"{}\" in volume group \"{vg_name}\"",
            t.name
        )));
    };
    let mut change = false;
    if let Some(y) = alloc {
        if pv.status.has("ALLOCATABLE") == y {
            ctx.print(format!(
                "Physical volume \"{}\" is already {}allocatable.",
                t.name,
                if y { "" } else { "un" }
            ));
        } else {
            if y {
                pv.status.set("ALLOCATABLE");
            } else {
                pv.status.clear("ALLOCATABLE");
            }
            change = true;
        }
    }
    if !addtag.is_empty() || !deltag.is_empty() {
        let before = pv.tags.clone();
        apply_tags(&mut pv.tags, addtag, deltag);
        // LVM2 writes the VG for a tag change even when nothing differs.
        change |= before != pv.tags || !addtag.is_empty() || !deltag.is_empty();
    }
    let mut flip = None;
    if let Some(y) = c.ignore {
        let key = pv.key.clone();
        let info = h.pvs.get(&key).cloned().ok_or_else(|| {
            CmdError::Failed(format!("Failed to find physical volume \"{}\".", t.name))
        })?;
        let ignored = mda_flags(&info)?;
        check_ignore_change(&t.name, &ignored, y)?;
        // The VG's other areas in use: one at least must stay.
        let mut others = 0;
        for (k, i) in &h.pvs {
            if *k != key {
                others += mda_flags(i)?.iter().filter(|f| !**f).count();
            }
        }
        let mine_after = if y { 0 } else { ignored.len() };
        if others + mine_after == 0 {
            return Err(CmdError::Failed(format!(
                "Cannot ignore the last metadata areas in use of volume group {vg_name}."
            )));
        }
        let copies = h.vg.metadata_copies.unwrap_or(0);
        if copies != 0 {
            if c.force == 0
                && !confirm(
                    ctx,
                    &format!(
                        "Override preferred number of copies of VG {vg_name} metadata? [y/n]: "
                    ),
                )
            {
                return Err(CmdError::Failed(String::new()));
            }
            let used = (others + mine_after) as u64;
            ctx.warn(format!(
                "Changing preferred number of copies of VG {vg_name} metadata from {copies} to {used}"
            ));
            h.vg.metadata_copies = Some(used);
        }
        flip = Some((info, y));
        change = true;
    }
    if !change {
        return Ok(false);
    }
    if let (Some((info, y)), false) = (&flip, ctx.common.test) {
        // Before the commit: the commit writes to the areas in use only,
        // so areas being ignored no longer get the new copy and areas
        // used again get it.
        set_flags(info, *y)?;
    }
    ctx.commit(&mut h, &store::command_line())?;
    Ok(true)
}

/// LVM2's `_pvchange_single`: a PV in no VG but marked used belongs to a
/// VG whose metadata was not found; changing it (a new UUID above all)
/// would orphan it from that VG for good, so it takes -ff.
fn refuse_used_orphan(t: &Target, force: u8) -> Result<(), CmdError> {
    if t.used && force < 2 {
        return Err(CmdError::Failed(used_orphan_message(&t.name)));
    }
    Ok(())
}

fn used_orphan_message(name: &str) -> String {
    format!("PV {name} is used by a VG but its metadata is missing.\n  Can't change PV '{name}' without -ff.")
}

/// Whether each metadata area of `info` is ignored, read from its header.
fn mda_flags(info: &PvInfo) -> Result<Vec<bool>, CmdError> {
    let d = FileOpener.open(&info.path, false).map_err(failed)?;
    Ok(info
        .label
        .header
        .metadata_areas
        .iter()
        .map(|m| pvedit::mda_ignored(d.as_ref(), m).unwrap_or(false))
        .collect())
}

/// LVM2's refusals of a change that changes nothing
/// (`pv_change_metadataignore`).
fn check_ignore_change(name: &str, ignored: &[bool], y: bool) -> Result<(), CmdError> {
    let used = ignored.iter().filter(|i| !**i).count();
    let err = |m: String| Err(CmdError::Failed(m));
    if y && used == 0 {
        return err(format!(
            "Metadata areas on physical volume \"{name}\" already ignored."
        ));
    }
    if !y && used == ignored.len() {
        return err(format!(
            "Metadata areas on physical volume \"{name}\" already marked as in-use."
        ));
    }
    Ok(())
}

/// Marks every metadata area of `info` ignored (or in use).
fn set_flags(info: &PvInfo, y: bool) -> Result<(), CmdError> {
    let d = FileOpener.open(&info.path, true).map_err(failed)?;
    for m in &info.label.header.metadata_areas {
        pvedit::set_mda_ignored(d.as_ref(), m, y).map_err(|e| {
            failed(format!(
                "Failed to store physical volume \"{}\": {e}",
                info.path
            ))
        })?;
    }
    Ok(())
}

/// `-u` on a PV in no VG: its label, with a new random UUID, is written
/// over the old one (one sector).
fn new_uuid_orphan(ctx: &Ctx, t: &Target) -> Result<(), CmdError> {
    let found = ctx.scan()?;
    let info = found.pvs.iter().find(|p| p.id() == t.id).ok_or_else(|| {
        CmdError::Failed(format!("Failed to find physical volume \"{}\".", t.name))
    })?;
    let mut label = info.label.clone();
    label.header.id = crate::metadata::id::Id::random();
    ctx.verbose(
        1,
        format!("Changing uuid of {} to {}.", t.name, label.header.id),
    );
    if ctx.common.test {
        return Ok(());
    }
    let d = FileOpener.open(&info.path, true).map_err(failed)?;
    crate::metadata::label::write_label(d.as_ref(), &label).map_err(|e| {
        CmdError::Failed(format!(
            "Failed to store physical volume \"{}\": {e}",
            info.path
        ))
    })
}

/// `vgck --updatemetadata` on VG `name`: each outdated PV (one the VG
/// no longer lists, whose areas hold an older copy of it) becomes an
/// orphan again, with LVM2's warning. Run under the VG's lock, after the
/// commit.
pub(crate) fn clear_outdated(ctx: &Ctx, name: &str) -> Result<(), CmdError> {
    if ctx.common.test {
        return Ok(());
    }
    let found = ctx.scan()?;
    for info in found.outdated_pvs(name) {
        // LVM2's two warnings (rlvm clears the label's flag first, then
        // the areas: see pvedit::clear_outdated).
        ctx.warn(format!("wiping mda on outdated PV {}", info.path));
        ctx.warn(format!("wiping header on outdated PV {}", info.path));
        let d = FileOpener.open(&info.path, true).map_err(failed)?;
        crate::metadata::pvedit::clear_outdated(d.as_ref(), &info.label).map_err(|e| {
            CmdError::Failed(format!("Failed to clear outdated PV {}: {e}", info.path))
        })?;
    }
    Ok(())
}

/// `--metadataignore` on a PV in no VG: only its area headers change.
fn ignore_orphan(ctx: &Ctx, t: &Target, y: bool) -> Result<(), CmdError> {
    let found = ctx.scan()?;
    let info = found.pvs.iter().find(|p| p.id() == t.id).ok_or_else(|| {
        CmdError::Failed(format!("Failed to find physical volume \"{}\".", t.name))
    })?;
    check_ignore_change(&t.name, &mda_flags(info)?, y)?;
    if !ctx.common.test {
        set_flags(info, y)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(used: bool) -> Target {
        Target {
            name: "/dev/loop1".into(),
            vg: None,
            id: crate::metadata::id::Id::random(),
            used,
        }
    }

    #[test]
    fn used_orphan_needs_double_force() {
        for force in [0, 1] {
            let e = refuse_used_orphan(&target(true), force).unwrap_err();
            let CmdError::Failed(m) = e else {
                panic!("wrong error kind")
            };
            assert!(m.contains("is used by a VG but its metadata is missing"));
            assert!(m.contains("Can't change PV '/dev/loop1' without -ff."));
        }
        assert!(refuse_used_orphan(&target(true), 2).is_ok());
        assert!(refuse_used_orphan(&target(false), 0).is_ok());
    }
}
