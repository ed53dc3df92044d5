//! vgrename, vgmerge, vgimportclone: VG renames and merges (LVM2's tools/vgrename.c, vgmerge.c, vgimportclone.c).

use std::ffi::OsString;

use clap::Parser;

use super::common::{failed, parse, usage, vg_arg, CmdError, CommonArgs, Ctx};
use crate::metadata::id::Id;
use crate::metadata::model::Vg;
use crate::metadata::names;
use crate::metadata::store::{self, Access, FileOpener, Scan, StoreError, VgHandle};
use crate::system::scan;

#[derive(Parser, Debug)]
#[command(about = "Rename a volume group")]
pub(crate) struct VgrenameArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Accepted for compatibility: the backup follows lvm.conf.
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Old VG (name or UUID), then the new name.
    #[arg(value_name = "VG")]
    args: Vec<String>,
}

/// `vgrename OLD NEW` / `vgrename VGUUID NEW` (LVM2's tools/vgrename.c):
/// one commit of the VG under its new name; active LVs' devices are
/// renamed with it; the old backup file goes.
pub fn vgrename(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgrenameArgs = parse("vgrename", args)?;
    let ctx = Ctx::new(&a.common)?;
    let [old_arg, new_arg] = a.args.as_slice() else {
        return Err(usage("Old and new volume group names need specifying"));
    };
    let old_arg = vg_arg(old_arg);
    let new = vg_arg(new_arg);
    // LVM2's validate_vg_rename_params: a failed command, not a usage error.
    names::validate_new_vg_name(&new, &ctx.conf.dev_dir().to_string_lossy(), |p| {
        std::path::Path::new(p).symlink_metadata().is_ok()
    })
    .map_err(|e| match e.detail() {
        Some(d) => CmdError::Failed(format!("{d}\n  {e}")),
        None => CmdError::Failed(e.to_string()),
    })?;
    if old_arg == new {
        return Err(CmdError::Failed(
            "Old and new volume group names must differ".into(),
        ));
    }
    let _global = ctx.lock_global(true)?;
    let found = ctx.scan()?;
    let target = resolve_vg_arg(&found, &old_arg)?;
    let old = target.name.clone();
    if target.by_uuid && old == new {
        return Err(CmdError::Failed(
            "New VG name must differ from the old VG name.".into(),
        ));
    }
    // Old and new names locked in name order, as LVM2 orders VG locks.
    let (first, second) = if old < new {
        (&old, &new)
    } else {
        (&new, &old)
    };
    let _l1 = ctx.lock_vg(first, true)?;
    let _l2 = ctx.lock_vg(second, true)?;
    let found = ctx.scan()?;
    let mut h = found
        .vg_by_id(&target.id, Access::default())
        .map_err(|e| not_processed(e, &old))?;
    if found.vg_ids().iter().any(|(n, _)| *n == new) {
        return Err(CmdError::Failed(format!(
            "New VG name \"{new}\" already exists"
        )));
    }
    if let Ok(id) = new.parse::<Id>() {
        if let Some((n, _)) = found.vg_ids().into_iter().find(|(_, i)| *i == id) {
            return Err(CmdError::Failed(format!(
                "New VG name \"{new}\" matches the UUID of existing VG {n}"
            )));
        }
    }
    prepare_for_update(&ctx, &h)?;
    let before = h.vg.clone();
    h.vg.name = new.clone();
    crate::ops::vgrename::rename_vg(ctx.dm().as_mut(), &ctx, &mut h, &before)?;
    if ctx.conf.backup_enabled() && !a.common.test {
        let _ = crate::system::backup::remove_backup(&ctx.conf, &old);
    }
    ctx.print(format!(
        "Volume group \"{old_arg}\" successfully renamed to \"{new}\""
    ));
    Ok(())
}

/// A VG named on the command line: by name, or by UUID when the argument
/// is the UUID of a VG found (LVM2's process_each_vg tries both).
struct VgTarget {
    name: String,
    id: Id,
    by_uuid: bool,
}

fn resolve_vg_arg(found: &Scan, arg: &str) -> Result<VgTarget, CmdError> {
    if let Ok(id) = arg.parse::<Id>() {
        if let Some((name, _)) = found.vg_ids().into_iter().find(|(_, i)| *i == id) {
            return Ok(VgTarget {
                name,
                id,
                by_uuid: true,
            });
        }
    }
    let id = found
        .resolve_vg_name(arg)
        .map_err(|e| not_processed(e, arg))?;
    Ok(VgTarget {
        name: arg.to_string(),
        id,
        by_uuid: false,
    })
}

/// LVM2 ends a VG it could not read with "Cannot process volume group X".
fn not_processed(e: StoreError, name: &str) -> CmdError {
    match e {
        StoreError::VgNotFound(_) | StoreError::DuplicateVgName(_) => {
            CmdError::Failed(format!("{e}\n  Cannot process volume group {name}"))
        }
        e => failed(e),
    }
}

/// The checks every write of a VG loaded by UUID makes before anything
/// changes (those of `Ctx::load_vg_for_update`): its warnings said, a VG
/// rlvm can write, no duplicate PVs, no missing PVs, copies that agree.
fn prepare_for_update(ctx: &Ctx, h: &VgHandle) -> Result<(), CmdError> {
    for w in &h.warnings {
        ctx.warn(w);
    }
    h.vg.check_writable().map_err(failed)?;
    h.check_no_duplicates().map_err(failed)?;
    if !h.missing.is_empty() {
        let name = &h.vg.name;
        return Err(CmdError::Failed(format!(
            "Cannot change VG {name} while PVs are missing.\n  See vgreduce --removemissing and vgextend --restoremissing.\n  Cannot process volume group {name}"
        )));
    }
    h.check_consistent().map_err(failed)
}

#[derive(Parser, Debug)]
#[command(about = "Merge volume groups")]
pub(crate) struct VgmergeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Accepted for compatibility: the backup follows lvm.conf.
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Accepted for compatibility (LVM2 lists nothing more either).
    #[arg(short = 'l', long = "list")]
    list: bool,
    /// Destination VG, then the VGs merged into it.
    #[arg(value_name = "VG")]
    args: Vec<String>,
}

/// `vgmerge DEST SRC...` (LVM2's tools/vgmerge.c): each inactive SRC's
/// PVs and LVs join DEST in one commit of DEST, which also overwrites
/// SRC's metadata on its PVs. A refusal changes nothing.
pub fn vgmerge(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgmergeArgs = parse("vgmerge", args)?;
    let ctx = Ctx::new(&a.common)?;
    if a.args.len() < 2 {
        return Err(usage("Please enter 2 or more volume groups to merge"));
    }
    let _global = ctx.lock_global(true)?;
    let to = vg_arg(&a.args[0]);
    let mut result = Ok(());
    for from in a.args[1..].iter().map(|f| vg_arg(f)) {
        if let Err(e) = merge_one(&ctx, &to, &from) {
            match e {
                CmdError::Failed(m) => ctx.error(m),
                e => return Err(e),
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}

fn merge_one(ctx: &Ctx, to: &str, from: &str) -> Result<(), CmdError> {
    if to == from {
        return Err(CmdError::Failed(format!(
            "Duplicate volume group name \"{from}\""
        )));
    }
    let (first, second) = if to < from { (to, from) } else { (from, to) };
    let _l1 = ctx.lock_vg(first, true)?;
    let _l2 = ctx.lock_vg(second, true)?;
    let found = ctx.scan()?;
    let load = |name: &str| -> Result<VgHandle, CmdError> {
        let h = found
            .vg_with(name, Access::default())
            .map_err(|e| not_processed(e, name))?;
        prepare_for_update(ctx, &h)?;
        Ok(h)
    };
    let mut h_to = load(to)?;
    let h_from = load(from)?;
    if let Some(dm) = ctx.dm() {
        if crate::ops::vgrename::vg_has_active_lvs(&dm, &h_from.vg)? {
            return Err(CmdError::Failed(format!(
                "Logical volumes in \"{from}\" must be inactive"
            )));
        }
    }
    check_compatible(&h_from.vg, &h_to.vg)?;
    archive(ctx, &h_from);
    h_to.absorb(h_from);
    ctx.commit(&mut h_to, &crate::metadata::store::command_line())?;
    ctx.print(format!(
        "Volume group \"{from}\" successfully merged into \"{to}\""
    ));
    Ok(())
}

/// LVM2's `vgs_are_compatible` (lib/metadata/metadata.c), in its order and
/// words (its double space included).
fn check_compatible(from: &Vg, to: &Vg) -> Result<(), CmdError> {
    let fail = |m: String| Err(CmdError::Failed(m));
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

/// The merged-away VG's last metadata goes to the archive, as LVM2's
/// vgmerge archives both VGs (the destination's is archived by its commit).
fn archive(ctx: &Ctx, h: &VgHandle) {
    if ctx.common.test {
        return;
    }
    if let Some(text) = h.committed_archive_text() {
        if let Err(e) =
            crate::system::backup::write_archive(&ctx.conf, &h.vg.name, h.committed_seqno(), &text)
        {
            ctx.warn(format!("Failed to archive volume group {}: {e}", h.vg.name));
        }
    }
}

#[derive(Parser, Debug)]
#[command(about = "Import a VG from cloned PVs")]
pub(crate) struct VgimportcloneArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The new VG's name (a number is added while it is taken).
    #[arg(short = 'n', long = "basevgname", value_name = "VG")]
    basevgname: Option<String>,
    /// Import an exported VG.
    #[arg(short = 'i', long = "import")]
    import: bool,
    /// Accepted for compatibility (the devices file is not changed).
    #[arg(long = "importdevices")]
    importdevices: bool,
    /// Every PV of the cloned VG.
    #[arg(value_name = "PV", required = true)]
    pvs: Vec<String>,
}

/// `vgimportclone [-n NAME] [-i] PV...` (LVM2's tools/vgimportclone.c):
/// the VG on cloned PVs becomes a VG of its own — new VG UUID, new PV
/// UUIDs, a name no other VG has — in one commit to the clones only.
pub fn vgimportclone(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgimportcloneArgs = parse("vgimportclone", args)?;
    let ctx = Ctx::new(&a.common)?;
    if let Some(b) = &a.basevgname {
        names::validate_vg_name(b).map_err(|e| usage(e.to_string()))?;
    }
    let _global = ctx.lock_global(true)?;
    // The clones are read alone: with the originals beside them they are
    // duplicates of them.
    let mut clones: Vec<scan::ScanDev> = Vec::new();
    for arg in &a.pvs {
        let dev = scan::resolve_device(arg, &ctx.conf)
            .map_err(|_| CmdError::Failed(format!("Failed to find device {arg}.")))?;
        if !clones
            .iter()
            .any(|c| (c.major, c.minor) == (dev.major, dev.minor))
        {
            clones.push(dev);
        }
    }
    let clone_paths: Vec<String> = clones
        .iter()
        .map(|d| d.path.to_string_lossy().into_owned())
        .collect();
    let mut mine = store::scan(&FileOpener, &clone_paths);
    mine.host = ctx.host.clone();
    let mut old: Option<String> = None;
    for path in &clone_paths {
        let Some(pv) = mine.pv_by_path(path) else {
            return Err(CmdError::Failed(format!(
                "Failed to find PVID for device {path}."
            )));
        };
        match (pv.claimed_vg().filter(|n| !n.is_empty()), &old) {
            (None, _) => {}
            (Some(n), None) => old = Some(n),
            (Some(n), Some(o)) if n == *o => {}
            _ => return Err(CmdError::Failed("Devices must be from the same VG.".into())),
        }
    }
    let old = old.ok_or_else(|| CmdError::Failed("No VG found on devices.".into()))?;
    // Every other VG name, to pick one no VG has.
    let others: Vec<String> = scan::candidate_devices(&ctx.conf)
        .map_err(failed)?
        .iter()
        .filter(|d| {
            !clones
                .iter()
                .any(|c| (c.major, c.minor) == (d.major, d.minor))
        })
        .map(|d| d.path.to_string_lossy().into_owned())
        .collect();
    let taken: Vec<String> = store::scan(&FileOpener, &others)
        .vg_ids()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let new = pick_clone_name(a.basevgname.as_deref(), &old, &taken);
    let (first, second) = if old < new {
        (&old, &new)
    } else {
        (&new, &old)
    };
    let _l1 = ctx.lock_vg(first, true)?;
    let _l2 = ctx.lock_vg(second, true)?;
    let mut h = mine.vg_allow_exported(&old).map_err(|e| {
        CmdError::Failed(format!(
            "{e}\n  Failed to read VG {old} from devices being imported."
        ))
    })?;
    let update_failed = |m: String| {
        CmdError::Failed(format!(
            "{m}\n  Failed to update VG on devices being imported."
        ))
    };
    if h.vg.is_exported() && !a.import {
        return Err(update_failed(format!(
            "VG {old} is exported, use the --import option."
        )));
    }
    if !h.missing.is_empty() {
        return Err(update_failed(format!(
            "VG {old} is partial, it must be complete."
        )));
    }
    for w in &h.warnings {
        ctx.warn(w);
    }
    h.vg.check_writable().map_err(failed)?;
    h.check_consistent().map_err(failed)?;
    let busy: Vec<String> = clones
        .iter()
        .filter(|d| crate::ops::vgrename::device_is_held(d.major, d.minor))
        .map(|d| {
            format!(
                "Device {} has active LVs, deactivate first.",
                d.path.display()
            )
        })
        .collect();
    if !busy.is_empty() {
        return Err(update_failed(busy.join("\n  ")));
    }
    // The devices given must be exactly the VG's PVs.
    for pv in &h.vg.pvs {
        if !h.pv_paths.contains_key(&pv.key) {
            return Err(update_failed(format!(
                "PV with UUID {} is part of VG {old}, but is not included in the devices to import.\n  All PVs in the VG must be imported together.",
                pv.id
            )));
        }
    }
    for path in &clone_paths {
        if !h.pv_paths.values().any(|p| p == path) {
            return Err(update_failed(format!(
                "Device {path} was not found in VG {old}.\n  The devices to import must match the devices in the VG."
            )));
        }
    }
    if a.import {
        h.vg.status.clear("EXPORTED");
        for pv in h.vg.pvs.iter_mut() {
            pv.status.clear("EXPORTED");
        }
    }
    h.vg.system_id = ctx.host.system_id.clone();
    let pv_ids =
        h.vg.pvs
            .iter()
            .map(|p| (p.key.clone(), Id::random()))
            .collect();
    h.new_identity(Id::random(), &new, &pv_ids);
    ctx.commit(&mut h, &crate::metadata::store::command_line())
        .map_err(|e| match e {
            CmdError::Failed(m) => update_failed(m),
            e => e,
        })
}

/// The new VG's name (LVM2's rule): the base name given, else the old
/// name followed by 1; while a VG has it, the base followed by the next
/// number.
fn pick_clone_name(base: Option<&str>, old: &str, taken: &[String]) -> String {
    let (base, mut n, mut name) = match base {
        Some(b) => (b, 0u32, b.to_string()),
        None => (old, 1, format!("{old}1")),
    };
    while taken.contains(&name) {
        n += 1;
        name = format!("{base}{n}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::pick_clone_name;

    #[test]
    fn clone_names_follow_lvm2() {
        let taken = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(pick_clone_name(None, "vg", &taken(&["vg"])), "vg1");
        assert_eq!(pick_clone_name(None, "vg", &taken(&["vg", "vg1"])), "vg2");
        assert_eq!(
            pick_clone_name(Some("AvgB"), "AvgB", &taken(&["AvgB"])),
            "AvgB1"
        );
        assert_eq!(
            pick_clone_name(Some("vgB"), "AvgB", &taken(&["AvgB"])),
            "vgB"
        );
        assert_eq!(
            pick_clone_name(Some("x"), "vg", &taken(&["x", "x1", "x2"])),
            "x3"
        );
    }
}
