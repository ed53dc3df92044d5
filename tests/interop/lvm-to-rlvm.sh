#!/usr/bin/env bash
# LVM2 creates a VG; rlvm reads it, changes it; LVM2's vgck and lvs accept
# the result and show the change.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}

lvmi pvcreate -q "$d0" "$d1" "$d2"
lvmi vgcreate -q --addtag site-a vg0 "$d0" "$d1" "$d2"
lvmi lvcreate -q -an -Zn -L 8M -n lv1 vg0
lvmi lvcreate -q -an -Zn -i 2 -I 64k -L 16M -n striped vg0
lvmi lvcreate -q -an -Zn -L 4M -n cow1 vg0
lvmi lvconvert -q -y -s -Zn vg0/lv1 vg0/cow1

# rlvm reads what LVM2 wrote.
expect_eq "rlvm sees the VG" "vg0 3 3 1" \
    "$(rl_field vgs -o vg_name,pv_count,lv_count,snap_count vg0 | tr -s ' ')"
expect_eq "rlvm lv list" "cow1 lv1 striped" \
    "$(rl_field lvs -o lv_name vg0 | sort | xargs)"
expect_eq "rlvm snapshot origin" "lv1" "$(rl_field lvs -o origin vg0/cow1)"
expect_eq "rlvm stripes" "2" "$(rl_field lvs -o stripes vg0/striped)"
expect_eq "same VG uuid" "$(lvm_field vgs -o vg_uuid vg0)" "$(rl_field vgs -o vg_uuid vg0)"
expect_eq "same LV uuid" "$(lvm_field lvs -o lv_uuid vg0/lv1)" "$(rl_field lvs -o lv_uuid vg0/lv1)"

# rlvm changes it.
rl lvcreate -an -Zn -L 12M -n fromrlvm vg0
rl lvrename vg0 lv1 origin1
rl lvchange --addtag rlvm-was-here vg0/striped
rl vgchange --addtag site-b vg0
rl lvremove -y vg0/cow1

# LVM2 accepts the result and shows the change.
expect_rc 0 lvmi vgck vg0
expect_eq "LVM2 sees rlvm's LVs" "fromrlvm origin1 striped" \
    "$(lvm_field lvs -o lv_name vg0 | sort | xargs)"
expect_eq "LVM2 sees the LV tag" "rlvm-was-here" "$(lvm_field lvs -o lv_tags vg0/striped)"
expect_eq "LVM2 sees the VG tags" "site-a,site-b" "$(lvm_field vgs -o vg_tags vg0)"
expect_eq "LVM2 size of rlvm LV" "12.00m" "$(lvm_field lvs -o lv_size vg0/fromrlvm)"
expect_eq "snapshot gone for LVM2" "0" "$(lvm_field vgs -o snap_count vg0)"
# LVM2 can keep changing the VG rlvm wrote.
lvmi lvcreate -q -an -Zn -L 4M -n afterlvm vg0
expect_eq "rlvm reads LVM2's next change" "afterlvm" "$(rl_field lvs -o lv_name vg0/afterlvm)"
echo "PASS lvm-to-rlvm"
