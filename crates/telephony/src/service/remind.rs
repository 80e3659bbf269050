//! Reminder calls (催缴) through Kamailio: the customer is dialled (`sip:<number>@<proxy>`), the
//! message is played and, when no key comes, played once more; the first key (an RFC 4733 event
//! or SIP INFO) ends it, and the reminder's put-through key rings its seat and bridges the
//! customer to it. The outcome is one [`ControlEvent::ReminderEnded`].

use super::answer::load_prompt;
use super::dial::{CUSTOMER_RING_LIMIT, Dialer, SEAT_RING_LIMIT, dialable, talk};
use super::queue::{Attempt, SeatLeg};
use crate::control::{CallId, ControlEvent, DialError, DialResult, Reminder, ReminderSummary};
use crate::dtmf::{DtmfDetector, sip_info_digit};
use crate::g711;
use crate::pacing::{self, PACKET_DURATION, RtpSender, SAMPLES_PER_PACKET};
use crate::rtp::RtpPacket;
use crate::sdp::Codec;
use rsipstack::dialog::dialog::DialogState;
use rsipstack::sip::{Header, StatusCode};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// The silence after the message in which a key is awaited, before it plays again or ends.
pub const KEY_WAIT: Duration = Duration::from_secs(5);
/// How often the message is played when no key comes.
pub const PLAYS: usize = 2;

type Frame = [i16; SAMPLES_PER_PACKET];

/// What the customer did while the message played.
enum Heard {
    Key(char),
    Nothing,
    HungUp,
    Cancelled,
}

impl Dialer {
    /// Starts a reminder call and returns its id.
    pub fn remind(self: &Arc<Self>, reminder: Reminder) -> Result<CallId, DialError> {
        let seat = reminder.seat.as_deref().unwrap_or("8000");
        for text in [reminder.number.as_str(), seat] {
            if !dialable(text) {
                return Err(DialError::BadNumber(text.to_owned()));
            }
        }
        // The message is read once, before dialling; a missing prompt is skipped (as flows do).
        let mut samples = Vec::new();
        for prompt in &reminder.prompts {
            match load_prompt(&self.prompt_dir, &reminder.language, prompt) {
                Ok(found) => samples.extend(found),
                Err(error) => tracing::warn!(prompt, %error, "reminder prompt missing"),
            }
        }
        let frames = pacing::frames(&samples);
        let call = self.new_call_id("remind");
        let cancel = CancellationToken::new();
        self.calls().insert(call.clone(), cancel.clone());
        let dialer = self.clone();
        let id = call.clone();
        tokio::spawn(async move {
            let summary = dialer
                .run_reminder(id.clone(), reminder, frames, cancel)
                .await;
            dialer.calls().remove(&id);
            let _ = dialer.control.send(ControlEvent::ReminderEnded(summary));
        });
        Ok(call)
    }

    async fn run_reminder(
        &self,
        call: CallId,
        reminder: Reminder,
        frames: Vec<Frame>,
        cancel: CancellationToken,
    ) -> ReminderSummary {
        let mut summary = ReminderSummary {
            call,
            number: reminder.number.clone(),
            tag: reminder.tag.clone(),
            result: DialResult::Failed,
            key: None,
            put_through: false,
            started_at: SystemTime::now(),
            answered_at: None,
            ended_at: SystemTime::now(),
        };
        let attempt = tokio::select! {
            attempt = self.ringer.invite("", &reminder.number, CUSTOMER_RING_LIMIT, &|| {}) => attempt,
            _ = cancel.cancelled() => Attempt::NoAnswer,
        };
        let mut customer = match attempt {
            Attempt::Answered(leg) => leg,
            Attempt::Busy => return ended(summary, DialResult::Busy),
            Attempt::NoAnswer => return ended(summary, DialResult::NoAnswer),
            Attempt::Unavailable => return ended(summary, DialResult::Failed),
        };
        summary.result = DialResult::Answered;
        summary.answered_at = Some(SystemTime::now());
        let heard = play_message(&mut customer, &frames, &cancel).await;
        let mut customer_gone = matches!(heard, Heard::HungUp);
        if let Heard::Key(key) = heard {
            summary.key = Some(key);
            if let Some(seat) = reminder
                .seat
                .as_ref()
                .filter(|_| key == reminder.put_through_key)
            {
                customer_gone = self
                    .put_through(&mut customer, seat, &reminder.number, &cancel, &mut summary)
                    .await;
            }
        }
        if !customer_gone {
            self.end_leg(&customer).await;
        }
        self.ringer.dialogs.remove_dialog(&customer.dialog.id());
        summary.ended_at = SystemTime::now();
        summary
    }

    /// Rings `seat` for the customer and bridges the two; true when the customer hung up.
    async fn put_through(
        &self,
        customer: &mut SeatLeg,
        seat: &str,
        number: &str,
        cancel: &CancellationToken,
        summary: &mut ReminderSummary,
    ) -> bool {
        let attempt = tokio::select! {
            attempt = self.ringer.invite(number, seat, SEAT_RING_LIMIT, &|| {}) => Some(attempt),
            () = super::dial::hung_up(&mut customer.states) => None,
            _ = cancel.cancelled() => Some(Attempt::NoAnswer),
        };
        let Some(attempt) = attempt else {
            return true;
        };
        let Attempt::Answered(mut seat_leg) = attempt else {
            tracing::info!(seat, "the rep's seat did not take the reminder call");
            return false;
        };
        summary.put_through = true;
        let first = talk(&mut seat_leg, customer, None, cancel).await;
        self.ringer.dialogs.remove_dialog(&seat_leg.dialog.id());
        match first {
            crate::control::Party::Customer => {
                self.end_leg(&seat_leg).await;
                true
            }
            crate::control::Party::Seat => false,
            crate::control::Party::Service => {
                self.end_leg(&seat_leg).await;
                false
            }
        }
    }
}

fn ended(mut summary: ReminderSummary, result: DialResult) -> ReminderSummary {
    summary.result = result;
    summary.ended_at = SystemTime::now();
    summary
}

/// Plays the message ([`PLAYS`] times, [`KEY_WAIT`] of silence after each), listening for a key.
async fn play_message(leg: &mut SeatLeg, frames: &[Frame], cancel: &CancellationToken) -> Heard {
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let mut sender = RtpSender::new(seed, (seed >> 16) as u16, seed.rotate_left(7));
    let mut detector = DtmfDetector::new();
    let mut ticker = tokio::time::interval(PACKET_DURATION);
    let silence: Frame = [0; SAMPLES_PER_PACKET];
    let round = frames.len() + (KEY_WAIT.as_millis() / PACKET_DURATION.as_millis()) as usize;
    let mut sent = 0;
    let mut buffer = [0u8; 2048];
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if sent >= round * PLAYS {
                    return Heard::Nothing;
                }
                let frame = frames.get(sent % round).unwrap_or(&silence);
                let payload = match leg.plan.codec {
                    Codec::Pcmu => g711::ulaw_encode_all(frame),
                    Codec::Pcma => g711::alaw_encode_all(frame),
                };
                let packet = sender.audio(leg.plan.codec.payload_type(), payload);
                let _ = leg.socket.send_to(&packet.to_bytes(), leg.plan.remote).await;
                sent += 1;
            }
            received = leg.socket.recv_from(&mut buffer) => {
                let Ok((length, _)) = received else { continue };
                let Ok(packet) = RtpPacket::parse(&buffer[..length]) else { continue };
                if Some(packet.payload_type) == leg.plan.telephone_event
                    && let Some(key) = detector.push(&packet)
                {
                    return Heard::Key(key);
                }
            }
            state = leg.states.recv() => match state {
                Some(DialogState::Terminated(..)) | None => return Heard::HungUp,
                Some(DialogState::Info(_, request, handle)) => {
                    let content_type = request
                        .headers
                        .iter()
                        .find_map(|header| match header {
                            Header::ContentType(value) => Some(value.value().to_string()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    let key = sip_info_digit(&content_type, &String::from_utf8_lossy(&request.body));
                    let status = if key.is_some() { StatusCode::OK } else { StatusCode::UnsupportedMediaType };
                    let _ = handle.reply(status).await;
                    if let Some(key) = key {
                        return Heard::Key(key);
                    }
                }
                Some(_) => {}
            },
            _ = cancel.cancelled() => return Heard::Cancelled,
        }
    }
}
