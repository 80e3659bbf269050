//! Issue 27's contract on either backend: with the call service started beside the server, a SIPp
//! caller dials 9000, keys 1, 9, 1 (RFC 4733) and speaks; `GET /api/v1/voicemails` then lists a
//! complaint of the length spoken with the caller's number, and `GET /api/v1/calls?direction=
//! inbound` the call with its digits `191`. Agents read no call and no voicemail not passed to
//! them; a direction is required.
//! With Kamailio and a baresip seat, a caller keying 1 then 0 (转人工) is bridged to the seat, and
//! the call is listed with its queue, seat, wait and who hung up.

use std::time::Duration;

use leadline_telephony::ivr::{DEMO_FLOW, Flow, Node};
use leadline_telephony::testkit::{
    Answer, Kamailio, Seat, assert_sipp_passed, free_address, run_sipp, scratch, write_prompts,
};
use leadline_web::call_service::{self, CallServiceSettings};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

async fn until_listed(api: &crate::helpers::Api, path: &str, key: &str) -> Vec<Value> {
    for _ in 0..100 {
        let (status, body) = api.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let list = body[key].as_array().cloned().unwrap_or_default();
        if !list.is_empty() {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} stayed empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_keying_1_9_1_leaves_a_complaint_listed_with_the_inbound_call() {
    let app = TestApp::spawn().await;
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let prompt_dir = scratch("prompts");
    write_prompts(&prompt_dir, &flow);
    let settings = CallServiceSettings {
        bind: "127.0.0.1:0".parse().unwrap(),
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        recording_dir: scratch("recordings"),
        seat_proxy: None,
    };
    let service = call_service::start(app.db.clone(), settings).await.unwrap();

    assert_sipp_passed(&run_sipp("voicemail_191.xml", service.address(), &[]).await);

    let admin = app.api("admin").await;
    let voicemails = until_listed(&admin, "/api/v1/voicemails", "voicemails").await;
    assert_eq!(voicemails.len(), 1);
    let voicemail = &voicemails[0];
    assert_eq!(voicemail["category"], "complaint");
    assert_eq!(voicemail["caller"], "13800138000");
    // SIPp's recording is 7.08 s of speech after the tone.
    assert_eq!(voicemail["duration_s"], 7.1, "{voicemail}");
    assert!(voicemail["created_at"].is_string());

    let calls = until_listed(&admin, "/api/v1/calls?direction=inbound", "calls").await;
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (
            &calls[0]["digits"],
            &calls[0]["caller"],
            &calls[0]["callee"],
            &calls[0]["hung_up_by"]
        ),
        (
            &Value::from("191"),
            &Value::from("13800138000"),
            &Value::from("9000"),
            &Value::from("caller")
        )
    );
    assert!(
        calls[0]["duration_s"].as_i64().unwrap() >= 10,
        "{}",
        calls[0]
    );
    let (status, body) = admin.get_json("/api/v1/calls?direction=outbound").await;
    assert_eq!(
        (status, body["calls"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );

    let (status, body) = admin.get_json("/api/v1/calls").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // An agent lists only the voicemails passed to them: none.
    let agent = app.api("agent_a1").await;
    let (status, body) = agent.get_json("/api/v1/voicemails").await;
    assert_eq!(
        (status, body["voicemails"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    assert_eq!(
        agent.get_json("/api/v1/calls?direction=inbound").await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_keying_0_is_bridged_to_a_seat_and_the_call_lists_its_queue() {
    let app = TestApp::spawn().await;
    let mut flow = Flow::parse(DEMO_FLOW).unwrap();
    let Some(Node::Queue(queue)) = flow.nodes.get_mut("agents") else {
        panic!("the demo flow has the queue `agents`")
    };
    // 8001 is not registered (Kamailio refuses it); 8002 answers.
    queue.seats = vec!["8001".into(), "8002".into()];
    let prompt_dir = scratch("queue-prompts");
    write_prompts(&prompt_dir, &flow);
    let proxy = free_address();
    let settings = CallServiceSettings {
        bind: "127.0.0.1:0".parse().unwrap(),
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        recording_dir: scratch("queue-recordings"),
        seat_proxy: Some(proxy),
    };
    let service = call_service::start(app.db.clone(), settings).await.unwrap();
    let kamailio = Kamailio::start(proxy, service.address());
    let _seat = Seat::baresip("8002", &kamailio, Answer::Auto);

    assert_sipp_passed(&run_sipp("queue_talk.xml", kamailio.address, &[]).await);

    let admin = app.api("admin").await;
    let calls = until_listed(&admin, "/api/v1/calls?direction=inbound", "calls").await;
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (
            &call["digits"],
            &call["caller"],
            &call["callee"],
            &call["hung_up_by"],
            &call["queue"],
            &call["seat"],
            &call["queue_result"],
        ),
        (
            &Value::from("10"),
            &Value::from("13800138000"),
            &Value::from("9000"),
            &Value::from("caller"),
            &Value::from("agents"),
            &Value::from("8002"),
            &Value::from("answered"),
        ),
        "{call}"
    );
    let wait_ms = call["wait_ms"].as_i64().unwrap();
    let answered_at = chrono::DateTime::parse_from_rfc3339(call["answered_at"].as_str().unwrap())
        .unwrap()
        .to_utc();
    let started_at = chrono::DateTime::parse_from_rfc3339(call["started_at"].as_str().unwrap())
        .unwrap()
        .to_utc();
    let ended_at = chrono::DateTime::parse_from_rfc3339(call["ended_at"].as_str().unwrap())
        .unwrap()
        .to_utc();
    eprintln!("queued call: {call}");
    // The seat answered after the caller had keyed 1 and 0 and waited, and before the end; the
    // caller talked for the rest of the 16 s scenario.
    assert!(
        wait_ms >= 0 && answered_at > started_at && answered_at < ended_at,
        "{call}"
    );
    assert!(call["duration_s"].as_i64().unwrap() >= 10, "{call}");
    // Agents still may not read the call log.
    let agent = app.api("agent_a1").await;
    assert_eq!(
        agent.get_json("/api/v1/calls?direction=inbound").await.0,
        StatusCode::FORBIDDEN
    );
}
