//! The people around a record on both backends, with the clock moved by hand.

use chrono::{Duration, TimeZone};
use leadline_domain::{LeadDraft, Viewer};

use super::*;
use crate::Db;
use crate::auth::users::{self, NewUser};
use crate::db::test_db::TestDb;
use crate::leads::{self, CreateOptions};
use crate::ownership::events;

struct Floor {
    sup: Viewer,
    agent1: Viewer,
    agent2: Viewer,
    other_sup: Viewer,
    other_agent: Viewer,
    sales: Viewer,
    team: TeamId,
    other_team: TeamId,
}

async fn user(db: &Db, name: &str, role: Role, team: Option<TeamId>) -> Viewer {
    let u = users::create_user(
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
    .unwrap();
    if role == Role::Supervisor {
        users::set_supervisor(db, team.unwrap(), u.id, true, None)
            .await
            .unwrap();
    }
    users::viewer(db, &u).await.unwrap()
}

async fn floor(db: &Db) -> Floor {
    let team = users::create_team(db, "一组", None).await.unwrap();
    let other_team = users::create_team(db, "二组", None).await.unwrap();
    Floor {
        sup: user(db, "sup", Role::Supervisor, Some(team)).await,
        agent1: user(db, "a1", Role::Agent, Some(team)).await,
        agent2: user(db, "a2", Role::Agent, Some(team)).await,
        other_sup: user(db, "sup2", Role::Supervisor, Some(other_team)).await,
        other_agent: user(db, "b1", Role::Agent, Some(other_team)).await,
        sales: user(db, "rep", Role::Sales, None).await,
        team,
        other_team,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
}

async fn lead(db: &Db, by: &Viewer, n: u32, pool: bool) -> LeadId {
    let draft = LeadDraft {
        name: format!("客户{n}"),
        phones: vec![format!("1390000{n:04}")],
        ..LeadDraft::default()
    };
    let opts = CreateOptions {
        pool,
        ..CreateOptions::default()
    };
    leads::create(db, by, &draft, &opts).await.unwrap().id
}

async fn actions(db: &Db, lead: LeadId) -> Vec<String> {
    events::history(db, lead)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn a_batch_is_dealt_in_turn_and_refuses_what_the_caller_may_not_touch() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let mut pool = Vec::new();
    for n in 0..4 {
        pool.push(lead(db, &f.sup, n, true).await);
    }
    let owned = lead(db, &f.agent1, 10, false).await;
    let hidden = lead(db, &f.other_agent, 11, false).await;
    let mut ids = pool.clone();
    ids.extend([owned, hidden, LeadId(999_999)]);
    let out = assign(
        db,
        &f.sup,
        &ids,
        AssignTarget::RoundRobin(f.team),
        Some("月初分配".into()),
        t0(),
    )
    .await
    .unwrap();
    let (a1, a2) = (f.agent1.user_id, f.agent2.user_id);
    assert_eq!(
        out.assigned,
        [(pool[0], a1), (pool[1], a2), (pool[2], a1), (pool[3], a2),]
    );
    // agent1's own lead came up on agent1's turn: nothing to move.
    assert_eq!(out.unchanged, [owned]);
    assert_eq!(
        out.refused,
        [
            Refused {
                lead_id: hidden,
                code: "not_found"
            },
            Refused {
                lead_id: LeadId(999_999),
                code: "not_found"
            },
        ]
    );
    let l = leads::get(db, &f.sup, pool[1]).await.unwrap();
    assert_eq!(l.owner_id, Some(a2));
    // The countdown started: 15 days without a valid follow-up, from the assignment.
    assert_eq!(l.ownership.reclaim_at, Some(t0() + Duration::days(15)));
    assert_eq!(actions(db, pool[1]).await, ["assign"]);

    // A transfer to one person is recorded as such.
    let out = assign(
        db,
        &f.sup,
        &[pool[1]],
        AssignTarget::Person(a1),
        None,
        t0() + Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(out.assigned, [(pool[1], a1)]);
    assert_eq!(actions(db, pool[1]).await, ["assign", "transfer"]);

    // Agents may not; a supervisor may not reach into another team.
    let err = assign(
        db,
        &f.agent1,
        &[pool[0]],
        AssignTarget::Person(a1),
        None,
        t0(),
    )
    .await;
    assert!(matches!(err, Err(StoreError::Forbidden)), "{err:?}");
    let err = assign(
        db,
        &f.sup,
        &[pool[0]],
        AssignTarget::Person(f.other_agent.user_id),
        None,
        t0(),
    )
    .await;
    assert!(matches!(err, Err(StoreError::Forbidden)), "{err:?}");
    let err = assign(
        db,
        &f.sup,
        &[pool[0]],
        AssignTarget::RoundRobin(f.other_team),
        None,
        t0(),
    )
    .await;
    assert!(matches!(err, Err(StoreError::Forbidden)), "{err:?}");
    let too_many: Vec<LeadId> = (1..=1001).map(LeadId).collect();
    let err = assign(
        db,
        &f.other_sup,
        &too_many,
        AssignTarget::Person(f.other_agent.user_id),
        None,
        t0(),
    )
    .await;
    assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
}

#[tokio::test]
async fn an_absent_owners_reminders_go_to_the_backup_then_the_supervisor() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let l = lead(db, &f.agent1, 1, false).await;
    let a1 = f.agent1.user_id;
    assert_eq!(reminder_recipient(db, l, t0()).await.unwrap(), Some(a1));
    absence::create(
        db,
        &f.agent1,
        &AbsenceInput {
            user: a1,
            starts_at: t0() + Duration::days(1),
            ends_at: t0() + Duration::days(3),
            reason: Some("年假".into()),
        },
        t0(),
    )
    .await
    .unwrap();
    let away = t0() + Duration::days(2);
    // No backup: the supervisor of the team.
    assert_eq!(
        reminder_recipient(db, l, away).await.unwrap(),
        Some(f.sup.user_id)
    );
    set_backup(db, &f.agent1, l, f.agent2.user_id, false, t0())
        .await
        .unwrap();
    assert_eq!(
        reminder_recipient(db, l, away).await.unwrap(),
        Some(f.agent2.user_id)
    );
    // Before and after the leave: the owner.
    assert_eq!(reminder_recipient(db, l, t0()).await.unwrap(), Some(a1));
    assert_eq!(
        reminder_recipient(db, l, t0() + Duration::days(3))
            .await
            .unwrap(),
        Some(a1)
    );
    // An agent may not record a colleague's leave; the other team's supervisor neither.
    for who in [&f.agent2, &f.other_sup] {
        let err = absence::create(
            db,
            who,
            &AbsenceInput {
                user: a1,
                starts_at: t0(),
                ends_at: t0() + Duration::days(1),
                reason: None,
            },
            t0(),
        )
        .await;
        assert!(matches!(err, Err(StoreError::Forbidden)), "{err:?}");
    }
    assert_eq!(
        absence::list(db, &f.sup, None, None).await.unwrap().len(),
        1
    );
    assert!(
        absence::list(db, &f.other_sup, None, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn friends_and_family_are_never_reclaimed_and_another_owners_lead_is_refused() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let pooled = lead(db, &f.sup, 1, true).await;
    set_personal(db, &f.agent1, pooled, true, t0())
        .await
        .unwrap();
    let l = leads::get(db, &f.agent1, pooled).await.unwrap();
    assert_eq!(l.owner_id, Some(f.agent1.user_id));
    assert!(l.ownership.personal);
    assert_eq!(l.ownership.reclaim_at, None);
    assert_eq!(actions(db, pooled).await, ["claim"]);
    // Unmarked: the countdown is back.
    set_personal(db, &f.agent1, pooled, false, t0())
        .await
        .unwrap();
    let l = leads::get(db, &f.agent1, pooled).await.unwrap();
    assert!(l.ownership.reclaim_at.is_some());
    // The supervisor sees agent1's lead but may not make it theirs.
    let err = set_personal(db, &f.sup, pooled, true, t0()).await;
    assert!(
        matches!(err, Err(StoreError::Conflict("already_owned"))),
        "{err:?}"
    );
    let err = set_personal(db, &f.other_agent, pooled, true, t0()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
}

#[tokio::test]
async fn a_qualified_lead_is_handed_to_a_sales_rep_with_its_note() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let l = lead(db, &f.agent1, 1, false).await;
    let rep = f.sales.user_id;
    let err = handover(db, &f.agent1, l, rep, None, t0()).await;
    assert!(
        matches!(err, Err(StoreError::Invalid(_))),
        "not qualified: {err:?}"
    );
    let patch = leads::LeadPatch {
        status: Some("qualified".into()),
        ..Default::default()
    };
    leads::update(db, &f.agent1, l, &patch).await.unwrap();
    let err = handover(db, &f.agent1, l, f.agent2.user_id, None, t0()).await;
    assert!(
        matches!(err, Err(StoreError::Invalid(_))),
        "not sales: {err:?}"
    );
    let err = handover(db, &f.other_agent, l, rep, None, t0()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    handover(db, &f.agent1, l, rep, Some("预算已批".into()), t0())
        .await
        .unwrap();
    assert_eq!(
        leads::get(db, &f.sales, l).await.unwrap().owner_id,
        Some(rep)
    );
    // The agent no longer sees it; the hand-over is in both lists.
    assert!(leads::get(db, &f.agent1, l).await.is_err());
    let mine = handovers(db, &f.sales, HandoverDirection::ToMe)
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].note.as_deref(), Some("预算已批"));
    assert_eq!(mine[0].from_user, Some(f.agent1.user_id));
    let from = handovers(db, &f.agent1, HandoverDirection::FromMe)
        .await
        .unwrap();
    assert_eq!(from.len(), 1);
    assert_eq!(
        handovers(db, &f.sup, HandoverDirection::Team)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        handovers(db, &f.other_sup, HandoverDirection::Team)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_referred_lead_goes_to_the_referrers_owner_whoever_enters_it() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let referrer = lead(db, &f.agent1, 1, false).await;
    // agent2 cannot see agent1's customer, but knows its number.
    let by_phone = referral::resolve(db, &f.agent2, &Referrer::Phone("139 0000 0001".into()))
        .await
        .unwrap();
    assert_eq!(by_phone, referrer);
    let err = referral::resolve(db, &f.agent2, &Referrer::Lead(referrer)).await;
    assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
    let draft = LeadDraft {
        name: "新客户".into(),
        phones: vec!["13900000002".into()],
        ..LeadDraft::default()
    };
    let opts = CreateOptions {
        referred_by: Some(by_phone),
        ..CreateOptions::default()
    };
    let created = leads::create(db, &f.agent2, &draft, &opts).await.unwrap();
    assert_eq!(created.owner_id, Some(f.agent1.user_id));
    assert_eq!(created.ownership.referred_by, Some(referrer));
    assert_eq!(actions(db, created.id).await, ["referral"]);

    // Named later: the lead moves to the referrer's owner.
    let later = lead(db, &f.agent2, 3, false).await;
    set_referral(
        db,
        &f.agent2,
        later,
        &Referrer::Phone("13900000001".into()),
        t0(),
    )
    .await
    .unwrap();
    let l = leads::get(db, &f.agent1, later).await.unwrap();
    assert_eq!(l.owner_id, Some(f.agent1.user_id));
    // Its history: entered by agent2 (create), then moved to the referrer's owner.
    assert_eq!(actions(db, later).await, ["create", "referral"]);
}

#[tokio::test]
async fn a_backup_is_named_by_the_owner_or_their_supervisor_only() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let l = lead(db, &f.agent1, 1, false).await;
    // Another team's agent: not for the owner to name, nor this supervisor.
    let err = set_backup(db, &f.agent1, l, f.other_agent.user_id, true, t0()).await;
    assert!(matches!(err, Err(StoreError::Forbidden)), "{err:?}");
    let err = set_backup(db, &f.sup, l, f.other_agent.user_id, true, t0()).await;
    assert!(matches!(err, Err(StoreError::Forbidden)), "{err:?}");
    set_backup(db, &f.sup, l, f.agent2.user_id, false, t0())
        .await
        .unwrap();
    // The backup reads but may not rearrange.
    let seen = leads::get(db, &f.agent2, l).await.unwrap();
    assert_eq!(seen.ownership.backup_owner_id, Some(f.agent2.user_id));
    let err = clear_backup(db, &f.agent2, l, t0()).await;
    assert!(matches!(err, Err(StoreError::Forbidden)), "{err:?}");
    let err = set_backup(db, &f.other_sup, l, f.other_agent.user_id, true, t0()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    clear_backup(db, &f.agent1, l, t0()).await.unwrap();
    assert!(leads::get(db, &f.agent2, l).await.is_err());
}

/// 撞单 on hand-over: the rep would receive a customer (the same e-mail) another agent already
/// owns; the hand-over is refused and the case between the two stays one case.
#[tokio::test]
async fn a_hand_over_of_a_customer_another_agent_owns_is_refused() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let with_email = |n: u32| LeadDraft {
        name: format!("客户{n}"),
        phones: vec![format!("1390000{n:04}")],
        email: Some("li@shenda.cn".into()),
        ..LeadDraft::default()
    };
    leads::create(
        db,
        &f.other_agent,
        &with_email(1),
        &CreateOptions::default(),
    )
    .await
    .unwrap();
    let mine = leads::create(db, &f.agent1, &with_email(2), &CreateOptions::default())
        .await
        .unwrap()
        .id;
    crate::db::sql::execute(
        db,
        "UPDATE leads SET status = 'qualified' WHERE id = $1",
        vec![crate::db::sql::Arg::I64(mine.0)],
    )
    .await
    .unwrap();
    for _ in 0..2 {
        let err = handover(db, &f.agent1, mine, f.sales.user_id, None, t0()).await;
        assert!(
            matches!(err, Err(StoreError::Conflict("already_owned"))),
            "{err:?}"
        );
    }
    let open: i64 = crate::db_run!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM collisions WHERE lead_id = $1 AND status = 'open'"
    )
    .bind(mine)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(open, 1);
    let l = leads::get(db, &f.agent1, mine).await.unwrap();
    assert_eq!(l.owner_id, Some(f.agent1.user_id), "still the agent's");
}

/// While the owner is on leave, the backup's next call serves the owner's due revisit, and the
/// backup (read-only) may record it; not before the leave, not after; the revisit stays the
/// owner's, who gets it back on return.
#[tokio::test]
async fn an_absent_owners_due_revisit_is_served_to_the_backup_only_during_the_leave() {
    use crate::workday::next::next_call;
    use crate::workday::record::{CallInput, record_call};
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let (a1, a2) = (f.agent1.user_id, f.agent2.user_id);
    let l = lead(db, &f.agent1, 1, false).await;
    set_backup(db, &f.agent1, l, a2, false, t0()).await.unwrap();
    let call = |at| CallInput {
        lead_id: l,
        started_at: Some(at),
        duration_s: 20,
        disposition: "no_answer".into(),
        intent: None,
        notes: String::new(),
        next_revisit_at: None,
        script_id: None,
        request_id: None,
    };
    // Monday 10:00 (Shanghai): a1 calls and sets a revisit for Tuesday 10:00.
    let tuesday = t0() + Duration::days(1);
    record_call(
        db,
        &f.agent1,
        CallInput {
            next_revisit_at: Some(tuesday),
            ..call(t0())
        },
        t0(),
    )
    .await
    .unwrap();
    // a1 is on leave from Tuesday 14:00 to Wednesday 14:00.
    absence::create(
        db,
        &f.agent1,
        &AbsenceInput {
            user: a1,
            starts_at: tuesday + Duration::hours(4),
            ends_at: tuesday + Duration::days(1) + Duration::hours(4),
            reason: Some("病假".into()),
        },
        t0(),
    )
    .await
    .unwrap();
    let served_to = |who: &Viewer, at| {
        let who = who.clone();
        async move {
            let s = next_call(db, &who, at).await.unwrap();
            s.map(|s| (s.lead.id, s.tier))
        }
    };
    // Tuesday 11:00, before the leave: the revisit is a1's; a2 neither gets it nor may record it.
    let before = tuesday + Duration::hours(1);
    assert_eq!(served_to(&f.agent2, before).await, None);
    assert!(matches!(
        record_call(db, &f.agent2, call(before), before).await,
        Err(StoreError::NotFound)
    ));
    // Tuesday 15:00, during the leave: a2's next call is a1's due revisit, and a2 records it.
    let during = tuesday + Duration::hours(5);
    assert_eq!(
        served_to(&f.agent2, during).await,
        Some((l, leadline_domain::next_call::Tier::DueRevisit))
    );
    let recorded = record_call(db, &f.agent2, call(during), during)
        .await
        .unwrap();
    let next = recorded
        .next_revisit_at
        .expect("the rule sets another revisit");
    let revisit_for: Option<i64> = crate::db_run!(db, |pool| sqlx::query_scalar(
        "SELECT revisit_agent_id FROM leads WHERE id = $1"
    )
    .bind(l)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(revisit_for, Some(a1.0), "the revisit stays the owner's");
    assert!(next < tuesday + Duration::days(1), "{next}");
    // Wednesday 15:00, after the leave: a1 gets it back, a2 no longer.
    let after = tuesday + Duration::days(1) + Duration::hours(5);
    assert_eq!(served_to(&f.agent2, after).await, None);
    assert_eq!(served_to(&f.agent1, after).await.map(|s| s.0), Some(l));
}
