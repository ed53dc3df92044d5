//! The host side of LVM2 compatibility: lvm.conf settings, device scanning
//! and filters, the devices file, LVM2's file locks, metadata backups.

pub mod backup;
pub mod blocksize;
pub mod devicesfile;
pub mod files;
pub mod filter;
pub mod hints;
pub mod lock;
pub mod lvmconf;
pub mod online;
pub mod scan;
pub mod signatures;
