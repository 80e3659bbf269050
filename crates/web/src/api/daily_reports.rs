//! The daily work report (工作日报) over JSON (issue 24): one person's report for a day with
//! its figures from the records, submitting it, the supervisor's comments, the team's day (who
//! has not handed theirs in), and the reminder hour.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use leadline_domain::{Role, TeamId, UserId};
use leadline_store::now;
use leadline_store::work_reports::daily::{self, ReportInput};
use leadline_store::workday::config;
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, OptionalJson, Path};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// A person's report for a day. CONTRACT: `{user_id, user_name, date, status: draft|submitted,
/// summary, problems, market_info, version, submitted_at, figures: {calls, connected,
/// valid_conversations, qualified, talk_s, intent: {level: n}, visits, new_customers, orders,
/// revenue_fen, collections_fen}, comments: [{author_name, body, created_at}], may_submit}`.
/// The figures are read from the records each time. The person, the supervisors of their team
/// and admins; 404 for anyone else.
#[utoipa::path(get, path = "/api/v1/reports/daily/{user_id}/{date}",
    params(("user_id" = i64, Path, description = "User id"), ("date" = String, Path, description = "Statistics day, YYYY-MM-DD")),
    responses((status = 200, description = "The day's report (status `draft` until submitted)"),
        (status = 404, description = "not_found: someone whose reports the caller may not read"),
        (status = 422, description = "invalid_input: date")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, date)): Path<(i64, String)>,
) -> ApiResult<impl IntoResponse> {
    let today = daily::today_of(now())?;
    let r = daily::get(&state.db, &caller.viewer, UserId(user), &date, today).await?;
    Ok(Json(r))
}

/// Submits the caller's own report for today or a past day: `{summary, problems?,
/// market_info?}`. Submitting again replaces it until a supervisor has commented (then 409
/// `report_commented`). 403 for someone else's report the caller may read; 422 for a future
/// day or an empty summary.
#[utoipa::path(post, path = "/api/v1/reports/daily/{user_id}/{date}",
    params(("user_id" = i64, Path, description = "User id (the caller's own)"), ("date" = String, Path, description = "YYYY-MM-DD")),
    request_body(content = serde_json::Value, description = "`{summary, problems?, market_info?}`"),
    responses((status = 200, description = "The report, submitted"), (status = 403, description = "forbidden: not the caller's own"),
        (status = 404, description = "not_found"), (status = 409, description = "report_commented"),
        (status = 422, description = "invalid_input: summary required, date in the future")))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, date)): Path<(i64, String)>,
    JsonBody(body): JsonBody<ReportInput>,
) -> ApiResult<impl IntoResponse> {
    let r = daily::submit(&state.db, &caller.viewer, UserId(user), &date, &body, now()).await?;
    Ok(Json(r))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub body: String,
}

/// A supervisor of the person's team (or an admin) comments on a submitted report; the person
/// is notified. 403 for the person themself; 404 for a report the caller may not read or one
/// not submitted.
#[utoipa::path(post, path = "/api/v1/reports/daily/{user_id}/{date}/comments", request_body = CommentBody,
    params(("user_id" = i64, Path, description = "User id"), ("date" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 201, description = "`{id, author_id, author_name, body, created_at}`"), (status = 403, description = "forbidden"),
        (status = 404, description = "not_found"), (status = 422, description = "invalid_input: body required")))]
pub async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, date)): Path<(i64, String)>,
    OptionalJson(body): OptionalJson<CommentBody>,
) -> ApiResult<impl IntoResponse> {
    let c = daily::comment(
        &state.db,
        &caller.viewer,
        UserId(user),
        &date,
        &body.body,
        now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// A team's agents and sales reps on a day, those who have not submitted first: an admin or a
/// supervisor of the team (403 otherwise).
#[utoipa::path(get, path = "/api/v1/teams/{id}/reports/daily/{date}",
    params(("id" = i64, Path, description = "Team id"), ("date" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, description = "`{date, members: [{user_id, user_name, role, submitted_at, comments, calls}], missing: n}`"),
        (status = 403, description = "forbidden")))]
pub async fn team_day(
    State(state): State<AppState>,
    caller: Caller,
    Path((team, date)): Path<(i64, String)>,
) -> ApiResult<impl IntoResponse> {
    let list = daily::team_day(&state.db, &caller.viewer, TeamId(team), &date).await?;
    let missing = list.iter().filter(|e| !e.submitted()).count();
    Ok(Json(
        json!({ "date": date, "members": list, "missing": missing }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderBody {
    /// 0–23, the hour of the statistics day after which the reminder goes out.
    pub reminder_hour: i64,
}

/// The hour the reminder to hand in the day's report goes out.
#[utoipa::path(get, path = "/api/v1/reports/daily/settings",
    responses((status = 200, description = "`{reminder_hour}`")))]
pub async fn settings(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        json!({ "reminder_hour": daily::reminder_hour(&state.db).await? }),
    ))
}

/// Sets the reminder hour (admin).
#[utoipa::path(put, path = "/api/v1/reports/daily/settings", request_body = ReminderBody,
    responses((status = 200, description = "`{reminder_hour}`"), (status = 403, description = "forbidden: not an admin"),
        (status = 422, description = "invalid_input: reminder_hour out of range")))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ReminderBody>,
) -> ApiResult<impl IntoResponse> {
    if caller.user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    if !(0..=23).contains(&body.reminder_hour) {
        return Err(leadline_store::StoreError::invalid("reminder_hour", "out_of_range").into());
    }
    config::set_int_setting(
        &state.db,
        caller.user.id,
        daily::REMINDER_HOUR_KEY,
        body.reminder_hour,
    )
    .await?;
    Ok(Json(json!({ "reminder_hour": body.reminder_hour })))
}
