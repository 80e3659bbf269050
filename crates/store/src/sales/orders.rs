//! Orders (订单): written from the product list with agreed prices and a delivery date, by
//! someone who may change the customer. A line below the writer's discount limit makes the
//! order wait for approval (`awaiting_approval`, with a discount request and its reason)
//! instead of being confirmed; a confirmed order owes its total by its payment plan.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use leadline_domain::sales::{ApprovalLevel, DiscountLimits};
use leadline_domain::sales_receivables::{self as recv, PlanProblem};
use leadline_domain::{CustomerId, Role, UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::customer_condition;
use super::lines::{self, LineInput, Priced, StoredLine};
use super::{MAX_NOTE, approvals, day_text, local_day, receivables};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, customers, db_run, in_tx};

/// An order as asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewOrder {
    pub lines: Vec<LineInput>,
    #[serde(default)]
    pub delivery_date: Option<NaiveDate>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Why a price is below the writer's limit: required exactly when one is.
    #[serde(default)]
    pub discount_reason: Option<String>,
    /// The payment plan; by default one instalment [`recv::DEFAULT_TERM_DAYS`] days after the
    /// delivery date (or the order's day).
    #[serde(default)]
    pub instalments: Vec<PlanInput>,
    /// Instead of `instalments`: the total in `count` monthly instalments from a first due
    /// date, split evenly to the 分 with the odd 分 on the last.
    #[serde(default)]
    pub even_plan: Option<EvenPlan>,
    #[serde(default)]
    pub opportunity_id: Option<i64>,
}

/// A plan of `count` monthly instalments from `first_due_date`, the total split evenly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvenPlan {
    pub count: u32,
    pub first_due_date: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInput {
    pub due_date: NaiveDate,
    pub amount_fen: i64,
}

/// What a list shows of an order.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OrderSummary {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    /// draft | awaiting_approval | confirmed | cancelled
    pub status: String,
    pub delivery_date: Option<String>,
    pub total_fen: i64,
    pub returned_fen: i64,
    pub paid_fen: i64,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl OrderSummary {
    /// What is still to be paid (a confirmed order only; below zero: a credit).
    pub fn owed_fen(&self) -> i64 {
        if self.status == "confirmed" {
            recv::owed_fen(self.total_fen, self.returned_fen, self.paid_fen)
        } else {
            0
        }
    }
}

/// An order with its lines, plan, requests, returns and payments.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    #[serde(flatten)]
    pub summary: OrderSummary,
    pub owed_fen: i64,
    pub notes: String,
    pub lines: Vec<StoredLine>,
    pub instalments: Vec<receivables::Instalment>,
    pub discount_requests: Vec<approvals::DiscountRequest>,
    pub returns: Vec<receivables::ReturnRow>,
    pub payments: Vec<receivables::PaymentRow>,
}

pub(crate) const SUMMARY: &str = "SELECT o.id, o.customer_id, c.name AS customer_name, o.owner_id, \
    u.display_name AS owner_name, o.status, o.delivery_date, o.total_fen, \
    CAST(COALESCE((SELECT SUM(r.amount_fen) FROM returns r WHERE r.order_id = o.id), 0) AS BIGINT) AS returned_fen, \
    CAST(COALESCE((SELECT SUM(p.amount_fen) FROM payments p WHERE p.order_id = o.id), 0) AS BIGINT) AS paid_fen, \
    o.created_at, o.confirmed_at FROM orders o JOIN customers c ON c.id = o.customer_id \
    LEFT JOIN users u ON u.id = o.owner_id WHERE c.deleted_at IS NULL";

/// The discount limits per role (`discount_limits`).
pub(crate) async fn limits(tx: &mut impl Tx) -> Result<DiscountLimits> {
    let mut map = std::collections::HashMap::new();
    for role in Role::ALL {
        if let Some(r) = tx
            .fetch_optional(
                "SELECT max_discount_bp FROM discount_limits WHERE role = $1",
                &[Arg::Text(role.as_str().to_string())],
            )
            .await?
        {
            map.insert(role, r.i64(0)?);
        }
    }
    Ok(DiscountLimits(map))
}

/// Writes an order on customer `customer` for `viewer`: confirmed at once, or waiting for the
/// discount's approval. 404 for a customer the viewer may not see, 403 for one they may only
/// read, 422 for unknown products, bad quantities or prices, a plan that does not add up, or a
/// discount without a reason.
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    customer: i64,
    new: &NewOrder,
    now: DateTime<Utc>,
) -> Result<Order> {
    let (v, new) = (viewer.clone(), new.clone());
    let zone = crate::call_stats::org_zone(db).await?;
    let id = in_tx!(db, |tx| create_body(
        tx,
        v,
        customer,
        new,
        None,
        (now, zone)
    ))?;
    // A discount beyond the rep's own limit asks the deciders.
    crate::notify::announce(db, crate::notify::Change::notice(None));
    get(db, viewer, id).await
}

/// The body of [`create`], also used when a quotation becomes an order (`quotation`).
pub(crate) async fn create_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    customer: i64,
    new: NewOrder,
    quotation: Option<i64>,
    (now, zone): (DateTime<Utc>, Tz),
) -> Result<i64> {
    if viewer.role == Role::Finance {
        customers::may_read(tx, &viewer, CustomerId(customer)).await?;
        return Err(StoreError::Forbidden);
    }
    customers::may_edit(tx, &viewer, CustomerId(customer)).await?;
    if let Some(opportunity) = new.opportunity_id {
        // An opportunity of another customer, deleted or unknown: named, not a foreign-key 500.
        let found = tx
            .fetch_optional(
                "SELECT id FROM opportunities WHERE id = $1 AND customer_id = $2 AND deleted_at IS NULL",
                &[Arg::I64(opportunity), Arg::I64(customer)],
            )
            .await?;
        if found.is_none() {
            return Err(StoreError::invalid("opportunity_id", "not_found"));
        }
    }
    let priced = lines::price(tx, &new.lines).await?;
    let total = lines::total(&priced);
    let deepest = lines::deepest_bp(&priced);
    let level = limits(tx).await?.approval_needed(viewer.role, deepest);
    let reason = match level {
        Some(_) => Some(super::required_text(
            "discount_reason",
            new.discount_reason.as_deref(),
            MAX_NOTE,
        )?),
        None => None,
    };
    let plan = plan(&new, total, local_day(now, zone))?;
    let notes = new.notes.as_deref().unwrap_or("").trim().to_string();
    if notes.chars().count() > MAX_NOTE {
        return Err(StoreError::invalid("notes", "too_long"));
    }
    let owner = tx
        .fetch_one(
            "SELECT owner_id FROM customers WHERE id = $1",
            &[Arg::I64(customer)],
        )
        .await?
        .opt_i64(0)?
        .unwrap_or(viewer.user_id.0);
    let status = if level.is_some() {
        "awaiting_approval"
    } else {
        "confirmed"
    };
    let confirmed = level.is_none();
    let id = tx
        .fetch_one(
            "INSERT INTO orders (customer_id, opportunity_id, quotation_id, owner_id, status, delivery_date, \
             total_fen, notes, confirmed_at, confirmed_by, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            &[
                Arg::I64(customer),
                Arg::OptI64(new.opportunity_id),
                Arg::OptI64(quotation),
                Arg::I64(owner),
                Arg::Text(status.into()),
                Arg::OptText(new.delivery_date.map(day_text)),
                Arg::I64(total),
                Arg::Text(notes),
                Arg::OptTime(confirmed.then_some(now)),
                Arg::OptI64(confirmed.then_some(viewer.user_id.0)),
                Arg::I64(viewer.user_id.0),
                Arg::Time(now),
            ],
        )
        .await?
        .i64(0)?;
    lines::insert(tx, "order_lines", id, &priced).await?;
    for (seq, (due, amount)) in plan.iter().enumerate() {
        tx.execute(
            "INSERT INTO payment_instalments (order_id, customer_id, seq, due_date, amount_fen, \
             paid_fen, open_fen) VALUES ($1, $2, $3, $4, $5, 0, $5)",
            &[
                Arg::I64(id),
                Arg::I64(customer),
                Arg::I64(i64::try_from(seq).unwrap_or(i64::MAX) + 1),
                Arg::Text(day_text(*due)),
                Arg::I64(*amount),
            ],
        )
        .await?;
    }
    audit_order(tx, id, viewer.user_id, "create", &priced, status, now).await?;
    if let (Some(level), Some(reason)) = (level, reason) {
        approvals::request(tx, &viewer, id, &reason, deepest, level, now).await?;
    } else {
        mark_customer_active(tx, customer).await?;
    }
    Ok(id)
}

/// The plan asked for (instalments, or an even split), or the default one; checked to add up to
/// the total with no due date before today.
fn plan(new: &NewOrder, total: i64, today: NaiveDate) -> Result<Vec<(NaiveDate, i64)>> {
    let plan: Vec<(NaiveDate, i64)> = match (&new.even_plan, new.instalments.is_empty()) {
        (Some(_), false) => return Err(StoreError::invalid("instalments", "plan_ambiguous")),
        (Some(even), true) => {
            if !(1..=recv::MAX_INSTALMENTS).contains(&even.count) {
                return Err(StoreError::invalid("plan_count", "plan_count_invalid"));
            }
            if even.first_due_date < today {
                return Err(StoreError::invalid("plan_first_due", "plan_date_past"));
            }
            recv::even_plan(total, even.count, even.first_due_date)
        }
        (None, true) if total == 0 => Vec::new(),
        (None, true) => vec![(recv::default_due_date(new.delivery_date, today), total)],
        (None, false) => new
            .instalments
            .iter()
            .map(|p| (p.due_date, p.amount_fen))
            .collect(),
    };
    recv::check_plan(total, &plan, today)
        .map_err(|p: PlanProblem| StoreError::invalid("instalments", p.code()))?;
    Ok(plan)
}

async fn audit_order(
    tx: &mut impl Tx,
    id: i64,
    actor: UserId,
    action: &'static str,
    lines: &[Priced],
    status: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "order",
            entity_id: id,
            actor: Some(actor),
            action,
            before: None,
            after: Some(json!({
                "status": status,
                "total_fen": lines::total(lines),
                "lines": lines.iter().map(|p| json!({
                    "product_id": p.product_id, "quantity": p.line.quantity,
                    "list_price_fen": p.line.list_price_fen, "unit_price_fen": p.line.unit_price_fen,
                })).collect::<Vec<_>>(),
            })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

/// A customer who has ordered is active (a prospect until then).
pub(crate) async fn mark_customer_active(tx: &mut impl Tx, customer: i64) -> Result<()> {
    tx.execute(
        "UPDATE customers SET status = 'active' WHERE id = $1 AND status = 'prospect'",
        &[Arg::I64(customer)],
    )
    .await?;
    Ok(())
}

/// An order `viewer` may see (its customer visible), in full.
pub async fn get(db: &Db, viewer: &Viewer, id: i64) -> Result<Order> {
    let cond = customer_condition(viewer, "c");
    let sql = format!("{SUMMARY} AND o.id = $1 AND {cond}");
    const LINES: &str = "SELECT l.id, l.product_id, p.name AS product_name, l.quantity, l.list_price_fen, \
        l.unit_price_fen, l.discount_fen, l.line_total_fen, \
        CAST(COALESCE((SELECT SUM(r.quantity) FROM return_lines r WHERE r.order_line_id = l.id), 0) AS BIGINT) AS returned_quantity \
        FROM order_lines l \
        JOIN products p ON p.id = l.product_id WHERE l.order_id = $1 ORDER BY l.position, l.id";
    let (summary, notes, lines): (Option<OrderSummary>, Option<String>, Vec<StoredLine>) =
        db_run!(db, |pool| {
            (
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?,
                sqlx::query_scalar("SELECT notes FROM orders WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?,
                sqlx::query_as(LINES).bind(id).fetch_all(pool).await?,
            )
        });
    let summary = summary.ok_or(StoreError::NotFound)?;
    let instalments = receivables::instalments(db, &summary).await?;
    Ok(Order {
        owed_fen: summary.owed_fen(),
        notes: notes.unwrap_or_default(),
        lines,
        instalments,
        discount_requests: approvals::for_order(db, id).await?,
        returns: receivables::returns_of(db, id).await?,
        payments: receivables::payments_of(db, id).await?,
        summary,
    })
}

/// Orders `viewer` may see, newest first: of one customer, or all with `status`.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    customer: Option<i64>,
    status: Option<&str>,
) -> Result<Vec<OrderSummary>> {
    let mut sql = crate::db::sql::Sql::new(SUMMARY);
    sql.push(" AND ");
    sql.push(&customer_condition(viewer, "c"));
    if let Some(c) = customer {
        sql.push_bind(" AND o.customer_id = ?", Arg::I64(c));
    }
    if let Some(s) = status {
        sql.push_bind(" AND o.status = ?", Arg::Text(s.into()));
    }
    sql.push(" ORDER BY o.id DESC LIMIT 500");
    Ok(db_run!(db, |pool| crate::bind_args!(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.text.clone())),
        sql.args
    )
    .fetch_all(pool)
    .await?))
}

/// Confirms an order: 200 when confirmed already (repeat), 409 `approval_pending` while its
/// discount waits, `discount_rejected` after a refusal, `order_cancelled` when cancelled.
pub async fn confirm(db: &Db, viewer: &Viewer, id: i64, now: DateTime<Utc>) -> Result<Order> {
    let v = viewer.clone();
    in_tx!(db, |tx| confirm_body(tx, v, id, now))?;
    get(db, viewer, id).await
}

/// Locks an order (PostgreSQL `FOR UPDATE`) and returns (customer, status, total).
pub(crate) async fn lock(tx: &mut impl Tx, id: i64) -> Result<(i64, String, i64)> {
    let sql = format!(
        "SELECT customer_id, status, total_fen FROM orders WHERE id = $1{}",
        crate::db::tx::for_update(tx)
    );
    let row = tx
        .fetch_optional(&sql, &[Arg::I64(id)])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((row.i64(0)?, row.text(1)?, row.i64(2)?))
}

async fn confirm_body(tx: &mut impl Tx, viewer: Viewer, id: i64, now: DateTime<Utc>) -> Result<()> {
    let (customer, status, _) = lock(tx, id).await?;
    customers::may_edit(tx, &viewer, CustomerId(customer)).await?;
    if viewer.role == Role::Finance {
        return Err(StoreError::Forbidden);
    }
    match status.as_str() {
        "confirmed" => Ok(()),
        "awaiting_approval" => Err(StoreError::Conflict("approval_pending")),
        "cancelled" => Err(StoreError::Conflict("order_cancelled")),
        _ => {
            let last = tx
                .fetch_optional(
                    "SELECT status FROM discount_requests WHERE order_id = $1 ORDER BY id DESC LIMIT 1",
                    &[Arg::I64(id)],
                )
                .await?;
            if let Some(r) = last
                && r.text(0)? != "approved"
            {
                return Err(StoreError::Conflict("discount_rejected"));
            }
            set_confirmed(tx, id, customer, viewer.user_id, now).await
        }
    }
}

/// Marks an order confirmed (its plan now owed) and its customer active.
pub(crate) async fn set_confirmed(
    tx: &mut impl Tx,
    id: i64,
    customer: i64,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE orders SET status = 'confirmed', confirmed_at = $2, confirmed_by = $3, updated_at = $2, \
         version = version + 1 WHERE id = $1",
        &[Arg::I64(id), Arg::Time(now), Arg::I64(by.0)],
    )
    .await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "order",
            entity_id: id,
            actor: Some(by),
            action: "confirm",
            before: None,
            after: Some(json!({ "status": "confirmed" })),
            at: now,
        }
        .args(),
    )
    .await?;
    mark_customer_active(tx, customer).await
}

/// Cancels an order not yet confirmed (a pending discount request is withdrawn). A confirmed
/// order is not cancelled (409 `order_confirmed`): goods come back as a return.
pub async fn cancel(db: &Db, viewer: &Viewer, id: i64, now: DateTime<Utc>) -> Result<Order> {
    let v = viewer.clone();
    in_tx!(db, |tx| cancel_body(tx, v, id, now))?;
    get(db, viewer, id).await
}

async fn cancel_body(tx: &mut impl Tx, viewer: Viewer, id: i64, now: DateTime<Utc>) -> Result<()> {
    let (customer, status, _) = lock(tx, id).await?;
    customers::may_edit(tx, &viewer, CustomerId(customer)).await?;
    if viewer.role == Role::Finance {
        return Err(StoreError::Forbidden);
    }
    match status.as_str() {
        "confirmed" => return Err(StoreError::Conflict("order_confirmed")),
        "cancelled" => return Ok(()),
        _ => {}
    }
    tx.execute(
        "UPDATE orders SET status = 'cancelled', cancelled_at = $2, updated_at = $2, version = version + 1 \
         WHERE id = $1",
        &[Arg::I64(id), Arg::Time(now)],
    )
    .await?;
    tx.execute(
        "UPDATE discount_requests SET status = 'withdrawn' WHERE order_id = $1 AND status = 'pending'",
        &[Arg::I64(id)],
    )
    .await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "order",
            entity_id: id,
            actor: Some(viewer.user_id),
            action: "cancel",
            before: Some(json!({ "status": status })),
            after: Some(json!({ "status": "cancelled" })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

/// The level a request is decided at, as stored.
pub(crate) fn level_of(s: &str, row: i64) -> Result<ApprovalLevel> {
    ApprovalLevel::parse(s)
        .ok_or_else(|| StoreError::corrupt("discount_requests", row, format!("level {s:?}")))
}
