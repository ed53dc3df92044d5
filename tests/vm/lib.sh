# Helpers for scenario scripts (POSIX sh: busybox ash in the VM, dash or bash on a host).
# A scenario sources this with:  . "$RLVM_TEST_LIB"
# It gets its disks as $RLVM_TEST_DISKS (whitespace-separated block devices it may destroy),
# and `rlvm`, `lvm`, `dmsetup` on PATH. $RLVM_IN_VM=1 inside the test VM.
set -eu

# A scratch directory for the scenario's own files, removed when it exits.
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/rlvm-scenario.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# step TEXT: a progress line on the console, with the time since boot when known.
step() {
    if [ -r /proc/uptime ]; then
        echo "=== [$(cut -d' ' -f1 /proc/uptime)] $*"
    else
        echo "=== $*"
    fi
}

# fail TEXT: report and end the scenario with status 1.
fail() {
    echo "SCENARIO FAILED: $*" >&2
    if [ -r /dev/kmsg ] && [ "${RLVM_IN_VM:-0}" = 1 ]; then
        echo "--- last kernel messages:" >&2
        dmesg 2>/dev/null | tail -n 20 >&2 || true
    fi
    exit 1
}

# disk N: the Nth (1-based) scratch disk.
disk() {
    # shellcheck disable=SC2086
    set -- $RLVM_TEST_DISKS "$1"
    eval "n=\${$#}"
    [ "$n" -ge 1 ] && [ "$n" -lt $# ] || fail "scenario wants disk $n, has: $RLVM_TEST_DISKS"
    eval "echo \${$n}"
}

# need_disks N: fail early unless at least N scratch disks were given.
need_disks() {
    _want=$1
    # shellcheck disable=SC2086
    set -- $RLVM_TEST_DISKS
    [ $# -ge "$_want" ] || fail "scenario needs $_want disks, has $#: ${RLVM_TEST_DISKS:-none}"
}

# run CMD...: echo the command, run it, fail the scenario when it fails.
run() {
    echo "+ $*"
    "$@" || fail "command failed (rc=$?): $*"
}

# expect_eq WHAT GOT WANT
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# suspended_devices PREFIX: names of the dm devices starting with PREFIX that are suspended.
suspended_devices() {
    dmsetup info -c --noheadings -o name,attr |
        awk -F: -v p="$1" 'index($1, p) == 1 && substr($2, 3, 1) == "s" {print $1}'
}

# sum FILE_OR_DEVICE [BYTES]: md5 of the first BYTES (default all) of it.
sum() {
    if [ $# -ge 2 ]; then
        dd if="$1" bs=1M count=$(($2 / 1048576)) 2>/dev/null | md5sum | cut -d' ' -f1
    else
        md5sum <"$1" | cut -d' ' -f1
    fi
}

# fast_polling: merge pollers look every second (lvm.conf activation/polling_interval; LVM2's
# default is 15, its test suite uses 1 too).
fast_polling() {
    awk '{ print } /^activation \{/ { print "    polling_interval = 1" }' /etc/lvm/lvm.conf \
        >"$SCRATCH/lvm.conf.fast" && cat "$SCRATCH/lvm.conf.fast" >/etc/lvm/lvm.conf
}
