//! Backup and restore of a SQLite database with SQLite's online backup API: the pages are
//! copied inside one read transaction of the live file, so the backup is the database at one
//! instant while the server goes on writing (WAL readers do not block the writer), and the row
//! counts taken in that same transaction are what the finished file is checked against.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::copy::{open_read_only, sqlite_path};
use super::schema;
use super::values::quote_ident;
use super::{Counts, TransferError};
use crate::Db;

/// Writes the database behind `db` to `file` (which must not exist) and checks the written file:
/// its integrity and every table's row count against the counts at the instant copied.
pub async fn sqlite_backup(db: &Db, file: &Path) -> Result<Counts, TransferError> {
    let source = sqlite_path(db)?;
    let file = file.to_path_buf();
    blocking(move || {
        refuse_existing(&file)?;
        let partial = partial_of(&file);
        let _ = std::fs::remove_file(&partial);
        let src = open_read_only(&source)?;
        src.execute_batch("BEGIN")?;
        let counts = counts(&src)?;
        {
            let mut dst = Connection::open(&partial)?;
            rusqlite::backup::Backup::new(&src, &mut dst)?.step(-1)?;
            // One self-contained file: no write-ahead log beside it.
            dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        }
        src.execute_batch("COMMIT")?;
        private_file(&partial)?;
        std::fs::rename(&partial, &file)?;
        let written = verify_file(&file)?;
        compare(&counts, &written)?;
        Ok(counts)
    })
    .await
}

/// Checks a backup file on its own: SQLite's integrity check, a Leadline schema, and its row counts.
pub async fn sqlite_verify_file(file: &Path) -> Result<Counts, TransferError> {
    let file = file.to_path_buf();
    blocking(move || verify_file(&file)).await
}

/// Restores the backup `file` into the SQLite database at `target`, which must not exist or
/// hold no Leadline data; the restored file is checked against the backup's row counts.
pub async fn sqlite_restore(file: &Path, target: &Path) -> Result<Counts, TransferError> {
    let (file, target) = (file.to_path_buf(), target.to_path_buf());
    blocking(move || {
        let expected = verify_file(&file)?;
        if target.exists() {
            let conn = open_read_only(&target)?;
            let holding = tables_with_data(&conn)?;
            if !holding.is_empty() {
                return Err(TransferError::NotEmpty(format!(
                    "{} already holds Leadline data (rows in {}); restore into a new file",
                    target.display(),
                    holding.join(", ")
                )));
            }
            drop(conn);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
            }
        }
        let partial = partial_of(&target);
        let _ = std::fs::remove_file(&partial);
        {
            let src = open_read_only(&file)?;
            let mut dst = Connection::open(&partial)?;
            rusqlite::backup::Backup::new(&src, &mut dst)?.step(-1)?;
        }
        private_file(&partial)?;
        std::fs::rename(&partial, &target)?;
        let restored = verify_file(&target)?;
        compare(&expected, &restored)?;
        Ok(restored)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TransferError> + Send + 'static,
) -> Result<T, TransferError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TransferError::Failed(e.to_string()))?
}

fn partial_of(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", file.display()))
}

fn refuse_existing(file: &Path) -> Result<(), TransferError> {
    if file.exists() {
        return Err(TransferError::Failed(format!(
            "{} exists already; a backup never overwrites a file (name each one by its date)",
            file.display()
        )));
    }
    Ok(())
}

/// A backup holds the whole floor: readable by this user only.
fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

fn verify_file(file: &Path) -> Result<Counts, TransferError> {
    if !file.exists() {
        return Err(TransferError::BadBackup(format!(
            "{} does not exist",
            file.display()
        )));
    }
    let conn = open_read_only(file)
        .map_err(|e| TransferError::BadBackup(format!("{}: {e}", file.display())))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| TransferError::BadBackup(format!("{}: {e}", file.display())))?;
    if check != "ok" {
        return Err(TransferError::BadBackup(format!(
            "SQLite's integrity check: {check}"
        )));
    }
    let leadline: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sqlx_migrations') \
         AND EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'users')",
        [],
        |r| r.get(0),
    )?;
    if !leadline {
        return Err(TransferError::BadBackup(format!(
            "{} is not a Leadline database",
            file.display()
        )));
    }
    Ok(counts(&conn)?)
}

/// Every table's row count.
fn counts(conn: &Connection) -> rusqlite::Result<Counts> {
    let mut out = Counts::new();
    for (table, _) in schema::sqlite_tables(conn)? {
        let n: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM {}", quote_ident(&table)),
            [],
            |r| r.get(0),
        )?;
        out.insert(table, n as u64);
    }
    Ok(out)
}

/// The tables of a SQLite database holding rows that a freshly migrated one would not hold.
fn tables_with_data(conn: &Connection) -> Result<Vec<String>, TransferError> {
    let seeded = schema::seeded_tables();
    Ok(counts(conn)?
        .into_iter()
        .filter(|(t, n)| *n > 0 && !seeded.contains(t))
        .map(|(t, _)| t)
        .collect())
}

/// The counts of two sides, or which tables differ.
pub(super) fn compare(expected: &Counts, found: &Counts) -> Result<(), TransferError> {
    let mut bad = Vec::new();
    for (table, n) in expected {
        match found.get(table) {
            Some(m) if m == n => {}
            Some(m) => bad.push(format!("{table}: {n} rows expected, {m} found")),
            None => bad.push(format!("{table} is missing")),
        }
    }
    for table in found.keys().filter(|t| !expected.contains_key(*t)) {
        bad.push(format!("{table} was not expected"));
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(TransferError::BadBackup(bad.join("; ")))
    }
}
