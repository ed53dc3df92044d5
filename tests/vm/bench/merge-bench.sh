#!/bin/sh
# Guest side of scripts/bench-merge.sh (read its header first): rlvm against LVM2's `lvm`
# on the same VG, same volumes, same kernel, one tool after the other.
#
# Stall runs (BENCH_RUNS per tool, the tools alternating): a 128 MiB origin, a snapshot, the
# writer's block written once (its exception is the store's first, so the kernel merges it
# last, never in the start window), then BENCH_CHANGE_CHUNKS chunks changed, every other one
# (`mbench scatter`: each is a merge step of its own, so a merge is long but cheap to set up). A
# writer (mbench write: open, 4 KiB O_DIRECT write, close, every BENCH_WRITE_US) runs on
# the origin while `lvconvert --merge -b -i 1` starts the merge and its background poller
# finishes it (snapshot_copy_throttle=BENCH_THROTTLE % meanwhile). Windows, on one
# clock (CLOCK_MONOTONIC via `mbench now`):
#   start   = the lvconvert command, from exec to exit;
#   finish  = from the first look at the kernel that shows the merge complete (`mbench
#             mergewait`: the status ioctl every 5 ms) until the origin is linear and the
#             snapshot's devices are gone;
#   idle    = the writer alone, 0.7 s before the start (the noise floor);
# and for each the longest gap between two consecutive write completions that meets it, and
# the longest stretch the origin's dm device was suspended (`mbench watch` reads its sysfs
# flag every 1 ms: the tool's part of the stall, without the writer's own noise).
# A start that gets deferred (the writer had the origin open at the instant of the check)
# is finished off with lvchange --refresh and retried.
#
# CPU runs (per tool and interval): BENCH_CPU_CHUNKS changed chunks, foreground
# `lvconvert --merge -i I` under `mbench cpu` (CPU time of every thread from schedstat,
# sampled every 250 ms, output lines timestamped). Once it says "started", the snapshot's
# -cow device is suspended for BENCH_CPU_SECONDS: the kernel's merge halts (its reads and
# commits wait), so the poller waits that long whatever the host's speed, then the merge
# runs out. "wait" = the poller's CPU over that hold (samples inside it), as % of one CPU,
# and per look (a progress line); "total" = the whole command (rusage), start and finish
# included.
#
# Prints machine-readable lines for the host:
#   BENCH-RUN tool=T run=N start_ms=.. finish_ms=.. idle_ms=..      longest gap between writes
#             start_susp_ms=.. finish_susp_ms=..   longest time the origin's dm device was
#                                                  suspended (its sysfs flag, read every 1 ms)
#             start_suspends=.. finish_suspends=.. how many times it was suspended
#             start_lat_ms=.. finish_lat_ms=.. idle_lat_ms=.. med_lat_ms=..  slowest (median)
#                                                  open+write+close
#             start_writes=.. finish_writes=.. failed=.. start_cmd_s=.. finish_s=.. merge_s=..
#             deferrals=.. late=.. run_s=..
# (late=1: the first look that saw the kernel done already saw the finished tables.)
#   BENCH-CPU tool=T interval=I wait_pct=.. wait_s=.. wait_cpu_ms=.. wait_looks=.. per_look_ms=..
#             between_looks_pct=.. between_looks_s=.. (the sleeping poller alone: n/a with -i 1)
#             total_pct=.. total_cpu_ms=.. wall_s=.. looks=..
# ("looks" counts the poller's progress lines: one per look at the kernel.)
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
RUNS=${BENCH_RUNS:-5}
THROTTLE=${BENCH_THROTTLE:-20}
CHANGE_CHUNKS=${BENCH_CHANGE_CHUNKS:-128}
WRITE_US=${BENCH_WRITE_US:-10000}
CPU_CHUNKS=${BENCH_CPU_CHUNKS:-256}
CPU_SECONDS=${BENCH_CPU_SECONDS:-30}
CPU_INTERVALS=${BENCH_CPU_INTERVALS:-1}
TOOLS=${BENCH_TOOLS:-rlvm lvm2}
ORIGIN_MB=128
WRITER_OFF=$((120 * 1048576))
# snapshot_copy_throttle: percent of the time kcopyd may copy; 100 (the default) = no limit,
# 0 = the most throttled.
throttle=/sys/module/dm_snapshot/parameters/snapshot_copy_throttle
echo "snapshot_copy_throttle at boot: $(cat "$throttle")"
echo 100 >"$throttle"

now() { mbench now; }
# tool T ARGS...: run LVM command ARGS with tool T (rlvm or lvm2).
tool() {
    _t=$1
    shift
    case $_t in
        rlvm) rlvm "$@" ;;
        lvm2) lvm "$@" ;;
    esac
}
quiet() { "$@" >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "command failed: $*"; }; }
dm_exists() { dmsetup info "$1" >/dev/null 2>&1; }
dm_target() { dmsetup table "$1" 2>/dev/null | awk '{ print $3; exit }'; }
# wait_gone T: until the snapshot has left the kernel and the metadata.
wait_gone() {
    _n=0
    while dm_exists vg0-snap-cow || dm_exists vg0-snap || tool "$1" lvs vg0/snap >/dev/null 2>&1; do
        _n=$((_n + 1))
        [ $_n -le 600 ] || fail "$1: snapshot still there after 120 s: $(dmsetup ls; tool "$1" lvs -a vg0 2>&1)"
        sleep 0.2
    done
}
setup_lvs() { # T CHUNKS
    quiet tool "$1" lvcreate -y -L ${ORIGIN_MB}M -n origin vg0
    quiet tool "$1" lvcreate -y -s -L $(($2 / 200 + 8))M -n snap vg0/origin
    # The writer's chunk first (merged last), then the changed chunks.
    dd if=/dev/zero of=/dev/vg0/origin bs=4k count=1 seek=$((WRITER_OFF / 4096)) oflag=direct conv=notrunc 2>/dev/null
    mbench scatter /dev/vg0/origin 0 "$2" 8192
}
cleanup_lvs() { # T
    echo 100 >"$throttle"
    wait_gone "$1"
    quiet tool "$1" lvremove -f vg0/origin
}

step "setup: VG on $d1 $d2 (LVM2), polling_interval 1"
awk '{ print } /^activation \{/ { print "    polling_interval = 1" }' /etc/lvm/lvm.conf \
    >"$SCRATCH/lvm.conf" && cat "$SCRATCH/lvm.conf" >/etc/lvm/lvm.conf
quiet lvm pvcreate -y "$d1" "$d2"
quiet lvm vgcreate vg0 "$d1" "$d2"
echo "rlvm: $(rlvm version 2>&1 | head -n 1)"
echo "lvm2: $(lvm version 2>&1 | head -n 1)"
echo "cpus: $(grep -c ^processor /proc/cpuinfo)"
for t in $TOOLS; do
    setup_lvs "$t" 16
    echo "$t: snapshot chunk size $(lvm lvs --noheadings -o chunk_size vg0/snap | tr -d ' ')"
    quiet tool "$t" lvremove -f vg0/snap
    quiet tool "$t" lvremove -f vg0/origin
done

# sysfs_suspended NAME: the dm device's "suspended" flag file.
sysfs_suspended() {
    for _d in /sys/block/dm-*; do
        [ "$(cat "$_d/dm/name")" = "$1" ] && { echo "$_d/dm/suspended"; return; }
    done
    fail "no dm device $1"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
val() { echo "$2" | sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

# stall_run T N: one merge under the writer; prints BENCH-RUN.
stall_run() {
    _t=$1 _run=$2 _def=0
    t_begin=$(now)
    w=$SCRATCH/w.$_t.$_run
    sw=$SCRATCH/s.$_t.$_run
    while :; do
        setup_lvs "$_t" "$CHANGE_CHUNKS"
        echo "$THROTTLE" >"$throttle"
        mbench watch "$(sysfs_suspended vg0-origin)" 1000 "$sw" &
        spid=$!
        mbench write /dev/vg0/origin $WRITER_OFF "$WRITE_US" "$w" &
        wpid=$!
        sleep 1
        t0=$(now)
        rc=0
        tool "$_t" lvconvert --merge -b -i 1 vg0/snap >"$SCRATCH/conv.out" 2>&1 || rc=$?
        t1=$(now)
        case $rc.$(dm_target vg0-origin) in
            0.snapshot-merge | 0.linear)
                grep -q "Merging of volume vg0/snap started" "$SCRATCH/conv.out" && break ;;
        esac
        # Deferred (or failed): show why, let the merge run out, try again.
        kill "$wpid" "$spid"
        wait "$wpid" "$spid" 2>/dev/null
        sed "s/^/  $_t: /" "$SCRATCH/conv.out"
        _def=$((_def + 1))
        [ $_def -le 8 ] || fail "$_t: merge start deferred or failed $_def times"
        echo 100 >"$throttle"
        quiet tool "$_t" lvchange --refresh vg0/origin
        cleanup_lvs "$_t"
    done
    r=$(mbench mergewait vg0-origin 5000) || fail "$_t: no merge to wait for"
    t_done=$(val done "$r")
    late=$(val late "$r")
    while dm_exists vg0-snap-cow || dm_exists vg0-snap || [ "$(dm_target vg0-origin)" != linear ]; do
        sleep 0.02
    done
    t_gone=$(now)
    sleep 0.3
    kill "$wpid" "$spid"
    wait "$wpid" "$spid" 2>/dev/null
    cleanup_lvs "$_t"
    t_end=$(now)
    t_idle=$(awk -v a="$t0" 'BEGIN { printf "%.6f", a - 0.7 }')
    s=$(mbench gap "$w" "$t0" "$t1")
    f=$(mbench gap "$w" "$t_done" "$t_gone")
    i=$(mbench gap "$w" "$t_idle" "$t0")
    ss=$(mbench span "$sw" "$t0" "$t1")
    fs=$(mbench span "$sw" "$t_done" "$t_gone")
    echo "BENCH-RUN tool=$_t run=$_run start_ms=$(val max_gap_ms "$s") finish_ms=$(val max_gap_ms "$f")" \
        "idle_ms=$(val max_gap_ms "$i")" \
        "start_susp_ms=$(val max_ms "$ss") finish_susp_ms=$(val max_ms "$fs")" \
        "start_suspends=$(val count "$ss") finish_suspends=$(val count "$fs")" \
        "start_lat_ms=$(val max_lat_ms "$s") finish_lat_ms=$(val max_lat_ms "$f") idle_lat_ms=$(val max_lat_ms "$i")" \
        "med_lat_ms=$(val med_lat_ms "$i")" \
        "start_writes=$(val writes "$s") finish_writes=$(val writes "$f")" \
        "failed=$(($(val failed "$s") + $(val failed "$f")))" \
        "start_cmd_s=$(secs "$t0" "$t1") finish_s=$(secs "$t_done" "$t_gone") merge_s=$(secs "$t1" "$t_done")" \
        "deferrals=$_def late=$late run_s=$(secs "$t_begin" "$t_end")"
}

step "stall runs: $RUNS per tool, $CHANGE_CHUNKS chunks changed, throttle $THROTTLE, writer every ${WRITE_US} us"
n=1
while [ $n -le "$RUNS" ]; do
    for t in $TOOLS; do
        stall_run "$t" $n
    done
    step "stall run $n done"
    n=$((n + 1))
done

# cpu_run T I: one foreground merge polled every I s, held for CPU_SECONDS; prints BENCH-CPU.
cpu_run() {
    _t=$1 _i=$2
    setup_lvs "$_t" "$CPU_CHUNKS"
    c=$SCRATCH/cpu.$_t.$_i
    _bin=lvm
    [ "$_t" = rlvm ] && _bin=rlvm
    mbench cpu "$c" -- "$_bin" lvconvert --merge -i "$_i" vg0/snap &
    cpid=$!
    _n=0
    until grep -q "^L .*started" "$c" 2>/dev/null; do
        _n=$((_n + 1))
        [ $_n -le 600 ] && kill -0 "$cpid" 2>/dev/null || { cat "$c"; fail "$_t: the merge did not start"; }
        sleep 0.05
    done
    _held=0
    if dmsetup suspend --nolockfs vg0-snap-cow 2>/dev/null; then
        _held=1
        t_hold=$(now)
        sleep "$CPU_SECONDS"
        t_lift=$(now)
        dmsetup resume vg0-snap-cow
    fi
    _rc=0
    wait "$cpid" || _rc=$?
    [ $_rc = 0 ] || { cat "$c"; fail "$_t: foreground merge failed ($_rc)"; }
    cleanup_lvs "$_t"
    grep '^L' "$c" | sed -n '1,2p;$p' | sed "s/^/  $_t: /"
    [ $_held = 1 ] || { echo "BENCH-CPU tool=$_t interval=$_i error=merge-ended-before-hold"; return; }
    awk -v tool="$_t" -v iv="$_i" -v th="$t_hold" -v tl="$t_lift" '
        $1 == "L" && /Merged:/ { looks++; lt[looks] = $2 }
        $1 == "S" { n++; st[n] = $2; sc[n] = $3 }
        $1 == "E" { wall = $3; cpu = $4 + $5 }
        END {
            for (k = 1; k <= n; k++) if (st[k] >= th) { a = k; break }
            for (k = n; k >= 1; k--) if (st[k] <= tl) { b = k; break }
            if (!a || !b || b <= a) { print "BENCH-CPU tool=" tool " interval=" iv " error=no-samples"; exit }
            ws = st[b] - st[a]
            for (k = 1; k <= looks; k++) if (lt[k] > st[a] && lt[k] <= st[b]) wl++
            # Between looks: sample intervals clear of every look (1 s before its line to
            # 0.3 s after), i.e. the sleeping poller alone.
            for (k = a + 1; k <= b; k++) {
                near = 0
                for (j = 1; j <= looks; j++) if (lt[j] + 0.3 >= st[k - 1] && lt[j] - 1.0 <= st[k]) near = 1
                if (!near) { it += st[k] - st[k - 1]; ic += sc[k] - sc[k - 1] }
            }
            between = "n/a"
            if (it > 1) between = sprintf("%.3f", ic / 1e9 / it * 100)
            printf "BENCH-CPU tool=%s interval=%s wait_pct=%.3f wait_s=%.1f wait_cpu_ms=%.1f wait_looks=%d per_look_ms=%.1f between_looks_pct=%s between_looks_s=%.1f total_pct=%.3f total_cpu_ms=%.1f wall_s=%.1f looks=%d\n",
                tool, iv, (sc[b] - sc[a]) / 1e9 / ws * 100, ws, (sc[b] - sc[a]) / 1e6, wl,
                (wl ? (sc[b] - sc[a]) / 1e6 / wl : 0), between, it,
                cpu / wall * 100, cpu * 1000, wall, looks
        }' "$c"
}

for iv in $CPU_INTERVALS; do
    step "CPU runs: $CPU_CHUNKS chunks changed, merge held ${CPU_SECONDS} s, foreground poller -i $iv"
    for t in $TOOLS; do cpu_run "$t" "$iv"; done
done
step "merge bench done"
