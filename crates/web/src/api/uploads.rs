//! Import files received over HTTP: streamed from a multipart form into the upload directory
//! under a random name, with a small sidecar saying who sent it and what it was called.

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use leadline_domain::UserId;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::AppState;
use crate::error::AppError;

/// Largest import file accepted over HTTP by default (the import crate's own file limit).
pub const MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;
/// Room for a form's other fields around the file.
pub const FORM_OVERHEAD: usize = 64 * 1024;
/// Largest text field of an upload form.
const MAX_TEXT_FIELD: usize = 16 * 1024;

/// What the sidecar records about an upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    file_name: String,
    user_id: i64,
    extension: String,
}

/// A stored upload: its token (the random part of its name), the name the user gave it, and
/// where it lies.
#[derive(Debug, Clone)]
pub struct Upload {
    pub token: String,
    pub file_name: String,
    pub path: PathBuf,
}

/// A multipart form: the file (stored) if it had one, and its text fields in order.
pub struct Received {
    pub upload: Option<Upload>,
    pub fields: Vec<(String, String)>,
}

impl Received {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Removes the stored file (after a refusal).
    pub async fn discard(self) {
        if let Some(u) = self.upload {
            u.remove().await;
        }
    }
}

impl Upload {
    pub async fn remove(&self) {
        let _ = tokio::fs::remove_file(&self.path).await;
        if let Some(dir) = self.path.parent() {
            let _ = tokio::fs::remove_file(meta_path(dir, &self.token)).await;
        }
    }
}

fn meta_path(dir: &Path, token: &str) -> PathBuf {
    dir.join(format!("{token}.json"))
}

/// The extension the stored copy keeps, so the reader can check the content against it; only
/// the few the reader knows survive, anything else becomes `bin`.
fn safe_extension(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => "csv",
        "txt" => "txt",
        "tsv" => "tsv",
        "xlsx" => "xlsx",
        "xlsm" => "xlsm",
        "xls" => "xls",
        _ => "bin",
    }
}

/// The name the user gave, without any directory part and bounded in length.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if base.is_empty() {
        "upload.csv".into()
    } else {
        base
    }
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        tracing::debug!(error = %e, "unreadable multipart form");
        AppError::BadRequest("bad_form")
    }
}

fn io_error(e: std::io::Error) -> AppError {
    AppError::Internal(format!("storing an upload: {e}"))
}

/// Reads a multipart form, streaming its `file` part to disk (at most `max_upload_bytes`). A
/// failure removes whatever was stored.
pub async fn receive(
    state: &AppState,
    user: UserId,
    mut form: Multipart,
) -> Result<Received, AppError> {
    let mut received = Received {
        upload: None,
        fields: Vec::new(),
    };
    let result = async {
        while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                if received.upload.is_some() {
                    return Err(AppError::BadRequest("one_file_only"));
                }
                let given = field.file_name().unwrap_or("").to_string();
                let file_name = clean_file_name(&given);
                let upload = new_upload(state, user, &file_name).await?;
                let mut out = tokio::fs::File::create(&upload.path)
                    .await
                    .map_err(io_error)?;
                received.upload = Some(upload);
                let mut size: u64 = 0;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    size += chunk.len() as u64;
                    if size > state.max_upload_bytes {
                        return Err(AppError::PayloadTooLarge);
                    }
                    out.write_all(&chunk).await.map_err(io_error)?;
                }
                out.flush().await.map_err(io_error)?;
                if size == 0 && given.is_empty() {
                    // A file input left empty sends a nameless, empty part.
                    return Err(AppError::BadRequest("file_missing"));
                }
            } else {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    text.extend_from_slice(&chunk);
                    if text.len() > MAX_TEXT_FIELD {
                        return Err(AppError::PayloadTooLarge);
                    }
                }
                let text = String::from_utf8(text).map_err(|_| AppError::BadRequest("bad_form"))?;
                received.fields.push((name, text));
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(received),
        Err(e) => {
            received.discard().await;
            Err(e)
        }
    }
}

/// How long an upload is kept: time enough to map it, start it, and resume a failed import.
pub const KEEP_UPLOADS: std::time::Duration = std::time::Duration::from_secs(3 * 24 * 3600);

/// Removes uploads older than [`KEEP_UPLOADS`] (previewed and abandoned, or of failed imports
/// never resumed); a done import removes its own at once.
async fn sweep(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let old = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > KEEP_UPLOADS);
        if old {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

async fn new_upload(state: &AppState, user: UserId, file_name: &str) -> Result<Upload, AppError> {
    tokio::fs::create_dir_all(&state.upload_dir)
        .await
        .map_err(io_error)?;
    let dir = state.upload_dir.clone();
    tokio::spawn(async move { sweep(&dir).await });
    let token = leadline_store::auth::random_secret();
    let extension = safe_extension(file_name);
    let path = state.upload_dir.join(format!("{token}.{extension}"));
    let meta = Meta {
        file_name: file_name.to_string(),
        user_id: user.0,
        extension: extension.to_string(),
    };
    let json = serde_json::to_vec(&meta).map_err(|e| AppError::Internal(e.to_string()))?;
    tokio::fs::write(meta_path(&state.upload_dir, &token), json)
        .await
        .map_err(io_error)?;
    Ok(Upload {
        token,
        file_name: file_name.to_string(),
        path,
    })
}

/// A stored upload by its token; 404 unless `user` sent it and it is still there.
pub async fn find(state: &AppState, user: UserId, token: &str) -> Result<Upload, AppError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let meta: Meta = tokio::fs::read(meta_path(&state.upload_dir, token))
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(AppError::NotFound)?;
    let path = state.upload_dir.join(format!(
        "{token}.{}",
        safe_extension(&format!("x.{}", meta.extension))
    ));
    if meta.user_id != user.0 || !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(AppError::NotFound);
    }
    Ok(Upload {
        token: token.to_string(),
        file_name: meta.file_name,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_keep_only_known_extensions_and_no_directories() {
        assert_eq!(safe_extension("客户.CSV"), "csv");
        assert_eq!(safe_extension("list.xlsx"), "xlsx");
        assert_eq!(safe_extension("../../etc/passwd"), "bin");
        assert_eq!(safe_extension("noext"), "bin");
        assert_eq!(clean_file_name("C:\\Users\\王\\客户.csv"), "客户.csv");
        assert_eq!(clean_file_name("../a/b.csv"), "b.csv");
        assert_eq!(clean_file_name(""), "upload.csv");
    }
}
