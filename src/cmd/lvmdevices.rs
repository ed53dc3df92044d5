//! lvmdevices: manage the devices file (LVM2's tools/lvmdevices.c).

use std::ffi::OsString;

use clap::Parser;

use super::common::{parse, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Manage the devices file")]
pub(crate) struct LvmdevicesArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

pub fn lvmdevices(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvmdevicesArgs = parse("lvmdevices", args)?;
    let _ctx = Ctx::new(&a.common)?;
    let _ = &a.args;
    Err(CmdError::Failed(
        "lvmdevices is not implemented yet.".into(),
    ))
}
