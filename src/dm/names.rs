//! The one place device-mapper names, UUIDs and /dev paths are built.
//! Pure; no I/O except reading the `DM_DEV_DIR` environment variable.
//!
//! Rules follow LVM2 (`build_dm_uuid` in lib/misc/lvm-string.c,
//! `dm_build_dm_name` and `dm_split_lvm_name` in libdm/libdm-string.c):
//! - name `vg-lv[-layer]`, every `-` inside a part doubled; a layer that
//!   starts with `_` is appended without a separating hyphen;
//! - UUID `LVM-<vgid32><lvid32>[-layer]`.

use std::fmt;
use std::path::PathBuf;

use crate::metadata::id::Id;

/// Prefix of every LVM2 dm UUID (`UUID_PREFIX`).
pub const UUID_PREFIX: &str = "LVM-";

/// The layers rlvm builds (LVM2 has more: pool, tdata, cdata, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The origin's own mapping under `snapshot-origin` / `snapshot-merge`.
    Real,
    /// The COW store of a snapshot.
    Cow,
}

impl Layer {
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Real => "real",
            Layer::Cow => "cow",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn push_quoted(out: &mut String, part: &str) {
    for c in part.chars() {
        if c == '-' {
            out.push('-');
        }
        out.push(c);
    }
}

/// dm name of LV `lv` in VG `vg`, optionally of one of its layers.
pub fn dm_name(vg: &str, lv: &str, layer: Option<&str>) -> String {
    let mut out = String::with_capacity(vg.len() + lv.len() + 8);
    push_quoted(&mut out, vg);
    if !lv.is_empty() {
        out.push('-');
        push_quoted(&mut out, lv);
    }
    if let Some(layer) = layer.filter(|l| !l.is_empty()) {
        if !layer.starts_with('_') {
            out.push('-');
        }
        push_quoted(&mut out, layer);
    }
    out
}

/// dm UUID of LV `lv_id` in VG `vg_id`, optionally of one of its layers.
pub fn dm_uuid(vg_id: &Id, lv_id: &Id, layer: Option<&str>) -> String {
    let mut out = format!("{UUID_PREFIX}{}{}", vg_id.as_raw_str(), lv_id.as_raw_str());
    if let Some(layer) = layer.filter(|l| !l.is_empty()) {
        out.push('-');
        out.push_str(layer);
    }
    out
}

/// The three parts of a dm name, as `dmsetup splitname` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitName {
    pub vg: String,
    pub lv: String,
    pub layer: String,
}

/// Inverse of [`dm_name`]: a single `-` separates parts, `--` is a
/// literal hyphen. Everything after the second separator is the layer
/// (hyphens in it unquoted too), like `dm_split_lvm_name`.
pub fn split_dm_name(name: &str) -> SplitName {
    let mut parts = [String::new(), String::new(), String::new()];
    let mut idx = 0;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            if chars.peek() == Some(&'-') {
                chars.next();
                parts[idx].push('-');
            } else if idx < 2 {
                idx += 1;
            } else {
                parts[idx].push('-');
            }
        } else {
            parts[idx].push(c);
        }
    }
    let [vg, lv, layer] = parts;
    SplitName { vg, lv, layer }
}

/// True for a layer device (`-real`, `-cow`, ...): hidden from udev's
/// disk rules and given no `/dev/<vg>/<lv>` link.
pub fn is_layer_name(name: &str) -> bool {
    !split_dm_name(name).layer.is_empty()
}

/// True when `uuid` belongs to LV `lv_id` of VG `vg_id` (any layer).
pub fn uuid_is_lv(uuid: &str, vg_id: &Id, lv_id: &Id) -> bool {
    let base = dm_uuid(vg_id, lv_id, None);
    uuid == base || uuid.strip_prefix(&base).is_some_and(|r| r.starts_with('-'))
}

/// (VG ID, LV ID) of the LV whose device (any layer) has dm UUID `uuid`
/// (`LVM-<vg id><lv id>[-layer]`): `uuid_is_lv(uuid, v, l)` exactly when
/// this is `Some((v, l))`, found without making a UUID per LV.
pub fn lv_of_uuid(uuid: &str) -> Option<(Id, Id)> {
    let rest = uuid.strip_prefix(UUID_PREFIX)?;
    let (vg, rest) = (rest.get(..32)?, rest.get(32..)?);
    let (lv, layer) = (rest.get(..32)?, rest.get(32..)?);
    if !(layer.is_empty() || layer.starts_with('-')) {
        return None;
    }
    Some((
        Id::from_raw(vg.as_bytes()).ok()?,
        Id::from_raw(lv.as_bytes()).ok()?,
    ))
}

/// The LV ID in `uuid` if it is a device of VG `vg_id`
/// (`LVM-<vg id><lv id>[-layer]`), whatever LV that is.
pub fn lv_id_in_vg(uuid: &str, vg_id: &Id) -> Option<Id> {
    let rest = uuid
        .strip_prefix("LVM-")?
        .strip_prefix(vg_id.as_raw_str())?;
    let raw = rest.get(..32)?;
    if !(rest.len() == 32 || rest[32..].starts_with('-')) {
        return None;
    }
    Id::from_raw(raw.as_bytes()).ok()
}

/// True when `uuid` is the top (not a layer) device of an LV of VG
/// `vg_id`: `LVM-<vg id><lv id>` with nothing after.
pub fn is_top_of_vg(uuid: &str, vg_id: &Id) -> bool {
    uuid.len() == UUID_PREFIX.len() + 2 * vg_id.as_raw_str().len()
        && lv_id_in_vg(uuid, vg_id).is_some()
}

/// `$DM_DEV_DIR` or `/dev` (libdm's `dm_dir`/`DM_DEV_DIR`).
pub fn dev_dir() -> PathBuf {
    match std::env::var_os("DM_DEV_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/dev"),
    }
}

/// `/dev/mapper/<name>` under `dev_dir`.
pub fn mapper_path_in(dev_dir: &std::path::Path, name: &str) -> PathBuf {
    dev_dir.join("mapper").join(name)
}

/// `/dev/<vg>/<lv>` under `dev_dir`.
pub fn lv_path_in(dev_dir: &std::path::Path, vg: &str, lv: &str) -> PathBuf {
    dev_dir.join(vg).join(lv)
}

/// `/dev/mapper/<name>`, `DM_DEV_DIR` respected.
pub fn mapper_path(name: &str) -> PathBuf {
    mapper_path_in(&dev_dir(), name)
}

/// `/dev/<vg>/<lv>`, `DM_DEV_DIR` respected.
pub fn lv_path(vg: &str, lv: &str) -> PathBuf {
    lv_path_in(&dev_dir(), vg, lv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        s.parse().unwrap()
    }

    #[test]
    fn names_double_hyphens() {
        assert_eq!(dm_name("vg", "lv", None), "vg-lv");
        assert_eq!(dm_name("my-vg", "lv-1", None), "my--vg-lv--1");
        assert_eq!(
            dm_name("vg", "lv", Some(Layer::Real.as_str())),
            "vg-lv-real"
        );
        assert_eq!(dm_name("vg", "s-1", Some("cow")), "vg-s--1-cow");
        assert_eq!(dm_name("vg", "lv", Some("_tdata")), "vg-lv_tdata");
        assert_eq!(dm_name("vg", "", None), "vg");
    }

    #[test]
    fn uuids() {
        let vg = id("P0EYBO-y6TL-8mpV-sIy7-7tr3-GiNE-IC4wDC");
        let lv = id("abcdef-0123-4567-89ab-cdef-ABCD-EFGHIJ");
        let base = "LVM-P0EYBOy6TL8mpVsIy77tr3GiNEIC4wDCabcdef0123456789abcdefABCDEFGHIJ";
        assert_eq!(dm_uuid(&vg, &lv, None), base);
        assert_eq!(dm_uuid(&vg, &lv, Some("real")), format!("{base}-real"));
        assert!(uuid_is_lv(&format!("{base}-cow"), &vg, &lv));
        assert!(uuid_is_lv(base, &vg, &lv));
        assert!(!uuid_is_lv(&format!("{base}x"), &vg, &lv));
        // lv_of_uuid agrees with uuid_is_lv on each form.
        for (u, owner) in [
            (base.to_string(), Some((vg, lv))),
            (format!("{base}-cow"), Some((vg, lv))),
            (format!("{base}-real"), Some((vg, lv))),
            (format!("{base}x"), None),
            (base[..base.len() - 1].to_string(), None),
            (base.replacen("LVM-", "CRYPT-", 1), None),
            (String::new(), None),
        ] {
            assert_eq!(lv_of_uuid(&u), owner, "{u}");
            assert_eq!(uuid_is_lv(&u, &vg, &lv), owner.is_some(), "{u}");
        }
    }

    #[test]
    fn split_inverts_build() {
        for (vg, lv, layer) in [
            ("vg", "lv", ""),
            ("my-vg", "lv-1", "real"),
            ("a--b", "x-", "cow"),
            ("vg", "lv", ""),
        ] {
            let name = dm_name(vg, lv, Some(layer));
            let s = split_dm_name(&name);
            assert_eq!(
                (s.vg.as_str(), s.lv.as_str(), s.layer.as_str()),
                (vg, lv, layer)
            );
        }
        assert!(is_layer_name("vg-lv-real"));
        assert!(!is_layer_name("my--vg-lv--1"));
    }

    #[test]
    fn paths_under_dev_dir() {
        let d = std::path::Path::new("/tmp/x");
        assert_eq!(
            mapper_path_in(d, "vg-lv"),
            PathBuf::from("/tmp/x/mapper/vg-lv")
        );
        assert_eq!(lv_path_in(d, "vg", "lv"), PathBuf::from("/tmp/x/vg/lv"));
    }
}
