#!/bin/sh
# Guest side of scripts/bench-commands.sh (read its header first): command latency of rlvm
# against LVM2's `lvm`, same VG, same kernel, the tools alternating run by run.
#
# Setup (LVM2, untimed): VG vg0 on two disks, BENCH_LVS linear 4 MiB LVs (lv0000...),
# inactive. Then per run, for each tool, these commands (wall time, exec to exit):
#   version       version                    (the floor: starting a process under TCG)
#   vgchange_ay   vgchange -ay vg0           (every LV comes up)
#   lvs           lvs vg0
#   vgs           vgs vg0
#   lvcreate      lvcreate -L 4m -n bench vg0      (then lvremove -f, untimed, same tool)
#   lvcreate_s    lvcreate -s -L 8m -n bsnap vg0/lv0000   (then lvremove -f, untimed)
#   vgchange_an   vgchange -an vg0
# Tool "base" (BENCH_TOOLS="rlvm base lvm2") is a second rlvm binary at /opt/rlvm-base/rlvm
# (RLVM_BASE on the host side), to compare two builds in the same boot.
# Prints per measurement:  BENCH-CMD tool=T cmd=C lvs=N run=R ms=M
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
RUNS=${BENCH_RUNS:-3}
NLVS=${BENCH_LVS:-100}
TOOLS=${BENCH_TOOLS:-rlvm lvm2}

tool() {
    _t=$1
    shift
    case $_t in
        rlvm) rlvm "$@" ;;
        lvm2) lvm "$@" ;;
        base) /opt/rlvm-base/rlvm "$@" ;;
    esac
}
quiet() { "$@" >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "command failed: $*"; }; }
# Milliseconds on a monotonic clock: GNU date's nanoseconds when the image has GNU date,
# else /proc/uptime (10 ms steps; busybox date has no %N).
if [ -x /opt/gnu/bin/date ]; then
    ms_now() { echo $(($(/opt/gnu/bin/date +%s%N) / 1000000)); }
else
    ms_now() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
fi
# timed T RUN NAME ARGS...: run ARGS with tool T, print its wall time.
timed() {
    _t=$1 _r=$2 _c=$3
    shift 3
    _a=$(ms_now)
    tool "$_t" "$@" >"$SCRATCH/t.out" 2>&1 || { cat "$SCRATCH/t.out"; fail "$_t $*: failed"; }
    _b=$(ms_now)
    echo "BENCH-CMD tool=$_t cmd=$_c lvs=$NLVS run=$_r ms=$((_b - _a))"
}

step "setup: VG vg0 on $d1 $d2 with $NLVS inactive LVs (LVM2)"
quiet lvm pvcreate -y "$d1" "$d2"
quiet lvm vgcreate vg0 "$d1" "$d2"
i=0
while [ $i -lt "$NLVS" ]; do
    quiet lvm lvcreate -an -Zn -L 4m -n "$(printf 'lv%04d' $i)" vg0
    i=$((i + 1))
done
echo "rlvm: $(rlvm version 2>&1 | head -n 1)"
echo "lvm2: $(lvm version 2>&1 | head -n 1)"

r=1
while [ $r -le "$RUNS" ]; do
    for t in $TOOLS; do
        step "run $r: $t"
        timed "$t" $r version version
        timed "$t" $r vgchange_ay vgchange -ay vg0
        [ "$(dmsetup ls | grep -c '^vg0-')" = "$NLVS" ] || fail "$t vgchange -ay: not all $NLVS LVs active: $(dmsetup ls | grep -c '^vg0-')"
        timed "$t" $r lvs lvs vg0
        timed "$t" $r vgs vgs vg0
        timed "$t" $r lvcreate lvcreate -L 4m -n bench vg0
        quiet tool "$t" lvremove -f vg0/bench
        timed "$t" $r lvcreate_s lvcreate -s -L 8m -n bsnap vg0/lv0000
        quiet tool "$t" lvremove -f vg0/bsnap
        timed "$t" $r vgchange_an vgchange -an vg0
        [ "$(dmsetup ls | grep -c '^vg0-')" = 0 ] || fail "$t vgchange -an: devices left: $(dmsetup ls)"
    done
    r=$((r + 1))
done
step "done"
