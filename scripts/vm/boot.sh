#!/usr/bin/env bash
# Boots the test VM by hand, console on this terminal, for debugging a scenario: runs it,
# then leaves a root shell in the guest (exit the shell to power off; Ctrl-A X kills qemu).
#
# Usage: scripts/vm/boot.sh [SCENARIO] [--disks N] [--size 64M] [--keep-disks DIR]
#   SCENARIO defaults to a no-op; disks are fresh sparse files in a temp dir (or in DIR,
#   reused if there: a second boot on the same files). rlvm is $CARGO_TARGET_DIR/debug/rlvm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
scenario="" disks=3 size=64M dir=""
while [ $# -gt 0 ]; do
    case $1 in
        --disks) disks=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --keep-disks) dir=$2; shift 2 ;;
        *) scenario=$1; shift ;;
    esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$scenario" ]; then
    printf '#!/bin/sh\necho "no scenario; disks: $RLVM_TEST_DISKS"\n' >"$tmp/none.sh"
    scenario=$tmp/none.sh
fi
[ -n "$dir" ] || dir=$tmp
mkdir -p "$dir"
image=$("$here/build-image.sh")
rlvm=${CARGO_TARGET_DIR:-$repo/target}/debug/rlvm
rlvm_args=()
if [ -x "$rlvm" ]; then rlvm_args=(--rlvm "$rlvm"); else echo "boot.sh: no rlvm at $rlvm (cargo build first); booting without it" >&2; fi
"$here/pack-overlay.sh" "$tmp/overlay.cpio.gz" --name "$(basename "$scenario" .sh)" \
    --scenario "$scenario" "${rlvm_args[@]}" \
    --env RLVM_DISK_COUNT="$disks" --env RLVM_VM_SHELL=1
cat "$image/base.cpio.gz" "$tmp/overlay.cpio.gz" >"$tmp/initrd"
drives=()
for i in $(seq 0 $((disks - 1))); do
    [ -f "$dir/disk$i.img" ] || truncate -s "$size" "$dir/disk$i.img"
    drives+=(-drive "format=raw,if=virtio,cache=writeback,file=$dir/disk$i.img")
done
exec qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 512 -nographic -no-reboot \
    -nic none -kernel "$image/vmlinuz" -initrd "$tmp/initrd" \
    -append "console=ttyS0 panic=-1 loglevel=4 no_timer_check norandmaps" "${drives[@]}"
