//! Import files received over HTTP, kept in the database in chunks of [`CHUNK_BYTES`] so that
//! any app server can preview, start or resume an import whichever server received the file.

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use leadline_domain::ids::UploadId;

use crate::{Db, Result, db_run};

/// Bytes of one stored chunk: a 256 MB file is 256 rows, and no request holds more than one
/// chunk in memory.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// A stored upload; `size` is set once its last chunk is stored (until then it cannot be found).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Upload {
    pub id: UploadId,
    pub token: String,
    pub user_id: UserId,
    pub file_name: String,
    pub extension: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

/// Registers an upload whose chunks are about to be stored.
pub async fn create(
    db: &Db,
    token: &str,
    user: UserId,
    file_name: &str,
    extension: &str,
    now: DateTime<Utc>,
) -> Result<UploadId> {
    const SQL: &str = "INSERT INTO uploads (token, user_id, file_name, extension, created_at) \
        VALUES ($1, $2, $3, $4, $5) RETURNING id";
    Ok(db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(token)
        .bind(user)
        .bind(file_name)
        .bind(extension)
        .bind(now)
        .fetch_one(pool)
        .await?))
}

/// Stores chunk number `seq` (from 0) of an upload.
pub async fn put_chunk(db: &Db, id: UploadId, seq: i64, bytes: &[u8]) -> Result<()> {
    const SQL: &str = "INSERT INTO upload_chunks (upload_id, seq, bytes) VALUES ($1, $2, $3)";
    db_run!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(seq)
        .bind(bytes)
        .execute(pool)
        .await
        .map(|_| ())?);
    Ok(())
}

/// Marks an upload complete at `size` bytes: from now on it can be found.
pub async fn finish(db: &Db, id: UploadId, size: i64) -> Result<()> {
    db_run!(db, |pool| sqlx::query(
        "UPDATE uploads SET size = $1 WHERE id = $2"
    )
    .bind(size)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}

/// A complete upload by its token.
pub async fn find(db: &Db, token: &str) -> Result<Option<Upload>> {
    const SQL: &str = "SELECT id, token, user_id, file_name, extension, size, created_at \
        FROM uploads WHERE token = $1 AND size IS NOT NULL";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(token)
        .fetch_optional(pool)
        .await?))
}

/// Chunk number `seq` of an upload, `None` past the last.
pub async fn chunk(db: &Db, id: UploadId, seq: i64) -> Result<Option<Vec<u8>>> {
    const SQL: &str = "SELECT bytes FROM upload_chunks WHERE upload_id = $1 AND seq = $2";
    Ok(db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(id)
        .bind(seq)
        .fetch_optional(pool)
        .await?))
}

/// Removes an upload and its chunks.
pub async fn remove(db: &Db, id: UploadId) -> Result<()> {
    db_run!(db, |pool| {
        sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
            .bind(id)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Removes the uploads created before `before` (previewed and abandoned, or of failed imports
/// never resumed, or left half-stored by a server that died); returns how many.
pub async fn remove_older_than(db: &Db, before: DateTime<Utc>) -> Result<usize> {
    let old: Vec<UploadId> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM uploads WHERE created_at < $1"
    )
    .bind(before)
    .fetch_all(pool)
    .await?);
    for id in &old {
        remove(db, *id).await?;
    }
    Ok(old.len())
}
