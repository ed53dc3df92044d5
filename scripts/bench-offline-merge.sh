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
#   BENCH_THREADS="1 2 4"    offline merge worker counts (requests in flight)
#   BENCH_DD_BS_MB=4         dd block size of the raw copy (MiB)
#   BENCH_SMP=2              guest CPUs
#   BENCH_PROFILE=release    cargo profile of rlvm
#   BENCH_TIMEOUT=1800       seconds for the VM (RLVM_VM_TIMEOUT_SCALE multiplies it)
#   RLVM=path                use this rlvm instead of building one
#   BENCH_LOG=path           keep the guest console log here
# Output: the guest's progress, then per chunk size:
#   BENCH offline_vs_raw_bw_c<K>_t<N>  = raw copy time (the one made on the same setup just
#                                         before) / offline copy+sync time (bandwidth ratio;
#                                         the issue's target is >= 0.90)
#   BENCH offline_vs_raw_sync_bw_c<K>_t<N> = the same against a raw copy that also ends with
#                                         fdatasync (durable, like the merge)
#   BENCH offline_cmd_vs_raw_c<K>_t<N> = the same with the whole offline command's time
#   BENCH offline_speedup_vs_kernel_c<K>_t<N> = kernel merge time / offline command time
#   BENCH kernel_vs_raw_bw_c<K>        = raw copy time / kernel merge time
# and the raw BENCH-OFF lines (seconds) above them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
say() { echo "bench-offline-merge: $*" >&2; }

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null || ! command -v cpio >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        say "installing the packages the VM needs"
        scripts/install-deps.sh
    else
        say "qemu, busybox-static or cpio missing: run scripts/install-deps.sh as root"
        exit 1
    fi
fi
command -v gcc >/dev/null || { say "gcc missing (apt-get install gcc libc6-dev)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "${RLVM:-}" ]; then
    profile=${BENCH_PROFILE:-release}
    say "building rlvm (cargo build --profile $profile)"
    case $profile in debug | dev) profile=debug cargo_profile=dev ;; *) cargo_profile=$profile ;; esac
    cargo build --quiet --profile "$cargo_profile"
    RLVM=${CARGO_TARGET_DIR:-$repo/target}/$profile/rlvm
fi
[ -x "$RLVM" ] || { say "no rlvm at $RLVM"; exit 1; }
gcc -O2 -Wall -static -o "$tmp/mbench" tests/vm/bench/mbench.c 2>/dev/null ||
    gcc -O2 -Wall -o "$tmp/mbench" tests/vm/bench/mbench.c

say "preparing the test VM image"
image=$(scripts/vm/build-image.sh --quiet | tail -n 1)

disks=2
envs=(--env RLVM_DISK_COUNT=$disks)
for v in BENCH_CHUNKS BENCH_ORIGIN_MB BENCH_CHANGE_MB BENCH_PATTERN BENCH_THREADS BENCH_DD_BS_MB; do
    [ -z "${!v:-}" ] || envs+=(--env "$v=${!v}")
done
scripts/vm/pack-overlay.sh "$tmp/overlay.cpio.gz" --name offline-merge-bench \
    --scenario tests/vm/bench/offline-merge-bench.sh --rlvm "$RLVM" \
    --bin "$tmp/mbench:/opt/rlvm/bin/mbench" "${envs[@]}"
cat "$image/base.cpio.gz" "$tmp/overlay.cpio.gz" >"$tmp/initrd"
origin=${BENCH_ORIGIN_MB:-256}
change=${BENCH_CHANGE_MB:-200}
disk_mb=$(((origin + 2 * change + change / 32 + 64) / 2 + 16))
drives=()
for i in $(seq 0 $((disks - 1))); do
    truncate -s "${disk_mb}M" "$tmp/disk$i.img"
    drives+=(-drive "format=raw,if=virtio,cache=writeback,file=$tmp/disk$i.img")
done
limit=$(awk -v t="${BENCH_TIMEOUT:-1800}" -v s="${RLVM_VM_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", t * s }')
log=${BENCH_LOG:-$tmp/console.log}
say "booting the VM (software emulation; a few minutes)"
set +e
timeout --foreground "$limit" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1024 -smp "${BENCH_SMP:-2}" \
    -nographic -no-reboot -nic none -kernel "$image/vmlinuz" -initrd "$tmp/initrd" \
    -append "console=ttyS0 panic=-1 loglevel=1 quiet no_timer_check" "${drives[@]}" </dev/null 2>&1 |
    tr -d '\r' | tee "$log" |
    sed -u -n '/RLVM-SCENARIO-START/,$p' | grep --line-buffered -v 'RLVM-SCENARIO-\|^\[ *[0-9.]*\] '
qemu_rc=${PIPESTATUS[0]}
set -e
rc=$(sed -n 's/.*RLVM-SCENARIO-RESULT offline-merge-bench rc=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$rc" ]; then
    say "the VM ended without a result (qemu/timeout status $qemu_rc); console:"
    tail -n 40 "$log" >&2
    exit 1
fi
[ "$rc" = 0 ] || { say "FAILED (the guest script exited $rc)"; exit "$rc"; }

echo
echo "=== offline merge benchmark (rlvm: $RLVM; TCG guest, ${BENCH_SMP:-2} CPUs; ratios > 1: offline faster) ==="
grep -h '^BENCH-OFF ' "$log" | awk '
    {
        delete f
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        c = f["chunk_k"]
        printf "BENCH kernel_vs_raw_bw_c%s %.2f   (raw %ss, kernel %ss, %s MiB %s)\n",
            c, f["raw_s"] / f["kernel_s"], f["raw_s"], f["kernel_s"], f["mib"], f["pattern"]
        for (k in f) {
            if (k !~ /^offline_t[0-9]+_copy_s$/) continue
            t = k; sub(/^offline_t/, "", t); sub(/_copy_s$/, "", t)
            cmd = f["offline_t" t "_cmd_s"]
            raw = f["offline_t" t "_raw_s"] != "" ? f["offline_t" t "_raw_s"] : f["raw_s"]
            printf "BENCH offline_vs_raw_bw_c%s_t%s %.2f   (copy+sync %ss, of which sync %ss; raw copy just before %ss)\n", c, t, raw / f[k], f[k], f["offline_t" t "_sync_s"], raw
            printf "BENCH offline_vs_raw_sync_bw_c%s_t%s %.2f   (raw copy + fsync %ss)\n", c, t, f["raw_sync_s"] / f[k], f["raw_sync_s"]
            printf "BENCH offline_cmd_vs_raw_c%s_t%s %.2f   (command %ss)\n", c, t, f["raw_s"] / cmd, cmd
            printf "BENCH offline_speedup_vs_kernel_c%s_t%s %.2f\n", c, t, f["kernel_s"] / cmd
        }
    }'
