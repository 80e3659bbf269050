//! Leadline's call service: a SIP user agent on rsipstack that answers the IVR flow's number,
//! runs the flow over RTP (prompts from WAV files, keys by RFC 4733 or SIP INFO, voicemail recorded
//! to WAV) and reports what happened as a stream of `CallEvent`s.

mod call;
mod sip;

pub use sip::CallService;

use std::path::PathBuf;

/// What the service needs to answer calls.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The flow, as an admin last saved it: each call takes the flow current when it starts.
    pub flow: tokio::sync::watch::Receiver<crate::ivr::Flow>,
    /// Prompts as `<dir>/<language>/<prompt>.wav`, 8 kHz mono 16-bit.
    pub prompt_dir: PathBuf,
    /// Where voicemail recordings are written.
    pub voicemail_dir: PathBuf,
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
        hung_up_by_caller: bool,
        duration_ms: u64,
    },
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the call service cannot open SIP on {address}: {message}")]
    Bind {
        address: std::net::SocketAddr,
        message: String,
    },
    #[error("the call service does not run {kind} nodes yet (node {node:?})")]
    UnsupportedNode { node: String, kind: &'static str },
}
