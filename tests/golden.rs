//! rlvm reads every case of the golden corpus (tests/golden/cases, written
//! by real LVM2 2.03.16 with tests/golden/make-golden.sh) and reports what
//! LVM2 reported for it: the same VGs, LVs, UUIDs, sizes, segment types,
//! devices, tags, seqnos, and an unknown segment type marks the VG
//! read-only.

use std::io::Read;
use std::path::{Path, PathBuf};

use rlvm::dm::state::LvKernelState;
use rlvm::metadata::store::{self, MemOpener};
use rlvm::report::{self, LvRecord, ReportOptions, Units, VgRecord};
use serde_json::Value;

fn gunzip(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// The case's PVs as in-memory devices named by their placeholders.
fn load_case(dir: &Path) -> (Value, MemOpener, Vec<String>) {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let mut devs = MemOpener::default();
    let mut names = Vec::new();
    for pv in meta["pvs"].as_array().unwrap() {
        let size = pv["size_bytes"].as_u64().unwrap() as usize;
        let mut bytes = vec![0u8; size];
        let head = gunzip(&dir.join(pv["head"].as_str().unwrap()));
        bytes[..head.len()].copy_from_slice(&head);
        if let Some(tail) = pv.get("tail").and_then(|t| t.as_str()) {
            let off = pv["tail_offset"].as_u64().unwrap() as usize;
            let t = gunzip(&dir.join(tail));
            bytes[off..off + t.len()].copy_from_slice(&t);
        }
        let name = pv["placeholder"].as_str().unwrap().to_string();
        devs.add(&name, bytes);
        names.push(name);
    }
    (meta, devs, names)
}

/// Rows of an LVM2 JSON report, as sorted key=value strings.
fn json_rows(v: &Value, kind: &str) -> Vec<String> {
    let mut rows: Vec<String> = v["report"][0][kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let o = r.as_object().unwrap();
            let mut kv: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            kv.sort();
            kv.join(" ")
        })
        .collect();
    rows.sort();
    rows
}

fn opts(fields: &str, all: bool) -> ReportOptions {
    ReportOptions {
        fields: vec![fields.to_string()],
        units: Units::parse("b").unwrap(),
        suffix: false,
        json: true,
        all,
        ..ReportOptions::default()
    }
}

const LVS_FIELDS: &str = "lv_name,vg_name,lv_attr,lv_size,origin,lv_uuid,segtype,devices,lv_tags";
const VGS_FIELDS: &str =
    "vg_name,vg_uuid,vg_seqno,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free,vg_extent_size,vg_tags";

fn check_case(dir: &Path) {
    let case = dir.file_name().unwrap().to_string_lossy().into_owned();
    let (meta, opener, names) = load_case(dir);
    let scan = store::scan(&opener, &names);
    let vg_name = meta["vg_name"].as_str().unwrap();
    let h = scan
        .vg(vg_name)
        .unwrap_or_else(|e| panic!("{case}: rlvm cannot read VG {vg_name}: {e}"));
    assert_eq!(
        h.vg.seqno as u64,
        meta["vg_seqno"].as_u64().unwrap(),
        "{case}: seqno"
    );
    assert!(h.missing.is_empty(), "{case}: missing PVs {:?}", h.missing);
    for pv in meta["pvs"].as_array().unwrap() {
        let id: rlvm::metadata::id::Id = pv["pv_uuid"].as_str().unwrap().parse().unwrap();
        assert!(h.vg.pv_by_id(&id).is_some(), "{case}: PV {id} not in VG");
    }
    if case == "unknown-segment" {
        assert!(h.vg.unsupported.is_some(), "{case}: must be read-only");
        assert!(h.vg.check_writable().is_err());
        return;
    }
    assert!(h.vg.unsupported.is_none(), "{case}: {:?}", h.vg.unsupported);

    let records: Vec<LvRecord> =
        h.vg.lvs
            .iter()
            .map(|lv| LvRecord {
                vg: &h.vg,
                lv,
                state: LvKernelState::default(),
                pv_devices: &h.pv_paths,
                kernel_device: None,
                kernel_read_ahead: Default::default(),
            })
            .collect();
    let ours: Value =
        serde_json::from_str(&report::report_lvs(&records, &opts(LVS_FIELDS, true)).unwrap())
            .unwrap();
    let theirs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("lvs.json")).unwrap()).unwrap();
    assert_eq!(
        json_rows(&ours, "lv"),
        json_rows(&theirs, "lv"),
        "{case}: lvs -a"
    );

    let vrec = VgRecord::bare(&h.vg);
    let ours: Value =
        serde_json::from_str(&report::report_vgs(&[vrec], &opts(VGS_FIELDS, false)).unwrap())
            .unwrap();
    let theirs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("vgs.json")).unwrap()).unwrap();
    assert_eq!(
        json_rows(&ours, "vg"),
        json_rows(&theirs, "vg"),
        "{case}: vgs"
    );
}

#[test]
fn rlvm_reads_every_golden_case() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 7, "corpus incomplete: {cases:?}");
    for c in &cases {
        check_case(c);
    }
}

/// A committed change on LVM2-written PVs reads back, every copy agrees,
/// and the wrapped buffer keeps working.
#[test]
fn rlvm_commits_on_lvm2_written_pvs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cases");
    for case in ["wrapped", "multi-pv-striped", "two-mdas", "merging"] {
        let (meta, opener, names) = load_case(&root.join(case));
        let vg_name = meta["vg_name"].as_str().unwrap();
        let mut h = store::scan(&opener, &names).vg(vg_name).unwrap();
        let seq = h.vg.seqno;
        h.vg.tags.push("rlvm-commit".into());
        h.commit(&opener, "golden test").unwrap();
        let again = store::scan(&opener, &names);
        assert!(again.warnings.is_empty(), "{case}: {:?}", again.warnings);
        let h2 = again.vg(vg_name).unwrap();
        assert_eq!(h2.vg.seqno, seq + 1, "{case}");
        assert!(h2.vg.tags.contains(&"rlvm-commit".to_string()), "{case}");
        assert!(h2.warnings.is_empty(), "{case}: {:?}", h2.warnings);
        let mut expect = h.vg.clone();
        expect
            .pvs
            .iter_mut()
            .for_each(|p| p.device = h2.vg.pv(&p.key).and_then(|q| q.device.clone()));
        assert_eq!(h2.vg, expect, "{case}: read back differs");
    }
}
