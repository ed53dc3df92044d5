//! The kernel as operations use it: a `Kernel` (the real device-mapper or
//! the recording fake), how /dev nodes are made, and test mode. Runs plans
//! with interactive interrupts held, so a Ctrl-C cannot land between a
//! suspend and its resume.

use crate::dm::exec::{execute_with, Kernel, KernelError};
use crate::dm::kernel::DmKernel;
use crate::dm::nodes::Nodes;
use crate::dm::plan::{Interest, Op};
use crate::dm::state::KernelDevice;
use crate::metadata::model::Vg;

use super::OpsError;

/// An open connection to device-mapper plus how /dev nodes are made.
pub struct Dm {
    kernel: Box<dyn Kernel>,
    nodes: Nodes,
    /// `-t`: plans are computed, nothing is run.
    test: bool,
}

/// How to open the real device-mapper (from lvm.conf and the command line).
#[derive(Clone, Copy, Debug)]
pub struct DmOptions {
    pub udev_rules: bool,
    pub udev_sync: bool,
    pub test: bool,
}

impl Dm {
    /// The real device-mapper; `None` when the kernel has none.
    pub fn open(o: DmOptions) -> Option<Dm> {
        let kernel = DmKernel::open(o.udev_rules)
            .ok()?
            .with_udev_sync(o.udev_sync);
        Some(Dm {
            kernel: super::failpoint::wrap_kernel(Box::new(kernel)),
            nodes: Nodes::for_system(o.udev_rules),
            test: o.test,
        })
    }

    /// Any kernel (the recording fake in tests).
    pub fn with_kernel(kernel: Box<dyn Kernel>, nodes: Nodes, test: bool) -> Dm {
        Dm {
            kernel,
            nodes,
            test,
        }
    }

    pub fn kernel(&self) -> &dyn Kernel {
        self.kernel.as_ref()
    }

    pub fn nodes(&self) -> &Nodes {
        &self.nodes
    }

    pub fn test_mode(&self) -> bool {
        self.test
    }

    pub fn list(&self) -> Result<Vec<KernelDevice>, KernelError> {
        self.kernel.list()
    }

    /// Every device's name, number and UUID, without its table (one
    /// DM_LIST_DEVICES).
    pub fn list_ids(
        &self,
    ) -> Result<Vec<(String, crate::dm::target::DevNum, Option<String>)>, KernelError> {
        self.kernel.list_ids()
    }

    /// The devices a plan for the families of `lvs` in `vgs` (the VG
    /// before and after a change) looks at (`plan::Interest`): on a system
    /// with a thousand active LVs, a table query for a handful of devices
    /// instead of for every one.
    pub fn list_for(&self, vgs: &[&Vg], lvs: &[&str]) -> Result<Vec<KernelDevice>, KernelError> {
        self.list_for_in(None, vgs, lvs)
    }

    /// [`Dm::list_for`] from `listed` when given: the devices as the
    /// command's scan listed them under the VG's lock, the kernel changed
    /// by nothing of this command since (`Kernel::list_wanted_in`).
    pub fn list_for_in(
        &self,
        listed: Option<Vec<crate::dm::ioctl::Listed>>,
        vgs: &[&Vg],
        lvs: &[&str],
    ) -> Result<Vec<KernelDevice>, KernelError> {
        let interest = Interest::for_lvs(vgs, lvs);
        let want = |n: &str, u: Option<&str>| interest.wants(n, u);
        match listed {
            Some(l) => self.kernel.list_wanted_in(l, &want),
            None => self.kernel.list_wanted(&want),
        }
    }

    /// Runs `f` on the kernel with SIGINT, SIGHUP and SIGQUIT held back (as
    /// LVM2 does around its critical sections); they are delivered when it
    /// returns. SIGTERM is left alone: it is how supervisors (and `timeout`)
    /// stop a command stuck on a udev cookie nobody completes.
    pub fn with_signals_held<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Kernel, &Nodes) -> Result<T, OpsError>,
    ) -> Result<T, OpsError> {
        signals_held(|| f(self.kernel.as_mut(), &self.nodes))
    }

    /// Runs the independent groups of a plan that changes no metadata
    /// (`dm::parallel::split_independent`), each as its own transaction,
    /// several at a time (`PARALLEL_THREADS`), with interrupts held until
    /// all have ended. Returns each group's outcome (a failed group was
    /// undone); in test mode nothing runs.
    pub fn run_groups(&mut self, groups: &[Vec<Op>]) -> Vec<Result<(), OpsError>> {
        if self.test {
            return groups.iter().map(|_| Ok(())).collect();
        }
        for (i, g) in groups.iter().enumerate() {
            log::debug!(
                "device-mapper plan, group {i}:\n{}",
                crate::dm::plan::format_plan(g)
            );
        }
        let threads = parallel_threads();
        let (kernel, nodes) = (self.kernel.as_mut(), &self.nodes);
        // Threads start with the mask of the thread that makes them: the
        // workers hold the signals too.
        signals_held(|| crate::dm::parallel::execute_groups(kernel, groups, nodes, threads))
            .into_iter()
            .map(|r| r.map_err(OpsError::from))
            .collect()
    }

    /// Runs a plan that changes no metadata (activation, deactivation,
    /// refresh); in test mode nothing runs.
    pub fn run(&mut self, ops: &[Op]) -> Result<(), OpsError> {
        if ops.is_empty() || self.test {
            return Ok(());
        }
        log::debug!("device-mapper plan:\n{}", crate::dm::plan::format_plan(ops));
        self.with_signals_held(|k, nodes| Ok(execute_with(k, ops, nodes)?))
    }
}

/// Threads (kernel handles) a VG-wide plan runs on at most. The waits
/// overlap (an RCU grace period per removal, udev), so more threads than
/// CPUs pay; each costs a /dev/mapper/control fd and a udev cookie.
/// `RLVM_DM_THREADS` overrides it (1: one group after the other), for
/// measurements. Test VM (2 CPUs), 1000 LVs, `vgchange -an` with 1, 2, 4,
/// 8, 16, 32 threads: 41, 20, 10, 5.3, 4.1, 3.7 s (LVM2 41 s); `-ay`
/// gains up to 8 and levels off at 16 (CPU-bound then, mostly the
/// kernel's own device set-up).
pub const PARALLEL_THREADS: usize = 16;

fn parallel_threads() -> usize {
    std::env::var("RLVM_DM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(PARALLEL_THREADS)
}

/// Runs `f` with SIGINT, SIGHUP and SIGQUIT held back (`Dm::with_signals_held`).
fn signals_held<T>(f: impl FnOnce() -> T) -> T {
    use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
    let mut held = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT] {
        held.add(s);
    }
    let mut previous = SigSet::empty();
    let blocked = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&held), Some(&mut previous)).is_ok();
    let result = f();
    if blocked {
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    }
    result
}
