//! Seats, the checks before a click-to-call, placed calls and their recordings, and the caller
//! match of the pop-up, on both backends (PostgreSQL with `LEADLINE_TEST_POSTGRES_URL`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadline_domain::calling_hours::DEFAULT_TZ;
use leadline_domain::{LeadDraft, LeadId, Role, Viewer};

use super::Direction;
use super::caller_match::match_caller;
use super::dial_checks::{
    ATTEMPT_LIMIT, DO_NOT_CALL, DialTarget, OUTSIDE_CALLING_HOURS, check_dial,
};
use super::placed::{PlacedCall, placed_for, placed_of_lead, record_placed, recording_for};
use super::seats::{self, SeatCallInput, SeatState};
use crate::db::test_db::TestDb;
use crate::leads::{self, CreateOptions};
use crate::ownership::claim::tests::user;
use crate::workday::config;
use crate::{Db, StoreError, db_run, now};

/// A weekday at `hour` in Shanghai (Monday 7 December 2026).
fn monday(hour: u32) -> DateTime<Utc> {
    DEFAULT_TZ
        .with_ymd_and_hms(2026, 12, 7, hour, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn own_lead(db: &Db, by: &Viewer, name: &str, phone: &str) -> LeadId {
    let draft = LeadDraft {
        name: name.into(),
        phones: vec![phone.into()],
        ..LeadDraft::default()
    };
    leads::create(db, by, &draft, &CreateOptions::default())
        .await
        .unwrap()
        .id
}

fn conflict(result: crate::Result<super::dial_checks::Dialable>) -> &'static str {
    match result {
        Err(StoreError::Conflict(code)) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_seat_is_one_persons_and_digits_only() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let set = |who: &Viewer, seat: Option<&'static str>| {
        let (db, actor, user) = (db.clone(), admin.user_id, who.user_id);
        async move { seats::set_seat(&db, actor, user, seat, now()).await }
    };
    assert_eq!(
        set(&a, Some(" 8001 ")).await.unwrap().as_deref(),
        Some("8001")
    );
    assert!(matches!(
        set(&b, Some("8001")).await,
        Err(StoreError::AlreadyExists("seat"))
    ));
    assert!(matches!(
        set(&b, Some("80a1")).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        set(&b, Some("8")).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        seats::user_of_seat(db, "8001").await.unwrap(),
        Some(a.user_id)
    );
    assert_eq!(set(&a, Some("")).await.unwrap(), None);
    assert_eq!(
        set(&b, Some("8001")).await.unwrap().as_deref(),
        Some("8001")
    );
    assert_eq!(
        seats::seat_of(db, b.user_id).await.unwrap().as_deref(),
        Some("8001")
    );
    assert_eq!(
        seats::seats(db).await.unwrap(),
        vec![(b.user_id, "8001".to_owned())]
    );

    // The seat's calls: offered, then taken; the newest is its person's.
    let call = |state| SeatCallInput {
        sip_call_id: "in-1",
        seat: "8001",
        direction: Direction::Inbound,
        number: "13800138000",
        state,
        user_id: None,
        lead_id: None,
        customer_id: None,
    };
    seats::put_seat_call(db, &call(SeatState::Ringing), now())
        .await
        .unwrap();
    seats::put_seat_call(db, &call(SeatState::Talking), now())
        .await
        .unwrap();
    let latest = seats::latest_seat_call(db, b.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (latest.state.as_str(), latest.number.as_str()),
        ("talking", "13800138000")
    );
    let ended = seats::set_seat_state(db, "in-1", None, SeatState::Ended, now())
        .await
        .unwrap();
    assert_eq!(ended.len(), 1);
    assert!(
        seats::latest_seat_call(db, a.user_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_click_to_call_is_refused_for_do_not_call_hours_attempts_and_hidden_leads() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let lead = own_lead(db, &a, "王先生", "13900139000").await;
    let open = monday(10);
    let ok = check_dial(db, &a, DialTarget::Lead(lead), open)
        .await
        .unwrap();
    assert_eq!(
        (ok.dial.as_str(), ok.e164.as_str()),
        ("13900139000", "+8613900139000")
    );
    // Someone else's lead does not exist for them.
    assert!(matches!(
        check_dial(db, &b, DialTarget::Lead(lead), open).await,
        Err(StoreError::NotFound)
    ));
    // Lunch break and Saturday are outside the default calling hours.
    assert_eq!(
        conflict(check_dial(db, &a, DialTarget::Lead(lead), monday(12)).await),
        OUTSIDE_CALLING_HOURS
    );
    // Past the attempt limit.
    let limit = config::max_attempts(db).await.unwrap();
    db_run!(db, |pool| {
        sqlx::query("UPDATE leads SET attempts = $2 WHERE id = $1")
            .bind(lead)
            .bind(limit)
            .execute(pool)
            .await
            .unwrap();
    });
    assert_eq!(
        conflict(check_dial(db, &a, DialTarget::Lead(lead), open).await),
        ATTEMPT_LIMIT
    );
    let listed = own_lead(db, &a, "李女士", "13700137000").await;
    config::dnc_add(db, admin.user_id, &["137 0013 7000".to_owned()], "客户要求")
        .await
        .unwrap();
    assert_eq!(
        conflict(check_dial(db, &a, DialTarget::Lead(listed), open).await),
        DO_NOT_CALL
    );
}

#[tokio::test]
async fn a_placed_call_and_its_recording_are_for_those_who_see_the_lead() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "boss", Role::Admin, None).await;
    let a = user(db, "agent_a", Role::Agent, None).await;
    let b = user(db, "agent_b", Role::Agent, None).await;
    let lead = own_lead(db, &a, "王先生", "13900139000").await;
    let t0 = monday(10);
    let call = PlacedCall {
        sip_call_id: "dial-1".into(),
        seat: "8001".into(),
        number: "13900139000".into(),
        agent_id: Some(a.user_id),
        lead_id: Some(lead),
        customer_id: None,
        result: "answered",
        hung_up_by: "customer",
        started_at: t0,
        answered_at: Some(t0 + Duration::seconds(6)),
        ended_at: t0 + Duration::seconds(48),
        recording: Some((b"RIFF-wav".to_vec(), 42_000)),
    };
    let id = record_placed(db, &call).await.unwrap();
    assert_eq!(
        record_placed(db, &call).await.unwrap(),
        id,
        "reported twice, stored once"
    );
    let line = placed_for(db, &a, id).await.unwrap();
    assert_eq!(
        (
            line.duration_s,
            line.result.as_deref(),
            line.hung_up_by.as_str()
        ),
        (42, Some("answered"), "customer")
    );
    assert_eq!(line.recording_ms, Some(42_000));
    assert_eq!(recording_for(db, &a, id).await.unwrap(), b"RIFF-wav");
    assert_eq!(recording_for(db, &admin, id).await.unwrap(), b"RIFF-wav");
    assert!(matches!(
        recording_for(db, &b, id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(placed_of_lead(db, lead).await.unwrap().len(), 1);

    // The pop-up: the owner sees the lead; a colleague only whose it is; a stranger's number
    // is unknown.
    let mine = match_caller(db, &a, "13900139000").await.unwrap();
    let holder = mine.lead.unwrap();
    assert_eq!(
        (holder.name.as_deref(), holder.visible),
        (Some("王先生"), true)
    );
    let theirs = match_caller(db, &b, "+86 139 0013 9000").await.unwrap();
    let holder = theirs.lead.unwrap();
    assert_eq!(
        (holder.name, holder.owner_name.as_deref(), holder.visible),
        (None, Some("agent_a"), false)
    );
    assert!(match_caller(db, &a, "13600136000").await.unwrap().unknown);
    assert!(match_caller(db, &a, "anonymous").await.unwrap().unknown);
}
