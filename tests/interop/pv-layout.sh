#!/usr/bin/env bash
# Differential: new-PV layouts (pvcreate with --metadatasize, --dataalignment
# and its offset, --bootloaderareasize, --pvmetadatacopies, --labelsector,
# --metadataignore, --setphysicalvolumesize, and their refusals), pvresize of
# orphans and of PVs in a VG (second metadata area moved, extents in use
# refused) and pvchange --metadataignore, run by LVM2 and by rlvm: LVM2's
# own pvs/vgs/pvck read back the same pe_start, areas, sizes, extent counts,
# area use and exit codes.
. "$(dirname "$0")/lib.sh"
lvmi_setup 34M 34M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
state() {
    lvmi pvs --noheadings --units b -o pv_name,vg_name,pe_start,pv_mda_count,pv_mda_used_count,pv_size,pv_pe_count,pv_ba_start,pv_ba_size "$d0" 2>/dev/null | xargs
    lvmi pvck --dump headers "$d0" 2>/dev/null | grep -E "mda_header_[12] at|header.device_size|mda_header_[12].size" | xargs
}
cleanup() {
    lvmi vgremove -ff vgx >/dev/null 2>&1 || true
    lvmi pvremove -ff -y "$d0" "$d1" >/dev/null 2>&1 || true
}
# tool, setup commands (run by LVM2), the command to compare
one() {
    local tool=$1 setup=$2 cmd=$3 rc=0 c
    cleanup
    IFS=';' read -ra cs <<<"$setup"
    for c in "${cs[@]}"; do
        # shellcheck disable=SC2086
        [ -n "$c" ] && { lvmi $c >/dev/null 2>&1 || true; }
    done
    # shellcheck disable=SC2086
    $tool $cmd >/dev/null 2>&1 </dev/null || rc=$?
    printf '### [%s] %s\nrc=%s\n%s\n' "$setup" "$cmd" "$rc" "$(state)"
}
run_seq() {
    local t=$1 o
    for o in "--metadatasize 2048k --dataalignment 128k --dataalignmentoffset 2k" \
        "--metadatasize 2048k --config devices{default_data_alignment=2}" \
        "--dataalignment 128k --metadatasize 256k --bootloaderareasize 256k" \
        "--metadatasize 128k --pvmetadatacopies 2 --dataalignment 3.5k --labelsector 3" \
        "--metadataignore y --pvmetadatacopies 2 --setphysicalvolumesize 20m -y" \
        "--dataalignment 16384b --metadatasize 16384b" "--bootloaderareasize 40m"; do
        one "$t" "" "pvcreate $o $d0"
    done
    for setup in "pvcreate --pvmetadatacopies 2 $d0" "pvcreate --pvmetadatacopies 2 $d0;vgcreate vgx $d0 $d1" \
        "pvcreate --pvmetadatacopies 2 $d0;vgcreate vgx $d0 $d1;lvcreate -an -Zn -l7 -n l vgx $d0"; do
        for o in "--setphysicalvolumesize 20m -y" "-y"; do
            one "$t" "$setup" "pvresize $o $d0"
        done
    done
    setup="pvcreate $d0 $d1;vgcreate vgx $d0 $d1"
    one "$t" "$setup" "pvchange --metadataignore y $d0"
    one "$t" "$setup;pvchange --metadataignore y $d0" "pvchange --metadataignore n $d0"
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
if ! diff -u <(lvmi_placeholders <"$LVMI_DIR/lvm.out") <(lvmi_placeholders <"$LVMI_DIR/rlvm.out"); then
    fail "rlvm's PV layouts differ from LVM2's (diff above: - LVM2, + rlvm)"
fi
cleanup
echo "PASS pv-layout"
