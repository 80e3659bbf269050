//! Reminder calls (issue 27): the series of automatic calls chasing past-due instalments (催缴) and
//! confirming new orders (回访确认), as far as the caller may see the customers they call.

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

/// The kinds of series.
pub const KINDS: [&str; 2] = [reminder_calls::PAYMENT, reminder_calls::REVISIT];

/// `?status=` checked against [`STATUSES`].
pub fn parse_status(text: &str) -> Result<&str, StoreError> {
    one_of("status", &STATUSES, text)
}

/// `?kind=` checked against [`KINDS`].
pub fn parse_kind(text: &str) -> Result<&str, StoreError> {
    one_of("kind", &KINDS, text)
}

fn one_of<'a>(field: &str, options: &[&'a str], text: &str) -> Result<&'a str, StoreError> {
    options
        .iter()
        .find(|s| **s == text)
        .copied()
        .ok_or_else(|| StoreError::invalid(field, "not_an_option"))
}

/// Reminder call series, newest first: `{reminder_calls: [{id, kind, instalment_id, order_id,
/// customer_id, customer_name, rep_id, e164, amount_fen, due_date, order_date, status,
/// skip_reason, attempts, next_attempt_at, last_attempt_at, result, key_pressed}]}` for the
/// customers the caller may see. `kind`: payment (催缴: `instalment_id`, `due_date`) | revisit
/// (回访确认: `order_date`); `status`: pending | dialling | done | skipped | exhausted;
/// `skip_reason`: dnc | no_phone | paid; `result` (the last attempt's): answered |
/// busy | no_answer | failed; `key_pressed`: a payment's `1` and a revisit's `2` when the customer
/// asked for their rep, a revisit's `1` when the customer confirmed the order.
#[utoipa::path(get, path = "/api/v1/reminder-calls",
    params(("status" = Option<String>, Query, description = "pending | dialling | done | skipped | exhausted"),
        ("kind" = Option<String>, Query, description = "payment | revisit")),
    responses((status = 200, description = "`{reminder_calls}`"),
        (status = 422, description = "invalid_input: unknown status or kind")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let status = pair(&pairs, "status").map(parse_status).transpose()?;
    let kind = pair(&pairs, "kind").map(parse_kind).transpose()?;
    let rows = reminder_calls::list(&state.db, &caller.viewer, status, kind, 500).await?;
    Ok(Json(json!({ "reminder_calls": rows })))
}
