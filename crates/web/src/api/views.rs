//! Saved views over JSON.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use leadline_store::leads::views;
use serde::Deserialize;
use serde_json::{Value, json};

use super::JsonBody;
use super::Path;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use leadline_domain::ViewId;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ViewCreate {
    pub name: String,
    /// Filter pairs as in the list query, e.g. `{"status": "new", "cf.industry": "教育"}`.
    #[schema(value_type = Object)]
    pub filter: Value,
}

#[utoipa::path(get, path = "/api/v1/views", responses((status = 200)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        json!({ "items": views::list(&state.db, caller.user.id).await? }),
    ))
}

/// Saves (or replaces, by name) a view; its filter is checked like a list query.
#[utoipa::path(post, path = "/api/v1/views", request_body = ViewCreate, responses((status = 201), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ViewCreate>,
) -> ApiResult<impl IntoResponse> {
    let pairs = views::filter_pairs(&body.filter)?;
    super::leads::filter_for(&state, &caller, &pairs).await?;
    let view = views::save(&state.db, caller.user.id, &body.name, &body.filter).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(ViewId(id)): Path<ViewId>,
) -> ApiResult<StatusCode> {
    views::delete(&state.db, caller.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
