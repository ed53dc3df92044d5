# bench-lib.sh - what scripts/bench-*.sh share: sourced (bash), never run. Boots the test VM
# (qemu TCG, the stock Debian kernel of scripts/vm/build-image.sh) with one guest script and
# scratch disks, the way tests/vm/harness.rs does for the tests.
#
#   . scripts/vm/bench-lib.sh
#   bench_init NAME              packages, $tmp (removed on exit), rlvm built -> $RLVM
#                                (RLVM=path skips the build; BENCH_PROFILE=release|debug)
#   bench_mbench                 tests/vm/bench/mbench.c built -> $tmp/mbench
#   bench_boot NAME SCENARIO DISKS DISK_MB MEMORY_MB [pack-overlay args...]
#                                runs the guest script; $log is the console log (BENCH_LOG
#                                keeps it); exits unless the guest script exited 0
# Environment: BENCH_SMP (guest CPUs, 2), BENCH_TIMEOUT (seconds, 1800; times
# RLVM_VM_TIMEOUT_SCALE).

say() { echo "$BENCH_NAME: $*" >&2; }

bench_init() {
    BENCH_NAME=$1
    if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null ||
        ! PATH=$PATH:/usr/sbin:/sbin command -v lvm >/dev/null || ! command -v cpio >/dev/null; then
        if [ "$(id -u)" = 0 ]; then
            say "installing the packages the VM needs"
            scripts/install-deps.sh
        else
            say "qemu, busybox-static, cpio or lvm2 missing: run scripts/install-deps.sh as root"
            exit 1
        fi
    fi
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    if [ -z "${RLVM:-}" ]; then
        local profile=${BENCH_PROFILE:-release}
        say "building rlvm (scripts/build-release.sh $profile: static where glibc allows)"
        RLVM=$(scripts/build-release.sh "$profile")
    fi
    [ -x "$RLVM" ] || { say "no rlvm at $RLVM"; exit 1; }
}

bench_mbench() {
    command -v gcc >/dev/null || { say "gcc missing (apt-get install gcc libc6-dev)"; exit 1; }
    gcc -O2 -Wall -static -o "$tmp/mbench" tests/vm/bench/mbench.c 2>/dev/null ||
        gcc -O2 -Wall -o "$tmp/mbench" tests/vm/bench/mbench.c
}

bench_boot() {
    local name=$1 scenario=$2 disks=$3 disk_mb=$4 memory=$5 image limit qemu_rc rc i
    shift 5
    say "preparing the test VM image"
    image=$(scripts/vm/build-image.sh --quiet | tail -n 1)
    scripts/vm/pack-overlay.sh "$tmp/overlay.cpio.gz" --name "$name" --scenario "$scenario" \
        --rlvm "$RLVM" --env "RLVM_DISK_COUNT=$disks" "$@"
    cat "$image/base.cpio.gz" "$tmp/overlay.cpio.gz" >"$tmp/initrd"
    local drives=()
    for i in $(seq 0 $((disks - 1))); do
        truncate -s "${disk_mb}M" "$tmp/disk$i.img"
        drives+=(-drive "format=raw,if=virtio,cache=writeback,file=$tmp/disk$i.img")
    done
    limit=$(awk -v t="${BENCH_TIMEOUT:-1800}" -v s="${RLVM_VM_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", t * s }')
    log=${BENCH_LOG:-$tmp/console.log}
    say "booting the VM (software emulation; a few minutes)"
    set +e
    timeout --foreground "$limit" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$memory" \
        -smp "${BENCH_SMP:-2}" -nographic -no-reboot -nic none -kernel "$image/vmlinuz" \
        -initrd "$tmp/initrd" -append "console=ttyS0 panic=-1 loglevel=1 quiet no_timer_check norandmaps" \
        "${drives[@]}" </dev/null 2>&1 |
        tr -d '\r' | tee "$log" |
        sed -u -n '/RLVM-SCENARIO-START/,$p' | grep --line-buffered -v 'RLVM-SCENARIO-\|^\[ *[0-9.]*\] '
    qemu_rc=${PIPESTATUS[0]}
    set -e
    rc=$(sed -n "s/.*RLVM-SCENARIO-RESULT $name rc=\([0-9]*\).*/\1/p" "$log" | tail -n 1)
    if [ -z "$rc" ]; then
        say "the VM ended without a result (qemu/timeout status $qemu_rc); console:"
        tail -n 40 "$log" >&2
        exit 1
    fi
    [ "$rc" = 0 ] || { say "FAILED (the guest script exited $rc)"; exit "$rc"; }
}
