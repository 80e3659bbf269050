//! The payment reminders (issue 23): once an hour a `payment_reminders` pass tells each order's
//! owner of instalments falling due within three days and of those past due (once each, see
//! `leadline_store::sales::reminders`), queued by every server's worker under one dedup key per
//! hour so that one server runs it. The same pass plans the reminder calls (催缴) of instalments
//! past due and the revisit confirmations (回访确认) of orders confirmed the day before or earlier
//! (`leadline_store::telephony::reminder_calls`), which the call service dials.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use leadline_store::sales::reminders;
use leadline_store::telephony::reminder_calls;
use leadline_store::{Db, now};
use serde::{Deserialize, Serialize};

use crate::jobs_runner::{Claim, Hub, JobError, JobHandler, enqueue};

pub struct PaymentReminders;

/// The pass carries nothing: it reminds of what is due when it runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PaymentRemindersTick {}

impl JobHandler for PaymentReminders {
    const KIND: &'static str = "payment_reminders";
    const PER_SERVER: usize = 1;
    type Payload = PaymentRemindersTick;

    async fn run(&self, claim: Claim, _payload: PaymentRemindersTick) -> Result<(), JobError> {
        let _kept = claim.keep();
        // A pass queued for a later hour (tests move the clock) runs as of that hour.
        let at = claim.job.run_at.max(now());
        let sent = reminders::run_pass(&claim.db, at).await?;
        if sent > 0 {
            tracing::info!(sent, "payment reminders");
        }
        let planned = reminder_calls::plan(&claim.db, at).await?;
        let revisits = reminder_calls::plan_revisits(&claim.db, at).await?;
        if planned + revisits > 0 {
            tracing::info!(planned, revisits, "reminder calls planned");
        }
        Ok(())
    }
}

/// The hour this process last queued a pass for (Unix hours).
static QUEUED_HOUR: AtomicI64 = AtomicI64::new(i64::MIN);

/// The dedup key of the pass of the hour of `at`, e.g. `payment_reminders:2026-12-07T10`.
pub fn hour_key(at: DateTime<Utc>) -> String {
    format!("payment_reminders:{}", at.format("%Y-%m-%dT%H"))
}

/// Once an hour (the first call of each hour in this process) queues that hour's pass when an
/// instalment is within reach; every server calls it, the dedup key keeps one job an hour.
pub async fn schedule(db: &Db, hub: &Hub, at: DateTime<Utc>) -> Result<(), JobError> {
    let hour = at.timestamp().div_euclid(3600);
    if QUEUED_HOUR.swap(hour, Ordering::Relaxed) == hour {
        return Ok(());
    }
    if !reminders::has_work(db, at).await?
        && !reminder_calls::has_work(db, at).await?
        && !reminder_calls::has_revisit_work(db, at).await?
    {
        return Ok(());
    }
    let run_at = at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at);
    enqueue::<PaymentReminders>(
        db,
        hub,
        run_at,
        &PaymentRemindersTick {},
        Some(&hour_key(at)),
    )
    .await?;
    Ok(())
}
