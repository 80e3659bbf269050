//! The durable job queue: due jobs are claimed atomically by one worker (PostgreSQL
//! `FOR UPDATE SKIP LOCKED`; SQLite has one writer), run, then marked done. A claim is a lease:
//! one left behind by a server that died is taken back once it is older than its kind's lease
//! ([`STALE_AFTER`] unless the kind says otherwise), and a long job keeps its claim by renewing
//! it ([`renew`]).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::db::sql::{Arg, execute};
use crate::{Backend, Db, Result, db::sqlite_writer, db_run};

/// A job claimed this long ago and still running is assumed lost (its server died) and is
/// claimed again.
pub const STALE_AFTER: TimeDelta = TimeDelta::minutes(5);
/// After this many failed runs a job is left as `failed` for an administrator to look at.
pub const MAX_ATTEMPTS: i64 = 5;
/// How long a failed job waits before its next try.
pub const RETRY_AFTER: TimeDelta = TimeDelta::minutes(1);

/// The job kind that reminds an agent of a due revisit (enqueued by `record_call`).
pub const REVISIT_REMINDER: &str = "revisit_reminder";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub run_at: DateTime<Utc>,
    pub payload: Json<Value>,
    pub attempts: i64,
}

/// Queues a job; with a `dedup_key` already queued, nothing is added and `None` comes back.
pub async fn enqueue(
    db: &Db,
    kind: &str,
    run_at: DateTime<Utc>,
    payload: &Value,
    dedup_key: Option<&str>,
) -> Result<Option<i64>> {
    const SQL: &str = "INSERT INTO jobs (kind, run_at, payload, status, attempts, created_at, dedup_key) \
        VALUES ($1, $2, $3, 'pending', 0, $4, $5) ON CONFLICT (dedup_key) DO NOTHING RETURNING id";
    let at = crate::now();
    let id = db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(kind)
        .bind(run_at)
        .bind(Json(payload))
        .bind(at)
        .bind(dedup_key)
        .fetch_optional(pool)
        .await?);
    // A job due now wakes the workers of every server; one due later waits for their rounds.
    if id.is_some() && run_at <= at {
        crate::notify::announce(db, crate::notify::Change::JOB);
    }
    Ok(id)
}

/// Claims the due jobs the subquery picks (binds worker, now, limit, kind). The subquery alone
/// tests the status: with `status = 'pending'` beside `id IN (…)`, SQLite updates through the
/// status index and walks every pending job (every reminder queued for later) at each poll,
/// instead of looking up the few picked ids. On PostgreSQL the picked rows stay locked.
fn claim_sql(backend: Backend) -> String {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE jobs SET status = 'running', claimed_by = $1, claimed_at = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND kind = $4 \
         AND run_at <= $2 ORDER BY run_at, id LIMIT $3{lock}) RETURNING id, kind, run_at, payload, attempts"
    )
}

/// Claims up to `limit` due jobs of `kind` for `worker`; every job is handed to exactly one
/// claimer. Stale claims (older than [`STALE_AFTER`]) are released first so that they are claimed
/// again.
pub async fn claim(
    db: &Db,
    kind: &str,
    worker: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Job>> {
    claim_leased(db, kind, STALE_AFTER, worker, now, limit).await
}

/// [`claim`] for a kind whose claims are released once older than `lease` (not renewed by
/// [`renew`] within it).
pub async fn claim_leased(
    db: &Db,
    kind: &str,
    lease: TimeDelta,
    worker: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Job>> {
    const RELEASE: &str = "UPDATE jobs SET status = 'pending', claimed_by = NULL \
        WHERE status = 'running' AND claimed_at < $1 AND kind = $2";
    let claim = claim_sql(db.backend());
    let mut jobs: Vec<Job> = match db {
        // On the one writer, so that the poll never waits for (or holds up) the call paths; a
        // background job, so that the poll alone does not make an import cut its batches short.
        Db::Sqlite(pool) => {
            let kind = kind.to_string();
            let worker = worker.to_string();
            sqlite_writer::run_background(pool, move |conn| {
                use rusqlite::types::Value as V;
                let at = |t: DateTime<Utc>| V::Text(sqlite_writer::time_text(t));
                sqlite_writer::execute(conn, RELEASE, &[at(now - lease), V::Text(kind.clone())])?;
                let mut stmt = sqlite_writer::prepare(
                    conn,
                    &claim,
                    &[V::Text(worker), at(now), V::Integer(limit), V::Text(kind)],
                )?;
                let mut rows = stmt.raw_query();
                let mut jobs = Vec::new();
                while let Some(r) = rows.next()? {
                    let payload: String = r.get(3)?;
                    jobs.push(Job {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        run_at: sqlite_writer::parse_time(&r.get::<_, String>(2)?)?,
                        payload: Json(serde_json::from_str(&payload).map_err(|e| {
                            crate::StoreError::Internal(format!("job payload: {e}"))
                        })?),
                        attempts: r.get(4)?,
                    });
                }
                Ok(jobs)
            })
            .await?
        }
        Db::Postgres(pool) => {
            sqlx::query(RELEASE)
                .bind(now - lease)
                .bind(kind)
                .execute(pool)
                .await?;
            sqlx::query_as(sqlx::AssertSqlSafe(claim))
                .bind(worker)
                .bind(now)
                .bind(limit)
                .bind(kind)
                .fetch_all(pool)
                .await?
        }
    };
    jobs.sort_by_key(|j| (j.run_at, j.id));
    Ok(jobs)
}

/// Marks a claimed job done; `false` if the claim was lost meanwhile (taken back as stale).
pub async fn complete(db: &Db, id: i64, worker: &str, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE jobs SET status = 'done', done_at = $3 \
        WHERE id = $1 AND claimed_by = $2 AND status = 'running'";
    let n = execute(
        db,
        SQL,
        vec![Arg::I64(id), Arg::Text(worker.into()), Arg::Time(now)],
    )
    .await?;
    Ok(n == 1)
}

/// Renews `worker`'s claim of a running job at `now`; `false` if the claim was lost (it lapsed
/// and another worker took the job). On SQLite it goes through the writer as a background job,
/// so that a long import's renewals do not make it give way as if somebody were writing.
pub async fn renew(db: &Db, id: i64, worker: &str, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE jobs SET claimed_at = $3 \
        WHERE id = $1 AND claimed_by = $2 AND status = 'running'";
    let n = crate::db::sql::execute_background(
        db,
        SQL,
        vec![Arg::I64(id), Arg::Text(worker.into()), Arg::Time(now)],
    )
    .await?;
    Ok(n == 1)
}

/// Whether a job of `kind` whose dedup key starts with `key_prefix` (taken literally: it must
/// hold no `%` or `_`) is waiting or running.
pub async fn is_open(db: &Db, kind: &str, key_prefix: &str) -> Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND dedup_key LIKE $2 \
        AND status IN ('pending', 'running')";
    let like = format!("{key_prefix}%");
    let n: i64 = db_run!(db, |pool| sqlx::query_scalar(SQL)
        .bind(kind)
        .bind(&like)
        .fetch_one(pool)
        .await?);
    Ok(n > 0)
}

/// Records a failed run: the job is tried again after [`RETRY_AFTER`], or left `failed` after
/// [`MAX_ATTEMPTS`].
pub async fn fail(db: &Db, job: &Job, worker: &str, error: &str, now: DateTime<Utc>) -> Result<()> {
    const SQL: &str = "UPDATE jobs SET status = $4, run_at = $5, last_error = $3, claimed_by = NULL \
        WHERE id = $1 AND claimed_by = $2 AND status = 'running'";
    let status = if job.attempts >= MAX_ATTEMPTS {
        "failed"
    } else {
        "pending"
    };
    execute(
        db,
        SQL,
        vec![
            Arg::I64(job.id),
            Arg::Text(worker.into()),
            Arg::Text(error.into()),
            Arg::Text(status.into()),
            Arg::Time(now + RETRY_AFTER),
        ],
    )
    .await?;
    Ok(())
}

/// A job's status (`pending`, `running`, `done`, `failed`), for tests and the admin.
pub async fn status(db: &Db, id: i64) -> Result<Option<String>> {
    Ok(db_run!(db, |pool| sqlx::query_scalar(
        "SELECT status FROM jobs WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A poll for due jobs looks up the jobs it claims by id: it must not walk the pending
    /// jobs, which grow by a reminder for every call with a revisit.
    #[tokio::test]
    async fn claiming_looks_up_the_picked_jobs_by_id() {
        let t = crate::db::test_db::TestDb::sqlite().await.unwrap();
        let Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        use rusqlite::types::Value as V;
        let args = vec![
            V::Text("w".into()),
            V::Text("2026-01-01T00:00:00Z".into()),
            V::Integer(10),
            V::Text("k".into()),
        ];
        let plan = sqlite_writer::query_plan(&pool, &claim_sql(Backend::Sqlite), args)
            .await
            .unwrap();
        assert_eq!(
            plan.first().map(String::as_str),
            Some("SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"),
            "{plan:?}"
        );
    }

    /// A claim is a lease: renewed, it holds past its first term; left to lapse, another worker
    /// takes the job, and the first can then neither renew nor complete it.
    #[tokio::test]
    async fn a_renewed_claim_holds_and_a_lapsed_one_is_taken_over() {
        let t = crate::db::test_db::TestDb::fresh().await.unwrap();
        let db = &t.db;
        let lease = TimeDelta::seconds(30);
        let t0 = crate::now();
        let id = enqueue(db, "long", t0, &serde_json::json!({}), Some("long:1"))
            .await
            .unwrap()
            .unwrap();
        let claimed = claim_leased(db, "long", lease, "a", t0, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(is_open(db, "long", "long:").await.unwrap());
        let t1 = t0 + TimeDelta::seconds(20);
        let none = claim_leased(db, "long", lease, "b", t1, 10).await.unwrap();
        assert!(none.is_empty(), "held within its lease");
        assert!(renew(db, id, "a", t1).await.unwrap());
        let t2 = t0 + TimeDelta::seconds(45);
        let none = claim_leased(db, "long", lease, "b", t2, 10).await.unwrap();
        assert!(none.is_empty(), "renewed at t1, held until t1 + lease");
        let t3 = t1 + lease + TimeDelta::seconds(1);
        let taken = claim_leased(db, "long", lease, "b", t3, 10).await.unwrap();
        assert_eq!(
            taken.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(),
            [(id, 2)]
        );
        assert!(!renew(db, id, "a", t3).await.unwrap(), "a lost it");
        assert!(!complete(db, id, "a", t3).await.unwrap());
        assert!(complete(db, id, "b", t3).await.unwrap());
        assert!(!is_open(db, "long", "long:").await.unwrap());
    }
}
