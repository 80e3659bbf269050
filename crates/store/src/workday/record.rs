//! Recording a call: one transaction inserts the call, moves the lead (status, attempts, next
//! revisit, reservation released, last-attempt action), lists do-not-call numbers, counts the
//! agent's day, queues the revisit reminder, indexes the note and writes the audit entry.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use leadline_domain::calling_hours::{self, DEFAULT_TZ};
use leadline_domain::disposition::StatsDelta;
use leadline_domain::revisit::{self, AfterLast, Outcome};
use leadline_domain::{Access, IntentLevel, LeadId, LeadStatus, ScriptId, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::calls::{CallRecord, NewCall, note_doc};
use crate::workday::config;
use crate::{Backend, Db, Result, StoreError, db_run, index_doc, write_audit};

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
        lead_status: LeadStatus::parse(&status).unwrap_or(LeadStatus::New),
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
    // The agent's team (calling hours) and name (the answer), read before the writer is taken.
    let (team, agent_name): (Option<TeamId>, String) = db_run!(db, |pool| sqlx::query_as(
        "SELECT team_id, display_name FROM users WHERE id = $1"
    )
    .bind(agent)
    .fetch_one(pool)
    .await?);
    let hours = snap.calling_hours(team);
    let rules = &snap.rules;
    let backend = db.backend();
    let begin = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    let lock_lead = match backend {
        Backend::Sqlite => {
            "SELECT l.owner_id, o.team_id AS owner_team_id, l.status, l.attempts, l.timezone, l.deleted_at, l.version, l.revisit_agent_id, \
             (SELECT COUNT(*) FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = l.id) AS dnc \
             FROM leads l LEFT JOIN users o ON o.id = l.owner_id WHERE l.id = $1"
        }
        Backend::Postgres => {
            "SELECT l.owner_id, o.team_id AS owner_team_id, l.status, l.attempts, l.timezone, l.deleted_at, l.version, l.revisit_agent_id, \
             (SELECT COUNT(*) FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = l.id) AS dnc \
             FROM leads l LEFT JOIN users o ON o.id = l.owner_id WHERE l.id = $1 FOR UPDATE OF l"
        }
    };
    let day = stats_day(started_at);
    // The note is segmented for search before the writer is taken (the call id comes later).
    let note = note_doc(
        0,
        &NewCall {
            lead_id: input.lead_id,
            agent_id: agent,
            started_at,
            duration_s: input.duration_s,
            disposition: disp.code.clone(),
            intent: None,
            notes: input.notes.trim().to_string(),
            next_revisit_at: None,
            script_id: input.script_id,
        },
    );
    // SQLite: queue for the one writer here rather than in SQLite's busy handler.
    let _writer = match backend {
        Backend::Sqlite => Some(config::SQLITE_WRITER.lock().await),
        Backend::Postgres => None,
    };
    let result: std::result::Result<Recorded, StoreError> = db_run!(db, |pool| {
        let mut tx = pool.begin_with(begin).await?;
        let lead: Option<LeadState> = sqlx::query_as(lock_lead)
            .bind(input.lead_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(lead) = lead else {
            return Err(StoreError::NotFound);
        };
        // The agent a revisit was scheduled for may record it even if the lead moved on.
        let assigned_revisit = lead.revisit_agent_id == Some(agent);
        if lead.deleted_at.is_some()
            || (viewer.access(lead.owner_id, lead.owner_team_id) == Access::Hidden
                && !assigned_revisit)
        {
            return Err(StoreError::NotFound);
        }
        if lead.dnc > 0 {
            return Err(StoreError::Forbidden);
        }
        let tz: Tz = calling_hours::zone(lead.timezone.as_deref());
        let outside_window = !hours.is_callable(started_at, tz);
        let attempt = lead.attempts + 1;
        let outcome = revisit::next_revisit(
            rules,
            &disp.code,
            input.intent,
            attempt,
            now,
            input.next_revisit_at,
        );
        let (next_at, source) = match outcome {
            Outcome::Revisit {
                at,
                overridden: true,
                ..
            } => (Some(at), Some("agent")),
            // A rule's time moves into the lead's next calling window.
            Outcome::Revisit { at, .. } => {
                (Some(hours.next_open(at, tz).unwrap_or(at)), Some("rule"))
            }
            _ => (None, None),
        };
        let after_last = match outcome {
            Outcome::LastAttempt { action, .. } => Some(action),
            _ => None,
        };
        let old_status = LeadStatus::parse(&lead.status).unwrap_or(LeadStatus::New);
        let mut status = disp.sets_status.unwrap_or(old_status);
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
        let call = NewCall {
            lead_id: input.lead_id,
            agent_id: agent,
            started_at,
            duration_s: input.duration_s,
            disposition: disp.code.clone(),
            intent: input.intent.map(|i| i.code().to_string()),
            notes: input.notes.trim().to_string(),
            next_revisit_at: next_at,
            script_id: input.script_id,
        };
        let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO calls (lead_id, agent_id, started_at, duration_s, disposition, intent, notes, next_revisit_at, script_id, outside_window, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(call.lead_id)
        .bind(call.agent_id)
        .bind(call.started_at)
        .bind(call.duration_s)
        .bind(&call.disposition)
        .bind(call.intent.as_deref())
        .bind(&call.notes)
        .bind(call.next_revisit_at)
        .bind(call.script_id)
        .bind(outside_window)
        .bind(input.request_id.as_deref())
        .fetch_one(&mut *tx)
        .await;
        let call_id = match inserted {
            Ok(id) => id,
            // The same submission raced itself: the other one recorded it.
            Err(sqlx::Error::Database(e))
                if e.is_unique_violation() && input.request_id.is_some() =>
            {
                drop(tx);
                let rid = input.request_id.as_deref().unwrap_or_default();
                return replay(db, agent, rid, Some(day))
                    .await?
                    .ok_or(StoreError::AlreadyExists("call"));
            }
            Err(e) => return Err(e.into()),
        };
        sqlx::query(
            "UPDATE leads SET status = $2, intent = COALESCE($3, intent), attempts = $4, last_called_at = $5, \
             next_revisit_at = $6, revisit_agent_id = $7, reserved_by = NULL, reserved_until = NULL, owner_id = $8, \
             version = version + 1, updated_at = $9 WHERE id = $1",
        )
        .bind(input.lead_id)
        .bind(status.code())
        .bind(input.intent.map(|i| i.code()))
        .bind(attempts)
        .bind(started_at)
        .bind(next_at)
        .bind(next_at.map(|_| agent))
        .bind(owner)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if disp.adds_dnc {
            sqlx::query(
                "INSERT INTO dnc_numbers (e164, reason, added_by, added_at) \
                 SELECT DISTINCT e164, $2, $3, $4 FROM lead_phones WHERE lead_id = $1 ON CONFLICT (e164) DO NOTHING",
            )
            .bind(input.lead_id)
            .bind(format!("disposition:{}", disp.code))
            .bind(agent)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let d: StatsDelta = disp.stats_delta(input.duration_s);
        let today: DayCounters = sqlx::query_as(
            "INSERT INTO agent_daily_stats (agent_id, day, calls, connected, valid_conversations, qualified, talk_s) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (agent_id, day) DO UPDATE SET \
             calls = agent_daily_stats.calls + excluded.calls, connected = agent_daily_stats.connected + excluded.connected, \
             valid_conversations = agent_daily_stats.valid_conversations + excluded.valid_conversations, \
             qualified = agent_daily_stats.qualified + excluded.qualified, talk_s = agent_daily_stats.talk_s + excluded.talk_s \
             RETURNING calls, connected, valid_conversations, qualified, talk_s",
        )
        .bind(agent)
        .bind(&day)
        .bind(d.calls)
        .bind(d.connected)
        .bind(d.valid_conversations)
        .bind(d.qualified)
        .bind(d.talk_s)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(at) = next_at {
            sqlx::query(
                "INSERT INTO jobs (kind, run_at, payload, status, attempts, created_at, dedup_key) \
                 VALUES ('revisit_reminder', $1, $2, 'pending', 0, $3, $4) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(at)
            .bind(sqlx::types::Json(json!({ "lead_id": input.lead_id, "agent_id": agent, "call_id": call_id })))
            .bind(now)
            .bind(format!("revisit:{}:{}", input.lead_id, call_id))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE plan_items SET done_at = $3 WHERE agent_id = $1 AND lead_id = $2 AND done_at IS NULL")
            .bind(agent)
            .bind(input.lead_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if let Some(mut doc) = note.clone() {
            doc.ref_id = call_id;
            index_doc!(&mut *tx, backend, doc)?;
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "lead",
                entity_id: input.lead_id.0,
                actor: Some(agent),
                action: "call",
                before: Some(
                    json!({ "status": old_status, "attempts": lead.attempts, "owner_id": lead.owner_id, "version": lead.version })
                ),
                after: Some(json!({
                    "call_id": call_id, "disposition": disp.code, "status": status, "attempts": attempts,
                    "owner_id": owner, "next_revisit_at": next_at, "after_last": after_last, "outside_window": outside_window,
                    "version": lead.version + 1,
                })),
                at: now,
            }
        )?;
        tx.commit().await?;
        Ok(Recorded {
            call: CallRecord {
                id: call_id,
                lead_id: call.lead_id,
                agent_id: agent,
                agent_name: String::new(),
                started_at,
                duration_s: call.duration_s,
                disposition: call.disposition.clone(),
                intent: call.intent.clone(),
                notes: call.notes.clone(),
                next_revisit_at: next_at,
                script_id: call.script_id,
            },
            outside_window,
            next_revisit_at: next_at,
            revisit_source: source,
            rule_id: outcome.rule_id(),
            after_last,
            attempt,
            lead_status: status,
            day: day.clone(),
            today,
            replayed: false,
        })
    });
    let mut r = result?;
    r.call.agent_name = agent_name;
    Ok(r)
}
