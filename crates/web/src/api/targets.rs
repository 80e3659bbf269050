//! Sales targets over JSON (issue 24): a person's or a team's year of monthly targets, set at
//! once, and a month's progress against them.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use leadline_domain::targets::{Figures, Month};
use leadline_domain::{TeamId, UserId};
use leadline_store::now;
use leadline_store::targets::{self, Subject, progress};
use serde::Deserialize;

use super::{JsonBody, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearBody {
    /// Twelve months, January first: each `{calls, valid_conversations, qualified,
    /// new_customers, orders, revenue_fen, collections_fen}` (amounts in 分; omitted figures 0).
    #[schema(value_type = Vec<Object>)]
    pub months: Vec<Figures>,
}

/// A person's targets for a year: `{subject: {scope, id}, year, months: [{month, calls, …}]}`.
/// The person, the supervisors of their team and admins; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/targets/{user_id}/{year}",
    params(("user_id" = i64, Path, description = "User id"), ("year" = i32, Path, description = "Year")),
    responses((status = 200, description = "`{subject, year, months: [{month, calls, valid_conversations, qualified, new_customers, orders, revenue_fen, collections_fen}]}`"),
        (status = 404, description = "not_found")))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, year)): Path<(i64, i32)>,
) -> ApiResult<impl IntoResponse> {
    let s = Subject::User(UserId(user));
    Ok(Json(
        targets::year(&state.db, &caller.viewer, s, year).await?,
    ))
}

/// Sets a person's targets for a whole year (an admin, or a supervisor of the person's team).
#[utoipa::path(put, path = "/api/v1/targets/{user_id}/{year}", request_body = YearBody,
    params(("user_id" = i64, Path, description = "User id"), ("year" = i32, Path, description = "Year")),
    responses((status = 200, description = "The year as stored"), (status = 403, description = "forbidden: an agent, a rep, finance"),
        (status = 404, description = "not_found: another team's person"),
        (status = 422, description = "invalid_input: not twelve months, a negative or too large figure, a year out of range")))]
pub async fn put_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, year)): Path<(i64, i32)>,
    JsonBody(body): JsonBody<YearBody>,
) -> ApiResult<impl IntoResponse> {
    let s = Subject::User(UserId(user));
    let y = targets::set_year(&state.db, &caller.viewer, s, year, &body.months, now()).await?;
    Ok(Json(y))
}

/// A team's targets for a year: its members, its supervisors and admins.
#[utoipa::path(get, path = "/api/v1/teams/{id}/targets/{year}",
    params(("id" = i64, Path, description = "Team id"), ("year" = i32, Path, description = "Year")),
    responses((status = 200, description = "`{subject, year, months}`"), (status = 404, description = "not_found")))]
pub async fn get_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, year)): Path<(i64, i32)>,
) -> ApiResult<impl IntoResponse> {
    let s = Subject::Team(TeamId(team));
    Ok(Json(
        targets::year(&state.db, &caller.viewer, s, year).await?,
    ))
}

/// Sets a team's targets for a whole year (an admin, or a supervisor of the team).
#[utoipa::path(put, path = "/api/v1/teams/{id}/targets/{year}", request_body = YearBody,
    params(("id" = i64, Path, description = "Team id"), ("year" = i32, Path, description = "Year")),
    responses((status = 200, description = "The year as stored"), (status = 403, description = "forbidden"),
        (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn put_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, year)): Path<(i64, i32)>,
    JsonBody(body): JsonBody<YearBody>,
) -> ApiResult<impl IntoResponse> {
    let s = Subject::Team(TeamId(team));
    let y = targets::set_year(&state.db, &caller.viewer, s, year, &body.months, now()).await?;
    Ok(Json(y))
}

/// `?month=YYYY-MM`, by default the current statistics month.
fn month_param(q: Option<&str>) -> ApiResult<Month> {
    let pairs = query_pairs(q);
    match pair(&pairs, "month") {
        Some(m) => Month::parse(m).ok_or(AppError::BadRequest("bad_month")),
        None => {
            let today = leadline_store::work_reports::daily::today_of(now())?;
            Ok(Month::of(today))
        }
    }
}

/// A person's progress for a month: target against done, metric by metric. Done figures come
/// from the records: calls, valid conversations and qualified leads from the statistics days;
/// new customers (became theirs that month); confirmed orders and their totals; payments on
/// their orders.
#[utoipa::path(get, path = "/api/v1/targets/{user_id}/progress",
    params(("user_id" = i64, Path, description = "User id"), ("month" = Option<String>, Query, description = "YYYY-MM; default this month")),
    responses((status = 200, description = "`{subject, month, target, done, metrics: [{metric, target, done, percent, bar}]}`; `percent` is whole percent rounded down, null without a target"),
        (status = 404, description = "not_found")))]
pub async fn user_progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<i64>,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let m = month_param(q.as_deref())?;
    let s = Subject::User(UserId(user));
    Ok(Json(
        progress::month(&state.db, &caller.viewer, s, m).await?,
    ))
}

/// A team's progress for a month (its current members' records).
#[utoipa::path(get, path = "/api/v1/teams/{id}/targets/progress",
    params(("id" = i64, Path, description = "Team id"), ("month" = Option<String>, Query, description = "YYYY-MM; default this month")),
    responses((status = 200, description = "`{subject, month, target, done, metrics}`"), (status = 404, description = "not_found")))]
pub async fn team_progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<i64>,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let m = month_param(q.as_deref())?;
    let s = Subject::Team(TeamId(team));
    Ok(Json(
        progress::month(&state.db, &caller.viewer, s, m).await?,
    ))
}
