//! A block device's logical block size, from sysfs (what LVM2 gets with
//! the BLKSSZGET ioctl in `dev_get_direct_block_sizes`): vgextend keeps a
//! VG's PVs on one block size unless `devices/allow_mixed_block_sizes`.
//! Reads sysfs only.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

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
    fn not_a_block_device_has_none() {
        assert_eq!(logical_block_size("/dev/null"), None);
        assert_eq!(logical_block_size("/nonexistent"), None);
    }
}
