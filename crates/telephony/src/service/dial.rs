//! Click-to-call through Kamailio: the agent's seat is rung first (`sip:<seat>@<proxy>`), once it
//! answers the customer (`sip:<number>@<proxy>`), and the two are bridged and recorded until
//! either hangs up or the call is hung up from Leadline. Every step is a [`ControlEvent`].

use super::bridge::relay;
use super::mix::Mixer;
use super::queue::{Attempt, Ringer, SeatLeg};
use crate::control::{CallId, ControlEvent, DialError, DialResult, DialSummary, Party};
use crate::g711;
use crate::rtp::RtpPacket;
use crate::sdp::Codec;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the agent's own seat may ring before the call is given up.
pub const SEAT_RING_LIMIT: Duration = Duration::from_secs(30);
/// How long the customer's phone may ring.
pub const CUSTOMER_RING_LIMIT: Duration = Duration::from_secs(45);

/// Places the calls and remembers the ones under way, to hang them up.
pub(super) struct Dialer {
    pub(super) ringer: Arc<Ringer>,
    pub(super) control: broadcast::Sender<ControlEvent>,
    recording_dir: PathBuf,
    /// Where reminder messages are read from: `<dir>/<language>/<prompt>.wav`.
    pub(super) prompt_dir: PathBuf,
    under_way: Mutex<HashMap<CallId, CancellationToken>>,
    counter: AtomicU64,
}

/// Digits (and `*#+`) only: what a seat or a number may be in a SIP URI's user part.
pub(super) fn dialable(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '#' | '+' | '-' | '.' | '_'))
}

impl Dialer {
    pub fn new(
        ringer: Arc<Ringer>,
        control: broadcast::Sender<ControlEvent>,
        recording_dir: PathBuf,
        prompt_dir: PathBuf,
    ) -> Self {
        Self {
            ringer,
            control,
            recording_dir,
            prompt_dir,
            under_way: Mutex::default(),
            counter: AtomicU64::new(0),
        }
    }

    pub(super) fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<CallId, CancellationToken>> {
        self.under_way
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a call and returns its id.
    pub fn dial(
        self: &Arc<Self>,
        seat: &str,
        number: &str,
        tag: &str,
    ) -> Result<CallId, DialError> {
        for text in [seat, number] {
            if !dialable(text) {
                return Err(DialError::BadNumber(text.to_owned()));
            }
        }
        let call = self.new_call_id("dial");
        let cancel = CancellationToken::new();
        self.calls().insert(call.clone(), cancel.clone());
        let placed = Placed {
            call: call.clone(),
            seat: seat.to_owned(),
            number: number.to_owned(),
            tag: tag.to_owned(),
        };
        let dialer = self.clone();
        tokio::spawn(async move {
            let summary = dialer.place(&placed, cancel).await;
            dialer.calls().remove(&placed.call);
            let _ = dialer.control.send(ControlEvent::Ended(summary));
        });
        Ok(call)
    }

    /// A call id unique to this process: `<kind>-<ms>-<pid>-<n>`.
    pub(super) fn new_call_id(&self, kind: &str) -> CallId {
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{kind}-{}-{}-{}",
            started.as_millis(),
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub fn hang_up(&self, call: &str) -> Result<(), DialError> {
        match self.calls().get(call) {
            Some(cancel) => {
                cancel.cancel();
                Ok(())
            }
            None => Err(DialError::UnknownCall),
        }
    }

    fn tell(&self, placed: &Placed, event: fn(CallId, String, String) -> ControlEvent) {
        let _ = self.control.send(event(
            placed.call.clone(),
            placed.seat.clone(),
            placed.tag.clone(),
        ));
    }

    /// The call from the seat's first ring to its end.
    async fn place(&self, placed: &Placed, cancel: CancellationToken) -> DialSummary {
        let mut summary = DialSummary {
            call: placed.call.clone(),
            seat: placed.seat.clone(),
            number: placed.number.clone(),
            tag: placed.tag.clone(),
            result: DialResult::Failed,
            hung_up_by: Party::Service,
            started_at: SystemTime::now(),
            seat_answered_at: None,
            answered_at: None,
            ended_at: SystemTime::now(),
            recording: None,
            recording_ms: 0,
        };
        self.tell(placed, |call, seat, tag| ControlEvent::SeatRinging {
            call,
            seat,
            tag,
        });
        // The seat's phone shows the customer's number.
        let seat_attempt = tokio::select! {
            attempt = self.ringer.invite(&placed.number, &placed.seat, SEAT_RING_LIMIT, &|| {}) => attempt,
            _ = cancel.cancelled() => Attempt::NoAnswer,
        };
        let Attempt::Answered(mut seat) = seat_attempt else {
            tracing::info!(
                call = placed.call,
                seat = placed.seat,
                "the seat did not answer"
            );
            summary.ended_at = SystemTime::now();
            return summary;
        };
        summary.seat_answered_at = Some(SystemTime::now());
        self.tell(placed, |call, seat, tag| ControlEvent::SeatAnswered {
            call,
            seat,
            tag,
        });

        let ringing = || {
            self.tell(placed, |call, seat, tag| ControlEvent::CustomerRinging {
                call,
                seat,
                tag,
            })
        };
        let customer_attempt = tokio::select! {
            attempt = self.ringer.invite(&placed.seat, &placed.number, CUSTOMER_RING_LIMIT, &ringing) => Some(attempt),
            _ = cancel.cancelled() => None,
            () = hung_up(&mut seat.states) => {
                summary.hung_up_by = Party::Seat;
                None
            }
        };
        let customer = match customer_attempt {
            Some(Attempt::Answered(leg)) => leg,
            outcome => {
                summary.result = match outcome {
                    Some(Attempt::Busy) => DialResult::Busy,
                    Some(Attempt::Unavailable) => DialResult::Failed,
                    Some(Attempt::NoAnswer) | None => DialResult::NoAnswer,
                    Some(Attempt::Answered(_)) => unreachable!("matched above"),
                };
                if summary.hung_up_by != Party::Seat {
                    self.end_leg(&seat).await;
                }
                self.ringer.dialogs.remove_dialog(&seat.dialog.id());
                summary.ended_at = SystemTime::now();
                return summary;
            }
        };
        summary.result = DialResult::Answered;
        summary.answered_at = Some(SystemTime::now());
        self.tell(placed, |call, seat, tag| ControlEvent::Answered {
            call,
            seat,
            tag,
        });
        let mut customer = customer;
        let path = self
            .recording_dir
            .join(format!("{}.wav", placed.call.replace(['/', '\\'], "_")));
        let mut mixer = match Mixer::create(&path) {
            Ok(mixer) => Some(mixer),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "the call is not recorded");
                None
            }
        };
        summary.hung_up_by = talk(&mut seat, &mut customer, mixer.as_mut(), &cancel).await;
        let ended = Instant::now();
        summary.ended_at = SystemTime::now();
        match summary.hung_up_by {
            Party::Seat => self.end_leg(&customer).await,
            Party::Customer => self.end_leg(&seat).await,
            Party::Service => {
                self.end_leg(&seat).await;
                self.end_leg(&customer).await;
            }
        }
        for leg in [&seat, &customer] {
            self.ringer.dialogs.remove_dialog(&leg.dialog.id());
        }
        if let Some(mixer) = mixer {
            match mixer.finish(ended) {
                Ok((path, ms)) => {
                    summary.recording = Some(path);
                    summary.recording_ms = ms;
                }
                Err(error) => tracing::error!(%error, "the recording was not closed"),
            }
        }
        summary
    }

    pub(super) async fn end_leg(&self, leg: &SeatLeg) {
        if let Err(error) = leg.dialog.bye().await {
            tracing::info!(%error, seat = leg.seat, "BYE failed");
        }
    }
}

/// One placed call's names.
struct Placed {
    call: CallId,
    seat: String,
    number: String,
    tag: String,
}

/// Resolves when a leg's dialog ends (its BYE, or the dialog gone).
pub(super) async fn hung_up(states: &mut DialogStateReceiver) {
    loop {
        match states.recv().await {
            Some(DialogState::Terminated(..)) | None => return,
            Some(_) => {}
        }
    }
}

/// Relays RTP both ways, mixing both directions into the recording, until a side hangs up (or
/// the call is hung up from Leadline: `Service`).
pub(super) async fn talk(
    seat: &mut SeatLeg,
    customer: &mut SeatLeg,
    mut mixer: Option<&mut Mixer>,
    cancel: &CancellationToken,
) -> Party {
    let mut from_seat = vec![0u8; 2048];
    let mut from_customer = vec![0u8; 2048];
    loop {
        tokio::select! {
            received = seat.socket.recv_from(&mut from_seat) => {
                if let Ok((length, _)) = received {
                    let bytes = &from_seat[..length];
                    record(mixer.as_deref_mut(), 0, bytes, seat.plan.codec);
                    if let Some(out) = relay(bytes, &seat.plan, &customer.plan) {
                        let _ = customer.socket.send_to(&out, customer.plan.remote).await;
                    }
                }
            }
            received = customer.socket.recv_from(&mut from_customer) => {
                if let Ok((length, _)) = received {
                    let bytes = &from_customer[..length];
                    record(mixer.as_deref_mut(), 1, bytes, customer.plan.codec);
                    if let Some(out) = relay(bytes, &customer.plan, &seat.plan) {
                        let _ = seat.socket.send_to(&out, seat.plan.remote).await;
                    }
                }
            }
            () = hung_up(&mut seat.states) => return Party::Seat,
            () = hung_up(&mut customer.states) => return Party::Customer,
            _ = cancel.cancelled() => return Party::Service,
        }
    }
}

fn record(mixer: Option<&mut Mixer>, side: usize, bytes: &[u8], codec: Codec) {
    let Some(mixer) = mixer else { return };
    let Ok(packet) = RtpPacket::parse(bytes) else {
        return;
    };
    if packet.payload_type != codec.payload_type() {
        return;
    }
    let samples = match codec {
        Codec::Pcmu => g711::ulaw_decode_all(&packet.payload),
        Codec::Pcma => g711::alaw_decode_all(&packet.payload),
    };
    mixer.push(side, packet.timestamp, &samples, Instant::now());
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_dial_strings_are_dialled() {
        assert!(super::dialable("13900139000"));
        assert!(super::dialable("8001"));
        assert!(!super::dialable(""));
        assert!(!super::dialable("8001@evil"));
        assert!(!super::dialable("1 2"));
    }
}
