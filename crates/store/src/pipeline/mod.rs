//! The sales pipeline (issue 23): opportunities on a board of configurable stages with their
//! stage history, field visits and the day's route plan, and customer grades with the "due for
//! contact" list. Everything is reached through the customer it belongs to, by the one
//! visibility rule of customers.

pub mod grades;
pub mod opportunities;
pub mod stages;
pub mod visits;

use leadline_domain::{CustomerId, Role, Viewer};

use crate::db::tx::Tx;
use crate::{Db, Result, db_run};

/// The SQL condition "`viewer` may see the customer aliased `c`": the customers module's one
/// rendering of the rule (every customer for finance); the viewer's id written as a number.
pub(crate) fn visible_customer(viewer: &Viewer, c: &str) -> String {
    crate::customers::visible_customers(viewer, c, |id| id.0.to_string())
}

/// The customer may be changed by `viewer`: hidden is `NotFound`, read-only `Forbidden` (the
/// customers module's one check).
pub(crate) async fn require_edit(tx: &mut impl Tx, viewer: &Viewer, customer: i64) -> Result<()> {
    crate::customers::may_edit(tx, viewer, CustomerId(customer)).await
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
