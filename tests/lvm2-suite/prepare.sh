#!/usr/bin/env bash
# Host side of tests/lvm2-suite: fetches LVM2's own test suite from Debian's `lvm2` source
# package and lays it out the way `make install` of LVM2's test/ directory would (the
# "installed testsuite": /usr/share/lvm2-testsuite/{shell,lib} and
# /usr/libexec/lvm2-testsuite/{not,should,fail,invalid}), packed as one tarball that the
# guest unpacks (tests/lvm2-suite/run.sh, tests/lvm2_suite.rs).
#
# LVM2 is GPL: nothing of it is committed to this repository. It is fetched here, at test
# time, with `apt-get source` and kept under $RLVM_VM_CACHE (default <repo>/.vm-cache,
# git-ignored), so it is fetched once per machine.
#
# Why LVM2's own harness and not a rewrite: the goal is to run test/shell scripts UNCHANGED
# and faithfully, and the scripts lean on every detail of lib/inittest, lib/aux, lib/check,
# lib/get and lib/utils (config generation, device set-up, fault injection, teardown). Those
# files are used as they are; only what LVM2's Makefile would generate at build time is
# generated here, from the same inputs, the same way:
#   lib/paths              the Makefile's `paths-installed` recipe (no @...@ left to fill:
#                          the installed flavour of the suite uses the lvm on $PATH)
#   lib/<command> links    to lib/lvm-wrapper, one per name in tools/cmdnames.h, filtered as
#                          tools/Makefile filters .commands
#   lib/version-expected   first word of VERSION (and VERSION_DM)
#   not (+should,fail,invalid)  lib/not.c compiled with the host's gcc, statically, so the
#                          guest needs no extra library
# apt-get source needs deb-src entries: rather than edit the machine's apt configuration,
# this uses a private one (sources, lists, cache under the cache directory), made from the
# machine's own `deb` entries for its release (so the same mirror), and touches nothing else.
#
# Usage: tests/lvm2-suite/prepare.sh [--quiet]
# Prints the tarball's path on stdout (last line). Needs apt-get, dpkg-source (dpkg-dev),
# gcc with a static libc (libc6-dev): scripts/install-deps.sh installs them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${RLVM_VM_CACHE:-$repo/.vm-cache}/lvm2-suite
quiet=0
[ "${1:-}" = --quiet ] && quiet=1
log() { [ "$quiet" = 1 ] || echo "lvm2-suite prepare: $*" >&2; }
die() { echo "lvm2-suite prepare: error: $*" >&2; exit 1; }

for tool in apt-get dpkg-source gcc tar gzip flock sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh)"
done

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9   # one preparer at a time; the others then find the result cached

# The version to test: the one installed on the host (and so in the guest image as real LVM2),
# else whatever the release has.
want=$(dpkg-query -W -f='${Version}' lvm2 2>/dev/null || true)
tarball=$cache/lvm2-testsuite.tar.gz
stamp=$( { echo "$want"; cat "$0"; } | sha256sum | cut -d' ' -f1)
if [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp" ] && [ -f "$tarball" ]; then
    log "up to date ($want)"
    echo "$tarball"
    exit 0
fi

# ---- the source package -------------------------------------------------------------------
# deb-src lines for the machine's release, from its one-line (.list) and deb822 (.sources)
# entries; other suites and third-party repositories are left out.
codename=$( . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")
deb_src_entries() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -n 's/^[[:space:]]*deb[[:space:]]\+/deb-src /p' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush(   i, j, nu, ns, u, s, opt) {
                if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                    opt = signed != "" ? "[signed-by=" signed "] " : ""
                    nu = split(uris, u, " "); ns = split(suites, s, " ")
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                        print "deb-src " opt u[i] " " s[j] " " comps
                }
                types = uris = suites = comps = signed = enabled = ""
            }
            /^[[:space:]]*#/ { next }
            /^[[:space:]]*$/ { flush(); next }
            { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
              if (key == "types") types = $0; else if (key == "uris") uris = $0
              else if (key == "suites") suites = $0; else if (key == "components") comps = $0
              else if (key == "signed-by") signed = $0; else if (key == "enabled") enabled = tolower($0) }
            END { flush() }' "$f"
    done
}
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
{ deb_src_entries | awk -v c="$codename" '$1 == "deb-src" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /=/ && $i !~ /\]$/) break; if ($(i + 1) == c) print }' | sort -u
} >"$apt_dir/sources.list.new"
if [ ! -s "$apt_dir/sources.list.new" ]; then
    log "no apt entry for $codename found; using deb.debian.org"
    echo "deb-src http://deb.debian.org/debian $codename main" >"$apt_dir/sources.list.new"
fi
mv "$apt_dir/sources.list.new" "$apt_dir/sources.list"
apt_opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o "APT::Sandbox::User=$(id -un)" -o Acquire::Languages=none)

src_root=$cache/src
if [ -z "$want" ] || [ ! -f "$src_root/$want/.unpacked" ]; then
    log "fetching the lvm2 source package ${want:-(newest)} from: $(tr '\n' ';' <"$apt_dir/sources.list")"
    apt-get "${apt_opts[@]}" update >&2 || die "apt-get update (deb-src for $codename) failed"
    tmp=$(mktemp -d "$cache/dl.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get "${apt_opts[@]}" source "lvm2${want:+=$want}" >&2) ||
        die "apt-get source lvm2${want:+=$want} failed"
    got=$(sed -n 's/^Version: //p' "$tmp"/lvm2_*.dsc | head -n1)
    [ -n "$got" ] || die "no lvm2 .dsc after apt-get source"
    want=$got
    rm -rf "${src_root:?}/$want"; mkdir -p "$src_root/$want"
    mv "$tmp"/lvm2-*/ "$src_root/$want/tree"
    touch "$src_root/$want/.unpacked"
    rm -rf "$tmp"; trap - EXIT
fi
src=$src_root/$want/tree
[ -d "$src/test/shell" ] && [ -f "$src/test/lib/inittest.sh" ] || die "$src has no test/shell"

# ---- the installed layout -----------------------------------------------------------------
stage=$(mktemp -d "$cache/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
datadir=/usr/share/lvm2-testsuite
execdir=/usr/libexec/lvm2-testsuite
mkdir -p "$stage$datadir/shell" "$stage$datadir/lib" "$stage$execdir"
cp "$src"/test/shell/*.sh "$stage$datadir/shell/"
lib=$stage$datadir/lib
# LIB_SHARED: scripts installed without their .sh, executable.
for f in check aux inittest utils get lvm-wrapper; do
    install -m 755 "$src/test/lib/$f.sh" "$lib/$f"
done
for f in "$src"/test/lib/flavour-*.sh; do
    b=$(basename "$f" .sh); install -m 644 "$f" "$lib/$b"
done
for f in mke2fs.conf test-corosync-conf test-dlm-conf test-sanlock-conf; do
    [ -f "$src/test/lib/$f" ] && install -m 644 "$src/test/lib/$f" "$lib/$f"
done
for f in "$src"/conf/*.profile; do install -m 644 "$f" "$lib/"; done
cut -f 1 -d ' ' <"$src/VERSION" >"$lib/version-expected"
cut -f 1 -d ' ' <"$src/VERSION_DM" >"$lib/dm-version-expected"

# lib/paths, as the Makefile's paths-common + paths-installed recipes write it, with the values
# Debian's build configures. DM_UDEV_SYNCHRONISATION is left empty: the guest runs no udev
# (the suite's ndev flavour), so there is no cookie to wait on.
{
    echo 'DM_UDEV_SYNCHRONISATION='
    echo 'LVMPOLLD_PIDFILE="/run/lvmpolld.pid"'
    echo 'DMEVENTD_PIDFILE="/run/dmeventd.pid"'
    for t in THIN CACHE; do
        lc=$(echo "$t" | tr 'A-Z' 'a-z')
        for op in CHECK DUMP REPAIR RESTORE; do
            opl=$(echo "$op" | tr 'A-Z' 'a-z')
            echo "LVM_TEST_${t}_${op}_CMD=\${LVM_TEST_${t}_${op}_CMD-/usr/sbin/${lc}_${opl}}"
        done
    done
    echo 'export DM_UDEV_SYNCHRONISATION THIN RAID CACHE\'
    echo ' LVM_TEST_THIN_CHECK_CMD LVM_TEST_THIN_DUMP_CMD LVM_TEST_THIN_REPAIR_CMD LVM_TEST_THIN_RESTORE_CMD\'
    echo ' LVM_TEST_CACHE_CHECK_CMD LVM_TEST_CACHE_DUMP_CMD LVM_TEST_CACHE_REPAIR_CMD LVM_TEST_CACHE_RESTORE_CMD'
    echo 'installed_testsuite=1'
    echo "export PATH=$execdir:$datadir/lib:$datadir/api:\$PATH"
} >"$lib/paths"

# Every command name links to lvm-wrapper (which runs `lvm NAME`), as the Makefile does for
# CMDS = lvm + tools/.commands.
cmds=$(gcc -E -P "$src/tools/cmdnames.h" 2>/dev/null |
       grep -Ev '^ *(|#.*|config|devtypes|dumpconfig|formats|fullreport|help|lastlog|lvmchange|lvpoll|pvdata|segtypes|systemid|tags|version) *$')
[ -n "$cmds" ] || die "no command names from tools/cmdnames.h"
for c in lvm $cmds; do ln -sf lvm-wrapper "$lib/$c"; done

# not.c: one binary, its behaviour chosen by argv[0].
gcc -O2 -static -o "$stage$execdir/not" "$src/test/lib/not.c" ||
    die "gcc -static lib/not.c failed (libc6-dev installed?)"
for l in invalid fail should; do ln -s not "$stage$execdir/$l"; done

tar -C "$stage" -czf "$tarball.tmp" --owner=0 --group=0 usr
mv "$tarball.tmp" "$tarball"
echo "$want" >"$cache/version"
echo "$stamp" >"$cache/stamp"
log "ready: $tarball (lvm2 $want, $(ls "$stage$datadir/shell" | wc -l) scripts)"
echo "$tarball"
