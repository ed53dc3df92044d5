//! What pvck's dumps say ([`Msg`], [`Log`]), the `--settings` they take,
//! what a label says ([`LabelInfo`]), and the bounded reads they share
//! (LVM2's `tools/pvck.c`). Pure; reads through [`BlockDev`].

use std::io;

use super::super::device::BlockDev;
use super::super::id::Id;
use super::MAX_TEXT_SIZE;

/// What pvck says, in order. `Print` goes to stdout with the log prefix,
/// `Text` to stdout as is (metadata text), `Warn` and `Error` to stderr
/// (their wording includes any `WARNING:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Print(String),
    Text(String),
    Warn(String),
    Error(String),
}

/// The messages of one pvck run, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Log {
    pub msgs: Vec<Msg>,
}

impl Log {
    pub fn print(&mut self, s: impl Into<String>) {
        self.msgs.push(Msg::Print(s.into()));
    }
    pub fn warn(&mut self, s: impl Into<String>) {
        self.msgs.push(Msg::Warn(s.into()));
    }
    pub fn error(&mut self, s: impl Into<String>) {
        self.msgs.push(Msg::Error(s.into()));
    }
    pub fn text(&mut self, s: impl Into<String>) {
        self.msgs.push(Msg::Text(s.into()));
    }
    /// The printed lines (stdout), for tests.
    pub fn printed(&self) -> Vec<&str> {
        self.msgs
            .iter()
            .filter_map(|m| match m {
                Msg::Print(s) | Msg::Text(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }
}

pub const ONE_MIB: u64 = 1 << 20;
/// The first mda always starts one page in (4096 on the machines LVM2
/// runs on; 8192 and 65536 are other page sizes).
pub const MDA1_OFFSET: u64 = 4096;

/// `--settings "key=value ..."` of pvck, all offsets and sizes in bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Settings {
    pub metadata_offset: Option<u64>,
    pub mda_offset: Option<u64>,
    pub mda_size: Option<u64>,
    pub mda2_offset: Option<u64>,
    pub mda2_size: Option<u64>,
    pub device_size: Option<u64>,
    pub data_offset: Option<u64>,
    pub seqno: Option<u32>,
    pub pv_uuid: Option<Id>,
    /// 1 or 2: which mda to look at; 0 when not given.
    pub mda_num: u32,
    pub backup_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("Invalid setting at: {0}")]
    Syntax(String),
    #[error("Invalid setting: {0}")]
    Key(String),
    #[error("Failed to parse UUID from pv_uuid setting.")]
    Uuid,
}

impl Settings {
    /// Parses every `--settings` string: whitespace-separated `key=value`
    /// pairs (LVM2's `_get_settings`).
    pub fn parse(strings: &[String]) -> Result<Settings, SettingsError> {
        let mut set = Settings::default();
        for s in strings {
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                let Some(eq) = rest.find('=') else {
                    return Err(SettingsError::Syntax(rest.to_string()));
                };
                let key = rest[..eq].trim();
                let after = rest[eq + 1..].trim_start();
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                let val = &after[..end];
                if key.is_empty() || val.is_empty() {
                    return Err(SettingsError::Syntax(rest.to_string()));
                }
                set.set_one(key, val)?;
                rest = after[end..].trim_start();
            }
        }
        Ok(set)
    }

    fn set_one(&mut self, key: &str, val: &str) -> Result<(), SettingsError> {
        let bad = || SettingsError::Key(key.to_string());
        let num = || val.parse::<u64>().map_err(|_| bad());
        match key {
            "metadata_offset" => self.metadata_offset = Some(num()?),
            "mda_offset" => self.mda_offset = Some(num()?),
            "mda_size" => self.mda_size = Some(num()?),
            "mda2_offset" => self.mda2_offset = Some(num()?),
            "mda2_size" => self.mda2_size = Some(num()?),
            "device_size" => self.device_size = Some(num()?),
            "data_offset" => self.data_offset = Some(num()?),
            "seqno" => self.seqno = Some(val.parse().map_err(|_| bad())?),
            "mda_num" => self.mda_num = val.parse().map_err(|_| bad())?,
            "backup_file" => self.backup_file = Some(val.to_string()),
            "pv_uuid" => self.pv_uuid = Some(val.parse().map_err(|_| SettingsError::Uuid)?),
            _ => return Err(bad()),
        }
        Ok(())
    }
}

pub fn u32_at(buf: &[u8], off: usize) -> u32 {
    buf.get(off..off + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub fn u64_at(buf: &[u8], off: usize) -> u64 {
    buf.get(off..off + 8).map_or(0, |b| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        u64::from_le_bytes(a)
    })
}

/// What the label sector says, read field by field whatever its state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LabelInfo {
    /// `LABELONE` and `LVM2 001` are in place (other fields may be bad).
    pub found_label: bool,
    /// Every field checked out.
    pub ok: bool,
    /// The pv_header's UUID, if it is one.
    pub pv_id: Option<Id>,
    pub device_size: u64,
    /// The first data area's offset.
    pub data_offset: Option<u64>,
    /// The first metadata area, and the last one after it.
    pub mda1: Option<(u64, u64)>,
    pub mda2: Option<(u64, u64)>,
    pub mda_count: usize,
}

/// Reads `len` bytes at `offset`, refusing absurd lengths before
/// allocating.
pub fn read_vec(dev: &dyn BlockDev, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let size = dev.size()?;
    if len > MAX_TEXT_SIZE.max(256 << 20) || offset.checked_add(len).is_none_or(|e| e > size) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "range outside the device",
        ));
    }
    let mut v = vec![0u8; len as usize];
    dev.read_at(offset, &mut v)?;
    Ok(v)
}
