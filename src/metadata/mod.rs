//! LVM2's on-disk metadata: PV label, metadata areas, text format and the
//! typed VG model. Everything here is pure format code over the
//! `device::BlockDev` trait, so it is tested on in-memory buffers.

pub mod alloc;
pub mod config;
pub mod crc;
pub mod device;
pub mod duplicates;
pub mod id;
pub mod label;
pub mod mda;
pub mod mda_balance;
pub mod model;
pub mod names;
pub mod phase;
pub mod pvedit;
pub mod pvlayout;
pub mod snapshot;
pub mod store;
pub mod text;
pub mod units;
pub mod validate;
