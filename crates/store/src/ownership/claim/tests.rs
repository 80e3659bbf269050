//! Claiming and releasing with the clock moved: the cool-down after a release, the daily cap
//! and its reset at the organisation's midnight, the cap on leads held, and the history a
//! release writes. Both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`).

use chrono::{Duration, TimeZone, Utc};
use leadline_domain::calling_hours::DEFAULT_TZ;
use leadline_domain::ownership::ClaimRefusal;
use leadline_domain::{LeadDraft, LeadId, Role, TeamId, UserId, Viewer};

use super::*;
use crate::auth::users::{NewUser, create_user};
use crate::db::sql::{Arg, execute};
use crate::db::test_db::TestDb;
use crate::leads::{self, CreateOptions};
use crate::ownership::events::history;
use crate::ownership::pools::{LimitInput, replace_limits};

pub(crate) async fn user(db: &Db, name: &str, role: Role, team: Option<TeamId>) -> Viewer {
    let u = create_user(
        db,
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            role,
            team_id: team,
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    crate::auth::users::viewer(db, &u).await.unwrap()
}

pub(crate) async fn pool_lead(db: &Db, by: &Viewer, n: u32, company: Option<&str>) -> LeadId {
    let draft = LeadDraft {
        name: format!("客户{n}"),
        phones: vec![format!("138{n:08}")],
        company: company.map(str::to_string),
        ..LeadDraft::default()
    };
    let opts = CreateOptions {
        pool: true,
        ..CreateOptions::default()
    };
    leads::create(db, by, &draft, &opts).await.unwrap().id
}

fn refusal(r: Result<()>) -> ClaimRefusal {
    match r {
        Err(StoreError::ClaimRefused(c)) => c,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// 10:00 in Shanghai on a given December day, as UTC.
fn sh(day: u32, hour: u32) -> DateTime<Utc> {
    DEFAULT_TZ
        .with_ymd_and_hms(2026, 12, day, hour, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_former_owner_waits_out_the_cool_down_an_hour_for_a_phone_and_twelve_for_a_company() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let phone = pool_lead(db, &admin, 1, None).await;
    let company = pool_lead(db, &admin, 2, Some("星河科技有限公司")).await;
    let t0 = sh(7, 10);
    for lead in [phone, company] {
        claim(db, &a, lead, t0).await.unwrap();
        release(db, &a, lead, "没有需求", None, t0 + Duration::minutes(5))
            .await
            .unwrap();
    }
    // Half an hour after the release: the former owner waits, anyone else may take it.
    let soon = t0 + Duration::minutes(35);
    assert_eq!(
        refusal(claim(db, &a, phone, soon).await),
        ClaimRefusal::Cooldown {
            until: t0 + Duration::minutes(65)
        }
    );
    let later = t0 + Duration::minutes(66);
    claim(db, &a, phone, later).await.unwrap();
    assert_eq!(
        refusal(claim(db, &a, company, later).await),
        ClaimRefusal::Cooldown {
            until: t0 + Duration::minutes(5) + Duration::hours(12)
        }
    );
    claim(db, &b, company, later).await.unwrap();
    assert_eq!(
        refusal(claim(db, &a, company, later).await),
        ClaimRefusal::AlreadyOwned
    );
}

#[tokio::test]
async fn the_daily_cap_counts_claims_since_the_organisations_midnight() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    replace_limits(
        db,
        admin.user_id,
        &[LimitInput {
            role: Some("agent".into()),
            team_id: None,
            per_day: Some(2),
            held_at_once: None,
            cooldown_phone_minutes: None,
            cooldown_company_minutes: None,
        }],
        sh(6, 9),
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(pool_lead(db, &admin, 10 + n, None).await);
    }
    // 23:00 the day before (Shanghai) counts for that day, not the next.
    claim(db, &a, ids[0], sh(6, 23)).await.unwrap();
    claim(db, &a, ids[1], sh(7, 8)).await.unwrap();
    claim(db, &a, ids[2], sh(7, 9)).await.unwrap();
    assert_eq!(
        refusal(claim(db, &a, ids[3], sh(7, 10)).await),
        ClaimRefusal::DailyLimit
    );
    // The refusal changed nothing.
    let lead = leads::get(db, &admin, ids[3]).await.unwrap();
    assert_eq!(lead.owner_id, None);
    claim(db, &a, ids[3], sh(8, 0)).await.unwrap();
    let left = crate::ownership::pools::limits_left(db, &a, sh(8, 1))
        .await
        .unwrap();
    assert_eq!((left.claims_today, left.claims_left), (1, Some(1)));
}

/// The organisation in New York: its midnight, not Shanghai's, starts a new day of claims, and
/// the pool statistics count each move on New York's day.
#[tokio::test]
async fn the_daily_cap_and_pool_statistics_follow_the_organisations_zone() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    crate::call_stats::set_org_zone(db, admin.user_id, "America/New_York", sh(1, 9))
        .await
        .unwrap();
    replace_limits(
        db,
        admin.user_id,
        &[LimitInput {
            role: Some("agent".into()),
            team_id: None,
            per_day: Some(1),
            held_at_once: None,
            cooldown_phone_minutes: None,
            cooldown_company_minutes: None,
        }],
        sh(6, 9),
    )
    .await
    .unwrap();
    let ny = |d: u32, h: u32| {
        chrono_tz::America::New_York
            .with_ymd_and_hms(2026, 12, d, h, 30, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(pool_lead(db, &admin, 20 + n, None).await);
    }
    // 23:30 on the 6th and 00:30 on the 7th in New York: both 7 December in Shanghai, but two
    // days of the organisation, so both claims pass the cap of one a day.
    claim(db, &a, ids[0], ny(6, 23)).await.unwrap();
    claim(db, &a, ids[1], ny(7, 0)).await.unwrap();
    assert_eq!(
        refusal(claim(db, &a, ids[2], ny(7, 1)).await),
        ClaimRefusal::DailyLimit
    );
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let stats = crate::ownership::pool_stats::stats(db, day("2026-12-06"), day("2026-12-07"))
        .await
        .unwrap();
    let claimed: Vec<(chrono::NaiveDate, i64)> = stats
        .by_day
        .iter()
        .filter(|d| d.flow.claimed > 0)
        .map(|d| (d.day, d.flow.claimed))
        .collect();
    assert_eq!(
        claimed,
        vec![(day("2026-12-06"), 1), (day("2026-12-07"), 1)]
    );
}

#[tokio::test]
async fn the_cap_on_leads_held_counts_every_lead_owned_and_a_team_row_wins_over_the_role() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    execute(
        db,
        "INSERT INTO teams (id, name, created_at) VALUES ($1, 'A组', $2)",
        vec![Arg::I64(7), Arg::Time(crate::now())],
    )
    .await
    .unwrap();
    let a = user(db, "agent_a", Role::Agent, Some(TeamId(7))).await;
    let limit = |role: Option<&str>, team: Option<i64>, held| LimitInput {
        role: role.map(str::to_string),
        team_id: team,
        per_day: None,
        held_at_once: Some(held),
        cooldown_phone_minutes: None,
        cooldown_company_minutes: None,
    };
    replace_limits(
        db,
        admin.user_id,
        &[limit(Some("agent"), None, 10), limit(None, Some(7), 2)],
        sh(6, 9),
    )
    .await
    .unwrap();
    // One lead of her own, entered by hand, counts as held.
    let draft = LeadDraft {
        name: "自己的".into(),
        phones: vec!["13900000001".into()],
        ..LeadDraft::default()
    };
    leads::create(db, &a, &draft, &CreateOptions::default())
        .await
        .unwrap();
    let first = pool_lead(db, &admin, 20, None).await;
    let second = pool_lead(db, &admin, 21, None).await;
    claim(db, &a, first, sh(7, 9)).await.unwrap();
    assert_eq!(
        refusal(claim(db, &a, second, sh(7, 9)).await),
        ClaimRefusal::HeldLimit
    );
    release(db, &a, first, "客户已转给同事", None, sh(7, 10))
        .await
        .unwrap();
    claim(db, &a, second, sh(7, 11)).await.unwrap();
}

#[tokio::test]
async fn a_release_returns_the_lead_to_its_pool_and_the_history_shows_both_moves() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let lead = pool_lead(db, &admin, 30, None).await;
    claim(db, &a, lead, sh(7, 9)).await.unwrap();
    let owned = leads::get(db, &a, lead).await.unwrap();
    assert_eq!(owned.owner_id, Some(a.user_id));
    // The seeded rule: 15 days without a valid follow-up.
    assert_eq!(
        owned.ownership.reclaim_at,
        Some(sh(7, 9) + Duration::days(15))
    );
    // Someone else may not see it, let alone release it; a reason is required.
    assert!(matches!(
        release(db, &b, lead, "x", None, sh(7, 10)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        release(db, &a, lead, "  ", None, sh(7, 10)).await,
        Err(StoreError::Invalid(_))
    ));
    release(db, &a, lead, "客户要求换人", None, sh(7, 10))
        .await
        .unwrap();
    let back = leads::get(db, &b, lead).await.unwrap();
    assert_eq!(back.owner_id, None);
    assert_eq!(back.ownership.reclaim_at, None);
    assert_eq!(back.ownership.owned_since, None);
    assert!(matches!(
        release(db, &a, lead, "again", None, sh(7, 11)).await,
        Err(StoreError::Conflict("not_owned"))
    ));
    let h = history(db, lead).await.unwrap();
    type Move<'a> = (&'a str, Option<UserId>, Option<UserId>, Option<&'a str>);
    let moves: Vec<Move> = h
        .iter()
        .filter(|e| e.action != "create")
        .map(|e| {
            (
                e.action.as_str(),
                e.from_user,
                e.to_user,
                e.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("claim", None, Some(a.user_id), None),
            ("release", Some(a.user_id), None, Some("客户要求换人")),
        ]
    );
    assert_eq!(h.last().unwrap().from_name.as_deref(), Some("agent_a"));
}

#[test]
fn the_day_starts_at_midnight_in_the_organisations_zone() {
    assert_eq!(
        day_start(sh(7, 10), DEFAULT_TZ),
        Utc.with_ymd_and_hms(2026, 12, 6, 16, 0, 0).unwrap()
    );
    assert_eq!(
        day_start(sh(7, 0), DEFAULT_TZ),
        day_start(sh(7, 23), DEFAULT_TZ)
    );
    // 10:00 on 7 December in Shanghai is 21:00 on the 6th in New York (UTC-5).
    assert_eq!(
        day_start(sh(7, 10), chrono_tz::America::New_York),
        Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap()
    );
}

/// 撞单 on claim: a pool contact of a company a colleague owns is not taken; one case is opened
/// (not one per attempt) naming both people, and the colleague may take it.
#[tokio::test]
async fn a_claim_of_a_colleagues_customer_is_refused_and_opens_one_case() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    // Two contacts of one company in the pool; a takes the first.
    let owned = pool_lead(db, &admin, 1, Some("上海申达贸易有限公司")).await;
    let contact = pool_lead(db, &admin, 2, Some("申达贸易有限公司")).await;
    let t0 = sh(7, 10);
    claim(db, &a, owned, t0).await.unwrap();
    for minute in [1, 2] {
        let r = claim(db, &b, contact, t0 + Duration::minutes(minute)).await;
        assert_eq!(refusal(r), ClaimRefusal::AlreadyOwned);
    }
    let cases: Vec<(i64, i64, String, i64, i64)> = crate::db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT lead_id, existing_lead_id, match_kind, existing_owner_id, new_owner_id FROM collisions WHERE status = 'open'",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    });
    assert_eq!(
        cases,
        [(
            contact.0,
            owned.0,
            "company".to_string(),
            a.user_id.0,
            b.user_id.0
        )]
    );
    let still: Option<i64> = crate::db_run!(db, |pool| sqlx::query_scalar(
        "SELECT owner_id FROM leads WHERE id = $1"
    )
    .bind(contact)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(still, None, "b did not get it");
    claim(db, &a, contact, t0 + Duration::minutes(3))
        .await
        .unwrap();
}

/// 老客户带来的新客户仍属于原销售人员, on claim: a pool lead naming a referrer goes to the
/// referrer's owner whoever claims it; the claimant is told who has it and keeps their day's
/// claims; the owner claiming it gets it as a referral; a referrer in the pool changes nothing.
#[tokio::test]
async fn a_claimed_referral_goes_to_the_referrers_owner_and_costs_the_claimant_nothing() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    replace_limits(
        db,
        admin.user_id,
        &[LimitInput {
            role: Some("agent".into()),
            team_id: None,
            per_day: Some(1),
            held_at_once: None,
            cooldown_phone_minutes: None,
            cooldown_company_minutes: None,
        }],
        sh(6, 9),
    )
    .await
    .unwrap();
    // Two old customers in the pool, each with a new customer they referred (also in the
    // pool, since the referrers had no owner when they were entered).
    let old = pool_lead(db, &admin, 40, None).await;
    let unowned_old = pool_lead(db, &admin, 41, None).await;
    let admin_ref = &admin;
    let referred = |n: u32, by: LeadId| {
        let draft = LeadDraft {
            name: format!("介绍来的{n}"),
            phones: vec![format!("137{n:08}")],
            ..LeadDraft::default()
        };
        let opts = CreateOptions {
            pool: true,
            referred_by: Some(by),
            ..CreateOptions::default()
        };
        async move {
            leads::create(db, admin_ref, &draft, &opts)
                .await
                .unwrap()
                .id
        }
    };
    let new1 = referred(1, old).await;
    let new2 = referred(2, old).await;
    let new3 = referred(3, unowned_old).await;
    // Yesterday a claimed the old customer.
    claim(db, &a, old, sh(6, 10)).await.unwrap();
    let t0 = sh(7, 10);
    match claim(db, &b, new1, t0).await {
        Err(StoreError::ClaimReferred { owner, owner_name }) => {
            assert_eq!((owner, owner_name.as_str()), (a.user_id, "agent_a"));
        }
        other => panic!("expected the referral to go to agent_a, got {other:?}"),
    }
    let now_a = leads::get(db, &a, new1).await.unwrap();
    assert_eq!(now_a.owner_id, Some(a.user_id));
    assert_eq!(
        now_a.ownership.reclaim_at,
        Some(t0 + Duration::days(15)),
        "the countdown starts as for any owned lead"
    );
    let h = history(db, new1).await.unwrap();
    let last = h.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.to_user, last.actor_id),
        ("referral", Some(a.user_id), Some(b.user_id))
    );
    // b's one claim of the day is still there: the referral was not b's claim.
    claim(db, &b, new3, t0).await.unwrap();
    assert_eq!(
        leads::get(db, &b, new3).await.unwrap().owner_id,
        Some(b.user_id),
        "a referrer in the pool changes nothing"
    );
    // a, whose claim of the day is used, still gets the customer their customer referred.
    claim(db, &a, new2, t0).await.unwrap();
    assert_eq!(
        leads::get(db, &a, new2).await.unwrap().owner_id,
        Some(a.user_id)
    );
    assert_eq!(
        history(db, new2).await.unwrap().last().unwrap().action,
        "referral"
    );
    let left = crate::ownership::pools::limits_left(db, &a, t0)
        .await
        .unwrap();
    assert_eq!(left.claims_today, 0, "referrals are not claims");
}
