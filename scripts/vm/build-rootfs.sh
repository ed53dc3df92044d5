#!/usr/bin/env bash
# Builds (once, then cached) the root filesystem of the boot-time rollback test (tests/boot.rs):
# a small Debian 12 with systemd as init, from Debian's packages with mmdebstrap, using this
# machine's own apt sources. Output: a tarball in $CACHE/rootfs/ (default <repo>/.vm-cache),
# named by a hash of this script and the package list, so a change rebuilds it. What changes
# per test run (rlvm, its dracut module and units, the test's own unit) is not in here: the test
# installs it into an unpacked copy with scripts/install.sh.
#
# Contents: the essential set plus systemd, systemd-sysv, udev, kmod, e2fsprogs and dmsetup
# (device-mapper's udev rules: /dev/mapper links and udev cookies for rlvm in the real root;
# no LVM2). No documentation, man pages or locales. Root has no password; serial console.
#
# Usage: scripts/vm/build-rootfs.sh [--cache DIR] [--quiet]   (as root)
# Prints the tarball's path on stdout (last line).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${RLVM_VM_CACHE:-$repo/.vm-cache}
quiet=0
while [ $# -gt 0 ]; do
    case $1 in
        --cache) cache=$2; shift 2 ;;
        --quiet) quiet=1; shift ;;
        *) echo "build-rootfs: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { [ "$quiet" = 1 ] || echo "build-rootfs: $*" >&2; }
die() { echo "build-rootfs: error: $*" >&2; exit 1; }

suite=bookworm
packages="systemd systemd-sysv udev kmod e2fsprogs dmsetup procps"

mkdir -p "$cache/rootfs"
exec 8>"$cache/rootfs/.lock"
flock 8
key=$( { cat "$0"; echo "$suite $packages"; } | sha256sum | cut -c1-16)
out=$cache/rootfs/debian-$suite-$key.tar
if [ -f "$out" ]; then
    log "root filesystem cached: $out"
    echo "$out"
    exit 0
fi
command -v mmdebstrap >/dev/null || die "mmdebstrap not found (run scripts/install-deps.sh)"
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap's root mode)"

# The machine's own apt sources (deb822 or one-line files), so the same mirror serves both.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -s "$f" ] && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die "no apt sources on this machine"

log "building $suite root filesystem with mmdebstrap ($packages)"
started=$SECONDS
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
mmdebstrap --quiet --mode=root --variant=essential --format=tar \
    --include="${packages// /,}" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='echo rlvm-boot-test >"$1/etc/hostname"' \
    --customize-hook='chroot "$1" passwd -d root >/dev/null' \
    --customize-hook='rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; touch "$1/etc/machine-id"' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    "$suite" "$tmp" "${sources[@]}" >&2 || die "mmdebstrap failed"
mv "$tmp" "$out"
trap - EXIT
log "done in $((SECONDS - started))s: $out ($(du -h "$out" | cut -f1))"
echo "$out"
