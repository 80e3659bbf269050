//! The yearly customer analysis (年度客户分析): a year's customers by grade, by rep (their
//! owner) and grade, and by revenue band, with the year's revenue (confirmed orders by
//! `confirmed_at`) and collections (payments by `paid_at`) per month of the organisation's
//! zone, in 分. A customer counts when it existed in the year (created before its end, not
//! deleted); its grade is its grade today (grades are kept current, not as history).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use leadline_domain::customer_reports::{
    REVENUE_BANDS_FEN, YEARS, month_bounds, revenue_band, scope,
};
use leadline_domain::{UserId, Viewer};
use serde::Serialize;

use super::{check, rows_condition};
use crate::{Db, Result, StoreError, db_run};

/// A year's figures of a set of customers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct YearFigures {
    pub customers: i64,
    /// Customers with a confirmed order in the year.
    pub ordered: i64,
    pub revenue_fen: i64,
    pub collected_fen: i64,
    /// January to December.
    pub revenue_by_month: [i64; 12],
    pub collected_by_month: [i64; 12],
    /// Q1 to Q4.
    pub revenue_by_quarter: [i64; 4],
    pub collected_by_quarter: [i64; 4],
}

impl YearFigures {
    fn add(&mut self, c: &CustomerYear) {
        self.customers += 1;
        let revenue: i64 = c.revenue.iter().sum();
        self.ordered += i64::from(c.ordered);
        self.revenue_fen += revenue;
        self.collected_fen += c.collected.iter().sum::<i64>();
        for m in 0..12 {
            self.revenue_by_month[m] += c.revenue[m];
            self.collected_by_month[m] += c.collected[m];
            self.revenue_by_quarter[m / 3] += c.revenue[m];
            self.collected_by_quarter[m / 3] += c.collected[m];
        }
    }
}

/// One grade's line; `grade` None: not graded yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GradeRow {
    pub grade: Option<String>,
    #[serde(flatten)]
    pub figures: YearFigures,
}

/// One rep's customers, in all and by grade; `rep_id` None: customers in a pool (no owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepRow {
    pub rep_id: Option<UserId>,
    pub rep_name: Option<String>,
    #[serde(flatten)]
    pub figures: YearFigures,
    pub grades: Vec<GradeRow>,
}

/// One revenue band: customers whose year's revenue is in `[from_fen, to_fen)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BandRow {
    pub band: usize,
    pub from_fen: i64,
    /// None for the last band.
    pub to_fen: Option<i64>,
    pub customers: i64,
    pub revenue_fen: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct YearlyReport {
    pub zone: String,
    pub year: i32,
    pub rep_id: Option<UserId>,
    /// Grades A, B, C…, then the ungraded.
    pub by_grade: Vec<GradeRow>,
    pub by_rep: Vec<RepRow>,
    pub bands: Vec<BandRow>,
    pub totals: YearFigures,
}

/// A customer as read: id, grade, owner's id and name.
type CustomerRow = (i64, Option<String>, Option<i64>, Option<String>);

/// What one customer did in the year.
struct CustomerYear {
    grade: Option<String>,
    rep: (Option<UserId>, Option<String>),
    ordered: bool,
    revenue: [i64; 12],
    collected: [i64; 12],
}

/// `CASE` giving the month (1–12) of `col` between the bounds `$1..$13`.
fn month_case(col: &str) -> String {
    let mut s = String::from("CAST(CASE");
    for m in 1..12 {
        s.push_str(&format!(" WHEN {col} < ${} THEN {m}", m + 1));
    }
    s.push_str(" ELSE 12 END AS BIGINT)");
    s
}

/// The analysis of `year` for `viewer`, all the reps they may read or only `rep`.
pub async fn customers_yearly(
    db: &Db,
    viewer: &Viewer,
    year: i32,
    rep: Option<UserId>,
    zone: Tz,
) -> Result<YearlyReport> {
    if !YEARS.contains(&year) {
        return Err(StoreError::invalid("year", "out_of_range"));
    }
    let scope = scope(viewer);
    check(db, &scope, None, rep).await?;
    let cond = rows_condition(&scope, None, rep);
    let bounds = month_bounds(year, zone).ok_or(StoreError::invalid("year", "out_of_range"))?;
    let from = "FROM customers c LEFT JOIN users u ON u.id = c.owner_id";
    let live = "c.deleted_at IS NULL AND c.created_at < $13";
    let customers_sql = format!(
        "SELECT c.id, c.grade, u.id, u.display_name {from} \
         WHERE c.deleted_at IS NULL AND c.created_at < $1{cond} ORDER BY c.id"
    );
    let orders_sql = format!(
        "SELECT c.id, {}, CAST(SUM(o.total_fen) AS BIGINT) {from} JOIN orders o ON o.customer_id = c.id \
         WHERE {live}{cond} AND o.status = 'confirmed' AND o.confirmed_at >= $1 AND o.confirmed_at < $13 \
         GROUP BY c.id, 2",
        month_case("o.confirmed_at")
    );
    let paid_sql = format!(
        "SELECT c.id, {}, CAST(SUM(p.amount_fen) AS BIGINT) {from} JOIN payments p ON p.customer_id = c.id \
         WHERE {live}{cond} AND p.paid_at >= $1 AND p.paid_at < $13 GROUP BY c.id, 2",
        month_case("p.paid_at")
    );
    let customers: Vec<CustomerRow> = fetch(db, &customers_sql, &bounds[12..]).await?;
    let orders: Vec<(i64, i64, i64)> = fetch(db, &orders_sql, &bounds).await?;
    let paid: Vec<(i64, i64, i64)> = fetch(db, &paid_sql, &bounds).await?;

    let mut years: BTreeMap<i64, CustomerYear> = customers
        .into_iter()
        .map(|(id, grade, rep_id, rep_name)| {
            let c = CustomerYear {
                grade,
                rep: (rep_id.map(UserId), rep_name),
                ordered: false,
                revenue: [0; 12],
                collected: [0; 12],
            };
            (id, c)
        })
        .collect();
    let month = |m: i64| (m.clamp(1, 12) - 1) as usize;
    for (id, m, fen) in orders {
        if let Some(c) = years.get_mut(&id) {
            c.revenue[month(m)] += fen;
            c.ordered = true;
        }
    }
    for (id, m, fen) in paid {
        if let Some(c) = years.get_mut(&id) {
            c.collected[month(m)] += fen;
        }
    }

    let mut totals = YearFigures::default();
    let mut grades: BTreeMap<Option<String>, YearFigures> = BTreeMap::new();
    type RepKey = (Option<String>, Option<UserId>);
    let mut reps: BTreeMap<RepKey, (YearFigures, BTreeMap<Option<String>, YearFigures>)> =
        BTreeMap::new();
    let mut bands: Vec<BandRow> = REVENUE_BANDS_FEN
        .iter()
        .enumerate()
        .map(|(band, from_fen)| BandRow {
            band,
            from_fen: *from_fen,
            to_fen: REVENUE_BANDS_FEN.get(band + 1).copied(),
            customers: 0,
            revenue_fen: 0,
        })
        .collect();
    for c in years.values() {
        totals.add(c);
        grades.entry(c.grade.clone()).or_default().add(c);
        let r = reps.entry((c.rep.1.clone(), c.rep.0)).or_default();
        r.0.add(c);
        r.1.entry(c.grade.clone()).or_default().add(c);
        let revenue: i64 = c.revenue.iter().sum();
        let b = &mut bands[revenue_band(revenue)];
        b.customers += 1;
        b.revenue_fen += revenue;
    }
    Ok(YearlyReport {
        zone: zone.name().to_string(),
        year,
        rep_id: rep,
        by_grade: grade_rows(grades),
        by_rep: reps
            .into_iter()
            .map(|((rep_name, rep_id), (figures, grades))| RepRow {
                rep_id,
                rep_name,
                figures,
                grades: grade_rows(grades),
            })
            .collect(),
        bands,
        totals,
    })
}

/// Graded first (A, B, C), the ungraded last.
fn grade_rows(grades: BTreeMap<Option<String>, YearFigures>) -> Vec<GradeRow> {
    let mut rows: Vec<GradeRow> = grades
        .into_iter()
        .map(|(grade, figures)| GradeRow { grade, figures })
        .collect();
    rows.sort_by_key(|r| (r.grade.is_none(), r.grade.clone()));
    rows
}

/// Runs `sql` with `bounds` as `$1, $2, …`.
async fn fetch<T>(db: &Db, sql: &str, bounds: &[DateTime<Utc>]) -> Result<Vec<T>>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    Ok(db_run!(db, |pool| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()));
        for b in bounds {
            q = q.bind(*b);
        }
        q.fetch_all(pool).await?
    }))
}
