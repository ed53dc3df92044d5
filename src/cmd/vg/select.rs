//! Which VGs a VG command's arguments name (LVM2's `process_each_vg` in
//! tools/toollib.c): VG names and `@tag`s, each VG once, in name order.
//! Reads the scan only.

use crate::metadata::store::{Access, Scan, StoreError};

use crate::cmd::common::{vg_name_arg, CmdError, Ctx};

/// The VGs to work on, and the names that matched no VG (each already
/// reported, LVM2's two lines: the command then fails, after doing the
/// rest). A tag that no VG carries is no error. With no argument at all,
/// every VG the command may use (exported and foreign ones skipped as
/// `Ctx::unnamed_vgs` does).
pub fn select_vgs(
    ctx: &Ctx,
    scan: &Scan,
    args: &[String],
    access: Access,
) -> Result<(Vec<String>, bool), CmdError> {
    if args.is_empty() {
        return Ok((ctx.unnamed_vgs(scan, access), false));
    }
    let mut names = Vec::new();
    let mut tags = Vec::new();
    for a in args {
        match a.strip_prefix('@') {
            Some(t) => tags.push(t.to_string()),
            None => {
                let n = vg_name_arg(a)?;
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    let all = scan.vg_names();
    let mut missing = false;
    for n in &names {
        if !all.contains(n) {
            ctx.error(format!(
                "Volume group \"{n}\" not found\n  Cannot process volume group {n}"
            ));
            missing = true;
        }
    }
    let mut out = Vec::new();
    for vg in all {
        let chosen = names.contains(&vg)
            || (!tags.is_empty()
                && match scan.vg_with(&vg, access) {
                    Ok(h) => h.vg.tags.iter().any(|t| tags.contains(t)),
                    // A tag selects only VGs the command may use.
                    Err(StoreError::VgForeign { .. }) | Err(StoreError::VgExported(_)) => false,
                    Err(_) => false,
                });
        if chosen && !out.contains(&vg) {
            out.push(vg);
        }
    }
    Ok((out, missing))
}
