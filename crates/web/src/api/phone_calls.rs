//! Click-to-call and the seats' phones over JSON (issue 27): dial a lead or customer from the
//! caller's own seat (checked first: visibility, do-not-call, calling hours, attempts — a refusal
//! is never dialled), hang it up, read what the seat's phone is doing (the workspace pop-up),
//! the placed calls of a lead or customer with their recordings, and an admin giving a user
//! their seat.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadline_domain::{CustomerId, LeadId, UserId};
use leadline_store::telephony::caller_match::{self, CallerMatch};
use leadline_store::telephony::dial_checks::{self, DialTarget};
use leadline_store::telephony::placed::{self, PlacedLine};
use leadline_store::telephony::seats::{self, SeatCall};
use leadline_store::{Db, StoreError, customers, leads, now};
use leadline_telephony::control::DialError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{JsonBody, Path};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::phone::DialTag;

/// Whom to call: one of the two.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialBody {
    pub lead_id: Option<i64>,
    pub customer_id: Option<i64>,
}

/// Places a click-to-call from the caller's seat: it rings first, then the lead's or customer's
/// number, then the two are bridged and recorded. 201 `{call_id, seat, number, name, lead_id,
/// customer_id}`; the call's progress comes as the `phone` event of `/api/v1/agent/events`
/// (and `GET /api/v1/agent/phone`), its record once it ends.
#[utoipa::path(post, path = "/api/v1/calls/dial", request_body = DialBody,
    responses((status = 201, description = "Dialling"),
        (status = 404, description = "not_found: a lead or customer the caller may not see"),
        (status = 409, description = "no_seat | no_phone | do_not_call | outside_calling_hours | attempt_limit: refused, not dialled"),
        (status = 422, description = "invalid_input: neither or both of lead_id and customer_id"),
        (status = 503, description = "call_service_unavailable: no call service runs on this server")))]
pub async fn dial(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DialBody>,
) -> ApiResult<Response> {
    let target = match (body.lead_id, body.customer_id) {
        (Some(lead), None) => DialTarget::Lead(LeadId(lead)),
        (None, Some(customer)) => DialTarget::Customer(CustomerId(customer)),
        _ => return Err(StoreError::invalid("lead_id", "lead_or_customer").into()),
    };
    // Every check before anything is dialled.
    let dialable = dial_checks::check_dial(&state.db, &caller.viewer, target, now()).await?;
    let seat = seats::seat_of(&state.db, caller.user.id)
        .await?
        .ok_or(AppError::Conflict("no_seat"))?;
    let control = state
        .phone
        .control()
        .ok_or(AppError::Unavailable("call_service_unavailable"))?;
    let tag = DialTag {
        agent: Some(caller.user.id),
        lead: dialable.lead_id,
        customer: dialable.customer_id,
        number: dialable.dial.clone(),
    };
    let call_id = match control.dial(&seat, &dialable.dial, &tag.write()) {
        Ok(id) => id,
        Err(DialError::NoRoute) => return Err(AppError::Unavailable("call_service_unavailable")),
        Err(DialError::BadNumber(_)) => return Err(AppError::Conflict("no_phone")),
        Err(DialError::UnknownCall) => return Err(AppError::NotFound),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "call_id": call_id, "seat": seat, "number": dialable.e164, "name": dialable.name,
            "lead_id": dialable.lead_id, "customer_id": dialable.customer_id,
        })),
    )
        .into_response())
}

/// Hangs up a click-to-call the caller placed. 204; 404 for anyone else's or an unknown one.
#[utoipa::path(post, path = "/api/v1/calls/dial/{call_id}/hangup",
    params(("call_id" = String, Path, description = "The call_id from POST /api/v1/calls/dial")),
    responses((status = 204, description = "Hung up"), (status = 404, description = "not_found"),
        (status = 503, description = "call_service_unavailable")))]
pub async fn hang_up(
    State(state): State<AppState>,
    caller: Caller,
    Path(call_id): Path<String>,
) -> ApiResult<StatusCode> {
    let row = seats::placed_call(&state.db, &call_id).await?;
    if row.and_then(|r| r.user_id) != Some(caller.user.id) {
        return Err(AppError::NotFound);
    }
    let control = state
        .phone
        .control()
        .ok_or(AppError::Unavailable("call_service_unavailable"))?;
    match control.hang_up(&call_id) {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(_) => Err(AppError::NotFound),
    }
}

/// What a seat's phone is doing, as the workspace shows it.
#[derive(Debug, Serialize, PartialEq)]
pub struct PhoneView {
    #[serde(flatten)]
    pub call: SeatCall,
    /// Who is on the line (inbound: the caller's lead or customer; outbound: the number
    /// dialled), as the seat's person may see it.
    pub matched: CallerMatch,
    /// The stored placed call, once it ended (pre-fills the agent's record).
    pub placed: Option<PlacedLine>,
}

/// The caller's seat's newest call: `{phone: null}` or `{phone: {...}}`.
pub async fn phone_view(db: &Db, caller: &Caller) -> leadline_store::Result<Value> {
    let Some(call) = seats::latest_seat_call(db, caller.user.id).await? else {
        return Ok(json!({ "phone": null }));
    };
    let matched = caller_match::match_caller(db, &caller.viewer, &call.number).await?;
    let placed = match call.phone_call_id {
        Some(id) => Some(placed::placed_line(db, id).await?),
        None => None,
    };
    let view = PhoneView {
        call,
        matched,
        placed,
    };
    Ok(json!({ "phone": view }))
}

/// GET /api/v1/agent/phone — the caller's seat's newest call: an inbound call ringing it or
/// bridged to it (with the caller's lead or customer and its owner as the caller may see them;
/// `matched.unknown` for a number nobody holds), or a click-to-call it placed (with the stored
/// call once it ended). `{phone: null}` when there is none.
#[utoipa::path(get, path = "/api/v1/agent/phone",
    responses((status = 200, description = "`{phone}`")))]
pub async fn phone(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(phone_view(&state.db, &caller).await?))
}

fn line_json(line: &PlacedLine) -> Value {
    let mut value = json!(line);
    value["recording_url"] = match line.recording_ms {
        Some(_) => json!(format!("/api/v1/phone-calls/{}/recording", line.id)),
        None => Value::Null,
    };
    value
}

/// One placed call, for those who may see its lead or customer.
#[utoipa::path(get, path = "/api/v1/phone-calls/{id}", params(("id" = i64, Path, description = "Placed call")),
    responses((status = 200, description = "The call: result, hung_up_by, started_at, answered_at, ended_at, duration_s, recording_ms, recording_url"),
        (status = 404, description = "not_found")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let line = placed::placed_for(&state.db, &caller.viewer, id).await?;
    Ok(Json(line_json(&line)))
}

/// A placed call's recording (`audio/wav`, both directions mixed), for those who may see its
/// lead or customer; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/phone-calls/{id}/recording", params(("id" = i64, Path, description = "Placed call")),
    responses((status = 200, description = "the WAV recording", content_type = "audio/wav"),
        (status = 404, description = "not_found")))]
pub async fn recording(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let wav = placed::recording_for(&state.db, &caller.viewer, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        wav,
    )
        .into_response())
}

/// A lead's placed calls, newest first: `{items}`.
#[utoipa::path(get, path = "/api/v1/leads/{id}/phone-calls", params(("id" = i64, Path, description = "Lead")),
    responses((status = 200, description = "`{items}`"), (status = 404, description = "not_found")))]
pub async fn of_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<Json<Value>> {
    leads::get(&state.db, &caller.viewer, id).await?;
    let items: Vec<Value> = placed::placed_of_lead(&state.db, id)
        .await?
        .iter()
        .map(line_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// A customer's placed calls (its own and its leads'), newest first: `{items}`.
#[utoipa::path(get, path = "/api/v1/customers/{id}/phone-calls", params(("id" = i64, Path, description = "Customer")),
    responses((status = 200, description = "`{items}`"), (status = 404, description = "not_found")))]
pub async fn of_customer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CustomerId>,
) -> ApiResult<Json<Value>> {
    customers::get(&state.db, &caller.viewer, id).await?;
    let items: Vec<Value> = placed::placed_of_customer(&state.db, id)
        .await?
        .iter()
        .map(line_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatBody {
    /// The seat extension (2–16 digits), or null / "" for none.
    pub seat: Option<String>,
}

/// PUT /api/v1/users/{id}/seat — the admin gives a user their seat (one person per seat).
#[utoipa::path(put, path = "/api/v1/users/{id}/seat", params(("id" = i64, Path, description = "User")),
    request_body = SeatBody,
    responses((status = 200, description = "`{user_id, seat}`"), (status = 403, description = "forbidden: not an admin"),
        (status = 404, description = "not_found"), (status = 409, description = "already_exists: someone else has that seat"),
        (status = 422, description = "invalid_input: not 2 to 16 digits")))]
pub async fn put_seat(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<UserId>,
    JsonBody(body): JsonBody<SeatBody>,
) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let seat =
        seats::set_seat(&state.db, caller.user.id, user, body.seat.as_deref(), now()).await?;
    Ok(Json(json!({ "user_id": user, "seat": seat })))
}

/// GET /api/v1/seats — every seat and whose it is (admins).
#[utoipa::path(get, path = "/api/v1/seats",
    responses((status = 200, description = "`{items: [{user_id, seat}]}`"), (status = 403, description = "forbidden: not an admin")))]
pub async fn list_seats(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let items: Vec<Value> = seats::seats(&state.db)
        .await?
        .into_iter()
        .map(|(user, seat)| json!({ "user_id": user, "seat": seat }))
        .collect();
    Ok(Json(json!({ "items": items })))
}
