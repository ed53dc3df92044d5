//! vgcfgbackup and vgcfgrestore: a VG's metadata to and from text files
//! (the backup directory, archives or a named file).

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::store::{self, Access, VgHandle};
use crate::metadata::text;
use crate::system::{backup, files, lock};

use crate::cmd::common::{
    failed, parse, usage, vg_name_arg, vg_name_args, CmdError, CommonArgs, Ctx,
};

#[derive(Parser, Debug)]
#[command(about = "Backup volume group configuration(s)")]
pub struct VgcfgbackupArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Write to this file instead (%s is replaced by the VG name).
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// Back up VGs of other hosts (a system ID not this host's) too.
    #[arg(long = "foreign")]
    foreign: bool,
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgcfgbackup(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgcfgbackupArgs = parse("vgcfgbackup", args)?;
    let ctx = Ctx::new(&a.common)?;
    let named = vg_name_args(&a.vgs)?;
    let mut scan_result = ctx.scan()?;
    let access = Access {
        exported: true,
        foreign: a.foreign,
    };
    let names: Vec<String> = if a.vgs.is_empty() {
        ctx.unnamed_vgs(&scan_result, access)
    } else {
        named
    };
    if names.len() > 1 {
        if let Some(f) = &a.file {
            if !f.contains("%s") {
                return Err(usage(
                    "Cannot back up more than one VG to one file; use %s in the file name.",
                ));
            }
        }
    }
    for name in &names {
        let h = ctx
            .read_vg_locked(&mut scan_result, name, access)?
            .map_err(failed)?;
        let header = store::text_header(&format!(
            "vgcfgbackup{} {name}",
            a.file
                .as_ref()
                .map(|f| format!(" -f {f}"))
                .unwrap_or_default()
        ));
        let text = text::export_file(&h.vg, &header);
        match &a.file {
            Some(f) => {
                let path = f.replace("%s", name);
                std::fs::write(&path, text).map_err(|e| failed(format!("{path}: {e}")))?;
            }
            // Written even with backup/backup=0: it was asked for
            // (LVM2's backup_force).
            None => {
                backup::write_backup_always(&ctx.conf, name, &text).map_err(failed)?;
            }
        }
        ctx.print(format!("Volume group \"{name}\" successfully backed up."));
    }
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Restore volume group configuration")]
pub struct VgcfgrestoreArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Metadata file to restore (default: the VG's backup file).
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// List the archived metadata of the VG.
    #[arg(short = 'l', long = "list")]
    list: bool,
    #[arg(short = 'F', long = "force")]
    force: bool,
    #[arg(value_name = "VG")]
    vg: String,
}

pub fn vgcfgrestore(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgcfgrestoreArgs = parse("vgcfgrestore", args)?;
    let ctx = Ctx::new(&a.common)?;
    let name = vg_name_arg(&a.vg)?;
    if crate::metadata::names::check_name(&name).is_err() {
        return Err(usage(format!("Volume group name \"{name}\" is invalid.")));
    }
    if a.list {
        return list(&ctx, &name, a.file.as_deref());
    }
    let path = match &a.file {
        Some(f) => std::path::PathBuf::from(f),
        None => backup::backup_path(&ctx.conf, &name),
    };
    // Only a regular file, and a bounded read (`-f /dev/zero` fails at
    // once), with LVM2's words when the file cannot be used.
    let unreadable = |why: String| {
        CmdError::Failed(format!(
            "{why}\n  WARNING: couldn't read volume group metadata from file.\n  Failed to read VG {name} from {}\n  Restore failed.",
            path.display()
        ))
    };
    let content =
        files::read_text(&path, files::MAX_METADATA_FILE).map_err(|e| unreadable(e.to_string()))?;
    let (vg, _, repaired) =
        text::import_vg_repairing(&content).map_err(|e| unreadable(e.to_string()))?;
    for w in repaired {
        ctx.warn(w.strip_prefix("WARNING: ").unwrap_or(&w));
    }
    if vg.name != name {
        return Err(CmdError::Failed(format!(
            "Volume group name {} in file {} does not match {name}.",
            vg.name,
            path.display()
        )));
    }
    vg.check_writable().map_err(failed)?;
    let _g = ctx.lock_global(true)?;
    let _l = ctx.lock_vg(&name, true)?;
    let scan_result = ctx.scan()?;
    if let Ok(current) = scan_result.vg_with(&name, Access::ANY) {
        // Never over another host's VG.
        if !scan_result.host.owns(&current.vg) {
            scan_result
                .vg_with(&name, Access::default())
                .map_err(failed)?;
        }
        if current.vg.id != vg.id && !a.force {
            return Err(CmdError::Failed(format!(
                "Volume group {name} on disk has a different UUID; use --force to overwrite."
            )));
        }
        if !a.force
            && ctx
                .dm()
                .is_some_and(|dm| crate::ops::activate::any_lv_active(&dm, &current.vg))
        {
            return Err(CmdError::Failed(format!(
                "Volume group {name} has active volume(s); deactivate them first or use --force."
            )));
        }
    }
    let mut infos = Vec::new();
    for pv in &vg.pvs {
        match scan_result.pvs.iter().find(|p| p.id() == pv.id) {
            Some(i) => infos.push(i.clone()),
            None => {
                return Err(CmdError::Failed(format!(
                    "Couldn't find device with uuid {}.\n  Cannot restore Volume Group {name} with 1 PVs marked as missing.\n  Restore failed.",
                    pv.id
                )))
            }
        }
    }
    let file_seqno = vg.seqno;
    let mut handle = VgHandle::new_vg(vg, infos);
    handle.set_committed_seqno(file_seqno);
    ctx.commit(&mut handle, &store::command_line())?;
    let _ = lock::invalidate_hints();
    ctx.print(format!("Restored volume group {name}."));
    Ok(())
}

/// `vgcfgrestore -l`: the archives of VG `name` (oldest first) then its
/// backup, or only file `file` with `-f`, each as LVM2's `_display_archive`
/// shows it (archiver.c, archive.c).
fn list(ctx: &Ctx, name: &str, file: Option<&str>) -> Result<(), CmdError> {
    if let Some(f) = file {
        let path = std::path::Path::new(f);
        if !path.exists() {
            return Err(CmdError::Failed(format!("Archive file {f} not found.")));
        }
        return show_archive(ctx, path);
    }
    let archives = backup::list_archives(&ctx.conf, name).map_err(failed)?;
    if archives.is_empty() {
        ctx.print(format!(
            "No archives found in {}.",
            ctx.conf.archive_dir().display()
        ));
    }
    for a in &archives {
        show_archive(ctx, &a.path)?;
    }
    let latest = backup::backup_path(&ctx.conf, name);
    if latest.exists() {
        show_archive(ctx, &latest)?;
    }
    Ok(())
}

fn show_archive(ctx: &Ctx, path: &std::path::Path) -> Result<(), CmdError> {
    let read = files::read_text(path, files::MAX_METADATA_FILE)
        .map_err(|e| e.to_string())
        .and_then(|t| text::import_vg(&t).map_err(|e| e.to_string()));
    let (vg, header) =
        read.map_err(|e| CmdError::Failed(format!("{e}\n  Unable to read archive file.")))?;
    ctx.print(" ");
    ctx.print(format!("File:\t\t{}", path.display()));
    ctx.print(format!("VG name:    \t{}", vg.name));
    let desc = if header.description.is_empty() {
        "<No description>"
    } else {
        &header.description
    };
    ctx.print(format!("Description:\t{desc}"));
    ctx.print(format!(
        "Backup Time:\t{}\n",
        text::ctime(header.creation_time)
    ));
    Ok(())
}
