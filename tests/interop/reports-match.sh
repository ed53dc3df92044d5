#!/usr/bin/env bash
# Differential: for the same VG (made by LVM2, then changed by rlvm), rlvm's
# report output is byte for byte LVM2's: default lvs -a/vgs/pvs, -o
# +fields, --units s, --nosuffix, --separator, JSON, and log/prefix.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}
lvmi pvcreate -q "$d0" "$d1" "$d2"
lvmi vgcreate -q --addtag site-a my-vg "$d0" "$d1" "$d2"
lvmi lvcreate -q -an -Zn -L 8M -n lv-1 my-vg
lvmi lvcreate -q -an -Zn -i 2 -I 64k -L 16M -n striped my-vg
lvmi lvcreate -q -an -Zn -L 4M -n cow1 my-vg
lvmi lvconvert -q -y -s -Zn my-vg/lv-1 my-vg/cow1

compare_all() {
    local c
    for c in "lvs -a" "vgs" "pvs" \
        "lvs -a -o +devices,lv_uuid,seg_count,lv_tags --units s" \
        "vgs -o +vg_uuid,vg_seqno,vg_extent_size,vg_tags --units b --nosuffix" \
        "pvs -o +pv_uuid,pe_start,pv_mda_count --separator :" \
        "lvs -a --reportformat json" "vgs --reportformat json" \
        "pvs --config log{prefix=\"\"}" "lvs --noheadings -o lv_name,lv_attr,origin" \
        "lvdisplay -a" "vgdisplay" "pvdisplay" "lvs -O -lv_name" "pvscan"; do
        # shellcheck disable=SC2086
        expect_eq "$1: $c" "$(lvmi $c 2>/dev/null)" "$(rl $c 2>/dev/null)"
    done
}
compare_all "LVM2-made VG"
rl lvcreate -an -Zn -L 12M -n from-rlvm my-vg
rl lvchange --addtag t1 my-vg/striped
rl lvrename my-vg lv-1 origin-1
compare_all "after rlvm's changes"
# Errors too: same lines and the same exit code.
both() {
    local rc=0 out
    out=$("$@" 2>&1) || rc=$?
    printf '%s\nrc=%s\n' "$out" "$rc" | grep -v "Activation disabled"
}
for c in "lvs nosuchvg" "vgs nosuchvg" "lvs nosuchvg/x" "pvs /dev/nosuch"; do
    # shellcheck disable=SC2086
    expect_eq "error: $c" "$(both lvmi $c)" \
        "$(both rl $c)"
done
echo "PASS reports-match"
