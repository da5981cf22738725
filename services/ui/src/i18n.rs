//! Messages in the user's language: one catalogue per language, keyed by
//! Kratos' numeric message ids (so every message the identity engine puts
//! on a flow has a translation) and by `ui.*` keys for the page chrome.
//!
//! The language is the first of `Accept-Language` (by quality) that has a
//! catalogue, else the project's default locale, else English. A key
//! missing from a catalogue falls back to English, and a message id
//! missing from both to the engine's own text, so a message added to the
//! engine later still shows.

use serde_json::Value;
use std::collections::HashMap;

/// The languages with a catalogue; the first is the fallback.
pub const LANGUAGES: &[&str] = &["en", "de"];

type Catalogue = HashMap<String, String>;

/// Every catalogue, parsed once per worker from the embedded JSON.
pub struct Catalogues {
    by_language: HashMap<&'static str, Catalogue>,
}

fn parse(source: &str) -> Catalogue {
    // The catalogues are compiled in and checked by a unit test, so a
    // parse failure here is a build mistake; an empty catalogue then falls
    // back to English (or the engine's text) rather than failing requests.
    serde_json::from_str(source).unwrap_or_default()
}

impl Default for Catalogues {
    fn default() -> Self {
        let by_language = HashMap::from([
            ("en", parse(include_str!("../locales/en.json"))),
            ("de", parse(include_str!("../locales/de.json"))),
        ]);
        Self { by_language }
    }
}

impl Catalogues {
    /// A translator for `language` (one of [`LANGUAGES`]).
    pub fn translator(&self, language: &'static str) -> Translator<'_> {
        let english = &self.by_language["en"];
        Translator {
            language,
            catalogue: self.by_language.get(language).unwrap_or(english),
            english,
        }
    }
}

pub struct Translator<'a> {
    pub language: &'static str,
    catalogue: &'a Catalogue,
    english: &'a Catalogue,
}

impl Translator<'_> {
    fn lookup(&self, key: &str) -> Option<&str> {
        self.catalogue
            .get(key)
            .or_else(|| self.english.get(key))
            .map(String::as_str)
    }

    /// A page text (`ui.*`), with `{name}` placeholders filled from `args`.
    pub fn ui(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.lookup(key).unwrap_or(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// Every page text (`ui.*`, without the prefix) in this language, for
    /// the templates.
    pub fn ui_texts(&self) -> serde_json::Map<String, Value> {
        self.english
            .keys()
            .filter_map(|key| {
                let short = key.strip_prefix("ui.")?;
                Some((short.to_owned(), Value::String(self.ui(key, &[]))))
            })
            .collect()
    }

    /// A Kratos message (`uiText`) by id, its `context` values put into the
    /// placeholders; the engine's own text when no catalogue knows the id.
    pub fn message(&self, id: u64, engine_text: &str, context: Option<&Value>) -> String {
        let Some(template) = self.lookup(&id.to_string()) else {
            return engine_text.to_owned();
        };
        interpolate(template, context)
    }
}

/// Replaces `{key}` with the context's value for `key` (nothing when the
/// engine sent no such value).
fn interpolate(template: &str, context: Option<&Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let key = &after[..end];
                let value = context.and_then(|c| c.get(key));
                out.push_str(&value.map(display).unwrap_or_default());
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A context value as a person reads it: strings as they are, timestamps
/// as a time of day, lists joined.
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.format("%H:%M UTC").to_string())
            .unwrap_or_else(|_| s.clone()),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The language for a request: `Accept-Language` by quality, then the
/// project's default, then English.
pub fn choose_language(
    accept_language: Option<&str>,
    project_default: Option<&str>,
) -> &'static str {
    let mut wanted: Vec<(f32, &str)> = accept_language
        .unwrap_or("")
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (!tag.is_empty() && quality > 0.0).then_some((quality, tag))
        })
        .collect();
    // Stable: equal qualities keep the client's order.
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let known = |tag: &str| {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        LANGUAGES.iter().copied().find(|l| *l == primary)
    };
    wanted
        .iter()
        .find_map(|(_, tag)| known(tag))
        .or_else(|| project_default.and_then(known))
        .unwrap_or("en")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn catalogues_parse_and_german_covers_every_english_key() {
        let en: Catalogue = serde_json::from_str(include_str!("../locales/en.json")).unwrap();
        let de: Catalogue = serde_json::from_str(include_str!("../locales/de.json")).unwrap();
        let missing: Vec<_> = en.keys().filter(|k| !de.contains_key(*k)).collect();
        assert!(missing.is_empty(), "German lacks {missing:?}");
    }

    #[test]
    fn language_follows_accept_language_then_project_then_english() {
        assert_eq!(choose_language(Some("de-DE,de;q=0.9,en;q=0.8"), None), "de");
        assert_eq!(
            choose_language(Some("fr;q=1, en;q=0.5, de;q=0.7"), None),
            "de"
        );
        assert_eq!(choose_language(Some("fr"), Some("de")), "de");
        assert_eq!(choose_language(None, None), "en");
        assert_eq!(choose_language(Some("de;q=0"), None), "en");
    }

    #[test]
    fn context_values_fill_the_placeholders() {
        let catalogues = Catalogues::default();
        let de = catalogues.translator("de");
        let text = de.message(
            4000002,
            "Property email is missing.",
            Some(&json!({"property": "email"})),
        );
        assert!(text.contains("email"), "{text}");
        assert_ne!(text, "Property email is missing.");
        // An id no catalogue knows shows the engine's own text.
        assert_eq!(de.message(9999999, "As sent", None), "As sent");
    }
}
