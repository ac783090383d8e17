//! The versions a transfer's source offers: its (signed) `SHA256SUMS` at a URL, or the matching
//! entries of a local folder.

use std::path::Path;

use super::fetch::{FetchError, Fetcher};
use super::manifest::{self, ManifestError};
use super::pattern::{self, Match, Metadata};
use super::target::is_kind;
use super::transfer::{ResourcePath, Transfer};
use super::{Offer, Options, UpdateError, io_err, version};

/// A local instance's time (µs) and mode (`& 0775`, as systemd masks it) when its name does not
/// give them.
fn stat_fields(meta: &mut Metadata, path: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(md) = std::fs::metadata(path) {
        if meta.mtime.is_none() && md.mtime() >= 0 {
            meta.mtime = Some(md.mtime() as u64 * 1_000_000 + md.mtime_nsec() as u64 / 1000);
        }
        if meta.mode.is_none() {
            meta.mode = Some(md.mode() & 0o775);
        }
    }
}

fn join_url(base: &str, name: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name)
}

/// The versions `t`'s source offers.
pub(super) fn load_offers(
    t: &Transfer,
    fetcher: &Fetcher,
    keyring: Option<&[pgp::composed::SignedPublicKey]>,
    opts: &Options,
) -> Result<Vec<Offer>, UpdateError> {
    let ResourcePath::Path(base) = &t.source.path else {
        return Err(UpdateError::Unsupported { file: t.file.clone(), what: "[Source] Path=auto".into() });
    };
    let mut offers = Vec::new();
    if t.source.kind.is_url() {
        let ferr = |e| UpdateError::Fetch { transfer: t.id.clone(), source: e };
        let sums_url = join_url(base, "SHA256SUMS");
        let sums = fetcher
            .get_small(&sums_url)
            .map_err(ferr)?
            .ok_or_else(|| ferr(FetchError::Http { url: sums_url.clone(), why: "not found (404): the source has no SHA256SUMS".into() }))?;
        if t.verify {
            let sig = fetcher.get_small(&join_url(base, "SHA256SUMS.gpg")).map_err(ferr)?;
            let sig = sig.ok_or_else(|| UpdateError::SignatureMissing { transfer: t.id.clone() })?;
            manifest::verify(&sums, &sig, keyring.unwrap_or_default())
                .map_err(|e| UpdateError::Manifest { transfer: t.id.clone(), source: e })?;
        }
        let text = String::from_utf8(sums).map_err(|_| UpdateError::Manifest {
            transfer: t.id.clone(),
            source: ManifestError::BadLine { line: 0, why: "not UTF-8".into() },
        })?;
        let entries = manifest::parse(&text, &opts.today).map_err(|e| UpdateError::Manifest { transfer: t.id.clone(), source: e })?;
        for e in entries {
            if let Match::Yes(meta) = pattern::match_many(&t.source.patterns, &e.name) {
                offers.push(Offer {
                    version: meta.version.clone(),
                    location: join_url(base, &e.name),
                    name: e.name,
                    sha256: Some(e.sha256),
                    meta,
                });
            }
        }
    } else {
        let dir = opts.root.join(base.trim_start_matches('/'));
        let rd = std::fs::read_dir(&dir).map_err(io_err(format!("reading the source folder {}", dir.display())))?;
        for ent in rd {
            let ent = ent.map_err(io_err(format!("reading {}", dir.display())))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with(".#") || !is_kind(&ent, t.source.kind) {
                continue;
            }
            if let Match::Yes(mut meta) = pattern::match_many(&t.source.patterns, &name) {
                stat_fields(&mut meta, &ent.path());
                offers.push(Offer {
                    version: meta.version.clone(),
                    location: format!("file://{}", ent.path().display()),
                    name,
                    sha256: meta.sha256.clone(),
                    meta,
                });
            }
        }
    }
    offers.sort_by(|a, b| version::compare(&b.version, &a.version));
    offers.dedup_by(|a, b| a.version == b.version);
    Ok(offers)
}
