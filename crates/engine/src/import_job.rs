//! The `run_import` job: an import started on the web is a job in the jobs table, so any server
//! may run it, and a server that starts finishes one whose server died (its claim lapses after
//! [`RunImport::LEASE`], which a running import renews). The import itself resumes from its last
//! committed batch, so every row lands once.

use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use leadline_domain::ids::ImportJobId;
use leadline_store::imports::{self, ImportJob};
use leadline_store::{Db, StoreError, now, uploads};
use serde::{Deserialize, Serialize};

use crate::import_run::{self, Ran};
use crate::jobs_runner::{self, Claim, Hub, JobError, JobHandler};
use crate::upload_files;

/// The job kind that runs (or resumes) an import.
pub const RUN_IMPORT: &str = "run_import";

/// What a `run_import` job carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunImportPayload {
    pub import_id: ImportJobId,
}

/// Runs imports; `files` is where this server keeps its local copies of uploads.
pub struct RunImport {
    pub files: PathBuf,
}

impl JobHandler for RunImport {
    const KIND: &'static str = RUN_IMPORT;
    /// Imports are heavy: two at a time per server, the rest wait for this or another server.
    const PER_SERVER: usize = 2;
    /// Renewed every 6 s while the import runs; a server dead this long loses its imports to
    /// the next server that looks.
    const LEASE: TimeDelta = TimeDelta::seconds(30);
    type Payload = RunImportPayload;

    async fn run(&self, claim: Claim, payload: RunImportPayload) -> Result<(), JobError> {
        let job = imports::get_job(&claim.db, payload.import_id.0).await?;
        // A job claimed again after its server died may find the import already ended (the
        // server died between ending it and marking the job done): nothing is left to do.
        if job.status != "running" && claim.job.attempts > 1 {
            return Ok(());
        }
        let kept = claim.keep();
        let fence = imports::Fence {
            job_id: claim.job.id,
            worker: claim.hub.worker.to_string(),
        };
        let outcome = import_run::run_until(
            &claim.db,
            job.id,
            &self.files,
            |_| {},
            kept.lost(),
            Some(fence),
        )
        .await;
        match outcome {
            Ok(Ran::Finished(done)) => {
                tracing::info!(import = done.id, rows = done.rows_done, "import done");
                remove_upload(&claim.db, &self.files, &done).await
            }
            Ok(Ran::Stopped(_)) => Err(JobError::ClaimLost),
            // The import records its failure; it waits for someone to resume it.
            Err(e) => {
                tracing::warn!(import = job.id, error = %e, "import failed");
                Ok(())
            }
        }
    }
}

/// Removes the upload a done import read (a failed one keeps it for a resume).
async fn remove_upload(db: &Db, files: &Path, job: &ImportJob) -> Result<(), JobError> {
    if let Some(token) = upload_files::token_of(&job.file_path)
        && let Some(upload) = uploads::find(db, token).await?
    {
        upload_files::remove(db, files, &upload).await?;
    }
    Ok(())
}

fn key_prefix(import: i64) -> String {
    format!("import:{import}:")
}

/// Queues the run of a job just registered by [`import_run::start`].
pub async fn queue_start(db: &Db, hub: &Hub, job: &ImportJob) -> Result<(), JobError> {
    let key = format!("{}start", key_prefix(job.id));
    queue(db, hub, job, &key).await
}

/// Why a resume is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum NotResumed {
    /// The import is done.
    Done,
    /// A run of it is waiting or running (on any server), or it committed lately (a
    /// `leadline import` may be running it).
    Running,
    /// Its file is gone.
    FileGone,
}

/// A running import that committed nothing for this long, and has no job, is taken for
/// interrupted: a live one commits a batch every few seconds.
pub const STALLED_AFTER: TimeDelta = TimeDelta::minutes(10);

/// Queues a run that resumes `job` from its last committed batch, unless it is done, already
/// queued or running, or its file is gone.
pub async fn queue_resume(
    db: &Db,
    hub: &Hub,
    job: &ImportJob,
) -> Result<Result<(), NotResumed>, JobError> {
    if job.status == "done" {
        return Ok(Err(NotResumed::Done));
    }
    if run_queued(db, job).await? {
        return Ok(Err(NotResumed::Running));
    }
    if job.status == "running" && now() - job.updated_at < STALLED_AFTER {
        return Ok(Err(NotResumed::Running));
    }
    let present = match upload_files::token_of(&job.file_path) {
        Some(token) => uploads::find(db, token).await?.is_some(),
        None => Path::new(&job.file_path).exists(),
    };
    if !present {
        return Ok(Err(NotResumed::FileGone));
    }
    // Keyed by the state the import was seen in: two resumes of one state queue one run.
    let key = format!(
        "{}{}",
        key_prefix(job.id),
        job.updated_at.timestamp_micros()
    );
    queue(db, hub, job, &key).await?;
    Ok(Ok(()))
}

/// Whether a run of `job` is queued or running on some server (which then finishes it by
/// itself: nobody else may run it meanwhile).
pub async fn run_queued(db: &Db, job: &ImportJob) -> Result<bool, StoreError> {
    leadline_store::jobs::is_open(db, RUN_IMPORT, &key_prefix(job.id)).await
}

async fn queue(db: &Db, hub: &Hub, job: &ImportJob, key: &str) -> Result<(), JobError> {
    let payload = RunImportPayload {
        import_id: ImportJobId(job.id),
    };
    jobs_runner::enqueue::<RunImport>(db, hub, now(), &payload, Some(key)).await?;
    Ok(())
}
