#!/bin/sh
# pre-mount hook of dracut's rlvm module: booting into a snapshot (rd.rlvm.snapshot=VG/SNAP).
# rlvm_scan checked the snapshot and wrote its path to /run/rlvm/snapshot-root; the root
# filesystem is then mounted from it instead of root= for this boot only.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

if [ -s /run/rlvm/snapshot-root ]; then
    rlvm_snaproot=$(cat /run/rlvm/snapshot-root)
    if [ -n "$DRACUT_SYSTEMD" ]; then
        # sysroot.mount waits for this hook (dracut-pre-mount.service): mount the snapshot.
        mkdir -p /run/systemd/system/sysroot.mount.d
        printf '[Mount]\nWhat=%s\n' "$rlvm_snaproot" \
            >/run/systemd/system/sysroot.mount.d/50-rlvm-snapshot.conf
        systemctl daemon-reload
    else
        root="block:$rlvm_snaproot"
        export root
    fi
    echo "rlvm: mounting the root filesystem from snapshot $rlvm_snaproot (this boot only)" >/dev/console
    unset rlvm_snaproot
fi
