#!/usr/bin/env bash
# Metadata that is not self-consistent, planted with valid checksums
# (mda-edit.py), is never written over:
# - two LV sections of one name: the copy is refused (LVM2 refuses it too),
#   the VG is not found, nothing is written, and its PV is not taken as an
#   orphan by pvcreate;
# - copies on two PVs that differ at the same seqno: warned in LVM2's
#   words, listed from the first copy as LVM2 lists it, never written
#   until vgck --updatemetadata, after which LVM2 finds them consistent.
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
edit() { python3 "$here/mda-edit.py" "$@"; }
lvmi_setup 64M 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}
sums() { md5sum "${LVMI_DEVS[@]}" | cut -d' ' -f1 | xargs; }

# 1. Two LVs named "a" in one copy (the second was "b").
lvmi pvcreate -q "$d0" "$d1" "$d2"
lvmi vgcreate -q vg0 "$d0"
lvmi lvcreate -q -an -Zn -L 8M -n a vg0
lvmi lvcreate -q -an -Zn -L 8M -n b vg0
edit "$d0" get | sed 's/^b {/a {/' >"$LVMI_DIR/dup.vg"
edit "$d0" put <"$LVMI_DIR/dup.vg"
before=$(sums)
for t in lvmi rl; do
    for c in "lvs vg0" "vgck vg0" "lvremove -y vg0/a" "vgchange --addtag x vg0" \
        "pvcreate $d0" "vgcreate vg9 $d0"; do
        # shellcheck disable=SC2086
        expect_rc 5 $t $c
        expect_eq "$t $c wrote nothing" "$before" "$(sums)"
    done
    # The VG is not listed, by either (its only copy is refused).
    expect_eq "$t: no vg0" "" "$($t vgs --noheadings -o vg_name 2>/dev/null | grep vg0 || true)"
    # And the space 'b' used is not handed out again.
    expect_rc 5 $t lvcreate -an -Zn -L 8M -n c vg0
    expect_eq "$t lvcreate wrote nothing" "$before" "$(sums)"
done
rl pvcreate "$d0" >"$LVMI_DIR/out" 2>&1 || true
grep -q 'of volume group "vg0" without -ff' "$LVMI_DIR/out" || fail "pvcreate: $(cat "$LVMI_DIR/out")"
echo "ok: duplicate LV names refused, nothing written"

# 2. Two copies at the same seqno that disagree (LV renamed on one PV).
lvmi pvcreate -q -ff -y "$d0" >/dev/null 2>&1
lvmi vgcreate -q vgx "$d1" "$d2"
lvmi lvcreate -q -an -Zn -L 8M -n a vgx
edit "$d2" get | sed 's/^a {/z {/' >"$LVMI_DIR/other.vg"
edit "$d2" put <"$LVMI_DIR/other.vg"
before=$(sums)
lvmi lvs vgx >"$LVMI_DIR/lvm.err" 2>&1 || true
mismatch=$(grep -o 'scan of VG vgx from .* found mda_checksum .*' "$LVMI_DIR/lvm.err" | head -1)
[ -n "$mismatch" ] || fail "LVM2 did not see the mismatch: $(cat "$LVMI_DIR/lvm.err")"
rl lvs vgx >"$LVMI_DIR/rl.err" 2>&1 || true
grep -qF "$mismatch" "$LVMI_DIR/rl.err" || fail "rlvm's warning differs from LVM2's '$mismatch': $(cat "$LVMI_DIR/rl.err")"
grep -q "Scanning $d2 mda1 found mismatch with other metadata." "$LVMI_DIR/rl.err" || fail "second warning"
expect_eq "rlvm lists what LVM2 lists" "$(lvm_field lvs -o lv_name vgx 2>/dev/null)" "$(rl_field lvs -o lv_name vgx 2>/dev/null)"
for c in "lvcreate -an -Zn -L 4M -n c vgx" "lvremove -y vgx/a" "lvrename vgx a b" \
    "vgchange --addtag x vgx" "vgremove -f vgx" "vgexport vgx"; do
    # shellcheck disable=SC2086
    expect_rc 5 rl $c
    expect_eq "rl $c wrote nothing" "$before" "$(sums)"
done
expect_rc 5 rl vgck vgx
expect_rc 0 rl vgck --updatemetadata vgx
expect_rc 0 rl vgck vgx
lvmi lvs vgx >"$LVMI_DIR/lvm.err" 2>&1
grep -q mismatch "$LVMI_DIR/lvm.err" && fail "LVM2 still sees a mismatch: $(cat "$LVMI_DIR/lvm.err")"
expect_rc 0 lvmi vgck vgx
expect_rc 0 rl lvcreate -an -Zn -L 4M -n c vgx
expect_eq "LVM2 reads the repaired VG" "a c" "$(lvm_field lvs -o lv_name vgx | xargs)"
echo "PASS inconsistent"
