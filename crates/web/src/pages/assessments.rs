//! Assessment pages (月度 / 年度考核, issue 24): a month's table with the lock button and an
//! adjustment form per person (a supervisor of the person's team or an admin), the unlock form
//! (admins), the .xlsx download, and a person's year with locked months marked.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use chrono::Datelike;
use leadline_domain::targets::Month;
use leadline_domain::{Role, TeamId, UserId};
use leadline_store::assessment::{self, Assessment};
use leadline_store::targets::{Subject, check_write};
use leadline_store::work_reports::daily::today_of;
use leadline_store::{StoreError, now};

use super::sales::{parse_yuan, yuan};
use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::error::AppError;

/// One row of the month's table, formatted.
pub struct Row {
    pub user_id: i64,
    pub name: String,
    pub calls: i64,
    pub qualified: i64,
    pub new_customers: i64,
    pub orders: i64,
    pub collected: String,
    pub quality: String,
    pub penalties: String,
    pub commission: String,
    pub fixed: String,
    pub adjustments: String,
    pub total: String,
    pub locked: bool,
    pub may_adjust: bool,
}

fn quality(a: &Assessment) -> String {
    a.quality_tenths
        .map(|t| format!("{}.{}%", t / 10, t % 10))
        .unwrap_or_else(|| "—".into())
}

fn row(a: &Assessment, may_adjust: bool) -> Row {
    Row {
        user_id: a.user_id.0,
        name: a.user_name.clone(),
        calls: a.done.calls,
        qualified: a.done.qualified,
        new_customers: a.done.new_customers,
        orders: a.done.orders,
        collected: yuan(a.collected_fen),
        quality: quality(a),
        penalties: yuan(a.bonus.penalties_fen),
        commission: yuan(a.bonus.commission_fen),
        fixed: yuan(a.bonus.qualified_bonus_fen + a.bonus.new_customer_bonus_fen),
        adjustments: yuan(a.bonus.adjustments_fen),
        total: yuan(a.total_fen),
        locked: a.locked.is_some(),
        may_adjust: may_adjust && a.locked.is_none(),
    }
}

#[derive(Template)]
#[template(path = "assessments.html")]
struct MonthPage {
    nav: Nav,
    month: String,
    team_id: String,
    teams: Vec<(String, String)>,
    rows: Vec<Row>,
    may_lock: bool,
    is_admin: bool,
    /// What the last form did, worded; empty when nothing.
    done: &'static str,
}

async fn month_of(db: &leadline_store::Db, pairs: &[(String, String)]) -> Result<Month, AppError> {
    match pair(pairs, "month") {
        Some(m) if !m.is_empty() => Month::parse(m).ok_or(AppError::BadRequest("bad_month")),
        _ => Ok(Month::of(today_of(db, now()).await?)),
    }
}

/// GET /assessments?month=YYYY-MM&team_id= — the month's table.
pub async fn month(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let month = month_of(&state.db, &pairs).await.or_page(l)?;
    let team = pair(&pairs, "team_id")
        .and_then(|t| t.parse().ok())
        .map(TeamId);
    let list = assessment::month_table(&state.db, &caller.viewer, month, team)
        .await
        .or_page(l)?;
    let mut rows = Vec::with_capacity(list.len());
    for a in &list {
        let may = a.user_id != caller.user.id
            && check_write(&state.db, &caller.viewer, Subject::User(a.user_id))
                .await
                .is_ok();
        rows.push(row(a, may));
    }
    let v = &caller.viewer;
    let teams = leadline_store::auth::users::list_teams(&state.db)
        .await
        .or_page(l)?
        .into_iter()
        .filter(|t| v.role == Role::Admin || v.supervised_teams.contains(&t.id))
        .map(|t| (t.id.0.to_string(), t.name))
        .collect();
    let may_lock =
        v.role == Role::Admin || (v.role == Role::Supervisor && !v.supervised_teams.is_empty());
    let nav = Nav::new(&caller, "/assessments");
    Ok(render(&MonthPage {
        month: month.to_string(),
        team_id: team.map(|t| t.0.to_string()).unwrap_or_default(),
        teams,
        rows,
        may_lock,
        is_admin: v.role == Role::Admin,
        done: match pair(&pairs, "done") {
            Some(d @ ("adjusted" | "locked" | "unlocked")) => nav.t(&format!("assess.done.{d}")),
            _ => "",
        },
        nav,
    }))
}

fn back(month: &str, team: &str, done: &str) -> Redirect {
    Redirect::to(&format!(
        "/assessments?month={month}&team_id={team}&done={done}"
    ))
}

/// POST /assessments/adjust — user_id, month, amount (元, may be negative), reason.
pub async fn adjust(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let month = Month::parse(&form.text("month"))
        .ok_or(AppError::BadRequest("bad_month"))
        .or_page(l)?;
    let user: i64 = form
        .text("user_id")
        .parse()
        .map_err(|_| AppError::BadRequest("bad_user_id"))
        .or_page(l)?;
    let raw = form.text("amount");
    let raw = raw.trim();
    let (neg, digits) = match raw.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, raw),
    };
    let fen = parse_yuan("amount", digits).or_page(l)?;
    let fen = if neg { -fen } else { fen };
    assessment::adjust(
        &state.db,
        &form.caller.viewer,
        UserId(user),
        month,
        fen,
        &form.text("reason"),
        now(),
    )
    .await
    .or_page(l)?;
    Ok(back(&month.to_string(), &form.text("team_id"), "adjusted").into_response())
}

/// POST /assessments/lock — month, team_id (optional).
pub async fn lock(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let month = Month::parse(&form.text("month"))
        .ok_or(AppError::BadRequest("bad_month"))
        .or_page(l)?;
    let team = form.text("team_id").parse().ok().map(TeamId);
    assessment::lock_month(&state.db, &form.caller.viewer, month, team, now())
        .await
        .or_page(l)?;
    Ok(back(&month.to_string(), &form.text("team_id"), "locked").into_response())
}

/// POST /assessments/unlock — month, team_id (optional), reason (admins).
pub async fn unlock(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let month = Month::parse(&form.text("month"))
        .ok_or(AppError::BadRequest("bad_month"))
        .or_page(l)?;
    let team = form.text("team_id").parse().ok().map(TeamId);
    let user = form.text("user_id").parse().ok().map(UserId);
    assessment::unlock_month(
        &state.db,
        &form.caller.viewer,
        month,
        team,
        user,
        &form.text("reason"),
        now(),
    )
    .await
    .or_page(l)?;
    Ok(back(&month.to_string(), &form.text("team_id"), "unlocked").into_response())
}

pub struct YearRow {
    pub month: String,
    pub row: Row,
}

#[derive(Template)]
#[template(path = "assessment_year.html")]
struct YearPage {
    nav: Nav,
    name: String,
    user_id: i64,
    year: i32,
    months: Vec<YearRow>,
    collected: String,
    commission: String,
    penalties: String,
    total: String,
    locked_months: usize,
}

/// GET /assessments/year?user_id=&year= — a person's year; the caller's own by default.
pub async fn year(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let user = pair(&pairs, "user_id")
        .and_then(|u| u.parse().ok())
        .map_or(caller.user.id, UserId);
    let today = today_of(&state.db, now()).await.or_page(l)?;
    let y: i32 = pair(&pairs, "year")
        .and_then(|y| y.parse().ok())
        .unwrap_or(today.year());
    let data = assessment::year(&state.db, &caller.viewer, user, y)
        .await
        .or_page(l)?;
    let name = data
        .months
        .first()
        .map(|a| a.user_name.clone())
        .ok_or(StoreError::NotFound)
        .or_page(l)?;
    Ok(render(&YearPage {
        nav: Nav::new(&caller, "/assessments"),
        name,
        user_id: user.0,
        year: y,
        months: data
            .months
            .iter()
            .map(|a| YearRow {
                month: a.month.clone(),
                row: row(a, false),
            })
            .collect(),
        collected: yuan(data.collected_fen),
        commission: yuan(data.commission_fen),
        penalties: yuan(data.penalties_fen),
        total: yuan(data.total_fen),
        locked_months: data.locked_months,
    }))
}
