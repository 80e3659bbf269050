//! Batches written in one call: kept up to a failed one, fenced by the job's claim, and planned
//! knowing the leads of the batch written beside them.

use leadline_domain::UserId;
use leadline_engine::import_run::Assign;
use leadline_store::imports::{self, OnDuplicate};

use super::{Fixture, counts, lead_by_phone, people_csv, scalar};

/// Batches handed to an import transaction one after another, as the reader has them ready.
struct Queued(std::collections::VecDeque<(Vec<imports::BatchRow>, i64)>);

impl imports::MoreBatches for Queued {
    fn ready(&mut self) -> Option<(Vec<imports::BatchRow>, i64)> {
        self.0.pop_front()
    }
}

/// `n` people with phones `prefix…` as import rows numbered from `first`, owned by `owner`.
fn lead_rows(first: i64, n: i64, prefix: &str, owner: Option<UserId>) -> Vec<imports::BatchRow> {
    (first..first + n)
        .map(|i| {
            let draft = leadline_domain::LeadDraft {
                name: format!("客户{i}"),
                phones: vec![format!("{prefix}{i:08}")],
                ..Default::default()
            };
            let fields = leadline_domain::LeadFields::parse(&draft, &[]).unwrap();
            imports::BatchRow::lead(i, fields, owner)
        })
        .collect()
}

/// The batches the reader has ready are written in one call. On SQLite they go into one
/// transaction: all of them are committed with the job's progress, or, when one fails, none of
/// them (so a resumed import starts again after the last commit). PostgreSQL writes each batch in
/// a transaction of its own, two at a time: when one fails, the batches before it are kept and
/// the job's progress stops after them, and the batch after it, good as it is, is not kept.
#[tokio::test]
async fn batches_written_in_one_call_are_kept_up_to_a_failed_one() {
    let f = Fixture::new().await;
    let path = f.file("batches.csv", &people_csv(&["甲,13800000001,,,,"]));
    let job = f
        .start(&path, OnDuplicate::Skip, Assign::Pool)
        .await
        .unwrap();
    let rows = || lead_rows(1, 100, "139", None);
    let more = Queued(
        [
            (lead_rows(101, 100, "139", None), 200),
            (lead_rows(201, 100, "139", None), 300),
        ]
        .into(),
    );
    let (applied, more) = imports::apply_batches(
        f.db(),
        job.id,
        f.org.admin,
        OnDuplicate::Skip,
        None,
        (rows(), 100),
        more,
    )
    .await
    .unwrap();
    assert_eq!(applied.rows, 300);
    assert_eq!(applied.counts.imported, 300);
    assert_eq!(applied.rows_done, 300);
    assert!(more.0.is_empty());
    let now = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!((now.rows_done, now.imported), (300, 300));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 300);

    // The middle batch's owner does not exist: it fails at the database.
    let more = Queued(
        [
            (lead_rows(1_101, 100, "138", Some(UserId(999_999))), 1_200),
            (lead_rows(1_201, 100, "138", None), 1_300),
        ]
        .into(),
    );
    let failed = imports::apply_batches(
        f.db(),
        job.id,
        f.org.admin,
        OnDuplicate::Skip,
        None,
        (lead_rows(1_001, 100, "138", None), 1_100),
        more,
    )
    .await;
    assert!(failed.is_err());
    let now = imports::get_job(f.db(), job.id).await.unwrap();
    let kept = match f.db().backend() {
        leadline_store::Backend::Sqlite => 300,
        leadline_store::Backend::Postgres => 400,
    };
    let rows_done = if kept == 300 { 300 } else { 1_100 };
    assert_eq!((now.rows_done, now.imported), (rows_done, kept));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, kept);
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM lead_phones WHERE e164 LIKE '+86138%'"
        )
        .await,
        kept - 300,
        "nothing of the batch after the failed one is kept"
    );
}

/// A batch advances an import only while its server still holds the job that runs it: once
/// the lease lapsed and another server claimed the job, a batch of the first server (one that
/// stalled past its lease mid-batch) writes nothing, in its own transaction, and the server that
/// holds the job now goes on.
#[tokio::test]
async fn a_batch_of_a_server_that_lost_its_job_writes_nothing() {
    let f = Fixture::new().await;
    let path = f.file("fenced.csv", &people_csv(&["甲,13800000001,,,,"]));
    let job = f
        .start(&path, OnDuplicate::Skip, Assign::Pool)
        .await
        .unwrap();
    let t0 = leadline_store::now();
    let lease = chrono::TimeDelta::seconds(30);
    leadline_store::jobs::enqueue(f.db(), "fence_test", t0, &serde_json::json!({}), None)
        .await
        .unwrap();
    let first = leadline_store::jobs::claim_leased(f.db(), "fence_test", lease, "server-a", t0, 1)
        .await
        .unwrap();
    let fence = |worker: &str| {
        Some(imports::Fence {
            job_id: first[0].id,
            worker: worker.into(),
        })
    };
    let write = |from: i64, worker: &'static str| {
        imports::apply_batches(
            f.db(),
            job.id,
            f.org.admin,
            OnDuplicate::Skip,
            fence(worker),
            (lead_rows(from, 100, "139", None), from + 99),
            Queued(Default::default()),
        )
    };
    write(1, "server-a").await.unwrap();
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 100);

    // The lease lapses and server B takes the job over.
    let later = t0 + lease + chrono::TimeDelta::seconds(1);
    let taken =
        leadline_store::jobs::claim_leased(f.db(), "fence_test", lease, "server-b", later, 1)
            .await
            .unwrap();
    assert_eq!(taken.len(), 1);
    let lost = write(101, "server-a").await;
    assert!(
        matches!(lost, Err(leadline_store::StoreError::ClaimLost)),
        "{:?}",
        lost.map(|(a, _)| a)
    );
    let now = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!((now.rows_done, now.imported), (100, 100));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 100);
    write(101, "server-b").await.unwrap();
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 200);
}

/// One of an import's rows, numbered `n`, with a phone and maybe a city.
fn person(n: i64, phone: String, city: Option<&str>) -> imports::BatchRow {
    let draft = leadline_domain::LeadDraft {
        name: format!("客户{n}"),
        phones: vec![phone],
        city: city.map(str::to_string),
        ..Default::default()
    };
    let fields = leadline_domain::LeadFields::parse(&draft, &[]).unwrap();
    imports::BatchRow::lead(n, fields, None)
}

/// Each batch is planned knowing the new leads of the batches before it, stored or (on
/// PostgreSQL, which writes two batches at once) still being written: under every policy a row
/// repeating such a lead's phone is skipped, fills that lead, or is recorded as colliding with
/// it, and no phone is stored twice.
#[tokio::test]
async fn a_batch_handles_the_leads_of_the_batch_written_beside_it_by_the_policy() {
    for policy in [
        OnDuplicate::Skip,
        OnDuplicate::Update,
        OnDuplicate::Collision,
    ] {
        let f = Fixture::new().await;
        let path = f.file("pairs.csv", &people_csv(&["甲,13800000001,,,,"]));
        let job = f.start(&path, policy, Assign::Pool).await.unwrap();
        let phone = |prefix: &str, i: i64| format!("{prefix}{i:08}");
        // 50 new leads; then 10 rows repeating the first ten of them (with a city) and 40 new
        // leads; then 5 rows repeating new leads of the second batch and 5 of the first.
        let first: Vec<_> = (0..50)
            .map(|i| person(i + 1, phone("139", i), None))
            .collect();
        let second: Vec<_> = (0..10)
            .map(|i| person(51 + i, phone("139", i), Some("杭州")))
            .chain((0..40).map(|i| person(61 + i, phone("137", i), None)))
            .collect();
        let third: Vec<_> = (0..5)
            .map(|i| person(101 + i, phone("137", i), Some("苏州")))
            .chain((10..15).map(|i| person(96 + i, phone("139", i), Some("南京"))))
            .collect();
        let (applied, more) = imports::apply_batches(
            f.db(),
            job.id,
            f.org.admin,
            policy,
            None,
            (first, 50),
            Queued([(second, 100), (third, 110)].into()),
        )
        .await
        .unwrap();
        assert!(more.0.is_empty());
        assert_eq!(applied.rows_done, 110);
        let c = applied.counts;
        let expected = match policy {
            OnDuplicate::Skip => [90, 0, 20, 0, 0],
            OnDuplicate::Update => [90, 20, 0, 0, 0],
            OnDuplicate::Collision => [110, 0, 0, 20, 0],
        };
        assert_eq!(
            [c.imported, c.updated, c.skipped, c.collisions, c.failed],
            expected,
            "{policy:?}"
        );
        let job = imports::get_job(f.db(), job.id).await.unwrap();
        assert_eq!(counts(&job), expected, "{policy:?}");
        assert_eq!(
            scalar(f.db(), "SELECT COUNT(*) FROM leads").await,
            expected[0],
            "{policy:?}"
        );
        assert_eq!(
            scalar(
                f.db(),
                "SELECT COUNT(*) FROM (SELECT e164 FROM lead_phones WHERE collision_with IS NULL \
                 GROUP BY e164 HAVING COUNT(*) > 1) d"
            )
            .await,
            0,
            "{policy:?}"
        );
        let db = f.db().clone();
        let city = |e164: &'static str| {
            let db = db.clone();
            async move { lead_by_phone(&db, e164).await.unwrap().2 }
        };
        match policy {
            OnDuplicate::Update => {
                assert_eq!(city("+8613900000000").await.as_deref(), Some("杭州"));
                assert_eq!(city("+8613700000004").await.as_deref(), Some("苏州"));
                assert_eq!(city("+8613900000014").await.as_deref(), Some("南京"));
                assert_eq!(city("+8613900000020").await, None);
            }
            OnDuplicate::Collision => {
                // Each collision names the lead that holds the phone.
                assert_eq!(
                    scalar(
                        f.db(),
                        "SELECT COUNT(*) FROM collisions c JOIN lead_phones p \
                         ON p.lead_id = c.existing_lead_id AND p.e164 = c.phone_e164 \
                         AND p.collision_with IS NULL"
                    )
                    .await,
                    20
                );
            }
            OnDuplicate::Skip => {
                assert_eq!(city("+8613900000000").await, None);
            }
        }
    }
}
