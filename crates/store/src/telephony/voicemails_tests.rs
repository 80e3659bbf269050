//! Re-filing voicemails on both backends: who may hear and change one, the notification and
//! audit entry of passing it on, and two submits of one change racing.

use leadline_domain::voicemail::{Refiling, VoicemailCategory, VoicemailStatus};
use leadline_domain::{Role, UserId};

use super::voicemails::{self, VOICEMAIL_PASSED, VoicemailFilter};
use crate::db::test_db::TestDb;
use crate::ownership::claim::tests::user;
use crate::{Db, StoreError, db_run, now};

async fn count(db: &Db, sql: &'static str, id: i64) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap())
}

async fn notices(db: &Db, user: UserId) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2"
    )
    .bind(user)
    .bind(VOICEMAIL_PASSED)
    .fetch_one(pool)
    .await
    .unwrap())
}

const AUDITS: &str = "SELECT COUNT(*) FROM audit_log WHERE entity = 'voicemail' AND entity_id = $1";

#[tokio::test]
async fn an_admin_passes_a_voicemail_on_and_only_the_assignee_hears_it() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let sup = user(db, "sup", Role::Supervisor, None).await;
    let agent = user(db, "agent", Role::Agent, None).await;
    let wav = b"RIFF\x24\0\0\0WAVEfmt ".to_vec();
    let id = voicemails::record_voicemail(db, "c@x", "13800138000", "complaint", 5000, &wav, now())
        .await
        .unwrap();
    let all = VoicemailFilter::default();
    assert!(
        voicemails::list_voicemails(db, &sup, &all)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        voicemails::audio_for(db, &sup, id).await,
        Err(StoreError::Forbidden)
    ));
    let change = Refiling {
        category: Some(VoicemailCategory::Suggestion),
        assignee: Some(sup.user_id),
        note: Some("请今天回电".into()),
    };
    assert!(matches!(
        voicemails::refile(db, &sup, id, &change, 1, now()).await,
        Err(StoreError::Forbidden)
    ));
    let refiled = voicemails::refile(db, &admin, id, &change, 1, now())
        .await
        .unwrap();
    assert_eq!(
        (
            refiled.category.as_str(),
            refiled.caller_category.as_str(),
            refiled.status.as_str(),
            refiled.assignee_id,
            refiled.version
        ),
        ("suggestion", "complaint", "passed", Some(sup.user_id), 2)
    );
    assert_eq!(refiled.assignee_name.as_deref(), Some("sup"));
    assert_eq!(notices(db, sup.user_id).await, 1);
    assert_eq!(count(db, AUDITS, id).await, 1);

    // The assignee now lists and hears it; another agent still may not.
    let theirs = voicemails::list_voicemails(db, &sup, &all).await.unwrap();
    assert_eq!(theirs.iter().map(|v| v.id).collect::<Vec<_>>(), [id]);
    assert_eq!(voicemails::audio_for(db, &sup, id).await.unwrap(), wav);
    assert!(matches!(
        voicemails::audio_for(db, &agent, id).await,
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        voicemails::audio_for(db, &admin, id + 99).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        voicemails::has_passed_voicemails(db, sup.user_id)
            .await
            .unwrap()
    );
    assert!(
        !voicemails::has_passed_voicemails(db, agent.user_id)
            .await
            .unwrap()
    );

    // Filters: by status and by the current category.
    let passed = VoicemailFilter {
        status: Some(VoicemailStatus::Passed),
        category: None,
    };
    assert_eq!(
        voicemails::list_voicemails(db, &admin, &passed)
            .await
            .unwrap()
            .len(),
        1
    );
    let complaints = VoicemailFilter {
        status: None,
        category: Some(VoicemailCategory::Complaint),
    };
    assert!(
        voicemails::list_voicemails(db, &admin, &complaints)
            .await
            .unwrap()
            .is_empty()
    );

    // A stale version with another change conflicts; nothing is written.
    let other = Refiling {
        category: Some(VoicemailCategory::Praise),
        ..Refiling::default()
    };
    assert!(matches!(
        voicemails::refile(db, &admin, id, &other, 1, now()).await,
        Err(StoreError::EditConflict { current: 2 })
    ));
    assert_eq!(count(db, AUDITS, id).await, 1);

    // An unknown person cannot be named.
    let nobody = Refiling {
        assignee: Some(UserId(9999)),
        ..Refiling::default()
    };
    assert!(matches!(
        voicemails::refile(db, &admin, id, &nobody, 2, now()).await,
        Err(StoreError::Invalid(_))
    ));

    // The agent may not close it; the assignee does, and closing twice is closing once.
    assert!(matches!(
        voicemails::mark_done(db, &agent, id, 2, now()).await,
        Err(StoreError::Forbidden)
    ));
    let done = voicemails::mark_done(db, &sup, id, 2, now()).await.unwrap();
    assert_eq!((done.status.as_str(), done.version), ("done", 3));
    let again = voicemails::mark_done(db, &sup, id, 2, now()).await.unwrap();
    assert_eq!(again.version, 3);
    assert_eq!(count(db, AUDITS, id).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_refiling_sent_twice_at_once_is_written_and_notified_once() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let sup = user(db, "sup", Role::Supervisor, None).await;
    for round in 0..5 {
        let id = voicemails::record_voicemail(
            db,
            &format!("r{round}@x"),
            "1",
            "other",
            1000,
            b"x",
            now(),
        )
        .await
        .unwrap();
        let change = Refiling {
            category: Some(VoicemailCategory::Complaint),
            assignee: Some(sup.user_id),
            note: Some(format!("第{round}条")),
        };
        let send = || {
            let (db, admin, change) = (db.clone(), admin.clone(), change.clone());
            tokio::spawn(
                async move { voicemails::refile(&db, &admin, id, &change, 1, now()).await },
            )
        };
        let (a, b) = (send(), send());
        let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
        // Both submits are answered with the one write.
        assert_eq!((a.version, b.version), (2, 2));
        assert_eq!(count(db, AUDITS, id).await, 1, "round {round}");
    }
    assert_eq!(notices(db, sup.user_id).await, 5);
}
