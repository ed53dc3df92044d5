#!/usr/bin/env bash
# An lvm.conf that cannot be used stops every command before it starts, as
# LVM2 stops it (EINIT_FAILED, exit 4, "Failed to load config file ..."),
# and nothing is written: a syntax error, a directory in its place, a file
# the user may not read. (A missing lvm.conf is not an error: defaults.)
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
lvmi pvcreate -q "$d0" "$d1"
lvmi vgcreate -q vg0 "$d0"
conf=$LVM_SYSTEM_DIR/lvm.conf
cp "$conf" "$LVMI_DIR/lvm.conf.good"
sums() { md5sum "$d0" "$d1" | cut -d' ' -f1 | xargs; }
before=$(sums)
cmds=("vgs -o vg_name" "lvcreate -an -Zn -L 4M -n a vg0" "vgchange --addtag x vg0"
    "pvcreate -y -ff $d1" "vgremove -f vg0")

# Both tools, every command: exit 4, the last line names the file, no
# byte changed. The parse error's own words differ (LVM2 counts bytes).
both_refuse() {
    local what=$1 c t rc out
    for c in "${cmds[@]}"; do
        for t in lvmi rl; do
            rc=0
            # shellcheck disable=SC2086
            out=$($t $c 2>&1) || rc=$?
            [ "$rc" = 4 ] || fail "$what: $t $c exited $rc, not 4: $out"
            [ "$(printf '%s\n' "$out" | tail -n1)" = "  Failed to load config file $conf" ] ||
                fail "$what: $t $c said: $out"
            [ "$(sums)" = "$before" ] || fail "$what: $t $c wrote to a device"
        done
    done
    echo "ok: $what: exit 4 from both, nothing written"
}

printf 'devices {\n  scan = [ "/dev" ]\n  bad syntax {{\n}\n' >>"$conf"
both_refuse "syntax error"
cp "$LVMI_DIR/lvm.conf.good" "$conf"
printf 'global {\n  units = "h"\n' >>"$conf"
both_refuse "unterminated section"
cp "$LVMI_DIR/lvm.conf.good" "$conf"

# The same words as LVM2 where no parser is involved.
mv "$conf" "$conf.bak"
mkdir "$conf"
both_refuse "directory"
expect_eq "same words (directory)" "$(lvmi vgs 2>&1)" "$(rl vgs 2>&1)"
rmdir "$conf"
mv "$conf.bak" "$conf"

chmod 600 "$conf"
chmod 755 "$LVMI_DIR" "$LVM_SYSTEM_DIR"
nobody() { su nobody -s /bin/bash -c "LVM_SYSTEM_DIR=$LVM_SYSTEM_DIR $*" 2>&1; }
rc1=0 rc2=0
out1=$(nobody lvm vgs) || rc1=$?
out2=$(nobody "$RLVM" vgs) || rc2=$?
expect_eq "unreadable lvm.conf: LVM2's exit code" 4 "$rc1"
expect_eq "unreadable lvm.conf: same exit code" "$rc1" "$rc2"
expect_eq "unreadable lvm.conf: same words" "$out1" "$out2"
chmod 644 "$conf"

# Usable again: both read the VG, and nothing was changed.
expect_eq "LVM2 reads the VG" "vg0" "$(lvm_field vgs -o vg_name vg0)"
expect_eq "rlvm reads the VG" "vg0" "$(rl_field vgs -o vg_name vg0)"
expect_eq "no byte changed" "$before" "$(sums)"
echo "PASS bad-config"
