#!/bin/bash
# Captures real LVM2 report output for the example VG
# (/work/shared/reference/example-vg-metadata.txt) in metadata-only mode
# (activation = 0, lvm.conf from lvm2-on-disk-format.md section 6).
# Run as root from this directory: ./make.sh /path/to/example-vg-metadata.txt
# Writes one file per command: <name>.out (stdout), and for failing
# commands also <name>.err and <name>.rc. devices.txt records which loop
# devices held pv0, pv1 and the orphan PV (their names appear in the output).
set -u
EXAMPLE=${1:-/work/shared/reference/example-vg-metadata.txt}
OUT=$(pwd)
T=$(mktemp -d)
export LVM_SYSTEM_DIR=$T LVM_SUPPRESS_FD_WARNINGS=1
mkdir -p $T/lock $T/backup $T/archive
sed -n '/=== BEGIN PART 1/,/=== END PART 1/p' "$EXAMPLE" | sed '1d;$d' > $T/vg0.vg
truncate -s 64M $T/d0.img $T/d1.img $T/d2.img
L0=$(losetup -f --show $T/d0.img)
L1=$(losetup -f --show $T/d1.img)
L2=$(losetup -f --show $T/d2.img)
cleanup() { losetup -d $L0 $L1 $L2; rm -rf $T; }
trap cleanup EXIT
cat > $T/lvm.conf <<CONF
global {
  activation = 0
  locking_dir = "$T/lock"
  event_activation = 0
  use_lvmpolld = 0
}
devices {
  use_devicesfile = 0
  hints = "none"
  obtain_device_list_from_udev = 0
  external_device_info_source = "none"
  filter = [ "a|^$L0\$|", "a|^$L1\$|", "a|^$L2\$|", "r|.*|" ]
  md_component_detection = 0
  multipath_component_detection = 0
  fw_raid_component_detection = 0
}
backup {
  backup = 0
  archive = 0
}
activation {
  udev_sync = 0
  udev_rules = 0
  verify_udev_operations = 0
  monitoring = 0
}
CONF
sed -i "s|/dev/loop0|$L0|; s|/dev/loop1|$L1|" $T/vg0.vg
pvcreate -q --uuid HHzEoa-3G5p-GJXD-9KY4-2JbB-Gl3J-v0RBh5 --restorefile $T/vg0.vg $L0 >/dev/null
pvcreate -q --uuid U20HMA-MaMC-vQTO-N3be-cwmW-qtca-xy693e --restorefile $T/vg0.vg $L1 >/dev/null
vgcfgrestore -q -f $T/vg0.vg vg0 >/dev/null 2>&1
# An orphan PV with a fixed UUID.
pvcreate -q --uuid oRPHAN-0000-1111-2222-3333-4444-555555 --norestorefile $L2 >/dev/null
printf 'pv0 %s\npv1 %s\norphan %s\n' $L0 $L1 $L2 > "$OUT/devices.txt"
# pv_uuid of orphan and device sizes/mda values for the test model.
pvs -o pv_name,pv_uuid,dev_size,pe_start,pv_mda_count,pv_mda_size,pv_mda_free,pv_mda_used_count --units b --nosuffix --separator ' ' --noheadings > "$OUT/pv-facts.txt"

cap() { # name, command...
  local name=$1; shift
  "$@" > "$OUT/$name.out" 2> "$T/err"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo $rc > "$OUT/$name.rc"; cp $T/err "$OUT/$name.err"
  fi
  printf '%s\t%s\n' "$name" "$*" >> "$OUT/commands.txt"
}
rm -f "$OUT"/*.rc "$OUT"/*.err
: > "$OUT/commands.txt"
cap lvs lvs
cap lvs-a lvs -a
cap vgs vgs
cap pvs pvs
cap pvs-a pvs -a
cap lvs-noheadings lvs -a --noheadings
cap lvs-separator lvs -a --separator ,
cap lvs-separator-headings lvs -a --separator : --units s
cap lvs-nosuffix lvs -a --units m --nosuffix
for u in h H r R b B s S k K m M g G t T; do
  cap lvs-units-$u lvs -a --units $u
  cap vgs-units-$u vgs --units $u
  cap pvs-units-$u pvs --units $u
done
cap lvs-plus lvs -a -o +lv_uuid,lv_path,lv_dm_path,segtype,seg_count,stripes,stripesize,chunksize,devices,lv_tags
cap lvs-minus lvs -a -o -pool_lv,-data_percent,-metadata_percent
cap lvs-snap lvs -a -o lv_name,origin,snap_percent,lv_merging,lv_merge_failed,lv_snapshot_invalid,lv_role,lv_layout
cap lvs-aliases lvs -a -o name,size,attr,uuid,path
cap lvs-misc lvs -a -o lv_name,lv_active,lv_active_exclusively,lv_permissions,lv_allocation_policy,lv_time,lv_host,lv_kernel_major,lv_kernel_minor,lv_read_ahead,lv_kernel_read_ahead,seg_start,seg_size,lv_major,lv_minor
cap lvs-attrbits lvs -a -o lv_name,lv_attr,lv_health_status,lv_skip_activation,lv_fixed_minor,lv_device_open,lv_suspended,lv_live_table,lv_inactive_table,zero
cap vgs-plus vgs -o +vg_uuid,vg_extent_size,vg_extent_count,vg_free_count,vg_tags,vg_seqno,vg_mda_count,vg_mda_free,vg_mda_size,vg_fmt,max_lv,max_pv,vg_permissions,vg_allocation_policy
cap pvs-plus pvs -o +pv_uuid,dev_size,pe_start,pv_pe_count,pv_pe_alloc_count,pv_tags,pv_mda_count,pv_mda_free,pv_mda_size,pv_used,pv_allocatable,pv_missing
cap lvs-json lvs -a --reportformat json
cap lvs-json-plus lvs --reportformat json -o +lv_uuid,seg_count --units s
cap vgs-json vgs --reportformat json
cap pvs-json pvs --reportformat json
cap lvs-all lvs -a -o all
cap vgs-all vgs -o all
cap pvs-all pvs -o all
cap lvs-badfield lvs -o lv_name,foo
cap lvs-sort lvs -a -O lv_size,-lv_name
cap lvdisplay lvdisplay
cap lvdisplay-a lvdisplay -a
cap vgdisplay vgdisplay
cap pvdisplay pvdisplay
cap lvdisplay-units lvdisplay --units s vg0/origin
cap vgdisplay-units vgdisplay --units k
