//! The daily report reminder (issue 24): once an hour every server's worker queues a
//! `daily_report_reminders` pass under one dedup key per hour (so one server runs it); the pass
//! reminds the active agents and sales reps who have not handed in the day's report, after the
//! configured hour and once a day each (`leadline_store::work_reports::daily::remind`).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use leadline_store::work_reports::daily;
use leadline_store::{Db, now};
use serde::{Deserialize, Serialize};

use crate::jobs_runner::{Claim, Hub, JobError, JobHandler, enqueue};

pub struct DailyReportReminders;

/// The pass carries nothing: it reminds as of when it runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DailyReportRemindersTick {}

impl JobHandler for DailyReportReminders {
    const KIND: &'static str = "daily_report_reminders";
    const PER_SERVER: usize = 1;
    type Payload = DailyReportRemindersTick;

    async fn run(&self, claim: Claim, _payload: DailyReportRemindersTick) -> Result<(), JobError> {
        // A pass queued for a later hour (tests move the clock) runs as of that hour.
        let at = claim.job.run_at.max(now());
        let sent = daily::remind(&claim.db, at).await?;
        if sent > 0 {
            tracing::info!(sent, "daily report reminders");
        }
        Ok(())
    }
}

/// The hour this process last queued a pass for (Unix hours).
static QUEUED_HOUR: AtomicI64 = AtomicI64::new(i64::MIN);

/// The dedup key of the pass of the hour of `at`, e.g. `daily_report_reminders:2026-12-07T10`.
pub fn hour_key(at: DateTime<Utc>) -> String {
    format!("daily_report_reminders:{}", at.format("%Y-%m-%dT%H"))
}

/// Once an hour (the first call of each hour in this process) queues that hour's pass when the
/// reminder hour has come; every server calls it, the dedup key keeps one job an hour.
pub async fn schedule(db: &Db, hub: &Hub, at: DateTime<Utc>) -> Result<(), JobError> {
    let hour = at.timestamp().div_euclid(3600);
    if QUEUED_HOUR.swap(hour, Ordering::Relaxed) == hour {
        return Ok(());
    }
    if !daily::reminder_due(at, daily::reminder_hour(db).await?)? {
        return Ok(());
    }
    let run_at = at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at);
    enqueue::<DailyReportReminders>(
        db,
        hub,
        run_at,
        &DailyReportRemindersTick {},
        Some(&hour_key(at)),
    )
    .await?;
    Ok(())
}
