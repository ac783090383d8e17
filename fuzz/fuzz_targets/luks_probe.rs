//! The LUKS1/LUKS2 header probe a factory reset uses to find what to crypto-erase.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = |buf: &mut [u8], at: u64| -> std::io::Result<()> {
        let start = usize::try_from(at).map_err(|_| std::io::ErrorKind::UnexpectedEof)?;
        let end = start.checked_add(buf.len()).filter(|e| *e <= data.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(&data[start..end]);
        Ok(())
    };
    if let Ok(Some(e)) = imprint::luks::probe::find_header_in(&read, data.len() as u64) {
        assert!(e.metadata_end <= data.len() as u64);
    }
});
