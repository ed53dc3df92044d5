//! lvmconfig, dumpconfig, config: show the configuration in effect, in
//! LVM2's layout (`tools/dumpconfig.c`, `config_write` in
//! lib/config/config.c). Reads lvm.conf only; writes only `--file`.
//!
//! rlvm knows no table of every LVM2 setting, so it shows what the files
//! and `--config` say (`--type current`, the default), never LVM2's
//! compiled-in defaults: the types that need that table are refused.

use std::ffi::OsString;
use std::fmt::Write as _;

use clap::Parser;

use crate::metadata::config::{format_value, quote, Item, Section, Value};

use super::common::{failed, parse, usage, CmdError, CommonArgs, Ctx};

#[derive(Parser, Debug)]
#[command(about = "Display and manipulate configuration information")]
pub(crate) struct LvmconfigArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// What to show: current (the files and --config; the default). The
    /// types built from LVM2's table of settings (default, diff, full,
    /// list, missing, new, profilable...) are not available in rlvm.
    #[arg(long = "type", value_name = "String")]
    config_type: Option<String>,
    /// Write the output to this file instead of stdout.
    #[arg(short = 'f', long = "file", value_name = "String")]
    file: Option<String>,
    /// With --config, show it merged with the files (else --config alone).
    #[arg(long = "mergedconfig")]
    mergedconfig: bool,
    /// Check the configuration: "LVM configuration valid." when it parses
    /// and the settings rlvm checks hold.
    #[arg(long = "validate")]
    validate: bool,
    /// Show values only, without the setting names.
    #[arg(long = "valuesonly")]
    valuesonly: bool,
    /// Put spaces around "=".
    #[arg(long = "withspaces")]
    withspaces: bool,
    /// Same as --type list (not available in rlvm).
    #[arg(short = 'l', long = "list")]
    list: bool,
    /// Accepted for compatibility (comments come from LVM2's table).
    #[arg(long = "withcomments")]
    withcomments: bool,
    /// Accepted for compatibility.
    #[arg(long = "withsummary")]
    withsummary: bool,
    /// Accepted for compatibility.
    #[arg(long = "withversions")]
    withversions: bool,
    /// Accepted for compatibility.
    #[arg(long = "ignoreadvanced")]
    ignoreadvanced: bool,
    /// Accepted for compatibility.
    #[arg(long = "ignoreunsupported")]
    ignoreunsupported: bool,
    /// Accepted for compatibility.
    #[arg(long = "ignorelocal")]
    ignorelocal: bool,
    /// Sections or settings to show (`devices`, `global/units`).
    #[arg(value_name = "ConfigurationPath")]
    paths: Vec<String>,
}

/// How one setting is laid out.
#[derive(Clone, Copy)]
struct Layout {
    spaces: bool,
    values_only: bool,
}

pub fn lvmconfig(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvmconfigArgs = parse("lvmconfig", args)?;
    let ctx = Ctx::new(&a.common)?;
    // Layout options of LVM2's table-driven output: nothing to change here.
    let _ = (
        a.withcomments,
        a.withsummary,
        a.withversions,
        a.ignoreadvanced,
        a.ignoreunsupported,
        a.ignorelocal,
    );
    let ty = if a.list {
        "list"
    } else {
        a.config_type.as_deref().unwrap_or("current")
    };
    match ty {
        "current" => {}
        "default"
        | "diff"
        | "full"
        | "list"
        | "missing"
        | "new"
        | "profilable"
        | "profilable-command"
        | "profilable-metadata" => {
            return Err(CmdError::Failed(format!(
                "--type {ty} needs LVM2's table of settings, which rlvm does not have."
            )))
        }
        other => return Err(usage(format!("Invalid argument for --type: {other}"))),
    }
    if a.validate {
        ctx.print("LVM configuration valid.");
        return Ok(());
    }
    // Without --mergedconfig LVM2 shows the --config tree alone.
    let tree = match ctx.conf.override_tree() {
        Some(o) if !a.mergedconfig => o,
        _ => ctx.conf.tree(),
    };
    let layout = Layout {
        spaces: a.withspaces,
        values_only: a.valuesonly,
    };
    let text = render(tree, &a.paths, layout)?;
    match &a.file {
        Some(f) => std::fs::write(f, text)
            .map_err(|e| failed(format!("Failed to write configuration to {f}: {e}"))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The whole tree, or the named sections and settings in order. A name
/// that is not there fails the command, after the ones that are shown.
fn render(tree: &Section, paths: &[String], layout: Layout) -> Result<String, CmdError> {
    let mut out = String::new();
    if paths.is_empty() {
        write_section(&mut out, tree, 0, layout);
        return Ok(out);
    }
    let mut missing = Vec::new();
    for p in paths {
        let path = p.trim_matches('/');
        let key = path.rsplit('/').next().unwrap_or(path);
        match tree.get(path) {
            Some(item) => write_item(&mut out, key, item, 0, layout),
            None => missing.push(format!("Configuration node {path} not found")),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        print!("{out}");
        Err(CmdError::Failed(missing.join("\n  ")))
    }
}

fn write_section(out: &mut String, s: &Section, depth: usize, layout: Layout) {
    for (key, item) in &s.items {
        write_item(out, key, item, depth, layout);
    }
}

fn write_item(out: &mut String, key: &str, item: &Item, depth: usize, layout: Layout) {
    let pad = "\t".repeat(depth);
    match item {
        Item::Value(v) if layout.values_only => {
            let _ = writeln!(out, "{pad}{}", value_text(v));
        }
        Item::Value(v) => {
            let eq = if layout.spaces { " = " } else { "=" };
            let _ = writeln!(out, "{pad}{key}{eq}{}", value_text(v));
        }
        Item::Section(s) => {
            let _ = writeln!(out, "{pad}{key} {{");
            write_section(out, s, depth + 1, layout);
            let _ = writeln!(out, "{pad}}}");
        }
    }
}

/// libdm's value layout: arrays without spaces (`["a","b"]`).
fn value_text(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Str(s) => quote(s),
        other => format_value(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::config::parse as parse_conf;

    const PLAIN: Layout = Layout {
        spaces: false,
        values_only: false,
    };

    #[test]
    fn current_config_in_lvm2_layout() {
        // As `lvm dumpconfig` of LVM2 2.03.16 prints this lvm.conf.
        let t = parse_conf(
            "global {\n    units = \"m\"\n}\ndevices {\n    global_filter = [ \"a|foo|\", \"r|.*|\" ]\n    scan = \"/dev\"\n    x = 1\n}\n",
        )
        .unwrap();
        assert_eq!(
            render(&t, &[], PLAIN).unwrap(),
            "global {\n\tunits=\"m\"\n}\ndevices {\n\tglobal_filter=[\"a|foo|\",\"r|.*|\"]\n\tscan=\"/dev\"\n\tx=1\n}\n"
        );
        assert_eq!(
            render(&t, &["devices/scan".into(), "global/units".into()], PLAIN).unwrap(),
            "scan=\"/dev\"\nunits=\"m\"\n"
        );
        assert_eq!(
            render(&t, &["global".into()], PLAIN).unwrap(),
            "global {\n\tunits=\"m\"\n}\n"
        );
        let values = Layout {
            spaces: false,
            values_only: true,
        };
        assert_eq!(render(&t, &["devices/x".into()], values).unwrap(), "1\n");
        match render(&t, &["global/nonexist".into()], PLAIN) {
            Err(CmdError::Failed(m)) => {
                assert_eq!(m, "Configuration node global/nonexist not found")
            }
            other => panic!("{other:?}"),
        }
    }
}
