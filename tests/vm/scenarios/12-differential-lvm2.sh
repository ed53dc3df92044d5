#!/bin/sh
# vm: disks=3 size=64M timeout=480 cpus=2
# rlvm and real LVM2 activate the same VG identically: after `rlvm vgchange -ay` and after
# `lvm vgchange -ay` the kernel holds the same devices (names, UUIDs) with the same tables
# (major:minor numbers normalised to device names), and the same /dev links. Each tool
# deactivates cleanly what the other activated. The VG has a hyphenated name, a hyphenated
# LV, a snapshot with its origin and a striped LV.
# Then a VG of 41 LVs (5 with a snapshot): rlvm's vgchange -ay, which runs independent LV
# families on several threads, gives the state of a serial run (RLVM_DM_THREADS=1) and of
# LVM2's; vgchange -an removes everything; an LV the kernel refuses (its extents beyond the
# end of a shrunk PV) fails alone: the others come up, nothing is left suspended or loaded.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
vg=my-vg

dm_devices() {
    dmsetup ls | awk '$1 != "No" {print $1}' | sort
}
# state FILE: the kernel's view of every dm device (name, UUID, table with device names for
# major:minor) and the /dev/$vg links, as one comparable text.
state() {
    : >"$SCRATCH/map.sed"
    dmsetup info -c --noheadings --separator ' ' -o major,minor,name |
        while read -r ma mi n; do echo "s/ $ma:$mi / $n /g"; done >>"$SCRATCH/map.sed"
    for b in /sys/class/block/vd*; do
        echo "s/ $(cat "$b/dev") / ${b##*/} /g"
    done >>"$SCRATCH/map.sed"
    {
        echo "# dmsetup table"
        dmsetup table | sort | sed 's/$/ /' | sed -f "$SCRATCH/map.sed" | sed 's/ $//'
        echo "# dmsetup info name,uuid"
        dmsetup info -c --noheadings -o name,uuid | sort
        echo "# dmsetup info name,attr (suspended, read-only, open...)"
        dmsetup info -c --noheadings -o name,attr | sort
        # Where the links lead (LVM2 without udev writes absolute links, rlvm may write
        # relative ones: the same device either way).
        echo "# /dev/$vg"
        for l in "/dev/$vg"/*; do
            [ -L "$l" ] && echo "$l -> $(readlink -f "$l")"
        done | sort
        # The read-ahead each tool leaves on each device (LVM2 sets it after the resume).
        echo "# read_ahead_kb"
        dmsetup info -c --noheadings --separator ' ' -o name,minor |
            while read -r n mi; do echo "$n $(cat "/sys/block/dm-$mi/queue/read_ahead_kb")"; done |
            sort
    } >"$1"
}
expect_same() {
    if ! cmp -s "$2" "$3"; then
        echo "--- $2"; cat "$2"; echo "--- $3"; cat "$3"
        diff "$2" "$3" || true
        fail "$1"
    fi
}

step "rlvm builds $vg: lv-1, origin + snap, striped st"
run rlvm pvcreate -y "$d1" "$d2"
run rlvm vgcreate "$vg" "$d1" "$d2"
run rlvm lvcreate -L 12M -n lv-1 "$vg"
run rlvm lvcreate -L 16M -n origin "$vg"
run rlvm lvcreate -i 2 -I 64k -L 16M -n st "$vg"
dd if=/dev/urandom of="$SCRATCH/data" bs=1M count=2 2>/dev/null
run dd if="$SCRATCH/data" of="/dev/$vg/origin" bs=1M oflag=direct conv=notrunc
run rlvm lvcreate -s -L 8M -n snap "$vg/origin"
dd if=/dev/urandom of="$SCRATCH/new" bs=1M count=1 2>/dev/null
dd if="$SCRATCH/data" of="$SCRATCH/data-tail" bs=1M skip=1 2>/dev/null
run dd if="$SCRATCH/new" of="/dev/$vg/origin" bs=1M oflag=direct conv=notrunc
run lvm lvs -a -o lv_name,lv_attr,lv_size,origin,devices "$vg"
run rlvm vgchange -an "$vg"
expect_eq "dm devices after rlvm vgchange -an" "$(dm_devices)" ""

step "rlvm vgchange -ay"
run rlvm vgchange -ay "$vg"
state "$SCRATCH/rlvm.state"
cat "$SCRATCH/rlvm.state"
grep -q '^my--vg-lv--1:' "$SCRATCH/rlvm.state" || fail "no my--vg-lv--1 device (dm name escaping)"

step "lvm vgchange -an deactivates what rlvm activated"
run lvm vgchange -an "$vg"
expect_eq "dm devices after lvm vgchange -an" "$(dm_devices)" ""
[ ! -e "/dev/$vg" ] || [ -z "$(ls "/dev/$vg")" ] || fail "/dev/$vg still has: $(ls -l "/dev/$vg")"

step "lvm vgchange -ay: the same kernel state as rlvm's"
run lvm vgchange -ay "$vg"
state "$SCRATCH/lvm.state"
expect_same "rlvm and LVM2 activate $vg differently" "$SCRATCH/rlvm.state" "$SCRATCH/lvm.state"
dd if="/dev/$vg/snap" bs=1M count=2 2>/dev/null | cmp -s - "$SCRATCH/data" ||
    fail "the snapshot does not hold the data written before it was taken"
dd if="/dev/$vg/origin" bs=1M count=1 2>/dev/null | cmp -s - "$SCRATCH/new" || fail "origin lost its new data"
dd if="/dev/$vg/origin" bs=1M skip=1 count=1 2>/dev/null |
    cmp -s - "$SCRATCH/data-tail" || fail "origin lost its old second MiB"

step "rlvm lvs sees LVM2's activation"
run rlvm lvs -a -o lv_name,lv_attr "$vg"
for lv in lv-1 st; do
    expect_eq "lv_attr of $lv (LVM2-activated)" "$(rlvm lvs --noheadings -o lv_attr "$vg/$lv" | tr -d ' ')" "-wi-a-----"
done
expect_eq "lv_attr of origin (LVM2-activated)" "$(rlvm lvs --noheadings -o lv_attr "$vg/origin" | tr -d ' ')" "owi-a-s---"
expect_eq "lv_attr of snap (LVM2-activated)" "$(rlvm lvs --noheadings -o lv_attr "$vg/snap" | tr -d ' ')" "swi-a-s---"

step "with active LVs, rlvm's reports equal LVM2's byte for byte"
# The lvs lists of metadata-only fields (the second one sorted by size, selected on the
# origin) are made without asking the kernel (report::values::METADATA_ONLY).
for c in "lvs -a $vg" "lvs -a -o +lv_active,lv_dm_path,devices $vg" "vgs $vg" "pvs" \
    "lvs -a -o lv_name,lv_size,origin,lv_uuid,devices,segtype,lv_role,lv_merging $vg" \
    "lvs -a -o lv_name,vg_name,lv_size,lv_path,seg_count -O -lv_size,lv_name -S origin=origin $vg" \
    "lvdisplay $vg/snap" "lvdisplay $vg/origin $vg" "vgdisplay $vg"; do
    # shellcheck disable=SC2086
    expect_eq "report: $c" "$(rlvm $c 2>/dev/null | grep -v '^ *$' || true)" \
        "$(lvm $c 2>/dev/null | grep -v '^ *$' || true)"
done

step "rlvm vgchange -an deactivates what LVM2 activated"
run rlvm vgchange -an "$vg"
expect_eq "dm devices after rlvm vgchange -an" "$(dm_devices)" ""
[ ! -e "/dev/$vg" ] || [ -z "$(ls "/dev/$vg")" ] || fail "/dev/$vg still has: $(ls -l "/dev/$vg")"

step "per-LV: lvm lvchange -ay / rlvm lvchange -an, and the reverse"
run lvm lvchange -ay "$vg/lv-1"
run rlvm lvchange -an "$vg/lv-1"
expect_eq "dm devices after rlvm lvchange -an of LVM2's lv-1" "$(dm_devices)" ""
[ ! -L "/dev/$vg/lv-1" ] || fail "rlvm lvchange -an left LVM2's link: $(ls -l "/dev/$vg/lv-1")"
run rlvm lvchange -ay "$vg/origin"
dmsetup table | grep "^my--vg-" || true
run lvm lvchange -an "$vg/origin"
expect_eq "dm devices after lvm lvchange -an of rlvm's origin" "$(dm_devices)" ""
for l in origin snap; do
    [ ! -L "/dev/$vg/$l" ] || fail "lvm lvchange -an left rlvm's link: $(ls -l "/dev/$vg/$l")"
done

step "a VG created by LVM2, activated by each tool"
run lvm vgremove -ff -y "$vg"
[ ! -e "/dev/$vg" ] || fail "/dev/$vg left after vgremove: $(ls -l "/dev/$vg")"
run lvm vgcreate "$vg" "$d1" "$d2"
run lvm lvcreate -y -an -Zn -L 12M -n lv-1 "$vg"
run lvm lvcreate -y -an -Zn -L 16M -n origin "$vg"
run lvm lvcreate -y -an -Zn -i 2 -I 64k -L 16M -n st "$vg"
run lvm lvchange -ay "$vg/origin"
run lvm lvcreate -y -s -L 8M -n snap "$vg/origin"
run lvm vgchange -an "$vg"
run lvm vgchange -ay "$vg"
state "$SCRATCH/lvm2.state"
run lvm vgchange -an "$vg"
run rlvm vgchange -ay "$vg"
state "$SCRATCH/rlvm2.state"
expect_same "rlvm activates an LVM2-made VG differently" "$SCRATCH/lvm2.state" "$SCRATCH/rlvm2.state"
run lvm vgchange -an "$vg"
expect_eq "dm devices at the end" "$(dm_devices)" ""

step "a VG of 41 LVs, 5 with a snapshot: threads, one thread and LVM2 activate it alike"
d3=$(disk 3)
vg=par
# A second PV on a loop device (seen through an lvm.conf that accepts loop devices, as in
# 13-failure.sh), shrunk below the end of LV tail later.
mkdir -p "$SCRATCH/etc"
sed 's/"a|^\/dev\/vd|", /"a|^\/dev\/vd|", "a|^\/dev\/loop|", /' /etc/lvm/lvm.conf >"$SCRATCH/etc/lvm.conf"
grep -q 'a|^/dev/loop|' "$SCRATCH/etc/lvm.conf" || fail "could not widen the filter: $(grep filter /etc/lvm/lvm.conf)"
export LVM_SYSTEM_DIR="$SCRATCH/etc"
img="$SCRATCH/pv.img"
truncate -s 8M "$img"
loop=$(losetup -f)
run losetup "$loop" "$img"
run rlvm pvcreate -y "$d3" "$loop"
run rlvm vgcreate -s 1m "$vg" "$d3" "$loop"
i=0
while [ $i -lt 40 ]; do
    rlvm lvcreate -an -Zn -L 1m -n "l$i" "$vg" "$d3" >/dev/null || fail "lvcreate l$i"
    i=$((i + 1))
done
run rlvm lvcreate -an -Zn -L 2m -n tail "$vg" "$loop"
run rlvm vgchange -ay "$vg"
for i in 1 9 17 25 33; do
    rlvm lvcreate -s -L 2m -n "s$i" "$vg/l$i" "$d3" >/dev/null || fail "lvcreate -s l$i"
done
run rlvm vgchange -an "$vg"
expect_eq "dm devices after rlvm vgchange -an of $vg" "$(dm_devices)" ""
run env RLVM_DM_THREADS=1 rlvm vgchange -ay "$vg"
state "$SCRATCH/serial.state"
expect_eq "dm devices of $vg (41 LVs, 5 snapshots with -real and -cow)" \
    "$(dm_devices | wc -l)" 56
run rlvm vgchange -an "$vg"
expect_eq "dm devices after rlvm vgchange -an of $vg" "$(dm_devices)" ""
run rlvm vgchange -ay "$vg"
state "$SCRATCH/threads.state"
expect_same "threads activate $vg differently from one thread" \
    "$SCRATCH/serial.state" "$SCRATCH/threads.state"
run lvm vgchange -an "$vg"
expect_eq "dm devices after lvm vgchange -an" "$(dm_devices)" ""
run lvm vgchange -ay "$vg"
state "$SCRATCH/lvm-par.state"
expect_same "rlvm (threads) and LVM2 activate $vg differently" \
    "$SCRATCH/threads.state" "$SCRATCH/lvm-par.state"
# rlvm's lvs asks the kernel about these 46 devices from two threads (dm/kernel.rs
# devices_of, 16 devices or more per thread): each LV's facts (its device number, open,
# suspended) must land on its own row, as LVM2 reports them (stdout only: LVM2 warns on
# stderr about the open descriptor 3).
exec 3<"/dev/$vg/l5"
run dmsetup suspend "$vg-l30"
for c in "lvs -a -o +lv_active,lv_kernel_major,lv_kernel_minor,lv_device_open $vg" \
    "lvs -o lv_name,lv_attr --select lv_name=l5||lv_name=l30 $vg" \
    "lvs -o lv_name,lv_size,lv_dm_path --select lv_name=l5||lv_name=l30 $vg"; do
    # shellcheck disable=SC2086
    expect_eq "report of $vg with l5 open and l30 suspended: $c" \
        "$(rlvm $c 2>/dev/null | grep -v '^ *$' || true)" \
        "$(lvm $c 2>/dev/null | grep -v '^ *$' || true)"
done
expect_eq "lv_attr of l5 (open)" "$(rlvm lvs --noheadings -o lv_attr "$vg/l5" | tr -d ' ')" \
    "-wi-ao----"
expect_eq "lv_attr of l30 (suspended)" "$(rlvm lvs --noheadings -o lv_attr "$vg/l30" | tr -d ' ')" \
    "-wi-s-----"
run dmsetup resume "$vg-l30"
exec 3<&-
run rlvm vgchange -an "$vg"
expect_eq "dm devices after rlvm vgchange -an of LVM2's $vg" "$(dm_devices)" ""
[ ! -e "/dev/$vg" ] || [ -z "$(ls "/dev/$vg")" ] || fail "/dev/$vg still has: $(ls -l "/dev/$vg")"

step "the kernel refuses one LV of $vg: it fails alone, nothing is left suspended"
# tail's extents (1 MiB pe_start, then 2 MiB) now end beyond the loop device.
run losetup -d "$loop"
truncate -s 2M "$img"
run losetup "$loop" "$img"
try() {
    echo "+ $*"
    RC=0
    OUT=$("$@" 2>&1) || RC=$?
    [ -z "$OUT" ] || echo "$OUT"
    echo "  (rc=$RC)"
}
try rlvm vgchange -ay "$vg"
expect_eq "exit status of vgchange -ay with tail refused" "$RC" 5
expect_eq "dm devices up (all but tail)" "$(dm_devices | wc -l)" 55
dm_devices | grep -q "^$vg-tail\$" && fail "$vg-tail was left in the kernel"
dmsetup info -c --noheadings --separator ' ' -o name,attr
dmsetup info -c --noheadings --separator ' ' -o name,attr |
    awk '$2 ~ /s|I/ {print; bad = 1} END {exit bad}' || fail "a device was left suspended or with an inactive table"
for i in 0 17 39; do
    [ -b "/dev/$vg/l$i" ] || fail "/dev/$vg/l$i missing after the partial activation"
done
run rlvm vgchange -an "$vg"
expect_eq "dm devices at the end" "$(dm_devices)" ""
run losetup -d "$loop"
step "rlvm and LVM2 activate identically"
