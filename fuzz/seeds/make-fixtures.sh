#!/bin/sh
# Regenerates the LVM2-written fixtures in this directory with real LVM2 on
# loop devices, using the metadata-only lvm.conf (reference notes, section 6).
# Needs root and /dev/loop-control. Output (gzip, deterministic apart from IDs
# and timestamps):
#   orphan-pv.bin.gz   first 1 MiB of a fresh `pvcreate` (no VG)
#   vg-pv.bin.gz       first 1 MiB of a PV after `vgcreate` + one LV
#   wrapped-pv.bin.gz  first pe_start bytes of a PV with a small mda whose
#                      committed copy wraps around the end of the buffer
#   wrapped-pv.locns   slot-0 "offset size" after every commit on that PV,
#                      to check our placement against LVM2's
set -eu
out=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
loops=""
cleanup() {
    for l in $loops; do losetup -d "$l" 2>/dev/null || true; done
    rm -rf "$t"
}
trap cleanup EXIT
mkdir -p "$t/lock" "$t/backup" "$t/archive"
cat >"$t/lvm.conf" <<CONF
global {
  activation = 0
  locking_dir = "$t/lock"
  event_activation = 0
  use_lvmpolld = 0
}
devices {
  use_devicesfile = 0
  hints = "none"
  obtain_device_list_from_udev = 0
  external_device_info_source = "none"
  filter = [ "a|^/dev/loop[0-9]+\$|", "r|.*|" ]
  md_component_detection = 0
  multipath_component_detection = 0
  fw_raid_component_detection = 0
}
backup {
  backup = 1
  backup_dir = "$t/backup"
  archive = 1
  archive_dir = "$t/archive"
}
activation {
  udev_sync = 0
  udev_rules = 0
  verify_udev_operations = 0
  monitoring = 0
}
CONF
export LVM_SYSTEM_DIR="$t" LVM_SUPPRESS_FD_WARNINGS=1

# Sets $dev; not run in a subshell so that $loops reaches the cleanup trap.
attach() {
    truncate -s 64M "$t/$1.img"
    dev=$(losetup -f --show "$t/$1.img")
    loops="$loops $dev"
}

attach orphan; a=$dev
lvm pvcreate -q "$a" >/dev/null
dd if="$a" bs=1M count=1 status=none | gzip -9n >"$out/orphan-pv.bin.gz"

attach vg; b=$dev
lvm pvcreate -q "$b" >/dev/null
lvm vgcreate -q rlvmfix "$b" >/dev/null
lvm lvcreate -q -an -Zn -L8M -n lv0 rlvmfix >/dev/null
dd if="$b" bs=1M count=1 status=none | gzip -9n >"$out/vg-pv.bin.gz"

attach wrap; c=$dev
# raw_locn[0] sits at mda offset 0x28 (absolute 4096+0x28), after the mda
# size at 0x20; all little-endian u64.
slot0() {
    dd if="$c" bs=1 skip=4128 count=24 status=none | od -An -tu8 | tr -s ' \n' ' '
}
: >"$out/wrapped-pv.locns"
record() {
    set -- $(slot0)
    echo "$2 $3" >>"$out/wrapped-pv.locns"
}
lvm pvcreate -q --metadatasize 32k --dataalignment 64k "$c" >/dev/null
lvm vgcreate -q rlvmwrap "$c" >/dev/null
record
lvm lvcreate -q -an -Zn -L8M -n lv0 rlvmwrap >/dev/null
record
pe_start=$(lvm pvs --noheadings --units b --nosuffix -o pe_start "$c" | tr -d ' ')
# Commit until the committed copy wraps.
i=0
while :; do
    i=$((i + 1))
    lvm lvchange -q --addtag "t$i" rlvmwrap/lv0 >/dev/null
    record
    set -- $(slot0)
    size=$1; off=$2; len=$3
    if [ $((off + len)) -gt "$size" ]; then break; fi
    [ $i -lt 500 ] || { echo "no wrap after $i commits" >&2; exit 1; }
done
echo "wrapped after $i commits: mda size $size, copy at $off, $len bytes" >&2
dd if="$c" bs="$pe_start" count=1 status=none | gzip -9n >"$out/wrapped-pv.bin.gz"
# Two more commits, to see where LVM2 puts the copy after a wrapped one.
for j in 1 2; do
    lvm lvchange -q --addtag "after$j" rlvmwrap/lv0 >/dev/null
    record
done
