#!/usr/bin/env bash
# pvck as LVM2's: on PVs LVM2 made (one and two metadata areas, copies that
# wrapped), every --dump prints the same lines and saves the same files as
# LVM2's pvck, intact and with label and mda header zeroed; `pvck --repair`
# from a dumped copy and from a backup file leaves PVs that LVM2 reads and
# checks clean; a repair that cannot know the PV writes nothing.
. "$(dirname "$0")/lib.sh"
LVMI_NO_TRAP=${LVMI_NO_TRAP:-}
lvmi_setup 34M 34M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
export LVM_SUPPRESS_FD_WARNINGS=1
cd "$LVMI_DIR"
lvmi pvcreate -q "$d0"
lvmi pvcreate -q --pvmetadatacopies 2 "$d1"
lvmi vgcreate -q vg0 "$d0" "$d1"
for i in 1 2 3; do lvmi lvcreate -q -an -Zn -l1 -n "lv$i" vg0; done

# Same stdout, stderr and exit status as LVM2's pvck; same saved file.
same() {
    local f=
    if [ "$1" = -f ]; then f=$2; shift 2; fi
    local a b
    rm -f "lvm.$f" "rl.$f"
    # (LVM2 in metadata-only mode says so first.)
    a=$({ lvmi pvck "$@" ${f:+-f "lvm.$f"} 2>&1; echo "rc $?"; } | grep -v 'Activation disabled')
    b=$(rl pvck "$@" ${f:+-f "rl.$f"} 2>&1; echo "rc $?")
    expect_eq "pvck $* output" "$a" "$b"
    if [ -n "$f" ]; then
        if [ -e "lvm.$f" ] || [ -e "rl.$f" ]; then
            cmp "lvm.$f" "rl.$f" || fail "pvck $* -f: files differ"
            echo "ok: pvck $* -f: same file"
        else
            echo "ok: pvck $* -f: no file, as LVM2"
        fi
    fi
}
dumps() {
    local d=$1
    same "$d"
    same --dump headers "$d"
    same -f m --dump metadata "$d"
    same -f all --dump metadata_all "$d"
    same -f area --dump metadata_area "$d"
    same -f s --dump metadata_search "$d"
    same -f s1 --dump metadata_search --settings seqno=2 "$d"
    same --dump metadata --pvmetadatacopies 2 "$d"
    same --dump metadata_search --settings mda_num=2 "$d"
}
dumps "$d0"
dumps "$d1"
# Damaged: label and first mda header zeroed.
lvmi vgcfgbackup -q -f vg0.backup vg0
dd if=/dev/zero of="$d1" bs=512 count=2 conv=notrunc status=none
dd if=/dev/zero of="$d1" bs=512 count=1 seek=8 conv=notrunc status=none
sync
dumps "$d1"
same -f meta --dump metadata_search --settings "mda_num=2 seqno=4" "$d1"

# Repair that cannot know which PV this is (no UUID left, no name hint
# matching): refused, nothing written.
sed 's|device = "[^"]*"|device = "/dev/nosuch"|' rl.meta > meta.bad
before=$(md5sum < "$d1")
expect_rc 5 rl pvck --repair -y -f meta.bad "$d1"
expect_eq "refused repair wrote nothing" "$before" "$(md5sum < "$d1")"
# From the dumped copy.
rl pvck --repair -y -f rl.meta "$d1"
expect_rc 0 lvmi pvck "$d1"
expect_rc 0 lvmi vgck vg0
expect_eq "LVM2 sees the LVs" "lv1 lv2 lv3" "$(lvm_field lvs -o lv_name vg0 | sort | xargs)"
expect_eq "same label as LVM2 would write" "2" \
    "$(lvmi pvck --dump headers "$d1" | grep -c 'location of metadata area')"
# From a backup file, after zeroing label, header and text of the first PV.
dd if=/dev/zero of="$d0" bs=512 count=2 conv=notrunc status=none
dd if=/dev/zero of="$d0" bs=512 count=3 seek=8 conv=notrunc status=none
sync
rl pvck --repair -y -f vg0.backup "$d0"
expect_rc 0 lvmi pvck "$d0"
expect_rc 0 lvmi vgck vg0
expect_eq "LVM2 sees the LVs after the backup repair" "lv1 lv2 lv3" \
    "$(lvm_field lvs -o lv_name vg0 | sort | xargs)"
echo "PASS pvck"
