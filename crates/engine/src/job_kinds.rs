//! Job kinds: a kind is one [`JobHandler`] (its name in the jobs table, its typed payload, how
//! many run at once on a server, its lease and an idempotent `run`) and one line in
//! [`Registry::standard`]; the worker ([`crate::jobs_runner`]) claims and runs what is registered.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use leadline_store::jobs::{self, Job};
use leadline_store::{Db, StoreError, now};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use crate::import_job::RunImport;
use crate::import_run::RunError;
use crate::jobs_runner::{BATCH, Hub};
use crate::revisit_reminder::RevisitReminder;

/// Why a job did not complete.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Import(#[from] RunError),
    /// The claim lapsed and another worker took the job: this one stops and leaves it alone.
    #[error("the job's claim was lost")]
    ClaimLost,
}

/// One kind of background job: its name in `jobs.kind`, what it carries, how it runs. `run` must
/// be idempotent: a job whose server died after doing part or all of it is run again.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind's name in the jobs table.
    const KIND: &'static str;
    /// At most this many jobs of the kind run at once on one server.
    const PER_SERVER: usize = BATCH as usize;
    /// A claim older than this, not renewed ([`Claim::keep`]), is taken for lost with its server.
    const LEASE: TimeDelta = jobs::STALE_AFTER;
    /// What a job of the kind carries (`jobs.payload`).
    type Payload: DeserializeOwned + Send + 'static;

    fn run(
        &self,
        claim: Claim,
        payload: Self::Payload,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Queues a job of kind `H` due at `run_at`; with a `dedup_key` already used, nothing is added
/// and `None` comes back. The caller's server is told to look at once.
pub async fn enqueue<H: JobHandler>(
    db: &Db,
    hub: &Hub,
    run_at: DateTime<Utc>,
    payload: &H::Payload,
    dedup_key: Option<&str>,
) -> Result<Option<i64>, JobError>
where
    H::Payload: Serialize,
{
    let value = serde_json::to_value(payload)?;
    let id = jobs::enqueue(db, H::KIND, run_at, &value, dedup_key).await?;
    hub.job_queued();
    Ok(id)
}

/// A claimed job as its handler sees it.
pub struct Claim {
    pub db: Db,
    pub hub: Hub,
    pub job: Job,
    lease: TimeDelta,
}

impl Claim {
    pub(crate) fn new(db: Db, hub: Hub, job: Job, lease: TimeDelta) -> Claim {
        Claim {
            db,
            hub,
            job,
            lease,
        }
    }

    /// Renews the claim every fifth of its lease until the returned guard is dropped. The guard
    /// says when a renewal found the claim lost (lapsed and taken by another worker): a long job
    /// then stops before its next step, so two servers never work one job.
    pub fn keep(&self) -> KeptClaim {
        let lost = Arc::new(AtomicBool::new(false));
        let every = (self.lease / 5).to_std().unwrap_or(Duration::from_secs(1));
        let (db, id, worker, flag) = (
            self.db.clone(),
            self.job.id,
            self.hub.worker.clone(),
            lost.clone(),
        );
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match jobs::renew(&db, id, &worker, now()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        flag.store(true, Ordering::Relaxed);
                        return;
                    }
                    // A failed renewal is tried again; the lease leaves room for a few.
                    Err(e) => tracing::warn!(job = id, error = %e, "renewing a job's claim failed"),
                }
            }
        });
        KeptClaim { lost, renewer }
    }
}

/// A claim being renewed; dropping it stops the renewals.
pub struct KeptClaim {
    lost: Arc<AtomicBool>,
    renewer: JoinHandle<()>,
}

impl KeptClaim {
    /// True once the claim was found lost.
    pub fn lost(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }
}

impl Drop for KeptClaim {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// A handler with its payload type erased, as the registry keeps it.
pub(crate) trait Registered: Send + Sync {
    fn kind(&self) -> &'static str;
    fn per_server(&self) -> usize;
    fn lease(&self) -> TimeDelta;
    fn start(&self, claim: Claim) -> JobFuture;
}

struct Handler<H>(Arc<H>);

impl<H: JobHandler> Registered for Handler<H> {
    fn kind(&self) -> &'static str {
        H::KIND
    }
    fn per_server(&self) -> usize {
        H::PER_SERVER
    }
    fn lease(&self) -> TimeDelta {
        H::LEASE
    }
    fn start(&self, claim: Claim) -> JobFuture {
        let handler = self.0.clone();
        Box::pin(async move {
            let payload: H::Payload = serde_json::from_value(claim.job.payload.0.clone())?;
            handler.run(claim, payload).await
        })
    }
}

/// A registered kind and how many of its jobs run on this server now.
#[derive(Clone)]
pub(crate) struct Kind {
    pub(crate) handler: Arc<dyn Registered>,
    pub(crate) running: Arc<AtomicUsize>,
}

/// The job kinds this server runs, each with its handler.
#[derive(Clone, Default)]
pub struct Registry {
    pub(crate) kinds: Vec<Kind>,
}

impl Registry {
    /// Every kind Leadline has; `files` is where this server keeps local copies of uploads.
    pub fn standard(files: PathBuf) -> Registry {
        Registry::default()
            .with(RevisitReminder)
            .with(RunImport { files })
            .with(crate::reclaim_job::Reclaim)
            .with(crate::reclaim_job::ReclaimRecount)
            .with(crate::grade_job::GradeCustomers)
            // issue 23: sales
            .with(crate::payment_reminder_job::PaymentReminders)
            // issue 24: the daily report reminder
            .with(crate::daily_report_reminder_job::DailyReportReminders)
    }

    /// Adds a kind (replacing one of the same name).
    pub fn with<H: JobHandler>(mut self, handler: H) -> Registry {
        self.kinds.retain(|k| k.handler.kind() != H::KIND);
        self.kinds.push(Kind {
            handler: Arc::new(Handler(Arc::new(handler))),
            running: Arc::default(),
        });
        self
    }

    /// The registered kinds' names.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.handler.kind()).collect()
    }
}
