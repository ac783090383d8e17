//! Whether a secret can be typed at the boot prompt.
//!
//! The passphrase or PIN is asked for before the installed system is up, on a console with the
//! keymap the boot prompt uses and perhaps without a way to compose characters. Printable ASCII can
//! be typed on every keymap; other characters only on keymaps known to have them as keys (a small
//! table per keyboard language). Everything else is refused, naming the character, so nobody locks
//! themselves out with a character they cannot type at boot.

/// Characters beyond ASCII that keymaps of these languages type directly (or with one dead key).
const EXTRA: &[(&[&str], &str)] = &[
    (&["de", "at", "ch"], "äöüÄÖÜß§°"),
    (&["fr", "be", "cf"], "éèàçùâêîôûëïü§°²µ£"),
    (&["es"], "ñÑçÇáéíóúü¡¿ºª"),
    (&["it"], "àèéìòùç°§£"),
    (&["pt", "br"], "çÇáéíóúâêôãõàº"),
    (&["sv", "se", "fi"], "åäöÅÄÖ§½"),
    (&["no", "dk"], "æøåÆØÅ§½"),
];

/// The keyboard language of a keymap name: the part before the first `-`, `_` or `.`, lowercase
/// (`de-latin1-nodeadkeys` → `de`, `de_CH-latin1` → `de`, `fr_CH` → `fr`).
pub fn keymap_language(keymap: &str) -> String {
    keymap.split(['-', '_', '.']).next().unwrap_or("").to_ascii_lowercase()
}

/// The characters beyond ASCII this keymap can type.
pub fn extra_chars(keymap: &str) -> &'static str {
    let language = keymap_language(keymap);
    EXTRA.iter().find(|(names, _)| names.contains(&language.as_str())).map(|(_, chars)| *chars).unwrap_or("")
}

/// Whether `text` can be typed on `keymap` at the boot prompt; the first character that cannot.
pub fn typeable(keymap: &str, text: &str) -> Result<(), char> {
    let extra = extra_chars(keymap);
    match text.chars().find(|&c| !((' '..='~').contains(&c) || extra.contains(c))) {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_always_typeable() {
        let all: String = (' '..='~').collect();
        for keymap in ["us", "de", "fr", "dvorak", "jp106", ""] {
            assert_eq!(typeable(keymap, &all), Ok(()), "{keymap}");
        }
    }

    #[test]
    fn umlauts_need_a_german_keymap() {
        assert_eq!(typeable("de-latin1-nodeadkeys", "Grüße"), Ok(()));
        assert_eq!(typeable("de_CH-latin1", "Grüße"), Ok(()));
        assert_eq!(typeable("at", "ö"), Ok(()));
        assert_eq!(typeable("us", "Grüße"), Err('ü'));
        assert_eq!(typeable("fr", "ß"), Err('ß'));
        assert_eq!(typeable("fr-latin9", "été"), Ok(()));
    }

    #[test]
    fn control_characters_and_unknown_scripts_are_refused() {
        assert_eq!(typeable("de", "a\tb"), Err('\t'));
        assert_eq!(typeable("ru", "пароль"), Err('п'));
        assert_eq!(typeable("de", "€"), Err('€'));
    }
}
