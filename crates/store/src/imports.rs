//! Import jobs: checked rows are written in whole batches, each in one transaction together with
//! the job's progress, so a killed import leaves only whole batches and resumes where it stopped.
//! Duplicates are found by normalised phone, then by normalised company, within the file and
//! against stored leads, and handled by the job's policy.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_domain::lead::normalise_company;
use leadline_domain::{LeadFields, LeadId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;

use crate::audit::AuditEntry;
use crate::leads::write::tokens;
use crate::sql::{self, Arg, Sql};
use crate::sqlite_writer::{self, Connection, time_text};
use crate::{Db, Result, StoreError, bind_args, db_run, now, write_audit};

/// What to do with a row whose phone (or company) is already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    #[default]
    Skip,
    /// Fill the empty fields of the existing lead.
    Update,
    /// Import the row anyway and record a collision (撞单) for the ownership rules.
    Collision,
}

impl OnDuplicate {
    pub fn parse(s: &str) -> Option<OnDuplicate> {
        match s {
            "skip" => Some(OnDuplicate::Skip),
            "update" => Some(OnDuplicate::Update),
            "collision" => Some(OnDuplicate::Collision),
            _ => None,
        }
    }
}

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
    pub error: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const JOB_COLUMNS: &str = "id, file_name, file_path, options, status, rows_done, imported, updated, skipped, \
    collisions, failed, error, created_by, created_at, updated_at, finished_at";

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

/// One row of a batch, already checked like a hand-entered lead.
#[derive(Debug, Clone)]
pub enum BatchRow {
    Lead {
        number: i64,
        fields: Box<LeadFields>,
        owner: Option<UserId>,
        /// What the writer derives from the fields; made by [`BatchRow::lead`] on the thread
        /// that builds the batch, so the writer only writes.
        prepared: Box<Prepared>,
    },
    Invalid {
        number: i64,
        cells: Vec<String>,
        reason: String,
    },
}

impl BatchRow {
    /// A lead row, with its [`Prepared`] parts worked out here.
    pub fn lead(number: i64, fields: LeadFields, owner: Option<UserId>) -> BatchRow {
        let prepared = Box::new(Prepared::new(&fields));
        BatchRow::Lead {
            number,
            fields: Box::new(fields),
            owner,
            prepared,
        }
    }
}

/// What a new lead's rows hold besides its fields: the normalised company, the search tokens
/// and the custom fields as text.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    company_norm: Option<String>,
    tokens: String,
    custom: String,
}

impl Prepared {
    pub fn new(fields: &LeadFields) -> Prepared {
        Prepared {
            company_norm: fields.company.as_deref().map(normalise_company),
            tokens: tokens(fields),
            custom: Value::Object(fields.custom.clone()).to_string(),
        }
    }

    /// The normalised company when it is not empty: the duplicate key.
    fn company_key(&self) -> Option<&str> {
        self.company_norm.as_deref().filter(|c| !c.is_empty())
    }
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub imported: i64,
    pub updated: i64,
    pub skipped: i64,
    pub collisions: i64,
    pub failed: i64,
}

impl BatchCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &BatchCounts) {
        self.imported += other.imported;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.collisions += other.collisions;
        self.failed += other.failed;
    }
}

/// Where a duplicate points: a stored lead or a row earlier in this batch.
#[derive(Debug, Clone, Copy)]
enum Known {
    Stored(LeadId, Option<UserId>),
    New(usize),
    /// A new lead of the batch still being written beside this one: rows repeating it are
    /// skipped ([`pg_pipeline`] has other policies wait for that batch first).
    Pending,
}

struct Candidate {
    number: i64,
    fields: LeadFields,
    owner: Option<UserId>,
    prepared: Prepared,
}

struct NewLead {
    id: LeadId,
    fields: LeadFields,
    owner: Option<UserId>,
    /// Collisions recorded for this lead: (what matched, other lead, its owner); what matched is a
    /// phone index, or `None` for the company.
    collides: Vec<(Option<usize>, LeadId, Option<UserId>)>,
    prepared: Prepared,
    /// Filled from a later row of the batch: `prepared` must be made again.
    filled: bool,
}

/// Stands for "the new lead at this index of the batch" until ids are allocated.
fn placeholder(index: usize) -> LeadId {
    LeadId(-(index as i64) - 1)
}

/// Rows per multi-row INSERT of the rarer PostgreSQL rows (collisions, tags, refused rows).
const ROWS_PER_STATEMENT: usize = 500;

/// (key, lead, owner) of stored leads found by phone or company.
type Stored = Vec<(String, LeadId, Option<UserId>)>;

/// A refused row: (row number, original cells, reason).
type Refused = (i64, Vec<String>, String);

/// What a batch will do, decided before anything is written.
struct Plan {
    counts: BatchCounts,
    new_leads: Vec<NewLead>,
    /// Stored leads whose empty fields a row fills ("update" policy).
    fills: Vec<(LeadId, LeadFields)>,
    invalid: Vec<Refused>,
}

/// Splits a batch into lead candidates and refused rows.
fn split(rows: Vec<BatchRow>) -> (Vec<Candidate>, Vec<Refused>) {
    let mut invalid = Vec::new();
    let mut candidates = Vec::with_capacity(rows.len());
    for row in rows {
        match row {
            BatchRow::Lead {
                number,
                fields,
                owner,
                prepared,
            } => candidates.push(Candidate {
                number,
                fields: *fields,
                owner,
                prepared: *prepared,
            }),
            BatchRow::Invalid {
                number,
                cells,
                reason,
            } => invalid.push((number, cells, reason)),
        }
    }
    (candidates, invalid)
}

/// Every phone and company key of the candidates, to look up at once.
fn keys(candidates: &[Candidate]) -> (Vec<&str>, Vec<&str>) {
    let phones = candidates
        .iter()
        .flat_map(|c| c.fields.phones.iter().map(|p| p.e164()))
        .collect();
    let companies = candidates
        .iter()
        .filter_map(|c| c.prepared.company_key())
        .collect();
    (phones, companies)
}

/// The phones and companies of the new leads of a batch still being written beside the batch
/// being planned ([`pg_pipeline`]): to the plan they are stored leads that cannot be filled.
#[derive(Default)]
struct Pending {
    phones: std::collections::HashSet<String>,
    companies: std::collections::HashSet<String>,
}

impl Pending {
    fn of(new_leads: &[NewLead]) -> Pending {
        let mut pending = Pending::default();
        for l in new_leads {
            pending
                .phones
                .extend(l.fields.phones.iter().map(|p| p.e164().to_string()));
            if let Some(k) = l.prepared.company_key() {
                pending.companies.insert(k.to_string());
            }
        }
        pending
    }

    /// Whether the candidate holds one of these phones or companies.
    fn holds(&self, c: &Candidate) -> bool {
        c.fields
            .phones
            .iter()
            .any(|p| self.phones.contains(p.e164()))
            || c.prepared
                .company_key()
                .is_some_and(|k| self.companies.contains(k))
    }
}

/// Finds the duplicates (any known phone, else the same normalised company; stored or earlier in
/// the batch) and applies the policy to them.
fn plan(
    candidates: Vec<Candidate>,
    mut invalid: Vec<Refused>,
    stored_phones: Stored,
    stored_companies: Stored,
    pending: &Pending,
    policy: OnDuplicate,
) -> Plan {
    let mut counts = BatchCounts::default();
    let mut known_phone: HashMap<String, Known> = stored_phones
        .into_iter()
        .map(|(k, id, o)| (k, Known::Stored(id, o)))
        .collect();
    for p in &pending.phones {
        known_phone.entry(p.clone()).or_insert(Known::Pending);
    }
    let mut known_company: HashMap<String, Known> = HashMap::new();
    for (k, id, o) in stored_companies {
        known_company.entry(k).or_insert(Known::Stored(id, o));
    }
    for c in &pending.companies {
        known_company.entry(c.clone()).or_insert(Known::Pending);
    }
    let mut new_leads: Vec<NewLead> = Vec::with_capacity(candidates.len());
    let mut fills: Vec<(LeadId, LeadFields)> = Vec::new();
    for Candidate {
        number,
        fields,
        owner,
        prepared,
    } in candidates
    {
        if fields.phones.is_empty() && fields.company.is_none() {
            counts.failed += 1;
            invalid.push((number, Vec::new(), "needs_phone_or_company".into()));
            continue;
        }
        let company_key = prepared.company_key();
        // Any known phone, else (where no phone matches) the same normalised company.
        let hit_phone = fields
            .phones
            .iter()
            .find_map(|p| known_phone.get(p.e164()).copied());
        let hit_company = company_key.and_then(|c| known_company.get(c).copied());
        let hit = hit_phone.or(hit_company);
        match (hit, policy) {
            (None, _) => {}
            // Only the "skip" policy meets pending keys: others wait for the batch before.
            (Some(_), OnDuplicate::Skip) | (Some(Known::Pending), _) => {
                counts.skipped += 1;
                continue;
            }
            (Some(Known::Stored(id, _)), OnDuplicate::Update) => {
                fills.push((id, fields));
                continue;
            }
            (Some(Known::New(i)), OnDuplicate::Update) => {
                fill_empty(&mut new_leads[i].fields, &fields);
                new_leads[i].filled = true;
                counts.updated += 1;
                continue;
            }
            (Some(_), OnDuplicate::Collision) => {}
        }
        let index = new_leads.len();
        let mut collides = Vec::new();
        for (i, p) in fields.phones.iter().enumerate() {
            match known_phone.get(p.e164()) {
                Some(Known::Stored(id, o)) => collides.push((Some(i), *id, *o)),
                Some(Known::New(j)) => {
                    collides.push((Some(i), placeholder(*j), new_leads[*j].owner))
                }
                None => {
                    known_phone.insert(p.e164().to_string(), Known::New(index));
                }
                // A row holding a pending key was skipped above.
                Some(Known::Pending) => {}
            }
        }
        if hit_phone.is_none() {
            match hit_company {
                Some(Known::Stored(id, o)) => collides.push((None, id, o)),
                Some(Known::New(j)) => collides.push((None, placeholder(j), new_leads[j].owner)),
                Some(Known::Pending) | None => {}
            }
        }
        if let Some(c) = company_key
            && !known_company.contains_key(c)
        {
            known_company.insert(c.to_string(), Known::New(index));
        }
        if !collides.is_empty() {
            counts.collisions += 1;
        }
        new_leads.push(NewLead {
            id: LeadId(0),
            fields,
            owner,
            collides,
            prepared,
            filled: false,
        });
    }
    for lead in new_leads.iter_mut().filter(|l| l.filled) {
        lead.prepared = Prepared::new(&lead.fields);
    }
    counts.imported = new_leads.len() as i64;
    counts.failed += invalid
        .iter()
        .filter(|r| r.2 != "needs_phone_or_company")
        .count() as i64;
    Plan {
        counts,
        new_leads,
        fills,
        invalid,
    }
}

/// Gives the new leads the ids `first..` and points collisions with earlier rows of the batch at
/// those ids.
fn assign_ids(new_leads: &mut [NewLead], ids: impl IntoIterator<Item = i64>) {
    for (lead, id) in new_leads.iter_mut().zip(ids) {
        lead.id = LeadId(id);
    }
    let ids: Vec<LeadId> = new_leads.iter().map(|l| l.id).collect();
    for lead in new_leads.iter_mut() {
        for c in lead.collides.iter_mut() {
            if c.1.0 < 0 {
                c.1 = ids[(-c.1.0 - 1) as usize];
            }
        }
    }
}

/// The phone, or `company:<normalised>`, a collision was recorded on.
fn collision_key(lead: &NewLead, matched: Option<usize>) -> String {
    match matched {
        Some(i) => lead.fields.phones[i].e164().to_string(),
        None => format!(
            "company:{}",
            lead.prepared.company_norm.as_deref().unwrap_or_default()
        ),
    }
}

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
    first: (Vec<BatchRow>, i64),
    mut more: M,
) -> Result<(Applied, M)> {
    let step = move |rows_done| JobStep {
        job_id,
        actor,
        rows_done,
        at: now(),
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
                        let c = sqlite_batch(conn, &step(rows_done), policy, candidates, invalid)?;
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
            pg_pipeline(pool, step, policy, first, &mut more, &mut applied).await?;
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

/// The SQLite page cache a batch works with (negative: KiB). 1M-row CSV, same machine back to
/// back: writer's own 16 MB 48.0 s (peak RSS 208 MB), 32 MB 44.5 s (236 MB), 64 MB 42.4 s
/// (273 MB, too near the 300 MB goal).
const BATCH_CACHE_KIB: i64 = -32_768;

/// The job a batch belongs to and where it leaves the job.
struct JobStep {
    job_id: i64,
    actor: UserId,
    rows_done: i64,
    at: DateTime<Utc>,
}

// Statements both backends run. Their `$N` placeholders appear in order, which is what lets
// rusqlite bind them by position: SQLite numbers parameters by first appearance.

/// Fills a stored lead's empty fields ("update" duplicates).
const FILL_LEAD: &str = "UPDATE leads SET company = $1, company_norm = $2, title = $3, city = $4, region = $5, \
    source = $6, custom = $7, version = version + 1, updated_at = $8 WHERE id = $9 AND deleted_at IS NULL";
/// Marks the leads with ids from `$1` to `$2` that have a number on the do-not-call list
/// (`leads.dnc`): once per batch, after its phones.
const MARK_DNC: &str = "UPDATE leads SET dnc = TRUE WHERE id IN (SELECT p.lead_id FROM lead_phones p \
    JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id BETWEEN $1 AND $2)";
/// Advances the job to the end of the batch, in the batch's transaction.
const PROGRESS: &str = "UPDATE imports SET rows_done = $1, imported = imported + $2, updated = updated + $3, \
    skipped = skipped + $4, collisions = collisions + $5, failed = failed + $6, updated_at = $7 WHERE id = $8";

/// The stored lead with a normalised company (SQLite). Named index: where most leads have no
/// company (phone-only lists), the statistics say an equal company matches nearly every lead,
/// and SQLite would rather walk the whole table in id order than sort one match (a 200,000-lead
/// table turned a batch of 5,000 look-ups into minutes).
const BY_COMPANY_SQLITE: &str = "SELECT l.id, l.owner_id FROM leads l INDEXED BY leads_company_norm \
    WHERE l.deleted_at IS NULL AND l.company_norm = ?1 ORDER BY l.id LIMIT 1";

/// (key, lead, owner) for each key that `stmt` (binding the key, selecting lead and owner) finds.
fn find_each(
    stmt: &mut rusqlite::CachedStatement<'_>,
    keys: &[&str],
    found: &mut Stored,
) -> rusqlite::Result<()> {
    for key in keys {
        let mut rows = stmt.query([key])?;
        while let Some(r) = rows.next()? {
            found.push((
                key.to_string(),
                LeadId(r.get(0)?),
                r.get::<_, Option<i64>>(1)?.map(UserId),
            ));
        }
    }
    Ok(())
}

fn sqlite_batch(
    conn: &Connection,
    job: &JobStep,
    policy: OnDuplicate,
    candidates: Vec<Candidate>,
    invalid: Vec<Refused>,
) -> Result<BatchCounts> {
    let (mut stored_phones, mut stored_companies) = (Stored::new(), Stored::new());
    {
        let (phones, companies) = keys(&candidates);
        let mut by_phone = conn.prepare_cached(
            "SELECT l.id, l.owner_id FROM lead_phones p JOIN leads l ON l.id = p.lead_id \
             WHERE p.collision_with IS NULL AND p.e164 = ?1",
        )?;
        find_each(&mut by_phone, &phones, &mut stored_phones)?;
        let mut by_company = conn.prepare_cached(BY_COMPANY_SQLITE)?;
        find_each(&mut by_company, &companies, &mut stored_companies)?;
    }
    let Plan {
        mut counts,
        mut new_leads,
        fills,
        invalid,
    } = plan(
        candidates,
        invalid,
        stored_phones,
        stored_companies,
        &Pending::default(),
        policy,
    );
    let at = time_text(job.at);
    let actor = job.actor.0;
    if !new_leads.is_empty() {
        let max: i64 =
            conn.query_row("SELECT COALESCE(MAX(id), 0) FROM leads", [], |r| r.get(0))?;
        assign_ids(&mut new_leads, max + 1..);
        let mut stmt = conn.prepare_cached(
            "INSERT INTO leads (id, name, company, company_norm, title, city, region, source, status, intent, \
             owner_id, created_by, custom, version, created_at, updated_at, import_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?14, ?15)",
        )?;
        for l in &new_leads {
            let f = &l.fields;
            stmt.execute(rusqlite::params![
                l.id.0,
                f.name,
                f.company,
                l.prepared.company_norm,
                f.title,
                f.city,
                f.region,
                f.source,
                f.status.code(),
                f.intent.map(|i| i.code()),
                l.owner.map(|o| o.0),
                actor,
                l.prepared.custom,
                at,
                job.job_id,
            ])?;
        }
        let mut stmt = conn.prepare_cached(
            "INSERT INTO lead_phones (lead_id, e164, raw, position, collision_with) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for l in &new_leads {
            for (i, p) in l.fields.phones.iter().enumerate() {
                let collision = l.collides.iter().find(|c| c.0 == Some(i)).map(|c| c.1.0);
                stmt.execute(rusqlite::params![
                    l.id.0,
                    p.e164(),
                    p.raw(),
                    i as i64,
                    collision
                ])?;
            }
        }
        let ids = new_leads.iter().map(|l| l.id.0);
        if let (Some(first), Some(last)) = (ids.clone().min(), ids.max()) {
            conn.prepare_cached(MARK_DNC)?
                .execute(rusqlite::params![first, last])?;
        }
        let mut stmt = conn.prepare_cached(
            "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, existing_owner_id, new_owner_id, \
             recorded_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for l in new_leads.iter().filter(|l| !l.collides.is_empty()) {
            for (i, other, other_owner) in &l.collides {
                stmt.execute(rusqlite::params![
                    l.id.0,
                    other.0,
                    collision_key(l, *i),
                    other_owner.map(|o| o.0),
                    l.owner.map(|o| o.0),
                    actor,
                    at,
                ])?;
            }
        }
        let mut stmt =
            conn.prepare_cached("INSERT INTO lead_tags (lead_id, tag) VALUES (?1, ?2)")?;
        for l in &new_leads {
            for t in &l.fields.tags {
                stmt.execute(rusqlite::params![l.id.0, t])?;
            }
        }
        // Last: FTS5 keeps these in memory until the transaction (or a statement journal) asks.
        let mut stmt =
            conn.prepare_cached("INSERT INTO lead_search (rowid, tokens) VALUES (?1, ?2)")?;
        for l in &new_leads {
            stmt.execute(rusqlite::params![l.id.0, l.prepared.tokens])?;
        }
    }
    if !fills.is_empty() {
        let mut current = HashMap::new();
        let mut stmt = conn.prepare_cached(
            "SELECT company, title, city, region, source, custom FROM leads WHERE id = ?1",
        )?;
        for (id, _) in &fills {
            if current.contains_key(id) {
                continue;
            }
            let mut rows = stmt.query([id.0])?;
            if let Some(r) = rows.next()? {
                let custom: String = r.get(5)?;
                current.insert(
                    *id,
                    FillRow {
                        company: r.get(0)?,
                        title: r.get(1)?,
                        city: r.get(2)?,
                        region: r.get(3)?,
                        source: r.get(4)?,
                        custom: serde_json::from_str(&custom).unwrap_or_default(),
                    },
                );
            }
        }
        let targets = fill_targets(&fills, &current);
        let mut update = conn.prepare_cached(FILL_LEAD)?;
        let mut audit = conn.prepare_cached(crate::audit::INSERT)?;
        for (id, before, after) in &targets {
            let changed = update.execute(rusqlite::params![
                after.company,
                after.company.as_deref().map(normalise_company),
                after.title,
                after.city,
                after.region,
                after.source,
                Value::Object(after.custom.clone()).to_string(),
                at,
                id.0,
            ])?;
            if changed == 1 {
                audit.execute(rusqlite::params![
                    "lead",
                    id.0,
                    actor,
                    "update",
                    before.to_string(),
                    json!({"import": job.job_id, "filled": fill_view(after)}).to_string(),
                    at,
                ])?;
            }
        }
        counts.updated += targets.len() as i64;
        counts.skipped += (fills.len() - targets.len()) as i64;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO import_errors (import_id, row_number, cells, reason) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (n, cells, reason) in &invalid {
        stmt.execute(rusqlite::params![
            job.job_id,
            n,
            json!(cells).to_string(),
            reason
        ])?;
    }
    conn.prepare_cached(PROGRESS)?.execute(rusqlite::params![
        job.rows_done,
        counts.imported,
        counts.updated,
        counts.skipped,
        counts.collisions,
        counts.failed,
        at,
        job.job_id,
    ])?;
    Ok(counts)
}

/// The stored leads (not deleted) holding any of these phones or normalised companies.
async fn pg_stored(
    pool: &sqlx::PgPool,
    phones: Vec<&str>,
    companies: Vec<&str>,
) -> Result<(Stored, Stored)> {
    let phones: Stored = if phones.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT p.e164, l.id, l.owner_id FROM lead_phones p JOIN leads l ON l.id = p.lead_id \
             WHERE p.collision_with IS NULL AND p.e164 = ANY($1)",
        )
        .bind(phones)
        .fetch_all(pool)
        .await?
    };
    let companies: Stored = if companies.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT l.company_norm, l.id, l.owner_id FROM leads l \
             WHERE l.deleted_at IS NULL AND l.company_norm = ANY($1) ORDER BY l.id",
        )
        .bind(companies)
        .fetch_all(pool)
        .await?
    };
    Ok((phones, companies))
}

/// `n` new lead ids. A sequence is not transactional, so they are taken outside the batch's
/// transaction; a batch that fails leaves a gap in the ids, nothing else.
async fn pg_new_ids(pool: &sqlx::PgPool, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, $1)",
    )
    .bind(n as i64)
    .fetch_all(pool)
    .await?)
}

/// A batch being written on PostgreSQL by [`pg_pipeline`].
struct InFlight {
    task: tokio::task::JoinHandle<Result<BatchCounts>>,
    /// The phones and companies of its new leads.
    pending: Pending,
    /// Told whether it committed; taken by the batch after it.
    committed: Option<tokio::sync::oneshot::Receiver<bool>>,
}

impl InFlight {
    async fn outcome(self) -> Result<BatchCounts> {
        self.task
            .await
            .map_err(|e| StoreError::Internal(format!("import batch task: {e}")))?
    }
}

/// Most rows [`pg_pipeline`] writes before it returns, so that the import reports progress.
const PIPELINE_ROWS: usize = 60_000;

/// Writes `first` and the batches `more` has ready on PostgreSQL, two at a time on two
/// connections: PostgreSQL works a connection's statements on one core, and an import on one
/// connection left half of a two-core machine idle. A batch is planned while the batch before it
/// is still being written, knowing that one's new leads (as leads that cannot be filled), and
/// every batch before those two stored. It writes its own rows beside the batch before, then
/// waits for that one to commit before it touches what the two could share (stored leads it
/// fills, the job's progress) and commits after it: the job's `rows_done` never passes a row
/// that is not stored, and when a batch fails, the one after it rolls back. A batch that fills a
/// lead the batch before is writing, or that records collisions (which point at the other
/// lead), waits for the batch before to commit and is planned then.
async fn pg_pipeline<M: MoreBatches>(
    pool: &sqlx::PgPool,
    step: impl Fn(i64) -> JobStep,
    policy: OnDuplicate,
    first: (Vec<BatchRow>, i64),
    more: &mut M,
    applied: &mut Applied,
) -> Result<()> {
    let mut in_flight: std::collections::VecDeque<InFlight> = Default::default();
    let mut failure = None;
    let mut next = Some(first);
    while let Some((rows, rows_done)) = next.take() {
        let (candidates, invalid) = split(rows);
        let started = async {
            // Every batch but the one just before is stored before this one is planned.
            while in_flight.len() > 1 {
                let older = in_flight.pop_front().expect("two batches in flight");
                applied.counts.add(&older.outcome().await?);
            }
            let must_wait = in_flight.back().is_some_and(|before| match policy {
                OnDuplicate::Skip => false,
                OnDuplicate::Update => candidates.iter().any(|c| before.pending.holds(c)),
                OnDuplicate::Collision => true,
            });
            if must_wait && let Some(before) = in_flight.pop_back() {
                applied.counts.add(&before.outcome().await?);
            }
            let no_pending = Pending::default();
            let pending = in_flight.back().map_or(&no_pending, |b| &b.pending);
            let (phones, companies) = keys(&candidates);
            let (stored_phones, stored_companies) = pg_stored(pool, phones, companies).await?;
            let mut plan = plan(
                candidates,
                invalid,
                stored_phones,
                stored_companies,
                pending,
                policy,
            );
            let ids = pg_new_ids(pool, plan.new_leads.len()).await?;
            assign_ids(&mut plan.new_leads, ids);
            let before = in_flight.back_mut().and_then(|b| b.committed.take());
            let (done, committed) = tokio::sync::oneshot::channel();
            let pending = Pending::of(&plan.new_leads);
            let task = tokio::spawn(pg_write(pool.clone(), step(rows_done), plan, before, done));
            in_flight.push_back(InFlight {
                task,
                pending,
                committed: Some(committed),
            });
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(e) = started {
            failure = Some(e);
            break;
        }
        applied.rows_done = rows_done;
        if applied.rows < PIPELINE_ROWS {
            next = more.ready();
            if let Some((rows, _)) = &next {
                applied.rows += rows.len();
            }
        }
    }
    // Nothing is left writing when this returns, whatever failed.
    for batch in in_flight {
        match batch.outcome().await {
            Ok(counts) => applied.counts.add(&counts),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes one planned batch in its transaction; with `before`, waits for the batch before it
/// to commit before it fills stored leads, advances the job and commits (see [`pg_pipeline`]).
/// Tells `done` whether it committed.
async fn pg_write(
    pool: sqlx::PgPool,
    job: JobStep,
    plan: Plan,
    before: Option<tokio::sync::oneshot::Receiver<bool>>,
    done: tokio::sync::oneshot::Sender<bool>,
) -> Result<BatchCounts> {
    let result = async {
        let mut tx = pool.begin().await?;
        pg_insert(&mut tx, &job, &plan).await?;
        if let Some(before) = before
            && !before.await.unwrap_or(false)
        {
            // Dropping the transaction rolls it back.
            return Err(StoreError::Internal(
                "the import batch before this one failed".into(),
            ));
        }
        let counts = pg_finish(&mut tx, &job, plan).await?;
        tx.commit().await?;
        Ok(counts)
    }
    .await;
    let _ = done.send(result.is_ok());
    result
}

/// The rows that only this batch holds: its new leads (by `COPY`), their phones, do-not-call
/// marks, collisions and tags, and its refused rows.
async fn pg_insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    job: &JobStep,
    plan: &Plan,
) -> Result<()> {
    let new_leads = &plan.new_leads;
    let at = job.at;
    let actor = job.actor;
    if !new_leads.is_empty() {
        let stamp = at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
        let job_text = job.job_id.to_string();
        let mut buf = String::with_capacity(new_leads.len() * 700);
        for l in new_leads {
            let f = &l.fields;
            copy_row(
                &mut buf,
                &[
                    Some(&l.id.0.to_string()),
                    Some(&f.name),
                    f.company.as_deref(),
                    l.prepared.company_norm.as_deref(),
                    f.title.as_deref(),
                    f.city.as_deref(),
                    f.region.as_deref(),
                    f.source.as_deref(),
                    Some(f.status.code()),
                    f.intent.map(|i| i.code()),
                    l.owner.map(|o| o.0.to_string()).as_deref(),
                    Some(&actor.0.to_string()),
                    Some(&l.prepared.custom),
                    Some("1"),
                    Some(&stamp),
                    Some(&stamp),
                    Some(&tsvector_text(&l.prepared.tokens)),
                    Some(&job_text),
                ],
            );
        }
        copy_in(
            tx,
            "COPY leads (id, name, company, company_norm, title, city, region, source, status, intent, owner_id, \
             created_by, custom, version, created_at, updated_at, search_tokens, import_id) FROM STDIN",
            buf,
        )
        .await?;
        let mut buf = String::with_capacity(new_leads.len() * 60);
        for l in new_leads {
            for (i, p) in l.fields.phones.iter().enumerate() {
                let collision = l.collides.iter().find(|c| c.0 == Some(i)).map(|c| c.1.0);
                copy_row(
                    &mut buf,
                    &[
                        Some(&l.id.0.to_string()),
                        Some(p.e164()),
                        Some(p.raw()),
                        Some(&i.to_string()),
                        collision.map(|c| c.to_string()).as_deref(),
                    ],
                );
            }
        }
        if !buf.is_empty() {
            copy_in(
                tx,
                "COPY lead_phones (lead_id, e164, raw, position, collision_with) FROM STDIN",
                buf,
            )
            .await?;
        }
        let ids = new_leads.iter().map(|l| l.id.0);
        if let (Some(first), Some(last)) = (ids.clone().min(), ids.max()) {
            sqlx::query(MARK_DNC)
                .bind(first)
                .bind(last)
                .execute(&mut **tx)
                .await?;
        }
        let collision_rows: Vec<Vec<Arg>> = new_leads
            .iter()
            .flat_map(|l| {
                l.collides.iter().map(move |(i, other, other_owner)| {
                    vec![
                        Arg::I64(l.id.0),
                        Arg::I64(other.0),
                        Arg::Text(collision_key(l, *i)),
                        Arg::OptI64(other_owner.map(|o| o.0)),
                        Arg::OptI64(l.owner.map(|o| o.0)),
                        Arg::I64(actor.0),
                        Arg::Time(at),
                    ]
                })
            })
            .collect();
        for chunk in collision_rows.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(
                "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, existing_owner_id, new_owner_id, recorded_by, created_at) VALUES ",
            );
            sql.push_rows(chunk.iter().cloned());
            bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
                .execute(&mut **tx)
                .await?;
        }
        let tag_rows: Vec<Vec<Arg>> = new_leads
            .iter()
            .flat_map(|l| {
                l.fields
                    .tags
                    .iter()
                    .map(move |t| vec![Arg::I64(l.id.0), Arg::Text(t.clone())])
            })
            .collect();
        for chunk in tag_rows.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new("INSERT INTO lead_tags (lead_id, tag) VALUES ");
            sql.push_rows(chunk.iter().cloned());
            bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
                .execute(&mut **tx)
                .await?;
        }
    }
    for chunk in plan.invalid.chunks(ROWS_PER_STATEMENT) {
        let mut sql =
            Sql::new("INSERT INTO import_errors (import_id, row_number, cells, reason) VALUES ");
        sql.push_rows(chunk.iter().map(|(n, cells, reason)| {
            vec![
                Arg::I64(job.job_id),
                Arg::I64(*n),
                Arg::Json(json!(cells)),
                Arg::Text(reason.clone()),
            ]
        }));
        bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// What a batch may share with others: the stored leads whose empty fields it fills (read in
/// its transaction, so after a batch before it committed), and the job's progress. Returns the
/// batch's counts.
async fn pg_finish(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    job: &JobStep,
    plan: Plan,
) -> Result<BatchCounts> {
    let Plan {
        mut counts, fills, ..
    } = plan;
    let at = job.at;
    let actor = job.actor;
    let targets = if fills.is_empty() {
        Vec::new()
    } else {
        let ids: Vec<i64> = fills.iter().map(|f| f.0.0).collect();
        let rows: Vec<(LeadId, FillRow)> = sqlx::query_as::<
            _,
            (
                LeadId,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Json<serde_json::Map<String, Value>>,
            ),
        >(
            "SELECT id, company, title, city, region, source, custom FROM leads WHERE id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.0,
                FillRow {
                    company: r.1,
                    title: r.2,
                    city: r.3,
                    region: r.4,
                    source: r.5,
                    custom: r.6.0,
                },
            )
        })
        .collect();
        fill_targets(&fills, &rows.into_iter().collect())
    };
    for (id, before, after) in &targets {
        let changed = sqlx::query(FILL_LEAD)
            .bind(&after.company)
            .bind(after.company.as_deref().map(normalise_company))
            .bind(&after.title)
            .bind(&after.city)
            .bind(&after.region)
            .bind(&after.source)
            .bind(Json(&after.custom))
            .bind(at)
            .bind(*id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if changed == 1 {
            write_audit!(
                &mut **tx,
                AuditEntry {
                    entity: "lead",
                    entity_id: id.0,
                    actor: Some(actor),
                    action: "update",
                    before: Some(before.clone()),
                    after: Some(json!({"import": job.job_id, "filled": fill_view(after)})),
                    at,
                }
            )?;
        }
    }
    counts.updated += targets.len() as i64;
    counts.skipped += (fills.len() - targets.len()) as i64;
    sqlx::query(PROGRESS)
        .bind(job.rows_done)
        .bind(counts.imported)
        .bind(counts.updated)
        .bind(counts.skipped)
        .bind(counts.collisions)
        .bind(counts.failed)
        .bind(at)
        .bind(job.job_id)
        .execute(&mut **tx)
        .await?;
    Ok(counts)
}

/// Sends `data` (rows in COPY's text format) through `statement` (a `COPY … FROM STDIN`).
async fn copy_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    statement: &str,
    data: String,
) -> Result<()> {
    let mut copy = tx.copy_in_raw(statement).await?;
    if let Err(e) = copy.send(data.into_bytes()).await {
        let _ = copy.abort("import batch failed").await;
        return Err(e.into());
    }
    copy.finish().await?;
    Ok(())
}

/// Appends one row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_row(buf: &mut String, cells: &[Option<&str>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            buf.push('\t');
        }
        match cell {
            None => buf.push_str("\\N"),
            Some(text) => {
                if text.contains(['\\', '\t', '\n', '\r']) {
                    for c in text.chars() {
                        match c {
                            '\\' => buf.push_str("\\\\"),
                            '\t' => buf.push_str("\\t"),
                            '\n' => buf.push_str("\\n"),
                            '\r' => buf.push_str("\\r"),
                            c => buf.push(c),
                        }
                    }
                } else {
                    buf.push_str(text);
                }
            }
        }
    }
    buf.push('\n');
}

/// A space-separated token string as `tsvector` input text: each token quoted, so that it is
/// taken as one lexeme exactly as `array_to_tsvector(string_to_array(tokens, ' '))` takes it.
fn tsvector_text(tokens: &str) -> String {
    let mut out = String::with_capacity(tokens.len() * 2);
    for t in tokens.split(' ').filter(|t| !t.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('\'');
        for c in t.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('\'');
    }
    out
}

/// A stored lead's fields that an "update" duplicate may fill.
struct FillRow {
    company: Option<String>,
    title: Option<String>,
    city: Option<String>,
    region: Option<String>,
    source: Option<String>,
    custom: serde_json::Map<String, Value>,
}

/// Copies into `target` the fields it lacks from `source`.
fn fill_empty(target: &mut LeadFields, source: &LeadFields) {
    for (t, s) in [
        (&mut target.company, &source.company),
        (&mut target.title, &source.title),
        (&mut target.city, &source.city),
        (&mut target.region, &source.region),
        (&mut target.source, &source.source),
    ] {
        if t.is_none() {
            t.clone_from(s);
        }
    }
    for (k, v) in &source.custom {
        target.custom.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn fill_view(f: &LeadFields) -> Value {
    json!({"company": f.company, "title": f.title, "city": f.city, "region": f.region, "source": f.source, "custom": f.custom})
}

/// For "update" duplicates: each stored lead's current fields (from `current`), and those fields
/// with the gaps filled; leads where nothing would change are left out.
fn fill_targets(
    fills: &[(LeadId, LeadFields)],
    current: &HashMap<LeadId, FillRow>,
) -> Vec<(LeadId, Value, LeadFields)> {
    let mut out: Vec<(LeadId, Value, LeadFields)> = Vec::new();
    for (id, row_fields) in fills {
        if let Some(pos) = out.iter().position(|(i, _, _)| i == id) {
            let mut merged = out[pos].2.clone();
            fill_empty(&mut merged, row_fields);
            out[pos].2 = merged;
            continue;
        }
        let Some(row) = current.get(id) else { continue };
        let mut now = row_fields.clone();
        now.company.clone_from(&row.company);
        now.title.clone_from(&row.title);
        now.city.clone_from(&row.city);
        now.region.clone_from(&row.region);
        now.source.clone_from(&row.source);
        now.custom.clone_from(&row.custom);
        let before = fill_view(&now);
        let mut after = now.clone();
        fill_empty(&mut after, row_fields);
        if fill_view(&after) != before {
            out.push((*id, before, after));
        }
    }
    out
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

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SavedMapping {
    pub id: i64,
    pub name: String,
    pub mapping: Json<Value>,
}

pub async fn save_mapping(
    db: &Db,
    actor: UserId,
    name: &str,
    mapping: &Value,
) -> Result<SavedMapping> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::invalid("name", "required"));
    }
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO import_mappings (name, mapping, created_by, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping RETURNING id, name, mapping",
        )
        .bind(name)
        .bind(Json(mapping))
        .bind(actor)
        .bind(now())
        .fetch_one(pool)
        .await?
    }))
}

pub async fn mappings(db: &Db) -> Result<Vec<SavedMapping>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as("SELECT id, name, mapping FROM import_mappings ORDER BY name")
            .fetch_all(pool)
            .await?
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of phone-only leads, with fresh statistics, must still find a company by its
    /// index: the plan that walks every lead in id order makes each look-up read the table.
    #[tokio::test]
    async fn company_lookup_uses_its_index_when_most_leads_have_no_company() {
        let t = crate::test_db::TestDb::sqlite().await.unwrap();
        let Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        sqlite_writer::run(&pool, |conn| {
            conn.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
                 INSERT INTO leads (id, name, status, created_at, updated_at) \
                 SELECT i, 'lead ' || i, 'new', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n; \
                 ANALYZE;",
            )?;
            Ok(())
        })
        .await
        .unwrap();
        let plan = sqlite_writer::query_plan(
            &pool,
            BY_COMPANY_SQLITE,
            vec![rusqlite::types::Value::Text("星河科技".into())],
        )
        .await
        .unwrap()
        .join("; ");
        assert!(plan.contains("USING INDEX leads_company_norm"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
    }

    #[test]
    fn copy_rows_escape_what_copy_text_format_reads_specially() {
        let mut buf = String::new();
        copy_row(&mut buf, &[Some("a\\b"), None, Some("x\ty\n"), Some("")]);
        assert_eq!(buf, "a\\\\b\t\\N\tx\\ty\\n\t\n");
    }

    #[test]
    fn tsvector_text_quotes_each_token() {
        assert_eq!(tsvector_text("王 王伟 138"), "'王' '王伟' '138'");
        assert_eq!(tsvector_text("it's a\\b"), "'it''s' 'a\\\\b'");
        assert_eq!(tsvector_text(""), "");
    }
}
