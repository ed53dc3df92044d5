//! /dev/mapper/<name> block nodes and /dev/<vg>/<lv> links, for systems
//! where udev does not make them (no udev daemon, or lvm.conf
//! `activation/udev_rules = 0`). Touches the filesystem under an
//! injectable device directory; never the kernel.
//!
//! This mirrors libdm's own node handling (`_add_dev_node`,
//! `_rm_dev_node` in libdm/libdm-common.c) used when udev is off: a block
//! node per dm device, and a `../mapper/<name>` link for visible LVs only
//! (layer devices such as `-real` and `-cow` get none).

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{major, makedev, minor, mknod, Mode, SFlag};

use super::names::{dev_dir, lv_path_in, mapper_path_in, split_dm_name};
use super::target::DevNum;

/// The file whose presence means udevd is running (the devicemapper crate
/// and libdm use the same test).
pub const UDEV_CONTROL: &str = "/run/udev/control";

pub fn udev_running() -> bool {
    Path::new(UDEV_CONTROL).exists()
}

/// The executor's node changes, one at a time even when transactions run
/// on several threads (`parallel.rs`): removing a VG's last link also
/// removes `/dev/<vg>` (`try_remove`), which must not land between another
/// thread's `create_dir_all` of it and its link.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Directories this process made or found (`/dev/mapper`, `/dev/<vg>`):
/// activating a VG of 1000 LVs asks for each once, not twice per LV. A
/// directory removed (`try_remove`) is forgotten; one removed behind our
/// back is made again when a node or link in it cannot be made.
static KNOWN_DIRS: std::sync::Mutex<std::collections::BTreeSet<PathBuf>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn known_dirs() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<PathBuf>> {
    KNOWN_DIRS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Nodes (by path) this process made or found right for a device number,
/// with their links: `repair_vg` after an activation does not look again
/// at what the activation itself just made (two system calls per LV). A
/// node removed (`try_remove`) is forgotten.
static MADE: std::sync::Mutex<rustc_hash::FxHashMap<PathBuf, DevNum>> = std::sync::Mutex::new(
    rustc_hash::FxHashMap::with_hasher(rustc_hash::FxBuildHasher),
);

fn made() -> std::sync::MutexGuard<'static, rustc_hash::FxHashMap<PathBuf, DevNum>> {
    MADE.lock().unwrap_or_else(|p| p.into_inner())
}

/// `create_dir_all(dir)`, once per process.
fn ensure_dir(dir: &Path) -> io::Result<()> {
    if known_dirs().contains(dir) {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    known_dirs().insert(dir.to_path_buf());
    Ok(())
}

/// `make` in `dir`, made again first if `make` finds it gone.
fn in_dir(dir: &Path, make: impl Fn() -> io::Result<()>) -> io::Result<()> {
    ensure_dir(dir)?;
    match make() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            known_dirs().remove(dir);
            ensure_dir(dir)?;
            make()
        }
        r => r,
    }
}

/// Who makes device nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nodes {
    /// `None`: udev does (we do nothing).
    dev_dir: Option<PathBuf>,
    /// With udev in charge: where to look for nodes of ours left from a
    /// time without udev (initramfs, `udev_rules = 0`), removed with their
    /// device so they can never name another device later.
    stale_dir: Option<PathBuf>,
}

impl Nodes {
    /// udev manages nodes.
    pub fn disabled() -> Nodes {
        Nodes {
            dev_dir: None,
            stale_dir: None,
        }
    }
    /// We manage nodes under `dev_dir` (normally `/dev`).
    pub fn manual(dev_dir: impl Into<PathBuf>) -> Nodes {
        Nodes {
            dev_dir: Some(dev_dir.into()),
            stale_dir: None,
        }
    }
    /// What this system needs: udev if it runs and lvm.conf lets its
    /// rules act (`udev_rules`), else our own nodes under `DM_DEV_DIR`.
    pub fn for_system(udev_rules: bool) -> Nodes {
        if udev_rules && udev_running() {
            Nodes {
                dev_dir: None,
                stale_dir: Some(dev_dir()),
            }
        } else {
            Nodes::manual(dev_dir())
        }
    }
    pub fn is_manual(&self) -> bool {
        self.dev_dir.is_some()
    }

    /// Create the node (and link) for device `name`; failures are logged,
    /// as libdm does: the device itself is fine without them.
    pub fn add(&self, name: &str, dev: DevNum) {
        let _one = one_at_a_time();
        if let Err(e) = self.try_add(name, dev) {
            log::warn!("Failed to create device node for {name}: {e}");
        }
    }

    pub fn remove(&self, name: &str) {
        let _one = one_at_a_time();
        if let Err(e) = self.try_remove(name) {
            log::warn!("Failed to remove device node for {name}: {e}");
        }
    }

    /// A device renamed from `from` to `to`: its node and link move (libdm
    /// `_rename_dev_node`). `dev` is its number, when known.
    pub fn rename(&self, from: &str, to: &str, dev: Option<DevNum>) {
        let _one = one_at_a_time();
        if let Err(e) = self.try_rename(from, to, dev) {
            log::warn!("Failed to rename device node {from} to {to}: {e}");
        }
    }

    pub fn try_rename(&self, from: &str, to: &str, dev: Option<DevNum>) -> io::Result<()> {
        let Some(root) = &self.dev_dir else {
            return Ok(());
        };
        let dev = match dev {
            Some(d) => Some(d),
            None => fs::symlink_metadata(mapper_path_in(root, from))
                .ok()
                .filter(|m| m.file_type().is_block_device())
                .map(|m| DevNum::new(major(m.rdev()) as u32, minor(m.rdev()) as u32)),
        };
        self.try_remove(from)?;
        match dev {
            Some(d) => self.try_add(to, d),
            None => Ok(()),
        }
    }

    pub fn try_add(&self, name: &str, dev: DevNum) -> io::Result<()> {
        let Some(root) = &self.dev_dir else {
            return Ok(());
        };
        let node = mapper_path_in(root, name);
        let want = makedev(dev.major.into(), dev.minor.into());
        made().remove(&node);
        // Made first, looked at only if something is there already: a new
        // device's node and link cost one system call each (a vgchange -ay
        // of 1000 LVs: 2000 lookups of names that do not exist saved).
        in_dir(node.parent().unwrap_or(root), || {
            match make_node(&node, want) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    match fs::symlink_metadata(&node) {
                        Ok(m) if m.file_type().is_block_device() && m.rdev() == want => Ok(()),
                        Ok(_) => {
                            fs::remove_file(&node)?;
                            make_node(&node, want)
                        }
                        Err(e) => Err(e),
                    }
                }
                r => r,
            }
        })?;
        let s = split_dm_name(name);
        if s.layer.is_empty() && !s.lv.is_empty() {
            let link = lv_path_in(root, &s.vg, &s.lv);
            let target = Path::new("..").join("mapper").join(name);
            in_dir(link.parent().unwrap_or(root), || {
                match std::os::unix::fs::symlink(&target, &link) {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    r => return r,
                }
                match fs::read_link(&link) {
                    Ok(t) if t == target => return Ok(()),
                    _ => fs::remove_file(&link)?,
                }
                std::os::unix::fs::symlink(&target, &link)
            })?;
        }
        made().insert(node, dev);
        Ok(())
    }

    pub fn try_remove(&self, name: &str) -> io::Result<()> {
        if let (None, Some(root)) = (&self.dev_dir, &self.stale_dir) {
            return remove_stale(root, name);
        }
        let Some(root) = &self.dev_dir else {
            return Ok(());
        };
        made().remove(&mapper_path_in(root, name));
        let s = split_dm_name(name);
        if s.layer.is_empty() && !s.lv.is_empty() {
            let link = lv_path_in(root, &s.vg, &s.lv);
            // Ours are relative; LVM2 without udev writes absolute links.
            let relative = Path::new("..").join("mapper").join(name);
            let absolute = mapper_path_in(root, name);
            if fs::read_link(&link).is_ok_and(|t| t == relative || t == absolute) {
                fs::remove_file(&link)?;
            }
            // Only succeeds once the VG has no links left.
            let dir = root.join(&s.vg);
            if fs::remove_dir(&dir).is_ok() {
                known_dirs().remove(&dir);
            }
        }
        match fs::remove_file(mapper_path_in(root, name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

impl Nodes {
    /// vgmknodes: makes every node and link the VG's devices `present`
    /// (name, number) need, and removes this VG's nodes and links whose
    /// device is gone. Returns what it changed, one line each. Nothing
    /// when udev manages /dev.
    pub fn repair_vg(&self, vg: &str, present: &[(String, DevNum)]) -> io::Result<Vec<String>> {
        let Some(root) = &self.dev_dir else {
            return Ok(vec![]);
        };
        let mut changed = Vec::new();
        for (name, dev) in present {
            let node = mapper_path_in(root, name);
            if made().get(&node) == Some(dev) {
                continue;
            }
            let node_ok = fs::symlink_metadata(&node).is_ok_and(|m| {
                m.file_type().is_block_device()
                    && m.rdev() == makedev(dev.major.into(), dev.minor.into())
            });
            let s = split_dm_name(name);
            let link_ok = !s.layer.is_empty()
                || s.lv.is_empty()
                || fs::read_link(lv_path_in(root, &s.vg, &s.lv)).is_ok();
            if !node_ok || !link_ok {
                self.try_add(name, *dev)?;
                changed.push(format!("Created device node for {name}."));
            }
        }
        // Stale: mapper nodes of this VG (by dm name) with no device. Looked
        // up by name: every entry of /dev/mapper and of the VG's directory
        // is asked about (1000 LVs: no million comparisons).
        let names: std::collections::HashSet<&str> =
            present.iter().map(|(n, _)| n.as_str()).collect();
        let gone = |name: &str| !names.contains(name);
        if let Ok(dir) = fs::read_dir(root.join("mapper")) {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if split_dm_name(&name).vg == vg && gone(&name) {
                    self.try_remove(&name)?;
                    changed.push(format!("Removed stale device node for {name}."));
                }
            }
        }
        if let Ok(dir) = fs::read_dir(root.join(vg)) {
            for e in dir.flatten() {
                let lv = e.file_name().to_string_lossy().into_owned();
                let name = super::names::dm_name(vg, &lv, None);
                if gone(&name) && fs::read_link(e.path()).is_ok() {
                    fs::remove_file(e.path())?;
                    changed.push(format!("Removed stale link {}.", e.path().display()));
                }
            }
            let dir = root.join(vg);
            if fs::remove_dir(&dir).is_ok() {
                known_dirs().remove(&dir);
            }
        }
        Ok(changed)
    }
}

/// udev manages /dev, but nodes we made without it may remain: udev's
/// `/dev/mapper/<name>` and `/dev/<vg>/<lv>` are links to `../dm-N`, ours
/// are a block node and a link to `../mapper/<name>` (LVM2's fallback: an
/// absolute link). Only those are removed; udev's are left to udev.
fn remove_stale(root: &Path, name: &str) -> io::Result<()> {
    let s = split_dm_name(name);
    if s.layer.is_empty() && !s.lv.is_empty() {
        let link = lv_path_in(root, &s.vg, &s.lv);
        let relative = Path::new("..").join("mapper").join(name);
        let absolute = mapper_path_in(root, name);
        if fs::read_link(&link).is_ok_and(|t| t == relative || t == absolute) {
            fs::remove_file(&link)?;
        }
    }
    let node = mapper_path_in(root, name);
    match fs::symlink_metadata(&node) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()) => {
            fs::remove_file(&node)
        }
        _ => Ok(()),
    }
}

fn make_node(path: &Path, dev: nix::libc::dev_t) -> io::Result<()> {
    mknod(path, SFlag::S_IFBLK, Mode::from_bits_truncate(0o600), dev).map_err(io::Error::from)?;
    log::debug!("Created {} ({}:{})", path.display(), major(dev), minor(dev));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn am_root() -> bool {
        nix::unistd::Uid::effective().is_root()
    }

    #[test]
    fn disabled_does_nothing() {
        let n = Nodes::disabled();
        n.try_add("vg-lv", DevNum::new(253, 0)).unwrap();
        n.try_remove("vg-lv").unwrap();
        assert!(!n.is_manual());
    }

    #[test]
    fn manual_nodes_and_links() {
        if !am_root() {
            eprintln!("skipped: mknod needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let n = Nodes::manual(dir.path());
        n.try_add("my--vg-lv--1", DevNum::new(253, 7)).unwrap();
        n.try_add("my--vg-lv--1-real", DevNum::new(253, 6)).unwrap();
        let node = dir.path().join("mapper/my--vg-lv--1");
        let m = fs::symlink_metadata(&node).unwrap();
        assert!(m.file_type().is_block_device());
        assert_eq!(m.rdev(), makedev(253, 7));
        let link = dir.path().join("my-vg/lv-1");
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("../mapper/my--vg-lv--1")
        );
        assert!(!dir.path().join("my-vg/lv-1-real").exists());
        assert!(dir.path().join("mapper/my--vg-lv--1-real").exists());
        // Idempotent (the node that is right stays, the same inode), and a
        // changed number replaces the node.
        let ino = fs::symlink_metadata(&node).unwrap().ino();
        n.try_add("my--vg-lv--1", DevNum::new(253, 7)).unwrap();
        assert_eq!(fs::symlink_metadata(&node).unwrap().ino(), ino);
        n.try_add("my--vg-lv--1", DevNum::new(253, 8)).unwrap();
        assert_eq!(fs::symlink_metadata(&node).unwrap().rdev(), makedev(253, 8));
        // A link naming something else, or a file where the link goes, is
        // replaced by the right link.
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("../mapper/other", &link).unwrap();
        n.try_add("my--vg-lv--1", DevNum::new(253, 8)).unwrap();
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("../mapper/my--vg-lv--1")
        );
        fs::remove_file(&link).unwrap();
        fs::write(&link, "x").unwrap();
        n.try_add("my--vg-lv--1", DevNum::new(253, 8)).unwrap();
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("../mapper/my--vg-lv--1")
        );
        n.try_remove("my--vg-lv--1").unwrap();
        n.try_remove("my--vg-lv--1-real").unwrap();
        assert!(!node.exists());
        assert!(!dir.path().join("my-vg").exists());
        n.try_remove("never-made").unwrap();
    }

    #[test]
    fn rename_moves_node_and_link() {
        if !am_root() {
            eprintln!("skipped: mknod needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let n = Nodes::manual(dir.path());
        n.try_add("my--vg-a", DevNum::new(253, 3)).unwrap();
        n.try_add("my--vg-a-real", DevNum::new(253, 2)).unwrap();
        n.try_rename("my--vg-a-real", "my--vg-b--1-real", None)
            .unwrap();
        n.try_rename("my--vg-a", "my--vg-b--1", Some(DevNum::new(253, 3)))
            .unwrap();
        for gone in ["mapper/my--vg-a", "mapper/my--vg-a-real", "my-vg/a"] {
            assert!(
                fs::symlink_metadata(dir.path().join(gone)).is_err(),
                "{gone}"
            );
        }
        let m = fs::symlink_metadata(dir.path().join("mapper/my--vg-b--1-real")).unwrap();
        assert_eq!(m.rdev(), makedev(253, 2));
        let m = fs::symlink_metadata(dir.path().join("mapper/my--vg-b--1")).unwrap();
        assert_eq!(m.rdev(), makedev(253, 3));
        assert_eq!(
            fs::read_link(dir.path().join("my-vg/b-1")).unwrap(),
            PathBuf::from("../mapper/my--vg-b--1")
        );
        assert!(!dir.path().join("my-vg/b-1-real").exists());
    }

    #[test]
    fn repair_checks_what_this_process_did_not_make() {
        if !am_root() {
            eprintln!("skipped: mknod needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let n = Nodes::manual(dir.path());
        n.try_add("vg-a", DevNum::new(253, 1)).unwrap();
        n.try_add("vg-c", DevNum::new(253, 3)).unwrap();
        // A node made by someone else, with a wrong number.
        let b = dir.path().join("mapper/vg-b");
        make_node(&b, makedev(253, 9)).unwrap();
        let present = [
            ("vg-a".to_string(), DevNum::new(253, 1)),
            ("vg-b".to_string(), DevNum::new(253, 2)),
        ];
        let mut changed = n.repair_vg("vg", &present).unwrap();
        changed.sort();
        assert_eq!(
            changed,
            [
                "Created device node for vg-b.",
                "Removed stale device node for vg-c."
            ]
        );
        assert_eq!(fs::symlink_metadata(&b).unwrap().rdev(), makedev(253, 2));
        assert!(!dir.path().join("mapper/vg-c").exists());
        // Made or repaired now: nothing to do; a node gone since it was
        // removed here is made again.
        assert!(n.repair_vg("vg", &present).unwrap().is_empty());
        let present = [("vg-c".to_string(), DevNum::new(253, 3))];
        let mut changed = n.repair_vg("vg", &present).unwrap();
        changed.sort();
        assert_eq!(
            changed,
            [
                "Created device node for vg-c.",
                "Removed stale device node for vg-a.",
                "Removed stale device node for vg-b."
            ]
        );
    }
}
