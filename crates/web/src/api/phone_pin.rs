//! Phone PINs (issue 27): the digits a sales rep keys on the IVR (9000, key 2) to hear their
//! month. A person sets or clears their own; an admin resets (clears) anyone's. The PIN is stored
//! as an argon2 hash and never shown again.

use axum::extract::State;
use axum::http::StatusCode;
use leadline_domain::UserId;
use leadline_store::auth::phone_pin;
use leadline_store::now;
use serde::Deserialize;

use super::{JsonBody, Path};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// A new PIN: 4 to 8 digits.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    pub pin: String,
}

/// Sets the caller's own phone PIN (4–8 digits; else 422 `pin: invalid`).
#[utoipa::path(put, path = "/api/v1/me/phone-pin", request_body = PinBody,
    responses((status = 204, description = "set"), (status = 422, description = "pin: invalid")))]
pub async fn put_own(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PinBody>,
) -> ApiResult<StatusCode> {
    let me = caller.viewer.user_id;
    phone_pin::set_phone_pin(&state.db, &caller.viewer, me, Some(&body.pin), now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clears the caller's own phone PIN.
#[utoipa::path(delete, path = "/api/v1/me/phone-pin", responses((status = 204, description = "cleared")))]
pub async fn delete_own(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    let me = caller.viewer.user_id;
    phone_pin::set_phone_pin(&state.db, &caller.viewer, me, None, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets (clears) a person's phone PIN: admins, or the person themselves; anyone else 403.
#[utoipa::path(delete, path = "/api/v1/users/{id}/phone-pin",
    params(("id" = i64, Path, description = "User")),
    responses((status = 204, description = "cleared"), (status = 403, description = "forbidden"),
        (status = 404, description = "not_found")))]
pub async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    phone_pin::set_phone_pin(&state.db, &caller.viewer, UserId(id), None, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
