//! Collect nodes on real calls: SIPp callers dial the demo flow 9000 and key an order number or
//! a rep's PIN (RFC 4733 and SIP INFO); the service looks it up through the `Lookups` it was
//! given (here a fixed table: the store's look-ups are tested in the web crate) and speaks the
//! answer from prompt fragments, reported with the call's end.

use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::service::{
    CallEvent, CallService, HungUpBy, LookupFuture, LookupRecord, Lookups, ServiceConfig,
};
use leadline_telephony::speech::{self, OrderStanding, ReceivableStatus, RepResults};
use leadline_telephony::testkit::{
    End, Step, assert_sipp_passed, caller_scenario, keys, run_sipp, scratch, write_prompts,
};
use std::sync::Arc;
use std::time::Duration;

/// Order 2718 is overdue with 1 234.50 元 open; PIN 4321 is a rep with 3 orders this month.
struct Table;

impl Lookups for Table {
    fn receivable_status(
        &self,
        number: String,
    ) -> LookupFuture<'_, Result<Option<ReceivableStatus>, String>> {
        Box::pin(async move {
            Ok((number == "2718").then_some(ReceivableStatus {
                status: OrderStanding::Overdue,
                open_fen: 123_450,
                next_due: Some((2026, 11, 30)),
            }))
        })
    }

    fn rep_results(&self, pin: String) -> LookupFuture<'_, Result<Option<RepResults>, String>> {
        Box::pin(async move {
            Ok((pin == "4321").then_some(RepResults {
                orders: 3,
                amount_fen: 1_000_000,
                commission_fen: 30_005,
            }))
        })
    }
}

/// Runs one SIPp caller against the demo flow and returns what the call's end reported.
async fn call(steps: Vec<Step>, end: End) -> (String, HungUpBy, Vec<LookupRecord>) {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let prompt_dir = scratch("lookup-prompts");
    write_prompts(&prompt_dir, &flow);
    let config = ServiceConfig {
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        voicemail_dir: scratch("lookup-voicemail"),
        seat_proxy: None,
        lookups: Some(Arc::new(Table)),
    };
    let (service, mut events) = CallService::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let scenario = caller_scenario("9000", "13700137000", &steps, end);
    assert_sipp_passed(&run_sipp(scenario.to_str().unwrap(), service.address(), &[]).await);
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("the call service reports the call's end")
            .expect("the event stream stays open");
        if let CallEvent::Ended {
            keys,
            hung_up_by,
            lookups,
            ..
        } = event
        {
            return (keys, hung_up_by, lookups);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_number_keyed_by_rfc_4733_is_answered_with_its_status_and_amount_due() {
    let mut steps = keys("112718#");
    steps.push(Step::Pause { ms: 3000 });
    let (keys, hung_up_by, lookups) = call(steps, End::CallerHangsUp).await;
    assert_eq!((keys.as_str(), hung_up_by), ("112718#", HungUpBy::Caller));
    let expected = speech::answer(
        "cmn",
        &speech::Answer::Receivable(ReceivableStatus {
            status: OrderStanding::Overdue,
            open_fen: 123_450,
            next_due: Some((2026, 11, 30)),
        }),
    );
    assert_eq!(
        lookups,
        [LookupRecord {
            lookup: "receivable_status",
            number: Some("2718".into()),
            outcome: "found",
            fragments: expected,
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_number_is_not_found_and_asked_for_again() {
    // English (2), order status (1), an unknown number by SIP INFO, then the right one.
    let mut steps: Vec<Step> = "21999#".chars().map(Step::Info).collect();
    steps.push(Step::Pause { ms: 1000 });
    steps.extend(keys("2718#"));
    steps.push(Step::Pause { ms: 3000 });
    let (keys, _, lookups) = call(steps, End::CallerHangsUp).await;
    assert_eq!(keys, "21999#2718#");
    let outcomes: Vec<(&str, Option<&str>)> = lookups
        .iter()
        .map(|l| (l.outcome, l.number.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        [("not_found", Some("999")), ("found", Some("2718"))]
    );
    assert_eq!(lookups[0].fragments, ["ans_not_found"]);
    // The answer in English: "... amount due: one thousand two hundred thirty four yuan fifty fen".
    let words: Vec<&str> = lookups[1].fragments.iter().map(String::as_str).collect();
    assert!(
        words.windows(9).any(|w| w
            == [
                "say_1", "say_1000", "say_2", "say_100", "say_30", "say_4", "say_yuan", "say_50",
                "say_fen"
            ]),
        "{words:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reps_pin_is_answered_with_their_month_and_never_kept() {
    let mut steps = keys("124321#");
    steps.push(Step::Pause { ms: 3000 });
    let (keys, _, lookups) = call(steps, End::CallerHangsUp).await;
    assert_eq!(keys, "12****#");
    assert_eq!(lookups.len(), 1);
    assert_eq!((lookups[0].outcome, &lookups[0].number), ("found", &None));
    assert_eq!(
        lookups[0].fragments[..3],
        ["ans_rep_orders", "say_3", "ans_orders_unit"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wrong_pins_hang_up() {
    let mut steps = keys("12");
    for _ in 0..3 {
        steps.extend(keys("9999#"));
    }
    let (keys, hung_up_by, lookups) = call(steps, End::ServiceHangsUp).await;
    assert_eq!(keys, "12****#****#****#");
    assert_eq!(hung_up_by, HungUpBy::Service);
    let outcomes: Vec<&str> = lookups.iter().map(|l| l.outcome).collect();
    assert_eq!(outcomes, ["wrong_pin"; 3]);
}
