//! Golden tests: each case reproduces a file captured from real LVM2 by
//! tests/data/report/make.sh, from the hand-built example VG.

use std::collections::BTreeMap;

use super::fixture::{example_vg, lv_records};
use super::*;
use crate::metadata::model::Vg;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/report");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `pv0 /dev/loopN` lines → key → device.
fn devices() -> BTreeMap<String, String> {
    read("devices.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Per device: (uuid, dev_size, pe_start, mda_count, mda_size, mda_free, used).
fn pv_facts() -> Vec<Vec<String>> {
    read("pv-facts.txt")
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn vg_record(vg: &Vg) -> VgRecord<'_> {
    VgRecord {
        vg,
        mda_count: 2,
        mda_used_count: 2,
        mda_free_bytes: 518656,
        mda_size_bytes: 1044480,
        missing_pvs: 0,
        open_lvs: 0,
    }
}

fn pv_records<'a>(vg: &'a Vg, devs: &BTreeMap<String, String>) -> Vec<PvRecord<'a>> {
    pv_facts()
        .iter()
        .map(|f| {
            let id: crate::metadata::id::Id = f[1].parse().unwrap();
            let in_vg = vg.pv_by_id(&id).map(|p| (vg, p));
            PvRecord {
                device: f[0].clone(),
                dev_size_bytes: f[2].parse().unwrap(),
                pv_id: id,
                pe_start_sectors: f[3].parse::<u64>().unwrap() / 512,
                mda_count: f[4].parse().unwrap(),
                mda_size_bytes: f[5].parse().unwrap(),
                mda_free_bytes: f[6].parse().unwrap(),
                mda_used_count: f[7].parse().unwrap(),
                vg: in_vg,
                missing: false,
                ext_version: 2,
                ext_used: in_vg.is_some(),
                ba_sectors: (0, 0),
                vg_facts: None,
                listed_id: None,
                label_size_sectors: f[2].parse::<u64>().unwrap() / 512,
                devno: None,
                is_pv: true,
                used_extents: Default::default(),
            }
        })
        .filter(|r| r.vg.is_none() || devs.values().any(|d| *d == r.device))
        .collect()
}

/// The command line recorded for `name` in commands.txt, split in words.
fn command(name: &str) -> Vec<String> {
    let all = read("commands.txt");
    let line = all
        .lines()
        .find(|l| l.split('\t').next() == Some(name))
        .unwrap_or_else(|| panic!("no command {name}"));
    line.split('\t')
        .nth(1)
        .unwrap()
        .split(' ')
        .map(str::to_string)
        .collect()
}

/// Minimal option parsing of the recorded command line.
fn options(words: &[String]) -> ReportOptions {
    let mut o = ReportOptions::default();
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        match w.as_str() {
            "-a" => o.all = true,
            "--noheadings" => o.headings = false,
            "--nosuffix" => o.suffix = false,
            "--separator" => o.separator = it.next().cloned(),
            "--units" => o.units = Units::parse(it.next().unwrap()).unwrap(),
            "-o" => o.fields.push(it.next().unwrap().clone()),
            "-O" => o.sort.push(it.next().unwrap().clone()),
            "--reportformat" => o.json = it.next().map(|s| s == "json").unwrap_or(false),
            other => panic!("unhandled option {other}"),
        }
    }
    o
}

fn run(name: &str) -> Result<String, ReportError> {
    let vg = example_vg();
    let devs = devices();
    let words = command(name);
    let opts = options(&words);
    match words[0].as_str() {
        "lvs" => report_lvs(&lv_records(&vg, &devs), &opts),
        "vgs" => report_vgs(&[vg_record(&vg)], &opts),
        "pvs" => report_pvs(&pv_records(&vg, &devs), &opts),
        other => panic!("{other}"),
    }
}

fn check(name: &str) {
    let got = run(name).unwrap();
    let want = read(&format!("{name}.out"));
    assert_eq!(got, want, "\n{name}: got\n{got}\nwant\n{want}");
}

macro_rules! golden {
    ($($t:ident => $name:expr),* $(,)?) => {
        $(#[test] fn $t() { check($name); })*
    };
}

golden! {
    lvs => "lvs",
    lvs_a => "lvs-a",
    vgs => "vgs",
    pvs => "pvs",
    pvs_a => "pvs-a",
    lvs_noheadings => "lvs-noheadings",
    lvs_separator => "lvs-separator",
    lvs_separator_headings => "lvs-separator-headings",
    lvs_nosuffix => "lvs-nosuffix",
    lvs_plus => "lvs-plus",
    lvs_minus => "lvs-minus",
    lvs_snap => "lvs-snap",
    lvs_aliases => "lvs-aliases",
    lvs_misc => "lvs-misc",
    lvs_attrbits => "lvs-attrbits",
    vgs_plus => "vgs-plus",
    pvs_plus => "pvs-plus",
    lvs_json => "lvs-json",
    lvs_json_plus => "lvs-json-plus",
    vgs_json => "vgs-json",
    pvs_json => "pvs-json",
    lvs_sort => "lvs-sort",
}

#[test]
fn every_units_letter() {
    for u in "hHrRbBsSkKmMgGtT".chars() {
        for cmd in ["lvs", "vgs", "pvs"] {
            check(&format!("{cmd}-units-{u}"));
        }
    }
}

#[test]
fn unknown_field_is_an_error() {
    let err = run("lvs-badfield").unwrap_err();
    assert_eq!(err.to_string(), "Unrecognised field: foo");
    assert_eq!(err.exit_code().to_string(), read("lvs-badfield.rc").trim());
    assert!(read("lvs-badfield.err").ends_with("  Unrecognised field: foo\n"));
}

fn h() -> Units {
    Units::parse("h").unwrap()
}

#[test]
fn lvdisplay_matches() {
    let vg = example_vg();
    let devs = devices();
    let recs = lv_records(&vg, &devs);
    assert_eq!(lvdisplay(&recs, false, h()), read("lvdisplay.out"));
    assert_eq!(lvdisplay(&recs, true, h()), read("lvdisplay-a.out"));
    let origin: Vec<_> = recs
        .iter()
        .filter(|r| r.lv.name == "origin")
        .cloned()
        .collect();
    assert_eq!(
        lvdisplay(&origin, false, Units::parse("s").unwrap()),
        read("lvdisplay-units.out")
    );
}

#[test]
fn vgdisplay_matches() {
    let vg = example_vg();
    assert_eq!(vgdisplay(&vg_record(&vg), h()), read("vgdisplay.out"));
    assert_eq!(
        vgdisplay(&vg_record(&vg), Units::parse("k").unwrap()),
        read("vgdisplay-units.out")
    );
}

#[test]
fn pvdisplay_matches() {
    let vg = example_vg();
    let devs = devices();
    assert_eq!(
        pvdisplay(&pv_records(&vg, &devs), h()),
        read("pvdisplay.out")
    );
}
