//! The PE section reader (UKIs: .pcrsig, .pcrpkey, .cmdline, …).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in [".pcrsig", ".pcrpkey", ".osrel", ".linux"] {
        if let Ok(Some(s)) = imprint::tpm::section_in(data, name, "fuzz.efi") {
            assert!(s.len() <= data.len());
        }
    }
});
