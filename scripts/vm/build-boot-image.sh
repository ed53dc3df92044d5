#!/usr/bin/env bash
# Builds what the boot-time rollback test (tests/boot.rs) boots, into OUT (host side, as root):
#   OUT/disk.img          a PV holding VG "vg0" with LV "root" (ext4): a Debian 12 root with
#                         systemd as init (scripts/vm/build-rootfs.sh, cached), rlvm installed
#                         into it by scripts/install.sh --prefix /usr, and the test's own unit
#                         (tests/boot/); free space left in vg0 for snapshots
#   OUT/initrd-systemd.img  initramfs made by Debian's dracut with systemd in it and the rlvm
#   OUT/initrd-shell.img    module taken from that installation (no LVM2 in either); the
#                           second without systemd (dracut's shell init)
#   OUT/vmlinuz, OUT/kernel-version   the test kernel (scripts/vm/build-image.sh)
#   OUT/timings           seconds per step
# The disk is made without device-mapper (this machine's kernel has none): rlvm writes the
# PV/VG/LV metadata on a loop device, and the filesystem image goes at the LV's offset.
#
# OUT/root is the unpacked root filesystem the disk was made from (dracut takes the rlvm module
# and binary from there); --initrd-only rebuilds the initramfs images from it.
#
# Usage: scripts/vm/build-boot-image.sh --rlvm PATH --out DIR [--initrd-only]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rlvm="" out="" initrd_only=0
while [ $# -gt 0 ]; do
    case $1 in
        --rlvm) rlvm=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --initrd-only) initrd_only=1; shift ;;
        *) echo "build-boot-image: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$rlvm" ] && [ -n "$out" ] || { echo "usage: build-boot-image.sh --rlvm PATH --out DIR" >&2; exit 2; }
log() { echo "build-boot-image: $*" >&2; }
die() { echo "build-boot-image: error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (loop device, file ownership in the root filesystem)"
for tool in dracut mkfs.ext4 losetup depmod; do
    PATH=$PATH:/usr/sbin:/sbin command -v $tool >/dev/null || die "$tool not found (run scripts/install-deps.sh)"
done
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$out"
out=$(cd "$out" && pwd)
: >"$out/timings"
t0=$SECONDS
timing() { echo "$1 $((SECONDS - t0))" >>"$out/timings"; log "$1: $((SECONDS - t0))s"; t0=$SECONDS; }

image=$("$here/build-image.sh" --quiet | tail -n1)
kver=$(cat "$image/kernel-version")
cache=${RLVM_VM_CACHE:-$repo/.vm-cache}
kroot=$cache/kernel/$kver
cp "$image/vmlinuz" "$out/vmlinuz"
echo "$kver" >"$out/kernel-version"
# dracut resolves module dependencies with modules.dep, which the package does not ship.
if [ ! -f "$kroot/lib/modules/$kver/modules.dep" ]; then
    depmod -b "$kroot" "$kver"
fi
tarball=$("$here/build-rootfs.sh" --quiet | tail -n1)
timing kernel+rootfs

work=$(mktemp -d "$out/work.XXXXXX")
loop=""
cleanup() {
    [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
root=$out/root
# A debug build is mostly DWARF: drop it (symbols stay), the guest reads this from its disk.
if command -v objcopy >/dev/null; then
    objcopy --strip-debug "$rlvm" "$work/rlvm"
    rlvm=$work/rlvm
fi
if [ "$initrd_only" = 1 ]; then
    [ -d "$root" ] || die "--initrd-only: no $root"
    "$repo/scripts/install.sh" --prefix /usr --destdir "$root" --binary "$rlvm" >&2
else
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$tarball"
timing unpack

# rlvm, as a distribution would install it; then the test's own pieces.
"$repo/scripts/install.sh" --prefix /usr --destdir "$root" --binary "$rlvm" >&2
install -m 755 "$repo/tests/boot/boot-test.sh" "$root/usr/local/lib/rlvm-boot-test"
install -m 644 "$repo/tests/boot/rlvm-boot-test.service" "$root/etc/systemd/system/rlvm-boot-test.service"
ln -sf /etc/systemd/system/rlvm-boot-test.service "$root/etc/systemd/system/multi-user.target.wants/rlvm-boot-test.service"
echo "/dev/vg0/root / ext4 errors=remount-ro 0 1" >"$root/etc/fstab"
# No login prompts: the test talks on the serial console, which a getty would hang up.
for u in getty@.service serial-getty@.service; do ln -sf /dev/null "$root/etc/systemd/system/$u"; done
# The test root's lvm.conf: LVM2's defaults (metadata backups and archives under /etc/lvm, on
# the root itself; udev_sync = 1, so rlvm waits for udev, once per transaction, after the root
# is resumed), except that the poller looks every 2 s instead of 15.
mkdir -p "$root/etc/lvm"
cat >"$root/etc/lvm/lvm.conf" <<'CONF'
# rlvm boot-time rollback test (scripts/vm/build-boot-image.sh)
activation {
    polling_interval = 2
}
CONF
timing install

# The root filesystem image, then the disk: PV, vg0, vg0/root, the image at root's offset.
root_mib=448
mkfs.ext4 -q -F -L rlvm-root -d "$root" "$work/root.img" ${root_mib}M
disk=$out/disk.img
rm -f "$disk"
truncate -s 1G "$disk"
conf=$work/lvm
mkdir -p "$conf"
loop=$(losetup -f --show "$disk")
cat >"$conf/lvm.conf" <<CONF
devices {
    global_filter = [ "a|^$loop\$|", "r|.*|" ]
    use_devicesfile = 0
    obtain_device_list_from_udev = 0
}
global { locking_dir = "$conf" }
backup { backup = 0 archive = 0 }
CONF
export LVM_SYSTEM_DIR=$conf
"$rlvm" pvcreate -y "$loop" >&2
"$rlvm" vgcreate vg0 "$loop" >&2
"$rlvm" lvcreate -an -Zn -L ${root_mib}M -n root vg0 >&2
devices=$("$rlvm" lvs --noheadings -o devices vg0/root | tr -d ' ')
pe_start=$("$rlvm" pvs --noheadings --units b --nosuffix -o pe_start "$loop" | tr -d ' ')
extent=$("$rlvm" vgs --noheadings --units b --nosuffix -o vg_extent_size vg0 | tr -d ' ')
first=${devices#*\(}; first=${first%\)}
case "$pe_start $extent $first" in
    *[!0-9\ ]*|"") die "cannot place the LV: devices=$devices pe_start=$pe_start extent=$extent" ;;
esac
offset=$((pe_start + first * extent))
losetup -d "$loop"; loop=""
dd if="$work/root.img" of="$disk" bs=1M seek=$((offset / 1048576)) conv=notrunc,sparse status=none
[ $((offset % 1048576)) = 0 ] || die "LV offset $offset is not MiB-aligned"
timing disk
fi

# The initramfs images: Debian's dracut, the rlvm module from the installation above.
base=$work/dracut
mkdir -p "$base/modules.d"
for f in /usr/lib/dracut/*; do
    [ "$(basename "$f")" = modules.d ] || ln -s "$f" "$base/"
done
for m in /usr/lib/dracut/modules.d/*; do ln -s "$m" "$base/modules.d/"; done
ln -s "$root/usr/lib/dracut/modules.d/90rlvm" "$base/modules.d/90rlvm"
mkdir -p "$work/dracut.conf.d"
printf 'rlvm_binary=%s\n' "$root/usr/sbin/rlvm" >"$work/dracut.conf"
build_initrd() {   # OUT MODULES...
    local img=$1; shift
    dracutbasedir=$base dracut --force --quiet --no-hostonly --no-hostonly-cmdline \
        --conf "$work/dracut.conf" --confdir "$work/dracut.conf.d" --lvmconf \
        --kver "$kver" --kmoddir "$kroot/lib/modules/$kver" \
        -m "$*" --add-drivers "virtio_blk virtio_pci ext4" --no-early-microcode \
        --compress gzip "$img" >&2
}
build_initrd "$out/initrd-systemd.img" systemd systemd-initrd dracut-systemd base rootfs-block udev-rules fs-lib rlvm
timing initrd-systemd
build_initrd "$out/initrd-shell.img" base rootfs-block udev-rules fs-lib rlvm
timing initrd-shell
log "done: $out"
