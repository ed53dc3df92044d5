//! What the kernel reports about an LV's devices, in the shape the reports
//! and commands need. Pure data; the snapshot status-line parser lives in
//! `status.rs` (re-exported here).

pub use super::status::{SnapshotStatus, StatusParseError};
use super::target::{DevNum, TargetLine};

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
    pub dev: DevNum,
    /// Live table; empty when the device has none (just created).
    pub table: Vec<TargetLine>,
    pub open_count: i32,
    pub suspended: bool,
    pub read_only: bool,
    /// A loaded table waits in the inactive slot.
    pub inactive_table: bool,
}
