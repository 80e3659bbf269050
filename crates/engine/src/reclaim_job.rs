//! The reclaim jobs: once a minute a `reclaim` pass (warnings, then due records back to their
//! pool), queued by every server's worker under one dedup key per minute so that one server runs
//! it; and a `reclaim_recount` after a rule changed, recomputing the countdowns it may move.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use leadline_domain::ownership::RuleScope;
use leadline_store::ownership::reclaim;
use leadline_store::{Db, now};
use serde::{Deserialize, Serialize};

use crate::jobs_runner::{Claim, Hub, JobError, JobHandler, enqueue};

/// The pass, every minute.
pub struct Reclaim;

/// A `reclaim` job carries nothing: it reclaims what is due when it runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReclaimTick {}

impl JobHandler for Reclaim {
    const KIND: &'static str = "reclaim";
    const PER_SERVER: usize = 1;
    type Payload = ReclaimTick;

    async fn run(&self, claim: Claim, _payload: ReclaimTick) -> Result<(), JobError> {
        let _kept = claim.keep();
        // A job queued for a later minute (tests move the clock) runs as of that minute.
        let at = claim.job.run_at.max(now());
        let report = reclaim::run_pass(&claim.db, at, reclaim::BATCH).await?;
        if report.reclaimed + report.warned > 0 {
            tracing::info!(
                reclaimed = report.reclaimed,
                warned = report.warned,
                "reclaim pass"
            );
        }
        Ok(())
    }
}

/// The minute this process last queued a pass for (as a Unix minute), so that a worker polling
/// every second writes once a minute.
static QUEUED_MINUTE: AtomicI64 = AtomicI64::new(i64::MIN);

/// The dedup key of the pass of the minute of `at`, e.g. `reclaim:2026-12-07T10:05`.
pub fn minute_key(at: DateTime<Utc>) -> String {
    format!("reclaim:{}", at.format("%Y-%m-%dT%H:%M"))
}

/// Once a minute (the first call of each minute in this process), queues the pass of that
/// minute when there is something to do; every server calls it, the dedup key keeps one job a
/// minute. A minute with nothing due writes nothing.
pub async fn schedule(db: &Db, hub: &Hub, at: DateTime<Utc>) -> Result<(), JobError> {
    let minute = at.timestamp().div_euclid(60);
    if QUEUED_MINUTE.swap(minute, Ordering::Relaxed) == minute {
        return Ok(());
    }
    if reclaim::pass::has_work(db, at).await? {
        enqueue_pass(db, hub, at).await?;
    }
    Ok(())
}

/// Queues the pass of the minute of `at` (once per minute across servers); the job id, or
/// `None` when that minute's pass was already queued.
pub async fn enqueue_pass(db: &Db, hub: &Hub, at: DateTime<Utc>) -> Result<Option<i64>, JobError> {
    let run_at = at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at);
    enqueue::<Reclaim>(db, hub, run_at, &ReclaimTick {}, Some(&minute_key(at))).await
}

/// Recomputes the countdowns a rule change may move.
pub struct ReclaimRecount;

/// The scopes of the rules that changed (before and after).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecountScopes {
    pub scopes: Vec<RuleScope>,
}

impl JobHandler for ReclaimRecount {
    const KIND: &'static str = "reclaim_recount";
    const PER_SERVER: usize = 1;
    type Payload = RecountScopes;

    async fn run(&self, claim: Claim, payload: RecountScopes) -> Result<(), JobError> {
        let _kept = claim.keep();
        let n = reclaim::recount(&claim.db, &payload.scopes).await?;
        tracing::info!(records = n, "reclaim countdowns recomputed");
        Ok(())
    }
}
