//! The desired device-mapper stack of an LV, built from the VG model: which
//! dm devices it needs, with which names, UUIDs and tables. Pure.
//!
//! Layout as LVM2 builds it (lib/activate/dev_manager.c
//! `_add_new_lv_to_dtree`, `_add_origin_target_to_dtree`,
//! `_add_snapshot_target_to_dtree`; priorities from libdm-deptree.c
//! `_add_snapshot_target`):
//!
//! | device          | uuid suffix | table                                   | priority |
//! |-----------------|-------------|-----------------------------------------|----------|
//! | `vg-lv`         |             | linear/striped (plain LV)               | 0        |
//! | `vg-lv-real`    | `-real`     | the origin's segments                   | 0        |
//! | `vg-lv`         |             | `snapshot-origin <real>`                | 1        |
//! | `vg-lv`         |             | `snapshot-merge <real> <cow> P <chunk>` | 1        |
//! | `vg-snap-cow`   | `-cow`      | the COW LV's segments                   | 0        |
//! | `vg-snap`       |             | `snapshot <real> <cow> P <chunk>`       | 0        |
//! | `vg-snap` (merging, device already exists) | | `error`              | 2        |
//!
//! Priority orders resumes among devices at the same depth: new snapshots
//! start tracking writes before their origin resumes; a merging
//! snapshot's `error` table goes in after the `snapshot-merge` handover.

use rustc_hash::FxHashMap as HashMap;

use super::error::PlanError;
use super::names::{dm_name, dm_uuid, Layer};
use super::state::KernelDevice;
use super::target::{DevNum, DevRef, Persistence, SnapshotArgs, Stripe, Target, TargetLine};
use crate::metadata::id::Id;
use crate::metadata::model::{Lv, LvRole, SegmentKind, SnapshotRef, Vg};

/// The device for each PV, by PV key (`pv0`, ...).
pub type PvDevices = HashMap<String, DevNum>;

/// One dm device of the desired stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub uuid: String,
    /// Devices not in the stack are `DevRef::Num`; devices of the stack
    /// are `DevRef::Name`.
    pub table: Vec<TargetLine>,
    pub read_only: bool,
    pub priority: u8,
    /// Devices this one must be resumed after without sitting on them
    /// (the merging snapshot after its `snapshot-merge` origin).
    pub after: Vec<String>,
    /// The fixed minor the device is created with (LV status
    /// `FIXED_MINOR`, key `minor`): only the LV's own visible device,
    /// never a `-real`/`-cow` layer (dev_manager.c `_add_new_lv_to_dtree`
    /// passes the LV's major/minor for the layer-less node only).
    pub minor: Option<u32>,
}

/// The persistent minor of `lv`, if it has one.
pub fn fixed_minor(lv: &Lv) -> Option<u32> {
    if !lv.status.has("FIXED_MINOR") {
        return None;
    }
    lv.minor.and_then(|m| u32::try_from(m).ok())
}

/// The desired devices of one LV family (an LV, or an origin with all its
/// snapshots), plus the LV IDs whose devices the family owns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stack {
    pub nodes: Vec<Node>,
    /// (vg id, lv id) of every LV in the family, to find stale devices.
    pub owners: Vec<(Id, Id)>,
}

/// The linear/striped table of `lv` on the PV devices (one target line
/// per segment, as LVM2 emits them; `error` and `zero` segments map to
/// those targets).
pub fn lv_table(vg: &Vg, lv: &Lv, pvs: &PvDevices) -> Result<Vec<TargetLine>, PlanError> {
    let es = vg.extent_size;
    let area = |pv_key: &str, pe: u64| -> Result<(DevRef, u64), PlanError> {
        let pv = vg.pv(pv_key).ok_or_else(|| PlanError::Partial {
            vg: vg.name.clone(),
            lv: lv.name.clone(),
        })?;
        let dev = pvs.get(pv_key).ok_or_else(|| PlanError::Partial {
            vg: vg.name.clone(),
            lv: lv.name.clone(),
        })?;
        Ok((DevRef::Num(*dev), pv.pe_start + pe * es))
    };
    let mut out = Vec::new();
    for seg in &lv.segments {
        let (start, length) = (seg.start_extent * es, seg.extent_count * es);
        let target = match &seg.kind {
            SegmentKind::Striped { stripes, .. } if stripes.len() == 1 => {
                let (dev, offset) = area(&stripes[0].pv, stripes[0].pe)?;
                Target::Linear { dev, offset }
            }
            SegmentKind::Unknown { .. } if seg.virtual_type() == Some("error") => Target::Error,
            SegmentKind::Unknown { .. } if seg.virtual_type() == Some("zero") => Target::Zero,
            SegmentKind::Striped {
                stripes,
                stripe_size,
            } if !stripes.is_empty() => Target::Striped {
                chunk_size: stripe_size.unwrap_or(es),
                stripes: stripes
                    .iter()
                    .map(|a| area(&a.pv, a.pe).map(|(dev, offset)| Stripe { dev, offset }))
                    .collect::<Result<_, _>>()?,
            },
            other => {
                return Err(PlanError::Unsupported {
                    vg: vg.name.clone(),
                    lv: lv.name.clone(),
                    what: match other {
                        SegmentKind::Unknown { type_name } => type_name.clone(),
                        _ => seg.type_name().to_string(),
                    },
                })
            }
        };
        out.push(TargetLine::new(start, length, target));
    }
    Ok(out)
}

/// `vg` as `--activationmode partial` activates it: each segment with an
/// area on a PV that has no device becomes an `error` segment, so the LV
/// comes up and reads of the missing part fail (LVM2 maps the missing
/// area to an `error` device, `missing_stripe_filler`; rlvm errors the
/// whole segment, the other stripes of a striped one included). For
/// planning only: never committed.
pub fn with_missing_as_error(vg: &Vg, present: &PvDevices) -> Vg {
    let mut out = vg.clone();
    for lv in &mut out.lvs {
        for seg in &mut lv.segments {
            let missing = match &seg.kind {
                SegmentKind::Striped { stripes, .. } => {
                    stripes.iter().any(|a| !present.contains_key(&a.pv))
                }
                _ => false,
            };
            if missing {
                *seg = crate::metadata::model::Segment::new_virtual(
                    "error",
                    seg.start_extent,
                    seg.extent_count,
                );
            }
        }
    }
    out
}

/// The LV whose stack `lv_name` belongs to: a COW's origin, else itself.
pub fn family_root<'a>(vg: &'a Vg, lv_name: &str) -> Result<&'a Lv, PlanError> {
    let lv = vg.lv(lv_name).ok_or_else(|| PlanError::NoSuchLv {
        vg: vg.name.clone(),
        lv: lv_name.to_string(),
    })?;
    match vg.role(lv) {
        LvRole::Plain => Ok(lv),
        LvRole::Cow => Ok(vg.snapshot_by_cow(lv_name).map(|s| s.origin).unwrap_or(lv)),
        LvRole::SnapshotLink => Err(PlanError::Internal {
            vg: vg.name.clone(),
            lv: lv_name.to_string(),
        }),
    }
}

/// (vg id, lv id) of the family rooted at `root` (the root and its COWs).
pub fn family_owners(vg: &Vg, root: &str) -> Vec<(Id, Id)> {
    let mut v = Vec::new();
    if let Some(lv) = vg.lv(root) {
        v.push((vg.id, lv.id));
    }
    for s in vg.snapshots_of(root) {
        v.push((vg.id, s.cow.id));
    }
    v
}

/// The families of a VG's LVs, indexed once: what [`family_root`],
/// [`family_owners`], `Vg::snapshots_of` and [`family_of_device`] answer by
/// scanning the VG, for plans over every LV (`vgchange -ay|-an` of 1000
/// LVs: a few scans per LV made these plans quadratic).
pub struct Families<'a> {
    vg: &'a Vg,
    /// Each LV name's family root (`Err`: a snapshot link, no family).
    roots: HashMap<&'a str, Result<&'a Lv, ()>>,
    /// Each origin's snapshots, in metadata order.
    snaps: HashMap<&'a str, Vec<SnapshotRef<'a>>>,
}

impl<'a> Families<'a> {
    pub fn new(vg: &'a Vg) -> Families<'a> {
        let mut snaps: HashMap<&str, Vec<SnapshotRef<'a>>> = HashMap::default();
        let mut cow_origin: HashMap<&str, &Lv> = HashMap::default();
        for s in vg.snapshots() {
            cow_origin.entry(s.cow.name.as_str()).or_insert(s.origin);
            snaps.entry(s.origin.name.as_str()).or_default().push(s);
        }
        let mut roots = HashMap::default();
        for lv in &vg.lvs {
            // The first LV of a name, as `Vg::lv` finds it.
            roots.entry(lv.name.as_str()).or_insert_with(|| {
                if lv.snapshot_segment().is_some() {
                    Err(())
                } else {
                    Ok(cow_origin.get(lv.name.as_str()).copied().unwrap_or(lv))
                }
            });
        }
        Families { vg, roots, snaps }
    }

    /// [`family_root`].
    pub fn root(&self, lv_name: &str) -> Result<&'a Lv, PlanError> {
        match self.roots.get(lv_name) {
            Some(Ok(root)) => Ok(root),
            Some(Err(())) => Err(PlanError::Internal {
                vg: self.vg.name.clone(),
                lv: lv_name.to_string(),
            }),
            None => Err(PlanError::NoSuchLv {
                vg: self.vg.name.clone(),
                lv: lv_name.to_string(),
            }),
        }
    }

    /// `Vg::snapshots_of(origin)`.
    pub fn snapshots_of(&self, origin: &str) -> &[SnapshotRef<'a>] {
        self.snaps.get(origin).map_or(&[], |v| v)
    }

    /// [`family_owners`] of family root `root`.
    pub fn owners(&self, root: &Lv) -> Vec<(Id, Id)> {
        let mut v = vec![(self.vg.id, root.id)];
        v.extend(
            self.snapshots_of(&root.name)
                .iter()
                .map(|s| (self.vg.id, s.cow.id)),
        );
        v
    }

    /// [`family_of_device`].
    pub fn of_device(&self, name: &str) -> Option<String> {
        let s = super::names::split_dm_name(name);
        if s.vg != self.vg.name {
            return None;
        }
        self.root(&s.lv).ok().map(|r| r.name.clone())
    }
}

/// The family (root LV's name) a dm device of `vg` belongs to, from its
/// name: `vg-lv`, `vg-lv-real`, `vg-snap`, `vg-snap-cow` all give the
/// origin's name. `None` for a device of another VG or of no LV of the
/// metadata (a leftover).
pub fn family_of_device(vg: &Vg, name: &str) -> Option<String> {
    let s = super::names::split_dm_name(name);
    if s.vg != vg.name {
        return None;
    }
    family_root(vg, &s.lv).ok().map(|r| r.name.clone())
}

/// Whether a pending merge of `origin` may run now (LVM2's rule in
/// `_add_new_lv_to_dtree`): it already runs if the origin device carries
/// `snapshot-merge`; it is postponed while the origin device or the
/// merging snapshot's device is open; otherwise it starts.
pub fn merge_may_run(vg: &Vg, origin: &Lv, kernel: &[KernelDevice]) -> bool {
    let Some(m) = vg.merging_snapshot_of(&origin.name) else {
        return false;
    };
    let find = |name: &str| kernel.iter().find(|d| d.name == name);
    if let Some(o) = find(&dm_name(&vg.name, &origin.name, None)) {
        if matches!(
            o.table.first().map(|l| &l.target),
            Some(Target::SnapshotMerge(_))
        ) {
            return true;
        }
        if o.open_count > 0 {
            return false;
        }
    }
    find(&dm_name(&vg.name, &m.cow.name, None)).is_none_or(|s| s.open_count <= 0)
}

fn size(table: &[TargetLine]) -> u64 {
    table.iter().map(|l| l.start + l.length).max().unwrap_or(0)
}

/// The desired stack for the family of `lv_name` in `vg`.
pub fn lv_stack(
    vg: &Vg,
    lv_name: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Stack, PlanError> {
    lv_stack_in(&Families::new(vg), lv_name, pvs, kernel)
}

/// [`lv_stack`] with the VG's families indexed (a plan over many LVs).
pub fn lv_stack_in(
    fams: &Families<'_>,
    lv_name: &str,
    pvs: &PvDevices,
    kernel: &[KernelDevice],
) -> Result<Stack, PlanError> {
    let vg = fams.vg;
    let root = fams.root(lv_name)?;
    let owners = fams.owners(root);
    let snaps = fams.snapshots_of(&root.name);
    let top_name = dm_name(&vg.name, &root.name, None);
    let top_uuid = dm_uuid(&vg.id, &root.id, None);
    let table = lv_table(vg, root, pvs)?;
    if snaps.is_empty() {
        let node = Node {
            name: top_name,
            uuid: top_uuid,
            table,
            read_only: !root.writable(),
            priority: 0,
            after: vec![],
            minor: fixed_minor(root),
        };
        return Ok(Stack {
            nodes: vec![node],
            owners,
        });
    }
    let real = Layer::Real.as_str();
    let real_name = dm_name(&vg.name, &root.name, Some(real));
    let origin_size = size(&table);
    let mut nodes = vec![Node {
        name: real_name.clone(),
        uuid: dm_uuid(&vg.id, &root.id, Some(real)),
        table,
        read_only: !root.writable(),
        priority: 0,
        after: vec![],
        minor: None,
    }];
    let merging = merge_may_run(vg, root, kernel)
        .then(|| vg.merging_snapshot_of(&root.name))
        .flatten();
    let cow = Layer::Cow.as_str();
    let snap_args = |cow_name: &str, chunk_size: u64| SnapshotArgs {
        origin: DevRef::Name(real_name.clone()),
        cow: DevRef::Name(cow_name.to_string()),
        persistence: Persistence::Persistent,
        chunk_size,
        features: vec![],
    };
    let mut origin_target = Target::SnapshotOrigin {
        origin: DevRef::Name(real_name.clone()),
    };
    for s in snaps {
        let cow_name = dm_name(&vg.name, &s.cow.name, Some(cow));
        // The COW is always writable: origin writes copy chunks into it
        // even when the snapshot itself is read-only.
        nodes.push(Node {
            name: cow_name.clone(),
            uuid: dm_uuid(&vg.id, &s.cow.id, Some(cow)),
            table: lv_table(vg, s.cow, pvs)?,
            read_only: false,
            priority: 0,
            after: vec![],
            minor: None,
        });
        let snap_name = dm_name(&vg.name, &s.cow.name, None);
        let snap_uuid = dm_uuid(&vg.id, &s.cow.id, None);
        let len = match s.link.extent_count() {
            0 => origin_size,
            n => n * vg.extent_size,
        };
        if merging.as_ref().is_some_and(|m| m.cow.name == s.cow.name) {
            origin_target = Target::SnapshotMerge(snap_args(&cow_name, s.chunk_size));
            // A cold start (no snapshot device) leaves it out; an existing
            // snapshot device becomes the handover source and then errors.
            if kernel.iter().any(|d| d.name == snap_name) {
                nodes.push(Node {
                    name: snap_name,
                    uuid: snap_uuid,
                    table: vec![TargetLine::new(0, len, Target::Error)],
                    read_only: !s.cow.writable(),
                    priority: 2,
                    after: vec![top_name.clone()],
                    minor: fixed_minor(s.cow),
                });
            }
        } else {
            nodes.push(Node {
                name: snap_name,
                uuid: snap_uuid,
                table: vec![TargetLine::new(
                    0,
                    len,
                    Target::Snapshot(snap_args(&cow_name, s.chunk_size)),
                )],
                read_only: !s.cow.writable(),
                priority: 0,
                after: vec![],
                minor: fixed_minor(s.cow),
            });
        }
    }
    nodes.push(Node {
        name: top_name,
        uuid: top_uuid,
        table: vec![TargetLine::new(0, origin_size, origin_target)],
        read_only: !root.writable(),
        priority: 1,
        after: vec![],
        minor: fixed_minor(root),
    });
    Ok(Stack { nodes, owners })
}
