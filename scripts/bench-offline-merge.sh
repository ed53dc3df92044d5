#!/usr/bin/env bash
# bench-offline-merge.sh - `lvconvert --merge --offline` (rlvm copies the snapshot's chunks
# itself) against the kernel's merge and against a raw O_DIRECT copy of the same changed bytes
# (dd iflag=direct oflag=direct), at 4 KiB, 64 KiB and 512 KiB chunks, in one test VM (qemu
# TCG, stock Debian kernel). A benchmark, not a test: no threshold; under software emulation
# only ratios between runs in the same guest mean anything.
#
# Guest side: tests/vm/bench/offline-merge-bench.sh (what each figure measures).
# Usage: scripts/bench-offline-merge.sh     (root, as scripts/demo.sh; 3-6 minutes)
# Environment:
#   BENCH_CHUNKS="4 64 512"  chunk sizes (KiB)
#   BENCH_ORIGIN_MB=256      origin size
#   BENCH_CHANGE_MB=200      changed bytes (the issue's figure: 200 MiB)
#   BENCH_PATTERN=seq        seq (one sequential write) or scatter (every other 4 KiB block,
#                            reverse order; BENCH_CHANGE_MB <= BENCH_ORIGIN_MB / 2)
#   BENCH_THREADS="1 2 4"    offline merge worker counts (requests in flight; rlvm's default: 2)
#   BENCH_REPEAT=3           offline runs per thread count (medians)
#   BENCH_FLUSH_MIB="32 0"   also per early-flush interval (RLVM_OFFLINE_FLUSH_MIB; 0: none;
#                            unset: rlvm's default only), alternating; figures get _f<F>
#   BENCH_DD_BS_MB=4         dd block size of the raw copy (MiB)
#   BENCH_SMP=2              guest CPUs
#   BENCH_PROFILE=release    cargo profile of rlvm
#   BENCH_TIMEOUT=1800       seconds for the VM (RLVM_VM_TIMEOUT_SCALE multiplies it)
#   RLVM=path                use this rlvm instead of building one
#   BENCH_LOG=path           keep the guest console log here
# Output: the guest's progress, the raw BENCH-OFF / BENCH-OFFRUN lines, then:
#   BENCH kernel_vs_raw_bw_c<K>        = raw copy time / kernel merge time
#   BENCH offline_vs_raw_bw_c<K>_t<N>  = median over the runs of (raw copy time on the same
#                                         setup just before / offline copy+sync time): the
#                                         bandwidth ratio (the issue's target: >= 0.90)
#   BENCH offline_vs_raw_sync_bw_c<K>_t<N> = the same against a raw copy ended by fsync (a
#                                         durable copy, as a merge must be: the fair pair)
#   BENCH offline_vs_raw_best_c<K>_t<N> = best (least disturbed) raw copy / best offline run
#   BENCH offline_speedup_vs_kernel_c<K>_t<N> = kernel merge time / median offline command
#                                         time (deactivate, commits, copy, sync, reactivate)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

. scripts/vm/bench-lib.sh
bench_init bench-offline-merge
bench_mbench
envs=()
for v in BENCH_CHUNKS BENCH_ORIGIN_MB BENCH_CHANGE_MB BENCH_PATTERN BENCH_THREADS BENCH_FLUSH_MIB BENCH_DD_BS_MB BENCH_REPEAT; do
    [ -z "${!v:-}" ] || envs+=(--env "$v=${!v}")
done
origin=${BENCH_ORIGIN_MB:-256}
change=${BENCH_CHANGE_MB:-200}
cow=$change
[ "${BENCH_PATTERN:-seq}" = scatter ] && cow=$((2 * change))   # chunks past 4 KiB: the span
disk_mb=$(((origin + change + cow + cow / 32 + 64) / 2 + 16))   # origin, COW, raw scratch LV
bench_boot offline-merge-bench tests/vm/bench/offline-merge-bench.sh 2 "$disk_mb" 1024 \
    --bin "$tmp/mbench:/opt/rlvm/bin/mbench" "${envs[@]}"

echo
echo "=== offline merge benchmark (rlvm: $RLVM; TCG guest, ${BENCH_SMP:-2} CPUs; ratios > 1: offline faster) ==="
grep -h '^BENCH-OFF \|^BENCH-OFFRUN ' "$log"
grep -h '^BENCH-OFF \|^BENCH-OFFRUN ' "$log" | awk '
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
    $1 == "BENCH-OFF" {
        c = field("chunk_k"); chunks[c] = 1
        raw[c] = field("raw_s"); rawsync[c] = field("raw_sync_s"); kern[c] = field("kernel_s")
        printf "BENCH kernel_vs_raw_bw_c%s %.2f   (raw %ss, raw+fsync %ss, kernel %ss; %s MiB %s)\n",
            c, raw[c] / kern[c], raw[c], rawsync[c], kern[c], field("mib"), field("pattern")
    }
    $1 == "BENCH-OFFRUN" {
        c = field("chunk_k"); t = field("threads"); f = field("flush_mib")
        if (f != "" && f != "default") t = t "_f" f
        key = c SUBSEP t; keys[key] = 1
        ratio[key] = ratio[key] " " field("raw_s") / field("copy_s")
        if (field("raw_sync_s") != "") sratio[key] = sratio[key] " " field("raw_sync_s") / field("copy_s")
        if (best[key] == "" || field("copy_s") + 0 < best[key] + 0) best[key] = field("copy_s")
        if (bestraw[c] == "" || field("raw_s") + 0 < bestraw[c] + 0) bestraw[c] = field("raw_s")
        if (field("raw_sync_s") != "" && (bestrs[c] == "" || field("raw_sync_s") + 0 < bestrs[c] + 0)) bestrs[c] = field("raw_sync_s")
        copy[key] = copy[key] " " field("copy_s"); cmd[key] = cmd[key] " " field("cmd_s")
        sync[key] = sync[key] " " field("sync_s"); runs[key]++
    }
    END {
        for (key in keys) {
            split(key, kc, SUBSEP); c = kc[1]; t = kc[2]
            printf "BENCH offline_vs_raw_bw_c%s_t%s %.2f   (median of %d paired runs: raw / offline copy+sync; copy+sync %ss, sync %ss)\n",
                c, t, median(ratio[key]), runs[key], median(copy[key]), median(sync[key])
            if (sratio[key] != "")
                printf "BENCH offline_vs_raw_sync_bw_c%s_t%s %.2f   (median: raw copy + fsync / offline copy+sync)\n",
                    c, t, median(sratio[key])
            printf "BENCH offline_vs_raw_best_c%s_t%s %.2f   (best raw %ss / best offline copy+sync %ss; with fsync: %.2f)\n",
                c, t, bestraw[c] / best[key], bestraw[c], best[key], (bestrs[c] != "" ? bestrs[c] / best[key] : 0)
            printf "BENCH offline_speedup_vs_kernel_c%s_t%s %.2f   (kernel %ss / offline command %ss)\n",
                c, t, kern[c] / median(cmd[key]), kern[c], median(cmd[key])
        }
    }' | sort
