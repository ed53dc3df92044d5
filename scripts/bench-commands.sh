#!/usr/bin/env bash
# bench-commands.sh - command latency: rlvm against real LVM2 in the same test VM (qemu TCG,
# stock Debian kernel; no udev unless BENCH_UDEV=1), same VG of BENCH_LVS LVs, the tools
# alternating run by run. A benchmark, not a test: no thresholds; only the ratios between the
# two tools in one guest mean anything under software emulation (the metadata-only
# counterpart on loop devices is scripts/bench-vs-lvm.sh).
#
# Commands (guest side: tests/vm/bench/commands-bench.sh): vgchange -ay, lvs, vgs,
# lvcreate -L 4m, lvcreate -s -L 8m, vgchange -an.
#
# Usage: scripts/bench-commands.sh          (root, as scripts/demo.sh; ~5 min at 100 LVs)
# Environment:
#   BENCH_LVS=100        LVs in the VG (1000 takes much longer: LVM2 creates them one by one)
#   BENCH_RUNS=3         runs per tool
#   BENCH_TOOLS="rlvm lvm2"
#   RLVM_BASE=path      a second rlvm build (say, before a change), run in the same boot as
#                        tool "base" (BENCH_TOOLS then defaults to "rlvm base lvm2"); the
#                        summary adds its median and its ratio to LVM2
#   BENCH_DM_THREADS="1 8 16"  after the timed runs, rlvm's vgchange -ay/-an with each number
#                        of kernel threads (RLVM_DM_THREADS): cmd vgchange_ay_tN, vgchange_an_tN
#   BENCH_PERF=1         no timings: where rlvm spends its CPU, per command (BENCH_RUNS runs
#                        each under `perf record -g` in the guest; needs the host's `perf`,
#                        Debian's linux-perf, copied in with its libraries). rlvm is built
#                        with frame pointers (target/fp); prints "PERF cmd=C children% self%
#                        function" lines: each function's share of rlvm's samples with what
#                        it calls (children) and alone (self); then, per tool, vgchange -ay's
#                        "CPUSHARE tool=T comm=C pct=P" (share of both CPUs' samples per
#                        process, swapper = idle) and "SLEEP tool=T count=N frames=..."
#                        (where its threads leave the CPU: kernel frames below schedule)
#   BENCH_PHASES=1       no timings: where rlvm's vgchange -an/-ay, lvcreate and lvcreate -s
#                        spend their wall time, step by step (RLVM_PHASES,
#                        src/metadata/phase.rs): prints
#                        "PHASE cmd=C step=FROM->TO median_ms=M runs=N" per step (steps in
#                        the order they run; BENCH_RUNS runs each, the LVs active)
#   BENCH_UDEV=1         both tools as on a Debian system: udevd running in the guest and
#                        lvm.conf udev_sync = udev_rules = 1 (udev makes the nodes, commands
#                        wait for their cookies; by default the guest has no udev and both
#                        tools make /dev nodes themselves); after the timed runs each tool's
#                        vgchange -ay/-an again with --noudevsync (cmd vgchange_ay_nosync,
#                        vgchange_an_nosync) and the `udevadm settle` right after it (cmd
#                        settle_after_ay, settle_after_an): how much is udev's own work
#   BENCH_STRACE=1       after the timed runs, each command once more per tool under
#                        `strace -f -c` (host's strace copied in): "STRACE" lines with the
#                        system calls by count and time, for finding where a tool waits
#   BENCH_SMP=2, BENCH_PROFILE=release, BENCH_TIMEOUT=1800, RLVM=path, BENCH_LOG=path
#                        as scripts/bench-merge.sh
# Output: BENCH-CMD lines per measurement (wall ms, and the CPU the command used: user_ms,
# sys_ms; both from tests/vm/bench/mbench.c's `time`, fork to wait4, built here), then per
# command the median of each tool, the ratio rlvm/LVM2 and each tool's mean CPU ms
# ("BENCH cmd=C lvs=N rlvm_ms=.. lvm2_ms=.. ratio=.. rlvm_cpu_ms=.. lvm2_cpu_ms=.."); for
# vgchange -ay/-an also the kernel's floor: `mbench dmfloor` making (removing) as many bare
# linear devices on 1, 2 and 16 threads, and the fastest one's ratio to LVM2 ("floor1_ms=..
# floor2_ms=.. floor16_ms=.. floor_ratio=.."): what the kernel alone takes for that work.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

. scripts/vm/bench-lib.sh
if [ "${BENCH_PERF:-0}" = 1 ]; then
    perf_bin=$(command -v perf) || { say "BENCH_PERF=1: no perf on this host (apt-get install linux-perf)"; exit 1; }
    if [ -z "${RLVM:-}" ]; then
        # Frame pointers in rlvm's own code, so perf can walk its stacks.
        RLVM=$(CARGO_TARGET_DIR="$repo/target/fp" RUSTFLAGS="-C force-frame-pointers=yes" \
            scripts/build-release.sh "${BENCH_PROFILE:-release}")
    fi
fi
bench_init bench-commands
# The median of a[1..m] (sorted in place): the summaries' awk programs below begin with it.
awk_median='
    function median_of(a, m,   i, j, x) {
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
        return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }'
envs=()
for v in BENCH_RUNS BENCH_LVS BENCH_TOOLS BENCH_STRACE BENCH_DM_THREADS BENCH_PERF BENCH_PHASES BENCH_UDEV; do
    [ -z "${!v:-}" ] || envs+=(--env "$v=${!v}")
done
[ "${BENCH_PERF:-0}" != 1 ] || envs+=(--bin "$perf_bin:/usr/bin/perf")
if [ -n "${RLVM_BASE:-}" ]; then
    envs+=(--bin "$RLVM_BASE:/opt/rlvm-base/rlvm")
    [ -n "${BENCH_TOOLS:-}" ] || envs+=(--env "BENCH_TOOLS=rlvm base lvm2")
fi
if [ "${BENCH_STRACE:-0}" = 1 ]; then
    strace_bin=$(command -v strace) || { say "BENCH_STRACE=1: no strace on this host (apt-get install strace)"; exit 1; }
    envs+=(--bin "$strace_bin:/usr/bin/strace")
fi
bench_mbench
bench_boot commands-bench tests/vm/bench/commands-bench.sh 2 2048 512 \
    --bin "$tmp/mbench:/opt/rlvm/bin/mbench" "${envs[@]}"

if [ "${BENCH_PHASES:-0}" = 1 ]; then
    echo
    echo "=== where rlvm's commands spend their time, step by step ($RLVM; median of each step) ==="
    grep -h '^PHASE-' "$log" | awk "$awk_median"'
        {
            c = substr($1, 7); k = c " " $2
            if (k in last) {
                step = last_name[k] "->" $4; key = c SUBSEP step
                v[key, ++n[key]] = ($3 - last[k]) * 1000
                if (!(key in seen)) { seen[key] = 1; order[c, ++steps[c]] = step }
            }
            last[k] = $3; last_name[k] = $4; cmds[c] = 1
        }
        function median(key,   i, a) {
            for (i = 1; i <= n[key]; i++) a[i] = v[key, i]
            return median_of(a, n[key])
        }
        END {
            for (c in cmds) {
                total = 0
                for (i = 1; i <= steps[c]; i++) {
                    key = c SUBSEP order[c, i]; m = median(key); total += m
                    printf "PHASE cmd=%s step=%s median_ms=%.1f runs=%d\n", c, order[c, i], m, n[key]
                }
                printf "PHASE cmd=%s sum_of_medians_ms=%.1f\n", c, total
            }
        }'
    exit 0
fi
if [ "${BENCH_PERF:-0}" = 1 ]; then
    echo
    echo "=== where rlvm's CPU goes ($RLVM; % of its samples: with callees, alone) ==="
    grep -h '^PERF ' "$log" || true
    echo
    echo "=== vgchange -ay beyond CPU: each process's share of both CPUs (swapper = idle), where the tool sleeps ==="
    grep -h '^CPUSHARE \|^SLEEP ' "$log" || true
    exit 0
fi

# 4. Summary: medians per tool and command, ratio rlvm/LVM2.
echo
echo "=== command latency (rlvm: $RLVM; ratio = rlvm/LVM2; TCG guest, ${BENCH_SMP:-2} CPUs) ==="
grep -h '^BENCH-CMD ' "$log" | awk "$awk_median"'
    function field(k,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
    {
        key = field("cmd") " " field("lvs"); t = field("tool"); v[key, t, ++n[key, t]] = field("ms") + 0; keys[key] = 1
        cpu[key, t] += field("user_ms") + field("sys_ms")
    }
    function median(key, t,   i, m, a) {
        m = n[key, t]; if (!m) return -1
        for (i = 1; i <= m; i++) a[i] = v[key, t, i]
        return median_of(a, m)
    }
    END {
        for (key in keys) {
            split(key, k, " "); r = median(key, "rlvm"); l = median(key, "lvm2"); b = median(key, "base")
            base = (b >= 0) ? sprintf(" base_ms=%s base_ratio=%s", b, (l > 0) ? sprintf("%.2f", b / l) : "n/a") : ""
            # mean CPU (user + system) per run, the rest of the wall time is waiting
            c = sprintf(" rlvm_cpu_ms=%d lvm2_cpu_ms=%d", n[key, "rlvm"] ? cpu[key, "rlvm"] / n[key, "rlvm"] : -1, n[key, "lvm2"] ? cpu[key, "lvm2"] / n[key, "lvm2"] : -1)
            # The kernel floor (vgchange only): the fastest of mbench dmfloor on 1, 2, 16 threads.
            f = -1; floor = ""
            for (i = 1; i <= 3; i++) {
                th = (i == 1) ? 1 : (i == 2) ? 2 : 16; fm = median(key, "floor" th)
                if (fm < 0) continue
                floor = floor sprintf(" floor%d_ms=%s", th, fm); if (f < 0 || fm < f) f = fm
            }
            if (f >= 0) floor = floor sprintf(" floor_ratio=%s", (l > 0) ? sprintf("%.2f", f / l) : "n/a")
            printf "BENCH cmd=%s lvs=%s rlvm_ms=%s lvm2_ms=%s ratio=%s%s%s%s\n", k[1], k[2], r, l, (r >= 0 && l > 0) ? sprintf("%.2f", r / l) : "n/a", base, c, floor
        }
    }' | sort
