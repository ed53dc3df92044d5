#!/bin/sh
# cmdline hook of dracut's rlvm module: what to activate, per dracut's LVM conventions.
#   rd.lvm=0           no LVM activation at all (rollback options are then ignored)
#   rd.lvm.conf=0      do not use the lvm.conf put in the initramfs
#   rd.lvm.vg=VG, rd.lvm.lv=VG/LV   what to activate; without them the root's VG
#                      (root=/dev/VG/LV or /dev/mapper/VG-LV), or every VG with rd.auto=1
#   rd.rlvm.merge=VG/SNAP, rd.lvm.mergetags=TAG, rd.rlvm.snapshot=VG/SNAP: see rlvm_scan.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

if [ -e /etc/lvm/lvm.conf ] && ! getargbool 1 rd.lvm.conf -d -n rd_NO_LVMCONF; then
    rm -f -- /etc/lvm/lvm.conf
fi

mkdir -p /run/rlvm
rm -f /run/rlvm/root-vg

if ! getargbool 1 rd.lvm -d -n rd_NO_LVM; then
    info "rd.lvm=0: no LVM activation (rlvm)"
    if [ -n "$(getargs rd.rlvm.merge=)$(getargs rd.lvm.mergetags=)$(getarg rd.rlvm.snapshot=)" ]; then
        warn "rlvm: rd.lvm=0: rd.rlvm.merge, rd.lvm.mergetags and rd.rlvm.snapshot are ignored"
    fi
    rm -f -- /etc/udev/rules.d/64-rlvm.rules
else
    rlvm_lvs="$(getargs rd.lvm.lv -d rd_LVM_LV=)"
    rlvm_want="$(getargs rd.lvm.vg -d rd_LVM_VG=) $rlvm_lvs"
    rlvm_want="$rlvm_want $(getargs rd.rlvm.merge=) $(getargs rd.lvm.mergetags=) $(getarg rd.rlvm.snapshot=)"
    # The root's VG, when root= names an LV by its path.
    rlvm_root=$(getarg root=)
    rlvm_root=${rlvm_root#block:}
    rlvm_rootvg=""
    case $rlvm_root in
        /dev/mapper/*)
            rlvm_rootvg=$(@LIBEXECDIR@/rlvm-dm-name "${rlvm_root#/dev/mapper/}" | sed -n 's/^DM_VG_NAME=//p')
            ;;
        /dev/disk/* | /dev/block/*) ;;
        /dev/*/*/*) ;;
        /dev/*/*)
            rlvm_rootvg=${rlvm_root#/dev/}
            rlvm_rootvg=${rlvm_rootvg%%/*}
            ;;
    esac
    [ -n "$rlvm_rootvg" ] && echo "$rlvm_rootvg" >/run/rlvm/root-vg
    if [ -z "${rlvm_want## }" ] && [ -z "$rlvm_rootvg" ] && ! getargbool 0 rd.auto; then
        info "rlvm: nothing to activate (no rd.lvm.vg, rd.lvm.lv or LVM root)"
        rm -f -- /etc/udev/rules.d/64-rlvm.rules
    else
        for rlvm_lv in $rlvm_lvs; do
            wait_for_dev -n "/dev/$rlvm_lv"
        done
    fi
    unset rlvm_lvs rlvm_want rlvm_root rlvm_rootvg rlvm_lv
fi
