#!/usr/bin/env bash
# An invalid devices/filter or devices/global_filter (filter = 5, an empty
# list, a bad pattern) makes the command fail as LVM2 fails, with LVM2's
# words, instead of being dropped (which scanned every device on the
# host); a pvcreate under such a setting writes nothing.
. "$(dirname "$0")/lib.sh"
lvmi_setup 64M 64M
d0=${LVMI_DEVS[0]} d1=${LVMI_DEVS[1]}
lvmi pvcreate -q "$d0"
sums() { md5sum "$d0" "$d1" | cut -d' ' -f1 | xargs; }
before=$(sums)

settings=(
    'filter = 5' 'filter = [ 5 ]' 'filter = [ "a|loop|", 5 ]' 'global_filter = 5'
    'filter = []' 'filter = [ "" ]' 'filter = [ "x|.*|" ]' 'global_filter = [ "r|.*" ]'
    'filter = 1.5'
)
run_seq() {
    local tool=$1 f c rc out
    for f in "${settings[@]}"; do
        for c in pvs "pvcreate -y $d1"; do
            rc=0
            # shellcheck disable=SC2086
            out=$($tool $c --config "devices { $f }" 2>&1) || rc=$?
            out=$(printf '%s\n' "$out" | grep -v "Activation disabled" || true)
            printf '### %s: %s\n%s\nrc=%s\n' "$f" "$c" "$out" "$rc"
            [ "$(sums)" = "$before" ] || fail "$tool $c with '$f' wrote to a device"
        done
    done
}
run_seq lvmi >"$LVMI_DIR/lvm.out"
run_seq rl >"$LVMI_DIR/rlvm.out"
diff -u "$LVMI_DIR/lvm.out" "$LVMI_DIR/rlvm.out" ||
    fail "rlvm differs from LVM2 (diff above: - LVM2, + rlvm)"
echo "ok: same refusals, words and exit codes as LVM2; nothing written"
# A single string is a valid one-pattern list for both.
for f in 'filter = "a|.*|"' 'filter = "r|.*|"'; do
    expect_eq "$f" "$(lvmi pvs -o pv_name --config "devices { $f }" 2>&1 | grep -v 'Activation disabled')" \
        "$(rl pvs -o pv_name --config "devices { $f }" 2>&1)"
done

# The same from lvm.conf itself.
sed -i 's/^\( *\)filter = .*/\1filter = 5/' "$LVM_SYSTEM_DIR/lvm.conf"
grep -q '^ *filter = 5' "$LVM_SYSTEM_DIR/lvm.conf" || fail "lvm.conf not edited"
expect_rc 5 lvmi pvs
expect_rc 5 rl pvs
expect_eq "same words" "$(lvmi pvs 2>&1 | grep -v 'Activation disabled')" "$(rl pvs 2>&1)"
echo "PASS filter-config"
