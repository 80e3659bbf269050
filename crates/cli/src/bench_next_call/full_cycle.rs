//! `bench next-call`'s second baseline: the whole cycle's SQL without HTTP. As many tasks as
//! agents each sign in by its token, take the next call and record it through the store's own
//! functions — the statements the server issues for the two requests, in the same order, on the
//! same pool — flat out for the phase's time. Beside the bare select-and-reserve (one statement)
//! it shows what the database can do with a whole cycle; the HTTP rate against it is what the
//! server adds (HTTP, JSON, the router). Also reads the CPU time of the local PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use leadline_domain::IntentLevel;
use leadline_store::Db;
use leadline_store::auth as store_auth;
use leadline_store::workday::{self, CallInput};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use tokio::sync::Mutex;

use super::{DISPOSITIONS, INTENTS, Lat, NOTES, cpu_seconds, lat, timed_tasks};

/// What the tasks did: cycle latency, cycles per second, process and PostgreSQL CPU per cycle.
pub(crate) struct FullCycle {
    pub(crate) lat: Lat,
    pub(crate) rate: f64,
    pub(crate) cpu_per_cycle: Option<f64>,
    pub(crate) db_cpu_per_cycle: Option<f64>,
}

pub(crate) async fn bare_full_cycle(
    db: &Db,
    tokens: &[String],
    seconds: u64,
) -> anyhow::Result<FullCycle> {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let (cpu0, db_cpu0) = (cpu_seconds(), postgres_cpu_seconds(db));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    for (i, token) in tokens.iter().cloned().enumerate() {
        let (db, samples) = (db.clone(), samples.clone());
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(1_000 + i as u64);
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                // Next call: who asks, then the pick and the lead.
                let viewer = signed_in(&db, &token).await?;
                let Some(served) = workday::next_call(&db, &viewer, leadline_store::now()).await?
                else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // Record call: who asks, then the call.
                let viewer = signed_in(&db, &token).await?;
                let input = CallInput {
                    lead_id: served.lead.id,
                    started_at: None,
                    duration_s: rng.random_range(5..300),
                    disposition: DISPOSITIONS[rng.random_range(0..DISPOSITIONS.len())].into(),
                    intent: IntentLevel::parse(INTENTS[rng.random_range(0..INTENTS.len())]),
                    notes: NOTES.into(),
                    next_revisit_at: None,
                    script_id: None,
                    request_id: None,
                };
                workday::record_call(&db, &viewer, input, leadline_store::now()).await?;
                mine.push(t0.elapsed());
            }
            samples.lock().await.extend(mine);
            anyhow::Ok(())
        }));
    }
    let (samples, elapsed) = timed_tasks(handles, &samples, started).await?;
    let n = samples.len();
    let per = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if n > 0 => Some((b - a) / n as f64),
        _ => None,
    };
    Ok(FullCycle {
        lat: lat(samples),
        rate: n as f64 / elapsed,
        cpu_per_cycle: per(cpu0, cpu_seconds()),
        db_cpu_per_cycle: per(db_cpu0, postgres_cpu_seconds(db)),
    })
}

/// The CPU time so far (user + system, seconds) of every process on this machine named
/// `postgres`, when `db` is a PostgreSQL on this machine (None otherwise, or without /proc).
/// Anything else using that server meanwhile counts too.
pub(crate) fn postgres_cpu_seconds(db: &Db) -> Option<f64> {
    let Db::Postgres(pool) = db else { return None };
    let host = pool.connect_options().get_host().to_string();
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") && !host.starts_with('/') {
        return None;
    }
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if !head.ends_with("(postgres") {
            continue;
        }
        let f: Vec<&str> = rest.split_whitespace().collect();
        let (Some(u), Some(s)) = (f.get(11), f.get(12)) else {
            continue;
        };
        total += u.parse::<f64>().unwrap_or(0.0) + s.parse::<f64>().unwrap_or(0.0);
    }
    Some(total / 100.0)
}

/// Who a request with `token` comes from, read as the server reads it: the token's user, then
/// the viewer (teams, pools).
async fn signed_in(db: &Db, token: &str) -> anyhow::Result<leadline_domain::Viewer> {
    let user = store_auth::token_user(db, token)
        .await?
        .context("a signed-in agent")?;
    Ok(store_auth::users::viewer(db, &user).await?)
}
