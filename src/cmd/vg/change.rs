//! vgchange: a VG's attributes, tags and activation. Writes metadata
//! through a commit; activation goes through `cmd::activate`.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::store::{self, Access};

use crate::cmd::activate;
use crate::cmd::common::{
    apply_tags, bad_arg, failed, parse, tag_args, usage, CmdError, CommonArgs, Ctx,
};
use crate::metadata::{id::Id, units};

use super::attrs;

#[derive(Parser, Debug)]
#[command(about = "Change volume group attributes")]
pub struct VgchangeArgs {
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
    /// Maximum number of LVs (0 = unlimited).
    #[arg(
        short = 'l',
        long = "logicalvolume",
        alias = "maxlogicalvolumes",
        value_name = "Number"
    )]
    pub max_lv: Option<String>,
    /// Maximum number of PVs (0 = unlimited).
    #[arg(short = 'p', long = "maxphysicalvolumes", value_name = "Number")]
    pub max_pv: Option<String>,
    /// Whether PVs may be added to or removed from the VG.
    #[arg(
        short = 'x',
        long = "resizeable",
        alias = "resizable",
        value_name = "y|n"
    )]
    pub resizeable: Option<String>,
    /// A new random UUID for the VG (no LV active).
    #[arg(short = 'u', long = "uuid")]
    pub uuid: bool,
    /// New physical extent size.
    #[arg(short = 's', long = "physicalextentsize", value_name = "Size[m|UNIT]")]
    pub extent_size: Option<String>,
    /// Allocation policy of the VG.
    #[arg(long = "alloc", value_name = "Policy")]
    pub alloc: Option<String>,
    /// The VG's new system ID ("" for none).
    #[arg(long = "systemid", value_name = "String")]
    pub systemid: Option<String>,
    /// Go on when the VG's lock cannot be taken (activation only).
    #[arg(long = "ignorelockingfailure")]
    pub ignorelockingfailure: bool,
    /// How LVs with missing PVs are activated.
    #[arg(long = "activationmode", value_name = "partial|degraded|complete")]
    pub activationmode: Option<String>,
    /// Accepted: activate read-only is not supported, the option is ignored.
    #[arg(long = "readonly")]
    pub readonly: bool,
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Change the VGs the selection selects (of those named, or all).
    #[arg(short = 'S', long = "select", value_name = "String")]
    pub select: Option<String>,
    /// Preferred number of metadata copies (a number, all or unmanaged;
    /// also --metadatacopies).
    #[arg(long = "vgmetadatacopies", value_name = "all|unmanaged|Number")]
    pub vgmetadatacopies: Option<String>,
    #[arg(value_name = "VG")]
    pub vgs: Vec<String>,
}

pub fn vgchange(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgchangeArgs = parse("vgchange", super::mdacopies::vg_alias(args))?;
    check_options(&a)?;
    let props = Props::from_args(&a)?;
    let copies = a
        .vgmetadatacopies
        .as_deref()
        .map(|v| super::mdacopies::parse_copies("--vgmetadatacopies", v))
        .transpose()?;
    let ctx = Ctx::new(&a.common)?;
    let poll = activate::poll_wanted(a.poll.as_deref(), a.sysinit)?;
    ctx.ignore_activation_skip.set(a.ignoreactivationskip);
    ctx.ignore_lock_failure
        .set(a.sysinit || a.ignorelockingfailure);
    if let Some(sid) = &a.systemid {
        return super::systemid::vgchange_systemid(&ctx, &a.vgs, sid);
    }
    let scan = ctx.scan()?;
    let (mut keys, mut failed_any) = super::super::vgselect::select_vg_keys(
        &ctx,
        &scan,
        &a.vgs,
        Access::default(),
        a.select.as_deref(),
    )?;
    if let Some(aa) = &a.autoactivation {
        let names = keys.iter().map(|(n, _)| n.clone()).collect();
        match event_vgs(&ctx, &scan, aa, !a.vgs.is_empty(), names) {
            Some(n) => keys.retain(|(name, _)| n.contains(name)),
            None => return Ok(()),
        }
    }
    // A deactivation of every VG includes foreign ones with LVs active
    // here (LVM2's `include_active_foreign_vgs`).
    if a.vgs.is_empty() && a.activate.as_deref().is_some_and(|m| m.ends_with('n')) {
        keys.extend(super::super::vgselect::active_foreign_keys(&ctx, &scan));
        keys.sort();
    }
    drop(scan);
    // LVM2 decides the activation mode once, before any VG is read.
    let partial = match &a.activate {
        Some(m) if m.ends_with('y') => {
            activate::partial_mode(&ctx, a.partial, a.activationmode.as_deref())?
        }
        _ => false,
    };
    // Tests: hold the command between its first scan and the VG locks
    // (a failpoints build; nothing otherwise).
    crate::ops::failpoint::hit("vgchange:selected").map_err(failed)?;
    for (name, id) in &keys {
        let one = (|| -> Result<(), CmdError> {
            if !props.is_empty() || copies.is_some() {
                // --vgmetadatacopies is no tag change: not with PVs missing.
                let (mut h, _g) = if props.partial_safe() && copies.is_none() {
                    ctx.load_vg_handling_missing(name)?
                } else {
                    ctx.load_vg_for_update(name)?
                };
                props.apply(&ctx, &mut h)?;
                super::mdacopies::commit_with(&ctx, &mut h, copies)?;
                ctx.print(format!("Volume group \"{name}\" successfully changed"));
            }
            if let Some(mode) = &a.activate {
                activate::vgchange_activate_mode(&ctx, name, Some(id), mode, poll, partial)?;
            } else if a.refresh {
                activate::vgchange_refresh(&ctx, name, poll)?;
            } else if a.poll.as_deref() == Some("y") {
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
            failed_any = true;
        }
    }
    if failed_any {
        Err(CmdError::Failed(String::new()))
    } else {
        Ok(())
    }
}

/// LVM2's command definitions for vgchange (tools/command-lines.in) and
/// the checks of `vgchange()` in tools/vgchange.c: which options go
/// together, refused before anything is read (exit 3).
fn check_options(a: &VgchangeArgs) -> Result<(), CmdError> {
    let meta = !a.addtag.is_empty()
        || !a.deltag.is_empty()
        || a.max_lv.is_some()
        || a.max_pv.is_some()
        || a.alloc.is_some()
        || a.uuid
        || a.extent_size.is_some()
        || a.resizeable.is_some()
        || a.setautoactivation.is_some()
        || a.vgmetadatacopies.is_some();
    let activation_only: [(&str, bool); 7] = [
        ("--activationmode", a.activationmode.is_some()),
        ("--ignoreactivationskip", a.ignoreactivationskip),
        ("--partial", a.partial),
        ("--readonly", a.readonly),
        ("--autoactivation", a.autoactivation.is_some()),
        ("--sysinit", a.sysinit),
        ("--ignorelockingfailure", a.ignorelockingfailure),
    ];
    // The options each definition takes besides the common ones.
    let refused: Vec<&str> = if a.systemid.is_some() {
        let mut r: Vec<&str> = activation_only
            .iter()
            .filter(|(_, set)| *set)
            .map(|(o, _)| *o)
            .collect();
        if meta || a.activate.is_some() || a.refresh || a.monitor.is_some() || a.poll.is_some() {
            r.push("--systemid");
        }
        r
    } else if meta {
        let mut r: Vec<&str> = activation_only
            .iter()
            .filter(|(_, set)| *set)
            .map(|(o, _)| *o)
            .collect();
        for (o, set) in [
            ("--activate", a.activate.is_some()),
            ("--refresh", a.refresh),
            ("--monitor", a.monitor.is_some()),
        ] {
            if set {
                r.push(o);
            }
        }
        r
    } else if a.activate.is_some() {
        if a.refresh {
            vec!["--refresh"]
        } else {
            vec![]
        }
    } else {
        let allowed_sysinit = a.refresh || a.monitor.is_some();
        activation_only
            .iter()
            .filter(|(o, set)| {
                *set && !(*o == "--ignorelockingfailure" || (*o == "--sysinit" && allowed_sysinit))
            })
            .map(|(o, _)| *o)
            .collect()
    };
    if let Some(o) = refused.first() {
        return Err(usage(format!("Command does not accept option: {o}.")));
    }
    if !meta
        && a.systemid.is_none()
        && a.activate.is_none()
        && !a.refresh
        && a.monitor.is_none()
        && a.poll.is_none()
    {
        return Err(usage("Need one or more command options."));
    }
    if let Some(mode) = &a.activate {
        if (a.monitor.is_some() || a.poll.is_some()) && !mode.ends_with('y') {
            return Err(usage("Only -ay* allowed with --monitor or --poll."));
        }
    }
    if a.poll.is_some() && a.sysinit {
        return Err(usage("Only one of --poll and --sysinit permitted."));
    }
    Ok(())
}

/// The VG attributes a vgchange sets, parsed (in LVM2's order of
/// application, `_vgchange_args` in tools/vgchange.c).
#[derive(Default)]
struct Props {
    max_lv: Option<u64>,
    max_pv: Option<u64>,
    resizeable: Option<bool>,
    autoactivation: Option<bool>,
    deltag: Vec<String>,
    addtag: Vec<String>,
    extent_size: Option<u64>,
    uuid: bool,
    alloc: Option<Option<String>>,
}

/// A `Uint32` option value (`-l`, `-p`): LVM2's parse error otherwise.
fn uint32_arg(opt: &str, v: &str) -> Result<u64, CmdError> {
    match v.parse::<u64>() {
        Ok(n) if n <= u64::from(u32::MAX) => Ok(n),
        _ => Err(CmdError::BadArg(format!("Invalid argument for {opt}: {v}"))),
    }
}

impl Props {
    fn from_args(a: &VgchangeArgs) -> Result<Props, CmdError> {
        let extent_size = match &a.extent_size {
            Some(s) => {
                if s.starts_with('-') {
                    return Err(usage("Physical extent size may not be negative"));
                }
                Some(units::parse_extent_size(s).map_err(bad_arg("--physicalextentsize", s))?)
            }
            None => None,
        };
        Ok(Props {
            max_lv: a
                .max_lv
                .as_deref()
                .map(|v| uint32_arg("--logicalvolume", v))
                .transpose()?,
            max_pv: match a.max_pv.as_deref() {
                Some(v) if v.starts_with('-') => {
                    return Err(usage("MaxPhysicalVolumes may not be negative"))
                }
                Some(v) => Some(uint32_arg("--maxphysicalvolumes", v)?),
                None => None,
            },
            resizeable: a
                .resizeable
                .as_deref()
                .map(|v| super::yes_no("--resizeable", v))
                .transpose()?,
            autoactivation: a
                .setautoactivation
                .as_deref()
                .map(|v| super::yes_no("--setautoactivation", v))
                .transpose()?,
            deltag: tag_args("--deltag", &a.deltag)?,
            addtag: tag_args("--addtag", &a.addtag)?,
            extent_size,
            uuid: a.uuid,
            alloc: match &a.alloc {
                Some(p) => Some(super::alloc_arg(Some(p))?),
                None => None,
            },
        })
    }

    fn is_empty(&self) -> bool {
        self.max_lv.is_none()
            && self.max_pv.is_none()
            && self.resizeable.is_none()
            && self.autoactivation.is_none()
            && self.deltag.is_empty()
            && self.addtag.is_empty()
            && self.extent_size.is_none()
            && !self.uuid
            && self.alloc.is_none()
    }

    /// Only tags change: allowed while PVs are missing (LVM2's
    /// `update_partial_safe`).
    fn partial_safe(&self) -> bool {
        self.max_lv.is_none()
            && self.max_pv.is_none()
            && self.resizeable.is_none()
            && self.autoactivation.is_none()
            && self.extent_size.is_none()
            && !self.uuid
            && self.alloc.is_none()
    }

    fn apply(&self, ctx: &Ctx, h: &mut store::VgHandle) -> Result<(), CmdError> {
        let vg = &mut h.vg;
        if let Some(n) = self.max_lv {
            attrs::set_max_lv(vg, n).map_err(failed)?;
        }
        if let Some(n) = self.max_pv {
            attrs::set_max_pv(vg, n).map_err(failed)?;
        }
        if let Some(y) = self.resizeable {
            attrs::set_resizeable(vg, y).map_err(failed)?;
        }
        if let Some(y) = self.autoactivation {
            // LVM2's refusal of a no-op (vgchange_setautoactivation).
            if vg.flags.has("NOAUTOACTIVATE") != y {
                return Err(CmdError::Failed(format!(
                    "Volume group autoactivation is already {}.",
                    if y { "yes" } else { "no" }
                )));
            }
            if y {
                vg.flags.clear("NOAUTOACTIVATE");
            } else {
                vg.flags.set("NOAUTOACTIVATE");
            }
        }
        apply_tags(&mut vg.tags, &self.addtag, &self.deltag);
        if let Some(size) = self.extent_size {
            if !attrs::set_extent_size(vg, size).map_err(failed)? {
                ctx.warn(attrs::extent_size_unchanged(vg));
            }
        }
        if self.uuid {
            if ctx
                .dm()
                .is_some_and(|dm| crate::ops::activate::any_lv_active(&dm, vg))
            {
                return Err(CmdError::Failed(
                    "Volume group has active logical volumes".into(),
                ));
            }
            vg.id = Id::random();
        }
        if let Some(p) = &self.alloc {
            attrs::set_alloc(vg, p.clone()).map_err(failed)?;
        }
        Ok(())
    }
}

/// `vgchange -aay --autoactivation event [VG]` (LVM2's
/// `_vgchange_autoactivation_setup`): the VGs to activate, `None` when
/// the command is skipped. Only a complete VG is activated; without a VG
/// name, only VGs whose PVs `pvscan --cache` recorded online
/// (`/run/lvm/pvs_online`) are looked at, as LVM2 then scans only those.
fn event_vgs(
    ctx: &Ctx,
    scan: &store::Scan,
    value: &str,
    named: bool,
    names: Vec<String>,
) -> Option<Vec<String>> {
    if value != "event" {
        ctx.print("Skip vgchange for unknown autoactivation value.");
        return None;
    }
    if !ctx.conf.get_bool("global/event_activation", true) {
        ctx.print("Skip vgchange for event and event_activation=0.");
        return None;
    }
    let run = std::path::Path::new(crate::system::lock::DEFAULT_RUN_DIR);
    let online = crate::system::online::Online::under(run);
    let records = run.join("pvs_online").is_dir();
    if !records {
        match names.first() {
            Some(n) if named => {
                ctx.print(format!("PVs online error for VG {n}, using all devices."))
            }
            _ => ctx.print("PVs online error, using all devices."),
        }
    }
    let only_online = !named && records;
    let mut out = Vec::new();
    for name in names {
        let Ok(h) = scan.vg(&name) else {
            continue;
        };
        let up =
            h.vg.pvs
                .iter()
                .filter(|p| online.pv_is_online(&p.id))
                .count();
        if named && records {
            if up == 0 {
                ctx.print(format!(
                    "PVs online not found for VG {name}, using all devices."
                ));
            } else if up < h.vg.pvs.len() {
                ctx.print(format!(
                    "PVs online incomplete for VG {name}, using all devicess."
                ));
            }
        }
        // Complete: every PV present (and, when only online PVs are
        // scanned, recorded online).
        if h.missing.is_empty() && (!only_online || up == h.vg.pvs.len()) {
            out.push(name);
        }
    }
    Some(out)
}
