//! The team dashboard page (issue 24, 看板): charts drawn here as inline SVG (see
//! [`crate::charts`]), a team selector for supervisors and admins, and a wallboard mode
//! (`?wall=1`: big numbers, no navigation). The panel is pushed again by `/dashboard/events`
//! (server-sent events, `static/dashboard.js`) when a call is recorded on any app server, at
//! most once a second, and every catch-up period (the hour turns without any write); the
//! numbers are read from the call statistics, which every recorded call updates in its own
//! transaction. A browser without EventSource fetches `/dashboard/panel` every few seconds.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use leadline_domain::{Role, UserId};
use leadline_store::auth::users;
use leadline_store::dashboard::{self, Dashboard, LeaderRow};
use std::collections::HashSet;

use super::{Nav, OrPage, PageResult, render};
use crate::AppState;
use crate::api::dashboard::{dashboard_for, dashboard_of, scope_of, team_param};
use crate::api::feed::{self, View};
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::charts::{self, GroupedBars};
use crate::error::{ApiResult, AppError};
use crate::i18n::Lang;
use leadline_store::StoreError;

/// A horizontal bar with its label and value text.
pub struct HBar {
    pub label: &'static str,
    pub value: String,
    pub len: i64,
    pub y: i64,
}

/// The panel the page shows and the script fetches again.
#[derive(Template)]
#[template(path = "dashboard_panel.html")]
pub struct Panel {
    l: Lang,
    wall: bool,
    d: Dashboard,
    hours: GroupedBars,
    /// (title, element id, bars): today's and the month's funnel.
    funnels: Vec<(&'static str, &'static str, Vec<HBar>)>,
    progress: Vec<HBar>,
    leaders: Vec<LeaderRow>,
}

fn funnel_bars(l: Lang, f: &leadline_store::dashboard::Funnel) -> Vec<HBar> {
    let stages = f.stages();
    let max = stages.iter().map(|s| s.1).max().unwrap_or(0);
    stages
        .iter()
        .enumerate()
        .map(|(i, (k, v))| HBar {
            label: l.t(k),
            value: v.to_string(),
            len: charts::bar_len(*v, max, 300),
            y: i as i64 * 26,
        })
        .collect()
}

impl Panel {
    pub fn new(l: Lang, wall: bool, d: Dashboard) -> Panel {
        let hours = charts::grouped_bars(&[&d.hours_today, &d.hours_yesterday], 720, 220, 3, |h| {
            format!("{h}{}", l.t("dash.hour_suffix"))
        });
        let funnels = vec![
            (
                l.t("dash.funnel_today"),
                "dash-funnel-today",
                funnel_bars(l, &d.funnel_today),
            ),
            (
                l.t("dash.funnel_month"),
                "dash-funnel-month",
                funnel_bars(l, &d.funnel_month),
            ),
        ];
        let progress = d
            .progress
            .as_ref()
            .map(|p| {
                p.with_target()
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| HBar {
                        label: l.t(&format!("target.metric.{}", m.metric)),
                        value: format!("{} / {} ({}%)", m.done, m.target, m.percent.unwrap_or(0)),
                        len: m.bar * 3,
                        y: i as i64 * 26,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let leaders = d.leaderboard.clone();
        Panel {
            l,
            wall,
            d,
            hours,
            funnels,
            progress,
            leaders,
        }
    }

    fn rate(&self) -> String {
        let p = self.d.connect_rate_permille;
        format!("{}.{}%", p / 10, p % 10)
    }

    /// Answered within three rings, as a share of answered calls (`87.5%`).
    fn speed_share(&self) -> String {
        let p = self
            .d
            .answer_speed
            .map_or(0, |a| a.within_three_rings_permille);
        format!("{}.{}%", p / 10, p % 10)
    }

    /// The share's bar on a 300-wide track.
    fn speed_bar(&self) -> i64 {
        let p = self
            .d
            .answer_speed
            .map_or(0, |a| a.within_three_rings_permille);
        charts::bar_len(p, 1000, 300)
    }

    fn talk(&self) -> String {
        let s = self.d.talk_s;
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    team: Option<i64>,
    /// The teams the caller may pick (id, name, shown now); empty: no selector.
    teams: Vec<(i64, String, bool)>,
    query: String,
    panel: String,
}

#[derive(Template)]
#[template(path = "dashboard_wall.html")]
struct WallPage {
    l: Lang,
    query: String,
    panel: String,
}

fn panel_query(q: Option<&str>, wall: bool) -> String {
    let pairs = query_pairs(q);
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let Some(t) = pair(&pairs, "team_id").filter(|t| !t.is_empty()) {
        out.append_pair("team_id", t);
    }
    if wall {
        out.append_pair("wall", "1");
    }
    out.finish()
}

fn is_wall(q: Option<&str>) -> bool {
    pair(&query_pairs(q), "wall") == Some("1")
}

/// GET /dashboard (`?team_id=`, `?wall=1`).
pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let wall = is_wall(q.as_deref());
    let d = dashboard_for(&state, &caller, q.as_deref())
        .await
        .or_page(l)?;
    let team = d.team_id.map(|t| t.0);
    let panel = Panel::new(l, wall, d)
        .render()
        .map_err(|e| AppError::Store(StoreError::Internal(format!("dashboard panel: {e}"))))
        .or_page(l)?;
    let query = panel_query(q.as_deref(), wall);
    if wall {
        return Ok(render(&WallPage { l, query, panel }));
    }
    let teams = match caller.viewer.role {
        Role::Admin | Role::Supervisor => users::list_teams(&state.db)
            .await
            .or_page(l)?
            .into_iter()
            .filter(|t| {
                caller.viewer.role == Role::Admin || caller.viewer.supervised_teams.contains(&t.id)
            })
            .map(|t| (t.id.0, t.name, team == Some(t.id.0)))
            .collect(),
        _ => Vec::new(),
    };
    Ok(render(&DashboardPage {
        nav: Nav::new(&caller, "/dashboard"),
        team,
        teams,
        query,
        panel,
    }))
}

/// GET /dashboard/panel — the panel alone, for the page's periodic fetch.
pub async fn panel(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let wall = is_wall(q.as_deref());
    let d = dashboard_for(&state, &caller, q.as_deref())
        .await
        .or_page(l)?;
    Ok(render(&Panel::new(l, wall, d)))
}

/// The panel as `/dashboard/events` pushes it: its HTML for the caller and the team asked.
struct PanelFeed {
    team: Option<leadline_domain::TeamId>,
    wall: bool,
}

impl View for PanelFeed {
    const EVENT: &'static str = "panel";

    async fn build(
        &self,
        db: &leadline_store::Db,
        caller: &Caller,
    ) -> leadline_store::Result<(String, Option<HashSet<UserId>>)> {
        let scope = dashboard::scope_for(&caller.viewer, caller.user.team_id, self.team)?;
        let d = dashboard_of(db, &caller.viewer, scope, leadline_store::now()).await?;
        let html = Panel::new(caller.lang, self.wall, d)
            .render()
            .map_err(|e| StoreError::Internal(format!("dashboard panel: {e}")))?;
        // Anyone's call may move the board (the leaderboard and funnel of an admin's whole
        // floor); at most one look a second answers a busy floor.
        Ok((html, None))
    }
}

/// GET /dashboard/events (`?team_id=`, `?wall=1`) — server-sent events: `panel` with the panel's
/// HTML at once, then again whenever it changes. Refused as the page is (another team's board,
/// finance).
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    // Refused here, before the stream opens, as the page would be.
    scope_of(&caller, q.as_deref())?;
    let team = team_param(q.as_deref())?;
    let view = PanelFeed {
        team,
        wall: is_wall(q.as_deref()),
    };
    Ok(feed::open(&state, caller, view).await?)
}

/// GET /static/dashboard.js — fetches the panel again every few seconds.
pub async fn script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/dashboard.js"),
    )
}
