//! The options that say how a new PV is laid out, shared by pvcreate and
//! vgextend (which labels plain devices on the fly): metadata area size,
//! count and ignore flag, data alignment and its offset, bootloader area,
//! label sector (LVM2's `pvcreate_params_from_args` in tools/toollib.c),
//! with lvm.conf's defaults; and the new PV planned from them
//! (`metadata::pvlayout`) and written.

use clap::Args;

use crate::metadata::device::BlockDev;
use crate::metadata::id::Id;
use crate::metadata::label::{DiskLocn, Label, PvHeader};
use crate::metadata::pvlayout::{self, LayoutError, PvRequest, Restored};
use crate::metadata::store::{self, PvInfo};
use crate::metadata::units::{self, Sign};
use crate::metadata::{label, pvedit};
use crate::system::lvmconf::LvmConf;

use super::super::common::{failed, usage, CmdError};

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct NewPvArgs {
    /// Size of each metadata area (default unit MiB).
    #[arg(long = "metadatasize", value_name = "Size[m|UNIT]")]
    metadatasize: Option<String>,
    /// Number of metadata areas (0, 1 or 2).
    #[arg(
        long = "pvmetadatacopies",
        alias = "metadatacopies",
        value_name = "0|1|2"
    )]
    pvmetadatacopies: Option<u32>,
    /// Mark the new metadata areas ignored (y) or used (n).
    #[arg(long = "metadataignore", value_name = "y|n")]
    metadataignore: Option<String>,
    /// Align the start of the data area to a multiple of this (default
    /// unit KiB).
    #[arg(long = "dataalignment", value_name = "Size[k|UNIT]")]
    dataalignment: Option<String>,
    /// Shift the start of the data area by this (default unit KiB).
    #[arg(long = "dataalignmentoffset", value_name = "Size[k|UNIT]")]
    dataalignmentoffset: Option<String>,
    /// Reserve a bootloader area of this size before the data area
    /// (default unit MiB).
    #[arg(long = "bootloaderareasize", value_name = "Size[m|UNIT]")]
    bootloaderareasize: Option<String>,
    /// Sector (0-3) for the label.
    #[arg(long = "labelsector", value_name = "Number")]
    labelsector: Option<u64>,
    /// Metadata format: only lvm2 (2).
    #[arg(short = 'M', long = "metadatatype", value_name = "lvm2")]
    metadatatype: Option<String>,
    /// Wipe the first sectors (y, the default) or not (n).
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    zero: Option<String>,
}

/// What the options and lvm.conf ask for, before the device is known.
#[derive(Clone, Debug)]
pub(crate) struct NewPv {
    /// The request without the device size.
    pub req: PvRequest,
    pub label_sector: u64,
    pub ignored: bool,
    /// `devices/pv_min_size` in sectors.
    pub min_size: u64,
    /// Whether --metadatasize was given (pvcreate --restorefile defaults it
    /// to the restored pe_start).
    pub mda_size_given: bool,
}

/// `devices/pv_min_size` in sectors: KiB in lvm.conf (default 2048),
/// never below LVM2's floor of 512 KiB (`PV_MIN_SIZE_KB`).
pub(crate) fn pv_min_size(conf: &LvmConf) -> u64 {
    conf.get_int("devices/pv_min_size", 2048).max(512) as u64 * 2
}

/// A size option's value in sectors; `negative` is LVM2's message for a
/// minus sign (a command-line error).
pub(crate) fn size_arg(
    opt: &str,
    value: &str,
    unit: char,
    negative: &str,
) -> Result<u64, CmdError> {
    let s = units::parse_signed_size(value, unit)
        .map_err(|e| CmdError::BadArg(format!("{e}\n  Invalid argument for {opt}: {value}")))?;
    if s.sign == Sign::Minus {
        return Err(usage(negative));
    }
    Ok(s.sectors)
}

fn yes_no(opt: &str, v: &str) -> Result<bool, CmdError> {
    match v {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        _ => Err(CmdError::BadArg(format!("Invalid argument for {opt}: {v}"))),
    }
}

impl NewPvArgs {
    /// Checks the options and fills in lvm.conf's defaults.
    pub(crate) fn resolve(&self, conf: &LvmConf) -> Result<NewPv, CmdError> {
        if let Some(t) = &self.metadatatype {
            if t != "2" && t != "lvm2" {
                return Err(usage(format!("Unknown metadata type {t}")));
            }
        }
        if let Some(z) = &self.zero {
            yes_no("--zero", z)?;
        }
        let label_sector = self.labelsector.unwrap_or(label::DEFAULT_LABEL_SECTOR);
        if label_sector >= label::LABEL_SCAN_SECTORS {
            return Err(usage(format!(
                "labelsector must be less than {}.",
                label::LABEL_SCAN_SECTORS
            )));
        }
        let ignored = match &self.metadataignore {
            Some(v) => yes_no("--metadataignore", v)?,
            None => conf.get_bool("metadata/pvmetadataignore", false),
        };
        let copies = self
            .pvmetadatacopies
            .unwrap_or_else(|| conf.pvmetadatacopies());
        if copies > 2 {
            return Err(usage("Metadatacopies may only be 0, 1 or 2"));
        }
        if self.pvmetadatacopies == Some(0) && ignored {
            return Err(usage("metadataignore only applies to metadatacopies > 0."));
        }
        let too_big = |n: u64, msg: &str| {
            if n > u32::MAX as u64 {
                Err(usage(msg))
            } else {
                Ok(n)
            }
        };
        let data_alignment = match &self.dataalignment {
            Some(v) => too_big(
                size_arg(
                    "--dataalignment",
                    v,
                    'k',
                    "Physical volume data alignment may not be negative.",
                )?,
                "Physical volume data alignment is too big.",
            )?,
            // devices/data_alignment is in KiB.
            None => conf.get_int("devices/data_alignment", 0).max(0) as u64 * 2,
        };
        let data_alignment_offset = match &self.dataalignmentoffset {
            Some(v) => too_big(
                size_arg(
                    "--dataalignmentoffset",
                    v,
                    'k',
                    "Physical volume data alignment offset may not be negative.",
                )?,
                "Physical volume data alignment offset is too big.",
            )?,
            None => 0,
        };
        let given = match &self.metadatasize {
            Some(v) => size_arg(
                "--metadatasize",
                v,
                'm',
                "Metadata size may not be negative.",
            )?,
            None => 0,
        };
        let mda_size = match given {
            0 => conf
                .pvmetadatasize()
                .unwrap_or(pvlayout::DEFAULT_MDA_SECTORS),
            n => n,
        };
        let ba_size = match &self.bootloaderareasize {
            Some(v) => size_arg(
                "--bootloaderareasize",
                v,
                'm',
                "Bootloader area size may not be negative.",
            )?,
            None => 0,
        };
        Ok(NewPv {
            req: PvRequest {
                size: 0,
                data_alignment,
                data_alignment_offset,
                default_alignment_mib: conf.get_int("devices/default_data_alignment", 1).max(0)
                    as u64,
                mda_size,
                mda_copies: copies,
                ba_size,
                restore: None,
            },
            label_sector,
            ignored,
            min_size: pv_min_size(conf),
            mda_size_given: given > 0,
        })
    }

    /// Whether --bootloaderareasize was given (pvcreate refuses it with
    /// --restorefile).
    pub(crate) fn has_bootloaderareasize(&self) -> bool {
        self.bootloaderareasize.is_some()
    }
}

/// LVM2's words for a layout that cannot be made on device `dev`.
fn layout_error(e: LayoutError, dev: &str) -> CmdError {
    CmdError::Failed(match e {
        LayoutError::NoSpace(i) => {
            format!("Not enough space available for metadata area with index {i} on PV {dev}.")
        }
        LayoutError::MdaTooSmall(_) | LayoutError::ExtentsBeyondDevice => e.to_string(),
        _ => format!("{dev}: {e}"),
    })
}

/// The PV `new` makes on a device of `size_bytes` (the real size, or
/// `--setphysicalvolumesize`), nothing written yet. `arg` names the
/// device in messages.
pub(crate) fn plan_new_pv(
    new: &NewPv,
    size_bytes: u64,
    path: &str,
    arg: &str,
    id: Id,
    restore: Option<Restored>,
) -> Result<PvInfo, CmdError> {
    let size = size_bytes / 512;
    if size < new.min_size {
        return Err(CmdError::Failed(format!(
            "{arg}: Size must exceed minimum of {} sectors.",
            new.min_size
        )));
    }
    let mut req = new.req.clone();
    req.size = size;
    if let Some(r) = &restore {
        if !new.mda_size_given {
            req.mda_size = r.pe_start;
        }
    }
    req.restore = restore;
    let plan = pvlayout::plan(&req).map_err(|e| layout_error(e, arg))?;
    let bootloader_areas = if plan.ba_size > 0 {
        vec![DiskLocn {
            offset: plan.ba_start * 512,
            size: plan.ba_size * 512,
        }]
    } else {
        Vec::new()
    };
    Ok(PvInfo {
        path: path.to_string(),
        size: size_bytes,
        label: Label {
            sector: new.label_sector,
            header: PvHeader {
                id,
                device_size: size_bytes,
                data_areas: vec![DiskLocn {
                    offset: plan.pe_start * 512,
                    size: 0,
                }],
                metadata_areas: plan.mdas,
                ext_version: label::PV_HEADER_EXTENSION_VSN,
                ext_flags: 0,
                bootloader_areas,
            },
        },
        mdas: Vec::new(),
    })
}

/// Writes a planned PV, its metadata areas marked ignored if asked.
pub(crate) fn write_new_pv(
    dev: &dyn BlockDev,
    planned: &PvInfo,
    ignored: bool,
) -> Result<PvInfo, CmdError> {
    let info = store::write_pv(dev, planned).map_err(failed)?;
    if ignored {
        for locn in &info.label.header.metadata_areas {
            pvedit::set_mda_ignored(dev, locn, true)
                .map_err(|e| failed(format!("{}: {e}", info.path)))?;
        }
    }
    Ok(info)
}

/// The bootloader area of a PV as its VG's metadata records it
/// (`ba_start`, `ba_size` in sectors), from its label.
pub(crate) fn ba_of(info: &PvInfo) -> (Option<u64>, Option<u64>) {
    match info.label.header.bootloader_areas.first() {
        Some(b) if b.size > 0 => (Some(b.offset / 512), Some(b.size / 512)),
        _ => (None, None),
    }
}
