//! Claiming (领取) and releasing leads, the public pools (公海), their limits, the masked phone
//! setting, the ownership history of a lead and pool statistics (issue 22).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate};
use leadline_domain::{LeadId, PoolId, Role, TeamId};
use leadline_store::leads;
use leadline_store::ownership::{claim, events, pools};
use leadline_store::{StoreError, now};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Path, id_param, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// Takes a pool lead (领取). CONTRACT: 200 with the lead (as `GET /api/v1/leads/{id}`) now
/// owned by the caller; 409 `already_owned` when someone else got it first; 409 `claim_limit`
/// past the day's cap or the cap of leads held at once (`details.limit`: `per_day` or
/// `held_at_once`); 409 `cooldown` for a former owner too soon after giving it up
/// (`details.until`); 404 for a lead the caller may not see.
#[utoipa::path(post, path = "/api/v1/leads/{id}/claim", params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "The lead, now the caller's"),
        (status = 404, description = "not_found: a lead the caller may not see"),
        (status = 409, description = "already_owned | claim_limit (details.limit) | cooldown (details.until)")))]
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    claim::claim(&state.db, &caller.viewer, id, now()).await?;
    Ok(Json(leads::get(&state.db, &caller.viewer, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// Why it goes back (required, at most 500 characters).
    pub reason: String,
    /// The pool to put it in; by default its home pool.
    pub pool_id: Option<i64>,
}

/// Gives a lead back to its pool (释放到公海) with a reason: its owner, a supervisor of the
/// owner's team, or an admin. 200 with the lead when the caller may still see it, else 204.
#[utoipa::path(post, path = "/api/v1/leads/{id}/release", request_body = ReleaseBody, params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "The lead, now in the pool"), (status = 204, description = "Released into a pool the caller does not see"),
        (status = 403, description = "forbidden: not the owner nor their supervisor"), (status = 404, description = "not_found"),
        (status = 409, description = "not_owned"), (status = 422, description = "invalid_input: reason required, pool_id unknown")))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> ApiResult<Response> {
    claim::release(
        &state.db,
        &caller.viewer,
        id,
        &body.reason,
        body.pool_id.map(PoolId),
        now(),
    )
    .await?;
    match leads::get(&state.db, &caller.viewer, id).await {
        Ok(lead) => Ok(Json(lead).into_response()),
        Err(StoreError::NotFound) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => Err(e.into()),
    }
}

/// A lead's ownership history (归属记录), oldest first: each change of owner with the names,
/// the pool, the reclaim rule that fired and the reason. CONTRACT: 404 for a lead the caller
/// may not see.
#[utoipa::path(get, path = "/api/v1/leads/{id}/ownership", params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "`{events: [{id, at, action, from_user, from_name, to_user, to_name, actor_id, actor_name, pool_id, rule_id, case_id, reason}]}`"),
        (status = 404, description = "not_found")))]
pub async fn ownership(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    let lead = leads::get(&state.db, &caller.viewer, id).await?;
    let events = events::history(&state.db, lead.id).await?;
    Ok(Json(
        json!({ "lead_id": lead.id, "reclaim_at": lead.ownership.reclaim_at,
        "owner_id": lead.owner_id, "owner_name": lead.owner_name, "events": events }),
    ))
}

/// The pools open to the caller (the default pool 公海 first, `id: null`), each with its
/// waiting leads, and what is left of the caller's limits.
#[utoipa::path(get, path = "/api/v1/pools",
    responses((status = 200, description = "`{pools: [{id, name, team_ids, leads}], limits: {limits, claims_today, held, claims_left, held_left}, mask_phone}`")))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    let list = pools::list_for(&state.db, &caller.viewer).await?;
    let limits = pools::limits_left(&state.db, &caller.viewer, now()).await?;
    let mask = pools::mask_phone(&state.db).await?;
    Ok(Json(
        json!({ "pools": list, "limits": limits, "mask_phone": mask }),
    ))
}

/// The leads waiting in a pool (`pool_id` absent: the default pool), 100 at a time after
/// `after`; the phone masked for agents and sales reps when `mask_phone` is on.
#[utoipa::path(get, path = "/api/v1/pools/leads",
    params(("pool_id" = Option<i64>, Query, description = "Named pool; absent: 公海"), ("after" = Option<i64>, Query, description = "Last lead id of the previous page")),
    responses((status = 200, description = "`{leads: [{id, name, company, city, source, phone, created_at}]}`"), (status = 404, description = "A pool not open to the caller")))]
pub async fn leads_in(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let pool = id_param(&pairs, "pool_id")?.map(PoolId);
    let after = id_param(&pairs, "after")?.map(LeadId);
    let list = pools::leads_in(&state.db, &caller.viewer, pool, after).await?;
    Ok(Json(json!({ "leads": list })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolBody {
    /// 1–40 characters, unique.
    pub name: Option<String>,
    /// The teams the pool is open to (supervisors of those teams too; admins see every pool).
    pub team_ids: Option<Vec<i64>>,
}

/// Creates a named pool open to chosen teams (admin).
#[utoipa::path(post, path = "/api/v1/pools", request_body = PoolBody,
    responses((status = 201, description = "`{id}`"), (status = 403, description = "forbidden"), (status = 409, description = "already_exists"), (status = 422, description = "invalid_input")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PoolBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let teams: Vec<TeamId> = body
        .team_ids
        .unwrap_or_default()
        .into_iter()
        .map(TeamId)
        .collect();
    let id = pools::create(
        &state.db,
        caller.user.id,
        body.name.as_deref().unwrap_or_default(),
        &teams,
        now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// Renames a pool or changes its teams (admin).
#[utoipa::path(patch, path = "/api/v1/pools/{id}", request_body = PoolBody, params(("id" = i64, Path, description = "Pool id")),
    responses((status = 200, description = "`{id}`"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 409, description = "already_exists"), (status = 422, description = "invalid_input")))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<PoolId>,
    JsonBody(body): JsonBody<PoolBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let teams: Option<Vec<TeamId>> = body.team_ids.map(|t| t.into_iter().map(TeamId).collect());
    pools::update(
        &state.db,
        caller.user.id,
        id,
        body.name.as_deref(),
        teams.as_deref(),
        now(),
    )
    .await?;
    Ok(Json(json!({ "id": id })))
}

/// Deletes a named pool (admin). A pool that is still the home of any lead (waiting in it or
/// owned from it) is refused with 409 `pool_not_empty`: release or move its leads first; the
/// leads are never moved to the default pool behind the admin's back.
#[utoipa::path(delete, path = "/api/v1/pools/{id}", params(("id" = i64, Path, description = "Pool id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 409, description = "pool_not_empty")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<PoolId>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    pools::delete(&state.db, caller.user.id, id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The claim limits, one row per role or team (a team's row wins over its role's); with no
/// row, 30 claims a day, no cap held at once, cool-down 60 min (phone) / 720 min (company).
#[utoipa::path(get, path = "/api/v1/claim-limits",
    responses((status = 200, description = "`{limits: [{id, role, team_id, per_day, held_at_once, cooldown_phone_minutes, cooldown_company_minutes}]}`")))]
pub async fn get_limits(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        json!({ "limits": pools::limit_rows(&state.db).await? }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// Every row (replaces all): `{role | team_id, per_day?, held_at_once?,
    /// cooldown_phone_minutes?, cooldown_company_minutes?}`; a null count is no limit.
    #[schema(value_type = Vec<Object>)]
    pub limits: Vec<LimitBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    pub role: Option<String>,
    pub team_id: Option<i64>,
    pub per_day: Option<i64>,
    pub held_at_once: Option<i64>,
    pub cooldown_phone_minutes: Option<i64>,
    pub cooldown_company_minutes: Option<i64>,
}

/// Replaces the claim limits (admin).
#[utoipa::path(put, path = "/api/v1/claim-limits", request_body = LimitsBody,
    responses((status = 200, description = "The limits now"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn put_limits(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<LimitsBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let rows: Vec<pools::LimitInput> = body
        .limits
        .into_iter()
        .map(|l| pools::LimitInput {
            role: l.role,
            team_id: l.team_id,
            per_day: l.per_day,
            held_at_once: l.held_at_once,
            cooldown_phone_minutes: l.cooldown_phone_minutes,
            cooldown_company_minutes: l.cooldown_company_minutes,
        })
        .collect();
    pools::replace_limits(&state.db, caller.user.id, &rows, now()).await?;
    Ok(Json(
        json!({ "limits": pools::limit_rows(&state.db).await? }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSettingsBody {
    /// Pool leads show a masked phone (138****5678) to agents and sales reps until claimed.
    pub mask_phone: bool,
}

/// Turns the masked phone of pool leads on or off (admin; setting `pool_mask_phone`).
#[utoipa::path(put, path = "/api/v1/pool-settings", request_body = PoolSettingsBody,
    responses((status = 200, description = "`{mask_phone}`"), (status = 403, description = "forbidden")))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PoolSettingsBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    pools::set_mask_phone(&state.db, caller.user.id, body.mask_phone).await?;
    Ok(Json(json!({ "mask_phone": body.mask_phone })))
}

/// Pool statistics (supervisors and admins): put in (release, reclaim, entry or import into a
/// pool), claimed and reclaimed, per day, person and pool, from the ownership history.
/// `from`/`to` are days (YYYY-MM-DD) of the organisation's zone, inclusive; by default the last
/// 7 days.
#[utoipa::path(get, path = "/api/v1/pools/stats",
    params(("from" = Option<String>, Query, description = "YYYY-MM-DD"), ("to" = Option<String>, Query, description = "YYYY-MM-DD")),
    responses((status = 200, description = "`{from, to, total, by_day, by_person, by_pool}`, each `{put_in, claimed, reclaimed}`"),
        (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    caller.require(Role::manages_leads)?;
    let pairs = query_pairs(q.as_deref());
    let today = leadline_store::call_stats::today(&state.db, now())
        .await?
        .date;
    let (from, to) = stats_period(pair(&pairs, "from"), pair(&pairs, "to"), today)?;
    Ok(Json(
        leadline_store::ownership::pool_stats::stats(&state.db, from, to).await?,
    ))
}

/// The statistics' period from the query: `to` defaults to `today` (the organisation's), `from`
/// to six days before.
pub fn stats_period(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), AppError> {
    let day = |v: Option<&str>, field: &str| -> Result<Option<NaiveDate>, AppError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| StoreError::invalid(field, "invalid_date").into()),
        }
    };
    let to = day(to, "to")?.unwrap_or(today);
    let from =
        day(from, "from")?.unwrap_or_else(|| to.checked_sub_days(Days::new(6)).unwrap_or(to));
    Ok((from, to))
}
