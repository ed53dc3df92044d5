#!/usr/bin/env bash
# Installs, as root, everything rlvm needs to build and test on a Debian 12 machine:
#   build:   libdevmapper-dev libclang-dev pkg-config   (devicemapper crate / bindgen)
#            gcc libc6-dev                              (the linker rustc calls)
#   VM:      qemu-system-x86 busybox-static cpio kmod   (scripts/vm/build-image.sh, tests/vm.rs)
#   interop: lvm2                                       (real LVM2 on the host and in the guest)
#   udev:    udev                                       (udevd + udevadm copied into the guest
#                                                        image for tests/vm/scenarios/17-udev.sh;
#                                                        in a container its postinst starts nothing)
#   LVM2's test suite (tests/lvm2-suite, tests/lvm2_suite.rs):
#            dpkg-dev xz-utils                          (`apt-get source lvm2` unpacks with
#                                                        dpkg-source; the deb-src entries are
#                                                        the suite's own, see its prepare.sh)
#            e2fsprogs procps psmisc bc mawk xxd fdisk  (copied into the guest image with bash,
#                                                        coreutils, util-linux: the scripts' tools)
#   boot-time rollback test (tests/boot.rs):
#            dracut-core                                (Debian's dracut: the initramfs, with
#                                                        rlvm's dracut module)
#            mmdebstrap                                 (the guest's Debian root filesystem,
#                                                        scripts/vm/build-rootfs.sh; mkfs.ext4 -d
#                                                        from e2fsprogs makes its image)
# Idempotent: does nothing (not even `apt-get update`) when every package is installed.
# The test kernel itself is not installed: build-image.sh fetches it with `apt-get download`.
# The Rust toolchain (cargo, rustfmt, clippy) is not a Debian package here: CI images bring it.
set -euo pipefail

packages=(
    libdevmapper-dev libclang-dev pkg-config gcc libc6-dev
    qemu-system-x86 busybox-static cpio kmod
    lvm2
    udev
    dpkg-dev xz-utils e2fsprogs procps psmisc bc mawk xxd fdisk
    dracut-core mmdebstrap
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present (${packages[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
