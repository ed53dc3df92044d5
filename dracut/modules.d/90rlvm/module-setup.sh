#!/bin/bash
# dracut module "rlvm": activates LVM2 volume groups with rlvm before the root filesystem is
# mounted (the initramfs carries rlvm alone: no LVM2 binary or library), so that a rollback
# scheduled with `lvconvert --merge --onactivate` starts in the kernel while nothing holds the
# root open; starts rollbacks asked for on the kernel command line (rd.rlvm.merge=VG/SNAP,
# rd.lvm.mergetags=TAG) and can boot into a snapshot for one boot (rd.rlvm.snapshot=VG/SNAP).
# Follows dracut's LVM conventions: rd.lvm=0, rd.lvm.vg=, rd.lvm.lv=, rd.lvm.conf=0, rd.auto.
# Nothing polls in the initramfs: rlvm-finish-merges.service does that in the real root.
# See rlvm-rollback(7). Installed by rlvm's scripts/install.sh, which fills in @SBINDIR@.
#
# dracut.conf settings: rlvm_binary=PATH (default @SBINDIR@/rlvm);
#                       lvmconf=yes (or --lvmconf, or hostonly): put /etc/lvm/lvm.conf in.
# Do not use it together with dracut's own lvm/lvmmerge modules (omit_dracutmodules+=" lvm ").

rlvm_bin() {
    echo "${rlvm_binary:-@SBINDIR@/rlvm}"
}

# called by dracut
check() {
    if ! [[ -x $dracutsysrootdir$(rlvm_bin) ]]; then
        dinfo "rlvm: $(rlvm_bin) not found"
        return 1
    fi
    # Host-only images need it only when the root (or another needed mount) is on LVM.
    if [[ $hostonly ]] || [[ $mount_needs ]]; then
        local fs
        for fs in "${host_fs_types[@]}"; do
            [[ $fs == LVM*_member ]] && return 0
        done
        return 255
    fi
    return 0
}

# called by dracut
depends() {
    echo rootfs-block udev-rules
    return 0
}

# called by dracut
installkernel() {
    hostonly='' instmods dm_mod dm_bufio dm_snapshot
}

# called by dracut
install() {
    local bin cmd
    bin=$(rlvm_bin)
    inst_binary "$dracutsysrootdir$bin" /usr/sbin/rlvm || return 1
    # Its command links (lvs, vgchange, lvconvert...), for the emergency shell too.
    for cmd in $("$dracutsysrootdir$bin" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
        ln -sfn rlvm "${initdir}/usr/sbin/$cmd"
    done

    if [[ $hostonly ]] || [[ $lvmconf == "yes" ]]; then
        local f
        for f in /etc/lvm/lvm.conf /etc/lvm/lvmlocal.conf /etc/lvm/devices/system.devices; do
            [[ -f $dracutsysrootdir$f ]] && inst_simple -H "$f"
        done
    fi

    inst_multiple sed
    inst_script "$moddir/rlvm-dm-name" @LIBEXECDIR@/rlvm-dm-name
    inst_rules "$moddir/56-rlvm.rules" "$moddir/64-rlvm.rules"
    inst_script "$moddir/rlvm_scan.sh" /sbin/rlvm_scan
    inst_hook cmdline 30 "$moddir/parse-rlvm.sh"
    inst_hook pre-mount 10 "$moddir/rlvm-snapshot-root.sh"
    if dracut_module_included "systemd"; then
        # Booting into a snapshot: no fsck of the origin, which this boot leaves alone.
        inst_simple "$moddir/rlvm-snapshot-nofsck.conf" \
            "$systemdsystemunitdir/systemd-fsck@.service.d/rlvm-snapshot.conf"
    fi
    dracut_need_initqueue
}
