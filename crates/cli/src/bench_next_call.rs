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
use leadline_store::test_db::TestDb;
use leadline_store::users::{self, NewUser};
use leadline_store::workday::config;
use leadline_store::{Backend, Db, db_run};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(clap::Args, Debug, Clone)]
pub struct NextCallArgs {
    /// Number of leads to generate (all fresh, in the shared pool, one phone each).
    #[arg(long, default_value_t = 1_000_000)]
    leads: usize,
    /// Concurrent agents, each with its own token and connection.
    #[arg(long, default_value_t = 100)]
    agents: usize,
    /// Seconds the agents loop next-call + record-call.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Bare select-and-reserve statements timed for the baseline.
    #[arg(long, default_value_t = 5_000)]
    bare: usize,
    /// Also run on this PostgreSQL server.
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
}

const PASSWORD: &str = "bench-password";
/// Rows per INSERT statement and per transaction while loading.
const ROWS_PER_STATEMENT: usize = 500;
const ROWS_PER_TX: usize = 50_000;
/// Numbers put on the do-not-call list (every 1000th lead), so the DNC check has work to do.
const DNC_EVERY: usize = 1_000;
/// Goals on SQLite.
const GOAL_P99_MS: f64 = 10.0;
const GOAL_RECORDS_PER_S: f64 = 2_000.0;

pub async fn run(args: NextCallArgs) -> anyhow::Result<()> {
    if args.leads < 10_000 || args.agents == 0 || args.seconds == 0 {
        bail!("--leads must be at least 10000, --agents and --seconds at least 1");
    }
    let mut out = Vec::new();
    {
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

struct Lat {
    p50: f64,
    p99: f64,
    n: usize,
}

fn lat(mut v: Vec<Duration>) -> Lat {
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
        p99: at(99.0),
        n: v.len(),
    }
}

async fn bench_backend(name: &str, db: &Db, args: &NextCallArgs) -> anyhow::Result<String> {
    println!(
        "\n== {name}: {} leads, {} agents, {} s ==",
        args.leads, args.agents, args.seconds
    );
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
    for i in 0..args.agents {
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
    let result = agents_loop(&base, args).await;
    let _ = stop.send(());
    server.await??;
    let (next, record, nothing, elapsed) = result?;

    let (calls, stats): (i64, i64) = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM calls), (SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM agent_daily_stats)"
    )
    .fetch_one(pool)
    .await?
    });
    let next_rate = next.n as f64 / elapsed;
    let record_rate = record.n as f64 / elapsed;
    let mut out = format!(
        "\n== {name}: {} leads, {} agents over HTTP, {:.1} s ==\n",
        args.leads, args.agents, elapsed
    );
    out.push_str(&format!(
        "load {load_s:.1} s ({:.0} rows/s)\n",
        args.leads as f64 / load_s
    ));
    out.push_str(&format!(
        "next-call:   {:>7} requests, {:>7.0}/s, p50 {:>6.2} ms, p99 {:>6.2} ms ({nothing} × 204)\n",
        next.n, next_rate, next.p50, next.p99
    ));
    out.push_str(&format!(
        "record-call: {:>7} requests, {:>7.0}/s, p50 {:>6.2} ms, p99 {:>6.2} ms (calls stored {calls}, daily counters {stats})\n",
        record.n, record_rate, record.p50, record.p99
    ));
    out.push_str(&format!(
        "bare SQL select-and-reserve ({} concurrent): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms\n",
        args.agents, bare.1, bare.0.p50, bare.0.p99
    ));
    out.push_str(&format!(
        "ratio next-call / bare: p50 {:.1}×, p99 {:.1}×\n",
        next.p50 / bare.0.p50,
        next.p99 / bare.0.p99
    ));
    if name == "SQLite" {
        let mut missed = Vec::new();
        if next.p99 > GOAL_P99_MS {
            missed.push(format!(
                "next-call p99 {:.1} ms > {GOAL_P99_MS} ms",
                next.p99
            ));
        }
        if record.p99 > GOAL_P99_MS {
            missed.push(format!(
                "record-call p99 {:.1} ms > {GOAL_P99_MS} ms",
                record.p99
            ));
        }
        if record_rate < GOAL_RECORDS_PER_S {
            missed.push(format!(
                "{record_rate:.0} call records/s < {GOAL_RECORDS_PER_S}"
            ));
        }
        out.push_str(&if missed.is_empty() {
            format!("goal (p99 < {GOAL_P99_MS} ms, ≥ {GOAL_RECORDS_PER_S} records/s): met\n")
        } else {
            format!("goal MISSED: {}\n", missed.join("; "))
        });
    }
    if calls != record.n as i64 || stats != calls {
        out.push_str(&format!(
            "CHECK FAILED: {} recorded responses, {calls} call rows, {stats} counted\n",
            record.n
        ));
    }
    println!("{out}");
    Ok(out)
}

/// Fresh pool leads with one phone each, many rows per statement.
async fn load(db: &Db, n: usize) -> anyhow::Result<()> {
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
/// query without the store's visibility, zone, attempt and do-not-call conditions), then give
/// the leads back. Returns latency and statements per second.
async fn bare_select_and_reserve(
    db: &Db,
    tasks: usize,
    total: usize,
    agents: Vec<i64>,
) -> anyhow::Result<(Lat, f64)> {
    let sql: &'static str = match db.backend() {
        Backend::Sqlite => {
            "UPDATE leads SET reserved_by = $1, reserved_until = $2 WHERE id = (SELECT id FROM leads \
             WHERE status = 'new' AND deleted_at IS NULL AND (reserved_until IS NULL OR reserved_until <= $3) \
             ORDER BY priority DESC, id LIMIT 1) RETURNING id"
        }
        Backend::Postgres => {
            "WITH pick AS (SELECT id FROM leads WHERE status = 'new' AND deleted_at IS NULL \
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
    for h in handles {
        h.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = std::mem::take(&mut *samples.lock().await);
    let n = samples.len();
    db_run!(db, |pool| sqlx::query(
        "UPDATE leads SET reserved_by = NULL, reserved_until = NULL WHERE reserved_by IS NOT NULL"
    )
    .execute(pool)
    .await?
    .rows_affected());
    Ok((lat(samples), n as f64 / elapsed))
}

type LoopResult = (Lat, Lat, usize, f64);

/// Every agent signs in, then loops next-call + record-call until the time is up.
async fn agents_loop(base: &str, args: &NextCallArgs) -> anyhow::Result<LoopResult> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.agents * 2)
        .build()?;
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
    let dispositions = [
        "no_answer",
        "connected",
        "busy",
        "call_back",
        "not_interested",
        "qualified",
        "wrong_number",
    ];
    let intents = ["interested", "no_stance", "positive", "resistant"];
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let client = client.clone();
        let base = base.to_string();
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(i as u64);
            let (mut next, mut record, mut nothing) = (Vec::new(), Vec::new(), 0usize);
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let res = client.post(format!("{base}/api/v1/agent/next-call")).bearer_auth(&token).send().await?;
                let status = res.status();
                let body = res.bytes().await?;
                next.push(t0.elapsed());
                if status == reqwest::StatusCode::NO_CONTENT {
                    nothing += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
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
                    .json(&json!({"disposition": disposition, "intent": intent, "duration_s": rng.random_range(5..300), "notes": "客户说下周再联系"}))
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
    Ok((lat(next), lat(record), nothing, elapsed))
}
