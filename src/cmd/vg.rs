//! vgcreate, vgremove, vgck, vgchange, vgcfgbackup, vgcfgrestore.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::id::Id;
use crate::metadata::store::{self, Access, DevOpener, FileOpener, PvLayout, VgHandle};
use crate::metadata::{names, text, units};
use crate::system::{backup, files, lock, scan};

use super::common::{
    apply_tags, bad_arg, failed, parse, tag_args, usage, vg_arg, vg_name_arg, vg_name_args,
    vg_read_failed, CmdError, CommonArgs, Ctx,
};
use super::{activate, confirm};

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
    /// Metadata size for PVs created on the fly.
    #[arg(long = "metadatasize", value_name = "Size[m|UNIT]")]
    metadatasize: Option<String>,
    #[arg(long = "pvmetadatacopies", alias = "metadatacopies")]
    pvmetadatacopies: Option<u32>,
    #[arg(value_name = "VG")]
    vg: String,
    #[arg(required = true, value_name = "PV")]
    pvs: Vec<String>,
}

pub fn vgcreate(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgcreateArgs = parse("vgcreate", args)?;
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
    let layout = new_pv_layout(&a)?;
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
                let info =
                    store::plan_pv(dev.size_bytes, &path, Id::random(), &layout).map_err(failed)?;
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
        let info = store::write_pv(d.as_ref(), &p.info).map_err(failed)?;
        ctx.print(format!(
            "Physical volume \"{}\" successfully created.",
            p.arg
        ));
        pv_infos.push(info);
    }
    let mut vg = store::new_vg(&name, extent_size, &pv_infos);
    vg.tags = addtag.clone();
    vg.max_lv = a.max_lv.unwrap_or(0);
    vg.max_pv = a.max_pv.unwrap_or(0);
    // A new VG belongs to this host, as with LVM2 (none without an ID).
    vg.system_id = ctx.host.system_id.clone();
    let mut handle = VgHandle::new_vg(vg, pv_infos);
    ctx.commit(&mut handle, &store::command_line())?;
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

/// The layout of PVs vgcreate creates on the fly.
fn new_pv_layout(a: &VgcreateArgs) -> Result<PvLayout, CmdError> {
    let mut layout = PvLayout::default();
    if let Some(c) = a.pvmetadatacopies {
        layout.mda_copies = c.min(2);
    }
    if let Some(s) = &a.metadatasize {
        let b = units::parse_size(s, 'm').map_err(bad_arg("--metadatasize", s))? * 512;
        layout.pe_start = (4096 + b).div_ceil(1 << 20) << 20;
        layout.mda_size = layout.pe_start - 4096;
    }
    Ok(layout)
}

#[derive(Parser, Debug)]
#[command(about = "Remove volume group(s)")]
pub(crate) struct VgremoveArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Remove logical volumes without asking.
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    #[arg(required = true, value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgremove(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgremoveArgs = parse("vgremove", args)?;
    let ctx = Ctx::new(&a.common)?;
    let names = vg_name_args(&a.vgs)?;
    let _g = ctx.lock_global(true)?;
    let mut result = Ok(());
    for name in &names {
        if let Err(e) = remove_one(&ctx, name, a.force > 0) {
            if let CmdError::Failed(m) = &e {
                ctx.error(m);
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    let _ = lock::invalidate_hints();
    result
}

fn remove_one(ctx: &Ctx, name: &str, force: bool) -> Result<(), CmdError> {
    let (mut handle, _guard) = ctx.load_vg_handling_missing(name)?;
    let visible: Vec<String> = handle
        .vg
        .lvs
        .iter()
        .filter(|l| handle.vg.lv_is_visible(l))
        .map(|l| l.name.clone())
        .collect();
    if !handle.vg.lvs.is_empty() {
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
        if let Some(mut dm) = ctx.dm() {
            crate::ops::activate::deactivate_vg(&mut dm, &handle.vg)?;
        }
        for lv in &visible {
            ctx.print(format!("Logical volume \"{lv}\" successfully removed."));
        }
        handle.vg.lvs.clear();
    }
    if !ctx.common.test {
        handle.remove(&FileOpener).map_err(failed)?;
        if let Err(e) = backup::remove_backup(&ctx.conf, name) {
            ctx.warn(format!(
                "Failed to remove backup of volume group {name}: {e}"
            ));
        }
    }
    ctx.print(format!("Volume group \"{name}\" successfully removed"));
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Check the consistency of volume group(s)")]
pub(crate) struct VgckArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Rewrite damaged or outdated metadata copies.
    #[arg(long = "updatemetadata")]
    updatemetadata: bool,
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgck(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgckArgs = parse("vgck", args)?;
    let ctx = Ctx::new(&a.common)?;
    let named = vg_name_args(&a.vgs)?;
    let mut scan_result = ctx.scan()?;
    let names: Vec<String> = if a.vgs.is_empty() {
        ctx.unnamed_vgs(&scan_result, Access::default())
    } else {
        named
    };
    let mut bad = false;
    for name in &names {
        // Read under the VG's shared lock (released before a repair
        // takes it exclusively).
        let read = match ctx.read_vg_locked(&mut scan_result, name, Access::default()) {
            Ok(r) => r,
            Err(e) => {
                if let CmdError::Failed(m) = e {
                    ctx.error(m);
                }
                bad = true;
                continue;
            }
        };
        let handle = match read {
            Ok(h) => h,
            Err(e) => {
                if let CmdError::Failed(m) = vg_read_failed(e) {
                    ctx.error(m);
                }
                bad = true;
                continue;
            }
        };
        let mut problems = handle.warnings.clone();
        for info in handle.pvs.values() {
            for m in &info.mdas {
                match (&m.header, &m.committed) {
                    (Err(e), _) => problems.push(format!(
                        "Metadata area at offset {} on {} is damaged: {e}",
                        m.locn.offset, info.path
                    )),
                    (_, Some(Err(e))) => problems.push(format!(
                        "Metadata on {} at offset {} is damaged: {e}",
                        info.path, m.locn.offset
                    )),
                    _ => {}
                }
            }
        }
        if let Err(e) = crate::metadata::validate::validate_vg(&handle.vg) {
            ctx.error(format!("VG {name} metadata is not valid: {e}"));
            bad = true;
            continue;
        }
        for p in &problems {
            ctx.warn(p);
        }
        if !problems.is_empty() {
            if a.updatemetadata {
                let (mut h, _g) = ctx.load_vg_for_repair(name)?;
                ctx.commit(&mut h, &store::command_line())?;
                ctx.print(format!(
                    "Updated metadata of volume group {name} to seqno {}.",
                    h.vg.seqno
                ));
            } else {
                bad = true;
            }
        }
    }
    if bad {
        Err(CmdError::Failed(String::new()))
    } else {
        Ok(())
    }
}

#[derive(Parser, Debug)]
#[command(about = "Change volume group attributes")]
pub(crate) struct VgchangeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Activate (y, ey, ly, ay) or deactivate (n) the VG's LVs.
    #[arg(short = 'a', long = "activate", value_name = "y|n|ay|ey|ly")]
    pub activate: Option<String>,
    /// Add a tag (a leading @ is accepted).
    #[arg(long = "addtag", value_name = "Tag")]
    pub addtag: Vec<String>,
    /// Remove a tag.
    #[arg(long = "deltag", value_name = "Tag")]
    pub deltag: Vec<String>,
    /// Refresh the LVs' tables from metadata.
    #[arg(long = "refresh")]
    pub refresh: bool,
    /// Accepted for compatibility with autoactivation callers.
    #[arg(long = "autoactivation", value_name = "String")]
    pub autoactivation: Option<String>,
    #[arg(long = "sysinit")]
    pub sysinit: bool,
    #[arg(short = 'P', long = "partial")]
    pub partial: bool,
    #[arg(long = "ignoremonitoring")]
    pub ignoremonitoring: bool,
    #[arg(long = "monitor", value_name = "y|n")]
    pub monitor: Option<String>,
    #[arg(long = "poll", value_name = "y|n")]
    pub poll: Option<String>,
    /// Activate LVs even if they have the activation skip flag.
    #[arg(short = 'K', long = "ignoreactivationskip")]
    pub ignoreactivationskip: bool,
    /// Allow (y) or forbid (n) autoactivation (-aay) of the VG's LVs.
    #[arg(long = "setautoactivation", value_name = "y|n")]
    pub setautoactivation: Option<String>,
    #[arg(value_name = "VG")]
    pub vgs: Vec<String>,
}

pub fn vgchange(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgchangeArgs = parse("vgchange", args)?;
    let ctx = Ctx::new(&a.common)?;
    let addtag = tag_args("--addtag", &a.addtag)?;
    let deltag = tag_args("--deltag", &a.deltag)?;
    let poll = activate::poll_wanted(a.poll.as_deref(), a.sysinit)?;
    let autoact = match a.setautoactivation.as_deref() {
        None => None,
        Some("y") | Some("yes") => Some(true),
        Some("n") | Some("no") => Some(false),
        Some(v) => {
            return Err(CmdError::BadArg(format!(
                "Invalid argument for --setautoactivation: {v}"
            )))
        }
    };
    ctx.ignore_activation_skip.set(a.ignoreactivationskip);
    if a.activate.is_none()
        && autoact.is_none()
        && addtag.is_empty()
        && deltag.is_empty()
        && !a.refresh
        && a.poll.is_none()
    {
        return Err(usage(
            "One of -a, --addtag, --deltag, --refresh or --poll is required.",
        ));
    }
    let names: Vec<String> = if a.vgs.is_empty() {
        ctx.unnamed_vgs(&ctx.scan()?, Access::default())
    } else {
        vg_name_args(&a.vgs)?
    };
    let mut result = Ok(());
    for name in &names {
        let one = (|| -> Result<(), CmdError> {
            if !addtag.is_empty() || !deltag.is_empty() || autoact.is_some() {
                let (mut h, _g) = ctx.load_vg_handling_missing(name)?;
                if let Some(y) = autoact {
                    // LVM2's refusal of a no-op (vgchange_setautoactivation).
                    if h.vg.flags.has("NOAUTOACTIVATE") != y {
                        return Err(CmdError::Failed(format!(
                            "Volume group autoactivation is already {}.",
                            if y { "yes" } else { "no" }
                        )));
                    }
                    if y {
                        h.vg.flags.clear("NOAUTOACTIVATE");
                    } else {
                        h.vg.flags.set("NOAUTOACTIVATE");
                    }
                }
                apply_tags(&mut h.vg.tags, &addtag, &deltag);
                ctx.commit(&mut h, &store::command_line())?;
                ctx.print(format!("Volume group \"{name}\" successfully changed"));
            }
            if let Some(mode) = &a.activate {
                activate::vgchange_activate(&ctx, name, mode, poll)?;
            }
            if a.refresh {
                activate::vgchange_refresh(&ctx, name, poll)?;
            }
            if a.activate.is_none() && !a.refresh && a.poll.as_deref() == Some("y") {
                activate::vgchange_poll(&ctx, name)?;
            }
            Ok(())
        })();
        if let Err(e) = one {
            match &e {
                CmdError::Usage(_)
                | CmdError::BadArg(_)
                | CmdError::Clap(_)
                | CmdError::InitFailed(_) => return Err(e),
                CmdError::Failed(m) => ctx.error(m),
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}

#[derive(Parser, Debug)]
#[command(about = "Backup volume group configuration(s)")]
pub(crate) struct VgcfgbackupArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Write to this file instead (%s is replaced by the VG name).
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// Back up VGs of other hosts (a system ID not this host's) too.
    #[arg(long = "foreign")]
    foreign: bool,
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgcfgbackup(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgcfgbackupArgs = parse("vgcfgbackup", args)?;
    let ctx = Ctx::new(&a.common)?;
    let named = vg_name_args(&a.vgs)?;
    let mut scan_result = ctx.scan()?;
    let access = Access {
        exported: true,
        foreign: a.foreign,
    };
    let names: Vec<String> = if a.vgs.is_empty() {
        ctx.unnamed_vgs(&scan_result, access)
    } else {
        named
    };
    if names.len() > 1 {
        if let Some(f) = &a.file {
            if !f.contains("%s") {
                return Err(usage(
                    "Cannot back up more than one VG to one file; use %s in the file name.",
                ));
            }
        }
    }
    for name in &names {
        let h = ctx
            .read_vg_locked(&mut scan_result, name, access)?
            .map_err(failed)?;
        let header = store::text_header(&format!(
            "vgcfgbackup{} {name}",
            a.file
                .as_ref()
                .map(|f| format!(" -f {f}"))
                .unwrap_or_default()
        ));
        let text = text::export_file(&h.vg, &header);
        match &a.file {
            Some(f) => {
                let path = f.replace("%s", name);
                std::fs::write(&path, text).map_err(|e| failed(format!("{path}: {e}")))?;
            }
            None => {
                backup::write_backup(&ctx.conf, name, &text).map_err(failed)?;
            }
        }
        ctx.print(format!("Volume group \"{name}\" successfully backed up."));
    }
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Restore volume group configuration")]
pub(crate) struct VgcfgrestoreArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Metadata file to restore (default: the VG's backup file).
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// List the archived metadata of the VG.
    #[arg(short = 'l', long = "list")]
    list: bool,
    #[arg(short = 'F', long = "force")]
    force: bool,
    #[arg(value_name = "VG")]
    vg: String,
}

pub fn vgcfgrestore(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgcfgrestoreArgs = parse("vgcfgrestore", args)?;
    let ctx = Ctx::new(&a.common)?;
    let name = vg_name_arg(&a.vg)?;
    if a.list {
        for f in backup::list_archives(&ctx.conf, &name).map_err(failed)? {
            ctx.print(format!("File:\t\t{}", f.path.display()));
        }
        return Ok(());
    }
    let path = match &a.file {
        Some(f) => std::path::PathBuf::from(f),
        None => backup::backup_path(&ctx.conf, &name),
    };
    // Only a regular file, and a bounded read (`-f /dev/zero` fails at
    // once), with LVM2's words when the file cannot be used.
    let unreadable = |why: String| {
        CmdError::Failed(format!(
            "{why}\n  WARNING: couldn't read volume group metadata from file.\n  Failed to read VG {name} from {}\n  Restore failed.",
            path.display()
        ))
    };
    let content =
        files::read_text(&path, files::MAX_METADATA_FILE).map_err(|e| unreadable(e.to_string()))?;
    let (vg, _) = text::import_vg(&content).map_err(|e| unreadable(e.to_string()))?;
    if vg.name != name {
        return Err(CmdError::Failed(format!(
            "Volume group name {} in file {} does not match {name}.",
            vg.name,
            path.display()
        )));
    }
    vg.check_writable().map_err(failed)?;
    let _g = ctx.lock_global(true)?;
    let _l = ctx.lock_vg(&name, true)?;
    let scan_result = ctx.scan()?;
    if let Ok(current) = scan_result.vg_with(&name, Access::ANY) {
        // Never over another host's VG.
        if !scan_result.host.owns(&current.vg) {
            scan_result
                .vg_with(&name, Access::default())
                .map_err(failed)?;
        }
        if current.vg.id != vg.id && !a.force {
            return Err(CmdError::Failed(format!(
                "Volume group {name} on disk has a different UUID; use --force to overwrite."
            )));
        }
        if !a.force
            && ctx
                .dm()
                .is_some_and(|dm| crate::ops::activate::any_lv_active(&dm, &current.vg))
        {
            return Err(CmdError::Failed(format!(
                "Volume group {name} has active volume(s); deactivate them first or use --force."
            )));
        }
    }
    let mut infos = Vec::new();
    for pv in &vg.pvs {
        match scan_result.pvs.iter().find(|p| p.id() == pv.id) {
            Some(i) => infos.push(i.clone()),
            None => {
                return Err(CmdError::Failed(format!(
                    "Couldn't find device with uuid {}.\n  Cannot restore Volume Group {name} with 1 PVs marked as missing.\n  Restore failed.",
                    pv.id
                )))
            }
        }
    }
    let file_seqno = vg.seqno;
    let mut handle = VgHandle::new_vg(vg, infos);
    handle.set_committed_seqno(file_seqno);
    ctx.commit(&mut handle, &store::command_line())?;
    let _ = lock::invalidate_hints();
    ctx.print(format!("Restored volume group {name}."));
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
        .or_else(|| found.vg_of_pv(&p.id()).map(|h| h.vg.name))
        .or_else(|| p.claimed_vg());
    match in_vg {
        Some(vg) => Err(CmdError::Failed(format!(
            "Physical volume '{arg}' is already in volume group '{vg}'\n  Unable to add physical volume '{arg}' to volume group '{vg}'\n  {arg}: physical volume not initialized."
        ))),
        None => Ok(()),
    }
}
