//! Assessment (月度 / 年度考核, issue 24) over JSON: a month's table, one person's month, a
//! manager's adjustment with its reason, locking a month (supervisors their own teams, admins any)
//! and unlocking it (admins, with a reason), a person's year, the commission rules (admins set
//! them) and a month's table as .xlsx. Amounts are in 分.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use leadline_domain::commission::CommissionRules;
use leadline_domain::targets::Month;
use leadline_domain::{TeamId, UserId};
use leadline_store::assessment::{self, Assessment};
use leadline_store::now;
use serde::Deserialize;

use super::{JsonBody, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

fn parse_month(s: &str) -> ApiResult<Month> {
    Month::parse(s).ok_or(AppError::BadRequest("bad_month"))
}

/// `?month=YYYY-MM` (default this statistics month) and `team_id`.
async fn table_params(
    db: &leadline_store::Db,
    q: Option<&str>,
) -> ApiResult<(Month, Option<TeamId>)> {
    let pairs = query_pairs(q);
    let month = match pair(&pairs, "month") {
        Some(m) => parse_month(m)?,
        None => Month::of(leadline_store::work_reports::daily::today_of(db, now()).await?),
    };
    let team = match pair(&pairs, "team_id") {
        Some(t) if !t.is_empty() => Some(TeamId(
            t.parse().map_err(|_| AppError::BadRequest("bad_team_id"))?,
        )),
        _ => None,
    };
    Ok((month, team))
}

/// A month's table: one row per person the caller may see (admins everyone, supervisors their
/// teams, anyone else themselves), each the locked snapshot when the month is locked for them
/// (`locked` set) or live figures.
#[utoipa::path(get, path = "/api/v1/assessments",
    params(("month" = Option<String>, Query, description = "YYYY-MM; default this month"),
        ("team_id" = Option<i64>, Query, description = "Only this team's people")),
    responses((status = 200, description = "`[{user_id, user_name, team_id, month, target, done, quality_reviews, quality_tenths, penalty_cases, collected_fen, bonus: {commission_fen, qualified_bonus_fen, new_customer_bonus_fen, penalties_fen, adjustments_fen}, total_fen, adjustments: [...], locked: null | {locked_by, locked_at}}]`"),
        (status = 400, description = "bad_month"), (status = 404, description = "not_found: a team the caller may not read")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let (month, team) = table_params(&state.db, q.as_deref()).await?;
    Ok(Json(
        assessment::month_table(&state.db, &caller.viewer, month, team).await?,
    ))
}

/// One person's month (the person, their team's supervisors, admins; 404 for anyone else).
#[utoipa::path(get, path = "/api/v1/assessments/{user_id}/{month}",
    params(("user_id" = i64, Path, description = "User id"), ("month" = String, Path, description = "YYYY-MM")),
    responses((status = 200, description = "The person's month, as in the table"), (status = 404, description = "not_found")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, month)): Path<(i64, String)>,
) -> ApiResult<impl IntoResponse> {
    let m = parse_month(&month)?;
    Ok(Json(
        assessment::one(&state.db, &caller.viewer, UserId(user), m).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    /// Added to the bonus figure, in 分 (negative to deduct); not zero, at most 1 000 000 元.
    pub amount_fen: i64,
    /// Why (required, at most 500 characters).
    pub reason: String,
}

/// Adjusts a person's month with a reason (a supervisor of their team or an admin); audited.
#[utoipa::path(post, path = "/api/v1/assessments/{user_id}/{month}/adjust", request_body = AdjustBody,
    params(("user_id" = i64, Path, description = "User id"), ("month" = String, Path, description = "YYYY-MM")),
    responses((status = 200, description = "The month with the adjustment"), (status = 403, description = "forbidden: the person themselves, an agent"),
        (status = 404, description = "not_found: another team's person"), (status = 409, description = "month_locked"),
        (status = 422, description = "invalid_input: no reason, zero or too large an amount")))]
pub async fn adjust(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, month)): Path<(i64, String)>,
    JsonBody(body): JsonBody<AdjustBody>,
) -> ApiResult<impl IntoResponse> {
    let m = parse_month(&month)?;
    let a = assessment::adjust(
        &state.db,
        &caller.viewer,
        UserId(user),
        m,
        body.amount_fen,
        &body.reason,
        now(),
    )
    .await?;
    Ok(Json(a))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockBody {
    /// YYYY-MM
    pub month: String,
    /// The team to lock; without it, every person the caller may lock.
    #[serde(default)]
    pub team_id: Option<i64>,
}

/// Locks a month: each person's figures as they are now are stored and read from then on; late
/// records do not change them. A supervisor locks their own teams (not their own month), an admin
/// any team or everyone. Already locked people are left as they were.
#[utoipa::path(post, path = "/api/v1/assessments/lock", request_body = LockBody,
    responses((status = 200, description = "`{month, changed: [user_id]}`"),
        (status = 403, description = "forbidden: an agent, a rep, finance, another team's supervisor")))]
pub async fn lock(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<LockBody>,
) -> ApiResult<impl IntoResponse> {
    let m = parse_month(&body.month)?;
    let r = assessment::lock_month(
        &state.db,
        &caller.viewer,
        m,
        body.team_id.map(TeamId),
        now(),
    )
    .await?;
    Ok(Json(r))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockBody {
    /// YYYY-MM
    pub month: String,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub user_id: Option<i64>,
    /// Why (required).
    pub reason: String,
}

/// Unlocks a month (admins only, with a reason; audited) for one person, a team or everyone.
#[utoipa::path(post, path = "/api/v1/assessments/unlock", request_body = UnlockBody,
    responses((status = 200, description = "`{month, changed: [user_id]}`"), (status = 403, description = "forbidden: not an admin"),
        (status = 422, description = "invalid_input: no reason")))]
pub async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<UnlockBody>,
) -> ApiResult<impl IntoResponse> {
    let m = parse_month(&body.month)?;
    let r = assessment::unlock_month(
        &state.db,
        &caller.viewer,
        m,
        body.team_id.map(TeamId),
        body.user_id.map(UserId),
        &body.reason,
        now(),
    )
    .await?;
    Ok(Json(r))
}

/// A person's year (年度考核): twelve months, each the locked snapshot (`locked` set) or live
/// figures, with the year's totals and how many months are locked.
#[utoipa::path(get, path = "/api/v1/assessments/year/{year}",
    params(("year" = i32, Path, description = "Year"), ("user_id" = Option<i64>, Query, description = "Whose year; default the caller")),
    responses((status = 200, description = "`{user_id, year, months: [...], collected_fen, commission_fen, penalties_fen, total_fen, locked_months}`"),
        (status = 404, description = "not_found")))]
pub async fn year(
    State(state): State<AppState>,
    caller: Caller,
    Path(year): Path<i32>,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let user = match pair(&pairs, "user_id") {
        Some(u) => UserId(u.parse().map_err(|_| AppError::BadRequest("bad_user_id"))?),
        None => caller.viewer.user_id,
    };
    Ok(Json(
        assessment::year(&state.db, &caller.viewer, user, year).await?,
    ))
}

/// The commission rules (everyone signed in may read them).
#[utoipa::path(get, path = "/api/v1/assessments/rules",
    responses((status = 200, description = "`{default_rate_bp, products: [{product_id, rate_bp}], per_qualified_fen, per_new_customer_fen}`")))]
pub async fn get_rules(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(assessment::rules(&state.db).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// The rate on collected revenue in basis points (300 = 3 %), 0–10 000.
    pub default_rate_bp: i64,
    /// Product-specific rates overriding the default: `[{product_id, rate_bp}]`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub products: Vec<leadline_domain::commission::ProductRate>,
    #[serde(default)]
    pub per_qualified_fen: i64,
    #[serde(default)]
    pub per_new_customer_fen: i64,
}

/// Sets the commission rules (admins); audited.
#[utoipa::path(put, path = "/api/v1/assessments/rules", request_body = RulesBody,
    responses((status = 200, description = "The rules as stored"), (status = 403, description = "forbidden"),
        (status = 422, description = "invalid_input: a rate outside 0–10 000, an unknown or repeated product")))]
pub async fn put_rules(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<RulesBody>,
) -> ApiResult<impl IntoResponse> {
    let r = CommissionRules {
        default_rate_bp: b.default_rate_bp,
        products: b.products,
        per_qualified_fen: b.per_qualified_fen,
        per_new_customer_fen: b.per_new_customer_fen,
    };
    Ok(Json(
        assessment::set_rules(&state.db, &caller.viewer, &r, now()).await?,
    ))
}

/// The column headings of the .xlsx, in the caller's language.
fn headings(zh: bool) -> [&'static str; 14] {
    if zh {
        [
            "姓名",
            "月份",
            "通话",
            "有效通话",
            "合格线索",
            "新客户",
            "订单",
            "回款(元)",
            "质检得分(%)",
            "撞单扣罚(元)",
            "提成(元)",
            "调整(元)",
            "奖金(元)",
            "已锁定",
        ]
    } else {
        [
            "Name",
            "Month",
            "Calls",
            "Valid conversations",
            "Qualified",
            "New customers",
            "Orders",
            "Collected (CNY)",
            "Quality (%)",
            "Collision penalties (CNY)",
            "Commission (CNY)",
            "Adjustments (CNY)",
            "Bonus (CNY)",
            "Locked",
        ]
    }
}

/// The month's table as an .xlsx workbook (amounts in 元 to the 分, quality in percent).
pub fn workbook(rows: &[Assessment], zh: bool) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let money = rust_xlsxwriter::Format::new().set_num_format("0.00");
    for (c, h) in headings(zh).iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let yuan = |fen: i64| fen as f64 / 100.0;
    for (i, a) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &a.user_name)?;
        ws.write_string(r, 1, &a.month)?;
        for (c, n) in [
            a.done.calls,
            a.done.valid_conversations,
            a.done.qualified,
            a.done.new_customers,
            a.done.orders,
        ]
        .into_iter()
        .enumerate()
        {
            ws.write_number(r, c as u16 + 2, n as f64)?;
        }
        ws.write_number_with_format(r, 7, yuan(a.collected_fen), &money)?;
        if let Some(t) = a.quality_tenths {
            ws.write_number(r, 8, t as f64 / 10.0)?;
        }
        for (c, fen) in [
            a.bonus.penalties_fen,
            a.bonus.commission_fen,
            a.bonus.adjustments_fen,
            a.total_fen,
        ]
        .into_iter()
        .enumerate()
        {
            ws.write_number_with_format(r, c as u16 + 9, yuan(fen), &money)?;
        }
        let locked = match (a.locked.is_some(), zh) {
            (true, true) => "是",
            (false, true) => "否",
            (true, false) => "yes",
            (false, false) => "no",
        };
        ws.write_string(r, 13, locked)?;
    }
    wb.save_to_buffer()
}

/// A month's table as .xlsx (the same rows as `GET /api/v1/assessments`).
#[utoipa::path(get, path = "/api/v1/assessments/export",
    params(("month" = Option<String>, Query, description = "YYYY-MM; default this month"),
        ("team_id" = Option<i64>, Query, description = "Only this team's people")),
    responses((status = 200, description = "The .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 404, description = "not_found")))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let (month, team) = table_params(&state.db, q.as_deref()).await?;
    let rows = assessment::month_table(&state.db, &caller.viewer, month, team).await?;
    let zh = caller.lang == crate::i18n::Lang::Zh;
    let bytes = workbook(&rows, zh).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                super::exports::attachment(&format!("assessment-{month}.xlsx")),
            ),
        ],
        bytes,
    )
        .into_response())
}
