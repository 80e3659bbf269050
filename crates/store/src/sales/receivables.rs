//! Receivables (应收账款): an order's payment plan with what is still open of each instalment,
//! returns (退货) that reduce what is owed, payments (收款) recorded by finance — never beyond
//! what is owed, however many arrive at once: the order row is locked (PostgreSQL `FOR UPDATE`;
//! SQLite's one writer) while the sums are read and the payment written — and collection
//! notices (催收单).

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::sales_receivables::{self as recv, AgeBucket, PaymentRefusal, ReturnRefusal};
use leadline_domain::{CustomerId, Role, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use super::ledger;
use super::orders::{self, OrderSummary};
use super::{MAX_NOTE, local_day, parse_day};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, customers, db_run, in_tx};

/// One instalment of a plan with what is still open of it.
#[derive(Debug, Clone, Serialize)]
pub struct Instalment {
    pub id: i64,
    pub seq: i64,
    pub due_date: NaiveDate,
    pub amount_fen: i64,
    pub open_fen: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct InstalmentRow {
    id: i64,
    seq: i64,
    due_date: String,
    amount_fen: i64,
}

/// An order's plan; what is open of each by the domain's rule (returns off the last, payments
/// settling the first), nothing open unless the order is confirmed.
pub async fn instalments(db: &Db, order: &OrderSummary) -> Result<Vec<Instalment>> {
    let rows: Vec<InstalmentRow> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT id, seq, due_date, amount_fen FROM payment_instalments WHERE order_id = $1 ORDER BY seq"
    )
    .bind(order.id)
    .fetch_all(pool)
    .await?
    });
    let amounts: Vec<i64> = rows.iter().map(|r| r.amount_fen).collect();
    let open = if order.status == "confirmed" {
        recv::open_per_instalment(&amounts, order.returned_fen, order.paid_fen)
    } else {
        vec![0; amounts.len()]
    };
    rows.into_iter()
        .zip(open)
        .map(|(r, open_fen)| {
            Ok(Instalment {
                due_date: parse_day("payment_instalments", r.id, &r.due_date)?,
                id: r.id,
                seq: r.seq,
                amount_fen: r.amount_fen,
                open_fen,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReturnRow {
    pub id: i64,
    pub order_id: i64,
    pub amount_fen: i64,
    pub reason: String,
    pub returned_at: DateTime<Utc>,
    pub recorded_by: Option<UserId>,
    pub recorder_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    pub amount_fen: i64,
    pub paid_at: DateTime<Utc>,
    pub method: String,
    pub reference: Option<String>,
    pub notes: String,
    pub recorded_by: UserId,
    pub recorder_name: Option<String>,
}

pub async fn returns_of(db: &Db, order: i64) -> Result<Vec<ReturnRow>> {
    Ok(db_run!(db, |pool| sqlx::query_as(
        "SELECT r.id, r.order_id, r.amount_fen, r.reason, r.returned_at, r.recorded_by, \
         u.display_name AS recorder_name FROM returns r LEFT JOIN users u ON u.id = r.recorded_by \
         WHERE r.order_id = $1 ORDER BY r.id"
    )
    .bind(order)
    .fetch_all(pool)
    .await?))
}

pub(crate) const PAYMENTS: &str = "SELECT p.id, p.order_id, p.customer_id, p.amount_fen, p.paid_at, \
    p.method, p.reference, p.notes, p.recorded_by, u.display_name AS recorder_name FROM payments p \
    LEFT JOIN users u ON u.id = p.recorded_by";

pub async fn payments_of(db: &Db, order: i64) -> Result<Vec<PaymentRow>> {
    let sql = format!("{PAYMENTS} WHERE p.order_id = $1 ORDER BY p.id");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(order)
        .fetch_all(pool)
        .await?))
}

/// The sums of an order's returns and payments, read inside the transaction that holds it.
async fn sums(tx: &mut impl Tx, order: i64) -> Result<(i64, i64)> {
    let row = tx
        .fetch_one(
            "SELECT CAST(COALESCE((SELECT SUM(amount_fen) FROM returns WHERE order_id = $1), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(amount_fen) FROM payments WHERE order_id = $1), 0) AS BIGINT)",
            &[Arg::I64(order)],
        )
        .await?;
    Ok((row.i64(0)?, row.i64(1)?))
}

/// A payment as finance records it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewPayment {
    pub amount_fen: i64,
    /// bank_transfer (default) | cash | cheque | other
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// When the money arrived; now by default.
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
}

pub const METHODS: [&str; 4] = ["bank_transfer", "cash", "cheque", "other"];

/// Records a payment (收款) on a confirmed order: finance or an admin (403 for anyone else,
/// before anything is looked up); 404 for no such order; 409 `order_not_confirmed`; 422
/// `overpayment` beyond what is owed, `invalid_input` for an amount of zero or less.
pub async fn record_payment(
    db: &Db,
    viewer: &Viewer,
    order: i64,
    p: &NewPayment,
    now: DateTime<Utc>,
) -> Result<PaymentRow> {
    if !matches!(viewer.role, Role::Finance | Role::Admin) {
        return Err(StoreError::Forbidden);
    }
    let method = p.method.as_deref().unwrap_or("bank_transfer");
    if !METHODS.contains(&method) {
        return Err(StoreError::invalid("method", "unknown"));
    }
    let reference = p
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let notes = p.notes.as_deref().unwrap_or("").trim().to_string();
    if notes.chars().count() > MAX_NOTE
        || reference.as_ref().is_some_and(|r| r.chars().count() > 200)
    {
        return Err(StoreError::invalid("notes", "too_long"));
    }
    let (v, amount, paid_at, method) = (
        viewer.clone(),
        p.amount_fen,
        p.paid_at.unwrap_or(now),
        method.to_string(),
    );
    let id = in_tx!(db, |tx| payment_body(
        tx, v, order, amount, paid_at, method, reference, notes, now
    ))?;
    let sql = format!("{PAYMENTS} WHERE p.id = $1");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(pool)
        .await?))
}

#[allow(
    clippy::too_many_arguments,
    reason = "one transaction body's inputs, all owned"
)]
async fn payment_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    order: i64,
    amount: i64,
    paid_at: DateTime<Utc>,
    method: String,
    reference: Option<String>,
    notes: String,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (customer, status, total) = orders::lock(tx, order).await?;
    customers::may_read(tx, &viewer, CustomerId(customer)).await?;
    if status != "confirmed" {
        return Err(StoreError::Conflict("order_not_confirmed"));
    }
    let (returned, paid) = sums(tx, order).await?;
    match recv::check_payment(recv::owed_fen(total, returned, paid), amount) {
        Ok(()) => {}
        Err(PaymentRefusal::NotPositive) => {
            return Err(StoreError::invalid("amount_fen", "amount_invalid"));
        }
        Err(PaymentRefusal::Overpayment { .. }) => return Err(StoreError::Refused("overpayment")),
    }
    let id = tx
        .fetch_one(
            "INSERT INTO payments (order_id, customer_id, amount_fen, paid_at, method, reference, notes, \
             recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                Arg::I64(order),
                Arg::I64(customer),
                Arg::I64(amount),
                Arg::Time(paid_at),
                Arg::Text(method.clone()),
                Arg::OptText(reference.clone()),
                Arg::Text(notes),
                Arg::I64(viewer.user_id.0),
                Arg::Time(now),
            ],
        )
        .await?
        .i64(0)?;
    ledger::settle_order(tx, order, returned, paid + amount).await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "payment",
            entity_id: id,
            actor: Some(viewer.user_id),
            action: "create",
            before: None,
            after: Some(json!({
                "order_id": order, "amount_fen": amount, "method": method, "reference": reference,
                "paid_at": paid_at, "owed_before_fen": recv::owed_fen(total, returned, paid),
            })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(id)
}

/// What comes back in a return: an amount (goods not itemised), or units of the order's lines.
#[derive(Debug, Clone)]
pub enum Returned {
    Amount(i64),
    /// `(order line id, quantity)` pairs.
    Lines(Vec<(i64, i64)>),
}

/// Records a return (退货) with its reason on a confirmed order, reducing what it owes: someone
/// who may change the customer, or finance. 422 for an amount of zero or less, beyond what is
/// left of the order (`return_too_large`), or without a reason.
pub async fn record_return(
    db: &Db,
    viewer: &Viewer,
    order: i64,
    amount_fen: i64,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ReturnRow> {
    record_return_of(db, viewer, order, Returned::Amount(amount_fen), reason, now).await
}

/// Records a return of an amount or of order lines. Lines are worth their share of the line's
/// total (`domain::sales_receivables::line_refund_fen`, exact to the 分: returning every unit
/// gives back the line's total); 422 naming `lines.<line id>` for a line not of this order
/// (`unknown`) or a quantity beyond what is left of it (`return_quantity`), `lines` for none.
pub async fn record_return_of(
    db: &Db,
    viewer: &Viewer,
    order: i64,
    returned: Returned,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ReturnRow> {
    let reason = super::required_text("reason", reason, MAX_NOTE)?;
    if let Returned::Lines(lines) = &returned {
        if lines.is_empty() {
            return Err(StoreError::invalid("lines", "required"));
        }
        for (n, (line, _)) in lines.iter().enumerate() {
            if lines[..n].iter().any(|(other, _)| other == line) {
                return Err(StoreError::invalid(&format!("lines.{line}"), "repeated"));
            }
        }
    }
    let v = viewer.clone();
    let id = in_tx!(db, |tx| return_body(tx, v, order, returned, reason, now))?;
    returns_of(db, order)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(StoreError::NotFound)
}

/// The value of returned lines, read under the order's lock: each line's refund and quantity.
async fn line_refunds(
    tx: &mut impl Tx,
    order: i64,
    lines: &[(i64, i64)],
) -> Result<Vec<(i64, i64, i64)>> {
    let mut out = Vec::with_capacity(lines.len());
    for (line, quantity) in lines {
        let row = tx
            .fetch_optional(
                "SELECT l.line_total_fen, l.quantity, \
                 CAST(COALESCE((SELECT SUM(r.quantity) FROM return_lines r WHERE r.order_line_id = l.id), 0) AS BIGINT) \
                 FROM order_lines l WHERE l.id = $1 AND l.order_id = $2",
                &[Arg::I64(*line), Arg::I64(order)],
            )
            .await?
            .ok_or_else(|| StoreError::invalid(&format!("lines.{line}"), "unknown"))?;
        let (total, ordered, before) = (row.i64(0)?, row.i64(1)?, row.i64(2)?);
        let refund = recv::line_refund_fen(total, ordered, before, *quantity)
            .ok_or_else(|| StoreError::invalid(&format!("lines.{line}"), "return_quantity"))?;
        out.push((*line, *quantity, refund));
    }
    Ok(out)
}

async fn return_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    order: i64,
    returned_goods: Returned,
    reason: String,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (customer, status, total) = orders::lock(tx, order).await?;
    if viewer.role == Role::Finance {
        customers::may_read(tx, &viewer, CustomerId(customer)).await?;
    } else {
        customers::may_edit(tx, &viewer, CustomerId(customer)).await?;
    }
    if status != "confirmed" {
        return Err(StoreError::Conflict("order_not_confirmed"));
    }
    let (returned, paid) = sums(tx, order).await?;
    let lines = match &returned_goods {
        Returned::Amount(_) => Vec::new(),
        Returned::Lines(lines) => line_refunds(tx, order, lines).await?,
    };
    let amount = match returned_goods {
        Returned::Amount(a) => a,
        Returned::Lines(_) => lines.iter().map(|(_, _, refund)| refund).sum(),
    };
    match recv::check_return(total, returned, amount) {
        Ok(()) => {}
        Err(ReturnRefusal::NotPositive) => {
            return Err(StoreError::invalid("amount_fen", "amount_invalid"));
        }
        Err(ReturnRefusal::TooLarge { .. }) => {
            return Err(StoreError::invalid("amount_fen", "return_too_large"));
        }
    }
    let id = tx
        .fetch_one(
            "INSERT INTO returns (order_id, customer_id, amount_fen, reason, returned_at, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $5) RETURNING id",
            &[
                Arg::I64(order),
                Arg::I64(customer),
                Arg::I64(amount),
                Arg::Text(reason.clone()),
                Arg::Time(now),
                Arg::I64(viewer.user_id.0),
            ],
        )
        .await?
        .i64(0)?;
    for (line, quantity, refund) in &lines {
        tx.execute(
            "INSERT INTO return_lines (return_id, order_line_id, quantity, amount_fen) VALUES ($1, $2, $3, $4)",
            &[Arg::I64(id), Arg::I64(*line), Arg::I64(*quantity), Arg::I64(*refund)],
        )
        .await?;
    }
    ledger::settle_order(tx, order, returned + amount, paid).await?;
    let audit_lines: Vec<_> = lines.iter().map(|(l, q, r)| json!([l, q, r])).collect();
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "return",
            entity_id: id,
            actor: Some(viewer.user_id),
            action: "create",
            before: None,
            after: Some(json!({ "order_id": order, "amount_fen": amount, "reason": reason, "lines": audit_lines })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(id)
}

/// A collection notice (催收单) as printed.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub id: i64,
    pub order: orders::Order,
    pub amount_due_fen: i64,
    /// What is past due on the day it was issued, by instalment.
    pub overdue: Vec<(Instalment, AgeBucket)>,
    pub issued_by_name: String,
    pub issued_at: DateTime<Utc>,
    pub notes: String,
    pub customer_address: Option<String>,
}

/// Issues a collection notice for what an order still owes (finance or admin; 409
/// `nothing_owed` when it owes nothing).
pub async fn issue_notice(
    db: &Db,
    viewer: &Viewer,
    order: i64,
    notes: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Notice> {
    if !matches!(viewer.role, Role::Finance | Role::Admin) {
        return Err(StoreError::Forbidden);
    }
    let notes = notes.unwrap_or("").trim().to_string();
    if notes.chars().count() > MAX_NOTE {
        return Err(StoreError::invalid("notes", "too_long"));
    }
    let v = viewer.clone();
    let id = in_tx!(db, |tx| notice_body(tx, v, order, notes, now))?;
    notice(db, viewer, id).await
}

async fn notice_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    order: i64,
    notes: String,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (customer, status, total) = orders::lock(tx, order).await?;
    customers::may_read(tx, &viewer, CustomerId(customer)).await?;
    let (returned, paid) = sums(tx, order).await?;
    let owed = recv::owed_fen(total, returned, paid);
    if status != "confirmed" || owed <= 0 {
        return Err(StoreError::Conflict("nothing_owed"));
    }
    let id = tx
        .fetch_one(
            "INSERT INTO collection_notices (order_id, customer_id, amount_due_fen, issued_by, issued_at, notes) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                Arg::I64(order),
                Arg::I64(customer),
                Arg::I64(owed),
                Arg::I64(viewer.user_id.0),
                Arg::Time(now),
                Arg::Text(notes),
            ],
        )
        .await?
        .i64(0)?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "collection_notice",
            entity_id: id,
            actor: Some(viewer.user_id),
            action: "create",
            before: None,
            after: Some(json!({ "order_id": order, "amount_due_fen": owed })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    order_id: i64,
    amount_due_fen: i64,
    issued_by_name: String,
    issued_at: DateTime<Utc>,
    notes: String,
    address: Option<String>,
}

/// A notice, for someone who may see its order.
pub async fn notice(db: &Db, viewer: &Viewer, id: i64) -> Result<Notice> {
    let row: Option<NoticeRow> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT n.order_id, n.amount_due_fen, u.display_name AS issued_by_name, n.issued_at, n.notes, \
         c.address FROM collection_notices n JOIN users u ON u.id = n.issued_by \
         JOIN customers c ON c.id = n.customer_id WHERE n.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    });
    let row = row.ok_or(StoreError::NotFound)?;
    let order = orders::get(db, viewer, row.order_id).await?;
    let day = local_day(row.issued_at, crate::call_stats::org_zone(db).await?);
    let overdue = order
        .instalments
        .iter()
        .filter(|i| i.open_fen > 0 && i.due_date < day)
        .map(|i| (i.clone(), AgeBucket::of(i.due_date, day)))
        .collect();
    Ok(Notice {
        id,
        order,
        amount_due_fen: row.amount_due_fen,
        overdue,
        issued_by_name: row.issued_by_name,
        issued_at: row.issued_at,
        notes: row.notes,
        customer_address: row.address,
    })
}
