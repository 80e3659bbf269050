//! Call control behind one trait: place a click-to-call (the agent's seat first, then the
//! customer, then the two bridged), hang it up, and follow what happens on a stream of
//! [`ControlEvent`]s, inbound calls offered to seats included.
//!
//! Leadline's own SIP call service ([`crate::service::CallService`], seats and customers reached
//! through Kamailio) is the first adapter. A second one — a PBX's API (Asterisk ARI, FreeSWITCH
//! ESL) or a cloud provider's click-to-call API — implements the same trait: `dial` asks the
//! other system to place the call and returns at once with an id, and the adapter turns that
//! system's call-progress callbacks into the same events, so that nothing above this trait (the
//! web server storing calls, the workspace pop-up) changes.

use std::path::PathBuf;
use std::time::SystemTime;

use tokio::sync::broadcast;

/// An id the adapter gives each call it places or answers (unique per adapter).
pub type CallId = String;

/// How many events a slow listener may fall behind by before it misses some.
pub const EVENT_BACKLOG: usize = 1024;

/// Places and ends calls; reports them on [`CallControl::events`].
pub trait CallControl: Send + Sync {
    /// Rings `seat` (an extension such as `8001`); once it answers, dials `number` (digits as
    /// the phone network takes them) and bridges the two. `tag` comes back on every event of
    /// this call (the caller's own reference). Returns as soon as the call is under way; every
    /// outcome after that, failures included, arrives as events ending in [`ControlEvent::Ended`].
    fn dial(&self, seat: &str, number: &str, tag: &str) -> Result<CallId, DialError>;

    /// Calls `reminder.number` with a spoken message and collects one key: the reminder's
    /// `put_through_key` rings its seat (when it has one) and bridges the two. Returns at once;
    /// the outcome arrives as [`ControlEvent::ReminderEnded`]. Reminder calls (催缴) and revisit
    /// confirmations (回访确认) go through it.
    fn remind(&self, reminder: Reminder) -> Result<CallId, DialError>;

    /// Ends a call this adapter placed (a no-op for one already over).
    fn hang_up(&self, call: &str) -> Result<(), DialError>;

    /// What happens on the calls from now on.
    fn events(&self) -> broadcast::Receiver<ControlEvent>;
}

/// Why a call cannot be placed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    #[error("the call service has no proxy to reach seats and customers through")]
    NoRoute,
    #[error("{0:?} cannot be dialled")]
    BadNumber(String),
    #[error("no such call")]
    UnknownCall,
}

/// An automatic call with a message: what to dial, what to say, which key reaches whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub number: String,
    /// The language folder the prompts are read from (`cmn`, `en`, `yue`).
    pub language: String,
    /// The message as prompt names, played in order (the amount and date as the look-ups'
    /// fragments); played twice at most while waiting for a key.
    pub prompts: Vec<String>,
    /// The seat `put_through_key` rings (the rep's); without one, the key is only recorded.
    pub seat: Option<String>,
    /// The key that puts the customer through to `seat` (`1` in a payment reminder, `2` in a
    /// revisit, where `1` confirms); any other key only ends the message.
    pub put_through_key: char,
    pub tag: String,
}

/// How a reminder call went, reported once at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSummary {
    pub call: CallId,
    pub number: String,
    pub tag: String,
    /// Whether the customer answered (`Answered`), was busy, did not answer or could not be
    /// reached.
    pub result: DialResult,
    /// The first key the customer pressed.
    pub key: Option<char>,
    /// The put-through key was pressed and the seat answered: customer and seat were bridged.
    pub put_through: bool,
    pub started_at: SystemTime,
    pub answered_at: Option<SystemTime>,
    pub ended_at: SystemTime,
}

/// Which party of a placed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The agent's seat.
    Seat,
    /// The number dialled.
    Customer,
    /// The adapter (a `hang_up`, a failure).
    Service,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seat => "seat",
            Self::Customer => "customer",
            Self::Service => "service",
        }
    }
}

/// How a placed call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialResult {
    /// The customer answered and was bridged to the seat.
    Answered,
    /// The customer's line was busy (486, 600, 603).
    Busy,
    /// The customer's phone rang out (or the seat gave up while it rang).
    NoAnswer,
    /// The seat did not answer, or the customer could not be reached.
    Failed,
}

impl DialResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
        }
    }
}

/// The whole story of a placed call, reported once at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialSummary {
    pub call: CallId,
    pub seat: String,
    pub number: String,
    pub tag: String,
    pub result: DialResult,
    /// Who hung up first.
    pub hung_up_by: Party,
    /// When the seat started ringing.
    pub started_at: SystemTime,
    pub seat_answered_at: Option<SystemTime>,
    /// When the customer answered.
    pub answered_at: Option<SystemTime>,
    pub ended_at: SystemTime,
    /// The bridged talk as WAV (8 kHz 16-bit mono, both directions mixed), from the customer's
    /// answer to the end; the listener takes the file over.
    pub recording: Option<PathBuf>,
    pub recording_ms: u64,
}

/// What happens on the calls an adapter places and the inbound calls it offers to seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlEvent {
    /// A placed call rings its seat.
    SeatRinging {
        call: CallId,
        seat: String,
        tag: String,
    },
    /// The seat answered; the customer is dialled next.
    SeatAnswered {
        call: CallId,
        seat: String,
        tag: String,
    },
    /// The customer's phone rings.
    CustomerRinging {
        call: CallId,
        seat: String,
        tag: String,
    },
    /// The customer answered: seat and customer are bridged.
    Answered {
        call: CallId,
        seat: String,
        tag: String,
    },
    /// A placed call is over.
    Ended(DialSummary),
    /// A reminder call is over.
    ReminderEnded(ReminderSummary),
    /// An inbound call (from `caller`) rings `seat` (a queue offers it).
    Offered {
        call: CallId,
        seat: String,
        caller: String,
    },
    /// The inbound call is bridged to `seat`.
    Bridged {
        call: CallId,
        seat: String,
        caller: String,
    },
    /// `seat` no longer rings or talks on the inbound call (another seat took it, it rang out,
    /// the caller left, or the talk ended).
    Released { call: CallId, seat: String },
}
