//! vgchange: a VG's attributes, tags and activation. Writes metadata
//! through a commit; activation goes through `cmd::activate`.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::store::{self, Access};

use crate::cmd::activate;
use crate::cmd::common::{
    apply_tags, parse, tag_args, usage, vg_name_args, CmdError, CommonArgs, Ctx,
};

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
