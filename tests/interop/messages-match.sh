#!/usr/bin/env bash
# Differential: the same sequence of commands (successes and failures) run
# by LVM2 and by rlvm on the same devices prints the same lines and exits
# with the same codes.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
run_seq() {
    local tool=$1 c rc out
    for c in "pvcreate $d0 $d1" "vgcreate vg0 $d0 $d1" \
        "lvcreate -an -Zn -L 8M -n a vg0" "lvcreate -an -Zn -L 5M -n b vg0" \
        "lvcreate -an -Zn -l 100%FREE -n c vg0" "lvcreate -an -Zn -L 4M -n d vg0" \
        "lvremove -y vg0/c" "lvcreate -an -Zn -L 1G -n big vg0" \
        "lvcreate -an -Zn -L 4X -n e vg0" "lvcreate -an -Zn -L 4M -n bad@name vg0" \
        "lvrename vg0 a aa" "lvchange --addtag t vg0/aa" "vgchange --addtag v vg0" \
        "lvcreate -an -Zn -L 4M -n snapshot1 vg0" "lvcreate -an -Zn -L 4M -n aa vg0" \
        "vgcreate vg0 $d0" "lvremove -y vg0/zz" "vgremove -f vg0" "pvremove $d0 $d1"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc" | grep -v "Activation disabled"
    done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out"; then
    fail "rlvm's messages or exit codes differ from LVM2's (diff above: - LVM2, + rlvm)"
fi
echo "PASS messages-match"
