#!/bin/sh
# Power cut in the middle of `lvconvert --merge --offline`, for tests/vm.rs
# `offline_merge_power_cut`. Each boot:
#  - RLVM_RECOVER=rlvm|lvm2: the previous boot lost power during an offline merge. Say where
#    the cut landed (merge flag committed and snapshot still there = mid-copy; snapshot gone =
#    after the finishing commit), then let an activation finish the merge: rlvm's vgchange -ay
#    (its background poller) or LVM2's (its lvpoll); the origin must hold the snapshot's data
#    (the pre-snapshot bytes), the origin a linear table, LVM2's vgck clean;
#  - RLVM_CUT=1: a fresh VG, a 40 MiB origin, a 4 KiB-chunk snapshot, 24 MiB of changes
#    (sequential and scattered), `lvconvert --merge --offline` in the background (with small
#    copy batches, so the copy lasts seconds); once it says it started, a random delay, then
#    POWER-CUT-NOW (the harness kills qemu on that line while the copy runs on).
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
fast_polling
md5_of() { md5sum <"$1" | cut -d' ' -f1; }
pattern() { dd if=/dev/zero bs=1M count="$2" 2>/dev/null | tr '\000' "$1"; }

if [ -n "${RLVM_RECOVER:-}" ]; then
    step "recover with $RLVM_RECOVER's activation"
    sum_a=$(pattern a 40 | md5sum | cut -d' ' -f1)
    if rlvm lvs vg0/snap >/dev/null 2>&1; then
        expect_eq "snapshot merging after the cut" "$(rlvm lvs -a --noheadings -o lv_attr vg0/snap | tr -d ' ')" "Swi---s---"
        echo "CUT LANDED: mid-merge (merge flag committed, snapshot not yet removed)"
    else
        echo "CUT LANDED: after the finishing commit"
    fi
    case $RLVM_RECOVER in
        rlvm) run rlvm vgchange -ay vg0 ;;
        lvm2) run lvm vgchange -ay vg0 ;;
    esac
    n=0
    while rlvm lvs vg0/snap >/dev/null 2>&1; do
        n=$((n + 1)); [ $n -le 600 ] || fail "snapshot not merged 120 s after recovery"; sleep 0.2
    done
    # LVM2's poller may still be replacing the table when the snapshot leaves the metadata.
    n=0
    while [ "$(dmsetup ls | awk '$1 ~ /^vg0-/ {print $1}' | tr '\n' ' ')" != "vg0-origin " ]; do
        n=$((n + 1)); [ $n -le 100 ] || fail "devices left: $(dmsetup ls)"; sleep 0.2
    done
    expect_eq "origin holds the snapshot's data" "$(md5_of /dev/vg0/origin)" "$sum_a"
    expect_eq "origin table" "$(dmsetup table vg0-origin | awk '{print $3}')" "linear"
    run lvm vgck vg0
    run rlvm vgremove -ff vg0
fi

if [ -n "${RLVM_CUT:-}" ]; then
    step "offline merge, power cut at a random point"
    run rlvm pvcreate -ff -y "$d1" "$d2"
    run rlvm vgcreate vg0 "$d1" "$d2"
    run rlvm lvcreate -L 40M -n origin vg0
    pattern a 40 | dd of=/dev/vg0/origin bs=1M oflag=direct 2>/dev/null
    run rlvm lvcreate -s -c 4k -L 32M -n snap vg0/origin
    pattern b 24 | dd of=/dev/vg0/origin bs=1M seek=8 oflag=direct conv=notrunc 2>/dev/null
    i=0
    while [ $i -lt 32 ]; do
        pattern c 1 | dd of=/dev/vg0/origin bs=4k count=1 seek=$((10239 - i * 5)) oflag=direct conv=notrunc 2>/dev/null
        i=$((i + 1))
    done
    delay=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ${RLVM_CUT_MAX_MS:-1000}))
    # Small batches (4 KiB: one read and one write per chunk, 2 in flight) stretch the copy
    # to seconds under emulation, so the cut lands in it rather than after it.
    RLVM_OFFLINE_BATCH_KIB=4 RLVM_OFFLINE_THREADS=2 \
        rlvm lvconvert --merge --offline -i 1 vg0/snap >"$SCRATCH/out" 2>&1 &
    n=0
    until grep -q "started" "$SCRATCH/out"; do
        n=$((n + 1)); [ $n -le 3000 ] || { cat "$SCRATCH/out"; fail "the offline merge did not start"; }
        sleep 0.01
    done
    sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
    echo "cutting ${delay} ms after the start: $(tail -n 1 "$SCRATCH/out")"
    echo "POWER-CUT-NOW"
    wait
    echo "the merge ended before the cut: $(cat "$SCRATCH/out")"
    sleep 600
    fail "the harness should have cut the power"
fi
step "boot OK"
