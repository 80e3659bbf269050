//! Local copies of uploads stored in the database (`leadline_store::uploads`): the file readers
//! seek, so an import or a preview reads a copy on the disk of the server doing the work, made
//! chunk by chunk (one chunk in memory at a time) and kept for the next request. The directory
//! is the service's user's alone (0700) and so is every file in it (0600).

use std::path::{Path, PathBuf};

use leadline_store::uploads::{self, Upload};
use leadline_store::{Db, StoreError};
use tokio::io::AsyncWriteExt;

/// What `imports.file_path` holds for an import of a stored upload: this prefix and its token.
const STORED: &str = "upload:";

/// The directory servers keep their local copies in when nothing better is known (a PostgreSQL
/// server without a configured directory; `leadline import`).
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join("leadline-uploads")
}

/// The default directory for a server on `database_url`: beside a SQLite database file
/// (`<file>.uploads`), so that the files live and are backed up with the database; the
/// [`default_dir`] for PostgreSQL.
pub fn dir_for_database(database_url: &str) -> PathBuf {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return default_dir();
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    let path = path.split('?').next().unwrap_or(path);
    PathBuf::from(format!("{path}.uploads"))
}

/// Creates `dir` (with its missing parents) for this user only, or makes an existing one so: a
/// directory another user owns is an error rather than a place to leave import files in.
pub async fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .await?;
    tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await
}

/// Creates (or truncates) a file only this user may read and write.
pub async fn private_file(path: &Path) -> std::io::Result<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .await
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
    private_dir(dir).await.map_err(io)?;
    let part = dir.join(format!(
        "{}.{}.part",
        upload.token,
        &leadline_store::auth::random_secret()[..8]
    ));
    let copied = async {
        let mut out = private_file(&part).await.map_err(io)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_default_to_beside_a_sqlite_file() {
        assert_eq!(
            dir_for_database("./leadline.db"),
            PathBuf::from("./leadline.db.uploads")
        );
        assert_eq!(
            dir_for_database("sqlite:///srv/ll/data.db?mode=rwc"),
            PathBuf::from("/srv/ll/data.db.uploads")
        );
        assert_eq!(dir_for_database("postgres://u@h/db"), default_dir());
    }

    #[tokio::test]
    async fn the_directory_and_files_are_the_users_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "leadline-private-{}",
            &leadline_store::auth::random_secret()[..12]
        ));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).await.unwrap();
        let file = dir.join("a.csv");
        drop(private_file(&file).await.unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode(&dir), mode(&file)),
            (0o700, 0o600),
            "an existing open directory is closed too"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
