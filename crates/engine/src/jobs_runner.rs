//! The background worker every app server runs: it claims due reminder jobs from the database
//! about once a second, writes each agent's notification (the durable record, one per job however
//! many servers run), and wakes this server's event streams. Streams on other servers find the
//! notification by polling, so a reminder reaches the agent whichever server it is connected to.
//! On SQLite it also indexes the call notes recorded since its last round for search.

use std::sync::Arc;
use std::time::Duration;

use leadline_domain::UserId;
use leadline_store::jobs::{self, REVISIT_REMINDER};
use leadline_store::workspace::notifications;
use leadline_store::{Db, now};
use tokio::sync::{broadcast, watch};

/// How often the worker looks for due jobs, and streams for new notifications.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Jobs claimed in one go.
pub const BATCH: i64 = 50;

/// What connects the worker, the event streams and shutdown on one server.
#[derive(Clone)]
pub struct Hub {
    wake: broadcast::Sender<UserId>,
    stop_tx: Arc<watch::Sender<bool>>,
    stop: watch::Receiver<bool>,
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

    /// Resolves to `true` once the server is shutting down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }

    /// Ends the worker and every open event stream (graceful shutdown waits for them).
    pub fn stop(&self) {
        let _ = self.stop_tx.send(true);
    }
}

/// Claims and runs due reminder jobs once; returns how many ran.
pub async fn run_due(db: &Db, hub: &Hub) -> leadline_store::Result<usize> {
    let claimed = jobs::claim(db, REVISIT_REMINDER, &hub.worker, now(), BATCH).await?;
    let n = claimed.len();
    for job in claimed {
        match notifications::deliver_revisit(db, &job, now()).await {
            Ok(woken) => {
                jobs::complete(db, job.id, &hub.worker, now()).await?;
                if let Some(user) = woken {
                    hub.wake(user);
                }
            }
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "reminder job failed");
                jobs::fail(db, &job, &hub.worker, &e.to_string(), now()).await?;
            }
        }
    }
    Ok(n)
}

/// The worker loop: runs until the hub is stopped.
pub async fn run(db: Db, hub: Hub) {
    let mut stop = hub.stopping();
    loop {
        if *stop.borrow() {
            break;
        }
        if let Err(e) = run_due(&db, &hub).await {
            tracing::error!(error = %e, "job worker failed; retrying");
        }
        if let Err(e) = leadline_store::search::index_new_notes(&db).await {
            tracing::error!(error = %e, "indexing call notes failed; retrying");
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
        }
    }
}
