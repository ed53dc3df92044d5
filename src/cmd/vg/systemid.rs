//! `vgchange --systemid`: gives a VG to another host, or to none (LVM2's
//! `_vgchange_system_id` in tools/vgchange.c, with its words and
//! questions). Writes metadata through a commit; a foreign VG cannot be
//! given away (it is not read for a change).

use crate::metadata::names;
use crate::metadata::store::{self, Access};

use crate::cmd::common::{CmdError, Ctx};
use crate::cmd::confirm;

/// What `--systemid S` asks for, against the VG's current ID and this
/// host's: `Ok(None)` is the refusal of a no-op.
fn new_system_id(arg: &str) -> Result<Option<String>, CmdError> {
    if arg.is_empty() {
        return Ok(None);
    }
    match names::system_id_from_string(arg) {
        Some(s) => Ok(Some(s)),
        None => Err(CmdError::Failed(format!(
            "WARNING: Invalid system ID format: {arg}\n  Unable to set system ID."
        ))),
    }
}

pub fn vgchange_systemid(ctx: &Ctx, vgs: &[String], arg: &str) -> Result<(), CmdError> {
    let wanted = new_system_id(arg)?;
    let _g = ctx.lock_global(true)?;
    let (names, mut bad) =
        super::super::vgselect::select_vgs(ctx, &ctx.scan()?, vgs, Access::default())?;
    for name in &names {
        if let Err(e) = change_one(ctx, name, wanted.as_deref()) {
            if let CmdError::Failed(m) = &e {
                ctx.error(m);
            } else {
                return Err(e);
            }
            bad = true;
        }
    }
    if bad {
        Err(CmdError::Failed(String::new()))
    } else {
        Ok(())
    }
}

fn change_one(ctx: &Ctx, name: &str, wanted: Option<&str>) -> Result<(), CmdError> {
    let (mut h, _l) = ctx.load_vg_for_update(name)?;
    let current = h.vg.system_id.clone().unwrap_or_default();
    if current == wanted.unwrap_or("") {
        return Err(CmdError::Failed(format!(
            "Volume Group system ID is already \"{current}\"."
        )));
    }
    let local = ctx.host.system_id.as_deref();
    match wanted {
        None if local.is_some() => {
            ctx.warn("Removing the system ID allows unsafe access from other hosts.");
            if !confirm(
                ctx,
                &format!("Remove system ID {current} from volume group {name}? [y/n]: "),
            ) {
                return Err(CmdError::Failed(format!(
                    "System ID of volume group {name} not changed."
                )));
            }
        }
        Some(s) if local != Some(s) => {
            if ctx
                .dm()
                .is_some_and(|dm| crate::ops::activate::any_lv_active(&dm, &h.vg))
            {
                return Err(CmdError::Failed(format!(
                    "Logical Volumes in VG {name} must be deactivated before system ID can be changed."
                )));
            }
            match local {
                Some(l) => ctx.warn(format!(
                    "Requested system ID {s} does not match local system ID {l}."
                )),
                None => ctx.warn("No local system ID is set."),
            }
            ctx.warn(format!(
                "Volume group {name} might become inaccessible from this machine."
            ));
            if !confirm(
                ctx,
                &format!("Set foreign system ID {s} on volume group {name}? [y/n]: "),
            ) {
                return Err(CmdError::Failed(format!(
                    "Volume group {name} system ID not changed."
                )));
            }
        }
        _ => {}
    }
    ctx.verbose(
        1,
        format!(
            "Changing system ID for VG {name} from \"{current}\" to \"{}\".",
            wanted.unwrap_or("")
        ),
    );
    h.vg.system_id = wanted.map(str::to_string);
    ctx.commit(&mut h, &store::command_line())?;
    ctx.print(format!("Volume group \"{name}\" successfully changed"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_id_arguments() {
        assert_eq!(new_system_id("").unwrap(), None);
        assert_eq!(new_system_id("host1").unwrap().as_deref(), Some("host1"));
        assert!(new_system_id("!!!").is_err());
    }
}

#[derive(clap::Parser, Debug)]
#[command(about = "Display the system ID, if any, currently set on this host")]
pub struct SystemidArgs {
    #[command(flatten)]
    common: crate::cmd::common::CommonArgs,
}

/// `lvm systemid`: this host's system ID as `global/system_id_source`
/// gives it (LVM2's `systemid` in tools/lvmcmdline.c).
#[allow(dead_code)] // until cmd::mod registers it (the lead's file)
pub fn systemid(args: Vec<std::ffi::OsString>) -> Result<(), CmdError> {
    let a: SystemidArgs = crate::cmd::common::parse("systemid", args)?;
    let ctx = Ctx::new(&a.common)?;
    ctx.print(format!(
        "system ID: {}",
        ctx.host.system_id.as_deref().unwrap_or("")
    ));
    Ok(())
}
