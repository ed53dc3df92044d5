//! pvresize: resize a physical volume (LVM2's tools/pvresize.c).

use std::ffi::OsString;

use clap::Parser;

use super::common::{parse, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Resize physical volume(s)")]
pub(crate) struct PvresizeArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

pub fn pvresize(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvresizeArgs = parse("pvresize", args)?;
    let _ctx = Ctx::new(&a.common)?;
    let _ = &a.args;
    Err(CmdError::Failed("pvresize is not implemented yet.".into()))
}
