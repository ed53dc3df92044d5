//! The qemu process and what comes out of it: a guard that always kills it, wait-until
//! polling, the console log's result marker. Host side only.

use super::{VmError, CONSOLE_TAIL_LINES, POLL, RESULT_MARKER};
use std::ffi::OsString;
use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Instant;

pub(crate) fn qemu_binary() -> String {
    std::env::var("RLVM_VM_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".to_owned())
}

pub(crate) enum Done {
    Result(i32),
    PowerCut,
    Exited,
}

/// The kernel command line of every boot.
// no_timer_check: under software emulation on a loaded host the
// kernel's IO-APIC timer check can miss its ticks and panic
// ("IO-APIC + timer doesn't work!"); seen in a CI-like run.
// norandmaps: no address-space randomisation. TCG keeps the code it
// translated by guest address; with ASLR every exec maps binaries and
// libraries at new addresses and all their code is translated again.
// Without it 50 bash processes (a 100-step loop each) ran in 2.0-3.5 s
// instead of 6.1-7.4 s, and 30 rlvm commands in 2.0-4.4 s instead of
// 5.5-7.2 s (interleaved boots, same host); the LVM2 suite, mostly
// short-lived processes, gains the most. Nothing under test depends on
// ASLR.
pub(crate) const DEFAULT_CMDLINE: &str =
    "console=ttyS0 panic=-1 loglevel=4 printk.time=1 no_timer_check norandmaps";

/// Kills and reaps qemu when dropped, whatever the path out (error, timeout, panic).
pub(crate) struct QemuGuard(Child);

/// One boot's qemu: TCG (KVM is unusable on these machines), serial console to a file,
/// no network, no monitor, scratch disks as virtio raw files with the host's page cache.
pub(crate) struct QemuSpec<'a> {
    pub vmlinuz: &'a Path,
    pub initrd: &'a Path,
    pub memory_mib: u32,
    pub cpus: u32,
    pub disks: &'a [PathBuf],
    /// The kernel command line ([`DEFAULT_CMDLINE`] plus what the test adds).
    pub cmdline: &'a str,
    pub console: &'a Path,
    /// qemu's own stdout and stderr.
    pub log: &'a Path,
}

impl QemuGuard {
    pub(crate) fn spawn(spec: &QemuSpec) -> Result<Self, VmError> {
        let mut cmd = Command::new(qemu_binary());
        cmd.args(["-accel", "tcg,thread=multi", "-cpu", "max"])
            .args([
                "-nographic",
                "-no-reboot",
                "-nic",
                "none",
                "-monitor",
                "none",
            ])
            .arg("-m")
            .arg(spec.memory_mib.to_string())
            .arg("-smp")
            .arg(spec.cpus.to_string())
            .arg("-kernel")
            .arg(spec.vmlinuz)
            .arg("-initrd")
            .arg(spec.initrd)
            .arg("-append")
            .arg(spec.cmdline)
            .arg("-serial")
            .arg(prefixed("file:", spec.console));
        for disk in spec.disks {
            cmd.arg("-drive")
                .arg(prefixed("format=raw,if=virtio,cache=writeback,file=", disk));
        }
        let log = fs::File::create(spec.log)
            .map_err(|e| VmError(format!("{}: {e}", spec.log.display())))?;
        let log2 = log.try_clone().map_err(|e| VmError(e.to_string()))?;
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of the
        // parent; it makes the kernel kill qemu should this test process die without unwinding.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| VmError(format!("{}: {e}", qemu_binary())))?;
        Ok(QemuGuard(child))
    }

    pub(crate) fn exited(&mut self) -> bool {
        !matches!(self.0.try_wait(), Ok(None))
    }

    pub(crate) fn kill(&mut self) {
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

pub(crate) fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into_owned()
}

pub(crate) fn timeout_scale() -> f64 {
    std::env::var("RLVM_VM_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0)
}

pub(crate) fn prefixed(prefix: &str, path: &Path) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(path);
    s
}

pub(crate) fn concat(parts: &[&Path], out: &Path) -> Result<(), VmError> {
    let mut f = fs::File::create(out).map_err(|e| VmError(format!("{}: {e}", out.display())))?;
    for p in parts {
        let mut src = fs::File::open(p).map_err(|e| VmError(format!("{}: {e}", p.display())))?;
        std::io::copy(&mut src, &mut f).map_err(|e| VmError(e.to_string()))?;
    }
    Ok(())
}

pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub(crate) fn console_tail(path: &Path) -> String {
    let text = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(CONSOLE_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_marker_needs_a_whole_line() {
        assert_eq!(
            parse_result("x\nRLVM-SCENARIO-RESULT smoke rc=0 uptime=3.1\n"),
            Some(0)
        );
        assert_eq!(parse_result("RLVM-SCENARIO-RESULT smoke rc=17\n"), Some(17));
        assert_eq!(parse_result("RLVM-SCENARIO-RESULT smoke rc=1"), None);
        assert_eq!(parse_result("RLVM-SCENARIO-START smoke boot=1\n"), None);
    }
}
