//! Activation, deactivation and refresh of LVs and VGs, and what the
//! kernel says about a VG's LVs. No metadata changes here. A merging
//! origin that comes up (or is refreshed) with nothing open gets its
//! `snapshot-merge` table, so a deferred or scheduled merge starts; the
//! outcome names the origins that merge, for the caller's pollers.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;

use crate::dm::error::PlanError;
use crate::dm::names::{dm_name, dm_uuid, is_top_of_vg, lv_id_in_vg};
use crate::dm::parallel::split_independent;
use crate::dm::plan::{self, Op};
use crate::dm::query::{by_uuid_index, lv_state_of, Cows};
use crate::dm::state::{KernelDevice, LvKernelState};
use crate::dm::target::{DevNum, Target};
use crate::dm::tree::{family_of_device, family_root, Families};
use crate::metadata::model::{Lv, LvRole, Vg};
use crate::metadata::store::VgHandle;

use super::merge::MergeError;
use super::{Dm, OpsError, Storage};

/// lvm.conf's activation filters: `activation/volume_list` and
/// `activation/auto_activation_volume_list` (None: not set).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub volume_list: Option<Vec<String>>,
    pub auto_list: Option<Vec<String>>,
    /// `-K|--ignoreactivationskip`: LVs flagged ACTIVATION_SKIP activate too.
    pub ignore_activation_skip: bool,
}

/// What an activation did.
#[derive(Debug, Default)]
pub struct Activated {
    /// LVs left alone by a filter, activation skip or NOAUTOACTIVATE.
    pub skipped: Vec<String>,
    /// LVs that failed, with why (the others were still activated).
    pub failed: Vec<(String, OpsError)>,
    /// Origins that merge now (their live table is `snapshot-merge`).
    pub merging: Vec<String>,
    /// Visible LVs of the VG active afterwards.
    pub active: usize,
    /// What an interrupted command had left that this one repaired
    /// (suspended devices, inactive tables, leftover devices, /dev nodes).
    pub repaired: Vec<String>,
    /// LVs whose device (the LV's own, by UUID) this activation created,
    /// with its device number (`vgchange -ay`): the read-ahead LVM2 sets
    /// once a device is resumed is set for these, as LVM2 leaves an LV
    /// that was already active alone.
    pub created: Vec<(String, DevNum)>,
}

/// What `ops` repairs of the state `before` that an interrupted command
/// (kill -9, crash of the tool) left, in words for the user.
fn repairs(vg: &Vg, before: &[KernelDevice], ops: &[Op]) -> Vec<String> {
    // Indexed: a VG-wide plan has thousands of ops and devices.
    let by_name: HashMap<&str, &KernelDevice> =
        before.iter().map(|d| (d.name.as_str(), d)).collect();
    let was = |name: &str| by_name.get(name).copied();
    let suspended: HashSet<&str> = ops
        .iter()
        .filter_map(|o| match o {
            Op::Suspend { name } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let suspends = |name: &str| suspended.contains(name);
    let known: HashSet<crate::metadata::id::Id> = vg.lvs.iter().map(|l| l.id).collect();
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Clear { name } => out.push(format!(
                "Dropping inactive table of {name} left by an interrupted command."
            )),
            Op::Resume { name } if was(name).is_some_and(|d| d.suspended) && !suspends(name) => out
                .push(format!(
                    "Resuming {name}, left suspended by an interrupted command."
                )),
            Op::Remove { name } => {
                let leftover = was(name)
                    .and_then(|d| d.uuid.as_deref())
                    .and_then(|u| lv_id_in_vg(u, &vg.id))
                    .is_some_and(|id| !known.contains(&id));
                if leftover {
                    out.push(format!(
                        "Removing {name}, left over by an interrupted command."
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Runs `ops`, noting in `repaired` what they repair. `before` is the
/// kernel's state the plan was made from (listed once, not again here:
/// a listing costs a table query per device of the system).
fn run_repairing(
    dm: &mut Dm,
    vg: &Vg,
    ops: &[Op],
    before: &[KernelDevice],
    repaired: &mut Vec<String>,
) -> Result<(), OpsError> {
    let r = repairs(vg, before, ops);
    dm.run(ops)?;
    repaired.extend(r);
    Ok(())
}

/// A VG-wide plan with fewer independent groups than this runs as one
/// transaction, as any other plan: threads would not pay.
const MIN_PARALLEL_GROUPS: usize = 4;

/// A group of a plan that failed (and was undone), with why.
type FailedGroups = Vec<(Vec<Op>, OpsError)>;

/// Runs a plan over many LV families (`vgchange -ay|-an`): its independent
/// groups (`split_independent`: families share no device) at the same
/// time, each its own transaction, when there are enough of them; else as
/// one transaction (then a failure is the whole plan's, undone). Notes in
/// `repaired` what the groups that succeeded repaired.
fn run_families(
    dm: &mut Dm,
    vg: &Vg,
    ops: &[Op],
    before: &[KernelDevice],
    repaired: &mut Vec<String>,
) -> Result<(), FailedGroups> {
    let fams = Families::new(vg);
    let groups = split_independent(ops, before, &|name| fams.of_device(name));
    if groups.len() < MIN_PARALLEL_GROUPS {
        return run_repairing(dm, vg, ops, before, repaired).map_err(|e| vec![(ops.to_vec(), e)]);
    }
    let results = dm.run_groups(&groups);
    if results.iter().all(|r| r.is_ok()) {
        // In the plan's order, as a serial run words them.
        repaired.extend(repairs(vg, before, ops));
        return Ok(());
    }
    let mut failed = Vec::new();
    for (g, r) in groups.into_iter().zip(results) {
        match r {
            Ok(()) => repaired.extend(repairs(vg, before, &g)),
            Err(e) => failed.push((g, e)),
        }
    }
    Err(failed)
}

/// The families (root LV names) the failed groups touched; `None` when one
/// touched a device of no known family (then every LV is to retry).
fn failed_families(vg: &Vg, failed: &FailedGroups) -> Option<HashSet<String>> {
    let mut out = HashSet::default();
    for (ops, _) in failed {
        for op in ops {
            let mut names = vec![op.name()];
            if let Op::Rename { from, .. } = op {
                names.push(from);
            }
            for n in names {
                out.insert(family_of_device(vg, n)?);
            }
        }
    }
    Some(out)
}

/// vgmknodes: the /dev nodes and links of the VG's devices made where
/// missing, stale ones of the VG removed. Returns what changed.
pub fn repair_nodes(dm: &Dm, vg: &Vg) -> Result<Vec<String>, OpsError> {
    if dm.test_mode() {
        return Ok(vec![]);
    }
    repair_nodes_in(dm, vg, &dm.list()?)
}

/// `repair_nodes` with the kernel's devices already listed.
fn repair_nodes_in(dm: &Dm, vg: &Vg, devs: &[KernelDevice]) -> Result<Vec<String>, OpsError> {
    if dm.test_mode() {
        return Ok(vec![]);
    }
    let present: Vec<(String, crate::dm::target::DevNum)> = devs
        .iter()
        .filter(|d| {
            !d.table.is_empty()
                && d.uuid
                    .as_deref()
                    .is_some_and(|u| lv_id_in_vg(u, &vg.id).is_some())
        })
        .map(|d| (d.name.clone(), d.dev))
        .collect();
    dm.nodes()
        .repair_vg(&vg.name, &present)
        .map_err(|source| OpsError::Nodes {
            vg: vg.name.clone(),
            source,
        })
}

/// LVM2's `volume_list` match: entries are `vg`, `vg/lv`, `@tag` (VG or
/// LV tag) or `@*` (host tags: not supported, never matches). `found`:
/// the LV named `lv`, if the VG has it.
fn list_allows(list: &[String], vg: &Vg, lv: &str, found: Option<&Lv>) -> bool {
    let lv_tags: &[String] = found.map_or(&[], |l| &l.tags);
    list.iter().any(|e| {
        if let Some(tag) = e.strip_prefix('@') {
            vg.tags.iter().any(|t| t == tag) || lv_tags.iter().any(|t| t == tag)
        } else if let Some((v, l)) = e.split_once('/') {
            v == vg.name && l == lv
        } else {
            e == &vg.name
        }
    })
}

/// Whether `lv` may be activated (`auto`: by `-aay`).
pub fn may_activate(filter: &Filter, vg: &Vg, lv: &str, auto: bool) -> bool {
    may_activate_found(filter, vg, lv, vg.lv(lv), auto)
}

/// [`may_activate`] with the LV already looked up (`found`; a VG-wide
/// activation looks each LV up once, not once per question).
fn may_activate_found(filter: &Filter, vg: &Vg, lv: &str, found: Option<&Lv>, auto: bool) -> bool {
    if let Some(list) = &filter.volume_list {
        if !list_allows(list, vg, lv, found) {
            return false;
        }
    }
    if auto {
        if vg.flags.has("NOAUTOACTIVATE") || found.is_some_and(|l| l.flags.has("NOAUTOACTIVATE")) {
            return false;
        }
        if let Some(list) = &filter.auto_list {
            if !list_allows(list, vg, lv, found) {
                return false;
            }
        }
    }
    filter.ignore_activation_skip || !found.is_some_and(|l| l.flags.has("ACTIVATION_SKIP"))
}

/// The LVs `vgchange -ay` activates: visible plain LVs and origins (a
/// snapshot comes with its origin's stack).
pub fn top_level_lvs(vg: &Vg) -> Vec<String> {
    // Roles and visibility of all LVs in one pass each (per LV, each
    // scans the VG).
    vg.lvs
        .iter()
        .zip(vg.roles())
        .zip(vg.visible_flags())
        .filter(|((_, role), visible)| *role == LvRole::Plain && *visible)
        .map(|((l, _), _)| l.name.clone())
        .collect()
}

/// Visible LVs of `vg` with a device in the kernel.
pub fn active_count(vg: &Vg, devs: &[KernelDevice]) -> usize {
    let uuids: HashSet<&str> = devs.iter().filter_map(|d| d.uuid.as_deref()).collect();
    vg.lvs
        .iter()
        .zip(vg.visible_flags())
        .filter(|(l, visible)| *visible && uuids.contains(dm_uuid(&vg.id, &l.id, None).as_str()))
        .count()
}

/// Origins of `vg` that metadata says merge and whose live table is
/// `snapshot-merge` (the merge runs in the kernel: something must poll).
pub fn merging_origins(vg: &Vg, devs: &[KernelDevice]) -> Vec<String> {
    let merging: HashSet<&str> = vg
        .snapshots()
        .into_iter()
        .filter(|s| s.merging)
        .map(|s| s.origin.name.as_str())
        .collect();
    vg.lvs
        .iter()
        .filter(|l| merging.contains(l.name.as_str()))
        .filter(|l| {
            let u = dm_uuid(&vg.id, &l.id, None);
            devs.iter().any(|d| {
                d.uuid.as_deref() == Some(u.as_str())
                    && matches!(
                        d.table.first().map(|t| &t.target),
                        Some(Target::SnapshotMerge(_))
                    )
            })
        })
        .map(|l| l.name.clone())
        .collect()
}

/// LVM2 refuses activation changes on a merging COW, which is hidden
/// ("Operation not permitted on hidden LV").
pub fn check_not_hidden_merging(vg: &Vg, lv: &str) -> Result<(), OpsError> {
    if crate::metadata::snapshot::is_merging_cow(vg, lv) {
        return Err(MergeError::HiddenLv {
            vg: vg.name.clone(),
            lv: lv.to_string(),
        }
        .into());
    }
    Ok(())
}

fn merging_now(dm: &Dm, vg: &Vg) -> Result<Vec<String>, OpsError> {
    Ok(merging_origins(vg, &dm.list()?))
}

/// `vgchange -ay` / `-aay`: every top-level LV the filters allow. LVs on
/// missing PVs are refused by the planner, the rest still come up.
pub fn activate_vg(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &VgHandle,
    filter: &Filter,
    auto: bool,
) -> Result<Activated, OpsError> {
    let pvs = store.pv_devices(h);
    let mut out = Activated::default();
    let mut wanted = Vec::new();
    let by_name = h.vg.lv_index();
    for lv in top_level_lvs(&h.vg) {
        let found = by_name.get(lv.as_str()).copied();
        if may_activate_found(filter, &h.vg, &lv, found, auto) {
            wanted.push(lv);
        } else {
            out.skipped.push(lv);
        }
    }
    // One plan, its independent families run at the same time
    // (`run_families`); the families of a group that failed (and was
    // undone) are retried LV by LV, so that one LV's failure names that LV
    // and the others still come up. A plan that cannot be made at all:
    // every LV, LV by LV.
    let before = dm.list()?;
    crate::metadata::phase::mark("act-listed");
    let existed: HashSet<&str> = before.iter().filter_map(|d| d.uuid.as_deref()).collect();
    let (plan, refused) = plan::plan_activate_many(&h.vg, &wanted, &pvs, &before);
    crate::metadata::phase::mark("act-planned");
    // The plan, when all of it ran: what the kernel holds now follows from
    // `before` and it (`listed_after`).
    let mut ran = None;
    let retry: Option<HashSet<String>> = match plan {
        Err(_) => None,
        Ok(ops) => match run_families(dm, &h.vg, &ops, &before, &mut out.repaired) {
            Ok(()) => {
                ran = Some(ops);
                Some(HashSet::default())
            }
            Err(failed) => failed_families(&h.vg, &failed),
        },
    };
    crate::metadata::phase::mark("act-kernel-ran");
    if retry.as_ref().is_some_and(|r| r.is_empty()) {
        out.failed
            .extend(refused.into_iter().map(|(lv, e)| (lv, e.into())));
    } else {
        let refused: HashSet<String> = refused.into_iter().map(|(lv, _)| lv).collect();
        let again = |lv: &String| {
            refused.contains(lv)
                || retry
                    .as_ref()
                    .is_none_or(|fams| family_root(&h.vg, lv).is_ok_and(|r| fams.contains(&r.name)))
        };
        for lv in wanted.into_iter().filter(again) {
            let before = dm.list()?;
            let step = plan::plan_activate(&h.vg, &lv, &pvs, &before)
                .map_err(OpsError::from)
                .and_then(|ops| run_repairing(dm, &h.vg, &ops, &before, &mut out.repaired));
            if let Err(e) = step {
                out.failed.push((lv, e));
            }
        }
    }
    // Nodes are repaired from the same listing the counts come from
    // (repairing /dev changes nothing in the kernel).
    let devs = match &ran {
        Some(ops) => listed_after(dm, &before, ops)?,
        None => dm.list()?,
    };
    crate::metadata::phase::mark("act-listed-after");
    out.repaired.extend(repair_nodes_in(dm, &h.vg, &devs)?);
    crate::metadata::phase::mark("act-nodes-checked");
    out.active = active_count(&h.vg, &devs);
    out.merging = merging_origins(&h.vg, &devs);
    out.created = created_devices(&h.vg, &existed, &devs);
    Ok(out)
}

/// The kernel's devices once `ops`, an activation plan made from `before`,
/// ran without a failure, from one DM_LIST_DEVICES instead of a table
/// query per device (a thousand LVs brought up: a thousand queries): a
/// device keeps what `before` said of it, with the table the plan loaded
/// and resumed (an activation plan resumes every device it loads; one
/// that ran whole left nothing suspended or waiting in an inactive slot).
/// A device neither in `before` nor loaded by the plan (another VG's,
/// made meanwhile) is listed without a table. Plans that rename or clear
/// are listed in full.
pub(super) fn listed_after(
    dm: &Dm,
    before: &[KernelDevice],
    ops: &[Op],
) -> Result<Vec<KernelDevice>, super::KernelError> {
    let mut loaded: HashMap<&str, (&[crate::dm::target::TargetLine], bool)> = HashMap::default();
    for op in ops {
        match op {
            Op::Load {
                name,
                table,
                read_only,
            } => {
                loaded.insert(name, (table, *read_only));
            }
            Op::Rename { .. } | Op::Clear { .. } => return dm.list(),
            Op::Create { .. } | Op::Suspend { .. } | Op::Resume { .. } | Op::Remove { .. } => {}
        }
    }
    let old: HashMap<&str, &KernelDevice> = before.iter().map(|d| (d.name.as_str(), d)).collect();
    let ids = dm.list_ids()?;
    // The plan names the devices its tables use; the kernel lists numbers.
    let numbers = ids.iter().map(|(n, d, _)| (n.clone(), *d)).collect();
    let mut tables: HashMap<&str, (Vec<crate::dm::target::TargetLine>, bool)> = HashMap::default();
    for (name, (table, read_only)) in loaded {
        match crate::dm::exec::resolve_table(table, &numbers) {
            Ok(t) => tables.insert(name, (t, read_only)),
            Err(_) => return dm.list(),
        };
    }
    Ok(ids
        .into_iter()
        .map(|(name, dev, uuid)| {
            let mut d = match old.get(name.as_str()) {
                Some(&b) if b.dev == dev && b.uuid == uuid => b.clone(),
                _ => KernelDevice {
                    name,
                    uuid,
                    dev,
                    table: Vec::new(),
                    open_count: 0,
                    suspended: false,
                    read_only: false,
                    inactive_table: false,
                },
            };
            if let Some((table, read_only)) = tables.get(d.name.as_str()) {
                d.table = table.clone();
                d.read_only = *read_only;
                d.suspended = false;
                d.inactive_table = false;
            }
            d
        })
        .collect())
}

/// The LVs of `vg` whose own device is in `devs` but whose UUID was not
/// among `existed`, with their device numbers.
fn created_devices(
    vg: &Vg,
    existed: &HashSet<&str>,
    devs: &[KernelDevice],
) -> Vec<(String, DevNum)> {
    let now = by_uuid_index(devs);
    vg.lvs
        .iter()
        .filter_map(|lv| {
            let uuid = dm_uuid(&vg.id, &lv.id, None);
            let dev = now.get(uuid.as_str())?.dev;
            (!existed.contains(uuid.as_str())).then(|| (lv.name.clone(), dev))
        })
        .collect()
}

/// `vgchange -an` (and vgremove): every LV of the VG, refused while any is
/// open.
pub fn deactivate_vg(dm: &mut Dm, vg: &Vg) -> Result<Activated, OpsError> {
    let mut out = Activated::default();
    let before = dm.list()?;
    let ops = plan::plan_deactivate_vg(vg, &before)?;
    crate::metadata::phase::mark("deact-listed-planned");
    // The families that could go are gone even when one could not (as
    // with LVM2); the first failure is the command's.
    if let Err(failed) = run_families(dm, vg, &ops, &before, &mut out.repaired) {
        if let Some((_, e)) = failed.into_iter().next() {
            return Err(e);
        }
    }
    crate::metadata::phase::mark("deact-kernel-ran");
    let devs = dm.list()?;
    crate::metadata::phase::mark("deact-listed-after");
    out.repaired.extend(repair_nodes_in(dm, vg, &devs)?);
    crate::metadata::phase::mark("deact-nodes-checked");
    out.active = active_count(vg, &devs);
    Ok(out)
}

/// `lvchange -ay VG/LV` (a snapshot brings up its origin's stack).
pub fn activate_lv(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &VgHandle,
    lv: &str,
    filter: &Filter,
    auto: bool,
) -> Result<Activated, OpsError> {
    no_such_lv(&h.vg, lv)?;
    check_not_hidden_merging(&h.vg, lv)?;
    let mut out = Activated::default();
    if !may_activate(filter, &h.vg, lv, auto) {
        out.skipped.push(lv.to_string());
        return Ok(out);
    }
    let before = dm.list()?;
    let ops = plan::plan_activate(&h.vg, lv, &store.pv_devices(h), &before)?;
    run_repairing(dm, &h.vg, &ops, &before, &mut out.repaired)?;
    // Nodes are repaired from the same listing the counts come from
    // (repairing /dev changes nothing in the kernel).
    let devs = dm.list()?;
    out.repaired.extend(repair_nodes_in(dm, &h.vg, &devs)?);
    out.active = active_count(&h.vg, &devs);
    out.merging = merging_origins(&h.vg, &devs);
    Ok(out)
}

/// `lvchange -an VG/LV`: the LV's whole family, refused while open.
pub fn deactivate_lv(dm: &mut Dm, vg: &Vg, lv: &str) -> Result<Activated, OpsError> {
    no_such_lv(vg, lv)?;
    check_not_hidden_merging(vg, lv)?;
    let mut out = Activated::default();
    let before = dm.list()?;
    let ops = plan::plan_deactivate(vg, lv, &before)?;
    run_repairing(dm, vg, &ops, &before, &mut out.repaired)?;
    out.repaired.extend(repair_nodes(dm, vg)?);
    Ok(out)
}

/// `lvchange --refresh`: reload the family's tables from metadata (and
/// repair what an interrupted command left). A deferred merge starts here
/// when nothing is open.
pub fn refresh_lv(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &VgHandle,
    lv: &str,
) -> Result<Activated, OpsError> {
    no_such_lv(&h.vg, lv)?;
    check_not_hidden_merging(&h.vg, lv)?;
    let mut out = Activated::default();
    let before = dm.list()?;
    let ops = plan::plan_refresh(&h.vg, lv, &store.pv_devices(h), &before)?;
    run_repairing(dm, &h.vg, &ops, &before, &mut out.repaired)?;
    out.repaired.extend(repair_nodes(dm, &h.vg)?);
    out.merging = merging_now(dm, &h.vg)?;
    Ok(out)
}

/// `vgmknodes`: every LV family with a device in the kernel is brought
/// to what its metadata says (no forced reload of what is right), the
/// VG's leftovers are removed, and its /dev nodes repaired.
pub fn reconcile_vg(dm: &mut Dm, store: &dyn Storage, h: &VgHandle) -> Result<Activated, OpsError> {
    let pvs = store.pv_devices(h);
    let mut out = Activated::default();
    for lv in top_level_lvs(&h.vg) {
        let devs = dm.list()?;
        // Active means the LV's own device has a live table; a family of
        // which only layers are left was being taken down (or never came
        // up): it goes.
        let top = h.vg.lv(&lv).map(|l| dm_uuid(&h.vg.id, &l.id, None));
        let active = devs
            .iter()
            .any(|d| d.uuid.is_some() && d.uuid == top && !d.table.is_empty());
        let ops = if active {
            plan::plan_activate(&h.vg, &lv, &pvs, &devs)?
        } else {
            plan::plan_deactivate(&h.vg, &lv, &devs)?
        };
        run_repairing(dm, &h.vg, &ops, &devs, &mut out.repaired)?;
    }
    // Leftovers that belong to no LV of the metadata at all.
    let before = dm.list()?;
    let ops = plan::plan_leftovers(&h.vg, &before)?;
    run_repairing(dm, &h.vg, &ops, &before, &mut out.repaired)?;
    // Nodes are repaired from the same listing the counts come from
    // (repairing /dev changes nothing in the kernel).
    let devs = dm.list()?;
    out.repaired.extend(repair_nodes_in(dm, &h.vg, &devs)?);
    out.active = active_count(&h.vg, &devs);
    out.merging = merging_origins(&h.vg, &devs);
    Ok(out)
}

/// `vgchange --refresh`: every top-level LV.
pub fn refresh_vg(dm: &mut Dm, store: &dyn Storage, h: &VgHandle) -> Result<Activated, OpsError> {
    let pvs = store.pv_devices(h);
    let mut out = Activated::default();
    for lv in top_level_lvs(&h.vg) {
        let before = dm.list()?;
        let ops = plan::plan_refresh(&h.vg, &lv, &pvs, &before)?;
        run_repairing(dm, &h.vg, &ops, &before, &mut out.repaired)?;
    }
    out.repaired.extend(repair_nodes(dm, &h.vg)?);
    out.merging = merging_now(dm, &h.vg)?;
    Ok(out)
}

fn no_such_lv(vg: &Vg, lv: &str) -> Result<(), OpsError> {
    if vg.lv(lv).is_none() {
        return Err(PlanError::NoSuchLv {
            vg: vg.name.clone(),
            lv: lv.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Whether any LV of the VG has a device in the kernel.
pub fn any_lv_active(dm: &Dm, vg: &Vg) -> bool {
    let Ok(devs) = dm.list() else {
        return false;
    };
    let prefix = format!("LVM-{}", vg.id.as_raw_str());
    devs.iter()
        .any(|d| d.uuid.as_deref().is_some_and(|u| u.starts_with(&prefix)))
}

/// What the kernel says about one LV, for reports.
#[derive(Clone, Debug, Default)]
pub struct LvFacts {
    pub state: LvKernelState,
    /// (major, minor) of the LV's own device.
    pub device: Option<(u32, u32)>,
}

/// The kernel's view of every LV in the VG (the kernel's devices are
/// listed once, and only the VG's LVs' own devices are asked about: not
/// their layers, not other VGs' devices). Without device-mapper every LV
/// reads as unknown.
pub fn lv_facts(dm: Option<&Dm>, vg: &Vg) -> BTreeMap<String, LvFacts> {
    let top_of_vg = |_: &str, u: Option<&str>| u.is_some_and(|u| is_top_of_vg(u, &vg.id));
    let devices = dm.and_then(|d| d.kernel().list_picked(&top_of_vg).ok());
    let index = devices.as_deref().map(by_uuid_index);
    let find = |u: &str| index.as_ref().and_then(|i| i.get(u).copied());
    let cows = Cows::of(vg);
    vg.lvs
        .iter()
        .map(|lv| {
            let facts = match (dm, &devices) {
                (Some(dm), Some(_)) => {
                    let state = lv_state_of(dm.kernel(), &find, vg, lv, cows.of_lv(lv));
                    let uuid = dm_uuid(&vg.id, &lv.id, None);
                    let device = find(&uuid).map(|d| (d.dev.major, d.dev.minor));
                    LvFacts { state, device }
                }
                _ => LvFacts::default(),
            };
            (lv.name.clone(), facts)
        })
        .collect()
}

/// [`apply_read_ahead`] for the devices an activation just created
/// (`Activated::created`): their numbers are known, and a device
/// device-mapper has just made starts with at least
/// [`readahead::NEW_DEVICE_SECTORS`], so an "at least" that asks no more
/// than that is met without reading it (one sysfs read per LV less in
/// `vgchange -ay`, on the command's main thread).
pub fn apply_read_ahead_created(
    dm: &Dm,
    h: &VgHandle,
    created: &[(String, DevNum)],
) -> Vec<(String, std::io::Error)> {
    if dm.test_mode() {
        return vec![];
    }
    set_read_ahead(h, created.iter().cloned(), true)
}

/// Up to this many LVs, `apply_read_ahead` asks for each device by name
/// instead of listing every device.
const BY_NAME_AT_MOST: usize = 8;

/// Sets the kernel read-ahead of `lvs`' devices as LVM2 does once they
/// are resumed (`dm::readahead`); LVs without a device are left alone.
/// Best effort, as in LVM2 (a refused write changes nothing else): the
/// LVs it failed for are returned, with why.
pub fn apply_read_ahead(dm: &Dm, h: &VgHandle, lvs: &[String]) -> Vec<(String, std::io::Error)> {
    if dm.test_mode() {
        return vec![];
    }
    // A few LVs (`lvcreate`, an origin and its snapshots for `lvcreate
    // -s`) are looked up under their own names (one ioctl each), and by
    // UUID in a listing only when a name does not hold its LV; more
    // (`vgchange -ay`) are all found in one listing, not a query each. (A
    // listing of a thousand active LVs took 10 ms of `lvcreate -s`'s
    // 220 in the test VM.) Device numbers by UUID, from one listing
    // (`None`: it failed).
    let by_uuid = || -> Option<HashMap<String, DevNum>> {
        let ids = dm.kernel().list_ids().ok()?;
        Some(
            ids.into_iter()
                .filter_map(|(_, dev, uuid)| Some((uuid?, dev)))
                .collect(),
        )
    };
    let mut all = if lvs.len() > BY_NAME_AT_MOST {
        by_uuid()
    } else {
        None
    };
    let mut devices = Vec::new();
    for name in lvs {
        let Some(lv) = h.vg.lv(name) else { continue };
        let uuid = dm_uuid(&h.vg.id, &lv.id, None);
        let listed = all.as_ref().map(|m| m.get(&uuid).copied());
        let dev = match listed {
            Some(Some(dev)) => dev,
            Some(None) => continue,
            None => match dm.kernel().info(&dm_name(&h.vg.name, name, None)) {
                Ok(Some(d)) if d.uuid.as_deref() == Some(uuid.as_str()) => d.dev,
                _ => match all
                    .get_or_insert_with(|| by_uuid().unwrap_or_default())
                    .get(&uuid)
                {
                    Some(d) => *d,
                    None => continue,
                },
            },
        };
        devices.push((name.clone(), dev));
    }
    set_read_ahead(h, devices, false)
}

/// Sets each LV's read-ahead on its device (`devices`: LV name, device
/// number) as `dm::readahead` chooses it, a PV's read-ahead read once for
/// all the LVs on it. `created`: the devices were just made by this
/// command, so an "at least" of no more than
/// [`readahead::NEW_DEVICE_SECTORS`] is met without reading the device.
fn set_read_ahead(
    h: &VgHandle,
    devices: impl IntoIterator<Item = (String, DevNum)>,
    created: bool,
) -> Vec<(String, std::io::Error)> {
    use crate::dm::readahead::{self, ReadAhead};
    let pvs = super::pv_devices(h);
    let mut pv_read_ahead: HashMap<String, Option<u64>> = HashMap::default();
    let mut failed = Vec::new();
    let by_name = h.vg.lv_index();
    for (name, dev) in devices {
        let Some(lv) = by_name.get(name.as_str()).copied() else {
            continue;
        };
        let Some(ra) = readahead::desired(lv, |k| {
            *pv_read_ahead
                .entry(k.to_string())
                .or_insert_with(|| pvs.get(k).and_then(|d| readahead::read(*d)))
        }) else {
            continue;
        };
        if created && matches!(ra, ReadAhead::AtLeast(n) if n <= readahead::NEW_DEVICE_SECTORS) {
            continue;
        }
        if let Err(e) = readahead::set(dev, ra) {
            failed.push((name, e));
        }
    }
    failed
}
