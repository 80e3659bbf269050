//! The people around a record over JSON (issue 22): backup owners (副负责人), absences (请假),
//! friends and family (亲朋好友), hand-over to a sales rep (交接), batch assignment (批量分配 /
//! 转移). Referrals are set on create and patch of a lead (`referred_by`).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use leadline_domain::{LeadId, TeamId, UserId};
use leadline_store::ownership::people::{self, AssignTarget, HandoverDirection, Referrer, absence};
use leadline_store::{StoreError, leads};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{JsonBody, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// A referrer as the API takes it: a lead id (a number the caller may see) or the referring
/// customer's phone (a text).
pub fn referrer_of(v: &Value) -> Result<Referrer, StoreError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(|id| Referrer::Lead(LeadId(id)))
            .ok_or_else(|| StoreError::invalid("referred_by", "referrer_not_found")),
        Value::String(s) if !s.trim().is_empty() => Ok(Referrer::Phone(s.clone())),
        _ => Err(StoreError::invalid("referred_by", "not_a_referrer")),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupBody {
    pub user_id: i64,
    /// Whether the backup may edit (else read only).
    #[serde(default)]
    pub may_edit: bool,
}

/// Names the backup owner (副负责人): by the owner, a supervisor of the owner's team, or an
/// admin. 403 for others who see the lead, 404 for those who do not.
#[utoipa::path(put, path = "/api/v1/leads/{id}/backup", request_body = BackupBody,
    responses((status = 200, description = "The lead"), (status = 403), (status = 404), (status = 422)))]
pub async fn put_backup(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    JsonBody(body): JsonBody<BackupBody>,
) -> ApiResult<impl IntoResponse> {
    let now = leadline_store::now();
    people::set_backup(
        &state.db,
        &caller.viewer,
        id,
        UserId(body.user_id),
        body.may_edit,
        now,
    )
    .await?;
    Ok(Json(leads::get(&state.db, &caller.viewer, id).await?))
}

/// Removes the backup owner.
#[utoipa::path(delete, path = "/api/v1/leads/{id}/backup",
    responses((status = 200, description = "The lead"), (status = 403), (status = 404)))]
pub async fn delete_backup(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    people::clear_backup(&state.db, &caller.viewer, id, leadline_store::now()).await?;
    Ok(Json(leads::get(&state.db, &caller.viewer, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceBody {
    /// Whose leave (default: the caller's).
    pub user_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Records a period of leave (请假): one's own, a supervised team member's, or (admins)
/// anyone's. While it lasts, revisit reminders about the person's records go to each record's
/// backup owner, else to the team's supervisor.
#[utoipa::path(post, path = "/api/v1/absences", request_body = AbsenceBody,
    responses((status = 201), (status = 403), (status = 422)))]
pub async fn create_absence(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<AbsenceBody>,
) -> ApiResult<impl IntoResponse> {
    let input = absence::AbsenceInput {
        user: body.user_id.map_or(caller.user.id, UserId),
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        reason: body.reason,
    };
    let created = absence::create(&state.db, &caller.viewer, &input, leadline_store::now()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The leave the caller may see (their own, their teams', everyone's for admins), not yet
/// over; `user_id` narrows it to one person, `all=true` includes past leave.
#[utoipa::path(get, path = "/api/v1/absences",
    params(("user_id" = Option<i64>, Query), ("all" = Option<bool>, Query)), responses((status = 200)))]
pub async fn list_absences(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let user = match pair(&pairs, "user_id").filter(|v| !v.is_empty()) {
        Some(v) => {
            Some(UserId(v.parse().map_err(|_| {
                StoreError::invalid("user_id", "not_a_number")
            })?))
        }
        None => None,
    };
    let since = match pair(&pairs, "all") {
        Some("true") => None,
        _ => Some(leadline_store::now()),
    };
    let items = absence::list(&state.db, &caller.viewer, user, since).await?;
    Ok(Json(json!({ "items": items })))
}

/// Removes a period of leave; 404 when the caller may not manage it.
#[utoipa::path(delete, path = "/api/v1/absences/{id}", responses((status = 204), (status = 404)))]
pub async fn delete_absence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    absence::delete(&state.db, &caller.viewer, id, leadline_store::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalBody {
    pub personal: bool,
}

/// Marks a lead as the caller's own friends and family (亲朋好友): theirs, never reclaimed
/// (`reclaim_at` null). Only the owner, or anyone who sees a pool lead (it becomes theirs);
/// 409 `already_owned` when someone else owns it.
#[utoipa::path(put, path = "/api/v1/leads/{id}/personal", request_body = PersonalBody,
    responses((status = 200, description = "The lead"), (status = 404), (status = 409, description = "already_owned")))]
pub async fn put_personal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    JsonBody(body): JsonBody<PersonalBody>,
) -> ApiResult<impl IntoResponse> {
    people::set_personal(
        &state.db,
        &caller.viewer,
        id,
        body.personal,
        leadline_store::now(),
    )
    .await?;
    Ok(Json(leads::get(&state.db, &caller.viewer, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    pub to_user_id: i64,
    pub note: Option<String>,
}

/// Hands a qualified lead to a sales rep (交接): its calls, notes and fields go with it; the
/// rep is notified. 422 `invalid_input` (`not_qualified`, `not_sales`); 404 for a lead the
/// caller does not see.
#[utoipa::path(post, path = "/api/v1/leads/{id}/handover", request_body = HandoverBody,
    responses((status = 200), (status = 403), (status = 404), (status = 422)))]
pub async fn handover(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    JsonBody(body): JsonBody<HandoverBody>,
) -> ApiResult<impl IntoResponse> {
    let to = UserId(body.to_user_id);
    let rep = people::handover(
        &state.db,
        &caller.viewer,
        id,
        to,
        body.note,
        leadline_store::now(),
    )
    .await?;
    Ok(Json(json!({ "lead_id": id, "to_user_id": rep })))
}

/// Who handed what to whom: `direction=to_me` (a rep's queue), `from_me`, or `team`
/// (supervisors: their teams; admins: all). Default by role.
#[utoipa::path(get, path = "/api/v1/handovers",
    params(("direction" = Option<String>, Query)), responses((status = 200), (status = 403), (status = 422)))]
pub async fn list_handovers(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let direction = direction_of(pair(&pairs, "direction"), &caller)?;
    let items = people::handovers(&state.db, &caller.viewer, direction).await?;
    Ok(Json(
        json!({ "direction": direction.code(), "items": items }),
    ))
}

pub fn direction_of(v: Option<&str>, caller: &Caller) -> Result<HandoverDirection, AppError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(HandoverDirection::default_for(caller.user.role)),
        Some(v) => HandoverDirection::parse(v)
            .ok_or_else(|| StoreError::invalid("direction", "not_an_option").into()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// At most 1,000.
    pub lead_ids: Vec<i64>,
    /// One person; or `round_robin_team_id`.
    pub to_user_id: Option<i64>,
    /// Deal the leads in turn over this team's active agents.
    pub round_robin_team_id: Option<i64>,
    pub reason: Option<String>,
}

/// Assigns or transfers leads (批量分配 / 转移): supervisors within their teams, admins. Each
/// lead the caller may not see is refused by id (`not_found`); the rest move in one
/// transaction. 403 for agents and reps, and for a person or team outside the caller's teams.
#[utoipa::path(post, path = "/api/v1/leads/assign", request_body = AssignBody,
    responses((status = 200, description = "{assigned: [{lead_id, to_user_id}], unchanged, refused: [{lead_id, code}]}"),
        (status = 403), (status = 422)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<AssignBody>,
) -> ApiResult<impl IntoResponse> {
    let target = match (body.to_user_id, body.round_robin_team_id) {
        (Some(u), None) => AssignTarget::Person(UserId(u)),
        (None, Some(t)) => AssignTarget::RoundRobin(TeamId(t)),
        _ => return Err(StoreError::invalid("to_user_id", "one_target").into()),
    };
    let ids: Vec<LeadId> = body.lead_ids.into_iter().map(LeadId).collect();
    let out = people::assign(
        &state.db,
        &caller.viewer,
        &ids,
        target,
        body.reason,
        leadline_store::now(),
    )
    .await?;
    Ok(Json(json!({
        "assigned": out.assigned.iter().map(|(l, u)| json!({"lead_id": l, "to_user_id": u})).collect::<Vec<_>>(),
        "unchanged": out.unchanged,
        "refused": out.refused,
    })))
}
