//! A block device's logical block size, from sysfs (what LVM2 gets with
//! the BLKSSZGET ioctl in `dev_get_direct_block_sizes`): vgextend keeps a
//! VG's PVs on one block size unless `devices/allow_mixed_block_sizes`;
//! and the smallest device LVM2 takes as a PV (`devices/pv_min_size`).
//! Reads sysfs only.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::lvmconf::LvmConf;

/// LVM2's floor for `devices/pv_min_size`, in KiB (`PV_MIN_SIZE_KB`).
pub const PV_MIN_SIZE_FLOOR_KIB: i64 = 512;
/// `devices/pv_min_size` when lvm.conf does not set it, in KiB.
pub const PV_MIN_SIZE_DEFAULT_KIB: i64 = 2048;

/// `devices/pv_min_size` in KiB as LVM2 uses it: a value below the floor
/// counts as the floor, with LVM2's warning (printed by every command, as
/// LVM2 prints it when it reads its configuration).
pub fn pv_min_size_kib(conf: &LvmConf) -> (u64, Option<String>) {
    let kib = conf.get_int("devices/pv_min_size", PV_MIN_SIZE_DEFAULT_KIB);
    pv_min_size_of(kib)
}

fn pv_min_size_of(kib: i64) -> (u64, Option<String>) {
    if kib < PV_MIN_SIZE_FLOOR_KIB {
        let floor = PV_MIN_SIZE_FLOOR_KIB;
        return (
            floor as u64,
            Some(format!(
                "Ignoring too small pv_min_size {kib}KB, using default {floor}KB."
            )),
        );
    }
    (kib as u64, None)
}

/// The logical block size of the block device at `path` (a node or a
/// link to one); `None` when it is not a block device or sysfs does not
/// say.
pub fn logical_block_size(path: &str) -> Option<u32> {
    logical_block_size_in(Path::new("/sys"), path)
}

/// [`logical_block_size`] with sysfs at `sys`.
pub fn logical_block_size_in(sys: &Path, path: &str) -> Option<u32> {
    let md = std::fs::metadata(path).ok()?;
    use std::os::unix::fs::FileTypeExt;
    if !md.file_type().is_block_device() {
        return None;
    }
    let dev = sys.join("dev/block").join(format!(
        "{}:{}",
        libc::major(md.rdev()),
        libc::minor(md.rdev())
    ));
    // A partition has no queue of its own: its disk's applies.
    [dev.join("queue"), dev.join("../queue")]
        .iter()
        .find_map(|q| std::fs::read_to_string(q.join("logical_block_size")).ok())
        .and_then(|s| s.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pv_min_size_below_the_floor_warns() {
        assert_eq!(pv_min_size_of(2048), (2048, None));
        assert_eq!(pv_min_size_of(512), (512, None));
        let (kib, w) = pv_min_size_of(-100);
        assert_eq!(kib, 512);
        assert_eq!(
            w.as_deref(),
            Some("Ignoring too small pv_min_size -100KB, using default 512KB.")
        );
        assert_eq!(pv_min_size_of(100).0, 512);
    }

    #[test]
    fn not_a_block_device_has_none() {
        assert_eq!(logical_block_size("/dev/null"), None);
        assert_eq!(logical_block_size("/nonexistent"), None);
    }
}
