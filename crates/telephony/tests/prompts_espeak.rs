//! A first set of prompts spoken by the real espeak-ng (Debian package `espeak-ng`): every prompt
//! of the demo flow in 普通话, English and 粤语, each an 8 kHz mono 16-bit WAV that lasts; a voice
//! espeak-ng lacks and a missing text are refused before anything is written.

use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::prompts::{
    self, DEMO_TEXTS, GENERATED_LANGUAGES, GenerateError, PromptTexts,
};
use leadline_telephony::wav;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-espeak-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_demo_prompt_is_spoken_in_mandarin_english_and_cantonese_as_telephone_audio() {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let texts = PromptTexts::parse(DEMO_TEXTS).unwrap();
    let dir = scratch("demo");
    let languages: Vec<String> = GENERATED_LANGUAGES.map(String::from).into();
    let generated = prompts::generate(&flow, &texts, &dir, &languages).unwrap();
    let names = prompts::prompt_names(&flow);
    assert_eq!(generated.files.len(), names.len() * 3);
    let fragments = leadline_telephony::speech::fragment_names();
    for language in &languages {
        for name in &names {
            let bytes = std::fs::read(prompts::prompt_path(&dir, language, name))
                .unwrap_or_else(|e| panic!("{language}/{name}.wav: {e}"));
            let audio = wav::read(&bytes).unwrap();
            assert_eq!(
                (audio.sample_rate, audio.channels),
                (8000, 1),
                "{language}/{name}"
            );
            // A prompt is a sentence; an answer's fragment a word or two, its silence trimmed.
            let shortest = if fragments.contains(name) { 100 } else { 300 };
            assert!(
                audio.duration_ms() > shortest,
                "{language}/{name} lasts {} ms",
                audio.duration_ms()
            );
            if fragments.contains(name) {
                // No more than 30 ms of silence before the first sound and after the last.
                let loud = |s: &i16| s.unsigned_abs() >= 300;
                let first = audio.samples.iter().position(loud).unwrap();
                let last = audio.samples.iter().rposition(loud).unwrap();
                assert!(
                    first <= 240 && audio.samples.len() - 1 - last <= 240,
                    "{language}/{name}: its silence is trimmed"
                );
            }
            let loudest = audio.samples.iter().map(|s| s.unsigned_abs()).max();
            assert!(loudest > Some(1000), "{language}/{name} is silent");
        }
    }
    // The language menu says each choice in its own language: longer than any one part.
    let menu = prompts::read_prompt(&dir, "cmn", "choose_language").unwrap();
    let english_part = prompts::speak("en", "For English, press 2.").unwrap();
    assert!(menu.samples.len() > english_part.len() * 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_voice_espeak_ng_lacks_is_refused_by_name_and_nothing_is_written() {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let mut table = String::from("[tlh]\n");
    for name in prompts::prompt_names(&flow) {
        table.push_str(&format!("{name} = \"Qapla'\"\n"));
    }
    let texts = PromptTexts::parse(&table).unwrap();
    let dir = scratch("klingon");
    let error = prompts::generate(&flow, &texts, &dir, &["tlh".into()]).unwrap_err();
    assert!(
        matches!(&error, GenerateError::UnknownVoice { voice, installed }
            if voice == "tlh" && installed.iter().any(|v| v == "cmn")),
        "{error}"
    );
    assert!(error.to_string().contains("no voice \"tlh\""), "{error}");
    assert!(!dir.exists());
}

#[test]
fn missing_texts_are_listed_per_language_and_nothing_is_written() {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let texts =
        PromptTexts::parse("[en]\ngoodbye = \"Goodbye.\"\nmain_menu = \"Press 9.\"").unwrap();
    let dir = scratch("missing");
    let error = prompts::generate(&flow, &texts, &dir, &["en".into(), "yue".into()]).unwrap_err();
    let message = error.to_string();
    let missing = |language: &str| -> Vec<String> {
        let line = message
            .lines()
            .find_map(|line| line.strip_prefix(&format!("- {language}: ")))
            .unwrap_or_else(|| panic!("{language} is not listed: {message}"));
        line.split(", ").map(str::to_owned).collect()
    };
    let (en, yue) = (missing("en"), missing("yue"));
    for name in [
        "choose_language",
        "leave_message",
        "please_hold",
        "voicemail_category",
        "voicemail_saved",
        "enter_order_number",
        "say_0",
        "ans_overdue",
    ] {
        assert!(
            en.contains(&name.to_owned()) && yue.contains(&name.to_owned()),
            "{name}: {message}"
        );
    }
    for given in ["goodbye", "main_menu"] {
        assert!(!en.contains(&given.to_owned()), "{message}");
        assert!(yue.contains(&given.to_owned()), "{message}");
    }
    assert!(!dir.exists());
}
