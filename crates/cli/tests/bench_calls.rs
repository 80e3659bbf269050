//! `leadline bench calls` at a tiny size: SIPp (Debian sip-tester) places 2 calls at 1 a second
//! as the baseline, then 4 at 2 a second, to the call service on loopback with prompts spoken by
//! espeak-ng; every call succeeds, is stored with the keys the caller sent, and the report lists
//! every figure. The figures themselves are only shown (no timing thresholds in tests). Calls
//! are stored in SQLite, or in PostgreSQL when `LEADLINE_TEST_POSTGRES_URL` is set.

use std::process::{Command, Output};

fn bench_calls(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leadline"));
    command
        .args(["bench", "calls"])
        .args(args)
        .env("LEADLINE_LOG", "warn")
        .env_remove("LEADLINE_BENCH_POSTGRES_URL");
    if let Some(url) = std::env::var("LEADLINE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        command.args(["--postgres", &url]);
    }
    command.output().expect("leadline runs")
}

#[test]
fn a_tiny_load_run_has_no_failed_call_and_reports_every_figure() {
    let output = bench_calls(&[
        "--rate",
        "2",
        "--calls",
        "4",
        "--baseline-rate",
        "1",
        "--baseline-seconds",
        "2",
    ]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench calls failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{report}");
    for figure in [
        "-- baseline: 1 calls a second, at most 100 at once, 2 calls;",
        "calls: attempted 2, succeeded 2, failed 0; answered by the service 2",
        "-- load: 2 calls a second, at most 100 at once, 4 calls;",
        "calls: attempted 4, succeeded 4, failed 0; answered by the service 4",
        "answer (200 OK sent) → first prompt packet sent, 4 calls: p50 ",
        "INVITE sent → 200 OK received (SIPp, whole milliseconds), 4 calls: p50 ",
        "most calls up at once: ",
        " per call; SIPp ",
        "stored: 6 inbound calls, 6 with keys 191, 6 hung up by the caller",
        "service CPU per call, load / baseline: ",
        "goal (issue 27): no failed call — met; prompts within 100 ms of answer — ",
    ] {
        assert!(
            report.contains(figure),
            "{figure:?} missing from:\n{report}"
        );
    }
}

#[test]
fn a_run_without_calls_is_refused_before_anything_starts() {
    for args in [
        &["--rate", "0"][..],
        &["--seconds", "0"],
        &["--concurrent", "0"],
    ] {
        let output = bench_calls(args);
        assert!(!output.status.success(), "{args:?} was accepted");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains("must be at least 1"), "{args:?}: {error}");
    }
}
