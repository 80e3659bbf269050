//! A first set of prompts spoken by espeak-ng (run as a process, WAV on its standard output at
//! 22,050 Hz) and brought to 8 kHz mono by our resampler.

use super::{PromptTexts, prompt_names, write_prompt};
use crate::ivr::Flow;
use crate::{resample, wav};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use thiserror::Error;

/// Silence between the parts of a prompt spoken in different voices.
const PAUSE_BETWEEN_PARTS_MS: usize = 300;

#[derive(Debug, Error)]
pub enum GenerateError {
    #[error("espeak-ng cannot be run ({0}); install it: apt-get install espeak-ng")]
    NotInstalled(String),
    #[error(
        "espeak-ng has no voice {voice:?}; voices installed here: {}",
        .installed.join(", ")
    )]
    UnknownVoice {
        voice: String,
        installed: Vec<String>,
    },
    #[error("prompt texts are missing, nothing was written:\n{}", missing_list(.0))]
    MissingTexts(BTreeMap<String, Vec<String>>),
    #[error("espeak-ng failed with voice {voice:?}: {message}")]
    Espeak { voice: String, message: String },
    #[error("espeak-ng's output with voice {voice:?} is not a WAV file: {message}")]
    Audio { voice: String, message: String },
    #[error("cannot write {}: {error}", .path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

fn missing_list(missing: &BTreeMap<String, Vec<String>>) -> String {
    missing
        .iter()
        .map(|(language, prompts)| format!("- {language}: {}", prompts.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The voices (language codes) espeak-ng has here, from `espeak-ng --voices`.
pub fn installed_voices() -> Result<BTreeSet<String>, GenerateError> {
    let output = Command::new("espeak-ng")
        .arg("--voices")
        .output()
        .map_err(|e| GenerateError::NotInstalled(e.to_string()))?;
    Ok(voice_names(&String::from_utf8_lossy(&output.stdout)))
}

/// The names `-v` accepts, from the listing's columns Pty, Language, Age/Gender, VoiceName, File
/// and Other Languages: each language, each file's name (`gmw/en` → `en`) and each other
/// language (`(en 2)`).
fn voice_names(listing: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in listing.lines().skip(1) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if let Some(language) = columns.get(1) {
            names.insert((*language).to_owned());
        }
        if let Some(file) = columns.get(4) {
            names.insert(file.rsplit('/').next().unwrap_or(file).to_owned());
        }
        let others = columns.get(5..).unwrap_or_default().join(" ");
        for other in others.split('(').skip(1) {
            if let Some(name) = other.split_whitespace().next() {
                names.insert(name.trim_end_matches(')').to_owned());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn voices_are_named_by_language_file_and_other_languages() {
        let listing =
            "Pty Language       Age/Gender VoiceName          File                 Other Languages
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 5  yue             --/M      Chinese_(Cantonese) sit/yue              (zh-yue 5)(zh 8)
";
        let names: Vec<String> = super::voice_names(listing).into_iter().collect();
        assert!(names.contains(&"en".to_owned()) && names.contains(&"en-gb".to_owned()));
        assert!(names.contains(&"yue".to_owned()) && names.contains(&"zh-yue".to_owned()));
        assert!(!names.contains(&"Great_Britain)".to_owned()), "{names:?}");
    }
}

/// `text` spoken by espeak-ng's `voice`, as 8 kHz mono samples.
pub fn speak(voice: &str, text: &str) -> Result<Vec<i16>, GenerateError> {
    let failed = |message: String| GenerateError::Espeak {
        voice: voice.to_owned(),
        message,
    };
    // The text goes in on standard input (UTF-8), never as an argument espeak-ng could read as
    // an option.
    let mut child = Command::new("espeak-ng")
        .args(["-v", voice, "-b", "1", "--stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| GenerateError::NotInstalled(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| failed(e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let audio = wav::read(&output.stdout).map_err(|e| GenerateError::Audio {
        voice: voice.to_owned(),
        message: e.to_string(),
    })?;
    Ok(resample::to_telephone(&audio))
}

/// Below this a sample counts as silence when fragments are trimmed.
const SILENCE: u16 = 300;
/// Silence kept at each end of a trimmed fragment.
const KEPT_SILENCE_MS: usize = 30;

/// `samples` without their silent start and end (a little kept at each end).
fn trim_silence(samples: &[i16]) -> Vec<i16> {
    let loud = |s: &i16| s.unsigned_abs() >= SILENCE;
    let (Some(first), Some(last)) = (
        samples.iter().position(loud),
        samples.iter().rposition(loud),
    ) else {
        return Vec::new();
    };
    let keep = KEPT_SILENCE_MS * wav::SAMPLE_RATE as usize / 1000;
    let start = first.saturating_sub(keep);
    let end = (last + 1 + keep).min(samples.len());
    samples[start..end].to_vec()
}

#[cfg(test)]
mod trim_tests {
    #[test]
    fn a_fragment_loses_its_silent_ends_but_keeps_30_ms_of_each() {
        let mut samples = vec![0i16; 4000];
        samples.extend([1000i16; 800]);
        samples.extend(vec![5i16; 4000]);
        let trimmed = super::trim_silence(&samples);
        assert_eq!(trimmed.len(), 240 + 800 + 240);
        assert_eq!((trimmed[239], trimmed[240]), (0, 1000));
        assert!(super::trim_silence(&[0; 100]).is_empty());
    }
}

/// What `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// `(language, prompt, duration_ms)` in the order written.
    pub files: Vec<(String, String, u64)>,
}

/// Speaks every prompt of `flow` in each of `languages` from `texts` and writes them under `dir`.
/// Refuses before writing anything when a voice is not installed or a text is missing.
pub fn generate(
    flow: &Flow,
    texts: &PromptTexts,
    dir: &Path,
    languages: &[String],
) -> Result<Generated, GenerateError> {
    let names = prompt_names(flow);
    let missing = texts.missing(languages, &names);
    if !missing.is_empty() {
        return Err(GenerateError::MissingTexts(missing));
    }
    let installed = installed_voices()?;
    let mut needed: BTreeSet<String> = languages.iter().cloned().collect();
    needed.extend(texts.voices(languages, &names));
    if let Some(voice) = needed.iter().find(|voice| !installed.contains(*voice)) {
        return Err(GenerateError::UnknownVoice {
            voice: voice.clone(),
            installed: installed.into_iter().collect(),
        });
    }
    let fragments = crate::speech::fragment_names();
    let mut files = Vec::new();
    for language in languages {
        for name in &names {
            let mut samples = Vec::new();
            for (voice, text) in texts.parts(language, name).unwrap_or_default() {
                if !samples.is_empty() {
                    let pause = PAUSE_BETWEEN_PARTS_MS * wav::SAMPLE_RATE as usize / 1000;
                    samples.extend(std::iter::repeat_n(0i16, pause));
                }
                samples.extend(speak(&voice, &text)?);
            }
            if fragments.contains(name) {
                // Answers string fragments together: espeak-ng's own silence around each word
                // would leave gaps longer than the words.
                samples = trim_silence(&samples);
            }
            write_prompt(dir, language, name, &samples).map_err(|error| GenerateError::Write {
                path: super::prompt_path(dir, language, name),
                error,
            })?;
            let duration_ms = samples.len() as u64 * 1000 / u64::from(wav::SAMPLE_RATE);
            files.push((language.clone(), name.clone(), duration_ms));
        }
    }
    Ok(Generated { files })
}
