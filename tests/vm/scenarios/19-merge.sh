#!/bin/sh
# vm: disks=3 size=96M timeout=900
# lvconvert --merge against the real kernel, with real LVM2 as the reference:
#  1. online merge: from the first instant the origin reads the snapshot's content; the origin
#     carries snapshot-merge, the merging snapshot an error table, another snapshot keeps its
#     own content; the foreground poller prints LVM2's progress lines and finishes: one
#     metadata commit, no -cow/-real/snapshot device left, LVM2 reads and vgck's the result;
#  2. refusals with LVM2's messages, changing nothing (bytes of the PVs' metadata compared);
#  3. deferral while the origin is open, started by lvchange --refresh, finished by the
#     background poller that the refresh started;
#  4. --onactivate leaves the running system untouched; vgchange -an/-ay starts the merge and
#     its background poller finishes it;
#  5. a filesystem: merge started with the origin unmounted, mounted while merging (shows the
#     snapshot's files at once), written to, fsck clean afterwards;
#  6. interop: a merge scheduled by rlvm is finished by LVM2's activation and poller, and a
#     merge LVM2 deferred is started and finished by rlvm's;
#  7. rlvm run from a filesystem on the LV it suspends (the root's case), each of its pages read
#     at first use: lvcreate -s, lvremove and the poller's finish of a merge return, nothing is
#     left suspended.
. "$RLVM_TEST_LIB"
need_disks 3
d1=$(disk 1)
d2=$(disk 2)
d3=$(disk 3)
PATH=/opt/gnu/bin:$PATH   # mkfs.ext4 and e2fsck from e2fsprogs, when the image has them

fast_polling
# snapshot_copy_throttle: % of time the kernel may copy; 100 (the default) is unthrottled.
throttle=/sys/module/dm_snapshot/parameters/snapshot_copy_throttle

md5_of() { md5sum <"$1" | cut -d' ' -f1; }
lv_field() { rlvm lvs -a --noheadings -o "$2" "vg0/$1" | tr -d ' '; }
dm_target() { dmsetup table "$1" 2>/dev/null | awk '{ print $3; exit }'; }
vg0_devices() { dmsetup ls | awk '$1 ~ /^vg0-/ { print $1 }' | sort | tr '\n' ' '; }
# gone LV [SECONDS]: wait until vg0/LV has left the metadata.
gone() {
    _n=0
    while rlvm lvs "vg0/$1" >/dev/null 2>&1; do
        _n=$((_n + 1))
        [ "$_n" -le $((${2:-60} * 5)) ] || fail "vg0/$1 still there after ${2:-60}s: $(rlvm lvs -a vg0 2>&1)"
        sleep 0.2
    done
}
# expect_fail5 WHAT EXPECTED_TEXT CMD...: the command fails with exit 5 and says TEXT.
expect_fail5() {
    _what=$1 _text=$2
    shift 2
    echo "+ $* (must fail)"
    set +e
    "$@" >"$SCRATCH/out" 2>&1
    _rc=$?
    set -e
    cat "$SCRATCH/out"
    [ "$_rc" = 5 ] || fail "$_what: exit $_rc, want 5"
    grep -qF -- "$_text" "$SCRATCH/out" || fail "$_what: output lacks '$_text'"
}
mda_sums() { for d in "$d1" "$d2" "$d3"; do dd if="$d" bs=1M count=1 2>/dev/null | md5sum; done; }
fill() { dd if=/dev/urandom of="$1" bs=1M count="$2" 2>/dev/null; }

step "VG, origin with A, snapshot s1 (A), origin overwritten in part with B, snapshot s2"
run rlvm pvcreate -y "$d1" "$d2" "$d3"
run rlvm vgcreate vg0 "$d1" "$d2" "$d3"
run rlvm lvcreate -L 32M -n origin vg0
fill "$SCRATCH/a" 32
fill "$SCRATCH/b" 8
run dd if="$SCRATCH/a" of=/dev/vg0/origin bs=1M oflag=direct
run rlvm lvcreate -s -L 16M -n s1 vg0/origin
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=4 oflag=direct conv=notrunc
run rlvm lvcreate -s -L 24M -n s2 vg0/origin
sum_a=$(md5_of "$SCRATCH/a")
sum_ab=$(md5_of /dev/vg0/origin)
[ "$sum_ab" != "$sum_a" ] || fail "the origin did not change"
expect_eq "s1 holds A" "$(md5_of /dev/vg0/s1)" "$sum_a"
expect_eq "s2 holds A+B" "$(md5_of /dev/vg0/s2)" "$sum_ab"

step "refusals change nothing"
expect_fail5 "merge of a non-snapshot" "cannot be merged" rlvm lvconvert --merge vg0/origin
expect_fail5 "merge of a missing LV" "Failed to find logical volume" rlvm lvconvert --merge vg0/nosuch
run rlvm lvchange -p r vg0/origin
expect_fail5 "merge into a read-only origin" "into the read-only origin vg0/origin. (Use lvchange -p rw)." \
    rlvm lvconvert --merge vg0/s1
run rlvm lvchange -p rw vg0/origin
set +e
rlvm lvconvert --merge >/dev/null 2>&1
rc=$?
set -e
expect_eq "lvconvert --merge without LV: exit" "$rc" 3
expect_eq "s1 unchanged by the refusals" "$(lv_field s1 lv_attr)" "swi-a-s---"

step "merge s1 online (throttled copy): the origin reads A at once"
echo 2 >"$throttle"
rlvm lvconvert --merge -b -i +5 vg0/s1 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "lvconvert --merge -b"; }
cat "$SCRATCH/out"
grep -qF "Merging of volume vg0/s1 started." "$SCRATCH/out" || fail "no 'Merging of volume vg0/s1 started.'"
expect_eq "origin target" "$(dm_target vg0-origin)" "snapshot-merge"
expect_eq "merging snapshot's device" "$(dm_target vg0-s1)" "error"
expect_eq "other snapshot target" "$(dm_target vg0-s2)" "snapshot"
expect_eq "origin reads A while merging" "$(md5_of /dev/vg0/origin)" "$sum_a"
expect_eq "s2 keeps A+B while merging" "$(md5_of /dev/vg0/s2)" "$sum_ab"
run rlvm lvs -a -o lv_name,lv_attr,origin,data_percent,lv_merging vg0
case $(lv_field origin lv_attr) in O*) ;; *) fail "origin attr $(lv_field origin lv_attr), want O..." ;; esac
echo 100 >"$throttle"

step "the background poller finishes: s1 gone, s2 kept, origin still an origin"
gone s1 60
expect_eq "origin after merge" "$(md5_of /dev/vg0/origin)" "$sum_a"
expect_eq "s2 after merge" "$(md5_of /dev/vg0/s2)" "$sum_ab"
expect_eq "vg0 devices" "$(vg0_devices)" "vg0-origin vg0-origin-real vg0-s2 vg0-s2-cow "
expect_eq "origin target" "$(dm_target vg0-origin)" "snapshot-origin"
run lvm vgck vg0
run lvm lvs -a vg0
expect_eq "LVM2 sees s2 only" "$(lvm lvs --noheadings -o lv_name vg0 | tr -d ' ' | sort | tr '\n' ' ')" "origin s2 "

step "foreground merge of the last snapshot: progress lines, plain linear origin after"
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=20 oflag=direct conv=notrunc
echo 1 >"$throttle"
rlvm lvconvert --merge -i 1 vg0/s2 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "foreground merge"; }
echo 100 >"$throttle"
cat "$SCRATCH/out"
grep -q "^  vg0/origin: Merged: [0-9.]*%$" "$SCRATCH/out" || fail "no LVM2-style progress line"
grep -qF "Merge of snapshot into logical volume vg0/origin has finished." "$SCRATCH/out" || fail "no finish line"
grep -qF 'Logical volume "s2" successfully removed.' "$SCRATCH/out" || fail "no removal line"
expect_eq "origin is s2's content" "$(md5_of /dev/vg0/origin)" "$sum_ab"
expect_eq "vg0 devices" "$(vg0_devices)" "vg0-origin "
expect_eq "origin target" "$(dm_target vg0-origin)" "linear"
expect_eq "origin attr" "$(lv_field origin lv_attr)" "-wi-a-----"
run lvm vgck vg0

step "deferred while the origin is open; lvchange --refresh starts it; poller finishes"
run rlvm lvcreate -s -L 16M -n s3 vg0/origin
run rlvm lvcreate -s -L 8M -n s3b vg0/origin
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=0 oflag=direct conv=notrunc
sum_before_s3=$sum_ab
sleep 300 </dev/vg0/origin &
holder=$!
sleep 0.5
rlvm lvconvert --merge vg0/s3 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "deferred merge"; }
cat "$SCRATCH/out"
grep -qF "Delaying merge since origin is open." "$SCRATCH/out" || fail "no delay message"
grep -qF "Merging of snapshot vg0/s3 will occur on next activation of vg0/origin." "$SCRATCH/out" || fail "no deferral message"
expect_eq "origin target while deferred" "$(dm_target vg0-origin)" "snapshot-origin"
expect_eq "s3 target while deferred" "$(dm_target vg0-s3)" "snapshot"
run rlvm lvchange --refresh vg0/origin
expect_eq "still deferred while open" "$(dm_target vg0-origin)" "snapshot-origin"
expect_eq "merging snapshot hidden from lvs" "$(rlvm lvs --noheadings -o lv_name vg0 | tr -d ' ' | sort | tr '\n' ' ')" "origin s3b "
expect_eq "lvs -a shows [s3]" "$(rlvm lvs -a --noheadings -o lv_name vg0 | tr -d ' ' | sort | tr '\n' ' ')" "[s3] origin s3b "
expect_eq "s3 attr" "$(lv_field s3 lv_attr)" "Swi-a-s---"
expect_eq "origin attr (deferred, open)" "$(lv_field origin lv_attr)" "Owi-aos---"
expect_eq "LVM2 agrees on the attrs" "$(lvm lvs -a --noheadings -o lv_attr vg0/origin vg0/s3 | tr -d ' ' | tr '\n' ' ')" "Owi-aos--- Swi-a-s--- "
step "refusals while a merge is pending"
before=$(mda_sums)
expect_fail5 "second merge into the merging origin" "Cannot merge snapshot vg0/s3b into the origin vg0/origin with merging snapshot vg0/s3." \
    rlvm lvconvert --merge vg0/s3b
expect_fail5 "snapshot of a merging origin" "Snapshots of an origin that has a merging snapshot are not supported." \
    rlvm lvcreate -s -L 4M -n s5 vg0/origin
expect_fail5 "removing the merging snapshot" "Can't remove merging snapshot logical volume vg0/s3." \
    rlvm lvremove -f vg0/s3
expect_fail5 "activating the hidden merging snapshot" "Operation not permitted on hidden LV vg0/s3." \
    rlvm lvchange -ay vg0/s3
expect_fail5 "merging the merging snapshot again" "Command not permitted on LV vg0/s3." \
    rlvm lvconvert --merge vg0/s3
expect_eq "no byte of metadata changed by the refusals" "$(mda_sums)" "$before"
kill "$holder"
wait "$holder" 2>/dev/null || true
run rlvm lvchange --refresh vg0/origin
gone s3 60
expect_eq "origin back to s3's content" "$(md5_of /dev/vg0/origin)" "$sum_before_s3"
run rlvm lvremove -f vg0/s3b
expect_eq "vg0 devices" "$(vg0_devices)" "vg0-origin "

step "--onactivate: nothing running changes; vgchange -ay starts it and polls it to the end"
run rlvm lvcreate -s -L 16M -n s4 vg0/origin
sum_s4=$(md5_of /dev/vg0/s4)
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=10 oflag=direct conv=notrunc
sum_changed=$(md5_of /dev/vg0/origin)
tables_before=$(dmsetup table | grep '^vg0-' | sort)
rlvm lvconvert --merge --onactivate vg0/s4 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "--onactivate"; }
cat "$SCRATCH/out"
grep -qF "Merging of snapshot vg0/s4 will occur on next activation of vg0/origin." "$SCRATCH/out" || fail "no schedule message"
expect_eq "tables untouched" "$(dmsetup table | grep '^vg0-' | sort)" "$tables_before"
expect_eq "origin data untouched" "$(md5_of /dev/vg0/origin)" "$sum_changed"
expect_eq "LVM2 sees the merge scheduled" "$(lvm lvs --noheadings -o lv_merging vg0/origin 2>/dev/null | tr -d ' ')" "merging"
run rlvm vgchange -an vg0
run rlvm vgchange -ay vg0
gone s4 60
expect_eq "origin rolled back to s4" "$(md5_of /dev/vg0/origin)" "$sum_s4"
expect_eq "vg0 devices" "$(vg0_devices)" "vg0-origin "

step "a filesystem: merge runs with the origin mounted and written; fsck clean"
if command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null; then
    run mkfs.ext4 -q -F /dev/vg0/origin
    mkdir -p /mnt/o
    run mount /dev/vg0/origin /mnt/o
    echo old >/mnt/o/old
    sync
    run rlvm lvcreate -s -L 16M -n fs vg0/origin
    rm /mnt/o/old
    dd if=/dev/urandom of=/mnt/o/new bs=1M count=6 2>/dev/null
    sync
    run umount /mnt/o
    echo 1 >"$throttle"
    run rlvm lvconvert --merge -b vg0/fs
    run mount /dev/vg0/origin /mnt/o
    [ -f /mnt/o/old ] && [ ! -e /mnt/o/new ] || fail "the mounted origin does not show the snapshot's files: $(ls /mnt/o)"
    dd if=/dev/urandom of=/mnt/o/during bs=1M count=2 2>/dev/null
    sync
    echo 100 >"$throttle"
    gone fs 60
    run umount /mnt/o
    run e2fsck -fn /dev/vg0/origin
else
    echo "mkfs.ext4/e2fsck not in this image: filesystem step skipped"
fi

step "interop: rlvm schedules, LVM2 activates and finishes"
run rlvm lvcreate -s -L 16M -n x1 vg0/origin
sum_x1=$(md5_of /dev/vg0/x1)
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=12 oflag=direct conv=notrunc
run rlvm lvconvert --merge --onactivate vg0/x1
run lvm vgchange -an vg0
run lvm vgchange -ay vg0
n=0
while lvm lvs vg0/x1 >/dev/null 2>&1; do
    n=$((n + 1)); [ $n -le 300 ] || fail "LVM2's poller did not finish rlvm's merge"; sleep 0.2
done
expect_eq "origin rolled back by LVM2" "$(md5_of /dev/vg0/origin)" "$sum_x1"
run rlvm lvs -a vg0

step "interop: LVM2 defers (origin open), rlvm starts and finishes"
run lvm lvcreate -s -L 16M -n x2 vg0/origin
sum_x2=$(md5_of /dev/vg0/x2)
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=14 oflag=direct conv=notrunc
sleep 300 </dev/vg0/origin &
holder=$!
sleep 0.5
run lvm lvconvert --merge vg0/x2
kill "$holder"
wait "$holder" 2>/dev/null || true
run rlvm vgchange -an vg0
run rlvm vgchange -ay vg0
gone x2 60
expect_eq "origin rolled back by rlvm" "$(md5_of /dev/vg0/origin)" "$sum_x2"
run lvm vgck vg0
expect_eq "vg0 devices" "$(vg0_devices)" "vg0-origin "
step "removing the origin during a merge removes it with its snapshots (as LVM2 does)"
run rlvm lvcreate -s -L 16M -n y1 vg0/origin
run rlvm lvcreate -s -L 8M -n y2 vg0/origin
run dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=16 oflag=direct conv=notrunc
echo 1 >"$throttle"
run rlvm lvconvert --merge -b -i +30 vg0/y1
run rlvm lvs -a -o lv_name,lv_attr,lv_merging --reportformat json vg0
expect_eq "JSON shows the merge" "$(rlvm lvs --reportformat json -o lv_name,lv_merging vg0/origin | grep -c '"lv_merging":"merging"')" "1"
run rlvm lvremove -f vg0/origin
echo 100 >"$throttle"
expect_eq "no LV left" "$(rlvm lvs --noheadings -a vg0 | wc -l)" "0"
expect_eq "no device left" "$(vg0_devices)" ""
run lvm vgck vg0

step "a foreground poller between full looks: its progress is the kernel's, deactivation interrupts it, activation resumes the merge"
# While the kernel merges, the poller's looks glance at the origin's status alone (a full look,
# with the VG's lock and metadata, every 30 s): the progress it prints must still be the
# kernel's, and a device gone under a glance must end the poll as a full look would. The merge
# is held (its -cow device suspended) while the poller looks.
run rlvm lvcreate -L 48M -n origin vg0
run dd if="$SCRATCH/a" of=/dev/vg0/origin bs=1M oflag=direct conv=notrunc
sum_z=$(md5_of /dev/vg0/origin)
run rlvm lvcreate -s -L 44M -n z1 vg0/origin
for _s in 0 8 16 24 32; do
    dd if="$SCRATCH/b" of=/dev/vg0/origin bs=1M seek=$_s oflag=direct conv=notrunc 2>/dev/null
done
rlvm lvconvert --merge -i 1 vg0/z1 >"$SCRATCH/poll" 2>&1 &
poller=$!
_n=0
until grep -q "Merging of volume vg0/z1 started" "$SCRATCH/poll"; do
    _n=$((_n + 1))
    [ "$_n" -le 300 ] && kill -0 "$poller" 2>/dev/null || { cat "$SCRATCH/poll"; fail "the merge did not start"; }
    sleep 0.05
done
run dmsetup suspend --nolockfs vg0-z1-cow
sleep 4.5
# The kernel's figure while held, as LVM2 computes it: 100 - 100 * allocated / total.
want=$(dmsetup status vg0-origin | awk '{ split($4, a, "/"); printf "%.2f", 100 - 100 * a[1] / a[2] }')
got=$(sed -n 's/^  vg0\/origin: Merged: \([0-9.]*\)%$/\1/p' "$SCRATCH/poll" | tail -n 1)
looks=$(grep -c 'Merged:' "$SCRATCH/poll")
run dmsetup resume vg0-z1-cow
run rlvm lvchange -an vg0/origin
wait "$poller" && _rc=0 || _rc=$?
cat "$SCRATCH/poll"
[ "$looks" -ge 3 ] || fail "$looks progress lines while the merge was held 4.5 s at -i 1, want 3 or more"
expect_eq "progress printed while held (the kernel's: $(dmsetup status vg0-origin 2>&1))" "$got" "$want"
case $want in 0.00 | 100.00) fail "held at $want%: the hold missed the merge" ;; esac
[ "$_rc" = 0 ] || fail "poller interrupted by deactivation: exit $_rc, want 0 (as LVM2)"
grep -qF "vg0/origin: Interrupted: No longer active." "$SCRATCH/poll" || fail "no interruption line"
expect_eq "origin inactive" "$(vg0_devices)" ""
run rlvm vgchange -ay vg0
gone z1 60
expect_eq "origin rolled back after the resumed merge" "$(md5_of /dev/vg0/origin)" "$sum_z"
expect_eq "origin target" "$(dm_target vg0-origin)" "linear"
run lvm vgck vg0
run rlvm lvremove -y vg0/origin

# rlvm run from the LV it suspends, as when it is installed on the root: its pages are read from
# that LV when first needed, and one first needed between the suspend and the resume would wait
# for a resume that never comes (the root frozen for good). The LV's read-ahead is off and the
# page cache dropped, so every page is read on its own at first use. The command is killed if
# it hangs, and the devices resumed, so the failure is reported instead of the VM freezing.
self_run() {
    echo 3 >/proc/sys/vm/drop_caches
    echo "+ /mnt/self/rlvm $*"
    timeout -s KILL 120 /mnt/self/rlvm "$@" && _rc=0 || _rc=$?
    if [ "$_rc" = 0 ]; then
        expect_eq "vg0 devices left suspended by rlvm $*" "$(suspended_devices vg0-)" ""
        return 0
    fi
    for _d in $(suspended_devices vg0-); do
        echo "resuming $_d, left suspended"
        dmsetup resume "$_d" || true
    done
    fail "rlvm $* run from the LV it suspends: rc=$_rc (137: killed after hanging)"
}
step "rlvm installed on the LV it suspends: snapshot, merge and removal finish"
if command -v mkfs.ext4 >/dev/null; then
    run rlvm lvcreate -L 48M -n self vg0
    run mkfs.ext4 -q -F /dev/vg0/self
    mkdir -p /mnt/self
    run mount /dev/vg0/self /mnt/self
    run cp "$(command -v rlvm)" /mnt/self/rlvm
    sync
    run blockdev --setra 0 /dev/vg0/self
    self_run lvcreate -s -L 8M -n selfsnap vg0/self
    expect_eq "origin table" "$(dm_target vg0-self)" snapshot-origin
    echo new >/mnt/self/after-snapshot
    sync
    self_run lvremove -y vg0/selfsnap
    expect_eq "origin table after lvremove" "$(dm_target vg0-self)" linear
    self_run lvcreate -s -L 8M -n selfsnap vg0/self
    rm /mnt/self/after-snapshot
    sync
    # The merge as the boot runs it: started with the LV unmounted and no poller, the LV
    # mounted while it merges, then the poller (run from the LV) finishes it: a suspend and
    # resume of the mounted LV.
    run umount /mnt/self
    run rlvm lvconvert --merge --onactivate vg0/selfsnap
    run rlvm lvchange --refresh --poll n vg0/self
    expect_eq "origin table while merging" "$(dm_target vg0-self)" snapshot-merge
    run mount /dev/vg0/self /mnt/self
    run blockdev --setra 0 /dev/vg0/self
    self_run lvpoll --polloperation merge -i 1 vg0/self
    gone selfsnap 10
    [ -f /mnt/self/after-snapshot ] || fail "the merge did not bring back the file removed after the snapshot"
    expect_eq "origin table after the merge" "$(dm_target vg0-self)" linear
    run umount /mnt/self
    run rlvm lvremove -y vg0/self
else
    echo "mkfs.ext4 not in this image: step skipped"
fi
step "merge scenario passed"
