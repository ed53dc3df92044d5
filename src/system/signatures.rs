//! Signatures of other formats on a device (filesystems, swap, LUKS,
//! partition tables), so pvcreate asks before destroying them, as LVM2
//! does through libblkid ("WARNING: ext4 signature detected on /dev/x at
//! offset 1080. Wipe it? [y/n]"). Pure reads over `BlockDev`, plus a wipe
//! that zeroes only the magic bytes.

use crate::metadata::device::BlockDev;

/// A known magic: name, byte offset, bytes.
struct Magic {
    name: &'static str,
    offset: u64,
    bytes: &'static [u8],
}

const MAGICS: &[Magic] = &[
    Magic {
        name: "ext4",
        offset: 1080,
        bytes: &[0x53, 0xEF],
    },
    Magic {
        name: "xfs",
        offset: 0,
        bytes: b"XFSB",
    },
    Magic {
        name: "btrfs",
        offset: 65600,
        bytes: b"_BHRfS_M",
    },
    Magic {
        name: "swap",
        offset: 4086,
        bytes: b"SWAPSPACE2",
    },
    Magic {
        name: "swap",
        offset: 4086,
        bytes: b"SWAP-SPACE",
    },
    Magic {
        name: "crypto_LUKS",
        offset: 0,
        bytes: b"LUKS\xba\xbe",
    },
    Magic {
        name: "gpt",
        offset: 512,
        bytes: b"EFI PART",
    },
    Magic {
        name: "vfat",
        offset: 82,
        bytes: b"FAT32   ",
    },
    Magic {
        name: "iso9660",
        offset: 32769,
        bytes: b"CD001",
    },
];

/// What `detect` reads in one go from a device's start.
const HEAD: u64 = 4096;

/// A signature found on a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub name: &'static str,
    pub offset: u64,
    pub len: usize,
}

/// Every known signature on `dev`. A DOS partition table (0x55AA at 510)
/// counts only when no filesystem that also ends its boot sector so
/// (vfat) was found. Read errors (short devices) just mean "not there".
pub fn detect(dev: &dyn BlockDev) -> Vec<Signature> {
    let size = dev.size().unwrap_or(0);
    // The first 4 KiB hold most magics and the DOS table's mark: one read
    // for them (lvcreate looks at every new LV's start), one for each
    // magic further in.
    let mut head = vec![0u8; HEAD.min(size) as usize];
    let head_ok = dev.read_at(0, &mut head).is_ok();
    let holds = |offset: u64, want: &[u8]| -> bool {
        let Some(end) = offset.checked_add(want.len() as u64) else {
            return false;
        };
        if end > size {
            return false;
        }
        if head_ok && end <= head.len() as u64 {
            return head[offset as usize..end as usize] == *want;
        }
        let mut buf = vec![0u8; want.len()];
        dev.read_at(offset, &mut buf).is_ok() && buf == want
    };
    let mut found = Vec::new();
    for m in MAGICS {
        if holds(m.offset, m.bytes) {
            found.push(Signature {
                name: m.name,
                offset: m.offset,
                len: m.bytes.len(),
            });
        }
    }
    if holds(510, &[0x55, 0xAA]) && !found.iter().any(|s| s.name == "vfat" || s.name == "gpt") {
        found.push(Signature {
            name: "dos",
            offset: 510,
            len: 2,
        });
    }
    found
}

/// Zeroes the magic bytes of `sig` (what `wipefs`/libblkid do).
pub fn wipe(dev: &dyn BlockDev, sig: &Signature) -> std::io::Result<()> {
    dev.write_at(sig.offset, &vec![0u8; sig.len])?;
    dev.sync()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::device::MemDev;

    #[test]
    fn finds_and_wipes_ext4_and_swap() {
        let d = MemDev::new(1 << 20);
        d.write_at(1080, &[0x53, 0xEF]).unwrap();
        d.write_at(4086, b"SWAPSPACE2").unwrap();
        let sigs = detect(&d);
        let names: Vec<_> = sigs.iter().map(|s| (s.name, s.offset)).collect();
        assert_eq!(names, vec![("ext4", 1080), ("swap", 4086)]);
        for s in &sigs {
            wipe(&d, s).unwrap();
        }
        assert!(detect(&d).is_empty());
        // Only the magic was touched.
        let v = d.to_vec();
        assert!(v.iter().all(|&b| b == 0));
    }

    #[test]
    fn blank_and_tiny_devices_have_none() {
        assert!(detect(&MemDev::new(1 << 20)).is_empty());
        assert!(detect(&MemDev::new(100)).is_empty());
        let d = MemDev::new(4096);
        d.write_at(510, &[0x55, 0xAA]).unwrap();
        assert_eq!(detect(&d)[0].name, "dos");
    }

    /// Magics in the first 4 KiB come from one read, the others from their
    /// own: both are found, and a device shorter than 4 KiB still shows
    /// what it holds.
    #[test]
    fn magics_past_the_first_block_and_on_short_devices() {
        let d = MemDev::new(1 << 20);
        d.write_at(0, b"XFSB").unwrap();
        d.write_at(32769, b"CD001").unwrap();
        d.write_at(65600, b"_BHRfS_M").unwrap();
        let names: Vec<_> = detect(&d).iter().map(|s| (s.name, s.offset)).collect();
        assert_eq!(
            names,
            vec![("xfs", 0), ("btrfs", 65600), ("iso9660", 32769)]
        );
        let short = MemDev::new(2048);
        short.write_at(0, b"LUKS\xba\xbe").unwrap();
        short.write_at(510, &[0x55, 0xAA]).unwrap();
        let names: Vec<_> = detect(&short).iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["crypto_LUKS", "dos"]);
    }
}
