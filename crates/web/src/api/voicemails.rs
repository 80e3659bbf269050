//! Voicemails beyond the list (issue 27): the recording, for admins and the person it was passed
//! to, and the re-filing an admin does (category, responsible person, note) or the assignee's
//! "done", each made on the version read.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use leadline_domain::UserId;
use leadline_domain::voicemail::{Refiling, VoicemailCategory, VoicemailStatus};
use leadline_store::telephony::voicemails::{self, Voicemail};
use leadline_store::{StoreError, now};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{JsonBody, Path, expected_version};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// A voicemail as the API shows it (the list's items and the answer to a change).
pub fn view(v: &Voicemail) -> Value {
    json!({
        "id": v.id,
        "caller": v.caller,
        "category": v.category,
        "caller_category": v.caller_category,
        "duration_s": (v.duration_ms as f64 / 100.0).round() / 10.0,
        "duration_ms": v.duration_ms,
        "created_at": v.created_at,
        "status": v.status,
        "assignee_id": v.assignee_id,
        "assignee_name": v.assignee_name,
        "note": v.note,
        "version": v.version,
        "audio_url": format!("/api/v1/voicemails/{}/audio", v.id),
    })
}

/// A category named by a client: one of the five, else 422.
pub fn parse_category(field: &str, text: &str) -> Result<VoicemailCategory, StoreError> {
    VoicemailCategory::parse(text).ok_or_else(|| StoreError::invalid(field, "not_an_option"))
}

/// A status named by a client: new, passed or done, else 422.
pub fn parse_status(field: &str, text: &str) -> Result<VoicemailStatus, StoreError> {
    VoicemailStatus::parse(text).ok_or_else(|| StoreError::invalid(field, "not_an_option"))
}

/// The recording of a voicemail (`audio/wav`): admins and the person it was passed to; anyone
/// else 403.
#[utoipa::path(get, path = "/api/v1/voicemails/{id}/audio",
    params(("id" = i64, Path, description = "Voicemail")),
    responses((status = 200, description = "the WAV recording", content_type = "audio/wav"),
        (status = 403, description = "forbidden: neither an admin nor the person it was passed to"),
        (status = 404, description = "not_found")))]
pub async fn audio(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let wav = voicemails::audio_for(&state.db, &caller.viewer, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        wav,
    )
        .into_response())
}

/// A change to a voicemail. Admins may send `category`, `assignee_id` and `note`; the person it
/// was passed to (or an admin) sends `status: "done"` alone.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VoicemailChange {
    /// complaint | suggestion | inquiry | praise | other
    pub category: Option<String>,
    /// The responsible person it is passed to (they are notified).
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<UserId>,
    pub note: Option<String>,
    /// `done`: dealt with.
    pub status: Option<String>,
    /// The version you read (or `If-Match`); required. A stale one is 409 `edit_conflict`.
    pub version: Option<i64>,
}

/// Re-files a voicemail (admins) or marks it done (admins and its assignee). The same change
/// sent twice is written once.
#[utoipa::path(patch, path = "/api/v1/voicemails/{id}", request_body = VoicemailChange,
    params(("id" = i64, Path, description = "Voicemail")),
    responses((status = 200, description = "the voicemail as it now is"),
        (status = 403, description = "forbidden: re-filing is for admins; done is for admins and the assignee"),
        (status = 404, description = "not_found"),
        (status = 409, description = "edit_conflict: changed since the version sent; voicemail_not_passed"),
        (status = 422, description = "invalid_input: unknown category or status, unknown person, note too long, version missing")))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<VoicemailChange>,
) -> ApiResult<Json<Value>> {
    let version = expected_version(body.version, &headers)
        .ok_or_else(|| StoreError::invalid("version", "required"))?;
    let category = body
        .category
        .as_deref()
        .map(|c| parse_category("category", c))
        .transpose()?;
    let status = body
        .status
        .as_deref()
        .map(|s| parse_status("status", s))
        .transpose()?;
    let db = &state.db;
    let v = &caller.viewer;
    let changed = match status {
        None => {
            let change = Refiling {
                category,
                assignee: body.assignee_id,
                note: body.note,
            };
            voicemails::refile(db, v, id, &change, version, now()).await?
        }
        Some(VoicemailStatus::Done)
            if category.is_none() && body.assignee_id.is_none() && body.note.is_none() =>
        {
            voicemails::mark_done(db, v, id, version, now()).await?
        }
        // A status is set by what is done (naming someone passes it), or `done` on its own.
        Some(_) => return Err(StoreError::invalid("status", "not_an_option").into()),
    };
    Ok(Json(view(&changed)))
}
