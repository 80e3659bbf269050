//! One body for a hot transaction on both backends: the body is written once against [`Tx`],
//! which runs each statement on the SQLite writer's connection (inside the writer's
//! transaction, synchronously) or on a PostgreSQL connection (in a transaction or not, as the
//! caller opened it), with the store's [`Arg`] values. Rows come back as [`Row`], read by column
//! index with the type the body expects.
//!
//! On SQLite the body runs on the writer thread: every statement of [`Tx::Sqlite`] completes
//! when it is called, so the body's future is ready at its first poll ([`run_ready`]); the
//! writer's group commit and cached statements are kept.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use sqlx::Row as _;

use super::sql::Arg;
use super::sqlite_writer::{self, Connection, parse_time};
use crate::{Backend, Result, StoreError, bind_args};

/// Where a transaction body's statements run: [`SqliteTx`] or [`PgTx`]. A body is generic over
/// it, so that the PostgreSQL body stays `Send` while the SQLite one holds the writer's
/// connection (which is not `Sync`).
#[allow(
    async_fn_in_trait,
    reason = "crate-internal: the bodies are instantiated with concrete types"
)]
pub(crate) trait Tx {
    fn backend(&self) -> Backend;

    /// The PostgreSQL connection, for the rare statement written with sqlx's own macros.
    fn postgres(&mut self) -> Option<&mut sqlx::PgConnection>;

    /// Runs a statement that returns no rows; returns the rows it changed.
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64>;

    /// The first row of a statement, if it returned one; with `taken`, a unique-constraint
    /// violation is `AlreadyExists(taken)` rather than a database error.
    async fn fetch_first(
        &mut self,
        sql: &str,
        args: &[Arg],
        taken: Option<&'static str>,
    ) -> Result<Option<Row>>;

    /// The first row of a statement, if it returned one.
    async fn fetch_optional(&mut self, sql: &str, args: &[Arg]) -> Result<Option<Row>> {
        self.fetch_first(sql, args, None).await
    }

    /// The row a statement must return.
    async fn fetch_one(&mut self, sql: &str, args: &[Arg]) -> Result<Row> {
        returned(self.fetch_first(sql, args, None).await?, sql)
    }

    /// [`Tx::fetch_one`] where a unique-constraint violation means `taken`.
    async fn fetch_one_unique(
        &mut self,
        sql: &str,
        args: &[Arg],
        taken: &'static str,
    ) -> Result<Row> {
        returned(self.fetch_first(sql, args, Some(taken)).await?, sql)
    }
}

/// The row a statement had to return.
fn returned(row: Option<Row>, sql: &str) -> Result<Row> {
    row.ok_or_else(|| StoreError::Internal(format!("no row from {sql}")))
}

/// The SQLite writer's connection, inside its transaction.
pub(crate) struct SqliteTx<'a>(pub &'a Connection);

/// Runs a transaction body written once against [`Tx`] on either backend: on SQLite on the
/// writer (one hand-off, its transaction serialising every writer), on PostgreSQL between
/// BEGIN and COMMIT (rolled back when the body fails). `$body` names the transaction `$tx`
/// (`&mut impl Tx`) and is an expression giving a future of `Result<T>`; on SQLite it runs on
/// the writer thread, so what it uses must be owned (`move`d in): clone before.
///
/// ```ignore
/// let (viewer, now) = (viewer.clone(), now);
/// in_tx!(db, |tx| claim_body(tx, viewer, lead, now))
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite(pool) => {
                $crate::db::sqlite_writer::run(pool, move |conn| {
                    let $tx = &mut $crate::db::tx::SqliteTx(conn);
                    $crate::db::tx::run_ready($body)
                })
                .await
            }
            $crate::Db::Postgres(pool) => {
                async {
                    let mut pg = pool.begin().await?;
                    let out = {
                        let $tx = &mut $crate::db::tx::PgTx(&mut pg);
                        $body.await
                    };
                    match out {
                        Ok(out) => {
                            pg.commit().await?;
                            $crate::Result::Ok(out)
                        }
                        // Rolled back now, not when the connection is next used: a dropped
                        // transaction stays open (its row and advisory locks held) until then.
                        Err(e) => {
                            if let Err(r) = pg.rollback().await {
                                tracing::warn!(error = %r, "rolling back a failed transaction");
                            }
                            Err(e)
                        }
                    }
                }
                .await
            }
        }
    };
}

/// `FOR UPDATE` on PostgreSQL (a row lock held to the end of the transaction); nothing on
/// SQLite, whose one writer already holds every other writer off.
#[allow(dead_code, reason = "the ownership modules use it as they land")]
pub(crate) fn for_update(tx: &impl Tx) -> &'static str {
    match tx.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// A PostgreSQL connection: a transaction's (`&mut *tx`) or a plain pooled one.
pub(crate) struct PgTx<'a>(pub &'a mut sqlx::PgConnection);

/// One row a statement returned, owned (SQLite's values are copied out of the statement).
pub(crate) enum Row {
    Sqlite(Vec<Value>),
    Postgres(sqlx::postgres::PgRow),
}

impl Tx for SqliteTx<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn postgres(&mut self) -> Option<&mut sqlx::PgConnection> {
        None
    }

    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        let values: Vec<Value> = args.iter().map(sqlite_writer::value).collect();
        Ok(sqlite_writer::execute(self.0, sql, &values)? as u64)
    }

    async fn fetch_first(
        &mut self,
        sql: &str,
        args: &[Arg],
        taken: Option<&'static str>,
    ) -> Result<Option<Row>> {
        let values: Vec<Value> = args.iter().map(sqlite_writer::value).collect();
        let mut stmt = sqlite_writer::prepare(self.0, sql, &values)?;
        let columns = stmt.column_count();
        let mut rows = stmt.raw_query();
        let row = match rows.next() {
            Ok(Some(r)) => Some(
                (0..columns)
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            ),
            Ok(None) => None,
            Err(e) => {
                return Err(match taken {
                    Some(what) if sqlite_writer::is_unique_violation(&e) => {
                        StoreError::AlreadyExists(what)
                    }
                    _ => e.into(),
                });
            }
        };
        // Steps the statement to its end, so that a writing statement (`… RETURNING`) has done
        // all its work before the next one runs.
        while rows.next()?.is_some() {}
        Ok(row.map(Row::Sqlite))
    }
}

impl Tx for PgTx<'_> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn postgres(&mut self) -> Option<&mut sqlx::PgConnection> {
        Some(self.0)
    }

    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        let q = sqlx::query(sqlx::AssertSqlSafe(sql));
        Ok(bind_args!(q, args)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    async fn fetch_first(
        &mut self,
        sql: &str,
        args: &[Arg],
        taken: Option<&'static str>,
    ) -> Result<Option<Row>> {
        let q = sqlx::query(sqlx::AssertSqlSafe(sql));
        match bind_args!(q, args).fetch_optional(&mut *self.0).await {
            Ok(row) => Ok(row.map(Row::Postgres)),
            Err(e) => Err(match taken {
                Some(what) => StoreError::unique_as(e, what),
                None => e.into(),
            }),
        }
    }
}

impl Row {
    fn sqlite(values: &[Value], i: usize) -> Result<&Value> {
        values
            .get(i)
            .ok_or_else(|| StoreError::Internal(format!("no column {i}")))
    }

    /// A value the body requires: NULL there is an error naming the column.
    fn present<T>(value: Option<T>, i: usize) -> Result<T> {
        value.ok_or_else(|| StoreError::Internal(format!("column {i}: unexpected NULL")))
    }

    fn mismatch(i: usize, want: &str, got: &Value) -> StoreError {
        StoreError::Internal(format!("column {i}: expected {want}, found {got:?}"))
    }

    pub fn i64(&self, i: usize) -> Result<i64> {
        Row::present(self.opt_i64(i)?, i)
    }

    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self {
            Row::Sqlite(v) => match Row::sqlite(v, i)? {
                Value::Null => Ok(None),
                Value::Integer(n) => Ok(Some(*n)),
                other => Err(Row::mismatch(i, "an integer", other)),
            },
            Row::Postgres(r) => Ok(r.try_get(i)?),
        }
    }

    /// A boolean column (SQLite keeps it as 0 or 1).
    pub fn bool(&self, i: usize) -> Result<bool> {
        match self {
            Row::Sqlite(_) => Ok(self.i64(i)? != 0),
            Row::Postgres(r) => Ok(r.try_get(i)?),
        }
    }

    pub fn text(&self, i: usize) -> Result<String> {
        Row::present(self.opt_text(i)?, i)
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self {
            Row::Sqlite(v) => match Row::sqlite(v, i)? {
                Value::Null => Ok(None),
                Value::Text(s) => Ok(Some(s.clone())),
                other => Err(Row::mismatch(i, "text", other)),
            },
            Row::Postgres(r) => Ok(r.try_get(i)?),
        }
    }

    pub fn time(&self, i: usize) -> Result<DateTime<Utc>> {
        Row::present(self.opt_time(i)?, i)
    }

    pub fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
        match self {
            Row::Sqlite(_) => self.opt_text(i)?.as_deref().map(parse_time).transpose(),
            Row::Postgres(r) => Ok(r.try_get(i)?),
        }
    }
}

/// Runs a transaction body on the SQLite writer: with [`Tx::Sqlite`] it never waits, so it
/// completes at its first poll. A body that does wait is a bug, reported as an error.
pub(crate) fn run_ready<T>(body: impl Future<Output = Result<T>>) -> Result<T> {
    let mut body = std::pin::pin!(body);
    match body.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(done) => done,
        Poll::Pending => Err(StoreError::Internal(
            "a SQLite transaction body waited for something".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use crate::db::test_db::TestDb;

    /// One body, both backends: rows come back with the types the body reads, a unique
    /// violation is told apart, and on SQLite the body completes on the writer at once.
    #[tokio::test]
    async fn one_body_runs_on_either_backend() {
        let t = TestDb::fresh().await.unwrap();
        async fn body(tx: &mut impl Tx) -> Result<(i64, Option<String>, DateTime<Utc>, bool)> {
            tx.execute(
                "INSERT INTO dnc_numbers (e164, reason, added_at) VALUES ($1, $2, $3)",
                &[
                    Arg::Text("+8613800000001".into()),
                    Arg::OptText(Some("test".into())),
                    Arg::Time(DateTime::from_timestamp(1_700_000_000, 0).unwrap()),
                ],
            )
            .await?;
            let row = tx
                .fetch_one(
                    "SELECT COUNT(*), MAX(NULLIF(reason, 'test')), MAX(added_at) FROM dnc_numbers WHERE e164 = $1",
                    &[Arg::Text("+8613800000001".into())],
                )
                .await?;
            let again = tx
                .fetch_one_unique(
                    "INSERT INTO dnc_numbers (e164, reason, added_at) VALUES ($1, 'again', $2) RETURNING e164",
                    &[Arg::Text("+8613800000001".into()), Arg::Time(crate::now())],
                    "dnc",
                )
                .await;
            let taken = matches!(again, Err(StoreError::AlreadyExists("dnc")));
            Ok((row.i64(0)?, row.opt_text(1)?, row.time(2)?, taken))
        }
        let got = match &t.db {
            Db::Sqlite(pool) => {
                sqlite_writer::run(pool, |conn| run_ready(body(&mut SqliteTx(conn)))).await
            }
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await.unwrap();
                body(&mut PgTx(&mut conn)).await
            }
        }
        .unwrap();
        assert_eq!(
            got,
            (
                1,
                None,
                DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                true
            )
        );
    }
}
