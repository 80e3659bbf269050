//! Reminder calls (催缴, issue 27): the series of automatic calls chasing past-due instalments, as
//! far as the caller may see the customers they chase.

use axum::Json;
use axum::extract::{RawQuery, State};
use leadline_store::StoreError;
use leadline_store::telephony::reminder_calls;
use serde_json::{Value, json};

use super::{pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// The statuses a series goes through.
pub const STATUSES: [&str; 5] = ["pending", "dialling", "done", "skipped", "exhausted"];

/// `?status=` checked against [`STATUSES`].
pub fn parse_status(text: &str) -> Result<&str, StoreError> {
    STATUSES
        .iter()
        .find(|s| **s == text)
        .copied()
        .ok_or_else(|| StoreError::invalid("status", "not_an_option"))
}

/// Reminder call series, newest first: `{reminder_calls: [{id, instalment_id, order_id,
/// customer_id, customer_name, rep_id, e164, amount_fen, due_date, status, skip_reason, attempts,
/// next_attempt_at, last_attempt_at, result, key_pressed}]}` for the customers the caller may
/// see. `status`: pending | dialling | done | skipped | exhausted; `skip_reason`: dnc | no_phone
/// | paid; `result` (the last attempt's): answered | busy | no_answer | failed; `key_pressed` `1`
/// when the customer asked for their rep.
#[utoipa::path(get, path = "/api/v1/reminder-calls",
    params(("status" = Option<String>, Query, description = "pending | dialling | done | skipped | exhausted")),
    responses((status = 200, description = "`{reminder_calls}`"),
        (status = 422, description = "invalid_input: unknown status")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let status = pair(&pairs, "status").map(parse_status).transpose()?;
    let rows = reminder_calls::list(&state.db, &caller.viewer, status, 500).await?;
    Ok(Json(json!({ "reminder_calls": rows })))
}
