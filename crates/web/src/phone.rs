//! This server's call control (issue 27): the adapter click-to-call goes through, when one runs
//! here (`leadline serve --sip`), and what its events leave in the database — each seat's phone
//! for its person's workspace (`seat_calls`, announced to them), and every placed call with its
//! recording once it ends (`phone_calls`). Any adapter of [`CallControl`] plugs in the same way.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use leadline_domain::{CustomerId, LeadId, UserId};
use leadline_store::notify::{self, Change};
use leadline_store::telephony::placed::{self, PlacedCall};
use leadline_store::telephony::seats::{self, SeatCallInput, SeatState};
use leadline_store::telephony::{self, Direction};
use leadline_store::{Db, now};
use leadline_telephony::control::{CallControl, ControlEvent, DialSummary};
use tokio::sync::broadcast::error::RecvError;

/// The call control click-to-call uses; empty when no call service runs on this server.
#[derive(Clone, Default)]
pub struct Phone {
    control: Arc<RwLock<Option<Arc<dyn CallControl>>>>,
}

impl Phone {
    /// Click-to-call goes through `control` from now on.
    pub fn attach(&self, control: Arc<dyn CallControl>) {
        *self
            .control
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(control);
    }

    pub fn control(&self) -> Option<Arc<dyn CallControl>> {
        self.control
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Who a click-to-call is for, carried as the call's tag through the call control and back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DialTag {
    pub agent: Option<UserId>,
    pub lead: Option<LeadId>,
    pub customer: Option<CustomerId>,
    /// The customer's number as dialled.
    pub number: String,
}

impl DialTag {
    /// `agent=5;lead=12;customer=;number=13900139000` (empty for none).
    pub fn write(&self) -> String {
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "agent={};lead={};customer={};number={}",
            id(self.agent.map(|u| u.0)),
            id(self.lead.map(|l| l.0)),
            id(self.customer.map(|c| c.0)),
            self.number
        )
    }

    /// A tag this server wrote; anything else reads as nobody's.
    pub fn read(tag: &str) -> DialTag {
        let mut out = DialTag::default();
        for part in tag.split(';') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            if key == "number" {
                out.number = value.to_owned();
                continue;
            }
            let Ok(id) = value.parse::<i64>() else {
                continue;
            };
            match key {
                "agent" => out.agent = Some(UserId(id)),
                "lead" => out.lead = Some(LeadId(id)),
                "customer" => out.customer = Some(CustomerId(id)),
                _ => {}
            }
        }
        out
    }
}

/// Stores what `control` reports until its stream closes.
pub fn follow(db: Db, control: &dyn CallControl) {
    let mut events = control.events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Err(error) = store(&db, event).await {
                        tracing::error!(%error, "a call event was not stored");
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "call events missed (the store fell behind)")
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// Tells the seats' people that their phone changed.
fn announce(db: &Db, rows: &[seats::SeatCall]) {
    for row in rows {
        if let Some(user) = row.user_id {
            notify::announce(db, Change::notice(Some(user)));
        }
    }
}

async fn store(db: &Db, event: ControlEvent) -> leadline_store::Result<()> {
    let at = now();
    let placed_state = |call: &str, seat: &str, tag: &str, state| {
        let tag = DialTag::read(tag);
        let (call, seat) = (call.to_owned(), seat.to_owned());
        async move {
            // The first event (the seat ringing) writes the row, the others move it on.
            let input = SeatCallInput {
                sip_call_id: &call,
                seat: &seat,
                direction: Direction::Outbound,
                number: &tag.number,
                state,
                user_id: tag.agent,
                lead_id: tag.lead,
                customer_id: tag.customer,
            };
            let row = seats::put_seat_call(db, &input, at).await?;
            announce(db, &[row]);
            Ok::<(), leadline_store::StoreError>(())
        }
    };
    match event {
        ControlEvent::SeatRinging { call, seat, tag } => {
            placed_state(&call, &seat, &tag, SeatState::Dialling).await?
        }
        ControlEvent::SeatAnswered { call, seat, tag }
        | ControlEvent::CustomerRinging { call, seat, tag } => {
            placed_state(&call, &seat, &tag, SeatState::Ringing).await?
        }
        ControlEvent::Answered { call, seat, tag } => {
            placed_state(&call, &seat, &tag, SeatState::Talking).await?
        }
        ControlEvent::Ended(summary) => store_placed(db, summary).await?,
        ControlEvent::ReminderEnded(summary) => {
            crate::reminder_dialer::store_outcome(db, &summary).await?
        }
        ControlEvent::Offered { call, seat, caller } => {
            let lead = telephony::caller_match::lead_of_number(db, &caller).await?;
            let input = SeatCallInput {
                sip_call_id: &call,
                seat: &seat,
                direction: Direction::Inbound,
                number: &caller,
                state: SeatState::Ringing,
                user_id: None,
                lead_id: lead,
                customer_id: None,
            };
            let row = seats::put_seat_call(db, &input, at).await?;
            announce(db, &[row]);
        }
        ControlEvent::Bridged { call, seat, caller } => {
            let input = SeatCallInput {
                sip_call_id: &call,
                seat: &seat,
                direction: Direction::Inbound,
                number: &caller,
                state: SeatState::Talking,
                user_id: None,
                lead_id: None,
                customer_id: None,
            };
            let row = seats::put_seat_call(db, &input, at).await?;
            announce(db, &[row]);
        }
        ControlEvent::Released { call, seat } => {
            let rows = seats::set_seat_state(db, &call, Some(&seat), SeatState::Ended, at).await?;
            announce(db, &rows);
        }
    }
    Ok(())
}

fn utc(at: std::time::SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(at)
}

/// A placed call that ended: stored with its recording (read into the database, then the file
/// removed; kept where it is if storing fails, for an operator to recover).
async fn store_placed(db: &Db, summary: DialSummary) -> leadline_store::Result<()> {
    let tag = DialTag::read(&summary.tag);
    let recording = match &summary.recording {
        Some(path) => match tokio::fs::read(path).await {
            Ok(audio) => Some((
                audio,
                i64::try_from(summary.recording_ms).unwrap_or(i64::MAX),
            )),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "call recording lost");
                None
            }
        },
        None => None,
    };
    let call = PlacedCall {
        sip_call_id: summary.call.clone(),
        seat: summary.seat.clone(),
        number: summary.number.clone(),
        agent_id: tag.agent,
        lead_id: tag.lead,
        customer_id: tag.customer,
        result: summary.result.as_str(),
        hung_up_by: summary.hung_up_by.as_str(),
        started_at: utc(summary.started_at),
        answered_at: summary.answered_at.map(utc),
        ended_at: utc(summary.ended_at),
        recording,
    };
    placed::record_placed(db, &call).await?;
    if let Some(path) = &summary.recording {
        let _ = tokio::fs::remove_file(path).await;
    }
    if let Some(agent) = tag.agent {
        notify::announce(db, Change::notice(Some(agent)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_reads_back_and_a_foreign_one_is_nobodys() {
        let tag = DialTag {
            agent: Some(UserId(5)),
            lead: Some(LeadId(12)),
            customer: None,
            number: "13900139000".into(),
        };
        assert_eq!(DialTag::read(&tag.write()), tag);
        assert_eq!(DialTag::read("lead:7"), DialTag::default());
    }
}
