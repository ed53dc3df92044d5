//! pvcreate, pvremove: label and metadata-area set-up on devices.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::device::BlockDev;
use crate::metadata::id::Id;
use crate::metadata::label;
use crate::metadata::store::{self, DevOpener, FileOpener, PvLayout};
use crate::metadata::units;
use crate::system::{devicesfile, lock, scan, signatures};

use super::common::{bad_arg, failed, parse, usage, CmdError, CommonArgs, Ctx};
use super::confirm;

#[derive(Parser, Debug)]
#[command(about = "Initialize physical volume(s) for use by LVM")]
pub(crate) struct PvcreateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Force the creation (twice to override a PV in a VG).
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Use this PV UUID instead of a random one.
    #[arg(short = 'u', long = "uuid")]
    uuid: Option<String>,
    /// Size of each metadata area.
    #[arg(long = "metadatasize", value_name = "Size[m|UNIT]")]
    metadatasize: Option<String>,
    /// Number of metadata areas (0, 1 or 2).
    #[arg(
        long = "pvmetadatacopies",
        alias = "metadatacopies",
        value_name = "0|1|2"
    )]
    pvmetadatacopies: Option<u32>,
    /// Accepted for compatibility (the label goes to sector 1).
    #[arg(long = "zero", short = 'Z', value_name = "y|n")]
    zero: Option<String>,
    /// Devices to initialise.
    #[arg(required = true, value_name = "PV")]
    pvs: Vec<String>,
}

/// Layout from the options and lvm.conf (`metadata/pvmetadatasize`,
/// `metadata/pvmetadatacopies`).
fn layout(
    ctx: &Ctx,
    metadatasize: &Option<String>,
    copies: Option<u32>,
) -> Result<PvLayout, CmdError> {
    let mut l = PvLayout::default();
    let copies = copies.unwrap_or_else(|| ctx.conf.pvmetadatacopies());
    if copies > 2 {
        return Err(usage("Metadatacopies may only be 0, 1 or 2"));
    }
    l.mda_copies = copies;
    if let Some(s) = metadatasize {
        let sectors = units::parse_size(s, 'm').map_err(bad_arg("--metadatasize", s))?;
        let bytes = sectors * 512;
        if bytes < 32 * 1024 {
            return Err(usage("Metadata size must be at least 32 KiB."));
        }
        // mda1 at 4096; pe_start the next MiB boundary after it.
        let end = 4096 + bytes;
        l.pe_start = end.div_ceil(1024 * 1024) * 1024 * 1024;
        l.mda_size = l.pe_start - 4096;
    }
    Ok(l)
}

pub fn pvcreate(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvcreateArgs = parse("pvcreate", args)?;
    let ctx = Ctx::new(&a.common)?;
    let layout = layout(&ctx, &a.metadatasize, a.pvmetadatacopies)?;
    let fixed_id = match &a.uuid {
        Some(u) => Some(u.parse::<Id>().map_err(|e| usage(e.to_string()))?),
        None => None,
    };
    if fixed_id.is_some() && a.pvs.len() > 1 {
        return Err(usage("Can only set uuid on one volume at once"));
    }
    let _g = ctx.lock_global(true)?;
    let _o = lock::lock_orphans(&ctx.conf, true).map_err(failed)?;
    let scan_result = ctx.scan()?;
    let mut result = Ok(());
    for arg in &a.pvs {
        if let Err(e) = create_one(&ctx, &scan_result, arg, fixed_id, &layout, a.force) {
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

fn create_one(
    ctx: &Ctx,
    scan_result: &store::Scan,
    arg: &str,
    fixed_id: Option<Id>,
    layout: &PvLayout,
    force: u8,
) -> Result<(), CmdError> {
    let dev = scan::resolve_device(arg, &ctx.conf).map_err(failed)?;
    let path = super::common::scan_name(&dev, scan_result);
    if scan_result.is_duplicate_device(&path) {
        return Err(CmdError::Failed(format!(
            "Cannot use device {arg} with duplicates."
        )));
    }
    if let Some(existing) = scan_result.pv_by_path(&path) {
        let in_vg = scan_result
            .vg_of_pv(&existing.id())
            .map(|h| h.vg.name.clone())
            .or_else(|| existing.claimed_vg());
        if let Some(vg) = in_vg {
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
        }
    }
    if ctx.common.test {
        ctx.print(format!("Physical volume \"{arg}\" successfully created."));
        return Ok(());
    }
    let id = fixed_id.unwrap_or_else(Id::random);
    let d = FileOpener
        .open(&path, true)
        .map_err(|e| failed(format!("Cannot use {arg}: {e}")))?;
    let sigs = confirm_signatures(ctx, d.as_ref(), arg)?;
    let size = d.size().map_err(failed)?;
    let planned = store::plan_pv(size, &path, id, layout).map_err(failed)?;
    wipe_confirmed(ctx, d.as_ref(), arg, &sigs)?;
    store::write_pv(d.as_ref(), &planned).map_err(failed)?;
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
    let sigs = signatures::detect(dev);
    let mut left = 0;
    for s in &sigs {
        let q = format!(
            "WARNING: {} signature detected on {arg} at offset {}. Wipe it? [y/n]: ",
            s.name, s.offset
        );
        if !confirm(ctx, &q) {
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
            let Some(pv) = scan_result.pv_by_path(&path) else {
                return Err(CmdError::Failed(format!("No PV found on device {arg}.")));
            };
            let vg = scan_result
                .vg_of_pv(&pv.id())
                .map(|h| h.vg.name.clone())
                .or_else(|| pv.claimed_vg());
            if let Some(vg) = vg {
                if a.force < 2 {
                    return Err(CmdError::Failed(format!(
                        "PV {arg} is used by VG {vg} so please use vgreduce first.\n  (If you are certain you need pvremove, then confirm by using --force twice.)\n  {arg}: physical volume label not removed."
                    )));
                }
                if !confirm(
                    &ctx,
                    &format!("Really WIPE LABELS from physical volume \"{arg}\" of volume group \"{vg}\" [y/n]? "),
                ) {
                    return Err(CmdError::Failed(format!("{arg}: physical volume label not removed.")));
                }
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
    // Which devices appeared: paths, or major:minor.
    let wanted: Vec<String> = a
        .devices
        .iter()
        .filter_map(|d| {
            if d.contains(':') || d.parse::<u32>().is_ok() {
                scan::candidate_devices(&ctx.conf).ok().and_then(|devs| {
                    devs.into_iter()
                        .find(|s| {
                            format!("{}:{}", s.major, s.minor) == *d
                                || a.minor
                                    .is_some_and(|m| s.minor == m && Some(s.major) == a.major)
                        })
                        .map(|s| s.path.to_string_lossy().into_owned())
                })
            } else {
                Some(d.clone())
            }
        })
        .collect();
    let pid = std::process::id();
    let mut result = Ok(());
    for vg_name in scan_result.vg_names() {
        let Ok(h) = scan_result.vg(&vg_name) else {
            continue;
        };
        let mine: Vec<&String> = h
            .pv_paths
            .values()
            .filter(|p| wanted.is_empty() || wanted.contains(p))
            .collect();
        if mine.is_empty() {
            continue;
        }
        for p in &mine {
            ctx.print(format!("pvscan[{pid}] PV {p} online."));
        }
        if !h.missing.is_empty() {
            ctx.print(format!("pvscan[{pid}] VG {vg_name} is incomplete."));
            continue;
        }
        ctx.print(format!("pvscan[{pid}] VG {vg_name} is complete."));
        if auto {
            ctx.print(format!("pvscan[{pid}] VG {vg_name} run autoactivation."));
            if let Err(e) = super::activate::vgchange_activate(&ctx, &vg_name, "ay", poll) {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                ctx.error(format!("pvscan[{pid}] {vg_name}: autoactivation failed."));
                result = Err(CmdError::Failed(String::new()));
            }
        }
    }
    result
}
