//! Issue 27's contract on either backend: with the call service started beside the server, a SIPp
//! caller dials 9000, keys 1, 9, 1 (RFC 4733) and speaks; `GET /api/v1/voicemails` then lists a
//! complaint of the length spoken with the caller's number, and `GET /api/v1/calls?direction=
//! inbound` the call with its digits `191`. Agents read no call and no voicemail not passed to
//! them; a direction is required.

use std::path::Path;
use std::time::Duration;

use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::{pacing, wav};
use leadline_web::call_service::{self, CallServiceSettings};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Each prompt of the demo flow as a 300 ms tone (the call service reads real WAV files).
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
    };
    let service = call_service::start(app.db.clone(), settings).await.unwrap();

    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../telephony/tests/sipp/voicemail_191.xml");
    let local_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = service.address().to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sipp")
            .args([
                &target,
                "-sf",
                scenario.to_str().unwrap(),
                "-m",
                "1",
                "-i",
                "127.0.0.1",
            ])
            .args(["-p", &local_port.to_string(), "-timeout", "40", "-nostdin"])
            .output()
            .expect("sipp must be installed (apt-get install sip-tester)")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "sipp failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );

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
