//! The background worker every app server runs: about once a second (or at once when any server
//! queues a job that is due now) it claims the due jobs of every registered kind from the database and runs each
//! on a task of its own, so a long import never holds up a reminder. A claim is a lease: a job
//! whose server died is claimed again by another once its kind's lease lapses. On SQLite the
//! worker also indexes the call notes recorded since its last round for search.
//!
//! A job kind is one [`JobHandler`] and one line in [`Registry::standard`] (`job_kinds`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadline_store::jobs;
use leadline_store::notify::{Kind, Notifier};
use leadline_store::{Db, now};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::job_kinds::Registered;
pub use crate::job_kinds::{Claim, JobError, JobHandler, KeptClaim, Registry, enqueue};

/// How often the worker looks for due jobs (jobs queued due now wake it at once), and the
/// shortest time between two looks of one event stream.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How long an event stream waits for a change before it reads again anyway: the catch-up for
/// a change whose announcement was lost (a server died between its commit and its NOTIFY).
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(15);
/// Jobs of one kind claimed in one go (and run at once on one server), unless the kind says less.
pub const BATCH: i64 = 50;

/// What connects the worker, the event streams and shutdown on one server.
#[derive(Clone)]
pub struct Hub {
    /// What changed on any server (the database's announcements), for this server's streams
    /// and worker.
    pub changes: Notifier,
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
        let (stop_tx, stop) = watch::channel(false);
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "server".into());
        let worker = format!(
            "{host}:{}:{}",
            std::process::id(),
            &leadline_store::auth::random_secret()[..8]
        );
        Hub {
            changes: Notifier::default(),
            stop_tx: Arc::new(stop_tx),
            stop,
            queued: Arc::default(),
            worker: worker.into(),
        }
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
                let claim =
                    Claim::new(self.db.clone(), self.hub.clone(), job, kind.handler.lease());
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
        let mut changes = self.hub.changes.subscribe();
        loop {
            if *stop.borrow() {
                break;
            }
            if self.registry.kinds().contains(&"reclaim")
                && let Err(e) = crate::reclaim_job::schedule(&self.db, &self.hub, now()).await
            {
                tracing::error!(error = %e, "queueing the reclaim pass failed; retrying");
            }
            if self.registry.kinds().contains(&"customer_grades")
                && let Err(e) = crate::grade_job::schedule(&self.db, &self.hub, now()).await
            {
                tracing::error!(error = %e, "queueing the monthly grading failed; retrying");
            }
            // issue 23: sales
            if self.registry.kinds().contains(&"payment_reminders")
                && let Err(e) =
                    crate::payment_reminder_job::schedule(&self.db, &self.hub, now()).await
            {
                tracing::error!(error = %e, "queueing the payment reminders failed; retrying");
            }
            // issue 24: the daily report reminder
            if self.registry.kinds().contains(&"daily_report_reminders")
                && let Err(e) =
                    crate::daily_report_reminder_job::schedule(&self.db, &self.hub, now()).await
            {
                tracing::error!(error = %e, "queueing the daily report reminders failed; retrying");
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
                _ = changes.wait_for(POLL_EVERY, |c| c.kind == Kind::Job) => {}
            }
            // One round answers every job announced meanwhile.
            changes.drain();
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
