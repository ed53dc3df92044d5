#!/usr/bin/env bash
# rlvm creates PVs, a VG and LVs; LVM2 reads them, changes them, and rlvm
# reads LVM2's change back.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}

rl pvcreate "$d0" "$d1"
expect_eq "LVM2 sees rlvm's PVs" "2" "$(lvmi pvs --noheadings -o pv_name | wc -l)"
rl vgcreate -s 4M my-vg "$d0" "$d1"
rl lvcreate -an -Zn -L 20M -n lv-1 my-vg
rl lvcreate -an -Zn -l 100%PVS -n rest my-vg "$d1"

expect_rc 0 lvmi vgck my-vg
expect_eq "LVM2 VG summary" "my-vg 2 2 0 wz--n-" \
    "$(lvm_field vgs -o vg_name,pv_count,lv_count,snap_count,vg_attr my-vg | tr -s ' ')"
expect_eq "LVM2 LV sizes" "lv-1 20.00m rest 60.00m" \
    "$(lvm_field lvs -o lv_name,lv_size my-vg | tr -s ' ' | sort | xargs)"
expect_eq "LVM2 free space" "10 " "$(lvm_field vgs -o vg_free_count my-vg) "
expect_eq "same uuids" "$(rl_field lvs -o lv_uuid my-vg/lv-1)" "$(lvm_field lvs -o lv_uuid my-vg/lv-1)"

# LVM2 changes it; rlvm reads the change back.
lvmi lvremove -q -y my-vg/rest
lvmi lvcreate -q -an -Zn -L 8M -n fromlvm my-vg
lvmi lvchange -q --addtag lvm-tag my-vg/lv-1
expect_eq "rlvm reads LVM2's LVs" "fromlvm lv-1" "$(rl_field lvs -o lv_name my-vg | sort | xargs)"
expect_eq "rlvm reads LVM2's tag" "lvm-tag" "$(rl_field lvs -o lv_tags my-vg/lv-1)"
expect_eq "rlvm reads LVM2's seqno" "$(lvm_field vgs -o vg_seqno my-vg)" "$(rl_field vgs -o vg_seqno my-vg)"

# Removal by rlvm leaves PVs LVM2 treats as orphans.
rl vgremove -f my-vg
expect_eq "LVM2 sees no VG" "" "$(lvmi vgs --noheadings 2>/dev/null | xargs)"
rl pvremove "$d0" "$d1"
expect_eq "LVM2 sees no PVs" "0" "$(lvmi pvs --noheadings 2>/dev/null | wc -l)"
echo "PASS rlvm-to-lvm"
