//! devices/filter and devices/global_filter: LVM2's regex device filter
//! (`lib/filters/filter-regex.c`). Pure: matches names, touches nothing.
//!
//! Semantics kept from LVM2:
//!
//! * A pattern is `a` (accept) or `r` (reject), a delimiter, the regex and
//!   the same delimiter again; `(`, `[` and `{` close with `)`, `]`, `}`.
//!   Any other character is its own closing delimiter (`a|re|`, `r/re/`).
//! * The regex is searched for anywhere in the name (unanchored, like
//!   libdm's matcher); use `^`/`$` to anchor.
//! * For one name, the first pattern in the list that matches decides.
//! * A device has several names (its /dev node, /dev/mapper name, and every
//!   symlink found under devices/scan such as /dev/disk/by-id/...). They
//!   are tried in order: the first name whose deciding pattern accepts
//!   accepts the device; otherwise the device is rejected if any name was
//!   rejected, and accepted if no name matched any pattern.
//! * `filter` and `global_filter` both have to accept.
//!
//! Rust's `regex` crate accepts everything libdm's small regex language
//! does (`. * + ? | () [] [^] ^ $`), with the same meaning; it also accepts
//! more (`\d`, `{n}`), which LVM2 would treat differently or reject.

use regex::Regex;
use thiserror::Error;

use super::lvmconf::LvmConf;

#[derive(Debug, Error)]
pub enum FilterError {
    #[error("Invalid filter pattern \"{0}\".")]
    Pattern(String),
}

#[derive(Debug, Clone)]
struct Rule {
    accept: bool,
    re: Regex,
}

/// One compiled pattern list (a `filter` or a `global_filter`).
#[derive(Debug, Clone, Default)]
pub struct RegexFilter {
    rules: Vec<Rule>,
}

/// Outcome of one pattern list for one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A name was accepted; the index is which name (LVM2 then prefers it
    /// as the display name).
    Accepted(usize),
    /// Some name was rejected and none accepted.
    Rejected,
    /// No pattern matched any name: passes.
    NoMatch,
}

impl Verdict {
    pub fn passes(self) -> bool {
        !matches!(self, Verdict::Rejected)
    }
}

impl RegexFilter {
    /// Compile patterns such as `"a|^/dev/sd|"` or `"r/.*/"`.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<RegexFilter, FilterError> {
        let rules = patterns
            .iter()
            .map(|p| parse_pattern(p.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(RegexFilter { rules })
    }

    /// The deciding rule for one name: `Some(accept)` or `None`.
    fn decide(&self, name: &str) -> Option<bool> {
        self.rules
            .iter()
            .find(|r| r.re.is_match(name))
            .map(|r| r.accept)
    }

    /// Apply to all names of one device, primary name first.
    pub fn check<S: AsRef<str>>(&self, names: &[S]) -> Verdict {
        let mut rejected = false;
        for (i, name) in names.iter().enumerate() {
            match self.decide(name.as_ref()) {
                Some(true) => return Verdict::Accepted(i),
                Some(false) => rejected = true,
                None => {}
            }
        }
        if rejected {
            Verdict::Rejected
        } else {
            Verdict::NoMatch
        }
    }
}

fn parse_pattern(pat: &str) -> Result<Rule, FilterError> {
    let bad = || FilterError::Pattern(pat.to_string());
    let mut chars = pat.chars();
    let accept = match chars.next() {
        Some('a') => true,
        Some('r') => false,
        _ => return Err(bad()),
    };
    let open = chars.next().ok_or_else(bad)?;
    let close = match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        c => c,
    };
    let rest = chars.as_str();
    let body = rest.strip_suffix(close).ok_or_else(bad)?;
    let re = Regex::new(body).map_err(|_| bad())?;
    Ok(Rule { accept, re })
}

/// Both lvm.conf filters together.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    pub filter: RegexFilter,
    pub global_filter: RegexFilter,
}

impl DeviceFilter {
    pub fn from_conf(conf: &LvmConf) -> Result<DeviceFilter, FilterError> {
        Ok(DeviceFilter {
            filter: RegexFilter::new(&conf.filter())?,
            global_filter: RegexFilter::new(&conf.global_filter())?,
        })
    }

    /// Whether a device with these names (primary first) may be used.
    pub fn accepts<S: AsRef<str>>(&self, names: &[S]) -> bool {
        self.global_filter.check(names).passes() && self.filter.check(names).passes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &[&str]) -> RegexFilter {
        RegexFilter::new(p).unwrap()
    }

    #[test]
    fn delimiters() {
        for p in [
            "a|^/dev/sda$|",
            "a/^\\/dev\\/sda$/",
            "a(^/dev/sda$)",
            "a[^/dev/sda$]",
            "a{^/dev/sda$}",
            "a#^/dev/sda$#",
        ] {
            assert_eq!(
                f(&[p, "r|.*|"]).check(&["/dev/sda"]),
                Verdict::Accepted(0),
                "{p}"
            );
            assert_eq!(
                f(&[p, "r|.*|"]).check(&["/dev/sdb"]),
                Verdict::Rejected,
                "{p}"
            );
        }
    }

    #[test]
    fn bad_patterns() {
        for p in ["x|a|", "a|abc", "a", "", "a|(|"] {
            let e = RegexFilter::new(&[p]).unwrap_err();
            assert_eq!(e.to_string(), format!("Invalid filter pattern \"{p}\"."));
        }
    }

    #[test]
    fn first_match_wins_and_no_match_accepts() {
        let r = f(&["r|sda|", "a|sd|"]);
        assert_eq!(r.check(&["/dev/sda"]), Verdict::Rejected);
        assert_eq!(r.check(&["/dev/sdb"]), Verdict::Accepted(0));
        assert_eq!(r.check(&["/dev/vda"]), Verdict::NoMatch);
        assert!(r.check(&["/dev/vda"]).passes());
        // Unanchored search, like libdm.
        assert_eq!(f(&["r|loop|"]).check(&["/dev/loop0"]), Verdict::Rejected);
    }

    #[test]
    fn any_accepted_alias_accepts() {
        let r = f(&["a|/dev/disk/by-id/wwn-|", "r|.*|"]);
        let names = [
            "/dev/sdc",
            "/dev/disk/by-id/wwn-0x5000c500a",
            "/dev/disk/by-path/pci-0",
        ];
        assert_eq!(r.check(&names), Verdict::Accepted(1));
        // Rejected on one alias, accepted on a later one: accepted.
        let r = f(&["r|^/dev/sdc$|", "a|by-id|"]);
        assert_eq!(r.check(&names), Verdict::Accepted(1));
        // Rejected on one alias, nothing else matches: rejected.
        let r = f(&["r|^/dev/sdc$|"]);
        assert_eq!(r.check(&names), Verdict::Rejected);
    }

    #[test]
    fn both_filters_apply() {
        let d = DeviceFilter {
            filter: f(&["a|loop|", "r|.*|"]),
            global_filter: f(&["r|loop7|"]),
        };
        assert!(d.accepts(&["/dev/loop0"]));
        assert!(!d.accepts(&["/dev/loop7"]));
        assert!(!d.accepts(&["/dev/sda"]));
        assert!(DeviceFilter::default().accepts(&["/dev/anything"]));
    }

    #[test]
    fn from_conf_defaults_accept_all() {
        let c = LvmConf::defaults(std::path::Path::new("/x"), std::path::Path::new("/dev"));
        let d = DeviceFilter::from_conf(&c).unwrap();
        assert!(d.accepts(&["/dev/sda"]));
    }
}
