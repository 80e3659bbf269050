//! Prompt files for admins (issue 27): which exist per language and which the current flow still
//! lacks, each one played back, and recorded ones uploaded: any 16-bit PCM WAV, converted to
//! 8 kHz mono and written whole (temporary file, then rename) into the prompt folder.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadline_telephony::prompts::{self, prompt_names};
use leadline_telephony::{resample, wav};
use serde_json::{Value, json};

use super::Path;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::i18n::Lang;
use crate::ivr::MAX_PROMPT_SECONDS;

/// An upload refused, with the stable code the interface translates and the reason in words.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            reason: reason.into(),
        }
    }

    /// The message for a reader of `lang`: the translated code, then the reason.
    pub fn message(&self, lang: Lang) -> String {
        format!(
            "{} ({})",
            lang.t(&format!("error.{}", self.code)),
            self.reason
        )
    }
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Refusal {
        error.log();
        Refusal::new(error.status(), error.code(), error.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code,
            "error": self.code,
            "message": self.message(Lang::En),
            "details": { "reason": self.reason },
        });
        (self.status, Json(body)).into_response()
    }
}

/// Refuses a language or prompt name the current flow does not have (404 `prompt_unknown`).
fn check_name(state: &AppState, language: &str, prompt: &str) -> Result<(), Refusal> {
    let flow = state.ivr.flow();
    if !flow.languages.iter().any(|l| l == language) {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "prompt_unknown",
            format!(
                "flow {} has no language {language:?}; its languages: {}",
                flow.number,
                flow.languages.join(", ")
            ),
        ));
    }
    let names = prompt_names(&flow);
    if !names.contains(prompt) {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "prompt_unknown",
            format!(
                "flow {} plays no prompt {prompt:?}; its prompts: {}",
                flow.number,
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

/// What an accepted upload became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub duration_ms: u64,
    pub sample_rate: u32,
    pub channels: u16,
}

/// Checks a recording, converts it to 8 kHz mono and writes it as the prompt's file.
pub async fn accept(
    state: &AppState,
    language: &str,
    prompt: &str,
    bytes: &[u8],
) -> Result<Accepted, Refusal> {
    check_name(state, language, prompt)?;
    if bytes.len() > state.ivr.max_prompt_bytes {
        return Err(too_large(state));
    }
    let audio = wav::read(bytes).map_err(|error| match error {
        wav::WavError::Format { .. } | wav::WavError::NotTelephoneAudio { .. } => Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "prompt_format_unsupported",
            format!("{error}; save it as 16-bit PCM WAV"),
        ),
        _ => Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "prompt_not_wav",
            format!("{error}; send a WAV file (16-bit PCM, any rate, mono or stereo)"),
        ),
    })?;
    if audio.sample_rate == 0 || audio.channels == 0 || audio.samples.is_empty() {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "prompt_empty",
            "the file holds no audio",
        ));
    }
    let duration_ms = audio.duration_ms();
    if duration_ms > MAX_PROMPT_SECONDS * 1000 {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "prompt_too_long",
            format!(
                "the recording lasts {} s; a prompt may last {MAX_PROMPT_SECONDS} s",
                duration_ms / 1000
            ),
        ));
    }
    let (sample_rate, channels) = (audio.sample_rate, audio.channels);
    let dir = state.ivr.prompt_dir.clone();
    let (language, prompt) = (language.to_owned(), prompt.to_owned());
    let written = tokio::task::spawn_blocking(move || {
        let samples = resample::to_telephone(&audio);
        prompts::write_prompt(&dir, &language, &prompt, &samples)
            .map(|()| samples.len() as u64 * 1000 / u64::from(wav::SAMPLE_RATE))
    })
    .await
    .map_err(|e| Refusal::from(AppError::Internal(e.to_string())))?
    .map_err(|e| Refusal::from(AppError::Internal(format!("writing the prompt: {e}"))))?;
    Ok(Accepted {
        duration_ms: written,
        sample_rate,
        channels,
    })
}

fn too_large(state: &AppState) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "prompt_too_large",
        format!(
            "a prompt file may have at most {} MB",
            state.ivr.max_prompt_bytes / (1024 * 1024)
        ),
    )
}

/// The prompts of the current flow per language: `{number, languages, prompts, present:
/// [{language, prompt, duration_ms, bytes, url}], missing: [{language, prompt}]}` (admins).
#[utoipa::path(get, path = "/api/v1/prompts",
    responses((status = 200, description = "which prompt files exist and which are missing"),
        (status = 403, description = "forbidden: not an admin")))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let flow = state.ivr.flow();
    let names = prompt_names(&flow);
    let dir = state.ivr.prompt_dir.clone();
    let languages = flow.languages.clone();
    let survey_names = names.clone();
    let (present, missing) =
        tokio::task::spawn_blocking(move || prompts::survey(&dir, &languages, &survey_names))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
    let present: Vec<Value> = present
        .iter()
        .map(|p| {
            json!({
                "language": p.language,
                "prompt": p.prompt,
                "duration_ms": p.duration_ms,
                "bytes": p.bytes,
                "url": format!("/api/v1/prompts/{}/{}", p.language, p.prompt),
            })
        })
        .collect();
    let missing: Vec<Value> = missing
        .iter()
        .map(|(language, prompt)| json!({ "language": language, "prompt": prompt }))
        .collect();
    Ok(Json(json!({
        "number": flow.number,
        "languages": flow.languages,
        "prompts": names,
        "present": present,
        "missing": missing,
    })))
}

/// One prompt file as `audio/wav` (admins).
#[utoipa::path(get, path = "/api/v1/prompts/{language}/{prompt}",
    params(("language" = String, Path, description = "cmn, en, yue, …"), ("prompt" = String, Path, description = "the prompt's name in the flow")),
    responses((status = 200, description = "the WAV file", content_type = "audio/wav"),
        (status = 403, description = "forbidden: not an admin"),
        (status = 404, description = "prompt_unknown / not_found: no such prompt or no file yet")))]
pub async fn audio(
    State(state): State<AppState>,
    caller: Caller,
    Path((language, prompt)): Path<(String, String)>,
) -> Result<Response, Refusal> {
    caller.require_admin()?;
    check_name(&state, &language, &prompt)?;
    let path = prompts::prompt_path(&state.ivr.prompt_dir, &language, &prompt);
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, "audio/wav"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Refusal::from(AppError::NotFound))
        }
        Err(e) => Err(Refusal::from(AppError::Internal(e.to_string()))),
    }
}

/// Replaces a prompt with the recording in the body (a WAV file: 16-bit PCM, any rate, mono or
/// stereo; at most 5 minutes), converted to 8 kHz mono. Answers `{language, prompt,
/// duration_ms, received: {sample_rate, channels}}` (admins).
#[utoipa::path(put, path = "/api/v1/prompts/{language}/{prompt}",
    params(("language" = String, Path, description = "one of the flow's languages"), ("prompt" = String, Path, description = "the prompt's name in the flow")),
    request_body(content = Vec<u8>, content_type = "audio/wav", description = "the recording"),
    responses((status = 200, description = "written"), (status = 403, description = "forbidden: not an admin"),
        (status = 404, description = "prompt_unknown: the flow has no such language or prompt"),
        (status = 413, description = "prompt_too_large"),
        (status = 415, description = "prompt_not_wav / prompt_format_unsupported"),
        (status = 422, description = "prompt_too_long (over 5 minutes) / prompt_empty")))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path((language, prompt)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, Refusal> {
    caller.require_admin()?;
    check_name(&state, &language, &prompt)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.ivr.max_prompt_bytes) {
        return Err(too_large(&state));
    }
    let bytes = axum::body::to_bytes(body, state.ivr.max_prompt_bytes)
        .await
        .map_err(|_| too_large(&state))?;
    let accepted = accept(&state, &language, &prompt, &bytes).await?;
    tracing::info!(%language, %prompt, user = caller.user.id.0, "prompt replaced by an upload");
    Ok(Json(json!({
        "language": language,
        "prompt": prompt,
        "duration_ms": accepted.duration_ms,
        "received": { "sample_rate": accepted.sample_rate, "channels": accepted.channels },
    })))
}
