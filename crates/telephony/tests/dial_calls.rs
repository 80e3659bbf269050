//! Click-to-call through the `CallControl` trait on loopback with real parts only: Kamailio with
//! the shipped configuration, a baresip seat that answers by itself, and SIPp customers
//! registered at Kamailio under their numbers (one answering, talking and hanging up; one busy).

use leadline_telephony::control::{CallControl, ControlEvent, DialResult, DialSummary, Party};
use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::service::CallService;
use leadline_telephony::testkit::{Answer, Kamailio, Seat, service_behind_kamailio};
use leadline_telephony::wav;
use std::time::{Duration, SystemTime};
use tokio::sync::broadcast;

async fn floor(name: &str) -> (CallService, Kamailio) {
    let (service, _events, kamailio) =
        service_behind_kamailio(name, Flow::parse(DEMO_FLOW).unwrap()).await;
    (service, kamailio)
}

/// The events of `call` up to its end.
async fn until_ended(
    events: &mut broadcast::Receiver<ControlEvent>,
    call: &str,
) -> (Vec<ControlEvent>, DialSummary) {
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("the call ends")
            .expect("the event stream stays open");
        match event {
            ControlEvent::Ended(summary) if summary.call == call => return (seen, summary),
            other => seen.push(other),
        }
    }
}

fn millis(from: SystemTime, to: SystemTime) -> i64 {
    i64::try_from(to.duration_since(from).unwrap_or_default().as_millis()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seat_rings_first_then_the_customer_and_the_talk_is_recorded() {
    let (service, kamailio) = floor("dial-answered").await;
    let _seat = Seat::baresip("8001", &kamailio, Answer::Auto);
    let _customer = Seat::sipp("13900139000", &kamailio, "customer_talks_hangs_up.xml").await;
    let mut events = service.events();

    let call = service.dial("8001", "13900139000", "lead:7").unwrap();
    let (seen, summary) = until_ended(&mut events, &call).await;

    let steps: Vec<&str> = seen
        .iter()
        .filter_map(|event| match event {
            ControlEvent::SeatRinging { tag, .. } => Some(("seat_ringing", tag)),
            ControlEvent::SeatAnswered { tag, .. } => Some(("seat_answered", tag)),
            ControlEvent::CustomerRinging { tag, .. } => Some(("customer_ringing", tag)),
            ControlEvent::Answered { tag, .. } => Some(("answered", tag)),
            _ => None,
        })
        .inspect(|(_, tag)| assert_eq!(tag.as_str(), "lead:7"))
        .map(|(step, _)| step)
        .collect();
    assert_eq!(
        steps,
        [
            "seat_ringing",
            "seat_answered",
            "customer_ringing",
            "answered"
        ]
    );
    assert_eq!(summary.result, DialResult::Answered);
    assert_eq!(summary.hung_up_by, Party::Customer);
    let answered = summary.answered_at.unwrap();
    assert!(summary.seat_answered_at.unwrap() >= summary.started_at);
    assert!(answered >= summary.seat_answered_at.unwrap());
    let talk_ms = millis(answered, summary.ended_at);
    // The customer talks 4 s after its answer and hangs up.
    assert!((3_500..10_000).contains(&talk_ms), "{talk_ms} ms");
    let path = summary.recording.clone().expect("a recording");
    let recording = wav::read(&std::fs::read(&path).unwrap()).unwrap();
    let recorded_ms = i64::try_from(recording.duration_ms()).unwrap();
    assert_eq!(recorded_ms, i64::try_from(summary.recording_ms).unwrap());
    assert!(
        (recorded_ms - talk_ms).abs() <= 500,
        "recording {recorded_ms} ms, talk {talk_ms} ms"
    );
    // Both directions are in it: the customer's speech and the seat's 600 Hz tone.
    let loud = recording
        .samples
        .iter()
        .filter(|sample| sample.unsigned_abs() > 2000)
        .count();
    assert!(loud > 8000, "{loud} loud samples");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_customer_ends_the_call_as_busy_and_an_unknown_call_cannot_be_hung_up() {
    let (service, kamailio) = floor("dial-busy").await;
    let _seat = Seat::baresip("8002", &kamailio, Answer::Auto);
    let _customer = Seat::sipp("13700137000", &kamailio, "seat_busy.xml").await;
    let mut events = service.events();

    let call = service.dial("8002", "13700137000", "").unwrap();
    let (_, summary) = until_ended(&mut events, &call).await;
    assert_eq!(summary.result, DialResult::Busy);
    assert!(summary.seat_answered_at.is_some());
    assert_eq!((summary.answered_at, summary.recording), (None, None));

    assert!(service.hang_up(&call).is_err(), "the call is over");
    assert!(service.dial("8002", "139 0013", "").is_err());
}
