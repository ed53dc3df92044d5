#!/bin/sh
# Guest side of scripts/bench-offline-merge.sh (read its header first). For each chunk size
# (BENCH_CHUNKS, KiB): an origin of BENCH_ORIGIN_MB MiB holding pattern A, a snapshot, then
# BENCH_CHANGE_MB MiB of the origin overwritten (BENCH_PATTERN=seq: one sequential dd;
# scatter: every other 4 KiB block, in reverse order, so no two exceptions are neighbours and
# the COW order is the reverse of the origin's), so the COW holds that many changed bytes.
#   raw     : dd iflag=direct oflag=direct bs=BENCH_DD_BS_MB MiB of the changed bytes' size
#             from the snapshot's -cow device to a scratch LV on the same PVs (the devices'
#             copy bandwidth for those bytes);
#   kernel  : rlvm lvconvert --merge -b, until the kernel's snapshot-merge status says done
#             (mbench mergewait, status ioctl every 2 ms), i.e. the kernel merge's time;
#   offline : rlvm -v lvconvert --merge --offline, per thread count (BENCH_THREADS): the whole
#             command (deactivate, commit, copy, sync, commit, reactivate) and the engine's
#             copy+sync alone (its -v line).
# Every merged origin is checked against pattern A (md5). Lines for the host:
#   BENCH-OFF chunk_k=C pattern=P mib=M raw_s=.. kernel_s=.. offline_t<N>_cmd_s=.. offline_t<N>_copy_s=..
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
CHUNKS=${BENCH_CHUNKS:-4 64 512}
ORIGIN_MB=${BENCH_ORIGIN_MB:-256}
CHANGE_MB=${BENCH_CHANGE_MB:-200}
PATTERN=${BENCH_PATTERN:-seq}
THREADS=${BENCH_THREADS:-1 4}
DD_BS_MB=${BENCH_DD_BS_MB:-4}
fast_polling
# GNU dd when the image has it (iflag=direct as documented); busybox's otherwise.
[ -x /opt/gnu/bin/dd ] && PATH=/opt/gnu/bin:$PATH
echo 100 >/sys/module/dm_snapshot/parameters/snapshot_copy_throttle

quiet() { "$@" >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "command failed: $*"; }; }
pattern() { dd if=/dev/zero bs=1M count="$2" 2>/dev/null | tr '\000' "$1"; }
sum_a=$(pattern a "$ORIGIN_MB" | md5sum | cut -d' ' -f1)
now() { mbench now; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# setup CHUNK_KIB: vg0/origin (pattern A) and vg0/snap, then the changes.
setup() {
    quiet rlvm lvcreate -y -L "${ORIGIN_MB}M" -n origin vg0
    pattern a "$ORIGIN_MB" | dd of=/dev/vg0/origin bs=4M oflag=direct 2>/dev/null
    quiet rlvm lvcreate -y -s -c "${1}k" -L $((CHANGE_MB + CHANGE_MB / 64 + 16))M -n snap vg0/origin
    case $PATTERN in
        seq) pattern b "$CHANGE_MB" | dd of=/dev/vg0/origin bs=4M seek=2 oflag=direct conv=notrunc 2>/dev/null ;;
        scatter) mbench scatter /dev/vg0/origin 0 $((CHANGE_MB * 256)) 8192 ;;
        *) fail "BENCH_PATTERN=$PATTERN" ;;
    esac
    sync
}
check_a() { # WHAT
    [ "$(md5sum </dev/vg0/origin | cut -d' ' -f1)" = "$sum_a" ] || fail "$1: origin differs from pattern A"
}
gone() {
    _n=0
    while rlvm lvs vg0/snap >/dev/null 2>&1; do
        _n=$((_n + 1)); [ $_n -le 1500 ] || fail "snapshot not removed"; sleep 0.2
    done
}

step "setup: VG on $d1 $d2; $(grep -c ^processor /proc/cpuinfo) CPUs; pattern $PATTERN, ${CHANGE_MB} MiB changed"
quiet rlvm pvcreate -y "$d1" "$d2"
quiet rlvm vgcreate vg0 "$d1" "$d2"
for c in $CHUNKS; do
    line="BENCH-OFF chunk_k=$c pattern=$PATTERN mib=$CHANGE_MB"
    step "chunk $c KiB: raw O_DIRECT copy, then the kernel merge"
    setup "$c"
    used=$(dmsetup status vg0-snap | awk '{ split($4, a, "/"); print a[1] }')
    echo "COW sectors used: $used"
    quiet rlvm lvcreate -y -L "${CHANGE_MB}M" -n raw vg0
    t0=$(now)
    dd if=/dev/mapper/vg0-snap-cow of=/dev/vg0/raw bs=${DD_BS_MB}M count=$((CHANGE_MB / DD_BS_MB)) \
        iflag=direct oflag=direct conv=notrunc 2>/dev/null || fail "raw dd"
    t1=$(now)
    quiet rlvm lvremove -y vg0/raw
    line="$line raw_s=$(secs "$t0" "$t1")"
    t0=$(now)
    quiet rlvm lvconvert --merge -b -i 1 vg0/snap
    r=$(mbench mergewait vg0-origin 2000)
    t1=$(echo "$r" | sed -n 's/.*done=\([0-9.]*\).*/\1/p')
    line="$line kernel_s=$(secs "$t0" "$t1")"
    gone
    check_a "kernel merge"
    quiet rlvm lvremove -y vg0/origin
    for t in $THREADS; do
        step "chunk $c KiB: offline merge, $t thread(s)"
        setup "$c"
        t0=$(now)
        RLVM_OFFLINE_THREADS=$t rlvm -v lvconvert --merge --offline -i 0 vg0/snap >"$SCRATCH/off" 2>&1 ||
            { cat "$SCRATCH/off"; fail "offline merge"; }
        t1=$(now)
        grep "copied" "$SCRATCH/off" || true
        copy=$(sed -n 's/.*copy and sync \([0-9.]*\) s.*/\1/p' "$SCRATCH/off")
        line="$line offline_t${t}_cmd_s=$(secs "$t0" "$t1") offline_t${t}_copy_s=$copy"
        check_a "offline merge"
        quiet rlvm lvremove -y vg0/origin
    done
    echo "$line"
done
step "done"
