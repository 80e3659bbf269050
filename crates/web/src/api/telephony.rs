//! What the call service recorded (issue 27), for admins: voicemails with their category and
//! length, and the calls it answered with the keys pressed.

use axum::Json;
use axum::extract::{RawQuery, State};
use leadline_domain::Role;
use leadline_store::StoreError;
use leadline_store::telephony::{self, Direction};
use serde_json::{Value, json};

use super::{pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// Voicemails, newest first: `{voicemails: [{id, caller, category, duration_s, duration_ms,
/// created_at}]}` (admins).
#[utoipa::path(get, path = "/api/v1/voicemails",
    responses((status = 200, description = "`{voicemails}`"), (status = 403, description = "forbidden: not an admin")))]
pub async fn voicemails(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    if caller.user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let list = telephony::list_voicemails(&state.db).await?;
    let voicemails: Vec<Value> = list
        .iter()
        .map(|v| {
            json!({
                "id": v.id,
                "caller": v.caller,
                "category": v.category,
                "duration_s": (v.duration_ms as f64 / 100.0).round() / 10.0,
                "duration_ms": v.duration_ms,
                "created_at": v.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "voicemails": voicemails })))
}

/// Calls the call service answered or placed, newest first: `?direction=inbound` (required) →
/// `{calls: [{id, direction, caller, callee, digits, hung_up_by, started_at, ended_at,
/// duration_s, queue, seat, queue_result, answered_at, wait_ms}]}` (admins). `hung_up_by` is
/// `caller`, `seat` or `service`; the queue fields are null unless the call waited in a queue
/// (`queue_result`: answered, busy, no_answer, abandoned; `wait_ms` from entering the queue to a
/// seat answering or to leaving it).
#[utoipa::path(get, path = "/api/v1/calls",
    params(("direction" = String, Query, description = "inbound | outbound")),
    responses((status = 200, description = "`{calls}`"), (status = 403, description = "forbidden: not an admin"),
        (status = 422, description = "invalid_input: direction missing or unknown")))]
pub async fn calls(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    if caller.user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let pairs = query_pairs(query.as_deref());
    let direction = pair(&pairs, "direction")
        .ok_or_else(|| StoreError::invalid("direction", "required"))
        .and_then(Direction::parse)?;
    let calls = telephony::list_calls(&state.db, direction).await?;
    Ok(Json(json!({ "calls": calls })))
}
