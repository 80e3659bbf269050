//! `leadline bench next-call`: 1,000,000 leads, 100 concurrent agents over HTTP against the real
//! server — each agent presses next call and records the call, in a loop, for a fixed time.
//! Prints next-call and record-call throughput with p50/p99 latency, and the ratio against the
//! bare SQL that selects and reserves one lead, measured in the same run by as many concurrent
//! tasks. SQLite always; PostgreSQL too when `--postgres` names a server (a fresh schema).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leadline_domain::Role;
use leadline_domain::calling_hours::Window;
use leadline_store::auth::users::{self, NewUser};
use leadline_store::db::test_db::TestDb;
use leadline_store::workday::config;
use leadline_store::{Backend, Db, db_run};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(clap::Args, Debug, Clone)]
pub struct NextCallArgs {
    /// Number of leads to generate (all fresh, in the shared pool, one phone each).
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) leads: usize,
    /// Concurrent agents, each with its own token and connection.
    #[arg(long, default_value_t = 100)]
    pub(crate) agents: usize,
    /// Seconds of each phase: agents looping next-call + record-call as fast as they can, then
    /// at the paced rate.
    #[arg(long, default_value_t = 10)]
    pub(crate) seconds: u64,
    /// Call records per second all agents together attempt in the paced phase (each agent one
    /// next-call + record-call every agents/rate seconds); latency there is measured from each
    /// call's scheduled start, so a server that falls behind shows it.
    #[arg(long, default_value_t = 2_000.0)]
    pub(crate) rate: f64,
    /// Rows of the CSV imported while the agents call at the paced rate: through the server's
    /// own import path once with the import's long batches and once with batches cut short while
    /// calls come, then by `leadline import` in another process, to show what an office's import
    /// costs its agents (SQLite only; 0 skips).
    #[arg(long, default_value_t = 300_000)]
    pub(crate) import_rows: usize,
    /// Bare select-and-reserve statements timed for the baseline.
    #[arg(long, default_value_t = 5_000)]
    pub(crate) bare: usize,
    /// Also run on this PostgreSQL server.
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    pub(crate) postgres: Option<String>,
    /// Skip the SQLite run: only PostgreSQL, with `--postgres`.
    #[arg(long, requires = "postgres")]
    pub(crate) no_sqlite: bool,
}

mod during_import;
mod full_cycle;

use during_import::{paced_beside_cli_import, paced_during_import};
use full_cycle::{bare_full_cycle, postgres_cpu_seconds};

const PASSWORD: &str = "bench-password";
/// Rows per INSERT statement and per transaction while loading.
const ROWS_PER_STATEMENT: usize = 500;
const ROWS_PER_TX: usize = 50_000;
/// Numbers put on the do-not-call list (every 1000th lead), so the DNC check has work to do.
const DNC_EVERY: usize = 1_000;
/// Goals on SQLite.
const GOAL_P99_MS: f64 = 10.0;
const GOAL_RECORDS_PER_S: f64 = 2_000.0;
/// What the agents record, picked at random (the same for HTTP and the bare full cycle).
const DISPOSITIONS: [&str; 7] = [
    "no_answer",
    "connected",
    "busy",
    "call_back",
    "not_interested",
    "qualified",
    "wrong_number",
];
const INTENTS: [&str; 4] = ["interested", "no_stance", "positive", "resistant"];
const NOTES: &str = "客户说下周再联系";

pub async fn run(args: NextCallArgs) -> anyhow::Result<()> {
    if args.leads < 10_000 || args.agents == 0 || args.seconds == 0 {
        bail!("--leads must be at least 10000, --agents and --seconds at least 1");
    }
    let mut out = Vec::new();
    if !args.no_sqlite {
        let sqlite = TestDb::sqlite()
            .await
            .context("creating the SQLite database")?;
        let r = bench_backend("SQLite", &sqlite.db, &args).await;
        sqlite.db.close().await;
        out.push(r?);
    }
    if let Some(url) = &args.postgres {
        let pg = TestDb::postgres(url)
            .await
            .context("creating a fresh PostgreSQL schema")?;
        let r = bench_backend("PostgreSQL", &pg.db, &args).await;
        pg.db.close().await;
        out.push(r?);
    }
    if out.len() > 1 {
        println!("\n==== summary ====");
        for o in &out {
            println!("{o}");
        }
    }
    Ok(())
}

pub(crate) struct Lat {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) n: usize,
}

pub(crate) fn lat(mut v: Vec<Duration>) -> Lat {
    v.sort_unstable();
    let at = |p: f64| {
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1000.0
    };
    Lat {
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        p999: at(99.9),
        n: v.len(),
    }
}

async fn bench_backend(name: &str, db: &Db, args: &NextCallArgs) -> anyhow::Result<String> {
    println!(
        "\n== {name}: {} leads, {} agents, {} s ==",
        args.leads, args.agents, args.seconds
    );
    let (admin, agents) = agents_on_duty(db, args.agents).await?;

    let t = Instant::now();
    load(db, args.leads).await?;
    let load_s = t.elapsed().as_secs_f64();
    println!(
        "load: {} leads + phones in {load_s:.1} s = {:.0} rows/s",
        args.leads,
        args.leads as f64 / load_s
    );
    let t = Instant::now();
    db_run!(db, |pool| sqlx::query("ANALYZE")
        .execute(pool)
        .await?
        .rows_affected());
    println!("ANALYZE: {:.1} s", t.elapsed().as_secs_f64());

    // The baseline: the bare statement that selects and reserves one fresh lead.
    let bare = bare_select_and_reserve(
        db,
        args.agents,
        args.bare,
        agents.iter().map(|u| u.id.0).collect(),
    )
    .await?;
    println!(
        "bare select-and-reserve: {} statements, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        bare.0.n, bare.1, bare.0.p50, bare.0.p99
    );

    let app = leadline_web::App::bind("127.0.0.1:0", leadline_web::AppState::new(db.clone()))
        .await
        .context("binding the benchmark server")?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    let result = async {
        let tokens = sign_in(&base, args).await?;
        // The second baseline: the same cycle through the store, no HTTP (the server idle).
        let full = bare_full_cycle(db, &tokens, args.seconds).await?;
        println!(
            "bare full cycle (store, no HTTP): {:.0} cycles/s, p50 {:.2} ms, p99 {:.2} ms",
            full.rate, full.lat.p50, full.lat.p99
        );
        let counting = crate::bench_pg_stats::reset_statements(db).await;
        let flat_out = agents_loop_on(Some(db), &base, args, &tokens, None).await?;
        let statements = if counting {
            crate::bench_pg_stats::top_statements(db, flat_out.record.n, 12).await?
        } else {
            String::new()
        };
        let paced = agents_loop_on(Some(db), &base, args, &tokens, Some(args.rate)).await?;
        let mut during = Vec::new();
        if db.backend() == Backend::Sqlite && args.import_rows > 0 {
            for (label, short, first) in [
                (
                    "paced during an import, short batches while calls come",
                    true,
                    40_000_000,
                ),
                ("paced during an import, long batches", false, 20_000_000),
            ] {
                let r =
                    paced_during_import(db, admin.id, &base, args, &tokens, short, first).await?;
                during.push((label, r));
                // The stopped import's last batch finishes before the next phase starts.
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            let r = paced_beside_cli_import(db, &base, args, &tokens, 60_000_000).await?;
            during.push(("paced beside `leadline import` in another process", r));
        }
        anyhow::Ok((full, flat_out, paced, during, statements))
    }
    .await;
    let _ = stop.send(());
    server.await??;
    let (full, flat_out, paced, during, statements) = result?;

    let (calls, stats): (i64, i64) = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM calls), (SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM call_stats)"
    )
    .fetch_one(pool)
    .await?
    });
    let mut out = format!(
        "\n== {name}: {} leads, {} agents over HTTP ==\nload {load_s:.1} s ({:.0} rows/s)\n",
        args.leads,
        args.agents,
        args.leads as f64 / load_s
    );
    let phases = [("flat out", &flat_out), ("paced", &paced)]
        .into_iter()
        .chain(during.iter().map(|(label, (r, _))| (*label, r)));
    for (phase, r) in phases {
        out.push_str(&format!(
            "{phase}: {:.1} s, {:.0} call records/s{}\n",
            r.elapsed,
            r.record.n as f64 / r.elapsed,
            r.cpu_per_call
                .map(|c| format!(", {:.0} µs of process CPU per next + record", c * 1e6))
                .unwrap_or_default()
                + &r.db_cpu_per_call
                    .map(|c| format!(", {:.0} µs of PostgreSQL CPU", c * 1e6))
                    .unwrap_or_default()
        ));
        if let Some(late) = &r.pacer_late {
            out.push_str(&format!(
                "  pacer (the client's own clock, counted in the latencies below): slots started late by p50 {:.2} ms, p99 {:.2} ms\n",
                late.p50, late.p99
            ));
        }
        out.push_str(&format!(
            "  next-call:   {:>7} requests, {:>7.0}/s, p50 {:>6.2} ms, p90 {:>6.2} ms, p99 {:>6.2} ms, p99.9 {:>6.2} ms ({} × 204)\n",
            r.next.n,
            r.next.n as f64 / r.elapsed,
            r.next.p50,
            r.next.p90,
            r.next.p99,
            r.next.p999,
            r.nothing
        ));
        out.push_str(&format!(
            "  record-call: {:>7} requests, {:>7.0}/s, p50 {:>6.2} ms, p90 {:>6.2} ms, p99 {:>6.2} ms, p99.9 {:>6.2} ms\n",
            r.record.n,
            r.record.n as f64 / r.elapsed,
            r.record.p50,
            r.record.p90,
            r.record.p99,
            r.record.p999
        ));
    }
    for (label, (_, import)) in &during {
        out.push_str(&format!(
            "  import beside them ({label}): {} rows in {:.1} s, {:.0} rows/s\n",
            import.rows,
            import.secs,
            import.rows as f64 / import.secs.max(1e-9)
        ));
    }
    if let [(_, (short, short_import)), (_, (long, long_import)), ..] = during.as_slice() {
        out.push_str(&format!(
            "during an import, short batches / long: next-call p99 {:.1} / {:.1} ms ({:.2}×), record-call p99 {:.1} / {:.1} ms ({:.2}×), import {:.0} / {:.0} rows/s ({:.2}×)\n",
            short.next.p99,
            long.next.p99,
            short.next.p99 / long.next.p99,
            short.record.p99,
            long.record.p99,
            short.record.p99 / long.record.p99,
            short_import.rows as f64 / short_import.secs,
            long_import.rows as f64 / long_import.secs,
            (short_import.rows as f64 / short_import.secs)
                / (long_import.rows as f64 / long_import.secs)
        ));
    }
    out.push_str(&format!(
        "bare SQL select-and-reserve ({} concurrent): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms\n",
        args.agents, bare.1, bare.0.p50, bare.0.p99
    ));
    out.push_str(&format!(
        "bare full cycle through the store, no HTTP ({} concurrent): {:.0} cycles/s, p50 {:.2} ms, p99 {:.2} ms{}{}\n",
        args.agents,
        full.rate,
        full.lat.p50,
        full.lat.p99,
        full.cpu_per_cycle
            .map(|c| format!(", {:.0} µs of process CPU per cycle", c * 1e6))
            .unwrap_or_default(),
        full.db_cpu_per_cycle
            .map(|c| format!(", {:.0} µs of PostgreSQL CPU", c * 1e6))
            .unwrap_or_default()
    ));
    let product = flat_out.record.n as f64 / flat_out.elapsed;
    out.push_str(&format!(
        "ratio flat-out call records/s over HTTP / bare select-and-reserve: {:.2}; / bare full cycle: {:.2}; bare full cycle / bare select-and-reserve: {:.2}; paced next-call p50 / bare p50: {:.2}×\n",
        product / bare.1,
        product / full.rate,
        full.rate / bare.1,
        paced.next.p50 / bare.0.p50
    ));
    out.push_str(&format!("calls stored {calls}, daily counters {stats}\n"));
    out.push_str(&crate::bench_pg_stats::hot_updates(db).await?);
    out.push_str(&statements);
    if name == "SQLite" {
        let mut missed = Vec::new();
        let paced_rate = paced.record.n as f64 / paced.elapsed;
        if paced.next.p99 > GOAL_P99_MS {
            missed.push(format!(
                "paced next-call p99 {:.1} ms > {GOAL_P99_MS} ms",
                paced.next.p99
            ));
        }
        if paced.record.p99 > GOAL_P99_MS {
            missed.push(format!(
                "paced record-call p99 {:.1} ms > {GOAL_P99_MS} ms",
                paced.record.p99
            ));
        }
        if paced_rate < GOAL_RECORDS_PER_S * 0.98 {
            missed.push(format!(
                "paced {paced_rate:.0} call records/s < {GOAL_RECORDS_PER_S}"
            ));
        }
        out.push_str(&if missed.is_empty() {
            format!("goal (p99 < {GOAL_P99_MS} ms at ≥ {GOAL_RECORDS_PER_S} records/s): met\n")
        } else {
            format!("goal MISSED: {}\n", missed.join("; "))
        });
    }
    let recorded = (full.lat.n
        + flat_out.record.n
        + paced.record.n
        + during.iter().map(|(_, (r, _))| r.record.n).sum::<usize>()) as i64;
    if calls != recorded || stats != calls {
        out.push_str(&format!(
            "CHECK FAILED: {recorded} recorded responses, {calls} call rows, {stats} counted\n"
        ));
    }
    println!("{out}");
    Ok(out)
}

/// An admin, `n` agents (agent000…, one team, the benchmark password) and calling hours open
/// around the clock, so that a run does not depend on when it starts.
pub(crate) async fn agents_on_duty(
    db: &Db,
    n: usize,
) -> anyhow::Result<(users::User, Vec<users::User>)> {
    let hash = users::hash_password(PASSWORD);
    let admin = users::create_user(
        db,
        &NewUser {
            username: "admin".into(),
            display_name: "管理员".into(),
            role: Role::Admin,
            team_id: None,
            password_hash: hash.clone(),
        },
        None,
    )
    .await?;
    let team = users::create_team(db, "电销一组", Some(admin.id)).await?;
    let mut agents = Vec::new();
    for i in 0..n {
        let u = users::create_user(
            db,
            &NewUser {
                username: format!("agent{i:03}"),
                display_name: format!("坐席{i:03}"),
                role: Role::Agent,
                team_id: Some(team),
                password_hash: hash.clone(),
            },
            Some(admin.id),
        )
        .await?;
        agents.push(u);
    }
    // Calling hours open around the clock, so the run does not depend on when it starts.
    let all_day: Vec<Window> = (1..=7)
        .map(|weekday| Window {
            weekday,
            start_minute: 0,
            end_minute: 1440,
        })
        .collect();
    config::set_windows(db, admin.id, None, &all_day).await?;
    Ok((admin, agents))
}

/// Fresh pool leads with one phone each, many rows per statement.
pub(crate) async fn load(db: &Db, n: usize) -> anyhow::Result<()> {
    let now = leadline_store::now();
    let ts = now.to_rfc3339();
    let mut rng = StdRng::seed_from_u64(7);
    let mut id = 1usize;
    while id <= n {
        let tx_end = (id + ROWS_PER_TX - 1).min(n);
        let mut statements = Vec::new();
        let mut start = id;
        while start <= tx_end {
            let end = (start + ROWS_PER_STATEMENT - 1).min(tx_end);
            let mut leads = String::with_capacity(ROWS_PER_STATEMENT * 80);
            let mut phones = String::with_capacity(ROWS_PER_STATEMENT * 60);
            for i in start..=end {
                if i > start {
                    leads.push(',');
                    phones.push(',');
                }
                let priority: u32 = rng.random_range(0..10);
                leads.push_str(&format!("({i},'线索{i}','new',{priority},'{ts}','{ts}')"));
                phones.push_str(&format!("({i},{i},'+86138{i:08}','138{i:08}',0)"));
            }
            statements.push(format!("INSERT INTO leads (id, name, status, priority, created_at, updated_at) VALUES {leads}"));
            statements.push(format!(
                "INSERT INTO lead_phones (id, lead_id, e164, raw, position) VALUES {phones}"
            ));
            start = end + 1;
        }
        db_run!(db, |pool| {
            let mut tx = pool.begin().await?;
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        id = tx_end + 1;
    }
    let dnc: Vec<String> = (1..=n)
        .step_by(DNC_EVERY)
        .map(|i| format!("('+86138{i:08}','bench',{ts:?})"))
        .collect();
    let dnc_sql = format!(
        "INSERT INTO dnc_numbers (e164, reason, added_at) VALUES {}",
        dnc.join(",")
    )
    .replace('"', "'");
    db_run!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(dnc_sql))
        .execute(pool)
        .await?
        .rows_affected());
    if db.backend() == Backend::Postgres {
        // Later inserts (none here) would otherwise collide with the explicit ids.
        db_run!(db, |pool| sqlx::query(
            "SELECT setval(pg_get_serial_sequence('leads', 'id'), (SELECT MAX(id) FROM leads)), \
             setval(pg_get_serial_sequence('lead_phones', 'id'), (SELECT MAX(id) FROM lead_phones))"
        )
        .execute(pool)
        .await?
        .rows_affected());
    }
    Ok(())
}

/// `tasks` concurrent tasks run `total` bare select-and-reserve statements (the fresh-lead
/// query on the same index, without the store's visibility, zone, attempt and do-not-call-list
/// conditions), then give the leads back. Returns latency and statements per second.
async fn bare_select_and_reserve(
    db: &Db,
    tasks: usize,
    total: usize,
    agents: Vec<i64>,
) -> anyhow::Result<(Lat, f64)> {
    let sql: &'static str = match db.backend() {
        Backend::Sqlite => {
            "UPDATE leads SET reserved_by = $1, reserved_until = $2 WHERE id = (SELECT id FROM leads \
             WHERE status = 'new' AND deleted_at IS NULL AND dnc = FALSE AND (reserved_until IS NULL OR reserved_until <= $3) \
             ORDER BY priority DESC, id LIMIT 1) RETURNING id"
        }
        Backend::Postgres => {
            "WITH pick AS (SELECT id FROM leads WHERE status = 'new' AND deleted_at IS NULL AND dnc = FALSE \
             AND (reserved_until IS NULL OR reserved_until <= $3) ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             UPDATE leads SET reserved_by = $1, reserved_until = $2 FROM pick WHERE leads.id = pick.id RETURNING leads.id"
        }
    };
    let per_task = total.div_ceil(tasks);
    let samples = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let db = db.clone();
        let samples = samples.clone();
        let agent = agents[t % agents.len()];
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let now = leadline_store::now();
                let until = now + chrono::Duration::minutes(10);
                let t0 = Instant::now();
                let _: Option<i64> = db_run!(&db, |pool| sqlx::query_scalar(sql)
                    .bind(agent)
                    .bind(until)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?);
                mine.push(t0.elapsed());
            }
            samples.lock().await.extend(mine);
            anyhow::Ok(())
        }));
    }
    let (samples, elapsed) = timed_tasks(handles, &samples, started).await?;
    let n = samples.len();
    db_run!(db, |pool| sqlx::query(
        "UPDATE leads SET reserved_by = NULL, reserved_until = NULL WHERE reserved_by IS NOT NULL"
    )
    .execute(pool)
    .await?
    .rows_affected());
    Ok((lat(samples), n as f64 / elapsed))
}

/// Waits for the timing tasks and takes what they timed, with the seconds since `started`.
pub(crate) async fn timed_tasks(
    handles: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    samples: &Mutex<Vec<Duration>>,
    started: Instant,
) -> anyhow::Result<(Vec<Duration>, f64)> {
    for h in handles {
        h.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((std::mem::take(&mut *samples.lock().await), elapsed))
}

pub(crate) struct LoopResult {
    pub(crate) next: Lat,
    pub(crate) record: Lat,
    /// Next-calls answered 204 (nothing callable).
    pub(crate) nothing: usize,
    pub(crate) elapsed: f64,
    /// The whole process's CPU time (server and client) per recorded call, where known.
    pub(crate) cpu_per_call: Option<f64>,
    /// The local PostgreSQL's CPU time per recorded call, where known.
    pub(crate) db_cpu_per_call: Option<f64>,
    /// How late the pacer rang the slots (paced phases): part of every paced latency.
    pub(crate) pacer_late: Option<Lat>,
}

/// This process's CPU time so far (user + system), from /proc on Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Every agent signs in once.
pub(crate) async fn sign_in(base: &str, args: &NextCallArgs) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut tokens = Vec::new();
    for i in 0..args.agents {
        let res = client
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"username": format!("agent{i:03}"), "password": PASSWORD}))
            .send()
            .await?;
        let v: Value = res.error_for_status()?.json().await?;
        tokens.push(v["token"].as_str().context("a token")?.to_string());
    }
    Ok(tokens)
}

/// Rings each paced agent's bell at its slot's time, in slot order (agent `k % n` for the
/// `k`-th slot, one slot every `step`), from a thread of its own that sleeps with the system's
/// fine-grained timer: tokio's timer works in whole milliseconds and would start each call up to
/// a millisecond late, which the calls' latency (counted from the slot) would then carry.
/// Returns how late each ring was.
fn pace(
    bells: Vec<Arc<tokio::sync::Notify>>,
    started: Instant,
    deadline: Instant,
    step: Duration,
) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut late = Vec::new();
        for k in 0u32.. {
            let at = started + step * k;
            if at >= deadline {
                break;
            }
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            late.push(Instant::now().saturating_duration_since(at));
            bells[k as usize % bells.len()].notify_one();
        }
        // Agents waiting for a slot past the deadline stop.
        if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for bell in &bells {
            bell.notify_one();
        }
        late
    })
}

/// Every agent loops next-call + record-call until the time is up: as fast as it can
/// (`rate` None), or starting one call every agents/rate seconds, latency counted from the
/// scheduled start.
pub(crate) async fn agents_loop(
    base: &str,
    args: &NextCallArgs,
    tokens: &[String],
    rate: Option<f64>,
) -> anyhow::Result<LoopResult> {
    agents_loop_on(None, base, args, tokens, rate).await
}

/// [`agents_loop`], also reading the CPU time of `db` when it is a local PostgreSQL.
async fn agents_loop_on(
    db: Option<&Db>,
    base: &str,
    args: &NextCallArgs,
    tokens: &[String],
    rate: Option<f64>,
) -> anyhow::Result<LoopResult> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.agents * 2)
        .build()?;
    let (dispositions, intents) = (DISPOSITIONS, INTENTS);
    let interval = rate.map(|r| Duration::from_secs_f64(args.agents as f64 / r.max(0.001)));
    let db_cpu = || db.and_then(postgres_cpu_seconds);
    let (cpu0, db_cpu0) = (cpu_seconds(), db_cpu());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let bells: Vec<Arc<tokio::sync::Notify>> = (0..tokens.len())
        .map(|_| Arc::new(tokio::sync::Notify::new()))
        .collect();
    // Paced agents take the slots in turn, one every `step`: agent i the i-th, then every n-th.
    let n = tokens.len() as u32;
    let step = interval.map(|d| d / n);
    let pacer = step.map(|s| pace(bells.clone(), started, deadline, s));
    let mut handles = Vec::new();
    for (i, token) in tokens.iter().cloned().enumerate() {
        let client = client.clone();
        let base = base.to_string();
        let bell = bells[i].clone();
        let mut turn = i as u32;
        let mut slot = step.map(|s| started + s * turn);
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(i as u64);
            let (mut next, mut record, mut nothing) = (Vec::new(), Vec::new(), 0usize);
            while Instant::now() < deadline {
                if let Some(at) = slot {
                    // The pacer rings at the slot's time; a ring left over from a slot this
                    // agent was late for does not start the next one early.
                    while Instant::now() < at.min(deadline) {
                        bell.notified().await;
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                let t0 = slot.unwrap_or_else(Instant::now);
                if let Some(s) = step {
                    turn += n;
                    slot = Some(started + s * turn);
                }
                let res = client.post(format!("{base}/api/v1/agent/next-call")).bearer_auth(&token).send().await?;
                let status = res.status();
                let body = res.bytes().await?;
                next.push(t0.elapsed());
                if status == reqwest::StatusCode::NO_CONTENT {
                    nothing += 1;
                    if slot.is_none() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
                if !status.is_success() {
                    anyhow::bail!("next-call answered {status}: {}", String::from_utf8_lossy(&body));
                }
                let v: Value = serde_json::from_slice(&body)?;
                let id = v["lead"]["id"].as_i64().context("a lead id")?;
                let disposition = dispositions[rng.random_range(0..dispositions.len())];
                let intent = intents[rng.random_range(0..intents.len())];
                let t0 = Instant::now();
                let res = client
                    .post(format!("{base}/api/v1/leads/{id}/calls"))
                    .bearer_auth(&token)
                    .json(&json!({"disposition": disposition, "intent": intent, "duration_s": rng.random_range(5..300), "notes": NOTES}))
                    .send()
                    .await?;
                let status = res.status();
                let body = res.bytes().await?;
                if status != reqwest::StatusCode::CREATED {
                    anyhow::bail!("record-call answered {status}: {}", String::from_utf8_lossy(&body));
                }
                record.push(t0.elapsed());
            }
            anyhow::Ok((next, record, nothing))
        }));
    }
    let (mut next, mut record, mut nothing) = (Vec::new(), Vec::new(), 0);
    for h in handles {
        let (n, r, z) = h.await??;
        next.extend(n);
        record.extend(r);
        nothing += z;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let pacer_late = match pacer {
        Some(pacer) => Some(lat(pacer
            .join()
            .map_err(|_| anyhow::anyhow!("the pacer thread panicked"))?)),
        None => None,
    };
    let per_call = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if !record.is_empty() => Some((b - a) / record.len() as f64),
        _ => None,
    };
    let cpu_per_call = per_call(cpu0, cpu_seconds());
    let db_cpu_per_call = per_call(db_cpu0, db_cpu());
    Ok(LoopResult {
        next: lat(next),
        record: lat(record),
        nothing,
        elapsed,
        cpu_per_call,
        db_cpu_per_call,
        pacer_late,
    })
}
