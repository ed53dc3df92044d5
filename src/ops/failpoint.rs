//! Test-only failpoints: named places in the operations where a test can
//! make rlvm die as if the power went out (SIGKILL to itself) or fail with
//! an error. Compiled in only with the `failpoints` cargo feature; without
//! it `hit` is an empty inline function.
//!
//! `RLVM_FAILPOINT=<name>` picks the place (names are
//! `<operation>:<step>`, e.g. `merge-start:suspended`, printed by
//! `RLVM_FAILPOINT=list`); `RLVM_FAILPOINT_MODE=error` returns an error
//! there instead of dying, `RLVM_FAILPOINT_MODE=report` prints how much of
//! rlvm's memory is locked there (`failpoint: NAME: VmLck N kB`, from
//! /proc/self/status) and goes on; `RLVM_FAILPOINT_MODE=wait` prints
//! `failpoint: NAME: waiting` and holds rlvm there until the file named by
//! `RLVM_FAILPOINT_GO` exists (at most 120 s), so that a test can change
//! things under a command that is between two steps.

use super::OpsError;

#[cfg(feature = "failpoints")]
pub fn hit(name: &str) -> Result<(), OpsError> {
    let Ok(want) = std::env::var("RLVM_FAILPOINT") else {
        return Ok(());
    };
    if want == "list" {
        eprintln!("failpoint: {name}");
        return Ok(());
    }
    if want != name {
        return Ok(());
    }
    match std::env::var("RLVM_FAILPOINT_MODE").as_deref() {
        Ok("error") => return Err(OpsError::Failpoint(name.to_string())),
        Ok("wait") => {
            eprintln!("failpoint: {name}: waiting");
            if let Some(go) = std::env::var_os("RLVM_FAILPOINT_GO") {
                let go = std::path::Path::new(&go);
                for _ in 0..12_000 {
                    if go.exists() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            return Ok(());
        }
        Ok("report") => {
            let kb = crate::dm::memlock::locked_kib().map_or("?".to_string(), |k| k.to_string());
            eprintln!("failpoint: {name}: VmLck {kb} kB");
            return Ok(());
        }
        _ => {}
    }
    eprintln!("failpoint: {name}: killing rlvm");
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    Ok(())
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) -> Result<(), OpsError> {
    Ok(())
}

/// `RLVM_KILL_AT_IOCTL=N` (failpoints builds only): the kernel as the
/// operations see it, with rlvm killing itself (SIGKILL) just before the
/// Nth call that changes device-mapper state (create, load, clear,
/// suspend, resume, remove, rename; counted from 1), or right after it
/// with `RLVM_KILL_AFTER=1`. For the interrupted-command tests: a kill can
/// land between any two ioctls of any command.
#[cfg(feature = "failpoints")]
pub fn wrap_kernel(kernel: Box<dyn crate::dm::exec::Kernel>) -> Box<dyn crate::dm::exec::Kernel> {
    match std::env::var("RLVM_KILL_AT_IOCTL")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        Some(n) => Box::new(Killing {
            inner: kernel,
            at: n,
            after: std::env::var("RLVM_KILL_AFTER").as_deref() == Ok("1"),
            calls: 0,
        }),
        None => kernel,
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn wrap_kernel(kernel: Box<dyn crate::dm::exec::Kernel>) -> Box<dyn crate::dm::exec::Kernel> {
    kernel
}

#[cfg(feature = "failpoints")]
struct Killing {
    inner: Box<dyn crate::dm::exec::Kernel>,
    at: u32,
    after: bool,
    calls: u32,
}

#[cfg(feature = "failpoints")]
impl Killing {
    fn step<T>(&mut self, what: &str, f: impl FnOnce(&mut dyn crate::dm::exec::Kernel) -> T) -> T {
        self.calls += 1;
        let hit = self.calls == self.at;
        if hit && !self.after {
            eprintln!(
                "failpoint: killing rlvm before ioctl {} ({what})",
                self.calls
            );
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
        let r = f(self.inner.as_mut());
        if hit && self.after {
            eprintln!(
                "failpoint: killing rlvm after ioctl {} ({what})",
                self.calls
            );
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
        r
    }
}

#[cfg(feature = "failpoints")]
impl crate::dm::exec::Kernel for Killing {
    fn list(&self) -> Result<Vec<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.inner.list()
    }
    fn list_wanted(
        &self,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.inner.list_wanted(want)
    }
    fn list_wanted_in(
        &self,
        listed: Vec<crate::dm::ioctl::Listed>,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.inner.list_wanted_in(listed, want)
    }
    fn list_picked(
        &self,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.inner.list_picked(want)
    }
    fn info(
        &self,
        name: &str,
    ) -> Result<Option<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.inner.info(name)
    }
    fn status(
        &self,
        name: &str,
    ) -> Result<Vec<(u64, u64, String, String)>, crate::dm::exec::KernelError> {
        self.inner.status(name)
    }
    fn status_if(
        &self,
        name: &str,
        uuid: &str,
    ) -> Result<Option<Vec<crate::dm::ioctl::TargetSpec>>, crate::dm::exec::KernelError> {
        self.inner.status_if(name, uuid)
    }
    fn create(
        &mut self,
        name: &str,
        uuid: &str,
        ro: bool,
        minor: Option<u32>,
    ) -> Result<crate::dm::target::DevNum, crate::dm::exec::KernelError> {
        self.step(&format!("create {name}"), |k| {
            k.create(name, uuid, ro, minor)
        })
    }
    fn load(
        &mut self,
        name: &str,
        table: &[crate::dm::target::TargetLine],
        ro: bool,
    ) -> Result<(), crate::dm::exec::KernelError> {
        self.step(&format!("load {name}"), |k| k.load(name, table, ro))
    }
    fn clear(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.step(&format!("clear {name}"), |k| k.clear(name))
    }
    fn suspend(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.step(&format!("suspend {name}"), |k| k.suspend(name))
    }
    fn resume(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.step(&format!("resume {name}"), |k| k.resume(name))
    }
    fn remove(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.step(&format!("remove {name}"), |k| k.remove(name))
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.step(&format!("rename {from}"), |k| k.rename(from, to))
    }
    // Not an ioctl: not counted.
    fn udev_wait(&mut self) -> Result<(), crate::dm::exec::KernelError> {
        self.inner.udev_wait()
    }
}
