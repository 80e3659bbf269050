//! New customers per rep, team or month (新开拓客户报表): the customers created (converted from
//! a lead, or entered) in a range of the organisation's days, credited to the rep the customer
//! was converted to (its current owner when it has no conversion), counted by origin, with
//! their confirmed orders (by `confirmed_at`) and payments (by `paid_at`) inside the same
//! range, in 分.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use leadline_domain::call_stats::{DateRange, day_start, stats_date};
use leadline_domain::customer_reports::{NewGrouping, Origin, scope};
use leadline_domain::{CustomerId, Role, TeamId, UserId, Viewer};
use serde::Serialize;

use super::{check, rows_condition};
use crate::{Db, Result, db_run};

/// What the report asks for.
#[derive(Debug, Clone)]
pub struct NewCustomersQuery {
    pub range: DateRange,
    pub grouping: NewGrouping,
    pub team: Option<TeamId>,
    pub rep: Option<UserId>,
}

/// The figures of a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NewFigures {
    /// Customers opened.
    pub customers: i64,
    /// Of them: converted by an agent and handed over, converted by the rep's side, entered.
    pub from_agent: i64,
    pub own_lead: i64,
    pub direct: i64,
    /// Of them, those with a confirmed order in the range (their first orders).
    pub ordered: i64,
    /// Their confirmed orders in the range, and what those orders total, in 分.
    pub orders: i64,
    pub revenue_fen: i64,
    /// What they paid in the range, in 分.
    pub collected_fen: i64,
}

impl NewFigures {
    fn add(&mut self, c: &OpenedCustomer) {
        self.customers += 1;
        match c.origin {
            Origin::FromAgent => self.from_agent += 1,
            Origin::OwnLead => self.own_lead += 1,
            Origin::Direct => self.direct += 1,
        }
        self.ordered += i64::from(c.orders > 0);
        self.orders += c.orders;
        self.revenue_fen += c.revenue_fen;
        self.collected_fen += c.collected_fen;
    }
}

/// The group a row stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum NewKey {
    /// Customers credited to nobody (no conversion, no owner) form one row with no rep.
    Rep {
        rep_name: Option<String>,
        rep_id: Option<UserId>,
    },
    /// Reps without a team form one row with no team.
    Team {
        team_name: Option<String>,
        team_id: Option<TeamId>,
    },
    Month {
        month: NaiveDate,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRow {
    #[serde(flatten)]
    pub key: NewKey,
    #[serde(flatten)]
    pub figures: NewFigures,
}

/// One customer opened in the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenedCustomer {
    pub customer_id: CustomerId,
    pub name: String,
    pub rep_id: Option<UserId>,
    pub rep_name: Option<String>,
    pub team_id: Option<TeamId>,
    pub team_name: Option<String>,
    /// The organisation's day it was opened.
    pub opened_on: NaiveDate,
    pub origin: Origin,
    pub orders: i64,
    pub revenue_fen: i64,
    pub collected_fen: i64,
    /// The organisation's day of its first confirmed order in the range.
    pub first_order_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewCustomersReport {
    pub zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: NewGrouping,
    pub rows: Vec<NewRow>,
    pub totals: NewFigures,
    /// The customers themselves, oldest first.
    pub customers: Vec<OpenedCustomer>,
}

#[derive(sqlx::FromRow)]
struct OpenedRow {
    id: i64,
    name: String,
    rep_id: Option<i64>,
    rep_name: Option<String>,
    team_id: Option<i64>,
    team_name: Option<String>,
    created_at: DateTime<Utc>,
    lead_id: Option<i64>,
    creator_role: Option<String>,
}

/// The customers opened in `[$1, $2)`, each joined to its rep `u`: the rep it was converted to
/// (a customer has at most one `convert` event, written when it is made), else its owner.
const OPENED_FROM: &str = "FROM customers c \
    LEFT JOIN customer_events ev ON ev.customer_id = c.id AND ev.action = 'convert' \
    LEFT JOIN users u ON u.id = COALESCE(ev.to_user, c.owner_id)";
const OPENED_WHERE: &str =
    "WHERE c.deleted_at IS NULL AND c.created_at >= $1 AND c.created_at < $2";

/// The report for `viewer` over `q.range` in the organisation's `zone`.
pub async fn new_customers(
    db: &Db,
    viewer: &Viewer,
    q: &NewCustomersQuery,
    zone: Tz,
) -> Result<NewCustomersReport> {
    let scope = scope(viewer);
    check(db, &scope, q.team, q.rep).await?;
    let cond = rows_condition(&scope, q.team, q.rep);
    let t0 = day_start(q.range.from, zone);
    let t1 = day_start(q.range.to.succ_opt().unwrap_or(q.range.to), zone);
    let sql = format!(
        "SELECT c.id, c.name, u.id AS rep_id, u.display_name AS rep_name, t.id AS team_id, \
         t.name AS team_name, c.created_at, c.lead_id, cb.role AS creator_role \
         {OPENED_FROM} LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN users cb ON cb.id = c.created_by \
         {OPENED_WHERE}{cond} ORDER BY c.created_at, c.id"
    );
    let opened: Vec<OpenedRow> =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(t0)
            .bind(t1)
            .fetch_all(pool)
            .await?);
    let orders_sql = format!(
        "SELECT o.customer_id, COUNT(*), CAST(SUM(o.total_fen) AS BIGINT), MIN(o.confirmed_at) \
         {OPENED_FROM} JOIN orders o ON o.customer_id = c.id {OPENED_WHERE}{cond} \
         AND o.status = 'confirmed' AND o.confirmed_at >= $1 AND o.confirmed_at < $2 \
         GROUP BY o.customer_id"
    );
    let orders: Vec<(i64, i64, i64, DateTime<Utc>)> = db_run!(db, |pool| sqlx::query_as(
        sqlx::AssertSqlSafe(orders_sql.clone())
    )
    .bind(t0)
    .bind(t1)
    .fetch_all(pool)
    .await?);
    let paid_sql = format!(
        "SELECT p.customer_id, CAST(SUM(p.amount_fen) AS BIGINT) \
         {OPENED_FROM} JOIN payments p ON p.customer_id = c.id {OPENED_WHERE}{cond} \
         AND p.paid_at >= $1 AND p.paid_at < $2 GROUP BY p.customer_id"
    );
    let paid: Vec<(i64, i64)> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        paid_sql.clone()
    ))
    .bind(t0)
    .bind(t1)
    .fetch_all(pool)
    .await?);
    let orders: BTreeMap<i64, (i64, i64, DateTime<Utc>)> = orders
        .into_iter()
        .map(|(c, n, fen, first)| (c, (n, fen, first)))
        .collect();
    let paid: BTreeMap<i64, i64> = paid.into_iter().collect();
    let customers: Vec<OpenedCustomer> = opened
        .into_iter()
        .map(|r| {
            let (n, fen, first) = orders
                .get(&r.id)
                .map_or((0, 0, None), |(n, fen, first)| (*n, *fen, Some(*first)));
            OpenedCustomer {
                customer_id: CustomerId(r.id),
                name: r.name,
                rep_id: r.rep_id.map(UserId),
                rep_name: r.rep_name,
                team_id: r.team_id.map(TeamId),
                team_name: r.team_name,
                opened_on: stats_date(r.created_at, zone),
                origin: Origin::of(
                    r.lead_id.is_some(),
                    r.creator_role.as_deref().and_then(Role::parse),
                ),
                orders: n,
                revenue_fen: fen,
                collected_fen: paid.get(&r.id).copied().unwrap_or(0),
                first_order_on: first.map(|f| stats_date(f, zone)),
            }
        })
        .collect();
    let mut groups: BTreeMap<NewKey, NewFigures> = BTreeMap::new();
    let mut totals = NewFigures::default();
    for c in &customers {
        totals.add(c);
        groups.entry(key_of(c, q.grouping)).or_default().add(c);
    }
    Ok(NewCustomersReport {
        zone: zone.name().to_string(),
        from: q.range.from,
        to: q.range.to,
        group_by: q.grouping,
        rows: groups
            .into_iter()
            .map(|(key, figures)| NewRow { key, figures })
            .collect(),
        totals,
        customers,
    })
}

fn key_of(c: &OpenedCustomer, grouping: NewGrouping) -> NewKey {
    match grouping {
        NewGrouping::Rep => NewKey::Rep {
            rep_name: c.rep_name.clone(),
            rep_id: c.rep_id,
        },
        NewGrouping::Team => NewKey::Team {
            team_name: c.team_name.clone(),
            team_id: c.team_id,
        },
        NewGrouping::Month => NewKey::Month {
            month: c.opened_on.with_day(1).unwrap_or(c.opened_on),
        },
    }
}
