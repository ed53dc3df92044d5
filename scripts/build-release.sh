#!/usr/bin/env bash
# build-release.sh - build the rlvm binary that is installed and benchmarked: optimised, and on
# glibc Linux statically linked and not position-independent.
#
# Why static: rlvm is a short-lived command; under the test VM's emulation a dynamically
# linked PIE spent ~9 ms of every command before main() (the loader mapping libc, libm and
# libgcc_s, and ~16,000 relocations of the binary itself touching and copying its pages):
# `version` took 15 ms dynamic against 6 ms static, `lvs` of 100 LVs 48 against 39 ms
# (scripts/bench-commands.sh, RLVM_BASE= the dynamic build, same boot). A static binary also
# needs no library from a root filesystem that rlvm may be about to suspend (src/dm/memlock.rs
# still locks its pages), and dracut copies it as it is.
#
# Only the binary's own crate gets the flags (`cargo rustc`): in RUSTFLAGS they would also
# reach the proc-macro crates, which cannot be static. rlvm links nothing from libdevmapper
# (the devicemapper crate is built with disable_cargo_metadata: it only talks ioctls), and
# uses no NSS function (getpwnam...), which a static glibc could not load.
#
# Usage: scripts/build-release.sh [PROFILE]   (default release; prints the binary's path)
# Environment: CARGO_TARGET_DIR as cargo; RLVM_DYNAMIC=1 builds the plain dynamic binary.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
profile=${1:-release}
case $profile in debug | dev) cargo_profile=dev dir=debug ;; *) cargo_profile=$profile dir=$profile ;; esac

flags=()
host=$("${RUSTC:-rustc}" -vV | sed -n 's/^host: //p')
case $host in
    *-linux-gnu*) [ "${RLVM_DYNAMIC:-0}" = 1 ] || flags=(-C target-feature=+crt-static -C relocation-model=static) ;;
esac
(cd "$repo" && "${CARGO:-cargo}" rustc --quiet --profile "$cargo_profile" --bin rlvm -- "${flags[@]}") >&2
echo "${CARGO_TARGET_DIR:-$repo/target}/$dir/rlvm"
