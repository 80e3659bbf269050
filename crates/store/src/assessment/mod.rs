//! Assessment (月度 / 年度考核, issue 24): per person per month, targets against what was done,
//! the quality score, collision penalties from the ledger, commission from the configured rules
//! (提成规则) and the bonus figure (绩效奖金) they add up to, with a manager's adjustments.
//!
//! Collections are the payments recorded with `paid_at` in the month on orders the person owns
//! (the order's owner, as for the targets' collections); a payment is split over its order's
//! lines pro rata for product rates (see `leadline_domain::commission`).
//!
//! Who does what: the person, the supervisors of their team and admins read a person's month
//! (anyone else: not found); a supervisor of the person's team or an admin adjusts it with a
//! reason and locks a month for a team (supervisors their own teams, admins any or everyone);
//! only an admin unlocks, with a reason. Adjustments, locks and unlocks are audited. A locked
//! month is read from its stored snapshot; adjusting it is refused (conflict).

pub mod compute;
pub mod lock;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use leadline_domain::commission::{BonusParts, CommissionRules};
use leadline_domain::targets::Figures;
use leadline_domain::{FieldProblem, TeamId, UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, write_audit};

pub use compute::live;
pub use lock::{adjust, lock_month, month_table, one, unlock_month, year};

/// The settings key of the commission rules (JSON); unset: no commission.
pub const RULES_KEY: &str = "commission_rules";

/// A manager's adjustment of a month, with its reason.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Adjustment {
    pub id: i64,
    pub amount_fen: i64,
    pub reason: String,
    pub created_by: UserId,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
}

/// Who locked a month and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    pub locked_by: UserId,
    pub locked_at: DateTime<Utc>,
}

/// One person's month.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Assessment {
    pub user_id: UserId,
    pub user_name: String,
    pub team_id: Option<TeamId>,
    /// 'YYYY-MM'
    pub month: String,
    pub target: Figures,
    pub done: Figures,
    /// Reviewed calls in the month and the score in tenths of a percent (none without reviews).
    pub quality_reviews: i64,
    pub quality_tenths: Option<i64>,
    /// Collision cases lost in the month (decisions in force) and their penalties.
    pub penalty_cases: i64,
    /// Collections the commission was computed on.
    pub collected_fen: i64,
    pub bonus: BonusParts,
    /// The bonus figure: commission + fixed amounts − penalties + adjustments.
    pub total_fen: i64,
    pub adjustments: Vec<Adjustment>,
    /// Set when the figures are a locked month's stored snapshot; unset: live figures.
    #[serde(default)]
    pub locked: Option<LockInfo>,
}

/// The commission rules in force. A stored value that does not parse is an error.
pub async fn rules(db: &Db) -> Result<CommissionRules> {
    let v: Option<Json<serde_json::Value>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(RULES_KEY)
    .fetch_optional(pool)
    .await?);
    match v {
        None => Ok(CommissionRules::default()),
        Some(Json(v)) => serde_json::from_value(v).map_err(|e| StoreError::Corrupt {
            table: "settings",
            row: 0,
            what: format!("{RULES_KEY}: {e}"),
        }),
    }
}

/// Stores new commission rules (admins), audited. Product ids must exist.
pub async fn set_rules(
    db: &Db,
    viewer: &Viewer,
    r: &CommissionRules,
    at: DateTime<Utc>,
) -> Result<CommissionRules> {
    if !viewer.role.is_admin() {
        return Err(StoreError::Forbidden);
    }
    if let Some((field, code)) = r.problem() {
        return Err(StoreError::Invalid(vec![FieldProblem { field, code }]));
    }
    for (i, p) in r.products.iter().enumerate() {
        let found: Option<i64> = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM products WHERE id = $1"
        )
        .bind(p.product_id)
        .fetch_optional(pool)
        .await?);
        if found.is_none() {
            return Err(StoreError::invalid(
                &format!("products[{i}].product_id"),
                "not_found",
            ));
        }
    }
    let before = rules(db).await?;
    let value = serde_json::to_value(r).map_err(|e| StoreError::Internal(e.to_string()))?;
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(RULES_KEY)
        .bind(Json(&value))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "setting",
                entity_id: 0,
                actor: Some(viewer.user_id),
                action: "update",
                before: Some(json!({ RULES_KEY: before })),
                after: Some(json!({ RULES_KEY: value })),
                at
            }
        )?;
        tx.commit().await?;
    });
    Ok(r.clone())
}
