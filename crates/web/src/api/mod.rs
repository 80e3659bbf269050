//! The JSON API under `/api/v1`.

pub mod admin;
pub mod agent;
pub mod calls;
pub mod exports;
pub mod imports;
pub mod kb;
pub mod leads;
pub mod live_events;
pub mod openapi;
pub mod scripts;
pub mod search;
pub mod session;
pub mod uploads;
pub mod views;
pub mod workday_admin;
pub mod workspace;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::AppError;

/// Largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON body whose every failure (too big, not JSON, wrong shape) is a clear `AppError`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("bad_json")
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            tracing::debug!(error = %e, "rejected JSON body");
            AppError::BadRequest("bad_json")
        })
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
