//! Reminder calls placed through this server's call control (issue 27): once a minute the
//! reminders due are claimed (`leadline_store::telephony::reminder_calls::take_due`: calling hours,
//! do-not-call and the attempt limit are decided there) and each is dialled with its message from
//! the look-ups' fragments — a payment reminder (催缴) speaks the amount open and the due date, key
//! 1 putting the customer through to the seat of the rep who owns the order; a revisit (回访确认)
//! speaks the order's day and amount, key 1 confirming it and key 2 reaching the rep. The outcome
//! of each attempt comes back as a `ReminderEnded` event and is stored by [`store_outcome`].

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use leadline_domain::UserId;
use leadline_store::telephony::reminder_calls::{self, AttemptOutcome, AttemptResult};
use leadline_store::telephony::seats;
use leadline_store::{Db, now};
use leadline_telephony::control::{CallControl, DialResult, Reminder, ReminderSummary};
use leadline_telephony::speech;

use crate::phone::Phone;

/// Reminders dialled at most per pass (a pass a minute).
pub const PER_PASS: i64 = 5;
/// The language reminders are spoken in.
pub const LANGUAGE: &str = "cmn";

const TAG_PREFIX: &str = "reminder=";

/// Claims the reminders due at `now` and dials them through `control`; returns how many were
/// dialled. One that cannot be dialled at all is recorded as a failed attempt.
pub async fn dial_due(
    db: &Db,
    control: &dyn CallControl,
    now: DateTime<Utc>,
) -> leadline_store::Result<usize> {
    let due = reminder_calls::take_due(db, now, PER_PASS).await?;
    let mut dialled = 0;
    for reminder in due {
        let seat = match reminder.rep_id {
            Some(rep) => seats::seat_of(db, UserId(rep)).await?,
            None => None,
        };
        let revisit = reminder.kind == reminder_calls::REVISIT;
        let day = if revisit {
            &reminder.order_date
        } else {
            &reminder.due_date
        };
        let (year, month, day) = day
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| (d.year(), d.month(), d.day()))
            .unwrap_or((1970, 1, 1));
        let (prompts, put_through_key) = if revisit {
            let said = speech::revisit(LANGUAGE, reminder.amount_fen, year, month, day);
            (said, '2')
        } else {
            let said = speech::reminder(LANGUAGE, reminder.amount_fen, year, month, day);
            (said, '1')
        };
        let message = Reminder {
            number: reminder.e164.trim_start_matches('+').to_owned(),
            language: LANGUAGE.to_owned(),
            prompts,
            seat,
            put_through_key,
            tag: format!("{TAG_PREFIX}{}", reminder.id),
        };
        match control.remind(message) {
            Ok(_) => dialled += 1,
            Err(error) => {
                tracing::warn!(reminder = reminder.id, %error, "reminder call not placed");
                let failed = AttemptOutcome {
                    result: AttemptResult::Failed,
                    key_pressed: None,
                    put_through: false,
                    sip_call_id: None,
                };
                reminder_calls::finish(db, reminder.id, &failed, now).await?;
            }
        }
    }
    Ok(dialled)
}

/// Stores how a reminder call went (an event of the call control).
pub async fn store_outcome(db: &Db, summary: &ReminderSummary) -> leadline_store::Result<()> {
    let Some(id) = summary
        .tag
        .strip_prefix(TAG_PREFIX)
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return Ok(());
    };
    let outcome = AttemptOutcome {
        result: match summary.result {
            DialResult::Answered => AttemptResult::Answered,
            DialResult::Busy => AttemptResult::Busy,
            DialResult::NoAnswer => AttemptResult::NoAnswer,
            DialResult::Failed => AttemptResult::Failed,
        },
        key_pressed: summary.key.map(String::from),
        put_through: summary.put_through,
        sip_call_id: Some(summary.call.clone()),
    };
    reminder_calls::finish(db, id, &outcome, now()).await
}

/// Dials due reminders once a minute while a call control is attached to this server.
pub fn spawn(db: Db, phone: Phone) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        loop {
            ticker.tick().await;
            let Some(control) = phone.control() else {
                continue;
            };
            if let Err(error) = dial_due(&db, control.as_ref(), now()).await {
                tracing::error!(%error, "reminder calls not dialled");
            }
        }
    });
}
