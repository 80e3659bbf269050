//! Leadline's HTTP server: the JSON API under `/api/v1`, the server-rendered pages, sessions,
//! CSRF protection and role checks.

pub mod api;
pub mod auth;
pub mod call_lookups;
pub mod call_service;
pub mod charts;
pub mod error;
pub mod i18n;
// issue 27: the IVR flow calls run and the prompt files.
pub mod ivr;
pub mod markdown;
pub mod metrics;
pub mod pages;
mod panic_guard;
// issue 27: dial — click-to-call and the seats' phones.
pub mod phone;
// issue 27: reminder calls (催缴) dialled
pub mod reminder_dialer;
mod router;
pub mod serve;

use std::net::SocketAddr;
use std::sync::Arc;

use leadline_engine::jobs_runner;
use leadline_store::Db;
use tokio::net::TcpListener;

pub use router::router;
pub use serve::ConnectionLimits;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: Arc<metrics::Metrics>,
    /// Mark cookies `Secure` (when served over HTTPS behind a proxy).
    pub secure_cookies: bool,
    /// Where this server keeps local copies of uploaded import files (the files themselves are
    /// in the database, for every server to read).
    pub upload_dir: std::path::PathBuf,
    /// Largest import file accepted over HTTP, in bytes.
    pub max_upload_bytes: u64,
    /// The reminder worker, event streams and shutdown signal of this server (issue 4).
    pub hub: jobs_runner::Hub,
    /// Open connections and how long the server waits on them.
    pub connections: ConnectionLimits,
    /// The lead exports running on this server, capped per user and overall.
    pub exports: Arc<api::exports::ExportSlots>,
    /// How long an event stream waits for an announced change before it reads again anyway
    /// (the catch-up for announcements lost with a dropped connection).
    pub events_catch_up: std::time::Duration,
    /// issue 27: the IVR flow the call service runs, and the prompt files.
    pub ivr: ivr::Ivr,
    /// issue 27 (dial): the call control click-to-call goes through, once one runs here.
    pub phone: phone::Phone,
}

impl AppState {
    pub fn new(db: Db) -> AppState {
        AppState {
            db,
            metrics: Arc::default(),
            secure_cookies: false,
            upload_dir: leadline_engine::upload_files::default_dir(),
            max_upload_bytes: api::uploads::MAX_UPLOAD_BYTES,
            hub: jobs_runner::Hub::new(),
            connections: ConnectionLimits::default(),
            exports: Arc::new(api::exports::ExportSlots::new(
                api::exports::EXPORTS_PER_USER,
                api::exports::EXPORTS_TOTAL,
            )),
            events_catch_up: jobs_runner::CATCH_UP_EVERY,
            ivr: ivr::Ivr::new("prompts".into()),
            phone: phone::Phone::default(),
        }
    }
}

/// A bound, not yet serving, application: tests bind port 0 and read the address.
pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    pub async fn bind(addr: &str, state: AppState) -> std::io::Result<App> {
        let listener = TcpListener::bind(addr).await?;
        // Load the segmenter's dictionary now, not inside the first search.
        leadline_search::warm_up();
        Ok(App { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves; then stops the job worker, event streams and exports,
    /// and closes connections within the grace period of [`ConnectionLimits`].
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The job worker runs beside the server; stopping the hub also ends the open event
        // streams and exports, which graceful shutdown would otherwise wait for.
        let hub = self.state.hub.clone();
        let registry = jobs_runner::Registry::standard(self.state.upload_dir.clone());
        let worker = jobs_runner::Worker::new(self.state.db.clone(), hub.clone(), registry);
        let worker = tokio::spawn(worker.run());
        // What any server writes reaches this server's streams and worker.
        let listener = hub.changes.listen(&self.state.db, hub.stopping());
        let limits = self.state.connections.clone();
        let app = router(self.state);
        let stopping = hub.clone();
        let signal = tokio::spawn(async move {
            shutdown.await;
            stopping.stop();
        });
        let served = serve::run(self.listener, app, limits, hub.stopping()).await;
        signal.abort();
        hub.stop();
        let _ = worker.await;
        let _ = listener.await;
        served
    }
}
