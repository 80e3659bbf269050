//! Writing an import's batches: the one entry both backends share, each batch advancing the
//! job in the transaction that writes it, and the statements both backends run.
//!
//! Unlike record call and next call (one body over `db::tx`), an import batch keeps a writer
//! per backend, because each is built on what only its backend has. PostgreSQL takes a batch's
//! new leads and phones by `COPY` (one statement per table, not a row each) and writes two
//! batches at once on two connections (1M-row CSV 54.8 s against 72.1 s on one connection,
//! commit 65cf35f). SQLite has no
//! `COPY` and one writer: row statements on the writer's connection, one transaction over the
//! batches that are ready (1M-row CSV 17.2 s against 20.4-21.6 s with a commit per batch, commit
//! 9a2b506). What both share is written once: the duplicate plan
//! (`leadline_domain::import_plan`), the statements below, and this entry.

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use leadline_domain::import_plan::{BatchCounts, BatchRow, OnDuplicate, split};

use super::pg_pipeline::pg_pipeline;
use super::sqlite_batch::{BATCH_CACHE_KIB, sqlite_batch};
use crate::auth::users;
use crate::db::sqlite_writer;
use crate::{Db, Result, StoreError, now};

/// Where an import's next batches come from while its transaction is open on SQLite: the next
/// batch (its rows and the job's `rows_done` after it) if one is ready now and the import may
/// keep the writer longer, else `None` and the transaction commits.
pub trait MoreBatches: Send + 'static {
    fn ready(&mut self) -> Option<(Vec<BatchRow>, i64)>;
}

/// What [`apply_batches`] did in its one transaction.
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    pub counts: BatchCounts,
    /// Rows of the batches written.
    pub rows: usize,
    /// Where the job is now (`rows_done` of the last batch written).
    pub rows_done: i64,
    /// How long the batches held the writer, their commit included (SQLite, not counting a wait
    /// for others), or took (PostgreSQL).
    pub took: std::time::Duration,
}

/// Writes `first` and the batches that `more` has ready, each batch advancing the job to its
/// `rows_done` in the transaction that writes it: up to [`TRANSACTION_ROWS`] rows in one
/// transaction on SQLite, up to `PIPELINE_ROWS` rows in a transaction per batch, two at a time,
/// on PostgreSQL (`pg_pipeline`). Returns what was done, and `more` to ask again.
///
/// SQLite: the batches (look-ups included) run on the database's one writer ([`sqlite_writer`])
/// with cached prepared statements, a row at a time: a function call per row instead of sqlx's
/// thread hand-offs and thousands of bound parameters. A commit writes every page its batches
/// changed to the log, and rows with random phones and companies change pages all over their
/// indexes whatever a batch's size, so one transaction over several batches writes each such
/// page once instead of once per batch. PostgreSQL: the leads (search tokens included) and
/// their phones go in by `COPY`.
pub async fn apply_batches<M: MoreBatches>(
    db: &Db,
    job_id: i64,
    actor: UserId,
    policy: OnDuplicate,
    fence: Option<Fence>,
    first: (Vec<BatchRow>, i64),
    mut more: M,
) -> Result<(Applied, M)> {
    // What the importer may see, now: a stored lead outside it is never filled nor counted as a
    // duplicate (`import_plan::plan`).
    let viewer = users::viewer(db, &users::get_user(db, actor).await?).await?;
    // What a contact of another person's company does (`domain::contact_match`).
    let contacts = crate::ownership::detect::company_contacts(db).await?;
    let step = move |rows_done| JobStep {
        job_id,
        actor,
        rows_done,
        at: now(),
        fence: fence.clone(),
    };
    match db {
        Db::Sqlite(pool) => {
            let ((mut applied, more), held) = sqlite_writer::run_bulk_held(pool, move |conn| {
                // The writer keeps a small page cache for its many small commits; batches touch
                // thousands of index pages, so they work with a larger one and give it back.
                let kept: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
                conn.execute_batch(&format!("PRAGMA cache_size = {BATCH_CACHE_KIB}"))?;
                let mut applied = Applied {
                    counts: BatchCounts::default(),
                    rows: 0,
                    rows_done: first.1,
                    took: Default::default(),
                };
                let mut next = Some(first);
                let done = (|| {
                    while let Some((rows, rows_done)) = next.take() {
                        applied.rows += rows.len();
                        applied.rows_done = rows_done;
                        let (candidates, invalid) = split(rows);
                        let c = sqlite_batch(
                            conn,
                            &step(rows_done),
                            policy,
                            contacts,
                            viewer.lead_scope(),
                            candidates,
                            invalid,
                        )?;
                        applied.counts.add(&c);
                        if applied.rows < TRANSACTION_ROWS {
                            next = more.ready();
                        }
                    }
                    Ok::<_, StoreError>(())
                })();
                conn.execute_batch(&format!("PRAGMA cache_size = {kept}"))?;
                done?;
                Ok((applied, more))
            })
            .await?;
            applied.took = held;
            Ok((applied, more))
        }
        Db::Postgres(pool) => {
            let started = std::time::Instant::now();
            let mut applied = Applied {
                counts: BatchCounts::default(),
                rows: first.0.len(),
                rows_done: first.1,
                took: Default::default(),
            };
            pg_pipeline(
                pool,
                step,
                policy,
                contacts,
                viewer.lead_scope(),
                first,
                &mut more,
                &mut applied,
            )
            .await?;
            applied.took = started.elapsed();
            Ok((applied, more))
        }
    }
}

/// Most rows of one SQLite import transaction. 1M-row CSV, same machine: 16.4-17.6 s with
/// 160,000-row batches against 20.4-21.6 s with a commit every 15,000.
pub const TRANSACTION_ROWS: usize = 150_000;

/// True when, on SQLite, people are writing beside the import (a lead served or a call recorded
/// through the writer, or a commit on another connection, within the last two seconds): each of
/// them waits for the batch being written, so the import should write short batches.
/// PostgreSQL writers do not wait for each other.
pub fn others_writing(db: &Db) -> bool {
    match db {
        Db::Sqlite(pool) => sqlite_writer::others_writing(pool, std::time::Duration::from_secs(2)),
        Db::Postgres(_) => false,
    }
}

/// Looks for writers on other connections for `over` before an import starts in a process of
/// its own (`leadline import` beside a running server), so that [`others_writing`] knows of them
/// before the first batch is cut: the writer notices other connections' commits only between
/// its own jobs, and a server's writer looks every second anyway.
pub async fn look_for_other_writers(db: &Db, over: std::time::Duration) -> Result<()> {
    if let Db::Sqlite(pool) = db {
        sqlite_writer::run_background(pool, |_| Ok(())).await?;
        tokio::time::sleep(over).await;
        sqlite_writer::run_background(pool, |_| Ok(())).await?;
    }
    Ok(())
}

/// The job a batch belongs to and where it leaves the job.
/// The claim a server holds on the job that runs an import (`jobs.id`, `jobs.claimed_by`): each
/// batch advances the import only while that claim still holds, checked in the batch's own
/// transaction, so a server that lost the job (its lease lapsed while it stalled) cannot write
/// a batch that the server which took the job over writes too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub job_id: i64,
    pub worker: String,
}

pub(super) struct JobStep {
    pub(super) job_id: i64,
    pub(super) actor: UserId,
    pub(super) rows_done: i64,
    pub(super) at: DateTime<Utc>,
    pub(super) fence: Option<Fence>,
}

impl JobStep {
    /// The fence's arguments of [`PROGRESS`] (`$12`, `$13`): none for an import without a job.
    pub(super) fn fence_args(&self) -> (Option<i64>, Option<&str>) {
        match &self.fence {
            Some(f) => (Some(f.job_id), Some(f.worker.as_str())),
            None => (None, None),
        }
    }

    /// The outcome of [`PROGRESS`]: one row, or the claim was lost (the transaction must not
    /// commit).
    pub(super) fn progressed(&self, changed: u64) -> Result<()> {
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::ClaimLost)
        }
    }
}

/// The first line of history a batch writes for a new lead, as
/// [`crate::ownership::events::INSERT`]'s arguments: given to the owner of the customer who
/// referred it (`referral`, reason `referred_by <id>`), or to its company's owner (`import`,
/// reason `company`); `None` for the others (their owner's countdown and history start after
/// the import, `ownership::countdown::backfill`).
pub(super) fn first_event(
    lead: &leadline_domain::import_plan::NewLead,
    job: &JobStep,
) -> Option<Vec<crate::db::sql::Arg>> {
    use crate::ownership::events::{Action, Event};
    let (action, reason) = match lead.referral {
        Some(r) if lead.went_to_referrer() => (Action::Referral, format!("referred_by {}", r.by)),
        _ if lead.joined => (
            Action::Import,
            crate::ownership::detect::JOINED_REASON.to_string(),
        ),
        _ => return None,
    };
    Some(
        Event {
            to: lead.owner,
            actor: Some(job.actor),
            reason: Some(reason),
            ..Event::new(lead.id, job.at, action)
        }
        .args(),
    )
}

// Statements both backends run. Their `$N` placeholders appear in order, which is what lets
// rusqlite bind them by position: SQLite numbers parameters by first appearance.

/// Fills a stored lead's empty fields ("update" duplicates).
pub(super) const FILL_LEAD: &str = "UPDATE leads SET company = $1, company_norm = $2, title = $3, city = $4, region = $5, \
    source = $6, custom = $7, version = version + 1, updated_at = $8 WHERE id = $9 AND deleted_at IS NULL";
/// Marks the leads with ids from `$1` to `$2` that have a number on the do-not-call list
/// (`leads.dnc`): once per batch, after its phones.
pub(super) const MARK_DNC: &str = "UPDATE leads SET dnc = TRUE WHERE id IN (SELECT p.lead_id FROM lead_phones p \
    JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id BETWEEN $1 AND $2)";
/// Advances the job to the end of the batch, in the batch's transaction, while the fence (if
/// any: `$12` the running job, `$13` the server holding it) holds.
pub(super) const PROGRESS: &str = "UPDATE imports SET rows_done = $1, imported = imported + $2, updated = updated + $3, \
    skipped = skipped + $4, collisions = collisions + $5, failed = failed + $6, joined = joined + $7, \
    cases = cases + $8, referred = referred + $9, updated_at = $10 WHERE id = $11 \
    AND ($12 IS NULL OR EXISTS (SELECT 1 FROM jobs j WHERE j.id = $12 AND j.claimed_by = $13 \
    AND j.status = 'running'))";
/// Owned leads of a company key (one row per owner: its oldest lead), on SQLite; the named
/// index for the reason given at `BY_COMPANY_SQLITE`.
pub(super) const CONTACTS_SQLITE: &str = "SELECT MIN(id), owner_id, NULL FROM leads INDEXED BY leads_company_key \
    WHERE company_key = $1 AND owner_id IS NOT NULL AND deleted_at IS NULL GROUP BY owner_id";
/// Owned leads with an e-mail (one row per owner), on SQLite.
pub(super) const EMAILS_SQLITE: &str = "SELECT MIN(id), owner_id, NULL FROM leads INDEXED BY leads_email \
    WHERE email = $1 AND owner_id IS NOT NULL AND deleted_at IS NULL GROUP BY owner_id";
