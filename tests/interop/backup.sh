#!/usr/bin/env bash
# Metadata backups: rlvm's vgcfgbackup file restores with LVM2's
# vgcfgrestore and the other way round; rlvm writes LVM2-format backups.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
rl vgcreate vg0 "$d0" "$d1"
rl lvcreate -an -Zn -L 8M -n keep vg0
rl vgcfgbackup -f "$LVMI_DIR/rlvm.vg" vg0
# The automatic backup exists and LVM2 can restore from it too.
test -s "$LVMI_DIR/backup/vg0" || fail "no automatic backup in $LVMI_DIR/backup"
rl lvcreate -an -Zn -L 8M -n extra vg0
lvmi vgcfgrestore -q -f "$LVMI_DIR/rlvm.vg" vg0
expect_eq "LVM2 restored rlvm's backup" "keep" "$(lvm_field lvs -o lv_name vg0 | xargs)"
expect_eq "rlvm reads LVM2's restore" "keep" "$(rl_field lvs -o lv_name vg0 | xargs)"

lvmi lvcreate -q -an -Zn -L 4M -n bylvm vg0
lvmi vgcfgbackup -q -f "$LVMI_DIR/lvm.vg" vg0
lvmi lvremove -q -y vg0/bylvm
rl vgcfgrestore -f "$LVMI_DIR/lvm.vg" vg0
expect_eq "rlvm restored LVM2's backup" "bylvm keep" "$(lvm_field lvs -o lv_name vg0 | sort | xargs)"
expect_rc 0 lvmi vgck vg0
# Archives hold the metadata from before a command, described as LVM2
# describes them and filed under the VG's name before the command (a
# vgrename's old name): the same for both tools.
archived() { # TOOL VG_BEFORE: the archive a rename of VG_BEFORE leaves
    rm -f "$LVMI_DIR"/archive/*
    "$1" vgrename "$2" "$2x" >/dev/null 2>&1
    ls "$LVMI_DIR/archive"
    grep -ho "Created \*[a-z]*\* executing 'vgrename" "$LVMI_DIR"/archive/* || true
    "$1" vgrename "$2x" "$2" >/dev/null 2>&1
}
lvm_arch=$(archived lvmi vg0 | sed 's/_[0-9]*-[0-9]*\.vg$/_N.vg/')
rl_arch=$(archived rl vg0 | sed 's/_[0-9]*-[0-9]*\.vg$/_N.vg/')
expect_eq "rlvm's vgrename archive as LVM2's (name, description)" "$lvm_arch" "$rl_arch"
case $rl_arch in vg0_N.vg*"Created *before* executing"*) ;; *) fail "unexpected archive: $rl_arch" ;; esac
# The archive a command writes holds the VG as it was before the command: LVM2 restores
# the VG to that state from it. (rlvm makes the archive's text on a thread of its own while
# it makes the new text, and writes it before anything of the new text.)
rm -f "$LVMI_DIR"/archive/*
rl lvcreate -an -Zn -L 4M -n after vg0
arch=$(ls "$LVMI_DIR"/archive/*.vg)
expect_eq "archives of one lvcreate" 1 "$(echo "$arch" | wc -l)"
if grep -q '^[[:space:]]*after {' "$arch"; then fail "the archive holds the LV made after it"; fi
lvmi vgcfgrestore -q -f "$arch" vg0
expect_eq "LVM2 restored rlvm's archive: the VG before lvcreate" "bylvm keep" \
    "$(lvm_field lvs -o lv_name vg0 | sort | xargs)"
# An archive that cannot be written refuses the change: nothing of it is written.
seq0=$(lvm_field vgs -o vg_seqno vg0 | xargs)
rm -rf "$LVMI_DIR/archive"
touch "$LVMI_DIR/archive"
expect_rc 5 rl lvcreate -an -Zn -L 4M -n refused vg0
expect_eq "seqno after a refused archive" "$seq0" "$(lvm_field vgs -o vg_seqno vg0 | xargs)"
expect_eq "LVs after a refused archive" "bylvm keep" "$(lvm_field lvs -o lv_name vg0 | sort | xargs)"
rm -f "$LVMI_DIR/archive"
rl lvcreate -an -Zn -L 4M -n allowed vg0
test -n "$(ls "$LVMI_DIR"/archive/*.vg)" || fail "no archive once the directory can be made"

echo "PASS backup"
