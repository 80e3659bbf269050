//! 日报 pages (issue 24): the person's own day report (figures from the records, read-only; the
//! summary, problems and market information to write and submit), one report as a supervisor
//! reads it with the comments and the form to add one, and the team's day: who has handed
//! theirs in and who has not.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::{IntentLevel, Role, TeamId, UserId};
use leadline_store::now;
use leadline_store::targets::progress::day_text;
use leadline_store::work_reports::daily::{self, DailyReport, ReportInput, TeamEntry};
use leadline_store::work_reports::{Standing, standing};

use super::sales::yuan;
use super::{Nav, OrPage, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

/// A figure as shown: (label, value).
type Line = (&'static str, String);

fn figure_lines(nav: &Nav, r: &DailyReport) -> Vec<Line> {
    let f = &r.figures;
    vec![
        (nav.t("report.calls"), f.calls.to_string()),
        (nav.t("report.connected"), f.connected.to_string()),
        (nav.t("report.valid"), f.valid_conversations.to_string()),
        (nav.t("report.qualified"), f.qualified.to_string()),
        (nav.t("report.talk_min"), (f.talk_s / 60).to_string()),
        (nav.t("report.visits"), f.visits.to_string()),
        (nav.t("report.new_customers"), f.new_customers.to_string()),
        (nav.t("report.orders"), f.orders.to_string()),
        (nav.t("report.revenue"), yuan(f.revenue_fen)),
        (nav.t("report.collections"), yuan(f.collections_fen)),
    ]
}

fn intent_lines(nav: &Nav, r: &DailyReport) -> Vec<Line> {
    IntentLevel::ALL
        .iter()
        .filter_map(|i| {
            r.figures
                .intent
                .get(i.code())
                .map(|n| (i.label(nav.lang.code()), n.to_string()))
        })
        .collect()
}

#[derive(Template)]
#[template(path = "daily_report.html")]
struct ReportPage {
    nav: Nav,
    r: DailyReport,
    figures: Vec<Line>,
    intents: Vec<Line>,
    /// The person's own, still open: the form.
    editable: bool,
    /// A supervisor reading a submitted report: the comment form.
    may_comment: bool,
    own: bool,
    saved: bool,
}

impl ReportPage {
    fn status_label(&self) -> &'static str {
        self.nav.t(&format!("report.status.{}", self.r.status))
    }
}

/// The day's visit notes as text for the market information field (a draft's starting point).
fn market_text(nav: &Nav, r: &DailyReport) -> String {
    let mut lines = Vec::new();
    for v in &r.visit_market {
        let parts: Vec<String> = [
            ("report.visit_quality", &v.quality_view),
            ("report.visit_price", &v.price_view),
            ("report.visit_brands", &v.other_brands),
            ("report.visit_competitors", &v.competitor_moves),
        ]
        .into_iter()
        .filter_map(|(k, t)| t.as_deref().map(|t| format!("{}: {t}", nav.t(k))))
        .collect();
        lines.push(format!("{} — {}", v.customer_name, parts.join("; ")));
    }
    lines.join("\n")
}

async fn report_page(
    state: &AppState,
    caller: &Caller,
    user: UserId,
    date: &str,
    path: &str,
    saved: bool,
) -> Result<ReportPage, AppError> {
    let today = daily::today_of(&state.db, now()).await?;
    let mut r = daily::get(&state.db, &caller.viewer, user, date, today).await?;
    let (_, stand) = standing(&state.db, &caller.viewer, user).await?;
    let nav = Nav::new(caller, path);
    if r.status == "draft" && r.market_info.is_empty() {
        r.market_info = market_text(&nav, &r);
    }
    Ok(ReportPage {
        figures: figure_lines(&nav, &r),
        intents: intent_lines(&nav, &r),
        editable: r.may_submit,
        may_comment: stand == Standing::Supervises && r.status == "submitted",
        own: stand == Standing::Own,
        saved,
        r,
        nav,
    })
}

/// GET /reports/daily?date=YYYY-MM-DD — the caller's own report (today by default).
pub async fn own(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let date = match pair(&pairs, "date").filter(|d| !d.is_empty()) {
        Some(d) => d.to_string(),
        None => day_text(daily::today_of(&state.db, now()).await.or_page(l)?),
    };
    let saved = pair(&pairs, "saved").is_some();
    let page = report_page(
        &state,
        &caller,
        caller.user.id,
        &date,
        "/reports/daily",
        saved,
    )
    .await
    .or_page(l)?;
    Ok(render(&page))
}

/// POST /reports/daily — submits the caller's own report.
pub async fn submit(State(state): State<AppState>, form: PageForm) -> PageResult {
    let c = &form.caller;
    let l = c.lang;
    let date = form.text("date");
    let input = ReportInput {
        summary: form.text("summary"),
        problems: form.text("problems"),
        market_info: form.text("market_info"),
    };
    daily::submit(&state.db, &c.viewer, c.user.id, &date, &input, now())
        .await
        .or_page(l)?;
    let to = format!("/reports/daily?date={date}&saved=1");
    Ok(Redirect::to(&to).into_response())
}

/// GET /reports/daily/{user_id}/{date} — one person's report as their supervisor reads it.
pub async fn one(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path((user, date)): Path<(i64, String)>,
) -> PageResult {
    let l = caller.lang;
    let path = format!("/reports/daily/{user}/{date}");
    let page = report_page(&state, &caller, UserId(user), &date, &path, false)
        .await
        .or_page(l)?;
    Ok(render(&page))
}

/// POST /reports/daily/{user_id}/{date}/comments — the supervisor's comment.
pub async fn comment(
    State(state): State<AppState>,
    Path((user, date)): Path<(i64, String)>,
    form: PageForm,
) -> PageResult {
    let c = &form.caller;
    let l = c.lang;
    daily::comment(
        &state.db,
        &c.viewer,
        UserId(user),
        &date,
        &form.text("body"),
        now(),
    )
    .await
    .or_page(l)?;
    Ok(Redirect::to(&format!("/reports/daily/{user}/{date}")).into_response())
}

pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub entries: Vec<TeamEntry>,
    pub missing: usize,
}

#[derive(Template)]
#[template(path = "daily_team.html")]
struct TeamPage {
    nav: Nav,
    date: String,
    teams: Vec<TeamView>,
}

impl TeamPage {
    fn role_label(&self, role: &str) -> &'static str {
        self.nav.t(&format!("role.{role}"))
    }
}

/// GET /reports/daily/team?date= — the caller's teams on a day (every team for an admin);
/// 403 for anyone who supervises none.
pub async fn team(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let v = &caller.viewer;
    if !matches!(v.role, Role::Admin | Role::Supervisor) {
        return Err(super::PageError(l, AppError::Forbidden));
    }
    let pairs = query_pairs(q.as_deref());
    let date = match pair(&pairs, "date").filter(|d| !d.is_empty()) {
        Some(d) => day_text(daily::parse_date(d).or_page(l)?),
        None => day_text(daily::today_of(&state.db, now()).await.or_page(l)?),
    };
    let all = leadline_store::auth::users::list_teams(&state.db)
        .await
        .or_page(l)?;
    let mut teams = Vec::new();
    for t in all {
        if v.role != Role::Admin && !v.supervised_teams.contains(&t.id) {
            continue;
        }
        let entries = daily::team_day(&state.db, v, TeamId(t.id.0), &date)
            .await
            .or_page(l)?;
        teams.push(TeamView {
            id: t.id.0,
            name: t.name,
            missing: entries.iter().filter(|e| !e.submitted()).count(),
            entries,
        });
    }
    let nav = Nav::new(&caller, "/reports/daily/team");
    Ok(render(&TeamPage { nav, date, teams }))
}
