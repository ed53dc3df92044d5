//! Real-kernel tests: each `tests/vm/scenarios/*.sh` boots its own VM (see tests/vm/harness.rs)
//! and runs there with real device-mapper, real LVM2 and this build of rlvm. Also runs
//! host-built test executables in the guest: `tests/dm_kernel.rs`, when it exists, and any
//! listed in `RLVM_VM_TEST_BINS`.
//!
//! Without qemu or the kernel these tests skip loudly, unless `CI` or `RLVM_VM_TESTS=1` is
//! set: then they fail. `RLVM_VM_TESTS=0` skips them (outside CI).

#[path = "vm/harness.rs"]
mod harness;

use harness::{image_or_skip, repo_root, Boot, Vm};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scenario_path(file: &str) -> PathBuf {
    repo_root().join("tests/vm/scenarios").join(file)
}

/// Boots one VM for one scenario script and asserts it exits 0.
fn run_scenario(file: &str) {
    let name = file.trim_end_matches(".sh");
    let Some(image) = image_or_skip(name) else {
        return;
    };
    let mut vm = Vm::builder(name)
        .scenario(scenario_path(file))
        .build(image)
        .unwrap_or_else(|e| panic!("{e}"));
    vm.boot().unwrap_or_else(|e| panic!("{e}")).assert_success();
}

/// One `#[test]` per scenario file; `every_scenario_file_has_a_test` keeps the list complete.
macro_rules! scenarios {
    ($($test:ident => $file:literal),* $(,)?) => {
        const SCENARIO_FILES: &[&str] = &[$($file),*];
        $(
            #[test]
            fn $test() {
                run_scenario($file);
            }
        )*
    };
}

scenarios! {
    kernel_smoke => "00-kernel-smoke.sh",
    rlvm_runs => "01-rlvm-runs.sh",
    rlvm_activate => "10-rlvm-activate.sh",
    rlvm_snapshot => "11-rlvm-snapshot.sh",
    pvscan_autoactivate => "14-pvscan-autoactivate.sh",
    snapshot_invalid => "16-snapshot-invalid.sh",
    differential_lvm2 => "12-differential-lvm2.sh",
    failure => "13-failure.sh",
    rlvm_rename => "15-rlvm-rename.sh",
    udev => "17-udev.sh",
    persistent_minor => "18-persistent-minor.sh",
    merge => "19-merge.sh",
    offline_merge => "20-offline-merge.sh",
}

#[test]
fn every_scenario_file_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(repo_root().join("tests/vm/scenarios"))
        .expect("tests/vm/scenarios")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f.ends_with(".sh"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SCENARIO_FILES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "add each tests/vm/scenarios/*.sh to `scenarios!` in tests/vm.rs"
    );
}

/// Runs a host-built test executable in the guest, one test at a time (they share the disks).
fn run_test_binary_in_vm(name: &str, exe: &Path) {
    let Some(image) = image_or_skip(name) else {
        return;
    };
    let mut vm = Vm::builder(name)
        .executable(exe, &["--test-threads=1"])
        .build(image)
        .unwrap_or_else(|e| panic!("{e}"));
    vm.boot().unwrap_or_else(|e| panic!("{e}")).assert_success();
}

/// The executable cargo builds for integration test `target`, with the profile this test
/// binary was built with; `None` if the target does not exist.
fn cargo_test_executable(target: &str) -> Option<PathBuf> {
    if !repo_root().join(format!("tests/{target}.rs")).exists() {
        return None;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root()).args([
        "test",
        "--no-run",
        "--message-format=json",
        "--test",
        target,
    ]);
    let me = std::env::current_exe().expect("current_exe");
    if me.components().any(|c| c.as_os_str() == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "cargo test --no-run --test {target} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One JSON object per line; the test target's artifact carries "executable".
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let is_it = v["reason"] == "compiler-artifact"
                && v["target"]["name"] == target
                && v["target"]["kind"][0] == "test";
            is_it.then(|| v["executable"].as_str().map(PathBuf::from))?
        })
}

#[test]
fn dm_kernel_in_vm() {
    match cargo_test_executable("dm_kernel") {
        Some(exe) => run_test_binary_in_vm("dm_kernel", &exe),
        None => eprintln!("tests/dm_kernel.rs does not exist yet; nothing to run"),
    }
}

/// `RLVM_VM_TEST_BINS=/path/a:/path/b`: more host-built test executables to run in the guest.
#[test]
fn extra_test_binaries_in_vm() {
    let Ok(list) = std::env::var("RLVM_VM_TEST_BINS") else {
        return;
    };
    for exe in list.split(':').filter(|s| !s.is_empty()) {
        let exe = Path::new(exe);
        let name = exe
            .file_name()
            .map_or("test-bin".into(), |n| n.to_string_lossy());
        run_test_binary_in_vm(&name, exe);
    }
}

/// Disk files outlive a boot, clean or cut: later boots see what earlier ones wrote (what
/// reboot and power-cut scenarios rely on).
#[test]
fn disks_survive_a_reboot() {
    let Some(image) = image_or_skip("reboot") else {
        return;
    };
    let script = repo_root().join("tests/vm/support/reboot-check.sh");
    let mut vm = Vm::builder("reboot")
        .disks(&[harness::MIB * 16])
        .scenario(&script)
        .build(image)
        .unwrap_or_else(|e| panic!("{e}"));
    vm.boot().unwrap_or_else(|e| panic!("{e}")).assert_success();
    let cut = vm
        .boot_with(Boot::new().power_cut_at("BOOT2-WRITTEN"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cut.power_cut && cut.rc.is_none(),
        "boot 2 should have been cut: {cut:?}"
    );
    vm.boot().unwrap_or_else(|e| panic!("{e}")).assert_success();
}

/// scripts/vm/run-on-host.sh, run in the guest on loop devices: the one place this machine
/// has a dm-capable kernel to try it on.
#[test]
fn host_runner_in_vm() {
    let Some(image) = image_or_skip("host-runner") else {
        return;
    };
    let mut builder = Vm::builder("host-runner")
        .disks(&[])
        .memory_mib(768)
        .scenario(repo_root().join("tests/vm/support/host-runner-in-vm.sh"));
    for f in [
        "scripts/vm/run-on-host.sh",
        "scripts/vm/lvm.conf.sh",
        "tests/vm/lib.sh",
        "tests/vm/scenarios/00-kernel-smoke.sh",
    ] {
        builder = builder.file(repo_root().join(f), Path::new("/repo").join(f));
    }
    let mut vm = builder.build(image).unwrap_or_else(|e| panic!("{e}"));
    vm.boot().unwrap_or_else(|e| panic!("{e}")).assert_success();
}

/// Deferred and scheduled merges survive a reboot and are finished by the boot's activation
/// alone; a merge cut by a power failure is resumed by the next activation
/// (tests/vm/support/merge-reboot.sh).
#[test]
fn merge_across_reboots() {
    let Some(image) = image_or_skip("merge-reboot") else {
        return;
    };
    let mut vm = Vm::builder("merge-reboot")
        .disks(&[harness::MIB * 64, harness::MIB * 64, harness::MIB])
        .scenario(repo_root().join("tests/vm/support/merge-reboot.sh"))
        .build(image)
        .unwrap_or_else(|e| panic!("{e}"));
    vm.boot().unwrap_or_else(|e| panic!("{e}")).assert_success();
    let cut = vm
        .boot_with(Boot::new().power_cut_at("POWER-CUT-NOW"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cut.power_cut && cut.rc.is_none(),
        "{}",
        cut.failure_report("boot 2 should have been cut mid-merge")
    );
    vm.boot().unwrap_or_else(|e| panic!("{e}")).assert_success();
}

/// `lvconvert --merge --offline` cut by a power failure at a random point of the copy; the
/// next boot's activation finishes the merge with the right bytes: rlvm's (boot 2, which then
/// sets up and cuts a second merge) and LVM2's (boot 3). tests/vm/support/offline-merge-crash.sh.
#[test]
fn offline_merge_power_cut() {
    let Some(image) = image_or_skip("offline-merge-crash") else {
        return;
    };
    let mut vm = Vm::builder("offline-merge-crash")
        .disks(&[harness::MIB * 96, harness::MIB * 96])
        .scenario(repo_root().join("tests/vm/support/offline-merge-crash.sh"))
        .build(image)
        .unwrap_or_else(|e| panic!("{e}"));
    let boots = [
        Boot::new().env("RLVM_CUT", "1"),
        Boot::new().env("RLVM_RECOVER", "rlvm").env("RLVM_CUT", "1"),
        Boot::new().env("RLVM_RECOVER", "lvm2"),
    ];
    let last = boots.len() - 1;
    for (i, boot) in boots.into_iter().enumerate() {
        let cut = i < last;
        let boot = if cut {
            boot.power_cut_at("POWER-CUT-NOW")
        } else {
            boot
        };
        let out = vm.boot_with(boot).unwrap_or_else(|e| panic!("{e}"));
        let console = std::fs::read_to_string(&out.console).unwrap_or_default();
        for line in console
            .lines()
            .filter(|l| l.starts_with("CUT LANDED") || l.starts_with("cutting "))
        {
            harness::shout(&format!("offline_merge_power_cut boot {}: {line}\n", i + 1));
        }
        if cut {
            assert!(
                out.power_cut,
                "{}",
                out.failure_report("boot should have been cut mid-merge")
            );
        } else {
            out.assert_success();
        }
    }
}

/// rlvm built with the `failpoints` feature (its own target directory, so the normal build
/// never has them), without debug info: 22 MB instead of 89, so the guest can copy it to a
/// small LV (kill-midop.sh) and every boot packs less.
fn failpoints_rlvm() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let dir = repo_root().join("target/failpoints");
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .args([
            "build",
            "--features",
            "failpoints",
            "--bin",
            "rlvm",
            "--target-dir",
        ])
        .arg(&dir)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build --features failpoints failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("debug/rlvm")
}

/// Every step of starting and finishing a merge (src/ops/mod.rs `update`): rlvm killed
/// there and the power cut; the next boot's activation finishes the merge with the right
/// data and nothing left over (tests/vm/support/merge-crash.sh). One boot recovers the
/// previous crash and sets up the next.
#[test]
fn merge_crash_at_every_step() {
    let Some(image) = image_or_skip("merge-crash") else {
        return;
    };
    let points: Vec<String> = ["merge-start", "merge-finish"]
        .iter()
        .flat_map(|op| {
            ["precommitted", "suspended", "committed", "resumed"]
                .iter()
                .map(move |step| format!("{op}:{step}"))
        })
        .collect();
    let mut vm = Vm::builder("merge-crash")
        .disks(&[harness::MIB * 48, harness::MIB * 48])
        .scenario(repo_root().join("tests/vm/support/merge-crash.sh"))
        .rlvm(Some(failpoints_rlvm()))
        .build(image)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut previous: Option<&str> = None;
    for point in points.iter().map(Some).chain([None]) {
        let mut boot = Boot::new();
        if let Some(p) = previous {
            boot = boot.env("RLVM_RECOVER", p);
        }
        if let Some(p) = point {
            boot = boot
                .env("RLVM_CRASH_AT", p)
                .power_cut_at("CRASHED-AT-FAILPOINT");
        }
        let out = vm.boot_with(boot).unwrap_or_else(|e| panic!("{e}"));
        match point {
            Some(p) => assert!(
                out.power_cut,
                "{}",
                out.failure_report(&format!("no crash at {p}"))
            ),
            None => out.assert_success(),
        }
        previous = point.map(String::as_str);
    }
}

/// kill -9 before every device-mapper ioctl of lvcreate -s, lvremove, lvcreate, lvrename,
/// vgchange -an/-ay, lvchange -an/-ay and lvconvert --merge; one ordinary follow-up command
/// repairs everything (tests/vm/support/kill-midop.sh).
#[test]
fn kill_mid_operation() {
    let Some(image) = image_or_skip("kill-midop") else {
        return;
    };
    let mut vm = Vm::builder("kill-midop")
        .disks(&[harness::MIB * 48, harness::MIB * 48])
        .scenario(repo_root().join("tests/vm/support/kill-midop.sh"))
        .rlvm(Some(failpoints_rlvm()))
        .timeout(std::time::Duration::from_secs(1500))
        .build(image)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = vm.boot().unwrap_or_else(|e| panic!("{e}"));
    out.assert_success();
    let console = std::fs::read_to_string(&out.console).unwrap_or_default();
    // The counts (kills, kills mid-operation, recoveries) and the memory locked while a
    // device was suspended, for the record.
    for line in console
        .lines()
        .filter(|l| l.starts_with("KILLS ") || l.starts_with("rlvm from "))
    {
        harness::shout(&format!("kill_mid_operation: {line}\n"));
    }
}
