#!/bin/sh
# Merges across reboots, for tests/vm.rs `merge_across_reboots` (3 boots on the same disks):
#  boot 1: a merge deferred because the origin is open (a mounted root), and a merge scheduled
#          with --onactivate; the machine goes down without deactivating anything;
#  boot 2: the boot's activation alone (vgchange -ay) starts both merges and the pollers it
#          starts finish them with no other command; then a third merge is started with the
#          copy slowed down and the harness cuts the power while the kernel merges;
#  boot 3: vgchange -ay resumes the interrupted merge and its poller finishes it.
# Expected contents are kept on disk 3 (a raw "notebook"), since /tmp does not survive.
. "$RLVM_TEST_LIB"
need_disks 3
d1=$(disk 1)
d2=$(disk 2)
note=$(disk 3)
fast_polling
md5_of() { md5sum <"$1" | cut -d' ' -f1; }
# note_put N TEXT / note_get N: record N (512-byte slots) on the notebook disk.
note_put() { printf '%s' "$2" | dd of="$note" bs=512 seek="$1" conv=notrunc oflag=direct 2>/dev/null; }
note_get() { dd if="$note" bs=512 skip="$1" count=1 2>/dev/null | tr -d '\000'; }
gone() {
    _n=0
    while rlvm lvs "vg0/$1" >/dev/null 2>&1; do
        _n=$((_n + 1))
        [ "$_n" -le 300 ] || fail "vg0/$1 still there after 60s: $(rlvm lvs -a vg0 2>&1)"
        sleep 0.2
    done
}
vg0_devices() { dmsetup ls | awk '$1 ~ /^vg0-/ { print $1 }' | sort | tr '\n' ' '; }

case $RLVM_BOOT_INDEX in
1)
    step "boot 1: a deferred merge (origin open) and a scheduled one (--onactivate)"
    run rlvm pvcreate -y "$d1" "$d2"
    run rlvm vgcreate vg0 "$d1" "$d2"
    run rlvm lvcreate -L 24M -n root vg0
    run rlvm lvcreate -L 24M -n var vg0
    run dd if=/dev/urandom of=/dev/vg0/root bs=1M count=24 oflag=direct
    run dd if=/dev/urandom of=/dev/vg0/var bs=1M count=24 oflag=direct
    run rlvm lvcreate -s -L 12M -n root_snap vg0/root
    run rlvm lvcreate -s -L 12M -n var_snap vg0/var
    note_put 0 "$(md5_of /dev/vg0/root_snap)"
    note_put 1 "$(md5_of /dev/vg0/var_snap)"
    run dd if=/dev/urandom of=/dev/vg0/root bs=1M count=6 seek=3 oflag=direct conv=notrunc
    run dd if=/dev/urandom of=/dev/vg0/var bs=1M count=6 seek=9 oflag=direct conv=notrunc
    sleep 600 </dev/vg0/root &
    sleep 0.5
    rlvm lvconvert --merge vg0/root_snap | tee "$SCRATCH/out"
    grep -qF "Delaying merge since origin is open." "$SCRATCH/out" || fail "root merge not deferred"
    run rlvm lvconvert --merge --onactivate vg0/var_snap
    expect_eq "root still snapshot-origin" "$(dmsetup table vg0-root | awk '{print $3}')" "snapshot-origin"
    expect_eq "var still snapshot-origin" "$(dmsetup table vg0-var | awk '{print $3}')" "snapshot-origin"
    sync
    ;;
2)
    step "boot 2: activation alone starts and finishes both merges"
    run rlvm vgchange -ay vg0
    gone root_snap
    gone var_snap
    expect_eq "root rolled back" "$(md5_of /dev/vg0/root)" "$(note_get 0)"
    expect_eq "var rolled back" "$(md5_of /dev/vg0/var)" "$(note_get 1)"
    expect_eq "vg0 devices" "$(vg0_devices)" "vg0-root vg0-var "
    run lvm vgck vg0

    step "boot 2: a merge interrupted by a power cut"
    run rlvm lvcreate -s -L 20M -n root_snap2 vg0/root
    note_put 2 "$(md5_of /dev/vg0/root_snap2)"
    # Many separate chunks (every other 4 KiB block), so the kernel copies them one by one.
    i=0
    while [ $i -lt 2048 ]; do
        dd if=/dev/urandom of=/dev/vg0/root bs=4096 count=1 seek=$((i * 2)) oflag=direct conv=notrunc 2>/dev/null
        i=$((i + 1))
    done
    echo 1 >/sys/module/dm_snapshot/parameters/snapshot_copy_throttle
    run rlvm lvconvert --merge -b vg0/root_snap2
    expect_eq "origin merging" "$(dmsetup table vg0-root | awk '{print $3}')" "snapshot-merge"
    status=$(dmsetup status vg0-root)
    echo "merge status before the cut: $status"
    set -- $status
    alloc=${4%/*}
    [ "$alloc" != "$5" ] || fail "the merge finished before the power cut: $status"
    echo "POWER-CUT-NOW"
    sleep 600
    fail "the harness should have cut the power"
    ;;
3)
    step "boot 3: vgchange -ay resumes the interrupted merge; its poller finishes it"
    run rlvm lvs -a vg0
    expect_eq "still merging after the cut" "$(lvm lvs --noheadings -o lv_merging vg0/root | tr -d ' ')" "merging"
    run rlvm vgchange -ay vg0
    gone root_snap2
    expect_eq "root rolled back" "$(md5_of /dev/vg0/root)" "$(note_get 2)"
    expect_eq "vg0 devices" "$(vg0_devices)" "vg0-root vg0-var "
    expect_eq "root table" "$(dmsetup table vg0-root | awk '{print $3}')" "linear"
    run lvm vgck vg0
    ;;
esac
step "boot $RLVM_BOOT_INDEX OK"
