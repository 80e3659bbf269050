//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout (which also
//! ends idle keep-alive connections), a cap on open connections that sheds the oldest connection
//! still waiting for its first request, and a graceful shutdown with a deadline.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::{AbortHandle, JoinSet};
use tower::ServiceExt;

/// How many connections a server holds open and how long it waits on them.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections at most; keep it well under the process's open-file limit.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and the longest a kept-alive connection
    /// may sit idle before its next request.
    pub header_read_timeout: Duration,
    /// After a shutdown signal, how long open requests may take to finish before their
    /// connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 2_000,
            header_read_timeout: Duration::from_secs(20),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The connections that have not sent a complete request head yet, oldest first: the ones shed
/// when the server is full (a client that has not asked for anything loses least).
#[derive(Default)]
struct Waiting {
    next: u64,
    open: BTreeMap<u64, AbortHandle>,
}

/// Takes a connection off [`Waiting`] once it sends its first request, or when it ends.
struct WaitingEntry {
    id: u64,
    waiting: Arc<Mutex<Waiting>>,
    done: AtomicBool,
}

impl WaitingEntry {
    fn proven(&self) {
        if !self.done.swap(true, Ordering::Relaxed) {
            lock(&self.waiting).open.remove(&self.id);
        }
    }
}

impl Drop for WaitingEntry {
    fn drop(&mut self) {
        self.proven();
    }
}

fn lock(w: &Mutex<Waiting>) -> std::sync::MutexGuard<'_, Waiting> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves `app` on `listener` until `stop` turns true; then stops accepting, asks every
/// connection to finish its request, and drops those still open after the grace period.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let waiting = Arc::new(Mutex::new(Waiting::default()));
    let mut connections = JoinSet::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors (EMFILE, ENFILE: the cap is set above the
                    // process's limit): shed the oldest connection that has asked for nothing,
                    // and wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    let out_of_files = matches!(e.raw_os_error(), Some(23 | 24));
                    if !(out_of_files && shed_oldest(&waiting)) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                let _ = shed_oldest(&waiting);
                tokio::select! {
                    _ = stopped(&mut stop) => break,
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                }
            }
        };
        let mut waiting_lock = lock(&waiting);
        let id = waiting_lock.next;
        waiting_lock.next += 1;
        let entry = Arc::new(WaitingEntry {
            id,
            waiting: waiting.clone(),
            done: AtomicBool::new(false),
        });
        let service = {
            let (app, entry) = (app.clone(), entry.clone());
            hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                entry.proven();
                // What `into_make_service_with_connect_info` gave handlers (sign-in throttling).
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(Body::new))
            })
        };
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stop.clone();
        let handle = connections.spawn(async move {
            let _slot = slot;
            let _entry = entry;
            tokio::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => log_end(served),
                _ = stopped(&mut stopping) => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await);
                }
            }
        });
        waiting_lock.open.insert(id, handle);
        drop(waiting_lock);
    }
    drop(listener);
    // Connections were told to finish; those that cannot (a client that stopped reading a
    // download) are dropped after the grace period.
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown grace period; dropping them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Closes the connection that has waited longest without sending a request; false if none.
fn shed_oldest(waiting: &Mutex<Waiting>) -> bool {
    let shed = lock(waiting).open.pop_first();
    if let Some((_, connection)) = &shed {
        connection.abort();
    }
    shed.is_some()
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn log_end(served: hyper::Result<()>) {
    if let Err(e) = served {
        tracing::debug!(error = %e, "connection ended");
    }
}
