//! Boot-time rollback, end to end, with real dracut, real systemd and the real kernel (qemu,
//! TCG): a Debian 12 root filesystem with systemd as init on an rlvm LV, rlvm installed into it
//! by scripts/install.sh, an initramfs built by Debian's dracut with the rlvm module from that
//! installation (scripts/vm/build-boot-image.sh; the root filesystem is cached in .vm-cache/).
//! The guest side is tests/boot/boot-test.sh, run by a unit of the test's own at the end of
//! each boot; the host names the step on the kernel command line (the root is what gets rolled
//! back, so it cannot remember).
//!
//! Needs root (loop device, mmdebstrap), dracut and mmdebstrap (scripts/install-deps.sh), plus
//! what the other VM tests need. In CI it must run; elsewhere it is skipped, with a message,
//! when it cannot run, and `RLVM_VM_TESTS=0` skips it. `RLVM_BOOT_TEST=core` stops after the
//! first three boots (the scheduled rollback), for a quicker run by hand.

#[path = "vm/harness.rs"]
mod harness;

use harness::{image_or_skip, repo_root, shout, Boot, Image, Outcome, Vm};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Skips (outside CI) or fails (in CI) with `why`.
fn cannot_run(test: &str, why: &str) -> Option<BootImage> {
    if ci() {
        panic!("boot test {test} cannot run, and it must in CI: {why}");
    }
    shout(&format!(
        "\n*** SKIPPED boot test {test}: {why}\n*** (as root, after scripts/install-deps.sh, it runs; in CI it must)\n"
    ));
    None
}

struct BootImage {
    dir: PathBuf,
    image: &'static Image,
}

impl BootImage {
    fn initrd_systemd(&self) -> PathBuf {
        self.dir.join("initrd-systemd.img")
    }
    fn initrd_shell(&self) -> PathBuf {
        self.dir.join("initrd-shell.img")
    }
}

/// Builds the disk and the two initramfs images (systemd and shell init) for this build of rlvm.
fn boot_image(test: &str) -> Option<BootImage> {
    if std::env::var("RLVM_VM_TESTS").is_ok_and(|v| v == "0") && !ci() {
        shout(&format!("*** SKIPPED boot test {test}: RLVM_VM_TESTS=0"));
        return None;
    }
    let image = image_or_skip(test)?;
    if !nix::unistd::Uid::effective().is_root() {
        return cannot_run(test, "needs root (loop device, mmdebstrap)");
    }
    for tool in ["dracut", "mmdebstrap", "mkfs.ext4"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("PATH=$PATH:/usr/sbin:/sbin command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return cannot_run(test, &format!("{tool} not found (scripts/install-deps.sh)"));
        }
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("boot-image-{test}"));
    let started = Instant::now();
    let out = Command::new(repo_root().join("scripts/vm/build-boot-image.sh"))
        .arg("--rlvm")
        .arg(env!("CARGO_BIN_EXE_rlvm"))
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("run scripts/vm/build-boot-image.sh");
    assert!(
        out.status.success(),
        "build-boot-image.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let timings = std::fs::read_to_string(dir.join("timings")).unwrap_or_default();
    shout(&format!(
        "boot test {test}: image built in {:.0}s ({})",
        started.elapsed().as_secs_f64(),
        timings.split_whitespace().collect::<Vec<_>>().join(" ")
    ));
    Some(BootImage { dir, image })
}

fn cp_sparse(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("--sparse=always")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success(), "cp {} {}", from.display(), to.display());
}

fn console(o: &Outcome) -> String {
    String::from_utf8_lossy(&std::fs::read(&o.console).unwrap_or_default()).into_owned()
}

fn expect_console(o: &Outcome, text: &str) {
    assert!(
        console(o).contains(text),
        "{}",
        o.failure_report(&format!("the console never said {text:?}"))
    );
}

fn boot(vm: &mut Vm, b: Boot) -> Outcome {
    let o = vm.boot_with(b).unwrap_or_else(|e| panic!("{e}"));
    o.assert_success();
    o
}

/// The proof: boot 1 snapshots the root, changes files, schedules the rollback with
/// `lvconvert --merge --onactivate` and reboots; boot 2 comes up on the pre-change root (the
/// initramfs started the merge before mounting it) and rlvm-finish-merges.service's poller
/// finishes the merge with nobody running a command; boot 3 (shell initramfs, no systemd in
/// it) is clean: nothing merging, only the root in the kernel (root=/dev/dm-0, vg0
/// activated by rd.auto=1, rd.lvm.conf=0), and a scheduled rollback undone with vgcfgrestore.
/// Then, on the same disk: rd.lvm=0 ignores a rollback (the boot stops in the initramfs),
/// rollbacks from the kernel command line (by name, by tag; missing and invalid snapshots
/// reported, the root booting unchanged by them; the undone one not merged), a boot into a
/// snapshot, and a power cut during a boot-time merge that the next boot finishes.
#[test]
fn rollback_across_reboots() {
    let Some(img) = boot_image("rollback") else {
        return;
    };
    let mut vm = Vm::builder("boot-rollback")
        .disks(&[harness::MIB * 1024])
        .boot_files(&img.image.vmlinuz, img.initrd_systemd())
        .cmdline("root=/dev/vg0/root ro")
        .memory_mib(768)
        .start_timeout(Duration::from_secs(420))
        .exit_timeout(Duration::from_secs(180))
        .timeout(Duration::from_secs(900))
        .build(img.image)
        .unwrap_or_else(|e| panic!("{e}"));
    cp_sparse(&img.dir.join("disk.img"), &vm.disk_paths()[0]);

    let mut times = Vec::new();
    let o = boot(&mut vm, Boot::new().cmdline("rlvm_test.step=prepare"));
    times.push(("prepare (systemd initramfs)", o.boot_time, o.total_time));
    let o = boot(&mut vm, Boot::new().cmdline("rlvm_test.step=rolled-back"));
    let text = console(&o);
    assert!(
        text.contains("ok: vg0/root_snap gone"),
        "{}",
        o.failure_report("merge not finished")
    );
    times.push(("rolled-back (systemd initramfs)", o.boot_time, o.total_time));
    // Boot 3 names the root by its kernel name (the initramfs makes no by-label or by-uuid
    // links for LVs): only rd.auto=1 has the initramfs activate vg0, whose only LV is the
    // root (rd.lvm.conf=0 leaves the initramfs without its lvm.conf). The step also schedules
    // a rollback and undoes it with vgcfgrestore (checked at the named boot).
    let o = boot(
        &mut vm,
        Boot::new()
            .initrd(img.initrd_shell())
            .cmdline("rlvm_test.step=clean root=/dev/dm-0 rd.lvm.conf=0 rd.auto=1"),
    );
    times.push((
        "clean, rd.auto=1 rd.lvm.conf=0 (shell initramfs)",
        o.boot_time,
        o.total_time,
    ));
    if std::env::var("RLVM_BOOT_TEST").is_ok_and(|v| v == "core") {
        report(&times);
        return;
    }

    // rd.lvm=0: no LVM in the initramfs; a rollback asked for next to it is ignored, with a
    // message. The root (an LV) is then never found: the boot gives up (rd.retry) and is cut
    // there. The next boot asks for the same rollback, which only works if nothing merged.
    let cut = vm
        .boot_with(
            Boot::new()
                .initrd(img.initrd_shell())
                .cmdline("rd.lvm=0 rd.rlvm.merge=vg0/snap_named rd.retry=20 rd.shell=0 rd.emergency=poweroff")
                .power_cut_during_boot("Could not boot."),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cut.power_cut && cut.rc.is_none(),
        "{}",
        cut.failure_report("the rd.lvm=0 boot should have stopped in the initramfs")
    );
    let text = console(&cut);
    assert!(
        text.contains("rd.rlvm.merge, rd.lvm.mergetags and rd.rlvm.snapshot are ignored")
            && !text.contains("rlvm: rolling"),
        "{}",
        cut.failure_report("rd.lvm=0 did not ignore the rollback")
    );
    times.push((
        "rd.lvm=0, cut in the initramfs (shell initramfs)",
        cut.boot_time,
        cut.total_time,
    ));

    // Rollback asked for on the kernel command line, with no command run first: by name (a
    // missing one next to it is reported and skipped), then by tag (an invalid one named next
    // to it is refused); the root comes up rolled back at that same boot.
    let o = boot(
        &mut vm,
        Boot::new()
            .initrd(img.initrd_shell())
            .cmdline("rlvm_test.step=named rd.rlvm.merge=vg0/nosuch,vg0/snap_named"),
    );
    expect_console(&o, "rlvm: cannot roll back to snapshot vg0/nosuch");
    expect_console(&o, "rlvm: booting the unchanged root");
    expect_console(&o, "rlvm: rolling vg0/root back to snapshot vg0/snap_named");
    times.push(("rd.rlvm.merge (shell initramfs)", o.boot_time, o.total_time));
    let o = boot(
        &mut vm,
        Boot::new()
            .cmdline("rlvm_test.step=tagged rd.lvm.mergetags=rollback rd.rlvm.merge=vg0/snap_bad"),
    );
    expect_console(&o, "rlvm: cannot roll back to snapshot vg0/snap_bad");
    expect_console(&o, "Unable to merge invalidated snapshot LV vg0/snap_bad.");
    expect_console(&o, "rlvm: rolling vg0/root back to snapshot vg0/snap_tag");
    times.push((
        "rd.lvm.mergetags (systemd initramfs)",
        o.boot_time,
        o.total_time,
    ));

    // Boot into a snapshot for one boot; the next normal boot is on the untouched origin.
    let o = boot(
        &mut vm,
        Boot::new().cmdline("rlvm_test.step=look rd.rlvm.snapshot=vg0/snap_look"),
    );
    expect_console(
        &o,
        "rlvm: mounting the root filesystem from snapshot /dev/vg0/snap_look",
    );
    times.push((
        "rd.rlvm.snapshot (systemd initramfs)",
        o.boot_time,
        o.total_time,
    ));
    let o = boot(
        &mut vm,
        Boot::new()
            .initrd(img.initrd_shell())
            .cmdline("rlvm_test.step=after-look"),
    );
    times.push((
        "after the snapshot boot (shell initramfs)",
        o.boot_time,
        o.total_time,
    ));

    // A power cut right after the initramfs started a merge (asked for on the command line,
    // its copy slowed down); the next boot resumes it, the poller finishes it.
    let cut = vm
        .boot_with(
            Boot::new()
                .cmdline("rd.rlvm.merge=vg0/snap_cut dm_snapshot.snapshot_copy_throttle=1")
                .power_cut_during_boot("rlvm: rolling vg0/root back to snapshot vg0/snap_cut"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cut.power_cut && cut.rc.is_none(),
        "{}",
        cut.failure_report("boot 8 should have been cut mid-merge")
    );
    times.push((
        "power cut in the initramfs mid-merge (systemd initramfs)",
        cut.boot_time,
        cut.total_time,
    ));
    let o = boot(
        &mut vm,
        Boot::new()
            .initrd(img.initrd_shell())
            .cmdline("rlvm_test.step=after-cut"),
    );
    times.push(("after the cut (shell initramfs)", o.boot_time, o.total_time));
    report(&times);
}

fn report(times: &[(&str, Duration, Duration)]) {
    for (what, to_test, total) in times {
        shout(&format!(
            "boot test: {what}: {:.0}s to the test step, {:.0}s in all",
            to_test.as_secs_f64(),
            total.as_secs_f64()
        ));
    }
}
