#!/usr/bin/env bash
# bench-commands.sh - command latency: rlvm against real LVM2 in the same test VM (qemu TCG,
# stock Debian kernel, udev running), same VG of BENCH_LVS LVs, the tools alternating run by
# run. A benchmark, not a test: no thresholds; only the ratios between the two tools in one
# guest mean anything under software emulation (the metadata-only counterpart on loop devices
# is scripts/bench-vs-lvm.sh).
#
# Commands (guest side: tests/vm/bench/commands-bench.sh): vgchange -ay, lvs, vgs,
# lvcreate -L 4m, lvcreate -s -L 8m, vgchange -an.
#
# Usage: scripts/bench-commands.sh          (root, as scripts/demo.sh; ~5 min at 100 LVs)
# Environment:
#   BENCH_LVS=100        LVs in the VG (1000 takes much longer: LVM2 creates them one by one)
#   BENCH_RUNS=3         runs per tool
#   BENCH_TOOLS="rlvm lvm2"
#   BENCH_SMP=2, BENCH_PROFILE=release, BENCH_TIMEOUT=1800, RLVM=path, BENCH_LOG=path
#                        as scripts/bench-merge.sh
# Output: BENCH-CMD lines per measurement, then per command the median of each tool and the
# ratio rlvm/LVM2 ("BENCH cmd=C lvs=N rlvm_ms=.. lvm2_ms=.. ratio=..").
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
say() { echo "bench-commands: $*" >&2; }

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null ||
    ! PATH=$PATH:/usr/sbin:/sbin command -v lvm >/dev/null || ! command -v cpio >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        say "installing the packages the VM needs"
        scripts/install-deps.sh
    else
        say "qemu, busybox-static, cpio or lvm2 missing: run scripts/install-deps.sh as root"
        exit 1
    fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. rlvm and the guest helper.
if [ -z "${RLVM:-}" ]; then
    profile=${BENCH_PROFILE:-release}
    say "building rlvm (cargo build --profile $profile)"
    case $profile in debug | dev) profile=debug cargo_profile=dev ;; *) cargo_profile=$profile ;; esac
    cargo build --quiet --profile "$cargo_profile"
    RLVM=${CARGO_TARGET_DIR:-$repo/target}/$profile/rlvm
fi
[ -x "$RLVM" ] || { say "no rlvm at $RLVM"; exit 1; }

# 2. The VM image (cached after the first run).
say "preparing the test VM image"
image=$(scripts/vm/build-image.sh --quiet | tail -n 1)

# 3. Boot with the bench script.
disks=2
envs=(--env RLVM_DISK_COUNT=$disks)
for v in BENCH_RUNS BENCH_LVS BENCH_TOOLS; do
    [ -z "${!v:-}" ] || envs+=(--env "$v=${!v}")
done
scripts/vm/pack-overlay.sh "$tmp/overlay.cpio.gz" --name commands-bench \
    --scenario tests/vm/bench/commands-bench.sh --rlvm "$RLVM" "${envs[@]}"
cat "$image/base.cpio.gz" "$tmp/overlay.cpio.gz" >"$tmp/initrd"
drives=()
for i in $(seq 0 $((disks - 1))); do
    truncate -s 2G "$tmp/disk$i.img"
    drives+=(-drive "format=raw,if=virtio,cache=writeback,file=$tmp/disk$i.img")
done
limit=$(awk -v t="${BENCH_TIMEOUT:-1800}" -v s="${RLVM_VM_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", t * s }')
log=${BENCH_LOG:-$tmp/console.log}
say "booting the VM (software emulation; a few minutes)"
set +e
timeout --foreground "$limit" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 512 -smp "${BENCH_SMP:-2}" \
    -nographic -no-reboot -nic none -kernel "$image/vmlinuz" -initrd "$tmp/initrd" \
    -append "console=ttyS0 panic=-1 loglevel=1 quiet no_timer_check" "${drives[@]}" </dev/null 2>&1 |
    tr -d '\r' | tee "$log" |
    sed -u -n '/RLVM-SCENARIO-START/,$p' | grep --line-buffered -v 'RLVM-SCENARIO-\|^\[ *[0-9.]*\] '
qemu_rc=${PIPESTATUS[0]}
set -e
rc=$(sed -n 's/.*RLVM-SCENARIO-RESULT commands-bench rc=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$rc" ]; then
    say "the VM ended without a result (qemu/timeout status $qemu_rc); console:"
    tail -n 40 "$log" >&2
    exit 1
fi
[ "$rc" = 0 ] || { say "FAILED (the guest script exited $rc)"; exit "$rc"; }

# 4. Summary: medians per tool and command, ratio rlvm/LVM2.
echo
echo "=== command latency (rlvm: $RLVM; ratio = rlvm/LVM2; TCG guest, ${BENCH_SMP:-2} CPUs) ==="
grep -h '^BENCH-CMD ' "$log" | awk '
    function field(k,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
    { key = field("cmd") " " field("lvs"); t = field("tool"); v[key, t, ++n[key, t]] = field("ms") + 0; keys[key] = 1 }
    function median(key, t,   i, j, m, a, x) {
        m = n[key, t]; if (!m) return -1
        for (i = 1; i <= m; i++) a[i] = v[key, t, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
        return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
        for (key in keys) {
            split(key, k, " "); r = median(key, "rlvm"); l = median(key, "lvm2")
            printf "BENCH cmd=%s lvs=%s rlvm_ms=%s lvm2_ms=%s ratio=%s\n", k[1], k[2], r, l, (r >= 0 && l > 0) ? sprintf("%.2f", r / l) : "n/a"
        }
    }' | sort
