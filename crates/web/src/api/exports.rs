//! Lead export over HTTP: the leads a caller may see in a filter or saved view, streamed as CSV
//! (UTF-8 with BOM, or GBK) or .xlsx while the engine writes them — a million rows never sit in
//! memory. Supervisors and admins export; agents and sales reps are refused.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use leadline_domain::Role;
use leadline_store::leads::views;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

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

/// Hands the engine's bytes to the response body; blocks (on the engine's writing thread) when
/// the client reads slower than the engine writes, and fails once the client has gone.
struct BodyWriter(mpsc::Sender<io::Result<Bytes>>);

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file name for the export: the saved view's name, or 线索 (leads), and the date.
fn file_name(view: Option<&str>, format: ExportFormat) -> String {
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
        chrono::Utc::now().format("%Y%m%d-%H%M"),
        format.extension()
    )
}

/// Exports the leads the caller may see: `format` (`csv` UTF-8 with BOM, default; `csv-gbk`;
/// `xlsx`), `view` (a saved view's id) and the same filters as `GET /api/v1/leads`. Cells a
/// spreadsheet would run as a formula are neutralised. Streamed; a failure after the first
/// bytes aborts the download rather than ending it short.
#[utoipa::path(get, path = "/api/v1/leads/export",
    params(("format" = Option<String>, Query, description = "`csv` (UTF-8 with BOM), `csv-gbk` or `xlsx`"),
        ("view" = Option<i64>, Query, description = "a saved view")),
    responses((status = 200, description = "The file"), (status = 400, description = "bad_format"),
        (status = 403, description = "agents and sales reps may not export"), (status = 422)))]
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
    let name = file_name(view_name.as_deref(), format);
    tracing::info!(user = caller.user.id.0, file = %name, "lead export");

    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
    let db = state.db.clone();
    let viewer = caller.viewer.clone();
    // The engine's future is not `Send` (its page walk borrows across an async closure), so it
    // runs on a blocking thread of its own rather than on the shared workers.
    // TODO(export_run): if `export` becomes `Send`, use `tokio::spawn` here.
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let failed = tx.clone();
        let outcome = runtime.block_on(export_run::export(
            &db,
            &viewer,
            &filter,
            format,
            BodyWriter(tx),
        ));
        match outcome {
            Ok(rows) => tracing::info!(rows, "lead export done"),
            Err(e) => {
                tracing::warn!(error = %e, "lead export failed");
                let _ = failed.blocking_send(Err(io::Error::other(format!(
                    "export failed: {}",
                    e.code()
                ))));
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, attachment(&name)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(ReceiverStream::new(rx)),
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
        let n = file_name(Some("a/b:c"), ExportFormat::Xlsx);
        assert!(n.starts_with("abc-") && n.ends_with(".xlsx"), "{n}");
        assert!(file_name(None, ExportFormat::Csv).starts_with("线索-"));
    }
}
