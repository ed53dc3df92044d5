#!/usr/bin/env bash
# Refusals of bad names and arguments: the same words and exit codes as
# LVM2, and nothing written. VG names that clash with /dev entries, VG
# arguments with a slash, non-devices given to pvs/pvdisplay, 'lvcreate
# vg/', sizes as strtod reads them (-L 1e3), negative sizes (-L -1 is a
# value, not an option), unknown --type, and "Cannot process volume group"
# after "not found".
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
lvmi pvcreate -q "$d0" "$d1"
lvmi vgcreate -q vg0 "$d0"
sums() { md5sum "$d0" "$d1" | cut -d' ' -f1 | xargs; }
before=$(sums)

run_seq() {
    local tool=$1 c rc out
    for c in "vgcreate mapper $d1" "vgcreate loop0 $d1" "vgcreate null $d1" \
        "vgcreate -- -x $d1" "vgcreate . $d1" "vgcreate a/b $d1" \
        "vgs vg0/" "vgs /dev/vg0/" "vgremove vg0/" "vgck vg0/" "vgdisplay vg0/" \
        "vgchange --addtag x vg0/" "vgremove nosuch" "vgck nosuch" \
        "vgchange --addtag t nosuch" "lvcreate -an -Zn -L 4M -n y nosuch" \
        "lvremove -y nosuch/x" "pvdisplay /etc/passwd" "pvdisplay /dev/nosuch" \
        "pvs /etc/passwd $d0" "pvs $d1 /dev/nosuch" \
        "lvcreate -an -Zn -L 4M -n y vg0/" "lvcreate -an -Zn -L 4M vg0/x" \
        "lvcreate -an -Zn -L -1 -n y vg0" "lvcreate -an -Zn -L -4M -n y vg0" \
        "lvcreate -an -Zn -l -1 -n y vg0" "lvcreate -an -Zn -L 1e3 -n y vg0" \
        "lvcreate -an -Zn -L 0x400 -n y vg0" "lvcreate -an -Zn -l 1e1 -n y vg0" \
        "lvcreate -an -Zn --type bogus -L 4M -n y vg0" \
        "lvcreate -an -Zn --type Linear -L 4M -n y vg0"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        out=$(printf '%s\n' "$out" | grep -v "Activation disabled" || true)
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc"
        [ "$(sums)" = "$before" ] || fail "$tool $c wrote to a device"
    done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out" ||
    fail "rlvm differs from LVM2 (diff above: - LVM2, + rlvm)"
echo "ok: same words and exit codes as LVM2, nothing written"

# Sizes as strtod reads them create what LVM2 creates.
expect_rc 0 rl lvcreate -an -Zn -L 1.2e1 -n e vg0
expect_eq "1.2e1 MiB" "12.00m" "$(lvm_field lvs -o lv_size vg0/e)"
echo "PASS names-codes"
