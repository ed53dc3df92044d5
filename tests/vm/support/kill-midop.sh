#!/bin/sh
# kill -9 in the middle of device-mapper operations, for tests/vm.rs `kill_mid_operation`
# (rlvm built with the `failpoints` feature: RLVM_KILL_AT_IOCTL=N kills it just before its Nth
# state-changing dm ioctl). lvcreate -s, lvremove of a snapshot, lvrename and lvconvert --merge
# are killed before each of their ioctls in turn, the others before every 2nd or 3rd (CI time);
# after every kill ONE ordinary follow-up command runs, and then:
#   nothing is suspended and no inactive table is loaded; the VG's dm devices are exactly those
#   of its LVs in the metadata (all of them after -ay, none after -an); every active LV has its
#   /dev/mapper node and /dev/vg0 link; origin and snapshot read their data; vgchange -an and
#   -ay work; LVM2's vgck passes.
# Then the VG is brought back to the base state (origin+snap, plain, all active) for the next.
# Prints "KILLS total=.. mid=.. recovered=..". Last, what rlvm keeps locked in memory while
# lvcreate -s has the origin suspended: nothing when its binary is on tmpfs without swap,
# the binary when it is on a disk filesystem, everything with swap in use.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
fast_polling
md5_of() { md5sum <"$1" | cut -d' ' -f1; }
pattern() { dd if=/dev/zero bs=1M count="$2" 2>/dev/null | tr '\000' "$1"; }
sum_a=$(pattern a 16 | md5sum | cut -d' ' -f1)
q() { "$@" >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "command failed: $*"; }; }

lvs_names() { rlvm lvs -a --noheadings -o lv_name vg0 | tr -d ' []' | sort; }
# The dm devices metadata asks for when every LV is active (one lvs call).
expected_active() {
    rlvm lvs -a --noheadings -o lv_name,origin,lv_attr vg0 | tr -d '[]' |
        awk '{ if (NF == 3) { print "vg0-" $1; print "vg0-" $1 "-cow" }
               else { print "vg0-" $1; if ($2 ~ /^o/) print "vg0-" $1 "-real" } }' |
        sort | tr '\n' ' '
}
devices() { dmsetup ls | awk '$1 ~ /^vg0-/ { print $1 }' | sort | tr '\n' ' '; }

check_clean() {   # WHAT
    dmsetup info -c --noheadings -o name,attr | grep '^vg0-' >"$SCRATCH/attrs" || true
    if awk -F: '$2 ~ /s/ || $2 ~ /i/ || $2 ~ /I/' "$SCRATCH/attrs" | grep -q .; then
        cat "$SCRATCH/attrs"; fail "$1: a device is suspended or has an inactive table"
    fi
}
check_all_active() {   # WHAT
    check_clean "$1"
    want=$(expected_active)
    expect_eq "$1: devices" "$(devices)" "$want"
    for lv in $want; do
        case $lv in *-real|*-cow) continue ;; esac
        [ -b "/dev/mapper/$lv" ] && [ -L "/dev/vg0/${lv#vg0-}" ] || fail "$1: no node/link for $lv"
    done
    expect_eq "$1: origin data" "$(md5_of /dev/vg0/origin)" "$sum_a"
    if [ -e /dev/vg0/snap ]; then expect_eq "$1: snap data" "$(md5_of /dev/vg0/snap)" "$sum_a"; fi
    q rlvm vgchange -an vg0
    expect_eq "$1: devices after -an" "$(devices)" ""
    q rlvm vgchange -ay vg0
    expect_eq "$1: devices after -ay" "$(devices)" "$want"
    q lvm vgck vg0
}
check_all_inactive() {   # WHAT
    check_clean "$1"
    expect_eq "$1: devices" "$(devices)" ""
    [ -z "$(ls /dev/vg0 2>/dev/null)" ] || fail "$1: stale links $(ls /dev/vg0)"
    q rlvm vgchange -ay vg0
    expect_eq "$1: devices after -ay" "$(devices)" "$(expected_active)"
    expect_eq "$1: origin data" "$(md5_of /dev/vg0/origin)" "$sum_a"
    q lvm vgck vg0
}
# Back to the base state: origin (A) + snap, plain, everything active.
base() {
    q rlvm vgchange -ay vg0
    have=" $(lvs_names | tr '\n' ' ')"
    case $have in *" snap2 "*) q rlvm lvremove -f vg0/snap2 ;; esac
    case $have in *" new "*) q rlvm lvremove -f vg0/new ;; esac
    case $have in *" plain2 "*) q rlvm lvrename vg0 plain2 plain ;; esac
    case $have in *" snap "*) ;; *) q rlvm lvcreate -s -L 8M -n snap vg0/origin ;; esac
}
step "base state"
q rlvm pvcreate -y "$d1" "$d2"
q rlvm vgcreate vg0 "$d1" "$d2"
q rlvm lvcreate -L 16M -n origin vg0
pattern a 16 | dd of=/dev/vg0/origin bs=1M oflag=direct 2>/dev/null
q rlvm lvcreate -s -L 8M -n snap vg0/origin
q rlvm lvcreate -L 8M -n plain vg0

step "vgmknodes repairs nodes, links and a stray inactive table"
rm -f /dev/vg0/plain /dev/mapper/vg0-plain
ln -s ../mapper/vg0-ghost /dev/vg0/ghost
dmsetup table vg0-plain | dmsetup load vg0-plain
dmsetup info -c --noheadings -o attr vg0-plain | grep -q I || fail "no inactive table to repair"
q rlvm vgmknodes vg0
cat "$SCRATCH/q.out"
[ -b /dev/mapper/vg0-plain ] && [ -L /dev/vg0/plain ] || fail "vgmknodes did not make vg0-plain's node and link"
[ ! -e /dev/vg0/ghost ] && [ ! -L /dev/vg0/ghost ] || fail "vgmknodes left the stale link"
check_clean vgmknodes

total=0 mid=0 recovered=0
# try NAME STEP SETUP FOLLOWUP CHECK CMD...: kill CMD before its ioctl 1, 1+STEP, 1+2*STEP...
# (STEP 1: before every one).
try() {
    name=$1 stride=$2 setup=$3 follow=$4 check=$5
    shift 5
    n=1
    while :; do
        base
        [ -z "$setup" ] || q $setup
        set +e
        RLVM_KILL_AT_IOCTL=$n "$@" >"$SCRATCH/out" 2>&1
        rc=$?
        set -e
        if [ "$rc" = 0 ]; then
            echo "$name: completes with $((n - 1)) ioctls"
            [ "$n" -gt 1 ] || fail "$name: no ioctl at all?"
            break
        fi
        [ "$rc" = 137 ] || { cat "$SCRATCH/out"; fail "$name killed at $n: exit $rc"; }
        total=$((total + 1)); mid=$((mid + 1))
        echo "--- $name killed before ioctl $n; follow-up: $follow"
        "$follow" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "$name/$n: follow-up '$follow' failed"; }
        cat "$SCRATCH/out"
        $check "$name/$n"
        recovered=$((recovered + 1))
        n=$((n + stride))
        [ $n -le 40 ] || fail "$name: more than 40 ioctls?"
    done
}
vg_ay() { rlvm vgchange -ay vg0; }
vg_an() { rlvm vgchange -an vg0; }
lv_ay() { rlvm lvchange -ay vg0/origin && rlvm vgchange -ay vg0; }
lv_an() { rlvm lvchange -an vg0/origin; }
check_lv_an() {
    check_clean "$1"
    case " $(devices) " in *" vg0-origin "*|*" vg0-snap "*|*"-real "*|*"-cow "*) fail "$1: origin family still has devices: $(devices)" ;; esac
    [ ! -e /dev/vg0/origin ] && [ ! -e /dev/vg0/snap ] || fail "$1: stale links: $(ls /dev/vg0)"
    q rlvm vgchange -ay vg0
    check_all_active "$1"
}

step "lvcreate -s killed at every ioctl; follow-up vgchange -ay"
try lvcreate-s 1 "" vg_ay check_all_active rlvm lvcreate -s -L 8M -n snap2 vg0/origin
step "lvremove of a snapshot killed at every ioctl; follow-up vgchange -ay"
try lvremove-snap 1 "" vg_ay check_all_active rlvm lvremove -f vg0/snap
step "lvcreate killed at every ioctl; follow-up vgchange -ay"
try lvcreate 2 "" vg_ay check_all_active rlvm lvcreate -L 4M -n new vg0
step "lvrename killed at every ioctl; follow-up vgchange -ay"
try lvrename 1 "" vg_ay check_all_active rlvm lvrename vg0 plain plain2
step "vgchange -an killed at every ioctl; follow-up vgchange -an"
try vgchange-an 3 "" vg_an check_all_inactive rlvm vgchange -an vg0
step "vgchange -ay killed at every ioctl; follow-up vgchange -ay"
try vgchange-ay 3 "rlvm vgchange -an vg0" vg_ay check_all_active rlvm vgchange -ay vg0
step "lvchange -an killed at every ioctl; follow-up lvchange -an"
try lvchange-an 2 "" lv_an check_lv_an rlvm lvchange -an vg0/origin
step "lvchange -ay killed at every ioctl; follow-up lvchange -ay"
try lvchange-ay 2 "rlvm lvchange -an vg0/origin" lv_ay check_all_active rlvm lvchange -ay vg0/origin

step "lvconvert --merge killed at every ioctl (start and finish); follow-up vgchange -ay"
n=1
while :; do
    base
    q rlvm lvcreate -s -L 8M -n m vg0/origin
    pattern b 4 | dd of=/dev/vg0/origin bs=1M seek=2 oflag=direct conv=notrunc 2>/dev/null
    set +e
    RLVM_KILL_AT_IOCTL=$n rlvm lvconvert --merge -i 1 vg0/m >"$SCRATCH/out" 2>&1
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then echo "merge: completes with $((n - 1)) ioctls"; break; fi
    [ "$rc" = 137 ] || { cat "$SCRATCH/out"; fail "merge killed at $n: exit $rc"; }
    total=$((total + 1)); mid=$((mid + 1))
    # Each of the follow-ups the issue names, in turn.
    case $((n % 4)) in
        1) follow="rlvm vgchange -ay vg0" ;;
        2) follow="rlvm lvchange -ay vg0/origin" ;;
        3) follow="rlvm lvchange --refresh vg0/origin" ;;
        0) follow="rlvm vgchange --poll y vg0" ;;
    esac
    echo "--- merge killed before ioctl $n; follow-up: $follow"
    q $follow
    cat "$SCRATCH/q.out"
    check_clean "merge/$n"
    # Killed before the merge was committed: the user merges again.
    if [ -z "$(rlvm lvs --noheadings -o lv_merging vg0/origin | tr -d ' ')" ] && rlvm lvs vg0/m >/dev/null 2>&1; then
        q rlvm lvconvert --merge -i 1 vg0/m
    fi
    i=0
    while rlvm lvs vg0/m >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -le 150 ] || fail "merge/$n: not finished"; sleep 0.2
    done
    check_all_active "merge/$n"
    recovered=$((recovered + 1))
    n=$((n + 1))
done
echo "KILLS total=$total mid=$mid recovered=$recovered"

# vgchange reads the VG under its lock from the devices its first (unlocked) scan found, not
# from a new enumeration (src/cmd/activate.rs `read_vg`); a VG found there with a PV missing
# is read again after a full scan. Shown here: a PV on a device that did not exist at the
# first scan, added to the VG by other commands while vgchange is held between that scan and
# its VG lock (failpoint vgchange:selected, wait mode), is found and its LV comes up.
step "vgchange -ay: a PV added on a new device between its first scan and its VG lock"
mkdir -p "$SCRATCH/etcl"
sed 's/"a|^\/dev\/vd|", /"a|^\/dev\/vd|", "a|^\/dev\/loop|", /' /etc/lvm/lvm.conf >"$SCRATCH/etcl/lvm.conf"
grep -q 'a|^/dev/loop|' "$SCRATCH/etcl/lvm.conf" || fail "could not widen the filter: $(grep filter /etc/lvm/lvm.conf)"
(
    export LVM_SYSTEM_DIR="$SCRATCH/etcl"
    truncate -s 16M "$SCRATCH/r1.img" "$SCRATCH/r2.img"
    l1=$(losetup -f)
    q losetup "$l1" "$SCRATCH/r1.img"
    q rlvm pvcreate -y "$l1"
    q rlvm vgcreate vgr "$l1"
    q rlvm lvcreate -an -Zn -L 4m -n a vgr
    RLVM_FAILPOINT=vgchange:selected RLVM_FAILPOINT_MODE=wait RLVM_FAILPOINT_GO="$SCRATCH/go" \
        rlvm vgchange -ay vgr >"$SCRATCH/race.out" 2>&1 &
    pid=$!
    n=0
    until grep -q "failpoint: vgchange:selected: waiting" "$SCRATCH/race.out"; do
        n=$((n + 1))
        [ $n -le 300 ] || { cat "$SCRATCH/race.out"; fail "vgchange never reached vgchange:selected"; }
        sleep 0.2
    done
    l2=$(losetup -f)
    q losetup "$l2" "$SCRATCH/r2.img"
    q rlvm pvcreate -y "$l2"
    q rlvm vgextend vgr "$l2"
    q rlvm lvcreate -an -Zn -L 4m -n b vgr "$l2"
    touch "$SCRATCH/go"
    wait $pid || { cat "$SCRATCH/race.out"; fail "vgchange -ay with a PV added under it failed"; }
    grep -q '2 logical volume(s) in volume group "vgr" now active' "$SCRATCH/race.out" ||
        { cat "$SCRATCH/race.out"; fail "vgchange -ay did not bring up both LVs"; }
    if grep -qi 'missing\|find device\|partial' "$SCRATCH/race.out"; then
        cat "$SCRATCH/race.out"; fail "vgchange -ay saw the VG incomplete"
    fi
    # vgr-b maps the new loop device.
    set -- $(stat -L -c '%t %T' "$l2")
    dmsetup table vgr-b >"$SCRATCH/race.table" || fail "vgr-b is not active"
    grep -q " linear $((0x$1)):$((0x$2)) " "$SCRATCH/race.table" ||
        fail "vgr-b is not on $l2 ($((0x$1)):$((0x$2))): $(cat "$SCRATCH/race.table")"
    q rlvm vgchange -an vgr
    q rlvm vgremove -f vgr
    q losetup -d "$l1"
    q losetup -d "$l2"
)
rm -f "$SCRATCH/go" "$SCRATCH/r1.img" "$SCRATCH/r2.img"

# What rlvm holds locked in memory while it has a device suspended (src/dm/memlock.rs): only
# what a page fault could read from a device. The failpoint's report mode prints VmLck at the
# point where lvcreate -s has the origin suspended.
locked_while_suspended() {   # RLVM_BINARY
    RLVM_FAILPOINT=create:suspended RLVM_FAILPOINT_MODE=report \
        "$1" lvcreate -s -L 8M -n lk vg0/plain >"$SCRATCH/lk.out" 2>&1 ||
        { cat "$SCRATCH/lk.out"; fail "lvcreate -s with the report failpoint failed"; }
    q rlvm lvremove -f vg0/lk
    sed -n 's/^failpoint: create:suspended: VmLck \([0-9]*\) kB$/\1/p' "$SCRATCH/lk.out"
}
step "memory locked while suspended: only what a fault could read from a device"
rl=$(command -v rlvm)
expect_eq "no swap in the test VM" "$(awk 'NR > 1' /proc/swaps | wc -l)" 0
kb=$(locked_while_suspended "$rl")
echo "rlvm from the initramfs ($(stat -f -c %T "$rl")), no swap: VmLck $kb kB"
[ -n "$kb" ] || fail "no VmLck report at create:suspended"
expect_eq "nothing locked for a binary in memory without swap" "$kb" 0
# The same binary on a disk filesystem (busybox's mke2fs: ext2 on an LV) is locked whole.
q rlvm lvcreate -L 28M -n lkfs vg0
q busybox mke2fs -q /dev/vg0/lkfs
mkdir -p /mnt/lk
q mount -t ext2 /dev/vg0/lkfs /mnt/lk
cp "$rl" /mnt/lk/rlvm
kb=$(locked_while_suspended /mnt/lk/rlvm)
echo "rlvm from ext2 on an LV, no swap: VmLck $kb kB"
[ "${kb:-0}" -gt 1024 ] || fail "the binary on a disk filesystem was not locked: VmLck ${kb:-?} kB"
q umount /mnt/lk
q rlvm lvremove -f vg0/lkfs
# With swap in use, anonymous memory could be paged out: everything is locked.
q rlvm lvcreate -L 8M -n lkswap vg0
q busybox mkswap /dev/vg0/lkswap
q busybox swapon /dev/vg0/lkswap
kb=$(locked_while_suspended "$rl")
q busybox swapoff /dev/vg0/lkswap
echo "rlvm from the initramfs, swap on: VmLck $kb kB"
[ "${kb:-0}" -gt 0 ] || fail "nothing locked with swap in use: VmLck ${kb:-?} kB"
q rlvm lvremove -f vg0/lkswap
step "kill-midop passed"
