//! `bench next-call`'s import phases: agents calling at the paced rate while an import runs,
//! through the server's own import path or as `leadline import` in a process of its own.

use std::time::Instant;

use anyhow::{Context, bail};
use leadline_store::{Db, db_run};

use super::{LoopResult, NextCallArgs, agents_loop};

/// Rows an import committed in a phase.
pub(super) struct ImportDone {
    pub(super) rows: i64,
    pub(super) secs: f64,
}

/// Agents calling at the paced rate while `import_rows` generated rows are imported into the
/// pool through the server's import path (the web page's and the API's), with batches cut short
/// while calls come (`short`) or not. The import is stopped when the agents stop.
pub(super) async fn paced_during_import(
    db: &Db,
    admin: leadline_domain::ids::UserId,
    base: &str,
    args: &NextCallArgs,
    tokens: &[String],
    short: bool,
    first: usize,
) -> anyhow::Result<(LoopResult, ImportDone)> {
    use leadline_engine::import_run::{self, Assign, ImportOptions};
    let dir = std::env::temp_dir().join(format!("leadline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let name = format!("名单-{first}.csv");
    let path = dir.join(&name);
    crate::bench_import::write_csv(&path, args.import_rows, first)?;
    let defs = leadline_store::leads::custom_fields::list(db).await?;
    let preview = {
        let (path, name) = (path.clone(), name.clone());
        tokio::task::spawn_blocking(move || {
            import_run::preview(&path, &name, None, None, &defs, None)
        })
        .await??
    };
    let options = ImportOptions {
        mapping: preview.mapping,
        on_duplicate: leadline_store::imports::OnDuplicate::Skip,
        assign: Assign::Pool,
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    import_run::YIELD_TO_WRITERS.store(short, std::sync::atomic::Ordering::Relaxed);
    let job = import_run::start(db, admin, &name, &path, &options).await?;
    let started = Instant::now();
    let importer = {
        let db = db.clone();
        tokio::spawn(async move {
            let done = import_run::run(&db, job.id, |_| {}).await;
            (done, started.elapsed().as_secs_f64())
        })
    };
    let calls = agents_loop(base, args, tokens, Some(args.rate)).await;
    let secs = if importer.is_finished() {
        let (done, secs) = importer.await?;
        done?;
        secs
    } else {
        importer.abort();
        started.elapsed().as_secs_f64()
    };
    let _ = std::fs::remove_dir_all(&dir);
    import_run::YIELD_TO_WRITERS.store(true, std::sync::atomic::Ordering::Relaxed);
    let rows = leadline_store::imports::get_job(db, job.id)
        .await?
        .rows_done;
    Ok((calls?, ImportDone { rows, secs }))
}

/// Agents calling at the paced rate while `leadline import` imports `import_rows` generated
/// rows in a process of its own (as an administrator would run it on the server's machine):
/// SQLite's lock is all the two processes share. The import is killed when the agents stop.
pub(super) async fn paced_beside_cli_import(
    db: &Db,
    base: &str,
    args: &NextCallArgs,
    tokens: &[String],
    first: usize,
) -> anyhow::Result<(LoopResult, ImportDone)> {
    let Db::Sqlite(pool) = db else {
        bail!("the other-process import phase is for SQLite")
    };
    let file = pool
        .connect_options()
        .get_filename()
        .to_string_lossy()
        .into_owned();
    let dir = std::env::temp_dir().join(format!("leadline-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("名单-{first}.csv"));
    crate::bench_import::write_csv(&path, args.import_rows, first)?;
    let started = Instant::now();
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["--database-url", &file, "import"])
        .arg(&path)
        .arg("--quiet")
        .env("LEADLINE_LOG", "error")
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("starting leadline import")?;
    let calls = agents_loop(base, args, tokens, Some(args.rate)).await;
    let killed_at = started.elapsed().as_secs_f64();
    match child.try_wait()? {
        Some(status) if !status.success() => bail!("leadline import failed: {status}"),
        Some(_) => {}
        None => {
            child.kill()?;
            child.wait()?;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let id: i64 = db_run!(db, |pool| sqlx::query_scalar("SELECT MAX(id) FROM imports")
        .fetch_one(pool)
        .await?);
    let job = leadline_store::imports::get_job(db, id).await?;
    // A finished import took from its start to its finish; a killed one, until it was killed.
    let secs = job
        .finished_at
        .map_or(killed_at, |end| (end - job.created_at).as_seconds_f64());
    Ok((
        calls?,
        ImportDone {
            rows: job.rows_done,
            secs,
        },
    ))
}
