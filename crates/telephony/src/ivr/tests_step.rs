//! Calls walked through flows event by event: the demo's 1, 9, 1 voicemail, the English path,
//! repeats and give-ups, key-ahead, digit collection with a look-up, and a queue.

use super::{Action, CallState, DEMO_FLOW, Event, Flow, RingStrategy};
use Action::*;
use Event::*;

fn demo() -> Flow {
    Flow::parse(DEMO_FLOW).unwrap()
}

fn play(prompt: &str, language: &str) -> Action {
    Play {
        prompt: prompt.to_owned(),
        language: language.to_owned(),
    }
}

#[test]
fn keys_1_9_1_leave_a_complaint_voicemail_after_the_tone() {
    let flow = demo();
    let (mut call, actions) = CallState::start(&flow);
    assert_eq!(actions, [play("choose_language", "cmn")]);
    assert_eq!(
        call.step(&flow, PromptFinished),
        [StartTimer { seconds: 5 }]
    );
    assert_eq!(
        call.step(&flow, Key('1')),
        [CancelTimer, play("main_menu", "cmn")]
    );
    assert_eq!(call.language(), "cmn");
    // The caller keys ahead while the menu still plays.
    assert_eq!(
        call.step(&flow, Key('9')),
        [StopPlaying, play("voicemail_category", "cmn")]
    );
    assert_eq!(
        call.step(&flow, Key('1')),
        [StopPlaying, play("leave_message", "cmn")]
    );
    assert_eq!(call.step(&flow, PromptFinished), [PlayTone]);
    assert_eq!(
        call.step(&flow, PromptFinished),
        [
            StartRecording {
                category: "complaint".into(),
                max_s: 120
            },
            StartTimer { seconds: 120 }
        ]
    );
    assert_eq!(call.step(&flow, CallerHungUp), [StopRecording]);
    assert!(call.is_finished());
    assert_eq!(call.keys(), "191");
    assert_eq!(call.step(&flow, Key('5')), []);
    assert_eq!(call.keys(), "191");
}

#[test]
fn english_callers_hear_english_and_hash_ends_the_message() {
    let flow = demo();
    let (mut call, _) = CallState::start(&flow);
    assert_eq!(
        call.step(&flow, Key('2')),
        [StopPlaying, play("main_menu", "en")]
    );
    call.step(&flow, Key('9'));
    assert_eq!(
        call.step(&flow, Key('2')),
        [StopPlaying, play("leave_message", "en")]
    );
    call.step(&flow, PromptFinished);
    assert_eq!(
        call.step(&flow, PromptFinished),
        [
            StartRecording {
                category: "suggestion".into(),
                max_s: 120
            },
            StartTimer { seconds: 120 }
        ]
    );
    // Keys other than # while recording are kept in the call's keys but do not stop it.
    assert_eq!(call.step(&flow, Key('3')), []);
    assert_eq!(
        call.step(&flow, Key('#')),
        [StopRecording, CancelTimer, play("voicemail_saved", "en")]
    );
    assert_eq!(call.step(&flow, PromptFinished), [Hangup]);
    assert!(call.is_finished());
    assert_eq!(call.keys(), "2923#");
}

#[test]
fn a_recording_stops_at_its_longest() {
    let flow = demo();
    let (mut call, _) = CallState::start(&flow);
    for event in [Key('1'), Key('9'), Key('1'), PromptFinished, PromptFinished] {
        call.step(&flow, event);
    }
    assert_eq!(
        call.step(&flow, Timeout),
        [StopRecording, play("voicemail_saved", "cmn")]
    );
}

#[test]
fn silence_and_wrong_keys_repeat_the_menu_then_say_goodbye() {
    let flow = demo();
    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, PromptFinished);
    assert_eq!(call.step(&flow, Timeout), [play("choose_language", "cmn")]);
    assert_eq!(
        call.step(&flow, Key('7')),
        [StopPlaying, play("choose_language", "cmn")]
    );
    call.step(&flow, PromptFinished);
    // The third failure exceeds retries = 2.
    assert_eq!(call.step(&flow, Timeout), [play("goodbye", "cmn")]);
    assert_eq!(call.node(), "goodbye");
    assert_eq!(call.step(&flow, Key('1')), []);
    assert_eq!(call.step(&flow, PromptFinished), [Hangup]);
    assert_eq!(call.keys(), "71");
}

#[test]
fn a_good_key_after_a_wrong_one_still_counts() {
    let flow = demo();
    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, Key('5'));
    call.step(&flow, PromptFinished);
    assert_eq!(
        call.step(&flow, Key('2')),
        [CancelTimer, play("main_menu", "en")]
    );
}

const SERVICE: &str = r#"
number = "8000"
name = "service"
languages = ["cmn"]
default_language = "cmn"
start = "main"

[nodes.main]
kind = "menu"
prompt = "main_menu"
timeout_s = 5
retries = 0
on_fail = "bye"
options = [{ key = "1", next = "policy" }, { key = "0", next = "seats" }]

[nodes.policy]
kind = "collect"
prompt = "enter_policy"
lookup = "receivable_status"
min_digits = 4
max_digits = 8
timeout_s = 4
retries = 1
on_fail = "bye"
next = "bye"

[nodes.seats]
kind = "queue"
prompt = "please_hold"
seats = ["8001", "8002"]
strategy = "in_order"
ring_timeout_s = 15
max_wait_s = 60
on_timeout = "bye"

[nodes.bye]
kind = "hangup"
"#;

#[test]
fn a_policy_number_is_collected_up_to_the_end_key_and_looked_up() {
    let flow = Flow::parse(SERVICE).unwrap();
    let (mut call, _) = CallState::start(&flow);
    assert_eq!(
        call.step(&flow, Key('1')),
        [StopPlaying, play("enter_policy", "cmn")]
    );
    assert_eq!(
        call.step(&flow, Key('2')),
        [StopPlaying, StartTimer { seconds: 4 }]
    );
    for key in ['0', '2'] {
        assert_eq!(
            call.step(&flow, Key(key)),
            [CancelTimer, StartTimer { seconds: 4 }]
        );
    }
    // Three digits are fewer than min_digits: # does not end the number yet, it is a wrong key.
    assert_eq!(
        call.step(&flow, Key('#')),
        [CancelTimer, play("enter_policy", "cmn")]
    );
    for key in "2026".chars() {
        call.step(&flow, Key(key));
    }
    let lookup = Action::Lookup {
        lookup: super::Lookup::ReceivableStatus,
        value: "2026".into(),
        language: "cmn".into(),
    };
    assert_eq!(call.step(&flow, Key('#')), [CancelTimer, lookup]);
    assert_eq!(call.step(&flow, PromptFinished), [Hangup]);
    assert_eq!(call.keys(), "1202#2026#");
}

#[test]
fn a_number_ends_at_max_digits_or_by_silence_after_min_digits() {
    let flow = Flow::parse(SERVICE).unwrap();
    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, Key('1'));
    let mut last = Vec::new();
    for key in "12345678".chars() {
        last = call.step(&flow, Key(key));
    }
    assert!(matches!(&last[..], [_, Action::Lookup { value, .. }] if value == "12345678"));

    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, Key('1'));
    for key in "12345".chars() {
        call.step(&flow, Key(key));
    }
    assert!(
        matches!(&call.step(&flow, Timeout)[..], [Action::Lookup { value, .. }] if value == "12345")
    );
}

#[test]
fn a_queue_rings_its_seats_until_one_answers_or_time_runs_out() {
    let flow = Flow::parse(SERVICE).unwrap();
    let (mut call, _) = CallState::start(&flow);
    let enqueue = Enqueue {
        seats: vec!["8001".into(), "8002".into()],
        strategy: RingStrategy::InOrder,
        ring_timeout_s: 15,
    };
    assert_eq!(
        call.step(&flow, Key('0')),
        [
            StopPlaying,
            play("please_hold", "cmn"),
            enqueue.clone(),
            StartTimer { seconds: 60 }
        ]
    );
    assert_eq!(
        call.step(&flow, PromptFinished),
        [play("please_hold", "cmn")]
    );
    assert_eq!(call.step(&flow, SeatAnswered), [StopPlaying, CancelTimer]);
    assert_eq!(call.step(&flow, CallerHungUp), []);
    assert!(call.is_finished());

    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, Key('0'));
    assert_eq!(call.step(&flow, Timeout), [StopPlaying, LeaveQueue, Hangup]);
    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, Key('0'));
    assert_eq!(call.step(&flow, CallerHungUp), [LeaveQueue]);
}

#[test]
fn a_demo_caller_keying_1_then_an_order_number_hears_it_and_returns_to_the_menu() {
    let flow = demo();
    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, Key('1'));
    assert_eq!(
        call.step(&flow, Key('1')),
        [StopPlaying, play("enter_order_number", "cmn")]
    );
    for key in "42".chars() {
        call.step(&flow, Key(key));
    }
    let lookup = Action::Lookup {
        lookup: super::Lookup::ReceivableStatus,
        value: "42".into(),
        language: "cmn".into(),
    };
    assert_eq!(call.step(&flow, Key('#')), [CancelTimer, lookup]);
    // Not found: spoken by the service, then the number is asked for again (a try used).
    assert_eq!(
        call.step(&flow, LookupFailed),
        [play("enter_order_number", "cmn")]
    );
    for key in "7#".chars() {
        call.step(&flow, Key(key));
    }
    assert_eq!(call.step(&flow, PromptFinished), [play("main_menu", "cmn")]);
    assert_eq!(call.keys(), "1142#7#");
}

#[test]
fn three_wrong_pins_hang_up_and_a_pin_is_never_kept_with_the_keys() {
    let flow = demo();
    let (mut call, _) = CallState::start(&flow);
    call.step(&flow, Key('2'));
    assert_eq!(
        call.step(&flow, Key('2')),
        [StopPlaying, play("enter_pin", "en")]
    );
    for attempt in 1..=3 {
        for key in "9999".chars() {
            call.step(&flow, Key(key));
        }
        let lookup = Action::Lookup {
            lookup: super::Lookup::RepResults,
            value: "9999".into(),
            language: "en".into(),
        };
        assert_eq!(call.step(&flow, Key('#')), [CancelTimer, lookup]);
        let next = if attempt < 3 {
            "enter_pin"
        } else {
            "pin_refused"
        };
        assert_eq!(call.step(&flow, LookupFailed), [play(next, "en")]);
    }
    assert_eq!(call.step(&flow, PromptFinished), [Hangup]);
    assert!(call.is_finished());
    assert_eq!(call.keys(), "22****#****#****#");
}
