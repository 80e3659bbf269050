//! Seats belong to people (issue 27): an admin gives a user their seat extension (e.g. `8001`,
//! the SIP phone registered with Kamailio under that name), one person per seat. What each seat's
//! phone is doing now (`seat_calls`) is kept for its person's workspace: an inbound call ringing
//! it or bridged to it, a click-to-call it placed.

use chrono::{DateTime, Utc};
use leadline_domain::{CustomerId, LeadId, UserId};
use serde::Serialize;
use serde_json::json;

use super::Direction;
use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, write_audit};

/// Longest seat extension.
pub const SEAT_MAX_DIGITS: usize = 16;

/// A seat as an admin typed it: `None` for empty (no seat), else 2 to 16 digits.
pub fn parse_seat(text: Option<&str>) -> Result<Option<String>> {
    let Some(seat) = text.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if seat.len() < 2 || seat.len() > SEAT_MAX_DIGITS || !seat.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StoreError::invalid("seat", "invalid_seat"));
    }
    Ok(Some(seat.to_owned()))
}

/// Gives `user` the seat `seat` (`None`: takes it away). A seat someone else has is
/// `AlreadyExists("seat")`; an unknown user `NotFound`. Audited.
pub async fn set_seat(
    db: &Db,
    actor: UserId,
    user: UserId,
    seat: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let seat = parse_seat(seat)?;
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let before: Option<Option<String>> =
            sqlx::query_scalar("SELECT seat FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(before) = before else {
            return Err(StoreError::NotFound);
        };
        sqlx::query("UPDATE users SET seat = $2 WHERE id = $1")
            .bind(user)
            .bind(seat.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique_as(e, "seat"))?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "user",
                entity_id: user.0,
                actor: Some(actor),
                action: "seat",
                before: Some(json!({ "seat": before })),
                after: Some(json!({ "seat": seat })),
                at: now,
            }
        )?;
        tx.commit().await?;
    });
    Ok(seat)
}

/// Every user's seat, for the people admin: (user, seat).
pub async fn seats(db: &Db) -> Result<Vec<(UserId, String)>> {
    Ok(db_run!(db, |pool| sqlx::query_as(
        "SELECT id, seat FROM users WHERE seat IS NOT NULL ORDER BY seat"
    )
    .fetch_all(pool)
    .await?))
}

/// The seat of `user`, if they have one.
pub async fn seat_of(db: &Db, user: UserId) -> Result<Option<String>> {
    let seat: Option<Option<String>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT seat FROM users WHERE id = $1"
    )
    .bind(user)
    .fetch_optional(pool)
    .await?);
    Ok(seat.flatten())
}

/// The active user whose seat `seat` is.
pub async fn user_of_seat(db: &Db, seat: &str) -> Result<Option<UserId>> {
    Ok(db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE seat = $1 AND active"
    )
    .bind(seat)
    .fetch_optional(pool)
    .await?))
}

/// What a seat's phone does on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatState {
    /// A click-to-call rings the agent's own seat.
    Dialling,
    /// Ringing: an inbound call offered to it, or the customer of its click-to-call.
    Ringing,
    Talking,
    Ended,
}

impl SeatState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dialling => "dialling",
            Self::Ringing => "ringing",
            Self::Talking => "talking",
            Self::Ended => "ended",
        }
    }
}

/// One call on one seat, as its person's workspace shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SeatCall {
    pub id: i64,
    /// The call's id at the call control (the SIP Call-ID of an inbound call).
    pub sip_call_id: String,
    pub seat: String,
    pub user_id: Option<UserId>,
    pub direction: String,
    /// The other party's number.
    pub number: String,
    pub state: String,
    pub lead_id: Option<LeadId>,
    pub customer_id: Option<CustomerId>,
    /// The stored call, once it ended.
    pub phone_call_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A call reaching a seat.
#[derive(Debug, Clone)]
pub struct SeatCallInput<'a> {
    pub sip_call_id: &'a str,
    pub seat: &'a str,
    pub direction: Direction,
    pub number: &'a str,
    pub state: SeatState,
    /// The person dialling (a click-to-call); otherwise whoever has the seat now.
    pub user_id: Option<UserId>,
    pub lead_id: Option<LeadId>,
    pub customer_id: Option<CustomerId>,
}

const SELECT: &str = "SELECT id, sip_call_id, seat, user_id, direction, number, state, lead_id, \
    customer_id, phone_call_id, created_at, updated_at FROM seat_calls";

/// Notes a call on a seat (again: its state moves on); answers the row.
pub async fn put_seat_call(
    db: &Db,
    call: &SeatCallInput<'_>,
    now: DateTime<Utc>,
) -> Result<SeatCall> {
    let user = match call.user_id {
        Some(user) => Some(user),
        None => user_of_seat(db, call.seat).await?,
    };
    const SQL: &str = "INSERT INTO seat_calls (sip_call_id, seat, user_id, direction, number, state, lead_id, \
         customer_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (sip_call_id, seat) DO UPDATE SET state = $6, updated_at = $9 \
         RETURNING id, sip_call_id, seat, user_id, direction, number, state, lead_id, \
         customer_id, phone_call_id, created_at, updated_at";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(call.sip_call_id)
        .bind(call.seat)
        .bind(user)
        .bind(call.direction.as_str())
        .bind(call.number)
        .bind(call.state.as_str())
        .bind(call.lead_id)
        .bind(call.customer_id)
        .bind(now)
        .fetch_one(pool)
        .await?))
}

/// Moves a call's seats on (all of them when `seat` is `None`); answers the rows changed.
pub async fn set_seat_state(
    db: &Db,
    sip_call_id: &str,
    seat: Option<&str>,
    state: SeatState,
    now: DateTime<Utc>,
) -> Result<Vec<SeatCall>> {
    let sql = "UPDATE seat_calls SET state = $3, updated_at = $4 WHERE sip_call_id = $1 \
        AND ($2 IS NULL OR seat = $2) AND state <> 'ended' RETURNING id, sip_call_id, seat, \
        user_id, direction, number, state, lead_id, customer_id, phone_call_id, created_at, \
        updated_at";
    Ok(db_run!(db, |pool| sqlx::query_as(sql)
        .bind(sip_call_id)
        .bind(seat)
        .bind(state.as_str())
        .bind(now)
        .fetch_all(pool)
        .await?))
}

/// The newest call on `user`'s seat (ended ones included: the workspace shows the last one).
pub async fn latest_seat_call(db: &Db, user: UserId) -> Result<Option<SeatCall>> {
    let sql = format!("{SELECT} WHERE user_id = $1 ORDER BY id DESC LIMIT 1");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(user)
    .fetch_optional(pool)
    .await?))
}

/// A click-to-call's row (it has one seat).
pub async fn placed_call(db: &Db, sip_call_id: &str) -> Result<Option<SeatCall>> {
    let sql = format!("{SELECT} WHERE sip_call_id = $1 AND direction = 'outbound'");
    Ok(db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(sip_call_id)
    .fetch_optional(pool)
    .await?))
}
