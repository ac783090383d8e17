//! The LUKS2 `systemd-tpm2` token JSON: what reads back is what writes out.
#![no_main]
use imprint::tpm::Tpm2Token;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(t) = Tpm2Token::from_json(&v) {
        let again = Tpm2Token::from_json(&t.to_json()).expect("a token imprint writes reads back");
        assert_eq!(again, t);
    }
});
