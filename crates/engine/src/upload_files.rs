//! Local copies of uploads stored in the database (`leadline_store::uploads`): the file readers
//! seek, so an import or a preview reads a copy on the disk of the server doing the work, made
//! chunk by chunk (one chunk in memory at a time) and kept for the next request.

use std::path::{Path, PathBuf};

use leadline_store::uploads::{self, Upload};
use leadline_store::{Db, StoreError};
use tokio::io::AsyncWriteExt;

/// What `imports.file_path` holds for an import of a stored upload: this prefix and its token.
const STORED: &str = "upload:";

/// The directory servers keep their local copies in unless told otherwise.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join("leadline-uploads")
}

/// `imports.file_path` for an import of `upload`.
pub fn file_ref(upload: &Upload) -> String {
    format!("{STORED}{}", upload.token)
}

/// The token of the stored upload an import's `file_path` names, if it names one.
pub fn token_of(file_path: &str) -> Option<&str> {
    file_path.strip_prefix(STORED)
}

/// Where this server keeps its copy of `upload` in `dir`.
pub fn local_path(dir: &Path, upload: &Upload) -> PathBuf {
    dir.join(format!("{}.{}", upload.token, upload.extension))
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("copying an upload: {e}"))
}

/// A local copy of `upload` in `dir`: the one already there (whole), or a new one written from
/// the database chunk by chunk and moved into place when complete.
pub async fn local_copy(db: &Db, dir: &Path, upload: &Upload) -> Result<PathBuf, StoreError> {
    let path = local_path(dir, upload);
    if let Ok(meta) = tokio::fs::metadata(&path).await
        && meta.len() == upload.size as u64
    {
        return Ok(path);
    }
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let part = dir.join(format!(
        "{}.{}.part",
        upload.token,
        &leadline_store::auth::random_secret()[..8]
    ));
    let copied = async {
        let mut out = tokio::fs::File::create(&part).await.map_err(io)?;
        let mut seq = 0;
        let mut size = 0u64;
        while let Some(bytes) = uploads::chunk(db, upload.id, seq).await? {
            size += bytes.len() as u64;
            out.write_all(&bytes).await.map_err(io)?;
            seq += 1;
        }
        out.flush().await.map_err(io)?;
        if size != upload.size as u64 {
            return Err(StoreError::Internal(format!(
                "upload {} has {size} bytes stored of {}",
                upload.id, upload.size
            )));
        }
        tokio::fs::rename(&part, &path).await.map_err(io)
    }
    .await;
    if copied.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    copied.map(|()| path)
}

/// Removes an upload: its rows, and this server's copy in `dir`.
pub async fn remove(db: &Db, dir: &Path, upload: &Upload) -> Result<(), StoreError> {
    let _ = tokio::fs::remove_file(local_path(dir, upload)).await;
    uploads::remove(db, upload.id).await
}
