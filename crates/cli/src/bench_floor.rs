//! The generated floor the list benchmark measures: accounts over four teams and a million
//! leads with real-looking Chinese names, companies, cities, phones and custom fields, written in
//! batches, then the planner's statistics refreshed.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use leadline_domain::{
    CustomFieldDef, FieldKind, IntentLevel, LeadFields, LeadStatus, PhoneNumber, Role, UserId,
};
use leadline_store::auth::users::{self, NewUser};
use leadline_store::{Db, leads, leads::custom_fields};
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::bench::{PASSWORD, thousands};

/// Leads written per transaction.
const BATCH: usize = 5_000;
/// Agents that own leads, spread over the teams.
const AGENTS: usize = 100;
const TEAMS: &[&str] = &["电销一组", "电销二组", "电销三组", "电销四组"];
/// Share of leads in the public pool, in percent.
const POOL_PERCENT: u32 = 20;
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
pub(crate) const BRANDS: &[&str] = &[
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
pub(crate) const INDUSTRIES: &[&str] = &["教育", "医疗", "制造", "零售", "金融", "互联网"];

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

/// The accounts a benchmark run uses.
pub(crate) struct People {
    pub(crate) admin: UserId,
    pub(crate) agents: Vec<UserId>,
    /// Username of the agent whose token is used (the first agent).
    pub(crate) agent_username: String,
}

/// Creates an admin, teams with a supervisor each, the agents and the `industry` field.
pub(crate) async fn seed_people(db: &Db) -> anyhow::Result<People> {
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
pub(crate) struct Load {
    pub(crate) elapsed: Duration,
    /// Time the generator thread spent building leads (overlapped with writing).
    pub(crate) generation: Duration,
    /// Leads whose name contains 王.
    pub(crate) wang: usize,
    /// National digits of some of the phones written (every 997th lead).
    pub(crate) sample_phones: Vec<String>,
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
pub(crate) async fn load_leads(
    db: &Db,
    admin: UserId,
    agents: &[UserId],
    n: usize,
) -> anyhow::Result<Load> {
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
pub(crate) async fn analyze(db: &Db) -> anyhow::Result<Duration> {
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
