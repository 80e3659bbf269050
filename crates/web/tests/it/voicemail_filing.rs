//! Voicemail filing through the API on either backend (issue 27): an admin re-files a voicemail
//! and passes it to a supervisor, who is notified, lists it, hears the very WAV stored and marks
//! it done; every change is audited; agents, unknown ids, bad categories and stale versions are
//! refused; the same change sent twice at once is written and notified once.

use std::io::Cursor;
use std::time::Duration;

use leadline_store::telephony;
use leadline_store::workday::notifications;
use leadline_telephony::{pacing, wav};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp};

/// A WAV of `ms` milliseconds of a 440 Hz tone, as the call service records (8 kHz mono).
pub(crate) fn wav_of(ms: u64) -> Vec<u8> {
    let mut writer = wav::WavWriter::new(Cursor::new(Vec::new())).unwrap();
    writer
        .write_samples(&pacing::tone(440.0, Duration::from_millis(ms), 6000))
        .unwrap();
    writer.finish().unwrap().into_inner()
}

/// A voicemail left by a caller who chose `category`; its id and recording.
pub(crate) async fn left_voicemail(app: &TestApp, call: &str, category: &str) -> (i64, Vec<u8>) {
    let audio = wav_of(2_000);
    let id = telephony::record_voicemail(
        &app.db,
        call,
        "13800138000",
        category,
        2_000,
        &audio,
        leadline_store::now(),
    )
    .await
    .unwrap();
    (id, audio)
}

async fn patch(api: &Api, id: i64, body: Value) -> (StatusCode, Value) {
    let res = api.patch(&format!("/api/v1/voicemails/{id}"), body).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn voicemail_notices(app: &TestApp, user: leadline_domain::UserId) -> Vec<i64> {
    notifications::after(&app.db, user, 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == "voicemail_passed")
        .filter_map(|n| n.voicemail_id)
        .collect()
}

#[tokio::test]
async fn voicemails_refuse_agents_unknown_ids_bad_categories_and_stale_versions() {
    let app = TestApp::spawn().await;
    let (id, _) = left_voicemail(&app, "refusals@test", "complaint").await;
    let admin = app.api("admin").await;
    let agent = app.api("agent_a1").await;
    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    for path in ["/api/v1/voicemails/{id}", "/api/v1/voicemails/{id}/audio"] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }

    // Hearing: an agent it was not passed to is refused, an unknown id is not found.
    let res = agent.get(&format!("/api/v1/voicemails/{id}/audio")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = admin
        .get(&format!("/api/v1/voicemails/{}/audio", id + 1000))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (status, _) = patch(
        &admin,
        id + 1000,
        json!({"category": "praise", "version": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad input: a category or status outside the list, or no version.
    let (status, body) = patch(&admin, id, json!({"category": "spam", "version": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["details"]["problems"][0]["field"], "category",
        "{body}"
    );
    let (status, _) = patch(&admin, id, json!({"category": "praise"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = patch(&admin, id, json!({"status": "passed", "version": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = patch(&admin, id, json!({"assignee_id": 99_999, "version": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin.get_json("/api/v1/voicemails?category=spam").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin.get_json("/api/v1/voicemails?status=closed").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Roles: an agent may neither re-file it nor close it, and lists nothing.
    let (status, _) = patch(&agent, id, json!({"category": "praise", "version": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = patch(&agent, id, json!({"status": "done", "version": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = agent.get_json("/api/v1/voicemails").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["voicemails"], json!([]));

    // A stale version: the first change wins, the second is told the current version.
    let (status, body) = patch(&admin, id, json!({"category": "praise", "version": 1})).await;
    assert_eq!(
        (status, &body["version"]),
        (StatusCode::OK, &json!(2)),
        "{body}"
    );
    let (status, body) = patch(&admin, id, json!({"category": "inquiry", "version": 1})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "edit_conflict");
    assert_eq!(body["details"]["current_version"], 2, "{body}");
    let (_, list) = admin.get_json("/api/v1/voicemails").await;
    assert_eq!(list["voicemails"][0]["category"], "praise");
    // Nothing was passed to anyone, so nobody was told anything.
    assert!(voicemail_notices(&app, app.org.agent_a1).await.is_empty());
}

#[tokio::test]
async fn a_voicemail_passed_to_a_supervisor_notifies_them_and_they_hear_and_close_it() {
    let app = TestApp::spawn().await;
    let (id, audio) = left_voicemail(&app, "passed@test", "complaint").await;
    let admin = app.api("admin").await;
    let sup = app.api("sup_a").await;
    let agent = app.api("agent_a1").await;

    let (status, body) = patch(
        &admin,
        id,
        json!({"category": "suggestion", "assignee_id": app.org.sup_a.0,
            "note": "客户希望延长服务时间，请回电", "version": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["status"], &body["category"], &body["caller_category"]),
        (&json!("passed"), &json!("suggestion"), &json!("complaint"))
    );

    // The supervisor is told once, and lists it with the admin's note.
    assert_eq!(voicemail_notices(&app, app.org.sup_a).await, [id]);
    let (status, body) = sup.get_json("/api/v1/voicemails").await;
    assert_eq!(status, StatusCode::OK);
    let listed = body["voicemails"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["note"], "客户希望延长服务时间，请回电");
    assert_eq!(listed[0]["duration_s"], 2.0);
    let (_, done) = sup.get_json("/api/v1/voicemails?status=done").await;
    assert_eq!(done["voicemails"], json!([]));
    let (_, by_category) = sup.get_json("/api/v1/voicemails?category=suggestion").await;
    assert_eq!(by_category["voicemails"].as_array().unwrap().len(), 1);

    // The supervisor hears exactly the stored WAV; another agent still may not.
    let res = sup.get(&format!("/api/v1/voicemails/{id}/audio")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    assert_eq!(res.bytes().await.unwrap().as_ref(), audio.as_slice());
    let res = agent.get(&format!("/api/v1/voicemails/{id}/audio")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The supervisor may close it but not re-file it.
    let (status, _) = patch(&sup, id, json!({"category": "other", "version": 2})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = patch(&sup, id, json!({"status": "done", "version": 2})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["status"], &body["version"]),
        (&json!("done"), &json!(3))
    );

    // Each change is in the audit trail, by whom, before and after.
    let history = leadline_store::audit::history(&app.db, "voicemail", id)
        .await
        .unwrap();
    let trail: Vec<(&str, Option<leadline_domain::UserId>)> = history
        .iter()
        .map(|r| (r.action.as_str(), r.actor_id))
        .collect();
    assert_eq!(
        trail,
        [
            ("refile", Some(app.org.admin)),
            ("done", Some(app.org.sup_a))
        ]
    );
    let first = &history[0];
    assert_eq!(first.before.as_ref().unwrap().0["category"], "complaint");
    assert_eq!(
        first.after.as_ref().unwrap().0["assignee_id"],
        app.org.sup_a.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_refiling_submitted_twice_at_once_is_written_and_notified_once() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let mut ids = Vec::new();
    for round in 0..4 {
        let (id, _) = left_voicemail(&app, &format!("twice-{round}@test"), "other").await;
        let change = json!({"category": "complaint", "assignee_id": app.org.sup_b.0,
            "note": format!("第{round}条"), "version": 1});
        let (a, b) = tokio::join!(patch(&admin, id, change.clone()), patch(&admin, id, change));
        // Both answers show the one write.
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
        assert_eq!((&a.1["version"], &b.1["version"]), (&json!(2), &json!(2)));
        let history = leadline_store::audit::history(&app.db, "voicemail", id)
            .await
            .unwrap();
        assert_eq!(history.len(), 1, "round {round}");
        ids.push(id);
    }
    let mut told = voicemail_notices(&app, app.org.sup_b).await;
    told.sort_unstable();
    assert_eq!(told, ids);
}

#[tokio::test]
async fn the_pages_show_the_call_log_to_admins_and_refile_only_with_the_form_token() {
    let app = TestApp::spawn().await;
    let t0 = leadline_store::now();
    telephony::record_call(
        &app.db,
        &telephony::PhoneCallInput {
            sip_call_id: "log@test".into(),
            direction: telephony::Direction::Inbound,
            caller: "13900139000".into(),
            callee: "9000".into(),
            digits: "191".into(),
            hung_up_by: telephony::HungUpBy::Caller,
            queue: None,
            lookups: "[]".into(),
            started_at: t0,
            ended_at: t0 + chrono::TimeDelta::seconds(12),
        },
    )
    .await
    .unwrap();
    let (id, _) = left_voicemail(&app, "log@test", "complaint").await;

    let admin = app.browser("admin").await;
    let (status, html) = admin.get("/calls/inbound").await;
    assert_eq!(status, StatusCode::OK);
    for shown in ["来电记录", "13900139000", "191", "来电人挂断", "12 秒"] {
        assert!(html.contains(shown), "the call log shows {shown}");
    }
    let (status, html) = admin.get("/voicemails").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"refile-{id}\"")));
    assert!(html.contains(&format!("/api/v1/voicemails/{id}/audio")));

    let agent = app.browser("agent_a1").await;
    assert_eq!(agent.get("/calls/inbound").await.0, StatusCode::FORBIDDEN);
    let (status, html) = agent.get("/voicemails").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("voicemails-none") && !html.contains("nav-voicemails"));

    // A form without the page's token changes nothing; an agent's token is not an admin's.
    let path = format!("/voicemails/{id}");
    let res = admin
        .post_form(&path, &[("category", "praise"), ("version", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let csrf = agent.csrf("/voicemails").await;
    let res = agent
        .post_form(
            &path,
            &[("_csrf", &csrf), ("category", "praise"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, list) = app.api("admin").await.get_json("/api/v1/voicemails").await;
    assert_eq!(list["voicemails"][0]["category"], "complaint");

    let csrf = admin.csrf("/voicemails").await;
    let sup = app.org.sup_b.0.to_string();
    let res = admin
        .post_form(
            &path,
            &[
                ("_csrf", &csrf),
                ("category", "praise"),
                ("assignee_id", &sup),
                ("note", "表扬电话"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.api("sup_b").await.get_json("/api/v1/voicemails").await;
    assert_eq!(
        (
            &list["voicemails"][0]["category"],
            &list["voicemails"][0]["status"]
        ),
        (&json!("praise"), &json!("passed"))
    );
    // Now the supervisor's pages link the list.
    let (_, html) = app.browser("sup_b").await.get("/voicemails").await;
    assert!(html.contains("nav-voicemails") && html.contains("表扬电话"));
}
