#!/bin/sh
# vm: disks=2 size=64M timeout=240
# LVs with a persistent minor (LV status FIXED_MINOR, `major`/`minor` keys), as LVM2 keeps
# them: `lvcreate -My --minor N` puts the LV's device on minor N (DM_PERSISTENT_DEV), lv_attr
# shows 'm', the number survives deactivation and reactivation by rlvm and by LVM2 alike, an
# LV LVM2 made with -My gets its minor from rlvm, `lvchange -y -My --minor` moves an active
# LV (deactivate, commit, activate), `-Mn` drops it, and a minor already in use makes
# activation fail (exit 5) without leaving a device behind or the new LV in the metadata.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
dm_major=$(awk '$2 == "device-mapper" {print $1}' /proc/devices)

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
# minor NAME: the kernel's minor of dm device NAME.
minor() {
    dmsetup info -c --noheadings -o minor "$1" | tr -d ' '
}
field() { # field TOOL LV FIELD
    "$1" lvs --noheadings -o "$3" "$2" | tr -d ' '
}
no_suspended() {
    for n in $(dm_devices); do
        case $(dmsetup info "$n") in *SUSPENDED*) fail "$n is left suspended" ;; esac
    done
}

step "rlvm lvcreate -My --minor 200"
run rlvm pvcreate -y "$d1" "$d2"
run rlvm vgcreate vg0 "$d1" "$d2"
run rlvm lvcreate -My --minor 200 -L 8M -n fixed vg0
run dmsetup info -c -o name,major,minor vg0-fixed
expect_eq "kernel major of vg0-fixed" "$(dmsetup info -c --noheadings -o major vg0-fixed | tr -d ' ')" "$dm_major"
expect_eq "kernel minor of vg0-fixed" "$(minor vg0-fixed)" 200
run rlvm lvs -o lv_name,lv_attr,lv_major,lv_minor,lv_kernel_major,lv_kernel_minor vg0
expect_eq "rlvm lv_attr" "$(field rlvm vg0/fixed lv_attr)" "-wima-----"
expect_eq "rlvm lv_attr" "$(field rlvm vg0/fixed lv_attr | cut -c4)" "m"
expect_eq "rlvm lv_kernel_minor" "$(field rlvm vg0/fixed lv_kernel_minor)" 200
expect_eq "rlvm lv_minor" "$(field rlvm vg0/fixed lv_minor)" 200
# LVM2 reads the metadata rlvm wrote the same way.
run lvm lvs -o lv_name,lv_attr,lv_major,lv_minor,lv_kernel_minor vg0
expect_eq "lvm lv_attr" "$(field lvm vg0/fixed lv_attr)" "$(field rlvm vg0/fixed lv_attr)"
expect_eq "lvm lv_major" "$(field lvm vg0/fixed lv_major)" "$dm_major"
expect_eq "lvm lv_minor" "$(field lvm vg0/fixed lv_minor)" 200

step "--major is ignored with LVM2's warning; -My needs --minor"
try rlvm lvcreate -My --minor 202 -j 7 -L 8M -n warned vg0
expect_eq "lvcreate -j 7: rc" "$RC" 0
case $OUT in
    *"WARNING: WARNING"*) fail "doubled WARNING prefix: $OUT" ;;
    *"  WARNING: Ignoring supplied major number 7 - kernel assigns major numbers dynamically. Using major number $dm_major instead."*) ;;
    *) fail "no major warning in: $OUT" ;;
esac
expect_eq "minor of vg0-warned" "$(minor vg0-warned)" 202
try rlvm lvcreate -My -L 8M -n nominor vg0
expect_eq "lvcreate -My without --minor: rc" "$RC" 3
try rlvm lvcreate -Mn --minor 5 -L 8M -n both vg0
expect_eq "lvcreate -Mn --minor: rc" "$RC" 3
try rlvm lvcreate -My --minor 1048576 -L 8M -n toobig vg0
expect_eq "lvcreate --minor 1048576: rc" "$RC" 3
case $OUT in *"Minor number 1048576 outside range 0-1048575."*) ;; *) fail "no range error in: $OUT" ;; esac
run rlvm lvremove -f vg0/warned

step "rlvm vgchange -an / -ay keeps minor 200"
run rlvm vgchange -an vg0
expect_eq "dm devices" "$(dm_devices)" ""
run rlvm vgchange -ay vg0
expect_eq "minor after rlvm vgchange -ay" "$(minor vg0-fixed)" 200

step "LVM2 activates it on 200 too"
run lvm vgchange -an vg0
expect_eq "dm devices" "$(dm_devices)" ""
run lvm vgchange -ay vg0
expect_eq "minor after lvm vgchange -ay" "$(minor vg0-fixed)" 200

step "an LV made by lvm lvcreate -My --minor 201 gets 201 from rlvm"
run lvm lvcreate -My --minor 201 -L 8M -n lvmfixed vg0
expect_eq "minor from lvm" "$(minor vg0-lvmfixed)" 201
run lvm vgchange -an vg0
run rlvm vgchange -ay vg0
expect_eq "minor of vg0-lvmfixed from rlvm" "$(minor vg0-lvmfixed)" 201
expect_eq "minor of vg0-fixed from rlvm" "$(minor vg0-fixed)" 200
expect_eq "rlvm lv_attr of lvmfixed" "$(field rlvm vg0/lvmfixed lv_attr)" "-wima-----"

step "lvchange -y -My --minor 210 moves the active LV; -Mn drops the fixed minor"
echo data-210 | dd of=/dev/vg0/fixed bs=512 count=1 conv=sync,fsync 2>/dev/null
run rlvm lvchange -y -My --minor 210 vg0/fixed
expect_eq "minor after lvchange" "$(minor vg0-fixed)" 210
expect_eq "lv_minor after lvchange" "$(field lvm vg0/fixed lv_minor)" 210
[ "$(dd if=/dev/vg0/fixed bs=8 count=1 2>/dev/null)" = "data-210" ] || fail "data lost"
try rlvm lvchange -My --minor 211 vg0/fixed </dev/null
expect_eq "lvchange -My of an active LV, answer no: rc" "$RC" 5
expect_eq "minor unchanged" "$(minor vg0-fixed)" 210
run rlvm lvchange -Mn vg0/fixed
expect_eq "lvm lv_attr after -Mn" "$(field lvm vg0/fixed lv_attr)" "-wi-a-----"
expect_eq "lvm lv_minor after -Mn" "$(field lvm vg0/fixed lv_minor)" -1
try rlvm lvchange -Mn vg0/fixed
expect_eq "lvchange -Mn twice: rc" "$RC" 5
case $OUT in
    *"Minor number is already not persistent for vg0/fixed."*) ;;
    *) fail "no 'already not persistent' in: $OUT" ;;
esac

step "a minor in use: activation fails with exit 5, nothing left behind"
run dmsetup create blocker --major "$dm_major" --minor 220 --table "0 8 zero"
expect_eq "blocker minor" "$(minor blocker)" 220
run rlvm lvchange -an vg0/lvmfixed
run rlvm lvchange -My --minor 220 vg0/lvmfixed
try rlvm lvchange -ay vg0/lvmfixed
expect_eq "lvchange -ay on a taken minor: rc" "$RC" 5
dm_devices | grep -q '^vg0-lvmfixed$' && fail "vg0-lvmfixed was left behind"
[ ! -e /dev/mapper/vg0-lvmfixed ] || fail "/dev/mapper/vg0-lvmfixed was left behind"
no_suspended
try rlvm lvcreate -My --minor 220 -L 8M -n clash vg0
expect_eq "lvcreate on a taken minor: rc" "$RC" 5
dm_devices | grep -q '^vg0-clash$' && fail "vg0-clash was left behind"
rlvm lvs vg0/clash >/dev/null 2>&1 && fail "vg0/clash is in the metadata"
no_suspended
run dmsetup remove blocker
run rlvm lvchange -ay vg0/lvmfixed
expect_eq "minor once free" "$(minor vg0-lvmfixed)" 220
run lvm vgchange -an vg0
expect_eq "dm devices at the end" "$(dm_devices)" ""
step "ok"
