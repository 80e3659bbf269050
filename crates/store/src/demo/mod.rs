//! Demo data: a realistic Chinese telesales floor (people, teams, custom fields, about 2,000 leads
//! and a month of calls), generated deterministically and written through the store's own functions.

mod customers;
pub mod kb;
// issue 23: sales (seed called from `seed` once the demo customers exist)
mod ownership;
mod pipeline;
pub(crate) mod sales;
mod words;
pub mod workday;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use leadline_domain::{
    CustomFieldDef, FieldKind, IntentLevel, LeadDraft, LeadFields, LeadId, LeadStatus, PhoneNumber,
    Role, TeamId, UserId,
};
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Map, Value};

use crate::auth::users::{self, NewUser};
use crate::workday::calls::{self, NewCall};
use crate::{Db, Result, StoreError, db_run, leads, leads::custom_fields, now};
use words::{
    BRANDS, CITIES, GIVEN_NAMES, HONORIFICS, MOBILE_PREFIXES, PRODUCTS, SOURCES, SURNAMES, TAGS,
    TITLES, TRADES,
};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "leadline-demo";

/// How many leads the demo creates.
const LEAD_COUNT: usize = 2_000;
/// Leads or calls written per transaction.
const BATCH: usize = 500;
/// Days of call history behind today.
const HISTORY_DAYS: i64 = 30;

/// What [`seed`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub teams: usize,
    pub leads: usize,
    pub calls: usize,
}

/// The demo accounts: username, display name, role and team (1 or 2; 0 for none).
const PEOPLE: &[(&str, &str, Role, usize)] = &[
    ("supervisor1", "王强", Role::Supervisor, 1),
    ("supervisor2", "刘洋", Role::Supervisor, 2),
    ("agent1", "张伟", Role::Agent, 1),
    ("agent2", "李娜", Role::Agent, 1),
    ("agent3", "王芳", Role::Agent, 1),
    ("agent4", "赵磊", Role::Agent, 1),
    ("agent5", "孙丽", Role::Agent, 2),
    ("agent6", "周杰", Role::Agent, 2),
    ("agent7", "吴敏", Role::Agent, 2),
    ("agent8", "郑浩", Role::Agent, 2),
    ("sales1", "黄磊", Role::Sales, 0),
    ("sales2", "林晓燕", Role::Sales, 0),
    ("sales3", "何军", Role::Sales, 0),
    ("finance1", "郑会计", Role::Finance, 0),
];

/// The sales reps' phone PINs, in the order of `PEOPLE` (README lists them).
pub const DEMO_PINS: [&str; 3] = ["1234", "2345", "3456"];

const TEAMS: [&str; 2] = ["电销一组", "电销二组"];

/// Who holds a lead, as far as call history is concerned.
#[derive(Debug, Clone, Copy)]
enum Holder {
    Pool,
    Agent(UserId),
    Sales(UserId),
}

impl Holder {
    /// The owner stored on the lead.
    fn owner(self) -> Option<UserId> {
        match self {
            Holder::Pool => None,
            Holder::Agent(u) | Holder::Sales(u) => Some(u),
        }
    }
}

/// A generated lead before it is written: its checked fields, holder and first phone (which
/// finds its id again afterwards).
struct Planned {
    fields: LeadFields,
    holder: Holder,
    first_e164: String,
}

/// Seeds a realistic demo organisation into an EMPTY database (returns Err if any user already
/// exists).
pub async fn seed(db: &Db) -> Result<DemoSummary> {
    if users::user_count(db).await? > 0 {
        return Err(StoreError::AlreadyExists("users"));
    }
    // One hash for every account: argon2 is slow, and the demo password is public anyway.
    let password_hash = users::hash_password(DEMO_PASSWORD);
    let admin = users::create_user(
        db,
        &NewUser {
            username: "admin".into(),
            display_name: "陈静".into(),
            role: Role::Admin,
            team_id: None,
            password_hash: password_hash.clone(),
        },
        None,
    )
    .await?;
    let actor = Some(admin.id);
    let mut teams: Vec<TeamId> = Vec::new();
    for name in TEAMS {
        teams.push(users::create_team(db, name, actor).await?);
    }
    let mut agents = Vec::new();
    let mut sales = Vec::new();
    let mut supervisors = Vec::new();
    for &(username, display_name, role, team) in PEOPLE {
        let team_id = team.checked_sub(1).map(|i| teams[i]);
        let user = users::create_user(
            db,
            &NewUser {
                username: username.into(),
                display_name: display_name.into(),
                role,
                team_id,
                password_hash: password_hash.clone(),
            },
            actor,
        )
        .await?;
        match (role, team_id) {
            (Role::Supervisor, Some(t)) => {
                users::set_supervisor(db, t, user.id, true, actor).await?;
                supervisors.push(user.id);
            }
            (Role::Agent, _) => agents.push(user.id),
            (Role::Sales, _) => sales.push(user.id),
            _ => {}
        }
    }

    // Phone PINs for the IVR's results look-up (9000, key 2): sales1 1234, sales2 2345, sales3 3456.
    for (user, pin) in sales.iter().zip(DEMO_PINS) {
        crate::auth::phone_pin::seed_pin(db, *user, pin).await?;
    }

    for def in field_defs() {
        custom_fields::create(db, &def, actor).await?;
    }
    let defs = custom_fields::list(db).await?;

    let started = now();
    let today = beijing_date(started);
    let mut rng = StdRng::seed_from_u64(42);
    let mut used_phones = HashSet::new();
    let mut planned = Vec::with_capacity(LEAD_COUNT);
    for _ in 0..LEAD_COUNT {
        planned.push(plan_lead(
            &mut rng,
            &defs,
            &agents,
            &sales,
            today,
            &mut used_phones,
        )?);
    }
    for chunk in planned.chunks(BATCH) {
        let rows: Vec<(LeadFields, Option<UserId>)> = chunk
            .iter()
            .map(|p| (p.fields.clone(), p.holder.owner()))
            .collect();
        leads::bulk_insert(db, admin.id, &rows).await?;
    }

    let ids = lead_ids_by_phone(db).await?;
    let mut history = Vec::new();
    for p in &planned {
        let Some(&lead) = ids.get(&p.first_e164) else {
            return Err(StoreError::Internal(format!(
                "demo lead with phone {} was not found after insertion",
                p.first_e164
            )));
        };
        history.extend(plan_calls(&mut rng, lead, p, &agents, started));
    }
    // Two leads in three were called with one of the shared scripts, so script stats show.
    let scripts = crate::demo::kb::seed_demo(db, &admin, &teams).await?;
    for c in history.iter_mut() {
        c.script_id = scripts
            .get(c.lead_id.0 as usize % (scripts.len() + 1))
            .copied();
    }
    for chunk in history.chunks(BATCH) {
        calls::insert_many(db, chunk).await?;
    }
    // Targets, ticker sentences and revisits coming due for the workspace (issue 4).
    crate::demo::workday::seed(db, &admin, &agents).await?;
    // Pools, countdowns, pool traffic and 撞单 cases (issue 22).
    crate::demo::ownership::seed(db, admin.id, &teams, &supervisors, &agents, started).await?;
    // Customers converted from the sales reps' leads, a few handed over by agents (issue 23).
    let contacts = crate::demo::customers::seed(db, &agents, &sales, started).await?;
    // Products, orders with discounts, returns, payments and overdue instalments (issue 23).
    crate::demo::sales::seed(db, &admin, started).await?;
    // Opportunities across the stages, visits and the month's grades, from those sales.
    crate::demo::pipeline::seed(db, started).await?;

    Ok(DemoSummary {
        users: 1 + PEOPLE.len(),
        teams: teams.len(),
        leads: planned.len() + contacts,
        calls: history.len(),
    })
}

/// The demo's custom fields, labelled in Chinese and English.
fn field_defs() -> Vec<CustomFieldDef> {
    let def = |key: &str, zh: &str, en: &str, kind: FieldKind, options: &[&str]| CustomFieldDef {
        key: key.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        kind,
        required: false,
        options: options.iter().map(|o| o.to_string()).collect(),
    };
    vec![
        def(
            "industry",
            "行业",
            "Industry",
            FieldKind::Select,
            &["教育", "医疗", "制造", "零售", "金融", "互联网"],
        ),
        def(
            "budget",
            "预算（元）",
            "Budget (CNY)",
            FieldKind::Number,
            &[],
        ),
        def(
            "products",
            "意向产品",
            "Products of interest",
            FieldKind::MultiSelect,
            PRODUCTS,
        ),
        def("next_visit", "下次拜访", "Next visit", FieldKind::Date, &[]),
    ]
}

/// Today's date on a Beijing wall calendar.
fn beijing_date(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(8)).date_naive()
}

/// Any element of a non-empty constant list.
fn one<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("demo lists are never empty")
}

/// An element of a constant list chosen with the weight each carries.
fn weighted<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut r = rng.random_range(0..total.max(1));
    for item in items {
        let w = weight(item);
        if r < w {
            return item;
        }
        r -= w;
    }
    one(rng, items)
}

/// True with the given percentage chance.
fn chance(rng: &mut StdRng, percent: u32) -> bool {
    rng.random_range(0..100) < percent
}

/// A mobile number not used yet, in one of the ways people write them.
fn mobile(rng: &mut StdRng, used: &mut HashSet<String>) -> String {
    loop {
        let prefix = one(rng, MOBILE_PREFIXES);
        let rest: u32 = rng.random_range(0..100_000_000);
        let (a, b) = (rest / 10_000, rest % 10_000);
        let raw = match rng.random_range(0..10) {
            0..=4 => format!("{prefix}{a:04}{b:04}"),
            5 | 6 => format!("{prefix} {a:04} {b:04}"),
            7 => format!("+86 {prefix}-{a:04}-{b:04}"),
            8 => format!("{prefix}-{a:04}-{b:04}"),
            _ => format!("+86{prefix}{a:04}{b:04}"),
        };
        if let Ok(p) = PhoneNumber::parse(&raw)
            && used.insert(p.e164().to_string())
        {
            return raw;
        }
    }
}

/// A landline in the given area not used yet, written with its area code.
fn landline(rng: &mut StdRng, area: &str, used: &mut HashSet<String>) -> String {
    loop {
        let local: u32 = rng.random_range(20_000_000..90_000_000);
        let (a, b) = (local / 10_000, local % 10_000);
        let raw = match rng.random_range(0..4) {
            0 => format!("{area}-{a:04} {b:04}"),
            1 => format!("({area}){local}"),
            2 => format!("{area}-{local}"),
            _ => format!("{area} {a:04} {b:04}"),
        };
        if let Ok(p) = PhoneNumber::parse(&raw)
            && used.insert(p.e164().to_string())
        {
            return raw;
        }
    }
}

/// A weighted status for a lead held by `holder`.
fn status_for(rng: &mut StdRng, holder: Holder) -> LeadStatus {
    use LeadStatus::*;
    let table: &[(LeadStatus, u32)] = match holder {
        Holder::Pool => &[(New, 65), (NotInterested, 25), (Contacted, 10)],
        Holder::Sales(_) => &[(Qualified, 60), (Converted, 40)],
        Holder::Agent(_) => &[
            (New, 30),
            (Contacted, 20),
            (CallBack, 15),
            (Qualified, 8),
            (NotInterested, 14),
            (InvalidNumber, 4),
            (DoNotCall, 2),
            (Converted, 7),
        ],
    };
    weighted(rng, table, |x| x.1).0
}

/// An intent level that fits a status (none before anyone has talked to the prospect).
fn intent_for(rng: &mut StdRng, status: LeadStatus) -> Option<IntentLevel> {
    use IntentLevel::*;
    let table: &[(IntentLevel, u32)] = match status {
        LeadStatus::New | LeadStatus::InvalidNumber => return None,
        LeadStatus::Contacted => &[(NoStance, 40), (Interested, 40), (Positive, 20)],
        LeadStatus::CallBack => &[(Interested, 50), (NoStance, 30), (Positive, 20)],
        LeadStatus::Qualified => &[(Positive, 55), (StrongDemand, 45)],
        LeadStatus::NotInterested => &[(Resistant, 60), (NoStance, 40)],
        LeadStatus::DoNotCall => &[(Resistant, 1)],
        LeadStatus::Converted => &[(StrongDemand, 60), (Positive, 40)],
    };
    Some(weighted(rng, table, |x| x.1).0)
}

/// One lead with plausible, consistent fields, checked exactly as user input is.
fn plan_lead(
    rng: &mut StdRng,
    defs: &[CustomFieldDef],
    agents: &[UserId],
    sales: &[UserId],
    today: NaiveDate,
    used: &mut HashSet<String>,
) -> Result<Planned> {
    let &(surname, surname_pinyin, _) = weighted(rng, SURNAMES, |x| x.2);
    let name = if chance(rng, 6) {
        format!("{surname}{}", one(rng, HONORIFICS))
    } else {
        format!("{surname}{}", one(rng, GIVEN_NAMES))
    };
    let &(city, region, area, _) = weighted(rng, CITIES, |x| x.3);

    let mut phones = Vec::new();
    match rng.random_range(0..100) {
        0..=79 => phones.push(mobile(rng, used)),
        80..=89 => phones.push(landline(rng, area, used)),
        90..=95 => {
            phones.push(mobile(rng, used));
            phones.push(landline(rng, area, used));
        }
        _ => {
            phones.push(mobile(rng, used));
            phones.push(mobile(rng, used));
        }
    }

    let &(brand, brand_pinyin) = one(rng, BRANDS);
    let &(trade, industry) = one(rng, TRADES);
    let company = match rng.random_range(0..100) {
        0..=4 => None,
        5..=14 => Some(format!("{brand}{trade}（{city}）有限公司")),
        15..=19 => Some(format!("{city}{brand}{trade}股份有限公司")),
        _ => Some(format!("{city}{brand}{trade}有限公司")),
    };
    let title = (!chance(rng, 8)).then(|| weighted(rng, TITLES, |x| x.1).0.to_string());
    let source = weighted(rng, SOURCES, |x| x.1).0;

    let mut tags: Vec<String> = Vec::new();
    if source == "展会" && chance(rng, 50) {
        tags.push("展会".into());
    }
    for _ in 0..rng.random_range(0..=3) {
        let tag = one(rng, TAGS).to_string();
        if tags.len() < 3 && !tags.contains(&tag) {
            tags.push(tag);
        }
    }

    let holder = match rng.random_range(0..100) {
        0..=14 => Holder::Pool,
        15..=17 => Holder::Sales(*one(rng, sales)),
        _ => Holder::Agent(*one(rng, agents)),
    };
    let status = status_for(rng, holder);
    let intent = intent_for(rng, status);

    let mut custom = Map::new();
    let mut email = None;
    if chance(rng, 88) {
        if company.is_some() && chance(rng, 85) {
            custom.insert("industry".into(), Value::from(industry));
        }
        if chance(rng, 50) {
            let budget = rng.random_range(2..=200) * 5_000;
            custom.insert("budget".into(), Value::from(budget.to_string()));
        }
        if chance(rng, 40) {
            let count = rng.random_range(1..=2);
            let chosen: Vec<Value> = PRODUCTS
                .sample(rng, count)
                .map(|p| Value::from(*p))
                .collect();
            custom.insert("products".into(), Value::Array(chosen));
        }
        let visiting = matches!(
            status,
            LeadStatus::CallBack | LeadStatus::Qualified | LeadStatus::Converted
        );
        if chance(rng, if visiting { 60 } else { 8 }) {
            let day = today + Duration::days(rng.random_range(1..=21));
            custom.insert(
                "next_visit".into(),
                Value::from(day.format("%Y-%m-%d").to_string()),
            );
        }
        if company.is_some() && chance(rng, 30) {
            let tld = one(rng, &["com", "com.cn", "cn"]);
            let n: u32 = rng.random_range(1..100);
            email = Some(format!("{surname_pinyin}{n}@{brand_pinyin}.{tld}"));
        }
    }

    let draft = LeadDraft {
        name,
        phones,
        company,
        title,
        city: Some(city.into()),
        region: Some(region.into()),
        source: Some(source.into()),
        tags,
        status: Some(status.code().into()),
        intent: intent.map(|i| i.code().into()),
        custom,
        email,
    };
    let fields = LeadFields::parse(&draft, defs).map_err(StoreError::Invalid)?;
    let first_e164 = fields
        .phones
        .first()
        .map(|p| p.e164().to_string())
        .ok_or_else(|| StoreError::Internal("demo lead without a phone".into()))?;
    Ok(Planned {
        fields,
        holder,
        first_e164,
    })
}

/// Lead ids keyed by each lead's first phone, to pair generated leads with their rows.
async fn lead_ids_by_phone(db: &Db) -> Result<HashMap<String, LeadId>> {
    let rows: Vec<(LeadId, String)> = db_run!(db, |pool| {
        sqlx::query_as("SELECT lead_id, e164 FROM lead_phones WHERE position = 0")
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(|(id, e164)| (e164, id)).collect())
}

/// A moment in the last [`HISTORY_DAYS`] days during office hours in Beijing (09:00–12:00,
/// 14:00–18:00, not on Sundays), never in the future.
fn office_moment(rng: &mut StdRng, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = beijing_date(now);
    loop {
        let date = today - Duration::days(rng.random_range(0..HISTORY_DAYS));
        if date.weekday() == Weekday::Sun {
            continue;
        }
        let minute = rng.random_range(0..420);
        let minute = if minute < 180 {
            9 * 60 + minute
        } else {
            14 * 60 + minute - 180
        };
        let second = minute * 60 + rng.random_range(0..60);
        let local = date.and_time(NaiveTime::MIN) + Duration::seconds(second);
        let at = (local - Duration::hours(8)).and_utc();
        if at <= now {
            return at;
        }
    }
}

/// Up to four calls that lead a lead to its current status, oldest first.
fn plan_calls(
    rng: &mut StdRng,
    lead: LeadId,
    planned: &Planned,
    agents: &[UserId],
    now: DateTime<Utc>,
) -> Vec<NewCall> {
    let status = planned.fields.status;
    let last = match status {
        LeadStatus::New => return Vec::new(),
        LeadStatus::Contacted => "connected",
        LeadStatus::CallBack => "call_back",
        LeadStatus::Qualified | LeadStatus::Converted => "qualified",
        LeadStatus::NotInterested | LeadStatus::DoNotCall => "not_interested",
        LeadStatus::InvalidNumber => "wrong_number",
    };
    // Pool leads were called by whoever held them before; sales reps got theirs from an agent.
    let (caller, closer) = match planned.holder {
        Holder::Agent(a) => (a, a),
        Holder::Sales(s) => (*one(rng, agents), s),
        Holder::Pool => {
            let a = *one(rng, agents);
            (a, a)
        }
    };
    let count = if status == LeadStatus::InvalidNumber {
        rng.random_range(1..=2)
    } else {
        rng.random_range(1..=4)
    };
    let mut moments: Vec<DateTime<Utc>> = (0..count).map(|_| office_moment(rng, now)).collect();
    moments.sort();
    let mut out = Vec::with_capacity(moments.len());
    for (i, at) in moments.iter().enumerate() {
        let is_last = i + 1 == moments.len();
        let (disposition, agent) = if is_last {
            (last, closer)
        } else if status == LeadStatus::InvalidNumber {
            ("no_answer", caller)
        } else {
            let earlier: &[(&str, u32)] = &[
                ("no_answer", 35),
                ("busy", 15),
                ("connected", 30),
                ("call_back", 20),
            ];
            (weighted(rng, earlier, |x| x.1).0, caller)
        };
        let intent = if is_last {
            planned.fields.intent
        } else {
            call_intent(rng, disposition)
        };
        let do_not_call = is_last && status == LeadStatus::DoNotCall;
        out.push(call(
            rng,
            lead,
            agent,
            *at,
            disposition,
            intent,
            do_not_call,
        ));
    }
    out
}

/// The intent an agent notes after a call with this outcome (only when someone answered).
fn call_intent(rng: &mut StdRng, disposition: &str) -> Option<IntentLevel> {
    use IntentLevel::*;
    let table: &[(IntentLevel, u32)] = match disposition {
        "connected" => &[(NoStance, 40), (Interested, 40), (Positive, 20)],
        "call_back" => &[(Interested, 50), (NoStance, 50)],
        "not_interested" => &[(Resistant, 60), (NoStance, 40)],
        "qualified" => &[(Positive, 50), (StrongDemand, 50)],
        _ => return None,
    };
    Some(weighted(rng, table, |x| x.1).0)
}

/// One call record with a duration, note and revisit date that fit its outcome.
fn call(
    rng: &mut StdRng,
    lead: LeadId,
    agent: UserId,
    started_at: DateTime<Utc>,
    disposition: &str,
    intent: Option<IntentLevel>,
    do_not_call: bool,
) -> NewCall {
    let (seconds, notes): (std::ops::RangeInclusive<i64>, &[&str]) = match disposition {
        "connected" => (
            60..=600,
            &[
                "客户对价格敏感，下周再联系",
                "已介绍产品功能，客户需要内部讨论",
                "客户要求把资料发到邮箱",
                "客户在用竞品，合同年底到期",
                "沟通顺利，约了下周线上演示",
                "客户关心售后服务，已详细说明",
            ],
        ),
        "no_answer" => (0..=0, &["无人接听", "响铃无人接", "关机", ""]),
        "busy" => (0..=0, &["占线", "客户正在开会，稍后再打"]),
        "call_back" => (
            20..=120,
            &[
                "客户说现在忙，约明天下午回电",
                "让下周一再联系",
                "需要跟老板商量，三天后回访",
                "客户出差中，回来后再联系",
            ],
        ),
        "not_interested" if do_not_call => (
            10..=60,
            &[
                "客户要求不要再来电，已标记勿扰",
                "客户投诉骚扰，列入勿扰名单",
            ],
        ),
        "not_interested" => (
            15..=120,
            &[
                "客户明确表示暂无需求",
                "已有供应商，不考虑更换",
                "预算已用完，明年再说",
                "公司规模小，用不上",
            ],
        ),
        "qualified" => (
            180..=600,
            &[
                "需求明确，预算已批，转销售跟进",
                "决策人已确认，约上门拜访",
                "客户要求出报价单，转销售",
            ],
        ),
        _ => (5..=30, &["空号", "号码错误，非本人", "已停机"]),
    };
    let next_revisit_at = (disposition == "call_back").then(|| {
        let day = beijing_date(started_at) + Duration::days(rng.random_range(1..=7));
        (day.and_time(NaiveTime::MIN) + Duration::hours(10 - 8)).and_utc()
    });
    NewCall {
        lead_id: lead,
        agent_id: agent,
        started_at,
        duration_s: rng.random_range(seconds),
        disposition: disposition.to_string(),
        intent: intent.map(|i| i.code().to_string()),
        notes: one(rng, notes).to_string(),
        next_revisit_at,
        script_id: None,
    }
}

#[cfg(test)]
mod tests;
