//! What a viewer may do with one customer inside a write: the facts of the one rule
//! (`Viewer::customer_access`: owner, the owner's team, backup, pool) read from the customer
//! row in one query. The customers, sales and pipeline modules all check through here; the
//! lists use the SQL rendering of the same rule ([`super::visible_customers`]).

use leadline_domain::{Access, CustomerId, Holder, PoolId, TeamId, UserId, Viewer};

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Result, StoreError};

/// The facts that decide who may see a live customer.
const HOLDER: &str = "SELECT c.owner_id, o.team_id, c.backup_owner_id, c.backup_may_edit, c.pool_id \
    FROM customers c LEFT JOIN users o ON o.id = c.owner_id WHERE c.id = $1 AND c.deleted_at IS NULL";

/// What `viewer` may do with `customer`; a missing or deleted customer is `Hidden`.
pub(crate) async fn access(
    tx: &mut impl Tx,
    viewer: &Viewer,
    customer: CustomerId,
) -> Result<Access> {
    let Some(row) = tx.fetch_optional(HOLDER, &[Arg::I64(customer.0)]).await? else {
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

/// [`access`] that must allow reading: hidden is `NotFound`.
pub(crate) async fn may_read(
    tx: &mut impl Tx,
    viewer: &Viewer,
    customer: CustomerId,
) -> Result<()> {
    match access(tx, viewer, customer).await? {
        Access::Hidden => Err(StoreError::NotFound),
        Access::Read | Access::Edit => Ok(()),
    }
}

/// [`access`] that must allow changing: hidden is `NotFound`, read-only `Forbidden`.
pub(crate) async fn may_edit(
    tx: &mut impl Tx,
    viewer: &Viewer,
    customer: CustomerId,
) -> Result<()> {
    match access(tx, viewer, customer).await? {
        Access::Hidden => Err(StoreError::NotFound),
        Access::Read => Err(StoreError::Forbidden),
        Access::Edit => Ok(()),
    }
}
