//! pvck: check and repair a PV's label, headers and metadata areas (LVM2's
//! tools/pvck.c). The reading and planning live in `metadata::mda::dump`
//! and `metadata::mda::repair`; this file picks the mode, opens the
//! device, prints what they said, saves `-f` files and asks before writing.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use clap::Parser;

use super::common::{failed, parse, usage, CmdError, CommonArgs, Ctx};
use crate::metadata::device::{BlockDev, FileDev};
use crate::metadata::label::LABEL_SIZE;
use crate::metadata::mda::dump::{self, Log, Msg, PrintMeta, SaveTo, Settings};
use crate::metadata::mda::repair::{self, MetadataFile, RepairError};
use crate::metadata::mda::search;

#[derive(Parser, Debug)]
#[command(about = "Check metadata on physical volumes")]
pub(crate) struct PvckArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Print headers or metadata: headers, metadata, metadata_all,
    /// metadata_search, metadata_area, backup_to_raw.
    #[arg(long = "dump", value_name = "DumpType", value_parser = [
        "headers", "metadata", "metadata_all", "metadata_search", "metadata_area", "backup_to_raw",
    ])]
    dump: Option<String>,
    /// Rewrite the label, headers and metadata from a metadata file.
    #[arg(long = "repair")]
    repair: bool,
    /// Repair one part: label_header, pv_header or metadata.
    #[arg(long = "repairtype", value_name = "RepairType", value_parser = [
        "pv_header", "metadata", "label_header",
    ])]
    repairtype: Option<String>,
    /// Metadata file: written by --dump, read by --repair.
    #[arg(short = 'f', long = "file", value_name = "String")]
    file: Option<String>,
    /// Locations and values: "mda_num=N metadata_offset=B seqno=N ...".
    #[arg(long = "settings", value_name = "String")]
    settings: Vec<String>,
    /// With --dump: which metadata area (1 or 2).
    #[arg(long = "pvmetadatacopies", value_name = "MetadataCopiesPV")]
    pvmetadatacopies: Option<u32>,
    /// The sector holding the label (default 1).
    #[arg(long = "labelsector", value_name = "Number")]
    labelsector: Option<u64>,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

pub fn pvck(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvckArgs = parse("pvck", args)?;
    let modes =
        usize::from(a.dump.is_some()) + usize::from(a.repair) + usize::from(a.repairtype.is_some());
    if modes > 1 {
        return Err(usage(
            "Options --dump, --repair and --repairtype cannot be combined.",
        ));
    }
    if a.pvmetadatacopies.is_some_and(|n| !(1..=2).contains(&n)) {
        return Err(usage("--pvmetadatacopies must be 1 or 2 with --dump."));
    }
    if a.repair && a.file.is_none() {
        return Err(usage("--repair requires --file."));
    }
    let dump_without_pv = a.dump.as_deref() == Some("backup_to_raw");
    if modes == 1 && !dump_without_pv && a.pvs.len() != 1 {
        return Err(usage("Specify one physical volume."));
    }
    if a.pvs.is_empty() && !dump_without_pv {
        return Err(usage("Please enter a physical volume path."));
    }
    let ctx = Ctx::new(&a.common)?;
    let labelsector = a.labelsector.unwrap_or(1);
    if labelsector >= 4 {
        return Err(usage("--labelsector must be 0 to 3."));
    }
    let set = Settings::parse(&a.settings).map_err(failed)?;
    if let Some(kind) = a.dump.as_deref() {
        return dump_cmd(&ctx, &a, kind, &set, labelsector);
    }
    if a.repair || a.repairtype.is_some() {
        return repair_cmd(&ctx, &a, &set, labelsector);
    }
    let mut bad = false;
    for name in &a.pvs {
        let dev = match open_device(name, false) {
            Ok(d) => d,
            Err(e) => {
                // LVM2 goes on to the next PV and does not fail for this one.
                ctx.error(e);
                continue;
            }
        };
        let mut log = Log::default();
        bad |= !dump::check_pv(&dev, name, labelsector, &mut log);
        emit(&ctx, &log);
    }
    if bad {
        return Err(CmdError::Failed(String::new()));
    }
    Ok(())
}

/// Prints what the dump or repair said, in order.
fn emit(ctx: &Ctx, log: &Log) {
    for m in &log.msgs {
        match m {
            Msg::Print(s) => ctx.print(s),
            Msg::Text(s) => {
                if ctx.common.quiet == 0 {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{s}");
                }
            }
            Msg::Warn(s) => ctx.error(s),
            Msg::Error(s) => ctx.error(s),
        }
    }
}

/// Opens a block device (or, for a dump, an image file) by name.
fn open_device(name: &str, image_ok: bool) -> Result<FileDev, String> {
    let meta = fs::metadata(name).map_err(|_| format!("Cannot access {name}."))?;
    let ft = meta.file_type();
    if !(ft.is_block_device() || (image_ok && ft.is_file())) {
        return Err(format!("Cannot use {name}: device not found."));
    }
    FileDev::open(name, false).map_err(|e| format!("Cannot use {name}: {e}."))
}

fn dump_cmd(
    ctx: &Ctx,
    a: &PvckArgs,
    kind: &str,
    set: &Settings,
    labelsector: u64,
) -> Result<(), CmdError> {
    if kind == "backup_to_raw" {
        return backup_to_raw(ctx, a, set);
    }
    let name = &a.pvs[0];
    let dev = open_device(name, true).map_err(CmdError::Failed)?;
    if let Some(f) = &a.file {
        if Path::new(f).symlink_metadata().is_ok() {
            return Err(CmdError::Failed(format!("Failed to create file {f}")));
        }
    }
    let mut log = Log::default();
    let mut save = if a.file.is_some() {
        SaveTo::file()
    } else {
        SaveTo::default()
    };
    let copies = a.pvmetadatacopies;
    let ok = match kind {
        "headers" => dump::dump_headers(&dev, set, labelsector, &mut log),
        "metadata" | "metadata_all" | "metadata_area" => {
            let (print, area) = match kind {
                "metadata" => (PrintMeta::Current, false),
                "metadata_all" => (PrintMeta::All, false),
                _ => (PrintMeta::Check, true),
            };
            if area && a.file.is_none() {
                return Err(CmdError::Failed(
                    "Specify a file for the metadata area with --file.".into(),
                ));
            }
            dump::dump_metadata(
                &dev,
                set,
                labelsector,
                copies,
                print,
                area,
                &mut log,
                &mut save,
            )
        }
        "metadata_search" => {
            let info = dump::dump_label(&dev, labelsector, false, &mut log);
            let (ok, file) = search::dump_search(&dev, set, &info, copies, &mut log);
            if ok && save.wanted {
                save.bytes = Some(file);
            }
            ok
        }
        _ => return Err(CmdError::Failed("Unknown dump value.".into())),
    };
    emit(ctx, &log);
    if let (Some(f), Some(bytes)) = (&a.file, save.bytes) {
        save_file(f, &bytes)?;
    }
    if !ok {
        return Err(CmdError::Failed(String::new()));
    }
    Ok(())
}

/// Creates `path` (it must not exist) holding `bytes`.
fn save_file(path: &str, bytes: &[u8]) -> Result<(), CmdError> {
    let fail = || CmdError::Failed(format!("Failed to create file {path}"));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|_| fail())?;
    f.write_all(bytes)
        .and_then(|()| f.flush())
        .map_err(|_| fail())
}

/// `--dump backup_to_raw --settings backup_file=PATH [-f FILE]`.
fn backup_to_raw(ctx: &Ctx, a: &PvckArgs, set: &Settings) -> Result<(), CmdError> {
    let Some(input) = &set.backup_file else {
        return Err(CmdError::Failed(
            "Set backup file in --settings backup_file=path".into(),
        ));
    };
    let bytes =
        fs::read(input).map_err(|_| CmdError::Failed(format!("Cannot open file: {input}")))?;
    if bytes.is_empty() {
        return Err(CmdError::Failed(format!("Empty file: {input}")));
    }
    if !bytes.starts_with(b"# Generated") {
        return Err(CmdError::Failed(
            "File does not appear to contain a metadata backup.".into(),
        ));
    }
    let raw = repair::backup_to_raw(&bytes);
    match &a.file {
        Some(f) => save_file(f, &raw),
        None => {
            ctx.print("---");
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                String::from_utf8_lossy(&raw)
            );
            ctx.print("---");
            Ok(())
        }
    }
}

fn repair_failed(e: RepairError) -> CmdError {
    CmdError::Failed(e.to_string())
}

fn repair_cmd(ctx: &Ctx, a: &PvckArgs, set: &Settings, labelsector: u64) -> Result<(), CmdError> {
    let name = &a.pvs[0];
    let _global = ctx.lock_global(true)?;
    let meta = fs::metadata(name)
        .map_err(|_| CmdError::Failed(format!("Cannot use {name}: device not found.")))?;
    if !meta.file_type().is_block_device() {
        return Err(CmdError::Failed(format!(
            "Cannot use {name}: device not found."
        )));
    }
    let mut log = Log::default();
    let mf: Option<MetadataFile> = match &a.file {
        Some(f) => {
            let bytes =
                fs::read(f).map_err(|_| CmdError::Failed(format!("Cannot open file: {f}")))?;
            let mf = repair::read_metadata_file(&bytes, &mut log);
            emit(ctx, &std::mem::take(&mut log));
            let mf = mf.map_err(repair_failed)?;
            if mf.suspicious && !super::confirm(ctx, "Write input file data to disk? ") {
                return Err(CmdError::Failed(
                    "Invalid raw text metadata in file.".into(),
                ));
            }
            Some(mf)
        }
        None => None,
    };
    let dev = FileDev::open(name, !ctx.common.test)
        .map_err(|e| CmdError::Failed(format!("Cannot use {name}: {e}.")))?;
    let canonical = fs::canonicalize(name).ok();
    // A device name hint in the metadata names this device if it is the
    // same block device, whatever path leads to it.
    let rdev = meta.rdev();
    let is_this_device = |hint: &str| {
        fs::metadata(hint).is_ok_and(|m| m.file_type().is_block_device() && m.rdev() == rdev)
    };
    let kind = a.repairtype.as_deref().unwrap_or("all");
    let (label, mdas) = match kind {
        "label_header" => return repair_label_header(ctx, &dev, name, labelsector),
        "pv_header" | "all" => {
            let mut ask = |q: &str| super::confirm(ctx, q);
            let planned = repair::plan_pv_header(
                &dev,
                name,
                &is_this_device,
                labelsector,
                set,
                mf.as_ref(),
                &mut ask,
                &mut log,
            );
            emit(ctx, &std::mem::take(&mut log));
            let (label, _) = planned.map_err(repair_failed)?;
            // The UUID must not be another device's already.
            let scan = ctx.scan()?;
            let elsewhere = scan
                .pvs
                .iter()
                .map(|p| (p.id(), p.path.clone()))
                .chain(scan.duplicates.iter().map(|d| (d.id, d.unused.clone())))
                .find(|(id, path)| {
                    *id == label.header.id && fs::canonicalize(path).ok() != canonical
                });
            if let Some((_, path)) = elsewhere {
                return Err(CmdError::Failed(format!(
                    "Cannot use PV UUID {} which exists on {path}",
                    label.header.id.as_raw_str()
                )));
            }
            let mdas = if kind == "all" {
                repair::plan_metadata_for(&label, set).map_err(repair_failed)?
            } else {
                Some(vec![])
            };
            (Some(label), mdas)
        }
        "metadata" => {
            if mf.is_none() {
                return Err(CmdError::Failed("Metadata input file is required.".into()));
            }
            let mdas = repair::plan_metadata(&dev, labelsector, set).map_err(repair_failed)?;
            (None, mdas)
        }
        _ => return Err(CmdError::Failed("Unknown repair value.".into())),
    };
    if ctx.common.test {
        ctx.error("Skip writing in test mode.");
        return Ok(());
    }
    if !super::confirm(ctx, &format!("Write new LVM header to {name}? ")) {
        return Err(CmdError::Failed(String::new()));
    }
    let mdas_list = mdas.clone().unwrap_or_default();
    let text = if mdas_list.is_empty() {
        None
    } else {
        mf.as_ref()
    };
    let done = repair::apply(&dev, label.as_ref(), &mdas_list, text, &mut log);
    emit(ctx, &log);
    done.map_err(repair_failed)?;
    if mdas.is_none() {
        ctx.print("No metadata areas on device to repair.");
    }
    Ok(())
}

/// `--repairtype label_header`: fixes the label_header fields in place.
fn repair_label_header(
    ctx: &Ctx,
    dev: &FileDev,
    name: &str,
    labelsector: u64,
) -> Result<(), CmdError> {
    let mut log = Log::default();
    let info = dump::dump_label(dev, labelsector, false, &mut log);
    if !info.found_label {
        ctx.error(format!(
            "WARNING: No LVM label found on {name}.  It may not be an LVM device."
        ));
        if !super::confirm(ctx, "Write LVM header to device? ") {
            return Err(CmdError::Failed(String::new()));
        }
    }
    let mut sector = [0u8; LABEL_SIZE as usize];
    dev.read_at(labelsector * LABEL_SIZE, &mut sector)
        .map_err(|e| CmdError::Failed(format!("Failed to read label_header: {e}")))?;
    let fixed = repair::repair_label_header(&sector, labelsector);
    let crc = u32::from_le_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]);
    ctx.print(format!("Writing label_header.crc 0x{crc:08x}"));
    if ctx.common.test {
        ctx.error("Skip writing in test mode.");
        return Ok(());
    }
    if !super::confirm(ctx, &format!("Write new LVM header to {name}? ")) {
        return Err(CmdError::Failed(String::new()));
    }
    dev.write_at(labelsector * LABEL_SIZE, &fixed)
        .and_then(|()| dev.sync())
        .map_err(|e| CmdError::Failed(format!("Failed to write new header: {e}")))
}
