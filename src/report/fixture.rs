//! Test fixture: the example VG of
//! /work/shared/reference/example-vg-metadata.txt built by hand (the text
//! parser lives elsewhere), as LVM2 holds it after `vgcfgrestore` (seqno 4),
//! plus the device facts `tests/data/report/make.sh` recorded.

use crate::metadata::id::Id;
use std::collections::BTreeMap;

use super::LvRecord;
use crate::metadata::model::{Flags, Lv, Pv, Segment, SegmentKind, StripeArea, Vg};

fn id(s: &str) -> Id {
    s.parse().expect("fixture id")
}

fn linear(name: &str, uuid: &str, status: &[&str], time: u64, len: u64, pv: &str, pe: u64) -> Lv {
    Lv {
        name: name.into(),
        id: id(uuid),
        status: Flags::new(status),
        flags: Flags::default(),
        tags: vec![],
        creation_time: Some(time),
        creation_host: Some("vm".into()),
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments: vec![Segment {
            start_extent: 0,
            extent_count: len,
            tags: vec![],
            kind: SegmentKind::Striped {
                stripe_size: None,
                stripes: vec![StripeArea { pv: pv.into(), pe }],
            },
        }],
    }
}

fn link(name: &str, uuid: &str, status: &[&str], time: u64, cow: &str, merging: bool) -> Lv {
    Lv {
        name: name.into(),
        id: id(uuid),
        status: Flags::new(status),
        flags: Flags::default(),
        tags: vec![],
        creation_time: Some(time),
        creation_host: Some("vm".into()),
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments: vec![Segment {
            start_extent: 0,
            extent_count: 4,
            tags: vec![],
            kind: SegmentKind::Snapshot {
                chunk_size: 8,
                origin: "origin".into(),
                cow: cow.into(),
                merging,
            },
        }],
    }
}

fn pv(key: &str, uuid: &str, dev: &str) -> Pv {
    Pv {
        key: key.into(),
        id: id(uuid),
        device: Some(dev.into()),
        device_id_type: None,
        device_id: None,
        status: Flags::new(&["ALLOCATABLE"]),
        flags: Flags::default(),
        tags: vec![],
        dev_size: Some(131072),
        pe_start: 2048,
        pe_count: 15,
        ba_start: None,
        ba_size: None,
    }
}

pub fn example_vg() -> Vg {
    Vg {
        name: "vg0".into(),
        id: id("P0EYBO-y6TL-8mpV-sIy7-7tr3-GiNE-IC4wDC"),
        seqno: 4,
        format: Some("lvm2".into()),
        status: Flags::new(&["RESIZEABLE", "READ", "WRITE"]),
        flags: Flags::default(),
        tags: vec![],
        system_id: None,
        extent_size: 8192,
        max_lv: 0,
        max_pv: 0,
        allocation_policy: None,
        metadata_copies: Some(0),
        pvs: vec![
            pv(
                "pv0",
                "HHzEoa-3G5p-GJXD-9KY4-2JbB-Gl3J-v0RBh5",
                "/dev/loop0",
            ),
            pv(
                "pv1",
                "U20HMA-MaMC-vQTO-N3be-cwmW-qtca-xy693e",
                "/dev/loop1",
            ),
        ],
        lvs: vec![
            linear(
                "origin",
                "RpUW3w-yO6A-MGoo-iO9m-0In1-bpzC-smFbY6",
                &["READ", "WRITE", "VISIBLE"],
                1795299680,
                4,
                "pv0",
                0,
            ),
            linear(
                "snap1",
                "Zs0o6B-Jk5Z-Yh5a-FOdl-kx13-vJ0B-Ky1dcD",
                &["READ", "WRITE"],
                1795299700,
                2,
                "pv0",
                4,
            ),
            linear(
                "snap2",
                "3B1Hn4-OcQ1-q89V-kjuu-79L1-2T8g-gIgZzR",
                &["READ", "WRITE"],
                1795299710,
                2,
                "pv1",
                0,
            ),
            link(
                "snapshot0",
                "OF5jZr-jaoU-Ma9X-qjX1-2ouV-0oPw-TxCwNI",
                &["READ", "WRITE", "VISIBLE"],
                1795299700,
                "snap1",
                false,
            ),
            link(
                "snapshot1",
                "Cc41Dh-mmN1-RTjd-dqhs-QBPv-YK5l-W0NfRL",
                &["READ", "WRITE"],
                1795299710,
                "snap2",
                true,
            ),
        ],
        unsupported: None,
    }
}

/// A record per LV of `vg`, with no device-mapper state (known = false).
pub fn lv_records<'a>(vg: &'a Vg, devs: &'a BTreeMap<String, String>) -> Vec<LvRecord<'a>> {
    vg.lvs
        .iter()
        .map(|lv| LvRecord {
            vg,
            lv,
            state: Default::default(), // known = false: no device-mapper
            pv_devices: devs,
            kernel_device: None,
            kernel_read_ahead: Default::default(),
        })
        .collect()
}
