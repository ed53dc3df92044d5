//! rlvm: an LVM2-compatible volume manager built around snapshot merge.
//!
//! Layers, bottom up: `metadata` (on-disk format and model, pure over a
//! block-device trait), `system` (lvm.conf, device scan, locks, backups),
//! `dm` (device-mapper: names, targets, planner, executor), `report`
//! (lvs/vgs/pvs output), `poll` (merge progress), `cmd` (the commands).

pub mod cmd;
pub mod dm;
pub mod metadata;
pub mod ops;
pub mod poll;
pub mod report;
pub mod system;
