//! lvmconfig, dumpconfig, config: display and manipulate configuration information (LVM2's tools/dumpconfig.c).

use std::ffi::OsString;

use clap::Parser;

use super::common::{parse, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Display and manipulate configuration information")]
pub(crate) struct LvmconfigArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

pub fn lvmconfig(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvmconfigArgs = parse("lvmconfig", args)?;
    let _ctx = Ctx::new(&a.common)?;
    let _ = &a.args;
    Err(CmdError::Failed("lvmconfig is not implemented yet.".into()))
}
