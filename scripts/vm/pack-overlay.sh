#!/usr/bin/env bash
# Packs the per-boot archive of the test VM, unpacked by the guest kernel over base.cpio.gz
# (see build-image.sh): the scenario to run, the environment it gets, rlvm and any other host
# files or executables (with their shared libraries).
#
# Usage: scripts/vm/pack-overlay.sh OUT.cpio.gz --name NAME --scenario FILE
#            [--rlvm PATH]           rlvm, at /opt/rlvm/bin/rlvm (first on PATH) and at PATH
#                                    (so env!("CARGO_BIN_EXE_rlvm") holds in the guest, too)
#            [--bin HOST[:GUEST]]... an executable plus its libraries (GUEST defaults to HOST)
#            [--file HOST:GUEST]...  a plain file
#            [--env KEY=VALUE]...    exported before the scenario runs
# Executables lose their debug info on the way in unless RLVM_VM_STRIP=0.
# Scenarios find the helpers of tests/vm/lib.sh at $RLVM_TEST_LIB.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/vm/copy-bin.sh
. "$here/copy-bin.sh"
COPY_BIN_STRIP=${RLVM_VM_STRIP:-1}

[ $# -ge 1 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
out=$1; shift
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/rlvm"
env_file=$root/rlvm/env
name="" scenario=""
quote() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }

while [ $# -gt 0 ]; do
    case $1 in
        --name) name=$2 ;;
        --scenario) scenario=$2 ;;
        --rlvm)
            copy_bin "$root" "$2" /opt/rlvm/bin/rlvm
            if [ "$2" != /opt/rlvm/bin/rlvm ]; then
                mkdir -p "$root/$(dirname "$2")"
                ln -sf /opt/rlvm/bin/rlvm "$root/$2"
            fi ;;
        --bin) copy_bin "$root" "${2%%:*}" "${2#*:}" ;;
        --file)
            mkdir -p "$root/$(dirname "${2#*:}")"
            cp -L "${2%%:*}" "$root/${2#*:}" ;;
        --env)
            case $2 in *=*) ;; *) echo "pack-overlay: --env wants KEY=VALUE, got $2" >&2; exit 2 ;; esac
            echo "export ${2%%=*}=$(quote "${2#*=}")" >>"$env_file" ;;
        *) echo "pack-overlay: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ -n "$name" ] && [ -n "$scenario" ] || { echo "pack-overlay: --name and --scenario are required" >&2; exit 2; }

cp "$scenario" "$root/rlvm/scenario"
chmod 755 "$root/rlvm/scenario"
cp "$repo/tests/vm/lib.sh" "$root/rlvm/lib.sh"
{ echo "export RLVM_SCENARIO_NAME=$(quote "$name")"
  echo "export RLVM_TEST_LIB=/rlvm/lib.sh"; } >>"$env_file"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
