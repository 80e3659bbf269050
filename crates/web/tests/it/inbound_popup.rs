//! Issue 27, the inbound pop-up on either backend: a SIPp caller dials 9000 through Kamailio and
//! keys 1 then 0; the queue rings two seats at once (baresip: one never answers, one answers by
//! itself). Each seat's person gets the `phone` event on their workspace stream: the seat that
//! took the call shows the caller's lead by name, to its owner; the other seat's person, who may
//! not see that lead, gets only whose it is.

use std::time::Duration;

use leadline_telephony::ivr::{DEMO_FLOW, Flow, Node, RingStrategy};
use leadline_telephony::testkit::{Answer, Seat, assert_sipp_passed, run_sipp};
use serde_json::{Value, json};

use crate::click_to_call::{floor, give_seat};
use crate::helpers::next_sse;

/// `phone` events from `res` until one satisfies `wanted`.
async fn phone_event(
    res: &mut reqwest::Response,
    buf: &mut String,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let data = next_sse(res, buf, "phone", Duration::from_secs(40)).await;
        let event: Value = serde_json::from_str(&data).unwrap();
        eprintln!("phone event: {event}");
        if wanted(&event["phone"]) {
            return event["phone"].clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_pops_the_callers_lead_up_on_the_seats_it_rings() {
    let mut flow = Flow::parse(DEMO_FLOW).unwrap();
    let Some(Node::Queue(queue)) = flow.nodes.get_mut("agents") else {
        panic!("the demo flow has the queue `agents`")
    };
    queue.seats = vec!["8005".into(), "8006".into()];
    queue.strategy = RingStrategy::RingAll;
    let f = floor("popup", flow).await;
    let app = &f.app;
    give_seat(app, app.org.agent_a1, "8005").await;
    give_seat(app, app.org.agent_b1, "8006").await;
    let _answers = Seat::baresip("8005", &f.kamailio, Answer::Auto);
    let _rings = Seat::baresip("8006", &f.kamailio, Answer::Never);
    let owner = app.api("agent_a1").await;
    let lead = owner
        .create_lead(json!({ "name": "孙先生", "phones": ["13800138000"] }))
        .await["id"]
        .as_i64()
        .unwrap();
    let other = app.api("agent_b1").await;
    let mut owner_stream = owner.get("/api/v1/agent/events").await;
    let mut other_stream = other.get("/api/v1/agent/events").await;
    let (mut owner_buf, mut other_buf) = (String::new(), String::new());

    let caller = tokio::spawn(async move {
        let kamailio = f.kamailio.address;
        let output = run_sipp("queue_talk.xml", kamailio, &[]).await;
        (output, f)
    });

    // The owner's seat took the call: the pop-up names the lead while they talk.
    let popped = phone_event(&mut owner_stream, &mut owner_buf, |p| {
        p["state"] == "talking"
    })
    .await;
    assert_eq!(
        (&popped["direction"], &popped["number"], &popped["seat"]),
        (&json!("inbound"), &json!("13800138000"), &json!("8005"))
    );
    let matched = &popped["matched"]["lead"];
    assert_eq!(
        (
            &matched["id"],
            &matched["name"],
            &matched["owner_name"],
            &matched["visible"]
        ),
        (&json!(lead), &json!("孙先生"), &json!("张伟"), &json!(true)),
        "{popped}"
    );
    assert_eq!(popped["matched"]["unknown"], false);
    // The other seat rang too; its person may not see the lead: only whose it is.
    let rang = phone_event(&mut other_stream, &mut other_buf, |p| !p.is_null()).await;
    assert_eq!(
        (&rang["seat"], &rang["direction"]),
        (&json!("8006"), &json!("inbound"))
    );
    let hidden = &rang["matched"]["lead"];
    assert_eq!(
        (
            &hidden["id"],
            &hidden["name"],
            &hidden["owner_name"],
            &hidden["visible"]
        ),
        (&Value::Null, &Value::Null, &json!("张伟"), &json!(false)),
        "{rang}"
    );

    let (output, f) = caller.await.unwrap();
    assert_sipp_passed(&output);
    // Once the caller hung up, the owner's pop-up ends.
    phone_event(&mut owner_stream, &mut owner_buf, |p| p["state"] == "ended").await;
    let (_, now) = owner.get_json("/api/v1/agent/phone").await;
    assert_eq!(now["phone"]["state"], "ended");
    drop(f);
}
