#!/bin/sh
# /init of the rlvm test VM (runs in the guest as PID 1, busybox sh).
# Mounts the API filesystems, loads the kernel modules in the order build-image.sh resolved,
# waits for the virtio disks, runs the one scenario the overlay brought (/rlvm/scenario), prints
#   RLVM-SCENARIO-START <name> boot=<n>
#   RLVM-SCENARIO-RESULT <name> rc=<n>
# on the serial console for tests/vm/harness.rs, then powers off (qemu runs with -no-reboot).
export PATH=/opt/rlvm/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/lvm2/bin
export HOME=/root LANG=C DM_DISABLE_UDEV=1 LVM2_BIN=/opt/lvm2/bin RLVM_IN_VM=1

mount -t devtmpfs dev /dev
# The initramfs has no /dev/console node for the kernel to open before /init: take the
# console now that devtmpfs provides it.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
# The initramfs root is already RAM: a tmpfs over /tmp would hide host
# executables the harness placed at their host paths when the checkout
# lives under /tmp (as a CI clone may).
mkdir -p /tmp
mount -t tmpfs run /run
mkdir -p /dev/mapper /dev/pts /dev/shm /run/lock/lvm /tmp/lvm /root
mount -t devpts devpts /dev/pts 2>/dev/null

for m in $(cat /lib/modules/load-order); do
    out=$(insmod "/lib/modules/$m.ko" 2>&1) || case $out in
        *"File exists"*) ;;
        *) echo "rlvm-init: insmod $m failed: $out" ;;
    esac
done

[ -f /rlvm/env ] && . /rlvm/env
name=${RLVM_SCENARIO_NAME:-unnamed}

# virtio_blk probes asynchronously: wait (bounded) for every disk the harness attached.
want=${RLVM_DISK_COUNT:-0}
i=0
while :; do
    disks=$(ls /dev/vd[a-z] 2>/dev/null | tr '\n' ' ')
    set -- $disks
    [ $# -ge "$want" ] && break
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "rlvm-init: only $# of $want disks appeared"; break; }
    sleep 0.1
done
export RLVM_TEST_DISKS="${disks% }"

echo "RLVM-SCENARIO-START $name boot=${RLVM_BOOT_INDEX:-1} uptime=$(cut -d' ' -f1 /proc/uptime)"
cd /tmp
if [ -x /rlvm/scenario ]; then
    /rlvm/scenario
    rc=$?
else
    echo "rlvm-init: no /rlvm/scenario in the image"
    rc=127
fi
echo "RLVM-SCENARIO-RESULT $name rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ "${RLVM_VM_SHELL:-0}" = 1 ]; then
    echo "rlvm-init: RLVM_VM_SHELL=1 (scripts/vm/boot.sh): a shell; exit it to power off"
    setsid cttyhack sh
fi
sync
poweroff -f
