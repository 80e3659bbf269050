//! `leadline bench customers`: the customer list, the customer card (客户管理卡) and the unpaid
//! report (账龄) over `--customers` customers with `--orders` orders and `--payments` payments,
//! through the real HTTP server with a sales rep's, a supervisor's and finance's tokens, each
//! against the bare SQL that gives the same page, card or aggregate in the same run (the ageing
//! report against one raw GROUP BY over instalments, returns and payments). Prints p50/p95 of
//! each case and its baseline, the ratio, and the bare SQL's plan for a case above 3×.
//! SQLite always; PostgreSQL too with `--postgres`, each a fresh database.
//!
//! The floor is written set-based by the databases themselves (INSERT … SELECT over a recursive
//! CTE on SQLite, `generate_series` on PostgreSQL): every column is a formula of the row's id,
//! so the load is fast and the same on both backends.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use chrono::NaiveDate;
use leadline_store::auth::users;
use leadline_store::db::test_db::TestDb;
use leadline_store::sales::access::customer_condition;
use leadline_store::{Backend, Db, db_run};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use sqlx::Row;

#[derive(clap::Args, Debug, Clone)]
pub struct CustomersArgs {
    /// Customers (companies, 95% owned by the sales reps, the rest in the pool).
    #[arg(long, default_value_t = 200_000)]
    customers: usize,
    /// Orders (2 lines each, 96% confirmed, over the last 400 days), on 70% of the customers.
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Payments, partial and whole, by finance.
    #[arg(long, default_value_t = 1_000_000)]
    payments: usize,
    /// Requests per measured list and card case.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Requests per unpaid-report case (each reads every open order the caller may see).
    #[arg(long, default_value_t = 20)]
    report_requests: usize,
    /// Sales reps, spread over four teams.
    #[arg(long, default_value_t = 40)]
    reps: usize,
    /// Also run on this PostgreSQL server (a fresh schema).
    #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Skip SQLite (with `--postgres`: PostgreSQL alone).
    #[arg(long)]
    skip_sqlite: bool,
}

/// A case whose handler p95 is more than this many times its bare SQL's shows the plan.
const PLAN_RATIO: f64 = 3.0;
/// Page size the list asks for (the handler's default).
const PAGE: usize = 50;

mod floor;

use floor::{BRANDS, PASSWORD, People, TEAMS, load, people};

pub async fn run(args: CustomersArgs) -> anyhow::Result<()> {
    if args.customers < 1_000 || args.requests == 0 || args.report_requests == 0 {
        bail!("--customers must be at least 1000, --requests and --report-requests at least 1");
    }
    if args.reps < TEAMS {
        bail!("--reps must be at least {TEAMS}");
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

async fn bench_backend(name: &str, db: &Db, args: &CustomersArgs) -> anyhow::Result<String> {
    println!(
        "\n== {name}: {} customers, {} orders, {} payments ==",
        args.customers, args.orders, args.payments
    );
    let people = people(db, args.reps).await?;
    let loaded = load(db, args, &people).await?;

    let app = leadline_web::App::bind("127.0.0.1:0", leadline_web::AppState::new(db.clone()))
        .await
        .context("binding the benchmark server")?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    let measured = measure_all(db, &base, args, &people).await;
    let _ = stop.send(());
    server.await??;
    let results = measured?;

    let mut out = format!(
        "== {name}: {} customers ({} contacts), {} orders ({} lines, {} instalments, {} returns), {} payments; \
         floor {:.1} s; {} requests a case ({} for the report) ==\n",
        args.customers,
        loaded.contacts,
        args.orders,
        loaded.lines,
        loaded.instalments,
        loaded.returns,
        loaded.payments,
        loaded.secs,
        args.requests,
        args.report_requests,
    );
    out.push_str(&format!(
        "{:<36} | {:>16} | {:>16} | {:>6} | {}\n",
        "case", "handler p50/p95", "bare p50/p95", "ratio", "bare SQL"
    ));
    out.push_str(&format!("{}\n", "-".repeat(100)));
    for r in &results {
        out.push_str(&format!(
            "{:<36} | {:>7.2} {:>8.2} | {:>7.2} {:>8.2} | {:>5.2}× | {}\n",
            r.label,
            r.handler.0,
            r.handler.1,
            r.bare.0,
            r.bare.1,
            r.ratio(),
            r.note
        ));
    }
    for r in results.iter().filter(|r| !r.plan.is_empty()) {
        out.push_str(&format!(
            "\nratio {:.1}× > {PLAN_RATIO}×: plan of the bare SQL for {}:\n",
            r.ratio(),
            r.label
        ));
        for l in &r.plan {
            out.push_str(&format!("    {l}\n"));
        }
    }
    println!("{out}");
    Ok(out)
}

/// One bare statement: its text and the id bound as `$1`, if any.
#[derive(Clone)]
struct Bare {
    sql: String,
    id: Option<i64>,
}

/// What a case's answers are checked against.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Card,
    Report,
}

/// One request and the bare statements that produce the same answer.
struct Variant {
    url: String,
    bare: Vec<Bare>,
}

struct Case {
    label: String,
    token: String,
    kind: Kind,
    requests: usize,
    variants: Vec<Variant>,
    note: &'static str,
}

struct CaseResult {
    label: String,
    /// p50, p95 in milliseconds.
    handler: (f64, f64),
    bare: (f64, f64),
    plan: Vec<String>,
    note: &'static str,
}

impl CaseResult {
    fn ratio(&self) -> f64 {
        self.handler.1 / self.bare.1.max(1e-6)
    }
}

async fn sign_in(client: &reqwest::Client, base: &str, username: &str) -> anyhow::Result<String> {
    let res = client
        .post(format!("{base}/api/v1/auth/token"))
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

/// The columns of a list page, balance included (the same formula as the card's).
fn list_sql(cond: &str, extra: &str, order: &str) -> String {
    format!(
        "SELECT c.id, CAST((SELECT COALESCE(SUM(o.total_fen), 0) FROM orders o WHERE o.customer_id = c.id \
         AND o.status = 'confirmed') - (SELECT COALESCE(SUM(r.amount_fen), 0) FROM returns r WHERE r.customer_id = c.id) \
         - (SELECT COALESCE(SUM(p.amount_fen), 0) FROM payments p WHERE p.customer_id = c.id) AS BIGINT), \
         c.kind, c.name, c.city, c.industry, c.grade, c.status, c.owner_id, u.display_name, c.owned_since, c.updated_at \
         FROM customers c LEFT JOIN users u ON u.id = c.owner_id \
         WHERE c.deleted_at IS NULL AND {cond}{extra} ORDER BY {order} LIMIT {PAGE}"
    )
}

/// The card in four statements: the customer with owners and balance, contacts with phones,
/// the history, and the newest orders and payments.
fn card_sql(id: i64) -> Vec<Bare> {
    let b = |sql: &str| Bare {
        sql: sql.to_string(),
        id: Some(id),
    };
    vec![
        b(
            "SELECT c.id, CAST((SELECT COALESCE(SUM(o.total_fen), 0) FROM orders o WHERE o.customer_id = c.id \
           AND o.status = 'confirmed') - (SELECT COALESCE(SUM(r.amount_fen), 0) FROM returns r WHERE r.customer_id = c.id) \
           - (SELECT COALESCE(SUM(p.amount_fen), 0) FROM payments p WHERE p.customer_id = c.id) AS BIGINT), \
           c.kind, c.name, c.address, c.city, c.industry, c.grade, c.status, c.owner_id, u.display_name, \
           c.backup_owner_id, b.display_name, c.pool_id, c.owned_since, c.version, c.created_at, c.updated_at \
           FROM customers c LEFT JOIN users u ON u.id = c.owner_id LEFT JOIN users b ON b.id = c.backup_owner_id \
           WHERE c.id = $1 AND c.deleted_at IS NULL",
        ),
        b(
            "SELECT cc.id, cc.name, cc.title, cc.email, cc.is_primary, p.e164, p.raw FROM customer_contacts cc \
           LEFT JOIN customer_contact_phones p ON p.contact_id = cc.id \
           WHERE cc.customer_id = $1 AND cc.deleted_at IS NULL ORDER BY cc.is_primary DESC, cc.position, cc.id, p.position",
        ),
        b(
            "SELECT e.id, e.at, e.action, a.display_name, t.display_name FROM customer_events e \
           LEFT JOIN users a ON a.id = e.actor_id LEFT JOIN users t ON t.id = e.to_user \
           WHERE e.customer_id = $1 ORDER BY e.id",
        ),
        b(
            "SELECT * FROM (SELECT o.id, o.created_at, o.status, o.total_fen FROM orders o WHERE o.customer_id = $1 \
           ORDER BY o.created_at DESC LIMIT 100) a UNION ALL SELECT * FROM (SELECT p.id, p.paid_at, p.method, p.amount_fen \
           FROM payments p WHERE p.customer_id = $1 ORDER BY p.paid_at DESC LIMIT 100) b",
        ),
    ]
}

/// The unpaid report as one raw aggregate: each open order's paid and returned sums, its
/// instalments' running totals, what of each instalment is open (returns taken from the last,
/// payments from the first), summed by customer into the ageing buckets as of `today`.
fn report_sql(backend: Backend, cond: &str, today: NaiveDate) -> String {
    let d = |days: u64| {
        today
            .checked_sub_days(chrono::Days::new(days))
            .unwrap_or(today)
            .format("%Y-%m-%d")
            .to_string()
    };
    let (t0, t30, t60, t90) = (d(0), d(30), d(60), d(90));
    let (max, min) = match backend {
        Backend::Sqlite => ("MAX", "MIN"),
        Backend::Postgres => ("GREATEST", "LEAST"),
    };
    let bucket = |c: &str| format!("CAST(SUM(CASE WHEN {c} THEN open_fen ELSE 0 END) AS BIGINT)");
    format!(
        "WITH ord AS (SELECT o.id, o.customer_id, \
           (SELECT COALESCE(SUM(p.amount_fen), 0) FROM payments p WHERE p.order_id = o.id) AS paid, \
           (SELECT COALESCE(SUM(r.amount_fen), 0) FROM returns r WHERE r.order_id = o.id) AS returned \
           FROM orders o JOIN customers c ON c.id = o.customer_id \
           WHERE o.status = 'confirmed' AND c.deleted_at IS NULL AND {cond}), \
         inst AS (SELECT ord.customer_id, i.due_date, i.amount_fen, ord.paid, ord.returned, \
           CAST(SUM(i.amount_fen) OVER (PARTITION BY i.order_id ORDER BY i.seq) AS BIGINT) AS upto, \
           CAST(SUM(i.amount_fen) OVER (PARTITION BY i.order_id) AS BIGINT) AS plan \
           FROM ord JOIN payment_instalments i ON i.order_id = ord.id), \
         open AS (SELECT customer_id, due_date, \
           {max}(0, {min}(upto, plan - returned) - {max}(upto - amount_fen, paid)) AS open_fen FROM inst) \
         SELECT customer_id, {}, {}, {}, {}, {} FROM open GROUP BY customer_id \
         HAVING SUM(open_fen) > 0 ORDER BY customer_id",
        bucket(&format!("due_date >= '{t0}'")),
        bucket(&format!("due_date < '{t0}' AND due_date >= '{t30}'")),
        bucket(&format!("due_date < '{t30}' AND due_date >= '{t60}'")),
        bucket(&format!("due_date < '{t60}' AND due_date >= '{t90}'")),
        bucket(&format!("due_date < '{t90}'")),
    )
}

/// Builds the cases, then measures each.
async fn measure_all(
    db: &Db,
    base: &str,
    args: &CustomersArgs,
    people: &People,
) -> anyhow::Result<Vec<CaseResult>> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let rep_name = "sales001";
    let rep_id = people.first_rep;
    let rep_token = sign_in(&client, base, rep_name).await?;
    let sup_token = sign_in(&client, base, &people.supervisor).await?;
    let fin_token = sign_in(&client, base, "finance").await?;
    let viewer_of = |username: &'static str| async move {
        let id: i64 = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM users WHERE username = $1"
        )
        .bind(username)
        .fetch_one(pool)
        .await?);
        let user = users::get_user(db, leadline_domain::UserId(id)).await?;
        anyhow::Ok(users::viewer(db, &user).await?)
    };
    let rep_cond = customer_condition(&viewer_of("sales001").await?, "c");
    let sup_cond = customer_condition(&viewer_of("supervisor1").await?, "c");
    let fin_cond = customer_condition(&viewer_of("finance").await?, "c");
    let backend = db.backend();
    let today = leadline_store::sales::local_day(
        leadline_store::now(),
        leadline_store::call_stats::org_zone(db).await?,
    );
    let mut rng = StdRng::seed_from_u64(23);

    let by_updated = "c.updated_at DESC, c.id DESC";
    let list =
        |label: &str, token: &str, cond: &str, urls: Vec<(String, String)>, order: &str| Case {
            label: label.to_string(),
            token: token.to_string(),
            kind: Kind::List,
            requests: args.requests,
            variants: urls
                .into_iter()
                .map(|(q, extra)| Variant {
                    url: format!("{base}/api/v1/customers{q}"),
                    bare: vec![Bare {
                        sql: list_sql(cond, &extra, order),
                        id: None,
                    }],
                })
                .collect(),
            note: "one statement, same page",
        };
    let plain = || vec![(String::new(), String::new())];
    let brands: Vec<String> = BRANDS
        .chars()
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|c| c.iter().collect())
        .collect();
    let search = |brands: &[String]| -> Vec<(String, String)> {
        brands
            .iter()
            .map(|b| {
                (
                    format!("?q={}", urlencode(b)),
                    format!(" AND c.name LIKE '%{b}%'"),
                )
            })
            .collect()
    };
    let team_owner = people.team_reps[people.team_reps.len().min(2) - 1];
    let mut cases = vec![
        list(
            "list first page (rep)",
            &rep_token,
            &rep_cond,
            plain(),
            by_updated,
        ),
        list(
            "list first page (supervisor)",
            &sup_token,
            &sup_cond,
            plain(),
            by_updated,
        ),
        list(
            "queue mine=1 (rep)",
            &rep_token,
            &rep_cond,
            vec![("?mine=1".into(), format!(" AND c.owner_id = {rep_id}"))],
            "c.owned_since DESC, c.id DESC",
        ),
        list(
            "grade=A (supervisor)",
            &sup_token,
            &sup_cond,
            vec![("?grade=A".into(), " AND c.grade = 'A'".into())],
            by_updated,
        ),
        list(
            "owner=team rep (supervisor)",
            &sup_token,
            &sup_cond,
            vec![(
                format!("?owner={team_owner}"),
                format!(" AND c.owner_id = {team_owner}"),
            )],
            by_updated,
        ),
        list(
            "search company word (rep)",
            &rep_token,
            &rep_cond,
            search(&brands),
            by_updated,
        ),
        list(
            "search company word (supervisor)",
            &sup_token,
            &sup_cond,
            search(&brands),
            by_updated,
        ),
    ];
    for (label, token, cond) in [
        ("card (rep)", &rep_token, &rep_cond),
        ("card (supervisor)", &sup_token, &sup_cond),
    ] {
        let visible: Vec<i64> =
            db_run!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT c.id FROM customers c WHERE c.deleted_at IS NULL AND {cond} ORDER BY c.id"
            )))
            .fetch_all(pool)
            .await?);
        if visible.is_empty() {
            bail!("{label}: no customer visible");
        }
        let variants = (0..args.requests.min(500))
            .map(|_| {
                let id = visible[rng.random_range(0..visible.len())];
                Variant {
                    url: format!("{base}/api/v1/customers/{id}"),
                    bare: card_sql(id),
                }
            })
            .collect();
        cases.push(Case {
            label: label.into(),
            token: token.clone(),
            kind: Kind::Card,
            requests: args.requests,
            variants,
            note: "4 statements: row+balance, contacts+phones, history, orders+payments",
        });
    }
    for (label, token, cond) in [
        ("unpaid report (rep)", &rep_token, &rep_cond),
        ("unpaid report (supervisor)", &sup_token, &sup_cond),
        ("unpaid report (finance: all)", &fin_token, &fin_cond),
    ] {
        cases.push(Case {
            label: label.into(),
            token: token.clone(),
            kind: Kind::Report,
            requests: args.report_requests,
            variants: vec![Variant {
                url: format!("{base}/api/v1/reports/unpaid?day={today}"),
                bare: vec![Bare {
                    sql: report_sql(backend, cond, today),
                    id: None,
                }],
            }],
            note: "one GROUP BY by customer",
        });
    }

    let mut results = Vec::new();
    for case in &cases {
        let r = measure(db, &client, case).await?;
        println!(
            "  {:<36} handler p50 {:>8.2} p95 {:>8.2} ms   bare p50 {:>8.2} p95 {:>8.2} ms   {:>5.2}×",
            r.label,
            r.handler.0,
            r.handler.1,
            r.bare.0,
            r.bare.1,
            r.ratio()
        );
        results.push(r);
    }
    Ok(results)
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn get(client: &reqwest::Client, token: &str, url: &str) -> anyhow::Result<Vec<u8>> {
    let res = client.get(url).bearer_auth(token).send().await?;
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

/// Runs a variant's bare statements; returns the first two integer columns of every row of
/// each (id and amount, or a report's customer and first bucket) and the rest of a report row.
async fn run_bare(db: &Db, bare: &[Bare]) -> anyhow::Result<Vec<Vec<Vec<i64>>>> {
    let mut out = Vec::with_capacity(bare.len());
    for b in bare {
        let rows: Vec<Vec<i64>> = db_run!(db, |pool| {
            let q = sqlx::query(sqlx::AssertSqlSafe(b.sql.clone()));
            let q = match b.id {
                Some(id) => q.bind(id),
                None => q,
            };
            let rows = q.fetch_all(pool).await?;
            let mut v = Vec::with_capacity(rows.len());
            for r in &rows {
                // Integer columns up front: an id, then an amount or the ageing buckets.
                let mut ints = Vec::new();
                for i in 0..r.len().min(6) {
                    match r.try_get::<i64, _>(i) {
                        Ok(x) => ints.push(x),
                        Err(_) => break,
                    }
                }
                v.push(ints);
            }
            v
        });
        out.push(rows);
    }
    Ok(out)
}

/// Checks that the handler's answer and the bare statements' agree.
fn check(case: &Case, v: &Variant, body: &[u8], bare: &[Vec<Vec<i64>>]) -> anyhow::Result<()> {
    let body: Value = serde_json::from_slice(body)?;
    let fail = |what: String| anyhow!("{}: {what} for {}", case.label, v.url);
    match case.kind {
        Kind::List => {
            let handler: Vec<(i64, i64)> = body["items"]
                .as_array()
                .ok_or_else(|| fail("no items".into()))?
                .iter()
                .map(|i| {
                    (
                        i["id"].as_i64().unwrap_or(0),
                        i["balance_fen"].as_i64().unwrap_or(-1),
                    )
                })
                .collect();
            let sql: Vec<(i64, i64)> = bare[0].iter().map(|r| (r[0], r[1])).collect();
            if handler != sql {
                return Err(fail(format!(
                    "the handler's page {handler:?} is not the bare SQL's {sql:?}"
                )));
            }
        }
        Kind::Card => {
            let row = bare[0].first().ok_or_else(|| fail("no row".into()))?;
            if body["balance_fen"].as_i64() != Some(row[1]) {
                return Err(fail(format!(
                    "balance {} against the SQL's {}",
                    body["balance_fen"], row[1]
                )));
            }
            let mut contacts: Vec<i64> = bare[1].iter().map(|r| r[0]).collect();
            contacts.dedup();
            let shown = body["contacts"].as_array().map_or(0, Vec::len);
            let items = bare[3].len();
            let timeline = body["timeline"].as_array().map_or(0, Vec::len);
            if shown != contacts.len() || items != timeline {
                return Err(fail(format!(
                    "{shown} contacts and {timeline} timeline items against {} and {items}",
                    contacts.len()
                )));
            }
        }
        Kind::Report => {
            let handler: BTreeMap<i64, Vec<i64>> = body["customers"]
                .as_array()
                .ok_or_else(|| fail("no customers".into()))?
                .iter()
                .map(|c| {
                    let a = &c["ageing"];
                    (
                        c["id"].as_i64().unwrap_or(0),
                        ["not_due", "d1_30", "d31_60", "d61_90", "over_90"]
                            .iter()
                            .map(|k| a[*k].as_i64().unwrap_or(-1))
                            .collect(),
                    )
                })
                .collect();
            let sql: BTreeMap<i64, Vec<i64>> =
                bare[0].iter().map(|r| (r[0], r[1..].to_vec())).collect();
            if handler != sql {
                let differ = handler
                    .iter()
                    .find(|(k, v)| sql.get(k) != Some(v))
                    .map(|(k, v)| format!("customer {k}: {v:?} against {:?}", sql.get(k)));
                return Err(fail(format!(
                    "{} customer lines against the aggregate's {} ({})",
                    handler.len(),
                    sql.len(),
                    differ.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// p50 and p95 (nearest rank) in milliseconds.
fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort_unstable();
    let at = |p: f64| {
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1_000.0
    };
    (at(50.0), at(95.0))
}

/// Warms up checking every variant once (the handler's answer against the bare SQL's), then
/// times the handler and the bare statements, interleaved.
async fn measure(db: &Db, client: &reqwest::Client, case: &Case) -> anyhow::Result<CaseResult> {
    let warmup = case
        .variants
        .len()
        .min(50)
        .max((case.requests / 10).min(20));
    for i in 0..warmup {
        let v = &case.variants[i % case.variants.len()];
        let body = get(client, &case.token, &v.url).await?;
        let bare = run_bare(db, &v.bare).await?;
        check(case, v, &body, &bare)?;
    }
    let mut handler = Vec::with_capacity(case.requests);
    let mut bare = Vec::with_capacity(case.requests);
    for i in 0..case.requests {
        let v = &case.variants[i % case.variants.len()];
        let t = Instant::now();
        get(client, &case.token, &v.url).await?;
        handler.push(t.elapsed());
        let t = Instant::now();
        run_bare(db, &v.bare).await?;
        bare.push(t.elapsed());
    }
    let mut r = CaseResult {
        label: case.label.clone(),
        handler: percentiles(handler),
        bare: percentiles(bare),
        plan: Vec::new(),
        note: case.note,
    };
    if r.ratio() > PLAN_RATIO {
        for b in &case.variants[0].bare {
            r.plan.push(b.sql.clone());
            r.plan.extend(explain(db, b).await?);
        }
    }
    Ok(r)
}

/// `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL.
async fn explain(db: &Db, b: &Bare) -> anyhow::Result<Vec<String>> {
    let lines = match db {
        Db::Sqlite(pool) => {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {}", b.sql)));
            let q = match b.id {
                Some(id) => q.bind(id),
                None => q,
            };
            q.fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(3))
                .collect::<Result<Vec<_>, _>>()?
        }
        Db::Postgres(pool) => {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "EXPLAIN (ANALYZE, BUFFERS) {}",
                b.sql
            )));
            let q = match b.id {
                Some(id) => q.bind(id),
                None => q,
            };
            q.fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(lines)
}
