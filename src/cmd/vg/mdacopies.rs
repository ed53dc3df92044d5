//! `--vgmetadatacopies` (vgcreate's `--metadatacopies`): the VG's
//! preferred number of metadata copies, and commits that keep the VG's
//! metadata areas in use or ignored to match it
//! (`metadata::mda_balance`).

use std::ffi::OsString;

use crate::metadata::mda_balance as balance;
use crate::metadata::store::{self, FileOpener, VgHandle};

use super::super::common::{failed, CmdError, Ctx};

/// A `--vgmetadatacopies` value: a number, `unmanaged` (0), or `all`
/// (every area in use now, unmanaged from then on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Copies {
    Number(u64),
    All,
}

/// Parses a `--vgmetadatacopies` value as LVM2 does
/// (`metadatacopies_arg`): `all`, `unmanaged`, or a number.
pub(crate) fn parse_copies(opt: &str, v: &str) -> Result<Copies, CmdError> {
    match v {
        "all" => Ok(Copies::All),
        "unmanaged" => Ok(Copies::Number(balance::UNMANAGED)),
        _ => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= u32::MAX as u64)
            .map(Copies::Number)
            .ok_or_else(|| CmdError::BadArg(format!("Invalid argument for {opt}: {v}"))),
    }
}

/// The VG's `metadata_copies` for `c`, and whether every area must be
/// put in use first (`all`).
pub(crate) fn stored(c: Copies) -> (u64, bool) {
    match c {
        Copies::Number(n) => (n, false),
        Copies::All => (balance::UNMANAGED, true),
    }
}

/// vgcreate and vgchange take `--metadatacopies` as `--vgmetadatacopies`
/// (pvcreate and vgextend take it for the PV's areas).
pub(crate) fn vg_alias(args: Vec<OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|a| match a.to_str() {
            Some("--metadatacopies") => OsString::from("--vgmetadatacopies"),
            Some(s) if s.starts_with("--metadatacopies=") => {
                OsString::from(format!("--vg{}", &s[2..]))
            }
            _ => a,
        })
        .collect()
}

/// vgchange: sets the VG's `metadata_copies` to `copies` (if given) and
/// commits it balanced.
pub(crate) fn commit_with(
    ctx: &Ctx,
    h: &mut VgHandle,
    copies: Option<Copies>,
) -> Result<(), CmdError> {
    let mut all_in_use = false;
    if let Some(c) = copies {
        let (n, all) = stored(c);
        if !all && h.vg.metadata_copies.unwrap_or(balance::UNMANAGED) == n {
            // LVM2's warning (no "WARNING:" prefix); the VG is written
            // all the same.
            ctx.error(if n == balance::UNMANAGED {
                format!(
                    "Number of metadata copies for VG {} is already unmanaged.",
                    h.vg.name
                )
            } else {
                format!(
                    "Number of metadata copies for VG {} is already {n}.",
                    h.vg.name
                )
            });
        }
        h.vg.metadata_copies = Some(n);
        all_in_use = all;
    }
    commit_balanced(ctx, h, all_in_use)
}

/// Commits `h` with its metadata areas brought to the VG's
/// `metadata_copies` first (`all_in_use`: every area in use): areas used
/// again are flipped before the commit, areas to ignore after it (see
/// `metadata::mda_balance`).
pub(crate) fn commit_balanced(
    ctx: &Ctx,
    h: &mut VgHandle,
    all_in_use: bool,
) -> Result<(), CmdError> {
    if ctx.common.test {
        return ctx.commit(h, &store::command_line());
    }
    let saved = h.vg.metadata_copies;
    if all_in_use {
        h.vg.metadata_copies = Some(u32::MAX as u64);
    }
    let flips = balance::plan(h, &FileOpener).map_err(failed);
    h.vg.metadata_copies = saved;
    let flips = flips?;
    balance::apply(&flips, false, &FileOpener).map_err(failed)?;
    ctx.commit(h, &store::command_line())?;
    balance::apply(&flips, true, &FileOpener).map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_copies("--x", "all").unwrap(), Copies::All);
        assert_eq!(parse_copies("--x", "unmanaged").unwrap(), Copies::Number(0));
        assert_eq!(parse_copies("--x", "5").unwrap(), Copies::Number(5));
        assert!(matches!(
            parse_copies("--x", "-1"),
            Err(CmdError::BadArg(_))
        ));
        assert!(matches!(parse_copies("--x", "x"), Err(CmdError::BadArg(_))));
        let a = vg_alias(vec!["--metadatacopies".into(), "--metadatacopies=2".into()]);
        assert_eq!(
            a,
            vec![
                OsString::from("--vgmetadatacopies"),
                "--vgmetadatacopies=2".into()
            ]
        );
    }
}
