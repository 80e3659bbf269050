//! What the call service recorded (issue 27): voicemails with their category and length (all for
//! admins, to others those passed to them), and for admins the calls it answered with the keys
//! pressed.

use axum::Json;
use axum::extract::{RawQuery, State};
use leadline_domain::Role;
use leadline_store::StoreError;
use leadline_store::telephony::{self, Direction, VoicemailFilter};
use serde_json::{Value, json};

use super::voicemails::{parse_category, parse_status, view};
use super::{pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// Voicemails, newest first: `{voicemails: [{id, caller, category, caller_category, duration_s,
/// duration_ms, created_at, status, assignee_id, assignee_name, note, version, audio_url}]}`.
/// Admins see all of them, anyone else those passed to them; `?status=` and `?category=` filter.
#[utoipa::path(get, path = "/api/v1/voicemails",
    params(("status" = Option<String>, Query, description = "new | passed | done"),
        ("category" = Option<String>, Query, description = "complaint | suggestion | inquiry | praise | other")),
    responses((status = 200, description = "`{voicemails}`"),
        (status = 422, description = "invalid_input: unknown status or category")))]
pub async fn voicemails(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let filter = VoicemailFilter {
        status: pair(&pairs, "status")
            .map(|s| parse_status("status", s))
            .transpose()?,
        category: pair(&pairs, "category")
            .map(|c| parse_category("category", c))
            .transpose()?,
    };
    let list = telephony::list_voicemails(&state.db, &caller.viewer, &filter).await?;
    let voicemails: Vec<Value> = list.iter().map(view).collect();
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
