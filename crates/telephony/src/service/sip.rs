//! The SIP side: one UDP endpoint, new INVITEs to the flow's number answered with our SDP,
//! in-dialog INFO turned into keys, BYE and CANCEL into the caller hanging up.

use super::call::{Call, Signal};
use super::dial::Dialer;
use super::prompts::PromptCache;
use super::queue::Ringer;
use super::{CallEvent, ServiceConfig, ServiceError, ServiceStats};
use crate::control::{CallControl, CallId, ControlEvent, DialError, EVENT_BACKLOG, Reminder};
use crate::dtmf::sip_info_digit;
use crate::sdp;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog::{Dialog, DialogState, DialogStateReceiver, DialogStateSender};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Header, HeadersExt, Method, Request, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// The running service; dropping it stops it. It is also the first [`CallControl`] adapter:
/// click-to-call through the seat proxy, inbound offers to seats on its event stream.
pub struct CallService {
    address: SocketAddr,
    cancel: CancellationToken,
    control: broadcast::Sender<ControlEvent>,
    /// Present when the service has a seat proxy (Kamailio) to place calls through.
    dialer: Option<Arc<Dialer>>,
    stats: Arc<ServiceStats>,
}

type Calls = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Signal>>>>;

impl CallService {
    /// Opens SIP on `bind` (port 0 picks one) and answers calls; events arrive on the receiver.
    pub async fn start(
        bind: SocketAddr,
        config: ServiceConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<CallEvent>), ServiceError> {
        let bind_error = |message: String| ServiceError::Bind {
            address: bind,
            message,
        };
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let connection = UdpConnection::create_connection(bind, None, Some(cancel.child_token()))
            .await
            .map_err(|error| bind_error(error.to_string()))?;
        let address = connection
            .get_addr()
            .get_socketaddr()
            .map_err(|error| bind_error(error.to_string()))?;
        transport.add_transport(connection.into());
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent("leadline")
            .build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|error| bind_error(error.to_string()))?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_sender, state_receiver) = dialogs.new_dialog_state_channel();
        let (events, event_receiver) = mpsc::unbounded_channel();
        let calls: Calls = Arc::default();
        let control = broadcast::channel(EVENT_BACKLOG).0;
        let ringer = config.seat_proxy.map(|proxy| {
            Arc::new(Ringer::new(
                dialogs.clone(),
                proxy,
                address,
                address.ip(),
                control.clone(),
            ))
        });
        let dialer = ringer.as_ref().map(|ringer| {
            Arc::new(Dialer::new(
                ringer.clone(),
                control.clone(),
                config.voicemail_dir.clone(),
                config.prompt_dir.clone(),
            ))
        });
        let stats = Arc::new(ServiceStats::default());
        let shared = Arc::new(Shared {
            stats: stats.clone(),
            prompts: Arc::default(),
            ringer,
            config,
            dialogs,
            calls,
            events,
            rtp_ip: address.ip(),
        });
        tokio::spawn(async move { endpoint.serve().await });
        tokio::spawn(accept_requests(shared.clone(), incoming, state_sender));
        tokio::spawn(follow_dialogs(shared, state_receiver));
        Ok((
            Self {
                address,
                cancel,
                control,
                dialer,
                stats,
            },
            event_receiver,
        ))
    }

    /// The address SIP listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Calls up now and at most, and how soon prompts start after answering.
    pub fn stats(&self) -> &Arc<ServiceStats> {
        &self.stats
    }
}

impl CallControl for CallService {
    fn dial(&self, seat: &str, number: &str, tag: &str) -> Result<CallId, DialError> {
        self.dialer
            .as_ref()
            .ok_or(DialError::NoRoute)?
            .dial(seat, number, tag)
    }

    fn remind(&self, reminder: Reminder) -> Result<CallId, DialError> {
        self.dialer
            .as_ref()
            .ok_or(DialError::NoRoute)?
            .remind(reminder)
    }

    fn hang_up(&self, call: &str) -> Result<(), DialError> {
        self.dialer
            .as_ref()
            .ok_or(DialError::UnknownCall)?
            .hang_up(call)
    }

    fn events(&self) -> broadcast::Receiver<ControlEvent> {
        self.control.subscribe()
    }
}

impl Drop for CallService {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

struct Shared {
    stats: Arc<ServiceStats>,
    /// Prompts decoded once, shared by every call.
    prompts: Arc<PromptCache>,
    /// Rings queues' seats through Kamailio, when the service has its address.
    ringer: Option<Arc<Ringer>>,
    config: ServiceConfig,
    dialogs: Arc<DialogLayer>,
    calls: Calls,
    events: mpsc::UnboundedSender<CallEvent>,
    rtp_ip: std::net::IpAddr,
}

async fn accept_requests(
    shared: Arc<Shared>,
    mut incoming: TransactionReceiver,
    state_sender: DialogStateSender,
) {
    while let Some(mut tx) = incoming.recv().await {
        let in_dialog = tx
            .original
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .is_some();
        if in_dialog {
            match shared.dialogs.match_dialog(&tx) {
                Some(mut dialog) => {
                    tokio::spawn(async move { dialog.handle(&mut tx).await });
                }
                None => {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                }
            }
            continue;
        }
        match tx.original.method {
            Method::Invite => {
                let number = tx.original.uri.user().unwrap_or_default().to_owned();
                if number != shared.config.flow.borrow().number {
                    let _ = tx.reply(StatusCode::NotFound).await;
                    continue;
                }
                if let Err(error) = sdp::read(&String::from_utf8_lossy(&tx.original.body)) {
                    tracing::info!(%error, "INVITE refused: its SDP offer is not usable");
                    let _ = tx.reply(StatusCode::NotAcceptableHere).await;
                    continue;
                }
                match shared.dialogs.get_or_create_server_invite(
                    &tx,
                    state_sender.clone(),
                    None,
                    None,
                ) {
                    Ok(mut dialog) => {
                        tokio::spawn(async move { dialog.handle(&mut tx).await });
                    }
                    Err(error) => {
                        tracing::warn!(%error, "INVITE refused: no dialog");
                        let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                    }
                }
            }
            Method::Ack => {}
            Method::Options => {
                let _ = tx.reply(StatusCode::OK).await;
            }
            _ => {
                let _ = tx.reply(StatusCode::MethodNotAllowed).await;
            }
        }
    }
}

async fn follow_dialogs(shared: Arc<Shared>, mut states: DialogStateReceiver) {
    while let Some(state) = states.recv().await {
        match state {
            DialogState::Calling(id) => {
                let Some(Dialog::Invite(dialog)) = shared.dialogs.get_dialog(&id) else {
                    continue;
                };
                let (signals, signal_receiver) = mpsc::unbounded_channel();
                shared
                    .calls
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(id.to_string(), signals);
                let shared = shared.clone();
                shared.stats.call_started();
                tokio::spawn(async move {
                    let key = id.to_string();
                    let request = dialog.initial_request();
                    let answered = Call::answer(
                        dialog,
                        &shared.config,
                        shared.rtp_ip,
                        shared.events.clone(),
                        shared.ringer.clone(),
                        shared.stats.clone(),
                        shared.prompts.clone(),
                    );
                    match answered.await {
                        Ok(call) => call.run(signal_receiver).await,
                        Err(error) => {
                            tracing::warn!(%error, caller = %caller(&request), "call not answered")
                        }
                    }
                    shared
                        .calls
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .remove(&key);
                    shared.stats.call_ended();
                });
            }
            DialogState::Info(id, request, handle) => {
                let content_type = content_type(&request);
                let digit = sip_info_digit(&content_type, &String::from_utf8_lossy(&request.body));
                if let Some(digit) = digit {
                    send(&shared.calls, &id.to_string(), Signal::Key(digit));
                }
                let status = if digit.is_some() {
                    StatusCode::OK
                } else {
                    StatusCode::UnsupportedMediaType
                };
                let _ = handle.reply(status).await;
            }
            DialogState::Terminated(id, _reason) => {
                send(&shared.calls, &id.to_string(), Signal::HungUp);
                shared.dialogs.remove_dialog(&id);
            }
            DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            _ => {}
        }
    }
}

fn send(calls: &Calls, key: &str, signal: Signal) {
    if let Some(sender) = calls
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(key)
    {
        let _ = sender.send(signal);
    }
}

fn content_type(request: &Request) -> String {
    request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::ContentType(value) => Some(value.value().to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The caller's number: the user part of the From URI.
pub(super) fn caller(request: &Request) -> String {
    request
        .from_header()
        .ok()
        .and_then(|from| from.uri().ok())
        .and_then(|uri| uri.user().map(str::to_owned))
        .unwrap_or_default()
}
