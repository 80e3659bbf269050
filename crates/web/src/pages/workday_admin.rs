//! The agent's-day settings page (/admin/workday): dispositions (retire or bring back), revisit
//! rules and calling hours (shown; changed over the API), holidays (add, remove) and the
//! do-not-call list (add or import numbers, remove one). Admins see everything; supervisors
//! keep the do-not-call list.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveDate;
use leadline_domain::Role;
use leadline_domain::calling_hours::{DayKind, Holiday, format_hhmm};
use leadline_store::workday::config::{self, DncEntry, StoredDisposition};

use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

pub struct RuleLine {
    pub disposition: String,
    pub intent: String,
    pub attempts: String,
    pub delay: String,
    pub max_attempts: String,
    pub after_last: String,
}

#[derive(Template)]
#[template(path = "workday_admin.html")]
struct WorkdayPage {
    nav: Nav,
    admin: bool,
    dispositions: Vec<StoredDisposition>,
    rules: Vec<RuleLine>,
    /// (weekday name, "09:00–12:00, 14:00–18:00")
    hours: Vec<(&'static str, String)>,
    /// (holiday, its kind's name)
    holidays: Vec<(Holiday, &'static str)>,
    dnc: Vec<DncEntry>,
    dnc_total: i64,
    message: Option<String>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    caller: &Caller,
    message: Option<String>,
    error: Option<String>,
) -> PageResult {
    let l = caller.lang;
    if !caller.user.role.manages_leads() {
        return Err(super::PageError(l, AppError::Forbidden));
    }
    let db = &state.db;
    let windows = config::windows(db, None).await.or_page(l)?;
    let hours = (1..=7u8)
        .map(|d| {
            let spans: Vec<String> = windows
                .iter()
                .filter(|w| w.weekday == d)
                .map(|w| {
                    format!(
                        "{}–{}",
                        format_hhmm(w.start_minute),
                        format_hhmm(w.end_minute)
                    )
                })
                .collect();
            (l.t(&format!("workday.weekday.{d}")), spans.join(", "))
        })
        .collect();
    let rules = config::revisit_rules(db)
        .await
        .or_page(l)?
        .into_iter()
        .map(|r| RuleLine {
            disposition: r.disposition.unwrap_or_else(|| "*".into()),
            intent: r
                .intent
                .map(|i| i.label(l.code()).to_string())
                .unwrap_or_else(|| "*".into()),
            attempts: match r.attempt_to {
                Some(to) => format!("{}–{to}", r.attempt_from),
                None => format!("{}+", r.attempt_from),
            },
            delay: r
                .delay
                .map(|(a, u)| format!("{a} {}", l.t(&format!("workday.unit.{}", u.code()))))
                .unwrap_or_else(|| "—".into()),
            max_attempts: r
                .max_attempts
                .map(|m| m.to_string())
                .unwrap_or_else(|| "—".into()),
            after_last: l
                .t(&format!("workday.after.{}", r.after_last.code()))
                .to_string(),
        })
        .collect();
    let (dnc, dnc_total) = config::dnc_list(db, 50, 0).await.or_page(l)?;
    let p = WorkdayPage {
        nav: Nav::new(caller, "/admin/workday"),
        admin: caller.user.role == Role::Admin,
        dispositions: config::dispositions(db).await.or_page(l)?,
        rules,
        hours,
        holidays: config::holidays(db)
            .await
            .or_page(l)?
            .into_iter()
            .map(|h| {
                let kind = l.t(&format!("workday.kind.{}", h.kind.code()));
                (h, kind)
            })
            .collect(),
        dnc,
        dnc_total,
        message,
        error,
    };
    Ok(render(&p))
}

/// GET /admin/workday
pub async fn index(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    page(&state, &caller, None, None).await
}

/// POST /admin/workday/dnc: add numbers (one per line).
pub async fn dnc_add(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require(Role::manages_leads).or_page(l)?;
    let lines: Vec<String> = form
        .text("numbers")
        .lines()
        .map(|s| {
            s.split([',', '\t', ';'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .collect();
    match config::dnc_add(&state.db, caller.user.id, &lines, &form.text("reason")).await {
        Ok(r) => {
            let bad: Vec<String> = r.invalid.iter().map(|n| n.to_string()).collect();
            let msg = l.tf(
                "workday.dnc_added",
                &[
                    ("added", &r.added.to_string()),
                    ("already", &r.already.to_string()),
                    ("invalid", &bad.join(", ")),
                ],
            );
            page(&state, caller, Some(msg), None).await
        }
        Err(e) => {
            page(
                &state,
                caller,
                None,
                Some(l.error_message(&AppError::from(e))),
            )
            .await
        }
    }
}

/// POST /admin/workday/dnc/remove
pub async fn dnc_remove(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require(Role::manages_leads).or_page(l)?;
    match config::dnc_remove(&state.db, caller.user.id, &form.text("e164")).await {
        Ok(()) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => {
            page(
                &state,
                caller,
                None,
                Some(l.error_message(&AppError::from(e))),
            )
            .await
        }
    }
}

/// POST /admin/workday/holidays: add (or replace) a day; `remove=1` removes it.
pub async fn holiday(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let Ok(day) = NaiveDate::parse_from_str(form.text("day").trim(), "%Y-%m-%d") else {
        return page(
            &state,
            caller,
            None,
            Some(l.t("problem.invalid_date").to_string()),
        )
        .await;
    };
    let result = if form.get("remove").is_some() {
        config::delete_holiday(&state.db, caller.user.id, day).await
    } else {
        let kind = DayKind::parse(&form.text("kind")).unwrap_or(DayKind::Holiday);
        config::put_holiday(
            &state.db,
            caller.user.id,
            &Holiday {
                day,
                kind,
                name: form.text("name").trim().chars().take(60).collect(),
            },
        )
        .await
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => {
            page(
                &state,
                caller,
                None,
                Some(l.error_message(&AppError::from(e))),
            )
            .await
        }
    }
}

/// POST /admin/workday/dispositions/toggle: retire a disposition or bring it back.
pub async fn toggle_disposition(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let id: i64 = form.text("id").parse().unwrap_or(0);
    let all = config::dispositions(&state.db).await.or_page(l)?;
    let Some(current) = all.into_iter().find(|d| d.id == id) else {
        return Err(super::PageError(l, AppError::NotFound));
    };
    let mut d = current.d;
    d.active = !d.active;
    match config::save_disposition(&state.db, caller.user.id, Some(id), &d).await {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => {
            page(
                &state,
                caller,
                None,
                Some(l.error_message(&AppError::from(e))),
            )
            .await
        }
    }
}
