#!/usr/bin/env bash
# pvcreate never destroys another format silently: with an ext4 magic on
# the device it asks, refusing (no answer) changes nothing and fails with
# exit 5; -y wipes the magic and creates a PV LVM2 accepts.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M
d0=${LVMI_DEVS[0]}
printf '\123\357' | dd of="$d0" bs=1 seek=1080 conv=notrunc status=none
sync
before=$(md5sum < "$d0")
expect_rc 5 rl pvcreate "$d0" </dev/null
expect_eq "device unchanged after refusal" "$before" "$(md5sum < "$d0")"
rl pvcreate -y "$d0" | tee "$LVMI_DIR/out"
grep -q "Wiping ext4 signature" "$LVMI_DIR/out" || fail "no wipe message"
expect_eq "LVM2 sees the PV" "1" "$(lvmi pvs --noheadings -o pv_name | wc -l)"
echo "PASS signatures"
