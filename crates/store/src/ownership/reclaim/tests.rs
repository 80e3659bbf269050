//! The reclaim rules, protection and the pass, on whichever backend the tests run on, with the
//! clock moved (never slept).

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadline_domain::ownership::{ReclaimBasis, RecordKind, RuleScope};
use leadline_domain::{IntentLevel, LeadId, Role, TeamId, UserId, Viewer};

use super::protection::{self, Protect};
use super::*;
use crate::auth::users::{self, NewUser};
use crate::db::test_db::TestDb;
use crate::ownership::events;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

async fn user(db: &Db, name: &str, role: Role, team: Option<TeamId>) -> UserId {
    users::create_user(
        db,
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            role,
            team_id: team,
            password_hash: "unused".into(),
        },
        None,
    )
    .await
    .unwrap()
    .id
}

/// A lead owned by `owner` since `since`, with its countdown computed.
async fn owned_lead(
    db: &Db,
    owner: UserId,
    since: DateTime<Utc>,
    company: Option<&str>,
    intent: Option<IntentLevel>,
    source: Option<&str>,
) -> LeadId {
    let args = vec![
        Arg::I64(owner.0),
        Arg::Time(since),
        Arg::OptText(company.map(str::to_string)),
        Arg::OptText(intent.map(|i| i.code().to_string())),
        Arg::OptText(source.map(str::to_string)),
    ];
    let rules = countdown::rules(db).await.unwrap();
    let id = in_tx!(db, |tx| insert_owned(tx, args, rules)).unwrap();
    LeadId(id)
}

async fn insert_owned(
    tx: &mut impl Tx,
    args: Vec<Arg>,
    rules: Vec<leadline_domain::ownership::ReclaimRule>,
) -> Result<i64> {
    let id = tx
        .fetch_one(
            "INSERT INTO leads (name, status, owner_id, owned_since, company, intent, source, created_at, updated_at) \
             VALUES ('客户', 'new', $1, $2, $3, $4, $5, $2, $2) RETURNING id",
            &args,
        )
        .await?
        .i64(0)?;
    countdown::refresh(tx, &rules, LeadId(id)).await?;
    Ok(id)
}

/// A valid follow-up at `at`, written the way the call path does it.
async fn follow_up(db: &Db, lead: LeadId, at: DateTime<Utc>) {
    let rules = countdown::rules(db).await.unwrap();
    in_tx!(db, |tx| follow_up_body(tx, rules, lead, at)).unwrap();
}

async fn follow_up_body(
    tx: &mut impl Tx,
    rules: Vec<leadline_domain::ownership::ReclaimRule>,
    lead: LeadId,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE leads SET last_valid_at = $2 WHERE id = $1",
        &[Arg::I64(lead.0), Arg::Time(at)],
    )
    .await?;
    countdown::refresh(tx, &rules, lead).await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct State {
    owner_id: Option<i64>,
    reclaim_at: Option<DateTime<Utc>>,
    warned_days: Option<i64>,
}

async fn state(db: &Db, lead: LeadId) -> State {
    db_run!(db, |pool| sqlx::query_as(
        "SELECT owner_id, reclaim_at, warned_days FROM leads WHERE id = $1"
    )
    .bind(lead)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// The notifications of `user`: (kind, lead, days in the payload).
async fn notes(db: &Db, user: UserId) -> Vec<(String, i64, Option<i64>)> {
    let rows: Vec<(String, i64, sqlx::types::Json<serde_json::Value>)> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT kind, lead_id, payload FROM notifications WHERE user_id = $1 ORDER BY id",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .unwrap()
    });
    rows.into_iter()
        .map(|(k, l, p)| (k, l, p.0.get("days").and_then(|d| d.as_i64())))
        .collect()
}

fn admin_viewer(id: UserId) -> Viewer {
    Viewer {
        user_id: id,
        role: Role::Admin,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    }
}

/// Out of the box: 15 days from the claim, warned at 3 days and at 1 day (each once), then
/// reclaimed with the event naming the rule; the former owner is told each time.
#[tokio::test]
async fn countdown_warnings_then_reclaim() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let agent = user(db, "agent", Role::Agent, None).await;
    let lead = owned_lead(db, agent, t0(), None, None, None).await;
    let seeded = list_rules(db).await.unwrap()[0].id;
    assert_eq!(
        state(db, lead).await.reclaim_at,
        Some(t0() + Duration::days(15))
    );

    let at = |d: i64, h: i64| t0() + Duration::days(d) + Duration::hours(h);
    let report = run_pass(db, at(11, 23), BATCH).await.unwrap();
    assert_eq!(report, PassReport::default(), "more than 3 days left");
    assert_eq!(run_pass(db, at(12, 1), BATCH).await.unwrap().warned, 1);
    assert_eq!(state(db, lead).await.warned_days, Some(3));
    assert_eq!(
        run_pass(db, at(13, 0), BATCH).await.unwrap().warned,
        0,
        "once"
    );
    assert_eq!(run_pass(db, at(14, 1), BATCH).await.unwrap().warned, 1);
    assert_eq!(
        run_pass(db, at(14, 2), BATCH).await.unwrap().warned,
        0,
        "once"
    );
    assert_eq!(state(db, lead).await.owner_id, Some(agent.0));

    let report = run_pass(db, at(15, 0), BATCH).await.unwrap();
    assert_eq!(report.reclaimed, 1);
    let s = state(db, lead).await;
    assert_eq!(
        (s.owner_id, s.reclaim_at, s.warned_days),
        (None, None, None)
    );
    let history = events::history(db, lead).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.action, "reclaim");
    assert_eq!(last.rule_id, Some(seeded));
    assert_eq!(last.from_user, Some(agent));
    assert_eq!(last.actor_id, None);
    assert_eq!(
        notes(db, agent).await,
        vec![
            ("reclaim_warning".into(), lead.0, Some(3)),
            ("reclaim_warning".into(), lead.0, Some(1)),
            ("reclaimed".into(), lead.0, None),
        ]
    );
    let audit = crate::audit::history(db, "lead", lead.0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "reclaim"));
    assert_eq!(
        run_pass(db, at(16, 0), BATCH).await.unwrap(),
        PassReport::default()
    );
}

/// A valid follow-up restarts the countdown and forgets the warnings sent for the old one.
#[tokio::test]
async fn a_valid_follow_up_resets_the_countdown() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let agent = user(db, "agent", Role::Agent, None).await;
    let lead = owned_lead(db, agent, t0(), None, None, None).await;
    run_pass(db, t0() + Duration::days(13), BATCH)
        .await
        .unwrap();
    assert_eq!(state(db, lead).await.warned_days, Some(3));
    follow_up(db, lead, t0() + Duration::days(13)).await;
    let s = state(db, lead).await;
    assert_eq!(s.reclaim_at, Some(t0() + Duration::days(28)));
    assert_eq!(s.warned_days, None);
    let report = run_pass(db, t0() + Duration::days(15), BATCH)
        .await
        .unwrap();
    assert_eq!(report, PassReport::default());
    assert_eq!(state(db, lead).await.owner_id, Some(agent.0));
    assert_eq!(
        run_pass(db, t0() + Duration::days(26), BATCH)
            .await
            .unwrap()
            .warned,
        1
    );
}

/// A protected record stays until its protection ends, a deal keeps it for good, and the cap
/// of protected records per owner holds.
#[tokio::test]
async fn protected_and_deal_records_are_never_reclaimed() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "admin", Role::Admin, None).await;
    let agent = user(db, "agent", Role::Agent, None).await;
    let protected = owned_lead(db, agent, t0(), None, None, None).await;
    let deal = owned_lead(db, agent, t0(), None, None, None).await;
    let third = owned_lead(db, agent, t0(), None, None, None).await;
    let viewer = admin_viewer(admin);
    let until = t0() + Duration::days(60);
    let got = protection::protect(db, &viewer, protected, until, Some("大单跟进".into()), t0())
        .await
        .unwrap();
    assert_eq!(
        got,
        Protect::Done {
            until,
            reclaim_at: Some(until)
        }
    );
    let rules = countdown::rules(db).await.unwrap();
    in_tx!(db, |tx| async move {
        protection::mark_deal(tx, &rules, deal, t0()).await
    })
    .unwrap();
    assert_eq!(state(db, deal).await.reclaim_at, None);

    // The cap: one protected record per owner.
    protection::set_cap(db, admin, 1, t0()).await.unwrap();
    let refused = protection::protect(db, &viewer, third, until, None, t0())
        .await
        .unwrap();
    assert_eq!(refused, Protect::CapReached { cap: 1 });
    assert_eq!(
        state(db, third).await.reclaim_at,
        Some(t0() + Duration::days(15))
    );

    let report = run_pass(db, t0() + Duration::days(59), BATCH)
        .await
        .unwrap();
    assert_eq!(report.reclaimed, 1, "only the third record");
    assert_eq!(state(db, protected).await.owner_id, Some(agent.0));
    assert_eq!(state(db, deal).await.owner_id, Some(agent.0));
    assert_eq!(state(db, third).await.owner_id, None);
    assert_eq!(
        run_pass(db, t0() + Duration::days(3000), BATCH)
            .await
            .unwrap()
            .reclaimed,
        1
    );
    assert_eq!(
        state(db, deal).await.owner_id,
        Some(agent.0),
        "a deal, for good"
    );

    // Removing a protection brings the countdown back.
    let again = owned_lead(db, agent, t0(), None, None, None).await;
    protection::set_cap(db, admin, 20, t0()).await.unwrap();
    protection::protect(db, &viewer, again, until, None, t0())
        .await
        .unwrap();
    let back = protection::unprotect(db, &viewer, again, t0())
        .await
        .unwrap();
    assert_eq!(back, Some(t0() + Duration::days(15)));
}

/// Protection is for a supervisor of the owner's team or an admin; others cannot, and a record
/// the caller cannot see is not found.
#[tokio::test]
async fn only_the_owners_supervisor_protects() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let team = users::create_team(db, "一组", None).await.unwrap();
    let other = users::create_team(db, "二组", None).await.unwrap();
    let agent = user(db, "agent", Role::Agent, Some(team)).await;
    let sup = user(db, "sup", Role::Supervisor, Some(team)).await;
    let outsider = user(db, "sup2", Role::Supervisor, Some(other)).await;
    let lead = owned_lead(db, agent, t0(), None, None, None).await;
    let until = t0() + Duration::days(30);
    let as_viewer = |id, role, teams: Vec<TeamId>| Viewer {
        user_id: id,
        role,
        supervised_teams: teams,
        pools: Vec::new(),
    };
    let agent_try = protection::protect(
        db,
        &as_viewer(agent, Role::Agent, vec![]),
        lead,
        until,
        None,
        t0(),
    )
    .await;
    assert!(
        matches!(agent_try, Err(StoreError::Forbidden)),
        "{agent_try:?}"
    );
    let outsider_try = protection::protect(
        db,
        &as_viewer(outsider, Role::Supervisor, vec![other]),
        lead,
        until,
        None,
        t0(),
    )
    .await;
    assert!(
        matches!(outsider_try, Err(StoreError::NotFound)),
        "{outsider_try:?}"
    );
    let ok = protection::protect(
        db,
        &as_viewer(sup, Role::Supervisor, vec![team]),
        lead,
        until,
        None,
        t0(),
    )
    .await;
    assert!(matches!(ok, Ok(Protect::Done { .. })), "{ok:?}");
}

/// A rule per kind, intent and source picks the days; changing and retiring a rule recounts the
/// records it touches.
#[tokio::test]
async fn a_rule_per_kind_intent_and_source() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "admin", Role::Admin, None).await;
    let agent = user(db, "agent", Role::Agent, None).await;
    let days = |d: i64| Some(t0() + Duration::days(d));
    let rule = |days: u16, scope: RuleScope| RuleInput {
        basis: ReclaimBasis::NoValidFollowUp,
        days,
        scope,
    };
    let company = create_rule(
        db,
        admin,
        rule(
            30,
            RuleScope {
                kind: Some(RecordKind::Company),
                ..RuleScope::default()
            },
        ),
        t0(),
    )
    .await
    .unwrap();
    create_rule(
        db,
        admin,
        rule(
            20,
            RuleScope {
                intent: Some(IntentLevel::Interested),
                ..RuleScope::default()
            },
        ),
        t0(),
    )
    .await
    .unwrap();
    create_rule(
        db,
        admin,
        rule(
            45,
            RuleScope {
                source: Some(" 展会 ".into()),
                ..RuleScope::default()
            },
        ),
        t0(),
    )
    .await
    .unwrap();
    let phone = owned_lead(db, agent, t0(), None, None, None).await;
    let firm = owned_lead(db, agent, t0(), Some("上海某某有限公司"), None, None).await;
    let keen = owned_lead(db, agent, t0(), None, Some(IntentLevel::Interested), None).await;
    let fair = owned_lead(db, agent, t0(), None, None, Some("展会")).await;
    assert_eq!(state(db, phone).await.reclaim_at, days(15));
    assert_eq!(state(db, firm).await.reclaim_at, days(30));
    assert_eq!(state(db, keen).await.reclaim_at, days(20));
    assert_eq!(state(db, fair).await.reclaim_at, days(45));

    // Companies now get 60 days: only their countdowns move.
    let (before, after) = update_rule(
        db,
        admin,
        company.id,
        rule(
            60,
            RuleScope {
                kind: Some(RecordKind::Company),
                ..RuleScope::default()
            },
        ),
        t0(),
    )
    .await
    .unwrap();
    let looked = recount(db, &[before.scope, after.scope]).await.unwrap();
    assert_eq!(looked, 1, "only the company record is looked at");
    assert_eq!(state(db, firm).await.reclaim_at, days(60));
    let gone = delete_rule(db, admin, company.id, t0()).await.unwrap();
    recount(db, &[gone.scope]).await.unwrap();
    assert_eq!(state(db, firm).await.reclaim_at, days(15));
    assert_eq!(list_rules(db).await.unwrap().len(), 3);

    let refused = create_rule(db, admin, rule(0, RuleScope::default()), t0()).await;
    assert!(matches!(refused, Err(StoreError::Invalid(_))));
    let audit = crate::audit::history(db, "reclaim_rule", company.id)
        .await
        .unwrap();
    assert_eq!(audit.len(), 3, "create, update, delete");
}

#[test]
fn warn_days_parse() {
    assert_eq!(parse_warn_days("3,1"), Some(vec![3, 1]));
    assert_eq!(parse_warn_days("1, 3，7"), Some(vec![7, 3, 1]));
    assert_eq!(parse_warn_days(""), Some(vec![]));
    assert_eq!(parse_warn_days("0"), None);
    assert_eq!(parse_warn_days("x"), None);
    assert_eq!(parse_warn_days("1,2,3,4,5,6"), None);
}

/// Two servers (two database handles) running the pass at once reclaim each record once: one
/// event and one notification each.
#[tokio::test]
async fn two_servers_reclaim_each_record_once() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let other = match db {
        Db::Sqlite(pool) => {
            let path = pool
                .connect_options()
                .get_filename()
                .to_string_lossy()
                .to_string();
            Db::connect(&path).await.unwrap()
        }
        Db::Postgres(pool) => Db::connect_postgres((*pool.connect_options()).clone())
            .await
            .unwrap(),
    };
    let agent = user(db, "agent", Role::Agent, None).await;
    let mut leads = Vec::new();
    for i in 0..120 {
        leads.push(owned_lead(db, agent, t0() + Duration::minutes(i), None, None, None).await);
    }
    let at = t0() + Duration::days(16);
    let (a, b) = tokio::join!(run_pass(db, at, 7), run_pass(&other, at, 11));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.reclaimed + b.reclaimed, 120, "{a:?} {b:?}");
    let counts: Vec<(i64, i64)> = db_run!(db, |pool| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM ownership_events WHERE action = 'reclaim'), \
         (SELECT COUNT(*) FROM notifications WHERE kind = 'reclaimed')"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(counts, vec![(120, 120)]);
    for lead in leads {
        assert_eq!(state(db, lead).await.owner_id, None);
    }
}

/// On SQLite the pass seeks the due records and each warning band through the countdown index
/// (`leads_reclaim`) instead of walking the owned leads.
#[tokio::test]
async fn the_pass_reads_through_the_countdown_index() {
    let t = TestDb::sqlite().await.unwrap();
    let Db::Sqlite(pool) = &t.db else {
        unreachable!()
    };
    use crate::db::sqlite_writer::{self, time_text};
    use rusqlite::types::Value;
    let at = Value::Text(time_text(t0()));
    for (sql, args) in [
        (pass::due_sql(BATCH), vec![at.clone()]),
        (
            pass::band_sql(BATCH),
            vec![at.clone(), at.clone(), Value::Integer(3)],
        ),
    ] {
        let plan = sqlite_writer::query_plan(pool, &sql, args).await.unwrap();
        assert!(
            plan.iter().any(|s| s.contains("leads_reclaim")),
            "{sql}: {plan:?}"
        );
        assert!(
            !plan.iter().any(|s| s.starts_with("SCAN leads")),
            "{plan:?}"
        );
    }
}
