#!/usr/bin/env bash
# bench-merge.sh - snapshot merge (`lvconvert --merge`): rlvm against real LVM2 in the same
# test VM (qemu TCG, stock Debian kernel), same VG, same volume sizes. A benchmark, not a
# test: it is in no test suite and has no pass/fail threshold (only ratios between the two
# tools in the same guest mean anything under software emulation).
#
# What it measures (guest side: tests/vm/bench/merge-bench.sh, helper tests/vm/bench/mbench.c):
#   1. The longest I/O stall a writer on the origin sees (4 KiB O_DIRECT writes, about one
#      per BENCH_WRITE_US, each completion timestamped with CLOCK_MONOTONIC) while a merge
#      STARTS (`lvconvert --merge -b -i 1`: preload, suspend, commit, resume) and while it
#      FINISHES (the background poller's swap to a plain origin and removal of the snapshot),
#      plus the writer's longest gap with no merge at all (noise floor). BENCH_RUNS runs per
#      tool, alternating; median and max.
#   2. The CPU use of the foreground poller (`lvconvert --merge -i 1`) while it waits: the
#      kernel's merge is held for BENCH_CPU_SECONDS (the snapshot's -cow device suspended, so
#      the copy and its commits wait), as % of one CPU and per look; and for the whole command
#      (start and finish included).
#
# Usage: scripts/bench-merge.sh            (root, as scripts/demo.sh; 3-5 minutes)
# Environment:
#   BENCH_RUNS=5            stall runs per tool
#   BENCH_THROTTLE=20       snapshot_copy_throttle (%) during the stall runs (100: no limit)
#   BENCH_CHANGE_CHUNKS=128 snapshot chunks (4 KiB, every other one) changed before a stall run
#   BENCH_WRITE_US=10000    writer's pause between writes (us)
#   BENCH_CPU_CHUNKS=256    chunks changed before a CPU run
#   BENCH_CPU_SECONDS=30    how long a CPU run's merge is held
#   BENCH_CPU_INTERVALS=1   poll intervals (-i) of the CPU runs, e.g. "1 15" (15 is LVM2's
#                           default; with BENCH_CPU_SECONDS=60 it shows the poller asleep)
#   BENCH_TOOLS="rlvm lvm2" which tools
#   BENCH_SMP=2             guest CPUs
#   BENCH_PROFILE=release   cargo profile of rlvm (release or debug)
#   BENCH_TIMEOUT=1800      seconds for the VM (RLVM_VM_TIMEOUT_SCALE multiplies it)
#   RLVM=path               use this rlvm instead of building one
#   BENCH_LOG=path          keep the guest console log here
# Output: the guest's progress, then a summary; machine-readable lines start with "BENCH ":
#   BENCH start_stall_ms_median rlvm=.. lvm2=.. ratio=..   (ratio = rlvm/LVM2)
#   BENCH start_stall_ms_max / finish_stall_ms_median / finish_stall_ms_max   (longest gap
#         between the writer's completions) / idle_gap_ms_median (the same with no merge: the
#         noise floor) / {start,finish}_suspended_ms_{median,max} (longest time the origin's dm
#         device was suspended, from its sysfs flag read every 1 ms: the tool's own part) /
#         {start,finish}_blocked_write_ms_median (the slowest single write)
#   BENCH poller_cpu_wait_pct_i1 rlvm=.. lvm2=.. ratio=..  / poller_cpu_total_pct_i1 /
#   BENCH poller_cpu_per_look_ms_i1 (CPU per look at the kernel while waiting) /
#   BENCH poller_cpu_between_looks_pct_I (the sleeping poller alone; only when I > 2)
# and the raw per-run lines (BENCH-RUN, BENCH-CPU) above them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

. scripts/vm/bench-lib.sh
bench_init bench-merge
bench_mbench
envs=()
for v in BENCH_RUNS BENCH_THROTTLE BENCH_CHANGE_CHUNKS BENCH_WRITE_US BENCH_CPU_CHUNKS BENCH_CPU_SECONDS \
    BENCH_CPU_INTERVALS BENCH_TOOLS; do
    [ -z "${!v:-}" ] || envs+=(--env "$v=${!v}")
done
bench_boot merge-bench tests/vm/bench/merge-bench.sh 2 256 512 \
    --bin "$tmp/mbench:/opt/rlvm/bin/mbench" "${envs[@]}"

# 4. Summary: medians and maxima per tool, ratios rlvm/LVM2.
echo
echo "=== merge benchmark summary (rlvm: $RLVM; ratio = rlvm/LVM2; TCG guest, ${BENCH_SMP:-2} CPUs) ==="
grep -h '^BENCH-RUN \|^BENCH-CPU ' "$log" | awk '
    function field(name,   i, kv) {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
        return ""
    }
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        if (n == 0) return ""
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function maxof(list,   n, a, i, m) {
        n = split(list, a, " "); m = ""
        for (i = 1; i <= n; i++) if (m == "" || a[i] + 0 > m + 0) m = a[i]
        return m
    }
    function line(name, r, l) {
        printf "BENCH %s rlvm=%s lvm2=%s ratio=%s\n", name, r, l,
            (r != "" && l != "" && l + 0 > 0) ? sprintf("%.2f", r / l) : "n/a"
    }
    $1 == "BENCH-RUN" {
        t = field("tool")
        nn = split("start_ms finish_ms idle_ms start_susp_ms finish_susp_ms start_lat_ms finish_lat_ms start_cmd_s finish_s", names, " ")
        for (k = 1; k <= nn; k++) v[t, names[k]] = v[t, names[k]] " " field(names[k])
        defer[t] += field("deferrals"); runs[t]++
    }
    $1 == "BENCH-CPU" {
        t = field("tool"); iv = field("interval"); ivs[iv] = 1
        cw[t, iv] = field("wait_pct"); ct[t, iv] = field("total_pct"); cl[t, iv] = field("per_look_ms")
        cb[t, iv] = field("between_looks_pct")
    }
    END {
        line("start_stall_ms_median", median(v["rlvm", "start_ms"]), median(v["lvm2", "start_ms"]))
        line("start_stall_ms_max", maxof(v["rlvm", "start_ms"]), maxof(v["lvm2", "start_ms"]))
        line("finish_stall_ms_median", median(v["rlvm", "finish_ms"]), median(v["lvm2", "finish_ms"]))
        line("finish_stall_ms_max", maxof(v["rlvm", "finish_ms"]), maxof(v["lvm2", "finish_ms"]))
        line("idle_gap_ms_median", median(v["rlvm", "idle_ms"]), median(v["lvm2", "idle_ms"]))
        line("start_suspended_ms_median", median(v["rlvm", "start_susp_ms"]), median(v["lvm2", "start_susp_ms"]))
        line("start_suspended_ms_max", maxof(v["rlvm", "start_susp_ms"]), maxof(v["lvm2", "start_susp_ms"]))
        line("finish_suspended_ms_median", median(v["rlvm", "finish_susp_ms"]), median(v["lvm2", "finish_susp_ms"]))
        line("finish_suspended_ms_max", maxof(v["rlvm", "finish_susp_ms"]), maxof(v["lvm2", "finish_susp_ms"]))
        line("start_blocked_write_ms_median", median(v["rlvm", "start_lat_ms"]), median(v["lvm2", "start_lat_ms"]))
        line("finish_blocked_write_ms_median", median(v["rlvm", "finish_lat_ms"]), median(v["lvm2", "finish_lat_ms"]))
        line("start_cmd_s_median", median(v["rlvm", "start_cmd_s"]), median(v["lvm2", "start_cmd_s"]))
        line("finish_window_s_median", median(v["rlvm", "finish_s"]), median(v["lvm2", "finish_s"]))
        printf "BENCH stall_runs rlvm=%d lvm2=%d deferred_starts_rlvm=%d deferred_starts_lvm2=%d\n",
            runs["rlvm"], runs["lvm2"], defer["rlvm"], defer["lvm2"]
        for (iv in ivs) {
            line("poller_cpu_wait_pct_i" iv, cw["rlvm", iv], cw["lvm2", iv])
            line("poller_cpu_total_pct_i" iv, ct["rlvm", iv], ct["lvm2", iv])
            line("poller_cpu_per_look_ms_i" iv, cl["rlvm", iv], cl["lvm2", iv])
            if (cb["rlvm", iv] != "n/a" || cb["lvm2", iv] != "n/a")
                line("poller_cpu_between_looks_pct_i" iv, cb["rlvm", iv], cb["lvm2", iv])
        }
    }'
