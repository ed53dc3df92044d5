//! A plan's independent parts run at the same time: `split_independent`
//! (pure) cuts a plan into groups of operations that share no device, and
//! `execute_groups` runs each group as its own `Transaction`, on several
//! threads, each thread with its own kernel handle (`Kernel::open_another`,
//! its own /dev/mapper/control and its own udev cookie). Touches the kernel
//! only through those transactions.
//!
//! Why: `vgchange -ay|-an` of many LVs spends its time waiting inside the
//! kernel (a DM_DEV_REMOVE waits for an RCU grace period, ~40 ms), not on
//! the CPU; the waits of independent LV families can overlap.
//!
//! Safety rules kept from the serial executor (exec.rs): each group is
//! undone completely when one of its steps fails (nothing left suspended or
//! half built), and the other groups are not affected (they share no
//! device with it). udev is waited for once per handle, after every group
//! has ended, and not at all if any group left a device suspended (a
//! failed undo), as `Transaction` does for a single plan.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::exec::{ExecError, Kernel, KernelError, Transaction};
use super::nodes::Nodes;
use super::plan::Op;
use super::state::KernelDevice;
use super::target::{DevNum, DevRef};

/// Cuts `ops` into groups that share no device: two ops are in one group
/// when they name the same device (op name, rename source or target, a
/// device a loaded table uses by name or by number), when one's device
/// uses the other's in its live table (`kernel`, the listing the plan was
/// made from), or when `family` gives their devices the same key (an LV
/// and its layers, snapshots and COWs; `None`: no family known). Each
/// group keeps the ops' relative order; groups come in the order of their
/// first op.
///
/// A plan that drops inactive tables (`Op::Clear`, the repair of a killed
/// command) stays whole: which devices an inactive table uses is not
/// known from the listing.
pub fn split_independent(
    ops: &[Op],
    kernel: &[KernelDevice],
    family: &dyn Fn(&str) -> Option<String>,
) -> Vec<Vec<Op>> {
    if ops.is_empty() {
        return vec![];
    }
    if ops.iter().any(|o| matches!(o, Op::Clear { .. })) {
        return vec![ops.to_vec()];
    }
    let by_num: HashMap<DevNum, &str> = kernel.iter().map(|d| (d.dev, d.name.as_str())).collect();
    let by_name: HashMap<&str, &KernelDevice> =
        kernel.iter().map(|d| (d.name.as_str(), d)).collect();
    let mut sets = UnionFind::default();
    let mut first_key = Vec::with_capacity(ops.len());
    for op in ops {
        let names = op_devices(op, &by_num);
        let mut keys: Vec<String> = Vec::new();
        for n in &names {
            keys.push(format!("d:{n}"));
            if let Some(f) = family(n) {
                keys.push(format!("f:{f}"));
            }
            // Devices its live table uses (a device it removes, say).
            if let Some(d) = by_name.get(n.as_str()) {
                for r in d.table.iter().flat_map(|l| l.target.devices()) {
                    if let DevRef::Num(num) = r {
                        if let Some(used) = by_num.get(num) {
                            keys.push(format!("d:{used}"));
                        }
                    }
                }
            }
        }
        let ids: Vec<usize> = keys.iter().map(|k| sets.id(k)).collect();
        for w in ids.windows(2) {
            sets.union(w[0], w[1]);
        }
        // Every op names at least one device.
        first_key.push(ids.first().copied());
    }
    let mut group_of_root: HashMap<usize, usize> = HashMap::default();
    let mut groups: Vec<Vec<Op>> = Vec::new();
    for (op, id) in ops.iter().zip(first_key) {
        let Some(id) = id else {
            // Cannot happen (every op names a device); keep it safe: the
            // whole plan in one group.
            return vec![ops.to_vec()];
        };
        let root = sets.find(id);
        let g = *group_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(op.clone());
    }
    groups
}

/// The dm devices `op` names: its own, a rename's source, and those its
/// table uses (by name, or by a number `by_num` knows).
fn op_devices(op: &Op, by_num: &HashMap<DevNum, &str>) -> Vec<String> {
    let mut out = vec![op.name().to_string()];
    match op {
        Op::Rename { from, .. } => out.push(from.clone()),
        Op::Load { table, .. } => {
            for r in table.iter().flat_map(|l| l.target.devices()) {
                match r {
                    DevRef::Name(n) => out.push(n.clone()),
                    DevRef::Num(n) => {
                        if let Some(name) = by_num.get(n) {
                            out.push(name.to_string());
                        }
                    }
                }
            }
        }
        _ => {}
    }
    out
}

#[derive(Default)]
struct UnionFind {
    ids: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl UnionFind {
    fn id(&mut self, key: &str) -> usize {
        if let Some(&i) = self.ids.get(key) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.ids.insert(key.to_string(), i);
        i
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[b.max(a)] = a.min(b);
        }
    }
}

/// Runs `groups` (from `split_independent`), each as its own transaction,
/// on up to `threads` threads: the calling thread with `kernel`, the
/// others with handles `kernel.open_another()` gives (none: everything
/// runs on the calling thread, one group after the other). Groups that
/// create a device on a fixed minor run first, alone, so that no dynamic
/// minor taken meanwhile by another thread can take theirs. Returns each
/// group's outcome, in the order of `groups`; a failed group was undone.
///
/// The kernel is listed once (device numbers); each transaction starts
/// from that listing, which no other group changes for its devices.
pub fn execute_groups(
    kernel: &mut dyn Kernel,
    groups: &[Vec<Op>],
    nodes: &Nodes,
    threads: usize,
) -> Vec<Result<(), ExecError>> {
    let devs: HashMap<String, DevNum> = match kernel.list_devnums() {
        Ok(d) => d.into_iter().collect(),
        Err(cause) => {
            return groups
                .iter()
                .map(|_| {
                    Err(ExecError::Step {
                        op: "list devices".into(),
                        cause: cause.clone(),
                    })
                })
                .collect()
        }
    };
    let results: Mutex<Vec<Option<Result<(), ExecError>>>> =
        Mutex::new(groups.iter().map(|_| None).collect());
    let held = AtomicBool::new(false);
    let run = Runner {
        groups,
        devs: &devs,
        nodes,
        results: &results,
        held: &held,
    };
    let (fixed, free): (Vec<usize>, Vec<usize>) = (0..groups.len()).partition(|&i| {
        groups[i]
            .iter()
            .any(|o| matches!(o, Op::Create { minor: Some(_), .. }))
    });
    for i in fixed {
        run.group(kernel, i);
    }
    let mut extra: Vec<Box<dyn Kernel + Send>> = Vec::new();
    while extra.len() + 1 < threads.min(free.len()) {
        match kernel.open_another() {
            Some(k) => extra.push(k),
            None => break,
        }
    }
    let next = AtomicUsize::new(0);
    let work = |k: &mut dyn Kernel| loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let Some(&i) = free.get(n) else { break };
        run.group(k, i);
    };
    let work = &work;
    let returned: Vec<Box<dyn Kernel + Send>> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for mut k in extra {
            let spawned = std::thread::Builder::new()
                .name("rlvm-dm".into())
                .spawn_scoped(s, move || {
                    work(k.as_mut());
                    k
                });
            match spawned {
                Ok(h) => handles.push(h),
                // The calling thread takes its share.
                Err(e) => log::debug!("dm: no worker thread: {e}"),
            }
        }
        work(kernel);
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    // udev: once per handle, now that every group has ended, unless a
    // failed undo left something suspended (module doc).
    if held.load(Ordering::Relaxed) {
        log::debug!("dm: not waiting for udev: a device is still suspended");
    } else {
        log::debug!("dm: waiting for udev");
        for k in returned {
            let mut k = k;
            if let Err(e) = k.udev_wait() {
                log::warn!("{e}");
            }
        }
        if let Err(e) = kernel.udev_wait() {
            log::warn!("{e}");
        }
    }
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results
        .into_iter()
        .map(|r| {
            // A group no thread finished: its thread panicked.
            r.unwrap_or_else(|| {
                Err(ExecError::Step {
                    op: "run".into(),
                    cause: KernelError::Failed {
                        op: "run",
                        name: "device-mapper worker".into(),
                        msg: "thread ended early".into(),
                    },
                })
            })
        })
        .collect()
}

/// What every thread of `execute_groups` shares.
struct Runner<'a> {
    groups: &'a [Vec<Op>],
    devs: &'a HashMap<String, DevNum>,
    nodes: &'a Nodes,
    results: &'a Mutex<Vec<Option<Result<(), ExecError>>>>,
    held: &'a AtomicBool,
}

impl Runner<'_> {
    /// Runs group `i` as one transaction on `k` (undone if it fails); its
    /// udev wait is left to the end of `execute_groups`.
    fn group(&self, k: &mut dyn Kernel, i: usize) {
        let ops = &self.groups[i];
        // The numbers of the devices this group names: all it resolves.
        let names: HashSet<&str> =
            ops.iter()
                .flat_map(|o| {
                    let mut v = vec![o.name()];
                    match o {
                        Op::Rename { from, .. } => v.push(from),
                        Op::Load { table, .. } => {
                            v.extend(table.iter().flat_map(|l| l.target.devices()).filter_map(
                                |r| match r {
                                    DevRef::Name(n) => Some(n.as_str()),
                                    DevRef::Num(_) => None,
                                },
                            ))
                        }
                        _ => {}
                    }
                    v
                })
                .collect();
        let devs = names
            .into_iter()
            .filter_map(|n| self.devs.get_key_value(n))
            .map(|(n, d)| (n.clone(), *d))
            .collect();
        let mut tx = Transaction::with_devices(k, self.nodes, devs);
        let r = tx.run(ops);
        if tx.finish_unsynced() {
            self.held.store(true, Ordering::Relaxed);
        }
        let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
}

#[cfg(test)]
#[path = "parallel_tests.rs"]
mod tests;
