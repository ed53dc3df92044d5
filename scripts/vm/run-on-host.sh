#!/bin/sh
# Runs the VM scenarios (tests/vm/scenarios/*.sh) directly on this machine, on loop devices,
# for hosts whose kernel has device-mapper. They create and destroy dm devices and LVM
# metadata, so this is opt-in and root only:
#
#   sudo RLVM_HOST_DM_TESTS=1 scripts/vm/run-on-host.sh [--rlvm PATH] [SCENARIO...]
#
# SCENARIO is a file name or path (default: every scenario). Each gets fresh sparse files on
# loop devices as $RLVM_TEST_DISKS (count and size from its `# vm: disks=N size=NM` line,
# default 3 x 64M), real LVM2 configured to see only those devices (LVM_SYSTEM_DIR), and rlvm
# first on PATH (default: $CARGO_TARGET_DIR/debug/rlvm, built with `cargo build` if cargo is
# there). Whatever a scenario leaves active on its devices is deactivated afterwards.
# POSIX sh and busybox-compatible (losetup without --show), so it also runs in the test VM.
# Exit status: 0 all passed, 1 some failed, 77 not enabled or no device-mapper here.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
scenario_dir=$repo/tests/vm/scenarios
rlvm=""
while [ $# -gt 0 ]; do
    case $1 in
        --rlvm) rlvm=$2; shift 2 ;;
        --) shift; break ;;
        -*) echo "run-on-host: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done

skip() { echo "run-on-host: SKIPPED: $*" >&2; exit 77; }
[ "${RLVM_HOST_DM_TESTS:-0}" = 1 ] || skip "set RLVM_HOST_DM_TESTS=1 to run dm scenarios on this host"
[ "$(id -u)" = 0 ] || skip "must run as root"
[ -c /dev/mapper/control ] || modprobe dm-mod 2>/dev/null || true
[ -c /dev/mapper/control ] || skip "no device-mapper in this kernel (/dev/mapper/control missing)"
command -v lvm >/dev/null || PATH=$PATH:/usr/sbin:/sbin
command -v lvm >/dev/null || skip "real LVM2 (lvm) not installed"

if [ -z "$rlvm" ]; then
    rlvm=${CARGO_TARGET_DIR:-$repo/target}/debug/rlvm
    if command -v cargo >/dev/null; then
        (cd "$repo" && cargo build --bin rlvm) >&2
    fi
fi
[ -x "$rlvm" ] || { echo "run-on-host: rlvm not found at $rlvm (--rlvm PATH)" >&2; exit 2; }

[ $# -gt 0 ] || set -- "$scenario_dir"/*.sh

work=$(mktemp -d /tmp/rlvm-host-dm.XXXXXX)
run=$work
loops=""
release_disks() {
    for l in $loops; do
        # Deactivate whatever VG still sits on our devices, then let the device go.
        for vg in $(LVM_SYSTEM_DIR=$run/etc lvm pvs --noheadings -o vg_name "$l" 2>/dev/null); do
            LVM_SYSTEM_DIR=$run/etc lvm vgchange -an "$vg" >/dev/null 2>&1 || true
        done
        losetup -d "$l" 2>/dev/null || true
    done
    loops=""
}
trap 'release_disks; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# header_value SCRIPT KEY DEFAULT: a value from the script's `# vm:` line.
header_value() {
    v=$(sed -n 's/^# vm://p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1)
    echo "${v:-$3}"
}

mkdir -p "$work/bin"
ln -s "$(cd "$(dirname "$rlvm")" && pwd)/$(basename "$rlvm")" "$work/bin/rlvm"
udev=0
[ -S /run/udev/control ] && udev=1
failed=""
for s in "$@"; do
    [ -f "$s" ] || s=$scenario_dir/$s
    [ -f "$s" ] || { echo "run-on-host: no scenario $s" >&2; failed="$failed $s"; continue; }
    name=$(basename "$s" .sh)
    count=$(header_value "$s" disks 3)
    size=$(header_value "$s" size 64M)
    timeout=$(header_value "$s" timeout 300)

    run=$work/$name
    mkdir -p "$run/etc" "$run/state" "$run/disks"
    disks="" regexes=""
    i=0
    while [ $i -lt "$count" ]; do
        f=$run/disks/disk$i.img
        truncate -s "$size" "$f"
        l=$(losetup -f)
        losetup "$l" "$f"
        loops="$loops $l"
        disks="$disks $l"
        regexes="$regexes ^$l\$"
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    LVM_CONF_UDEV=$udev LVM_CONF_STATE_DIR=$run/state "$here/lvm.conf.sh" $regexes >"$run/etc/lvm.conf"

    echo "RLVM-SCENARIO-START $name host disks:$disks"
    set +e
    (
        cd "$run"
        export PATH="$work/bin:$PATH" LVM_SYSTEM_DIR="$run/etc" RLVM_TEST_LIB="$repo/tests/vm/lib.sh"
        export RLVM_TEST_DISKS="${disks# }" RLVM_SCENARIO_NAME="$name" RLVM_BOOT_INDEX=1 RLVM_IN_VM=0
        [ "$udev" = 1 ] || export DM_DISABLE_UDEV=1
        exec timeout "$timeout" sh "$s"
    )
    rc=$?
    set -e
    echo "RLVM-SCENARIO-RESULT $name rc=$rc"
    [ "$rc" = 0 ] || failed="$failed $name"
    release_disks
done

if [ -n "$failed" ]; then
    echo "run-on-host: FAILED:$failed" >&2
    exit 1
fi
echo "run-on-host: all passed"
