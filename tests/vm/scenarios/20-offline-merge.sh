#!/bin/sh
# vm: disks=2 size=128M timeout=900
# lvconvert --merge --offline against the real kernel (rlvm copies the snapshot's chunks itself):
#  1. refusals change nothing: an open origin, another snapshot of the origin, an invalidated
#     snapshot (active, then inactive: the COW header says invalid), --offline with --onactivate;
#  2. at 4 KiB, 64 KiB and 512 KiB chunks, the same changes (a sequential run, scattered chunks
#     written in reverse order, the origin's last chunk; at 64 KiB also writes to the snapshot
#     itself) on two identical origins: one merged offline, one by the kernel (online merge).
#     Both must read as the snapshot did, byte for byte; the offline one shows LVM2's progress
#     lines; an active origin is deactivated and comes back active with a plain linear table,
#     an inactive one stays inactive; nothing of the snapshot is left in the kernel or the
#     metadata, and real LVM2 reads and vgck's the result.
. "$RLVM_TEST_LIB"
need_disks 2
d1=$(disk 1)
d2=$(disk 2)
fast_polling

md5_of() { md5sum <"$1" | cut -d' ' -f1; }
lv_field() { rlvm lvs -a --noheadings -o "$2" "vg0/$1" | tr -d ' '; }
dm_target() { dmsetup table "$1" 2>/dev/null | awk '{ print $3; exit }'; }
vg0_devices() { dmsetup ls | awk '$1 ~ /^vg0-/ { print $1 }' | sort | tr '\n' ' '; }
mda_sums() { for d in "$d1" "$d2"; do dd if="$d" bs=1M count=1 2>/dev/null | md5sum; done; }
expect_fail() { # RC WHAT TEXT CMD...
    _rc_want=$1 _what=$2 _text=$3
    shift 3
    echo "+ $* (must fail)"
    set +e
    "$@" >"$SCRATCH/out" 2>&1
    _rc=$?
    set -e
    cat "$SCRATCH/out"
    [ "$_rc" = "$_rc_want" ] || fail "$_what: exit $_rc, want $_rc_want"
    grep -qF -- "$_text" "$SCRATCH/out" || fail "$_what: output lacks '$_text'"
}
ORIGIN_MB=24
dd if=/dev/urandom of="$SCRATCH/a" bs=1M count=$ORIGIN_MB 2>/dev/null
dd if=/dev/urandom of="$SCRATCH/b" bs=1M count=8 2>/dev/null
sum_a=$(md5_of "$SCRATCH/a")

# make LV CHUNK_KIB: origin LV holding A, snapshot ${LV}s, then the changes (deterministic).
make() {
    run rlvm lvcreate -y -L ${ORIGIN_MB}M -n "$1" vg0
    dd if="$SCRATCH/a" of="/dev/vg0/$1" bs=1M oflag=direct 2>/dev/null
    run rlvm lvcreate -s -c "${2}k" -L 28M -n "${1}s" "vg0/$1"
    expect_eq "$1s chunk size" "$(lvm lvs --noheadings --units k -o chunk_size "vg0/${1}s" | tr -d ' ')" "${2}.00k"
    dd if="$SCRATCH/b" of="/dev/vg0/$1" bs=1M seek=4 count=8 oflag=direct conv=notrunc 2>/dev/null
    _i=63
    while [ $_i -ge 0 ]; do
        dd if="$SCRATCH/b" of="/dev/vg0/$1" bs=4k skip=$_i seek=$((5120 + _i * 3)) count=1 \
            oflag=direct conv=notrunc 2>/dev/null
        _i=$((_i - 1))
    done
    dd if="$SCRATCH/b" of="/dev/vg0/$1" bs=4k seek=$((ORIGIN_MB * 256 - 1)) count=1 oflag=direct conv=notrunc 2>/dev/null
    if [ "$2" = 64 ]; then
        # Writes to the snapshot are exceptions too: the merge must bring them.
        dd if="$SCRATCH/b" of="/dev/vg0/${1}s" bs=4k skip=7 seek=1000 count=5 oflag=direct conv=notrunc 2>/dev/null
    fi
    [ "$(md5_of "/dev/vg0/$1")" != "$sum_a" ] || fail "$1 did not change"
}

step "VG; refusals change nothing"
run rlvm pvcreate -y "$d1" "$d2"
run rlvm vgcreate vg0 "$d1" "$d2"
make r 4
before=$(mda_sums)
sleep 300 </dev/vg0/r &
holder=$!
sleep 0.5
expect_fail 5 "open origin" "Unable to merge snapshot vg0/rs offline: logical volume vg0/r is open." \
    rlvm lvconvert --merge --offline vg0/rs
kill $holder
wait $holder 2>/dev/null || true
expect_fail 3 "--offline with --onactivate" "cannot be used with" rlvm lvconvert --merge --offline --onactivate vg0/rs
expect_eq "rs still a plain active snapshot" "$(lv_field rs lv_attr)" "swi-a-s---"
expect_eq "r still snapshot-origin" "$(dm_target vg0-r)" "snapshot-origin"
expect_eq "metadata unchanged by the refusals" "$(mda_sums)" "$before"
run rlvm lvcreate -s -L 8M -n rs2 vg0/r
before=$(mda_sums)
expect_fail 5 "other snapshot" "origin vg0/r has other snapshots (rs2)" rlvm lvconvert --merge --offline vg0/rs
expect_eq "metadata unchanged by the refusal" "$(mda_sums)" "$before"
run rlvm lvremove -y vg0/rs2
# An invalidated snapshot: 4 MiB COW, 8 MiB of new origin data.
run rlvm lvcreate -s -L 4M -n inv vg0/r
run rlvm lvremove -y vg0/rs
dd if=/dev/urandom of=/dev/vg0/r bs=1M count=8 oflag=direct conv=notrunc 2>/dev/null
expect_eq "inv is invalid" "$(dmsetup status vg0-inv | awk '{ print $4 }')" "Invalid"
before=$(mda_sums)
expect_fail 5 "invalid, active" "Unable to merge invalidated snapshot LV vg0/inv." rlvm lvconvert --merge --offline vg0/inv
run rlvm vgchange -an vg0
expect_fail 5 "invalid, inactive (COW header)" "Unable to merge invalidated snapshot LV vg0/inv." \
    rlvm lvconvert --merge --offline vg0/inv
expect_eq "metadata unchanged by the invalid refusals" "$(mda_sums)" "$before"
expect_eq "inactive after the refusal" "$(vg0_devices)" ""
run rlvm lvremove -y vg0/inv
run rlvm lvremove -y vg0/r

for chunk in 4 64 512; do
    step "chunk ${chunk} KiB: offline merge of o, kernel merge of k, same changes"
    make o "$chunk"
    make k "$chunk"
    want=$(md5_of /dev/vg0/os)
    expect_eq "the two snapshots agree" "$(md5_of /dev/vg0/ks)" "$want"
    [ "$chunk" = 64 ] || expect_eq "os holds A" "$want" "$sum_a"
    active=y
    if [ "$chunk" = 64 ]; then
        run rlvm lvchange -an vg0/o
        active=n
    fi
    if [ $active = n ]; then
        # Inactive origin, only snapshot, no -b/--onactivate: a plain merge is done offline now.
        rlvm lvconvert --merge -i 1 vg0/os >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "automatic offline merge"; }
        grep -qF "Origin of vg0/os is not active: merging offline now" "$SCRATCH/out" || fail "no automatic offline line"
    else
        rlvm lvconvert --merge --offline -i 1 vg0/os >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "offline merge"; }
    fi
    cat "$SCRATCH/out"
    grep -qF "Merging of volume vg0/os started." "$SCRATCH/out" || fail "no start line"
    grep -q "^  vg0/o: Merged: 100.00%$" "$SCRATCH/out" || fail "no LVM2-style progress line"
    grep -qF "Merge of snapshot into logical volume vg0/o has finished." "$SCRATCH/out" || fail "no finish line"
    grep -qF 'Logical volume "os" successfully removed.' "$SCRATCH/out" || fail "no removal line"
    if [ $active = n ]; then
        expect_eq "inactive origin stays inactive" "$(lv_field o lv_attr)" "-wi-------"
        run rlvm lvchange -ay vg0/o
    fi
    expect_eq "o after the offline merge" "$(lv_field o lv_attr)" "-wi-a-----"
    expect_eq "o table" "$(dm_target vg0-o)" "linear"
    expect_eq "o reads as its snapshot did" "$(md5_of /dev/vg0/o)" "$want"
    rlvm lvconvert --merge -i 1 vg0/ks >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; fail "kernel merge"; }
    expect_eq "k (kernel merge) reads as its snapshot did" "$(md5_of /dev/vg0/k)" "$want"
    expect_eq "offline and kernel merge agree" "$(md5_of /dev/vg0/o)" "$(md5_of /dev/vg0/k)"
    expect_eq "vg0 devices" "$(vg0_devices)" "vg0-k vg0-o "
    expect_eq "rlvm lvs" "$(rlvm lvs -a --noheadings -o lv_name vg0 | tr -d ' ' | sort | tr '\n' ' ')" "k o "
    expect_eq "LVM2 lvs" "$(lvm lvs -a --noheadings -o lv_name,lv_attr vg0 | tr -s ' ' | sort | tr '\n' '|')" \
        " k -wi-a-----| o -wi-a-----|"
    run lvm vgck vg0
    run rlvm lvremove -y vg0/o vg0/k
done
step "offline merge scenario OK"
