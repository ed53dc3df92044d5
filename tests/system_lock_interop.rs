//! Real LVM2 and rlvm exclude each other through the same flock files.
//! Needs root, /usr/sbin/lvm and a free loop device; skipped otherwise.
//! The LVM2 side runs with a private LVM_SYSTEM_DIR (see the reference
//! notes, section 6), so nothing outside a temp dir is touched except one
//! loop device, which is detached at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rlvm::system::lock::{lock_global, lock_vg};
use rlvm::system::lvmconf::LvmConf;

const LVM: &str = "/usr/sbin/lvm";

fn lvm(sysdir: &Path, args: &[&str]) -> Output {
    Command::new(LVM)
        .args(args)
        .env("LVM_SYSTEM_DIR", sysdir)
        // LVM warns about (and on some versions refuses) inherited fds.
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .expect("run lvm")
}

fn write_conf(dir: &Path, filter: &str) {
    let text = format!(
        "global {{ activation = 0\n locking_dir = \"{lock}\"\n event_activation = 0\n use_lvmpolld = 0 }}\n\
         devices {{ use_devicesfile = 0\n hints = \"none\"\n obtain_device_list_from_udev = 0\n\
          external_device_info_source = \"none\"\n filter = [ {filter} ] }}\n\
         backup {{ backup = 0\n archive = 0 }}\n\
         activation {{ udev_sync = 0\n udev_rules = 0\n monitoring = 0 }}\n",
        lock = dir.join("lock").display()
    );
    std::fs::write(dir.join("lvm.conf"), text).unwrap();
}

fn usable() -> bool {
    nix::unistd::geteuid().is_root() && Path::new(LVM).exists()
}

struct Loop(PathBuf);
impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

#[test]
fn lvm_cannot_take_global_lock_held_by_rlvm() {
    if !usable() {
        eprintln!("skipped: needs root and {LVM}");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    write_conf(d.path(), "\"r|.*|\"");
    let conf = LvmConf::load_from(d.path(), Path::new("/dev"), &[]).unwrap();

    let held = lock_global(&conf, true).unwrap();
    let out = lvm(d.path(), &["vgs", "--config", "global/wait_for_locks=0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "lvm vgs succeeded under rlvm's lock");
    assert!(err.contains("P_global: flock failed"), "{err}");
    drop(held);

    let out = lvm(d.path(), &["vgs", "--config", "global/wait_for_locks=0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lvm_cannot_read_vg_locked_by_rlvm() {
    if !usable() {
        eprintln!("skipped: needs root and {LVM}");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("pv.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&img)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("skipped: no loop device");
        return;
    }
    let dev = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string());
    let _loop = Loop(dev.clone());
    write_conf(d.path(), &format!("\"a|^{}$|\", \"r|.*|\"", dev.display()));
    let devs = dev.to_str().unwrap();
    let vg = format!("rlvmlk{}", std::process::id());
    let out = lvm(d.path(), &["vgcreate", "-y", &vg, devs]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let conf = LvmConf::load_from(d.path(), Path::new("/dev"), &[]).unwrap();
    let held = lock_vg(&conf, &vg, true).unwrap();
    let out = lvm(
        d.path(),
        &["vgs", &vg, "--config", "global/wait_for_locks=0"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "lvm vgs read a VG rlvm holds");
    assert!(err.contains(&format!("V_{vg}: flock failed")), "{err}");
    drop(held);

    // Released: LVM2 reads the VG again.
    let out = lvm(
        d.path(),
        &["vgs", &vg, "--config", "global/wait_for_locks=0"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lvm(d.path(), &["vgremove", "-f", &vg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = lvm(d.path(), &["pvremove", "-y", devs]);
}
