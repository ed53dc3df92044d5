#!/usr/bin/env bash
# Readers take LVM2's read locks: a report run while LVM2 and rlvm commit
# changes never sees half a commit (no "ignoring metadata seqno", no
# mismatch, always the VG); and a user who may not take the locks gets
# LVM2's "Permission denied" with the path and exit 5, not an empty report.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M 64M
lvmi pvcreate -q "${LVMI_DEVS[@]}"
lvmi vgcreate -q vg0 "${LVMI_DEVS[@]}"
lvmi lvcreate -q -an -Zn -L 4M -n keep vg0

# Writers: LVM2 and rlvm in turn, each commit touching all four PVs.
(
    for i in $(seq 1 40); do
        lvmi lvcreate -q -an -Zn -L 4M -n "w$i" vg0 >/dev/null 2>&1
        "$RLVM" lvremove -y "vg0/w$i" >/dev/null 2>&1
        "$RLVM" vgchange --addtag "t$i" vg0 >/dev/null 2>&1
        lvmi vgchange -q --deltag "t$i" vg0 >/dev/null 2>&1
    done
) &
writer=$!
n=0
while kill -0 "$writer" 2>/dev/null; do
    rc=0
    rl lvs -o lv_name vg0 >"$LVMI_DIR/out" 2>"$LVMI_DIR/err" || rc=$?
    [ "$rc" = 0 ] || fail "lvs failed during commits (rc=$rc): $(cat "$LVMI_DIR/err")"
    [ -s "$LVMI_DIR/err" ] && fail "lvs warned during commits: $(cat "$LVMI_DIR/err")"
    grep -q keep "$LVMI_DIR/out" || fail "lvs lost the VG: $(cat "$LVMI_DIR/out")"
    n=$((n + 1))
done
wait "$writer"
echo "ok: $n reports during 160 commits, none saw half a commit"

# Not allowed to lock: LVM2's words and exit code.
chmod 755 "$LVMI_DIR"
chmod -R a+rX "$LVM_SYSTEM_DIR"
nobody() { su nobody -s /bin/bash -c "LVM_SYSTEM_DIR=$LVM_SYSTEM_DIR $*"; }
for c in vgs lvs pvs "vgck vg0" "lvdisplay vg0" "lvcreate -an -Zn -L 4M -n x vg0"; do
    rc1=0 rc2=0
    nobody lvm "$c" >"$LVMI_DIR/lvm.out" 2>&1 || rc1=$?
    nobody "$RLVM" "$c" >"$LVMI_DIR/rl.out" 2>&1 || rc2=$?
    expect_eq "non-root '$c' exit code" "$rc1" "$rc2"
    expect_eq "non-root '$c' output" "$(grep -v 'Activation disabled' "$LVMI_DIR/lvm.out")" \
        "$(cat "$LVMI_DIR/rl.out")"
done
grep -q "Permission denied" "$LVMI_DIR/rl.out" || fail "no Permission denied"
echo "PASS readers"
