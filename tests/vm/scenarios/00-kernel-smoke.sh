#!/bin/sh
# vm: disks=3 size=64M timeout=180
# The real-kernel stack works: real LVM2 (not rlvm) creates, activates and snapshots an LV on
# /dev/mapper in this kernel, and a snapshot keeps the origin's old data after the origin is
# overwritten. If this fails, no other VM scenario's result means anything.
. "$RLVM_TEST_LIB"
need_disks 1
pv=$(disk 1)
vg=smokevg

step "device-mapper is there"
[ -c /dev/mapper/control ] || fail "/dev/mapper/control missing"
run dmsetup version
dmsetup targets | grep -q '^snapshot ' || fail "no snapshot target: $(dmsetup targets)"

step "pvcreate/vgcreate/lvcreate on $pv"
run lvm pvcreate -y "$pv"
run lvm vgcreate "$vg" "$pv"
run lvm lvcreate -y -L 16M -n origin "$vg"
[ -b "/dev/mapper/$vg-origin" ] || fail "/dev/mapper/$vg-origin not created"
[ -e "/dev/$vg/origin" ] || fail "/dev/$vg/origin link not created"

step "write pattern A to the origin"
dd if=/dev/urandom of="$SCRATCH"/pattern-a bs=1M count=16 2>/dev/null
dd if=/dev/urandom of="$SCRATCH"/pattern-b bs=1M count=4 2>/dev/null
run dd if="$SCRATCH"/pattern-a of="/dev/$vg/origin" bs=1M oflag=direct
expect_eq "origin after write" "$(sum "/dev/$vg/origin")" "$(sum "$SCRATCH"/pattern-a)"

step "snapshot, then overwrite the origin's first 4 MiB"
run lvm lvcreate -y -s -L 8M -n snap "$vg/origin"
run dd if="$SCRATCH"/pattern-b of="/dev/$vg/origin" bs=1M oflag=direct conv=notrunc
sync
# The snapshot keeps A; the origin is B followed by the rest of A.
run cmp "/dev/$vg/snap" "$SCRATCH"/pattern-a
cp "$SCRATCH"/pattern-a "$SCRATCH"/pattern-ab
dd if="$SCRATCH"/pattern-b of="$SCRATCH"/pattern-ab bs=1M conv=notrunc 2>/dev/null
run cmp "/dev/$vg/origin" "$SCRATCH"/pattern-ab

step "the kernel has the snapshot stack"
dmsetup table | grep "^$vg-"
dmsetup table "$vg-origin" | grep -q ' snapshot-origin ' || fail "origin is not snapshot-origin"
dmsetup table "$vg-snap" | grep -q ' snapshot ' || fail "snap is not a snapshot target"
dmsetup table "$vg-snap-cow" | grep -q ' linear ' || fail "no linear -cow device"
dmsetup status "$vg-snap"
run lvm lvs -a -o lv_name,lv_attr,origin,snap_percent "$vg"

step "remove"
run lvm lvremove -y "$vg/snap"
dmsetup table "$vg-origin" | grep -q ' linear ' || fail "origin not back to linear after lvremove of the snapshot"
run lvm lvremove -y "$vg/origin"
run lvm vgremove -y "$vg"
run lvm pvremove -y "$pv"
left=$(dmsetup ls | grep "^$vg-" || true)
[ -z "$left" ] || fail "dm devices left behind: $left"
step "kernel smoke OK"
