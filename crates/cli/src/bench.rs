//! Benchmarks (`leadline bench …`), each printing its figures beside a baseline from the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use leadline_domain::{LeadStatus, UserId, Viewer, search_tokens};
use leadline_store::auth::users;
use leadline_store::db::sql::Arg;
use leadline_store::db::test_db::TestDb;
use leadline_store::leads::{LeadFilter, Sort};
use leadline_store::{Backend, Db, leads, leads::custom_fields};
use serde_json::{Value, json};
use sqlx::Row;

use crate::bench_floor::{BRANDS, INDUSTRIES, Load, People, analyze, load_leads, seed_people};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Lead list, filtered page and quick search over 1,000,000 leads through the HTTP handler,
    /// against the bare SQL for the same page.
    List {
        /// Number of leads to generate.
        #[arg(long, default_value_t = 1_000_000)]
        leads: usize,
        /// Also run on this PostgreSQL server (a fresh schema is created and dropped).
        #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
        /// Requests per measured case.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// Knowledge-base search over 100,000 generated Chinese articles against a `LIKE` scan.
    Search(crate::bench_search::SearchArgs),
    /// Next call and call records: 1,000,000 leads, 100 concurrent agents over HTTP, against the
    /// bare select-and-reserve SQL.
    NextCall(crate::bench_next_call::NextCallArgs),
    /// Import of 1,000,000 generated CSV rows and a 100,000-row .xlsx through `leadline import`,
    /// against `sqlite3 .import` and PostgreSQL `COPY`; peak memory; export speed.
    Import(crate::bench_import::ImportBenchArgs),
    /// A reclaim pass over 1,000,000 owned leads of which 100,000 are due, beside 100 agents
    /// calling: its time, and their next-call p99 during it against without it.
    Reclaim(crate::bench_reclaim::ReclaimArgs),
    /// Customer list, card and unpaid report over 200,000 customers and 1,000,000 orders and payments.
    Customers(crate::bench_customers::CustomersArgs),
    /// Call statistics (issue 24): 10,000,000 calls over 1,000 agents in a year; today's team
    /// panel, an agent's 30 days and a team's month from the rollups against the raw aggregate.
    Reports(crate::bench_reports::ReportsArgs),
    /// IVR calls from SIPp (issue 27): 20 a second, 100 at once, for 60 s against the call
    /// service; failed calls, answer-to-prompt time, CPU per call against a 1 call/s baseline.
    Calls(crate::bench_calls::CallsArgs),
}

/// Runs the chosen benchmark.
pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::List {
            leads,
            postgres,
            requests,
        } => list(leads, postgres.as_deref(), requests).await,
        BenchCommand::Search(args) => crate::bench_search::run(args).await,
        BenchCommand::Import(args) => crate::bench_import::run(args).await,
        BenchCommand::NextCall(args) => crate::bench_next_call::run(args).await,
        BenchCommand::Reclaim(args) => crate::bench_reclaim::run(args).await,
        BenchCommand::Customers(args) => crate::bench_customers::run(args).await,
        BenchCommand::Reports(args) => crate::bench_reports::run(args).await,
        BenchCommand::Calls(args) => crate::bench_calls::run(args).await,
    }
}

/// Password of every benchmark account (one argon2 hash is computed and shared).
pub(crate) const PASSWORD: &str = "bench-password";
/// Page size asked of the handler; the store (and the baseline) fetch one more row.
const PAGE: usize = 50;
/// Goal: p95 of each case through the handler, in milliseconds.
const GOAL_P95_MS: f64 = 20.0;
/// Goal: handler p95 at most this many times the bare SQL p95.
const GOAL_RATIO: f64 = 3.0;

/// The lead columns the baseline reads: the lead rows alone, without owner names, phones or tags.
const BARE_SELECT: &str = "SELECT l.id, l.name, l.company, l.title, l.city, l.region, l.source, \
    l.status, l.intent, l.owner_id, l.created_by, l.custom, l.version, l.created_at, l.updated_at, \
    l.deleted_at";

/// `bench list`: the whole benchmark on SQLite, then on PostgreSQL when a URL is given.
async fn list(n: usize, postgres: Option<&str>, requests: usize) -> anyhow::Result<()> {
    if n < 1_000 {
        bail!("--leads must be at least 1000");
    }
    if requests == 0 {
        bail!("--requests must be at least 1");
    }
    let mut tables = Vec::new();
    {
        let sqlite = TestDb::sqlite()
            .await
            .context("creating the SQLite database")?;
        let result = bench_backend("SQLite", &sqlite.db, n, requests).await;
        sqlite.db.close().await;
        tables.push(result?);
    }
    if let Some(url) = postgres {
        let pg = TestDb::postgres(url)
            .await
            .context("creating a fresh PostgreSQL schema")?;
        let result = bench_backend("PostgreSQL", &pg.db, n, requests).await;
        pg.db.close().await;
        tables.push(result?);
    }
    if tables.len() > 1 {
        println!("\n==== summary ====");
        for t in &tables {
            println!("{t}");
        }
    }
    Ok(())
}

/// Seeds, serves and measures one backend; returns its printed report.
async fn bench_backend(name: &str, db: &Db, n: usize, requests: usize) -> anyhow::Result<String> {
    println!("\n== {name}: seeding {} leads ==", thousands(n as u64));
    let people = seed_people(db).await?;
    let load = load_leads(db, people.admin, &people.agents, n).await?;
    let analyze = analyze(db).await?;
    println!("ANALYZE: {:.1} s", analyze.as_secs_f64());

    let app = leadline_web::App::bind("127.0.0.1:0", leadline_web::AppState::new(db.clone()))
        .await
        .context("binding the benchmark server")?;
    let base = reqwest::Url::parse(&format!("http://{}/", app.local_addr()))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    let result = measure_all(db, &base, &people, &load, requests).await;
    let _ = stop.send(());
    server.await??;
    let rows = result?;

    let mut out = format!(
        "\n== {name}: {} leads, {} requests per case ==\n",
        thousands(n as u64),
        requests
    );
    out.push_str(&format!(
        "load: {} leads in {:.1} s = {} rows/s (generation {:.1} s on its own thread, {} 王 names = {:.1}%); ANALYZE {:.1} s\n",
        thousands(n as u64),
        load.elapsed.as_secs_f64(),
        thousands((n as f64 / load.elapsed.as_secs_f64()) as u64),
        load.generation.as_secs_f64(),
        thousands(load.wang as u64),
        load.wang as f64 * 100.0 / n as f64,
        analyze.as_secs_f64(),
    ));
    out.push_str(&table(&rows));
    for r in rows.iter().filter(|r| !r.plan.is_empty()) {
        out.push_str(&format!("\nplan of the bare SQL for {}:\n", r.label));
        for line in &r.plan {
            out.push_str(&format!("    {line}\n"));
        }
    }
    println!("{out}");
    Ok(out)
}

/// A request the handler answers and the bare SQL for the same page.
struct Variant {
    url: reqwest::Url,
    /// The query-string pairs of `url`, for calling the store directly.
    pairs: Vec<(String, String)>,
    sql: Arc<str>,
    args: Vec<Arg>,
    /// Whether the statement is prepared once and cached, as the store does (PostgreSQL searches
    /// are not, so that each is planned for its own term).
    persistent: bool,
}

/// One measured case: a label, whose token it runs with, and the requests it cycles through.
struct Case {
    label: String,
    token: String,
    /// Who the token belongs to, for calling the store directly.
    viewer: Viewer,
    variants: Vec<Variant>,
}

/// The filters a case applies, as query-string parameters and as SQL.
#[derive(Default, Clone)]
struct Params {
    /// The agent whose visibility applies (`None`: an admin, who sees everything).
    agent: Option<UserId>,
    q: Option<String>,
    status: Option<LeadStatus>,
    owner: Option<UserId>,
    industry: Option<String>,
}

impl Params {
    /// The handler URL and the bare SQL for these filters, mirroring `LeadFilter::push_where`
    /// and `leads::list` (newest first, one row more than the page).
    fn variant(&self, base: &reqwest::Url, backend: Backend) -> anyhow::Result<Variant> {
        let mut url = base.join("api/v1/leads")?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &PAGE.to_string());
            if let Some(q) = &self.q {
                query.append_pair("q", q);
            }
            if let Some(s) = self.status {
                query.append_pair("status", s.code());
            }
            if let Some(o) = self.owner {
                query.append_pair("owner", &o.0.to_string());
            }
            if let Some(i) = &self.industry {
                query.append_pair("cf.industry", i);
            }
        }
        let pairs = url.query_pairs().into_owned().collect();
        let terms = self.q.as_deref().and_then(search_tokens::parse_query);
        // On SQLite a search in id order is driven by the FTS index, whose rowid is the lead id.
        let fts_searched = terms.is_some();
        let fts_joined = backend == Backend::Sqlite && fts_searched;
        let (from, id_column) = if fts_joined {
            ("lead_search s JOIN leads l ON l.id = s.rowid", "s.rowid")
        } else {
            ("leads l", "l.id")
        };
        let mut sql = format!("{BARE_SELECT} FROM {from} WHERE l.deleted_at IS NULL");
        let mut args = Vec::new();
        let mut arg = |a: Arg| {
            args.push(a);
            format!("${}", args.len())
        };
        if let Some(me) = self.agent {
            let p = arg(Arg::I64(me.0));
            sql.push_str(&format!(" AND (l.owner_id IS NULL OR l.owner_id = {p})"));
        }
        if let Some(terms) = terms {
            for digits in search_tokens::digit_terms(&terms) {
                let p = arg(Arg::Text(digits.to_string()));
                sql.push_str(&format!(" AND {}", leads::holds_digits(backend, &p)));
            }
            match backend {
                Backend::Sqlite => {
                    let p = arg(Arg::Text(search_tokens::fts5_match(&terms)));
                    sql.push_str(&format!(" AND lead_search MATCH {p}"));
                }
                Backend::Postgres => {
                    let p = arg(Arg::Text(search_tokens::tsquery(&terms)));
                    sql.push_str(&format!(" AND l.search_tokens @@ CAST({p} AS tsquery)"));
                }
            }
        }
        if let Some(s) = self.status {
            let p = arg(Arg::Text(s.code().to_string()));
            sql.push_str(&format!(" AND l.status IN ({p})"));
        }
        if let Some(o) = self.owner {
            let p = arg(Arg::I64(o.0));
            sql.push_str(&format!(" AND l.owner_id = {p}"));
        }
        if let Some(i) = &self.industry {
            let p = arg(Arg::Text(i.clone()));
            sql.push_str(&format!(" AND CAST(l.custom ->> 'industry' AS TEXT) = {p}"));
        }
        sql.push_str(&format!(" ORDER BY {id_column} DESC LIMIT {}", PAGE + 1));
        Ok(Variant {
            url,
            pairs,
            persistent: !(backend == Backend::Postgres && fts_searched),
            sql: sql.into(),
            args,
        })
    }
}

/// The figures of one case.
struct CaseResult {
    label: String,
    /// Average number of leads on the page.
    rows: f64,
    handler: Stats,
    /// `custom_fields::list` + `leads::list` in-process: the page query, owner names, phones, tags.
    store: Stats,
    bare: Stats,
    /// How the database runs the bare SQL, kept for cases that miss the goal.
    plan: Vec<String>,
}

impl CaseResult {
    /// Handler p95 over bare SQL p95.
    fn ratio(&self) -> f64 {
        self.handler.p95 / self.bare.p95.max(1e-6)
    }

    /// The parts of the goal this case misses (empty: goal met).
    fn missed(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if self.handler.p95 >= GOAL_P95_MS {
            missed.push(format!("p95 ≥ {GOAL_P95_MS} ms"));
        }
        if self.ratio() > GOAL_RATIO {
            missed.push(format!("ratio > {GOAL_RATIO}"));
        }
        missed
    }
}

/// Latency percentiles in milliseconds.
struct Stats {
    p50: f64,
    p95: f64,
    p99: f64,
}

impl Stats {
    /// Nearest-rank percentiles of the samples.
    fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort_unstable();
        let at = |p: f64| {
            let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1_000.0
        };
        Stats {
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
        }
    }
}

/// Signs in, builds the cases and measures each of them.
async fn measure_all(
    db: &Db,
    base: &reqwest::Url,
    people: &People,
    load: &Load,
    requests: usize,
) -> anyhow::Result<Vec<CaseResult>> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let admin_token = sign_in(&client, base, "admin").await?;
    let agent_token = sign_in(&client, base, &people.agent_username).await?;
    let agent = people.agents[0];
    let backend = db.backend();
    let admin_viewer = users::viewer(db, &users::get_user(db, people.admin).await?).await?;
    let agent_viewer = users::viewer(db, &users::get_user(db, agent).await?).await?;

    let as_agent = Params {
        agent: Some(agent),
        ..Params::default()
    };
    let as_admin = Params::default();
    let with_q = |p: &Params, q: &str| Params {
        q: Some(q.to_string()),
        ..p.clone()
    };
    let phone_queries: Vec<String> = load
        .sample_phones
        .iter()
        .take(100)
        .map(|digits| digits[digits.len() - 4..].to_string())
        .collect();
    let build = |label: &str, token: &str, params: Vec<Params>| -> anyhow::Result<Case> {
        let viewer = if params.iter().all(|p| p.agent.is_some()) {
            agent_viewer.clone()
        } else {
            admin_viewer.clone()
        };
        Ok(Case {
            label: label.to_string(),
            token: token.to_string(),
            viewer,
            variants: params
                .iter()
                .map(|p| p.variant(base, backend))
                .collect::<anyhow::Result<_>>()?,
        })
    };
    let mut cases = vec![
        build("first page (agent)", &agent_token, vec![as_agent.clone()])?,
        build("first page (admin)", &admin_token, vec![as_admin.clone()])?,
        build(
            "filtered: owner+status+cf (admin)",
            &admin_token,
            vec![Params {
                status: Some(LeadStatus::New),
                owner: Some(agent),
                industry: Some(INDUSTRIES[0].to_string()),
                ..Params::default()
            }],
        )?,
    ];
    for (who, token, params) in [
        ("agent", &agent_token, &as_agent),
        ("admin", &admin_token, &as_admin),
    ] {
        cases.push(build(
            &format!("search 王 ({who})"),
            token,
            vec![with_q(params, "王")],
        )?);
        cases.push(build(
            &format!("search last 4 digits ({who})"),
            token,
            phone_queries.iter().map(|q| with_q(params, q)).collect(),
        )?);
        cases.push(build(
            &format!("search company word ({who})"),
            token,
            BRANDS.iter().map(|q| with_q(params, q)).collect(),
        )?);
    }

    let mut results = Vec::new();
    for case in &cases {
        let r = measure_case(db, &client, case, requests).await?;
        println!(
            "  {} handler p95 {:>7.2} ms   store p95 {:>7.2} ms   SQL p95 {:>7.2} ms",
            pad(&r.label, LABEL_WIDTH),
            r.handler.p95,
            r.store.p95,
            r.bare.p95
        );
        results.push(r);
    }
    Ok(results)
}

/// A bearer token for `username` from `POST /api/v1/auth/token`.
async fn sign_in(
    client: &reqwest::Client,
    base: &reqwest::Url,
    username: &str,
) -> anyhow::Result<String> {
    let res = client
        .post(base.join("api/v1/auth/token")?)
        .json(&json!({"username": username, "password": PASSWORD, "name": "bench"}))
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    if !status.is_success() {
        bail!("sign-in as {username} answered {status}: {body}");
    }
    body["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no token in {body}"))
}

/// One request through the HTTP handler; the body is read in full.
async fn fetch(
    client: &reqwest::Client,
    token: &str,
    url: &reqwest::Url,
) -> anyhow::Result<Vec<u8>> {
    let res = client.get(url.clone()).bearer_auth(token).send().await?;
    let status = res.status();
    let body = res.bytes().await?;
    if !status.is_success() {
        bail!(
            "GET {url} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(body.to_vec())
}

/// The ids of the page the bare SQL produces, straight from the pool.
async fn bare_ids(db: &Db, v: &Variant) -> anyhow::Result<Vec<i64>> {
    let ids = leadline_store::db_run!(db, |pool| {
        let rows =
            leadline_store::bind_args!(sqlx::query(sqlx::AssertSqlSafe(v.sql.clone())), v.args)
                .persistent(v.persistent)
                .fetch_all(pool)
                .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<Vec<_>, _>>()?
    });
    Ok(ids)
}

/// The ids of the page `leads::list` gives `viewer`, called in-process (as the handler does,
/// minus HTTP, authentication and JSON).
async fn store_ids(db: &Db, viewer: &Viewer, v: &Variant) -> anyhow::Result<Vec<i64>> {
    let defs = custom_fields::list(db).await?;
    let filter = LeadFilter::from_pairs(&v.pairs, &defs, viewer.user_id)?;
    let page = leads::list(db, viewer, &filter, Sort::default(), PAGE as i64, None).await?;
    Ok(page.items.iter().map(|l| l.id.0).collect())
}

/// How the database runs a variant's bare SQL: `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN
/// (ANALYZE, BUFFERS)` on PostgreSQL.
async fn explain(db: &Db, v: &Variant) -> anyhow::Result<Vec<String>> {
    let lines = match db {
        Db::Sqlite(pool) => {
            let sql = format!("EXPLAIN QUERY PLAN {}", v.sql);
            leadline_store::bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql)), v.args)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(3))
                .collect::<Result<Vec<_>, _>>()?
        }
        Db::Postgres(pool) => {
            let sql = format!("EXPLAIN (ANALYZE, BUFFERS) {}", v.sql);
            leadline_store::bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql)), v.args)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let mut out = vec![v.sql.to_string()];
    out.extend(lines);
    Ok(out)
}

/// Warms up (checking that the store and the bare SQL give the handler's page), then times
/// `requests` handler calls, as many in-process store calls and as many bare queries, interleaved
/// so that all three see the same conditions.
async fn measure_case(
    db: &Db,
    client: &reqwest::Client,
    case: &Case,
    requests: usize,
) -> anyhow::Result<CaseResult> {
    let warmup = (requests / 10)
        .clamp(5, 50)
        .max(case.variants.len().min(100));
    let mut rows = 0usize;
    for i in 0..warmup {
        let v = &case.variants[i % case.variants.len()];
        let body = fetch(client, &case.token, &v.url).await?;
        let page: Value = serde_json::from_slice(&body)?;
        let handler_ids: Vec<i64> = page["items"]
            .as_array()
            .ok_or_else(|| anyhow!("no items in the answer to {}", v.url))?
            .iter()
            .filter_map(|item| item["id"].as_i64())
            .collect();
        let mut sql_ids = bare_ids(db, v).await?;
        sql_ids.truncate(PAGE);
        let store = store_ids(db, &case.viewer, v).await?;
        if handler_ids != sql_ids || store != sql_ids {
            bail!(
                "{}: the bare SQL does not give the handler's page for {}\n  SQL: {}",
                case.label,
                v.url,
                v.sql
            );
        }
        rows += handler_ids.len();
    }
    let mut handler = Vec::with_capacity(requests);
    let mut store = Vec::with_capacity(requests);
    let mut bare = Vec::with_capacity(requests);
    for i in 0..requests {
        let v = &case.variants[i % case.variants.len()];
        let t = Instant::now();
        fetch(client, &case.token, &v.url).await?;
        handler.push(t.elapsed());
        let t = Instant::now();
        store_ids(db, &case.viewer, v).await?;
        store.push(t.elapsed());
        let t = Instant::now();
        bare_ids(db, v).await?;
        bare.push(t.elapsed());
    }
    let mut result = CaseResult {
        label: case.label.clone(),
        rows: rows as f64 / warmup as f64,
        handler: Stats::of(handler),
        store: Stats::of(store),
        bare: Stats::of(bare),
        plan: Vec::new(),
    };
    if !result.missed().is_empty() {
        result.plan = explain(db, &case.variants[0]).await?;
    }
    Ok(result)
}

/// The results as a text table with the goal verdict of each case.
fn table(rows: &[CaseResult]) -> String {
    let mut out = format!(
        "{} | {:>5} | {:>24} | {:>16} | {:>16} | {:>5} | {}\n",
        pad("case", LABEL_WIDTH),
        "rows",
        "handler p50/p95/p99 ms",
        "store list p50/p95",
        "bare SQL p50/p95",
        "ratio",
        "goal met?"
    );
    out.push_str(&format!("{}\n", "-".repeat(131)));
    for r in rows {
        let ratio = r.ratio();
        let missed = r.missed();
        let verdict = if missed.is_empty() {
            "yes".to_string()
        } else {
            format!("NO ({})", missed.join(", "))
        };
        out.push_str(&format!(
            "{} | {:>5.0} | {:>6.2} {:>7.2} {:>8.2} | {:>7.2} {:>8.2} | {:>7.2} {:>8.2} | {:>5.2} | {}\n",
            pad(&r.label, LABEL_WIDTH),
            r.rows,
            r.handler.p50,
            r.handler.p95,
            r.handler.p99,
            r.store.p50,
            r.store.p95,
            r.bare.p50,
            r.bare.p95,
            ratio,
            verdict
        ));
    }
    out
}

/// Width of the case column.
const LABEL_WIDTH: usize = 36;

/// `text` padded with spaces to `width` terminal columns (CJK characters take two).
fn pad(text: &str, width: usize) -> String {
    let columns: usize = text
        .chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
        .sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(columns)))
}

/// A count with commas between thousands: 1,000,000.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
