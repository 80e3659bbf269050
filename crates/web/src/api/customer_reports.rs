//! Customer reports over JSON (issue 24): new customers per rep, team or month
//! (新开拓客户报表) and the yearly customer analysis by grade, rep and revenue band
//! (年度客户分析), in the organisation's zone, as JSON, CSV or .xlsx.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use leadline_domain::customer_reports::{NewGrouping, Origin};
use leadline_domain::money::yuan_plain;
use leadline_domain::{TeamId, UserId};
use leadline_store::reports::new_customers::{
    self, NewCustomersQuery, NewCustomersReport, NewFigures, NewKey,
};
use leadline_store::reports::yearly::{self, YearFigures, YearlyReport};
use leadline_store::{call_stats, now};

use super::call_reports::{id_param, json_or_file, parse_range};
use super::{pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::i18n::Lang;

/// The new-customers query, checked: 400 with a stable code for what is wrong.
pub(crate) fn parse_new_query(pairs: &[(String, String)]) -> Result<NewCustomersQuery, AppError> {
    let range = parse_range(pairs)?;
    let grouping = match pair(pairs, "group_by").filter(|g| !g.is_empty()) {
        None => NewGrouping::Rep,
        Some(g) => NewGrouping::parse(g).ok_or(AppError::BadRequest("group_by_invalid"))?,
    };
    Ok(NewCustomersQuery {
        range,
        grouping,
        team: id_param(pairs, "team_id", "team_id_invalid")?.map(TeamId),
        rep: id_param(pairs, "rep_id", "rep_id_invalid")?.map(UserId),
    })
}

/// The new-customers report for the caller in the organisation's zone.
pub(crate) async fn new_customers_for(
    state: &AppState,
    caller: &Caller,
    q: &NewCustomersQuery,
) -> ApiResult<NewCustomersReport> {
    let zone = call_stats::org_zone(&state.db).await?;
    Ok(new_customers::new_customers(&state.db, &caller.viewer, q, zone).await?)
}

/// New customers (新开拓客户报表). CONTRACT: `from`, `to` (YYYY-MM-DD, local days of the
/// organisation's zone, both included, at most 366 days), `group_by` = rep (default) | team |
/// month, optional `team_id`, `rep_id`; `format=csv|xlsx` for a file of the rows and totals.
/// A customer counts for the rep it was converted to (its owner when it was entered without a
/// lead); its orders and payments count when they fall in the same days. Money is in 分.
/// Sales reps read their own row, supervisors their teams', admins and finance everyone's;
/// agents are refused.
#[utoipa::path(get, path = "/api/v1/reports/new-customers",
    params(("from" = String, Query, description = "YYYY-MM-DD, first day (organisation's zone)"),
        ("to" = String, Query, description = "YYYY-MM-DD, last day, included"),
        ("group_by" = Option<String>, Query, description = "rep | team | month"),
        ("team_id" = Option<i64>, Query, description = "Only this team's reps"),
        ("rep_id" = Option<i64>, Query, description = "Only this rep"),
        ("format" = Option<String>, Query, description = "json | csv | xlsx")),
    responses((status = 200, description = "`{zone, from, to, group_by, rows: [{rep_id, rep_name | team_id, team_name | month, customers, from_agent, own_lead, direct, ordered, orders, revenue_fen, collected_fen}], totals: {...}, customers: [{customer_id, name, rep_id, rep_name, team_id, team_name, opened_on, origin: from_agent | own_lead | direct, orders, revenue_fen, collected_fen, first_order_on}]}`"),
        (status = 400, description = "from_invalid | to_invalid | range_reversed | range_too_long | group_by_invalid | team_id_invalid | rep_id_invalid | format_invalid"),
        (status = 403, description = "forbidden: an agent, or a team the caller does not supervise"),
        (status = 404, description = "not_found: a rep outside the caller's view")))]
pub async fn new_customers_report(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let query = parse_new_query(&pairs)?;
    let report = new_customers_for(&state, &caller, &query).await?;
    let lang = caller.lang;
    json_or_file(
        &pairs,
        report,
        |r| {
            format!(
                "{}-{}-{}",
                lang.t("customer_reports.new.title"),
                r.from,
                r.to
            )
        },
        |r| new_table(r, lang, yuan_plain),
    )
}

/// A group's name as shown.
pub fn new_group_label(key: &NewKey, lang: Lang) -> String {
    match key {
        NewKey::Rep { rep_name, .. } => rep_name
            .clone()
            .unwrap_or_else(|| lang.t("customer_reports.no_rep").to_string()),
        NewKey::Team { team_name, .. } => team_name
            .clone()
            .unwrap_or_else(|| lang.t("call_stats.no_team").to_string()),
        NewKey::Month { month } => month.format("%Y-%m").to_string(),
    }
}

/// An origin's name as shown.
pub fn origin_label(o: Origin, lang: Lang) -> &'static str {
    lang.t(&format!("customer_reports.origin.{}", o.code()))
}

/// The report as a table: the header, one line per group and the totals line. Counts are
/// integers and money as `money` writes it (files: plain yuan, `1234.56`, exact, so that a
/// spreadsheet can sum them; the page: `¥1,234.56`).
pub(crate) fn new_table(
    r: &NewCustomersReport,
    lang: Lang,
    money: fn(i64) -> String,
) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head = vec![
        lang.t(&format!("customer_reports.group.{}", r.group_by.code()))
            .to_string(),
    ];
    head.extend(
        [
            "customer_reports.customers",
            "customer_reports.origin.from_agent",
            "customer_reports.origin.own_lead",
            "customer_reports.origin.direct",
            "customer_reports.ordered",
            "customer_reports.orders",
            "customer_reports.revenue",
            "customer_reports.collected",
        ]
        .iter()
        .map(|k| lang.t(k).to_string()),
    );
    let line = |label: String, f: &NewFigures| {
        vec![
            label,
            f.customers.to_string(),
            f.from_agent.to_string(),
            f.own_lead.to_string(),
            f.direct.to_string(),
            f.ordered.to_string(),
            f.orders.to_string(),
            money(f.revenue_fen),
            money(f.collected_fen),
        ]
    };
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| line(new_group_label(&row.key, lang), &row.figures))
        .collect();
    rows.push(line(lang.t("call_stats.total").to_string(), &r.totals));
    (head, rows)
}

/// The yearly analysis's year, checked: 400 `year_invalid` when missing or not a number.
pub(crate) fn parse_year(pairs: &[(String, String)]) -> Result<i32, AppError> {
    pair(pairs, "year")
        .and_then(|y| y.trim().parse().ok())
        .ok_or(AppError::BadRequest("year_invalid"))
}

/// Month or quarter columns in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    Month,
    Quarter,
}

impl Columns {
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Columns, AppError> {
        match pair(pairs, "columns").filter(|c| !c.is_empty()) {
            None | Some("quarter") => Ok(Columns::Quarter),
            Some("month") => Ok(Columns::Month),
            Some(_) => Err(AppError::BadRequest("columns_invalid")),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Columns::Month => "month",
            Columns::Quarter => "quarter",
        }
    }
}

/// The yearly analysis for the caller in the organisation's zone.
pub(crate) async fn yearly_for(
    state: &AppState,
    caller: &Caller,
    year: i32,
    rep: Option<UserId>,
) -> ApiResult<YearlyReport> {
    let zone = call_stats::org_zone(&state.db).await?;
    Ok(yearly::customers_yearly(&state.db, &caller.viewer, year, rep, zone).await?)
}

/// The yearly customer analysis (年度客户分析). CONTRACT: `year` (2000–2100, the year of the
/// organisation's zone), optional `rep_id`; `format=csv|xlsx` for a file (`columns=quarter`
/// (default) | `month` chooses its period columns). Customers that existed in the year (not
/// deleted) by their grade today, their owner and their year's revenue band; revenue is their
/// confirmed orders by confirmation day, collected their payments by payment day, in 分, per
/// month and per quarter. Sales reps read their own customers, supervisors their teams',
/// admins and finance everyone's; agents are refused.
#[utoipa::path(get, path = "/api/v1/reports/customers-yearly",
    params(("year" = i32, Query, description = "e.g. 2026"),
        ("rep_id" = Option<i64>, Query, description = "Only this rep's customers"),
        ("columns" = Option<String>, Query, description = "quarter | month (the file's period columns)"),
        ("format" = Option<String>, Query, description = "json | csv | xlsx")),
    responses((status = 200, description = "`{zone, year, rep_id, by_grade: [{grade, customers, ordered, revenue_fen, collected_fen, revenue_by_month: [12], collected_by_month: [12], revenue_by_quarter: [4], collected_by_quarter: [4]}], by_rep: [{rep_id, rep_name, ...figures, grades: [...]}], bands: [{band, from_fen, to_fen, customers, revenue_fen}], totals: {...}}`; `grade` null: not graded yet; `rep_id` null: customers in a pool"),
        (status = 400, description = "year_invalid | rep_id_invalid | columns_invalid | format_invalid"),
        (status = 403, description = "forbidden: an agent"),
        (status = 404, description = "not_found: a rep outside the caller's view"),
        (status = 422, description = "invalid_input: a year outside 2000–2100")))]
pub async fn customers_yearly(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let year = parse_year(&pairs)?;
    let rep = id_param(&pairs, "rep_id", "rep_id_invalid")?.map(UserId);
    let columns = Columns::parse(&pairs)?;
    let report = yearly_for(&state, &caller, year, rep).await?;
    let lang = caller.lang;
    json_or_file(
        &pairs,
        report,
        |r| format!("{}-{}", lang.t("customer_reports.yearly.title"), r.year),
        |r| yearly_table(r, columns, lang),
    )
}

/// A grade's name as shown.
pub fn grade_label(grade: Option<&str>, lang: Lang) -> String {
    grade.map_or_else(
        || lang.t("customer_reports.ungraded").to_string(),
        str::to_string,
    )
}

/// The yearly analysis as a table: by grade with the total, then each rep by grade with the
/// rep's total. Columns: rep, grade, customers, ordered, revenue, collected, then the revenue
/// of each quarter or month, all money in plain yuan.
pub(crate) fn yearly_table(
    r: &YearlyReport,
    columns: Columns,
    lang: Lang,
) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head: Vec<String> = [
        "customer_reports.group.rep",
        "customer_reports.grade",
        "customer_reports.customers",
        "customer_reports.ordered",
        "customer_reports.revenue",
        "customer_reports.collected",
    ]
    .iter()
    .map(|k| lang.t(k).to_string())
    .collect();
    head.extend(period_heads(columns, lang));
    let all = lang.t("customer_reports.all_reps").to_string();
    let total = lang.t("call_stats.total").to_string();
    let line = |who: &str, grade: String, f: &YearFigures| {
        let mut v = vec![
            who.to_string(),
            grade,
            f.customers.to_string(),
            f.ordered.to_string(),
            yuan_plain(f.revenue_fen),
            yuan_plain(f.collected_fen),
        ];
        v.extend(period_values(f, columns).into_iter().map(yuan_plain));
        v
    };
    let mut rows: Vec<Vec<String>> = r
        .by_grade
        .iter()
        .map(|g| line(&all, grade_label(g.grade.as_deref(), lang), &g.figures))
        .collect();
    rows.push(line(&all, total.clone(), &r.totals));
    for rep in &r.by_rep {
        let name = rep
            .rep_name
            .clone()
            .unwrap_or_else(|| lang.t("customer_reports.no_rep").to_string());
        for g in &rep.grades {
            rows.push(line(
                &name,
                grade_label(g.grade.as_deref(), lang),
                &g.figures,
            ));
        }
        rows.push(line(&name, total.clone(), &rep.figures));
    }
    (head, rows)
}

/// The headers of the period columns: `Q1`…`Q4` or `1月`…`12月` / `Jan`…`Dec`.
pub fn period_heads(columns: Columns, lang: Lang) -> Vec<String> {
    match columns {
        Columns::Quarter => (1..=4).map(|q| format!("Q{q}")).collect(),
        Columns::Month => (1..=12)
            .map(|m| lang.t(&format!("customer_reports.month.{m}")).to_string())
            .collect(),
    }
}

/// The revenue of each period column, in 分.
pub fn period_values(f: &YearFigures, columns: Columns) -> Vec<i64> {
    match columns {
        Columns::Quarter => f.revenue_by_quarter.to_vec(),
        Columns::Month => f.revenue_by_month.to_vec(),
    }
}

/// This year in the organisation's zone (the pages' default).
pub(crate) async fn this_year(state: &AppState) -> ApiResult<i32> {
    use chrono::Datelike;
    Ok(call_stats::today(&state.db, now()).await?.date.year())
}
