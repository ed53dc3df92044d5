#!/bin/sh
# vm: disks=3 size=64M timeout=600
# rlvm with a real udevd (Debian's systemd-udevd and the dmsetup/lvm2 rules: 55-dm,
# 56-lvm, 60-persistent-storage-dm, 69-lvm, 95-dm-notify) and lvm.conf udev_sync = 1,
# udev_rules = 1: every command finishes in bounded time (the cookie 95-dm-notify completes),
# udev, not rlvm, makes /dev/mapper/<vg>-<lv> and /dev/<vg>/<lv> (links to ../dm-N) with
# LVM2's udev properties, the -real/-cow layers of a snapshot get no /dev/<vg> link and carry
# the DISABLE flags LVM2 gives them (compared with LVM2 itself on vg1), lvremove,
# vgchange -an/-ay and --noudevsync leave /dev without dangling links, and no cookie
# (SysV semaphore) is left behind. Prints the time each command took.
# A root filesystem on an origin, simulated: udev's 95-dm-notify helper is made to read the
# origin (O_DIRECT) before it completes a cookie, as a helper read from a root on that origin
# would; lvcreate -s, lvconvert --merge (start and finish), lvrename and lvremove of a
# snapshot must then never wait for udev while the origin is suspended (they would hang:
# the scenario's 60 s limit fails them), and the names must be right when each returns.
# Where rlvm's /dev or udev flags differ from what LVM2 does here, the scenario goes on to the
# end (to show every difference in one run) and then fails, listing them ("RLVM DEVIATION").
# The image has udev only when the host had Debian's `udev` package (scripts/install-deps.sh):
# without it this scenario says SKIPPED and passes.
. "$RLVM_TEST_LIB"
need_disks 3
d1=$(disk 1)
d2=$(disk 2)
d3=$(disk 3)

UDEVD=/lib/systemd/systemd-udevd
if [ ! -x "$UDEVD" ] || ! command -v udevadm >/dev/null; then
    echo "*** SKIPPED 17-udev: the image has no udev (install Debian's udev package on the host" \
        "and rebuild: scripts/install-deps.sh, scripts/vm/build-image.sh)"
    exit 0
fi
for r in 55-dm 56-lvm 60-persistent-storage-dm 69-lvm 95-dm-notify; do
    [ -f "/lib/udev/rules.d/$r.rules" ] || fail "/lib/udev/rules.d/$r.rules missing from the image"
done
[ -x /sbin/dmsetup ] || fail "/sbin/dmsetup (what the rules run) missing"

# /init disables udev for libdm (no udevd there); this scenario runs one.
unset DM_DISABLE_UDEV
# udevadm info would start a pager on the serial console.
export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0
UC='activation { udev_sync = 1 udev_rules = 1 verify_udev_operations = 0 }'
TIMINGS=$SCRATCH/timings
DEVIATIONS=$SCRATCH/deviations
: >"$TIMINGS"
: >"$DEVIATIONS"

# deviation TEXT: rlvm does not do what LVM2 does; noted, the scenario fails at its end.
deviation() {
    echo "RLVM DEVIATION: $*"
    echo "- $*" >>"$DEVIATIONS"
}

now() { cut -d' ' -f1 /proc/uptime; }

# hang_report: what a stuck cookie wait looks like, then release it so the VM can go on.
hang_report() {
    echo "--- dmsetup udevcookies:"
    dmsetup udevcookies 2>&1 || true
    echo "--- dmsetup info -c:"
    dmsetup info -c 2>&1 || true
    echo "--- udev queue:"
    ls /run/udev 2>&1 || true
    echo "--- kernel log:"
    dmesg | tail -n 40
    dmsetup udevcomplete_all -y 2>&1 || true
}

# timed LABEL CMD...: run CMD under `timeout 60`; a hang (killed by the timeout) or a
# failure ends the scenario; the elapsed time goes to $TIMINGS.
timed() {
    _label=$1
    shift
    echo "+ $*"
    _t0=$(now)
    _rc=0
    timeout 60 "$@" || _rc=$?
    _t1=$(now)
    _ms=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
    printf '%-44s %6d ms  rc=%d\n' "$_label" "$_ms" "$_rc" >>"$TIMINGS"
    echo "  ($_label: rc=$_rc, $_ms ms)"
    if [ "$_ms" -ge 59000 ] || [ "$_rc" = 124 ] || [ "$_rc" = 143 ]; then
        hang_report
        cat "$TIMINGS"
        fail "HUNG (killed after 60 s): $*"
    fi
    [ "$_rc" = 0 ] || fail "command failed (rc=$_rc): $*"
}

# prop DEV KEY: one udev property of DEV ("" when unset).
prop() {
    udevadm info --query=property --name="$1" 2>/dev/null | sed -n "s/^$2=//p"
}
# dmnode NAME: dm-N of dm device NAME.
dmnode() {
    echo "dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')"
}
# links_of NAME: udev's symlinks of dm device NAME, its VG name as VG, sorted, one a line
# (dm-uuid links left out, filesystem UUIDs as FS-UUID: they differ between VGs).
links_of() {
    udevadm info --query=symlink --name="/dev/$(dmnode "$1")" | tr ' ' '\n' |
        grep -v '^disk/by-id/dm-uuid-' | grep -v '^$' |
        sed -e 's/vg[01]/VG/g' -e 's|^disk/by-uuid/.*|disk/by-uuid/FS-UUID|' | sort | tr '\n' ' '
}
# flags_of NAME: the udev flags the dm and LVM rules keep for NAME, one KEY=VALUE a line.
FLAG_KEYS='DM_UDEV_PRIMARY_SOURCE_FLAG DM_UDEV_DISABLE_DM_RULES_FLAG DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG DM_UDEV_DISABLE_DISK_RULES_FLAG DM_UDEV_DISABLE_OTHER_RULES_FLAG DM_UDEV_LOW_PRIORITY_FLAG DM_UDEV_RULES_VSN DM_LV_LAYER DM_NOSCAN DM_ACTIVATION DM_SUSPENDED'
flags_of() {
    _p=$(udevadm info --query=property --name="/dev/$(dmnode "$1")")
    for k in $FLAG_KEYS; do
        echo "$k=$(echo "$_p" | sed -n "s/^$k=//p")"
    done | tr '\n' ' '
}

# check_visible VG LV: udev made both names of the LV (links to ../dm-N), with LVM's properties.
check_visible() {
    _n=$1-$2
    _dm=$(dmnode "$_n")
    [ -L "/dev/mapper/$_n" ] || fail "/dev/mapper/$_n is not a udev symlink ($(ls -l "/dev/mapper/$_n" 2>&1))"
    expect_eq "/dev/mapper/$_n ->" "$(readlink "/dev/mapper/$_n")" "../$_dm"
    [ -L "/dev/$1/$2" ] || fail "/dev/$1/$2 missing ($(ls -l "/dev/$1" 2>&1))"
    expect_eq "/dev/$1/$2 ->" "$(readlink "/dev/$1/$2")" "../$_dm"
    [ -b "/dev/$1/$2" ] || fail "/dev/$1/$2 does not resolve to a block device"
    expect_eq "DM_NAME of $_n" "$(prop "/dev/mapper/$_n" DM_NAME)" "$_n"
    expect_eq "DM_UUID of $_n" "$(prop "/dev/mapper/$_n" DM_UUID)" \
        "$(dmsetup info -c --noheadings -o uuid "$_n")"
    expect_eq "DM_VG_NAME of $_n" "$(prop "/dev/mapper/$_n" DM_VG_NAME)" "$1"
    expect_eq "DM_LV_NAME of $_n" "$(prop "/dev/mapper/$_n" DM_LV_NAME)" "$2"
    expect_eq "DM_UDEV_RULES_VSN of $_n" "$(prop "/dev/mapper/$_n" DM_UDEV_RULES_VSN)" 2
    [ -L "/dev/disk/by-id/dm-name-$_n" ] || fail "/dev/disk/by-id/dm-name-$_n missing"
}

# check_layer VG NAME LAYER: a layer device (-real, -cow): no /dev/VG link, no by-id links,
# the dm rules' DISABLE flags set.
check_layer() {
    _n=$1-$2-$3
    dmsetup info "$_n" >/dev/null 2>&1 || fail "no dm device $_n"
    [ ! -e "/dev/$1/$2-$3" ] && [ ! -L "/dev/$1/$2-$3" ] || fail "layer $_n has a /dev/$1 link"
    [ ! -L "/dev/disk/by-id/dm-name-$_n" ] || fail "layer $_n has /dev/disk/by-id/dm-name-$_n"
    expect_eq "DM_LV_LAYER of $_n" "$(prop "/dev/$(dmnode "$_n")" DM_LV_LAYER)" "$3"
    for k in DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG DM_UDEV_DISABLE_DISK_RULES_FLAG \
             DM_UDEV_DISABLE_OTHER_RULES_FLAG; do
        expect_eq "$k of $_n" "$(prop "/dev/$(dmnode "$_n")" "$k")" 1
    done
}

# check_gone VG LV...: neither name of the LVs, nor a by-id link, is left.
check_gone() {
    _vg=$1
    shift
    for _lv in "$@"; do
        for _p in "/dev/mapper/$_vg-$_lv" "/dev/$_vg/$_lv" "/dev/disk/by-id/dm-name-$_vg-$_lv"; do
            [ ! -e "$_p" ] && [ ! -L "$_p" ] || fail "$_p left behind ($(ls -l "$_p" 2>&1))"
        done
    done
}
# left_behind WHAT VG LV: like check_gone VG LV, but a leftover is a deviation, shown and then
# removed so the scenario can go on.
left_behind() {
    for _p in "/dev/mapper/$2-$3" "/dev/$2/$3"; do
        if [ -e "$_p" ] || [ -L "$_p" ]; then
            deviation "$1: $_p left behind: $(ls -l "$_p" 2>&1)"
            rm -f "$_p"
        fi
    done
    rmdir "/dev/$2" 2>/dev/null || true
}
# by_uuid_target UUID: the dm device /dev/disk/by-uuid/UUID leads to.
by_uuid_target() {
    readlink "/dev/disk/by-uuid/$1" | sed 's|.*/||'
}

# no_dangling: no symlink under /dev points nowhere.
no_dangling() {
    _bad=$(find /dev -type l 2>/dev/null | while read -r l; do [ -e "$l" ] || echo "$l -> $(readlink "$l")"; done)
    [ -z "$_bad" ] || fail "dangling links in /dev ($1):
$_bad"
}

# no_cookies: no dm udev cookie (SysV semaphore) is left.
no_cookies() {
    _c=$(dmsetup udevcookies 2>&1 | tail -n +2)
    [ -z "$_c" ] || fail "udev cookies left ($1): $_c"
}

settle() {
    _t0=$(now)
    udevadm settle --timeout=30 || fail "udevadm settle timed out"
    _ms=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }')
    printf '%-44s %6d ms\n' "  udevadm settle ($1)" "$_ms" >>"$TIMINGS"
}

step "start udevd, coldplug"
run "$UDEVD" --daemon --resolve-names=early
i=0
while [ ! -e /run/udev/control ]; do
    i=$((i + 1))
    [ $i -le 50 ] || fail "udevd did not create /run/udev/control"
    sleep 0.1
done
udevadm --version
timed "udevadm trigger --action=add (subsystems)" udevadm trigger --type=subsystems --action=add
timed "udevadm trigger --action=add (devices)" udevadm trigger --type=devices --action=add
settle coldplug
udevadm info --query=all --name="$d1"
expect_eq "DEVNAME of $d1 in the udev db" "$(prop "$d1" DEVNAME)" "$d1"

step "LVM2 reference on vg1 ($d3): lvcreate, lvcreate -s under udev"
timed "lvm pvcreate" lvm pvcreate --config "$UC" -y "$d3"
timed "lvm vgcreate" lvm vgcreate --config "$UC" vg1 "$d3"
timed "lvm lvcreate -L 8M" lvm lvcreate --config "$UC" -L 8M -n lv vg1
run mke2fs -q /dev/vg1/lv
# udev's inotify watch may not have fired yet: ask for the change event.
udevadm trigger --action=change /dev/vg1/lv 2>/dev/null || true
settle "mke2fs vg1/lv"
uuid1=$(prop /dev/vg1/lv ID_FS_UUID)
[ -n "$uuid1" ] || fail "blkid (udev) found no filesystem UUID on vg1/lv after mke2fs"
timed "lvm lvcreate -s -L 8M" lvm lvcreate --config "$UC" -s -L 8M -n snap vg1/lv
settle "lvm snapshot"
for n in lv snap lv-real snap-cow; do
    echo "LVM2 vg1-$n: $(flags_of "vg1-$n")"
    echo "LVM2 vg1-$n links: $(links_of "vg1-$n")"
done
check_visible vg1 lv
check_visible vg1 snap
check_layer vg1 lv real
check_layer vg1 snap cow
expect_eq "LVM2: /dev/disk/by-uuid/$uuid1 (origin and snapshot have it; the snapshot's link priority is low)" \
    "$(by_uuid_target "$uuid1")" "$(dmnode vg1-lv)"
# (-Zn: LVM2 does not wait for the node it leaves to udev, so it could not wipe the LV's start:
# "/dev/vg1/ns: not found: device not cleared".)
echo "LVM2 --noudevsync, for comparison:"
timed "lvm lvcreate --noudevsync -Zn -L 8M" lvm lvcreate --config "$UC" --noudevsync -Zn -L 8M -n ns vg1
settle "lvm lvcreate --noudevsync"
ls -l /dev/mapper/vg1-ns /dev/vg1/ns
check_visible vg1 ns
timed "lvm lvchange -an (sync) of that LV" lvm lvchange --config "$UC" -an vg1/ns
check_gone vg1 ns

step "rlvm pvcreate/vgcreate vg0 on $d1 $d2"
timed "rlvm pvcreate" rlvm pvcreate --config "$UC" -y "$d1" "$d2"
timed "rlvm vgcreate" rlvm vgcreate --config "$UC" vg0 "$d1" "$d2"
settle "rlvm vgcreate"
expect_eq "ID_FS_TYPE of $d1 (blkid in 60-persistent-storage)" "$(prop "$d1" ID_FS_TYPE)" LVM2_member

step "rlvm lvcreate -L 8M -n lv vg0: udev makes the names before rlvm returns"
timed "rlvm lvcreate -L 8M" rlvm lvcreate --config "$UC" -L 8M -n lv vg0
check_visible vg0 lv
settle "rlvm lvcreate"
udevadm info --query=all --name=/dev/mapper/vg0-lv
check_visible vg0 lv
expect_eq "DM_LV_LAYER of vg0-lv" "$(prop /dev/mapper/vg0-lv DM_LV_LAYER)" ""
expect_eq "DM_UDEV_PRIMARY_SOURCE_FLAG of vg0-lv" "$(prop /dev/mapper/vg0-lv DM_UDEV_PRIMARY_SOURCE_FLAG)" 1
run mke2fs -q /dev/vg0/lv
# udev's inotify watch may not have fired yet: ask for the change event.
udevadm trigger --action=change /dev/vg0/lv 2>/dev/null || true
settle "mke2fs vg0/lv"
uuid0=$(prop /dev/vg0/lv ID_FS_UUID)
[ -n "$uuid0" ] || fail "blkid (udev) found no filesystem UUID on vg0/lv after mke2fs"
dd if=/dev/vg0/lv of="$SCRATCH/data" bs=1M iflag=direct 2>/dev/null

step "rlvm lvcreate -s -L 8M -n snap vg0/lv: layers hidden, flags as LVM2's"
timed "rlvm lvcreate -s -L 8M" rlvm lvcreate --config "$UC" -s -L 8M -n snap vg0/lv
check_visible vg0 lv
check_visible vg0 snap
settle "rlvm lvcreate -s"
dmsetup info -c
ls -l /dev/mapper /dev/vg0
check_visible vg0 lv
check_visible vg0 snap
check_layer vg0 lv real
check_layer vg0 snap cow
expect_eq "/dev/vg0" "$(ls /dev/vg0 | tr '\n' ' ')" "lv snap "
diffs=0
for n in lv snap lv-real snap-cow; do
    r=$(flags_of "vg0-$n")
    l=$(flags_of "vg1-$n")
    echo "rlvm vg0-$n: $r"
    if [ "$r" != "$l" ]; then
        deviation "udev flags of vg0-$n (rlvm) are not those of vg1-$n (LVM2):
    rlvm: $r
    LVM2: $l"
        diffs=$((diffs + 1))
    fi
    expect_eq "udev links of vg0-$n (as LVM2's vg1-$n)" "$(links_of "vg0-$n")" "$(links_of "vg1-$n")"
done
echo "udev flags differing from LVM2's: $diffs device(s)"
t=$(by_uuid_target "$uuid0")
echo "/dev/disk/by-uuid/$uuid0 -> $t (origin $(dmnode vg0-lv), snapshot $(dmnode vg0-snap))"
[ "$t" = "$(dmnode vg0-lv)" ] ||
    deviation "/dev/disk/by-uuid/$uuid0 leads to $t, the snapshot, not to the origin $(dmnode vg0-lv) (LVM2: origin)"
run cmp /dev/vg0/snap "$SCRATCH/data"
no_dangling "after lvcreate -s"

step "rlvm lvremove -y vg0/snap: the snapshot and its layers leave /dev"
timed "rlvm lvremove -y snap" rlvm lvremove --config "$UC" -y vg0/snap
check_gone vg0 snap snap-cow lv-real
check_visible vg0 lv
settle "rlvm lvremove snap"
check_gone vg0 snap snap-cow lv-real
check_visible vg0 lv
expect_eq "/dev/vg0" "$(ls /dev/vg0 | tr '\n' ' ')" "lv "
no_dangling "after lvremove of the snapshot"
run cmp /dev/vg0/lv "$SCRATCH/data"

step "rlvm lvrename vg0 lv lv2"
timed "rlvm lvrename" rlvm lvrename --config "$UC" vg0 lv lv2
settle "rlvm lvrename"
check_gone vg0 lv
check_visible vg0 lv2
no_dangling "after lvrename"
timed "rlvm lvrename back" rlvm lvrename --config "$UC" vg0 lv2 lv
settle "rlvm lvrename back"
check_gone vg0 lv2
check_visible vg0 lv

step "rlvm vgchange -an vg0 / -ay vg0, with a snapshot again"
timed "rlvm lvcreate -s (again)" rlvm lvcreate --config "$UC" -s -L 8M -n snap vg0/lv
timed "rlvm vgchange -an" rlvm vgchange --config "$UC" -an vg0
check_gone vg0 lv snap lv-real snap-cow
[ ! -d /dev/vg0 ] || [ -z "$(ls /dev/vg0)" ] || fail "/dev/vg0 still has: $(ls /dev/vg0)"
settle "rlvm vgchange -an"
check_gone vg0 lv snap lv-real snap-cow
expect_eq "vg0 dm devices after -an" "$(dmsetup ls | awk '$1 ~ /^vg0-/' | wc -l)" 0
no_dangling "after vgchange -an"
timed "rlvm vgchange -ay" rlvm vgchange --config "$UC" -ay vg0
check_visible vg0 lv
check_visible vg0 snap
settle "rlvm vgchange -ay"
check_visible vg0 lv
check_visible vg0 snap
check_layer vg0 lv real
check_layer vg0 snap cow
run cmp /dev/vg0/lv "$SCRATCH/data"
run cmp /dev/vg0/snap "$SCRATCH/data"
timed "rlvm lvremove -y snap (again)" rlvm lvremove --config "$UC" -y vg0/snap
settle "rlvm lvremove snap again"
no_dangling "after the second lvremove"
no_cookies "after the udev_sync commands"

step "udev's helper needs the origin's blocks (a root on vg0/lv): no wait while it is suspended"
origin_dev=/dev/$(dmnode vg0-lv)
blocker=$SCRATCH/dm-notify-reads-origin
cat >"$blocker" <<EOF
#!/bin/sh
# 95-dm-notify as it behaves with the root on the origin: its helper needs the origin's blocks
# (an O_DIRECT read: no page cache), so it waits while the origin is suspended.
dd if=$origin_dev of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null
exec /sbin/dmsetup udevcomplete "\$1"
EOF
chmod 755 "$blocker"
mkdir -p /etc/udev/rules.d
# Same name: replaces /lib/udev/rules.d/95-dm-notify.rules.
echo "SUBSYSTEM==\"block\", KERNEL==\"dm-[0-9]*\", ENV{DM_COOKIE}==\"?*\", RUN+=\"$blocker \$env{DM_COOKIE}\"" \
    >/etc/udev/rules.d/95-dm-notify.rules
cat /etc/udev/rules.d/95-dm-notify.rules
run udevadm control --reload
# The helper does block on a suspended origin (else this step proves nothing).
run dmsetup suspend vg0-lv
"$blocker" 0 &
bpid=$!
sleep 2
kill -0 "$bpid" 2>/dev/null || fail "the helper did not block while $origin_dev was suspended"
run dmsetup resume --noudevsync vg0-lv
wait "$bpid" || true
settle "blocker check"
fast_polling
timed "rlvm lvcreate -s (origin needed by udev)" rlvm lvcreate --config "$UC" -s -L 8M -n rsnap vg0/lv
check_visible vg0 lv
check_visible vg0 rsnap
check_layer vg0 lv real
check_layer vg0 rsnap cow
timed "rlvm lvrename of the origin (with a snapshot)" rlvm lvrename --config "$UC" vg0 lv root
check_gone vg0 lv
check_visible vg0 root
check_visible vg0 rsnap
check_layer vg0 root real
timed "rlvm lvrename back" rlvm lvrename --config "$UC" vg0 root lv
check_gone vg0 root
check_visible vg0 lv
run cmp /dev/vg0/rsnap "$SCRATCH/data"
# Change the origin, then roll it back: start and finish in one foreground command.
run dd if=/dev/urandom of=/dev/vg0/lv bs=1M count=1 oflag=direct
cmp -s /dev/vg0/lv "$SCRATCH/data" && fail "the origin did not change"
settle "before the merge"
timed "rlvm lvconvert --merge (start + finish)" rlvm lvconvert --config "$UC" --merge -i 1 vg0/rsnap
check_visible vg0 lv
check_gone vg0 rsnap rsnap-cow lv-real
expect_eq "vg0 dm devices after the merge" "$(dmsetup ls | awk '$1 ~ /^vg0-/ { print $1 }' | tr '\n' ' ')" "vg0-lv "
run cmp /dev/vg0/lv "$SCRATCH/data"
timed "rlvm lvcreate -s (again)" rlvm lvcreate --config "$UC" -s -L 8M -n rsnap vg0/lv
check_visible vg0 rsnap
timed "rlvm lvremove -y of the snapshot" rlvm lvremove --config "$UC" -y vg0/rsnap
check_gone vg0 rsnap rsnap-cow lv-real
check_visible vg0 lv
dmsetup info -c
no_cookies "with the origin needed by udev"
rm /etc/udev/rules.d/95-dm-notify.rules
run udevadm control --reload
settle "blocker removed"
no_dangling "after the origin-needed step"

step "--noudevsync: no waiting, /dev consistent once udev settles"
timed "rlvm lvcreate --noudevsync" rlvm lvcreate --config "$UC" --noudevsync -L 8M -n ns vg0
settle "rlvm lvcreate --noudevsync"
ls -l /dev/mapper /dev/vg0
udevadm info --query=all --name="/dev/$(dmnode vg0-ns)"
[ -b /dev/mapper/vg0-ns ] || fail "/dev/mapper/vg0-ns missing after --noudevsync lvcreate + settle"
[ -b /dev/vg0/ns ] || fail "/dev/vg0/ns missing after --noudevsync lvcreate + settle"
if [ -L /dev/mapper/vg0-ns ]; then
    echo "(/dev/mapper/vg0-ns made by udev: $(readlink /dev/mapper/vg0-ns))"
else
    echo "NOTE: /dev/mapper/vg0-ns is rlvm's own block node, not udev's link (LVM2 leaves it to udev)"
fi
timed "rlvm lvchange -an --noudevsync" rlvm lvchange --config "$UC" --noudevsync -an vg0/ns
settle "rlvm lvchange -an --noudevsync"
ls -l /dev/mapper /dev/vg0
check_gone vg0 ns
no_dangling "after lvchange -an --noudevsync"
timed "rlvm lvchange -ay --noudevsync" rlvm lvchange --config "$UC" --noudevsync -ay vg0/ns
settle "rlvm lvchange -ay --noudevsync"
step "an LV activated with --noudevsync, deactivated with udev sync"
ns_dev=$(dmsetup info -c --noheadings -o major,minor vg0-ns | tr -d ' ')
timed "rlvm lvchange -an (sync) of a --noudevsync LV" rlvm lvchange --config "$UC" -an vg0/ns
settle "rlvm lvchange -an sync"
ls -l /dev/mapper /dev/vg0 2>&1
if [ -e /dev/mapper/vg0-ns ] || [ -L /dev/vg0/ns ]; then
    # The kernel hands the freed minor to the next device: the stale node then opens that one.
    timed "rlvm lvcreate -L 8M -n other (sync)" rlvm lvcreate --config "$UC" -L 8M -n other vg0
    echo "stale /dev/mapper/vg0-ns was $ns_dev; vg0-other is" \
        "$(dmsetup info -c --noheadings -o major,minor vg0-other | tr -d ' ')"
    ls -lL /dev/mapper/vg0-ns /dev/vg0/ns /dev/mapper/vg0-other 2>&1
fi
left_behind "lvchange -an with udev sync of an LV activated with --noudevsync" vg0 ns
no_dangling "after lvchange -an with sync of an LV activated with --noudevsync"
if dmsetup info vg0-other >/dev/null 2>&1; then
    timed "rlvm lvremove -y other" rlvm lvremove --config "$UC" -y vg0/other
    settle "rlvm lvremove other"
fi
step "an LV activated with udev sync, deactivated with --noudevsync"
timed "rlvm lvchange -ay (sync)" rlvm lvchange --config "$UC" -ay vg0/ns
check_visible vg0 ns
timed "rlvm lvchange -an --noudevsync of a synced LV" rlvm lvchange --config "$UC" --noudevsync -an vg0/ns
settle "rlvm lvchange -an --noudevsync 2"
ls -l /dev/mapper /dev/vg0 2>&1
check_gone vg0 ns
no_dangling "after lvchange -an --noudevsync of an LV activated with sync"
no_cookies "after --noudevsync"

step "clean up"
timed "rlvm vgchange -an (end)" rlvm vgchange --config "$UC" -an vg0
timed "rlvm vgremove" rlvm vgremove --config "$UC" -y vg0
timed "lvm vgremove -ff vg1" lvm vgremove --config "$UC" -ff vg1
settle "end"
no_dangling "at the end"
no_cookies "at the end"
step "timings"
cat "$TIMINGS"
if [ -s "$DEVIATIONS" ]; then
    cat "$DEVIATIONS"
    fail "rlvm under udev differs from LVM2 in $(grep -c '^- ' "$DEVIATIONS") way(s), listed above"
fi
step "udev OK"
