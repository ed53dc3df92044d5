#!/usr/bin/env bash
# Differential: vgsplit run by LVM2 and by rlvm on the same devices prints
# the same lines and exits with the same codes (usage errors, PVs not in the
# VG, an LV across both sides, new and existing destinations, -n LV, a
# snapshot travelling with its origin), and each tool reads the other's
# result: same VGs, PVs and LVs, vgck clean. Then a split cut after its
# first commit (the source's PV read-only): LVM2 reads both VGs whole.
. "$(dirname "$0")/lib.sh"
lvmi_setup 22M 22M 22M 22M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]} d3=${LVMI_DEVS[3]}
vgrep="vgs -o vg_name,pv_count,lv_count,snap_count,vg_attr,max_lv,max_pv,vg_mda_copies"
lvrep="lvs -a -o vg_name,lv_name,lv_attr,origin,devices"
pvrep="pvs -o pv_name,vg_name,pv_pe_alloc_count"
run_seq() {
    local tool=$1 c rc out
    for c in "pvcreate $d0 $d1 $d2 $d3" "vgcreate vg0 $d0 $d1 $d2" \
        "lvcreate -an -Zn -l 2 -n a vg0 $d0" "lvcreate -an -Zn -l 2 -n b vg0 $d1" \
        "lvcreate -an -Zn -l 2 -n s vg0 $d1" "lvconvert -y -s -Zn vg0/b vg0/s" \
        "lvcreate -an -Zn -i 2 -I 64k -l 2 -n st vg0 $d0 $d2" \
        "vgsplit vg0 vg0 $d1" "vgsplit vg0 vg1" "vgsplit -n a vg0 vg1 $d1" \
        "vgsplit -n nope vg0 vg1" "vgsplit vg0 vg1 $d3" "vgsplit vg0 vg1 $d2" \
        "vgsplit -l 10 vg0 vg1 $d1" "$vgrep" "$lvrep" \
        "vgcreate vg2 $d3" "vgsplit -p 8 vg0 vg2 $d0" "vgsplit vg0 vg2 $d0" \
        "vgsplit vg1 vg2 $d1" "$vgrep" "$lvrep" "$pvrep" \
        "vgsplit -n st vg0 vg2" "$vgrep" "$lvrep" "$pvrep"; do
        rc=0
        # rlvm's lvconvert makes no snapshot of existing LVs: LVM2's for both.
        local t=$tool
        [ "${c%% *}" = lvconvert ] && t=lvmi
        # shellcheck disable=SC2086
        out=$($t $c 2>&1 </dev/null) || rc=$?
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc" | grep -v "Activation disabled"
    done
}
report() { { "$1" $vgrep; "$1" $lvrep; "$1" $pvrep; } 2>&1 | grep -v "Activation disabled"; }
cleanup() {
    "$1" vgremove -f vg0 vg1 vg2 >/dev/null 2>&1 || true
    "$1" pvremove -y "$d0" "$d1" "$d2" "$d3" >/dev/null 2>&1 || true
    for d in "$d0" "$d1" "$d2" "$d3"; do dd if=/dev/zero of="$d" bs=64k count=16 conv=fsync status=none; done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
lvm_report=$(report lvmi | lvmi_placeholders)
# rlvm reads what LVM2's vgsplit wrote.
expect_eq "rlvm reads LVM2's split" "$lvm_report" "$(report rl | lvmi_placeholders)"
expect_rc 0 rl vgck vg2
cleanup lvmi
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u <(lvmi_placeholders <"$LVMI_DIR/lvm.out") <(lvmi_placeholders <"$LVMI_DIR/rlvm.out"); then
    fail "rlvm's vgsplit differs from LVM2's (diff above: - LVM2, + rlvm)"
fi
expect_eq "LVM2 reads rlvm's split" "$lvm_report" "$(report lvmi | lvmi_placeholders)"
expect_rc 0 lvmi vgck vg2
cleanup rl

# A split that stops after its first commit (the source's remaining PV
# cannot be written): the new VG is on d1, exported; vg0 is as it was.
rl pvcreate -q "$d0" "$d1" >/dev/null
rl vgcreate -q vg0 "$d0" "$d1" >/dev/null
rl lvcreate -q -an -Zn -l 2 -n a vg0 "$d0" >/dev/null
rl lvcreate -q -an -Zn -l 2 -n b vg0 "$d1" >/dev/null
blockdev --setro "$d0"
expect_rc 5 rl vgsplit vg0 vg1 "$d1"
blockdev --setrw "$d0"
expect_eq "LVM2 reads vg0 whole after the cut" "vg0 2 2" \
    "$(lvm_field vgs -o vg_name,pv_count,lv_count vg0 | tr -s ' ')"
expect_eq "LVM2 reads vg1 exported after the cut" "vg1 1 1 exported" \
    "$(lvm_field vgs -o vg_name,pv_count,lv_count,vg_exported vg1 | tr -s ' ')"
expect_rc 0 lvmi vgck vg0
# LVM2's recovery: import the new VG, remove it, split again.
expect_rc 0 lvmi vgimport vg1
expect_rc 0 lvmi vgremove -f vg1
expect_rc 0 rl vgsplit vg0 vg1 "$d1"
expect_eq "LVM2 reads the split redone" "vg0 1 1 vg1 1 1" \
    "$(lvm_field vgs -o vg_name,pv_count,lv_count | tr -s ' ' | tr '\n' ' ' | sed 's/ $//')"
cleanup rl
echo "PASS vgsplit"
