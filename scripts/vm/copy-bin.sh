# Sourced by build-image.sh and pack-overlay.sh (not run): copies host executables into an
# image root together with every shared library `ldd` says they load, at the library's own
# path, so the guest's dynamic loader finds them exactly as the host's does.

# copy_bin ROOT HOST_PATH [GUEST_PATH]
# With COPY_BIN_STRIP=1 and objcopy available, debug info is dropped from the copy (symbols
# stay, so backtraces still name functions): debug test executables are mostly DWARF, and the
# initramfs lives in the guest's RAM.
copy_bin() {
    local root=$1 src=$2 dst=${3:-$2} lib
    [ -f "$src" ] || { echo "copy-bin: $src: no such file" >&2; return 1; }
    mkdir -p "$root/$(dirname "$dst")"
    if [ "${COPY_BIN_STRIP:-0}" = 1 ] && command -v objcopy >/dev/null; then
        objcopy --strip-debug "$src" "$root/$dst"
    else
        cp -L "$src" "$root/$dst"
    fi
    chmod 755 "$root/$dst"
    for lib in $(ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}'); do
        copy_lib "$root" "$lib"
    done
}

# copy_lib ROOT HOST_PATH: the library at its path, and the file a symlink names, too.
copy_lib() {
    local root=$1 lib=$2
    [ -e "$root/$lib" ] && return 0
    mkdir -p "$root/$(dirname "$lib")"
    cp -L "$lib" "$root/$lib"
}
