#!/usr/bin/env bash
# Differential: `lvm fullreport` (per VG: PV, LV, PV segment and LV segment
# sections) printed by rlvm as by LVM2; pvchange -u on a PV whose label says
# a VG uses it while that VG's metadata is not found is refused by both in
# the same words and exit code, and the PV keeps its UUID.
. "$(dirname "$0")/lib.sh"
lvmi_setup 22M 22M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
lvmi pvcreate -q --metadatacopies 0 "$d0" >/dev/null
lvmi vgcreate -q vg0 "$d0" "$d1" >/dev/null
lvmi lvcreate -q -an -Zn -l3 -n a vg0 2>/dev/null
lvmi lvcreate -q -an -Zn -i2 -l2 -n b vg0 2>/dev/null
# PV and PV segment sections with LVM2's full default columns; the VG, LV
# and segment sections (whose full columns include lock, cache, VDO... fields
# rlvm does not report) with columns chosen per section by --configreport.
cols=(--configreport vg -o vg_name,vg_uuid,vg_attr,vg_size,vg_free,pv_count,lv_count,seqno
    --configreport lv -o lv_name,lv_uuid,lv_attr,lv_size,seg_count,lv_path,lv_dm_path
    --configreport seg -o segtype,stripes,stripe_size,seg_start,seg_size,devices,lv_uuid)
for args in "" "vg0" "--noheadings --separator :"; do
    # shellcheck disable=SC2086
    want=$(lvmi fullreport "${cols[@]}" $args 2>/dev/null)
    # shellcheck disable=SC2086
    got=$(rl fullreport "${cols[@]}" $args 2>/dev/null)
    if [ "$want" != "$got" ]; then
        diff -u <(echo "$want") <(echo "$got") >&2 || true
        fail "rlvm's fullreport $args differs from LVM2's (diff above: - LVM2, + rlvm)"
    fi
    echo "ok: fullreport $args as LVM2's"
done
expect_rc 5 rl fullreport nosuchvg

# d1 (the only metadata) hidden: d0 is an orphan marked used.
only0=(--config "devices { filter = [ \"a|^$d0\$|\", \"r|.*|\" ] global_filter = [ \"a|^$d0\$|\", \"r|.*|\" ] }")
uuid=$(lvm_field pvs -o pv_uuid "$d0")
msgs() { grep -E "used by a VG|Can't change|not changed" || true; }
rc_l=0; out_l=$(lvmi pvchange -u "${only0[@]}" "$d0" 2>&1) || rc_l=$?
rc_r=0; out_r=$(rl pvchange -u "${only0[@]}" "$d0" 2>&1) || rc_r=$?
expect_eq "pvchange -u on a used orphan: exit code" "$rc_l" "$rc_r"
expect_eq "pvchange -u on a used orphan: exit 5" "5" "$rc_r"
expect_eq "pvchange -u on a used orphan: messages" "$(echo "$out_l" | msgs)" "$(echo "$out_r" | msgs)"
echo "$out_r" | grep -q "PV $d0 is used by a VG but its metadata is missing." ||
    fail "rlvm's pvchange -u did not say why: $out_r"
expect_eq "the PV keeps its UUID" "$uuid" "$(lvm_field pvs -o pv_uuid "$d0")"
lvmi vgremove -ff vg0 >/dev/null 2>&1
echo "PASS fullreport-used-pv"
