//! The customer card's history and timeline: status and ownership changes, and one list of the
//! calls of the linked leads, visits, opportunities, orders and payments, newest first. Both
//! take a [`Customer`], which only [`super::get`] gives: what it shows was checked visible.

use chrono::{DateTime, Utc};
use leadline_domain::LeadId;
use serde::Serialize;

use super::Customer;
use crate::{Db, Result, db_run};

/// Most items each source contributes to the timeline.
const PER_SOURCE: i64 = 100;

/// One change of the customer's status, owner or grade.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor_name: Option<String>,
    pub to_name: Option<String>,
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    pub lead_id: Option<LeadId>,
    pub reason: Option<String>,
}

/// The customer's status and ownership history, oldest first.
pub async fn history(db: &Db, customer: &Customer) -> Result<Vec<HistoryEntry>> {
    let rows: Vec<HistoryEntry> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT e.at, e.action, a.display_name AS actor_name, t.display_name AS to_name, \
             e.from_value, e.to_value, e.lead_id, e.reason FROM customer_events e \
             LEFT JOIN users a ON a.id = e.actor_id LEFT JOIN users t ON t.id = e.to_user \
             WHERE e.customer_id = $1 ORDER BY e.id",
        )
        .bind(customer.id.0)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}

/// One thing that happened with the customer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineItem {
    /// call | visit | opportunity | order | payment
    pub kind: &'static str,
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who: the caller, the visitor, the owner, the person who recorded the payment.
    pub who: Option<String>,
    /// A code: the call's disposition, the visit's status, the opportunity's stage, the
    /// order's status, the payment's method.
    pub code: Option<String>,
    /// Free text: the call's or visit's notes, the opportunity's title.
    pub text: Option<String>,
    pub amount_fen: Option<i64>,
    /// The opportunity stage's configured labels.
    pub label_zh: Option<String>,
    pub label_en: Option<String>,
}

type ItemRow = (
    i64,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// Each source as the same eight columns: id, at, who, code, text, amount, label_zh, label_en.
const SOURCES: [(&str, &str); 5] = [
    (
        "call",
        "SELECT c.id, c.started_at, u.display_name, c.disposition, c.notes, CAST(NULL AS BIGINT), \
         CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM calls c JOIN leads l ON l.id = c.lead_id \
         LEFT JOIN users u ON u.id = c.agent_id WHERE l.customer_id = $1 \
         ORDER BY c.started_at DESC LIMIT $2",
    ),
    (
        "visit",
        "SELECT v.id, COALESCE(v.at, v.created_at), u.display_name, v.status, v.notes, \
         CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM visits v \
         LEFT JOIN users u ON u.id = v.user_id WHERE v.customer_id = $1 AND v.status <> 'cancelled' \
         ORDER BY COALESCE(v.at, v.created_at) DESC LIMIT $2",
    ),
    (
        "opportunity",
        "SELECT o.id, o.created_at, u.display_name, s.code, o.title, o.amount_fen, s.label_zh, \
         s.label_en FROM opportunities o JOIN opportunity_stages s ON s.id = o.stage_id \
         LEFT JOIN users u ON u.id = o.owner_id WHERE o.customer_id = $1 AND o.deleted_at IS NULL \
         ORDER BY o.created_at DESC LIMIT $2",
    ),
    (
        "order",
        "SELECT o.id, o.created_at, u.display_name, o.status, o.notes, o.total_fen, \
         CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM orders o LEFT JOIN users u ON u.id = o.owner_id \
         WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT $2",
    ),
    (
        "payment",
        "SELECT p.id, p.paid_at, u.display_name, p.method, p.notes, p.amount_fen, \
         CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM payments p LEFT JOIN users u ON u.id = p.recorded_by \
         WHERE p.customer_id = $1 ORDER BY p.paid_at DESC LIMIT $2",
    ),
];

/// The customer's timeline, newest first: calls of every linked lead, visits, opportunities,
/// orders and payments (at most [`PER_SOURCE`] of each).
pub async fn timeline(db: &Db, customer: &Customer) -> Result<Vec<TimelineItem>> {
    let mut items = Vec::new();
    for (kind, sql) in SOURCES {
        let rows: Vec<ItemRow> = db_run!(db, |pool| {
            sqlx::query_as(sql)
                .bind(customer.id.0)
                .bind(PER_SOURCE)
                .fetch_all(pool)
                .await?
        });
        items.extend(rows.into_iter().map(
            |(id, at, who, code, text, amount_fen, label_zh, label_en)| TimelineItem {
                kind,
                id,
                at,
                who,
                code,
                text: text.filter(|t| !t.is_empty()),
                amount_fen,
                label_zh,
                label_en,
            },
        ));
    }
    items.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    Ok(items)
}
