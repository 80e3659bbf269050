//! The team dashboard's numbers over JSON (issue 24): the same figures `/dashboard` draws.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use leadline_domain::{TeamId, Viewer};
use leadline_store::dashboard::{self, Dashboard, Scope};
use leadline_store::{Db, now};

use super::{pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// The team `?team_id=` names, if any.
pub fn team_param(q: Option<&str>) -> ApiResult<Option<TeamId>> {
    let pairs = query_pairs(q);
    match pair(&pairs, "team_id").filter(|s| !s.is_empty()) {
        Some(t) => Ok(Some(TeamId(
            t.parse().map_err(|_| AppError::BadRequest("bad_team_id"))?,
        ))),
        None => Ok(None),
    }
}

/// The scope of `?team_id=` for the caller (see `dashboard::scope_for`).
pub fn scope_of(caller: &Caller, q: Option<&str>) -> ApiResult<Scope> {
    Ok(dashboard::scope_for(
        &caller.viewer,
        caller.user.team_id,
        team_param(q)?,
    )?)
}

/// The dashboard of `scope` for `viewer` at `at`: with today's answer speed for those who may
/// see it ([`dashboard::sees_answer_speed`]).
pub async fn dashboard_of(
    db: &Db,
    viewer: &Viewer,
    scope: Scope,
    at: DateTime<Utc>,
) -> leadline_store::Result<Dashboard> {
    dashboard::dashboard(db, scope, at, dashboard::sees_answer_speed(viewer)).await
}

/// The dashboard for the caller now.
pub async fn dashboard_for(
    state: &AppState,
    caller: &Caller,
    q: Option<&str>,
) -> ApiResult<Dashboard> {
    let scope = scope_of(caller, q)?;
    Ok(dashboard_of(&state.db, &caller.viewer, scope, now()).await?)
}

/// Today's team dashboard: calls per local hour today and yesterday (`hours_today`,
/// `hours_yesterday`, 24 each, in the organisation's zone), today's `calls`, `connected`,
/// `qualified`, `talk_s`, `connect_rate_permille`, the funnel (`funnel_today`, `funnel_month`:
/// `leads`, `connected`, `qualified`, `customers`, `orders`, `paid_orders`), the `leaderboard`
/// (per agent today: `calls`, `connected`, `qualified`) and the team's month target `progress`.
/// Supervisors see the teams they supervise (the first by default), admins any team or
/// everyone (no `team_id`), agents and sales reps their own team; anything else is 403.
/// `answer_speed` (issue 27): today's inbound queue figures for the whole floor (queues are not
/// per team), for admins and supervisors only (`null` for agents and sales reps): `queued`
/// (calls that entered a queue), `answered`, `within_three_rings` (answered within 15 s: three
/// 5 s ring cycles), `within_three_rings_permille` (of answered), `abandoned` (the caller hung
/// up waiting), `unanswered` (no answer or busy: to the fallback), `avg_wait_s` and `max_wait_s`
/// (of answered calls, rounded seconds).
#[utoipa::path(get, path = "/api/v1/dashboard",
    params(("team_id" = Option<i64>, Query, description = "The team (default: the caller's)")),
    responses((status = 200, description = "`{team_id, zone, day, hours_today, hours_yesterday, calls, connected, qualified, talk_s, connect_rate_permille, funnel_today, funnel_month, leaderboard, progress, answer_speed}`"),
        (status = 400, description = "bad_team_id"),
        (status = 403, description = "forbidden: another team's board, finance")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(dashboard_for(&state, &caller, q.as_deref()).await?))
}
