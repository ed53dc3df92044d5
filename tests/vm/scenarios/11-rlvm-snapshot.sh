#!/bin/sh
# vm: disks=3 size=64M timeout=240
# rlvm snapshots against the real kernel: lvcreate -s builds LVM2's stack (origin ->
# snapshot-origin over <origin>-real, snapshot over -real and <snap>-cow), the snapshot keeps
# the old data while the origin takes new writes, lvs shows owi-a-s---/swi-a-s--- and Data%,
# an oversized COW is reduced, two snapshots keep their own views, vgchange -an/-ay restores
# the whole stack, and removing the snapshots leaves a plain linear origin with the new data.
# lvextend of the active origin with a snapshot grows its -real device (the snapshot and the
# origin keep their data, nothing stays suspended), lvextend grows an active COW, an origin
# cannot be reduced, and lvreduce -f cuts an active linear LV's table.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
mm1=$(cat "/sys/class/block/${d1#/dev/}/dev")

vg0_devices() {
    dmsetup ls | awk '$1 ~ /^vg0-/ {print $1}' | sort
}
lv_field() {
    rlvm lvs --noheadings -o "$2" "vg0/$1" | tr -d ' '
}
# mm NAME: major:minor of dm device NAME.
mm() {
    dmsetup info -c --noheadings -o major,minor "$1" | tr -d ' '
}
# tables: every vg0 dm table, major:minor replaced by device names (dm devices and disks).
tables() {
    : >"$SCRATCH/map.sed"
    dmsetup info -c --noheadings --separator ' ' -o major,minor,name |
        while read -r ma mi n; do echo "s/ $ma:$mi / $n /g"; done >>"$SCRATCH/map.sed"
    for b in /sys/class/block/vd*; do
        echo "s/ $(cat "$b/dev") / ${b##*/} /g"
    done >>"$SCRATCH/map.sed"
    dmsetup table | grep '^vg0-' | sort | sed 's/$/ /' | sed -f "$SCRATCH/map.sed" | sed 's/ $//'
}
md5_of() {
    md5sum <"$1" | cut -d' ' -f1
}

step "VG and a 32 MiB origin holding pattern A"
run rlvm pvcreate -y "$d1" "$d2"
run rlvm vgcreate vg0 "$d1" "$d2"
run rlvm lvcreate -L 32M -n origin vg0
dd if=/dev/urandom of="$SCRATCH/a" bs=1M count=32 2>/dev/null
dd if=/dev/urandom of="$SCRATCH/b" bs=1M count=4 2>/dev/null
dd if=/dev/urandom of="$SCRATCH/c" bs=1M count=4 2>/dev/null
run dd if="$SCRATCH/a" of=/dev/vg0/origin bs=1M oflag=direct
run cmp /dev/vg0/origin "$SCRATCH/a"

step "lvcreate -s -L 16M -n snap vg0/origin: LVM2's device stack"
run rlvm lvcreate -s -L 16M -n snap vg0/origin
dmsetup table | grep '^vg0-'
expect_eq "vg0 devices" "$(vg0_devices | tr '\n' ' ')" "vg0-origin vg0-origin-real vg0-snap vg0-snap-cow "
real=$(mm vg0-origin-real)
cow=$(mm vg0-snap-cow)
expect_eq "table of vg0-origin" "$(dmsetup table vg0-origin)" "0 65536 snapshot-origin $real"
expect_eq "table of vg0-origin-real" "$(dmsetup table vg0-origin-real)" "0 65536 linear $mm1 2048"
expect_eq "table of vg0-snap-cow" "$(dmsetup table vg0-snap-cow)" "0 32768 linear $mm1 67584"
expect_eq "table of vg0-snap" "$(dmsetup table vg0-snap)" "0 65536 snapshot $real $cow P 8"
uuid_origin=$(dmsetup info -c --noheadings -o uuid vg0-origin)
uuid_snap=$(dmsetup info -c --noheadings -o uuid vg0-snap)
expect_eq "uuid of vg0-origin-real" "$(dmsetup info -c --noheadings -o uuid vg0-origin-real)" "$uuid_origin-real"
expect_eq "uuid of vg0-snap-cow" "$(dmsetup info -c --noheadings -o uuid vg0-snap-cow)" "$uuid_snap-cow"
[ -L /dev/vg0/snap ] || fail "no /dev/vg0/snap link"
[ ! -e /dev/vg0/origin-real ] && [ ! -e /dev/vg0/snap-cow ] || fail "/dev/vg0 links the hidden -real/-cow devices: $(ls /dev/vg0)"
run cmp /dev/vg0/snap "$SCRATCH/a"

step "overwrite the origin's first 4 MiB with B: the snapshot keeps A"
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M oflag=direct conv=notrunc
cp "$SCRATCH/a" "$SCRATCH/ba"
dd if="$SCRATCH/b" of="$SCRATCH/ba" bs=1M conv=notrunc 2>/dev/null
expect_eq "md5 of the snapshot" "$(md5_of /dev/vg0/snap)" "$(md5_of "$SCRATCH/a")"
expect_eq "md5 of the origin" "$(md5_of /dev/vg0/origin)" "$(md5_of "$SCRATCH/ba")"

step "lvs: attributes and Data%"
run rlvm lvs -a -o lv_name,lv_attr,lv_size,origin,data_percent vg0
expect_eq "lv_attr of origin" "$(lv_field origin lv_attr)" "owi-a-s---"
expect_eq "lv_attr of snap" "$(lv_field snap lv_attr)" "swi-a-s---"
expect_eq "origin of snap" "$(lv_field snap origin)" "origin"
pct=$(lv_field snap data_percent)
case $pct in
    ""|0|0.0|0.00) fail "Data% of snap after 4 MiB of copy-on-write is '$pct'" ;;
    [0-9]*.[0-9][0-9]) echo "Data% of snap: $pct" ;;
    *) fail "Data% of snap is '$pct', want a percentage like 25.05" ;;
esac

step "a COW larger than the origin needs is reduced"
out=$(rlvm lvcreate -s -L 200M -n big vg0/origin 2>&1) || fail "lvcreate -s -L 200M failed: $out"
echo "$out"
case $out in *"Reducing COW size"*) ;; *) fail "no 'Reducing COW size' in: $out" ;; esac
size=$(rlvm lvs --noheadings --units m --nosuffix -o lv_size vg0/big | tr -d ' ')
echo "size of big: ${size}m"
# LVM2 2.03.16 gives 36.00 MiB for a 32 MiB origin with 4 KiB chunks.
expect_eq "COW size of big" "$size" "36.00"
run rlvm lvremove -y vg0/big
expect_eq "vg0 devices after removing big" "$(vg0_devices | tr '\n' ' ')" "vg0-origin vg0-origin-real vg0-snap vg0-snap-cow "

step "a second snapshot with -c 8k; then overwrite MiB 4-8 with C"
run rlvm lvcreate -s -c 8k -L 8M -n snap2 vg0/origin
cow2=$(mm vg0-snap2-cow)
expect_eq "table of vg0-snap2" "$(dmsetup table vg0-snap2)" "0 65536 snapshot $real $cow2 P 16"
expect_eq "table of vg0-origin" "$(dmsetup table vg0-origin)" "0 65536 snapshot-origin $real"
run rlvm lvs -a -o lv_name,lv_attr,lv_size,origin,data_percent,chunk_size vg0
run dd if="$SCRATCH/c" of=/dev/vg0/origin bs=1M seek=4 oflag=direct conv=notrunc
cp "$SCRATCH/ba" "$SCRATCH/bca"
dd if="$SCRATCH/c" of="$SCRATCH/bca" bs=1M seek=4 conv=notrunc 2>/dev/null
expect_eq "md5 of snap (A)" "$(md5_of /dev/vg0/snap)" "$(md5_of "$SCRATCH/a")"
expect_eq "md5 of snap2 (B,A)" "$(md5_of /dev/vg0/snap2)" "$(md5_of "$SCRATCH/ba")"
expect_eq "md5 of origin (B,C,A)" "$(md5_of /dev/vg0/origin)" "$(md5_of "$SCRATCH/bca")"

step "vgchange -an / -ay round trip restores the whole stack"
tables >"$SCRATCH/tables-before"
cat "$SCRATCH/tables-before"
run rlvm vgchange -an vg0
expect_eq "vg0 devices after vgchange -an" "$(vg0_devices)" ""
[ ! -e /dev/vg0 ] || [ -z "$(ls /dev/vg0)" ] || fail "/dev/vg0 still has: $(ls /dev/vg0)"
expect_eq "lv_attr of snap when inactive" "$(lv_field snap lv_attr)" "swi---s---"
run rlvm vgchange -ay vg0
tables >"$SCRATCH/tables-after"
if ! cmp -s "$SCRATCH/tables-before" "$SCRATCH/tables-after"; then
    diff "$SCRATCH/tables-before" "$SCRATCH/tables-after" || true
    fail "the dm tables differ after vgchange -an/-ay"
fi
expect_eq "md5 of snap (A) after -an/-ay" "$(md5_of /dev/vg0/snap)" "$(md5_of "$SCRATCH/a")"
expect_eq "md5 of snap2 (B,A) after -an/-ay" "$(md5_of /dev/vg0/snap2)" "$(md5_of "$SCRATCH/ba")"
expect_eq "md5 of origin after -an/-ay" "$(md5_of /dev/vg0/origin)" "$(md5_of "$SCRATCH/bca")"
expect_eq "lv_attr of origin" "$(lv_field origin lv_attr)" "owi-a-s---"
expect_eq "lv_attr of snap" "$(lv_field snap lv_attr)" "swi-a-s---"

step "lvremove of one snapshot keeps the other"
run rlvm lvremove -y vg0/snap2
expect_eq "vg0 devices" "$(vg0_devices | tr '\n' ' ')" "vg0-origin vg0-origin-real vg0-snap vg0-snap-cow "
expect_eq "md5 of snap (A)" "$(md5_of /dev/vg0/snap)" "$(md5_of "$SCRATCH/a")"

step "lvremove of the last snapshot: the origin is linear again, with the new data"
run rlvm lvremove -y vg0/snap
expect_eq "vg0 devices" "$(vg0_devices)" "vg0-origin"
expect_eq "table of vg0-origin" "$(dmsetup table vg0-origin)" "0 65536 linear $mm1 2048"
expect_eq "md5 of origin" "$(md5_of /dev/vg0/origin)" "$(md5_of "$SCRATCH/bca")"
expect_eq "lv_attr of origin" "$(lv_field origin lv_attr)" "-wi-a-----"
[ ! -L /dev/vg0/snap ] || fail "/dev/vg0/snap link left"
step "lvextend of an active origin with a snapshot: -real grows, the snapshot keeps its view"
run rlvm lvcreate -s -L 8M -n s3 vg0/origin
run rlvm lvextend -L +8M vg0/origin
dmsetup table | grep '^vg0-'
real=$(mm vg0-origin-real)
expect_eq "table of vg0-origin" "$(dmsetup table vg0-origin)" "0 81920 snapshot-origin $real"
expect_eq "-real: old extents, then the new ones" "$(dmsetup table vg0-origin-real | awk '{print $1, $2, $3}' | tr '\n' ' ')" "0 65536 linear 65536 16384 linear "
expect_eq "table of vg0-s3 (length)" "$(dmsetup table vg0-s3 | cut -d' ' -f1-3)" "0 81920 snapshot"
expect_eq "size of /dev/vg0/origin" "$(blockdev --getsz /dev/vg0/origin)" "81920"
expect_eq "origin's first 32 MiB" "$(head -c 33554432 /dev/vg0/origin | md5sum | cut -d' ' -f1)" "$(md5_of "$SCRATCH/bca")"
expect_eq "s3's first 32 MiB" "$(head -c 33554432 /dev/vg0/s3 | md5sum | cut -d' ' -f1)" "$(md5_of "$SCRATCH/bca")"
expect_eq "suspended vg0 devices" "$(suspended_devices vg0-)" ""
expect_eq "lv_size of origin" "$(lv_field origin lv_size)" "40.00m"
step "lvextend of the active snapshot's COW; origin reduce refused"
run rlvm lvextend -L +4M vg0/s3
expect_eq "table of vg0-s3-cow (length)" "$(dmsetup table vg0-s3-cow | awk '{s+=$2} END {print s}')" "24576"
out=$(rlvm lvreduce -f -L -4M vg0/origin 2>&1) && fail "lvreduce of an origin succeeded: $out"
expect_eq "origin reduce refused" "$out" "  Snapshot origin volumes cannot be reduced in size yet."
run rlvm lvremove -y vg0/s3
step "lvreduce -f of the active linear origin: table cut to the new size"
run rlvm lvreduce -f -L 16M vg0/origin
expect_eq "table of vg0-origin" "$(dmsetup table vg0-origin)" "0 32768 linear $mm1 2048"
expect_eq "origin's first 16 MiB kept" "$(md5_of /dev/vg0/origin)" "$(head -c 16777216 "$SCRATCH/bca" | md5sum | cut -d' ' -f1)"
run rlvm lvremove -y vg0/origin
run rlvm vgremove vg0
expect_eq "vg0 devices at the end" "$(vg0_devices)" ""
step "rlvm snapshots OK"
