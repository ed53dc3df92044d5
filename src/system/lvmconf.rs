//! lvm.conf: loads `$LVM_SYSTEM_DIR/lvm.conf`, `lvmlocal.conf` and
//! `--config` overrides, and gives typed access, with LVM2's defaults, to
//! the settings rlvm uses. Reads files only; never writes.
//!
//! Precedence follows LVM2 (`lib/commands/toolcontext.c`, `_init_lvm_conf`
//! and `_init_tags`/`--config` handling): `--config` strings win over
//! `lvmlocal.conf`, which wins over `lvm.conf`. A missing `lvm.conf` is not
//! an error: every setting then has its compiled-in default (values below
//! are those of `lvmconfig --type default` of LVM 2.03.16 on Debian).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::metadata::config::{self, Section, Value};

/// Where LVM2 looks for lvm.conf when `LVM_SYSTEM_DIR` is unset.
pub const DEFAULT_SYSTEM_DIR: &str = "/etc/lvm";
/// The most read of a system ID file (it is one line).
const MAX_SYSTEM_ID_FILE: u64 = 64 << 10;

/// Device directory when `DM_DEV_DIR` is unset.
pub const DEFAULT_DEV_DIR: &str = "/dev";

#[derive(Debug, Error)]
pub enum ConfError {
    /// LVM2's two lines: the reason, then the file.
    #[error("{}\n  Failed to load config file {}", read_reason(.path, .source), .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: super::files::ReadError,
    },
    #[error("{source}\n  Failed to load config file {}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: config::ConfigError,
    },
    #[error("Failed to set overridden configuration entries: {source}")]
    Override {
        #[source]
        source: config::ConfigError,
    },
}

impl ConfError {
    /// LVM2 gives up before any command runs when a config file cannot
    /// be read or parsed (`EINIT_FAILED`, exit 4); a bad `--config` is a
    /// command-line error (exit 3).
    pub fn is_init_failure(&self) -> bool {
        !matches!(self, ConfError::Override { .. })
    }
}

/// An open refused (permission, I/O) in LVM2's words: it opens config
/// files through its device layer ("Failed to open device path P (13).").
fn read_reason(path: &Path, e: &super::files::ReadError) -> String {
    match e {
        super::files::ReadError::Stat { source, .. } if source.raw_os_error().is_some() => {
            format!(
                "Failed to open device path {} ({}).",
                path.display(),
                source.raw_os_error().unwrap_or(0)
            )
        }
        other => other.to_string(),
    }
}

/// A setting whose value LVM2 would not accept, in LVM2's words
/// (`lib/config/config.c`, `_config_def_check_node_value`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingError {
    #[error("WARNING: Configuration setting \"{path}\" has invalid type. Found {found} but expected array with values of type: string.")]
    WrongType { path: String, found: &'static str },
    #[error("Configuration setting \"{path}\" invalid. Empty value not allowed.")]
    EmptyList { path: String },
}

/// Which devices a command may use, as its command line chose (LVM2's
/// `setup_devices_file` and `_setup_devices_list` in dev-cache.c):
/// lvm.conf's devices file settings, `--devicesfile NAME`,
/// `--devicesfile ""` (no devices file) or `--devices DEV,...`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    #[default]
    Config,
    File(String),
    NoFile,
    List(Vec<String>),
}

/// The merged configuration tree plus the environment LVM2 consults.
#[derive(Debug, Clone)]
pub struct LvmConf {
    tree: Section<'static>,
    /// lvm.conf, the tag files it names and lvmlocal.conf, merged: what
    /// `lvmconfig` shows without `--config`.
    files_tree: Section<'static>,
    /// The `--config` strings merged: what `lvmconfig --config` shows.
    override_tree: Option<Section<'static>>,
    system_dir: PathBuf,
    dev_dir: PathBuf,
    devices: DeviceChoice,
    /// The command running (pvcreate, vgcreate, ...): whether it may
    /// create the devices file depends on it.
    command: String,
    /// Set once the command's scan saw a VG: pvcreate and vgcreate then
    /// do not create a system devices file that would hide it.
    vgs_seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LvmConf {
    /// Load as an LVM2 command does: `LVM_SYSTEM_DIR` (default /etc/lvm),
    /// `DM_DEV_DIR` (default /dev), then `overrides` (each a `--config`
    /// string) merged on top, in order.
    pub fn load(overrides: &[String]) -> Result<LvmConf, ConfError> {
        let system_dir = env_path("LVM_SYSTEM_DIR", DEFAULT_SYSTEM_DIR);
        let dev_dir = env_path("DM_DEV_DIR", DEFAULT_DEV_DIR);
        Self::load_from(&system_dir, &dev_dir, overrides)
    }

    /// Same as [`LvmConf::load`] with explicit directories (tests, tools).
    pub fn load_from(
        system_dir: &Path,
        dev_dir: &Path,
        overrides: &[String],
    ) -> Result<LvmConf, ConfError> {
        let mut tree = Section::default();
        if let Some(main) = load_file(&system_dir.join("lvm.conf"))? {
            tree.merge_from(&main);
            // Tags set in lvm.conf's `tags` section bring their own
            // files, lvm_<tag>.conf, merged in (LVM2's `_init_tags` and
            // `_init_tag_configs` in toolcontext.c).
            for tag in host_tags(&main) {
                if let Some(t) = load_file(&system_dir.join(format!("lvm_{tag}.conf")))? {
                    tree.merge_from(&t);
                }
            }
        }
        if let Some(local) = load_file(&system_dir.join("lvmlocal.conf"))? {
            tree.merge_from(&local);
        }
        let files_tree = tree.clone();
        let mut override_tree = None;
        for text in overrides {
            let parsed = config::parse(text).map_err(|source| ConfError::Override { source })?;
            tree.merge_from(&parsed);
            override_tree
                .get_or_insert_with(Section::default)
                .merge_from(&parsed);
        }
        Ok(LvmConf {
            tree,
            files_tree,
            override_tree,
            system_dir: system_dir.to_path_buf(),
            dev_dir: dev_dir.to_path_buf(),
            devices: DeviceChoice::Config,
            command: String::new(),
            vgs_seen: Default::default(),
        })
    }

    /// All defaults, as with no lvm.conf at all.
    pub fn defaults(system_dir: &Path, dev_dir: &Path) -> LvmConf {
        LvmConf {
            tree: Section::default(),
            files_tree: Section::default(),
            override_tree: None,
            system_dir: system_dir.to_path_buf(),
            dev_dir: dev_dir.to_path_buf(),
            devices: DeviceChoice::Config,
            command: String::new(),
            vgs_seen: Default::default(),
        }
    }

    /// The configuration files merged (lvm.conf, tag files,
    /// lvmlocal.conf), without `--config`.
    pub fn files_tree(&self) -> &Section<'static> {
        &self.files_tree
    }

    /// The `--config` strings merged, when any was given.
    pub fn override_tree(&self) -> Option<&Section<'static>> {
        self.override_tree.as_ref()
    }

    /// Records the command line's device choice and the command's name.
    pub fn set_devices(&mut self, choice: DeviceChoice, command: &str) {
        self.devices = choice;
        self.command = command.to_string();
    }

    pub fn device_choice(&self) -> &DeviceChoice {
        &self.devices
    }

    /// The command this configuration was loaded for.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// `--devices` names, when given: only these devices are used, and
    /// no devices file.
    pub fn devices_list(&self) -> Option<&[String]> {
        match &self.devices {
            DeviceChoice::List(l) => Some(l),
            _ => None,
        }
    }

    /// Whether the devices file was named on the command line
    /// (`--devicesfile NAME`).
    pub fn devicesfile_explicit(&self) -> bool {
        matches!(self.devices, DeviceChoice::File(_))
    }

    /// The scan saw a VG (see `vgs_seen`).
    pub fn note_vgs_seen(&self) {
        self.vgs_seen
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn vgs_seen(&self) -> bool {
        self.vgs_seen.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The merged tree, for settings without a typed accessor.
    pub fn tree(&self) -> &Section<'static> {
        &self.tree
    }

    /// Generic lookup of any `section/key` path.
    pub fn get(&self, path: &str) -> Option<&Value<'static>> {
        self.tree.get_value(path)
    }

    /// Integer setting, or `default` when unset or not an integer.
    pub fn get_int(&self, path: &str, default: i64) -> i64 {
        match self.get(path) {
            Some(Value::Int(i)) => *i,
            _ => default,
        }
    }

    /// Boolean setting. LVM2 (`config.c`, `_str_to_bool`) also accepts
    /// y/yes/on/true and n/no/off/false as strings.
    pub fn get_bool(&self, path: &str, default: bool) -> bool {
        match self.get(path) {
            Some(Value::Int(i)) => *i != 0,
            Some(Value::Str(s)) => match s.to_ascii_lowercase().as_str() {
                "y" | "yes" | "on" | "true" | "1" => true,
                "n" | "no" | "off" | "false" | "0" => false,
                _ => default,
            },
            _ => default,
        }
    }

    /// String setting, or `default` when unset or not a string.
    pub fn get_str(&self, path: &str, default: &str) -> String {
        match self.get(path) {
            Some(Value::Str(s)) => s.to_string(),
            _ => default.to_string(),
        }
    }

    /// String-list setting: an array of strings, or a single string taken
    /// as a one-element list (LVM2 accepts both). `None` when unset.
    pub fn get_str_list(&self, path: &str) -> Option<Vec<String>> {
        match self.get(path)? {
            Value::Str(s) => Some(vec![s.to_string()]),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|v| match v {
                        Value::Str(s) => Some(s.to_string()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    // ---- environment ----

    /// `LVM_SYSTEM_DIR` (default /etc/lvm): where lvm.conf, devices/ live.
    pub fn system_dir(&self) -> &Path {
        &self.system_dir
    }

    /// `DM_DEV_DIR` (default /dev).
    pub fn dev_dir(&self) -> &Path {
        &self.dev_dir
    }

    // ---- devices ----

    /// A setting that must be a list of strings (or one string), checked
    /// as LVM2 checks the device filters: a value of another type, or an
    /// empty list, is an error, never silently dropped (dropping a filter
    /// would open every device on the host). `None` when unset.
    pub fn strict_str_list(&self, path: &str) -> Result<Option<Vec<String>>, SettingError> {
        let wrong = |v: &Value| SettingError::WrongType {
            path: path.to_string(),
            found: match v {
                Value::Int(_) => "integer",
                Value::Float(_) => "float",
                Value::Str(_) => "string",
                Value::Array(_) => "array",
            },
        };
        let Some(v) = self.get(path) else {
            return Ok(None);
        };
        match v {
            Value::Str(s) => Ok(Some(vec![s.to_string()])),
            Value::Array(items) if items.is_empty() => Err(SettingError::EmptyList {
                path: path.to_string(),
            }),
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::Str(s) => Ok(s.to_string()),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            other => Err(wrong(other)),
        }
    }

    /// devices/filter (default `["a|.*|"]`).
    pub fn filter(&self) -> Result<Vec<String>, SettingError> {
        Ok(self
            .strict_str_list("devices/filter")?
            .unwrap_or_else(|| vec!["a|.*|".to_string()]))
    }

    /// devices/global_filter (default `["a|.*|"]`).
    pub fn global_filter(&self) -> Result<Vec<String>, SettingError> {
        Ok(self
            .strict_str_list("devices/global_filter")?
            .unwrap_or_else(|| vec!["a|.*|".to_string()]))
    }

    /// devices/scan: directories searched for device names (default /dev;
    /// LVM2 prefixes `DM_DEV_DIR` handling itself, we do the same by
    /// replacing a leading "/dev" with `dev_dir()`).
    pub fn scan_dirs(&self) -> Vec<PathBuf> {
        let dirs = self
            .get_str_list("devices/scan")
            .unwrap_or_else(|| vec!["/dev".to_string()]);
        dirs.iter().map(|d| self.under_dev_dir(d)).collect()
    }

    /// devices/scan_lvs (default 0).
    pub fn scan_lvs(&self) -> bool {
        self.get_bool("devices/scan_lvs", false)
    }

    /// Whether this command uses a devices file: `--devicesfile NAME`,
    /// or devices/use_devicesfile (upstream and Debian default 0; RHEL 9
    /// and Fedora ship 1) unless `--devicesfile ""` or `--devices` says
    /// otherwise. The file may not exist: see `scan`.
    pub fn use_devicesfile(&self) -> bool {
        match &self.devices {
            DeviceChoice::Config => self.get_bool("devices/use_devicesfile", false),
            DeviceChoice::File(_) => true,
            DeviceChoice::NoFile | DeviceChoice::List(_) => false,
        }
    }

    /// The devices file's name: `--devicesfile NAME`, else
    /// devices/devicesfile (default "system.devices").
    pub fn devicesfile(&self) -> String {
        match &self.devices {
            DeviceChoice::File(n) => n.clone(),
            _ => self.get_str("devices/devicesfile", "system.devices"),
        }
    }

    /// `<system_dir>/devices/<devicesfile>`.
    pub fn devicesfile_path(&self) -> PathBuf {
        self.system_dir.join("devices").join(self.devicesfile())
    }

    /// devices/hints (default "all").
    pub fn hints(&self) -> String {
        self.get_str("devices/hints", "all")
    }

    // ---- global ----

    /// global/locking_dir (default /run/lock/lvm).
    pub fn locking_dir(&self) -> PathBuf {
        PathBuf::from(self.get_str("global/locking_dir", "/run/lock/lvm"))
    }

    /// global/wait_for_locks (default 1).
    pub fn wait_for_locks(&self) -> bool {
        self.get_bool("global/wait_for_locks", true)
    }

    /// global/prioritise_write_locks (default 1).
    pub fn prioritise_write_locks(&self) -> bool {
        self.get_bool("global/prioritise_write_locks", true)
    }

    /// global/activation (default 1).
    pub fn activation(&self) -> bool {
        self.get_bool("global/activation", true)
    }

    /// global/etc (default /etc).
    pub fn etc_dir(&self) -> PathBuf {
        PathBuf::from(self.get_str("global/etc", "/etc"))
    }

    /// global/units (default "r").
    pub fn units(&self) -> String {
        self.get_str("global/units", "r")
    }

    /// global/suffix (default 1).
    pub fn suffix(&self) -> bool {
        self.get_bool("global/suffix", true)
    }

    /// global/system_id_source (default "none").
    pub fn system_id_source(&self) -> String {
        self.get_str("global/system_id_source", "none")
    }

    /// This host's system ID and extra system IDs (lvmsystemid(7)), with
    /// the warnings to print. The sources are LVM2's: `none`, `lvmlocal`
    /// (local/system_id), `uname` (the host name), `machineid`
    /// (/etc/machine-id), `file` (first line of global/system_id_file).
    /// `appmachineid` (a hash of the machine ID rlvm does not compute) and
    /// unknown sources leave the host without a system ID, so that VGs
    /// with one are foreign and never written.
    pub fn host_id(&self) -> (crate::metadata::store::HostId, Vec<String>) {
        use crate::metadata::names::system_id_from_string;
        let mut warnings = Vec::new();
        let first_line = |path: &Path| {
            super::files::read_text(path, MAX_SYSTEM_ID_FILE)
                .map(|t| t.lines().next().unwrap_or("").to_string())
        };
        let source = self.system_id_source();
        let raw: Option<String> = match source.as_str() {
            "none" | "" => None,
            "lvmlocal" => Some(self.get_str("local/system_id", "")),
            "uname" => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok()),
            "machineid" => match first_line(Path::new("/etc/machine-id")) {
                Ok(l) => Some(l),
                Err(e) => {
                    warnings.push(format!("No system ID found from machine-id: {e}"));
                    None
                }
            },
            "file" => {
                let f = self.get_str("global/system_id_file", "");
                if f.is_empty() {
                    warnings.push(
                        "global/system_id_file must be set with system_id_source file.".into(),
                    );
                    None
                } else {
                    match first_line(Path::new(&f)) {
                        Ok(l) => Some(l),
                        Err(e) => {
                            warnings.push(format!("No system ID found from file: {e}"));
                            None
                        }
                    }
                }
            }
            other => {
                warnings.push(format!(
                    "system_id_source \"{other}\" is not supported by rlvm: no local system ID."
                ));
                None
            }
        };
        let system_id = raw.as_deref().and_then(|r| {
            let id = system_id_from_string(r);
            if id.is_none() && !r.is_empty() {
                warnings.push(format!("Invalid system ID format: {r}"));
            }
            id
        });
        // The source gave nothing: VGs without a system ID stay usable,
        // those with one are foreign (LVM2's `_set_system_id`).
        if system_id.is_none() && !matches!(source.as_str(), "none" | "") {
            warnings.push(format!(
                "No system ID found from system_id_source {source}."
            ));
        }
        let extra = self
            .get_str_list("local/extra_system_ids")
            .unwrap_or_default()
            .iter()
            .filter_map(|s| system_id_from_string(s))
            .collect();
        (
            crate::metadata::store::HostId { system_id, extra },
            warnings,
        )
    }

    // ---- backup ----

    /// backup/backup (default 1).
    pub fn backup_enabled(&self) -> bool {
        self.get_bool("backup/backup", true)
    }

    /// backup/backup_dir (default `<system_dir>/backup`).
    pub fn backup_dir(&self) -> PathBuf {
        match self.get("backup/backup_dir") {
            Some(Value::Str(s)) => PathBuf::from(&**s),
            _ => self.system_dir.join("backup"),
        }
    }

    /// backup/archive (default 1).
    pub fn archive_enabled(&self) -> bool {
        self.get_bool("backup/archive", true)
    }

    /// backup/archive_dir (default `<system_dir>/archive`).
    pub fn archive_dir(&self) -> PathBuf {
        match self.get("backup/archive_dir") {
            Some(Value::Str(s)) => PathBuf::from(&**s),
            _ => self.system_dir.join("archive"),
        }
    }

    /// backup/retain_min (default 10).
    pub fn retain_min(&self) -> u32 {
        clamp_u32(self.get_int("backup/retain_min", 10))
    }

    /// backup/retain_days (default 30).
    pub fn retain_days(&self) -> u32 {
        clamp_u32(self.get_int("backup/retain_days", 30))
    }

    // ---- activation ----

    /// activation/polling_interval in seconds (default 15).
    pub fn polling_interval(&self) -> u32 {
        clamp_u32(self.get_int("activation/polling_interval", 15))
    }

    /// activation/udev_sync (default 1).
    pub fn udev_sync(&self) -> bool {
        self.get_bool("activation/udev_sync", true)
    }

    /// activation/udev_rules (default 1).
    pub fn udev_rules(&self) -> bool {
        self.get_bool("activation/udev_rules", true)
    }

    /// activation/volume_list; `None` when unset (everything allowed).
    pub fn volume_list(&self) -> Option<Vec<String>> {
        self.get_str_list("activation/volume_list")
    }

    /// activation/auto_activation_volume_list; `None` when unset.
    pub fn auto_activation_volume_list(&self) -> Option<Vec<String>> {
        self.get_str_list("activation/auto_activation_volume_list")
    }

    // ---- log ----

    /// log/prefix (default two spaces).
    pub fn log_prefix(&self) -> String {
        self.get_str("log/prefix", "  ")
    }

    /// log/verbose (default 0).
    pub fn log_verbose(&self) -> i64 {
        self.get_int("log/verbose", 0)
    }

    // ---- metadata ----

    /// metadata/pvmetadatacopies (default 1).
    pub fn pvmetadatacopies(&self) -> u32 {
        clamp_u32(self.get_int("metadata/pvmetadatacopies", 1))
    }

    /// metadata/pvmetadatasize in 512-byte sectors; `None` when unset or 0,
    /// meaning LVM2's automatic size.
    pub fn pvmetadatasize(&self) -> Option<u64> {
        match self.get_int("metadata/pvmetadatasize", 0) {
            n if n > 0 => Some(n as u64),
            _ => None,
        }
    }

    /// Map a configured "/dev/..." path under `DM_DEV_DIR`, as LVM2 does
    /// for device names when DM_DEV_DIR is set.
    fn under_dev_dir(&self, p: &str) -> PathBuf {
        match p.strip_prefix("/dev") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                let mut out = self.dev_dir.clone().into_os_string();
                out.push(rest);
                PathBuf::from(out)
            }
            _ => PathBuf::from(p),
        }
    }
}

/// One configuration file parsed; `None` when it does not exist.
fn load_file(path: &Path) -> Result<Option<Section<'static>>, ConfError> {
    let text = match super::files::read_text(path, super::files::MAX_CONFIG_FILE) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(source) => {
            return Err(ConfError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    config::parse(&text)
        .map(|tree| Some(tree.into_owned()))
        .map_err(|source| ConfError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

/// The host's tags from a `tags` section (lvm.conf(5)): `hosttags = 1`
/// tags the host with its name; each subsection names a tag (a leading
/// `@` dropped) that applies unless its `host_list` leaves this host out.
fn host_tags(conf: &Section) -> Vec<String> {
    let Some(tags) = conf.get_section("tags") else {
        return Vec::new();
    };
    let host = || {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (key, item) in &tags.items {
        match item {
            config::Item::Value(Value::Int(1)) if key == "hosttags" => out.push(host()),
            config::Item::Section(s) => {
                let tag = key.strip_prefix('@').unwrap_or(key);
                let listed = s
                    .get_str_list("host_list")
                    .is_none_or(|hosts| hosts.contains(&host().as_str()));
                if listed && !tag.is_empty() {
                    out.push(tag.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

fn env_path(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(default),
    }
}

fn clamp_u32(v: i64) -> u32 {
    v.clamp(0, u32::MAX as i64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: &Path, files: &[(&str, &str)], overrides: &[&str]) -> LvmConf {
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let ov: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        LvmConf::load_from(dir, Path::new("/dev"), &ov).unwrap()
    }

    #[test]
    fn missing_file_means_defaults() {
        let d = tempfile::tempdir().unwrap();
        let c = load(d.path(), &[], &[]);
        assert_eq!(c.filter().unwrap(), vec!["a|.*|"]);
        assert_eq!(c.scan_dirs(), vec![PathBuf::from("/dev")]);
        assert!(!c.scan_lvs());
        assert!(!c.use_devicesfile());
        assert_eq!(c.devicesfile(), "system.devices");
        assert_eq!(c.locking_dir(), PathBuf::from("/run/lock/lvm"));
        assert_eq!(c.backup_dir(), d.path().join("backup"));
        assert_eq!(c.archive_dir(), d.path().join("archive"));
        assert_eq!((c.retain_min(), c.retain_days()), (10, 30));
        assert_eq!(c.polling_interval(), 15);
        assert!(c.udev_sync() && c.udev_rules() && c.activation());
        assert_eq!(c.units(), "r");
        assert_eq!(c.log_prefix(), "  ");
        assert_eq!(c.pvmetadatacopies(), 1);
        assert_eq!(c.pvmetadatasize(), None);
        assert_eq!(c.volume_list(), None);
    }

    #[test]
    fn local_overrides_main_and_config_overrides_both() {
        let d = tempfile::tempdir().unwrap();
        let c = load(
            d.path(),
            &[
                (
                    "lvm.conf",
                    "global {\n locking_dir = \"/a\"\n units = \"g\"\n}\n\
                     devices { filter = [ \"a|^/dev/loop|\", \"r|.*|\" ] scan_lvs = 1 }\n",
                ),
                ("lvmlocal.conf", "global { units = \"m\" }\n"),
            ],
            &["global/locking_dir=\"/b\"", "backup { retain_min = 3 }"],
        );
        assert_eq!(c.locking_dir(), PathBuf::from("/b"));
        assert_eq!(c.units(), "m");
        assert_eq!(c.filter().unwrap(), vec!["a|^/dev/loop|", "r|.*|"]);
        assert!(c.scan_lvs());
        assert_eq!(c.retain_min(), 3);
        assert_eq!(c.retain_days(), 30);
    }

    #[test]
    fn single_string_filter_and_bool_words() {
        let d = tempfile::tempdir().unwrap();
        let c = load(
            d.path(),
            &[],
            &["devices/global_filter=\"r|sda|\"", "global/suffix=\"no\""],
        );
        assert_eq!(c.global_filter().unwrap(), vec!["r|sda|"]);
        assert!(!c.suffix());
    }

    #[test]
    fn dev_dir_applies_to_scan_dirs() {
        let c = LvmConf::defaults(Path::new("/etc/lvm"), Path::new("/tmp/fake/dev"));
        assert_eq!(c.scan_dirs(), vec![PathBuf::from("/tmp/fake/dev")]);
    }

    #[test]
    fn parse_error_then_the_file_and_exit_4() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("lvm.conf");
        std::fs::write(&path, "global { units = \n").unwrap();
        let e = LvmConf::load_from(d.path(), Path::new("/dev"), &[]).unwrap_err();
        let msg = e.to_string();
        let lines: Vec<&str> = msg.lines().collect();
        assert_eq!(lines.len(), 2, "{msg}");
        assert!(lines[0].starts_with("Parse error at line 2"), "{msg}");
        assert_eq!(
            lines[1],
            format!("  Failed to load config file {}", path.display())
        );
        assert!(e.is_init_failure());
        std::fs::write(&path, "global { units = \"h\" }\n").unwrap();
        let e = LvmConf::load_from(d.path(), Path::new("/dev"), &["x {".into()]);
        assert!(e.is_err_and(|e| !e.is_init_failure()));
    }

    #[test]
    fn host_lvm_conf_loads() {
        // Debian's lvm.conf has every setting commented out: all defaults.
        let dir = Path::new(DEFAULT_SYSTEM_DIR);
        if !dir.join("lvm.conf").exists() {
            return;
        }
        let c = LvmConf::load_from(dir, Path::new("/dev"), &[]).unwrap();
        assert_eq!(c.locking_dir(), PathBuf::from("/run/lock/lvm"));
        assert_eq!(c.backup_dir(), dir.join("backup"));
    }
}
