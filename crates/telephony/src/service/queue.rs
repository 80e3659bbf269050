//! Ringing a queue's seats: INVITEs through Kamailio (`sip:<seat>@<proxy>`), one after another
//! with a per-seat time-out or all at once, in the order the ring strategy gives, round after
//! round until a seat answers or the call leaves the queue (the flow's `max_wait_s` timer, or the
//! caller hanging up). A ring abandoned by dropping its future is CANCELed by rsipstack.

use crate::control::ControlEvent;
use crate::ivr::RingStrategy;
use crate::sdp::{self, AudioPlan};
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{StatusCode, StatusCodeKind};
use rsipstack::transport::SipAddr;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A pause between rounds in which no seat could ring (all busy or not registered).
const ROUND_PAUSE: Duration = Duration::from_secs(1);

/// What every call's queue needs: the SIP stack, Kamailio's address and who is on a call.
pub(super) struct Ringer {
    pub dialogs: Arc<DialogLayer>,
    pub proxy: SocketAddr,
    /// Our SIP address (Contact and From host).
    pub local: SocketAddr,
    pub rtp_ip: IpAddr,
    /// Where seats being offered a call, and released from it, are told.
    pub control: broadcast::Sender<ControlEvent>,
    book: Mutex<SeatBook>,
}

#[derive(Default)]
struct SeatBook {
    /// Seats bridged to a caller now.
    on_call: HashSet<String>,
    /// When each seat last ended a call.
    last_ended: HashMap<String, Instant>,
    /// Per queue, the seat that took its last call.
    last_taken: HashMap<String, String>,
}

/// A seat that answered: its dialog, its RTP socket and the audio agreed.
pub(super) struct SeatLeg {
    pub seat: String,
    pub dialog: InviteDialog,
    pub socket: UdpSocket,
    pub plan: AudioPlan,
    pub states: DialogStateReceiver,
}

/// What ringing one seat came to.
pub(super) enum Attempt {
    Answered(SeatLeg),
    /// 486, 600 or 603.
    Busy,
    /// Rang out its time, or the seat's phone gave up (408, 480, 487).
    NoAnswer,
    /// Not registered, or any other refusal.
    Unavailable,
}

/// What the queue task tells the call.
pub(super) enum Report {
    Tried { seat: String, busy: bool },
    Answered(SeatLeg),
}

/// One call's queue.
pub(super) struct Ring {
    /// The inbound call's id (its SIP Call-ID).
    pub call_id: String,
    pub queue: String,
    pub caller: String,
    pub seats: Vec<String>,
    pub strategy: RingStrategy,
    pub ring_timeout: Duration,
}

impl Ringer {
    pub fn new(
        dialogs: Arc<DialogLayer>,
        proxy: SocketAddr,
        local: SocketAddr,
        rtp_ip: IpAddr,
        control: broadcast::Sender<ControlEvent>,
    ) -> Self {
        Self {
            dialogs,
            proxy,
            local,
            rtp_ip,
            control,
            book: Mutex::default(),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, SeatBook> {
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The seats to ring this round, in order: those not on a call, arranged by the strategy.
    fn order(&self, ring: &Ring) -> Vec<String> {
        let book = self.book();
        let mut seats: Vec<String> = ring
            .seats
            .iter()
            .filter(|seat| !book.on_call.contains(*seat))
            .cloned()
            .collect();
        match ring.strategy {
            RingStrategy::RingAll | RingStrategy::InOrder => {}
            RingStrategy::RoundRobin => {
                if let Some(last) = book.last_taken.get(&ring.queue)
                    && let Some(at) = seats.iter().position(|seat| seat == last)
                {
                    seats.rotate_left(at + 1);
                }
            }
            // Never used first (in list order), then the longest since their last call.
            RingStrategy::LongestIdle => {
                seats.sort_by_key(|seat| book.last_ended.get(seat).copied());
            }
        }
        seats
    }

    /// A seat took a call from `queue`.
    pub fn taken(&self, queue: &str, seat: &str) {
        let mut book = self.book();
        book.on_call.insert(seat.to_owned());
        book.last_taken.insert(queue.to_owned(), seat.to_owned());
    }

    /// A seat's call ended.
    pub fn released(&self, seat: &str) {
        let mut book = self.book();
        book.on_call.remove(seat);
        book.last_ended.insert(seat.to_owned(), Instant::now());
    }

    /// Rings round after round until a seat answers; runs until its task is aborted otherwise.
    pub async fn ring(self: Arc<Self>, ring: Ring, reports: mpsc::UnboundedSender<Report>) {
        loop {
            let seats = self.order(&ring);
            if ring.strategy == RingStrategy::RingAll {
                if let Some(leg) = self.ring_all(&ring, seats, &reports).await {
                    let _ = reports.send(Report::Answered(leg));
                    return;
                }
            } else {
                for seat in seats {
                    let attempt = self
                        .offer(&ring.call_id, &ring.caller, &seat, ring.ring_timeout)
                        .await;
                    if report(&reports, seat, attempt) {
                        return;
                    }
                }
            }
            tokio::time::sleep(ROUND_PAUSE).await;
        }
    }

    /// Every seat at once; the first to answer wins, the others are CANCELed (and one that
    /// answered in the same instant is hung up).
    async fn ring_all(
        self: &Arc<Self>,
        ring: &Ring,
        seats: Vec<String>,
        reports: &mpsc::UnboundedSender<Report>,
    ) -> Option<SeatLeg> {
        let mut ringing = JoinSet::new();
        for seat in seats {
            let (ringer, caller, call_id) =
                (self.clone(), ring.caller.clone(), ring.call_id.clone());
            // No per-seat limit: they ring until one answers or the caller leaves the queue.
            ringing.spawn(async move {
                let attempt = ringer.offer(&call_id, &caller, &seat, Duration::MAX).await;
                (seat, attempt)
            });
        }
        while let Some(done) = ringing.join_next().await {
            let Ok((seat, attempt)) = done else { continue };
            match attempt {
                Attempt::Answered(leg) => {
                    ringing.abort_all();
                    while let Some(late) = ringing.join_next().await {
                        if let Ok((_, Attempt::Answered(extra))) = late {
                            let _ = extra.dialog.bye().await;
                            self.dialogs.remove_dialog(&extra.dialog.id());
                        }
                    }
                    return Some(leg);
                }
                other => {
                    let _ = report(reports, seat, other);
                }
            }
        }
        None
    }

    /// Rings one seat with an inbound call for at most `limit`, its person told it is offered
    /// the call (and, unless it answers, that it no longer is, however the ringing ends).
    async fn offer(&self, call_id: &str, caller: &str, seat: &str, limit: Duration) -> Attempt {
        let _ = self.control.send(ControlEvent::Offered {
            call: call_id.to_owned(),
            seat: seat.to_owned(),
            caller: caller.to_owned(),
        });
        let mut offered = Offered {
            control: &self.control,
            call: call_id,
            seat,
            answered: false,
        };
        let attempt = self.invite(caller, seat, limit, &|| {}).await;
        offered.answered = matches!(attempt, Attempt::Answered(_));
        attempt
    }

    /// INVITEs `sip:<callee>@<proxy>` from `caller` for at most `limit`, `early` called on each
    /// provisional answer (ringing); dropping this future CANCELs the INVITE.
    pub async fn invite(
        &self,
        caller: &str,
        seat: &str,
        limit: Duration,
        early: &(dyn Fn() + Send + Sync),
    ) -> Attempt {
        let socket = match UdpSocket::bind(SocketAddr::new(self.rtp_ip, 0)).await {
            Ok(socket) => socket,
            Err(error) => {
                tracing::error!(%error, "no RTP port for a seat");
                return Attempt::Unavailable;
            }
        };
        let Ok(local_rtp) = socket.local_addr() else {
            return Attempt::Unavailable;
        };
        let uri = |text: String| rsipstack::sip::Uri::try_from(text.as_str());
        let caller_user = if caller.is_empty() {
            "anonymous"
        } else {
            caller
        };
        let (Ok(from), Ok(to), Ok(contact)) = (
            uri(format!("sip:{caller_user}@{}", self.local)),
            uri(format!("sip:{seat}@{}", self.proxy)),
            uri(format!("sip:leadline@{}", self.local)),
        ) else {
            tracing::warn!(
                seat,
                caller,
                "a seat or caller cannot be written as a SIP URI"
            );
            return Attempt::Unavailable;
        };
        let option = InviteOption {
            caller: from,
            callee: to,
            destination: Some(SipAddr::from(self.proxy)),
            content_type: Some("application/sdp".into()),
            offer: Some(sdp::offer(local_rtp, u64::from(local_rtp.port())).into_bytes()),
            contact,
            ..Default::default()
        };
        let (state_sender, mut states) = self.dialogs.new_dialog_state_channel();
        let invite = self.dialogs.do_invite(option, state_sender);
        tokio::pin!(invite);
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let invited = loop {
            tokio::select! {
                invited = &mut invite => break invited,
                Some(state) = states.recv() => {
                    if let DialogState::Early(..) = state {
                        early();
                    }
                }
                _ = &mut deadline => return Attempt::NoAnswer,
            }
        };
        let (dialog, response) = match invited {
            Err(error) => {
                tracing::info!(seat, %error, "seat not reached");
                return Attempt::Unavailable;
            }
            Ok(answered) => answered,
        };
        let Some(response) = response else {
            return Attempt::NoAnswer;
        };
        match response.status_code {
            status if status.kind() == StatusCodeKind::Successful => {
                match sdp::read(&String::from_utf8_lossy(&response.body)) {
                    Ok(plan) => Attempt::Answered(SeatLeg {
                        seat: seat.to_owned(),
                        dialog,
                        socket,
                        plan,
                        states,
                    }),
                    Err(error) => {
                        tracing::warn!(seat, %error, "the seat's SDP answer is not usable");
                        let _ = dialog.bye().await;
                        self.dialogs.remove_dialog(&dialog.id());
                        Attempt::Unavailable
                    }
                }
            }
            StatusCode::BusyHere | StatusCode::BusyEverywhere | StatusCode::Decline => {
                Attempt::Busy
            }
            StatusCode::RequestTimeout
            | StatusCode::TemporarilyUnavailable
            | StatusCode::RequestTerminated => Attempt::NoAnswer,
            status => {
                tracing::info!(seat, %status, "seat refused the call");
                Attempt::Unavailable
            }
        }
    }
}

/// A seat offered an inbound call; dropped unanswered (rang out, refused, CANCELed), its person
/// is told the offer is gone.
struct Offered<'a> {
    control: &'a broadcast::Sender<ControlEvent>,
    call: &'a str,
    seat: &'a str,
    answered: bool,
}

impl Drop for Offered<'_> {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.control.send(ControlEvent::Released {
                call: self.call.to_owned(),
                seat: self.seat.to_owned(),
            });
        }
    }
}

/// Passes one attempt on; true when it was the answer.
fn report(reports: &mpsc::UnboundedSender<Report>, seat: String, attempt: Attempt) -> bool {
    let report = match attempt {
        Attempt::Answered(leg) => {
            let _ = reports.send(Report::Answered(leg));
            return true;
        }
        Attempt::Busy | Attempt::Unavailable => Report::Tried { seat, busy: true },
        Attempt::NoAnswer => Report::Tried { seat, busy: false },
    };
    let _ = reports.send(report);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ringer() -> Ringer {
        // The ordering reads only the book; a dialog layer is not needed for it, but the
        // struct holds one, so build the smallest endpoint.
        let endpoint = rsipstack::EndpointBuilder::new().build();
        Ringer::new(
            Arc::new(DialogLayer::new(endpoint.inner.clone())),
            "127.0.0.1:5060".parse().unwrap(),
            "127.0.0.1:5070".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
            broadcast::channel(8).0,
        )
    }

    fn ring(strategy: RingStrategy) -> Ring {
        Ring {
            call_id: "c1".into(),
            queue: "agents".into(),
            caller: "13800138000".into(),
            seats: vec!["8001".into(), "8002".into(), "8003".into()],
            strategy,
            ring_timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn strategies_order_the_free_seats() {
        let ringer = ringer();
        assert_eq!(
            ringer.order(&ring(RingStrategy::InOrder)),
            ["8001", "8002", "8003"]
        );
        ringer.taken("agents", "8001");
        // A seat on a call is not rung; round robin starts after the seat that took the last.
        assert_eq!(ringer.order(&ring(RingStrategy::InOrder)), ["8002", "8003"]);
        assert_eq!(
            ringer.order(&ring(RingStrategy::RoundRobin)),
            ["8002", "8003"]
        );
        ringer.released("8001");
        assert_eq!(
            ringer.order(&ring(RingStrategy::RoundRobin)),
            ["8002", "8003", "8001"]
        );
        ringer.taken("agents", "8003");
        ringer.released("8003");
        // Never used first, then the longest idle.
        assert_eq!(
            ringer.order(&ring(RingStrategy::LongestIdle)),
            ["8002", "8001", "8003"]
        );
        assert_eq!(
            ringer.order(&ring(RingStrategy::RoundRobin)),
            ["8001", "8002", "8003"]
        );
    }
}
