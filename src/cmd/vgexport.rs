//! vgexport, vgimport: put a VG out of use (to move its disks to another
//! host) and back. An exported VG carries `EXPORTED` in its status and in
//! each PV's; rlvm then refuses to write or activate it, as LVM2 does
//! (`Scan::vg`), and only reports show it (`x` in vg_attr and pv_attr).
//! The rules come from LVM2's `tools/vgexport.c` and `tools/vgimport.c`.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::store::{self, Access, VgHandle};
use crate::system::lock::LockGuard;

use super::common::{failed, parse, usage, vg_name_args, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Unregister volume group(s) from the system")]
pub(crate) struct VgexportArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Export every VG that is not exported yet.
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

#[derive(Parser, Debug)]
#[command(about = "Register exported volume group with system")]
pub(crate) struct VgimportArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Import every exported VG.
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

/// The VG names to work on: the arguments, or with `-a` every VG `every`
/// gives. LVM2 takes either, never both or neither (exit 3, with the
/// words of its command-line matcher).
fn targets(
    all: bool,
    args: &[String],
    every: impl FnOnce() -> Result<Vec<String>, CmdError>,
) -> Result<Vec<String>, CmdError> {
    match (all, args.is_empty()) {
        (false, true) => Err(usage("No command with matching syntax recognised.")),
        (true, false) => Err(usage(format!(
            "Command does not accept argument: {}.",
            args[0]
        ))),
        (true, true) => every(),
        (false, false) => vg_name_args(args),
    }
}

/// Runs `one` for each VG; failures are reported and the rest still run.
fn each(
    ctx: &Ctx,
    names: &[String],
    one: impl Fn(&str) -> Result<(), CmdError>,
) -> Result<(), CmdError> {
    let mut result = Ok(());
    for name in names {
        if let Err(e) = one(name) {
            match &e {
                CmdError::Failed(m) => ctx.error(m),
                _ => return Err(e),
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}

pub fn vgexport(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgexportArgs = parse("vgexport", args)?;
    let ctx = Ctx::new(&a.common)?;
    // With -a, VGs already exported are skipped silently (LVM2 skips an
    // exported VG it was not asked for by name).
    let names = targets(a.all, &a.vgs, || {
        Ok(ctx.unnamed_vgs(&ctx.scan()?, Access::default()))
    })?;
    each(&ctx, &names, |name| export_one(&ctx, name))
}

fn export_one(ctx: &Ctx, name: &str) -> Result<(), CmdError> {
    // Refuses an exported VG with LVM2's "Volume group X is exported".
    let (mut h, _g) = ctx.load_vg_for_update(name)?;
    if ctx
        .dm()
        .is_some_and(|dm| crate::ops::activate::any_lv_active(&dm, &h.vg))
    {
        return Err(CmdError::Failed(format!(
            "Volume group \"{name}\" has active logical volumes"
        )));
    }
    h.vg.status.set("EXPORTED");
    h.vg.system_id = None;
    for pv in &mut h.vg.pvs {
        pv.status.set("EXPORTED");
    }
    ctx.commit(&mut h, &store::command_line())?;
    ctx.print(format!("Volume group \"{name}\" successfully exported"));
    Ok(())
}

pub fn vgimport(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgimportArgs = parse("vgimport", args)?;
    let ctx = Ctx::new(&a.common)?;
    // With -a every VG is tried, and one that is not exported fails
    // ("is not exported"), as with LVM2.
    let names = targets(a.all, &a.vgs, || {
        let all = Access {
            exported: true,
            foreign: false,
        };
        Ok(ctx.unnamed_vgs(&ctx.scan()?, all))
    })?;
    each(&ctx, &names, |name| import_one(&ctx, name))
}

/// Locks and reads VG `name` for vgimport: exported VGs are what it is
/// for, the other checks are `Ctx::load_vg_for_update`'s.
fn load_exported(ctx: &Ctx, name: &str) -> Result<(VgHandle, LockGuard), CmdError> {
    let guard = ctx.lock_vg(name, true)?;
    let h = ctx.scan()?.vg_allow_exported(name).map_err(failed)?;
    for w in &h.warnings {
        ctx.warn(w);
    }
    if !h.vg.is_exported() {
        return Err(CmdError::Failed(format!(
            "Volume group \"{name}\" is not exported"
        )));
    }
    if !h.missing.is_empty() {
        return Err(CmdError::Failed(format!(
            "Volume group \"{name}\" is partially missing"
        )));
    }
    h.vg.check_writable().map_err(failed)?;
    h.check_no_duplicates().map_err(failed)?;
    h.check_consistent().map_err(failed)?;
    Ok((h, guard))
}

fn import_one(ctx: &Ctx, name: &str) -> Result<(), CmdError> {
    let (mut h, _g) = load_exported(ctx, name)?;
    h.vg.status.clear("EXPORTED");
    // The VG now belongs to the importing host (none without a system ID).
    h.vg.system_id = ctx.host.system_id.clone();
    for pv in &mut h.vg.pvs {
        pv.status.clear("EXPORTED");
    }
    ctx.commit(&mut h, &store::command_line())?;
    ctx.print(format!("Volume group \"{name}\" successfully imported"));
    Ok(())
}
