#!/usr/bin/env bash
# Housekeeping after crashes and under a permissive umask:
# - the lock, backup and archive directories are created 0700 under
#   umask 000, as LVM2 creates them;
# - temporary files that a killed command left in the backup and archive
#   directories are removed by the next write;
# - a bounded kill -9 loop over lvcreate/lvrename/lvremove leaves the old
#   or the new VG each time (LVM2 reads it), no temporary file once the
#   next command ran, and a VG LVM2's vgck accepts.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]} d2=${LVMI_DEVS[2]}
lvmi pvcreate -q "$d0" "$d1" "$d2"

# Fresh directories under umask 000: 0700 for both tools.
for t in lvmi rl; do
    base=$LVMI_DIR/fresh-$t
    cfg="global { locking_dir = \"$base/lock/lvm\" } backup { backup_dir = \"$base/backup/b\" archive_dir = \"$base/archive/a\" }"
    (umask 000 && $t vgcreate -q vgu "$d2" --config "$cfg" >/dev/null 2>&1) ||
        fail "$t vgcreate under umask 000"
    (umask 000 && $t lvcreate -an -Zn -L 4M -n x vgu --config "$cfg" >/dev/null 2>&1) ||
        fail "$t lvcreate under umask 000"
    for d in lock lock/lvm backup backup/b archive archive/a; do
        expect_eq "$t: $d mode" 700 "$(stat -c %a "$base/$d")"
    done
    (umask 000 && $t vgremove -q -f vgu --config "$cfg" >/dev/null 2>&1) || fail "$t vgremove"
done

lvmi vgcreate -q vg0 "$d0" "$d1"
backup_dir=$LVMI_DIR/backup archive_dir=$LVMI_DIR/archive
temps() { find "$backup_dir" "$archive_dir" -name '.lvm_rlvm_*' | wc -l; }

# What kill -9 between write and rename leaves: removed by the next write.
true & dead=$!
wait "$dead"
host=$(hostname)
touch "$backup_dir/.lvm_rlvm_${host}_${dead}_1" "$archive_dir/.lvm_rlvm_${host}_${dead}_2" \
    "$archive_dir/.lvm_rlvm_${dead}_3"
expect_eq "planted" 3 "$(temps)"
expect_rc 0 rl lvcreate -an -Zn -L 4M -n first vg0
expect_eq "stale temporary files removed" 0 "$(temps)"

# kill -9 at random points of create/rename/remove, a bounded number of
# times: each time LVM2 reads the old or the new VG.
lv_names() { lvm_field lvs -o lv_name vg0 | sort | xargs; }
for i in $(seq 1 24); do
    before=$(lv_names)
    case $((i % 3)) in
    1) cmd=(lvcreate -an -Zn -L 4M -n "k$i" vg0); new="$(echo "$before k$i" | xargs -n1 | sort | xargs)" ;;
    2) cmd=(lvrename vg0 first "r$i"); new=$(echo "$before" | sed "s/\bfirst\b/r$i/" | xargs -n1 | sort | xargs) ;;
    0) cmd=(lvremove -y "vg0/k$((i - 2))"); new=$(echo "$before" | xargs -n1 | grep -vx "k$((i - 2))" | sort | xargs) ;;
    esac
    "$RLVM" "${cmd[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 40))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    after=$(lv_names)
    [ "$after" = "$before" ] || [ "$after" = "$new" ] ||
        fail "kill -9 of '${cmd[*]}': LVM2 reads '$after', neither old '$before' nor new '$new'"
    # A rename that ran keeps its name for the next round.
    [ "$((i % 3))" = 2 ] && [ "$after" = "$new" ] && rl lvrename vg0 "r$i" first >/dev/null 2>&1
done
echo "ok: 24 kill -9's, each left the old or the new VG"
expect_rc 0 rl vgchange --addtag done vg0
expect_eq "no temporary file left" 0 "$(temps)"
expect_rc 0 lvmi vgck vg0
expect_eq "rlvm and LVM2 agree" "$(lv_names)" "$(rl_field lvs -o lv_name vg0 | sort | xargs)"
echo "PASS housekeeping"
