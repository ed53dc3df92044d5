#!/usr/bin/env bash
# One damaged or outdated metadata copy among good ones: rlvm reads the VG
# from the good copy, warns, and its next commit (or vgck --updatemetadata)
# repairs the bad one so that LVM2 is happy again.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
lvmi pvcreate -q "$d0" "$d1"
lvmi vgcreate -q vg0 "$d0" "$d1"
lvmi lvcreate -q -an -Zn -L 8M -n lv1 vg0
# Corrupt the committed text on PV 1 (first text copy at 4608; flip bytes well
# inside the newest copy found through the mda header's slot 0).
off=$(od -An -t u8 -j $((4096 + 0x28)) -N 8 "$d1" | tr -d ' ')
dd if=/dev/urandom of="$d1" bs=1 seek=$((4096 + off + 20)) count=8 conv=notrunc status=none
sync
expect_eq "rlvm still reads the VG" "lv1" "$(rl_field lvs -o lv_name vg0 2>/dev/null)"
expect_rc 5 rl vgck vg0
rl vgck --updatemetadata vg0
expect_rc 0 rl vgck vg0
expect_rc 0 lvmi vgck vg0
# Outdated copy: make PV 1 lag behind by restoring its old header? Simpler:
# damage the mda header checksum itself, then commit through an ordinary change.
dd if=/dev/zero of="$d1" bs=1 seek=4096 count=4 conv=notrunc status=none
sync
rl lvcreate -an -Zn -L 4M -n lv2 vg0 2>&1 | tee "$LVMI_DIR/out"
grep -q "Repairing metadata area" "$LVMI_DIR/out" || fail "no repair message"
expect_rc 0 lvmi vgck vg0
expect_eq "LVM2 sees both LVs" "lv1 lv2" "$(lvm_field lvs -o lv_name vg0 | sort | xargs)"
# Nothing is written on bad input.
before=$(md5sum < "$d0")
expect_rc 3 rl lvcreate -an -Zn -L 4M -n 'bad/name' vg0
expect_rc 3 rl lvcreate -an -Zn -L 4X -n ok vg0
expect_rc 5 rl lvcreate -an -Zn -L 4G -n toobig vg0
expect_rc 5 rl lvcreate -an -Zn -L 4M -n lv1 vg0
expect_rc 5 rl lvremove -y vg0/nosuch
expect_eq "device unchanged by failed commands" "$before" "$(md5sum < "$d0")"
echo "PASS damaged"
