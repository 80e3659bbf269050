//! Quotations (报价单): lines at agreed prices for a customer, valid until a day; sent to the
//! customer, accepted or rejected (each step audited); accepted, one becomes an order with the same lines (and the same discount rule: a price below the
//! writer's limit waits for approval).

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::{CustomerId, Role, UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::customer_condition;
use super::lines::{self, LineInput, StoredLine};
use super::orders::{self, NewOrder, PlanInput};
use super::{MAX_NOTE, day_text};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, customers, db_run, in_tx};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewQuotation {
    pub lines: Vec<LineInput>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub opportunity_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Quotation {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner_id: Option<UserId>,
    /// draft | sent | accepted | rejected | ordered
    pub status: String,
    pub valid_until: Option<String>,
    pub total_fen: i64,
    pub notes: String,
    pub order_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub lines: Vec<StoredLine>,
}

const SELECT: &str = "SELECT q.id, q.customer_id, c.name AS customer_name, q.owner_id, q.status, \
    q.valid_until, q.total_fen, q.notes, q.order_id, q.created_at FROM quotations q \
    JOIN customers c ON c.id = q.customer_id WHERE c.deleted_at IS NULL";

/// Writes a quotation for a customer the viewer may change.
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    customer: i64,
    new: &NewQuotation,
    now: DateTime<Utc>,
) -> Result<Quotation> {
    let (v, new) = (viewer.clone(), new.clone());
    let id = in_tx!(db, |tx| create_body(tx, v, customer, new, now))?;
    get(db, viewer, id).await
}

async fn create_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    customer: i64,
    new: NewQuotation,
    now: DateTime<Utc>,
) -> Result<i64> {
    customers::may_edit(tx, &viewer, CustomerId(customer)).await?;
    if viewer.role == Role::Finance {
        return Err(StoreError::Forbidden);
    }
    let priced = lines::price(tx, &new.lines).await?;
    let notes = new.notes.as_deref().unwrap_or("").trim().to_string();
    if notes.chars().count() > MAX_NOTE {
        return Err(StoreError::invalid("notes", "too_long"));
    }
    let id = tx
        .fetch_one(
            "INSERT INTO quotations (customer_id, opportunity_id, owner_id, status, valid_until, total_fen, \
             notes, created_by, created_at, updated_at) VALUES ($1, $2, $3, 'draft', $4, $5, $6, $3, $7, $7) \
             RETURNING id",
            &[
                Arg::I64(customer),
                Arg::OptI64(new.opportunity_id),
                Arg::I64(viewer.user_id.0),
                Arg::OptText(new.valid_until.map(day_text)),
                Arg::I64(lines::total(&priced)),
                Arg::Text(notes),
                Arg::Time(now),
            ],
        )
        .await?
        .i64(0)?;
    lines::insert(tx, "quotation_lines", id, &priced).await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "quotation",
            entity_id: id,
            actor: Some(viewer.user_id),
            action: "create",
            before: None,
            after: Some(json!({ "customer_id": customer, "total_fen": lines::total(&priced) })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(id)
}

/// A quotation the viewer may see, with its lines.
pub async fn get(db: &Db, viewer: &Viewer, id: i64) -> Result<Quotation> {
    let sql = format!(
        "{SELECT} AND q.id = $1 AND {}",
        customer_condition(viewer, "c")
    );
    const LINES: &str = "SELECT l.id, l.product_id, p.name AS product_name, l.quantity, l.list_price_fen, \
        l.unit_price_fen, l.discount_fen, l.line_total_fen FROM quotation_lines l \
        JOIN products p ON p.id = l.product_id WHERE l.quotation_id = $1 ORDER BY l.position, l.id";
    let (q, lines): (Option<Quotation>, Vec<StoredLine>) = db_run!(db, |pool| {
        (
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?,
            sqlx::query_as(LINES).bind(id).fetch_all(pool).await?,
        )
    });
    let mut q = q.ok_or(StoreError::NotFound)?;
    q.lines = lines;
    Ok(q)
}

/// A customer's quotations, newest first.
pub async fn list(db: &Db, viewer: &Viewer, customer: i64) -> Result<Vec<Quotation>> {
    let sql = format!(
        "{SELECT} AND q.customer_id = $1 AND {} ORDER BY q.id DESC LIMIT 200",
        customer_condition(viewer, "c")
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer)
        .fetch_all(pool)
        .await?))
}

/// What the order made from a quotation adds to its lines.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderFromQuotation {
    #[serde(default)]
    pub delivery_date: Option<NaiveDate>,
    #[serde(default)]
    pub discount_reason: Option<String>,
    #[serde(default)]
    pub instalments: Vec<PlanInput>,
}

/// Moves a quotation on (`send`, `accept`, `reject`: `domain::sales::quotation_next`) for
/// someone who may change its customer (not finance); 409 `quotation_state` when its state
/// does not allow it, 422 for an unknown action. Audited.
pub async fn decide(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    action: &str,
    now: DateTime<Utc>,
) -> Result<Quotation> {
    let action: &'static str = ["send", "accept", "reject"]
        .into_iter()
        .find(|a| *a == action)
        .ok_or_else(|| StoreError::invalid("action", "invalid"))?;
    let q = get(db, viewer, id).await?;
    let (v, customer) = (viewer.clone(), q.customer_id);
    in_tx!(db, |tx| decide_body(tx, v, id, customer, action, now))?;
    get(db, viewer, id).await
}

async fn decide_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    id: i64,
    customer: i64,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<()> {
    customers::may_edit(tx, &viewer, CustomerId(customer)).await?;
    if viewer.role == Role::Finance {
        return Err(StoreError::Forbidden);
    }
    let sql = format!(
        "SELECT status FROM quotations WHERE id = $1{}",
        crate::db::tx::for_update(tx)
    );
    let status = tx
        .fetch_optional(&sql, &[Arg::I64(id)])
        .await?
        .ok_or(StoreError::NotFound)?
        .text(0)?;
    let next = leadline_domain::sales::quotation_next(&status, action)
        .ok_or(StoreError::Conflict("quotation_state"))?;
    tx.execute(
        "UPDATE quotations SET status = $2, updated_at = $3 WHERE id = $1",
        &[Arg::I64(id), Arg::Text(next.into()), Arg::Time(now)],
    )
    .await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "quotation",
            entity_id: id,
            actor: Some(viewer.user_id),
            action,
            before: Some(json!({ "status": status })),
            after: Some(json!({ "status": next })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

/// Makes the order of an accepted quotation (once: 409 `quotation_ordered` the second time;
/// 409 `quotation_not_accepted` before the customer accepted it).
pub async fn to_order(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    extra: &OrderFromQuotation,
    now: DateTime<Utc>,
) -> Result<orders::Order> {
    let q = get(db, viewer, id).await?;
    let new = NewOrder {
        lines: q
            .lines
            .iter()
            .map(|l| LineInput {
                product_id: l.product_id,
                quantity: l.quantity,
                unit_price_fen: Some(l.unit_price_fen),
            })
            .collect(),
        delivery_date: extra.delivery_date,
        notes: Some(q.notes.clone()),
        discount_reason: extra.discount_reason.clone(),
        instalments: extra.instalments.clone(),
        even_plan: None,
        opportunity_id: None,
    };
    let (v, customer) = (viewer.clone(), q.customer_id);
    let zone = crate::call_stats::org_zone(db).await?;
    let order = in_tx!(db, |tx| to_order_body(
        tx,
        v,
        id,
        customer,
        new,
        (now, zone)
    ))?;
    orders::get(db, viewer, order).await
}

async fn to_order_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    id: i64,
    customer: i64,
    new: NewOrder,
    (now, zone): (DateTime<Utc>, chrono_tz::Tz),
) -> Result<i64> {
    let sql = format!(
        "SELECT status FROM quotations WHERE id = $1{}",
        crate::db::tx::for_update(tx)
    );
    let status = tx
        .fetch_optional(&sql, &[Arg::I64(id)])
        .await?
        .ok_or(StoreError::NotFound)?
        .text(0)?;
    match status.as_str() {
        "ordered" => return Err(StoreError::Conflict("quotation_ordered")),
        "accepted" => {}
        _ => return Err(StoreError::Conflict("quotation_not_accepted")),
    }
    let order = orders::create_body(tx, viewer, customer, new, Some(id), (now, zone)).await?;
    tx.execute(
        "UPDATE quotations SET status = 'ordered', order_id = $2, updated_at = $3 WHERE id = $1",
        &[Arg::I64(id), Arg::I64(order), Arg::Time(now)],
    )
    .await?;
    Ok(order)
}
