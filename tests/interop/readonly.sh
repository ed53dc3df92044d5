#!/usr/bin/env bash
# A VG with a segment type rlvm does not model is listed but never written.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M
d0=${LVMI_DEVS[0]}
lvmi pvcreate -q "$d0"
lvmi vgcreate -q vgu "$d0"
lvmi lvcreate -q -an -Zn -L 8M -n odd vgu
lvmi vgcfgbackup -q -f "$LVMI_DIR/u.vg" vgu
sed -i 's/type = "striped"/type = "foobar"/' "$LVMI_DIR/u.vg"
lvmi vgcfgrestore -q -f "$LVMI_DIR/u.vg" vgu
expect_eq "listed" "odd" "$(rl_field lvs -o lv_name vgu)"
before=$(md5sum < "$d0")
expect_rc 5 rl lvcreate -an -Zn -L 4M -n new vgu
expect_rc 5 rl lvrename vgu odd even
expect_rc 5 rl vgchange --addtag x vgu
expect_eq "device unchanged" "$before" "$(md5sum < "$d0")"
echo "PASS readonly"
