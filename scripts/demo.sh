#!/usr/bin/env bash
# The rollback demo: boots the real-kernel test VM on two fresh scratch disks and runs
# tests/vm/demo/rollback-demo.sh in it (make a volume, put data on it, snapshot, break the
# data, roll back to the snapshot). Sets everything up on the way: as root, the Debian
# packages it needs (scripts/install-deps.sh); the test VM image (scripts/vm/build-image.sh);
# rlvm itself (cargo build). Exits 0 when the data came back.
#
# Usage: scripts/demo.sh            (RLVM_DEMO_TIMEOUT: seconds for the VM, default 300;
#                                    RLVM_VM_TIMEOUT_SCALE multiplies it on a slow machine)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
say() { echo "demo: $*" >&2; }

# 1. Packages. install-deps.sh does nothing when all are there, and explains when not root.
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null ||
    ! PATH=$PATH:/usr/sbin:/sbin command -v lvm >/dev/null || ! command -v cpio >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        say "installing the packages the demo needs"
        scripts/install-deps.sh
    else
        say "qemu, busybox-static, cpio or lvm2 missing: run scripts/install-deps.sh as root"
        exit 1
    fi
fi

# 2. rlvm.
say "building rlvm (cargo build)"
cargo build --quiet
target=${CARGO_TARGET_DIR:-$repo/target}
rlvm=$target/debug/rlvm
[ -x "$rlvm" ] || { say "no rlvm at $rlvm after cargo build"; exit 1; }

# 3. The VM image (cached after the first run).
say "preparing the test VM image"
image=$(scripts/vm/build-image.sh --quiet | tail -n 1)

# 4. Boot with the demo script and two scratch disks.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
disks=2
scripts/vm/pack-overlay.sh "$tmp/overlay.cpio.gz" --name rollback-demo \
    --scenario tests/vm/demo/rollback-demo.sh --rlvm "$rlvm" --env RLVM_DISK_COUNT=$disks
cat "$image/base.cpio.gz" "$tmp/overlay.cpio.gz" >"$tmp/initrd"
drives=()
for i in $(seq 0 $((disks - 1))); do
    truncate -s 64M "$tmp/disk$i.img"
    drives+=(-drive "format=raw,if=virtio,cache=writeback,file=$tmp/disk$i.img")
done
limit=$(awk -v t="${RLVM_DEMO_TIMEOUT:-300}" -v s="${RLVM_VM_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", t * s }')
say "booting the VM (software emulation: 10-30 s)"
set +e
timeout "$limit" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 512 -nographic \
    -no-reboot -nic none -kernel "$image/vmlinuz" -initrd "$tmp/initrd" \
    -append "console=ttyS0 panic=-1 loglevel=1 quiet norandmaps" "${drives[@]}" </dev/null 2>&1 |
    tr -d '\r' | tee "$tmp/console.log" |
    sed -u -n '/RLVM-SCENARIO-START/,$p' | grep --line-buffered -v 'RLVM-SCENARIO-\|^\[ *[0-9.]*\] '
qemu_rc=${PIPESTATUS[0]}
set -e
rc=$(sed -n 's/.*RLVM-SCENARIO-RESULT rollback-demo rc=\([0-9]*\).*/\1/p' "$tmp/console.log" | tail -n 1)
if [ -z "$rc" ]; then
    say "the VM ended without a result (qemu/timeout status $qemu_rc); console:"
    tail -n 40 "$tmp/console.log" >&2
    exit 1
fi
if [ "$rc" = 0 ]; then
    say "success: the snapshot rolled the data back"
else
    say "FAILED (the demo script exited $rc)"
fi
exit "$rc"
