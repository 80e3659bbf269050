//! Targets pages (issue 24): the year grid (12 months × the seven figures) a supervisor or an
//! admin fills for a person or a team, and the compact month-progress bars shown where people
//! work (the workspace, the sales rep's customer queue).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use chrono::Datelike;
use leadline_domain::targets::{Figures, METRICS};
use leadline_domain::{Role, TeamId, UserId};
use leadline_store::targets::progress::{self, Progress};
use leadline_store::targets::{self, Subject};
use leadline_store::work_reports::daily::today_of;
use leadline_store::{Db, StoreError, now};

use super::sales::{parse_yuan, yuan};
use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

/// One bar: a metric with a target, what was done, and how far along.
pub struct BarView {
    pub metric: &'static str,
    pub label: &'static str,
    pub done: String,
    pub target: String,
    pub percent: String,
    pub bar: i64,
}

/// The month's bars (only metrics that have a target).
pub struct ProgressView {
    pub month: String,
    pub bars: Vec<BarView>,
}

fn figure(metric: &str, v: i64) -> String {
    if metric.ends_with("_fen") {
        yuan(v)
    } else {
        v.to_string()
    }
}

/// The bars of a month's progress; `None` when no target was set for it.
pub fn progress_view(nav: &Nav, p: &Progress) -> Option<ProgressView> {
    if !p.has_target() {
        return None;
    }
    let bars = p
        .with_target()
        .into_iter()
        .map(|m| BarView {
            metric: m.metric,
            label: nav.t(&format!("target.metric.{}", m.metric)),
            done: figure(m.metric, m.done),
            target: figure(m.metric, m.target),
            percent: m.percent.map(|p| format!("{p}%")).unwrap_or_default(),
            bar: m.bar,
        })
        .collect();
    Some(ProgressView {
        month: p.month.clone(),
        bars,
    })
}

/// The caller's own bars for this month, if they have targets.
pub async fn own_progress(
    db: &Db,
    nav: &Nav,
    caller: &Caller,
) -> Result<Option<ProgressView>, AppError> {
    let today = today_of(now())?;
    let p = progress::own(db, caller.user.id, today).await?;
    Ok(progress_view(nav, &p))
}

/// Whom the caller may pick in the grid: (value, label), people then teams.
async fn subjects(db: &Db, caller: &Caller) -> Result<Vec<(String, String)>, AppError> {
    let v = &caller.viewer;
    let sees = |t: Option<TeamId>| {
        v.role == Role::Admin || t.is_some_and(|t| v.supervised_teams.contains(&t))
    };
    let mut out = Vec::new();
    for u in leadline_store::auth::users::list_users(db).await? {
        if u.active && matches!(u.role, Role::Agent | Role::Sales) && sees(u.team_id) {
            out.push((format!("user:{}", u.id.0), u.display_name));
        }
    }
    for t in leadline_store::auth::users::list_teams(db).await? {
        if sees(Some(t.id)) {
            out.push((format!("team:{}", t.id.0), format!("[{}]", t.name)));
        }
    }
    Ok(out)
}

fn parse_subject(s: &str) -> Option<Subject> {
    let (kind, id) = s.split_once(':')?;
    let id: i64 = id.parse().ok()?;
    match kind {
        "user" => Some(Subject::User(UserId(id))),
        "team" => Some(Subject::Team(TeamId(id))),
        _ => None,
    }
}

fn subject_key(s: Subject) -> String {
    format!("{}:{}", s.scope(), s.id())
}

pub struct Cell {
    pub name: String,
    pub value: String,
}

pub struct MonthRow {
    pub month: u32,
    pub cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "targets_grid.html")]
struct GridPage {
    nav: Nav,
    subjects: Vec<(String, String)>,
    subject: String,
    year: i32,
    headers: Vec<&'static str>,
    rows: Vec<MonthRow>,
    may_edit: bool,
    saved: bool,
}

/// GET /targets?subject=user:7&year=2027 — the year grid; the caller's own by default.
pub async fn grid(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let subject = pair(&pairs, "subject")
        .and_then(parse_subject)
        .unwrap_or(Subject::User(caller.user.id));
    let today = today_of(now()).or_page(l)?;
    let year = pair(&pairs, "year")
        .and_then(|y| y.parse().ok())
        .unwrap_or(today.year());
    let y = targets::year(&state.db, &caller.viewer, subject, year)
        .await
        .or_page(l)?;
    let may_edit = targets::check_write(&state.db, &caller.viewer, subject)
        .await
        .is_ok();
    let nav = Nav::new(&caller, "/targets");
    let headers = METRICS
        .iter()
        .map(|m| nav.t(&format!("target.metric.{m}")))
        .collect();
    let rows = y
        .months
        .iter()
        .map(|m| MonthRow {
            month: m.month,
            cells: METRICS
                .iter()
                .map(|metric| {
                    let v = m.figures.get(metric);
                    Cell {
                        name: format!("m{}_{metric}", m.month),
                        value: if metric.ends_with("_fen") {
                            leadline_domain::money::yuan(v)
                        } else {
                            v.to_string()
                        },
                    }
                })
                .collect(),
        })
        .collect();
    let mut subjects = subjects(&state.db, &caller).await.or_page(l)?;
    if !subjects.iter().any(|(k, _)| *k == subject_key(subject)) {
        subjects.insert(0, (subject_key(subject), nav.t("target.own").to_string()));
    }
    Ok(render(&GridPage {
        subjects,
        subject: subject_key(subject),
        year,
        headers,
        rows,
        may_edit,
        saved: pair(&pairs, "saved").is_some(),
        nav,
    }))
}

fn count(field: &str, s: &str) -> Result<i64, StoreError> {
    let t = s.trim().replace(',', "");
    if t.is_empty() {
        return Ok(0);
    }
    t.parse()
        .map_err(|_| StoreError::invalid(field, "not_a_number"))
}

/// POST /targets — saves the year grid.
pub async fn save(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let subject = parse_subject(&form.text("subject"))
        .ok_or(AppError::BadRequest("bad_subject"))
        .or_page(l)?;
    let year: i32 = form
        .text("year")
        .parse()
        .map_err(|_| StoreError::invalid("year", "out_of_range"))
        .or_page(l)?;
    let mut months = Vec::with_capacity(12);
    for m in 1..=12 {
        let get = |metric: &str| form.text(&format!("m{m}_{metric}"));
        let money = |metric: &str| {
            let s = get(metric);
            if s.trim().is_empty() {
                Ok(0)
            } else {
                parse_yuan(metric, &s)
            }
        };
        months.push(Figures {
            calls: count("calls", &get("calls")).or_page(l)?,
            valid_conversations: count("valid_conversations", &get("valid_conversations"))
                .or_page(l)?,
            qualified: count("qualified", &get("qualified")).or_page(l)?,
            new_customers: count("new_customers", &get("new_customers")).or_page(l)?,
            orders: count("orders", &get("orders")).or_page(l)?,
            revenue_fen: money("revenue_fen").or_page(l)?,
            collections_fen: money("collections_fen").or_page(l)?,
        });
    }
    targets::set_year(
        &state.db,
        &form.caller.viewer,
        subject,
        year,
        &months,
        now(),
    )
    .await
    .or_page(l)?;
    let to = format!(
        "/targets?subject={}&year={year}&saved=1",
        subject_key(subject)
    );
    Ok(Redirect::to(&to).into_response())
}

use crate::AppState;
