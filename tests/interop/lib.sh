# shellcheck shell=bash
# Shared set-up for the interop scenarios: real LVM2 (metadata-only mode, on
# loop devices) and rlvm use the SAME private LVM_SYSTEM_DIR, so both see
# exactly the scenario's loop devices and take the same lock files.
#
#   RLVM      the rlvm binary (set by tests/interop.rs)
#   rl ARGS   run rlvm with the private config
#   expect_eq WHAT EXPECTED ACTUAL
#   expect_rc RC CMD...  run CMD, require exit status RC
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../golden/interop-lvm.sh
. "$here/../golden/interop-lvm.sh"
: "${RLVM:?RLVM must point at the rlvm binary}"

rl() { "$RLVM" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

expect_eq() {
    local what=$1 want=$2 got=$3
    if [ "$want" != "$got" ]; then
        printf 'FAIL: %s\n  expected: %q\n  got:      %q\n' "$what" "$want" "$got" >&2
        exit 1
    fi
    echo "ok: $what"
}

expect_rc() {
    local want=$1; shift
    local rc=0
    "$@" >/tmp/interop-out.$$ 2>&1 || rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: '$*' exited $rc, expected $want; output:" >&2
        cat /tmp/interop-out.$$ >&2
        rm -f /tmp/interop-out.$$
        exit 1
    fi
    rm -f /tmp/interop-out.$$
    echo "ok: rc=$want from: $*"
}

# One LVM2 report line, whitespace-trimmed.
lvm_field() { lvmi "$@" --noheadings | sed 's/^ *//; s/ *$//'; }
rl_field() { rl "$@" --noheadings | sed 's/^ *//; s/ *$//'; }
