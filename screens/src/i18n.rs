//! Message catalogs: every word the pages show comes from here.
//!
//! The catalogs are Fluent files (`screens/i18n/<lang>.ftl`) compiled into the binary, so the
//! crate reads no files at run time. English and German are complete; a test checks that both
//! have the same message ids and that every id the code asks for exists. A missing id renders as
//! `{{id}}` so snapshot tests and the catalog tests notice it.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The languages the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// English (the fallback).
    #[default]
    En,
    /// German.
    De,
}

impl Lang {
    /// Every language, in the order the language page lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// The language for a POSIX locale such as `de_DE.UTF-8` (from `LANG`); German for any `de*`
    /// locale, English for anything else, including `C`, `POSIX` and an empty string.
    pub fn from_locale(locale: &str) -> Lang {
        let language = locale.split(['_', '.', '@', '-']).next().unwrap_or("");
        if language.eq_ignore_ascii_case("de") { Lang::De } else { Lang::En }
    }

    /// The language's name in itself ("English", "Deutsch").
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    /// The BCP 47 tag of the catalog ("en", "de").
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// A POSIX locale to configure on the installed system for this language.
    pub fn locale(self) -> &'static str {
        match self {
            Lang::En => "en_US.UTF-8",
            Lang::De => "de_DE.UTF-8",
        }
    }

    /// The Fluent source of this language's catalog.
    pub fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../i18n/en.ftl"),
            Lang::De => include_str!("../i18n/de.ftl"),
        }
    }

    /// Every Fluent source of this language's catalog, loaded into one bundle: the shared one
    /// ([`Lang::source`]) and the first-boot wizard's and reset menu's own files.
    pub fn sources(self) -> [&'static str; 4] {
        match self {
            Lang::En => [
                self.source(),
                include_str!("../i18n/firstboot.en.ftl"),
                include_str!("../i18n/reset.en.ftl"),
                include_str!("../i18n/update.en.ftl"),
            ],
            Lang::De => [
                self.source(),
                include_str!("../i18n/firstboot.de.ftl"),
                include_str!("../i18n/reset.de.ftl"),
                include_str!("../i18n/update.de.ftl"),
            ],
        }
    }

    /// This language's catalog (parsed once, then shared).
    pub fn tr(self) -> &'static Tr {
        static CATALOGS: [OnceLock<Tr>; 2] = [OnceLock::new(), OnceLock::new()];
        let index = match self {
            Lang::En => 0,
            Lang::De => 1,
        };
        CATALOGS[index].get_or_init(|| Tr::new(self))
    }

    /// The decimal separator numbers use in this language.
    pub fn decimal_separator(self) -> char {
        match self {
            Lang::En => '.',
            Lang::De => ',',
        }
    }
}

/// One language's message catalog.
pub struct Tr {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
    errors: Vec<String>,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr").field("lang", &self.lang).field("errors", &self.errors).finish_non_exhaustive()
    }
}

impl Tr {
    fn new(lang: Lang) -> Tr {
        let mut errors = Vec::new();
        let langid: LanguageIdentifier = lang.code().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        bundle.set_use_isolating(false);
        for source in lang.sources() {
            let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(resource, parse_errors)| {
                errors.extend(parse_errors.iter().map(|e| format!("{e:?}")));
                resource
            });
            if let Err(add_errors) = bundle.add_resource(resource) {
                errors.extend(add_errors.iter().map(|e| format!("{e:?}")));
            }
        }
        Tr { lang, bundle, errors }
    }

    /// The language of this catalog.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Problems found while parsing the catalog (empty in a good build; a test checks).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Whether the catalog has a message with this id.
    pub fn has(&self, id: &str) -> bool {
        self.bundle.get_message(id).and_then(|m| m.value()).is_some()
    }

    /// The message `id`, or `{{id}}` when the catalog lacks it.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with arguments, e.g. `t_args("disk-verdict-too-small", &[("need", "8 GB".into()), ("have", "4 GB".into())])`.
    pub fn t_args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(id, Some(&fluent_args))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return missing(id);
        };
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        if errors.is_empty() { text.into_owned() } else { format!("{{{{{id}: {errors:?}}}}}") }
    }
}

/// The text shown for a message id the catalog lacks.
pub fn missing(id: &str) -> String {
    format!("{{{{{id}}}}}")
}

/// The marker every missing or broken message starts with.
pub const MISSING_MARKER: &str = "{{";

/// Every message id in a Fluent source, in file order.
pub fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_owned()))
        .collect()
}

/// Text fit for a 7-bit terminal: German letters spelled out (ä → ae, ß → ss), common
/// typography replaced (– → -, “ → "), anything else non-ASCII as `?`.
pub fn ascii_fold(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        // In a word in capitals (LÖSCHEN), the second letter is a capital too (LOESCHEN).
        let shouting = chars.get(i + 1).or(i.checked_sub(1).and_then(|p| chars.get(p))).is_some_and(|n| n.is_uppercase());
        let replacement = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'Ä' if shouting => "AE",
            'Ö' if shouting => "OE",
            'Ü' if shouting => "UE",
            'Ä' => "Ae",
            'Ö' => "Oe",
            'Ü' => "Ue",
            'ß' => "ss",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'à' | 'â' | 'á' => "a",
            'ç' => "c",
            'ù' | 'û' | 'ú' => "u",
            'î' | 'ï' | 'í' => "i",
            'ô' | 'ó' => "o",
            'ñ' => "n",
            '–' | '—' | '−' => "-",
            '“' | '”' | '„' | '«' | '»' => "\"",
            '‘' | '’' | '‚' => "'",
            '…' => "...",
            '×' => "x",
            '·' | '•' => "*",
            '→' => "->",
            '←' => "<-",
            '\u{a0}' | '\u{202f}' => " ",
            _ => "?",
        };
        out.push_str(replacement);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locale_picks_the_language() {
        assert_eq!(Lang::from_locale("de_DE.UTF-8"), Lang::De);
        assert_eq!(Lang::from_locale("de_AT"), Lang::De);
        assert_eq!(Lang::from_locale("de"), Lang::De);
        assert_eq!(Lang::from_locale("en_GB.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("fr_FR.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale(""), Lang::En);
        assert_eq!(Lang::from_locale("POSIX"), Lang::En);
        assert_eq!(Lang::from_locale("dexx_YY"), Lang::En);
    }

    #[test]
    fn both_catalogs_parse_without_errors() {
        for lang in Lang::ALL {
            assert!(lang.tr().errors().is_empty(), "{lang:?}: {:?}", lang.tr().errors());
        }
    }

    #[test]
    fn both_catalogs_have_exactly_the_same_ids() {
        let en = message_ids(&Lang::En.sources().concat());
        let de = message_ids(&Lang::De.sources().concat());
        let mut en_sorted = en.clone();
        en_sorted.sort();
        en_sorted.dedup();
        assert_eq!(en_sorted.len(), en.len(), "duplicate ids in en.ftl");
        let mut de_sorted = de.clone();
        de_sorted.sort();
        de_sorted.dedup();
        assert_eq!(de_sorted.len(), de.len(), "duplicate ids in de.ftl");
        let only_en: Vec<_> = en_sorted.iter().filter(|id| !de_sorted.contains(id)).collect();
        let only_de: Vec<_> = de_sorted.iter().filter(|id| !en_sorted.contains(id)).collect();
        assert!(only_en.is_empty() && only_de.is_empty(), "only in en: {only_en:?}; only in de: {only_de:?}");
        for id in &en {
            for lang in Lang::ALL {
                assert!(lang.tr().has(id), "{lang:?} cannot format {id}");
            }
        }
    }

    #[test]
    fn a_missing_id_is_marked() {
        assert_eq!(Lang::En.tr().t("no-such-message"), "{{no-such-message}}");
        assert!(Lang::En.tr().t("no-such-message").starts_with(MISSING_MARKER));
    }

    #[test]
    fn no_isolation_marks_reach_the_terminal() {
        let text = Lang::En.tr().t_args("quit-title", &[("x", "y".into())]);
        assert!(!text.contains('\u{2068}') && !text.contains('\u{2069}'), "{text:?}");
    }

    #[test]
    fn ascii_fold_spells_out_german() {
        assert_eq!(ascii_fold("Schlüssel größer – ok…"), "Schluessel groesser - ok...");
        assert_eq!(ascii_fold("日本"), "??");
        assert_eq!(ascii_fold("LÖSCHEN Änderung Ü"), "LOESCHEN Aenderung Ue");
    }
}
