#!/usr/bin/env bash
# Differential: lvextend / lvreduce / lvresize run by LVM2 and by rlvm on the
# same devices (metadata only) print the same lines, exit with the same codes
# and leave the same segments, which each tool reads back from the other's
# metadata: sizes with signs, %VG/%FREE/%LV/%PVS/%ORIGIN, stripe rounding,
# stripes changed on extend, COW extend and its maximum, origin reduce refused.
. "$(dirname "$0")/lib.sh"
lvmi_setup 22M 22M 22M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}
report="lvs -a -o name,size,seg_count,stripes,stripe_size,devices,origin vg0"
run_seq() {
    local tool=$1 c rc out
    for c in "pvcreate -y $d0 $d1 $d2" "vgcreate -s 4M vg0 $d0 $d1 $d2" \
        "lvcreate -an -Zn -L 8M -n a vg0" "lvextend -L 16M vg0/a" "lvextend -L 16M vg0/a" \
        "lvextend -L 8M vg0/a" "lvreduce -L 32M vg0/a" "lvreduce -f -L 8M vg0/a" \
        "lvreduce -f -L -4M vg0/a" "lvresize -l +3 vg0/a" "lvresize -L 5M vg0/a" \
        "lvextend -l 10 -L 64m vg0/a" "lvextend vg0/a" "lvresize vg0/a" "lvextend -L +1G vg0/a" \
        "lvextend -l +50%FREE vg0/a" "lvresize -l 50%VG vg0/a" "lvresize -f -l -10%LV vg0/a" \
        "lvextend -L+4M vg0/zz" "lvextend -L+4M zz/a" "lvextend -r -L+4M vg0/a" \
        "lvreduce -f -L 0 vg0/a" "lvreduce -f -l -100%LV vg0/a" "lvextend -L+4M vg0/a $d2" \
        "lvextend -L+4M vg0/a /dev/nonexist" "lvextend -l+1 vg0/a $d1" "lvremove -y vg0/a" \
        "lvcreate -an -Zn -l10 -i3 -n s vg0" "lvextend -l+4 vg0/s" "lvextend -l+100%FREE vg0/s" \
        "lvreduce -f -l-4 vg0/s" "lvextend -f -l+1 vg0/s" "lvreduce -f -l-4 vg0/s" \
        "lvextend -l90%VG vg0/s" "lvreduce -f -l-10%LV vg0/s" "lvreduce -f -l-20%LV vg0/s" \
        "lvreduce -f -l1 vg0/s" "lvreduce -f -l 5 vg0/s" "lvextend -l+1 -i2 vg0/s" \
        "lvextend -l+2 -i1 vg0/s" "lvextend -l+2 -i3 -I 32 vg0/s" "$report" \
        "lvremove -y vg0/s" "lvcreate -an -Zn -L 16M -n o vg0" "lvcreate -an -Zn -L 8M -n c vg0" \
        "lvconvert -y -s -Zn vg0/o vg0/c" "lvextend -L+4M vg0/c" "lvextend -L+8M vg0/o" \
        "lvreduce -f -L-4M vg0/o" "lvextend -l+200%ORIGIN vg0/c" "lvextend -l+10%ORIGIN vg0/o" \
        "lvreduce -f -l 3 vg0/c" "lvextend -l+1 -i2 vg0/o" "lvremove -f vg0/o" "lvcreate -an -Zn -l1 -n one vg0" "lvcreate -an -Zn -l100%FREE -i3 -n f vg0" \
        "lvextend -l+100%FREE -i3 vg0/f" "lvextend -l+100%FREE -i1 vg0/f" "$report"; do
        rc=0
        # shellcheck disable=SC2086
        # Metadata-only LVM2 converts an LV to a snapshot; rlvm has no lvconvert -s.
        case $c in lvconvert*) out=$(lvmi $c 2>&1) || rc=$? ;; *) out=$($tool $c 2>&1 </dev/null) || rc=$? ;; esac
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc" | grep -v "Activation disabled"
    done
}
# PE ranges (PV:from-to, PV:start+count) for lvcreate and lvextend, %PVS of ranges.
run_ranges() {
    local tool=$1 c rc out
    for c in "pvcreate -y $d0 $d1" "vgcreate -s 1M vg0 $d0 $d1" \
        "lvcreate -an -Zn -l 6 -n r vg0 $d0:0-1 $d0:4-5 $d0:8+2" \
        "lvextend -l +100%PVS vg0/r $d0:0-2 $d0:6-8 $d0:12-14" "lvextend -l +2 vg0/r $d1:3-" \
        "lvextend -l +1 vg0/r $d0:0-1" "lvextend -l +100%PVS vg0/r $d1" "$report"; do
        rc=0
        # shellcheck disable=SC2086
        out=$($tool $c 2>&1 </dev/null) || rc=$?
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc" | grep -v "Activation disabled"
    done
}
cleanup() { "$1" vgremove -f vg0 >/dev/null 2>&1 || true; "$1" pvremove -y "$d0" "$d1" "$d2" >/dev/null 2>&1 || true; }
run_seq lvmi >"$LVMI_DIR/lvm.out"
lvm_report=$(lvmi $report 2>&1 | lvmi_placeholders)
cleanup lvmi
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out"; then
    lvmi_placeholders <"$LVMI_DIR/lvm.out" | tail -30 >&2
    :
    fail "rlvm's lvextend/lvreduce/lvresize differ from LVM2's (diff above: - LVM2, + rlvm)"
fi
# What rlvm wrote, as LVM2 reads it: the same segments LVM2 made itself.
expect_eq "LVM2 reads rlvm's resized LVs" "$lvm_report" "$(lvmi $report 2>&1 | lvmi_placeholders)"
expect_rc 0 lvmi vgck vg0
cleanup rl
run_ranges lvmi >"$LVMI_DIR/lvm-ranges.out"
cleanup lvmi
run_ranges rl >"$LVMI_DIR/rlvm-ranges.out"
cleanup rl
if ! diff -u <(lvmi_placeholders <"$LVMI_DIR/lvm-ranges.out") <(lvmi_placeholders <"$LVMI_DIR/rlvm-ranges.out"); then
    fail "rlvm's PE ranges differ from LVM2's (diff above: - LVM2, + rlvm)"
fi
echo "PASS resize"
