#!/bin/sh
# vm: disks=2 size=64M timeout=180
# A snapshot whose COW fills up is invalidated by the kernel: rlvm's lvs
# shows it as LVM2 does (state I, snap_percent empty, snapshot status
# Invalid in lvdisplay), reads of it fail, the origin keeps working, and
# lvremove of the invalid snapshot returns the origin to a linear table.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
lv_field() {
    rlvm lvs --noheadings -o "$2" "vg0/$1" | tr -d ' '
}

run rlvm pvcreate "$d1" "$d2"
run rlvm vgcreate vg0 "$d1" "$d2"
run rlvm lvcreate -L 32M -n origin vg0
run rlvm lvcreate -s -L 4M -n small vg0/origin
expect_eq "fresh snapshot attr" "$(lv_field small lv_attr)" "swi-a-s---"

step "overflow the 4 MiB COW with 16 MiB of origin writes"
dd if=/dev/urandom of=/dev/vg0/origin bs=1M count=16 conv=fsync 2>/dev/null ||
    fail "origin writes failed"
status=$(dmsetup status vg0-small | cut -d' ' -f4-)
expect_eq "kernel marks the snapshot invalid" "$status" "Invalid"
expect_eq "lvs state I" "$(lv_field small lv_attr)" "swi-I-s---"
expect_eq "origin attr" "$(lv_field origin lv_attr)" "owi-a-s---"
if dd if=/dev/vg0/small of=/dev/null bs=4k count=1 2>/dev/null; then
    fail "reading an invalid snapshot should fail"
fi
rlvm lvdisplay vg0/small | grep -q "INACTIVE destination for\|snapshot status" ||
    fail "lvdisplay has no snapshot status line"
# The origin still works.
dd if=/dev/zero of=/dev/vg0/origin bs=1M count=1 conv=fsync 2>/dev/null || fail "origin write"

step "lvremove of the invalid snapshot"
run rlvm lvremove -y vg0/small
expect_eq "origin linear again" "$(dmsetup table vg0-origin | cut -d' ' -f3)" "linear"
[ -z "$(dmsetup ls | grep -e '-real\|-cow' || true)" ] || fail "layers left: $(dmsetup ls)"
run rlvm vgchange -an vg0
step "invalid snapshot OK"
