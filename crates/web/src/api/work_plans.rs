//! Work plans (周 / 月计划表) over JSON (issue 24): a person submits a week's or a month's plan,
//! a supervisor of their team approves or rejects it with a comment; every plan stays listed.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use leadline_domain::UserId;
use leadline_store::now;
use leadline_store::work_reports::plans::{self, PlanInput};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// Plans the caller may see, newest period first: `?user_id=` one person's history (the
/// person, their supervisors, admins; 404 otherwise), else the caller's own and those of the
/// teams they supervise; `?status=submitted|approved|rejected`.
#[utoipa::path(get, path = "/api/v1/work-plans",
    params(("user_id" = Option<i64>, Query, description = "One person's plans"),
        ("status" = Option<String>, Query, description = "submitted | approved | rejected")),
    responses((status = 200, description = "`{plans: [{id, user_id, user_name, period, period_start, items, goals, status, decided_by_name, decided_at, decision_note, version, submitted_at}]}`"),
        (status = 404, description = "not_found")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let user = match pair(&pairs, "user_id") {
        Some(u) => Some(UserId(
            u.parse().map_err(|_| AppError::BadRequest("bad_user_id"))?,
        )),
        None => None,
    };
    let status = pair(&pairs, "status").filter(|s| !s.is_empty());
    let list = plans::list(&state.db, &caller.viewer, user, status).await?;
    Ok(Json(json!({ "plans": list })))
}

/// Submits the caller's plan for a week (`period_start` a Monday) or a month (the 1st), or
/// submits a rejected one again; the team's supervisors are notified. 409 `plan_approved` for
/// a period already approved.
#[utoipa::path(post, path = "/api/v1/work-plans",
    request_body(content = serde_json::Value, description = "`{period: week|month, period_start: YYYY-MM-DD, items, goals?: {calls, valid_conversations, qualified, new_customers, visits, orders, revenue_fen}}`"),
    responses((status = 200, description = "The plan, submitted"), (status = 409, description = "plan_approved"),
        (status = 422, description = "invalid_input: period, period_start, items required, goals out of range")))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PlanInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        plans::submit(&state.db, &caller.viewer, &body, now()).await?,
    ))
}

/// One plan (the person, their team's supervisors, admins; 404 otherwise).
#[utoipa::path(get, path = "/api/v1/work-plans/{id}", params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "The plan"), (status = 404, description = "not_found")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(plans::get(&state.db, &caller.viewer, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanDecision {
    pub approve: bool,
    /// Required to reject.
    pub note: Option<String>,
}

/// Approves or rejects a submitted plan (a supervisor of the person's team, or an admin); the
/// person is notified. 403 for the person themself; 409 `plan_decided`.
#[utoipa::path(post, path = "/api/v1/work-plans/{id}/decision", request_body = PlanDecision,
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "The plan, decided"), (status = 403, description = "forbidden"),
        (status = 404, description = "not_found"), (status = 409, description = "plan_decided"),
        (status = 422, description = "invalid_input: note required to reject")))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<PlanDecision>,
) -> ApiResult<impl IntoResponse> {
    let p = plans::decide(
        &state.db,
        &caller.viewer,
        id,
        body.approve,
        body.note.as_deref(),
        now(),
    )
    .await?;
    Ok(Json(p))
}
