//! pvresize: a PV takes its device's size, or `--setphysicalvolumesize`
//! (LVM2's tools/pvresize.c and `pv_resize_single` in
//! lib/metadata/pv_manip.c). A PV in a VG gets the extents that fit
//! (refused if extents that would go are allocated); a second metadata
//! area at the end of the device moves to the new end; the label records
//! the new size. PVs are named by device or `@tag`; each is changed on
//! its own, and the command fails if any could not be.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::label::Label;
use crate::metadata::model::{SegmentKind, Vg};
use crate::metadata::store::{self, DevOpener, FileOpener, PvInfo, VgHandle};
use crate::metadata::{pvedit, pvlayout, units};
use crate::system::lock::LockGuard;
use crate::system::{lock, scan};

use super::common::{failed, parse, usage, CmdError, CommonArgs, Ctx};
use super::confirm;
use super::pv::opts::size_arg;

#[derive(Parser, Debug)]
#[command(about = "Resize physical volume(s)")]
pub(crate) struct PvresizeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Use this size instead of the device's (default unit MiB).
    #[arg(long = "setphysicalvolumesize", value_name = "Size[m|UNIT]")]
    setphysicalvolumesize: Option<String>,
    /// Accepted for compatibility (backups follow lvm.conf).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// PVs: devices or @tag.
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

/// One PV to resize: the name to print, its device, its VG.
struct Target {
    name: String,
    path: String,
    id: crate::metadata::id::Id,
    vg: Option<String>,
}

pub fn pvresize(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvresizeArgs = parse("pvresize", args)?;
    if a.pvs.is_empty() {
        return Err(usage("Please supply physical volume(s)"));
    }
    let new_size = match &a.setphysicalvolumesize {
        Some(v) => Some(size_arg(
            "--setphysicalvolumesize",
            v,
            'm',
            "Physical volume size may not be negative",
        )?),
        None => None,
    };
    let ctx = Ctx::new(&a.common)?;
    let _g = ctx.lock_global(true)?;
    let _o = lock::lock_orphans(&ctx.conf, true).map_err(failed)?;
    let found = ctx.scan()?;
    let (targets, mut failed_any) = targets(&ctx, &found, &a.pvs);
    let (mut done, mut total) = (0, 0);
    // The VG of the PVs in hand, loaded once for its PVs in a row (the
    // targets go VG by VG); each PV is still its own commit.
    let mut held: Option<(String, VgHandle, LockGuard)> = None;
    for t in &targets {
        total += 1;
        match resize_one(&ctx, t, new_size, &mut held) {
            Ok(()) => {
                ctx.print(format!("Physical volume \"{}\" changed", t.name));
                done += 1;
            }
            Err(e) => {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                failed_any = true;
                // What failed may have left the handle half changed.
                held = None;
            }
        }
    }
    let _ = lock::invalidate_hints();
    ctx.print(format!(
        "{done} physical volume(s) resized or updated / {} physical volume(s) not resized",
        total - done
    ));
    if failed_any {
        return Err(CmdError::Failed(String::new()));
    }
    Ok(())
}

/// The PVs the arguments name, each once, VG by VG (orphans last) as
/// LVM2's `process_each_pv` goes; and whether an argument named none.
fn targets(ctx: &Ctx, found: &store::Scan, args: &[String]) -> (Vec<Target>, bool) {
    let mut out: Vec<Target> = Vec::new();
    let mut missing = false;
    let vg_of = |p: &PvInfo| found.vg_of_pv(&p.id()).map(|h| h.vg.name.clone());
    let push = |out: &mut Vec<Target>, name: String, p: &PvInfo| {
        if !out.iter().any(|t| t.id == p.id()) {
            out.push(Target {
                name,
                path: p.path.clone(),
                id: p.id(),
                vg: vg_of(p),
            });
        }
    };
    for arg in args {
        if let Some(tag) = arg.strip_prefix('@') {
            for vg in found.vg_names() {
                let Ok(h) = found.vg(&vg) else { continue };
                for pv in h.vg.pvs.iter().filter(|p| p.tags.iter().any(|t| t == tag)) {
                    if let Some(info) = h.pvs.get(&pv.key) {
                        push(&mut out, info.path.clone(), info);
                    }
                }
            }
            continue;
        }
        let info = scan::resolve_device(arg, &ctx.conf)
            .ok()
            .map(|d| super::common::scan_name(&d, found))
            .and_then(|path| found.pv_by_path(&path));
        match info {
            Some(p) => push(&mut out, arg.clone(), p),
            None => {
                ctx.error(format!("Failed to find physical volume \"{arg}\"."));
                missing = true;
            }
        }
    }
    out.sort_by_key(|t| (t.vg.is_none(), t.vg.clone()));
    (out, missing)
}

/// The size to give the PV, in sectors, after LVM2's questions about a
/// size that is not the device's.
fn wanted_size(ctx: &Ctx, t: &Target, new_size: Option<u64>) -> Result<u64, CmdError> {
    let d = FileOpener.open(&t.path, false).map_err(failed)?;
    let real = d.size().map_err(failed)? / 512;
    let Some(new) = new_size else {
        return Ok(real);
    };
    let name = &t.name;
    let show = units::display_size;
    let not_resized = || CmdError::Failed(format!("Physical Volume {name} not resized."));
    if new > real {
        ctx.warn(format!(
            "{name}: Overriding real size {}. You could lose data.",
            show(real)
        ));
        if !confirm(
            ctx,
            &format!(
                "{name}: Requested size {} exceeds real size {}. Proceed?  [y/n]: ",
                show(new),
                show(real)
            ),
        ) {
            return Err(not_resized());
        }
    } else if new < real
        && !confirm(
            ctx,
            &format!(
                "{name}: Requested size {} is less than real size {}. Proceed?  [y/n]: ",
                show(new),
                show(real)
            ),
        )
    {
        return Err(not_resized());
    }
    if new != real {
        ctx.warn(format!(
            "{name}: Pretending size is {new} not {real} sectors."
        ));
    }
    Ok(new)
}

/// The label of `info` for a PV of `size` sectors: the new device size, a
/// second metadata area (at the end) moved to the new end.
fn resized_label(info: &PvInfo, size: u64, name: &str) -> Result<Label, CmdError> {
    let mut label = info.label.clone();
    label.header.device_size = size * 512;
    let pe_start = info.pe_start_sectors();
    if let Some(m) = label
        .header
        .metadata_areas
        .iter_mut()
        .find(|m| m.offset > pe_start * 512)
    {
        // A PV read from disk has no alignment of its own (LVM2's
        // pe_align is only set at pvcreate): the area goes to the very end.
        *m = pvlayout::moved_mda1(size, pe_start, m.size, 0).map_err(|e| {
            CmdError::Failed(format!(
                "{e} on PV {name}.\n  Failed to move metadata area with index 1 while resizing PV {name}."
            ))
        })?;
    }
    Ok(label)
}

/// Bytes of the second metadata area (at the end), in sectors.
fn mda1_sectors(info: &PvInfo) -> u64 {
    let pe_start = info.pe_start_sectors() * 512;
    info.label
        .header
        .metadata_areas
        .iter()
        .filter(|m| m.offset > pe_start)
        .map(|m| m.size / 512)
        .sum()
}

/// The first extent past the last allocated one on PV `key`.
fn used_end(vg: &Vg, key: &str) -> u64 {
    vg.lvs
        .iter()
        .flat_map(|lv| lv.segments.iter())
        .filter_map(|seg| match &seg.kind {
            SegmentKind::Striped { stripes, .. } => Some(
                stripes
                    .iter()
                    .filter(|a| a.pv == key)
                    .map(|a| a.pe + seg.area_len())
                    .max()
                    .unwrap_or(0),
            ),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Writes `label` (formatting a moved area first), keeping each area's
/// ignored flag.
fn write_label(info: &PvInfo, label: &Label) -> Result<(), CmdError> {
    let d = FileOpener.open(&info.path, true).map_err(failed)?;
    let ignored: Vec<bool> = info
        .label
        .header
        .metadata_areas
        .iter()
        .map(|m| pvedit::mda_ignored(d.as_ref(), m).unwrap_or(false))
        .collect();
    pvedit::rewrite_label(d.as_ref(), &info.label, label, &ignored).map_err(|e| {
        failed(format!(
            "Failed to store physical volume \"{}\": {e}",
            info.path
        ))
    })
}

fn resize_one(
    ctx: &Ctx,
    t: &Target,
    new_size: Option<u64>,
    held: &mut Option<(String, VgHandle, LockGuard)>,
) -> Result<(), CmdError> {
    let size = wanted_size(ctx, t, new_size)?;
    let name = &t.name;
    let min = super::pv::opts::pv_min_size(&ctx.conf);
    if size < min {
        return Err(CmdError::Failed(format!(
            "Size must exceed minimum of {min} sectors on PV {name}."
        )));
    }
    let Some(vg_name) = &t.vg else {
        // An orphan: only its label changes.
        let found = ctx.scan()?;
        let info = found.pvs.iter().find(|p| p.id() == t.id).ok_or_else(|| {
            CmdError::Failed(format!("Failed to find physical volume \"{name}\"."))
        })?;
        check_pe_start(info, size, name)?;
        let label = resized_label(info, size, name)?;
        if !ctx.common.test {
            write_label(info, &label)?;
        }
        return Ok(());
    };
    if held.as_ref().is_none_or(|(n, _, _)| n != vg_name) {
        // The previous VG's lock goes before the next is taken.
        *held = None;
        let (h, g) = ctx.load_vg_for_update(vg_name)?;
        *held = Some((vg_name.clone(), h, g));
    }
    let (_, h, _) = held.as_mut().expect("loaded above");
    let key =
        h.vg.pv_by_id(&t.id).map(|p| p.key.clone()).ok_or_else(|| {
            CmdError::Failed(format!("Failed to find physical volume \"{name}\"."))
        })?;
    let info =
        h.pvs.get(&key).cloned().ok_or_else(|| {
            CmdError::Failed(format!("Failed to find physical volume \"{name}\"."))
        })?;
    check_pe_start(&info, size, name)?;
    // In a VG, LVM2 records the PV's size less its data start and second
    // area, in the label as in the metadata (`_text_pv_resize`).
    let avail = size.saturating_sub(info.pe_start_sectors() + mda1_sectors(&info));
    let mut label = resized_label(&info, size, name)?;
    label.header.device_size = avail * 512;
    let extent = h.vg.extent_size;
    let new_count = avail.checked_div(extent).unwrap_or(0);
    if new_count == 0 {
        return Err(CmdError::Failed(format!(
            "Size must leave space for at least one physical extent of {extent} sectors on PV {name}."
        )));
    }
    let pv = h.vg.pv(&key).cloned().expect("key from the VG");
    let used = h.vg.pe_used_on(&key);
    if new_count < pv.pe_count {
        if new_count < used {
            return Err(CmdError::Failed(format!(
                "{name}: cannot resize to {new_count} extents as {used} are allocated."
            )));
        }
        if used_end(&h.vg, &key) > new_count {
            return Err(CmdError::Failed(format!(
                "{name}: cannot resize to {new_count} extents as later ones are allocated."
            )));
        }
    }
    let moves_mda = label.header.metadata_areas != info.label.header.metadata_areas;
    // LVM2 rewrites the label of a PV in a VG only when it has a second
    // area (whose place is in the label).
    let has_mda1 = mda1_sectors(&info) > 0;
    let shrinks = new_count < pv.pe_count;
    let set_size = |h: &mut VgHandle| {
        if let Some(p) = h.vg.pvs.iter_mut().find(|p| p.key == key) {
            p.pe_count = new_count;
            p.dev_size = Some(avail);
        }
    };
    if ctx.common.test {
        return Ok(());
    }
    // A second area moving into what were data extents: those leave the
    // VG in a commit first, so no crash leaves the VG counting extents
    // that hold a metadata area.
    if moves_mda && shrinks {
        set_size(h);
        ctx.commit(h, &store::command_line())?;
    }
    if has_mda1 {
        write_label(&info, &label)?;
        if let Some(i) = h.pvs.get_mut(&key) {
            i.label = label;
        }
    }
    set_size(h);
    ctx.commit(h, &store::command_line())?;
    Ok(())
}

/// LVM2's floor: the data area must start inside the new size.
fn check_pe_start(info: &PvInfo, size: u64, name: &str) -> Result<(), CmdError> {
    let pe_start = info.pe_start_sectors();
    if size < pe_start {
        return Err(CmdError::Failed(format!(
            "Size must exceed physical extent start of {pe_start} sectors on PV {name}."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::alloc::fixtures::{linear, lv, pv, vg};

    #[test]
    fn used_end_is_past_the_last_allocated_extent() {
        let v = vg(
            vec![pv("pv0", 10), pv("pv1", 10)],
            vec![
                lv("a", vec![linear(0, "pv0", 2, 3)]),
                lv("b", vec![linear(0, "pv1", 0, 1)]),
            ],
        );
        assert_eq!(used_end(&v, "pv0"), 5);
        assert_eq!(used_end(&v, "pv1"), 1);
        assert_eq!(used_end(&v, "pv2"), 0);
    }
}
