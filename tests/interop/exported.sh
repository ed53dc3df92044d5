#!/usr/bin/env bash
# An exported VG (vgexport) is never written or activated, its LVs are not
# listed, and vgs/pvs/vgdisplay/pvdisplay/pvscan show it exported: the same
# commands run by LVM2 and by rlvm on the same devices print the same lines,
# exit with the same codes and change no byte of the VG's PVs. Then rlvm's
# vgimport/vgexport are read back by LVM2 and the other way round.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]} d3=${LVMI_DEVS[3]}
lvmi pvcreate -q "$d0" "$d1" "$d2" "$d3"
lvmi vgcreate -q vg0 "$d0" "$d1"
lvmi vgcreate -q vg1 "$d2"
lvmi lvcreate -q -an -Zn -L 8M -n a vg0
lvmi lvcreate -q -an -Zn -L 8M -n b vg1
lvmi vgexport -q vg0
sums() { md5sum "$d0" "$d1" | cut -d' ' -f1 | xargs; }
before=$(sums)

run_seq() {
    local tool=$1 c rc out
    for c in "lvcreate -an -Zn -L 4M -n c vg0" "lvremove -y vg0/a" "lvrename vg0 a z" \
        "vgchange --addtag x vg0" "lvchange --addtag x vg0/a" "vgremove -f vg0" \
        "vgck vg0" "vgck" "vgexport vg0" "vgimport vg1" "lvs vg0" "lvs vg0/a" \
        "lvs -o lv_name,vg_name" "lvdisplay vg0" "lvdisplay" \
        "vgs -o vg_name,vg_attr" "pvs -o pv_name,pv_attr,vg_name" "vgdisplay vg0" \
        "pvdisplay $d0" "pvscan" "pvcreate $d0" "pvcreate -f $d0" "pvremove $d0" \
        "vgcreate vg0 $d3" "vgcreate vg2 $d0" "vgcfgbackup -f $LVMI_DIR/bk vg0"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        out=$(printf '%s\n' "$out" | grep -v "Activation disabled" || true)
        # LVM2 lists VGs in its cache's order: compare pvscan's lines as a set.
        [ "$c" = pvscan ] && out=$(printf '%s\n' "$out" | sort)
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc"
        [ "$(sums)" = "$before" ] || fail "$tool $c changed the exported VG's PVs"
    done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out"; then
    fail "rlvm differs from LVM2 on an exported VG (diff above: - LVM2, + rlvm)"
fi
echo "ok: same output and exit codes, no byte of vg0 changed"

# rlvm's vgimport: LVM2 reads the VG as imported and changes it.
expect_rc 0 rl vgimport vg0
expect_eq "LVM2 sees vg0 imported" "wz--n-" "$(lvm_field vgs -o vg_attr vg0)"
expect_eq "LVM2 sees its PV imported" "a--" "$(lvm_field pvs -o pv_attr "$d0")"
expect_rc 0 lvmi vgck vg0
expect_rc 0 lvmi lvcreate -an -Zn -L 4M -n c vg0
expect_rc 0 rl lvremove -y vg0/c

# rlvm's vgexport: LVM2 reads it exported, with LVM2's status words, and
# refuses to change it; LVM2's vgimport undoes it.
expect_rc 0 rl vgexport vg0
expect_eq "LVM2 sees vg0 exported" "wzx-n-" "$(lvm_field vgs -o vg_attr vg0)"
expect_eq "LVM2 sees its PV exported" "ax-" "$(lvm_field pvs -o pv_attr "$d1")"
lvmi vgcfgbackup -q -f "$LVMI_DIR/rl.vg" vg0
grep -q 'status = \["EXPORTED", "RESIZEABLE", "READ", "WRITE"\]' "$LVMI_DIR/rl.vg" ||
    fail "VG status words: $(grep -m1 status "$LVMI_DIR/rl.vg")"
expect_eq "both PVs exported" 2 "$(grep -c 'status = \["ALLOCATABLE", "EXPORTED"\]' "$LVMI_DIR/rl.vg")"
before=$(sums)
expect_rc 5 lvmi lvcreate -an -Zn -L 4M -n d vg0
expect_rc 5 rl vgexport vg0
expect_eq "refusals wrote nothing" "$before" "$(sums)"
expect_rc 0 lvmi vgimport vg0
expect_eq "rlvm sees LVM2's import" "wz--n-" "$(rl_field vgs -o vg_attr vg0)"

# -a: vgexport skips what is exported; vgimport fails on what is not.
expect_rc 0 rl vgexport -a
expect_eq "all exported" "wzx-n- wzx-n-" "$(rl_field vgs -o vg_attr | xargs)"
expect_rc 0 rl vgexport -a
expect_rc 0 rl vgimport vg0
expect_rc 5 rl vgimport -a
expect_eq "all imported" "wz--n- wz--n-" "$(rl_field vgs -o vg_attr | xargs)"
# Neither names nor -a, or both: a command-line error, as with LVM2.
for t in lvmi rl; do
    expect_rc 3 $t vgexport
    expect_rc 3 $t vgimport
    expect_rc 3 $t vgexport -a vg0
done
echo "PASS exported"
