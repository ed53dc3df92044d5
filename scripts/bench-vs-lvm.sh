#!/usr/bin/env bash
# bench-vs-lvm.sh - time rlvm against real LVM2 on a VG with 1000 LVs.
#
# As root, on two sparse-file loop devices with 8 MiB metadata areas, in
# LVM2's metadata-only mode (private LVM_SYSTEM_DIR from
# tests/golden/interop-lvm.sh; rlvm reads the same lvm.conf):
#
#   1. pvcreate --metadatasize 8m, vgcreate -s 4m (LVM2)
#   2. write 1000 linear LVs + 4 snapshots in one go with vgcfgrestore
#      (the metadata file is generated here from LVM2's own vgcfgbackup)
#   3. time `lvs`, `vgs`, `pvs -o +lv_name`, `lvdisplay -S lv_name=...` and
#      `lvcreate -an -Zn -L 4m` (the LV is removed,
#      untimed, before the next run) for both tools; print medians and the
#      ratio rlvm/LVM2.
#
# Usage: sudo scripts/bench-vs-lvm.sh
# Environment:
#   RUNS=N        timed runs per command (default 10; 1 extra warm-up run)
#   LVS=N         number of linear LVs (default 1000)
#   RLVM=path     rlvm binary (default: scripts/build-release.sh, then
#                 $CARGO_TARGET_DIR/release/rlvm)
#   NO_BUILD=1    skip scripts/build-release.sh
#   NO_HYPERFINE=1  use the built-in timing loop even if hyperfine exists
# Loop devices are detached and temp files removed on exit.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
RUNS=${RUNS:-10}
LVS=${LVS:-1000}
SNAPS=4
VG=benchvg

if [ "$(id -u)" != 0 ]; then
    echo "bench-vs-lvm.sh: must run as root (loop devices)" >&2
    exit 1
fi

if [ -z "${RLVM:-}" ]; then
    target=${CARGO_TARGET_DIR:-$root/target}
    if [ -z "${NO_BUILD:-}" ]; then
        "$root/scripts/build-release.sh" >/dev/null
    fi
    RLVM=$target/release/rlvm
fi
[ -x "$RLVM" ] || { echo "bench-vs-lvm.sh: no rlvm binary at $RLVM" >&2; exit 1; }

# shellcheck source=../tests/golden/interop-lvm.sh
. "$root/tests/golden/interop-lvm.sh"
# 4 MiB extents, 1 extent per LV: 1008 extents over two PVs, plus room.
lvmi_setup 4G 4G
D0=${LVMI_DEVS[0]}
D1=${LVMI_DEVS[1]}

rl() { LVM_SYSTEM_DIR="$LVM_SYSTEM_DIR" "$RLVM" "$@"; }
# Setup commands: stderr (LVM2's "Activation disabled" warnings) goes to a
# log that is shown only if the command fails.
setup_log=$LVMI_DIR/setup.log
quiet() { "$@" >/dev/null 2>>"$setup_log" || { cat "$setup_log" >&2; return 1; }; }

quiet lvmi pvcreate -q --metadatasize 8m "$D0" "$D1"
quiet lvmi vgcreate -q -s 4m "$VG" "$D0" "$D1"
base=$LVMI_DIR/base.vg
full=$LVMI_DIR/full.vg
quiet lvmi vgcfgbackup -q -f "$base" "$VG"

# An LVM2 id (32 characters, 6-4-4-4-4-4-6) from a 32-character string.
dashed() {
    local s=$1
    echo "${s:0:6}-${s:6:4}-${s:10:4}-${s:14:4}-${s:18:4}-${s:22:4}-${s:26:6}"
}

gen_lvs() {
    local i pv pe0=0 pe1=0 pe s name
    echo "	logical_volumes {"
    take() { # -> pv, pe for LV number $1 (alternating PVs)
        if (( $1 % 2 == 0 )); then pv=pv0; pe=$pe0; pe0=$((pe0 + 1));
        else pv=pv1; pe=$pe1; pe1=$((pe1 + 1)); fi
    }
    lv_section() { # name id visible pv pe
        local status='"READ", "WRITE"'
        [ "$3" = 1 ] && status+=', "VISIBLE"'
        cat <<EOF

		$1 {
			id = "$(dashed "$2")"
			status = [$status]
			flags = []
			creation_time = 1700000000
			creation_host = "benchhost"
			segment_count = 1

			segment1 {
				start_extent = 0
				extent_count = 1

				type = "striped"
				stripe_count = 1

				stripes = [
					"$4", $5
				]
			}
		}
EOF
    }
    for ((i = 0; i < LVS; i++)); do
        take "$i"
        lv_section "$(printf 'lv%04d' "$i")" "$(printf 'BenchLv%025d' "$i")" 1 "$pv" "$pe"
    done
    for ((s = 0; s < SNAPS; s++)); do
        take "$s"
        lv_section "snap$s" "$(printf 'BenchCow%024d' "$s")" 0 "$pv" "$pe"
        cat <<EOF

		snapshot$s {
			id = "$(dashed "$(printf 'BenchSnap%023d' "$s")")"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			creation_time = 1700000000
			creation_host = "benchhost"
			segment_count = 1

			segment1 {
				start_extent = 0
				extent_count = 1

				type = "snapshot"
				chunk_size = 8
				origin = "$(printf 'lv%04d' "$s")"
				cow_store = "snap$s"
			}
		}
EOF
    done
    echo "	}"
}

# Insert the logical_volumes section before the VG section's closing brace
# (the last line that is exactly "}").
last=$(grep -n '^}$' "$base" | tail -1 | cut -d: -f1)
{
    head -n $((last - 1)) "$base"
    gen_lvs
    tail -n +"$last" "$base"
} >"$full"
quiet lvmi vgcfgrestore -q -f "$full" "$VG"
n_lvm=$(lvmi lvs -a --noheadings -o lv_name "$VG" 2>>"$setup_log" | wc -l)
n_rlvm=$(rl lvs -a --noheadings -o lv_name "$VG" 2>>"$setup_log" | wc -l)
mda_kib=$(( $(stat -c %s "$full") / 1024 ))
echo "VG $VG: $LVS linear LVs + $SNAPS snapshots on $D0 $D1 (metadata text ~${mda_kib} KiB)."
echo "lvs -a rows: LVM2 $n_lvm, rlvm $n_rlvm"
if [ "$n_lvm" != "$n_rlvm" ] || [ "$n_lvm" -lt "$LVS" ]; then
    echo "bench-vs-lvm.sh: LVM2 and rlvm disagree about the VG; not timing." >&2
    exit 1
fi
lvm_version=$(lvmi version 2>/dev/null | sed -n 's/^ *LVM version: *//p' | head -1)
rlvm_version=$(rl version 2>/dev/null | sed -n 's/^ *rlvm version: *//p' | head -1 || true)
echo "LVM2: ${lvm_version:-?}   rlvm: ${rlvm_version:-?} ($RLVM)"

use_hf=
if [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null; then
    use_hf=1
fi

# median_of FILE: median of the numbers in FILE (one per line), seconds.
median_of() {
    sort -g "$1" | awk '{ a[NR] = $1 } END {
        if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# time_cmd NAME PREPARE CMD: RUNS timed runs of CMD (a plain command line,
# split on spaces, output discarded), after one warm-up run; PREPARE (a
# shell string) runs untimed before each run. Echoes the median in seconds.
time_cmd() {
    local name=$1 prep=$2 cmd=$3 out=$LVMI_DIR/$1.times i t0 t1
    : >"$out"
    if [ -n "$use_hf" ]; then
        local pargs=()
        [ -n "$prep" ] && pargs=(--prepare "bash -c '$prep'")
        hyperfine -N --style none --warmup 1 --runs "$RUNS" "${pargs[@]}" \
            --export-json "$LVMI_DIR/$name.json" "$cmd" >/dev/null 2>&1 ||
            { echo "hyperfine failed for $name: $cmd" >&2; return 1; }
        jq -r '.results[0].times[]' "$LVMI_DIR/$name.json" >"$out"
    else
        for ((i = -1; i < RUNS; i++)); do
            [ -n "$prep" ] && bash -c "$prep"
            t0=$EPOCHREALTIME
            # shellcheck disable=SC2086
            $cmd >/dev/null 2>&1 || { echo "failed: $cmd" >&2; return 1; }
            t1=$EPOCHREALTIME
            ((i < 0)) || echo "$t1 - $t0" | bc -l >>"$out"
        done
    fi
    median_of "$out"
}

# The environment carries LVM_SYSTEM_DIR and LVM_SUPPRESS_FD_WARNINGS (set
# by lvmi_setup) to both tools and to hyperfine's children.
export LVM_SYSTEM_DIR LVM_SUPPRESS_FD_WARNINGS
L="$LVMI_LVM"
R="$RLVM"
rows=()
compare() { # label lvm-prep lvm-cmd rlvm-prep rlvm-cmd
    local a b
    a=$(time_cmd "lvm-$1" "$2" "$3")
    b=$(time_cmd "rlvm-$1" "$4" "$5")
    rows+=("$(printf '%-10s %10.2f %10.2f %8.2f' "$1" \
        "$(echo "$a * 1000" | bc -l)" "$(echo "$b * 1000" | bc -l)" "$(echo "$b / $a" | bc -l)")")
}

compare lvs "" "$L lvs $VG" "" "$R lvs $VG"
compare vgs "" "$L vgs $VG" "" "$R vgs $VG"
# Reports that join PV segments with LVs, and a selection: both made a
# value's facts by scanning the VG (quadratic in LVs) before stop 22.
compare pvs+lv "" "$L pvs -o +lv_name $D0 $D1" "" "$R pvs -o +lv_name $D0 $D1"
compare lvdisp-S "" "$L lvdisplay -S lv_name=lv0009 $VG" "" "$R lvdisplay -S lv_name=lv0009 $VG"
compare lvcreate "$L lvremove -q -f $VG/x >/dev/null 2>&1 || true" \
    "$L lvcreate -q -an -Zn -L 4m -n x $VG" \
    "$R lvremove -q -f $VG/y >/dev/null 2>&1 || true" \
    "$R lvcreate -q -an -Zn -L 4m -n y $VG"
lvmi lvremove -q -f "$VG/x" >/dev/null 2>&1 || true
rl lvremove -q -f "$VG/y" >/dev/null 2>&1 || true

echo
echo "Median wall time of $RUNS runs ($([ -n "$use_hf" ] && echo hyperfine || echo shell loop)):"
printf '%-10s %10s %10s %8s\n' command "LVM2 ms" "rlvm ms" rlvm/LVM2
for r in "${rows[@]}"; do echo "$r"; done
