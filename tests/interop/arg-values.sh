#!/usr/bin/env bash
# LV arguments and option values as LVM2 reads them, same words and exit
# codes, nothing written by a refusal:
# - an empty LV name (`vg0/`) or a path with more than one run of slashes
#   (`vg0/a/`, `/rvg/lv1`) is found while processing (exit 5) by lvs,
#   lvdisplay, lvchange, lvremove, lvconvert; while parsing (exit 3) by
#   lvcreate and lvrename; other arguments are still processed;
# - an option that takes a value takes the next word even when it starts
#   with '-' (getopt_long): `--addtag -t` adds the tag "-t", `-n -lv` is the
#   invalid name "-lv", `-I -4` a negative stripe size;
# - lvcreate -Z with a snapshot, or -Zy with -an, is refused.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
lvmi pvcreate -q "$d0" "$d1"
lvmi vgcreate -q vg0 "$d0"
lvmi lvcreate -q -an -Zn -L 8M -n a vg0 2>/dev/null
sums() { md5sum "$d0" "$d1" | cut -d' ' -f1 | xargs; }
before=$(sums)

run_seq() {
    local tool=$1 c rc out
    while read -r c; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        out=$(printf '%s\n' "$out" | grep -v "Activation disabled" || true)
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc"
        [ "$(sums)" = "$before" ] || fail "$tool $c wrote to a device"
    done <<EOT
lvs vg0/
lvs /dev/vg0/
lvs vg0//
lvs vg0/ vg0/a
lvs vg0/a/
lvs /rvg/lv1
lvs nosuch/
lvdisplay vg0/
lvdisplay vg0/a vg0/
lvdisplay vg0/nosuch
lvdisplay /rvg/lv1
lvchange --addtag x vg0/
lvchange --addtag x vg0/a/
lvchange -ay vg0/
lvchange -an vg0/
lvremove -y vg0/
lvremove -y vg0/a/
lvrename vg0/ b
lvconvert --merge vg0/
lvconvert --merge vg0/a/
lvcreate -s -L 4M -n s vg0/
lvcreate -s -L 4M -n s vg0/a/
lvcreate -s -L 4M -n s /rvg/lv1
lvcreate -an -Zn -L 4M -n -lv vg0
lvcreate -an -Zn -L 4M -n --lv vg0
lvcreate -an -Zn -L 4M --name -lv vg0
lvcreate -an -Zn -L 4M -n b -i -1 vg0
lvcreate -an -Zn -L 4M -n b -i 1x vg0
lvcreate -an -Zn -L 4M -n b -I -4 vg0
lvcreate -an -Zn -L 4M -n b -i 2 -I -4 vg0
lvcreate -an -Zn -L 4M -n b -I x vg0
lvcreate -an -Zn -L 4M -n b -p -r vg0
lvcreate -an -Zn -L 4M -n b -a -n vg0
lvcreate -an -Zn -L 4M -n b -Z -y vg0
lvcreate -an -Zn -L 4M -n b --type -x vg0
lvcreate -an -Zn --size -1 -n b vg0
lvchange --permission -r vg0/a
lvchange -p rw vg0/a
lvcreate -s -L 4M -n s -Zn vg0/a
lvcreate -s -L 4M -n s -Zy vg0/a
vgcreate -s -4M vg1 $d1
lvs --units -h vg0
lvs --units x vg0
vgs --units -m vg0
EOT
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out" ||
    fail "rlvm differs from LVM2 (diff above: - LVM2, + rlvm)"
echo "ok: same words and exit codes as LVM2, nothing written"

# Same refusal, other words: LVM2's command definitions refuse -I without
# -i before anything else.
for t in lvmi rl; do
    expect_rc 3 $t lvcreate -an -Zn -L 4M -n b -I 8 vg0
done
expect_eq "no byte changed" "$before" "$(sums)"

# Zeroing an LV that is not activated: LVM2 refuses (creating it unzeroed
# would hand out old data) but exits 0; rlvm exits 5: nothing was made.
msg="  Cannot zero inactive logical volume with option -Zy or -Wy."
expect_eq "LVM2 refuses -an -Zy" "$msg" "$(lvmi lvcreate -an -Zy -L 4M -n z vg0 2>&1 | grep -v 'Activation disabled')"
expect_rc 0 lvmi lvcreate -an -Zy -L 4M -n z vg0
expect_eq "rlvm refuses -an -Zy" "$msg" "$(rl lvcreate -an -Zy -L 4M -n z vg0 2>&1)"
expect_rc 5 rl lvcreate -an -Zy -L 4M -n z vg0
expect_eq "no byte changed by -an -Zy" "$before" "$(sums)"

# Values that start with '-' are used, and LVM2 reads what rlvm wrote.
expect_rc 0 rl lvchange --addtag -t vg0/a
expect_eq "LVM2 reads tag -t" "-t" "$(lvm_field lvs -o lv_tags vg0/a)"
expect_rc 0 rl vgchange --addtag -v vg0
expect_eq "LVM2 reads VG tag -v" "-v" "$(lvm_field vgs -o vg_tags vg0)"
expect_rc 0 rl lvcreate -an -Zn -L 4M -n b --addtag -x vg0
expect_eq "LVM2 reads LV b tagged -x" "b -x" "$(lvm_field lvs -o lv_name,lv_tags vg0/b | xargs)"
out=$(rl lvcreate -an -Zn -i 1 -I 4 -L 4M -n c vg0 2>&1)
case $out in *"Ignoring stripesize argument with single stripe."*) ;;
    *) fail "rlvm lvcreate -i 1 -I 4: $out" ;; esac
expect_rc 0 rl lvchange --deltag -t vg0/a
expect_eq "tag -t removed" "" "$(lvm_field lvs -o lv_tags vg0/a)"
expect_rc 0 rl lvchange -p r vg0/a
expect_eq "already read only: LVM2's words" \
    "$(lvmi lvchange -p r vg0/a 2>&1 | grep -v 'Activation disabled')" "$(rl lvchange -p r vg0/a 2>&1)"
expect_rc 5 rl lvchange -p r vg0/a
expect_rc 0 lvmi vgck vg0

# The snapshot link LV of the metadata ("snapshot0") is no LV to LVM2:
# not found by reports or changes (rlvm wrote a tag on it). Removing an
# origin and its snapshot, named both, removes both and succeeds.
lvmi lvcreate -q -an -Zn -L 8M -n o vg0 2>/dev/null
lvmi lvcreate -q -an -Zn -L 4M -n cw vg0 2>/dev/null
lvmi lvconvert -q -y -s -Zn vg0/o vg0/cw >/dev/null 2>&1
expect_eq "LVM2 made a snapshot" "s" "$(lvm_field lvs -o lv_attr vg0/cw | cut -c1)"
before=$(sums)
links() {
    local tool=$1 c rc out
    for c in "lvs vg0/snapshot0" "lvdisplay vg0/snapshot0" "lvchange --addtag t vg0/snapshot0" \
        "lvchange -p r vg0/snapshot0" "lvremove -y vg0/snapshot0"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        out=$(printf '%s\n' "$out" | grep -v "Activation disabled" || true)
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc"
        [ "$(sums)" = "$before" ] || fail "$tool $c wrote to a device"
    done
}
links lvmi >"$LVMI_DIR/lvm.out"
links rl >"$LVMI_DIR/rlvm.out"
diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out" ||
    fail "rlvm differs from LVM2 on the snapshot link (diff above: - LVM2, + rlvm)"
expect_eq "origin and snapshot removed, as LVM2 says it" \
    "$(printf '  Logical volume "cw" successfully removed.\n  Logical volume "o" successfully removed.')" \
    "$(rl lvremove -y vg0/o vg0/cw 2>&1)"
expect_eq "LVM2 reads what is left" "a b c" "$(lvm_field lvs -o lv_name vg0 | xargs)"
echo "PASS arg-values"
