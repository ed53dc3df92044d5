#!/bin/sh
# /sbin/rlvm_scan, from dracut's rlvm module: run from the initqueue once udev has settled after
# an LVM2 physical volume appeared (64-rlvm.rules), before the root filesystem is mounted.
#  1. Activates what the boot needs (rd.lvm.lv=, rd.lvm.vg=, else the root's VG, or every VG
#     with rd.auto=1) with --sysinit: a merge scheduled with `lvconvert --merge --onactivate`
#     starts in the kernel now, while nothing holds the root open; nothing polls here.
#  2. Once per boot, the rollbacks asked for on the command line: rd.rlvm.merge=VG/SNAP (may
#     repeat, or list several separated by commas) and rd.lvm.mergetags=TAG (every snapshot
#     with that tag): the merge starts before the root is mounted, so the root reads as the
#     snapshot from the start. A snapshot that is missing, not a snapshot, invalid or already
#     merging is reported on the console and the root boots unchanged.
#  3. rd.rlvm.snapshot=VG/SNAP: checks the snapshot to boot into and leaves its path in
#     /run/rlvm/snapshot-root for the pre-mount hook; if it cannot be used, says so and the
#     root boots from root= as usual.
# May run more than once (a new PV); activation is idempotent, 2 and 3 run once.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

# udev makes the /dev nodes (56-rlvm.rules); nothing in the initramfs completes udev cookies,
# nothing polls and no metadata backup is written to the initramfs.
RLVM_CONFIG='activation { udev_rules = 1 udev_sync = 0 monitoring = 0 } global { use_lvmpolld = 0 } backup { backup = 0 archive = 0 }'
export LVM_SUPPRESS_FD_WARNINGS=1

r() {
    rlvm "$@" --config "$RLVM_CONFIG"
}

# A message for the person at the console, whatever the log level, also in the kernel log.
say() {
    echo "rlvm: $*" >/dev/console 2>/dev/null
    echo "<28>rlvm: $*" >/dev/kmsg 2>/dev/null
}

# lv_attr and origin of VG/LV, "ATTR ORIGIN"; fails (message on stdout) if there is none.
lv_facts() {
    r lvs --noheadings -o lv_attr,origin "$1" 2>&1
}

mkdir -p /run/lock/lvm /run/rlvm /etc/lvm
modprobe -q dm_mod
modprobe -q dm_snapshot

list() {
    getargs "$1" | tr ',' ' '
}
LVS=$(list rd.lvm.lv -d rd_LVM_LV=)
VGS=$(list rd.lvm.vg -d rd_LVM_VG=)
MERGES=$(list rd.rlvm.merge=)
TAGS=$(list rd.lvm.mergetags=)
SNAPROOT=$(getarg rd.rlvm.snapshot=)
rootvg=$(cat /run/rlvm/root-vg 2>/dev/null)
[ -z "$VGS$LVS" ] && VGS=$rootvg

# Snapshots carrying a merge tag (LVM2's rd.lvm.mergetags), as VG/LV.
if [ -n "$TAGS" ] && [ ! -e /run/rlvm/rollbacks-done ]; then
    for tag in $TAGS; do
        found=$(r lvs --noheadings -o lv_full_name,lv_tags 2>/dev/null |
            while read -r name tags; do
                case ",$tags," in *",$tag,"*) echo "$name" ;; esac
            done)
        [ -n "$found" ] || say "rd.lvm.mergetags=$tag: no logical volume has tag $tag; nothing to roll back"
        MERGES="$MERGES $found"
    done
fi
# The VGs of rollbacks and of a snapshot to boot into are activated too.
for s in $MERGES $SNAPROOT; do
    VGS="$VGS ${s%%/*}"
done
uniq=""
for v in $VGS; do
    case " $uniq " in *" $v "*) ;; *) uniq="$uniq $v" ;; esac
done
VGS=${uniq# }

# 1. Activation.
for lv in $LVS; do
    r lvchange -ay --sysinit "$lv" 2>&1 | vinfo
done
if [ -n "$VGS" ] || { [ -z "$LVS" ] && getargbool 0 rd.auto; }; then
    # shellcheck disable=SC2086
    r vgchange -ay --sysinit $VGS 2>&1 | vinfo
fi

# 2. Rollbacks requested on the command line, once per boot.
rollback() {
    s=$1
    case $s in
        */*) ;;
        *) say "cannot roll back to '$s': give the snapshot as VG/LV"; return 1 ;;
    esac
    facts=$(lv_facts "$s") || {
        say "cannot roll back to snapshot $s: $facts"
        return 1
    }
    # shellcheck disable=SC2086
    set -- $facts
    case $1 in
        s*) ;;
        S*) say "snapshot $s is already being merged into ${s%%/*}/$2"; return 0 ;;
        *) say "cannot roll back to $s: it is not a snapshot"; return 1 ;;
    esac
    origin=${s%%/*}/$2
    out=$(r lvconvert --merge --onactivate "$s" 2>&1) || {
        say "cannot roll back to snapshot $s: $out"
        return 1
    }
    # The origin is not open yet: a refresh starts the merge now (no poller).
    out=$(r lvchange --refresh --poll n "$origin" 2>&1) ||
        say "merge of $s into $origin scheduled, but not started: $out"
    say "rolling $origin back to snapshot $s: the merge runs in the background;" \
        "$origin reads as the snapshot from now on"
}
if [ -n "$MERGES" ] && [ ! -e /run/rlvm/rollbacks-done ]; then
    : >/run/rlvm/rollbacks-done
    for s in $MERGES; do
        rollback "$s" || say "booting the unchanged root"
    done
fi

# 3. A snapshot to boot into, for this boot only.
if [ -n "$SNAPROOT" ] && [ ! -e /run/rlvm/snapshot-checked ]; then
    : >/run/rlvm/snapshot-checked
    facts=$(lv_facts "$SNAPROOT")
    ok=$?
    # shellcheck disable=SC2086
    set -- $facts
    attr=${1:-}
    if [ $ok != 0 ]; then
        say "cannot boot into snapshot $SNAPROOT: $facts"
    elif [ "${attr#s}" = "$attr" ]; then
        say "cannot boot into $SNAPROOT: it is not a snapshot (or it is being merged)"
    elif [ "$(echo "$attr" | sed 's/^....\(.\).*/\1/')" != a ]; then
        say "cannot boot into snapshot $SNAPROOT: it is not active (invalid?): $attr"
    else
        echo "/dev/$SNAPROOT" >/run/rlvm/snapshot-root
        wait_for_dev -n "/dev/$SNAPROOT"
        ok=ok
    fi
    [ "$ok" = ok ] || say "booting the root from root= as usual"
fi

udevadm settle --timeout=30 2>/dev/null
exit 0
