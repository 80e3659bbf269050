//! SQLite's one writer, owned by one thread. The hot write paths (next call, record call) hand
//! it closures over a plain rusqlite connection instead of taking turns on sqlx's pool, where each
//! statement is two thread hand-offs (task → connection worker → task). Here a statement is a
//! function call on a cached prepared statement, and the thread commits whatever is queued
//! together (group commit): under load one transaction carries many calls, each in its own
//! savepoint, so that a refused call undoes only itself and nobody hears back before the commit.
//!
//! There is one writer per database file, started on first use and stopped after a while idle.
//! Other writers (sqlx) still work beside it: SQLite's busy timeout makes them wait their turn.
//!
//! [`read`] serves the hot point reads (a token, a lead by id) the same way: on a read-only
//! connection kept by the calling thread, so that a read of a few pages costs microseconds
//! instead of two thread hand-offs.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Value;
use sqlx::SqlitePool;

use crate::db::sql::Arg;
use crate::{Result, StoreError};

pub use rusqlite::Connection;

/// Calls committed together at most.
const MAX_GROUP: usize = 64;
/// The thread stops (and closes its connection) after this long without work.
const IDLE: Duration = Duration::from_secs(30);

/// What to do once the group's fate is known (`true`: committed).
type Answer = Box<dyn FnOnce(bool) + Send>;
/// A job runs in the group transaction (`None`: there is none, the job must not run) and
/// returns its answer.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Answer + Send>;

/// Each file's writer, and when a quick job (someone waiting) was last handed to it or it last
/// saw another connection's commit.
type Registry = Vec<(PathBuf, mpsc::Sender<(Kind, Job)>, Option<Instant>)>;
static WRITERS: Mutex<Registry> = Mutex::new(Vec::new());

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Internal(format!("sqlite: {e}"))
    }
}

/// True when `e` is a unique-constraint violation.
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// Runs `f` on the writer of `pool`'s database inside the writer's transaction (in a savepoint
/// of its own): `Ok` is committed before it is returned, `Err` leaves nothing behind.
pub async fn run<T, F>(pool: &SqlitePool, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    run_job(pool, f, Kind::Quick).await.map(|(v, _)| v)
}

/// [`run`] for a long job (an import batch): it does not count as someone waiting on the
/// writer in [`others_writing`].
pub async fn run_bulk<T, F>(pool: &SqlitePool, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    run_job(pool, f, Kind::Bulk).await.map(|(v, _)| v)
}

/// [`run_bulk`] that also says how long the job held the writer, from its start in the
/// transaction to the end of the commit: a bulk job's commit writes every page it changed to
/// the log, which for a batch of random keys can take longer than the job itself.
pub async fn run_bulk_held<T, F>(pool: &SqlitePool, f: F) -> Result<(T, Duration)>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    run_job(pool, f, Kind::Bulk).await
}

/// True when, within `within`, a quick job was handed to the writer of `pool`'s database or
/// the writer saw a commit made by another connection (another process, or a sqlx write of
/// this one): somebody (an agent serving a lead or recording a call, a page's edit, another
/// program) writes now and then, so a bulk writer should keep each of its jobs short.
pub fn others_writing(pool: &SqlitePool, within: Duration) -> bool {
    let options = pool.connect_options();
    let path = options.get_filename();
    WRITERS.lock().is_ok_and(|writers| {
        writers
            .iter()
            .any(|(p, _, last)| p == path && last.is_some_and(|t| t.elapsed() < within))
    })
}

/// [`run`] for a short job nobody waits on (the job runner's poll for due jobs, every second):
/// it goes before bulk jobs like any quick one, but does not count as others writing.
pub async fn run_background<T, F>(pool: &SqlitePool, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    run_job(pool, f, Kind::Background).await.map(|(v, _)| v)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Someone is waiting for it (a lead served, a call recorded).
    Quick,
    /// Like `Quick`, but nobody is waiting.
    Background,
    /// Long, and alone in its transaction.
    Bulk,
}

/// Runs `f` as a job of `kind` and returns its value with how long it held the writer (from its
/// start to the end of its group's commit).
async fn run_job<T, F>(pool: &SqlitePool, f: F, kind: Kind) -> Result<(T, Duration)>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<(T, Duration)>>();
    let job: Job = Box::new(move |conn: Option<&Connection>| {
        let began = Instant::now();
        let result = match conn {
            Some(conn) => in_savepoint(conn, f),
            None => Err(StoreError::Internal("sqlite: could not begin".into())),
        };
        Box::new(move |committed: bool| {
            let result = match result {
                Ok(_) if !committed => Err(StoreError::Internal(
                    "sqlite: the transaction did not commit".into(),
                )),
                other => other,
            };
            let _ = tx.send(result.map(|v| (v, began.elapsed())));
        })
    });
    send(pool.connect_options().get_filename(), job, kind)?;
    rx.await
        .map_err(|_| StoreError::Internal("sqlite: the writer stopped".into()))?
}

fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    control(conn, "SAVEPOINT job")?;
    match f(conn) {
        Ok(v) => {
            control(conn, "RELEASE job")?;
            Ok(v)
        }
        Err(e) => {
            control(conn, "ROLLBACK TO job")?;
            control(conn, "RELEASE job")?;
            Err(e)
        }
    }
}

/// A transaction-control statement, prepared once.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(|_| ())
}

thread_local! {
    /// This thread's read connections, one per database file.
    static READERS: RefCell<Vec<(PathBuf, Connection)>> = const { RefCell::new(Vec::new()) };
}

/// Runs the point read `f` on this thread's read connection to `pool`'s database, in one read
/// transaction (one snapshot). Meant for reads of a few rows by key: it runs on the caller's
/// thread, without yielding.
pub fn read<T>(pool: &SqlitePool, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let options = pool.connect_options();
    let path = options.get_filename();
    READERS.with(|readers| {
        let mut readers = readers
            .try_borrow_mut()
            .map_err(|_| StoreError::Internal("sqlite: nested read".into()))?;
        let pos = match readers.iter().position(|(p, _)| p == path) {
            Some(pos) => pos,
            None => {
                let conn = open(path)?;
                conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -2048;")?;
                readers.push((path.to_path_buf(), conn));
                readers.len() - 1
            }
        };
        let conn = &readers[pos].1;
        control(conn, "BEGIN")?;
        let result = f(conn);
        control(conn, "COMMIT")?;
        result
    })
}

/// Hands `job` to the file's writer, starting one if there is none (or the last one stopped).
fn send(path: &Path, mut job: Job, kind: Kind) -> Result<()> {
    let mut writers = WRITERS
        .lock()
        .map_err(|_| StoreError::Internal("sqlite: writer registry poisoned".into()))?;
    for _ in 0..2 {
        if let Some(pos) = writers.iter().position(|(p, _, _)| p == path) {
            match writers[pos].1.send((kind, job)) {
                Ok(()) => {
                    if kind == Kind::Quick {
                        writers[pos].2 = Some(Instant::now());
                    }
                    return Ok(());
                }
                // The writer stopped while idle: start another.
                Err(mpsc::SendError((_, back))) => {
                    job = back;
                    writers.remove(pos);
                }
            }
        }
        let conn = open(path)?;
        // A smaller cache than the pool's: SQLite walks the page cache's hash table at every
        // commit (pcache1TruncateUnsafe), and the writer commits often. 4 MB measured best of
        // 64, 16 and 4 MB; the pages it misses come from the OS page cache.
        conn.execute_batch("PRAGMA cache_size = -4096")?;
        // Commits never stop to copy the log back into the database: a checkpointer beside
        // the writer does that, without holding the writer up. A log that grew longer than
        // a restart's worth (see RESTART_FRAMES) is cut back to 320 MB when it starts over;
        // below that its file is written over, not grown again.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 335544320")?;
        let (tx, rx) = mpsc::channel::<(Kind, Job)>();
        let (done, stopped) = mpsc::channel::<()>();
        let catch_up = Arc::new(AtomicBool::new(false));
        let wanted = catch_up.clone();
        let file = path.to_path_buf();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                serve(conn, rx, &wanted, &file);
                drop(done);
            })
            .map_err(|e| StoreError::Internal(format!("sqlite: writer thread: {e}")))?;
        let file = path.to_path_buf();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint(&file, stopped, &catch_up))
            .map_err(|e| StoreError::Internal(format!("sqlite: checkpoint thread: {e}")))?;
        writers.push((path.to_path_buf(), tx, None));
    }
    Err(StoreError::Internal("sqlite: no writer".into()))
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // Waits for a lock held by another connection by trying again every millisecond for up to
    // 10 s (SQLite's own busy timeout tries less and less often, up to every 100 ms, and so
    // misses the moments another writer leaves the lock free between two of its transactions).
    conn.busy_handler(Some(|tries: i32| {
        std::thread::sleep(Duration::from_millis(1));
        tries < 10_000
    }))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -65536; PRAGMA temp_store = memory;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    // Plan each statement once: with STAT4 statistics SQLite would otherwise re-plan a cached
    // statement whenever a bound time changes (every call).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// How often the checkpointer copies the log back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// Log frames (pages of about 4 KB) after which the writer is asked to help the log start over.
/// Each time, calls wait a few milliseconds for the writer's catch-up: 64k frames (256 MB)
/// makes that every 1.5 s or so at 2,000 calls a second instead of every 0.6 s at 16k.
/// (Tests use a small log, so that a few seconds of writing make it start over many times.)
const RESTART_FRAMES: i64 = if cfg!(test) { 256 } else { 65_536 };

/// Copies committed log frames into the database (`PASSIVE`: never waits for or blocks the
/// writer or readers) until the writer stops.
///
/// Under steady calls the copy never catches up by itself: the writer commits new frames while
/// it runs, so the log is never wholly copied, never starts over and grows without end (1.8 GB
/// in 20 s of the next-call benchmark, every frame a fresh page of the file for the kernel to
/// zero). So when the log is long, the checkpointer sets `catch_up` and the writer, between two
/// transactions, copies the few frames committed since the last pass itself: then the log is
/// wholly copied and the writer's next transaction starts it over.
fn checkpoint(path: &Path, stopped: mpsc::Receiver<()>, catch_up: &AtomicBool) {
    let Ok(conn) = open(path) else { return };
    let pass = || match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
    {
        Ok(frames) => frames,
        Err(e) => {
            tracing::warn!(error = %e, "sqlite checkpoint failed");
            0
        }
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        if pass() < RESTART_FRAMES {
            continue;
        }
        // Leave the writer as little as possible to copy and to flush: passes back to back
        // (each copies what was committed during the last, so they grow short), then the
        // log's newest frames and the pages copied into the database flushed to disk.
        for _ in 0..8 {
            let started = std::time::Instant::now();
            pass();
            if started.elapsed() < Duration::from_millis(2) {
                break;
            }
        }
        // The pass that copies the log's last frames (the writer's) also flushes the database
        // file, and with it every page the passes before it copied, while calls queue behind
        // the writer: flush them here first (3.6 ms per catch-up on average against 4.9).
        for file in [wal.as_os_str(), path.as_os_str()] {
            if let Ok(file) = std::fs::File::open(file) {
                let _ = file.sync_data();
            }
        }
        catch_up.store(true, Ordering::Release);
    }
}

/// How long the writer leaves the lock free after a bulk job, for other connections' writers
/// (they poll for it every millisecond: [`open`]'s busy handler).
const DOOR_OPEN: Duration = Duration::from_millis(3);

/// A bulk job waits at most this long for quick jobs to stop coming.
const BULK_MAX_WAIT: Duration = Duration::from_millis(500);

/// The writer's loop: take whatever quick jobs are queued (up to [`MAX_GROUP`]), run them all in
/// one transaction, commit, and only then answer each. A bulk job (an import batch) runs alone,
/// in a transaction of its own, once no quick job is waiting (or it has waited
/// [`BULK_MAX_WAIT`]): a call recorded during an import waits for at most the batch being
/// written, never for a queue of batches, and never commits with one.
fn serve(conn: Connection, rx: mpsc::Receiver<(Kind, Job)>, catch_up: &AtomicBool, path: &Path) {
    let mut bulk: std::collections::VecDeque<(Instant, Job)> = std::collections::VecDeque::new();
    let mut quick: Vec<Job> = Vec::new();
    let mut seen = data_version(&conn);
    loop {
        // The checkpointer has copied nearly all of a long log: copy the rest, so that the
        // next transaction starts the log over.
        if catch_up.swap(false, Ordering::Acquire)
            && let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        {
            tracing::warn!(error = %e, "sqlite checkpoint failed");
        }
        if quick.is_empty() && bulk.is_empty() {
            match rx.recv_timeout(IDLE) {
                Ok((Kind::Bulk, job)) => bulk.push_back((Instant::now(), job)),
                Ok((_, job)) => quick.push(job),
                Err(_) => return,
            }
        }
        while quick.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok((Kind::Bulk, job)) => bulk.push_back((Instant::now(), job)),
                Ok((_, job)) => quick.push(job),
                Err(_) => break,
            }
        }
        let bulk_due = bulk
            .front()
            .is_some_and(|(queued, _)| quick.is_empty() || queued.elapsed() >= BULK_MAX_WAIT);
        let group = match bulk.pop_front() {
            Some((_, job)) if bulk_due => vec![job],
            Some(waiting) => {
                bulk.push_front(waiting);
                std::mem::take(&mut quick)
            }
            None => std::mem::take(&mut quick),
        };
        // Has anybody else (another connection of this process, such as a page's edit, or
        // another process, such as `leadline import`) committed since the last group?
        let version = data_version(&conn);
        if version != seen {
            seen = version;
            stamp_others(path);
        }
        run_group(&conn, group);
        if bulk_due {
            // After a bulk job the lock is left free a moment (unless a job of this process
            // comes): a writer on another connection that waited for it gets it now, instead
            // of the bulk job's next batch.
            let open_until = Instant::now() + DOOR_OPEN;
            while let Some(left) = open_until.checked_duration_since(Instant::now()) {
                match rx.recv_timeout(left) {
                    Ok((Kind::Bulk, job)) => bulk.push_back((Instant::now(), job)),
                    Ok((_, job)) => {
                        quick.push(job);
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    }
}

/// SQLite's count of commits made by connections other than `conn` (it changes whenever one
/// of them commits: another connection of this process, or another process); `None` if it
/// could not be read.
fn data_version(conn: &Connection) -> Option<i64> {
    let mut stmt = conn.prepare_cached("PRAGMA data_version").ok()?;
    stmt.query_row([], |r| r.get(0)).ok()
}

/// Notes in the registry that somebody else is writing to `path` now (see [`others_writing`]).
fn stamp_others(path: &Path) {
    if let Ok(mut writers) = WRITERS.lock()
        && let Some(entry) = writers.iter_mut().find(|(p, _, _)| p == path)
    {
        entry.2 = Some(Instant::now());
    }
}

/// Runs `group` in one transaction and answers each job once its fate is known.
fn run_group(conn: &Connection, group: Vec<Job>) {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "sqlite writer: BEGIN failed");
        for job in group {
            job(None)(false);
        }
        return;
    }
    let answers: Vec<Answer> = group.into_iter().map(|job| job(Some(conn))).collect();
    let committed = match control(conn, "COMMIT") {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "sqlite writer: COMMIT failed");
            let _ = conn.execute_batch("ROLLBACK");
            false
        }
    };
    for answer in answers {
        answer(committed);
    }
}

/// The steps of SQLite's plan for `sql` with `args` bound, on the writer of `pool`'s database
/// (`EXPLAIN QUERY PLAN`, one line per step), for tests that a hot statement seeks what it needs.
#[cfg(test)]
pub async fn query_plan(pool: &SqlitePool, sql: &str, args: Vec<Value>) -> Result<Vec<String>> {
    let sql = format!("EXPLAIN QUERY PLAN {sql}");
    run(pool, move |conn| {
        let mut stmt = conn.prepare(&sql)?;
        let steps = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(steps)
    })
    .await
}

/// The text sqlx writes for a time on SQLite (so that both writers' values compare as text).
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Reads back a time written by either writer.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%F %T%.f").map(|n| n.and_utc()))
        .map_err(|_| StoreError::Internal(format!("sqlite: bad time {s:?}")))
}

/// A value for a statement of the writer.
pub fn value(arg: &Arg) -> Value {
    match arg {
        Arg::I64(v) => Value::Integer(*v),
        Arg::Bool(v) => Value::Integer(i64::from(*v)),
        Arg::Text(v) => Value::Text(v.clone()),
        Arg::Time(t) => Value::Text(time_text(*t)),
        Arg::OptI64(v) => v.map_or(Value::Null, Value::Integer),
        Arg::OptTime(v) => v.map_or(Value::Null, |t| Value::Text(time_text(t))),
        Arg::OptText(v) => v.clone().map_or(Value::Null, Value::Text),
        Arg::Json(v) => Value::Text(v.to_string()),
        Arg::OptJson(v) => v
            .as_ref()
            .map_or(Value::Null, |v| Value::Text(v.to_string())),
    }
}

/// Prepares (cached) `sql`, written with `$1, $2, …` like the sqlx statements, and binds `args`
/// by those names: SQLite numbers `$N` parameters by first appearance, not by N.
pub fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[Value],
) -> Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut name = String::with_capacity(4);
    for (i, v) in args.iter().enumerate() {
        name.clear();
        name.push('$');
        name.push_str(&(i + 1).to_string());
        if let Some(index) = stmt.parameter_index(&name)? {
            stmt.raw_bind_parameter(index, v)?;
        }
    }
    Ok(stmt)
}

/// Runs a statement that returns no rows; the number of rows it changed.
pub fn execute(conn: &Connection, sql: &str, args: &[Value]) -> Result<usize> {
    Ok(prepare(conn, sql, args)?.raw_execute()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db::TestDb;

    const INSERT: &str =
        "INSERT INTO login_failures (username, client, at) VALUES ($1, 'test', $2)";
    const COUNT: &str = "SELECT COUNT(*) FROM login_failures WHERE username = $1";

    /// SQLite is built as `.cargo/config.toml` says: each connection keeps its own page cache
    /// and allocations are not counted, so no process-wide lock stands between the writer and
    /// the readers (without the file, libsqlite3-sys builds in both).
    #[test]
    fn sqlite_is_built_without_the_shared_page_cache_and_allocation_counter() {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    /// An import batch queued behind another does not hold up a call: the writer runs the
    /// quick job first. Only quick jobs count as others writing: bulk and background ones do not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_quick_job_goes_before_a_queued_bulk_job() {
        let t = TestDb::sqlite().await.unwrap();
        let crate::Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        // The job runner's poll is nobody waiting.
        run_background(&pool, |_| Ok(())).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::<&str>::new()));
        let (release, held) = mpsc::channel::<()>();
        let log = |order: &Arc<Mutex<Vec<&'static str>>>, what: &'static str| {
            order.lock().unwrap().push(what);
        };
        let first = tokio::spawn({
            let (pool, order) = (pool.clone(), order.clone());
            async move {
                run_bulk(&pool, move |_| {
                    log(&order, "bulk 1 starts");
                    held.recv().ok();
                    Ok(())
                })
                .await
            }
        });
        while order.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!others_writing(&pool, Duration::from_secs(60)));
        let second = tokio::spawn({
            let (pool, order) = (pool.clone(), order.clone());
            async move {
                run_bulk(&pool, move |_| {
                    log(&order, "bulk 2 starts");
                    Ok(())
                })
                .await
            }
        });
        // The second batch is queued before the call.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let call = tokio::spawn({
            let (pool, order) = (pool.clone(), order.clone());
            async move {
                run(&pool, move |conn| {
                    log(&order, "call runs");
                    let at = value(&Arg::Time(crate::now()));
                    execute(conn, INSERT, &[Value::Text("agent".into()), at])
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(others_writing(&pool, Duration::from_secs(60)));
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        call.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(
            *order.lock().unwrap(),
            ["bulk 1 starts", "call runs", "bulk 2 starts"]
        );
    }

    /// Many concurrent jobs share group transactions: a job that fails after writing leaves
    /// nothing, its neighbours' rows stay, and every `Ok` is committed (visible to other
    /// connections, sqlx's and the direct reader) by the time it is answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_job_undoes_only_itself_and_answers_come_after_the_commit() {
        let t = TestDb::sqlite().await.unwrap();
        let crate::Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("user{i}");
                let job_name = name.clone();
                let result = run(&pool, move |conn| {
                    let at = value(&Arg::Time(crate::now()));
                    execute(conn, INSERT, &[Value::Text(job_name.clone()), at])?;
                    if i % 4 == 0 {
                        return Err(StoreError::Forbidden);
                    }
                    Ok(i)
                })
                .await;
                let seen: i64 = sqlx::query_scalar(COUNT)
                    .bind(&name)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let read_back: i64 = read(&pool, |conn| {
                    let mut stmt = prepare(conn, COUNT, &[Value::Text(name.clone())])?;
                    let mut rows = stmt.raw_query();
                    Ok(rows.next()?.map(|r| r.get(0)).transpose()?.unwrap_or(-1))
                })
                .unwrap();
                (i, result.is_ok(), seen, read_back)
            }));
        }
        let mut ok = 0;
        for task in tasks {
            let (i, is_ok, seen, read_back) = task.await.unwrap();
            assert_eq!(is_ok, i % 4 != 0, "job {i}");
            let expected = i64::from(is_ok);
            assert_eq!(seen, expected, "job {i} as sqlx sees it after the answer");
            assert_eq!(read_back, expected, "job {i} as the direct reader sees it");
            ok += usize::from(is_ok);
        }
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(ok, 150);
        assert_eq!(total, 150);
    }

    /// Writes that never pause (here: 64 tasks back to back, each row about a page) must not
    /// keep the log from starting over: without the writer's catch-up the checkpointer never
    /// copies the whole log, and the log holds every frame ever written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_while_writes_keep_coming() {
        let t = TestDb::sqlite().await.unwrap();
        let crate::Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        // The log's header counts its starts over (its checkpoint sequence number, bytes
        // 12..16, big-endian); read after a first write, so that the log has a header.
        let mut wal = pool.connect_options().get_filename().as_os_str().to_owned();
        wal.push("-wal");
        let starts = move || {
            use std::io::Read;
            let mut header = [0u8; 16];
            std::fs::File::open(&wal)
                .and_then(|mut f| f.read_exact(&mut header))
                .unwrap();
            u32::from_be_bytes(header[12..16].try_into().unwrap())
        };
        run(&pool, |conn| {
            let at = value(&Arg::Time(crate::now()));
            execute(conn, INSERT, &[Value::Text("first".into()), at])
        })
        .await
        .unwrap();
        let starts_before = starts();
        let started = std::time::Instant::now();
        // Writing goes on for at least 8 checkpointer periods and until the log has started
        // over twice, or at most 60 periods: a busy machine (other tests beside this one) may
        // give the checkpointer's thread few turns, and the test is about whether the log
        // starts over, not how soon.
        let enough = Arc::new(AtomicBool::new(false));
        let watch = {
            let enough = enough.clone();
            let starts = starts.clone();
            tokio::spawn(async move {
                while starts().wrapping_sub(starts_before) < 2
                    && started.elapsed() < CHECKPOINT_EVERY * 60
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                enough.store(true, Ordering::Release);
            })
        };
        let mut tasks = Vec::new();
        for task in 0..64 {
            let pool = pool.clone();
            let enough = enough.clone();
            tasks.push(tokio::spawn(async move {
                let mut rows = 0i64;
                while rows < 500
                    || started.elapsed() < CHECKPOINT_EVERY * 8
                    || !enough.load(Ordering::Acquire)
                {
                    let name = format!("{task}-{rows}-{}", "x".repeat(3_000));
                    run(&pool, move |conn| {
                        let at = value(&Arg::Time(crate::now()));
                        execute(conn, INSERT, &[Value::Text(name), at])
                    })
                    .await
                    .unwrap();
                    rows += 1;
                }
                rows
            }));
        }
        let mut written = 1;
        for task in tasks {
            written += task.await.unwrap();
        }
        watch.await.unwrap();
        let started_over = starts().wrapping_sub(starts_before);
        // A checkpoint that finds another one running reports -1 frames: asked again until one
        // runs, so that the check below compares frames.
        let conn = open(pool.connect_options().get_filename()).unwrap();
        let checkpoint = || {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok::<(i64, i64), _>((r.get(1)?, r.get(2)?))
            })
            .unwrap()
        };
        let mut ran = checkpoint();
        for _ in 0..100 {
            if ran.0 >= 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            ran = checkpoint();
        }
        let (log_frames, copied) = ran;
        assert!(log_frames >= 0, "no checkpoint could run on the quiet log");
        // Without the writer's catch-up the log never starts over, and holds every frame
        // written.
        assert!(
            started_over >= 2,
            "the log started over {started_over} times while {written} rows of a page each were written (it holds {log_frames} frames)"
        );
        assert_eq!(copied, log_frames, "a quiet log is copied whole");
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(stored, written, "no row lost across the restarts");
    }

    #[test]
    fn times_are_written_as_sqlx_writes_them_and_read_back_from_either_form() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-28T01:02:03.456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time_text(t), "2026-11-28T01:02:03.456789+00:00");
        assert_eq!(parse_time(&time_text(t)).unwrap(), t);
        assert_eq!(parse_time("2026-11-28 01:02:03.456789").unwrap(), t);
        assert!(parse_time("yesterday").is_err());
    }
}
