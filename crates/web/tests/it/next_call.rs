//! Next call (issue 4): due revisits first (oldest first), then today's plan, then fresh leads by
//! priority; leads outside their window, on the do-not-call list, over the attempt limit,
//! reserved by another agent, invisible or deleted are skipped; reservations expire; and 100
//! agents at once never hold the same lead, lose no call, and count exactly what they recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use leadline_domain::calling_hours::{DEFAULT_TZ, Window};
use leadline_domain::{IntentLevel, LeadId, Role, UserId, Viewer};
use leadline_store::workday::{self, CallInput, config};
use leadline_store::{Db, auth::users, db_run};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calls::{close_all, lead, open_all_day, pool_lead, sql};
use crate::helpers::{Api, TestApp, api_client, mobile, post, send};

async fn next(api: &Api) -> Option<Value> {
    let res = api.post("/api/v1/agent/next-call", json!({})).await;
    match res.status() {
        StatusCode::NO_CONTENT => None,
        StatusCode::OK => Some(res.json().await.unwrap()),
        other => panic!("next-call answered {other}"),
    }
}

async fn next_id(api: &Api) -> Option<i64> {
    next(api).await.map(|v| v["lead"]["id"].as_i64().unwrap())
}

/// Closes a served lead so the next press moves on.
async fn close(api: &Api, id: i64) {
    let (status, body) = post(
        api,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "wrong_number"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn set_revisit(db: &Db, lead: LeadId, agent: UserId, minutes_ago: i64) {
    let at = leadline_store::now() - Duration::minutes(minutes_ago);
    db_run!(db, |pool| {
        sqlx::query(
        "UPDATE leads SET status = 'call_back', attempts = 1, next_revisit_at = $2, revisit_agent_id = $3 WHERE id = $1"
    )
    .bind(lead)
    .bind(at)
    .bind(agent)
    .execute(pool)
    .await
    .unwrap().rows_affected()
    });
}

async fn plan(db: &Db, agent: UserId, lead: LeadId, position: i64) {
    let today = leadline_domain::calling_hours::local_day(Utc::now(), DEFAULT_TZ);
    db_run!(db, |pool| {
        sqlx::query(
        "INSERT INTO plan_items (agent_id, plan_date, lead_id, position, source, created_at) VALUES ($1, $2, $3, $4, 'picked', $5)"
    )
    .bind(agent)
    .bind(&today)
    .bind(lead)
    .bind(position)
    .bind(leadline_store::now())
    .execute(pool)
    .await
    .unwrap().rows_affected()
    });
    sql(
        db,
        "UPDATE leads SET status = 'contacted' WHERE id = $1 AND $2 = $2",
        lead,
        0,
    )
    .await;
}

#[tokio::test]
async fn revisits_oldest_first_then_the_plan_then_fresh_leads_by_priority() {
    let app = TestApp::spawn().await;
    open_all_day(&app.api("admin").await).await;
    let agent = app.api("agent_a1").await;
    let me = app.org.agent_a1;
    let fresh_low = lead(&agent, "低优先", 1).await;
    let fresh_high = lead(&agent, "高优先", 2).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = $2 WHERE id = $1",
        fresh_high,
        5,
    )
    .await;
    let planned_2 = lead(&agent, "计划二", 3).await;
    let planned_1 = lead(&agent, "计划一", 4).await;
    plan(&app.db, me, planned_2, 2).await;
    plan(&app.db, me, planned_1, 1).await;
    let due_recent = lead(&agent, "刚到期", 5).await;
    let due_old = lead(&agent, "早到期", 6).await;
    set_revisit(&app.db, due_recent, me, 5).await;
    set_revisit(&app.db, due_old, me, 90).await;
    let not_due = lead(&agent, "未到期", 7).await;
    set_revisit(&app.db, not_due, me, -60).await;

    let mut order = Vec::new();
    let mut tiers = Vec::new();
    while let Some(v) = next(&agent).await {
        let id = v["lead"]["id"].as_i64().unwrap();
        order.push(id);
        tiers.push(v["tier"].as_str().unwrap().to_string());
        assert!(v["reserved_until"].is_string());
        close(&agent, id).await;
    }
    assert_eq!(
        order,
        vec![
            due_old.0,
            due_recent.0,
            planned_1.0,
            planned_2.0,
            fresh_high.0,
            fresh_low.0
        ],
        "a revisit not yet due waits"
    );
    assert_eq!(
        tiers,
        ["revisit", "revisit", "plan", "plan", "fresh", "fresh"]
    );
    // Planned leads are done once called.
    let open_items: i64 = db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM plan_items WHERE done_at IS NULL"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(open_items, 0);
}

/// Leads whose mark (`leads.dnc`, which lets the picks leave listed leads out of their index)
/// disagrees with the do-not-call list itself: must stay empty through every change.
async fn wrong_marks(db: &Db) -> Vec<(LeadId, bool)> {
    db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT l.id, l.dnc FROM leads l WHERE l.dnc <> EXISTS \
         (SELECT 1 FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = l.id) ORDER BY l.id"
    )
    .fetch_all(pool)
    .await
    .unwrap()
    })
}

async fn marked(db: &Db, lead: LeadId) -> bool {
    db_run!(db, |pool| sqlx::query_scalar(
        "SELECT dnc FROM leads WHERE id = $1"
    )
    .bind(lead)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// Serves `agent` its next lead and gives it back at once.
async fn served(app: &TestApp, api: &Api, agent: UserId) -> Option<LeadId> {
    let id = next_id(api).await.map(LeadId);
    workday::release(&app.db, agent, None).await.unwrap();
    id
}

#[tokio::test]
async fn the_do_not_call_mark_follows_the_list_and_the_leads_numbers() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let sup = app.api("sup_a").await;
    let a1 = app.api("agent_a1").await;
    let agent = app.org.agent_a1;
    open_all_day(&admin).await;
    let first = pool_lead(&a1, "第一", 31).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = $2 WHERE id = $1",
        first,
        9,
    )
    .await;
    let second = pool_lead(&a1, "第二", 32).await;
    assert!(wrong_marks(&app.db).await.is_empty());
    assert_eq!(served(&app, &a1, agent).await, Some(first));

    // Listing a number marks its lead, and the pick passes over it.
    let (status, body) = post(&sup, "/api/v1/dnc", json!({"numbers": [mobile(31)]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(marked(&app.db, first).await);
    assert!(!marked(&app.db, second).await);
    assert_eq!(served(&app, &a1, agent).await, Some(second));
    // Taking it off the list takes the mark away: the lead is served again.
    assert!(
        sup.delete(&format!("/api/v1/dnc/{}", mobile(31)))
            .await
            .status()
            .is_success()
    );
    assert!(!marked(&app.db, first).await);
    assert_eq!(served(&app, &a1, agent).await, Some(first));

    // A listed number added to a lead marks it; removed again, unmarks it.
    let (status, _) = post(&sup, "/api/v1/dnc", json!({"numbers": [mobile(33)]})).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/leads/{first}");
    let res = admin
        .patch(&path, json!({"phones": [mobile(31), mobile(33)]}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(marked(&app.db, first).await);
    assert_eq!(served(&app, &a1, agent).await, Some(second));
    let res = admin.patch(&path, json!({"phones": [mobile(31)]})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!marked(&app.db, first).await);
    assert!(wrong_marks(&app.db).await.is_empty());

    // An imported lead with a listed number comes in marked.
    let csv = format!(
        "姓名,手机\n导入的,{}\n没列入的,{}\n",
        mobile(33),
        mobile(34)
    );
    let job = crate::api_imports::import_done(
        &sup,
        "dnc.csv",
        crate::api_imports::bom_csv(&csv),
        &[("into", "pool")],
    )
    .await;
    assert_eq!(job["counts"]["imported"], 2, "{job}");
    let (imported, fresh): (LeadId, LeadId) = db_run!(&app.db, |pool| {
        sqlx::query_as(
        "SELECT (SELECT id FROM leads WHERE name = '导入的'), (SELECT id FROM leads WHERE name = '没列入的')"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert!(marked(&app.db, imported).await);
    assert!(!marked(&app.db, fresh).await);

    // A do-not-call request on the phone lists the number and marks the lead.
    let (status, body) = post(
        &a1,
        &format!("/api/v1/leads/{first}/calls"),
        json!({"disposition": "dnc_request"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(marked(&app.db, first).await);
    assert!(wrong_marks(&app.db).await.is_empty());

    // A number a second lead holds as a recorded collision (撞单) marks both leads when it is
    // listed, and leaves both when it comes off the list.
    let csv = format!("姓名,手机\n撞单的,{}\n", mobile(34));
    let job = crate::api_imports::import_done(
        &sup,
        "collision.csv",
        crate::api_imports::bom_csv(&csv),
        &[("into", "pool"), ("on_duplicate", "collision")],
    )
    .await;
    assert_eq!(job["counts"]["collisions"], 1, "{job}");
    let collided: LeadId = db_run!(&app.db, |pool| {
        sqlx::query_scalar("SELECT id FROM leads WHERE name = '撞单的'")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    let (status, _) = post(&sup, "/api/v1/dnc", json!({"numbers": [mobile(34)]})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(marked(&app.db, fresh).await && marked(&app.db, collided).await);
    assert!(
        sup.delete(&format!("/api/v1/dnc/{}", mobile(34)))
            .await
            .status()
            .is_success()
    );
    assert!(!marked(&app.db, fresh).await && !marked(&app.db, collided).await);
    assert!(wrong_marks(&app.db).await.is_empty());
}

#[tokio::test]
async fn skipped_leads_window_dnc_attempts_reserved_invisible_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let sup = app.api("sup_a").await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let b1 = app.api("agent_b1").await;
    // Windows open around the present hour in Shanghai only, so that a New York lead (12–13
    // hours behind) is outside its window now.
    let local = Utc::now().with_timezone(&DEFAULT_TZ);
    let hour = chrono::Timelike::hour(&local) as i64;
    let weekday = chrono::Datelike::weekday(&local).number_from_monday();
    let start = format!("{:02}:00", (hour - 1).max(0));
    let end = if hour + 2 >= 24 {
        "24:00".to_string()
    } else {
        format!("{:02}:00", hour + 2)
    };
    let (status, body) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/calling-hours",
        json!({"windows": [{"weekday": weekday, "start": start, "end": end}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let in_new_york = pool_lead(&a1, "纽约", 1).await;
    db_run!(&app.db, |pool| sqlx::query(
        "UPDATE leads SET timezone = 'America/New_York', priority = 9 WHERE id = $1"
    )
    .bind(in_new_york)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let listed = pool_lead(&a1, "勿扰", 2).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = $2 WHERE id = $1",
        listed,
        8,
    )
    .await;
    let (status, body) = post(
        &sup,
        "/api/v1/dnc",
        json!({"numbers": [mobile(2)], "reason": "投诉"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["added"], 1);
    let worn_out = pool_lead(&a1, "打满", 3).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = 7, attempts = $2 WHERE id = $1",
        worn_out,
        10,
    )
    .await;
    let theirs = lead(&b1, "别人的", 4).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = $2 WHERE id = $1",
        theirs,
        6,
    )
    .await;
    let deleted = pool_lead(&a1, "已删除", 5).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = $2 WHERE id = $1",
        deleted,
        5,
    )
    .await;
    let res = sup.delete(&format!("/api/v1/leads/{deleted}")).await;
    assert!(res.status().is_success());
    let first = pool_lead(&a1, "第一", 6).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = $2 WHERE id = $1",
        first,
        4,
    )
    .await;
    let second = pool_lead(&a1, "第二", 7).await;
    sql(
        &app.db,
        "UPDATE leads SET priority = $2 WHERE id = $1",
        second,
        3,
    )
    .await;

    // a2 takes the best callable lead; a1 gets the next one, not a2's.
    assert_eq!(next_id(&a2).await, Some(first.0));
    assert_eq!(next_id(&a1).await, Some(second.0));
    // Asking again while holding a lead returns the same lead (a double click takes one).
    assert_eq!(next_id(&a1).await, Some(second.0));
    // Nothing else is callable for a1 now.
    close(&a1, second.0).await;
    assert_eq!(next_id(&a1).await, None);
    // Once a2's reservation runs out, a1 gets the lead.
    db_run!(&app.db, |pool| sqlx::query(
        "UPDATE leads SET reserved_until = $2 WHERE id = $1"
    )
    .bind(first)
    .bind(Utc::now() - Duration::seconds(1))
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(next_id(&a1).await, Some(first.0));
    // b1 sees its own lead (b1 may see it; a1 never did).
    assert_eq!(next_id(&b1).await, Some(theirs.0));
    // Outside every window nothing is served at all.
    close_all(&admin).await;
    let res = a2.post("/api/v1/agent/release", json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(next_id(&a2).await, None);
}

#[tokio::test]
async fn release_gives_the_lead_back_and_the_reservation_time_is_configurable() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let (status, body) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/workday-settings",
        json!({"reserve_minutes": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = send(
        &admin,
        reqwest::Method::PUT,
        "/api/v1/workday-settings",
        json!({"reserve_minutes": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let a1 = app.api("agent_a1").await;
    let (status, _) = send(
        &a1,
        reqwest::Method::PUT,
        "/api/v1/workday-settings",
        json!({"reserve_minutes": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let a2 = app.api("agent_a2").await;
    let id = pool_lead(&a1, "共享", 1).await;
    let before = Utc::now();
    let v = next(&a1).await.unwrap();
    let until: chrono::DateTime<Utc> = v["reserved_until"].as_str().unwrap().parse().unwrap();
    assert!(
        until >= before + Duration::minutes(3) - Duration::seconds(1)
            && until <= Utc::now() + Duration::minutes(3)
    );
    assert_eq!(next_id(&a2).await, None, "reserved by a1");
    let res = a1
        .post("/api/v1/agent/release", json!({"lead_id": id.0}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["released"], 1);
    assert_eq!(next_id(&a2).await, Some(id.0));
}

/// Loads `n` fresh pool leads with a few multi-row inserts.
async fn bulk_pool_leads(db: &Db, n: usize) {
    let now = leadline_store::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, _)| format!("($1, 'new', $2, $2, {})", i % 7))
            .collect();
        let text = format!(
            "INSERT INTO leads (name, status, created_at, updated_at, priority) VALUES {}",
            values.join(", ")
        );
        db_run!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(text))
            .bind("并发线索")
            .bind(now)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected());
    }
}

#[tokio::test]
async fn a_hundred_agents_never_share_a_lead_and_every_call_is_counted() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    bulk_pool_leads(&app.db, 3000).await;
    let hash = users::hash_password(crate::helpers::PASSWORD);
    let mut agents = Vec::new();
    for i in 0..100 {
        let new = users::NewUser {
            username: format!("crowd{i:03}"),
            display_name: format!("坐席{i}"),
            role: Role::Agent,
            team_id: Some(app.org.team_a),
            password_hash: hash.clone(),
        };
        agents.push(users::create_user(&app.db, &new, None).await.unwrap().id);
    }
    let holding: Arc<Mutex<HashMap<i64, UserId>>> = Arc::default();
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let recorded = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(4);
    let dispositions = [
        "no_answer",
        "connected",
        "busy",
        "qualified",
        "not_interested",
        "call_back",
    ];
    let mut tasks = Vec::new();
    for (i, agent) in agents.iter().copied().enumerate() {
        let db = app.db.clone();
        let holding = holding.clone();
        let violations = violations.clone();
        let recorded = recorded.clone();
        // Every tenth agent goes through HTTP, the others through the store.
        let http = if i % 10 == 0 {
            Some(api_client(&app.base, &format!("crowd{i:03}")).await)
        } else {
            None
        };
        tasks.push(tokio::spawn(async move {
            let viewer = Viewer { user_id: agent, role: Role::Agent, supervised_teams: vec![], pools: vec![] };
            let mut n = 0usize;
            // Each agent calls at least once, then until the time is up.
            while n == 0 || tokio::time::Instant::now() < deadline {
                let served = match &http {
                    Some(api) => next_id(api).await,
                    None => workday::next_call(&db, &viewer, leadline_store::now()).await.unwrap().map(|s| s.lead.id.0),
                };
                let Some(id) = served else { break };
                {
                    let mut h = holding.lock().unwrap();
                    if let Some(other) = h.insert(id, agent)
                        && other != agent
                    {
                        violations.lock().unwrap().push(format!("lead {id} served to {agent} while {other} held it"));
                    }
                }
                // The lead stays reserved in the database until the call is recorded.
                holding.lock().unwrap().remove(&id);
                let disposition = dispositions[(n + i) % dispositions.len()];
                n += 1;
                let ok = match &http {
                    Some(api) => {
                        let (status, body) = post(api, &format!("/api/v1/leads/{id}/calls"), json!({"disposition": disposition, "duration_s": 30, "intent": "interested"})).await;
                        assert_eq!(status, StatusCode::CREATED, "{body}");
                        true
                    }
                    None => {
                        let input = CallInput {
                            lead_id: LeadId(id),
                            started_at: None,
                            duration_s: 30,
                            disposition: disposition.to_string(),
                            intent: Some(IntentLevel::Interested),
                            notes: String::new(),
                            next_revisit_at: None,
                            script_id: None,
                            request_id: None,
                        };
                        workday::record_call(&db, &viewer, input, leadline_store::now()).await.unwrap();
                        true
                    }
                };
                if ok {
                    recorded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        violations.lock().unwrap().is_empty(),
        "{:?}",
        violations.lock().unwrap()
    );
    let recorded = recorded.load(std::sync::atomic::Ordering::SeqCst);
    assert!(recorded >= 100, "every agent recorded a call ({recorded})");
    let (calls, distinct, stats_calls, stats_connected, connected, stats_talk): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = db_run!(&app.db, |pool| {
        sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM calls), (SELECT COUNT(DISTINCT lead_id) FROM calls), \
         (SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM call_stats), (SELECT CAST(COALESCE(SUM(connected), 0) AS BIGINT) FROM call_stats), \
         (SELECT COUNT(*) FROM calls c JOIN dispositions d ON d.code = c.disposition WHERE d.connected), \
         (SELECT CAST(COALESCE(SUM(talk_s), 0) AS BIGINT) FROM call_stats)"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert_eq!(calls, recorded, "no call lost, none doubled");
    assert_eq!(
        distinct, calls,
        "each fresh lead was called once: none was served twice"
    );
    assert_eq!(stats_calls, calls, "daily counters equal the records");
    assert_eq!(stats_connected, connected);
    assert_eq!(stats_talk, connected * 30);
    let reserved: i64 = db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM leads WHERE reserved_by IS NOT NULL"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(reserved, 0, "every served lead was released by its call");
}

#[tokio::test]
async fn store_windows_fall_back_to_the_default() {
    let app = TestApp::spawn().await;
    let team = app.org.team_a;
    let default = config::windows(&app.db, Some(team)).await.unwrap();
    assert_eq!(
        default,
        leadline_domain::calling_hours::default_windows(),
        "the seeded default"
    );
    let own = [Window {
        weekday: 6,
        start_minute: 600,
        end_minute: 660,
    }];
    config::set_windows(&app.db, app.org.admin, Some(team), &own)
        .await
        .unwrap();
    assert_eq!(config::windows(&app.db, Some(team)).await.unwrap(), own);
    assert_eq!(
        config::windows(&app.db, Some(app.org.team_b))
            .await
            .unwrap(),
        default,
        "other teams keep the default"
    );
    config::set_windows(&app.db, app.org.admin, Some(team), &[])
        .await
        .unwrap();
    assert_eq!(config::windows(&app.db, Some(team)).await.unwrap(), default);
}
