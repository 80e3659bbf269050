//! Daily reports and work plans on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`),
//! the clock injected: the report's figures equal the day's records and nothing of the day
//! before or after; who may read, submit, comment and decide; the evening reminder once a day
//! to those who have not handed theirs in.

use chrono::{DateTime, TimeZone, Utc};
use leadline_domain::calling_hours::DEFAULT_TZ;
use leadline_domain::{IntentLevel, LeadId, Role, TeamId, UserId, Viewer};

use super::daily::{self, ReportInput};
use super::plans::{self, Goals, PlanInput};
use crate::db::test_db::TestDb;
use crate::ownership::claim::tests::{pool_lead, user};
use crate::workday::{CallInput, record_call};
use crate::{Db, StoreError, db_run};

/// An hour of a day in Shanghai (the statistics days' zone).
pub(crate) fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    DEFAULT_TZ
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) struct Floor {
    pub t: TestDb,
    pub team: TeamId,
    pub admin: Viewer,
    pub sup: Viewer,
    pub other_sup: Viewer,
    pub agent: Viewer,
    pub rep: Viewer,
    pub other_agent: Viewer,
    pub finance: Viewer,
}

async fn reload(db: &Db, id: UserId) -> Viewer {
    let u = crate::auth::users::get_user(db, id).await.unwrap();
    crate::auth::users::viewer(db, &u).await.unwrap()
}

/// Team 一组 (supervisor, agent, sales rep) and team 二组 (its supervisor, an agent), an admin
/// and finance.
pub(crate) async fn floor() -> Floor {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let team = crate::auth::users::create_team(db, "一组", None)
        .await
        .unwrap();
    let team_b = crate::auth::users::create_team(db, "二组", None)
        .await
        .unwrap();
    let admin = user(db, "boss", Role::Admin, None).await;
    let sup = user(db, "sup", Role::Supervisor, Some(team)).await.user_id;
    let other = user(db, "sup_b", Role::Supervisor, Some(team_b))
        .await
        .user_id;
    crate::auth::users::set_supervisor(db, team, sup, true, None)
        .await
        .unwrap();
    crate::auth::users::set_supervisor(db, team_b, other, true, None)
        .await
        .unwrap();
    let (sup, other_sup) = (reload(db, sup).await, reload(db, other).await);
    let agent = user(db, "agent", Role::Agent, Some(team)).await;
    let rep = user(db, "rep", Role::Sales, Some(team)).await;
    let other_agent = user(db, "agent_b", Role::Agent, Some(team_b)).await;
    let finance = user(db, "cashier", Role::Finance, None).await;
    Floor {
        t,
        team,
        admin,
        sup,
        other_sup,
        agent,
        rep,
        other_agent,
        finance,
    }
}

pub(crate) async fn call(
    db: &Db,
    by: &Viewer,
    lead: LeadId,
    disposition: &str,
    intent: Option<IntentLevel>,
    at: DateTime<Utc>,
) {
    let input = CallInput {
        lead_id: lead,
        started_at: None,
        duration_s: 90,
        disposition: disposition.into(),
        intent,
        notes: String::new(),
        next_revisit_at: None,
        script_id: None,
        request_id: None,
    };
    record_call(db, by, input, at).await.unwrap();
}

async fn scalar(db: &Db, sql: &str, args: Vec<crate::db::sql::Arg>) -> i64 {
    crate::pipeline::tests::insert(db, sql, args).await
}

/// A customer that became `owner`'s at `at`.
pub(crate) async fn customer(db: &Db, owner: UserId, at: DateTime<Utc>) -> i64 {
    use crate::db::sql::Arg;
    scalar(
        db,
        "INSERT INTO customers (kind, name, owner_id, owned_since, created_at, updated_at) \
         VALUES ('company', 'C' || CAST($1 AS TEXT), $1, $2, $2, $2) RETURNING id",
        vec![Arg::I64(owner.0), Arg::Time(at)],
    )
    .await
}

/// A confirmed order of `total` 分 owned by `owner`, confirmed at `at`.
pub(crate) async fn order(
    db: &Db,
    owner: UserId,
    customer: i64,
    total: i64,
    at: DateTime<Utc>,
) -> i64 {
    use crate::db::sql::Arg;
    scalar(
        db,
        "INSERT INTO orders (customer_id, owner_id, status, total_fen, confirmed_at, created_at, updated_at) \
         VALUES ($1, $2, 'confirmed', $3, $4, $4, $4) RETURNING id",
        vec![
            Arg::I64(customer),
            Arg::I64(owner.0),
            Arg::I64(total),
            Arg::Time(at),
        ],
    )
    .await
}

pub(crate) async fn payment(
    db: &Db,
    order: i64,
    customer: i64,
    amount: i64,
    by: UserId,
    at: DateTime<Utc>,
) {
    use crate::db::sql::Arg;
    scalar(
        db,
        "INSERT INTO payments (order_id, customer_id, amount_fen, paid_at, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $4) RETURNING id",
        vec![
            Arg::I64(order),
            Arg::I64(customer),
            Arg::I64(amount),
            Arg::Time(at),
            Arg::I64(by.0),
        ],
    )
    .await;
}

async fn visit(db: &Db, customer: i64, by: UserId, at: DateTime<Utc>) {
    use crate::db::sql::Arg;
    scalar(
        db,
        "INSERT INTO visits (customer_id, user_id, status, at, price_view, created_at, updated_at) \
         VALUES ($1, $2, 'done', $3, '嫌贵', $3, $3) RETURNING id",
        vec![Arg::I64(customer), Arg::I64(by.0), Arg::Time(at)],
    )
    .await;
}

fn words(summary: &str) -> ReportInput {
    ReportInput {
        summary: summary.into(),
        problems: "客户嫌价格高".into(),
        market_info: "竞品降价一成".into(),
    }
}

#[tokio::test]
async fn the_reports_figures_are_the_days_records_and_not_the_neighbouring_days() {
    let f = floor().await;
    let db = &f.t.db;
    let a = &f.agent;
    let lead = pool_lead(db, a, 1, None).await;
    let lead2 = pool_lead(db, a, 2, None).await;
    // The day before (23:30) and the day after (00:10) do not count.
    call(db, a, lead, "no_answer", None, sh(2026, 12, 6, 23, 30)).await;
    call(
        db,
        a,
        lead,
        "connected",
        Some(IntentLevel::Interested),
        sh(2026, 12, 7, 9, 0),
    )
    .await;
    call(db, a, lead2, "no_answer", None, sh(2026, 12, 7, 10, 0)).await;
    call(
        db,
        a,
        lead2,
        "qualified",
        Some(IntentLevel::StrongDemand),
        sh(2026, 12, 7, 11, 0),
    )
    .await;
    call(
        db,
        a,
        lead,
        "call_back",
        Some(IntentLevel::Interested),
        sh(2026, 12, 7, 23, 50),
    )
    .await;
    call(db, a, lead, "connected", None, sh(2026, 12, 8, 0, 10)).await;
    let c = customer(db, a.user_id, sh(2026, 12, 7, 14, 0)).await;
    customer(db, a.user_id, sh(2026, 12, 8, 0, 0)).await;
    let o = order(db, a.user_id, c, 120_000, sh(2026, 12, 7, 15, 0)).await;
    order(db, a.user_id, c, 999, sh(2026, 12, 6, 15, 0)).await;
    payment(db, o, c, 50_000, f.finance.user_id, sh(2026, 12, 7, 16, 0)).await;
    payment(db, o, c, 7, f.finance.user_id, sh(2026, 12, 8, 9, 0)).await;
    visit(db, c, a.user_id, sh(2026, 12, 7, 13, 0)).await;
    visit(db, c, a.user_id, sh(2026, 12, 8, 13, 0)).await;

    let today = daily::today_of(db, sh(2026, 12, 7, 20, 0)).await.unwrap();
    let r = daily::get(db, a, a.user_id, "2026-12-07", today)
        .await
        .unwrap();
    let fig = &r.figures;
    assert_eq!(
        (
            fig.calls,
            fig.connected,
            fig.valid_conversations,
            fig.qualified
        ),
        (4, 3, 3, 1)
    );
    assert_eq!(fig.intent.get("interested"), Some(&2));
    assert_eq!(fig.intent.get("strong_demand"), Some(&1));
    assert_eq!(fig.intent.len(), 2);
    // Talk time counts the connected calls only.
    assert_eq!(fig.talk_s, 3 * 90);
    assert_eq!((fig.visits, fig.new_customers, fig.orders), (1, 1, 1));
    assert_eq!((fig.revenue_fen, fig.collections_fen), (120_000, 50_000));
    assert_eq!(r.status, "draft");
    assert!(r.may_submit);
    // The day's visit notes are offered as market information.
    assert_eq!(r.visit_market.len(), 1);
    assert_eq!(r.visit_market[0].price_view.as_deref(), Some("嫌贵"));
    // The counters equal a recount of the raw calls of the day.
    let raw: i64 = db_run!(db, |p| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM calls WHERE agent_id = $1 AND started_at >= $2 AND started_at < $3"
    )
    .bind(a.user_id)
    .bind(sh(2026, 12, 7, 0, 0))
    .bind(sh(2026, 12, 8, 0, 0))
    .fetch_one(p)
    .await
    .unwrap()
    });
    assert_eq!(raw, fig.calls);
}

#[tokio::test]
async fn the_person_submits_their_own_report_the_supervisor_comments_and_it_is_then_settled() {
    let f = floor().await;
    let db = &f.t.db;
    let (a, now) = (&f.agent, sh(2026, 12, 7, 18, 0));
    let today = daily::today_of(db, now).await.unwrap();
    // Not a future day, not an empty summary, not someone else's.
    let e = daily::submit(db, a, a.user_id, "2026-12-08", &words("x"), now).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    let e = daily::submit(db, a, a.user_id, "2026-12-07", &words("  "), now).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    let e = daily::submit(db, &f.sup, a.user_id, "2026-12-07", &words("x"), now).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = daily::submit(db, &f.rep, a.user_id, "2026-12-07", &words("x"), now).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");

    daily::submit(db, a, a.user_id, "2026-12-07", &words("打了四十通"), now)
        .await
        .unwrap();
    let r = daily::submit(db, a, a.user_id, "2026-12-07", &words("打了五十通"), now)
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.version, r.summary.as_str()),
        ("submitted", 2, "打了五十通")
    );
    // A past day may be handed in late.
    daily::submit(db, a, a.user_id, "2026-12-04", &words("补交"), now)
        .await
        .unwrap();

    // Readers: the person, their supervisor, an admin; not a colleague nor another team's
    // supervisor.
    for v in [&f.sup, &f.admin] {
        daily::get(db, v, a.user_id, "2026-12-07", today)
            .await
            .unwrap();
    }
    for v in [&f.rep, &f.other_sup, &f.other_agent] {
        let e = daily::get(db, v, a.user_id, "2026-12-07", today).await;
        assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    }
    // Commenters: the supervisor and an admin; not the person, not another team's supervisor.
    let e = daily::comment(db, a, a.user_id, "2026-12-07", "自评", now).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = daily::comment(db, &f.other_sup, a.user_id, "2026-12-07", "x", now).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    let e = daily::comment(db, &f.sup, a.user_id, "2026-12-05", "x", now).await;
    assert!(
        matches!(e, Err(StoreError::NotFound)),
        "no report that day: {e:?}"
    );
    let c = daily::comment(
        db,
        &f.sup,
        a.user_id,
        "2026-12-07",
        "明天多跟进意向客户",
        now,
    )
    .await
    .unwrap();
    assert_eq!(c.author_name, "sup");
    let r = daily::get(db, a, a.user_id, "2026-12-07", today)
        .await
        .unwrap();
    assert_eq!(r.comments.len(), 1);
    assert!(!r.may_submit);
    let e = daily::submit(db, a, a.user_id, "2026-12-07", &words("改"), now).await;
    assert!(
        matches!(e, Err(StoreError::Conflict("report_commented"))),
        "{e:?}"
    );
    let kinds: Vec<String> = db_run!(db, |p| sqlx::query_scalar(
        "SELECT kind FROM notifications WHERE user_id = $1"
    )
    .bind(a.user_id)
    .fetch_all(p)
    .await
    .unwrap());
    assert_eq!(kinds, vec![daily::REPORT_COMMENTED.to_string()]);

    // The team's day: who has not handed theirs in comes first.
    let list = daily::team_day(db, &f.sup, f.team, "2026-12-07")
        .await
        .unwrap();
    let shown: Vec<(&str, bool)> = list
        .iter()
        .map(|e| (e.user_name.as_str(), e.submitted()))
        .collect();
    assert_eq!(shown, vec![("rep", false), ("agent", true)]);
    for v in [&f.other_sup, a] {
        let e = daily::team_day(db, v, f.team, "2026-12-07").await;
        assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    }
}

#[tokio::test]
async fn the_reminder_goes_after_the_hour_once_to_each_who_has_not_submitted() {
    let f = floor().await;
    let db = &f.t.db;
    let a = &f.agent;
    daily::submit(
        db,
        a,
        a.user_id,
        "2026-12-07",
        &words("好"),
        sh(2026, 12, 7, 17, 0),
    )
    .await
    .unwrap();
    assert_eq!(daily::remind(db, sh(2026, 12, 7, 17, 59)).await.unwrap(), 0);
    // The rep and the other team's agent; not the one who submitted, not supervisors.
    assert_eq!(daily::remind(db, sh(2026, 12, 7, 18, 0)).await.unwrap(), 2);
    assert_eq!(daily::remind(db, sh(2026, 12, 7, 21, 0)).await.unwrap(), 0);
    // The next day is a new day.
    assert_eq!(daily::remind(db, sh(2026, 12, 8, 19, 0)).await.unwrap(), 3);
    // The hour is a setting.
    crate::workday::config::set_int_setting(db, f.admin.user_id, daily::REMINDER_HOUR_KEY, 9)
        .await
        .unwrap();
    assert_eq!(daily::remind(db, sh(2026, 12, 9, 9, 5)).await.unwrap(), 3);
    let to_rep: i64 = db_run!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2"
    )
    .bind(f.rep.user_id)
    .bind(daily::REPORT_DUE)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(to_rep, 3);
}

fn plan(period: &str, start: &str) -> PlanInput {
    PlanInput {
        period: period.into(),
        period_start: start.into(),
        items: "拜访星河科技\n回访上周意向客户".into(),
        goals: Goals {
            calls: 300,
            visits: 5,
            revenue_fen: 5_000_000,
            ..Goals::default()
        },
    }
}

#[tokio::test]
async fn a_plan_is_approved_or_rejected_by_the_supervisor_and_stays_in_the_history() {
    let f = floor().await;
    let db = &f.t.db;
    let (r, now) = (&f.rep, sh(2026, 12, 7, 9, 0));
    let e = plans::submit(db, r, &plan("week", "2026-12-08"), now).await;
    assert!(
        matches!(e, Err(StoreError::Invalid(_))),
        "not a Monday: {e:?}"
    );
    let e = plans::submit(db, r, &plan("month", "2026-12-02"), now).await;
    assert!(
        matches!(e, Err(StoreError::Invalid(_))),
        "not the 1st: {e:?}"
    );
    let week = plans::submit(db, r, &plan("week", "2026-12-07"), now)
        .await
        .unwrap();
    assert_eq!(week.status, "submitted");
    let month = plans::submit(db, r, &plan("month", "2026-12-01"), now)
        .await
        .unwrap();

    // The supervisor is told; the person may not decide their own; another team's may not.
    let told: i64 = db_run!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2"
    )
    .bind(f.sup.user_id)
    .bind(plans::PLAN_SUBMITTED)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(told, 2);
    let e = plans::decide(db, r, week.id, true, None, now).await;
    assert!(matches!(e, Err(StoreError::Forbidden)), "{e:?}");
    let e = plans::decide(db, &f.other_sup, week.id, true, None, now).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    let e = plans::decide(db, &f.sup, week.id, false, Some(" "), now).await;
    assert!(
        matches!(e, Err(StoreError::Invalid(_))),
        "a rejection needs a note: {e:?}"
    );

    let rejected = plans::decide(db, &f.sup, week.id, false, Some("拜访量太少"), now)
        .await
        .unwrap();
    assert_eq!(
        (rejected.status.as_str(), rejected.decision_note.as_deref()),
        ("rejected", Some("拜访量太少"))
    );
    let again = plans::submit(db, r, &plan("week", "2026-12-07"), now)
        .await
        .unwrap();
    assert_eq!(
        (again.id, again.status.as_str(), again.version),
        (week.id, "submitted", 2)
    );
    plans::decide(db, &f.sup, week.id, true, None, now)
        .await
        .unwrap();
    let e = plans::decide(db, &f.sup, week.id, false, Some("x"), now).await;
    assert!(
        matches!(e, Err(StoreError::Conflict("plan_decided"))),
        "{e:?}"
    );
    let e = plans::submit(db, r, &plan("week", "2026-12-07"), now).await;
    assert!(
        matches!(e, Err(StoreError::Conflict("plan_approved"))),
        "{e:?}"
    );

    let history = plans::list(db, r, Some(r.user_id), None).await.unwrap();
    assert_eq!(history.len(), 2);
    let waiting = plans::list(db, &f.sup, None, Some("submitted"))
        .await
        .unwrap();
    assert_eq!(
        waiting.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![month.id]
    );
    assert!(
        plans::list(db, &f.other_sup, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let e = plans::get(db, &f.agent, week.id).await;
    assert!(matches!(e, Err(StoreError::NotFound)), "{e:?}");
    let decided: i64 = db_run!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2"
    )
    .bind(r.user_id)
    .bind(plans::PLAN_DECIDED)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(decided, 2);
}

#[tokio::test]
async fn the_report_day_follows_the_organisations_time_zone() {
    let f = floor().await;
    let db = &f.t.db;
    let a = &f.agent;
    let lead = pool_lead(db, a, 9, None).await;
    // 2026-12-07 20:00 UTC: 12-08 04:00 in Shanghai, still 12-07 in UTC.
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 20, 0, 0).unwrap();
    call(db, a, lead, "connected", None, at).await;
    assert_eq!(
        calls_on(&f, at, "2026-12-08").await,
        ("2026-12-08".into(), 1, 1)
    );
    assert_eq!(
        calls_on(&f, at, "2026-12-07").await,
        ("2026-12-08".into(), 0, 0)
    );
    crate::call_stats::set_org_zone(db, f.admin.user_id, "UTC", at)
        .await
        .unwrap();
    assert_eq!(
        calls_on(&f, at, "2026-12-07").await,
        ("2026-12-07".into(), 1, 1)
    );
    assert_eq!(
        calls_on(&f, at, "2026-12-08").await,
        ("2026-12-07".into(), 0, 0)
    );
    // The reminder hour is counted from the zone's midnight: 18:00 UTC, not Shanghai.
    assert_eq!(
        daily::remind(db, Utc.with_ymd_and_hms(2026, 12, 9, 17, 0, 0).unwrap())
            .await
            .unwrap(),
        0
    );
    assert!(daily::reminder_due(
        Utc.with_ymd_and_hms(2026, 12, 9, 18, 0, 0).unwrap(),
        18,
        chrono_tz::UTC
    ));
}

/// (today, the report's calls, the team list's calls) of the agent on `date`, as of `at`.
async fn calls_on(f: &Floor, at: DateTime<Utc>, date: &str) -> (String, i64, i64) {
    let (db, a) = (&f.t.db, &f.agent);
    let today = daily::today_of(db, at).await.unwrap();
    let r = daily::get(db, a, a.user_id, date, today).await.unwrap();
    let team = daily::team_day(db, &f.sup, f.team, date).await.unwrap();
    let listed = team.iter().find(|e| e.user_id == a.user_id).unwrap().calls;
    (today.to_string(), r.figures.calls, listed)
}
