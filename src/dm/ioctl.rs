//! The three device-mapper ioctls that carry a udev cookie (resume,
//! remove, rename), issued directly on /dev/mapper/control with the
//! `event_nr` the caller chose: with udev sync, the transaction's one
//! cookie (`udev.rs`); without (lvm.conf `activation/udev_sync = 0`,
//! `--noudevsync`, no udevd), only the udev flags, and nobody waits.
//!
//! Also DM_LIST_DEVICES with DM_UUID_FLAG (dm-ioctl 4.45, kernel 5.13):
//! every device's name, number and UUID in one ioctl, where the crate's
//! `list_devices` returns no UUIDs, so that finding a VG's devices would
//! take a query per device.
//!
//! Also DM_DEV_CREATE with DM_PERSISTENT_DEV_FLAG and a device number, for
//! LVs with a fixed minor (LVM2's `FIXED_MINOR`): the crate's
//! `device_create` accepts the flag but cannot fill in `dev`. As in libdm
//! (libdm-iface.c, a create task with major/minor set), `dev` carries the
//! encoded major:minor; the kernel uses the minor (dm-ioctl.c
//! `dev_create`) and fails with EBUSY if that minor is taken.
//!
//! Why not the `devicemapper` crate: its `DM::do_ioctl` always runs
//! `UdevSync::begin` for these ioctls, which makes a SysV-semaphore
//! cookie per ioctl and blocks until udev's 95-dm-notify rule completes it
//! whenever /run/udev/control exists. No `DmOptions` flag turns that off
//! or defers it, and a wait in the middle of a transaction can deadlock
//! (a suspended root, see `udev.rs`).
//!
//! Also DM_DEV_CREATE, DM_TABLE_LOAD and DM_TABLE_STATUS, the three that
//! run once per LV in `vgchange -ay` and `lvs`: the crate sends every
//! request in a buffer of at least 16 KiB, which it zeroes and the kernel
//! copies in whole (`copy_params`; only the NO_PARAMS ioctls skip that);
//! here each buffer is the size of its request, grown while the kernel
//! answers DM_BUFFER_FULL. Suspend, info and the rest stay with the crate.
//!
//! What goes into `event_nr` follows libdm (libdm-common.c
//! `dm_task_set_cookie`, libdm-iface.c): the udev flags in the high 16
//! bits with DM_UDEV_PRIMARY_SOURCE_FLAG, the cookie's base (or 0) low.
//! The kernel passes it on as DM_COOKIE in the uevent, so udev rules see
//! the flags, and `dmsetup udevcomplete` ignores a cookie without a base.

use std::os::fd::RawFd;

use nix::errno::Errno;

/// `struct dm_ioctl` of <linux/dm-ioctl.h> (kernel ABI, 312 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct DmIoctl {
    pub version: [u32; 3],
    pub data_size: u32,
    pub data_start: u32,
    pub target_count: u32,
    pub open_count: i32,
    pub flags: u32,
    pub event_nr: u32,
    pub padding: u32,
    pub dev: u64,
    pub name: [u8; 128],
    pub uuid: [u8; 129],
    pub data: [u8; 7],
}

const _: () = assert!(std::mem::size_of::<DmIoctl>() == 312);

pub const DM_IOCTL: u8 = 0xfd;
pub const DM_LIST_DEVICES_CMD: u8 = 2;
pub const DM_DEV_CREATE_CMD: u8 = 3;
pub const DM_DEV_REMOVE_CMD: u8 = 4;
pub const DM_DEV_RENAME_CMD: u8 = 5;
pub const DM_DEV_SUSPEND_CMD: u8 = 6;
pub const DM_TABLE_LOAD_CMD: u8 = 9;
pub const DM_TABLE_STATUS_CMD: u8 = 12;
pub const DM_READONLY_FLAG: u32 = 1 << 0;
pub const DM_SUSPEND_FLAG: u32 = 1 << 1;
pub const DM_PERSISTENT_DEV_FLAG: u32 = 1 << 3;
/// On DM_TABLE_STATUS: each target's table line rather than its status.
pub const DM_STATUS_TABLE_FLAG: u32 = 1 << 4;
pub const DM_INACTIVE_PRESENT_FLAG: u32 = 1 << 6;
/// The answer did not fit the buffer.
pub const DM_BUFFER_FULL_FLAG: u32 = 1 << 8;
/// On DM_TABLE_STATUS: do not flush (as libdm asks for status).
pub const DM_NOFLUSH_FLAG: u32 = 1 << 11;
/// On DM_LIST_DEVICES: put each device's UUID after its name.
pub const DM_UUID_FLAG: u32 = 1 << 14;
/// Per entry of the list: its UUID follows / it has none. Neither bit:
/// a kernel that does not return UUIDs.
const DM_NAME_LIST_FLAG_HAS_UUID: u32 = 1;
const DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID: u32 = 2;
/// Set in the answer when the ioctl sent a uevent (the cookie will be
/// completed by udev).
pub const DM_UEVENT_GENERATED_FLAG: u32 = 1 << 13;
/// Big enough for any request and answer of resume, remove, rename and
/// create: a header and at most a name or UUID (128 bytes). The kernel
/// copies a request's whole buffer in, and this side zeroes it first: the
/// crate's 16 KiB per ioctl, for every LV of `vgchange`, was 32 MB of
/// memory traffic per 1000 LVs.
const BUF_SIZE: usize = 1024;
/// The first buffer of a table query: the header and room for a dozen
/// targets' lines (a linear LV's answer is under 100 bytes); grown while
/// the kernel says the answer does not fit.
const TABLE_BUF_SIZE: usize = 2048;

/// `event_nr` for a cookie-carrying ioctl without udev sync.
pub fn event_nr_without_sync(udev_flags: u32) -> u32 {
    super::udev::event_nr(udev_flags, 0)
}

/// The request buffer: header, then `data` (NUL-terminated) at
/// `data_start`, 8-byte aligned as the kernel wants it.
pub fn build(name: &str, flags: u32, event_nr: u32, data: Option<&str>) -> Vec<u64> {
    let need = std::mem::size_of::<DmIoctl>() + data.map_or(0, str::len) + 1;
    build_sized(
        BUF_SIZE.max(need.next_multiple_of(8)),
        name,
        flags,
        event_nr,
        data,
    )
}

fn build_sized(size: usize, name: &str, flags: u32, event_nr: u32, data: Option<&str>) -> Vec<u64> {
    let mut buf = vec![0u64; size / 8];
    let mut hdr = DmIoctl {
        // 4.0.0: the lowest that knows these ioctls; the kernel accepts
        // any 4.x up to its own.
        version: [4, 0, 0],
        data_size: size as u32,
        data_start: std::mem::size_of::<DmIoctl>() as u32,
        target_count: 0,
        open_count: 0,
        flags,
        event_nr,
        padding: 0,
        dev: 0,
        name: [0; 128],
        uuid: [0; 129],
        data: [0; 7],
    };
    let n = name.as_bytes();
    hdr.name[..n.len().min(127)].copy_from_slice(&n[..n.len().min(127)]);
    let bytes: &mut [u8] = bytemuck_bytes(&mut buf);
    // SAFETY: DmIoctl is plain old data and the buffer is larger.
    unsafe {
        std::ptr::write_unaligned(bytes.as_mut_ptr() as *mut DmIoctl, hdr);
    }
    if let Some(d) = data {
        let start = std::mem::size_of::<DmIoctl>();
        bytes[start..start + d.len()].copy_from_slice(d.as_bytes());
        bytes[start + d.len()] = 0;
    }
    buf
}

fn bytemuck_bytes(buf: &mut [u64]) -> &mut [u8] {
    // SAFETY: u64 has no invalid bit patterns and u8 alignment is 1.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut u8, buf.len() * 8) }
}

/// The header as the kernel left it.
pub fn header(buf: &[u64]) -> DmIoctl {
    // SAFETY: the buffer holds at least one header.
    unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const DmIoctl) }
}

/// Issue ioctl `cmd` with `buf` on the control device `fd`.
pub fn run(fd: RawFd, cmd: u8, buf: &mut [u64]) -> Result<DmIoctl, Errno> {
    let req = nix::request_code_readwrite!(DM_IOCTL, cmd, std::mem::size_of::<DmIoctl>());
    // SAFETY: buf is a writable dm_ioctl buffer of `data_size` bytes.
    let r = unsafe { nix::libc::ioctl(fd, req, buf.as_mut_ptr()) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(header(buf))
}

/// Resume `name` (no DM_SUSPEND_FLAG); `event_nr` carries the udev
/// flags and cookie. Never waits.
pub fn resume(fd: RawFd, name: &str, event_nr: u32) -> Result<DmIoctl, Errno> {
    let mut b = build(name, 0, event_nr, None);
    run(fd, DM_DEV_SUSPEND_CMD, &mut b)
}

/// Remove `name`, retrying while it is busy as the crate and libdm do
/// (a closing opener may hold it for a moment).
pub fn remove(fd: RawFd, name: &str, event_nr: u32) -> Result<DmIoctl, Errno> {
    let mut tries = 0;
    loop {
        let mut b = build(name, 0, event_nr, None);
        match run(fd, DM_DEV_REMOVE_CMD, &mut b) {
            Err(Errno::EBUSY) if tries < 4 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            r => return r,
        }
    }
}

/// The create request for `name`/`uuid` (DM_READONLY_FLAG with
/// `read_only`), on device number `dev` (major, minor) with
/// DM_PERSISTENT_DEV_FLAG when given, else on the number the kernel
/// chooses. Create carries no cookie: `event_nr` stays 0.
pub fn build_create(name: &str, uuid: &str, read_only: bool, dev: Option<(u32, u32)>) -> Vec<u64> {
    let mut flags = if dev.is_some() {
        DM_PERSISTENT_DEV_FLAG
    } else {
        0
    };
    if read_only {
        flags |= DM_READONLY_FLAG;
    }
    let mut b = build(name, flags, 0, None);
    let mut hdr = header(&b);
    let u = uuid.as_bytes();
    let n = u.len().min(128);
    hdr.uuid[..n].copy_from_slice(&u[..n]);
    if let Some((major, minor)) = dev {
        hdr.dev = nix::sys::stat::makedev(major.into(), minor.into());
    }
    put_header(&mut b, hdr);
    b
}

fn put_header(b: &mut [u64], hdr: DmIoctl) {
    let bytes = bytemuck_bytes(b);
    // SAFETY: as in `build_sized`: plain old data into a larger buffer.
    unsafe {
        std::ptr::write_unaligned(bytes.as_mut_ptr() as *mut DmIoctl, hdr);
    }
}

/// DM_DEV_CREATE of `name` on the fixed number `dev` (major, minor) when
/// given, else on one the kernel chooses; the answer's `dev` is the number
/// the kernel gave (EBUSY if a fixed minor is taken).
pub fn create(
    fd: RawFd,
    name: &str,
    uuid: &str,
    read_only: bool,
    dev: Option<(u32, u32)>,
) -> Result<DmIoctl, Errno> {
    let mut b = build_create(name, uuid, read_only, dev);
    run(fd, DM_DEV_CREATE_CMD, &mut b)
}

/// The DM_TABLE_LOAD request: after the header, per target a `struct
/// dm_target_spec` whose `next` is the offset of the next one from its own
/// start (dm-ioctl.c `next_target`), then its NUL-terminated line padded
/// to 8 bytes; the buffer is as large as that (the crate sends at least 16
/// KiB, all copied in by the kernel). EINVAL for a target type the
/// 16-byte field cannot hold with its NUL.
pub fn build_load(name: &str, read_only: bool, targets: &[TargetSpec]) -> Result<Vec<u64>, Errno> {
    const SPEC: usize = 40;
    let mut data: Vec<u8> = Vec::new();
    for (start, length, ty, line) in targets {
        if ty.len() >= 16 || ty.is_empty() {
            return Err(Errno::EINVAL);
        }
        let padded = (line.len() + 1).next_multiple_of(8);
        data.extend(start.to_ne_bytes());
        data.extend(length.to_ne_bytes());
        data.extend(0i32.to_ne_bytes());
        data.extend(((SPEC + padded) as u32).to_ne_bytes());
        let mut t = [0u8; 16];
        t[..ty.len()].copy_from_slice(ty.as_bytes());
        data.extend(t);
        let at = data.len();
        data.extend(line.as_bytes());
        data.resize(at + padded, 0);
    }
    let head = std::mem::size_of::<DmIoctl>().next_multiple_of(8);
    let size = (head + data.len() + 8).max(BUF_SIZE);
    let flags = if read_only { DM_READONLY_FLAG } else { 0 };
    let mut b = build_sized(size, name, flags, 0, None);
    let mut hdr = header(&b);
    hdr.data_start = head as u32;
    hdr.target_count = targets.len() as u32;
    put_header(&mut b, hdr);
    bytemuck_bytes(&mut b)[head..head + data.len()].copy_from_slice(&data);
    Ok(b)
}

/// Load `targets` as the inactive table of `name` (a valid dm name).
pub fn table_load(
    fd: RawFd,
    name: &str,
    read_only: bool,
    targets: &[TargetSpec],
) -> Result<DmIoctl, Errno> {
    let mut b = build_load(name, read_only, targets)?;
    run(fd, DM_TABLE_LOAD_CMD, &mut b)
}

/// One device of DM_LIST_DEVICES: name, encoded device number (as
/// `makedev`), UUID (`None` if it has none).
pub type Listed = (String, u64, Option<String>);

/// Every device with its UUID, in one DM_LIST_DEVICES (the buffer grows
/// until the answer fits). `None` from a kernel that does not return
/// UUIDs (before 5.13): the caller asks each device instead.
pub fn list_devices(fd: RawFd) -> Result<Option<Vec<Listed>>, Errno> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The buffer that held the last answer: a command lists several times,
    // and a buffer far larger than the answer is zeroed (and faulted in)
    // for nothing. 16 KiB hold ~150 devices (a record is a name, a UUID
    // and 20 bytes: ~110 bytes for an LV); a miss grows it sixteenfold,
    // to ~2400 devices: 1000 devices take one growth once per command
    // (fourfold took two, each a walk of every device by the kernel).
    static FITTED: AtomicUsize = AtomicUsize::new(16 * 1024);
    let mut used = 0;
    let listed = run_growing(
        fd,
        DM_LIST_DEVICES_CMD,
        "",
        DM_UUID_FLAG,
        FITTED.load(Ordering::Relaxed),
        16,
        |h, data| {
            used = h.data_size as usize;
            Ok(parse_name_list(data))
        },
    )?;
    // Room for what was there and some more next time.
    FITTED.fetch_max((used + used / 4).next_multiple_of(4096), Ordering::Relaxed);
    Ok(listed)
}

/// Issue `cmd` for `name` with a buffer of `size` bytes first, `grow`
/// times larger while the kernel answers DM_BUFFER_FULL (up to 64 MiB),
/// and hand the answer's header and data to `answer`.
fn run_growing<T>(
    fd: RawFd,
    cmd: u8,
    name: &str,
    flags: u32,
    mut size: usize,
    grow: usize,
    answer: impl FnOnce(&DmIoctl, &[u8]) -> Result<T, Errno>,
) -> Result<T, Errno> {
    loop {
        let mut b = build_sized(size, name, flags, 0, None);
        let h = run(fd, cmd, &mut b)?;
        if h.flags & DM_BUFFER_FULL_FLAG != 0 {
            if size >= 64 << 20 {
                return Err(Errno::ENOMEM);
            }
            size = (size * grow).min(64 << 20);
            continue;
        }
        let bytes: &[u8] = bytemuck_bytes(&mut b);
        let end = (h.data_size as usize).min(bytes.len());
        return answer(&h, bytes.get(h.data_start as usize..end).unwrap_or(&[]));
    }
}

/// The kernel's `struct dm_name_list` records: `u64 dev; u32 next;
/// char name[]`, then, 8-byte aligned from the record's start, `u32
/// event_nr; u32 flags;` and (if flags has HAS_UUID) the UUID string.
/// `next` is the offset of the next record, 0 on the last; an empty list
/// is one record with `dev == 0`. Malformed input ends the list where it
/// stops making sense (never reads out of the slice).
pub fn parse_name_list(data: &[u8]) -> Option<Vec<Listed>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let align = |x: usize| (x + 7) & !7;
    let cstr = |from: usize| -> Option<String> {
        let s = data.get(from..)?;
        let n = s.iter().position(|&c| c == 0)?;
        std::str::from_utf8(&s[..n]).ok().map(str::to_string)
    };
    loop {
        let rec = data.get(at..at + 12)?;
        let dev = u64::from_ne_bytes(rec[..8].try_into().ok()?);
        let next = u32::from_ne_bytes(rec[8..12].try_into().ok()?) as usize;
        if dev == 0 && out.is_empty() && next == 0 {
            return Some(out);
        }
        let name = cstr(at + 12)?;
        let tail = align(at + 12 + name.len() + 1);
        let flags = u32::from_ne_bytes(data.get(tail + 4..tail + 8)?.try_into().ok()?);
        let uuid = if flags & DM_NAME_LIST_FLAG_HAS_UUID != 0 {
            Some(cstr(tail + 8)?)
        } else if flags & DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID != 0 {
            None
        } else {
            // A kernel that does not know DM_UUID_FLAG.
            return None;
        };
        out.push((name, dev, uuid));
        if next == 0 {
            return Some(out);
        }
        at += next;
    }
}

/// One target of a table as DM_TABLE_STATUS returns it: start and length
/// in sectors, target type, and its table line or status line.
pub type TargetSpec = (u64, u64, String, String);

/// DM_TABLE_STATUS of the device `name` (a valid dm name): its header as
/// the kernel filled it (flags, open count, number, UUID) and its live
/// table's targets, with `flags` DM_STATUS_TABLE_FLAG their table lines,
/// else their status lines. The buffer starts small and grows until the
/// answer fits (the crate always sends 16 KiB, which the kernel copies in
/// for every device: `lvs` of 1000 LVs asks 1000 devices).
pub fn table_status(
    fd: RawFd,
    name: &str,
    flags: u32,
) -> Result<(DmIoctl, Vec<TargetSpec>), Errno> {
    run_growing(
        fd,
        DM_TABLE_STATUS_CMD,
        name,
        flags,
        TABLE_BUF_SIZE,
        4,
        |h, data| {
            let targets = parse_target_specs(data, h.target_count).ok_or(Errno::EPROTO)?;
            Ok((*h, targets))
        },
    )
}

/// The `count` records of `struct dm_target_spec` in a status answer:
/// `u64 sector_start; u64 length; s32 status; u32 next; char
/// target_type[16];` then the NUL-terminated line; `next` is the offset
/// of the next record from the start of `data` (dm-ioctl.c
/// `retrieve_status`). `None` when the records do not fit in `data` or
/// are not text (never reads out of the slice).
pub fn parse_target_specs(data: &[u8], count: u32) -> Option<Vec<TargetSpec>> {
    const SPEC: usize = 40;
    let text = |b: &[u8]| std::str::from_utf8(b).ok().map(str::to_string);
    let mut out = Vec::with_capacity((count as usize).min(64));
    let mut at = 0usize;
    for _ in 0..count {
        let spec = data.get(at..at.checked_add(SPEC)?)?;
        let start = u64::from_ne_bytes(spec[0..8].try_into().ok()?);
        let length = u64::from_ne_bytes(spec[8..16].try_into().ok()?);
        let next = u32::from_ne_bytes(spec[20..24].try_into().ok()?) as usize;
        let ty = &spec[24..SPEC];
        let ty = &ty[..ty.iter().position(|&c| c == 0).unwrap_or(ty.len())];
        let line = data.get(at + SPEC..)?;
        let line = &line[..line.iter().position(|&c| c == 0)?];
        out.push((start, length, text(ty)?, text(line)?));
        // Each record lies after the one before: a `next` pointing back
        // would repeat records up to `count` times.
        if next <= at {
            return None;
        }
        at = next;
    }
    Some(out)
}

/// The NUL-terminated string at the start of `field` (a header's name or
/// UUID), `None` if empty or not text.
pub fn c_field(field: &[u8]) -> Option<&str> {
    let n = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    std::str::from_utf8(&field[..n])
        .ok()
        .filter(|s| !s.is_empty())
}

/// Rename `from` to `to` (`event_nr` as for `resume`). Never waits.
pub fn rename(fd: RawFd, from: &str, to: &str, event_nr: u32) -> Result<DmIoctl, Errno> {
    let mut b = build(from, 0, event_nr, Some(to));
    run(fd, DM_DEV_RENAME_CMD, &mut b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_cookie_only_flags() {
        // DISABLE_DM_RULES (0x01) | DISABLE_SUBSYSTEM_RULES (0x02).
        let e = event_nr_without_sync(0x03);
        assert_eq!(e, 0x0043 << 16);
        assert_eq!(e & 0xffff, 0, "no base cookie: nobody waits");
        assert_eq!(event_nr_without_sync(0), 0x0040 << 16);
    }

    #[test]
    fn rename_request_layout() {
        let b = build("my--vg-a", 0, event_nr_without_sync(0), Some("my--vg-b"));
        let h = header(&b);
        assert_eq!(h.version, [4, 0, 0]);
        assert_eq!(h.data_start, 312);
        assert_eq!(h.data_size as usize, BUF_SIZE);
        assert_eq!(&h.name[..9], b"my--vg-a\0");
        assert_eq!(h.flags, 0);
        let bytes: Vec<u8> = b.iter().flat_map(|w| w.to_ne_bytes()).collect();
        assert_eq!(&bytes[312..321], b"my--vg-b\0");
    }

    #[test]
    fn persistent_create_request_layout() {
        let b = build_create("vg-lv", "LVM-abc", true, Some((253, 300)));
        let h = header(&b);
        assert_eq!(h.flags, DM_PERSISTENT_DEV_FLAG | DM_READONLY_FLAG);
        assert_eq!(h.event_nr, 0);
        // new_encode_dev: minor low byte, major, minor high bits << 12.
        assert_eq!(h.dev, (300 & 0xff) | (253 << 8) | ((300 & !0xff) << 12));
        assert_eq!(&h.name[..6], b"vg-lv\0");
        assert_eq!(&h.uuid[..8], b"LVM-abc\0");
    }

    /// A record as dm-ioctl.c `list_devices` writes it.
    fn record(dev: u64, name: &str, flags: u32, uuid: Option<&str>) -> Vec<u8> {
        let align = |v: &mut Vec<u8>| v.resize((v.len() + 7) & !7, 0);
        let mut v = dev.to_ne_bytes().to_vec();
        v.extend(0u32.to_ne_bytes());
        v.extend(name.as_bytes());
        v.push(0);
        align(&mut v);
        v.extend(7u32.to_ne_bytes());
        v.extend(flags.to_ne_bytes());
        if let Some(u) = uuid {
            v.extend(u.as_bytes());
            v.push(0);
            align(&mut v);
        }
        v
    }

    fn chain(records: Vec<Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        let n = records.len();
        for (i, mut r) in records.into_iter().enumerate() {
            if i + 1 < n {
                let next = r.len() as u32;
                r[8..12].copy_from_slice(&next.to_ne_bytes());
            }
            out.extend(r);
        }
        out
    }

    #[test]
    fn name_list_with_uuids() {
        let dev = nix::sys::stat::makedev(253, 300);
        let data = chain(vec![
            record(dev, "vg-lv", 1, Some("LVM-abc")),
            record(nix::sys::stat::makedev(253, 1), "crypt", 2, None),
            record(
                nix::sys::stat::makedev(253, 2),
                "vg-lv-real",
                1,
                Some("LVM-abc-real"),
            ),
        ]);
        let l = parse_name_list(&data).unwrap();
        assert_eq!(
            l,
            vec![
                ("vg-lv".to_string(), dev, Some("LVM-abc".to_string())),
                ("crypt".to_string(), nix::sys::stat::makedev(253, 1), None),
                (
                    "vg-lv-real".to_string(),
                    nix::sys::stat::makedev(253, 2),
                    Some("LVM-abc-real".to_string())
                ),
            ]
        );
        // Empty: one record with dev 0.
        assert_eq!(parse_name_list(&[0u8; 16]), Some(vec![]));
        // An old kernel: no flag bits.
        assert_eq!(parse_name_list(&record(dev, "a", 0, None)), None);
        // Truncated or garbage never panics.
        for cut in 0..data.len() {
            let _ = parse_name_list(&data[..cut]);
        }
        let mut bad = data.clone();
        bad[8..12].copy_from_slice(&u32::MAX.to_ne_bytes());
        let _ = parse_name_list(&bad);
    }

    /// A load request as dm-ioctl.c `populate_table` walks it: the first
    /// spec at `data_start`, each next one `next` bytes after it, each line
    /// NUL-terminated inside the buffer.
    #[test]
    fn load_request_layout() {
        let targets = vec![
            (0, 8192, "linear".to_string(), "253:0 2048".to_string()),
            (8192, 16, "snapshot-origin".to_string(), "253:1".to_string()),
        ];
        let b = build_load("vg-lv", false, &targets).unwrap();
        let h = header(&b);
        assert_eq!((h.data_start, h.target_count, h.flags), (312, 2, 0));
        assert_eq!(h.data_size as usize, b.len() * 8);
        let bytes: Vec<u8> = b.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let mut at = h.data_start as usize;
        for (start, len, ty, line) in &targets {
            let spec = &bytes[at..at + 40];
            assert_eq!(u64::from_ne_bytes(spec[0..8].try_into().unwrap()), *start);
            assert_eq!(u64::from_ne_bytes(spec[8..16].try_into().unwrap()), *len);
            assert_eq!(&spec[24..24 + ty.len() + 1], format!("{ty}\0").as_bytes());
            let l = &bytes[at + 40..];
            assert_eq!(&l[..line.len() + 1], format!("{line}\0").as_bytes());
            at += u32::from_ne_bytes(spec[20..24].try_into().unwrap()) as usize;
            assert_eq!(at % 8, 0);
        }
        assert!(at < h.data_size as usize);
        let long = vec![(0, 1, "a-type-name-of-16".to_string(), String::new())];
        assert_eq!(build_load("x", false, &long), Err(Errno::EINVAL));
        let ro = build_load("x", true, &[]).unwrap();
        assert_eq!(header(&ro).flags, DM_READONLY_FLAG);
    }

    /// Two records as dm-ioctl.c `retrieve_status` writes them: each
    /// line NUL-terminated, the next record 8-byte aligned, `next` from the
    /// start of the data.
    #[test]
    fn target_specs_of_a_status_answer() {
        let mut data = Vec::new();
        let spec = |data: &mut Vec<u8>, start: u64, len: u64, ty: &str, line: &str| {
            let at = data.len();
            data.extend(start.to_ne_bytes());
            data.extend(len.to_ne_bytes());
            data.extend(0i32.to_ne_bytes());
            data.extend(0u32.to_ne_bytes());
            let mut t = [0u8; 16];
            t[..ty.len()].copy_from_slice(ty.as_bytes());
            data.extend(t);
            data.extend(line.as_bytes());
            data.push(0);
            data.resize((data.len() + 7) & !7, 0);
            let next = data.len() as u32;
            data[at + 20..at + 24].copy_from_slice(&next.to_ne_bytes());
        };
        spec(&mut data, 0, 8192, "linear", "253:0 2048");
        spec(&mut data, 8192, 16, "snapshot-origin", "253:1");
        let got = parse_target_specs(&data, 2).unwrap();
        assert_eq!(
            got,
            vec![
                (0, 8192, "linear".to_string(), "253:0 2048".to_string()),
                (8192, 16, "snapshot-origin".to_string(), "253:1".to_string()),
            ]
        );
        assert_eq!(parse_target_specs(&[], 0), Some(vec![]));
        // A count beyond the records, a cut anywhere, a wild `next`: None,
        // never a panic.
        assert_eq!(parse_target_specs(&data, 3), None);
        for cut in 0..data.len() {
            let _ = parse_target_specs(&data[..cut], 2);
        }
        let mut bad = data.clone();
        bad[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(parse_target_specs(&bad, 2), None);
        // A `next` back to the first record: refused, not read a billion times.
        let mut back = data.clone();
        back[20..24].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(parse_target_specs(&back, u32::MAX), None);
        assert_eq!(c_field(b"LVM-abc\0\0"), Some("LVM-abc"));
        assert_eq!(c_field(b"\0abc"), None);
    }

    #[test]
    #[allow(clippy::unnecessary_cast)]
    fn request_codes_match_the_kernel_header() {
        // _IOWR(0xfd, 6, struct dm_ioctl) from <linux/dm-ioctl.h>:
        // DM_DEV_SUSPEND = 0xc138fd06, DM_DEV_RENAME = 0xc138fd05.
        let r = nix::request_code_readwrite!(DM_IOCTL, DM_DEV_SUSPEND_CMD, 312) as u64;
        assert_eq!(r, 0xc138_fd06);
        let r = nix::request_code_readwrite!(DM_IOCTL, DM_DEV_RENAME_CMD, 312) as u64;
        assert_eq!(r, 0xc138_fd05);
        // DM_TABLE_LOAD = _IOWR(0xfd, 9, ...), DM_TABLE_STATUS = (.., 12, ..).
        let r = nix::request_code_readwrite!(DM_IOCTL, DM_TABLE_LOAD_CMD, 312) as u64;
        assert_eq!(r, 0xc138_fd09);
        let r = nix::request_code_readwrite!(DM_IOCTL, DM_TABLE_STATUS_CMD, 312) as u64;
        assert_eq!(r, 0xc138_fd0c);
    }
}
