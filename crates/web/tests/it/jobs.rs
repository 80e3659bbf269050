//! Reminder jobs: each due revisit notifies its agent exactly once, with two app servers on one
//! database, across a restart, after a lost claim, and live over server-sent events.

use std::time::Duration;

use chrono::TimeDelta;
use leadline_domain::{LeadId, UserId};
use leadline_store::db::test_db::TestDb;
use leadline_store::jobs::{self, REVISIT_REMINDER};
use leadline_store::workday::notifications;
use leadline_store::{Db, now};
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile, next_sse, seed_org, start_server};

/// A lead of `agent` with a revisit due `ago` in the past, and its reminder job queued.
async fn due_revisit(api: &Api, db: &Db, agent: UserId, n: u32, ago: TimeDelta) -> (LeadId, i64) {
    let lead = api
        .create_lead(json!({"name": format!("回访客户{n}"), "phones": [mobile(7000 + n)]}))
        .await;
    let lead_id = LeadId(lead["id"].as_i64().unwrap());
    (lead_id, queue_reminder(db, lead_id, agent, n, ago).await)
}

/// Sets the lead's revisit `ago` in the past and queues its reminder job, as `record_call` does.
async fn queue_reminder(db: &Db, lead_id: LeadId, agent: UserId, n: u32, ago: TimeDelta) -> i64 {
    let at = now() - ago;
    leadline_store::db_run!(db, |pool| sqlx::query(
        "UPDATE leads SET next_revisit_at = $1, revisit_agent_id = $2 WHERE id = $3"
    )
    .bind(at)
    .bind(agent)
    .bind(lead_id)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    jobs::enqueue(
        db,
        REVISIT_REMINDER,
        at,
        &json!({"lead_id": lead_id, "agent_id": agent, "call_id": null}),
        Some(&format!("revisit:{}:test{n}", lead_id.0)),
    )
    .await
    .unwrap()
    .expect("a new job")
}

/// Waits (bounded, so a bug fails instead of hanging) until every job is done.
async fn until_done(db: &Db, ids: &[i64]) {
    for _ in 0..300 {
        let mut all = true;
        for id in ids {
            if jobs::status(db, *id).await.unwrap().as_deref() != Some("done") {
                all = false;
            }
        }
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("jobs {ids:?} were not all run");
}

async fn notifications_of(db: &Db, user: UserId) -> Vec<notifications::Notification> {
    notifications::after(db, user, 0).await.unwrap()
}

#[tokio::test]
async fn each_reminder_is_delivered_once_with_two_servers_on_one_database() {
    let app = TestApp::spawn().await;
    let second = start_server(&app.db).await;
    let agent = app.org.agent_a1;
    let api = app.api("agent_a1").await;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(
            due_revisit(&api, &app.db, agent, n, TimeDelta::minutes(5))
                .await
                .1,
        );
    }
    until_done(&app.db, &ids).await;
    for id in &ids {
        assert_eq!(
            notifications::count_for_job(&app.db, *id).await.unwrap(),
            1,
            "job {id} notified once"
        );
    }
    assert_eq!(notifications_of(&app.db, agent).await.len(), 12);
    // Running the workers again finds nothing more to do.
    let hub = leadline_engine::jobs_runner::Hub::new();
    assert_eq!(
        leadline_engine::jobs_runner::run_due(&app.db, &hub)
            .await
            .unwrap(),
        0
    );
    assert_eq!(notifications_of(&app.db, agent).await.len(), 12);
    second.stop().await;
}

#[tokio::test]
async fn two_workers_racing_over_the_same_jobs_deliver_each_once() {
    let test_db = TestDb::fresh().await.unwrap();
    let db = test_db.db.clone();
    let org = seed_org(&db).await;
    let server = start_server(&db).await;
    let api = server.api("agent_a1").await;
    let mut leads = Vec::new();
    for n in 0..5 {
        let lead = api
            .create_lead(json!({"name": format!("并发客户{n}"), "phones": [mobile(7200 + n)]}))
            .await;
        leads.push(LeadId(lead["id"].as_i64().unwrap()));
    }
    // The server is stopped so that only the racing workers below run the jobs.
    server.stop().await;
    let mut ids = Vec::new();
    for (n, lead) in leads.iter().enumerate() {
        ids.push(queue_reminder(&db, *lead, org.agent_a1, n as u32, TimeDelta::zero()).await);
    }
    let (a, b) = (
        leadline_engine::jobs_runner::Hub::new(),
        leadline_engine::jobs_runner::Hub::new(),
    );
    let mut runs = Vec::new();
    for _ in 0..4 {
        let (da, db2, ha, hb) = (db.clone(), db.clone(), a.clone(), b.clone());
        runs.push(tokio::spawn(async move {
            leadline_engine::jobs_runner::run_due(&da, &ha).await
        }));
        runs.push(tokio::spawn(async move {
            leadline_engine::jobs_runner::run_due(&db2, &hb).await
        }));
    }
    for r in runs {
        r.await.unwrap().unwrap();
    }
    for id in &ids {
        assert_eq!(
            notifications::count_for_job(&db, *id).await.unwrap(),
            1,
            "job {id} notified once"
        );
    }
}

#[tokio::test]
async fn a_pending_reminder_is_delivered_by_the_next_server_after_a_restart() {
    let test_db = TestDb::fresh().await.unwrap();
    let db = test_db.db.clone();
    let org = seed_org(&db).await;
    let first = start_server(&db).await;
    let api = first.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "重启后客户", "phones": [mobile(7301)]}))
        .await;
    let lead = LeadId(lead["id"].as_i64().unwrap());
    first.stop().await;
    // The server is down; the revisit comes due and its job waits in the table.
    let job = queue_reminder(&db, lead, org.agent_a1, 1, TimeDelta::minutes(1)).await;
    assert_eq!(
        jobs::status(&db, job).await.unwrap().as_deref(),
        Some("pending")
    );
    assert!(notifications_of(&db, org.agent_a1).await.is_empty());
    let second = start_server(&db).await;
    until_done(&db, &[job]).await;
    let got = notifications_of(&db, org.agent_a1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].lead_id, Some(lead));
    assert_eq!(got[0].kind, "revisit_due");
    second.stop().await;
}

#[tokio::test]
async fn a_claim_lost_with_its_server_is_taken_back_and_still_notifies_once() {
    let test_db = TestDb::fresh().await.unwrap();
    let db = test_db.db.clone();
    let org = seed_org(&db).await;
    let server = start_server(&db).await;
    let api = server.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "丢失认领客户", "phones": [mobile(7302)]}))
        .await;
    server.stop().await;
    let lead = LeadId(lead["id"].as_i64().unwrap());
    let job = queue_reminder(&db, lead, org.agent_a1, 2, TimeDelta::minutes(30)).await;
    // A server claimed it long ago and died before finishing.
    let long_ago = now() - jobs::STALE_AFTER - TimeDelta::minutes(1);
    let claimed = jobs::claim(&db, REVISIT_REMINDER, "dead-server", long_ago, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let hub = leadline_engine::jobs_runner::Hub::new();
    assert_eq!(
        leadline_engine::jobs_runner::run_due(&db, &hub)
            .await
            .unwrap(),
        1,
        "the stale claim is taken back"
    );
    assert_eq!(
        jobs::status(&db, job).await.unwrap().as_deref(),
        Some("done")
    );
    assert_eq!(notifications::count_for_job(&db, job).await.unwrap(), 1);
    // The dead server cannot complete it any more.
    assert!(
        !jobs::complete(&db, job, "dead-server", now())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_reminder_made_obsolete_by_a_later_call_notifies_nobody() {
    let app = TestApp::spawn().await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "已回访客户", "phones": [mobile(7100)]}))
        .await;
    let lead_id = lead["id"].as_i64().unwrap();
    leadline_store::workday::calls::insert_many(
        &app.db,
        &[leadline_store::workday::calls::NewCall {
            lead_id: LeadId(lead_id),
            agent_id: app.org.agent_a1,
            started_at: now(),
            duration_s: 30,
            disposition: "connected".into(),
            intent: None,
            notes: String::new(),
            next_revisit_at: None,
            script_id: None,
        }],
    )
    .await
    .unwrap();
    let job = jobs::enqueue(
        &app.db,
        REVISIT_REMINDER,
        now(),
        &json!({"lead_id": lead_id, "agent_id": app.org.agent_a1, "call_id": 0}),
        None,
    )
    .await
    .unwrap()
    .unwrap();
    until_done(&app.db, &[job]).await;
    assert_eq!(notifications::count_for_job(&app.db, job).await.unwrap(), 0);
}

/// Reads server-sent events until one named `name` arrives; returns its data.
async fn next_event(res: &mut reqwest::Response, buf: &mut String, name: &str) -> Value {
    serde_json::from_str(&next_sse(res, buf, name, Duration::from_secs(30)).await).unwrap()
}

#[tokio::test]
async fn the_connected_agent_gets_the_reminder_over_server_sent_events_on_either_server() {
    let app = TestApp::spawn().await;
    let second = start_server(&app.db).await;
    let api = app.api("agent_a1").await;
    // The agent's screen is connected to the second server.
    let on_second = second.api("agent_a1").await;
    let mut res = on_second
        .http
        .get(format!("{}/api/v1/agent/events", second.base))
        .bearer_auth(on_second.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buf = String::new();
    let ready = next_event(&mut res, &mut buf, "ready").await;
    assert_eq!(ready["done"], 0);
    let (lead, _) = due_revisit(&api, &app.db, app.org.agent_a1, 3, TimeDelta::zero()).await;
    let reminder = next_event(&mut res, &mut buf, "reminder").await;
    assert_eq!(reminder["lead_id"], lead.0);
    assert_eq!(reminder["lead_name"], "回访客户3");
    assert_eq!(reminder["kind"], "revisit_due");
    // Another agent's stream hears nothing of it.
    let other = app.api("agent_a2").await;
    let (_, body) = other.get_json("/api/v1/agent/today").await;
    assert!(body["revisits"].as_array().unwrap().is_empty());
    drop(res);
    second.stop().await;
}

#[tokio::test]
async fn events_need_a_signed_in_user() {
    let app = TestApp::spawn().await;
    let res = app.anonymous().get("/api/v1/agent/events").await;
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_recorded_call_is_announced_on_the_agents_event_stream_with_the_new_counters() {
    let app = TestApp::spawn().await;
    crate::workspace::open_all_hours(&app).await;
    let api = app.api("agent_a1").await;
    let lead = api
        .create_lead(json!({"name": "通话客户", "phones": [mobile(7400)]}))
        .await;
    let mut res = api
        .http
        .get(format!("{}/api/v1/agent/events", app.base))
        .bearer_auth(api.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let ready = next_event(&mut res, &mut buf, "ready").await;
    let target = ready["target"].as_i64().unwrap();
    let recorded = api
        .post(
            &format!("/api/v1/leads/{}/calls", lead["id"]),
            json!({"disposition": "connected", "intent": "interested", "duration_s": 40}),
        )
        .await;
    assert_eq!(recorded.status(), reqwest::StatusCode::CREATED);
    let event = next_event(&mut res, &mut buf, "call_recorded").await;
    assert_eq!(event["done"], 1);
    assert_eq!(event["remaining"], target - 1);
}

/// The server's worker indexes call notes for search without anybody searching (on SQLite,
/// where notes are indexed after their calls; on PostgreSQL they were indexed with the call).
#[tokio::test]
async fn the_worker_indexes_new_call_notes() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "郑十", "phone": mobile(40)}))
        .await;
    let call = |notes: &str| leadline_store::workday::calls::NewCall {
        lead_id: LeadId(lead["id"].as_i64().unwrap()),
        agent_id: app.org.agent_a1,
        started_at: now(),
        duration_s: 30,
        disposition: "connected".into(),
        intent: None,
        notes: notes.into(),
        next_revisit_at: None,
        script_id: None,
    };
    leadline_store::workday::calls::insert_many(
        &app.db,
        &[call("客户想要样品"), call(""), call("下周回访")],
    )
    .await
    .unwrap();
    let notes = || async {
        leadline_store::db_run!(&app.db, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM search_docs WHERE kind = 'call_note'"
        )
        .fetch_one(pool)
        .await
        .unwrap())
    };
    for _ in 0..100 {
        if notes().await == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the notes were not indexed: {} of 2", notes().await);
}

/// A job kind registered here: its job keeps its claim renewed until a renewal finds it lost,
/// and says so.
struct HoldsItsClaim {
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl leadline_engine::jobs_runner::JobHandler for HoldsItsClaim {
    const KIND: &'static str = "test_holds_its_claim";
    /// Renewed every second.
    const LEASE: TimeDelta = TimeDelta::seconds(5);
    type Payload = Value;

    async fn run(
        &self,
        claim: leadline_engine::jobs_runner::Claim,
        _: Value,
    ) -> Result<(), leadline_engine::jobs_runner::JobError> {
        let kept = claim.keep();
        for _ in 0..100 {
            if kept.lost().load(std::sync::atomic::Ordering::Relaxed) {
                self.lost.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(leadline_engine::jobs_runner::JobError::ClaimLost);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

/// A new kind is one handler registered with the worker. A long job renews its claim; when
/// another server took the job over (its clock past the lease), the first learns it at its
/// next renewal and leaves the job to the other, which alone may complete it.
#[tokio::test]
async fn a_job_taken_over_by_another_server_learns_it_at_its_next_renewal() {
    use leadline_engine::jobs_runner::{Hub, JobHandler, Registry, Worker};
    let test_db = TestDb::fresh().await.unwrap();
    let db = test_db.db.clone();
    let job = jobs::enqueue(&db, HoldsItsClaim::KIND, now(), &json!({}), None)
        .await
        .unwrap()
        .unwrap();
    let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let registry = Registry::default().with(HoldsItsClaim { lost: lost.clone() });
    let worker = Worker::new(db.clone(), Hub::new(), registry);
    let running = tokio::spawn(async move { worker.run_due(now()).await });
    while jobs::status(&db, job).await.unwrap().as_deref() != Some("running") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let later = now() + HoldsItsClaim::LEASE + TimeDelta::seconds(1);
    let taken = jobs::claim_leased(
        &db,
        HoldsItsClaim::KIND,
        HoldsItsClaim::LEASE,
        "other",
        later,
        5,
    )
    .await
    .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(running.await.unwrap().unwrap(), 1);
    assert!(
        lost.load(std::sync::atomic::Ordering::Relaxed),
        "the claim was found lost"
    );
    assert_eq!(
        jobs::status(&db, job).await.unwrap().as_deref(),
        Some("running")
    );
    assert!(jobs::complete(&db, job, "other", now()).await.unwrap());
}
