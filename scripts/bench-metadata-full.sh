#!/usr/bin/env bash
# bench-metadata-full.sh - time `lvchange --addtag` of rlvm against real LVM2
# on the workload of LVM2's test/shell/metadata-full.sh: 64 PVs, a VG with
# -s 512K --metadatacopies 8, 925 linear LVs each carrying a 300-character
# tag (about 0.6 MiB of metadata text), written with vgcfgrestore.
#
# As root, on 64 sparse-file loop devices, in LVM2's metadata-only mode
# (private LVM_SYSTEM_DIR from tests/golden/interop-lvm.sh; rlvm reads the
# same lvm.conf, archives and backups on as there). Each tool adds then
# removes a 100-character tag on RUNS LVs in turn (a commit each); the median
# wall time of one `lvchange` and the ratio rlvm/LVM2 are printed, then the
# same for `lvs`, `vgs` and a `lvcreate -an -Zn -l 1` + `lvremove` pair.
#
# Usage: sudo scripts/bench-metadata-full.sh
# Environment:
#   RUNS=N        lvchange pairs (and lvs, vgs, lvcreate+lvremove
#                 pairs) timed per tool (default 10)
#   PVS=N         number of PVs (default 64)
#   LVS=N         number of LVs (default 925)
#   RLVM=path     rlvm binary (default: scripts/build-release.sh, then
#                 $CARGO_TARGET_DIR/release/rlvm)
#   NO_BUILD=1    skip scripts/build-release.sh
#   KEEP_SHELL=1  after timing, open a shell with the setup in place (for perf)
# Loop devices are detached and temp files removed on exit.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
RUNS=${RUNS:-10}
PVS=${PVS:-64}
LVS=${LVS:-925}
VG=fullvg

if [ "$(id -u)" != 0 ]; then
    echo "bench-metadata-full.sh: must run as root (loop devices)" >&2
    exit 1
fi

if [ -z "${RLVM:-}" ]; then
    target=${CARGO_TARGET_DIR:-$root/target}
    if [ -z "${NO_BUILD:-}" ]; then
        "$root/scripts/build-release.sh" >/dev/null
    fi
    RLVM=$target/release/rlvm
fi
[ -x "$RLVM" ] || { echo "bench-metadata-full.sh: no rlvm binary at $RLVM" >&2; exit 1; }

# shellcheck source=../tests/golden/interop-lvm.sh
. "$root/tests/golden/interop-lvm.sh"
sizes=()
for ((i = 0; i < PVS; i++)); do sizes+=(1000M); done
lvmi_setup "${sizes[@]}"

setup_log=$LVMI_DIR/setup.log
quiet() { "$@" >/dev/null 2>>"$setup_log" || { cat "$setup_log" >&2; return 1; }; }

quiet lvmi pvcreate -q "${LVMI_DEVS[@]}"
quiet lvmi vgcreate -q -s 512K --metadatacopies 8 "$VG" "${LVMI_DEVS[@]}"
data=$LVMI_DIR/data
quiet lvmi vgcfgbackup -q -f "$data" "$VG"
tag=A
for ((i = 0; i < 30; i++)); do tag+=1234567890; done
# The same text as metadata-full.sh generates (its awk program, re-written):
# a logical_volumes section after the VG's physical_volumes section.
awk -v N="$LVS" -v TAG="$tag" '/^\t\}/ && !done {
    printf("\t}\n\tlogical_volumes {\n");
    for (i = 0; i < N; i++) {
        printf("\t\tlvol%d {\n", i);
        printf("\t\t\tid = \"%06d-1111-2222-3333-2222-1111-%06d\"\n", i, i);
        print "\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]";
        printf("\t\t\ttags = [\"%s\"]\n", TAG);
        print "\t\t\tsegment_count = 1";
        print "\t\t\tsegment1 {";
        print "\t\t\t\tstart_extent = 0";
        print "\t\t\t\textent_count = 1";
        print "\t\t\t\ttype = \"striped\"";
        print "\t\t\t\tstripe_count = 1";
        print "\t\t\t\tstripes = [";
        print "\t\t\t\t\t\"pv0\", " i;
        printf("\t\t\t\t]\n\t\t\t}\n\t\t}\n");
    }
    done = 1
}
{ print }' "$data" >"$data.new"
quiet lvmi vgcfgrestore -q -f "$data.new" "$VG"
echo "VG $VG: $LVS LVs on $PVS PVs, --metadatacopies 8 (metadata text ~$(( $(stat -c %s "$data.new") / 1024 )) KiB)."

rl() { LVM_SYSTEM_DIR="$LVM_SYSTEM_DIR" LVM_SUPPRESS_FD_WARNINGS=1 "$RLVM" "$@"; }
btag=B
for ((i = 0; i < 10; i++)); do btag+=1234567890; done

# median FILE: the median of the numbers in FILE, one per line.
median() {
    sort -g "$1" | awk '{ a[NR] = $1 } END {
        if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# time_tool NAME CMD...: RUNS x (addtag + deltag) on lvol1..lvolRUNS; echoes
# the median seconds of one lvchange.
time_tool() {
    local name=$1 out=$LVMI_DIR/$1.times i op t0 t1
    shift
    : >"$out"
    for ((i = 1; i <= RUNS; i++)); do
        for op in --addtag --deltag; do
            t0=$EPOCHREALTIME
            "$@" lvchange "$op" "$btag" "$VG/lvol$i" >/dev/null 2>>"$setup_log" ||
                { echo "failed: $* lvchange $op $VG/lvol$i" >&2; cat "$setup_log" >&2; return 1; }
            t1=$EPOCHREALTIME
            echo "$t1 - $t0" | bc -l >>"$out"
        done
    done
    median "$out"
}

# time_each NAME CMD...: RUNS runs of CMD (output discarded); echoes the
# median seconds.
time_each() {
    local name=$1 out=$LVMI_DIR/$1.times i t0 t1
    shift
    : >"$out"
    for ((i = 1; i <= RUNS; i++)); do
        t0=$EPOCHREALTIME
        "$@" >/dev/null 2>>"$setup_log" ||
            { echo "failed: $*" >&2; cat "$setup_log" >&2; return 1; }
        t1=$EPOCHREALTIME
        echo "$t1 - $t0" | bc -l >>"$out"
    done
    median "$out"
}

# time_pair NAME TOOL: RUNS x (lvcreate -an -Zn -l 1 + lvremove) of one LV;
# echoes the median seconds of one pair.
time_pair() {
    local name=$1 tool=$2 out=$LVMI_DIR/$1.times i t0 t1
    : >"$out"
    for ((i = 1; i <= RUNS; i++)); do
        t0=$EPOCHREALTIME
        "$tool" lvcreate -q -an -Zn -l 1 -n "tmp$i" "$VG" >/dev/null 2>>"$setup_log" &&
            "$tool" lvremove -q -f "$VG/tmp$i" >/dev/null 2>>"$setup_log" ||
            { echo "failed: $tool lvcreate/lvremove $VG/tmp$i" >&2; cat "$setup_log" >&2; return 1; }
        t1=$EPOCHREALTIME
        echo "$t1 - $t0" | bc -l >>"$out"
    done
    median "$out"
}

row() { # label lvm-seconds rlvm-seconds
    printf '%-18s %10.2f %10.2f %8.2f\n' "$1" "$(echo "$2 * 1000" | bc -l)" \
        "$(echo "$3 * 1000" | bc -l)" "$(echo "$3 / $2" | bc -l)"
}

a=$(time_tool lvm lvmi)
b=$(time_tool rlvm rl)
lvs_a=$(time_each lvm-lvs lvmi lvs "$VG")
lvs_b=$(time_each rlvm-lvs rl lvs "$VG")
vgs_a=$(time_each lvm-vgs lvmi vgs "$VG")
vgs_b=$(time_each rlvm-vgs rl vgs "$VG")
pair_a=$(time_pair lvm-pair lvmi)
pair_b=$(time_pair rlvm-pair rl)
echo
echo "Median wall time: one lvchange --addtag/--deltag ($((2 * RUNS)) per tool);"
echo "lvs, vgs and one lvcreate -an + lvremove pair ($RUNS each):"
printf '%-18s %10s %10s %8s\n' command "LVM2 ms" "rlvm ms" rlvm/LVM2
row lvchange "$a" "$b"
row lvs "$lvs_a" "$lvs_b"
row vgs "$vgs_a" "$vgs_b"
row lvcreate+lvremove "$pair_a" "$pair_b"

if [ -n "${KEEP_SHELL:-}" ]; then
    echo "LVM_SYSTEM_DIR=$LVM_SYSTEM_DIR VG=$VG; exit the shell to clean up."
    export VG RLVM
    bash -i || true
fi
