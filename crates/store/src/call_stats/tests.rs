//! The slots equal a recompute from the raw calls after many agents record at once, after a
//! bulk insert and after a rebuild; reports follow the organisation's zone. Both backends
//! (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use leadline_domain::call_stats::{DateRange, Grouping};
use leadline_domain::{IntentLevel, LeadDraft, LeadId, Role, Viewer};

use super::rebuild::{raw_days, raw_slots, rebuild, stored_days, stored_slots};
use super::report::{GroupKey, ReportQuery, Source, calls_report};
use super::*;
use crate::auth::users::create_team;
use crate::db::test_db::TestDb;
use crate::leads::{self, CreateOptions};
use crate::ownership::claim::tests::user;
use crate::workday::calls::{NewCall, insert_many};
use crate::workday::{CallInput, record_call};

const DISPOSITIONS: [&str; 5] = ["connected", "no_answer", "qualified", "busy", "call_back"];

async fn own_lead(db: &Db, by: &Viewer, n: usize) -> LeadId {
    let draft = LeadDraft {
        name: format!("客户{n}"),
        phones: vec![format!("139{n:08}")],
        ..LeadDraft::default()
    };
    leads::create(db, by, &draft, &CreateOptions::default())
        .await
        .unwrap()
        .id
}

fn input(lead: LeadId, i: usize, at: DateTime<Utc>) -> CallInput {
    CallInput {
        lead_id: lead,
        started_at: Some(at),
        duration_s: 30 + 17 * i as i64,
        disposition: DISPOSITIONS[i % DISPOSITIONS.len()].into(),
        intent: IntentLevel::ALL.get(i % 6).copied(),
        notes: String::new(),
        next_revisit_at: None,
        script_id: None,
        request_id: None,
    }
}

/// Both rollups (slots and days in the organisation's zone) equal a recompute from the calls.
async fn assert_rollups_equal_the_raw_calls(db: &Db) {
    assert_eq!(
        stored_slots(db).await.unwrap(),
        raw_slots(db).await.unwrap()
    );
    let zone = org_zone(db).await.unwrap();
    assert_eq!(days_zone(db).await.unwrap(), Some(zone));
    assert_eq!(
        stored_days(db).await.unwrap(),
        raw_days(db, zone).await.unwrap()
    );
}

#[tokio::test]
async fn slots_equal_the_raw_calls_after_a_hundred_agents_record_at_once_and_after_a_rebuild() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let team = create_team(db, "一组", None).await.unwrap();
    let mut agents = Vec::new();
    for n in 0..100 {
        let a = user(db, &format!("agent{n}"), Role::Agent, Some(team)).await;
        let lead = own_lead(db, &a, n).await;
        agents.push((a, lead));
    }
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap();
    let mut tasks = Vec::new();
    for (n, (agent, lead)) in agents.iter().cloned().enumerate() {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..4 {
                // Spread over slots, days and agents: some calls share a slot, some do not.
                let at = now - Duration::minutes((n * 7 + i * 11) as i64);
                record_call(&db, &agent, input(lead, n + i, at), now)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let raw = raw_slots(db).await.unwrap();
    assert_eq!(raw.iter().map(|r| r.2.calls).sum::<i64>(), 400);
    assert_rollups_equal_the_raw_calls(db).await;

    // History written in bulk is counted too.
    let history: Vec<NewCall> = (0..50)
        .map(|i| NewCall {
            lead_id: agents[i].1,
            agent_id: agents[i].0.user_id,
            started_at: now - Duration::days(40) + Duration::minutes(i as i64 * 13),
            duration_s: 90,
            disposition: DISPOSITIONS[i % 5].into(),
            intent: Some("interested".into()),
            notes: String::new(),
            next_revisit_at: None,
            script_id: None,
        })
        .collect();
    insert_many(db, &history).await.unwrap();
    let raw = raw_slots(db).await.unwrap();
    assert_eq!(raw.iter().map(|r| r.2.calls).sum::<i64>(), 450);
    assert_rollups_equal_the_raw_calls(db).await;

    // Lost or stale slots come back equal from a rebuild.
    db_run!(db, |pool| sqlx::query(
        "UPDATE call_stats SET calls = calls + 5 WHERE agent_id = $1"
    )
    .bind(agents[0].0.user_id)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    db_run!(db, |pool| sqlx::query(
        "DELETE FROM call_stats_daily WHERE agent_id = $1"
    )
    .bind(agents[1].0.user_id)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_ne!(stored_slots(db).await.unwrap(), raw);
    let sh = org_zone(db).await.unwrap();
    assert_ne!(
        stored_days(db).await.unwrap(),
        raw_days(db, sh).await.unwrap()
    );
    let done = rebuild(db).await.unwrap();
    assert_eq!(done.calls, 450);
    assert_eq!(done.slots as usize, raw.len());
    assert_eq!(done.days as usize, raw_days(db, sh).await.unwrap().len());
    assert_rollups_equal_the_raw_calls(db).await;
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn reports_count_each_call_in_the_day_and_month_of_the_organisations_zone() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let team = create_team(db, "二组", None).await.unwrap();
    let admin = user(db, "boss", Role::Admin, None).await;
    let agent = user(db, "xiaowang", Role::Agent, Some(team)).await;
    let lead = own_lead(db, &agent, 1).await;
    let sh = chrono_tz::Asia::Shanghai;
    // 23:30 on 31 December in Shanghai; 00:30 on 1 January in Tokyo.
    let late = sh
        .with_ymd_and_hms(2026, 12, 31, 23, 30, 0)
        .unwrap()
        .with_timezone(&Utc);
    let recorded = record_call(db, &agent, input(lead, 0, late), late)
        .await
        .unwrap();
    assert_eq!(recorded.day, "2026-12-31");
    assert_eq!(recorded.today.calls, 1);
    let q = ReportQuery {
        range: DateRange::new(d("2026-12-01"), d("2027-01-31")).unwrap(),
        grouping: Grouping::Month,
        team: None,
        agent: None,
    };
    for source in [Source::Slots, Source::RawCalls] {
        let r = calls_report(db, &admin, &q, org_zone(db).await.unwrap(), source)
            .await
            .unwrap();
        assert_eq!(r.rows.len(), 1);
        assert_eq!(
            r.rows[0].key,
            GroupKey::Month {
                month: d("2026-12-01")
            }
        );
        assert_eq!(r.totals.counts.calls, 1);
        assert_eq!(r.totals.counts.connected, 1);
    }
    // The organisation moves to Tokyo: the same call now counts on 1 January.
    set_org_zone(db, admin.user_id, "Asia/Tokyo", late)
        .await
        .unwrap();
    let zone = org_zone(db).await.unwrap();
    assert_eq!(zone, chrono_tz::Asia::Tokyo);
    let r = calls_report(db, &admin, &q, zone, Source::Slots)
        .await
        .unwrap();
    assert_eq!(
        r.rows[0].key,
        GroupKey::Month {
            month: d("2027-01-01")
        }
    );
    let day = StatsDay::on(d("2027-01-01"), zone);
    assert_eq!(agent_day(db, agent.user_id, &day).await.unwrap().calls, 1);
    assert!(
        set_org_zone(db, admin.user_id, "Mars/Olympus", late)
            .await
            .is_err()
    );

    // Weeks start on Monday: 31 December 2026 (Thursday) falls in the week of 28 December in
    // Shanghai; 1 January in Tokyo too.
    let q = ReportQuery {
        grouping: Grouping::Week,
        ..q
    };
    let r = calls_report(db, &admin, &q, zone, Source::Slots)
        .await
        .unwrap();
    assert_eq!(
        r.rows[0].key,
        GroupKey::Week {
            week: d("2026-12-28")
        }
    );

    // An agent sees only themself; another agent's id is unknown to them; a team is refused.
    let other = user(db, "xiaoli", Role::Agent, Some(team)).await;
    let mine = ReportQuery {
        grouping: Grouping::Agent,
        ..q.clone()
    };
    let r = calls_report(db, &other, &mine, zone, Source::Slots)
        .await
        .unwrap();
    assert!(
        r.rows.is_empty(),
        "xiaoli made no call and sees no one else's"
    );
    let theirs = ReportQuery {
        agent: Some(agent.user_id),
        ..mine.clone()
    };
    assert!(matches!(
        calls_report(db, &other, &theirs, zone, Source::Slots).await,
        Err(StoreError::NotFound)
    ));
    let team_q = ReportQuery {
        team: Some(team),
        ..mine
    };
    assert!(matches!(
        calls_report(db, &other, &team_q, zone, Source::Slots).await,
        Err(StoreError::Forbidden)
    ));
}

#[tokio::test]
async fn changing_the_zone_while_agents_record_keeps_every_report_equal_to_the_raw_calls() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let team = create_team(db, "三组", None).await.unwrap();
    let admin = user(db, "boss", Role::Admin, None).await;
    let mut agents = Vec::new();
    for n in 0..10 {
        let a = user(db, &format!("agent{n}"), Role::Agent, Some(team)).await;
        let lead = own_lead(db, &a, n).await;
        agents.push((a, lead));
    }
    // Around New York's spring-forward night and midnights in Shanghai, Kathmandu and Tokyo.
    let start = Utc.with_ymd_and_hms(2026, 3, 6, 12, 0, 0).unwrap();
    let zones = [
        "Asia/Tokyo",
        "America/New_York",
        "Asia/Kathmandu",
        "Asia/Shanghai",
    ];
    let mut tasks = Vec::new();
    for (n, (agent, lead)) in agents.iter().cloned().enumerate() {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..12 {
                let at = start + Duration::minutes((n * 53 + i * 397) as i64);
                record_call(&db, &agent, input(lead, n + i, at), at)
                    .await
                    .unwrap();
            }
        }));
    }
    // The zone changes while the calls are being recorded.
    for z in zones {
        set_org_zone(db, admin.user_id, z, start).await.unwrap();
        tokio::task::yield_now().await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(org_zone(db).await.unwrap(), chrono_tz::Asia::Shanghai);
    assert_rollups_equal_the_raw_calls(db).await;

    let range = DateRange::new(d("2026-03-01"), d("2026-03-31")).unwrap();
    for z in zones {
        set_org_zone(db, admin.user_id, z, start).await.unwrap();
        let zone = org_zone(db).await.unwrap();
        assert_rollups_equal_the_raw_calls(db).await;
        // A call recorded after the change counts in the new zone's day.
        let (agent, lead) = &agents[0];
        let at = start + Duration::hours(30);
        record_call(db, agent, input(*lead, 1, at), at)
            .await
            .unwrap();
        assert_rollups_equal_the_raw_calls(db).await;
        for grouping in [
            Grouping::Agent,
            Grouping::Team,
            Grouping::Day,
            Grouping::Month,
        ] {
            let q = ReportQuery {
                range,
                grouping,
                team: None,
                agent: None,
            };
            let raw = calls_report(db, &admin, &q, zone, Source::RawCalls)
                .await
                .unwrap();
            assert!(raw.totals.counts.calls > 120, "{z}");
            for source in [Source::Rollups, Source::Days, Source::Slots] {
                let r = calls_report(db, &admin, &q, zone, source).await.unwrap();
                assert_eq!(r.rows, raw.rows, "{z} {grouping:?} {source:?}");
            }
        }
        // Days asked for in another zone than the days are counted in come from the slots.
        let other = chrono_tz::Europe::London;
        let q = ReportQuery {
            range,
            grouping: Grouping::Day,
            team: Some(team),
            agent: None,
        };
        let raw = calls_report(db, &admin, &q, other, Source::RawCalls)
            .await
            .unwrap();
        let r = calls_report(db, &admin, &q, other, Source::Rollups)
            .await
            .unwrap();
        assert_eq!(r.rows, raw.rows, "{z} read in London");
    }
}
