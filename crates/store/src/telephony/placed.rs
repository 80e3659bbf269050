//! Calls the call service placed for agents (click-to-call, issue 27): stored with the agent, the
//! seat, the lead or customer, the result and who hung up, their recording beside them; listed on
//! the lead and customer cards and heard by those who may see that lead or customer; linked to
//! the agent's own record of the call once they add disposition and notes.

use chrono::{DateTime, Utc};
use leadline_domain::{CustomerId, LeadId, Role, UserId, Viewer};
use serde::Serialize;

use crate::{Db, Result, StoreError, customers, db_run, leads};

/// A placed call as it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    pub sip_call_id: String,
    pub seat: String,
    /// The number dialled.
    pub number: String,
    pub agent_id: Option<UserId>,
    pub lead_id: Option<LeadId>,
    pub customer_id: Option<CustomerId>,
    /// `answered`, `busy`, `no_answer` or `failed`.
    pub result: &'static str,
    /// `seat`, `customer` or `service`.
    pub hung_up_by: &'static str,
    /// When the seat started ringing.
    pub started_at: DateTime<Utc>,
    /// When the customer answered.
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    /// The recording (WAV) and its length.
    pub recording: Option<(Vec<u8>, i64)>,
}

impl PlacedCall {
    /// The talk: from the customer's answer to the end (none unanswered).
    pub fn talk_s(&self) -> i64 {
        self.answered_at
            .map(|at| (self.ended_at - at).num_seconds().max(0))
            .unwrap_or(0)
    }
}

/// One placed call, as the cards and the workspace show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PlacedLine {
    pub id: i64,
    pub sip_call_id: String,
    pub seat: Option<String>,
    pub callee: String,
    pub agent_id: Option<UserId>,
    pub agent_name: Option<String>,
    pub lead_id: Option<LeadId>,
    pub customer_id: Option<CustomerId>,
    pub result: Option<String>,
    pub hung_up_by: String,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    /// The talk, in whole seconds.
    pub duration_s: i64,
    /// The recording's length; `None` without one.
    pub recording_ms: Option<i64>,
    /// The agent's record of the call, once they made it.
    pub call_record_id: Option<i64>,
}

const SELECT: &str = "SELECT p.id, p.sip_call_id, p.seat, p.callee, p.agent_id, \
    u.display_name AS agent_name, p.lead_id, p.customer_id, p.result, p.hung_up_by, p.started_at, \
    p.answered_at, p.ended_at, p.duration_s, p.recording_ms, p.call_record_id FROM phone_calls p \
    LEFT JOIN users u ON u.id = p.agent_id";

/// Most calls a card lists.
pub const CARD_LIMIT: i64 = 50;

/// Stores a placed call and its recording; the seat's row points at it. The same call reported
/// twice keeps the first record (answers its id).
pub async fn record_placed(db: &Db, call: &PlacedCall) -> Result<i64> {
    const INSERT: &str = "INSERT INTO phone_calls (sip_call_id, direction, caller, callee, \
        hung_up_by, started_at, ended_at, duration_s, seat, answered_at, lead_id, customer_id, \
        agent_id, result, recording_ms) VALUES ($1, 'outbound', $2, $3, $4, $5, $6, $7, $2, $8, \
        $9, $10, $11, $12, $13) ON CONFLICT (sip_call_id) DO NOTHING RETURNING id";
    let recording_ms = call.recording.as_ref().map(|(_, ms)| *ms);
    let id: i64 = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let inserted: Option<i64> = sqlx::query_scalar(INSERT)
            .bind(&call.sip_call_id)
            .bind(&call.seat)
            .bind(&call.number)
            .bind(call.hung_up_by)
            .bind(call.started_at)
            .bind(call.ended_at)
            .bind(call.talk_s())
            .bind(call.answered_at)
            .bind(call.lead_id)
            .bind(call.customer_id)
            .bind(call.agent_id)
            .bind(call.result)
            .bind(recording_ms)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(id) = inserted else {
            return sqlx::query_scalar("SELECT id FROM phone_calls WHERE sip_call_id = $1")
                .bind(&call.sip_call_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from);
        };
        if let Some((audio, _)) = &call.recording {
            sqlx::query("INSERT INTO phone_call_recordings (phone_call_id, audio) VALUES ($1, $2)")
                .bind(id)
                .bind(audio)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE seat_calls SET phone_call_id = $2, state = 'ended', updated_at = $3 \
             WHERE sip_call_id = $1",
        )
        .bind(&call.sip_call_id)
        .bind(id)
        .bind(call.ended_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        id
    });
    Ok(id)
}

/// One placed call, whoever asks.
pub async fn placed_line(db: &Db, id: i64) -> Result<PlacedLine> {
    let sql = format!("{SELECT} WHERE p.id = $1");
    let line: Option<PlacedLine> =
        db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(pool)
            .await?);
    line.ok_or(StoreError::NotFound)
}

/// One placed call for `viewer`: the lead's or the customer's visibility decides (an admin sees
/// any); `NotFound` otherwise, so that ids cannot be probed.
pub async fn placed_for(db: &Db, viewer: &Viewer, id: i64) -> Result<PlacedLine> {
    let line = placed_line(db, id).await?;
    may_see(db, viewer, &line).await?;
    Ok(line)
}

async fn may_see(db: &Db, viewer: &Viewer, line: &PlacedLine) -> Result<()> {
    if viewer.role == Role::Admin {
        return Ok(());
    }
    match (line.lead_id, line.customer_id) {
        (Some(lead), _) => leads::get(db, viewer, lead).await.map(|_| ()),
        (None, Some(customer)) => customers::get(db, viewer, customer).await.map(|_| ()),
        (None, None) => Err(StoreError::NotFound),
    }
}

/// A placed call's recording (WAV) for `viewer`: `NotFound` unless they may see its lead or
/// customer and it has one.
pub async fn recording_for(db: &Db, viewer: &Viewer, id: i64) -> Result<Vec<u8>> {
    placed_for(db, viewer, id).await?;
    let audio: Option<Vec<u8>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT audio FROM phone_call_recordings WHERE phone_call_id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    audio.ok_or(StoreError::NotFound)
}

/// A lead's placed calls, newest first (the caller has checked the lead is visible).
pub async fn placed_of_lead(db: &Db, lead: LeadId) -> Result<Vec<PlacedLine>> {
    let sql =
        format!("{SELECT} WHERE p.lead_id = $1 ORDER BY p.started_at DESC, p.id DESC LIMIT $2");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(lead)
    .bind(CARD_LIMIT)
    .fetch_all(pool)
    .await?))
}

/// A customer's placed calls (its own and its leads'), newest first (the caller has checked the
/// customer is visible).
pub async fn placed_of_customer(db: &Db, customer: CustomerId) -> Result<Vec<PlacedLine>> {
    let sql = format!(
        "{SELECT} WHERE p.customer_id = $1 OR p.lead_id IN (SELECT id FROM leads WHERE \
         customer_id = $1) ORDER BY p.started_at DESC, p.id DESC LIMIT $2"
    );
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(customer)
    .bind(CARD_LIMIT)
    .fetch_all(pool)
    .await?))
}

/// The placed call `id` as the agent's record of a call on `lead` takes it: the agent's own,
/// on that lead, not yet recorded. Anything else is `NotFound`, or `Conflict("already_recorded")`
/// for one already linked.
pub async fn placed_to_record(db: &Db, agent: UserId, lead: LeadId, id: i64) -> Result<PlacedLine> {
    let line = placed_line(db, id).await?;
    if line.agent_id != Some(agent) || line.lead_id != Some(lead) {
        return Err(StoreError::NotFound);
    }
    if line.call_record_id.is_some() {
        return Err(StoreError::Conflict("already_recorded"));
    }
    Ok(line)
}

/// Links the placed call to the agent's record of it.
pub async fn link_record(db: &Db, id: i64, call_record_id: i64) -> Result<()> {
    db_run!(db, |pool| sqlx::query(
        "UPDATE phone_calls SET call_record_id = $2 WHERE id = $1 AND call_record_id IS NULL"
    )
    .bind(id)
    .bind(call_record_id)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}
