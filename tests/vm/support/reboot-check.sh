#!/bin/sh
# Harness self-test for tests/vm.rs `disks_survive_a_reboot` (not a scenario of its own):
# boot 1 writes a record to the first disk and powers off cleanly; boot 2 finds it, writes a
# second one with O_DIRECT and waits to be power-cut by the harness; boot 3 finds that one.
. "$RLVM_TEST_LIB"
d=$(disk 1)
record() { dd if="$d" bs=512 skip="$1" count=1 2>/dev/null | tr -d '\000'; }
write_record() { printf '%s' "$2" | dd of="$d" bs=512 seek="$1" conv=notrunc oflag=direct 2>/dev/null; }
case $RLVM_BOOT_INDEX in
    1)
        write_record 0 "written by boot 1"
        ;;
    2)
        expect_eq "record from boot 1" "$(record 0)" "written by boot 1"
        write_record 1 "written by boot 2"
        echo "BOOT2-WRITTEN"
        sleep 600
        fail "the harness should have cut the power"
        ;;
    3)
        expect_eq "record from boot 1" "$(record 0)" "written by boot 1"
        expect_eq "record from boot 2" "$(record 1)" "written by boot 2"
        ;;
esac
step "boot $RLVM_BOOT_INDEX OK"
