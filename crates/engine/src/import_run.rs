//! The one import engine behind the three doors (command line, web page, API): checks the options,
//! registers a job, then streams the file in batches into the store, resuming where a killed run
//! stopped. Reading and row checking run on a blocking thread that hands whole batches over a
//! bounded channel, so memory stays flat however long the file is.
//!
//! `file_name` is the name the user gave the file: its extension is checked against the content
//! (the stored `path` may be a temporary name). A web import reads an upload stored in the
//! database ([`start_stored`]): whichever server runs it reads a local copy
//! ([`crate::upload_files`]).

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use leadline_domain::import_plan::{Reason, row_reason};
use leadline_domain::{CustomFieldDef, TeamId, UserId};
use leadline_import::{
    ErrorReport, ImportError, Mapping, MappingProblem, ReadOptions, Reader, ReportFormat,
    SourceInfo, Target,
};
use leadline_store::imports::phases::{self, Phase};
use leadline_store::imports::{self, BatchCounts, BatchRow, ImportJob, JobStatus, OnDuplicate};

use leadline_store::uploads::Upload;
use leadline_store::{Db, StoreError, auth::users, leads::custom_fields};
use serde::{Deserialize, Serialize};

use crate::import_owners::{Owners, referral_lookup, team_agents};

mod read;

const NEEDS_PHONE_OR_COMPANY: Reason = ("需要电话或公司", "needs a phone or a company");

use read::{prepare_batches, read_rows};

/// Rows of the first committed batch: large enough for the writer to pay, small enough that a
/// killed import loses little work. Each later batch is twice the last, up to
/// [`MAX_BATCH_ROWS`], so every batch boundary stays a multiple of this.
pub const BATCH_ROWS: usize = 5_000;

/// New leads in one run of a job after which the planner's statistics are refreshed.
const ANALYZE_AFTER: i64 = 50_000;

/// Rows of the largest batch (a multiple of [`BATCH_ROWS`]). Memory stays flat: at most four
/// batches live (one read ahead, one being written, one being read, one being prepared); 20,000 took peak RSS to
/// 286 MB, hence this cap. On SQLite one transaction goes on over the batches the reader has
/// ready while nobody else writes ([`imports::TRANSACTION_ROWS`]): each commit rewrites every
/// page of the randomly ordered phone and company indexes that its rows touch, which near a
/// million leads is most of them whatever the batch's size.
pub const MAX_BATCH_ROWS: usize = 15_000;

/// How long one batch may hold SQLite's one writer while others are writing beside the import
/// ([`imports::others_writing`]): an agent's call recorded meanwhile waits for the batch being
/// written (a 15,000-row batch holds it about a second). Each batch is timed, and while others
/// write, batches are cut to the rows that fit in this time, at the cost of a slower import.
pub const BUSY_BATCH_TIME: Duration = Duration::from_millis(40);
/// Rows of a short batch before the import has timed one (and its least).
const BUSY_BATCH_ROWS: usize = 500;
const MIN_BUSY_BATCH_ROWS: usize = 100;

/// Whether imports shorten their batches while others are writing (on unless a benchmark
/// switches it off to measure what it saves).
pub static YIELD_TO_WRITERS: AtomicBool = AtomicBool::new(true);

/// True when the import should give way to others writing: short batches, rests between them.
fn give_way(db: &Db) -> bool {
    YIELD_TO_WRITERS.load(Ordering::Relaxed) && imports::others_writing(db)
}

/// Where imported leads go.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assign {
    /// The public pool (no owner).
    Pool,
    /// One owner for every row.
    Owner { user_id: UserId },
    /// The column mapped to [`Target::Owner`], by username or display name; an unknown name
    /// rejects the row.
    OwnerColumn,
    /// Round-robin over the team's active agents (in id order), by row.
    RoundRobin { team_id: TeamId },
}

/// Everything an import needs besides the file; kept with the job so a resume uses the same.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ImportOptions {
    pub mapping: Mapping,
    pub on_duplicate: OnDuplicate,
    pub assign: Assign,
    /// Manual encoding override, e.g. `gbk` (CSV only).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Worksheet by name (.xlsx only).
    #[serde(default)]
    pub sheet: Option<String>,
    /// Delimiter override (CSV only).
    #[serde(default)]
    pub delimiter: Option<char>,
}

/// What the job keeps in `imports.options`: the options, and what was resolved when it started.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct StoredOptions {
    #[serde(flatten)]
    options: ImportOptions,
    /// Round-robin: the team's agents when the job started, so a resume rotates the same way.
    #[serde(default)]
    agents: Vec<UserId>,
    /// How the error report is written (the file's kind, encoding, delimiter, headers).
    report: ReportFormat,
}

/// The first rows of a file and the mapping proposed for it.
#[derive(Serialize, Clone, Debug)]
pub struct Preview {
    pub info: SourceInfo,
    pub headers: Vec<String>,
    /// The first (up to) ten data rows, good or bad, as read.
    pub rows: Vec<Vec<String>>,
    /// Guessed from the headers, or a saved mapping applied to them.
    pub mapping: Mapping,
    pub problems: Vec<MappingProblem>,
}

/// Progress of a running import, reported after each committed batch.
#[derive(Serialize, Clone, Debug, Default)]
pub struct Progress {
    /// Data rows processed (good and bad), committed.
    pub rows_done: i64,
    /// Outcome counts so far (including earlier runs of a resumed job).
    pub counts: BatchCounts,
    pub bytes_read: u64,
    pub bytes_total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Import(#[from] ImportError),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The options cannot work; the code says why (`mapping_problem`, `unknown_owner`,
    /// `unknown_team`, `empty_team`, `owner_column_unmapped`, `bad_delimiter`, `bad_options`,
    /// `job_not_running`).
    #[error("bad import options: {0}")]
    BadOptions(&'static str),
}

impl RunError {
    /// Stable code for the interface.
    pub fn code(&self) -> &'static str {
        match self {
            RunError::Import(e) => e.code(),
            RunError::Store(StoreError::Corrupt { .. }) => "stored_value_invalid",
            RunError::Store(_) => "internal_error",
            RunError::BadOptions(code) => code,
        }
    }
}

fn read_options(
    encoding: Option<&str>,
    sheet: Option<&str>,
    delimiter: Option<char>,
) -> Result<ReadOptions, RunError> {
    let delimiter = match delimiter {
        None => None,
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(_) => return Err(RunError::BadOptions("bad_delimiter")),
    };
    Ok(ReadOptions {
        encoding: encoding
            .map(str::to_string)
            .filter(|e| !e.trim().is_empty()),
        sheet: sheet.map(str::to_string).filter(|s| !s.trim().is_empty()),
        delimiter,
        ..ReadOptions::default()
    })
}

/// Counts how far into the file the reader has got, for the progress bar.
struct Counting {
    file: File,
    pos: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.pos.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let p = self.file.seek(to)?;
        self.pos.store(p, Ordering::Relaxed);
        Ok(p)
    }
}

/// Opens `path` as the file the user named `file_name`; also returns its size and a live count
/// of the bytes read.
fn open_file(
    path: &Path,
    file_name: &str,
    opts: &ReadOptions,
) -> Result<(Reader, u64, Arc<AtomicU64>), ImportError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > opts.limits.max_file_bytes {
        return Err(ImportError::FileTooLarge {
            size,
            limit: opts.limits.max_file_bytes,
        });
    }
    let pos = Arc::new(AtomicU64::new(0));
    let reader = leadline_import::open_reader(
        Counting {
            file,
            pos: pos.clone(),
        },
        file_name,
        opts,
    )?;
    Ok((reader, size, pos))
}

/// Reads a file's header and first ten rows and proposes a mapping (a saved one reapplied by
/// header name, else guessed). Blocking: call it through `spawn_blocking`.
pub fn preview(
    path: &Path,
    file_name: &str,
    encoding: Option<&str>,
    sheet: Option<&str>,
    defs: &[CustomFieldDef],
    saved: Option<&Mapping>,
) -> Result<Preview, RunError> {
    let opts = read_options(encoding, sheet, None)?;
    let (mut reader, _, _) = open_file(path, file_name, &opts)?;
    let info = reader.info().clone();
    let mut rows = Vec::new();
    while rows.len() < 10 {
        match reader.next_row()? {
            None => break,
            Some(Ok(row)) => rows.push(row.cells),
            Some(Err(bad)) => rows.push(bad.cells),
        }
    }
    let mapping = match saved {
        Some(saved) => Mapping::reuse(saved, &info.headers, defs),
        None => Mapping::auto(&info.headers, defs),
    };
    let problems = mapping.problems(defs);
    Ok(Preview {
        headers: info.headers.clone(),
        info,
        rows,
        mapping,
        problems,
    })
}

/// The mapping to use for a file with `headers`: the given one if it was made for these
/// headers, else the given one reapplied by header name.
fn fit_mapping(mapping: &Mapping, headers: &[String], defs: &[CustomFieldDef]) -> Mapping {
    let same = mapping.columns.len() == headers.len()
        && mapping
            .columns
            .iter()
            .zip(headers)
            .all(|(c, h)| &c.header == h);
    if same {
        mapping.clone()
    } else {
        Mapping::reuse(mapping, headers, defs)
    }
}

/// Checks the options against the file and the database and registers the job (not yet run).
pub async fn start(
    db: &Db,
    actor: UserId,
    file_name: &str,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportJob, RunError> {
    let stored = path.to_string_lossy();
    start_as(db, actor, file_name, path, &stored, options).await
}

/// [`start`] for an upload stored in the database, checked against this server's copy of it
/// (`local`); any server may run the job.
pub async fn start_stored(
    db: &Db,
    actor: UserId,
    upload: &Upload,
    local: &Path,
    options: &ImportOptions,
) -> Result<ImportJob, RunError> {
    let stored = crate::upload_files::file_ref(upload);
    start_as(db, actor, &upload.file_name, local, &stored, options).await
}

/// [`start`] reading `path` and recording `stored` as the job's file.
async fn start_as(
    db: &Db,
    actor: UserId,
    file_name: &str,
    path: &Path,
    stored: &str,
    options: &ImportOptions,
) -> Result<ImportJob, RunError> {
    let defs = custom_fields::list(db).await?;
    let opts = read_options(
        options.encoding.as_deref(),
        options.sheet.as_deref(),
        options.delimiter,
    )?;
    let info = {
        let (path, file_name) = (path.to_path_buf(), file_name.to_string());
        tokio::task::spawn_blocking(move || {
            open_file(&path, &file_name, &opts).map(|(r, _, _)| r.info().clone())
        })
        .await
        .map_err(|e| StoreError::Internal(format!("reader thread: {e}")))??
    };
    let mapping = fit_mapping(&options.mapping, &info.headers, &defs);
    if !mapping.problems(&defs).is_empty() {
        return Err(RunError::BadOptions("mapping_problem"));
    }
    let mut agents = Vec::new();
    match &options.assign {
        Assign::Pool => {}
        Assign::Owner { user_id } => match users::get_user(db, *user_id).await {
            Ok(u) if u.active => {}
            Ok(_) | Err(StoreError::NotFound) => return Err(RunError::BadOptions("unknown_owner")),
            Err(e) => return Err(e.into()),
        },
        Assign::OwnerColumn => {
            if !mapping.columns.iter().any(|c| c.target == Target::Owner) {
                return Err(RunError::BadOptions("owner_column_unmapped"));
            }
        }
        Assign::RoundRobin { team_id } => agents = team_agents(db, *team_id).await?,
    }
    let kept = StoredOptions {
        options: ImportOptions {
            mapping,
            ..options.clone()
        },
        agents,
        report: info.report_format(),
    };
    let value = serde_json::to_value(&kept)
        .map_err(|e| StoreError::Internal(format!("import options: {e}")))?;
    Ok(imports::create_job(db, actor, file_name, stored, &value).await?)
}

fn stored_options(job: &ImportJob) -> Result<StoredOptions, RunError> {
    serde_json::from_value(job.options.0.clone()).map_err(|_| RunError::BadOptions("bad_options"))
}

/// One batch handed from the reading thread to the writer.
struct Batch {
    rows: Vec<BatchRow>,
    /// Data rows read once this batch is written (the job's new `rows_done`).
    rows_done: i64,
    bytes_read: u64,
}

/// The batches the reader has ready, for an import transaction on SQLite to go on with while
/// nobody else is writing: it never waits for the reader, and a batch it takes is counted in
/// the job as soon as its transaction commits.
struct ReadyBatches {
    db: Db,
    /// Set when the run must stop before its next batch (its job's claim was lost).
    stop: Arc<AtomicBool>,
    rx: tokio::sync::mpsc::Receiver<Result<Batch, ImportError>>,
    /// How far into the file the last batch taken reaches.
    bytes_read: u64,
    /// What the reader failed with, once taken from the channel.
    failed: Option<ImportError>,
}

impl imports::MoreBatches for ReadyBatches {
    fn ready(&mut self) -> Option<(Vec<BatchRow>, i64)> {
        if give_way(&self.db) || self.failed.is_some() || self.stop.load(Ordering::Relaxed) {
            return None;
        }
        match self.rx.try_recv() {
            Ok(Ok(batch)) => {
                self.bytes_read = batch.bytes_read;
                Some((batch.rows, batch.rows_done))
            }
            Ok(Err(e)) => {
                self.failed = Some(e);
                None
            }
            Err(_) => None,
        }
    }
}

/// Runs a registered job, or resumes one that was interrupted (from its `rows_done`), and
/// finishes it as done or failed. `progress` is called after each committed batch. A job that
/// is already done is returned as it is. A stored upload is copied to this machine's temporary
/// directory first.
pub async fn run(
    db: &Db,
    job_id: i64,
    progress: impl FnMut(&Progress) + Send,
) -> Result<ImportJob, RunError> {
    let never = Arc::new(AtomicBool::new(false));
    let files = crate::upload_files::default_dir();
    match run_until(db, job_id, &files, progress, never, None).await? {
        Ran::Finished(job) | Ran::Stopped(job) => Ok(job),
    }
}

/// How [`run_until`] ended.
#[derive(Debug)]
pub enum Ran {
    /// Done (or found done).
    Finished(ImportJob),
    /// Stopped between batches when asked to, left `running` for whoever resumes it.
    Stopped(ImportJob),
}

/// [`run`], with local copies of stored uploads kept in `files`, stopping before the next
/// batch once `stop` is set (the job runner sets it when this server lost the job's claim, so
/// that two servers never write one import).
pub async fn run_until(
    db: &Db,
    job_id: i64,
    files: &Path,
    mut progress: impl FnMut(&Progress) + Send,
    stop: Arc<AtomicBool>,
    fence: Option<imports::Fence>,
) -> Result<Ran, RunError> {
    let job = imports::get_job(db, job_id).await?;
    if job.status == "done" {
        return Ok(Ran::Finished(job));
    }
    if job.status != "running" {
        imports::reopen_job(db, job_id).await?;
    }
    let outcome = match local_file(db, files, &job).await {
        Ok(path) => run_inner(db, &job, &path, &mut progress, stop, fence).await,
        Err(e) => Err(e),
    };
    if matches!(outcome, Ok(false)) {
        return Ok(Ran::Stopped(imports::get_job(db, job_id).await?));
    }
    let after = std::time::Instant::now();
    // A large load leaves the planner's statistics stale (see `refresh_statistics`).
    if let Ok(now) = imports::get_job(db, job_id).await
        && now.imported - job.imported >= ANALYZE_AFTER
    {
        imports::refresh_statistics(db).await?;
    }
    if outcome.is_ok() {
        // Imported records given an owner start their reclaim countdown and history here,
        // after the batches, so that the batches stay set-based.
        leadline_store::ownership::countdown::backfill(db, leadline_store::now()).await?;
    }
    phases::add(Phase::After, after.elapsed());
    match &outcome {
        Ok(_) => imports::finish_job(db, job_id, JobStatus::Done, None).await?,
        Err(e) => {
            let text = format!("{}: {e}", e.code());
            imports::finish_job(db, job_id, JobStatus::Failed, Some(&text)).await?;
        }
    }
    outcome?;
    Ok(Ran::Finished(imports::get_job(db, job_id).await?))
}

/// The file a job reads on this machine: its path, or a local copy of its stored upload.
async fn local_file(db: &Db, files: &Path, job: &ImportJob) -> Result<PathBuf, RunError> {
    let Some(token) = crate::upload_files::token_of(&job.file_path) else {
        return Ok(PathBuf::from(&job.file_path));
    };
    let upload = leadline_store::uploads::find(db, token)
        .await?
        .ok_or(RunError::BadOptions("upload_gone"))?;
    Ok(crate::upload_files::local_copy(db, files, &upload).await?)
}

/// Reads and writes the rest of the file; `Ok(false)` when stopped before the end by `stop`.
async fn run_inner(
    db: &Db,
    job: &ImportJob,
    path: &Path,
    progress: &mut (impl FnMut(&Progress) + Send),
    stop: Arc<AtomicBool>,
    fence: Option<imports::Fence>,
) -> Result<bool, RunError> {
    let stored = stored_options(job)?;
    let defs = custom_fields::list(db).await?;
    let owners = Owners::new(db, job.created_by, &stored.options.assign, &stored.agents).await?;
    let referrals = referral_lookup(db, job.created_by, &stored.options.mapping).await?;
    let opts = read_options(
        stored.options.encoding.as_deref(),
        stored.options.sheet.as_deref(),
        stored.options.delimiter,
    )?;
    let policy = stored.options.on_duplicate;
    // One batch read ahead while one is written (see `MAX_BATCH_ROWS`); on PostgreSQL two,
    // as two are written at once (`imports::apply_batches`).
    let ahead = match db {
        Db::Sqlite(_) => 1,
        Db::Postgres(_) => 2,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(ahead);
    let (size_tx, size_rx) = tokio::sync::oneshot::channel();
    let short_rows = Arc::new(AtomicUsize::new(BUSY_BATCH_ROWS));
    let reader = {
        let path = path.to_path_buf();
        let file_name = job.file_name.clone();
        let mapping = stored.options.mapping.clone();
        let skip = job.rows_done;
        let db = db.clone();
        let busy = move || give_way(&db);
        let short_rows = short_rows.clone();
        tokio::task::spawn_blocking(move || {
            // Rows are read and checked on this thread, their tokens made on every core
            // (`prepare_batches`): a batch is prepared while the next is read.
            let (read_tx, read_rx) = std::sync::mpsc::sync_channel(0);
            std::thread::scope(|s| {
                s.spawn(move || prepare_batches(read_rx, tx));
                read_rows(
                    path, file_name, opts, mapping, defs, owners, referrals, skip, busy,
                    short_rows, size_tx, read_tx,
                )
            })
        })
    };
    let bytes_total = size_rx.await.unwrap_or(0);
    let mut state = Progress {
        rows_done: job.rows_done,
        counts: BatchCounts {
            imported: job.imported,
            updated: job.updated,
            skipped: job.skipped,
            collisions: job.collisions,
            failed: job.failed,
            joined: job.joined,
            cases: job.cases,
            referred: job.referred,
        },
        bytes_read: 0,
        bytes_total,
    };
    let mut result = Ok(true);
    let mut more = ReadyBatches {
        db: db.clone(),
        stop: stop.clone(),
        rx,
        bytes_read: 0,
        failed: None,
    };
    while let Some(batch) = phases::time_async(Phase::WaitReader, more.rx.recv()).await {
        if stop.load(Ordering::Relaxed) {
            result = Ok(false);
            break;
        }
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                result = Err(e.into());
                break;
            }
        };
        more.bytes_read = batch.bytes_read;
        let applied = match imports::apply_batches(
            db,
            job.id,
            job.created_by,
            policy,
            fence.clone(),
            (batch.rows, batch.rows_done),
            more,
        )
        .await
        {
            Ok((applied, back)) => {
                more = back;
                applied
            }
            // Another server holds the job now: this batch was not written; that server goes on.
            Err(StoreError::ClaimLost) => {
                return finish_reader(reader, Ok(false)).await;
            }
            Err(e) => {
                result = Err(e.into());
                // The reader stops when it finds nobody takes its batches.
                return finish_reader(reader, result).await;
            }
        };
        let secs = applied.took.as_secs_f64().max(1e-6);
        let fit = (applied.rows as f64 * BUSY_BATCH_TIME.as_secs_f64() / secs) as usize;
        short_rows.store(
            fit.clamp(MIN_BUSY_BATCH_ROWS, MAX_BATCH_ROWS),
            Ordering::Relaxed,
        );
        // While people work beside it, the import takes at most half of the writer (and of
        // the machine): it rests as long as its batch took.
        if give_way(db) {
            tokio::time::sleep(applied.took.min(Duration::from_secs(1))).await;
        }
        state.rows_done = applied.rows_done;
        state.bytes_read = more.bytes_read;
        state.counts.add(&applied.counts);
        progress(&state);
        if let Some(e) = more.failed.take() {
            result = Err(e.into());
            break;
        }
    }
    drop(more);
    finish_reader(reader, result).await
}

/// Waits for the reading thread to end, then returns `result`.
async fn finish_reader(
    reader: tokio::task::JoinHandle<()>,
    result: Result<bool, RunError>,
) -> Result<bool, RunError> {
    reader
        .await
        .map_err(|e| StoreError::Internal(format!("reader thread: {e}")))?;
    result
}

/// The rows a job refused, each with its reason, in the file's own format and encoding and in
/// one language, the reader's (`english` or Chinese): (bytes, content type, file name).
pub async fn error_report(
    db: &Db,
    job: &ImportJob,
    english: bool,
) -> Result<(Vec<u8>, String, String), RunError> {
    let stored = stored_options(job)?;
    let rows = imports::errors(db, job.id).await?;
    let format = stored.report;
    let stem = job
        .file_name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(&job.file_name)
        .to_string();
    tokio::task::spawn_blocking(move || {
        let mut report = ErrorReport::in_language(Vec::new(), &format, english)?;
        for (number, cells, reason) in &rows {
            let reason = match reason.as_str() {
                "needs_phone_or_company" => Cow::Owned(row_reason(
                    number,
                    NEEDS_PHONE_OR_COMPANY.0,
                    NEEDS_PHONE_OR_COMPANY.1,
                )),
                r => Cow::Borrowed(r),
            };
            report.write_row(cells, &reason)?;
        }
        let (ext, content_type) = report.file_type();
        let bytes = report.finish()?;
        Ok((bytes, content_type, format!("{stem}.errors.{ext}")))
    })
    .await
    .map_err(|e| StoreError::Internal(format!("report thread: {e}")))?
}
