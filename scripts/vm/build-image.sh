#!/usr/bin/env bash
# Builds the base image of the real-kernel test VM (host side, no kernel access):
#   $OUT/vmlinuz       stock Debian cloud kernel (has every dm target we need as a module)
#   $OUT/base.cpio.gz  busybox, the kernel modules, /init, real LVM2 (lvm, dmsetup + libs),
#                      /etc/lvm/lvm.conf for a guest without udev, and, when the host has
#                      Debian's `udev` package, systemd-udevd + udevadm with the block, dm and
#                      LVM rules (not started by /init: only a scenario that wants udev starts it),
#                      and, under /opt/gnu/bin, the GNU userland LVM2's own test suite needs
#                      (bash, coreutils, util-linux, e2fsprogs, procps...: tests/lvm2-suite/run.sh
#                      puts it first on its PATH; the other scenarios keep busybox)
#   $OUT/kernel-version
# What changes per boot (the scenario, rlvm, test executables) is not in here: it goes into a
# second, small archive made by pack-overlay.sh, which the kernel unpacks over this one
# (concatenated initramfs archives, Documentation/driver-api/early-userspace/buffer-format.rst).
#
# The kernel package is fetched with `apt-get download` and kept in $CACHE (default
# <repo>/.vm-cache, git-ignored). The version is the newest the linux-image-cloud-amd64
# metapackage depends on, or $RLVM_VM_KERNEL_VERSION (e.g. 6.1.0-56-cloud-amd64) if set.
# Without package lists or network, a kernel already in the cache is used.
#
# Usage: scripts/vm/build-image.sh [--cache DIR] [--quiet]
# Prints the output directory on stdout (last line).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${RLVM_VM_CACHE:-$repo/.vm-cache}
quiet=0
while [ $# -gt 0 ]; do
    case $1 in
        --cache) cache=$2; shift 2 ;;
        --quiet) quiet=1; shift ;;
        *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { [ "$quiet" = 1 ] || echo "build-image: $*" >&2; }
die() { echo "build-image: error: $*" >&2; exit 1; }

for tool in busybox cpio gzip dpkg-deb modinfo ldd flock apt-get apt-cache; do
    command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh)"
done
busybox_bin=$(command -v busybox)
# busybox-static is the one to ship: the dynamic `busybox` package has no libs in the guest.
file_out=$(ldd "$busybox_bin" 2>&1 || true)
case $file_out in *"not a dynamic"*|*"statically linked"*) ;; *) die "$busybox_bin is not static (install busybox-static)" ;; esac
lvm_bin=$(PATH=$PATH:/usr/sbin:/sbin command -v lvm) || die "lvm not found (install lvm2)"
dmsetup_bin=$(PATH=$PATH:/usr/sbin:/sbin command -v dmsetup) || die "dmsetup not found (install lvm2)"
# Optional: udev (Debian 12: systemd-udevd is a link to udevadm, a multi-call binary). Without
# it the image simply has no udev and tests/vm/scenarios/17-udev.sh says it is skipped.
udevadm_bin=$(PATH=$PATH:/usr/sbin:/sbin command -v udevadm || true)
udev_rules_dir=/lib/udev/rules.d
# The rules a block/dm/LVM system needs, as Debian's udev, dmsetup and lvm2 packages ship them
# (LVM2's upstream 11-dm-lvm.rules is Debian's 56-lvm.rules; 13-dm-disk.rules is
# 60-persistent-storage-dm.rules).
udev_rules="50-udev-default.rules 55-dm.rules 56-lvm.rules 60-block.rules
            60-persistent-storage.rules 60-persistent-storage-dm.rules 69-lvm.rules
            95-dm-notify.rules"
udev_files=()
if [ -n "$udevadm_bin" ]; then
    for r in $udev_rules; do
        if [ -f "$udev_rules_dir/$r" ]; then udev_files+=("$udev_rules_dir/$r")
        else log "udev rule $r not on this host; skipped"; fi
    done
fi

# The userland LVM2's test suite (tests/lvm2-suite) runs on: its scripts are bash and expect
# GNU tools (mktemp -p, ls --hide, ps ehax, losetup --show, mkfs.ext3, fsck...). Packages not
# installed on the host are left out (the suite's runner then says what is missing).
suite_pkgs="bash coreutils findutils grep sed mawk diffutils procps psmisc util-linux mount
            e2fsprogs debianutils bc gzip tar libc-bin xxd fdisk"
suite_pkg_versions=$(dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}\n' $suite_pkgs 2>/dev/null || true)

mkdir -p "$cache/kernel"
exec 9>"$cache/.lock"
flock 9   # one builder at a time per cache; others wait, then find the result cached

# ---- the kernel package -------------------------------------------------------------------
# The kernel version the metapackage depends on, per the local package lists.
metapackage_kernel() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9].*-cloud-amd64\)$/\1/p' | head -n1
}
resolve_kernel() {
    if [ -n "${RLVM_VM_KERNEL_VERSION:-}" ]; then echo "$RLVM_VM_KERNEL_VERSION"; return; fi
    local dep
    dep=$(metapackage_kernel)
    if [ -z "$dep" ] && [ "$(id -u)" = 0 ]; then
        log "no package lists know linux-image-cloud-amd64; running apt-get update"
        apt-get update -q >&2 || true
        dep=$(metapackage_kernel)
    fi
    if [ -z "$dep" ]; then
        # Offline: take the newest kernel already unpacked in the cache.
        dep=$(ls "$cache/kernel" 2>/dev/null | grep -- '-cloud-amd64$' | sort -V | tail -n1 || true)
        [ -n "$dep" ] && log "cannot resolve linux-image-cloud-amd64; using cached $dep"
    fi
    [ -n "$dep" ] || die "cannot resolve the linux-image-cloud-amd64 kernel version"
    echo "$dep"
}
kver=$(resolve_kernel)
kroot=$cache/kernel/$kver
if [ ! -f "$kroot/.unpacked" ]; then
    log "fetching linux-image-$kver"
    tmp=$(mktemp -d "$cache/kernel/dl.XXXXXX")
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "linux-image-$kver" >&2) ||
        { rm -rf "$tmp"; die "apt-get download linux-image-$kver failed"; }
    rm -rf "$kroot"; mkdir -p "$kroot"
    dpkg-deb -x "$tmp"/linux-image-"$kver"_*.deb "$kroot"
    rm -rf "$tmp"
    touch "$kroot/.unpacked"
fi
vmlinuz=$kroot/boot/vmlinuz-$kver
moddir=$kroot/lib/modules/$kver
[ -f "$vmlinuz" ] || die "$vmlinuz missing from the kernel package"

# ---- is the image up to date? -------------------------------------------------------------
out=$cache/image
stamp=$( { echo "$kver"; cat "$0" "$here/lvm.conf.sh" "$here/init.sh";
           sha256sum "$busybox_bin" "$lvm_bin" "$dmsetup_bin";
           [ -z "$udevadm_bin" ] || sha256sum "$udevadm_bin" "${udev_files[@]}";
           echo "$suite_pkg_versions"; } |
         sha256sum | cut -d' ' -f1)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] &&
   [ -f "$out/base.cpio.gz" ] && [ -f "$out/vmlinuz" ]; then
    log "image up to date ($kver)"
    echo "$out"
    exit 0
fi
log "building base image for $kver"

root=$(mktemp -d "$cache/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc/lvm,lib/modules,opt/lvm2/bin,opt/rlvm/bin,rlvm}

# ---- busybox -------------------------------------------------------------------------------
cp "$busybox_bin" "$root/bin/busybox"
for applet in $("$busybox_bin" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# ---- kernel modules, in dependency order ---------------------------------------------------
# No modules.dep ships in the package, so resolve `depends=` ourselves; file names use '-'
# or '_' freely, module names always '_'.
declare -A modfile=()
while IFS= read -r f; do
    b=$(basename "$f"); b=${b%%.ko*}; modfile[${b//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko*')
builtin_list=$moddir/modules.builtin
declare -A loaded=()
order=()
add_module() {   # name required(0/1)
    local m=${1//-/_} dep
    [ -n "${loaded[$m]:-}" ] && return 0
    loaded[$m]=1
    local f=${modfile[$m]:-}
    if [ -z "$f" ]; then
        if [ -f "$builtin_list" ] && grep -q "/${m}.ko\$\|/${m//_/-}.ko\$" "$builtin_list"; then
            log "module $m is built in"; return 0
        fi
        [ "$2" = 1 ] && die "module $m not found in $moddir"
        log "optional module $m not present; skipped"; return 0
    fi
    for dep in $(modinfo -F depends "$f" | tr ',' ' '); do add_module "$dep" 1; done
    order+=("$m")
    case $f in
        *.ko) cp "$f" "$root/lib/modules/$m.ko" ;;
        *.ko.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
        *.ko.gz) gzip -dc "$f" >"$root/lib/modules/$m.ko" ;;
    esac
}
for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk \
         dm_mod dm_bufio dm_snapshot; do
    add_module "$m" 1
done
for m in loop dm_flakey dm_delay dm_zero; do add_module "$m" 0; done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"
log "modules: ${order[*]}"

# ---- real LVM2 and its libraries -----------------------------------------------------------
# shellcheck source=scripts/vm/copy-bin.sh
. "$here/copy-bin.sh"
copy_bin "$root" "$lvm_bin" /opt/lvm2/bin/lvm
copy_bin "$root" "$dmsetup_bin" /opt/lvm2/bin/dmsetup
# LVM2's command links, in their own directory so they never shadow rlvm's.
for c in pvcreate pvremove pvs pvscan pvdisplay pvchange pvresize pvmove pvck \
         vgcreate vgremove vgs vgscan vgdisplay vgchange vgextend vgreduce vgrename vgcfgbackup \
         vgcfgrestore vgck vgconvert vgexport vgimport vgmknodes vgsplit vgmerge \
         lvcreate lvremove lvs lvscan lvdisplay lvchange lvconvert lvextend lvreduce lvresize \
         lvrename fsadm; do
    ln -s lvm "$root/opt/lvm2/bin/$c"
done
"$here/lvm.conf.sh" '^/dev/vd' >"$root/etc/lvm/lvm.conf"

# ---- udev (optional) ----------------------------------------------------------------------
# /sbin/dmsetup and /sbin/lvm are where the rules call them (55-dm, 56-lvm, 95-dm-notify:
# `dmsetup udevflags|udevcomplete|splitname`; 69-lvm: `lvm pvscan --cache`, which the guest's
# lvm.conf (event_activation = 0) turns into a no-op). Harmless without udev: the same binaries.
ln -s /opt/lvm2/bin/dmsetup "$root/sbin/dmsetup"
ln -s /opt/lvm2/bin/lvm "$root/sbin/lvm"
# dmsetup is dmstats too, by argv[0] (Debian's dmsetup package has the link; LVM2's suite runs it).
ln -s /opt/lvm2/bin/dmsetup "$root/sbin/dmstats"
# LVM2's fsadm script, which `lvresize -r` runs at this path (a bash script: the tools it needs
# are in /opt/gnu/bin, below).
fsadm_bin=$(PATH=$PATH:/usr/sbin:/sbin command -v fsadm || true)
[ -z "$fsadm_bin" ] || cp "$fsadm_bin" "$root/sbin/fsadm"
if [ -n "$udevadm_bin" ]; then
    copy_bin "$root" "$udevadm_bin" /usr/bin/udevadm
    # udevadm is the daemon too when its argv[0] names "udevd": systemd-udevd (Debian's path),
    # udevd (initramfs-tools' name).
    mkdir -p "$root/lib/systemd" "$root/lib/udev/rules.d" "$root/etc/udev"
    ln -s /usr/bin/udevadm "$root/lib/systemd/systemd-udevd"
    ln -s /usr/bin/udevadm "$root/sbin/udevd"
    cp "${udev_files[@]}" "$root/lib/udev/rules.d/"
    log "udev: $udevadm_bin with ${#udev_files[@]} rules files"
else
    log "udevadm not found: the image has no udev (install Debian's udev package)"
fi

# ---- GNU userland for LVM2's test suite ----------------------------------------------------
# Every executable of those packages into /opt/gnu/bin (symlinks kept as links by name, e.g.
# mkfs.ext3 -> mke2fs, which picks its behaviour from argv[0]), plus the alternatives `awk`
# and `which`. /usr/bin/env and /bin/bash, which the suite's #! lines name, are added where
# busybox has nothing of that name.
gnu=/opt/gnu/bin
mkdir -p "$root$gnu"
gnu_add() {   # HOST_PATH [NAME]
    local src=$1 name=${2:-$(basename "$1")} real
    [ -e "$root$gnu/$name" ] || [ -L "$root$gnu/$name" ] && return 0
    real=$(readlink -f "$src")
    [ -f "$real" ] && [ -x "$real" ] || return 0
    if [ "$(basename "$real")" != "$name" ]; then
        gnu_add "$real"
        ln -s "$(basename "$real")" "$root$gnu/$name"
    else
        copy_bin "$root" "$real" "$gnu/$name"
    fi
}
for p in $suite_pkgs; do
    if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
        log "package $p not installed: its tools are not in $gnu (run scripts/install-deps.sh)"
        continue
    fi
    while IFS= read -r f; do
        gnu_add "$f"
    done < <(dpkg -L "$p" | grep -E '^(/usr)?/s?bin/[^/]+$')
done
for alt in awk which; do
    a=$(command -v "$alt" || true)
    [ -n "$a" ] && gnu_add "$a" "$alt"
done
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/mke2fs.conf"
mkdir -p "$root/usr/bin"
[ -e "$root/usr/bin/env" ] || ln -s /bin/busybox "$root/usr/bin/env"
[ -e "$root/bin/bash" ] || { [ -e "$root$gnu/bash" ] && ln -s "$gnu/bash" "$root/bin/bash"; }
log "GNU userland for the LVM2 suite: $(ls "$root$gnu" | wc -l) commands in $gnu"

# ---- init ----------------------------------------------------------------------------------
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
# The groups the udev rules name (GROUP="disk"), so udevd need not complain.
printf '%s\n' "root:x:0:" "tty:x:5:" "disk:x:6:" "kmem:x:15:" "cdrom:x:24:" >"$root/etc/group"

# ---- pack ----------------------------------------------------------------------------------
mkdir -p "$out"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
    gzip -1 >"$out/base.cpio.gz.tmp"
mv "$out/base.cpio.gz.tmp" "$out/base.cpio.gz"
cp "$vmlinuz" "$out/vmlinuz"
echo "$kver" >"$out/kernel-version"
echo "$stamp" >"$out/stamp"
log "done: $out ($(du -h "$out/base.cpio.gz" | cut -f1) initramfs)"
echo "$out"
