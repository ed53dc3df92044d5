#!/usr/bin/env bash
# Differential: pvchange -x / --addtag / --deltag on named PVs and with -a
# (PVs in a VG and orphans) run by LVM2 and by rlvm print the same lines and
# counts and exit with the same codes; each reads the other's result.
. "$(dirname "$0")/lib.sh"
lvmi_setup 22M 22M 22M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}
report="pvs -o pv_name,vg_name,pv_attr,pv_tags"
run_seq() {
    local tool=$1 c rc out
    for c in "pvcreate $d0 $d1 $d2" "vgcreate vg0 $d0 $d1" \
        "pvchange -x n $d1" "pvchange -x n $d1" "pvchange -x y $d1" "pvchange --addtag t1 $d1" \
        "pvchange --addtag t2 --addtag t3 $d0 $d1" "pvchange --deltag t1 $d1" "pvchange -x n $d2" \
        "pvchange --addtag t4 $d2" "pvchange -x n /dev/nonexist" "pvchange $d1" "pvchange -x n" \
        "pvchange -a -x n" "pvchange -a --deltag t2" "pvchange -a --addtag x $d1" "lvcreate -an -Zn -l1 -n a vg0" \
        "pvchange -x y $d0 $d1" "$report"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1 </dev/null) || rc=$?
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc" | grep -v "Activation disabled"
    done
}
cleanup() {
    "$1" vgremove -f vg0 >/dev/null 2>&1 || true
    "$1" pvremove -y "$d0" "$d1" "$d2" >/dev/null 2>&1 || true
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
cleanup lvmi
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u <(lvmi_placeholders <"$LVMI_DIR/lvm.out") <(lvmi_placeholders <"$LVMI_DIR/rlvm.out"); then
    fail "rlvm's pvchange differs from LVM2's (diff above: - LVM2, + rlvm)"
fi
rl pvchange --addtag fromrlvm "$d0" >/dev/null
expect_eq "LVM2 reads rlvm's tag" "fromrlvm,t3" "$(lvm_field pvs -o pv_tags "$d0")"
expect_rc 0 lvmi vgck vg0
cleanup rl
echo "PASS pvchange"
