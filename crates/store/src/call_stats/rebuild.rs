//! Recomputing the statistics slots from the raw calls (`leadline rollups rebuild`): for history
//! imported straight into `calls`, or after the dispositions' flags changed; then the days
//! from the slots. One transaction; the slot of a call is the one expression that differs
//! between the backends.

use leadline_domain::UserId;
use leadline_domain::call_stats::days::day_of_slot;

use super::{COLUMNS, Counts, SumsRow, counting};
use crate::db::tx::Tx;
use crate::{Backend, Db, Result, db_run, in_tx};

/// The slot start (seconds since 1970, a multiple of 900) of `c.started_at`: the same value as
/// `leadline_domain::call_stats::slot_of`. PostgreSQL floors the fractional epoch (a cast
/// alone would round 08:14:59.7 up into the next slot); SQLite's `%s` is whole seconds.
pub(crate) fn slot_expr(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "(CAST(strftime('%s', c.started_at) AS BIGINT) / 900) * 900",
        Backend::Postgres => "CAST(FLOOR(EXTRACT(EPOCH FROM c.started_at) / 900) AS BIGINT) * 900",
    }
}

/// The counter columns of one call of `c` joined to its disposition `d` (a code no longer
/// configured counts as a call only, as `Counts::of_call` does).
pub(crate) const CALL_COUNTS: &str = "1 AS calls, \
    CASE WHEN d.connected THEN 1 ELSE 0 END AS connected, \
    CASE WHEN d.valid_conversation THEN 1 ELSE 0 END AS valid_conversations, \
    CASE WHEN d.qualified THEN 1 ELSE 0 END AS qualified, \
    CASE WHEN d.connected AND c.duration_s > 0 THEN c.duration_s ELSE 0 END AS talk_s, \
    CASE WHEN c.intent = 'resistant' THEN 1 ELSE 0 END AS intent_resistant, \
    CASE WHEN c.intent = 'no_stance' THEN 1 ELSE 0 END AS intent_no_stance, \
    CASE WHEN c.intent = 'interested' THEN 1 ELSE 0 END AS intent_interested, \
    CASE WHEN c.intent = 'positive' THEN 1 ELSE 0 END AS intent_positive, \
    CASE WHEN c.intent = 'strong_demand' THEN 1 ELSE 0 END AS intent_strong_demand";

/// Every call as a row of `agent_id, slot_start` and its counters, for a `GROUP BY` over it.
pub(crate) fn raw_calls(backend: Backend, filter: &str) -> String {
    format!(
        "SELECT c.agent_id, {} AS slot_start, {CALL_COUNTS} \
         FROM calls c LEFT JOIN dispositions d ON d.code = c.disposition{filter}",
        slot_expr(backend)
    )
}

/// The raw aggregate: every (agent, slot) with its sums, straight from the calls.
fn raw_grouped(backend: Backend) -> String {
    format!(
        "SELECT s.agent_id, s.slot_start, {} FROM ({}) s GROUP BY s.agent_id, s.slot_start",
        super::SUMS,
        raw_calls(backend, "")
    )
}

/// What a rebuild wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub calls: i64,
    pub slots: i64,
    /// Per-agent day rows, counted in the organisation's zone.
    pub days: i64,
}

/// Replaces every slot with the sums recomputed from the calls, and every day with the sums of
/// the slots in the organisation's zone, in one transaction. On PostgreSQL writers of calls are
/// held off first, so that a call recorded meanwhile is counted after the rebuild (it waits)
/// rather than colliding with a recomputed row.
pub async fn rebuild(db: &Db) -> Result<Rebuilt> {
    let insert = format!(
        "INSERT INTO call_stats (agent_id, slot_start, {COLUMNS}) {}",
        raw_grouped(db.backend())
    );
    in_tx!(db, |tx| async move {
        counting::hold_writers(tx).await?;
        tx.execute("DELETE FROM call_stats", &[]).await?;
        let slots = tx.execute(&insert, &[]).await? as i64;
        let zone = counting::org_zone_in(tx).await?;
        let days = counting::rebuild_days(tx, zone).await?;
        let calls = tx
            .fetch_one("SELECT CAST(COUNT(*) AS BIGINT) FROM calls", &[])
            .await?
            .i64(0)?;
        Ok(Rebuilt { calls, slots, days })
    })
}

/// One (agent, slot) with its counts.
pub type SlotRow = (UserId, i64, Counts);

fn rows(raw: Vec<super::report::Wide<i64, i64>>) -> Vec<SlotRow> {
    raw.into_iter()
        .map(|r| {
            let sums: SumsRow = (r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11);
            (UserId(r.0), r.1, Counts::from(sums))
        })
        .collect()
}

/// Every stored slot, ordered by agent and slot (for checks against [`raw_slots`]).
pub async fn stored_slots(db: &Db) -> Result<Vec<SlotRow>> {
    let sql = format!(
        "SELECT s.agent_id, s.slot_start, {} FROM call_stats s GROUP BY s.agent_id, s.slot_start \
         ORDER BY s.agent_id, s.slot_start",
        super::SUMS
    );
    Ok(rows(db_run!(db, |pool| sqlx::query_as(
        sqlx::AssertSqlSafe(sql)
    )
    .fetch_all(pool)
    .await?)))
}

/// The same slots recomputed from the raw calls by a `GROUP BY`, ordered alike.
pub async fn raw_slots(db: &Db) -> Result<Vec<SlotRow>> {
    let sql = format!(
        "{} ORDER BY s.agent_id, s.slot_start",
        raw_grouped(db.backend())
    );
    Ok(rows(db_run!(db, |pool| sqlx::query_as(
        sqlx::AssertSqlSafe(sql)
    )
    .fetch_all(pool)
    .await?)))
}

/// One (agent, day number) with its counts.
pub type DayRow = (UserId, i64, Counts);

/// Every stored day row, ordered by agent and day (for checks against [`raw_days`]).
pub async fn stored_days(db: &Db) -> Result<Vec<DayRow>> {
    let sql = format!(
        "SELECT s.agent_id, s.day, {} FROM call_stats_daily s GROUP BY s.agent_id, s.day \
         ORDER BY s.agent_id, s.day",
        super::SUMS
    );
    Ok(rows(db_run!(db, |pool| sqlx::query_as(
        sqlx::AssertSqlSafe(sql)
    )
    .fetch_all(pool)
    .await?)))
}

/// The days recomputed from the raw calls: the `GROUP BY` of [`raw_slots`], each slot put in
/// its local day in `zone`, ordered alike.
pub async fn raw_days(db: &Db, zone: chrono_tz::Tz) -> Result<Vec<DayRow>> {
    let mut days: std::collections::BTreeMap<(i64, i64), Counts> = Default::default();
    for (agent, slot, counts) in raw_slots(db).await? {
        days.entry((agent.0, day_of_slot(slot, zone)))
            .or_default()
            .add(&counts);
    }
    Ok(days
        .into_iter()
        .map(|((a, d), c)| (UserId(a), d, c))
        .collect())
}
