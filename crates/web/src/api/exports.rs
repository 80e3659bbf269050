//! Lead export over HTTP: the leads a caller may see in a filter or saved view, streamed as CSV
//! (UTF-8 with BOM, or GBK) or .xlsx while the engine writes them — a million rows never sit in
//! memory. Supervisors and admins export; agents and sales reps are refused.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use leadline_domain::{Role, UserId};
use leadline_engine::import_run::RunError;
use leadline_import::ImportError;
use leadline_store::leads::views;
use tokio::io::{AsyncReadExt, AsyncWrite, DuplexStream};
use tokio::sync::oneshot;

use super::leads::filter_for;
use super::{pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use leadline_engine::export_run::{self, ExportFormat};

/// Who may export: supervisors and admins. A lead list is the floor's most valuable asset and
/// the easiest to walk away with; agents work their leads in the application instead.
pub fn may_export(role: Role) -> bool {
    role.manages_leads()
}

/// `Content-Disposition: attachment` naming the file in plain ASCII for old clients and in
/// UTF-8 (`filename*`, RFC 6266/5987) for the Chinese name every current browser shows.
pub fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Lead exports one user may run at once on one server by default.
pub const EXPORTS_PER_USER: usize = 2;
/// Lead exports one server runs at once by default.
pub const EXPORTS_TOTAL: usize = 16;

/// The exports running on this server: a new one is refused (429 `too_many_exports`) past the
/// caps, so a flood of downloads that are never read cannot take the server's memory and
/// database connections from everyone else.
#[derive(Debug)]
pub struct ExportSlots {
    per_user: usize,
    total: usize,
    /// How long a download may take nothing before its export ends (see [`StallGuard`]).
    stall: Duration,
    running: Mutex<HashMap<UserId, usize>>,
}

/// How long, by default, a client may leave its download unread before its export ends.
pub const EXPORT_STALL: Duration = Duration::from_secs(120);

/// One running export's place; given back when the export ends, however it ends.
pub struct ExportSlot {
    slots: Arc<ExportSlots>,
    user: UserId,
}

impl ExportSlots {
    pub fn new(per_user: usize, total: usize) -> ExportSlots {
        ExportSlots {
            per_user,
            total,
            stall: EXPORT_STALL,
            running: Mutex::default(),
        }
    }

    /// These caps, with exports ending once their client has read nothing for `stall`.
    pub fn with_stall(mut self, stall: Duration) -> ExportSlots {
        self.stall = stall.max(Duration::from_millis(100));
        self
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, usize>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for one more export of `user`, or `TooManyExports`.
    pub fn start(self: &Arc<Self>, user: UserId) -> ApiResult<ExportSlot> {
        let mut running = self.running();
        let all: usize = running.values().sum();
        let mine = running.entry(user).or_default();
        if *mine >= self.per_user || all >= self.total {
            if *mine == 0 {
                running.remove(&user);
            }
            return Err(AppError::TooManyExports);
        }
        *mine += 1;
        Ok(ExportSlot {
            slots: self.clone(),
            user,
        })
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self.slots.running();
        if let Some(n) = running.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.user);
            }
        }
    }
}

/// The export's end of the download: a write that the client leaves waiting for longer than
/// the limit fails, so an export whose client keeps its connection open but stopped reading
/// gives its slot (and its database work) back instead of holding them until the client goes.
/// A slow query does not count: only a write the client does not take.
struct StallGuard<W> {
    inner: W,
    limit: Duration,
    waiting: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<W> StallGuard<W> {
    fn new(inner: W, limit: Duration) -> StallGuard<W> {
        StallGuard {
            inner,
            limit,
            waiting: None,
        }
    }

    /// What a pending write becomes: still pending, or, past the limit, an error.
    fn waited<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.waiting = None;
            return polled;
        }
        let limit = self.limit;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match waiting.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the download",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for StallGuard<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.waited(cx, polled)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.waited(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.waited(cx, polled)
    }
}

/// The response body: the engine's bytes as they come, then, should the export fail or be
/// stopped, an error that cuts the download off rather than ending it short as if complete.
fn body_of(file: DuplexStream, outcome: oneshot::Receiver<Result<u64, &'static str>>) -> Body {
    let bytes = futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 32 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let end = futures_util::stream::once(async move {
        match outcome.await {
            Ok(Ok(_)) => None,
            Ok(Err(code)) => Some(Err(io::Error::other(format!("export failed: {code}")))),
            Err(_) => Some(Err(io::Error::other("export ended"))),
        }
    })
    .filter_map(std::future::ready);
    Body::from_stream(bytes.chain(end))
}

/// A file name for the export: the saved view's name, or 线索 (leads), and the date and time
/// `at` on the exporter's clock (their zone; Asia/Shanghai by default), not UTC's: an export
/// made at 03:58 on the 7th in Beijing is `…-20261207-0358`.
fn file_name(
    view: Option<&str>,
    format: ExportFormat,
    at: chrono::DateTime<chrono::Utc>,
    zone: chrono_tz::Tz,
) -> String {
    let stem: String = view
        .unwrap_or("线索")
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|')
        })
        .take(60)
        .collect();
    let stem = if stem.trim().is_empty() {
        "线索".to_string()
    } else {
        stem
    };
    format!(
        "{stem}-{}.{}",
        at.with_timezone(&zone).format("%Y%m%d-%H%M"),
        format.extension()
    )
}

/// Exports the leads the caller may see: `format` (`csv` UTF-8 with BOM, default; `csv-gbk`;
/// `xlsx`), `view` (a saved view's id) and the same filters as `GET /api/v1/leads`. Cells a
/// spreadsheet would run as a formula are neutralised. Streamed; a failure after the first
/// bytes aborts the download rather than ending it short. Past the per-user or server-wide
/// number of running exports, 429 `too_many_exports`.
#[utoipa::path(get, path = "/api/v1/leads/export",
    params(("format" = Option<String>, Query, description = "`csv` (UTF-8 with BOM), `csv-gbk` or `xlsx`"),
        ("view" = Option<i64>, Query, description = "a saved view")),
    responses((status = 200, description = "The file"), (status = 400, description = "bad_format"),
        (status = 403, description = "agents and sales reps may not export"), (status = 422),
        (status = 429, description = "too_many_exports: wait for a running export to finish")))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    if !may_export(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    let pairs = query_pairs(query.as_deref());
    let format = match pair(&pairs, "format").filter(|f| !f.is_empty()) {
        None => ExportFormat::Csv,
        Some(f) => ExportFormat::parse(f).ok_or(AppError::BadRequest("bad_format"))?,
    };
    let filter_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "format")
        .cloned()
        .collect();
    let filter = filter_for(&state, &caller, &filter_pairs).await?;
    let view_name = match pair(&pairs, "view").filter(|v| !v.is_empty()) {
        Some(id) => {
            let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
            Some(views::get(&state.db, caller.user.id, id).await?.name)
        }
        None => None,
    };
    let name = file_name(
        view_name.as_deref(),
        format,
        chrono::Utc::now(),
        super::workspace::zone_of(&caller),
    );
    tracing::info!(user = caller.user.id.0, file = %name, "lead export");

    let slot = state.exports.start(caller.user.id)?;
    // The engine writes into one end as fast as the client reads the other: waiting on a slow
    // client is an await on this task, never a thread.
    let (file, written) = tokio::io::duplex(64 * 1024);
    let (done, outcome) = oneshot::channel();
    let db = state.db.clone();
    let viewer = caller.viewer.clone();
    let mut stopping = state.hub.stopping();
    let written = StallGuard::new(written, state.exports.stall);
    tokio::spawn(async move {
        let _slot = slot;
        let ended = tokio::select! {
            ended = export_run::export(&db, &viewer, &filter, format, written) => ended,
            _ = async { let _ = stopping.wait_for(|s| *s).await; } => {
                tracing::info!("lead export stopped: the server is shutting down");
                let _ = done.send(Err("server_stopping"));
                return;
            }
        };
        let _ = done.send(match ended {
            Ok(rows) => {
                tracing::info!(rows, "lead export done");
                Ok(rows)
            }
            Err(RunError::Import(ImportError::Io(e))) => {
                // The client went away (the body, and so the other end, was dropped), or
                // stopped reading for longer than the stall limit.
                tracing::info!(error = %e, "lead export ended: the download was not read");
                Err("client_gone")
            }
            Err(e) => {
                tracing::warn!(error = %e, "lead export failed");
                Err(e.code())
            }
        });
    });
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, attachment(&name)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body_of(file, outcome),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_chinese_files_in_utf8_with_an_ascii_fallback() {
        assert_eq!(
            attachment("线索-1.csv"),
            "attachment; filename=\"__-1.csv\"; filename*=UTF-8''%E7%BA%BF%E7%B4%A2-1.csv"
        );
        assert!(attachment("a\"b.csv").starts_with("attachment; filename=\"a_b.csv\""));
    }

    #[test]
    fn export_file_names_drop_path_characters() {
        let at = chrono::Utc::now();
        let zone = chrono_tz::Asia::Shanghai;
        let n = file_name(Some("a/b:c"), ExportFormat::Xlsx, at, zone);
        assert!(n.starts_with("abc-") && n.ends_with(".xlsx"), "{n}");
        assert!(file_name(None, ExportFormat::Csv, at, zone).starts_with("线索-"));
    }

    #[test]
    fn export_file_names_use_the_exporters_clock() {
        use chrono::TimeZone;
        // 19:58 UTC on the 6th is 03:58 on the 7th in Beijing.
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 19, 58, 0)
            .unwrap();
        assert_eq!(
            file_name(None, ExportFormat::Xlsx, at, chrono_tz::Asia::Shanghai),
            "线索-20261207-0358.xlsx"
        );
        assert_eq!(
            file_name(None, ExportFormat::Csv, at, chrono_tz::Europe::London),
            "线索-20261206-1958.csv"
        );
    }
}
