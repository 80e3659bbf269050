//! Configuring the agent's day over JSON: dispositions, revisit rules, calling hours and
//! holidays (admin), the do-not-call list (supervisors and admins), and the reservation time.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use leadline_domain::calling_hours::{self, DayKind, Holiday, Window};
use leadline_domain::disposition::Disposition;
use leadline_domain::revisit::{AfterLast, DelayUnit, MAX_POSITION, RevisitRule};
use leadline_domain::{DispositionId, IntentLevel, LeadStatus, RevisitRuleId, Role, TeamId};
use leadline_store::StoreError;
use leadline_store::workday::config;
use serde::Deserialize;
use serde_json::json;

use super::Path;
use super::{JsonBody, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

fn invalid(field: &str) -> AppError {
    StoreError::invalid(field, "invalid").into()
}

fn require_manager(caller: &Caller) -> Result<(), AppError> {
    caller.require(Role::manages_leads)
}

// ---------------------------------------------------------------------------------------------
// Dispositions
// ---------------------------------------------------------------------------------------------

/// Every disposition in form order (inactive ones included, flagged).
#[utoipa::path(get, path = "/api/v1/dispositions", responses((status = 200, description = "`{\"items\": [...]}`")))]
pub async fn list_dispositions(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        json!({ "items": config::dispositions(&state.db).await? }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionBody {
    pub code: Option<String>,
    pub label_zh: Option<String>,
    pub label_en: Option<String>,
    /// A lead status code, or "" / null to keep the lead's status.
    pub sets_status: Option<String>,
    pub connected: Option<bool>,
    pub valid_conversation: Option<bool>,
    pub qualified: Option<bool>,
    pub adds_dnc: Option<bool>,
    /// A valid follow-up (有效跟进): makes a pool lead the caller's, restarts the countdown.
    pub valid_follow_up: Option<bool>,
    /// One letter or digit, or "" for none.
    pub hotkey: Option<String>,
    pub position: Option<i64>,
    pub active: Option<bool>,
}

pub(crate) fn apply(mut d: Disposition, b: DispositionBody) -> Result<Disposition, AppError> {
    if let Some(c) = b.code {
        d.code = c.trim().to_string();
    }
    if let Some(v) = b.label_zh {
        d.label_zh = v;
    }
    if let Some(v) = b.label_en {
        d.label_en = v;
    }
    if let Some(s) = b.sets_status {
        d.sets_status = match s.trim() {
            "" => None,
            s => Some(LeadStatus::parse(s).ok_or_else(|| invalid("sets_status"))?),
        };
    }
    d.connected = b.connected.unwrap_or(d.connected);
    d.valid_conversation = b.valid_conversation.unwrap_or(d.valid_conversation);
    d.qualified = b.qualified.unwrap_or(d.qualified);
    d.adds_dnc = b.adds_dnc.unwrap_or(d.adds_dnc);
    d.valid_follow_up = b.valid_follow_up.unwrap_or(d.valid_follow_up);
    if let Some(h) = b.hotkey {
        let h = h.trim();
        d.hotkey = match h.chars().count() {
            0 => None,
            1 => h.chars().next(),
            _ => return Err(StoreError::invalid("hotkey", "bad_hotkey").into()),
        };
    }
    if let Some(p) = b.position {
        if !(-MAX_POSITION..=MAX_POSITION).contains(&p) {
            return Err(StoreError::invalid("position", "out_of_range").into());
        }
        d.position = p;
    }
    d.active = b.active.unwrap_or(d.active);
    Ok(d)
}

/// A new disposition before its fields are applied: no flags, last in the list, active.
pub(crate) fn blank_disposition() -> Disposition {
    Disposition {
        code: String::new(),
        label_zh: String::new(),
        label_en: String::new(),
        sets_status: None,
        connected: false,
        valid_conversation: false,
        qualified: false,
        adds_dnc: false,
        valid_follow_up: false,
        hotkey: None,
        position: 100,
        active: true,
    }
}

/// Adds a disposition (admin).
#[utoipa::path(post, path = "/api/v1/dispositions", request_body = DispositionBody,
    responses((status = 201, description = "The disposition"), (status = 403, description = "forbidden"), (status = 409, description = "already_exists"), (status = 422, description = "invalid_input")))]
pub async fn create_disposition(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DispositionBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let d = apply(blank_disposition(), body)?;
    let saved = config::save_disposition(&state.db, caller.user.id, None, &d).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Changes a disposition (admin); its code stays. Retire one with `active: false`.
#[utoipa::path(patch, path = "/api/v1/dispositions/{id}", request_body = DispositionBody, params(("id" = i64, Path, description = "Disposition id")),
    responses((status = 200, description = "The disposition"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn patch_disposition(
    State(state): State<AppState>,
    caller: Caller,
    Path(DispositionId(id)): Path<DispositionId>,
    JsonBody(body): JsonBody<DispositionBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let current = config::dispositions(&state.db)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(AppError::NotFound)?;
    let d = apply(current.d, body)?;
    Ok(Json(
        config::save_disposition(&state.db, caller.user.id, Some(id), &d).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Revisit rules
// ---------------------------------------------------------------------------------------------

/// The revisit rules (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/revisit-rules", responses((status = 200, description = "`{\"items\": [...]}`"), (status = 403, description = "forbidden")))]
pub async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    require_manager(&caller)?;
    Ok(Json(
        json!({ "items": config::revisit_rules(&state.db).await? }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// A disposition code, or null for any.
    pub disposition: Option<String>,
    /// An intent level, or null for any.
    pub intent: Option<String>,
    #[serde(default = "one")]
    pub attempt_from: i64,
    pub attempt_to: Option<i64>,
    /// null: no revisit.
    pub delay_amount: Option<i64>,
    /// minutes | hours | days
    #[serde(default = "hours")]
    pub delay_unit: String,
    pub max_attempts: Option<i64>,
    /// stop | return_to_pool | mark_invalid
    #[serde(default = "stop")]
    pub after_last: String,
    #[serde(default)]
    pub position: i64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn one() -> i64 {
    1
}
fn hours() -> String {
    "hours".into()
}
fn stop() -> String {
    "stop".into()
}
fn yes() -> bool {
    true
}

/// The rule a request describes (the settings page's form builds the same body).
pub(crate) fn rule_from(id: i64, b: RuleBody) -> Result<RevisitRule, AppError> {
    let blank = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let intent = match blank(b.intent) {
        None => None,
        Some(s) => Some(IntentLevel::parse(&s).ok_or_else(|| invalid("intent"))?),
    };
    let unit = DelayUnit::parse(&b.delay_unit).ok_or_else(|| invalid("delay_unit"))?;
    Ok(RevisitRule {
        id,
        disposition: blank(b.disposition),
        intent,
        attempt_from: b.attempt_from,
        attempt_to: b.attempt_to,
        delay: b.delay_amount.map(|a| (a, unit)),
        max_attempts: b.max_attempts,
        after_last: AfterLast::parse(&b.after_last).ok_or_else(|| invalid("after_last"))?,
        position: b.position,
        active: b.active,
    })
}

/// Adds a revisit rule (admin).
#[utoipa::path(post, path = "/api/v1/revisit-rules", request_body = RuleBody,
    responses((status = 201, description = "The rule"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn create_rule(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<RuleBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let rule = rule_from(0, body)?;
    Ok((
        StatusCode::CREATED,
        Json(config::save_revisit_rule(&state.db, caller.user.id, &rule).await?),
    ))
}

/// Replaces a revisit rule (admin): send the whole rule.
#[utoipa::path(patch, path = "/api/v1/revisit-rules/{id}", request_body = RuleBody, params(("id" = i64, Path, description = "Rule id")),
    responses((status = 200, description = "The rule"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn patch_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(RevisitRuleId(id)): Path<RevisitRuleId>,
    JsonBody(body): JsonBody<RuleBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    if id <= 0 {
        return Err(AppError::NotFound);
    }
    let rule = rule_from(id, body)?;
    Ok(Json(
        config::save_revisit_rule(&state.db, caller.user.id, &rule).await?,
    ))
}

/// Deletes a revisit rule (admin).
#[utoipa::path(delete, path = "/api/v1/revisit-rules/{id}", params(("id" = i64, Path, description = "Rule id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")))]
pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(RevisitRuleId(id)): Path<RevisitRuleId>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    config::delete_revisit_rule(&state.db, caller.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Calling hours and holidays
// ---------------------------------------------------------------------------------------------

fn window_json(w: &Window) -> serde_json::Value {
    json!({ "weekday": w.weekday, "start": calling_hours::format_hhmm(w.start_minute), "end": calling_hours::format_hhmm(w.end_minute) })
}

/// The calling windows of a team (`?team_id=`; its own or the default) or the default.
#[utoipa::path(get, path = "/api/v1/calling-hours", responses((status = 200, description = "`{\"team_id\": …, \"windows\": [{\"weekday\": 1, \"start\": \"09:00\", \"end\": \"12:00\"}]}`")))]
pub async fn get_hours(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let team = match pair(&pairs, "team_id") {
        None | Some("") => None,
        Some(t) => Some(TeamId(
            t.parse().map_err(|_| AppError::BadRequest("bad_team_id"))?,
        )),
    };
    let windows = config::windows(&state.db, team).await?;
    Ok(Json(
        json!({ "team_id": team, "windows": windows.iter().map(window_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// "HH:MM"
    pub start: String,
    pub end: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursBody {
    /// null: the default for every team without its own.
    pub team_id: Option<i64>,
    pub windows: Vec<WindowBody>,
}

/// Replaces a team's (or the default) calling windows (admin). Gaps between windows are breaks.
#[utoipa::path(put, path = "/api/v1/calling-hours", request_body = HoursBody,
    responses((status = 200, description = "The windows"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn put_hours(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<HoursBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let mut list = Vec::new();
    for w in &body.windows {
        list.push(Window {
            weekday: w.weekday,
            start_minute: calling_hours::parse_hhmm(&w.start).ok_or_else(|| invalid("start"))?,
            end_minute: calling_hours::parse_hhmm(&w.end).ok_or_else(|| invalid("end"))?,
        });
    }
    let team = body.team_id.map(TeamId);
    config::set_windows(&state.db, caller.user.id, team, &list).await?;
    let windows = config::windows(&state.db, team).await?;
    Ok(Json(
        json!({ "team_id": team, "windows": windows.iter().map(window_json).collect::<Vec<_>>() }),
    ))
}

/// Holidays and make-up working days.
#[utoipa::path(get, path = "/api/v1/holidays", responses((status = 200, description = "`{\"items\": [{\"day\", \"name\", \"kind\"}]}`")))]
pub async fn list_holidays(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(json!({ "items": config::holidays(&state.db).await? })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayBody {
    /// YYYY-MM-DD
    pub day: String,
    #[serde(default)]
    pub name: String,
    /// holiday | workday (a make-up working day)
    #[serde(default = "holiday")]
    pub kind: String,
}

fn holiday() -> String {
    "holiday".into()
}

fn parse_day(s: &str) -> Result<NaiveDate, AppError> {
    leadline_domain::dates::parse_date(s).ok_or_else(|| invalid("day"))
}

/// Adds or replaces the exception for a day (admin).
#[utoipa::path(post, path = "/api/v1/holidays", request_body = HolidayBody,
    responses((status = 201, description = "Saved"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn put_holiday(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<HolidayBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let h = Holiday {
        day: parse_day(&body.day)?,
        kind: DayKind::parse(&body.kind).ok_or_else(|| invalid("kind"))?,
        name: body.name.trim().chars().take(60).collect(),
    };
    config::put_holiday(&state.db, caller.user.id, &h).await?;
    Ok((StatusCode::CREATED, Json(h)))
}

/// Removes the exception for a day (admin).
#[utoipa::path(delete, path = "/api/v1/holidays/{day}", params(("day" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 204, description = "Removed"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")))]
pub async fn delete_holiday(
    State(state): State<AppState>,
    caller: Caller,
    Path(day): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    config::delete_holiday(&state.db, caller.user.id, parse_day(&day)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Do-not-call list
// ---------------------------------------------------------------------------------------------

/// The do-not-call list, newest first (`limit`, `offset`; supervisors and admins).
#[utoipa::path(get, path = "/api/v1/dnc", responses((status = 200, description = "`{\"items\": [...], \"total\": n}`"), (status = 403, description = "forbidden")))]
pub async fn list_dnc(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    require_manager(&caller)?;
    let pairs = query_pairs(q.as_deref());
    let limit = pair(&pairs, "limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100i64)
        .clamp(1, 1000);
    let offset = pair(&pairs, "offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0i64)
        .max(0);
    let (items, total) = config::dnc_list(&state.db, limit, offset).await?;
    Ok(Json(json!({ "items": items, "total": total })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncBody {
    /// Numbers in any common spelling.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// An imported list: one number per line (a CSV's first column works too).
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub reason: String,
}

/// Adds numbers to the do-not-call list, or imports a list (supervisors and admins). Bad lines
/// are reported by line number; the good ones are kept.
#[utoipa::path(post, path = "/api/v1/dnc", request_body = DncBody,
    responses((status = 200, description = "`{\"added\", \"already\", \"invalid\": [line numbers]}`"), (status = 403, description = "forbidden")))]
pub async fn add_dnc(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DncBody>,
) -> ApiResult<impl IntoResponse> {
    require_manager(&caller)?;
    let mut numbers = body.numbers;
    numbers.extend(body.text.lines().map(|l| {
        l.split([',', '\t', ';'])
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .to_string()
    }));
    if numbers.len() > 100_000 {
        return Err(AppError::PayloadTooLarge);
    }
    Ok(Json(
        config::dnc_add(&state.db, caller.user.id, &numbers, &body.reason).await?,
    ))
}

/// Takes a number off the do-not-call list (supervisors and admins).
#[utoipa::path(delete, path = "/api/v1/dnc/{number}", params(("number" = String, Path, description = "The number")),
    responses((status = 204, description = "Removed"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")))]
pub async fn remove_dnc(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<impl IntoResponse> {
    require_manager(&caller)?;
    config::dnc_remove(&state.db, caller.user.id, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/// How long a served lead stays reserved, and the attempt limit no path serves beyond.
#[utoipa::path(get, path = "/api/v1/workday-settings", responses((status = 200, description = "`{\"reserve_minutes\", \"max_attempts\"}`")))]
pub async fn get_settings(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(json!({
        "reserve_minutes": config::reserve_minutes(&state.db).await?,
        "max_attempts": config::max_attempts(&state.db).await?,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    pub reserve_minutes: Option<i64>,
    pub max_attempts: Option<i64>,
}

/// Changes the reservation time (1–240 minutes) or the attempt limit (1–100) (admin).
#[utoipa::path(put, path = "/api/v1/workday-settings", request_body = SettingsBody,
    responses((status = 200, description = "The settings"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SettingsBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    if let Some(m) = body.reserve_minutes {
        if !(1..=240).contains(&m) {
            return Err(invalid("reserve_minutes"));
        }
        config::set_int_setting(&state.db, caller.user.id, config::RESERVE_KEY, m).await?;
    }
    if let Some(m) = body.max_attempts {
        if !(1..=100).contains(&m) {
            return Err(invalid("max_attempts"));
        }
        config::set_int_setting(&state.db, caller.user.id, config::MAX_ATTEMPTS_KEY, m).await?;
    }
    get_settings(State(state), caller).await
}
