//! Call quality checks (质检, issue 24): the checklist (admins change it), a call's review (the
//! team's supervisors and admins score it; the agent reads it), the queue of calls to check and
//! the period score per person. A call the caller may not see is 404; one they may only read is
//! 403 on scoring.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use leadline_domain::UserId;
use leadline_domain::dates::parse_date;
use leadline_store::quality::reviews::{self, QueueFilter, ReviewInput};
use leadline_store::quality::{self, ItemInput};
use leadline_store::{StoreError, now};
use serde_json::json;

use chrono_tz::Tz;
use leadline_store::call_stats::org_zone;

use super::workspace::day_start;
use super::{JsonBody, Path, id_param, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// The longest period a queue or a summary covers, in days.
pub const MAX_DAYS: i64 = 366;

/// A period of statistics days (in the organisation's `zone`) from the query (`from`, `to`, inclusive, YYYY-MM-DD), by default
/// the last `default_days` days to today; refused when reversed or longer than [`MAX_DAYS`].
pub fn period(
    pairs: &[(String, String)],
    default_days: i64,
    zone: Tz,
) -> Result<(NaiveDate, NaiveDate), StoreError> {
    let day = |key: &str| -> Result<Option<NaiveDate>, StoreError> {
        match pair(pairs, key).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_date(s)
                .map(Some)
                .ok_or_else(|| StoreError::invalid(key, "invalid")),
        }
    };
    let today = now().with_timezone(&zone).date_naive();
    let to = day("to")?.unwrap_or(today);
    let from = day("from")?.unwrap_or(to - Duration::days(default_days - 1));
    if from > to {
        return Err(StoreError::invalid("from", "after_to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(StoreError::invalid("to", "too_long"));
    }
    Ok((from, to))
}

/// The instants a period of statistics days covers: from the first day's start to the day
/// after the last one's.
pub fn instants(from: NaiveDate, to: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        day_start(zone, from),
        day_start(zone, to + Duration::days(1)),
    )
}

/// The queue's filter from a query: `from`, `to` (days, default the last 7), `agent_id`,
/// `reviewed` (`yes` / `no`), `connected` (`1`: answered calls only).
pub fn queue_filter(pairs: &[(String, String)], zone: Tz) -> Result<QueueFilter, StoreError> {
    let (from, to) = period(pairs, 7, zone)?;
    let (from, to) = instants(from, to, zone);
    Ok(QueueFilter {
        from,
        to,
        agent: id_param(pairs, "agent_id")?.map(UserId),
        reviewed: match pair(pairs, "reviewed") {
            Some("yes" | "true" | "1") => Some(true),
            Some("no" | "false" | "0") => Some(false),
            None | Some("" | "all") => None,
            Some(_) => return Err(StoreError::invalid("reviewed", "invalid")),
        },
        connected_only: matches!(pair(pairs, "connected"), Some("1" | "true" | "yes")),
    })
}

/// The checklist, retired items included, in order.
#[utoipa::path(get, path = "/api/v1/quality/items",
    responses((status = 200, description = "`{items: [{id, code, label_zh, label_en, max_score, position, active}]}`")))]
pub async fn list_items(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(json!({ "items": quality::items(&state.db).await? })))
}

/// Adds a checklist item (admin): `{code, label_zh, label_en, max_score (1–100)}`.
#[utoipa::path(post, path = "/api/v1/quality/items",
    responses((status = 201, description = "`{id}`"), (status = 403, description = "forbidden: not an admin"),
        (status = 409, description = "already_exists: the code is taken"), (status = 422, description = "invalid_input")))]
pub async fn add_item(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ItemInput>,
) -> ApiResult<impl IntoResponse> {
    let id = quality::add_item(&state.db, &caller.viewer, &body, now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// Renames an item, changes its points, retires or restores it (admin): `{label_zh?, label_en?,
/// max_score?, active?}`. Past reviews keep the points they were scored against; the last
/// active item cannot be retired (409 `last_item`).
#[utoipa::path(patch, path = "/api/v1/quality/items/{id}", params(("id" = i64, Path, description = "Item id")),
    responses((status = 200, description = "The checklist, as GET"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"),
        (status = 409, description = "last_item"), (status = 422, description = "invalid_input")))]
pub async fn patch_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ItemInput>,
) -> ApiResult<impl IntoResponse> {
    quality::update_item(&state.db, &caller.viewer, id, &body, now()).await?;
    Ok(Json(json!({ "items": quality::items(&state.db).await? })))
}

/// A call with its review (`review` null when not yet checked) and whether the caller may score it.
#[utoipa::path(get, path = "/api/v1/calls/{id}/quality", params(("id" = i64, Path, description = "Call id")),
    responses((status = 200, description = "`{call: {id, lead_id, lead_name, agent_id, agent_name, started_at, duration_s, disposition, intent, notes}, review: {id, score, max_score, percent_tenths, band, comment, reviewer_name, version, items: [{item_id, code, label_zh, label_en, score, max_score}]} | null, may_review}`"),
        (status = 404, description = "not_found: no such call, or one the caller may not see")))]
pub async fn get_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        reviews::for_call(&state.db, &caller.viewer, id).await?,
    ))
}

/// Scores a call: `{scores: [{item_id, score}], comment?, version?}` with every active item once,
/// each from 0 to its `max_score`. 201 for a first review, 200 for a change; the agent is
/// notified. 422 `invalid_input` naming `scores.<item id>` (`required`, `repeated`,
/// `out_of_range`, `unknown`); 409 `edit_conflict` for a stale `version`; 403 for a call the
/// caller may only read (their own); 404 for one they may not see.
#[utoipa::path(put, path = "/api/v1/calls/{id}/quality", params(("id" = i64, Path, description = "Call id")),
    responses((status = 201, description = "The review, as in GET's `review`"), (status = 200, description = "The changed review"),
        (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 409, description = "edit_conflict"),
        (status = 422, description = "invalid_input")))]
pub async fn put_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ReviewInput>,
) -> ApiResult<impl IntoResponse> {
    let (review, created) = reviews::save(&state.db, &caller.viewer, id, &body, now()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(review)))
}

/// The calls to check: of the caller's teams (a supervisor), everyone's (an admin) or their own,
/// newest first, at most 300, with their scores.
#[utoipa::path(get, path = "/api/v1/quality/calls",
    params(("from" = Option<String>, Query, description = "First day (YYYY-MM-DD), default 7 days ago"), ("to" = Option<String>, Query, description = "Last day, default today"),
        ("agent_id" = Option<i64>, Query, description = "Only this agent's"), ("reviewed" = Option<String>, Query, description = "`yes` or `no`"),
        ("connected" = Option<String>, Query, description = "`1`: answered calls only")),
    responses((status = 200, description = "`{calls: [{call_id, lead_id, lead_name, agent_id, agent_name, started_at, duration_s, disposition, review_id, score, max_score}]}`"),
        (status = 422, description = "invalid_input: a bad date, a reversed or too long period")))]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let zone = org_zone(&state.db).await?;
    let filter = queue_filter(&query_pairs(q.as_deref()), zone)?;
    Ok(Json(json!({
        "calls": reviews::queue(&state.db, &caller.viewer, &filter).await?
    })))
}

/// Each person's quality score over a period of statistics days (default this month so far):
/// all points given over all possible, in tenths of a percent, with its band.
#[utoipa::path(get, path = "/api/v1/quality/summary",
    params(("from" = Option<String>, Query, description = "First day (YYYY-MM-DD)"), ("to" = Option<String>, Query, description = "Last day")),
    responses((status = 200, description = "`{from, to, agents: [{agent_id, agent_name, reviews, score, max_score, percent_tenths, band}]}`"),
        (status = 422, description = "invalid_input")))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let (from, to) = month_period(&pairs, org_zone(&state.db).await?)?;
    let (f, t) = (from.to_string(), to.to_string());
    Ok(Json(json!({
        "from": f,
        "to": t,
        "agents": reviews::summary(&state.db, &caller.viewer, &f, &t).await?,
    })))
}

/// A period from the query, by default from the first of this month to today.
pub fn month_period(
    pairs: &[(String, String)],
    zone: Tz,
) -> Result<(NaiveDate, NaiveDate), StoreError> {
    use chrono::Datelike;
    if pair(pairs, "from").is_some() || pair(pairs, "to").is_some() {
        return period(pairs, 31, zone);
    }
    let today = now().with_timezone(&zone).date_naive();
    Ok((today.with_day(1).unwrap_or(today), today))
}
