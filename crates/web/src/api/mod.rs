//! The JSON API under `/api/v1`.

pub mod admin;
// issue 24: assessment (月度 / 年度考核) and commission rules
pub mod agent;
// issue 24: call statistics
pub mod assessments;
pub mod call_reports;
pub mod calls;
pub mod collisions;
pub mod customer_reports;
pub mod customers;
// issue 24: the dashboard
pub mod dashboard;
pub(crate) mod feed;
// issue 24: targets, daily reports and work plans
pub mod daily_reports;
pub mod detect;
pub mod exports;
pub mod imports;
// issue 27: IVR flows and prompt files
pub mod ivr;
pub mod kb;
pub mod leads;
pub mod live_events;
pub mod openapi;
pub mod people;
pub mod phone_pin;
// issue 27: dial
pub mod phone_calls;
pub mod pipeline;
pub mod pools;
pub mod prompts;
// issue 24: call quality checks
pub mod quality;
pub mod reclaim;
// issue 27: reminder calls (催缴)
pub mod reminder_calls;
pub mod targets;
pub mod telephony;
pub mod work_plans;
// issue 23: sales
pub mod receivables;
pub mod sales;
pub mod scripts;
pub mod search;
pub mod session;
pub mod uploads;
pub mod views;
// issue 27: voicemail recordings and re-filing
pub mod voicemails;
pub mod workday_admin;
pub mod workspace;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::AppError;

/// Largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON body whose every failure (too big, not JSON, wrong shape) is a clear `AppError`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let bytes = body_bytes(req, state).await?;
        json_of(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out (an empty body or `null` is the type's default).
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        json_of(&bytes).map(OptionalJson)
    }
}

/// The request's body: too big is `PayloadTooLarge`, unreadable `bad_json`.
async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest("bad_json")
        }
    })
}

/// A body's JSON as `T`; anything else (not JSON, the wrong shape) is `bad_json`.
fn json_of<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::debug!(error = %e, "rejected JSON body");
        AppError::BadRequest("bad_json")
    })
}

/// The version an edit was made on: the body's `version`, else the one `If-Match` names (`"3"`,
/// `W/"3"` or `3`); none when neither says.
pub fn expected_version(body: Option<i64>, headers: &HeaderMap) -> Option<i64> {
    body.or_else(|| if_match(headers))
}

/// The version named by `If-Match`, if any.
pub fn if_match(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim_matches(|c| c == '"' || c == 'W' || c == '/')
                .parse()
                .ok()
        })
}

/// Tags may come as a list or as one comma-separated string.
#[derive(Deserialize, Serialize, Default, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Tags {
    #[default]
    None,
    List(Vec<String>),
    Text(String),
}

impl Tags {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Tags::None => Vec::new(),
            Tags::List(v) => v,
            Tags::Text(s) => vec![s],
        }
    }
}

/// The path's parameters as typed values (`Path<LeadId>`, `Path<(ScriptId, i64)>`): a segment
/// that does not parse is 400 `bad_path` as the API's JSON error, where axum's own `Path`
/// answers plain text.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(path_error)
    }
}

/// A path that does not parse is the client's (`bad_path`); a route without the parameters its
/// handler asks for is ours.
pub fn path_error(e: PathRejection) -> AppError {
    match e {
        PathRejection::FailedToDeserializePathParams(e) => {
            tracing::debug!(error = %e.body_text(), "rejected path");
            AppError::BadRequest("bad_path")
        }
        other => AppError::Internal(other.body_text()),
    }
}

/// Query-string pairs in order, repeated keys kept.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A positive id from the query (`owner_id=7`): None when absent or blank, refused (`invalid`,
/// naming the key) when it is not a positive number.
pub fn id_param(
    pairs: &[(String, String)],
    key: &str,
) -> Result<Option<i64>, leadline_store::StoreError> {
    match pair(pairs, key).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| leadline_store::StoreError::invalid(key, "invalid")),
    }
}
