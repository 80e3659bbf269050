//! The background worker every app server runs: about once a second (or at once when this server
//! queues a job) it claims the due jobs of every registered kind from the database and runs each
//! on a task of its own, so a long import never holds up a reminder. A claim is a lease: a job
//! whose server died is claimed again by another once its kind's lease lapses. On SQLite the
//! worker also indexes the call notes recorded since its last round for search.
//!
//! A job kind is one [`JobHandler`] (its name, payload type and `run`) and one line in
//! [`Registry::standard`].

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use leadline_domain::UserId;
use leadline_store::jobs::{self, Job};
use leadline_store::{Db, StoreError, now};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::import_job::RunImport;
use crate::import_run::RunError;
use crate::revisit_reminder::RevisitReminder;

/// How often the worker looks for due jobs, and streams for new notifications.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Jobs of one kind claimed in one go (and run at once on one server), unless the kind says less.
pub const BATCH: i64 = 50;

/// What connects the worker, the event streams and shutdown on one server.
#[derive(Clone)]
pub struct Hub {
    wake: broadcast::Sender<UserId>,
    stop_tx: Arc<watch::Sender<bool>>,
    stop: watch::Receiver<bool>,
    queued: Arc<Notify>,
    /// This server's name in `jobs.claimed_by`.
    pub worker: Arc<str>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let (wake, _) = broadcast::channel(1024);
        let (stop_tx, stop) = watch::channel(false);
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "server".into());
        let worker = format!(
            "{host}:{}:{}",
            std::process::id(),
            &leadline_store::auth::random_secret()[..8]
        );
        Hub {
            wake,
            stop_tx: Arc::new(stop_tx),
            stop,
            queued: Arc::default(),
            worker: worker.into(),
        }
    }

    /// Tells this server's streams of `user` to look for news now.
    pub fn wake(&self, user: UserId) {
        // No receiver (nobody connected here) is fine: the notification row waits.
        let _ = self.wake.send(user);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<UserId> {
        self.wake.subscribe()
    }

    /// Tells this server's worker that a job was queued: it looks now rather than at its next
    /// round (another server's worker may still take the job first).
    pub fn job_queued(&self) {
        self.queued.notify_one();
    }

    /// Resolves to `true` once the server is shutting down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }

    /// Ends the worker and every open event stream (graceful shutdown waits for them).
    pub fn stop(&self) {
        let _ = self.stop_tx.send(true);
    }
}

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
trait Registered: Send + Sync {
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
struct Kind {
    handler: Arc<dyn Registered>,
    running: Arc<AtomicUsize>,
}

/// The job kinds this server runs, each with its handler.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: Vec<Kind>,
}

impl Registry {
    /// Every kind Leadline has; `files` is where this server keeps local copies of uploads.
    pub fn standard(files: PathBuf) -> Registry {
        Registry::default()
            .with(RevisitReminder)
            .with(RunImport { files })
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

/// Gives a kind's slot back when its job's task ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The job worker of one server.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    hub: Hub,
    registry: Registry,
}

impl Worker {
    pub fn new(db: Db, hub: Hub, registry: Registry) -> Worker {
        Worker { db, hub, registry }
    }

    /// Claims, at `now`, the due jobs of every kind with free slots on this server and starts
    /// each on a task of its own; returns the tasks.
    pub async fn start_due(
        &self,
        now: DateTime<Utc>,
    ) -> leadline_store::Result<Vec<JoinHandle<()>>> {
        let mut started = Vec::new();
        for kind in &self.registry.kinds {
            let free = kind
                .handler
                .per_server()
                .saturating_sub(kind.running.load(Ordering::Relaxed));
            if free == 0 {
                continue;
            }
            let claimed = jobs::claim_leased(
                &self.db,
                kind.handler.kind(),
                kind.handler.lease(),
                &self.hub.worker,
                now,
                free as i64,
            )
            .await?;
            for job in claimed {
                kind.running.fetch_add(1, Ordering::Relaxed);
                let slot = Slot(kind.running.clone());
                let claim = Claim {
                    db: self.db.clone(),
                    hub: self.hub.clone(),
                    job,
                    lease: kind.handler.lease(),
                };
                started.push(tokio::spawn(run_claimed(kind.handler.clone(), claim, slot)));
            }
        }
        Ok(started)
    }

    /// Claims and runs the due jobs once and waits for them; returns how many ran.
    pub async fn run_due(&self, now: DateTime<Utc>) -> leadline_store::Result<usize> {
        let started = self.start_due(now).await?;
        let n = started.len();
        for task in started {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a job's task panicked");
            }
        }
        Ok(n)
    }

    /// The worker loop: runs until the hub is stopped. Jobs already started run on.
    pub async fn run(self) {
        let mut stop = self.hub.stopping();
        let queued = self.hub.queued.clone();
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = self.start_due(now()).await {
                tracing::error!(error = %e, "job worker failed; retrying");
            }
            if let Err(e) = leadline_store::search::index_new_notes(&self.db).await {
                tracing::error!(error = %e, "indexing call notes failed; retrying");
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = queued.notified() => {}
                _ = tokio::time::sleep(POLL_EVERY) => {}
            }
        }
    }
}

/// Runs one claimed job and records how it ended.
async fn run_claimed(handler: Arc<dyn Registered>, claim: Claim, slot: Slot) {
    let _slot = slot;
    let (db, worker, job) = (
        claim.db.clone(),
        claim.hub.worker.clone(),
        claim.job.clone(),
    );
    let recorded = match handler.start(claim).await {
        Ok(()) => jobs::complete(&db, job.id, &worker, now())
            .await
            .map(|_| ()),
        Err(JobError::ClaimLost) => {
            tracing::warn!(
                job = job.id,
                kind = job.kind,
                "job claim lost; another server runs it"
            );
            Ok(())
        }
        Err(e) => {
            tracing::warn!(job = job.id, kind = job.kind, error = %e, "job failed");
            jobs::fail(&db, &job, &worker, &e.to_string(), now()).await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(job = job.id, error = %e, "recording a job's end failed");
    }
}

/// Claims and runs the due jobs of every standard kind once, as `hub`'s server; returns how many
/// ran.
pub async fn run_due(db: &Db, hub: &Hub) -> leadline_store::Result<usize> {
    Worker::new(
        db.clone(),
        hub.clone(),
        Registry::standard(crate::upload_files::default_dir()),
    )
    .run_due(now())
    .await
}
