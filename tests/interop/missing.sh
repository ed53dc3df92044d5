#!/usr/bin/env bash
# A VG with a missing PV is still listed (with LVM2's warning) but never
# changed; test mode (-t) changes nothing either.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
rl vgcreate vg0 "$d0" "$d1"
rl lvcreate -an -Zn -L 8M -n a vg0 "$d0"
rl lvcreate -an -Zn -L 8M -n b vg0 "$d1"

before0=$(md5sum < "$d0")
expect_rc 0 rl lvcreate -t -an -Zn -L 8M -n c vg0
expect_rc 0 rl lvremove -t -y vg0/a
expect_rc 0 rl vgchange -t --addtag x vg0
expect_eq "test mode wrote nothing" "$before0" "$(md5sum < "$d0")"

# Lose PV 1: wipe its label sector.
dd if=/dev/zero of="$d1" bs=512 seek=1 count=1 conv=notrunc status=none
sync
rl lvs vg0 >"$LVMI_DIR/out" 2>&1 || true
grep -q "Couldn't find device with uuid" "$LVMI_DIR/out" || fail "no missing-PV warning: $(cat "$LVMI_DIR/out")"
expect_eq "still lists both LVs" "a b" "$(rl_field lvs -o lv_name vg0 2>/dev/null | sort | xargs)"
before0=$(md5sum < "$d0")
expect_rc 5 rl lvcreate -an -Zn -L 4M -n c vg0
expect_rc 5 rl lvremove -y vg0/a
expect_rc 5 rl lvrename vg0 a z
expect_eq "nothing written to the remaining PV" "$before0" "$(md5sum < "$d0")"
echo "PASS missing"
