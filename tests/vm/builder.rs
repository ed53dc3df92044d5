//! What a test VM is made of: disks, the scenario, extra files, limits. Creating the VM's
//! directory and disk files is the only I/O here.

use super::image::Image;
use super::{err, Vm, VmError, MIB};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[derive(Clone, Debug)]
pub(crate) enum Scenario {
    /// A guest shell script (tests/vm/scenarios/*.sh).
    Script(PathBuf),
    /// A host-built executable (e.g. a `cargo test --no-run` test binary) run with arguments.
    Executable { path: PathBuf, args: Vec<String> },
}

/// What a VM is made of; see [`Vm::builder`].
#[derive(Clone, Debug)]
pub struct VmBuilder {
    pub(crate) name: String,
    /// Explicit settings; unset ones come from the script's `# vm:` line, then defaults.
    pub(crate) disks: Option<Vec<u64>>,
    pub(crate) scenario: Option<Scenario>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) files: Vec<(PathBuf, PathBuf)>,
    pub(crate) bins: Vec<PathBuf>,
    pub(crate) rlvm: Option<PathBuf>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) memory_mib: Option<u32>,
    pub(crate) cpus: u32,
    /// A kernel and an initramfs of the test's own instead of the image's with an overlay.
    pub(crate) boot_files: Option<(PathBuf, PathBuf)>,
    /// Appended to the kernel command line of every boot.
    pub(crate) cmdline: Vec<String>,
    pub(crate) start_timeout: Option<Duration>,
    pub(crate) exit_timeout: Option<Duration>,
}

impl VmBuilder {
    /// Scratch disks, one raw file each, seen in the guest as /dev/vda, /dev/vdb, ...
    pub fn disks(mut self, sizes: &[u64]) -> Self {
        self.disks = Some(sizes.to_vec());
        self
    }

    /// The guest script every [`Vm::boot`] runs. Its `# vm:` header line, if any, gives the
    /// disks, timeout and memory that no builder call sets (see [`ScenarioHeader`]).
    pub fn scenario(mut self, path: impl Into<PathBuf>) -> Self {
        self.scenario = Some(Scenario::Script(path.into()));
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
        self.timeout = Some(timeout);
        self
    }

    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = Some(mib);
        self
    }

    pub fn cpus(mut self, cpus: u32) -> Self {
        self.cpus = cpus;
        self
    }

    /// Boots this kernel and initramfs (e.g. one made by dracut for a disk image's root)
    /// instead of the test image with a scenario overlay: then no scenario is needed, and what
    /// runs in the guest must print the start and result markers itself.
    pub fn boot_files(mut self, vmlinuz: impl Into<PathBuf>, initrd: impl Into<PathBuf>) -> Self {
        self.boot_files = Some((vmlinuz.into(), initrd.into()));
        self
    }

    /// Appended to the kernel command line of every boot (e.g. `root=/dev/vg0/root ro`).
    pub fn cmdline(mut self, extra: &str) -> Self {
        self.cmdline.push(extra.to_owned());
        self
    }

    /// How long the guest may take from qemu's start to the start marker (default 90 s; a
    /// full init system under TCG needs more). Scaled like the timeout.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// How long qemu may take to exit after the result marker (default 15 s; a clean
    /// shutdown of a full init system needs more). Scaled like the timeout.
    pub fn exit_timeout(mut self, timeout: Duration) -> Self {
        self.exit_timeout = Some(timeout);
        self
    }

    /// Creates the VM's directory and disk files; boots nothing yet.
    pub fn build(mut self, image: &'static Image) -> Result<Vm, VmError> {
        let header = match &self.scenario {
            None if self.boot_files.is_some() => ScenarioHeader::default(),
            None => return err(format!("VM {}: no scenario", self.name)),
            Some(Scenario::Script(path)) => fs::read_to_string(path)
                .map(|text| ScenarioHeader::parse(&text))
                .map_err(|e| VmError(format!("{}: {e}", path.display())))?,
            Some(Scenario::Executable { .. }) => ScenarioHeader::default(),
        };
        let disk_sizes = self.disks.clone().unwrap_or_else(|| {
            vec![header.disk_size.unwrap_or(64 * MIB); header.disks.unwrap_or(3)]
        });
        let timeout = self
            .timeout
            .or(header.timeout)
            .unwrap_or(Duration::from_secs(300));
        let memory_mib = self.memory_mib.or(header.memory_mib).unwrap_or(512);
        // The header's CPUs unless the test asked for more than one itself.
        if self.cpus <= 1 {
            self.cpus = header.cpus.unwrap_or(self.cpus).max(1);
        }
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("vm")
            .join(format!(
                "{}-{}-{}",
                self.name,
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| VmError(format!("{}: {e}", dir.display())))?;
        let mut disks = Vec::new();
        for (i, size) in disk_sizes.iter().enumerate() {
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
            timeout,
            memory_mib,
            boots: 0,
            keep: false,
        })
    }
}

/// Per-scenario defaults from a script's header line, e.g.
/// `# vm: disks=3 size=64M timeout=120 memory=512 cpus=2`.
#[derive(Debug, Default, PartialEq)]
pub struct ScenarioHeader {
    pub disks: Option<usize>,
    /// Guest CPUs (1 unless given): a scenario that tests what rlvm does on several
    /// threads only when the machine has several CPUs asks for 2.
    pub cpus: Option<u32>,
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
                "cpus" => h.cpus = value.parse().ok(),
                _ => {}
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_header() {
        let h = ScenarioHeader::parse("#!/bin/sh\n# vm: disks=2 size=128M timeout=60 cpus=2\n");
        assert_eq!(h.disks, Some(2));
        assert_eq!(h.cpus, Some(2));
        assert_eq!(h.disk_size, Some(128 * MIB));
        assert_eq!(h.timeout, Some(Duration::from_secs(60)));
        assert_eq!(
            ScenarioHeader::parse("#!/bin/sh\n"),
            ScenarioHeader::default()
        );
    }
}
