//! LVM2's device hints (`lib/label/hints.c`): `/run/lvm/hints` lists the
//! devices that carried a PV label at the last full scan, so that reporting
//! commands read only those.
//!
//! * Commands that change which devices are PVs or which VG names exist
//!   (they take the global lock exclusively) empty the file ("# Created
//!   empty by <cmd> ...") and create `/run/lvm/newhints` ([`clear`]).
//! * A hint-using command ([`USES_HINTS`]) recreates the file from a full
//!   scan when it is missing or empty, when `newhints` exists, or when the
//!   filters, `scan_lvs`, devices file or the set of devices changed
//!   ([`plan`], [`write`]); otherwise the hints are valid.
//! * rlvm never limits its scan to the hinted devices: it reads every
//!   device, and only keeps the file as LVM2 would. When the file is valid
//!   but disagrees with the scan (a hinted device with another PV UUID or
//!   VG, or duplicate PVs among the hinted devices), it creates `newhints`
//!   ([`valid`]).
//! * `devs_hash` is LVM2's CRC of the device names, seeded with "rlvm": the
//!   hints rlvm writes are its own (LVM2 sees another hash and refreshes
//!   them, and the other way round), since rlvm's device list may differ
//!   from LVM2's (no md component detection).
//! * Not done: the `nohints` file and flock on the hints file (rlvm's
//!   global lock already serializes the commands that clear hints).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::devicesfile::lvm_crc;

/// LVM2's run directory (DEFAULT_RUN_DIR).
pub const RUN_DIR: &str = "/run/lvm";

/// Commands that read and refresh hints (hints.c, list 1).
pub const USES_HINTS: &[&str] = &[
    "fullreport",
    "lvchange",
    "lvcreate",
    "lvdisplay",
    "lvremove",
    "lvresize",
    "lvs",
    "pvdisplay",
    "lvpoll",
    "pvs",
    "vgchange",
    "vgck",
    "vgdisplay",
    "vgs",
    "lvextend",
    "lvreduce",
    "lvrename",
];

/// The hint file format LVM2 2.03 writes.
const VERSION_MAJOR: u32 = 2;
const VERSION_MINOR: u32 = 1;

/// One `scan:` line: a device that had a PV label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub path: String,
    /// The PV UUID without dashes.
    pub pvid: String,
    pub devn: (u32, u32),
    /// The VG the PV's metadata names (None for an orphan or a PV without
    /// metadata areas: LVM2's "-").
    pub vg: Option<String>,
}

/// What the hints depend on besides the devices' contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// devices/global_filter's patterns, concatenated ("-" when unset).
    pub global_filter: String,
    /// devices/filter's patterns, concatenated ("-" when unset).
    pub filter: String,
    pub scan_lvs: bool,
    /// The system devices file name, or "." when none is used.
    pub devices_file: String,
    /// Hash and count of the device names a scan considers.
    pub devs_hash: (u32, u32),
}

impl Settings {
    /// `devs_hash` for these device paths (in scan order).
    pub fn hash_devices<'a>(paths: impl IntoIterator<Item = &'a str>) -> (u32, u32) {
        let mut hash = lvm_crc(super::devicesfile::INITIAL_CRC, b"rlvm");
        let mut count = 0;
        for p in paths {
            hash = lvm_crc(hash, p.as_bytes());
            count += 1;
        }
        (hash, count)
    }
}

/// Why new hints are to be written after a full scan (LVM2's NEWHINTS_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// `newhints` exists: remove it once the hints are written.
    NewhintsFile,
    /// No hints file.
    Init,
    /// The file's settings or device hash differ from this command's.
    Stale,
    /// The file has no entries (a command emptied it).
    Empty,
}

/// What a hint-using command does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The hints are valid: these devices are the PVs.
    Use(Vec<Hint>),
    /// Scan every device, then [`write`] new hints.
    Refresh(Refresh),
    /// Scan every device and leave the hints alone.
    Ignore,
}

/// The hint files of one run directory.
#[derive(Debug, Clone)]
pub struct Hints {
    dir: PathBuf,
}

impl Default for Hints {
    fn default() -> Self {
        Hints::in_dir(Path::new(RUN_DIR))
    }
}

impl Hints {
    pub fn in_dir(dir: &Path) -> Hints {
        Hints {
            dir: dir.to_path_buf(),
        }
    }
    fn hints(&self) -> PathBuf {
        self.dir.join("hints")
    }
    fn newhints(&self) -> PathBuf {
        self.dir.join("newhints")
    }
    fn nohints(&self) -> PathBuf {
        self.dir.join("nohints")
    }

    /// Whether hints can be kept at all: the run directory exists or can
    /// be made (LVM2 makes it 0700 at start-up).
    fn ready(&self) -> bool {
        if self.dir.is_dir() {
            return true;
        }
        let parent_ok = self.dir.parent().is_some_and(|p| p.is_dir());
        parent_ok && {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&self.dir)
                .is_ok()
        }
    }

    /// Creates `newhints`: the next hint-using command writes new hints.
    pub fn touch_newhints(&self) {
        if self.ready() {
            let _ = File::create(self.newhints());
        }
    }

    /// For a command changing global state: empties the hints file and
    /// creates `newhints` (LVM2's `clear_hint_file`).
    pub fn clear(&self, cmd: &str) {
        if !self.ready() {
            return;
        }
        let _ = replace(&self.hints(), &empty_header(cmd));
        self.touch_newhints();
    }

    /// Decides, from the hints file, what a hint-using command does.
    pub fn plan(&self, settings: &Settings) -> Plan {
        if !self.ready() || self.nohints().exists() {
            return Plan::Ignore;
        }
        if self.newhints().exists() {
            return Plan::Refresh(Refresh::NewhintsFile);
        }
        match std::fs::read_to_string(self.hints()) {
            Ok(text) => plan_from(&text, settings),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Plan::Refresh(Refresh::Init),
            Err(_) => Plan::Ignore,
        }
    }

    /// Writes the hints a full scan found (`pvs` in device order), or an
    /// empty file when it found duplicate PVs (hints are not used then).
    pub fn write(
        &self,
        cmd: &str,
        why: Refresh,
        settings: &Settings,
        pvs: &[Hint],
        duplicates: bool,
    ) {
        if duplicates && why == Refresh::Empty {
            return;
        }
        if !self.ready() {
            return;
        }
        let text = if duplicates {
            format!("{}# info: duplicate_pvs\n", empty_header(cmd))
        } else {
            render(cmd, settings, pvs)
        };
        if replace(&self.hints(), &text).is_ok() && why == Refresh::NewhintsFile {
            let _ = std::fs::remove_file(self.newhints());
        }
    }
}

/// Whether hints used to limit a scan matched what it found: each hinted
/// device still has the hinted PV (`found` gives the PV UUID per device
/// path the scan read a label on), each hinted VG still holds the PV
/// (`in_vg(vg, pvid)`), and no PV was on two devices (LVM2's
/// `validate_hints`).
pub fn valid(
    hints: &[Hint],
    found: &dyn Fn(&str) -> Option<String>,
    in_vg: &dyn Fn(&str, &str) -> bool,
    duplicates: bool,
) -> bool {
    if duplicates {
        return false;
    }
    hints.iter().all(|h| {
        found(&h.path).as_deref() == Some(h.pvid.as_str())
            && h.vg.as_deref().is_none_or(|vg| in_vg(vg, &h.pvid))
    })
}

fn plan_from(text: &str, settings: &Settings) -> Plan {
    let mut hints = Vec::new();
    let mut stale = false;
    let mut read_hash: Option<u32> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(v) = line.strip_prefix("hints_version:") {
            let major = v
                .trim()
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok());
            if major != Some(VERSION_MAJOR) {
                stale = true;
                break;
            }
        } else if let Some(v) = line.strip_prefix("global_filter:") {
            if v != settings.global_filter {
                stale = true;
                break;
            }
        } else if let Some(v) = line.strip_prefix("filter:") {
            if v != settings.filter {
                stale = true;
                break;
            }
        } else if let Some(v) = line.strip_prefix("scan_lvs:") {
            if v.trim().parse::<u32>().ok() != Some(settings.scan_lvs as u32) {
                stale = true;
                break;
            }
        } else if let Some(v) = line.strip_prefix("devices_file:") {
            if v != settings.devices_file {
                stale = true;
                break;
            }
        } else if let Some(v) = line.strip_prefix("devs_hash:") {
            match v.split_whitespace().next().and_then(|h| h.parse().ok()) {
                Some(h) => read_hash = Some(h),
                None => {
                    stale = true;
                    break;
                }
            }
        } else if line.starts_with("scan:") {
            if let Some(h) = parse_scan_line(line) {
                hints.push(h);
            }
        }
    }
    if hints.is_empty() && !stale {
        return Plan::Refresh(Refresh::Empty);
    }
    if stale || read_hash.is_some_and(|h| h != settings.devs_hash.0) {
        return Plan::Refresh(Refresh::Stale);
    }
    Plan::Use(hints)
}

fn parse_scan_line(line: &str) -> Option<Hint> {
    let mut words = line.split_whitespace();
    let path = words.next()?.strip_prefix("scan:")?.to_string();
    let mut hint = Hint {
        path,
        pvid: String::new(),
        devn: (0, 0),
        vg: None,
    };
    for w in words {
        if let Some(p) = w.strip_prefix("pvid:") {
            hint.pvid = p.to_string();
        } else if let Some(d) = w.strip_prefix("devn:") {
            let (ma, mi) = d.split_once(':')?;
            hint.devn = (ma.parse().ok()?, mi.parse().ok()?);
        } else if let Some(v) = w.strip_prefix("vg:") {
            hint.vg = (!v.is_empty() && v != "-").then(|| v.to_string());
        }
    }
    Some(hint)
}

fn render(cmd: &str, s: &Settings, pvs: &[Hint]) -> String {
    let mut out = format!(
        "# Created by {cmd} pid {} {}",
        std::process::id(),
        ctime_now()
    );
    out.push_str(&format!("hints_version: {VERSION_MAJOR}.{VERSION_MINOR}\n"));
    out.push_str(&format!("global_filter:{}\n", s.global_filter));
    out.push_str(&format!("filter:{}\n", s.filter));
    out.push_str(&format!("scan_lvs:{}\n", s.scan_lvs as u32));
    out.push_str(&format!("devices_file:{}\n", s.devices_file));
    for h in pvs {
        out.push_str(&format!(
            "scan:{} pvid:{} devn:{}:{} vg:{}\n",
            h.path,
            h.pvid,
            h.devn.0,
            h.devn.1,
            h.vg.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&format!("devs_hash: {} {}\n", s.devs_hash.0, s.devs_hash.1));
    out
}

fn empty_header(cmd: &str) -> String {
    format!(
        "# Created empty by {cmd} pid {} {}",
        std::process::id(),
        ctime_now()
    )
}

/// Replaces a file's content whole (temporary file, then rename), so that
/// a reader never sees half of it.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let res = File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// The local time as ctime(3) prints it, newline included.
fn ctime_now() -> String {
    let mut buf = [0 as libc::c_char; 64];
    // SAFETY: time(NULL) only returns the time; ctime_r writes at most 26
    // bytes into the 64-byte buffer and returns either NULL or a pointer
    // to that NUL-terminated buffer.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        if libc::ctime_r(&t, buf.as_mut_ptr()).is_null() {
            return "\n".to_string();
        }
        std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            global_filter: "a|.*|".into(),
            filter: "-".into(),
            scan_lvs: false,
            devices_file: ".".into(),
            devs_hash: Settings::hash_devices(["/dev/a", "/dev/b"]),
        }
    }

    fn hint(path: &str, pvid: &str, vg: Option<&str>) -> Hint {
        Hint {
            path: path.into(),
            pvid: pvid.into(),
            devn: (7, 1),
            vg: vg.map(str::to_string),
        }
    }

    #[test]
    fn lifecycle() {
        let d = tempfile::tempdir().unwrap();
        let h = Hints::in_dir(d.path());
        let s = settings();
        assert_eq!(h.plan(&s), Plan::Refresh(Refresh::Init));
        let pvs = vec![
            hint("/dev/a", "P1", Some("vg1")),
            hint("/dev/b", "P2", None),
        ];
        h.write("pvs", Refresh::Init, &s, &pvs, false);
        assert_eq!(h.plan(&s), Plan::Use(pvs.clone()));
        let text = std::fs::read_to_string(d.path().join("hints")).unwrap();
        assert!(text.starts_with("# Created by pvs pid "));
        assert!(text.contains("scan:/dev/b pvid:P2 devn:7:1 vg:-\n"));

        // Another filter, another device set: stale.
        let mut other = s.clone();
        other.filter = "r|x|".into();
        assert_eq!(h.plan(&other), Plan::Refresh(Refresh::Stale));
        let mut other = s.clone();
        other.devs_hash = Settings::hash_devices(["/dev/a"]);
        assert_eq!(h.plan(&other), Plan::Refresh(Refresh::Stale));

        h.clear("pvcreate");
        let text = std::fs::read_to_string(d.path().join("hints")).unwrap();
        assert!(text.starts_with("# Created empty by pvcreate pid "));
        assert_eq!(h.plan(&s), Plan::Refresh(Refresh::NewhintsFile));
        h.write("vgs", Refresh::NewhintsFile, &s, &pvs, false);
        assert!(!d.path().join("newhints").exists());
        assert_eq!(h.plan(&s), Plan::Use(pvs.clone()));

        // Duplicates: an empty file, which later commands refresh.
        h.write("pvscan", Refresh::Stale, &s, &pvs, true);
        let text = std::fs::read_to_string(d.path().join("hints")).unwrap();
        assert!(text.contains("# info: duplicate_pvs"));
        assert_eq!(h.plan(&s), Plan::Refresh(Refresh::Empty));
    }

    #[test]
    fn validation() {
        let hints = vec![hint("/dev/a", "P1", Some("vg1"))];
        let found = |p: &str| (p == "/dev/a").then(|| "P1".to_string());
        let yes = |_: &str, _: &str| true;
        let no = |_: &str, _: &str| false;
        assert!(valid(&hints, &found, &yes, false));
        assert!(!valid(&hints, &found, &yes, true));
        assert!(!valid(&hints, &found, &no, false));
        let moved = |_: &str| Some("P9".to_string());
        assert!(!valid(&hints, &moved, &yes, false));
        let gone = |_: &str| None;
        assert!(!valid(&hints, &gone, &yes, false));
    }
}
