//! Daily call plans (F6) and the targets supervisors set: an agent picks leads for a day, or lets
//! the plan fill itself from due revisits, then fresh leads, up to the target. `next_call` serves
//! the plan after due revisits.

use chrono::{DateTime, Utc};
use leadline_domain::{LeadId, Role, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, now, write_audit};

/// The largest daily call target accepted.
pub const MAX_DAILY_TARGET: i64 = 2000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PlanItem {
    pub lead_id: LeadId,
    pub name: String,
    pub company: Option<String>,
    pub position: i64,
    /// `picked`, `revisit` or `fresh`.
    pub source: String,
    pub done_at: Option<DateTime<Utc>>,
}

/// The agent's plan for `date` ('YYYY-MM-DD' in the agent's zone), in order.
pub async fn list(db: &Db, agent: UserId, date: &str) -> Result<Vec<PlanItem>> {
    const SQL: &str = "SELECT p.lead_id, l.name, l.company, p.position, p.source, p.done_at \
        FROM plan_items p JOIN leads l ON l.id = p.lead_id \
        WHERE p.agent_id = $1 AND p.plan_date = $2 AND l.deleted_at IS NULL ORDER BY p.position, p.lead_id";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(agent)
        .bind(date)
        .fetch_all(pool)
        .await?))
}

/// Appends leads to a plan; leads already in it stay where they are. Returns how many were added.
async fn append(
    db: &Db,
    agent: UserId,
    date: &str,
    leads: &[LeadId],
    source: &str,
) -> Result<usize> {
    const NEXT: &str =
        "SELECT COALESCE(MAX(position), 0) FROM plan_items WHERE agent_id = $1 AND plan_date = $2";
    const INSERT: &str = "INSERT INTO plan_items (agent_id, plan_date, lead_id, position, source, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent_id, plan_date, lead_id) DO NOTHING";
    let at = now();
    let added = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut position: i64 = sqlx::query_scalar(NEXT)
            .bind(agent)
            .bind(date)
            .fetch_one(&mut *tx)
            .await?;
        let mut added = 0;
        for lead in leads {
            position += 1;
            let n = sqlx::query(INSERT)
                .bind(agent)
                .bind(date)
                .bind(lead)
                .bind(position)
                .bind(source)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            added += n as usize;
        }
        tx.commit().await?;
        added
    });
    Ok(added)
}

/// Checks a plan date: 'YYYY-MM-DD'.
pub fn valid_date(date: &str) -> Result<()> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| StoreError::invalid("date", "invalid_date"))
}

/// The agent picks leads for a day; every lead must be one the agent may see.
pub async fn pick(db: &Db, viewer: &Viewer, date: &str, leads: &[LeadId]) -> Result<usize> {
    valid_date(date)?;
    if leads.is_empty() {
        return Err(StoreError::invalid("lead_ids", "required"));
    }
    for id in leads {
        crate::leads::get(db, viewer, *id).await?;
    }
    append(db, viewer.user_id, date, leads, "picked").await
}

/// Removes a lead from the agent's plan.
pub async fn remove(db: &Db, agent: UserId, date: &str, lead: LeadId) -> Result<()> {
    let n = db_run!(db, |pool| sqlx::query(
        "DELETE FROM plan_items WHERE agent_id = $1 AND plan_date = $2 AND lead_id = $3"
    )
    .bind(agent)
    .bind(date)
    .bind(lead)
    .execute(pool)
    .await?
    .rows_affected());
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// How a fill went: how many came from due revisits and how many were fresh leads.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Filled {
    pub revisits: usize,
    pub fresh: usize,
    pub total: usize,
}

/// Fills the plan up to `target` items: first the agent's revisits due before `day_end`, then
/// fresh leads (new, the agent's own or in the pool, not on the do-not-call list, not reserved by
/// someone else, not in anyone's plan for that day) by priority.
pub async fn fill(
    db: &Db,
    agent: UserId,
    date: &str,
    target: i64,
    day_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Filled> {
    valid_date(date)?;
    let have = list(db, agent, date).await?.len() as i64;
    let mut room = (target - have).max(0);
    let mut filled = Filled::default();
    if room > 0 {
        const DUE: &str = "SELECT l.id FROM leads l WHERE l.revisit_agent_id = $1 AND l.next_revisit_at < $2 \
            AND l.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM plan_items p WHERE p.lead_id = l.id \
            AND p.plan_date = $3 AND p.agent_id = $1) ORDER BY l.next_revisit_at, l.id LIMIT $4";
        let due: Vec<LeadId> = db_run!(db, |pool| sqlx::query_scalar(DUE)
            .bind(agent)
            .bind(day_end)
            .bind(date)
            .bind(room)
            .fetch_all(pool)
            .await?);
        filled.revisits = append(db, agent, date, &due, "revisit").await?;
        room -= filled.revisits as i64;
    }
    if room > 0 {
        const FRESH: &str = "SELECT l.id FROM leads l WHERE l.status = 'new' AND l.deleted_at IS NULL AND l.dnc = FALSE \
            AND (l.owner_id = $1 OR l.owner_id IS NULL) \
            AND (l.reserved_by IS NULL OR l.reserved_by = $1 OR l.reserved_until < $4) \
            AND l.next_revisit_at IS NULL \
            AND NOT EXISTS (SELECT 1 FROM plan_items p WHERE p.lead_id = l.id AND p.plan_date = $2) \
            AND NOT EXISTS (SELECT 1 FROM lead_phones ph JOIN dnc_numbers d ON d.e164 = ph.e164 WHERE ph.lead_id = l.id) \
            ORDER BY l.priority DESC, l.id LIMIT $3";
        let fresh: Vec<LeadId> = db_run!(db, |pool| sqlx::query_scalar(FRESH)
            .bind(agent)
            .bind(date)
            .bind(room)
            .bind(now)
            .fetch_all(pool)
            .await?);
        filled.fresh = append(db, agent, date, &fresh, "fresh").await?;
    }
    filled.total = list(db, agent, date).await?.len();
    Ok(filled)
}

/// Sets an agent's daily call target: the admin, or a supervisor of the agent's team.
pub async fn set_target(db: &Db, actor: &Viewer, agent: UserId, daily_calls: i64) -> Result<i64> {
    if !(1..=MAX_DAILY_TARGET).contains(&daily_calls) {
        return Err(StoreError::invalid("daily_calls", "out_of_range"));
    }
    let user = crate::auth::users::get_user(db, agent).await?;
    let allowed = match actor.role {
        Role::Admin => true,
        Role::Supervisor => user
            .team_id
            .is_some_and(|t| actor.supervised_teams.contains(&t)),
        Role::Agent | Role::Sales | Role::Finance => false,
    };
    if !allowed {
        return Err(StoreError::Forbidden);
    }
    if user.role != Role::Agent {
        return Err(StoreError::invalid("agent_id", "not_an_agent"));
    }
    const UPSERT: &str = "INSERT INTO agent_targets (agent_id, daily_calls, set_by, updated_at) VALUES ($1, $2, $3, $4) \
        ON CONFLICT (agent_id) DO UPDATE SET daily_calls = $2, set_by = $3, updated_at = $4";
    let at = now();
    let before = crate::workday::today::target(db, agent).await?;
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(UPSERT)
            .bind(agent)
            .bind(daily_calls)
            .bind(actor.user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "agent_target",
                entity_id: agent.0,
                actor: Some(actor.user_id),
                action: "update",
                before: Some(json!({ "daily_calls": before })),
                after: Some(json!({ "daily_calls": daily_calls })),
                at,
            }
        )?;
        tx.commit().await?;
    });
    Ok(daily_calls)
}
