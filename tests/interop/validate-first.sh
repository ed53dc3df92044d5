#!/usr/bin/env bash
# A command that fails writes nothing: vgcreate checks every device and
# every argument, and asks every question, before it creates the first PV.
# Where LVM2 refuses too, both tools print the same and exit the same.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}
sums() { md5sum "${LVMI_DEVS[@]}" | cut -d' ' -f1 | xargs; }
before=$(sums)

# Same refusal as LVM2, same words, nothing written by either.
run_seq() {
    local tool=$1 c rc out
    for c in "vgcreate vg2 $d0 /etc/passwd" "vgcreate vg2 $d0 $d1 /dev/nosuch" \
        "vgcreate vg2 $d0 /dev/zero"; do
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
echo "ok: missing devices refused as LVM2 does, nothing written"

# Refused by rlvm before any write. LVM2 2.03.16 differs: it makes a VG
# of 0 extents for an extent or metadata size larger than the device, and
# it writes a PV label before failing on a device named twice.
ln -s "$d0" "$LVMI_DIR/d0-link"
for c in "vgcreate -s 1T vg2 $d0" "vgcreate -s 128M vg2 $d0 $d1" \
    "vgcreate --metadatasize 100M vg2 $d0" "vgcreate vg2 $d0 $d0" \
    "vgcreate vg2 $d0 $d1 $LVMI_DIR/d0-link"; do
    # shellcheck disable=SC2086
    expect_rc 5 rl $c
    expect_eq "nothing written by: $c" "$before" "$(sums)"
done

# A question answered no (a signature kept on the last device) stops the
# command before the first device is touched, as with LVM2.
printf '\123\357' | dd of="$d2" bs=1 seek=1080 conv=notrunc status=none
sync
before=$(sums)
for t in lvmi rl; do
    expect_rc 5 $t vgcreate vg2 "$d0" "$d1" "$d2" </dev/null
    expect_eq "$t: nothing written after 'no'" "$before" "$(sums)"
done

# A PV named through another path (a symlink) is still recognised as
# being in its VG: not overwritten without -ff.
lvmi pvcreate -q "$d0"
lvmi vgcreate -q vg0 "$d0"
before=$(sums)
expect_rc 5 rl pvcreate "$LVMI_DIR/d0-link"
expect_rc 5 rl vgcreate vg3 "$LVMI_DIR/d0-link"
expect_eq "PV in vg0 untouched" "$before" "$(sums)"
expect_eq "LVM2 still reads vg0" "vg0" "$(lvm_field vgs -o vg_name)"

# And when everything is right, it all happens.
expect_rc 0 rl vgcreate -y vg2 "$d1" "$d2"
expect_eq "LVM2 reads the new VG" "2" "$(lvm_field vgs -o pv_count vg2)"
echo "PASS validate-first"
