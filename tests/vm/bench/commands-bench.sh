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
# and, per run, the kernel's floor under vgchange -ay/-an (`mbench dmfloor`: NLVS linear
# devices made with the three ioctls any tool needs, then removed, on 1, 2 and 16 threads).
# BENCH_DM_THREADS="1 8 16": afterwards, rlvm's vgchange -ay/-an with each RLVM_DM_THREADS.
# BENCH_UDEV=1: everything with udevd running and lvm.conf udev_sync = udev_rules = 1 (as on
# a Debian system; by default the guest has no udev and both tools make the /dev nodes
# themselves); afterwards each tool's vgchange -ay/-an with --noudevsync, then the time
# `udevadm settle` still takes for their events (how much of the command is udev's work).
# BENCH_PERF=1: perf profiles of rlvm's commands instead of timings (see below), then for
# each tool where vgchange -ay's wall time goes: CPU share per process, where it sleeps.
# BENCH_PHASES=1: no timings: rlvm's vgchange -an, vgchange -ay, lvcreate and lvcreate -s,
# BENCH_RUNS times each (the last two with the LVs active) and RLVM_PHASES=1, their step
# marks (src/metadata/phase.rs) printed as "PHASE-<cmd> <run> <seconds> <step>" lines for the
# host script to summarise.
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

if [ "${BENCH_UDEV:-0}" = 1 ]; then
    # Both tools as on a Debian system: udevd running (the image's, as 17-udev.sh starts it)
    # and lvm.conf with udev_sync = 1, udev_rules = 1 (udev makes the /dev nodes, every
    # command waits for its cookies), through LVM_SYSTEM_DIR for every command of both.
    UDEVD=/lib/systemd/systemd-udevd
    [ -x "$UDEVD" ] && [ -n "$UDEVADM" ] || fail "BENCH_UDEV=1: the image has no udev (scripts/install-deps.sh)"
    unset DM_DISABLE_UDEV
    export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0
    mkdir -p "$SCRATCH/etc-udev"
    sed -e 's/udev_sync = 0/udev_sync = 1/' -e 's/udev_rules = 0/udev_rules = 1/' \
        -e 's/verify_udev_operations = 1/verify_udev_operations = 0/' \
        /etc/lvm/lvm.conf >"$SCRATCH/etc-udev/lvm.conf"
    grep -q 'udev_sync = 1' "$SCRATCH/etc-udev/lvm.conf" && grep -q 'udev_rules = 1' "$SCRATCH/etc-udev/lvm.conf" ||
        fail "BENCH_UDEV=1: could not switch lvm.conf to udev: $(grep udev /etc/lvm/lvm.conf)"
    export LVM_SYSTEM_DIR="$SCRATCH/etc-udev"
    "$UDEVD" --daemon --resolve-names=early >"$SCRATCH/udevd.out" 2>&1 ||
        { cat "$SCRATCH/udevd.out"; fail "udevd did not start"; }
    "$UDEVADM" settle --timeout=60 || true
    echo "udev: udevd running, lvm.conf udev_sync = 1, udev_rules = 1"
fi

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
echo "lvm2: $(lvm version 2>&1 | head -n 1)"

if [ "${BENCH_PHASES:-0}" = 1 ]; then
    # Where lvcreate's wall time goes, step by step (scripts/bench-commands.sh BENCH_PHASES=1).
    # phased RUN NAME LV ARGS...: rlvm ARGS with its step marks as "PHASE-NAME RUN ..." lines,
    # once udev has settled; then LV is removed (untimed).
    phased() {
        _r=$1 _c=$2 _lv=$3
        shift 3
        [ -z "$UDEVADM" ] || "$UDEVADM" settle --timeout=120 >/dev/null 2>&1 || true
        RLVM_PHASES=1 rlvm "$@" 2>&1 >/dev/null | sed -n "s/^PHASE /PHASE-$_c $_r /p"
        [ "$_lv" = - ] || quiet rlvm lvremove -f "$_lv"
    }
    quiet rlvm vgchange -ay vg0
    r=1
    while [ $r -le "$RUNS" ]; do
        phased $r vgchange_an - vgchange -an vg0
        phased $r vgchange_ay - vgchange -ay vg0
        phased $r lvcreate vg0/bench lvcreate -L 4m -n bench vg0
        phased $r lvcreate_s vg0/bsnap lvcreate -s -L 8m -n bsnap vg0/lv0000
        r=$((r + 1))
    done
    exit 0
fi

if [ "${BENCH_PERF:-0}" = 1 ]; then
    # Profiles instead of timings (scripts/bench-commands.sh BENCH_PERF=1): each command of
    # rlvm (built with frame pointers) BENCH_RUNS times under `perf record -g` (10 kHz
    # cpu-clock; its own LVs, so no lvremove lands in the profile), then perf's
    # inclusive share of each function (--children) for the processes named rlvm:
    # "PERF cmd=C children% self% symbol" lines, above 1 % of the samples.
    export PAGER=cat
    profile() {
        _c=$1
        shift
        perf record -q -g -F 10000 -o "$SCRATCH/perf.$_c" -- sh -c "$*" >"$SCRATCH/q.out" 2>&1 ||
            { cat "$SCRATCH/q.out"; fail "perf record of $_c failed"; }
        perf report --stdio -i "$SCRATCH/perf.$_c" --comm rlvm --children --sort sym -g none \
            --percent-limit 1 2>/dev/null | grep -v '^#' | grep . |
            awk -v c="$_c" '{ printf "PERF cmd=%s %s %s", c, $1, $2; $1 = $2 = ""; print }'
    }
    loop="n=0; while [ \$n -lt $RUNS ]; do"
    profile vgchange_ay rlvm vgchange -ay vg0
    profile lvs "$loop rlvm lvs vg0; n=\$((n + 1)); done"
    profile vgs "$loop rlvm vgs vg0; n=\$((n + 1)); done"
    profile lvcreate "$loop rlvm lvcreate -L 4m -n bench\$n vg0; n=\$((n + 1)); done"
    profile lvcreate_s "$loop rlvm lvcreate -s -L 8m -n bsnap\$n vg0/lv\$(printf %04d \$n); n=\$((n + 1)); done"
    n=0
    while [ $n -lt "$RUNS" ]; do
        quiet rlvm lvremove -f "vg0/bsnap$n" "vg0/bench$n"
        n=$((n + 1))
    done
    profile vgchange_an rlvm vgchange -an vg0
    # Where the wall time of vgchange -ay goes beyond CPU, for each tool: the share of
    # all CPUs' samples per process name during the command (perf -a; "swapper" is idle
    # CPU) and where the tool's threads sleep (sched_switch away from them, the first
    # kernel frames below the scheduler, counted):
    #   "CPUSHARE tool=T comm=C pct=P"   "SLEEP tool=T count=N frames=f1<f2<..."
    for t in $TOOLS; do
        _bin=$(tool_bin "$t")
        perf record -q -a -F 5000 -o "$SCRATCH/perf.cpu" -- "$_bin" vgchange -ay vg0 \
            >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "perf -a of $t vgchange -ay failed"; }
        perf report --stdio -i "$SCRATCH/perf.cpu" --sort comm -g none 2>/dev/null |
            awk -v t="$t" '/^#/ || NF < 2 { next } { p = $1; $1 = ""; sub(/^ /, ""); gsub(/ /, "_"); printf "CPUSHARE tool=%s comm=%s pct=%s\n", t, $0, p }' |
            head -n 12
        quiet "$_bin" vgchange -an vg0
        perf record -q -a -g -e sched:sched_switch -o "$SCRATCH/perf.sw" -- "$_bin" vgchange -ay vg0 \
            >"$SCRATCH/q.out" 2>&1 || { cat "$SCRATCH/q.out"; fail "perf sched_switch of $t vgchange -ay failed"; }
        # A sample is a comm line, then its frames, innermost first; the tool's threads
        # are named after it (rlvm, rlvm-dm; lvm).
        perf script -i "$SCRATCH/perf.sw" -F comm,ip,sym 2>/dev/null | awk -v t="$t" '
            function flush() { if (keep && s != "") c[s]++; keep = 0; s = ""; d = 0 }
            /^[^ \t]/ { flush(); keep = ($1 ~ /^(rlvm|lvm)/); next }
            NF < 2 { next }
            { $1 = ""; f = substr($0, 2)
              if (f ~ /^(__schedule|schedule|preempt_schedule|__cond_resched|schedule_timeout|schedule_preempt)/) next
              if (d < 6) { s = s (s == "" ? "" : "<") f; d++ } }
            END { flush(); for (k in c) printf "SLEEP tool=%s count=%d frames=%s\n", t, c[k], k }' |
            sort -t= -k3 -rn | head -n 8
        quiet "$_bin" vgchange -an vg0
    done
    step "done"
    exit 0
fi

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
    # The kernel's floor under vgchange -ay/-an of NLVS LVs: the same number of linear
    # devices made and removed by `mbench dmfloor` (three ioctls up, one down, nothing
    # else), on 1, 2 (the guest's CPUs) and 16 threads (rlvm's default, which overlaps the
    # kernel's waits): tools floor1, floor2, floor16.
    if [ -n "$MBENCH" ]; then
        for n in 1 2 16; do
            floor_up=$("$MBENCH" time "$SCRATCH/t.out" -- "$MBENCH" dmfloor up floor "$NLVS" $n "$d1") ||
                { cat "$SCRATCH/t.out"; fail "mbench dmfloor up failed"; }
            floor_down=$("$MBENCH" time "$SCRATCH/t.out" -- "$MBENCH" dmfloor down floor "$NLVS" $n) ||
                { cat "$SCRATCH/t.out"; fail "mbench dmfloor down failed"; }
            echo "BENCH-CMD tool=floor$n cmd=vgchange_ay lvs=$NLVS run=$r $floor_up"
            echo "BENCH-CMD tool=floor$n cmd=vgchange_an lvs=$NLVS run=$r $floor_down"
        done
    fi
    r=$((r + 1))
done
if [ -n "${BENCH_DM_THREADS:-}" ]; then
    # rlvm's vgchange -ay/-an with each number of kernel threads (RLVM_DM_THREADS; the
    # default is ops::dm::PARALLEL_THREADS), for choosing that default: cmd names
    # vgchange_ay_tN / vgchange_an_tN, rlvm only.
    r=1
    while [ $r -le "$RUNS" ]; do
        for n in $BENCH_DM_THREADS; do
            step "run $r: rlvm with $n kernel threads"
            export RLVM_DM_THREADS=$n
            timed rlvm $r "vgchange_ay_t$n" vgchange -ay vg0
            timed rlvm $r "vgchange_an_t$n" vgchange -an vg0
            unset RLVM_DM_THREADS
        done
        r=$((r + 1))
    done
fi
if [ "${BENCH_UDEV:-0}" = 1 ]; then
    # How much of vgchange -ay/-an is waiting for udev: each tool once more per run with
    # --noudevsync (the ioctls, no wait for udev's rules; cmd vgchange_ay_nosync,
    # vgchange_an_nosync), then the time udev still needs for those events
    # (`udevadm settle` right after: cmd settle_after_ay, settle_after_an).
    [ -n "$MBENCH" ] || fail "BENCH_UDEV=1 needs mbench in the guest"
    settled() {
        _m=$("$MBENCH" time "$SCRATCH/s.out" -- "$UDEVADM" settle --timeout=120) ||
            { cat "$SCRATCH/s.out"; fail "udevadm settle failed"; }
        echo "BENCH-CMD tool=$1 cmd=$2 lvs=$NLVS run=$3 $_m"
    }
    r=1
    while [ $r -le "$RUNS" ]; do
        for t in $TOOLS; do
            step "run $r: $t without udev sync"
            timed "$t" $r vgchange_ay_nosync vgchange -ay --noudevsync vg0
            settled "$t" settle_after_ay $r
            timed "$t" $r vgchange_an_nosync vgchange -an --noudevsync vg0
            settled "$t" settle_after_an $r
        done
        r=$((r + 1))
    done
fi
if [ "${BENCH_STRACE:-0}" = 1 ]; then
    # One more pass per tool under strace -f -c -w (not timed: strace slows every call). Per
    # command the summary's total line and its ten most frequent calls, with the wall time
    # spent in them (-w: a call that waits, for udev or a flush, shows its wait).
    straced() {
        _t=$1 _c=$2
        shift 2
        _bin=$(tool_bin "$_t")
        strace -f -c -w -S calls -o "$SCRATCH/st.out" "$_bin" "$@" >"$SCRATCH/t.out" 2>&1 ||
            { cat "$SCRATCH/t.out"; fail "$_t $* under strace: failed"; }
        awk -v t="$_t" -v c="$_c" '
            /^-/ { dash++; next }
            dash == 1 && n < 10 { n++; printf "STRACE tool=%s cmd=%s call=%s calls=%s secs=%s\n", t, c, $NF, $4, $2 }
            dash == 2 { printf "STRACE tool=%s cmd=%s call=TOTAL calls=%s secs=%s\n", t, c, $4, $2 }' "$SCRATCH/st.out"
    }
    for t in $TOOLS; do
        step "strace pass: $t"
        straced "$t" vgchange_ay vgchange -ay vg0
        straced "$t" lvs lvs vg0
        straced "$t" vgs vgs vg0
        straced "$t" lvcreate lvcreate -L 4m -n bench vg0
        quiet tool "$t" lvremove -f vg0/bench
        straced "$t" lvcreate_s lvcreate -s -L 8m -n bsnap vg0/lv0000
        quiet tool "$t" lvremove -f vg0/bsnap
        straced "$t" vgchange_an vgchange -an vg0
    done
fi
step "done"
