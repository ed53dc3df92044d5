//! vgextend and vgreduce: PVs join or leave a VG, in LVM2's words.
//! vgextend takes orphan PVs, or plain devices it labels on the fly (after
//! asking about other signatures, as vgcreate); vgreduce removes unused
//! PVs (named, `-a`) or unused missing PVs (`--removemissing`). The VG is
//! committed first, then a removed PV's metadata areas are cleared (LVM2's
//! order: a crash in between leaves an orphan that still holds an older
//! copy of the VG, which the VG no longer lists).

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::id::Id;
use crate::metadata::mda_balance as balance;
use crate::metadata::model::{Flags, Pv};
use crate::metadata::store::{self, DevOpener, FileOpener, VgHandle};
use crate::system::{blocksize, lock, scan};

use super::pv::opts as pv_opts;

use super::common::{failed, parse, usage, vg_name_arg, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Add physical volumes to a volume group")]
pub(crate) struct VgextendArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Force (accepted; signatures are asked about unless -y).
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Accepted for compatibility (backups follow lvm.conf).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// How PVs created on the fly are laid out.
    #[command(flatten)]
    new_pv: super::pv::opts::NewPvArgs,
    #[arg(value_name = "VG")]
    vg: String,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

#[derive(Parser, Debug)]
#[command(about = "Remove physical volume(s) from a volume group")]
pub(crate) struct VgreduceArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Remove every PV that no LV uses.
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Remove missing PVs that no LV uses.
    #[arg(long = "removemissing")]
    removemissing: bool,
    /// With --removemissing: also remove the LVs that use a missing PV
    /// (with their snapshots).
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Accepted for compatibility (backups follow lvm.conf).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    #[arg(value_name = "VG")]
    vg: String,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

/// The first `pvN` key the VG does not use.
fn next_pv_key(h: &VgHandle) -> String {
    (0..)
        .map(|n| format!("pv{n}"))
        .find(|k| h.vg.pv(k).is_none())
        .unwrap_or_default()
}

pub fn vgextend(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgextendArgs = parse("vgextend", args)?;
    if a.pvs.is_empty() {
        return Err(usage(
            "No command with matching syntax recognised.  Run 'vgextend --help' for more information.\n  Correct command syntax is:\n  vgextend VG PV ...",
        ));
    }
    // LVM2's vgextend has no bootloader area option (pvcreate has).
    if a.new_pv.has_bootloaderareasize() {
        return Err(CmdError::BadArg(
            "vgextend: unrecognized option --bootloaderareasize".into(),
        ));
    }
    let ctx = Ctx::new(&super::lv::with_autobackup(
        &a.common,
        a.autobackup.as_deref(),
    )?)?;
    let name = vg_name_arg(&a.vg)?;
    let new_pv = a.new_pv.resolve(&ctx.conf)?;
    let _g = ctx.lock_global(true)?;
    let _o = lock::lock_orphans(&ctx.conf, true).map_err(failed)?;
    let (mut h, _v) = ctx.load_vg_for_update(&name)?;
    if !h.vg.status.has("RESIZEABLE") {
        return Err(CmdError::Failed(format!(
            "Volume group {name} is not resizeable."
        )));
    }
    let found = ctx.scan()?;
    // Every device checked, and every new label planned, before any write.
    let mut planned: Vec<(String, store::PvInfo, bool)> = Vec::new();
    for arg in &a.pvs {
        let dev = scan::resolve_device(arg, &ctx.conf).map_err(failed)?;
        let path = super::common::scan_name(&dev, &found);
        if found.is_duplicate_device(&path) {
            return Err(CmdError::Failed(format!(
                "Cannot use device {arg} with duplicates."
            )));
        }
        if planned.iter().any(|(_, p, _)| p.path == path) {
            return Err(CmdError::Failed(format!(
                "PV {arg} cannot be added to VG {name}: it is named twice."
            )));
        }
        match found.pv_by_path(&path) {
            Some(p) => {
                super::vg::refuse_pv_in_a_vg(&found, p, arg)?;
                planned.push((arg.clone(), p.clone(), false));
            }
            None => {
                if ctx.common.test {
                    return Err(CmdError::Failed(format!(
                        "{arg} is not a physical volume (test mode does not create one)."
                    )));
                }
                let info =
                    pv_opts::plan_new_pv(&new_pv, dev.size_bytes, &path, arg, Id::random(), None)?;
                planned.push((arg.clone(), info, true));
            }
        }
    }
    check_block_sizes(&ctx, &h, &planned)?;
    if h.vg.max_pv > 0 && (h.vg.pvs.len() + planned.len()) as u64 > h.vg.max_pv {
        return Err(CmdError::Failed(format!(
            "No space for '{}' - volume group '{name}' holds max {} physical volume(s).",
            planned[0].0, h.vg.max_pv
        )));
    }
    let mut opened = Vec::new();
    for (arg, info, new) in &planned {
        if *new {
            let d = FileOpener.open(&info.path, true).map_err(failed)?;
            let sigs = super::pv::confirm_signatures_forced(&ctx, d.as_ref(), arg, a.force > 0)?;
            opened.push(Some((d, sigs)));
        } else {
            opened.push(None);
        }
    }
    for ((arg, info, _), dev) in planned.into_iter().zip(opened) {
        let info = match dev {
            Some((d, sigs)) => {
                super::pv::wipe_confirmed(&ctx, d.as_ref(), &arg, &sigs)?;
                let info = pv_opts::write_new_pv(d.as_ref(), &info, new_pv.ignored)?;
                ctx.print(format!("Physical volume \"{arg}\" successfully created."));
                info
            }
            None => info,
        };
        let key = next_pv_key(&h);
        let (ba_start, ba_size) = pv_opts::ba_of(&info);
        let extent_size = h.vg.extent_size;
        h.vg.pvs.push(Pv {
            key: key.clone(),
            id: info.id(),
            device: Some(info.path.clone()),
            device_id_type: None,
            device_id: None,
            status: Flags::new(&["ALLOCATABLE"]),
            flags: Flags::default(),
            tags: Vec::new(),
            dev_size: Some(info.label.header.orphan_size_sectors(info.size)),
            pe_start: info.pe_start_sectors(),
            pe_count: store::pe_count_for(&info, extent_size),
            ba_start,
            ba_size,
        });
        h.pv_paths.insert(key.clone(), info.path.clone());
        h.pvs.insert(key, info);
    }
    super::vg::mdacopies::commit_balanced(&ctx, &mut h, false)?;
    let _ = lock::invalidate_hints();
    ctx.print(format!("Volume group \"{name}\" successfully extended"));
    Ok(())
}

/// LVM2's rule for mixed logical block sizes (`vg_extend_each_pv`): a
/// new PV must have the block size of the VG's PVs unless
/// `devices/allow_mixed_block_sizes` is set or the VG already mixes them.
fn check_block_sizes(
    ctx: &Ctx,
    h: &VgHandle,
    planned: &[(String, store::PvInfo, bool)],
) -> Result<(), CmdError> {
    if ctx.conf.get_bool("devices/allow_mixed_block_sizes", false) {
        return Ok(());
    }
    let existing: Vec<u32> = h
        .pv_paths
        .values()
        .filter_map(|p| blocksize::logical_block_size(p))
        .collect();
    let Some(&first) = existing.first() else {
        return Ok(());
    };
    if existing.iter().any(|&b| b != first) {
        return Ok(());
    }
    for (_, info, _) in planned {
        if let Some(b) = blocksize::logical_block_size(&info.path) {
            if b != first {
                return Err(CmdError::Failed(format!(
                    "Devices have inconsistent logical block sizes ({first} and {b})."
                )));
            }
        }
    }
    Ok(())
}

pub fn vgreduce(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgreduceArgs = parse("vgreduce", args)?;
    if a.pvs.is_empty() && !a.all && !a.removemissing {
        return Err(usage(
            "No command with matching syntax recognised.  Run 'vgreduce --help' for more information.",
        ));
    }
    // LVM2's command definitions take no PV with -a or --removemissing.
    if (a.removemissing || a.all) && !a.pvs.is_empty() {
        return Err(usage(format!(
            "Command does not accept argument: {}.",
            a.pvs[0]
        )));
    }
    let ctx = Ctx::new(&super::lv::with_autobackup(
        &a.common,
        a.autobackup.as_deref(),
    )?)?;
    let name = vg_name_arg(&a.vg)?;
    let _g = ctx.lock_global(true)?;
    let _o = lock::lock_orphans(&ctx.conf, true).map_err(failed)?;
    if a.removemissing {
        return remove_missing(&ctx, &name, a.force > 0);
    }
    let (mut h, _v) = ctx.load_vg_for_update(&name)?;
    // (argument as given, PV key) in the order to process.
    let mut targets: Vec<(String, Option<String>)> = Vec::new();
    if a.all {
        for p in &h.vg.pvs {
            let path = h.pv_path(&p.key).unwrap_or_default().to_string();
            targets.push((path, Some(p.key.clone())));
        }
    } else {
        for arg in &a.pvs {
            // @tag: every PV of the VG with that tag.
            if let Some(tag) = arg.strip_prefix('@') {
                for p in h.vg.pvs.iter().filter(|p| p.tags.iter().any(|t| t == tag)) {
                    let path = h.pv_path(&p.key).unwrap_or_default().to_string();
                    if !targets
                        .iter()
                        .any(|(_, k)| k.as_deref() == Some(p.key.as_str()))
                    {
                        targets.push((path, Some(p.key.clone())));
                    }
                }
                continue;
            }
            if let Err(e) = scan::resolve_device(arg, &ctx.conf) {
                let msg = match e {
                    scan::ScanError::NotFound(_) => format!("Cannot use {arg}: device not found"),
                    e => e.to_string(),
                };
                ctx.error(msg);
                targets.push((arg.clone(), None));
                continue;
            }
            let key = super::pvranges::pv_keys(&h, std::slice::from_ref(arg))
                .ok()
                .flatten()
                .and_then(|k| k.into_iter().next());
            if key.is_none() {
                ctx.error(format!("Failed to find physical volume \"{arg}\"."));
            }
            targets.push((arg.clone(), key));
        }
    }
    let mut failed_any = targets.iter().any(|(_, k)| k.is_none());
    for (arg, key) in targets {
        let Some(key) = key else { continue };
        if let Err(e) = remove_pv(&ctx, &mut h, &arg, &key) {
            ctx.error(match e {
                CmdError::Failed(m) => m,
                e => format!("{e:?}"),
            });
            failed_any = true;
        }
    }
    if failed_any {
        return Err(CmdError::Failed(String::new()));
    }
    Ok(())
}

/// Removes one present, unused PV from the VG and clears its metadata.
fn remove_pv(ctx: &Ctx, h: &mut VgHandle, arg: &str, key: &str) -> Result<(), CmdError> {
    let name = h.vg.name.clone();
    if h.vg.pe_used_on(key) > 0 {
        return Err(CmdError::Failed(format!(
            "Physical volume \"{arg}\" still in use"
        )));
    }
    if h.vg.pvs.len() == 1 {
        return Err(CmdError::Failed(format!(
            "Can't remove final physical volume \"{arg}\" from volume group \"{name}\""
        )));
    }
    let has_mdas = |k: &str| {
        h.pvs
            .get(k)
            .is_some_and(|i| !i.label.header.metadata_areas.is_empty())
    };
    if has_mdas(key) && !h.pvs.keys().any(|k| k != key && has_mdas(k)) {
        return Err(CmdError::Failed(format!(
            "Cannot remove final metadata area on \"{arg}\" from \"{name}\""
        )));
    }
    let pv = h.vg.pv(key).cloned().expect("key from the VG");
    h.vg.pvs.retain(|p| p.key != key);
    let info = h.pvs.remove(key);
    h.pv_paths.remove(key);
    super::vg::mdacopies::commit_balanced(ctx, h, false)?;
    if let (Some(info), false) = (info, ctx.common.test) {
        let ignored = balance::ignored_now([&info], &FileOpener).map_err(failed)?;
        let mut alone = (*h.vg).clone();
        alone.lvs.clear();
        alone.pvs = vec![pv];
        VgHandle::new_vg(alone, vec![info])
            .remove(&FileOpener)
            .map_err(failed)?;
        // An ignored area stays ignored, as with LVM2.
        balance::apply(&ignored, true, &FileOpener).map_err(failed)?;
    }
    let _ = lock::invalidate_hints();
    ctx.print(format!("Removed \"{arg}\" from volume group \"{name}\""));
    Ok(())
}

/// `vgreduce --removemissing`, as LVM2's `_vgreduce_repair_single`: with
/// no LV on a missing PV, the missing PVs leave the VG. Otherwise, without
/// `--force`, each partial LV is named, nothing leaves, the VG is written
/// as it is (its missing PVs marked MISSING, as LVM2 does) and the command
/// fails. With `--force`, every visible LV with an extent on a missing PV
/// is removed whole first (with its snapshots), in the VG's order, each as
/// `lvremove -f` would (devices deactivated, one crash-safe commit per LV:
/// a crash leaves some LVs removed and the others as they were).
fn remove_missing(ctx: &Ctx, name: &str, force: bool) -> Result<(), CmdError> {
    let (mut h, _v) = ctx.load_vg_handling_missing(name)?;
    let missing: Vec<String> =
        h.vg.pvs
            .iter()
            .filter(|p| h.missing.contains(&p.key) || p.flags.has("MISSING"))
            .map(|p| p.key.clone())
            .collect();
    if missing.is_empty() {
        ctx.print(format!("Volume group \"{name}\" is already consistent."));
        return Ok(());
    }
    if force {
        for lv in partial_lvs(&h.vg, &missing, true) {
            // Gone with its origin, removed before it.
            if h.vg.lv(&lv).is_some() {
                ctx.warn(format!("Removing partial LV {name}/{lv}."));
                super::lv::remove_lv(ctx, &mut h, &lv, true)?;
            }
        }
    }
    let partial = partial_lvs(&h.vg, &missing, false);
    if !partial.is_empty() {
        for lv in &partial {
            ctx.warn(format!("Partial LV {lv} needs to be repaired or removed. "));
        }
        ctx.error(format!("There are still partial LVs in VG {name}."));
        ctx.error("To remove them unconditionally use: vgreduce --removemissing --force.");
        ctx.error(
            "To remove them unconditionally from mirror LVs use: vgreduce --removemissing --mirrorsonly --force.",
        );
        ctx.warn("Proceeding to remove empty missing PVs.");
        super::vg::mdacopies::commit_balanced(ctx, &mut h, false)?;
        return Err(CmdError::Failed(String::new()));
    }
    h.vg.pvs.retain(|p| !missing.contains(&p.key));
    h.missing.retain(|k| !missing.contains(k));
    super::vg::mdacopies::commit_balanced(ctx, &mut h, false)?;
    ctx.print(format!("Wrote out consistent volume group {name}."));
    Ok(())
}

/// LVM2's partial LVs of `vg`: those with an extent on one of `missing`,
/// in the VG's order. `visible` keeps only the LVs a user sees (a
/// snapshot's COW stands for the snapshot), the ones `--force` removes.
fn partial_lvs(vg: &crate::metadata::model::Vg, missing: &[String], visible: bool) -> Vec<String> {
    use crate::metadata::model::SegmentKind;
    vg.lvs
        .iter()
        .filter(|lv| {
            lv.segments.iter().any(|seg| match &seg.kind {
                SegmentKind::Striped { stripes, .. } => {
                    stripes.iter().any(|a| missing.contains(&a.pv))
                }
                _ => false,
            })
        })
        .filter(|lv| !visible || vg.lv_is_visible(lv))
        .map(|lv| lv.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::partial_lvs;
    use crate::metadata::model::SegmentKind;

    #[test]
    fn partial_lvs_are_those_on_missing_pvs_in_vg_order() {
        let text = include_str!("../../tests/golden/cases/snapshots/backup.vg");
        let mut vg = crate::metadata::text::import_vg(text).expect("import").0;
        // plain-lv moves to a second PV.
        let mut pv1 = vg.pvs[0].clone();
        pv1.key = "pv1".into();
        vg.pvs.push(pv1);
        let plain = vg.lvs.iter_mut().find(|l| l.name == "plain-lv").unwrap();
        for seg in &mut plain.segments {
            if let SegmentKind::Striped { stripes, .. } = &mut seg.kind {
                stripes.iter_mut().for_each(|a| a.pv = "pv1".into());
            }
        }
        assert_eq!(
            partial_lvs(&vg, &["pv0".into()], true),
            ["lv0", "snapA", "lv-1"]
        );
        assert_eq!(partial_lvs(&vg, &["pv1".into()], true), ["plain-lv"]);
        assert!(partial_lvs(&vg, &[], true).is_empty());
        // A hidden LV on the PV is partial but not removed by itself.
        vg.lvs.iter_mut().find(|l| l.name == "lv0").unwrap().status =
            crate::metadata::model::Flags::new(&["READ", "WRITE"]);
        assert_eq!(
            partial_lvs(&vg, &["pv0".into()], false),
            ["lv0", "snapA", "lv-1"]
        );
        assert!(partial_lvs(&vg, &["pv0".into()], true).is_empty());
    }
}
