#!/usr/bin/env bash
# Differential: a PV is lost, `vgreduce --removemissing` is refused while
# LVs use it, `--force` removes those LVs (whole, with the part on the PV
# still present) and the PV; when the PV comes back it is outdated, and
# vgremove makes it an orphan again so the VG's name is free. LVM2 and
# rlvm run the same commands on the same devices: same lines, same exit
# codes; each reads the other's result.
. "$(dirname "$0")/lib.sh"
lvmi_setup 32M 32M 32M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}
setup() {
    for d in "$d0" "$d1" "$d2"; do dd if=/dev/zero of="$d" bs=1M count=2 conv=notrunc status=none; done
    lvmi pvcreate -q "$d0" "$d1" "$d2"
    lvmi vgcreate -q vg0 "$d0" "$d1" "$d2"
    lvmi lvcreate -q -an -Zn -l 2 -n a vg0 "$d0"
    lvmi lvcreate -q -an -Zn -l 2 -n b vg0 "$d1"
    # c spans d0 and d1: partly on the lost PV, removed whole.
    lvmi lvcreate -q -an -Zn -l 8 -n c vg0 "$d0" "$d1"
    dd if="$d1" of="$LVMI_DIR/d1.image" bs=1M count=2 status=none
    dd if=/dev/zero of="$d1" bs=512 seek=1 count=1 conv=notrunc status=none
    sync
}
norm() { sed -e "s|$d0|@D0@|g; s|$d1|@D1@|g; s|$d2|@D2@|g" -e 's/[A-Za-z0-9]\{6\}\(-[A-Za-z0-9]\{4\}\)\{5\}-[A-Za-z0-9]\{6\}/@UUID@/g' | awk '!seen[$0]++'; }
step() {
    local tool=$1 c=$2 rc=0 out
    # shellcheck disable=SC2086
    out=$($tool $c 2>&1 </dev/null) || rc=$?
    printf '### %s\n%s\nrc=%s\n' "$c" "$(printf '%s\n' "$out" | grep -v "Activation disabled" | norm)" "$rc"
}
run_seq() {
    local tool=$1 c
    setup >/dev/null 2>&1
    for c in "vgreduce --removemissing vg0" "vgreduce --removemissing --force vg0" \
        "lvs -o lv_name,devices vg0" "vgs -o vg_name,pv_count,lv_count vg0"; do
        step "$tool" "$c"
    done
    dd if="$LVMI_DIR/d1.image" of="$d1" bs=1M count=2 conv=notrunc status=none
    sync
    for c in "vgs -o vg_name,pv_count,lv_count vg0" "vgremove -f vg0" \
        "pvs -o pv_name,vg_name" "vgcreate vg0 $d0 $d1 $d2" "vgs -o vg_name,pv_count vg0" \
        "vgremove -f vg0"; do
        step "$tool" "$c"
    done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out"; then
    fail "rlvm's vgreduce --removemissing --force / vgremove of outdated PVs differ from LVM2's (- LVM2, + rlvm)"
fi
grep -q '^### vgcreate vg0' "$LVMI_DIR/rlvm.out" && grep -A3 '^### vgcreate vg0' "$LVMI_DIR/rlvm.out" | grep -q '^rc=0$' ||
    fail "the VG's name was not free after vgremove"
echo "ok: same lines and exit codes as LVM2"
# Cross-reading: rlvm's --force result read by LVM2, and LVM2's by rlvm.
setup >/dev/null 2>&1
rl vgreduce --removemissing --force vg0 >/dev/null 2>&1
expect_eq "LVM2 reads rlvm's repaired VG" "a" "$(lvm_field lvs -o lv_name vg0)"
expect_rc 0 lvmi vgck vg0
lvmi vgremove -f vg0 >/dev/null 2>&1
setup >/dev/null 2>&1
lvmi vgreduce --removemissing --force vg0 >/dev/null 2>&1
expect_eq "rlvm reads LVM2's repaired VG" "a" "$(rl_field lvs -o lv_name vg0)"
expect_rc 0 rl vgck vg0
lvmi vgremove -f vg0 >/dev/null 2>&1
echo "PASS removemissing"
