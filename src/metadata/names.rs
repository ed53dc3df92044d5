//! Name rules for VGs, LVs and tags, and splitting LV arguments into
//! (VG, LV). Pure functions; no disk or kernel access.
//!
//! Rules follow LVM2's `lib/misc/lvm-string.c` (`_validate_name`,
//! `apply_lvname_restrictions`, `validate_tag`), `tools/toollib.c`
//! (`skip_dev_dir`, `validate_new_vg_name`) and `libdm-string.c`
//! (`dm_split_lvm_name`). Messages were checked against LVM 2.03.16
//! (`lvcreate -n`, `lvrename`, `vgcreate`, `lvchange --addtag`, `lvs PATH`).

use thiserror::Error;

/// LVM2's `NAME_LEN` is 128 including the NUL: names are at most 127 bytes.
pub const MAX_NAME_LEN: usize = 127;
/// `len(vg) + len(lv) + 3` must stay below this (`lv_set_name` / dm name
/// room in LVM2); real LVM reports the sum in its error.
pub const MAX_FULL_NAME_LEN: usize = 128;
/// LVM 2.03.16 does not limit tag length; rlvm keeps tags to a name's
/// length so they fit every report column and buffer (a deliberate,
/// stricter rule).
pub const MAX_TAG_LEN: usize = 128;

/// LV names that start with these are LVM's own (`snapshotN` links,
/// `pvmoveN` mirrors).
pub const RESERVED_LV_PREFIXES: &[&str] = &["pvmove", "snapshot"];

/// Substrings LVM2 reserves for sub-LVs (checked with LVM 2.03.16: every
/// one of these is refused by `lvcreate -n`, `_vpool`, `_real`, `_cow`,
/// `_tpool` are not).
pub const RESERVED_LV_SUBSTRINGS: &[&str] = &[
    "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_wcorig", "_mimage", "_mlog", "_rimage",
    "_rmeta", "_tdata", "_tmeta", "_vdata", "_imeta", "_iorig", "_pmspare", "_vorigin",
];

/// Why a name failed the basic checks (`name_error_t` in LVM2). The Display
/// text is LVM's `display_name_error` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    Hyphen,
    Dots,
    Charset,
    Length,
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameProblem::Empty => "Name is zero length.",
            NameProblem::Hyphen => "Name cannot start with hyphen.",
            NameProblem::Dots => "Name starts with . or .. and has no following character(s).",
            NameProblem::Charset => {
                "Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+]."
            }
            // Sic: LVM2 prints "exceeds".
            NameProblem::Length => "Name length exceeds maximum limit of 127.",
        })
    }
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum NameError {
    /// vgcreate/vgrename print `problem` on the line before this one.
    #[error("New volume group name \"{name}\" is invalid.")]
    InvalidVgName { name: String, problem: NameProblem },
    #[error("{dev_dir}{name}: already exists in filesystem")]
    VgNameExistsInDev { dev_dir: String, name: String },
    #[error("Logical volume name \"{name}\" is invalid.")]
    InvalidLvName { name: String, problem: NameProblem },
    #[error("Names starting \"{prefix}\" are reserved. Please choose a different LV name.")]
    ReservedLvPrefix { name: String, prefix: &'static str },
    #[error("Names including \"{substring}\" are reserved. Please choose a different LV name.")]
    ReservedLvSubstring {
        name: String,
        substring: &'static str,
    },
    /// LVM2 prints this as an "Internal error" from `lv_set_name`.
    #[error("LV name \"{vg}/{lv}\" length {len} is not supported.")]
    FullNameTooLong { vg: String, lv: String, len: usize },
    #[error("Invalid tag \"{0}\": valid characters are [A-Za-z0-9_+.-/=!:&#], at most 128.")]
    InvalidTag(String),
    /// `tag_arg` failure as the command line parser reports it.
    #[error("Invalid argument for {opt}: {arg}")]
    InvalidTagArg { opt: String, arg: String },
    #[error("\"{0}\": Invalid path for Logical Volume.")]
    InvalidLvPath(String),
    #[error("Please specify a logical volume path.")]
    NoVgForLv(String),
}

impl NameError {
    /// The detail line LVM2 prints before the main message, if any.
    pub fn detail(&self) -> Option<String> {
        match self {
            NameError::InvalidVgName { problem, .. } => Some(problem.to_string()),
            _ => None,
        }
    }
}

/// The segment types LVM2 knows for `--type` (`SEG_TYPE_NAME_*` that
/// `lvcreate` accepts); any other name is a command-line error there.
pub const LVM2_SEGMENT_TYPES: &[&str] = &[
    "linear",
    "striped",
    "snapshot",
    "mirror",
    "raid0",
    "raid0_meta",
    "raid1",
    "raid10",
    "raid10_near",
    "raid4",
    "raid5",
    "raid5_n",
    "raid5_la",
    "raid5_ls",
    "raid5_ra",
    "raid5_rs",
    "raid6",
    "raid6_nc",
    "raid6_nr",
    "raid6_zr",
    "raid6_la_6",
    "raid6_ls_6",
    "raid6_ra_6",
    "raid6_rs_6",
    "raid6_n_6",
    "thin",
    "thin-pool",
    "cache",
    "cache-pool",
    "writecache",
    "integrity",
    "vdo",
    "vdo-pool",
    "error",
    "zero",
];

/// A system ID as LVM2 makes one from a source string
/// (`system_id_from_string`, `copy_systemid_chars`): leading characters up
/// to the first alphanumeric one are dropped, then every character outside
/// `[A-Za-z0-9._+-]`, and it is cut at 128 characters. `None` when nothing
/// is left, or when it starts with "localhost" (not an identity).
pub fn system_id_from_string(s: &str) -> Option<String> {
    let id: String = s
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        .take(128)
        .collect();
    if id.is_empty() || id.starts_with("localhost") {
        None
    } else {
        Some(id)
    }
}

/// LVM2's `_validate_name`: the checks shared by VG and LV names.
pub fn check_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    // Hyphen is the VG-LV separator in dm names: a leading one is ambiguous.
    if name.starts_with('-') {
        return Err(NameProblem::Hyphen);
    }
    if name == "." || name == ".." {
        return Err(NameProblem::Dots);
    }
    if !name.bytes().all(is_name_byte) {
        return Err(NameProblem::Charset);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameProblem::Length);
    }
    Ok(())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+')
}

/// A VG name as `vgcreate`/`vgrename` accept it. LVM reserves no VG names
/// beyond the basic rules; it only refuses names that exist under /dev
/// (see [`validate_new_vg_name`]).
pub fn validate_vg_name(name: &str) -> Result<(), NameError> {
    check_name(name).map_err(|problem| NameError::InvalidVgName {
        name: name.to_string(),
        problem,
    })
}

/// `validate_new_vg_name`: the name rules, then `/dev/<name>` must not
/// exist (vgcreate refuses `mapper`, `loop0`, ...). `exists` is asked about
/// the full path so this stays pure.
pub fn validate_new_vg_name(
    name: &str,
    dev_dir: &str,
    exists: impl Fn(&str) -> bool,
) -> Result<(), NameError> {
    validate_vg_name(name)?;
    let dev_dir = if dev_dir.ends_with('/') {
        dev_dir.to_string()
    } else {
        format!("{dev_dir}/")
    };
    if exists(&format!("{dev_dir}{name}")) {
        return Err(NameError::VgNameExistsInDev {
            dev_dir,
            name: name.to_string(),
        });
    }
    Ok(())
}

/// A user-supplied LV name (`lvcreate -n`, `lvrename`): the basic rules,
/// then LVM's reserved prefixes and substrings, in that order.
pub fn validate_lv_name(name: &str) -> Result<(), NameError> {
    check_name(name).map_err(|problem| NameError::InvalidLvName {
        name: name.to_string(),
        problem,
    })?;
    if let Some(prefix) = RESERVED_LV_PREFIXES.iter().find(|p| name.starts_with(**p)) {
        return Err(NameError::ReservedLvPrefix {
            name: name.to_string(),
            prefix,
        });
    }
    if let Some(substring) = RESERVED_LV_SUBSTRINGS.iter().find(|s| name.contains(**s)) {
        return Err(NameError::ReservedLvSubstring {
            name: name.to_string(),
            substring,
        });
    }
    Ok(())
}

/// Whether LVM would refuse `name` as a user LV name for being reserved
/// (LVM2's `is_reserved_lvname`); internal LVs such as `snapshot0` are.
pub fn is_reserved_lv_name(name: &str) -> bool {
    RESERVED_LV_PREFIXES.iter().any(|p| name.starts_with(p))
        || RESERVED_LV_SUBSTRINGS.iter().any(|s| name.contains(s))
}

/// `validate_lv_name` plus the combined length rule:
/// `len(vg) + len(lv) + 3 < 128` (verified: with VG `rvg`, a 121-byte LV
/// name works and a 122-byte one fails with "length 128").
pub fn validate_full_name(vg: &str, lv: &str) -> Result<(), NameError> {
    validate_lv_name(lv)?;
    let len = vg.len() + lv.len() + 3;
    if len >= MAX_FULL_NAME_LEN {
        return Err(NameError::FullNameTooLong {
            vg: vg.to_string(),
            lv: lv.to_string(),
            len,
        });
    }
    Ok(())
}

/// LVM2's `validate_tag`: `[A-Za-z0-9_+.-/=!:&#]`, non-empty (plus
/// rlvm's [`MAX_TAG_LEN`]).
pub fn validate_tag(tag: &str) -> Result<(), NameError> {
    let ok = !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && tag.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'.' | b'_' | b'-' | b'+' | b'/' | b'=' | b'!' | b':' | b'&' | b'#'
                )
        });
    if ok {
        Ok(())
    } else {
        Err(NameError::InvalidTag(tag.to_string()))
    }
}

/// A tag option value (`--addtag`, `--deltag`, `--tag`): one leading `@`
/// is dropped as LVM2's `tag_arg` does, then the tag is validated. The
/// error carries LVM's parser wording, e.g.
/// `Invalid argument for --addtag: a@b`.
pub fn parse_tag_arg(opt: &str, arg: &str) -> Result<String, NameError> {
    let tag = arg.strip_prefix('@').unwrap_or(arg);
    validate_tag(tag).map_err(|_| NameError::InvalidTagArg {
        opt: opt.to_string(),
        arg: arg.to_string(),
    })?;
    Ok(tag.to_string())
}

/// Split an LV argument into (VG, LV) the way LVM2 resolves it:
/// `vg/lv`, `/dev/vg/lv`, `/dev/mapper/vg-lv` (doubled hyphens decoded,
/// layer devices such as `vg-lv-real` refused) and a bare `lv`, which takes
/// `default_vg` (the caller passes `$LVM_VG_NAME`). Repeated slashes are
/// collapsed as LVM does (`//dev//vg//lv` works). Names are not validated:
/// the caller looks them up.
pub fn split_lv_path(arg: &str, default_vg: Option<&str>) -> Result<(String, String), NameError> {
    let invalid = || NameError::InvalidLvPath(arg.to_string());
    let parts: Vec<&str> = arg.split('/').filter(|p| !p.is_empty()).collect();
    let absolute = arg.starts_with('/');

    if absolute {
        match parts.as_slice() {
            ["dev", "mapper", dm_name] => {
                let (vg, lv, layer) = split_dm_name(dm_name).ok_or_else(invalid)?;
                if !layer.is_empty() || vg.is_empty() || lv.is_empty() {
                    return Err(invalid());
                }
                Ok((vg, lv))
            }
            ["dev", vg, lv] => Ok((vg.to_string(), lv.to_string())),
            _ => Err(invalid()),
        }
    } else {
        match parts.as_slice() {
            [vg, lv] if arg.contains('/') => Ok((vg.to_string(), lv.to_string())),
            [lv] if !arg.contains('/') => match default_vg {
                Some(vg) if !vg.is_empty() => Ok((vg.to_string(), lv.to_string())),
                _ => Err(NameError::NoVgForLv(arg.to_string())),
            },
            _ => Err(invalid()),
        }
    }
}

/// Split a dm name `vg-lv[-layer]` with `--` standing for `-` inside each
/// part (`dm_split_lvm_name`). `None` if it does not decode.
pub fn split_dm_name(dm_name: &str) -> Option<(String, String, String)> {
    let mut parts = vec![String::new()];
    let mut chars = dm_name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            if chars.peek() == Some(&'-') {
                chars.next();
                parts.last_mut()?.push('-');
            } else {
                if parts.len() == 3 {
                    // The layer may itself hold single hyphens in LVM's
                    // split; it is only compared with "" by callers.
                    parts.last_mut()?.push('-');
                    continue;
                }
                parts.push(String::new());
            }
        } else {
            parts.last_mut()?.push(c);
        }
    }
    let mut it = parts.into_iter();
    let vg = it.next()?;
    let lv = it.next().unwrap_or_default();
    let layer = it.next().unwrap_or_default();
    Some((vg, lv, layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_ids_as_lvm2_makes_them() {
        assert_eq!(system_id_from_string("host1").as_deref(), Some("host1"));
        assert_eq!(
            system_id_from_string("--my host!.x_").as_deref(),
            Some("myhost.x_")
        );
        assert_eq!(system_id_from_string("localhost.localdomain"), None);
        assert_eq!(system_id_from_string("!!!"), None);
        assert_eq!(system_id_from_string(""), None);
        assert_eq!(system_id_from_string(&"a".repeat(300)).unwrap().len(), 128);
    }

    #[test]
    fn basic_name_rules() {
        for ok in ["a", "vg0", "my-vg", "x.y", "a+b_c", "..a", ".a", "a-"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_name(""), Err(NameProblem::Empty));
        assert_eq!(check_name("-vg"), Err(NameProblem::Hyphen));
        assert_eq!(check_name("."), Err(NameProblem::Dots));
        assert_eq!(check_name(".."), Err(NameProblem::Dots));
        for bad in ["a b", "a/b", "v@g", "a%b", "é", "a\0"] {
            assert_eq!(check_name(bad), Err(NameProblem::Charset), "{bad:?}");
        }
        assert_eq!(check_name(&"v".repeat(127)), Ok(()));
        assert_eq!(check_name(&"v".repeat(128)), Err(NameProblem::Length));
    }

    #[test]
    fn vg_messages_match_lvm() {
        let e = validate_vg_name("a b").unwrap_err();
        assert_eq!(e.to_string(), "New volume group name \"a b\" is invalid.");
        assert_eq!(
            e.detail().unwrap(),
            "Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+]."
        );
        let e = validate_vg_name(&"v".repeat(128)).unwrap_err();
        assert_eq!(
            e.detail().unwrap(),
            "Name length exceeds maximum limit of 127."
        );
        assert_eq!(
            validate_vg_name("-vg").unwrap_err().detail().unwrap(),
            "Name cannot start with hyphen."
        );
        assert_eq!(
            validate_vg_name("").unwrap_err().detail().unwrap(),
            "Name is zero length."
        );
        // LVM reserves no VG names: these are all accepted by vgcreate.
        for ok in ["snapshot", "x_cdata", "pvmove0", "disk"] {
            assert_eq!(validate_vg_name(ok), Ok(()));
        }
    }

    #[test]
    fn new_vg_name_must_not_exist_in_dev() {
        let exists = |p: &str| p == "/dev/mapper" || p == "/dev/loop0";
        let e = validate_new_vg_name("mapper", "/dev", exists).unwrap_err();
        assert_eq!(e.to_string(), "/dev/mapper: already exists in filesystem");
        assert!(validate_new_vg_name("loop0", "/dev/", exists).is_err());
        assert_eq!(validate_new_vg_name("vg", "/dev", exists), Ok(()));
        assert!(validate_new_vg_name("a b", "/dev", exists).is_err());
    }

    #[test]
    fn lv_messages_match_lvm() {
        let cases = [
            (
                "snapshot1",
                "Names starting \"snapshot\" are reserved. Please choose a different LV name.",
            ),
            (
                "pvmove0",
                "Names starting \"pvmove\" are reserved. Please choose a different LV name.",
            ),
            (
                "a_cdata",
                "Names including \"_cdata\" are reserved. Please choose a different LV name.",
            ),
            (
                "x_rimage_1",
                "Names including \"_rimage\" are reserved. Please choose a different LV name.",
            ),
            (
                "snapshot_cdata",
                "Names starting \"snapshot\" are reserved. Please choose a different LV name.",
            ),
            ("..", "Logical volume name \"..\" is invalid."),
            ("-a", "Logical volume name \"-a\" is invalid."),
            ("lv@x", "Logical volume name \"lv@x\" is invalid."),
            // Charset is checked before the reserved words.
            (
                "snapshot a",
                "Logical volume name \"snapshot a\" is invalid.",
            ),
        ];
        for (name, msg) in cases {
            assert_eq!(validate_lv_name(name).unwrap_err().to_string(), msg);
        }
        for s in RESERVED_LV_SUBSTRINGS {
            assert!(validate_lv_name(&format!("x{s}")).is_err());
            assert!(is_reserved_lv_name(&format!("x{s}y")));
        }
        for ok in [
            "lvol0", "x_vpool", "x_real", "x_cow", "x_tpool", "snap", "my-lv",
        ] {
            assert_eq!(validate_lv_name(ok), Ok(()), "{ok}");
        }
        assert!(is_reserved_lv_name("snapshot0"));
        assert!(!is_reserved_lv_name("lv"));
    }

    #[test]
    fn full_name_length() {
        assert_eq!(validate_full_name("rvg", &"y".repeat(121)), Ok(()));
        let e = validate_full_name("rvg", &"y".repeat(122)).unwrap_err();
        assert!(e.to_string().ends_with("\" length 128 is not supported."));
        let e = validate_full_name("rvg", &"x".repeat(125)).unwrap_err();
        assert!(e.to_string().contains("length 131"));
        assert!(validate_full_name("vg", "snapshot3").is_err());
    }

    #[test]
    fn tags() {
        assert_eq!(validate_tag("a+b.-/=!:&#_9"), Ok(()));
        assert_eq!(validate_tag("-t"), Ok(()));
        assert_eq!(validate_tag(&"t".repeat(128)), Ok(()));
        assert!(validate_tag(&"t".repeat(129)).is_err());
        assert!(validate_tag("").is_err());
        assert!(validate_tag("a@b").is_err());
        assert!(validate_tag("a b").is_err());
        assert_eq!(parse_tag_arg("--addtag", "@x").unwrap(), "x");
        assert_eq!(
            parse_tag_arg("--addtag", "a@b").unwrap_err().to_string(),
            "Invalid argument for --addtag: a@b"
        );
        assert!(parse_tag_arg("--addtag", "").is_err());
        assert!(parse_tag_arg("--addtag", "@").is_err());
    }

    fn split(arg: &str) -> Result<(String, String), NameError> {
        split_lv_path(arg, None)
    }
    fn pair(vg: &str, lv: &str) -> (String, String) {
        (vg.to_string(), lv.to_string())
    }

    #[test]
    fn lv_paths() {
        assert_eq!(split("rvg/lv1").unwrap(), pair("rvg", "lv1"));
        assert_eq!(split("rvg//lv1").unwrap(), pair("rvg", "lv1"));
        assert_eq!(split("/dev/rvg/lv1").unwrap(), pair("rvg", "lv1"));
        assert_eq!(split("//dev//rvg//lv1").unwrap(), pair("rvg", "lv1"));
        assert_eq!(split("/dev/mapper/rvg-lv1").unwrap(), pair("rvg", "lv1"));
        assert_eq!(
            split("/dev/mapper/my--vg-lv--1").unwrap(),
            pair("my-vg", "lv-1")
        );
        assert_eq!(
            split_lv_path("lv1", Some("rvg")).unwrap(),
            pair("rvg", "lv1")
        );
        assert_eq!(
            split("lv1").unwrap_err().to_string(),
            "Please specify a logical volume path."
        );
        assert!(split_lv_path("lv1", Some("")).is_err());
        assert_eq!(
            split("/rvg/lv1").unwrap_err().to_string(),
            "\"/rvg/lv1\": Invalid path for Logical Volume."
        );
        for bad in [
            "rvg/x/y",
            "rvg/",
            "/dev/mapper/rvg-lv1-real",
            "/dev/mapper/rvg",
            "/dev/rvg",
            "",
            "/",
            "/dev/mapper/-lv",
        ] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dm_names() {
        assert_eq!(
            split_dm_name("a--b-c--d-real").unwrap(),
            ("a-b".into(), "c-d".into(), "real".into())
        );
        assert_eq!(
            split_dm_name("vg").unwrap(),
            ("vg".into(), String::new(), String::new())
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}", v in "[a-z-]{0,5}") {
            let _ = validate_vg_name(&s);
            let _ = validate_lv_name(&s);
            let _ = validate_full_name(&v, &s);
            let _ = validate_tag(&s);
            let _ = split_lv_path(&s, Some(&v));
            let _ = split_dm_name(&s);
        }

        #[test]
        fn dm_name_round_trip(vg in "[a-z][a-z-]{0,8}", lv in "[a-z][a-z-]{0,8}") {
            let dm = format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"));
            let got = split_lv_path(&format!("/dev/mapper/{dm}"), None).unwrap();
            proptest::prop_assert_eq!(got, (vg, lv));
        }
    }
}
