//! Prompts as files, `<dir>/<language>/<prompt>.wav` (8 kHz mono 16-bit): the names a flow plays,
//! the table of what each says per language (`<flow>.prompts.toml`), which files exist or are
//! missing, and writing one so that a call never reads half a file.

mod espeak;
mod texts;

pub use espeak::{GenerateError, Generated, generate, installed_voices, speak};
pub use texts::{Part, PromptTexts, Text, TextsError};

use crate::ivr::{Flow, Node};
use crate::wav::{self, Wav, WavWriter};
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// The languages a first set can be generated in: espeak-ng's Mandarin, English and Cantonese.
pub const GENERATED_LANGUAGES: [&str; 3] = ["cmn", "en", "yue"];

/// The texts shipped beside the demo flow.
pub const DEMO_TEXTS: &str = include_str!("../../flows/9000.prompts.toml");

/// Every prompt name the flow may play, sorted: its nodes' prompts and, when it has a collect
/// node, the fragments answers are spoken from (`speech::fragment_names`).
pub fn prompt_names(flow: &Flow) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if flow
        .nodes
        .values()
        .any(|node| matches!(node, Node::Collect(_)))
    {
        names.extend(crate::speech::fragment_names());
    }
    for node in flow.nodes.values() {
        match node {
            Node::LanguageMenu(menu) => names.insert(menu.prompt.clone()),
            Node::Menu(menu) => names.insert(menu.prompt.clone()),
            Node::Collect(collect) => names.insert(collect.prompt.clone()),
            Node::Queue(queue) => names.insert(queue.prompt.clone()),
            Node::Play(play) => names.insert(play.prompt.clone()),
            Node::Voicemail(voicemail) => {
                names.insert(voicemail.prompt.clone());
                names.insert(voicemail.record_prompt.clone())
            }
            Node::Hangup(hangup) => match &hangup.prompt {
                Some(prompt) => names.insert(prompt.clone()),
                None => false,
            },
        };
    }
    names
}

/// Where a prompt's file is.
pub fn prompt_path(dir: &Path, language: &str, prompt: &str) -> PathBuf {
    dir.join(language).join(format!("{prompt}.wav"))
}

/// One prompt file as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptFile {
    pub language: String,
    pub prompt: String,
    /// Length in milliseconds, when the file is a readable 8 kHz mono WAV.
    pub duration_ms: Option<u64>,
    pub bytes: u64,
}

/// Which of `names` exist in each of `languages`: `(present, missing)`.
pub fn survey(
    dir: &Path,
    languages: &[String],
    names: &BTreeSet<String>,
) -> (Vec<PromptFile>, Vec<(String, String)>) {
    let (mut present, mut missing) = (Vec::new(), Vec::new());
    for language in languages {
        for prompt in names {
            let path = prompt_path(dir, language, prompt);
            match std::fs::read(&path) {
                Ok(bytes) => present.push(PromptFile {
                    language: language.clone(),
                    prompt: prompt.clone(),
                    duration_ms: wav::read(&bytes)
                        .ok()
                        .filter(|w| w.sample_rate == wav::SAMPLE_RATE && w.channels == 1)
                        .map(|w| w.duration_ms()),
                    bytes: bytes.len() as u64,
                }),
                Err(_) => missing.push((language.clone(), prompt.clone())),
            }
        }
    }
    (present, missing)
}

/// Writes 8 kHz mono samples as the prompt's file: first to a temporary file in the same folder,
/// synced, then renamed over the old one, so that a call reads either the old or the new whole.
pub fn write_prompt(dir: &Path, language: &str, prompt: &str, samples: &[i16]) -> io::Result<()> {
    let folder = dir.join(language);
    std::fs::create_dir_all(&folder)?;
    let target = prompt_path(dir, language, prompt);
    let temporary = folder.join(format!(
        ".{prompt}.wav.{}-{}.tmp",
        std::process::id(),
        unique()
    ));
    let written = (|| {
        let file = std::fs::File::create(&temporary)?;
        let mut writer = WavWriter::new(io::BufWriter::new(file))?;
        writer.write_samples(samples)?;
        let file = writer.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Reads a prompt file back as audio.
pub fn read_prompt(dir: &Path, language: &str, prompt: &str) -> io::Result<Wav> {
    let bytes = std::fs::read(prompt_path(dir, language, prompt))?;
    wav::read(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::DEMO_FLOW;

    #[test]
    fn the_demo_flow_plays_ten_prompts_and_the_answer_fragments() {
        let flow = Flow::parse(DEMO_FLOW).unwrap();
        let names = prompt_names(&flow);
        let prompts: Vec<&String> = names
            .iter()
            .filter(|name| !crate::speech::fragment_names().contains(*name))
            .collect();
        assert_eq!(
            prompts,
            [
                "choose_language",
                "enter_order_number",
                "enter_pin",
                "goodbye",
                "leave_message",
                "main_menu",
                "pin_refused",
                "please_hold",
                "voicemail_category",
                "voicemail_saved"
            ]
        );
        assert_eq!(names.len(), 10 + crate::speech::fragment_names().len());
        assert!(names.contains("say_10000") && names.contains("ans_overdue"));
    }

    #[test]
    fn a_written_prompt_replaces_the_old_whole_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("leadline-prompts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_prompt(&dir, "cmn", "goodbye", &[1; 800]).unwrap();
        write_prompt(&dir, "cmn", "goodbye", &[2; 1600]).unwrap();
        let wav = read_prompt(&dir, "cmn", "goodbye").unwrap();
        assert_eq!((wav.duration_ms(), wav.samples[0]), (200, 2));
        let files: Vec<_> = std::fs::read_dir(dir.join("cmn")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let names: BTreeSet<String> = ["goodbye", "main_menu"].map(String::from).into();
        let (present, missing) = survey(&dir, &["cmn".into(), "en".into()], &names);
        assert_eq!(present.len(), 1);
        assert_eq!(present[0].duration_ms, Some(200));
        assert_eq!(
            missing,
            [
                ("cmn".into(), "main_menu".into()),
                ("en".into(), "goodbye".into()),
                ("en".into(), "main_menu".into())
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
