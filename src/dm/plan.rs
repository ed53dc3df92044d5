//! The pure activation planner: VG metadata and the kernel's current
//! devices in, an ordered list of device-mapper operations out, as data
//! that can be printed and asserted on. No I/O.
//!
//! Every plan is one transition from the kernel's devices to a desired
//! stack (`tree::lv_stack`), in LVM2's phases (libdm-deptree.c
//! `dm_tree_preload_children`, `dm_tree_suspend_children`,
//! `dm_tree_activate_children`, `dm_tree_deactivate_children`):
//!
//! 1. preload, bottom-up: create missing devices and load changed tables;
//!    a new (or grown) device that other devices of the stack sit on is
//!    resumed at once so that their tables can be loaded on top of it;
//! 2. suspend, top-down: every existing device whose table changes, every
//!    device above it, and the device holding `snapshot-origin` /
//!    `snapshot-merge` whenever one of its snapshots is loaded or removed
//!    (kernel snapshot.rst: the origin must be suspended then);
//! 3. remove devices that leave the stack and that no live table uses;
//! 4. resume, bottom-up and by priority within a depth;
//! 5. remove the devices that were still in use before the resume.
//!
//! A device present with the right table is left alone, so plans are
//! idempotent.
//!
//! A desired device whose UUID the kernel holds under another name (an LV
//! renamed in the metadata while active) is renamed first, bottom-up, and
//! the rest of the plan sees it under its new name. LVM2 renames in the
//! same bottom-up, by-priority order (libdm-deptree.c
//! `dm_tree_activate_children`: "Rename?" before each node's resume); a
//! pure rename changes no table, so nothing is loaded, suspended or
//! resumed around it.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeSet;
use std::fmt;

pub use super::error::PlanError;
use super::names::{
    dm_name, dm_uuid, is_layer_name, lv_id_in_vg, lv_of_uuid, split_dm_name, uuid_is_lv, Layer,
};
use super::state::KernelDevice;
use super::target::{format_table, DevNum, DevRef, Target, TargetLine};
use super::tree::{
    family_owners, family_root, lv_stack, lv_stack_in, Families, Node, PvDevices, Stack,
};
use crate::metadata::id::Id;
use crate::metadata::model::Vg;

/// One device-mapper operation. Tables may reference devices of the same
/// plan by name (`DevRef::Name`); the executor resolves them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Create {
        name: String,
        uuid: String,
        read_only: bool,
        /// Fixed minor (DM_PERSISTENT_DEV), for LVs with `FIXED_MINOR`.
        minor: Option<u32>,
    },
    Load {
        name: String,
        table: Vec<TargetLine>,
        read_only: bool,
    },
    Suspend {
        name: String,
    },
    Resume {
        name: String,
    },
    Remove {
        name: String,
    },
    /// DM_DEV_RENAME: the device keeps its UUID, number and tables.
    Rename {
        from: String,
        to: String,
    },
    /// DM_TABLE_CLEAR: drop an inactive table a killed command left
    /// loaded (it would otherwise go live at the next resume, and it holds
    /// its devices busy).
    Clear {
        name: String,
    },
}

impl Op {
    pub fn name(&self) -> &str {
        match self {
            Op::Create { name, .. }
            | Op::Load { name, .. }
            | Op::Suspend { name }
            | Op::Resume { name }
            | Op::Remove { name }
            | Op::Clear { name } => name,
            Op::Rename { to, .. } => to,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ro = |r: bool| if r { " (ro)" } else { "" };
        match self {
            Op::Create {
                name,
                read_only,
                minor,
                ..
            } => {
                write!(f, "create {name}{}", ro(*read_only))?;
                match minor {
                    Some(m) => write!(f, " (minor {m})"),
                    None => Ok(()),
                }
            }
            Op::Load {
                name,
                table,
                read_only,
            } => write!(
                f,
                "load {name}{}: {}",
                ro(*read_only),
                format_table(table).replace('\n', ", ")
            ),
            Op::Suspend { name } => write!(f, "suspend {name}"),
            Op::Resume { name } => write!(f, "resume {name}"),
            Op::Remove { name } => write!(f, "remove {name}"),
            Op::Rename { from, to } => write!(f, "rename {from} to {to}"),
            Op::Clear { name } => write!(f, "clear {name}"),
        }
    }
}

/// Print a plan one op per line.
pub fn format_plan(ops: &[Op]) -> String {
    ops.iter().map(|o| format!("{o}\n")).collect()
}

/// Activate `lv` (with its whole snapshot family; a snapshot activates
/// its origin's stack).
pub fn plan_activate(
    vg: &Vg,
    lv: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Vec<Op>, PlanError> {
    let stack = lv_stack(vg, lv, pvs, kernel)?;
    plan_transition(
        &stack.nodes,
        &with_leftovers(vg, stack.owners, kernel),
        kernel,
        &[],
    )
}

/// LVs left out of a plan, each with the reason.
pub type Refused = Vec<(String, PlanError)>;

/// Activate several LVs in one plan (`vgchange -ay`): each LV's family
/// stack as `plan_activate` builds it, all in one transition, so the
/// kernel is listed once and udev waited for once, not once per LV. An LV
/// whose stack cannot be built is returned with the reason and left out;
/// the others still come up.
pub fn plan_activate_many(
    vg: &Vg,
    lvs: &[String],
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> (Result<Vec<Op>, PlanError>, Refused) {
    let mut nodes: Vec<Node> = Vec::new();
    let mut names: HashSet<String> = HashSet::default();
    let mut owners: Vec<(Id, Id)> = Vec::new();
    let mut owner_set: HashSet<(Id, Id)> = HashSet::default();
    let mut refused = Vec::new();
    let fams = Families::new(vg);
    for lv in lvs {
        match lv_stack_in(&fams, lv, pvs, kernel) {
            Ok(stack) => {
                for n in stack.nodes {
                    // Two LVs of one family share its stack.
                    if names.insert(n.name.clone()) {
                        nodes.push(n);
                    }
                }
                for o in stack.owners {
                    if owner_set.insert(o) {
                        owners.push(o);
                    }
                }
            }
            Err(e) => refused.push((lv.clone(), e)),
        }
    }
    let plan = plan_transition(&nodes, &with_leftovers(vg, owners, kernel), kernel, &[]);
    (plan, refused)
}

/// Deactivate `lv`'s family, top-down, layers included. Refuses when a
/// visible device of the family is open.
pub fn plan_deactivate(vg: &Vg, lv: &str, kernel: &[KernelDevice]) -> Result<Vec<Op>, PlanError> {
    let root = family_root(vg, lv)?;
    let owners = family_owners(vg, &root.name);
    if let Some(d) = open_visible(&owners, kernel).first() {
        return Err(PlanError::InUse {
            vg: vg.name.clone(),
            lv: split_dm_name(&d.name).lv,
        });
    }
    plan_transition(&[], &with_leftovers(vg, owners, kernel), kernel, &[])
}

/// Deactivate every LV of `vg` (`vgchange -an`).
pub fn plan_deactivate_vg(vg: &Vg, kernel: &[KernelDevice]) -> Result<Vec<Op>, PlanError> {
    let owners: Vec<(Id, Id)> = vg.lvs.iter().map(|l| (vg.id, l.id)).collect();
    let open = open_visible(&owners, kernel);
    if !open.is_empty() {
        return Err(PlanError::VgInUse {
            vg: vg.name.clone(),
            count: open.len(),
        });
    }
    plan_transition(&[], &with_leftovers(vg, owners, kernel), kernel, &[])
}

/// Remove the devices of `vg` that belong to no LV of its metadata (what
/// an interrupted command left), once nothing uses them.
pub fn plan_leftovers(vg: &Vg, kernel: &[KernelDevice]) -> Result<Vec<Op>, PlanError> {
    plan_transition(&[], &with_leftovers(vg, vec![], kernel), kernel, &[])
}

/// `lvchange --refresh`: reload the family's tables from metadata and
/// suspend/resume its visible devices even when nothing changed. Does
/// nothing for an inactive LV.
pub fn plan_refresh(
    vg: &Vg,
    lv: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Vec<Op>, PlanError> {
    let stack = lv_stack(vg, lv, pvs, kernel)?;
    if !is_active(&stack, kernel) {
        return Ok(vec![]);
    }
    let refresh: Vec<String> = stack
        .nodes
        .iter()
        .filter(|n| !is_layer_name(&n.name))
        .map(|n| n.name.clone())
        .collect();
    plan_transition(
        &stack.nodes,
        &with_leftovers(vg, stack.owners, kernel),
        kernel,
        &refresh,
    )
}

/// Bring an active LV family from `before` to `after` metadata (LVM2's
/// `lv_update_and_reload`). Nothing happens if the family is inactive,
/// except that stale devices of it are removed.
pub fn plan_update(
    before: &Vg,
    after: &Vg,
    lv: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Vec<Op>, PlanError> {
    let mut owners = match family_root(before, lv) {
        Ok(r) => family_owners(before, &r.name),
        Err(_) => vec![],
    };
    let stack = match after.lv(lv) {
        Some(_) => {
            let s = lv_stack(after, lv, pvs, kernel)?;
            let before_active = family_root(before, lv)
                .ok()
                .is_some_and(|r| top_exists(before, &r.name, kernel));
            if before_active || is_active(&s, kernel) {
                s
            } else {
                Stack {
                    nodes: vec![],
                    owners: s.owners,
                }
            }
        }
        None => Stack::default(),
    };
    for o in &stack.owners {
        if !owners.contains(o) {
            owners.push(*o);
        }
    }
    plan_transition(&stack.nodes, &owners, kernel, &[])
}

/// Add snapshot (COW LV) `snap` to an active origin; `after` has it.
pub fn plan_add_snapshot(
    before: &Vg,
    after: &Vg,
    snap: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Vec<Op>, PlanError> {
    let origin = family_root(after, snap)?.name.clone();
    plan_update(before, after, &origin, pvs, kernel)
}

/// Remove snapshot (COW LV) `snap`; `before` has it, `after` not. The
/// last snapshot gone, the origin gets its plain table back and `-real`
/// goes.
pub fn plan_remove_snapshot(
    before: &Vg,
    after: &Vg,
    snap: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Vec<Op>, PlanError> {
    let origin = family_root(before, snap)?.name.clone();
    plan_update(before, after, &origin, pvs, kernel)
}

/// lvrename of `old` to `new` (`before` has `old`, `after` has `new`):
/// rename the devices of an active family, keeping their UUIDs. Nothing
/// to do when the family has no visible device in the kernel.
pub fn plan_rename(
    before: &Vg,
    after: &Vg,
    old: &str,
    new: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Vec<Op>, PlanError> {
    let root = family_root(before, old)?;
    let mut owners = family_owners(before, &root.name);
    let family: HashSet<(Id, Id)> = owners.iter().copied().collect();
    if !kernel
        .iter()
        .any(|d| owned(&family, d) && !is_layer_name(&d.name))
    {
        return Ok(vec![]);
    }
    // The stack's own lookups (merge state, open counts) go by name: give
    // it the kernel as it will be once renamed.
    let root_after = family_root(after, new)?;
    let mut names: HashMap<String, String> = HashMap::default();
    for (vg_id, lv_id) in family_owners(after, &root_after.name) {
        let Some(lv) = after.lvs.iter().find(|l| l.id == lv_id) else {
            continue;
        };
        for layer in [None, Some(Layer::Real.as_str()), Some(Layer::Cow.as_str())] {
            names.insert(
                dm_uuid(&vg_id, &lv_id, layer),
                dm_name(&after.name, &lv.name, layer),
            );
        }
    }
    let view: Vec<KernelDevice> = kernel
        .iter()
        .map(|d| match d.uuid.as_ref().and_then(|u| names.get(u)) {
            Some(n) => KernelDevice {
                name: n.clone(),
                ..d.clone()
            },
            None => d.clone(),
        })
        .collect();
    let stack = lv_stack(after, new, pvs, &view)?;
    for o in &stack.owners {
        if !owners.contains(o) {
            owners.push(*o);
        }
    }
    plan_transition(&stack.nodes, &owners, kernel, &[])
}

/// The kernel devices a plan for the families of some LVs can look at,
/// so that it is built from `Kernel::list_wanted` instead of a table
/// query for every device of the system: in each given version of the
/// VG (before and after a change), the family members' devices by dm name
/// or UUID (every layer), and the VG's devices of LVs that version does
/// not know (the leftovers `with_leftovers` removes). `list_wanted` adds
/// the devices using them. A plan from such a listing is the plan from the
/// full listing (plan_tests: `plans_from_wanted_listing_are_plans_from_full_listing`).
#[derive(Debug, Default)]
pub struct Interest {
    names: HashSet<String>,
    lv_ids: HashSet<Id>,
    /// (VG id, the LV ids that version knows).
    versions: Vec<(Id, HashSet<Id>)>,
}

impl Interest {
    /// The families of `lvs` (names in any of `vgs`) in `vgs`.
    pub fn for_lvs(vgs: &[&Vg], lvs: &[&str]) -> Interest {
        let mut i = Interest::default();
        for vg in vgs {
            i.versions
                .push((vg.id, vg.lvs.iter().map(|l| l.id).collect()));
            for lv in lvs {
                let Ok(root) = family_root(vg, lv) else {
                    continue;
                };
                for (_, id) in family_owners(vg, &root.name) {
                    i.lv_ids.insert(id);
                    if let Some(l) = vg.lvs.iter().find(|l| l.id == id) {
                        for layer in [None, Some(Layer::Real.as_str()), Some(Layer::Cow.as_str())] {
                            i.names.insert(dm_name(&vg.name, &l.name, layer));
                        }
                    }
                }
            }
        }
        i
    }

    /// Whether the device `name` with `uuid` is of interest.
    pub fn wants(&self, name: &str, uuid: Option<&str>) -> bool {
        if self.names.contains(name) {
            return true;
        }
        let Some(u) = uuid else {
            return false;
        };
        self.versions.iter().any(|(vg_id, known)| {
            lv_id_in_vg(u, vg_id)
                .is_some_and(|id| self.lv_ids.contains(&id) || !known.contains(&id))
        })
    }
}

/// `owners` plus the LVs of `vg` that the kernel has devices of but the
/// metadata no longer knows: what a command killed between its kernel
/// steps and its commit (or a crash) left behind. Their devices are
/// removed once nothing uses them, except while one is open (a leftover
/// snapshot someone mounted stays until it is closed).
fn with_leftovers(vg: &Vg, mut owners: Vec<(Id, Id)>, kernel: &[KernelDevice]) -> Vec<(Id, Id)> {
    let known: HashSet<Id> = vg.lvs.iter().map(|l| l.id).collect();
    let mut owned: HashSet<(Id, Id)> = owners.iter().copied().collect();
    for d in kernel {
        let Some(lv_id) = d.uuid.as_deref().and_then(|u| lv_id_in_vg(u, &vg.id)) else {
            continue;
        };
        if known.contains(&lv_id) || owned.contains(&(vg.id, lv_id)) {
            continue;
        }
        let open = kernel.iter().any(|x| {
            !is_layer_name(&x.name)
                && x.open_count > 0
                && x.uuid
                    .as_deref()
                    .is_some_and(|u| uuid_is_lv(u, &vg.id, &lv_id))
        });
        if !open {
            owners.push((vg.id, lv_id));
            owned.insert((vg.id, lv_id));
        }
    }
    owners
}

fn top_exists(vg: &Vg, lv: &str, kernel: &[KernelDevice]) -> bool {
    let name = dm_name(&vg.name, lv, None);
    kernel.iter().any(|d| d.name == name)
}

fn is_active(stack: &Stack, kernel: &[KernelDevice]) -> bool {
    stack
        .nodes
        .iter()
        .any(|n| !is_layer_name(&n.name) && kernel.iter().any(|d| d.name == n.name))
}

fn owned(owners: &HashSet<(Id, Id)>, d: &KernelDevice) -> bool {
    d.uuid
        .as_deref()
        .and_then(lv_of_uuid)
        .is_some_and(|o| owners.contains(&o))
}

fn open_visible<'a>(owners: &[(Id, Id)], kernel: &'a [KernelDevice]) -> Vec<&'a KernelDevice> {
    let owners: HashSet<(Id, Id)> = owners.iter().copied().collect();
    kernel
        .iter()
        .filter(|d| owned(&owners, d) && !is_layer_name(&d.name) && d.open_count > 0)
        .collect()
}

fn table_size(t: &[TargetLine]) -> u64 {
    t.iter().map(|l| l.start + l.length).max().unwrap_or(0)
}

/// Resume priority of a live table: origins after their snapshots.
pub fn table_priority(t: &[TargetLine]) -> u8 {
    match t.first().map(|l| &l.target) {
        Some(Target::SnapshotOrigin { .. } | Target::SnapshotMerge(_)) => 1,
        _ => 0,
    }
}

fn snapshot_origin_of(t: &[TargetLine]) -> Option<&DevRef> {
    match t.first().map(|l| &l.target) {
        Some(Target::Snapshot(a)) => Some(&a.origin),
        _ => None,
    }
}

fn origin_holder_of(t: &[TargetLine]) -> Option<&DevRef> {
    match t.first().map(|l| &l.target) {
        Some(Target::SnapshotOrigin { origin }) => Some(origin),
        Some(Target::SnapshotMerge(a)) => Some(&a.origin),
        _ => None,
    }
}

/// The core: operations taking `kernel` to `desired`. Devices owned by
/// `owners` (by UUID) that are not desired are removed; `refresh` names
/// are suspended and resumed even when unchanged.
pub fn plan_transition(
    desired: &[Node],
    owners: &[(Id, Id)],
    kernel: &[KernelDevice],
    refresh: &[String],
) -> Result<Vec<Op>, PlanError> {
    let want: HashMap<&str, &Node> = desired.iter().map(|n| (n.name.as_str(), n)).collect();
    let owners: HashSet<(Id, Id)> = owners.iter().copied().collect();

    // Renames: the kernel holds the desired UUID under another name, and
    // the desired name is free (or held by a device renamed away too).
    let mut renames: Vec<(&str, &str)> = Vec::new();
    for n in desired {
        if let Some(d) = kernel
            .iter()
            .find(|d| d.uuid.as_deref() == Some(&n.uuid) && d.name != n.name)
        {
            if want.get(d.name.as_str()).is_some_and(|w| w.uuid != n.uuid) {
                // The old name is wanted by another device: a swap, which
                // no rlvm command asks for.
                return Err(PlanError::UuidConflict {
                    name: d.name.clone(),
                    found: d.uuid.clone(),
                    expected: n.uuid.clone(),
                });
            }
            renames.push((d.name.as_str(), n.name.as_str()));
        }
    }
    let renamed_view: Vec<KernelDevice>;
    let kernel: &[KernelDevice] = if renames.is_empty() {
        kernel
    } else {
        renamed_view = kernel
            .iter()
            .map(|d| match renames.iter().find(|(from, _)| *from == d.name) {
                Some((_, to)) => KernelDevice {
                    name: to.to_string(),
                    ..d.clone()
                },
                None => d.clone(),
            })
            .collect();
        &renamed_view
    };
    let k: HashMap<&str, &KernelDevice> = kernel.iter().map(|d| (d.name.as_str(), d)).collect();
    let by_num: HashMap<DevNum, &str> = kernel.iter().map(|d| (d.dev, d.name.as_str())).collect();
    if k.len() != kernel.len() {
        // A new name is taken by a device that stays: a name conflict.
        if let Some((_, to)) = renames
            .iter()
            .find(|(_, to)| kernel.iter().filter(|d| d.name == *to).count() > 1)
        {
            let n = want[to];
            let other = kernel
                .iter()
                .find(|d| d.name == *to && d.uuid.as_deref() != Some(&n.uuid));
            return Err(PlanError::UuidConflict {
                name: to.to_string(),
                found: other.and_then(|d| d.uuid.clone()),
                expected: n.uuid.clone(),
            });
        }
    }
    for n in desired {
        let found = k.get(n.name.as_str()).map(|d| d.uuid.clone());
        if let Some(u) = found {
            if u.as_deref() != Some(&n.uuid) {
                return Err(PlanError::UuidConflict {
                    name: n.name.clone(),
                    found: u,
                    expected: n.uuid.clone(),
                });
            }
        }
    }

    // The devices each desired node's table uses by name, made once (a
    // VG-wide plan has thousands of nodes: nothing below is quadratic).
    let node_deps: HashMap<&str, Vec<&str>> = desired
        .iter()
        .map(|n| {
            let names = n
                .table
                .iter()
                .flat_map(|l| l.target.devices())
                .filter_map(|d| match d {
                    DevRef::Name(s) => Some(s.as_str()),
                    DevRef::Num(_) => None,
                })
                .collect();
            (n.name.as_str(), names)
        })
        .collect();
    let deps = |n: &Node| -> &[&str] { node_deps.get(n.name.as_str()).map_or(&[], |v| v) };
    for n in desired {
        for d in deps(n) {
            if !want.contains_key(d) && !k.contains_key(d) {
                return Err(PlanError::MissingDevice {
                    name: d.to_string(),
                    user: n.name.clone(),
                });
            }
        }
    }
    // Depth of each desired node: 0 for nodes on PVs only. Passes until
    // nothing changes (as deep as the deepest stack, a handful), at most
    // one per node (a cycle, which no stack has, stops there).
    let mut level: HashMap<&str, usize> = HashMap::default();
    for _ in 0..=desired.len() {
        let mut changed = false;
        for n in desired {
            let l = deps(n)
                .iter()
                .copied()
                .chain(n.after.iter().map(String::as_str))
                .filter(|d| want.contains_key(d))
                .map(|d| level.get(d).map_or(0, |x| x + 1))
                .max()
                .unwrap_or(0);
            if level.insert(&n.name, l) != Some(l) {
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut up: Vec<&Node> = desired.iter().collect();
    up.sort_by(|a, b| {
        (level[a.name.as_str()], a.priority, &a.name).cmp(&(
            level[b.name.as_str()],
            b.priority,
            &b.name,
        ))
    });

    let resolve = |t: &[TargetLine]| -> Option<Vec<TargetLine>> {
        t.iter()
            .map(|l| {
                let target = l.target.map_devices(|d| match d {
                    DevRef::Name(s) => k.get(s.as_str()).map(|x| DevRef::Num(x.dev)).ok_or(()),
                    n => Ok(n.clone()),
                });
                target.ok().map(|target| TargetLine {
                    target,
                    ..l.clone()
                })
            })
            .collect()
    };
    let needs_load: HashSet<&str> = desired
        .iter()
        .filter(|n| match k.get(n.name.as_str()) {
            None => true,
            Some(d) => resolve(&n.table).as_ref() != Some(&d.table) || d.read_only != n.read_only,
        })
        .map(|n| n.name.as_str())
        .collect();
    let used_by_desired: HashSet<&str> = desired
        .iter()
        .flat_map(|p| deps(p).iter().copied())
        .collect();
    let has_parents = |name: &str| used_by_desired.contains(name);
    let preload_resume: HashSet<&str> = up
        .iter()
        .filter(|n| {
            needs_load.contains(n.name.as_str())
                && has_parents(&n.name)
                && k.get(n.name.as_str())
                    .is_none_or(|d| table_size(&n.table) > table_size(&d.table))
        })
        .map(|n| n.name.as_str())
        .collect();

    let obsolete: Vec<&KernelDevice> = kernel
        .iter()
        .filter(|d| owned(&owners, d) && !want.contains_key(d.name.as_str()))
        .collect();
    if let Some(d) = obsolete
        .iter()
        .find(|d| !is_layer_name(&d.name) && d.open_count > 0)
    {
        let s = split_dm_name(&d.name);
        return Err(PlanError::InUse { vg: s.vg, lv: s.lv });
    }

    // Suspend set.
    let mut suspend: BTreeSet<&str> = desired
        .iter()
        .filter(|n| {
            k.contains_key(n.name.as_str())
                && needs_load.contains(n.name.as_str())
                && !preload_resume.contains(n.name.as_str())
        })
        .map(|n| n.name.as_str())
        .collect();
    for r in refresh {
        if let Some(n) = want.get(r.as_str()) {
            if k.contains_key(r.as_str()) {
                suspend.insert(&n.name);
            }
        }
    }
    // Snapshot rule: origins whose snapshots are loaded or removed.
    let mut snap_origins: Vec<Option<DevNum>> = Vec::new();
    for n in desired {
        if needs_load.contains(n.name.as_str()) {
            if let Some(DevRef::Name(r)) = snapshot_origin_of(&n.table) {
                snap_origins.push(k.get(r.as_str()).map(|d| d.dev));
            }
        }
    }
    for d in &obsolete {
        if let Some(DevRef::Num(x)) = snapshot_origin_of(&d.table) {
            snap_origins.push(Some(*x));
        }
    }
    for n in desired {
        let Some(kd) = k.get(n.name.as_str()) else {
            continue;
        };
        let live = match origin_holder_of(&kd.table) {
            Some(DevRef::Num(x)) => Some(*x),
            _ => None,
        };
        let want_ref = match origin_holder_of(&n.table) {
            Some(DevRef::Name(r)) => k.get(r.as_str()).map(|d| d.dev),
            _ => None,
        };
        if snap_origins
            .iter()
            .flatten()
            .any(|x| Some(*x) == live || Some(*x) == want_ref)
        {
            suspend.insert(&n.name);
        }
    }
    // Everything above a suspended device, transitively.
    loop {
        let before = suspend.len();
        for n in desired {
            let Some(kd) = k.get(n.name.as_str()) else {
                continue;
            };
            let uses = |s: &&str| {
                deps(n).contains(s)
                    || kd
                        .table
                        .iter()
                        .flat_map(|l| l.target.devices())
                        .any(|d| matches!(d, DevRef::Num(x) if by_num.get(x) == Some(s)))
            };
            if suspend.iter().any(uses) {
                suspend.insert(&n.name);
            }
        }
        if suspend.len() == before {
            break;
        }
    }

    let mut ops = Vec::new();
    // 0. Renames, bottom-up, so that every later op uses the new names.
    for n in &up {
        if let Some((from, to)) = renames.iter().find(|(_, to)| *to == n.name) {
            ops.push(Op::Rename {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
    }
    // Leftovers of a killed command: inactive tables on the devices this
    // plan touches are dropped first, so (after any rename) a stale table can neither go live
    // at a resume nor keep its devices busy (a second `snapshot` table on
    // the same COW is refused by the kernel while one is loaded).
    for d in kernel {
        if d.inactive_table && (want.contains_key(d.name.as_str()) || owned(&owners, d)) {
            ops.push(Op::Clear {
                name: d.name.clone(),
            });
        }
    }
    // 1. Preload.
    for n in &up {
        if !k.contains_key(n.name.as_str()) {
            ops.push(Op::Create {
                name: n.name.clone(),
                uuid: n.uuid.clone(),
                read_only: n.read_only,
                minor: n.minor,
            });
        }
        if needs_load.contains(n.name.as_str()) {
            ops.push(Op::Load {
                name: n.name.clone(),
                table: n.table.clone(),
                read_only: n.read_only,
            });
        }
        if preload_resume.contains(n.name.as_str()) {
            ops.push(Op::Resume {
                name: n.name.clone(),
            });
        }
    }
    // 2. Suspend, top-down.
    for n in up.iter().rev() {
        if suspend.contains(n.name.as_str()) && !k.get(n.name.as_str()).is_some_and(|d| d.suspended)
        {
            ops.push(Op::Suspend {
                name: n.name.clone(),
            });
        }
    }
    // 3. Remove what nothing live uses any more. A device whose table
    // uses no device (the `error` stand-in a merging snapshot's name
    // keeps) holds nothing the resumed tables need: it goes in step 5,
    // after the resume, so that the suspended devices do not wait for its
    // removal (and its udev event) as well.
    let mut live: HashMap<String, Vec<DevNum>> = kernel
        .iter()
        .map(|d| (d.name.clone(), nums(&d.table)))
        .collect();
    let (mut left, after_resume): (Vec<&KernelDevice>, Vec<&KernelDevice>) = obsolete
        .iter()
        .copied()
        .partition(|d| d.table.is_empty() || !nums(&d.table).is_empty());
    remove_unused(&mut left, &mut live, &mut ops);
    left.extend(after_resume);
    // 4. Resume, bottom-up.
    for n in &up {
        let name = n.name.as_str();
        let pending =
            (needs_load.contains(name) || !k.contains_key(name)) && !preload_resume.contains(name);
        if pending || suspend.contains(name) || k.get(name).is_some_and(|d| d.suspended) {
            ops.push(Op::Resume {
                name: n.name.clone(),
            });
        }
        if let Some(t) = resolve(&n.table) {
            live.insert(n.name.clone(), nums(&t));
        } else {
            // References to devices created by this plan: their numbers
            // are unknown, and obsolete devices are never among them.
            live.insert(n.name.clone(), vec![]);
        }
    }
    // 5. Remove the rest.
    remove_unused(&mut left, &mut live, &mut ops);
    for d in left {
        // Still referenced by a device outside this stack: leave it, but
        // never suspended.
        log::warn!("not removing {}: still in use by another device", d.name);
        if d.suspended {
            ops.push(Op::Resume {
                name: d.name.clone(),
            });
        }
    }
    Ok(ops)
}

fn nums(t: &[TargetLine]) -> Vec<DevNum> {
    t.iter()
        .flat_map(|l| l.target.devices())
        .filter_map(|d| match d {
            DevRef::Num(n) => Some(*n),
            DevRef::Name(_) => None,
        })
        .collect()
}

/// Remove, round by round, obsolete devices that no remaining live table
/// uses; within a round origins before snapshots, then by name.
fn remove_unused(
    left: &mut Vec<&KernelDevice>,
    live: &mut HashMap<String, Vec<DevNum>>,
    ops: &mut Vec<Op>,
) {
    // How many live tables use each device (counted once: thousands of
    // devices go in one plan).
    let mut users: HashMap<DevNum, usize> = HashMap::default();
    for refs in live.values() {
        for r in refs {
            *users.entry(*r).or_default() += 1;
        }
    }
    loop {
        let mut round: Vec<&KernelDevice> = left
            .iter()
            .filter(|d| users.get(&d.dev).is_none_or(|&n| n == 0))
            .copied()
            .collect();
        if round.is_empty() {
            return;
        }
        round.sort_by(|a, b| {
            (table_priority(&b.table), &a.name).cmp(&(table_priority(&a.table), &b.name))
        });
        let mut gone: HashSet<&str> = HashSet::default();
        for d in round {
            ops.push(Op::Remove {
                name: d.name.clone(),
            });
            for r in live.remove(&d.name).into_iter().flatten() {
                if let Some(n) = users.get_mut(&r) {
                    *n = n.saturating_sub(1);
                }
            }
            gone.insert(d.name.as_str());
        }
        left.retain(|x| !gone.contains(x.name.as_str()));
    }
}
