//! vgrename, vgmerge, vgimportclone: VG renames and merges (LVM2's tools/vgrename.c, vgmerge.c, vgimportclone.c).

use std::ffi::OsString;

use clap::Parser;

use super::common::{parse, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Rename a volume group")]
pub(crate) struct VgrenameArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

pub fn vgrename(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgrenameArgs = parse("vgrename", args)?;
    let _ctx = Ctx::new(&a.common)?;
    let _ = &a.args;
    Err(CmdError::Failed("vgrename is not implemented yet.".into()))
}

#[derive(Parser, Debug)]
#[command(about = "Merge volume groups")]
pub(crate) struct VgmergeArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

pub fn vgmerge(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgmergeArgs = parse("vgmerge", args)?;
    let _ctx = Ctx::new(&a.common)?;
    let _ = &a.args;
    Err(CmdError::Failed("vgmerge is not implemented yet.".into()))
}

#[derive(Parser, Debug)]
#[command(about = "Import a VG from cloned PVs")]
pub(crate) struct VgimportcloneArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

pub fn vgimportclone(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgimportcloneArgs = parse("vgimportclone", args)?;
    let _ctx = Ctx::new(&a.common)?;
    let _ = &a.args;
    Err(CmdError::Failed(
        "vgimportclone is not implemented yet.".into(),
    ))
}
