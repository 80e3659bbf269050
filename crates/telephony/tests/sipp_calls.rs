//! The call service answering 9000 on loopback, driven by SIPp (Debian sip-tester): a caller that
//! keys 1, 9, 1 (RFC 4733) and speaks leaves a complaint voicemail whose WAV file has the length
//! spoken; one that keys 2, 9, 2 by SIP INFO and ends with # leaves a suggestion, and the flow
//! hangs up.

use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::service::{CallEvent, CallService, HungUpBy, ServiceConfig};
use leadline_telephony::testkit::{assert_sipp_passed, run_sipp, scratch, write_prompts};
use leadline_telephony::wav;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_1_9_1_and_speech_leave_a_complaint_voicemail() {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let (prompt_dir, voicemail_dir) = (scratch("prompts"), scratch("voicemail"));
    write_prompts(&prompt_dir, &flow);
    let config = ServiceConfig {
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        voicemail_dir: voicemail_dir.clone(),
        seat_proxy: None,
        lookups: None,
    };
    let (service, mut events) = CallService::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();

    assert_sipp_passed(&run_sipp("voicemail_191.xml", service.address(), &[]).await);

    let mut voicemail = None;
    let ended = loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("the call service reports the call's end")
            .expect("the event stream stays open");
        match event {
            CallEvent::Voicemail { .. } => voicemail = Some(event),
            CallEvent::Ended { .. } => break event,
        }
    };
    let CallEvent::Ended {
        caller,
        number,
        keys,
        hung_up_by,
        queue,
        ..
    } = ended
    else {
        unreachable!()
    };
    assert_eq!(
        (caller.as_str(), number.as_str(), keys.as_str()),
        ("13800138000", "9000", "191")
    );
    assert_eq!((hung_up_by, queue), (HungUpBy::Caller, None));
    // What `leadline bench calls` reads: one call answered, up alone, its first prompt timed.
    let stats = service.stats();
    assert_eq!((stats.answered(), stats.peak()), (1, 1));
    assert_eq!(stats.take_prompt_delays().len(), 1);
    assert!(stats.take_prompt_delays().is_empty(), "taken once");

    let Some(CallEvent::Voicemail {
        category,
        path,
        duration_ms,
        caller,
        ..
    }) = voicemail
    else {
        panic!("no voicemail was recorded")
    };
    assert_eq!(
        (category.as_str(), caller.as_str()),
        ("complaint", "13800138000")
    );
    assert!(path.starts_with(&voicemail_dir));
    // SIPp's recording is 7.08 s of speech, sent after the tone; the file holds all of it.
    let file = wav::read(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file.duration_ms(), duration_ms);
    eprintln!("voicemail: {category}, {duration_ms} ms");
    assert!(
        (6500..=7080).contains(&duration_ms),
        "{duration_ms} ms recorded"
    );
    assert!(
        file.samples
            .iter()
            .any(|&sample| sample.unsigned_abs() > 1000),
        "the recording is not silence"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_by_sip_info_leave_a_suggestion_ended_by_hash() {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let (prompt_dir, voicemail_dir) = (scratch("prompts-info"), scratch("voicemail-info"));
    write_prompts(&prompt_dir, &flow);
    let config = ServiceConfig {
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        voicemail_dir,
        seat_proxy: None,
        lookups: None,
    };
    let (service, mut events) = CallService::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();

    assert_sipp_passed(&run_sipp("voicemail_292_info.xml", service.address(), &[]).await);

    let first = tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .unwrap()
        .unwrap();
    let CallEvent::Voicemail {
        category,
        duration_ms,
        caller,
        ..
    } = first
    else {
        panic!("expected the voicemail first, got {first:?}")
    };
    assert_eq!(
        (category.as_str(), caller.as_str()),
        ("suggestion", "13900139000")
    );
    // # came 3 s after the audio began, cutting the 7.08 s recording short.
    eprintln!("voicemail: {category}, {duration_ms} ms");
    assert!(
        (2000..=3500).contains(&duration_ms),
        "{duration_ms} ms recorded"
    );
    let ended = tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .unwrap()
        .unwrap();
    let CallEvent::Ended {
        keys, hung_up_by, ..
    } = ended
    else {
        panic!("expected the end, got {ended:?}")
    };
    assert_eq!(keys, "292#");
    assert_eq!(
        hung_up_by,
        HungUpBy::Service,
        "the flow hung up after its thanks"
    );
}
