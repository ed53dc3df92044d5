//! Device-mapper: target types, the one place dm names/UUIDs are built, a
//! pure activation planner and the single executor that calls the kernel.

pub mod cow;
pub mod error;
pub mod exec;
pub mod fake;
pub mod ioctl;
pub mod kernel;
pub mod memlock;
pub mod names;
pub mod nodes;
pub mod parallel;
pub mod plan;
pub mod query;
pub mod readahead;
pub mod state;
pub mod status;
pub mod target;
pub mod tree;
pub mod udev;

#[cfg(test)]
mod plan_tests;
