#!/bin/sh
# Harness self-test for tests/vm.rs `host_runner_in_vm`: scripts/vm/run-on-host.sh, which
# cannot be tried on a host without device-mapper, runs the kernel smoke scenario on loop
# devices inside the VM, exactly as it would on a dm-capable host.
. "$RLVM_TEST_LIB"
step "run-on-host.sh 00-kernel-smoke.sh"
RLVM_HOST_DM_TESTS=1 /repo/scripts/vm/run-on-host.sh --rlvm /opt/rlvm/bin/rlvm 00-kernel-smoke.sh
step "loop devices released"
left=$(losetup -a 2>/dev/null || true)
[ -z "$left" ] || fail "loop devices left attached: $left"
