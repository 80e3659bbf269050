//! The sales pipeline (issue 23): opportunities on a board of configurable stages with their
//! stage history, field visits and the day's route plan, and customer grades with the "due for
//! contact" list. Everything is reached through the customer it belongs to, by the one
//! visibility rule of customers.

pub mod grades;
pub mod opportunities;
pub mod stages;
pub mod visits;

use leadline_domain::{Access, Holder, PoolId, Role, TeamId, UserId, Viewer};

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run};

/// The SQL condition "`viewer` may see the customer aliased `c`": the customers module's one
/// rendering of the rule (every customer for finance); the viewer's id written as a number.
pub(crate) fn visible_customer(viewer: &Viewer, c: &str) -> String {
    crate::customers::visible_customers(viewer, c, |id| id.0.to_string())
}

/// The facts that decide who may see a customer, read in a transaction.
pub(crate) const HOLDER: &str = "SELECT c.owner_id, u.team_id, c.backup_owner_id, c.backup_may_edit, c.pool_id \
    FROM customers c LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = $1 AND c.deleted_at IS NULL";

/// What `viewer` may do with customer `customer` (hidden when it does not exist), in `tx`.
pub(crate) async fn customer_access(
    tx: &mut impl Tx,
    viewer: &Viewer,
    customer: i64,
) -> Result<Access> {
    let Some(row) = tx.fetch_optional(HOLDER, &[Arg::I64(customer)]).await? else {
        return Ok(Access::Hidden);
    };
    let holder = Holder {
        owner: row.opt_i64(0)?.map(UserId),
        owner_team: row.opt_i64(1)?.map(TeamId),
        backup: row.opt_i64(2)?.map(UserId),
        backup_may_edit: row.bool(3)?,
        pool: row.opt_i64(4)?.map(PoolId),
    };
    Ok(viewer.customer_access(&holder))
}

/// The customer may be changed by `viewer`: hidden is `NotFound`, read-only `Forbidden`.
pub(crate) async fn require_edit(tx: &mut impl Tx, viewer: &Viewer, customer: i64) -> Result<()> {
    match customer_access(tx, viewer, customer).await? {
        Access::Edit => Ok(()),
        Access::Read => Err(StoreError::Forbidden),
        Access::Hidden => Err(StoreError::NotFound),
    }
}

/// Whether `viewer` may see customer `customer` (outside a transaction).
pub(crate) async fn may_see(db: &Db, viewer: &Viewer, customer: i64) -> Result<bool> {
    let sql = format!(
        "SELECT c.id FROM customers c WHERE c.id = $1 AND c.deleted_at IS NULL AND {}",
        visible_customer(viewer, "c")
    );
    let found: Option<i64> = db_run!(db, |p| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(customer)
            .fetch_optional(p)
            .await?
    });
    Ok(found.is_some())
}

/// The customers `viewer` may change, by name (the pickers of the board and the visit plan),
/// at most 500.
pub async fn customer_choices(db: &Db, viewer: &Viewer) -> Result<Vec<(i64, String)>> {
    let mut sql = format!(
        "SELECT c.id, c.name FROM customers c WHERE c.deleted_at IS NULL AND {}",
        visible_customer(viewer, "c")
    );
    if viewer.role == Role::Finance {
        sql.push_str(" AND FALSE");
    }
    sql.push_str(" ORDER BY c.name, c.id LIMIT 500");
    Ok(db_run!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(p)
            .await?
    }))
}

#[cfg(test)]
pub(crate) mod tests;
