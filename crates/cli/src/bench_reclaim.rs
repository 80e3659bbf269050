//! `leadline bench reclaim`: a reclaim pass over `--owned` owned leads of which `--due` are due,
//! beside `--agents` agents calling over HTTP at a paced rate (the next-call bench's floor and
//! agents, reused). Prints the pass's time, and the agents' next-call p99 during the pass
//! against a phase without it, with the ratio. SQLite always; PostgreSQL too with `--postgres`.
//!
//! The floor is set a year ahead and the pass is run with its clock moved there, so that the
//! server's own reclaim job (real clock) finds nothing to do and the pass measured is this one.

use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use leadline_store::db::test_db::TestDb;
use leadline_store::ownership::reclaim;
use leadline_store::{Backend, Db, db_run};

use crate::bench_next_call::{self as floor, NextCallArgs};

#[derive(clap::Args, Debug, Clone)]
pub struct ReclaimArgs {
    /// Owned leads (spread over the agents; countdowns over the next two weeks).
    #[arg(long, default_value_t = 1_000_000)]
    owned: usize,
    /// Of those, how many are due now.
    #[arg(long, default_value_t = 100_000)]
    due: usize,
    /// Pool leads besides, for the agents to call.
    #[arg(long, default_value_t = 100_000)]
    pool: usize,
    /// Concurrent agents over HTTP.
    #[arg(long, default_value_t = 100)]
    agents: usize,
    /// Call records per second the agents together attempt.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Seconds of each phase: agents calling without the pass, then with the pass started at
    /// the phase's start.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Records changed per transaction by the pass.
    #[arg(long, default_value_t = reclaim::BATCH)]
    batch: usize,
    /// Also run on this PostgreSQL server (a fresh schema).
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Skip SQLite (with `--postgres`: PostgreSQL alone).
    #[arg(long)]
    skip_sqlite: bool,
}

/// Rows changed per statement while setting owners.
const SET_CHUNK: usize = 50_000;

pub async fn run(args: ReclaimArgs) -> anyhow::Result<()> {
    if args.due > args.owned || args.agents == 0 || args.owned == 0 {
        bail!("--due must be at most --owned; --owned and --agents at least 1");
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

async fn bench_backend(name: &str, db: &Db, args: &ReclaimArgs) -> anyhow::Result<String> {
    println!(
        "\n== {name}: {} owned leads ({} due), {} pool leads, {} agents ==",
        args.owned, args.due, args.pool, args.agents
    );
    let (_admin, agents) = floor::agents_on_duty(db, args.agents).await?;
    let first = agents[0].id.0;
    if agents
        .iter()
        .enumerate()
        .any(|(i, u)| u.id.0 != first + i as i64)
    {
        bail!("the agents' ids are not consecutive");
    }
    let t = Instant::now();
    floor::load(db, args.owned + args.pool).await?;
    // The pass runs a year ahead: nothing is due for the server's own job meanwhile.
    let at = Utc::now() + Duration::days(365);
    own(db, args, first, at).await?;
    db_run!(db, |pool| sqlx::query("ANALYZE")
        .execute(pool)
        .await?
        .rows_affected());
    println!("floor: {:.1} s", t.elapsed().as_secs_f64());

    let app = leadline_web::App::bind("127.0.0.1:0", leadline_web::AppState::new(db.clone()))
        .await
        .context("binding the benchmark server")?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    let phases = async {
        let calling = NextCallArgs {
            leads: args.owned + args.pool,
            agents: args.agents,
            seconds: args.seconds,
            rate: args.rate,
            import_rows: 0,
            bare: 0,
            postgres: None,
            no_sqlite: false,
        };
        let tokens = floor::sign_in(&base, &calling).await?;
        let without = floor::agents_loop(&base, &calling, &tokens, Some(args.rate)).await?;
        // The pass runs once, started with the second phase.
        let pass = {
            let db = db.clone();
            let batch = args.batch;
            tokio::spawn(async move {
                let t = Instant::now();
                let report = reclaim::run_pass(&db, at, batch).await;
                (report, t.elapsed().as_secs_f64())
            })
        };
        let during = floor::agents_loop(&base, &calling, &tokens, Some(args.rate)).await?;
        let (report, secs) = pass.await?;
        anyhow::Ok((without, during, report?, secs))
    }
    .await;
    let _ = stop.send(());
    server.await??;
    let (without, during, report, pass_s) = phases?;

    // Leads 1..=owned are the bench's; a pool lead an agent's call made theirs during the run
    // (a valid follow-up) is due a year ahead too, and the pass rightly takes it back: counted
    // apart, so that the check reads the set the bench made due.
    let owned = args.owned as i64;
    let (events, owned_left, theirs): (i64, i64, i64) = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM ownership_events WHERE action = 'reclaim' AND lead_id <= $2), \
         (SELECT COUNT(*) FROM leads WHERE owner_id IS NOT NULL AND reclaim_at <= $1 AND id <= $2), \
         (SELECT COUNT(*) FROM ownership_events WHERE action = 'reclaim' AND lead_id > $2)"
    )
    .bind(at)
    .bind(owned)
    .fetch_one(pool)
    .await?
    });
    let mut out = format!(
        "== {name}: reclaim pass over {} owned leads, {} due, {} a transaction, beside {} agents at {} calls/s ==\n",
        args.owned, args.due, args.batch, args.agents, args.rate
    );
    out.push_str(&format!(
        "pass: {pass_s:.2} s, {} reclaimed ({:.0}/s; {theirs} of them pool leads the agents' calls had claimed), {} warned; {events} reclaim events, {owned_left} due left\n",
        report.reclaimed,
        report.reclaimed as f64 / pass_s.max(1e-9),
        report.warned
    ));
    let covered = if pass_s < during.elapsed {
        format!(
            " (the pass took {pass_s:.1} s of the {:.1} s phase)",
            during.elapsed
        )
    } else {
        String::new()
    };
    out.push_str(&format!(
        "next-call without the pass: {} requests, p50 {:.2} ms, p99 {:.2} ms\n",
        without.next.n, without.next.p50, without.next.p99
    ));
    out.push_str(&format!(
        "next-call during the pass:  {} requests, p50 {:.2} ms, p99 {:.2} ms{covered}\n",
        during.next.n, during.next.p50, during.next.p99
    ));
    out.push_str(&format!(
        "record-call without / during: p99 {:.2} / {:.2} ms\n",
        without.record.p99, during.record.p99
    ));
    out.push_str(&format!(
        "ratio next-call p99 during / without: {:.2}×\n",
        during.next.p99 / without.next.p99
    ));
    if report.reclaimed != (events + theirs) as u64 || events != args.due as i64 || owned_left != 0
    {
        out.push_str(&format!(
            "CHECK FAILED: {} due, {} reclaimed, {events} events, {owned_left} left\n",
            args.due, report.reclaimed
        ));
    }
    println!("{out}");
    Ok(out)
}

/// Owned leads set alike: ids `ids` (those whose id % 14 is `class`, if given) due at
/// `reclaim_at`, already warned `warned` days before.
struct OwnedSet {
    ids: (usize, usize),
    class: Option<i64>,
    reclaim_at: chrono::DateTime<Utc>,
    warned: Option<i64>,
}

/// Gives leads 1..=owned to the agents in turn (agent `first + id % n`): the first `due` due
/// an hour before `at` (with the default rule's id), the others due 1 to 14 days after it,
/// already warned as the default warnings would have (3 days, then 1), as a floor in its
/// steady state is.
async fn own(
    db: &Db,
    args: &ReclaimArgs,
    first: i64,
    at: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let rule: i64 = reclaim::list_rules(db).await?[0].id;
    let n = args.agents as i64;
    let mut sets: Vec<OwnedSet> = Vec::new();
    if args.due > 0 {
        sets.push(OwnedSet {
            ids: (1, args.due),
            class: None,
            reclaim_at: at - Duration::hours(1),
            warned: Some(1),
        });
    }
    for k in 0..14_i64 {
        let days = k + 1;
        let warned = match days {
            1 => Some(1),
            2 | 3 => Some(3),
            _ => None,
        };
        sets.push(OwnedSet {
            ids: (args.due + 1, args.owned),
            class: Some(k),
            reclaim_at: at + Duration::days(days) - Duration::minutes(1),
            warned,
        });
    }
    // Owned leads have been called (contacted): the agents' fresh leads are the pool's.
    let sql_class = "UPDATE leads SET owner_id = $1 + (id % $2), owned_since = $3, reclaim_at = $4, \
        reclaim_rule_id = $5, warned_days = $6, status = 'contacted', attempts = 1 \
        WHERE id >= $7 AND id <= $8 AND id % 14 = $9";
    let sql_all = "UPDATE leads SET owner_id = $1 + (id % $2), owned_since = $3, reclaim_at = $4, \
        reclaim_rule_id = $5, warned_days = $6, status = 'contacted', attempts = 1 \
        WHERE id >= $7 AND id <= $8 AND $9 = $9";
    for OwnedSet {
        ids: (lo, hi),
        class,
        reclaim_at,
        warned,
    } in sets
    {
        let mut start = lo;
        while start <= hi {
            let end = (start + SET_CHUNK - 1).min(hi);
            let sql = if class.is_some() { sql_class } else { sql_all };
            let since = reclaim_at - Duration::days(15);
            db_run!(db, |pool| sqlx::query(sql)
                .bind(first)
                .bind(n)
                .bind(since)
                .bind(reclaim_at)
                .bind(rule)
                .bind(warned)
                .bind(start as i64)
                .bind(end as i64)
                .bind(class.unwrap_or(0))
                .execute(pool)
                .await?
                .rows_affected());
            start = end + 1;
        }
    }
    if db.backend() == Backend::Sqlite {
        // The floor was written outside the writer; its first statements read it fresh.
        db_run!(db, |pool| sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await?
            .rows_affected());
    }
    Ok(())
}
