//! What the call service reports (issue 27): the calls it answered, with the keys pressed and who
//! hung up, and the voicemail left on them, its recording kept in the database so that every app
//! server can play it. Voicemails are re-filed and passed on in [`voicemails`].

pub mod lookups;
#[cfg(test)]
mod lookups_tests;
pub mod reminder_calls;
#[cfg(test)]
mod reminder_calls_tests;
pub mod voicemails;
#[cfg(test)]
mod voicemails_tests;
// issue 27: dial — seats, click-to-call, the inbound pop-up.
pub mod caller_match;
pub mod dial_checks;
pub mod placed;
pub mod seats;
#[cfg(test)]
mod seats_tests;

pub use voicemails::{
    Voicemail, VoicemailFilter, list_voicemails, record_voicemail, voicemail_audio,
};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Db, Result, StoreError, db_run};

/// Which way a call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "inbound" => Ok(Self::Inbound),
            "outbound" => Ok(Self::Outbound),
            _ => Err(StoreError::invalid("direction", "not_an_option")),
        }
    }
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HungUpBy {
    Caller,
    /// The seat a queue bridged the caller to.
    Seat,
    /// The flow or the service.
    Service,
}

impl HungUpBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Seat => "seat",
            Self::Service => "service",
        }
    }
}

/// How a call's wait in a queue of seats ended (issue 27).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInput {
    /// The queue's node name in the flow.
    pub queue: String,
    /// The seat that answered.
    pub seat: Option<String>,
    /// `answered`, `busy`, `no_answer` or `abandoned`.
    pub result: &'static str,
    /// When the seat answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// From entering the queue to a seat answering, or to leaving the queue.
    pub wait_ms: i64,
}

/// A call as the call service saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCallInput {
    pub sip_call_id: String,
    pub direction: Direction,
    pub caller: String,
    pub callee: String,
    /// The keys pressed, in order.
    pub digits: String,
    pub hung_up_by: HungUpBy,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// The last queue the call waited in.
    pub queue: Option<QueueInput>,
    /// What the IVR's look-ups answered (a JSON list), `[]` for none.
    pub lookups: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PhoneCall {
    pub id: i64,
    pub direction: String,
    pub caller: String,
    pub callee: String,
    pub digits: String,
    /// `caller`, `seat` or `service`.
    pub hung_up_by: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub duration_s: i64,
    /// The queue the call waited in (its node in the flow), if any.
    pub queue: Option<String>,
    /// The seat that answered.
    pub seat: Option<String>,
    /// `answered`, `busy`, `no_answer` or `abandoned`.
    pub queue_result: Option<String>,
    /// When the seat answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// Milliseconds from entering the queue to a seat answering (or to leaving the queue).
    pub wait_ms: Option<i64>,
    /// What the IVR's look-ups answered: each with `lookup`, `number` (never a PIN), `outcome`
    /// and the `fragments` played.
    #[serde(serialize_with = "as_json")]
    pub lookups: String,
}

/// A stored JSON text written out as JSON (an unreadable one as `[]`).
fn as_json<S: serde::Serializer>(
    text: &str,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    let value: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()));
    serde::Serialize::serialize(&value, serializer)
}

/// Most rows one list returns.
pub const LIST_LIMIT: i64 = 500;

/// Records a finished call; reporting the same SIP call twice keeps the first record.
pub async fn record_call(db: &Db, call: &PhoneCallInput) -> Result<()> {
    const SQL: &str = "INSERT INTO phone_calls (sip_call_id, direction, caller, callee, digits, \
        hung_up_by, started_at, ended_at, duration_s, queue, seat, queue_result, answered_at, \
        wait_ms, lookups) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
        ON CONFLICT (sip_call_id) DO NOTHING";
    let hung_up_by = call.hung_up_by.as_str();
    let queue = call.queue.as_ref();
    let duration_s = (call.ended_at - call.started_at).num_seconds().max(0);
    db_run!(db, |pool| sqlx::query(SQL)
        .bind(&call.sip_call_id)
        .bind(call.direction.as_str())
        .bind(&call.caller)
        .bind(&call.callee)
        .bind(&call.digits)
        .bind(hung_up_by)
        .bind(call.started_at)
        .bind(call.ended_at)
        .bind(duration_s)
        .bind(queue.map(|q| q.queue.as_str()))
        .bind(queue.and_then(|q| q.seat.as_deref()))
        .bind(queue.map(|q| q.result))
        .bind(queue.and_then(|q| q.answered_at))
        .bind(queue.map(|q| q.wait_ms))
        .bind(&call.lookups)
        .execute(pool)
        .await
        .map(|_| ())?);
    Ok(())
}

/// The calls of one direction, newest first.
pub async fn list_calls(db: &Db, direction: Direction) -> Result<Vec<PhoneCall>> {
    const SQL: &str = "SELECT id, direction, caller, callee, digits, hung_up_by, started_at, \
        ended_at, duration_s, queue, seat, queue_result, answered_at, wait_ms, lookups FROM phone_calls \
        WHERE direction = $1 \
        ORDER BY started_at DESC, id DESC LIMIT $2";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(direction.as_str())
        .bind(LIST_LIMIT)
        .fetch_all(pool)
        .await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[tokio::test]
    async fn calls_and_voicemails_read_back_newest_first_on_either_backend() {
        let t = crate::db::test_db::TestDb::fresh().await.unwrap();
        let db = &t.db;
        let t0 = crate::now();
        let call = |id: &str, at: DateTime<Utc>, digits: &str| PhoneCallInput {
            sip_call_id: id.to_owned(),
            direction: Direction::Inbound,
            caller: "13800138000".to_owned(),
            callee: "9000".to_owned(),
            digits: digits.to_owned(),
            hung_up_by: HungUpBy::Caller,
            started_at: at,
            ended_at: at + TimeDelta::milliseconds(12_400),
            queue: None,
            lookups: "[]".into(),
        };
        record_call(db, &call("a@x", t0, "191")).await.unwrap();
        record_call(db, &call("b@x", t0 + TimeDelta::seconds(60), "2"))
            .await
            .unwrap();
        // The same call reported again is not a second call.
        record_call(db, &call("a@x", t0, "1919")).await.unwrap();
        let calls = list_calls(db, Direction::Inbound).await.unwrap();
        let digits: Vec<&str> = calls.iter().map(|c| c.digits.as_str()).collect();
        assert_eq!(digits, ["2", "191"]);
        assert_eq!(
            (calls[1].duration_s, calls[1].hung_up_by.as_str()),
            (12, "caller")
        );
        assert_eq!(
            calls[1].started_at.timestamp_millis(),
            t0.timestamp_millis()
        );
        assert!(
            list_calls(db, Direction::Outbound)
                .await
                .unwrap()
                .is_empty()
        );

        // A call a seat took from a queue, and hung up.
        let mut queued = call("c@x", t0 + TimeDelta::seconds(120), "10");
        queued.hung_up_by = HungUpBy::Seat;
        queued.queue = Some(QueueInput {
            queue: "agents".to_owned(),
            seat: Some("8003".to_owned()),
            result: "answered",
            answered_at: Some(t0 + TimeDelta::seconds(126)),
            wait_ms: 4_250,
        });
        record_call(db, &queued).await.unwrap();
        let calls = list_calls(db, Direction::Inbound).await.unwrap();
        let newest = &calls[0];
        assert_eq!(
            (
                newest.hung_up_by.as_str(),
                newest.queue.as_deref(),
                newest.seat.as_deref(),
                newest.queue_result.as_deref(),
                newest.wait_ms
            ),
            (
                "seat",
                Some("agents"),
                Some("8003"),
                Some("answered"),
                Some(4_250)
            )
        );
        assert_eq!(
            newest.answered_at.map(|at| at.timestamp_millis()),
            Some((t0 + TimeDelta::seconds(126)).timestamp_millis())
        );
        assert_eq!((calls[1].queue.as_deref(), calls[1].wait_ms), (None, None));
        // A result the table does not know is refused by the database.
        let mut odd = call("d@x", t0, "");
        odd.queue = Some(QueueInput {
            result: "maybe",
            ..queued.queue.clone().unwrap()
        });
        assert!(record_call(db, &odd).await.is_err());

        let audio = b"RIFF....WAVE".to_vec();
        let id = record_voicemail(db, "a@x", "13800138000", "complaint", 7080, &audio, t0)
            .await
            .unwrap();
        let admin = leadline_domain::Viewer {
            user_id: leadline_domain::UserId(1),
            role: leadline_domain::Role::Admin,
            supervised_teams: Vec::new(),
            pools: Vec::new(),
        };
        let voicemails = list_voicemails(db, &admin, &VoicemailFilter::default())
            .await
            .unwrap();
        assert_eq!(voicemails.len(), 1);
        assert_eq!(
            (
                voicemails[0].category.as_str(),
                voicemails[0].duration_ms,
                voicemails[0].caller.as_str()
            ),
            ("complaint", 7080, "13800138000")
        );
        assert_eq!(voicemail_audio(db, id).await.unwrap(), Some(audio));
        assert_eq!(voicemail_audio(db, id + 1).await.unwrap(), None);
        assert!(Direction::parse("sideways").is_err());
    }
}
