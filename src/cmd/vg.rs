//! vgcreate, vgremove; vgck, vgchange, vgcfgbackup and vgcfgrestore in
//! the submodules.

mod attrs;
mod cfg;
mod change;
mod ck;
pub(crate) mod mdacopies;
use super::vgselect as select;
mod systemid;
mod vgscan;

pub use cfg::{vgcfgbackup, vgcfgrestore, VgcfgbackupArgs, VgcfgrestoreArgs};
pub use change::{vgchange, VgchangeArgs};
pub use ck::{vgck, VgckArgs};
pub use systemid::{systemid, SystemidArgs};
pub use vgscan::{vgscan, VgscanArgs};

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::id::Id;
use crate::metadata::store::{self, DevOpener, FileOpener, VgHandle};
use crate::metadata::{names, units};
use crate::system::{backup, blocksize, lock, scan};

use super::common::{bad_arg, failed, parse, tag_args, usage, vg_arg, CmdError, CommonArgs, Ctx};
use super::confirm;

#[derive(Parser, Debug)]
#[command(about = "Create a volume group")]
pub(crate) struct VgcreateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Physical extent size.
    #[arg(short = 's', long = "physicalextentsize", value_name = "Size[m|UNIT]")]
    extent_size: Option<String>,
    /// Maximum number of LVs (0 = unlimited).
    #[arg(short = 'l', long = "maxlogicalvolumes")]
    max_lv: Option<u64>,
    /// Maximum number of PVs (0 = unlimited).
    #[arg(short = 'p', long = "maxphysicalvolumes")]
    max_pv: Option<u64>,
    /// Add a tag (a leading @ is accepted).
    #[arg(long = "addtag", value_name = "Tag")]
    addtag: Vec<String>,
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Allocation policy of the VG.
    #[arg(long = "alloc", value_name = "Policy")]
    alloc: Option<String>,
    /// The VG's system ID (default: this host's; "" for none).
    #[arg(long = "systemid", value_name = "String")]
    systemid: Option<String>,
    /// Allow (y, the default) or forbid (n) autoactivation of the VG.
    #[arg(long = "setautoactivation", value_name = "y|n")]
    setautoactivation: Option<String>,
    /// Preferred number of metadata copies in the VG (a number, all or
    /// unmanaged; --metadatacopies in vgcreate).
    #[arg(long = "vgmetadatacopies", value_name = "all|unmanaged|Number")]
    vgmetadatacopies: Option<String>,
    /// How PVs created on the fly are laid out (as pvcreate).
    #[command(flatten)]
    new_pv: super::pv::opts::NewPvArgs,
    #[arg(value_name = "VG")]
    vg: String,
    #[arg(required = true, value_name = "PV")]
    pvs: Vec<String>,
}

pub fn vgcreate(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgcreateArgs = parse("vgcreate", mdacopies::vg_alias(args))?;
    let ctx = Ctx::new(&a.common)?;
    let name = vg_arg(&a.vg);
    // The name rules, then no /dev/<name> (`mapper`, `loop0`...): LVM2's
    // validate_new_vg_name, with its reason line first.
    names::validate_new_vg_name(&name, &ctx.conf.dev_dir().to_string_lossy(), |p| {
        std::path::Path::new(p).symlink_metadata().is_ok()
    })
    .map_err(|e| match e.detail() {
        Some(d) => usage(format!("{d}\n  {e}")),
        None => usage(e.to_string()),
    })?;
    let addtag = tag_args("--addtag", &a.addtag)?;
    let extent_size = match &a.extent_size {
        Some(s) => units::parse_extent_size(s).map_err(bad_arg("--physicalextentsize", s))?,
        None => 8192,
    };
    let alloc = alloc_arg(a.alloc.as_deref())?;
    let system_id = match &a.systemid {
        // LVM2 keeps the characters it allows; an ID with none is no ID.
        Some(s) => names::system_id_from_string(s),
        // A new VG belongs to this host, as with LVM2 (none without an ID).
        None => ctx.host.system_id.clone(),
    };
    let autoactivate = match a.setautoactivation.as_deref() {
        None => true,
        Some(v) => yes_no("--setautoactivation", v)?,
    };
    let new_pv = a.new_pv.resolve(&ctx.conf)?;
    let copies = match &a.vgmetadatacopies {
        Some(v) => mdacopies::parse_copies("--vgmetadatacopies", v)?,
        None => {
            mdacopies::Copies::Number(ctx.conf.get_int("metadata/vgmetadatacopies", 0).max(0) as u64)
        }
    };
    let _g = ctx.lock_global(true)?;
    let _v = ctx.lock_vg(&name, true)?;
    let scan_result = ctx.scan()?;
    if scan_result.vg_names().contains(&name) {
        return Err(CmdError::Failed(format!(
            "A volume group called {name} already exists."
        )));
    }
    // Every device is checked, and every new PV planned, before anything
    // is written: a bad argument anywhere leaves every device as it was.
    let mut planned: Vec<Planned> = Vec::new();
    for arg in &a.pvs {
        let dev = scan::resolve_device(arg, &ctx.conf).map_err(|e| {
            CmdError::Failed(format!("{e}\n  Command requires all devices to be found."))
        })?;
        let path = super::common::scan_name(&dev, &scan_result);
        if planned.iter().any(|p| p.devno == (dev.major, dev.minor)) {
            // LVM2 2.03 fails here after writing a label; rlvm writes nothing.
            return Err(CmdError::Failed(format!(
                "PV {arg} cannot be added to VG {name}: it is named twice."
            )));
        }
        if scan_result.is_duplicate_device(&path) {
            return Err(CmdError::Failed(format!(
                "Cannot use device {arg} with duplicates."
            )));
        }
        let info = match scan_result.pv_by_path(&path) {
            Some(p) => {
                refuse_pv_in_a_vg(&scan_result, p, arg)?;
                if scan_result.orphans().iter().all(|o| o.path != path) {
                    return Err(CmdError::Failed(format!(
                        "Physical volume '{arg}' is already in a volume group"
                    )));
                }
                Planned {
                    arg: arg.clone(),
                    devno: (dev.major, dev.minor),
                    info: p.clone(),
                    new: false,
                }
            }
            None => {
                // LVM2 initialises a plain device on the fly.
                if ctx.common.test {
                    return Err(CmdError::Failed(format!(
                        "{arg} is not a physical volume (test mode does not create one)."
                    )));
                }
                let info = super::pv::opts::plan_new_pv(
                    &new_pv,
                    dev.size_bytes,
                    &path,
                    arg,
                    Id::random(),
                    None,
                )?;
                Planned {
                    arg: arg.clone(),
                    devno: (dev.major, dev.minor),
                    info,
                    new: true,
                }
            }
        };
        planned.push(info);
    }
    // LVM2's rule for mixed logical block sizes (as vgextend).
    if !ctx.conf.get_bool("devices/allow_mixed_block_sizes", false) {
        let sizes: Vec<u32> = planned
            .iter()
            .filter_map(|p| blocksize::logical_block_size(&p.info.path))
            .collect();
        if let Some(b) = sizes.iter().find(|&&b| b != sizes[0]) {
            return Err(CmdError::Failed(format!(
                "Devices have inconsistent logical block sizes ({} and {b}).",
                sizes[0]
            )));
        }
    }
    // A PV too small for one extent joins with none (LVM2 allows it: a
    // PV that only keeps metadata) -- with the default sizes. An extent
    // or metadata area size the user gave that leaves a PV no extent is
    // refused before anything is written (issue 7: LVM2 writes such a VG).
    if a.extent_size.is_some() || new_pv.mda_size_given {
        if let Some(p) = planned
            .iter()
            .find(|p| store::pe_count_for(&p.info, extent_size) == 0)
        {
            return Err(CmdError::Failed(format!(
                "Physical volume {} is too small for extent size {}.",
                p.arg,
                units::display_size(extent_size)
            )));
        }
    }
    // LVM2 writes the new PVs, then fails in vg_write; rlvm refuses first.
    // (Areas all ignored are fine: one is put in use, as LVM2 does.)
    if planned
        .iter()
        .all(|p| p.info.label.header.metadata_areas.is_empty())
    {
        return Err(CmdError::Failed(
            "Aborting vg_write: No metadata areas to write to!".into(),
        ));
    }
    // Other formats' signatures: every question is asked before any wipe.
    let mut opened = Vec::new();
    for p in planned.iter().filter(|p| p.new) {
        let d = FileOpener.open(&p.info.path, true).map_err(failed)?;
        let sigs = super::pv::confirm_signatures(&ctx, d.as_ref(), &p.arg)?;
        opened.push((d, sigs));
    }
    let mut pv_infos = Vec::new();
    let mut new_devs = opened.into_iter();
    for p in planned {
        if !p.new {
            pv_infos.push(p.info);
            continue;
        }
        let Some((d, sigs)) = new_devs.next() else {
            break;
        };
        super::pv::wipe_confirmed(&ctx, d.as_ref(), &p.arg, &sigs)?;
        let info = super::pv::opts::write_new_pv(d.as_ref(), &p.info, new_pv.ignored)?;
        ctx.print(format!(
            "Physical volume \"{}\" successfully created.",
            p.arg
        ));
        pv_infos.push(info);
    }
    let mut vg = store::new_vg(&name, extent_size, &pv_infos);
    if ctx.conf.get_bool("metadata/check_pv_device_sizes", true) {
        let small = crate::metadata::store::pv_size_warnings(vg.pvs.iter().zip(&pv_infos));
        small.iter().for_each(|w| ctx.warn(w));
    }
    for (pv, info) in vg.pvs.iter_mut().zip(&pv_infos) {
        (pv.ba_start, pv.ba_size) = super::pv::opts::ba_of(info);
    }
    vg.tags = addtag.clone();
    vg.max_lv = a.max_lv.unwrap_or(0);
    vg.max_pv = a.max_pv.unwrap_or(0);
    vg.allocation_policy = alloc;
    vg.system_id = system_id;
    if !autoactivate {
        vg.flags.set("NOAUTOACTIVATE");
    }
    let (stored, all_in_use) = mdacopies::stored(copies);
    vg.metadata_copies = Some(stored);
    let mut handle = VgHandle::new_vg(vg, pv_infos);
    mdacopies::commit_balanced(&ctx, &mut handle, all_in_use)?;
    let _ = lock::invalidate_hints();
    ctx.print(format!("Volume group \"{name}\" successfully created"));
    Ok(())
}

/// A device of a vgcreate: an orphan PV, or a PV to create on it.
struct Planned {
    arg: String,
    devno: (u32, u32),
    info: store::PvInfo,
    new: bool,
}

/// `--alloc`: one of LVM2's policies; `normal` (the default) is not
/// recorded, and a VG has nothing to inherit from (`vg_set_alloc_policy`).
pub(crate) fn alloc_arg(v: Option<&str>) -> Result<Option<String>, CmdError> {
    match v {
        None | Some("normal") => Ok(None),
        Some("inherit") => Err(usage(
            "Volume Group allocation policy cannot inherit from anything",
        )),
        Some(p) if crate::metadata::model::ALLOC_POLICIES.contains(&p) => Ok(Some(p.to_string())),
        Some(p) => Err(CmdError::BadArg(format!(
            "Unrecognised allocation policy {p}\n  Invalid argument for --alloc: {p}"
        ))),
    }
}

/// A y|n option value, LVM2's way (exit 3 for anything else).
pub(crate) fn yes_no(opt: &str, v: &str) -> Result<bool, CmdError> {
    match v {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        _ => Err(CmdError::BadArg(format!("Invalid argument for {opt}: {v}"))),
    }
}

#[derive(Parser, Debug)]
#[command(about = "Remove volume group(s)")]
pub(crate) struct VgremoveArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Remove logical volumes without asking.
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Remove the VGs the selection selects (of those named, or all).
    #[arg(short = 'S', long = "select", value_name = "String")]
    select: Option<String>,
    #[arg(required_unless_present = "select", value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgremove(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgremoveArgs = parse("vgremove", args)?;
    let ctx = Ctx::new(&a.common)?;
    let _g = ctx.lock_global(true)?;
    // By key (name and UUID): `-S vg_uuid=..` picks one of several VGs
    // that share a name.
    let (keys, missing) = select::select_vg_keys(
        &ctx,
        &ctx.scan()?,
        &a.vgs,
        store::Access::default(),
        a.select.as_deref(),
    )?;
    let mut result = if missing {
        Err(CmdError::Failed(String::new()))
    } else {
        Ok(())
    };
    for key in &keys {
        if let Err(e) = remove_one(&ctx, key, a.force > 0) {
            if let CmdError::Failed(m) = &e {
                ctx.error(m);
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    let _ = lock::invalidate_hints();
    result
}

fn remove_one(ctx: &Ctx, key: &select::VgKey, force: bool) -> Result<(), CmdError> {
    let name = key.0.as_str();
    let (mut handle, _guard) = select::load_vg_key_handling_missing(ctx, key)?;
    let visible: Vec<String> = handle
        .vg
        .lvs
        .iter()
        .zip(handle.vg.visible_flags())
        .filter(|(_, v)| *v)
        .map(|(l, _)| l.name.clone())
        .collect();
    let had_lvs = !handle.vg.lvs.is_empty();
    if had_lvs {
        if !force
            && !confirm(
                ctx,
                &format!(
                    "Do you really want to remove volume group \"{name}\" containing {} logical volumes? [y/n]: ",
                    visible.len()
                ),
            )
        {
            return Err(CmdError::Failed(format!("Volume group \"{name}\" not removed")));
        }
        // LVM2 wipes outdated PVs at its first write, before the LVs go.
        if !ctx.common.test {
            crate::cmd::pvchange::clear_outdated(ctx, name)?;
        }
        if let Some(mut dm) = ctx.dm() {
            crate::ops::activate::deactivate_vg(&mut dm, &handle.vg)?;
        }
        for lv in &visible {
            ctx.print(format!("Logical volume \"{lv}\" successfully removed."));
        }
        handle.vg.lvs.clear();
    }
    if !ctx.common.test {
        // PVs removed from the VG while missing still hold an older copy
        // of it: made orphans first (LVM2's vgremove wipes them too), or
        // the name would live on in them. A crash after this leaves
        // orphans and the VG as it was. (Done above if there were LVs.)
        if !had_lvs {
            crate::cmd::pvchange::clear_outdated(ctx, name)?;
        }
        let ignored = crate::metadata::mda_balance::ignored_now(handle.pvs.values(), &FileOpener)
            .map_err(failed)?;
        handle.remove(&FileOpener).map_err(failed)?;
        // An ignored area stays ignored, as with LVM2.
        crate::metadata::mda_balance::apply(&ignored, true, &FileOpener).map_err(failed)?;
        if let Err(e) = backup::remove_backup(&ctx.conf, name) {
            ctx.warn(format!(
                "Failed to remove backup of volume group {name}: {e}"
            ));
        }
    }
    ctx.print(format!("Volume group \"{name}\" successfully removed"));
    Ok(())
}

/// vgcreate and vgextend: a PV that a VG holds (by its own metadata, the
/// metadata of another PV, or the VG name in its empty area) cannot be
/// added, in LVM2's three lines.
pub(crate) fn refuse_pv_in_a_vg(
    found: &store::Scan,
    p: &store::PvInfo,
    arg: &str,
) -> Result<(), CmdError> {
    let in_vg = p
        .vg()
        .map(|v| v.name.clone())
        .or_else(|| found.vg_of_pv(&p.id()).map(|h| h.vg.name.clone()))
        .or_else(|| p.claimed_vg());
    match in_vg {
        Some(vg) if vg.is_empty() => Err(CmdError::Failed(format!(
            "PV {arg} is used by a VG but its metadata is missing.\n  Can't initialize PV '{arg}' without -ff.\n  {arg}: physical volume not initialized."
        ))),
        Some(vg) => Err(CmdError::Failed(format!(
            "Physical volume '{arg}' is already in volume group '{vg}'\n  Unable to add physical volume '{arg}' to volume group '{vg}'\n  {arg}: physical volume not initialized."
        ))),
        None => Ok(()),
    }
}
