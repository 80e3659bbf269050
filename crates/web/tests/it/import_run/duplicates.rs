//! Duplicates within the file and against stored leads under each policy (skip, update,
//! collision), repeat runs, and the history an imported lead starts with.

use leadline_engine::import_run::{self, Assign, RunError};
use leadline_store::db_run;
use leadline_store::imports::{self, OnDuplicate};

use super::{Fixture, counts, lead_by_phone, people_csv, scalar};

#[tokio::test]
async fn duplicates_in_the_file_and_in_storage_are_skipped_and_a_rerun_adds_nothing() {
    let f = Fixture::new().await;
    let first = f.file(
        "a.csv",
        &people_csv(&["甲,13800000001,甲公司,上海,,", "乙,,乙科技有限公司,北京,,"]),
    );
    f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    let second = f.file(
        "b.csv",
        &people_csv(&[
            "甲二,+86 138 0000 0001,别的公司,,,",   // stored phone
            "乙二,,乙科技,,,",                      // stored company (normalised)
            "丙,13800000003,丙公司,,,",             // new
            "丙二,13800000003,,,,",                 // same phone earlier in the file
            "丁,13800000004;13800000001,丁公司,,,", // second phone is stored
        ]),
    );
    let job = f.import(&second, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [1, 0, 4, 0, 0], "{job:?}");
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 3);
    let again = f.import(&second, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&again), [0, 0, 5, 0, 0], "{again:?}");
    let again = f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&again), [0, 0, 2, 0, 0]);
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 3);
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM (SELECT e164 FROM lead_phones GROUP BY e164 HAVING COUNT(*) > 1) d"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn update_fills_only_the_empty_fields_of_the_stored_lead() {
    let f = Fixture::new().await;
    let first = f.file("a.csv", &people_csv(&["甲,13800000001,甲公司,,,"]));
    f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    let second = f.file(
        "b.csv",
        &people_csv(&["新名字,13800000001,另一家公司,杭州,经理,"]),
    );
    let job = f.import(&second, OnDuplicate::Update, Assign::Pool).await;
    assert_eq!(counts(&job), [0, 1, 0, 0, 0], "{job:?}");
    let (name, company, city, _) = lead_by_phone(f.db(), "+8613800000001").await.unwrap();
    assert_eq!(name, "甲", "the name is not replaced");
    assert_eq!(company.as_deref(), Some("甲公司"), "a filled field is kept");
    assert_eq!(city.as_deref(), Some("杭州"), "an empty field is filled");
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(*) FROM leads WHERE title = '经理'").await,
        1
    );
    // The lead's history shows the fill: one update entry by the importer, naming the import.
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM audit_log a JOIN lead_phones p ON p.lead_id = a.entity_id \
             WHERE a.entity = 'lead' AND a.action = 'update' AND a.actor_id IS NOT NULL \
             AND p.e164 = '+8613800000001' AND CAST(a.after AS TEXT) LIKE '%\"filled\"%'"
        )
        .await,
        1
    );
    // Once filled, the same file changes nothing more.
    let again = f.import(&second, OnDuplicate::Update, Assign::Pool).await;
    assert_eq!(counts(&again), [0, 0, 1, 0, 0], "{again:?}");
}

#[tokio::test]
async fn an_imported_leads_history_begins_with_its_import_and_its_later_changes_follow() {
    let f = Fixture::new().await;
    let file = f.file(
        "名单.csv",
        &people_csv(&["甲,13800000001,甲公司,,,", "乙,13800000002,,,,"]),
    );
    let job = f.import(&file, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 0], "{job:?}");
    let id = scalar(
        f.db(),
        "SELECT lead_id FROM lead_phones WHERE e164 = '+8613800000001'",
    )
    .await;
    // The import is attributed once, on its job, not copied into an audit row per lead.
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'lead'"
        )
        .await,
        0
    );
    let history = leadline_store::audit::history(f.db(), "lead", id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    let first = &history[0];
    assert_eq!(first.action, "import");
    assert_eq!(first.actor_id, Some(f.org.admin));
    assert!(first.actor_name.is_some(), "{first:?}");
    let after = &first.after.as_ref().unwrap().0;
    assert_eq!(after["import"], job.id);
    assert_eq!(after["file"], "名单.csv");
    // A later change follows the import in the lead's history.
    let again = f.file("b.csv", &people_csv(&["甲,13800000001,甲公司,杭州,,"]));
    f.import(&again, OnDuplicate::Update, Assign::Pool).await;
    let history = leadline_store::audit::history(f.db(), "lead", id)
        .await
        .unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["import", "update"]);
}

#[tokio::test]
async fn collision_imports_the_row_and_records_both_owners() {
    let f = Fixture::new().await;
    let first = f.file("a.csv", &people_csv(&["甲,13800000001,,,,"]));
    f.import(
        &first,
        OnDuplicate::Skip,
        Assign::Owner {
            user_id: f.org.agent_a1,
        },
    )
    .await;
    let second = f.file("b.csv", &people_csv(&["甲另报,13800000001,,,,"]));
    let job = f
        .import(
            &second,
            OnDuplicate::Collision,
            Assign::Owner {
                user_id: f.org.agent_b1,
            },
        )
        .await;
    assert_eq!(counts(&job), [1, 0, 0, 1, 0], "{job:?}");
    let (existing, new): (Option<i64>, Option<i64>) = db_run!(f.db(), |pool| sqlx::query_as(
        "SELECT existing_owner_id, new_owner_id FROM collisions"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(existing, Some(f.org.agent_a1.0));
    assert_eq!(new, Some(f.org.agent_b1.0));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 2);
    assert_eq!(
        lead_by_phone(f.db(), "+8613800000001").await.unwrap().3,
        Some(f.org.agent_a1),
        "the phone still finds the first lead"
    );
}

/// An "update" fill reads the stored lead's custom values to merge into: when they do not parse,
/// the batch fails naming the lead (issue 20, part 5), rather than filling from an empty map and
/// saving it over them. The job reports the failure, and nothing of the batch is written.
#[tokio::test]
async fn an_update_over_a_lead_with_damaged_custom_values_fails_the_batch_naming_the_lead() {
    let f = Fixture::new().await;
    let first = f.file("a.csv", &people_csv(&["甲,13800000001,,,,"]));
    f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    let id = scalar(
        f.db(),
        "SELECT lead_id FROM lead_phones WHERE e164 = '+8613800000001'",
    )
    .await;
    let damage = match f.db().backend() {
        leadline_store::Backend::Sqlite => {
            "UPDATE leads SET custom = '{\"budget\": ' WHERE id = $1"
        }
        leadline_store::Backend::Postgres => {
            "UPDATE leads SET custom = '[\"budget\"]'::jsonb WHERE id = $1"
        }
    };
    leadline_store::db::sql::execute(f.db(), damage, vec![leadline_store::db::sql::Arg::I64(id)])
        .await
        .unwrap();

    let second = f.file(
        "b.csv",
        &people_csv(&["甲,13800000001,甲公司,杭州,,", "乙,13800000002,乙公司,,,"]),
    );
    let job = f
        .start(&second, OnDuplicate::Update, Assign::Pool)
        .await
        .unwrap();
    let failed = import_run::run(f.db(), job.id, |_| {}).await;
    match failed {
        Err(RunError::Store(leadline_store::StoreError::Corrupt { table, row, .. })) => {
            assert_eq!((table, row), ("leads", id));
        }
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
    let job = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!(job.status, "failed", "{job:?}");
    let error = job.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("stored_value_invalid") && error.contains(&format!("leads row {id}")),
        "{error}"
    );
    assert_eq!(counts(&job), [0, 0, 0, 0, 0], "{job:?}");
    let (_, company, city, _) = lead_by_phone(f.db(), "+8613800000001").await.unwrap();
    assert_eq!(
        (company, city),
        (None, None),
        "the stored lead is not filled"
    );
    assert!(
        lead_by_phone(f.db(), "+8613800000002").await.is_none(),
        "the batch's new lead is not written"
    );
    let custom: String = db_run!(f.db(), |pool| sqlx::query_scalar(
        "SELECT CAST(custom AS TEXT) FROM leads WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert!(
        custom.contains("budget"),
        "the damaged value is left as it was: {custom}"
    );
}
