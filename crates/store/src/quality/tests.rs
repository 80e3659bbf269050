//! Quality checks on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`): a review
//! scored against the checklist, its refusals by role, a re-review with a stale version, two
//! reviewers at once, the agent notified, and the period score per agent.

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadline_domain::quality::GivenScore;
use leadline_domain::{Role, TeamId, UserId, Viewer};

use super::reviews::{self, QueueFilter, ReviewInput};
use super::{ItemInput, add_item, items, update_item};
use crate::db::sql::Arg;
use crate::db::test_db::TestDb;
use crate::ownership::claim::tests::{pool_lead, user};
use crate::workday::calls::{NewCall, insert_many};
use crate::{Db, StoreError, db_run};

async fn team(db: &Db, id: i64) {
    crate::db::sql::execute(
        db,
        "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)",
        vec![
            Arg::I64(id),
            Arg::Text(format!("T{id}")),
            Arg::Time(crate::now()),
        ],
    )
    .await
    .unwrap();
}

/// 10:00 in Shanghai on a March 2026 day.
fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 2, 0, 0).unwrap()
}

async fn call(db: &Db, agent: &Viewer, n: u32, started: DateTime<Utc>, duration_s: i64) -> i64 {
    let lead = pool_lead(db, agent, n, None).await;
    insert_many(
        db,
        &[NewCall {
            lead_id: lead,
            agent_id: agent.user_id,
            started_at: started,
            duration_s,
            disposition: "connected".into(),
            intent: None,
            notes: "客户想了解价格".into(),
            next_revisit_at: None,
            script_id: None,
        }],
    )
    .await
    .unwrap();
    db_run!(db, |p| {
        sqlx::query_scalar("SELECT MAX(id) FROM calls")
            .fetch_one(p)
            .await
            .unwrap()
    })
}

/// Full marks on every active item, less `minus` on the first.
async fn scores(db: &Db, minus: i64) -> Vec<GivenScore> {
    items(db)
        .await
        .unwrap()
        .iter()
        .filter(|i| i.active)
        .enumerate()
        .map(|(n, i)| GivenScore {
            item_id: i.id,
            score: if n == 0 {
                i.max_score - minus
            } else {
                i.max_score
            },
        })
        .collect()
}

struct Floor {
    agent: Viewer,
    other_agent: Viewer,
    boss: Viewer,
    other_boss: Viewer,
    admin: Viewer,
}

async fn floor(db: &Db) -> Floor {
    team(db, 1).await;
    team(db, 2).await;
    let agent = user(db, "a1", Role::Agent, Some(TeamId(1))).await;
    let other_agent = user(db, "a2", Role::Agent, Some(TeamId(2))).await;
    let mut boss = user(db, "boss1", Role::Supervisor, None).await;
    boss.supervised_teams = vec![TeamId(1)];
    let mut other_boss = user(db, "boss2", Role::Supervisor, None).await;
    other_boss.supervised_teams = vec![TeamId(2)];
    let admin = user(db, "root", Role::Admin, None).await;
    Floor {
        agent,
        other_agent,
        boss,
        other_boss,
        admin,
    }
}

#[tokio::test]
async fn a_supervisor_scores_a_team_call_and_the_agent_is_told() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let c = call(db, &f.agent, 1, at(2), 95).await;
    let input = ReviewInput {
        scores: scores(db, 5).await,
        comment: "开场没有报部门".into(),
        version: None,
    };
    let (review, created) = reviews::save(db, &f.boss, c, &input, at(3)).await.unwrap();
    assert!(created);
    // The default checklist is worth 100 points: 95 of them.
    assert_eq!((review.score, review.max_score), (95, 100));
    assert_eq!(review.percent_tenths, 950);
    assert_eq!(review.items.len(), 9);
    assert_eq!(review.items[0].code, "self_intro");
    assert_eq!(review.items[0].score, 10);
    assert_eq!(review.call_day, "2026-03-02");
    assert_eq!(review.comment, "开场没有报部门");

    // The agent reads it and was notified with the score.
    let seen = reviews::for_call(db, &f.agent, c).await.unwrap();
    assert_eq!(seen.review.as_ref().unwrap().score, 95);
    assert!(!seen.may_review, "an agent reads but does not score");
    let kinds: Vec<(String, String)> = db_run!(db, |p| {
        sqlx::query_as("SELECT kind, CAST(payload AS TEXT) FROM notifications WHERE user_id = $1")
            .bind(f.agent.user_id)
            .fetch_all(p)
            .await
            .unwrap()
    });
    assert_eq!(kinds.len(), 1);
    assert_eq!(kinds[0].0, reviews::REVIEWED);
    let payload: serde_json::Value = serde_json::from_str(&kinds[0].1).unwrap();
    assert_eq!(
        (payload["call_id"].as_i64(), payload["score"].as_i64()),
        (Some(c), Some(95))
    );

    // A change with the current version replaces the scores; with a stale one it is refused.
    let again = ReviewInput {
        scores: scores(db, 15).await,
        comment: String::new(),
        version: Some(1),
    };
    let (changed, created) = reviews::save(db, &f.admin, c, &again, at(4)).await.unwrap();
    assert!(!created);
    assert_eq!((changed.score, changed.version), (85, 2));
    assert_eq!(changed.items[0].score, 0);
    let stale = reviews::save(db, &f.boss, c, &again, at(4))
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::EditConflict { current: 2 }),
        "{stale:?}"
    );
    let audit: i64 = db_run!(db, |p| {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'qc_review'")
            .fetch_one(p)
            .await
            .unwrap()
    });
    assert_eq!(
        audit, 2,
        "each saved review is audited, the refused one not"
    );
}

#[tokio::test]
async fn only_the_team_supervisor_and_admins_score_and_others_do_not_learn_the_call() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let c = call(db, &f.agent, 1, at(2), 60).await;
    let input = ReviewInput {
        scores: scores(db, 0).await,
        ..ReviewInput::default()
    };
    for (who, what) in [
        (&f.other_agent, "another team's agent"),
        (&f.other_boss, "another team's supervisor"),
    ] {
        let e = reviews::save(db, who, c, &input, at(3)).await.unwrap_err();
        assert!(matches!(e, StoreError::NotFound), "{what}: {e:?}");
        let e = reviews::for_call(db, who, c).await.unwrap_err();
        assert!(matches!(e, StoreError::NotFound), "{what}: {e:?}");
    }
    let e = reviews::save(db, &f.agent, c, &input, at(3))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "own call: {e:?}");
    // A supervisor's own call is scored by someone else.
    let mut boss_self = f.boss.clone();
    boss_self.user_id = f.agent.user_id;
    let e = reviews::save(db, &boss_self, c, &input, at(3))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Forbidden),
        "own call as supervisor: {e:?}"
    );
    let none: i64 = db_run!(db, |p| {
        sqlx::query_scalar("SELECT COUNT(*) FROM qc_reviews")
            .fetch_one(p)
            .await
            .unwrap()
    });
    assert_eq!(none, 0, "nothing stored by a refused review");
    assert!(reviews::for_call(db, &f.boss, c).await.unwrap().may_review);
}

#[tokio::test]
async fn bad_scores_are_refused_naming_the_item_and_store_nothing() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let c = call(db, &f.agent, 1, at(2), 60).await;
    let mut over = scores(db, 0).await;
    over[1].score += 1;
    let mut missing = scores(db, 0).await;
    let gone = missing.pop().unwrap().item_id;
    for (given, field, code) in [
        (
            over.clone(),
            format!("scores.{}", over[1].item_id),
            "out_of_range",
        ),
        (missing, format!("scores.{gone}"), "required"),
    ] {
        let e = reviews::save(
            db,
            &f.boss,
            c,
            &ReviewInput {
                scores: given,
                ..ReviewInput::default()
            },
            at(3),
        )
        .await
        .unwrap_err();
        let StoreError::Invalid(p) = e else {
            panic!("{e:?}")
        };
        assert_eq!((p[0].field.as_str(), p[0].code), (field.as_str(), code));
    }
    let long = ReviewInput {
        scores: scores(db, 0).await,
        comment: "很".repeat(reviews::MAX_COMMENT + 1),
        version: None,
    };
    let e = reviews::save(db, &f.boss, c, &long, at(3))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    assert!(
        reviews::for_call(db, &f.boss, c)
            .await
            .unwrap()
            .review
            .is_none()
    );
}

#[tokio::test]
async fn a_changed_checklist_keeps_past_reviews_and_the_last_item_stays() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let c = call(db, &f.agent, 1, at(2), 60).await;
    let input = ReviewInput {
        scores: scores(db, 0).await,
        ..ReviewInput::default()
    };
    reviews::save(db, &f.boss, c, &input, at(3)).await.unwrap();
    let list = items(db).await.unwrap();
    // Doubling an item's points and adding one leaves the past review at 100/100.
    update_item(
        db,
        &f.admin,
        list[0].id,
        &ItemInput {
            max_score: Some(30),
            ..ItemInput::default()
        },
        at(4),
    )
    .await
    .unwrap();
    let e = add_item(
        db,
        &f.boss,
        &ItemInput {
            code: Some("x".into()),
            label_zh: Some("x".into()),
            label_en: Some("x".into()),
            max_score: Some(5),
            active: None,
        },
        at(4),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, StoreError::Forbidden),
        "a supervisor does not edit the checklist"
    );
    let new = add_item(
        db,
        &f.admin,
        &ItemInput {
            code: Some("product".into()),
            label_zh: Some("产品介绍准确".into()),
            label_en: Some("Described the product correctly".into()),
            max_score: Some(10),
            active: None,
        },
        at(4),
    )
    .await
    .unwrap();
    let past = reviews::for_call(db, &f.boss, c)
        .await
        .unwrap()
        .review
        .unwrap();
    assert_eq!(
        (past.score, past.max_score, past.items.len()),
        (100, 100, 9)
    );
    // A new review scores the new item, against the new points.
    let c2 = call(db, &f.agent, 2, at(5), 60).await;
    let (r2, _) = reviews::save(
        db,
        &f.boss,
        c2,
        &ReviewInput {
            scores: scores(db, 0).await,
            ..ReviewInput::default()
        },
        at(6),
    )
    .await
    .unwrap();
    assert_eq!((r2.max_score, r2.items.len()), (125, 10));
    assert!(r2.items.iter().any(|i| i.item_id == new));

    // Retire all but one: the last cannot go.
    let all = items(db).await.unwrap();
    for i in &all[1..] {
        let retire = ItemInput {
            active: Some(false),
            ..ItemInput::default()
        };
        update_item(db, &f.admin, i.id, &retire, at(7))
            .await
            .unwrap();
    }
    let e = update_item(
        db,
        &f.admin,
        all[0].id,
        &ItemInput {
            active: Some(false),
            ..ItemInput::default()
        },
        at(7),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, StoreError::Conflict("last_item")), "{e:?}");
}

#[tokio::test]
async fn two_reviewers_at_once_give_one_review() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let c = call(db, &f.agent, 1, at(2), 60).await;
    let input = ReviewInput {
        scores: scores(db, 0).await,
        ..ReviewInput::default()
    };
    let (a, b) = tokio::join!(
        reviews::save(db, &f.boss, c, &input, at(3)),
        reviews::save(db, &f.admin, c, &input, at(3)),
    );
    let created = [a.unwrap().1, b.unwrap().1];
    assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");
    let rows: (i64, i64) = db_run!(db, |p| {
        sqlx::query_as("SELECT COUNT(*), MAX(version) FROM qc_reviews")
            .fetch_one(p)
            .await
            .unwrap()
    });
    assert_eq!(rows, (1, 2));
    let scored: i64 = db_run!(db, |p| {
        sqlx::query_scalar("SELECT COUNT(*) FROM qc_scores")
            .fetch_one(p)
            .await
            .unwrap()
    });
    assert_eq!(scored, 9, "one set of scores, not two");
}

#[tokio::test]
async fn the_queue_and_the_period_score_follow_the_viewer_and_the_days() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let c1 = call(db, &f.agent, 1, at(2), 60).await;
    let c2 = call(db, &f.agent, 2, at(3), 0).await;
    let c3 = call(db, &f.other_agent, 3, at(3), 30).await;
    // 23:30 in Shanghai on 31 March: a March call, although April in UTC terms is hours away.
    let late = Utc.with_ymd_and_hms(2026, 3, 31, 15, 30, 0).unwrap();
    let c4 = call(db, &f.agent, 4, late, 40).await;
    let filter = QueueFilter {
        from: at(1) - Duration::hours(10),
        to: at(1) + Duration::days(31),
        agent: None,
        reviewed: None,
        connected_only: false,
    };
    let ids = |rows: Vec<reviews::QueueRow>| rows.iter().map(|r| r.call_id).collect::<Vec<_>>();
    assert_eq!(
        ids(reviews::queue(db, &f.boss, &filter).await.unwrap()),
        vec![c4, c2, c1]
    );
    assert_eq!(
        ids(reviews::queue(db, &f.admin, &filter).await.unwrap()),
        vec![c4, c3, c2, c1]
    );
    assert_eq!(
        ids(reviews::queue(db, &f.other_agent, &filter).await.unwrap()),
        vec![c3]
    );
    let connected = QueueFilter {
        connected_only: true,
        ..filter.clone()
    };
    assert_eq!(
        ids(reviews::queue(db, &f.boss, &connected).await.unwrap()),
        vec![c4, c1]
    );

    let full = ReviewInput {
        scores: scores(db, 0).await,
        ..ReviewInput::default()
    };
    reviews::save(db, &f.boss, c1, &full, at(4)).await.unwrap();
    let poor = ReviewInput {
        scores: scores(db, 15).await,
        ..ReviewInput::default()
    };
    reviews::save(db, &f.boss, c4, &poor, at(4)).await.unwrap();
    reviews::save(db, &f.other_boss, c3, &full, at(4))
        .await
        .unwrap();
    let open = QueueFilter {
        reviewed: Some(false),
        ..filter.clone()
    };
    assert_eq!(
        ids(reviews::queue(db, &f.boss, &open).await.unwrap()),
        vec![c2]
    );

    let march = reviews::summary(db, &f.boss, "2026-03-01", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(march.len(), 1, "the supervisor sees their team only");
    assert_eq!(march[0].agent_id, f.agent.user_id);
    assert_eq!(
        (march[0].reviews, march[0].score, march[0].max_score),
        (2, 185, 200)
    );
    assert_eq!(march[0].percent_tenths, Some(925));
    let april = reviews::summary(db, &f.admin, "2026-04-01", "2026-04-30")
        .await
        .unwrap();
    assert!(april.is_empty(), "the late call counts in March: {april:?}");
    let all = reviews::summary(db, &f.admin, "2026-03-01", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let own: Vec<UserId> = reviews::summary(db, &f.agent, "2026-03-01", "2026-03-31")
        .await
        .unwrap()
        .iter()
        .map(|a| a.agent_id)
        .collect();
    assert_eq!(own, vec![f.agent.user_id], "an agent sees their own score");
}
