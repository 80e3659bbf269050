//! Leadline's call service: a SIP user agent on rsipstack that answers the IVR flow's number,
//! runs the flow over RTP (prompts from WAV files, keys by RFC 4733 or SIP INFO, voicemail recorded
//! to WAV), rings queues of seats through Kamailio and bridges the caller to the seat that
//! answers, and reports what happened as a stream of `CallEvent`s.

mod answer;
mod bridge;
mod call;
mod dial;
mod mix;
mod prompts;
mod queue;
mod remind;
mod sip;
mod stats;

pub use answer::{LookupFuture, LookupRecord, Lookups};
pub use dial::{CUSTOMER_RING_LIMIT, SEAT_RING_LIMIT};

pub use sip::CallService;
pub use stats::ServiceStats;

use std::path::PathBuf;

/// What the service needs to answer calls.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The flow, as an admin last saved it: each call takes the flow current when it starts.
    pub flow: tokio::sync::watch::Receiver<crate::ivr::Flow>,
    /// Prompts as `<dir>/<language>/<prompt>.wav`, 8 kHz mono 16-bit.
    pub prompt_dir: PathBuf,
    /// Where voicemail recordings, and the recordings of placed calls, are written.
    pub voicemail_dir: PathBuf,
    /// Kamailio, through which queues ring their seats (`sip:<seat>@<this address>`); without it
    /// a queue has no seat to ring and the call goes straight to the queue's `on_timeout`.
    pub seat_proxy: Option<std::net::SocketAddr>,
    /// What collect nodes look up (orders, reps' PINs); without it they answer "not available".
    pub lookups: Option<std::sync::Arc<dyn Lookups>>,
}

/// What happened on a call, for whoever stores calls and voicemails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A voicemail was recorded and its file closed.
    Voicemail {
        call_id: String,
        caller: String,
        category: String,
        path: PathBuf,
        duration_ms: u64,
    },
    /// An inbound call ended `duration_ms` after it was answered.
    Ended {
        call_id: String,
        caller: String,
        number: String,
        keys: String,
        hung_up_by: HungUpBy,
        duration_ms: u64,
        /// The last queue the call waited in, if any.
        queue: Option<QueueOutcome>,
        /// The look-ups made, in order, with the fragments of each answer played.
        lookups: Vec<LookupRecord>,
    },
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HungUpBy {
    Caller,
    /// The seat the caller was bridged to.
    Seat,
    /// The flow (a hang-up node) or the service.
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

/// How a call's wait in a queue ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOutcome {
    /// The queue's node name in the flow.
    pub queue: String,
    pub result: QueueResult,
    /// The seat that answered.
    pub seat: Option<String>,
    /// From entering the queue to a seat answering, or to leaving the queue unanswered.
    pub wait_ms: u64,
    /// From the call being answered by the service to the seat answering.
    pub answered_after_ms: Option<u64>,
}

/// Why a call left its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueResult {
    /// A seat answered and the caller was bridged to it.
    Answered,
    /// Time ran out and every seat tried was busy (486/600/603) or not registered.
    Busy,
    /// Time ran out and some seat rang without answering.
    NoAnswer,
    /// The caller hung up while waiting.
    Abandoned,
}

impl QueueResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Abandoned => "abandoned",
        }
    }
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the call service cannot open SIP on {address}: {message}")]
    Bind {
        address: std::net::SocketAddr,
        message: String,
    },
}
