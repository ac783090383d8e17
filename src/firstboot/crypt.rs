//! Password hashing through libcrypt: yescrypt (`$y$`) when the library offers it, else
//! SHA-512-crypt (`$6$`), with salt bytes from the kernel. The plaintext only ever lives in a
//! [`Secret`] and in a zeroized NUL-terminated copy handed to the library.

use std::ffi::{CStr, CString, c_char, c_int, c_ulong, c_void};

use zeroize::Zeroizing;

use super::FirstbootError;
use crate::secret::Secret;

#[link(name = "crypt")]
unsafe extern "C" {
    fn crypt_gensalt_ra(prefix: *const c_char, count: c_ulong, rbytes: *const c_char, nrbytes: c_int) -> *mut c_char;
    fn crypt_ra(phrase: *const c_char, setting: *const c_char, data: *mut *mut c_void, size: *mut c_int) -> *mut c_char;
}

fn gensalt(prefix: &str) -> Result<Option<String>, FirstbootError> {
    let rbytes = Secret::random(32).map_err(|e| FirstbootError::Crypt(format!("reading random bytes: {e}")))?;
    let prefix = CString::new(prefix).expect("static prefix");
    // SAFETY: valid NUL-terminated prefix, rbytes points to rbytes.len() readable bytes; the result
    // is malloc'd by libcrypt (or NULL) and freed below.
    let p = unsafe { crypt_gensalt_ra(prefix.as_ptr(), 0, rbytes.expose().as_ptr().cast(), rbytes.len() as c_int) };
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL result is a NUL-terminated string.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: allocated with malloc by libcrypt.
    unsafe { libc::free(p.cast()) };
    Ok(if s.starts_with('*') { None } else { Some(s) })
}

/// crypt(3) of `phrase` with `setting` (a salt string or a full hash); None when libcrypt refuses.
fn crypt(phrase: &Secret, setting: &str) -> Result<Option<String>, FirstbootError> {
    if phrase.expose().contains(&0) {
        return Err(FirstbootError::Crypt("the password contains a NUL byte".into()));
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(phrase.len() + 1));
    buf.extend_from_slice(phrase.expose());
    buf.push(0);
    let setting = CString::new(setting).map_err(|_| FirstbootError::Crypt("hash setting contains NUL".into()))?;
    let mut data: *mut c_void = std::ptr::null_mut();
    let mut size: c_int = 0;
    // SAFETY: both strings are NUL-terminated; data/size start as NULL/0 so libcrypt allocates.
    let p = unsafe { crypt_ra(buf.as_ptr().cast(), setting.as_ptr(), &mut data, &mut size) };
    let out = if p.is_null() {
        None
    } else {
        // SAFETY: non-NULL result is NUL-terminated and lives inside `data`.
        let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        if s.starts_with('*') { None } else { Some(s) }
    };
    if !data.is_null() {
        // SAFETY: `data` is a libcrypt allocation of `size` bytes; wipe it (it held the phrase's
        // derived state) before freeing.
        unsafe {
            std::ptr::write_bytes(data.cast::<u8>(), 0, size.max(0) as usize);
            libc::free(data);
        }
    }
    Ok(out)
}

/// Hashes a plaintext password: yescrypt, or SHA-512-crypt where yescrypt is unavailable.
pub fn hash_password(password: &Secret) -> Result<String, FirstbootError> {
    for prefix in ["$y$", "$6$"] {
        if let Some(salt) = gensalt(prefix)?
            && let Some(hash) = crypt(password, &salt)?
        {
            return Ok(hash);
        }
    }
    Err(FirstbootError::Crypt("libcrypt supports neither yescrypt nor SHA-512-crypt".into()))
}

/// The itoa64 alphabet crypt(3) settings encode numbers in.
const ITOA64: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether the cost a hash's setting asks for is one a login could afford: a hash read from a
/// profile or credential may ask libcrypt for gigabytes of memory (yescrypt or scrypt with a
/// huge N) or hours of work (bcrypt cost 31, a billion SHA-crypt rounds), every time a password
/// or PIN is checked against it. Found by fuzzing (`$y$jL1T$…` asked for 64 GiB).
pub fn cost_ok(hash: &str) -> bool {
    let idx = |c: char| ITOA64.find(c);
    let mut parts = hash.split('$');
    let (_, method, params) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    match method {
        // flags 'j', then N (2^(i+1)) and r (i+1): at most N = 2^15 and r = 32 (128 MiB);
        // mkpasswd's default j9T is N = 2^12, r = 32 (16 MiB)
        "y" | "gy" => {
            let c: Vec<char> = params.chars().collect();
            c.len() == 3 && c[0] == 'j' && idx(c[1]).is_some_and(|n| n <= 14) && idx(c[2]).is_some_and(|r| r <= 31)
        }
        // scrypt: N = 2^i from the first character; at most 2^16
        "7" => params.chars().next().and_then(idx).is_some_and(|n| n <= 16),
        // bcrypt: a two-digit cost; at most 2^16 rounds
        "2a" | "2b" | "2y" => params.parse::<u32>().is_ok_and(|c| c <= 16),
        // SHA-crypt: rounds=N when given; at most 5 million (the default is 5000)
        "5" | "6" => params.strip_prefix("rounds=").is_none_or(|n| n.parse::<u64>().is_ok_and(|n| n <= 5_000_000)),
        _ => true,
    }
}

/// Whether libcrypt takes `hash` as a complete hash it can check passwords against (a known
/// method, a well-formed salt and digest), at a cost a login can afford ([`cost_ok`]).
pub fn is_valid_hash(hash: &str) -> bool {
    if !cost_ok(hash) {
        return false;
    }
    let Some(setting_end) = hash.rfind('$') else { return false };
    matches!(crypt(&Secret::new(Vec::new()), hash), Ok(Some(h)) if h.len() == hash.len() && h[..setting_end] == hash[..setting_end])
}

/// Whether `password` matches `hash` (as login would check it).
pub fn verify_password(password: &Secret, hash: &str) -> bool {
    cost_ok(hash) && matches!(crypt(password, hash), Ok(Some(h)) if Secret::from_text(&h) == Secret::from_text(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yescrypt_with_fresh_salt_and_verification() {
        let pw = Secret::from_text("pässwörd with spaces");
        let (a, b) = (hash_password(&pw).unwrap(), hash_password(&pw).unwrap());
        // libxcrypt (Debian 12 and every current distribution) has yescrypt.
        assert!(a.starts_with("$y$"), "{a}");
        assert_ne!(a, b);
        assert!(verify_password(&pw, &a) && verify_password(&pw, &b));
        assert!(!verify_password(&Secret::from_text("pässwörd"), &a));
        assert!(hash_password(&Secret::new(b"a\0b".to_vec())).is_err());
        // A SHA-512-crypt hash made by Python's crypt module verifies too.
        let sha = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";
        assert!(verify_password(&Secret::from_text("password"), sha));
        assert!(!verify_password(&Secret::from_text("Password"), sha));
        assert!(is_valid_hash(sha) && is_valid_hash(&a));
        for bad in [
            "1234",
            "$6$saltsalt$short",
            "$y$",
            "",
            "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/x",
        ] {
            assert!(!is_valid_hash(bad), "{bad}");
        }
    }

    #[test]
    fn hashes_that_would_cost_too_much_are_refused_before_libcrypt_sees_them() {
        // the fuzzer's find: 64 GiB of yescrypt memory
        assert!(!cost_ok("$y$jL1T$") && !is_valid_hash("$y$jL1T$abc$def"));
        assert!(!verify_password(&Secret::from_text("x"), "$y$jL1T$abcdefghijklmnopqrstuv$0123456789012345678901234567890123456789012"));
        assert!(cost_ok("$y$j9T$salt$hash") && cost_ok("$y$jCT$s$h"));
        assert!(!cost_ok("$y$jDT$s$h") && !cost_ok("$y$j9U$s$h") && !cost_ok("$y$j9T1$s$h"));
        assert!(cost_ok("$2b$12$x") && !cost_ok("$2b$31$x"));
        assert!(cost_ok("$6$salt$x") && cost_ok("$6$rounds=656000$salt$x") && !cost_ok("$6$rounds=999999999$salt$x"));
        let made = hash_password(&Secret::from_text("4711")).unwrap();
        assert!(cost_ok(&made), "{made}");
    }
}
