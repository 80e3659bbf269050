//! The queue node on loopback with real parts only: Kamailio with the shipped configuration,
//! seats played by baresip (answering by themselves, or never) and SIPp (busy; answering and
//! hanging up), and SIPp callers dialling 9000 through Kamailio and keying 1 then 0 (转人工).

use leadline_telephony::ivr::{DEMO_FLOW, Flow, Node, RingStrategy};
use leadline_telephony::service::{CallEvent, CallService, HungUpBy, QueueOutcome, QueueResult};
use leadline_telephony::testkit::{
    Answer, Kamailio, Seat, assert_sipp_passed, recorded_samples, run_sipp, service_behind_kamailio,
};
use std::time::Duration;
use tokio::sync::mpsc;

/// The demo flow with its queue ringing `seats`, `ring_timeout_s` each, for `max_wait_s` in all.
fn flow(seats: &[&str], strategy: RingStrategy, ring_timeout_s: u32, max_wait_s: u32) -> Flow {
    let mut flow = Flow::parse(DEMO_FLOW).unwrap();
    let Some(Node::Queue(queue)) = flow.nodes.get_mut("agents") else {
        panic!("the demo flow has the queue `agents`")
    };
    queue.seats = seats.iter().map(|seat| seat.to_string()).collect();
    queue.strategy = strategy;
    queue.ring_timeout_s = ring_timeout_s;
    queue.max_wait_s = max_wait_s;
    flow
}

/// The call service in front of a fresh Kamailio, seats ringing through it.
async fn floor(
    name: &str,
    flow: Flow,
) -> (CallService, mpsc::UnboundedReceiver<CallEvent>, Kamailio) {
    service_behind_kamailio(name, flow).await
}

/// The events up to the call's end, and the end.
async fn until_ended(
    events: &mut mpsc::UnboundedReceiver<CallEvent>,
) -> (Vec<CallEvent>, CallEvent) {
    let mut before = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("the call service reports the call's end")
            .expect("the event stream stays open");
        match event {
            CallEvent::Ended { .. } => return (before, event),
            other => before.push(other),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_order_the_queue_passes_a_busy_and_a_silent_seat_and_bridges_the_third() {
    let flow = flow(&["8001", "8002", "8003"], RingStrategy::InOrder, 3, 30);
    let (_service, mut events, kamailio) = floor("in-order", flow).await;
    let _busy = Seat::sipp("8001", &kamailio, "seat_busy.xml").await;
    let _silent = Seat::baresip("8002", &kamailio, Answer::Never);
    let answering = Seat::baresip("8003", &kamailio, Answer::Auto);

    assert_sipp_passed(&run_sipp("queue_talk.xml", kamailio.address, &[]).await);

    let (_, ended) = until_ended(&mut events).await;
    let CallEvent::Ended {
        caller,
        keys,
        hung_up_by,
        queue,
        duration_ms,
        ..
    } = ended
    else {
        unreachable!()
    };
    assert_eq!((caller.as_str(), keys.as_str()), ("13800138000", "10"));
    assert_eq!(hung_up_by, HungUpBy::Caller);
    let Some(QueueOutcome {
        queue,
        result,
        seat,
        wait_ms,
        answered_after_ms,
    }) = queue
    else {
        panic!("the call waited in no queue")
    };
    eprintln!("queue {queue}: {result:?} by {seat:?} after {wait_ms} ms; call {duration_ms} ms");
    assert_eq!(
        (queue.as_str(), result, seat.as_deref()),
        ("agents", QueueResult::Answered, Some("8003"))
    );
    // 8001 refused at once; 8002 rang its full 3 s before 8003 was tried.
    assert!(wait_ms >= 3000, "{wait_ms} ms waited");
    let answered_after_ms = answered_after_ms.unwrap();
    assert!(answered_after_ms > wait_ms && answered_after_ms < duration_ms);

    // The caller's speech reached the seat through the bridge (A-law from SIPp, µ-law or A-law
    // to baresip): what it heard is not silence.
    let heard = recorded_samples(answering.recordings.as_ref().unwrap(), "-dec.wav");
    let loud = heard
        .iter()
        .filter(|sample| sample.unsigned_abs() > 2000)
        .count();
    assert!(loud > 800, "the seat heard {loud} loud samples");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_that_hangs_up_ends_the_callers_leg_too() {
    let flow = flow(&["8101"], RingStrategy::InOrder, 5, 20);
    let (_service, mut events, kamailio) = floor("seat-bye", flow).await;
    let _seat = Seat::sipp("8101", &kamailio, "seat_answers_hangs_up.xml").await;

    // The caller waits for the BYE the call service sends once the seat hung up.
    assert_sipp_passed(&run_sipp("queue_seat_hangs_up.xml", kamailio.address, &[]).await);

    let (_, ended) = until_ended(&mut events).await;
    let CallEvent::Ended {
        hung_up_by, queue, ..
    } = ended
    else {
        unreachable!()
    };
    assert_eq!(hung_up_by, HungUpBy::Seat);
    let queue = queue.unwrap();
    assert_eq!(
        (queue.result, queue.seat.as_deref()),
        (QueueResult::Answered, Some("8101"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ringing_all_with_nobody_answering_ends_in_voicemail() {
    // 8201 rings and never answers; 8202 is not registered (Kamailio answers 480 for it).
    let flow = flow(&["8201", "8202"], RingStrategy::RingAll, 3, 4);
    let (_service, mut events, kamailio) = floor("voicemail", flow).await;
    let _silent = Seat::baresip("8201", &kamailio, Answer::Never);

    assert_sipp_passed(&run_sipp("queue_to_voicemail.xml", kamailio.address, &[]).await);

    let (before, ended) = until_ended(&mut events).await;
    let CallEvent::Ended {
        keys,
        hung_up_by,
        queue,
        ..
    } = ended
    else {
        unreachable!()
    };
    assert_eq!((keys.as_str(), hung_up_by), ("101", HungUpBy::Caller));
    let queue = queue.unwrap();
    assert_eq!((queue.result, queue.seat), (QueueResult::NoAnswer, None));
    assert!(queue.wait_ms >= 4000, "{} ms waited", queue.wait_ms);
    assert_eq!(queue.answered_after_ms, None);
    let [CallEvent::Voicemail { category, .. }] = before.as_slice() else {
        panic!("one voicemail expected, got {before:?}")
    };
    assert_eq!(category, "complaint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_seats_ring_is_an_abandoned_call() {
    let flow = flow(&["8301"], RingStrategy::InOrder, 10, 20);
    let (_service, mut events, kamailio) = floor("abandon", flow).await;
    let _silent = Seat::baresip("8301", &kamailio, Answer::Never);

    assert_sipp_passed(&run_sipp("queue_abandon.xml", kamailio.address, &[]).await);

    let (before, ended) = until_ended(&mut events).await;
    assert!(before.is_empty(), "{before:?}");
    let CallEvent::Ended {
        caller,
        hung_up_by,
        queue,
        ..
    } = ended
    else {
        unreachable!()
    };
    assert_eq!(
        (caller.as_str(), hung_up_by),
        ("13500135000", HungUpBy::Caller)
    );
    let queue = queue.unwrap();
    assert_eq!(
        (queue.result, queue.seat, queue.answered_after_ms),
        (QueueResult::Abandoned, None, None)
    );
}
