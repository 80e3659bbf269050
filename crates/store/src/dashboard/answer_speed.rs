//! Answer speed of the inbound queues (issue 27, speed27): of today's calls (the organisation's
//! statistics day) that entered a queue of seats, how many a seat answered, how many within
//! three rings, how long answered callers waited, and how many hung up while waiting or went to
//! the fallback. Read from `phone_calls` in one statement; inbound queues are not per team, so
//! these are the whole floor's figures.

use chrono::{DateTime, Utc};
use leadline_domain::call_stats::per_mille;
use serde::Serialize;

use crate::call_stats::StatsDay;
use crate::{Db, Result, db_run};

/// One ring cycle in China is 1 s of ringing and 4 s of silence (5 s), so three rings have
/// passed 15 s after the call entered the queue: answered with `wait_ms` at most this is
/// "answered within three rings".
pub const THREE_RINGS_MS: i64 = 15_000;

/// Today's queue figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AnswerSpeed {
    /// Calls that entered a queue today.
    pub queued: i64,
    /// Of those, answered by a seat.
    pub answered: i64,
    /// Answered within three rings (15 s of entering the queue).
    pub within_three_rings: i64,
    /// Within three rings per thousand answered calls.
    pub within_three_rings_permille: i64,
    /// The caller hung up while waiting.
    pub abandoned: i64,
    /// No seat answered or all were busy: the call went to the queue's fallback.
    pub unanswered: i64,
    /// Average wait of answered calls, whole seconds (rounded).
    pub avg_wait_s: i64,
    /// Longest wait of an answered call, whole seconds (rounded).
    pub max_wait_s: i64,
}

/// `total_ms / n` in whole seconds, rounded half up (0 when `n` is 0).
fn seconds(total_ms: i64, n: i64) -> i64 {
    if n <= 0 {
        0
    } else {
        (total_ms.max(0) + n * 500) / (n * 1000)
    }
}

/// The answer speed over `day` (today, in the organisation's statistics day).
pub async fn answer_speed(db: &Db, day: &StatsDay) -> Result<AnswerSpeed> {
    const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT), \
        CAST(COALESCE(SUM(CASE WHEN queue_result = 'answered' THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(COALESCE(SUM(CASE WHEN queue_result = 'answered' AND wait_ms <= $3 THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(COALESCE(SUM(CASE WHEN queue_result = 'abandoned' THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(COALESCE(SUM(CASE WHEN queue_result IN ('no_answer', 'busy') THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(COALESCE(SUM(CASE WHEN queue_result = 'answered' THEN wait_ms ELSE 0 END), 0) AS BIGINT), \
        CAST(COALESCE(MAX(CASE WHEN queue_result = 'answered' THEN wait_ms END), 0) AS BIGINT) \
        FROM phone_calls WHERE direction = 'inbound' AND queue IS NOT NULL \
        AND started_at >= $1 AND started_at < $2";
    let t0 = DateTime::<Utc>::from_timestamp(day.first, 0).unwrap_or_default();
    let t1 = DateTime::<Utc>::from_timestamp(day.end, 0).unwrap_or_default();
    let (queued, answered, within, abandoned, unanswered, sum_ms, max_ms): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(t0)
        .bind(t1)
        .bind(THREE_RINGS_MS)
        .fetch_one(pool)
        .await?);
    Ok(AnswerSpeed {
        queued,
        answered,
        within_three_rings: within,
        within_three_rings_permille: per_mille(within, answered),
        abandoned,
        unanswered,
        avg_wait_s: seconds(sum_ms, answered),
        max_wait_s: seconds(max_ms, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn waits_round_to_whole_seconds() {
        assert_eq!(seconds(0, 0), 0);
        assert_eq!(seconds(23_000, 2), 12);
        assert_eq!(seconds(3_499, 1), 3);
        assert_eq!(seconds(20_000, 1), 20);
    }
}
