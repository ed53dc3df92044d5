#!/usr/bin/env bash
# Input that is not a regular file, or too large, is refused at once, as
# LVM2 refuses it: vgcfgrestore -f /dev/zero used to read until the OOM
# killer came, a FIFO used to hang it. Run under a memory limit and a
# timeout so that the old behaviour fails the test instead of the host.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M
d0=${LVMI_DEVS[0]}
lvmi pvcreate -q "$d0"
lvmi vgcreate -q vg0 "$d0"
mkfifo "$LVMI_DIR/fifo"
mkdir "$LVMI_DIR/dir"
sums() { md5sum "$d0" | cut -d' ' -f1; }
before=$(sums)

bounded() { (ulimit -v 1000000; timeout 20 "$@"); }
run_seq() {
    local tool=$1 f rc out
    for f in /dev/zero /dev/null "$LVMI_DIR/fifo" "$LVMI_DIR/dir" "$LVMI_DIR/nosuch"; do
        rc=0
        out=$(bounded $tool vgcfgrestore -f "$f" vg0 2>&1) || rc=$?
        # LVM2 also reports that it cannot reach device-mapper here.
        out=$(printf '%s\n' "$out" | grep -v -e "Activation disabled" -e mapper/control \
            -e "device-mapper" -e "libdevmapper" -e "check for active volumes" || true)
        printf '### %s\n%s\nrc=%s\n' "$f" "$out" "$rc"
        [ "$(sums)" = "$before" ] || fail "$tool vgcfgrestore -f $f wrote to the PV"
    done
}
run_seq lvm >"$LVMI_DIR/lvm.out"
run_seq "$RLVM" >"$LVMI_DIR/rlvm.out"
diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out" ||
    fail "rlvm differs from LVM2 (diff above: - LVM2, + rlvm)"
echo "ok: vgcfgrestore refuses what is not a regular file, as LVM2 does"

# A too large file is refused without being read.
truncate -s 200M "$LVMI_DIR/huge"
expect_rc 5 bounded "$RLVM" vgcfgrestore -f "$LVMI_DIR/huge" vg0
expect_eq "PV untouched" "$before" "$(sums)"

# lvm.conf that is a FIFO or a directory: both tools fail at once with
# the same words (LVM2 exits 4, rlvm 3: both refuse to run).
cp -r "$LVM_SYSTEM_DIR" "$LVMI_DIR/etc2"
rm "$LVMI_DIR/etc2/lvm.conf"
mkfifo "$LVMI_DIR/etc2/lvm.conf"
for t in lvm "$RLVM"; do
    rc=0
    LVM_SYSTEM_DIR=$LVMI_DIR/etc2 bounded $t vgs >"$LVMI_DIR/out" 2>&1 || rc=$?
    [ "$rc" = 3 ] || [ "$rc" = 4 ] || fail "$t vgs with a FIFO lvm.conf: rc=$rc"
    grep -q "lvm.conf is not a regular file" "$LVMI_DIR/out" ||
        fail "$t: $(cat "$LVMI_DIR/out")"
done
echo "ok: a FIFO lvm.conf is refused, not waited on"
echo "PASS bounded-input"
