//! PV arguments of the allocating commands (lvcreate, lvextend, lvresize)
//! with physical extent ranges, as LVM2 takes them: `PV[:PE[-PE|+N]]...`
//! (`/dev/sdb:0-9:20+5`). Allocation is kept inside the ranges by handing
//! the allocator a copy of the VG in which every extent outside them is
//! taken (never committed). Pure apart from resolving paths.

use crate::metadata::model::{Flags, Lv, Segment, SegmentKind, StripeArea, Vg};
use crate::metadata::store::VgHandle;

use super::common::{usage, CmdError};

/// Extent runs as (start, length).
type Runs = Vec<(u64, u64)>;

/// PV keys named (in VG order of first mention) and, when ranges were
/// given, the VG as the allocator must see it.
pub(crate) fn pv_args(
    h: &VgHandle,
    args: &[String],
) -> Result<(Option<Vec<String>>, Option<Vg>), CmdError> {
    if args.is_empty() {
        return Ok((None, None));
    }
    let mut keys: Vec<String> = Vec::new();
    // Per key: allowed runs, or None for the whole PV.
    let mut allowed: Vec<(String, Option<Runs>)> = Vec::new();
    for arg in args {
        let (path, ranges) = match arg.split_once(':') {
            Some((p, r)) => (p.to_string(), Some(parse_ranges(arg, r)?)),
            None => (arg.clone(), None),
        };
        let key = pv_keys(h, std::slice::from_ref(&path))?
            .and_then(|k| k.into_iter().next())
            .unwrap_or_default();
        if !keys.contains(&key) {
            keys.push(key.clone());
        }
        match allowed.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => match (slot.as_mut(), ranges) {
                (Some(v), Some(r)) => v.extend(r),
                _ => *slot = None,
            },
            None => allowed.push((key, ranges)),
        }
    }
    let mut masked: Option<Vg> = None;
    let free = crate::metadata::alloc::free_map(&h.vg);
    for (key, runs) in allowed {
        let Some(mut runs) = runs else { continue };
        let Some(pv) = h.vg.pv(&key) else { continue };
        // Extents in use stay as they are: only free ones outside the
        // ranges are masked (each extent counted once by %PVS).
        let used = outside(
            free.get(&key).map(Vec::as_slice).unwrap_or(&[]),
            pv.pe_count,
        );
        runs.extend(used);
        let vg = masked.get_or_insert_with(|| (*h.vg).clone());
        let mut segments = Vec::new();
        for (start, len) in outside(&runs, pv.pe_count) {
            segments.push(Segment {
                start_extent: segments.len() as u64,
                extent_count: len,
                tags: vec![],
                kind: SegmentKind::Striped {
                    stripe_size: None,
                    stripes: vec![StripeArea {
                        pv: key.clone(),
                        pe: start,
                    }],
                },
            });
        }
        vg.lvs.push(Lv {
            name: format!(" outside ranges of {key}"),
            id: crate::metadata::id::Id::random(),
            status: Flags::default(),
            flags: Flags::default(),
            tags: vec![],
            creation_time: None,
            creation_host: None,
            allocation_policy: None,
            read_ahead: None,
            major: None,
            minor: None,
            segments,
        });
    }
    Ok((Some(keys), masked))
}

/// `0-9:20+5:30` → (start, len) runs; `N-` runs to the end (u64::MAX).
fn parse_ranges(arg: &str, spec: &str) -> Result<Vec<(u64, u64)>, CmdError> {
    let bad = || usage(format!("Invalid physical extent range in {arg}."));
    let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
    spec.split(':')
        .map(|r| {
            if let Some((a, b)) = r.split_once('-') {
                let a = num(a)?;
                if b.is_empty() {
                    return Ok((a, u64::MAX - a));
                }
                let b = num(b)?;
                if b < a {
                    return Err(bad());
                }
                Ok((a, b - a + 1))
            } else if let Some((a, n)) = r.split_once('+') {
                Ok((num(a)?, num(n)?))
            } else {
                Ok((num(r)?, 1))
            }
        })
        .collect()
}

/// The runs of `0..pe_count` not covered by `runs`.
fn outside(runs: &[(u64, u64)], pe_count: u64) -> Vec<(u64, u64)> {
    let mut inside = vec![false; pe_count as usize];
    for &(s, l) in runs {
        let end = s.saturating_add(l).min(pe_count);
        for x in s.min(pe_count)..end {
            inside[x as usize] = true;
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < inside.len() {
        if inside[i] {
            i += 1;
            continue;
        }
        let s = i;
        while i < inside.len() && !inside[i] {
            i += 1;
        }
        out.push((s as u64, (i - s) as u64));
    }
    out
}

/// PV keys for PV path arguments.
pub(crate) fn pv_keys(
    handle: &crate::metadata::store::VgHandle,
    args: &[String],
) -> Result<Option<Vec<String>>, CmdError> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut keys = Vec::new();
    for a in args {
        let real = std::fs::canonicalize(a).ok();
        let key = handle.pv_paths.iter().find(|(_, p)| {
            *p == a
                || real
                    .as_ref()
                    .map(|r| std::fs::canonicalize(p).ok().as_ref() == Some(r))
                    .unwrap_or(false)
        });
        match key {
            Some((k, _)) => keys.push(k.clone()),
            None => {
                return Err(CmdError::Failed(format!(
                    "Physical Volume \"{a}\" not found in Volume Group \"{}\".",
                    handle.vg.name
                )))
            }
        }
    }
    Ok(Some(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_lvm2_writes_them() {
        assert_eq!(parse_ranges("d", "0-1:4-5").unwrap(), [(0, 2), (4, 2)]);
        assert_eq!(parse_ranges("d", "3+2:7").unwrap(), [(3, 2), (7, 1)]);
        assert_eq!(parse_ranges("d", "5-").unwrap()[0].0, 5);
        assert!(parse_ranges("d", "5-2").is_err());
        assert!(parse_ranges("d", "x").is_err());
    }

    #[test]
    fn outside_is_the_complement() {
        assert_eq!(outside(&[(0, 2), (4, 2)], 8), [(2, 2), (6, 2)]);
        assert_eq!(outside(&[(5, u64::MAX - 5)], 8), [(0, 5)]);
        assert_eq!(outside(&[], 3), [(0, 3)]);
    }
}
