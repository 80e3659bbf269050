//! The agent's next-call button over JSON: serve and reserve the next lead, give it back.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadline_domain::LeadId;
use leadline_store::workday;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// Serves the next lead to call — due revisits first (oldest first), then today's plan, then
/// fresh leads by priority — skipping leads outside their calling window, on the do-not-call
/// list, over their attempt limit or reserved by another agent, and reserves it to the caller.
/// 200 `{"lead": {...}, "reserved_until": …, "tier": "revisit"|"plan"|"fresh"}`; 204 when
/// nothing is callable now. Asking again while holding a lead returns the same lead.
/// `?skip=<lead id>` (跳过) gives that lead back first and passes over it this once.
#[utoipa::path(post, path = "/api/v1/agent/next-call",
    params(("skip" = Option<i64>, Query, description = "A lead to give back and pass over (skip this lead)")),
    responses((status = 200, description = "The reserved lead"), (status = 204, description = "Nothing callable now")))]
pub async fn next_call(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = crate::api::query_pairs(query.as_deref());
    let skip = match crate::api::pair(&pairs, "skip") {
        None => None,
        Some(s) => Some(LeadId(
            s.parse().map_err(|_| AppError::BadRequest("bad_query"))?,
        )),
    };
    let served =
        workday::next_call_skipping(&state.db, &caller.viewer, leadline_store::now(), skip).await?;
    Ok(match served {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(s) => Json(json!({
            "lead": s.lead,
            "reserved_until": s.reserved_until,
            "tier": s.tier.code(),
            "attempts": s.attempts,
            "next_revisit_at": s.next_revisit_at,
        }))
        .into_response(),
    })
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// The lead to give back (default: every lead the caller holds).
    pub lead_id: Option<i64>,
}

/// Gives the caller's reserved lead back to the queue. 200 `{"released": n}`.
#[utoipa::path(post, path = "/api/v1/agent/release", request_body = ReleaseBody,
    responses((status = 200, description = "`{\"released\": n}`")))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    let lead = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<ReleaseBody>(&body)
            .map_err(|_| AppError::BadRequest("bad_json"))?
            .lead_id
            .map(LeadId)
    };
    let n = workday::release(&state.db, caller.user.id, lead).await?;
    Ok(Json(json!({ "released": n })))
}

/// Whether the caller's calling hours are open now and, if not, when they open (the default
/// zone): what the workspace says when next call finds nothing (issue 25).
/// 200 `{"open": bool, "opens_at": …|null, "says": …|null}`, `says` worded in the caller's
/// language with the time in their zone.
#[utoipa::path(get, path = "/api/v1/agent/calling-now",
    responses((status = 200, description = "`{\"open\": bool, \"opens_at\": …, \"says\": …}`")))]
pub async fn calling_now(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let now = workday::calling_now(&state.db, caller.user.id, leadline_store::now()).await?;
    let l = caller.lang;
    let says = match (now.open, now.opens_at) {
        (true, _) => None,
        (false, None) => Some(l.t("ws.calling_closed").to_string()),
        (false, Some(at)) => {
            let tz = crate::api::workspace::zone_of(&caller);
            let time = at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
            Some(l.tf("ws.calling_closed_until", &[("time", &time)]))
        }
    };
    Ok(Json(json!({ "open": now.open, "opens_at": now.opens_at, "says": says })).into_response())
}
