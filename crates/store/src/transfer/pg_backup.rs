//! Backup and restore of a PostgreSQL database with PostgreSQL's own tools, `pg_dump` and
//! `pg_restore` in their custom format: they know every PostgreSQL type, index and sequence,
//! restore in parallel, and an operator can use the file without Leadline. Leadline adds the
//! check: the dump is taken in a snapshot exported from a transaction that also counts every
//! table, and the rows in the written file (read back with `pg_restore`) must match those counts.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::schema;
use super::sqlite_backup::compare;
use super::values::quote_ident;
use super::{Counts, TransferError};
use crate::Db;

/// Dumps the database at `url` (the one `db` is connected to, in its current schema) into
/// `file` (which must not exist) and checks the file's row counts against the instant dumped.
pub async fn pg_backup(db: &Db, url: &str, file: &Path) -> Result<Counts, TransferError> {
    let Db::Postgres(pool) = db else {
        return Err(TransferError::Unsupported(
            "not a PostgreSQL database".into(),
        ));
    };
    if file.exists() {
        return Err(TransferError::Failed(format!(
            "{} exists already; a backup never overwrites a file (name each one by its date)",
            file.display()
        )));
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let current: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&mut *tx)
        .await?;
    let counts = pg_counts(&mut tx).await?;
    let partial = PathBuf::from(format!("{}.partial", file.display()));
    let _ = std::fs::remove_file(&partial);
    let mut args = vec![
        "--format=custom".to_string(),
        "--no-owner".into(),
        "--no-privileges".into(),
        format!("--snapshot={snapshot}"),
        format!("--file={}", partial.display()),
    ];
    // A database's own `public` schema is dumped whole; another schema (one database shared
    // by several floors, or the tests) by name.
    if current != "public" {
        args.push(format!("--schema={current}"));
    }
    let dump = run_tool("pg_dump", url, args).await;
    tx.commit().await?;
    dump?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&partial, file)?;
    let written = pg_verify_file(file).await?;
    compare(&counts, &written)?;
    Ok(counts)
}

/// The rows each table holds in a dump file, read back with `pg_restore` (which reads the whole
/// file, so a truncated or damaged one fails here).
pub async fn pg_verify_file(file: &Path) -> Result<Counts, TransferError> {
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || dump_counts(&file))
        .await
        .map_err(|e| TransferError::Failed(e.to_string()))?
}

/// Restores the dump `file` into the database at `url` (`db` is connected to it), which must
/// hold no tables; the restored tables are counted against the dump.
pub async fn pg_restore(db: &Db, url: &str, file: &Path) -> Result<Counts, TransferError> {
    let Db::Postgres(pool) = db else {
        return Err(TransferError::Unsupported(
            "not a PostgreSQL database".into(),
        ));
    };
    let expected = pg_verify_file(file).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await?;
    if !tables.is_empty() {
        return Err(TransferError::NotEmpty(format!(
            "it holds {} tables already; restore into a new database (createdb leadline_restored)",
            tables.len()
        )));
    }
    let args = vec![
        "--no-owner".to_string(),
        "--no-privileges".into(),
        "--exit-on-error".into(),
        "--single-transaction".into(),
        file.display().to_string(),
    ];
    run_tool("pg_restore", url, args).await?;
    let mut conn = pool.acquire().await?;
    let restored = pg_counts(&mut conn).await?;
    compare(&expected, &restored)?;
    Ok(restored)
}

/// Every Leadline table's row count in the current schema.
async fn pg_counts(conn: &mut sqlx::PgConnection) -> Result<Counts, TransferError> {
    let mut out = Counts::new();
    for t in schema::postgres_tables(conn).await? {
        let sql = format!("SELECT COUNT(*) FROM {}", quote_ident(&t.name));
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await?;
        out.insert(t.name, n as u64);
    }
    Ok(out)
}

/// Runs `tool` against `url` with `args`; the password goes in the environment, not on the
/// command line where other users of the machine could read it.
async fn run_tool(
    tool: &'static str,
    url: &str,
    mut args: Vec<String>,
) -> Result<(), TransferError> {
    let (url, password) = split_password(url);
    args.push(format!("--dbname={url}"));
    let output = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(tool);
        cmd.args(&args).stdin(Stdio::null());
        if let Some(p) = password {
            cmd.env("PGPASSWORD", p);
        }
        cmd.output()
    })
    .await
    .map_err(|e| TransferError::Failed(e.to_string()))?
    .map_err(|e| missing_tool(tool, e))?;
    if !output.status.success() {
        return Err(TransferError::Failed(format!(
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

fn missing_tool(tool: &str, e: std::io::Error) -> TransferError {
    if e.kind() == std::io::ErrorKind::NotFound {
        TransferError::Unsupported(format!(
            "{tool} was not found: install PostgreSQL's client tools (the server's major version \
             or newer; on Debian `apt-get install postgresql-client`)"
        ))
    } else {
        TransferError::Failed(format!("{tool}: {e}"))
    }
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `secret`).
fn split_password(url: &str) -> (String, Option<String>) {
    if let (Some(scheme), Some(at)) = (url.find("://"), url.rfind('@'))
        && at > scheme
        && let Some((user, password)) = url[scheme + 3..at].split_once(':')
    {
        return (
            format!("{}{user}{}", &url[..scheme + 3], &url[at..]),
            Some(password.to_string()),
        );
    }
    (url.to_string(), None)
}

/// Counts the rows of each table's `COPY` block in `pg_restore --data-only` output.
fn dump_counts(file: &Path) -> Result<Counts, TransferError> {
    if !file.exists() {
        return Err(TransferError::BadBackup(format!(
            "{} does not exist",
            file.display()
        )));
    }
    let mut child = Command::new("pg_restore")
        .args(["--data-only", "--file=-"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing_tool("pg_restore", e))?;
    let stdout = child.stdout.take().expect("piped");
    let mut counts = Counts::new();
    let mut table: Option<String> = None;
    let mut line = Vec::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, stdout);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        match &table {
            Some(t) if line == b"\\.\n" => {
                counts.entry(t.clone()).or_insert(0);
                table = None;
            }
            Some(t) => *counts.entry(t.clone()).or_insert(0) += 1,
            None if line.starts_with(b"COPY ") => table = copied_table(&line),
            None => {}
        }
    }
    let out = child.wait_with_output()?;
    if !out.status.success() || table.is_some() {
        return Err(TransferError::BadBackup(format!(
            "pg_restore could not read it: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    counts.remove("_sqlx_migrations");
    Ok(counts)
}

/// `COPY schema.table (…) FROM stdin;` → `table`.
fn copied_table(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let name = text.strip_prefix("COPY ")?.split(' ').next()?;
    let bare = name.rsplit('.').next()?;
    Some(bare.trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            super::split_password("postgres://app:s3cret@db:5432/leadline"),
            (
                "postgres://app@db:5432/leadline".into(),
                Some("s3cret".into())
            )
        );
        assert_eq!(
            super::split_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".into(), None)
        );
    }

    #[test]
    fn copy_lines_name_their_table() {
        assert_eq!(
            super::copied_table(b"COPY public.leads (id, name) FROM stdin;\n").as_deref(),
            Some("leads")
        );
        assert_eq!(
            super::copied_table(b"COPY t_1.\"order\" (id) FROM stdin;\n").as_deref(),
            Some("order")
        );
    }
}
