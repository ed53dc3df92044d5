//! Polling merges from the command line: the foreground poller of
//! `lvconvert --merge` (progress bar on a terminal, LVM2's
//! `vg/lv: Merged: N.NN%` lines otherwise), `lvpoll` (LVM2's hidden
//! command, also what a detached poller runs), and starting detached
//! pollers after activation. A full look re-reads the VG under its lock,
//! as LVM2's polldaemon does at each look; while the kernel is seen
//! merging, the looks between full ones glance at its status only
//! (`FULL_LOOK_EVERY`). Finishing takes the VG's write lock.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use nix::fcntl::Flock;

use crate::dm::names::dm_uuid;
use crate::metadata::store::{FileOpener, Scan, VgHandle};
use crate::ops::merge::{self, Finished, MergeState};
use crate::ops::Dm;
use crate::poll::progress::{self, Interval};
use crate::poll::spawn;
use crate::poll::{poll_merge, MergeSource, PollError, PollEvent, PollOutcome, RealClock};

use super::common::{failed, lv_arg, parse, CmdError, CommonArgs, Ctx};

/// The command's view of one merge, for the poll loop.
struct CmdSource<'a> {
    ctx: &'a Ctx,
    dm: Dm,
    vg: String,
    origin: String,
    /// The claim file; `claim` holds it while this poller may finish.
    claim_path: std::path::PathBuf,
    claim: Option<Flock<std::fs::File>>,
    /// The last full scan and the seqno of the VG it found: later looks
    /// re-read only the VG's own PVs (`Scan::rescan_vg`, which skips the
    /// parse when the text is byte for byte the one already imported)
    /// instead of every block device and every text.
    last: Option<(Scan, u32)>,
    /// The origin's device and when a full look last found the kernel
    /// merging into it: until `FULL_LOOK_EVERY` has passed, looks are
    /// glances at the kernel alone (`merge::glance`).
    merging: Option<(merge::MergeDevice, Instant)>,
}

/// While a full look found the kernel merging, the looks after it, for
/// this long, glance at the origin's status only (one ioctl; no lock, no
/// reads of the PVs, no parse): a glance only reports progress, and
/// anything but a running merge (done, invalid, failed, gone, another
/// table) makes that look a full one, which decides as LVM2's poller
/// does. A poller waiting on a long merge costs one ioctl a second, and
/// still re-reads the VG under its lock this often (a renamed or removed
/// VG is noticed as before).
const FULL_LOOK_EVERY: Duration = Duration::from_secs(30);

impl CmdSource<'_> {
    /// The VG, read under its lock as LVM2's polldaemon does at each look.
    /// While nothing was committed since the last full scan (same seqno,
    /// every PV found), only the VG's PVs are read again: a poller that
    /// waits on a long merge costs a few reads per look, not a scan of the
    /// machine's devices. Anything else gets a full scan.
    fn read_vg(&mut self) -> Result<VgHandle, PollError> {
        let _l = self
            .ctx
            .lock_vg(&self.vg, false)
            .map_err(|e| PollError::Command(cmd_text(e)))?;
        if let Some((scan, seqno)) = self.last.as_mut() {
            scan.rescan_vg(&FileOpener, &self.vg);
            if let Ok(h) = scan.vg(&self.vg) {
                if h.vg.seqno == *seqno && h.missing.is_empty() {
                    return Ok(h);
                }
            }
        }
        self.last = None;
        let scan = self
            .ctx
            .scan()
            .map_err(|e| PollError::Command(cmd_text(e)))?;
        let h = scan
            .vg(&self.vg)
            .map_err(|_| PollError::VgGone(self.vg.clone()))?;
        if h.missing.is_empty() {
            self.last = Some((scan, h.vg.seqno));
        }
        Ok(h)
    }
}

fn cmd_text(e: CmdError) -> String {
    match e {
        CmdError::Usage(m)
        | CmdError::BadArg(m)
        | CmdError::Failed(m)
        | CmdError::InitFailed(m) => m,
        CmdError::Clap(e) => e.to_string(),
    }
}

impl MergeSource for CmdSource<'_> {
    fn check(&mut self) -> Result<MergeState, PollError> {
        if let Some((dev, at)) = &self.merging {
            if at.elapsed() < FULL_LOOK_EVERY {
                if let Some(merged) = merge::glance(&self.dm, dev) {
                    return Ok(MergeState::Merging { merged });
                }
            }
        }
        self.merging = None;
        let h = self.read_vg()?;
        let st = merge::check(&self.dm, &h.vg, &self.origin)?;
        if let MergeState::Merging { .. } = st {
            self.merging = merge::MergeDevice::of(&h.vg, &self.origin).map(|d| (d, Instant::now()));
        }
        Ok(st)
    }

    fn finish(&mut self) -> Result<Finished, PollError> {
        let (mut h, _g) = self
            .ctx
            .load_vg_for_update(&self.vg)
            .map_err(|e| PollError::Command(cmd_text(e)))?;
        Ok(merge::finish(&mut self.dm, self.ctx, &mut h, &self.origin)?)
    }

    fn may_finish(&mut self) -> bool {
        if self.claim.is_none() {
            self.claim = spawn::try_claim(&self.claim_path).ok().flatten();
        }
        self.claim.is_some()
    }
}

/// How a poller reports.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    /// A terminal: a progress bar.
    Bar,
    /// LVM2's lines on stdout.
    Lines,
    /// Detached: syslog only.
    Syslog,
}

/// SIGTERM and SIGINT end the loop cleanly (the kernel goes on merging).
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    stop
}

fn claim_path_for(ctx: &Ctx, vg: &str, origin: &str) -> Result<std::path::PathBuf, CmdError> {
    let h = ctx.scan()?.vg(vg).map_err(failed)?;
    let lv = h.vg.lv(origin).ok_or_else(|| {
        CmdError::Failed(format!("Failed to find logical volume \"{vg}/{origin}\""))
    })?;
    Ok(spawn::claim_path(
        &ctx.conf.locking_dir(),
        &dm_uuid(&h.vg.id, &lv.id, None),
    ))
}

/// The progress bar of a merge into `vg/origin` (positions 0..10000 are
/// 0..100%), shared with `lvconvert --merge --offline`.
pub(crate) fn merge_bar(vg: &str, origin: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(10_000);
    b.set_style(
        indicatif::ProgressStyle::with_template("  {msg} [{bar:40}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b.set_message(format!("{vg}/{origin}: Merged"));
    b
}

/// Polls the merge into `vg/origin` until it ends. A detached poller
/// (`Output::Syslog`) that finds another poller at work exits quietly.
fn run_poller(
    ctx: &Ctx,
    vg: &str,
    origin: &str,
    interval: Interval,
    output: Output,
) -> Result<(), CmdError> {
    let dm = ctx.require_dm()?;
    let claim_path = claim_path_for(ctx, vg, origin)?;
    let claim = spawn::try_claim(&claim_path)
        .map_err(|e| CmdError::Failed(format!("Cannot lock {}: {e}", claim_path.display())))?;
    if claim.is_none() && output == Output::Syslog {
        return Ok(());
    }
    let mut source = CmdSource {
        ctx,
        dm,
        vg: vg.to_string(),
        origin: origin.to_string(),
        claim_path,
        claim,
        last: None,
        merging: None,
    };
    let stop = stop_flag();
    let bar = (output == Output::Bar && interval.shows_progress()).then(|| merge_bar(vg, origin));
    let mut report = |e: PollEvent| match e {
        PollEvent::Progress(m) => match (&bar, output) {
            (Some(b), _) => b.set_position((m * 100.0) as u64),
            (None, Output::Lines) if interval.shows_progress() => {
                ctx.print(progress::merged_line(vg, origin, m))
            }
            (None, Output::Syslog) => spawn::syslog(false, &progress::merged_line(vg, origin, m)),
            _ => ctx.verbose(1, progress::merged_line(vg, origin, m)),
        },
    };
    let result = poll_merge(&mut source, &mut RealClock, interval, &stop, &mut report);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let say = |err: bool, msg: String| {
        if output == Output::Syslog {
            spawn::syslog(err, &msg);
        } else if err {
            ctx.error(msg);
        } else {
            ctx.print(msg);
        }
    };
    match result {
        Ok(PollOutcome::Finished { cow }) => {
            say(
                false,
                format!("Merge of snapshot into logical volume {vg}/{origin} has finished."),
            );
            say(
                false,
                format!("Logical volume \"{cow}\" successfully removed."),
            );
            Ok(())
        }
        Ok(PollOutcome::NotMerging) => {
            say(
                false,
                format!(
                    "Logical volume {vg}/{origin} is no longer merging origin, polling has finished."
                ),
            );
            Ok(())
        }
        Ok(PollOutcome::Interrupted(e)) => {
            say(false, e.to_string());
            Ok(())
        }
        Ok(PollOutcome::Stopped) => {
            ctx.verbose(
                1,
                format!("{vg}/{origin}: polling stopped; the kernel goes on merging."),
            );
            Ok(())
        }
        Err(e) => {
            let msg = e.to_string();
            if output == Output::Syslog {
                spawn::syslog(true, &msg);
            }
            Err(CmdError::Failed(msg))
        }
    }
}

/// Foreground polling for `lvconvert --merge` without `-b`.
pub fn foreground(ctx: &Ctx, vg: &str, origin: &str, interval: Interval) -> Result<(), CmdError> {
    let output = if std::io::stdout().is_terminal() && ctx.common.quiet == 0 {
        Output::Bar
    } else {
        Output::Lines
    };
    run_poller(ctx, vg, origin, interval, output)
}

/// Starts a detached poller for each origin in `origins` (LVM2's
/// `lv_spawn_background_polling`), at lvm.conf's polling interval.
pub fn start_background(ctx: &Ctx, vg: &str, origins: &[String]) {
    if origins.is_empty() || ctx.common.test {
        return;
    }
    let every = Interval::seconds(ctx.conf.polling_interval() as u64, false);
    let mut n = 0;
    for o in origins {
        match spawn::spawn_merge_poller(vg, o, every, &ctx.common.config) {
            Ok(()) => n += 1,
            Err(e) => ctx.warn(format!(
                "Failed to start background polling of {vg}/{o}: {e}"
            )),
        }
    }
    if n > 0 {
        ctx.print(format!(
            "Background polling started for {n} logical volume(s) in volume group \"{vg}\""
        ));
    }
}

#[derive(Parser, Debug)]
#[command(about = "Continue a long-running operation (snapshot merge) until it ends")]
pub(crate) struct LvpollArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The operation to poll: merge (old-style snapshot merge).
    #[arg(long = "polloperation", value_name = "merge")]
    polloperation: String,
    /// Seconds between checks; +N waits before the first.
    #[arg(
        short = 'i',
        long = "interval",
        value_name = "[+]Number",
        allow_hyphen_values = true
    )]
    interval: Option<String>,
    /// Accepted for compatibility (stop polling: not applicable to merges).
    #[arg(long = "abort")]
    abort: bool,
    /// Accepted for compatibility.
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Accepted for compatibility.
    #[arg(long = "handlemissingpvs")]
    handlemissingpvs: bool,
    /// Run as a detached poller: log to syslog; exit quietly when another
    /// poller already follows this merge.
    #[arg(long = "detached", hide = true)]
    detached: bool,
    /// The origin LV whose merge is polled.
    #[arg(value_name = "VG/LV")]
    lv: String,
}

pub fn lvpoll(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvpollArgs = parse("lvpoll", args)?;
    let ctx = Ctx::new(&a.common)?;
    if a.polloperation != "merge" {
        return Err(CmdError::Failed(format!(
            "Poll operation {} is not supported by rlvm (only merge).",
            a.polloperation
        )));
    }
    let interval = match &a.interval {
        Some(s) => progress::parse_interval(s).map_err(|e| super::common::usage(e.to_string()))?,
        None => Interval::seconds(ctx.conf.polling_interval() as u64, false),
    };
    let (vg, lv) = lv_arg(&a.lv)?;
    // A snapshot named instead of its origin: poll the origin.
    let origin = ctx
        .scan()?
        .vg(&vg)
        .ok()
        .and_then(|h| h.vg.snapshot_by_cow(&lv).map(|s| s.origin.name.clone()))
        .unwrap_or(lv);
    let output = if a.detached {
        Output::Syslog
    } else {
        Output::Lines
    };
    run_poller(&ctx, &vg, &origin, interval, output)
}
