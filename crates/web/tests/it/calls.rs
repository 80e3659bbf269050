//! Call records (issue 4): recording sets the lead's status by disposition, counts attempts,
//! fills the next revisit from the rules (the agent's time wins), applies the last-attempt action,
//! lists do-not-call numbers, warns and records a dial outside calling hours, counts the agent's
//! day, queues the reminder, and records a double-submitted call once.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::LeadId;
use leadline_store::{Db, db_run};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile, post, send};

/// Calling windows open all day, every day (so that tests do not depend on the clock).
pub async fn open_all_day(admin: &Api) {
    let windows: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let (status, body) = send(
        admin,
        reqwest::Method::PUT,
        "/api/v1/calling-hours",
        json!({"windows": windows}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// No calling window at all: every dial is outside calling hours.
pub async fn close_all(admin: &Api) {
    let (status, body) = send(
        admin,
        reqwest::Method::PUT,
        "/api/v1/calling-hours",
        json!({"windows": []}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

pub async fn lead(api: &Api, name: &str, n: u32) -> LeadId {
    let v = api
        .create_lead(json!({"name": name, "phones": [mobile(n)]}))
        .await;
    LeadId(v["id"].as_i64().unwrap())
}

pub async fn pool_lead(api: &Api, name: &str, n: u32) -> LeadId {
    let v = api
        .create_lead(json!({"name": name, "phones": [mobile(n)], "pool": true}))
        .await;
    LeadId(v["id"].as_i64().unwrap())
}

pub async fn sql(db: &Db, text: &'static str, lead: LeadId, value: i64) {
    db_run!(db, |pool| sqlx::query(text)
        .bind(lead)
        .bind(value)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
}

pub async fn lead_row(
    db: &Db,
    lead: LeadId,
) -> (String, i64, Option<DateTime<Utc>>, Option<i64>, Option<i64>) {
    db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT status, attempts, next_revisit_at, revisit_agent_id, owner_id FROM leads WHERE id = $1"
    )
    .bind(lead)
    .fetch_one(pool)
    .await
    .unwrap()
    })
}

async fn count(db: &Db, text: &'static str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar(text)
        .fetch_one(pool)
        .await
        .unwrap())
}

fn ts(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_recorded_call_sets_status_attempts_revisit_counters_reminder_and_history() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let agent = app.api("agent_a1").await;
    let id = lead(&agent, "陈静", 1).await;
    let before = Utc::now();
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "connected", "intent": "有意向", "duration_s": 95, "notes": "对报价有兴趣，明天再聊"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["lead_status"], "contacted");
    assert_eq!(body["attempt"], 1);
    assert_eq!(body["revisit_source"], "rule");
    assert!(
        body["warning"].is_null(),
        "inside calling hours: no warning"
    );
    let next = ts(&body["next_revisit_at"]);
    assert!(
        next >= before + Duration::days(1) && next <= Utc::now() + Duration::days(1),
        "connected / 有意向 → in one day: {next}"
    );
    assert_eq!(body["today"]["calls"], 1);
    assert_eq!(body["today"]["connected"], 1);
    assert_eq!(body["today"]["valid_conversations"], 1);
    assert_eq!(body["today"]["qualified"], 0);
    assert_eq!(body["today"]["talk_s"], 95);
    let (st, attempts, revisit, revisit_agent, _) = lead_row(&app.db, id).await;
    assert_eq!((st.as_str(), attempts), ("contacted", 1));
    assert_eq!(revisit, Some(next));
    assert_eq!(revisit_agent, Some(app.org.agent_a1.0));
    // The reminder job waits for the revisit time.
    let jobs: Vec<(String, DateTime<Utc>, String)> = db_run!(&app.db, |pool| sqlx::query_as(
        "SELECT kind, run_at, dedup_key FROM jobs ORDER BY id"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    let call_id = body["call"]["id"].as_i64().unwrap();
    assert_eq!(
        jobs,
        vec![(
            "revisit_reminder".to_string(),
            next,
            format!("revisit:{id}:{call_id}")
        )]
    );
    // The lead's calls, and its history.
    let (status, calls) = agent.get_json(&format!("/api/v1/leads/{id}/calls")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls["items"][0]["disposition"], "connected");
    assert_eq!(calls["items"][0]["intent"], "interested");
    assert_eq!(calls["items"][0]["agent_name"], "张伟");
    let (_, lead) = agent.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(
        lead["intent"], "interested",
        "the call's intent level is the lead's now"
    );
    let audits = count(
        &app.db,
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'lead' AND action = 'call'",
    )
    .await;
    assert_eq!(audits, 1);
    // The note is found by a search right away (SQLite indexes notes after their calls, and a
    // search indexes the new ones first). "报价", URL-encoded.
    let (status, found) = agent
        .get_json("/api/v1/search?q=%E6%8A%A5%E4%BB%B7&kind=call_note")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"][0]["id"], call_id, "{found}");
    assert_eq!(found["items"][0]["lead_id"], id.0, "{found}");
    // A second call counts on.
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "no_answer", "duration_s": 20}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["attempt"], 2);
    assert_eq!(body["lead_status"], "call_back");
    assert_eq!(body["today"]["calls"], 2);
    assert_eq!(body["today"]["connected"], 1, "no answer is not connected");
    assert_eq!(body["today"]["talk_s"], 95, "ringing is not talk time");
}

#[tokio::test]
async fn the_agents_revisit_time_wins_over_the_rule() {
    let app = TestApp::spawn().await;
    open_all_day(&app.api("admin").await).await;
    let agent = app.api("agent_a1").await;
    let id = lead(&agent, "周明", 2).await;
    let mine = (Utc::now() + Duration::hours(5)).with_timezone(&Utc);
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "no_answer", "next_revisit_at": mine.to_rfc3339()}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["revisit_source"], "agent");
    let got = ts(&body["next_revisit_at"]);
    assert!((got - mine).num_milliseconds().abs() < 1, "{got} vs {mine}");
    // A time in the past is refused and nothing is recorded.
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "no_answer", "next_revisit_at": (Utc::now() - Duration::hours(3)).to_rfc3339()}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "invalid_input");
    assert_eq!(
        lead_row(&app.db, id).await.1,
        1,
        "the refused call did not count"
    );
}

#[tokio::test]
async fn bad_input_and_invisible_leads_are_refused() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let id = lead(&a1, "吴芳", 3).await;
    let path = format!("/api/v1/leads/{id}/calls");
    let (status, body) = post(&a1, &path, json!({"disposition": "teleported"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
    );
    let (status, _) = post(
        &a1,
        &path,
        json!({"disposition": "connected", "intent": "ecstatic"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post(
        &a1,
        &path,
        json!({"disposition": "connected", "duration_s": -1}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post(
        &a1,
        &path,
        json!({"disposition": "connected", "surprise": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Another agent's lead does not exist for a2; neither does a missing one.
    let (status, body) = post(&a2, &path, json!({"disposition": "connected"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = a2.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &a1,
        "/api/v1/leads/999999/calls",
        json!({"disposition": "connected"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A retired disposition is refused.
    let admin = app.api("admin").await;
    let (_, list) = admin.get_json("/api/v1/dispositions").await;
    let busy = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "busy")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _) = send(
        &admin,
        reqwest::Method::PATCH,
        &format!("/api/v1/dispositions/{busy}"),
        json!({"active": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(&a1, &path, json!({"disposition": "busy"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        count(&app.db, "SELECT COUNT(*) FROM calls").await,
        0,
        "nothing was recorded"
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM call_stats").await, 0);
}

#[tokio::test]
async fn a_do_not_call_disposition_lists_the_number_and_the_lead_is_never_served_again() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let agent = app.api("agent_a1").await;
    let id = lead(&agent, "钱程", 4).await;
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "dnc_request", "duration_s": 10}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["lead_status"], "do_not_call");
    assert!(body["next_revisit_at"].is_null());
    let (_, dnc) = admin.get_json("/api/v1/dnc").await;
    assert_eq!(dnc["items"][0]["e164"], format!("+86{}", mobile(4)));
    // Dialling it again is refused (409) and not recorded.
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "connected"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("do_not_call"))
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM calls").await, 1);
    // Even if someone reopens the lead, next call does not serve it while the number is listed.
    sql(
        &app.db,
        "UPDATE leads SET status = 'new', attempts = 0 WHERE id = $1 AND $2 = $2",
        id,
        0,
    )
    .await;
    let res = agent.post("/api/v1/agent/next-call", json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn after_the_last_attempt_the_rules_action_applies() {
    let app = TestApp::spawn().await;
    open_all_day(&app.api("admin").await).await;
    let agent = app.api("agent_a1").await;
    // no_answer: the 6th attempt marks the lead invalid.
    let a = lead(&agent, "孙悦", 5).await;
    sql(
        &app.db,
        "UPDATE leads SET attempts = $2 WHERE id = $1",
        a,
        5,
    )
    .await;
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{a}/calls"),
        json!({"disposition": "no_answer"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["after_last"], "mark_invalid");
    assert_eq!(body["lead_status"], "invalid_number");
    assert!(body["next_revisit_at"].is_null());
    assert_eq!(lead_row(&app.db, a).await.2, None);
    // busy: the 6th attempt returns the lead to the pool as a fresh lead.
    let b = lead(&agent, "李雷", 6).await;
    sql(
        &app.db,
        "UPDATE leads SET attempts = $2 WHERE id = $1",
        b,
        5,
    )
    .await;
    let (_, body) = post(
        &agent,
        &format!("/api/v1/leads/{b}/calls"),
        json!({"disposition": "busy"}),
    )
    .await;
    assert_eq!(body["after_last"], "return_to_pool");
    let (status, attempts, revisit, _, owner) = lead_row(&app.db, b).await;
    assert_eq!(
        (status.as_str(), attempts, revisit, owner),
        ("new", 0, None, None)
    );
    // Another agent can now be served it.
    let other = app.api("agent_b1").await;
    let res = other.post("/api/v1/agent/next-call", json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["lead"]["id"], b.0);
    // Before the last attempt the rule schedules a revisit (2 hours for early no-answers).
    let c = lead(&agent, "韩梅", 7).await;
    let (_, body) = post(
        &agent,
        &format!("/api/v1/leads/{c}/calls"),
        json!({"disposition": "no_answer"}),
    )
    .await;
    let at = ts(&body["next_revisit_at"]);
    assert!(at > Utc::now() + Duration::minutes(119) && at <= Utc::now() + Duration::hours(2));
}

#[tokio::test]
async fn a_dial_outside_calling_hours_is_recorded_with_a_warning() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    close_all(&admin).await;
    let agent = app.api("agent_a1").await;
    let id = lead(&agent, "郑爽", 8).await;
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{id}/calls"),
        json!({"disposition": "connected", "intent": "interested"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["warning"], "outside_calling_hours");
    assert_eq!(body["outside_window"], true);
    let flagged = count(&app.db, "SELECT COUNT(*) FROM calls WHERE outside_window").await;
    assert_eq!(flagged, 1);
    // With no window ever open the rule's time cannot be moved into one and stays as computed.
    assert!(body["next_revisit_at"].is_string());
}

#[tokio::test]
async fn the_same_submission_twice_records_one_call() {
    let app = TestApp::spawn().await;
    open_all_day(&app.api("admin").await).await;
    let agent = app.api("agent_a1").await;
    let id = lead(&agent, "冯巩", 9).await;
    let path = format!("/api/v1/leads/{id}/calls");
    let send_once = || {
        agent
            .http
            .post(format!("{}{path}", agent.base))
            .bearer_auth(agent.token.as_deref().unwrap())
            .header("Idempotency-Key", "form-7f3a")
            .json(&json!({"disposition": "qualified", "duration_s": 300}))
            .send()
    };
    let first = send_once().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = send_once().await.unwrap();
    assert_eq!(second.status(), StatusCode::OK, "a replay, not a new call");
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["replayed"], true);
    assert_eq!(first["call"]["id"], second["call"]["id"]);
    // The body's request_id works the same; concurrent double clicks record once too.
    let body = json!({"disposition": "connected", "request_id": "click-1"});
    let (a, b) = tokio::join!(
        post(&agent, &path, body.clone()),
        post(&agent, &path, body.clone())
    );
    assert!(a.0.is_success() && b.0.is_success(), "{a:?} {b:?}");
    assert_eq!(a.1["call"]["id"], b.1["call"]["id"]);
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM calls").await, 2);
    assert_eq!(
        count(&app.db, "SELECT CAST(SUM(calls) AS BIGINT) FROM call_stats").await,
        2,
        "counted once each"
    );
    // Another agent's key is their own.
    assert_eq!(lead_row(&app.db, id).await.1, 2);
}

#[tokio::test]
async fn scripts_count_their_uses_by_the_disposition_flags() {
    let app = TestApp::spawn().await;
    open_all_day(&app.api("admin").await).await;
    let agent = app.api("agent_a1").await;
    let (status, script) = post(
        &agent,
        "/api/v1/scripts",
        json!({"title": "开场白", "body": "您好，我是{{agent.name}}", "shared": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{script}");
    let sid = script["id"].as_i64().unwrap();
    for (n, disposition) in [(10, "qualified"), (11, "no_answer"), (12, "call_back")] {
        let id = lead(&agent, "用户", n).await;
        let (status, body) = post(
            &agent,
            &format!("/api/v1/leads/{id}/calls"),
            json!({"disposition": disposition, "script_id": sid}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["call"]["script_id"], sid);
    }
    let (_, s) = agent.get_json(&format!("/api/v1/scripts/{sid}")).await;
    assert_eq!(s["usage"]["uses"], 3, "{s}");
    assert_eq!(
        s["usage"]["connected"], 2,
        "qualified and call back are connected, no answer is not"
    );
    assert_eq!(s["usage"]["qualified"], 1);
}
