#!/usr/bin/env bash
# Differential: vgextend / vgreduce run by LVM2 and by rlvm on the same
# devices print the same lines and exit with the same codes (orphans and
# plain devices added, PVs in use refused, -a, --removemissing on a complete
# VG), and each tool reads the other's result: same PVs, VGs and LVs, vgck
# clean, removed PVs orphans again.
. "$(dirname "$0")/lib.sh"
lvmi_setup 22M 22M 22M 22M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]} d3=${LVMI_DEVS[3]}
report="pvs -o pv_name,vg_name,pv_attr,pv_pe_count,pv_pe_alloc_count"
run_seq() {
    local tool=$1 c rc out
    for c in "pvcreate $d0 $d1" "vgcreate vg0 $d0" "vgextend vg0 $d1" "vgextend vg0 $d1" \
        "vgextend -y vg0 $d2 $d3" "vgextend vg0" "vgextend vg0 /dev/nonexist" \
        "lvcreate -an -Zn -l 2 -n a vg0 $d1" "vgreduce vg0 $d1" "vgreduce vg0 $d2" \
        "vgreduce vg0 $d2" "vgreduce vg0" "vgreduce vg0 /dev/nonexist" "vgreduce vg0 $d2 -a" "pvchange --addtag t $d2 $d3" "vgreduce vg0 @t" "vgextend vg0 $d2 $d3" "vgreduce --removemissing vg0 $d2" "$report" \
        "vgreduce -a vg0" "vgreduce vg0 $d1" "vgreduce --removemissing vg0" "$report" \
        "vgextend vg0 $d0 $d2" "vgs -o vg_name,pv_count,lv_count,vg_extent_count,vg_free_count vg0"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1 </dev/null) || rc=$?
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc" | grep -v "Activation disabled"
    done
}
cleanup() {
    "$1" vgremove -f vg0 >/dev/null 2>&1 || true
    "$1" pvremove -y "$d0" "$d1" "$d2" "$d3" >/dev/null 2>&1 || true
    for d in "$d0" "$d1" "$d2" "$d3"; do dd if=/dev/zero of="$d" bs=64k count=16 conv=fsync status=none; done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
lvm_report=$(lvmi $report 2>&1 | lvmi_placeholders)
cleanup lvmi
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u <(lvmi_placeholders <"$LVMI_DIR/lvm.out") <(lvmi_placeholders <"$LVMI_DIR/rlvm.out"); then
    fail "rlvm's vgextend/vgreduce differ from LVM2's (diff above: - LVM2, + rlvm)"
fi
expect_eq "LVM2 reads rlvm's PVs" "$lvm_report" "$(lvmi $report 2>&1 | lvmi_placeholders)"
expect_rc 0 lvmi vgck vg0
# rlvm reads what LVM2's vgreduce left: d3 is an orphan it can take.
lvmi vgreduce vg0 "$d2" >/dev/null 2>&1
expect_rc 0 rl vgextend vg0 "$d2"
expect_rc 0 lvmi vgck vg0
cleanup rl
echo "PASS vgextend"
