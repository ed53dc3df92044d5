#!/bin/sh
# Guest side of scripts/bench-offline-merge.sh (read its header first). For each chunk size
# (BENCH_CHUNKS, KiB): an origin of BENCH_ORIGIN_MB MiB of zeros (A), a snapshot, then
# BENCH_CHANGE_MB MiB of the origin overwritten (BENCH_PATTERN=seq: one sequential dd;
# scatter: every other 4 KiB block, in reverse order, so no two exceptions are neighbours and
# the COW order is the reverse of the origin's), so the COW holds that many changed bytes.
#   raw     : dd iflag=direct oflag=direct bs=BENCH_DD_BS_MB MiB of the changed bytes' size
#             from the snapshot's -cow device to a scratch LV on the same PVs (the devices'
#             copy bandwidth for those bytes): the faster of two runs; raw_sync: one more with
#             conv=fsync (a copy made durable, as a merge must be);
#   kernel  : rlvm lvconvert --merge -b, until the kernel's snapshot-merge status says done
#             (mbench mergewait, status ioctl every 2 ms), i.e. the kernel merge's time;
#   offline : rlvm lvconvert -v --merge --offline, per thread count (BENCH_THREADS): the whole
#             command (deactivate, commit, copy, sync, commit, reactivate) and the engine's
#             copy+sync alone (its -v line); each preceded by raw copies on the same setup
#             (raw_s, and raw_sync_s with conv=fsync, of its line), the pair to compare under
#             the machine's load of the moment;
#             BENCH_REPEAT runs per thread count; with BENCH_FLUSH_MIB="32 0", each with
#             those early-flush intervals (RLVM_OFFLINE_FLUSH_MIB; 0: none), alternating.
# Every merged origin must read as A again (no byte but zero: md5 of hundreds of MiB takes a
# minute under emulation). Lines for the host:
#   BENCH-OFF chunk_k=C pattern=P mib=M raw_s=.. raw_sync_s=.. kernel_s=..
#   BENCH-OFFRUN chunk_k=C threads=N flush_mib=F rep=R raw_s=.. raw_sync_s=.. copy_s=.. (copy+sync) sync_s=.. cmd_s=..
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
CHUNKS=${BENCH_CHUNKS:-4 64 512}
ORIGIN_MB=${BENCH_ORIGIN_MB:-256}
CHANGE_MB=${BENCH_CHANGE_MB:-200}
PATTERN=${BENCH_PATTERN:-seq}
THREADS=${BENCH_THREADS:-1 2 4}
DD_BS_MB=${BENCH_DD_BS_MB:-4}
REPEAT=${BENCH_REPEAT:-3}
FLUSHES=${BENCH_FLUSH_MIB:-default}
fast_polling
# GNU dd when the image has it (iflag=direct as documented); busybox's otherwise.
[ -x /opt/gnu/bin/dd ] && PATH=/opt/gnu/bin:$PATH
echo 100 >/sys/module/dm_snapshot/parameters/snapshot_copy_throttle

quiet() { "$@" >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "command failed: $*"; }; }
dd if=/dev/zero bs=1M count=4 2>/dev/null | tr '\000' b >"$SCRATCH/b4"
now() { mbench now; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# setup CHUNK_KIB: vg0/origin (A: zeros) and vg0/snap, then the changes (bytes 'b').
# The origin is kept between runs: every merge leaves it all zeros again (check_a).
setup() {
    if ! [ -e /dev/vg0/origin ]; then
        quiet rlvm lvcreate -y -L "${ORIGIN_MB}M" -n origin vg0
        dd if=/dev/zero of=/dev/vg0/origin bs=4M oflag=direct 2>/dev/null || true
    fi
    # The COW holds every chunk a change touches: the changed bytes (seq), or with scatter
    # (one 4 KiB block in every 8 KiB) the whole span, twice them, once chunks pass 4 KiB.
    _cow=$CHANGE_MB
    [ "$PATTERN" = scatter ] && [ "$1" -gt 4 ] && _cow=$((2 * CHANGE_MB))
    quiet rlvm lvcreate -y -s -c "${1}k" -L $((_cow + _cow / 64 + 16))M -n snap vg0/origin
    case $PATTERN in
        seq)
            _i=0
            while [ $_i -lt $((CHANGE_MB / 4)) ]; do
                dd if="$SCRATCH/b4" of=/dev/vg0/origin bs=4M seek=$((_i + 2)) oflag=direct conv=notrunc 2>/dev/null
                _i=$((_i + 1))
            done
            ;;
        scatter) mbench scatter /dev/vg0/origin 0 $((CHANGE_MB * 256)) 8192 ;;
        *) fail "BENCH_PATTERN=$PATTERN" ;;
    esac
    sync
}
check_a() { # WHAT
    [ "$(tr -d '\000' </dev/vg0/origin | head -c 16 | wc -c)" = 0 ] || fail "$1: origin differs from A"
}
gone() {
    _n=0
    while rlvm lvs vg0/snap >/dev/null 2>&1; do
        _n=$((_n + 1)); [ $_n -le 1500 ] || fail "snapshot not removed"; sleep 0.2
    done
}

raw() { # FLAGS...: copy the changed bytes' size, COW -> scratch LV; prints seconds
    _t0=$(now)
    dd if=/dev/mapper/vg0-snap-cow of=/dev/vg0/raw bs=${DD_BS_MB}M count=$((CHANGE_MB / DD_BS_MB)) \
        iflag=direct oflag=direct conv=notrunc"$1" 2>/dev/null || fail "raw dd"
    secs "$_t0" "$(now)"
}

step "setup: VG on $d1 $d2; $(grep -c ^processor /proc/cpuinfo) CPUs; pattern $PATTERN, ${CHANGE_MB} MiB changed"
quiet rlvm pvcreate -y "$d1" "$d2"
quiet rlvm vgcreate vg0 "$d1" "$d2"
quiet rlvm lvcreate -y -L "${CHANGE_MB}M" -n raw vg0
for c in $CHUNKS; do
    step "chunk $c KiB: raw O_DIRECT copies, then the kernel merge"
    setup "$c"
    used=$(dmsetup status vg0-snap | awk '{ split($4, a, "/"); print a[1] }')
    echo "COW sectors used: $used"
    # Area 0 of the COW: its first entries (origin chunk, COW chunk) and where either
    # sequence breaks (what decides how far reads and writes coalesce), for the record.
    dd if=/dev/mapper/vg0-snap-cow bs=${c}k skip=1 count=1 2>/dev/null | od -An -tu8 -w16 -v |
        awk 'NF == 2 && $2 != 0 {
                 if (n < 4) first = first sprintf("(%s,%s) ", $1, $2)
                 if (n > 0 && ($1 != po + 1 || $2 != pn + 1)) { b++; if (b <= 8) br = br sprintf("(%s,%s)->(%s,%s) ", po, pn, $1, $2) }
                 po = $1; pn = $2; n++
             }
             END { printf "COW area 0: %d entries, first %s; %d breaks %s\n", n, first, b, br }'
    r1=$(raw "")
    r2=$(raw "")
    rs=$(raw ",fsync")
    echo "raw copies: $r1 s, $r2 s; with fsync at the end: $rs s"
    t0=$(now)
    quiet rlvm lvconvert --merge -b -i 1 vg0/snap
    r=$(mbench mergewait vg0-origin 2000)
    t1=$(echo "$r" | sed -n 's/.*done=\([0-9.]*\).*/\1/p')
    echo "BENCH-OFF chunk_k=$c pattern=$PATTERN mib=$CHANGE_MB raw_s=$(awk -v a="$r1" -v b="$r2" 'BEGIN { print (a < b ? a : b) }') raw_sync_s=$rs kernel_s=$(secs "$t0" "$t1")"
    gone
    check_a "kernel merge"
    rep=1
    while [ $rep -le "$REPEAT" ]; do
        for t in $THREADS; do
          for f in $FLUSHES; do
            step "chunk $c KiB: offline merge, $t thread(s), early flushes every $f MiB, run $rep"
            setup "$c"
            # A raw copy on this very setup, just before: the pair is measured under the
            # same load (this machine is shared; a run's speed drifts by 2x or more).
            rp=$(raw "")
            rps=$(raw ",fsync")
            fl=""
            [ "$f" = default ] || fl="RLVM_OFFLINE_FLUSH_MIB=$f"
            t0=$(now)
            env $fl RLVM_OFFLINE_THREADS="$t" rlvm lvconvert -v --merge --offline -i 0 vg0/snap >"$SCRATCH/off" 2>&1 ||
                { cat "$SCRATCH/off"; fail "offline merge"; }
            t1=$(now)
            grep "copied" "$SCRATCH/off" || true
            copy=$(sed -n 's/.*copy and sync \([0-9.]*\) s.*/\1/p' "$SCRATCH/off")
            sync_s=$(sed -n 's/.*; sync \([0-9.]*\) s).*/\1/p' "$SCRATCH/off")
            echo "BENCH-OFFRUN chunk_k=$c threads=$t flush_mib=$f rep=$rep raw_s=$rp raw_sync_s=$rps copy_s=$copy sync_s=$sync_s cmd_s=$(secs "$t0" "$t1")"
            check_a "offline merge"
          done
        done
        rep=$((rep + 1))
    done
    quiet rlvm lvremove -y vg0/origin
done
step "done"
