#!/bin/sh
# The rollback demo (scripts/demo.sh boots the test VM with this script): a volume with data,
# a snapshot, the data broken, then rolled back with lvconvert --merge. Told as a story on the
# console.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
fast_polling

say() { echo; echo ">>> $*"; }
show() { echo "\$ $*"; "$@"; }

say "Two empty scratch disks: $d1 and $d2. Making them one volume group, 'demo'."
show rlvm pvcreate -y "$d1" "$d2" || fail "pvcreate"
show rlvm vgcreate demo "$d1" "$d2" || fail "vgcreate"
show rlvm lvcreate -L 32M -n data demo || fail "lvcreate"
show ls -l /dev/demo/data

fs=0
if command -v mke2fs >/dev/null && grep -qw ext2 /proc/filesystems; then fs=1; fi
mkdir -p /mnt/data /mnt/snap

# put_good_data / show_data / data_sum: the "important data", as files or as raw blocks.
if [ "$fs" = 1 ]; then
    say "Putting an ext2 filesystem on it, with some important files."
    show mke2fs -q -F /dev/demo/data || fail "mke2fs"
    show mount -t ext2 /dev/demo/data /mnt/data || fail "mount"
    {
        echo "Q3 budget: approved"
        echo "launch date: Friday"
    } >/mnt/data/plans.txt
    mkdir /mnt/data/photos
    for i in 1 2 3; do dd if=/dev/urandom of="/mnt/data/photos/img$i.raw" bs=64k count=16 2>/dev/null; done
    sync
    data_view() { (cd "$1" && find . -type f | sort | xargs md5sum); }
    show ls -lR /mnt/data
    show cat /mnt/data/plans.txt
    data_view /mnt/data >"$SCRATCH/good"
else
    say "No ext2 in this kernel/busybox: using raw data on the volume instead."
    { echo "Q3 budget: approved"; echo "launch date: Friday"; } >"$SCRATCH/text"
    dd if="$SCRATCH/text" of=/dev/demo/data conv=notrunc 2>/dev/null
    dd if=/dev/urandom of=/dev/demo/data bs=1M seek=1 count=8 conv=notrunc 2>/dev/null
    data_view() { dd if="$1" bs=1M count=9 2>/dev/null | md5sum; }
    show head -c 40 /dev/demo/data; echo
    data_view /dev/demo/data >"$SCRATCH/good"
fi
echo "fingerprint of the good data:"; cat "$SCRATCH/good"

say "Taking a snapshot before the risky change (COW as big as the volume, so it cannot fill up)."
show rlvm lvcreate -s -L 36M -n snap demo/data || fail "lvcreate -s"
show rlvm lvs -a -o lv_name,lv_attr,lv_size,origin,data_percent demo

say "Oops: the risky change goes wrong and breaks the data."
if [ "$fs" = 1 ]; then
    echo "CANCELLED" >/mnt/data/plans.txt
    rm -f /mnt/data/photos/img2.raw
    dd if=/dev/urandom of=/mnt/data/photos/img1.raw bs=64k count=16 2>/dev/null
    sync
    show cat /mnt/data/plans.txt
    show ls -l /mnt/data/photos
    data_view /mnt/data >"$SCRATCH/broken"
else
    show dd if=/dev/urandom of=/dev/demo/data bs=1M count=4 conv=notrunc
    data_view /dev/demo/data >"$SCRATCH/broken"
fi
cmp -s "$SCRATCH/good" "$SCRATCH/broken" && fail "the data did not change?"
echo "fingerprint now:"; cat "$SCRATCH/broken"
show rlvm lvs -o lv_name,lv_attr,data_percent demo

say "The snapshot still has the good data:"
if [ "$fs" = 1 ]; then
    show mount -t ext2 -o ro /dev/demo/snap /mnt/snap || fail "mount the snapshot"
    show cat /mnt/snap/plans.txt
    show ls -l /mnt/snap/photos
    data_view /mnt/snap >"$SCRATCH/snapview"
    umount /mnt/snap
else
    data_view /dev/demo/snap >"$SCRATCH/snapview"
fi
cmp -s "$SCRATCH/good" "$SCRATCH/snapview" || fail "the snapshot does not hold the good data"
echo "(its fingerprint matches the good data)"

say "Rolling back: merging the snapshot into the volume (lvconvert --merge)."
if [ "$fs" = 1 ]; then
    echo "While the volume is mounted the merge waits (as with LVM2) for the next activation:"
    show rlvm lvconvert --merge demo/snap || fail "lvconvert --merge (deferred)"
    show rlvm lvs -a -o lv_name,lv_attr,lv_size,origin,lv_merging demo
    say "Unmounting, then refreshing the volume starts the merge; its poller finishes it."
    show umount /mnt/data
    show rlvm lvchange --refresh demo/data || fail "lvchange --refresh"
    show dmsetup table demo-data
    i=0
    while rlvm lvs demo/snap >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || fail "merge did not finish"
        sleep 0.2
    done
else
    show rlvm lvconvert --merge -i 1 demo/snap || fail "lvconvert --merge"
fi
method="lvconvert --merge"

say "After the rollback ($method):"
if [ "$fs" = 1 ]; then
    show mount -t ext2 /dev/demo/data /mnt/data || fail "mount after rollback"
    show cat /mnt/data/plans.txt
    show ls -l /mnt/data/photos
    data_view /mnt/data >"$SCRATCH/after"
    umount /mnt/data
else
    data_view /dev/demo/data >"$SCRATCH/after"
fi
echo "fingerprint now:"; cat "$SCRATCH/after"
cmp -s "$SCRATCH/good" "$SCRATCH/after" || fail "the data is not the good data after the rollback"
show rlvm lvs -a -o lv_name,lv_attr,lv_size demo
show rlvm vgchange -an demo
say "ROLLBACK DEMO OK: the data is back as it was before the snapshot ($method)."
