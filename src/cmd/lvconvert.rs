//! lvconvert --merge (also --mergesnapshot): merge snapshots back into
//! their origins, now or at the next activation (`--onactivate`), then
//! follow the merge (foreground, or `-b` detached) until the snapshot is
//! gone. Arguments are snapshots as VG/LV, a whole VG (its snapshots) or
//! `@tag` (tagged LVs in every VG). The work is `ops::merge`; the polling
//! `cmd::poll`. `--offline` merges with the origin inactive, rlvm copying
//! the snapshot's chunks itself (`ops::offline`), with the same progress
//! display as the poller. It is also how a plain `lvconvert --merge` is
//! done when the kernel could not merge now anyway (`offline_fits`: the
//! origin and snapshot are not active, the snapshot is the origin's only
//! one) and the user waits (no `-b`, no `--onactivate`): LVM2 would leave
//! the merge for the next activation; rlvm finishes it at once, at the
//! disks' bandwidth. `--onactivate` still schedules it as LVM2 does.

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::Parser;

use crate::metadata::model::LvRole;
use crate::metadata::snapshot;
use crate::metadata::store::VgHandle;
use crate::ops::copy::EngineOptions;
use crate::ops::merge::{self, Deferral, MergeStart};
use crate::ops::offline::{self, OfflineEvent};
use crate::poll::progress::{self, Interval};

use super::common::{failed, lv_arg, parse, usage, vg_arg, CmdError, CommonArgs, Ctx};
use super::poll;

#[derive(Parser, Debug)]
#[command(about = "Merge a snapshot into its origin (roll the origin back)")]
pub(crate) struct LvconvertArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Merge the snapshot(s) into their origin(s).
    #[arg(long = "merge", visible_alias = "mergesnapshot")]
    merge: bool,
    /// Do not start the merge now: schedule it for the origin's next
    /// activation (e.g. the next boot for a root volume that cannot be
    /// unmounted). Nothing running changes until then.
    #[arg(long = "onactivate", requires = "merge")]
    onactivate: bool,
    /// Merge with the origin inactive: rlvm copies the snapshot's chunks
    /// back itself, at the disks' bandwidth, and waits until the snapshot is
    /// gone. An active origin (and its snapshot) is deactivated first and
    /// activated again afterwards; if either is open the command fails and
    /// changes nothing. Not for an origin with other snapshots. A crash
    /// leaves a merge that the next activation completes. A plain --merge
    /// (no -b, no --onactivate) of an inactive origin's only snapshot is
    /// done this way too, where LVM2 would wait for the next activation.
    #[arg(
        long = "offline",
        requires = "merge",
        conflicts_with_all = ["onactivate", "background"]
    )]
    offline: bool,
    /// Do not wait: poll in the background (detached, logging to syslog).
    #[arg(short = 'b', long = "background")]
    background: bool,
    /// Seconds between progress reports; +N waits before the first check.
    #[arg(
        short = 'i',
        long = "interval",
        value_name = "[+]Number",
        allow_hyphen_values = true
    )]
    interval: Option<String>,
    /// Snapshots (VG/LV), a VG, or @tag.
    #[arg(required = true, value_name = "VG/LV|VG|@tag")]
    lvs: Vec<String>,
}

/// The LVs an argument names, as (vg, lv).
fn resolve(ctx: &Ctx, arg: &str) -> Result<Vec<(String, String)>, CmdError> {
    if let Some(tag) = arg.strip_prefix('@') {
        let scan = ctx.scan()?;
        let mut out = Vec::new();
        for vg in scan.vg_names() {
            let Ok(h) = scan.vg(&vg) else { continue };
            for l in &h.vg.lvs {
                if l.tags.iter().any(|t| t == tag) && h.vg.role(l) != LvRole::SnapshotLink {
                    out.push((vg.clone(), l.name.clone()));
                }
            }
        }
        return Ok(out);
    }
    if arg.trim_start_matches("/dev/").contains('/') {
        return Ok(vec![lv_arg(arg)?]);
    }
    // A VG: its snapshots that are not merging yet.
    let vg = vg_arg(arg);
    let h = ctx.scan()?.vg(&vg).map_err(failed)?;
    Ok(h.vg
        .snapshots()
        .iter()
        .filter(|s| !s.merging)
        .map(|s| (vg.clone(), s.cow.name.clone()))
        .collect())
}

/// Starts (or schedules) the merge of `vg/lv` (`h`, loaded and checked
/// by `merge_target`); returns the origin to poll if the kernel merges now.
fn merge_one(
    ctx: &Ctx,
    h: &mut VgHandle,
    vg: &str,
    lv: &str,
    on_activate: bool,
) -> Result<Option<String>, CmdError> {
    let mut dm = ctx.dm();
    let out = merge::start(dm.as_mut(), ctx, h, lv, on_activate)?;
    match out {
        MergeStart::Started { origin } => {
            ctx.print(format!("Merging of volume {vg}/{lv} started."));
            Ok(Some(origin))
        }
        MergeStart::Deferred { origin, why } => {
            match why {
                Deferral::OriginOpen => ctx.print("Delaying merge since origin is open."),
                Deferral::SnapshotOpen => ctx.print("Delaying merge since snapshot is open."),
                Deferral::OnActivate | Deferral::NotActive | Deferral::Race => {}
            }
            ctx.print(format!(
                "Merging of snapshot {vg}/{lv} will occur on next activation of {vg}/{origin}."
            ));
            Ok(None)
        }
    }
}

/// Checks shared by both merges: `vg/lv` is a snapshot that may merge.
fn check_mergeable(
    ctx: &Ctx,
    h: &crate::metadata::store::VgHandle,
    vg: &str,
    lv: &str,
) -> Result<(), CmdError> {
    let Some(l) = h.vg.lv(lv) else {
        return Err(CmdError::Failed(format!(
            "Failed to find logical volume \"{vg}/{lv}\""
        )));
    };
    // LVM2's command RULEs refuse a merging COW or origin as the argument.
    let merging_cow = snapshot::is_merging_cow(&h.vg, lv);
    if merging_cow || snapshot::is_merging_origin(&h.vg, lv) {
        let what = if merging_cow {
            "lv_is_merging_cow"
        } else {
            "lv_is_merging_origin"
        };
        ctx.warn(format!(
            "Command on LV {vg}/{lv} is invalid on LV with properties: {what} ."
        ));
        return Err(CmdError::Failed(format!(
            "Command not permitted on LV {vg}/{lv}."
        )));
    }
    if h.vg.role(l) != LvRole::Cow {
        // Not a snapshot: LVM2 tries a raid image merge and refuses.
        return Err(CmdError::Failed(if l.writable() {
            format!("{vg}/{lv} cannot be merged because --trackchanges was not used.")
        } else {
            format!("Unable to merge non-raid image {vg}/{lv}.")
        }));
    }
    Ok(())
}

/// Whether the merge of `vg/lv` is best done offline when the user did
/// not ask for it: the kernel is reachable and shows neither the origin nor
/// the snapshot active (so the kernel could not merge before the next
/// activation), and the snapshot is the origin's only one and not merging
/// (what the offline merge takes). Anything unclear answers no, leaving
/// LVM2's behaviour (the merge waits for the next activation).
fn offline_fits(ctx: &Ctx, h: &VgHandle, lv: &str) -> bool {
    let Some(dm) = ctx.dm() else { return false };
    let Ok(devices) = dm.list_for(&[&h.vg], &[lv]) else {
        return false;
    };
    let Some(snap) = h.vg.snapshot_by_cow(lv) else {
        return false;
    };
    if snap.merging || h.vg.snapshots_of(&snap.origin.name).len() != 1 {
        return false;
    }
    [snap.origin.name.as_str(), lv]
        .iter()
        .all(|name| !crate::dm::query::lv_state_in(dm.kernel(), &devices, &h.vg, name).active)
}

/// Merges `vg/lv` as `a` asks: loads the VG for update once, checks the
/// snapshot, then merges offline (`--offline`, or `offline_fits` when
/// neither `-b` nor `--onactivate` is given) or starts/schedules the
/// kernel's merge. Returns the origin to poll if the kernel merges now.
fn merge_target(
    ctx: &Ctx,
    a: &LvconvertArgs,
    vg: &str,
    lv: &str,
    interval: Interval,
) -> Result<Option<String>, CmdError> {
    let (mut h, _g) = ctx.load_vg_for_update(vg)?;
    check_mergeable(ctx, &h, vg, lv)?;
    let automatic = !a.offline && !a.onactivate && !a.background && offline_fits(ctx, &h, lv);
    if automatic {
        ctx.print(format!(
            "Origin of {vg}/{lv} is not active: merging offline now (--onactivate leaves it for the next activation)."
        ));
    }
    if a.offline || automatic {
        merge_offline(ctx, &mut h, vg, lv, interval)?;
        return Ok(None);
    }
    merge_one(ctx, &mut h, vg, lv, a.onactivate)
}

/// Engine settings; `RLVM_OFFLINE_THREADS`, `RLVM_OFFLINE_BATCH_KIB` and
/// `RLVM_OFFLINE_FLUSH_MIB` (0: no early flushes) override them (for
/// scripts/bench-offline-merge.sh).
fn engine_options() -> EngineOptions {
    let mut o = EngineOptions::default();
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    if let Some(t) = env("RLVM_OFFLINE_THREADS").filter(|&t| t > 0) {
        o.threads = t.min(64);
    }
    if let Some(k) = env("RLVM_OFFLINE_BATCH_KIB").filter(|&k| k >= 4) {
        o.batch_bytes = (k << 10).min(256 << 20);
    }
    if let Some(m) = env("RLVM_OFFLINE_FLUSH_MIB") {
        o.flush_every = (m.min(1 << 20) as u64) << 20;
    }
    o
}

/// `--offline`: merges `vg/lv` now, waiting, with a progress bar on a
/// terminal or LVM2's `vg/lv: Merged: N.NN%` lines every `interval`.
fn merge_offline(
    ctx: &Ctx,
    h: &mut VgHandle,
    vg: &str,
    lv: &str,
    interval: Interval,
) -> Result<(), CmdError> {
    let origin =
        h.vg.snapshot_by_cow(lv)
            .map(|s| s.origin.name.clone())
            .unwrap_or_default();
    let mut dm = ctx.dm();
    let bar =
        (std::io::stdout().is_terminal() && ctx.common.quiet == 0 && interval.shows_progress())
            .then(|| poll::merge_bar(vg, &origin));
    let mut last = std::time::Instant::now();
    let mut shown = None;
    let mut event = |e: OfflineEvent| match e {
        OfflineEvent::Started => ctx.print(format!("Merging of volume {vg}/{lv} started.")),
        OfflineEvent::Copied { done, total } => {
            let pct = if total == 0 {
                100.0
            } else {
                100.0 * done as f64 / total as f64
            };
            if let Some(b) = &bar {
                b.set_position((pct * 100.0) as u64);
            } else if interval.shows_progress()
                && (shown.is_none() || last.elapsed() >= interval.every || done == total)
                && shown != Some(done)
            {
                ctx.print(progress::merged_line(vg, &origin, pct));
                last = std::time::Instant::now();
                shown = Some(done);
            }
        }
    };
    let t0 = std::time::Instant::now();
    let out = offline::merge_offline(
        dm.as_mut(),
        ctx,
        h,
        lv,
        engine_options(),
        ctx.common.test,
        &mut event,
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let done = out?;
    if done.test {
        return Ok(());
    }
    let (secs, copy) = (t0.elapsed().as_secs_f64(), done.stats.elapsed.as_secs_f64());
    let mib = done.stats.bytes as f64 / (1 << 20) as f64;
    ctx.verbose(
        1,
        format!(
            "{vg}/{origin}: copied {} bytes in {} reads and {} writes: copy and sync {copy:.3} s ({:.1} MiB/s; sync {:.3} s), {} early flushes, command {secs:.3} s.",
            done.stats.bytes,
            done.stats.reads,
            done.stats.writes,
            mib / copy.max(1e-6),
            done.stats.sync.as_secs_f64(),
            done.stats.early_flushes
        ),
    );
    ctx.print(format!(
        "Merge of snapshot into logical volume {vg}/{origin} has finished."
    ));
    ctx.print(format!("Logical volume \"{lv}\" successfully removed."));
    Ok(())
}

pub fn lvconvert(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvconvertArgs = parse("lvconvert", args)?;
    let ctx = Ctx::new(&a.common)?;
    if !a.merge {
        return Err(usage(
            "rlvm's lvconvert only merges snapshots: use --merge (or --mergesnapshot).",
        ));
    }
    let interval = match &a.interval {
        Some(s) => progress::parse_interval(s).map_err(|e| match e {
            progress::IntervalError::Negative => CmdError::Failed(e.to_string()),
            e => CmdError::BadArg(e.to_string()),
        })?,
        None => Interval::seconds(ctx.conf.polling_interval() as u64, false),
    };
    let mut targets = Vec::new();
    for arg in &a.lvs {
        targets.extend(resolve(&ctx, arg)?);
    }
    let mut result = Ok(());
    let mut to_poll: Vec<(String, String)> = Vec::new();
    for (vg, lv) in &targets {
        match merge_target(&ctx, &a, vg, lv, interval) {
            Ok(Some(origin)) => to_poll.push((vg.clone(), origin)),
            Ok(None) => {}
            Err(e) => {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                result = Err(CmdError::Failed(String::new()));
            }
        }
    }
    if ctx.common.test {
        return result;
    }
    for (vg, origin) in &to_poll {
        let polled = if a.background {
            crate::poll::spawn::spawn_merge_poller(vg, origin, interval, &ctx.common.config)
                .map_err(|e| {
                    CmdError::Failed(format!("Failed to start polling of {vg}/{origin}: {e}"))
                })
        } else {
            poll::foreground(&ctx, vg, origin, interval)
        };
        if let Err(e) = polled {
            if let CmdError::Failed(m) = &e {
                ctx.error(m);
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}
