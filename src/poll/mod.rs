//! Following a merge until it ends (LVM2's polldaemon.c and
//! lvconvert_poll.c, kept apart as there): what one look at the kernel
//! means is `ops::merge::check`; `progress` turns it into what users read
//! (pure); `wait` is the loop, over an injectable clock and a
//! `MergeSource`, so it is unit-tested without sleeping or a kernel;
//! `spawn` starts a detached poller and keeps it to one per origin.
//! Finishing goes through `ops::merge::finish`, the same operation,
//! commit and planner as every other change.

pub mod progress;
pub mod spawn;
pub mod wait;

pub use wait::{poll_merge, Clock, MergeSource, PollError, PollEvent, PollOutcome, RealClock};
