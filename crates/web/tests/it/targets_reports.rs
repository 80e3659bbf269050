//! Targets, daily reports and work plans over real HTTP (issue 24), both backends: the year
//! grid set by the team's supervisor and refused to an agent and to another team's supervisor;
//! the daily report contract (figures equal to the day's calls, submit, comment, the team's
//! list of who has not submitted) with its refusals; a plan approved by the supervisor.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calls::{lead, open_all_day};
use crate::helpers::{Api, TestApp, post, send};

async fn put(api: &Api, path: &str, body: Value) -> (StatusCode, Value) {
    send(api, reqwest::Method::PUT, path, body).await
}

fn year_of(calls: i64) -> Value {
    let months: Vec<Value> = (1..=12)
        .map(|m| json!({"calls": calls + m, "revenue_fen": 1_000_000}))
        .collect();
    json!({ "months": months })
}

#[tokio::test]
async fn targets_are_set_by_the_teams_supervisor_and_refused_to_an_agent_and_another_team() {
    let app = TestApp::spawn().await;
    let (o, sup_a, sup_b) = (&app.org, app.api("sup_a").await, app.api("sup_b").await);
    let (agent, colleague) = (app.api("agent_a1").await, app.api("agent_a2").await);
    let me = format!("/api/v1/targets/{}/2027", o.agent_a1);
    let (s, b) = put(&sup_a, &me, year_of(1000)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["months"][2]["calls"], 1003);
    assert_eq!(b["months"][2]["month"], 3);

    let (s, b) = put(&agent, &me, year_of(1)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an agent sets no targets: {b}");
    let (s, b) = put(&sup_b, &me, year_of(1)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another team's supervisor: {b}");
    let (s, b) = agent.get_json(&me).await;
    assert_eq!(
        (s, b["months"][0]["calls"].clone()),
        (StatusCode::OK, json!(1001))
    );
    let (s, _) = colleague.get_json(&me).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a colleague does not read them");
    let (s, b) = put(&sup_a, &me, json!({"months": [{"calls": 1}]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["details"]["problems"][0]["field"], "months", "{b}");

    let team = format!("/api/v1/teams/{}/targets/2027", o.team_a.0);
    let (s, b) = put(&sup_a, &team, year_of(5000)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = put(&sup_b, &team, year_of(1)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = put(&agent, &team, year_of(1)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = agent.get_json(&team).await;
    assert_eq!(
        (s, b["months"][11]["calls"].clone()),
        (StatusCode::OK, json!(5012))
    );

    let (s, b) = agent
        .get_json(&format!(
            "/api/v1/targets/{}/progress?month=2027-03",
            o.agent_a1
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["month"], "2027-03");
    assert_eq!(b["metrics"][0]["metric"], "calls");
    assert_eq!(b["metrics"][0]["target"], 1003);
    assert_eq!(b["metrics"][0]["percent"], 0);
    assert_eq!(
        b["metrics"][3]["percent"],
        Value::Null,
        "no target for new customers"
    );
    let (s, _) = sup_b
        .get_json(&format!("/api/v1/teams/{}/targets/progress", o.team_a.0))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = agent
        .get_json(&format!(
            "/api/v1/targets/{}/progress?month=2027-13",
            o.agent_a1
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_daily_report_has_the_days_figures_is_submitted_by_its_person_and_commented_by_the_supervisor()
 {
    let app = TestApp::spawn().await;
    let o = &app.org;
    open_all_day(&app.api("admin").await).await;
    let (agent, sup_a, sup_b) = (
        app.api("agent_a1").await,
        app.api("sup_a").await,
        app.api("sup_b").await,
    );
    let colleague = app.api("agent_a2").await;
    let id = lead(&agent, "陈静", 1).await;
    let mut day = String::new();
    for (disposition, intent) in [
        ("connected", "有意向"),
        ("no_answer", ""),
        ("qualified", "需求强烈"),
    ] {
        let mut body = json!({"disposition": disposition, "duration_s": 60});
        if !intent.is_empty() {
            body["intent"] = json!(intent);
        }
        let (s, b) = post(&agent, &format!("/api/v1/leads/{id}/calls"), body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        day = b["day"].as_str().unwrap().to_string();
    }
    let path = format!("/api/v1/reports/daily/{}/{day}", o.agent_a1);
    let (s, r) = agent.get_json(&path).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "draft");
    let f = &r["figures"];
    assert_eq!(
        (
            f["calls"].clone(),
            f["connected"].clone(),
            f["qualified"].clone()
        ),
        (json!(3), json!(2), json!(1))
    );
    assert_eq!(f["intent"], json!({"interested": 1, "strong_demand": 1}));
    assert_eq!(
        (
            f["visits"].clone(),
            f["orders"].clone(),
            f["collections_fen"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );

    // Refusals: a colleague and another team's supervisor do not read it; the supervisor does
    // not submit it; nobody submits for a future day.
    for api in [&colleague, &sup_b] {
        let (s, _) = api.get_json(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let words =
        json!({"summary": "今天打了三通", "problems": "客户嫌贵", "market_info": "竞品在降价"});
    let (s, _) = post(&sup_a, &path, words.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post(&colleague, &path, words.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let future = format!("/api/v1/reports/daily/{}/2099-01-01", o.agent_a1);
    let (s, b) = post(&agent, &future, words.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, b) = post(&agent, &path, json!({"summary": ""})).await;
    assert_eq!(
        (s, b["details"]["problems"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("summary"))
    );

    // The team's day before: both agents missing.
    let team_path = format!("/api/v1/teams/{}/reports/daily/{day}", o.team_a.0);
    let (s, t) = sup_a.get_json(&team_path).await;
    assert_eq!((s, t["missing"].clone()), (StatusCode::OK, json!(2)), "{t}");
    let (s, _) = sup_b.get_json(&team_path).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another team's supervisor");
    let (s, _) = agent.get_json(&team_path).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, r) = post(&agent, &path, words.clone()).await;
    assert_eq!(
        (s, r["status"].clone()),
        (StatusCode::OK, json!("submitted")),
        "{r}"
    );
    let (_, t) = sup_a.get_json(&team_path).await;
    assert_eq!(t["missing"], 1);
    assert_eq!(
        t["members"][0]["user_name"], "李娜",
        "who has not submitted comes first"
    );

    let comments = format!("{path}/comments");
    let (s, _) = post(&agent, &comments, json!({"body": "自己批注"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post(&sup_b, &comments, json!({"body": "x"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, c) = post(
        &sup_a,
        &comments,
        json!({"body": "明天重点跟进需求强烈的客户"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (_, r) = agent.get_json(&path).await;
    assert_eq!(r["comments"][0]["author_name"], "王主管");
    assert_eq!(r["comments"][0]["body"], "明天重点跟进需求强烈的客户");
    assert_eq!(r["may_submit"], false);
    let (s, b) = post(&agent, &path, words).await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::CONFLICT, json!("report_commented"))
    );

    // The documented contract.
    let (_, doc) = agent.get_json("/api/v1/openapi.json").await;
    let p = &doc["paths"]["/api/v1/reports/daily/{user_id}/{date}"];
    assert!(p["get"].is_object() && p["post"].is_object(), "{p}");
}

#[tokio::test]
async fn a_weekly_plan_goes_to_the_supervisor_who_approves_it() {
    let app = TestApp::spawn().await;
    let (agent, sup_a, sup_b) = (
        app.api("agent_a1").await,
        app.api("sup_a").await,
        app.api("sup_b").await,
    );
    let plan = json!({"period": "week", "period_start": "2026-12-07", "items": "回访意向客户\n整理报价",
        "goals": {"calls": 300, "qualified": 10}});
    let (s, p) = post(&agent, "/api/v1/work-plans", plan.clone()).await;
    assert_eq!(
        (s, p["status"].clone()),
        (StatusCode::OK, json!("submitted")),
        "{p}"
    );
    let id = p["id"].as_i64().unwrap();
    let (s, b) = post(
        &agent,
        "/api/v1/work-plans",
        json!({"period": "week", "period_start": "2026-12-08", "items": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not a Monday: {b}");

    let (_, waiting) = sup_a.get_json("/api/v1/work-plans?status=submitted").await;
    assert_eq!(waiting["plans"][0]["id"], id);
    let (_, none) = sup_b.get_json("/api/v1/work-plans?status=submitted").await;
    assert_eq!(none["plans"], json!([]));
    let decision = format!("/api/v1/work-plans/{id}/decision");
    let (s, _) = post(&agent, &decision, json!({"approve": true})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not one's own");
    let (s, _) = post(&sup_b, &decision, json!({"approve": true})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, d) = post(&sup_a, &decision, json!({"approve": true, "note": "同意"})).await;
    assert_eq!(
        (s, d["status"].clone()),
        (StatusCode::OK, json!("approved")),
        "{d}"
    );
    let (s, b) = post(&agent, "/api/v1/work-plans", plan).await;
    assert_eq!(
        (s, b["code"].clone()),
        (StatusCode::CONFLICT, json!("plan_approved"))
    );
    let (_, mine) = agent.get_json("/api/v1/work-plans").await;
    assert_eq!(mine["plans"][0]["decision_note"], "同意");
}

/// The reminder job, its clock moved: nothing before the hour; after it, one reminder to each
/// active agent and rep who has not submitted; later passes of the same day add none.
#[tokio::test]
async fn the_reminder_job_reminds_each_who_has_not_submitted_once_after_the_hour() {
    use chrono::TimeZone;
    use leadline_engine::daily_report_reminder_job::{DailyReportReminders, schedule};
    use leadline_engine::jobs_runner::{Hub, Registry, Worker};
    // A database of its own, without an app server whose worker runs the real day's pass.
    let test_db = leadline_store::db::test_db::TestDb::fresh().await.unwrap();
    let db = test_db.db.clone();
    crate::helpers::seed_org(&db).await;
    let sh = |h: u32, m: u32| {
        leadline_domain::calling_hours::DEFAULT_TZ
            .with_ymd_and_hms(2030, 1, 7, h, m, 0)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let count = || async {
        leadline_store::db_run!(&db, |p| {
            sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM notifications WHERE kind = 'daily_report_due' AND payload ->> 'day' = '2030-01-07'"
        )
        .fetch_one(p)
        .await
        .unwrap()
        })
    };
    let hub = Hub::new();
    let worker = || {
        Worker::new(
            db.clone(),
            hub.clone(),
            Registry::default().with(DailyReportReminders),
        )
    };
    schedule(&db, &hub, sh(17, 30)).await.unwrap();
    assert_eq!(
        worker().run_due(sh(17, 30)).await.unwrap(),
        0,
        "before 18:00"
    );
    schedule(&db, &hub, sh(19, 5)).await.unwrap();
    assert_eq!(worker().run_due(sh(19, 5)).await.unwrap(), 1);
    // agent_a1, agent_a2, agent_b1 and the sales rep; not supervisors nor the admin.
    assert_eq!(count().await, 4);
    schedule(&db, &hub, sh(20, 5)).await.unwrap();
    assert_eq!(worker().run_due(sh(20, 5)).await.unwrap(), 1);
    assert_eq!(count().await, 4, "once a day each");
}
