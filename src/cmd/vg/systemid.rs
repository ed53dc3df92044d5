//! `vgchange --systemid`: gives a VG to another host (or to none).

use crate::cmd::common::{CmdError, Ctx};

pub fn vgchange_systemid(_ctx: &Ctx, _vgs: &[String], _sid: &str) -> Result<(), CmdError> {
    Err(CmdError::Failed(
        "vgchange --systemid is not supported yet.".into(),
    ))
}
