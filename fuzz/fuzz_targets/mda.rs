//! read_mda_header + read_text on a device made of the input, with the
//! mda header at 4096 (where LVM2 keeps mda1; seeds are real PV images).
//! The image is zero-extended to the size its header claims (up to 4 MiB)
//! so small inputs still reach the text reader. A second pass fixes the
//! header CRC and then each text CRC the reader reports: the fixed copy
//! must then read cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlvm::metadata::crc::lvm_crc;
use rlvm::metadata::device::{BlockDev, MemDev};
use rlvm::metadata::mda::{encode_mda_header, read_mda_header, read_text, MdaError};

const START: u64 = 4096;
const MAX_IMAGE: u64 = 4 << 20;

fn image(data: &[u8]) -> Vec<u8> {
    let mut img = data.to_vec();
    let size = data
        .get(4096 + 0x20..4096 + 0x28)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .unwrap_or(0);
    let want = START.saturating_add(size).min(MAX_IMAGE) as usize;
    if img.len() < want {
        img.resize(want, 0);
    }
    img
}

fuzz_target!(|data: &[u8]| {
    let img = image(data);
    let dev = MemDev::from_vec(img.clone());
    if let Ok(h) = read_mda_header(&dev, START) {
        let _ = read_text(&dev, &h, 0);
        let _ = read_text(&dev, &h, 1);
    }

    if img.len() < 4608 {
        return;
    }
    let mut fixed = img;
    let crc = lvm_crc(&fixed[4100..4608]);
    fixed[4096..4100].copy_from_slice(&crc.to_le_bytes());
    let dev = MemDev::from_vec(fixed);
    let Ok(mut h) = read_mda_header(&dev, START) else {
        return;
    };
    for slot in 0..2 {
        if let Err(MdaError::BadTextChecksum { computed, .. }) = read_text(&dev, &h, slot) {
            h.slots[slot].checksum = computed;
            dev.write_at(START, &encode_mda_header(&h)).unwrap();
            h = read_mda_header(&dev, START).unwrap();
            assert!(read_text(&dev, &h, slot).is_ok());
        }
    }
});
