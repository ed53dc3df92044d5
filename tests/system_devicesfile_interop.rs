//! A PV recorded in system.devices by rlvm is visible to real LVM2 with
//! use_devicesfile=1, and invisible before. Needs root, /usr/sbin/lvm and a
//! free loop device; skipped otherwise. Private LVM_SYSTEM_DIR.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rlvm::system::devicesfile::{add_device, DevicesFile};
use rlvm::system::lvmconf::LvmConf;

const LVM: &str = "/usr/sbin/lvm";

fn lvm(sysdir: &Path, args: &[&str]) -> Output {
    Command::new(LVM)
        .args(args)
        .env("LVM_SYSTEM_DIR", sysdir)
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .expect("run lvm")
}

struct Loop(PathBuf);
impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

#[test]
fn lvm_sees_pv_added_by_rlvm() {
    if !nix::unistd::geteuid().is_root() || !Path::new(LVM).exists() {
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
    let devs = dev.to_str().unwrap();
    let conf_text = format!(
        "global {{ activation = 0\n locking_dir = \"{lock}\"\n event_activation = 0\n use_lvmpolld = 0 }}\n\
         devices {{ use_devicesfile = 1\n hints = \"none\"\n obtain_device_list_from_udev = 0\n\
          external_device_info_source = \"none\"\n filter = [ \"a|^{devs}$|\", \"r|.*|\" ] }}\n\
         backup {{ backup = 0\n archive = 0 }}\n\
         activation {{ udev_sync = 0\n udev_rules = 0\n monitoring = 0 }}\n",
        lock = d.path().join("lock").display()
    );
    std::fs::write(d.path().join("lvm.conf"), conf_text).unwrap();
    std::fs::create_dir_all(d.path().join("devices")).unwrap();

    // Create the PV without the devices file, as another tool would.
    let out = lvm(d.path(), &["pvcreate", "-y", "--devicesfile", "", devs]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lvm(
        d.path(),
        &[
            "pvs",
            "--devicesfile",
            "",
            "--noheadings",
            "-o",
            "pv_uuid",
            devs,
        ],
    );
    let pvid: String = String::from_utf8_lossy(&out.stdout).trim().replace('-', "");
    assert_eq!(pvid.len(), 32, "{}", String::from_utf8_lossy(&out.stderr));

    // An empty devices file in use: LVM2 does not see the PV.
    let df = d.path().join("devices/system.devices");
    std::fs::write(
        &df,
        "# LVM uses devices listed in this file.\nVERSION=1.1.1\n",
    )
    .unwrap();
    let out = lvm(d.path(), &["pvs", "--noheadings", "-o", "pv_name"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(devs));

    let conf = LvmConf::load_from(d.path(), Path::new("/dev"), &[]).unwrap();
    assert!(add_device(&conf, &dev, &pvid).unwrap());
    let text = std::fs::read_to_string(&df).unwrap();
    eprintln!("{text}");
    let parsed = DevicesFile::parse(&text);
    assert_eq!(parsed.version(), Some("1.1.2"));
    let e = parsed.entries().next().unwrap();
    assert_eq!(e.idtype, "loop_file");
    assert_eq!(e.idname, img.to_str().unwrap());

    let out = lvm(d.path(), &["pvs", "--noheadings", "-o", "pv_name,pv_uuid"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(devs),
        "pvs: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lvm(d.path(), &["lvmdevices", "--check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = lvm(d.path(), &["pvremove", "-y", devs]);
}
