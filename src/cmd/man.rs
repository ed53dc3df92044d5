//! Man pages, generated from the clap definitions that also give `--help`
//! (as ripgrep does): one page per command in section 8, rendered by
//! clap_mangen, and `rlvm.8` for the multi-call binary. Written by the
//! hidden `rlvm --generate-man DIR` (scripts/gen-man.sh writes man/);
//! tests/man.rs checks the committed pages are up to date.

use std::io;
use std::path::{Path, PathBuf};

use super::{command_definitions, COMMANDS, EXIT_FAILED, EXIT_OK, EXIT_USAGE};

const SECTION: &str = "8";
const MANUAL: &str = "System Manager's Manual";

fn source() -> String {
    format!("rlvm {}", env!("CARGO_PKG_VERSION"))
}

/// Escapes text for a roff line: backslashes, hyphens (so they are not
/// turned into typographic dashes) and a leading control character.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

fn bold(text: &str) -> String {
    format!("\\fB{}\\fR", esc(text))
}

/// `name(8)` references to the other commands of the same family (pv, vg,
/// lv), then rlvm(8) and LVM2's pages.
fn see_also(name: &str) -> String {
    let family = &name[..name.len().min(2)];
    let mut refs: Vec<String> = COMMANDS
        .iter()
        .map(|(n, _, _)| *n)
        .filter(|n| *n != name && n.starts_with(family))
        .map(|n| format!("{}({SECTION})", bold(n)))
        .collect();
    refs.push(format!("{}({SECTION})", bold("rlvm")));
    refs.push(format!("{}(8)", bold("lvm")));
    refs.push(format!("{}(5)", bold("lvm.conf")));
    refs.join(",\n")
}

/// The `.TH` line. clap_mangen leaves an empty date out of its `.TH`
/// instead of quoting it, which shifts the source into the date's place; so
/// the pages carry this one, with an empty date (the pages must not change
/// unless the definitions do).
fn title_line(title: &str) -> String {
    format!(".TH {title} {SECTION} \"\" \"{}\" \"{MANUAL}\"\n", source())
}

fn exit_status() -> String {
    format!(
        ".SH \"EXIT STATUS\"\n\
         .TP\n{EXIT_OK}\nSuccess.\n\
         .TP\n{EXIT_USAGE}\nInvalid command line.\n\
         .TP\n{EXIT_FAILED}\nThe command failed.\n"
    )
}

/// The page of one command: clap_mangen's NAME, SYNOPSIS, DESCRIPTION and
/// OPTIONS from its clap definition, then EXIT STATUS and SEE ALSO.
fn command_page(cmd: clap::Command) -> io::Result<(String, Vec<u8>)> {
    let name = cmd.get_name().to_string();
    let title = name.to_uppercase();
    let man = clap_mangen::Man::new(cmd)
        .title(title.as_str())
        .section(SECTION)
        .source(source())
        .manual(MANUAL);
    let mut rendered = Vec::new();
    man.render(&mut rendered)?;
    let rendered = String::from_utf8(rendered).map_err(io::Error::other)?;
    let mut page = String::with_capacity(rendered.len() + 512);
    for line in rendered.split_inclusive('\n') {
        if line.starts_with(".TH ") {
            page.push_str(&title_line(&title));
        } else {
            page.push_str(line);
        }
    }
    page.push_str(&exit_status());
    page.push_str(&format!(".SH \"SEE ALSO\"\n{}\n", see_also(&name)));
    Ok((man.get_filename(), page.into_bytes()))
}

/// `rlvm.8`: the multi-call binary, its commands, exit codes, files and
/// compatibility with LVM2.
fn rlvm_page() -> Vec<u8> {
    let mut p = String::new();
    p.push_str(&title_line("RLVM"));
    p.push_str(".SH NAME\nrlvm \\- LVM2\\-compatible volume manager (multi\\-call binary)\n");
    p.push_str(&format!(
        ".SH SYNOPSIS\n\
         {rlvm} \\fICOMMAND\\fR [\\fIARGS\\fR...]\n.br\n\
         \\fICOMMAND\\fR [\\fIARGS\\fR...]\n.br\n\
         {rlvm} {help} | {version}\n",
        rlvm = bold("rlvm"),
        help = bold("--help"),
        version = bold("--version"),
    ));
    p.push_str(
        ".SH DESCRIPTION\n\
         rlvm is a volume manager compatible with LVM2, built around rolling a\n\
         system back by merging a snapshot into its origin.\n\
         .PP\n\
         It is one multi\\-call binary. The command is the name it was called by\n\
         (a link named \\fBlvcreate\\fR runs lvcreate) or, when that name is not a\n\
         command, the first argument (\\fBrlvm lvcreate ...\\fR).\n\
         Options, messages and exit codes follow LVM2's.\n\
         Every command accepts \\fB\\-\\-help\\fR, which prints the options\n\
         described in its own page.\n\
         .PP\n\
         Without a command, rlvm lists the commands and exits with status 3;\n\
         \\fBrlvm \\-\\-help\\fR lists them and exits with status 0;\n\
         \\fBrlvm \\-\\-version\\fR prints its version and metadata format.\n",
    );
    p.push_str(".SH COMMANDS\n");
    for (name, about, _) in COMMANDS {
        p.push_str(&format!(".TP\n{}({SECTION})\n{}\n", bold(name), esc(about)));
    }
    p.push_str(&exit_status());
    p.push_str(
        ".SH ENVIRONMENT\n\
         .TP\n\\fBLVM_SYSTEM_DIR\\fR\n\
         Directory holding \\fIlvm.conf\\fR, \\fIlvmlocal.conf\\fR, the devices file\n\
         and, by default, the metadata backups and archives (default \\fI/etc/lvm\\fR).\n\
         .TP\n\\fBDM_DEV_DIR\\fR\n\
         Device directory (default \\fI/dev\\fR).\n",
    );
    p.push_str(
        ".SH FILES\n\
         .TP\n\\fI/etc/lvm/lvm.conf\\fR\n\
         LVM2's configuration, read (never written) for the settings rlvm uses:\n\
         device filters, devices file, locking directory, backup and archive.\n\
         \\fB\\-\\-config\\fR overrides it in lvm.conf syntax.\n\
         It is \\fI$LVM_SYSTEM_DIR/lvm.conf\\fR when \\fBLVM_SYSTEM_DIR\\fR is set.\n\
         .TP\n\\fI/etc/lvm/devices/system.devices\\fR\n\
         The devices file, used when devices/use_devicesfile=1.\n\
         .TP\n\\fI/run/lock/lvm\\fR\n\
         LVM2's file locks (global/locking_dir), taken the way LVM2 takes them,\n\
         so rlvm and LVM2 commands exclude each other.\n\
         .TP\n\\fI/etc/lvm/backup\\fR\n\
         The latest metadata of each VG (backup/backup_dir), written after each\n\
         change and by \\fBvgcfgbackup\\fR, read by \\fBvgcfgrestore\\fR.\n\
         .TP\n\\fI/etc/lvm/archive\\fR\n\
         Earlier metadata of each VG (backup/archive_dir), in LVM2's layout.\n",
    );
    p.push_str(
        ".SH COMPATIBILITY\n\
         rlvm reads and writes LVM2's on\\-disk format: the PV label, the metadata\n\
         areas and the text metadata format (version 1). It manages volume groups\n\
         created by LVM2, and LVM2 reads what rlvm writes. A VG holding anything\n\
         rlvm does not model (thin, raid, cache, unknown keys) is listed but never\n\
         written.\n\
         .PP\n\
         Logical volumes are activated through device\\-mapper (linear, striped,\n\
         snapshot\\-origin, snapshot, snapshot\\-merge) with the device names, UUIDs\n\
         and tables LVM2 uses, so LVM2's udev rules and tools see rlvm's devices\n\
         and the other way round.\n",
    );
    p.push_str(&format!(
        ".SH \"SEE ALSO\"\n{}(8),\n{}(5),\n{}(8)\n",
        bold("lvm"),
        bold("lvm.conf"),
        bold("dmsetup")
    ));
    p.into_bytes()
}

/// Every page, as (file name, contents): `rlvm.8`, then one per command in
/// `COMMANDS` order.
pub fn pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = vec![(format!("rlvm.{SECTION}"), rlvm_page())];
    for cmd in command_definitions() {
        out.push(command_page(cmd)?);
    }
    Ok(out)
}

/// Writes every page into `dir` (created if missing); returns their paths.
pub fn generate(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (file, contents) in pages()? {
        let path = dir.join(file);
        std::fs::write(&path, contents)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_definition_named_after_it() {
        let names: Vec<String> = command_definitions()
            .iter()
            .map(|c| c.get_name().to_string())
            .collect();
        let expected: Vec<&str> = COMMANDS.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn escapes_roff() {
        assert_eq!(esc("a-b\\c"), "a\\-b\\ec");
        assert_eq!(esc(".x"), "\\&.x");
        assert_eq!(esc("'x"), "\\&'x");
    }

    #[test]
    fn pages_are_deterministic() {
        assert_eq!(pages().unwrap(), pages().unwrap());
    }
}
