#!/bin/sh
# vm: disks=2 size=64M timeout=180
# pvscan --cache -aay (what LVM2's udev rules run when a PV appears) and
# vgchange -aay autoactivate complete VGs, honouring
# activation/auto_activation_volume_list.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
run rlvm pvcreate "$d1" "$d2"
run rlvm vgcreate vg0 "$d1" "$d2"
run rlvm lvcreate -L 8M -n a vg0
run rlvm lvcreate -L 8M -n b vg0
run rlvm vgchange -an vg0
[ ! -e /dev/mapper/vg0-a ] || fail "vg0-a still active"

step "pvscan --cache -aay activates the complete VG"
# One PV online: vg0 is incomplete and stays inactive (LVM2 2.03's
# pvs_online records, cleared first as LVM2's own tests do: udev may have
# recorded the PVs); the second completes and activates it.
udevadm settle 2>/dev/null || true
rm -f /run/lvm/pvs_online/* /run/lvm/vgs_online/* /run/lvm/pvs_lookup/*
# The image's lvm.conf has event_activation = 0 (so udev's rules do not activate behind the
# scenarios' backs); LVM2 then ignores pvscan --cache -aay, and so does rlvm: turn it on here.
run rlvm pvscan --config "global/event_activation=1" --cache -aay "$d1"
[ ! -e /dev/mapper/vg0-a ] || fail "pvscan activated the incomplete vg0"
run rlvm pvscan --config "global/event_activation=1" --cache -aay "$d2"
[ -b /dev/mapper/vg0-a ] || fail "pvscan did not activate vg0-a"
[ -b /dev/mapper/vg0-b ] || fail "pvscan did not activate vg0-b"
expect_eq "active flag" "$(rlvm lvs --noheadings -o lv_active vg0/a | tr -d ' ')" "active"

step "auto_activation_volume_list limits -aay"
run rlvm vgchange -an vg0
run rlvm vgchange -aay --config 'activation { auto_activation_volume_list = [ "vg0/b" ] }' vg0
[ ! -e /dev/mapper/vg0-a ] || fail "vg0-a activated despite auto_activation_volume_list"
[ -b /dev/mapper/vg0-b ] || fail "vg0-b not autoactivated"
run rlvm vgchange -an vg0
[ -z "$(dmsetup ls | grep vg0 || true)" ] || fail "devices left: $(dmsetup ls)"
step "pvscan autoactivation OK"
