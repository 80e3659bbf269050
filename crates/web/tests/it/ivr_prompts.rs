//! Prompts an admin uploads (issue 27), on either backend: a recording at any common rate in
//! stereo becomes the 8 kHz mono file calls play, replacing the old one whole; what is not a
//! usable WAV, too long, too big, for a prompt or language the flow lacks, or from a non-admin is
//! refused with a clear code; the list tells which prompts exist and which are missing.

use std::path::{Path, PathBuf};

use leadline_telephony::{prompts, wav};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Api, TestApp};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PCM WAV file of `frames` frames of a 440 Hz tone, as a recorder would write it.
fn recording(rate: u32, channels: u16, bits: u16, frames: u32) -> Vec<u8> {
    let bytes_per_sample = u32::from(bits / 8);
    let block = u32::from(channels) * bytes_per_sample;
    let data_len = frames * block;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..frames {
        let value = (8000.0
            * (2.0 * std::f64::consts::PI * 440.0 * f64::from(n) / f64::from(rate)).sin())
            as i32;
        for _ in 0..channels {
            match bits {
                16 => out.extend_from_slice(&(value as i16).to_le_bytes()),
                _ => out.extend_from_slice(&(value << 8).to_le_bytes()[..3]),
            }
        }
    }
    out
}

async fn put_wav(api: &Api, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let res = api
        .http
        .put(format!("{}{path}", api.base))
        .bearer_auth(api.token.as_ref().unwrap())
        .header("content-type", "audio/wav")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_recording_replaces_the_prompt_as_8khz_mono_and_bad_uploads_are_refused_clearly() {
    let dir = scratch("prompt-uploads");
    let prompt_dir = dir.clone();
    let app = TestApp::spawn_with(move |s| {
        s.ivr.prompt_dir = prompt_dir;
        s.ivr.max_prompt_bytes = 1024 * 1024;
    })
    .await;
    prompts::write_prompt(&dir, "cmn", "main_menu", &[100; 4000]).unwrap();
    let admin = app.api("admin").await;

    let (status, list) = admin.get_json("/api/v1/prompts").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["languages"], serde_json::json!(["cmn", "en", "yue"]));
    // Ten prompts, and the fragments look-up answers are spoken from (the flow has collect nodes).
    let names = 10 + leadline_telephony::speech::fragment_names().len();
    assert_eq!(list["prompts"].as_array().unwrap().len(), names);
    assert_eq!(list["present"].as_array().unwrap().len(), 1);
    assert_eq!(list["present"][0]["prompt"], "main_menu");
    assert_eq!(list["present"][0]["duration_ms"], 500);
    assert_eq!(list["missing"].as_array().unwrap().len(), 3 * names - 1);

    // 1.5 s recorded at 44.1 kHz in stereo.
    let (status, body) = put_wav(
        &admin,
        "/api/v1/prompts/cmn/main_menu",
        recording(44_100, 2, 16, 66_150),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["duration_ms"], 1500);
    assert_eq!(body["received"]["sample_rate"], 44_100);
    assert_eq!(body["received"]["channels"], 2);
    let res = admin.get("/api/v1/prompts/cmn/main_menu").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    let played = wav::read(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((played.sample_rate, played.channels), (8000, 1));
    assert_eq!(played.duration_ms(), 1500);
    let loudest = played
        .samples
        .iter()
        .map(|s| s.unsigned_abs())
        .max()
        .unwrap();
    assert!((7800..=8200).contains(&loudest), "{loudest}");
    // Written whole: the one file, no temporary left beside it.
    assert_eq!(files_in(&dir.join("cmn")), ["main_menu.wav"]);
    // A language folder that did not exist yet is made.
    let (status, body) = put_wav(
        &admin,
        "/api/v1/prompts/yue/goodbye",
        recording(16_000, 1, 16, 16_000),
    )
    .await;
    assert_eq!(
        (status, &body["duration_ms"]),
        (StatusCode::OK, &Value::from(1000))
    );
    let (_, list) = admin.get_json("/api/v1/prompts").await;
    assert_eq!(list["missing"].as_array().unwrap().len(), 3 * names - 2);

    let refusals: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "cmn/main_menu",
            b"ID3 this is an mp3".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "prompt_not_wav",
        ),
        (
            "cmn/main_menu",
            recording(48_000, 1, 24, 4800),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "prompt_format_unsupported",
        ),
        (
            "cmn/main_menu",
            recording(1000, 1, 16, 301_000),
            StatusCode::UNPROCESSABLE_ENTITY,
            "prompt_too_long",
        ),
        (
            "cmn/main_menu",
            recording(8000, 1, 16, 0),
            StatusCode::UNPROCESSABLE_ENTITY,
            "prompt_empty",
        ),
        (
            "cmn/main_menu",
            vec![0; 1_500_000],
            StatusCode::PAYLOAD_TOO_LARGE,
            "prompt_too_large",
        ),
        (
            "cmn/welcome",
            recording(8000, 1, 16, 8000),
            StatusCode::NOT_FOUND,
            "prompt_unknown",
        ),
        (
            "fr/main_menu",
            recording(8000, 1, 16, 8000),
            StatusCode::NOT_FOUND,
            "prompt_unknown",
        ),
        (
            "cmn/..%2Fmain_menu",
            recording(8000, 1, 16, 8000),
            StatusCode::NOT_FOUND,
            "prompt_unknown",
        ),
    ];
    for (path, body, expected, code) in refusals {
        let (status, answer) = put_wav(&admin, &format!("/api/v1/prompts/{path}"), body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (expected, Some(code)),
            "{path}: {answer}"
        );
        assert!(answer["message"].as_str().unwrap().len() > 10, "{answer}");
    }
    // None of them touched the file calls play.
    let kept = prompts::read_prompt(&dir, "cmn", "main_menu").unwrap();
    assert_eq!(kept.duration_ms(), 1500);
    assert_eq!(files_in(&dir.join("cmn")), ["main_menu.wav"]);

    let (status, body) = admin.get_json("/api/v1/prompts/en/goodbye").await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &Value::from("not_found"))
    );

    for user in ["sup_a", "agent_a1"] {
        let other = app.api(user).await;
        let (status, _) = put_wav(
            &other,
            "/api/v1/prompts/cmn/main_menu",
            recording(8000, 1, 16, 800),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
        assert_eq!(
            other.get_json("/api/v1/prompts").await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            other.get("/api/v1/prompts/cmn/main_menu").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        prompts::read_prompt(&dir, "cmn", "main_menu")
            .unwrap()
            .duration_ms(),
        1500
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
