//! Referrals on import (issue 22, 老客户带来的新客户仍属于原销售人员): a 推荐人电话 column naming an
//! existing customer gives the row to that customer's owner whatever the import's assignment,
//! with a `referral` line of history and the countdown of any owned record; a referrer in a
//! pool is recorded and the row keeps its assignment; a referrer nobody holds refuses the row
//! with its reason in the error report; the summary counts the referred rows. Both backends.

use leadline_domain::{LeadDraft, LeadId, UserId};
use leadline_engine::import_run::{self, Assign, ImportOptions};
use leadline_import::Target;
use leadline_store::auth::users;
use leadline_store::db::test_db::TestDb;
use leadline_store::imports::OnDuplicate;
use leadline_store::leads::{self, CreateOptions};
use leadline_store::ownership::events;
use leadline_store::{Db, db_run};

use crate::helpers::seed_org;

/// A lead's id, owner, referrer and reclaim time.
type Row = (
    LeadId,
    Option<UserId>,
    Option<LeadId>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// (id, owner, referred_by, reclaim_at is set) of the lead holding `e164`.
async fn lead_of(db: &Db, e164: &str) -> Option<(LeadId, Option<UserId>, Option<LeadId>, bool)> {
    let row: Option<Row> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT l.id, l.owner_id, l.referred_by, l.reclaim_at FROM leads l \
                 JOIN lead_phones p ON p.lead_id = l.id WHERE p.e164 = $1",
        )
        .bind(e164)
        .fetch_optional(pool)
        .await
        .unwrap()
    });
    row.map(|(id, owner, by, reclaim)| (id, owner, by, reclaim.is_some()))
}

#[tokio::test]
async fn a_referred_row_goes_to_the_referrers_owner_and_an_unknown_referrer_is_refused() {
    let tdb = TestDb::fresh().await.unwrap();
    let db = &tdb.db;
    let org = seed_org(db).await;
    let admin = users::viewer(db, &users::get_user(db, org.admin).await.unwrap())
        .await
        .unwrap();
    let customer = |name: &str, phone: &str| LeadDraft {
        name: name.into(),
        phones: vec![phone.into()],
        ..LeadDraft::default()
    };
    // Two old customers: agent_a1's, and one in the pool.
    let owned = leads::create(
        db,
        &admin,
        &customer("老王", "13900000001"),
        &CreateOptions {
            owner: Some(org.agent_a1),
            ..CreateOptions::default()
        },
    )
    .await
    .unwrap()
    .id;
    let pooled = leads::create(
        db,
        &admin,
        &customer("老李", "13900000002"),
        &CreateOptions {
            pool: true,
            ..CreateOptions::default()
        },
    )
    .await
    .unwrap()
    .id;
    let csv = format!(
        "姓名,手机,推荐人电话\n\
         新一,13800000011,13900000001\n\
         新二,13800000012,139 0000 0002\n\
         新三,13800000013,13999999999\n\
         新四,13800000014,\n\
         新五,13800000015,#{}\n",
        owned.0
    );
    let dir = std::env::temp_dir().join(format!(
        "leadline-import-referral-{}-{}",
        std::process::id(),
        &leadline_store::auth::random_secret()[..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("referrals.csv");
    std::fs::write(&path, csv).unwrap();
    let preview = import_run::preview(&path, "referrals.csv", None, None, &[], None).unwrap();
    assert_eq!(
        preview.mapping.columns[2].target,
        Target::ReferredBy,
        "the 推荐人电话 column is recognised"
    );
    // Everything is assigned to agent_b1, but a referred row goes to the referrer's owner.
    let options = ImportOptions {
        mapping: preview.mapping,
        on_duplicate: OnDuplicate::Skip,
        assign: Assign::Owner {
            user_id: org.agent_b1,
        },
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    let job = import_run::start(db, org.admin, "referrals.csv", &path, &options)
        .await
        .unwrap();
    let job = import_run::run(db, job.id, |_| {}).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        (job.imported, job.failed, job.referred),
        (4, 1, 2),
        "{job:?}"
    );

    let (new1, owner1, by1, countdown1) = lead_of(db, "+8613800000011").await.unwrap();
    assert_eq!((owner1, by1), (Some(org.agent_a1), Some(owned)));
    assert!(countdown1, "an owned record's countdown starts");
    let history = events::history(db, new1).await.unwrap();
    let lines: Vec<(&str, Option<UserId>)> = history
        .iter()
        .map(|e| (e.action.as_str(), e.to_user))
        .collect();
    assert_eq!(
        lines,
        [("referral", Some(org.agent_a1))],
        "one line, the referral"
    );

    let (_, owner2, by2, _) = lead_of(db, "+8613800000012").await.unwrap();
    assert_eq!(
        (owner2, by2),
        (Some(org.agent_b1), Some(pooled)),
        "a referrer in the pool: the assignment, and the referrer recorded"
    );
    assert!(lead_of(db, "+8613800000013").await.is_none(), "refused");
    let (_, owner4, by4, _) = lead_of(db, "+8613800000014").await.unwrap();
    assert_eq!((owner4, by4), (Some(org.agent_b1), None));
    let (_, owner5, by5, _) = lead_of(db, "+8613800000015").await.unwrap();
    assert_eq!(
        (owner5, by5),
        (Some(org.agent_a1), Some(owned)),
        "by the customer's #number"
    );

    let (bytes, _, _) = import_run::error_report(db, &job, false).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("13999999999") && text.contains("推荐人不存在"),
        "{text}"
    );
}
