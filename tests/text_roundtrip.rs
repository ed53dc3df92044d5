use rlvm::metadata::text::*;

const EXAMPLE: &str = include_str!("data/example-vg-metadata.txt");

fn part(n: u32) -> &'static str {
    let begin = format!("=== BEGIN PART {n}");
    let start = EXAMPLE.find(&begin).unwrap();
    let start = start + EXAMPLE[start..].find('\n').unwrap() + 1;
    let end = start
        + EXAMPLE[start..]
            .find(&format!("=== END PART {n} ==="))
            .unwrap();
    &EXAMPLE[start..end]
}

fn lvm_generator() -> Generator {
    Generator {
        program: "LVM2 version 2.03.16(2) (2022-05-18)".into(),
        uname: "Linux testhost 6.1.0-50-cloud-amd64 #1 SMP x86_64".into(),
    }
}

#[test]
fn golden_disk() {
    let (vg, h) = import_vg(part(2)).unwrap();
    assert_eq!(vg.unsupported, None);
    let out = export_disk_with(&vg, &h, &lvm_generator());
    if out != part(2) {
        std::fs::write("/tmp/out2.txt", &out).unwrap();
    }
    assert_eq!(out, part(2));
}

#[test]
fn golden_file() {
    let (vg, h) = import_vg(part(1)).unwrap();
    let out = export_file_with(&vg, &h, &lvm_generator());
    if out != part(1) {
        std::fs::write("/tmp/out1.txt", &out).unwrap();
    }
    assert_eq!(out, part(1));
}
