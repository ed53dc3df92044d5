//! vgscan: lists the VGs the devices hold (the scan's warnings first),
//! as LVM2's tools/vgscan.c; `--mknodes` then checks their device nodes.
//! Reads devices only.

use std::ffi::OsString;

use clap::Parser;

use crate::cmd::activate;
use crate::cmd::common::{parse, CmdError, CommonArgs, Ctx};
use crate::metadata::store::Access;

#[derive(Parser, Debug)]
#[command(about = "Search for all volume groups")]
pub struct VgscanArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Also create missing and remove stale LV device nodes.
    #[arg(long = "mknodes")]
    mknodes: bool,
    /// Accepted (LVM2 no longer keeps a cache to refresh).
    #[arg(long = "cache")]
    cache: bool,
    /// Accepted: vgscan takes no lock.
    #[arg(long = "ignorelockingfailure")]
    ignorelockingfailure: bool,
}

#[allow(dead_code)] // until cmd::mod registers it (the lead's file)
pub fn vgscan(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgscanArgs = parse("vgscan", args)?;
    let ctx = Ctx::new(&a.common)?;
    if a.cache {
        ctx.warn("Ignoring vgscan --cache command because lvmetad is no longer used.");
        return Ok(());
    }
    let scan = ctx.scan()?;
    let access = Access {
        exported: true,
        foreign: false,
    };
    let names = ctx.unnamed_vgs(&scan, access);
    let mut result = Ok(());
    for name in &names {
        match scan.vg_with(name, access) {
            Ok(h) => ctx.print(format!(
                "Found {}volume group \"{name}\" using metadata type lvm2",
                if h.vg.is_exported() { "exported " } else { "" }
            )),
            Err(e) => {
                ctx.error(e);
                result = Err(CmdError::Failed(String::new()));
            }
        }
    }
    if a.mknodes {
        for name in &names {
            if let Err(e) = activate::vgmknodes_vg(&ctx, name) {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                result = Err(CmdError::Failed(String::new()));
            }
        }
    }
    result
}
