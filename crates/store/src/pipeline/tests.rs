//! The pipeline on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`): moves with
//! their history and durations on an injected clock, lost without a reason refused, the board
//! through the customer visibility rule, the monthly grading at its thresholds with an override
//! kept, the due-for-contact list and the day's route.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use leadline_domain::{Role, TeamId, UserId, Viewer};

use super::grades::{self, due_for_contact, override_grade, run_grading};
use super::opportunities::{self as opps, MoveInput, OpportunityInput};
use super::stages::{self, EntryInput, List};
use super::visits::{self, VisitInput};
use crate::db::sql::Arg;
use crate::db::test_db::TestDb;
use crate::ownership::claim::tests::user;
use crate::{Db, StoreError, bind_args, db_run};

pub(crate) async fn insert(db: &Db, sql: &str, args: Vec<Arg>) -> i64 {
    let sql = sql.to_string();
    db_run!(db, |p| {
        bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), args)
            .fetch_one(p)
            .await
            .unwrap()
    })
}

pub(crate) async fn customer(db: &Db, name: &str, owner: Option<UserId>) -> i64 {
    let now = crate::now();
    insert(
        db,
        "INSERT INTO customers (kind, name, owner_id, created_at, updated_at) VALUES ('company', $1, $2, $3, $3) RETURNING id",
        vec![Arg::Text(name.into()), Arg::OptI64(owner.map(|u| u.0)), Arg::Time(now)],
    )
    .await
}

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

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn stage_id(all: &[leadline_domain::pipeline::Stage], code: &str) -> i64 {
    all.iter().find(|s| s.code == code).unwrap().id
}

async fn new_opportunity(db: &Db, v: &Viewer, customer: i64, at: chrono::DateTime<Utc>) -> i64 {
    opps::create(
        db,
        v,
        &OpportunityInput {
            customer_id: Some(customer),
            title: Some("年度采购".into()),
            amount_fen: Some(123_456),
            expected_date: Some("2026-04-30".into()),
            ..Default::default()
        },
        at,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_move_writes_history_and_the_time_in_each_stage_follows_the_clock() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let rep = user(db, "rep", Role::Sales, None).await;
    let c = customer(db, "华为", Some(rep.user_id)).await;
    let all = stages::stages(db).await.unwrap();
    let id = new_opportunity(db, &rep, c, t0()).await;
    let o = opps::get(db, &rep, id).await.unwrap();
    assert_eq!(o.stage_id, stage_id(&all, "contact"));
    assert_eq!(o.amount_fen, 123_456);
    assert_eq!(o.expected_date.as_deref(), Some("2026-04-30"));
    let mv = |code: &str| MoveInput {
        stage_id: stage_id(&all, code),
        ..Default::default()
    };
    opps::move_to(db, &rep, id, &mv("needs"), t0() + Duration::days(2))
        .await
        .unwrap();
    opps::move_to(db, &rep, id, &mv("proposal"), t0() + Duration::days(3))
        .await
        .unwrap();
    // Moving back: both stays in 需求确认 count.
    opps::move_to(
        db,
        &rep,
        id,
        &mv("needs"),
        t0() + Duration::days(3) + Duration::hours(12),
    )
    .await
    .unwrap();
    let d = opps::detail(db, &rep, id, t0() + Duration::days(5))
        .await
        .unwrap();
    assert_eq!(d.history.len(), 4);
    assert!(d.history[..3].iter().all(|s| s.left_at.is_some()));
    assert_eq!(d.history[3].left_at, None);
    let spent: Vec<(String, i64)> = d
        .time_in_stage
        .iter()
        .map(|s| (s.stage_code.clone(), s.seconds / 3600))
        .collect();
    assert_eq!(
        spent,
        [
            ("contact".to_string(), 48),
            ("needs".to_string(), 24 + 36),
            ("proposal".to_string(), 12)
        ]
    );
    assert_eq!(
        d.opportunity.stage_entered_at,
        t0() + Duration::days(3) + Duration::hours(12)
    );

    // Lost needs a reason from the list: refused without one, nothing changes.
    let lost = stage_id(&all, "lost");
    let refused = opps::move_to(db, &rep, id, &mv("lost"), t0() + Duration::days(6)).await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(p)) if p[0].field == "lost_reason_id" && p[0].code == "required"),
        "{refused:?}"
    );
    let bogus = MoveInput {
        stage_id: lost,
        lost_reason_id: Some(9999),
        lost_note: None,
    };
    assert!(matches!(
        opps::move_to(db, &rep, id, &bogus, t0()).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        opps::detail(db, &rep, id, t0())
            .await
            .unwrap()
            .history
            .len(),
        4
    );
    let price = stages::lost_reasons(db)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.code == "price")
        .unwrap()
        .id;
    let with_reason = MoveInput {
        stage_id: lost,
        lost_reason_id: Some(price),
        lost_note: Some("嫌贵".into()),
    };
    opps::move_to(db, &rep, id, &with_reason, t0() + Duration::days(6))
        .await
        .unwrap();
    let o = opps::get(db, &rep, id).await.unwrap();
    assert_eq!(
        (o.lost_reason_id, o.lost_at, o.won_at),
        (Some(price), Some(t0() + Duration::days(6)), None)
    );
    // Won after all: won_at set, the loss forgotten.
    opps::move_to(db, &rep, id, &mv("won"), t0() + Duration::days(7))
        .await
        .unwrap();
    let o = opps::get(db, &rep, id).await.unwrap();
    assert_eq!(
        (o.won_at, o.lost_at, o.lost_reason_id),
        (Some(t0() + Duration::days(7)), None, None)
    );
}

#[tokio::test]
async fn the_board_follows_the_customer_visibility_rule() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    team(db, 1).await;
    team(db, 2).await;
    let rep = user(db, "rep", Role::Sales, Some(TeamId(1))).await;
    let other = user(db, "other", Role::Sales, Some(TeamId(2))).await;
    let finance = user(db, "money", Role::Finance, None).await;
    let c = customer(db, "腾讯", Some(rep.user_id)).await;
    let id = new_opportunity(db, &rep, c, t0()).await;
    assert_eq!(
        opps::list(db, &rep, &Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        opps::list(db, &other, &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        opps::get(db, &other, id).await,
        Err(StoreError::NotFound)
    ));
    let all = stages::stages(db).await.unwrap();
    let mv = MoveInput {
        stage_id: stage_id(&all, "needs"),
        ..Default::default()
    };
    assert!(matches!(
        opps::move_to(db, &other, id, &mv, t0()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        opps::create(
            db,
            &other,
            &OpportunityInput {
                customer_id: Some(c),
                title: Some("抢单".into()),
                ..Default::default()
            },
            t0()
        )
        .await,
        Err(StoreError::NotFound)
    ));
    // Finance reads every customer's opportunities but moves none.
    assert_eq!(opps::get(db, &finance, id).await.unwrap().id, id);
    assert!(matches!(
        opps::move_to(db, &finance, id, &mv, t0()).await,
        Err(StoreError::Forbidden)
    ));
    assert_eq!(
        opps::get(db, &rep, id).await.unwrap().stage_id,
        stage_id(&all, "contact")
    );
}

async fn confirmed_order(db: &Db, customer: i64, fen: i64, at: chrono::DateTime<Utc>) -> i64 {
    insert(
        db,
        "INSERT INTO orders (customer_id, status, total_fen, confirmed_at, created_at, updated_at) \
         VALUES ($1, 'confirmed', $2, $3, $3, $3) RETURNING id",
        vec![Arg::I64(customer), Arg::I64(fen), Arg::Time(at)],
    )
    .await
}

async fn grade_of(db: &Db, customer: i64) -> (Option<String>, Option<chrono::DateTime<Utc>>) {
    db_run!(db, |p| {
        sqlx::query_as("SELECT grade, contact_due_at FROM customers WHERE id = $1")
            .bind(customer)
            .fetch_one(p)
            .await
            .unwrap()
    })
}

#[tokio::test]
async fn monthly_grades_follow_the_thresholds_to_the_fen_and_an_override_is_kept() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    team(db, 1).await;
    let rep = user(db, "rep", Role::Sales, Some(TeamId(1))).await;
    let agent = user(db, "agent", Role::Agent, Some(TeamId(1))).await;
    let mut boss = user(db, "boss", Role::Supervisor, None).await;
    // The supervisor of the reps' team.
    boss.supervised_teams = vec![TeamId(1)];
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let in_window = now - Duration::days(30);
    let exactly_a = customer(db, "A整", Some(rep.user_id)).await;
    confirmed_order(db, exactly_a, 10_000_000, in_window).await;
    let returned = customer(db, "退一分", Some(rep.user_id)).await;
    let order = confirmed_order(db, returned, 10_000_000, in_window).await;
    insert(
        db,
        "INSERT INTO returns (order_id, customer_id, amount_fen, reason, returned_at, created_at) \
         VALUES ($1, $2, 1, '破损', $3, $3) RETURNING id",
        vec![Arg::I64(order), Arg::I64(returned), Arg::Time(in_window)],
    )
    .await;
    let exactly_b = customer(db, "B整", Some(rep.user_id)).await;
    confirmed_order(db, exactly_b, 2_000_000, in_window).await;
    let old_sales = customer(db, "旧单", Some(rep.user_id)).await;
    // Four months ago: outside the default three-month window.
    confirmed_order(db, old_sales, 50_000_000, now - Duration::days(120)).await;
    let kept = customer(db, "手动", Some(rep.user_id)).await;
    override_grade(db, &boss, kept, "A", "战略客户", now - Duration::days(1))
        .await
        .unwrap();

    let report = run_grading(db, now).await.unwrap();
    assert_eq!(report.graded, 4);
    assert_eq!(report.changed, 4);
    assert_eq!(
        grade_of(db, exactly_a).await,
        (Some("A".into()), Some(now + Duration::days(7)))
    );
    assert_eq!(
        grade_of(db, returned).await,
        (Some("B".into()), Some(now + Duration::days(14)))
    );
    assert_eq!(grade_of(db, exactly_b).await.0.as_deref(), Some("B"));
    assert_eq!(
        grade_of(db, old_sales).await,
        (Some("C".into()), Some(now + Duration::days(30)))
    );
    assert_eq!(
        grade_of(db, kept).await.0.as_deref(),
        Some("A"),
        "the override stays"
    );
    // Run again (a second server, a retried job): nothing changes, no new events.
    assert_eq!(run_grading(db, now).await.unwrap().changed, 0);
    let events: i64 = db_run!(db, |p| {
        sqlx::query_scalar("SELECT COUNT(*) FROM customer_events WHERE action = 'grade'")
            .fetch_one(p)
            .await
            .unwrap()
    });
    assert_eq!(events, 5, "four computed grades and one override");

    // A longer window counts the old order.
    crate::workday::config::set_int_setting(db, boss.user_id, grades::WINDOW_KEY, 6)
        .await
        .unwrap();
    run_grading(db, now).await.unwrap();
    assert_eq!(grade_of(db, old_sales).await.0.as_deref(), Some("A"));

    // Overrides: a supervisor with a reason; an agent never; a reason is required.
    assert!(matches!(
        override_grade(db, &boss, exactly_b, "C", "  ", now).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        override_grade(db, &boss, exactly_b, "Z", "x", now).await,
        Err(StoreError::Invalid(_))
    ));
    let mine = customer(db, "agent的", Some(agent.user_id)).await;
    assert!(matches!(
        override_grade(db, &agent, mine, "A", "我觉得", now).await,
        Err(StoreError::Forbidden)
    ));
    assert!(matches!(
        override_grade(db, &agent, exactly_b, "A", "我觉得", now).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn the_due_list_shows_who_is_late_per_owner_and_a_visit_clears_it() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    team(db, 1).await;
    let a = user(db, "rep_a", Role::Sales, Some(TeamId(1))).await;
    let b = user(db, "rep_b", Role::Sales, Some(TeamId(1))).await;
    let admin = user(db, "admin", Role::Admin, None).await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let ca = customer(db, "甲", Some(a.user_id)).await;
    let cb = customer(db, "乙", Some(b.user_id)).await;
    let fresh = customer(db, "丙", Some(a.user_id)).await;
    run_grading(db, now - Duration::days(31)).await.unwrap();
    // 丙 was visited since: not late.
    visits::record(
        db,
        &a,
        &VisitInput {
            customer_id: Some(fresh),
            result: "met".into(),
            ..Default::default()
        },
        now - Duration::days(3),
    )
    .await
    .unwrap();
    let names = |v: Vec<grades::Due>| -> Vec<(String, i64)> {
        v.into_iter()
            .map(|d| (d.customer_name, d.days_late))
            .collect()
    };
    assert_eq!(
        names(due_for_contact(db, &a, None, now).await.unwrap()),
        [("甲".to_string(), 1)]
    );
    assert_eq!(
        names(due_for_contact(db, &admin, None, now).await.unwrap()),
        [("甲".to_string(), 1), ("乙".to_string(), 1)]
    );
    assert_eq!(
        names(
            due_for_contact(db, &admin, Some(b.user_id), now)
                .await
                .unwrap()
        ),
        [("乙".to_string(), 1)]
    );
    // Visiting 甲 with the market information moves its due date by C's 30 days.
    let v = visits::record(
        db,
        &a,
        &VisitInput {
            customer_id: Some(ca),
            result: "follow_up".into(),
            quality_view: Some("质量稳定".into()),
            price_view: Some("偏贵".into()),
            other_brands: Some("某品牌".into()),
            competitor_moves: Some("对手降价5%".into()),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    assert!(due_for_contact(db, &a, None, now).await.unwrap().is_empty());
    assert_eq!(grade_of(db, ca).await.1, Some(now + Duration::days(30)));
    let seen = visits::of_customer(db, &a, ca).await.unwrap();
    assert_eq!(seen[0].id, v);
    assert_eq!(seen[0].competitor_moves.as_deref(), Some("对手降价5%"));
    // b may not record a visit on a's customer.
    assert!(matches!(
        visits::record(
            db,
            &b,
            &VisitInput {
                customer_id: Some(ca),
                result: "met".into(),
                ..Default::default()
            },
            now
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert!(visits::of_customer(db, &b, cb).await.is_ok());
}

#[tokio::test]
async fn a_days_visits_keep_their_route_order_and_complete_in_place() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let rep = user(db, "rep", Role::Sales, None).await;
    let other = user(db, "other", Role::Sales, None).await;
    let day = NaiveDate::from_ymd_opt(2026, 6, 2).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 0, 30, 0).unwrap();
    let mut planned = Vec::new();
    for name in ["一号", "二号", "三号"] {
        let c = customer(db, name, Some(rep.user_id)).await;
        planned.push(visits::plan(db, &rep, c, day, now).await.unwrap());
    }
    let order = |stops: Vec<visits::Stop>| -> Vec<String> {
        stops.into_iter().map(|s| s.customer_name).collect()
    };
    assert_eq!(
        order(visits::day_plan(db, &rep, rep.user_id, day).await.unwrap()),
        ["一号", "二号", "三号"]
    );
    visits::reorder(db, &rep, day, &[planned[2], planned[0], planned[1]], now)
        .await
        .unwrap();
    assert_eq!(
        order(visits::day_plan(db, &rep, rep.user_id, day).await.unwrap()),
        ["三号", "一号", "二号"]
    );
    visits::step(db, &rep, day, planned[1], -1, now)
        .await
        .unwrap();
    assert_eq!(
        order(visits::day_plan(db, &rep, rep.user_id, day).await.unwrap()),
        ["三号", "二号", "一号"]
    );
    // A reorder that leaves one out is refused.
    assert!(matches!(
        visits::reorder(db, &rep, day, &[planned[0]], now).await,
        Err(StoreError::Invalid(_))
    ));
    // Another rep may not read this plan.
    assert!(matches!(
        visits::day_plan(db, &other, rep.user_id, day).await,
        Err(StoreError::Forbidden)
    ));
    // Done in place: still on the day's plan, now done.
    visits::record(
        db,
        &rep,
        &VisitInput {
            visit_id: Some(planned[0]),
            result: "order".into(),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    let stops = visits::day_plan(db, &rep, rep.user_id, day).await.unwrap();
    assert_eq!(stops.len(), 3);
    assert_eq!(
        stops
            .iter()
            .find(|s| s.visit_id == planned[0])
            .unwrap()
            .status,
        "done"
    );
}

#[tokio::test]
async fn admins_configure_stages_and_lost_reasons() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "admin", Role::Admin, None).await;
    let rep = user(db, "rep", Role::Sales, None).await;
    let now = crate::now();
    let input = EntryInput {
        code: Some("trial".into()),
        label_zh: Some("试用".into()),
        label_en: Some("Trial".into()),
        ..Default::default()
    };
    assert!(matches!(
        stages::add(db, &rep, List::Stages, &input, now).await,
        Err(StoreError::Forbidden)
    ));
    let trial = stages::add(db, &admin, List::Stages, &input, now)
        .await
        .unwrap();
    assert!(matches!(
        stages::add(db, &admin, List::Stages, &input, now).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut ids: Vec<i64> = stages::stages(db)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    ids.retain(|i| *i != trial);
    ids.insert(1, trial);
    stages::reorder(db, &admin, List::Stages, &ids, now)
        .await
        .unwrap();
    let all = stages::stages(db).await.unwrap();
    assert_eq!(all[1].code, "trial");
    stages::update(
        db,
        &admin,
        List::Stages,
        trial,
        &EntryInput {
            label_zh: Some("免费试用".into()),
            active: Some(false),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    let s = stages::stages(db)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == trial)
        .unwrap();
    assert_eq!((s.label_zh.as_str(), s.active), ("免费试用", false));
    // The only won stage cannot be retired.
    let won = stage_id(&all, "won");
    assert!(matches!(
        stages::update(
            db,
            &admin,
            List::Stages,
            won,
            &EntryInput {
                active: Some(false),
                ..Default::default()
            },
            now
        )
        .await,
        Err(StoreError::Conflict("last_stage"))
    ));
    // A retired stage takes no card.
    let c = customer(db, "客户", Some(rep.user_id)).await;
    let o = new_opportunity(db, &rep, c, now).await;
    assert!(matches!(
        opps::move_to(
            db,
            &rep,
            o,
            &MoveInput {
                stage_id: trial,
                ..Default::default()
            },
            now
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    let r = stages::add(
        db,
        &admin,
        List::LostReasons,
        &EntryInput {
            code: Some("timing".into()),
            label_zh: Some("时机不对".into()),
            label_en: Some("Bad timing".into()),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    assert!(
        stages::lost_reasons(db)
            .await
            .unwrap()
            .iter()
            .any(|l| l.id == r && l.active)
    );
}

#[tokio::test]
async fn a_connected_call_on_a_linked_lead_is_a_contact_with_the_customer() {
    use crate::leads::{self, CreateOptions};
    use crate::workday::{CallInput, record_call};
    use leadline_domain::lead::LeadDraft;

    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let a = user(db, "rep_a", Role::Sales, None).await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap();
    let ca = customer(db, "甲", Some(a.user_id)).await;
    let lead = leads::create(
        db,
        &a,
        &LeadDraft {
            name: "甲的采购".into(),
            phones: vec!["13800000001".into()],
            ..LeadDraft::default()
        },
        &CreateOptions::default(),
    )
    .await
    .unwrap()
    .id;
    crate::db::sql::execute(
        db,
        "UPDATE leads SET customer_id = $2 WHERE id = $1",
        vec![Arg::I64(lead.0), Arg::I64(ca)],
    )
    .await
    .unwrap();
    run_grading(db, now - Duration::days(31)).await.unwrap();
    let rep = &a;
    let due = |at| async move {
        due_for_contact(db, rep, None, at)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.customer_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(due(now).await, [ca]);
    let call = |disposition: &str| CallInput {
        lead_id: lead,
        started_at: None,
        duration_s: 90,
        disposition: disposition.into(),
        intent: None,
        notes: String::new(),
        next_revisit_at: None,
        script_id: None,
        request_id: None,
    };
    // A phone that rang out is no contact: still due.
    record_call(db, &a, call("no_answer"), now).await.unwrap();
    assert_eq!(due(now).await, [ca]);
    // A conversation is: the customer's last contact is the call, the next due by C's 30 days.
    record_call(db, &a, call("connected"), now).await.unwrap();
    assert!(due(now).await.is_empty());
    assert_eq!(grade_of(db, ca).await.1, Some(now + Duration::days(30)));
    assert_eq!(due(now + Duration::days(31)).await, [ca]);
}
