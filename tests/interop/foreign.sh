#!/usr/bin/env bash
# System IDs (lvmsystemid(7)): a VG owned by another host is listed only
# with --foreign and never written; LVM2 and rlvm refuse the same commands
# with the same words and exit codes, and no byte of its PV changes. The
# owning host (local/system_id) writes it, in LVM2's WRITE_LOCKED form;
# rlvm's vgcreate/vgexport/vgimport set the system ID as LVM2 does.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]} d3=${LVMI_DEVS[3]}
lvmi pvcreate -q "$d0" "$d1" "$d2" "$d3"
lvmi vgcreate -q vg0 "$d0"
lvmi vgcreate -q vg1 "$d1"
lvmi lvcreate -q -an -Zn -L 4M -n a vg0
lvmi vgchange -q -y --systemid otherhost vg0 2>/dev/null
sums() { md5sum "$d0" | cut -d' ' -f1; }
before=$(sums)
as() { local id=$1; shift; "$@" --config "global { system_id_source = \"lvmlocal\" } local { system_id = \"$id\" }"; }

run_seq() {
    local tool=$1 c rc out
    for c in "vgs" "vgs vg0" "vgs --foreign" "vgs --foreign -o vg_name,vg_systemid,vg_attr" \
        "lvs" "lvs vg0" "lvs --foreign" "pvs" "pvs --foreign" "vgdisplay vg0" \
        "lvcreate -an -Zn -L 4M -n b vg0" "vgchange --addtag x vg0" "vgremove -f vg0" \
        "lvremove -y vg0/a" "lvrename vg0 a c" "lvchange --addtag x vg0/a" "vgck vg0" "vgck" \
        "vgcfgbackup -f $LVMI_DIR/bk vg0" "pvscan" "vgexport vg0" "vgimport vg0" \
        "pvcreate $d0" "vgcreate vg0 $d2" "vgcreate vg9 $d0" "pvremove $d0" \
        "as me vgs" "as me vgs vg0" "as me lvs vg0" "as me vgchange --addtag x vg0" \
        "as me lvcreate -an -Zn -L 4M -n b vg0"; do
        rc=0
        # shellcheck disable=SC2086
        case $c in
        as*) out=$(as ${c:3:2} $tool ${c:6} 2>&1) || rc=$? ;;
        *) out=$($tool $c 2>&1) || rc=$? ;;
        esac
        # LVM2 says "Cannot access VG" twice for a named VG (once while
        # scanning); the order of stderr and stdout lines is not compared.
        out=$(printf '%s\n' "$out" | grep -v "Activation disabled" | sort -u || true)
        printf '### %s\n%s\nrc=%s\n' "$c" "$out" "$rc"
        [ "$(sums)" = "$before" ] || fail "$tool $c changed the foreign VG's PV"
    done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out" ||
    fail "rlvm differs from LVM2 on a foreign VG (diff above: - LVM2, + rlvm)"
echo "ok: foreign VG listed only with --foreign, never written, same words as LVM2"

# Its owner writes it: rlvm as 'otherhost' creates an LV; LVM2 as
# 'otherhost' reads it, keeps WRITE_LOCKED on disk, and its vgck passes.
expect_rc 0 as otherhost rl lvcreate -an -Zn -L 4M -n b vg0
expect_eq "LVM2 (owner) sees both LVs" "a b" "$(as otherhost lvm_field lvs -o lv_name vg0 | xargs)"
expect_rc 0 as otherhost lvmi vgck vg0
as otherhost lvmi vgcfgbackup -q -f "$LVMI_DIR/owner.vg" vg0
expect_eq "VG and LVs written WRITE_LOCKED" 3 "$(grep -c 'flags = \["WRITE_LOCKED"\]' "$LVMI_DIR/owner.vg")"
grep -Eq '^[[:space:]]+system_id = "otherhost"$' "$LVMI_DIR/owner.vg" || fail "system ID lost"

# rlvm's vgcreate gives a new VG this host's system ID; LVM2 elsewhere
# sees it as foreign. vgexport clears it, vgimport sets the importer's.
expect_rc 0 as me rl vgcreate vgm "$d2"
expect_eq "system ID me" "me" "$(lvm_field vgs --foreign -o vg_systemid vgm)"
expect_rc 5 lvmi lvcreate -an -Zn -L 4M -n x vgm
expect_rc 0 as me lvmi lvcreate -an -Zn -L 4M -n x vgm
expect_rc 0 as me rl vgexport vgm
expect_eq "exported: no system ID" "" "$(lvm_field vgs -o vg_systemid vgm)"
expect_rc 0 as you rl vgimport vgm
expect_eq "imported by 'you'" "you" "$(lvm_field vgs --foreign -o vg_systemid vgm)"
expect_rc 0 as you lvmi vgck vgm
echo "PASS foreign"
