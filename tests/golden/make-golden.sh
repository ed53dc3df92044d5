#!/bin/bash
# make-golden.sh - regenerate the golden LVM2 metadata corpus in
# tests/golden/cases/ from scratch, using the real LVM2 (`lvm`, tested with
# Debian lvm2 2.03.16) in metadata-only mode on loop devices over sparse files.
#
# Usage:  sudo tests/golden/make-golden.sh [CASE...]
#         (no argument: all cases; the cases/ directory is replaced atomically
#          only when every requested case succeeded)
#
# Needs root, /dev/loop-control, lvm, losetup, truncate, dd, gzip, awk, sed.
# Writes nothing outside its temp dirs and tests/golden/cases/; all loop
# devices it attaches are detached on exit (see interop-lvm.sh).
# UUIDs, timestamps, hostnames and loop numbers differ between runs; the
# shape of each case (LVs, segments, seqno, wrap) is reproducible.
set -euo pipefail
export LC_ALL=C TZ=UTC

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_FINAL="$HERE/cases"
ALL_CASES=(single-linear multi-pv-striped snapshots merging wrapped two-mdas unknown-segment)
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=("${ALL_CASES[@]}")

LVMI_NO_TRAP=1
# shellcheck source=interop-lvm.sh
. "$HERE/interop-lvm.sh"

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/golden-stage.XXXXXX")
cleanup() {
    lvmi_teardown
    rm -rf -- "$STAGE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LVM_VERSION=$(lvm version 2>/dev/null | sed -n 's/^ *LVM version: *//p')

# ---------------------------------------------------------------- helpers

CASE_DIR=""   # current case output dir
VG=""         # current VG name

# run ARGS...: run `lvm ARGS`, logging the command and its (placeholdered)
# output to commands.log; fails the script if lvm fails.
# If RUN_CWD is set, lvm runs in that directory (so relative -f paths stay
# relative in the log and in LVM's own "description" strings).
RUN_CWD=""
run() {
    local rc=0 out
    {
        if [ -n "$RUN_CWD" ]; then printf '$ (cd %s && lvm %s)\n' "${RUN_CWD/#$LVMI_DIR/\$TMP}" "$*"
        else printf '$ lvm %s\n' "$*"; fi
    } | lvmi_placeholders >>"$CASE_DIR/commands.log"
    out=$(cd "${RUN_CWD:-.}" && lvmi "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -v 'WARNING: Activation disabled' \
        | lvmi_placeholders >>"$CASE_DIR/commands.log" || true
    if [ $rc -ne 0 ]; then
        echo "make-golden: 'lvm $*' failed (rc=$rc):" >&2
        printf '%s\n' "$out" >&2
        return $rc
    fi
}

# q ARGS...: run lvm quietly, stdout only (for reports used by the script).
q() { lvmi "$@" 2>/dev/null; }

# mda_locn DEV [MDA_NUM]: echo "mda_size offset size" of the committed slot.
mda_locn() {
    local n=${2:-1}
    q pvck --dump headers "$1" | awk -v h="mda_header_$n" '
        $1 == h ".size" { s = $2 }
        $1 == h ".raw_locn[0].offset" { o = $2 }
        $1 == h ".raw_locn[0].size" { z = $2 }
        END { print s, o, z }'
}

new_case() {
    CASE_DIR="$STAGE/$1"
    VG=$2
    mkdir -p "$CASE_DIR"
    : >"$CASE_DIR/commands.log"
    shift 2
    lvmi_setup "$@"
}

# capture [tail]: store everything about the current VG into CASE_DIR, then
# tear the loop devices down.
capture() {
    local want_tail=${1:-} i dev n pvuuid
    local pvjson=""
    # vgcfgbackup with a relative path so its description line is stable.
    (cd "$CASE_DIR" && lvmi vgcfgbackup -f backup.vg "$VG" >/dev/null 2>&1)

    local common=(--reportformat json --units b --nosuffix)
    q lvs -a -o lv_name,vg_name,lv_attr,lv_size,origin,lv_uuid,segtype,devices,lv_tags \
        "${common[@]}" "$VG" | lvmi_placeholders >"$CASE_DIR/lvs.json"
    q vgs -o vg_name,vg_uuid,vg_seqno,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free,vg_extent_size,vg_tags \
        "${common[@]}" "$VG" | lvmi_placeholders >"$CASE_DIR/vgs.json"
    q pvs -o pv_name,pv_uuid,vg_name,pv_size,pv_free,pe_start,pv_mda_count,pv_tags \
        "${common[@]}" "${LVMI_DEVS[@]}" | lvmi_placeholders >"$CASE_DIR/pvs.json"
    q lvs -a "$VG" | lvmi_placeholders >"$CASE_DIR/lvs.txt"
    q vgs "$VG" | lvmi_placeholders >"$CASE_DIR/vgs.txt"
    q pvs "${LVMI_DEVS[@]}" | lvmi_placeholders >"$CASE_DIR/pvs.txt"

    for i in "${!LVMI_DEVS[@]}"; do
        dev=${LVMI_DEVS[$i]}
        q pvck --dump headers "$dev" | lvmi_placeholders >"$CASE_DIR/pv$i.pvck-headers.txt"
        # The committed metadata text as LVM reads it (verbatim, mda1).
        lvmi pvck --dump metadata -f "$CASE_DIR/pv$i.mda1.txt" "$dev" >/dev/null 2>&1 || true
        dd if="$dev" bs=1M count=1 iflag=direct status=none | gzip -9 -n >"$CASE_DIR/pv$i.head.gz"
        local tailfield=""
        if [ -n "$want_tail" ]; then
            local sz=${LVMI_SIZES[$i]}
            dd if="$dev" bs=1M skip=$((sz / 1048576 - 1)) count=1 iflag=direct status=none \
                | gzip -9 -n >"$CASE_DIR/pv$i.tail.gz"
            tailfield=", \"tail\": \"pv$i.tail.gz\", \"tail_offset\": $((sz - 1048576))"
            if [ "$(q pvs --noheadings -o pv_mda_count "$dev" | tr -d ' ')" = 2 ]; then
                lvmi pvck --dump metadata --settings mda_num=2 -f "$CASE_DIR/pv$i.mda2.txt" "$dev" >/dev/null 2>&1 || true
            fi
        fi
        pvuuid=$(q pvs --noheadings -o pv_uuid "$dev" | tr -d ' ')
        n=$(basename "$dev")
        pvjson+="${pvjson:+,
}    { \"name\": \"pv$i\", \"placeholder\": \"@pv$i@\", \"device_at_generation\": \"/dev/$n\", \"size_bytes\": ${LVMI_SIZES[$i]}, \"pv_uuid\": \"$pvuuid\", \"head\": \"pv$i.head.gz\", \"head_bytes\": 1048576$tailfield }"
    done

    local seqno
    seqno=$(q vgs --noheadings -o vg_seqno "$VG" | tr -d ' ')
    cat >"$CASE_DIR/meta.json" <<EOF
{
  "case": "$(basename "$CASE_DIR")",
  "lvm_version": "$LVM_VERSION",
  "vg_name": "$VG",
  "vg_seqno": $seqno,
  "pvs": [
$pvjson
  ]$EXTRA_META
}
EOF
    EXTRA_META=""
    lvmi_teardown
}
EXTRA_META=""

# ---------------------------------------------------------------- cases

case_single_linear() {
    new_case single-linear vg0 64M
    local d0=${LVMI_DEVS[0]}
    run pvcreate "$d0"
    run vgcreate vg0 "$d0"
    run lvcreate -an -Zn -L 8M -n lv1 vg0
    run lvcreate -an -Zn -l 3 -n lv2 vg0
    capture
}

case_multi_pv_striped() {
    new_case multi-pv-striped vg1 64M 64M 64M
    local d=("${LVMI_DEVS[@]}")
    run pvcreate "${d[@]}"
    run vgcreate --addtag vgtag --addtag 'owner=rlvm:golden/x' vg1 "${d[@]}"
    run pvchange --addtag pvtag0 "${d[0]}"
    run pvchange --addtag pvtag2 --addtag fast "${d[2]}"
    # 3-way stripe, 64 KiB stripe size: 2 extents on each PV.
    run lvcreate -an -Zn -i 3 -I 64k -l 6 -n striped vg1
    # Linear LV filling the rest of pv0 (13 extents) and continuing on pv1.
    local free0
    free0=$(q pvs --noheadings -o pv_pe_count,pv_pe_alloc_count "${d[0]}" | awk '{print $1-$2}')
    run lvcreate -an -Zn -l $((free0 + 2)) -n span vg1 "${d[0]}" "${d[1]}"
    run lvchange --addtag lvtag --addtag 'prio+1' vg1/span
    run lvcreate -an -Zn -l 1 -n oldname vg1 "${d[2]}"
    run lvrename vg1 oldname renamed
    run lvcreate -an -Zn -l 1 -n doomed vg1 "${d[1]}"
    run lvremove -y vg1/doomed
    run lvcreate -an -Zn -l 2 -n tail vg1 "${d[2]}"
    capture
}

case_snapshots() {
    new_case snapshots my-vg 64M
    local d0=${LVMI_DEVS[0]}
    run pvcreate "$d0"
    run vgcreate my-vg "$d0"
    run lvcreate -an -Zn -L 16M -n lv0 my-vg
    run lvcreate -an -Zn -L 4M -n snapA my-vg
    run lvcreate -an -Zn -L 8M -n lv-1 my-vg
    run lvconvert -y -s -Zn -c 8k my-vg/lv0 my-vg/snapA
    run lvconvert -y -s -Zn -c 64k my-vg/lv0 my-vg/lv-1
    run lvcreate -an -Zn -L 4M -n plain-lv my-vg
    capture
}

case_merging() {
    new_case merging vg0 64M 64M
    local d=("${LVMI_DEVS[@]}")
    run pvcreate "${d[@]}"
    run vgcreate vg0 "${d[@]}"
    run lvcreate -an -Zn -l 4 -n origin vg0 "${d[0]}"
    run lvcreate -an -Zn -l 2 -n snap1 vg0 "${d[0]}"
    run lvcreate -an -Zn -l 2 -n snap2 vg0 "${d[1]}"
    run lvconvert -y -s -Zn -c 4k vg0/origin vg0/snap1
    run lvconvert -y -s -Zn -c 4k vg0/origin vg0/snap2
    # Turn snap2 into a merging snapshot: in the snapshotN section whose
    # cow_store is "snap2": cow_store -> merging_store, drop VISIBLE.
    local w="$LVMI_DIR/merge"
    mkdir -p "$w"
    (cd "$w" && lvmi vgcfgbackup -f before.vg vg0 >/dev/null 2>&1)
    awk '
        function flush() { for (i = 1; i <= n; i++) print buf[i]; n = 0 }
        /^\t\tsnapshot[0-9]+ \{$/ { inblk = 1 }
        inblk { buf[++n] = $0
                if ($0 ~ /^\t\t}$/) {
                    merge = 0
                    for (i = 1; i <= n; i++) if (buf[i] ~ /cow_store = "snap2"/) merge = 1
                    if (merge) for (i = 1; i <= n; i++) {
                        sub(/cow_store = "snap2"/, "merging_store = \"snap2\"", buf[i])
                        if (buf[i] ~ /^\t\t\tstatus = /) sub(/, "VISIBLE"/, "", buf[i])
                    }
                    flush(); inblk = 0
                }
                next }
        { print }' "$w/before.vg" >"$w/merging.vg"
    (cd "$w" && diff -u before.vg merging.vg | sed -e 's/^\(---\|+++\) \([^\t]*\).*/\1 \2/') \
        >"$CASE_DIR/merge-edit.diff" || true
    grep -q 'merging_store = "snap2"' "$w/merging.vg" || { echo "merge edit failed" >&2; return 1; }
    RUN_CWD=$w run vgcfgrestore -f merging.vg vg0
    # Sanity: origin Owi, merging COW Swi, normal snapshot swi.
    local attrs
    attrs=$(q lvs -a --noheadings -o lv_name,lv_attr vg0)
    echo "$attrs" | grep -Eq '^ *origin +Owi' || { echo "merging: origin not Owi: $attrs" >&2; return 1; }
    echo "$attrs" | grep -Eq '^ *\[snap2\] +Swi' || { echo "merging: snap2 not Swi: $attrs" >&2; return 1; }
    echo "$attrs" | grep -Eq '^ *snap1 +swi' || { echo "merging: snap1 not swi: $attrs" >&2; return 1; }
    capture
}

case_wrapped() {
    new_case wrapped vgw 64M
    local d0=${LVMI_DEVS[0]}
    # Smallest mda LVM allows is 32 KiB (MDA_SIZE_MIN); a 4 KiB data
    # alignment keeps pvcreate from growing it up to a 1 MiB pe_start.
    run pvcreate --metadatasize 32k --dataalignment 4k "$d0"
    run vgcreate -s 1M vgw "$d0"
    run lvcreate -an -Zn -l 4 -n keep0 vgw
    run lvcreate -an -Zn -l 4 -n keep1 vgw
    local i=0 s o z wrapped=""
    while [ $i -lt 400 ]; do
        case $((i % 3)) in
            0) run lvcreate -an -Zn -l 1 -n "tmp$i" vgw ;;
            1) run lvchange --addtag "round$i" "vgw/tmp$((i - 1))" ;;
            2) run lvremove -y "vgw/tmp$((i - 2))" ;;
        esac
        i=$((i + 1))
        read -r s o z < <(mda_locn "$d0")
        if [ $((o + z)) -gt "$s" ]; then wrapped=1; break; fi
    done
    [ -n "$wrapped" ] || { echo "wrapped: no wrap after $i commands" >&2; return 1; }
    # Make sure the wrapped copy is the last one (no further commits).
    {
        echo "mda_size=$s"
        echo "committed_offset=$o"
        echo "committed_size=$z"
        echo "bytes_at_end=$((s - o))"
        echo "bytes_wrapped_after_header=$((o + z - s))"
        echo "commands_in_loop=$i"
    } >"$CASE_DIR/wrap.txt"
    EXTRA_META=",
  \"wrap\": { \"mda_size\": $s, \"committed_offset\": $o, \"committed_size\": $z, \"bytes_at_end\": $((s - o)), \"bytes_wrapped\": $((o + z - s)) }"
    capture
}

case_two_mdas() {
    new_case two-mdas vg2 64M 64M
    local d=("${LVMI_DEVS[@]}")
    run pvcreate --pvmetadatacopies 2 "${d[0]}"
    run pvcreate "${d[1]}"
    run vgcreate vg2 "${d[@]}"
    run lvcreate -an -Zn -L 12M -n data vg2 "${d[0]}"
    run lvcreate -an -Zn -L 20M -n logs vg2 "${d[1]}"
    run lvchange --addtag twomda vg2/data
    capture tail
}

case_unknown_segment() {
    new_case unknown-segment vgu 64M
    local d0=${LVMI_DEVS[0]}
    run pvcreate "$d0"
    run vgcreate vgu "$d0"
    run lvcreate -an -Zn -l 1 -n normal vgu
    run lvcreate -an -Zn -l 2 -n weird vgu
    local w="$LVMI_DIR/unk"
    mkdir -p "$w"
    (cd "$w" && lvmi vgcfgbackup -f before.vg vgu >/dev/null 2>&1)
    # Segment type of "weird" -> "foobar", plus an extra unknown key.
    awk '/^\t\tweird \{$/ { w = 1 }
         w && /^\t\t\t\ttype = "striped"$/ {
             sub(/"striped"/, "\"foobar\""); print
             print "\t\t\t\tfoobar_option = \"kept verbatim?\""
             w = 0; next }
         { print }' "$w/before.vg" >"$w/unknown.vg"
    (cd "$w" && diff -u before.vg unknown.vg | sed -e 's/^\(---\|+++\) \([^\t]*\).*/\1 \2/') \
        >"$CASE_DIR/unknown-edit.diff" || true
    grep -q 'type = "foobar"' "$w/unknown.vg" || { echo "unknown edit failed" >&2; return 1; }
    RUN_CWD=$w run vgcfgrestore -f unknown.vg vgu
    # LVM must now refuse to change the VG; record that (expected failure).
    printf '$ lvm lvcreate -an -Zn -l 1 -n refused vgu   # expected to fail\n' >>"$CASE_DIR/commands.log"
    if lvmi lvcreate -an -Zn -l 1 -n refused vgu >>"$CASE_DIR/commands.log" 2>&1; then
        echo "unknown-segment: LVM unexpectedly accepted a change" >&2; return 1
    fi
    sed -i '/WARNING: Activation disabled/d' "$CASE_DIR/commands.log"
    capture
}

# ---------------------------------------------------------------- main

for c in "${CASES[@]}"; do
    fn="case_${c//-/_}"
    declare -F "$fn" >/dev/null || { echo "unknown case: $c" >&2; exit 2; }
    echo "== $c" >&2
    "$fn"
done

mkdir -p "$OUT_FINAL"
for c in "${CASES[@]}"; do
    rm -rf -- "${OUT_FINAL:?}/$c"
    mv "$STAGE/$c" "$OUT_FINAL/$c"
done
chmod -R u=rwX,go=rX "$OUT_FINAL"
echo "corpus written to $OUT_FINAL ($(du -sh "$OUT_FINAL" | cut -f1))" >&2
