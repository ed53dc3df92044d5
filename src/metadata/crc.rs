//! LVM2's CRC-32 variant (`lib/misc/crc.c`). Pure; no I/O.
//!
//! It is the reflected IEEE CRC-32 (polynomial 0xEDB88320) seeded with
//! [`INITIAL_CRC`] and with neither the usual pre-inversion nor the final
//! XOR. `crc32fast` inverts on both sides, so we hand it the inverted seed
//! and invert its result.

/// LVM2's seed (`INITIAL_CRC` in `lib/misc/crc.h`).
pub const INITIAL_CRC: u32 = 0xF597_A6CF;

/// The LVM2 CRC of `buf`, starting from [`INITIAL_CRC`].
pub fn lvm_crc(buf: &[u8]) -> u32 {
    lvm_crc_continue(INITIAL_CRC, buf)
}

/// Continues a CRC over another piece: `lvm_crc_continue(lvm_crc(a), b)`
/// equals the CRC of `a ‖ b`. LVM2 uses this for metadata text that wraps
/// around the end of the circular buffer (`config_file_read_fd`).
pub fn lvm_crc_continue(crc: u32, buf: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(!crc);
    h.update(buf);
    !h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        assert_eq!(lvm_crc(b""), 0xF597_A6CF);
        assert_eq!(lvm_crc(b"123456789"), 0x4991_CF02);
        assert_eq!(lvm_crc(&[0u8; 492]), 0x02C8_1F10);
        assert_eq!(lvm_crc(&[0u8; 508]), 0x6702_D122);
    }

    #[test]
    fn chaining_equals_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in [0, 1, 17, 500, 999, 1000] {
            let (a, b) = data.split_at(split);
            assert_eq!(lvm_crc_continue(lvm_crc(a), b), lvm_crc(&data));
        }
    }
}
