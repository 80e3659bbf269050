//! The agent's workspace API: today's numbers and revisits, daily plans, targets, the ticker and
//! the supervisor's live view, with the refusals each role meets.

use chrono::TimeDelta;
use leadline_domain::{LeadId, UserId};
use leadline_store::{Db, now};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile, post, put};

async fn lead(api: &Api, name: &str, n: u32) -> LeadId {
    let v = api
        .create_lead(json!({"name": name, "phones": [mobile(n)]}))
        .await;
    LeadId(v["id"].as_i64().unwrap())
}

/// Gives the lead a revisit for `agent` at `at` (what a recorded call leaves behind).
async fn revisit(db: &Db, lead: LeadId, agent: UserId, at: chrono::DateTime<chrono::Utc>) {
    leadline_store::db_run!(db, |pool| sqlx::query(
        "UPDATE leads SET next_revisit_at = $1, revisit_agent_id = $2 WHERE id = $3"
    )
    .bind(at)
    .bind(agent)
    .bind(lead)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
}

#[tokio::test]
async fn the_supervisor_of_the_team_sets_targets_and_others_are_refused() {
    let app = TestApp::spawn().await;
    let agent = app.org.agent_a1.0;
    let path = format!("/api/v1/agents/{agent}/target");
    let sup_a = app.api("sup_a").await;
    let (status, body) = put(&sup_a, &path, json!({"daily_calls": 120})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["daily_calls"], 120);
    for who in ["agent_a1", "agent_a2", "sup_b", "sales1"] {
        let api = app.api(who).await;
        let (status, _) = put(&api, &path, json!({"daily_calls": 5})).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{who} may not set the target"
        );
    }
    let (status, body) = put(&sup_a, &path, json!({"daily_calls": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["details"]["problems"][0]["field"], "daily_calls");
    let (status, _) = put(&sup_a, &path, json!({"daily_calls": "many"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let admin = app.api("admin").await;
    let (status, _) = put(&admin, &path, json!({"daily_calls": 80})).await;
    assert_eq!(status, StatusCode::OK);
    // The agent sees the target that stuck; the refused and bad attempts changed nothing.
    let me = app.api("agent_a1").await;
    let (_, today) = me.get_json("/api/v1/agent/today").await;
    assert_eq!(today["target"], 80);
    assert_eq!(today["done"], 0);
    assert_eq!(today["remaining"], 80);
    let (_, other) = app
        .api("agent_a2")
        .await
        .get_json("/api/v1/agent/today")
        .await;
    assert_eq!(
        other["target"],
        leadline_store::workday::today::DEFAULT_DAILY_TARGET
    );
    let (status, _) = put(
        &admin,
        &format!("/api/v1/agents/{}/target", app.org.sup_a.0),
        json!({"daily_calls": 10}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "targets are for agents"
    );
}

#[tokio::test]
async fn the_plan_is_picked_or_filled_from_due_revisits_then_fresh_leads_up_to_the_target() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let sup = app.api("sup_a").await;
    let (status, _) = put(
        &sup,
        &format!("/api/v1/agents/{}/target", app.org.agent_a1.0),
        json!({"daily_calls": 4}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let date = "2031-03-04";
    // Two revisits of this agent due that day, fresh leads, and another agent's lead.
    let r1 = lead(&agent, "回访甲", 8001).await;
    let r2 = lead(&agent, "回访乙", 8002).await;
    let day = chrono::NaiveDate::from_ymd_opt(2031, 3, 4)
        .unwrap()
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    revisit(&app.db, r2, app.org.agent_a1, day).await;
    revisit(&app.db, r1, app.org.agent_a1, day - TimeDelta::hours(30)).await;
    let mut fresh = Vec::new();
    for n in 0..5 {
        fresh.push(lead(&agent, &format!("新客户{n}"), 8100 + n).await);
    }
    let b_lead = lead(&app.api("agent_b1").await, "别组客户", 8200).await;

    let (status, body) = agent
        .get_json(&format!("/api/v1/agent/plan?date={date}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["target"], 4);

    // Picking: a lead the agent may see goes in; another team's lead is not found.
    let (status, body) = post(
        &agent,
        "/api/v1/agent/plan",
        json!({"date": date, "lead_ids": [fresh[4].0]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["added"], 1);
    let (status, _) = post(
        &agent,
        "/api/v1/agent/plan",
        json!({"date": date, "lead_ids": [b_lead.0]}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &agent,
        "/api/v1/agent/plan",
        json!({"date": "tomorrow", "lead_ids": [fresh[0].0]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Filling: the revisits (oldest first), then fresh leads, to 4 in all.
    let (status, body) = post(&agent, "/api/v1/agent/plan/fill", json!({"date": date})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["filled"]["revisits"], 2);
    assert_eq!(body["filled"]["fresh"], 1);
    let items = body["plan"]["items"].as_array().unwrap();
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i["lead_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![fresh[4].0, r1.0, r2.0, fresh[0].0]);
    let sources: Vec<&str> = items
        .iter()
        .map(|i| i["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, vec!["picked", "revisit", "revisit", "fresh"]);
    // Full: filling again adds nothing; another agent's fill does not take planned leads.
    let (_, body) = post(&agent, "/api/v1/agent/plan/fill", json!({"date": date})).await;
    assert_eq!(body["filled"]["fresh"], 0);
    assert_eq!(body["plan"]["items"].as_array().unwrap().len(), 4);
    let a2 = app.api("agent_a2").await;
    let (_, body) = post(&a2, "/api/v1/agent/plan/fill", json!({"date": date})).await;
    let theirs: Vec<i64> = body["plan"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lead_id"].as_i64().unwrap())
        .collect();
    assert!(theirs.iter().all(|id| !ids.contains(id)), "{theirs:?}");
    // Removing one.
    let res = agent
        .delete(&format!("/api/v1/agent/plan/{}?date={date}", fresh[0].0))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, body) = agent
        .get_json(&format!("/api/v1/agent/plan?date={date}"))
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn only_the_admin_manages_ticker_sentences_and_everyone_reads_them() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    for who in ["agent_a1", "sup_a", "sales1"] {
        let (status, _) = post(
            &app.api(who).await,
            "/api/v1/ticker",
            json!({"body": "我也想加一句"}),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    let (status, _) = post(&admin, "/api/v1/ticker", json!({"body": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, m) = post(
        &admin,
        "/api/v1/ticker",
        json!({"body": "每一个电话都是机会！"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let agent = app.api("agent_a1").await;
    let (status, t) = agent.get_json("/api/v1/ticker").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["messages"][0]["body"], "每一个电话都是机会！");
    assert!(
        t["lines"]
            .as_array()
            .unwrap()
            .contains(&json!("每一个电话都是机会！"))
    );
    let path = format!("/api/v1/ticker/{}", m["id"]);
    assert_eq!(agent.delete(&path).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(admin.delete(&path).await.status(), StatusCode::NOT_FOUND);
    let (_, t) = agent.get_json("/api/v1/ticker").await;
    assert_eq!(t["messages"], json!([]));
}

#[tokio::test]
async fn today_lists_due_and_overdue_revisits_and_the_supervisor_sees_the_overdue_ones() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let overdue = lead(&agent, "逾期客户", 8301).await;
    let due = lead(&agent, "到期客户", 8302).await;
    let later = lead(&agent, "稍后客户", 8303).await;
    let t = now();
    revisit(&app.db, overdue, app.org.agent_a1, t - TimeDelta::hours(3)).await;
    revisit(&app.db, due, app.org.agent_a1, t - TimeDelta::minutes(1)).await;
    revisit(&app.db, later, app.org.agent_a1, t + TimeDelta::days(2)).await;
    let (_, today) = agent.get_json("/api/v1/agent/today").await;
    let r = today["revisits"].as_array().unwrap();
    let names: Vec<&str> = r.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["逾期客户", "到期客户", "稍后客户"]);
    assert_eq!(
        (r[0]["due"].clone(), r[0]["overdue"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        (r[1]["due"].clone(), r[1]["overdue"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        (r[2]["due"].clone(), r[2]["overdue"].clone()),
        (json!(false), json!(false))
    );

    let (status, live) = app
        .api("sup_a")
        .await
        .get_json("/api/v1/supervisor/live")
        .await;
    assert_eq!(status, StatusCode::OK);
    let flagged: Vec<&str> = live["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, vec!["逾期客户"]);
    assert_eq!(live["overdue"][0]["agent_name"], "张伟");
    let row = live["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == app.org.agent_a1.0)
        .unwrap()
        .clone();
    assert_eq!(row["overdue_revisits"], 1);
    // The other team's supervisor does not see this team's overdue revisits.
    let (_, other) = app
        .api("sup_b")
        .await
        .get_json("/api/v1/supervisor/live")
        .await;
    assert_eq!(other["overdue"], json!([]));
}

#[tokio::test]
async fn the_live_view_is_refused_to_agents_and_shows_each_supervisor_their_teams() {
    let app = TestApp::spawn().await;
    for who in ["agent_a1", "sales1"] {
        let (status, _) = app.api(who).await.get_json("/api/v1/supervisor/live").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    let (_, live) = app
        .api("sup_a")
        .await
        .get_json("/api/v1/supervisor/live")
        .await;
    let names: Vec<&str> = live["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"张伟") && names.contains(&"李娜"));
    let (_, all) = app
        .api("admin")
        .await
        .get_json("/api/v1/supervisor/live")
        .await;
    assert_eq!(all["agents"].as_array().unwrap().len(), 3);
    assert_eq!(all["teams"].as_array().unwrap().len(), 2);
}

/// Opens every calling window (all day, every day), so the test runs at any hour.
pub(crate) async fn open_all_hours(app: &TestApp) {
    leadline_store::db_run!(&app.db, |pool| {
        sqlx::query("DELETE FROM calling_windows")
            .execute(pool)
            .await
            .unwrap();
        for weekday in 1..=7i64 {
            sqlx::query(
                "INSERT INTO calling_windows (team_id, weekday, start_minute, end_minute) VALUES (NULL, $1, 0, 1440)",
            )
            .bind(weekday)
            .execute(pool)
            .await
            .unwrap();
        }
    });
}

async fn record(api: &Api, lead: LeadId, body: Value) -> Value {
    let (status, v) = post(api, &format!("/api/v1/leads/{}/calls", lead.0), body).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

async fn next_call(api: &Api) -> Option<i64> {
    let res = api.post("/api/v1/agent/next-call", json!({})).await;
    match res.status() {
        StatusCode::NO_CONTENT => None,
        StatusCode::OK => res.json::<Value>().await.unwrap()["lead"]["id"].as_i64(),
        other => panic!("next-call answered {other}"),
    }
}

#[tokio::test]
async fn next_call_serves_due_revisits_first_then_the_plan_the_agent_filled() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let sup = app.api("sup_a").await;
    put(
        &sup,
        &format!("/api/v1/agents/{}/target", app.org.agent_a1.0),
        json!({"daily_calls": 3}),
    )
    .await;
    let fresh_1 = lead(&agent, "新线索一", 8401).await;
    let fresh_2 = lead(&agent, "新线索二", 8402).await;
    let picked = lead(&agent, "自选客户", 8403).await;
    let due = lead(&agent, "到期回访", 8404).await;
    revisit(
        &app.db,
        due,
        app.org.agent_a1,
        now() - TimeDelta::minutes(10),
    )
    .await;
    // Today's plan: the picked lead, then the fill (the due revisit, then one fresh lead).
    let (status, _) = post(
        &agent,
        "/api/v1/agent/plan",
        json!({"lead_ids": [picked.0]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, filled) = post(&agent, "/api/v1/agent/plan/fill", json!({})).await;
    let planned: Vec<i64> = filled["plan"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lead_id"].as_i64().unwrap())
        .collect();
    assert_eq!(planned, vec![picked.0, due.0, fresh_1.0]);

    // The due revisit first, then the plan in its order; the unplanned fresh lead last.
    let mut served = Vec::new();
    while let Some(id) = next_call(&agent).await {
        served.push(id);
        record(&agent, LeadId(id), json!({"disposition": "wrong_number"})).await;
        assert!(served.len() <= 4, "{served:?}");
    }
    assert_eq!(served, vec![due.0, picked.0, fresh_1.0, fresh_2.0]);
    let (_, plan) = agent.get_json("/api/v1/agent/plan").await;
    assert!(
        plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| !i["done_at"].is_null()),
        "every planned lead is done: {plan}"
    );
    let (_, today) = agent.get_json("/api/v1/agent/today").await;
    assert_eq!(today["done"], 4);
    assert_eq!(today["remaining"], 0);
}

#[tokio::test]
async fn live_view_numbers_equal_the_recorded_calls() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let b1 = app.api("agent_b1").await;
    let l1 = lead(&a1, "客户一", 8501).await;
    let l2 = lead(&a1, "客户二", 8502).await;
    let l3 = lead(&a1, "客户三", 8503).await;
    let l4 = lead(&a2, "客户四", 8504).await;
    let l5 = lead(&b1, "客户五", 8505).await;
    let calls = [
        (&a1, l1, "connected", Some("interested"), 60),
        (&a1, l2, "no_answer", None, 0),
        (&a1, l3, "qualified", Some("strong_demand"), 120),
        (&a2, l4, "busy", None, 0),
        (&b1, l5, "connected", None, 30),
    ];
    for (api, lead, disposition, intent, duration) in calls {
        record(
            api,
            lead,
            json!({"disposition": disposition, "intent": intent, "duration_s": duration}),
        )
        .await;
    }
    // What the recorded calls add up to, by the dispositions' own flags.
    let (_, d) = a1.get_json("/api/v1/dispositions").await;
    let flags = |code: &str, flag: &str| {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == code)
            .map(|x| x[flag] == true)
            .unwrap()
    };
    let expect = |agent: &Api| {
        let mine: Vec<_> = calls.iter().filter(|c| std::ptr::eq(c.0, agent)).collect();
        let count = |flag: &str| mine.iter().filter(|c| flags(c.2, flag)).count() as i64;
        json!({
            "calls": mine.len(),
            "connected": count("connected"),
            "valid_conversations": count("valid_conversation"),
            "qualified": count("qualified"),
            "talk_s": mine.iter().filter(|c| flags(c.2, "connected")).map(|c| c.4).sum::<i64>(),
        })
    };
    let (status, live) = app
        .api("sup_a")
        .await
        .get_json("/api/v1/supervisor/live")
        .await;
    assert_eq!(status, StatusCode::OK);
    let row = |id: UserId| {
        live["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent_id"] == id.0)
            .cloned()
            .unwrap()
    };
    for (api, id) in [(&a1, app.org.agent_a1), (&a2, app.org.agent_a2)] {
        let r = row(id);
        let e = expect(api);
        for k in [
            "calls",
            "connected",
            "valid_conversations",
            "qualified",
            "talk_s",
        ] {
            assert_eq!(r[k], e[k], "{k} of agent {}", id.0);
        }
    }
    let a1_row = row(app.org.agent_a1);
    assert_eq!(
        a1_row["progress_pct"],
        3 * 100 / a1_row["target"].as_i64().unwrap()
    );
    // Team A's totals are its two agents' sums; team B's agent is not in this view.
    assert_eq!(live["teams"].as_array().unwrap().len(), 1);
    assert_eq!(live["teams"][0]["stats"]["calls"], 4);
    assert_eq!(live["teams"][0]["stats"]["qualified"], 1);
    assert!(
        live["agents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["agent_id"] != app.org.agent_b1.0)
    );
    // The agent's own header agrees.
    let (_, today) = a1.get_json("/api/v1/agent/today").await;
    assert_eq!(today["done"], 3);
    // The qualified call is the team's achievement on the ticker, in the reader's language.
    let (_, ticker) = a2.get_json("/api/v1/ticker").await;
    let lines: Vec<&str> = ticker["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(lines.contains(&"张伟 刚刚转出一个合格客户"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("通话 4 个")), "{lines:?}");
    let (_, other_team) = b1.get_json("/api/v1/ticker").await;
    assert_eq!(other_team["achievements"], json!([]));
}

#[tokio::test]
async fn workspace_pages_show_the_day_and_refuse_the_wrong_roles() {
    let app = TestApp::spawn().await;
    let agent = app.browser("agent_a1").await;
    let (status, html) = agent.get("/workspace").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"next-call\""));
    assert!(html.contains("src=\"/static/workspace.js\""));
    assert!(!html.contains("<script>"), "no inline script");
    let (status, html) = agent.get("/workspace/plan").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"plan-fill\""));
    for path in ["/supervisor/live", "/admin/ticker"] {
        let (status, _) = agent.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let sup = app.browser("sup_a").await;
    let (status, html) = sup.get("/supervisor/live").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("张伟") && !html.contains("赵磊"));
    // A supervisor sets a target from the live view's form.
    let csrf = sup.csrf("/supervisor/live").await;
    let res = sup
        .post_form(
            &format!("/supervisor/targets/{}", app.org.agent_a1.0),
            &[("_csrf", &csrf), ("daily_calls", "90")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, today) = app
        .api("agent_a1")
        .await
        .get_json("/api/v1/agent/today")
        .await;
    assert_eq!(today["target"], 90);
    // The admin adds a ticker sentence; the agent's workspace scrolls it.
    let admin = app.browser("admin").await;
    let csrf = admin.csrf("/admin/ticker").await;
    let res = admin
        .post_form(
            "/admin/ticker",
            &[("_csrf", &csrf), ("body", "坚持就是胜利")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = agent.get("/workspace").await;
    assert!(html.contains("坚持就是胜利"));
}

#[tokio::test]
async fn the_call_form_is_prefilled_with_the_revisit_the_rule_then_schedules() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    let agent = app.api("agent_a1").await;
    let l = lead(&agent, "预填客户", 8601).await;
    let path = format!(
        "/api/v1/agent/revisit-preview?lead_id={}&disposition=connected&intent=interested",
        l.0
    );
    let (status, preview) = agent.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["attempt"], 1);
    let predicted: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(preview["next_revisit_at"].clone()).unwrap();
    // Connected and interested: the default rule calls again a day later.
    let ahead = predicted - now();
    assert!(
        ahead > TimeDelta::hours(23) && ahead <= TimeDelta::days(1),
        "{ahead}"
    );
    let recorded = record(
        &agent,
        l,
        json!({"disposition": "connected", "intent": "interested"}),
    )
    .await;
    assert_eq!(recorded["rule_id"], preview["rule_id"]);
    let scheduled: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(recorded["next_revisit_at"].clone()).unwrap();
    assert!(scheduled >= predicted && scheduled - predicted < TimeDelta::minutes(1));
    // Bad questions get clear answers; another agent's lead is not found.
    let (status, body) = agent
        .get_json(&format!("/api/v1/agent/revisit-preview?lead_id={}", l.0))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "disposition_required");
    let (status, body) = agent
        .get_json(&format!(
            "/api/v1/agent/revisit-preview?lead_id={}&disposition=connected&intent=maybe",
            l.0
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "intent_invalid");
    let (status, _) = app.api("agent_b1").await.get_json(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_lists_the_workspace_endpoints() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/agent/today",
        "/api/v1/agent/events",
        "/api/v1/agent/plan",
        "/api/v1/agent/plan/fill",
        "/api/v1/agents/{id}/target",
        "/api/v1/ticker",
        "/api/v1/supervisor/live",
        "/api/v1/agent/revisit-preview",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}
