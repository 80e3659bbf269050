//! The floor of `leadline bench customers`: the accounts, and customers, contacts, orders,
//! payment plans, returns and payments written set-based by the database itself, every column
//! a formula of the row's id (a recursive CTE on SQLite, `generate_series` on PostgreSQL).

use std::time::Instant;

use anyhow::{Context, bail};
use chrono::Utc;
use leadline_domain::Role;
use leadline_store::auth::users::{self, NewUser};
use leadline_store::{Backend, Db, db_run};

use super::CustomersArgs;

pub(super) const PASSWORD: &str = "bench-password";
pub(super) const TEAMS: usize = 4;
/// Rows per INSERT … SELECT statement while loading.
const CHUNK: usize = 100_000;
const DAY: i64 = 86_400;
/// Two-character words the generated names are made of (substr by position on both backends).
const CITIES: &str = "北京上海广州深圳杭州成都武汉西安南京苏州天津重庆长沙郑州青岛沈阳";
pub(super) const BRANDS: &str = "星河华信蓝海鼎盛宏达恒通瑞丰金桥天成博远智诚新元众合远航明德长风云帆九州泰和嘉禾安信正元凯晟润泽汇通启明同创锦程华瑞思源海纳卓越易达优途禾丰睿智";
const TRADES: &str = "科技软件医药电子商贸服饰机械教育材料物流";
const INDUSTRIES: &str = "教育医疗制造零售金融物流";
const SURNAMES: &str = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗";

/// The accounts of a run.
pub(super) struct People {
    pub(super) admin: i64,
    pub(super) finance: i64,
    /// The first sales rep's id; the reps' ids are consecutive.
    pub(super) first_rep: i64,
    /// The supervisor of the first team and the team's reps.
    pub(super) supervisor: String,
    pub(super) team_reps: Vec<i64>,
}

pub(super) async fn people(db: &Db, reps: usize) -> anyhow::Result<People> {
    let hash = users::hash_password(PASSWORD);
    let new = |username: String, display_name: String, role, team_id| NewUser {
        username,
        display_name,
        role,
        team_id,
        password_hash: hash.clone(),
    };
    let admin = users::create_user(
        db,
        &new("admin".into(), "陈静".into(), Role::Admin, None),
        None,
    )
    .await?;
    let actor = Some(admin.id);
    let finance = users::create_user(
        db,
        &new("finance".into(), "财务赵敏".into(), Role::Finance, None),
        actor,
    )
    .await?;
    let mut teams = Vec::new();
    for t in 0..TEAMS {
        let team = users::create_team(db, &format!("销售{}组", t + 1), actor).await?;
        let sup = users::create_user(
            db,
            &new(
                format!("supervisor{}", t + 1),
                format!("主管{}", t + 1),
                Role::Supervisor,
                Some(team),
            ),
            actor,
        )
        .await?;
        users::set_supervisor(db, team, sup.id, true, actor).await?;
        teams.push(team);
    }
    let mut ids = Vec::new();
    let mut team_reps = Vec::new();
    for i in 0..reps {
        let u = users::create_user(
            db,
            &new(
                format!("sales{:03}", i + 1),
                format!("销售{:03}", i + 1),
                Role::Sales,
                Some(teams[i % TEAMS]),
            ),
            actor,
        )
        .await?;
        if i % TEAMS == 0 {
            team_reps.push(u.id.0);
        }
        ids.push(u.id.0);
    }
    if ids.windows(2).any(|w| w[1] != w[0] + 1) {
        bail!("the sales reps' ids are not consecutive");
    }
    Ok(People {
        admin: admin.id.0,
        finance: finance.id.0,
        first_rep: ids[0],
        supervisor: "supervisor1".into(),
        team_reps,
    })
}

/// How the floor's columns are computed from row ids, for one backend.
struct Floor {
    backend: Backend,
    /// Customers 1..=active have the orders.
    active: i64,
    orders: i64,
    reps: i64,
    first_rep: i64,
    /// Epoch seconds of "now" when the floor was written.
    now: i64,
    /// Payments of each wholly paid order.
    whole_parts: i64,
}

impl Floor {
    /// A well-mixed non-negative number from an id expression.
    fn hash(e: &str) -> String {
        format!("((({e}) * 2654435761) % 4294967296)")
    }

    /// The sales rep who owns (or sold to) customer `c`.
    fn rep_of(&self, c: &str) -> String {
        format!(
            "({} + ({} / 7) % {})",
            self.first_rep,
            Floor::hash(c),
            self.reps
        )
    }

    /// A timestamp column from epoch seconds.
    fn ts(&self, epoch: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {epoch}, 'unixepoch')"),
            Backend::Postgres => format!("to_timestamp({epoch})"),
        }
    }

    /// A 'YYYY-MM-DD' calendar day (UTC) from epoch seconds.
    fn day(&self, epoch: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("strftime('%Y-%m-%d', {epoch}, 'unixepoch')"),
            Backend::Postgres => {
                format!("to_char(to_timestamp({epoch}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
            }
        }
    }

    /// The `n`th two-character word of `words`, `n` taken modulo their count.
    fn word(words: &str, n: &str) -> String {
        let count = words.chars().count() / 2;
        format!("substr('{words}', CAST(1 + 2 * (({n}) % {count}) AS INTEGER), 2)")
    }

    /// When order `j` was created: spread over the 400 days to 20 days ago.
    fn order_created(&self, j: &str) -> String {
        format!(
            "({} - 400 * {DAY} + (({j}) * 380 * {DAY}) / {})",
            self.now, self.orders
        )
    }

    /// `head SELECT body` over ids `lo..=hi` as `s.i`, where `body` names the series `{S}`.
    fn series(&self, lo: i64, hi: i64, head: &str, body: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) \
                 {head} SELECT {}",
                body.replace("{S}", "s")
            ),
            Backend::Postgres => format!(
                "{head} SELECT {}",
                body.replace(
                    "{S}",
                    &format!("generate_series(CAST({lo} AS BIGINT), CAST({hi} AS BIGINT)) AS s(i)")
                )
            ),
        }
    }
}

/// Runs `sql` on its own, returning the rows it changed.
async fn exec(db: &Db, sql: String) -> anyhow::Result<u64> {
    let n = db_run!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(pool)
        .await
        .with_context(|| format!("running {sql}"))?
        .rows_affected());
    Ok(n)
}

/// Runs the statement `make(lo, hi)` over `1..=n` in chunks, printing progress.
async fn chunked(
    db: &Db,
    what: &str,
    n: i64,
    make: impl Fn(i64, i64) -> String,
) -> anyhow::Result<u64> {
    let t = Instant::now();
    let mut rows = 0;
    let mut lo = 1;
    while lo <= n {
        let hi = (lo + CHUNK as i64 - 1).min(n);
        rows += exec(db, make(lo, hi)).await?;
        lo = hi + 1;
    }
    println!(
        "  {what:<22} {rows:>10} rows  {:>6.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(rows)
}

/// What the load wrote.
pub(super) struct Loaded {
    pub(super) secs: f64,
    pub(super) contacts: u64,
    pub(super) lines: u64,
    pub(super) instalments: u64,
    pub(super) returns: u64,
    pub(super) payments: u64,
}

/// Writes the customers, contacts with phones, events, products, orders with lines, payment
/// plans, returns and payments.
pub(super) async fn load(db: &Db, args: &CustomersArgs, p: &People) -> anyhow::Result<Loaded> {
    let t = Instant::now();
    let n = args.customers as i64;
    let m = args.orders as i64;
    // About 96% of orders are confirmed, 40% of those wholly paid in `whole_parts` payments
    // and 30% partly in one: choose the parts so that the payments come to about --payments.
    let confirmed = (m as f64 * 0.96).max(1.0);
    let whole_parts = ((args.payments as f64 / confirmed - 0.3) / 0.4)
        .ceil()
        .max(1.0) as i64;
    let f = Floor {
        backend: db.backend(),
        active: if m == 0 { 0 } else { (n * 7 / 10).max(1) },
        orders: m.max(1),
        reps: args.reps as i64,
        first_rep: p.first_rep,
        now: Utc::now().timestamp(),
        whole_parts,
    };
    let (now, admin, finance) = (f.now, p.admin, p.finance);
    let h = Floor::hash("s.i");
    chunked(db, "customers", n, |lo, hi| {
        let owned = "s.i % 20 <> 0";
        f.series(
            lo,
            hi,
            "INSERT INTO customers (id, kind, name, company_key, address, city, industry, grade, \
             owner_id, backup_owner_id, owned_since, status, created_by, created_at, updated_at)",
            &format!(
                "s.i, 'company', {city} || {brand} || {trade} || '有限公司', 'bench-' || CAST(s.i AS TEXT), \
                 {city} || '市中山路' || CAST(s.i % 999 + 1 AS TEXT) || '号', {city}, {industry}, \
                 CASE WHEN {h} % 10 = 0 THEN 'A' WHEN {h} % 10 <= 3 THEN 'B' WHEN {h} % 10 <= 8 THEN 'C' END, \
                 CASE WHEN {owned} THEN {rep} END, \
                 CASE WHEN s.i % 17 = 0 THEN {first} + ({h} / 7 + 1) % {reps} END, \
                 CASE WHEN {owned} THEN {owned_since} END, \
                 CASE WHEN s.i <= {active} THEN 'active' ELSE 'prospect' END, {admin}, {created}, {updated} \
                 FROM {{S}}",
                city = Floor::word(CITIES, &h),
                brand = Floor::word(BRANDS, &format!("{h} / 16")),
                trade = Floor::word(TRADES, &format!("{h} / 576")),
                industry = Floor::word(INDUSTRIES, &format!("{h} / 5760")),
                rep = f.rep_of("s.i"),
                first = f.first_rep,
                reps = f.reps,
                owned_since = f.ts(&format!("{now} - {h} % (365 * {DAY})")),
                active = f.active,
                created = f.ts(&format!("{now} - 730 * {DAY} + s.i * 365 * {DAY} / {n}")),
                updated = f.ts(&format!("{now} - (s.i * 40503) % (365 * {DAY})")),
            ),
        )
    })
    .await?;
    let contact_cols = "INSERT INTO customer_contacts (id, customer_id, name, title, email, \
                        is_primary, position, created_at, updated_at)";
    let at = f.ts(&format!("{now} - 365 * {DAY}"));
    let mut contacts = chunked(db, "contacts (primary)", n, |lo, hi| {
        f.series(
            lo,
            hi,
            contact_cols,
            &format!(
                "s.i, s.i, substr('{SURNAMES}', CAST(1 + {h} % 20 AS INTEGER), 1) || '经理', '采购经理', \
                 'buyer' || CAST(s.i AS TEXT) || '@example.com', TRUE, 0, {at}, {at} FROM {{S}}"
            ),
        )
    })
    .await?;
    // A second contact at every third customer: contact n + k at customer 3k.
    contacts += chunked(db, "contacts (second)", n / 3, |lo, hi| {
        f.series(
            lo,
            hi,
            contact_cols,
            &format!(
                "{n} + s.i, 3 * s.i, substr('{SURNAMES}', CAST(1 + s.i % 20 AS INTEGER), 1) || '总', '总经理', \
                 NULL, FALSE, 1, {at}, {at} FROM {{S}}"
            ),
        )
    })
    .await?;
    let phone_cols =
        "INSERT INTO customer_contact_phones (id, contact_id, customer_id, e164, raw, position)";
    chunked(db, "phones (primary)", n, |lo, hi| {
        f.series(
            lo,
            hi,
            phone_cols,
            "s.i, s.i, s.i, '+8613' || CAST(900000000 + s.i AS TEXT), \
             '13' || CAST(900000000 + s.i AS TEXT), 0 FROM {S}",
        )
    })
    .await?;
    chunked(db, "phones (second)", n / 3, |lo, hi| {
        f.series(
            lo,
            hi,
            phone_cols,
            &format!(
                "{n} + s.i, {n} + s.i, 3 * s.i, '+8615' || CAST(900000000 + s.i AS TEXT), \
                 '15' || CAST(900000000 + s.i AS TEXT), 0 FROM {{S}}"
            ),
        )
    })
    .await?;
    chunked(db, "customer events", n, |lo, hi| {
        f.series(
            lo,
            hi,
            "INSERT INTO customer_events (id, customer_id, at, action, to_user, actor_id)",
            &format!(
                "s.i, s.i, {}, 'create', CASE WHEN s.i % 20 <> 0 THEN {} END, {admin} FROM {{S}}",
                f.ts(&format!("{now} - 730 * {DAY} + s.i * 365 * {DAY} / {n}")),
                f.rep_of("s.i"),
            ),
        )
    })
    .await?;
    let products: Vec<String> = (1..=10)
        .map(|k| {
            format!(
                "({k}, 'P{k:03}', '产品{k}', '件', {}, {at}, {at})",
                5_000 * k
            )
        })
        .collect();
    exec(
        db,
        format!(
            "INSERT INTO products (id, code, name, unit, price_fen, created_at, updated_at) VALUES {}",
            products.join(",")
        ),
    )
    .await?;

    // Orders: order j of customer 1 + hash(j) % active, two lines (product, quantity from j).
    let line = |k: &str, q: &str| format!("(5000 * (1 + {k}) * (1 + {q}))");
    let (l1, l2) = (
        line("x.j % 10", "x.j % 5"),
        line("(x.j / 10) % 10", "(x.j / 50) % 3"),
    );
    let inner = format!(
        "(SELECT s.i AS j, 1 + {} % {} AS c FROM {{S}}) x",
        Floor::hash("s.i"),
        f.active.max(1)
    );
    let created = f.order_created("x.j");
    let lines = if m > 0 {
        chunked(db, "orders", m, |lo, hi| {
            f.series(
                lo,
                hi,
                "INSERT INTO orders (id, customer_id, owner_id, status, delivery_date, total_fen, \
                 confirmed_at, confirmed_by, created_by, created_at, updated_at)",
                &format!(
                    "x.j, x.c, {rep}, CASE x.j % 50 WHEN 7 THEN 'cancelled' WHEN 13 THEN 'draft' ELSE 'confirmed' END, \
                     {delivery}, {l1} + {l2}, CASE WHEN x.j % 50 NOT IN (7, 13) THEN {confirmed} END, \
                     CASE WHEN x.j % 50 NOT IN (7, 13) THEN {rep} END, {rep}, {at_}, {at_} FROM {inner}",
                    rep = f.rep_of("x.c"),
                    delivery = f.day(&format!("{created} + 7 * {DAY}")),
                    confirmed = f.ts(&format!("{created} + 3600")),
                    at_ = f.ts(&created),
                ),
            )
        })
        .await?;
        let line_cols = "INSERT INTO order_lines (id, order_id, product_id, position, quantity, \
                         list_price_fen, unit_price_fen, discount_fen, line_total_fen)";
        let mut lines = 0;
        for (pos, k, q, total) in [
            (0, "x.j % 10", "x.j % 5", &l1),
            (1, "(x.j / 10) % 10", "(x.j / 50) % 3", &l2),
        ] {
            lines += chunked(db, &format!("order lines ({})", pos + 1), m, |lo, hi| {
                f.series(
                    lo,
                    hi,
                    line_cols,
                    &format!(
                        "2 * x.j - {}, x.j, 1 + {k}, {pos}, 1 + {q}, 5000 * (1 + {k}), 5000 * (1 + {k}), 0, \
                         {total} FROM {inner}",
                        1 - pos
                    ),
                )
            })
            .await?;
        }
        lines
    } else {
        0
    };
    // Payment plans: even orders net-30 in one instalment, odd ones half at 30 days and the rest
    // at 60 (due dates over the last year, some not yet due).
    let o_created = f.order_created("o.id");
    let plan =
        "INSERT INTO payment_instalments (id, order_id, customer_id, seq, due_date, amount_fen)";
    let mut instalments = chunked(db, "instalments (1st)", m, |lo, hi| {
        format!(
            "{plan} SELECT 2 * o.id - 1, o.id, o.customer_id, 1, {}, \
             CASE WHEN o.id % 2 = 0 THEN o.total_fen ELSE o.total_fen / 2 END FROM orders o \
             WHERE o.id BETWEEN {lo} AND {hi} AND o.status = 'confirmed'",
            f.day(&format!("{o_created} + 30 * {DAY}"))
        )
    })
    .await?;
    instalments += chunked(db, "instalments (2nd)", m, |lo, hi| {
        format!(
            "{plan} SELECT 2 * o.id, o.id, o.customer_id, 2, {}, o.total_fen - o.total_fen / 2 \
             FROM orders o WHERE o.id BETWEEN {lo} AND {hi} AND o.status = 'confirmed' AND o.id % 2 = 1",
            f.day(&format!("{o_created} + 60 * {DAY}"))
        )
    })
    .await?;
    // A few returns (a quarter of the order) on partly paid orders.
    let returns = chunked(db, "returns", m, |lo, hi| {
        format!(
            "INSERT INTO returns (order_id, customer_id, amount_fen, reason, returned_at, recorded_by, created_at) \
             SELECT o.id, o.customer_id, o.total_fen / 4, '质量问题', {r}, {admin}, {r} FROM orders o \
             WHERE o.id BETWEEN {lo} AND {hi} AND o.status = 'confirmed' AND o.id % 70 = 5",
            r = f.ts(&format!("{o_created} + 20 * {DAY}"))
        )
    })
    .await?;
    // Payments: orders with id % 10 of 0–3 paid in full in `whole_parts` payments, 4–6 a third
    // in one, 7–9 not at all; cut at --payments.
    let rounds = (0..f.whole_parts)
        .map(|r| format!("SELECT {r} AS r"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let w = f.whole_parts;
    let paid = f.ts(&format!(
        "{o_created} + 3600 + (rr.r + 1) * (18 * {DAY} / {w})"
    ));
    let t_pay = Instant::now();
    let mut payments = 0u64;
    let mut lo = 1;
    while lo <= m && payments < args.payments as u64 {
        let hi = (lo + CHUNK as i64 - 1).min(m);
        let left = args.payments as u64 - payments;
        payments += exec(
            db,
            format!(
                "INSERT INTO payments (order_id, customer_id, amount_fen, paid_at, method, reference, \
                 recorded_by, created_at) \
                 SELECT o.id, o.customer_id, \
                 CASE WHEN o.id % 10 <= 3 THEN o.total_fen / {w} + CASE WHEN rr.r = {w} - 1 THEN o.total_fen % {w} ELSE 0 END \
                 ELSE o.total_fen / 3 END, {paid}, \
                 CASE o.id % 4 WHEN 0 THEN 'cash' WHEN 1 THEN 'cheque' ELSE 'bank_transfer' END, \
                 'BANK' || CAST(o.id AS TEXT), {finance}, {paid} \
                 FROM orders o JOIN ({rounds}) rr ON rr.r < CASE WHEN o.id % 10 <= 3 THEN {w} WHEN o.id % 10 <= 6 THEN 1 ELSE 0 END \
                 WHERE o.id BETWEEN {lo} AND {hi} AND o.status = 'confirmed' LIMIT {left}"
            ),
        )
        .await?;
        lo = hi + 1;
    }
    println!(
        "  {:<22} {payments:>10} rows  {:>6.1} s",
        "payments",
        t_pay.elapsed().as_secs_f64()
    );
    // The open part of each instalment, as the payment and return transactions keep it.
    let t_settle = Instant::now();
    leadline_store::sales::ledger::settle_all(db).await?;
    println!(
        "  {:<22} {:>10}       {:>6.1} s",
        "instalments settled",
        "",
        t_settle.elapsed().as_secs_f64()
    );
    if db.backend() == Backend::Postgres {
        // Later writes (sign-in aside, none) would otherwise collide with the explicit ids.
        for table in [
            "customers",
            "customer_contacts",
            "customer_contact_phones",
            "customer_events",
            "products",
            "orders",
            "order_lines",
            "payment_instalments",
        ] {
            exec(
                db,
                format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                ),
            )
            .await?;
        }
    }
    let t_an = Instant::now();
    match db {
        Db::Sqlite(pool) => {
            sqlx::query("ANALYZE").execute(pool).await?;
            sqlx::query("PRAGMA optimize").execute(pool).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
        Db::Postgres(pool) => {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
    }
    println!("  ANALYZE {:.1} s", t_an.elapsed().as_secs_f64());
    Ok(Loaded {
        secs: t.elapsed().as_secs_f64(),
        contacts,
        lines,
        instalments,
        returns,
        payments,
    })
}
