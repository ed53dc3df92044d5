#!/usr/bin/env bash
# A VG with a missing PV, LVM2 as the reference: the same state is set up
# for LVM2 and for rlvm, and each runs the same commands.
# - Reports: the missing PV is listed as [unknown] with 'm', the VG 'p',
#   the LVs on it 'p' with [unknown] devices, as LVM2 prints them.
# - Writes follow LVM2's rules: lvremove (of any LV), lvchange and vgchange
#   --addtag, vgremove go ahead, writing the PVs present with the missing
#   one marked MISSING; lvcreate and lvrename are refused with LVM2's words
#   and write nothing. A PV that comes back after such a write stays
#   missing until restored.
# Test mode (-t) changes nothing.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
setup() {
    for d in "$d0" "$d1"; do dd if=/dev/zero of="$d" bs=1M count=2 conv=notrunc status=none; done
    lvmi pvcreate -q "$d0" "$d1"
    lvmi vgcreate -q vg0 "$d0" "$d1"
    lvmi lvcreate -q -an -Zn -L 8M -n a vg0 "$d0"
    lvmi lvcreate -q -an -Zn -L 8M -n b vg0 "$d1"
    lvmi lvcreate -q -an -Zn -l 20 -n c vg0
    dd if="$d1" of="$LVMI_DIR/d1.image" bs=1M count=2 status=none
    # Lose PV 1: wipe its label sector.
    dd if=/dev/zero of="$d1" bs=512 seek=1 count=1 conv=notrunc status=none
    sync
}
# LVM2 repeats some warnings while it re-reads; compare each line once,
# with device names and UUIDs as placeholders.
norm() { sed -e "s|$d0|@D0@|g; s|$d1|@D1@|g" -e 's/[A-Za-z0-9]\{6\}\(-[A-Za-z0-9]\{4\}\)\{5\}-[A-Za-z0-9]\{6\}/@UUID@/g' | awk '!seen[$0]++'; }
sums() { md5sum "$d0" | cut -d' ' -f1; }

run_seq() {
    local tool=$1 c rc out before
    setup >/dev/null 2>&1
    for c in "pvs" "pvs -o pv_name,pv_attr,vg_name,dev_size,pv_missing" \
        "vgs -o vg_name,vg_attr,pv_count,vg_missing_pv_count" \
        "lvs -o lv_name,lv_attr,devices" "pvdisplay" "vgdisplay vg0" \
        "lvcreate -an -Zn -L 4M -n d vg0" "lvrename vg0 c cc" \
        "lvremove -y vg0/a" "lvremove -y vg0/b" "vgchange --addtag x vg0" \
        "lvchange --addtag y vg0/c" "vgs -o vg_name,vg_attr,vg_tags,lv_count" \
        "lvs -o lv_name,lv_attr,lv_tags,devices" "pvs"; do
        before=$(sums)
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        printf '### %s\n%s\nrc=%s\n' "$c" "$(printf '%s\n' "$out" | grep -v "Activation disabled" | norm)" "$rc"
        case $c in lvcreate* | lvrename*)
            [ "$(sums)" = "$before" ] || fail "$tool $c wrote to the PV present" ;;
        esac
    done
    # What was written: the missing PV as MISSING, device unknown.
    lvmi vgcfgbackup -q -f "$LVMI_DIR/written.vg" vg0 >/dev/null 2>&1
    sed -n '/pv1 {/,/}/p' "$LVMI_DIR/written.vg" | grep -E 'device|flags' | tr -d '\t'
    # The PV comes back: still missing for changes, until restored.
    dd if="$LVMI_DIR/d1.image" of="$d1" bs=1M count=2 conv=notrunc status=none
    sync
    for c in "pvs" "lvcreate -an -Zn -L 4M -n e vg0"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1) || rc=$?
        printf '### back: %s\n%s\nrc=%s\n' "$c" "$(printf '%s\n' "$out" | grep -v "Activation disabled" | norm)" "$rc"
    done
    lvmi vgremove -q -f vg0 >/dev/null 2>&1
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out" ||
    fail "rlvm differs from LVM2 with a missing PV (diff above: - LVM2, + rlvm)"
echo "ok: same reports, refusals and writes as LVM2 with a missing PV"

# Test mode writes nothing, PV missing or not.
setup >/dev/null 2>&1
dd if="$LVMI_DIR/d1.image" of="$d1" bs=1M count=2 conv=notrunc status=none
before=$(md5sum "$d0" "$d1")
expect_rc 0 rl lvcreate -t -an -Zn -L 8M -n t vg0
expect_rc 0 rl lvremove -t -y vg0/a
expect_rc 0 rl vgchange -t --addtag x vg0
expect_eq "test mode wrote nothing" "$before" "$(md5sum "$d0" "$d1")"
dd if=/dev/zero of="$d1" bs=512 seek=1 count=1 conv=notrunc status=none
sync
before=$(sums)
expect_rc 0 rl lvremove -t -y vg0/a
expect_eq "test mode wrote nothing with a PV missing" "$before" "$(sums)"
echo "PASS missing"
