//! Leadline telephony, the parts that need no network: G.711 codecs, RTP packets, RFC 4733
//! telephone-events and SIP INFO digits, SDP offer/answer for one audio stream, WAV files, 20 ms
//! pacing, prompts per language (a first set spoken by espeak-ng, resampled to 8 kHz), and IVR
//! flows (a declarative file, its validation and a pure step function). The SIP call service
//! drives these.

pub mod control;
pub mod dtmf;
pub mod g711;
pub mod ivr;
pub mod kamailio;
pub mod pacing;
pub mod prompts;
pub mod resample;
pub mod rtp;
pub mod sdp;
pub mod service;
pub mod speech;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod wav;
