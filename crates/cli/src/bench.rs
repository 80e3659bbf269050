//! Benchmarks (`leadline bench …`), each printing its figures beside a baseline from the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use leadline_domain::{
    CustomFieldDef, FieldKind, IntentLevel, LeadFields, LeadStatus, PhoneNumber, Role, UserId,
    Viewer, search_tokens,
};
use leadline_store::auth::users::{self, NewUser};
use leadline_store::db::sql::Arg;
use leadline_store::db::test_db::TestDb;
use leadline_store::leads::{LeadFilter, Sort};
use leadline_store::{Backend, Db, leads, leads::custom_fields};
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Map, Value, json};
use sqlx::Row;
use tokio::sync::mpsc;

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
    }
}

/// Password of every benchmark account (one argon2 hash is computed and shared).
const PASSWORD: &str = "bench-password";
/// Leads written per transaction.
const BATCH: usize = 5_000;
/// Agents that own leads, spread over the teams.
const AGENTS: usize = 100;
const TEAMS: &[&str] = &["电销一组", "电销二组", "电销三组", "电销四组"];
/// Share of leads in the public pool, in percent.
const POOL_PERCENT: u32 = 20;
/// Page size asked of the handler; the store (and the baseline) fetch one more row.
const PAGE: usize = 50;
/// Goal: p95 of each case through the handler, in milliseconds.
const GOAL_P95_MS: f64 = 20.0;
/// Goal: handler p95 at most this many times the bare SQL p95.
const GOAL_RATIO: f64 = 3.0;

/// Surnames with weights in percent (王 about 7%, as in the population).
const SURNAMES: &[(&str, u32)] = &[
    ("王", 7),
    ("李", 7),
    ("张", 7),
    ("刘", 5),
    ("陈", 5),
    ("杨", 3),
    ("赵", 2),
    ("黄", 2),
    ("周", 2),
    ("吴", 2),
    ("徐", 2),
    ("孙", 2),
    ("胡", 2),
    ("朱", 2),
    ("高", 2),
    ("林", 2),
    ("何", 2),
    ("郭", 2),
    ("马", 2),
    ("罗", 2),
    ("梁", 2),
    ("宋", 2),
    ("郑", 2),
    ("谢", 2),
    ("韩", 2),
    ("唐", 2),
    ("冯", 2),
    ("于", 2),
    ("董", 2),
    ("萧", 2),
    ("程", 2),
    ("曹", 2),
    ("袁", 2),
    ("邓", 2),
    ("许", 2),
    ("沈", 2),
    ("曾", 2),
    ("彭", 2),
    ("吕", 1),
    ("苏", 1),
];

const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "华", "辉", "鹏", "丹", "萍", "鑫", "宇", "浩", "凯", "婷", "雪", "琳",
    "秀英", "桂英", "建华", "建国", "志强", "晓明", "海燕", "欣怡", "子涵", "梓轩", "思远", "雨涵",
    "嘉怡", "俊杰", "家豪", "晓东", "立新", "春梅", "玉兰", "国庆", "红梅", "振华", "永刚", "文静",
    "佳琪", "浩然", "一鸣", "晓燕", "丽华", "志伟", "海峰", "雅婷", "天宇", "瑞雪",
];

/// Trade names: the words a caller types to find a company.
const BRANDS: &[&str] = &[
    "星河", "华信", "蓝海", "鼎盛", "宏达", "恒通", "瑞丰", "金桥", "天成", "博远", "智诚", "新元",
    "众合", "远航", "明德", "长风", "云帆", "九州", "泰和", "嘉禾", "安信", "正元", "凯晟", "润泽",
    "汇通", "启明", "同创", "锦程", "华瑞", "思源", "海纳", "卓越", "易达", "优途", "禾丰", "睿智",
];

const TRADES: &[&str] = &[
    "科技",
    "网络科技",
    "信息技术",
    "软件",
    "教育科技",
    "教育咨询",
    "职业培训",
    "医疗器械",
    "医药",
    "健康管理",
    "机械制造",
    "精密机械",
    "电子",
    "新材料",
    "商贸",
    "超市管理",
    "服饰",
    "投资管理",
    "融资租赁",
    "保险代理",
];

const CITIES: &[(&str, &str)] = &[
    ("北京", "华北"),
    ("上海", "华东"),
    ("广州", "华南"),
    ("深圳", "华南"),
    ("杭州", "华东"),
    ("成都", "西南"),
    ("武汉", "华中"),
    ("西安", "西北"),
    ("南京", "华东"),
    ("苏州", "华东"),
    ("天津", "华北"),
    ("重庆", "西南"),
    ("长沙", "华中"),
    ("郑州", "华中"),
    ("青岛", "华东"),
    ("沈阳", "东北"),
];

const TITLES: &[&str] = &[
    "经理",
    "采购经理",
    "总经理",
    "行政主管",
    "财务总监",
    "IT主管",
    "董事长",
];
const SOURCES: &[&str] = &["展会", "官网", "转介绍", "电话黄页", "网络广告"];
const TAGS: &[&str] = &["VIP", "回访", "预算充足", "决策人", "价格敏感"];
const INDUSTRIES: &[&str] = &["教育", "医疗", "制造", "零售", "金融", "互联网"];

/// Lead statuses with weights in percent.
const STATUSES: &[(LeadStatus, u32)] = &[
    (LeadStatus::New, 40),
    (LeadStatus::Contacted, 20),
    (LeadStatus::CallBack, 10),
    (LeadStatus::Qualified, 5),
    (LeadStatus::NotInterested, 15),
    (LeadStatus::InvalidNumber, 5),
    (LeadStatus::DoNotCall, 2),
    (LeadStatus::Converted, 3),
];

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

/// The accounts a benchmark run uses.
struct People {
    admin: UserId,
    agents: Vec<UserId>,
    /// Username of the agent whose token is used (the first agent).
    agent_username: String,
}

/// Creates an admin, teams with a supervisor each, the agents and the `industry` field.
async fn seed_people(db: &Db) -> anyhow::Result<People> {
    let hash = users::hash_password(PASSWORD);
    let new_user = |username: String, display_name: String, role, team_id| NewUser {
        username,
        display_name,
        role,
        team_id,
        password_hash: hash.clone(),
    };
    let admin = users::create_user(
        db,
        &new_user("admin".into(), "陈静".into(), Role::Admin, None),
        None,
    )
    .await?;
    let actor = Some(admin.id);
    let mut teams = Vec::new();
    for (i, team) in TEAMS.iter().enumerate() {
        let id = users::create_team(db, team, actor).await?;
        let sup = users::create_user(
            db,
            &new_user(
                format!("supervisor{}", i + 1),
                format!("主管{}", i + 1),
                Role::Supervisor,
                Some(id),
            ),
            actor,
        )
        .await?;
        users::set_supervisor(db, id, sup.id, true, actor).await?;
        teams.push(id);
    }
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let user = users::create_user(
            db,
            &new_user(
                format!("agent{:03}", i + 1),
                format!("坐席{:03}", i + 1),
                Role::Agent,
                Some(teams[i % teams.len()]),
            ),
            actor,
        )
        .await?;
        agents.push(user.id);
    }
    custom_fields::create(
        db,
        &CustomFieldDef {
            key: "industry".into(),
            label_zh: "行业".into(),
            label_en: "Industry".into(),
            kind: FieldKind::Select,
            required: false,
            options: INDUSTRIES.iter().map(|s| s.to_string()).collect(),
        },
        actor,
    )
    .await?;
    Ok(People {
        admin: admin.id,
        agents,
        agent_username: "agent001".into(),
    })
}

/// What loading the leads took and left behind for the queries.
struct Load {
    elapsed: Duration,
    /// Time the generator thread spent building leads (overlapped with writing).
    generation: Duration,
    /// Leads whose name contains 王.
    wang: usize,
    /// National digits of some of the phones written (every 997th lead).
    sample_phones: Vec<String>,
}

/// What the generator thread hands back when it is done.
struct Generated {
    busy: Duration,
    wang: usize,
    sample_phones: Vec<String>,
}

/// One batch of leads ready for [`leads::bulk_insert`].
type Batch = Vec<(LeadFields, Option<UserId>)>;

/// Generates `n` leads on a thread and writes them in batches as they come, printing progress.
async fn load_leads(db: &Db, admin: UserId, agents: &[UserId], n: usize) -> anyhow::Result<Load> {
    let (tx, mut rx) = mpsc::channel::<Batch>(4);
    let agents = agents.to_vec();
    let generator = std::thread::spawn(move || generate(n, &agents, tx));
    let started = Instant::now();
    let report_every = (n / 10).max(BATCH);
    let mut done = 0usize;
    let mut written: anyhow::Result<()> = Ok(());
    while let Some(batch) = rx.recv().await {
        if let Err(e) = leads::bulk_insert(db, admin, &batch).await {
            written = Err(e).context("bulk insert");
            break;
        }
        let before = done;
        done += batch.len();
        if done / report_every != before / report_every || done == n {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "  {:>9} leads  {:>7.1} s  {:>7} rows/s",
                thousands(done as u64),
                secs,
                thousands((done as f64 / secs) as u64)
            );
        }
    }
    let elapsed = started.elapsed();
    drop(rx);
    let generated = generator
        .join()
        .map_err(|_| anyhow!("the lead generator panicked"))?;
    written?;
    let generated = generated?;
    if done != n {
        bail!("only {done} of {n} leads were written");
    }
    Ok(Load {
        elapsed,
        generation: generated.busy,
        wang: generated.wang,
        sample_phones: generated.sample_phones,
    })
}

/// Builds `n` leads deterministically and sends them in batches; stops early if the receiver
/// has gone.
fn generate(n: usize, agents: &[UserId], tx: mpsc::Sender<Batch>) -> anyhow::Result<Generated> {
    let mut rng = StdRng::seed_from_u64(20_240_601);
    let mut mobiles = Mobiles::default();
    let mut busy = Duration::ZERO;
    let mut wang = 0;
    let mut sample_phones = Vec::new();
    let mut made = 0;
    while made < n {
        let t = Instant::now();
        let size = BATCH.min(n - made);
        let mut batch = Vec::with_capacity(size);
        for _ in 0..size {
            let (fields, owner) = plan_lead(&mut rng, &mut mobiles, agents)?;
            if fields.name.contains('王') {
                wang += 1;
            }
            if made.is_multiple_of(997) {
                sample_phones.push(fields.phones[0].national_digits().to_string());
            }
            made += 1;
            batch.push((fields, owner));
        }
        busy += t.elapsed();
        if tx.blocking_send(batch).is_err() {
            break;
        }
    }
    Ok(Generated {
        busy,
        wang,
        sample_phones,
    })
}

/// Mainland mobile numbers (130–139, 150–159, 180–189) in an order that looks random but never
/// repeats: a pseudo-random permutation of the 3×10⁹ numbers of those prefixes.
#[derive(Default)]
struct Mobiles {
    next: u64,
}

impl Mobiles {
    /// How many numbers the prefixes hold.
    const SPACE: u64 = 3_000_000_000;

    /// The next unused number, as checked by [`PhoneNumber::parse`]; numbers the metadata calls
    /// invalid are skipped (which keeps the rest unique).
    fn next_phone(&mut self) -> anyhow::Result<PhoneNumber> {
        for _ in 0..1_000 {
            if self.next >= Mobiles::SPACE {
                bail!("out of mobile numbers");
            }
            let x = Mobiles::permute(self.next);
            self.next += 1;
            let (prefix, rest) = (x / 100_000_000, x % 100_000_000);
            let second = [3, 5, 8][(prefix / 10) as usize];
            let raw = format!("1{second}{}{rest:08}", prefix % 10);
            if let Ok(p) = PhoneNumber::parse(&raw) {
                return Ok(p);
            }
        }
        bail!("no valid mobile number in 1000 tries")
    }

    /// A bijection on `0..SPACE` whose digits look random (so that digit fragments match as
    /// often as in real numbers): a 4-round Feistel network on 32 bits, applied again until the
    /// value falls inside the space (cycle walking).
    fn permute(k: u64) -> u64 {
        let mut x = k;
        loop {
            let (mut left, mut right) = ((x >> 16) as u32, (x & 0xFFFF) as u32);
            for round in 0..4u32 {
                let mut h = right.wrapping_mul(0x9E37_79B9) ^ round.wrapping_mul(0x85EB_CA6B);
                h ^= h >> 15;
                h = h.wrapping_mul(0x2C1B_3C6D);
                h ^= h >> 12;
                (left, right) = (right, left ^ (h & 0xFFFF));
            }
            x = (u64::from(left) << 16) | u64::from(right);
            if x < Mobiles::SPACE {
                return x;
            }
        }
    }
}

/// An element of a list chosen with the weight each carries.
fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut r = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if r < *w {
            return item;
        }
        r -= w;
    }
    &items[0].0
}

/// Any element of a non-empty constant list.
fn one<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("benchmark lists are never empty")
}

/// True with the given percentage chance.
fn chance(rng: &mut StdRng, percent: u32) -> bool {
    rng.random_range(0..100) < percent
}

/// One generated lead and its owner (`None`: the public pool).
fn plan_lead(
    rng: &mut StdRng,
    mobiles: &mut Mobiles,
    agents: &[UserId],
) -> anyhow::Result<(LeadFields, Option<UserId>)> {
    let name = format!("{}{}", weighted(rng, SURNAMES), one(rng, GIVEN_NAMES));
    let mut phones = vec![mobiles.next_phone()?];
    if chance(rng, 10) {
        phones.push(mobiles.next_phone()?);
    }
    let (city, region) = *one(rng, CITIES);
    let company = chance(rng, 90).then(|| {
        let brand = one(rng, BRANDS);
        let trade = one(rng, TRADES);
        if chance(rng, 30) {
            format!("{city}{brand}{trade}有限公司")
        } else {
            format!("{brand}{trade}有限公司")
        }
    });
    let mut custom = Map::new();
    if chance(rng, 85) {
        custom.insert(
            "industry".into(),
            Value::String(one(rng, INDUSTRIES).to_string()),
        );
    }
    let owner = if chance(rng, POOL_PERCENT) {
        None
    } else {
        Some(*one(rng, agents))
    };
    let fields = LeadFields {
        name,
        phones,
        company,
        title: chance(rng, 60).then(|| one(rng, TITLES).to_string()),
        city: chance(rng, 90).then(|| city.to_string()),
        region: chance(rng, 90).then(|| region.to_string()),
        source: chance(rng, 80).then(|| one(rng, SOURCES).to_string()),
        tags: if chance(rng, 10) {
            vec![one(rng, TAGS).to_string()]
        } else {
            Vec::new()
        },
        status: *weighted(rng, STATUSES),
        intent: if chance(rng, 50) {
            Some(*one(rng, IntentLevel::ALL))
        } else {
            None
        },
        custom,
        email: None,
    };
    Ok((fields, owner))
}

/// Refreshes the planner's statistics after the load (and lets SQLite tune itself).
async fn analyze(db: &Db) -> anyhow::Result<Duration> {
    let t = Instant::now();
    match db {
        Db::Sqlite(pool) => {
            sqlx::query("ANALYZE").execute(pool).await?;
            sqlx::query("PRAGMA optimize").execute(pool).await?;
        }
        Db::Postgres(pool) => {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
    }
    Ok(t.elapsed())
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
fn thousands(n: u64) -> String {
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
