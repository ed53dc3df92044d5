//! Interop with real LVM2 (Debian's `lvm2`) on loop devices, both
//! directions: each `tests/interop/*.sh` scenario drives `rlvm` and `lvm`
//! (metadata-only mode) against the same devices and checks what the other
//! tool reads back. Needs root, loop devices and `lvm`; without them the
//! tests are skipped, except under CI (CI=true), where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn prerequisites() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not root".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Err("no /dev/loop-control".into());
    }
    let lvm = Command::new("lvm").arg("version").output();
    if lvm.is_err() {
        return Err("no lvm binary (apt-get install lvm2)".into());
    }
    Ok(())
}

fn run_scenario(name: &str) {
    if let Err(why) = prerequisites() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("interop test {name} cannot run in CI: {why}");
        }
        eprintln!("skipped: interop test {name}: {why}");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let out = Command::new("bash")
        .arg(dir.join(name))
        .env("RLVM", env!("CARGO_BIN_EXE_rlvm"))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "interop scenario {name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("PASS"),
        "scenario {name} did not reach PASS:\n{stdout}"
    );
}

macro_rules! scenarios {
    ($($test:ident => $file:expr),* $(,)?) => {
        $(#[test] fn $test() { run_scenario($file); })*
    };
}

scenarios! {
    lvm_creates_rlvm_changes => "lvm-to-rlvm.sh",
    rlvm_creates_lvm_changes => "rlvm-to-lvm.sh",
    backups_both_ways => "backup.sh",
    damaged_copies => "damaged.sh",
    unsupported_vg_is_read_only => "readonly.sh",
    pvcreate_asks_before_wiping_signatures => "signatures.sh",
    missing_pv_and_test_mode_change_nothing => "missing.sh",
    reports_match_lvm2_byte_for_byte => "reports-match.sh",
    messages_match_lvm2 => "messages-match.sh",
    exported_vg_is_never_written => "exported.sh",
    duplicate_pvs_are_never_written => "duplicates.sh",
    failed_commands_write_nothing => "validate-first.sh",
    input_is_bounded => "bounded-input.sh",
    invalid_filter_fails_as_lvm2 => "filter-config.sh",
    names_and_exit_codes_match_lvm2 => "names-codes.sh",
    kill_9_leaves_no_temporary_files => "housekeeping.sh",
    foreign_vg_is_never_written => "foreign.sh",
    inconsistent_metadata_is_never_written => "inconsistent.sh",
    readers_lock_and_non_root_is_refused => "readers.sh",
    lv_arguments_and_hyphen_values_as_lvm2 => "arg-values.sh",
    unusable_lvm_conf_stops_every_command => "bad-config.sh",
    resize_as_lvm2 => "resize.sh",
    vgextend_vgreduce_as_lvm2 => "vgextend.sh",
    pvchange_as_lvm2 => "pvchange.sh",
    activation_skip_and_autoactivation_flags_as_lvm2 => "activation-flags.sh",
    pv_layouts_pvresize_and_metadataignore_as_lvm2 => "pv-layout.sh",
    pvck_as_lvm2 => "pvck.sh",
    fullreport_and_used_orphan_pvchange_as_lvm2 => "fullreport-used-pv.sh",
    vgsplit_as_lvm2 => "vgsplit.sh",
    removemissing_force_and_outdated_pvs_as_lvm2 => "removemissing.sh",
}
