#!/bin/bash
# vm: disks=0 memory=1024
# Guest side of tests/lvm2-suite: runs LVM2's own test/shell scripts, unchanged, in the
# real-kernel test VM, with either real LVM2 or rlvm standing in for `lvm` (and so for every
# lvm command: the suite's lib/<command> links all go through lib/lvm-wrapper, which runs the
# `lvm` first on $PATH). tests/lvm2_suite.rs boots the VM with this as its scenario.
#
# What it needs in the guest (tests/lvm2_suite.rs puts them there):
#   $LVM2_SUITE_TARBALL  the suite in its installed layout, from tests/lvm2-suite/prepare.sh
#                        (default /rlvm/lvm2-suite/lvm2-testsuite.tar.gz)
#   $LVM2_SUITE_LIST     which scripts to run: tests/lvm2-suite/scripts.list
#                        (default /rlvm/lvm2-suite/scripts.list)
#   /opt/gnu/bin         bash and the GNU userland (scripts/vm/build-image.sh)
# Settings:
#   LVM2_SUITE_LVM=rlvm|lvm2  what `lvm` is: /opt/rlvm/bin/rlvm (default) or /opt/lvm2/bin/lvm
#   LVM2_SUITE_SCRIPTS="a.sh b.sh"  run these instead of the list
#   LVM2_SUITE_TIMEOUT=300    seconds one script may take (then it is killed and fails)
#   LVM2_SUITE_TAIL=100       lines of a failed script's output shown on the console
#   LVM2_SUITE_PROFILE=1      time every lvm command the scripts run (a bash wrapper in front
#                             of the tool, microseconds from $EPOCHREALTIME) and print, per
#                             script and for the whole run, "PROFILE" lines: per command name
#                             its count and total and mean milliseconds (issue 9: where one tool
#                             spends its time in the suite compared with the other)
#   LVM2_SUITE_STEPS=N        where a script's time goes, tool and harness alike: the scripts'
#                             xtrace prompt (PS4, set by the suite's lib/inittest) gets a
#                             timestamp for this boot, and per script "STEPS" lines give the
#                             time per command word (lvcreate, check, aux, ...) and the N
#                             slowest traced lines (a step lasts until the next traced line)
#
# The scripts run as LVM2's own runner (test/lib/brick-shelltest.h) runs them: from the suite's
# directory, `bash -noprofile -norc shell/NAME`, stdin /dev/null, in the ndev-vanilla flavour
# (private /dev in the test's directory, no udev), on loop devices over a tmpfs; exit 0 passes,
# 200 is a skip, anything else fails. Prints, per script:
#   PASS name (12.3s) | FAIL name (12.3s) ... | SKIP name (0.4s): reason
# a failed script's output tail (indented, "    | "), and last a line
#   N passed, M failed, K skipped
# Exit status: 0 unless a script failed that the list does not expect to fail in this mode.
#
# Run it through the cargo test, which prepares the suite and boots the VM, e.g.
#   RLVM_LVM2_SUITE_SCRIPTS="snapshot-rename.sh tags.sh" RLVM_VM_KEEP=1 \
#       cargo test --test lvm2_suite lvm2_suite_with_rlvm
# (the console log, with every failed script's output tail, is kept under target/tmp/vm/).
set -euo pipefail

mode=${LVM2_SUITE_LVM:-rlvm}
tarball=${LVM2_SUITE_TARBALL:-/rlvm/lvm2-suite/lvm2-testsuite.tar.gz}
list=${LVM2_SUITE_LIST:-/rlvm/lvm2-suite/scripts.list}
per_timeout=${LVM2_SUITE_TIMEOUT:-300}
tail_n=${LVM2_SUITE_TAIL:-100}
datadir=/usr/share/lvm2-testsuite
gnu=/opt/gnu/bin
work=/mnt/lvm2-suite          # tmpfs: the tests' directories, loop files and logs
bindir=/run/lvm-under-test    # holds `lvm`; its name must not contain "lvm2-testsuite"
                              # (lvm-wrapper drops such entries from PATH before running lvm)

say() { echo "lvm2-suite: $*"; }
die() { say "error: $*"; exit 2; }

[ -x "$gnu/bash" ] && [ -x "$gnu/mke2fs" ] ||
    die "no GNU userland in $gnu (scripts/vm/build-image.sh copies it; run scripts/install-deps.sh on the host)"
[ -f "$tarball" ] || die "no suite tarball at $tarball (tests/lvm2-suite/prepare.sh)"

case $mode in
    rlvm) lvm_target=/opt/rlvm/bin/rlvm ;;
    lvm2) lvm_target=/opt/lvm2/bin/lvm ;;
    *) die "LVM2_SUITE_LVM must be rlvm or lvm2, not $mode" ;;
esac
[ -x "$lvm_target" ] || die "$lvm_target missing"
mkdir -p "$bindir" "$work/logs"
profile=${LVM2_SUITE_PROFILE:-0}
if [ "$profile" = 1 ]; then
    # The suite's lvm-wrapper runs `lvm COMMAND ARGS...`; this one times it and appends
    # "MICROSECONDS EXIT COMMAND" to the current script's record, then exits as the tool did.
    cat >"$bindir/lvm" <<WRAP
#!$gnu/bash
t0=\$EPOCHREALTIME
"$lvm_target" "\$@"
rc=\$?
t1=\$EPOCHREALTIME
echo "\$(( \${t1/./} - \${t0/./} )) \$rc \${1:-lvm}" >>"$work/logs/profile.current"
exit \$rc
WRAP
    chmod 755 "$bindir/lvm"
else
    ln -sf "$lvm_target" "$bindir/lvm"
fi

# GNU tools first; `lvm` before anything else (the lvm2 links in /opt/lvm2/bin stay off PATH).
export PATH=$bindir:$gnu:/usr/sbin:/usr/bin:/sbin:/bin
export LVM_TEST_FLAVOUR=ndev-vanilla LVM_TEST_DIR=$work/tmp LVM_TEST_PREFER_BRD=0
export TMPDIR=$work/tmp LANG=C

# For this boot only, /bin's busybox applets that have a GNU counterpart become that: LVM2's
# fsadm (run by `lvresize -r`) puts /sbin:/usr/sbin:/bin:/usr/bin before the caller's PATH.
for f in "$gnu"/*; do
    b=/bin/${f##*/}
    if [ -L "$b" ] && [ "$(readlink "$b")" = busybox ]; then ln -sf "$f" "$b"; fi
done

# What udev or systemd would have made: bash's process substitution needs /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do
    [ -e "/dev/${i#*:}" ] || ln -s "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"
done

mkdir -p "$work"
mountpoint -q "$work" || mount -t tmpfs -o size=75%,mode=0755 lvm2-suite "$work"
mkdir -p "$work/tmp" "$work/logs"
tar -xzf "$tarball" -C /
steps=${LVM2_SUITE_STEPS:-0}
if [ "$steps" != 0 ]; then
    # A diagnosis only: the trace prompt alone changes, the scripts and the lib do not.
    sed -i 's/^PS4=.*/PS4='"'"'#${BASH_SOURCE[0]##*\/}:${LINENO}@${EPOCHREALTIME}+ '"'"'/' \
        "$datadir/lib/inittest"
fi

# ---- which scripts, and which may fail in this mode ----------------------------------------
# List format: one script name per line, then optional flags; '#' starts a comment.
#   rlvm-xfail   known to fail with rlvm (must still pass with LVM2)
#   timing       races the kernel (fails with LVM2 too on a loaded machine): a failure is
#                retried once, the first failure shown as RETRY
declare -a scripts=()
declare -A xfail=()
declare -A timing=()
if [ -n "${LVM2_SUITE_SCRIPTS:-}" ]; then
    read -r -a scripts <<<"$LVM2_SUITE_SCRIPTS"
fi
if [ -f "$list" ]; then
    from_list=()
    while read -r name flags; do
        case $flags in *rlvm-xfail*) xfail[$name]=1 ;; esac
        case $flags in *timing*) timing[$name]=1 ;; esac
        from_list+=("$name")
    done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
    [ ${#scripts[@]} -gt 0 ] || scripts=("${from_list[@]}")
fi
[ ${#scripts[@]} -gt 0 ] || die "no scripts to run (empty $list and no LVM2_SUITE_SCRIPTS)"

say "mode=$mode: lvm is $lvm_target ($(lvm version 2>&1 | head -n1 | sed 's/^ *//'))"
say "lvm2 suite $(cat "$datadir/lib/version-expected"), kernel $(uname -r), ${#scripts[@]} scripts, timeout ${per_timeout}s each"

# ---- helpers -----------------------------------------------------------------------------
now_ms() { local t; t=$(cut -d' ' -f1 /proc/uptime); echo "${t%.*}${t#*.}0"; }
secs() { local ms=$1; printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# The part of a failed script's log that says why: the commands and output before LVM2's
# stack trace (the script's `set -vx` trace), the trace itself, the device-mapper state it
# dumps, the end of the failing command's debug log, and the teardown. Not the full debug
# logs, nor the script listing STACKTRACE appends.
show_failure() {
    local - log=$1
    set +e +o pipefail   # a section with nothing to show is no error
    {
        if grep -q '^## - ' "$log"; then
            sed -n '/^## - /q;p' "$log" | grep -v '^## DEBUG' | tail -n "$tail_n"
            echo "[...]"
            grep -E '^## ([0-9]+ |- )' "$log" | head -n 12
            grep -E '^## DM(INFO|TABLE|ITABLE|STATUS):' "$log" | head -n 40
            grep -E '^## [A-Z0-9]+: ' "$log" | grep -vE '^## (DM|LVMCONF|Line|LSLR|UDEV|GDB)' | tail -n 30
            sed -n '/^## teardown/,$p' "$log" | tail -n 15
        else
            grep -vE '^## (DEBUG|Line:)' "$log" | tail -n "$tail_n"
        fi
    } | sed 's/^/    | /'
}

# Whatever a script left behind must not bleed into the next one.
cleanup_after() {
    local name=$1 left
    left=$(dmsetup info -c --noheadings -o name 2>/dev/null | grep LVMTEST || true)
    if [ -n "$left" ]; then
        say "after $name: removing leftover devices: $(echo $left)"
        grep LVMTEST /proc/mounts | cut -d' ' -f2 | xargs -r umount -fl 2>/dev/null || true
        for _ in 1 2 3; do   # users before what they use: take what can go, then again
            for d in $left; do dmsetup remove "$d" >/dev/null 2>&1 || true; done
            left=$(dmsetup info -c --noheadings -o name 2>/dev/null | grep LVMTEST || true)
            [ -n "$left" ] || break
        done
        for d in $left; do dmsetup remove -f "$d" >/dev/null 2>&1 || true; done
    fi
    losetup -a 2>/dev/null | grep LVMTEST | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null || true
    rm -rf "${LVM_TEST_DIR:?}"/LVMTEST* 2>/dev/null || true
}

# profile_report TITLE FILE: per command name, count, total and mean ms, the largest total
# first, then the sum over all commands.
profile_report() {
    local title=$1 file=$2
    [ -s "$file" ] || return 0
    awk -v t="$title" -v m="$mode" '
        { n[$3]++; us[$3] += $1; all += $1; cnt++ }
        END {
            for (c in n) printf "PROFILE mode=%s scope=%s cmd=%s n=%d total_ms=%d mean_ms=%.1f\n", m, t, c, n[c], us[c] / 1000, us[c] / 1000 / n[c]
            printf "PROFILE mode=%s scope=%s cmd=ALL n=%d total_ms=%d\n", m, t, cnt, all / 1000
        }' "$file" | sort -t= -k6 -n -r
}

# steps_report NAME LOG: from the timestamped trace lines "#file:line@SECONDS.MICROS+ cmd",
# each step's time is the gap to the next traced line; per command word (the first word,
# after `not`/`should`/`invalid`/`fail`) the count and total, then the $steps slowest lines.
steps_report() {
    local name=$1 log=$2
    grep -a '^#[^ ]*@[0-9]*\.[0-9]*+ ' "$log" | awk -v s="$name" -v top="$steps" '
        {
            split($1, a, "@"); t = a[2]; sub(/\+$/, "", t)
            if (n > 0) { d = t - pt; dur[n] = d; line[n] = pl; w = pw; tot[w] += d; cnt[w]++; all += d }
            n++; pt = t; pl = substr($0, 1, 140)
            pw = $2; if ((pw == "not" || pw == "should" || pw == "invalid" || pw == "fail") && NF > 2) pw = pw " " $3
        }
        END {
            for (w in tot) printf "STEPS %s word=%s n=%d total_ms=%d\n", s, w, cnt[w], tot[w] * 1000 | "sort -t= -k4 -n -r | head -n 25"
            close("sort -t= -k4 -n -r | head -n 25")
            printf "STEPS %s ALL steps=%d total_ms=%d\n", s, n, all * 1000
            for (i = 1; i < n; i++) printf "STEPS %s slow ms=%d %s\n", s, dur[i] * 1000, line[i] | "sort -t= -k2 -n -r | head -n " top
        }'
}

# ---- run --------------------------------------------------------------------------------
passed=0 failed=0 skipped=0 unexpected=0
suite_start=$(now_ms)
cd "$datadir"
for name in "${scripts[@]}"; do
    log=$work/logs/${name%.sh}.log
    if [ ! -f "shell/$name" ]; then
        echo "FAIL $name (0.0s): no such script in the suite"
        failed=$((failed + 1)); unexpected=$((unexpected + 1))
        continue
    fi
    say "--- $name"
    : >"$work/logs/profile.current"
    for attempt in 1 2; do
        start=$(now_ms)
        # timeout(1) makes itself a process group leader and, on timeout, signals the group;
        # once the script is over, whatever it left in that group (e.g. the `sleep` of
        # aux hold_device_open, holding an LV open) is killed too, as LVM2's runner does.
        timeout -k 15 "$per_timeout" bash -noprofile -norc "shell/$name" </dev/null >"$log" 2>&1 &
        tpid=$!
        rc=0
        wait "$tpid" || rc=$?
        kill -KILL -- "-$tpid" 2>/dev/null || true
        took=$(secs $(($(now_ms) - start)))
        if [ "$attempt" = 1 ] && [ "$rc" != 0 ] && [ "$rc" != 200 ] && [ -n "${timing[$name]:-}" ]; then
            echo "RETRY $name (${took}s): exit $rc; listed timing-sensitive, trying once more"
            show_failure "$log"
            cleanup_after "$name"
            continue
        fi
        break
    done
    expected_fail=0
    [ "$mode" = rlvm ] && [ -n "${xfail[$name]:-}" ] && expected_fail=1
    case $rc in
        0)
            passed=$((passed + 1))
            note=""
            [ "$expected_fail" = 1 ] && note=" (listed rlvm-xfail but passed: drop the flag)"
            echo "PASS $name (${took}s)$note"
            ;;
        200)
            skipped=$((skipped + 1))
            reason=$(grep -m1 '^TEST SKIPPED' "$log" | sed 's/^TEST SKIPPED: *//' || true)
            # A bare `skip`: the check before it (`aux have_thin 1 0 0 || skip`) is the reason.
            [ -n "$reason" ] || reason=$(awk -v n="${name%.sh}" '
                $0 ~ "^#" n "\\.sh:[0-9]+\\+ skip" { if (prev != "") print prev " failed"; exit }
                $0 ~ "^#" n "\\.sh:[0-9]+\\+ " { prev = $0; sub(/^#[^ ]+ /, "", prev) }' "$log" || true)
            echo "SKIP $name (${took}s): ${reason:-no reason given}"
            ;;
        *)
            failed=$((failed + 1))
            why="exit $rc"
            [ "$rc" = 124 ] || [ "$rc" = 137 ] && why="timed out after ${per_timeout}s"
            if [ "$expected_fail" = 1 ]; then
                why="$why; expected with rlvm (listed rlvm-xfail)"
            else
                unexpected=$((unexpected + 1))
            fi
            echo "FAIL $name (${took}s): $why"
            show_failure "$log"
            ;;
    esac
    [ "$steps" = 0 ] || steps_report "$name" "$log"
    if [ "$profile" = 1 ]; then
        profile_report "$name" "$work/logs/profile.current"
        cat "$work/logs/profile.current" >>"$work/logs/profile.all"
    fi
    cleanup_after "$name"
done
[ "$profile" = 1 ] && profile_report ALL "$work/logs/profile.all"

say "total $(secs $(($(now_ms) - suite_start)))s for ${#scripts[@]} scripts (mode=$mode)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$unexpected" = 0 ]
