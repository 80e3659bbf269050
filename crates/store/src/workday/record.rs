//! Recording a call: one transaction inserts the call, moves the lead (status, attempts, next
//! revisit, reservation released, last-attempt action), lists do-not-call numbers, counts the
//! agent's day, queues the revisit reminder, indexes the note (PostgreSQL; SQLite indexes notes just
//! after their calls, see `search::index_new_notes`) and writes the audit entry. A valid
//! follow-up on a pool lead takes it for the caller, unless a colleague's record holds the same
//! phone, company or e-mail (撞单, `workday::collision`): the call is kept, the lead is not.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use leadline_domain::calling_hours;
use leadline_domain::disposition::Disposition;
use leadline_domain::next_call;
use leadline_domain::revisit::{self, AfterLast, Outcome};
use leadline_domain::script::{ScriptAccess, script_access};
use leadline_domain::{
    Access, Holder, IntentLevel, LeadId, LeadStatus, PoolId, ScriptId, TeamId, UserId, Viewer,
};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::call_stats::{self, Counts, StatsDay};
use crate::db::sql::Arg;
use crate::db::tx::{PgTx, SqliteTx, Tx, run_ready};
use crate::ownership::detect::Match;
use crate::search::IndexDoc;
use crate::workday::calls::{CallRecord, note_doc};
use crate::workday::collision::{self, CallCollision};
use crate::workday::config;
use crate::{
    Backend, Db, Result, StoreError, audit, db::sqlite_writer, db_run, index_doc, ownership,
};

mod ownership_change;

use ownership_change::Ownership;

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
    /// A valid follow-up on a pool lead made it the caller's (领取 by a call).
    pub claimed: bool,
    /// 撞单: the valid follow-up did not take the pool lead because a colleague's record holds
    /// the same customer (who, since when, the case opened); the call is recorded all the same.
    pub collision: Option<CallCollision>,
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
    backup_owner_id: Option<UserId>,
    backup_may_edit: bool,
    pool_id: Option<PoolId>,
    /// The facts of the reclaim countdown (see `ownership::countdown::due_of`), read with the
    /// lock so that the countdown is written in the call's one UPDATE.
    company: Option<String>,
    intent: Option<String>,
    source: Option<String>,
    owned_since: Option<DateTime<Utc>>,
    last_valid_at: Option<DateTime<Utc>>,
    last_progress_at: Option<DateTime<Utc>>,
    deal_at: Option<DateTime<Utc>>,
    protected_until: Option<DateTime<Utc>>,
    personal: bool,
    reclaim_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// Issue 23: the customer the lead was converted into or linked to.
    customer_id: Option<i64>,
    /// Issue 22: the agent covers the absent person the revisit is for (see `absence::covering`).
    covering: bool,
}

impl LeadState {
    fn holder(&self) -> Holder {
        Holder {
            owner: self.owner_id,
            owner_team: self.owner_team_id,
            backup: self.backup_owner_id,
            backup_may_edit: self.backup_may_edit,
            pool: self.pool_id,
        }
    }
}

const CALL_SELECT: &str = "SELECT c.id, c.lead_id, c.agent_id, u.display_name AS agent_name, c.started_at, c.duration_s, \
    c.disposition, c.intent, c.notes, c.next_revisit_at, c.script_id FROM calls c JOIN users u ON u.id = c.agent_id";

/// The longest note kept.
pub const MAX_NOTES: usize = 4000;

/// The statistics day `at` falls in, in the organisation's zone `zone`.
pub fn stats_day(at: DateTime<Utc>, zone: Tz) -> StatsDay {
    StatsDay::of(at, zone)
}

async fn replay(
    db: &Db,
    agent: UserId,
    request_id: &str,
    started_day: Option<StatsDay>,
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
    let day = match started_day {
        Some(d) => d,
        None => stats_day(call.started_at, call_stats::org_zone(db).await?),
    };
    let today = day_counters(db, agent, &day).await?;
    let day = day.label();
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
        claimed: false,
        collision: None,
        call,
    }))
}

/// The agent's counters over `day` (a sum of the agent's slots, see `call_stats`).
pub async fn day_counters(db: &Db, agent: UserId, day: &StatsDay) -> Result<DayCounters> {
    Ok(DayCounters::from(
        &call_stats::agent_day(db, agent, day).await?,
    ))
}

impl From<&Counts> for DayCounters {
    fn from(c: &Counts) -> DayCounters {
        DayCounters {
            calls: c.calls,
            connected: c.connected,
            valid_conversations: c.valid_conversations,
            qualified: c.qualified,
            talk_s: c.talk_s,
        }
    }
}

/// Records one call by `viewer` (the agent). Refuses a lead the viewer may not see (NotFound),
/// an unknown or retired disposition and bad input (Invalid), a script the viewer may not see
/// (Invalid `script_id` `unknown`, the same whether it is missing, deleted or someone else's
/// private script, so that ids cannot be probed), and a lead whose number is on the
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
    let day = stats_day(started_at, snap.org_zone);
    // 撞单: a valid follow-up would take a pool lead; looked up before the transaction (as the
    // explicit claim does), so that the call's hot path stays one transaction.
    let blocked = if disp.valid_follow_up {
        collision::blocking_claim(db, agent, input.lead_id).await?
    } else {
        None
    };
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
        blocked,
    };
    let lead_id = ctx.input.lead_id;
    let blocked = ctx.blocked.clone();
    let written = match db {
        // SQLite: the whole transaction runs on the one writer, one hand-off for all of it.
        Db::Sqlite(pool) => {
            sqlite_writer::run(pool, move |conn| {
                run_ready(write(&mut SqliteTx(conn), &ctx))
            })
            .await
        }
        Db::Postgres(pool) => {
            async {
                let mut tx = pool.begin().await?;
                let recorded = write(&mut PgTx(&mut tx), &ctx).await?;
                tx.commit().await?;
                Ok(recorded)
            }
            .await
        }
    }
    .inspect(|_| crate::notify::announce(db, crate::notify::Change::call(agent)));
    match (written, request_id) {
        // The same submission raced itself: the other one recorded it.
        (Err(StoreError::AlreadyExists(REQUEST_TAKEN)), Some(rid)) => replay(db, agent, &rid, None)
            .await?
            .ok_or(StoreError::AlreadyExists("call")),
        (Ok((mut recorded, true)), _) => {
            if let Some(m) = blocked {
                recorded.collision = collision::refused_claim(db, agent, lead_id, &m, now).await?;
            }
            Ok(recorded)
        }
        (other, _) => other.map(|(recorded, _)| recorded),
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
    day: StatsDay,
    note: Option<IndexDoc>,
    /// A colleague's record of the same customer: a valid follow-up leaves the pool lead there.
    blocked: Option<Match>,
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
    own: Ownership,
}

/// Refuses a lead the agent may not record on, then applies the revisit rules and the
/// last-attempt action. `team` is the agent's (its calling hours).
fn decide(ctx: &Ctx, team: Option<TeamId>, lead: &LeadState) -> Result<Decision> {
    let agent = ctx.viewer.user_id;
    // The agent a revisit was scheduled for may record it even if the lead moved on.
    let assigned_revisit = lead.revisit_agent_id == Some(agent) || lead.covering;
    if lead.deleted_at.is_some()
        // A backup owner not granted edits reads the lead but records no call on it.
        || (ctx.viewer.access(&lead.holder()) != Access::Edit
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
    let (mut next_at, mut source) = match outcome {
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
    // A closed lead (qualified, converted, invalid, do-not-call) is never served again, so a
    // revisit left on it would sit in 待回访 and the overdue list for good (issue 25).
    if next_call::is_closed(status) {
        next_at = None;
        source = None;
    }
    let own = Ownership::decide(ctx, lead, after_last, old_status, status, &mut owner);
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
        own,
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
            day: self.day.label(),
            today,
            replayed: false,
            claimed: d.own.claimed,
            collision: None,
        }
    }
}

/// The lead as the call decides on it, and (last two columns) the agent's team and name: one
/// round trip.
const LOCK_LEAD: &str = "SELECT l.owner_id, o.team_id AS owner_team_id, l.status, l.attempts, l.timezone, l.deleted_at, \
    l.version, l.revisit_agent_id, \
    (SELECT COUNT(*) FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = l.id) AS dnc, \
    l.backup_owner_id, l.backup_may_edit, l.pool_id, l.company, l.intent, l.source, l.owned_since, \
    l.last_valid_at, l.last_progress_at, l.deal_at, l.protected_until, l.personal, l.reclaim_at, l.created_at, \
    l.customer_id, a.team_id AS agent_team_id, a.display_name AS agent_name \
    FROM leads l JOIN users a ON a.id = $2 LEFT JOIN users o ON o.id = l.owner_id WHERE l.id = $1";
/// The cited script's owner, owner's team and whether it is shared (1 or 0), if it is live.
const SCRIPT: &str = "SELECT s.owner_id, o.team_id, CAST(CASE WHEN s.shared THEN 1 ELSE 0 END AS BIGINT) \
    FROM scripts s JOIN users o ON o.id = s.owner_id WHERE s.id = $1 AND s.deleted_at IS NULL";
const INSERT_CALL: &str = "INSERT INTO calls (lead_id, agent_id, started_at, duration_s, disposition, intent, notes, \
    next_revisit_at, script_id, outside_window, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
const UPDATE_LEAD: &str = "UPDATE leads SET status = $2, intent = COALESCE($3, intent), attempts = $4, last_called_at = $5, \
    next_revisit_at = $6, revisit_agent_id = $7, reserved_by = NULL, reserved_until = NULL, owner_id = $8, \
    version = version + 1, updated_at = $9, owned_since = $10, last_valid_at = $11, last_progress_at = $12, \
    deal_at = $13, reclaim_at = $14, reclaim_rule_id = $15, \
    warned_days = CASE WHEN $16 THEN NULL ELSE warned_days END WHERE id = $1";
const ADD_DNC: &str = "INSERT INTO dnc_numbers (e164, reason, added_by, added_at) \
    SELECT DISTINCT e164, $2, $3, $4 FROM lead_phones WHERE lead_id = $1 ON CONFLICT (e164) DO NOTHING";
const QUEUE_REMINDER: &str = "INSERT INTO jobs (kind, run_at, payload, status, attempts, created_at, dedup_key) \
    VALUES ('revisit_reminder', $1, $2, 'pending', 0, $3, $4) ON CONFLICT (dedup_key) DO NOTHING";
const PLAN_DONE: &str =
    "UPDATE plan_items SET done_at = $3 WHERE agent_id = $1 AND lead_id = $2 AND done_at IS NULL";

/// The call's transaction, one body for both backends: on SQLite on the writer's connection (its
/// transaction serialises every writer), on PostgreSQL in a transaction that locks the lead
/// (`FOR UPDATE`) while the call is decided.
/// Also answers whether a claim by the call was refused (撞单), for the case opened after it.
async fn write(tx: &mut impl Tx, ctx: &Ctx) -> Result<(Recorded, bool)> {
    let agent = ctx.viewer.user_id;
    let lead_id = ctx.input.lead_id;
    // SQLite's one writer already holds every other writer off.
    let lock: std::borrow::Cow<str> = match tx.backend() {
        Backend::Sqlite => LOCK_LEAD.into(),
        Backend::Postgres => format!("{LOCK_LEAD} FOR UPDATE OF l").into(),
    };
    let row = tx
        .fetch_optional(&lock, &[Arg::I64(lead_id.0), Arg::I64(agent.0)])
        .await?
        .ok_or(StoreError::NotFound)?;
    let (team, agent_name) = (row.opt_i64(24)?.map(TeamId), row.text(25)?);
    let mut lead = LeadState {
        owner_id: row.opt_i64(0)?.map(UserId),
        owner_team_id: row.opt_i64(1)?.map(TeamId),
        status: row.text(2)?,
        attempts: row.i64(3)?,
        timezone: row.opt_text(4)?,
        deleted_at: row.opt_time(5)?,
        version: row.i64(6)?,
        revisit_agent_id: row.opt_i64(7)?.map(UserId),
        dnc: row.i64(8)?,
        backup_owner_id: row.opt_i64(9)?.map(UserId),
        backup_may_edit: row.bool(10)?,
        pool_id: row.opt_i64(11)?.map(PoolId),
        company: row.opt_text(12)?,
        intent: row.opt_text(13)?,
        source: row.opt_text(14)?,
        owned_since: row.opt_time(15)?,
        last_valid_at: row.opt_time(16)?,
        last_progress_at: row.opt_time(17)?,
        deal_at: row.opt_time(18)?,
        protected_until: row.opt_time(19)?,
        personal: row.bool(20)?,
        reclaim_at: row.opt_time(21)?,
        created_at: row.time(22)?,
        customer_id: row.opt_i64(23)?,
        covering: false,
    };
    lead.covering = ownership::people::absence::covering(
        tx,
        agent,
        lead.backup_owner_id,
        lead.revisit_agent_id,
        ctx.now,
    )
    .await?;
    let d = decide(ctx, team, &lead)?;
    if let Some(script) = ctx.input.script_id {
        let row = tx.fetch_optional(SCRIPT, &[Arg::I64(script.0)]).await?;
        let access = match row {
            Some(r) => script_access(
                &ctx.viewer,
                UserId(r.i64(0)?),
                r.opt_i64(1)?.map(TeamId),
                r.i64(2)? != 0,
            ),
            None => ScriptAccess::Hidden,
        };
        if access == ScriptAccess::Hidden {
            return Err(StoreError::invalid("script_id", "unknown"));
        }
    }
    let intent = Arg::OptText(ctx.input.intent.map(|i| i.code().to_string()));
    let call = [
        Arg::I64(lead_id.0),
        Arg::I64(agent.0),
        Arg::Time(ctx.started_at),
        Arg::I64(ctx.input.duration_s),
        Arg::Text(ctx.disp.code.clone()),
        intent.clone(),
        Arg::Text(ctx.notes()),
        Arg::OptTime(d.next_at),
        Arg::OptI64(ctx.input.script_id.map(|s| s.0)),
        Arg::Bool(d.outside_window),
        Arg::OptText(ctx.input.request_id.clone()),
    ];
    let call_id = match ctx.input.request_id {
        // The same submission may race itself: its request id is taken.
        Some(_) => {
            tx.fetch_one_unique(INSERT_CALL, &call, REQUEST_TAKEN)
                .await?
        }
        None => tx.fetch_one(INSERT_CALL, &call).await?,
    }
    .i64(0)?;
    tx.execute(
        UPDATE_LEAD,
        &[
            Arg::I64(lead_id.0),
            Arg::Text(d.status.code().to_string()),
            intent,
            Arg::I64(d.attempts),
            Arg::Time(ctx.started_at),
            Arg::OptTime(d.next_at),
            // A covering backup's revisit stays the absent person's: theirs again on return.
            Arg::OptI64(d.next_at.map(|_| match lead.revisit_agent_id {
                Some(primary) if lead.covering => primary.0,
                _ => agent.0,
            })),
            Arg::OptI64(d.owner.map(|o| o.0)),
            Arg::Time(ctx.now),
            Arg::OptTime(d.own.owned_since),
            Arg::OptTime(d.own.last_valid_at),
            Arg::OptTime(d.own.last_progress_at),
            Arg::OptTime(d.own.deal_at),
            Arg::OptTime(d.own.due.map(|due| due.at)),
            Arg::OptI64(d.own.due.map(|due| due.rule_id)),
            Arg::Bool(d.own.due.map(|due| due.at) != lead.reclaim_at),
        ],
    )
    .await?;
    // An event only when the owner changes: an ordinary call writes none.
    if let Some(event) = d.own.event(ctx, &lead) {
        ownership::events::record(tx, &event).await?;
    }
    if ctx.disp.adds_dnc {
        tx.execute(
            ADD_DNC,
            &[
                Arg::I64(lead_id.0),
                Arg::Text(format!("disposition:{}", ctx.disp.code)),
                Arg::I64(agent.0),
                Arg::Time(ctx.now),
            ],
        )
        .await?;
    }
    // The call counts into its agent's slot and day in this transaction; the day's counters
    // are the sum of the day's slots as this transaction sees them.
    let counts = Counts::of_call(Some(&ctx.disp), ctx.input.duration_s, ctx.input.intent);
    let counted = call_stats::counting::Counted {
        agent,
        at: ctx.started_at,
        counts,
    };
    let days_zone = call_stats::counting::count(tx, &[counted]).await?;
    let today =
        DayCounters::from(&call_stats::agent_day_with(tx, agent, &ctx.day, days_zone).await?);
    if let Some(at) = d.next_at {
        tx.execute(
            QUEUE_REMINDER,
            &[
                Arg::Time(at),
                Arg::Json(ctx.reminder_payload(call_id)),
                Arg::Time(ctx.now),
                Arg::Text(ctx.reminder_key(call_id)),
            ],
        )
        .await?;
    }
    tx.execute(
        PLAN_DONE,
        &[Arg::I64(agent.0), Arg::I64(lead_id.0), Arg::Time(ctx.now)],
    )
    .await?;
    // A connected call on a lead linked to a customer is a contact with that customer: its last
    // contact moves and its next one falls due by its grade (a ringing phone is no contact).
    if let (Some(customer), true) = (lead.customer_id, ctx.disp.connected) {
        crate::pipeline::visits::contacted(tx, customer, ctx.started_at, ctx.now).await?;
    }
    // PostgreSQL indexes the note with its call; SQLite after it (`search::index_new_notes`).
    if let (Some(doc), Some(conn)) = (&ctx.note, tx.postgres()) {
        let mut doc = doc.clone();
        doc.ref_id = call_id;
        index_doc!(&mut *conn, Backend::Postgres, doc)?;
    }
    tx.execute(audit::INSERT, &ctx.audit(&lead, &d, call_id).args())
        .await?;
    Ok((ctx.recorded(&d, call_id, agent_name, today), d.own.refused))
}
