//! lvmdevices: list and edit the devices file (LVM2's tools/lvmdevices.c).
//! Reads devices' PV labels and sysfs; writes only the devices file,
//! through `system::devicesfile` (under its lock, atomically).

use std::ffi::OsString;
use std::path::Path;

use clap::Parser;

use crate::metadata::id::Id;
use crate::metadata::store::{self, FileOpener};
use crate::system::devicesfile::{self, DevIds, DevicesFile, Entry};
use crate::system::scan::{self, ScanDev};

use super::common::{failed, parse, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Manage the devices file")]
pub(crate) struct LvmdevicesArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Add a device to the devices file.
    #[arg(long = "adddev", value_name = "PV")]
    adddev: Option<String>,
    /// Remove a device from the devices file (by name; by device ID with
    /// --deviceidtype).
    #[arg(long = "deldev", value_name = "String")]
    deldev: Option<String>,
    /// Find the device holding this PVID and add it.
    #[arg(long = "addpvid", value_name = "String")]
    addpvid: Option<String>,
    /// Remove the entry of this PVID.
    #[arg(long = "delpvid", value_name = "String")]
    delpvid: Option<String>,
    /// The device ID type to record (devname, loop_file, sys_wwid, ...).
    #[arg(long = "deviceidtype", value_name = "String")]
    deviceidtype: Option<String>,
    /// Check the entries against the devices (fails if updates are needed).
    #[arg(long = "check")]
    check: bool,
    /// Update the entries from the devices.
    #[arg(long = "update")]
    update: bool,
}

/// The device ID types LVM2 knows (`idtype_from_str`).
const ID_TYPES: [&str; 9] = [
    "sys_wwid",
    "sys_serial",
    "devname",
    "mpath_uuid",
    "crypt_uuid",
    "lvmlv_uuid",
    "md_uuid",
    "loop_file",
    "wwid_naa",
];

pub fn lvmdevices(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvmdevicesArgs = parse("lvmdevices", args)?;
    let ctx = Ctx::new(&a.common)?;
    if let Some(t) = &a.deviceidtype {
        if !ID_TYPES.contains(&t.as_str()) && t != "wwid_eui" && t != "wwid_t10" {
            return Err(CmdError::Failed("Unknown device_id type.".into()));
        }
    }
    if !ctx.conf.use_devicesfile() {
        return Err(CmdError::Failed("Devices file not enabled.".into()));
    }
    let editing = a.update
        || a.adddev.is_some()
        || a.deldev.is_some()
        || a.addpvid.is_some()
        || a.delpvid.is_some();
    let path = ctx.conf.devicesfile_path();
    if !editing && !path.exists() {
        return Err(CmdError::Failed("Devices file does not exist.".into()));
    }
    if a.check || a.update {
        return check_update(&ctx, a.update);
    }
    if let Some(dev) = &a.adddev {
        return add_dev(&ctx, dev, a.deviceidtype.as_deref());
    }
    if let Some(pvid) = &a.addpvid {
        return add_pvid(&ctx, pvid, a.deviceidtype.as_deref());
    }
    if let Some(name) = &a.deldev {
        return del_dev(&ctx, name, a.deviceidtype.as_deref());
    }
    if let Some(pvid) = &a.delpvid {
        return del_pvid(&ctx, pvid);
    }
    list(&ctx)
}

/// The PV UUID on a device (raw, no dashes), if it is a PV.
fn pvid_on(path: &str) -> Option<String> {
    let found = store::scan(&FileOpener, &[path.to_string()]);
    found.pvs.first().map(|p| p.id().as_raw_str().to_string())
}

fn ids_of(dev: &ScanDev) -> Option<DevIds> {
    devicesfile::dev_ids_for_path(Path::new("/sys"), &dev.path).ok()
}

/// Every usable device with its IDs.
fn devices_with_ids(ctx: &Ctx) -> Result<Vec<(ScanDev, DevIds)>, CmdError> {
    Ok(scan::all_devices(&ctx.conf)
        .map_err(failed)?
        .into_iter()
        .filter_map(|d| {
            let ids = ids_of(&d)?;
            Some((d, ids))
        })
        .collect())
}

/// The device an entry names, if present.
fn device_of<'a>(devs: &'a [(ScanDev, DevIds)], e: &Entry) -> Option<&'a ScanDev> {
    devs.iter().find(|(_, ids)| ids.matches(e)).map(|(d, _)| d)
}

fn load(ctx: &Ctx) -> Result<DevicesFile, CmdError> {
    Ok(devicesfile::load_in_use(&ctx.conf)
        .map_err(failed)?
        .map(|(_, df)| df)
        .unwrap_or_default())
}

/// No option: one line per entry, as LVM2 prints them.
fn list(ctx: &Ctx) -> Result<(), CmdError> {
    let df = load(ctx)?;
    let devs = devices_with_ids(ctx)?;
    for e in df.entries() {
        let dev = device_of(&devs, e)
            .map(|d| d.path.display().to_string())
            .unwrap_or_else(|| "none".into());
        let part = e.part.map(|p| format!(" PART={p}")).unwrap_or_default();
        ctx.print(format!(
            "Device {dev} IDTYPE={} IDNAME={} DEVNAME={} PVID={}{part}",
            e.idtype,
            e.idname,
            e.devname.as_deref().unwrap_or("none"),
            e.pvid.as_deref().unwrap_or("none"),
        ));
    }
    Ok(())
}

/// `--adddev`: any device, even one the filters exclude; a device that
/// is no PV is listed without a PVID.
fn add_dev(ctx: &Ctx, dev: &str, idtype: Option<&str>) -> Result<(), CmdError> {
    let Some(d) = scan::any_device(dev) else {
        return Err(CmdError::Failed(format!("No device found for {dev}.")));
    };
    let pvid = pvid_on(dev);
    devicesfile::record_device(&ctx.conf, &d.path, pvid.as_deref(), idtype).map_err(failed)?;
    Ok(())
}

fn parse_pvid(arg: &str) -> Result<Id, CmdError> {
    arg.parse::<Id>()
        .map_err(|_| CmdError::Failed("Invalid PVID.".into()))
}

/// `--addpvid`: the devices the filters let through are searched for the
/// PV.
fn add_pvid(ctx: &Ctx, arg: &str, idtype: Option<&str>) -> Result<(), CmdError> {
    let id = parse_pvid(arg)?;
    let pvid = id.as_raw_str();
    let df = load(ctx)?;
    if let Some(e) = df.entries().find(|e| e.pvid.as_deref() == Some(pvid)) {
        return Err(CmdError::Failed(format!(
            "PVID already exists in devices file for {}.",
            e.devname.as_deref().unwrap_or(".")
        )));
    }
    let paths: Vec<String> = scan::all_devices(&ctx.conf)
        .map_err(failed)?
        .iter()
        .map(|d| d.path.display().to_string())
        .collect();
    let found = store::scan(&FileOpener, &paths);
    let Some(pv) = found.pvs.iter().find(|p| p.id() == id) else {
        return Err(CmdError::Failed(format!(
            "PVID {pvid} not found on any devices."
        )));
    };
    devicesfile::record_device(&ctx.conf, Path::new(&pv.path), Some(pvid), idtype)
        .map_err(failed)?;
    Ok(())
}

/// `--deldev NAME` (by device name), or `--deldev IDNAME --deviceidtype
/// T` (by device ID).
fn del_dev(ctx: &Ctx, name: &str, idtype: Option<&str>) -> Result<(), CmdError> {
    let df = load(ctx)?;
    let target: Entry = match idtype {
        None => {
            if !name.starts_with("/dev/") {
                ctx.warn("to remove a device by device id, include --deviceidtype.");
            }
            // LVM2 finds the entry of the device itself (`get_du_for_dev`):
            // by its IDs, or a devname entry recorded under another path
            // of the same device.
            let by_dev = scan::any_device(name).and_then(|d| {
                let ids = ids_of(&d);
                df.entries()
                    .find(|e| {
                        ids.as_ref().is_some_and(|ids| ids.matches(e))
                            || names_device(e, d.major, d.minor)
                    })
                    .cloned()
            });
            match by_dev.or_else(|| {
                df.entries()
                    .find(|e| e.devname.as_deref() == Some(name))
                    .cloned()
            }) {
                Some(e) => e,
                None => {
                    return Err(CmdError::Failed(format!(
                        "No devices file entry for {name}."
                    )))
                }
            }
        }
        Some(t) => {
            if name.starts_with("/dev/") {
                ctx.warn("to remove a device by name, do not include --deviceidtype.");
            }
            match df.entries().find(|e| e.idtype == t && e.idname == name) {
                Some(e) => e.clone(),
                None => {
                    return Err(CmdError::Failed(format!(
                        "No devices file entry with device id {t} {name}."
                    )))
                }
            }
        }
    };
    if let Some(dev) = target.devname.as_deref() {
        confirm_unused(ctx, dev)?;
    }
    devicesfile::edit(&ctx.conf, |df| df.remove_where(|e| *e == target) > 0).map_err(failed)?;
    Ok(())
}

/// Whether a devname entry's IDNAME is a node of device `major:minor`
/// (another path of the same device). Other types match by their IDs: a
/// DEVNAME may be stale.
fn names_device(e: &Entry, major: u32, minor: u32) -> bool {
    e.idtype == "devname" && devno_of(&e.idname) == Some((major, minor))
}

/// The device number of a block device node.
fn devno_of(path: &str) -> Option<(u32, u32)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md = std::fs::metadata(path).ok()?;
    md.file_type()
        .is_block_device()
        .then(|| (libc::major(md.rdev()), libc::minor(md.rdev())))
}

/// `--delpvid`.
fn del_pvid(ctx: &Ctx, arg: &str) -> Result<(), CmdError> {
    let id = parse_pvid(arg)?;
    let pvid = id.as_raw_str();
    let df = load(ctx)?;
    let matching: Vec<&Entry> = df
        .entries()
        .filter(|e| e.pvid.as_deref() == Some(pvid))
        .collect();
    match matching.as_slice() {
        [] => return Err(CmdError::Failed("PVID not found in devices file.".into())),
        [one] => {
            if let Some(dev) = one.devname.as_deref() {
                confirm_unused(ctx, dev)?;
            }
        }
        [a, b, ..] => {
            return Err(CmdError::Failed(format!(
                "Multiple devices file entries for PVID {pvid} ({} {}), remove by device name.",
                a.devname.as_deref().unwrap_or("."),
                b.devname.as_deref().unwrap_or(".")
            )))
        }
    }
    devicesfile::edit(&ctx.conf, |df| {
        df.remove_where(|e| e.pvid.as_deref() == Some(pvid)) > 0
    })
    .map_err(failed)?;
    Ok(())
}

/// LVM2 asks before dropping a device an active LV uses (it would vanish
/// from the next command's view): a device with holders in sysfs.
fn confirm_unused(ctx: &Ctx, dev: &str) -> Result<(), CmdError> {
    let Some(d) = scan::any_device(dev) else {
        return Ok(());
    };
    let holders = format!("/sys/dev/block/{}:{}/holders", d.major, d.minor);
    let used = std::fs::read_dir(holders).is_ok_and(|mut r| r.next().is_some());
    if used
        && !super::confirm(
            ctx,
            &format!("Device {dev} is used by an active LV, continue to remove? [y/n]: "),
        )
    {
        return Err(CmdError::Failed("Device not removed.".into()));
    }
    Ok(())
}

/// `--check` / `--update`: each present device's PVID and name against
/// its entry (LVM2's `device_ids_validate`).
fn check_update(ctx: &Ctx, update: bool) -> Result<(), CmdError> {
    let df = load(ctx)?;
    let devs = devices_with_ids(ctx)?;
    let mut fixed = df.clone();
    for e in fixed.entries_mut() {
        let Some(dev) = device_of(&devs, e) else {
            continue;
        };
        let path = dev.path.display().to_string();
        let pvid = pvid_on(&path);
        if pvid != e.pvid {
            ctx.warn(format!(
                "PVID {} from devices file for {path} does not match the device ({}).",
                e.pvid.as_deref().unwrap_or("none"),
                pvid.as_deref().unwrap_or("none")
            ));
            e.pvid = pvid;
        }
        if e.idtype != "devname" && e.devname.as_deref() != Some(path.as_str()) {
            e.devname = Some(path);
        }
    }
    let needed = fixed != df;
    if !update {
        return if needed {
            Err(CmdError::Failed("Updates needed for devices file.".into()))
        } else {
            Ok(())
        };
    }
    if !needed {
        ctx.print("No update for devices file is needed.");
        return Ok(());
    }
    devicesfile::edit(&ctx.conf, |df| {
        *df = fixed.clone();
        true
    })
    .map_err(failed)?;
    let version = devicesfile::load_in_use(&ctx.conf)
        .map_err(failed)?
        .and_then(|(_, df)| df.version().map(str::to_string))
        .unwrap_or_default();
    ctx.print(format!("Updated devices file to version {version}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(idtype: &str, idname: &str) -> Entry {
        Entry {
            idtype: idtype.into(),
            idname: idname.into(),
            devname: Some(idname.into()),
            pvid: None,
            part: None,
        }
    }

    /// A block node for device 7:250 under a temp dir (as root); None
    /// where nodes cannot be made.
    fn block_node(dir: &Path, name: &str) -> Option<String> {
        let p = dir.join(name);
        let c = std::ffi::CString::new(p.to_str()?).ok()?;
        // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
        let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFBLK | 0o600, libc::makedev(7, 250)) };
        (r == 0).then(|| p.display().to_string())
    }

    #[test]
    fn devname_entry_matches_another_node_of_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let Some(node) = block_node(dir.path(), "loop250") else {
            eprintln!("skipped: cannot make block nodes here");
            return;
        };
        // The entry was recorded under another path of the same device
        // (a test dev dir vs /dev): still that device's entry.
        assert!(names_device(&entry("devname", &node), 7, 250));
        assert!(!names_device(&entry("devname", &node), 7, 251));
        assert!(!names_device(&entry("devname", "/nonexistent"), 7, 250));
        // Other types match by their IDs only: a DEVNAME may be stale.
        assert!(!names_device(&entry("loop_file", &node), 7, 250));
        assert_eq!(devno_of("/dev/null"), None);
    }
}
