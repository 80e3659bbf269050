//! The call service answering 9000 on loopback, driven by SIPp (Debian sip-tester): a caller that
//! keys 1, 9, 1 (RFC 4733) and speaks leaves a complaint voicemail whose WAV file has the length
//! spoken; one that keys 2, 9, 2 by SIP INFO and ends with # leaves a suggestion, and the flow
//! hangs up.

use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::service::{CallEvent, CallService, ServiceConfig};
use leadline_telephony::{pacing, wav};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-sipp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every prompt of the flow as a short tone, in each language: real files, short enough that the
/// scenario's keys and audio land where the flow expects them.
fn write_prompts(dir: &Path, flow: &Flow) {
    let prompts = [
        "choose_language",
        "main_menu",
        "voicemail_category",
        "leave_message",
        "voicemail_saved",
        "goodbye",
    ];
    for language in &flow.languages {
        std::fs::create_dir_all(dir.join(language)).unwrap();
        for prompt in prompts {
            let file =
                std::fs::File::create(dir.join(language).join(format!("{prompt}.wav"))).unwrap();
            let mut writer = wav::WavWriter::new(file).unwrap();
            writer
                .write_samples(&pacing::tone(440.0, Duration::from_millis(300), 6000))
                .unwrap();
            writer.finish().unwrap();
        }
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn run_sipp(scenario: &str, target: std::net::SocketAddr) -> std::process::Output {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let port = free_udp_port().to_string();
    let args: Vec<String> = [
        &target.to_string(),
        "-sf",
        scenario.to_str().unwrap(),
        "-m",
        "1",
        "-i",
        "127.0.0.1",
        "-p",
        &port,
        "-timeout",
        "40",
        "-nostdin",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new("sipp")
            .args(&args)
            .output()
            .expect("sipp must be installed (apt-get install sip-tester)")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_1_9_1_and_speech_leave_a_complaint_voicemail() {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    let (prompt_dir, voicemail_dir) = (scratch("prompts"), scratch("voicemail"));
    write_prompts(&prompt_dir, &flow);
    let config = ServiceConfig {
        flow: tokio::sync::watch::channel(flow).1,
        prompt_dir,
        voicemail_dir: voicemail_dir.clone(),
    };
    let (service, mut events) = CallService::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();

    let output = run_sipp("voicemail_191.xml", service.address()).await;
    assert!(
        output.status.success(),
        "sipp failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

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
        hung_up_by_caller,
        ..
    } = ended
    else {
        unreachable!()
    };
    assert_eq!(
        (caller.as_str(), number.as_str(), keys.as_str()),
        ("13800138000", "9000", "191")
    );
    assert!(hung_up_by_caller);

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
    };
    let (service, mut events) = CallService::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();

    let output = run_sipp("voicemail_292_info.xml", service.address()).await;
    assert!(
        output.status.success(),
        "sipp failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );

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
        keys,
        hung_up_by_caller,
        ..
    } = ended
    else {
        panic!("expected the end, got {ended:?}")
    };
    assert_eq!(keys, "292#");
    assert!(!hung_up_by_caller, "the flow hung up after its thanks");
}
