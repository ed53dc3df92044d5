//! The commands: each parses its arguments (clap) into a typed request,
//! loads metadata, plans and executes. Dispatch is on the name the binary
//! was called by (`lvcreate`, `vgs`, ...) or on the first argument
//! (`rlvm lvs`). Exit codes follow LVM2: 0 success, 3 invalid command
//! line, 5 command failed.

mod activate;
mod common;
mod fullreport;
mod info;
mod lv;
mod lvconvert;
mod lvmconfig;
mod lvmdevices;
mod lvselect;
mod man;
mod poll;
mod pv;
mod pvchange;
mod pvck;
mod pvranges;
mod pvresize;
mod records;
mod report;
mod resize;
mod selecting;
mod vg;
mod vgexport;
mod vgextend;
mod vgrename;
mod vgselect;
mod vgsplit;

use std::ffi::OsString;
use std::path::Path;

pub use common::{CmdError, Ctx};

/// LVM2's exit codes (`ECMD_PROCESSED`, `EINVALID_CMD_LINE`, `ECMD_FAILED`,
/// `EINIT_FAILED`).
pub const EXIT_OK: i32 = 0;
pub const EXIT_USAGE: i32 = 3;
pub const EXIT_FAILED: i32 = 5;
/// LVM2's `EINIT_FAILED`: the command could not start (lvm.conf).
pub const EXIT_INIT_FAILED: i32 = 4;

type Runner = fn(Vec<OsString>) -> Result<(), CmdError>;

/// The command table: name, one-line description, entry point.
pub const COMMANDS: &[(&str, &str, Runner)] = &[
    (
        "pvscan",
        "List physical volumes; autoactivate with --cache -aay",
        pv::pvscan,
    ),
    (
        "pvcreate",
        "Initialize physical volume(s) for use by LVM",
        pv::pvcreate,
    ),
    (
        "pvremove",
        "Remove LVM label(s) from physical volume(s)",
        pv::pvremove,
    ),
    (
        "pvchange",
        "Change attributes of physical volume(s)",
        pvchange::pvchange,
    ),
    (
        "pvs",
        "Display information about physical volumes",
        report::pvs,
    ),
    (
        "pvdisplay",
        "Display various attributes of physical volume(s)",
        report::pvdisplay,
    ),
    ("vgcreate", "Create a volume group", vg::vgcreate),
    ("vgremove", "Remove volume group(s)", vg::vgremove),
    (
        "vgs",
        "Display information about volume groups",
        report::vgs,
    ),
    (
        "vgdisplay",
        "Display volume group information",
        report::vgdisplay,
    ),
    ("vgck", "Check the consistency of volume group(s)", vg::vgck),
    ("vgscan", "Search for all volume groups", vg::vgscan),
    (
        "systemid",
        "Display the system ID, if any, currently set on this host",
        vg::systemid,
    ),
    (
        "vgmknodes",
        "Create the special files for volume group devices in /dev",
        activate::vgmknodes,
    ),
    ("vgchange", "Change volume group attributes", vg::vgchange),
    (
        "vgextend",
        "Add physical volumes to a volume group",
        vgextend::vgextend,
    ),
    (
        "vgreduce",
        "Remove physical volume(s) from a volume group",
        vgextend::vgreduce,
    ),
    (
        "vgexport",
        "Unregister volume group(s) from the system",
        vgexport::vgexport,
    ),
    (
        "vgimport",
        "Register exported volume group with system",
        vgexport::vgimport,
    ),
    (
        "vgcfgbackup",
        "Backup volume group configuration(s)",
        vg::vgcfgbackup,
    ),
    (
        "vgcfgrestore",
        "Restore volume group configuration",
        vg::vgcfgrestore,
    ),
    ("lvcreate", "Create a logical volume", lv::lvcreate),
    (
        "lvremove",
        "Remove logical volume(s) from the system",
        lv::lvremove,
    ),
    ("lvrename", "Rename a logical volume", lv::lvrename),
    (
        "lvextend",
        "Add space to a logical volume",
        resize::lvextend,
    ),
    (
        "lvreduce",
        "Reduce the size of a logical volume",
        resize::lvreduce,
    ),
    ("lvresize", "Resize a logical volume", resize::lvresize),
    (
        "lvconvert",
        "Merge a snapshot into its origin (--merge)",
        lvconvert::lvconvert,
    ),
    (
        "lvpoll",
        "Continue a long-running operation (snapshot merge) until it ends",
        poll::lvpoll,
    ),
    (
        "lvchange",
        "Change the attributes of logical volume(s)",
        lv::lvchange,
    ),
    (
        "lvs",
        "Display information about logical volumes",
        report::lvs,
    ),
    (
        "lvdisplay",
        "Display information about a logical volume",
        report::lvdisplay,
    ),
    ("pvresize", "Resize physical volume(s)", pvresize::pvresize),
    ("pvck", "Check metadata on physical volumes", pvck::pvck),
    ("vgrename", "Rename a volume group", vgrename::vgrename),
    ("vgmerge", "Merge volume groups", vgrename::vgmerge),
    (
        "vgsplit",
        "Move physical volumes into a new or existing volume group",
        vgsplit::vgsplit,
    ),
    (
        "vgimportclone",
        "Import a VG from cloned PVs",
        vgrename::vgimportclone,
    ),
    (
        "lvmdevices",
        "Manage the devices file",
        lvmdevices::lvmdevices,
    ),
    ("fullreport", "Display full report", fullreport::fullreport),
    (
        "lvmconfig",
        "Display and manipulate configuration information",
        lvmconfig::lvmconfig,
    ),
    (
        "dumpconfig",
        "Display and manipulate configuration information",
        lvmconfig::lvmconfig,
    ),
    (
        "config",
        "Display and manipulate configuration information",
        lvmconfig::lvmconfig,
    ),
    ("formats", "List available metadata formats", info::formats),
    ("segtypes", "List available segment types", info::segtypes),
    ("tags", "List tags defined on this host", info::tags),
    (
        "devtypes",
        "Display recognised built-in block device types",
        info::devtypes,
    ),
];

/// The clap definition a command parses its arguments with (the one its
/// `--help` prints), named as it is dispatched.
fn definition(name: &str) -> Option<clap::Command> {
    use clap::CommandFactory;
    let cmd = match name {
        "pvscan" => pv::PvscanArgs::command(),
        "pvcreate" => pv::PvcreateArgs::command(),
        "pvremove" => pv::PvremoveArgs::command(),
        "pvchange" => pvchange::PvchangeArgs::command(),
        "pvs" => report::PvsArgs::command(),
        "pvdisplay" => report::PvdisplayArgs::command(),
        "vgcreate" => vg::VgcreateArgs::command(),
        "vgremove" => vg::VgremoveArgs::command(),
        "vgs" => report::VgsArgs::command(),
        "vgdisplay" => report::VgdisplayArgs::command(),
        "vgck" => vg::VgckArgs::command(),
        "vgscan" => vg::VgscanArgs::command(),
        "systemid" => vg::SystemidArgs::command(),
        "vgmknodes" => activate::VgmknodesArgs::command(),
        "vgchange" => vg::VgchangeArgs::command(),
        "vgextend" => vgextend::VgextendArgs::command(),
        "vgreduce" => vgextend::VgreduceArgs::command(),
        "vgexport" => vgexport::VgexportArgs::command(),
        "vgimport" => vgexport::VgimportArgs::command(),
        "vgcfgbackup" => vg::VgcfgbackupArgs::command(),
        "vgcfgrestore" => vg::VgcfgrestoreArgs::command(),
        "lvcreate" => lv::LvcreateArgs::command(),
        "lvremove" => lv::LvremoveArgs::command(),
        "lvrename" => lv::LvrenameArgs::command(),
        "lvextend" => resize::LvextendArgs::command(),
        "lvreduce" => resize::LvreduceArgs::command(),
        "lvresize" => resize::LvresizeArgs::command(),
        "lvconvert" => lvconvert::LvconvertArgs::command(),
        "lvpoll" => poll::LvpollArgs::command(),
        "lvchange" => lv::LvchangeArgs::command(),
        "lvs" => report::LvsArgs::command(),
        "lvdisplay" => report::LvdisplayArgs::command(),
        "pvresize" => pvresize::PvresizeArgs::command(),
        "pvck" => pvck::PvckArgs::command(),
        "vgrename" => vgrename::VgrenameArgs::command(),
        "vgmerge" => vgrename::VgmergeArgs::command(),
        "vgsplit" => vgsplit::VgsplitArgs::command(),
        "vgimportclone" => vgrename::VgimportcloneArgs::command(),
        "lvmdevices" => lvmdevices::LvmdevicesArgs::command(),
        "fullreport" => fullreport::FullreportArgs::command(),
        "lvmconfig" | "dumpconfig" | "config" => lvmconfig::LvmconfigArgs::command(),
        "formats" => info::FormatsArgs::command(),
        "segtypes" => info::SegtypesArgs::command(),
        "tags" => info::TagsArgs::command(),
        "devtypes" => info::DevtypesArgs::command(),
        _ => return None,
    };
    Some(cmd.name(name.to_string()))
}

/// Each command's `clap::Command`, in `COMMANDS` order, named as it is
/// dispatched: what `--help` prints and the man pages are rendered from.
/// A command of `COMMANDS` without a definition is left out (and the man
/// page test fails).
pub fn command_definitions() -> Vec<clap::Command> {
    COMMANDS
        .iter()
        .filter_map(|(name, _, _)| definition(name))
        .collect()
}

fn find_command(name: &str) -> Option<Runner> {
    COMMANDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, run)| *run)
}

fn print_top_help() {
    println!(
        "rlvm {} — LVM2-compatible volume manager",
        env!("CARGO_PKG_VERSION")
    );
    println!();
    println!("Usage: rlvm COMMAND [ARGS]   (or call through a link named after the command)");
    println!();
    for (name, about, _) in COMMANDS {
        println!("  {name:<14}{about}");
    }
}

/// Entry point used by `main`; returns the process exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    common::reset_sigpipe();
    crate::system::files::raise_open_files_limit();
    crate::system::files::one_malloc_arena();
    let invoked = args
        .first()
        .map(|a| {
            Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let (name, rest) = if find_command(&invoked).is_some() {
        (invoked, args)
    } else {
        match args.get(1).map(|a| a.to_string_lossy().into_owned()) {
            None => {
                use std::io::IsTerminal;
                if !std::io::stdin().is_terminal() {
                    return run_stdin_commands();
                }
                print_top_help();
                return EXIT_USAGE;
            }
            Some(a) if a == "--version" || a == "version" => {
                println!("  rlvm version: {}", env!("CARGO_PKG_VERSION"));
                println!("  LVM2 metadata format: lvm2 (text format version 1)");
                return EXIT_OK;
            }
            Some(a) if a == "--help" || a == "-h" || a == "help" => {
                print_top_help();
                return EXIT_OK;
            }
            // Hidden: writes the man pages (scripts/gen-man.sh).
            Some(a) if a == "--generate-man" => {
                let Some(dir) = args.get(2) else {
                    eprintln!("  Usage: rlvm --generate-man DIR");
                    return EXIT_USAGE;
                };
                return match man::generate(Path::new(dir)) {
                    Ok(_) => EXIT_OK,
                    Err(e) => {
                        eprintln!(
                            "  Cannot write man pages to {}: {e}",
                            Path::new(dir).display()
                        );
                        EXIT_FAILED
                    }
                };
            }
            // Hidden: writes bash, zsh and fish completions for rlvm and every command,
            // from the same clap definitions (scripts/install.sh).
            Some(a) if a == "--generate-completions" => {
                use clap_complete::{generate_to, Shell};
                let Some(dir) = args.get(2).map(Path::new) else {
                    eprintln!("  Usage: rlvm --generate-completions DIR");
                    return EXIT_USAGE;
                };
                let mut cmds = command_definitions();
                cmds.push(
                    clap::Command::new("rlvm")
                        .about("LVM2-compatible volume manager")
                        .subcommands(command_definitions()),
                );
                let written = [Shell::Bash, Shell::Zsh, Shell::Fish]
                    .iter()
                    .try_for_each(|s| {
                        let sub = dir.join(s.to_string());
                        std::fs::create_dir_all(&sub)?;
                        cmds.iter_mut().try_for_each(|c| {
                            let name = c.get_name().to_string();
                            generate_to(*s, c, name, &sub).map(|_| ())
                        })
                    });
                return match written {
                    Ok(()) => EXIT_OK,
                    Err(e) => {
                        eprintln!("  Cannot write completions to {}: {e}", dir.display());
                        EXIT_FAILED
                    }
                };
            }
            Some(a) => (a, args[1..].to_vec()),
        }
    };
    let Some(run) = find_command(&name) else {
        eprintln!("  No such command '{name}'.  Try 'rlvm help'.");
        return EXIT_USAGE;
    };
    let result = run(rest);
    crate::metadata::phase::mark("returned");
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let code = e.report();
            if matches!(&e, CmdError::Usage(m) if !m.contains("--help' for more information.")
                    && !m.starts_with("Command does not accept argument"))
            {
                eprintln!("  Run `{name} --help' for more information.");
            }
            code
        }
    }
}

/// `lvm` with no command and its input not a terminal (LVM2's shell read
/// from a pipe: `... | lvm`): runs each line as a command, words split as a
/// shell would split them (quotes, backslashes; `#` starts a comment),
/// until the end of input or `quit`/`exit`. The exit code is 0 if every
/// command succeeded, else the last failing command's (LVM2's shell
/// always exits 0; a script piping commands gets to know).
fn run_stdin_commands() -> i32 {
    use std::io::BufRead;
    let mut code = EXIT_OK;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words = match split_words(&line) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("  {e}");
                code = EXIT_USAGE;
                continue;
            }
        };
        let Some(first) = words.first() else { continue };
        if first == "quit" || first == "exit" {
            break;
        }
        // As `lvm WORDS...`: the first word is the command (or help, version).
        let args: Vec<OsString> = std::iter::once("lvm")
            .chain(words.iter().map(String::as_str))
            .map(OsString::from)
            .collect();
        let rc = main_with_args(args);
        if rc != EXIT_OK {
            code = rc;
        }
    }
    code
}

/// A command line's words as `sh` would split them: blanks separate,
/// '...' and "..." quote (a backslash escapes inside "..." and outside
/// quotes), `#` at a word's start comments out the rest.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '#' if cur.is_none() => break,
            '\\' => match chars.next() {
                Some(n) => cur.get_or_insert_with(String::new).push(n),
                None => return Err("Unterminated backslash at the end of the line.".into()),
            },
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => w.push(n),
                        None => return Err("Unterminated quote: '.".into()),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n) => w.push(n),
                            None => return Err("Unterminated quote: \".".into()),
                        },
                        Some(n) => w.push(n),
                        None => return Err("Unterminated quote: \".".into()),
                    }
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    Ok(words)
}

/// Asks a yes/no question the way LVM2 does; `-y` answers yes, end of input
/// answers no.
pub(crate) fn confirm(ctx: &Ctx, question: &str) -> bool {
    use std::io::{BufRead, Write};
    if ctx.common.yes {
        return true;
    }
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => {
            let ans = line.trim().to_ascii_lowercase();
            ans == "y" || ans == "yes"
        }
        _ => {
            println!();
            false
        }
    }
}

#[cfg(test)]
mod shell_tests {
    use super::split_words;

    #[test]
    fn words_split_as_sh_splits_them() {
        assert_eq!(
            split_words(r#"lvcreate -an -n lv1  -l1 vg # note"#).unwrap(),
            ["lvcreate", "-an", "-n", "lv1", "-l1", "vg"]
        );
        assert_eq!(
            split_words(r#"lvs --config 'global { units = "k" }' a\ b "c\"d" e#f"#).unwrap(),
            [
                "lvs",
                "--config",
                r#"global { units = "k" }"#,
                "a b",
                "c\"d",
                "e#f"
            ]
        );
        assert_eq!(split_words("   ").unwrap(), Vec::<String>::new());
        assert!(split_words("lvs 'vg").is_err());
        assert!(split_words("lvs \"vg").is_err());
    }
}
