//! The poll loop (LVM2's `_wait_for_single_lv`): look, report, finish or
//! sleep. Each look goes through a `MergeSource` (the command's: VG lock,
//! fresh metadata, `ops::merge::check`, or while the kernel merges, a
//! glance at its status), time through a `Clock`, so the loop is tested
//! with a fake of each. It sleeps between looks in slices short enough to
//! notice a stop request (SIGTERM/SIGINT set `stop`) and never spins: the
//! kernel goes on merging after a stop, and the next activation or
//! `--poll y` picks the merge up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::progress::Interval;
use crate::ops::merge::{Finished, MergeError, MergeState};
use crate::ops::OpsError;

/// Time, for the loop.
pub trait Clock {
    fn sleep(&mut self, d: Duration);
}

/// The real clock.
pub struct RealClock;

impl Clock for RealClock {
    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d)
    }
}

/// One merge as the loop sees it.
pub trait MergeSource {
    /// One look (LVM2 re-reads the VG under its lock each time).
    fn check(&mut self) -> Result<MergeState, PollError>;
    /// Ends the merge the kernel has completed.
    fn finish(&mut self) -> Result<Finished, PollError>;
    /// Whether this poller may finish (it holds the origin's poll claim);
    /// one that may not only watches until the owner is done.
    fn may_finish(&mut self) -> bool {
        true
    }
}

/// Why polling failed (metadata unchanged in every case).
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// `Invalid`, `Merge failed`, failed query: LVM2's "Aborting merge".
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Ops(#[from] OpsError),
    #[error("Volume group \"{0}\" not found")]
    VgGone(String),
    /// Scanning or locking failed (the command's own error text).
    #[error("{0}")]
    Command(String),
}

/// What the loop tells its caller as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum PollEvent {
    Progress(f64),
}

/// How polling ended without an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// This poller finished the merge; `cow` is gone.
    Finished { cow: String },
    /// The origin does not merge (any more): finished by someone else.
    NotMerging,
    /// The LV went away or was deactivated ("Interrupted"): LVM2 counts
    /// this as success; the message says which.
    Interrupted(MergeError),
    /// A stop was requested; the kernel goes on merging.
    Stopped,
}

/// Short enough that SIGTERM ends a poller within a second, long enough
/// that an idle poller wakes once a second at most (a benchmark measured
/// 0.9% of a CPU in the TCG VM with 250 ms slices).
const SLICE: Duration = Duration::from_secs(1);
/// LVM2 sleeps at least this long per loop even with `-i 0`.
const AT_LEAST: Duration = Duration::from_millis(100);

fn sleep_unless_stopped(clock: &mut dyn Clock, d: Duration, stop: &AtomicBool) {
    let mut left = d;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let s = left.min(SLICE);
        clock.sleep(s);
        left -= s;
    }
}

/// Polls until the merge ends, fails, or `stop` is set.
pub fn poll_merge(
    source: &mut dyn MergeSource,
    clock: &mut dyn Clock,
    interval: Interval,
    stop: &AtomicBool,
    report: &mut dyn FnMut(PollEvent),
) -> Result<PollOutcome, PollError> {
    let pause = interval.every.max(AT_LEAST);
    if interval.wait_first {
        sleep_unless_stopped(clock, pause, stop);
    }
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(PollOutcome::Stopped);
        }
        match source.check() {
            Ok(MergeState::NotMerging) => return Ok(PollOutcome::NotMerging),
            Ok(MergeState::Done) if source.may_finish() => {
                report(PollEvent::Progress(100.0));
                return Ok(match source.finish()? {
                    Finished::Merged { cow } => PollOutcome::Finished { cow },
                    Finished::NotMerging => PollOutcome::NotMerging,
                });
            }
            Ok(MergeState::Done) => report(PollEvent::Progress(100.0)),
            Ok(MergeState::Merging { merged }) => report(PollEvent::Progress(merged)),
            Err(PollError::Merge(
                e @ (MergeError::LvGone { .. } | MergeError::NotActive { .. }),
            )) => return Ok(PollOutcome::Interrupted(e)),
            Err(e) => return Err(e),
        }
        sleep_unless_stopped(clock, pause, stop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays states; records finishes.
    struct Script {
        states: Vec<Result<MergeState, MergeError>>,
        finished: u32,
        owner_after: usize,
        looks: usize,
    }

    impl MergeSource for Script {
        fn check(&mut self) -> Result<MergeState, PollError> {
            self.looks += 1;
            let s = if self.states.len() > 1 {
                self.states.remove(0)
            } else {
                self.states[0].clone()
            };
            s.map_err(PollError::from)
        }
        fn finish(&mut self) -> Result<Finished, PollError> {
            self.finished += 1;
            Ok(Finished::Merged { cow: "snap".into() })
        }
        fn may_finish(&mut self) -> bool {
            self.looks > self.owner_after
        }
    }

    #[derive(Default)]
    struct FakeClock {
        slept: Vec<Duration>,
        stop_after: Option<(usize, &'static AtomicBool)>,
    }

    impl Clock for FakeClock {
        fn sleep(&mut self, d: Duration) {
            self.slept.push(d);
            if let Some((n, flag)) = self.stop_after {
                if self.slept.len() >= n {
                    flag.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    fn script(states: Vec<Result<MergeState, MergeError>>) -> Script {
        Script {
            states,
            finished: 0,
            owner_after: 0,
            looks: 0,
        }
    }

    fn merging(m: f64) -> Result<MergeState, MergeError> {
        Ok(MergeState::Merging { merged: m })
    }

    #[test]
    fn reports_progress_sleeps_between_looks_then_finishes_once() {
        let mut s = script(vec![merging(10.0), merging(60.0), Ok(MergeState::Done)]);
        let mut clock = FakeClock::default();
        let mut seen = vec![];
        let stop = AtomicBool::new(false);
        let out = poll_merge(
            &mut s,
            &mut clock,
            Interval::seconds(1, false),
            &stop,
            &mut |e| seen.push(e),
        )
        .unwrap();
        assert_eq!(out, PollOutcome::Finished { cow: "snap".into() });
        assert_eq!(s.finished, 1);
        assert_eq!(
            seen,
            [
                PollEvent::Progress(10.0),
                PollEvent::Progress(60.0),
                PollEvent::Progress(100.0)
            ]
        );
        // Two pauses of 1 s, one slice each: no spinning.
        assert_eq!(clock.slept.len(), 2);
        assert!(clock.slept.iter().all(|d| *d == SLICE));
    }

    #[test]
    fn wait_first_sleeps_before_the_first_look() {
        let mut s = script(vec![Ok(MergeState::NotMerging)]);
        let mut clock = FakeClock::default();
        let stop = AtomicBool::new(false);
        let out = poll_merge(
            &mut s,
            &mut clock,
            Interval::seconds(2, true),
            &stop,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(out, PollOutcome::NotMerging);
        assert_eq!(clock.slept.iter().sum::<Duration>(), Duration::from_secs(2));
        assert_eq!(s.finished, 0);
    }

    #[test]
    fn interval_zero_still_sleeps_a_little() {
        let mut s = script(vec![merging(1.0), Ok(MergeState::NotMerging)]);
        let mut clock = FakeClock::default();
        let stop = AtomicBool::new(false);
        poll_merge(
            &mut s,
            &mut clock,
            Interval::seconds(0, false),
            &stop,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(clock.slept, [AT_LEAST]);
    }

    #[test]
    fn kernel_failures_stop_polling_with_their_error() {
        for e in [
            MergeError::Invalid {
                vg: "vg".into(),
                lv: "lv".into(),
            },
            MergeError::Failed {
                vg: "vg".into(),
                lv: "lv".into(),
            },
            MergeError::QueryFailed {
                vg: "vg".into(),
                lv: "lv".into(),
            },
        ] {
            let mut s = script(vec![merging(5.0), Err(e.clone())]);
            let stop = AtomicBool::new(false);
            let got = poll_merge(
                &mut s,
                &mut FakeClock::default(),
                Interval::seconds(1, false),
                &stop,
                &mut |_| {},
            )
            .unwrap_err();
            assert!(matches!(&got, PollError::Merge(x) if *x == e), "{got}");
            assert_eq!(s.finished, 0);
        }
    }

    #[test]
    fn lv_gone_or_inactive_is_an_interruption_not_a_failure() {
        let e = MergeError::NotActive {
            vg: "vg".into(),
            lv: "lv".into(),
        };
        let mut s = script(vec![Err(e.clone())]);
        let stop = AtomicBool::new(false);
        let out = poll_merge(
            &mut s,
            &mut FakeClock::default(),
            Interval::seconds(1, false),
            &stop,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(out, PollOutcome::Interrupted(e));
    }

    #[test]
    fn stop_request_ends_the_loop_without_finishing() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let mut s = script(vec![merging(5.0)]);
        let mut clock = FakeClock {
            stop_after: Some((3, &STOP)),
            ..Default::default()
        };
        let out = poll_merge(
            &mut s,
            &mut clock,
            Interval::seconds(15, false),
            &STOP,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(out, PollOutcome::Stopped);
        assert_eq!(clock.slept.len(), 3, "stops within one slice");
        assert_eq!(s.finished, 0);
    }

    #[test]
    fn a_watcher_waits_for_the_owner_and_finishes_only_when_it_owns() {
        // Not the owner for the first 3 looks: Done is only reported.
        let mut s = script(vec![Ok(MergeState::Done)]);
        s.owner_after = 3;
        let stop = AtomicBool::new(false);
        let out = poll_merge(
            &mut s,
            &mut FakeClock::default(),
            Interval::seconds(1, false),
            &stop,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(out, PollOutcome::Finished { cow: "snap".into() });
        assert_eq!(s.looks, 4);
        assert_eq!(s.finished, 1);
    }
}
