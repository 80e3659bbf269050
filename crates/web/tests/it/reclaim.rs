//! Reclaim rules, protection and the reclaim job over HTTP (issue 22): who may read and write
//! the rules, the recount a change queues, a supervisor's protection and its cap, a deal, and
//! the pass run as a job by several workers at once reclaiming each record once.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use leadline_domain::ownership::RuleScope;
use leadline_engine::jobs_runner::{Hub, Registry, Worker};
use leadline_engine::reclaim_job;
use leadline_store::db::sql::{Arg, execute};
use leadline_store::ownership::reclaim;
use leadline_store::{Db, db_run, jobs, now};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

async fn put(api: &Api, path: &str, body: Value) -> (StatusCode, Value) {
    let res = api
        .http
        .put(format!("{}{path}", api.base))
        .bearer_auth(api.token.as_deref().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn send(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().map(|s| s.parse().unwrap())
}

/// Waits until every job of `kind` queued so far is done (the server's worker runs them).
async fn until_kind_done(db: &Db, kind: &str) {
    for _ in 0..300 {
        let open: i64 = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND status <> 'done'"
        )
        .bind(kind)
        .fetch_one(pool)
        .await
        .unwrap());
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the {kind} jobs did not finish");
}

/// Moves a lead's start of ownership back, and recomputes its countdown from the stored facts.
async fn owned_since(db: &Db, lead: i64, since: DateTime<Utc>) {
    execute(
        db,
        "UPDATE leads SET owned_since = $2 WHERE id = $1",
        vec![Arg::I64(lead), Arg::Time(since)],
    )
    .await
    .unwrap();
    reclaim::recount(db, &[RuleScope::default()]).await.unwrap();
}

#[tokio::test]
async fn rules_are_read_by_supervisors_written_by_admins_and_recounted() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let sup = app.api("sup_a").await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(
            json!({"name": "王总", "company": "杭州某某科技有限公司", "phones": [mobile(9101)]}),
        )
        .await;
    let id = lead["id"].as_i64().unwrap();
    let start = now() - TimeDelta::days(1);
    owned_since(&app.db, id, start).await;

    assert_eq!(
        agent.get_json("/api/v1/reclaim-rules").await.0,
        StatusCode::FORBIDDEN
    );
    let (st, body) = sup.get_json("/api/v1/reclaim-rules").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["basis"], "no_valid_follow_up");
    assert_eq!(body["items"][0]["days"], 15);
    assert_eq!(body["warn_days"], "3,1");
    assert_eq!(body["protection_cap_per_person"], 20);

    let rule = json!({"basis": "no_valid_follow_up", "days": 30, "kind": "company"});
    assert_eq!(
        sup.post("/api/v1/reclaim-rules", rule.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let (st, bad) = send(
        admin
            .post(
                "/api/v1/reclaim-rules",
                json!({"basis": "never", "days": 30}),
            )
            .await,
    )
    .await;
    assert_eq!(
        (st, bad["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
    );
    let (st, created) = send(admin.post("/api/v1/reclaim-rules", rule).await).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let rule_id = created["id"].as_i64().unwrap();
    assert_eq!(created["scope"]["kind"], "company");
    until_kind_done(&app.db, "reclaim_recount").await;
    let (_, got) = agent.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(time(&got["reclaim_at"]), Some(start + TimeDelta::days(30)));

    let path = format!("/api/v1/reclaim-rules/{rule_id}");
    let (st, _) = send(admin.patch(&path, json!({"days": 0})).await).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = send(admin.patch(&path, json!({"days": 3651})).await).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, changed) = send(admin.patch(&path, json!({"days": 40})).await).await;
    assert_eq!(st, StatusCode::OK, "{changed}");
    assert_eq!(
        changed["scope"]["kind"], "company",
        "a field left out is kept"
    );
    until_kind_done(&app.db, "reclaim_recount").await;
    let (_, got) = agent.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(time(&got["reclaim_at"]), Some(start + TimeDelta::days(40)));

    assert_eq!(admin.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(admin.delete(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        admin.patch(&path, json!({"days": 9})).await.status(),
        StatusCode::NOT_FOUND
    );
    until_kind_done(&app.db, "reclaim_recount").await;
    let (_, got) = agent.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(time(&got["reclaim_at"]), Some(start + TimeDelta::days(15)));

    // The warning days and the cap.
    let (st, _) = put(
        &sup,
        "/api/v1/reclaim-settings",
        json!({"warn_days": "5,2"}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = put(
        &admin,
        "/api/v1/reclaim-settings",
        json!({"warn_days": "0"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, s) = put(
        &admin,
        "/api/v1/reclaim-settings",
        json!({"warn_days": "2, 5", "protection_cap_per_person": 3}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    assert_eq!(
        (
            s["warn_days"].as_str(),
            s["protection_cap_per_person"].as_i64()
        ),
        (Some("5,2"), Some(3))
    );

    // Every change is in the audit trail.
    let audited: i64 = db_run!(&app.db, |pool| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'reclaim_rule' OR (entity = 'setting' AND CAST(after AS TEXT) LIKE '%reclaim_warn_days%')"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert_eq!(audited, 4);
}

#[tokio::test]
async fn protection_by_the_owners_supervisor_within_the_cap() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let sup_a = app.api("sup_a").await;
    let sup_b = app.api("sup_b").await;
    let agent = app.api("agent_a1").await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let lead = agent
            .create_lead(json!({"name": format!("客户{n}"), "phones": [mobile(9200 + n)]}))
            .await;
        ids.push(lead["id"].as_i64().unwrap());
    }
    let start = now() - TimeDelta::days(1);
    owned_since(&app.db, ids[0], start).await;
    let until = (now() + TimeDelta::days(60))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let path = format!("/api/v1/leads/{}/protection", ids[0]);
    let body = json!({"until": until, "reason": "大客户，年底签约"});

    let (st, _) = put(&agent, &path, body.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "an agent cannot protect");
    let (st, res) = put(&sup_b, &path, body.clone()).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "another team's lead is not shown: {res}"
    );
    let (st, res) = put(&sup_a, &path, json!({"until": "2020-01-01T00:00:00Z"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    let (st, res) = put(&sup_a, &path, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{res}");
    assert_eq!(time(&res["protected_until"]), time(&json!(until)));
    assert_eq!(time(&res["reclaim_at"]), time(&json!(until)));
    let (_, got) = agent.get_json(&format!("/api/v1/leads/{}", ids[0])).await;
    assert_eq!(time(&got["protected_until"]), time(&json!(until)));

    // The cap: one protected record per owner.
    let (st, _) = put(
        &admin,
        "/api/v1/reclaim-settings",
        json!({"protection_cap_per_person": 1}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, res) = put(
        &admin,
        &format!("/api/v1/leads/{}/protection", ids[1]),
        body.clone(),
    )
    .await;
    assert_eq!(
        (st, res["code"].as_str()),
        (StatusCode::CONFLICT, Some("protection_cap"))
    );
    // Protecting the same record again stays within the cap.
    assert_eq!(put(&sup_a, &path, body.clone()).await.0, StatusCode::OK);

    let (st, res) = send(sup_a.delete(&path).await).await;
    assert_eq!(st, StatusCode::OK, "{res}");
    assert_eq!(time(&res["reclaim_at"]), Some(start + TimeDelta::days(15)));
    assert_eq!(sup_b.delete(&path).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deal_keeps_the_record_for_good() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let lead = agent
        .create_lead(json!({"name": "签约客户", "phones": [mobile(9300)]}))
        .await;
    let id = lead["id"].as_i64().unwrap();
    owned_since(&app.db, id, now() - TimeDelta::days(20)).await;
    let path = format!("/api/v1/leads/{id}");
    let (_, got) = agent.get_json(&path).await;
    assert!(got["reclaim_at"].is_string());
    let version = got["version"].as_i64().unwrap();
    let (st, res) = send(
        agent
            .patch(&path, json!({"status": "converted", "version": version}))
            .await,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{res}");
    let (_, got) = agent.get_json(&path).await;
    assert!(got["reclaim_at"].is_null(), "{got}");
    assert!(got["deal_at"].is_string(), "{got}");
    let report = reclaim::run_pass(&app.db, now() + TimeDelta::days(400), 500)
        .await
        .unwrap();
    assert_eq!(report.reclaimed, 0);
}

#[tokio::test]
async fn the_reclaim_job_reclaims_each_record_once_with_several_workers() {
    let app = TestApp::spawn().await;
    let agent = app.api("agent_a1").await;
    let mut ids = Vec::new();
    for n in 0..30 {
        let lead = agent
            .create_lead(json!({"name": format!("到期客户{n}"), "phones": [mobile(9400 + n)]}))
            .await;
        ids.push(lead["id"].as_i64().unwrap());
    }
    let start = now() - TimeDelta::days(16);
    for id in &ids {
        execute(
            &app.db,
            "UPDATE leads SET owned_since = $2 WHERE id = $1",
            vec![Arg::I64(*id), Arg::Time(start)],
        )
        .await
        .unwrap();
    }
    reclaim::recount(&app.db, &[RuleScope::default()])
        .await
        .unwrap();
    assert!(reclaim::pass::has_work(&app.db, now()).await.unwrap());

    // Two more workers besides the server's: the minute's pass is queued by each, once.
    let at = now();
    let (ha, hb) = (Hub::new(), Hub::new());
    let first = reclaim_job::enqueue_pass(&app.db, &ha, at).await.unwrap();
    let again = reclaim_job::enqueue_pass(&app.db, &hb, at).await.unwrap();
    // (The server's own worker may have queued this minute's pass first.)
    assert_eq!(again, None, "one job a minute");
    let registry = Registry::standard(std::env::temp_dir());
    let (wa, wb) = (
        Worker::new(app.db.clone(), ha, registry.clone()),
        Worker::new(app.db.clone(), hb, registry),
    );
    let (ra, rb) = tokio::join!(wa.run_due(at), wb.run_due(at));
    ra.unwrap();
    rb.unwrap();
    until_kind_done(&app.db, "reclaim").await;
    if let Some(first) = first {
        assert_eq!(
            jobs::status(&app.db, first).await.unwrap().as_deref(),
            Some("done")
        );
    }

    let (events, owned, notes): (i64, i64, i64) = db_run!(&app.db, |pool| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM ownership_events WHERE action = 'reclaim'), \
         (SELECT COUNT(*) FROM leads WHERE owner_id IS NOT NULL), \
         (SELECT COUNT(*) FROM notifications WHERE kind = 'reclaimed')"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!((events, owned, notes), (30, 0, 30));
    // Back in the pool: a colleague sees it.
    let other = app.api("agent_b1").await;
    assert_eq!(
        other.get_json(&format!("/api/v1/leads/{}", ids[0])).await.0,
        StatusCode::OK
    );
    assert!(!reclaim::pass::has_work(&app.db, now()).await.unwrap());
}
