#!/bin/sh
# vm: disks=1 size=16M timeout=120
# rlvm, as built by cargo on the host, starts in the guest: its shared libraries
# (libdevmapper and friends) are all there. Its exit status is not judged yet: the command
# set is still being written. Status 126/127 (cannot execute / not found) is a failure.
. "$RLVM_TEST_LIB"

step "rlvm --version"
command -v rlvm || fail "rlvm not on PATH ($PATH)"
set +e
rlvm --version
rc=$?
set -e
echo "rlvm --version exited $rc"
case $rc in
    126|127) fail "rlvm could not be executed (rc=$rc)" ;;
esac
# The dynamic loader's own complaint would not always give 127: check it ran main().
out=$(rlvm --version 2>&1 || true)
case $out in
    *"error while loading shared libraries"*) fail "rlvm: $out" ;;
esac
step "rlvm runs"
