//! What is still open of each instalment, kept on the instalment (`paid_fen`, `open_fen`) by
//! the payment and return transactions, so that the unpaid report sums open instalments
//! instead of recomputing every order's payments. The rule is the domain's
//! (`settle_instalments`: returns off the last instalments, payments on the earliest); the SQL
//! below is its set-based copy for the migration's backfill and bulk loads, held to it by a
//! test.

use leadline_domain::sales_receivables::settle_instalments;

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, db_run};

/// Re-settles every instalment from the orders' returns and payments, in one statement
/// (the same text as migration 0024's backfill).
pub const SETTLE_ALL: &str = "WITH sums AS ( \
    SELECT o.id AS order_id, COALESCE(r.fen, 0) AS returned, COALESCE(p.fen, 0) AS paid FROM orders o \
    LEFT JOIN (SELECT order_id, CAST(SUM(amount_fen) AS BIGINT) AS fen FROM returns GROUP BY order_id) r ON r.order_id = o.id \
    LEFT JOIN (SELECT order_id, CAST(SUM(amount_fen) AS BIGINT) AS fen FROM payments GROUP BY order_id) p ON p.order_id = o.id), \
  later AS ( \
    SELECT i.id, i.order_id, i.seq, i.amount_fen, s.returned, s.paid, \
    CAST(COALESCE(SUM(i.amount_fen) OVER (PARTITION BY i.order_id ORDER BY i.seq DESC \
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS after_fen \
    FROM payment_instalments i JOIN sums s ON s.order_id = i.order_id), \
  net AS ( \
    SELECT id, order_id, seq, paid, amount_fen - CASE WHEN returned - after_fen <= 0 THEN 0 \
      WHEN returned - after_fen >= amount_fen THEN amount_fen ELSE returned - after_fen END AS net_fen \
    FROM later), \
  earlier AS ( \
    SELECT id, paid, net_fen, CAST(COALESCE(SUM(net_fen) OVER (PARTITION BY order_id ORDER BY seq \
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS before_fen FROM net), \
  settled AS ( \
    SELECT id, net_fen, CASE WHEN paid - before_fen <= 0 THEN 0 WHEN paid - before_fen >= net_fen \
      THEN net_fen ELSE paid - before_fen END AS paid_fen FROM earlier) \
  UPDATE payment_instalments SET paid_fen = settled.paid_fen, open_fen = settled.net_fen - settled.paid_fen \
  FROM settled WHERE settled.id = payment_instalments.id";

/// [`SETTLE_ALL`] on `db` (after a bulk load that wrote payments or returns directly).
pub async fn settle_all(db: &Db) -> Result<()> {
    db_run!(db, |p| {
        sqlx::query(SETTLE_ALL).execute(p).await?;
    });
    Ok(())
}

/// Re-settles the instalments of `order` after a payment or a return, in its transaction
/// (the order row is already locked by the caller), from the order's sums of returns and
/// payments now.
pub(crate) async fn settle_order(
    tx: &mut impl Tx,
    order: i64,
    returned: i64,
    paid: i64,
) -> Result<()> {
    // The plan in order, one instalment after another (a plan has a handful).
    let mut plan: Vec<(i64, i64, i64, i64)> = Vec::new();
    let mut after = i64::MIN;
    while let Some(r) = tx
        .fetch_optional(
            "SELECT id, amount_fen, paid_fen, open_fen, seq FROM payment_instalments \
             WHERE order_id = $1 AND seq > $2 ORDER BY seq LIMIT 1",
            &[Arg::I64(order), Arg::I64(after)],
        )
        .await?
    {
        plan.push((r.i64(0)?, r.i64(1)?, r.i64(2)?, r.i64(3)?));
        after = r.i64(4)?;
    }
    let amounts: Vec<i64> = plan.iter().map(|p| p.1).collect();
    for ((id, _, was_paid, was_open), s) in plan
        .iter()
        .zip(settle_instalments(&amounts, returned, paid))
    {
        if (*was_paid, *was_open) != (s.paid_fen, s.open_fen) {
            tx.execute(
                "UPDATE payment_instalments SET paid_fen = $2, open_fen = $3 WHERE id = $1",
                &[Arg::I64(*id), Arg::I64(s.paid_fen), Arg::I64(s.open_fen)],
            )
            .await?;
        }
    }
    Ok(())
}
