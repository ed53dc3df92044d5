//! vgck: checks a VG's metadata copies (and rewrites them with
//! `--updatemetadata`). Reads devices; writes only through a commit.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::store::{self, Access, VgHandle};
use crate::system::lock::LockGuard;

use crate::cmd::common::{failed, parse, vg_name_args, vg_read_failed, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Check the consistency of volume group(s)")]
pub struct VgckArgs {
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
                let (mut h, _g) = load_for_update_metadata(&ctx, name)?;
                ctx.commit(&mut h, &store::command_line())?;
                crate::cmd::pvchange::clear_outdated(&ctx, name)?;
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

/// The VG for `vgck --updatemetadata`, locked: any copy may be overwritten
/// with the one read, and a PV that was missing when the VG was last
/// written but is back and holds no extent rejoins it (LVM2's "unused
/// reappeared PV": its stale metadata is all there is to repair). A PV
/// still missing, or back with LVs on it, still refuses the write.
fn load_for_update_metadata(ctx: &Ctx, name: &str) -> Result<(VgHandle, LockGuard), CmdError> {
    let guard = ctx.lock_vg(name, true)?;
    let scan = ctx.scan()?;
    let mut h = scan.vg(name).map_err(vg_read_failed)?;
    h.vg.check_writable().map_err(failed)?;
    h.check_no_duplicates().map_err(failed)?;
    h.allow_repair();
    for key in h.missing.clone() {
        let Some(pv) = h.vg.pvs.iter().find(|p| p.key == key) else {
            continue;
        };
        let Some(found) = scan.pvs.iter().find(|s| s.id() == pv.id) else {
            continue;
        };
        if h.vg.pe_used_on(&key) > 0 {
            continue;
        }
        ctx.warn(format!(
            "VG {name} has unused reappeared PV {} {}.",
            found.path, pv.id
        ));
        let found = found.clone();
        if let Some(pv) = h.vg.pvs.iter_mut().find(|p| p.key == key) {
            pv.flags.clear("MISSING");
        }
        h.pv_paths.insert(key.clone(), found.path.clone());
        h.pvs.insert(key.clone(), found);
        h.missing.retain(|k| *k != key);
    }
    if !h.missing.is_empty() {
        return Err(CmdError::Failed(format!(
            "Cannot change VG {name} while PVs are missing.\n  See vgreduce --removemissing and vgextend --restoremissing.\n  Cannot process volume group {name}"
        )));
    }
    Ok((h, guard))
}
