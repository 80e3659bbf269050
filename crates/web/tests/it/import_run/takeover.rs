//! An import whose server died is finished by another server's worker once its lease lapses.

use leadline_engine::import_run::{self, Assign, ImportOptions};
use leadline_store::imports::{self, OnDuplicate};

use super::{Fixture, counts, people_csv, scalar};

/// A web import is a job in the jobs table. Its server stops it after the first batch (as if it
/// died) holding the job's claim; while the claim is fresh no other worker touches it, and once
/// its lease has lapsed another server's worker finishes it from the batch it stopped at, reading
/// the upload from the database: every row once, and the upload removed.
#[tokio::test]
async fn an_import_whose_server_died_is_finished_by_another_worker_once_its_lease_lapses() {
    use leadline_engine::import_job::{self, RUN_IMPORT, RunImport};
    use leadline_engine::jobs_runner::{Hub, JobHandler, Registry, Worker};
    use leadline_store::{jobs, uploads};

    let f = Fixture::new().await;
    let rows: Vec<String> = (0..12_000)
        .map(|i| format!("客户{i},13{i:09},公司{i},上海,,"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let bytes = people_csv(&rows);
    // The upload as a server stores it: in the database, in chunks.
    let now = leadline_store::now();
    let token = leadline_store::auth::random_secret();
    let id = uploads::create(f.db(), &token, f.org.admin, "big.csv", "csv", now)
        .await
        .unwrap();
    for (seq, chunk) in bytes.chunks(uploads::CHUNK_BYTES / 4).enumerate() {
        uploads::put_chunk(f.db(), id, seq as i64, chunk)
            .await
            .unwrap();
    }
    uploads::finish(f.db(), id, bytes.len() as i64)
        .await
        .unwrap();
    let upload = uploads::find(f.db(), &token).await.unwrap().unwrap();
    let first_server = f.dir.join("first");
    let local = leadline_engine::upload_files::local_copy(f.db(), &first_server, &upload)
        .await
        .unwrap();
    let preview = import_run::preview(&local, "big.csv", None, None, &[], None).unwrap();
    let options = ImportOptions {
        mapping: preview.mapping,
        on_duplicate: OnDuplicate::Skip,
        assign: Assign::Pool,
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    let job = import_run::start_stored(f.db(), f.org.admin, &upload, &local, &options)
        .await
        .unwrap();
    import_job::queue_start(f.db(), &Hub::new(), &job)
        .await
        .unwrap();

    // The first server claims the job, commits one batch and dies.
    let t0 = leadline_store::now();
    let claimed = jobs::claim_leased(f.db(), RUN_IMPORT, RunImport::LEASE, "dead", t0, 5)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ran = import_run::run_until(
        f.db(),
        job.id,
        &first_server,
        |_| stop.store(true, std::sync::atomic::Ordering::Relaxed),
        stop.clone(),
        None,
    )
    .await
    .unwrap();
    let import_run::Ran::Stopped(stopped) = ran else {
        panic!("the run did not stop: {ran:?}")
    };
    assert_eq!(stopped.status, "running");
    assert!(
        stopped.rows_done > 0 && stopped.rows_done < 12_000,
        "{stopped:?}"
    );

    // Another server, with its own directory: nothing to do while the claim is fresh.
    let other = Worker::new(
        f.db().clone(),
        Hub::new(),
        Registry::standard(f.dir.join("second")),
    );
    let fresh = t0 + RunImport::LEASE - chrono::TimeDelta::seconds(1);
    assert_eq!(other.run_due(fresh).await.unwrap(), 0);
    assert_eq!(
        imports::get_job(f.db(), job.id).await.unwrap().rows_done,
        stopped.rows_done
    );
    let lapsed = t0 + RunImport::LEASE + chrono::TimeDelta::seconds(1);
    assert_eq!(other.run_due(lapsed).await.unwrap(), 1);
    let done = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!(done.status, "done", "{done:?}");
    assert_eq!(counts(&done), [12_000, 0, 0, 0, 0]);
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 12_000);
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(DISTINCT e164) FROM lead_phones").await,
        12_000
    );
    assert_eq!(
        jobs::status(f.db(), claimed[0].id)
            .await
            .unwrap()
            .as_deref(),
        Some("done")
    );
    assert!(uploads::find(f.db(), &token).await.unwrap().is_none());
}
