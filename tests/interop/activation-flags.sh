#!/usr/bin/env bash
# Differential: activation skip (-k/--setactivationskip, -K) and
# --setautoactivation set by lvcreate, lvchange and vgchange as LVM2 does:
# same lines and exit codes, and the same ACTIVATION_SKIP / NOAUTOACTIVATE
# flags in the metadata each tool writes (LVM2 reads rlvm's back).
. "$(dirname "$0")/lib.sh"
lvmi_setup 22M
d0=${LVMI_DEVS[0]}
run_seq() {
    local tool=$1 c rc out
    for c in "pvcreate $d0" "vgcreate vg0 $d0" "lvcreate -ky -l1 -n x vg0" \
        "lvcreate -ky -K -an -l1 -n y vg0" "lvchange --setactivationskip n vg0/x" \
        "lvchange -ky vg0/x" "lvchange -k n vg0/y" "lvchange -k y vg0/y" \
        "vgchange --setautoactivation n vg0" "vgchange --setautoactivation n vg0" \
        "lvchange --setautoactivation n vg0/x" "lvcreate --setautoactivation n -an -Zn -l1 -n z vg0" \
        "vgchange --setautoactivation y vg0" "lvs -o name,attr vg0"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1 </dev/null) || rc=$?
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc" | grep -v "Activation disabled"
    done
    lvmi vgcfgbackup -f "$LVMI_DIR/$tool.vg" vg0 >/dev/null 2>&1
    grep -E '^\s*(flags|status)' "$LVMI_DIR/$tool.vg"
}
cleanup() {
    "$1" vgremove -f vg0 >/dev/null 2>&1 || true
    "$1" pvremove -y "$d0" >/dev/null 2>&1 || true
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
cleanup lvmi
run_seq rl >"$LVMI_DIR/rlvm.out"
cleanup rl
if ! diff -u <(lvmi_placeholders <"$LVMI_DIR/lvm.out") <(lvmi_placeholders <"$LVMI_DIR/rlvm.out"); then
    fail "rlvm's activation flags differ from LVM2's (diff above: - LVM2, + rlvm)"
fi
echo "PASS activation-flags"
