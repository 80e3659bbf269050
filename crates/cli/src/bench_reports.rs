//! `leadline bench reports`: `--calls` calls over `--agents` agents in `--teams` teams over the
//! past year, written straight into `calls` (one multi-row INSERT per chunk) and counted by
//! `rollups rebuild`; then the p95 of today's team panel, one agent's 30 days and a team's
//! month from the rollups (the per-agent days), from the 15-minute slots, and as a raw aggregate
//! over the calls, with the ratio raw / rollups and a check that the three agree.
//! SQLite always; PostgreSQL too with `--postgres`.

use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, bail};
use chrono::{Datelike, Duration, Utc};
use leadline_domain::call_stats::{DateRange, Grouping};
use leadline_domain::{Role, TeamId, UserId, Viewer};
use leadline_store::auth::users::{self, NewUser};
use leadline_store::call_stats::{self, rebuild, report};
use leadline_store::db::test_db::TestDb;
use leadline_store::{Db, db_run};

use rand::{RngExt, SeedableRng, rngs::StdRng};

use crate::bench::thousands;

#[derive(clap::Args, Debug, Clone)]
pub struct ReportsArgs {
    /// Calls to generate.
    #[arg(long, default_value_t = 10_000_000)]
    calls: usize,
    /// Agents (one lead each).
    #[arg(long, default_value_t = 1_000)]
    agents: usize,
    /// Teams the agents are spread over.
    #[arg(long, default_value_t = 50)]
    teams: usize,
    /// Measured runs of each case from the rollups and from the slots.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Measured runs of each raw aggregate (slow: seconds each at full size).
    #[arg(long, default_value_t = 10)]
    raw_samples: usize,
    /// Also run on this PostgreSQL server (a fresh schema).
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Skip SQLite (with `--postgres`: PostgreSQL alone).
    #[arg(long)]
    skip_sqlite: bool,
}

/// Rows per INSERT statement and statements per transaction.
const ROWS_PER_STATEMENT: usize = 1_000;
const STATEMENTS_PER_TX: usize = 50;
/// Unmeasured runs of each rollup case first.
const WARM_UP: usize = 50;
/// Goals of the issue for the rollups' p95, in milliseconds.
const GOALS_MS: [f64; 3] = [10.0, 2.0, 20.0];

pub async fn run(args: ReportsArgs) -> anyhow::Result<()> {
    if args.agents == 0 || args.teams == 0 || args.samples == 0 || args.raw_samples == 0 {
        bail!("--agents, --teams, --samples and --raw-samples must be at least 1");
    }
    let mut out = Vec::new();
    if !args.skip_sqlite {
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
    println!("\n==== summary ====");
    for o in &out {
        println!("{o}");
    }
    Ok(())
}

/// The organisation: teams and agents, one lead per agent (ids 1..=agents).
async fn organisation(db: &Db, args: &ReportsArgs) -> anyhow::Result<(Vec<TeamId>, Vec<UserId>)> {
    let mut teams = Vec::new();
    for t in 0..args.teams {
        teams.push(users::create_team(db, &format!("电销{t:02}组"), None).await?);
    }
    let mut agents = Vec::new();
    for i in 0..args.agents {
        let u = users::create_user(
            db,
            &NewUser {
                username: format!("agent{i:04}"),
                display_name: format!("坐席{i:04}"),
                role: Role::Agent,
                team_id: Some(teams[i % teams.len()]),
                password_hash: "x".into(),
            },
            None,
        )
        .await?;
        agents.push(u.id);
    }
    crate::bench_next_call::load(db, args.agents).await?;
    Ok((teams, agents))
}

/// `n` calls over the past 365 days, 09:00–18:00 Shanghai, random agents and outcomes.
async fn load_calls(db: &Db, n: usize, agents: &[UserId]) -> anyhow::Result<()> {
    const DISPOSITIONS: [&str; 6] = [
        "connected",
        "no_answer",
        "busy",
        "call_back",
        "not_interested",
        "qualified",
    ];
    const INTENTS: [&str; 6] = [
        "NULL",
        "'resistant'",
        "'no_stance'",
        "'interested'",
        "'positive'",
        "'strong_demand'",
    ];
    let mut rng = StdRng::seed_from_u64(24);
    let now = Utc::now();
    let mut done = 0usize;
    let t = Instant::now();
    while done < n {
        let mut statements = Vec::new();
        for _ in 0..STATEMENTS_PER_TX {
            if done >= n {
                break;
            }
            let rows = ROWS_PER_STATEMENT.min(n - done);
            let mut values = String::with_capacity(rows * 110);
            for r in 0..rows {
                let a = rng.random_range(0..agents.len());
                // 09:00–18:00 in Shanghai is 01:00–10:00 UTC.
                let day = (now - Duration::days(rng.random_range(0..365))).date_naive();
                let at = day.and_hms_opt(1, 0, 0).expect("01:00").and_utc()
                    + Duration::seconds(rng.random_range(0..9 * 3600));
                let at = at.format("%Y-%m-%dT%H:%M:%S+00:00");
                let disp = DISPOSITIONS[rng.random_range(0..DISPOSITIONS.len())];
                let intent = INTENTS[rng.random_range(0..INTENTS.len())];
                let s: u32 = rng.random_range(0..600);
                if r > 0 {
                    values.push(',');
                }
                values.push_str(&format!(
                    "({},{},'{at}',{s},'{disp}',{intent},'')",
                    a + 1,
                    agents[a].0
                ));
            }
            statements.push(format!(
                "INSERT INTO calls (lead_id, agent_id, started_at, duration_s, disposition, intent, notes) VALUES {values}"
            ));
            done += rows;
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
        if done % 1_000_000 < ROWS_PER_STATEMENT * STATEMENTS_PER_TX {
            println!(
                "  {} calls, {:.0} rows/s",
                thousands(done as u64),
                done as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

async fn bench_backend(name: &str, db: &Db, args: &ReportsArgs) -> anyhow::Result<String> {
    println!(
        "\n== {name}: {} calls, {} agents, {} teams ==",
        thousands(args.calls as u64),
        args.agents,
        args.teams
    );
    let (teams, agents) = organisation(db, args).await?;
    let t = Instant::now();
    load_calls(db, args.calls, &agents).await?;
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let built = rebuild::rebuild(db).await?;
    let rebuild_s = t.elapsed().as_secs_f64();
    db_run!(db, |pool| sqlx::query("ANALYZE")
        .execute(pool)
        .await?
        .rows_affected());
    println!(
        "load {load_s:.1} s; rebuild {rebuild_s:.1} s ({} calls into {} slots and {} agent days)",
        thousands(built.calls as u64),
        thousands(built.slots as u64),
        thousands(built.days as u64)
    );
    let admin = Viewer {
        user_id: UserId(0),
        role: Role::Admin,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    };
    let zone = call_stats::org_zone(db).await?;
    let today = call_stats::today(db, Utc::now()).await?.date;
    let month_start = (today.with_day(1).unwrap_or(today) - Duration::days(1))
        .with_day(1)
        .unwrap_or(today);
    let month_end = today.with_day(1).unwrap_or(today) - Duration::days(1);
    // (name, query of sample i)
    type Case = (&'static str, Box<dyn Fn(usize) -> report::ReportQuery>);
    let (t2, a2) = (teams.clone(), agents.clone());
    let t3 = teams.clone();
    let cases: Vec<Case> = vec![
        (
            "today's team panel",
            Box::new(move |i| report::ReportQuery {
                range: DateRange::new(today, today).expect("a day"),
                grouping: Grouping::Agent,
                team: Some(t2[i % t2.len()]),
                agent: None,
            }),
        ),
        (
            "one agent's 30 days",
            Box::new(move |i| report::ReportQuery {
                range: DateRange::new(today - Duration::days(29), today).expect("30 days"),
                grouping: Grouping::Day,
                team: None,
                agent: Some(a2[(i * 7) % a2.len()]),
            }),
        ),
        (
            "a team's month",
            Box::new(move |i| report::ReportQuery {
                range: DateRange::new(month_start, month_end).expect("a month"),
                grouping: Grouping::Day,
                team: Some(t3[(i * 3) % t3.len()]),
                agent: None,
            }),
        ),
    ];
    let mut lines = vec![format!(
        "{name}, {} calls: load {load_s:.1} s, rebuild {rebuild_s:.1} s",
        thousands(args.calls as u64)
    )];
    for ((case, query), goal) in cases.iter().zip(GOALS_MS) {
        let mut measured = Vec::new();
        for (source, n) in [
            (report::Source::Rollups, args.samples),
            (report::Source::Slots, args.samples),
            (report::Source::RawCalls, args.raw_samples),
        ] {
            // Warm up the cached pages and statements (not the raw aggregate: seconds each at
            // full size, and a cold read is what it is for).
            if source != report::Source::RawCalls {
                for i in 0..n.min(WARM_UP) {
                    report::calls_report(db, &admin, &query(i), zone, source).await?;
                }
            }
            let mut times: Vec<StdDuration> = Vec::with_capacity(n);
            // Sums of the first `raw_samples` queries, the ones every source answers.
            let mut checksum = 0i64;
            for i in 0..n {
                let q = query(i);
                let t = Instant::now();
                let r = report::calls_report(db, &admin, &q, zone, source).await?;
                times.push(t.elapsed());
                if i < args.raw_samples {
                    checksum += r.totals.counts.calls + r.totals.counts.talk_s;
                }
            }
            measured.push((p95(times), checksum));
        }
        let ((days, sum_days), (slots, sum_slots), (raw, sum_raw)) =
            (measured[0], measured[1], measured[2]);
        let same = if sum_days == sum_raw && sum_slots == sum_raw {
            "same sums"
        } else {
            "SUMS DIFFER"
        };
        let line = format!(
            "  {case:<22} p95 rollups {days:>7.2} ms (goal {goal} ms) | 15-min slots {slots:>8.2} ms | raw aggregate {raw:>9.1} ms | raw/rollups {:>7.0}x | {same}",
            raw / days
        );
        println!("{line}");
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// The 95th percentile in milliseconds (nearest rank).
fn p95(mut v: Vec<StdDuration>) -> f64 {
    v.sort_unstable();
    let rank = (0.95 * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1000.0
}
