//! Import jobs: checked rows are written in whole batches, each in one transaction together with
//! the job's progress, so a killed import leaves only whole batches and resumes where it stopped.
//! The job records live here; what a batch does with duplicates is decided by the pure plan in
//! `leadline_domain::import_plan`; the batch writers are per backend (`sqlite_batch`: rows
//! through the one writer; `pg_pipeline`: `COPY`, two batches at a time); saved column mappings
//! in `mappings`.

mod batches;
mod mappings;
mod pg_pipeline;
pub mod phases;
mod sqlite_batch;

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use leadline_domain::import_plan::Refused;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

use crate::db::sql::{self, Arg};
use crate::db::sqlite_writer;
use crate::{Db, Result, StoreError, bind_args, db_run, now};

pub use batches::{
    Applied, Fence, MoreBatches, TRANSACTION_ROWS, apply_batches, look_for_other_writers,
    others_writing,
};
pub use leadline_domain::import_plan::{BatchCounts, BatchRow, OnDuplicate, Prepared};
pub use mappings::{SavedMapping, mappings, save_mapping};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ImportJob {
    pub id: i64,
    pub file_name: String,
    #[serde(skip)]
    pub file_path: String,
    pub options: Json<Value>,
    pub status: String,
    pub rows_done: i64,
    pub imported: i64,
    pub updated: i64,
    pub skipped: i64,
    pub collisions: i64,
    pub failed: i64,
    /// New contacts given to the owner of their company.
    pub joined: i64,
    /// New records for which a company or e-mail case was opened.
    pub cases: i64,
    /// New records given to the owner of the customer who referred them.
    pub referred: i64,
    pub error: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const JOB_COLUMNS: &str = "id, file_name, file_path, options, status, rows_done, imported, updated, skipped, \
    collisions, failed, joined, cases, referred, error, created_by, created_at, updated_at, finished_at";

/// Registers a job; `options` keeps everything needed to resume it (mapping, policy, assignment).
pub async fn create_job(
    db: &Db,
    actor: UserId,
    file_name: &str,
    file_path: &str,
    options: &Value,
) -> Result<ImportJob> {
    const INSERT: &str = "INSERT INTO imports (file_name, file_path, options, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, 'running', $4, $5, $5) RETURNING id";
    let args = [
        Arg::Text(file_name.to_string()),
        Arg::Text(file_path.to_string()),
        Arg::Json(options.clone()),
        Arg::I64(actor.0),
        Arg::Time(now()),
    ];
    // Through the writer on SQLite, like the job's other bookkeeping (see `finish_job`).
    let id: i64 = match db {
        Db::Sqlite(pool) => {
            sqlite_writer::run_background(pool, move |conn| {
                let values: Vec<_> = args.iter().map(sqlite_writer::value).collect();
                Ok(sqlite_writer::prepare(conn, INSERT, &values)?
                    .raw_query()
                    .next()?
                    .ok_or_else(|| StoreError::Internal("no import id".into()))?
                    .get(0)?)
            })
            .await?
        }
        Db::Postgres(pool) => {
            bind_args!(sqlx::query_scalar(INSERT), args)
                .fetch_one(pool)
                .await?
        }
    };
    get_job(db, id).await
}

pub async fn get_job(db: &Db, id: i64) -> Result<ImportJob> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM imports WHERE id = $1");
    let job: Option<ImportJob> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    job.ok_or(StoreError::NotFound)
}

/// Recent jobs, newest first; `by` limits them to one person's.
pub async fn list_jobs(db: &Db, by: Option<UserId>, limit: i64) -> Result<Vec<ImportJob>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM imports WHERE ($1 = 0 OR created_by = $1) ORDER BY id DESC LIMIT $2"
    );
    Ok(db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(by.map(|u| u.0).unwrap_or(0))
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}

pub async fn finish_job(db: &Db, id: i64, status: JobStatus, error: Option<&str>) -> Result<()> {
    let status = match status {
        JobStatus::Running => "running",
        JobStatus::Done => "done",
        JobStatus::Failed => "failed",
    };
    // Through the writer on SQLite, as a job nobody waits on: written on another connection,
    // the import's own bookkeeping would look like somebody else writing beside it.
    sql::execute_background(
        db,
        "UPDATE imports SET status = $1, error = $2, updated_at = $3, finished_at = $3 WHERE id = $4",
        vec![
            Arg::Text(status.into()),
            Arg::OptText(error.map(str::to_string)),
            Arg::Time(now()),
            Arg::I64(id),
        ],
    )
    .await?;
    Ok(())
}

/// After a large import on PostgreSQL, refreshes the planner's statistics of the tables it
/// filled: until autovacuum gets to them, a freshly loaded table looks nearly empty, and the
/// export's keyset pages were planned as sorts of a sequential scan (2 s a page at 1M leads).
/// SQLite keeps no statistics unless asked, so there is nothing to refresh.
pub async fn refresh_statistics(db: &Db) -> Result<()> {
    if let Db::Postgres(pool) = db {
        sqlx::query("ANALYZE leads, lead_phones, lead_tags, audit_log")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Marks a job as running again before a resume.
pub async fn reopen_job(db: &Db, id: i64) -> Result<()> {
    sql::execute_background(
        db,
        "UPDATE imports SET status = 'running', error = NULL, finished_at = NULL, updated_at = $1 WHERE id = $2",
        vec![Arg::Time(now()), Arg::I64(id)],
    )
    .await?;
    Ok(())
}

/// The rows a job refused, in file order: (row number, original cells, reason code).
pub async fn errors(db: &Db, job_id: i64) -> Result<Vec<Refused>> {
    let rows: Vec<(i64, Json<Vec<String>>, String)> = db_run!(db, |pool| {
        sqlx::query_as("SELECT row_number, cells, reason FROM import_errors WHERE import_id = $1 ORDER BY row_number")
            .bind(job_id)
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(|(n, c, r)| (n, c.0, r)).collect())
}
