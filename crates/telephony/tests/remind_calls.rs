//! Reminder calls (催缴) through the `CallControl` trait on loopback with real parts only:
//! Kamailio with the shipped configuration, SIPp customers registered under their numbers (one
//! pressing 1, one listening, one busy; revisit customers confirming with 1 or asking for the rep
//! with 2 by SIP INFO) and a baresip seat for the rep that answers by itself.

use leadline_telephony::control::{
    CallControl, ControlEvent, DialResult, Reminder, ReminderSummary,
};
use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::service::CallService;
use leadline_telephony::speech;
use leadline_telephony::testkit::{Answer, Kamailio, Seat, service_behind_kamailio};
use std::time::{Duration, SystemTime};
use tokio::sync::broadcast;

async fn floor(name: &str) -> (CallService, Kamailio) {
    let (service, _events, kamailio) =
        service_behind_kamailio(name, Flow::parse(DEMO_FLOW).unwrap()).await;
    (service, kamailio)
}

fn reminder(number: &str, seat: Option<&str>) -> Reminder {
    Reminder {
        number: number.into(),
        language: "cmn".into(),
        prompts: speech::reminder("cmn", 60_000, 2026, 12, 10),
        seat: seat.map(str::to_owned),
        put_through_key: '1',
        tag: "reminder=7".into(),
    }
}

/// A revisit confirmation (回访确认): 1 confirms, 2 reaches the rep.
fn revisit(number: &str, seat: Option<&str>) -> Reminder {
    Reminder {
        prompts: speech::revisit("cmn", 1_234_500, 2026, 12, 7),
        put_through_key: '2',
        tag: "reminder=8".into(),
        ..reminder(number, seat)
    }
}

async fn until_ended(
    events: &mut broadcast::Receiver<ControlEvent>,
    call: &str,
) -> ReminderSummary {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("the call ends")
            .expect("the event stream stays open");
        if let ControlEvent::ReminderEnded(summary) = event
            && summary.call == call
        {
            return summary;
        }
    }
}

fn millis(from: SystemTime, to: SystemTime) -> u128 {
    to.duration_since(from).unwrap_or_default().as_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_pressing_1_is_put_through_to_the_reps_seat() {
    let (service, kamailio) = floor("remind-1").await;
    let _rep = Seat::baresip("8001", &kamailio, Answer::Auto);
    let _customer = Seat::sipp("13900139001", &kamailio, "customer_presses_1.xml").await;
    let mut events = service.events();

    let call = service
        .remind(reminder("13900139001", Some("8001")))
        .unwrap();
    let summary = until_ended(&mut events, &call).await;
    assert_eq!(summary.tag, "reminder=7");
    assert_eq!(summary.result, DialResult::Answered);
    assert_eq!((summary.key, summary.put_through), (Some('1'), true));
    // The customer talks 4 s with the rep after pressing 1, then hangs up.
    let talked = millis(summary.answered_at.unwrap(), summary.ended_at);
    assert!(talked >= 5_000, "{talked} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_who_presses_nothing_hears_the_message_twice_and_is_hung_up_on() {
    let (service, kamailio) = floor("remind-silent").await;
    let _customer = Seat::sipp("13900139002", &kamailio, "customer_listens.xml").await;
    let mut events = service.events();

    let call = service
        .remind(reminder("13900139002", Some("8001")))
        .unwrap();
    let summary = until_ended(&mut events, &call).await;
    assert_eq!(summary.result, DialResult::Answered);
    assert_eq!((summary.key, summary.put_through), (None, false));
    let listened = millis(summary.answered_at.unwrap(), summary.ended_at);
    assert!(
        listened >= 10_000,
        "two rounds with 5 s waits: {listened} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_customer_is_a_busy_attempt_and_bad_numbers_are_refused() {
    let (service, kamailio) = floor("remind-busy").await;
    let _customer = Seat::sipp("13700137001", &kamailio, "seat_busy.xml").await;
    let mut events = service.events();

    let call = service.remind(reminder("13700137001", None)).unwrap();
    let summary = until_ended(&mut events, &call).await;
    assert_eq!(summary.result, DialResult::Busy);
    assert_eq!((summary.answered_at, summary.key), (None, None));
    assert!(service.remind(reminder("139 0013", None)).is_err());
    assert!(
        service
            .remind(reminder("13900139000", Some("80@01")))
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revisit_confirmed_with_1_is_not_put_through_and_2_by_info_reaches_the_rep() {
    let (service, kamailio) = floor("revisit").await;
    let _rep = Seat::baresip("8002", &kamailio, Answer::Auto);
    let _confirms = Seat::sipp("13900139011", &kamailio, "customer_confirms_1.xml").await;
    let _asks = Seat::sipp("13900139012", &kamailio, "customer_presses_2_info.xml").await;
    let mut events = service.events();

    let call = service
        .remind(revisit("13900139011", Some("8002")))
        .unwrap();
    let confirmed = until_ended(&mut events, &call).await;
    assert_eq!(confirmed.tag, "reminder=8");
    assert_eq!(confirmed.result, DialResult::Answered);
    assert_eq!((confirmed.key, confirmed.put_through), (Some('1'), false));
    // Key 1 after 1.5 s ends the message: the service hangs up, long before a second round.
    let heard = millis(confirmed.answered_at.unwrap(), confirmed.ended_at);
    assert!((1_500..8_000).contains(&heard), "{heard} ms");

    let call = service
        .remind(revisit("13900139012", Some("8002")))
        .unwrap();
    let asked = until_ended(&mut events, &call).await;
    assert_eq!(asked.result, DialResult::Answered);
    assert_eq!((asked.key, asked.put_through), (Some('2'), true));
    let talked = millis(asked.answered_at.unwrap(), asked.ended_at);
    assert!(talked >= 5_000, "{talked} ms");
}
