//! Call statistics over JSON (issue 24): counts per agent, team, day, week or month over any
//! range of days in the organisation's zone (as JSON, CSV or .xlsx), and the organisation's
//! time zone setting.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use leadline_domain::IntentLevel;
use leadline_domain::call_stats::{DateRange, Grouping, RangeError};
use leadline_domain::{TeamId, UserId};
use leadline_store::call_stats::report::{self, GroupKey, Report, ReportQuery, Source, Totals};
use leadline_store::{call_stats, now};
use serde::{Deserialize, Serialize};

use super::receivables::file;
use super::{JsonBody, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::i18n::Lang;

/// A report's range of days (`from`, `to`), checked: 400 with a stable code for what is wrong.
pub(crate) fn parse_range(pairs: &[(String, String)]) -> Result<DateRange, AppError> {
    let from = pair(pairs, "from").ok_or(AppError::BadRequest("from_invalid"))?;
    let to = pair(pairs, "to").ok_or(AppError::BadRequest("to_invalid"))?;
    DateRange::parse(from, to).map_err(|e| {
        AppError::BadRequest(match e {
            RangeError::BadDate("from") => "from_invalid",
            RangeError::BadDate(_) => "to_invalid",
            RangeError::Reversed => "range_reversed",
            RangeError::TooLong => "range_too_long",
        })
    })
}

/// An optional id parameter (`team_id`, `agent_id`, `rep_id`): 400 `code` when not a number.
pub(crate) fn id_param(
    pairs: &[(String, String)],
    key: &str,
    code: &'static str,
) -> Result<Option<i64>, AppError> {
    match pair(pairs, key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| AppError::BadRequest(code)),
    }
}

/// A report as asked by `format`: JSON (none or `json`), or its table as a CSV or .xlsx file
/// named `name` (400 `format_invalid` for anything else).
pub(crate) fn json_or_file<T: Serialize>(
    pairs: &[(String, String)],
    report: T,
    name: impl FnOnce(&T) -> String,
    table: impl FnOnce(&T) -> (Vec<String>, Vec<Vec<String>>),
) -> ApiResult<Response> {
    match pair(pairs, "format") {
        None | Some("json") => Ok(Json(report).into_response()),
        Some(f) => {
            let (head, rows) = table(&report);
            file(f, &name(&report), &head, &rows)
        }
    }
}

/// The query of a report, checked: 400 with a stable code for what is wrong.
pub(crate) fn parse_query(pairs: &[(String, String)]) -> Result<ReportQuery, AppError> {
    let range = parse_range(pairs)?;
    let grouping = match pair(pairs, "group_by") {
        None => Grouping::Agent,
        Some(g) => Grouping::parse(g).ok_or(AppError::BadRequest("group_by_invalid"))?,
    };
    Ok(ReportQuery {
        range,
        grouping,
        team: id_param(pairs, "team_id", "team_id_invalid")?.map(TeamId),
        agent: id_param(pairs, "agent_id", "agent_id_invalid")?.map(UserId),
    })
}

/// The report for the caller in the organisation's zone.
pub(crate) async fn report_for(
    state: &AppState,
    caller: &Caller,
    q: &ReportQuery,
) -> ApiResult<Report> {
    let zone = call_stats::org_zone(&state.db).await?;
    Ok(report::calls_report(&state.db, &caller.viewer, q, zone, Source::Rollups).await?)
}

/// Call statistics. CONTRACT: `from`, `to` (YYYY-MM-DD, local days of the organisation's zone,
/// both included, at most 366 days), `group_by` = agent (default) | team | day | week (Monday
/// first) | month, optional `team_id`, `agent_id`; `format=csv|xlsx` for a file of the same
/// rows. Agents and sales reps see themselves, supervisors their teams, admins everyone.
#[utoipa::path(get, path = "/api/v1/reports/calls",
    params(("from" = String, Query, description = "YYYY-MM-DD, first day (organisation's zone)"),
        ("to" = String, Query, description = "YYYY-MM-DD, last day, included"),
        ("group_by" = Option<String>, Query, description = "agent | team | day | week | month"),
        ("team_id" = Option<i64>, Query, description = "Only this team's members"),
        ("agent_id" = Option<i64>, Query, description = "Only this agent"),
        ("format" = Option<String>, Query, description = "json | csv | xlsx")),
    responses((status = 200, description = "`{zone, from, to, group_by, rows: [{agent_id, agent_name | team_id, team_name | day | week | month, calls, connected, valid_conversations, qualified, talk_s, intent: {resistant, no_stance, interested, positive, strong_demand}, connect_rate_permille}], totals: {...}}`: counts are integers; `connect_rate_permille` is connected calls per thousand calls, rounded down (437 = 43.7 %)"),
        (status = 400, description = "from_invalid | to_invalid | range_reversed | range_too_long | group_by_invalid | team_id_invalid | agent_id_invalid | format_invalid"),
        (status = 403, description = "forbidden: finance, or a team the caller does not supervise"),
        (status = 404, description = "not_found: an agent outside the caller's view")))]
pub async fn calls(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let query = parse_query(&pairs)?;
    let report = report_for(&state, &caller, &query).await?;
    let lang = caller.lang;
    json_or_file(
        &pairs,
        report,
        |r| format!("{}-{}-{}", lang.t("call_stats.title"), r.from, r.to),
        |r| table(r, lang),
    )
}

/// Talk time as `H:MM:SS`.
pub fn talk_time(s: i64) -> String {
    format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// A per-mille rate as a percentage with one decimal (`43.7%`).
pub fn percent(permille: i64) -> String {
    format!("{}.{}%", permille / 10, permille % 10)
}

/// The group's name as shown.
pub fn group_label(key: &GroupKey, lang: Lang) -> String {
    match key {
        GroupKey::Agent { agent_name, .. } => agent_name.clone(),
        GroupKey::Team { team_name, .. } => team_name
            .clone()
            .unwrap_or_else(|| lang.t("call_stats.no_team").to_string()),
        GroupKey::Day { day: d } | GroupKey::Week { week: d } | GroupKey::Month { month: d } => {
            d.format("%Y-%m-%d").to_string()
        }
    }
}

/// The report as a table: the header, one line per row and the totals line. Counts are plain
/// integers, talk time in seconds beside its `H:MM:SS`, so that a spreadsheet can sum them.
pub(crate) fn table(r: &Report, lang: Lang) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head: Vec<String> = [
        &format!("call_stats.group.{}", r.group_by.code()),
        "call_stats.calls",
        "call_stats.connected",
        "call_stats.connect_rate",
        "call_stats.valid_conversations",
        "call_stats.qualified",
        "call_stats.talk_s",
        "call_stats.talk_time",
    ]
    .iter()
    .map(|k| lang.t(k).to_string())
    .collect();
    head.extend(
        IntentLevel::ALL
            .iter()
            .map(|i| i.label(lang.code()).to_string()),
    );
    let line = |label: String, t: &Totals| {
        let c = &t.counts;
        let mut v = vec![
            label,
            c.calls.to_string(),
            c.connected.to_string(),
            percent(t.connect_rate_permille),
            c.valid_conversations.to_string(),
            c.qualified.to_string(),
            c.talk_s.to_string(),
            talk_time(c.talk_s),
        ];
        v.extend(
            IntentLevel::ALL
                .iter()
                .map(|i| c.intent.get(*i).to_string()),
        );
        v
    };
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| line(group_label(&row.key, lang), &row.totals))
        .collect();
    rows.push(line(lang.t("call_stats.total").to_string(), &r.totals));
    (head, rows)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgZone {
    /// An IANA time zone name, e.g. `Asia/Shanghai`.
    pub org_time_zone: String,
}

fn zone_body(zone: Tz) -> Json<OrgZone> {
    Json(OrgZone {
        org_time_zone: zone.name().to_string(),
    })
}

/// The organisation's time zone: the statistics day of every count and report.
#[utoipa::path(get, path = "/api/v1/settings/org-time-zone",
    responses((status = 200, description = "`{org_time_zone}`", body = OrgZone)))]
pub async fn get_org_zone(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Json<OrgZone>> {
    Ok(zone_body(call_stats::org_zone(&state.db).await?))
}

/// Sets the organisation's time zone (admin). Counts are kept in UTC quarter hours, so every
/// statistics day follows the new zone at once.
#[utoipa::path(put, path = "/api/v1/settings/org-time-zone", request_body = OrgZone,
    responses((status = 200, description = "`{org_time_zone}`", body = OrgZone),
        (status = 403, description = "forbidden: not an admin"),
        (status = 422, description = "invalid_input: org_time_zone is not an IANA zone")))]
pub async fn put_org_zone(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<OrgZone>,
) -> ApiResult<Json<OrgZone>> {
    caller.require_admin()?;
    let zone =
        call_stats::set_org_zone(&state.db, caller.user.id, &body.org_time_zone, now()).await?;
    Ok(zone_body(zone))
}
