//! The reclaim pass: returns the owned records whose countdown ran out to their pool (one
//! ownership event, audit entry and notification each) and warns owners before it happens.
//!
//! It reads only what the countdown index (`leads_reclaim`) says is due, in batches of short
//! transactions; each change is conditional on the facts it was chosen for (`owner_id`,
//! `reclaim_at`), so a record followed up meanwhile is left alone and two passes running at once
//! (two servers) reclaim or warn each record once.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::ownership::warning_due;
use serde::Serialize;
use serde_json::json;

use super::in_background_tx;
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::ownership::events::Action;
use crate::{Db, Result, db_run};

/// The notification an owner gets when a record of theirs returned to its pool.
pub const RECLAIMED: &str = "reclaimed";
/// The notification an owner gets N days before (还剩 N 天 … 将回收到公海).
pub const RECLAIM_WARNING: &str = "reclaim_warning";

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    pub warned: u64,
    pub reclaimed: u64,
}

/// Reclaims what is due at `now`, then sends the warnings due, `batch` records a transaction.
pub async fn run_pass(db: &Db, now: DateTime<Utc>, batch: usize) -> Result<PassReport> {
    let warn = super::warn_days(db).await?;
    let reclaimed = reclaim_due(db, now, batch.max(1)).await?;
    let warned = warn_due(db, &warn, now, batch.max(1)).await?;
    if warned + reclaimed > 0 {
        crate::notify::announce(db, crate::notify::Change::notice(None));
    }
    Ok(PassReport { warned, reclaimed })
}

/// A record chosen for reclaim, with the facts its update is conditional on.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Due {
    id: i64,
}

/// The next `batch` records due at `$1`, through the countdown index.
pub(crate) fn due_sql(batch: usize) -> String {
    format!(
        "SELECT id FROM leads WHERE reclaim_at <= $1 AND owner_id IS NOT NULL \
         ORDER BY reclaim_at, id LIMIT {batch}"
    )
}

/// The next `batch` records of a warning band (`$1` < reclaim_at <= `$2`) not yet warned that
/// close (`$3` days), through the countdown index.
pub(crate) fn band_sql(batch: usize) -> String {
    format!(
        "SELECT id, owner_id, reclaim_at, warned_days FROM leads \
         WHERE reclaim_at > $1 AND reclaim_at <= $2 AND owner_id IS NOT NULL \
         AND (warned_days IS NULL OR warned_days > $3) ORDER BY reclaim_at, id LIMIT {batch}"
    )
}

async fn reclaim_due(db: &Db, now: DateTime<Utc>, batch: usize) -> Result<u64> {
    let sql = due_sql(batch);
    let (mut total, mut idle) = (0, 0);
    loop {
        let due: Vec<Due> = db_run!(db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(now)
                .fetch_all(pool)
                .await?
        });
        if due.is_empty() {
            return Ok(total);
        }
        let done = in_background_tx!(db, |tx| reclaim_batch(tx, due, now))?;
        total += done;
        // A batch that another pass took whole is read again (what is left is ours to take);
        // three in a row mean something else keeps the records, left for the next pass.
        idle = if done == 0 { idle + 1 } else { 0 };
        if idle == 3 {
            return Ok(total);
        }
    }
}

/// The records of a batch still due: owned, and due at `$1` (a record followed up, or taken
/// by another pass, meanwhile is no longer).
fn still_due(ids: &[i64]) -> String {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    format!("id IN ({list}) AND owner_id IS NOT NULL AND reclaim_at <= $1")
}

/// JSON text built in SQL from integer columns, typed as each backend stores JSON.
fn json_sql(tx: &impl Tx, text: &str) -> String {
    match tx.backend() {
        crate::Backend::Sqlite => text.to_string(),
        crate::Backend::Postgres => format!("CAST({text} AS JSONB)"),
    }
}

/// Reclaims the records of `due` still due, set-based: a few statements a batch whatever its
/// size. The rows are locked first (PostgreSQL; SQLite's one writer holds every other writer
/// off), so the ownership events, audit entries and notifications written from them name the
/// owner the update takes the record from.
async fn reclaim_batch(tx: &mut impl Tx, due: Vec<Due>, now: DateTime<Utc>) -> Result<u64> {
    let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
    let cond = still_due(&ids);
    let at = [Arg::Time(now)];
    if tx.backend() == crate::Backend::Postgres {
        tx.execute(
            &format!("SELECT id FROM leads WHERE {cond} FOR UPDATE"),
            &at,
        )
        .await?;
    }
    let opt = |col: &str| format!("COALESCE(CAST({col} AS TEXT), 'null')");
    tx.execute(
        &format!(
            "INSERT INTO ownership_events (lead_id, at, action, from_user, to_user, actor_id, pool_id, rule_id, case_id, reason) \
             SELECT id, $1, '{}', owner_id, NULL, NULL, pool_id, reclaim_rule_id, NULL, NULL FROM leads WHERE {cond} ORDER BY id",
            Action::Reclaim.code()
        ),
        &at,
    )
    .await?;
    let before = json_sql(tx, "'{\"owner_id\":' || CAST(owner_id AS TEXT) || '}'");
    let after = json_sql(
        tx,
        &format!(
            "'{{\"owner_id\":null,\"pool_id\":' || {} || ',\"rule_id\":' || {} || '}}'",
            opt("pool_id"),
            opt("reclaim_rule_id")
        ),
    );
    tx.execute(
        &format!(
            "INSERT INTO audit_log (entity, entity_id, actor_id, action, before, after, at) \
             SELECT 'lead', id, NULL, 'reclaim', {before}, {after}, $1 FROM leads WHERE {cond} ORDER BY id"
        ),
        &at,
    )
    .await?;
    let payload = json_sql(
        tx,
        &format!(
            "'{{\"rule_id\":' || {} || ',\"pool_id\":' || {} || '}}'",
            opt("reclaim_rule_id"),
            opt("pool_id")
        ),
    );
    tx.execute(
        &format!(
            "INSERT INTO notifications (user_id, kind, lead_id, payload, due_at, created_at) \
             SELECT owner_id, '{RECLAIMED}', id, {payload}, reclaim_at, $1 FROM leads WHERE {cond} ORDER BY id"
        ),
        &at,
    )
    .await?;
    tx.execute(
        &format!(
            "UPDATE leads SET owner_id = NULL, owned_since = NULL, reclaim_at = NULL, \
             reclaim_rule_id = NULL, warned_days = NULL, backup_owner_id = NULL, backup_may_edit = FALSE, \
             protected_until = NULL, protected_by = NULL, version = version + 1, updated_at = $1 WHERE {cond}"
        ),
        &at,
    )
    .await
}

const NOTIFY: &str = "INSERT INTO notifications (user_id, kind, lead_id, payload, due_at, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";

/// An owned record whose countdown is inside a warning band.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Warn {
    id: i64,
    owner_id: i64,
    reclaim_at: DateTime<Utc>,
    warned_days: Option<i64>,
}

/// Sends the warnings due: for each warning day `d` (e.g. 1, then 3), the records due within
/// `d` days but not within the next smaller one, not yet warned that close.
async fn warn_due(db: &Db, warn: &[u16], now: DateTime<Utc>, batch: usize) -> Result<u64> {
    let mut days: Vec<u16> = warn.to_vec();
    days.sort_unstable();
    let sql = band_sql(batch);
    let mut total = 0;
    let mut lo = now;
    for d in days {
        let hi = now + Duration::days(i64::from(d));
        loop {
            let rows: Vec<Warn> = db_run!(db, |pool| {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(lo)
                    .bind(hi)
                    .bind(i64::from(d))
                    .fetch_all(pool)
                    .await?
            });
            if rows.is_empty() {
                break;
            }
            let warn = warn.to_vec();
            let done = in_background_tx!(db, |tx| warn_batch(tx, rows, warn, now))?;
            total += done;
            if done == 0 {
                break;
            }
        }
        lo = hi;
    }
    Ok(total)
}

const MARK_WARNED: &str = "UPDATE leads SET warned_days = $2 WHERE id = $1 AND owner_id = $3 \
    AND reclaim_at = $4 AND (warned_days IS NULL OR warned_days > $2)";

async fn warn_batch(
    tx: &mut impl Tx,
    rows: Vec<Warn>,
    warn: Vec<u16>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut done = 0;
    for r in rows {
        let last = r.warned_days.and_then(|w| u16::try_from(w).ok());
        let Some(days) = warning_due(r.reclaim_at, &warn, last, now) else {
            continue;
        };
        let changed = tx
            .execute(
                MARK_WARNED,
                &[
                    Arg::I64(r.id),
                    Arg::I64(i64::from(days)),
                    Arg::I64(r.owner_id),
                    Arg::Time(r.reclaim_at),
                ],
            )
            .await?;
        if changed == 0 {
            continue;
        }
        done += 1;
        tx.execute(
            NOTIFY,
            &[
                Arg::I64(r.owner_id),
                Arg::Text(RECLAIM_WARNING.into()),
                Arg::I64(r.id),
                Arg::Json(json!({ "days": days })),
                Arg::Time(r.reclaim_at),
                Arg::Time(now),
            ],
        )
        .await?;
    }
    Ok(done)
}

/// Whether a pass at `now` has anything to do: a record due, or a warning to send. A few index
/// probes, so that servers look every minute but queue a pass only when there is work.
pub async fn has_work(db: &Db, now: DateTime<Utc>) -> Result<bool> {
    let due: Option<i64> = db_run!(db, |pool| {
        sqlx::query_scalar(
            "SELECT id FROM leads WHERE reclaim_at <= $1 AND owner_id IS NOT NULL LIMIT 1",
        )
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    if due.is_some() {
        return Ok(true);
    }
    let mut days = super::warn_days(db).await?;
    days.sort_unstable();
    let mut lo = now;
    for d in days {
        let hi = now + Duration::days(i64::from(d));
        let hit: Option<i64> = db_run!(db, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM leads WHERE reclaim_at > $1 AND reclaim_at <= $2 \
                 AND owner_id IS NOT NULL AND (warned_days IS NULL OR warned_days > $3) LIMIT 1",
            )
            .bind(lo)
            .bind(hi)
            .bind(i64::from(d))
            .fetch_optional(pool)
            .await?
        });
        if hit.is_some() {
            return Ok(true);
        }
        lo = hi;
    }
    Ok(false)
}
