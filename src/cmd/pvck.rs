//! pvck: check and repair a PV's label, headers and metadata areas (LVM2's tools/pvck.c).

use std::ffi::OsString;

use clap::Parser;

use super::common::{parse, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Check metadata on physical volumes")]
pub(crate) struct PvckArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

pub fn pvck(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvckArgs = parse("pvck", args)?;
    let _ctx = Ctx::new(&a.common)?;
    let _ = &a.args;
    Err(CmdError::Failed("pvck is not implemented yet.".into()))
}
