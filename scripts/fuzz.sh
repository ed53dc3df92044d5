#!/bin/sh
# Runs every cargo-fuzz target in fuzz/ for a bounded time.
#   scripts/fuzz.sh [seconds-per-target] [target...]
# Default: 60 s each, all targets. Works on the stable toolchain through
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags); installs cargo-fuzz from
# crates.io if it is missing. Seeds come from fuzz/seeds (real LVM2 PV
# images); the growing corpus lives in fuzz/corpus/<target> and crashes in
# fuzz/artifacts/<target>. Exits non-zero if any target crashed or failed
# to build; a target that does not build yet is reported and skipped.
set -u
secs=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz" || exit 1
targets=${*:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^rlvm-fuzz$')}

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz || exit 1
fi

# Seeds: decompressed LVM2 images. The mda target only needs the first
# 64 KiB (it zero-extends to the header's size), keeping inputs small.
seed() { # target file max-bytes
    mkdir -p "corpus/$1"
    [ -e "corpus/$1/seed-$2" ] || gzip -dc "seeds/$2.bin.gz" | head -c "$3" >"corpus/$1/seed-$2"
}
for f in orphan-pv vg-pv wrapped-pv; do
    seed label "$f" 2048
    seed mda "$f" 65536
done
mkdir -p corpus/text

status=0
summary=""
for t in $targets; do
    echo "=== fuzz target $t: ${secs}s" >&2
    if ! cargo fuzz build "$t" >"/tmp/rlvm-fuzz-build-$t.log" 2>&1; then
        echo "=== $t: build failed (log: /tmp/rlvm-fuzz-build-$t.log)" >&2
        grep -m5 -A3 '^error' "/tmp/rlvm-fuzz-build-$t.log" >&2
        summary="$summary $t:build-failed"
        status=1
        continue
    fi
    mkdir -p "corpus/$t" "artifacts/$t"
    if cargo fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1; then
        summary="$summary $t:ok"
    else
        summary="$summary $t:CRASH"
        status=1
    fi
done
echo "=== fuzz summary:$summary" >&2
exit $status
