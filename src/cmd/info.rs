//! LVM2's informational commands (tools/lvm.c's `formats`, `segtypes`,
//! `tags`, `devtypes`): what this build reads and writes. They read no
//! device and change nothing.

use std::ffi::OsString;

use clap::Parser;

use super::common::{parse, CmdError, CommonArgs};
use crate::metadata::model::VIRTUAL_SEGTYPES;

#[derive(Parser, Debug)]
#[command(about = "List available metadata formats")]
pub(crate) struct FormatsArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// `lvm formats`: rlvm reads and writes LVM2's text format only.
pub fn formats(args: Vec<OsString>) -> Result<(), CmdError> {
    let _a: FormatsArgs = parse("formats", args)?;
    println!("  lvm2");
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "List available segment types")]
pub(crate) struct SegtypesArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// The segment types rlvm creates, activates and writes; a VG with any
/// other type is read-only to it.
pub fn segment_types() -> Vec<&'static str> {
    let mut out = vec!["linear", "striped"];
    out.extend(VIRTUAL_SEGTYPES);
    out.push("snapshot");
    out
}

/// `lvm segtypes`: one type a line, as LVM2 lists its registered ones.
pub fn segtypes(args: Vec<OsString>) -> Result<(), CmdError> {
    let _a: SegtypesArgs = parse("segtypes", args)?;
    for t in segment_types() {
        println!("  {t}");
    }
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "List tags defined on this host")]
pub(crate) struct TagsArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// `lvm tags`: the host tags in use. rlvm defines none (it does not read
/// lvm.conf's `tags` section), so the list is empty, as LVM2's is without
/// that section.
pub fn tags(args: Vec<OsString>) -> Result<(), CmdError> {
    let _a: TagsArgs = parse("tags", args)?;
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Display recognised built-in block device types")]
pub(crate) struct DevtypesArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Leave out the heading line.
    #[arg(long = "noheadings")]
    noheadings: bool,
    /// Separate the columns with this string (no alignment).
    #[arg(long = "separator", value_name = "String")]
    separator: Option<String>,
}

/// The block device types LVM2 knows by their /proc/devices name
/// (`lib/device/dev-type.c`): name, partitions per device, description.
const DEV_TYPES: &[(&str, u32, &str)] = &[
    ("VxDMP", 16, "Veritas Dynamic Multipathing"),
    ("aoe", 16, "ATA over Ethernet"),
    ("ataraid", 16, "ATA Raid"),
    ("bcache", 1, "bcache block device cache"),
    ("blkext", 1, "Extended device partitions"),
    ("cciss", 16, "Compaq CCISS array"),
    ("dac960", 8, "DAC960"),
    ("dasd", 4, "DASD disk (IBM S/390, zSeries)"),
    ("device-mapper", 1, "Mapped device"),
    ("drbd", 16, "Distributed Replicated Block Device (DRBD)"),
    ("emcpower", 16, "EMC Powerpath"),
    ("fio", 16, "Fusion IO"),
    ("gnbd", 1, "Network block device"),
    ("i2o_block", 16, "i2o Block Disk"),
    ("ida", 16, "Compaq SMART2"),
    ("ide", 64, "IDE disk"),
    ("iseries/vd", 8, "iSeries disks"),
    ("loop", 1, "Loop device"),
    ("md", 1, "Multiple Disk (MD/SoftRAID)"),
    ("mdp", 1, "Partitionable MD"),
    ("mmc", 16, "MMC block device"),
    ("mtip32xx", 16, "Micron PCIe SSD"),
    ("nbd", 16, "Network Block Device"),
    ("nvme", 64, "NVM Express"),
    ("power2", 16, "EMC Powerpath"),
    ("ps3disk", 16, "PlayStation 3 internal disk"),
    ("ramdisk", 1, "RAM disk"),
    ("rbd", 16, "Ceph rados object as a Linux block device"),
    ("scm", 8, "Storage Class Memory (IBM S/390)"),
    ("sd", 16, "SCSI disk"),
    ("skd", 16, "STEC"),
    ("ubd", 16, "User-mode virtual block device"),
    ("vdisk", 8, "SUN's LDOM virtual block device"),
    ("virtblk", 8, "VirtIO disk"),
    ("vtms", 16, "Violin Memory"),
    ("xvd", 16, "Xen virtual block device"),
    ("zvol", 16, "ZFS Zvols"),
];

/// The `devtypes` report's lines (LVM2's columns: DevType, MaxParts,
/// Description; aligned unless a separator is given).
fn devtypes_lines(noheadings: bool, separator: Option<&str>) -> Vec<String> {
    let head = ("DevType", "MaxParts", "Description");
    let rows: Vec<(String, String, String)> = DEV_TYPES
        .iter()
        .map(|(n, p, d)| (n.to_string(), p.to_string(), d.to_string()))
        .collect();
    let mut out = Vec::new();
    if let Some(sep) = separator {
        if !noheadings {
            out.push(format!("  {}{sep}{}{sep}{}", head.0, head.1, head.2));
        }
        out.extend(
            rows.iter()
                .map(|(n, p, d)| format!("  {n}{sep}{p}{sep}{d}")),
        );
        return out;
    }
    let w0 = rows
        .iter()
        .map(|r| r.0.len())
        .chain([head.0.len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r.1.len())
        .chain([head.1.len()])
        .max()
        .unwrap_or(0);
    let w2 = rows
        .iter()
        .map(|r| r.2.len())
        .chain([head.2.len()])
        .max()
        .unwrap_or(0);
    if !noheadings {
        out.push(format!("  {:<w0$} {:<w1$} {:<w2$}", head.0, head.1, head.2));
    }
    out.extend(
        rows.iter()
            .map(|(n, p, d)| format!("  {n:<w0$} {p:>w1$} {d:<w2$}")),
    );
    out
}

/// `lvm devtypes`.
pub fn devtypes(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: DevtypesArgs = parse("devtypes", args)?;
    for l in devtypes_lines(a.noheadings, a.separator.as_deref()) {
        println!("{l}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devtypes_columns_align_as_lvm2() {
        let l = devtypes_lines(false, None);
        assert_eq!(l.len(), DEV_TYPES.len() + 1);
        assert!(l[0].starts_with("  DevType       MaxParts Description"));
        assert!(l[1].starts_with("  VxDMP               16 Veritas Dynamic Multipathing"));
        assert_eq!(
            devtypes_lines(true, Some(","))[0],
            "  VxDMP,16,Veritas Dynamic Multipathing"
        );
    }

    #[test]
    fn segtypes_are_the_modelled_ones() {
        assert_eq!(
            segment_types(),
            ["linear", "striped", "error", "zero", "snapshot"]
        );
    }
}
