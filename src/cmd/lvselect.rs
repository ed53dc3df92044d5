//! Which LVs the arguments of an LV command select, by LVM2's rules
//! (tools/toollib.c `_get_arg_lvnames`, `_process_lv_vgnameid_list`,
//! `process_each_lv_in_vg`): `vg/lv` paths, whole VGs, `@tag` (an LV tag,
//! or a VG tag for all of that VG's LVs) and `$LVM_VG_NAME` as the VG of a
//! bare LV name. Pure: the caller reads the VGs and says which exist.
//!
//! Used by lvremove and lvchange; the report commands (lvs, lvdisplay)
//! can use it too (`parse`, then `all_vgs` or `vgs`, then `pick`).

use crate::metadata::model::{LvRole, Vg};
use crate::metadata::names;

use super::common::{split_lv_arg, LvArg};

/// What the arguments of an LV command select.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LvSelection {
    /// VGs named (by path or whole), in argument order, once each.
    pub vgs: Vec<String>,
    /// VGs named whole: all their LVs.
    pub whole: Vec<String>,
    /// (VG, LV) named by path.
    pub lvs: Vec<(String, String)>,
    /// `@tag` arguments (without the `@`).
    pub tags: Vec<String>,
    /// Arguments that name nothing (bad paths, bad tags), with LVM2's
    /// error; the others are still processed, and the command fails.
    pub errors: Vec<String>,
}

/// What one VG contributes: the LVs to process, in the VG's order, and
/// the LV names given for it that it does not have.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Picked {
    pub lvs: Vec<String>,
    pub missing: Vec<String>,
}

/// Reads the arguments (`_get_arg_lvnames`); `default_vg` is
/// `$LVM_VG_NAME`.
pub fn parse(args: &[String], default_vg: Option<&str>) -> LvSelection {
    let mut s = LvSelection::default();
    let add_vg = |s: &mut LvSelection, vg: &str| {
        if !s.vgs.iter().any(|v| v == vg) {
            s.vgs.push(vg.to_string());
        }
    };
    for arg in args {
        if let Some(tag) = arg.strip_prefix('@') {
            match names::validate_tag(tag) {
                Ok(()) => {
                    if !s.tags.iter().any(|t| t == tag) {
                        s.tags.push(tag.to_string());
                    }
                }
                Err(_) => s.errors.push(format!("Skipping invalid tag {arg}.")),
            }
            continue;
        }
        let (rest, dev_dir) = match arg.strip_prefix("/dev/") {
            Some(r) => (r, true),
            None => (arg.as_str(), false),
        };
        if rest.starts_with('/') || (!dev_dir && arg.starts_with('/')) {
            s.errors
                .push(format!("\"{arg}\": Invalid path for Logical Volume."));
            continue;
        }
        if rest.contains('/') {
            match split_lv_arg(arg) {
                Ok(LvArg::Lv(v, l)) if !l.is_empty() => {
                    add_vg(&mut s, &v);
                    s.lvs.push((v, l));
                }
                Ok(LvArg::Lv(v, _)) => {
                    s.errors
                        .push(format!("Failed to find logical volume \"{v}/\""));
                }
                Ok(LvArg::Invalid) | Err(_) => s
                    .errors
                    .push(names::NameError::InvalidLvPath(arg.clone()).to_string()),
            }
            continue;
        }
        match default_vg.filter(|_| !dev_dir) {
            Some(vg) => {
                add_vg(&mut s, vg);
                s.lvs.push((vg.to_string(), rest.to_string()));
            }
            None => {
                add_vg(&mut s, rest);
                if !s.whole.iter().any(|v| v == rest) {
                    s.whole.push(rest.to_string());
                }
            }
        }
    }
    s
}

/// `$LVM_VG_NAME` as LVM2 takes it (`_default_vgname`): a `/dev/` prefix
/// dropped; a value with a slash is no VG name (the error to print).
pub fn default_vg() -> Result<Option<String>, String> {
    let Ok(v) = std::env::var("LVM_VG_NAME") else {
        return Ok(None);
    };
    let v = v.strip_prefix("/dev/").unwrap_or(&v).to_string();
    if v.contains('/') {
        return Err(format!(
            "\"{v}\": Invalid environment var LVM_VG_NAME set for Volume Group."
        ));
    }
    Ok(Some(v))
}

impl LvSelection {
    /// Whether every VG on the system is read: with a tag (any VG may
    /// carry it) or when nothing is named. Then a VG named but absent is
    /// no error (LVM2 only looks among the VGs it found).
    pub fn all_vgs(&self) -> bool {
        !self.tags.is_empty() || (self.vgs.is_empty() && self.errors.is_empty())
    }

    /// The LVs of `vg` to process, in the VG's order
    /// (`process_each_lv_in_vg`): all of them when the VG is named whole,
    /// when nothing restricts, or when the VG has a tag given; else the
    /// LVs named and those with a tag given. Snapshot links are never
    /// processed; hidden LVs only when named (or `all`, for `lvs -a`).
    /// `skip_cows`: when processing all LVs, leave COWs out (activation
    /// changes reach them through their origin).
    pub fn pick(&self, vg: &Vg, all: bool, skip_cows: bool) -> Picked {
        let whole = self.whole.contains(&vg.name);
        let named: Vec<&str> = self
            .lvs
            .iter()
            .filter(|(v, _)| *v == vg.name)
            .map(|(_, l)| l.as_str())
            .collect();
        let restricted = !named.is_empty() || !self.tags.is_empty();
        let process_all = whole
            || !restricted
            || (!self.tags.is_empty() && vg.tags.iter().any(|t| self.tags.contains(t)));
        let visible = vg.visible_flags();
        let mut out = Picked::default();
        let mut found: Vec<&str> = Vec::new();
        for ((lv, vis), role) in vg.lvs.iter().zip(visible).zip(vg.roles()) {
            if role == LvRole::SnapshotLink {
                continue;
            }
            if process_all && skip_cows && role == LvRole::Cow {
                continue;
            }
            let is_named = !whole && named.contains(&lv.name.as_str());
            if is_named {
                found.push(&lv.name);
            }
            // Hidden LVs pass only when named (LVM2: when any LV name was
            // given for the VG) or with --all.
            if !vis && !all && named.is_empty() {
                continue;
            }
            let tagged = lv.tags.iter().any(|t| self.tags.contains(t));
            if process_all || is_named || tagged {
                out.lvs.push(lv.name.clone());
            }
        }
        if !whole {
            for n in named {
                if !found.contains(&n) && !out.missing.iter().any(|m| m == n) {
                    out.missing.push(n.to_string());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_paths_vgs_tags_and_the_default_vg() {
        let s = parse(&args(&["vg1/lv1", "vg2", "@t", "/dev/vg3/lv3", "/x"]), None);
        assert_eq!(s.vgs, args(&["vg1", "vg2", "vg3"]));
        assert_eq!(s.whole, args(&["vg2"]));
        assert_eq!(
            s.lvs,
            vec![("vg1".into(), "lv1".into()), ("vg3".into(), "lv3".into())]
        );
        assert_eq!(s.tags, args(&["t"]));
        assert_eq!(
            s.errors,
            args(&["\"/x\": Invalid path for Logical Volume."])
        );
        // With $LVM_VG_NAME a bare name is an LV of that VG.
        let s = parse(&args(&["lv3", "vg2/lv4"]), Some("vg1"));
        assert_eq!(
            s.lvs,
            vec![("vg1".into(), "lv3".into()), ("vg2".into(), "lv4".into())]
        );
        assert!(s.whole.is_empty());
        assert!(!s.all_vgs());
        assert!(parse(&[], Some("vg1")).all_vgs());
    }

    fn vg() -> Vg {
        let text = include_str!("../../tests/golden/cases/snapshots/backup.vg");
        crate::metadata::text::import_vg(text).expect("import").0
    }

    #[test]
    fn picks_in_vg_order_by_name_tag_and_vg_tag() {
        let mut vg = vg();
        let names: Vec<String> = vg
            .lvs
            .iter()
            .filter(|l| vg.role(l) != LvRole::SnapshotLink)
            .map(|l| l.name.clone())
            .collect();
        let (first, last) = (names[0].clone(), names[names.len() - 1].clone());
        // Named in reverse order: processed in the VG's order; a name the
        // VG lacks is reported missing.
        let s = parse(
            &[
                format!("{}/{last}", vg.name),
                format!("{}/{first}", vg.name),
                format!("{}/nosuch", vg.name),
            ],
            None,
        );
        let p = s.pick(&vg, false, false);
        assert_eq!(p.lvs, vec![first.clone(), last.clone()]);
        assert_eq!(p.missing, args(&["nosuch"]));
        // An LV tag selects that LV; a VG tag all of them.
        vg.lv_mut(&last).unwrap().tags.push("T".into());
        let s = parse(&args(&["@T", "@garbage"]), None);
        assert!(s.all_vgs());
        assert_eq!(s.pick(&vg, false, false).lvs, vec![last.clone()]);
        vg.tags.push("garbage".into());
        assert_eq!(s.pick(&vg, false, false).lvs, names);
        // A whole VG next to one of its LVs: each LV once.
        let s = parse(&[vg.name.clone(), format!("{}/{first}", vg.name)], None);
        let p = s.pick(&vg, false, false);
        assert_eq!(p.lvs, names);
        assert!(p.missing.is_empty());
    }
}
