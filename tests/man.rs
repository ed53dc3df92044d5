//! The man pages committed in man/ are those `rlvm --generate-man`
//! renders from the commands' clap definitions now: a changed option,
//! help text or command without regenerated pages (scripts/gen-man.sh)
//! fails here. Every command of the command table has a page.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use rlvm::cmd::COMMANDS;

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

fn page_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".8"))
        .collect()
}

fn generate() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rlvm"))
        .arg("--generate-man")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rlvm --generate-man failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    tmp
}

#[test]
fn committed_man_pages_are_up_to_date() {
    let tmp = generate();
    let generated = page_names(tmp.path());
    let committed = page_names(&committed_dir());
    assert_eq!(
        generated, committed,
        "man/ does not hold the pages rlvm generates; run scripts/gen-man.sh"
    );
    let stale: Vec<&String> = generated
        .iter()
        .filter(|name| {
            std::fs::read(tmp.path().join(name)).unwrap()
                != std::fs::read(committed_dir().join(name)).unwrap()
        })
        .collect();
    assert!(
        stale.is_empty(),
        "man pages out of date with the clap definitions: {stale:?}; run scripts/gen-man.sh"
    );
}

#[test]
fn every_command_has_a_page() {
    let tmp = generate();
    let generated = page_names(tmp.path());
    let committed = page_names(&committed_dir());
    for (name, _, _) in COMMANDS {
        let page = format!("{name}.8");
        assert!(generated.contains(&page), "no page generated for {name}");
        assert!(committed.contains(&page), "no page committed for {name}");
        let text = std::fs::read_to_string(tmp.path().join(&page)).unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!(".TH {} 8 ", name.to_uppercase()))),
            "{page} has no title line"
        );
    }
    let rlvm = std::fs::read_to_string(tmp.path().join("rlvm.8")).unwrap();
    for (name, _, _) in COMMANDS {
        assert!(
            rlvm.contains(&format!("\\fB{name}\\fR(8)")),
            "rlvm.8 does not list {name}"
        );
    }
}

#[test]
fn generate_man_is_hidden_from_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_rlvm"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("generate-man"));
}
