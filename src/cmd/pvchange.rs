//! pvchange: a PV's allocatability (-x) and tags, for named PVs or all
//! (-a), one commit per PV, in LVM2's words and counts. Changing a PV's
//! UUID (-u) or ignoring its metadata areas (--metadataignore) rewrites
//! its label or areas: refused (exit 5), nothing written.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::store;
use crate::system::scan;

use super::common::{apply_tags, parse, tag_args, usage, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Change attributes of physical volume(s)")]
pub(crate) struct PvchangeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Change every PV the scan finds.
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Allow (y) or forbid (n) allocation from the PV.
    #[arg(short = 'x', long = "allocatable", value_name = "y|n")]
    allocatable: Option<String>,
    /// Add a tag (a leading @ is accepted).
    #[arg(long = "addtag", value_name = "Tag")]
    addtag: Vec<String>,
    /// Remove a tag.
    #[arg(long = "deltag", value_name = "Tag")]
    deltag: Vec<String>,
    /// Give the PV a new UUID (not supported by rlvm).
    #[arg(short = 'u', long = "uuid")]
    uuid: bool,
    /// Ignore the PV's metadata areas (not supported by rlvm).
    #[arg(long = "metadataignore", value_name = "y|n")]
    metadataignore: Option<String>,
    /// Accepted for compatibility.
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Accepted for compatibility (backups follow lvm.conf).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

/// One PV to change: the name to print and its VG (None: an orphan).
struct Target {
    name: String,
    vg: Option<String>,
    id: crate::metadata::id::Id,
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn pvchange(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvchangeArgs = parse("pvchange", args)?;
    let alloc = match a.allocatable.as_deref() {
        None => None,
        Some("y") | Some("yes") => Some(true),
        Some("n") | Some("no") => Some(false),
        Some(v) => {
            return Err(CmdError::BadArg(format!(
                "Invalid argument for --allocatable: {v}"
            )))
        }
    };
    let addtag = tag_args("--addtag", &a.addtag)?;
    let deltag = tag_args("--deltag", &a.deltag)?;
    if alloc.is_none()
        && addtag.is_empty()
        && deltag.is_empty()
        && !a.uuid
        && a.metadataignore.is_none()
    {
        return Err(usage(
            "No command with matching syntax recognised.  Run 'pvchange --help' for more information.",
        ));
    }
    if a.all && !a.pvs.is_empty() {
        return Err(usage(format!(
            "Command does not accept argument: {}.",
            a.pvs[0]
        )));
    }
    if !a.all && a.pvs.is_empty() {
        return Err(usage(
            "No command with matching syntax recognised.  Run 'pvchange --help' for more information.",
        ));
    }
    let ctx = Ctx::new(&a.common)?;
    if a.uuid || a.metadataignore.is_some() {
        return Err(CmdError::Failed(
            "pvchange -u and --metadataignore are not supported by rlvm (they rewrite the PV label or its metadata areas).".into(),
        ));
    }
    let _g = ctx.lock_global(true)?;
    let found = ctx.scan()?;
    let mut targets: Vec<Target> = Vec::new();
    let mut failed_any = false;
    if a.all {
        for vg in found.vg_names() {
            if let Ok(h) = found.vg(&vg) {
                for p in &h.vg.pvs {
                    if let Some(path) = h.pv_path(&p.key) {
                        targets.push(Target {
                            name: path.to_string(),
                            vg: Some(vg.clone()),
                            id: p.id,
                        });
                    }
                }
            }
        }
        for o in found.orphans() {
            targets.push(Target {
                name: o.path.clone(),
                vg: None,
                id: o.id(),
            });
        }
    } else {
        for arg in &a.pvs {
            let dev = match scan::resolve_device(arg, &ctx.conf) {
                Ok(d) => d,
                Err(_) => {
                    ctx.error(format!("Cannot use {arg}: device not found"));
                    failed_any = true;
                    continue;
                }
            };
            let path = super::common::scan_name(&dev, &found);
            let Some(p) = found.pv_by_path(&path) else {
                ctx.error(format!("Failed to find physical volume \"{arg}\"."));
                failed_any = true;
                continue;
            };
            let vg = p
                .vg()
                .map(|v| v.name.clone())
                .or_else(|| found.vg_of_pv(&p.id()).map(|h| h.vg.name));
            targets.push(Target {
                name: arg.clone(),
                vg,
                id: p.id(),
            });
        }
    }
    // LVM2 goes VG by VG (by name), orphans last, whatever the argument order.
    targets.sort_by_key(|t| (t.vg.is_none(), t.vg.clone()));
    let (mut changed, mut unchanged) = (0usize, 0usize);
    for t in targets {
        match change_one(&ctx, &t, alloc, &addtag, &deltag) {
            Ok(true) => {
                ctx.print(format!("Physical volume \"{}\" changed", t.name));
                changed += 1;
            }
            Ok(false) => {
                ctx.print(format!("Physical volume {} not changed", t.name));
                unchanged += 1;
            }
            Err(e) => {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                ctx.error(format!("Physical volume {} not changed", t.name));
                unchanged += 1;
                failed_any = true;
            }
        }
    }
    ctx.print(format!(
        "{changed} physical volume{} changed / {unchanged} physical volume{} not changed",
        plural(changed),
        plural(unchanged)
    ));
    if failed_any {
        return Err(CmdError::Failed(String::new()));
    }
    Ok(())
}

/// Changes one PV; `Ok(false)` when it already was as asked.
fn change_one(
    ctx: &Ctx,
    t: &Target,
    alloc: Option<bool>,
    addtag: &[String],
    deltag: &[String],
) -> Result<bool, CmdError> {
    let Some(vg_name) = &t.vg else {
        return Err(CmdError::Failed(if alloc.is_some() {
            format!(
                "Allocatability not supported by orphan lvm2 format PV {}",
                t.name
            )
        } else {
            format!(
                "Can't change tag on Physical Volume {} not in volume group",
                t.name
            )
        }));
    };
    let (mut h, _v) = ctx.load_vg_for_update(vg_name)?;
    let Some(pv) = h.vg.pvs.iter_mut().find(|p| p.id == t.id) else {
        return Err(CmdError::Failed(format!(
            "Unable to find \"{}\" in volume group \"{vg_name}\"",
            t.name
        )));
    };
    let mut change = false;
    if let Some(y) = alloc {
        if pv.status.has("ALLOCATABLE") == y {
            ctx.print(format!(
                "Physical volume \"{}\" is already {}allocatable.",
                t.name,
                if y { "" } else { "un" }
            ));
        } else {
            if y {
                pv.status.set("ALLOCATABLE");
            } else {
                pv.status.clear("ALLOCATABLE");
            }
            change = true;
        }
    }
    if !addtag.is_empty() || !deltag.is_empty() {
        let before = pv.tags.clone();
        apply_tags(&mut pv.tags, addtag, deltag);
        // LVM2 writes the VG for a tag change even when nothing differs.
        change |= before != pv.tags || !addtag.is_empty() || !deltag.is_empty();
    }
    if !change {
        return Ok(false);
    }
    ctx.commit(&mut h, &store::command_line())?;
    Ok(true)
}
