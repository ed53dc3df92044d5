//! Whether VM tests run here, and the kernel and base initramfs they boot (built by
//! scripts/vm/build-image.sh, once per test process). Host side only.

use super::qemu::qemu_binary;
use super::repo_root;
use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// VM tests must run (a missing qemu or kernel fails them) in CI (`CI` set, not "false"/"0")
/// or with `RLVM_VM_TESTS=1`. Elsewhere they run when they can and are skipped loudly when
/// they cannot; `RLVM_VM_TESTS=0` skips them outside CI.
pub fn vm_tests_required() -> bool {
    let truthy = |v: &str| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false");
    std::env::var("CI").is_ok_and(|v| truthy(&v))
        || std::env::var("RLVM_VM_TESTS").is_ok_and(|v| v == "1")
}

fn vm_tests_disabled() -> bool {
    std::env::var("RLVM_VM_TESTS").is_ok_and(|v| v == "0")
}

/// The kernel and base initramfs, built (or found cached) once per test process.
#[derive(Debug)]
pub struct Image {
    pub vmlinuz: PathBuf,
    pub base: PathBuf,
    pub kernel_version: String,
}

fn build_image() -> Result<Image, String> {
    let qemu = Command::new(qemu_binary()).arg("--version").output();
    if !qemu.is_ok_and(|o| o.status.success()) {
        return Err(format!("{} not found or not runnable", qemu_binary()));
    }
    let script = repo_root().join("scripts/vm/build-image.sh");
    let out = Command::new(&script)
        .arg("--quiet")
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
    let kernel_version = fs::read_to_string(dir.join("kernel-version"))
        .map_err(|e| format!("{}/kernel-version: {e}", dir.display()))?;
    Ok(Image {
        vmlinuz: dir.join("vmlinuz"),
        base: dir.join("base.cpio.gz"),
        kernel_version: kernel_version.trim().to_owned(),
    })
}

/// Prints to the real stderr: libtest captures `eprintln!` of passing tests, and a skipped VM
/// test must not pass unnoticed.
pub fn shout(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// The image if VM tests can run here; `None` after a loud message if they cannot and need
/// not. Panics if they cannot and must.
pub fn image_or_skip(test: &str) -> Option<&'static Image> {
    static IMAGE: OnceLock<Result<Image, String>> = OnceLock::new();
    let required = vm_tests_required();
    if vm_tests_disabled() && !required {
        shout(&format!("*** SKIPPED VM test {test}: RLVM_VM_TESTS=0"));
        return None;
    }
    match IMAGE.get_or_init(build_image) {
        Ok(image) => Some(image),
        Err(why) if required => panic!(
            "VM test {test} cannot run, and VM tests are required here (CI or RLVM_VM_TESTS=1): {why}"
        ),
        Err(why) => {
            shout(&format!(
                "\n*** SKIPPED VM test {test}: {why}\n*** (run scripts/install-deps.sh; CI=true or RLVM_VM_TESTS=1 makes this a failure)\n"
            ));
            None
        }
    }
}
