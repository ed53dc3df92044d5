//! What every command shares: the common options, the command context
//! (configuration, scan, locks, load/commit of a VG), messages in LVM2's
//! style and the error type that maps to LVM2's exit codes.

use std::ffi::OsString;
use std::fmt::Display;

use clap::{Args, Parser};

use crate::metadata::store::{self, FileOpener, Scan, VgHandle};
use crate::system::hints::{self, Hints};
use crate::system::lock::{self, LockGuard};
use crate::system::lvmconf::{DeviceChoice, LvmConf};
use crate::system::scan;

use super::{EXIT_FAILED, EXIT_INIT_FAILED, EXIT_OK, EXIT_USAGE};

/// A command's failure: a bad command line (exit 3) or a failed command
/// (exit 5). The message is printed once, on stderr, in LVM2's style.
#[derive(Debug)]
pub enum CmdError {
    Usage(String),
    /// An option value that does not parse: LVM2 reports it while parsing
    /// the command line ("Invalid argument for --size: 4X"), exit 3.
    BadArg(String),
    Failed(String),
    /// The command could not start (lvm.conf unreadable or unparsable):
    /// LVM2's `EINIT_FAILED`, exit 4.
    InitFailed(String),
    /// clap's own report (help, version, usage errors).
    Clap(clap::Error),
}

impl CmdError {
    pub fn report(&self) -> i32 {
        match self {
            CmdError::Usage(m) => {
                eprintln!("  {m}");
                EXIT_USAGE
            }
            CmdError::BadArg(m) => {
                eprintln!("  {m}");
                eprintln!("  Error during parsing of command line.");
                EXIT_USAGE
            }
            CmdError::Failed(m) => {
                if !m.is_empty() {
                    eprintln!("  {m}");
                }
                EXIT_FAILED
            }
            CmdError::InitFailed(m) => {
                eprintln!("  {m}");
                EXIT_INIT_FAILED
            }
            CmdError::Clap(e) => {
                let _ = e.print();
                if e.use_stderr() {
                    EXIT_USAGE
                } else {
                    EXIT_OK
                }
            }
        }
    }
}

impl From<crate::ops::OpsError> for CmdError {
    fn from(e: crate::ops::OpsError) -> Self {
        CmdError::Failed(e.to_string())
    }
}

/// LVM2's refusal of a change to a VG with missing PVs by a command that
/// does not handle them (lvcreate, lvrename, ...).
fn refuse_missing(h: &VgHandle) -> Result<(), CmdError> {
    if h.missing.is_empty() {
        return Ok(());
    }
    let name = &h.vg.name;
    Err(CmdError::Failed(format!(
        "Cannot change VG {name} while PVs are missing.\n  See vgreduce --removemissing and vgextend --restoremissing.\n  Cannot process volume group {name}"
    )))
}

/// A VG that cannot be read for a command: LVM2 adds "Cannot process
/// volume group X" when it is not there at all.
pub fn vg_read_failed(e: store::StoreError) -> CmdError {
    match &e {
        store::StoreError::VgNotFound(name) => {
            CmdError::Failed(format!("{e}\n  Cannot process volume group {name}"))
        }
        _ => failed(e),
    }
}

/// `.map_err(failed)`: any lower-layer error becomes a failed command.
pub fn failed<E: Display>(e: E) -> CmdError {
    CmdError::Failed(e.to_string())
}

/// `.map_err(bad_arg("--size", value))`: a value of option `opt` that does
/// not parse, reported as LVM2 does.
pub fn bad_arg<E: Display>(opt: &str, value: &str) -> impl FnOnce(E) -> CmdError {
    let opt = opt.to_string();
    let value = value.to_string();
    move |e| {
        let line = format!("Invalid argument for {opt}: {value}");
        let why = e.to_string();
        // Some reasons are that very line: say it once, as LVM2 does.
        CmdError::BadArg(if why == line {
            line
        } else {
            format!("{why}\n  {line}")
        })
    }
}

pub fn usage(msg: impl Into<String>) -> CmdError {
    CmdError::Usage(msg.into())
}

/// Options every LVM2 command accepts.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Set verbose level (repeat for more).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Suppress output and log messages.
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Run in test mode: nothing on disk or in the kernel is changed.
    #[arg(short = 't', long = "test")]
    pub test: bool,
    /// Config settings overriding lvm.conf, in lvm.conf syntax.
    #[arg(long = "config", value_name = "STRING")]
    pub config: Vec<String>,
    /// Debug level (accepted for compatibility).
    #[arg(short = 'd', long = "debug", action = clap::ArgAction::Count)]
    pub debug: u8,
    /// Do not ask for confirmation; answer yes.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// Accepted for compatibility: whether device-mapper is loaded.
    #[arg(long = "driverloaded", value_name = "y|n")]
    pub driverloaded: Option<String>,
    /// Do not synchronise with udev.
    #[arg(long = "noudevsync")]
    pub noudevsync: bool,
    /// Do not use the hints file (accepted: rlvm scans every device).
    #[arg(long = "nohints")]
    pub nohints: bool,
    /// Use a different lvm.conf profile (accepted, ignored).
    #[arg(long = "commandprofile", value_name = "String")]
    pub commandprofile: Option<String>,
    /// Use this devices file (in <system_dir>/devices) instead of the one
    /// in lvm.conf; "" uses no devices file.
    #[arg(id = "common_devicesfile", long = "devicesfile", value_name = "String")]
    pub devicesfile: Option<String>,
    /// Use only these devices (comma-separated, or the option repeated),
    /// and no devices file.
    #[arg(id = "common_devices", long = "devices", value_name = "PV")]
    pub devices: Vec<String>,
}

impl CommonArgs {
    /// The device choice `--devicesfile` and `--devices` make, checked as
    /// LVM2 checks them while parsing the command line (exit 3).
    fn device_choice(&self) -> Result<DeviceChoice, CmdError> {
        let file = match self.devicesfile.as_deref() {
            None => None,
            Some("") => Some(DeviceChoice::NoFile),
            Some(n) if crate::metadata::names::check_name(n).is_ok() => {
                Some(DeviceChoice::File(n.to_string()))
            }
            Some(_) => return Err(usage("Invalid devices file name.")),
        };
        if self.devices.is_empty() {
            return Ok(file.unwrap_or_default());
        }
        if matches!(file, Some(DeviceChoice::File(_))) {
            return Err(usage("A --devices list cannot be used with --devicesfile."));
        }
        Ok(DeviceChoice::List(
            self.devices
                .iter()
                .flat_map(|d| d.split(','))
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect(),
        ))
    }
}

/// The command being run, as LVM2's `cmd->name`: the name rlvm was
/// called by, or its first argument when called as rlvm or lvm.
fn command_name() -> String {
    let mut args = std::env::args();
    let first = args.next().unwrap_or_default();
    let base = std::path::Path::new(&first)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base == "rlvm" || base == "lvm" {
        args.next().unwrap_or_default()
    } else {
        base
    }
}

/// For hint validation: whether a PV of VG `vg` has UUID `pvid`.
fn pv_in_vg(found: &Scan) -> impl Fn(&str, &str) -> bool + '_ {
    move |vg, pvid| {
        found
            .pvs
            .iter()
            .any(|p| p.id().as_raw_str() == pvid && p.vg().is_some_and(|v| v.name == vg))
    }
}

/// For hint validation: the PV UUID the scan read on a device.
fn pvid_on_dev(found: &Scan) -> impl Fn(&str) -> Option<String> + '_ {
    move |path| {
        let pv = found.pvs.iter().find(|p| p.path == path).map(|p| p.id());
        pv.or_else(|| {
            found
                .duplicates
                .iter()
                .find(|d| d.unused == path)
                .map(|d| d.id)
        })
        .map(|id| id.as_raw_str().to_string())
    }
}

/// Parses a command's arguments with clap, mapping clap's errors to
/// LVM2's exit codes (help → 0, bad usage → 3).
pub fn parse<T: Parser>(name: &str, args: Vec<OsString>) -> Result<T, CmdError> {
    let mut argv = args;
    if argv.is_empty() {
        argv.push(name.into());
    } else {
        argv[0] = name.into();
    }
    // LVM2 parses with getopt_long: an option that takes a value takes
    // the next word whatever it starts with (`--addtag -t` adds the tag
    // "-t", `-n -lv` is the invalid LV name "-lv", `-p -r` an invalid
    // permission), so the value's own check decides, not the parser.
    let mut cmd = T::command().name(name.to_string()).mut_args(|a| {
        if !a.is_positional() && a.get_action().takes_values() {
            a.allow_hyphen_values(true)
        } else {
            a
        }
    });
    let matches = cmd
        .try_get_matches_from_mut(argv)
        .map_err(|e| clap_error(&cmd, e))?;
    let parsed = T::from_arg_matches(&matches).map_err(CmdError::Clap);
    crate::metadata::phase::mark("args");
    parsed
}

/// clap's refusals that LVM2 words its own way: a value its type does
/// not take ("Invalid argument for --stripes: -1") and an option given
/// twice ("Option -a/--activate may not be repeated."), both reported as
/// errors while parsing the command line (exit 3).
fn clap_error(cmd: &clap::Command, e: clap::Error) -> CmdError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    // "--stripes <STRIPES>" → the option as LVM2 names it.
    let option = context(ContextKind::InvalidArg)
        .and_then(|a| a.split_whitespace().next().map(str::to_string));
    let Some(option) = option.filter(|o| o.starts_with("--")) else {
        return CmdError::Clap(e);
    };
    match e.kind() {
        ErrorKind::ValueValidation | ErrorKind::InvalidValue => {
            match context(ContextKind::InvalidValue) {
                Some(v) => CmdError::BadArg(format!("Invalid argument for {option}: {v}")),
                None => CmdError::Clap(e),
            }
        }
        ErrorKind::ArgumentConflict
            if context(ContextKind::PriorArg)
                .is_some_and(|p| p.split_whitespace().next() == Some(option.as_str())) =>
        {
            let short = cmd
                .get_arguments()
                .find(|a| a.get_long() == option.strip_prefix("--"))
                .and_then(|a| a.get_short());
            let name = match short {
                Some(c) => format!("-{c}/{option}"),
                None => option,
            };
            CmdError::BadArg(format!("Option {name} may not be repeated."))
        }
        _ => CmdError::Clap(e),
    }
}

/// Settings LVM2 checks when it loads its configuration
/// (`_process_config` in toolcontext.c): an invalid one stops every
/// command before it starts.
fn check_settings(conf: &LvmConf) -> Result<(), CmdError> {
    let units = conf.units();
    if crate::report::Units::parse(&units).is_err() {
        let msg = format!("Unrecognised configuration setting for global/units: {units}");
        return Err(if conf.override_tree().is_some() {
            CmdError::Failed(format!("{msg}\n  Updated config file invalid. Aborting."))
        } else {
            CmdError::InitFailed(msg)
        });
    }
    Ok(())
}

/// Restore the default SIGPIPE action so `rlvm lvs | head` ends quietly
/// instead of failing with "broken pipe" (ripgrep does the same).
pub fn reset_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_DFL at start-up, before
    // any thread exists, has no memory-safety implications.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The context of one command run.
pub struct Ctx {
    pub conf: LvmConf,
    pub common: CommonArgs,
    /// This host's system ID(s): VGs of other hosts are foreign.
    pub host: store::HostId,
    prefix: String,
    /// `-K|--ignoreactivationskip` of lvchange/vgchange, for the
    /// activation filter.
    pub ignore_activation_skip: std::cell::Cell<bool>,
    /// `--sysinit` / `--ignorelockingfailure`: a shared VG lock that
    /// cannot be taken (a read-only locking_dir at boot) is not needed
    /// (LVM2's `_file_locking_failed` in lib/locking/locking.c).
    pub ignore_lock_failure: std::cell::Cell<bool>,
    /// Scan warnings already printed: a command that scans more than
    /// once (to list VGs, then to work on each) says each once, as LVM2.
    warned: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// The devices the last scan enumerated (sysfs, filters): a command
    /// that scans to pick its VGs, then again under each VG's lock, walks
    /// sysfs once, as LVM2 builds its device cache once per command. The
    /// labels and metadata are always read again. Forgotten at each
    /// commit (vgcreate and vgextend change the devices file).
    devices: std::cell::RefCell<Option<Vec<scan::ScanDev>>>,
    /// The PVs the last scan found: the next scan (under a VG's lock)
    /// takes from them each metadata area whose header is unchanged, so a
    /// copy is read and checked once per command (`store::scan_reusing`).
    last_pvs: std::cell::RefCell<Vec<store::PvInfo>>,
    /// The dm devices as the last scan listed them (one DM_LIST_DEVICES),
    /// for [`Ctx::take_scan_listing`]; `None` after a rescan that made no
    /// listing.
    dm_listed: std::cell::RefCell<Option<Vec<crate::dm::ioctl::Listed>>>,
}

impl Ctx {
    pub fn new(common: &CommonArgs) -> Result<Ctx, CmdError> {
        let choice = common.device_choice()?;
        let mut conf = LvmConf::load(&common.config).map_err(|e| {
            if e.is_init_failure() {
                CmdError::InitFailed(e.to_string())
            } else {
                usage(e.to_string())
            }
        })?;
        crate::metadata::phase::mark("conf-read");
        check_settings(&conf)?;
        conf.set_devices(choice, &command_name());
        let prefix = conf.log_prefix();
        let (host, mut host_warnings) = conf.host_id();
        if !nix::unistd::geteuid().is_root() {
            host_warnings.insert(
                0,
                "Running as a non-root user. Functionality may be unavailable.".to_string(),
            );
        }
        let ctx = Ctx {
            conf,
            common: common.clone(),
            host,
            prefix,
            warned: Default::default(),
            devices: Default::default(),
            last_pvs: Default::default(),
            dm_listed: Default::default(),
            ignore_activation_skip: Default::default(),
            ignore_lock_failure: Default::default(),
        };
        if ctx.locking_disabled() {
            ctx.warn("locking_type (0) is deprecated, using --nolocking.");
            ctx.warn("File locking is disabled.");
        }
        for w in host_warnings {
            ctx.warn(w);
        }
        if let (_, Some(w)) = crate::system::blocksize::pv_min_size_kib(&ctx.conf) {
            ctx.error(w);
        }
        if ctx.common.test {
            ctx.print(
                "TEST MODE: Metadata will NOT be updated and volumes will not be (de)activated.",
            );
        }
        crate::metadata::phase::mark("ctx");
        Ok(ctx)
    }

    /// A normal message on stdout (suppressed by -q).
    pub fn print(&self, msg: impl Display) {
        if self.common.quiet == 0 {
            println!("{}{msg}", self.prefix);
        }
    }
    /// Report output, which the report engine lays out with LVM2's default
    /// two-space prefix: each line gets `log/prefix` instead, as in LVM2.
    /// Written in one go (stdout flushes at every line: 1000 rows were
    /// 1000 writes), flushed before it returns so that what goes to stderr
    /// after it still comes after it.
    pub fn print_lines(&self, text: &str) {
        use std::io::Write;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        for line in text.lines() {
            let _ = match line.strip_prefix("  ") {
                Some(body) => writeln!(out, "{}{body}", self.prefix),
                None => writeln!(out, "{line}"),
            };
        }
        let _ = out.flush();
    }
    /// A warning on stderr.
    pub fn warn(&self, msg: impl Display) {
        if self.common.quiet == 0 {
            eprintln!("{}WARNING: {msg}", self.prefix);
        }
    }
    /// An error line on stderr (for commands that go on after one).
    pub fn error(&self, msg: impl Display) {
        let msg = msg.to_string();
        // An empty message is an error already reported.
        if !msg.is_empty() {
            eprintln!("{}{msg}", self.prefix);
        }
    }
    /// A verbose message (-v).
    pub fn verbose(&self, level: u8, msg: impl Display) {
        if self.common.verbose >= level {
            eprintln!("{}{msg}", self.prefix);
        }
    }

    /// The dm devices as this command's last scan listed them, once: for
    /// a command that scanned under its VG's lock and has changed nothing
    /// in the kernel since, the listing its first kernel step would make
    /// again (`ops::lv::create`). `None` if that scan made no listing.
    pub fn take_scan_listing(&self) -> Option<Vec<crate::dm::ioctl::Listed>> {
        self.dm_listed.borrow_mut().take()
    }

    /// Scans every device the configuration lets LVM see.
    pub fn scan(&self) -> Result<Scan, CmdError> {
        crate::metadata::phase::mark("args-conf-lock");
        // Which dm devices are LVs, from one ioctl instead of a sysfs read
        // per device.
        let listed = crate::dm::kernel::list_dm_devices();
        if let Some(listed) = &listed {
            scan::seed_dm(
                listed
                    .iter()
                    .map(|(name, dev, uuid)| {
                        let (kname, major) = crate::dm::kernel::kernel_name(*dev);
                        let (name, uuid) = (name.clone(), uuid.clone());
                        (kname, scan::SeededDm { name, major, uuid })
                    })
                    .collect(),
            );
        }
        *self.dm_listed.borrow_mut() = listed;
        crate::metadata::phase::mark("scan-dm-list");
        let devs = scan::candidate_devices(&self.conf).map_err(failed)?;
        crate::metadata::phase::mark("scan-judged");
        self.scan_devices(devs)
    }

    /// [`Ctx::scan`] of the devices the last scan enumerated, if no
    /// commit came since and LVs are not scanned (an activation may add
    /// them): what a command reads under a VG's lock after it picked the VG.
    pub(super) fn rescan(&self) -> Result<Scan, CmdError> {
        // No enumeration here: nothing remembered from an earlier one is
        // used (the kernel may have changed since).
        scan::forget_dm_uuids();
        let known = self.devices.borrow().clone();
        match known {
            Some(devs) if !self.conf.scan_lvs() => {
                self.dm_listed.borrow_mut().take();
                // The device-mismatch check after the read wants every dm
                // device's UUID: from one listing, as after a scan, not a
                // sysfs read per device (100 active LVs: ~40 ms of
                // `vgchange -an` in the test VM).
                if let Some(listed) = crate::dm::kernel::list_dm_devices() {
                    scan::remember_listed_dm_uuids(
                        listed
                            .into_iter()
                            .filter_map(|(_, dev, uuid)| {
                                Some((crate::dm::kernel::kernel_name(dev).0, uuid?))
                            })
                            .collect(),
                    );
                }
                self.scan_devices(devs)
            }
            _ => self.scan(),
        }
    }

    fn scan_devices(&self, devs: Vec<scan::ScanDev>) -> Result<Scan, CmdError> {
        let paths: Vec<String> = devs
            .iter()
            .map(|d| d.path.to_string_lossy().into_owned())
            .collect();
        let mut result = self.scan_with_hints(&devs, &paths);
        crate::metadata::phase::mark("scan-read-import");
        *self.devices.borrow_mut() = Some(devs);
        result.host = self.host.clone();
        result.check_dev_sizes = self.conf.get_bool("metadata/check_pv_device_sizes", true);
        if !result.vg_names().is_empty() {
            self.conf.note_vgs_seen();
        }
        let mismatches = self.device_mismatches(&result);
        scan::forget_dm_uuids();
        for w in result.warnings.iter().chain(&mismatches) {
            if self.warned.borrow_mut().insert(w.clone()) {
                self.warn(w);
            }
        }
        Ok(result)
    }

    /// Active LVs whose kernel devices sit on other devices than the PVs
    /// the scan found for them (a PV copied to another device, then
    /// selected with `--devices`): LVM2's warning from
    /// `_check_devs_used_correspond_with_vg` (metadata.c).
    fn device_mismatches(&self, found: &Scan) -> Vec<String> {
        use std::os::unix::fs::MetadataExt;
        let devno = |p: &str| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (libc::major(m.rdev()), libc::minor(m.rdev())))
        };
        let mut out = Vec::new();
        // The VGs' ids straight from the scan: loading a VG (a copy of its
        // metadata) is paid only for one with active LVs.
        let ids: std::collections::BTreeMap<String, String> = found
            .pvs
            .iter()
            .filter_map(|p| p.vg())
            .map(|v| (v.name.clone(), v.id.as_raw_str().to_string()))
            .collect();
        for (name, id) in ids {
            // The VG's PVs as the scan found them (no copy of the VG's
            // metadata is loaded for a VG whose LVs sit on them).
            let pvs: Vec<(u32, u32)> = found
                .pvs
                .iter()
                .filter(|p| p.vg().is_some_and(|v| v.name == name))
                .filter_map(|p| devno(&p.path))
                .collect();
            let used = scan::devices_used_by_vg(&self.conf, &id, &pvs);
            if used.is_empty() {
                continue;
            }
            let Ok(h) = found.vg(&name) else {
                continue;
            };
            let pv_devs: std::collections::BTreeMap<&str, (u32, u32)> = h
                .pv_paths
                .iter()
                .filter_map(|(k, p)| Some((k.as_str(), devno(p)?)))
                .collect();
            let is_pv = |d: (u32, u32)| pv_devs.values().any(|&v| v == d);
            if used.iter().all(|u| is_pv((u.major, u.minor))) {
                continue;
            }
            for lv in &h.vg.lvs {
                let lv_used: Vec<&scan::UsedDev> = used
                    .iter()
                    .filter(|u| u.lvid == lv.id.as_raw_str())
                    .collect();
                let accessing: Vec<&str> = lv_used
                    .iter()
                    .filter(|u| !is_pv((u.major, u.minor)))
                    .map(|u| u.name.as_str())
                    .collect();
                if accessing.is_empty() {
                    continue;
                }
                let mut assumed: Vec<&str> = Vec::new();
                for seg in &lv.segments {
                    let crate::metadata::model::SegmentKind::Striped { stripes, .. } = &seg.kind
                    else {
                        continue;
                    };
                    for area in stripes {
                        let (Some(path), Some(d)) =
                            (h.pv_paths.get(&area.pv), pv_devs.get(area.pv.as_str()))
                        else {
                            continue;
                        };
                        if !lv_used.iter().any(|u| (u.major, u.minor) == *d) {
                            assumed.push(path);
                        }
                    }
                }
                if !assumed.is_empty() {
                    out.push(format!(
                        "Device mismatch detected for {name}/{} which is accessing {} instead of {}.",
                        lv.name,
                        accessing.join(", "),
                        assumed.join(", ")
                    ));
                }
            }
        }
        out
    }

    /// Says that a foreign VG is skipped, as LVM2 does: only when this
    /// host has no system ID (with one, foreign VGs are ignored silently).
    pub fn foreign_skipped(&self, e: store::StoreError) {
        if self.host.system_id.is_none() {
            self.error(e);
        }
    }

    /// The VGs a command that names none works on: every VG it may use.
    /// Exported VGs are skipped silently; foreign ones too, unless
    /// `access.foreign` (`--foreign`), and likewise exported ones with
    /// `access.exported`. On a host without a system ID, LVM2 says it
    /// skips a foreign VG ("Cannot access VG ..."), not as a failure.
    pub fn unnamed_vgs(&self, scan: &Scan, access: store::Access) -> Vec<String> {
        let mut out = Vec::new();
        for name in scan.vg_names() {
            match scan.vg_with(&name, access) {
                Err(e @ store::StoreError::VgForeign { .. }) => self.foreign_skipped(e),
                Err(store::StoreError::VgExported(_)) => {}
                _ => out.push(name),
            }
        }
        out
    }

    /// Takes LVM2's lock on a VG (exclusive for a change, shared to read).
    /// A lock that cannot be taken at all (a user who may not write the
    /// lock directory) fails as in LVM2: the reason, then "Can't get lock
    /// for vg0." and "Cannot process volume group vg0".
    pub fn lock_vg(&self, vg: &str, exclusive: bool) -> Result<LockGuard, CmdError> {
        let not_held = || LockGuard::not_held(self.conf.locking_dir().join(format!("V_{vg}")));
        if self.locking_disabled() {
            return Ok(not_held());
        }
        let taken = lock::lock_vg(&self.conf, vg, exclusive);
        crate::metadata::phase::mark("locked");
        if let Err(e) = &taken {
            if e.is_unavailable() && !exclusive && self.ignore_lock_failure.get() {
                return Ok(not_held());
            }
        }
        taken.map_err(|e| {
            if e.is_unavailable() {
                CmdError::Failed(format!(
                    "{e}\n  Can't get lock for {vg}.\n  Cannot process volume group {vg}"
                ))
            } else {
                failed(e)
            }
        })
    }

    /// Reads VG `name` for a report under LVM2's shared VG lock, its
    /// devices re-read first: a reader never sees a commit half done
    /// ("ignoring metadata seqno" while a write commits). The outer error
    /// is the lock's; the inner one the read's.
    pub fn read_vg_locked(
        &self,
        scan: &mut Scan,
        name: &str,
        access: store::Access,
    ) -> Result<Result<VgHandle, store::StoreError>, CmdError> {
        let _guard = self.lock_vg(name, false)?;
        scan.rescan_vg(&FileOpener, name);
        Ok(scan.vg_with(name, access))
    }
    /// The global lock. Taken exclusively, the command is about to change
    /// which devices are PVs or which VG names exist: it empties the device
    /// hints first, as LVM2's `clear_hint_file` does.
    pub fn lock_global(&self, exclusive: bool) -> Result<LockGuard, CmdError> {
        let guard = if self.locking_disabled() {
            LockGuard::not_held(self.conf.locking_dir().join("P_global"))
        } else {
            lock::lock_global(&self.conf, exclusive).map_err(failed)?
        };
        if exclusive && self.hints_enabled() {
            Hints::default().clear(&command_name());
        }
        Ok(guard)
    }

    /// devices/hints is not "none".
    fn hints_enabled(&self) -> bool {
        self.conf.hints() != "none"
    }

    /// What the device hints depend on, for this command and devices.
    fn hint_settings(&self, paths: &[String]) -> hints::Settings {
        let joined = |key: &str| match self.conf.get_str_list(key) {
            Some(l) if !l.is_empty() => l.concat(),
            _ => "-".to_string(),
        };
        hints::Settings {
            global_filter: joined("devices/global_filter"),
            filter: joined("devices/filter"),
            scan_lvs: self.conf.scan_lvs(),
            devices_file: if self.conf.use_devicesfile() {
                self.conf.devicesfile()
            } else {
                ".".to_string()
            },
            devs_hash: hints::Settings::hash_devices(paths.iter().map(String::as_str)),
        }
    }

    /// Whether this command reads and refreshes the device hints: a
    /// hint-using command (not `pvs -a`/`pvdisplay -a`, not `--nohints`,
    /// not with `--devices` or `--devicesfile`).
    fn uses_hints(&self) -> bool {
        let name = command_name();
        if !self.hints_enabled()
            || self.common.nohints
            || !matches!(self.conf.device_choice(), DeviceChoice::Config)
            || !hints::USES_HINTS.contains(&name.as_str())
        {
            return false;
        }
        let all = std::env::args().any(|a| {
            a == "--all"
                || (a.starts_with('-')
                    && !a.starts_with("--")
                    && a.len() <= 4
                    && a.contains('a')
                    && !a.contains(['o', 'O', 'S', 's']))
        });
        !(all && (name == "pvs" || name == "pvdisplay"))
    }

    /// The label scan, keeping LVM2's device hints (`system/hints.rs`) as
    /// a hint-using LVM2 command does: rewritten when stale, `newhints`
    /// created when they disagree with the scan. rlvm itself always reads
    /// every device.
    fn scan_with_hints(&self, devs: &[scan::ScanDev], paths: &[String]) -> Scan {
        if !self.uses_hints() {
            return self.read_devices(paths);
        }
        let h = Hints::default();
        let settings = self.hint_settings(paths);
        let plan = h.plan(&settings);
        let mut found = self.read_devices(paths);
        match plan {
            hints::Plan::Use(list) => {
                let hinted = |p: &str| list.iter().any(|h| h.path == p);
                // LVM2 reads only the hinted devices: a copy of a hinted PV
                // on a device the hints do not name (dd skirts hint
                // tracking) is never seen, so the hinted device is the PV,
                // whatever the scan order, and no duplicate is reported.
                let unseen: Vec<&str> = found
                    .duplicates
                    .iter()
                    .filter_map(|d| match (hinted(&d.used), hinted(&d.unused)) {
                        (false, true) => Some(d.used.as_str()),
                        (true, false) => Some(d.unused.as_str()),
                        _ => None,
                    })
                    .collect();
                if !unseen.is_empty() {
                    let seen: Vec<String> = paths
                        .iter()
                        .filter(|p| !unseen.contains(&p.as_str()))
                        .cloned()
                        .collect();
                    found = self.read_devices(&seen);
                }
                // Duplicates LVM2 would have seen reading only the hinted
                // devices.
                let dups = found
                    .duplicates
                    .iter()
                    .any(|d| hinted(&d.used) && hinted(&d.unused));
                if !hints::valid(&list, &pvid_on_dev(&found), &pv_in_vg(&found), dups) {
                    h.touch_newhints();
                }
            }
            hints::Plan::Refresh(why) => self.write_hints(&h, why, devs, &settings, &found),
            hints::Plan::Ignore => {}
        }
        found
    }

    /// `store::scan_reusing` of `paths` with what the last scan found.
    fn read_devices(&self, paths: &[String]) -> Scan {
        let found = store::scan_reusing(&FileOpener, paths, &self.last_pvs.borrow());
        *self.last_pvs.borrow_mut() = found.pvs.clone();
        found
    }

    fn write_hints(
        &self,
        h: &Hints,
        why: hints::Refresh,
        devs: &[scan::ScanDev],
        settings: &hints::Settings,
        found: &Scan,
    ) {
        let list: Vec<hints::Hint> = devs
            .iter()
            .filter_map(|d| {
                let path = d.path.to_string_lossy();
                let pv = found.pvs.iter().find(|p| p.path == path)?;
                Some(hints::Hint {
                    path: pv.path.clone(),
                    pvid: pv.id().as_raw_str().to_string(),
                    devn: (d.major, d.minor),
                    vg: pv.vg().map(|v| v.name.clone()),
                })
            })
            .collect();
        let dups = !found.duplicates.is_empty();
        h.write(&command_name(), why, settings, &list, dups);
    }

    /// `pvscan --cache`: without devices it rewrites the hints from its
    /// full scan; with devices it has the next command refresh them.
    pub fn pvscan_hints(&self, found: &Scan, all_devices: bool) {
        if !self.hints_enabled() {
            return;
        }
        let h = Hints::default();
        if !all_devices {
            h.touch_newhints();
            return;
        }
        let Ok(devs) = scan::candidate_devices(&self.conf) else {
            return;
        };
        let paths: Vec<String> = devs
            .iter()
            .map(|d| d.path.to_string_lossy().into_owned())
            .collect();
        let settings = self.hint_settings(&paths);
        self.write_hints(&h, hints::Refresh::NewhintsFile, &devs, &settings, found);
    }

    /// `global/locking_type = 0`: LVM2 runs as with `--nolocking`.
    fn locking_disabled(&self) -> bool {
        self.conf.get_int("global/locking_type", 1) == 0
    }

    /// Locks and loads VG `name` for a change; the lock is held by the
    /// returned handle until it is dropped. A VG rlvm must not write
    /// (unsupported content, duplicate PVs, copies that disagree, missing
    /// PVs) is refused here, before any kernel or disk change.
    pub fn load_vg_for_update(&self, name: &str) -> Result<(VgHandle, LockGuard), CmdError> {
        let (handle, guard) = self.load_checked(name)?;
        refuse_missing(&handle)?;
        handle.check_consistent().map_err(failed)?;
        Ok((handle, guard))
    }

    /// `load_vg_for_update` for the changes LVM2 makes while PVs are
    /// missing (its commands that handle missing PVs: lvremove, lvchange,
    /// vgchange, vgremove): the metadata is written to the PVs present,
    /// the missing ones marked MISSING in it, as LVM2 writes it.
    pub fn load_vg_handling_missing(&self, name: &str) -> Result<(VgHandle, LockGuard), CmdError> {
        let (handle, guard) = self.load_checked(name)?;
        handle.check_consistent().map_err(failed)?;
        Ok((handle, guard))
    }

    /// `load_vg_for_update` for an explicit repair (`vgck
    /// --updatemetadata`): copies that disagree may be overwritten with
    /// the one read.
    pub fn load_vg_for_repair(&self, name: &str) -> Result<(VgHandle, LockGuard), CmdError> {
        let (mut handle, guard) = self.load_checked(name)?;
        refuse_missing(&handle)?;
        handle.allow_repair();
        Ok((handle, guard))
    }

    /// The checks every load shares.
    fn load_checked(&self, name: &str) -> Result<(VgHandle, LockGuard), CmdError> {
        let guard = self.lock_vg(name, true)?;
        let scan = self.rescan()?;
        let handle = scan.into_vg(name).map_err(vg_read_failed)?;
        for w in &handle.warnings {
            self.warn(w);
        }
        handle.vg.check_writable().map_err(failed)?;
        handle.check_no_duplicates().map_err(failed)?;
        Ok((handle, guard))
    }

    /// Commits the handle's (changed) VG to every metadata area, then
    /// writes the backup as LVM2 does. In test mode nothing is written.
    pub fn commit(&self, handle: &mut VgHandle, description: &str) -> Result<(), CmdError> {
        self.commit_between(handle, description, || Ok(()))
            .map_err(failed)?;
        self.record_devices(handle);
        self.backup(handle);
        Ok(())
    }

    /// vgcreate and vgextend list their PVs' devices in the devices file
    /// in use, as pvcreate does (LVM2's `pvcreate_each_device` then
    /// `device_ids_write`). A failure only warns: the VG is committed.
    fn record_devices(&self, handle: &VgHandle) {
        if self.common.test || !matches!(self.conf.command(), "vgcreate" | "vgextend") {
            return;
        }
        for (key, path) in &handle.pv_paths {
            let Some(info) = handle.pvs.get(key) else {
                continue;
            };
            let pvid = info.id();
            if let Err(e) = crate::system::devicesfile::add_device(
                &self.conf,
                std::path::Path::new(path),
                pvid.as_raw_str(),
            ) {
                self.warn(format!("Failed to add {path} to the devices file: {e}"));
            }
        }
    }

    /// `commit` in two halves around `between` (see
    /// `VgHandle::commit_around`): the archive, the precommit, `between`,
    /// the commit, the backup.
    fn commit_between(
        &self,
        handle: &mut VgHandle,
        description: &str,
        between: impl FnOnce() -> Result<(), crate::ops::OpsError>,
    ) -> Result<(), crate::ops::OpsError> {
        if self.common.test {
            return Ok(());
        }
        self.devices.borrow_mut().take();
        if self.conf.archive_enabled() {
            if let Some(old) = handle.committed_archive_text() {
                // A failed archive refuses the change (LVM2's `archive`;
                // `-An` turns archiving off for one command). Filed under
                // the name it was committed with (a vgrename's old name).
                crate::system::backup::write_archive(
                    &self.conf,
                    &handle.committed().name,
                    handle.committed_seqno(),
                    &old,
                )?;
            }
        }
        let old_id = handle.committed().id;
        handle.backup_ahead = self.conf.backup_enabled();
        let warnings = handle
            .commit_around(&FileOpener, description, between)
            .map_err(|e| match e {
                store::CommitError::Store(e) => e.into(),
                store::CommitError::Between(e) => e,
            })?;
        for w in warnings {
            self.warn(w);
        }
        if old_id != handle.vg.id {
            // vgchange --uuid: PVs stacked on this VG's LVs are listed in
            // the devices file by their LV's dm UUID, which holds the VG's
            // (LVM2's `device_id_update_vg_uuid`).
            if let Err(e) = crate::system::devicesfile::update_vg_uuid(
                &self.conf,
                old_id.as_raw_str(),
                handle.vg.id.as_raw_str(),
            ) {
                self.warn(format!("Failed to update the devices file: {e}"));
            }
        }
        // No backup here: an operation's devices may still be suspended
        // (the root filesystem, where the backup lives); `Storage::finished`
        // writes it once they are resumed.
        Ok(())
    }

    /// Opens device-mapper unless lvm.conf says `global/activation = 0`;
    /// `None` when the kernel has no device-mapper.
    pub fn dm(&self) -> Option<crate::ops::Dm> {
        if !self.conf.activation() {
            return None;
        }
        // --noudevsync only stops the waiting; udev's rules still make the
        // nodes (as with LVM2), so nodes are never made twice.
        crate::ops::Dm::open(crate::ops::dm::DmOptions {
            udev_rules: self.conf.udev_rules(),
            udev_sync: self.conf.udev_sync() && !self.common.noudevsync,
            test: self.common.test,
        })
    }

    /// `dm()`, or LVM2's error when activation is off or impossible.
    pub fn require_dm(&self) -> Result<crate::ops::Dm, CmdError> {
        if !self.conf.activation() {
            return Err(CmdError::Failed(
                "Activation is disabled by configuration (global/activation = 0).".into(),
            ));
        }
        self.dm().ok_or_else(|| {
            CmdError::Failed(
                "Failure to communicate with kernel device-mapper driver.\n  Check that device-mapper is available in the kernel.".into(),
            )
        })
    }

    /// Writes `/etc/lvm/backup/<vg>` from the committed metadata.
    pub fn backup(&self, handle: &VgHandle) {
        crate::metadata::phase::mark("before-backup");
        if !self.conf.backup_enabled() || self.common.test {
            return;
        }
        if let Some(text) = handle.committed_file_text() {
            crate::metadata::phase::mark("backup-text");
            if let Err(e) = crate::system::backup::write_backup(&self.conf, &handle.vg.name, &text)
            {
                self.warn(format!(
                    "Failed to write backup of volume group {}: {e}",
                    handle.vg.name
                ));
            }
            crate::metadata::phase::mark("backup-written");
        }
    }
}

/// Operations commit through the command's store: archive, backup and
/// test mode as configured.
impl crate::ops::Storage for Ctx {
    fn commit_around(
        &self,
        h: &mut VgHandle,
        between: &mut dyn FnMut() -> Result<(), crate::ops::OpsError>,
    ) -> Result<(), crate::ops::OpsError> {
        self.commit_between(h, &store::command_line(), between)
    }

    fn finished(&self, h: &VgHandle) {
        self.backup(h);
    }
}

/// How an LV argument splits under LVM2's rules (`skip_dev_dir` and
/// `_extract_vgname` in tools/toollib.c): leading slashes collapse, a
/// `/dev/` prefix (then any slashes) is dropped, and what is left must be
/// VG, one run of slashes, LV, with no slash after it. The LV may be
/// empty (`vg0/`): commands say so each in their own words.
#[derive(Debug, PartialEq, Eq)]
pub enum LvArg {
    Lv(String, String),
    /// Not a path LVM2 accepts (`vg0/a/`, `/rvg/lv1`).
    Invalid,
}

pub fn split_lv_arg(arg: &str) -> Result<LvArg, CmdError> {
    let mut rest = arg;
    if rest.starts_with('/') {
        rest = &rest[rest.len() - rest.trim_start_matches('/').len() - 1..];
    }
    if let Some(r) = rest.strip_prefix("/dev/") {
        rest = r.trim_start_matches('/');
        if rest.starts_with("mapper/") {
            // dm names decode as before (doubled hyphens, layers refused).
            return Ok(lv_path(arg).map_or(LvArg::Invalid, |(v, l)| LvArg::Lv(v, l)));
        }
    }
    let Some(pos) = rest.find('/') else {
        // No slash: an LV of $LVM_VG_NAME.
        let (v, l) = lv_path(arg).map_err(|e| usage(e.to_string()))?;
        return Ok(LvArg::Lv(v, l));
    };
    let lv = rest[pos..].trim_start_matches('/');
    if lv.contains('/') {
        return Ok(LvArg::Invalid);
    }
    Ok(LvArg::Lv(rest[..pos].to_string(), lv.to_string()))
}

fn lv_path(arg: &str) -> Result<(String, String), crate::metadata::names::NameError> {
    let default_vg = std::env::var("LVM_VG_NAME").ok();
    crate::metadata::names::split_lv_path(arg, default_vg.as_deref())
}

fn invalid_lv_path(arg: &str) -> String {
    crate::metadata::names::NameError::InvalidLvPath(arg.to_string()).to_string()
}

/// An LV argument of a command that processes each LV it is given (lvs,
/// lvdisplay, lvchange, lvremove, lvconvert): LVM2 finds a bad path or an
/// empty LV name while processing, not while parsing, so both fail the
/// command (exit 5), never a command-line error. `LVM_VG_NAME` supplies a
/// default VG for a bare LV name.
pub fn lv_arg(arg: &str) -> Result<(String, String), CmdError> {
    match split_lv_arg(arg)? {
        LvArg::Invalid => Err(CmdError::Failed(invalid_lv_path(arg))),
        LvArg::Lv(v, l) if l.is_empty() => Err(CmdError::Failed(format!(
            "Failed to find logical volume \"{v}/\""
        ))),
        LvArg::Lv(v, l) => Ok((v, l)),
    }
}

/// An LV argument that LVM2 checks while parsing the command line
/// (lvcreate's origin, lvrename's names): a bad path is a command-line
/// error (exit 3). The LV name may be empty: the caller says why that is
/// wrong for it.
pub fn lv_arg_cmdline(arg: &str) -> Result<(String, String), CmdError> {
    match split_lv_arg(arg)? {
        LvArg::Invalid => Err(usage(invalid_lv_path(arg))),
        LvArg::Lv(v, l) => Ok((v, l)),
    }
}

/// Strips a leading `/dev/` from a VG argument (`vgs /dev/vg0` works in LVM2).
pub fn vg_arg(arg: &str) -> String {
    let a = arg.trim_end_matches('/');
    a.strip_prefix("/dev/").unwrap_or(a).to_string()
}

/// A VG argument of a command that takes VGs only (vgs, vgremove,
/// vgchange, ...): a leading `/dev/` is dropped, any other `/` is a
/// command-line error, as LVM2's `_process_each_vg` arguments check says
/// ("Invalid volume group name vg0/.", exit 3).
pub fn vg_name_arg(arg: &str) -> Result<String, CmdError> {
    let a = arg.strip_prefix("/dev/").unwrap_or(arg);
    if a.contains('/') {
        return Err(usage(format!("Invalid volume group name {a}.")));
    }
    Ok(a.to_string())
}

/// [`vg_name_arg`] for each argument, duplicates dropped.
pub fn vg_name_args(args: &[String]) -> Result<Vec<String>, CmdError> {
    let mut names: Vec<String> = Vec::new();
    for a in args {
        let n = vg_name_arg(a)?;
        if !names.contains(&n) {
            names.push(n);
        }
    }
    Ok(names)
}

/// The VG argument of `lvcreate VG` (not a snapshot): LVM2 wants a plain
/// VG name there ("Volume group name expected (no slash)", exit 3).
pub fn lvcreate_vg_arg(arg: &str) -> Result<String, CmdError> {
    let a = arg.strip_prefix("/dev/").unwrap_or(arg);
    if a.contains('/') {
        return Err(usage("Volume group name expected (no slash)"));
    }
    Ok(a.to_string())
}

/// A `--type` rlvm does not create: a command-line error (exit 3) for a
/// name LVM2 does not know either, as LVM2 reports it; a failed command
/// for a type LVM2 has and rlvm does not (thin, raid, ...).
pub fn unsupported_segtype(t: &str) -> CmdError {
    if crate::metadata::names::LVM2_SEGMENT_TYPES.contains(&t) {
        CmdError::Failed(format!("Segment type {t} is not supported by rlvm."))
    } else {
        CmdError::BadArg(format!(
            "WARNING: Unrecognised segment type {t}\n  Invalid argument for --type: {t}"
        ))
    }
}

/// Checks `--addtag`/`--deltag` values (a leading `@` is dropped, as LVM2
/// does) and returns them cleaned.
pub fn tag_args(opt: &str, tags: &[String]) -> Result<Vec<String>, CmdError> {
    tags.iter()
        .map(|t| crate::metadata::names::parse_tag_arg(opt, t).map_err(|e| usage(e.to_string())))
        .collect()
}

/// Adds and removes tags, keeping order and never duplicating one.
pub fn apply_tags(tags: &mut Vec<String>, add: &[String], del: &[String]) {
    for t in add {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    tags.retain(|t| !del.contains(t));
}

/// The name the scan knows device `dev` by: a symlink or another node of
/// the same device (`/dev/disk/by-id/...`) resolves to the scanned path,
/// so a PV is recognised whatever name it is given. A device the scan
/// did not see as a PV keeps the name it was given.
pub fn scan_name(dev: &scan::ScanDev, found: &Scan) -> String {
    use std::os::unix::fs::MetadataExt;
    let same = |p: &str| {
        std::fs::metadata(p)
            .is_ok_and(|m| libc::major(m.rdev()) == dev.major && libc::minor(m.rdev()) == dev.minor)
    };
    found
        .pvs
        .iter()
        .map(|p| p.path.as_str())
        .chain(found.duplicates.iter().map(|d| d.unused.as_str()))
        .find(|p| same(p))
        .map(str::to_string)
        .unwrap_or_else(|| dev.path.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(a: &str) -> LvArg {
        split_lv_arg(a).unwrap()
    }
    fn lv(v: &str, l: &str) -> LvArg {
        LvArg::Lv(v.into(), l.into())
    }

    #[test]
    fn lv_arguments_split_as_lvm2() {
        assert_eq!(split("vg0/a"), lv("vg0", "a"));
        assert_eq!(split("vg0//a"), lv("vg0", "a"));
        assert_eq!(split("//dev//vg0//a"), lv("vg0", "a"));
        assert_eq!(split("/dev/mapper/vg0-a--b"), lv("vg0", "a-b"));
        assert_eq!(split("vg0/"), lv("vg0", ""));
        assert_eq!(split("/dev/vg0//"), lv("vg0", ""));
        for bad in [
            "vg0/a/",
            "vg0/a//",
            "/rvg/lv1",
            "a/b/c",
            "/dev/mapper/vg0-a-real",
        ] {
            assert_eq!(split(bad), LvArg::Invalid, "{bad}");
        }
    }

    #[test]
    fn each_lv_commands_fail_where_parsers_refuse() {
        let code = |r: Result<(String, String), CmdError>| match r {
            Err(CmdError::Failed(m)) => (5, m),
            Err(CmdError::Usage(m)) => (3, m),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(lv_arg("vg0/")),
            (5, "Failed to find logical volume \"vg0/\"".into())
        );
        assert_eq!(
            code(lv_arg("vg0/a/")),
            (5, "\"vg0/a/\": Invalid path for Logical Volume.".into())
        );
        assert_eq!(
            code(lv_arg_cmdline("vg0/a/")),
            (3, "\"vg0/a/\": Invalid path for Logical Volume.".into())
        );
        assert_eq!(lv_arg_cmdline("vg0/").unwrap(), ("vg0".into(), "".into()));
    }

    #[derive(Parser, Debug)]
    struct Opts {
        #[arg(long = "addtag")]
        addtag: Vec<String>,
        #[arg(short = 'a', long = "activate")]
        activate: Option<String>,
        #[arg(short = 'i', long = "stripes")]
        stripes: Option<u32>,
        #[arg(short = 'y')]
        yes: bool,
    }

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn option_values_may_start_with_a_hyphen() {
        let o: Opts = parse("t", args(&["t", "--addtag", "-x", "-a", "-n", "-y"])).unwrap();
        assert_eq!(o.addtag, ["-x"]);
        assert_eq!(o.activate.as_deref(), Some("-n"));
        assert!(o.yes);
        let bad = |a: &[&str]| match parse::<Opts>("t", args(a)) {
            Err(CmdError::BadArg(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            bad(&["t", "-i", "-1"]),
            "Invalid argument for --stripes: -1"
        );
        assert_eq!(
            bad(&["t", "-an", "-a", "y"]),
            "Option -a/--activate may not be repeated."
        );
    }
}
