//! Host side of the real-kernel test VM: boots a stock Debian kernel with device-mapper under
//! qemu (TCG: KVM is not usable on these machines) and runs one guest scenario per boot.
//!
//! Touches no kernel of its own; it writes scratch disk files and runs `scripts/vm/*.sh` and
//! `qemu-system-x86_64`. The guest side is `scripts/vm/init.sh`, which prints
//! `RLVM-SCENARIO-START` and `RLVM-SCENARIO-RESULT <name> rc=<n>` on the serial console.
//!
//! ```ignore
//! let mut vm = Vm::builder("reboot").disks(&[64 * MIB; 3]).scenario(path).build()?;
//! vm.boot()?.assert_success();                 // boot 1
//! vm.boot_with(Boot::new().power_cut_at("MERGING"))?; // boot 2, same disk files, killed
//! vm.boot()?.assert_success();                 // boot 3 sees what reached the disks
//! ```
//! qemu is always killed: on timeout, on error and on panic (a `Drop` guard, plus
//! `PR_SET_PDEATHSIG` should the test process itself die). A failed boot keeps its directory
//! (console log and disks) under `target/tmp/vm/` and says where; `RLVM_VM_KEEP=1` keeps
//! every boot's.
#![allow(dead_code)] // each test binary that includes this module uses a different part of it

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1 << 20;
const START_MARKER: &str = "RLVM-SCENARIO-START ";
const RESULT_MARKER: &str = "RLVM-SCENARIO-RESULT ";
const POLL: Duration = Duration::from_millis(50);
/// How long the guest may take from qemu's start to the scenario's first line.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long qemu may take to exit after the result marker (`poweroff -f`).
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
const CONSOLE_TAIL_LINES: usize = 60;

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

fn err<T>(msg: impl Into<String>) -> Result<T, VmError> {
    Err(VmError(msg.into()))
}

// ---- whether VM tests run here --------------------------------------------------------------

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

fn qemu_binary() -> String {
    std::env::var("RLVM_VM_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".to_owned())
}

// ---- building a VM --------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Scenario {
    /// A guest shell script (tests/vm/scenarios/*.sh).
    Script(PathBuf),
    /// A host-built executable (e.g. a `cargo test --no-run` test binary) run with arguments.
    Executable { path: PathBuf, args: Vec<String> },
}

/// What a VM is made of; see [`Vm::builder`].
#[derive(Clone, Debug)]
pub struct VmBuilder {
    name: String,
    disks: Vec<u64>,
    scenario: Option<Scenario>,
    env: Vec<(String, String)>,
    files: Vec<(PathBuf, PathBuf)>,
    bins: Vec<PathBuf>,
    rlvm: Option<PathBuf>,
    timeout: Duration,
    memory_mib: u32,
    cpus: u32,
}

impl VmBuilder {
    /// Scratch disks, one raw file each, seen in the guest as /dev/vda, /dev/vdb, ...
    pub fn disks(mut self, sizes: &[u64]) -> Self {
        self.disks = sizes.to_vec();
        self
    }

    /// The guest script every [`Vm::boot`] runs. Its `# vm:` header line, if any, sets
    /// defaults (see [`ScenarioHeader`]); builder calls made after this one override them.
    pub fn scenario(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if let Ok(text) = fs::read_to_string(&path) {
            let header = ScenarioHeader::parse(&text);
            if let Some(n) = header.disks {
                self.disks = vec![header.disk_size.unwrap_or(64 * MIB); n];
            }
            if let Some(t) = header.timeout {
                self.timeout = t;
            }
            if let Some(m) = header.memory_mib {
                self.memory_mib = m;
            }
        }
        self.scenario = Some(Scenario::Script(path));
        self
    }

    /// Runs a host executable in the guest instead of a script, at its host path (so paths it
    /// was built with, like `CARGO_BIN_EXE_rlvm`, still hold). Its libraries come along.
    pub fn executable(mut self, path: impl Into<PathBuf>, args: &[&str]) -> Self {
        self.scenario = Some(Scenario::Executable {
            path: path.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        });
        self
    }

    /// Exported in the guest before the scenario runs.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A host file copied into the guest at `guest`.
    pub fn file(mut self, host: impl Into<PathBuf>, guest: impl Into<PathBuf>) -> Self {
        self.files.push((host.into(), guest.into()));
        self
    }

    /// A host executable (with its shared libraries) at the same path in the guest.
    pub fn bin(mut self, host: impl Into<PathBuf>) -> Self {
        self.bins.push(host.into());
        self
    }

    /// The rlvm binary put first on the guest's PATH; default: the one cargo built for tests.
    pub fn rlvm(mut self, path: Option<PathBuf>) -> Self {
        self.rlvm = path;
        self
    }

    /// Hard limit for one boot, from qemu's start to its exit. Scaled by
    /// `RLVM_VM_TIMEOUT_SCALE` (e.g. 3 on a slow machine).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = mib;
        self
    }

    pub fn cpus(mut self, cpus: u32) -> Self {
        self.cpus = cpus;
        self
    }

    /// Creates the VM's directory and disk files; boots nothing yet.
    pub fn build(self, image: &'static Image) -> Result<Vm, VmError> {
        if self.scenario.is_none() {
            return err(format!("VM {}: no scenario", self.name));
        }
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vm").join(format!(
            "{}-{}-{}",
            self.name,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| VmError(format!("{}: {e}", dir.display())))?;
        let mut disks = Vec::new();
        for (i, size) in self.disks.iter().enumerate() {
            let path = dir.join(format!("disk{i}.img"));
            let f = fs::File::create(&path).and_then(|f| f.set_len(*size).map(|_| f));
            f.map_err(|e| VmError(format!("{}: {e}", path.display())))?;
            disks.push(path);
        }
        Ok(Vm {
            cfg: self,
            image,
            dir,
            disks,
            boots: 0,
            keep: false,
        })
    }
}

/// Per-scenario defaults from a script's header line, e.g.
/// `# vm: disks=3 size=64M timeout=120 memory=512`.
#[derive(Debug, Default, PartialEq)]
pub struct ScenarioHeader {
    pub disks: Option<usize>,
    pub disk_size: Option<u64>,
    pub timeout: Option<Duration>,
    pub memory_mib: Option<u32>,
}

impl ScenarioHeader {
    pub fn parse(script: &str) -> Self {
        let mut h = ScenarioHeader::default();
        let Some(line) = script.lines().find_map(|l| l.strip_prefix("# vm:")) else {
            return h;
        };
        for word in line.split_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            match key {
                "disks" => h.disks = value.parse().ok(),
                "size" => {
                    h.disk_size = value
                        .strip_suffix('M')
                        .and_then(|m| m.parse::<u64>().ok())
                        .map(|m| m * MIB)
                }
                "timeout" => h.timeout = value.parse().ok().map(Duration::from_secs),
                "memory" => h.memory_mib = value.parse().ok(),
                _ => {}
            }
        }
        h
    }
}

// ---- running it -----------------------------------------------------------------------------

/// Options for one boot; [`Vm::boot`] uses the defaults.
#[derive(Clone, Debug, Default)]
pub struct Boot {
    scenario: Option<Scenario>,
    env: Vec<(String, String)>,
    power_cut_at: Option<String>,
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

fn console_tail(path: &Path) -> String {
    let text = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(CONSOLE_TAIL_LINES)..].join("\n")
}

/// A VM: a directory with its disk files, booted any number of times.
pub struct Vm {
    cfg: VmBuilder,
    image: &'static Image,
    dir: PathBuf,
    disks: Vec<PathBuf>,
    boots: u32,
    /// Set once a boot fails: the directory then outlives the test, for a post-mortem.
    keep: bool,
}

impl Vm {
    pub fn builder(name: &str) -> VmBuilder {
        VmBuilder {
            name: name.to_owned(),
            disks: vec![64 * MIB; 3],
            scenario: None,
            env: Vec::new(),
            files: Vec::new(),
            bins: Vec::new(),
            rlvm: Some(PathBuf::from(env!("CARGO_BIN_EXE_rlvm"))),
            timeout: Duration::from_secs(300),
            memory_mib: 512,
            cpus: 1,
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
        let overlay = self.dir.join(format!("boot{n}.overlay.cpio.gz"));
        self.pack_overlay(n, scenario.expect("checked by build"), boot, &overlay)?;
        let initrd = self.dir.join(format!("boot{n}.initrd"));
        concat(&[&self.image.base, &overlay], &initrd)?;
        let console = self.dir.join(format!("boot{n}.console.log"));
        let qemu_log = self.dir.join(format!("boot{n}.qemu.log"));

        let mut cmd = Command::new(qemu_binary());
        cmd.args(["-accel", "tcg,thread=multi", "-cpu", "max", "-nographic", "-no-reboot"])
            .args(["-nic", "none", "-monitor", "none"])
            .arg("-m")
            .arg(self.cfg.memory_mib.to_string())
            .arg("-smp")
            .arg(self.cfg.cpus.to_string())
            .arg("-kernel")
            .arg(&self.image.vmlinuz)
            .arg("-initrd")
            .arg(&initrd)
            .arg("-append")
            .arg("console=ttyS0 panic=-1 loglevel=4 printk.time=1")
            .arg("-serial")
            .arg(prefixed("file:", &console));
        for disk in &self.disks {
            cmd.arg("-drive")
                .arg(prefixed("format=raw,if=virtio,cache=writeback,file=", disk));
        }
        let qemu_out = fs::File::create(&qemu_log).map_err(|e| VmError(e.to_string()))?;
        cmd.stdin(Stdio::null())
            .stdout(qemu_out.try_clone().map_err(|e| VmError(e.to_string()))?)
            .stderr(qemu_out);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of the
        // parent; it makes the kernel kill qemu should this test process die without unwinding.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| VmError(format!("{}: {e}", qemu_binary())))?;
        let mut qemu = QemuGuard(child);

        let limit = self.cfg.timeout.mul_f64(timeout_scale());
        let deadline = started + limit;
        let start_deadline = started + START_TIMEOUT.mul_f64(timeout_scale()).min(limit);
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

        // Phase 1: the guest boots and starts the scenario.
        let seen = wait_until(start_deadline, || {
            let text = read_lossy(&console);
            if text.contains(START_MARKER) {
                return Some(true);
            }
            qemu.exited().then_some(false)
        });
        match seen {
            Some(true) => outcome.boot_time = started.elapsed(),
            Some(false) => return Err(fail("qemu exited before the scenario started".into(), &mut qemu, &outcome)),
            None => return Err(fail(format!("scenario did not start within {START_TIMEOUT:?} of boot"), &mut qemu, &outcome)),
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
        if !outcome.power_cut && wait_until(Instant::now() + EXIT_TIMEOUT, || qemu.exited().then_some(())).is_none() {
            return Err(fail(format!("guest did not power off within {EXIT_TIMEOUT:?} of its result"), &mut qemu, &outcome));
        }
        qemu.kill();
        outcome.total_time = started.elapsed();
        eprintln!(
            "VM {name} boot {n}: rc={:?}{} boot {:.1}s, scenario {:.1}s, total {:.1}s (kernel {})",
            outcome.rc,
            if outcome.power_cut { " (power cut)" } else { "" },
            outcome.boot_time.as_secs_f64(),
            outcome.scenario_time.as_secs_f64(),
            outcome.total_time.as_secs_f64(),
            self.image.kernel_version
        );
        if boot.power_cut_at.is_some() && !outcome.power_cut {
            return Err(VmError(outcome.failure_report("the power cut marker never appeared")));
        }
        Ok(outcome)
    }

    fn pack_overlay(&self, n: u32, scenario: &Scenario, boot: &Boot, out: &Path) -> Result<(), VmError> {
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
        let passthrough = ["RUST_BACKTRACE", "RUST_LOG", "RLVM_VM_SHELL"]
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
        let out = cmd.output().map_err(|e| VmError(format!("{}: {e}", script.display())))?;
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
            shout(&format!("VM {}: kept {} (console logs, disks)", self.cfg.name, self.dir.display()));
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

enum Done {
    Result(i32),
    PowerCut,
    Exited,
}

/// Kills and reaps qemu when dropped, whatever the path out (error, timeout, panic).
struct QemuGuard(Child);

impl QemuGuard {
    fn exited(&mut self) -> bool {
        !matches!(self.0.try_wait(), Ok(None))
    }

    fn kill(&mut self) {
        if !self.exited() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Drop for QemuGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` every [`POLL`] until it returns `Some` or `deadline` passes (`None`).
pub fn wait_until<T>(deadline: Instant, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(POLL);
    }
}

/// The scenario's exit status from a console log, once its result line is complete.
pub fn parse_result(console: &str) -> Option<i32> {
    let start = console.find(RESULT_MARKER)?;
    let line = &console[start..];
    let line = &line[..line.find('\n')?];
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("rc="))
        .and_then(|rc| rc.parse().ok())
}

fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into_owned()
}

fn timeout_scale() -> f64 {
    std::env::var("RLVM_VM_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0)
}

fn prefixed(prefix: &str, path: &Path) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(path);
    s
}

fn concat(parts: &[&Path], out: &Path) -> Result<(), VmError> {
    let mut f = fs::File::create(out).map_err(|e| VmError(format!("{}: {e}", out.display())))?;
    for p in parts {
        let mut src = fs::File::open(p).map_err(|e| VmError(format!("{}: {e}", p.display())))?;
        std::io::copy(&mut src, &mut f).map_err(|e| VmError(e.to_string()))?;
    }
    Ok(())
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_marker_needs_a_whole_line() {
        assert_eq!(parse_result("x\nRLVM-SCENARIO-RESULT smoke rc=0 uptime=3.1\n"), Some(0));
        assert_eq!(parse_result("RLVM-SCENARIO-RESULT smoke rc=17\n"), Some(17));
        assert_eq!(parse_result("RLVM-SCENARIO-RESULT smoke rc=1"), None);
        assert_eq!(parse_result("RLVM-SCENARIO-START smoke boot=1\n"), None);
    }

    #[test]
    fn scenario_header() {
        let h = ScenarioHeader::parse("#!/bin/sh\n# vm: disks=2 size=128M timeout=60\n");
        assert_eq!(h.disks, Some(2));
        assert_eq!(h.disk_size, Some(128 * MIB));
        assert_eq!(h.timeout, Some(Duration::from_secs(60)));
        assert_eq!(ScenarioHeader::parse("#!/bin/sh\n"), ScenarioHeader::default());
    }
}
