//! The customer report pages (issue 24): new customers per rep, team or month (新开拓客户报表)
//! and the yearly customer analysis (年度客户分析), over the reports of
//! `GET /api/v1/reports/new-customers` and `/customers-yearly`, the same tables their CSV and
//! .xlsx files hold, with links to those files.

use askama::Template;
use axum::extract::{RawQuery, State};
use chrono::Datelike;
use leadline_domain::customer_reports::{NewGrouping, band_label, scope};
use leadline_domain::{Role, UserId};
use leadline_store::auth::users;
use leadline_store::reports::new_customers::OpenedCustomer;
use leadline_store::{call_stats, now};

use super::call_reports::{query_string, with_defaults};
use super::sales::yuan;
use super::{Nav, OrPage, PageResult, render};
use crate::AppState;
use crate::api::call_reports::id_param;
use crate::api::customer_reports::{
    Columns, grade_label, new_customers_for, new_table, origin_label, parse_new_query, parse_year,
    period_heads, period_values, this_year, yearly_for,
};
use crate::api::query_pairs;
use crate::auth::{Caller, PageCaller};
use crate::i18n::Lang;

/// One opened customer as shown.
struct CustomerLine {
    id: i64,
    name: String,
    rep: String,
    opened_on: String,
    origin: &'static str,
    orders: i64,
    revenue: String,
    first_order_on: String,
}

impl CustomerLine {
    fn of(c: &OpenedCustomer, l: Lang) -> CustomerLine {
        CustomerLine {
            id: c.customer_id.0,
            name: c.name.clone(),
            rep: c
                .rep_name
                .clone()
                .unwrap_or_else(|| l.t("customer_reports.no_rep").to_string()),
            opened_on: c.opened_on.to_string(),
            origin: origin_label(c.origin, l),
            orders: c.orders,
            revenue: yuan(c.revenue_fen),
            first_order_on: c.first_order_on.map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "customer_reports_new.html")]
struct NewCustomersPage {
    nav: Nav,
    from: String,
    to: String,
    group_by: &'static str,
    groupings: Vec<(&'static str, &'static str)>,
    team: Option<i64>,
    teams: Vec<(i64, String)>,
    zone: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    customers: Vec<CustomerLine>,
    export_query: String,
}

/// The teams the caller may filter by (id, name).
async fn teams_in_view(
    state: &AppState,
    caller: &Caller,
) -> leadline_store::Result<Vec<(i64, String)>> {
    let scope = scope(&caller.viewer);
    Ok(users::list_teams(&state.db)
        .await?
        .into_iter()
        .filter(|t| scope.holds_team(t.id))
        .map(|t| (t.id.0, t.name))
        .collect())
}

/// GET /reports/new-customers: this month so far by default, per rep.
pub async fn new_customers(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let mut pairs = query_pairs(q.as_deref());
    let today = call_stats::today(&state.db, now()).await.or_page(l)?.date;
    with_defaults(
        &mut pairs,
        [
            ("from", today.with_day(1).unwrap_or(today).to_string()),
            ("to", today.to_string()),
            ("group_by", "rep".to_string()),
        ],
    );
    let query = parse_new_query(&pairs).or_page(l)?;
    let report = new_customers_for(&state, &caller, &query)
        .await
        .or_page(l)?;
    let (head, rows) = new_table(&report, l, yuan);
    let mut export = vec![
        ("from".to_string(), report.from.to_string()),
        ("to".to_string(), report.to.to_string()),
        ("group_by".to_string(), report.group_by.code().to_string()),
    ];
    if let Some(t) = query.team {
        export.push(("team_id".into(), t.0.to_string()));
    }
    let p = NewCustomersPage {
        nav: Nav::new(&caller, "/reports/new-customers"),
        from: report.from.to_string(),
        to: report.to.to_string(),
        group_by: report.group_by.code(),
        groupings: NewGrouping::ALL
            .iter()
            .map(|g| {
                (
                    g.code(),
                    l.t(&format!("customer_reports.group.{}", g.code())),
                )
            })
            .collect(),
        team: query.team.map(|t| t.0),
        teams: teams_in_view(&state, &caller).await.or_page(l)?,
        zone: report.zone.clone(),
        head,
        rows,
        customers: report
            .customers
            .iter()
            .map(|c| CustomerLine::of(c, l))
            .collect(),
        export_query: query_string(export),
    };
    Ok(render(&p))
}

/// One line of the yearly page's tables.
struct YearLine {
    label: String,
    customers: i64,
    ordered: i64,
    revenue: String,
    collected: String,
    periods: Vec<String>,
}

impl YearLine {
    fn of(label: String, f: &leadline_store::reports::yearly::YearFigures, c: Columns) -> YearLine {
        YearLine {
            label,
            customers: f.customers,
            ordered: f.ordered,
            revenue: yuan(f.revenue_fen),
            collected: yuan(f.collected_fen),
            periods: period_values(f, c).into_iter().map(yuan).collect(),
        }
    }
}

/// A rep's block: their total line and a line per grade.
struct RepBlock {
    total: YearLine,
    grades: Vec<YearLine>,
}

struct BandLine {
    label: String,
    customers: i64,
    revenue: String,
}

#[derive(Template)]
#[template(path = "customer_reports_yearly.html")]
struct YearlyPage {
    nav: Nav,
    year: i32,
    rep: Option<i64>,
    /// The reps the caller may pick (id, name); empty for a sales rep (only themselves).
    reps: Vec<(i64, String)>,
    columns: &'static str,
    zone: String,
    period_heads: Vec<String>,
    grades: Vec<YearLine>,
    total: YearLine,
    by_rep: Vec<RepBlock>,
    bands: Vec<BandLine>,
    export_query: String,
}

/// The people whose customers the caller may pick: the sales side (reps, supervisors, admins)
/// in their view; none for a sales rep, who sees only their own.
async fn reps_in_view(
    state: &AppState,
    caller: &Caller,
) -> leadline_store::Result<Vec<(i64, String)>> {
    if caller.user.role == Role::Sales {
        return Ok(Vec::new());
    }
    let scope = scope(&caller.viewer);
    Ok(users::list_users(&state.db)
        .await?
        .into_iter()
        .filter(|u| matches!(u.role, Role::Sales | Role::Supervisor | Role::Admin))
        .filter(|u| scope.holds_agent(u.id, u.team_id))
        .map(|u| (u.id.0, u.display_name))
        .collect())
}

/// GET /reports/customers-yearly: this year by default, quarter columns.
pub async fn customers_yearly(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let mut pairs = query_pairs(q.as_deref());
    let year = this_year(&state).await.or_page(l)?;
    with_defaults(&mut pairs, [("year", year.to_string())]);
    let year = parse_year(&pairs).or_page(l)?;
    let rep = id_param(&pairs, "rep_id", "rep_id_invalid")
        .or_page(l)?
        .map(UserId);
    let columns = Columns::parse(&pairs).or_page(l)?;
    let r = yearly_for(&state, &caller, year, rep).await.or_page(l)?;
    let grade = |g: Option<&str>| grade_label(g, l);
    let mut export = vec![
        ("year".to_string(), year.to_string()),
        ("columns".to_string(), columns.code().to_string()),
    ];
    if let Some(id) = rep {
        export.push(("rep_id".into(), id.0.to_string()));
    }
    let p = YearlyPage {
        nav: Nav::new(&caller, "/reports/customers-yearly"),
        year,
        rep: rep.map(|u| u.0),
        reps: reps_in_view(&state, &caller).await.or_page(l)?,
        columns: columns.code(),
        zone: r.zone.clone(),
        period_heads: period_heads(columns, l),
        grades: r
            .by_grade
            .iter()
            .map(|g| YearLine::of(grade(g.grade.as_deref()), &g.figures, columns))
            .collect(),
        total: YearLine::of(l.t("call_stats.total").to_string(), &r.totals, columns),
        by_rep: r
            .by_rep
            .iter()
            .map(|x| RepBlock {
                total: YearLine::of(
                    x.rep_name
                        .clone()
                        .unwrap_or_else(|| l.t("customer_reports.no_rep").to_string()),
                    &x.figures,
                    columns,
                ),
                grades: x
                    .grades
                    .iter()
                    .map(|g| YearLine::of(grade(g.grade.as_deref()), &g.figures, columns))
                    .collect(),
            })
            .collect(),
        bands: r
            .bands
            .iter()
            .map(|b| BandLine {
                label: band_label(b.band, l.code()),
                customers: b.customers,
                revenue: yuan(b.revenue_fen),
            })
            .collect(),
        export_query: query_string(export),
    };
    Ok(render(&p))
}
