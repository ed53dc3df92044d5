#!/bin/sh
# Crash at every step of starting and finishing a merge, for tests/vm.rs `merge_crash_at_every_step`.
# rlvm here is built with the `failpoints` feature. Each boot:
#  - if RLVM_RECOVER names the failpoint the previous boot died at: the boot's activation
#    (vgchange -ay) and, where the merge had not been committed yet, the user's retry of
#    lvconvert --merge, must end with the snapshot merged: the origin holds the snapshot's
#    data, no device but the origin's is left, nothing suspended, LVM2's vgck passes;
#  - if RLVM_CRASH_AT names a failpoint: a fresh VG, origin + snapshot + changes, and
#    lvconvert --merge killed (SIGKILL, by itself) at that point; then the power is cut.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
fast_polling
md5_of() { md5sum <"$1" | cut -d' ' -f1; }
# Deterministic contents: the snapshot's (A) and the changed origin's, at every boot.
pattern() { dd if=/dev/zero bs=1M count="$2" 2>/dev/null | tr '\000' "$1"; }
sum_a=$(pattern a 16 | md5sum | cut -d' ' -f1)

if [ -n "${RLVM_RECOVER:-}" ]; then
    step "recover from a crash at $RLVM_RECOVER"
    run rlvm vgchange -ay vg0
    case $RLVM_RECOVER in
        merge-start:precommitted|merge-start:suspended)
            # Nothing committed: the snapshot is a snapshot; the user merges again.
            expect_eq "not merging after a crash before the commit" \
                "$(rlvm lvs --noheadings -o lv_merging vg0/origin | tr -d ' ')" ""
            run rlvm lvconvert --merge -i 1 vg0/snap
            ;;
    esac
    n=0
    while rlvm lvs vg0/snap >/dev/null 2>&1; do
        n=$((n + 1)); [ $n -le 300 ] || fail "snapshot not merged 60 s after recovery"; sleep 0.2
    done
    expect_eq "origin holds the snapshot's data" "$(md5_of /dev/vg0/origin)" "$sum_a"
    expect_eq "devices" "$(dmsetup ls | awk '$1 ~ /^vg0-/ {print $1}' | tr '\n' ' ')" "vg0-origin "
    expect_eq "origin table" "$(dmsetup table vg0-origin | awk '{print $3}')" "linear"
    dmsetup info -c --noheadings -o name,suspended | grep -q ':Suspended' && fail "a device is suspended"
    run lvm vgck vg0
    run rlvm vgremove -ff vg0
fi

if [ -n "${RLVM_CRASH_AT:-}" ]; then
    step "crash at $RLVM_CRASH_AT"
    run rlvm pvcreate -ff -y "$d1" "$d2"
    run rlvm vgcreate vg0 "$d1" "$d2"
    run rlvm lvcreate -L 16M -n origin vg0
    pattern a 16 | dd of=/dev/vg0/origin bs=1M oflag=direct 2>/dev/null
    run rlvm lvcreate -s -L 12M -n snap vg0/origin
    pattern b 6 | dd of=/dev/vg0/origin bs=1M seek=5 oflag=direct conv=notrunc 2>/dev/null
    set +e
    RLVM_FAILPOINT=$RLVM_CRASH_AT rlvm lvconvert --merge -i 1 vg0/snap
    rc=$?
    set -e
    [ "$rc" = 137 ] || fail "rlvm was not killed at $RLVM_CRASH_AT (exit $rc)"
    echo "CRASHED-AT-FAILPOINT"
    sleep 600
    fail "the harness should have cut the power"
fi
step "boot OK"
