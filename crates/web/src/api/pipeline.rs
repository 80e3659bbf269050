//! The pipeline's API (issue 23): opportunities and their moves, the configured stages and lost
//! reasons, visits and the day's route plan, grades (override, levels) and the due-for-contact
//! list. Every opportunity, visit and grade is reached through its customer's visibility: a
//! customer the caller may not see is 404, one they may only read is 403 on change.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use leadline_domain::UserId;
use leadline_domain::dates::parse_date;
use leadline_store::pipeline::grades::{self, LevelInput};
use leadline_store::pipeline::opportunities::{self as opps, Filter, MoveInput, OpportunityInput};
use leadline_store::pipeline::stages::{self, EntryInput, List};
use leadline_store::pipeline::visits::{self, VisitInput};
use leadline_store::{StoreError, now};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Path, id_param, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// `key` as a date; absent, today in the organisation's zone (`org_time_zone`).
async fn day_param(
    db: &leadline_store::Db,
    pairs: &[(String, String)],
    key: &str,
) -> Result<NaiveDate, StoreError> {
    match pair(pairs, key).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(leadline_store::call_stats::today(db, now()).await?.date),
        Some(s) => parse_date(s).ok_or_else(|| StoreError::invalid(key, "invalid")),
    }
}

/// The opportunities the caller may see, by stage and card order (the board).
#[utoipa::path(get, path = "/api/v1/opportunities",
    params(("owner_id" = Option<i64>, Query, description = "Only this rep's"), ("customer_id" = Option<i64>, Query, description = "Only this customer's"),
        ("stage_id" = Option<i64>, Query, description = "Only this stage's")),
    responses((status = 200, description = "`{opportunities: [{id, customer_id, customer_name, owner_id, owner_name, title, stage_id, stage_entered_at, board_position, amount_fen, expected_date, lost_reason_id, lost_note, won_at, lost_at, version, …}]}`")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let filter = Filter {
        owner: id_param(&pairs, "owner_id")?.map(UserId),
        customer: id_param(&pairs, "customer_id")?,
        stage: id_param(&pairs, "stage_id")?,
    };
    let list = opps::list(&state.db, &caller.viewer, &filter).await?;
    Ok(Json(json!({ "opportunities": list })))
}

/// One opportunity with its stage history and the time spent in each stage (`seconds`).
/// CONTRACT: 404 for an opportunity of a customer the caller may not see.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}", params(("id" = i64, Path, description = "Opportunity id")),
    responses((status = 200, description = "The opportunity with `history: [{stage_id, stage_code, entered_at, left_at, moved_by}]` and `time_in_stage: [{stage_id, stage_code, label_zh, label_en, seconds}]`"),
        (status = 404, description = "not_found")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        opps::detail(&state.db, &caller.viewer, id, now()).await?,
    ))
}

/// Creates an opportunity on a customer the caller may change, in the first open stage.
/// Body: `{customer_id, title, amount_fen?, expected_date? (YYYY-MM-DD), contact_id?, owner_id?}`.
#[utoipa::path(post, path = "/api/v1/opportunities",
    responses((status = 201, description = "The opportunity, as GET"), (status = 403, description = "forbidden: a customer the caller may only read"),
        (status = 404, description = "not_found: a customer the caller may not see"), (status = 422, description = "invalid_input")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<OpportunityInput>,
) -> ApiResult<impl IntoResponse> {
    let at = now();
    let id = opps::create(&state.db, &caller.viewer, &body, at).await?;
    Ok((
        StatusCode::CREATED,
        Json(opps::detail(&state.db, &caller.viewer, id, at).await?),
    ))
}

/// Changes an opportunity's title, amount (分) or expected date (`""` clears it); `version`
/// optional, a stale one is 409 `edit_conflict`.
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", params(("id" = i64, Path, description = "Opportunity id")),
    responses((status = 200, description = "The opportunity, as GET"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"),
        (status = 409, description = "edit_conflict"), (status = 422, description = "invalid_input")))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<OpportunityInput>,
) -> ApiResult<impl IntoResponse> {
    let at = now();
    opps::update(&state.db, &caller.viewer, id, &body, at).await?;
    Ok(Json(opps::detail(&state.db, &caller.viewer, id, at).await?))
}

/// Moves an opportunity to a stage: `{stage_id, lost_reason_id?, lost_note?}`. CONTRACT: 200
/// with the opportunity; 422 `invalid_input` (`lost_reason_id: required`) for a lost stage
/// without a reason of the configured list, (`stage_id: retired`) for a retired stage; 404 for a
/// customer the caller may not see; 403 for one they may only read.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/move", params(("id" = i64, Path, description = "Opportunity id")),
    responses((status = 200, description = "The opportunity, as GET"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"),
        (status = 422, description = "invalid_input: lost_reason_id required / unknown, stage_id unknown / retired")))]
pub async fn move_to(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<MoveInput>,
) -> ApiResult<impl IntoResponse> {
    let at = now();
    opps::move_to(&state.db, &caller.viewer, id, &body, at).await?;
    Ok(Json(opps::detail(&state.db, &caller.viewer, id, at).await?))
}

/// The stages (retired ones too, `active: false`) and the lost reasons, in order.
#[utoipa::path(get, path = "/api/v1/opportunity-stages",
    responses((status = 200, description = "`{stages: [{id, code, label_zh, label_en, position, is_won, is_lost, active}], lost_reasons: [{id, code, label_zh, label_en, position, active}]}`")))]
pub async fn list_stages(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(json!({
        "stages": stages::stages(&state.db).await?,
        "lost_reasons": stages::lost_reasons(&state.db).await?,
    })))
}

fn list_of(kind: &str) -> Result<List, StoreError> {
    match kind {
        "opportunity-stages" => Ok(List::Stages),
        "lost-reasons" => Ok(List::LostReasons),
        _ => Err(StoreError::NotFound),
    }
}

/// Adds a stage or a lost reason (admin): `{code, label_zh, label_en, is_won?, is_lost?}`.
#[utoipa::path(post, path = "/api/v1/pipeline-config/{list}", params(("list" = String, Path, description = "opportunity-stages | lost-reasons")),
    responses((status = 201, description = "`{id}`"), (status = 403, description = "forbidden"), (status = 409, description = "already_exists"), (status = 422, description = "invalid_input")))]
pub async fn add_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    JsonBody(body): JsonBody<EntryInput>,
) -> ApiResult<impl IntoResponse> {
    let id = stages::add(&state.db, &caller.viewer, list_of(&kind)?, &body, now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// Renames, retires (`active: false`) or restores a stage or a lost reason (admin). 409
/// `last_stage` when retiring the last open, won or lost stage.
#[utoipa::path(patch, path = "/api/v1/pipeline-config/{list}/{id}", params(("list" = String, Path, description = "opportunity-stages | lost-reasons"), ("id" = i64, Path, description = "Entry id")),
    responses((status = 204, description = "Changed"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 409, description = "last_stage")))]
pub async fn patch_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, i64)>,
    JsonBody(body): JsonBody<EntryInput>,
) -> ApiResult<impl IntoResponse> {
    stages::update(&state.db, &caller.viewer, list_of(&kind)?, id, &body, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct OrderBody {
    pub ids: Vec<i64>,
}

/// Puts a list in a new order (admin): `{ids: [...]}`, every entry once.
#[utoipa::path(put, path = "/api/v1/pipeline-config/{list}/order", params(("list" = String, Path, description = "opportunity-stages | lost-reasons")),
    responses((status = 204, description = "Reordered"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn order_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    JsonBody(body): JsonBody<OrderBody>,
) -> ApiResult<impl IntoResponse> {
    stages::reorder(&state.db, &caller.viewer, list_of(&kind)?, &body.ids, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records a visit done by the caller (or completes their planned one, `visit_id`), with the
/// market information: `{customer_id | visit_id, result (met|not_met|order|follow_up|other),
/// at?, duration_min?, notes?, quality_view?, price_view?, other_brands?, competitor_moves?}`.
/// The customer's last contact and next due contact move.
#[utoipa::path(post, path = "/api/v1/visits",
    responses((status = 201, description = "`{id}`"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn record_visit(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<VisitInput>,
) -> ApiResult<impl IntoResponse> {
    let id = visits::record(&state.db, &caller.viewer, &body, now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// A customer's visits, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/visits", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, description = "`{visits: [...]}`"), (status = 404, description = "not_found")))]
pub async fn customer_visits(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let list = visits::of_customer(&state.db, &caller.viewer, id).await?;
    Ok(Json(json!({ "visits": list })))
}

/// A day's visit plan in route order (客户路序), each stop with its customer's card:
/// `?day=YYYY-MM-DD` (default today), `user_id` (a supervisor: a member of their team).
#[utoipa::path(get, path = "/api/v1/visit-plan",
    params(("day" = Option<String>, Query, description = "YYYY-MM-DD, default today"), ("user_id" = Option<i64>, Query, description = "Whose plan; default the caller's")),
    responses((status = 200, description = "`{day, user_id, stops: [{visit_id, route_order, status, customer_id, customer_name, address, city, grade, contact_name, contact_phone, …}]}`"),
        (status = 403, description = "forbidden: another rep's plan")))]
pub async fn day_plan(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let day = day_param(&state.db, &pairs, "day").await?;
    let user = id_param(&pairs, "user_id")?.map_or(caller.viewer.user_id, UserId);
    let stops = visits::day_plan(&state.db, &caller.viewer, user, day).await?;
    Ok(Json(json!({ "day": day, "user_id": user, "stops": stops })))
}

#[derive(Debug, Deserialize)]
pub struct PlanBody {
    pub customer_id: i64,
    pub day: String,
}

/// Adds a visit to a customer to the caller's plan of `day`, at the end of the route.
#[utoipa::path(post, path = "/api/v1/visit-plan",
    responses((status = 201, description = "`{id}`"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn plan_visit(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PlanBody>,
) -> ApiResult<impl IntoResponse> {
    let day = parse_date(&body.day).ok_or_else(|| StoreError::invalid("day", "invalid"))?;
    let id = visits::plan(&state.db, &caller.viewer, body.customer_id, day, now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

#[derive(Debug, Deserialize)]
pub struct RouteBody {
    pub day: String,
    pub visit_ids: Vec<i64>,
}

/// Puts the caller's planned visits of `day` in route order: `{day, visit_ids}`, every one once.
#[utoipa::path(put, path = "/api/v1/visit-plan/order",
    responses((status = 204, description = "Reordered"), (status = 422, description = "invalid_input")))]
pub async fn order_plan(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<RouteBody>,
) -> ApiResult<impl IntoResponse> {
    let day = parse_date(&body.day).ok_or_else(|| StoreError::invalid("day", "invalid"))?;
    visits::reorder(&state.db, &caller.viewer, day, &body.visit_ids, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct GradeBody {
    pub grade: String,
    pub reason: String,
}

/// Sets a customer's grade by hand with a reason (supervisor or admin); the monthly run keeps
/// it. CONTRACT: 204; 403 for an agent or a sales rep; 404 for a customer the caller may not
/// see; 422 without a reason or with an unknown grade.
#[utoipa::path(put, path = "/api/v1/customers/{id}/grade", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 204, description = "Set"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn override_grade(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<GradeBody>,
) -> ApiResult<impl IntoResponse> {
    grades::override_grade(
        &state.db,
        &caller.viewer,
        id,
        &body.grade,
        &body.reason,
        now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a customer's grade back to the monthly computation (supervisor or admin).
#[utoipa::path(delete, path = "/api/v1/customers/{id}/grade", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 204, description = "Cleared"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")))]
pub async fn clear_grade(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    grades::clear_override(&state.db, &caller.viewer, id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The grade levels (labels, threshold in 分, contact frequency) and the grading window.
#[utoipa::path(get, path = "/api/v1/grade-levels",
    responses((status = 200, description = "`{levels: [{code, label_zh, label_en, min_sales_fen, contact_every_days, position}], window_months}`")))]
pub async fn grade_levels(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    let stored =
        leadline_store::workday::config::int_setting(&state.db, grades::WINDOW_KEY, 0).await?;
    Ok(Json(json!({
        "levels": grades::levels(&state.db).await?,
        "window_months": leadline_domain::pipeline::grade_window_months(Some(&stored.to_string())),
    })))
}

/// Changes a grade level (admin): `{label_zh?, label_en?, min_sales_fen?, contact_every_days?}`.
#[utoipa::path(patch, path = "/api/v1/grade-levels/{code}", params(("code" = String, Path, description = "A | B | C")),
    responses((status = 204, description = "Changed"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn patch_grade_level(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<LevelInput>,
) -> ApiResult<impl IntoResponse> {
    grades::update_level(&state.db, &caller.viewer, &code, &body, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The customers the caller may see whose contact is overdue, by owner (`owner_id` narrows).
#[utoipa::path(get, path = "/api/v1/customers/due",
    params(("owner_id" = Option<i64>, Query, description = "Only this owner's")),
    responses((status = 200, description = "`{customers: [{customer_id, customer_name, grade, owner_id, owner_name, last_contact_at, contact_due_at, days_late}]}`")))]
pub async fn due(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let owner = id_param(&pairs, "owner_id")?.map(UserId);
    let list = grades::due_for_contact(&state.db, &caller.viewer, owner, now()).await?;
    Ok(Json(json!({ "customers": list })))
}
