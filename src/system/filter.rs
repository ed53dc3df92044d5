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

use super::lvmconf::{LvmConf, SettingError};

/// Why one pattern list cannot be used, in LVM2's words
/// (`filter-regex.c` `_extract_pattern`, `_build_matcher`).
#[derive(Debug, Error)]
pub enum PatternError {
    #[error("{0}\n  Filter patterns must be enclosed in quotes.")]
    Setting(SettingError),
    #[error("Configuration setting \"{setting}\" invalid. It cannot be set to an empty value.\n  Pattern must begin with 'a' or 'r'.\n  Invalid filter pattern \"\".")]
    Empty { setting: String },
    #[error("Pattern must begin with 'a' or 'r'.\n  Invalid filter pattern \"{0}\".")]
    Action(String),
    #[error("Invalid separator at end of regex.\n  Invalid filter pattern \"{0}\".")]
    Separator(String),
    /// libdm's own detail line before these is not reproduced.
    #[error("Parse error in regex\n  Couldn't parse regex")]
    Regex(String),
}

/// An unusable `filter` or `global_filter`: the command fails (exit 5)
/// rather than scan devices the user meant to hide.
#[derive(Debug, Error)]
#[error("{source}\n  Failed to create {}regex device filter", if *.global { "global " } else { "" })]
pub struct FilterError {
    pub global: bool,
    #[source]
    pub source: PatternError,
}

#[derive(Debug, Clone)]
struct Rule {
    accept: bool,
    re: Matcher,
}

/// A pattern's regex, or the plain test it amounts to: a filter listing
/// each device by name (`"a|^/dev/sdb$|"`, one pattern per device, as
/// LVM2's own tests write them) is matched with string comparisons, not
/// by compiling a regex per device per command.
#[derive(Debug, Clone)]
enum Matcher {
    /// `.*`: every name.
    Any,
    /// `^name$`.
    Exact(String),
    /// `^name`.
    Prefix(String),
    /// `name$`.
    Suffix(String),
    /// `name`: anywhere in the name.
    Contains(String),
    Regex(Regex),
}

impl Matcher {
    fn new(body: &str) -> Result<Matcher, regex::Error> {
        if body == ".*" {
            return Ok(Matcher::Any);
        }
        let (start, rest) = match body.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, body),
        };
        let (end, lit) = match rest.strip_suffix('$') {
            Some(l) => (true, l),
            None => (false, rest),
        };
        // Characters with a meaning in a regex: anything else stands for
        // itself (the regex crate's syntax, without the `x` flag).
        let literal = !lit.is_empty() && !lit.contains(|c: char| "\\.+*?()|[]{}^$".contains(c));
        if !literal {
            return Regex::new(body).map(Matcher::Regex);
        }
        let lit = lit.to_string();
        Ok(match (start, end) {
            (true, true) => Matcher::Exact(lit),
            (true, false) => Matcher::Prefix(lit),
            (false, true) => Matcher::Suffix(lit),
            (false, false) => Matcher::Contains(lit),
        })
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Exact(l) => name == l,
            Matcher::Prefix(l) => name.starts_with(l.as_str()),
            Matcher::Suffix(l) => name.ends_with(l.as_str()),
            Matcher::Contains(l) => name.contains(l.as_str()),
            Matcher::Regex(re) => re.is_match(name),
        }
    }
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
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<RegexFilter, PatternError> {
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

    /// [`DeviceFilter::accepts_whatever_other_names`] for one list.
    fn accepts_whatever_other_names<S: AsRef<str>>(&self, names: &[S]) -> bool {
        self.rules.is_empty() || matches!(self.check(names), Verdict::Accepted(_))
    }
}

fn parse_pattern(pat: &str) -> Result<Rule, PatternError> {
    let bad = || PatternError::Separator(pat.to_string());
    let mut chars = pat.chars();
    let accept = match chars.next() {
        Some('a') => true,
        Some('r') => false,
        _ => return Err(PatternError::Action(pat.to_string())),
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
    let re = Matcher::new(body).map_err(|_| PatternError::Regex(body.to_string()))?;
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
        let build = |global: bool| {
            let (setting, patterns) = if global {
                ("devices/global_filter", conf.global_filter())
            } else {
                ("devices/filter", conf.filter())
            };
            let patterns = patterns.map_err(PatternError::Setting)?;
            if patterns.iter().any(|p| p.is_empty()) {
                return Err(PatternError::Empty {
                    setting: setting.to_string(),
                });
            }
            RegexFilter::new(&patterns)
        };
        // LVM2 builds the global filter first.
        let global_filter = build(true).map_err(|source| FilterError {
            global: true,
            source,
        })?;
        let filter = build(false).map_err(|source| FilterError {
            global: false,
            source,
        })?;
        Ok(DeviceFilter {
            filter,
            global_filter,
        })
    }

    /// Whether a device with these names (primary first) may be used.
    pub fn accepts<S: AsRef<str>>(&self, names: &[S]) -> bool {
        self.global_filter.check(names).passes() && self.filter.check(names).passes()
    }

    /// Whether a device with these names and any others is used: both
    /// lists accept one of these names (a name accepted accepts the
    /// device, whatever the others say), or have no patterns. `true`
    /// implies [`DeviceFilter::accepts`] of these names plus any more.
    pub fn accepts_whatever_other_names<S: AsRef<str>>(&self, names: &[S]) -> bool {
        self.global_filter.accepts_whatever_other_names(names)
            && self.filter.accepts_whatever_other_names(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &[&str]) -> RegexFilter {
        RegexFilter::new(p).unwrap()
    }

    /// A verdict on some names is final only where a name is accepted by
    /// both lists (or a list has no patterns): then no further name can
    /// make the device rejected.
    #[test]
    fn verdict_on_some_names_is_final_only_when_accepted() {
        let df = |g: &[&str], fl: &[&str]| DeviceFilter {
            global_filter: f(g),
            filter: f(fl),
        };
        let extra = ["/dev/disk/by-id/x", "/dev/sdz", "/dev/loop9", "/dev/vg/lv"];
        let cases = [
            (df(&[], &[]), true),
            (df(&["a|.*|"], &[]), true),
            (df(&[], &["a|^/dev/sd|", "r|.*|"]), true),
            (df(&["r|loop|"], &["a|sda|"]), false),
            (df(&[], &["r|^/dev/sda$|"]), false),
            (df(&[], &["a|by-id|", "r|.*|"]), false),
            (df(&["a|sda|", "r|.*|"], &["r|.*|"]), false),
        ];
        for (filter, settled) in &cases {
            let names = ["/dev/sda", "/dev/block/8:0"];
            assert_eq!(filter.accepts_whatever_other_names(&names), *settled);
            // Settled: every longer list of names is accepted too.
            for more in 0..=extra.len() {
                let mut all: Vec<&str> = names.to_vec();
                all.extend(&extra[..more]);
                if *settled {
                    assert!(filter.accepts(&all), "{all:?}");
                }
            }
        }
        // Not settled, and a further name decides the other way.
        let open = df(&[], &["a|by-id|", "r|.*|"]);
        assert!(!open.accepts(&["/dev/sda"]));
        assert!(open.accepts(&["/dev/sda", "/dev/disk/by-id/x"]));
        let open = df(&[], &["r|by-id|"]);
        assert!(open.accepts(&["/dev/sda"]));
        assert!(!open.accepts(&["/dev/sda", "/dev/disk/by-id/x"]));
    }

    /// The plain tests give what the regex gives, for literal patterns
    /// with and without anchors, and for patterns that are not literal.
    #[test]
    fn literal_patterns_match_as_their_regex() {
        let names = [
            "/dev/sda",
            "/dev/sda1",
            "/dev/sd",
            "x/dev/sda",
            "",
            "/dev/loop10",
        ];
        for body in [
            ".*",
            "^/dev/sda$",
            "^/dev/sda",
            "/dev/sda$",
            "/dev/sda",
            "sd.",
            "^$",
            "^/dev/loop1$",
            "loop1",
            "^/dev/(sda|loop10)$",
        ] {
            let m = Matcher::new(body).unwrap();
            let re = Regex::new(body).unwrap();
            for n in names {
                assert_eq!(m.is_match(n), re.is_match(n), "{body} on {n:?}");
            }
        }
        assert!(matches!(
            Matcher::new("^/dev/sda$").unwrap(),
            Matcher::Exact(_)
        ));
        assert!(matches!(Matcher::new("sd.").unwrap(), Matcher::Regex(_)));
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
        for p in ["x|a|", "", "a|abc", "a", "a|(|"] {
            let e = RegexFilter::new(&[p]).unwrap_err().to_string();
            let why = match p {
                "x|a|" | "" => format!(
                    "Pattern must begin with 'a' or 'r'.\n  Invalid filter pattern \"{p}\"."
                ),
                "a|(|" => "Parse error in regex\n  Couldn't parse regex".into(),
                _ => {
                    format!("Invalid separator at end of regex.\n  Invalid filter pattern \"{p}\".")
                }
            };
            assert_eq!(e, why, "{p}");
        }
    }

    /// What LVM2 refuses in lvm.conf is refused, never dropped: a filter
    /// that vanished would let every device on the host be scanned.
    #[test]
    fn invalid_settings_fail() {
        let conf = |s: &str| {
            LvmConf::load_from(
                std::path::Path::new("/nonexistent"),
                std::path::Path::new("/dev"),
                &[s.to_string()],
            )
            .unwrap()
        };
        let err = |s: &str| DeviceFilter::from_conf(&conf(s)).unwrap_err().to_string();
        assert_eq!(
            err("devices/filter = 5"),
            "WARNING: Configuration setting \"devices/filter\" has invalid type. Found integer but expected array with values of type: string.\n  Filter patterns must be enclosed in quotes.\n  Failed to create regex device filter"
        );
        assert!(err("devices/filter = [ \"a|loop|\", 5 ]").contains("Found integer"));
        assert!(err("devices/global_filter = 1.5")
            .ends_with("Found float but expected array with values of type: string.\n  Filter patterns must be enclosed in quotes.\n  Failed to create global regex device filter"));
        assert!(err("devices/filter = []").starts_with(
            "Configuration setting \"devices/filter\" invalid. Empty value not allowed."
        ));
        assert!(err("devices/filter = [ \"\" ]").contains("It cannot be set to an empty value."));
        assert!(DeviceFilter::from_conf(&conf("devices/filter = \"r|sda|\"")).is_ok());
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
