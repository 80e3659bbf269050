//! Call records over JSON: record a call on a lead (rules fill the next revisit, the agent's
//! time wins; a dial outside calling hours is recorded with a warning), and a lead's calls.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use leadline_domain::{IntentLevel, LeadId, ScriptId};
use leadline_store::telephony::placed;
use leadline_store::workday::{self, CallInput};
use leadline_store::{StoreError, leads, workday::calls};
use serde::Deserialize;
use serde_json::json;

use super::JsonBody;
use super::Path;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallCreate {
    /// When the call started (default: now).
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub duration_s: i64,
    /// A disposition code (`GET /api/v1/dispositions`).
    pub disposition: String,
    /// resistant | no_stance | interested | positive | strong_demand (or the Chinese words).
    pub intent: Option<String>,
    #[serde(default)]
    pub notes: String,
    /// The agent's own revisit time; wins over the revisit rules.
    pub next_revisit_at: Option<DateTime<Utc>>,
    pub script_id: Option<i64>,
    /// The client's id for this submission (same as the `Idempotency-Key` header): sending the
    /// same one twice records one call.
    pub request_id: Option<String>,
    /// issue 27: the click-to-call this records (`GET /api/v1/agent/phone`): its start and talk
    /// time are the call's, and the two are linked.
    pub phone_call_id: Option<i64>,
}

/// The do-not-call refusal: 409 with its own code.
fn dnc_refusal(caller: &Caller) -> Response {
    let message = caller.lang.t("error.do_not_call");
    (
        StatusCode::CONFLICT,
        Json(json!({ "code": "do_not_call", "error": "do_not_call", "message": message, "details": null })),
    )
        .into_response()
}

/// Records a call on a lead the caller may see. 201 with the call, the lead's next revisit
/// (`revisit_source`: rule | agent), today's counters, and `warning: "outside_calling_hours"`
/// when the lead was called outside its calling window; 200 with `replayed: true` when the same
/// `Idempotency-Key`/`request_id` was already recorded. A valid follow-up on a pool lead makes
/// it the caller's (`claimed: true`), unless a colleague's record holds the same phone, company
/// or e-mail (撞单): the call is recorded, the lead stays in the pool, one case is opened and
/// `collision` names the owner and since when (`{match_kind, owner_id, owner_name,
/// owned_since, case_id}`; null otherwise).
#[utoipa::path(post, path = "/api/v1/leads/{id}/calls", request_body = CallCreate,
    params(("id" = i64, Path, description = "Lead id"), ("Idempotency-Key" = Option<String>, Header, description = "Records the call once")),
    responses((status = 201, description = "The call and what it did"), (status = 200, description = "Already recorded (replayed)"),
        (status = 404, description = "not_found"), (status = 409, description = "do_not_call"), (status = 422, description = "invalid_input")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CallCreate>,
) -> ApiResult<Response> {
    let intent = match body
        .intent
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => {
            Some(IntentLevel::parse(s).ok_or_else(|| StoreError::invalid("intent", "invalid"))?)
        }
    };
    let header_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    // issue 27: a click-to-call fills in its own start and length.
    let placed = match body.phone_call_id {
        Some(pc) => Some(placed::placed_to_record(&state.db, caller.user.id, id, pc).await?),
        None => None,
    };
    let input = CallInput {
        lead_id: id,
        started_at: placed.as_ref().map(|p| p.started_at).or(body.started_at),
        duration_s: placed.as_ref().map_or(body.duration_s, |p| p.duration_s),
        disposition: body.disposition.trim().to_string(),
        intent,
        notes: body.notes,
        next_revisit_at: body.next_revisit_at,
        script_id: body.script_id.map(ScriptId),
        request_id: header_key.or(body.request_id),
    };
    let recorded =
        match workday::record_call(&state.db, &caller.viewer, input, leadline_store::now()).await {
            Err(StoreError::Forbidden) => return Ok(dnc_refusal(&caller)),
            other => other?,
        };
    if let Some(p) = &placed
        && !recorded.replayed
    {
        placed::link_record(&state.db, p.id, recorded.call.id).await?;
    }
    let status = if recorded.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let warning = recorded.outside_window.then_some("outside_calling_hours");
    Ok((
        status,
        [(header::LOCATION, format!("/api/v1/leads/{id}/calls"))],
        Json(json!({
            "call": recorded.call,
            "next_revisit_at": recorded.next_revisit_at,
            "revisit_source": recorded.revisit_source,
            "rule_id": recorded.rule_id,
            "after_last": recorded.after_last,
            "attempt": recorded.attempt,
            "lead_status": recorded.lead_status,
            "outside_window": recorded.outside_window,
            "warning": warning,
            "day": recorded.day,
            "today": recorded.today,
            "replayed": recorded.replayed,
            "claimed": recorded.claimed,
            "collision": recorded.collision,
        })),
    )
        .into_response())
}

/// A lead's calls, newest first.
#[utoipa::path(get, path = "/api/v1/leads/{id}/calls", params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "`{\"items\": [...]}`"), (status = 404, description = "not_found")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    let lead = leads::get(&state.db, &caller.viewer, id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AppError::NotFound,
            e => e.into(),
        })?;
    let items = calls::for_lead(&state.db, lead.id).await?;
    Ok(Json(json!({ "items": items })))
}
