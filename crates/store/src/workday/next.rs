//! Serving the next lead: select and reserve in one statement, so that two agents never hold
//! the same lead. Tiers are tried in order — due revisits (oldest first; then those of absent
//! colleagues the agent is the backup owner of, see [`covered_sql`]), today's plan (plan
//! order), fresh leads (priority, then id) — each tier one atomic select-and-reserve:
//! PostgreSQL `FOR UPDATE SKIP LOCKED` in a CTE with `UPDATE … RETURNING`; SQLite a single
//! `UPDATE … WHERE id = (SELECT …) RETURNING` (SQLite has one writer).

use chrono::{DateTime, Duration, Utc};
use leadline_domain::calling_hours::{self, CallingHours, DEFAULT_TZ};
use leadline_domain::next_call::{CLOSED, Tier};
use leadline_domain::{LeadId, Role, TeamId, UserId, Viewer};
use serde::Serialize;

use crate::db::sql::Arg;
use crate::db::tx::{PgTx, Row, SqliteTx, Tx, run_ready};
use crate::leads::{self, Lead};
use crate::workday::config;
use crate::{Backend, Db, Result, db::sqlite_writer, db_run};

/// A lead served to an agent.
#[derive(Debug, Clone, Serialize)]
pub struct Served {
    pub lead: Lead,
    pub reserved_until: DateTime<Utc>,
    pub tier: Tier,
    pub next_revisit_at: Option<DateTime<Utc>>,
    pub attempts: i64,
}

/// Everything next-call needs that does not change from call to call (windows, zones, limits);
/// callers serving many agents may keep it a short while.
#[derive(Debug, Clone)]
pub struct Plan {
    pub hours: CallingHours,
    pub max_attempts: i64,
    pub reserve_minutes: i64,
    /// Zones other than the default that leads name.
    pub zones: Vec<String>,
}

impl Plan {
    pub fn from_snapshot(snap: &config::Snapshot, team: Option<TeamId>) -> Plan {
        Plan {
            hours: snap.calling_hours(team),
            max_attempts: snap.max_attempts,
            reserve_minutes: snap.reserve_minutes,
            zones: snap.zones.clone(),
        }
    }

    /// (default zone open now, other zones open now).
    fn open_zones(&self, now: DateTime<Utc>) -> (bool, Vec<String>) {
        let default_open = self.hours.is_callable(now, DEFAULT_TZ);
        let others = self
            .zones
            .iter()
            .filter(|z| self.hours.is_callable(now, calling_hours::zone(Some(z))))
            .cloned()
            .collect();
        (default_open, others)
    }
}

/// Builds the select of one tier's first callable lead (its id), which [`reserve`] or
/// [`reserve_all`] wrap into the select-and-reserve. Binds: $1 agent, $2 now, $3 reserved until,
/// $4 max attempts, $5 plan date, then the open zones.
fn tier_sql(viewer: &Viewer, tier: Tier, open: &Open) -> String {
    // The viewer is `$1`, so that every agent shares one prepared statement.
    let vis = leads::visible_leads(viewer, "l", |_| "$1".to_string());
    let common = common_cond(open);
    let (from, cond, order) = match tier {
        Tier::DueRevisit => (
            "leads l".to_string(),
            format!("l.next_revisit_at <= $2 AND (l.revisit_agent_id = $1 OR (l.revisit_agent_id IS NULL AND {vis}))"),
            "l.next_revisit_at, l.id",
        ),
        Tier::Plan => (
            "leads l JOIN plan_items pi ON pi.lead_id = l.id AND pi.agent_id = $1 AND pi.plan_date = $5 AND pi.done_at IS NULL".to_string(),
            format!("({vis} OR l.revisit_agent_id = $1)"),
            "pi.position, l.id",
        ),
        Tier::Fresh => ("leads l".to_string(), format!("l.status = 'new' AND {vis}"), "l.priority DESC, l.id"),
    };
    format!("SELECT l.id FROM {from} WHERE {cond} AND {common} ORDER BY {order} LIMIT 1")
}

/// The due revisits the agent (`$1`) covers as backup owner (副负责人) while the person they
/// were scheduled for is away (请假, `absences`), oldest first: the rule of
/// `ownership::people::absence::recipient_for`, for the one who takes calls (a supervisor,
/// the recipient when there is no backup, takes no calls). Same binds as [`tier_sql`]. Cheap
/// for everyone: it seeks the agent's backup leads (`leads_backup`) and each one's absences
/// (`absences_user`); an agent who backs nobody up reads one index entry.
fn covered_sql(open: &Open) -> String {
    let cond = "l.backup_owner_id = $1 AND l.next_revisit_at <= $2 AND l.revisit_agent_id <> $1 \
        AND EXISTS (SELECT 1 FROM absences a WHERE a.user_id = l.revisit_agent_id \
        AND a.ends_at > $2 AND a.starts_at <= $2)";
    format!(
        "SELECT l.id FROM leads l WHERE {cond} AND {common} ORDER BY l.next_revisit_at, l.id LIMIT 1",
        common = common_cond(open)
    )
}

/// Which leads a pick may take besides the tier's own condition.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// The default zone's calling window is open now.
    default_open: bool,
    /// How many other zones are open now (bound from `$6`).
    zones: usize,
    /// A lead the agent skipped, passed over this once.
    skip: Option<LeadId>,
}

/// What every tier asks of a lead: live, callable, not reserved by someone else, in a zone
/// open now, no number on the do-not-call list.
fn common_cond(open: &Open) -> String {
    let Open {
        default_open,
        zones,
        skip,
    } = *open;
    let mut zone_terms = Vec::new();
    if default_open {
        zone_terms.push("l.timezone IS NULL".to_string());
    }
    if zones > 0 {
        let ps: Vec<String> = (0..zones).map(|i| format!("${}", 6 + i)).collect();
        zone_terms.push(format!("l.timezone IN ({})", ps.join(", ")));
    }
    format!(
        "l.deleted_at IS NULL AND l.dnc = FALSE AND l.status NOT IN ({closed}) AND l.attempts < $4 \
         AND (l.reserved_until IS NULL OR l.reserved_until <= $2 OR l.reserved_by = $1) \
         AND ({zones}) \
         AND NOT EXISTS (SELECT 1 FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = l.id)",
        closed = closed_list(),
        zones = zone_terms.join(" OR "),
    ) + &skip.map_or_else(String::new, |id| format!(" AND l.id <> {}", id.0))
}

/// The closed statuses as an SQL list (`'qualified', …`), never served again.
pub(crate) fn closed_list() -> String {
    let closed: Vec<String> = CLOSED.iter().map(|s| format!("'{}'", s.code())).collect();
    closed.join(", ")
}

/// The select-and-reserve statement around a tier's `select` of one lead id (SQLite: each tier
/// on its own, in the writer's transaction).
fn reserve(select: &str) -> String {
    format!(
        "UPDATE leads SET reserved_by = $1, reserved_until = $3 WHERE id = ({select}) \
         AND CAST($5 AS TEXT) IS NOT NULL RETURNING id, next_revisit_at, attempts"
    )
}

/// PostgreSQL's select-and-reserve of every tier in one statement (one round trip): each tier
/// a `FOR UPDATE SKIP LOCKED` pick of one lead; the first tier that finds one wins and the
/// later ones never run (the union stops at its first row). The reservation writes only the
/// two reservation columns, which no index of leads names (migration 0032): a HOT update. The
/// agent's hold (`lead_holds`) is noted in the same statement. Returns id, next revisit,
/// attempts, tier (the step's position in `selects`).
fn reserve_all(selects: &[String]) -> String {
    let ctes: Vec<String> = selects
        .iter()
        .enumerate()
        .map(|(i, select)| format!("t{i} AS ({select} FOR UPDATE OF l SKIP LOCKED)"))
        .collect();
    let union: Vec<String> = (0..selects.len())
        .map(|i| format!("SELECT id, CAST({i} AS BIGINT) AS step FROM t{i}"))
        .collect();
    format!(
        "WITH {ctes}, pick AS ({union} LIMIT 1), \
         upd AS (UPDATE leads SET reserved_by = $1, reserved_until = $3 FROM pick WHERE leads.id = pick.id \
         AND CAST($5 AS TEXT) IS NOT NULL RETURNING leads.id, leads.next_revisit_at, leads.attempts, pick.step), \
         hold AS (INSERT INTO lead_holds (agent_id, lead_id) SELECT $1, id FROM upd \
         ON CONFLICT (agent_id) DO UPDATE SET lead_id = EXCLUDED.lead_id) \
         SELECT id, next_revisit_at, attempts, step FROM upd",
        ctes = ctes.join(", "),
        union = union.join(" UNION ALL "),
    )
}

/// Serves and reserves the next lead for `viewer`, or None when nothing is callable now. An
/// agent who already holds a lead gets it again (a double click does not take two leads);
/// `release` gives it back.
pub async fn next_call(db: &Db, viewer: &Viewer, now: DateTime<Utc>) -> Result<Option<Served>> {
    next_call_skipping(db, viewer, now, None).await
}

/// [`next_call`] after giving back `skip` (跳过): the agent's reservation of it is released and
/// the lead is passed over this once, so the next lead in the queue is served; it stays in the
/// queue for later (issue 25).
pub async fn next_call_skipping(
    db: &Db,
    viewer: &Viewer,
    now: DateTime<Utc>,
    skip: Option<LeadId>,
) -> Result<Option<Served>> {
    let snap = config::snapshot(db).await?;
    let picked = match db {
        // SQLite: the whole pick runs on the one writer, one hand-off for all its statements.
        Db::Sqlite(pool) => {
            let viewer = viewer.clone();
            sqlite_writer::run(pool, move |conn| {
                run_ready(pick(&mut SqliteTx(conn), &viewer, &snap, now, skip))
            })
            .await?
        }
        // PostgreSQL: each statement on its own (autocommit), on one pooled connection.
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            pick(&mut PgTx(&mut conn), viewer, &snap, now, skip).await?
        }
    };
    let Some(p) = picked else { return Ok(None) };
    let admin = Viewer {
        user_id: viewer.user_id,
        role: Role::Admin,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    };
    let lead = leads::get(db, &admin, p.id).await?;
    Ok(Some(Served {
        lead,
        reserved_until: p.until,
        tier: p.tier,
        next_revisit_at: p.next_revisit_at,
        attempts: p.attempts,
    }))
}

/// The lead a pick reserved.
struct Picked {
    id: LeadId,
    until: DateTime<Utc>,
    tier: Tier,
    next_revisit_at: Option<DateTime<Utc>>,
    attempts: i64,
}

/// The tier of a lead an agent already holds: a due revisit, or fresh.
fn held_tier(next_revisit_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Tier {
    if next_revisit_at.is_some_and(|t| t <= now) {
        Tier::DueRevisit
    } else {
        Tier::Fresh
    }
}

/// The arguments of every tier statement (see [`tier_sql`]).
fn tier_args(
    agent: UserId,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    plan: &Plan,
    zones: &[String],
) -> Vec<Arg> {
    [
        Arg::I64(agent.0),
        Arg::Time(now),
        Arg::Time(until),
        Arg::I64(plan.max_attempts),
        Arg::Text(calling_hours::local_day(now, DEFAULT_TZ)),
    ]
    .into_iter()
    .chain(zones.iter().map(|z| Arg::Text(z.to_string())))
    .collect()
}

/// The agent's team and the lead they hold now, if its reservation has not run out: team, id,
/// reserved until, next revisit, attempts (the lead's columns NULL when none). PostgreSQL finds
/// the lead through `lead_holds` (no index of leads names reserved_by there, see migration
/// 0032); the lead's own columns decide whether the hold still counts.
fn held_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "SELECT u.team_id, l.id, l.reserved_until, l.next_revisit_at, l.attempts FROM users u \
             LEFT JOIN leads l ON l.id = (SELECT id FROM leads WHERE reserved_by = $1 AND reserved_until > $2 \
             AND deleted_at IS NULL ORDER BY id LIMIT 1) WHERE u.id = $1"
        }
        Backend::Postgres => {
            "SELECT u.team_id, l.id, l.reserved_until, l.next_revisit_at, l.attempts FROM users u \
             LEFT JOIN lead_holds h ON h.agent_id = u.id \
             LEFT JOIN leads l ON l.id = h.lead_id AND l.reserved_by = $1 AND l.reserved_until > $2 \
             AND l.deleted_at IS NULL WHERE u.id = $1"
        }
    }
}

/// The pick, one body for both backends: the lead the agent already holds, else the first lead
/// of the first tier that has one. On SQLite it runs inside the writer's transaction (nobody
/// else writes meanwhile, so each tier is one `UPDATE … WHERE id = (SELECT …) RETURNING` with
/// no look beforehand, tried in turn); on PostgreSQL every tier is in one statement of
/// `FOR UPDATE SKIP LOCKED` select-and-reserves ([`reserve_all`]), so that concurrent agents
/// (on any server) skip each other's leads instead of waiting, and a pick is two round trips.
async fn pick(
    tx: &mut impl Tx,
    viewer: &Viewer,
    snap: &config::Snapshot,
    now: DateTime<Utc>,
    skip: Option<LeadId>,
) -> Result<Option<Picked>> {
    let agent = viewer.user_id;
    if let Some(lead) = skip {
        tx.execute(RELEASE_ONE, &[Arg::I64(agent.0), Arg::I64(lead.0)])
            .await?;
    }
    let backend = tx.backend();
    let row = tx
        .fetch_optional(held_sql(backend), &[Arg::I64(agent.0), Arg::Time(now)])
        .await?;
    let team = match row {
        Some(r) => {
            if let Some(id) = r.opt_i64(1)? {
                let next_revisit_at = r.opt_time(3)?;
                return Ok(Some(Picked {
                    id: LeadId(id),
                    until: r.time(2)?,
                    tier: held_tier(next_revisit_at, now),
                    next_revisit_at,
                    attempts: r.i64(4)?,
                }));
            }
            r.opt_i64(0)?.map(TeamId)
        }
        None => None,
    };
    let plan = Plan::from_snapshot(snap, team);
    let (default_open, zones) = plan.open_zones(now);
    if !default_open && zones.is_empty() {
        return Ok(None);
    }
    let until = now + Duration::minutes(plan.reserve_minutes);
    let args = tier_args(agent, now, until, &plan, &zones);
    let open = Open {
        default_open,
        zones: zones.len(),
        skip,
    };
    // The agent's own due revisits, then those they cover for an absent colleague, then the
    // plan, then fresh leads.
    let steps = [Tier::DueRevisit, Tier::DueRevisit, Tier::Plan, Tier::Fresh];
    let select = |step: usize, tier: Tier| match step {
        1 => covered_sql(&open),
        _ => tier_sql(viewer, tier, &open),
    };
    let picked = |r: Row, tier: Tier| -> Result<Picked> {
        Ok(Picked {
            id: LeadId(r.i64(0)?),
            until,
            tier,
            next_revisit_at: r.opt_time(1)?,
            attempts: r.i64(2)?,
        })
    };
    match backend {
        Backend::Postgres => {
            let selects: Vec<String> = steps
                .iter()
                .enumerate()
                .map(|(step, tier)| select(step, *tier))
                .collect();
            let Some(r) = tx.fetch_optional(&reserve_all(&selects), &args).await? else {
                return Ok(None);
            };
            let step = usize::try_from(r.i64(3)?).unwrap_or(0);
            let tier = steps.get(step).copied().unwrap_or(Tier::Fresh);
            picked(r, tier).map(Some)
        }
        // Each statement built only when the one before found nothing.
        Backend::Sqlite => {
            for (step, tier) in steps.into_iter().enumerate() {
                let sql = reserve(&select(step, tier));
                if let Some(r) = tx.fetch_optional(&sql, &args).await? {
                    return picked(r, tier).map(Some);
                }
            }
            Ok(None)
        }
    }
}

const RELEASE_ONE: &str = "UPDATE leads SET reserved_by = NULL, reserved_until = NULL \
    WHERE reserved_by = $1 AND id = $2";

/// Whether the agent's calling hours are open now, and when they open if not (issue 25: next
/// call finding nothing says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CallingNow {
    /// Some zone's window is open now (the default zone's, or one leads name).
    pub open: bool,
    /// When closed: the next opening in the default zone (none within the search horizon).
    pub opens_at: Option<DateTime<Utc>>,
}

pub async fn calling_now(db: &Db, agent: UserId, now: DateTime<Utc>) -> Result<CallingNow> {
    let snap = config::snapshot(db).await?;
    let team: Option<Option<i64>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT team_id FROM users WHERE id = $1"
    )
    .bind(agent)
    .fetch_optional(pool)
    .await?);
    let plan = Plan::from_snapshot(&snap, team.flatten().map(TeamId));
    let (default_open, zones) = plan.open_zones(now);
    let open = default_open || !zones.is_empty();
    Ok(CallingNow {
        open,
        opens_at: if open {
            None
        } else {
            plan.hours.next_open(now, DEFAULT_TZ)
        },
    })
}

/// Gives the agent's reserved lead(s) back (one lead, or all when `lead` is None); returns how
/// many were released.
pub async fn release(db: &Db, agent: UserId, lead: Option<LeadId>) -> Result<u64> {
    // PostgreSQL finds the agent's leads through lead_holds (see [`held_sql`]).
    let sql = match db.backend() {
        Backend::Sqlite => {
            "UPDATE leads SET reserved_by = NULL, reserved_until = NULL WHERE reserved_by = $1 AND ($2 IS NULL OR id = $2)"
        }
        Backend::Postgres => {
            "UPDATE leads SET reserved_by = NULL, reserved_until = NULL WHERE reserved_by = $1 \
             AND id = COALESCE($2, (SELECT lead_id FROM lead_holds WHERE agent_id = $1))"
        }
    };
    Ok(db_run!(db, |pool| {
        sqlx::query(sql)
            .bind(agent)
            .bind(lead)
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

/// A revisit due (or overdue) for an agent.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DueRevisit {
    pub lead_id: LeadId,
    pub name: String,
    pub company: Option<String>,
    pub status: String,
    pub next_revisit_at: DateTime<Utc>,
    pub attempts: i64,
}

/// The agent's revisits due up to `until` (overdue first), at most `limit`.
pub async fn due_revisits(
    db: &Db,
    agent: UserId,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueRevisit>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT id AS lead_id, name, company, status, next_revisit_at, attempts FROM leads \
         WHERE revisit_agent_id = $1 AND next_revisit_at <= $2 AND deleted_at IS NULL ORDER BY next_revisit_at, id LIMIT $3"
    )
    .bind(agent)
    .bind(until)
    .bind(limit)
    .fetch_all(pool)
    .await?
    }))
}

#[cfg(test)]
mod tests;
