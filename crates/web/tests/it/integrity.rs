//! No write past visibility, no silent change (issue 21, "Integrity"): an import never fills nor
//! counts a lead its importer may not see; a PATCH value of the wrong type is refused naming its
//! field; a call cites only a script its agent may see, and a missing one is refused the same
//! way; the duplicate-phone answer names the owner and since when, not a lead the asker may not
//! see, and each such look-up is in the lead's audit trail.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_imports::{bom_csv, import_done};
use crate::calls::open_all_day;
use crate::helpers::{Api, TestApp, mobile, post};

fn counts(job: &Value) -> [i64; 5] {
    let c = &job["counts"];
    ["imported", "updated", "skipped", "collisions", "failed"].map(|k| c[k].as_i64().unwrap())
}

async fn lead_json(api: &Api, id: &Value) -> Value {
    let (status, lead) = api.get_json(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{lead}");
    lead
}

/// The actions of a lead's audit trail, each with who did it: (action, actor's name).
async fn history(api: &Api, id: &Value) -> Vec<(String, String)> {
    let (status, h) = api.get_json(&format!("/api/v1/leads/{id}/history")).await;
    assert_eq!(status, StatusCode::OK, "{h}");
    h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or_default().to_string(),
                c["actor_name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The refused rows' report of an import, as text.
async fn error_report(api: &Api, job: &Value) -> String {
    let res = api
        .get(&format!("/api/v1/imports/{}/errors", job["id"]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    String::from_utf8_lossy(&res.bytes().await.unwrap()).into_owned()
}

/// Supervisor sup_a (team 1) imports a file with the number of agent_b1's lead (team 2) and the
/// number of agent_a1's lead (team 1). Under "update" only the team-1 lead is filled; the
/// team-2 lead keeps its title, its version and its history, and its row is counted as refused
/// with a reason that names no lead, not as updated nor skipped; the same under "skip". Runs
/// the SQLite batch writer or the PostgreSQL pipeline, whichever backend the tests run on.
#[tokio::test]
async fn an_import_neither_fills_nor_counts_a_lead_the_importer_may_not_see() {
    let app = TestApp::spawn().await;
    let b1 = app.api("agent_b1").await;
    let a1 = app.api("agent_a1").await;
    let sup = app.api("sup_a").await;
    let theirs = b1
        .create_lead(json!({"name": "赵隐秘", "phone": mobile(7001)}))
        .await;
    let ours = a1
        .create_lead(json!({"name": "钱经理", "phone": mobile(7002)}))
        .await;
    let file = |title_a: &str, title_b: &str| {
        bom_csv(&format!(
            "姓名,手机,职位\r\n冒名,{},{title_b}\r\n钱经理,{},{title_a}\r\n",
            mobile(7001),
            mobile(7002)
        ))
    };

    let job = import_done(
        &sup,
        "更新.csv",
        file("采购经理", "采购总监"),
        &[("on_duplicate", "update")],
    )
    .await;
    assert_eq!(
        counts(&job),
        [0, 1, 0, 0, 1],
        "one update (team 1), one refused (team 2): {job}"
    );
    let kept = lead_json(&b1, &theirs["id"]).await;
    assert_eq!(kept["title"], Value::Null, "not filled: {kept}");
    assert_eq!(kept["version"], theirs["version"]);
    assert_eq!(
        history(&b1, &theirs["id"]).await,
        [("create".to_string(), "赵磊".to_string())],
        "nothing by the importer in its trail"
    );
    assert_eq!(lead_json(&a1, &ours["id"]).await["title"], "采购经理");
    let report = error_report(&sup, &job).await;
    assert!(
        report.contains("第 2 行") && report.contains("他人负责"),
        "{report}"
    );
    assert!(
        !report.contains("赵隐秘") && !report.contains(&theirs["id"].to_string()),
        "the reason names no lead: {report}"
    );

    let job = import_done(
        &sup,
        "跳过.csv",
        file("经理", "总监"),
        &[("on_duplicate", "skip")],
    )
    .await;
    assert_eq!(
        counts(&job),
        [0, 0, 1, 0, 1],
        "only the team-1 lead is a duplicate: {job}"
    );
    assert_eq!(
        lead_json(&b1, &theirs["id"]).await["version"],
        theirs["version"]
    );
}

/// Values of the wrong JSON type in a PATCH are refused with 422 naming the field, and the lead
/// is as it was: `owner_id: 1.5` used to put the lead in the pool and `phones: [null]` to delete
/// every phone, both with 200.
#[tokio::test]
async fn a_patch_value_of_the_wrong_type_is_refused_naming_its_field() {
    let app = TestApp::spawn().await;
    let a1 = app.api("agent_a1").await;
    let lead = a1
        .create_lead(json!({"name": "孙女士", "phones": [mobile(7101), mobile(7102)], "tags": ["老客户"], "status": "contacted"}))
        .await;
    let path = format!("/api/v1/leads/{}", lead["id"]);
    for (field, value) in [
        ("owner_id", json!(1.5)),
        ("owner_id", json!(18446744073709551615u64)),
        ("owner_id", json!("4")),
        ("phones", json!([null])),
        ("phones", json!([mobile(7101), null])),
        ("phone", json!([null])),
        ("tags", json!([null])),
        ("status", json!(null)),
        ("name", json!(null)),
        ("pool", json!("true")),
        ("pool", json!(1)),
        ("allow_collision", json!("yes")),
        ("company", json!(["华为"])),
        ("custom", json!(null)),
    ] {
        let res = a1.patch(&path, json!({ field: value })).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {value} → {body}"
        );
        assert_eq!(
            body["details"]["problems"][0]["field"], field,
            "{field}: {value} → {body}"
        );
    }
    let now = lead_json(&a1, &lead["id"]).await;
    assert_eq!(now["version"], lead["version"], "nothing written: {now}");
    assert_eq!(now["owner_id"], json!(app.org.agent_a1.0));
    assert_eq!(now["phones"], lead["phones"]);
    assert_eq!(now["tags"], json!(["老客户"]));
    assert_eq!(now["status"], "contacted");

    // The right types still work: null clears what may be empty, `pool: true` gives it away.
    let res = a1
        .patch(
            &path,
            json!({"company": null, "phones": [mobile(7102)], "pool": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["owner_id"], Value::Null);
    assert_eq!(changed["phones"].as_array().unwrap().len(), 1);
}

async fn script(api: &Api, shared: bool) -> i64 {
    let (status, s) = post(
        api,
        "/api/v1/scripts",
        json!({"title": "开场白", "body": "您好", "shared": shared}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    s["id"].as_i64().unwrap()
}

/// A call may cite a script its agent may see (their own, a shared one), not another agent's
/// private script: that is refused exactly as a script that does not exist (422 naming
/// `script_id`, not 201 nor a 500), nothing is recorded and the script's uses do not move.
#[tokio::test]
async fn a_call_cites_only_a_script_its_agent_may_see_and_a_missing_one_is_no_500() {
    let app = TestApp::spawn().await;
    open_all_day(&app.api("admin").await).await;
    let a1 = app.api("agent_a1").await;
    let a2 = app.api("agent_a2").await;
    let private = script(&a2, false).await;
    let shared = script(&a2, true).await;
    let own = script(&a1, false).await;
    let lead = a1
        .create_lead(json!({"name": "周先生", "phone": mobile(7201)}))
        .await;
    let calls = format!("/api/v1/leads/{}/calls", lead["id"]);

    let mut refusals = Vec::new();
    for sid in [private, 987_654_321] {
        let (status, body) = post(
            &a1,
            &calls,
            json!({"disposition": "no_answer", "script_id": sid}),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "script {sid}: {body}"
        );
        assert_eq!(
            body["details"]["problems"][0]["field"], "script_id",
            "{body}"
        );
        refusals.push(body);
    }
    assert_eq!(
        refusals[0], refusals[1],
        "a private script and a missing one get the same answer"
    );
    let (_, s) = a2.get_json(&format!("/api/v1/scripts/{private}")).await;
    assert_eq!(s["usage"]["uses"], 0, "{s}");
    let (_, listed) = a1.get_json(&calls).await;
    assert_eq!(listed["items"], json!([]), "no call recorded");

    for sid in [shared, own] {
        let (status, body) = post(
            &a1,
            &calls,
            json!({"disposition": "no_answer", "script_id": sid}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "script {sid}: {body}");
    }
    let (_, s) = a2.get_json(&format!("/api/v1/scripts/{shared}")).await;
    assert_eq!(s["usage"]["uses"], 1, "{s}");
}

/// agent_a1 types a number that agent_b1's lead holds: the answer names agent_b1 and since when
/// they hold it (the lead's creation here), but not the lead's id or name, in the API and on
/// the lead form alike; each such look-up is in the lead's audit trail. A supervisor of team 2,
/// who may see the lead, is told which lead it is, and nothing is audited for that.
#[tokio::test]
async fn the_duplicate_answer_names_the_owner_and_since_when_not_a_hidden_lead() {
    let app = TestApp::spawn().await;
    let b1 = app.api("agent_b1").await;
    let a1 = app.api("agent_a1").await;
    let held = b1
        .create_lead(json!({"name": "刘隐秘", "phone": "138 0013 8000"}))
        .await;
    let id = held["id"].as_i64().unwrap();
    let created: DateTime<Utc> = held["created_at"].as_str().unwrap().parse().unwrap();

    let res = a1
        .post(
            "/api/v1/leads",
            json!({"name": "刘总", "phone": "+86 138-0013-8000"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "duplicate_phone");
    assert_eq!(err["details"]["existing_lead"], Value::Null, "{err}");
    assert_eq!(err["details"]["owner"]["name"], "赵磊", "{err}");
    assert_eq!(err["details"]["owner"]["id"], json!(app.org.agent_b1.0));
    let since: DateTime<Utc> = err["details"]["owner_since"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(since, created, "{err}");
    let text = err.to_string();
    assert!(
        !text.contains("刘隐秘")
            && !text.contains(&format!("#{id}"))
            && !text.contains(&format!("\"id\":{id}")),
        "the lead itself is not named: {text}"
    );
    assert!(err["message"].as_str().unwrap().contains("赵磊"), "{err}");

    // The same through a change of a1's own lead, and through the lead form.
    let own = a1
        .create_lead(json!({"name": "刘总", "phone": mobile(7301)}))
        .await;
    let res = a1
        .patch(
            &format!("/api/v1/leads/{}", own["id"]),
            json!({"phones": [mobile(7301), "13800138000"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["details"]["existing_lead"], Value::Null, "{err}");
    assert!(!err.to_string().contains("刘隐秘"), "{err}");
    let page = app.browser("agent_a1").await;
    let csrf = page.csrf("/leads/new").await;
    let res = page
        .post_form(
            "/leads",
            &[
                ("_csrf", csrf.as_str()),
                ("name", "刘先生"),
                ("phones", "13800138000"),
            ],
        )
        .await;
    let html = res.text().await.unwrap();
    assert!(html.contains("赵磊"), "the form names the owner");
    assert!(
        !html.contains("刘隐秘") && !html.contains(&format!("#{id}")),
        "the form does not name the lead"
    );

    let trail = history(&b1, &held["id"]).await;
    let lookups: Vec<&(String, String)> =
        trail.iter().filter(|(a, _)| a == "phone_lookup").collect();
    assert_eq!(lookups.len(), 3, "each look-up is audited: {trail:?}");
    assert!(lookups.iter().all(|(_, who)| who == "张伟"), "{trail:?}");

    // Someone who may see the lead is told which one it is; that is no look-up to audit.
    let sup_b = app.api("sup_b").await;
    let res = sup_b
        .post(
            "/api/v1/leads",
            json!({"name": "刘总", "phone": "13800138000"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["details"]["existing_lead"]["id"], id, "{err}");
    assert_eq!(err["details"]["existing_lead"]["name"], "刘隐秘");
    assert_eq!(history(&b1, &held["id"]).await.len(), trail.len());
}
