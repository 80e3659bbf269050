//! The monthly grading of customers (客户分级): one `customer_grades` job per calendar month,
//! queued by every server's worker under the month's dedup key so that exactly one server runs
//! it; the run itself is idempotent, so a job retried after a server died grades the same.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use leadline_domain::pipeline::grading_month;
use leadline_store::pipeline::grades;
use leadline_store::{Db, now};
use serde::{Deserialize, Serialize};

use crate::jobs_runner::{Claim, Hub, JobError, JobHandler, enqueue};

/// The grading run.
pub struct GradeCustomers;

/// The month graded (`2026-12`), for the log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GradingMonth {
    pub month: String,
}

impl JobHandler for GradeCustomers {
    const KIND: &'static str = "customer_grades";
    const PER_SERVER: usize = 1;
    type Payload = GradingMonth;

    async fn run(&self, claim: Claim, payload: GradingMonth) -> Result<(), JobError> {
        let _kept = claim.keep();
        // A job queued for a later time (tests move the clock) grades as of that time.
        let at = claim.job.run_at.max(now());
        let report = grades::run_grading(&claim.db, at).await?;
        tracing::info!(
            month = payload.month,
            graded = report.graded,
            changed = report.changed,
            "customers graded"
        );
        Ok(())
    }
}

/// The dedup key of the month of `at`, e.g. `customer_grades:2026-12`.
pub fn month_key(at: DateTime<Utc>) -> String {
    format!("customer_grades:{}", grading_month(at))
}

/// The hour this process last looked (as a Unix hour), so that a worker polling every second
/// writes at most once an hour.
static LOOKED_HOUR: AtomicI64 = AtomicI64::new(i64::MIN);

/// Once an hour, queues the grading of the month of `at` when there are customers (once per
/// month across servers: the dedup key keeps one job).
pub async fn schedule(db: &Db, hub: &Hub, at: DateTime<Utc>) -> Result<(), JobError> {
    let hour = at.timestamp().div_euclid(3600);
    if LOOKED_HOUR.swap(hour, Ordering::Relaxed) == hour {
        return Ok(());
    }
    if grades::has_work(db).await? {
        enqueue_month(db, hub, at).await?;
    }
    Ok(())
}

/// Queues the grading of the month of `at`; the job id, or `None` when that month's run was
/// already queued (by this server or another).
pub async fn enqueue_month(db: &Db, hub: &Hub, at: DateTime<Utc>) -> Result<Option<i64>, JobError> {
    let payload = GradingMonth {
        month: grading_month(at),
    };
    enqueue::<GradeCustomers>(db, hub, at, &payload, Some(&month_key(at))).await
}
