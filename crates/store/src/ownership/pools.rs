//! The public pools (公海): named pools open to chosen teams, the claim limits, the masked
//! phone of pool leads and the pool's leads as the pool page lists them (statistics: `pool_stats`).

use chrono::{DateTime, Utc};
use leadline_domain::ownership::{ClaimCounts, ClaimLimits, claims_left, limits_for};
use leadline_domain::{LeadId, PoolId, Role, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use super::claim::{self, CLAIMED_SINCE, HELD, LimitRow, day_start, limit_settings};
use crate::audit::{self, AuditEntry};
use crate::db::sql::{Arg, Sql};
use crate::db::tx::Tx;
use crate::leads::visible_leads;
use crate::workday::config;
use crate::{Db, Result, StoreError, bind_args, db_run, in_tx};

/// The setting that masks the phone of pool leads for agents and sales reps until claimed.
pub const MASK_PHONE_KEY: &str = "pool_mask_phone";
/// The longest pool name.
pub const MAX_NAME: usize = 40;
/// Pool leads listed on one page.
pub const PAGE: i64 = 100;

/// A pool open to the viewer, with how many leads wait in it.
#[derive(Debug, Clone, Serialize)]
pub struct PoolSummary {
    /// `None`: the default pool (公海), open to everyone.
    pub id: Option<PoolId>,
    /// `None` for the default pool (the interface names it).
    pub name: Option<String>,
    pub team_ids: Vec<TeamId>,
    pub leads: i64,
}

/// What is left of the caller's limits; `None` where there is no limit.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsLeft {
    pub limits: ClaimLimits,
    pub claims_today: u32,
    pub held: u32,
    pub claims_left: Option<u32>,
    pub held_left: Option<u32>,
}

/// Whether a named pool exists.
pub async fn exists(db: &Db, pool: PoolId) -> Result<bool> {
    let found: Option<i64> = db_run!(db, |p| {
        sqlx::query_scalar("SELECT id FROM pools WHERE id = $1")
            .bind(pool)
            .fetch_optional(p)
            .await?
    });
    Ok(found.is_some())
}

/// Whether `viewer` may list and claim from `pool` (`None`: the default pool, open to all).
pub fn open_to(viewer: &Viewer, pool: Option<PoolId>) -> bool {
    pool.is_none_or(|p| viewer.role == Role::Admin || viewer.pools.contains(&p))
}

/// The pools open to `viewer`: the default pool first, then the named ones by name.
pub async fn list_for(db: &Db, viewer: &Viewer) -> Result<Vec<PoolSummary>> {
    let named: Vec<(PoolId, String)> = db_run!(db, |p| {
        sqlx::query_as("SELECT id, name FROM pools ORDER BY name, id")
            .fetch_all(p)
            .await?
    });
    let teams: Vec<(PoolId, TeamId)> = db_run!(db, |p| {
        sqlx::query_as("SELECT pool_id, team_id FROM pool_teams ORDER BY pool_id, team_id")
            .fetch_all(p)
            .await?
    });
    let counts: Vec<(Option<PoolId>, i64)> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT pool_id, COUNT(*) FROM leads WHERE owner_id IS NULL AND deleted_at IS NULL GROUP BY pool_id",
        )
        .fetch_all(p)
        .await?
    });
    let count = |id: Option<PoolId>| counts.iter().find(|(p, _)| *p == id).map_or(0, |(_, n)| *n);
    let mut out = vec![PoolSummary {
        id: None,
        name: None,
        team_ids: Vec::new(),
        leads: count(None),
    }];
    for (id, name) in named {
        if !open_to(viewer, Some(id)) {
            continue;
        }
        out.push(PoolSummary {
            id: Some(id),
            name: Some(name),
            team_ids: teams
                .iter()
                .filter(|(p, _)| *p == id)
                .map(|(_, t)| *t)
                .collect(),
            leads: count(Some(id)),
        });
    }
    Ok(out)
}

/// The caller's limits and what is left of them now (the pool page's header).
pub async fn limits_left(db: &Db, viewer: &Viewer, now: DateTime<Utc>) -> Result<LimitsLeft> {
    let me = viewer.user_id;
    let team: Option<TeamId> = db_run!(db, |p| {
        sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1")
            .bind(me)
            .fetch_optional(p)
            .await?
            .flatten()
    });
    let limits = limits_for(viewer.role, team, &limit_settings(db).await?);
    let since = day_start(now, crate::call_stats::org_zone(db).await?);
    let today: i64 = db_run!(db, |p| {
        sqlx::query_scalar(CLAIMED_SINCE)
            .bind(me)
            .bind(since)
            .fetch_one(p)
            .await?
    });
    let held: i64 = db_run!(db, |p| {
        sqlx::query_scalar(HELD).bind(me).fetch_one(p).await?
    });
    let counts = ClaimCounts {
        today: u32::try_from(today.max(0)).unwrap_or(u32::MAX),
        held: u32::try_from(held.max(0)).unwrap_or(u32::MAX),
    };
    let (claims_left, held_left) = claims_left(&limits, counts);
    Ok(LimitsLeft {
        limits,
        claims_today: counts.today,
        held: counts.held,
        claims_left,
        held_left,
    })
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(StoreError::invalid("name", "invalid"));
    }
    Ok(name.to_string())
}

async fn check_teams(db: &Db, teams: &[TeamId]) -> Result<Vec<TeamId>> {
    let mut teams = teams.to_vec();
    teams.sort();
    teams.dedup();
    for t in &teams {
        let found: Option<i64> = db_run!(db, |p| {
            sqlx::query_scalar("SELECT id FROM teams WHERE id = $1")
                .bind(t)
                .fetch_optional(p)
                .await?
        });
        if found.is_none() {
            return Err(StoreError::invalid("team_ids", "unknown"));
        }
    }
    Ok(teams)
}

/// Creates a named pool open to `teams` (admin). A name taken is `AlreadyExists("pool")`.
pub async fn create(
    db: &Db,
    actor: UserId,
    name: &str,
    teams: &[TeamId],
    now: DateTime<Utc>,
) -> Result<PoolId> {
    let name = check_name(name)?;
    let teams = check_teams(db, teams).await?;
    in_tx!(db, |tx| save_body(
        tx,
        actor,
        None,
        Some(name),
        Some(teams),
        now
    ))
}

/// Renames a pool or changes its teams (admin); what is `None` stays.
pub async fn update(
    db: &Db,
    actor: UserId,
    pool: PoolId,
    name: Option<&str>,
    teams: Option<&[TeamId]>,
    now: DateTime<Utc>,
) -> Result<PoolId> {
    let name = name.map(check_name).transpose()?;
    let teams = match teams {
        Some(t) => Some(check_teams(db, t).await?),
        None => None,
    };
    in_tx!(db, |tx| save_body(tx, actor, Some(pool), name, teams, now))
}

async fn save_body(
    tx: &mut impl Tx,
    actor: UserId,
    pool: Option<PoolId>,
    name: Option<String>,
    teams: Option<Vec<TeamId>>,
    now: DateTime<Utc>,
) -> Result<PoolId> {
    let id = match pool {
        None => PoolId(
            tx.fetch_one_unique(
                "INSERT INTO pools (name, created_at) VALUES ($1, $2) RETURNING id",
                &[Arg::Text(name.clone().unwrap_or_default()), Arg::Time(now)],
                "pool",
            )
            .await?
            .i64(0)?,
        ),
        Some(id) => {
            tx.fetch_optional("SELECT id FROM pools WHERE id = $1", &[Arg::I64(id.0)])
                .await?
                .ok_or(StoreError::NotFound)?;
            if let Some(n) = &name {
                tx.fetch_first(
                    "UPDATE pools SET name = $2 WHERE id = $1 RETURNING id",
                    &[Arg::I64(id.0), Arg::Text(n.clone())],
                    Some("pool"),
                )
                .await?;
            }
            id
        }
    };
    if let Some(teams) = &teams {
        tx.execute(
            "DELETE FROM pool_teams WHERE pool_id = $1",
            &[Arg::I64(id.0)],
        )
        .await?;
        for t in teams {
            tx.execute(
                "INSERT INTO pool_teams (pool_id, team_id) VALUES ($1, $2)",
                &[Arg::I64(id.0), Arg::I64(t.0)],
            )
            .await?;
        }
    }
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "pool",
            entity_id: id.0,
            actor: Some(actor),
            action: if pool.is_some() { "update" } else { "create" },
            before: None,
            after: Some(json!({ "name": name, "team_ids": teams })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(id)
}

/// Deletes a named pool (admin). A pool that is the home of any lead, waiting in it or owned,
/// is refused with `Conflict("pool_not_empty")`: its leads are moved first (release them to
/// another pool), so that nothing lands in the default pool unseen. Its history stays, without
/// the pool's id.
pub async fn delete(db: &Db, actor: UserId, pool: PoolId, now: DateTime<Utc>) -> Result<()> {
    in_tx!(db, |tx| delete_body(tx, actor, pool, now))
}

async fn delete_body(
    tx: &mut impl Tx,
    actor: UserId,
    pool: PoolId,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = tx
        .fetch_optional("SELECT name FROM pools WHERE id = $1", &[Arg::I64(pool.0)])
        .await?
        .ok_or(StoreError::NotFound)?;
    let name = row.text(0)?;
    if tx
        .fetch_optional(
            "SELECT id FROM leads WHERE pool_id = $1 LIMIT 1",
            &[Arg::I64(pool.0)],
        )
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict("pool_not_empty"));
    }
    let id = [Arg::I64(pool.0)];
    tx.execute(
        "UPDATE ownership_events SET pool_id = NULL WHERE pool_id = $1",
        &id,
    )
    .await?;
    tx.execute("DELETE FROM pool_teams WHERE pool_id = $1", &id)
        .await?;
    tx.execute("DELETE FROM pools WHERE id = $1", &id).await?;
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "pool",
            entity_id: pool.0,
            actor: Some(actor),
            action: "delete",
            before: Some(json!({ "name": name })),
            after: None,
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

/// The claim limit rows, per role or per team.
pub async fn limit_rows(db: &Db) -> Result<Vec<LimitRow>> {
    Ok(db_run!(db, |p| {
        sqlx::query_as(claim::LIMITS).fetch_all(p).await?
    }))
}

/// A claim limit as an admin sets it: for a role or for a team (exactly one).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LimitInput {
    pub role: Option<String>,
    pub team_id: Option<i64>,
    pub per_day: Option<i64>,
    pub held_at_once: Option<i64>,
    pub cooldown_phone_minutes: Option<i64>,
    pub cooldown_company_minutes: Option<i64>,
}

/// The largest count or number of minutes a limit takes (a year of minutes).
pub const MAX_LIMIT: i64 = 525_600;

/// Replaces every claim limit row (admin), checked first: each names a known role or an
/// existing team (not both), one row per role or team, numbers from 0 to [`MAX_LIMIT`].
pub async fn replace_limits(
    db: &Db,
    actor: UserId,
    rows: &[LimitInput],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut seen = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let field = |f: &str| format!("limits[{i}].{f}");
        match (&r.role, r.team_id) {
            (Some(role), None) if Role::parse(role).is_some() => {}
            (None, Some(t)) => {
                check_teams(db, &[TeamId(t)])
                    .await
                    .map_err(|_| StoreError::invalid(&field("team_id"), "unknown"))?;
            }
            _ => return Err(StoreError::invalid(&field("role"), "invalid")),
        }
        let key = (r.role.clone(), r.team_id);
        if seen.contains(&key) {
            return Err(StoreError::invalid(&field("role"), "duplicate"));
        }
        seen.push(key);
        for (name, v) in [
            ("per_day", r.per_day),
            ("held_at_once", r.held_at_once),
            ("cooldown_phone_minutes", r.cooldown_phone_minutes),
            ("cooldown_company_minutes", r.cooldown_company_minutes),
        ] {
            if v.is_some_and(|n| !(0..=MAX_LIMIT).contains(&n)) {
                return Err(StoreError::invalid(&field(name), "out_of_range"));
            }
        }
    }
    let rows = rows.to_vec();
    in_tx!(db, |tx| replace_limits_body(tx, actor, rows, now))
}

async fn replace_limits_body(
    tx: &mut impl Tx,
    actor: UserId,
    rows: Vec<LimitInput>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute("DELETE FROM claim_limits", &[]).await?;
    let defaults = ClaimLimits::default();
    for r in &rows {
        tx.execute(
            "INSERT INTO claim_limits (role, team_id, per_day, held_at_once, cooldown_phone_minutes, cooldown_company_minutes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Arg::OptText(r.role.clone()),
                Arg::OptI64(r.team_id),
                Arg::OptI64(r.per_day),
                Arg::OptI64(r.held_at_once),
                Arg::I64(
                    r.cooldown_phone_minutes
                        .unwrap_or(i64::from(defaults.cooldown_phone_minutes)),
                ),
                Arg::I64(
                    r.cooldown_company_minutes
                        .unwrap_or(i64::from(defaults.cooldown_company_minutes)),
                ),
            ],
        )
        .await?;
    }
    let after: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({ "role": r.role, "team_id": r.team_id, "per_day": r.per_day,
            "held_at_once": r.held_at_once, "cooldown_phone_minutes": r.cooldown_phone_minutes,
            "cooldown_company_minutes": r.cooldown_company_minutes })
        })
        .collect();
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "claim_limits",
            entity_id: 0,
            actor: Some(actor),
            action: "update",
            before: None,
            after: Some(json!(after)),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

/// Whether pool leads show a masked phone to agents and sales reps.
pub async fn mask_phone(db: &Db) -> Result<bool> {
    Ok(config::int_setting(db, MASK_PHONE_KEY, 0).await? != 0)
}

pub async fn set_mask_phone(db: &Db, actor: UserId, on: bool) -> Result<()> {
    config::set_int_setting(db, actor, MASK_PHONE_KEY, i64::from(on)).await
}

/// Whether `viewer` sees the masked phone of a pool lead (when the setting is on).
pub fn masks_for(viewer: &Viewer) -> bool {
    matches!(viewer.role, Role::Agent | Role::Sales)
}

/// A phone as a pool lead shows it masked: the four digits before the last four hidden, the
/// rest kept, so the length and the area or country prefix stay (138****5678,
/// +86138****5678); a short number keeps only its last two.
pub fn masked(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let n = chars.len();
    let (hide_from, hide_to) = if n >= 8 {
        (n - 8, n - 4)
    } else {
        (0, n - n.min(2))
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if (hide_from..hide_to).contains(&i) {
                '*'
            } else {
                *c
            }
        })
        .collect()
}

fn mask_numbers(lead: &mut crate::leads::Lead) {
    for p in &mut lead.phones {
        p.raw = masked(&p.raw);
        p.e164 = masked(&p.e164);
    }
}

/// Masks the numbers of a pool lead for `viewer` when the setting is on (the card and the API
/// show 138****5678 until claimed).
pub async fn mask_lead(db: &Db, viewer: &Viewer, lead: &mut crate::leads::Lead) -> Result<()> {
    mask_leads(db, viewer, std::slice::from_mut(lead)).await
}

/// [`mask_lead`] for a page of leads (the list and its API): the setting is read once, and not
/// at all when every lead is owned or the viewer sees plain numbers.
pub async fn mask_leads(db: &Db, viewer: &Viewer, leads: &mut [crate::leads::Lead]) -> Result<()> {
    let pooled = |l: &crate::leads::Lead| l.owner_id.is_none();
    if !masks_for(viewer) || !leads.iter().any(pooled) || !mask_phone(db).await? {
        return Ok(());
    }
    leads
        .iter_mut()
        .filter(|l| pooled(l))
        .for_each(mask_numbers);
    Ok(())
}

/// A lead waiting in a pool, as the pool page lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PoolLead {
    pub id: LeadId,
    pub name: String,
    pub company: Option<String>,
    pub city: Option<String>,
    pub source: Option<String>,
    /// The first number, masked when the setting is on for this viewer.
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The leads waiting in `pool` that `viewer` may see, oldest first, after `after` (paging).
pub async fn leads_in(
    db: &Db,
    viewer: &Viewer,
    pool: Option<PoolId>,
    after: Option<LeadId>,
) -> Result<Vec<PoolLead>> {
    if !open_to(viewer, pool) {
        return Err(StoreError::NotFound);
    }
    let mut sql = Sql::new(
        "SELECT l.id, l.name, l.company, l.city, l.source, \
         (SELECT p.raw FROM lead_phones p WHERE p.lead_id = l.id ORDER BY p.position, p.id LIMIT 1) AS phone, \
         l.created_at FROM leads l WHERE l.owner_id IS NULL AND l.deleted_at IS NULL AND ",
    );
    match pool {
        Some(p) => sql.push_bind("l.pool_id = ?", Arg::I64(p.0)),
        None => sql.push("l.pool_id IS NULL"),
    };
    if let Some(a) = after {
        sql.push_bind(" AND l.id > ?", Arg::I64(a.0));
    }
    let mut args = std::mem::take(&mut sql.args);
    let visible = visible_leads(viewer, "l", |me| {
        args.push(Arg::I64(me.0));
        format!("${}", args.len())
    });
    sql.args = args;
    sql.push(" AND ")
        .push(&visible)
        .push(&format!(" ORDER BY l.id LIMIT {PAGE}"));
    let mut rows: Vec<PoolLead> = db_run!(db, |p| {
        bind_args!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.text.clone())),
            sql.args
        )
        .fetch_all(p)
        .await?
    });
    if masks_for(viewer) && mask_phone(db).await? {
        for r in &mut rows {
            r.phone = r.phone.as_deref().map(masked);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
