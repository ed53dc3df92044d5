//! scripts/install.sh into a temporary DESTDIR: every file lands where distributions expect it
//! (binary, a link per command, man pages, shell completions for every command from the clap
//! definitions, the dracut module, the systemd unit and its enablement, the udev rule and
//! helpers), the manifest lists exactly what is there, templates name the directories
//! installed to, and `uninstall` removes it all. The test prints the whole list.
//! Host only, no root needed; the boot test (tests/boot.rs) builds an initramfs with dracut
//! from such an installation.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rlvm::cmd::COMMANDS;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run_install(args: &[&str], destdir: &Path) -> String {
    let out = Command::new(repo().join("scripts/install.sh"))
        .args(args)
        .arg("--destdir")
        .arg(destdir)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_rlvm"))
        .output()
        .expect("run scripts/install.sh");
    assert!(
        out.status.success(),
        "install.sh {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file and link under `root`, as absolute paths inside it; directories left out.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(format!("/{}", p.strip_prefix(root).unwrap().display()));
            }
        }
    }
    let mut out = BTreeSet::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn expected(prefix: &str) -> BTreeSet<String> {
    let mut names: Vec<&str> = COMMANDS.iter().map(|(n, _, _)| *n).collect();
    let mut want = BTreeSet::new();
    want.insert(format!("{prefix}/sbin/rlvm"));
    for c in &names {
        want.insert(format!("{prefix}/sbin/{c}"));
    }
    for page in fs::read_dir(repo().join("man")).unwrap() {
        let name = page.unwrap().file_name().to_string_lossy().into_owned();
        let section = name.rsplit('.').next().unwrap().to_owned();
        want.insert(format!("{prefix}/share/man/man{section}/{name}"));
    }
    names.push("rlvm");
    for c in &names {
        want.insert(format!("{prefix}/share/bash-completion/completions/{c}"));
        want.insert(format!("{prefix}/share/zsh/vendor-completions/_{c}"));
        want.insert(format!("{prefix}/share/fish/vendor_completions.d/{c}.fish"));
    }
    for f in fs::read_dir(repo().join("dracut/modules.d/90rlvm")).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        want.insert(format!("/usr/lib/dracut/modules.d/90rlvm/{name}"));
    }
    for f in ["56-rlvm.rules", "rlvm-dm-name"] {
        want.insert(format!("/usr/lib/dracut/modules.d/90rlvm/{f}"));
    }
    want.insert(format!("{prefix}/lib/udev/rules.d/56-rlvm.rules"));
    want.insert(format!("{prefix}/lib/rlvm/rlvm-dm-name"));
    want.insert(format!("{prefix}/lib/rlvm/rlvm-finish-merges"));
    want.insert(format!(
        "{prefix}/lib/systemd/system/rlvm-finish-merges.service"
    ));
    want.insert("/etc/systemd/system/sysinit.target.wants/rlvm-finish-merges.service".into());
    want.insert(format!("{prefix}/share/rlvm/install-manifest"));
    want
}

#[test]
fn install_lists_every_file_and_uninstall_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dest: PathBuf = tmp.path().join("root");
    let said = run_install(&["--prefix", "/usr"], &dest);
    let got = tree(&dest);
    println!("{said}installed into DESTDIR={}:", dest.display());
    for f in &got {
        println!("  {f}");
    }
    let want = expected("/usr");
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:?}\nunexpected: {extra:?}"
    );

    // The manifest lists exactly what is there.
    let manifest: BTreeSet<String> =
        fs::read_to_string(dest.join("usr/share/rlvm/install-manifest"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
    assert_eq!(manifest, got, "install-manifest differs from the files");

    // The binary is the one given; every command is a link to it.
    assert_eq!(
        fs::read(dest.join("usr/sbin/rlvm")).unwrap(),
        fs::read(env!("CARGO_BIN_EXE_rlvm")).unwrap()
    );
    for (c, _, _) in COMMANDS {
        let l = dest.join("usr/sbin").join(c);
        assert_eq!(fs::read_link(&l).unwrap(), Path::new("rlvm"), "{c}");
    }
    let out = Command::new(dest.join("usr/sbin/lvs"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "the lvs link does not run lvs");

    // Templates name the directories installed to; nothing is left unfilled.
    for f in &got {
        let p = dest.join(f.trim_start_matches('/'));
        if p.is_symlink() {
            continue;
        }
        let text = fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(
            !text.contains("@SBINDIR@") && !text.contains("@LIBEXECDIR@"),
            "{f} has an unfilled template"
        );
    }
    let unit =
        fs::read_to_string(dest.join("usr/lib/systemd/system/rlvm-finish-merges.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/lib/rlvm/rlvm-finish-merges"));
    let setup =
        fs::read_to_string(dest.join("usr/lib/dracut/modules.d/90rlvm/module-setup.sh")).unwrap();
    assert!(setup.contains("/usr/sbin/rlvm"));
    let rules = fs::read_to_string(dest.join("usr/lib/udev/rules.d/56-rlvm.rules")).unwrap();
    assert!(rules.contains("/usr/lib/rlvm/rlvm-dm-name"));
    assert_eq!(
        fs::read_link(
            dest.join("etc/systemd/system/sysinit.target.wants/rlvm-finish-merges.service")
        )
        .unwrap(),
        Path::new("/usr/lib/systemd/system/rlvm-finish-merges.service")
    );
    for f in [
        "dracut/modules.d/90rlvm/module-setup.sh",
        "rlvm/rlvm-dm-name",
    ] {
        let mode = fs::metadata(dest.join("usr/lib").join(f)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            mode.permissions().mode() & 0o111,
            0o111,
            "{f} not executable"
        );
    }
    // Completions come from the clap definitions: lvconvert's knows --onactivate.
    let bash =
        fs::read_to_string(dest.join("usr/share/bash-completion/completions/lvconvert")).unwrap();
    assert!(bash.contains("--onactivate"), "lvconvert completion");

    // Installing again over the same tree is fine; uninstall leaves no file.
    run_install(&["--prefix", "/usr"], &dest);
    run_install(&["uninstall", "--prefix", "/usr"], &dest);
    let left = tree(&dest);
    assert!(left.is_empty(), "left after uninstall: {left:?}");
}

#[test]
fn default_prefix_is_usr_local_and_foreign_files_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("root");
    // An LVM2 command already there: install refuses to replace it without --force.
    fs::create_dir_all(dest.join("usr/local/sbin")).unwrap();
    fs::write(dest.join("usr/local/sbin/lvs"), "#!/bin/sh\necho lvm2\n").unwrap();
    let out = Command::new(repo().join("scripts/install.sh"))
        .arg("--destdir")
        .arg(&dest)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_rlvm"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "replaced a file that is not rlvm's");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not rlvm's"));
    fs::remove_file(dest.join("usr/local/sbin/lvs")).unwrap();
    run_install(&["--no-enable"], &dest);
    let got = tree(&dest);
    let mut want = expected("/usr/local");
    want.remove("/etc/systemd/system/sysinit.target.wants/rlvm-finish-merges.service");
    assert_eq!(got, want);
    run_install(&["uninstall"], &dest);
    assert!(tree(&dest).is_empty());
}
