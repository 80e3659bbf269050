//! Collision cases (撞单) through the API: the whole escalation, the refusals, the ledger and
//! its penalties, two people entering the same number at once, the repeat-loser flag.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, mobile};

/// agent_a1 holds a number; agent_a2 enters it knowingly: returns (case id, a1's lead id).
async fn open_case(app: &TestApp, a1: &Api, a2: &Api, n: u32) -> (i64, i64) {
    let first = a1
        .create_lead(json!({"name": "王先生", "phone": mobile(n)}))
        .await;
    let res = a2
        .post(
            "/api/v1/leads",
            json!({"name": "王总", "phone": mobile(n), "allow_collision": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let second: Value = res.json().await.unwrap();
    // The answer does not reveal the lead a2 may not see.
    assert!(second["phones"][0]["collision_with"].is_null(), "{second}");
    let (_, cases) = a2.get_json("/api/v1/collisions?mine=true").await;
    let case = cases["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["new"]["lead"]["id"] == second["id"])
        .expect("the case")
        .clone();
    let _ = app;
    (case["id"].as_i64().unwrap(), first["id"].as_i64().unwrap())
}

async fn set_base_pay(app: &TestApp, user: leadline_domain::UserId, fen: i64) {
    leadline_store::db::sql::execute(
        &app.db,
        "UPDATE users SET base_pay_fen = $1 WHERE id = $2",
        vec![
            leadline_store::db::sql::Arg::I64(fen),
            leadline_store::db::sql::Arg::I64(user.0),
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_two_settle_it_between_themselves_without_penalty() {
    let app = TestApp::spawn().await;
    let (a1, a2) = (app.api("agent_a1").await, app.api("agent_a2").await);
    let (id, first) = open_case(&app, &a1, &a2, 1).await;
    let (status, case) = a2.get_json(&format!("/api/v1/collisions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["stage"], "parties");
    assert!(
        case["existing"]["lead"].is_null(),
        "a2 may not see a1's lead"
    );
    assert_eq!(case["existing"]["person"]["name"], "张伟");
    assert!(case["existing"]["owned_since"].is_string());
    // a2 proposes that a1 keeps it; a1 accepts.
    let res = a2
        .post(
            &format!("/api/v1/collisions/{id}/settle"),
            json!({"winner_id": app.org.agent_a1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = a1
        .post(
            &format!("/api/v1/collisions/{id}/settle"),
            json!({"winner_id": app.org.agent_a1.0}),
        )
        .await;
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["status"], "settled");
    assert_eq!(case["decision_stage"], "parties");
    let (_, lead) = a1.get_json(&format!("/api/v1/leads/{first}")).await;
    assert_eq!(lead["owner_id"], app.org.agent_a1.0);
    let (_, rows) = app
        .api("admin")
        .await
        .get_json("/api/v1/collision-ledger")
        .await;
    let rows = rows["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["penalty_bp"] == 0));
}

#[tokio::test]
async fn cannot_settle_then_the_supervisor_decides_then_the_appeal_goes_to_leadership() {
    let app = TestApp::spawn().await;
    let (a1, a2) = (app.api("agent_a1").await, app.api("agent_a2").await);
    let (sup_a, sup_b, admin) = (
        app.api("sup_a").await,
        app.api("sup_b").await,
        app.api("admin").await,
    );
    set_base_pay(&app, app.org.agent_a1, 456_789).await;
    set_base_pay(&app, app.org.agent_a2, 300_000).await;
    let (id, first) = open_case(&app, &a1, &a2, 2).await;
    let path = format!("/api/v1/collisions/{id}");
    // Before escalation: the supervisor may see it but not decide yet; an agent never.
    let res = sup_a
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.agent_a2.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = a1.post(&format!("{path}/escalate"), json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["stage"], "supervisor");
    assert_eq!(case["penalty_bp"], 3000);
    // An agent may not decide; another team's supervisor does not see the case.
    let res = a1
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.agent_a1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sup_b
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.agent_a1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(sup_b.get(&path).await.status(), StatusCode::NOT_FOUND);
    // Not a party as winner: 422.
    let res = sup_a
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.sup_a.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The supervisor gives it to a2, 30% each.
    let res = sup_a
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.agent_a2.0, "note": "a2 先联系"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["status"], "decided");
    assert_eq!(case["decision_stage"], "supervisor");
    let (status, lead) = a2.get_json(&format!("/api/v1/leads/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead["owner_id"], app.org.agent_a2.0);
    let (_, history) = a2.get_json(&format!("/api/v1/leads/{first}/history")).await;
    let _ = history;
    let (_, rows) = sup_a
        .get_json(&format!(
            "/api/v1/collision-ledger?user_id={}",
            app.org.agent_a1.0
        ))
        .await;
    let row = &rows["items"][0];
    assert_eq!(row["outcome"], "lost");
    assert_eq!(row["penalty_bp"], 3000);
    assert_eq!(row["penalty_fen"], 137_037);
    // A closed case is 409.
    let res = sup_a
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.agent_a1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "case_closed", "{body}");
    // The winner may not appeal; the loser does, and leadership decides at 50%.
    assert_eq!(
        a2.post(&format!("{path}/appeal"), json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    let res = a1.post(&format!("{path}/appeal"), json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let case: Value = res.json().await.unwrap();
    assert_eq!(
        (case["status"].as_str(), case["stage"].as_str()),
        (Some("open"), Some("leadership"))
    );
    let res = sup_a
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.agent_a1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = admin
        .post(
            &format!("{path}/decision"),
            json!({"winner_id": app.org.agent_a1.0}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, lead) = a1.get_json(&format!("/api/v1/leads/{first}")).await;
    assert_eq!(lead["owner_id"], app.org.agent_a1.0);
    let (_, rows) = admin.get_json("/api/v1/collision-ledger").await;
    let rows = rows["items"].as_array().unwrap();
    let counted: Vec<&Value> = rows
        .iter()
        .filter(|r| r["superseded_at"].is_null())
        .collect();
    assert_eq!(counted.len(), 2);
    let a1_row = counted
        .iter()
        .find(|r| r["user_id"] == app.org.agent_a1.0)
        .unwrap();
    assert_eq!(a1_row["outcome"], "won");
    assert_eq!(a1_row["penalty_bp"], 5000);
    assert_eq!(a1_row["penalty_fen"], 228_395);
    // Agents read their own rows only.
    assert_eq!(
        a2.get(&format!(
            "/api/v1/collision-ledger?user_id={}",
            app.org.agent_a1.0
        ))
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}

/// Two reps enter the same customer at the same moment, willing to record a collision or not:
/// one owner of the number, and one case when they were.
#[tokio::test]
async fn two_reps_entering_the_same_number_at_once_make_one_owner_and_one_case() {
    let app = TestApp::spawn().await;
    let (a1, a2) = (app.api("agent_a1").await, app.api("agent_a2").await);
    for (round, allow) in [(10, true), (11, false)] {
        let body = json!({"name": "同一客户", "phone": mobile(round), "allow_collision": allow});
        let (r1, r2) = tokio::join!(
            a1.post("/api/v1/leads", body.clone()),
            a2.post("/api/v1/leads", body.clone())
        );
        let statuses = [r1.status(), r2.status()];
        let (_, cases) = app
            .api("admin")
            .await
            .get_json("/api/v1/collisions?status=all")
            .await;
        let on_number = cases["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["matched"]
                    .as_str()
                    .unwrap()
                    .ends_with(&mobile(round)[1..])
            })
            .count();
        if allow {
            assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CREATED]);
            assert_eq!(on_number, 1);
        } else {
            let mut s = statuses.to_vec();
            s.sort();
            assert_eq!(s, vec![StatusCode::CREATED, StatusCode::CONFLICT]);
            assert_eq!(on_number, 0);
        }
    }
}

#[tokio::test]
async fn a_person_who_keeps_losing_is_flagged_to_the_supervisor_once() {
    let app = TestApp::spawn().await;
    let (a1, a2, sup_a) = (
        app.api("agent_a1").await,
        app.api("agent_a2").await,
        app.api("sup_a").await,
    );
    for n in 0..4 {
        let (id, _) = open_case(&app, &a1, &a2, 20 + n).await;
        let path = format!("/api/v1/collisions/{id}");
        assert_eq!(
            a2.post(&format!("{path}/escalate"), json!({}))
                .await
                .status(),
            StatusCode::OK
        );
        let res = sup_a
            .post(
                &format!("{path}/decision"),
                json!({"winner_id": app.org.agent_a1.0}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let (_, rows) = sup_a
        .get_json(&format!(
            "/api/v1/collision-ledger?user_id={}",
            app.org.agent_a2.0
        ))
        .await;
    let flags: Vec<bool> = rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| r["repeat_flag"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, vec![false, false, true, true]);
    let told: i64 = match &app.db {
        leadline_store::Db::Sqlite(p) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'collision_repeat_loser'",
        )
        .bind(app.org.sup_a)
        .fetch_one(p)
        .await
        .unwrap(),
        leadline_store::Db::Postgres(p) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'collision_repeat_loser'",
        )
        .bind(app.org.sup_a)
        .fetch_one(p)
        .await
        .unwrap(),
    };
    assert_eq!(told, 1);
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// The pages, as plain forms: an agent enters a colleague's number, gets the collision screen
/// and submits the case; the two cannot settle; the supervisor decides; the ledger shows the
/// penalty in 元.
#[tokio::test]
async fn the_pages_take_a_case_from_the_entry_screen_to_the_ledger() {
    let app = TestApp::spawn().await;
    set_base_pay(&app, app.org.agent_a2, 456_789).await;
    let a1 = app.api("agent_a1").await;
    a1.create_lead(json!({"name": "陈女士", "phone": mobile(40)}))
        .await;
    let a2 = app.browser("agent_a2").await;
    let csrf = a2.csrf("/leads/new").await;
    let phone = mobile(40);
    let me = app.org.agent_a2.0.to_string();
    let fields = [
        ("_csrf", csrf.as_str()),
        ("name", "陈总"),
        ("phones", phone.as_str()),
        ("owner_id", me.as_str()),
    ];
    let res = a2.post_form("/leads", &fields).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"collision-screen\""), "{html}");
    assert!(html.contains("张伟"), "the owner is named");
    let mut with_case = fields.to_vec();
    with_case.push(("allow_collision", "on"));
    let res = a2.post_form("/leads", &with_case).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let case_path = location(&res);
    assert!(case_path.starts_with("/collisions/"), "{case_path}");
    let (status, html) = a2.get(&case_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"escalate\"") && html.contains("协商归属"),
        "{html}"
    );
    let res = a2
        .post_form(
            &format!("{case_path}/escalate"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sup = app.browser("sup_a").await;
    let (_, html) = sup.get(&case_path).await;
    assert!(
        html.contains("id=\"decide\"") && html.contains("30%"),
        "{html}"
    );
    let sup_csrf = sup.csrf(&case_path).await;
    let winner = app.org.agent_a1.0.to_string();
    let res = sup
        .post_form(
            &format!("{case_path}/decision"),
            &[
                ("_csrf", sup_csrf.as_str()),
                ("winner_id", winner.as_str()),
                ("note", "先录入"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = sup.get("/collision-ledger").await;
    // 30% of 4,567.89 yuan.
    assert!(html.contains("1370.37"), "{html}");
    let (_, html) = a2.get("/collisions?status=decided").await;
    assert!(html.contains(&case_path));
}
