//! What the kernel reports about an LV's devices, in the shape the reports
//! and commands need. Pure data plus the snapshot status-line parser
//! (`snapshot_status()` in the kernel's dm-snap.c is the reference).

use std::str::FromStr;

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

/// The kernel's view of one LV's top-level device.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LvKernelState {
    /// False when device-mapper could not be asked (no kernel driver):
    /// reports then show `X` for the state bits, as LVM2 does.
    pub known: bool,
    pub active: bool,
    /// Open count > 0.
    pub open: bool,
    pub suspended: bool,
    /// Live table loaded read-only.
    pub read_only: bool,
    /// Type of the live table's first target (`linear`, `snapshot-origin`,
    /// `snapshot-merge`, `error`, ...).
    pub live_target: Option<String>,
    /// Status of the snapshot target: for a COW LV the status of its
    /// `vg-snap` device; for a merging origin the `snapshot-merge` status.
    pub snapshot: Option<SnapshotStatus>,
}

/// One device as `Kernel::list` reports it: the planner's view of the
/// kernel. Tables are the live ones, with devices as `maj:min`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelDevice {
    pub name: String,
    pub uuid: Option<String>,
    pub dev: super::target::DevNum,
    /// Live table; empty when the device has none (just created).
    pub table: Vec<super::target::TargetLine>,
    pub open_count: i32,
    pub suspended: bool,
    pub read_only: bool,
    /// A loaded table waits in the inactive slot.
    pub inactive_table: bool,
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
}
