//! The pipeline over HTTP (issue 23): opportunities created and moved through the API with
//! their refusals (another team's opportunity is 404, lost without a reason 422), grades
//! overridden only by a supervisor, the monthly grading run once by several workers, and the
//! board, visit plan and due list as pages.

use std::time::Duration;

use chrono::TimeDelta;
use leadline_domain::UserId;
use leadline_engine::grade_job;
use leadline_engine::jobs_runner::{Hub, Registry, Worker};
use leadline_store::{Db, db_run, now};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, Browser, TestApp};

async fn customer(db: &Db, name: &str, owner: UserId) -> i64 {
    let at = now();
    db_run!(db, |pool| sqlx::query_scalar(
        "INSERT INTO customers (kind, name, owner_id, address, created_at, updated_at) \
         VALUES ('company', $1, $2, '深圳南山科技园', $3, $3) RETURNING id"
    )
    .bind(name)
    .bind(owner.0)
    .bind(at)
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn send(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn put(api: &Api, path: &str, body: Value) -> (StatusCode, Value) {
    send(
        api.http
            .put(format!("{}{path}", api.base))
            .bearer_auth(api.token.as_deref().unwrap())
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The page a form post redirected to.
async fn follow(browser: &Browser, res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let (status, html) = browser.get(&to).await;
    assert_eq!(status, StatusCode::OK, "{to}");
    html
}

async fn stage(api: &Api, code: &str) -> i64 {
    let (_, body) = api.get_json("/api/v1/opportunity-stages").await;
    body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == code)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn opportunities_move_through_the_api_within_the_customer_rule() {
    let app = TestApp::spawn().await;
    let c = customer(&app.db, "深圳华强", app.org.agent_a1).await;
    let rep = app.api("agent_a1").await;
    let (status, o) = send(
        rep.post(
            "/api/v1/opportunities",
            json!({"customer_id": c, "title": "年度框架协议", "amount_fen": 1_250_000, "expected_date": "2026-12-31"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().unwrap();
    assert_eq!(o["amount_fen"], 1_250_000);
    assert_eq!(o["history"].as_array().unwrap().len(), 1);

    // Lost without a reason: 422 naming the field; nothing moved.
    let lost = stage(&rep, "lost").await;
    let path = format!("/api/v1/opportunities/{id}/move");
    let (status, err) = send(rep.post(&path, json!({"stage_id": lost})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["details"]["problems"][0]["field"], "lost_reason_id");
    let (_, body) = rep.get_json(&format!("/api/v1/opportunities/{id}")).await;
    assert_eq!(body["stage_id"], o["stage_id"]);

    let needs = stage(&rep, "needs").await;
    let (status, moved) = send(rep.post(&path, json!({"stage_id": needs})).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(moved["history"].as_array().unwrap().len(), 2);
    assert_eq!(moved["time_in_stage"][0]["stage_code"], "contact");
    let won = stage(&rep, "won").await;
    let (_, moved) = send(rep.post(&path, json!({"stage_id": won})).await).await;
    assert!(moved["won_at"].is_string(), "{moved}");

    // Another team's supervisor and agent: 404 on read and move, nothing on the list.
    for other in ["sup_b", "agent_b1"] {
        let api = app.api(other).await;
        assert_eq!(
            api.get_json(&format!("/api/v1/opportunities/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.post(&path, json!({"stage_id": needs})).await.status(),
            StatusCode::NOT_FOUND
        );
        let (_, list) = api.get_json("/api/v1/opportunities").await;
        assert_eq!(list["opportunities"], json!([]));
    }
    // The team's supervisor sees it.
    let sup = app.api("sup_a").await;
    assert_eq!(
        sup.get_json(&format!("/api/v1/opportunities/{id}")).await.0,
        StatusCode::OK
    );
    // Stages are the admin's: a rep may not add one.
    let (status, _) = send(
        rep.post(
            "/api/v1/pipeline-config/opportunity-stages",
            json!({"code": "trial", "label_zh": "试用", "label_en": "Trial"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_a_supervisor_overrides_a_grade_and_the_monthly_run_happens_once() {
    let app = TestApp::spawn().await;
    let c = customer(&app.db, "广州白云", app.org.agent_a1).await;
    let agent = app.api("agent_a1").await;
    let path = format!("/api/v1/customers/{c}/grade");
    let (status, _) = put(&agent, &path, json!({"grade": "A", "reason": "大客户"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = app.api("sup_b").await;
    let (status, _) = put(&other, &path, json!({"grade": "A", "reason": "大客户"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let sup = app.api("sup_a").await;
    let (status, err) = put(&sup, &path, json!({"grade": "A", "reason": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");

    // The month's grading, queued by two servers: one job, run once; 广州白云 (no sales) is C.
    let at = now();
    let (ha, hb) = (Hub::new(), Hub::new());
    grade_job::enqueue_month(&app.db, &ha, at).await.unwrap();
    let again = grade_job::enqueue_month(&app.db, &hb, at).await.unwrap();
    assert_eq!(again, None, "one grading a month");
    let registry = Registry::standard(std::env::temp_dir());
    let (wa, wb) = (
        Worker::new(app.db.clone(), ha, registry.clone()),
        Worker::new(app.db.clone(), hb, registry),
    );
    let (ra, rb) = tokio::join!(wa.run_due(at), wb.run_due(at));
    ra.unwrap();
    rb.unwrap();
    for _ in 0..300 {
        let open: i64 = db_run!(&app.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'customer_grades' AND status <> 'done'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (grade, events, jobs): (Option<String>, i64, i64) = db_run!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT (SELECT grade FROM customers WHERE id = $1), \
             (SELECT COUNT(*) FROM customer_events WHERE customer_id = $1 AND action = 'grade'), \
             (SELECT COUNT(*) FROM jobs WHERE kind = 'customer_grades')",
        )
        .bind(c)
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!((grade.as_deref(), events, jobs), (Some("C"), 1, 1));

    // The supervisor's override stays through the next run.
    let (status, _) = put(&sup, &path, json!({"grade": "A", "reason": "战略合作"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    leadline_store::pipeline::grades::run_grading(&app.db, now())
        .await
        .unwrap();
    let grade: Option<String> = db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT grade FROM customers WHERE id = $1"
    )
    .bind(c)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(grade.as_deref(), Some("A"));
    let (_, levels) = agent.get_json("/api/v1/grade-levels").await;
    assert_eq!(levels["window_months"], 3);
    assert_eq!(levels["levels"][0]["min_sales_fen"], 10_000_000);
}

#[tokio::test]
async fn the_board_plan_and_due_list_work_as_plain_pages() {
    let app = TestApp::spawn().await;
    let c = customer(&app.db, "东莞五金", app.org.agent_a1).await;
    let rep = app.api("agent_a1").await;
    let (_, o) = send(
        rep.post(
            "/api/v1/opportunities",
            json!({"customer_id": c, "title": "五金配件采购", "amount_fen": 880_050}),
        )
        .await,
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    let browser = app.browser("agent_a1").await;
    let (status, html) = browser.get("/pipeline").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("五金配件采购") && html.contains("¥8800.50"),
        "{html}"
    );
    assert!(html.contains("id=\"nav-pipeline\""));
    let csrf = browser.csrf("/pipeline").await;

    // Lost without a reason from the card's form: the board says why and nothing moves.
    let lost = stage(&rep, "lost").await.to_string();
    let res = browser
        .post_form(
            &format!("/pipeline/{id}/move"),
            &[
                ("_csrf", &csrf),
                ("stage_id", &lost),
                ("lost_reason_id", ""),
            ],
        )
        .await;
    let html = follow(&browser, res).await;
    assert!(html.contains("移到失败阶段须选择失败原因"), "{html}");
    let won = stage(&rep, "won").await.to_string();
    let res = browser
        .post_form(
            &format!("/pipeline/{id}/move"),
            &[("_csrf", &csrf), ("stage_id", &won), ("back", "detail")],
        )
        .await;
    let html = follow(&browser, res).await;
    assert!(html.contains("id=\"opportunity-won\""), "{html}");
    assert!(html.contains("id=\"time-in-stage\""));

    // Today's route: two customers, reordered, printable as cards.
    let c2 = customer(&app.db, "佛山陶瓷", app.org.agent_a1).await;
    let day = now()
        .with_timezone(&leadline_domain::calling_hours::DEFAULT_TZ)
        .date_naive();
    let day_s = day.format("%Y-%m-%d").to_string();
    for cid in [c, c2] {
        let (status, _) = send(
            rep.post(
                "/api/v1/visit-plan",
                json!({"customer_id": cid, "day": day_s}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, plan) = rep
        .get_json(&format!("/api/v1/visit-plan?day={day_s}"))
        .await;
    let second = plan["stops"][1]["visit_id"].as_i64().unwrap();
    let res = browser
        .post_form(
            "/visits/plan/step",
            &[
                ("_csrf", &csrf),
                ("day", &day_s),
                ("visit_id", &second.to_string()),
                ("dir", "up"),
            ],
        )
        .await;
    assert!(follow(&browser, res).await.contains("已保存"));
    let (status, html) = browser.get(&format!("/visits/plan?day={day_s}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/static/pipeline.css"));
    let (a, b) = (
        html.find("佛山陶瓷").unwrap(),
        html.find("东莞五金").unwrap(),
    );
    assert!(a < b, "佛山陶瓷 moved first");
    // Another agent may not read this plan.
    let (status, _) = app
        .api("agent_a2")
        .await
        .get_json(&format!(
            "/api/v1/visit-plan?day={day_s}&user_id={}",
            app.org.agent_a1.0
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Graded a month ago (C: every 30 days) and not contacted since: both are a day late.
    leadline_store::pipeline::grades::run_grading(&app.db, now() - TimeDelta::days(31))
        .await
        .unwrap();
    let (_, html) = browser.get("/customers/due").await;
    assert!(
        html.contains("佛山陶瓷") && html.contains("东莞五金"),
        "{html}"
    );
    // The visit done, with the market information: the customer is no longer due.
    let res = browser
        .post_form(
            "/visits/record",
            &[
                ("_csrf", &csrf),
                ("day", &day_s),
                ("visit_id", &second.to_string()),
                ("result", "met"),
                ("competitor_moves", "对手降价"),
            ],
        )
        .await;
    assert!(follow(&browser, res).await.contains("已保存"));
    let (_, visits) = rep
        .get_json(&format!("/api/v1/customers/{c2}/visits"))
        .await;
    assert_eq!(visits["visits"][0]["competitor_moves"], "对手降价");
    let (status, html) = browser.get("/customers/due").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("佛山陶瓷") && html.contains("东莞五金"),
        "{html}"
    );
    // The settings page is the admin's.
    assert_eq!(
        browser.get("/admin/pipeline").await.0,
        StatusCode::FORBIDDEN
    );
    let admin = app.browser("admin").await;
    let (status, html) = admin.get("/admin/pipeline").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"stage-won\""));
}

/// With the organisation's zone set to one whose date differs from Shanghai's at this hour
/// (Kiritimati, UTC+14, from 10:00 to 16:00 UTC; Honolulu, UTC−10, otherwise), the visit plan without
/// a day — API and page — is today's plan in that zone.
#[tokio::test]
async fn the_visit_plan_opens_on_today_in_the_organisations_zone() {
    let app = TestApp::spawn().await;
    let at = now();
    let zone = if (10..16).contains(&chrono::Timelike::hour(&at)) {
        chrono_tz::Pacific::Kiritimati
    } else {
        chrono_tz::Pacific::Honolulu
    };
    let today = at.with_timezone(&zone).date_naive().to_string();
    let shanghai = at
        .with_timezone(&leadline_domain::calling_hours::DEFAULT_TZ)
        .date_naive()
        .to_string();
    assert_ne!(today, shanghai, "the zone is chosen to differ at this hour");
    let admin = app.api("admin").await;
    let (status, _) = put(
        &admin,
        "/api/v1/settings/org-time-zone",
        json!({"org_time_zone": zone.name()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rep = app.api("agent_a1").await;
    let (_, plan) = rep.get_json("/api/v1/visit-plan").await;
    assert_eq!(plan["day"], today.as_str());
    let (status, html) = app.browser("agent_a1").await.get("/visits/plan").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("<span id=\"plan-day\">{today}</span>")),
        "{html}"
    );
}
