//! rlvm: an LVM2-compatible volume manager built around snapshot merge.
//!
//! Layers, bottom up (imports point down only; tests/layers.rs checks):
//! `metadata` (on-disk format and model, pure over a block-device trait);
//! `system` (lvm.conf, device scan, locks, backups) and `dm`
//! (device-mapper: names, targets, planner, executor), siblings; `ops`
//! (one function per LVM operation, one transaction order); `poll`
//! (following a merge); `cmd` (the commands), which alone uses `report`
//! (lvs/vgs/pvs output).

pub mod cmd;
pub mod dm;
pub mod metadata;
pub mod ops;
pub mod poll;
pub mod report;
pub mod system;
