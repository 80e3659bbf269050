//! Configuring the agent's day (issue 4): dispositions, revisit rules, calling hours, holidays,
//! the do-not-call list and settings — who may change what, and what a change does.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::calls::{lead, open_all_day};
use crate::helpers::{TestApp, post, send};

#[tokio::test]
async fn agents_and_supervisors_are_refused_admin_changes() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let sup = app.api("sup_a").await;
    let sales = app.api("sales1").await;
    // Everyone signed in may read the dispositions, hours and holidays the call form needs.
    for api in [&agent, &sup] {
        let (status, body) = api.get_json("/api/v1/dispositions").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["items"].as_array().unwrap().len(),
            8,
            "the seeded defaults"
        );
        assert_eq!(
            api.get_json("/api/v1/calling-hours").await.0,
            StatusCode::OK
        );
        assert_eq!(api.get_json("/api/v1/holidays").await.0, StatusCode::OK);
    }
    let (_, hours) = agent.get_json("/api/v1/calling-hours").await;
    assert_eq!(
        hours["windows"][0],
        json!({"weekday": 1, "start": "09:00", "end": "12:00"})
    );
    assert_eq!(
        hours["windows"][1],
        json!({"weekday": 1, "start": "14:00", "end": "18:00"})
    );
    assert_eq!(
        hours["windows"].as_array().unwrap().len(),
        10,
        "Monday to Friday"
    );
    let anonymous = app.anonymous();
    assert_eq!(
        anonymous.get("/api/v1/dispositions").await.status(),
        StatusCode::UNAUTHORIZED
    );
    for api in [&agent, &sup] {
        let d = json!({"code": "voicemail", "label_zh": "语音信箱", "label_en": "Voicemail"});
        assert_eq!(
            post(api, "/api/v1/dispositions", d).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            send(
                api,
                Method::PATCH,
                "/api/v1/dispositions/1",
                json!({"active": false})
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            post(
                api,
                "/api/v1/revisit-rules",
                json!({"disposition": "busy", "delay_amount": 1})
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            send(
                api,
                Method::PUT,
                "/api/v1/calling-hours",
                json!({"windows": []})
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            post(api, "/api/v1/holidays", json!({"day": "2026-10-01"}))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }
    // The do-not-call list and the rules are for supervisors and admins, not agents or sales.
    for api in [&agent, &sales] {
        assert_eq!(api.get_json("/api/v1/dnc").await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            post(api, "/api/v1/dnc", json!({"numbers": ["13900000001"]}))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            api.delete("/api/v1/dnc/13900000001").await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            api.get_json("/api/v1/revisit-rules").await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        sup.get_json("/api/v1/revisit-rules").await.0,
        StatusCode::OK
    );
    let count: i64 = leadline_store::db_run!(&app.db, |pool| {
        sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM dispositions) + (SELECT COUNT(*) FROM dnc_numbers) + (SELECT COUNT(*) FROM holidays)"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert_eq!(count, 8, "nothing changed");
}

#[tokio::test]
async fn the_admin_manages_dispositions() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let (status, body) = post(
        &admin,
        "/api/v1/dispositions",
        json!({"code": "voicemail", "label_zh": "语音信箱", "label_en": "Voicemail", "sets_status": "call_back", "hotkey": "9", "position": 9}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (status, body) = post(
        &admin,
        "/api/v1/dispositions",
        json!({"code": "voicemail", "label_zh": "x", "label_en": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    let (status, body) = post(
        &admin,
        "/api/v1/dispositions",
        json!({"code": "vm2", "label_zh": "x", "label_en": "x", "hotkey": "1"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "hotkey 1 is taken by connected: {body}"
    );
    let (status, _) = post(
        &admin,
        "/api/v1/dispositions",
        json!({"code": "Bad Code", "label_zh": "x", "label_en": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post(
        &admin,
        "/api/v1/dispositions",
        json!({"code": "q2", "label_zh": "x", "label_en": "x", "qualified": true}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "qualified needs connected"
    );
    let (status, body) = send(
        &admin,
        Method::PATCH,
        &format!("/api/v1/dispositions/{id}"),
        json!({"label_en": "Voice mail", "connected": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["label_en"], "Voice mail");
    let (status, _) = send(
        &admin,
        Method::PATCH,
        &format!("/api/v1/dispositions/{id}"),
        json!({"code": "renamed"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "codes stay");
    assert_eq!(
        send(
            &admin,
            Method::PATCH,
            "/api/v1/dispositions/99999",
            json!({})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // The new disposition works in a call and sets its status and counters.
    let agent = app.api("agent_a1").await;
    let l = lead(&agent, "新结果", 1).await;
    let (status, body) = post(
        &agent,
        &format!("/api/v1/leads/{l}/calls"),
        json!({"disposition": "voicemail", "duration_s": 12}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["lead_status"], "call_back");
    assert_eq!(body["today"]["connected"], 1);
    assert!(
        body["next_revisit_at"].is_null(),
        "no rule for voicemail yet"
    );
}

#[tokio::test]
async fn the_admin_writes_revisit_rules_and_the_next_call_uses_them() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    open_all_day(&admin).await;
    let (status, rule) = post(
        &admin,
        "/api/v1/revisit-rules",
        json!({"disposition": "connected", "intent": "positive", "attempt_from": 1, "attempt_to": 1, "delay_amount": 45, "delay_unit": "minutes", "max_attempts": 3, "after_last": "return_to_pool"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    for bad in [
        json!({"disposition": "nope", "delay_amount": 1}),
        json!({"disposition": "busy", "delay_amount": 0}),
        json!({"disposition": "busy", "delay_amount": 1, "delay_unit": "weeks"}),
        json!({"disposition": "busy", "delay_amount": 1, "after_last": "explode"}),
        json!({"disposition": "busy", "attempt_from": 3, "attempt_to": 2}),
        json!({"disposition": "busy", "intent": "ecstatic"}),
    ] {
        let (status, body) = post(&admin, "/api/v1/revisit-rules", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} → {body}");
    }
    let agent = app.api("agent_a1").await;
    let l = lead(&agent, "积极", 1).await;
    let (_, body) = post(
        &agent,
        &format!("/api/v1/leads/{l}/calls"),
        json!({"disposition": "connected", "intent": "positive"}),
    )
    .await;
    assert_eq!(body["rule_id"], rule["id"], "the most specific rule");
    let at: chrono::DateTime<Utc> = body["next_revisit_at"].as_str().unwrap().parse().unwrap();
    assert!(at <= Utc::now() + Duration::minutes(45) && at > Utc::now() + Duration::minutes(44));
    // Editing and deleting.
    let rid = rule["id"].as_i64().unwrap();
    let (status, body) = send(&admin, Method::PATCH, &format!("/api/v1/revisit-rules/{rid}"), json!({"disposition": "connected", "intent": "positive", "delay_amount": 2, "delay_unit": "hours"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delay"], json!([2, "hours"]));
    assert_eq!(
        admin
            .delete(&format!("/api/v1/revisit-rules/{rid}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/revisit-rules/{rid}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, rules) = admin.get_json("/api/v1/revisit-rules").await;
    assert_eq!(
        rules["items"].as_array().unwrap().len(),
        9,
        "the defaults remain"
    );
}

#[tokio::test]
async fn calling_hours_and_holidays_decide_the_outside_hours_warning() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let (status, body) = send(&admin, Method::PUT, "/api/v1/calling-hours", json!({"windows": [{"weekday": 1, "start": "09:00", "end": "12:00"}, {"weekday": 1, "start": "11:00", "end": "13:00"}]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "overlap: {body}");
    let (status, _) = send(
        &admin,
        Method::PUT,
        "/api/v1/calling-hours",
        json!({"windows": [{"weekday": 8, "start": "09:00", "end": "12:00"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(
        &admin,
        Method::PUT,
        "/api/v1/calling-hours",
        json!({"windows": [{"weekday": 1, "start": "9am", "end": "12:00"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A team's own windows.
    let team = app.org.team_b.0;
    let (status, body) = send(
        &admin,
        Method::PUT,
        "/api/v1/calling-hours",
        json!({"team_id": team, "windows": [{"weekday": 6, "start": "10:00", "end": "16:00"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, got) = admin
        .get_json(&format!("/api/v1/calling-hours?team_id={team}"))
        .await;
    assert_eq!(
        got["windows"],
        json!([{"weekday": 6, "start": "10:00", "end": "16:00"}])
    );
    // Today as a holiday closes an all-day calendar: the call is recorded with a warning.
    open_all_day(&admin).await;
    let today = leadline_domain::calling_hours::local_day(
        Utc::now(),
        leadline_domain::calling_hours::DEFAULT_TZ,
    );
    let (status, body) = post(
        &admin,
        "/api/v1/holidays",
        json!({"day": today, "name": "测试假日"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = post(&admin, "/api/v1/holidays", json!({"day": "2026-13-01"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post(
        &admin,
        "/api/v1/holidays",
        json!({"day": "2026-10-01", "kind": "party"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let agent = app.api("agent_a1").await;
    let l = lead(&agent, "假日", 1).await;
    let (_, body) = post(
        &agent,
        &format!("/api/v1/leads/{l}/calls"),
        json!({"disposition": "busy"}),
    )
    .await;
    assert_eq!(body["warning"], "outside_calling_hours");
    // The rule's revisit (30 min) is moved to when calling opens again: after today.
    let at: chrono::DateTime<Utc> = body["next_revisit_at"].as_str().unwrap().parse().unwrap();
    let at_day =
        leadline_domain::calling_hours::local_day(at, leadline_domain::calling_hours::DEFAULT_TZ);
    assert!(at_day > today, "{at_day} after the holiday {today}");
    assert_eq!(
        agent
            .post("/api/v1/agent/next-call", json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT,
        "nothing served on a holiday"
    );
    // Removing the holiday opens the day again.
    assert_eq!(
        admin
            .delete(&format!("/api/v1/holidays/{today}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/holidays/{today}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, body) = post(
        &agent,
        &format!("/api/v1/leads/{l}/calls"),
        json!({"disposition": "busy"}),
    )
    .await;
    assert!(body["warning"].is_null());
}

#[tokio::test]
async fn supervisors_keep_the_do_not_call_list() {
    let app = TestApp::spawn().await;
    let sup = app.api("sup_a").await;
    let (status, body) = post(
        &sup,
        "/api/v1/dnc",
        json!({"text": "13900000001\n139 0000 0002,投诉\nnot a number\n\n+8613900000001", "reason": "名单导入"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["added"], 2);
    assert_eq!(
        body["already"], 0,
        "the same number twice in one list counts once"
    );
    assert_eq!(
        body["invalid"],
        json!([3]),
        "bad lines are reported by line number"
    );
    let (_, again) = post(&sup, "/api/v1/dnc", json!({"numbers": ["13900000002"]})).await;
    assert_eq!(
        (again["added"].as_i64(), again["already"].as_i64()),
        (Some(0), Some(1))
    );
    let (_, list) = sup.get_json("/api/v1/dnc").await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["reason"], "名单导入");
    assert_eq!(
        sup.delete("/api/v1/dnc/139-0000-0001").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sup.delete("/api/v1/dnc/13900000001").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sup.delete("/api/v1/dnc/garbage").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let admin = app.api("admin").await;
    let (_, list) = admin.get_json("/api/v1/dnc").await;
    assert_eq!(list["total"], 1);
    let audits: i64 = leadline_store::db_run!(&app.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'dnc'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(audits, 3, "two additions and one removal");
}

#[tokio::test]
async fn the_settings_page_keeps_holidays_dispositions_and_the_do_not_call_list() {
    let app = TestApp::spawn().await;
    let agent = app.browser("agent_a1").await;
    let (status, _) = agent.get("/admin/workday").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A supervisor keeps the do-not-call list but does not see the admin sections.
    let sup = app.browser("sup_a").await;
    let (status, html) = sup.get("/admin/workday").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("勿扰名单") && !html.contains("id=\"dispositions\""));
    let csrf = sup.csrf("/admin/workday").await;
    let res = sup
        .post_form(
            "/admin/workday/dnc",
            &[
                ("_csrf", &csrf),
                ("numbers", "13900000009\nxx"),
                ("reason", "投诉"),
            ],
        )
        .await;
    let html = res.text().await.unwrap();
    assert!(
        html.contains("新增 1 个") && html.contains("无法识别的行：2"),
        "{html}"
    );
    assert!(html.contains("+8613900000009"));
    let res = sup
        .post_form(
            "/admin/workday/holidays",
            &[("_csrf", &csrf), ("day", "2026-10-01")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "holidays are the admin's"
    );
    // The admin adds a holiday and retires a disposition.
    let admin = app.browser("admin").await;
    let (_, html) = admin.get("/admin/workday").await;
    assert!(
        html.contains("id=\"dispositions\"")
            && html.contains("已接通")
            && html.contains("09:00–12:00, 14:00–18:00")
    );
    let csrf = admin.csrf("/admin/workday").await;
    let res = admin
        .post_form(
            "/admin/workday/holidays",
            &[
                ("_csrf", &csrf),
                ("day", "2026-10-01"),
                ("name", "国庆"),
                ("kind", "holiday"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get("/admin/workday").await;
    assert!(html.contains("2026-10-01 国庆"));
    let api = app.api("admin").await;
    let (_, list) = api.get_json("/api/v1/dispositions").await;
    let busy = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "busy")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = admin
        .post_form(
            "/admin/workday/dispositions/toggle",
            &[("_csrf", &csrf), ("id", &busy.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = api.get_json("/api/v1/dispositions").await;
    let busy = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "busy")
        .unwrap()
        .clone();
    assert_eq!(busy["active"], false);
    // The holiday is there for the API too.
    let (_, holidays) = api.get_json("/api/v1/holidays").await;
    assert_eq!(holidays["items"][0]["name"], "国庆");
}
