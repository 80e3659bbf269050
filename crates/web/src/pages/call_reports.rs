//! The call statistics page (issue 24, 通话统计): a date range, grouping and team filter over the
//! report of `GET /api/v1/reports/calls`, the same table the CSV and .xlsx files hold (with its
//! totals line), and links to those files.

use askama::Template;
use axum::extract::{RawQuery, State};
use chrono::Datelike;
use leadline_domain::call_stats::{Grouping, StatsScope};
use leadline_store::auth::users;
use leadline_store::{call_stats, now};

use super::{Nav, OrPage, PageResult, render};
use crate::AppState;
use crate::api::call_reports::{parse_query, report_for, table};
use crate::api::query_pairs;
use crate::auth::PageCaller;

#[derive(Template)]
#[template(path = "call_reports.html")]
struct CallReportsPage {
    nav: Nav,
    from: String,
    to: String,
    group_by: &'static str,
    groupings: Vec<(&'static str, &'static str)>,
    team: Option<i64>,
    /// The teams the caller may filter by (id, name).
    teams: Vec<(i64, String)>,
    zone: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The query of the export links (without `format`).
    export_query: String,
}

/// Fills each parameter the query leaves out or empty with its default.
pub(crate) fn with_defaults<const N: usize>(
    pairs: &mut Vec<(String, String)>,
    defaults: [(&str, String); N],
) {
    for (k, v) in defaults {
        if !pairs.iter().any(|(key, val)| key == k && !val.is_empty()) {
            pairs.retain(|(key, _)| key != k);
            pairs.push((k.to_string(), v));
        }
    }
}

/// The query string of an export link (without `format`).
pub(crate) fn query_string(pairs: Vec<(String, String)>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// GET /reports/calls: this month so far by default, grouped by agent.
pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let mut pairs = query_pairs(q.as_deref());
    let today = call_stats::today(&state.db, now()).await.or_page(l)?.date;
    let defaults = [
        ("from", today.with_day(1).unwrap_or(today).to_string()),
        ("to", today.to_string()),
        ("group_by", "agent".to_string()),
    ];
    with_defaults(&mut pairs, defaults);
    let query = parse_query(&pairs).or_page(l)?;
    let report = report_for(&state, &caller, &query).await.or_page(l)?;
    let (head, rows) = table(&report, l);
    let scope = StatsScope::of(&caller.viewer);
    let teams = users::list_teams(&state.db)
        .await
        .or_page(l)?
        .into_iter()
        .filter(|t| scope.holds_team(t.id))
        .map(|t| (t.id.0, t.name))
        .collect();
    let mut export: Vec<(String, String)> = vec![
        ("from".into(), report.from.to_string()),
        ("to".into(), report.to.to_string()),
        ("group_by".into(), report.group_by.code().into()),
    ];
    if let Some(t) = query.team {
        export.push(("team_id".into(), t.0.to_string()));
    }
    let export_query = query_string(export);
    let p = CallReportsPage {
        nav: Nav::new(&caller, "/reports/calls"),
        from: report.from.to_string(),
        to: report.to.to_string(),
        group_by: report.group_by.code(),
        groupings: Grouping::ALL
            .iter()
            .map(|g| (g.code(), l.t(&format!("call_stats.by.{}", g.code()))))
            .collect(),
        team: query.team.map(|t| t.0),
        teams,
        zone: report.zone.clone(),
        head,
        rows,
        export_query,
    };
    Ok(render(&p))
}
