//! Size display in LVM2's `--units` letters (the rules of libdm's
//! `dm_size_to_string` and `dm_units_to_factor`, restated). Pure; no I/O.
//!
//! Sizes come in 512-byte sectors, as LVM2 passes them around.
//! * `h`/`H`, `r`/`R`: human readable, the biggest unit the size reaches;
//!   lowercase counts in 1024s, uppercase in 1000s. `r`/`R` prefix `<` when
//!   printing two decimals rounded the value *up* (LVM 2.03's default `r`).
//!   The suffix is printed even with `--nosuffix`.
//! * `b`/`B` bytes and `s`/`S` sectors: no decimals, suffix `B` / `S`.
//! * `k m g t p e`: powers of 1024; `K M G T P E`: powers of 1000.
//! * Zero is printed as `0` plus the suffix (a blank for human units).

/// Which kind of suffix to print: reports use one letter (`m`), the
/// `*display` commands a short word (` MiB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuffixStyle {
    /// `m`, `M`, `S`, `B`: lvs/vgs/pvs.
    Unit,
    /// ` MiB`, ` MB`, ` Se`, ` B`: lvdisplay/vgdisplay/pvdisplay.
    Short,
}

/// Error for an unknown `--units` letter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid argument for --units: {0}")]
pub struct UnitsError(pub String);

/// A parsed `--units` letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Units(char);

impl Default for Units {
    /// LVM 2.03's default (`report/units = "r"`).
    fn default() -> Self {
        Units('r')
    }
}

impl Units {
    pub fn parse(s: &str) -> Result<Units, UnitsError> {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if "hHrRbBsSkKmMgGtTpPeE".contains(c) => Ok(Units(c)),
            _ => Err(UnitsError(s.to_string())),
        }
    }
    pub fn letter(&self) -> char {
        self.0
    }
    fn is_human(&self) -> bool {
        matches!(self.0, 'h' | 'H' | 'r' | 'R')
    }
}

/// Prefix letters from biggest to smallest; index 6 is bytes.
const PREFIXES: [char; 6] = ['e', 'p', 't', 'g', 'm', 'k'];

fn long_1024(letter: char) -> &'static str {
    match letter {
        'e' => " EiB",
        'p' => " PiB",
        't' => " TiB",
        'g' => " GiB",
        'm' => " MiB",
        'k' => " KiB",
        _ => " B",
    }
}

fn long_1000(letter: char) -> &'static str {
    match letter {
        'E' => " EB",
        'P' => " PB",
        'T' => " TB",
        'G' => " GB",
        'M' => " MB",
        'K' => " kB",
        _ => " B",
    }
}

fn suffix_for(letter: char, style: SuffixStyle) -> &'static str {
    match style {
        SuffixStyle::Unit => unit_letter(letter),
        SuffixStyle::Short => match letter {
            'S' => " Se",
            'B' | 'b' => " B",
            c if c.is_ascii_lowercase() => long_1024(c),
            c => long_1000(c),
        },
    }
}

/// A unit letter as a string (every letter `--units` and the human
/// sizes use).
fn unit_letter(letter: char) -> &'static str {
    const LETTERS: &str = "bBsSkKmMgGtTpPeEhHrR";
    match LETTERS.find(letter) {
        Some(i) => &LETTERS[i..i + 1],
        None => "",
    }
}

/// Formats `sectors` (512-byte units) the way LVM2 prints sizes.
pub fn format_size(sectors: u64, units: Units, suffix: bool, style: SuffixStyle) -> String {
    let u = units.0;
    if units.is_human() {
        let base: u128 = if u.is_ascii_uppercase() { 1000 } else { 1024 };
        if sectors == 0 {
            // The "unknown base" blank suffix.
            let blank = match style {
                SuffixStyle::Unit => " ",
                SuffixStyle::Short => "   ",
            };
            return format!("0{blank}");
        }
        let bytes = sectors as u128 * 512;
        let mut factor = base.pow(6);
        let mut idx = 0;
        while idx < 6 && bytes < factor {
            factor = div_rem(factor, base).0;
            idx += 1;
        }
        let letter = if idx < 6 {
            let c = PREFIXES[idx];
            if base == 1000 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        } else {
            // Under 1 KiB: plain bytes (`b` in the 1024 table, `B` in 1000).
            if base == 1000 {
                'B'
            } else {
                'b'
            }
        };
        let precision = if idx < 6 { 2 } else { 0 };
        let mut prefix = "";
        if idx < 6 && matches!(u, 'r' | 'R') && rounds_up(bytes, factor) {
            prefix = "<";
        }
        let mut out = String::with_capacity(16);
        out.push_str(prefix);
        fixed(&mut out, bytes, factor, precision);
        out.push_str(suffix_for(letter, style));
        return out;
    }
    let (factor, letter, precision): (u128, char, usize) = match u {
        'b' | 'B' => (1, 'B', 0),
        's' | 'S' => (512, 'S', 0),
        c => {
            let idx = PREFIXES
                .iter()
                .position(|p| *p == c.to_ascii_lowercase())
                .unwrap_or(5);
            let base: u128 = if c.is_ascii_uppercase() { 1000 } else { 1024 };
            (base.pow(6 - idx as u32), c, 2)
        }
    };
    let sfx = if suffix {
        suffix_for(letter, style)
    } else {
        ""
    };
    if sectors == 0 {
        return format!("0{sfx}");
    }
    let bytes = sectors as u128 * 512;
    let mut out = String::with_capacity(16);
    fixed(&mut out, bytes, factor, precision);
    out.push_str(sfx);
    out
}

/// `100 * bytes / factor` has a fractional part of at least one half, so
/// printing two decimals rounds up (`floor(d) != nearbyint(d)`).
fn rounds_up(bytes: u128, factor: u128) -> bool {
    let rem = div_rem(bytes * 100, factor).1;
    rem * 2 >= factor && rem != 0
}

/// `bytes / factor` with `precision` decimals, rounded half to even like
/// printf on the exact binary value (exact here: integer arithmetic).
fn fixed(out: &mut String, bytes: u128, factor: u128, precision: usize) {
    use std::fmt::Write as _;
    let scale = 10u128.pow(precision as u32);
    let num = bytes * scale;
    let (mut q, rem) = div_rem(num, factor);
    if rem * 2 > factor || (rem * 2 == factor && q % 2 == 1) {
        q += 1;
    }
    // Writing to a String cannot fail.
    let _ = if precision == 0 {
        write!(out, "{q}")
    } else {
        let (whole, frac) = div_rem(q, scale);
        write!(out, "{whole}.{frac:0precision$}")
    };
}

/// `a / b` and `a % b`, in 64-bit arithmetic when both fit (every size a
/// report prints; u128 division is a library call ten times as long).
fn div_rem(a: u128, b: u128) -> (u128, u128) {
    match (u64::try_from(a), u64::try_from(b)) {
        (Ok(a), Ok(b)) if b != 0 => (u128::from(a / b), u128::from(a % b)),
        _ => (a / b, a % b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(sectors: u64, u: &str) -> String {
        format_size(sectors, Units::parse(u).unwrap(), true, SuffixStyle::Unit)
    }

    #[test]
    fn matches_lvm_report_units() {
        assert_eq!(r(32768, "r"), "16.00m");
        assert_eq!(r(32768, "R"), "<16.78M");
        assert_eq!(r(180224, "R"), "92.27M");
        assert_eq!(r(32768, "H"), "16.78M");
        assert_eq!(r(32768, "b"), "16777216B");
        assert_eq!(r(32768, "s"), "32768S");
        assert_eq!(r(32768, "k"), "16384.00k");
        assert_eq!(r(32768, "K"), "16777.22K");
        assert_eq!(r(32768, "g"), "0.02g");
        assert_eq!(r(245760, "G"), "0.13G");
        assert_eq!(r(32768, "t"), "0.00t");
        assert_eq!(r(0, "r"), "0 ");
        assert_eq!(r(0, "m"), "0m");
        assert_eq!(
            format_size(32768, Units('m'), false, SuffixStyle::Unit),
            "16.00"
        );
    }

    #[test]
    fn matches_lvm_display_units() {
        let d = |s, u| format_size(s, Units(u), true, SuffixStyle::Short);
        assert_eq!(d(32768, 'h'), "16.00 MiB");
        assert_eq!(d(8, 'h'), "4.00 KiB");
        assert_eq!(d(0, 'h'), "0   ");
        assert_eq!(d(32768, 's'), "32768 Se");
        assert_eq!(d(245760, 'k'), "122880.00 KiB");
    }

    #[test]
    fn rejects_bad_units() {
        assert!(Units::parse("x").is_err());
        assert!(Units::parse("mm").is_err());
    }
}
