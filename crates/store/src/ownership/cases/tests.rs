use chrono::Duration;
use leadline_domain::ownership::CaseStage;
use leadline_domain::{LeadDraft, Role};

use super::*;
use crate::auth::users::{self, NewUser};
use crate::db::test_db::TestDb;
use crate::leads::{self, CreateOptions};
use crate::now;

struct Floor {
    sup: Viewer,
    a1: Viewer,
    a2: Viewer,
    admin: Viewer,
}

async fn person(db: &Db, name: &str, role: Role, team: Option<TeamId>) -> Viewer {
    let new = NewUser {
        username: name.into(),
        display_name: name.into(),
        role,
        team_id: team,
        password_hash: "x".into(),
    };
    let u = users::create_user(db, &new, None).await.unwrap();
    users::viewer(db, &u).await.unwrap()
}

async fn floor(db: &Db) -> Floor {
    let team = users::create_team(db, "一组", None).await.unwrap();
    let sup = person(db, "sup", Role::Supervisor, Some(team)).await;
    users::set_supervisor(db, team, sup.user_id, true, None)
        .await
        .unwrap();
    let sup_user = users::get_user(db, sup.user_id).await.unwrap();
    Floor {
        sup: users::viewer(db, &sup_user).await.unwrap(),
        a1: person(db, "a1", Role::Agent, Some(team)).await,
        a2: person(db, "a2", Role::Agent, Some(team)).await,
        admin: person(db, "admin", Role::Admin, None).await,
    }
}

/// a1 holds a number; a2 enters it knowingly: one case, a1's lead disputed.
async fn open_case(db: &Db, f: &Floor) -> (CaseId, LeadId, LeadId) {
    let draft = LeadDraft {
        name: "客户".into(),
        phones: vec!["13800138000".into()],
        ..LeadDraft::default()
    };
    let first = leads::create(db, &f.a1, &draft, &CreateOptions::default())
        .await
        .unwrap();
    let opts = CreateOptions {
        allow_collision: true,
        ..CreateOptions::default()
    };
    let second = leads::create(db, &f.a2, &draft, &opts).await.unwrap();
    let id = opened_by(db, &f.a2, second.id).await.unwrap().unwrap();
    (id, first.id, second.id)
}

/// A case left 48 hours goes to the supervisor with 30% on each; before, the supervisor may not
/// decide; 72 hours more and it is leadership's.
#[tokio::test]
async fn a_case_left_alone_moves_to_the_supervisor_then_to_leadership() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let f = floor(db).await;
    let (id, first, second) = open_case(db, &f).await;
    let opened = get(db, &f.a2, id, now()).await.unwrap();
    assert_eq!(opened.stage, Some(CaseStage::Parties));
    assert_eq!(opened.penalty_bp, Some(0));
    // a2 may not see a1's lead: the evidence, not the lead.
    assert!(opened.existing.lead.is_none());
    assert_eq!(opened.existing.person.as_ref().unwrap().id, f.a1.user_id);
    assert!(opened.allowed.settle && opened.allowed.escalate && !opened.allowed.decide);

    let early = now() + Duration::hours(47);
    assert!(matches!(
        decide(db, &f.sup, id, f.a1.user_id, None, early).await,
        Err(StoreError::Forbidden)
    ));
    let later = now() + Duration::hours(49);
    let case = get(db, &f.sup, id, later).await.unwrap();
    assert_eq!(case.stage, Some(CaseStage::Supervisor));
    assert_eq!(case.penalty_bp, Some(3000));
    assert!(case.allowed.decide);
    let much_later = now() + Duration::hours(48 + 73);
    let case = get(db, &f.sup, id, much_later).await.unwrap();
    assert_eq!(case.stage, Some(CaseStage::Leadership));
    assert!(!case.allowed.decide);
    assert!(matches!(
        decide(db, &f.sup, id, f.a1.user_id, None, much_later).await,
        Err(StoreError::Forbidden)
    ));
    // Leadership decides at 50%; a2 wins: a1's record moves to a2, a2's duplicate is withdrawn.
    let done = decide(
        db,
        &f.admin,
        id,
        f.a2.user_id,
        Some("先录入".into()),
        much_later,
    )
    .await
    .unwrap();
    assert_eq!(done.status, DECIDED);
    assert_eq!(done.decision_stage.as_deref(), Some("leadership"));
    let moved = leads::load(db, first).await.unwrap();
    assert_eq!(moved.owner_id, Some(f.a2.user_id));
    assert!(leads::load(db, second).await.unwrap().deleted_at.is_some());
    let history = crate::ownership::events::history(db, first).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!((last.action.as_str(), last.case_id), ("decision", Some(id)));
    let rows = ledger(db, &f.admin, &LedgerFilter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.penalty_bp == 5000 && r.stage == "leadership")
    );
    assert!(matches!(
        decide(db, &f.admin, id, f.a2.user_id, None, much_later).await,
        Err(StoreError::Conflict("case_closed"))
    ));
}
