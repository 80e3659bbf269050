//! `leadline copy`: a SQLite database into an empty PostgreSQL one, table by table through
//! `COPY`, in one PostgreSQL transaction, checked before it commits (every table's row count
//! and checksum on both sides), so that a copy either arrives whole and verified or not at all.

use std::time::Instant;

use sqlx::{PgConnection, Row};
use tokio::sync::mpsc;

use super::schema::{self, Table};
use super::values::{Cell, TableSum, quote_ident};
use super::{CopyReport, TableCheck, TransferError};
use crate::Db;

/// Rows of `COPY` text sent to PostgreSQL at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// What the SQLite reader (a thread of its own, one read transaction) hands the copy.
enum Read {
    Chunk(String),
    /// The table's rows are all sent; its checksum as read.
    TableDone(TableSum),
    /// SQLite's AUTOINCREMENT counters (`sqlite_sequence`), which may be past the largest id.
    Counters(Vec<(String, i64)>),
}

/// The path of the SQLite file behind `db`.
pub(super) fn sqlite_path(db: &Db) -> Result<std::path::PathBuf, TransferError> {
    match db {
        Db::Sqlite(pool) => Ok(pool.connect_options().get_filename().to_path_buf()),
        Db::Postgres(_) => Err(TransferError::Unsupported(
            "the source of a copy is a SQLite database (to move a PostgreSQL database, use \
             `leadline backup` and `leadline restore`)"
                .into(),
        )),
    }
}

/// Opens the SQLite file read-only for a long read.
pub(super) fn open_read_only(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// The tables both databases hold, paired (see [`schema::pair`]).
pub(super) async fn paired_tables(
    sqlite_file: &std::path::Path,
    pg: &mut PgConnection,
) -> Result<Vec<Table>, TransferError> {
    let path = sqlite_file.to_path_buf();
    let lite = tokio::task::spawn_blocking(move || {
        let conn = open_read_only(&path)?;
        schema::sqlite_tables(&conn)
    })
    .await
    .map_err(|e| TransferError::Failed(e.to_string()))??;
    let pg_tables = schema::postgres_tables(pg).await?;
    schema::pair(&lite, &pg_tables)
}

/// Refuses a target that holds Leadline data or tables that are not Leadline's, and migrates
/// one that holds no tables at all (or an older Leadline schema).
pub async fn prepare_target(target: &Db) -> Result<(), TransferError> {
    let Db::Postgres(pool) = target else {
        return Err(TransferError::Unsupported(
            "the target of `leadline copy` is a PostgreSQL database (postgres://…)".into(),
        ));
    };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await?;
    if !tables.is_empty() && !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err(TransferError::NotEmpty(format!(
            "it holds tables that are not Leadline's ({}); copy into a new database \
             (createdb leadline)",
            tables.join(", ")
        )));
    }
    target.migrate().await?;
    let mut conn = pool.acquire().await?;
    let holding = tables_with_data(&mut conn).await?;
    if !holding.is_empty() {
        return Err(TransferError::NotEmpty(format!(
            "it already holds Leadline data (rows in {}{}); copying would mix two floors. Copy \
             into a new, empty database (createdb leadline_new) or drop this one first",
            holding
                .iter()
                .take(6)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if holding.len() > 6 {
                format!(" and {} more tables", holding.len() - 6)
            } else {
                String::new()
            }
        )));
    }
    Ok(())
}

/// The tables holding rows that a freshly migrated database would not hold.
async fn tables_with_data(conn: &mut PgConnection) -> Result<Vec<String>, TransferError> {
    let seeded = schema::seeded_tables();
    let mut out = Vec::new();
    for t in schema::postgres_tables(conn).await? {
        if seeded.contains(&t.name) {
            continue;
        }
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote_ident(&t.name));
        let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await?;
        if any {
            out.push(t.name);
        }
    }
    Ok(out)
}

/// The newest migration applied, on either backend (they number their migrations alike).
async fn migration_level(db: &Db) -> Result<i64, TransferError> {
    const SQL: &str = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
    Ok(crate::db_run!(db, |pool| sqlx::query_scalar::<_, i64>(SQL)
        .fetch_one(pool)
        .await?))
}

/// Copies `source` (SQLite, migrated) into `target` (PostgreSQL, refused unless
/// [`prepare_target`] finds it empty) and
/// checks the copy before committing it; then makes the lead search tokens PostgreSQL keeps in
/// `leads.search_tokens` (SQLite's FTS5 index holds no text to copy). `progress` hears each
/// table as it is done.
pub async fn copy_to_postgres(
    source: &Db,
    target: &Db,
    progress: &(dyn Fn(&TableCheck) + Sync),
) -> Result<CopyReport, TransferError> {
    let started = Instant::now();
    let path = sqlite_path(source)?;
    prepare_target(target).await?;
    // SQLite indexes call notes a little after their calls (PostgreSQL with them): the notes
    // not yet indexed are indexed now, or PostgreSQL would never index them.
    crate::search::index_new_notes(source).await?;
    let Db::Postgres(pool) = target else {
        return Err(TransferError::Unsupported(
            "the target must be PostgreSQL".into(),
        ));
    };
    let (from, to) = (
        migration_level(source).await?,
        migration_level(target).await?,
    );
    if from != to {
        return Err(TransferError::SchemaDiffers(format!(
            "the SQLite database is at migration {from}, the PostgreSQL one at {to}; run \
             `leadline migrate` on both with this version of leadline"
        )));
    }
    let mut tx = pool.begin().await?;
    let tables = paired_tables(&path, &mut tx).await?;

    // Foreign keys are checked once per table after the load (as pg_restore does), not per
    // row; the triggers that react to new rows stay off, the copied rows carry their effects.
    let keys = schema::foreign_keys(&mut tx).await?;
    for k in &keys {
        let sql = format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            quote_ident(&k.table),
            quote_ident(&k.name)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    let triggered = schema::tables_with_triggers(&mut tx).await?;
    for t in &triggered {
        let sql = format!("ALTER TABLE {} DISABLE TRIGGER USER", quote_ident(t));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    // Only the migrations' starting rows can be here (prepare_target): the source's own replace them.
    for t in &tables {
        let sql = format!("DELETE FROM {}", quote_ident(&t.name));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }

    let (sender, mut reads) = mpsc::channel::<Result<Read, TransferError>>(4);
    let reader = {
        let (path, tables) = (path.clone(), tables.clone());
        std::thread::spawn(move || read_sqlite(&path, &tables, &sender))
    };
    let mut sums = Vec::with_capacity(tables.len());
    for t in &tables {
        let sql = format!(
            "COPY {} ({}) FROM STDIN",
            quote_ident(&t.name),
            t.column_list()
        );
        let mut copy = tx.copy_in_raw(&sql).await?;
        let outcome = loop {
            match reads.recv().await {
                Some(Ok(Read::Chunk(text))) => {
                    if let Err(e) = copy.send(text.into_bytes()).await {
                        break Err(TransferError::from(e));
                    }
                }
                Some(Ok(Read::TableDone(sum))) => break Ok(sum),
                Some(Ok(Read::Counters(_))) | None => {
                    break Err(TransferError::Failed(
                        "the SQLite reader stopped before the last table".into(),
                    ));
                }
                Some(Err(e)) => break Err(e),
            }
        };
        match outcome {
            Ok(sum) => {
                copy.finish().await?;
                sums.push(sum);
            }
            Err(e) => {
                // End the open COPY before the transaction is dropped (and rolled back).
                let _ = copy.abort("leadline copy failed").await;
                return Err(e);
            }
        }
    }
    let counters = match reads.recv().await {
        Some(Ok(Read::Counters(c))) => c,
        Some(Err(e)) => return Err(e),
        _ => Vec::new(),
    };
    let _ = reader.join();

    for k in &keys {
        let sql = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {}",
            quote_ident(&k.table),
            quote_ident(&k.name),
            k.definition
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| TransferError::Failed(format!("{}: {e}", k.table)))?;
    }
    for t in &triggered {
        let sql = format!("ALTER TABLE {} ENABLE TRIGGER USER", quote_ident(t));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    set_identity_counters(&mut tx, &tables, &counters).await?;
    // The search postings are made from the copied documents (their trigger was off).
    sqlx::query("SELECT search_postings_rebuild()")
        .execute(&mut *tx)
        .await?;

    let mut checks = Vec::with_capacity(tables.len());
    for (t, source_sum) in tables.iter().zip(sums) {
        let check = TableCheck {
            table: t.name.clone(),
            source: source_sum,
            target: postgres_sum(&mut tx, t).await?,
        };
        progress(&check);
        checks.push(check);
    }
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| !c.matches())
        .map(TableCheck::describe)
        .collect();
    if !bad.is_empty() {
        tx.rollback().await?;
        return Err(TransferError::Mismatch(bad.join("; ")));
    }
    // The lead search tokens are made by the program from the copied leads; the marker in the
    // same transaction means an interrupted rebuild is done again at the next start-up.
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ('lead_search_rebuild', '\"pending\"', now()) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let lead_tokens = crate::leads::search_index::rebuild_pg_if_pending(pool)
        .await?
        .unwrap_or(0);
    // Statistics for every copied table now, not when autovacuum gets to them: the planner
    // needs them from the first query, and search ranking reads the number of documents from
    // them (a table never analysed counts only the matches, which ranks differently).
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(CopyReport {
        tables: checks,
        lead_tokens,
        local_files: local_import_files(source).await?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Sets each identity column's counter past the ids copied (and past SQLite's AUTOINCREMENT
/// counter where it is further), so that the next row PostgreSQL numbers takes a new id.
async fn set_identity_counters(
    tx: &mut PgConnection,
    tables: &[Table],
    counters: &[(String, i64)],
) -> Result<(), TransferError> {
    for t in tables {
        let Some(column) = &t.identity else { continue };
        let counter = counters
            .iter()
            .find(|(n, _)| *n == t.name)
            .map_or(0, |(_, c)| *c);
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(COALESCE(MAX({col}), 0), $3, 1), \
             GREATEST(COALESCE(MAX({col}), 0), $3) > 0) FROM {table}",
            col = quote_ident(column),
            table = quote_ident(&t.name)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(quote_ident(&t.name))
            .bind(column)
            .bind(counter)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Reads every table of `tables` from the SQLite file in one read transaction (one instant),
/// converting each value by its PostgreSQL column's type, and sends them as `COPY` text.
fn read_sqlite(
    path: &std::path::Path,
    tables: &[Table],
    out: &mpsc::Sender<Result<Read, TransferError>>,
) {
    let result = (|| -> Result<(), TransferError> {
        let conn = open_read_only(path)?;
        conn.execute_batch("BEGIN")?;
        for t in tables {
            let sum = sqlite_table(&conn, t, &mut |chunk| {
                out.blocking_send(Ok(Read::Chunk(chunk))).is_ok()
            })?;
            if out.blocking_send(Ok(Read::TableDone(sum))).is_err() {
                return Ok(());
            }
        }
        let _ = out.blocking_send(Ok(Read::Counters(sqlite_counters(&conn)?)));
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = out.blocking_send(Err(e));
    }
}

/// Reads one table, handing `COPY` text to `send` a chunk at a time (none when `send` is
/// `None`-like: a checksum alone is asked for); returns the table's checksum.
pub(super) fn sqlite_table(
    conn: &rusqlite::Connection,
    t: &Table,
    send: &mut dyn FnMut(String) -> bool,
) -> Result<TableSum, TransferError> {
    let sql = format!("SELECT {} FROM {}", t.column_list(), quote_ident(&t.name));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut sum = TableSum::default();
    let mut chunk = String::with_capacity(CHUNK_BYTES + 4096);
    let mut cells = Vec::with_capacity(t.columns.len());
    while let Some(row) = rows.next()? {
        cells.clear();
        for (i, (column, kind)) in t.columns.iter().enumerate() {
            let cell = Cell::from_sqlite(*kind, row.get_ref(i)?).map_err(|why| {
                TransferError::BadValue(format!(
                    "{}.{column} (row {}): {why}",
                    t.name,
                    sum.rows + 1
                ))
            })?;
            cells.push(cell);
        }
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                chunk.push('\t');
            }
            c.write_copy_text(&mut chunk);
        }
        chunk.push('\n');
        sum.add_row(&cells);
        if chunk.len() >= CHUNK_BYTES {
            if !send(std::mem::take(&mut chunk)) {
                return Err(TransferError::Failed("the copy stopped".into()));
            }
            chunk.reserve(CHUNK_BYTES + 4096);
        }
    }
    if !chunk.is_empty() && !send(chunk) {
        return Err(TransferError::Failed("the copy stopped".into()));
    }
    Ok(sum)
}

/// SQLite's AUTOINCREMENT counters, if any table uses one.
fn sqlite_counters(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT name, seq FROM sqlite_sequence")?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// One PostgreSQL table's checksum, its values read back in the compared form.
pub(super) async fn postgres_sum(
    conn: &mut PgConnection,
    t: &Table,
) -> Result<TableSum, TransferError> {
    use futures_util::TryStreamExt;
    let exprs: Vec<String> = t.columns.iter().map(|(c, k)| k.select_expr(c)).collect();
    let sql = format!("SELECT {} FROM {}", exprs.join(", "), quote_ident(&t.name));
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
    let mut sum = TableSum::default();
    let mut cells = Vec::with_capacity(t.columns.len());
    while let Some(row) = rows.try_next().await? {
        cells.clear();
        for (i, (_, kind)) in t.columns.iter().enumerate() {
            cells.push(Cell::from_postgres(*kind, &row, i)?);
        }
        debug_assert_eq!(row.len(), cells.len());
        sum.add_row(&cells);
    }
    Ok(sum)
}

/// Imports whose file was read from this machine's disk (`leadline import FILE`) rather than
/// uploaded into the database: the copy carries their records, not the files.
async fn local_import_files(source: &Db) -> Result<Vec<String>, TransferError> {
    const SQL: &str =
        "SELECT file_path FROM imports WHERE file_path NOT LIKE 'upload:%' ORDER BY id";
    Ok(crate::db_run!(source, |pool| {
        sqlx::query_scalar::<_, String>(SQL).fetch_all(pool).await?
    }))
}

/// Compares every table of `source` (SQLite) with `target` (PostgreSQL) again: row counts and
/// checksums, each side read in one transaction.
pub async fn verify(source: &Db, target: &Db) -> Result<Vec<TableCheck>, TransferError> {
    let path = sqlite_path(source)?;
    let Db::Postgres(pool) = target else {
        return Err(TransferError::Unsupported(
            "the target must be PostgreSQL".into(),
        ));
    };
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    let tables = paired_tables(&path, &mut tx).await?;
    let source_sums = {
        let tables = tables.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<TableSum>, TransferError> {
            let conn = open_read_only(&path)?;
            conn.execute_batch("BEGIN")?;
            let sums = tables
                .iter()
                .map(|t| sqlite_table(&conn, t, &mut |_| true))
                .collect::<Result<Vec<_>, _>>()?;
            conn.execute_batch("COMMIT")?;
            Ok(sums)
        })
        .await
        .map_err(|e| TransferError::Failed(e.to_string()))??
    };
    let mut checks = Vec::new();
    for (t, source) in tables.iter().zip(source_sums) {
        checks.push(TableCheck {
            table: t.name.clone(),
            source,
            target: postgres_sum(&mut tx, t).await?,
        });
    }
    tx.commit().await?;
    Ok(checks)
}
