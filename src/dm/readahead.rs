//! Read-ahead of an LV's device, as LVM2 sets it once the device is
//! resumed: the one place that writes it. Touches sysfs
//! (`/sys/dev/block/M:m/queue/read_ahead_kb`) only; the choice is pure.
//!
//! LVM2's rule (lib/activate/dev_manager.c `_add_new_lv_to_dtree`,
//! lib/metadata/metadata.c `lv_calculate_readahead`, libdm's
//! `DM_READ_AHEAD_MINIMUM_FLAG`): an LV's own `read_ahead` is set as is
//! (`none` is 0); `auto` asks for at least twice its widest stripe row,
//! or, for linear LVs, the read-ahead of the PV under its first segment,
//! and never lowers what the kernel already uses.

use std::io;

use super::target::DevNum;
use crate::metadata::model::{Lv, SegmentKind};

/// The read-ahead, in sectors, of a device device-mapper has just created:
/// a new disk's backing device starts at the kernel's `VM_READAHEAD_PAGES`
/// (128 KiB), and a table only raises it (`disk_update_readahead`: at
/// least twice the optimal I/O size).
pub const NEW_DEVICE_SECTORS: u64 = 256;

/// What is asked of the kernel, in sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAhead {
    Exact(u64),
    AtLeast(u64),
}

/// The read-ahead for `lv`; `pv_read_ahead` gives the read-ahead (in
/// sectors) of the PV whose key it is given. `None`: nothing to set.
pub fn desired(lv: &Lv, mut pv_read_ahead: impl FnMut(&str) -> Option<u64>) -> Option<ReadAhead> {
    if let Some(n) = lv.read_ahead {
        return Some(ReadAhead::Exact(n));
    }
    let widest = lv
        .segments
        .iter()
        .map(|s| match &s.kind {
            SegmentKind::Striped {
                stripes,
                stripe_size: Some(ss),
            } if stripes.len() > 1 => ss * stripes.len() as u64,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    if widest > 0 {
        return Some(ReadAhead::AtLeast(widest * 2));
    }
    let first = lv.segments.first()?;
    let SegmentKind::Striped { stripes, .. } = &first.kind else {
        return None;
    };
    let ra = pv_read_ahead(&stripes.first()?.pv)?;
    (ra > 0).then_some(ReadAhead::AtLeast(ra))
}

fn path(dev: DevNum) -> String {
    format!(
        "/sys/dev/block/{}:{}/queue/read_ahead_kb",
        dev.major, dev.minor
    )
}

/// The read-ahead the kernel uses for `dev`, in sectors.
pub fn read(dev: DevNum) -> Option<u64> {
    use std::io::Read;
    // One read of a small buffer (open, read, close): `vgchange -ay`
    // reads this for every LV it activates.
    let mut buf = [0u8; 32];
    let n = std::fs::File::open(path(dev)).ok()?.read(&mut buf).ok()?;
    let kb: u64 = std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()?;
    Some(kb * 2)
}

/// Sets `dev`'s read-ahead as `ra` asks (an `AtLeast` that the kernel
/// already meets changes nothing).
pub fn set(dev: DevNum, ra: ReadAhead) -> io::Result<()> {
    let sectors = match ra {
        ReadAhead::Exact(n) => n,
        ReadAhead::AtLeast(n) => {
            if read(dev).is_some_and(|cur| cur >= n) {
                return Ok(());
            }
            n
        }
    };
    std::fs::write(path(dev), format!("{}\n", sectors.div_ceil(2)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::model::{Segment, StripeArea};

    fn lv(segs: Vec<SegmentKind>, read_ahead: Option<u64>) -> Lv {
        let text = include_str!("../../tests/golden/cases/snapshots/backup.vg");
        let mut lv = crate::metadata::text::import_vg(text)
            .expect("import")
            .0
            .lvs[0]
            .clone();
        lv.read_ahead = read_ahead;
        lv.segments = segs
            .into_iter()
            .map(|kind| Segment {
                start_extent: 0,
                extent_count: 10,
                tags: vec![],
                kind,
            })
            .collect();
        lv
    }

    fn area(pv: &str) -> StripeArea {
        StripeArea {
            pv: pv.into(),
            pe: 0,
        }
    }

    #[test]
    fn read_ahead_as_lvm2_chooses_it() {
        let linear = SegmentKind::Striped {
            stripe_size: None,
            stripes: vec![area("pv1")],
        };
        let striped = SegmentKind::Striped {
            stripe_size: Some(1024),
            stripes: (0..5).map(|i| area(&format!("pv{i}"))).collect(),
        };
        let pv = |k: &str| (k == "pv1").then_some(768);
        // Set on the LV: as is, none included.
        assert_eq!(
            desired(&lv(vec![linear.clone()], Some(512)), pv),
            Some(ReadAhead::Exact(512))
        );
        assert_eq!(
            desired(&lv(vec![linear.clone()], Some(0)), pv),
            Some(ReadAhead::Exact(0))
        );
        // Auto: twice the widest stripe row, else the first PV's.
        assert_eq!(
            desired(&lv(vec![linear.clone(), striped], None), pv),
            Some(ReadAhead::AtLeast(10240))
        );
        assert_eq!(
            desired(&lv(vec![linear], None), pv),
            Some(ReadAhead::AtLeast(768))
        );
        let error = SegmentKind::Unknown {
            type_name: "error".into(),
        };
        assert_eq!(desired(&lv(vec![error], None), pv), None);
    }
}
