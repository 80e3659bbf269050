//! The table of what each prompt says, per language: a TOML file beside the flow
//! (`9000.toml` → `9000.prompts.toml`), one table per language, one entry per prompt. An entry is
//! a text spoken in the table's language, or a list of parts each in its own voice (a language
//! menu says each choice in the language it offers).

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// The texts of one flow's prompts: language → prompt → text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct PromptTexts(pub BTreeMap<String, BTreeMap<String, Text>>);

/// What one prompt says.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Text {
    /// Spoken in the table's language.
    Plain(String),
    /// Spoken part by part, each in its voice.
    Parts(Vec<Part>),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// An espeak-ng voice (`cmn`, `en`, `yue`); the table's language when absent.
    pub voice: Option<String>,
    pub text: String,
}

#[derive(Debug, Error)]
pub enum TextsError {
    #[error("the prompt texts cannot be read: {0}")]
    Syntax(String),
}

impl PromptTexts {
    pub fn parse(text: &str) -> Result<Self, TextsError> {
        toml::from_str(text).map_err(|error| TextsError::Syntax(error.to_string()))
    }

    /// The parts to speak for `prompt` in `language`, each with its voice; `None` when the table
    /// has no (or only an empty) text for it.
    pub fn parts(&self, language: &str, prompt: &str) -> Option<Vec<(String, String)>> {
        let text = self.0.get(language)?.get(prompt)?;
        let parts: Vec<(String, String)> = match text {
            Text::Plain(text) => vec![(language.to_owned(), text.clone())],
            Text::Parts(parts) => parts
                .iter()
                .map(|part| {
                    let voice = part.voice.clone().unwrap_or_else(|| language.to_owned());
                    (voice, part.text.clone())
                })
                .collect(),
        };
        let parts: Vec<_> = parts
            .into_iter()
            .filter(|(_, text)| !text.trim().is_empty())
            .collect();
        (!parts.is_empty()).then_some(parts)
    }

    /// For each language, the prompts of `names` that have no text: empty when all are there.
    pub fn missing(
        &self,
        languages: &[String],
        names: &BTreeSet<String>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut missing = BTreeMap::new();
        for language in languages {
            let absent: Vec<String> = names
                .iter()
                .filter(|name| self.parts(language, name).is_none())
                .cloned()
                .collect();
            if !absent.is_empty() {
                missing.insert(language.clone(), absent);
            }
        }
        missing
    }

    /// Every voice the texts of `languages` need.
    pub fn voices(&self, languages: &[String], names: &BTreeSet<String>) -> BTreeSet<String> {
        let mut voices = BTreeSet::new();
        for language in languages {
            for name in names {
                for (voice, _) in self.parts(language, name).unwrap_or_default() {
                    voices.insert(voice);
                }
            }
        }
        voices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::{DEMO_FLOW, Flow};
    use crate::prompts::{DEMO_TEXTS, GENERATED_LANGUAGES, prompt_names};

    #[test]
    fn the_demo_texts_cover_every_prompt_in_mandarin_english_and_cantonese() {
        let texts = PromptTexts::parse(DEMO_TEXTS).unwrap();
        let names = prompt_names(&Flow::parse(DEMO_FLOW).unwrap());
        let languages: Vec<String> = GENERATED_LANGUAGES.map(String::from).into();
        assert_eq!(texts.missing(&languages, &names), BTreeMap::new());
        let voices: Vec<String> = texts.voices(&languages, &names).into_iter().collect();
        assert_eq!(voices, ["cmn", "en", "yue"]);
    }

    #[test]
    fn missing_and_empty_texts_are_named_per_language() {
        let texts = PromptTexts::parse(
            r#"
            [cmn]
            goodbye = "再见"
            main_menu = "  "
            [en]
            goodbye = [{ text = "Goodbye." }, { voice = "cmn", text = "再见" }]
            "#,
        )
        .unwrap();
        let names: BTreeSet<String> = ["goodbye", "main_menu"].map(String::from).into();
        let languages = ["cmn", "en", "yue"].map(String::from);
        let missing = texts.missing(&languages, &names);
        assert_eq!(missing["cmn"], ["main_menu"]);
        assert_eq!(missing["en"], ["main_menu"]);
        assert_eq!(missing["yue"], ["goodbye", "main_menu"]);
        assert_eq!(
            texts.parts("en", "goodbye").unwrap(),
            [
                ("en".to_owned(), "Goodbye.".to_owned()),
                ("cmn".to_owned(), "再见".to_owned())
            ]
        );
        assert!(PromptTexts::parse("[cmn]\ngoodbye = 3").is_err());
    }
}
