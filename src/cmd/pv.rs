//! pvcreate, pvremove: label and metadata-area set-up on devices.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::device::{BlockDev, FileDev};
use crate::metadata::id::Id;
use crate::metadata::label;
use crate::metadata::pvlayout::Restored;
use crate::metadata::store::{self, DevOpener, FileOpener};
use crate::metadata::units;
use crate::system::{devicesfile, lock, online, scan, signatures};

use super::common::{failed, parse, usage, CmdError, CommonArgs, Ctx};
use super::confirm;

#[path = "pvcreate_opts.rs"]
pub(crate) mod opts;

#[derive(Parser, Debug)]
#[command(about = "Initialize physical volume(s) for use by LVM")]
pub(crate) struct PvcreateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Force the creation (twice to override a PV in a VG).
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Use this PV UUID instead of a random one.
    #[arg(short = 'u', long = "uuid", alias = "uui")]
    uuid: Option<String>,
    /// With --uuid: the VG backup file the PV's layout is restored from.
    #[arg(long = "restorefile", value_name = "String")]
    restorefile: Option<String>,
    /// With --uuid: no backup file is needed.
    #[arg(long = "norestorefile")]
    norestorefile: bool,
    /// Pretend the device has this size (default unit MiB).
    #[arg(long = "setphysicalvolumesize", value_name = "Size[m|UNIT]")]
    setphysicalvolumesize: Option<String>,
    #[command(flatten)]
    new_pv: opts::NewPvArgs,
    /// Devices to initialise.
    #[arg(required = true, value_name = "PV")]
    pvs: Vec<String>,
}

/// The PV `uuid` as the backup file `path` describes it (`pvcreate
/// --restorefile`).
fn restored_layout(path: &str, uuid: &str, id: &Id) -> Result<Restored, CmdError> {
    let unreadable = || usage(format!("Unable to read volume group from {path}"));
    let text = std::fs::read_to_string(path).map_err(|_| unreadable())?;
    let (vg, _) = crate::metadata::text::import_vg(&text).map_err(|_| unreadable())?;
    let pv = vg
        .pv_by_id(id)
        .ok_or_else(|| usage(format!("Can't find uuid {uuid} in backup file {path}")))?;
    Ok(Restored {
        pe_start: pv.pe_start,
        ba_start: pv.ba_start.unwrap_or(0),
        ba_size: pv.ba_size.unwrap_or(0),
        extent_size: vg.extent_size,
        extent_count: pv.pe_count,
    })
}

/// What one pvcreate applies to each device.
struct CreatePlan {
    new: opts::NewPv,
    fixed_id: Option<Id>,
    restore: Option<Restored>,
    /// --setphysicalvolumesize in sectors.
    size: Option<u64>,
    force: u8,
}

pub fn pvcreate(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvcreateArgs = parse("pvcreate", args)?;
    if a.restorefile.is_some() && a.new_pv.has_bootloaderareasize() {
        return Err(usage(
            "Command does not accept option combination: --bootloaderareasize  with --restorefile",
        ));
    }
    let ctx = Ctx::new(&a.common)?;
    if a.restorefile.is_some() && a.uuid.is_none() {
        return Err(usage("--uuid is required with --restorefile"));
    }
    if a.uuid.is_some()
        && a.restorefile.is_none()
        && !a.norestorefile
        && ctx
            .conf
            .get_bool("devices/require_restorefile_with_uuid", true)
    {
        return Err(usage("--restorefile is required with --uuid"));
    }
    if a.uuid.is_some() && a.pvs.len() > 1 {
        return Err(usage("Can only set uuid on one volume at once"));
    }
    let fixed_id = match &a.uuid {
        Some(u) => Some(u.parse::<Id>().map_err(|e| usage(e.to_string()))?),
        None => None,
    };
    let size = match &a.setphysicalvolumesize {
        Some(v) => Some(opts::size_arg(
            "--setphysicalvolumesize",
            v,
            'm',
            "Physical volume size may not be negative",
        )?),
        None => None,
    };
    let restore = match (&a.restorefile, &a.uuid, &fixed_id) {
        (Some(f), Some(u), Some(id)) => Some(restored_layout(f, u, id)?),
        _ => None,
    };
    let mut new = a.new_pv.resolve(&ctx.conf)?;
    if let Some(r) = &restore {
        let (align, offset) = (new.req.data_alignment, new.req.data_alignment_offset);
        if align + offset > 0 {
            let rem = if align > 0 {
                r.pe_start % align
            } else {
                r.pe_start
            };
            if rem != offset {
                ctx.warn(format!(
                    "Ignoring data alignment {} incompatible with restored pe_start value {}.",
                    units::display_size(align + offset),
                    units::display_size(r.pe_start)
                ));
                new.req.data_alignment = 0;
                new.req.data_alignment_offset = 0;
            }
        }
    }
    let plan = CreatePlan {
        new,
        fixed_id,
        restore,
        size,
        force: a.force,
    };
    let _g = ctx.lock_global(true)?;
    let _o = lock::lock_orphans(&ctx.conf, true).map_err(failed)?;
    let scan_result = ctx.scan()?;
    let mut result = Ok(());
    for arg in &a.pvs {
        if let Err(e) = create_one(&ctx, &scan_result, arg, &plan) {
            ctx.error(match &e {
                CmdError::Failed(m)
                | CmdError::Usage(m)
                | CmdError::BadArg(m)
                | CmdError::InitFailed(m) => m.clone(),
                CmdError::Clap(c) => c.to_string(),
            });
            result = Err(CmdError::Failed(String::new()));
        }
    }
    let _ = lock::invalidate_hints();
    result
}

/// Opens a device for pvcreate as LVM2 does, exclusively: a mounted
/// filesystem (or any other holder) makes that fail.
fn open_exclusive(path: &str, arg: &str) -> Result<Box<dyn BlockDev>, CmdError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_EXCL)
        .open(path)
    {
        Ok(f) => Ok(Box::new(FileDev::from_file(f))),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Err(CmdError::Failed(format!(
            "Can't open {arg} exclusively.  Mounted filesystem?"
        ))),
        Err(e) => Err(failed(format!("Cannot use {arg}: {e}"))),
    }
}

fn create_one(
    ctx: &Ctx,
    scan_result: &store::Scan,
    arg: &str,
    plan: &CreatePlan,
) -> Result<(), CmdError> {
    let dev = scan::resolve_device(arg, &ctx.conf).map_err(failed)?;
    let path = super::common::scan_name(&dev, scan_result);
    if scan_result.is_duplicate_device(&path) {
        return Err(CmdError::Failed(format!(
            "Cannot use device {arg} with duplicates."
        )));
    }
    if let Some(id) = &plan.fixed_id {
        if let Some(other) = scan_result
            .pvs
            .iter()
            .find(|p| p.id() == *id && p.path != path)
        {
            return Err(CmdError::Failed(format!(
                "UUID {id} already in use on \"{}\".",
                other.path
            )));
        }
    }
    let force = plan.force;
    if let Some(existing) = scan_result.pv_by_path(&path) {
        let in_vg = scan_result
            .vg_of_pv(&existing.id())
            .map(|h| h.vg.name.clone())
            .or_else(|| existing.claimed_vg());
        if in_vg.as_deref() == Some("") {
            // Marked used (PV_EXT_USED) but no VG metadata found for it.
            if force < 2 {
                return Err(CmdError::Failed(format!(
                    "PV {arg} is used by a VG but its metadata is missing.\n  Can't initialize PV '{arg}' without -ff.\n  {arg}: physical volume not initialized."
                )));
            }
            if !confirm(
                ctx,
                &format!(
                    "Really INITIALIZE physical volume \"{arg}\" that is marked as belonging to a VG [y/n]? "
                ),
            ) {
                return Err(CmdError::Failed(format!(
                    "{arg}: physical volume not initialized."
                )));
            }
        } else if let Some(vg) = in_vg {
            if force < 2 {
                return Err(CmdError::Failed(format!(
                    "Can't initialize physical volume \"{arg}\" of volume group \"{vg}\" without -ff\n  {arg}: physical volume not initialized."
                )));
            }
            if !confirm(
                ctx,
                &format!(
                    "Really INITIALIZE physical volume \"{arg}\" of volume group \"{vg}\" [y/n]? "
                ),
            ) {
                return Err(CmdError::Failed(format!(
                    "{arg}: physical volume not initialized."
                )));
            }
            // Only after a question answered (not with -y), as LVM2.
            if !ctx.common.yes {
                ctx.warn(format!(
                    "Forcing physical volume creation on {arg} of volume group \"{vg}\""
                ));
            }
        }
    }
    let real = dev.size_bytes;
    let size = match plan.size {
        Some(s) if s * 512 != real => {
            if !ctx.common.yes
                && !confirm(
                    ctx,
                    &format!(
                        "WARNING: {arg}: device size {} does not match requested size {}. Proceed? [y/n]: ",
                        units::display_size(real / 512),
                        units::display_size(s)
                    ),
                )
            {
                return Err(CmdError::Failed(format!(
                    "{arg}: physical volume not initialized."
                )));
            }
            ctx.warn(format!(
                "Faking size of PV {arg}. Don't write outside real device."
            ));
            s * 512
        }
        _ => real,
    };
    let id = plan.fixed_id.unwrap_or_else(Id::random);
    // Everything checked before anything is written.
    let planned = opts::plan_new_pv(&plan.new, size, &path, arg, id, plan.restore.clone())?;
    if ctx.common.test {
        ctx.print(format!("Physical volume \"{arg}\" successfully created."));
        return Ok(());
    }
    let d = open_exclusive(&path, arg)?;
    let sigs = confirm_signatures_forced(ctx, d.as_ref(), arg, plan.force > 0)?;
    wipe_confirmed(ctx, d.as_ref(), arg, &sigs)?;
    opts::write_new_pv(d.as_ref(), &planned, plan.new.ignored)?;
    if ctx.conf.use_devicesfile() {
        if let Err(e) =
            devicesfile::add_device(&ctx.conf, std::path::Path::new(&path), id.as_raw_str())
        {
            ctx.warn(format!("Failed to add {path} to the devices file: {e}"));
        }
    }
    ctx.print(format!("Physical volume \"{arg}\" successfully created."));
    Ok(())
}

/// Asks before destroying another format's signature, as LVM2 does
/// (`-y` answers yes): the signatures to wipe, or an error (nothing
/// written) when one is to stay, which aborts the pvcreate of that device.
pub(crate) fn confirm_signatures(
    ctx: &Ctx,
    dev: &dyn BlockDev,
    arg: &str,
) -> Result<Vec<signatures::Signature>, CmdError> {
    confirm_signatures_forced(ctx, dev, arg, false)
}

/// [`confirm_signatures`]; with `force` (`-f`) nothing is asked, as in
/// LVM2's `_blkid_wipe`.
pub(crate) fn confirm_signatures_forced(
    ctx: &Ctx,
    dev: &dyn BlockDev,
    arg: &str,
    force: bool,
) -> Result<Vec<signatures::Signature>, CmdError> {
    let sigs = signatures::detect(dev);
    let mut left = 0;
    for s in &sigs {
        let q = format!(
            "WARNING: {} signature detected on {arg} at offset {}. Wipe it? [y/n]: ",
            s.name, s.offset
        );
        if !force && !confirm(ctx, &q) {
            ctx.print(format!("Aborted wiping of {}.", s.name));
            left += 1;
        }
    }
    if left > 0 {
        return Err(CmdError::Failed(format!(
            "{left} existing signature left on the device.\n  Aborting pvcreate on {arg}."
        )));
    }
    Ok(sigs)
}

/// Wipes what `confirm_signatures` was allowed to.
pub(crate) fn wipe_confirmed(
    ctx: &Ctx,
    dev: &dyn BlockDev,
    arg: &str,
    sigs: &[signatures::Signature],
) -> Result<(), CmdError> {
    for s in sigs {
        ctx.print(format!("Wiping {} signature on {arg}.", s.name));
        signatures::wipe(dev, s).map_err(|e| failed(format!("{arg}: {e}")))?;
    }
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Remove LVM label(s) from physical volume(s)")]
pub(crate) struct PvremoveArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    #[arg(required = true, value_name = "PV")]
    pvs: Vec<String>,
}

pub fn pvremove(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvremoveArgs = parse("pvremove", args)?;
    let ctx = Ctx::new(&a.common)?;
    let _g = ctx.lock_global(true)?;
    let _o = lock::lock_orphans(&ctx.conf, true).map_err(failed)?;
    let scan_result = ctx.scan()?;
    let mut result = Ok(());
    for arg in &a.pvs {
        let one = (|| -> Result<(), CmdError> {
            let dev = scan::resolve_device(arg, &ctx.conf).map_err(failed)?;
            let path = super::common::scan_name(&dev, &scan_result);
            // A device carrying a PV that is also on another device is
            // never written (issue 7), not even with -ff.
            if scan_result.is_duplicate_device(&path) {
                return Err(CmdError::Failed(format!(
                    "Cannot use device {arg} with duplicates."
                )));
            }
            let pv = scan_result.pv_by_path(&path);
            // LVM2 wipes whatever label sectors a device has with -f, PV
            // or not (nothing else on the device is touched).
            if pv.is_none() && a.force == 0 {
                return Err(CmdError::Failed(format!("No PV found on device {arg}.")));
            }
            let vg = pv.and_then(|pv| {
                scan_result
                    .vg_of_pv(&pv.id())
                    .map(|h| h.vg.name.clone())
                    .or_else(|| pv.claimed_vg())
            });
            if vg.as_deref() == Some("") && a.force < 2 {
                return Err(CmdError::Failed(format!(
                    "PV {arg} is used by a VG but its metadata is missing.\n  (If you are certain you need pvremove, then confirm by using --force twice.)\n  {arg}: physical volume label not removed."
                )));
            }
            // LVM2 names a VG it did not find `<unknown>` here.
            if let Some(vg) = vg.map(|v| if v.is_empty() { "<unknown>".into() } else { v }) {
                if a.force < 2 {
                    return Err(CmdError::Failed(format!(
                        "PV {arg} is used by VG {vg} so please use vgreduce first.\n  (If you are certain you need pvremove, then confirm by using --force twice.)\n  {arg}: physical volume label not removed."
                    )));
                }
                ctx.warn(format!("PV {arg} is used by VG {vg}."));
                if !confirm(
                    &ctx,
                    &format!("Really WIPE LABELS from physical volume \"{arg}\" of volume group \"{vg}\" [y/n]? "),
                ) {
                    return Err(CmdError::Failed(format!("{arg}: physical volume label not removed.")));
                }
                ctx.warn(format!(
                    "Wiping physical volume label from {arg} of volume group \"{vg}\"."
                ));
            }
            if !ctx.common.test {
                let d = FileOpener.open(&path, true).map_err(failed)?;
                label::wipe_labels(d.as_ref()).map_err(failed)?;
                d.sync().map_err(failed)?;
            }
            ctx.print(format!(
                "Labels on physical volume \"{arg}\" successfully wiped."
            ));
            Ok(())
        })();
        if let Err(e) = one {
            if let CmdError::Failed(m) = &e {
                ctx.error(m);
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    let _ = lock::invalidate_hints();
    result
}

#[derive(Parser, Debug)]
#[command(about = "List all physical volumes; with --cache -aay, autoactivate complete VGs")]
pub(crate) struct PvscanArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Event-driven mode (what LVM2's udev rules run).
    #[arg(long = "cache")]
    cache: bool,
    /// With --cache: ay to autoactivate VGs that are complete.
    #[arg(short = 'a', long = "activate", value_name = "ay")]
    activate: Option<String>,
    /// Accepted for compatibility (major number of the device).
    #[arg(long = "major")]
    major: Option<u32>,
    /// Accepted for compatibility (minor number of the device).
    #[arg(long = "minor")]
    minor: Option<u32>,
    /// Start background polling of merges that activation starts (y, the
    /// default) or not (n).
    #[arg(long = "poll", value_name = "y|n")]
    poll: Option<String>,
    /// Boot-time activation: no polling.
    #[arg(long = "sysinit")]
    sysinit: bool,
    /// Accepted for compatibility with LVM2's udev rules.
    #[arg(long = "autoactivation", value_name = "String")]
    autoactivation: Option<String>,
    /// Accepted for compatibility (LVM2's udev rules run pvscan in the
    /// background; rlvm runs it in the foreground).
    #[arg(short = 'b', long = "background")]
    background: bool,
    /// Devices (paths or major:minor) that appeared.
    #[arg(value_name = "PV")]
    devices: Vec<String>,
}

/// Plain `pvscan` output in LVM2's layout (pvscan.c): one line per PV with
/// name and VG columns padded to the longest (the orphan VG
/// `#orphans_lvm2` always counts), sizes in extents of the VG or the device size of an
/// orphan, then the totals line.
fn pvscan_listing(scan: &store::Scan) -> String {
    const ORPHAN_VG: &str = "#orphans_lvm2";
    // (device, Some((vg, size, free, exported)) in sectors, device size in sectors)
    type Row = (String, Option<(String, u64, u64, bool)>, u64);
    // PVs of other hosts' VGs are left out (LVM2 says it cannot access
    // those VGs, see `pvscan`).
    let rows: Vec<Row> = scan
        .pvs
        .iter()
        .filter(|pv| !scan.pv_is_foreign(&pv.id()))
        .map(|pv| {
            let in_vg = scan.vg_of_pv(&pv.id()).and_then(|h| {
                let p = h.vg.pv_by_id(&pv.id())?;
                let ext = h.vg.extent_size;
                let free = p.pe_count.saturating_sub(h.vg.pe_used_on(&p.key));
                Some((
                    h.vg.name.clone(),
                    p.pe_count * ext,
                    free * ext,
                    h.vg.is_exported(),
                ))
            });
            (pv.path.clone(), in_vg, pv.size / 512)
        })
        .collect();
    let pw = rows.iter().map(|r| r.0.len()).max().unwrap_or(0) + 2;
    // LVM2 counts the orphan VG's name whether or not there are orphans.
    let vw = rows
        .iter()
        .filter_map(|r| r.1.as_ref().map(|v| v.0.len()))
        .chain(std::iter::once(ORPHAN_VG.len()))
        .max()
        .unwrap_or(0)
        + 2;
    let size = units::display_size;
    let mut out = String::new();
    let (mut total, mut used, mut free_pvs) = ((0u32, 0u64), (0u32, 0u64), (0u32, 0u64));
    for (name, vg, dev_sectors) in &rows {
        match vg {
            Some((vg, sz, free, exported)) => {
                out.push_str(&if *exported {
                    format!(
                        "  PV {name:<pw$}  is in exported VG {vg} [{} / {} free]\n",
                        size(*sz),
                        size(*free)
                    )
                } else {
                    format!(
                        "  PV {name:<pw$} VG {vg:<vw$} lvm2 [{} / {} free]\n",
                        size(*sz),
                        size(*free)
                    )
                });
                used = (used.0 + 1, used.1 + sz);
                total = (total.0 + 1, total.1 + sz);
            }
            None => {
                out.push_str(&format!(
                    "  PV {name:<pw$}    {:<vw$} lvm2 [{}]\n",
                    " ",
                    size(*dev_sectors)
                ));
                free_pvs = (free_pvs.0 + 1, free_pvs.1 + dev_sectors);
                total = (total.0 + 1, total.1 + dev_sectors);
            }
        }
    }
    let total_size = |n: u64| if n == 0 { "0   ".to_string() } else { size(n) };
    out.push_str(&format!(
        "  Total: {} [{}] / in use: {} [{}] / in no VG: {} [{}]\n",
        total.0,
        total_size(total.1),
        used.0,
        total_size(used.1),
        free_pvs.0,
        total_size(free_pvs.1)
    ));
    out
}

/// `pvscan`, and `pvscan --cache -aay [dev]` as LVM2's udev rules and
/// lvm2-pvscan units call it: every VG that has a PV among the named
/// devices (or any VG) and is complete gets autoactivated.
pub fn pvscan(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvscanArgs = parse("pvscan", args)?;
    let ctx = Ctx::new(&a.common)?;
    let poll = super::activate::poll_wanted(a.poll.as_deref(), a.sysinit)?;
    // The listing reads under LVM2's shared global lock, as LVM2 does.
    let global = if a.cache {
        None
    } else {
        Some(ctx.lock_global(false)?)
    };
    let scan_result = ctx.scan()?;
    if !a.cache {
        let _global = global;
        if a.activate.is_some() {
            return Err(usage("The --activate option requires --cache."));
        }
        for name in scan_result.foreign_vg_names() {
            if let Err(e) = scan_result.vg(&name) {
                ctx.foreign_skipped(e);
            }
        }
        if scan_result.pvs.is_empty() {
            ctx.print("No matching physical volumes found");
        } else {
            ctx.print_lines(&pvscan_listing(&scan_result));
        }
        return Ok(());
    }
    let auto = match a.activate.as_deref() {
        None => false,
        Some("ay") | Some("y") => true,
        Some(o) => return Err(usage(format!("Invalid argument for --activate: {o}"))),
    };
    cache_and_autoactivate(&ctx, &a, &scan_result, auto, poll)
}

/// `pvscan --cache [-aay] [dev...]` as LVM2 2.03 does it (tools/pvscan.c):
/// each named device (every device without one, after forgetting all)
/// that is a PV of a usable VG is recorded online
/// (`/run/lvm/pvs_online`); a VG all of whose PVs are online is
/// complete, and with -aay autoactivated once (`/run/lvm/vgs_online`).
fn cache_and_autoactivate(
    ctx: &Ctx,
    a: &PvscanArgs,
    scan_result: &store::Scan,
    auto: bool,
    poll: bool,
) -> Result<(), CmdError> {
    let event = ctx.conf.get_bool("global/event_activation", true);
    if auto && !event {
        ctx.verbose(
            1,
            "Ignoring pvscan --cache -aay because event_activation is disabled.",
        );
        return Ok(());
    }
    let do_all = a.devices.is_empty() && a.major.is_none() && a.minor.is_none();
    ctx.pvscan_hints(scan_result, do_all);
    if !do_all && !event {
        ctx.verbose(
            1,
            "Ignoring pvscan --cache because event_activation is disabled.",
        );
        return Ok(());
    }
    let pid = std::process::id();
    let say = |m: String| ctx.print(format!("pvscan[{pid}] {m}"));
    let online = online::Online::default();
    online
        .setup()
        .map_err(|e| failed(format!("Failed to set up online files: {e}")))?;
    if do_all {
        let _ = online.clear();
    }
    // The PVs the event is about.
    let mut infos: Vec<&store::PvInfo> = Vec::new();
    if do_all {
        infos.extend(scan_result.pvs.iter());
    } else {
        let mut names = a.devices.clone();
        if let (Some(ma), Some(mi)) = (a.major, a.minor) {
            names.push(format!("{ma}:{mi}"));
        }
        for d in &names {
            match device_of(ctx, d, scan_result) {
                Some(path) => match scan_result.pv_by_path(&path) {
                    Some(p) => infos.push(p),
                    None => say(format!("{path} not an lvm device.")),
                },
                None => say(format!("{d} not found.")),
            }
        }
    }
    let mut complete: Vec<String> = Vec::new();
    for info in infos {
        let path = &info.path;
        let Some(h) = scan_result.vg_of_pv(&info.id()) else {
            if info.claimed_vg().is_some() {
                let _ = record(&online, info, "");
                say(format!("PV {path} online, VG unknown."));
            } else {
                say(format!("PV {path} not used."));
            }
            continue;
        };
        if scan_result.pv_is_foreign(&info.id()) {
            say(format!("PV {path} ignore foreign VG."));
            continue;
        }
        if h.vg.is_exported() {
            say(format!("PV {path} ignore exported VG."));
            continue;
        }
        if let Err(e) = record(&online, info, &h.vg.name) {
            ctx.error(format!(
                "pvscan[{pid}] PV {path} failed to create online file: {e}"
            ));
            continue;
        }
        let need =
            h.vg.pvs
                .iter()
                .filter(|p| !online.pv_is_online(&p.id))
                .count();
        if do_all {
            say(format!("PV {path} online."));
        } else if need == 0 {
            say(format!("PV {path} online, VG {} is complete.", h.vg.name));
        } else {
            say(format!(
                "PV {path} online, VG {} incomplete (need {need}).",
                h.vg.name
            ));
        }
        if need == 0 && !complete.contains(&h.vg.name) {
            complete.push(h.vg.name.clone());
        }
    }
    if !auto {
        return Ok(());
    }
    let mut result = Ok(());
    for vg_name in complete {
        match online.claim_vg(&vg_name) {
            Ok(true) => {}
            _ => {
                say(format!("VG {vg_name} skip autoactivation."));
                continue;
            }
        }
        say(format!("VG {vg_name} run autoactivation."));
        if let Err(e) = super::activate::vgchange_activate(ctx, &vg_name, "ay", poll) {
            if let CmdError::Failed(m) = &e {
                ctx.error(m);
            }
            ctx.error(format!("pvscan[{pid}] {vg_name}: autoactivation failed."));
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}

/// The scanned name of a device given as a path or `major:minor`.
fn device_of(ctx: &Ctx, d: &str, scan_result: &store::Scan) -> Option<String> {
    if d.contains(':') {
        let devs = scan::candidate_devices(&ctx.conf).ok()?;
        let s = devs
            .into_iter()
            .find(|s| format!("{}:{}", s.major, s.minor) == d)?;
        return Some(super::common::scan_name(&s, scan_result));
    }
    let dev = scan::resolve_device(d, &ctx.conf).ok()?;
    Some(super::common::scan_name(&dev, scan_result))
}

/// Records PV `info` online in VG `vg` with its device number.
fn record(online: &online::Online, info: &store::PvInfo, vg: &str) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let rdev = std::fs::metadata(&info.path)?.rdev();
    online.record_pv(
        &info.id(),
        libc::major(rdev),
        libc::minor(rdev),
        vg,
        &info.path,
    )
}
