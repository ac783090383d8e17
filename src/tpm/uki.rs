//! Sections of a unified kernel image (a PE file): the `.pcrpkey` public key and the `.pcrsig`
//! signatures a signed PCR 11 policy needs.

use std::path::Path;

use super::TpmError;

/// The contents of the PE section `name` (at most 8 bytes, e.g. `.pcrpkey`), or `None` when the
/// file has no such section. The contents are the section's VirtualSize bytes (what systemd-stub
/// measures), limited to the raw data present in the file.
pub fn uki_section(path: &Path, name: &str) -> Result<Option<Vec<u8>>, TpmError> {
    let data = std::fs::read(path).map_err(|e| TpmError::Format(format!("reading {}: {e}", path.display())))?;
    pe_section(&data, name).map_err(|e| TpmError::Format(format!("{}: {e}", path.display())))
}

/// The contents of the PE section `name` of a UKI held in memory; `what` names it in errors.
pub fn section_in(data: &[u8], name: &str, what: &str) -> Result<Option<Vec<u8>>, TpmError> {
    pe_section(data, name).map_err(|e| TpmError::Format(format!("{what}: {e}")))
}

/// The PEM public key in a UKI's `.pcrpkey` section (for [`super::SealRequest::public_key_pem`]).
pub fn pcrpkey_from_uki(path: &Path) -> Result<Option<Vec<u8>>, TpmError> {
    uki_section(path, ".pcrpkey")
}

fn pe_section(data: &[u8], name: &str) -> Result<Option<Vec<u8>>, String> {
    let u16_at = |o: usize| data.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]])).ok_or("truncated PE file");
    let u32_at = |o: usize| data.get(o..o + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or("truncated PE file");
    if data.get(..2) != Some(b"MZ") {
        return Err("not a PE file (no MZ header)".into());
    }
    let pe = u32_at(0x3c)? as usize;
    if data.get(pe..pe + 4) != Some(b"PE\0\0") {
        return Err("not a PE file (no PE signature)".into());
    }
    let coff = pe + 4;
    let n_sections = usize::from(u16_at(coff + 2)?);
    let opt_size = usize::from(u16_at(coff + 16)?);
    let table = coff + 20 + opt_size;
    let want = name.as_bytes();
    if want.len() > 8 {
        return Err(format!("section name '{name}' longer than 8 bytes"));
    }
    for i in 0..n_sections {
        let s = table + i * 40;
        let raw_name = data.get(s..s + 8).ok_or("truncated section table")?;
        let end = raw_name.iter().position(|b| *b == 0).unwrap_or(8);
        if &raw_name[..end] != want {
            continue;
        }
        let virtual_size = u32_at(s + 8)? as usize;
        let raw_size = u32_at(s + 16)? as usize;
        let raw_ptr = u32_at(s + 20)? as usize;
        let len = virtual_size.min(raw_size);
        let bytes = data.get(raw_ptr..raw_ptr + len).ok_or("section data beyond the end of the file")?;
        return Ok(Some(bytes.to_vec()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PE: DOS header, PE signature, COFF header, no optional header, two sections.
    fn pe(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v = vec![0u8; 0x40];
        v[..2].copy_from_slice(b"MZ");
        v[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        v.extend_from_slice(b"PE\0\0");
        let mut coff = [0u8; 20];
        coff[2..4].copy_from_slice(&(sections.len() as u16).to_le_bytes());
        v.extend_from_slice(&coff);
        let mut data_at = v.len() + 40 * sections.len();
        let mut table = Vec::new();
        let mut payload = Vec::new();
        for (name, body) in sections {
            let mut h = [0u8; 40];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[8..12].copy_from_slice(&(body.len() as u32).to_le_bytes());
            h[16..20].copy_from_slice(&((body.len() as u32).div_ceil(16) * 16).to_le_bytes());
            h[20..24].copy_from_slice(&(data_at as u32).to_le_bytes());
            table.extend_from_slice(&h);
            let mut b = body.to_vec();
            b.resize(body.len().div_ceil(16) * 16, 0);
            data_at += b.len();
            payload.extend_from_slice(&b);
        }
        v.extend_from_slice(&table);
        v.extend_from_slice(&payload);
        v
    }

    #[test]
    fn sections_are_found_by_name_with_their_virtual_size() {
        let img = pe(&[(".osrel", b"ID=test\n"), (".pcrpkey", b"-----BEGIN PUBLIC KEY-----\n")]);
        assert_eq!(pe_section(&img, ".pcrpkey").unwrap().unwrap(), b"-----BEGIN PUBLIC KEY-----\n");
        assert_eq!(pe_section(&img, ".osrel").unwrap().unwrap(), b"ID=test\n");
        assert_eq!(pe_section(&img, ".pcrsig").unwrap(), None);
        assert!(pe_section(b"not a pe", ".linux").is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("uki.efi"), &img).unwrap();
        assert!(pcrpkey_from_uki(&dir.path().join("uki.efi")).unwrap().is_some());
    }
}
