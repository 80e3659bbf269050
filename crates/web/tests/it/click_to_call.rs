//! Issue 27, click-to-call on either backend with real parts: Kamailio, a baresip seat that
//! answers by itself, customers registered at Kamailio under their numbers (SIPp answering,
//! talking and hanging up; SIPp busy; baresip answering). The agent's seat rings first, then the
//! customer; the stored call has its result, times, who hung up and a recording as long as the
//! talk; the agent's record of it takes its start and length. Refusals (do-not-call, calling
//! hours, attempts, no seat, a lead not theirs, no call service) are never dialled.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::testkit::{Answer, Kamailio, Seat, free_address, scratch, write_prompts};
use leadline_telephony::wav;
use leadline_web::call_service::{self, CallServiceSettings};
use leadline_web::phone::Phone;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, TestApp, send};
use crate::workspace::open_all_hours;

/// The server with its call service and Kamailio in front of it.
pub(crate) struct Floor {
    pub app: TestApp,
    pub kamailio: Kamailio,
    pub service: Arc<leadline_telephony::service::CallService>,
}

pub(crate) async fn floor(name: &str, flow: Flow) -> Floor {
    let phone = Phone::default();
    let attach = phone.clone();
    let app = TestApp::spawn_with(move |state| state.phone = attach).await;
    let proxy = free_address();
    let prompt_dir = scratch(&format!("{name}-prompts"));
    write_prompts(&prompt_dir, &flow);
    let settings = CallServiceSettings {
        bind: "127.0.0.1:0".parse().unwrap(),
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        recording_dir: scratch(&format!("{name}-recordings")),
        seat_proxy: Some(proxy),
    };
    let service = Arc::new(call_service::start(app.db.clone(), settings).await.unwrap());
    phone.attach(service.clone());
    let kamailio = Kamailio::start(proxy, service.address());
    open_all_hours(&app).await;
    // The configuration snapshot read since the server started is stale now.
    leadline_store::workday::config::invalidate();
    Floor {
        app,
        kamailio,
        service,
    }
}

pub(crate) async fn give_seat(app: &TestApp, user: leadline_domain::UserId, seat: &str) {
    let admin = app.api("admin").await;
    let (status, body) = send(
        &admin,
        reqwest::Method::PUT,
        &format!("/api/v1/users/{}/seat", user.0),
        json!({ "seat": seat }),
    )
    .await;
    assert_eq!(
        (status, body["seat"].as_str()),
        (StatusCode::OK, Some(seat)),
        "{body}"
    );
}

async fn lead(api: &Api, name: &str, phone: &str) -> i64 {
    api.create_lead(json!({ "name": name, "phones": [phone] }))
        .await["id"]
        .as_i64()
        .unwrap()
}

async fn dial(api: &Api, lead: i64) -> (StatusCode, Value) {
    send(
        api,
        reqwest::Method::POST,
        "/api/v1/calls/dial",
        json!({ "lead_id": lead }),
    )
    .await
}

/// The seat's phone once the click-to-call `call_id` ended and was stored.
async fn until_placed(api: &Api, call_id: &str) -> Value {
    for _ in 0..600 {
        let (status, body) = api.get_json("/api/v1/agent/phone").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let phone = &body["phone"];
        if phone["sip_call_id"] == call_id && !phone["placed"].is_null() {
            return phone.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call {call_id} was not stored");
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .to_utc()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_to_call_rings_the_seat_then_the_customer_and_records_itself() {
    let f = floor("c2c-answered", Flow::parse(DEMO_FLOW).unwrap()).await;
    let app = &f.app;
    give_seat(app, app.org.agent_a1, "8001").await;
    let _seat = Seat::baresip("8001", &f.kamailio, Answer::Auto);
    let _customer = Seat::sipp("13900139000", &f.kamailio, "customer_talks_hangs_up.xml").await;
    let agent = app.api("agent_a1").await;
    let lead = lead(&agent, "王先生", "139 0013 9000").await;

    let (status, body) = dial(&agent, lead).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["seat"].as_str(), body["number"].as_str()),
        (Some("8001"), Some("+8613900139000"))
    );
    let call_id = body["call_id"].as_str().unwrap().to_owned();
    let phone = until_placed(&agent, &call_id).await;
    let placed = &phone["placed"];
    eprintln!("placed call: {placed}");
    assert_eq!(phone["direction"], "outbound");
    assert_eq!(phone["state"], "ended");
    assert_eq!(
        (
            &placed["result"],
            &placed["hung_up_by"],
            &placed["seat"],
            &placed["callee"]
        ),
        (
            &json!("answered"),
            &json!("customer"),
            &json!("8001"),
            &json!("13900139000")
        )
    );
    assert_eq!(placed["lead_id"], lead);
    assert_eq!(placed["agent_id"], app.org.agent_a1.0);
    let (started, answered, ended) = (
        time(&placed["started_at"]),
        time(&placed["answered_at"]),
        time(&placed["ended_at"]),
    );
    assert!(started < answered && answered < ended, "{placed}");
    let talk_ms = (ended - answered).num_milliseconds();
    // The customer talks 4 s and hangs up.
    assert!((3_500..10_000).contains(&talk_ms), "{talk_ms} ms");
    assert_eq!(placed["duration_s"], (ended - answered).num_seconds());

    // The recording is as long as the talk and plays for the agent.
    let id = placed["id"].as_i64().unwrap();
    let res = agent
        .get(&format!("/api/v1/phone-calls/{id}/recording"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    let recording = wav::read(&res.bytes().await.unwrap()).unwrap();
    let recorded_ms = i64::try_from(recording.duration_ms()).unwrap();
    eprintln!("talk {talk_ms} ms, recording {recorded_ms} ms");
    assert!(
        (recorded_ms - talk_ms).abs() <= 500,
        "recording {recorded_ms} ms, talk {talk_ms} ms"
    );
    assert_eq!(placed["recording_ms"], recorded_ms);
    // Listed on the lead's card; the supervisor of the agent's team hears it too, a colleague
    // who may not see the lead neither sees the call nor hears it.
    let (_, listed) = agent
        .get_json(&format!("/api/v1/leads/{lead}/phone-calls"))
        .await;
    assert_eq!(
        listed["items"][0]["recording_url"],
        format!("/api/v1/phone-calls/{id}/recording")
    );
    let sup = app.api("sup_a").await;
    assert_eq!(
        sup.get(&format!("/api/v1/phone-calls/{id}/recording"))
            .await
            .status(),
        StatusCode::OK
    );
    let colleague = app.api("agent_a2").await;
    for path in [
        format!("/api/v1/phone-calls/{id}/recording"),
        format!("/api/v1/phone-calls/{id}"),
    ] {
        assert_eq!(
            colleague.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let other_team = app.api("agent_b1").await;
    assert_eq!(
        other_team
            .get(&format!("/api/v1/phone-calls/{id}/recording"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // The agent adds disposition and notes; start and length are the call's.
    let (status, recorded) = send(
        &agent,
        reqwest::Method::POST,
        &format!("/api/v1/leads/{lead}/calls"),
        json!({ "disposition": "connected", "notes": "有兴趣", "duration_s": 999, "phone_call_id": id }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    assert_eq!(recorded["call"]["duration_s"], placed["duration_s"]);
    assert_eq!(time(&recorded["call"]["started_at"]), started);
    let (_, line) = agent.get_json(&format!("/api/v1/phone-calls/{id}")).await;
    assert_eq!(line["call_record_id"], recorded["call"]["id"]);
    // The lead's card has the 拨打 button and plays the recording; a session dials like the
    // other POSTs, with its CSRF token (none here: refused, nothing dialled).
    let page = app.browser("agent_a1").await;
    let (status, html) = page.get(&format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("data-phone-call"),
        "the card has the call button"
    );
    assert!(html.contains(&format!("src=\"/api/v1/phone-calls/{id}/recording\"")));
    let res = page
        .http
        .post(format!("{}/api/v1/calls/dial", page.base))
        .json(&json!({ "lead_id": lead }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, html) = page.get("/workspace").await;
    assert!(html.contains("id=\"phone-popup\""));
    let (_, html) = app.browser("admin").await.get("/admin/users").await;
    assert!(
        html.contains("<td class=\"seat\">8001</td>"),
        "the seat is shown with its person"
    );

    // Once recorded, not again; and not by someone else.
    let again = json!({ "disposition": "connected", "phone_call_id": id });
    let (status, body) = send(
        &agent,
        reqwest::Method::POST,
        &format!("/api/v1/leads/{lead}/calls"),
        again,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_recorded"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_customer_is_stored_as_busy() {
    let f = floor("c2c-busy", Flow::parse(DEMO_FLOW).unwrap()).await;
    let app = &f.app;
    give_seat(app, app.org.agent_a1, "8002").await;
    let _seat = Seat::baresip("8002", &f.kamailio, Answer::Auto);
    let _customer = Seat::sipp("13700137000", &f.kamailio, "seat_busy.xml").await;
    let agent = app.api("agent_a1").await;
    let lead = lead(&agent, "李女士", "13700137000").await;

    let (status, body) = dial(&agent, lead).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let phone = until_placed(&agent, body["call_id"].as_str().unwrap()).await;
    let placed = &phone["placed"];
    assert_eq!(
        (&placed["result"], &placed["duration_s"]),
        (&json!("busy"), &json!(0)),
        "{placed}"
    );
    assert!(placed["answered_at"].is_null() && placed["recording_url"].is_null());
    let (_, listed) = app
        .api("admin")
        .await
        .get_json("/api/v1/calls?direction=outbound")
        .await;
    assert_eq!(listed["calls"].as_array().unwrap().len(), 1, "{listed}");
}

/// What a baresip phone recorded: one file per established call.
fn calls_heard(seat: &Seat) -> usize {
    std::fs::read_dir(seat.recordings.as_ref().unwrap())
        .unwrap()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_calls_are_never_dialled() {
    let f = floor("c2c-refused", Flow::parse(DEMO_FLOW).unwrap()).await;
    let app = &f.app;
    let seat = Seat::baresip("8004", &f.kamailio, Answer::Auto);
    let customer = Seat::baresip("13600136000", &f.kamailio, Answer::Auto);
    let agent = app.api("agent_a1").await;
    let admin = app.api("admin").await;
    let lead = lead(&agent, "赵先生", "13600136000").await;
    let refused = |status: StatusCode, body: &Value, code: &str| {
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some(code)),
            "{body}"
        );
        assert!(!body["message"].as_str().unwrap_or_default().is_empty());
    };

    // No seat yet.
    let (status, body) = dial(&agent, lead).await;
    refused(status, &body, "no_seat");
    give_seat(app, app.org.agent_a1, "8004").await;
    // A seat is one person's.
    let (status, _) = send(
        &admin,
        reqwest::Method::PUT,
        &format!("/api/v1/users/{}/seat", app.org.agent_a2.0),
        json!({ "seat": "8004" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Someone else's lead does not exist for them.
    let (status, _) = dial(&app.api("agent_b1").await, lead).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // On the do-not-call list.
    let (status, _) = send(
        &admin,
        reqwest::Method::POST,
        "/api/v1/dnc",
        json!({ "numbers": ["136 0013 6000"], "reason": "客户要求" }),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let (status, body) = dial(&agent, lead).await;
    refused(status, &body, "do_not_call");
    let (status, _) = send(
        &admin,
        reqwest::Method::DELETE,
        "/api/v1/dnc/13600136000",
        json!({}),
    )
    .await;
    assert!(status.is_success(), "{status}");

    // Outside calling hours (no window open at all).
    leadline_store::db_run!(&app.db, |pool| {
        sqlx::query("DELETE FROM calling_windows")
            .execute(pool)
            .await
            .unwrap();
    });
    leadline_store::workday::config::invalidate();
    let (status, body) = dial(&agent, lead).await;
    refused(status, &body, "outside_calling_hours");
    open_all_hours(app).await;
    leadline_store::workday::config::invalidate();

    // Past the attempt limit.
    leadline_store::db_run!(&app.db, |pool| {
        sqlx::query("UPDATE leads SET attempts = 99 WHERE id = $1")
            .bind(lead)
            .execute(pool)
            .await
            .unwrap();
    });
    let (status, body) = dial(&agent, lead).await;
    refused(status, &body, "attempt_limit");
    leadline_store::db_run!(&app.db, |pool| {
        sqlx::query("UPDATE leads SET attempts = 0 WHERE id = $1")
            .bind(lead)
            .execute(pool)
            .await
            .unwrap();
    });

    // Nothing rang, nothing was stored.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!((calls_heard(&seat), calls_heard(&customer)), (0, 0));
    let (_, phone) = agent.get_json("/api/v1/agent/phone").await;
    assert!(phone["phone"].is_null(), "{phone}");
    let (_, listed) = admin.get_json("/api/v1/calls?direction=outbound").await;
    assert_eq!(listed["calls"].as_array().unwrap().len(), 0);

    // The same call allowed now rings both phones (so the check above could see a call), and
    // the agent hangs it up from Leadline.
    let (status, body) = dial(&agent, lead).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let call_id = body["call_id"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        let (_, phone) = agent.get_json("/api/v1/agent/phone").await;
        if phone["phone"]["state"] == "talking" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hangup = format!("/api/v1/calls/dial/{call_id}/hangup");
    let (status, _) = send(
        &app.api("agent_a2").await,
        reqwest::Method::POST,
        &hangup,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not theirs");
    let (status, _) = send(&agent, reqwest::Method::POST, &hangup, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let placed = until_placed(&agent, &call_id).await["placed"].clone();
    assert_eq!(
        (&placed["result"], &placed["hung_up_by"]),
        (&json!("answered"), &json!("service"))
    );
    assert_eq!(
        (calls_heard(&seat), calls_heard(&customer)),
        (2, 2),
        "baresip writes what it heard and said"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_call_service_click_to_call_says_so() {
    let app = TestApp::spawn().await;
    open_all_hours(&app).await;
    leadline_store::workday::config::invalidate();
    give_seat(&app, app.org.agent_a1, "8001").await;
    let agent = app.api("agent_a1").await;
    let lead = lead(&agent, "钱先生", "13500135000").await;
    let (status, body) = dial(&agent, lead).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("call_service_unavailable")
        ),
        "{body}"
    );
    // Seats are the admin's to give.
    let (status, _) = send(
        &agent,
        reqwest::Method::PUT,
        &format!("/api/v1/users/{}/seat", app.org.agent_a1.0),
        json!({ "seat": "8009" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = send(
        &app.api("admin").await,
        reqwest::Method::PUT,
        &format!("/api/v1/users/{}/seat", app.org.agent_a2.0),
        json!({ "seat": "80a" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
