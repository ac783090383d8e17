//! Secure Boot update files (`.auth`) and the signature lists in them (`imprint tpm prepare`):
//! parsed; an append of a valid update onto itself adds nothing (EDK2 skips entries already there).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    use imprint::tpm::secureboot::{SbVar, append, parse_update};
    if let Ok(u) = parse_update(data, std::path::Path::new("fuzz.auth"), Some(SbVar::Dbx)) {
        assert_eq!(append(&u.payload, &u.payload, false).unwrap(), u.payload);
        let _ = append(&u.payload, &u.payload, true).unwrap();
    }
    let _ = append(data, data, false);
});
