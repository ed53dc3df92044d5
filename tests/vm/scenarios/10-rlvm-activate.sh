#!/bin/sh
# vm: disks=3 size=64M timeout=180
# rlvm activation against the real kernel: lvcreate makes /dev/mapper/vg0-lin and the
# /dev/vg0/lin link with LVM2's linear and striped tables, zeroes the LV's first 4 KiB, keeps
# data across vgchange -an/-ay, honours lvchange -p r|rw and --refresh, refuses to remove or
# deactivate an LV that is open (exit 5, "Logical volume vg0/lin in use."), and lvremove of
# an active LV takes its device away.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
mm1=$(cat "/sys/class/block/${d1#/dev/}/dev")
mm2=$(cat "/sys/class/block/${d2#/dev/}/dev")

# try CMD...: run it, keep its status in $RC and its output (stdout+stderr) in $OUT.
try() {
    echo "+ $*"
    RC=0
    OUT=$("$@" 2>&1) || RC=$?
    [ -z "$OUT" ] || echo "$OUT"
    echo "  (rc=$RC)"
}
# vg0_devices: the names of vg0's dm devices, one a line, sorted ("" when none).
vg0_devices() {
    dmsetup ls | awk '$1 ~ /^vg0-/ {print $1}' | sort
}
# lv_field LV FIELD: one rlvm lvs field of vg0/LV, blanks trimmed.
lv_field() {
    rlvm lvs --noheadings -o "$2" "vg0/$1" | tr -d ' '
}

step "pvcreate/vgcreate vg0 on $d1 ($mm1) $d2 ($mm2)"
run rlvm pvcreate -y "$d1" "$d2"
run rlvm vgcreate vg0 "$d1" "$d2"
expect_eq "dm devices before any lvcreate" "$(vg0_devices)" ""

step "lvcreate -L 16M -n lin vg0: device, link and linear table"
run rlvm lvcreate -L 16M -n lin vg0
[ -b /dev/mapper/vg0-lin ] || fail "/dev/mapper/vg0-lin is not a block device"
link=$(readlink /dev/vg0/lin) || fail "/dev/vg0/lin is not a symlink"
case $link in
    /dev/mapper/vg0-lin|../mapper/vg0-lin) ;;
    *) fail "/dev/vg0/lin links to '$link', want /dev/mapper/vg0-lin" ;;
esac
expect_eq "table of vg0-lin" "$(dmsetup table vg0-lin)" "0 32768 linear $mm1 2048"

step "a new LV's first 4 KiB are zeroed: junk, lvremove, lvcreate at the same extents"
dd if=/dev/urandom of="$SCRATCH/junk" bs=64k count=1 2>/dev/null
run dd if="$SCRATCH/junk" of=/dev/vg0/lin bs=64k count=1 oflag=direct conv=notrunc
expect_eq "junk written" "$(dd if=/dev/vg0/lin bs=64k count=1 2>/dev/null | md5sum | cut -d' ' -f1)" \
    "$(sum "$SCRATCH/junk")"
run rlvm lvremove -y vg0/lin
[ ! -e /dev/mapper/vg0-lin ] || fail "/dev/mapper/vg0-lin still there after lvremove"
[ ! -e /dev/vg0/lin ] && [ ! -L /dev/vg0/lin ] || fail "/dev/vg0/lin still there after lvremove"
run rlvm lvcreate -L 16M -n lin vg0
expect_eq "table of the new vg0-lin" "$(dmsetup table vg0-lin)" "0 32768 linear $mm1 2048"
dd if=/dev/zero of="$SCRATCH/zero4k" bs=4k count=1 2>/dev/null
expect_eq "first 4 KiB of the new LV" \
    "$(dd if=/dev/vg0/lin bs=4k count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)" \
    "$(sum "$SCRATCH/zero4k")"
dd if=/dev/mapper/vg0-lin bs=4k skip=1 count=1 iflag=direct 2>/dev/null | cmp -s - "$SCRATCH/zero4k" &&
    echo "(the 4 KiB after are zero too: allowed, LVM2 only promises the first 4 KiB)"

step "write a 16 MiB pattern and read it back"
dd if=/dev/urandom of="$SCRATCH/pattern" bs=1M count=16 2>/dev/null
run dd if="$SCRATCH/pattern" of=/dev/vg0/lin bs=1M oflag=direct
run cmp /dev/vg0/lin "$SCRATCH/pattern"

step "striped LV: -i 2 -I 64k -L 16M -n st"
run rlvm lvcreate -i 2 -I 64k -L 16M -n st vg0
[ -b /dev/mapper/vg0-st ] && [ -L /dev/vg0/st ] || fail "vg0-st device or /dev/vg0/st link missing"
# What LVM2 2.03.16 makes of the same commands: stripe 1 after lin on the first PV, stripe 2 at
# the start of the second.
expect_eq "table of vg0-st" "$(dmsetup table vg0-st)" "0 32768 striped 2 128 $mm1 34816 $mm2 2048"
dd if=/dev/urandom of="$SCRATCH/pattern-st" bs=1M count=16 2>/dev/null
run dd if="$SCRATCH/pattern-st" of=/dev/vg0/st bs=1M oflag=direct
run cmp /dev/vg0/st "$SCRATCH/pattern-st"

step "lvs shows both active"
run rlvm lvs -o lv_name,lv_attr,lv_active vg0
expect_eq "lv_attr of lin" "$(lv_field lin lv_attr)" "-wi-a-----"
expect_eq "lv_attr of st" "$(lv_field st lv_attr)" "-wi-a-----"
expect_eq "lv_active of lin" "$(lv_field lin lv_active)" "active"

step "vgchange -an vg0 removes every vg0 device and link"
run rlvm vgchange -an vg0
dmsetup ls
expect_eq "vg0 dm devices after vgchange -an" "$(vg0_devices)" ""
for n in lin st; do
    [ ! -e "/dev/mapper/vg0-$n" ] || fail "/dev/mapper/vg0-$n left after vgchange -an"
    [ ! -L "/dev/vg0/$n" ] || fail "/dev/vg0/$n link left after vgchange -an"
done
expect_eq "lv_attr of lin when inactive" "$(lv_field lin lv_attr)" "-wi-------"

step "vgchange -ay vg0 brings them back with the data intact"
run rlvm vgchange -ay vg0
expect_eq "vg0 dm devices after vgchange -ay" "$(vg0_devices | tr '\n' ' ')" "vg0-lin vg0-st "
expect_eq "table of vg0-lin" "$(dmsetup table vg0-lin)" "0 32768 linear $mm1 2048"
expect_eq "table of vg0-st" "$(dmsetup table vg0-st)" "0 32768 striped 2 128 $mm1 34816 $mm2 2048"
run cmp /dev/vg0/lin "$SCRATCH/pattern"
run cmp /dev/vg0/st "$SCRATCH/pattern-st"
expect_eq "lv_attr of lin" "$(lv_field lin lv_attr)" "-wi-a-----"

step "lvchange -p r: writes fail, the kernel device is read-only"
run rlvm lvchange -p r vg0/lin
dmsetup info vg0-lin
dmsetup info vg0-lin | grep -q '^State: *ACTIVE (READ-ONLY)' || fail "vg0-lin is not read-only: $(dmsetup info vg0-lin)"
expect_eq "lv_attr of lin, read-only" "$(lv_field lin lv_attr)" "-ri-a-----"
if dd if="$SCRATCH/junk" of=/dev/vg0/lin bs=4k count=1 oflag=direct conv=notrunc 2>"$SCRATCH/dd.err"; then
    fail "a write to the read-only vg0/lin succeeded"
fi
cat "$SCRATCH/dd.err"
run cmp /dev/vg0/lin "$SCRATCH/pattern"

step "lvchange -p rw: writable again"
run rlvm lvchange -p rw vg0/lin
dmsetup info vg0-lin | grep -q '^State: *ACTIVE$' || fail "vg0-lin not read-write: $(dmsetup info vg0-lin)"
expect_eq "lv_attr of lin, read-write" "$(lv_field lin lv_attr)" "-wi-a-----"
run dd if="$SCRATCH/pattern" of=/dev/vg0/lin bs=4k count=1 oflag=direct conv=notrunc

step "lvchange --refresh keeps the same table"
before=$(dmsetup table vg0-lin)
run rlvm lvchange --refresh vg0/lin
expect_eq "table of vg0-lin after --refresh" "$(dmsetup table vg0-lin)" "$before"
dmsetup info vg0-lin | grep -q '^State: *ACTIVE$' || fail "vg0-lin not active after --refresh: $(dmsetup info vg0-lin)"
run cmp /dev/vg0/lin "$SCRATCH/pattern"

step "an open LV can be neither removed nor deactivated"
exec 3</dev/vg0/lin
try rlvm lvremove -y vg0/lin
expect_eq "lvremove of an open LV: rc" "$RC" 5
case $OUT in *"Logical volume vg0/lin in use."*) ;; *) fail "lvremove of an open LV: no 'Logical volume vg0/lin in use.' in: $OUT" ;; esac
try rlvm lvchange -an vg0/lin
expect_eq "lvchange -an of an open LV: rc" "$RC" 5
case $OUT in *"Logical volume vg0/lin in use."*) ;; *) fail "lvchange -an of an open LV: no 'Logical volume vg0/lin in use.' in: $OUT" ;; esac
exec 3<&-
[ -b /dev/mapper/vg0-lin ] && [ -L /dev/vg0/lin ] || fail "vg0/lin lost its device or link while open"
expect_eq "table of vg0-lin after the refusals" "$(dmsetup table vg0-lin)" "0 32768 linear $mm1 2048"
rlvm lvs vg0/lin >/dev/null || fail "vg0/lin gone from the metadata after a refused lvremove"
expect_eq "lv_attr of lin after the refusals" "$(lv_field lin lv_attr)" "-wi-a-----"

step "lvchange -an, then -ay, of one LV"
run rlvm lvchange -an vg0/lin
[ ! -e /dev/mapper/vg0-lin ] || fail "/dev/mapper/vg0-lin left after lvchange -an"
[ -b /dev/mapper/vg0-st ] || fail "lvchange -an vg0/lin took vg0-st away"
run rlvm lvchange -ay vg0/lin
run cmp /dev/vg0/lin "$SCRATCH/pattern"

step "lvremove -y of active LVs removes their devices"
run rlvm lvremove -y vg0/lin
[ ! -e /dev/mapper/vg0-lin ] && [ ! -L /dev/vg0/lin ] || fail "vg0-lin device or link left after lvremove"
expect_eq "vg0 dm devices after lvremove lin" "$(vg0_devices)" "vg0-st"
run rlvm lvremove -y vg0/st
expect_eq "vg0 dm devices after lvremove st" "$(vg0_devices)" ""
[ ! -e /dev/vg0 ] || [ -z "$(ls /dev/vg0)" ] || fail "/dev/vg0 still has: $(ls /dev/vg0)"
run rlvm vgremove vg0
step "rlvm activation OK"
