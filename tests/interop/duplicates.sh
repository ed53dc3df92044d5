#!/usr/bin/env bash
# A PV on two devices (a cloned disk): LVM2 and rlvm pick the same device
# with the same warnings, list the VG, and refuse every write to it and
# every activation of it (before any device-mapper call: LVM2 refuses even
# with activation disabled) with the same message and exit code; no byte
# changes on any device. Once the
# clone is gone, rlvm writes again and LVM2 reads it.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M 128M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]} d3=${LVMI_DEVS[3]}
lvmi pvcreate -q "$d0" "$d2"
lvmi vgcreate -q vg0 "$d0" "$d2"
lvmi lvcreate -q -an -Zn -L 8M -n a vg0
dd if="$d0" of="$d1" bs=1M status=none conv=notrunc
sync
sums() { md5sum "${LVMI_DEVS[@]}" | cut -d' ' -f1 | xargs; }
before=$(sums)

run_seq() {
    local tool=$1 c rc out
    for c in "lvcreate -an -Zn -L 4M -n b vg0" "lvremove -y vg0/a" "lvrename vg0 a z" \
        "vgchange --addtag x vg0" "vgremove -f vg0" "vgexport vg0" "vgck vg0" \
        "lvs -o lv_name,vg_name" "vgs -o vg_name,pv_count,lv_count" \
        "pvs -o pv_name,vg_name" "pvcreate -ff -y $d0" "pvcreate -ff -y $d1" \
        "vgcreate vg2 $d1" "vgcfgbackup -f $LVMI_DIR/bk vg0" \
        "vgchange -ay vg0" "vgchange -aay vg0" "vgchange -ay" "vgchange -ay --test vg0" \
        "lvchange -ay vg0/a" "lvchange -aay vg0/a"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        out=$(printf '%s\n' "$out" | grep -v "Activation disabled" || true)
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc"
        [ "$(sums)" = "$before" ] || fail "$tool $c changed a device"
    done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out"; then
    fail "rlvm differs from LVM2 with duplicate PVs (diff above: - LVM2, + rlvm)"
fi
echo "ok: same choice, warnings, refusals and exit codes; no byte changed"
# Refused with other words than LVM2's (LVM2 says 'changed' first, or
# fails to activate without device-mapper), but refused all the same.
for t in lvmi rl; do
    expect_rc 5 $t lvchange --addtag x vg0/a
    expect_rc 5 $t pvremove -ff -y "$d1"
done
expect_eq "no byte changed" "$before" "$(sums)"
# Event autoactivation: the private lvm.conf sets event_activation = 0, so
# pvscan --cache -aay does nothing and says why with -v, as LVM2 does (it
# would otherwise write /run/lvm, which this test must not touch).
for t in lvmi rl; do
    out=$($t pvscan --cache -aay -v 2>&1) || fail "$t pvscan -aay: $out"
    printf '%s\n' "$out" |
        grep -q "Ignoring pvscan --cache -aay because event_activation is disabled." ||
        fail "$t pvscan -aay: $out"
done
expect_eq "no byte changed by pvscan" "$before" "$(sums)"

# A clone on a bigger device loses to the device of the recorded size.
dd if=/dev/zero of="$d1" bs=1M count=1 status=none conv=notrunc
dd if="$d0" of="$d3" bs=1M status=none conv=notrunc
sync
lvmi pvs -o pv_name 2>&1 | tee "$LVMI_DIR/pvs.out" >/dev/null
grep -q "because device size is correct" "$LVMI_DIR/pvs.out" || fail "LVM2 did not choose by size: $(cat "$LVMI_DIR/pvs.out")"
expect_eq "same preference as LVM2" \
    "$(lvmi pvs -o pv_name 2>&1 | grep -v 'Activation disabled')" \
    "$(rl pvs -o pv_name 2>&1)"

# Clone gone: rlvm writes again, LVM2 reads the result.
dd if=/dev/zero of="$d3" bs=1M count=1 status=none conv=notrunc
sync
expect_rc 0 rl lvcreate -an -Zn -L 4M -n b vg0
expect_eq "LVM2 reads rlvm's write" "a b" "$(lvm_field lvs -o lv_name vg0 | xargs)"
expect_rc 0 lvmi vgck vg0
echo "PASS duplicates"
