//! The firmware's TCG event log (`imprint tpm prepare` reads it): parsed, every PCR replayed.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(log) = imprint::tpm::eventlog::parse(data) {
        for pcr in 0..24 {
            let _ = log.replay_sha256(pcr);
        }
    }
});
