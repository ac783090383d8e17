//! The GPT reader on any bytes, as 512- and 4096-byte-sector disks.
#![no_main]
use imprint::disk::gptread;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for sector in [512u32, 4096] {
        if let Ok(Some(t)) = gptread::read(data, data.len() as u64, sector) {
            let lbas = data.len() as u64 / u64::from(sector);
            for e in &t.entries {
                assert!(e.first_lba <= e.last_lba && e.last_lba < lbas);
                assert!(e.first_lba >= t.header.first_usable && e.last_lba <= t.header.last_usable);
            }
        }
    }
});
