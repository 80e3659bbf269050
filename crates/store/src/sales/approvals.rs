//! Discount approval (优惠销售申请): a price below the writer's limit waits for a decision —
//! the supervisor of the writer's team up to the supervisor's limit, the admin beyond it. Each
//! request, approval and refusal is audited and notified (to the deciders, then to the writer).

use chrono::{DateTime, Utc};
use leadline_domain::sales::{ApprovalLevel, DiscountLimits};
use leadline_domain::{Role, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use super::{MAX_NOTE, orders};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The notification a decider gets for a new request, and the writer for a decision.
pub const DISCOUNT_REQUESTED: &str = "discount_requested";
pub const DISCOUNT_DECIDED: &str = "discount_decided";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DiscountRequest {
    pub id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub total_fen: i64,
    pub requested_by: UserId,
    pub requester_name: String,
    pub reason: String,
    pub discount_bp: i64,
    /// supervisor | admin
    pub level: String,
    /// pending | approved | rejected | withdrawn
    pub status: String,
    pub decided_by: Option<UserId>,
    pub decider_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT d.id, d.order_id, o.customer_id, c.name AS customer_name, o.total_fen, \
    d.requested_by, ru.display_name AS requester_name, d.reason, d.discount_bp, d.level, d.status, \
    d.decided_by, du.display_name AS decider_name, d.decided_at, d.decision_note, d.created_at \
    FROM discount_requests d JOIN orders o ON o.id = d.order_id JOIN customers c ON c.id = o.customer_id \
    JOIN users ru ON ru.id = d.requested_by LEFT JOIN users du ON du.id = d.decided_by";

/// Notifies who decides requests at `level` from `requester`: the supervisors of the
/// requester's team for the supervisor's level (the admins when the team has none, or the
/// requester has no team), the admins beyond it. Returns how many were notified.
async fn notify_deciders(
    tx: &mut impl Tx,
    requester: UserId,
    level: ApprovalLevel,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<u64> {
    let args = [
        Arg::I64(requester.0),
        Arg::Text(DISCOUNT_REQUESTED.into()),
        Arg::Json(payload),
        Arg::Time(now),
    ];
    let mut n = 0;
    if level == ApprovalLevel::Supervisor {
        n = tx
            .execute(
                "INSERT INTO notifications (user_id, kind, payload, created_at) \
                 SELECT ts.user_id, $2, $3, $4 FROM team_supervisors ts \
                 JOIN users r ON r.team_id = ts.team_id JOIN users s ON s.id = ts.user_id \
                 WHERE r.id = $1 AND s.active = TRUE AND s.id <> $1",
                &args,
            )
            .await?;
    }
    if n == 0 {
        n = tx
            .execute(
                "INSERT INTO notifications (user_id, kind, payload, created_at) \
                 SELECT id, $2, $3, $4 FROM users WHERE role = 'admin' AND active = TRUE AND id <> $1",
                &args,
            )
            .await?;
    }
    Ok(n)
}

/// Writes a request for order `order` and notifies who must decide it.
pub(crate) async fn request(
    tx: &mut impl Tx,
    viewer: &Viewer,
    order: i64,
    reason: &str,
    discount_bp: i64,
    level: ApprovalLevel,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id = tx
        .fetch_one(
            "INSERT INTO discount_requests (order_id, requested_by, reason, discount_bp, level, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
            &[
                Arg::I64(order),
                Arg::I64(viewer.user_id.0),
                Arg::Text(reason.into()),
                Arg::I64(discount_bp),
                Arg::Text(level.code().into()),
                Arg::Time(now),
            ],
        )
        .await?
        .i64(0)?;
    audit_step(
        tx,
        id,
        viewer.user_id,
        "request",
        json!({
            "order_id": order, "reason": reason, "discount_bp": discount_bp, "level": level.code(),
        }),
        now,
    )
    .await?;
    let payload = json!({
        "request_id": id, "order_id": order, "discount_bp": discount_bp, "level": level.code(),
    });
    notify_deciders(tx, viewer.user_id, level, payload, now).await?;
    Ok(id)
}

async fn audit_step(
    tx: &mut impl Tx,
    id: i64,
    actor: UserId,
    action: &'static str,
    after: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "discount_request",
            entity_id: id,
            actor: Some(actor),
            action,
            before: None,
            after: Some(after),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

/// A notification for `user` (no lead; what it is about in the payload).
pub(crate) async fn notify(
    tx: &mut impl Tx,
    user: i64,
    kind: &str,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO notifications (user_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)",
        &[
            Arg::I64(user),
            Arg::Text(kind.into()),
            Arg::Json(payload),
            Arg::Time(now),
        ],
    )
    .await?;
    Ok(())
}

/// The requests of one order, oldest first.
pub async fn for_order(db: &Db, order: i64) -> Result<Vec<DiscountRequest>> {
    let sql = format!("{SELECT} WHERE d.order_id = $1 ORDER BY d.id");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(order)
        .fetch_all(pool)
        .await?))
}

/// The pending requests `viewer` is to decide, oldest first: every one for an admin, those at
/// the supervisor's level from the teams a supervisor supervises; for anyone else their own.
pub async fn pending_for(db: &Db, viewer: &Viewer) -> Result<Vec<DiscountRequest>> {
    let me = viewer.user_id.0;
    let scope = match viewer.role {
        Role::Admin => "TRUE".to_string(),
        Role::Supervisor => format!(
            "(d.level = 'supervisor' AND ru.team_id IN (SELECT team_id FROM team_supervisors WHERE user_id = {me}) \
             AND d.requested_by <> {me})"
        ),
        Role::Agent | Role::Sales | Role::Finance => format!("d.requested_by = {me}"),
    };
    let sql = format!("{SELECT} WHERE d.status = 'pending' AND {scope} ORDER BY d.id LIMIT 500");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?))
}

/// One request, for someone who may see its order.
pub async fn get(db: &Db, viewer: &Viewer, id: i64) -> Result<DiscountRequest> {
    let sql = format!("{SELECT} WHERE d.id = $1");
    let r: Option<DiscountRequest> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?);
    let r = r.ok_or(StoreError::NotFound)?;
    // Whoever may see the order's customer may see its requests.
    orders::get(db, viewer, r.order_id).await?;
    Ok(r)
}

/// Approves (the order is then confirmed) or rejects (it goes back to draft) a pending request,
/// with a note (required to reject). 403 for someone who may not decide it (a supervisor of
/// another team, or above the supervisor's level), 409 `request_decided` when decided already.
pub async fn decide(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    approve: bool,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DiscountRequest> {
    let note = match (approve, note.map(str::trim).filter(|n| !n.is_empty())) {
        (false, None) => return Err(StoreError::invalid("note", "required")),
        (_, Some(n)) if n.chars().count() > MAX_NOTE => {
            return Err(StoreError::invalid("note", "too_long"));
        }
        (_, n) => n.map(str::to_string),
    };
    let v = viewer.clone();
    in_tx!(db, |tx| decide_body(tx, v, id, approve, note, now))?;
    crate::notify::announce(db, crate::notify::Change::notice(None));
    get(db, viewer, id).await
}

async fn decide_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    id: i64,
    approve: bool,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = tx
        .fetch_optional(
            "SELECT d.order_id, d.requested_by, d.level, d.status, r.team_id FROM discount_requests d \
             JOIN users r ON r.id = d.requested_by WHERE d.id = $1",
            &[Arg::I64(id)],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    let (order, requester, level) = (
        row.i64(0)?,
        UserId(row.i64(1)?),
        orders::level_of(&row.text(2)?, id)?,
    );
    let team = row.opt_i64(4)?;
    let (customer, status, _) = orders::lock(tx, order).await?;
    let may = DiscountLimits::may_decide(viewer.role, level)
        && requester != viewer.user_id
        && (viewer.role == Role::Admin
            || team.is_some_and(|t| viewer.supervised_teams.iter().any(|s| s.0 == t)));
    if !may {
        return Err(StoreError::Forbidden);
    }
    let req_status = tx
        .fetch_one(
            "SELECT status FROM discount_requests WHERE id = $1",
            &[Arg::I64(id)],
        )
        .await?
        .text(0)?;
    if req_status != "pending" || status != "awaiting_approval" {
        return Err(StoreError::Conflict("request_decided"));
    }
    let outcome = if approve { "approved" } else { "rejected" };
    tx.execute(
        "UPDATE discount_requests SET status = $2, decided_by = $3, decided_at = $4, decision_note = $5 \
         WHERE id = $1",
        &[
            Arg::I64(id),
            Arg::Text(outcome.into()),
            Arg::I64(viewer.user_id.0),
            Arg::Time(now),
            Arg::OptText(note.clone()),
        ],
    )
    .await?;
    audit_step(
        tx,
        id,
        viewer.user_id,
        if approve { "approve" } else { "reject" },
        json!({ "status": outcome, "note": note, "order_id": order }),
        now,
    )
    .await?;
    if approve {
        orders::set_confirmed(tx, order, customer, viewer.user_id, now).await?;
    } else {
        tx.execute(
            "UPDATE orders SET status = 'draft', updated_at = $2, version = version + 1 WHERE id = $1",
            &[Arg::I64(order), Arg::Time(now)],
        )
        .await?;
    }
    notify(
        tx,
        requester.0,
        DISCOUNT_DECIDED,
        json!({
            "request_id": id, "order_id": order, "status": outcome, "note": note,
        }),
        now,
    )
    .await?;
    Ok(())
}
