//! Leadline's call service beside the web server (`leadline serve --sip`): started on the given
//! address, and everything it reports stored (the calls it answered, the voicemail left on them,
//! recordings in the database so that every app server can play them); collect nodes look up
//! orders and reps' months in the store (`call_lookups`).

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::TimeDelta;
use leadline_store::Db;
use leadline_store::telephony::{self, Direction, PhoneCallInput, QueueInput};
use leadline_telephony::ivr::Flow;
use leadline_telephony::service::{
    CallEvent, CallService, HungUpBy, QueueOutcome, ServiceConfig, ServiceError,
};
use tokio::sync::{mpsc, watch};

/// Where the call service listens and what it plays.
#[derive(Debug, Clone)]
pub struct CallServiceSettings {
    pub bind: SocketAddr,
    /// The flow as last saved (`AppState::ivr`); each call takes the one current when it starts.
    pub flow: watch::Receiver<Flow>,
    /// `<dir>/<language>/<prompt>.wav`.
    pub prompt_dir: PathBuf,
    /// Where recordings are written while a call lasts (then moved into the database).
    pub recording_dir: PathBuf,
    /// Kamailio, through which queues ring their seats (`leadline serve --sip-proxy`).
    pub seat_proxy: Option<SocketAddr>,
}

/// Starts the service; it stops when the returned handle is dropped. Attach it to
/// `AppState::phone` for click-to-call to go through it.
pub async fn start(db: Db, settings: CallServiceSettings) -> Result<CallService, ServiceError> {
    let config = ServiceConfig {
        flow: settings.flow,
        prompt_dir: settings.prompt_dir,
        voicemail_dir: settings.recording_dir,
        seat_proxy: settings.seat_proxy,
        lookups: Some(std::sync::Arc::new(crate::call_lookups::StoreLookups {
            db: db.clone(),
        })),
    };
    let (service, events) = CallService::start(settings.bind, config).await?;
    tracing::info!(address = %service.address(), "call service listening (SIP over UDP)");
    // issue 27 (dial): seats offered calls, and click-to-calls, as the call control reports them.
    crate::phone::follow(db.clone(), &service);
    tokio::spawn(store_events(db, events));
    Ok(service)
}

async fn store_events(db: Db, mut events: mpsc::UnboundedReceiver<CallEvent>) {
    while let Some(event) = events.recv().await {
        let now = leadline_store::now();
        match event {
            CallEvent::Voicemail {
                call_id,
                caller,
                category,
                path,
                duration_ms,
            } => {
                let audio = match tokio::fs::read(&path).await {
                    Ok(audio) => audio,
                    Err(error) => {
                        tracing::error!(path = %path.display(), %error, "voicemail recording lost");
                        continue;
                    }
                };
                let duration_ms = i64::try_from(duration_ms).unwrap_or(i64::MAX);
                let stored = telephony::record_voicemail(
                    &db,
                    &call_id,
                    &caller,
                    &category,
                    duration_ms,
                    &audio,
                    now,
                )
                .await;
                match stored {
                    Ok(_) => {
                        let _ = tokio::fs::remove_file(&path).await;
                    }
                    // The file stays where it is, for an operator to recover.
                    Err(error) => {
                        tracing::error!(path = %path.display(), %error, "voicemail not stored")
                    }
                }
            }
            CallEvent::Ended {
                call_id,
                caller,
                number,
                keys,
                hung_up_by,
                duration_ms,
                queue,
                lookups,
            } => {
                let duration =
                    TimeDelta::milliseconds(i64::try_from(duration_ms).unwrap_or(i64::MAX));
                let call = PhoneCallInput {
                    sip_call_id: call_id,
                    direction: Direction::Inbound,
                    caller,
                    callee: number,
                    digits: keys,
                    hung_up_by: match hung_up_by {
                        HungUpBy::Caller => telephony::HungUpBy::Caller,
                        HungUpBy::Seat => telephony::HungUpBy::Seat,
                        HungUpBy::Service => telephony::HungUpBy::Service,
                    },
                    started_at: now - duration,
                    ended_at: now,
                    queue: queue.map(|queue| queue_input(queue, now - duration)),
                    lookups: crate::call_lookups::lookups_json(&lookups),
                };
                if let Err(error) = telephony::record_call(&db, &call).await {
                    tracing::error!(%error, "call record not stored");
                }
            }
        }
    }
}

/// A queue's outcome as stored; `started_at` is when the service answered the call.
fn queue_input(queue: QueueOutcome, started_at: chrono::DateTime<chrono::Utc>) -> QueueInput {
    let millis = |ms: u64| TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX));
    QueueInput {
        queue: queue.queue,
        seat: queue.seat,
        result: queue.result.as_str(),
        answered_at: queue.answered_after_ms.map(|ms| started_at + millis(ms)),
        wait_ms: i64::try_from(queue.wait_ms).unwrap_or(i64::MAX),
    }
}
