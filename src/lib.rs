//! rlvm: an LVM2-compatible volume manager built around snapshot merge.
//!
//! Layers, bottom up (imports point down only; tests/layers.rs checks):
//! `metadata` (on-disk format and model, pure over a block-device trait);
//! `system` (lvm.conf, device scan, locks, backups) and `dm`
//! (device-mapper: names, targets, planner, executor), siblings; `ops`
//! (one function per LVM operation, one transaction order); `poll`
//! (following a merge); `cmd` (the commands), which alone uses `report`
//! (lvs/vgs/pvs output).
//!
//! Everything but `metadata` is the default feature `cli`: the fuzz targets build the on-disk
//! format layer alone (`default-features = false`).

#[cfg(feature = "cli")]
pub mod cmd;
#[cfg(feature = "cli")]
pub mod dm;
pub mod metadata;
#[cfg(feature = "cli")]
pub mod ops;
#[cfg(feature = "cli")]
pub mod poll;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod system;
