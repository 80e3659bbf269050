//! Demo data for ownership (issue 22): a named pool for the first team, countdowns that differ
//! from lead to lead (some close to their return to the pool), a week of claims, releases and
//! reclaims for the pool statistics, base pay for the penalties, one open collision case between
//! two agents of the first team, and one decided by the supervisor in the ledger.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::ownership::{CaseStage, CollisionPolicy, penalty_fen};
use leadline_domain::{LeadId, PoolId, TeamId, UserId};

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::ownership::countdown;
use crate::ownership::events::{self, Action, Event};
use crate::{Db, Result, StoreError, db_run, in_tx};

/// Base pay of every demo agent: 4,000.00 元.
const BASE_PAY_FEN: i64 = 400_000;

pub async fn seed(
    db: &Db,
    admin: UserId,
    teams: &[TeamId],
    supervisors: &[UserId],
    agents: &[UserId],
    now: DateTime<Utc>,
) -> Result<()> {
    let rules = countdown::rules(db).await?;
    let owned = ids(
        db,
        "SELECT id FROM leads WHERE owner_id IS NOT NULL AND deleted_at IS NULL ORDER BY id",
        None,
    )
    .await?;
    let pool_leads = ids(
        db,
        "SELECT id FROM leads WHERE owner_id IS NULL AND deleted_at IS NULL ORDER BY id",
        None,
    )
    .await?;
    let by_owner = "SELECT id FROM leads WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY id";
    let [a1, a2, ..] = agents[..] else {
        return Err(StoreError::Internal("demo: too few agents".into()));
    };
    let leads = DemoLeads {
        owned,
        pool: pool_leads,
        first: ids(db, by_owner, Some(a1)).await?,
        second: ids(db, by_owner, Some(a2)).await?,
    };
    let people = People {
        admin,
        teams: teams.to_vec(),
        supervisors: supervisors.to_vec(),
        agents: agents.to_vec(),
    };
    in_tx!(db, |tx| seed_body(tx, rules, leads, people, now))
}

/// The demo's people.
struct People {
    admin: UserId,
    teams: Vec<TeamId>,
    supervisors: Vec<UserId>,
    agents: Vec<UserId>,
}

/// The leads the demo works on, read before its transaction.
struct DemoLeads {
    owned: Vec<i64>,
    pool: Vec<i64>,
    /// The first and the second agent's.
    first: Vec<i64>,
    second: Vec<i64>,
}

async fn ids(db: &Db, sql: &'static str, owner: Option<UserId>) -> Result<Vec<i64>> {
    Ok(db_run!(db, |pool| {
        let q = sqlx::query_scalar(sql);
        match owner {
            Some(o) => q.bind(o).fetch_all(pool).await?,
            None => q.fetch_all(pool).await?,
        }
    }))
}

async fn seed_body(
    tx: &mut impl Tx,
    rules: Vec<leadline_domain::ownership::ReclaimRule>,
    leads: DemoLeads,
    people: People,
    now: DateTime<Utc>,
) -> Result<()> {
    let People {
        admin,
        teams,
        supervisors,
        agents,
    } = people;
    let [team1, ..] = teams[..] else {
        return Err(StoreError::Internal("demo: no team".into()));
    };
    let [a1, a2, a3, ..] = agents[..] else {
        return Err(StoreError::Internal("demo: too few agents".into()));
    };
    for a in &agents {
        tx.execute(
            "UPDATE users SET base_pay_fen = $2 WHERE id = $1",
            &[Arg::I64(a.0), Arg::I64(BASE_PAY_FEN)],
        )
        .await?;
    }
    // 华东公海, open to the first team, with a tenth of the pool's leads.
    let pool = PoolId(
        tx.fetch_one(
            "INSERT INTO pools (name, created_at) VALUES ('华东公海', $1) RETURNING id",
            &[Arg::Time(now)],
        )
        .await?
        .i64(0)?,
    );
    tx.execute(
        "INSERT INTO pool_teams (pool_id, team_id) VALUES ($1, $2)",
        &[Arg::I64(pool.0), Arg::I64(team1.0)],
    )
    .await?;
    tx.execute(
        "UPDATE leads SET pool_id = $1 WHERE owner_id IS NULL AND id % 10 = 3",
        &[Arg::I64(pool.0)],
    )
    .await?;

    // Owned leads: owned for 1 to 14 days, so that the list shows every countdown from
    // 还剩 15 天 down to 还剩 1 天; each with its first line of history.
    for id in leads.owned {
        let days = id % 15;
        let since = now - Duration::days(days) - Duration::hours(id % 7);
        let row = tx
            .fetch_one(
                "UPDATE leads SET owned_since = $2 WHERE id = $1 RETURNING owner_id",
                &[Arg::I64(id), Arg::Time(since)],
            )
            .await?;
        let owner = row.opt_i64(0)?.map(UserId);
        let event = Event {
            to: owner,
            actor: Some(admin),
            ..Event::new(LeadId(id), since, Action::Import)
        };
        events::record(tx, &event).await?;
        countdown::refresh(tx, &rules, LeadId(id)).await?;
    }

    // A week of pool traffic for the statistics: each day two claims and one release by each of
    // the first three agents, and one reclaim by the 15-day rule.
    let pool_leads = leads.pool;
    let rule = rules.first().map(|r| r.id);
    let mut traffic = pool_leads.iter().copied().cycle();
    for day in 1..=7 {
        for (k, agent) in [a1, a2, a3].into_iter().enumerate() {
            let at = now - Duration::days(day) + Duration::hours(2 + k as i64);
            for _ in 0..2 {
                let lead = LeadId(traffic.next().unwrap_or(1));
                let claim = Event {
                    to: Some(agent),
                    actor: Some(agent),
                    ..Event::new(lead, at, Action::Claim)
                };
                events::record(tx, &claim).await?;
                let release = Event {
                    from: Some(agent),
                    actor: Some(agent),
                    reason: Some("客户暂无需求".into()),
                    ..Event::new(lead, at + Duration::hours(3), Action::Release)
                };
                events::record(tx, &release).await?;
            }
        }
        let lead = LeadId(traffic.next().unwrap_or(1));
        let reclaim = Event {
            from: Some(a3),
            rule,
            ..Event::new(
                lead,
                now - Duration::days(day) + Duration::hours(1),
                Action::Reclaim,
            )
        };
        events::record(tx, &reclaim).await?;
    }

    // Two 撞单 between 张伟 and 李娜: one open since yesterday (the two may still settle it), one
    // decided by their supervisor a week ago with the regulations' 30% on each.
    let (mine, theirs) = (leads.first, leads.second);
    let (Some(&open_a), Some(&open_b), Some(&done_a), Some(&done_b)) =
        (mine.get(1), theirs.get(1), mine.get(2), theirs.get(2))
    else {
        return Err(StoreError::Internal("demo: too few owned leads".into()));
    };
    for (existing, new, at, decided) in [
        (open_a, open_b, now - Duration::days(1), false),
        (done_a, done_b, now - Duration::days(9), true),
    ] {
        let e164 = tx
            .fetch_one(
                "SELECT e164 FROM lead_phones WHERE lead_id = $1 ORDER BY position LIMIT 1",
                &[Arg::I64(existing)],
            )
            .await?
            .text(0)?;
        let case = tx
            .fetch_one(
                "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, existing_owner_id, new_owner_id, \
                 recorded_by, status, created_at, match_kind) VALUES ($1, $2, $3, $4, $5, $5, 'open', $6, 'phone') RETURNING id",
                &[
                    Arg::I64(new),
                    Arg::I64(existing),
                    Arg::Text(e164.clone()),
                    Arg::I64(a1.0),
                    Arg::I64(a2.0),
                    Arg::Time(at),
                ],
            )
            .await?
            .i64(0)?;
        tx.execute(
            "INSERT INTO lead_phones (lead_id, e164, raw, position, collision_with) VALUES ($1, $2, $2, 9, $3)",
            &[Arg::I64(new), Arg::Text(e164), Arg::I64(existing)],
        )
        .await?;
        if !decided {
            continue;
        }
        let policy = CollisionPolicy::default();
        let stage = CaseStage::Supervisor;
        let bp = stage.penalty_bp(&policy);
        let decided_at = at + Duration::days(3);
        let boss = supervisors.first().copied();
        tx.execute(
            "UPDATE collisions SET status = 'decided', winner_id = $2, decided_by = $3, decided_at = $4, \
             decision_stage = $5, decision_note = $6, escalated_at = $7 WHERE id = $1",
            &[
                Arg::I64(case),
                Arg::I64(a1.0),
                Arg::OptI64(boss.map(|b| b.0)),
                Arg::Time(decided_at),
                Arg::Text(stage.code().into()),
                Arg::Text("张伟先建档并有有效跟进记录，归张伟".into()),
                Arg::Time(at + Duration::days(2)),
            ],
        )
        .await?;
        for (user, against, outcome) in [(a1, a2, "won"), (a2, a1, "lost")] {
            tx.execute(
                "INSERT INTO collision_ledger (case_id, user_id, against_user_id, outcome, stage, decided_by, \
                 penalty_bp, penalty_fen, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    Arg::I64(case),
                    Arg::I64(user.0),
                    Arg::I64(against.0),
                    Arg::Text(outcome.into()),
                    Arg::Text(stage.code().into()),
                    Arg::OptI64(boss.map(|b| b.0)),
                    Arg::I64(i64::from(bp)),
                    Arg::I64(penalty_fen(BASE_PAY_FEN, bp)),
                    Arg::Time(decided_at),
                ],
            )
            .await?;
        }
        tx.execute(
            "UPDATE leads SET owner_id = $2 WHERE id = $1",
            &[Arg::I64(new), Arg::I64(a1.0)],
        )
        .await?;
        let decision = Event {
            from: Some(a2),
            to: Some(a1),
            actor: boss,
            case: Some(leadline_domain::CaseId(case)),
            reason: Some("撞单裁定".into()),
            ..Event::new(LeadId(new), decided_at, Action::Decision)
        };
        events::record(tx, &decision).await?;
        countdown::refresh(tx, &rules, LeadId(new)).await?;
    }
    Ok(())
}
