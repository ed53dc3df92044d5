//! Size and extent arguments as LVM2 parses them (`-L`, `-l`, `-s`, `-c`,
//! `-I`), size display in LVM's style, and size→extent rounding. Pure
//! functions; no disk or kernel access.
//!
//! Grammar from LVM2's `tools/lvmcmdline.c` (`_size_arg`, `_extents_arg`,
//! `_get_percent_arg`), percentages from `tools/lvcreate.c`
//! (`_update_extents_params`). Messages were checked against LVM 2.03.16.
//!
//! Differences from LVM, on purpose: LVM reads the number with `strtod`,
//! so it also takes hex (`0x10`) and exponents (`1e3` = 1000 MiB); rlvm
//! takes only decimal `digits[.digits]` and refuses the rest rather than
//! guess. LVM ignores anything after the unit letter (`4m4`); rlvm allows
//! only `B`, `iB` (any case) there (`4MiB`, `4MB`).

use thiserror::Error;

use super::model::Vg;

/// Sectors are 512 bytes throughout LVM2 metadata.
pub const SECTOR_BYTES: u64 = 512;
/// `lvcreate -i N` without `-I`: "Using default stripesize 64.00 KiB."
pub const DEFAULT_STRIPE_SIZE: u64 = 128;
/// Largest size `_size_arg` accepts: below `UINT64_MAX >> SECTOR_SHIFT`.
const SIZE_LIMIT_SECTORS: u64 = u64::MAX >> 9;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum UnitsError {
    #[error("Size requires number argument.")]
    NotANumber,
    #[error("Multiple sign symbols detected.")]
    MultipleSigns,
    #[error("Can't parse size argument at '{0}'.")]
    ParseAt(char),
    #[error("Can't parse size argument.")]
    BadUnit,
    #[error("Size is not a multiple of 512. Try using {lower} or {upper}.")]
    NotSectorMultiple { lower: u64, upper: u64 },
    #[error("Size is too big (>=16EiB).")]
    TooBig,
    #[error("Size may not be negative.")]
    Negative,
    #[error("Size may not be relative/signed.")]
    Signed,
    /// `opt` is the long option, e.g. `--size` or `--extents`.
    #[error("{opt} may not be zero.")]
    Zero { opt: &'static str },
    #[error("Invalid argument for --extents: {0}")]
    BadExtents(String),
    #[error("Extents may not be negative.")]
    NegativeExtents,
    #[error("Specified %{0} is unknown.")]
    UnknownPercent(String),
    #[error("Percentage is too big (>=4294967295%).")]
    PercentTooBig,
    #[error("Please express size as %FREE, %PVS or %VG.")]
    PercentLvNotAllowed,
    #[error("Couldn't find origin volume.")]
    NoOrigin,
    #[error("Calculated size of logical volume is 0 extents. Needs to be larger.")]
    ZeroExtents,
    #[error(
        "Volume too large ({size}) for extent size {extent}. Upper limit is less than {limit}."
    )]
    VolumeTooLarge {
        size: String,
        extent: String,
        limit: String,
    },
    #[error("Physical extent size may not be zero")]
    ExtentSizeZero,
    #[error("Physical extent size must be smaller than <2.00 TiB.")]
    ExtentSizeTooBig,
    #[error("Physical Extent size must be a multiple of 128.00 KiB when not a power of 2.")]
    ExtentSizeAlignment,
    #[error("Chunk size must be a power of 2 in the range 4K to 512K.")]
    ChunkSize,
    #[error("Invalid stripe size {0}.")]
    StripeSize(String),
    #[error("Invalid default unit '{0}'.")]
    DefaultUnit(char),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    None,
    Plus,
    Minus,
}

/// A size with the sign the user gave (`lvresize -L +1G`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedSize {
    pub sign: Sign,
    pub sectors: u64,
}

/// Sectors per unit letter (case-insensitive, all binary as in LVM2's
/// `_size_arg`); `b` is handled apart because it must be a sector multiple.
fn unit_sectors(unit: char) -> Option<u64> {
    Some(match unit.to_ascii_lowercase() {
        's' => 1,
        'b' => 0,
        'k' => 2,
        'm' => 2 << 10,
        'g' => 2 << 20,
        't' => 2 << 30,
        'p' => 2 << 40,
        'e' => 2 << 50,
        _ => return None,
    })
}

fn split_sign(arg: &str) -> (Sign, &str) {
    if let Some(rest) = arg.strip_prefix('+') {
        (Sign::Plus, rest)
    } else if let Some(rest) = arg.strip_prefix('-') {
        (Sign::Minus, rest)
    } else {
        (Sign::None, arg)
    }
}

/// The number at the start of a size, read the way C's `strtod` reads it
/// (LVM2's `_size_arg` calls it): decimal digits with an optional fraction
/// and an optional exponent (`1e3`, `1.5E+1`; an `e` not followed by
/// digits is left for the unit, `4e` is 4 EiB), or a hexadecimal integer
/// (`0x10`). The value is `mantissa × 10^exp10`, kept exact.
struct Number<'a> {
    mantissa: u128,
    exp10: i32,
    rest: &'a str,
}

/// Significant digits kept: `mantissa × unit` then fits in u128, and more
/// digits cannot change a size below the 16 EiB limit.
const MAX_DIGITS: usize = 20;

fn leading_number(s: &str) -> Result<Number<'_>, UnitsError> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let n = hex
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(hex.len());
        if n > 0 {
            let digits = hex[..n].trim_start_matches('0');
            if digits.len() > 16 {
                return Err(UnitsError::TooBig);
            }
            return Ok(Number {
                mantissa: u128::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
                    .map_err(|_| UnitsError::TooBig)?,
                exp10: 0,
                rest: &hex[n..],
            });
        }
    }
    let digits_end = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n = digits_end(s);
    let (int_digits, rest) = s.split_at(n);
    let (frac_digits, rest) = match rest.strip_prefix('.') {
        Some(r) => r.split_at(digits_end(r)),
        None => ("", rest),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(UnitsError::ParseAt('.'));
    }
    // An exponent only if digits follow (strtod's rule).
    let mut exp: i64 = 0;
    let mut rest = rest;
    if let Some(e) = rest.strip_prefix(['e', 'E']) {
        let (neg, body) = match e.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, e.strip_prefix('+').unwrap_or(e)),
        };
        let m = digits_end(body);
        if m > 0 {
            // Clamped: anything beyond is 0 or too big either way.
            let v: i64 = body[..m].parse().unwrap_or(i64::MAX).min(10_000);
            exp = if neg { -v } else { v };
            rest = &body[m..];
        }
    }
    let all = format!("{int_digits}{frac_digits}");
    let significant = all.trim_start_matches('0');
    let kept = &significant[..significant.len().min(MAX_DIGITS)];
    let dropped = (significant.len() - kept.len()) as i64;
    Ok(Number {
        mantissa: kept.parse().unwrap_or(0),
        exp10: (exp + dropped - frac_digits.len() as i64).clamp(-10_000, 10_000) as i32,
        rest,
    })
}

/// `floor(n × 10^exp10)`, or `None` when it is at least 2^127.
fn scale(n: u128, exp10: i32) -> Option<u128> {
    if n == 0 {
        return Some(0);
    }
    if exp10 >= 0 {
        let p = 10u128.checked_pow(exp10 as u32)?;
        n.checked_mul(p).filter(|v| *v < 1 << 127)
    } else {
        match 10u128.checked_pow(exp10.unsigned_abs()) {
            Some(p) => Some(n / p),
            None => Some(0),
        }
    }
}

/// LVM2's `_size_arg`: `[+|-]number[unit[B|iB]]`, the number as `strtod`
/// reads it (see [`Number`]); without a unit `default_unit` applies (`m`
/// for `-L`, `k` for `-c`/`-I`). Fractions of a sector are dropped, as
/// LVM's cast from double does.
pub fn parse_signed_size(arg: &str, default_unit: char) -> Result<SignedSize, UnitsError> {
    let (sign, rest) = split_sign(arg);
    if rest.starts_with(['+', '-']) {
        return Err(UnitsError::MultipleSigns);
    }
    if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(UnitsError::NotANumber);
    }
    let num = leading_number(rest)?;
    let mut tail = num.rest.chars();
    let unit = match tail.next() {
        None => default_unit,
        Some(u) => {
            let suffix = tail.as_str().to_ascii_lowercase();
            if unit_sectors(u).is_none() || !matches!(suffix.as_str(), "" | "b" | "ib") {
                return Err(UnitsError::BadUnit);
            }
            u
        }
    };
    let mult = unit_sectors(unit).ok_or(UnitsError::DefaultUnit(default_unit))?;

    let sectors: u128 = if mult == 0 {
        // Bytes: LVM truncates to whole bytes and wants a sector multiple.
        let bytes = scale(num.mantissa, num.exp10).ok_or(UnitsError::TooBig)?;
        let rem = bytes % 512;
        if rem != 0 {
            let upper = bytes + (512 - rem);
            let upper = u64::try_from(upper).map_err(|_| UnitsError::TooBig)?;
            return Err(UnitsError::NotSectorMultiple {
                lower: upper - 512,
                upper,
            });
        }
        bytes / 512
    } else {
        scale(num.mantissa * mult as u128, num.exp10).ok_or(UnitsError::TooBig)?
    };
    if sectors >= SIZE_LIMIT_SECTORS as u128 {
        return Err(UnitsError::TooBig);
    }
    Ok(SignedSize {
        sign,
        sectors: sectors as u64,
    })
}

/// `lvcreate -L/--size`: like LVM's `--size`, a leading `+` is accepted and
/// ignored, `-` is refused, zero is refused.
pub fn parse_size(arg: &str, default_unit: char) -> Result<u64, UnitsError> {
    let s = parse_signed_size(arg, default_unit)?;
    if s.sign == Sign::Minus {
        return Err(UnitsError::Negative);
    }
    if s.sectors == 0 {
        return Err(UnitsError::Zero { opt: "--size" });
    }
    Ok(s.sectors)
}

/// What a percentage in `-l N%WHAT` is of (`percent_type_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PercentOf {
    /// Free extents in the VG.
    Free,
    /// All extents in the VG.
    Vg,
    /// Free extents on the PVs named on the command line (the whole VG when
    /// none are named).
    Pvs,
    /// The origin's size (snapshots).
    Origin,
    /// The LV's current size (`lvresize`; refused by `lvcreate`).
    Lv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentSpec {
    Extents(u64),
    Percent { pct: u32, of: PercentOf },
}

/// `-l` with its sign (`lvextend -l +100%FREE`), LVM2's `_extents_arg`:
/// `[+|-]digits[%(V|VG|L|LV|P|PV|PVS|F|FR|FREE|O|OR|ORIGIN)]`, suffix
/// case-insensitive.
pub fn parse_signed_extents(arg: &str) -> Result<(Sign, ExtentSpec), UnitsError> {
    let bad = || UnitsError::BadExtents(arg.to_string());
    let (sign, rest) = split_sign(arg);
    let n = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if n == 0 {
        return Err(bad());
    }
    let (digits, rest) = rest.split_at(n);
    // strtoull: overflow is an error.
    let value: u64 = digits.parse().map_err(|_| bad())?;
    if rest.is_empty() {
        return Ok((sign, ExtentSpec::Extents(value)));
    }
    let what = rest.strip_prefix('%').ok_or_else(bad)?;
    let of = match what.to_ascii_uppercase().as_str() {
        "V" | "VG" => PercentOf::Vg,
        "L" | "LV" => PercentOf::Lv,
        "P" | "PV" | "PVS" => PercentOf::Pvs,
        "F" | "FR" | "FREE" => PercentOf::Free,
        "O" | "OR" | "ORIGIN" => PercentOf::Origin,
        _ => return Err(UnitsError::UnknownPercent(what.to_string())),
    };
    let pct = u32::try_from(value)
        .ok()
        .filter(|p| *p != u32::MAX)
        .ok_or(UnitsError::PercentTooBig)?;
    Ok((sign, ExtentSpec::Percent { pct, of }))
}

/// `lvcreate -l`: `+` accepted, `-` refused ("Extents may not be
/// negative."), zero refused for counts and percentages alike.
pub fn parse_extents(arg: &str) -> Result<ExtentSpec, UnitsError> {
    let (sign, spec) = parse_signed_extents(arg)?;
    if sign == Sign::Minus {
        return Err(UnitsError::NegativeExtents);
    }
    match spec {
        ExtentSpec::Extents(0) | ExtentSpec::Percent { pct: 0, .. } => {
            Err(UnitsError::Zero { opt: "--extents" })
        }
        _ => Ok(spec),
    }
}

/// The result of [`resolve_extents_detailed`]: the count, and the notice
/// LVM prints when it had to shrink the request to the free space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub extents: u64,
    pub notice: Option<String>,
}

/// `resolve_extents_detailed` without the notice.
pub fn resolve_extents(
    spec: &ExtentSpec,
    vg: &Vg,
    origin_extents: Option<u64>,
    pvs: Option<&[String]>,
) -> Result<u64, UnitsError> {
    resolve_extents_detailed(spec, vg, origin_extents, pvs).map(|r| r.extents)
}

/// Turn `-l` into an extent count for `lvcreate` (`_update_extents_params`).
/// `origin_extents` is the origin's size for `%ORIGIN`, or the LV's own size
/// for `%LV` (lvresize); `pvs` are the PV keys named on the command line.
///
/// As LVM: percentages of VG/FREE/PVS round down, of ORIGIN round up; a
/// result of 0 is an error; FREE and PVS are silently capped to the free
/// space they measure, VG is capped to the VG's free space with the notice
/// "Reducing 150%VG to remaining free space 116.00 MiB in VG." (all checked
/// with LVM 2.03.16).
pub fn resolve_extents_detailed(
    spec: &ExtentSpec,
    vg: &Vg,
    origin_extents: Option<u64>,
    pvs: Option<&[String]>,
) -> Result<Resolved, UnitsError> {
    let (pct, of) = match *spec {
        ExtentSpec::Extents(0) => return Err(UnitsError::ZeroExtents),
        ExtentSpec::Extents(n) => {
            return Ok(Resolved {
                extents: n,
                notice: None,
            })
        }
        ExtentSpec::Percent { pct, of } => (pct as u128, of),
    };
    let vg_free = vg.pe_free();
    let pvs_free = |keys: &[String]| -> u64 {
        vg.pvs
            .iter()
            .filter(|p| keys.contains(&p.key))
            .map(|p| p.pe_count.saturating_sub(vg.pe_used_on(&p.key)))
            .sum()
    };
    let floor = |base: u64| (pct * base as u128 / 100).min(u64::MAX as u128) as u64;
    let (extents, cap) = match of {
        PercentOf::Vg => (floor(vg.pe_total()), Some(vg_free)),
        PercentOf::Free => (floor(vg_free), Some(vg_free)),
        PercentOf::Pvs => match pvs {
            Some(keys) if !keys.is_empty() => {
                let free = pvs_free(keys);
                (floor(free), Some(free))
            }
            _ => (floor(vg.pe_total()), Some(vg_free)),
        },
        PercentOf::Origin => {
            let base = origin_extents.ok_or(UnitsError::NoOrigin)? as u128;
            (
                ((pct * base).div_ceil(100)).min(u64::MAX as u128) as u64,
                None,
            )
        }
        PercentOf::Lv => {
            let base = origin_extents.ok_or(UnitsError::PercentLvNotAllowed)?;
            (floor(base), None)
        }
    };
    if extents == 0 {
        return Err(UnitsError::ZeroExtents);
    }
    match cap {
        Some(cap) if extents > cap => {
            let notice = (of == PercentOf::Vg).then(|| {
                format!(
                    "Reducing {pct}%VG to remaining free space {} in VG.",
                    display_size(cap.saturating_mul(vg.extent_size))
                )
            });
            Ok(Resolved {
                extents: cap,
                notice,
            })
        }
        _ => Ok(Resolved {
            extents,
            notice: None,
        }),
    }
}

/// Extents needed to hold `sectors`, rounding up (0 if `extent_size` is 0).
pub fn size_to_extents(sectors: u64, extent_size: u64) -> u64 {
    if extent_size == 0 {
        return 0;
    }
    sectors.div_ceil(extent_size)
}

/// [`size_to_extents`] and whether it rounded up; when it did, the command
/// prints [`rounding_notice`].
pub fn size_to_extents_rounded(sectors: u64, extent_size: u64) -> (u64, bool) {
    let n = size_to_extents(sectors, extent_size);
    (n, extent_size != 0 && !sectors.is_multiple_of(extent_size))
}

/// "Rounding up size to full physical extent 8.00 MiB" (LVM2 prints the
/// rounded size).
pub fn rounding_notice(extents: u64, extent_size: u64) -> String {
    format!(
        "Rounding up size to full physical extent {}",
        display_size(extents.saturating_mul(extent_size))
    )
}

/// Extent count for a `-L` size, refusing counts that do not fit LVM's
/// 32-bit extent counters (LVM: "Volume too large (15.00 EiB) for extent
/// size 4.00 MiB. Upper limit is less than <16.00 PiB.").
pub fn extents_for_size(sectors: u64, extent_size: u64) -> Result<(u64, bool), UnitsError> {
    let (n, rounded) = size_to_extents_rounded(sectors, extent_size);
    if n > u32::MAX as u64 {
        return Err(UnitsError::VolumeTooLarge {
            size: display_size(sectors),
            extent: display_size(extent_size),
            limit: display_size((u32::MAX as u64).saturating_mul(extent_size)),
        });
    }
    Ok((n, rounded))
}

/// `vgcreate -s`: default unit MiB, no sign, non-zero, below 2^32 sectors,
/// a power of two or else a multiple of 128 KiB (LVM 2.03.16 accepts `1s`
/// and `3m`, refuses `3s` and `100k`).
pub fn parse_extent_size(arg: &str) -> Result<u64, UnitsError> {
    let s = parse_signed_size(arg, 'm')?;
    if s.sign != Sign::None {
        return Err(UnitsError::Signed);
    }
    let n = s.sectors;
    if n == 0 {
        return Err(UnitsError::ExtentSizeZero);
    }
    if n > u32::MAX as u64 {
        return Err(UnitsError::ExtentSizeTooBig);
    }
    if !n.is_power_of_two() && n % 256 != 0 {
        return Err(UnitsError::ExtentSizeAlignment);
    }
    Ok(n)
}

/// `lvcreate -s -c`: default unit KiB, a power of two from 4 KiB to 512 KiB.
pub fn parse_chunk_size(arg: &str) -> Result<u64, UnitsError> {
    let s = parse_signed_size(arg, 'k')?;
    if s.sign == Sign::Minus {
        return Err(UnitsError::Negative);
    }
    if s.sectors == 0 {
        return Err(UnitsError::Zero { opt: "--chunksize" });
    }
    if !s.sectors.is_power_of_two() || !(8..=1024).contains(&s.sectors) {
        return Err(UnitsError::ChunkSize);
    }
    Ok(s.sectors)
}

/// A stripe size after LVM's checks, with the notice to print when it was
/// reduced to the extent size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripeSize {
    pub sectors: u64,
    pub notice: Option<String>,
}

/// `lvcreate -I`: default unit KiB, a power of two of at least 4 KiB; more
/// than the extent size is reduced to it ("Reducing requested stripe size
/// 8.00 MiB to maximum, physical extent size 4.00 MiB.").
pub fn parse_stripe_size(arg: &str, extent_size: u64) -> Result<StripeSize, UnitsError> {
    let s = parse_signed_size(arg, 'k')?;
    if s.sign == Sign::Minus {
        return Err(UnitsError::Negative);
    }
    if s.sectors == 0 {
        return Err(UnitsError::Zero {
            opt: "--stripesize",
        });
    }
    // LVM shows the parsed size: "1.5k" is 3 sectors, "1.50 KiB".
    if !s.sectors.is_power_of_two() || s.sectors < 8 {
        return Err(UnitsError::StripeSize(display_size(s.sectors)));
    }
    if extent_size != 0 && s.sectors > extent_size {
        return Ok(StripeSize {
            sectors: extent_size,
            notice: Some(format!(
                "Reducing requested stripe size {} to maximum, physical extent size {}.",
                display_size(s.sectors),
                display_size(extent_size)
            )),
        });
    }
    Ok(StripeSize {
        sectors: s.sectors,
        notice: None,
    })
}

/// A size in LVM's default display: two decimals in the largest binary
/// unit that is not bigger than the size; "<" when the shown value is
/// rounded up (`display_size` in LVM2, e.g. "<2.00 TiB").
pub fn display_size(sectors: u64) -> String {
    const UNITS: [(&str, u128); 7] = [
        ("EiB", 1 << 60),
        ("PiB", 1 << 50),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("B", 1),
    ];
    let bytes = sectors as u128 * SECTOR_BYTES as u128;
    let (name, unit) = UNITS
        .iter()
        .copied()
        .find(|(_, u)| bytes >= *u)
        .unwrap_or(("B", 1));
    let hundredths = (bytes * 200 + unit) / (2 * unit);
    let prefix = if hundredths * unit > bytes * 100 {
        "<"
    } else {
        ""
    };
    format!(
        "{prefix}{}.{:02} {name}",
        hundredths / 100,
        hundredths % 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 2048;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1.5G", 'm'), Ok(3 * 512 * MIB));
        assert_eq!(parse_size("1.5", 'm'), Ok(3 * 1024));
        assert_eq!(parse_size("4", 'm'), Ok(4 * MIB));
        assert_eq!(parse_size("4MiB", 'm'), Ok(4 * MIB));
        assert_eq!(parse_size("4MB", 'm'), Ok(4 * MIB));
        assert_eq!(parse_size("4mb", 'm'), Ok(4 * MIB));
        assert_eq!(parse_size("4k", 'm'), Ok(8));
        assert_eq!(parse_size("4K", 'm'), Ok(8));
        assert_eq!(parse_size("+4M", 'm'), Ok(4 * MIB));
        assert_eq!(parse_size("9s", 'm'), Ok(9));
        assert_eq!(parse_size("1024b", 'm'), Ok(2));
        assert_eq!(parse_size(".5", 'm'), Ok(1024));
        assert_eq!(parse_size("4.", 'm'), Ok(4 * MIB));
        assert_eq!(parse_size("1t", 'm'), Ok(1 << 31));
        assert_eq!(parse_size("1p", 'm'), Ok(1 << 41));
        assert_eq!(parse_size("15e", 'm'), Ok(15 << 51));
        // Numbers as C's strtod reads them, as LVM2 does.
        assert_eq!(parse_size("1e3", 'm'), Ok(1000 * MIB));
        assert_eq!(parse_size("1E3", 'm'), Ok(1000 * MIB));
        assert_eq!(parse_size("1.5e1", 'm'), Ok(15 * MIB));
        assert_eq!(parse_size("1.e1", 'm'), Ok(10 * MIB));
        assert_eq!(parse_size("1e+1k", 'm'), Ok(20));
        assert_eq!(
            parse_size("1e3b", 'm'),
            Err(UnitsError::NotSectorMultiple {
                lower: 512,
                upper: 1024
            })
        );
        assert_eq!(parse_size("5e-1", 'm'), Ok(1024));
        assert_eq!(
            parse_size("1e-9999", 'm').unwrap_err(),
            UnitsError::Zero { opt: "--size" }
        );
        assert_eq!(parse_size("1e", 'm'), Ok(1 << 51));
        assert_eq!(parse_size("2eb", 'm'), Ok(2 << 51));
        assert_eq!(parse_size("0x10", 'm'), Ok(16 * MIB));
        assert_eq!(parse_size("0x10k", 'm'), Ok(32));
        assert_eq!(parse_size("000000000000000000000004", 'm'), Ok(4 * MIB));
        assert_eq!(
            parse_size("0.000000000000000000000001t", 'm').unwrap_err(),
            UnitsError::Zero { opt: "--size" }
        );
        assert_eq!(
            parse_size("0.3k", 'm'),
            Err(UnitsError::Zero { opt: "--size" })
        );
        assert_eq!(parse_size("8", 's'), Ok(8));
        assert_eq!(parse_size("8", 'k'), Ok(16));
    }

    #[test]
    fn size_errors_match_lvm() {
        let msg = |a: &str| parse_size(a, 'm').unwrap_err().to_string();
        assert_eq!(msg("0"), "--size may not be zero.");
        assert_eq!(msg("-4M"), "Size may not be negative.");
        assert_eq!(
            msg("513b"),
            "Size is not a multiple of 512. Try using 512 or 1024."
        );
        assert_eq!(msg("16e"), "Size is too big (>=16EiB).");
        assert_eq!(msg("1,5"), "Can't parse size argument.");
        assert_eq!(msg("4 "), "Can't parse size argument.");
        assert_eq!(msg(" 4"), "Size requires number argument.");
        assert_eq!(msg("+-4"), "Multiple sign symbols detected.");
        assert_eq!(msg(""), "Size requires number argument.");
        assert_eq!(msg("+"), "Size requires number argument.");
        assert_eq!(msg("."), "Can't parse size argument at '.'.");
        assert_eq!(msg("4x"), "Can't parse size argument.");
        assert_eq!(msg("4m4"), "Can't parse size argument.");
        assert_eq!(msg("0x"), "Can't parse size argument.");
        assert_eq!(msg("1e3e"), "Size is too big (>=16EiB).");
        assert_eq!(msg("1e999999999999"), "Size is too big (>=16EiB).");
        assert_eq!(msg("99999999999999999999999"), "Size is too big (>=16EiB).");
        assert!(parse_size("4", 'x').is_err());
        let s = parse_signed_size("-4M", 'm').unwrap();
        assert_eq!((s.sign, s.sectors), (Sign::Minus, 4 * MIB));
    }

    #[test]
    fn extents_parsing() {
        use PercentOf::*;
        let p = |pct, of| Ok(ExtentSpec::Percent { pct, of });
        assert_eq!(parse_extents("25"), Ok(ExtentSpec::Extents(25)));
        assert_eq!(parse_extents("+3"), Ok(ExtentSpec::Extents(3)));
        assert_eq!(parse_extents("100%FREE"), p(100, Free));
        assert_eq!(parse_extents("100%free"), p(100, Free));
        assert_eq!(parse_extents("33%F"), p(33, Free));
        assert_eq!(parse_extents("50%vg"), p(50, Vg));
        assert_eq!(parse_extents("150%VG"), p(150, Vg));
        assert_eq!(parse_extents("10%PVS"), p(10, Pvs));
        assert_eq!(parse_extents("10%pv"), p(10, Pvs));
        assert_eq!(parse_extents("20%ORIGIN"), p(20, Origin));
        assert_eq!(parse_extents("20%o"), p(20, Origin));
        assert_eq!(parse_extents("20%LV"), p(20, Lv));
        let msg = |a: &str| parse_extents(a).unwrap_err().to_string();
        assert_eq!(msg("0"), "--extents may not be zero.");
        assert_eq!(msg("0%FREE"), "--extents may not be zero.");
        assert_eq!(msg("-3"), "Extents may not be negative.");
        assert_eq!(msg("10%X"), "Specified %X is unknown.");
        assert_eq!(msg("3.5"), "Invalid argument for --extents: 3.5");
        assert_eq!(msg("3 "), "Invalid argument for --extents: 3 ");
        assert_eq!(msg(""), "Invalid argument for --extents: ");
        assert_eq!(msg("%FREE"), "Invalid argument for --extents: %FREE");
        assert_eq!(
            msg("99999999999999999999999"),
            "Invalid argument for --extents: 99999999999999999999999"
        );
        assert_eq!(
            msg("4294967295%VG"),
            "Percentage is too big (>=4294967295%)."
        );
        assert_eq!(
            parse_signed_extents("-10%LV"),
            Ok((Sign::Minus, ExtentSpec::Percent { pct: 10, of: Lv }))
        );
    }

    fn test_vg() -> Vg {
        crate::metadata::alloc::fixtures::lvm_check_vg()
    }

    #[test]
    fn percent_resolution_matches_lvm() {
        let vg = test_vg();
        let r = |s: &str, pvs: Option<&[String]>| {
            resolve_extents_detailed(&parse_extents(s).unwrap(), &vg, Some(4), pvs)
        };
        assert_eq!(r("50%VG", None).unwrap().extents, 14);
        assert_eq!(r("50%PVS", None).unwrap().extents, 14);
        assert_eq!(r("33%FREE", None).unwrap().extents, 7);
        assert_eq!(r("100%FREE", None).unwrap().extents, 22);
        let capped = r("120%FREE", None).unwrap();
        assert_eq!((capped.extents, capped.notice), (22, None));
        let capped = r("150%VG", None).unwrap();
        assert_eq!(capped.extents, 22);
        assert_eq!(
            capped.notice.unwrap(),
            "Reducing 150%VG to remaining free space 88.00 MiB in VG."
        );
        let one = ["pv1".to_string()];
        assert_eq!(r("50%PVS", Some(&one)).unwrap().extents, 2);
        let two = ["pv2".to_string(), "pv0".to_string()];
        assert_eq!(r("50%PVS", Some(&two)).unwrap().extents, 9);
        assert_eq!(r("150%PVS", Some(&one)).unwrap().extents, 4);
        // ORIGIN rounds up: 1% of 4 extents is 1 extent.
        assert_eq!(r("1%ORIGIN", None).unwrap().extents, 1);
        assert_eq!(r("50%ORIGIN", None).unwrap().extents, 2);
        assert_eq!(r("200%ORIGIN", None).unwrap().extents, 8);
        assert_eq!(r("50%LV", None).unwrap().extents, 2);
        assert_eq!(
            r("1%VG", None).unwrap_err().to_string(),
            "Calculated size of logical volume is 0 extents. Needs to be larger."
        );
        let spec = parse_extents("10%ORIGIN").unwrap();
        assert_eq!(
            resolve_extents(&spec, &vg, None, None),
            Err(UnitsError::NoOrigin)
        );
        let spec = parse_extents("10%LV").unwrap();
        assert_eq!(
            resolve_extents(&spec, &vg, None, None)
                .unwrap_err()
                .to_string(),
            "Please express size as %FREE, %PVS or %VG."
        );
        assert_eq!(
            resolve_extents(&ExtentSpec::Extents(250), &vg, None, None),
            Ok(250)
        );
    }

    #[test]
    fn rounding_to_extents() {
        assert_eq!(size_to_extents_rounded(3 * 1024, 8192), (1, true));
        assert_eq!(size_to_extents_rounded(8192, 8192), (1, false));
        assert_eq!(size_to_extents_rounded(8193, 8192), (2, true));
        assert_eq!(size_to_extents(0, 8192), 0);
        assert_eq!(size_to_extents(5, 0), 0);
        assert_eq!(
            rounding_notice(1, 8192),
            "Rounding up size to full physical extent 4.00 MiB"
        );
        assert_eq!(
            rounding_notice(1, 16384),
            "Rounding up size to full physical extent 8.00 MiB"
        );
        let e = extents_for_size(parse_size("15e", 'm').unwrap(), 8192).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Volume too large (15.00 EiB) for extent size 4.00 MiB. Upper limit is less than <16.00 PiB."
        );
        assert!(extents_for_size(u64::MAX, 1).is_err());
    }

    #[test]
    fn extent_sizes_match_lvm() {
        assert_eq!(parse_extent_size("4m"), Ok(8192));
        assert_eq!(parse_extent_size("8"), Ok(8 * MIB));
        assert_eq!(parse_extent_size("3m"), Ok(6144));
        assert_eq!(parse_extent_size("1.5m"), Ok(3072));
        assert_eq!(parse_extent_size("1s"), Ok(1));
        assert_eq!(parse_extent_size("8s"), Ok(8));
        assert_eq!(parse_extent_size("1t"), Ok(1 << 31));
        let msg = |a: &str| parse_extent_size(a).unwrap_err().to_string();
        assert_eq!(msg("0"), "Physical extent size may not be zero");
        assert_eq!(
            msg("2t"),
            "Physical extent size must be smaller than <2.00 TiB."
        );
        assert_eq!(msg("-4m"), "Size may not be relative/signed.");
        assert_eq!(msg("+4m"), "Size may not be relative/signed.");
        for bad in ["3s", "100k", "24s"] {
            assert_eq!(
                msg(bad),
                "Physical Extent size must be a multiple of 128.00 KiB when not a power of 2."
            );
        }
    }

    #[test]
    fn chunk_sizes_match_lvm() {
        assert_eq!(parse_chunk_size("4k"), Ok(8));
        assert_eq!(parse_chunk_size("8"), Ok(16));
        assert_eq!(parse_chunk_size("512k"), Ok(1024));
        assert_eq!(parse_chunk_size("64s"), Ok(64));
        for bad in ["2k", "3k", "1m", "1024k"] {
            assert_eq!(
                parse_chunk_size(bad).unwrap_err().to_string(),
                "Chunk size must be a power of 2 in the range 4K to 512K."
            );
        }
        assert_eq!(
            parse_chunk_size("0").unwrap_err().to_string(),
            "--chunksize may not be zero."
        );
        assert_eq!(parse_chunk_size("-4k"), Err(UnitsError::Negative));
    }

    #[test]
    fn stripe_sizes_match_lvm() {
        let ext = 8192;
        assert_eq!(parse_stripe_size("4k", ext).unwrap().sectors, 8);
        assert_eq!(parse_stripe_size("8", ext).unwrap().sectors, 16);
        assert_eq!(parse_stripe_size("64s", ext).unwrap().sectors, 64);
        assert_eq!(
            parse_stripe_size("4m", ext).unwrap(),
            StripeSize {
                sectors: 8192,
                notice: None
            }
        );
        let r = parse_stripe_size("8m", ext).unwrap();
        assert_eq!(r.sectors, 8192);
        assert_eq!(
            r.notice.unwrap(),
            "Reducing requested stripe size 8.00 MiB to maximum, physical extent size 4.00 MiB."
        );
        let msg = |a: &str| parse_stripe_size(a, ext).unwrap_err().to_string();
        assert_eq!(msg("3k"), "Invalid stripe size 3.00 KiB.");
        assert_eq!(msg("2k"), "Invalid stripe size 2.00 KiB.");
        assert_eq!(msg("1.5k"), "Invalid stripe size 1.50 KiB.");
        assert_eq!(msg("0"), "--stripesize may not be zero.");
        assert_eq!(msg("-4k"), "Size may not be negative.");
    }

    #[test]
    fn display() {
        assert_eq!(display_size(8192), "4.00 MiB");
        assert_eq!(display_size(232 * 1024 / 2 * 2), "116.00 MiB");
        assert_eq!(display_size(128), "64.00 KiB");
        assert_eq!(display_size(u32::MAX as u64), "<2.00 TiB");
        assert_eq!(display_size((u32::MAX as u64) * 8192), "<16.00 PiB");
        assert_eq!(display_size(3), "1.50 KiB");
        assert_eq!(display_size(0), "0.00 B");
        assert_eq!(display_size(1), "512.00 B");
        assert_eq!(display_size(u64::MAX), "<8192.00 EiB");
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}", ext in 0u64..1 << 33) {
            let _ = parse_size(&s, 'm');
            let _ = parse_signed_size(&s, 'q');
            let _ = parse_extents(&s);
            let _ = parse_extent_size(&s);
            let _ = parse_chunk_size(&s);
            let _ = parse_stripe_size(&s, ext);
        }

        #[test]
        fn numeric_sizes_never_panic(n in "[+-]?[0-9]{0,30}(\\.[0-9]{0,30})?[bBsSkKmMgGtTpPeE]?(i?[bB])?") {
            let _ = parse_size(&n, 'm');
            if let Ok(sectors) = parse_size(&n, 'm') {
                proptest::prop_assert!(sectors < u64::MAX >> 9);
                let _ = extents_for_size(sectors, 8192);
                let _ = display_size(sectors);
            }
        }
    }
}
