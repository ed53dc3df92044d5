//! The text metadata importer on UTF-8 input (LVM2 text is read as a C
//! string, so anything else never reaches it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rlvm::metadata::text::import_vg(text);
    }
});
