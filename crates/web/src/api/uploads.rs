//! Import files received over HTTP: streamed from a multipart form into the database in chunks
//! (so that every app server can read them) and to a local copy on the server that received them.

use std::path::PathBuf;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use leadline_domain::UserId;
use leadline_engine::upload_files;
use leadline_store::uploads::{self, CHUNK_BYTES};
use tokio::io::AsyncWriteExt;

use crate::AppState;
use crate::error::AppError;

/// Largest import file accepted over HTTP by default (the import crate's own file limit).
pub const MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;
/// Room for a form's other fields around the file.
pub const FORM_OVERHEAD: usize = 64 * 1024;
/// Largest text field of an upload form.
const MAX_TEXT_FIELD: usize = 16 * 1024;

/// A stored upload: the database's record (its token is what forms name it by), and this
/// server's local copy, which the readers work on.
#[derive(Debug, Clone)]
pub struct Upload {
    pub token: String,
    pub file_name: String,
    pub path: PathBuf,
    pub stored: uploads::Upload,
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
    pub async fn discard(self, state: &AppState) {
        if let Some(u) = self.upload {
            u.remove(state).await;
        }
    }
}

impl Upload {
    /// Removes the upload from the database and this server's copy.
    pub async fn remove(&self, state: &AppState) {
        if let Err(e) = upload_files::remove(&state.db, &state.upload_dir, &self.stored).await {
            tracing::warn!(upload = %self.stored.id, error = %e, "removing an upload failed");
        }
    }
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

/// Reads a multipart form, streaming its `file` part into the database in chunks of
/// [`CHUNK_BYTES`] and to this server's copy (at most `max_upload_bytes`; one chunk in memory).
/// A failure removes whatever was stored.
pub async fn receive(
    state: &AppState,
    user: UserId,
    mut form: Multipart,
) -> Result<Received, AppError> {
    let mut received = Received {
        upload: None,
        fields: Vec::new(),
    };
    // An upload being stored, removed again if the form fails.
    let mut storing: Option<(uploads::Upload, PathBuf)> = None;
    let result = async {
        while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                if received.upload.is_some() || storing.is_some() {
                    return Err(AppError::BadRequest("one_file_only"));
                }
                let given = field.file_name().unwrap_or("").to_string();
                let file_name = clean_file_name(&given);
                let token = leadline_store::auth::random_secret();
                let extension = safe_extension(&file_name);
                let now = leadline_store::now();
                let id =
                    uploads::create(&state.db, &token, user, &file_name, extension, now).await?;
                let mut stored = uploads::Upload {
                    id,
                    token,
                    user_id: user,
                    file_name,
                    extension: extension.to_string(),
                    size: 0,
                    created_at: now,
                };
                upload_files::private_dir(&state.upload_dir)
                    .await
                    .map_err(io_error)?;
                let part = state
                    .upload_dir
                    .join(format!("{}.{extension}.part", stored.token));
                storing = Some((stored.clone(), part.clone()));
                sweep_soon(state);
                let mut out = upload_files::private_file(&part).await.map_err(io_error)?;
                let mut chunk = Vec::with_capacity(CHUNK_BYTES);
                let mut seq = 0i64;
                let mut size: u64 = 0;
                while let Some(bytes) = field.chunk().await.map_err(multipart_error)? {
                    size += bytes.len() as u64;
                    if size > state.max_upload_bytes {
                        return Err(AppError::PayloadTooLarge);
                    }
                    out.write_all(&bytes).await.map_err(io_error)?;
                    let mut rest = &bytes[..];
                    while !rest.is_empty() {
                        let take = rest.len().min(CHUNK_BYTES - chunk.len());
                        chunk.extend_from_slice(&rest[..take]);
                        rest = &rest[take..];
                        if chunk.len() == CHUNK_BYTES {
                            uploads::put_chunk(&state.db, id, seq, &chunk).await?;
                            chunk.clear();
                            seq += 1;
                        }
                    }
                }
                if !chunk.is_empty() {
                    uploads::put_chunk(&state.db, id, seq, &chunk).await?;
                }
                out.flush().await.map_err(io_error)?;
                drop(out);
                if size == 0 && given.is_empty() {
                    // A file input left empty sends a nameless, empty part.
                    return Err(AppError::BadRequest("file_missing"));
                }
                uploads::finish(&state.db, id, size as i64).await?;
                stored.size = size as i64;
                let path = upload_files::local_path(&state.upload_dir, &stored);
                tokio::fs::rename(&part, &path).await.map_err(io_error)?;
                storing = None;
                received.upload = Some(Upload {
                    token: stored.token.clone(),
                    file_name: stored.file_name.clone(),
                    path,
                    stored,
                });
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
            if let Some((stored, part)) = storing {
                let _ = tokio::fs::remove_file(&part).await;
                if let Err(e) = uploads::remove(&state.db, stored.id).await {
                    tracing::warn!(upload = %stored.id, error = %e, "removing an upload failed");
                }
            }
            received.discard(state).await;
            Err(e)
        }
    }
}

/// How long an upload is kept: time enough to map it, start it, and resume a failed import.
pub const KEEP_UPLOADS: chrono::TimeDelta = chrono::TimeDelta::days(3);

/// Removes, in the background, the uploads older than [`KEEP_UPLOADS`] (previewed and abandoned,
/// or of failed imports never resumed, or half stored by a server that died) and this server's
/// old local copies; a done import removes its own at once.
fn sweep_soon(state: &AppState) {
    let (db, dir) = (state.db.clone(), state.upload_dir.clone());
    tokio::spawn(async move {
        if let Err(e) = uploads::remove_older_than(&db, leadline_store::now() - KEEP_UPLOADS).await
        {
            tracing::warn!(error = %e, "removing old uploads failed");
        }
        let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
            return;
        };
        let keep = KEEP_UPLOADS.to_std().unwrap_or_default();
        while let Ok(Some(entry)) = entries.next_entry().await {
            let old = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > keep);
            if old {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
    });
}

/// A stored upload by its token, with this server's copy of it (made now if it has none); 404
/// unless `user` sent it and it is still there.
pub async fn find(state: &AppState, user: UserId, token: &str) -> Result<Upload, AppError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let stored = uploads::find(&state.db, token)
        .await?
        .filter(|u| u.user_id == user)
        .ok_or(AppError::NotFound)?;
    let path = upload_files::local_copy(&state.db, &state.upload_dir, &stored).await?;
    Ok(Upload {
        token: stored.token.clone(),
        file_name: stored.file_name.clone(),
        path,
        stored,
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
