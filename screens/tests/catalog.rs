//! Every message id the code asks for exists in both catalogs. The ids written as literals in the
//! sources (`t("…")`, `t_args("…"`, and literals returned by `message_id`-style functions) are
//! collected by scanning the sources; the rendered snapshots catch the rest (a missing id shows
//! as `{{id}}`, which tests/snapshots.rs refuses).

use std::fs;
use std::path::Path;

use imprint_screens::Lang;
use imprint_screens::i18n::message_ids;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), fs::read_to_string(&path).unwrap_or_default()));
        }
    }
}

/// String literals in `text` that look like message ids (lowercase words joined by `-`).
fn id_literals(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let literal = &after[..end];
        let looks_like_id = literal.contains('-')
            && literal.starts_with(|c: char| c.is_ascii_lowercase())
            && literal.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !literal.ends_with('-');
        if looks_like_id {
            ids.push(literal.to_owned());
        }
        rest = &after[end + 1..];
    }
    ids
}

#[test]
fn every_id_in_the_sources_exists_in_both_catalogs() {
    let catalog: Vec<String> = message_ids(Lang::En.source());
    let prefixes: Vec<&str> = catalog.iter().filter_map(|id| id.split('-').next()).collect();
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    // the app's --plain mode asks with the same catalogs
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../src/app"), &mut files);
    assert!(files.len() > 10, "the sources were not found");
    let mut checked = 0;
    for (file, text) in &files {
        // Unit tests use made-up ids on purpose.
        let code = text.split("#[cfg(test)]").next().unwrap_or(text);
        for id in id_literals(code) {
            let prefix = id.split('-').next().unwrap_or("");
            if !prefixes.contains(&prefix) {
                continue;
            }
            checked += 1;
            for lang in Lang::ALL {
                assert!(lang.tr().has(&id), "{file}: {id} is missing in {lang:?}");
            }
        }
    }
    assert!(checked > 100, "only {checked} ids found: is the scan broken?");
}

#[test]
fn every_catalog_id_is_used() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    // the app's --plain mode asks with the same catalogs
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../src/app"), &mut files);
    let all: String = files.iter().map(|(_, text)| text.as_str()).collect();
    let unused: Vec<String> = message_ids(Lang::En.source())
        .into_iter()
        .filter(|id| !all.contains(&format!("\"{id}\"")) && !id.starts_with("summary-col-"))
        .collect();
    assert!(unused.is_empty(), "catalog ids no code uses: {unused:?}");
}
