#!/bin/sh
# vm: disks=3 size=64M timeout=240
# Device-mapper polish against the real kernel:
# - lvrename of an active linear LV and of an active origin with a snapshot (and of the
#   snapshot) in a VG with a hyphenated name: the dm devices are renamed (layers -real/-cow
#   too) with the same UUIDs and major:minor, the data reads the same under the new
#   /dev/<vg>/<lv> path, no old device, node or link is left, and real LVM2 agrees (lvs,
#   then deactivating and activating what rlvm renamed);
# - a table the kernel rejects is reported as libdm does ("device-mapper: reload ioctl on
#   (253:N) failed: Invalid argument") followed by the kernel's reason, exit 5;
# - udev_sync = 0 / --noudevsync: with /run/udev/control present (so the devicemapper crate
#   would wait on a udev cookie) and no udevd to answer, rlvm still never waits.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
vg=my-vg

try() {
    echo "+ $*"
    RC=0
    OUT=$("$@" 2>&1) || RC=$?
    [ -z "$OUT" ] || echo "$OUT"
    echo "  (rc=$RC)"
}
dm_devices() {
    dmsetup ls | awk '$1 != "No" {print $1}' | sort
}
# ids: "uuid major:minor" of every dm device, sorted (names left out).
ids() {
    dmsetup info -c --noheadings --separator ' ' -o uuid,major,minor | awk '{print $1, $2":"$3}' | sort
}
uuid_of() {
    dmsetup info -c --noheadings -o uuid "$1"
}
# gone NAME LV: no dm device NAME, no /dev/mapper/NAME, no /dev/$vg/LV.
gone() {
    dm_devices | grep -qx "$1" && fail "dm device $1 still there: $(dm_devices | tr '\n' ' ')"
    [ ! -e "/dev/mapper/$1" ] && [ ! -L "/dev/mapper/$1" ] || fail "/dev/mapper/$1 still there"
    [ -z "$2" ] || { [ ! -e "/dev/$vg/$2" ] && [ ! -L "/dev/$vg/$2" ]; } || fail "/dev/$vg/$2 still there"
}
# here NAME LV: dm device NAME with its node, and the /dev/$vg/LV link to it.
here() {
    dm_devices | grep -qx "$1" || fail "no dm device $1: $(dm_devices | tr '\n' ' ')"
    [ -b "/dev/mapper/$1" ] || fail "/dev/mapper/$1 is not a block device"
    [ -z "$2" ] && return 0
    [ "$(readlink -f "/dev/$vg/$2")" = "/dev/mapper/$1" ] ||
        fail "/dev/$vg/$2 does not lead to /dev/mapper/$1: $(ls -l "/dev/$vg" 2>&1)"
}
lvm_attr() {
    lvm lvs --noheadings -o lv_attr "$vg/$1" | tr -d ' '
}

step "setup: $vg with lv-1 (linear), origin + snap"
run rlvm pvcreate -y "$d1" "$d2"
run rlvm vgcreate "$vg" "$d1" "$d2"
run rlvm lvcreate -L 12M -n lv-1 "$vg"
dd if=/dev/urandom of="$SCRATCH/lin" bs=1M count=12 2>/dev/null
run dd if="$SCRATCH/lin" of="/dev/$vg/lv-1" bs=1M oflag=direct
run rlvm lvcreate -L 16M -n origin "$vg"
dd if=/dev/urandom of="$SCRATCH/old" bs=1M count=2 2>/dev/null
dd if=/dev/urandom of="$SCRATCH/new" bs=1M count=2 2>/dev/null
run dd if="$SCRATCH/old" of="/dev/$vg/origin" bs=1M oflag=direct conv=notrunc
run rlvm lvcreate -s -L 8M -n snap "$vg/origin"
run dd if="$SCRATCH/new" of="/dev/$vg/origin" bs=1M oflag=direct conv=notrunc
ids >"$SCRATCH/ids.before"
cat "$SCRATCH/ids.before"

step "lvrename of the active linear LV: my--vg-lv--1 -> my--vg-lin--2"
u=$(uuid_of my--vg-lv--1)
t0=$(cut -d' ' -f1 /proc/uptime)
run rlvm lvrename "$vg" lv-1 lin-2
echo "(lvrename took $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{print b-a}') s)"
gone my--vg-lv--1 lv-1
here my--vg-lin--2 lin-2
expect_eq "UUID of my--vg-lin--2" "$(uuid_of my--vg-lin--2)" "$u"
run cmp "/dev/$vg/lin-2" "$SCRATCH/lin"
expect_eq "lv_attr of lin-2 (LVM2)" "$(lvm_attr lin-2)" "-wi-a-----"

step "lvrename of the active origin (held open): origin -> org-1, -real follows"
exec 3<"/dev/$vg/origin"
run rlvm lvrename "$vg/origin" "$vg/org-1"
exec 3<&-
gone my--vg-origin origin
gone my--vg-origin-real ""
here my--vg-org--1 org-1
here my--vg-org--1-real ""
here my--vg-snap snap
here my--vg-snap-cow ""
dd if="/dev/$vg/org-1" bs=1M count=2 2>/dev/null | cmp -s - "$SCRATCH/new" || fail "org-1 lost its new data"
dd if="/dev/$vg/snap" bs=1M count=2 2>/dev/null | cmp -s - "$SCRATCH/old" || fail "snap lost its old data"

step "lvrename of the snapshot: snap -> snap-1, -cow follows"
run rlvm lvrename "$vg/snap" snap-1
gone my--vg-snap snap
gone my--vg-snap-cow ""
here my--vg-snap--1 snap-1
here my--vg-snap--1-cow ""
dd if="/dev/$vg/snap-1" bs=1M count=2 2>/dev/null | cmp -s - "$SCRATCH/old" || fail "snap-1 lost its old data"

step "same UUIDs and device numbers, only the names changed"
run dmsetup info -c -o name,uuid
ids >"$SCRATCH/ids.after"
cmp -s "$SCRATCH/ids.before" "$SCRATCH/ids.after" || {
    diff "$SCRATCH/ids.before" "$SCRATCH/ids.after" || true
    fail "UUIDs or device numbers changed"
}
expect_eq "dm devices" "$(dm_devices | tr '\n' ' ')" \
    "my--vg-lin--2 my--vg-org--1 my--vg-org--1-real my--vg-snap--1 my--vg-snap--1-cow "
expect_eq "/dev/$vg" "$(ls "/dev/$vg" | tr '\n' ' ')" "lin-2 org-1 snap-1 "

step "real LVM2 agrees"
run lvm lvs -a -o lv_name,lv_attr,origin,lv_active "$vg"
expect_eq "lv_attr of org-1 (LVM2)" "$(lvm_attr org-1)" "owi-a-s---"
expect_eq "lv_attr of snap-1 (LVM2)" "$(lvm_attr snap-1)" "swi-a-s---"
expect_eq "origin of snap-1 (LVM2)" "$(lvm lvs --noheadings -o origin "$vg/snap-1" | tr -d ' ')" "org-1"
run lvm vgchange -an "$vg"
expect_eq "dm devices after lvm vgchange -an" "$(dm_devices)" ""
run rlvm vgchange -ay "$vg"
run cmp "/dev/$vg/lin-2" "$SCRATCH/lin"
dd if="/dev/$vg/snap-1" bs=1M count=2 2>/dev/null | cmp -s - "$SCRATCH/old" || fail "snap-1 data after -an/-ay"

step "an inactive LV is renamed in metadata only"
run rlvm lvchange -an "$vg/lin-2"
run rlvm lvrename "$vg" lin-2 lin-3
gone my--vg-lin--3 lin-3
run rlvm lvchange -ay "$vg/lin-3"
run cmp "/dev/$vg/lin-3" "$SCRATCH/lin"

step "a rename onto a taken dm name is refused, nothing changes"
run dmsetup create my--vg-taken --table "0 8 zero"
seq=$(rlvm vgs --noheadings -o vg_seqno "$vg" | tr -d ' ')
try rlvm lvrename "$vg" lin-3 taken
expect_eq "lvrename onto a taken dm name: rc" "$RC" 5
expect_eq "vg_seqno" "$(rlvm vgs --noheadings -o vg_seqno "$vg" | tr -d ' ')" "$seq"
here my--vg-lin--3 lin-3
run dmsetup remove my--vg-taken

step "a table the kernel rejects: libdm's message and the kernel's reason"
mkdir -p "$SCRATCH/etc"
sed 's/"a|^\/dev\/vd|", /"a|^\/dev\/vd|", "a|^\/dev\/loop|", /' /etc/lvm/lvm.conf >"$SCRATCH/etc/lvm.conf"
export LVM_SYSTEM_DIR="$SCRATCH/etc"
img=/tmp/pv15.img
truncate -s 32M "$img"
loop=$(losetup -f)
run losetup "$loop" "$img"
run rlvm pvcreate -y "$loop"
run rlvm vgcreate vg2 "$loop"
run rlvm lvcreate -L 4M -n small vg2
run rlvm lvcreate -L 16M -n big vg2
run rlvm vgchange -an vg2
run losetup -d "$loop"
truncate -s 12M "$img"
run losetup "$loop" "$img"
try rlvm lvchange -ay vg2/big
expect_eq "rejected table: rc" "$RC" 5
echo "$OUT" | grep -Eq '^  device-mapper: reload ioctl on  \([0-9]+:[0-9]+\) failed: Invalid argument$' ||
    fail "no libdm-style reload line in: $OUT"
echo "$OUT" | grep -Eq '^  device-mapper: table: [0-9]+:[0-9]+: .*too small for target' ||
    fail "no kernel reason (device-mapper: table: ...) in: $OUT"
case $OUT in *"DM Core error"*|*"low-level ioctl"*|*"ioctl number"*) fail "crate debug text in: $OUT" ;; esac
dm_devices | grep -q '^vg2-' && fail "vg2 devices left: $(dm_devices)"
run losetup -d "$loop"
unset LVM_SYSTEM_DIR

step "udev_sync = 0: /run/udev/control exists, no udevd answers, rlvm never waits"
mkdir -p /run/udev
: >/run/udev/control
# nosync MODE CMD ARGS...: rlvm CMD without udev sync, by lvm.conf (conf) or option (flag).
nosync() {
    _m=$1
    _c=$2
    shift 2
    if [ "$_m" = conf ]; then
        timeout 30 rlvm "$_c" --config 'activation { udev_sync = 0 }' "$@"
    else
        timeout 30 rlvm "$_c" --noudevsync "$@"
    fi
}
for mode in conf flag; do
    run nosync $mode lvchange -an "$vg/lin-3"
    gone my--vg-lin--3 lin-3
    run nosync $mode lvchange -ay "$vg/lin-3"
    here my--vg-lin--3 lin-3
    run nosync $mode lvrename "$vg" lin-3 lin-4
    here my--vg-lin--4 lin-4
    run nosync $mode lvrename "$vg" lin-4 lin-3
    here my--vg-lin--3 lin-3
done
run cmp "/dev/$vg/lin-3" "$SCRATCH/lin"
# The control: with udev_sync = 1 the crate does wait (on a cookie nobody completes).
RC=0
timeout 5 rlvm lvchange --config 'activation { udev_sync = 1 }' -an "$vg/lin-3" || RC=$?
echo "(udev_sync=1 with a silent udev: rc=$RC)"
[ "$RC" != 0 ] || fail "udev_sync=1 did not wait: is the cookie path still there?"
dmsetup udevcomplete_all -y >/dev/null 2>&1 || true
rm -f /run/udev/control
rlvm lvchange -an "$vg/lin-3" || true

step "cleanup"
run rlvm vgchange -an "$vg"
expect_eq "dm devices at the end" "$(dm_devices)" ""
run rlvm vgremove -f "$vg"
step "rename, ioctl messages and udev_sync OK"
