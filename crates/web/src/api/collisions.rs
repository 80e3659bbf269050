//! Collision cases (撞单) over JSON: the list and one case with both sides, the parties'
//! settlement, escalation and appeal, the decision, the ledger and the policy.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::ownership::CollisionPolicy;
use leadline_domain::{CaseId, UserId};
use leadline_store::ownership::cases::{self, LedgerFilter, StatusFilter};
use leadline_store::{StoreError, now};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// The cases the caller may see: `status` open (default) | settled | decided | all; `mine=true`
/// only those the caller is a party to. Each case carries both sides (a lead's id and name only
/// for those who may see it), the stage, its deadline and the penalty a decision now carries.
#[utoipa::path(get, path = "/api/v1/collisions",
    params(("status" = Option<String>, Query, description = "open | settled | decided | all"),
           ("mine" = Option<bool>, Query, description = "only the caller's own cases")),
    responses((status = 200), (status = 400, description = "bad_status")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let status = match pair(&pairs, "status") {
        None | Some("") => StatusFilter::Open,
        Some(s) => StatusFilter::parse(s).ok_or(AppError::BadRequest("bad_status"))?,
    };
    let mine = matches!(pair(&pairs, "mine"), Some("true" | "1"));
    let items = cases::list(&state.db, &caller.viewer, status, mine, now()).await?;
    Ok(Json(json!({ "items": items })))
}

/// One case; 404 when it does not exist or the caller is neither a party, its recorder, a
/// supervisor of a party's team nor an admin.
#[utoipa::path(get, path = "/api/v1/collisions/{id}", responses((status = 200), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CaseId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        cases::get(&state.db, &caller.viewer, id, now()).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// One of the two parties.
    pub winner_id: i64,
    #[serde(default)]
    pub note: Option<String>,
}

/// Decides an open case: the supervisor of either party's team at stage `supervisor`, an admin
/// (leadership) at any stage. The disputed record goes to the winner; each party gets a ledger
/// row with the stage's penalty (30% / 50% of base pay by default). 403 for anyone else who
/// may see the case; 409 `case_closed` when it is no longer open; 422 when the winner is not a
/// party.
#[utoipa::path(post, path = "/api/v1/collisions/{id}/decision", request_body = Decision,
    responses((status = 200), (status = 403), (status = 404), (status = 409, description = "case_closed"), (status = 422)))]
pub async fn decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CaseId>,
    JsonBody(body): JsonBody<Decision>,
) -> ApiResult<impl IntoResponse> {
    let case = cases::decide(
        &state.db,
        &caller.viewer,
        id,
        UserId(body.winner_id),
        body.note,
        now(),
    )
    .await?;
    Ok(Json(case))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settlement {
    pub winner_id: i64,
}

/// A party proposes who keeps the record; the other party accepting the same winner settles
/// the case without penalty. Only while the two may settle (409 `settle_time_over` after).
#[utoipa::path(post, path = "/api/v1/collisions/{id}/settle", request_body = Settlement,
    responses((status = 200), (status = 403), (status = 404), (status = 409)))]
pub async fn settle(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CaseId>,
    JsonBody(body): JsonBody<Settlement>,
) -> ApiResult<impl IntoResponse> {
    let case = cases::settle(&state.db, &caller.viewer, id, UserId(body.winner_id), now()).await?;
    Ok(Json(case))
}

/// A party says the two cannot settle: the supervisor decides now.
#[utoipa::path(post, path = "/api/v1/collisions/{id}/escalate",
    responses((status = 200), (status = 403), (status = 404), (status = 409)))]
pub async fn escalate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CaseId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        cases::escalate(&state.db, &caller.viewer, id, now()).await?,
    ))
}

/// The loser of a supervisor's decision appeals within 72 hours: the case reopens at
/// leadership (409 `appeal_closed` after, or for a case not decided by a supervisor).
#[utoipa::path(post, path = "/api/v1/collisions/{id}/appeal",
    responses((status = 200), (status = 403), (status = 404), (status = 409)))]
pub async fn appeal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CaseId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        cases::appeal(&state.db, &caller.viewer, id, now()).await?,
    ))
}

/// A moment from a query: RFC 3339, or a date (its start, UTC).
fn moment(field: &'static str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or(AppError::Store(StoreError::invalid(field, "bad_date")))
}

/// The ledger of decided cases, one row per person (won/lost, stage, who decided, the penalty
/// in basis points and in 分, `repeat_flag` for a possible 恶意抢单). Admins read every row,
/// supervisors their teams', everyone else their own (403 for another person's).
#[utoipa::path(get, path = "/api/v1/collision-ledger",
    params(("user_id" = Option<i64>, Query), ("from" = Option<String>, Query, description = "RFC 3339 or YYYY-MM-DD"),
           ("to" = Option<String>, Query, description = "exclusive")),
    responses((status = 200), (status = 403), (status = 422)))]
pub async fn ledger(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let user = match pair(&pairs, "user_id").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(UserId(v.parse().map_err(|_| {
            AppError::Store(StoreError::invalid("user_id", "not_a_number"))
        })?)),
    };
    let filter = LedgerFilter {
        user,
        from: moment("from", pair(&pairs, "from"))?,
        to: moment("to", pair(&pairs, "to"))?,
    };
    let items = cases::ledger(&state.db, &caller.viewer, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

/// How cases are settled: hours for the two, the supervisor's hours, the penalties in basis
/// points of base pay, and the repeat-loser rule.
#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub settle_hours: u32,
    pub supervisor_penalty_bp: u32,
    pub leadership_penalty_bp: u32,
    pub supervisor_hours: u32,
    pub repeat_losses: u32,
    pub repeat_days: u32,
}

impl From<CollisionPolicy> for Policy {
    fn from(p: CollisionPolicy) -> Policy {
        Policy {
            settle_hours: p.settle_hours,
            supervisor_penalty_bp: p.supervisor_penalty_bp,
            leadership_penalty_bp: p.leadership_penalty_bp,
            supervisor_hours: p.supervisor_hours,
            repeat_losses: p.repeat_losses,
            repeat_days: p.repeat_days,
        }
    }
}

/// The collision policy in force (defaults: 48 h, 30%, 72 h, 50%, 3 losses in 30 days).
#[utoipa::path(get, path = "/api/v1/collision-policy", responses((status = 200, body = Policy)))]
pub async fn get_policy(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(Policy::from(cases::policy(&state.db).await?)))
}

/// Changes the collision policy (admins).
#[utoipa::path(put, path = "/api/v1/collision-policy", request_body = Policy,
    responses((status = 200, body = Policy), (status = 403), (status = 422)))]
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(p): JsonBody<Policy>,
) -> ApiResult<impl IntoResponse> {
    let policy = CollisionPolicy {
        settle_hours: p.settle_hours,
        supervisor_penalty_bp: p.supervisor_penalty_bp,
        leadership_penalty_bp: p.leadership_penalty_bp,
        supervisor_hours: p.supervisor_hours,
        repeat_losses: p.repeat_losses,
        repeat_days: p.repeat_days,
    };
    let saved = cases::set_policy(&state.db, &caller.viewer, &policy).await?;
    Ok(Json(Policy::from(saved)))
}
