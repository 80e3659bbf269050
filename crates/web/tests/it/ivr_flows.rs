//! IVR flows an admin views and changes (issue 27), on either backend: the shipped flow as text
//! with its nodes; a change with problems is refused listing every one while the old flow stays;
//! a valid change is stored as the next version, audited, and is what the next call runs (a SIPp
//! caller keying 1, 9, 1 after key 1 was made "suggestion"); the /ivr page does the same and
//! takes recorded prompts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use leadline_store::audit;
use leadline_telephony::ivr::DEMO_FLOW;
use leadline_telephony::{pacing, prompts};
use leadline_web::call_service::{self, CallServiceSettings};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Api, TestApp};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn put_flow(api: &Api, number: &str, text: &str) -> (StatusCode, Value) {
    let res = api
        .http
        .put(format!("{}/api/v1/ivr/flows/{number}", api.base))
        .bearer_auth(api.token.as_ref().unwrap())
        .header("content-type", "application/toml")
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The demo flow with key 1 of the voicemail filing a suggestion instead of a complaint.
fn complaints_as_suggestions() -> String {
    let changed = DEMO_FLOW.replace(
        r#"{ key = "1", category = "complaint" },"#,
        r#"{ key = "1", category = "suggestion" },"#,
    );
    assert_ne!(changed, DEMO_FLOW);
    changed
}

#[tokio::test]
async fn a_flow_with_problems_is_refused_listing_each_and_a_valid_one_becomes_the_next_version() {
    let app = TestApp::spawn().await;
    let admin = app.api("admin").await;
    let (status, list) = admin.get_json("/api/v1/ivr/flows").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["flows"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&list["flows"][0]["number"], &list["flows"][0]["version"]),
        (&Value::from("9000"), &Value::from(0))
    );
    let (status, flow) = admin.get_json("/api/v1/ivr/flows/9000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flow["toml"], DEMO_FLOW);
    assert_eq!(flow["nodes"]["language"]["kind"], "language_menu");
    assert_eq!(
        flow["nodes"]["voicemail"]["categories"][0]["category"],
        "complaint"
    );
    assert_eq!(flow["answered_by_call_service"], true);
    assert_eq!(flow["versions"], serde_json::json!([]));

    // Three broken rules at once: all three are named; nothing is stored.
    let broken = DEMO_FLOW
        .replace(r#"start = "language""#, r#"start = "welcome""#)
        .replace(r#"default_language = "cmn""#, r#"default_language = "fr""#)
        .replace(
            r#"{ key = "9", next = "voicemail" }"#,
            r#"{ key = "9", next = "mailbox" }"#,
        );
    assert_eq!(
        broken.matches("mailbox").count(),
        1,
        "the main menu's key 9 renamed"
    );
    let (status, body) = put_flow(&admin, "9000", &broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "ivr_flow_invalid");
    let problems: Vec<&str> = body["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems.contains(&r#"default_language "fr" is not in languages"#),
        "{problems:?}"
    );
    assert!(
        problems.contains(&r#"start names node "welcome", which does not exist"#),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains(r#"names node "mailbox""#)),
        "{problems:?}"
    );
    // Not TOML at all: the parser's own words, with the line.
    let (status, body) = put_flow(&admin, "9000", "number = \"9000\"\nnodes = [").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["details"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("line"),
        "{body}"
    );
    // A file for another number cannot replace this one.
    let other_number = DEMO_FLOW.replace(r#"number = "9000""#, r#"number = "9001""#);
    let (status, body) = put_flow(&admin, "9000", &other_number).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["details"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("9001")
    );
    let (status, _) = put_flow(&admin, "9999", DEMO_FLOW).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for user in ["sup_a", "agent_a1"] {
        let other = app.api(user).await;
        assert_eq!(
            put_flow(&other, "9000", &complaints_as_suggestions())
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            other.get_json("/api/v1/ivr/flows/9000").await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            other.get_json("/api/v1/ivr/flows").await.0,
            StatusCode::FORBIDDEN
        );
    }
    let (_, flow) = admin.get_json("/api/v1/ivr/flows/9000").await;
    assert_eq!(
        (&flow["version"], &flow["toml"]),
        (&Value::from(0), &Value::from(DEMO_FLOW))
    );

    let changed = complaints_as_suggestions();
    let (status, saved) = put_flow(&admin, "9000", &changed).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
    assert_eq!(
        saved["nodes"]["voicemail"]["categories"][0]["category"],
        "suggestion"
    );
    let (_, flow) = admin.get_json("/api/v1/ivr/flows/9000").await;
    assert_eq!(
        (&flow["version"], &flow["toml"]),
        (&Value::from(1), &Value::from(changed.as_str()))
    );
    assert_eq!(flow["versions"][0]["saved_by_name"], "管理员");
    let (_, shipped) = admin.get_json("/api/v1/ivr/flows/9000?version=0").await;
    assert_eq!(shipped["toml"], DEMO_FLOW);
    let (status, _) = put_flow(&admin, "9000", DEMO_FLOW).await;
    assert_eq!(status, StatusCode::OK);
    let (_, flow) = admin.get_json("/api/v1/ivr/flows/9000").await;
    let versions: Vec<i64> = flow["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);

    let (_, doc) = app.anonymous().get_json("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/ivr/flows",
        "/api/v1/ivr/flows/{number}",
        "/api/v1/prompts",
        "/api/v1/prompts/{language}/{prompt}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["paths"]["/api/v1/ivr/flows/{number}"]["put"].is_object());

    let audited = audit::recent_admin_changes(&app.db, 50).await.unwrap();
    let saves: Vec<_> = audited
        .iter()
        .filter(|a| a.entity == "ivr_flow" && a.action == "save")
        .collect();
    assert_eq!(saves.len(), 2);
    assert_eq!(saves[0].actor_id, Some(app.org.admin));
}

#[tokio::test]
async fn the_ivr_page_saves_a_flow_shows_the_problems_of_a_broken_one_and_takes_recordings() {
    let dir = scratch("ivr-page");
    let prompt_dir = dir.clone();
    let app = TestApp::spawn_with(move |s| s.ivr.prompt_dir = prompt_dir).await;
    prompts::write_prompt(&dir, "en", "goodbye", &[0; 8000]).unwrap();
    let browser = app.browser("admin").await;
    let (status, html) = browser.get("/ivr").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("IVR 流程"), "Chinese first");
    assert!(html.contains("演示热线"));
    assert!(
        html.contains(r#"src="/api/v1/prompts/en/goodbye""#),
        "a player for the file there"
    );
    assert!(html.contains("缺少"), "the missing ones are marked");
    let csrf = browser.csrf("/ivr").await;

    let broken = DEMO_FLOW.replace(r#"start = "language""#, r#"start = "welcome""#);
    let res = browser
        .post_form("/ivr/flow", &[("_csrf", &csrf), ("toml", &broken)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"ivr-problems\""), "{html}");
    assert!(
        html.contains("start names node &#34;welcome&#34;")
            || html.contains("start names node &quot;welcome&quot;"),
        "{html}"
    );
    assert!(
        html.contains("start = &#34;welcome&#34;") || html.contains("start = &quot;welcome&quot;"),
        "the text stays in the editor to mend"
    );

    let res = browser
        .post_form(
            "/ivr/flow",
            &[("_csrf", "forged"), ("toml", &complaints_as_suggestions())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser
        .post_form(
            "/ivr/flow",
            &[("_csrf", &csrf), ("toml", &complaints_as_suggestions())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/ivr?saved=1");
    let (_, html) = browser.get("/ivr?saved=1").await;
    assert!(
        html.contains("category = &#34;suggestion&#34;")
            || html.contains("category = &quot;suggestion&quot;")
    );

    // A recording uploaded by the page's form (multipart, with the form's CSRF token).
    let upload = |token: &str, language: &str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token.to_owned())
            .text("language", language.to_owned())
            .text("prompt", "goodbye")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("goodbye.wav")
                    .mime_str("audio/wav")
                    .unwrap(),
            );
        browser
            .http
            .post(format!("{}/ivr/prompts", browser.base))
            .multipart(form)
            .send()
    };
    let mut recording = std::io::Cursor::new(Vec::new());
    let mut writer = leadline_telephony::wav::WavWriter::new(&mut recording).unwrap();
    writer.write_samples(&[500; 4000]).unwrap();
    writer.finish().unwrap();
    let recording = recording.into_inner();
    let res = upload("forged", "cmn", recording.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!prompts::prompt_path(&dir, "cmn", "goodbye").exists());
    let res = upload(&csrf, "cmn", b"not a wav".to_vec()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"ivr-error\"") && html.contains("不是 WAV 文件"),
        "{html}"
    );
    let res = upload(&csrf, "cmn", recording).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/ivr?uploaded=cmn%2Fgoodbye");
    let (_, html) = browser.get("/ivr?uploaded=cmn%2Fgoodbye").await;
    assert!(html.contains(r#"src="/api/v1/prompts/cmn/goodbye""#));
    assert_eq!(
        prompts::read_prompt(&dir, "cmn", "goodbye")
            .unwrap()
            .duration_ms(),
        500
    );

    let agent = app.browser("agent_a1").await;
    assert_eq!(agent.get("/ivr").await.0, StatusCode::FORBIDDEN);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Each prompt of the demo flow as a 300 ms tone.
fn tone_prompts(dir: &Path) {
    let flow = leadline_telephony::ivr::Flow::parse(DEMO_FLOW).unwrap();
    for language in &flow.languages {
        for prompt in prompts::prompt_names(&flow) {
            prompts::write_prompt(
                dir,
                language,
                &prompt,
                &pacing::tone(440.0, Duration::from_millis(300), 6000),
            )
            .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_call_runs_the_flow_an_admin_saved() {
    let dir = scratch("ivr-next-call");
    tone_prompts(&dir);
    let mut ivr = None;
    let prompt_dir = dir.clone();
    let app = TestApp::spawn_with(|s| {
        s.ivr.prompt_dir = prompt_dir;
        ivr = Some(s.ivr.clone());
    })
    .await;
    let ivr = ivr.unwrap();
    let settings = CallServiceSettings {
        bind: "127.0.0.1:0".parse().unwrap(),
        flow: ivr.subscribe(),
        prompt_dir: dir.clone(),
        recording_dir: scratch("ivr-next-call-recordings"),
        seat_proxy: None,
    };
    let service = call_service::start(app.db.clone(), settings).await.unwrap();
    let admin = app.api("admin").await;
    let (status, body) = put_flow(&admin, "9000", &complaints_as_suggestions()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

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
    let mut voicemails = Vec::new();
    for _ in 0..100 {
        let (_, body) = admin.get_json("/api/v1/voicemails").await;
        voicemails = body["voicemails"].as_array().cloned().unwrap_or_default();
        if !voicemails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(voicemails.len(), 1);
    assert_eq!(
        voicemails[0]["category"], "suggestion",
        "the saved flow filed it"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
