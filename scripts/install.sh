#!/usr/bin/env bash
# Installs rlvm the way distributions expect, into PREFIX under DESTDIR (for packaging, or a
# root filesystem being built), or removes what it installed:
#   scripts/install.sh [install] [options]     (as root for a real system)
#   scripts/install.sh uninstall [options]     (same options as the install)
# Options (also as environment variables of the same name, upper case):
#   --prefix DIR        default /usr/local (a package: /usr)
#   --destdir DIR       staging root, default empty (the running system)
#   --binary PATH       the rlvm binary, default target/release/rlvm (built if missing)
#   --sbindir DIR       default PREFIX/sbin
#   --mandir DIR        default PREFIX/share/man
#   --datadir DIR       default PREFIX/share (shell completions)
#   --libexecdir DIR    default PREFIX/lib/rlvm (helpers of the udev rule and the unit)
#   --dracutdir DIR     default /usr/lib/dracut (dracut only reads modules from there)
#   --unitdir DIR       default PREFIX/lib/systemd/system
#   --udevrulesdir DIR  default PREFIX/lib/udev/rules.d (/usr/local/lib/udev/rules.d is read too)
#   --no-links          no command links (lvs, vgchange...: they shadow LVM2's on PATH)
#   --no-enable         do not enable rlvm-finish-merges.service
#   --force             replace files of the same name that are not rlvm's (e.g. LVM2's links)
# What it installs (every path is listed in PREFIX/share/rlvm/install-manifest, which uninstall
# reads):
#   SBINDIR/rlvm and a link to it per command (SBINDIR/lvs -> rlvm, ...)
#   MANDIR/man8/*.8 (one per command, rlvm.8) and MANDIR/man7/rlvm-rollback.7, from man/
#   shell completions generated from the commands' clap definitions (`rlvm
#     --generate-completions`): DATADIR/bash-completion/completions/<cmd>,
#     DATADIR/zsh/vendor-completions/_<cmd>, DATADIR/fish/vendor_completions.d/<cmd>.fish
#   DRACUTDIR/modules.d/90rlvm/ (dracut module: dracut/modules.d/90rlvm + udev/)
#   UNITDIR/rlvm-finish-merges.service (systemd/), enabled (a link in
#     DESTDIR/etc/systemd/system/sysinit.target.wants/) unless --no-enable
#   UDEVRULESDIR/56-rlvm.rules, LIBEXECDIR/rlvm-dm-name, LIBEXECDIR/rlvm-finish-merges
# Afterwards, for a root on LVM: rebuild the initramfs with dracut (`dracut -f`). See
# rlvm-rollback(7) and README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

action=install
case ${1:-} in install|uninstall) action=$1; shift ;; esac
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINARY=${BINARY:-}
links=1 enable=1 force=0
declare -A dir=()
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) PREFIX=$2; shift 2 ;;
        --destdir) DESTDIR=$2; shift 2 ;;
        --binary) BINARY=$2; shift 2 ;;
        --sbindir|--mandir|--datadir|--libexecdir|--dracutdir|--unitdir|--udevrulesdir)
            dir[${1#--}]=$2; shift 2 ;;
        --no-links) links=0; shift ;;
        --no-enable) enable=0; shift ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
PREFIX=${PREFIX%/}
DESTDIR=${DESTDIR%/}
sbindir=${dir[sbindir]:-${SBINDIR:-$PREFIX/sbin}}
mandir=${dir[mandir]:-${MANDIR:-$PREFIX/share/man}}
datadir=${dir[datadir]:-${DATADIR:-$PREFIX/share}}
libexecdir=${dir[libexecdir]:-${LIBEXECDIR:-$PREFIX/lib/rlvm}}
dracutdir=${dir[dracutdir]:-${DRACUTDIR:-/usr/lib/dracut}}
unitdir=${dir[unitdir]:-${UNITDIR:-$PREFIX/lib/systemd/system}}
udevrulesdir=${dir[udevrulesdir]:-${UDEVRULESDIR:-$PREFIX/lib/udev/rules.d}}
manifest=$datadir/rlvm/install-manifest
unit=rlvm-finish-merges.service
wants=/etc/systemd/system/sysinit.target.wants/$unit

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

# ---- uninstall ----------------------------------------------------------------------------
if [ "$action" = uninstall ]; then
    [ -f "$DESTDIR$manifest" ] || die "$DESTDIR$manifest not found: nothing installed there (same --prefix/--destdir as the install?)"
    n=0
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        if [ -e "$DESTDIR$f" ] || [ -L "$DESTDIR$f" ]; then rm -f "$DESTDIR$f"; n=$((n + 1)); fi
    done <"$DESTDIR$manifest"
    rm -f "$DESTDIR$manifest"
    # Directories of rlvm's own, then any directory left empty.
    for d in "$dracutdir/modules.d/90rlvm" "$libexecdir" "$datadir/rlvm"; do
        rmdir "$DESTDIR$d" 2>/dev/null || true
    done
    [ -z "$DESTDIR" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ] &&
        systemctl daemon-reload || true
    say "removed $n files"
    exit 0
fi

# ---- install ------------------------------------------------------------------------------
if [ -z "$BINARY" ]; then
    BINARY=$repo/target/release/rlvm
    if [ ! -x "$BINARY" ]; then
        say "building rlvm (scripts/build-release.sh)"
        BINARY=$("$repo/scripts/build-release.sh")
    fi
fi
[ -x "$BINARY" ] || die "$BINARY is not an executable"

installed=()
# put SRC DEST MODE: copies SRC to DESTDIR/DEST, filling in the directories rlvm was installed
# to when SRC is a text template.
# Two passes over the same list: the first only checks (nothing is written if a file is in
# the way), the second installs.
pass=check
put() {
    local src=$1 dst=$2 mode=$3
    check_ours "$dst"
    [ "$pass" = install ] || return 0
    mkdir -p "$(dirname "$DESTDIR$dst")"
    if grep -qI '@SBINDIR@\|@LIBEXECDIR@' "$src" 2>/dev/null; then
        sed -e "s|@SBINDIR@|$sbindir|g" -e "s|@LIBEXECDIR@|$libexecdir|g" "$src" >"$DESTDIR$dst.tmp"
    else
        cp "$src" "$DESTDIR$dst.tmp"
    fi
    chmod "$mode" "$DESTDIR$dst.tmp"
    mv -f "$DESTDIR$dst.tmp" "$DESTDIR$dst"
    installed+=("$dst")
}
# link TARGET DEST: a symbolic link DESTDIR/DEST -> TARGET.
link() {
    check_ours "$2"
    [ "$pass" = install ] || return 0
    mkdir -p "$(dirname "$DESTDIR$2")"
    ln -sfn "$1" "$DESTDIR$2"
    installed+=("$2")
}
# Never replace a file rlvm did not install (LVM2's lvs, say) unless --force.
previous=$(cat "$DESTDIR$manifest" 2>/dev/null || true)
check_ours() {
    local f=$DESTDIR$1
    [ -e "$f" ] || [ -L "$f" ] || return 0
    [ "$force" = 1 ] && return 0
    grep -qxF "$1" <<<"$previous" && return 0
    [ -L "$f" ] && [ "$(readlink "$f")" = rlvm ] && return 0
    die "$f exists and is not rlvm's (--force replaces it, --no-links leaves the command links out)"
}

commands=$("$BINARY" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p')
[ -n "$commands" ] || die "$BINARY --help lists no commands"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BINARY" --generate-completions "$tmp" || die "$BINARY --generate-completions failed"

everything() {
put "$BINARY" "$sbindir/rlvm" 755
if [ "$links" = 1 ]; then
    for c in $commands; do link rlvm "$sbindir/$c"; done
fi

for page in "$repo"/man/*.[1-9]; do
    s=${page##*.}
    put "$page" "$mandir/man$s/$(basename "$page")" 644
done

for name in rlvm $commands; do
    put "$tmp/bash/$name.bash" "$datadir/bash-completion/completions/$name" 644
    put "$tmp/zsh/_$name" "$datadir/zsh/vendor-completions/_$name" 644
    put "$tmp/fish/$name.fish" "$datadir/fish/vendor_completions.d/$name.fish" 644
done

mod=$dracutdir/modules.d/90rlvm
for f in "$repo"/dracut/modules.d/90rlvm/*; do
    case $f in *.sh) m=755 ;; *) m=644 ;; esac
    put "$f" "$mod/$(basename "$f")" "$m"
done
put "$repo/udev/56-rlvm.rules" "$mod/56-rlvm.rules" 644
put "$repo/udev/rlvm-dm-name" "$mod/rlvm-dm-name" 755

put "$repo/udev/56-rlvm.rules" "$udevrulesdir/56-rlvm.rules" 644
put "$repo/udev/rlvm-dm-name" "$libexecdir/rlvm-dm-name" 755
put "$repo/systemd/rlvm-finish-merges" "$libexecdir/rlvm-finish-merges" 755
put "$repo/systemd/$unit" "$unitdir/$unit" 644
if [ "$enable" = 1 ]; then
    link "$unitdir/$unit" "$wants"
fi
}
everything
pass=install
everything

mkdir -p "$(dirname "$DESTDIR$manifest")"
printf '%s\n' "${installed[@]}" "$manifest" | sort -u >"$DESTDIR$manifest"
installed+=("$manifest")
if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
say "installed ${#installed[@]} files under ${DESTDIR:-/} (prefix $PREFIX); list: $DESTDIR$manifest"
if [ -z "$DESTDIR" ] && command -v dracut >/dev/null; then
    say "for a root on LVM, rebuild the initramfs now: dracut -f"
fi
