//! LVM2's event-activation records under the run directory
//! (lib/device/online.c): `pvs_online/<PVID>` says a PV's device has
//! appeared (`pvscan --cache`), `vgs_online/<VG>` that a VG's
//! autoactivation was started once (so a later event does not start it
//! again), `pvs_lookup/` is LVM2's cache for PVs without metadata. rlvm
//! writes the same files, so LVM2's tools and udev rules and rlvm agree on
//! what is online. Reads and writes files only.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::metadata::id::Id;

/// The three directories under one run directory.
#[derive(Clone, Debug)]
pub struct Online {
    pvs: PathBuf,
    vgs: PathBuf,
    lookup: PathBuf,
}

impl Default for Online {
    fn default() -> Self {
        Online::under(Path::new(super::lock::DEFAULT_RUN_DIR))
    }
}

/// A PV's file name: its UUID without dashes.
fn pvid(id: &Id) -> String {
    id.as_raw_str().to_string()
}

impl Online {
    /// The records under `run_dir` (`/run/lvm`).
    pub fn under(run_dir: &Path) -> Online {
        Online {
            pvs: run_dir.join("pvs_online"),
            vgs: run_dir.join("vgs_online"),
            lookup: run_dir.join("pvs_lookup"),
        }
    }

    /// Creates the directories if missing (`online_dir_setup`).
    pub fn setup(&self) -> io::Result<()> {
        for d in [&self.pvs, &self.vgs, &self.lookup] {
            std::fs::create_dir_all(d)?;
        }
        Ok(())
    }

    /// Removes every record (`pvscan --cache` with no device).
    pub fn clear(&self) -> io::Result<()> {
        for d in [&self.pvs, &self.vgs, &self.lookup] {
            let Ok(entries) = std::fs::read_dir(d) else {
                continue;
            };
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    /// Records PV `id` online on device `major:minor` named `dev`, in VG
    /// `vg`, in LVM2's format.
    pub fn record_pv(
        &self,
        id: &Id,
        major: u32,
        minor: u32,
        vg: &str,
        dev: &str,
    ) -> io::Result<()> {
        let path = self.pvs.join(pvid(id));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        f.write_all(format!("{major}:{minor}\nvg:{vg}\ndev:{dev}\n").as_bytes())
    }

    /// Whether PV `id` is recorded online.
    pub fn pv_is_online(&self, id: &Id) -> bool {
        self.pvs.join(pvid(id)).exists()
    }

    /// Records that VG `vg`'s autoactivation starts: `false` when it was
    /// already recorded (someone else started it).
    pub fn claim_vg(&self, vg: &str) -> io::Result<bool> {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.vgs.join(vg))
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_as_lvm2_names_them() {
        let dir = std::env::temp_dir().join(format!("rlvm-online-{}", std::process::id()));
        let o = Online::under(&dir);
        o.setup().unwrap();
        let id = Id::random();
        assert!(!o.pv_is_online(&id));
        o.record_pv(&id, 7, 3, "vg0", "/dev/loop3").unwrap();
        assert!(o.pv_is_online(&id));
        let text = std::fs::read_to_string(dir.join("pvs_online").join(id.as_raw_str())).unwrap();
        assert_eq!(text, "7:3\nvg:vg0\ndev:/dev/loop3\n");
        assert!(o.claim_vg("vg0").unwrap());
        assert!(!o.claim_vg("vg0").unwrap());
        o.clear().unwrap();
        assert!(!o.pv_is_online(&id));
        assert!(o.claim_vg("vg0").unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
