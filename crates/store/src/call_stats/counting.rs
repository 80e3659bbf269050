//! The one place that writes the rollups: every call is counted into its agent's 15-minute slot
//! (`call_stats`) and its agent's statistics day (`call_stats_daily`) in the transaction that
//! writes the call (`record_call`, `insert_many`); the rebuild and a change of the
//! organisation's zone recompute the days from the slots here too.
//!
//! Against a change of zone on PostgreSQL: the zone changer locks `call_stats` (EXCLUSIVE)
//! before anything else, and a writer upserts its slots before it reads the days' zone. A writer
//! that got its slot in first is waited for (the recomputed days include it); one that comes
//! after waits at its slot and then reads the new zone (READ COMMITTED: a fresh snapshot per
//! statement). On SQLite the one write lock orders them alike.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use leadline_domain::UserId;
use leadline_domain::call_stats::days::{DayRun, day_of_slot, day_runs};
use leadline_domain::call_stats::{DEFAULT_ORG_ZONE, ORG_ZONE_KEY, parse_zone, slot_of};

use super::{COLUMNS, Counts, SUMS};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Backend, Result, StoreError};

/// The upsert adding a call's counters to the row of `(agent_id, key)` of `table`.
fn upsert(table: &str, key: &str) -> String {
    let adds: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} (agent_id, {key}, {COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (agent_id, {key}) DO UPDATE SET {}",
        adds.join(", ")
    )
}

static COUNT_SLOT: LazyLock<String> = LazyLock::new(|| upsert("call_stats", "slot_start"));
static COUNT_DAY: LazyLock<String> = LazyLock::new(|| upsert("call_stats_daily", "day"));

/// One call to count: its agent, its start and what it adds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted {
    pub agent: UserId,
    pub at: DateTime<Utc>,
    pub counts: Counts,
}

fn args(agent: UserId, key: i64, counts: &Counts) -> Vec<Arg> {
    let mut args = vec![Arg::I64(agent.0), Arg::I64(key)];
    args.extend(counts.args());
    args
}

/// Counts `calls` into their slots and days, in the caller's transaction (the one that writes
/// the calls). Calls sharing a slot are added up first: one upsert per (agent, slot), in key
/// order (two bulk writers never lock the same rows in opposite orders). Answers the zone the
/// days are counted in (None while they are not built), as read after the slots were written,
/// which holds a rebuild off for the rest of the transaction: a caller reading the days in the
/// same transaction may take it as is ([`super::agent_day_with`]).
pub(crate) async fn count(tx: &mut impl Tx, calls: &[Counted]) -> Result<Option<Tz>> {
    let mut slots: BTreeMap<(i64, i64), Counts> = BTreeMap::new();
    for c in calls {
        slots
            .entry((c.agent.0, slot_of(c.at)))
            .or_default()
            .add(&c.counts);
    }
    for ((agent, slot), counts) in &slots {
        tx.execute(&COUNT_SLOT, &args(UserId(*agent), *slot, counts))
            .await?;
    }
    // Read after the slots are written: see the module's note on a change of zone.
    let Some(zone) = days_zone_in(tx).await? else {
        return Ok(None);
    };
    let mut days: BTreeMap<(i64, i64), Counts> = BTreeMap::new();
    for ((agent, slot), counts) in slots {
        days.entry((agent, day_of_slot(slot, zone)))
            .or_default()
            .add(&counts);
    }
    for ((agent, day), counts) in &days {
        tx.execute(&COUNT_DAY, &args(UserId(*agent), *day, counts))
            .await?;
    }
    Ok(Some(zone))
}

/// The zone the days are counted in, None while they are not built.
pub(crate) async fn days_zone_in(tx: &mut impl Tx) -> Result<Option<Tz>> {
    let Some(row) = tx
        .fetch_optional("SELECT zone FROM call_stats_daily_zone WHERE id = 1", &[])
        .await?
    else {
        return Ok(None);
    };
    let name = row.text(0)?;
    parse_zone(&name)
        .map(Some)
        .ok_or_else(|| StoreError::Internal(format!("call_stats_daily_zone {name} unreadable")))
}

/// The organisation's zone as this transaction sees the setting.
pub(crate) async fn org_zone_in(tx: &mut impl Tx) -> Result<Tz> {
    let Some(row) = tx
        .fetch_optional(
            "SELECT CAST(value AS TEXT) FROM settings WHERE key = $1",
            &[Arg::Text(ORG_ZONE_KEY.into())],
        )
        .await?
    else {
        return Ok(DEFAULT_ORG_ZONE);
    };
    zone_of_setting(&row.text(0)?)
}

/// The zone a stored `org_time_zone` setting (a JSON string) names.
fn zone_of_setting(text: &str) -> Result<Tz> {
    serde_json::from_str::<String>(text)
        .ok()
        .and_then(|n| parse_zone(&n))
        .ok_or_else(|| StoreError::Internal(format!("stored {ORG_ZONE_KEY} unreadable")))
}

/// On PostgreSQL, holds every writer of calls off until the transaction ends (see the module's
/// note); nothing on SQLite, whose transaction already holds the one write lock or will.
pub(crate) async fn hold_writers(tx: &mut impl Tx) -> Result<()> {
    if tx.backend() == Backend::Postgres {
        tx.execute("LOCK TABLE call_stats IN EXCLUSIVE MODE", &[])
            .await?;
    }
    Ok(())
}

/// Replaces every day with the sums of the slots, counted in `zone`, and records the zone.
/// Returns the day rows written. The caller holds the writers off first ([`hold_writers`]).
pub(crate) async fn rebuild_days(tx: &mut impl Tx, zone: Tz) -> Result<i64> {
    tx.execute("DELETE FROM call_stats_daily", &[]).await?;
    let span = tx
        .fetch_one(
            "SELECT MIN(slot_start), MAX(slot_start) FROM call_stats",
            &[],
        )
        .await?;
    let mut rows = 0;
    if let (Some(min), Some(max)) = (span.opt_i64(0)?, span.opt_i64(1)?) {
        for run in day_runs(min, max, zone) {
            // Integers of our own computing: formatted in, so that both backends group by a
            // plain expression.
            let day = match run {
                DayRun::Shifted { offset_s, .. } => format!("(s.slot_start + {offset_s}) / 86400"),
                DayRun::Single { day, .. } => format!("CAST({day} AS BIGINT)"),
            };
            let (first, end) = run.bounds();
            let sql = format!(
                "INSERT INTO call_stats_daily (agent_id, day, {COLUMNS}) \
                 SELECT s.agent_id, {day}, {SUMS} FROM call_stats s \
                 WHERE s.slot_start >= $1 AND s.slot_start < $2 GROUP BY s.agent_id, {day}"
            );
            rows += tx.execute(&sql, &[Arg::I64(first), Arg::I64(end)]).await? as i64;
        }
    }
    tx.execute("DELETE FROM call_stats_daily_zone", &[]).await?;
    tx.execute(
        "INSERT INTO call_stats_daily_zone (id, zone) VALUES (1, $1)",
        &[Arg::Text(zone.name().to_string())],
    )
    .await?;
    Ok(rows)
}

/// After the migration that added the days: builds them from the slots in the organisation's
/// zone, once (a no-op when they are built). On SQLite as a background job of the writer (the
/// start-up is nobody's call, and must not count as others writing), or, for a database without
/// slots, by naming the zone on a plain connection.
pub(crate) async fn build_days_if_missing(db: &crate::Db) -> Result<()> {
    async fn body(tx: &mut impl Tx) -> Result<()> {
        if days_zone_in(tx).await?.is_some() {
            return Ok(());
        }
        hold_writers(tx).await?;
        // Built by another server meanwhile?
        if days_zone_in(tx).await?.is_some() {
            return Ok(());
        }
        let zone = org_zone_in(tx).await?;
        rebuild_days(tx, zone).await?;
        Ok(())
    }
    match db {
        crate::Db::Sqlite(pool) => {
            // A new database (no slots yet) only names the zone, on a plain connection: the
            // writer is not woken at start-up, so its first job does not take the start-up's
            // own writes (seeding, backfills) for somebody else writing.
            let (named, slots): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM call_stats_daily_zone), \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM call_stats LIMIT 1) AS s)",
            )
            .fetch_one(pool)
            .await?;
            if named > 0 {
                return Ok(());
            }
            if slots == 0 {
                // Read here, not through the configuration snapshot, which would keep what it
                // read now for the next two seconds.
                let setting: Option<String> =
                    sqlx::query_scalar("SELECT CAST(value AS TEXT) FROM settings WHERE key = $1")
                        .bind(ORG_ZONE_KEY)
                        .fetch_optional(pool)
                        .await?;
                let zone = match setting {
                    Some(text) => zone_of_setting(&text)?,
                    None => DEFAULT_ORG_ZONE,
                };
                sqlx::query(
                    "INSERT INTO call_stats_daily_zone (id, zone) VALUES (1, $1) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(zone.name())
                .execute(pool)
                .await?;
                return Ok(());
            }
            crate::db::sqlite_writer::run_background(pool, |conn| {
                crate::db::tx::run_ready(body(&mut crate::db::tx::SqliteTx(conn)))
            })
            .await
        }
        crate::Db::Postgres(_) => crate::in_tx!(db, |tx| body(tx)),
    }
}
