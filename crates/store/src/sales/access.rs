//! Who may see a customer, for sales: the customer's owner, the owner's team, the backup owner
//! and the pool, by the one rule (`Viewer::customer_access`), read here from the customer row.
//! Its SQL rendering for the sales lists and reports is the customers module's
//! ([`customer_condition`]).

use leadline_domain::{Access, Holder, PoolId, TeamId, UserId, Viewer};

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Result, StoreError};

const CUSTOMER: &str = "SELECT c.owner_id, o.team_id, c.backup_owner_id, c.backup_may_edit, c.pool_id, \
    c.deleted_at FROM customers c LEFT JOIN users o ON o.id = c.owner_id WHERE c.id = $1";

/// What `viewer` may do with customer `id`; a missing or deleted customer is `Hidden`.
pub(crate) async fn customer_access(tx: &mut impl Tx, viewer: &Viewer, id: i64) -> Result<Access> {
    let Some(row) = tx.fetch_optional(CUSTOMER, &[Arg::I64(id)]).await? else {
        return Ok(Access::Hidden);
    };
    if row.opt_time(5)?.is_some() {
        return Ok(Access::Hidden);
    }
    let holder = Holder {
        owner: row.opt_i64(0)?.map(UserId),
        owner_team: row.opt_i64(1)?.map(TeamId),
        backup: row.opt_i64(2)?.map(UserId),
        backup_may_edit: row.bool(3)?,
        pool: row.opt_i64(4)?.map(PoolId),
    };
    Ok(viewer.customer_access(&holder))
}

/// [`customer_access`] that must allow reading: hidden is 404.
pub(crate) async fn may_read(tx: &mut impl Tx, viewer: &Viewer, id: i64) -> Result<()> {
    match customer_access(tx, viewer, id).await? {
        Access::Hidden => Err(StoreError::NotFound),
        Access::Read | Access::Edit => Ok(()),
    }
}

/// [`customer_access`] that must allow changing: hidden is 404, read-only 403.
pub(crate) async fn may_edit(tx: &mut impl Tx, viewer: &Viewer, id: i64) -> Result<()> {
    match customer_access(tx, viewer, id).await? {
        Access::Hidden => Err(StoreError::NotFound),
        Access::Read => Err(StoreError::Forbidden),
        Access::Edit => Ok(()),
    }
}

/// The SQL condition "customer aliased `c` is visible to `viewer`" (ids written as numbers):
/// the customers module's one rendering of the rule.
pub fn customer_condition(viewer: &Viewer, c: &str) -> String {
    crate::customers::visible_customers(viewer, c, |id| id.0.to_string())
}
