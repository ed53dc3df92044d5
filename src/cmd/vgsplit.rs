//! vgsplit: PVs (and the LVs wholly on them) leave a VG for a new or an
//! existing one (LVM2's tools/vgsplit.c). Touches disk (three metadata
//! commits) and reads the kernel only to refuse active LVs.
//!
//! # Crash safety
//!
//! A split is two VGs changing: no single commit covers both. The order is
//! LVM2's, and each step is one ordinary commit (`VgHandle::commit`: text,
//! precommit slot, committed slot; a cut commit reads back as the old or
//! the new metadata of that VG, never a mix):
//!
//! 1. the destination, flagged EXPORTED, is committed to its PVs and to the
//!    moved ones (whose areas held the source's metadata until then);
//! 2. the source, without the moved PVs and LVs, is committed to the PVs
//!    it keeps (the moved PVs are not touched again);
//! 3. the destination is committed again without EXPORTED.
//!
//! What a reader (rlvm's scan and LVM2's, which group copies by VG UUID
//! and find PVs by their label's UUID) sees after a cut:
//!
//! - before 1 completes: the source as it was (a moved PV's areas hold
//!   the source's or the new destination's copy; the source still lists
//!   the PV and finds it by UUID, so it is complete), and at most an
//!   exported destination (a new VG, or an existing one that then lists
//!   the moved PVs too): every LV is there, in the source;
//! - after 1, before 2: the same, the destination now complete and
//!   exported (its LVs duplicate the moving ones; being exported it is
//!   neither activated nor changed by accident). LVM2's recovery holds:
//!   `vgimport` + `vgremove` of the destination, or finish the split by
//!   hand; nothing is lost either way;
//! - after 2, before 3: both VGs complete and disjoint, the destination
//!   still exported: `vgimport` finishes the split. A source cut inside 2
//!   has copies of two seqnos on the PVs it keeps: the newer wins (an
//!   "inconsistent metadata" warning that the next commit or `vgck
//!   --updatemetadata` clears), and no PV counts as outdated, because
//!   the moved PVs' own areas hold the other VG's copy;
//! - after 3: the split done.
//!
//! So the store needs nothing new: the destination takes the moved PVs
//! through `VgHandle::absorb` (as vgmerge does), which marks their areas
//! as moved (overwritten without the "updating old metadata" warning),
//! and the source simply stops listing them. What is required of the
//! split itself is that both VGs keep a metadata area (LVM2's
//! `vg_split_mdas`): a VG whose copies all lived on PVs that left would
//! otherwise be lost at step 2. The unit tests below cut every write of
//! every step and read the devices back.

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::Parser;

use super::common::{failed, parse, usage, vg_arg, CmdError, CommonArgs, Ctx};
use super::vg::mdacopies;
use crate::metadata::model::{Lv, SegmentKind, Vg};
use crate::metadata::names;
use crate::metadata::store::{self, VgHandle};
use crate::system::lock;

#[derive(Parser, Debug)]
#[command(about = "Move physical volumes into a new or existing volume group")]
pub(crate) struct VgsplitArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Move the PVs this LV uses (instead of naming PVs).
    #[arg(short = 'n', long = "name", value_name = "LV")]
    name: Option<String>,
    /// Archive and back up the metadata (y, the default) or not (n).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Accepted for compatibility (rlvm makes no pool metadata spare).
    #[arg(long = "poolmetadataspare", value_name = "y|n")]
    poolmetadataspare: Option<String>,
    /// New VG: maximum number of LVs (default: the source's).
    #[arg(short = 'l', long = "maxlogicalvolumes", value_name = "Number")]
    max_lv: Option<u32>,
    /// New VG: maximum number of PVs (default: the source's).
    #[arg(short = 'p', long = "maxphysicalvolumes", value_name = "Number")]
    max_pv: Option<u32>,
    /// New VG: metadata type (lvm2 only).
    #[arg(short = 'M', long = "metadatatype", value_name = "lvm2")]
    metadatatype: Option<String>,
    /// New VG: allocation policy (default: the source's).
    #[arg(long = "alloc", value_name = "Policy")]
    alloc: Option<String>,
    /// New VG: preferred number of metadata copies (a number, all or
    /// unmanaged; default: the source's).
    #[arg(long = "vgmetadatacopies", value_name = "all|unmanaged|Number")]
    vgmetadatacopies: Option<String>,
    /// Source VG, destination VG, then the PVs to move.
    #[arg(value_name = "VG")]
    args: Vec<String>,
}

/// What moves to the destination: PV keys and LV names of the source.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Moves {
    pub pvs: BTreeSet<String>,
    pub lvs: Vec<String>,
}

/// `vgsplit [-n LV] SOURCE DEST [PV...]`.
pub fn vgsplit(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgsplitArgs = parse("vgsplit", mdacopies::vg_alias(args))?;
    // LVM2's command definitions: `VG VG PV ...` or `--name LV VG VG`.
    let takes = if a.name.is_some() { 2 } else { 3 };
    if a.args.len() < takes {
        return Err(usage(
            "No command with matching syntax recognised.  Run 'vgsplit --help' for more information.",
        ));
    }
    if a.name.is_some() && a.args.len() > 2 {
        return Err(usage(format!(
            "Command does not accept argument: {}.",
            a.args[2]
        )));
    }
    if let Some(t) = &a.metadatatype {
        if t != "2" && t != "lvm2" {
            return Err(usage(format!("Unknown metadata type {t}")));
        }
    }
    if let Some(v) = &a.poolmetadataspare {
        super::vg::yes_no("--poolmetadataspare", v)?;
    }
    let alloc = super::vg::alloc_arg(a.alloc.as_deref())?;
    let copies = a
        .vgmetadatacopies
        .as_deref()
        .map(|v| mdacopies::parse_copies("--vgmetadatacopies", v))
        .transpose()?;
    let ctx = Ctx::new(&super::lv::with_autobackup(
        &a.common,
        a.autobackup.as_deref(),
    )?)?;
    let from = vg_arg(&a.args[0]);
    let to = vg_arg(&a.args[1]);
    if from == to {
        return Err(CmdError::Failed(format!(
            "Duplicate volume group name \"{from}\""
        )));
    }
    let _g = ctx.lock_global(true)?;
    let _ = lock::invalidate_hints();
    let found = ctx.scan()?;
    let existing = found.vg_names().contains(&to);
    // The destination first, as LVM2 reads it first.
    let (mut dest, _lock_to) = if existing {
        let (h, l) = ctx.load_vg_for_update(&to)?;
        (Some(h), l)
    } else {
        if names::validate_vg_name(&to).is_err() {
            return Err(CmdError::Failed(format!("Invalid vg name {to}.")));
        }
        (None, ctx.lock_vg(&to, true)?)
    };
    let (mut src, _lock_from) = ctx.load_vg_for_update(&from)?;
    let new_vg_option = a.max_lv.is_some()
        || a.max_pv.is_some()
        || a.alloc.is_some()
        || a.vgmetadatacopies.is_some();
    // LVs with a device in the kernel (none without device-mapper).
    let mut active_lvs = BTreeSet::new();
    if let Some(dm) = ctx.dm() {
        for lv in &src.vg.lvs {
            let mut one = src.vg.clone();
            one.lvs = vec![lv.clone()];
            if crate::ops::vgrename::vg_has_active_lvs(&dm, &one).map_err(failed)? {
                active_lvs.insert(lv.name.clone());
            }
        }
    }
    match &dest {
        Some(d) => {
            if new_vg_option {
                return Err(CmdError::Failed(format!(
                    "Volume group \"{to}\" exists, but new VG option specified"
                )));
            }
            check_compatible(&src.vg, &d.vg, !active_lvs.is_empty())?;
        }
        None => {
            // Made by another command since the first scan?
            if ctx.scan()?.vg_names().contains(&to) {
                return Err(CmdError::Failed(format!(
                    "A volume group called {to} already exists."
                )));
            }
        }
    }
    if !src.vg.status.has("RESIZEABLE") {
        return Err(CmdError::Failed(format!(
            "Volume group {from} is not resizeable."
        )));
    }
    let moving = match &a.name {
        Some(lv) => pvs_of_lv(&src.vg, lv)?,
        None => {
            let mut keys = BTreeSet::new();
            for arg in &a.args[2..] {
                let key = super::pvranges::pv_keys(&src, std::slice::from_ref(arg))
                    .ok()
                    .flatten()
                    .and_then(|k| k.into_iter().next())
                    .ok_or_else(|| {
                        CmdError::Failed(format!(
                            "Physical volume {arg} not in volume group {from}"
                        ))
                    })?;
                keys.insert(key);
            }
            keys
        }
    };
    let moves = plan_moves(&src.vg, &moving, |lv| active_lvs.contains(&lv.name))
        .map_err(CmdError::Failed)?;
    check_mdas(&src, &moves.pvs)?;
    let part = split_off(&mut src, &moves);
    let mut dest = match dest.take() {
        Some(mut d) => {
            d.absorb(part);
            d
        }
        None => {
            let mut vg = store::new_vg(&to, src.vg.extent_size, &[]);
            vg.max_lv = a.max_lv.map_or(src.vg.max_lv, u64::from);
            vg.max_pv = a.max_pv.map_or(src.vg.max_pv, u64::from);
            vg.allocation_policy = if a.alloc.is_some() {
                alloc
            } else {
                src.vg.allocation_policy.clone()
            };
            vg.system_id = src.vg.system_id.clone();
            vg.metadata_copies = match copies {
                Some(c) => Some(mdacopies::stored(c).0),
                None => src.vg.metadata_copies,
            };
            let mut d = VgHandle::new_vg(vg, Vec::new());
            d.absorb(part);
            d
        }
    };
    let all_in_use = matches!(copies, Some(mdacopies::Copies::All));
    let mut done = 0;
    write_split(&mut dest, &mut src, &mut |h: &mut VgHandle| {
        let all = all_in_use && done == 0;
        mdacopies::commit_balanced(&ctx, h, all)?;
        done += 1;
        Ok(())
    })
    .map_err(|e| {
        // The destination is written and exported: say how to go on.
        let step = if src.vg.pvs.is_empty() && done == 1 { 2 } else { done };
        match e {
            CmdError::Failed(m) if step == 1 && !existing => CmdError::Failed(format!(
                "{m}\n  Volume group \"{from}\" is unchanged; \"{to}\" is left exported on the moved PVs: vgimport and vgremove it, then split again."
            )),
            CmdError::Failed(m) if step == 1 => CmdError::Failed(format!(
                "{m}\n  Volume group \"{from}\" is unchanged; \"{to}\" is left exported: vgimport it and vgcfgrestore its metadata from before the split (vgcfgrestore -l {to})."
            )),
            CmdError::Failed(m) if step == 2 => CmdError::Failed(format!(
                "{m}\n  Volume group \"{to}\" is split off but left exported: vgimport it to finish."
            )),
            e => e,
        }
    })?;
    let _ = lock::invalidate_hints();
    ctx.print(format!(
        "{} volume group \"{to}\" successfully split from \"{from}\"",
        if existing { "Existing" } else { "New" }
    ));
    Ok(())
}

/// LVM2's `vgs_are_compatible` (lib/metadata/metadata.c) for a split into
/// an existing VG, in its order and words (double spaces included): the
/// whole source counts, not only what moves.
fn check_compatible(from: &Vg, to: &Vg, from_active: bool) -> Result<(), CmdError> {
    let fail = |m: String| Err(CmdError::Failed(m));
    if from_active {
        return fail(format!(
            "Logical volumes in \"{}\" must be inactive",
            from.name
        ));
    }
    if to.extent_size != from.extent_size {
        return fail(format!(
            "Extent sizes differ: {} ({}) and {} ({})",
            to.extent_size, to.name, from.extent_size, from.name
        ));
    }
    if to.max_pv > 0 && (to.max_pv as usize) < to.pvs.len() + from.pvs.len() {
        return fail(format!(
            "Maximum number of physical volumes ({}) exceeded  for \"{}\" and \"{}\"",
            to.max_pv, to.name, from.name
        ));
    }
    let visible = |v: &Vg| v.visible_flags().iter().filter(|&&b| b).count();
    if to.max_lv > 0 && (to.max_lv as usize) < visible(to) + visible(from) {
        return fail(format!(
            "Maximum number of logical volumes ({}) exceeded  for \"{}\" and \"{}\"",
            to.max_lv, to.name, from.name
        ));
    }
    if let Some(l) = to.lvs.iter().find(|l| from.lv(&l.name).is_some()) {
        return fail(format!(
            "Duplicate logical volume name \"{}\" in \"{}\" and \"{}\"",
            l.name, to.name, from.name
        ));
    }
    Ok(())
}

/// `-n LV`: the PVs the LV's own segments use (LVM2's
/// `move_pvs_used_by_lv`; its snapshots' PVs are not added: a snapshot
/// elsewhere then refuses the split, as in LVM2).
fn pvs_of_lv(vg: &Vg, name: &str) -> Result<BTreeSet<String>, CmdError> {
    let lv = vg.lv(name).ok_or_else(|| {
        CmdError::Failed(format!(
            "Logical volume {name} not in volume group {}",
            vg.name
        ))
    })?;
    Ok(pv_keys_of(lv).into_iter().collect())
}

/// The PV keys an LV's segments use, in segment order.
fn pv_keys_of(lv: &Lv) -> Vec<String> {
    let mut out = Vec::new();
    for seg in &lv.segments {
        if let SegmentKind::Striped { stripes, .. } = &seg.kind {
            out.extend(stripes.iter().map(|a| a.pv.clone()));
        }
    }
    out
}

/// Which LVs move with the PVs `moving` (LVM2's `_move_lvs` then
/// `_move_snapshots`): an LV whose extents are all on moving PVs moves
/// (one with no PV extents, a virtual one, moves too, as in LVM2), one on
/// both sides is refused; a snapshot link moves when its origin and COW
/// both move and is refused when only one of them does. A moving LV that
/// is active is refused. The error is LVM2's message.
pub(crate) fn plan_moves(
    from: &Vg,
    moving: &BTreeSet<String>,
    active: impl Fn(&Lv) -> bool,
) -> Result<Moves, String> {
    let mut lvs: Vec<String> = Vec::new();
    let check_active = |lv: &Lv| {
        if active(lv) {
            Err(format!(
                "Logical volume {}/{} must be inactive.",
                from.name, lv.name
            ))
        } else {
            Ok(())
        }
    };
    for lv in from.lvs.iter().filter(|l| l.snapshot_segment().is_none()) {
        let keys = pv_keys_of(lv);
        let Some(first) = keys.first() else {
            check_active(lv)?;
            lvs.push(lv.name.clone());
            continue;
        };
        let side = moving.contains(first);
        if keys.iter().any(|k| moving.contains(k) != side) {
            return Err(format!(
                "Can't split Logical Volume {} between two Volume Groups",
                lv.name
            ));
        }
        if side {
            check_active(lv)?;
            lvs.push(lv.name.clone());
        }
    }
    for link in &from.lvs {
        let Some((origin, cow, _, _)) = link.snapshot_segment() else {
            continue;
        };
        let cow_moves = lvs.iter().any(|l| l == cow);
        let origin_moves = lvs.iter().any(|l| l == origin);
        if cow_moves != origin_moves {
            return Err(format!(
                "Can't split snapshot {cow} between two Volume Groups"
            ));
        }
        if cow_moves {
            lvs.push(link.name.clone());
        }
    }
    Ok(Moves {
        pvs: moving.clone(),
        lvs,
    })
}

/// LVM2's `vg_split_mdas` rule: both VGs keep a metadata area (in use or
/// ignored), unless every PV leaves the source (which then has nothing
/// left to write).
fn check_mdas(src: &VgHandle, moving: &BTreeSet<String>) -> Result<(), CmdError> {
    let has_mda = |k: &String| {
        src.pvs
            .get(k)
            .is_some_and(|i| !i.label.header.metadata_areas.is_empty())
    };
    let staying: Vec<&String> = src
        .vg
        .pvs
        .iter()
        .map(|p| &p.key)
        .filter(|k| !moving.contains(*k))
        .collect();
    if staying.is_empty() {
        return Ok(());
    }
    if !staying.iter().any(|k| has_mda(k)) || !moving.iter().any(has_mda) {
        return Err(CmdError::Failed(
            "Cannot split: Nowhere to store metadata for new Volume Group".into(),
        ));
    }
    Ok(())
}

/// Takes the moving PVs and LVs out of `src` and returns them as a handle
/// of their own (for `VgHandle::absorb` into the destination).
pub(crate) fn split_off(src: &mut VgHandle, moves: &Moves) -> VgHandle {
    let mut part = src.clone();
    part.warnings.clear();
    part.vg.pvs.retain(|p| moves.pvs.contains(&p.key));
    part.vg.lvs.retain(|l| moves.lvs.contains(&l.name));
    part.pv_paths.retain(|k, _| moves.pvs.contains(k));
    part.pvs.retain(|k, _| moves.pvs.contains(k));
    part.missing.retain(|k| moves.pvs.contains(k));
    src.vg.pvs.retain(|p| !moves.pvs.contains(&p.key));
    src.vg.lvs.retain(|l| !moves.lvs.contains(&l.name));
    src.pv_paths.retain(|k, _| !moves.pvs.contains(k));
    src.pvs.retain(|k, _| !moves.pvs.contains(k));
    src.missing.retain(|k| !moves.pvs.contains(k));
    part
}

/// The three commits of a split, in LVM2's order (see the top of this
/// file): destination EXPORTED, source without the moved PVs (skipped
/// when none is left: its metadata lived only on PVs now the
/// destination's), destination imported. `commit` writes one VG.
pub(crate) fn write_split<E>(
    dest: &mut VgHandle,
    src: &mut VgHandle,
    commit: &mut dyn FnMut(&mut VgHandle) -> Result<(), E>,
) -> Result<(), E> {
    let was_exported = dest.vg.is_exported();
    dest.vg.status.set("EXPORTED");
    commit(dest)?;
    if !src.vg.pvs.is_empty() {
        commit(src)?;
    }
    if !was_exported {
        dest.vg.status.clear("EXPORTED");
    }
    commit(dest)
}

#[cfg(test)]
#[path = "vgsplit_tests.rs"]
mod tests;
