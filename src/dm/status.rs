//! Typed INFO status lines of the targets rlvm uses (devicemapper-rs style:
//! status params parse into an enum per target). Pure.
//!
//! Reference: `snapshot_status()` in the kernel's drivers/md/dm-snap.c.

use std::str::FromStr;

use super::target::TargetParseError;

/// Status (INFO) of a `snapshot` or `snapshot-merge` target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotStatus {
    /// `<allocated>/<total> <metadata>`, all in sectors. `metadata` is
    /// `None` on very old kernels that print only two numbers.
    Usage {
        allocated: u64,
        total: u64,
        metadata: Option<u64>,
    },
    Invalid,
    Overflow,
    MergeFailed,
    Unknown,
}

impl SnapshotStatus {
    /// Data chunks still in the COW, as a percentage of its size the way
    /// LVM2 computes `snap_percent` (metadata sectors excluded from used).
    pub fn percent_used(&self) -> Option<f64> {
        match *self {
            SnapshotStatus::Usage {
                allocated,
                total,
                metadata,
            } if total > 0 => {
                let meta = metadata.unwrap_or(0);
                Some(100.0 * allocated.saturating_sub(meta) as f64 / total as f64)
            }
            _ => None,
        }
    }
    /// The kernel's "merge finished" condition: allocated == metadata.
    pub fn merge_finished(&self) -> bool {
        matches!(*self, SnapshotStatus::Usage { allocated, metadata: Some(m), .. } if allocated == m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognised snapshot status '{0}'")]
pub struct StatusParseError(pub String);

impl FromStr for SnapshotStatus {
    type Err = StatusParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t {
            "Invalid" => return Ok(SnapshotStatus::Invalid),
            "Overflow" => return Ok(SnapshotStatus::Overflow),
            "Merge failed" => return Ok(SnapshotStatus::MergeFailed),
            "Unknown" => return Ok(SnapshotStatus::Unknown),
            _ => {}
        }
        let err = || StatusParseError(s.to_string());
        let mut words = t.split_whitespace();
        let frac = words.next().ok_or_else(err)?;
        let (a, tot) = frac.split_once('/').ok_or_else(err)?;
        let allocated = a.parse().map_err(|_| err())?;
        let total = tot.parse().map_err(|_| err())?;
        let metadata = match words.next() {
            Some(m) => Some(m.parse().map_err(|_| err())?),
            None => None,
        };
        if words.next().is_some() {
            return Err(err());
        }
        Ok(SnapshotStatus::Usage {
            allocated,
            total,
            metadata,
        })
    }
}

/// INFO status of one target, typed by target type.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetStatus {
    /// `snapshot` and `snapshot-merge`.
    Snapshot(SnapshotStatus),
    /// Targets whose status is empty (`snapshot-origin`, `linear`, `error`,
    /// `zero`) or per-stripe state we do not interpret.
    Empty,
    Other(String),
}

/// Parse the INFO status params of a target of type `target_type`.
pub fn parse_status(target_type: &str, status: &str) -> Result<TargetStatus, TargetParseError> {
    match target_type {
        "snapshot" | "snapshot-merge" => status
            .parse()
            .map(TargetStatus::Snapshot)
            .map_err(|e| TargetParseError(e.to_string())),
        "snapshot-origin" | "linear" | "error" | "zero" if status.trim().is_empty() => {
            Ok(TargetStatus::Empty)
        }
        "snapshot-origin" | "linear" | "error" | "zero" => Err(TargetParseError(format!(
            "{target_type}: unexpected status '{status}'"
        ))),
        _ => Ok(TargetStatus::Other(status.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_status_lines() {
        assert_eq!(
            "16/2097152 16".parse::<SnapshotStatus>().unwrap(),
            SnapshotStatus::Usage {
                allocated: 16,
                total: 2097152,
                metadata: Some(16)
            }
        );
        assert!("16/2097152 16"
            .parse::<SnapshotStatus>()
            .unwrap()
            .merge_finished());
        assert!(!"32/2097152 16"
            .parse::<SnapshotStatus>()
            .unwrap()
            .merge_finished());
        assert_eq!(
            "Merge failed".parse::<SnapshotStatus>().unwrap(),
            SnapshotStatus::MergeFailed
        );
        assert_eq!(
            "Invalid".parse::<SnapshotStatus>().unwrap(),
            SnapshotStatus::Invalid
        );
        assert!("garbage".parse::<SnapshotStatus>().is_err());
        assert!("1/x 3".parse::<SnapshotStatus>().is_err());
    }

    #[test]
    fn status_parsing() {
        assert_eq!(
            parse_status("snapshot-merge", "16/2097152 16").unwrap(),
            TargetStatus::Snapshot(SnapshotStatus::Usage {
                allocated: 16,
                total: 2097152,
                metadata: Some(16)
            })
        );
        assert_eq!(
            parse_status("snapshot", "Invalid").unwrap(),
            TargetStatus::Snapshot(SnapshotStatus::Invalid)
        );
        assert_eq!(
            parse_status("snapshot-origin", "").unwrap(),
            TargetStatus::Empty
        );
        assert!(parse_status("snapshot", "").is_err());
        assert!(parse_status("snapshot-origin", "junk").is_err());
    }
}
