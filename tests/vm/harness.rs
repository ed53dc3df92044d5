//! Host side of the real-kernel test VM: boots a stock Debian kernel with device-mapper under
//! qemu (TCG: KVM is not usable on these machines) and runs one guest scenario per boot.
//!
//! Touches no kernel of its own; it writes scratch disk files and runs `scripts/vm/*.sh` and
//! `qemu-system-x86_64`. The guest side is `scripts/vm/init.sh`, which prints
//! `RLVM-SCENARIO-START` and `RLVM-SCENARIO-RESULT <name> rc=<n>` on the serial console.
//!
//! ```ignore
//! let mut vm = Vm::builder("reboot").disks(&[64 * MIB; 3]).scenario(path).build(image)?;
//! vm.boot()?.assert_success();                 // boot 1
//! vm.boot_with(Boot::new().power_cut_at("MERGING"))?; // boot 2, same disk files, killed
//! vm.boot()?.assert_success();                 // boot 3 sees what reached the disks
//! ```
//! qemu is always killed: on timeout, on error and on panic (a `Drop` guard, plus
//! `PR_SET_PDEATHSIG` should the test process itself die). A failed boot keeps its directory
//! (console log and disks) under `target/tmp/vm/` and says where; `RLVM_VM_KEEP=1` keeps
//! every boot's.
//!
//! Parts: `image` (whether VM tests run here; the kernel and base initramfs), `builder`
//! (what a VM is made of), this file (booting it, one scenario per boot), `qemu` (the
//! process, polling and the console).
#![allow(dead_code)] // each test binary that includes this module uses a different part of it

mod builder;
mod image;
mod qemu;

#[allow(unused_imports)] // each test binary that includes this module uses a different part
pub use builder::{ScenarioHeader, VmBuilder};
#[allow(unused_imports)]
pub use image::{image_or_skip, shout, vm_tests_required, Image};
#[allow(unused_imports)]
pub use qemu::{parse_result, wait_until};

use builder::Scenario;
use qemu::{
    concat, console_tail, read_lossy, sh_quote, timeout_scale, Done, QemuGuard, QemuSpec,
    DEFAULT_CMDLINE,
};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1 << 20;
pub(crate) const START_MARKER: &str = "RLVM-SCENARIO-START ";
pub(crate) const RESULT_MARKER: &str = "RLVM-SCENARIO-RESULT ";
pub(crate) const POLL: Duration = Duration::from_millis(50);
/// How long the guest may take from qemu's start to the scenario's first line.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long qemu may take to exit after the result marker (`poweroff -f`).
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
pub(crate) const CONSOLE_TAIL_LINES: usize = 60;

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A harness failure: the VM could not be set up, run, or observed. A scenario that ran and
/// failed is not an error here: it is an [`Outcome`] with `rc != Some(0)`.
pub struct VmError(pub String);

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The message itself, so that `.unwrap()` shows a readable console tail.
impl fmt::Debug for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VmError {}

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, VmError> {
    Err(VmError(msg.into()))
}

// ---- running it -----------------------------------------------------------------------------

/// Options for one boot; [`Vm::boot`] uses the defaults.
#[derive(Clone, Debug, Default)]
pub struct Boot {
    scenario: Option<Scenario>,
    env: Vec<(String, String)>,
    power_cut_at: Option<String>,
    cmdline: Vec<String>,
    initrd: Option<PathBuf>,
    /// The power cut may come before the scenario starts (see `power_cut_during_boot`).
    cut_during_boot: bool,
}

impl Boot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Run this script instead of the VM's own.
    pub fn scenario(mut self, path: impl Into<PathBuf>) -> Self {
        self.scenario = Some(Scenario::Script(path.into()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Kill qemu (SIGKILL: a power cut, guest caches lost) as soon as this text appears on
    /// the console. What the guest wrote before then is on the disk files; a cut that never
    /// happened fails the boot.
    pub fn power_cut_at(mut self, console_text: &str) -> Self {
        self.power_cut_at = Some(console_text.to_owned());
        self
    }

    /// Like [`Boot::power_cut_at`], but the text is looked for from qemu's start, not only once
    /// the scenario has started: a cut during the boot itself (e.g. in an initramfs).
    pub fn power_cut_during_boot(mut self, console_text: &str) -> Self {
        self.power_cut_at = Some(console_text.to_owned());
        self.cut_during_boot = true;
        self
    }

    /// Appended to the kernel command line of this boot (after the VM's own additions).
    pub fn cmdline(mut self, extra: &str) -> Self {
        self.cmdline.push(extra.to_owned());
        self
    }

    /// This initramfs instead of the one given to [`VmBuilder::boot_files`].
    pub fn initrd(mut self, path: impl Into<PathBuf>) -> Self {
        self.initrd = Some(path.into());
        self
    }
}

/// What one boot did.
#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    pub boot: u32,
    /// The scenario's exit status; `None` if it never finished (power cut, crash, timeout).
    pub rc: Option<i32>,
    pub power_cut: bool,
    pub console: PathBuf,
    /// qemu start to the scenario's first line (kernel boot, module loading, disk probe).
    pub boot_time: Duration,
    /// The scenario itself, as the host saw it.
    pub scenario_time: Duration,
    /// qemu start to qemu exit.
    pub total_time: Duration,
}

impl Outcome {
    /// Panics, with the console's tail and where the whole log is, unless the scenario
    /// exited 0.
    pub fn assert_success(&self) {
        if self.rc != Some(0) {
            panic!("{}", self.failure_report("scenario failed"));
        }
    }

    pub fn failure_report(&self, what: &str) -> String {
        format!(
            "VM {} boot {}: {what} (rc={:?}); console log kept at {}\n--- last {CONSOLE_TAIL_LINES} console lines:\n{}",
            self.name,
            self.boot,
            self.rc,
            self.console.display(),
            console_tail(&self.console)
        )
    }
}

/// A VM: a directory with its disk files, booted any number of times.
pub struct Vm {
    pub(crate) cfg: VmBuilder,
    pub(crate) image: &'static Image,
    pub(crate) dir: PathBuf,
    pub(crate) disks: Vec<PathBuf>,
    /// Resolved from the builder and the scenario's header.
    pub(crate) timeout: Duration,
    pub(crate) memory_mib: u32,
    pub(crate) boots: u32,
    /// Set once a boot fails: the directory then outlives the test, for a post-mortem.
    pub(crate) keep: bool,
}

impl Vm {
    pub fn builder(name: &str) -> VmBuilder {
        VmBuilder {
            name: name.to_owned(),
            disks: None,
            scenario: None,
            env: Vec::new(),
            files: Vec::new(),
            bins: Vec::new(),
            rlvm: Some(PathBuf::from(env!("CARGO_BIN_EXE_rlvm"))),
            timeout: None,
            memory_mib: None,
            cpus: 1,
            boot_files: None,
            cmdline: Vec::new(),
            start_timeout: None,
            exit_timeout: None,
        }
    }

    pub fn disk_paths(&self) -> &[PathBuf] {
        &self.disks
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Boots with the VM's own scenario and waits for it to finish.
    pub fn boot(&mut self) -> Result<Outcome, VmError> {
        self.boot_with(Boot::new())
    }

    pub fn boot_with(&mut self, boot: Boot) -> Result<Outcome, VmError> {
        self.boots += 1;
        let n = self.boots;
        let result = self.run_boot(n, &boot);
        let failed = match &result {
            Ok(o) => o.rc != Some(0) && !(o.power_cut && boot.power_cut_at.is_some()),
            Err(_) => true,
        };
        if failed {
            self.keep = true;
        }
        result
    }

    fn run_boot(&mut self, n: u32, boot: &Boot) -> Result<Outcome, VmError> {
        let name = &self.cfg.name;
        let scenario = boot.scenario.as_ref().or(self.cfg.scenario.as_ref());
        let (vmlinuz, initrd) = match &self.cfg.boot_files {
            Some((vmlinuz, initrd)) => (
                vmlinuz.clone(),
                boot.initrd.clone().unwrap_or_else(|| initrd.clone()),
            ),
            None => {
                let overlay = self.dir.join(format!("boot{n}.overlay.cpio.gz"));
                self.pack_overlay(n, scenario.expect("checked by build"), boot, &overlay)?;
                let initrd = self.dir.join(format!("boot{n}.initrd"));
                concat(&[&self.image.base, &overlay], &initrd)?;
                (self.image.vmlinuz.clone(), initrd)
            }
        };
        let cmdline = std::iter::once(DEFAULT_CMDLINE)
            .chain(self.cfg.cmdline.iter().map(String::as_str))
            .chain(boot.cmdline.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let console = self.dir.join(format!("boot{n}.console.log"));
        let qemu_log = self.dir.join(format!("boot{n}.qemu.log"));

        let started = Instant::now();
        let mut qemu = QemuGuard::spawn(&QemuSpec {
            vmlinuz: &vmlinuz,
            initrd: &initrd,
            memory_mib: self.memory_mib,
            cpus: self.cfg.cpus,
            disks: &self.disks,
            cmdline: &cmdline,
            console: &console,
            log: &qemu_log,
        })?;

        let limit = self.timeout.mul_f64(timeout_scale());
        let deadline = started + limit;
        let start_timeout = self.cfg.start_timeout.unwrap_or(START_TIMEOUT);
        let start_deadline = started + start_timeout.mul_f64(timeout_scale()).min(limit);
        let mut outcome = Outcome {
            name: name.clone(),
            boot: n,
            rc: None,
            power_cut: false,
            console: console.clone(),
            boot_time: Duration::ZERO,
            scenario_time: Duration::ZERO,
            total_time: Duration::ZERO,
        };
        let fail = |why: String, qemu: &mut QemuGuard, outcome: &Outcome| {
            qemu.kill();
            let qemu_text = fs::read_to_string(&qemu_log).unwrap_or_default();
            VmError(format!(
                "{}{}",
                outcome.failure_report(&why),
                if qemu_text.trim().is_empty() {
                    String::new()
                } else {
                    format!("\n--- qemu said:\n{qemu_text}")
                }
            ))
        };

        // Phase 1: the guest boots and starts the scenario (or is cut during the boot).
        let mut cut_during_boot = false;
        let seen = wait_until(start_deadline, || {
            let text = read_lossy(&console);
            if let (true, Some(cut)) = (boot.cut_during_boot, &boot.power_cut_at) {
                if text.contains(cut.as_str()) {
                    qemu.kill();
                    cut_during_boot = true;
                    return Some(true);
                }
            }
            if text.contains(START_MARKER) {
                return Some(true);
            }
            qemu.exited().then_some(false)
        });
        if cut_during_boot {
            outcome.power_cut = true;
            outcome.boot_time = started.elapsed();
            outcome.total_time = started.elapsed();
            eprintln!(
                "VM {name} boot {n}: power cut during the boot after {:.1}s (kernel {})",
                outcome.total_time.as_secs_f64(),
                self.image.kernel_version
            );
            return Ok(outcome);
        }
        match seen {
            Some(true) => outcome.boot_time = started.elapsed(),
            Some(false) => {
                return Err(fail(
                    "qemu exited before the scenario started".into(),
                    &mut qemu,
                    &outcome,
                ))
            }
            None => {
                return Err(fail(
                    format!("scenario did not start within {start_timeout:?} of boot"),
                    &mut qemu,
                    &outcome,
                ))
            }
        }

        // Phase 2: the scenario runs to its result marker, or is cut short on purpose.
        let scenario_started = Instant::now();
        let done = wait_until(deadline, || {
            let text = read_lossy(&console);
            if let Some(cut) = &boot.power_cut_at {
                if text.contains(cut.as_str()) {
                    qemu.kill();
                    return Some(Done::PowerCut);
                }
            }
            if let Some(rc) = parse_result(&text) {
                return Some(Done::Result(rc));
            }
            qemu.exited().then_some(Done::Exited)
        });
        outcome.scenario_time = scenario_started.elapsed();
        match done {
            Some(Done::Result(rc)) => outcome.rc = Some(rc),
            Some(Done::PowerCut) => outcome.power_cut = true,
            Some(Done::Exited) => {
                return Err(fail("qemu exited before the scenario finished (kernel panic? power-off in the scenario?)".into(), &mut qemu, &outcome))
            }
            None => return Err(fail(format!("timed out after {limit:?}; qemu killed"), &mut qemu, &outcome)),
        }

        // Phase 3: the guest powers itself off.
        let exit_timeout = self
            .cfg
            .exit_timeout
            .map_or(EXIT_TIMEOUT, |t| t.mul_f64(timeout_scale()));
        if !outcome.power_cut
            && wait_until(Instant::now() + exit_timeout, || {
                qemu.exited().then_some(())
            })
            .is_none()
        {
            return Err(fail(
                format!("guest did not power off within {exit_timeout:?} of its result"),
                &mut qemu,
                &outcome,
            ));
        }
        qemu.kill();
        outcome.total_time = started.elapsed();
        eprintln!(
            "VM {name} boot {n}: rc={:?}{} boot {:.1}s, scenario {:.1}s, total {:.1}s (kernel {})",
            outcome.rc,
            if outcome.power_cut {
                " (power cut)"
            } else {
                ""
            },
            outcome.boot_time.as_secs_f64(),
            outcome.scenario_time.as_secs_f64(),
            outcome.total_time.as_secs_f64(),
            self.image.kernel_version
        );
        if boot.power_cut_at.is_some() && !outcome.power_cut {
            return Err(VmError(
                outcome.failure_report("the power cut marker never appeared"),
            ));
        }
        Ok(outcome)
    }

    fn pack_overlay(
        &self,
        n: u32,
        scenario: &Scenario,
        boot: &Boot,
        out: &Path,
    ) -> Result<(), VmError> {
        let script = repo_root().join("scripts/vm/pack-overlay.sh");
        let mut cmd = Command::new(&script);
        cmd.arg(out).arg("--name").arg(&self.cfg.name);
        match scenario {
            Scenario::Script(path) => {
                cmd.arg("--scenario").arg(path);
            }
            Scenario::Executable { path, args } => {
                let wrapper = self.dir.join(format!("boot{n}.scenario.sh"));
                let mut text = String::from("#!/bin/sh\n# Generated by tests/vm/harness.rs\nexec ");
                text.push_str(&sh_quote(&path.to_string_lossy()));
                for a in args {
                    text.push(' ');
                    text.push_str(&sh_quote(a));
                }
                text.push('\n');
                fs::write(&wrapper, text).map_err(|e| VmError(e.to_string()))?;
                cmd.arg("--scenario").arg(&wrapper).arg("--bin").arg(path);
            }
        }
        if let Some(rlvm) = &self.cfg.rlvm {
            cmd.arg("--rlvm").arg(rlvm);
        }
        for bin in &self.cfg.bins {
            cmd.arg("--bin").arg(bin);
        }
        for (host, guest) in &self.cfg.files {
            let mut spec = host.clone().into_os_string();
            spec.push(":");
            spec.push(guest);
            cmd.arg("--file").arg(spec);
        }
        let passthrough = ["RUST_BACKTRACE", "RUST_LOG"]
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)));
        let env = [
            ("RLVM_DISK_COUNT".to_owned(), self.disks.len().to_string()),
            ("RLVM_BOOT_INDEX".to_owned(), n.to_string()),
            ("RUST_BACKTRACE".to_owned(), "1".to_owned()),
        ]
        .into_iter()
        .chain(passthrough)
        .chain(self.cfg.env.iter().cloned())
        .chain(boot.env.iter().cloned());
        for (k, v) in env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        let out = cmd
            .output()
            .map_err(|e| VmError(format!("{}: {e}", script.display())))?;
        if !out.status.success() {
            return err(format!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let keep_all = std::env::var("RLVM_VM_KEEP").is_ok_and(|v| v == "1");
        if self.keep || keep_all || std::thread::panicking() {
            shout(&format!(
                "VM {}: kept {} (console logs, disks)",
                self.cfg.name,
                self.dir.display()
            ));
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
