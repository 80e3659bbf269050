//! Reclaim rules (回收规则) over JSON: the rules and the warning days and protection cap (admin
//! writes, supervisors read), and a supervisor's protection of a record. A change of rules
//! queues the recount of the countdowns it may move.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use leadline_domain::ownership::{ReclaimBasis, RecordKind, RuleScope};
use leadline_domain::{IntentLevel, LeadId, Role};
use leadline_engine::jobs_runner::enqueue;
use leadline_engine::reclaim_job::{ReclaimRecount, RecountScopes};
use leadline_store::ownership::reclaim::protection::{self, Protect};
use leadline_store::ownership::reclaim::{self, RuleInput};
use leadline_store::{StoreError, now};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::{JsonBody, Path};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

fn invalid(field: &str) -> AppError {
    StoreError::invalid(field, "invalid").into()
}

/// A field that may be left out (keep), null (clear) or set.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A rule as written: for a new rule `basis` and `days` are required; in a change, a field left
/// out keeps its value and a scope field set to null (or "") matches every record.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclaimRuleBody {
    /// no_valid_follow_up | no_progress | no_deal
    pub basis: Option<String>,
    /// 1 to 3650.
    pub days: Option<i64>,
    /// phone | company, or null for both.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<Option<String>>,
    /// An intent level, or null for any.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub intent: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub grade: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
}

fn blank(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

impl ReclaimRuleBody {
    fn apply(self, mut r: RuleInput) -> Result<RuleInput, AppError> {
        if let Some(b) = self.basis {
            r.basis = ReclaimBasis::parse(&b).ok_or_else(|| invalid("basis"))?;
        }
        if let Some(d) = self.days {
            r.days = u16::try_from(d).map_err(|_| StoreError::invalid("days", "out_of_range"))?;
        }
        if let Some(k) = self.kind {
            r.scope.kind = blank(k)
                .map(|k| RecordKind::parse(&k).ok_or_else(|| invalid("kind")))
                .transpose()?;
        }
        if let Some(i) = self.intent {
            r.scope.intent = blank(i)
                .map(|i| IntentLevel::parse(&i).ok_or_else(|| invalid("intent")))
                .transpose()?;
        }
        if let Some(g) = self.grade {
            r.scope.grade = blank(g);
        }
        if let Some(s) = self.source {
            r.scope.source = blank(s);
        }
        Ok(r)
    }
}

/// Queues the recount of the countdowns `scopes` may touch (a job: large floors take a while).
pub(crate) async fn queue_recount(
    state: &AppState,
    scopes: Vec<RuleScope>,
) -> Result<(), AppError> {
    enqueue::<ReclaimRecount>(
        &state.db,
        &state.hub,
        now(),
        &RecountScopes { scopes },
        None,
    )
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(())
}

/// The reclaim rules, the warning days and the protection cap (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/reclaim-rules", responses((status = 200, description = "`{\"items\": [...], \"warn_days\": \"3,1\", \"protection_cap_per_person\": 20}`"), (status = 403, description = "forbidden")))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller.require(Role::manages_leads)?;
    Ok(Json(json!({
        "items": reclaim::list_rules(&state.db).await?,
        "warn_days": warn_text(&reclaim::warn_days(&state.db).await?),
        "protection_cap_per_person": protection::cap(&state.db).await?,
    })))
}

fn warn_text(days: &[u16]) -> String {
    days.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Adds a reclaim rule (admin); the countdowns it may move are recomputed in the background.
#[utoipa::path(post, path = "/api/v1/reclaim-rules", request_body = ReclaimRuleBody,
    responses((status = 201, description = "The rule"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ReclaimRuleBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    if body.basis.is_none() {
        return Err(StoreError::invalid("basis", "required").into());
    }
    if body.days.is_none() {
        return Err(StoreError::invalid("days", "required").into());
    }
    let input = body.apply(RuleInput {
        basis: ReclaimBasis::NoValidFollowUp,
        days: 15,
        scope: RuleScope::default(),
    })?;
    let rule = reclaim::create_rule(&state.db, caller.user.id, input, now()).await?;
    queue_recount(&state, vec![rule.scope.clone()]).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Changes a reclaim rule (admin).
#[utoipa::path(patch, path = "/api/v1/reclaim-rules/{id}", request_body = ReclaimRuleBody, params(("id" = i64, Path, description = "Rule id")),
    responses((status = 200, description = "The rule"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ReclaimRuleBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let current = reclaim::rule(&state.db, id).await?;
    let input = body.apply(RuleInput {
        basis: current.basis,
        days: current.days,
        scope: current.scope,
    })?;
    let (before, after) = reclaim::update_rule(&state.db, caller.user.id, id, input, now()).await?;
    queue_recount(&state, vec![before.scope, after.scope.clone()]).await?;
    Ok(Json(after))
}

/// Retires a reclaim rule (admin); the records it sent back keep its id in their history.
#[utoipa::path(delete, path = "/api/v1/reclaim-rules/{id}", params(("id" = i64, Path, description = "Rule id")),
    responses((status = 204, description = "Retired"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let gone = reclaim::delete_rule(&state.db, caller.user.id, id, now()).await?;
    queue_recount(&state, vec![gone.scope]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclaimSettingsBody {
    /// Days before a reclaim when the owner is warned, e.g. "3,1" ("" for none).
    pub warn_days: Option<String>,
    /// Most records one owner may have protected at once.
    pub protection_cap_per_person: Option<i64>,
}

/// Sets the warning days and the protection cap (admin).
#[utoipa::path(put, path = "/api/v1/reclaim-settings", request_body = ReclaimSettingsBody,
    responses((status = 200, description = "`{\"warn_days\": \"3,1\", \"protection_cap_per_person\": 20}`"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ReclaimSettingsBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let warn = body
        .warn_days
        .map(|w| {
            reclaim::parse_warn_days(&w).ok_or_else(|| {
                AppError::from(StoreError::invalid(reclaim::WARN_DAYS_KEY, "invalid"))
            })
        })
        .transpose()?;
    if let Some(cap) = body.protection_cap_per_person
        && !(0..=100_000).contains(&cap)
    {
        return Err(StoreError::invalid(protection::CAP_KEY, "out_of_range").into());
    }
    if let Some(days) = &warn {
        reclaim::set_warn_days(&state.db, caller.user.id, days, now()).await?;
    }
    if let Some(cap) = body.protection_cap_per_person {
        protection::set_cap(&state.db, caller.user.id, cap, now()).await?;
    }
    Ok(Json(json!({
        "warn_days": warn_text(&reclaim::warn_days(&state.db).await?),
        "protection_cap_per_person": protection::cap(&state.db).await?,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectionBody {
    /// Protected until then (RFC 3339; later than now, at most ten years ahead).
    pub until: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Protects an owned record from reclaim until a date (a supervisor of the owner's team, or an
/// admin), within the per-owner cap.
#[utoipa::path(put, path = "/api/v1/leads/{id}/protection", request_body = ProtectionBody, params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "`{\"protected_until\": …, \"reclaim_at\": …}`"), (status = 403, description = "forbidden"),
        (status = 404, description = "not_found (also when the caller may not see the lead)"),
        (status = 409, description = "protection_cap: the owner already has as many protected records as the cap allows"),
        (status = 422, description = "invalid_input (a date in the past, a record without owner)")))]
pub async fn protect(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    JsonBody(body): JsonBody<ProtectionBody>,
) -> ApiResult<impl IntoResponse> {
    match protection::protect(
        &state.db,
        &caller.viewer,
        id,
        body.until,
        body.reason,
        now(),
    )
    .await?
    {
        Protect::Done { until, reclaim_at } => Ok(Json(
            json!({ "protected_until": until, "reclaim_at": reclaim_at }),
        )),
        Protect::CapReached { .. } => Err(AppError::Conflict("protection_cap")),
    }
}

/// Removes a record's protection; its countdown resumes.
#[utoipa::path(delete, path = "/api/v1/leads/{id}/protection", params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "`{\"protected_until\": null, \"reclaim_at\": …}`"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")))]
pub async fn unprotect(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    let reclaim_at = protection::unprotect(&state.db, &caller.viewer, id, now()).await?;
    Ok(Json(
        json!({ "protected_until": null, "reclaim_at": reclaim_at }),
    ))
}
