//! What a poll shows: LVM2's progress line and `--interval` values. Pure.

use std::time::Duration;

/// LVM2's default `activation/polling_interval`, in seconds.
pub const DEFAULT_INTERVAL: u64 = 15;

/// `-i|--interval N` or `+N` (wait before the first check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub every: Duration,
    pub wait_first: bool,
}

impl Interval {
    pub fn seconds(every: u64, wait_first: bool) -> Interval {
        Interval {
            every: Duration::from_secs(every),
            wait_first,
        }
    }

    /// Whether progress is shown (LVM2: interval 0 turns it off).
    pub fn shows_progress(&self) -> bool {
        !self.every.is_zero()
    }
}

/// Why an `--interval` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    #[error("Argument to --interval cannot be negative.")]
    Negative,
    #[error("Invalid argument for --interval: {0}")]
    Invalid(String),
}

/// Parses `N` or `+N` (seconds).
pub fn parse_interval(s: &str) -> Result<Interval, IntervalError> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(IntervalError::Negative);
    }
    let (wait_first, digits) = match t.strip_prefix('+') {
        Some(d) => (true, d),
        None => (false, t),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| IntervalError::Invalid(s.to_string()))?;
    Ok(Interval::seconds(n, wait_first))
}

/// LVM2's progress line: `vg/lv: Merged: 12.34%` (counting up).
pub fn merged_line(vg: &str, lv: &str, merged: f64) -> String {
    format!("{vg}/{lv}: Merged: {:.2}%", merged.clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_forms() {
        assert_eq!(parse_interval("5").unwrap(), Interval::seconds(5, false));
        assert_eq!(parse_interval("+5").unwrap(), Interval::seconds(5, true));
        assert_eq!(parse_interval("-1").unwrap_err(), IntervalError::Negative);
        assert!(parse_interval("x").is_err());
        assert!(!parse_interval("0").unwrap().shows_progress());
    }

    #[test]
    fn progress_line_is_lvm2s() {
        assert_eq!(merged_line("vg", "lv", 12.345), "vg/lv: Merged: 12.35%");
        assert_eq!(merged_line("vg", "lv", 100.0), "vg/lv: Merged: 100.00%");
        assert_eq!(merged_line("vg", "lv", -1.0), "vg/lv: Merged: 0.00%");
    }
}
