//! What people do on a case, each in one transaction: the two settle it (one proposes a winner,
//! the other accepts the same), either says they cannot (escalate: the supervisor's turn at
//! once), the supervisor or leadership decides, the loser of a supervisor's decision appeals.
//!
//! A settlement or a decision gives the disputed record (the case's `existing_lead_id`) to the
//! winner, with an ownership event `decision` naming the case, and withdraws (soft-deletes) the
//! second lead when it was created as the collision (entered or imported with the number at
//! the moment the case was opened): whoever wins keeps one record, the original with its
//! history. A second lead that existed before (a number added to it later) is left as it is.
//! Merging the two leads is out of scope. Each person gets a ledger row and a notification.

use chrono::{DateTime, Utc};
use leadline_domain::ownership::{
    CaseStage, CollisionPolicy, ReclaimRule, case_stage, case_start, may_appeal, penalty_fen,
    repeat_loser,
};
use leadline_domain::{CaseId, LeadId, TeamId, UserId, Viewer};
use serde_json::json;

use super::{CASE_COLUMNS, Case, CaseRow, DECIDED, OPEN, SETTLED, Standing, get, policy};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::{Row, Tx, for_update};
use crate::ownership::countdown;
use crate::ownership::events::{self, Action, Event};
use crate::{Db, Result, StoreError, in_tx};

/// Notification kinds written here.
pub const NOTE_DECIDED: &str = "collision_decided";
pub const NOTE_PROPOSED: &str = "collision_proposed";
pub const NOTE_ESCALATED: &str = "collision_escalated";
pub const NOTE_APPEALED: &str = "collision_appealed";
pub const NOTE_REPEAT_LOSER: &str = "collision_repeat_loser";

fn case_of(row: &Row) -> Result<CaseRow> {
    Ok(CaseRow {
        id: CaseId(row.i64(0)?),
        lead_id: LeadId(row.i64(1)?),
        existing_lead_id: LeadId(row.i64(2)?),
        phone_e164: row.text(3)?,
        match_kind: row.text(4)?,
        existing_owner_id: row.opt_i64(5)?.map(UserId),
        new_owner_id: row.opt_i64(6)?.map(UserId),
        recorded_by: UserId(row.i64(7)?),
        status: row.text(8)?,
        created_at: row.time(9)?,
        escalated_at: row.opt_time(10)?,
        appealed_at: row.opt_time(11)?,
        appealed_by: row.opt_i64(12)?.map(UserId),
        proposed_winner_id: row.opt_i64(13)?.map(UserId),
        proposed_by: row.opt_i64(14)?.map(UserId),
        winner_id: row.opt_i64(15)?.map(UserId),
        decided_by: row.opt_i64(16)?.map(UserId),
        decided_at: row.opt_time(17)?,
        decision_stage: row.opt_text(18)?,
        decision_note: row.opt_text(19)?,
    })
}

/// The case, locked to the end of the transaction, and who the viewer is to it; `NotFound`
/// when the viewer may not see it.
async fn lock(tx: &mut impl Tx, viewer: &Viewer, id: CaseId) -> Result<(CaseRow, Standing)> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM collisions c WHERE c.id = $1{}",
        for_update(tx)
    );
    let row = tx
        .fetch_optional(&sql, &[Arg::I64(id.0)])
        .await?
        .ok_or(StoreError::NotFound)?;
    let case = case_of(&row)?;
    let mut teams = Vec::new();
    for p in case.parties() {
        if let Some(t) = team_of(tx, p).await? {
            teams.push(t);
        }
    }
    let standing = Standing::of(viewer, &case, &teams);
    if !standing.sees() {
        return Err(StoreError::NotFound);
    }
    Ok((case, standing))
}

async fn team_of(tx: &mut impl Tx, user: UserId) -> Result<Option<TeamId>> {
    Ok(
        match tx
            .fetch_optional(
                "SELECT team_id FROM users WHERE id = $1",
                &[Arg::I64(user.0)],
            )
            .await?
        {
            Some(row) => row.opt_i64(0)?.map(TeamId),
            None => None,
        },
    )
}

async fn audit_case(
    tx: &mut impl Tx,
    case: CaseId,
    actor: UserId,
    action: &'static str,
    after: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<()> {
    let entry = AuditEntry {
        entity: "collision",
        entity_id: case.0,
        actor: Some(actor),
        action,
        before: None,
        after: Some(after),
        at,
    };
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(())
}

async fn notify(
    tx: &mut impl Tx,
    user: UserId,
    kind: &str,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO notifications (user_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)",
        &[
            Arg::I64(user.0),
            Arg::Text(kind.to_string()),
            Arg::Json(payload),
            Arg::Time(at),
        ],
    )
    .await?;
    Ok(())
}

/// The supervisors of a person's team.
async fn supervisors_of(tx: &mut impl Tx, user: UserId) -> Result<Vec<UserId>> {
    let Some(team) = team_of(tx, user).await? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    // At most a handful per team; read one by one through the row accessor.
    let mut after = 0;
    while let Some(row) = tx
        .fetch_optional(
            "SELECT user_id FROM team_supervisors WHERE team_id = $1 AND user_id > $2 ORDER BY user_id LIMIT 1",
            &[Arg::I64(team.0), Arg::I64(after)],
        )
        .await?
    {
        after = row.i64(0)?;
        out.push(UserId(after));
    }
    Ok(out)
}

fn closed() -> StoreError {
    StoreError::Conflict("case_closed")
}

fn check_winner(case: &CaseRow, winner: UserId) -> Result<()> {
    if case.is_party(winner) {
        Ok(())
    } else {
        Err(StoreError::invalid("winner_id", "not_a_party"))
    }
}

/// A settlement or a decision, as [`finalize`] writes it.
struct Verdict {
    winner: UserId,
    stage: CaseStage,
    by: UserId,
    note: Option<String>,
    status: &'static str,
}

/// Moves the disputed record to the winner, withdraws the duplicate created as the collision,
/// closes the case, writes the ledger, the notifications and the audit entries.
async fn finalize(
    tx: &mut impl Tx,
    case: &CaseRow,
    v: &Verdict,
    policy: &CollisionPolicy,
    rules: &[ReclaimRule],
    now: DateTime<Utc>,
) -> Result<()> {
    let lock = for_update(tx);
    let disputed = case.existing_lead_id;
    let row = tx
        .fetch_one(
            &format!("SELECT owner_id FROM leads WHERE id = $1{lock}"),
            &[Arg::I64(disputed.0)],
        )
        .await?;
    let old_owner = row.opt_i64(0)?.map(UserId);
    if old_owner != Some(v.winner) {
        tx.execute(
            "UPDATE leads SET owner_id = $2, owned_since = $3, warned_days = NULL, version = version + 1, \
             updated_at = $3 WHERE id = $1",
            &[Arg::I64(disputed.0), Arg::I64(v.winner.0), Arg::Time(now)],
        )
        .await?;
        events::record(
            tx,
            &Event {
                from: old_owner,
                to: Some(v.winner),
                actor: Some(v.by),
                case: Some(case.id),
                reason: v.note.clone(),
                ..Event::new(disputed, now, Action::Decision)
            },
        )
        .await?;
        countdown::refresh(tx, rules, disputed).await?;
        let entry = AuditEntry {
            entity: "lead",
            entity_id: disputed.0,
            actor: Some(v.by),
            action: "update",
            before: Some(json!({ "owner_id": old_owner })),
            after: Some(json!({ "owner_id": v.winner, "case_id": case.id })),
            at: now,
        };
        tx.execute(audit::INSERT, &entry.args()).await?;
    }
    if case.lead_id != disputed {
        let row = tx
            .fetch_one(
                &format!("SELECT created_at, deleted_at FROM leads WHERE id = $1{lock}"),
                &[Arg::I64(case.lead_id.0)],
            )
            .await?;
        let created_as_collision = row.time(0)? == case.created_at;
        if created_as_collision && row.opt_time(1)?.is_none() {
            tx.execute(
                "UPDATE leads SET deleted_at = $2, version = version + 1, updated_at = $2 WHERE id = $1",
                &[Arg::I64(case.lead_id.0), Arg::Time(now)],
            )
            .await?;
            let entry = AuditEntry {
                entity: "lead",
                entity_id: case.lead_id.0,
                actor: Some(v.by),
                action: "withdraw",
                before: Some(json!({ "deleted": false })),
                after: Some(json!({ "deleted": true, "case_id": case.id })),
                at: now,
            };
            tx.execute(audit::INSERT, &entry.args()).await?;
        }
    }
    tx.execute(
        "UPDATE collisions SET status = $2, winner_id = $3, decided_by = $4, decided_at = $5, \
         decision_stage = $6, decision_note = $7 WHERE id = $1",
        &[
            Arg::I64(case.id.0),
            Arg::Text(v.status.to_string()),
            Arg::I64(v.winner.0),
            Arg::I64(v.by.0),
            Arg::Time(now),
            Arg::Text(v.stage.code().to_string()),
            Arg::OptText(v.note.clone()),
        ],
    )
    .await?;
    // An appealed case is decided again: the earlier rows stay as history but stop counting.
    tx.execute(
        "UPDATE collision_ledger SET superseded_at = $2 WHERE case_id = $1 AND superseded_at IS NULL",
        &[Arg::I64(case.id.0), Arg::Time(now)],
    )
    .await?;
    let bp = v.stage.penalty_bp(policy);
    let parties = case.parties();
    for &person in &parties {
        let won = person == v.winner;
        let against = parties.iter().copied().find(|p| *p != person);
        let base: Option<i64> = tx
            .fetch_one(
                "SELECT base_pay_fen FROM users WHERE id = $1",
                &[Arg::I64(person.0)],
            )
            .await?
            .opt_i64(0)?;
        let fen = base.map(|b| penalty_fen(b, bp));
        let flagged = if won {
            None
        } else {
            lost_again(tx, policy, person, now).await?
        };
        tx.execute(
            "INSERT INTO collision_ledger (case_id, user_id, against_user_id, outcome, stage, decided_by, \
             penalty_bp, penalty_fen, at, repeat_flag) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                Arg::I64(case.id.0),
                Arg::I64(person.0),
                Arg::OptI64(against.map(|u| u.0)),
                Arg::Text(if won { "won" } else { "lost" }.to_string()),
                Arg::Text(v.stage.code().to_string()),
                Arg::I64(v.by.0),
                Arg::I64(i64::from(bp)),
                Arg::OptI64(fen),
                Arg::Time(now),
                Arg::Bool(flagged.is_some()),
            ],
        )
        .await?;
        if flagged == Some(true) {
            for sup in supervisors_of(tx, person).await? {
                notify(
                    tx,
                    sup,
                    NOTE_REPEAT_LOSER,
                    json!({ "case_id": case.id, "user_id": person }),
                    now,
                )
                .await?;
            }
        }
        notify(
            tx,
            person,
            NOTE_DECIDED,
            json!({ "case_id": case.id, "outcome": if won { "won" } else { "lost" },
                    "stage": v.stage.code(), "penalty_bp": bp, "penalty_fen": fen }),
            now,
        )
        .await?;
    }
    audit_case(
        tx,
        case.id,
        v.by,
        if v.status == SETTLED {
            "settle"
        } else {
            "decide"
        },
        json!({ "status": v.status, "winner_id": v.winner, "stage": v.stage.code(),
                "penalty_bp": bp, "note": v.note }),
        now,
    )
    .await
}

/// Whether `person`, losing a case now, is a possible 恶意抢单: `None` if not; `Some(true)` when
/// this loss is the first flagged one of the policy's period (their supervisor is told once),
/// `Some(false)` when one already was.
async fn lost_again(
    tx: &mut impl Tx,
    policy: &CollisionPolicy,
    person: UserId,
    now: DateTime<Utc>,
) -> Result<Option<bool>> {
    let since = now - chrono::Duration::days(i64::from(policy.repeat_days));
    let mut losses = vec![now];
    let mut after = 0_i64;
    let mut already = false;
    // Losses in the period, one row at a time through the row accessor (a handful).
    while let Some(row) = tx
        .fetch_optional(
            "SELECT id, at, repeat_flag FROM collision_ledger WHERE user_id = $1 AND outcome = 'lost' \
             AND superseded_at IS NULL AND at > $2 AND id > $3 ORDER BY id LIMIT 1",
            &[Arg::I64(person.0), Arg::Time(since), Arg::I64(after)],
        )
        .await?
    {
        after = row.i64(0)?;
        losses.push(row.time(1)?);
        already |= row.bool(2)?;
    }
    Ok(repeat_loser(policy, &losses, now).then_some(!already))
}

/// Runs a body whose refusals (not found, forbidden, a conflict, a bad winner) come before
/// any write, and turns them into a committed transaction's answer: a refused transaction ends
/// with COMMIT like any other rather than leaving its row locks to a rollback sent later.
async fn committed(body: impl std::future::Future<Output = Result<()>>) -> Result<Result<()>> {
    match body.await {
        Ok(()) => Ok(Ok(())),
        Err(
            e @ (StoreError::NotFound
            | StoreError::Forbidden
            | StoreError::Conflict(_)
            | StoreError::Invalid(_)),
        ) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

/// What the parts need to decide: the policy, the reclaim rules (the record's new countdown).
async fn context(db: &Db) -> Result<(CollisionPolicy, Vec<ReclaimRule>)> {
    Ok((policy(db).await?, countdown::rules(db).await?))
}

/// A party proposes `winner`, or accepts the other party's proposal of the same winner, which
/// settles the case without penalty. Only while the two may settle (stage `parties`).
pub async fn settle(
    db: &Db,
    viewer: &Viewer,
    id: CaseId,
    winner: UserId,
    now: DateTime<Utc>,
) -> Result<Case> {
    let (policy, rules) = context(db).await?;
    let v = viewer.clone();
    in_tx!(db, |tx| committed(settle_body(
        tx, v, id, winner, policy, rules, now
    )))??;
    crate::notify::announce(db, crate::notify::Change::notice(None));
    get(db, viewer, id, now).await
}

async fn settle_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    id: CaseId,
    winner: UserId,
    policy: CollisionPolicy,
    rules: Vec<ReclaimRule>,
    now: DateTime<Utc>,
) -> Result<()> {
    let (case, standing) = lock(tx, &viewer, id).await?;
    if case.status != OPEN {
        return Err(closed());
    }
    if !standing.party {
        return Err(StoreError::Forbidden);
    }
    if case.stage(&policy, now) != Some(CaseStage::Parties) {
        return Err(StoreError::Conflict("settle_time_over"));
    }
    check_winner(&case, winner)?;
    let me = viewer.user_id;
    let accepted = case.parties().len() == 1
        || (case.proposed_by.is_some_and(|p| p != me) && case.proposed_winner_id == Some(winner));
    if accepted {
        let verdict = Verdict {
            winner,
            stage: CaseStage::Parties,
            by: me,
            note: None,
            status: SETTLED,
        };
        return finalize(tx, &case, &verdict, &policy, &rules, now).await;
    }
    tx.execute(
        "UPDATE collisions SET proposed_winner_id = $2, proposed_by = $3 WHERE id = $1",
        &[Arg::I64(id.0), Arg::I64(winner.0), Arg::I64(me.0)],
    )
    .await?;
    audit_case(tx, id, me, "propose", json!({ "winner_id": winner }), now).await?;
    for other in case.parties().into_iter().filter(|p| *p != me) {
        notify(
            tx,
            other,
            NOTE_PROPOSED,
            json!({ "case_id": id, "winner_id": winner }),
            now,
        )
        .await?;
    }
    Ok(())
}

/// A party says the two cannot settle: the case goes to the supervisor at once.
pub async fn escalate(db: &Db, viewer: &Viewer, id: CaseId, now: DateTime<Utc>) -> Result<Case> {
    let policy = policy(db).await?;
    let v = viewer.clone();
    in_tx!(db, |tx| committed(escalate_body(tx, v, id, policy, now)))??;
    crate::notify::announce(db, crate::notify::Change::notice(None));
    get(db, viewer, id, now).await
}

async fn escalate_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    id: CaseId,
    policy: CollisionPolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    let (case, standing) = lock(tx, &viewer, id).await?;
    if case.status != OPEN {
        return Err(closed());
    }
    if !standing.party {
        return Err(StoreError::Forbidden);
    }
    // Past the two's time it is the supervisor's (or leadership's) already: nothing to do.
    if case.stage(&policy, now) != Some(CaseStage::Parties) {
        return Ok(());
    }
    tx.execute(
        "UPDATE collisions SET escalated_at = $2 WHERE id = $1",
        &[Arg::I64(id.0), Arg::Time(now)],
    )
    .await?;
    audit_case(
        tx,
        id,
        viewer.user_id,
        "escalate",
        json!({ "escalated_at": now }),
        now,
    )
    .await?;
    let mut told = Vec::new();
    for party in case.parties() {
        for sup in supervisors_of(tx, party).await? {
            if !told.contains(&sup) {
                notify(tx, sup, NOTE_ESCALATED, json!({ "case_id": id }), now).await?;
                told.push(sup);
            }
        }
    }
    Ok(())
}

/// The loser of a supervisor's decision appeals within the supervisor's time (72 hours by
/// default): the case reopens at leadership.
pub async fn appeal(db: &Db, viewer: &Viewer, id: CaseId, now: DateTime<Utc>) -> Result<Case> {
    let policy = policy(db).await?;
    let v = viewer.clone();
    in_tx!(db, |tx| committed(appeal_body(tx, v, id, policy, now)))??;
    crate::notify::announce(db, crate::notify::Change::notice(None));
    get(db, viewer, id, now).await
}

async fn appeal_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    id: CaseId,
    policy: CollisionPolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    let (case, standing) = lock(tx, &viewer, id).await?;
    if !standing.party || case.winner_id == Some(viewer.user_id) {
        return Err(StoreError::Forbidden);
    }
    let decided_at = match (
        case.status.as_str(),
        case.decision_stage.as_deref(),
        case.decided_at,
    ) {
        (DECIDED, Some("supervisor"), Some(at)) => at,
        (OPEN, _, _) => return Err(StoreError::Conflict("case_open")),
        _ => return Err(StoreError::Conflict("appeal_closed")),
    };
    if !may_appeal(&policy, decided_at, now) {
        return Err(StoreError::Conflict("appeal_closed"));
    }
    tx.execute(
        "UPDATE collisions SET status = $2, appealed_at = $3, appealed_by = $4 WHERE id = $1",
        &[
            Arg::I64(id.0),
            Arg::Text(OPEN.to_string()),
            Arg::Time(now),
            Arg::I64(viewer.user_id.0),
        ],
    )
    .await?;
    audit_case(
        tx,
        id,
        viewer.user_id,
        "appeal",
        json!({ "appealed_at": now }),
        now,
    )
    .await?;
    let mut after = 0_i64;
    while let Some(row) = tx
        .fetch_optional(
            "SELECT id FROM users WHERE role = 'admin' AND active = $2 AND id > $1 ORDER BY id LIMIT 1",
            &[Arg::I64(after), Arg::Bool(true)],
        )
        .await?
    {
        after = row.i64(0)?;
        notify(tx, UserId(after), NOTE_APPEALED, json!({ "case_id": id }), now).await?;
    }
    Ok(())
}

/// The supervisor of either party's team decides at stage `supervisor`; an admin (leadership) at
/// any stage: at `leadership` when appealed or late, else as the supervisor would (a decision
/// by someone else than the two is never a settlement). The penalty follows the stage.
pub async fn decide(
    db: &Db,
    viewer: &Viewer,
    id: CaseId,
    winner: UserId,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<Case> {
    let (policy, rules) = context(db).await?;
    let v = viewer.clone();
    in_tx!(db, |tx| committed(decide_body(
        tx, v, id, winner, note, policy, rules, now
    )))??;
    crate::notify::announce(db, crate::notify::Change::notice(None));
    get(db, viewer, id, now).await
}

#[expect(
    clippy::too_many_arguments,
    reason = "one owned argument per fact the body needs"
)]
async fn decide_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    id: CaseId,
    winner: UserId,
    note: Option<String>,
    policy: CollisionPolicy,
    rules: Vec<ReclaimRule>,
    now: DateTime<Utc>,
) -> Result<()> {
    let (case, standing) = lock(tx, &viewer, id).await?;
    if case.status != OPEN {
        return Err(closed());
    }
    let start = case_start(&policy, case.created_at, case.escalated_at);
    let stage = case_stage(&policy, start, case.appealed_at.is_some(), now);
    let stage = if standing.admin {
        match stage {
            CaseStage::Parties => CaseStage::Supervisor,
            s => s,
        }
    } else if standing.supervisor && stage == CaseStage::Supervisor {
        stage
    } else {
        return Err(StoreError::Forbidden);
    };
    check_winner(&case, winner)?;
    let verdict = Verdict {
        winner,
        stage,
        by: viewer.user_id,
        note: note.filter(|n| !n.trim().is_empty()),
        status: DECIDED,
    };
    finalize(tx, &case, &verdict, &policy, &rules, now).await
}
