//! read_label on a device made of the input. Label sectors with a
//! `LABELONE` prefix also get their CRC fixed, so mutations reach the
//! pv_header parser instead of dying at the checksum; whatever parses must
//! survive a write/read round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlvm::metadata::crc::lvm_crc;
use rlvm::metadata::device::MemDev;
use rlvm::metadata::label::{read_label, scan_label, write_label, LABEL_ID};

fuzz_target!(|data: &[u8]| {
    let _ = scan_label(&MemDev::from_vec(data.to_vec()));

    let mut fixed = data.to_vec();
    for sector in fixed.chunks_exact_mut(512).take(4) {
        if sector.starts_with(LABEL_ID) {
            let crc = lvm_crc(&sector[20..]);
            sector[16..20].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let Ok(Some(mut label)) = read_label(&MemDev::from_vec(fixed)) else {
        return;
    };
    let out = MemDev::new(2048);
    if write_label(&out, &label).is_ok() {
        label.header.ext_version = 2;
        assert_eq!(read_label(&out).unwrap(), Some(label));
    }
});
