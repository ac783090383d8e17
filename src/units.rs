//! Byte counts in words people read: the one byte formatter of the crate.

/// Bytes in binary (IEC) units with at most one decimal, never rounded up: "512 B", "8 MiB",
/// "1.5 GiB", "14.3 GiB", "256 GiB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut unit = 0;
    while unit + 1 < UNITS.len() && n >= 1u64 << (10 * (unit + 1)) {
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} B");
    }
    let tenths = (u128::from(n) * 10) >> (10 * unit);
    if tenths % 10 == 0 { format!("{} {}", tenths / 10, UNITS[unit]) } else { format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_words() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1 KiB");
        assert_eq!(bytes(512 << 20), "512 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(bytes(32 << 30), "32 GiB");
        assert_eq!(bytes(256 << 30), "256 GiB");
        assert_eq!(bytes(15_376_318_464), "14.3 GiB");
        // one byte short of 2 GiB is not called 2 GiB
        assert_eq!(bytes((2 << 30) - 1), "1.9 GiB");
        assert_eq!(bytes(1 << 40), "1 TiB");
        assert_eq!(bytes(u64::MAX), "15.9 EiB");
    }
}
