//! `leadline bench calls` (issue 27): SIPp places `--rate` IVR calls a second, at most
//! `--concurrent` at once, for `--seconds`, to Leadline's call service started in this process
//! on loopback exactly as `leadline serve --sip` starts it (the demo flow 9000, prompts spoken by
//! espeak-ng into a temp folder, every call stored in a temp SQLite database, or PostgreSQL with
//! `--postgres`). Each caller keys 1, 9, 1 over the prompts, talks and hangs up (the scenario is
//! `crates/telephony/tests/sipp/load_ivr.xml`).
//!
//! Printed: calls attempted, succeeded and failed (SIPp's statistics and exit code), the calls
//! stored with their keys, the time from the 200 OK to the first prompt packet per call (p50,
//! p95, p99, max and the share within 100 ms; measured inside the service, where both instants
//! happen, see `ServiceStats`), INVITE → 200 OK as SIPp saw it, the most calls up at once, and
//! the service's CPU per call (user + system time of this process over the run, divided by the
//! calls) against the same figures of a baseline run at `--baseline-rate` in the same process
//! beforehand, and against SIPp's own CPU per call.

mod sipp;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leadline_store::db::test_db::TestDb;
use leadline_store::{Db, db_run};
use leadline_telephony::ivr::{DEMO_FLOW, Flow};
use leadline_telephony::prompts::{self, DEMO_TEXTS, PromptTexts};
use leadline_telephony::service::ServiceStats;
use sqlx::Row;

#[derive(clap::Args, Debug, Clone)]
pub struct CallsArgs {
    /// New calls SIPp places per second.
    #[arg(long, default_value_t = 20)]
    rate: u32,
    /// Most calls up at once (SIPp's -l).
    #[arg(long, default_value_t = 100)]
    concurrent: u32,
    /// How long calls are placed: the run places rate × seconds calls.
    #[arg(long, default_value_t = 60)]
    seconds: u32,
    /// Place exactly this many calls instead of rate × seconds.
    #[arg(long)]
    calls: Option<u32>,
    /// The baseline run beforehand places this many calls a second…
    #[arg(long, default_value_t = 1)]
    baseline_rate: u32,
    /// …for this many seconds (0: no baseline run).
    #[arg(long, default_value_t = 10)]
    baseline_seconds: u32,
    /// Store the calls on this PostgreSQL server (a fresh schema) instead of a temp SQLite file.
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
}

/// The goal: prompts start within this long of the answer.
const PROMPT_GOAL: Duration = Duration::from_millis(100);
/// The keys every scenario call sends, as the store should hold them.
const KEYS: &str = "191";
/// The language the scenario chooses (key 1): the only prompts generated.
const LANGUAGE: &str = "cmn";

pub async fn run(args: CallsArgs) -> anyhow::Result<()> {
    if args.rate == 0 || args.concurrent == 0 {
        bail!("--rate and --concurrent must be at least 1");
    }
    let calls = args.calls.unwrap_or(args.rate * args.seconds);
    if calls == 0 {
        bail!("nothing to place: --seconds (or --calls) must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!("leadline-bench-calls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = bench(&args, calls, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(args: &CallsArgs, calls: u32, dir: &Path) -> anyhow::Result<()> {
    let flow = Flow::parse(DEMO_FLOW).context("the demo flow")?;
    let prompt_dir = dir.join("prompts");
    let spoken = speak_prompts(&flow, &prompt_dir).await?;
    let (store_name, test_db) = match &args.postgres {
        Some(url) => ("PostgreSQL", TestDb::postgres(url).await?),
        None => ("SQLite", TestDb::sqlite().await?),
    };
    let db = test_db.db.clone();
    let recording_dir = dir.join("recordings");
    std::fs::create_dir_all(&recording_dir)?;
    let (_flow_sender, flow_receiver) = tokio::sync::watch::channel(flow);
    let settings = leadline_web::call_service::CallServiceSettings {
        bind: "127.0.0.1:0".parse()?,
        flow: flow_receiver,
        prompt_dir,
        recording_dir,
        seat_proxy: None,
    };
    let service = leadline_web::call_service::start(db.clone(), settings)
        .await
        .context("starting the call service")?;
    let target = service.address();
    let stats = service.stats().clone();

    let mut runs = Vec::new();
    if args.baseline_seconds > 0 {
        let plan = sipp::Plan {
            rate: args.baseline_rate.max(1),
            limit: args.concurrent,
            calls: args.baseline_rate.max(1) * args.baseline_seconds,
        };
        runs.push(measure("baseline", plan, target, &stats, &dir.join("baseline")).await?);
    }
    let plan = sipp::Plan {
        rate: args.rate,
        limit: args.concurrent,
        calls,
    };
    runs.push(measure("load", plan, target, &stats, &dir.join("load")).await?);
    let answered: u64 = runs.iter().map(|run| run.answered).sum();
    let stored = stored_calls(&db, answered).await?;
    drop(service);
    db.close().await;
    drop(test_db);

    let report = report(&spoken, store_name, &runs, &stored);
    println!("{report}");
    let failed: u64 = runs.iter().map(|run| run.sipp.failed).sum();
    if failed > 0 {
        bail!("{failed} calls failed (SIPp's error log is quoted above)");
    }
    if let Some(run) = runs.iter().find(|run| run.sipp.exit_code != Some(0)) {
        bail!(
            "SIPp's {} run ended with exit code {:?} (its error log is quoted above)",
            run.label,
            run.sipp.exit_code
        );
    }
    if stored.total != answered || stored.with_keys != answered {
        bail!(
            "{answered} calls answered but {} stored, {} of them with keys {KEYS}",
            stored.total,
            stored.with_keys
        );
    }
    Ok(())
}

/// The demo flow's prompts in the scenario's language, spoken by espeak-ng as `leadline prompts
/// generate` does; returns each prompt's name and length.
async fn speak_prompts(flow: &Flow, dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let texts = PromptTexts::parse(DEMO_TEXTS).context("the demo prompt texts")?;
    let flow = flow.clone();
    let dir = dir.to_owned();
    let generated = tokio::task::spawn_blocking(move || {
        prompts::generate(&flow, &texts, &dir, &[LANGUAGE.to_owned()])
    })
    .await?
    .context("speaking the prompts with espeak-ng (Debian package espeak-ng)")?;
    Ok(generated
        .files
        .into_iter()
        .map(|(_, prompt, ms)| (prompt, ms))
        .collect())
}

/// One SIPp run and what the service saw of it.
struct Run {
    label: &'static str,
    plan: sipp::Plan,
    sipp: sipp::Outcome,
    /// Calls the service answered during the run.
    answered: u64,
    /// From the 200 OK to the first prompt packet, per call.
    prompt_delays: Vec<Duration>,
    peak_up: usize,
    /// This process's (the service's) user + system CPU time over the run.
    service_cpu: Duration,
}

async fn measure(
    label: &'static str,
    plan: sipp::Plan,
    target: SocketAddr,
    stats: &Arc<ServiceStats>,
    dir: &Path,
) -> anyhow::Result<Run> {
    eprintln!(
        "{label}: SIPp places {} calls, {} a second, at most {} at once …",
        plan.calls, plan.rate, plan.limit
    );
    stats.reset_peak();
    stats.take_prompt_delays();
    let answered_before = stats.answered();
    let before = cpu::now()?;
    let outcome = sipp::run(dir, target, plan).await?;
    // The service ends each call on the caller's BYE; give the last ones a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats.active() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = cpu::now()?;
    Ok(Run {
        label,
        plan,
        sipp: outcome,
        answered: stats.answered() - answered_before,
        prompt_delays: stats.take_prompt_delays(),
        peak_up: stats.peak(),
        service_cpu: after.own.saturating_sub(before.own),
    })
}

/// What the store holds after the runs: every inbound call, and those with the scenario's keys.
struct Stored {
    total: u64,
    with_keys: u64,
    hung_up_by_caller: u64,
}

/// Waits (up to 30 s) for the service's event consumer to store `expected` calls, then counts.
async fn stored_calls(db: &Db, expected: u64) -> anyhow::Result<Stored> {
    const SQL: &str = "SELECT COUNT(*) AS total, \
        COALESCE(SUM(CASE WHEN digits = $1 THEN 1 ELSE 0 END), 0) AS with_keys, \
        COALESCE(SUM(CASE WHEN hung_up_by = 'caller' THEN 1 ELSE 0 END), 0) AS by_caller \
        FROM phone_calls WHERE direction = 'inbound'";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = db_run!(db, |pool| sqlx::query(SQL)
            .bind(KEYS)
            .fetch_one(pool)
            .await
            .map(|row| (
                row.get::<i64, _>("total"),
                row.get::<i64, _>("with_keys"),
                row.get::<i64, _>("by_caller")
            ))?);
        let stored = Stored {
            total: u64::try_from(row.0).unwrap_or(0),
            with_keys: u64::try_from(row.1).unwrap_or(0),
            hung_up_by_caller: u64::try_from(row.2).unwrap_or(0),
        };
        if stored.total >= expected || Instant::now() > deadline {
            return Ok(stored);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn report(spoken: &[(String, u64)], store: &str, runs: &[Run], stored: &Stored) -> String {
    let mut out =
        String::from("\n== bench calls: the demo IVR flow 9000 over SIP on loopback ==\n");
    out.push_str(&format!(
        "service: in this process as `leadline serve --sip` runs it; calls stored in {store}\n"
    ));
    let lengths: Vec<String> = spoken
        .iter()
        .map(|(prompt, ms)| format!("{prompt} {:.1} s", *ms as f64 / 1000.0))
        .collect();
    out.push_str(&format!(
        "prompts ({LANGUAGE}, espeak-ng): {}\n",
        lengths.join(", ")
    ));
    out.push_str(
        "caller (SIPp load_ivr.xml): keys 1, 9, 1 as RFC 4733 events at 0.3, 1.0, 1.7 s, \
         talks from 2.2 s, hangs up at 5.0 s\n",
    );
    for run in runs {
        out.push_str(&run_block(run));
    }
    out.push_str(&format!(
        "\nstored: {} inbound calls, {} with keys {KEYS}, {} hung up by the caller\n",
        stored.total, stored.with_keys, stored.hung_up_by_caller
    ));
    if let [baseline, load] = runs {
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "n/a".to_owned(),
        };
        out.push_str(&format!(
            "service CPU per call, load / baseline: {}\n",
            ratio(cpu_per_call(load), cpu_per_call(baseline))
        ));
        out.push_str(&format!(
            "answer → prompt p99, load / baseline: {}\n",
            ratio(
                percentile(&load.prompt_delays, 0.99).map(ms),
                percentile(&baseline.prompt_delays, 0.99).map(ms)
            )
        ));
    }
    if let Some(load) = runs.last() {
        let within = share_within(&load.prompt_delays, PROMPT_GOAL);
        let no_failed = load.sipp.failed == 0 && load.sipp.exit_code == Some(0);
        out.push_str(&format!(
            "goal (issue 27): no failed call — {}; prompts within {} ms of answer — {:.1}% of calls ({})\n",
            if no_failed { "met" } else { "NOT met" },
            PROMPT_GOAL.as_millis(),
            within * 100.0,
            if within >= 1.0 { "met" } else { "NOT met" },
        ));
    }
    out
}

fn run_block(run: &Run) -> String {
    let plan = run.plan;
    let sipp = &run.sipp;
    let mut out = format!(
        "\n-- {}: {} calls a second, at most {} at once, {} calls; SIPp ran {:.1} s (exit code {}) --\n",
        run.label,
        plan.rate,
        plan.limit,
        plan.calls,
        sipp.wall.as_secs_f64(),
        sipp.exit_code
            .map_or_else(|| "none".to_owned(), |c| c.to_string())
    );
    out.push_str(&format!(
        "calls: attempted {}, succeeded {}, failed {}; answered by the service {}\n",
        sipp.created, sipp.succeeded, sipp.failed, run.answered
    ));
    out.push_str(&format!(
        "most calls up at once: {} (service), {} (SIPp, sampled each second)\n",
        run.peak_up, sipp.peak_current
    ));
    out.push_str(&format!(
        "answer (200 OK sent) → first prompt packet sent, {} calls: {}; within {} ms: {:.1}%\n",
        run.prompt_delays.len(),
        spread(&run.prompt_delays),
        PROMPT_GOAL.as_millis(),
        share_within(&run.prompt_delays, PROMPT_GOAL) * 100.0
    ));
    out.push_str(&format!(
        "INVITE sent → 200 OK received (SIPp, whole milliseconds), {} calls: {}\n",
        sipp.invite_to_200.len(),
        spread(&sipp.invite_to_200)
    ));
    out.push_str(&format!(
        "CPU: service {:.2} s = {} per call; SIPp {:.2} s = {} per call; service / SIPp {}\n",
        run.service_cpu.as_secs_f64(),
        per_call_ms(cpu_per_call(run)),
        sipp.cpu.as_secs_f64(),
        per_call_ms(per_call(sipp.cpu, sipp.created)),
        match (cpu_per_call(run), per_call(sipp.cpu, sipp.created)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "n/a".to_owned(),
        }
    ));
    for line in &sipp.errors {
        out.push_str(&format!("SIPp error log: {line}\n"));
    }
    out
}

/// Seconds of service CPU per answered call.
fn cpu_per_call(run: &Run) -> Option<f64> {
    per_call(run.service_cpu, run.answered)
}

fn per_call(cpu: Duration, calls: u64) -> Option<f64> {
    (calls > 0).then(|| cpu.as_secs_f64() / calls as f64)
}

fn per_call_ms(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "n/a".to_owned(), |s| format!("{:.2} ms", s * 1000.0))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// p50 / p95 / p99 / max in milliseconds.
fn spread(values: &[Duration]) -> String {
    let p = |q| percentile(values, q).map_or_else(|| "–".to_owned(), |d| format!("{:.2}", ms(d)));
    format!(
        "p50 {} / p95 {} / p99 {} / max {} ms",
        p(0.50),
        p(0.95),
        p(0.99),
        p(1.0)
    )
}

/// The nearest-rank percentile `q` (0 < q ≤ 1).
fn percentile(values: &[Duration], q: f64) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

fn share_within(values: &[Duration], limit: Duration) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().filter(|d| **d <= limit).count() as f64 / values.len() as f64
}

/// CPU time from `/proc/self/stat`: this process's, and its waited-for children's (SIPp).
mod cpu {
    use anyhow::Context;
    use std::time::Duration;

    /// Linux reports these times in USER_HZ ticks, 100 a second on every architecture.
    const TICK: Duration = Duration::from_millis(10);

    pub(super) struct Times {
        /// utime + stime of every thread of this process.
        pub own: Duration,
        /// cutime + cstime of the children waited for.
        pub children: Duration,
    }

    pub(super) fn now() -> anyhow::Result<Times> {
        let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
        parse(&stat).context("reading /proc/self/stat")
    }

    /// Fields 14–17 (utime, stime, cutime, cstime), counted after the `)` closing field 2.
    fn parse(stat: &str) -> Option<Times> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<u64> = rest
            .split_whitespace()
            .skip(11)
            .take(4)
            .map(|field| field.parse().ok())
            .collect::<Option<_>>()?;
        let ticks = |n: u64| TICK * u32::try_from(n).unwrap_or(u32::MAX);
        match fields[..] {
            [utime, stime, cutime, cstime] => Some(Times {
                own: ticks(utime + stime),
                children: ticks(cutime + cstime),
            }),
            _ => None,
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn user_and_system_ticks_add_up() {
            let stat = "4242 (leadline (x)) S 1 2 3 4 5 6 7 8 9 10 150 50 7 3 20 0 9";
            let times = super::parse(stat).unwrap();
            assert_eq!(times.own.as_millis(), 2000);
            assert_eq!(times.children.as_millis(), 100);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.5), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&values, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&values, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(share_within(&values, Duration::from_millis(90)), 0.9);
    }
}
