//! Tokens: `POST /api/v1/auth/token`, listing and revoking one's own tokens, and `GET /api/v1/me`.

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use leadline_store::auth as store_auth;
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;

use super::JsonBody;
use super::Path;
use crate::AppState;
use crate::auth::{Caller, sign_in};
use crate::error::ApiResult;
use leadline_domain::TokenId;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub name: String,
}

/// Exchanges a username and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/token", request_body = TokenRequest,
    responses((status = 201, description = "`{\"token\": …, \"id\": …}`"), (status = 401), (status = 429)))]
pub async fn create_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<impl IntoResponse> {
    let user = sign_in(&state, &req.username, &req.password, &peer.ip().to_string()).await?;
    let (token, secret) = store_auth::create_token(&state.db, user.id, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": secret, "id": token.id, "name": token.name })),
    ))
}

/// The caller's tokens (secrets are never shown again).
#[utoipa::path(get, path = "/api/v1/auth/tokens", responses((status = 200)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    let items = store_auth::list_tokens(&state.db, caller.user.id).await?;
    Ok(Json(json!({ "items": items })))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", responses((status = 204), (status = 404)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(TokenId(id)): Path<TokenId>,
) -> ApiResult<StatusCode> {
    store_auth::revoke_token(&state.db, caller.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200)))]
pub async fn me(caller: Caller) -> impl IntoResponse {
    Json(json!({ "user": caller.user, "supervised_teams": caller.viewer.supervised_teams }))
}
