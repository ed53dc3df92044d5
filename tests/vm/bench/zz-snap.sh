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
# BENCH_DM_THREADS="1 8 16": afterwards, rlvm's vgchange -ay/-an with each RLVM_DM_THREADS.
# Tool "base" (BENCH_TOOLS="rlvm base lvm2") is a second rlvm binary at /opt/rlvm-base/rlvm
# (RLVM_BASE on the host side), to compare two builds in the same boot.
# Prints per measurement:  BENCH-CMD tool=T cmd=C lvs=N run=R ms=M user_ms=U sys_ms=S
# Timing: `mbench time` (tests/vm/bench/mbench.c, shipped by the host script) measures from
# its fork to wait4's return, with the command's own CPU from wait4's rusage. Without it, two
# `date` processes bracket the command: each exec under TCG costs ~30 ms, so one of them lands
# in every figure (a constant that weighs most on the faster tool's ratio) and both in the CPU.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
RUNS=${BENCH_RUNS:-3}
NLVS=${BENCH_LVS:-100}
TOOLS=${BENCH_TOOLS:-rlvm lvm2}

# The executable behind tool T (what `tool`, mbench and strace start).
tool_bin() {
    case $1 in
        rlvm) command -v rlvm ;;
        lvm2) command -v lvm ;;
        base) echo /opt/rlvm-base/rlvm ;;
    esac
}
tool() {
    _bin=$(tool_bin "$1")
    shift
    "$_bin" "$@"
}
MBENCH=$(command -v mbench || true)
quiet() { "$@" >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "command failed: $*"; }; }
# Milliseconds on a monotonic clock: GNU date's nanoseconds when the image has GNU date,
# else /proc/uptime (10 ms steps; busybox date has no %N).
if [ -x /opt/gnu/bin/date ]; then
    ms_now() { echo $(($(/opt/gnu/bin/date +%s%N) / 1000000)); }
else
    ms_now() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
fi
# CPU time of this shell's waited-for children so far, in clock ticks (1/100 s): user and
# system (fields 16 and 17 of /proc/self/stat, read without starting a process).
children_cpu() {
    read -r _stat </proc/$$/stat
    set -- ${_stat##*) }
    echo "$((${14} + 0)) $((${15} + 0))"
}
# timed T RUN NAME ARGS...: run ARGS with tool T, print its wall time and the CPU time the
# command used (user_ms, sys_ms; 10 ms steps): what is left of the wall time is waiting
# (the kernel's device work, udev, I/O).
# Each command starts once udev has handled the events of the one before: a tool would
# otherwise pay for the previous tool's uevents (vgchange -ay after the other tool's -an
# of 1000 LVs measured ~5% slower, whichever tool ran second).
UDEVADM=$(command -v udevadm || true)
timed() {
    _t=$1 _r=$2 _c=$3
    shift 3
    [ -z "$UDEVADM" ] || "$UDEVADM" settle --timeout=120 >/dev/null 2>&1 || true
    if [ -n "$MBENCH" ]; then
        _m=$("$MBENCH" time "$SCRATCH/t.out" -- "$(tool_bin "$_t")" "$@") ||
            { cat "$SCRATCH/t.out"; fail "$_t $*: failed"; }
        echo "BENCH-CMD tool=$_t cmd=$_c lvs=$NLVS run=$_r $_m"
        return
    fi
    _cpu0=$(children_cpu)
    _a=$(ms_now)
    tool "$_t" "$@" >"$SCRATCH/t.out" 2>&1 || { cat "$SCRATCH/t.out"; fail "$_t $*: failed"; }
    _b=$(ms_now)
    _cpu1=$(children_cpu)
    # ms_now's own date process is a child too: a few ms at most.
    set -- $_cpu0 $_cpu1
    echo "BENCH-CMD tool=$_t cmd=$_c lvs=$NLVS run=$_r ms=$((_b - _a)) user_ms=$((($3 - $1) * 10)) sys_ms=$((($4 - $2) * 10))"
}

step "setup: VG vg0 on $d1 $d2 with $NLVS inactive LVs (LVM2)"
quiet lvm pvcreate -y "$d1" "$d2"
quiet lvm vgcreate vg0 "$d1" "$d2"
# The LVs are written in one commit: LVM2's vgcfgbackup of the empty VG with NLVS linear
# one-extent LVs (4 MiB each, back to back, the first half on pv0, the rest on pv1) added,
# restored with vgcfgrestore.
# One lvcreate per LV would take minutes per hundred LVs under TCG.
quiet lvm vgcfgbackup -f "$SCRATCH/empty.vg" vg0
awk -v n="$NLVS" -v half=$(((NLVS + 1) / 2)) '
    { print }
    /^vg0 \{/ { in_vg = 1 }
    in_vg && /^\t\}$/ && !done {
        # the end of physical_volumes: the LVs follow as a section of their own
        done = 1
        print "\n\tlogical_volumes {"
        for (i = 0; i < n; i++) {
            printf "\t\tlv%04d {\n\t\t\tid = \"%06d-0000-0000-0000-0000-0000-%06d\"\n", i, i, i
            print "\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n\t\t\tsegment_count = 1"
            print "\t\t\tsegment1 {\n\t\t\t\tstart_extent = 0\n\t\t\t\textent_count = 1"
            print "\t\t\t\ttype = \"striped\"\n\t\t\t\tstripe_count = 1"
            printf "\t\t\t\tstripes = [\n\t\t\t\t\t\"pv%d\", %d\n\t\t\t\t]\n\t\t\t}\n\t\t}\n", (i >= half), (i % half)
        }
        print "\t}"
    }' "$SCRATCH/empty.vg" >"$SCRATCH/full.vg"
quiet lvm vgcfgrestore -f "$SCRATCH/full.vg" vg0
[ "$(lvm lvs --noheadings vg0 | wc -l)" = "$NLVS" ] || fail "setup: vg0 does not hold $NLVS LVs"
echo "rlvm: $(rlvm version 2>&1 | head -n 1)"
rlvm vgchange -ay vg0 >/dev/null
i=1
while [ $i -le 15 ]; do
  for v in head nothread new2; do
    case $v in head) b=rlvm ;; nothread) b=/opt/rlvm-base/rlvm ;; *) b=/opt/rlvm-third/rlvm ;; esac
    
    m=$(mbench time $SCRATCH/o -- $b lvcreate -s -L 8m -n bsnap vg0/lv0000) || { cat $SCRATCH/o; exit 1; }
    unset GLIBC_TUNABLES
    echo "LVS v=$v run=$i $m"
    m=$(mbench time $SCRATCH/o -- $b lvcreate -L 4m -n bench vg0)
    echo "LVC v=$v run=$i $m"
    $b lvremove -f vg0/bsnap >/dev/null; $b lvremove -f vg0/bench >/dev/null
  done
  i=$((i + 1))
done
