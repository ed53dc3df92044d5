#!/bin/sh
# vm: disks=3 size=64M timeout=240
# Activation that cannot succeed leaves the kernel and the metadata as they were:
# - a VG with a missing PV: `vgchange -ay` refuses the partial LV (exit 5, "Refusing
#   activation of partial LV"), makes no device for it (the complete LV comes up, as in LVM2);
# - a dm name already taken in the middle of a snapshot stack: lvchange -ay fails, no stray
#   or suspended device, vg_seqno unchanged, and it works once the name is free;
# - a table the kernel rejects (the PV's device shrank under the LV): the same.
. "$RLVM_TEST_LIB"
need_disks 3
d1=$(disk 1)
d2=$(disk 2)
d3=$(disk 3)

try() {
    echo "+ $*"
    RC=0
    OUT=$("$@" 2>&1) || RC=$?
    [ -z "$OUT" ] || echo "$OUT"
    echo "  (rc=$RC)"
}
dm_devices() {
    dmsetup ls | awk '$1 != "No" {print $1}' | sort
}
# no_suspended_or_tableless: every dm device is active with a live table.
no_suspended_or_tableless() {
    for n in $(dm_devices); do
        info=$(dmsetup info "$n")
        case $info in *SUSPENDED*) fail "$n is left suspended: $info" ;; esac
        case $info in *"Tables present:    LIVE"*) ;; *) fail "$n has no live table: $info" ;; esac
    done
}
seqno() {
    rlvm vgs --noheadings -o vg_seqno "$@" 2>/dev/null | tr -d ' '
}

step "A: a VG with a missing PV"
run rlvm pvcreate -y "$d1" "$d2"
run rlvm vgcreate vg0 "$d1" "$d2"
run rlvm lvcreate -L 8M -n kept vg0 "$d1"
run rlvm lvcreate -i 2 -I 64k -L 8M -n lost vg0
run rlvm vgchange -an vg0
run rlvm lvs -a -o lv_name,devices vg0
expect_eq "dm devices" "$(dm_devices)" ""
seq_a=$(seqno vg0)
run dd if=/dev/zero of="$d2" bs=4k count=1 conv=fsync
try rlvm vgchange -ay vg0
expect_eq "vgchange -ay with a PV missing: rc" "$RC" 5
case $OUT in
    *"Refusing activation of partial LV vg0/lost"*) ;;
    *) fail "no 'Refusing activation of partial LV vg0/lost' in: $OUT" ;;
esac
dmsetup ls
[ ! -e /dev/mapper/vg0-lost ] || fail "a device was made for the partial LV"
dm_devices | grep -q '^vg0-lost$' && fail "vg0-lost is in dmsetup ls"
no_suspended_or_tableless
# LVM2 activates the LVs that are complete; so must rlvm.
expect_eq "dm devices (the complete LV only)" "$(dm_devices)" "vg0-kept"
try rlvm lvchange -ay vg0/lost
expect_eq "lvchange -ay of the partial LV: rc" "$RC" 5
case $OUT in *"Refusing activation of partial LV vg0/lost"*) ;; *) fail "lvchange -ay: no refusal in: $OUT" ;; esac
expect_eq "dm devices" "$(dm_devices)" "vg0-kept"
run rlvm vgchange -an vg0
expect_eq "dm devices after -an" "$(dm_devices)" ""
expect_eq "vg_seqno of vg0" "$(seqno vg0)" "$seq_a"

step "B: a dm name taken in the middle of a snapshot stack"
run rlvm pvcreate -y "$d3"
run rlvm vgcreate vg1 "$d3"
run rlvm lvcreate -L 8M -n o vg1
run rlvm lvcreate -s -L 4M -n s vg1/o
expect_eq "vg1 devices" "$(dm_devices | tr '\n' ' ')" "vg1-o vg1-o-real vg1-s vg1-s-cow "
run rlvm vgchange -an vg1
run dmsetup create vg1-s-cow --table "0 8 zero"
before=$(dm_devices)
seq_b=$(seqno vg1)
try rlvm lvchange -ay vg1/o
expect_eq "lvchange -ay with vg1-s-cow taken: rc" "$RC" 5
dmsetup ls
expect_eq "dm devices after the failed activation" "$(dm_devices)" "$before"
no_suspended_or_tableless
expect_eq "table of the foreign vg1-s-cow" "$(dmsetup table vg1-s-cow | sed "s/ *$//")" "0 8 zero"
[ ! -L /dev/vg1/o ] && [ ! -L /dev/vg1/s ] || fail "links left: $(ls -l /dev/vg1)"
expect_eq "vg_seqno of vg1" "$(seqno vg1)" "$seq_b"
run dmsetup remove vg1-s-cow
run rlvm lvchange -ay vg1/o
expect_eq "vg1 devices once the name is free" "$(dm_devices | grep '^vg1-' | tr '\n' ' ')" "vg1-o vg1-o-real vg1-s vg1-s-cow "
run rlvm vgchange -an vg1

step "C: a table the kernel rejects (the PV's device shrank)"
# A loop device over a file in /tmp, seen through an lvm.conf that accepts loop devices.
mkdir -p "$SCRATCH/etc"
sed 's/"a|^\/dev\/vd|", /"a|^\/dev\/vd|", "a|^\/dev\/loop|", /' /etc/lvm/lvm.conf >"$SCRATCH/etc/lvm.conf"
grep -q 'a|^/dev/loop|' "$SCRATCH/etc/lvm.conf" || fail "could not widen the filter: $(grep filter /etc/lvm/lvm.conf)"
export LVM_SYSTEM_DIR="$SCRATCH/etc"
img=/tmp/pv.img
truncate -s 32M "$img"
loop=$(losetup -f)
run losetup "$loop" "$img"
run rlvm pvcreate -y "$loop"
run rlvm vgcreate vg2 "$loop"
run rlvm lvcreate -L 4M -n small vg2
run rlvm lvcreate -L 16M -n big vg2
run rlvm vgchange -an vg2
seq_c=$(seqno vg2)
run losetup -d "$loop"
truncate -s 12M "$img"
run losetup "$loop" "$img"
before=$(dm_devices)
try rlvm lvchange -ay vg2/big
expect_eq "lvchange -ay of an LV past the device's end: rc" "$RC" 5
dmesg | tail -n 3
expect_eq "dm devices after the rejected table" "$(dm_devices)" "$before"
no_suspended_or_tableless
[ ! -L /dev/vg2/big ] || fail "link left: $(ls -l /dev/vg2)"
expect_eq "vg_seqno of vg2" "$(seqno vg2)" "$seq_c"
run rlvm lvchange -ay vg2/small
expect_eq "table of vg2-small" "$(dmsetup table vg2-small | cut -d' ' -f1-3,5)" "0 8192 linear 2048"
run rlvm vgchange -an vg2
expect_eq "dm devices at the end" "$(dm_devices)" ""
run losetup -d "$loop"
step "failures leave nothing behind"
