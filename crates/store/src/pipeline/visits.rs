//! Field visits (拜访): recorded like calls (when, who, result) with the market information reps
//! report, planned into a day's route (客户路序) that the rep reorders and prints as the day's
//! customer cards. A visit done moves the customer's last contact and its next due contact.

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::pipeline::{contact_due_at, visit_result};
use leadline_domain::{Role, UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{require_edit, visible_customer};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The longest free text of a visit.
pub const MAX_TEXT: usize = 2000;

/// A visit as the customer's timeline and the plan show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Visit {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub contact_id: Option<i64>,
    pub user_id: i64,
    pub user_name: String,
    pub status: String,
    pub planned_day: Option<String>,
    pub route_order: Option<i64>,
    pub at: Option<DateTime<Utc>>,
    pub duration_min: Option<i64>,
    pub result: Option<String>,
    pub notes: String,
    pub quality_view: Option<String>,
    pub price_view: Option<String>,
    pub other_brands: Option<String>,
    pub competitor_moves: Option<String>,
}

const SELECT: &str = "SELECT v.id, v.customer_id, c.name AS customer_name, v.contact_id, v.user_id, \
    u.display_name AS user_name, v.status, v.planned_day, v.route_order, v.at, v.duration_min, v.result, \
    v.notes, v.quality_view, v.price_view, v.other_brands, v.competitor_moves \
    FROM visits v JOIN customers c ON c.id = v.customer_id JOIN users u ON u.id = v.user_id \
    WHERE c.deleted_at IS NULL";

/// A visit done, or the completion of a planned one (`visit_id`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VisitInput {
    pub customer_id: Option<i64>,
    /// A planned visit of the caller's now done.
    pub visit_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// When it took place; by default now.
    pub at: Option<DateTime<Utc>>,
    pub duration_min: Option<i64>,
    /// met | not_met | order | follow_up | other
    pub result: String,
    #[serde(default)]
    pub notes: String,
    pub quality_view: Option<String>,
    pub price_view: Option<String>,
    pub other_brands: Option<String>,
    pub competitor_moves: Option<String>,
}

fn text(field: &str, v: &Option<String>) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > MAX_TEXT => Err(StoreError::invalid(field, "too_long")),
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// The visits of a customer `viewer` may see, newest first (planned ones by their day).
pub async fn of_customer(db: &Db, viewer: &Viewer, customer: i64) -> Result<Vec<Visit>> {
    if !super::may_see(db, viewer, customer).await? {
        return Err(StoreError::NotFound);
    }
    let sql = format!(
        "{SELECT} AND v.customer_id = $1 ORDER BY COALESCE(v.planned_day, '') DESC, v.at DESC, v.id DESC LIMIT 500"
    );
    Ok(db_run!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(customer)
            .fetch_all(p)
            .await?
    }))
}

/// Records a visit done by `viewer` (or completes their planned one): the customer's last
/// contact moves to its time and its next contact falls due by its grade's frequency. Returns
/// the visit's id.
pub async fn record(
    db: &Db,
    viewer: &Viewer,
    input: &VisitInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let result = visit_result(input.result.trim())
        .ok_or_else(|| StoreError::invalid("result", "invalid"))?;
    let at = input.at.unwrap_or(now);
    if at > now + chrono::TimeDelta::minutes(5) {
        return Err(StoreError::invalid("at", "in_future"));
    }
    if input.duration_min.is_some_and(|d| !(0..=1440).contains(&d)) {
        return Err(StoreError::invalid("duration_min", "out_of_range"));
    }
    let notes = text("notes", &Some(input.notes.clone()))?.unwrap_or_default();
    let market = [
        text("quality_view", &input.quality_view)?,
        text("price_view", &input.price_view)?,
        text("other_brands", &input.other_brands)?,
        text("competitor_moves", &input.competitor_moves)?,
    ];
    let (viewer, input) = (viewer.clone(), input.clone());
    in_tx!(db, |tx| async move {
        let customer = match (input.visit_id, input.customer_id) {
            (Some(v), _) => {
                let row = tx
                    .fetch_optional(
                        "SELECT customer_id FROM visits WHERE id = $1 AND user_id = $2 AND status = 'planned'",
                        &[Arg::I64(v), Arg::I64(viewer.user_id.0)],
                    )
                    .await?
                    .ok_or(StoreError::NotFound)?;
                row.i64(0)?
            }
            (None, Some(c)) => c,
            (None, None) => return Err(StoreError::invalid("customer_id", "required")),
        };
        require_edit(tx, &viewer, customer).await?;
        let args = |first: Arg| {
            vec![
                first,
                Arg::OptI64(input.contact_id),
                Arg::Time(at),
                Arg::OptI64(input.duration_min),
                Arg::Text(result.to_string()),
                Arg::Text(notes.clone()),
                Arg::OptText(market[0].clone()),
                Arg::OptText(market[1].clone()),
                Arg::OptText(market[2].clone()),
                Arg::OptText(market[3].clone()),
                Arg::Time(now),
                Arg::I64(viewer.user_id.0),
            ]
        };
        let id = match input.visit_id {
            Some(v) => {
                tx.execute(
                    "UPDATE visits SET status = 'done', contact_id = COALESCE($2, contact_id), at = $3, \
                     duration_min = $4, result = $5, notes = $6, quality_view = $7, price_view = $8, \
                     other_brands = $9, competitor_moves = $10, updated_at = $11 WHERE id = $1 AND user_id = $12",
                    &args(Arg::I64(v)),
                )
                .await?;
                v
            }
            None => tx
                .fetch_one(
                    "INSERT INTO visits (customer_id, contact_id, at, duration_min, result, notes, quality_view, \
                     price_view, other_brands, competitor_moves, created_at, updated_at, user_id, created_by, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $12, 'done') RETURNING id",
                    &args(Arg::I64(customer)),
                )
                .await?
                .i64(0)?,
        };
        contacted(tx, customer, at, now).await?;
        tx.execute(
            audit::INSERT,
            &AuditEntry {
                entity: "visit",
                entity_id: id,
                actor: Some(viewer.user_id),
                action: "record",
                before: None,
                after: Some(json!({"customer_id": customer, "result": result, "at": at})),
                at: now,
            }
            .args(),
        )
        .await?;
        Ok(id)
    })
}

/// The customer was contacted at `at` (a call or a visit): its last contact moves forward
/// and its next contact falls due by its grade's frequency (ungraded: no due date).
pub(crate) async fn contacted(
    tx: &mut impl Tx,
    customer: i64,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = tx
        .fetch_one(
            "SELECT c.last_contact_at, g.contact_every_days FROM customers c \
             LEFT JOIN grade_levels g ON g.code = c.grade WHERE c.id = $1",
            &[Arg::I64(customer)],
        )
        .await?;
    let last = row.opt_time(0)?.map_or(at, |l| l.max(at));
    let due = row
        .opt_i64(1)?
        .map(|every| contact_due_at(Some(last), now, every));
    tx.execute(
        "UPDATE customers SET last_contact_at = $2, contact_due_at = $3 WHERE id = $1",
        &[Arg::I64(customer), Arg::Time(last), Arg::OptTime(due)],
    )
    .await?;
    Ok(())
}

/// Plans a visit to a customer `viewer` may change on `day`, at the end of their route.
pub async fn plan(
    db: &Db,
    viewer: &Viewer,
    customer: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<i64> {
    let day = day.format("%Y-%m-%d").to_string();
    let viewer = viewer.clone();
    in_tx!(db, |tx| async move {
        require_edit(tx, &viewer, customer).await?;
        let next = tx
            .fetch_one(
                "SELECT COALESCE(MAX(route_order), 0) + 1 FROM visits WHERE user_id = $1 AND planned_day = $2 \
                 AND status = 'planned'",
                &[Arg::I64(viewer.user_id.0), Arg::Text(day.clone())],
            )
            .await?
            .i64(0)?;
        tx.fetch_one(
            "INSERT INTO visits (customer_id, user_id, status, planned_day, route_order, created_by, created_at, updated_at) \
             VALUES ($1, $2, 'planned', $3, $4, $2, $5, $5) RETURNING id",
            &[
                Arg::I64(customer),
                Arg::I64(viewer.user_id.0),
                Arg::Text(day),
                Arg::I64(next),
                Arg::Time(now),
            ],
        )
        .await?
        .i64(0)
    })
}

/// A stop of the day's route, with what the printed customer card shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Stop {
    pub visit_id: i64,
    pub route_order: i64,
    pub status: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub grade: Option<String>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub contact_due_at: Option<DateTime<Utc>>,
    pub contact_name: Option<String>,
    pub contact_title: Option<String>,
    pub contact_phone: Option<String>,
    pub customer_notes: String,
}

/// Whose plan `viewer` may read: their own; a supervisor a member of a team they supervise,
/// an admin anyone's.
async fn check_plan_reader(db: &Db, viewer: &Viewer, user: UserId) -> Result<()> {
    if user == viewer.user_id || viewer.role == Role::Admin {
        return Ok(());
    }
    if viewer.role == Role::Supervisor {
        let team: Option<i64> = db_run!(db, |p| {
            sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(p)
                .await?
                .flatten()
        });
        if team.is_some_and(|t| viewer.supervised_teams.iter().any(|s| s.0 == t)) {
            return Ok(());
        }
    }
    Err(StoreError::Forbidden)
}

/// The visits `user` planned for `day` in route order, each with its customer's card.
pub async fn day_plan(db: &Db, viewer: &Viewer, user: UserId, day: NaiveDate) -> Result<Vec<Stop>> {
    check_plan_reader(db, viewer, user).await?;
    Ok(db_run!(db, |p| {
        sqlx::query_as(
            "SELECT v.id AS visit_id, COALESCE(v.route_order, 0) AS route_order, v.status, c.id AS customer_id, \
             c.name AS customer_name, c.address, c.city, c.industry, c.grade, c.last_contact_at, c.contact_due_at, \
             (SELECT cc.name FROM customer_contacts cc WHERE cc.customer_id = c.id AND cc.deleted_at IS NULL \
                ORDER BY cc.is_primary DESC, cc.position, cc.id LIMIT 1) AS contact_name, \
             (SELECT cc.title FROM customer_contacts cc WHERE cc.customer_id = c.id AND cc.deleted_at IS NULL \
                ORDER BY cc.is_primary DESC, cc.position, cc.id LIMIT 1) AS contact_title, \
             (SELECT ph.raw FROM customer_contact_phones ph JOIN customer_contacts cc ON cc.id = ph.contact_id \
                WHERE ph.customer_id = c.id AND cc.deleted_at IS NULL \
                ORDER BY cc.is_primary DESC, cc.position, cc.id, ph.position LIMIT 1) AS contact_phone, \
             c.notes AS customer_notes \
             FROM visits v JOIN customers c ON c.id = v.customer_id \
             WHERE v.user_id = $1 AND v.planned_day = $2 AND v.status <> 'cancelled' AND c.deleted_at IS NULL \
             ORDER BY v.route_order, v.id",
        )
        .bind(user.0)
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_all(p)
        .await?
    }))
}

/// Puts `viewer`'s planned visits of `day` in the order of `visit_ids` (客户路序): every
/// planned visit of that day, each once.
pub async fn reorder(
    db: &Db,
    viewer: &Viewer,
    day: NaiveDate,
    visit_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<()> {
    let day = day.format("%Y-%m-%d").to_string();
    let mut have: Vec<i64> = db_run!(db, |p| {
        sqlx::query_scalar(
            "SELECT id FROM visits WHERE user_id = $1 AND planned_day = $2 AND status = 'planned'",
        )
        .bind(viewer.user_id.0)
        .bind(day.clone())
        .fetch_all(p)
        .await?
    });
    let mut want = visit_ids.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    if have != want {
        return Err(StoreError::invalid("visit_ids", "invalid"));
    }
    let (ids, me) = (visit_ids.to_vec(), viewer.user_id);
    in_tx!(db, |tx| async move {
        for (i, id) in ids.iter().enumerate() {
            tx.execute(
                "UPDATE visits SET route_order = $3, updated_at = $4 WHERE id = $1 AND user_id = $2",
                &[
                    Arg::I64(*id),
                    Arg::I64(me.0),
                    Arg::I64(i as i64 + 1),
                    Arg::Time(now),
                ],
            )
            .await?;
        }
        Ok(())
    })
}

/// Moves one of `viewer`'s planned visits of `day` one place up (`-1`) or down (`1`) the
/// route: the form post behind the plan's arrows.
pub async fn step(
    db: &Db,
    viewer: &Viewer,
    day: NaiveDate,
    visit: i64,
    by: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let plan = day_plan(db, viewer, viewer.user_id, day).await?;
    let mut ids: Vec<i64> = plan
        .iter()
        .filter(|s| s.status == "planned")
        .map(|s| s.visit_id)
        .collect();
    let Some(i) = ids.iter().position(|v| *v == visit) else {
        return Err(StoreError::NotFound);
    };
    let j = i as i64 + by.signum();
    if j < 0 || j >= ids.len() as i64 {
        return Ok(());
    }
    ids.swap(i, j as usize);
    reorder(db, viewer, day, &ids, now).await
}

/// The latest visits done on the customers `viewer` may see, newest first (a supervisor's
/// view of the market information the team reports).
pub async fn visible(db: &Db, viewer: &Viewer, limit: i64) -> Result<Vec<Visit>> {
    let sql = format!(
        "{SELECT} AND v.status = 'done' AND {} ORDER BY v.at DESC, v.id DESC LIMIT {}",
        visible_customer(viewer, "c"),
        limit.clamp(1, 500)
    );
    Ok(db_run!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(p)
            .await?
    }))
}
