//! Password hashing for `privileged.hashedPassword`, through libcrypt (libxcrypt): yescrypt
//! (`$y$`) where the library has it, else SHA-512 crypt (`$6$`). Private to homed; the plaintext
//! never leaves a [`Secret`] except as the C string libcrypt reads, which is zeroized after use.

use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};

use zeroize::Zeroizing;

use crate::secret::Secret;

#[link(name = "crypt")]
unsafe extern "C" {
    fn crypt_gensalt_ra(prefix: *const c_char, count: c_ulong, rbytes: *const c_char, nrbytes: c_int) -> *mut c_char;
    fn crypt_ra(phrase: *const c_char, setting: *const c_char, data: *mut *mut c_void, size: *mut c_int) -> *mut c_char;
}

/// Hashes `password` as crypt(3) does; `None` if libcrypt supports neither method or the
/// password holds a NUL byte.
pub(crate) fn hash_password(password: &Secret) -> Option<String> {
    if password.expose().contains(&0) {
        return None;
    }
    let mut phrase = Zeroizing::new(password.expose().to_vec());
    phrase.push(0);
    for prefix in [c"$y$", c"$6$"] {
        // SAFETY: prefix is a valid C string; NULL random bytes ask libcrypt for its own.
        let salt = unsafe { crypt_gensalt_ra(prefix.as_ptr(), 0, std::ptr::null(), 0) };
        if salt.is_null() {
            continue;
        }
        let mut data: *mut c_void = std::ptr::null_mut();
        let mut size: c_int = 0;
        // SAFETY: phrase and salt are NUL-terminated; crypt_ra allocates `data` for us.
        let out = unsafe { crypt_ra(phrase.as_ptr().cast(), salt, &mut data, &mut size) };
        let hash = if out.is_null() {
            None
        } else {
            // SAFETY: crypt_ra returns a NUL-terminated string inside `data`.
            let s = unsafe { CStr::from_ptr(out) }.to_string_lossy().into_owned();
            (!s.starts_with('*')).then_some(s)
        };
        // SAFETY: both were allocated by libcrypt with malloc; `data` may hold key material,
        // so wipe it before freeing.
        unsafe {
            if !data.is_null() && size > 0 {
                std::ptr::write_bytes(data.cast::<u8>(), 0, size as usize);
            }
            libc::free(data);
            libc::free(salt.cast());
        }
        if hash.is_some() {
            return hash;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_with_libcrypt() {
        let pw = Secret::from_text("correct horse");
        let h = hash_password(&pw).unwrap();
        assert!(h.starts_with("$y$") || h.starts_with("$6$"), "{h}");
        assert!(!h.contains("correct horse"));
        // Hashing again with the hash as setting gives the same string: the password verifies.
        let setting = std::ffi::CString::new(h.clone()).unwrap();
        let (mut data, mut size) = (std::ptr::null_mut(), 0);
        // SAFETY: as above.
        let again = unsafe { crypt_ra(c"correct horse".as_ptr(), setting.as_ptr(), &mut data, &mut size) };
        let again = unsafe { CStr::from_ptr(again) }.to_string_lossy().into_owned();
        unsafe { libc::free(data) };
        assert_eq!(again, h);
        assert_ne!(hash_password(&pw).unwrap(), h, "salts are random");
        assert!(hash_password(&Secret::new(b"a\0b".to_vec())).is_none());
    }
}
