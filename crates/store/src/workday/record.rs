//! Recording a call: one transaction inserts the call, moves the lead (status, attempts, next
//! revisit, reservation released, last-attempt action), lists do-not-call numbers, counts the
//! agent's day, queues the revisit reminder, indexes the note (PostgreSQL; SQLite indexes notes just
//! after their calls, see `search::index_new_notes`) and writes the audit entry.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use leadline_domain::calling_hours::{self, DEFAULT_TZ};
use leadline_domain::disposition::{Disposition, StatsDelta};
use leadline_domain::revisit::{self, AfterLast, Outcome};
use leadline_domain::{Access, IntentLevel, LeadId, LeadStatus, ScriptId, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::calls::{CallRecord, note_doc};
use crate::search::IndexDoc;
use crate::workday::config;
use crate::{
    Backend, Db, Result, StoreError, audit, db_run, index_doc, sqlite_writer, write_audit,
};

/// A call as the agent submits it.
#[derive(Debug, Clone)]
pub struct CallInput {
    pub lead_id: LeadId,
    /// When the call started (default: now).
    pub started_at: Option<DateTime<Utc>>,
    pub duration_s: i64,
    pub disposition: String,
    pub intent: Option<IntentLevel>,
    pub notes: String,
    /// The agent's own revisit time; wins over the rules.
    pub next_revisit_at: Option<DateTime<Utc>>,
    pub script_id: Option<ScriptId>,
    /// The client's id for this submission: the same id twice records one call.
    pub request_id: Option<String>,
}

/// What recording did.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub call: CallRecord,
    pub outside_window: bool,
    /// The lead's next revisit (from the rule or the agent), if any.
    pub next_revisit_at: Option<DateTime<Utc>>,
    pub revisit_source: Option<&'static str>,
    pub rule_id: Option<i64>,
    /// The last-attempt action applied, if this was the last attempt.
    pub after_last: Option<AfterLast>,
    pub attempt: i64,
    pub lead_status: LeadStatus,
    /// The agent's counters for the call's day after this call.
    pub day: String,
    pub today: DayCounters,
    /// True when this submission was already recorded (same request id): nothing new was written.
    pub replayed: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, sqlx::FromRow)]
pub struct DayCounters {
    pub calls: i64,
    pub connected: i64,
    pub valid_conversations: i64,
    pub qualified: i64,
    pub talk_s: i64,
}

#[derive(sqlx::FromRow)]
struct LeadState {
    owner_id: Option<UserId>,
    owner_team_id: Option<TeamId>,
    status: String,
    attempts: i64,
    timezone: Option<String>,
    deleted_at: Option<DateTime<Utc>>,
    version: i64,
    revisit_agent_id: Option<UserId>,
    /// How many of the lead's numbers are on the do-not-call list.
    dnc: i64,
}

const CALL_SELECT: &str = "SELECT c.id, c.lead_id, c.agent_id, u.display_name AS agent_name, c.started_at, c.duration_s, \
    c.disposition, c.intent, c.notes, c.next_revisit_at, c.script_id FROM calls c JOIN users u ON u.id = c.agent_id";

/// The longest note kept.
pub const MAX_NOTES: usize = 4000;

/// The day statistics are kept by (Asia/Shanghai calendar day).
pub fn stats_day(at: DateTime<Utc>) -> String {
    calling_hours::local_day(at, DEFAULT_TZ)
}

async fn replay(
    db: &Db,
    agent: UserId,
    request_id: &str,
    started_day: Option<String>,
) -> Result<Option<Recorded>> {
    let sql = format!("{CALL_SELECT} WHERE c.agent_id = $1 AND c.request_id = $2");
    let call: Option<CallRecord> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(agent)
        .bind(request_id)
        .fetch_optional(pool)
        .await?);
    let Some(call) = call else { return Ok(None) };
    let (status, outside): (String, bool) = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT l.status, c.outside_window FROM calls c JOIN leads l ON l.id = c.lead_id WHERE c.id = $1"
    )
    .bind(call.id)
    .fetch_one(pool)
    .await?
    });
    let day = started_day.unwrap_or_else(|| stats_day(call.started_at));
    let today = day_counters(db, agent, &day).await?;
    Ok(Some(Recorded {
        next_revisit_at: call.next_revisit_at,
        revisit_source: None,
        rule_id: None,
        after_last: None,
        attempt: 0,
        lead_status: crate::leads::stored_status(call.lead_id, &status)?,
        outside_window: outside,
        day,
        today,
        replayed: true,
        call,
    }))
}

pub async fn day_counters(db: &Db, agent: UserId, day: &str) -> Result<DayCounters> {
    let row: Option<DayCounters> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT calls, connected, valid_conversations, qualified, talk_s FROM agent_daily_stats WHERE agent_id = $1 AND day = $2"
    )
    .bind(agent)
    .bind(day)
    .fetch_optional(pool)
    .await?
    });
    Ok(row.unwrap_or_default())
}

/// Records one call by `viewer` (the agent). Refuses a lead the viewer may not see (NotFound),
/// an unknown or retired disposition and bad input (Invalid), and a lead whose number is on the
/// do-not-call list (Forbidden: the web layer answers 409 `do_not_call`).
pub async fn record_call(
    db: &Db,
    viewer: &Viewer,
    input: CallInput,
    now: DateTime<Utc>,
) -> Result<Recorded> {
    let agent = viewer.user_id;
    if let Some(rid) = input.request_id.as_deref() {
        if rid.is_empty() || rid.len() > 100 {
            return Err(StoreError::invalid("request_id", "invalid"));
        }
        if let Some(done) = replay(db, agent, rid, None).await? {
            return Ok(done);
        }
    }
    let snap = config::snapshot(db).await?;
    let Some(disp) = snap.disposition(&input.disposition).filter(|d| d.d.active) else {
        return Err(StoreError::invalid("disposition", "unknown"));
    };
    let disp = disp.d.clone();
    if !(0..=6 * 3600).contains(&input.duration_s) {
        return Err(StoreError::invalid("duration_s", "invalid"));
    }
    if input.notes.chars().count() > MAX_NOTES {
        return Err(StoreError::invalid("notes", "too_long"));
    }
    let started_at = input.started_at.unwrap_or(now);
    if started_at > now + chrono::Duration::minutes(5) {
        return Err(StoreError::invalid("started_at", "future"));
    }
    if let Some(at) = input.next_revisit_at
        && !revisit::override_is_valid(at, now)
    {
        return Err(StoreError::invalid("next_revisit_at", "invalid"));
    }
    let day = stats_day(started_at);
    // PostgreSQL indexes the note with the call, segmented before the transaction (the call id
    // comes later); SQLite indexes notes after their calls, in batches (see
    // `search::index_new_notes`), so that the one writer does not write the full-text index
    // at every call.
    let note = match db {
        Db::Postgres(_) => note_doc(0, input.lead_id, started_at, input.notes.trim()),
        Db::Sqlite(_) => None,
    };
    let request_id = input.request_id.clone();
    let ctx = Ctx {
        viewer: viewer.clone(),
        snap,
        disp,
        input,
        started_at,
        now,
        day,
        note,
    };
    let written = match db {
        // SQLite: the whole transaction runs on the one writer, one hand-off for all of it.
        Db::Sqlite(pool) => sqlite_writer::run(pool, move |conn| write_sqlite(conn, &ctx)).await,
        Db::Postgres(pool) => write_postgres(pool, &ctx).await,
    };
    match (written, request_id) {
        // The same submission raced itself: the other one recorded it.
        (Err(StoreError::AlreadyExists(REQUEST_TAKEN)), Some(rid)) => replay(db, agent, &rid, None)
            .await?
            .ok_or(StoreError::AlreadyExists("call")),
        (other, _) => other,
    }
}

/// Marks a request id recorded meanwhile by the same submission (answered by a replay).
const REQUEST_TAKEN: &str = "call_request";

/// Everything a call's transaction needs, checked and prepared before it starts.
struct Ctx {
    viewer: Viewer,
    snap: Arc<config::Snapshot>,
    disp: Disposition,
    input: CallInput,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
    day: String,
    note: Option<IndexDoc>,
}

/// What a call does to its lead, decided from the lead as the transaction sees it.
struct Decision {
    outside_window: bool,
    attempt: i64,
    next_at: Option<DateTime<Utc>>,
    source: Option<&'static str>,
    rule_id: Option<i64>,
    after_last: Option<AfterLast>,
    old_status: LeadStatus,
    status: LeadStatus,
    owner: Option<UserId>,
    attempts: i64,
}

/// Refuses a lead the agent may not record on, then applies the revisit rules and the
/// last-attempt action. `team` is the agent's (its calling hours).
fn decide(ctx: &Ctx, team: Option<TeamId>, lead: &LeadState) -> Result<Decision> {
    let agent = ctx.viewer.user_id;
    // The agent a revisit was scheduled for may record it even if the lead moved on.
    let assigned_revisit = lead.revisit_agent_id == Some(agent);
    if lead.deleted_at.is_some()
        || (ctx.viewer.access(lead.owner_id, lead.owner_team_id) == Access::Hidden
            && !assigned_revisit)
    {
        return Err(StoreError::NotFound);
    }
    if lead.dnc > 0 {
        return Err(StoreError::Forbidden);
    }
    let hours = ctx.snap.calling_hours(team);
    let tz: Tz = calling_hours::zone(lead.timezone.as_deref());
    let outside_window = !hours.is_callable(ctx.started_at, tz);
    let attempt = lead.attempts + 1;
    let outcome = revisit::next_revisit(
        &ctx.snap.rules,
        &ctx.disp.code,
        ctx.input.intent,
        attempt,
        ctx.now,
        ctx.input.next_revisit_at,
    );
    let (next_at, source) = match outcome {
        Outcome::Revisit {
            at,
            overridden: true,
            ..
        } => (Some(at), Some("agent")),
        // A rule's time moves into the lead's next calling window.
        Outcome::Revisit { at, .. } => (Some(hours.next_open(at, tz).unwrap_or(at)), Some("rule")),
        _ => (None, None),
    };
    let after_last = match outcome {
        Outcome::LastAttempt { action, .. } => Some(action),
        _ => None,
    };
    let old_status = crate::leads::stored_status(ctx.input.lead_id, &lead.status)?;
    let mut status = ctx.disp.sets_status.unwrap_or(old_status);
    let mut owner = lead.owner_id;
    let mut attempts = attempt;
    match after_last {
        Some(AfterLast::MarkInvalid) => status = LeadStatus::InvalidNumber,
        Some(AfterLast::ReturnToPool) => {
            owner = None;
            status = LeadStatus::New;
            attempts = 0;
        }
        Some(AfterLast::Stop) | None => {}
    }
    Ok(Decision {
        outside_window,
        attempt,
        next_at,
        source,
        rule_id: outcome.rule_id(),
        after_last,
        old_status,
        status,
        owner,
        attempts,
    })
}

impl Ctx {
    fn notes(&self) -> String {
        self.input.notes.trim().to_string()
    }

    fn audit(&self, lead: &LeadState, d: &Decision, call_id: i64) -> AuditEntry {
        AuditEntry {
            entity: "lead",
            entity_id: self.input.lead_id.0,
            actor: Some(self.viewer.user_id),
            action: "call",
            before: Some(
                json!({ "status": d.old_status, "attempts": lead.attempts, "owner_id": lead.owner_id, "version": lead.version }),
            ),
            after: Some(json!({
                "call_id": call_id, "disposition": self.disp.code, "status": d.status, "attempts": d.attempts,
                "owner_id": d.owner, "next_revisit_at": d.next_at, "after_last": d.after_last,
                "outside_window": d.outside_window, "version": lead.version + 1,
            })),
            at: self.now,
        }
    }

    fn reminder_payload(&self, call_id: i64) -> serde_json::Value {
        json!({ "lead_id": self.input.lead_id, "agent_id": self.viewer.user_id, "call_id": call_id })
    }

    fn reminder_key(&self, call_id: i64) -> String {
        format!("revisit:{}:{}", self.input.lead_id, call_id)
    }

    fn recorded(
        &self,
        d: &Decision,
        call_id: i64,
        agent_name: String,
        today: DayCounters,
    ) -> Recorded {
        Recorded {
            call: CallRecord {
                id: call_id,
                lead_id: self.input.lead_id,
                agent_id: self.viewer.user_id,
                agent_name,
                started_at: self.started_at,
                duration_s: self.input.duration_s,
                disposition: self.disp.code.clone(),
                intent: self.input.intent.map(|i| i.code().to_string()),
                notes: self.notes(),
                next_revisit_at: d.next_at,
                script_id: self.input.script_id,
            },
            outside_window: d.outside_window,
            next_revisit_at: d.next_at,
            revisit_source: d.source,
            rule_id: d.rule_id,
            after_last: d.after_last,
            attempt: d.attempt,
            lead_status: d.status,
            day: self.day.clone(),
            today,
            replayed: false,
        }
    }
}

const AGENT: &str = "SELECT team_id, display_name FROM users WHERE id = $1";
const LOCK_LEAD: &str = "SELECT l.owner_id, o.team_id AS owner_team_id, l.status, l.attempts, l.timezone, l.deleted_at, \
    l.version, l.revisit_agent_id, \
    (SELECT COUNT(*) FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = l.id) AS dnc \
    FROM leads l LEFT JOIN users o ON o.id = l.owner_id WHERE l.id = $1";
const INSERT_CALL: &str = "INSERT INTO calls (lead_id, agent_id, started_at, duration_s, disposition, intent, notes, \
    next_revisit_at, script_id, outside_window, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
const UPDATE_LEAD: &str = "UPDATE leads SET status = $2, intent = COALESCE($3, intent), attempts = $4, last_called_at = $5, \
    next_revisit_at = $6, revisit_agent_id = $7, reserved_by = NULL, reserved_until = NULL, owner_id = $8, \
    version = version + 1, updated_at = $9 WHERE id = $1";
const ADD_DNC: &str = "INSERT INTO dnc_numbers (e164, reason, added_by, added_at) \
    SELECT DISTINCT e164, $2, $3, $4 FROM lead_phones WHERE lead_id = $1 ON CONFLICT (e164) DO NOTHING";
const COUNT_DAY: &str = "INSERT INTO agent_daily_stats (agent_id, day, calls, connected, valid_conversations, qualified, talk_s) \
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (agent_id, day) DO UPDATE SET \
    calls = agent_daily_stats.calls + excluded.calls, connected = agent_daily_stats.connected + excluded.connected, \
    valid_conversations = agent_daily_stats.valid_conversations + excluded.valid_conversations, \
    qualified = agent_daily_stats.qualified + excluded.qualified, talk_s = agent_daily_stats.talk_s + excluded.talk_s \
    RETURNING calls, connected, valid_conversations, qualified, talk_s";
const QUEUE_REMINDER: &str = "INSERT INTO jobs (kind, run_at, payload, status, attempts, created_at, dedup_key) \
    VALUES ('revisit_reminder', $1, $2, 'pending', 0, $3, $4) ON CONFLICT (dedup_key) DO NOTHING";
const PLAN_DONE: &str =
    "UPDATE plan_items SET done_at = $3 WHERE agent_id = $1 AND lead_id = $2 AND done_at IS NULL";

/// The call's transaction on SQLite, on the writer's connection.
fn write_sqlite(conn: &sqlite_writer::Connection, ctx: &Ctx) -> Result<Recorded> {
    use rusqlite::types::Value as V;
    use sqlite_writer::{execute, parse_time, prepare, time_text};
    let t = |at: DateTime<Utc>| V::Text(time_text(at));
    let ot = |at: Option<DateTime<Utc>>| at.map_or(V::Null, |at| V::Text(time_text(at)));
    let os = |s: Option<&str>| s.map_or(V::Null, |s| V::Text(s.to_string()));
    let oi = |i: Option<i64>| i.map_or(V::Null, V::Integer);
    let agent = ctx.viewer.user_id;
    let lead_id = ctx.input.lead_id;
    let (team, agent_name) = prepare(conn, AGENT, &[V::Integer(agent.0)])?
        .raw_query()
        .next()?
        .map(|r| -> rusqlite::Result<_> {
            Ok((
                r.get::<_, Option<i64>>(0)?.map(TeamId),
                r.get::<_, String>(1)?,
            ))
        })
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    let lead = prepare(conn, LOCK_LEAD, &[V::Integer(lead_id.0)])?
        .raw_query()
        .next()?
        .map(|r| -> Result<LeadState> {
            Ok(LeadState {
                owner_id: r.get::<_, Option<i64>>(0)?.map(UserId),
                owner_team_id: r.get::<_, Option<i64>>(1)?.map(TeamId),
                status: r.get(2)?,
                attempts: r.get(3)?,
                timezone: r.get(4)?,
                deleted_at: r
                    .get::<_, Option<String>>(5)?
                    .as_deref()
                    .map(parse_time)
                    .transpose()?,
                version: r.get(6)?,
                revisit_agent_id: r.get::<_, Option<i64>>(7)?.map(UserId),
                dnc: r.get(8)?,
            })
        })
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    let d = decide(ctx, team, &lead)?;
    let inserted = prepare(
        conn,
        INSERT_CALL,
        &[
            V::Integer(lead_id.0),
            V::Integer(agent.0),
            t(ctx.started_at),
            V::Integer(ctx.input.duration_s),
            V::Text(ctx.disp.code.clone()),
            os(ctx.input.intent.map(|i| i.code())),
            V::Text(ctx.notes()),
            ot(d.next_at),
            oi(ctx.input.script_id.map(|s| s.0)),
            V::Integer(i64::from(d.outside_window)),
            os(ctx.input.request_id.as_deref()),
        ],
    )?
    .raw_query()
    .next()
    .and_then(|r| r.map(|r| r.get::<_, i64>(0)).transpose());
    let call_id = match inserted {
        Ok(Some(id)) => id,
        Ok(None) => return Err(StoreError::Internal("sqlite: no call id".into())),
        Err(e) if sqlite_writer::is_unique_violation(&e) && ctx.input.request_id.is_some() => {
            return Err(StoreError::AlreadyExists(REQUEST_TAKEN));
        }
        Err(e) => return Err(e.into()),
    };
    execute(
        conn,
        UPDATE_LEAD,
        &[
            V::Integer(lead_id.0),
            V::Text(d.status.code().to_string()),
            os(ctx.input.intent.map(|i| i.code())),
            V::Integer(d.attempts),
            t(ctx.started_at),
            ot(d.next_at),
            oi(d.next_at.map(|_| agent.0)),
            oi(d.owner.map(|o| o.0)),
            t(ctx.now),
        ],
    )?;
    if ctx.disp.adds_dnc {
        execute(
            conn,
            ADD_DNC,
            &[
                V::Integer(lead_id.0),
                V::Text(format!("disposition:{}", ctx.disp.code)),
                V::Integer(agent.0),
                t(ctx.now),
            ],
        )?;
    }
    let delta: StatsDelta = ctx.disp.stats_delta(ctx.input.duration_s);
    let today = prepare(
        conn,
        COUNT_DAY,
        &[
            V::Integer(agent.0),
            V::Text(ctx.day.clone()),
            V::Integer(delta.calls),
            V::Integer(delta.connected),
            V::Integer(delta.valid_conversations),
            V::Integer(delta.qualified),
            V::Integer(delta.talk_s),
        ],
    )?
    .raw_query()
    .next()?
    .map(|r| -> rusqlite::Result<DayCounters> {
        Ok(DayCounters {
            calls: r.get(0)?,
            connected: r.get(1)?,
            valid_conversations: r.get(2)?,
            qualified: r.get(3)?,
            talk_s: r.get(4)?,
        })
    })
    .transpose()?
    .unwrap_or_default();
    if let Some(at) = d.next_at {
        execute(
            conn,
            QUEUE_REMINDER,
            &[
                t(at),
                V::Text(ctx.reminder_payload(call_id).to_string()),
                t(ctx.now),
                V::Text(ctx.reminder_key(call_id)),
            ],
        )?;
    }
    execute(
        conn,
        PLAN_DONE,
        &[V::Integer(agent.0), V::Integer(lead_id.0), t(ctx.now)],
    )?;
    let a = ctx.audit(&lead, &d, call_id);
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map_or(V::Null, |v| V::Text(v.to_string()));
    execute(
        conn,
        audit::INSERT,
        &[
            V::Text(a.entity.to_string()),
            V::Integer(a.entity_id),
            oi(a.actor.map(|u| u.0)),
            V::Text(a.action.to_string()),
            json(&a.before),
            json(&a.after),
            t(a.at),
        ],
    )?;
    Ok(ctx.recorded(&d, call_id, agent_name, today))
}

/// The call's transaction on PostgreSQL: the lead is locked (`FOR UPDATE`) while it is decided.
async fn write_postgres(pool: &sqlx::PgPool, ctx: &Ctx) -> Result<Recorded> {
    let agent = ctx.viewer.user_id;
    let lead_id = ctx.input.lead_id;
    let (team, agent_name): (Option<TeamId>, String) =
        sqlx::query_as(AGENT).bind(agent).fetch_one(pool).await?;
    let mut tx = pool.begin().await?;
    let lock = format!("{LOCK_LEAD} FOR UPDATE OF l");
    let lead: Option<LeadState> = sqlx::query_as(sqlx::AssertSqlSafe(lock))
        .bind(lead_id)
        .fetch_optional(&mut *tx)
        .await?;
    let lead = lead.ok_or(StoreError::NotFound)?;
    let d = decide(ctx, team, &lead)?;
    let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(INSERT_CALL)
        .bind(lead_id)
        .bind(agent)
        .bind(ctx.started_at)
        .bind(ctx.input.duration_s)
        .bind(&ctx.disp.code)
        .bind(ctx.input.intent.map(|i| i.code()))
        .bind(ctx.notes())
        .bind(d.next_at)
        .bind(ctx.input.script_id)
        .bind(d.outside_window)
        .bind(ctx.input.request_id.as_deref())
        .fetch_one(&mut *tx)
        .await;
    let call_id = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(e))
            if e.is_unique_violation() && ctx.input.request_id.is_some() =>
        {
            return Err(StoreError::AlreadyExists(REQUEST_TAKEN));
        }
        Err(e) => return Err(e.into()),
    };
    sqlx::query(UPDATE_LEAD)
        .bind(lead_id)
        .bind(d.status.code())
        .bind(ctx.input.intent.map(|i| i.code()))
        .bind(d.attempts)
        .bind(ctx.started_at)
        .bind(d.next_at)
        .bind(d.next_at.map(|_| agent))
        .bind(d.owner)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await?;
    if ctx.disp.adds_dnc {
        sqlx::query(ADD_DNC)
            .bind(lead_id)
            .bind(format!("disposition:{}", ctx.disp.code))
            .bind(agent)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
    }
    let delta: StatsDelta = ctx.disp.stats_delta(ctx.input.duration_s);
    let today: DayCounters = sqlx::query_as(COUNT_DAY)
        .bind(agent)
        .bind(&ctx.day)
        .bind(delta.calls)
        .bind(delta.connected)
        .bind(delta.valid_conversations)
        .bind(delta.qualified)
        .bind(delta.talk_s)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(at) = d.next_at {
        sqlx::query(QUEUE_REMINDER)
            .bind(at)
            .bind(sqlx::types::Json(ctx.reminder_payload(call_id)))
            .bind(ctx.now)
            .bind(ctx.reminder_key(call_id))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(PLAN_DONE)
        .bind(agent)
        .bind(lead_id)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await?;
    if let Some(doc) = &ctx.note {
        let mut doc = doc.clone();
        doc.ref_id = call_id;
        index_doc!(&mut *tx, Backend::Postgres, doc)?;
    }
    write_audit!(&mut *tx, ctx.audit(&lead, &d, call_id))?;
    tx.commit().await?;
    Ok(ctx.recorded(&d, call_id, agent_name, today))
}
