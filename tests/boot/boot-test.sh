#!/bin/sh
# Guest side of tests/boot.rs, in the real root (Debian 12, systemd, rlvm installed by
# scripts/install.sh): the step named by rlvm_test.step= on the kernel command line, between
#   RLVM-SCENARIO-START boot-test step=<step>
#   RLVM-SCENARIO-RESULT boot-test rc=<n>
# then a normal reboot (qemu runs with -no-reboot: it exits). The root filesystem is what the
# test rolls back, so nothing is remembered in it across boots on purpose: the host says which
# step this is.
step=$(sed -n 's/.*rlvm_test\.step=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "RLVM-SCENARIO-START boot-test step=$step uptime=$(cut -d' ' -f1 /proc/uptime)"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() {   # WHAT GOT WANT
    if [ "$2" = "$3" ]; then echo "ok: $1"; else fail "$1: got '$2', want '$3'"; fi
}
step() { echo "--- $*"; }
show() { echo "\$ $*"; "$@" 2>&1; }
version() { cat /etc/rlvm-test/version 2>/dev/null || echo none; }
root_dev() { findmnt -n -o SOURCE /; }
dm_names() { dmsetup ls 2>/dev/null | cut -f1 | sort | tr '\n' ' '; }
table_type() { dmsetup table "$1" 2>/dev/null | cut -d' ' -f3; }
# waits (60 s at most) until vg0/$1 no longer exists, with nobody running a command that polls
gone() {
    i=0
    while rlvm lvs "vg0/$1" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -le 120 ] || { fail "vg0/$1 still there after 60s"; show rlvm lvs -a -o +lv_merging,data_percent vg0; return 1; }
        sleep 0.5
    done
    echo "ok: vg0/$1 gone after about $((i / 2))s"
}
# A hang (an rlvm command stuck with the root suspended) becomes a failure with what the kernel
# knows about it. dmsetup is copied to /run (and run once) so that it can still resume the root
# when nothing else can be read from it.
mkdir -p /run/rlvm-test
cp /usr/sbin/dmsetup /run/rlvm-test/dmsetup && /run/rlvm-test/dmsetup version >/dev/null 2>&1
guarded() {   # SECONDS CMD...
    limit=$1; shift
    echo "\$ $*"
    "$@" >/run/rlvm-test/out 2>&1 &
    pid=$!
    i=0
    while kill -0 $pid 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt $((limit * 2)) ]; then
            fail "$* still running after ${limit}s"
            cat /run/rlvm-test/out
            echo "wchan: $(cat /proc/$pid/wchan 2>/dev/null)"
            cat /proc/$pid/stack 2>/dev/null
            for t in /proc/$pid/task/*; do echo "task $t: $(cat $t/wchan 2>/dev/null)"; cat $t/stack 2>/dev/null; done
            echo w >/proc/sysrq-trigger
            dmesg | tail -n 40
            ps -eo pid,stat,wchan:32,args | grep -v ' \[' | tail -n 40
            ls -la /run/udev 2>&1 | head
            journalctl -b -o short-monotonic -n 60 --no-pager 2>&1
            for d in $(/run/rlvm-test/dmsetup info -c --noheadings -o name,suspended 2>/dev/null | sed -n 's/:Suspended$//p'); do
                echo "resuming $d"; /run/rlvm-test/dmsetup resume "$d"
            done
            wait $pid
            return 1
        fi
        sleep 0.5
    done
    wait $pid
    rc=$?
    cat /run/rlvm-test/out
    return $rc
}
# no_cookies WHAT: no dm udev cookie (SysV semaphore) left behind by rlvm (one still in use by
# a command finishing in the background may take a few seconds to go)
no_cookies() {
    i=0
    while c=$(dmsetup udevcookies 2>&1 | tail -n +2) && [ -n "$c" ] && [ $i -lt 20 ]; do
        i=$((i + 1))
        sleep 0.5
    done
    if [ -z "$c" ]; then echo "ok: no udev cookie left ($1)"; else fail "udev cookies left ($1): $c"; fi
}
journal_has() {   # UNIT TEXT
    journalctl -b -o cat -u "$1" 2>/dev/null | grep -qF "$2"
}

echo "root: $(root_dev) ($(findmnt -n -o OPTIONS /)); version: $(version)"
show rlvm lvs -a -o +lv_merging,data_percent,lv_tags vg0
show systemctl --no-pager status rlvm-finish-merges.service
echo "slowest units so far:"
systemd-analyze blame --no-pager 2>/dev/null | head -n 6

case $step in
prepare)
    # Boot 1: the system before the upgrade; a snapshot; the "upgrade"; the rollback scheduled.
    step "boot 1: snapshot the root, change it, schedule the rollback"
    check "root is vg0/root" "$(root_dev)" "/dev/mapper/vg0-root"
    check "nothing to finish at this boot" "$(journal_has rlvm-finish-merges.service 'No snapshot merge to finish.' && echo yes)" yes
    mkdir -p /etc/rlvm-test
    echo v1 >/etc/rlvm-test/version
    echo "before the upgrade" >/etc/rlvm-test/old-file
    sync
    # udev_sync = 1 (the default): rlvm waits for udev once the root is resumed, so the
    # names are there when it returns, and no cookie is left.
    guarded 60 rlvm lvcreate -s -L 200M -n root_snap vg0/root || fail "lvcreate -s"
    check "snapshot node when lvcreate returned" "$(test -b /dev/vg0/root_snap && echo yes)" yes
    check "snapshot link" "$(readlink -f /dev/vg0/root_snap)" "$(readlink -f /dev/mapper/vg0-root_snap)"
    no_cookies "lvcreate -s"
    check "metadata backup on the root" "$(grep -c 'root_snap' /etc/lvm/backup/vg0 2>/dev/null | grep -v '^0$' >/dev/null && echo yes)" yes
    echo v2 >/etc/rlvm-test/version
    rm /etc/rlvm-test/old-file
    echo "after the upgrade" >/etc/rlvm-test/new-file
    dd if=/dev/urandom of=/var/tmp/upgrade-junk bs=1M count=16 status=none
    sync
    check "changed" "$(version)" v2
    guarded 60 rlvm lvconvert --merge --onactivate vg0/root_snap
    out=$(cat /run/rlvm-test/out)
    case $out in
        *"will occur on next activation of vg0/root"*) echo "ok: rollback scheduled" ;;
        *) fail "lvconvert --merge --onactivate said: $out" ;;
    esac
    check "root still snapshot-origin" "$(table_type vg0-root)" snapshot-origin
    ;;
rolled-back)
    # Boot 2: the initramfs started the merge before mounting root; the poller finishes it.
    step "boot 2: the root is the pre-upgrade one; the merge finishes with nobody typing"
    check "version read at boot" "$(version)" v1
    check "old file back" "$(cat /etc/rlvm-test/old-file 2>/dev/null)" "before the upgrade"
    check "new file gone" "$(ls /etc/rlvm-test/new-file 2>/dev/null)" ""
    check "junk gone" "$(ls /var/tmp/upgrade-junk 2>/dev/null)" ""
    check "root is vg0/root" "$(root_dev)" "/dev/mapper/vg0-root"
    if journal_has rlvm-finish-merges.service "Merging: vg0/root"; then
        echo "ok: rlvm-finish-merges found vg0/root merging at boot"
    else
        fail "rlvm-finish-merges did not find vg0/root merging"
    fi
    gone root_snap
    check "root table" "$(table_type vg0-root)" linear
    check "devices" "$(dm_names)" "vg0-root "
    no_cookies "merge finished by the poller"
    show journalctl -b -o short-monotonic --no-pager -u rlvm-finish-merges.service
    journal_has rlvm-finish-merges.service "Merge of snapshot into logical volume vg0/root has finished" ||
        journalctl -b -o cat --no-pager | grep -i "merge" | tail -n 5
    ;;
clean)
    step "boot 3: clean, nothing pending, nothing left in the kernel"
    check "version" "$(version)" v1
    check "LVs" "$(rlvm lvs --noheadings -a -o lv_name vg0 | tr -d ' ' | tr '\n' ' ')" "root "
    check "devices" "$(dm_names)" "vg0-root "
    check "root table" "$(table_type vg0-root)" linear
    check "nothing to finish" "$(journal_has rlvm-finish-merges.service 'No snapshot merge to finish.' && echo yes)" yes
    # This boot's command line names the root by its kernel name, not as an LV: only rd.auto=1
    # made the initramfs activate vg0 (and rd.lvm.conf=0 dropped its lvm.conf).
    check "root=/dev/dm-0, rd.auto=1" "$(grep -o 'root=/dev/dm-0 .*rd.auto=1' /proc/cmdline | cut -d' ' -f1)" root=/dev/dm-0
    check "dm-0 is vg0/root" "$(cat /sys/block/dm-0/dm/name)" vg0-root
    # For the next boot (named): a snapshot at v1, then the root changed to v3.
    guarded 60 rlvm lvcreate -s -L 200M -n snap_named vg0/root || fail "lvcreate snap_named"
    # Undoing a scheduled rollback (rlvm-rollback(7)): schedule one, then put back the metadata
    # archived before that lvconvert. The next boot must not merge it (it would also refuse
    # the rollback named on its command line: one merge per origin).
    guarded 60 rlvm lvcreate -s -L 100M -n snap_undo vg0/root || fail "lvcreate snap_undo"
    guarded 60 rlvm lvconvert --merge --onactivate vg0/snap_undo || fail "lvconvert snap_undo"
    check "snap_undo scheduled" "$(rlvm lvs --noheadings -o lv_attr vg0/snap_undo | tr -d ' ' | cut -c1)" S
    archive=$(ls -t /etc/lvm/archive/vg0_*.vg 2>/dev/null | head -n 1)
    check "newest archive is from before the lvconvert" "$(grep -c "lvconvert --merge --onactivate vg0/snap_undo" "$archive" 2>/dev/null)" 1
    show rlvm vgcfgrestore --list vg0 | tail -n 6
    guarded 60 rlvm vgcfgrestore -f "$archive" --force vg0 || fail "vgcfgrestore"
    check "snap_undo no longer scheduled" "$(rlvm lvs --noheadings -o lv_attr vg0/snap_undo | tr -d ' ' | cut -c1)" s
    check "root not merging" "$(rlvm lvs --noheadings -o lv_merging vg0/root | tr -d ' ')" ""
    echo v3 >/etc/rlvm-test/version
    sync
    ;;
named)
    # Boot 4, cmdline rd.rlvm.merge=vg0/nosuch,vg0/snap_named (shell initramfs): the missing
    # one is reported (the host reads the console), the named one rolled back at this boot.
    # (A boot before it, with rd.lvm=0 and the same rollback asked for, was cut in its
    # initramfs once the module had said it ignores the rollback.)
    step "boot 4: rollback named on the kernel command line"
    check "version read at boot" "$(version)" v1
    gone snap_named
    # The rollback undone at boot 3 did not happen (nor at the rd.lvm=0 boot before this one).
    check "snap_undo still an ordinary snapshot" "$(rlvm lvs --noheadings -o lv_attr vg0/snap_undo | tr -d ' ' | cut -c1)" s
    guarded 60 rlvm lvremove -f vg0/snap_undo || fail "lvremove snap_undo"
    check "devices" "$(dm_names)" "vg0-root "
    # For the next boot (tagged): a tagged snapshot at v5; a small one that overflows.
    echo v5 >/etc/rlvm-test/version
    sync
    guarded 60 rlvm lvcreate -s -L 200M -n snap_tag --addtag rollback vg0/root || fail "lvcreate snap_tag"
    guarded 60 rlvm lvcreate -s -L 4M -n snap_bad vg0/root || fail "lvcreate snap_bad"
    dd if=/dev/urandom of=/var/tmp/overflow bs=1M count=12 status=none
    echo v6 >/etc/rlvm-test/version
    sync
    show dmsetup status vg0-snap_bad
    ;;
tagged)
    # Boot 5, cmdline rd.lvm.mergetags=rollback rd.rlvm.merge=vg0/snap_bad (systemd
    # initramfs): the invalid one is refused with a message, the tagged one rolled back.
    step "boot 5: rollback by tag; an invalid snapshot refused"
    check "version read at boot" "$(version)" v5
    check "overflow file gone" "$(ls /var/tmp/overflow 2>/dev/null)" ""
    gone snap_tag
    check "invalid snapshot kept" "$(rlvm lvs --noheadings -o lv_name vg0/snap_bad | tr -d ' ')" snap_bad
    guarded 60 rlvm lvremove -f vg0/snap_bad || fail "lvremove snap_bad"
    # For the next boot (look): a snapshot at v5, the root changed to v7.
    guarded 60 rlvm lvcreate -s -L 200M -n snap_look vg0/root || fail "lvcreate snap_look"
    echo v7 >/etc/rlvm-test/version
    sync
    ;;
look)
    # Boot 6, cmdline rd.rlvm.snapshot=vg0/snap_look (systemd initramfs): root is the snapshot.
    step "boot 6: booted into the snapshot"
    check "root is the snapshot" "$(root_dev)" "/dev/mapper/vg0-snap_look"
    check "version" "$(version)" v5
    check "origin not merging" "$(rlvm lvs --noheadings -o lv_merging vg0/root | tr -d ' ')" ""
    echo "written while booted into the snapshot" >/etc/rlvm-test/in-snapshot
    sync
    ;;
after-look)
    # Boot 7, no option (shell initramfs): back on the origin, which the look did not change.
    step "boot 7: back on the origin"
    check "root is vg0/root" "$(root_dev)" "/dev/mapper/vg0-root"
    check "version" "$(version)" v7
    check "nothing from the snapshot boot" "$(ls /etc/rlvm-test/in-snapshot 2>/dev/null)" ""
    mkdir -p /mnt/look
    mount -o ro /dev/vg0/snap_look /mnt/look || fail "mount snap_look"
    check "the snapshot kept what was written in it" "$(cat /mnt/look/etc/rlvm-test/in-snapshot 2>/dev/null)" "written while booted into the snapshot"
    umount /mnt/look
    guarded 60 rlvm lvremove -f vg0/snap_look || fail "lvremove snap_look"
    # For the next boots (cut, after-cut): a snapshot, then 2048 separate 4 KiB blocks changed
    # (every other block of a file made before it: the kernel merges them back one chunk at a
    # time, which the throttle slows down).
    dd if=/dev/zero of=/var/tmp/cut-base bs=1M count=16 status=none
    sync
    guarded 60 rlvm lvcreate -s -L 200M -n snap_cut vg0/root || fail "lvcreate snap_cut"
    perl -e 'open(F, "+<", "/var/tmp/cut-base") or die; for my $i (0 .. 2047) { sysseek(F, $i * 8192, 0); syswrite(F, "x" x 4096) == 4096 or die }' ||
        fail "scattered writes"
    echo "written after snap_cut" >/var/tmp/cut-junk
    echo v8 >/etc/rlvm-test/version
    sync
    ;;
after-cut)
    # Boot 9, normal, after a power cut right after the initramfs started the merge asked for
    # with rd.rlvm.merge=vg0/snap_cut (copy slowed down): this boot's activation resumes it,
    # the poller ends it.
    step "boot 9: a clean boot finishes the interrupted merge"
    check "version read at boot" "$(version)" v7
    check "junk gone" "$(ls /var/tmp/cut-junk 2>/dev/null)" ""
    check "base file zeroes" "$(tr -d '\000' </var/tmp/cut-base | wc -c)" 0
    gone snap_cut
    check "root table" "$(table_type vg0-root)" linear
    check "devices" "$(dm_names)" "vg0-root "
    ;;
*)
    fail "unknown step '$step'"
    ;;
esac

rc=0
[ "$failures" = 0 ] || rc=1
sync
echo "RLVM-SCENARIO-RESULT boot-test rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
systemctl reboot
